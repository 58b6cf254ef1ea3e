//! The store contract: what every store, ours or an integrator's, must do
//! for the services to be correct. One async function per behaviour, each
//! taking a fresh, empty store and panicking with a message on failure:
//! records and their indexes, optimistic versions, atomic change sets,
//! ordering and pagination, counts, scope isolation, the audit chain, blobs.
//! [`store_contract_tests!`](crate::store_contract_tests) runs them all.

mod aggregates;
mod audit_chain;
mod blobs;
mod claims;
mod failures;
mod queries;
mod records;
mod signals;

pub use self::aggregates::*;
pub use self::audit_chain::*;
pub use self::blobs::*;
pub use self::claims::*;
pub use self::failures::*;
pub use self::queries::*;
pub use self::records::*;
pub use self::signals::*;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Actor, AuditDraft, Target};
use crate::error::Error;
use crate::ids::{AuditEventId, OrgId};
use crate::store::{
    self, ChangeSet, IndexEntry, Mutation, PageRequest, Scope, Store, StoredRecord,
};

/// Every file of this part, for the check that each public case is listed.
pub const SOURCES: &[(&str, &str)] = &[
    ("mod.rs", include_str!("mod.rs")),
    ("aggregates.rs", include_str!("aggregates.rs")),
    ("audit_chain.rs", include_str!("audit_chain.rs")),
    ("blobs.rs", include_str!("blobs.rs")),
    ("claims.rs", include_str!("claims.rs")),
    ("failures.rs", include_str!("failures.rs")),
    ("queries.rs", include_str!("queries.rs")),
    ("records.rs", include_str!("records.rs")),
];

const KIND: &str = "conformance_widget";

fn org(n: u128) -> OrgId {
    // Distinct from the nil platform scope and from any other case's orgs.
    OrgId(Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_0000 + n,
    ))
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_9000_0000_0000_0000 + n)
}

fn insert(scope: Scope, id: Uuid, body: Value, indexes: Vec<IndexEntry>) -> Mutation {
    Mutation::Insert {
        scope,
        kind: KIND,
        id,
        body,
        indexes,
    }
}

fn update(
    scope: Scope,
    id: Uuid,
    expected_version: u64,
    body: Value,
    indexes: Vec<IndexEntry>,
) -> Mutation {
    Mutation::Update {
        scope,
        kind: KIND,
        id,
        expected_version,
        body,
        indexes,
    }
}

fn delete(scope: Scope, id: Uuid, expected_version: u64) -> Mutation {
    Mutation::Delete {
        scope,
        kind: KIND,
        id,
        expected_version,
    }
}

fn changes(mutations: Vec<Mutation>) -> ChangeSet {
    ChangeSet {
        mutations,
        ..ChangeSet::default()
    }
}

pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + seconds, 0).expect("valid instant")
}

fn draft(org: OrgId, n: u128, action: &str) -> AuditDraft {
    AuditDraft {
        id: AuditEventId(Uuid::from_u128(
            0x0190_0000_0000_7000_a000_0000_0000_0000 + n,
        )),
        org,
        at: at(n as i64),
        actor: Actor::system(),
        action: action.to_owned(),
        target: Target::new(KIND, n),
        request: Default::default(),
        details: json!({ "n": n as u64 }),
    }
}

async fn apply(store: &dyn Store, mutations: Vec<Mutation>) -> crate::Result<()> {
    store.apply(changes(mutations)).await.map(|_| ())
}

async fn must(store: &dyn Store, mutations: Vec<Mutation>) {
    apply(store, mutations).await.expect("change set applies");
}

async fn get(store: &dyn Store, scope: Scope, id: Uuid) -> Option<StoredRecord> {
    store.get(scope, KIND, id).await.expect("get works")
}

async fn find_ids(store: &dyn Store, scope: Scope, index: &str, value: &str) -> Vec<Uuid> {
    store
        .find(
            scope,
            KIND,
            index,
            value,
            PageRequest::first(store::MAX_PAGE),
        )
        .await
        .expect("find works")
        .into_iter()
        .map(|r| r.id)
        .collect()
}
