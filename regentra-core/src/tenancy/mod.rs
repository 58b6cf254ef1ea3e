//! Tenancy: organizations, users and memberships.
//!
//! An MSP creates and manages client organizations; a client belongs to at
//! most one MSP; a standalone organization stands alone. Users exist once on
//! the platform and hold one role per organization through a [`Membership`].
//! MSP admins reach their own clients through the MSP relationship (a
//! delegation the audit chain records); technicians and compliance officers
//! reach a client only through a membership the MSP assigned them.
//!
//! This module holds the values and their rules; [`service`] holds the
//! operations, [`invitations`] how a person joins an org with their
//! consent, and [`overview`] an MSP's clients side by side.

pub mod invitations;
pub mod overview;
pub mod security;
pub mod service;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use invitations::{Invitation, InvitationState, InvitationStatus};
pub use security::{OrgSecurity, SecuritySettings};
pub use service::{
    AUDIT_SCAN_BUDGET, AuditQuery, ChainReport, ChainVerification, Me, Member, MemberAdded,
    OrgAccess, RoleGrant, StaffCell, StaffGrid,
};

use crate::error::{Error, FieldError, Result};
use crate::ids::{MembershipId, OrgId, UserId};
use crate::rbac::{Role, Via};
use crate::store::{Entity, IndexEntry, Scope};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Msp,
    Client,
    Standalone,
}

impl std::str::FromStr for OrgKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "msp" => Ok(OrgKind::Msp),
            "client" => Ok(OrgKind::Client),
            "standalone" => Ok(OrgKind::Standalone),
            _ => Err(Error::invalid("kind", "must be msp, client or standalone")),
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
    /// The MSP that manages this client; `None` for MSPs and standalone orgs.
    pub parent: Option<OrgId>,
    pub created_at: DateTime<Utc>,
    /// When its MSP offboarded this client ([`Regentra::archive_client`]);
    /// `None` while it is active. An archived org keeps every record, but
    /// nobody acts in it (authorization answers `NotFound`, as for an org
    /// that does not exist), it leaves everyone's org list and the host's
    /// worker passes it by, until its MSP restores it.
    ///
    /// [`Regentra::archive_client`]: crate::Regentra::archive_client
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
}

impl Organization {
    /// Whether the org is archived (see [`Organization::archived_at`]).
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

impl Entity for Organization {
    const KIND: &'static str = "organization";
    const NAME: &'static str = "organization";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![IndexEntry::multi("kind", kind_key(self.kind))];
        if let Some(parent) = self.parent {
            entries.push(IndexEntry::multi("parent", parent.to_string()));
        }
        entries
    }
}

fn kind_key(kind: OrgKind) -> &'static str {
    match kind {
        OrgKind::Msp => "msp",
        OrgKind::Client => "client",
        OrgKind::Standalone => "standalone",
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Normalized by [`normalize_email`]; unique on the platform.
    pub email: String,
    pub display_name: String,
    /// Platform operator (the `super_admin` role, held on the account).
    pub super_admin: bool,
    pub created_at: DateTime<Utc>,
    /// Whether the account has confirmed a second factor (TOTP, see
    /// [`crate::mfa`]). Kept here, in the record [`crate::Regentra::authorize`]
    /// reads anyway, so enforcing an org's MFA requirement costs no extra
    /// read for enrolled accounts; written in the same commit as the
    /// enrolment record it mirrors.
    #[serde(default)]
    pub mfa: bool,
}

impl Entity for User {
    const KIND: &'static str = "user";
    const NAME: &'static str = "user";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![IndexEntry::unique("email", &self.email)];
        if self.super_admin {
            entries.push(IndexEntry::multi("super_admin", "true"));
        }
        entries
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub id: MembershipId,
    pub org: OrgId,
    pub user: UserId,
    pub role: Role,
    /// Set when an MSP assigned one of its staff to this client; only that
    /// MSP's admins can take the assignment back.
    pub assigned_by: Option<OrgId>,
    pub created_at: DateTime<Utc>,
}

impl Entity for Membership {
    const KIND: &'static str = "membership";
    const NAME: &'static str = "membership";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry::multi("org", self.org.to_string()),
            IndexEntry::multi("user", self.user.to_string()),
            // One role per user and org.
            IndexEntry::unique("org_user", membership_key(self.org, self.user)),
        ]
    }
}

pub(crate) fn membership_key(org: OrgId, user: UserId) -> String {
    format!("{org}/{user}")
}

/// Trims and lowercases an email address and checks its shape, so that
/// `Alice@Example.COM ` and `alice@example.com` are one account. A bare
/// host (`admin@localhost`) is allowed, as mail systems allow it.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let bad = |msg: &str| Err(Error::invalid("email", msg));
    if email.is_empty() {
        return bad("must not be empty");
    }
    if email.len() > 254 {
        return bad("must be at most 254 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces or control characters");
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(email)
        }
        _ => bad("must look like name@example.com"),
    }
}

/// A display name: trimmed, non-empty, at most 200 characters, printable.
pub fn validate_name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    let problem = if name.is_empty() {
        Some("must not be empty")
    } else if name.chars().count() > 200 {
        Some("must be at most 200 characters")
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    };
    match problem {
        Some(message) => Err(Error::Validation(vec![FieldError::new(field, message)])),
        None => Ok(name.to_owned()),
    }
}

/// Which roles a membership in an org of this kind may carry. `super_admin`
/// is a platform role held on the account; `msp_admin` only means something
/// in an MSP.
pub fn check_member_role(kind: OrgKind, role: Role) -> Result<()> {
    match role {
        Role::SuperAdmin => Err(Error::invalid(
            "role",
            "super_admin is a platform role and cannot be given through a membership",
        )),
        Role::MspAdmin if kind != OrgKind::Msp => Err(Error::invalid(
            "role",
            "msp_admin can only be held in an MSP organization",
        )),
        _ => Ok(()),
    }
}

/// The roles an MSP can assign its staff to in a client.
pub fn check_staff_role(role: Role) -> Result<()> {
    match role {
        Role::Technician | Role::ComplianceOfficer => Ok(()),
        _ => Err(Error::invalid(
            "role",
            "staff can be assigned to a client as technician or compliance_officer",
        )),
    }
}

/// The role that administers an org of this kind: `msp_admin` in an MSP,
/// `org_admin` in a client or a standalone org. (An `org_admin` of an MSP
/// manages its members and settings but not its clients or staff, so it
/// does not count as the MSP's admin.)
pub fn admin_role(kind: OrgKind) -> Role {
    match kind {
        OrgKind::Msp => Role::MspAdmin,
        OrgKind::Client | OrgKind::Standalone => Role::OrgAdmin,
    }
}

/// The last-admin rule: a change to `user`'s membership in an org of
/// `kind` (`new_role`, or `None` for a removal) may not leave an org that
/// has an admin ([`admin_role`]) without one, whoever makes it (the admin
/// themselves, another admin, the platform operator). `members` are the
/// org's memberships before the change.
///
/// A client whose MSP has an `msp_admin` (`msp_has_admin`) counts as
/// administered: those admins act in it as its `org_admin` by delegation,
/// so its own last `org_admin` may step down or go. A client whose MSP has
/// no `msp_admin` is held to its own `org_admin`s, like a standalone org.
/// An org that has no admin yet (a new MSP or client) is not blocked by
/// this rule. Refused changes name `role` (a demotion) or `user` (a
/// removal).
pub fn check_admin_remains(
    kind: OrgKind,
    members: &[Membership],
    user: UserId,
    new_role: Option<Role>,
    msp_has_admin: bool,
) -> Result<()> {
    let admin = admin_role(kind);
    let is_admin = |m: &&Membership| m.role == admin;
    let leaving = members.iter().filter(is_admin).any(|m| m.user == user);
    if !leaving || new_role == Some(admin) {
        return Ok(());
    }
    let others = members.iter().filter(is_admin).any(|m| m.user != user);
    if others || (kind == OrgKind::Client && msp_has_admin) {
        return Ok(());
    }
    let message = format!(
        "the last {} of this organization cannot be {}; make someone else {} first",
        admin.key(),
        if new_role.is_some() {
            "demoted"
        } else {
            "removed"
        },
        admin.key(),
    );
    Err(Error::invalid(
        if new_role.is_some() {
            "role"
        } else {
            "user_id"
        },
        message,
    ))
}

/// The roles a user could act with in `org`, in the order they are tried:
/// the org's own membership first, then the MSP delegation, then the
/// platform role. Pure: the caller loads the facts.
pub fn candidate_roles(
    user: &User,
    org: &Organization,
    membership: Option<&Membership>,
    parent_membership: Option<&Membership>,
) -> Vec<(Role, Via)> {
    let mut roles = Vec::new();
    if let Some(m) = membership {
        roles.push((m.role, Via::Membership));
    }
    if let (OrgKind::Client, Some(msp), Some(pm)) = (org.kind, org.parent, parent_membership)
        && pm.org == msp
        && pm.role == Role::MspAdmin
    {
        // An MSP admin holds in each client what the client's own org admin holds.
        roles.push((Role::OrgAdmin, Via::MspDelegation { msp }));
    }
    if user.super_admin {
        roles.push((Role::SuperAdmin, Via::Platform));
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalize_and_bad_ones_name_the_field() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").ok().as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            normalize_email("Admin@LOCALHOST").ok().as_deref(),
            Some("admin@localhost"),
            "a bare host is an address too"
        );
        for bad in [
            "",
            "alice",
            "a@",
            "@example.com",
            "a@@example.com",
            "a b@example.com",
            "a@example.",
        ] {
            match normalize_email(bad) {
                Err(Error::Validation(errors)) => assert_eq!(errors[0].field, "email", "{bad}"),
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            validate_name("name", "  Acme  ").ok().as_deref(),
            Some("Acme")
        );
        assert!(validate_name("name", "   ").is_err());
        assert!(validate_name("name", &"x".repeat(201)).is_err());
        assert!(validate_name("name", "a\u{0}b").is_err());
    }

    #[test]
    fn an_org_that_has_an_admin_keeps_one() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let org = OrgId(Uuid::now_v7());
        let (a, b, c) = (
            UserId(Uuid::now_v7()),
            UserId(Uuid::now_v7()),
            UserId(Uuid::now_v7()),
        );
        let m = |user, role| Membership {
            id: MembershipId(Uuid::now_v7()),
            org,
            user,
            role,
            assigned_by: None,
            created_at: at,
        };
        let field = |r: Result<()>| match r {
            Err(Error::Validation(e)) => e[0].field.clone(),
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(admin_role(OrgKind::Msp), Role::MspAdmin);
        assert_eq!(admin_role(OrgKind::Client), Role::OrgAdmin);
        assert_eq!(admin_role(OrgKind::Standalone), Role::OrgAdmin);
        // The last msp_admin of an MSP; an org_admin there does not count.
        let msp = [
            m(a, Role::MspAdmin),
            m(b, Role::OrgAdmin),
            m(c, Role::Viewer),
        ];
        let check = |members: &[Membership], kind, user, role, msp_admin| {
            check_admin_remains(kind, members, user, role, msp_admin)
        };
        assert_eq!(field(check(&msp, OrgKind::Msp, a, None, false)), "user_id");
        assert_eq!(
            field(check(&msp, OrgKind::Msp, a, Some(Role::OrgAdmin), false)),
            "role"
        );
        assert!(check(&msp, OrgKind::Msp, a, Some(Role::MspAdmin), false).is_ok());
        assert!(check(&msp, OrgKind::Msp, b, None, false).is_ok());
        assert!(check(&msp, OrgKind::Msp, c, None, false).is_ok());
        // A second admin may go; so may the first, then.
        let two = [m(a, Role::OrgAdmin), m(b, Role::OrgAdmin)];
        assert!(check(&two, OrgKind::Standalone, a, None, false).is_ok());
        assert_eq!(
            field(check(
                &two[..1],
                OrgKind::Standalone,
                a,
                Some(Role::Viewer),
                false
            )),
            "role"
        );
        // A client is administered by its MSP's admins, when it has some.
        assert!(check(&two[..1], OrgKind::Client, a, None, true).is_ok());
        assert_eq!(
            field(check(&two[..1], OrgKind::Client, a, None, false)),
            "user_id"
        );
        // The standalone org ignores what an MSP would have.
        assert!(check(&two[..1], OrgKind::Standalone, a, None, true).is_err());
        // An org without an admin yet is not blocked.
        assert!(check(&[m(c, Role::Viewer)], OrgKind::Standalone, c, None, false).is_ok());
    }

    #[test]
    fn membership_roles_fit_the_org_kind() {
        assert!(check_member_role(OrgKind::Msp, Role::MspAdmin).is_ok());
        assert!(check_member_role(OrgKind::Client, Role::MspAdmin).is_err());
        assert!(check_member_role(OrgKind::Standalone, Role::SuperAdmin).is_err());
        assert!(check_staff_role(Role::Technician).is_ok());
        assert!(check_staff_role(Role::OrgAdmin).is_err());
    }
}
