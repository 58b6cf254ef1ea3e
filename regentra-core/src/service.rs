//! The service context every operation runs in, and the one authorization
//! chokepoint.
//!
//! Each operation follows the same shape: authorize, load, decide with pure
//! functions, commit one change set (its audit events included).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use crate::audit::RequestMeta;
use crate::audit::{Actor, AuditDraft, PLATFORM_CHAIN, Target};
use crate::auth::{PasswordHashing, TokenLifetimes};
use crate::clock::{Clock, Entropy, IdGen, OsEntropy, RandomIds, SystemClock};
use crate::error::{Error, Result};
use crate::ids::{AuditEventId, OrgId, TokenId, UserId};
use crate::mfa::member_mfa_deadline;
use crate::rbac::{self, Access, Grant, Permission, Via};
use crate::store::{
    self, Answers, Audited, ChangeSet, Entity, Mutation, PageRequest, Read, Scope, Store, Versioned,
};
use crate::tenancy::security::OrgSecurity;
use crate::tenancy::{self, Membership, OrgKind, Organization, User};

/// Who is calling: an authenticated user and where the request came from.
/// The org a request acts in is never part of the principal: each call names it.
///
/// A principal made for one request ([`Principal::for_one_request`], what
/// the HTTP server does for each request) remembers what authorization
/// resolved about the caller in each org it named, so that the several
/// checks of one request read the directory once. Clones share that
/// memory; a principal kept past its request would act on stale roles, so
/// hosts make a new one per request. Equality compares the caller, the
/// request and the token, never that memory.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserId,
    pub request: RequestMeta,
    /// The token this request authenticated with, when it did (set by
    /// [`Regentra::authenticate`]): a password change keeps it valid.
    pub token: Option<TokenId>,
    standings: Option<Standings>,
}

impl PartialEq for Principal {
    fn eq(&self, other: &Self) -> bool {
        self.user == other.user && self.request == other.request && self.token == other.token
    }
}

impl Eq for Principal {}

impl Principal {
    pub fn new(user: UserId) -> Self {
        Self {
            user,
            request: RequestMeta::default(),
            token: None,
            standings: None,
        }
    }

    /// The platform itself, for scheduled and host-driven work; it holds no
    /// role anywhere and is only used to attribute audit events.
    pub(crate) fn system() -> Self {
        Self::new(UserId(uuid::Uuid::nil()))
    }

    /// Attaches where the request came from, bounded
    /// ([`RequestMeta::bounded`]): it is copied into audit events.
    pub fn with_request(mut self, request: RequestMeta) -> Self {
        self.request = request.bounded();
        self
    }

    /// The principal of one request: authorization resolves the caller's
    /// standing in an org once and every later check of the request (an
    /// operation that authorizes twice, a handler that calls several)
    /// decides against it. Starts empty, whatever the principal held: a role
    /// changed before this call applies.
    pub fn for_one_request(mut self) -> Self {
        self.standings = Some(Standings::default());
        self
    }

    fn remembered(&self, org: OrgId) -> Option<Standing> {
        let standings = self.standings.as_ref()?;
        standings.0.lock().ok()?.get(&org).cloned()
    }

    fn remember(&self, standing: Standing) {
        if let Some(standings) = &self.standings
            && let Ok(mut map) = standings.0.lock()
        {
            map.insert(standing.org.id, standing);
        }
    }
}

/// What one request resolved about its caller, org by org.
#[derive(Clone, Default)]
struct Standings(Arc<Mutex<HashMap<OrgId, Standing>>>);

impl std::fmt::Debug for Standings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Which orgs, not the records: a principal is logged.
        let orgs: Vec<OrgId> = self
            .0
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        f.debug_tuple("Standings").field(&orgs).finish()
    }
}

/// The caller's standing in one org: the directory records their roles
/// there come from, as read in this request. Decisions over it are pure
/// ([`tenancy::candidate_roles`], [`rbac::decide`]).
#[derive(Debug, Clone)]
pub(crate) struct Standing {
    user: Versioned<User>,
    org: Organization,
    membership: Option<Versioned<Membership>>,
    /// The caller's membership in the org's MSP, when the org is a client:
    /// `None` until a decision needs it (a client's own member acting
    /// within their role never needs it).
    parent_membership: Option<Option<Versioned<Membership>>>,
    /// The org's security settings (its MFA requirement).
    security: OrgSecurity,
    /// When the caller's reads through a delegation were last recorded,
    /// by permission, once read in this request.
    recorded: HashMap<Permission, Option<Versioned<DelegatedReads>>>,
}

impl Standing {
    /// A standing from records read elsewhere (several orgs' at once):
    /// the caller, the org, their membership there and in its MSP, the
    /// org's security settings, and when their delegated reads there were
    /// last recorded, by permission.
    pub(crate) fn new(
        user: Versioned<User>,
        org: Organization,
        membership: Option<Versioned<Membership>>,
        parent_membership: Option<Versioned<Membership>>,
        security: OrgSecurity,
        recorded: HashMap<Permission, Option<Versioned<DelegatedReads>>>,
    ) -> Self {
        Self {
            user,
            org,
            membership,
            parent_membership: Some(parent_membership),
            security,
            recorded,
        }
    }

    /// The org the standing is in.
    pub(crate) fn org(&self) -> &Organization {
        &self.org
    }

    /// The roles the caller could act with here, in the order authorization
    /// tries them ([`tenancy::candidate_roles`]).
    pub(crate) fn roles(&self) -> Vec<(rbac::Role, Via)> {
        tenancy::candidate_roles(
            &self.user.value,
            &self.org,
            self.membership.as_ref().map(|m| &m.value),
            self.parent_membership().map(|m| &m.value),
        )
    }

    /// The grant for `permission` at `now`, exactly as
    /// [`Regentra::authorize`] decides it (nothing recorded): the first of
    /// the caller's candidate roles the matrix allows; `NotFound` with no
    /// role at all or in an archived org, `PermissionDenied` when none
    /// allows it, `MfaRequired`
    /// past the org's grace period for a caller without a second factor.
    pub(crate) fn grant(&self, permission: Permission, now: DateTime<Utc>) -> Result<Grant> {
        let org = self.org.id;
        let candidates = self.roles();
        // An archived client is closed to everyone, its MSP's admins and
        // the platform operator included: only its MSP restores it, acting
        // in the MSP.
        if candidates.is_empty() || self.org.is_archived() {
            return Err(Error::NotFound {
                what: Organization::NAME,
            });
        }
        let grant = candidates
            .into_iter()
            .find_map(|(role, via)| {
                let access = rbac::decide(role, permission);
                access.is_allowed().then_some(Grant {
                    org,
                    role,
                    via,
                    permission,
                    access,
                    basis: self.basis(via),
                })
            })
            .ok_or(Error::PermissionDenied {
                permission: permission.key(),
            })?;
        if !self.user.value.mfa {
            // When the caller joined, through the way in they use: an org's
            // MFA requirement gives each member its grace period from then.
            let joined = match grant.via {
                Via::Membership => self.membership.as_ref(),
                Via::MspDelegation { .. } => self.parent_membership(),
                Via::Platform => None,
            };
            if let Some(joined) = joined
                && let Some(deadline) = member_mfa_deadline(&self.security, joined.value.created_at)
                && now >= deadline
            {
                return Err(Error::MfaRequired { org, deadline });
            }
        }
        Ok(grant)
    }

    /// Whether the decision for `permission` may depend on the MSP
    /// membership: the org is a client and its own membership does not
    /// already allow it.
    fn needs_parent(&self, permission: Permission) -> bool {
        self.parent_membership.is_none()
            && self.org.kind == OrgKind::Client
            && self.org.parent.is_some()
            && !self
                .membership
                .as_ref()
                .is_some_and(|m| rbac::decide(m.value.role, permission).is_allowed())
    }

    fn parent_membership(&self) -> Option<&Versioned<Membership>> {
        self.parent_membership.as_ref().and_then(Option::as_ref)
    }

    /// The record a role obtained `via` comes from.
    fn basis(&self, via: Via) -> Option<rbac::Basis> {
        let membership = |m: &Versioned<Membership>| rbac::Basis {
            kind: Membership::KIND,
            id: m.value.id.0,
            version: m.version,
        };
        match via {
            Via::Membership => self.membership.as_ref().map(membership),
            Via::MspDelegation { .. } => self.parent_membership().map(membership),
            Via::Platform => Some(rbac::Basis {
                kind: User::KIND,
                id: self.user.value.id.0,
                version: self.user.version,
            }),
        }
    }
}

/// How long one `access.delegated` event covers a person's reads of one
/// kind (one permission) in an org: later reads within it add no event.
pub const DELEGATED_READ_WINDOW: Duration = Duration::minutes(5);

/// When a person's reads of one kind in an org, made through a delegation
/// (an MSP admin in a client, a platform operator), were last written to
/// the org's chain. One per (person, permission) in the org's scope, its
/// id derived from both; its version makes one of several concurrent
/// readers write the next event and the others skip it. The events stay
/// in the chain, sealed like any other: this record only decides whether
/// a read appends one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DelegatedReads {
    pub id: Uuid,
    pub org: OrgId,
    pub user: UserId,
    pub permission: Permission,
    pub recorded_at: DateTime<Utc>,
}

impl DelegatedReads {
    fn id_for(user: UserId, permission: Permission) -> Uuid {
        let digest = Sha256::digest(format!("delegated-reads/{user}/{}", permission.key()));
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }
}

impl Entity for DelegatedReads {
    const KIND: &'static str = "delegated_reads";
    const NAME: &'static str = "delegated reads";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id
    }
}

/// The entry point: a store plus what is injected (clock, id generator,
/// entropy source, password-hashing cost).
#[derive(Clone)]
pub struct Regentra {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    entropy: Arc<dyn Entropy>,
    hashing: PasswordHashing,
    evidence_limit: u64,
    attachment_limit: u64,
    token_lifetimes: TokenLifetimes,
}

/// The largest evidence file accepted unless configured otherwise (25 MiB).
pub const DEFAULT_EVIDENCE_LIMIT: u64 = 25 * 1024 * 1024;

impl std::fmt::Debug for Regentra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Regentra").finish_non_exhaustive()
    }
}

impl Regentra {
    /// Services over `store` with the system clock, random uuid v7 ids, the
    /// operating system's entropy and OWASP's recommended argon2id cost.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            entropy: Arc::new(OsEntropy),
            hashing: PasswordHashing::RECOMMENDED,
            evidence_limit: DEFAULT_EVIDENCE_LIMIT,
            attachment_limit: crate::psa::attachments::ATTACHMENT_LIMIT,
            token_lifetimes: TokenLifetimes::DEFAULT,
        }
    }

    pub fn with_entropy(mut self, entropy: Arc<dyn Entropy>) -> Self {
        self.entropy = entropy;
        self
    }

    /// The argon2id cost of new password hashes (existing hashes keep theirs).
    pub fn with_password_hashing(mut self, hashing: PasswordHashing) -> Self {
        self.hashing = hashing;
        self
    }

    pub fn password_hashing(&self) -> PasswordHashing {
        self.hashing
    }

    /// How long login tokens live (idle and absolute).
    pub fn with_token_lifetimes(mut self, lifetimes: TokenLifetimes) -> Self {
        self.token_lifetimes = lifetimes;
        self
    }

    pub fn token_lifetimes(&self) -> TokenLifetimes {
        self.token_lifetimes
    }

    pub(crate) fn entropy(&self) -> &dyn Entropy {
        self.entropy.as_ref()
    }

    /// The largest evidence file, in bytes, that uploads accept.
    pub fn with_evidence_limit(mut self, bytes: u64) -> Self {
        self.evidence_limit = bytes;
        self
    }

    pub fn evidence_limit(&self) -> u64 {
        self.evidence_limit
    }

    /// The largest file, in bytes, a ticket accepts as an attachment.
    pub fn with_attachment_limit(mut self, bytes: u64) -> Self {
        self.attachment_limit = bytes;
        self
    }

    pub fn attachment_limit(&self) -> u64 {
        self.attachment_limit
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_ids(mut self, ids: Arc<dyn IdGen>) -> Self {
        self.ids = ids;
        self
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Claims the sweep of an org's due work for this caller, `None` while
    /// another process (or task) sweeps it: see
    /// [`Store::try_claim_sweep`]. A system operation of the host's worker.
    pub async fn try_claim_sweep(
        &self,
        org: crate::ids::OrgId,
    ) -> crate::error::Result<Option<crate::store::SweepClaim>> {
        self.store.try_claim_sweep(org).await
    }

    /// Claims the delivery of the platform's email outbox for this caller,
    /// `None` while another process (or task) delivers it: see
    /// [`Store::try_claim_email_outbox`]. A system operation of the host's
    /// email loop, which holds it while it sends and marks a batch.
    pub async fn try_claim_email_outbox(
        &self,
    ) -> crate::error::Result<Option<crate::store::EmailOutboxClaim>> {
        self.store.try_claim_email_outbox().await
    }

    /// Whether the store can serve: see [`Store::ready`]. What a readiness
    /// probe asks; no caller.
    pub async fn store_ready(&self) -> crate::error::Result<()> {
        self.store.ready().await
    }

    pub(crate) fn shared_store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// The injected clock's current time (hosts show due times against it).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn new_id(&self) -> uuid::Uuid {
        self.ids.next_id()
    }

    /// The chokepoint: every operation on tenant data calls this before it
    /// touches the store.
    ///
    /// A caller with no way into `org` (no membership, no MSP delegation, not
    /// a platform operator) gets `NotFound`, exactly as for an org that does
    /// not exist; a caller who can see the org but whose role lacks the
    /// permission gets `PermissionDenied`. Reads through a delegation are
    /// written to the org's audit chain here, at most once per
    /// [`DELEGATED_READ_WINDOW`] for one person and permission; writes
    /// record their own event, which asserts the grant's [`Grant::basis`].
    ///
    /// A member without a second factor in an org that requires one gets
    /// `MfaRequired` once their grace period is over
    /// ([`crate::mfa::member_mfa_deadline`]).
    ///
    /// The directory is read in one batch (the caller, the org, their
    /// membership, the org's security settings), plus one for a client org
    /// when its own membership does not decide (the caller's membership in
    /// the MSP); a principal made [`Principal::for_one_request`] keeps what
    /// was read for the rest of its request.
    pub async fn authorize(
        &self,
        principal: &Principal,
        org: OrgId,
        permission: Permission,
    ) -> Result<Grant> {
        let mut standing = match principal.remembered(org) {
            Some(standing) => standing,
            None => self.standing(principal.user, org).await?,
        };
        let delegated_read = !permission.mutates();
        if standing.needs_parent(permission) {
            self.read_parent(
                principal.user,
                &mut standing,
                delegated_read.then_some(permission),
            )
            .await?;
        }
        let result = self.decide(principal, &mut standing, permission).await;
        principal.remember(standing);
        result
    }

    /// The decision over a resolved standing, and the record of a
    /// delegated read.
    async fn decide(
        &self,
        principal: &Principal,
        standing: &mut Standing,
        permission: Permission,
    ) -> Result<Grant> {
        let grant = standing.grant(permission, self.now())?;
        if grant.via.is_delegated() && !permission.mutates() {
            self.record_delegated_read(principal, standing, &grant)
                .await?;
        }
        Ok(grant)
    }

    /// Reads the caller's standing in `org` in one batch; `NotFound` when
    /// the caller's account or the org does not exist.
    async fn standing(&self, user: UserId, org: OrgId) -> Result<Standing> {
        let hidden = || Error::NotFound {
            what: Organization::NAME,
        };
        let mut found = Answers::new(
            self.store()
                .read(vec![
                    Read::Get {
                        scope: Scope::Platform,
                        kind: User::KIND.to_owned(),
                        id: user.0,
                    },
                    Read::Get {
                        scope: Scope::Platform,
                        kind: Organization::KIND.to_owned(),
                        id: org.0,
                    },
                    membership_read(org, user),
                    // Read with the rest even for accounts with MFA, which do
                    // not need it: on one snapshot it costs less than a second
                    // batch for those without.
                    Read::Get {
                        scope: Scope::Org(org),
                        kind: OrgSecurity::KIND.to_owned(),
                        id: org.0,
                    },
                ])
                .await?,
        );
        let Some(user) = found.next()?.one::<User>()? else {
            return Err(hidden());
        };
        let Some(organization) = found.next()?.one::<Organization>()? else {
            return Err(hidden());
        };
        let membership = found.next()?.many::<Membership>()?.into_iter().next();
        let security = found
            .next()?
            .one::<OrgSecurity>()?
            .map_or_else(|| OrgSecurity::defaults(org), |s| s.value);
        Ok(Standing {
            user,
            org: organization.value,
            membership,
            parent_membership: None,
            security,
            recorded: HashMap::new(),
        })
    }

    /// Reads the caller's membership in the org's MSP and, for a read that
    /// would then be delegated, when such reads were last recorded: one batch.
    async fn read_parent(
        &self,
        user: UserId,
        standing: &mut Standing,
        delegated_read: Option<Permission>,
    ) -> Result<()> {
        let Some(msp) = standing.org.parent else {
            standing.parent_membership = Some(None);
            return Ok(());
        };
        let org = standing.org.id;
        let mut reads = vec![membership_read(msp, user)];
        let recorded = delegated_read.filter(|p| !standing.recorded.contains_key(p));
        if let Some(permission) = recorded {
            reads.push(recorded_read(org, user, permission));
        }
        let mut found = Answers::new(self.store().read(reads).await?);
        standing.parent_membership = Some(found.next()?.many::<Membership>()?.into_iter().next());
        if let Some(permission) = recorded {
            let record = found.next()?.one::<DelegatedReads>()?;
            standing.recorded.insert(permission, record);
        }
        Ok(())
    }

    /// Writes an `access.delegated` event for a read under `grant`, unless
    /// one for the same person and permission was written within
    /// [`DELEGATED_READ_WINDOW`]. Of concurrent readers, the record's
    /// version lets one write; the others' conflict means it is recorded.
    async fn record_delegated_read(
        &self,
        principal: &Principal,
        standing: &mut Standing,
        grant: &Grant,
    ) -> Result<()> {
        let (org, permission) = (grant.org, grant.permission);
        let record = match standing.recorded.get(&permission) {
            Some(record) => record.clone(),
            None => {
                let read = recorded_read(org, principal.user, permission);
                Answers::new(self.store().read(vec![read]).await?)
                    .next()?
                    .one::<DelegatedReads>()?
            }
        };
        let now = self.now();
        if covers(record.as_ref(), now) {
            standing.recorded.insert(permission, record);
            return Ok(());
        }
        let mut changes = ChangeSet::new();
        let written = renew_record(&mut changes, record, org, principal.user, permission, now)?;
        // A read asserts nothing about its grant: the event alone.
        changes.audit(
            self.event(
                principal,
                grant,
                "access.delegated",
                Target::new(Organization::KIND, org),
                serde_json::json!({
                    "permission": permission.key(),
                    "window_minutes": DELEGATED_READ_WINDOW.num_minutes(),
                }),
            )
            .draft,
        );
        match self.store.apply(changes).await {
            Ok(_) => {
                standing.recorded.insert(permission, Some(written));
                Ok(())
            }
            // Another reader recorded it first: within the window now.
            Err(Error::Conflict { .. } | Error::AlreadyExists { .. }) => {
                standing.recorded.remove(&permission);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Records, in one `access.delegated` event, the reads of one operation
    /// made in `standing`'s org under several `grants` (an MSP's overview
    /// reads a client's tickets, evidence and audit log at once): only the
    /// delegated ones count, and of those only the permissions no event
    /// covers yet ([`DELEGATED_READ_WINDOW`], as [`Regentra::authorize`]
    /// records a single read). Their records move on in the same change
    /// set; nothing is written when every one is covered. The event names
    /// the `operation` and the permissions it records. Of concurrent
    /// readers, one writes; the others' conflict means it is recorded.
    ///
    /// `standing` must hold the records of those permissions (as
    /// [`Regentra::standings_in`] reads them).
    pub(crate) async fn record_delegated_reads(
        &self,
        principal: &Principal,
        standing: &Standing,
        grants: &[Grant],
        operation: &str,
    ) -> Result<()> {
        let now = self.now();
        let org = standing.org.id;
        let delegated: Vec<&Grant> = grants
            .iter()
            .filter(|g| g.org == org && g.via.is_delegated() && !g.permission.mutates())
            .collect();
        let Some(first) = delegated.first() else {
            return Ok(());
        };
        let mut changes = ChangeSet::new();
        let mut permissions = Vec::new();
        for grant in &delegated {
            let record = standing.recorded.get(&grant.permission).cloned().flatten();
            if covers(record.as_ref(), now) || permissions.contains(&grant.permission.key()) {
                continue;
            }
            renew_record(
                &mut changes,
                record,
                org,
                principal.user,
                grant.permission,
                now,
            )?;
            permissions.push(grant.permission.key());
        }
        if permissions.is_empty() {
            return Ok(());
        }
        changes.audit(
            self.event(
                principal,
                first,
                "access.delegated",
                Target::new(Organization::KIND, org),
                serde_json::json!({
                    "operation": operation,
                    "permissions": permissions,
                    "window_minutes": DELEGATED_READ_WINDOW.num_minutes(),
                }),
            )
            .draft,
        );
        match self.store.apply(changes).await {
            Ok(_) | Err(Error::Conflict { .. } | Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The caller's standing in each of `orgs` (clients of one MSP), with
    /// when their delegated reads of `permissions` there were last
    /// recorded, read in one batch for all of them: each org's security
    /// settings and the caller's delegated-read records there. The caller's
    /// account and memberships (in each org and in the MSP) were read by
    /// the caller of this function; `memberships` holds the caller's
    /// memberships by org.
    pub(crate) async fn standings_in(
        &self,
        user: &Versioned<User>,
        memberships: &HashMap<OrgId, Versioned<Membership>>,
        orgs: Vec<Organization>,
        permissions: &[Permission],
    ) -> Result<Vec<Standing>> {
        let ids: Vec<Uuid> = permissions
            .iter()
            .map(|p| DelegatedReads::id_for(user.value.id, *p))
            .collect();
        let mut reads = Vec::with_capacity(orgs.len() * 2);
        for org in &orgs {
            reads.push(Read::Get {
                scope: Scope::Org(org.id),
                kind: OrgSecurity::KIND.to_owned(),
                id: org.id.0,
            });
            reads.push(Read::GetMany {
                scope: Scope::Org(org.id),
                kind: DelegatedReads::KIND.to_owned(),
                ids: ids.clone(),
            });
        }
        let mut found = Answers::new(if reads.is_empty() {
            Vec::new()
        } else {
            self.store().read(reads).await?
        });
        let mut out = Vec::with_capacity(orgs.len());
        for org in orgs {
            let security = found
                .next()?
                .one::<OrgSecurity>()?
                .map_or_else(|| OrgSecurity::defaults(org.id), |s| s.value);
            let recorded = permissions
                .iter()
                .copied()
                .zip(found.next()?.each::<DelegatedReads>()?)
                .collect();
            let parent = org.parent.and_then(|msp| memberships.get(&msp)).cloned();
            let own = memberships.get(&org.id).cloned();
            out.push(Standing::new(
                user.clone(),
                org,
                own,
                parent,
                security,
                recorded,
            ));
        }
        Ok(out)
    }

    /// Like [`Regentra::authorize`], for rights that must cover every record
    /// of the org (an `own`-only grant is refused).
    pub async fn authorize_all(
        &self,
        principal: &Principal,
        org: OrgId,
        permission: Permission,
    ) -> Result<Grant> {
        let grant = self.authorize(principal, org, permission).await?;
        if grant.access != Access::All {
            return Err(Error::PermissionDenied {
                permission: permission.key(),
            });
        }
        Ok(grant)
    }

    /// Platform-level rights (creating MSPs and standalone orgs, listing every
    /// org) belong to platform operators only. Others learn nothing.
    pub(crate) async fn authorize_platform(
        &self,
        principal: &Principal,
    ) -> Result<Versioned<User>> {
        match store::load::<User>(self.store(), Scope::Platform, principal.user.0).await? {
            Some(user) if user.value.super_admin => Ok(user),
            Some(_) => Err(Error::PermissionDenied {
                permission: "platform.manage",
            }),
            None => Err(Error::NotFound { what: User::NAME }),
        }
    }

    pub(crate) async fn membership(
        &self,
        org: OrgId,
        user: UserId,
    ) -> Result<Option<Versioned<Membership>>> {
        store::find_unique::<Membership>(
            self.store(),
            Scope::Platform,
            "org_user",
            &tenancy::membership_key(org, user),
        )
        .await
    }

    /// Whether `user` is one of the org's people: a member of it or, for a
    /// client, of its MSP (the staff who work it).
    pub(crate) async fn works_for(&self, org: &Organization, user: UserId) -> Result<bool> {
        if self.membership(org.id, user).await?.is_some() {
            return Ok(true);
        }
        Ok(match org.parent {
            Some(msp) => self.membership(msp, user).await?.is_some(),
            None => false,
        })
    }

    /// An audit draft for an action taken under `grant`, in the grant's org
    /// chain, with the check of the grant's [`Grant::basis`]: a change set
    /// that records the action ([`ChangeSet::audit`]) commits only if the
    /// role it was authorized by is still the one read.
    pub(crate) fn event(
        &self,
        principal: &Principal,
        grant: &Grant,
        action: &str,
        target: Target,
        details: Value,
    ) -> Audited {
        let draft = self.event_in(
            grant.org,
            Actor {
                user: Some(principal.user),
                role: Some(grant.role),
                via: Some(grant.via),
            },
            principal,
            action,
            target,
            details,
        );
        let checks = grant
            .basis
            .iter()
            .map(|basis| Mutation::Check {
                scope: Scope::Platform,
                kind: basis.kind,
                id: basis.id,
                expected_version: basis.version,
            })
            .collect();
        Audited { draft, checks }
    }

    /// An audit draft in the platform's own chain (accounts, new tenants).
    pub(crate) fn platform_event(
        &self,
        principal: Option<&Principal>,
        action: &str,
        target: Target,
        details: Value,
    ) -> AuditDraft {
        let actor = Actor {
            user: principal.map(|p| p.user),
            role: principal.map(|_| rbac::Role::SuperAdmin),
            via: principal.map(|_| Via::Platform),
        };
        // Bounded again here, where it enters the chain: a host may have
        // set `Principal::request` without `with_request`.
        let request = principal
            .map(|p| p.request.clone().bounded())
            .unwrap_or_default();
        AuditDraft {
            id: AuditEventId(self.new_id()),
            org: PLATFORM_CHAIN,
            at: self.now(),
            actor,
            action: action.to_owned(),
            target,
            request,
            details,
        }
    }

    pub(crate) fn event_in(
        &self,
        org: OrgId,
        actor: Actor,
        principal: &Principal,
        action: &str,
        target: Target,
        details: Value,
    ) -> AuditDraft {
        AuditDraft {
            id: AuditEventId(self.new_id()),
            org,
            at: self.now(),
            actor,
            action: action.to_owned(),
            target,
            request: principal.request.clone().bounded(),
            details,
        }
    }
}

/// The caller's membership in `org` (one at most: `org_user` is unique).
fn membership_read(org: OrgId, user: UserId) -> Read {
    Read::Find {
        scope: Scope::Platform,
        kind: Membership::KIND.to_owned(),
        index: "org_user".to_owned(),
        value: tenancy::membership_key(org, user),
        page: PageRequest::first(1),
    }
}

/// Whether a delegated-read record covers a read at `now`. A window
/// covers the reads from its start on: one that starts after now (written
/// by a server whose clock runs ahead, or before this clock was set back)
/// covers none of this server's reads.
fn covers(record: Option<&Versioned<DelegatedReads>>, now: DateTime<Utc>) -> bool {
    record.is_some_and(|r| {
        let since = now - r.value.recorded_at;
        since >= Duration::zero() && since < DELEGATED_READ_WINDOW
    })
}

/// Adds to `changes` the delegated-read record of `user` and `permission`
/// in `org` moved to `now` (inserted if there was none), and answers it as
/// it will be once committed.
fn renew_record(
    changes: &mut ChangeSet,
    record: Option<Versioned<DelegatedReads>>,
    org: OrgId,
    user: UserId,
    permission: Permission,
    now: DateTime<Utc>,
) -> Result<Versioned<DelegatedReads>> {
    Ok(match record {
        Some(mut record) => {
            record.value.recorded_at = now;
            changes.update(&record)?;
            Versioned {
                version: record.version + 1,
                value: record.value,
            }
        }
        None => {
            let record = DelegatedReads {
                id: DelegatedReads::id_for(user, permission),
                org,
                user,
                permission,
                recorded_at: now,
            };
            changes.insert(&record)?;
            Versioned {
                version: 1,
                value: record,
            }
        }
    })
}

fn recorded_read(org: OrgId, user: UserId, permission: Permission) -> Read {
    Read::Get {
        scope: Scope::Org(org),
        kind: DelegatedReads::KIND.to_owned(),
        id: DelegatedReads::id_for(user, permission),
    }
}
