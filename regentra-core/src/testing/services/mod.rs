//! The services over a store: tenancy, compliance, policies and campaigns,
//! tickets under SLA, credentials, portals and host operations, run through
//! [`Regentra`] on a fresh store. One async function per behaviour;
//! [`service_tests!`](crate::service_tests) runs them all. They hold the
//! services' rules (authorization, tenant isolation, atomic audit) on a
//! store; the store's own behaviour is the contract's.

mod asset_management;
mod attachments;
mod authorization;
mod compliance;
mod credentials;
mod custom_frameworks;
mod host;
mod inbox;
mod invitations;
mod kb_management;
mod lists;
mod mail;
mod mfa;
mod overview;
mod password_reset;
mod policies;
mod portal;
mod psa;
mod queue_counts;
mod sessions;
mod staff_chats;
mod tenancy;
mod ticket_audit;
mod worker;

pub use self::asset_management::*;
pub use self::attachments::*;
pub use self::authorization::*;
pub use self::compliance::*;
pub use self::credentials::*;
pub use self::custom_frameworks::*;
pub use self::host::*;
pub use self::inbox::*;
pub use self::invitations::*;
pub use self::kb_management::*;
pub use self::lists::*;
pub use self::mail::*;
pub use self::mfa::*;
pub use self::overview::*;
pub use self::password_reset::*;
pub use self::policies::*;
pub use self::portal::*;
pub use self::psa::*;
pub use self::queue_counts::*;
pub use self::sessions::*;
pub use self::staff_chats::*;
pub use self::tenancy::*;
pub use self::ticket_audit::*;
pub use self::worker::*;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Target};
use crate::clock::DeterministicIds;
use crate::compliance::{
    AgreementStatus, CmmcLevel, CmmcProfile, ControlStatus, ControlUpdate, FtcProfile,
    NewAgreement, NewEvidence, PciAppendix, PciEntity, QualifiedIndividual, RequirementStatus,
    TrustServicesCategory,
};
use crate::error::Error;
use crate::ids::OrgId;
use crate::policies::campaign::NewCampaign;
use crate::policies::service::NewPolicy;
use crate::policies::{
    AcknowledgmentStatus, Audience, CampaignStatus, PolicyStatus, VersionStatus, body_hash,
};
use crate::portal::{BrandingUpdate, PortalSettings, PortalUpdate};
use crate::psa::Priority;
use crate::psa::records::{NewArticle, NewAsset, NewTimeEntry, Visibility};
use crate::psa::sla_policy::{Action, ClockKind, EscalationRule, NewSlaPolicy, Targets, Trigger};
use crate::psa::ticket::{ClockState, NewTicket, TicketStatus};
use crate::rbac::{Access, Permission, Role, Via};
use crate::service::{Principal, Regentra};
use crate::store::{self, PageRequest, Scope, Store, StoredRecord};
use crate::tenancy::{ChainVerification, OrgKind, Organization, RoleGrant};
use crate::testing::contract::at;

/// Every file of this part, for the check that each public case is listed.
pub const SOURCES: &[(&str, &str)] = &[
    ("mod.rs", include_str!("mod.rs")),
    ("asset_management.rs", include_str!("asset_management.rs")),
    ("attachments.rs", include_str!("attachments.rs")),
    ("authorization.rs", include_str!("authorization.rs")),
    ("compliance.rs", include_str!("compliance.rs")),
    ("credentials.rs", include_str!("credentials.rs")),
    ("custom_frameworks.rs", include_str!("custom_frameworks.rs")),
    ("host.rs", include_str!("host.rs")),
    ("inbox.rs", include_str!("inbox.rs")),
    ("invitations.rs", include_str!("invitations.rs")),
    ("kb_management.rs", include_str!("kb_management.rs")),
    ("lists.rs", include_str!("lists.rs")),
    ("mail.rs", include_str!("mail.rs")),
    ("mfa.rs", include_str!("mfa.rs")),
    ("overview.rs", include_str!("overview.rs")),
    ("password_reset.rs", include_str!("password_reset.rs")),
    ("policies.rs", include_str!("policies.rs")),
    ("portal.rs", include_str!("portal.rs")),
    ("psa.rs", include_str!("psa.rs")),
    ("queue_counts.rs", include_str!("queue_counts.rs")),
    ("sessions.rs", include_str!("sessions.rs")),
    ("staff_chats.rs", include_str!("staff_chats.rs")),
    ("tenancy.rs", include_str!("tenancy.rs")),
    ("ticket_audit.rs", include_str!("ticket_audit.rs")),
    ("worker.rs", include_str!("worker.rs")),
];

/// A fresh platform on `store`: deterministic ids and entropy, a fixed
/// clock, the cheapest password hashing, and a bootstrapped platform operator.
pub async fn platform(store: Arc<dyn Store>) -> (Regentra, Principal) {
    let regentra = Regentra::new(store)
        .with_ids(Arc::new(DeterministicIds::new(42)))
        .with_entropy(Arc::new(crate::clock::SeededEntropy::new(42)))
        .with_password_hashing(crate::auth::PasswordHashing::insecure_for_tests())
        .with_clock(Arc::new(crate::ManualClock::new(at(0))));
    let operator = regentra
        .bootstrap_platform_admin("ops@platform.test", "Platform Ops")
        .await
        .expect("bootstrap on an empty store");
    (regentra, Principal::new(operator.id))
}

/// An MSP with an admin and two clients: the shape of most service cases.
#[derive(Debug)]
pub struct MspFixture {
    pub regentra: Regentra,
    pub operator: Principal,
    pub msp: OrgId,
    pub admin: Principal,
    pub clients: [OrgId; 2],
}

pub async fn msp_fixture(store: Arc<dyn Store>, name: &str) -> MspFixture {
    let (regentra, operator) = platform(store).await;
    msp_in(regentra, operator, name).await
}

async fn msp_in(regentra: Regentra, operator: Principal, name: &str) -> MspFixture {
    let msp = regentra
        .create_organization(&operator, name, OrgKind::Msp)
        .await
        .expect("operator creates an MSP")
        .id;
    let slug = name.to_lowercase().replace(' ', "-");
    let admin = regentra
        .add_member(
            &operator,
            msp,
            &format!("admin@{slug}.test"),
            "MSP Admin",
            Role::MspAdmin,
        )
        .await
        .expect("operator adds the MSP admin");
    let admin = Principal::new(
        admin
            .membership()
            .expect("the operator sees the membership")
            .user,
    );
    let mut clients = [OrgId(Uuid::nil()); 2];
    for (slot, client) in clients.iter_mut().zip(["Acme Dental", "Bolt Legal"]) {
        *slot = regentra
            .create_client(&admin, msp, &format!("{client} ({name})"))
            .await
            .expect("MSP admin creates a client")
            .id;
    }
    MspFixture {
        regentra,
        operator,
        msp,
        admin,
        clients,
    }
}

/// A new person added to `org` by the MSP's admin. The answer does not
/// name the account (an admin never learns whether an email had one), so
/// the case finds it by email, and checks it did join.
async fn member(f: &MspFixture, org: OrgId, email: &str, role: Role) -> Principal {
    f.regentra
        .add_member(&f.admin, org, email, email, role)
        .await
        .unwrap_or_else(|e| panic!("adding {email} as {role}: {e}"));
    let user = store::find_unique::<crate::tenancy::User>(
        f.regentra.store(),
        Scope::Platform,
        "email",
        &crate::tenancy::normalize_email(email).expect("an email"),
    )
    .await
    .expect("user lookup")
    .unwrap_or_else(|| panic!("{email} has an account"))
    .value
    .id;
    f.regentra
        .membership(org, user)
        .await
        .expect("membership lookup")
        .unwrap_or_else(|| panic!("{email} joined {org}: use a new email, or the operator"));
    Principal::new(user)
}

fn expect_not_found<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) {
    match result {
        Err(Error::NotFound { .. }) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

fn expect_denied<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) {
    match result {
        Err(Error::PermissionDenied { .. }) => {}
        other => panic!("{what}: expected PermissionDenied, got {other:?}"),
    }
}

fn expect_invalid<T: std::fmt::Debug>(result: crate::Result<T>, field: &str) {
    match result {
        Err(Error::Validation(errors)) => assert!(
            errors.iter().any(|e| e.field == field),
            "validation must name `{field}`: {errors:?}"
        ),
        other => panic!("expected a validation error on {field}, got {other:?}"),
    }
}

async fn actions(f: &MspFixture, org: OrgId) -> Vec<String> {
    let chain = store::audit_chain(f.regentra.store(), org)
        .await
        .expect("audit read");
    assert_eq!(
        audit::verify(org, &chain),
        Ok(()),
        "chain of {org} verifies"
    );
    chain.into_iter().map(|e| e.action).collect()
}
