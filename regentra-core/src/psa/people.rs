//! The people a ticket can name: who may be given it (its assignee) and
//! for whom staff may open one (its requester). What a staff screen's
//! choosers list, decided by the same rules the operations apply, so a
//! list never offers someone the operation would refuse.

use crate::Principal;
use crate::error::Result;
use crate::ids::{OrgId, UserId};
use crate::rbac::{self, Access, Permission, Role};
use crate::service::Regentra;
use crate::store::{self, Scope};
use crate::tenancy::{Membership, Organization, User};

/// Someone a chooser lists.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    pub user: UserId,
    pub name: String,
    pub email: String,
}

impl Regentra {
    /// Who may be assigned the org's tickets: its members whose role
    /// manages every ticket (admins, technicians) and, for a client, its
    /// MSP's admins (who hold a client admin's rights there), by name.
    /// The rule of [`Regentra::assign_ticket`]. Needs `tickets.manage`.
    /// Reads: the org, its members, its MSP's members, their accounts.
    pub async fn ticket_assignees(&self, principal: &Principal, org: OrgId) -> Result<Vec<Person>> {
        self.authorize_all(principal, org, Permission::TicketsManage)
            .await?;
        let organization = store::require::<Organization>(self.store(), Scope::Platform, org.0)
            .await?
            .value;
        let works_tickets =
            |role: Role| rbac::decide(role, Permission::TicketsManage) == Access::All;
        let mut users: Vec<UserId> = self
            .members_of(org)
            .await?
            .into_iter()
            .filter(|m| works_tickets(m.role))
            .map(|m| m.user)
            .collect();
        if let Some(msp) = organization.parent {
            users.extend(
                self.members_of(msp)
                    .await?
                    .into_iter()
                    .filter(|m| m.role == Role::MspAdmin)
                    .map(|m| m.user),
            );
        }
        self.people(users).await
    }

    /// For whom staff may open a ticket of the org: its members who may
    /// submit tickets (every role but viewer), by name. Needs
    /// `tickets.manage`.
    pub async fn ticket_requesters(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<Vec<Person>> {
        self.authorize_all(principal, org, Permission::TicketsManage)
            .await?;
        let users = self
            .members_of(org)
            .await?
            .into_iter()
            .filter(|m| rbac::decide(m.role, Permission::TicketsSubmit).is_allowed())
            .map(|m| m.user)
            .collect();
        self.people(users).await
    }

    /// The names of those of `users` who are the org's people: its members
    /// and, for a client, its MSP's (the staff who work it): what a staff
    /// page shows for the ids it holds (a requester, an assignee, the
    /// author of a change), read for those ids only, never the whole
    /// membership. Anyone else named is left out (the page says
    /// "someone"). For those who read every ticket of the org.
    pub async fn people_named(
        &self,
        principal: &Principal,
        org: OrgId,
        users: &[UserId],
    ) -> Result<Vec<Person>> {
        self.authorize_all(principal, org, Permission::TicketsRead)
            .await?;
        let organization = store::require::<Organization>(self.store(), Scope::Platform, org.0)
            .await?
            .value;
        let mut wanted = users.to_vec();
        wanted.sort();
        wanted.dedup();
        // A page names a few dozen people at most; more is a caller's
        // mistake, not a reason to read on.
        wanted.truncate(store::MAX_PAGE);
        let mut known = Vec::new();
        for user in wanted {
            if self.works_for(&organization, user).await? {
                known.push(user);
            }
        }
        self.people(known).await
    }

    /// Who may own a control of the org: its members, whatever their role
    /// (an MSP's staff assigned to it included), by name. Whoever reads the
    /// org's controls reads who could own them.
    pub async fn control_owners(&self, principal: &Principal, org: OrgId) -> Result<Vec<Person>> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        let users = self
            .members_of(org)
            .await?
            .into_iter()
            .map(|m| m.user)
            .collect();
        self.people(users).await
    }

    async fn members_of(&self, org: OrgId) -> Result<Vec<Membership>> {
        Ok(
            store::find_all::<Membership>(self.store(), Scope::Platform, "org", &org.to_string())
                .await?
                .into_iter()
                .map(|m| m.value)
                .collect(),
        )
    }

    /// The accounts of `users` (once each, in one read), by name.
    async fn people(&self, mut users: Vec<UserId>) -> Result<Vec<Person>> {
        users.sort();
        users.dedup();
        let ids: Vec<uuid::Uuid> = users.iter().map(|u| u.0).collect();
        let mut people: Vec<Person> = store::load_many::<User>(self.store(), Scope::Platform, &ids)
            .await?
            .into_iter()
            .flatten()
            .map(|u| Person {
                user: u.value.id,
                name: u.value.display_name,
                email: u.value.email,
            })
            .collect();
        // A membership whose account is gone names nobody: left out.
        people.sort_by_cached_key(|p| (p.name.to_lowercase(), p.email.clone()));
        Ok(people)
    }
}
