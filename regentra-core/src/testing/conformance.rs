//! One async function per behaviour of the store contract and of the
//! services over it. Each takes a fresh, empty store.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Actor, AuditDraft, Target};
use crate::clock::DeterministicIds;
use crate::error::Error;
use crate::ids::{AuditEventId, OrgId};
use crate::rbac::{Access, Permission, Role, Via};
use crate::service::{Principal, Regentra};
use crate::store::{
    self, ChangeSet, IndexEntry, Mutation, PageRequest, Scope, Store, StoredRecord,
};
use crate::tenancy::{OrgKind, Organization, RoleGrant};

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
        audit: Vec::new(),
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
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

pub async fn insert_then_get(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    must(
        store,
        vec![insert(scope, id(1), json!({"name": "one"}), vec![])],
    )
    .await;
    let record = get(store, scope, id(1))
        .await
        .expect("inserted record is readable");
    assert_eq!(record.id, id(1));
    assert_eq!(record.version, 1, "a new record has version 1");
    assert_eq!(record.body, json!({"name": "one"}));
    assert_eq!(
        get(store, scope, id(2)).await,
        None,
        "an unknown id reads as None"
    );
    assert_eq!(
        store
            .get(scope, "another_kind", id(1))
            .await
            .expect("get works"),
        None,
        "kinds are separate"
    );
    must(
        store,
        vec![insert(
            Scope::Platform,
            id(1),
            json!({"name": "platform"}),
            vec![],
        )],
    )
    .await;
    assert_eq!(
        get(store, Scope::Platform, id(1)).await.map(|r| r.body),
        Some(json!({"name": "platform"})),
        "the platform scope is a scope like any other"
    );
}

pub async fn duplicate_insert_is_already_exists(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    must(store, vec![insert(scope, id(1), json!(1), vec![])]).await;
    match apply(store, vec![insert(scope, id(1), json!(2), vec![])]).await {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("second insert of one id must be AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        get(store, scope, id(1)).await.map(|r| r.body),
        Some(json!(1))
    );
}

pub async fn update_bumps_version_and_stale_update_conflicts(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    must(store, vec![insert(scope, id(1), json!("v1"), vec![])]).await;
    must(store, vec![update(scope, id(1), 1, json!("v2"), vec![])]).await;
    let record = get(store, scope, id(1)).await.expect("record exists");
    assert_eq!((record.version, record.body), (2, json!("v2")));
    match apply(store, vec![update(scope, id(1), 1, json!("lost"), vec![])]).await {
        Err(Error::Conflict { .. }) => {}
        other => panic!("an update at a stale version must be Conflict, got {other:?}"),
    }
    match apply(store, vec![delete(scope, id(1), 1)]).await {
        Err(Error::Conflict { .. }) => {}
        other => panic!("a delete at a stale version must be Conflict, got {other:?}"),
    }
    assert_eq!(
        get(store, scope, id(1)).await.map(|r| r.body),
        Some(json!("v2"))
    );
}

pub async fn update_or_delete_of_missing_record_is_not_found(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    for mutation in [
        update(scope, id(9), 1, json!(0), vec![]),
        delete(scope, id(9), 1),
    ] {
        match apply(store, vec![mutation]).await {
            Err(Error::NotFound { .. }) => {}
            other => panic!("writing a missing record must be NotFound, got {other:?}"),
        }
    }
}

pub async fn delete_removes_record_and_index_entries(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    let tag = IndexEntry::unique("tag", "alpha");
    must(
        store,
        vec![insert(
            scope,
            id(1),
            json!(1),
            vec![tag.clone(), IndexEntry::multi("color", "red")],
        )],
    )
    .await;
    must(store, vec![delete(scope, id(1), 1)]).await;
    assert_eq!(get(store, scope, id(1)).await, None);
    assert!(find_ids(store, scope, "tag", "alpha").await.is_empty());
    assert!(find_ids(store, scope, "color", "red").await.is_empty());
    // The unique value is free again.
    must(store, vec![insert(scope, id(2), json!(2), vec![tag])]).await;
    assert_eq!(find_ids(store, scope, "tag", "alpha").await, vec![id(2)]);
}

pub async fn unique_index_allows_one_holder_per_scope(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, b) = (Scope::Org(org(1)), Scope::Org(org(2)));
    let email = || IndexEntry::unique("email", "x@example.com");
    must(store, vec![insert(a, id(1), json!(1), vec![email()])]).await;
    match apply(store, vec![insert(a, id(2), json!(2), vec![email()])]).await {
        Err(Error::AlreadyExists { field, .. }) => {
            assert_eq!(field, "email", "the error names the taken field")
        }
        other => panic!("a taken unique value must be AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        get(store, a, id(2)).await,
        None,
        "the rejected record is not written"
    );
    // Another scope has its own values.
    must(store, vec![insert(b, id(2), json!(2), vec![email()])]).await;
    // A record may keep its own unique value across updates.
    must(store, vec![update(a, id(1), 1, json!(11), vec![email()])]).await;
    // Two records of one change set cannot share a unique value either.
    match apply(
        store,
        vec![
            insert(
                a,
                id(3),
                json!(3),
                vec![IndexEntry::unique("email", "y@example.com")],
            ),
            insert(
                a,
                id(4),
                json!(4),
                vec![IndexEntry::unique("email", "y@example.com")],
            ),
        ],
    )
    .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("duplicate unique values within one change set must fail, got {other:?}"),
    }
    assert_eq!(
        get(store, a, id(3)).await,
        None,
        "nothing of the failed change set is written"
    );
}

pub async fn index_entries_follow_updates(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    must(
        store,
        vec![insert(
            scope,
            id(1),
            json!(1),
            vec![IndexEntry::multi("status", "open")],
        )],
    )
    .await;
    must(
        store,
        vec![insert(
            scope,
            id(2),
            json!(2),
            vec![IndexEntry::multi("status", "open")],
        )],
    )
    .await;
    assert_eq!(
        find_ids(store, scope, "status", "open").await,
        vec![id(1), id(2)]
    );
    must(
        store,
        vec![update(
            scope,
            id(1),
            1,
            json!(1),
            vec![IndexEntry::multi("status", "closed")],
        )],
    )
    .await;
    assert_eq!(find_ids(store, scope, "status", "open").await, vec![id(2)]);
    assert_eq!(
        find_ids(store, scope, "status", "closed").await,
        vec![id(1)]
    );
    // A record can hold several values of one index (tags, words).
    must(
        store,
        vec![update(
            scope,
            id(2),
            1,
            json!(2),
            vec![
                IndexEntry::multi("word", "vpn"),
                IndexEntry::multi("word", "reset"),
            ],
        )],
    )
    .await;
    assert_eq!(find_ids(store, scope, "word", "vpn").await, vec![id(2)]);
    assert_eq!(find_ids(store, scope, "word", "reset").await, vec![id(2)]);
    assert!(find_ids(store, scope, "status", "open").await.is_empty());
}

pub async fn failed_change_set_leaves_nothing(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    must(
        store,
        vec![insert(
            scope,
            id(1),
            json!("kept"),
            vec![IndexEntry::unique("slug", "a")],
        )],
    )
    .await;
    let before = store
        .audit_events(org(1), None, 100)
        .await
        .expect("audit read");
    let mut failing = changes(vec![
        insert(
            scope,
            id(2),
            json!("new"),
            vec![IndexEntry::unique("slug", "b")],
        ),
        update(
            scope,
            id(1),
            1,
            json!("changed"),
            vec![IndexEntry::unique("slug", "c")],
        ),
        // Stale: the whole set must roll back, the insert and update above included.
        delete(scope, id(1), 7),
    ]);
    failing.audit(draft(org(1), 1, "should.not.exist"));
    match store.apply(failing).await {
        Err(Error::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(get(store, scope, id(2)).await, None);
    let kept = get(store, scope, id(1)).await.expect("still there");
    assert_eq!((kept.version, kept.body), (1, json!("kept")));
    assert_eq!(find_ids(store, scope, "slug", "a").await, vec![id(1)]);
    assert!(find_ids(store, scope, "slug", "b").await.is_empty());
    assert!(find_ids(store, scope, "slug", "c").await.is_empty());
    assert_eq!(
        store
            .audit_events(org(1), None, 100)
            .await
            .expect("audit read"),
        before
    );
}

pub async fn list_orders_by_id_and_pages(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    // Inserted out of order, listed in id order.
    let order = [7u128, 3, 11, 1, 9, 5, 2, 10, 4, 8, 6, 12];
    for n in order {
        must(store, vec![insert(scope, id(n), json!(n as u64), vec![])]).await;
    }
    must(
        store,
        vec![insert(Scope::Org(org(2)), id(100), json!(0), vec![])],
    )
    .await;
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(scope, KIND, PageRequest::after(after, 5))
            .await
            .expect("list works");
        assert!(page.len() <= 5, "a page holds at most the limit");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| r.id);
        seen.extend(page.into_iter().map(|r| r.id));
    }
    let expected: Vec<Uuid> = (1..=12).map(id).collect();
    assert_eq!(
        seen, expected,
        "pages cover every record once, in id order, and only this scope"
    );
    let one = store
        .list(scope, KIND, PageRequest::first(0))
        .await
        .expect("list works");
    assert_eq!(one.len(), 1, "a limit of 0 is raised to 1");
    let capped = store
        .list(scope, KIND, PageRequest::first(usize::MAX))
        .await
        .expect("list works");
    assert_eq!(capped.len(), 12);
}

pub async fn find_orders_by_id_and_pages(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    for n in [5u128, 1, 4, 2, 3, 6] {
        let color = if n % 2 == 0 { "even" } else { "odd" };
        must(
            store,
            vec![insert(
                scope,
                id(n),
                json!(n as u64),
                vec![IndexEntry::multi("parity", color)],
            )],
        )
        .await;
    }
    let first = store
        .find(scope, KIND, "parity", "odd", PageRequest::first(2))
        .await
        .expect("find works");
    assert_eq!(
        first.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id(1), id(3)]
    );
    let rest = store
        .find(
            scope,
            KIND,
            "parity",
            "odd",
            PageRequest::after(Some(id(3)), 10),
        )
        .await
        .expect("find works");
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id(5)]);
    assert_eq!(rest[0].body, json!(5));
    assert!(find_ids(store, scope, "parity", "none").await.is_empty());
    assert!(find_ids(store, scope, "other", "odd").await.is_empty());
}

pub async fn scopes_are_isolated(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, b) = (Scope::Org(org(1)), Scope::Org(org(2)));
    must(
        store,
        vec![insert(
            a,
            id(1),
            json!("a"),
            vec![IndexEntry::multi("k", "v")],
        )],
    )
    .await;
    // The same id in another tenant is a different record.
    must(
        store,
        vec![insert(
            b,
            id(1),
            json!("b"),
            vec![IndexEntry::multi("k", "v")],
        )],
    )
    .await;
    assert_eq!(get(store, a, id(1)).await.map(|r| r.body), Some(json!("a")));
    assert_eq!(get(store, b, id(1)).await.map(|r| r.body), Some(json!("b")));
    must(store, vec![insert(a, id(2), json!("a only"), vec![])]).await;
    assert_eq!(
        get(store, b, id(2)).await,
        None,
        "a record of A is not found from B"
    );
    assert_eq!(get(store, Scope::Platform, id(2)).await, None);
    match apply(store, vec![update(b, id(2), 1, json!("hijack"), vec![])]).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("updating A's record through B must be NotFound, got {other:?}"),
    }
    match apply(store, vec![delete(b, id(2), 1)]).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("deleting A's record through B must be NotFound, got {other:?}"),
    }
    let listed: Vec<Uuid> = store
        .list(b, KIND, PageRequest::first(100))
        .await
        .expect("list works")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, vec![id(1)]);
    assert_eq!(find_ids(store, b, "k", "v").await, vec![id(1)]);
    must(store, vec![update(b, id(1), 1, json!("b2"), vec![])]).await;
    assert_eq!(
        get(store, a, id(1)).await.map(|r| (r.version, r.body)),
        Some((1, json!("a")))
    );
}

pub async fn bodies_round_trip(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    let body = json!({
        "text": "Ünïcødé, \"quotes\", \\ and \n newlines — ✓",
        "big": 9_007_199_254_740_993_u64,
        "negative": -42,
        "nested": {"list": [1, "two", null, true, {"deep": []}]},
        "empty": "",
    });
    must(
        store,
        vec![insert(
            scope,
            id(1),
            body.clone(),
            vec![IndexEntry::multi("name", "Ünïcødé / slash")],
        )],
    )
    .await;
    assert_eq!(get(store, scope, id(1)).await.map(|r| r.body), Some(body));
    assert_eq!(
        find_ids(store, scope, "name", "Ünïcødé / slash").await,
        vec![id(1)]
    );
}

pub async fn audit_events_chain_per_org(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, b) = (org(1), org(2));
    let mut set = changes(vec![insert(Scope::Org(a), id(1), json!(1), vec![])]);
    set.audit(draft(a, 1, "a.first"));
    set.audit(draft(b, 2, "b.first"));
    set.audit(draft(a, 3, "a.second"));
    let sealed = store.apply(set).await.expect("applies");
    assert_eq!(sealed.len(), 3, "apply returns each sealed event");
    assert_eq!(
        sealed.iter().map(|e| (e.org, e.seq)).collect::<Vec<_>>(),
        vec![(a, 1), (b, 1), (a, 2)]
    );
    let chain_a = store::audit_chain(store, a).await.expect("audit read");
    assert_eq!(
        chain_a,
        vec![sealed[0].clone(), sealed[2].clone()],
        "stored as sealed"
    );
    assert_eq!(audit::verify(a, &chain_a), Ok(()));
    let chain_b = store::audit_chain(store, b).await.expect("audit read");
    assert_eq!(chain_b.len(), 1);
    assert_eq!(audit::verify(b, &chain_b), Ok(()));
    assert!(
        store
            .audit_events(org(3), None, 10)
            .await
            .expect("audit read")
            .is_empty()
    );
    // A later change set continues the chain.
    let mut next = ChangeSet::new();
    next.audit(draft(a, 4, "a.third"));
    store.apply(next).await.expect("applies");
    let chain_a = store::audit_chain(store, a).await.expect("audit read");
    assert_eq!(
        chain_a.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(chain_a[2].prev_hash, chain_a[1].hash);
    assert_eq!(audit::verify(a, &chain_a), Ok(()));
}

pub async fn audit_events_page_in_order(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let a = org(1);
    for n in 1..=7 {
        let mut set = ChangeSet::new();
        set.audit(draft(a, n, "tick"));
        store.apply(set).await.expect("applies");
    }
    let first = store.audit_events(a, None, 3).await.expect("audit read");
    assert_eq!(
        first.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let next = store.audit_events(a, Some(3), 3).await.expect("audit read");
    assert_eq!(
        next.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    let last = store.audit_events(a, Some(6), 3).await.expect("audit read");
    assert_eq!(last.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![7]);
    assert!(
        store
            .audit_events(a, Some(7), 3)
            .await
            .expect("audit read")
            .is_empty()
    );
}

pub async fn concurrent_applies_keep_every_chain_unbroken(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let orgs = [org(1), org(2)];
    let writes = (0..32u128).map(|n| {
        let target = orgs[(n % 2) as usize];
        let mut set = changes(vec![insert(
            Scope::Org(target),
            id(n),
            json!(n as u64),
            vec![],
        )]);
        set.audit(draft(target, n, "concurrent.write"));
        store.apply(set)
    });
    for result in join_all(writes).await {
        result.expect("independent writes all apply");
    }
    for o in orgs {
        let chain = store::audit_chain(store, o).await.expect("audit read");
        assert_eq!(chain.len(), 16, "no event lost");
        assert_eq!(audit::verify(o, &chain), Ok(()), "no fork, no gap");
    }
}

pub async fn concurrent_updates_apply_once_or_conflict(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    must(store, vec![insert(scope, id(1), json!(0), vec![])]).await;
    let writers =
        (1..=16u64).map(|n| apply(store, vec![update(scope, id(1), 1, json!(n), vec![])]));
    let results = join_all(writers).await;
    let applied = results.iter().filter(|r| r.is_ok()).count();
    for result in &results {
        if let Err(e) = result {
            assert!(
                matches!(e, Error::Conflict { .. }),
                "a losing writer gets Conflict, got {e:?}"
            );
        }
    }
    assert_eq!(applied, 1, "exactly one update at version 1 wins");
    assert_eq!(get(store, scope, id(1)).await.map(|r| r.version), Some(2));
}

pub async fn blobs_round_trip_chunk_by_chunk(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, blob) = (org(1), id(50));
    let chunks: Vec<Vec<u8>> = vec![
        vec![0u8, 1, 2, 255],
        (0..=255u8).collect(),
        vec![],
        vec![7; 70_000],
    ];
    for (seq, chunk) in chunks.iter().enumerate() {
        store
            .put_blob_chunk(a, blob, seq as u32, chunk.clone())
            .await
            .expect("chunk stored");
    }
    for (seq, chunk) in chunks.iter().enumerate() {
        let read = store
            .blob_chunk(a, blob, seq as u32)
            .await
            .expect("chunk read");
        assert_eq!(
            read.as_ref(),
            Some(chunk),
            "chunk {seq} reads back byte for byte"
        );
    }
    assert_eq!(
        store
            .blob_chunk(a, blob, chunks.len() as u32)
            .await
            .expect("read"),
        None,
        "past the end"
    );
    // Rewriting a chunk replaces it.
    store
        .put_blob_chunk(a, blob, 0, b"new".to_vec())
        .await
        .expect("rewrite");
    assert_eq!(
        store.blob_chunk(a, blob, 0).await.expect("read"),
        Some(b"new".to_vec())
    );
}

pub async fn blobs_are_isolated_and_deleted_whole(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, b, blob) = (org(1), org(2), id(50));
    for seq in 0..3 {
        store
            .put_blob_chunk(a, blob, seq, vec![seq as u8; 10])
            .await
            .expect("chunk");
    }
    assert_eq!(
        store.blob_chunk(b, blob, 0).await.expect("read"),
        None,
        "another org cannot read A's blob"
    );
    store
        .delete_blob(b, blob)
        .await
        .expect("deleting through B is a no-op");
    assert!(
        store.blob_chunk(a, blob, 2).await.expect("read").is_some(),
        "B's delete did not touch A"
    );
    store.delete_blob(a, blob).await.expect("delete");
    for seq in 0..3 {
        assert_eq!(
            store.blob_chunk(a, blob, seq).await.expect("read"),
            None,
            "every chunk is gone"
        );
    }
    store
        .delete_blob(a, blob)
        .await
        .expect("deleting a missing blob is fine");
}

// ----- services over the store -------------------------------------------

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
    let admin = Principal::new(admin.user);
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

async fn member(f: &MspFixture, org: OrgId, email: &str, role: Role) -> Principal {
    let m = f
        .regentra
        .add_member(&f.admin, org, email, email, role)
        .await
        .unwrap_or_else(|e| panic!("adding {email} as {role}: {e}"));
    Principal::new(m.user)
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

pub async fn msp_creates_and_lists_its_clients(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let clients = f
        .regentra
        .list_clients(&f.admin, f.msp, PageRequest::first(10))
        .await
        .expect("MSP admin lists clients");
    assert_eq!(
        clients.iter().map(|c| c.id).collect::<Vec<_>>(),
        f.clients.to_vec()
    );
    assert!(
        clients
            .iter()
            .all(|c| c.kind == OrgKind::Client && c.parent == Some(f.msp))
    );
    assert_eq!(clients[0].name, "Acme Dental (Northwind IT)");
    let page = f
        .regentra
        .list_clients(
            &f.admin,
            f.msp,
            PageRequest::after(Some(f.clients[0].0), 10),
        )
        .await
        .expect("second page");
    assert_eq!(
        page.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![f.clients[1]]
    );
    let msp_actions = actions(&f, f.msp).await;
    assert_eq!(
        msp_actions
            .iter()
            .filter(|a| *a == "client.created")
            .count(),
        2
    );
    assert!(
        actions(&f, f.clients[0])
            .await
            .contains(&"organization.created".to_owned())
    );
    // Clients are created by an MSP, never directly and never under a non-MSP.
    expect_invalid(
        f.regentra
            .create_organization(&f.operator, "Loose client", OrgKind::Client)
            .await,
        "kind",
    );
    let standalone = f
        .regentra
        .create_organization(&f.operator, "Solo Clinic", OrgKind::Standalone)
        .await
        .expect("operator creates a standalone org");
    expect_invalid(
        f.regentra
            .create_client(&f.operator, standalone.id, "Nested")
            .await,
        "msp",
    );
    expect_invalid(
        f.regentra.create_client(&f.admin, f.msp, "   ").await,
        "name",
    );
    // Only platform operators create top-level orgs.
    expect_denied(
        f.regentra
            .create_organization(&f.admin, "Rogue MSP", OrgKind::Msp)
            .await,
        "MSP admin creating an MSP",
    );
}

pub async fn emails_are_unique_on_the_platform(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let first = f
        .regentra
        .add_member(
            &f.admin,
            f.msp,
            "  Bob@Example.COM ",
            "Bob",
            Role::Technician,
        )
        .await
        .expect("adds Bob");
    let again = f
        .regentra
        .add_member(
            &f.admin,
            f.clients[0],
            "bob@example.com",
            "Robert",
            Role::Viewer,
        )
        .await
        .expect("adds the same person to a client");
    assert_eq!(
        first.user, again.user,
        "one account per email, whatever its case"
    );
    match f
        .regentra
        .add_member(&f.admin, f.msp, "BOB@example.com", "Bob", Role::Viewer)
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "user"),
        other => panic!("a second membership in one org must be AlreadyExists, got {other:?}"),
    }
    expect_invalid(
        f.regentra
            .add_member(&f.admin, f.msp, "not-an-email", "X", Role::Viewer)
            .await,
        "email",
    );
    expect_invalid(
        f.regentra
            .add_member(&f.admin, f.clients[0], "x@example.com", "X", Role::MspAdmin)
            .await,
        "role",
    );
    expect_invalid(
        f.regentra
            .add_member(&f.admin, f.msp, "y@example.com", "Y", Role::SuperAdmin)
            .await,
        "role",
    );
    let members = f
        .regentra
        .list_members(&f.admin, f.msp, PageRequest::first(50))
        .await
        .expect("lists members");
    assert_eq!(
        members.iter().filter(|m| m.user == first.user).count(),
        1,
        "the failed additions wrote nothing"
    );
}

pub async fn staff_assignment_gives_per_client_roles(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    let [c1, c2] = f.clients;
    let r = &f.regentra;
    let a = r
        .assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
        .expect("assigns Tom to client 1");
    assert_eq!(
        (a.org, a.role, a.assigned_by),
        (c1, Role::Technician, Some(f.msp))
    );
    r.assign_staff(&f.admin, f.msp, c2, tom.user, Role::ComplianceOfficer)
        .await
        .expect("assigns Tom to client 2 with another role");

    let grant = r
        .authorize(&tom, c1, Permission::TicketsManage)
        .await
        .expect("technician in client 1");
    assert_eq!(
        (grant.role, grant.via, grant.access),
        (Role::Technician, Via::Membership, Access::All)
    );
    expect_denied(
        r.authorize(&tom, c1, Permission::ControlsUpdate).await,
        "technician updating controls",
    );
    let grant = r
        .authorize(&tom, c2, Permission::ControlsUpdate)
        .await
        .expect("officer in client 2");
    assert_eq!(grant.role, Role::ComplianceOfficer);
    expect_denied(
        r.authorize(&tom, c2, Permission::TicketsManage).await,
        "officer managing tickets",
    );

    expect_invalid(
        r.assign_staff(&f.admin, f.msp, c1, tom.user, Role::OrgAdmin)
            .await,
        "role",
    );
    match r
        .assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("assigning twice must be AlreadyExists, got {other:?}"),
    }
    let outsider = r
        .add_member(
            &f.admin,
            c1,
            "client.staff@acme.test",
            "Client Staff",
            Role::Employee,
        )
        .await
        .expect("client employee");
    expect_invalid(
        r.assign_staff(&f.admin, f.msp, c2, outsider.user, Role::Technician)
            .await,
        "user",
    );
    // Only the MSP's admins assign staff.
    expect_denied(
        r.assign_staff(&tom, f.msp, c1, tom.user, Role::ComplianceOfficer)
            .await,
        "technician assigning staff",
    );
    assert!(actions(&f, c2).await.contains(&"staff.assigned".to_owned()));
    assert!(
        actions(&f, f.msp)
            .await
            .contains(&"staff.assigned".to_owned())
    );
}

pub async fn msp_admin_reaches_only_its_own_clients(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let other = msp_in(f.regentra.clone(), f.operator.clone(), "Southwind IT").await;
    let r = &f.regentra;
    let theirs = other.clients[0];

    let grant = r
        .authorize(&f.admin, f.clients[0], Permission::OrgManage)
        .await
        .expect("MSP admin manages its own client");
    assert_eq!(grant.role, Role::OrgAdmin, "acts as the client's org admin");
    assert_eq!(grant.via, Via::MspDelegation { msp: f.msp });
    expect_denied(
        r.authorize(&f.admin, f.clients[0], Permission::TenantsManage)
            .await,
        "a client cannot have clients",
    );

    expect_not_found(
        r.authorize(&f.admin, theirs, Permission::OrgRead).await,
        "another MSP's client",
    );
    expect_not_found(
        r.get_organization(&f.admin, theirs).await,
        "reading another MSP's client",
    );
    expect_not_found(
        r.list_members(&f.admin, theirs, PageRequest::first(10))
            .await,
        "members of another MSP's client",
    );
    expect_not_found(
        r.list_clients(&f.admin, other.msp, PageRequest::first(10))
            .await,
        "another MSP's client list",
    );
    expect_not_found(
        r.create_client(&f.admin, other.msp, "Planted").await,
        "creating under another MSP",
    );
    expect_not_found(
        r.assign_staff(&f.admin, f.msp, theirs, f.admin.user, Role::Technician)
            .await,
        "assigning into another MSP's client",
    );
    expect_not_found(
        r.rename_organization(&f.admin, theirs, "Hijacked").await,
        "renaming another MSP's client",
    );
    // A missing org reads exactly like a foreign one.
    expect_not_found(
        r.authorize(&f.admin, OrgId(Uuid::now_v7()), Permission::OrgRead)
            .await,
        "a missing org",
    );
    let untouched = r
        .get_organization(&other.admin, theirs)
        .await
        .expect("their admin still reads it");
    assert_eq!(untouched.name, "Acme Dental (Southwind IT)");
}

pub async fn unassigning_staff_removes_only_msp_assignments(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, _] = f.clients;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    r.assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
        .expect("assign");
    r.authorize(&tom, c1, Permission::TicketsRead)
        .await
        .expect("Tom works in client 1");
    r.unassign_staff(&f.admin, f.msp, c1, tom.user)
        .await
        .expect("unassign");
    expect_not_found(
        r.authorize(&tom, c1, Permission::TicketsRead).await,
        "Tom after unassignment",
    );
    r.authorize(&tom, f.msp, Permission::TicketsRead)
        .await
        .expect("Tom keeps his MSP role");
    expect_not_found(
        r.unassign_staff(&f.admin, f.msp, c1, tom.user).await,
        "unassigning twice",
    );

    // A membership the client granted itself is not an MSP assignment.
    let auditor = member(&f, c1, "auditor@acme.test", Role::Viewer).await;
    expect_not_found(
        r.unassign_staff(&f.admin, f.msp, c1, auditor.user).await,
        "unassigning a client's own member",
    );
    r.authorize(&auditor, c1, Permission::OrgRead)
        .await
        .expect("auditor keeps access");
    assert!(
        actions(&f, c1)
            .await
            .contains(&"staff.unassigned".to_owned())
    );
}

pub async fn delegated_access_is_recorded_in_the_client_chain(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, _] = f.clients;
    let viewer = member(&f, c1, "exec@acme.test", Role::Viewer).await;
    let before = store::audit_chain(r.store(), c1)
        .await
        .expect("audit")
        .len();

    r.list_members(&viewer, c1, PageRequest::first(10))
        .await
        .expect("member reads");
    let after_member_read = store::audit_chain(r.store(), c1).await.expect("audit");
    assert_eq!(
        after_member_read.len(),
        before,
        "a member's own read is not an access event"
    );

    r.list_members(&f.admin, c1, PageRequest::first(10))
        .await
        .expect("MSP admin reads");
    r.get_organization(&f.operator, c1)
        .await
        .expect("operator reads");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let access: Vec<_> = chain
        .iter()
        .filter(|e| e.action == "access.delegated")
        .collect();
    assert_eq!(access.len(), 2, "both delegated reads are recorded");
    assert_eq!(access[0].actor.user, Some(f.admin.user));
    assert_eq!(access[0].actor.via, Some(Via::MspDelegation { msp: f.msp }));
    assert_eq!(access[0].details, json!({ "permission": "org.read" }));
    assert_eq!(access[1].actor.via, Some(Via::Platform));

    // A delegated write carries the delegation on its own event.
    r.rename_organization(&f.admin, c1, "Acme Dental Group")
        .await
        .expect("rename");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let rename = chain.last().expect("an event");
    assert_eq!(rename.action, "organization.renamed");
    assert_eq!(rename.actor.via, Some(Via::MspDelegation { msp: f.msp }));
    assert_eq!(
        rename.details,
        json!({ "from": "Acme Dental (Northwind IT)", "to": "Acme Dental Group" })
    );
    let report = r
        .verify_audit_chain(&viewer, c1)
        .await
        .expect("viewer verifies");
    assert_eq!(report.first_break, None);
    assert_eq!(report.events as usize, chain.len());
}

pub async fn tenant_switching_lists_every_reachable_org(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    r.assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
        .expect("assign");
    r.assign_staff(&f.admin, f.msp, c2, tom.user, Role::ComplianceOfficer)
        .await
        .expect("assign");

    let roles_of = |access: Vec<crate::tenancy::OrgAccess>| -> Vec<(OrgId, Vec<RoleGrant>)> {
        access.into_iter().map(|a| (a.org.id, a.roles)).collect()
    };
    let grant = |role, via| RoleGrant { role, via };
    let toms = roles_of(r.my_organizations(&tom).await.expect("Tom's orgs"));
    assert_eq!(
        toms,
        vec![
            (f.msp, vec![grant(Role::Technician, Via::Membership)]),
            (c1, vec![grant(Role::Technician, Via::Membership)]),
            (c2, vec![grant(Role::ComplianceOfficer, Via::Membership)]),
        ]
    );
    let delegation = Via::MspDelegation { msp: f.msp };
    let admins = roles_of(r.my_organizations(&f.admin).await.expect("admin's orgs"));
    assert_eq!(
        admins,
        vec![
            (f.msp, vec![grant(Role::MspAdmin, Via::Membership)]),
            (c1, vec![grant(Role::OrgAdmin, delegation)]),
            (c2, vec![grant(Role::OrgAdmin, delegation)]),
        ]
    );
    let other = r
        .create_organization(&f.operator, "Solo Clinic", OrgKind::Standalone)
        .await
        .expect("standalone");
    let loner = r
        .add_member(
            &f.operator,
            other.id,
            "owner@solo.test",
            "Owner",
            Role::OrgAdmin,
        )
        .await
        .expect("owner");
    let lone = roles_of(
        r.my_organizations(&Principal::new(loner.user))
            .await
            .expect("owner's orgs"),
    );
    assert_eq!(
        lone,
        vec![(other.id, vec![grant(Role::OrgAdmin, Via::Membership)])]
    );
    let orgs: BTreeSet<OrgId> = r
        .list_organizations(&f.operator, PageRequest::first(50))
        .await
        .expect("operator lists all")
        .into_iter()
        .map(|o: Organization| o.id)
        .collect();
    assert_eq!(orgs, BTreeSet::from([f.msp, c1, c2, other.id]));
    expect_denied(
        r.list_organizations(&tom, PageRequest::first(50)).await,
        "non-operator listing all orgs",
    );
}

pub async fn denied_operations_change_nothing(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let viewer = member(&f, c1, "exec@acme.test", Role::Viewer).await;
    let employee = member(&f, c1, "clerk@acme.test", Role::Employee).await;
    let snapshot = |org: OrgId| async move {
        let chain = store::audit_chain(r.store(), org).await.expect("audit");
        let org_record = r
            .store()
            .get(Scope::Platform, "organization", org.0)
            .await
            .expect("get");
        let members = r
            .store()
            .find(
                Scope::Platform,
                "membership",
                "org",
                &org.to_string(),
                PageRequest::first(100),
            )
            .await
            .expect("find");
        (chain, org_record, members)
    };
    let before = (
        snapshot(c1).await,
        snapshot(c2).await,
        snapshot(f.msp).await,
    );

    expect_denied(
        r.rename_organization(&viewer, c1, "Viewer was here").await,
        "viewer renaming",
    );
    expect_denied(
        r.add_member(&viewer, c1, "friend@acme.test", "Friend", Role::OrgAdmin)
            .await,
        "viewer adding an admin",
    );
    expect_denied(
        r.change_member_role(&employee, c1, employee.user, Role::OrgAdmin)
            .await,
        "self-promotion",
    );
    expect_denied(
        r.list_members(&employee, c1, PageRequest::first(10)).await,
        "employee reading members",
    );
    expect_denied(
        r.audit_log(&employee, c1, None, 10).await,
        "employee reading audit",
    );
    expect_not_found(
        r.remove_member(&viewer, c2, f.admin.user).await,
        "viewer acting in another client",
    );
    expect_not_found(
        r.rename_organization(&employee, f.msp, "Owned").await,
        "client employee acting in the MSP",
    );

    let after = (
        snapshot(c1).await,
        snapshot(c2).await,
        snapshot(f.msp).await,
    );
    assert!(
        before == after,
        "denied operations wrote nothing, not even an audit event"
    );
}

pub async fn concurrent_service_updates_apply_or_conflict(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    let before = store::audit_chain(r.store(), f.msp)
        .await
        .expect("audit")
        .len();
    let roles = [
        Role::Viewer,
        Role::ComplianceOfficer,
        Role::ComplianceManager,
        Role::Employee,
    ];
    let updates =
        (0..32).map(|n| r.change_member_role(&f.admin, f.msp, tom.user, roles[n % roles.len()]));
    let results = join_all(updates).await;
    let mut applied = Vec::new();
    for result in results {
        match result {
            Ok(m) => applied.push(m.role),
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("a concurrent update either applies or conflicts, got {e}"),
        }
    }
    assert!(
        !applied.is_empty(),
        "at least one of the concurrent updates applies"
    );
    let chain = store::audit_chain(r.store(), f.msp).await.expect("audit");
    assert_eq!(audit::verify(f.msp, &chain), Ok(()), "no fork, no gap");
    let changes: Vec<_> = chain[before..]
        .iter()
        .filter(|e| e.action == "membership.role_changed")
        .collect();
    assert_eq!(
        changes.len(),
        applied.len(),
        "every applied update, and only those, is in the chain"
    );
    let stored = r
        .store()
        .find(
            Scope::Platform,
            "membership",
            "org_user",
            &format!("{}/{}", f.msp, tom.user),
            PageRequest::first(1),
        )
        .await
        .expect("find")
        .pop()
        .expect("membership exists");
    assert_eq!(
        stored.version,
        1 + applied.len() as u64,
        "no applied update was lost"
    );
    let last = changes.last().expect("one applied").details["to"].clone();
    assert_eq!(
        stored.body["role"], last,
        "the stored role is the last applied one"
    );
}

fn custom_framework(key: &str, control: &str) -> crate::catalog::CustomFrameworkDef {
    serde_json::from_value(json!({
        "framework": {
            "key": key,
            "name": "Acme Internal Standard",
            "version": "2026",
            "requirements": [
                { "id": "ACME", "title": "Acme requirements", "parent": null, "assessable": false },
                {
                    "id": "ACME-1", "title": "Laptops encrypted", "parent": "ACME", "assessable": true,
                    "description": "Every company laptop encrypts its disk.",
                    "controls": ["CR-01"]
                },
                {
                    "id": "ACME-2", "title": "Badge audit", "parent": "ACME", "assessable": true,
                    "description": "Badge logs are reviewed monthly.",
                    "controls": [control, "PS-02"]
                }
            ]
        },
        "controls": [{
            "key": "ACME-01", "domain": "physical_security", "title": "Monthly badge audit",
            "description": "Badge access logs are reviewed every month.", "evidence": ["record"]
        }]
    }))
    .expect("well-formed definition")
}

pub async fn custom_frameworks_are_checked_and_kept_per_org(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let added = r
        .add_custom_framework(&f.admin, c1, custom_framework("acme-internal", "ACME-01"))
        .await
        .expect("a valid custom framework is accepted");
    assert_eq!(added.framework.key, "acme-internal");
    let catalog = r.org_catalog(&f.admin, c1).await.expect("catalog");
    assert_eq!(
        catalog.frameworks().len(),
        9,
        "the built-in eight and the org's own"
    );
    let refs: Vec<String> = catalog
        .requirements_of("ACME-01")
        .iter()
        .map(|q| q.id.clone())
        .collect();
    assert_eq!(
        refs,
        ["ACME-2"],
        "the org's control is indexed like a built-in one"
    );
    assert!(
        catalog
            .requirements_of("CR-01")
            .iter()
            .any(|q| q.framework == "acme-internal"),
        "built-in controls now also satisfy the org's requirement"
    );
    // Another tenant sees only the built-in catalog.
    assert_eq!(
        r.org_catalog(&f.admin, c2)
            .await
            .expect("catalog")
            .frameworks()
            .len(),
        8
    );
    assert!(
        r.custom_frameworks(&f.admin, c2)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        r.custom_frameworks(&f.admin, c1).await.expect("list").len(),
        1
    );

    // Checked like the built-in catalogs, every problem named by its path.
    expect_invalid(
        r.add_custom_framework(&f.admin, c2, custom_framework("other", "NOPE-99"))
            .await,
        "framework.requirements[2].controls",
    );
    expect_invalid(
        r.add_custom_framework(&f.admin, c2, custom_framework("hipaa", "ACME-01"))
            .await,
        "framework.key",
    );
    let mut clash = custom_framework("clash", "ACME-01");
    clash.controls[0].key = "AC-01".into();
    expect_invalid(
        r.add_custom_framework(&f.admin, c2, clash).await,
        "controls[0].key",
    );
    match r
        .add_custom_framework(&f.admin, c1, custom_framework("acme-internal", "PS-01"))
        .await
    {
        Err(Error::Validation(errors)) => {
            assert!(errors.iter().any(|e| e.field == "framework.key"))
        }
        other => panic!("a second framework with the same key must be refused, got {other:?}"),
    }
    let viewer = member(&f, c1, "auditor@acme.test", Role::Viewer).await;
    expect_denied(
        r.add_custom_framework(&viewer, c1, custom_framework("viewer-made", "ACME-01"))
            .await,
        "viewer adding a framework",
    );
    assert_eq!(
        r.custom_frameworks(&viewer, c1)
            .await
            .expect("viewer reads")
            .len(),
        1
    );
    assert!(
        actions(&f, c1)
            .await
            .contains(&"framework.custom_added".to_owned())
    );

    r.remove_custom_framework(&f.admin, c1, "acme-internal")
        .await
        .expect("removed");
    assert_eq!(
        r.org_catalog(&f.admin, c1)
            .await
            .expect("catalog")
            .frameworks()
            .len(),
        8
    );
    expect_not_found(
        r.remove_custom_framework(&f.admin, c1, "acme-internal")
            .await,
        "removing twice",
    );
}

// ----- compliance -----------------------------------------------------------

use crate::compliance::{
    AgreementStatus, CmmcLevel, CmmcProfile, ControlStatus, ControlUpdate, FtcProfile,
    NewAgreement, NewEvidence, PciAppendix, QualifiedIndividual, RequirementStatus,
    TrustServicesCategory,
};

/// A client with a compliance manager and officer, on a clock the case can move.
pub struct ComplianceFixture {
    pub msp: MspFixture,
    pub org: OrgId,
    pub manager: Principal,
    pub officer: Principal,
    pub clock: Arc<crate::ManualClock>,
}

impl std::fmt::Debug for ComplianceFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComplianceFixture")
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

pub async fn compliance_fixture(store: Arc<dyn Store>) -> ComplianceFixture {
    let clock = Arc::new(crate::ManualClock::new(at(0)));
    let regentra = Regentra::new(store)
        .with_ids(Arc::new(DeterministicIds::new(7)))
        .with_entropy(Arc::new(crate::clock::SeededEntropy::new(7)))
        .with_password_hashing(crate::auth::PasswordHashing::insecure_for_tests())
        .with_clock(clock.clone());
    let operator = regentra
        .bootstrap_platform_admin("ops@platform.test", "Platform Ops")
        .await
        .expect("bootstrap");
    let msp = msp_in(regentra, Principal::new(operator.id), "Northwind IT").await;
    let org = msp.clients[0];
    let manager = member(&msp, org, "ciso@acme.test", Role::ComplianceManager).await;
    let officer = member(&msp, org, "officer@acme.test", Role::ComplianceOfficer).await;
    ComplianceFixture {
        msp,
        org,
        manager,
        officer,
        clock,
    }
}

impl ComplianceFixture {
    pub fn r(&self) -> &Regentra {
        &self.msp.regentra
    }

    pub async fn adopt(&self, framework: &str) {
        self.r()
            .adopt_framework(&self.manager, self.org, framework)
            .await
            .unwrap_or_else(|e| panic!("adopting {framework}: {e}"));
    }

    /// Marks a control implemented and attaches current evidence to it.
    pub async fn implement(&self, control: &str) {
        let r = self.r();
        r.update_control(
            &self.officer,
            self.org,
            control,
            None,
            ControlUpdate {
                status: Some(ControlStatus::Implemented),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("implementing {control}: {e}"));
        let meta = NewEvidence {
            title: format!("{control} evidence"),
            controls: BTreeSet::from([control.to_owned()]),
            ..Default::default()
        };
        r.add_link_evidence(
            &self.officer,
            self.org,
            meta,
            "https://tickets.acme.test/42",
        )
        .await
        .unwrap_or_else(|e| panic!("evidence for {control}: {e}"));
    }

    pub async fn status(&self, framework: &str, requirement: &str) -> RequirementStatus {
        let evaluation = self
            .r()
            .evaluation(&self.manager, self.org)
            .await
            .expect("evaluation");
        evaluation
            .framework(framework)
            .unwrap_or_else(|| panic!("{framework} is adopted"))
            .requirements
            .iter()
            .find(|r| r.id == requirement)
            .unwrap_or_else(|| panic!("{framework} {requirement}"))
            .status
    }

    pub async fn score(&self, framework: &str) -> f64 {
        let gaps = self
            .r()
            .gap_analysis(&self.manager, self.org)
            .await
            .expect("gap analysis");
        gaps.framework(framework).expect("adopted").score
    }
}

fn needed_controls(framework: &str) -> BTreeSet<String> {
    crate::catalog::Catalog::builtin()
        .framework(framework)
        .expect("built in")
        .assessable()
        .flat_map(|r| r.controls.iter().cloned())
        .collect()
}

pub async fn adopting_reuses_shared_controls_and_is_idempotent(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    let after_hipaa = r.controls(&f.manager, f.org).await.expect("controls").len();
    assert_eq!(
        after_hipaa,
        needed_controls("hipaa").len(),
        "one implementation per needed control"
    );
    f.adopt("soc2").await;
    let union: BTreeSet<String> = needed_controls("hipaa")
        .union(&needed_controls("soc2"))
        .cloned()
        .collect();
    let controls = r.controls(&f.manager, f.org).await.expect("controls");
    assert_eq!(
        controls.len(),
        union.len(),
        "shared controls are reused, not copied"
    );
    let chain = store::audit_chain(r.store(), f.org)
        .await
        .expect("audit")
        .len();
    f.adopt("soc2").await;
    assert_eq!(
        r.controls(&f.manager, f.org).await.expect("controls").len(),
        union.len()
    );
    assert_eq!(
        store::audit_chain(r.store(), f.org)
            .await
            .expect("audit")
            .len(),
        chain,
        "adopting an adopted framework changes nothing"
    );
    let adopted = actions(&f.msp, f.org)
        .await
        .iter()
        .filter(|a| *a == "framework.adopted")
        .count();
    assert_eq!(adopted, 2);
    expect_invalid(
        r.adopt_framework(&f.manager, f.org, "sox").await,
        "framework",
    );
}

pub async fn a_shared_control_update_shows_in_every_framework(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    f.adopt("hipaa").await;
    f.adopt("soc2").await;
    // Risk assessment (RM-01) serves HIPAA's risk analysis and SOC 2's risk criteria.
    let soc2_with_rm01: Vec<String> = crate::catalog::Catalog::builtin()
        .framework("soc2")
        .expect("soc2")
        .assessable()
        .filter(|r| r.controls.iter().any(|c| c == "RM-01"))
        .map(|r| r.id.clone())
        .collect();
    assert!(!soc2_with_rm01.is_empty());
    let (hipaa_before, soc2_before) = (f.score("hipaa").await, f.score("soc2").await);
    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Gap
    );

    f.implement("RM-01").await;

    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Satisfied,
        "HIPAA's risk analysis maps to RM-01 alone"
    );
    for id in &soc2_with_rm01 {
        let s = f.status("soc2", id).await;
        assert!(
            s != RequirementStatus::Gap,
            "SOC 2 {id} moved off gap, is {s:?}"
        );
    }
    assert!(
        f.score("hipaa").await > hipaa_before,
        "the HIPAA score rose"
    );
    assert!(f.score("soc2").await >= soc2_before);
    let gaps = f.r().gap_analysis(&f.manager, f.org).await.expect("gaps");
    assert!(
        gaps.summary
            .shared_controls
            .iter()
            .any(|s| s.control == "RM-01" && s.frameworks.len() == 2)
    );
}

pub async fn expired_evidence_stops_counting(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    r.update_control(
        &f.officer,
        f.org,
        "RM-01",
        None,
        ControlUpdate {
            status: Some(ControlStatus::Implemented),
            ..Default::default()
        },
    )
    .await
    .expect("implemented");
    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Gap,
        "implemented without evidence does not count"
    );
    let meta = NewEvidence {
        title: "2026 risk assessment".into(),
        valid_until: Some(at(0) + chrono::Duration::days(365)),
        controls: BTreeSet::from(["RM-01".to_owned()]),
        ..Default::default()
    };
    r.add_attestation(
        &f.officer,
        f.org,
        meta,
        "We assessed risk across all ePHI systems.",
    )
    .await
    .expect("attestation");
    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Satisfied
    );

    f.clock.advance(chrono::Duration::days(366));
    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Gap,
        "expired evidence no longer satisfies the requirement"
    );
    let listed = r
        .evidence(&f.manager, f.org, Some("RM-01"))
        .await
        .expect("evidence");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].expired, "expired evidence is shown as expired");
    let view = r
        .control(&f.manager, f.org, "RM-01")
        .await
        .expect("control");
    assert_eq!(
        (view.state.current_evidence, view.state.expired_evidence),
        (0, 1)
    );
}

pub async fn unadopt_then_readopt_loses_nothing(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("soc2").await;
    f.implement("AC-01").await;
    r.set_trust_services_categories(
        &f.manager,
        f.org,
        BTreeSet::from([TrustServicesCategory::Availability]),
    )
    .await
    .expect("categories");
    r.scope_requirement(
        &f.manager,
        f.org,
        "soc2",
        "CC9.2",
        Some("No vendors handle customer data"),
    )
    .await
    .expect("scoped out");
    let before = r.gap_analysis(&f.manager, f.org).await.expect("gaps");
    let before = before.framework("soc2").expect("soc2").clone();

    r.unadopt_framework(&f.manager, f.org, "soc2")
        .await
        .expect("unadopted");
    let hidden = r.gap_analysis(&f.manager, f.org).await.expect("gaps");
    assert!(
        hidden.framework("soc2").is_none(),
        "an unadopted framework is hidden"
    );
    assert_eq!(
        r.controls(&f.manager, f.org).await.expect("controls").len(),
        needed_controls("soc2").len(),
        "controls stay"
    );
    assert_eq!(
        r.evidence(&f.manager, f.org, None)
            .await
            .expect("evidence")
            .len(),
        1,
        "evidence stays"
    );
    expect_invalid(
        r.scope_requirement(&f.manager, f.org, "soc2", "CC9.1", Some("x"))
            .await,
        "framework",
    );

    f.adopt("soc2").await;
    let after = r.gap_analysis(&f.manager, f.org).await.expect("gaps");
    let after = after.framework("soc2").expect("soc2");
    assert_eq!(
        after.requirements, before.requirements,
        "re-adopting restores the same state"
    );
    assert_eq!(after.score, before.score);
    let a1 = after
        .requirements
        .iter()
        .find(|q| q.id == "A1.1")
        .expect("A1.1");
    assert_ne!(
        a1.status,
        RequirementStatus::NotApplicable,
        "the category choice survived"
    );
    let cc92 = after
        .requirements
        .iter()
        .find(|q| q.id == "CC9.2")
        .expect("CC9.2");
    assert_eq!(
        cc92.justification.as_deref(),
        Some("No vendors handle customer data")
    );
}

pub async fn control_rules_and_optimistic_versions(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("gdpr").await;
    expect_invalid(
        r.update_control(
            &f.officer,
            f.org,
            "PV-08",
            None,
            ControlUpdate {
                status: Some(ControlStatus::NotApplicable),
                ..Default::default()
            },
        )
        .await,
        "justification",
    );
    let view = r
        .control(&f.manager, f.org, "PV-08")
        .await
        .expect("control");
    assert_eq!(
        view.implementation.status,
        ControlStatus::NotStarted,
        "the refused update wrote nothing"
    );
    let updated = r
        .update_control(
            &f.officer,
            f.org,
            "PV-08",
            Some(view.version),
            ControlUpdate {
                status: Some(ControlStatus::NotApplicable),
                justification: Some("All processing stays in the EU".into()),
                owner: Some(Some(f.manager.user)),
                ..Default::default()
            },
        )
        .await
        .expect("update at the read version");
    assert_eq!(updated.version, view.version + 1);
    match r
        .update_control(
            &f.officer,
            f.org,
            "PV-08",
            Some(view.version),
            ControlUpdate::default(),
        )
        .await
    {
        Err(Error::Conflict { .. }) => {}
        other => panic!("an update at a stale version must conflict, got {other:?}"),
    }
    expect_invalid(
        r.update_control(
            &f.officer,
            f.org,
            "PV-08",
            None,
            ControlUpdate {
                owner: Some(Some(f.msp.admin.user)),
                ..Default::default()
            },
        )
        .await,
        "owner",
    );
    expect_not_found(
        r.update_control(&f.officer, f.org, "ZZ-99", None, ControlUpdate::default())
            .await,
        "a control outside the program",
    );
    // A not-applicable control counts, so Art. 44-49 (transfers) are satisfied.
    assert_eq!(
        f.status("gdpr", "Art. 46").await,
        RequirementStatus::Satisfied
    );
}

pub async fn file_evidence_is_streamed_hashed_and_bounded(store: Arc<dyn Store>) {
    use futures::StreamExt as _;
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    // 600 KiB in 10 KiB pieces: three chunks in the store.
    let bytes: Vec<u8> = (0..600 * 1024).map(|i| (i % 251) as u8).collect();
    let pieces: Vec<std::result::Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(10 * 1024).map(|c| Ok(c.to_vec())).collect();
    let meta = NewEvidence {
        title: "Firewall configuration export".into(),
        collected_at: Some(at(-3600)),
        controls: BTreeSet::from(["NS-01".to_owned()]),
        ..Default::default()
    };
    let evidence = r
        .add_file_evidence(
            &f.officer,
            f.org,
            meta,
            "fw.cfg",
            "Text/Plain",
            futures::stream::iter(pieces),
        )
        .await
        .expect("file stored");
    use sha2::Digest as _;
    let expected_hash = hex::encode(sha2::Sha256::digest(&bytes));
    match &evidence.content {
        crate::compliance::EvidenceContent::File {
            size,
            sha256,
            chunks,
            content_type,
            ..
        } => {
            assert_eq!(*size, bytes.len() as u64);
            assert_eq!(sha256, &expected_hash, "hashed while streaming");
            assert_eq!(*chunks, 3);
            assert_eq!(content_type, "text/plain");
        }
        other => panic!("a file, got {other:?}"),
    }
    assert_eq!(
        evidence.collected_at,
        at(-3600),
        "collected and uploaded times are kept apart"
    );
    assert_eq!(evidence.uploaded_at, at(0));
    let file = r
        .open_evidence_file(&f.manager, f.org, evidence.id)
        .await
        .expect("open");
    assert_eq!(file.sha256, expected_hash);
    let read: Vec<Vec<u8>> = file.chunks.map(|c| c.expect("chunk")).collect().await;
    assert_eq!(read.concat(), bytes, "the file reads back byte for byte");

    // Over the limit: refused, and nothing recorded.
    let small = r.clone().with_evidence_limit(1000);
    let big: Vec<std::result::Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![1; 600]), Ok(vec![2; 600])];
    let meta = NewEvidence {
        title: "Too big".into(),
        ..Default::default()
    };
    expect_invalid(
        small
            .add_file_evidence(
                &f.officer,
                f.org,
                meta.clone(),
                "big.bin",
                "application/octet-stream",
                futures::stream::iter(big),
            )
            .await,
        "file",
    );
    let failing: Vec<std::result::Result<Vec<u8>, std::io::Error>> = vec![
        Ok(vec![1; 10]),
        Err(std::io::Error::other("connection reset")),
    ];
    expect_invalid(
        r.add_file_evidence(
            &f.officer,
            f.org,
            meta.clone(),
            "cut.bin",
            "application/octet-stream",
            futures::stream::iter(failing),
        )
        .await,
        "file",
    );
    assert_eq!(
        r.evidence(&f.manager, f.org, None)
            .await
            .expect("list")
            .len(),
        1,
        "refused uploads leave no record"
    );
    // Evidence supports controls of the org's program only.
    let stray = NewEvidence {
        title: "Stray".into(),
        controls: BTreeSet::from(["PS-05".to_owned()]),
        ..Default::default()
    };
    expect_invalid(
        r.add_link_evidence(&f.officer, f.org, stray, "https://x.test")
            .await,
        "controls",
    );
    expect_invalid(
        r.add_link_evidence(&f.officer, f.org, meta.clone(), "ftp://x.test")
            .await,
        "url",
    );
    let backwards = NewEvidence {
        valid_until: Some(at(-10)),
        ..meta
    };
    expect_invalid(
        r.add_link_evidence(&f.officer, f.org, backwards, "https://x.test")
            .await,
        "valid_until",
    );
}

pub async fn framework_features_unlock_with_adoption(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let baa = |vendor: &str, renewal_days: i64| NewAgreement {
        vendor: vendor.into(),
        services: "Cloud backup".into(),
        phi_access: "Stores encrypted ePHI".into(),
        status: AgreementStatus::Signed,
        signed_on: Some(at(0).date_naive() - chrono::Duration::days(300)),
        renewal_due: Some(at(0).date_naive() + chrono::Duration::days(renewal_days)),
        document: None,
        notes: String::new(),
    };
    match r
        .add_agreement(&f.officer, f.org, baa("Backblaze", 20))
        .await
    {
        Err(Error::Validation(errors)) => {
            assert_eq!(errors[0].field, "framework");
            assert!(
                errors[0]
                    .message
                    .contains("adopt the hipaa framework first"),
                "{}",
                errors[0].message
            );
        }
        other => panic!("BAA tracking must wait for HIPAA, got {other:?}"),
    }
    f.adopt("hipaa").await;
    r.add_agreement(&f.officer, f.org, baa("Backblaze", 20))
        .await
        .expect("BAA");
    r.add_agreement(&f.officer, f.org, baa("Datto", 200))
        .await
        .expect("BAA");
    match r
        .add_agreement(&f.officer, f.org, baa("backblaze", 20))
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "vendor"),
        other => panic!("one agreement per vendor, got {other:?}"),
    }
    let mut unsigned = baa("Nobody", 30);
    unsigned.signed_on = None;
    expect_invalid(
        r.add_agreement(&f.officer, f.org, unsigned).await,
        "signed_on",
    );
    let due = r
        .agreements_expiring(&f.manager, f.org, 30)
        .await
        .expect("expiring");
    assert_eq!(
        due.iter().map(|a| a.vendor.as_str()).collect::<Vec<_>>(),
        ["Backblaze"]
    );
    // A horizon past the end of the calendar holds every signed renewal
    // (found by fuzzing the HTTP API: it used to overflow).
    let all = r
        .agreements_expiring(&f.manager, f.org, u32::MAX)
        .await
        .expect("a huge horizon is no error");
    assert!(all.len() >= due.len());
    r.unadopt_framework(&f.manager, f.org, "hipaa")
        .await
        .expect("unadopt");
    expect_invalid(r.agreements(&f.manager, f.org).await, "framework");
    f.adopt("hipaa").await;
    assert_eq!(
        r.agreements(&f.manager, f.org).await.expect("kept").len(),
        2,
        "the register survived"
    );

    // ISO 27001: the Statement of Applicability.
    expect_invalid(
        r.statement_of_applicability(&f.manager, f.org).await,
        "framework",
    );
    f.adopt("iso27001").await;
    expect_invalid(
        r.scope_requirement(&f.manager, f.org, "iso27001", "A.7.4", Some("  "))
            .await,
        "justification",
    );
    r.scope_requirement(
        &f.manager,
        f.org,
        "iso27001",
        "A.7.4",
        Some("No physical premises; fully remote"),
    )
    .await
    .expect("excluded");
    let soa = r
        .statement_of_applicability(&f.manager, f.org)
        .await
        .expect("SoA");
    assert_eq!(soa.len(), 93, "every Annex A control");
    let excluded = soa.iter().find(|e| e.control == "A.7.4").expect("A.7.4");
    assert!(!excluded.applicable);
    assert_eq!(
        excluded.justification.as_deref(),
        Some("No physical premises; fully remote")
    );
    let csv = r
        .statement_of_applicability_csv(&f.manager, f.org)
        .await
        .expect("csv");
    assert_eq!(csv.lines().count(), 94);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("A.7.4,") && l.contains(",no,No physical premises")),
        "{csv}"
    );

    // SOC 2: security always in scope; other categories opt in.
    f.adopt("soc2").await;
    assert_eq!(
        f.status("soc2", "A1.1").await,
        RequirementStatus::NotApplicable
    );
    assert_ne!(
        f.status("soc2", "CC6.1").await,
        RequirementStatus::NotApplicable
    );
    let adoption = r
        .set_trust_services_categories(
            &f.manager,
            f.org,
            BTreeSet::from([TrustServicesCategory::Availability]),
        )
        .await
        .expect("categories");
    assert!(
        adoption
            .settings
            .trust_services_categories
            .expect("set")
            .contains(&TrustServicesCategory::Security)
    );
    assert_ne!(
        f.status("soc2", "A1.1").await,
        RequirementStatus::NotApplicable
    );
    assert_eq!(
        f.status("soc2", "C1.1").await,
        RequirementStatus::NotApplicable
    );

    // PCI DSS: appendices apply only when declared.
    f.adopt("pci-dss").await;
    assert_eq!(
        f.status("pci-dss", "A1.1.1").await,
        RequirementStatus::NotApplicable
    );
    r.set_pci_appendices(&f.manager, f.org, BTreeSet::from([PciAppendix::A1]))
        .await
        .expect("appendices");
    assert_ne!(
        f.status("pci-dss", "A1.1.1").await,
        RequirementStatus::NotApplicable
    );
    assert_eq!(
        f.status("pci-dss", "A3.1.1").await,
        RequirementStatus::NotApplicable
    );

    // FTC Safeguards: the qualified individual and the small-institution exemption.
    f.adopt("ftc-safeguards").await;
    let qi = QualifiedIndividual {
        name: "Dana Cho".into(),
        title: "vCISO".into(),
        user: None,
        employer: Some("Northwind IT".into()),
        designated_on: at(0).date_naive(),
    };
    let adoption = r
        .set_ftc_profile(
            &f.manager,
            f.org,
            FtcProfile {
                qualified_individual: Some(qi.clone()),
                small_institution: true,
            },
        )
        .await
        .expect("FTC profile");
    assert_eq!(
        adoption.settings.ftc.expect("set").qualified_individual,
        Some(qi)
    );
    let evaluation = r.evaluation(&f.manager, f.org).await.expect("evaluation");
    for r in &evaluation
        .framework("ftc-safeguards")
        .expect("ftc")
        .requirements
    {
        let exempt = ["314.4(b)(1)", "314.4(d)(2)", "314.4(h)", "314.4(i)"]
            .iter()
            .any(|p| r.id.starts_with(p));
        assert_eq!(
            r.status == RequirementStatus::NotApplicable,
            exempt,
            "{}",
            r.id
        );
    }

    // CMMC: a Level 1 target scopes Level 2 out.
    f.adopt("cmmc").await;
    r.set_cmmc_profile(
        &f.manager,
        f.org,
        CmmcProfile {
            target_level: CmmcLevel::L1,
            mfa_partial: false,
            encryption_not_fips_validated: false,
        },
    )
    .await
    .expect("profile");
    assert_eq!(
        f.status("cmmc", "AC.L2-3.1.1").await,
        RequirementStatus::NotApplicable
    );
    assert_ne!(
        f.status("cmmc", "AC.L1-b.1.i").await,
        RequirementStatus::NotApplicable
    );
}

pub async fn sprs_score_starts_at_minus_203_and_credits_partial_mfa(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    expect_invalid(r.sprs_score(&f.manager, f.org).await, "framework");
    f.adopt("cmmc").await;
    let nothing = r.sprs_score(&f.manager, f.org).await.expect("score");
    assert_eq!(
        (nothing.score, nothing.met, nothing.assessed),
        (-203, 0, 110),
        "nothing met: 110 - 313"
    );
    assert!(!nothing.system_security_plan);
    assert_eq!(nothing.plan_of_action.len(), 110);
    assert_eq!(nothing.plan_of_action[0].points, 5, "heaviest first");
    r.set_cmmc_profile(
        &f.manager,
        f.org,
        CmmcProfile {
            target_level: CmmcLevel::L2,
            mfa_partial: true,
            encryption_not_fips_validated: true,
        },
    )
    .await
    .expect("profile");
    let partial = r.sprs_score(&f.manager, f.org).await.expect("score");
    assert_eq!(partial.score, -199, "3.5.3 and 3.13.11 cost 3 instead of 5");
}

pub async fn reports_and_assessments(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    expect_invalid(
        r.gap_report(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::compliance::report::ReportFormat::Csv,
        )
        .await,
        "framework",
    );
    f.adopt("ftc-safeguards").await;
    f.implement("GV-02").await;
    let csv = r
        .gap_report(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::compliance::report::ReportFormat::Csv,
        )
        .await
        .expect("csv");
    let assessable = crate::catalog::Catalog::builtin()
        .framework("ftc-safeguards")
        .expect("ftc")
        .assessable()
        .count();
    assert_eq!(
        csv.lines().count(),
        assessable + 1,
        "a header and a row per requirement"
    );
    let md = r
        .gap_report(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::compliance::report::ReportFormat::Markdown,
        )
        .await
        .expect("markdown");
    assert!(md.starts_with("# FTC Safeguards Rule gap analysis"));
    let json: serde_json::Value = serde_json::from_str(
        &r.gap_report(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::compliance::report::ReportFormat::Json,
        )
        .await
        .expect("json"),
    )
    .expect("valid JSON");
    assert_eq!(json["framework"], "ftc-safeguards");
    let first = r
        .run_assessment(&f.officer, f.org, "ftc-safeguards")
        .await
        .expect("assessment");
    f.clock.advance(chrono::Duration::days(30));
    f.implement("RM-01").await;
    let second = r
        .run_assessment(&f.officer, f.org, "ftc-safeguards")
        .await
        .expect("assessment");
    assert!(
        second.score > first.score,
        "progress shows between assessments"
    );
    let history = r
        .assessments(&f.manager, f.org, "ftc-safeguards")
        .await
        .expect("history");
    assert_eq!(
        history.iter().map(|a| a.at).collect::<Vec<_>>(),
        [first.at, second.at]
    );
}

pub async fn gaps_put_the_controls_closing_most_requirements_first(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    f.adopt("hipaa").await;
    f.adopt("nist-csf").await;
    f.implement("GV-01").await;
    let gaps = f.r().gap_analysis(&f.manager, f.org).await.expect("gaps");
    // Count, independently, the open requirements each control maps across both frameworks.
    let catalog = crate::catalog::Catalog::builtin();
    let evaluation = f
        .r()
        .evaluation(&f.manager, f.org)
        .await
        .expect("evaluation");
    let mut expected: std::collections::BTreeMap<&str, usize> = Default::default();
    for fe in &evaluation.frameworks {
        for q in &fe.requirements {
            if matches!(
                q.status,
                RequirementStatus::Gap | RequirementStatus::Partial
            ) {
                for c in &q.missing {
                    *expected.entry(c.as_str()).or_default() += 1;
                }
            }
        }
    }
    for fw in &gaps.frameworks {
        let closes: Vec<usize> = fw.priorities.iter().map(|p| p.closes).collect();
        assert!(
            closes.windows(2).all(|w| w[0] >= w[1]),
            "{} priorities ordered by leverage",
            fw.framework
        );
        for p in &fw.priorities {
            assert_eq!(
                p.closes,
                expected[p.control.as_str()],
                "{} closes",
                p.control
            );
        }
        let best: Vec<usize> = fw.gaps.iter().map(|g| g.missing[0].closes).collect();
        assert!(
            best.windows(2).all(|w| w[0] >= w[1]),
            "gaps ordered by their best control"
        );
        let total: usize = fw.sections.iter().map(|s| s.totals.total).sum();
        assert_eq!(
            total,
            catalog
                .framework(&fw.framework)
                .expect("fw")
                .assessable()
                .count()
        );
    }
    assert_eq!(gaps.summary.frameworks.len(), 2);
    assert_eq!(gaps.summary.consolidation.frameworks, ["hipaa", "nist-csf"]);
}

pub async fn compliance_permissions_follow_the_matrix(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let org = f.org;
    f.adopt("hipaa").await;
    let mut people = vec![
        ("compliance_manager", f.manager.clone()),
        ("compliance_officer", f.officer.clone()),
    ];
    for role in [
        Role::OrgAdmin,
        Role::Viewer,
        Role::Employee,
        Role::Technician,
    ] {
        people.push((
            role.key(),
            member(&f.msp, org, &format!("{}@acme.test", role.key()), role).await,
        ));
    }
    people.push(("msp_admin (delegated)", f.msp.admin.clone()));
    // What the issue grants, operation by operation: Y allowed, - refused.
    // columns: manager officer org_admin viewer employee technician msp_admin
    let expected: [(&str, [bool; 7]); 7] = [
        ("adopt", [true, false, true, false, false, false, true]),
        (
            "update control",
            [true, true, true, false, false, false, true],
        ),
        (
            "upload evidence",
            [true, true, true, false, false, false, true],
        ),
        (
            "run assessment",
            [true, true, true, false, false, false, true],
        ),
        ("read gaps", [true, true, true, true, false, false, true]),
        (
            "read evidence",
            [true, true, true, true, false, false, true],
        ),
        (
            "generate report",
            [true, true, true, true, false, false, true],
        ),
    ];
    for (operation, allowed) in expected {
        for ((role, who), allow) in people.iter().zip(allowed) {
            let outcome: crate::Result<()> = match operation {
                "adopt" => r.adopt_framework(who, org, "gdpr").await.map(|_| ()),
                "update control" => r
                    .update_control(
                        who,
                        org,
                        "RM-01",
                        None,
                        ControlUpdate {
                            notes: Some(format!("by {role}")),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|_| ()),
                "upload evidence" => r
                    .add_link_evidence(
                        who,
                        org,
                        NewEvidence {
                            title: format!("by {role}"),
                            ..Default::default()
                        },
                        "https://e.test",
                    )
                    .await
                    .map(|_| ()),
                "run assessment" => r.run_assessment(who, org, "hipaa").await.map(|_| ()),
                "read gaps" => r.gap_analysis(who, org).await.map(|_| ()),
                "read evidence" => r.evidence(who, org, None).await.map(|_| ()),
                "generate report" => r
                    .gap_report(
                        who,
                        org,
                        "hipaa",
                        crate::compliance::report::ReportFormat::Markdown,
                    )
                    .await
                    .map(|_| ()),
                other => unreachable!("{other}"),
            };
            match (allow, outcome) {
                (true, Ok(())) | (false, Err(Error::PermissionDenied { .. })) => {}
                (want, got) => panic!("{role} / {operation}: expected allowed={want}, got {got:?}"),
            }
        }
    }
}

// ----- policies and campaigns ----------------------------------------------

use crate::policies::campaign::NewCampaign;
use crate::policies::service::NewPolicy;
use crate::policies::{
    AcknowledgmentStatus, Audience, CampaignStatus, PolicyStatus, VersionStatus, body_hash,
};

const POLICY_TEXT: &str = "# Acceptable Use\n\nUse company systems for company work.\n";

/// A compliance fixture with a published policy (mapped to AT-01 and AM-03)
/// and two employees.
pub async fn published_policy(f: &ComplianceFixture) -> (crate::ids::PolicyId, [Principal; 2]) {
    let r = f.r();
    let policy = r
        .create_policy(
            &f.officer,
            f.org,
            NewPolicy {
                title: "Acceptable Use Policy".into(),
                category: "people".into(),
                owner: Some(f.manager.user),
                controls: BTreeSet::from(["AT-01".to_owned(), "AM-03".to_owned()]),
                body: POLICY_TEXT.into(),
            },
        )
        .await
        .expect("policy");
    r.submit_policy(&f.officer, f.org, policy.id)
        .await
        .expect("submitted");
    r.approve_policy(&f.manager, f.org, policy.id)
        .await
        .expect("approved");
    r.publish_policy(&f.manager, f.org, policy.id)
        .await
        .expect("published");
    let employees = [
        member(&f.msp, f.org, "erin@acme.test", Role::Employee).await,
        member(&f.msp, f.org, "frank@acme.test", Role::Employee).await,
    ];
    (policy.id, employees)
}

/// The officer launches the policy to every employee, due in two weeks.
async fn launch_for_employees(
    f: &ComplianceFixture,
    policy: crate::ids::PolicyId,
) -> crate::policies::Campaign {
    f.r()
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Roles(BTreeSet::from([Role::Employee])), 14),
        )
        .await
        .expect("launched")
}

fn campaign_for(audience: Audience, due_days: i64) -> NewCampaign {
    NewCampaign {
        title: None,
        audience,
        due: at(0) + chrono::Duration::days(due_days),
        cadence: Default::default(),
    }
}

pub async fn policy_versions_are_immutable_once_published(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, _) = published_policy(&f).await;
    let view = r.policy(&f.manager, f.org, policy).await.expect("policy");
    assert_eq!(view.policy.status, PolicyStatus::Published);
    let v1 = &view.versions[0];
    assert_eq!((v1.number, v1.status), (1, VersionStatus::Published));
    assert_eq!(v1.sha256, body_hash(POLICY_TEXT));
    assert_eq!(v1.approved_by, Some(f.manager.user));
    // Editing a published policy starts a new draft; v1 stays as published.
    let v2 = r
        .edit_policy(
            &f.officer,
            f.org,
            policy,
            None,
            "# Acceptable Use\n\nRevised.\n",
        )
        .await
        .expect("edit");
    assert_eq!((v2.number, v2.status), (2, VersionStatus::Draft));
    let draft_again = r
        .edit_policy(
            &f.officer,
            f.org,
            policy,
            Some("Acceptable Use Policy 2027"),
            "# Acceptable Use\n\nRevised twice.\n",
        )
        .await
        .expect("edit draft");
    assert_eq!(draft_again.number, 2, "a draft is edited in place");
    let view = r.policy(&f.manager, f.org, policy).await.expect("policy");
    assert_eq!(
        view.versions[0].body, POLICY_TEXT,
        "published text never changes"
    );
    assert_eq!(view.policy.published_version, Some(1));
    // Approval is a manager's: an officer may draft and submit, not approve.
    r.submit_policy(&f.officer, f.org, policy)
        .await
        .expect("submit");
    expect_denied(
        r.approve_policy(&f.officer, f.org, policy).await,
        "officer approving",
    );
    expect_invalid(r.publish_policy(&f.manager, f.org, policy).await, "policy");
    r.approve_policy(&f.manager, f.org, policy)
        .await
        .expect("approve");
    r.publish_policy(&f.manager, f.org, policy)
        .await
        .expect("publish v2");
    let view = r.policy(&f.manager, f.org, policy).await.expect("policy");
    assert_eq!(
        view.versions
            .iter()
            .map(|v| (v.number, v.status))
            .collect::<Vec<_>>(),
        [
            (1, VersionStatus::Superseded),
            (2, VersionStatus::Published)
        ]
    );
    assert_eq!(view.policy.title, "Acceptable Use Policy 2027");
    r.retire_policy(&f.manager, f.org, policy)
        .await
        .expect("retire");
    expect_invalid(
        r.edit_policy(&f.officer, f.org, policy, None, "x").await,
        "policy",
    );
    expect_invalid(
        r.create_policy(
            &f.officer,
            f.org,
            NewPolicy {
                title: " ".into(),
                category: "x".into(),
                owner: None,
                controls: BTreeSet::from(["NOPE-1".to_owned()]),
                body: "".into(),
            },
        )
        .await,
        "title",
    );
}

pub async fn policies_from_templates_fill_body_and_controls(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let policy = r
        .create_policy_from_template(
            &f.officer,
            f.org,
            "incident-response",
            Some(f.manager.user),
            "Security Officer",
        )
        .await
        .expect("from template");
    let template = crate::policies::templates::template("incident-response").expect("template");
    assert_eq!(policy.template.as_deref(), Some("incident-response"));
    assert_eq!(
        policy.controls,
        template.controls.iter().cloned().collect::<BTreeSet<_>>()
    );
    let view = r.policy(&f.officer, f.org, policy.id).await.expect("view");
    assert!(
        view.versions[0].body.contains("Acme Dental (Northwind IT)"),
        "the org's name is filled in"
    );
    assert!(!view.versions[0].body.contains("{{"));
    expect_invalid(
        r.create_policy_from_template(&f.officer, f.org, "no-such-template", None, "x")
            .await,
        "template",
    );
}

pub async fn campaign_launch_resolves_the_audience_once(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, frank]) = published_policy(&f).await;
    let c = launch_for_employees(&f, policy).await;
    assert_eq!(c.version, 1);
    assert_eq!(c.version_hash, body_hash(POLICY_TEXT));
    let completion = r
        .campaign_completion(&f.manager, f.org, c.id)
        .await
        .expect("completion");
    assert_eq!((completion.signed, completion.assigned), (0, 2));
    let mut pending = completion.pending.clone();
    pending.sort();
    let mut expected = vec![erin.user, frank.user];
    expected.sort();
    assert_eq!(pending, expected);
    let invitations = r.pending_notifications(f.org, 100).await.expect("outbox");
    assert_eq!(
        invitations
            .iter()
            .filter(|n| n.kind == crate::notify::NotificationKind::CampaignInvitation)
            .count(),
        2,
        "one invitation per person, in the launch's commit"
    );
    // Someone joining later is not added on their own ...
    let gina = member(&f.msp, f.org, "gina@acme.test", Role::Employee).await;
    assert_eq!(
        r.campaign_completion(&f.manager, f.org, c.id)
            .await
            .expect("completion")
            .assigned,
        2
    );
    // ... but can be added explicitly, once.
    r.add_to_campaign(&f.officer, f.org, c.id, gina.user)
        .await
        .expect("late joiner");
    match r.add_to_campaign(&f.officer, f.org, c.id, gina.user).await {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("adding twice must be AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        r.campaign_completion(&f.manager, f.org, c.id)
            .await
            .expect("completion")
            .assigned,
        3
    );
    // A draft-only policy cannot go out.
    let draft = r
        .create_policy(
            &f.officer,
            f.org,
            NewPolicy {
                title: "Draft".into(),
                category: "x".into(),
                owner: None,
                controls: Default::default(),
                body: "text".into(),
            },
        )
        .await
        .expect("draft");
    expect_invalid(
        r.launch_campaign(
            &f.officer,
            f.org,
            draft.id,
            campaign_for(Audience::Everyone, 7),
        )
        .await,
        "policy",
    );
    expect_invalid(
        r.launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Everyone, -1),
        )
        .await,
        "due",
    );
    let other = msp_in(r.clone(), f.msp.operator.clone(), "Southwind IT").await;
    let stranger = other.admin.user;
    expect_invalid(
        r.launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Users(BTreeSet::from([stranger])), 7),
        )
        .await,
        "audience",
    );
}

pub async fn campaign_signatures_become_evidence_of_their_version(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    let (policy, [erin, _]) = published_policy(&f).await;
    let c = launch_for_employees(&f, policy).await;
    let erin_here = erin.clone().with_request(crate::RequestMeta {
        request_id: Some("req-1".into()),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0".into()),
    });
    let signed = r
        .sign_acknowledgment(&erin_here, f.org, c.id, "Erin Example")
        .await
        .expect("signed");
    let signature = signed.signature.clone().expect("signature kept");
    assert_eq!(signed.status, AcknowledgmentStatus::Signed);
    assert_eq!(signature.typed_name, "Erin Example");
    assert_eq!(signature.version_hash, body_hash(POLICY_TEXT));
    assert_eq!(signature.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(signature.user_agent.as_deref(), Some("Mozilla/5.0"));
    match r
        .sign_acknowledgment(&erin, f.org, c.id, "Erin Example")
        .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("signing twice must be refused, got {other:?}"),
    }
    // The signature is evidence for the policy's controls, in the same commit.
    let evidence = r
        .evidence(&f.manager, f.org, Some("AT-01"))
        .await
        .expect("evidence");
    assert_eq!(evidence.len(), 1);
    assert!(evidence[0].evidence.controls.contains("AM-03"));
    match &evidence[0].evidence.content {
        crate::compliance::EvidenceContent::PolicyAcknowledgment {
            version,
            version_hash,
            signer,
            ..
        } => {
            assert_eq!(
                (*version, version_hash.as_str(), *signer),
                (1, body_hash(POLICY_TEXT).as_str(), erin.user)
            );
        }
        other => panic!("an acknowledgment, got {other:?}"),
    }
    // A later version supersedes the text, not the signature.
    r.edit_policy(&f.officer, f.org, policy, None, "# Acceptable Use\n\nv2\n")
        .await
        .expect("edit");
    r.submit_policy(&f.officer, f.org, policy)
        .await
        .expect("submit");
    r.approve_policy(&f.manager, f.org, policy)
        .await
        .expect("approve");
    r.publish_policy(&f.manager, f.org, policy)
        .await
        .expect("publish v2");
    r.update_control(
        &f.officer,
        f.org,
        "AT-01",
        None,
        ControlUpdate {
            status: Some(ControlStatus::Implemented),
            ..Default::default()
        },
    )
    .await
    .expect("implemented");
    let view = r
        .control(&f.manager, f.org, "AT-01")
        .await
        .expect("control");
    assert_eq!(
        view.state.current_evidence, 1,
        "the v1 signature still counts as evidence of v1"
    );
    assert!(view.state.counts);
    // Only assigned people sign; other orgs cannot even see the campaign.
    expect_not_found(
        r.sign_acknowledgment(&f.manager, f.org, c.id, "Manager")
            .await,
        "an unassigned signer",
    );
    let other = msp_in(r.clone(), f.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.sign_acknowledgment(&other.admin, f.org, c.id, "Intruder")
            .await,
        "another org's user",
    );
    expect_not_found(
        r.campaign_completion(&other.admin, f.org, c.id).await,
        "another org's user reading",
    );
    expect_not_found(
        r.sign_acknowledgment(&other.admin, other.clients[0], c.id, "Intruder")
            .await,
        "a campaign id through another org",
    );
}

pub async fn campaign_closed_rejects_signatures_with_a_clear_error(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, frank]) = published_policy(&f).await;
    let c = launch_for_employees(&f, policy).await;
    r.sign_acknowledgment(&frank, f.org, c.id, "Frank")
        .await
        .expect("signed");
    let closed = r
        .close_campaign(&f.officer, f.org, c.id)
        .await
        .expect("closed");
    assert_eq!(closed.status, CampaignStatus::Closed);
    match r.sign_acknowledgment(&erin, f.org, c.id, "Erin").await {
        Err(Error::Validation(errors)) => {
            assert_eq!(errors[0].field, "campaign");
            assert!(
                errors[0].message.contains("closed"),
                "{}",
                errors[0].message
            );
        }
        other => panic!("a closed campaign must refuse signatures clearly, got {other:?}"),
    }
    let completion = r
        .campaign_completion(&f.manager, f.org, c.id)
        .await
        .expect("completion");
    assert_eq!((completion.signed, completion.assigned), (1, 2));
    assert_eq!(
        completion.pending,
        vec![erin.user],
        "pending stays pending, on record"
    );
    let csv = r.campaign_csv(&f.manager, f.org, c.id).await.expect("csv");
    assert!(
        csv.lines()
            .any(|l| l.contains("erin@acme.test") && l.contains(",pending,")),
        "{csv}"
    );
    expect_invalid(r.close_campaign(&f.officer, f.org, c.id).await, "campaign");
    expect_invalid(r.remind_now(&f.officer, f.org, c.id).await, "campaign");
}

pub async fn campaign_concurrent_signatures_record_one(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, _]) = published_policy(&f).await;
    let c = r
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Users(BTreeSet::from([erin.user])), 14),
        )
        .await
        .expect("launched");
    let attempts = (0..8).map(|_| r.sign_acknowledgment(&erin, f.org, c.id, "Erin"));
    let results = join_all(attempts).await;
    let signed = results.iter().filter(|r| r.is_ok()).count();
    for result in &results {
        if let Err(e) = result {
            assert!(
                matches!(e, Error::AlreadyExists { .. }),
                "a losing signature is refused as a duplicate: {e:?}"
            );
        }
    }
    assert_eq!(signed, 1, "exactly one signature is recorded");
    assert_eq!(
        r.evidence(&f.manager, f.org, Some("AT-01"))
            .await
            .expect("evidence")
            .len(),
        1,
        "and one piece of evidence"
    );
}

pub async fn campaign_reminders_follow_the_cadence(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, frank]) = published_policy(&f).await;
    let c = r
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Roles(BTreeSet::from([Role::Employee])), 10),
        )
        .await
        .expect("launched");
    let day = |d: i64| at(0) + chrono::Duration::days(d);
    let reminders = |f: &ComplianceFixture| {
        let r = f.r().clone();
        let org = f.org;
        async move {
            r.pending_notifications(org, 500)
                .await
                .expect("outbox")
                .into_iter()
                .filter(|n| n.kind == crate::notify::NotificationKind::CampaignReminder)
                .count()
        }
    };
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        0,
        "nothing due at launch"
    );
    f.clock.set(day(3));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        2,
        "step 1: everyone pending"
    );
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        0,
        "never twice for a step"
    );
    r.sign_acknowledgment(&frank, f.org, c.id, "Frank")
        .await
        .expect("signed");
    f.clock.set(day(5));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        0,
        "between steps"
    );
    f.clock.set(day(6));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        1,
        "step 2: only who is still pending"
    );
    assert_eq!(
        r.remind_now(&f.officer, f.org, c.id)
            .await
            .expect("remind now"),
        1
    );
    f.clock.set(day(11));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        1,
        "overdue: daily"
    );
    let completion = r
        .campaign_completion(&f.manager, f.org, c.id)
        .await
        .expect("completion");
    assert_eq!(completion.overdue, vec![erin.user]);
    assert_eq!(
        reminders(&f).await,
        5,
        "each reminder went through the outbox"
    );
    r.close_campaign(&f.officer, f.org, c.id)
        .await
        .expect("closed");
    f.clock.set(day(20));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        0,
        "never after the campaign closes"
    );
}

pub async fn campaign_reminders_stop_at_the_maximum(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, _]) = published_policy(&f).await;
    let mut new = campaign_for(Audience::Users(BTreeSet::from([erin.user])), 2);
    new.cadence = crate::policies::ReminderCadence {
        every_days: 1,
        overdue_every_days: 1,
        max: 3,
    };
    r.launch_campaign(&f.officer, f.org, policy, new)
        .await
        .expect("launched");
    let mut sent = 0;
    for d in 1..=10 {
        f.clock.set(at(0) + chrono::Duration::days(d));
        sent += r.send_due_reminders(f.org).await.expect("sweep");
    }
    assert_eq!(sent, 3, "at most the configured number of reminders");
}

pub async fn campaign_visibility_follows_roles(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, frank]) = published_policy(&f).await;
    let hidden = r
        .create_policy(
            &f.officer,
            f.org,
            NewPolicy {
                title: "Board Minutes Policy".into(),
                category: "governance".into(),
                owner: None,
                controls: Default::default(),
                body: "text".into(),
            },
        )
        .await
        .expect("another policy");
    let c = r
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Users(BTreeSet::from([erin.user])), 14),
        )
        .await
        .expect("launched");
    // An employee sees their own assignment and policy, nothing else.
    let mine = r.my_acknowledgments(&erin, f.org).await.expect("mine");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].policy_title, "Acceptable Use Policy");
    assert!(
        r.my_acknowledgments(&frank, f.org)
            .await
            .expect("frank's")
            .is_empty()
    );
    let visible: Vec<_> = r
        .policies(&erin, f.org)
        .await
        .expect("policies")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(visible, vec![policy]);
    let view = r.policy(&erin, f.org, policy).await.expect("own policy");
    assert!(
        view.versions
            .iter()
            .all(|v| v.status == VersionStatus::Published),
        "only published text"
    );
    expect_not_found(
        r.policy(&erin, f.org, hidden.id).await,
        "an unassigned policy",
    );
    expect_denied(
        r.campaign_completion(&erin, f.org, c.id).await,
        "employee reading completion",
    );
    expect_denied(
        r.campaign_csv(&erin, f.org, c.id).await,
        "employee exporting",
    );
    // Viewers see completion only.
    let viewer = member(&f.msp, f.org, "auditor@acme.test", Role::Viewer).await;
    r.campaign_completion(&viewer, f.org, c.id)
        .await
        .expect("viewer reads completion");
    expect_denied(r.remind_now(&viewer, f.org, c.id).await, "viewer reminding");
    expect_denied(
        r.close_campaign(&viewer, f.org, c.id).await,
        "viewer closing",
    );
    expect_denied(
        r.launch_campaign(&viewer, f.org, policy, campaign_for(Audience::Everyone, 7))
            .await,
        "viewer launching",
    );
    // Technicians have no compliance access.
    let tech = member(&f.msp, f.org, "tech@acme.test", Role::Technician).await;
    expect_denied(
        r.campaign_completion(&tech, f.org, c.id).await,
        "technician",
    );
}

pub async fn outbox_delivery_is_at_least_once(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, _) = published_policy(&f).await;
    launch_for_employees(&f, policy).await;
    let pending = r.pending_notifications(f.org, 10).await.expect("outbox");
    assert_eq!(pending.len(), 2);
    assert!(
        pending
            .iter()
            .all(|n| n.delivered_at.is_none() && n.recipient.is_some())
    );
    // The first delivery succeeds, the second fails and is simply not marked.
    let delivered = r
        .mark_notification_delivered(f.org, pending[0].id)
        .await
        .expect("marked");
    assert_eq!(delivered.delivered_at, Some(at(0)));
    let again = r
        .mark_notification_delivered(f.org, pending[0].id)
        .await
        .expect("marking twice is harmless");
    assert_eq!(again.delivered_at, Some(at(0)));
    let left = r.pending_notifications(f.org, 10).await.expect("outbox");
    assert_eq!(
        left.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![pending[1].id],
        "the undelivered one stays"
    );
    expect_not_found(
        r.mark_notification_delivered(f.clients_other(), pending[1].id)
            .await,
        "another org's outbox",
    );
}

impl ComplianceFixture {
    /// The MSP's other client, for cross-tenant probes.
    pub fn clients_other(&self) -> OrgId {
        self.msp.clients[1]
    }
}

// ----- PSA: tickets under SLA -----------------------------------------------

use crate::psa::Priority;
use crate::psa::sla_policy::{Action, ClockKind, EscalationRule, NewSlaPolicy, Targets, Trigger};
use crate::psa::ticket::{NewTicket, TicketStatus};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

fn nine_to_five_policy(
    name: &str,
    default: bool,
    escalations: Vec<EscalationRule>,
) -> NewSlaPolicy {
    let calendar: crate::sla::CalendarSpec = serde_json::from_value(json!({
        "timezone": "America/New_York",
        "weekly": {"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}
    }))
    .expect("calendar");
    let t = |r: u32, s: u32| Targets {
        first_response_minutes: r,
        resolution_minutes: s,
    };
    NewSlaPolicy {
        name: name.into(),
        calendar,
        targets: [
            (Priority::Critical, t(30, 240)),
            (Priority::High, t(60, 480)),
            (Priority::Medium, t(240, 960)),
            (Priority::Low, t(480, 2400)),
        ]
        .into(),
        escalations,
        default,
    }
}

/// The MSP's default policy, a technician in client 1, and two employees.
pub struct PsaFixture {
    pub c: ComplianceFixture,
    pub tech: Principal,
    pub requesters: [Principal; 2],
}

impl std::fmt::Debug for PsaFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PsaFixture").finish_non_exhaustive()
    }
}

pub async fn psa_fixture(store: Arc<dyn Store>, escalations: Vec<EscalationRule>) -> PsaFixture {
    let c = compliance_fixture(store).await;
    let r = c.r();
    r.create_sla_policy(
        &c.msp.admin,
        c.msp.msp,
        nine_to_five_policy("Northwind standard", true, escalations),
    )
    .await
    .expect("MSP default policy");
    let tech = member(&c.msp, c.msp.msp, "tom@northwind.test", Role::Technician).await;
    r.assign_staff(&c.msp.admin, c.msp.msp, c.org, tech.user, Role::Technician)
        .await
        .expect("assigned");
    let requesters = [
        member(&c.msp, c.org, "erin@acme.test", Role::Employee).await,
        member(&c.msp, c.org, "frank@acme.test", Role::Employee).await,
    ];
    PsaFixture {
        c,
        tech,
        requesters,
    }
}

fn new_ticket(title: &str, priority: Priority) -> NewTicket {
    NewTicket {
        title: title.into(),
        description: "It broke.".into(),
        priority,
        requester: None,
    }
}

pub async fn ticket_numbers_are_sequential_under_concurrency(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let creations = (0..32).map(|i| {
        r.create_ticket(
            &f.requesters[i % 2],
            f.c.org,
            new_ticket(&format!("Printer {i}"), Priority::Low),
        )
    });
    let mut numbers: Vec<u64> = join_all(creations)
        .await
        .into_iter()
        .map(|t| t.expect("every concurrent creation succeeds").number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=32).collect::<Vec<u64>>(),
        "32 distinct consecutive numbers"
    );
    // Numbers are per org: another client starts at 1.
    let other = r
        .create_ticket(
            &f.c.msp.admin,
            f.c.clients_other(),
            new_ticket("Elsewhere", Priority::Low),
        )
        .await
        .expect("ticket");
    assert_eq!(other.number, 1);
}

pub async fn ticket_sla_pauses_over_a_weekend_and_keeps_time_on_priority_change(
    store: Arc<dyn Store>,
) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    // Friday 2025-06-13 15:00 EDT, high priority: 1 h response, 8 h resolution.
    f.c.clock.set(utc("2025-06-13T19:00:00Z"));
    let t = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("VPN down", Priority::High),
        )
        .await
        .expect("ticket");
    let sla = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("the MSP's default applies to its client");
    assert_eq!(sla.response.due, Some(utc("2025-06-13T20:00:00Z")));
    assert_eq!(
        sla.resolution.due,
        Some(utc("2025-06-16T19:00:00Z")),
        "8 business hours: Monday 15:00 EDT"
    );
    // The technician answers at 15:30: the response clock stops, met.
    f.c.clock.set(utc("2025-06-13T19:30:00Z"));
    r.add_comment(&f.tech, f.c.org, t.id, "Looking into it.", true)
        .await
        .expect("reply");
    // Waiting on the customer from 16:00 Friday to Monday 10:00 EDT.
    f.c.clock.set(utc("2025-06-13T20:00:00Z"));
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Pending)
        .await
        .expect("pending");
    f.c.clock.set(utc("2025-06-16T14:00:00Z"));
    let paused = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert!(!paused.resolution.running && paused.resolution.due.is_none());
    assert_eq!(
        paused.resolution.consumed_minutes, 60,
        "the weekend and the pause cost nothing"
    );
    assert_eq!(paused.response.met_at, Some(utc("2025-06-13T19:30:00Z")));
    assert!(!paused.response.breached);
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Open)
        .await
        .expect("resumed");
    let resumed = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert_eq!(
        resumed.resolution.due,
        Some(utc("2025-06-16T21:00:00Z")),
        "7 h left from Monday 10:00: 17:00 EDT"
    );
    // Two hours later the priority is raised to critical (4 h): 3 h used, 1 h left.
    f.c.clock.set(utc("2025-06-16T16:00:00Z"));
    r.set_ticket_priority(&f.tech, f.c.org, t.id, Priority::Critical)
        .await
        .expect("raised");
    let raised = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert_eq!(raised.resolution.consumed_minutes, 180);
    assert_eq!(raised.resolution.due, Some(utc("2025-06-16T17:00:00Z")));
    // Resolved late: the breach is permanent, reopening does not clear it.
    f.c.clock.set(utc("2025-06-16T18:00:00Z"));
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Resolved)
        .await
        .expect("resolved");
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Reopened)
        .await
        .expect("reopened");
    let reopened = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert!(reopened.resolution.breached);
    assert!(reopened.resolution.running);
}

pub async fn ticket_policies_follow_assignment_and_keep_their_revision(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let t1 = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("Old terms", Priority::Low),
        )
        .await
        .expect("ticket");
    // The client gets its own default, which overrides the MSP's.
    let mut own = nine_to_five_policy("Acme premium", true, Vec::new());
    own.targets.insert(
        Priority::Low,
        Targets {
            first_response_minutes: 15,
            resolution_minutes: 60,
        },
    );
    let policy = r
        .create_sla_policy(&f.c.msp.admin, f.c.org, own.clone())
        .await
        .expect("client policy");
    let t2 = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("New terms", Priority::Low),
        )
        .await
        .expect("ticket");
    let sla2 = t2.sla.as_ref().expect("sla");
    assert_eq!(
        (sla2.policy, sla2.revision, sla2.response.target_secs),
        (policy.id, 1, 15 * 60)
    );
    let sla1 = t1.sla.as_ref().expect("sla");
    assert_ne!(
        sla1.policy, policy.id,
        "the first ticket runs on the MSP's policy"
    );
    // Editing the policy never moves the deadlines of tickets already open.
    own.targets.insert(
        Priority::Low,
        Targets {
            first_response_minutes: 5,
            resolution_minutes: 30,
        },
    );
    let edited = r
        .update_sla_policy(&f.c.msp.admin, f.c.org, policy.id, own)
        .await
        .expect("edited");
    assert_eq!(edited.revision, 2);
    let still = r.ticket(&f.tech, f.c.org, t2.id).await.expect("ticket");
    assert_eq!(still.sla.expect("sla").response.target_secs, 15 * 60);
    match r
        .create_sla_policy(
            &f.c.msp.admin,
            f.c.org,
            nine_to_five_policy("Second default", true, Vec::new()),
        )
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "default"),
        other => panic!("one default per org, got {other:?}"),
    }
    let mut broken = nine_to_five_policy("Broken", false, Vec::new());
    broken.targets.remove(&Priority::Medium);
    broken.calendar.timezone = "Nowhere/Land".into();
    match r.create_sla_policy(&f.c.msp.admin, f.c.org, broken).await {
        Err(Error::Validation(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert!(
                fields.contains(&"calendar.timezone") && fields.contains(&"targets.medium"),
                "{fields:?}"
            );
        }
        other => panic!("expected validation errors, got {other:?}"),
    }
    // A tenant's webhook may not aim the server at a private network.
    for url in [
        "http://hooks.acme.test/sla",
        "https://10.0.0.7/sla",
        "https://localhost/x",
    ] {
        let rule = EscalationRule {
            clock: ClockKind::Response,
            trigger: Trigger::AtBreach,
            action: Action::Webhook { url: url.into() },
        };
        expect_invalid(
            r.create_sla_policy(
                &f.c.msp.admin,
                f.c.org,
                nine_to_five_policy("Hooked", false, vec![rule]),
            )
            .await,
            "escalations[0].action.url",
        );
    }
    expect_denied(
        r.create_sla_policy(
            &f.tech,
            f.c.org,
            nine_to_five_policy("Tech's", false, Vec::new()),
        )
        .await,
        "technician managing SLA policies",
    );
}

pub async fn escalation_fires_once_even_when_the_sweep_runs_twice(store: Arc<dyn Store>) {
    let rules = vec![
        EscalationRule {
            clock: ClockKind::Resolution,
            trigger: Trigger::Percent { percent: 50 },
            action: Action::NotifyRole {
                role: Role::Technician,
            },
        },
        EscalationRule {
            clock: ClockKind::Resolution,
            trigger: Trigger::AtBreach,
            action: Action::RaisePriority,
        },
        EscalationRule {
            clock: ClockKind::Response,
            trigger: Trigger::BeforeBreach { minutes: 10 },
            action: Action::Webhook {
                url: "https://hooks.acme.test/sla".into(),
            },
        },
    ];
    let f = psa_fixture(store, rules).await;
    let r = f.c.r();
    // Monday 2025-06-16 09:00 EDT, medium: 4 h response, 16 h resolution.
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    let t = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("Slow laptop", Priority::Medium),
        )
        .await
        .expect("ticket");
    assert!(
        r.run_escalations(f.c.org).await.expect("sweep").is_empty(),
        "nothing due yet"
    );
    // 12:50 EDT: ten minutes before the response target, the webhook fires.
    f.c.clock.set(utc("2025-06-16T16:50:00Z"));
    let fired = r.run_escalations(f.c.org).await.expect("sweep");
    assert_eq!(
        fired.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        ["2:response"]
    );
    assert!(
        r.run_escalations(f.c.org).await.expect("sweep").is_empty(),
        "never twice"
    );
    // Pending from Monday 13:00 to Tuesday 13:00 EDT: the 50% warning (8 h) moves by the pause.
    f.c.clock.set(utc("2025-06-16T17:00:00Z"));
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Pending)
        .await
        .expect("pending");
    f.c.clock.set(utc("2025-06-17T17:00:00Z"));
    assert!(
        r.run_escalations(f.c.org).await.expect("sweep").is_empty(),
        "a paused clock does not escalate"
    );
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Open)
        .await
        .expect("resumed");
    // 4 h used by Monday 13:00; 4 more from Tuesday 13:00 reach 50% at 17:00 EDT Tuesday.
    f.c.clock.set(utc("2025-06-17T20:59:00Z"));
    assert!(r.run_escalations(f.c.org).await.expect("sweep").is_empty());
    f.c.clock.set(utc("2025-06-17T21:00:00Z"));
    let warning = r.run_escalations(f.c.org).await.expect("sweep");
    assert_eq!(
        warning.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        ["0:resolution"]
    );
    let outbox = r.pending_notifications(f.c.org, 100).await.expect("outbox");
    let warnings: Vec<_> = outbox
        .iter()
        .filter(|n| n.kind == crate::notify::NotificationKind::SlaWarning)
        .collect();
    assert_eq!(
        warnings
            .iter()
            .filter_map(|n| n.recipient)
            .collect::<Vec<_>>(),
        [f.tech.user],
        "the client's technicians"
    );
    assert_eq!(
        outbox
            .iter()
            .filter(|n| n.kind == crate::notify::NotificationKind::Webhook)
            .count(),
        1
    );
    // The breach raises the priority, once, and stays.
    f.c.clock.set(utc("2025-06-19T13:00:00Z"));
    let breach = r.run_escalations(f.c.org).await.expect("sweep");
    assert_eq!(
        breach.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        ["1:resolution"]
    );
    let after = r.ticket(&f.tech, f.c.org, t.id).await.expect("ticket");
    assert_eq!(after.priority, Priority::High);
    assert!(
        after.sla.as_ref().expect("sla").resolution.breached,
        "recorded in the same commit"
    );
    assert!(r.run_escalations(f.c.org).await.expect("sweep").is_empty());
}

pub async fn ticket_requesters_see_only_their_own(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let [erin, frank] = &f.requesters;
    let mine = r
        .create_ticket(erin, f.c.org, new_ticket("My screen", Priority::Low))
        .await
        .expect("ticket");
    let theirs = r
        .create_ticket(frank, f.c.org, new_ticket("Frank's phone", Priority::Low))
        .await
        .expect("ticket");
    assert_eq!(
        r.tickets(erin, f.c.org)
            .await
            .expect("list")
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        [mine.id]
    );
    expect_not_found(
        r.ticket(erin, f.c.org, theirs.id).await,
        "another requester's ticket",
    );
    expect_not_found(
        r.add_comment(erin, f.c.org, theirs.id, "hi", true).await,
        "commenting on another's ticket",
    );
    r.add_comment(&f.tech, f.c.org, mine.id, "Replacing the cable.", true)
        .await
        .expect("public");
    r.add_comment(&f.tech, f.c.org, mine.id, "Cable budget is low.", false)
        .await
        .expect("internal");
    r.add_comment(erin, f.c.org, mine.id, "Thanks!", true)
        .await
        .expect("requester reply");
    expect_denied(
        r.add_comment(erin, f.c.org, mine.id, "secret", false).await,
        "requester writing internal notes",
    );
    let seen: Vec<String> = r
        .comments(erin, f.c.org, mine.id)
        .await
        .expect("comments")
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(
        seen,
        ["Replacing the cable.", "Thanks!"],
        "requesters see public comments only"
    );
    assert_eq!(
        r.comments(&f.tech, f.c.org, mine.id)
            .await
            .expect("comments")
            .len(),
        3
    );
    assert_eq!(
        r.tickets(&f.tech, f.c.org).await.expect("all").len(),
        2,
        "staff see every ticket"
    );
    // Staff open tickets for someone; requesters cannot.
    let on_behalf = NewTicket {
        requester: Some(frank.user),
        ..new_ticket("For Frank", Priority::Low)
    };
    assert_eq!(
        r.create_ticket(&f.tech, f.c.org, on_behalf.clone())
            .await
            .expect("staff")
            .requester,
        frank.user
    );
    expect_denied(
        r.create_ticket(erin, f.c.org, on_behalf).await,
        "requester filing for someone else",
    );
    expect_denied(
        r.set_ticket_status(erin, f.c.org, mine.id, TicketStatus::Closed)
            .await,
        "requester closing",
    );
    // Compliance roles have no PSA access beyond their own requests; viewers read.
    let viewer = member(&f.c.msp, f.c.org, "auditor@acme.test", Role::Viewer).await;
    assert_eq!(
        r.tickets(&viewer, f.c.org)
            .await
            .expect("viewer reads")
            .len(),
        3
    );
    expect_denied(
        r.create_ticket(&viewer, f.c.org, new_ticket("x", Priority::Low))
            .await,
        "viewer submitting",
    );
    assert!(
        r.tickets(&f.c.officer, f.c.org)
            .await
            .expect("own only")
            .is_empty()
    );
    // Another tenant sees nothing.
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.ticket(&other.admin, f.c.org, mine.id).await,
        "another MSP",
    );
}

use crate::psa::records::{NewArticle, NewAsset, NewTimeEntry, Visibility};

pub async fn time_entry_totals_per_ticket_user_and_org(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let t = r
        .create_ticket(&f.requesters[0], f.c.org, new_ticket("Mail", Priority::Low))
        .await
        .expect("ticket");
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2025, 6, d).expect("date");
    let entry = |ticket, minutes, billable, date| NewTimeEntry {
        ticket,
        minutes,
        billable,
        note: "work".into(),
        date,
    };
    r.log_time(&f.tech, f.c.org, entry(Some(t.id), 30, true, day(2)))
        .await
        .expect("time");
    r.log_time(&f.tech, f.c.org, entry(Some(t.id), 15, false, day(3)))
        .await
        .expect("time");
    r.log_time(&f.c.msp.admin, f.c.org, entry(None, 60, true, day(3)))
        .await
        .expect("time");
    r.log_time(&f.tech, f.c.org, entry(None, 45, true, day(20)))
        .await
        .expect("time");
    let totals = r
        .time_totals(&f.tech, f.c.org, day(1), day(10))
        .await
        .expect("totals");
    assert_eq!((totals.org.total, totals.org.billable), (105, 90));
    assert_eq!(
        (
            totals.by_ticket[&t.id].total,
            totals.by_ticket[&t.id].billable
        ),
        (45, 30)
    );
    assert_eq!(
        totals.by_user[&f.tech.user].total, 45,
        "the entry on the 20th is outside the period"
    );
    assert_eq!(totals.by_user[&f.c.msp.admin.user].total, 60);
    expect_invalid(
        r.log_time(&f.tech, f.c.org, entry(None, 0, true, day(2)))
            .await,
        "minutes",
    );
    expect_denied(
        r.log_time(&f.requesters[0], f.c.org, entry(None, 10, true, day(2)))
            .await,
        "requester logging time",
    );
    expect_invalid(r.time_totals(&f.tech, f.c.org, day(10), day(1)).await, "to");
}

pub async fn assets_link_to_tickets(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let laptop = r
        .add_asset(
            &f.tech,
            f.c.org,
            NewAsset {
                name: "Erin's laptop".into(),
                kind: "laptop".into(),
                serial: Some("SN-123".into()),
                assigned_user: Some(f.requesters[0].user),
                attributes: [("os".to_owned(), "Windows 11".to_owned())].into(),
            },
        )
        .await
        .expect("asset");
    let t = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("Laptop fan", Priority::Low),
        )
        .await
        .expect("ticket");
    let linked = r
        .link_asset(&f.tech, f.c.org, t.id, laptop.id)
        .await
        .expect("linked");
    assert!(linked.assets.contains(&laptop.id));
    assert_eq!(
        r.assets(&f.tech, f.c.org).await.expect("assets")[0].attributes["os"],
        "Windows 11"
    );
    expect_denied(
        r.assets(&f.requesters[0], f.c.org).await,
        "requester reading the inventory",
    );
    let viewer = member(&f.c.msp, f.c.org, "auditor@acme.test", Role::Viewer).await;
    assert_eq!(
        r.assets(&viewer, f.c.org)
            .await
            .expect("viewer reads")
            .len(),
        1
    );
    expect_denied(
        r.add_asset(
            &viewer,
            f.c.org,
            NewAsset {
                name: "x".into(),
                kind: "y".into(),
                serial: None,
                assigned_user: None,
                attributes: Default::default(),
            },
        )
        .await,
        "viewer adding assets",
    );
    let stranger = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.link_asset(&f.tech, stranger.clients[0], t.id, laptop.id)
            .await,
        "linking across tenants",
    );
}

pub async fn knowledge_base_search_respects_visibility(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let article = |title: &str, body: &str, visibility, published| NewArticle {
        title: title.into(),
        body: body.into(),
        tags: BTreeSet::from(["howto".to_owned()]),
        visibility,
        published,
    };
    r.add_article(
        &f.tech,
        f.c.org,
        article(
            "Reset your VPN password",
            "Open the portal and choose reset.",
            Visibility::Portal,
            true,
        ),
    )
    .await
    .expect("article");
    r.add_article(
        &f.tech,
        f.c.org,
        article(
            "VPN appliance admin notes",
            "Password reset on the firewall: see vault.",
            Visibility::Internal,
            true,
        ),
    )
    .await
    .expect("article");
    r.add_article(
        &f.tech,
        f.c.org,
        article(
            "VPN draft",
            "reset steps, unpublished",
            Visibility::Portal,
            false,
        ),
    )
    .await
    .expect("article");
    let titles = |found: Vec<crate::psa::records::Article>| {
        found.into_iter().map(|a| a.title).collect::<Vec<_>>()
    };
    let staff = titles(
        r.search_articles(&f.tech, f.c.org, "VPN reset")
            .await
            .expect("search"),
    );
    assert_eq!(
        staff.len(),
        3,
        "staff find internal and draft articles: {staff:?}"
    );
    let portal = titles(
        r.search_articles(&f.requesters[0], f.c.org, "vpn RESET")
            .await
            .expect("search"),
    );
    assert_eq!(
        portal,
        ["Reset your VPN password"],
        "requesters find published portal articles only"
    );
    assert!(
        r.search_articles(&f.requesters[0], f.c.org, "firewall")
            .await
            .expect("search")
            .is_empty()
    );
    assert!(
        r.search_articles(&f.tech, f.c.org, "vpn printer")
            .await
            .expect("search")
            .is_empty(),
        "every word must match"
    );
    expect_invalid(r.search_articles(&f.tech, f.c.org, "a").await, "query");
    expect_denied(
        r.add_article(
            &f.requesters[0],
            f.c.org,
            article("x", "y", Visibility::Portal, true),
        )
        .await,
        "requester writing articles",
    );
}

pub async fn chat_sessions_become_tickets_with_their_transcript(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let [erin, frank] = &f.requesters;
    let chat = r
        .start_chat(erin, f.c.org, "My printer is on fire")
        .await
        .expect("chat");
    r.post_chat_message(&f.tech, f.c.org, chat.id, "Unplug it, please.")
        .await
        .expect("staff reply");
    r.post_chat_message(erin, f.c.org, chat.id, "Done.")
        .await
        .expect("requester reply");
    let bodies: Vec<String> = r
        .chat_messages(erin, f.c.org, chat.id)
        .await
        .expect("messages")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        bodies,
        ["My printer is on fire", "Unplug it, please.", "Done."],
        "in the order sent"
    );
    expect_not_found(
        r.chat_messages(frank, f.c.org, chat.id).await,
        "another requester's chat",
    );
    expect_not_found(
        r.post_chat_message(frank, f.c.org, chat.id, "hi").await,
        "joining another's chat",
    );
    let ticket = r
        .chat_to_ticket(&f.tech, f.c.org, chat.id, "Printer fire", Priority::High)
        .await
        .expect("ticket");
    assert_eq!(ticket.requester, erin.user);
    assert!(
        ticket.description.contains("Unplug it, please.") && ticket.description.contains("Done.")
    );
    match r
        .chat_to_ticket(&f.tech, f.c.org, chat.id, "Again", Priority::High)
        .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("one ticket per chat, got {other:?}"),
    }
    expect_denied(
        r.chat_to_ticket(erin, f.c.org, chat.id, "Mine", Priority::Low)
            .await,
        "requester converting",
    );
    let closed = r
        .close_chat(erin, f.c.org, chat.id)
        .await
        .expect("requester closes");
    assert_eq!(closed.closed_by, Some(erin.user));
    expect_invalid(
        r.post_chat_message(&f.tech, f.c.org, chat.id, "still there?")
            .await,
        "chat",
    );
    let other = r.start_chat(frank, f.c.org, "Hello").await.expect("chat");
    assert_eq!(
        r.close_chat(&f.tech, f.c.org, other.id)
            .await
            .expect("staff closes")
            .closed_by,
        Some(f.tech.user)
    );
}

pub async fn psa_permissions_follow_the_matrix(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    let t = r
        .create_ticket(&f.requesters[0], org, new_ticket("Seed", Priority::Low))
        .await
        .expect("ticket");
    let viewer = member(&f.c.msp, org, "auditor@acme.test", Role::Viewer).await;
    let admin = member(&f.c.msp, org, "owner@acme.test", Role::OrgAdmin).await;
    let people = [
        ("technician", f.tech.clone()),
        ("org_admin", admin),
        ("employee", f.requesters[1].clone()),
        ("viewer", viewer),
        ("compliance_officer", f.c.officer.clone()),
    ];
    // columns: technician org_admin employee viewer compliance_officer
    let expected: [(&str, [bool; 5]); 6] = [
        ("manage ticket", [true, true, false, false, false]),
        ("read all tickets", [true, true, false, true, false]),
        ("submit ticket", [true, true, true, false, true]),
        ("track time", [true, true, false, false, false]),
        ("read sla policies", [true, true, false, true, false]),
        ("start chat", [true, true, true, false, true]),
    ];
    for (operation, allowed) in expected {
        for ((role, who), allow) in people.iter().zip(allowed) {
            let outcome: crate::Result<()> = match operation {
                "manage ticket" => r
                    .set_ticket_priority(who, org, t.id, Priority::Medium)
                    .await
                    .map(|_| ()),
                "read all tickets" => {
                    r.ticket(who, org, t.id)
                        .await
                        .map(|_| ())
                        .map_err(|e| match e {
                            Error::NotFound { .. } => Error::PermissionDenied {
                                permission: "tickets.read",
                            },
                            other => other,
                        })
                }
                "submit ticket" => r
                    .create_ticket(who, org, new_ticket(&format!("by {role}"), Priority::Low))
                    .await
                    .map(|_| ()),
                "track time" => r
                    .log_time(
                        who,
                        org,
                        NewTimeEntry {
                            ticket: None,
                            minutes: 5,
                            billable: false,
                            note: String::new(),
                            date: chrono::NaiveDate::from_ymd_opt(2025, 6, 2).expect("date"),
                        },
                    )
                    .await
                    .map(|_| ()),
                "read sla policies" => r.sla_policies(who, org).await.map(|_| ()),
                "start chat" => r.start_chat(who, org, "hello").await.map(|_| ()),
                other => unreachable!("{other}"),
            };
            match (allow, outcome) {
                (true, Ok(())) | (false, Err(Error::PermissionDenied { .. })) => {}
                (want, got) => panic!("{role} / {operation}: expected allowed={want}, got {got:?}"),
            }
        }
    }
}

// ----- credentials ----------------------------------------------------------

pub async fn api_tokens_authenticate_until_revoked(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (token, secret) = r
        .issue_token(&f.officer, "CI pipeline")
        .await
        .expect("issued");
    assert!(secret.starts_with("rgt_"));
    assert!(secret.starts_with(&token.hint));
    assert_ne!(token.hash, secret, "only the hash is stored");
    let stored = r
        .store()
        .get(Scope::Platform, "api_token", token.id.0)
        .await
        .expect("get")
        .expect("stored");
    assert!(
        !stored.body.to_string().contains(&secret[4..]),
        "the secret is nowhere in the record"
    );
    let who = r.authenticate(&secret).await.expect("authenticated");
    assert_eq!(who.user, f.officer.user);
    let listed = r.tokens(&f.officer).await.expect("tokens");
    assert_eq!(listed[0].last_used_at, Some(at(0)), "last use recorded");
    for bad in [
        "",
        "rgt_",
        "Bearer x",
        &secret[..secret.len() - 1],
        // The same length with a different last digit.
        &format!(
            "{}{}",
            &secret[..secret.len() - 1],
            if secret.ends_with('0') { '1' } else { '0' }
        ),
    ] {
        match r.authenticate(bad).await {
            Err(Error::Unauthenticated) => {}
            other => panic!("{bad:?} must not authenticate, got {other:?}"),
        }
    }
    expect_not_found(
        r.revoke_token(&f.manager, token.id).await,
        "revoking someone else's token",
    );
    r.revoke_token(&f.officer, token.id).await.expect("revoked");
    match r.authenticate(&secret).await {
        Err(Error::Unauthenticated) => {}
        other => panic!("a revoked token must not authenticate, got {other:?}"),
    }
    assert!(
        actions(&f.msp, crate::audit::PLATFORM_CHAIN)
            .await
            .contains(&"token.revoked".to_owned())
    );
}

pub async fn passwords_are_set_and_checked_off_the_record(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    assert_eq!(
        r.login_material("officer@acme.test").await.expect("lookup"),
        None,
        "no password yet"
    );
    expect_invalid(r.set_password(&f.officer, "too short").await, "password");
    r.set_password(&f.officer, "a long enough passphrase")
        .await
        .expect("set");
    let (user, phc) = r
        .login_material(" Officer@Acme.test ")
        .await
        .expect("lookup")
        .expect("material");
    assert_eq!(user, f.officer.user);
    assert!(crate::auth::verify_password(
        "a long enough passphrase",
        &phc
    ));
    assert!(!crate::auth::verify_password(
        "a long enough passphrasE",
        &phc
    ));
    assert_eq!(
        r.login_material("nobody@acme.test").await.expect("lookup"),
        None
    );
    // Changing it replaces the hash.
    r.set_password(&f.officer, "another long passphrase")
        .await
        .expect("changed");
    let (_, changed) = r
        .login_material("officer@acme.test")
        .await
        .expect("lookup")
        .expect("material");
    assert!(!crate::auth::verify_password(
        "a long enough passphrase",
        &changed
    ));
}

// ----- portal ---------------------------------------------------------------

use crate::portal::{BrandingUpdate, PortalSettings, PortalUpdate};

fn set_text(value: &str) -> Option<Option<String>> {
    Some(Some(value.to_owned()))
}

fn slug_update(slug: &str) -> PortalUpdate {
    PortalUpdate {
        slug: set_text(slug),
        ..Default::default()
    }
}

fn enabled_with_slug(slug: &str) -> PortalUpdate {
    PortalUpdate {
        enabled: Some(true),
        ..slug_update(slug)
    }
}

/// What the store holds of an org's portal: its settings record, its
/// platform route and its audit chain, to show that a call wrote nothing.
async fn portal_snapshot(
    r: &Regentra,
    org: OrgId,
) -> (Option<StoredRecord>, Option<StoredRecord>, usize) {
    let settings = r
        .store()
        .get(Scope::Org(org), "portal_settings", org.0)
        .await
        .expect("get");
    let route = r
        .store()
        .get(Scope::Platform, "portal_route", org.0)
        .await
        .expect("get");
    let chain = store::audit_chain(r.store(), org).await.expect("audit");
    (settings, route, chain.len())
}

fn expect_taken<T: std::fmt::Debug>(result: crate::Result<T>, field: &str) {
    match result {
        Err(Error::AlreadyExists { field: taken, .. }) => {
            assert_eq!(taken, field, "the error names the taken field")
        }
        other => panic!("expected AlreadyExists on {field}, got {other:?}"),
    }
}

pub async fn portal_settings_default_then_round_trip(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, c1) = (&f.regentra, f.clients[0]);
    let created = r
        .get_organization(&f.admin, c1)
        .await
        .expect("org")
        .created_at;
    let defaults = r.portal_settings(&f.admin, c1).await.expect("defaults");
    assert_eq!(defaults, PortalSettings::defaults(c1, created));
    assert_eq!(
        portal_snapshot(r, c1).await.0,
        None,
        "reading the defaults writes nothing"
    );

    let full = PortalUpdate {
        enabled: Some(true),
        slug: set_text("acme"),
        hostname: set_text("portal.acme.test"),
        branding: BrandingUpdate {
            display_name: set_text("Acme Help"),
            logo_url: set_text("https://cdn.acme.test/logo.png"),
            primary_color: set_text("#0A1B2C"),
            accent_color: set_text("#ffffff"),
            welcome_text: set_text("Welcome to Acme's portal."),
        },
        show_compliance_dashboard: Some(true),
    };
    let saved = r
        .update_portal_settings(&f.admin, c1, full)
        .await
        .expect("saved");
    assert!(saved.enabled && saved.show_compliance_dashboard);
    assert_eq!(saved.slug.as_deref(), Some("acme"));
    assert_eq!(saved.branding.primary_color.as_deref(), Some("#0a1b2c"));
    assert_eq!(saved.updated_at, at(0));
    assert_eq!(r.portal_settings(&f.admin, c1).await.expect("read"), saved);

    // A PATCH changes one field and keeps the rest; null clears.
    let patch = PortalUpdate {
        hostname: Some(None),
        branding: BrandingUpdate {
            accent_color: set_text("#123456"),
            ..Default::default()
        },
        ..Default::default()
    };
    let patched = r
        .update_portal_settings(&f.admin, c1, patch)
        .await
        .expect("patched");
    let mut expected = saved.clone();
    expected.hostname = None;
    expected.branding.accent_color = Some("#123456".into());
    assert_eq!(patched, expected);
    assert_eq!(
        r.portal_settings(&f.admin, c1).await.expect("read"),
        patched
    );

    // An update that changes nothing writes nothing.
    let before = portal_snapshot(r, c1).await;
    let same = r
        .update_portal_settings(&f.admin, c1, slug_update("acme"))
        .await
        .expect("no-op");
    assert_eq!(same, patched);
    assert_eq!(portal_snapshot(r, c1).await, before);

    // The other client still has its defaults.
    assert_eq!(
        r.portal_settings(&f.admin, f.clients[1])
            .await
            .expect("defaults"),
        PortalSettings::defaults(
            f.clients[1],
            r.get_organization(&f.admin, f.clients[1])
                .await
                .expect("org")
                .created_at
        )
    );
}

pub async fn portal_slugs_are_unique_across_tenants(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let (ours, theirs) = (f.clients[0], other.clients[0]);
    r.update_portal_settings(
        &f.admin,
        ours,
        PortalUpdate {
            hostname: set_text("portal.acme.test"),
            ..enabled_with_slug("acme")
        },
    )
    .await
    .expect("first claim");

    let before = portal_snapshot(r, theirs).await;
    expect_taken(
        r.update_portal_settings(&other.admin, theirs, enabled_with_slug("acme"))
            .await,
        "slug",
    );
    expect_taken(
        r.update_portal_settings(
            &other.admin,
            theirs,
            PortalUpdate {
                hostname: set_text("portal.acme.test"),
                ..slug_update("acme-too")
            },
        )
        .await,
        "hostname",
    );
    assert_eq!(
        portal_snapshot(r, theirs).await,
        before,
        "nothing is written for the org that lost"
    );
    assert_eq!(
        r.portal_settings(&other.admin, theirs)
            .await
            .expect("read")
            .slug,
        None
    );
    assert_eq!(
        r.portal_by_slug("acme")
            .await
            .expect("lookup")
            .map(|p| p.org),
        Some(ours),
        "the address still leads to its owner"
    );
    // Saving the slug an org already holds is not a clash with itself.
    r.update_portal_settings(
        &f.admin,
        ours,
        PortalUpdate {
            show_compliance_dashboard: Some(true),
            ..slug_update("acme")
        },
    )
    .await
    .expect("own slug again");
    // Another slug is free for the other tenant.
    r.update_portal_settings(&other.admin, theirs, enabled_with_slug("acme-dental"))
        .await
        .expect("a free slug");
}

pub async fn portal_slug_change_frees_the_old_one(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    r.update_portal_settings(&f.admin, c1, enabled_with_slug("acme"))
        .await
        .expect("claimed");
    expect_taken(
        r.update_portal_settings(&f.admin, c2, slug_update("acme"))
            .await,
        "slug",
    );
    r.update_portal_settings(&f.admin, c1, slug_update("acme-dental"))
        .await
        .expect("moved");
    assert_eq!(r.portal_by_slug("acme").await.expect("lookup"), None);
    assert_eq!(
        r.portal_by_slug("acme-dental")
            .await
            .expect("lookup")
            .map(|p| p.org),
        Some(c1)
    );
    r.update_portal_settings(&f.admin, c2, enabled_with_slug("acme"))
        .await
        .expect("the old slug is free");
    assert_eq!(
        r.portal_by_slug("acme")
            .await
            .expect("lookup")
            .map(|p| p.org),
        Some(c2)
    );
    // Clearing a slug (on a disabled portal) releases the whole route.
    r.update_portal_settings(
        &f.admin,
        c1,
        PortalUpdate {
            enabled: Some(false),
            slug: Some(None),
            ..Default::default()
        },
    )
    .await
    .expect("released");
    assert_eq!(
        r.store()
            .get(Scope::Platform, "portal_route", c1.0)
            .await
            .expect("get"),
        None
    );
    r.update_portal_settings(&f.admin, c2, slug_update("acme-dental"))
        .await
        .expect("a released slug is free");
}

pub async fn portal_by_slug_shows_only_enabled_portals(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, c1) = (&f.regentra, f.clients[0]);
    for unknown in ["acme", "api", "Acme", "", "../etc"] {
        assert_eq!(r.portal_by_slug(unknown).await.expect("lookup"), None);
    }
    r.update_portal_settings(&f.admin, c1, slug_update("acme"))
        .await
        .expect("reserved, not enabled");
    assert_eq!(
        r.portal_by_slug("acme").await.expect("lookup"),
        None,
        "a disabled portal is not shown"
    );
    let enable = PortalUpdate {
        enabled: Some(true),
        branding: BrandingUpdate {
            primary_color: set_text("#112233"),
            welcome_text: set_text("Hello"),
            ..Default::default()
        },
        ..Default::default()
    };
    r.update_portal_settings(&f.admin, c1, enable)
        .await
        .expect("enabled");
    let public = r
        .portal_by_slug("acme")
        .await
        .expect("lookup")
        .expect("shown");
    assert_eq!(public.org, c1);
    assert_eq!(public.slug, "acme");
    assert!(!public.show_compliance_dashboard);
    assert_eq!(
        public.branding.display_name.as_deref(),
        Some("Acme Dental (Northwind IT)"),
        "the display name falls back to the org's name"
    );
    assert_eq!(public.branding.primary_color.as_deref(), Some("#112233"));
    assert_eq!(public.branding.welcome_text.as_deref(), Some("Hello"));
    let named = PortalUpdate {
        branding: BrandingUpdate {
            display_name: set_text("Acme Help Desk"),
            ..Default::default()
        },
        ..Default::default()
    };
    r.update_portal_settings(&f.admin, c1, named)
        .await
        .expect("named");
    assert_eq!(
        r.portal_by_slug("acme")
            .await
            .expect("lookup")
            .and_then(|p| p.branding.display_name),
        Some("Acme Help Desk".into())
    );
    let disable = PortalUpdate {
        enabled: Some(false),
        ..Default::default()
    };
    r.update_portal_settings(&f.admin, c1, disable)
        .await
        .expect("disabled");
    assert_eq!(r.portal_by_slug("acme").await.expect("lookup"), None);
}

pub async fn portal_settings_are_invisible_to_other_tenants(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let saved = r
        .update_portal_settings(
            &f.admin,
            c1,
            PortalUpdate {
                show_compliance_dashboard: Some(true),
                ..enabled_with_slug("acme")
            },
        )
        .await
        .expect("saved");
    let neighbour = member(&f, c2, "owner@bolt.test", Role::OrgAdmin).await;
    let outsider = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let employee = member(&f, c1, "clerk@acme.test", Role::Employee).await;
    let viewer = member(&f, c1, "exec@acme.test", Role::Viewer).await;
    let before = (portal_snapshot(r, c1).await, portal_snapshot(r, c2).await);
    for stranger in [&neighbour, &outsider.admin] {
        expect_not_found(
            r.portal_settings(stranger, c1).await,
            "reading another tenant's portal",
        );
        expect_not_found(
            r.update_portal_settings(stranger, c1, slug_update("hijacked"))
                .await,
            "changing another tenant's portal",
        );
        expect_not_found(
            r.portal_dashboard(stranger, c1).await,
            "another tenant's dashboard",
        );
    }
    // Inside the org, reading and managing follow the matrix.
    expect_denied(
        r.portal_settings(&employee, c1).await,
        "employee reading settings",
    );
    expect_denied(
        r.update_portal_settings(&viewer, c1, slug_update("viewer-was-here"))
            .await,
        "viewer changing settings",
    );
    assert_eq!(
        (portal_snapshot(r, c1).await, portal_snapshot(r, c2).await),
        before,
        "refused calls wrote nothing"
    );
    assert_eq!(r.portal_settings(&viewer, c1).await.expect("read"), saved);
}

pub async fn portal_dashboard_follows_the_settings(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let (r, org) = (f.r(), f.org);
    let admin = &f.msp.admin;
    let employee = member(&f.msp, org, "clerk@acme.test", Role::Employee).await;
    f.adopt("ftc-safeguards").await;
    f.adopt("hipaa").await;
    f.implement("GV-02").await;
    expect_not_found(r.portal_dashboard(&employee, org).await, "no portal yet");
    r.update_portal_settings(admin, org, enabled_with_slug("acme"))
        .await
        .expect("enabled");
    expect_not_found(
        r.portal_dashboard(&employee, org).await,
        "dashboard not shown",
    );
    let show = PortalUpdate {
        show_compliance_dashboard: Some(true),
        ..Default::default()
    };
    r.update_portal_settings(admin, org, show)
        .await
        .expect("shown");
    // Employees cannot read the gap analysis itself, only the dashboard.
    expect_denied(
        r.gap_analysis(&employee, org).await,
        "employee reading gaps",
    );
    let dashboard = r
        .portal_dashboard(&employee, org)
        .await
        .expect("employee sees the dashboard");
    let gaps = r.gap_analysis(&f.manager, org).await.expect("gaps");
    assert_eq!(dashboard.org, org);
    assert_eq!(
        dashboard
            .frameworks
            .iter()
            .map(|d| d.framework.as_str())
            .collect::<Vec<_>>(),
        gaps.frameworks
            .iter()
            .map(|g| g.framework.as_str())
            .collect::<Vec<_>>()
    );
    for (d, g) in dashboard.frameworks.iter().zip(&gaps.frameworks) {
        assert_eq!(d.name, g.name);
        assert_eq!(
            d.score, g.score,
            "{}: the gap analysis's score",
            d.framework
        );
        assert_eq!(d.implemented, g.totals.satisfied);
        assert_eq!(d.total, g.totals.total - g.totals.not_applicable);
    }
    assert!(
        dashboard.frameworks.iter().any(|d| d.implemented > 0),
        "the implemented control counts"
    );
    // Hiding the dashboard (or disabling the portal) takes it away again.
    r.update_portal_settings(
        admin,
        org,
        PortalUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .expect("disabled");
    expect_not_found(r.portal_dashboard(&employee, org).await, "disabled portal");
}

pub async fn portal_invalid_update_writes_nothing(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, c1) = (&f.regentra, f.clients[0]);
    // Nothing saved yet: a rejected first update creates nothing.
    let empty = portal_snapshot(r, c1).await;
    expect_invalid(
        r.update_portal_settings(
            &f.admin,
            c1,
            PortalUpdate {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await,
        "slug",
    );
    assert_eq!(portal_snapshot(r, c1).await, empty);

    let saved = r
        .update_portal_settings(&f.admin, c1, enabled_with_slug("acme"))
        .await
        .expect("saved");
    let before = portal_snapshot(r, c1).await;
    let bad = PortalUpdate {
        slug: set_text("admin"),
        hostname: set_text("Portal.Acme.test"),
        branding: BrandingUpdate {
            display_name: set_text("Fine name"),
            logo_url: set_text("http://cdn.acme.test/logo.png"),
            primary_color: set_text("#12345g"),
            ..Default::default()
        },
        ..Default::default()
    };
    match r.update_portal_settings(&f.admin, c1, bad).await {
        Err(Error::Validation(errors)) => assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            [
                "slug",
                "hostname",
                "branding.logo_url",
                "branding.primary_color"
            ],
            "every bad field is named, the good one is not"
        ),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(
        portal_snapshot(r, c1).await,
        before,
        "no settings, no route, no audit event"
    );
    assert_eq!(r.portal_settings(&f.admin, c1).await.expect("read"), saved);
}

pub async fn portal_updates_are_audited_in_the_org_chain(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, c1) = (&f.regentra, f.clients[0]);
    let owner = member(&f, c1, "owner@acme.test", Role::OrgAdmin).await;
    let before = store::audit_chain(r.store(), c1)
        .await
        .expect("audit")
        .len();
    let update = PortalUpdate {
        branding: BrandingUpdate {
            primary_color: set_text("#112233"),
            ..Default::default()
        },
        ..enabled_with_slug("acme")
    };
    r.update_portal_settings(&owner, c1, update)
        .await
        .expect("saved");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    assert_eq!(chain.len(), before + 1, "one event per update");
    let event = chain.last().expect("the update's event");
    assert_eq!(event.action, "portal.updated");
    assert_eq!(event.target, Target::new("portal_settings", c1));
    assert_eq!(event.actor.user, Some(owner.user));
    assert_eq!(
        event.details["changed"],
        json!(["enabled", "slug", "branding.primary_color"])
    );
    assert_eq!(event.details["to"]["slug"], "acme");
    // The MSP admin's change is recorded in the client's chain as delegated.
    r.update_portal_settings(&f.admin, c1, slug_update("acme-dental"))
        .await
        .expect("moved");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let event = chain.last().expect("the move's event");
    assert_eq!(event.details["changed"], json!(["slug"]));
    assert_eq!(event.actor.via, Some(Via::MspDelegation { msp: f.msp }));
    // Nothing lands in the MSP's chain or the other client's.
    assert!(!actions(&f, f.msp).await.contains(&"portal.updated".into()));
    assert!(
        !actions(&f, f.clients[1])
            .await
            .contains(&"portal.updated".into())
    );
    assert_eq!(
        actions(&f, c1)
            .await
            .iter()
            .filter(|a| *a == "portal.updated")
            .count(),
        2
    );
    let report = r.verify_audit_chain(&owner, c1).await.expect("verify");
    assert_eq!(report.first_break, None);
    assert_eq!(report.events, chain.len() as u64);
}

// ----- host operations: initial passwords, sweeps, outbox --------------------

pub async fn new_members_get_an_initial_password_existing_ones_keep_theirs(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let client = f.clients[0];
    let hash = r.hash_password("first passphrase here").expect("hash");
    let m = r
        .add_member_with_password(
            &f.admin,
            client,
            "new@client.test",
            "New",
            Role::Employee,
            Some(hash),
        )
        .await
        .expect("added");
    let (user, phc) = r
        .login_material("new@client.test")
        .await
        .expect("lookup")
        .expect("a credential for the new user");
    assert_eq!(user, m.user);
    assert!(crate::auth::verify_password("first passphrase here", &phc));

    // The same user joins another org with another password: ignored.
    let other = r.hash_password("someone else's choice").expect("hash");
    r.add_member_with_password(
        &f.admin,
        f.clients[1],
        "new@client.test",
        "New",
        Role::Employee,
        Some(other),
    )
    .await
    .expect("added to the second client");
    let (_, kept) = r
        .login_material("new@client.test")
        .await
        .expect("lookup")
        .expect("material");
    assert!(crate::auth::verify_password("first passphrase here", &kept));

    // A plain password where a hash belongs is refused, and nothing is written.
    let before = r
        .list_members(&f.admin, client, PageRequest::first(500))
        .await
        .expect("members");
    expect_invalid(
        r.add_member_with_password(
            &f.admin,
            client,
            "plain@client.test",
            "Plain",
            Role::Employee,
            Some("not a hash at all".into()),
        )
        .await,
        "password",
    );
    assert_eq!(
        r.list_members(&f.admin, client, PageRequest::first(500))
            .await
            .expect("members"),
        before
    );
    assert_eq!(
        r.login_material("plain@client.test").await.expect("lookup"),
        None
    );
}

pub async fn hosts_find_every_org_and_the_platform_admin(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .organization_ids(PageRequest::after(after, 2))
            .await
            .expect("ids");
        all.extend(page.iter().copied());
        match page.last() {
            Some(last) if page.len() == 2 => after = Some(last.0),
            _ => break,
        }
    }
    for org in [f.msp, f.clients[0], f.clients[1]] {
        assert!(all.contains(&org), "{org:?} is swept");
    }
    assert_eq!(all.len(), 3);
    let operator = r.platform_admin("Ops@Platform.test").await.expect("lookup");
    assert_eq!(operator, Some(f.operator.user));
    // An ordinary member is not the platform admin.
    assert_eq!(
        r.platform_admin("admin@northwind-it.test")
            .await
            .expect("lookup"),
        None
    );
}

pub async fn the_outbox_is_read_by_org_managers_only(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let client = f.clients[0];
    let page = r
        .outbox(&f.admin, client, PageRequest::first(50))
        .await
        .expect("the MSP admin reads the client's outbox");
    assert!(page.is_empty());
    expect_not_found(
        r.outbox(&other.admin, client, PageRequest::first(50)).await,
        "another MSP's admin",
    );
}

pub async fn portal_by_hostname_serves_only_an_enabled_portal_with_that_host(
    store: Arc<dyn Store>,
) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let client = f.clients[0];
    r.update_portal_settings(
        &f.admin,
        client,
        PortalUpdate {
            hostname: set_text("help.acme.test"),
            ..enabled_with_slug("acme")
        },
    )
    .await
    .expect("enabled with a host name");
    for host in ["help.acme.test", "HELP.acme.test:443", "help.acme.test."] {
        let found = r.portal_by_hostname(host).await.expect("lookup");
        assert_eq!(
            found.map(|p| (p.org, p.slug)),
            Some((client, "acme".to_owned())),
            "{host}"
        );
    }
    for host in ["", "other.acme.test", "acme", "help.acme.test:x"] {
        assert_eq!(
            r.portal_by_hostname(host).await.expect("lookup"),
            None,
            "{host:?}"
        );
    }
    r.update_portal_settings(
        &f.admin,
        client,
        PortalUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .expect("disabled");
    assert_eq!(
        r.portal_by_hostname("help.acme.test")
            .await
            .expect("lookup"),
        None
    );
}

pub async fn a_declared_file_hash_must_match_the_stored_bytes(store: Arc<dyn Store>) {
    use crate::compliance::evidence::NewFile;
    use sha2::Digest as _;
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    let bytes = b"access review, Q4".to_vec();
    let body = || futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes.clone())]);
    let file = |sha256: Option<String>| NewFile {
        name: "review.txt".into(),
        content_type: "text/plain".into(),
        sha256,
    };
    let meta = NewEvidence {
        title: "Access review".into(),
        ..Default::default()
    };
    let right = hex::encode(sha2::Sha256::digest(&bytes)).to_uppercase();
    let stored = r
        .upload_evidence_file(&f.officer, f.org, meta.clone(), file(Some(right)), body())
        .await
        .expect("a matching hash, in any case, is accepted");
    let before = actions(&f.msp, f.org).await.len();
    expect_invalid(
        r.upload_evidence_file(
            &f.officer,
            f.org,
            meta.clone(),
            file(Some("00".repeat(32))),
            body(),
        )
        .await,
        "file",
    );
    expect_invalid(
        r.upload_evidence_file(&f.officer, f.org, meta, file(Some("xyz".into())), body())
            .await,
        "sha256",
    );
    let listed = r.evidence(&f.manager, f.org, None).await.expect("list");
    assert_eq!(
        listed.iter().map(|e| e.evidence.id).collect::<Vec<_>>(),
        [stored.id],
        "a mismatched upload leaves no record"
    );
    assert_eq!(
        actions(&f.msp, f.org).await.len(),
        before,
        "nor an audit event"
    );
}
