//! The service context every operation runs in, and the one authorization
//! chokepoint.
//!
//! Each operation follows the same shape: authorize, load, decide with pure
//! functions, commit one change set (its audit events included).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use crate::audit::RequestMeta;
use crate::audit::{Actor, AuditDraft, PLATFORM_CHAIN, Target};
use crate::auth::{PasswordHashing, TokenLifetimes};
use crate::clock::{Clock, Entropy, IdGen, OsEntropy, RandomIds, SystemClock};
use crate::error::{Error, Result};
use crate::ids::{AuditEventId, OrgId, TokenId, UserId};
use crate::rbac::{self, Access, Grant, Permission, Via};
use crate::store::{self, ChangeSet, Entity, Scope, Store, Versioned};
use crate::tenancy::{self, Membership, Organization, User};

/// Who is calling: an authenticated user and where the request came from.
/// The org a request acts in is never part of the principal: each call names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub request: RequestMeta,
    /// The token this request authenticated with, when it did (set by
    /// [`Regentra::authenticate`]): a password change keeps it valid.
    pub token: Option<TokenId>,
}

impl Principal {
    pub fn new(user: UserId) -> Self {
        Self {
            user,
            request: RequestMeta::default(),
            token: None,
        }
    }

    /// The platform itself, for scheduled and host-driven work; it holds no
    /// role anywhere and is only used to attribute audit events.
    pub(crate) fn system() -> Self {
        Self {
            user: UserId(uuid::Uuid::nil()),
            request: RequestMeta::default(),
            token: None,
        }
    }

    /// Attaches where the request came from, bounded
    /// ([`RequestMeta::bounded`]): it is copied into audit events.
    pub fn with_request(mut self, request: RequestMeta) -> Self {
        self.request = request.bounded();
        self
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
    /// written to the org's audit chain here; writes record their own event.
    ///
    /// A member without a second factor in an org that requires one gets
    /// `MfaRequired` once their grace period is over
    /// ([`Regentra::check_mfa_requirement`]): one more read (the org's
    /// security settings), only for accounts without MFA.
    pub async fn authorize(
        &self,
        principal: &Principal,
        org: OrgId,
        permission: Permission,
    ) -> Result<Grant> {
        let hidden = || Error::NotFound {
            what: Organization::NAME,
        };
        let Some(user) =
            store::load::<User>(self.store(), Scope::Platform, principal.user.0).await?
        else {
            return Err(hidden());
        };
        let Some(organization) =
            store::load::<Organization>(self.store(), Scope::Platform, org.0).await?
        else {
            return Err(hidden());
        };
        let organization = organization.value;
        let membership = self.membership(org, principal.user).await?;
        let parent_membership = match organization.parent {
            Some(msp) => self.membership(msp, principal.user).await?,
            None => None,
        };
        let candidates = tenancy::candidate_roles(
            &user.value,
            &organization,
            membership.as_ref().map(|m| &m.value),
            parent_membership.as_ref().map(|m| &m.value),
        );
        if candidates.is_empty() {
            return Err(hidden());
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
                })
            })
            .ok_or(Error::PermissionDenied {
                permission: permission.key(),
            })?;
        if !user.value.mfa {
            // When the caller joined, through the way in they use: an org's
            // MFA requirement gives each member its grace period from then.
            let joined = match grant.via {
                Via::Membership => membership.as_ref(),
                Via::MspDelegation { .. } => parent_membership.as_ref(),
                Via::Platform => None,
            };
            if let Some(joined) = joined {
                self.check_mfa_requirement(org, joined.value.created_at)
                    .await?;
            }
        }
        if grant.via.is_delegated() && !permission.mutates() {
            let mut changes = ChangeSet::new();
            changes.audit(self.event(
                principal,
                &grant,
                "access.delegated",
                Target::new(Organization::KIND, org),
                serde_json::json!({ "permission": permission.key() }),
            ));
            self.store.apply(changes).await?;
        }
        Ok(grant)
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

    /// An audit draft for an action taken under `grant`, in the grant's org chain.
    pub(crate) fn event(
        &self,
        principal: &Principal,
        grant: &Grant,
        action: &str,
        target: Target,
        details: Value,
    ) -> AuditDraft {
        self.event_in(
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
        )
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
