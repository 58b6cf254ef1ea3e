//! Tenancy operations: creating tenants, managing members, assigning MSP
//! staff to clients, and listing the orgs a user can act in.

use serde::Serialize;
use serde_json::json;

use super::{
    Membership, OrgKind, Organization, User, candidate_roles, check_member_role, check_staff_role,
    normalize_email, validate_name,
};
use crate::audit::{self, AuditDraft, AuditEvent, ChainBreak, Target};
use crate::error::{Error, Result};
use crate::ids::{MembershipId, OrgId, UserId};
use crate::rbac::{Grant, Permission, Role, Via};
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, PageRequest, Scope, Versioned};

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

/// The result of verifying an org's audit chain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub events: u64,
    pub head: Option<String>,
    pub first_break: Option<ChainBreak>,
}

impl Regentra {
    /// Creates the platform's first operator on an empty platform. Refused
    /// (`AlreadyExists`) once any platform operator exists.
    pub async fn bootstrap_platform_admin(&self, email: &str, display_name: &str) -> Result<User> {
        let email = normalize_email(email)?;
        let display_name = validate_name("display_name", display_name)?;
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
            created_at: self.now(),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&user)?;
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
        self.authorize_platform(principal).await?;
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
        let grant = platform_grant(org.id, Permission::TenantsManage);
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
        };
        let target = Target::new(Organization::KIND, client.id);
        let details = json!({ "name": client.name, "msp": msp });
        let mut changes = ChangeSet::new();
        changes.insert(&client)?;
        changes.audit.extend(self.msp_and_client_events(
            principal,
            &grant,
            client.id,
            ["client.created", "organization.created"],
            target,
            details,
        ));
        self.store().apply(changes).await?;
        Ok(client)
    }

    /// The MSP's clients, in creation order.
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
    /// if the email is new.
    pub async fn add_member(
        &self,
        principal: &Principal,
        org: OrgId,
        email: &str,
        display_name: &str,
        role: Role,
    ) -> Result<Membership> {
        self.add_member_with_password(principal, org, email, display_name, role, None)
            .await
    }

    /// [`Self::add_member`], giving a user created by this call an initial
    /// password (an argon2id PHC string from [`Regentra::hash_password`],
    /// hashed by the caller off its async threads). An existing user keeps
    /// their credential: one org's admin never resets another org's user.
    pub async fn add_member_with_password(
        &self,
        principal: &Principal,
        org: OrgId,
        email: &str,
        display_name: &str,
        role: Role,
        password_hash: Option<String>,
    ) -> Result<Membership> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        let organization = self.organization(org).await?;
        check_member_role(organization.kind, role)?;
        let email = normalize_email(email)?;
        let mut changes = ChangeSet::new();
        let user = match store::find_unique::<User>(self.store(), Scope::Platform, "email", &email)
            .await?
        {
            Some(user) => user.value,
            None => {
                let user = User {
                    id: UserId(self.new_id()),
                    email,
                    display_name: validate_name("display_name", display_name)?,
                    super_admin: false,
                    created_at: self.now(),
                };
                changes.insert(&user)?;
                let initial_password = password_hash.is_some();
                if let Some(hash) = password_hash {
                    changes.insert(&crate::auth::Credential::initial(
                        user.id,
                        hash,
                        self.now(),
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
        Ok(membership)
    }

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
        check_member_role(self.organization(org).await?.kind, role)?;
        let mut membership = self.require_membership(org, user).await?;
        let old = std::mem::replace(&mut membership.value.role, role);
        let mut changes = ChangeSet::new();
        changes.update(&membership)?;
        changes.audit(self.event(
            principal,
            &grant,
            "membership.role_changed",
            Target::new(User::KIND, user),
            json!({ "from": old, "to": role }),
        ));
        self.store().apply(changes).await?;
        Ok(membership.value)
    }

    pub async fn remove_member(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
    ) -> Result<()> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        let membership = self.require_membership(org, user).await?;
        let mut changes = ChangeSet::new();
        changes.delete(&membership);
        changes.audit(self.event(
            principal,
            &grant,
            "membership.removed",
            Target::new(User::KIND, user),
            json!({ "role": membership.value.role }),
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
        self.client_of(msp, client).await?;
        check_staff_role(role)?;
        if self.membership(msp, user).await?.is_none() {
            return Err(Error::invalid(
                "user",
                "only members of the MSP can be assigned to its clients",
            ));
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
        changes.audit.extend(self.msp_and_client_events(
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
        self.client_of(msp, client).await?;
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
        changes.delete(&membership);
        changes.audit.extend(self.msp_and_client_events(
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

    /// Tenant switching: every org the caller can act in, with the roles they
    /// hold there: their own memberships plus, for MSP admins, the MSP's
    /// clients. Platform operators list every org with
    /// [`Regentra::list_organizations`] instead.
    pub async fn my_organizations(&self, principal: &Principal) -> Result<Vec<OrgAccess>> {
        let user = store::require::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .value;
        let memberships = store::find_all::<Membership>(
            self.store(),
            Scope::Platform,
            "user",
            &user.id.to_string(),
        )
        .await?;
        let mut orgs: Vec<Organization> = Vec::new();
        for m in &memberships {
            orgs.push(self.organization(m.value.org).await?);
            if m.value.role == Role::MspAdmin {
                let clients = store::find_all::<Organization>(
                    self.store(),
                    Scope::Platform,
                    "parent",
                    &m.value.org.to_string(),
                )
                .await?;
                orgs.extend(values(clients));
            }
        }
        orgs.sort_by_key(|o| o.id);
        orgs.dedup_by_key(|o| o.id);
        let plain_user = User {
            super_admin: false,
            ..user
        };
        let find = |org: OrgId| memberships.iter().map(|m| &m.value).find(|m| m.org == org);
        Ok(orgs
            .into_iter()
            .map(|org| {
                let own = find(org.id);
                let parent = org.parent.and_then(find);
                let roles = candidate_roles(&plain_user, &org, own, parent)
                    .into_iter()
                    .map(|(role, via)| RoleGrant { role, via })
                    .collect();
                OrgAccess { org, roles }
            })
            .collect())
    }

    /// A page of the org's audit events after `after` (a sequence number).
    pub async fn audit_log(
        &self,
        principal: &Principal,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        self.authorize_all(principal, org, Permission::AuditRead)
            .await?;
        self.store()
            .audit_events(org, after, limit.clamp(1, store::MAX_PAGE))
            .await
    }

    /// Recomputes the org's whole audit chain and reports the first broken link.
    pub async fn verify_audit_chain(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<ChainReport> {
        self.authorize_all(principal, org, Permission::AuditVerify)
            .await?;
        let events = store::audit_chain(self.store(), org).await?;
        Ok(ChainReport {
            events: events.len() as u64,
            head: events.last().map(|e| e.hash.clone()),
            first_break: audit::verify(org, &events).err(),
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
    ) -> [AuditDraft; 2] {
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

    async fn organization(&self, org: OrgId) -> Result<Organization> {
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
fn platform_grant(org: OrgId, permission: Permission) -> Grant {
    Grant {
        org,
        role: Role::SuperAdmin,
        via: Via::Platform,
        permission,
        access: crate::rbac::Access::All,
    }
}

/// The same caller acting in one of the MSP's clients: recorded in the
/// client's chain as a delegated action.
fn delegated(grant: &Grant, client: OrgId) -> Grant {
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
fn already_member(error: Error) -> Error {
    match error {
        Error::AlreadyExists { field, .. } if field == "org_user" => Error::AlreadyExists {
            what: Membership::NAME,
            field: "user".into(),
        },
        other => other,
    }
}
