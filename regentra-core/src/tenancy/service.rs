//! Tenancy operations: creating tenants, managing members, assigning MSP
//! staff to clients, and listing the orgs a user can act in.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    Membership, OrgKind, Organization, User, candidate_roles, check_admin_remains,
    check_member_role, check_staff_role, normalize_email, validate_name,
};
use crate::audit::{self, Actor, AuditCheckpoint, AuditEvent, BreakKind, ChainBreak, Target};
use crate::auth::SetBy;
use crate::error::{Error, FieldError, Result};
use crate::ids::{MembershipId, OrgId, UserId};
use crate::rbac::{Grant, Permission, Role, Via};
use crate::service::{Principal, Regentra};
use crate::store::{
    self, Answers, Audited, ChangeSet, Entity, Listing, PageRequest, Read, Scope, Store, Versioned,
};

/// One role a user can act with in an org, and how they hold it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoleGrant {
    pub role: Role,
    pub via: Via,
}

/// An org the user can switch to, with the roles they hold there.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgAccess {
    pub org: Organization,
    pub roles: Vec<RoleGrant>,
}

/// The caller's own view of themselves ([`Regentra::me`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub account: User,
    /// Every org they can act in, as [`Regentra::my_organizations`].
    pub organizations: Vec<OrgAccess>,
    /// As [`Regentra::mfa_requirements`].
    pub mfa_required: Vec<crate::mfa::MfaRequirement>,
}

/// What a person reaches: their account, their memberships and every org
/// they can act in (their memberships' and, for an MSP's admins, its
/// clients), ordered by id.
#[derive(Debug, Clone)]
pub(crate) struct Reach {
    pub(crate) account: User,
    pub(crate) memberships: Vec<Membership>,
    pub(crate) orgs: Vec<Organization>,
}

impl Reach {
    /// The caller's membership in `org`, if any.
    pub(crate) fn membership(&self, org: OrgId) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.org == org)
    }

    /// Each org with the roles the person holds there, as
    /// [`candidate_roles`] orders them (the platform role aside: operators
    /// list every org elsewhere).
    pub(crate) fn organizations(&self) -> Vec<OrgAccess> {
        let plain_user = User {
            super_admin: false,
            ..self.account.clone()
        };
        self.orgs
            .iter()
            .map(|org| {
                let own = self.membership(org.id);
                let parent = org.parent.and_then(|p| self.membership(p));
                let roles = candidate_roles(&plain_user, org, own, parent)
                    .into_iter()
                    .map(|(role, via)| RoleGrant { role, via })
                    .collect();
                OrgAccess {
                    org: org.clone(),
                    roles,
                }
            })
            .collect()
    }
}

/// What adding a member answers ([`Regentra::add_member_with_password`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberAdded {
    /// To the platform operator: the membership made, for a new account or
    /// an existing one.
    Added {
        email: String,
        membership: Membership,
    },
    /// To anyone else: the request was accepted. The same answer whether
    /// the email was new (the account and the membership were made) or
    /// already had an account (nothing was attached: its owner was invited
    /// instead), so it never reveals
    /// whether an account exists; it carries only what the caller sent.
    Accepted { email: String, role: Role },
}

impl MemberAdded {
    /// The membership, when the answer shows it (to the platform operator).
    pub fn membership(&self) -> Option<&Membership> {
        match self {
            MemberAdded::Added { membership, .. } => Some(membership),
            MemberAdded::Accepted { .. } => None,
        }
    }

    /// The normalized email the request named.
    pub fn email(&self) -> &str {
        match self {
            MemberAdded::Added { email, .. } | MemberAdded::Accepted { email, .. } => email,
        }
    }

    /// The role the request named.
    pub fn role(&self) -> Role {
        match self {
            MemberAdded::Added { membership, .. } => membership.role,
            MemberAdded::Accepted { role, .. } => *role,
        }
    }
}

/// A member of an org, named ([`Regentra::member_directory`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub membership: Membership,
    pub name: String,
    pub email: String,
}

/// Who of an MSP's staff works in which of its clients
/// ([`Regentra::staff_grid`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffGrid {
    /// The MSP's members who can be assigned to clients, by name.
    pub staff: Vec<Member>,
    /// The MSP's clients that are not archived, by name.
    pub clients: Vec<Organization>,
    /// The staff's memberships in those clients (see
    /// [`Membership::assigned_by`] for which the MSP made).
    pub memberships: Vec<Membership>,
}

impl StaffGrid {
    /// `user`'s membership in `client`, if they have one.
    pub fn membership(&self, client: OrgId, user: UserId) -> Option<&Membership> {
        self.memberships
            .iter()
            .find(|m| m.org == client && m.user == user)
    }
}

/// One cell of the staff grid as an MSP admin posts it: the role `user`
/// should hold in `client` (`None`: not assigned there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffCell {
    pub client: OrgId,
    pub user: UserId,
    pub role: Option<Role>,
}

/// The result of verifying an org's audit chain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Events in the chain (the last one's number).
    pub events: u64,
    /// Events read and checked by this verification: those after the
    /// checkpoint, plus the checkpoint's own event, or all of them.
    pub checked: u64,
    /// The event an earlier verification vouched for, where this one
    /// started (`None`: from the first event).
    pub from_checkpoint: Option<u64>,
    pub head: Option<String>,
    pub first_break: Option<ChainBreak>,
}

/// How much of a chain a verification reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChainVerification {
    /// From the org's checkpoint: the events after the last one an earlier
    /// verification found sound, and that one (still there, unchanged).
    #[default]
    SinceCheckpoint,
    /// Every event from the first, whatever was verified before.
    Full,
}

impl Regentra {
    /// Creates the platform's first operator on an empty platform. Refused
    /// (`AlreadyExists`) once any platform operator exists.
    pub async fn bootstrap_platform_admin(&self, email: &str, display_name: &str) -> Result<User> {
        let email = normalize_email(email)?;
        let display_name = validate_name("name", display_name)?;
        let existing = store::find::<User>(
            self.store(),
            Scope::Platform,
            "super_admin",
            "true",
            PageRequest::first(1),
        )
        .await?;
        if !existing.is_empty() {
            return Err(Error::AlreadyExists {
                what: "platform admin",
                field: "super_admin".into(),
            });
        }
        let user = User {
            id: UserId(self.new_id()),
            email,
            display_name,
            super_admin: true,
            mfa: false,
            created_at: self.now(),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&user)?;
        // A platform begun by this version writes every index as it goes:
        // its one-time backfills have nothing to do.
        for done in crate::maintenance::done_at_bootstrap(self.now()) {
            changes.insert(&done)?;
        }
        changes.audit(self.platform_event(
            None,
            "platform.bootstrapped",
            Target::new(User::KIND, user.id),
            json!({ "email": user.email }),
        ));
        self.store().apply(changes).await?;
        Ok(user)
    }

    /// A platform operator creates an MSP or a standalone organization.
    /// Clients are created by their MSP with [`Regentra::create_client`].
    pub async fn create_organization(
        &self,
        principal: &Principal,
        name: &str,
        kind: OrgKind,
    ) -> Result<Organization> {
        let operator = self.authorize_platform(principal).await?;
        if kind == OrgKind::Client {
            return Err(Error::invalid(
                "kind",
                "clients are created by their MSP (create_client)",
            ));
        }
        let org = Organization {
            id: OrgId(self.new_id()),
            name: validate_name("name", name)?,
            kind,
            parent: None,
            created_at: self.now(),
            archived_at: None,
        };
        let mut changes = ChangeSet::new();
        changes.insert(&org)?;
        let details = json!({ "name": org.name, "kind": org.kind });
        changes.audit(self.platform_event(
            Some(principal),
            "organization.created",
            Target::new(Organization::KIND, org.id),
            details.clone(),
        ));
        let grant = platform_grant(org.id, Permission::TenantsManage, &operator);
        changes.audit(self.event(
            principal,
            &grant,
            "organization.created",
            Target::new(Organization::KIND, org.id),
            details,
        ));
        self.store().apply(changes).await?;
        Ok(org)
    }

    /// Every organization on the platform, for platform operators.
    pub async fn list_organizations(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Vec<Organization>> {
        self.authorize_platform(principal).await?;
        Ok(values(
            store::list::<Organization>(self.store(), Scope::Platform, page).await?,
        ))
    }

    /// The platform admin with this email, if there is one: how a host finds
    /// the operator's account again on later starts. A system operation.
    pub async fn platform_admin(&self, email: &str) -> Result<Option<UserId>> {
        let email = normalize_email(email)?;
        Ok(
            store::find_unique::<User>(self.store(), Scope::Platform, "email", &email)
                .await?
                .filter(|u| u.value.super_admin)
                .map(|u| u.value.id),
        )
    }

    /// Every organization's id, a page at a time, for the host's scheduled
    /// sweeps (escalations, reminders, outbox delivery). A system operation:
    /// no caller, nothing returned but ids.
    pub async fn organization_ids(&self, page: PageRequest) -> Result<Vec<OrgId>> {
        Ok(
            store::list::<Organization>(self.store(), Scope::Platform, page)
                .await?
                .into_iter()
                .map(|o| o.value.id)
                .collect(),
        )
    }

    /// The ids of the organizations that are not archived, a page of the
    /// platform's organizations at a time, for the host's worker (archived
    /// clients have no escalations run, reminders sent or outbox
    /// delivered). `next` goes on from the page's last organization, kept
    /// or not; `None` after the last page. A system operation.
    pub async fn active_organization_ids(&self, page: PageRequest) -> Result<Listing<OrgId, Uuid>> {
        let limit = page.effective_limit();
        let orgs = store::list::<Organization>(self.store(), Scope::Platform, page).await?;
        let next = (orgs.len() == limit)
            .then(|| orgs.last().map(|o| o.value.id.0))
            .flatten();
        Ok(Listing {
            items: orgs
                .into_iter()
                .filter(|o| !o.value.is_archived())
                .map(|o| o.value.id)
                .collect(),
            next,
        })
    }

    /// An MSP creates a client tenant. Recorded in both the MSP's chain and the
    /// new client's.
    pub async fn create_client(
        &self,
        principal: &Principal,
        msp: OrgId,
        name: &str,
    ) -> Result<Organization> {
        let grant = self
            .authorize_all(principal, msp, Permission::TenantsManage)
            .await?;
        let mut changes = ChangeSet::new();
        let client = self
            .stage_client(principal, &grant, msp, name, &mut changes)
            .await?;
        self.store().apply(changes).await?;
        Ok(client)
    }

    /// Adds to `changes` a new client of `msp` named `name`, with its
    /// events in both chains. The caller has authorized (`grant`).
    pub(crate) async fn stage_client(
        &self,
        principal: &Principal,
        grant: &Grant,
        msp: OrgId,
        name: &str,
        changes: &mut ChangeSet,
    ) -> Result<Organization> {
        let parent = self.organization(msp).await?;
        if parent.kind != OrgKind::Msp {
            return Err(Error::invalid(
                "msp",
                "only an MSP organization can have clients",
            ));
        }
        let client = Organization {
            id: OrgId(self.new_id()),
            name: validate_name("name", name)?,
            kind: OrgKind::Client,
            parent: Some(msp),
            created_at: self.now(),
            archived_at: None,
        };
        let target = Target::new(Organization::KIND, client.id);
        let details = json!({ "name": client.name, "msp": msp });
        changes.insert(&client)?;
        changes.audit_all(self.msp_and_client_events(
            principal,
            grant,
            client.id,
            ["client.created", "organization.created"],
            target,
            details,
        ));
        Ok(client)
    }

    /// An MSP offboards one of its clients (`tenants.manage` in the MSP):
    /// the client is archived. Its records stay as they are, but nobody
    /// acts in it any more (every operation in it answers `NotFound`), it
    /// leaves everyone's org list, and the host's worker passes it by
    /// ([`Regentra::active_organization_ids`]). [`Regentra::restore_client`]
    /// undoes it. Recorded in both chains (`client.archived`,
    /// `organization.archived`); archiving an archived client changes
    /// nothing and records nothing.
    pub async fn archive_client(
        &self,
        principal: &Principal,
        msp: OrgId,
        client: OrgId,
    ) -> Result<Organization> {
        self.set_archived(principal, msp, client, true).await
    }

    /// An MSP restores a client it archived: everyone who could act in it
    /// before can again. Recorded in both chains (`client.restored`,
    /// `organization.restored`); restoring an active client changes
    /// nothing and records nothing.
    pub async fn restore_client(
        &self,
        principal: &Principal,
        msp: OrgId,
        client: OrgId,
    ) -> Result<Organization> {
        self.set_archived(principal, msp, client, false).await
    }

    async fn set_archived(
        &self,
        principal: &Principal,
        msp: OrgId,
        client: OrgId,
        archived: bool,
    ) -> Result<Organization> {
        let grant = self
            .authorize_all(principal, msp, Permission::TenantsManage)
            .await?;
        self.client_of(msp, client).await?;
        let mut current =
            store::require::<Organization>(self.store(), Scope::Platform, client.0).await?;
        if current.value.is_archived() == archived {
            return Ok(current.value);
        }
        let since = current.value.archived_at;
        current.value.archived_at = archived.then(|| self.now());
        let (actions, details) = if archived {
            (
                ["client.archived", "organization.archived"],
                json!({ "name": current.value.name }),
            )
        } else {
            (
                ["client.restored", "organization.restored"],
                json!({ "name": current.value.name, "archived_at": since }),
            )
        };
        let mut changes = ChangeSet::new();
        changes.update(&current)?;
        changes.audit_all(self.msp_and_client_events(
            principal,
            &grant,
            client,
            actions,
            Target::new(Organization::KIND, client),
            details,
        ));
        self.store().apply(changes).await?;
        Ok(current.value)
    }

    /// The MSP's clients, in creation order, archived ones included (see
    /// [`Organization::archived_at`]).
    pub async fn list_clients(
        &self,
        principal: &Principal,
        msp: OrgId,
        page: PageRequest,
    ) -> Result<Vec<Organization>> {
        self.authorize_all(principal, msp, Permission::TenantsManage)
            .await?;
        let clients = store::find::<Organization>(
            self.store(),
            Scope::Platform,
            "parent",
            &msp.to_string(),
            page,
        )
        .await?;
        Ok(values(clients))
    }

    /// An org's profile.
    pub async fn get_organization(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<Organization> {
        self.authorize(principal, org, Permission::OrgRead).await?;
        self.organization(org).await
    }

    pub async fn rename_organization(
        &self,
        principal: &Principal,
        org: OrgId,
        name: &str,
    ) -> Result<Organization> {
        let grant = self
            .authorize_all(principal, org, Permission::OrgManage)
            .await?;
        let name = validate_name("name", name)?;
        let mut current =
            store::require::<Organization>(self.store(), Scope::Platform, org.0).await?;
        let old = std::mem::replace(&mut current.value.name, name);
        let mut changes = ChangeSet::new();
        changes.update(&current)?;
        changes.audit(self.event(
            principal,
            &grant,
            "organization.renamed",
            Target::new(Organization::KIND, org),
            json!({ "from": old, "to": current.value.name }),
        ));
        self.store().apply(changes).await?;
        Ok(current.value)
    }

    /// Adds a person to an org with a role, creating their platform account
    /// if the email is new. See [`Self::add_member_with_password`].
    pub async fn add_member(
        &self,
        principal: &Principal,
        org: OrgId,
        email: &str,
        display_name: &str,
        role: Role,
    ) -> Result<MemberAdded> {
        self.add_member_with_password(principal, org, email, display_name, role, None)
            .await
    }

    /// Adds a person to an org with a role, optionally giving an account
    /// this call creates an initial password (an argon2id PHC string from
    /// [`Regentra::hash_password`], hashed by the caller off its async
    /// threads).
    ///
    /// - A new email: the account (with the password, recorded as set by
    ///   the operator or by this org's admin: [`crate::auth::SetBy`]) and
    ///   the membership are created.
    /// - An email that has an account, for the platform operator: the
    ///   account is attached. A password is refused (naming `password`):
    ///   an existing account's password is its owner's. A password another
    ///   tenant's admin chose is removed, with the account's tokens, in the
    ///   same commit (the owner then sets their own).
    /// - An email that has an account, for anyone else: nothing is attached
    ///   and no password is applied; joining needs the person's consent, so
    ///   they are sent an invitation instead ([`Regentra::invite`]: they
    ///   accept it signed in), and a `membership.attach_refused` event in
    ///   the platform chain tells the operator. The answer is the one a new
    ///   email gets ([`MemberAdded::Accepted`]), so it reveals nothing of
    ///   the account.
    ///
    /// Already a member of this org: `AlreadyExists` naming `user`.
    pub async fn add_member_with_password(
        &self,
        principal: &Principal,
        org: OrgId,
        email: &str,
        display_name: &str,
        role: Role,
        password_hash: Option<String>,
    ) -> Result<MemberAdded> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        let organization = self.organization(org).await?;
        check_member_role(organization.kind, role)?;
        // Everything about the input is checked before the email is looked
        // up, so bad input answers the same whether the account exists.
        let email = normalize_email(email)?;
        let display_name = validate_name("name", display_name)?;
        if let Some(hash) = &password_hash {
            crate::auth::check_password_hash(hash)?;
        }
        let operator = self.is_platform_operator(principal).await?;
        let mut changes = ChangeSet::new();
        let existing =
            store::find_unique::<User>(self.store(), Scope::Platform, "email", &email).await?;
        let user = match existing {
            Some(user) => {
                let user = user.value;
                if self.membership(org, user.id).await?.is_some() {
                    return Err(already_member_error());
                }
                if !operator {
                    // Joining needs the owner's consent: they are invited.
                    let invitation = self
                        .stage_invitation(
                            principal,
                            &grant,
                            &organization,
                            (&email, Some(display_name.clone())),
                            role,
                            &mut changes,
                        )
                        .await?;
                    changes.audit(self.event_in(
                        audit::PLATFORM_CHAIN,
                        Actor {
                            user: Some(principal.user),
                            role: Some(grant.role),
                            via: Some(grant.via),
                        },
                        principal,
                        "membership.attach_refused",
                        Target::new(User::KIND, user.id),
                        json!({
                            "org": org,
                            "email": user.email,
                            "role": role,
                            "password_offered": password_hash.is_some(),
                            "reason": "an existing account joins an org with its owner's consent \
                                       or through the platform operator",
                            "invitation": invitation.id,
                        }),
                    ));
                    self.store().apply(changes).await?;
                    return Ok(MemberAdded::Accepted { email, role });
                }
                if password_hash.is_some() {
                    return Err(Error::invalid(
                        "password",
                        "this email already has an account, whose password is its owner's: \
                         add it without a password",
                    ));
                }
                self.forget_credential_known_outside(principal, user.id, org, &mut changes)
                    .await?;
                user
            }
            None => {
                let user = User {
                    id: UserId(self.new_id()),
                    email: email.clone(),
                    display_name,
                    super_admin: false,
                    mfa: false,
                    created_at: self.now(),
                };
                changes.insert(&user)?;
                let initial_password = password_hash.is_some();
                if let Some(hash) = password_hash {
                    let set_by = if operator {
                        SetBy::Operator
                    } else {
                        SetBy::TenantAdmin { org }
                    };
                    changes.insert(&crate::auth::Credential::initial(
                        user.id,
                        hash,
                        self.now(),
                        set_by,
                    )?)?;
                }
                changes.audit(self.event(
                    principal,
                    &grant,
                    "user.created",
                    Target::new(User::KIND, user.id),
                    json!({ "email": user.email, "initial_password": initial_password }),
                ));
                user
            }
        };
        let membership = Membership {
            id: MembershipId(self.new_id()),
            org,
            user: user.id,
            role,
            assigned_by: None,
            created_at: self.now(),
        };
        changes.insert(&membership)?;
        changes.audit(self.event(
            principal,
            &grant,
            "membership.added",
            Target::new(User::KIND, user.id),
            json!({ "email": user.email, "role": role }),
        ));
        self.store().apply(changes).await.map_err(already_member)?;
        Ok(if operator {
            MemberAdded::Added { email, membership }
        } else {
            MemberAdded::Accepted { email, role }
        })
    }

    /// Changes a member's role. Refused (naming `role`) when it would leave
    /// the org without an admin ([`check_admin_remains`]). In an MSP, a role
    /// that cannot be assigned to clients ([`check_staff_role`]) ends, in
    /// the same commit, every client membership the MSP assigned them.
    pub async fn change_member_role(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        role: Role,
    ) -> Result<Membership> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        let organization = self.organization(org).await?;
        check_member_role(organization.kind, role)?;
        let mut membership = self.require_membership(org, user).await?;
        let mut changes = ChangeSet::new();
        self.admin_remains(&organization, user, Some(role), &mut changes)
            .await?;
        let old = std::mem::replace(&mut membership.value.role, role);
        changes.update(&membership)?;
        let unassigned = if organization.kind == OrgKind::Msp && check_staff_role(role).is_err() {
            self.end_assignments(
                principal,
                &grant,
                user,
                "membership.role_changed",
                &mut changes,
            )
            .await?
        } else {
            Vec::new()
        };
        changes.audit(self.event(
            principal,
            &grant,
            "membership.role_changed",
            Target::new(User::KIND, user),
            json!({ "from": old, "to": role, "unassigned_from": unassigned }),
        ));
        self.store().apply(changes).await?;
        Ok(membership.value)
    }

    /// Removes a member (the account stays). Refused (naming `user`) when it
    /// would leave the org without an admin ([`check_admin_remains`]). In
    /// an MSP it ends, in the same commit, every client membership the MSP
    /// assigned them; memberships a client gave them itself stay.
    pub async fn remove_member(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
    ) -> Result<()> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        let organization = self.organization(org).await?;
        let membership = self.require_membership(org, user).await?;
        let mut changes = ChangeSet::new();
        self.admin_remains(&organization, user, None, &mut changes)
            .await?;
        changes.delete(&membership);
        let unassigned = if organization.kind == OrgKind::Msp {
            self.end_assignments(principal, &grant, user, "membership.removed", &mut changes)
                .await?
        } else {
            Vec::new()
        };
        changes.audit(self.event(
            principal,
            &grant,
            "membership.removed",
            Target::new(User::KIND, user),
            json!({ "role": membership.value.role, "unassigned_from": unassigned }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// The org's members, in the order they joined.
    pub async fn list_members(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Vec<Membership>> {
        self.authorize(principal, org, Permission::OrgRead).await?;
        let members =
            store::find::<Membership>(self.store(), Scope::Platform, "org", &org.to_string(), page)
                .await?;
        Ok(values(members))
    }

    /// The org's members with their names and emails, by name: what a
    /// members page shows. Anyone who may read the org may read it. Reads:
    /// the memberships, then their accounts in one batch.
    pub async fn member_directory(&self, principal: &Principal, org: OrgId) -> Result<Vec<Member>> {
        self.authorize(principal, org, Permission::OrgRead).await?;
        let memberships =
            store::find_all::<Membership>(self.store(), Scope::Platform, "org", &org.to_string())
                .await?;
        self.named(values(memberships)).await
    }

    /// `memberships` with their accounts' names and emails, by name (a
    /// membership whose account is gone is left out).
    async fn named(&self, memberships: Vec<Membership>) -> Result<Vec<Member>> {
        let ids: Vec<Uuid> = memberships.iter().map(|m| m.user.0).collect();
        let accounts: std::collections::HashMap<UserId, User> =
            store::load_many::<User>(self.store(), Scope::Platform, &ids)
                .await?
                .into_iter()
                .flatten()
                .map(|u| (u.value.id, u.value))
                .collect();
        let mut members: Vec<Member> = memberships
            .into_iter()
            .filter_map(|membership| {
                let account = accounts.get(&membership.user)?;
                Some(Member {
                    name: account.display_name.clone(),
                    email: account.email.clone(),
                    membership,
                })
            })
            .collect();
        members.sort_by_cached_key(|m| (m.name.to_lowercase(), m.email.clone()));
        Ok(members)
    }

    /// Who of the MSP's staff works in which of its active clients, for an
    /// MSP admin's assignment grid (`staff.assign` in the MSP): the staff
    /// who can be assigned (the MSP's technicians and compliance officers,
    /// [`check_staff_role`]), the clients that are not archived, both by
    /// name, and those staff's memberships in those clients, whether the
    /// MSP assigned them or the client gave them itself.
    pub async fn staff_grid(&self, principal: &Principal, msp: OrgId) -> Result<StaffGrid> {
        self.authorize_all(principal, msp, Permission::StaffAssign)
            .await?;
        let organization = self.organization(msp).await?;
        if organization.kind != OrgKind::Msp {
            return Err(Error::invalid(
                "msp",
                "only an MSP organization has clients to assign staff to",
            ));
        }
        let members =
            store::find_all::<Membership>(self.store(), Scope::Platform, "org", &msp.to_string())
                .await?;
        let assignable = values(members)
            .into_iter()
            .filter(|m| check_staff_role(m.role).is_ok())
            .collect();
        let staff = self.named(assignable).await?;
        let mut clients: Vec<Organization> = store::find_all::<Organization>(
            self.store(),
            Scope::Platform,
            "parent",
            &msp.to_string(),
        )
        .await?
        .into_iter()
        .map(|c| c.value)
        .filter(|c| !c.is_archived())
        .collect();
        clients.sort_by_cached_key(|c| (c.name.to_lowercase(), c.id));
        let client_ids: std::collections::HashSet<OrgId> = clients.iter().map(|c| c.id).collect();
        let mut memberships = Vec::new();
        for person in &staff {
            let user = person.membership.user;
            memberships.extend(
                store::find_all::<Membership>(
                    self.store(),
                    Scope::Platform,
                    "user",
                    &user.to_string(),
                )
                .await?
                .into_iter()
                .map(|m| m.value)
                .filter(|m| client_ids.contains(&m.org)),
            );
        }
        Ok(StaffGrid {
            staff,
            clients,
            memberships,
        })
    }

    /// An MSP admin assigns one of the MSP's own staff to one of its clients,
    /// as technician or compliance officer: a membership in the client org,
    /// recorded in both chains.
    pub async fn assign_staff(
        &self,
        principal: &Principal,
        msp: OrgId,
        client: OrgId,
        user: UserId,
        role: Role,
    ) -> Result<Membership> {
        let grant = self
            .authorize_all(principal, msp, Permission::StaffAssign)
            .await?;
        if self.client_of(msp, client).await?.is_archived() {
            return Err(Error::invalid(
                "client_id",
                "this client is archived: restore it before assigning staff to it",
            ));
        }
        check_staff_role(role)?;
        let Some(staff) = self.membership(msp, user).await? else {
            return Err(Error::invalid(
                "user_id",
                "only members of the MSP can be assigned to its clients",
            ));
        };
        if check_staff_role(staff.value.role).is_err() {
            return Err(Error::invalid("user_id", NOT_STAFF));
        }
        let membership = Membership {
            id: MembershipId(self.new_id()),
            org: client,
            user,
            role,
            assigned_by: Some(msp),
            created_at: self.now(),
        };
        let target = Target::new(User::KIND, user);
        let details = json!({ "client": client, "role": role });
        let mut changes = ChangeSet::new();
        changes.insert(&membership)?;
        // Written back unchanged, so the assignment commits only if the MSP
        // membership it relies on is still the one read: a concurrent removal
        // or role change (which ends assignments) conflicts instead of
        // leaving an assignment behind.
        changes.update(&staff)?;
        changes.audit_all(self.msp_and_client_events(
            principal,
            &grant,
            client,
            ["staff.assigned", "staff.assigned"],
            target,
            details,
        ));
        self.store().apply(changes).await.map_err(already_member)?;
        Ok(membership)
    }

    /// Takes back an assignment this MSP made. Memberships the client granted
    /// itself are not the MSP's to remove this way.
    pub async fn unassign_staff(
        &self,
        principal: &Principal,
        msp: OrgId,
        client: OrgId,
        user: UserId,
    ) -> Result<()> {
        let grant = self
            .authorize_all(principal, msp, Permission::StaffAssign)
            .await?;
        let client_org = self.client_of(msp, client).await?;
        let membership = match self.membership(client, user).await? {
            Some(m) if m.value.assigned_by == Some(msp) => m,
            _ => {
                return Err(Error::NotFound {
                    what: "staff assignment",
                });
            }
        };
        let target = Target::new(User::KIND, user);
        let details = json!({ "client": client, "role": membership.value.role });
        let mut changes = ChangeSet::new();
        // The client may have made the assignment its org_admin.
        self.admin_remains(&client_org, user, None, &mut changes)
            .await?;
        changes.delete(&membership);
        changes.audit_all(self.msp_and_client_events(
            principal,
            &grant,
            client,
            ["staff.unassigned", "staff.unassigned"],
            target,
            details,
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// Applies a whole staff grid in one commit: each cell that differs
    /// from what the MSP assigned becomes an assignment made, ended or
    /// given another role, each with its events in both chains. Either
    /// every change lands or none does: a cell that cannot be applied is a
    /// validation error named `cells[i]` (its index in `cells`), and a
    /// concurrent change to any membership read is a `Conflict`. A client's
    /// own memberships are not the MSP's to change. Returns how many
    /// assignments changed.
    pub async fn set_staff_grid(
        &self,
        principal: &Principal,
        msp: OrgId,
        cells: &[StaffCell],
    ) -> Result<usize> {
        let grant = self
            .authorize_all(principal, msp, Permission::StaffAssign)
            .await?;
        let mut clients: std::collections::HashMap<OrgId, Organization> = Default::default();
        let mut pinned: std::collections::HashSet<UserId> = Default::default();
        let mut problems = Vec::new();
        let mut changes = ChangeSet::new();
        let mut changed = 0;
        for (i, cell) in cells.iter().enumerate() {
            let field = format!("cells[{i}]");
            let client = match clients.get(&cell.client) {
                Some(c) => c.clone(),
                None => {
                    let c = self.client_of(msp, cell.client).await?;
                    clients.insert(cell.client, c.clone());
                    c
                }
            };
            let current = self.membership(cell.client, cell.user).await?;
            if current
                .as_ref()
                .is_some_and(|m| m.value.assigned_by != Some(msp))
            {
                problems.push(FieldError::new(
                    field,
                    "a member the client added itself: change it in the client’s members",
                ));
                continue;
            }
            if current.as_ref().map(|m| m.value.role) == cell.role {
                continue;
            }
            if current
                .as_ref()
                .is_some_and(|m| check_staff_role(m.value.role).is_err())
            {
                // The client gave an assignment another role (made the
                // person its admin, say): that is now the client's call.
                problems.push(FieldError::new(
                    field,
                    "the client changed this person's role here: change it in the client’s members",
                ));
                continue;
            }
            if let Some(role) = cell.role {
                if client.is_archived() {
                    problems.push(FieldError::new(
                        field,
                        "this client is archived: restore it before assigning staff to it",
                    ));
                    continue;
                }
                if let Err(Error::Validation(e)) = check_staff_role(role) {
                    problems.extend(
                        e.into_iter()
                            .map(|f| FieldError::new(field.clone(), f.message)),
                    );
                    continue;
                }
                let Some(staff) = self.membership(msp, cell.user).await? else {
                    problems.push(FieldError::new(
                        field,
                        "only members of the MSP can be assigned to its clients",
                    ));
                    continue;
                };
                if check_staff_role(staff.value.role).is_err() {
                    problems.push(FieldError::new(field, NOT_STAFF));
                    continue;
                }
                // The MSP membership the assignment relies on, asserted
                // once per person (see `assign_staff`).
                if pinned.insert(cell.user) {
                    changes.check(&staff);
                }
            }
            let target = Target::new(User::KIND, cell.user);
            let (actions, details) = match (current, cell.role) {
                (None, Some(role)) => {
                    changes.insert(&Membership {
                        id: MembershipId(self.new_id()),
                        org: cell.client,
                        user: cell.user,
                        role,
                        assigned_by: Some(msp),
                        created_at: self.now(),
                    })?;
                    (
                        ["staff.assigned"; 2],
                        json!({ "client": cell.client, "role": role }),
                    )
                }
                (Some(m), Some(role)) => {
                    let details =
                        json!({ "client": cell.client, "role": role, "from": m.value.role });
                    self.admin_remains(&client, cell.user, Some(role), &mut changes)
                        .await?;
                    let mut moved = m;
                    moved.value.role = role;
                    changes.update(&moved)?;
                    (["staff.role_changed"; 2], details)
                }
                (Some(m), None) => {
                    let details = json!({ "client": cell.client, "role": m.value.role });
                    self.admin_remains(&client, cell.user, None, &mut changes)
                        .await?;
                    changes.delete(&m);
                    (["staff.unassigned"; 2], details)
                }
                (None, None) => continue,
            };
            changes.audit_all(self.msp_and_client_events(
                principal,
                &grant,
                cell.client,
                actions,
                target,
                details,
            ));
            changed += 1;
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        if changed > 0 {
            self.store().apply(changes).await.map_err(already_member)?;
        }
        Ok(changed)
    }

    /// Tenant switching: every org the caller can act in, with the roles they
    /// hold there: their own memberships plus, for MSP admins, the MSP's
    /// clients. Platform operators list every org with
    /// [`Regentra::list_organizations`] instead. Two reads, however many
    /// memberships (see [`Regentra::reach`]).
    pub async fn my_organizations(&self, principal: &Principal) -> Result<Vec<OrgAccess>> {
        Ok(self.reach(principal.user).await?.organizations())
    }

    /// The caller's account, the orgs they can act in and the MFA
    /// requirements of those orgs, from one resolution of what they reach:
    /// three reads, however many memberships (what `GET /v1/me` shows).
    pub async fn me(&self, principal: &Principal) -> Result<Me> {
        let reach = self.reach(principal.user).await?;
        let mfa_required = self.requirements_in(&reach).await?;
        Ok(Me {
            organizations: reach.organizations(),
            account: reach.account,
            mfa_required,
        })
    }

    /// The orgs the caller may work in now, with their roles there: what
    /// they reach (memberships and, for an MSP's staff, its clients), less
    /// any org requiring a second factor they have not set up past their
    /// grace period (its own operations would refuse them). Where the lists
    /// across orgs (the ticket queue, the chats) start.
    pub(crate) async fn orgs_at_work(&self, principal: &Principal) -> Result<Vec<OrgAccess>> {
        let reach = self.reach(principal.user).await?;
        let locked: std::collections::BTreeSet<OrgId> = if reach.account.mfa {
            std::collections::BTreeSet::new()
        } else {
            let now = self.now();
            self.requirements_in(&reach)
                .await?
                .into_iter()
                .filter(|r| r.deadline <= now)
                .map(|r| r.org_id)
                .collect()
        };
        Ok(reach
            .organizations()
            .into_iter()
            .filter(|access| !locked.contains(&access.org.id))
            .collect())
    }

    /// The caller's account, memberships and the orgs they reach: one batch
    /// for the account and its memberships, one for their orgs (all at once)
    /// and the clients of the MSPs they administer; more only past
    /// [`store::MAX_PAGE`] memberships or clients of one MSP.
    pub(crate) async fn reach(&self, user: UserId) -> Result<Reach> {
        let by_user = |after| Read::Find {
            scope: Scope::Platform,
            kind: Membership::KIND.to_owned(),
            index: "user".to_owned(),
            value: user.to_string(),
            page: PageRequest::after(after, store::MAX_PAGE),
        };
        let mut found = Answers::new(
            self.store()
                .read(vec![
                    Read::Get {
                        scope: Scope::Platform,
                        kind: User::KIND.to_owned(),
                        id: user.0,
                    },
                    by_user(None),
                ])
                .await?,
        );
        let account = found
            .next()?
            .one::<User>()?
            .ok_or(Error::NotFound { what: User::NAME })?;
        let mut memberships = found.next()?.many::<Membership>()?;
        let mut page = memberships.len();
        while page == store::MAX_PAGE {
            let after = memberships.last().map(|m| m.value.id.0);
            let more = store::find::<Membership>(
                self.store(),
                Scope::Platform,
                "user",
                &user.to_string(),
                PageRequest::after(after, store::MAX_PAGE),
            )
            .await?;
            page = more.len();
            memberships.extend(more);
        }
        let ids: Vec<Uuid> = memberships.iter().map(|m| m.value.org.0).collect();
        let administered: Vec<OrgId> = memberships
            .iter()
            .filter(|m| m.value.role == Role::MspAdmin)
            .map(|m| m.value.org)
            .collect();
        let clients_of = |msp: OrgId, after| Read::Find {
            scope: Scope::Platform,
            kind: Organization::KIND.to_owned(),
            index: "parent".to_owned(),
            value: msp.to_string(),
            page: PageRequest::after(after, store::MAX_PAGE),
        };
        let mut reads = vec![Read::GetMany {
            scope: Scope::Platform,
            kind: Organization::KIND.to_owned(),
            ids,
        }];
        reads.extend(administered.iter().map(|msp| clients_of(*msp, None)));
        let mut found = Answers::new(self.store().read(reads).await?);
        let mut orgs: Vec<Organization> = found
            .next()?
            .each::<Organization>()?
            .into_iter()
            .flatten()
            .map(|o| o.value)
            .collect();
        for msp in administered {
            let mut clients = found.next()?.many::<Organization>()?;
            while clients.len() == store::MAX_PAGE {
                orgs.extend(clients.drain(..).map(|c| c.value));
                let after = orgs.last().map(|o| o.id.0);
                clients = store::find::<Organization>(
                    self.store(),
                    Scope::Platform,
                    "parent",
                    &msp.to_string(),
                    PageRequest::after(after, store::MAX_PAGE),
                )
                .await?;
            }
            orgs.extend(values(clients));
        }
        // An archived client is nobody's to act in until it is restored.
        orgs.retain(|o| !o.is_archived());
        orgs.sort_by_key(|o| o.id);
        orgs.dedup_by_key(|o| o.id);
        Ok(Reach {
            account: account.value,
            memberships: values(memberships),
            orgs,
        })
    }

    /// A page of the org's audit events in chain order, filtered by time
    /// and actor (see [`AuditQuery`]).
    pub async fn audit_log(
        &self,
        principal: &Principal,
        org: OrgId,
        query: AuditQuery,
    ) -> Result<Listing<AuditEvent, u64>> {
        self.authorize_all(principal, org, Permission::AuditRead)
            .await?;
        audit_page(self.store(), org, &query).await
    }

    /// A page of the platform's own audit chain ([`audit::PLATFORM_CHAIN`]:
    /// accounts, passwords, new tenants, refused attaches of existing
    /// accounts) after `after`, for platform operators only.
    pub async fn platform_audit_log(
        &self,
        principal: &Principal,
        query: AuditQuery,
    ) -> Result<Listing<AuditEvent, u64>> {
        self.authorize_platform(principal).await?;
        audit_page(self.store(), audit::PLATFORM_CHAIN, &query).await
    }

    /// Verifies the org's audit chain and reports the first broken link.
    ///
    /// [`ChainVerification::SinceCheckpoint`] reads only the events after the
    /// org's [`AuditCheckpoint`] (the last event an earlier verification
    /// found sound) and that event itself: it detects an edit, removal,
    /// reorder or foreign event after the checkpoint, an edit of the
    /// checkpoint's event and a chain cut short below it, but not an edit
    /// of an earlier event, which only [`ChainVerification::Full`] (every
    /// event from the first) finds. A verification that finds no break
    /// moves the checkpoint to the chain's last event; a full one that
    /// finds a break at or before the checkpoint removes it, so that the
    /// next verifications read from the start and report the break too.
    /// The checkpoint is bookkeeping of the verification, not a change
    /// anyone makes, so it writes no audit event (one would make every
    /// verification grow the chain it verifies).
    pub async fn verify_audit_chain(
        &self,
        principal: &Principal,
        org: OrgId,
        how: ChainVerification,
    ) -> Result<ChainReport> {
        self.authorize_all(principal, org, Permission::AuditVerify)
            .await?;
        let stored = store::load::<AuditCheckpoint>(self.store(), Scope::Org(org), org.0).await?;
        let start = match how {
            ChainVerification::SinceCheckpoint => stored.as_ref().map(|c| c.value.head()),
            ChainVerification::Full => None,
        };
        let (events, mut result) = match &start {
            Some(head) => {
                let events =
                    store::audit_chain_after(self.store(), org, head.seq.checked_sub(1)).await?;
                let result = audit::verify_from_checkpoint(org, head, &events);
                (events, result)
            }
            None => {
                let events = store::audit_chain(self.store(), org).await?;
                let result = audit::verify(org, &events);
                (events, result)
            }
        };
        // A full read also holds the checkpoint to the chain: a chain cut
        // short below it, or its event re-sealed, broke what was verified.
        if result.is_ok()
            && start.is_none()
            && let Some(checkpoint) = &stored
            && let Err(broken) = checkpoint_still_holds(&checkpoint.value, &events)
        {
            result = Err(broken);
        }
        let last = events.last().map(AuditEvent::head);
        let mut changes = ChangeSet::new();
        match (&result, &stored, &last) {
            (Ok(()), Some(checkpoint), Some(last)) if last.seq > checkpoint.value.seq => {
                let mut moved = checkpoint.clone();
                moved.value.seq = last.seq;
                moved.value.hash = last.hash.clone();
                moved.value.verified_at = self.now();
                changes.update(&moved)?;
            }
            (Ok(()), None, Some(last)) => {
                changes.insert(&AuditCheckpoint {
                    org,
                    seq: last.seq,
                    hash: last.hash.clone(),
                    verified_at: self.now(),
                })?;
            }
            (Err(broken), Some(checkpoint), _)
                if how == ChainVerification::Full && broken.seq <= checkpoint.value.seq =>
            {
                changes.delete(checkpoint);
            }
            _ => {}
        }
        if !changes.is_empty() {
            match self.store().apply(changes).await {
                // A concurrent verification moved the checkpoint first:
                // theirs stands, this report is still true.
                Ok(_) | Err(Error::Conflict { .. } | Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ChainReport {
            events: last.as_ref().map_or(0, |h| h.seq),
            checked: events.len() as u64,
            from_checkpoint: start.map(|h| h.seq),
            head: last.map(|h| h.hash),
            first_break: result.err(),
        })
    }

    /// An MSP action on one of its clients is written to both chains: the
    /// MSP's (as itself) and the client's (as a delegated action).
    fn msp_and_client_events(
        &self,
        principal: &Principal,
        grant: &Grant,
        client: OrgId,
        [msp_action, client_action]: [&str; 2],
        target: Target,
        details: serde_json::Value,
    ) -> [Audited; 2] {
        [
            self.event(
                principal,
                grant,
                msp_action,
                target.clone(),
                details.clone(),
            ),
            self.event(
                principal,
                &delegated(grant, client),
                client_action,
                target,
                details,
            ),
        ]
    }

    /// Whether the caller is a platform operator (the flag on the account,
    /// whatever role the call's grant came from).
    async fn is_platform_operator(&self, principal: &Principal) -> Result<bool> {
        Ok(
            store::load::<User>(self.store(), Scope::Platform, principal.user.0)
                .await?
                .is_some_and(|u| u.value.super_admin),
        )
    }

    /// Applies [`check_admin_remains`] to a change of `user`'s membership in
    /// `org`. When other admins remain, their memberships are written back
    /// unchanged in `changes`, so that two admins removing or demoting each
    /// other at once cannot both commit (the second finds a version moved).
    async fn admin_remains(
        &self,
        org: &Organization,
        user: UserId,
        new_role: Option<Role>,
        changes: &mut ChangeSet,
    ) -> Result<()> {
        let admin = super::admin_role(org.kind);
        let members = store::find_all::<Membership>(
            self.store(),
            Scope::Platform,
            "org",
            &org.id.to_string(),
        )
        .await?;
        let leaving = members
            .iter()
            .any(|m| m.value.user == user && m.value.role == admin);
        if !leaving || new_role == Some(admin) {
            return Ok(());
        }
        let others: Vec<_> = members
            .iter()
            .filter(|m| m.value.user != user && m.value.role == admin)
            .collect();
        let msp_has_admin = match (org.kind, org.parent, others.is_empty()) {
            (OrgKind::Client, Some(msp), true) => store::find_all::<Membership>(
                self.store(),
                Scope::Platform,
                "org",
                &msp.to_string(),
            )
            .await?
            .iter()
            .any(|m| m.value.role == Role::MspAdmin),
            _ => false,
        };
        let plain: Vec<Membership> = members.iter().map(|m| m.value.clone()).collect();
        check_admin_remains(org.kind, &plain, user, new_role, msp_has_admin)?;
        for other in others {
            changes.update(other)?;
        }
        Ok(())
    }

    /// Ends every client membership the MSP of `grant` assigned to `user`
    /// (they left the MSP, or took a role that cannot be assigned), each
    /// recorded in its client's chain; the clients, for the MSP's event.
    async fn end_assignments(
        &self,
        principal: &Principal,
        grant: &Grant,
        user: UserId,
        cause: &str,
        changes: &mut ChangeSet,
    ) -> Result<Vec<OrgId>> {
        let msp = grant.org;
        let mut clients = Vec::new();
        for assigned in
            store::find_all::<Membership>(self.store(), Scope::Platform, "user", &user.to_string())
                .await?
        {
            let m = &assigned.value;
            if m.assigned_by != Some(msp) || m.org == msp {
                continue;
            }
            changes.delete(&assigned);
            changes.audit(self.event(
                principal,
                &delegated(grant, m.org),
                "staff.unassigned",
                Target::new(User::KIND, user),
                json!({ "client": m.org, "role": m.role, "cause": cause }),
            ));
            clients.push(m.org);
        }
        Ok(clients)
    }

    pub(crate) async fn organization(&self, org: OrgId) -> Result<Organization> {
        Ok(
            store::require::<Organization>(self.store(), Scope::Platform, org.0)
                .await?
                .value,
        )
    }

    /// `client` must be a client of `msp`; any other org is reported missing.
    async fn client_of(&self, msp: OrgId, client: OrgId) -> Result<Organization> {
        match store::load::<Organization>(self.store(), Scope::Platform, client.0).await? {
            Some(org) if org.value.parent == Some(msp) => Ok(org.value),
            _ => Err(Error::NotFound {
                what: Organization::NAME,
            }),
        }
    }

    async fn require_membership(&self, org: OrgId, user: UserId) -> Result<Versioned<Membership>> {
        self.membership(org, user).await?.ok_or(Error::NotFound {
            what: Membership::NAME,
        })
    }
}

fn values<T>(records: Vec<Versioned<T>>) -> Vec<T> {
    records.into_iter().map(|r| r.value).collect()
}

/// A platform operator's grant in a tenant it just created.
fn platform_grant(org: OrgId, permission: Permission, operator: &Versioned<User>) -> Grant {
    Grant {
        org,
        role: Role::SuperAdmin,
        via: Via::Platform,
        permission,
        access: crate::rbac::Access::All,
        basis: Some(crate::rbac::Basis {
            kind: User::KIND,
            id: operator.value.id.0,
            version: operator.version,
        }),
    }
}

/// The same caller acting in one of the MSP's clients: recorded in the
/// client's chain as a delegated action.
pub(crate) fn delegated(grant: &Grant, client: OrgId) -> Grant {
    let via = match grant.via {
        Via::Platform => Via::Platform,
        _ => Via::MspDelegation { msp: grant.org },
    };
    Grant {
        org: client,
        via,
        ..*grant
    }
}

/// A taken `org_user` key means the person is already a member.
/// Why an MSP member whose own role is not a staff role (an admin, a
/// viewer) cannot be assigned to a client: their access to clients comes
/// from that role, or they have none to lend.
const NOT_STAFF: &str =
    "only the MSP's technicians and compliance officers can be assigned to its clients";

fn already_member(error: Error) -> Error {
    match error {
        Error::AlreadyExists { field, .. } if field == "org_user" => already_member_error(),
        other => other,
    }
}

fn already_member_error() -> Error {
    Error::AlreadyExists {
        what: Membership::NAME,
        field: "user".into(),
    }
}

/// A page request over an audit chain: events after the sequence number
/// `after`, at `from` or later and before `to`, by one actor, of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub after: Option<u64>,
    /// Events at this instant or later.
    pub from: Option<DateTime<Utc>>,
    /// Events before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Events this user acted in.
    pub actor: Option<UserId>,
    /// Events whose action starts with this (`ticket.` for every ticket
    /// event, `membership.role_changed` for one action).
    pub kind: Option<String>,
    pub limit: usize,
}

impl AuditQuery {
    /// Every event after `after`, `limit` at a time.
    pub fn after(after: Option<u64>, limit: usize) -> Self {
        Self {
            after,
            from: None,
            to: None,
            actor: None,
            kind: None,
            limit,
        }
    }
}

/// How many events one page of an actor-filtered audit list reads at most
/// before it answers (with fewer items and a cursor to go on from).
pub const AUDIT_SCAN_BUDGET: usize = 10 * store::MAX_PAGE;

/// One page of `query` over the chain of `org`.
///
/// The chain is stored by sequence number, and events are sealed in the
/// order their operations commit, each stamped with the clock when its
/// operation ran: times rise along the chain (two operations in flight at
/// once may swap by the time of one commit). So a time range is a range
/// of sequence numbers: its start is found by a galloping then binary
/// search over single-event reads (about 2 log2(n) reads of one event),
/// and the walk stops at the first event at or past `to`. Each event's time
/// is still checked, so nothing outside the range is returned. The actor
/// and the kind have no index: the walk filters them, reading at most
/// [`AUDIT_SCAN_BUDGET`] events per page; a page that used its budget
/// answers what it found with a cursor to go on from, so a rare actor in a
/// long range costs several requests, each bounded.
async fn audit_page(
    store: &dyn Store,
    org: OrgId,
    query: &AuditQuery,
) -> Result<Listing<AuditEvent, u64>> {
    let limit = query.limit.clamp(1, store::MAX_PAGE);
    let mut after = query.after;
    if let Some(from) = query.from {
        let start = first_at_or_after(store, org, from).await?;
        after = after.max(start.checked_sub(1));
    }
    let filtered = query.actor.is_some() || query.kind.is_some();
    let batch = if filtered { store::MAX_PAGE } else { limit };
    let mut items = Vec::with_capacity(limit);
    let mut scanned = 0usize;
    loop {
        let events = store.audit_events(org, after, batch).await?;
        let exhausted = events.len() < batch;
        for event in events {
            scanned += 1;
            after = Some(event.seq);
            if query.to.is_some_and(|to| event.at >= to) {
                return Ok(Listing { items, next: None });
            }
            let in_range = query.from.is_none_or(|from| event.at >= from);
            let by_actor = query.actor.is_none_or(|a| event.actor.user == Some(a));
            let of_kind = query
                .kind
                .as_deref()
                .is_none_or(|kind| event.action.starts_with(kind));
            if in_range && by_actor && of_kind {
                items.push(event);
                if items.len() == limit {
                    return Ok(Listing { items, next: after });
                }
            }
        }
        if exhausted {
            return Ok(Listing { items, next: None });
        }
        if scanned >= AUDIT_SCAN_BUDGET {
            return Ok(Listing { items, next: after });
        }
    }
}

/// The sequence number of the first event of the chain at `from` or later
/// (one past the last event when there is none).
async fn first_at_or_after(store: &dyn Store, org: OrgId, from: DateTime<Utc>) -> Result<u64> {
    // The event with sequence number `seq`, if the chain has it.
    let at = |seq: u64| async move {
        Ok::<_, Error>(
            store
                .audit_events(org, seq.checked_sub(1), 1)
                .await?
                .into_iter()
                .next()
                .map(|e| e.at),
        )
    };
    // Gallop: the first power of two whose event is at `from` or later (or
    // past the end), then search between it and the previous one.
    let (mut lo, mut hi) = (0u64, 1u64);
    loop {
        match at(hi).await? {
            Some(t) if t < from => {
                lo = hi;
                hi = hi.saturating_mul(2);
            }
            _ => break,
        }
    }
    // Invariant: event `lo` (if lo > 0) is before `from`; event `hi` is at
    // `from` or later, or missing.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match at(mid).await? {
            Some(t) if t < from => lo = mid,
            _ => hi = mid,
        }
    }
    Ok(hi)
}

/// Whether a chain read in full still has the checkpoint's event, unchanged.
fn checkpoint_still_holds(
    checkpoint: &AuditCheckpoint,
    events: &[AuditEvent],
) -> std::result::Result<(), ChainBreak> {
    let at_checkpoint = |problem| ChainBreak {
        seq: checkpoint.seq,
        problem,
    };
    let index = usize::try_from(checkpoint.seq.saturating_sub(1)).unwrap_or(usize::MAX);
    match events.get(index) {
        None => Err(at_checkpoint(BreakKind::Sequence {
            found: events.last().map_or(0, |e| e.seq),
        })),
        Some(event) if event.hash != checkpoint.hash => Err(at_checkpoint(BreakKind::Content)),
        Some(_) => Ok(()),
    }
}
