//! The tenant-isolation model: random sequences of tenancy operations by
//! random users holding random per-org roles, run against the services on a
//! real store and checked after every step against an independent model.
//!
//! The world: MSP `M1` with clients `C1`, `C2`; a standalone org `S`; and a
//! second MSP `M2` with client `C3`, so that "an MSP admin reaches its own
//! clients and no one else's" is exercised from both sides. After each step:
//! - the outcome (allowed, hidden as not found, denied, invalid, duplicate,
//!   or accepted without attaching: an existing account added by anyone but
//!   the operator) is the one the model predicts from the matrix of
//!   [`crate::rbac::decide`], the last-admin rule and the end of an MSP's
//!   assignments when its staff leave;
//! - a refused operation left every org's records and audit chain unchanged;
//! - every org's members, as stored, equal the model's, and nothing listed
//!   under one org belongs to another; every chain verifies and holds only
//!   its own org's events;
//! - a successful mutation appended an event to its org's chain.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use uuid::Uuid;

use super::services::platform;
use crate::audit::{self, AuditEvent, ChainHead};
use crate::error::Error;
use crate::ids::{OrgId, UserId};
use crate::rbac::{Permission, Role, decide};
use crate::service::{Principal, Regentra};
use crate::store::{self, PageRequest, Scope, Store, StoredRecord};
use crate::tenancy::{Membership, OrgKind};

/// Orgs of the world, by index: M1, C1, C2, S, M2, C3.
pub const ORGS: usize = 6;
const KINDS: [OrgKind; ORGS] = [
    OrgKind::Msp,
    OrgKind::Client,
    OrgKind::Client,
    OrgKind::Standalone,
    OrgKind::Msp,
    OrgKind::Client,
];
const PARENTS: [Option<usize>; ORGS] = [None, Some(0), Some(0), None, None, Some(4)];

/// People of the world, by index; the last one is the platform operator.
pub const USERS: usize = 7;
const OPERATOR: usize = USERS - 1;

/// One step: an actor (index into the users) does something in an org.
#[derive(Debug, Clone)]
pub enum Op {
    AddMember {
        actor: usize,
        org: usize,
        user: usize,
        role: Role,
    },
    ChangeRole {
        actor: usize,
        org: usize,
        user: usize,
        role: Role,
    },
    RemoveMember {
        actor: usize,
        org: usize,
        user: usize,
    },
    AssignStaff {
        actor: usize,
        msp: usize,
        client: usize,
        user: usize,
        role: Role,
    },
    UnassignStaff {
        actor: usize,
        msp: usize,
        client: usize,
        user: usize,
    },
    ListMembers {
        actor: usize,
        org: usize,
    },
    ReadAudit {
        actor: usize,
        org: usize,
    },
    Rename {
        actor: usize,
        org: usize,
    },
    ListClients {
        actor: usize,
        msp: usize,
    },
}

impl Op {
    /// The org whose data a successful mutation changes (and whose chain
    /// must record it); `None` for reads.
    fn mutated_org(&self) -> Option<usize> {
        match *self {
            Op::AddMember { org, .. }
            | Op::ChangeRole { org, .. }
            | Op::RemoveMember { org, .. }
            | Op::Rename { org, .. } => Some(org),
            Op::AssignStaff { client, .. } | Op::UnassignStaff { client, .. } => Some(client),
            Op::ListMembers { .. } | Op::ReadAudit { .. } | Op::ListClients { .. } => None,
        }
    }
}

fn role() -> impl Strategy<Value = Role> {
    proptest::sample::select(Role::ALL.to_vec())
}

/// Random operations; actors and targets range over every user and org, so
/// most steps probe a boundary and some succeed and change the world.
pub fn op() -> impl Strategy<Value = Op> {
    let u = 0..USERS;
    let o = 0..ORGS;
    prop_oneof![
        3 => (u.clone(), o.clone(), u.clone(), role())
            .prop_map(|(actor, org, user, role)| Op::AddMember { actor, org, user, role }),
        1 => (u.clone(), o.clone(), u.clone(), role())
            .prop_map(|(actor, org, user, role)| Op::ChangeRole { actor, org, user, role }),
        1 => (u.clone(), o.clone(), u.clone())
            .prop_map(|(actor, org, user)| Op::RemoveMember { actor, org, user }),
        3 => (u.clone(), o.clone(), o.clone(), u.clone(), role())
            .prop_map(|(actor, msp, client, user, role)| Op::AssignStaff { actor, msp, client, user, role }),
        1 => (u.clone(), o.clone(), o.clone(), u.clone())
            .prop_map(|(actor, msp, client, user)| Op::UnassignStaff { actor, msp, client, user }),
        2 => (u.clone(), o.clone()).prop_map(|(actor, org)| Op::ListMembers { actor, org }),
        1 => (u.clone(), o.clone()).prop_map(|(actor, org)| Op::ReadAudit { actor, org }),
        1 => (u.clone(), o.clone()).prop_map(|(actor, org)| Op::Rename { actor, org }),
        1 => (u, o).prop_map(|(actor, msp)| Op::ListClients { actor, msp }),
    ]
}

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    NotFound,
    Denied,
    Invalid,
    Duplicate,
    /// A member addition accepted without attaching anyone: an existing
    /// account added by someone other than the platform operator, whose
    /// owner is invited instead (the org's chain records the invitation).
    Accepted,
}

fn outcome<T>(result: &crate::Result<T>) -> Outcome {
    match result {
        Ok(_) => Outcome::Ok,
        Err(Error::NotFound { .. }) => Outcome::NotFound,
        Err(Error::PermissionDenied { .. }) => Outcome::Denied,
        Err(Error::Validation(_)) => Outcome::Invalid,
        Err(Error::AlreadyExists { .. }) => Outcome::Duplicate,
        Err(e) => panic!("unexpected error from the services: {e}"),
    }
}

/// The model: who holds which role where, and whether the MSP assigned it.
#[derive(Debug, Default, Clone, PartialEq)]
struct Model {
    members: BTreeMap<(usize, usize), (Role, Option<usize>)>,
}

impl Model {
    /// The roles `user` may act with in `org`, written from the prose of
    /// `docs/access-model.md`, independently of `tenancy::candidate_roles`.
    fn roles(&self, user: usize, org: usize) -> Vec<Role> {
        let mut roles = Vec::new();
        if let Some((role, _)) = self.members.get(&(org, user)) {
            roles.push(*role);
        }
        if let Some(parent) = PARENTS[org]
            && self.members.get(&(parent, user)).map(|m| m.0) == Some(Role::MspAdmin)
        {
            roles.push(Role::OrgAdmin);
        }
        if user == OPERATOR {
            roles.push(Role::SuperAdmin);
        }
        roles
    }

    /// The authorization outcome, or `None` when allowed with full access.
    fn gate(&self, user: usize, org: usize, permission: Permission) -> Option<Outcome> {
        let roles = self.roles(user, org);
        if roles.is_empty() {
            Some(Outcome::NotFound)
        } else if roles
            .iter()
            .any(|r| decide(*r, permission) == crate::rbac::Access::All)
        {
            None
        } else {
            Some(Outcome::Denied)
        }
    }

    fn valid_member_role(org: usize, role: Role) -> bool {
        role != Role::SuperAdmin && (role != Role::MspAdmin || KINDS[org] == OrgKind::Msp)
    }

    /// Predicts an operation's outcome and applies it to the model.
    fn step(&mut self, op: &Op) -> Outcome {
        match *op {
            Op::AddMember {
                actor,
                org,
                user,
                role,
            } => {
                if let Some(refused) = self.gate(actor, org, Permission::MembersManage) {
                    return refused;
                }
                if !Self::valid_member_role(org, role) {
                    return Outcome::Invalid;
                }
                if self.members.contains_key(&(org, user)) {
                    return Outcome::Duplicate;
                }
                // Every account of the world exists already: only the
                // operator attaches one.
                if actor != OPERATOR {
                    return Outcome::Accepted;
                }
                self.members.insert((org, user), (role, None));
                Outcome::Ok
            }
            Op::ChangeRole {
                actor,
                org,
                user,
                role,
            } => {
                if let Some(refused) = self.gate(actor, org, Permission::MembersManage) {
                    return refused;
                }
                if !Self::valid_member_role(org, role) {
                    return Outcome::Invalid;
                }
                if !self.members.contains_key(&(org, user)) {
                    return Outcome::NotFound;
                }
                if self.leaves_without_admin(org, user, Some(role)) {
                    return Outcome::Invalid;
                }
                if let Some(m) = self.members.get_mut(&(org, user)) {
                    m.0 = role;
                }
                if KINDS[org] == OrgKind::Msp && !Self::assignable(role) {
                    self.end_assignments(org, user);
                }
                Outcome::Ok
            }
            Op::RemoveMember { actor, org, user } => {
                if let Some(refused) = self.gate(actor, org, Permission::MembersManage) {
                    return refused;
                }
                if !self.members.contains_key(&(org, user)) {
                    return Outcome::NotFound;
                }
                if self.leaves_without_admin(org, user, None) {
                    return Outcome::Invalid;
                }
                self.members.remove(&(org, user));
                if KINDS[org] == OrgKind::Msp {
                    self.end_assignments(org, user);
                }
                Outcome::Ok
            }
            Op::AssignStaff {
                actor,
                msp,
                client,
                user,
                role,
            } => {
                if let Some(refused) = self.gate(actor, msp, Permission::StaffAssign) {
                    return refused;
                }
                if PARENTS[client] != Some(msp) {
                    return Outcome::NotFound;
                }
                if !Self::assignable(role) {
                    return Outcome::Invalid;
                }
                // Only the MSP's own staff are lent to its clients: a
                // member of the MSP as technician or compliance officer.
                match self.members.get(&(msp, user)) {
                    Some((held, _)) if Self::assignable(*held) => {}
                    _ => return Outcome::Invalid,
                }
                if self.members.contains_key(&(client, user)) {
                    return Outcome::Duplicate;
                }
                self.members.insert((client, user), (role, Some(msp)));
                Outcome::Ok
            }
            Op::UnassignStaff {
                actor,
                msp,
                client,
                user,
            } => {
                if let Some(refused) = self.gate(actor, msp, Permission::StaffAssign) {
                    return refused;
                }
                if PARENTS[client] != Some(msp) {
                    return Outcome::NotFound;
                }
                match self.members.get(&(client, user)) {
                    Some((_, Some(by))) if *by == msp => {
                        if self.leaves_without_admin(client, user, None) {
                            return Outcome::Invalid;
                        }
                        self.members.remove(&(client, user));
                        Outcome::Ok
                    }
                    _ => Outcome::NotFound,
                }
            }
            Op::ListMembers { actor, org } => self.gate_read(actor, org, Permission::OrgRead),
            Op::ReadAudit { actor, org } => self.gate_read(actor, org, Permission::AuditRead),
            Op::Rename { actor, org } => self
                .gate(actor, org, Permission::OrgManage)
                .unwrap_or(Outcome::Ok),
            Op::ListClients { actor, msp } => self
                .gate(actor, msp, Permission::TenantsManage)
                .unwrap_or(Outcome::Ok),
        }
    }

    /// The roles an MSP may assign its staff to a client with.
    fn assignable(role: Role) -> bool {
        matches!(role, Role::Technician | Role::ComplianceOfficer)
    }

    /// Whether the change (a new role, or `None` for a removal) would take
    /// the org's last admin away, written from the rule's doc: `msp_admin`
    /// in an MSP, `org_admin` elsewhere; a client whose MSP has an
    /// `msp_admin` is administered by it.
    fn leaves_without_admin(&self, org: usize, user: usize, new_role: Option<Role>) -> bool {
        let admin = if KINDS[org] == OrgKind::Msp {
            Role::MspAdmin
        } else {
            Role::OrgAdmin
        };
        let held = |o: usize, u: usize| self.members.get(&(o, u)).map(|m| m.0);
        if held(org, user) != Some(admin) || new_role == Some(admin) {
            return false;
        }
        let others = (0..USERS).any(|u| u != user && held(org, u) == Some(admin));
        let msp_admin = PARENTS[org]
            .is_some_and(|msp| (0..USERS).any(|u| held(msp, u) == Some(Role::MspAdmin)));
        let administered = others || (KINDS[org] == OrgKind::Client && msp_admin);
        !administered
    }

    /// `user` left the MSP or took a role it cannot assign: every client
    /// membership it assigned them ends.
    fn end_assignments(&mut self, msp: usize, user: usize) {
        self.members
            .retain(|(o, u), (_, by)| !(*u == user && *by == Some(msp) && *o != msp));
    }

    fn gate_read(&self, user: usize, org: usize, permission: Permission) -> Outcome {
        self.gate(user, org, permission).unwrap_or(Outcome::Ok)
    }

    fn members_of(&self, org: usize) -> Vec<(usize, Role)> {
        self.members
            .iter()
            .filter(|((o, _), _)| *o == org)
            .map(|((_, u), (role, _))| (*u, *role))
            .collect()
    }
}

/// A world built on a store: real ids for the model's indexes.
#[derive(Debug)]
pub struct World {
    regentra: Regentra,
    orgs: [OrgId; ORGS],
    users: [UserId; USERS],
    model: Model,
    /// Each org's chain head as last verified: each check verifies only the
    /// events after it, so a case costs time linear in its events.
    heads: [Option<ChainHead>; ORGS],
    /// The state the last check read (with its events verified).
    last: Option<Vec<OrgState>>,
}

impl World {
    /// Builds the world in `store` (which may already hold other worlds: ids
    /// are fresh, so worlds never meet).
    pub async fn build(store: Arc<dyn Store>) -> World {
        let (regentra, operator) = platform_or_existing(store).await;
        let mut orgs = [OrgId(Uuid::nil()); ORGS];
        let mut model = Model::default();
        let tag = Uuid::now_v7().simple().to_string();
        // Each MSP gets an admin (users 0 and 1) who creates its clients.
        for (msp, admin) in [(0usize, 0usize), (4, 1)] {
            orgs[msp] = regentra
                .create_organization(&operator, &format!("MSP {msp}"), OrgKind::Msp)
                .await
                .expect("create MSP")
                .id;
            regentra
                .add_member(
                    &operator,
                    orgs[msp],
                    &email(&tag, admin),
                    "admin",
                    Role::MspAdmin,
                )
                .await
                .expect("add MSP admin");
            model.members.insert((msp, admin), (Role::MspAdmin, None));
        }
        orgs[3] = regentra
            .create_organization(&operator, "Standalone", OrgKind::Standalone)
            .await
            .expect("create standalone")
            .id;
        for client in [1usize, 2, 5] {
            let msp = PARENTS[client].expect("clients have an MSP");
            orgs[client] = regentra
                .create_client(&operator, orgs[msp], &format!("Client {client}"))
                .await
                .expect("create client")
                .id;
        }
        // Everyone else gets an account through a first membership.
        let seeds = [
            (2usize, 3usize, Role::OrgAdmin),
            (3, 0, Role::Technician),
            (4, 0, Role::ComplianceOfficer),
            (5, 3, Role::Employee),
        ];
        for (user, org, role) in seeds {
            regentra
                .add_member(&operator, orgs[org], &email(&tag, user), "person", role)
                .await
                .expect("seed member");
            model.members.insert((org, user), (role, None));
        }
        let mut users = [operator.user; USERS];
        for (i, slot) in users.iter_mut().enumerate().take(OPERATOR) {
            let found = store::find_unique::<crate::tenancy::User>(
                regentra.store(),
                Scope::Platform,
                "email",
                &email(&tag, i),
            )
            .await
            .expect("find user")
            .expect("user exists");
            *slot = found.value.id;
        }
        World {
            regentra,
            orgs,
            users,
            model,
            heads: Default::default(),
            last: None,
        }
    }

    /// Runs one step and checks it; returns a description of the first
    /// property that does not hold.
    pub async fn check_step(&mut self, op: &Op) -> Result<(), String> {
        // Nothing changes between steps, so the state the last check read
        // is this step's "before": each step reads each org once.
        let before = match self.last.take() {
            Some(state) => state,
            None => self.read_state().await?,
        };
        let expected = self.model.step(op);
        let actual = self.run(op).await?;
        if actual != expected {
            return Err(format!("{op:?}: expected {expected:?}, got {actual:?}"));
        }
        let after = self.read_state().await?;
        // An accepted addition of an existing account invites its owner:
        // the org's chain records the invitation, and nothing else changes.
        let invited = |org: usize| {
            expected == Outcome::Accepted
                && op.mutated_org() == Some(org)
                && after[org].new_events.len() == before[org].new_events.len() + 1
                && after[org]
                    .new_events
                    .last()
                    .is_some_and(|e| e.action == "invitation.created")
        };
        let unchanged = |org: usize| {
            before[org].record == after[org].record
                && before[org].members == after[org].members
                && (before[org].new_events.len() == after[org].new_events.len() || invited(org))
        };
        if expected != Outcome::Ok && !(0..ORGS).all(unchanged) {
            return Err(format!(
                "{op:?} was refused ({expected:?}) but changed the store"
            ));
        }
        if expected == Outcome::Ok
            && let Some(org) = op.mutated_org()
            && after[org].new_events.len() <= before[org].new_events.len()
        {
            return Err(format!(
                "{op:?} changed org {org} without an audit event in its chain"
            ));
        }
        self.check_state(after)
    }

    fn principal(&self, user: usize) -> Principal {
        Principal::new(self.users[user])
    }

    async fn run(&self, op: &Op) -> Result<Outcome, String> {
        let r = &self.regentra;
        let o = |i: usize| self.orgs[i];
        let u = |i: usize| self.users[i];
        Ok(match *op {
            Op::AddMember {
                actor,
                org,
                user,
                role,
            } => {
                // The target's account already exists: adding by email finds it.
                let email = self.email_of(user).await;
                match r
                    .add_member(&self.principal(actor), o(org), &email, "person", role)
                    .await
                {
                    Ok(crate::tenancy::MemberAdded::Accepted { .. }) => Outcome::Accepted,
                    other => outcome(&other),
                }
            }
            Op::ChangeRole {
                actor,
                org,
                user,
                role,
            } => outcome(
                &r.change_member_role(&self.principal(actor), o(org), u(user), role)
                    .await,
            ),
            Op::RemoveMember { actor, org, user } => outcome(
                &r.remove_member(&self.principal(actor), o(org), u(user))
                    .await,
            ),
            Op::AssignStaff {
                actor,
                msp,
                client,
                user,
                role,
            } => outcome(
                &r.assign_staff(&self.principal(actor), o(msp), o(client), u(user), role)
                    .await,
            ),
            Op::UnassignStaff {
                actor,
                msp,
                client,
                user,
            } => outcome(
                &r.unassign_staff(&self.principal(actor), o(msp), o(client), u(user))
                    .await,
            ),
            Op::ListMembers { actor, org } => {
                let result = r
                    .list_members(&self.principal(actor), o(org), PageRequest::first(100))
                    .await;
                if let Ok(members) = &result {
                    let listed: Vec<(OrgId, UserId, Role)> =
                        members.iter().map(|m| (m.org, m.user, m.role)).collect();
                    let expected: Vec<(OrgId, UserId, Role)> = self
                        .model
                        .members_of(org)
                        .into_iter()
                        .map(|(user, role)| (o(org), u(user), role))
                        .collect();
                    if sorted(listed.clone()) != sorted(expected.clone()) {
                        return Err(format!(
                            "members of org {org}: listed {listed:?}, model {expected:?}"
                        ));
                    }
                }
                outcome(&result)
            }
            Op::ReadAudit { actor, org } => {
                let result = r
                    .audit_log(
                        &self.principal(actor),
                        o(org),
                        crate::tenancy::AuditQuery::after(None, 500),
                    )
                    .await;
                if let Ok(events) = &result
                    && let Some(foreign) = events.items.iter().find(|e| e.org != o(org))
                {
                    return Err(format!(
                        "audit log of org {org} shows an event of {}",
                        foreign.org
                    ));
                }
                outcome(&result)
            }
            Op::Rename { actor, org } => outcome(
                &r.rename_organization(
                    &self.principal(actor),
                    o(org),
                    &format!("Renamed by {actor}"),
                )
                .await,
            ),
            Op::ListClients { actor, msp } => {
                let result = r
                    .list_clients(&self.principal(actor), o(msp), PageRequest::first(100))
                    .await;
                if let Ok(clients) = &result {
                    let listed: Vec<OrgId> = clients.iter().map(|c| c.id).collect();
                    let expected: Vec<OrgId> = (0..ORGS)
                        .filter(|c| PARENTS[*c] == Some(msp))
                        .map(o)
                        .collect();
                    if listed != expected {
                        return Err(format!(
                            "clients of org {msp}: listed {listed:?}, expected {expected:?}"
                        ));
                    }
                }
                outcome(&result)
            }
        })
    }

    async fn email_of(&self, user: usize) -> String {
        store::require::<crate::tenancy::User>(
            self.regentra.store(),
            Scope::Platform,
            self.users[user].0,
        )
        .await
        .expect("user exists")
        .value
        .email
    }

    /// Each org's record, its members, and the events its chain has beyond
    /// the verified head: everything a refused operation must leave
    /// untouched, read once per step.
    async fn read_state(&self) -> Result<Vec<OrgState>, String> {
        let s = self.regentra.store();
        let mut out = Vec::with_capacity(ORGS);
        for (i, org) in self.orgs.into_iter().enumerate() {
            let record = s
                .get(Scope::Platform, "organization", org.0)
                .await
                .map_err(|e| e.to_string())?;
            let members = s
                .find(
                    Scope::Platform,
                    "membership",
                    "org",
                    &org.to_string(),
                    PageRequest::first(store::MAX_PAGE),
                )
                .await
                .map_err(|e| e.to_string())?;
            let after = self.heads[i].as_ref().map(|h| h.seq);
            let new_events = store::audit_chain_after(s, org, after)
                .await
                .map_err(|e| e.to_string())?;
            out.push(OrgState {
                record,
                members,
                new_events,
            });
        }
        Ok(out)
    }

    /// Stored memberships equal the model's; every chain verifies (from its
    /// last verified head) and holds only its own org's events. Keeps
    /// `state` as the next step's "before".
    fn check_state(&mut self, mut state: Vec<OrgState>) -> Result<(), String> {
        for (i, org) in self.orgs.iter().enumerate() {
            let stored = state[i]
                .members
                .iter()
                .map(|r| {
                    serde_json::from_str::<Membership>(r.body.get()).map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(foreign) = stored.iter().find(|m| m.org != *org) {
                return Err(format!("membership {foreign:?} listed under org {i}"));
            }
            let actual = sorted(stored.iter().map(|m| (m.user, m.role)).collect());
            let expected = sorted(
                self.model
                    .members_of(i)
                    .into_iter()
                    .map(|(u, role)| (self.users[u], role))
                    .collect(),
            );
            if actual != expected {
                return Err(format!(
                    "org {i}: stored members {actual:?}, model {expected:?}"
                ));
            }
            let new = std::mem::take(&mut state[i].new_events);
            audit::verify_after(*org, self.heads[i].as_ref(), &new)
                .map_err(|b| format!("org {i}: {b}"))?;
            if let Some(last) = new.last() {
                self.heads[i] = Some(last.head());
            }
        }
        self.last = Some(state);
        Ok(())
    }
}

/// What one read of an org gives the checks.
#[derive(Debug)]
struct OrgState {
    record: Option<StoredRecord>,
    members: Vec<StoredRecord>,
    new_events: Vec<AuditEvent>,
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn email(tag: &str, user: usize) -> String {
    format!("user{user}.{tag}@world.test")
}

/// The platform operator of `store`: bootstrapped on first use, found after.
async fn platform_or_existing(store: Arc<dyn Store>) -> (Regentra, Principal) {
    let existing = store::find::<crate::tenancy::User>(
        store.as_ref(),
        Scope::Platform,
        "super_admin",
        "true",
        PageRequest::first(1),
    )
    .await
    .expect("find operator");
    match existing.into_iter().next() {
        Some(op) => (
            Regentra::new(store)
                .with_password_hashing(crate::auth::PasswordHashing::insecure_for_tests()),
            Principal::new(op.value.id),
        ),
        None => platform(store).await,
    }
}

/// One property-test case: builds a fresh world in `store` and runs `ops`,
/// checking every step.
pub async fn run_case(store: Arc<dyn Store>, ops: &[Op]) -> Result<(), String> {
    let mut world = World::build(store).await;
    let state = world.read_state().await?;
    world.check_state(state)?;
    for (i, op) in ops.iter().enumerate() {
        world
            .check_step(op)
            .await
            .map_err(|e| format!("step {i}: {e}"))?;
    }
    Ok(())
}
