//! Figures without reading what they count: `count` over an index range,
//! the newest events of a chain, and both (with `list`) inside one read
//! batch.

use std::ops::Bound;
use std::sync::Arc;

use serde_json::json;

use super::{KIND, changes, draft, id, insert, must, org, update};
use crate::store::{
    IndexEntry, IndexScan, PageRequest, Read, ReadResult, ScanCursor, Scope, Store,
};

/// Records 1..=6 with `at` values, record 3 holding two values in range and
/// record 6 none; another index, another kind and another scope hold
/// entries of the same values that no count of `at` here may see.
async fn seed_counted(store: &dyn Store, scope: Scope) {
    let at = |v: &str| IndexEntry::multi("at", v);
    let mut mutations = vec![
        insert(scope, id(1), json!(1), vec![at("0010")]),
        insert(scope, id(2), json!(2), vec![at("0020")]),
        insert(scope, id(3), json!(3), vec![at("0020"), at("0030")]),
        insert(scope, id(4), json!(4), vec![at("0040")]),
        insert(scope, id(5), json!(5), vec![at("0050")]),
        insert(
            scope,
            id(6),
            json!(6),
            vec![IndexEntry::multi("other", "0020")],
        ),
        insert(
            Scope::Org(org(51)),
            id(7),
            json!(7),
            vec![at("0020"), at("0030")],
        ),
    ];
    mutations.push(crate::store::Mutation::Insert {
        scope,
        kind: "conformance_other_kind",
        id: id(8),
        body: json!({}),
        indexes: vec![at("0020")],
    });
    must(store, mutations).await;
}

async fn counted(store: &dyn Store, scope: Scope, scan: IndexScan) -> u64 {
    store.count(scope, KIND, &scan).await.expect("count works")
}

pub async fn count_tallies_distinct_records_in_a_range(store: Arc<dyn Store>) {
    let scope = Scope::Org(org(50));
    seed_counted(store.as_ref(), scope).await;
    let s = store.as_ref();
    assert_eq!(
        counted(s, scope, IndexScan::all("at")).await,
        5,
        "every record holding the index, each once (record 3 holds two values)"
    );
    let between = |from: Bound<&str>, to: Bound<&str>| {
        IndexScan::between("at", from.map(str::to_owned), to.map(str::to_owned))
    };
    assert_eq!(
        counted(
            s,
            scope,
            between(Bound::Included("0020"), Bound::Excluded("0040"))
        )
        .await,
        2,
        "records 2 and 3: 3 once though both its values are in range"
    );
    assert_eq!(
        counted(
            s,
            scope,
            between(Bound::Excluded("0020"), Bound::Included("0040"))
        )
        .await,
        2,
        "records 3 (by 0030) and 4"
    );
    assert_eq!(
        counted(s, scope, IndexScan::prefix("at", "002")).await,
        2,
        "a prefix"
    );
    assert_eq!(
        counted(s, scope, between(Bound::Included("0060"), Bound::Unbounded)).await,
        0,
        "an empty range"
    );
    assert_eq!(
        counted(
            s,
            scope,
            between(Bound::Included("0040"), Bound::Excluded("0010"))
        )
        .await,
        0,
        "a range whose end is before its start"
    );
    assert_eq!(
        counted(s, scope, IndexScan::all("at").limit(1).descending()).await,
        5,
        "order and limit do not matter"
    );
    let cursor = ScanCursor {
        value: "0020".into(),
        id: id(2),
    };
    assert_eq!(
        counted(s, scope, IndexScan::all("at").after(Some(cursor.clone()))).await,
        3,
        "strictly after a cursor: 3 (by both values), 4 and 5"
    );
    assert_eq!(
        counted(
            s,
            scope,
            IndexScan::all("at").descending().after(Some(cursor))
        )
        .await,
        1,
        "strictly after a cursor in a descending walk: 1 only"
    );
    assert_eq!(counted(s, Scope::Platform, IndexScan::all("at")).await, 0);
    assert_eq!(
        counted(s, Scope::Org(org(51)), IndexScan::all("at")).await,
        1,
        "another scope counts its own"
    );

    // Counts follow writes: an index value moved out of the range, a record
    // deleted.
    must(
        s,
        vec![
            update(
                scope,
                id(2),
                1,
                json!(2),
                vec![IndexEntry::multi("at", "0090")],
            ),
            super::delete(scope, id(4), 1),
        ],
    )
    .await;
    assert_eq!(
        counted(
            s,
            scope,
            between(Bound::Included("0020"), Bound::Included("0040"))
        )
        .await,
        1,
        "only record 3 is left in range"
    );
}

pub async fn the_newest_audit_events_come_first(store: Arc<dyn Store>) {
    let (a, b) = (org(52), org(53));
    for n in 1..=7u128 {
        let mut c = changes(Vec::new());
        c.audit.push(draft(a, n, &format!("a.{n}")));
        if n <= 2 {
            c.audit.push(draft(b, 100 + n, &format!("b.{n}")));
        }
        store.apply(c).await.expect("applies");
    }
    let seqs = |events: Vec<crate::audit::AuditEvent>| {
        events
            .into_iter()
            .map(|e| (e.seq, e.action))
            .collect::<Vec<_>>()
    };
    let newest = store.audit_events_before(a, None, 3).await.expect("reads");
    assert_eq!(
        seqs(newest),
        vec![(7, "a.7".into()), (6, "a.6".into()), (5, "a.5".into())],
        "newest first, at most the limit"
    );
    let older = store
        .audit_events_before(a, Some(5), 3)
        .await
        .expect("reads");
    assert_eq!(
        seqs(older),
        vec![(4, "a.4".into()), (3, "a.3".into()), (2, "a.2".into())],
        "strictly before a sequence number"
    );
    let rest = store
        .audit_events_before(a, Some(2), 10)
        .await
        .expect("reads");
    assert_eq!(seqs(rest), vec![(1, "a.1".into())]);
    assert!(
        store
            .audit_events_before(a, Some(1), 10)
            .await
            .expect("reads")
            .is_empty()
    );
    assert_eq!(
        seqs(
            store
                .audit_events_before(a, Some(100), 2)
                .await
                .expect("reads")
        ),
        vec![(7, "a.7".into()), (6, "a.6".into())],
        "a bound past the end is the end"
    );
    assert_eq!(
        seqs(store.audit_events_before(b, None, 10).await.expect("reads")),
        vec![(2, "b.2".into()), (1, "b.1".into())],
        "each org its own chain"
    );
    assert!(
        store
            .audit_events_before(org(54), None, 10)
            .await
            .expect("reads")
            .is_empty(),
        "an org with no chain"
    );
}

pub async fn read_batches_list_count_and_the_newest_events(store: Arc<dyn Store>) {
    let scope = Scope::Org(org(55));
    seed_counted(store.as_ref(), scope).await;
    let mut c = changes(Vec::new());
    c.audit.push(draft(org(55), 1, "first"));
    c.audit.push(draft(org(55), 2, "second"));
    store.apply(c).await.expect("applies");
    let results = store
        .read(vec![
            Read::List {
                scope,
                kind: KIND.into(),
                page: PageRequest::after(Some(id(2)), 2),
            },
            Read::Count {
                scope,
                kind: KIND.into(),
                scan: IndexScan::prefix("at", "00"),
            },
            Read::AuditBefore {
                org: org(55),
                before: None,
                limit: 1,
            },
            Read::Count {
                scope: Scope::Org(org(51)),
                kind: KIND.into(),
                scan: IndexScan::all("at"),
            },
        ])
        .await
        .expect("read works");
    match &results[..] {
        [
            ReadResult::Many(listed),
            ReadResult::Count(5),
            ReadResult::Events(events),
            ReadResult::Count(1),
        ] => {
            assert_eq!(
                listed.iter().map(|r| r.id).collect::<Vec<_>>(),
                vec![id(3), id(4)],
                "a list page in id order, after its cursor"
            );
            assert_eq!(
                events.iter().map(|e| e.seq).collect::<Vec<_>>(),
                vec![2],
                "the newest event"
            );
        }
        other => panic!("each read answers in its place, got {other:?}"),
    }
}
