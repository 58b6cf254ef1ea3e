//! Invitations: how a person joins an organization with their consent.
//!
//! An admin invites an email with a role; the invitee gets an email with a
//! single-use link (`/invite?token=rgi_...`). The token is shown only in
//! that email: the record keeps its SHA-256. A person without an account
//! accepts by choosing a name and a password (the account is theirs:
//! [`SetBy::Owner`]); a person with an account accepts signed in as it, and
//! only then becomes a member.
//!
//! An invitation is a platform record with an `org` index, so a link finds
//! its invitation without knowing the org, while every org-facing operation
//! still names the org first and answers `NotFound` for another org's
//! invitation. Its stored state is pending, accepted or revoked; expired is
//! derived from the clock ([`Invitation::status`]).
//!
//! Inviting an email that already has a pending invitation to the same org
//! replaces it: the old one is revoked (its link stops working) and the new
//! one, with the role just asked for, is sent. So there is at most one
//! pending invitation per org and email (a unique index holds it), and an
//! admin who got the role wrong simply invites again.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{Membership, Organization, User, check_member_role, normalize_email, validate_name};
use crate::audit::{Actor, RequestMeta, Target};
use crate::auth::{Credential, SetBy, check_password_hash, token_hash};
use crate::clock::Entropy;
use crate::error::{Error, Result};
use crate::ids::{InvitationId, MembershipId, OrgId, UserId};
use crate::mail::{EmailDraft, EmailKind};
use crate::rbac::{Grant, Permission, Role};
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, PageRequest, Scope, Versioned};

/// What every invitation token starts with (API tokens start with `rgt_`),
/// so a leaked one is recognised and never mistaken for a bearer token.
pub const INVITATION_PREFIX: &str = "rgi_";

/// How long an invitation's link works after it was sent (or resent).
pub const INVITATION_LIFETIME: Duration = Duration::days(7);

/// What is stored of an invitation's life; expiry is derived
/// ([`InvitationStatus`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
}

/// An invitation's state at a given time: the stored one, or `expired` for
/// a pending invitation past its expiry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

/// An invitation as stored: never the token itself.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub org: OrgId,
    /// Normalized ([`normalize_email`]).
    pub email: String,
    /// The name the inviter gave the person, if any: what the acceptance
    /// page offers a new account (its owner may change it).
    #[serde(default)]
    pub name: Option<String>,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    /// When the link was last sent (created or resent).
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: InvitationState,
    /// Hex SHA-256 of the current link's token.
    pub token_hash: String,
    /// Who accepted it, once accepted.
    pub accepted_by: Option<UserId>,
    /// When it was accepted or revoked.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Entity for Invitation {
    const KIND: &'static str = "invitation";
    const NAME: &'static str = "invitation";
    fn scope(&self) -> Scope {
        // A link names no org: the token finds its invitation platform-wide.
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![
            IndexEntry::unique("token", &self.token_hash),
            IndexEntry::multi("org", self.org.to_string()),
        ];
        if self.state == InvitationState::Pending {
            // At most one pending invitation per org and email.
            entries.push(IndexEntry::unique(
                "pending",
                pending_key(self.org, &self.email),
            ));
        }
        entries
    }
}

fn pending_key(org: OrgId, email: &str) -> String {
    format!("{org}/{email}")
}

impl Invitation {
    /// The invitation's state at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> InvitationStatus {
        match self.state {
            InvitationState::Accepted => InvitationStatus::Accepted,
            InvitationState::Revoked => InvitationStatus::Revoked,
            InvitationState::Pending if now >= self.expires_at => InvitationStatus::Expired,
            InvitationState::Pending => InvitationStatus::Pending,
        }
    }

    /// Whether its link may be used at `now`; a refusal names `token` and
    /// says which of used, revoked or expired it is.
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<()> {
        let why = match self.status(now) {
            InvitationStatus::Pending => return Ok(()),
            InvitationStatus::Accepted => "this invitation has already been used",
            InvitationStatus::Revoked => "this invitation has been revoked by the organization",
            InvitationStatus::Expired => {
                "this invitation has expired: ask the organization's admin to send it again"
            }
        };
        Err(Error::invalid("token", why))
    }
}

/// The path of the web page that accepts an invitation, with its token.
pub fn invitation_link(secret: &str) -> String {
    format!("/invite?token={secret}")
}

/// A link token: `prefix` and 64 hex digits from 32 bytes of `entropy`.
pub(crate) fn link_secret(entropy: &dyn Entropy, prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    entropy.fill(&mut bytes)?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// The stored hash of a presented link token, or `None` when it cannot be
/// one (wrong prefix or length).
pub(crate) fn link_hash(secret: &str, prefix: &str) -> Option<String> {
    let body = secret.strip_prefix(prefix)?;
    (body.len() == 64 && body.chars().all(|c| c.is_ascii_hexdigit())).then(|| token_hash(secret))
}

/// What the holder of an invitation's link may learn, so the page can ask
/// for the right thing: a name and a password, or to sign in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvitationPreview {
    pub org: OrgId,
    pub org_name: String,
    pub email: String,
    /// The name the inviter gave, to offer a new account.
    pub name: Option<String>,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    /// Whether the invited email has an account (then its owner signs in
    /// and accepts).
    pub has_account: bool,
}

/// What accepting an invitation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationAccepted {
    pub membership: Membership,
    /// The account (new when the invitee had none).
    pub user: User,
    /// Whether a password another tenant's admin may know was removed,
    /// with the account's tokens (see [`SetBy::known_outside`]): the owner
    /// then sets their own, through a password reset.
    pub credential_removed: bool,
}

impl Regentra {
    /// Invites `email` to join `org` with `role` (`members.manage`; an MSP
    /// admin also in the MSP's clients). The same answer whether or not the
    /// email has an account; an email that is already a member is refused
    /// naming `email`. A pending invitation for the same email replaces the
    /// earlier one (see the module's documentation).
    pub async fn invite(
        &self,
        principal: &Principal,
        org: OrgId,
        email: &str,
        role: Role,
    ) -> Result<Invitation> {
        self.invite_named(principal, org, email, None, role).await
    }

    /// [`Regentra::invite`], giving the person's name too (checked as a
    /// display name, naming `name`): the acceptance page offers it to a
    /// new account. Every problem with the email, name and role is
    /// reported at once.
    pub async fn invite_named(
        &self,
        principal: &Principal,
        org: OrgId,
        email: &str,
        name: Option<&str>,
        role: Role,
    ) -> Result<Invitation> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        let organization = store::require::<Organization>(self.store(), Scope::Platform, org.0)
            .await?
            .value;
        let email = normalize_email(email);
        let name = name.map(|n| validate_name("name", n)).transpose();
        let role_fits = check_member_role(organization.kind, role);
        let (email, name) = match (email, name, role_fits) {
            (Ok(email), Ok(name), Ok(())) => (email, name),
            (email, name, role_fits) => {
                let mut problems = Vec::new();
                for result in [email.map(drop), name.map(drop), role_fits] {
                    match result {
                        Err(Error::Validation(fields)) => problems.extend(fields),
                        Err(other) => return Err(other),
                        Ok(()) => {}
                    }
                }
                return Err(Error::Validation(problems));
            }
        };
        if let Some(user) = self.account_by_email(&email).await?
            && self.membership(org, user.id).await?.is_some()
        {
            return Err(Error::AlreadyExists {
                what: Membership::NAME,
                field: "email".into(),
            });
        }
        let mut changes = ChangeSet::new();
        let invitation = self
            .stage_invitation(
                principal,
                &grant,
                &organization,
                (&email, name),
                role,
                &mut changes,
            )
            .await?;
        self.store().apply(changes).await?;
        Ok(invitation)
    }

    /// An MSP provisions a client (`tenants.manage` in the MSP): the
    /// client, and the invitation of its first admin (`org_admin`, named
    /// `admin_name` if given), in one commit, so there is never a client
    /// whose first admin was not invited. Every problem is reported at once,
    /// naming `name`, `admin_email` or `admin_name`, and nothing is made.
    /// Recorded as [`Regentra::create_client`] and [`Regentra::invite`]
    /// record theirs (the invitation in the client's chain, as a delegated
    /// action).
    pub async fn provision_client(
        &self,
        principal: &Principal,
        msp: OrgId,
        name: &str,
        admin_email: &str,
        admin_name: Option<&str>,
    ) -> Result<(Organization, Invitation)> {
        let grant = self
            .authorize_all(principal, msp, Permission::TenantsManage)
            .await?;
        let renamed = |field: &str, result: Result<()>| match result {
            Err(Error::Validation(mut fields)) => {
                for f in &mut fields {
                    f.field = field.to_owned();
                }
                Err(Error::Validation(fields))
            }
            other => other,
        };
        let checks = [
            validate_name("name", name).map(drop),
            renamed("admin_email", normalize_email(admin_email).map(drop)),
            admin_name.map_or(Ok(()), |n| validate_name("admin_name", n).map(drop)),
        ];
        let mut problems = Vec::new();
        for check in checks {
            match check {
                Err(Error::Validation(fields)) => problems.extend(fields),
                Err(other) => return Err(other),
                Ok(()) => {}
            }
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        let email = normalize_email(admin_email)?;
        let admin_name = admin_name
            .map(|n| validate_name("admin_name", n))
            .transpose()?;
        let mut changes = ChangeSet::new();
        let client = self
            .stage_client(principal, &grant, msp, name, &mut changes)
            .await?;
        let invitation = self
            .stage_invitation(
                principal,
                &super::service::delegated(&grant, client.id),
                &client,
                (&email, admin_name),
                Role::OrgAdmin,
                &mut changes,
            )
            .await?;
        self.store().apply(changes).await?;
        Ok((client, invitation))
    }

    /// Adds to `changes` a new pending invitation of `email` (named
    /// `name`, if the inviter gave one) to
    /// `organization` (revoking a pending one it replaces), its email and
    /// its audit event. The caller has authorized (`grant`), checked the
    /// role and that the email is not a member.
    pub(crate) async fn stage_invitation(
        &self,
        principal: &Principal,
        grant: &Grant,
        organization: &Organization,
        (email, name): (&str, Option<String>),
        role: Role,
        changes: &mut ChangeSet,
    ) -> Result<Invitation> {
        let now = self.now();
        let org = organization.id;
        let replaced = store::find_unique::<Invitation>(
            self.store(),
            Scope::Platform,
            "pending",
            &pending_key(org, email),
        )
        .await?;
        let replaces = match replaced {
            Some(mut old) => {
                old.value.state = InvitationState::Revoked;
                old.value.closed_at = Some(now);
                // Updated before the insert, so its pending key is free.
                changes.update(&old)?;
                Some(old.value.id)
            }
            None => None,
        };
        let secret = link_secret(self.entropy(), INVITATION_PREFIX)?;
        let invitation = Invitation {
            id: InvitationId(self.new_id()),
            org,
            email: email.to_owned(),
            name,
            role,
            invited_by: principal.user,
            created_at: now,
            sent_at: now,
            expires_at: now + INVITATION_LIFETIME,
            state: InvitationState::Pending,
            token_hash: token_hash(&secret),
            accepted_by: None,
            closed_at: None,
        };
        changes.insert(&invitation)?;
        self.queue_invitation_email(principal, organization, &invitation, &secret, changes)
            .await?;
        changes.audit(self.event(
            principal,
            grant,
            "invitation.created",
            Target::new(Invitation::KIND, invitation.id),
            json!({
                "email": invitation.email,
                "name": invitation.name,
                "role": role,
                "expires_at": invitation.expires_at,
                "replaces": replaces,
            }),
        ));
        Ok(invitation)
    }

    /// Queues the invitation's email with its link. The recipient's
    /// account is never named on it, whether or not there is one, so
    /// nothing about the email of an org's outgoing mail tells an admin
    /// whether the invitee had an account.
    async fn queue_invitation_email(
        &self,
        principal: &Principal,
        organization: &Organization,
        invitation: &Invitation,
        secret: &str,
        changes: &mut ChangeSet,
    ) -> Result<()> {
        let inviter = store::require::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .value;
        self.queue_email(
            changes,
            EmailDraft {
                org: Some(organization.id),
                to: invitation.email.clone(),
                recipient: None,
                kind: EmailKind::Invitation,
                content: json!({
                    "link": invitation_link(secret),
                    "org_name": organization.name,
                    "inviter_name": inviter.display_name,
                    "role": invitation.role,
                    "expires_at": invitation.expires_at,
                }),
            },
        )
    }

    /// A page of the org's invitations, in the order they were made, with
    /// every state (see [`Invitation::status`] for expired ones).
    pub async fn list_invitations(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Vec<Invitation>> {
        self.authorize_all(principal, org, Permission::MembersManage)
            .await?;
        Ok(
            store::find::<Invitation>(self.store(), Scope::Platform, "org", &org.to_string(), page)
                .await?
                .into_iter()
                .map(|i| i.value)
                .collect(),
        )
    }

    /// Sends a pending (or expired) invitation again: a new link, a new
    /// expiry, a new email; the old link stops working. An accepted or
    /// revoked invitation is refused naming `invitation` (invite again).
    pub async fn resend_invitation(
        &self,
        principal: &Principal,
        org: OrgId,
        invitation: InvitationId,
    ) -> Result<Invitation> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        let mut found = self.org_invitation(org, invitation).await?;
        match found.value.state {
            InvitationState::Pending => {}
            InvitationState::Accepted => {
                return Err(Error::invalid(
                    "invitation",
                    "was already accepted: there is nothing to resend",
                ));
            }
            InvitationState::Revoked => {
                return Err(Error::invalid(
                    "invitation",
                    "was revoked: invite the email again",
                ));
            }
        }
        if let Some(user) = self.account_by_email(&found.value.email).await?
            && self.membership(org, user.id).await?.is_some()
        {
            return Err(Error::AlreadyExists {
                what: Membership::NAME,
                field: "email".into(),
            });
        }
        let organization = store::require::<Organization>(self.store(), Scope::Platform, org.0)
            .await?
            .value;
        let now = self.now();
        let secret = link_secret(self.entropy(), INVITATION_PREFIX)?;
        found.value.token_hash = token_hash(&secret);
        found.value.sent_at = now;
        found.value.expires_at = now + INVITATION_LIFETIME;
        let mut changes = ChangeSet::new();
        changes.update(&found)?;
        self.queue_invitation_email(
            principal,
            &organization,
            &found.value,
            &secret,
            &mut changes,
        )
        .await?;
        changes.audit(self.event(
            principal,
            &grant,
            "invitation.resent",
            Target::new(Invitation::KIND, invitation),
            json!({ "email": found.value.email, "expires_at": found.value.expires_at }),
        ));
        self.store().apply(changes).await?;
        Ok(found.value)
    }

    /// Revokes a pending invitation: its link stops working. Revoking a
    /// revoked one changes nothing; an accepted one is refused naming
    /// `invitation` (remove the member instead).
    pub async fn revoke_invitation(
        &self,
        principal: &Principal,
        org: OrgId,
        invitation: InvitationId,
    ) -> Result<Invitation> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        let mut found = self.org_invitation(org, invitation).await?;
        match found.value.state {
            InvitationState::Revoked => return Ok(found.value),
            InvitationState::Accepted => {
                return Err(Error::invalid(
                    "invitation",
                    "was already accepted: remove the member instead",
                ));
            }
            InvitationState::Pending => {}
        }
        found.value.state = InvitationState::Revoked;
        found.value.closed_at = Some(self.now());
        let mut changes = ChangeSet::new();
        changes.update(&found)?;
        changes.audit(self.event(
            principal,
            &grant,
            "invitation.revoked",
            Target::new(Invitation::KIND, invitation),
            json!({ "email": found.value.email }),
        ));
        self.store().apply(changes).await?;
        Ok(found.value)
    }

    /// What an invitation's link shows its holder: the org, the role, the
    /// invited email and whether it has an account. Refused naming `token`
    /// when the link is unknown, used, revoked or expired.
    pub async fn invitation_preview(&self, secret: &str) -> Result<InvitationPreview> {
        let invitation = self.usable_invitation(secret).await?.value;
        let organization =
            store::require::<Organization>(self.store(), Scope::Platform, invitation.org.0)
                .await?
                .value;
        Ok(InvitationPreview {
            org: organization.id,
            org_name: organization.name,
            has_account: self.account_by_email(&invitation.email).await?.is_some(),
            email: invitation.email,
            name: invitation.name,
            role: invitation.role,
            expires_at: invitation.expires_at,
        })
    }

    /// The signed-in owner of the invited email accepts: only now do they
    /// become a member (consent). Anyone signed in with another account is
    /// refused naming `token`. A password another tenant's admin may know
    /// is removed with the account's tokens in the same commit, as when
    /// the platform operator attaches an account
    /// ([`InvitationAccepted::credential_removed`]).
    pub async fn accept_invitation(
        &self,
        principal: &Principal,
        secret: &str,
    ) -> Result<InvitationAccepted> {
        let mut invitation = self.usable_invitation(secret).await?;
        let user = store::require::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .value;
        if user.email != invitation.value.email {
            return Err(Error::invalid(
                "token",
                "this invitation is for another email address: sign in with the invited account",
            ));
        }
        let org = invitation.value.org;
        if self.membership(org, user.id).await?.is_some() {
            return Err(Error::AlreadyExists {
                what: Membership::NAME,
                field: "token".into(),
            });
        }
        let mut changes = ChangeSet::new();
        let credential_removed = self
            .forget_credential_known_outside(principal, user.id, org, &mut changes)
            .await?;
        let membership = self.stage_acceptance(principal, &mut invitation, &user, &mut changes)?;
        self.store().apply(changes).await.map_err(|e| match e {
            Error::AlreadyExists { field, .. } if field == "org_user" => Error::AlreadyExists {
                what: Membership::NAME,
                field: "token".into(),
            },
            other => other,
        })?;
        Ok(InvitationAccepted {
            membership,
            user,
            credential_removed,
        })
    }

    /// A person without an account accepts: the account (with their name
    /// and their password, an argon2id PHC string the host hashed with
    /// [`Regentra::hash_password_for`] against the invited email and the
    /// name) and the membership are made in one commit. The password is
    /// the owner's ([`SetBy::Owner`]): they chose it, holding the link sent
    /// to the address. An email that has an account is refused naming
    /// `token` (its owner signs in and accepts).
    pub async fn accept_invitation_with_new_account(
        &self,
        secret: &str,
        name: &str,
        password_hash: String,
        request: RequestMeta,
    ) -> Result<InvitationAccepted> {
        let mut invitation = self.usable_invitation(secret).await?;
        let name = validate_name("name", name)?;
        check_password_hash(&password_hash)?;
        let has_account = || {
            Error::invalid(
                "token",
                "this email already has an account: sign in and accept the invitation",
            )
        };
        if self
            .account_by_email(&invitation.value.email)
            .await?
            .is_some()
        {
            return Err(has_account());
        }
        let now = self.now();
        let user = User {
            id: UserId(self.new_id()),
            email: invitation.value.email.clone(),
            display_name: name,
            super_admin: false,
            created_at: now,
            mfa: false,
        };
        let principal = Principal::new(user.id).with_request(request);
        let mut changes = ChangeSet::new();
        changes.insert(&user)?;
        changes.insert(&Credential::initial(
            user.id,
            password_hash,
            now,
            SetBy::Owner,
        )?)?;
        changes.audit(self.event_in(
            invitation.value.org,
            invitee(&user),
            &principal,
            "user.created",
            Target::new(User::KIND, user.id),
            json!({ "email": user.email, "invitation": invitation.value.id }),
        ));
        let membership = self.stage_acceptance(&principal, &mut invitation, &user, &mut changes)?;
        self.store().apply(changes).await.map_err(|e| match e {
            // Someone made the account meanwhile.
            Error::AlreadyExists { field, .. } if field == "email" => has_account(),
            other => other,
        })?;
        Ok(InvitationAccepted {
            membership,
            user,
            credential_removed: false,
        })
    }

    /// Marks the invitation accepted by `user` (written with its version,
    /// so two acceptances of one link cannot both commit) and adds the
    /// membership, audited in the org's chain as the invitee's own act.
    fn stage_acceptance(
        &self,
        principal: &Principal,
        invitation: &mut Versioned<Invitation>,
        user: &User,
        changes: &mut ChangeSet,
    ) -> Result<Membership> {
        let now = self.now();
        let inv = &mut invitation.value;
        inv.state = InvitationState::Accepted;
        inv.accepted_by = Some(user.id);
        inv.closed_at = Some(now);
        changes.update(invitation)?;
        let inv = &invitation.value;
        let membership = Membership {
            id: MembershipId(self.new_id()),
            org: inv.org,
            user: user.id,
            role: inv.role,
            assigned_by: None,
            created_at: now,
        };
        changes.insert(&membership)?;
        changes.audit(self.event_in(
            inv.org,
            invitee(user),
            principal,
            "invitation.accepted",
            Target::new(Invitation::KIND, inv.id),
            json!({ "email": inv.email, "role": inv.role, "invited_by": inv.invited_by }),
        ));
        changes.audit(self.event_in(
            inv.org,
            invitee(user),
            principal,
            "membership.added",
            Target::new(User::KIND, user.id),
            json!({ "email": user.email, "role": inv.role, "invitation": inv.id }),
        ));
        Ok(membership)
    }

    /// The invitation a link names, if it may still be used; refusals name
    /// `token`.
    async fn usable_invitation(&self, secret: &str) -> Result<Versioned<Invitation>> {
        let unknown = || Error::invalid("token", "is not a valid invitation link");
        let hash = link_hash(secret, INVITATION_PREFIX).ok_or_else(unknown)?;
        let found = store::find_unique::<Invitation>(self.store(), Scope::Platform, "token", &hash)
            .await?
            .filter(|i| bool::from(i.value.token_hash.as_bytes().ct_eq(hash.as_bytes())))
            .ok_or_else(unknown)?;
        found.value.check_usable(self.now())?;
        // An archived client admits nobody: its link answers as an unknown
        // one until the client is restored (the invitation itself is kept,
        // and expires on its own clock meanwhile).
        let org = store::require::<Organization>(self.store(), Scope::Platform, found.value.org.0)
            .await?;
        if org.value.is_archived() {
            return Err(unknown());
        }
        Ok(found)
    }

    /// `invitation` if it belongs to `org`; any other is not found.
    async fn org_invitation(
        &self,
        org: OrgId,
        invitation: InvitationId,
    ) -> Result<Versioned<Invitation>> {
        match store::load::<Invitation>(self.store(), Scope::Platform, invitation.0).await? {
            Some(found) if found.value.org == org => Ok(found),
            _ => Err(Error::NotFound {
                what: Invitation::NAME,
            }),
        }
    }

    pub(crate) async fn account_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(
            store::find_unique::<User>(self.store(), Scope::Platform, "email", email)
                .await?
                .map(|u| u.value),
        )
    }
}

/// The invitee acting on their own invitation: no role yet.
fn invitee(user: &User) -> Actor {
    Actor {
        user: Some(user.id),
        role: None,
        via: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededEntropy;

    fn invitation(state: InvitationState, expires_at: DateTime<Utc>) -> Invitation {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        Invitation {
            id: InvitationId(Uuid::now_v7()),
            org: OrgId(Uuid::now_v7()),
            email: "a@b.test".into(),
            name: None,
            role: Role::Viewer,
            invited_by: UserId(Uuid::now_v7()),
            created_at: at,
            sent_at: at,
            expires_at,
            state,
            token_hash: "h".into(),
            accepted_by: None,
            closed_at: None,
        }
    }

    #[test]
    fn expiry_is_derived_and_every_refusal_names_the_token_and_says_which() {
        let day = DateTime::<Utc>::UNIX_EPOCH + Duration::days(1);
        let pending = invitation(InvitationState::Pending, day);
        assert_eq!(
            pending.status(day - Duration::seconds(1)),
            InvitationStatus::Pending
        );
        assert_eq!(pending.status(day), InvitationStatus::Expired);
        assert!(pending.check_usable(day - Duration::seconds(1)).is_ok());
        let why = |i: &Invitation, now| match i.check_usable(now) {
            Err(Error::Validation(e)) => {
                assert_eq!(e[0].field, "token");
                e[0].message.clone()
            }
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(why(&pending, day).contains("expired"));
        let accepted = invitation(InvitationState::Accepted, day);
        assert!(why(&accepted, DateTime::<Utc>::UNIX_EPOCH).contains("already been used"));
        let revoked = invitation(InvitationState::Revoked, day);
        assert!(why(&revoked, DateTime::<Utc>::UNIX_EPOCH).contains("revoked"));
        // Used or revoked says so even once past the expiry.
        assert_eq!(accepted.status(day), InvitationStatus::Accepted);
        assert_eq!(revoked.status(day), InvitationStatus::Revoked);
    }

    #[test]
    fn only_pending_invitations_hold_the_org_and_email_key() {
        let day = DateTime::<Utc>::UNIX_EPOCH + Duration::days(1);
        let names = |i: &Invitation| -> Vec<String> {
            i.indexes().into_iter().map(|e| e.name.clone()).collect()
        };
        assert!(names(&invitation(InvitationState::Pending, day)).contains(&"pending".into()));
        assert!(!names(&invitation(InvitationState::Accepted, day)).contains(&"pending".into()));
        assert!(!names(&invitation(InvitationState::Revoked, day)).contains(&"pending".into()));
    }

    #[test]
    fn link_tokens_have_their_own_prefix_and_shape() {
        let secret = link_secret(&SeededEntropy::new(1), INVITATION_PREFIX).expect("secret");
        assert!(secret.starts_with("rgi_") && secret.len() == 68, "{secret}");
        assert_eq!(
            link_hash(&secret, INVITATION_PREFIX),
            Some(token_hash(&secret))
        );
        assert_eq!(link_hash(&secret, "rgr_"), None, "another kind of link");
        assert_eq!(link_hash("rgi_short", INVITATION_PREFIX), None);
        assert_eq!(link_hash(&format!("{secret}x"), INVITATION_PREFIX), None);
        assert_eq!(invitation_link(&secret), format!("/invite?token={secret}"));
    }
}
