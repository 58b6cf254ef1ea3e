//! Range scans over an index, batched reads, read preconditions and numbers
//! drawn inside the commit.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use futures::future::join_all;
use serde_json::json;

use super::{KIND, apply, changes, draft, get, id, insert, must, org, update};
use crate::error::Error;
use crate::store::{
    ChangeSet, Draw, IndexEntry, IndexScan, Mutation, Read, ReadResult, ScanCursor, Scope, Store,
};

/// Ten records whose `due` index values are zero-padded numbers (two share
/// each value), plus entries of another index and another kind that no
/// scan of `due` may return.
async fn seed_due(store: &dyn Store, scope: Scope) {
    let mut mutations = Vec::new();
    for n in 1..=10u128 {
        let value = format!("{:04}", n.div_ceil(2) * 10);
        mutations.push(insert(
            scope,
            id(n),
            json!({ "n": n as u64 }),
            vec![
                IndexEntry::multi("due", value),
                IndexEntry::multi("other", format!("{:04}", n)),
            ],
        ));
    }
    mutations.push(Mutation::Insert {
        scope,
        kind: "conformance_other_kind",
        id: id(99),
        body: json!({}),
        indexes: vec![IndexEntry::multi("due", "0030")],
    });
    must(store, mutations).await;
}

async fn scanned(store: &dyn Store, scope: Scope, scan: &IndexScan) -> Vec<(String, u128)> {
    store
        .scan(scope, KIND, scan)
        .await
        .expect("scan works")
        .into_iter()
        .map(|s| (s.value, s.record.id.as_u128() - id(0).as_u128()))
        .collect()
}

pub async fn scan_walks_a_value_range_in_order_both_ways(store: Arc<dyn Store>) {
    let scope = Scope::Org(org(40));
    seed_due(store.as_ref(), scope).await;
    let all = scanned(store.as_ref(), scope, &IndexScan::all("due")).await;
    let expected: Vec<(String, u128)> = (1..=10u128)
        .map(|n| (format!("{:04}", n.div_ceil(2) * 10), n))
        .collect();
    assert_eq!(
        all, expected,
        "ascending by (value, id), this kind and index only"
    );
    let down = scanned(store.as_ref(), scope, &IndexScan::all("due").descending()).await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(down, reversed, "descending is the exact reverse");

    let between = IndexScan::between(
        "due",
        Bound::Included("0020".into()),
        Bound::Excluded("0040".into()),
    );
    assert_eq!(
        scanned(store.as_ref(), scope, &between).await,
        vec![
            ("0020".into(), 3),
            ("0020".into(), 4),
            ("0030".into(), 5),
            ("0030".into(), 6)
        ],
        "from is inclusive, to exclusive"
    );
    let open = IndexScan::between(
        "due",
        Bound::Excluded("0020".into()),
        Bound::Included("0040".into()),
    );
    assert_eq!(
        scanned(store.as_ref(), scope, &open).await,
        vec![
            ("0030".into(), 5),
            ("0030".into(), 6),
            ("0040".into(), 7),
            ("0040".into(), 8)
        ],
        "an excluded from skips every record of that value, an included to keeps them"
    );
    assert_eq!(
        scanned(store.as_ref(), scope, &open.clone().descending()).await,
        vec![
            ("0040".into(), 8),
            ("0040".into(), 7),
            ("0030".into(), 6),
            ("0030".into(), 5)
        ]
    );
    let until = IndexScan::between("due", Bound::Unbounded, Bound::Included("0010".into()));
    assert_eq!(
        scanned(store.as_ref(), scope, &until).await,
        vec![("0010".into(), 1), ("0010".into(), 2)],
        "values up to a bound (what is due by now)"
    );
    let inverted = IndexScan::between(
        "due",
        Bound::Included("0040".into()),
        Bound::Excluded("0020".into()),
    );
    assert!(
        scanned(store.as_ref(), scope, &inverted).await.is_empty(),
        "an empty range is empty, not an error"
    );
    assert!(
        scanned(store.as_ref(), Scope::Org(org(41)), &IndexScan::all("due"))
            .await
            .is_empty(),
        "another scope holds nothing of this one"
    );
}

pub async fn scan_pages_by_cursor_without_gaps_or_repeats(store: Arc<dyn Store>) {
    let scope = Scope::Org(org(42));
    seed_due(store.as_ref(), scope).await;
    for descending in [false, true] {
        let mut base = IndexScan::between(
            "due",
            Bound::Included("0010".into()),
            Bound::Included("0040".into()),
        )
        .limit(3);
        if descending {
            base = base.descending();
        }
        let whole = scanned(store.as_ref(), scope, &base.clone().limit(100)).await;
        assert_eq!(whole.len(), 8);
        let mut seen = Vec::new();
        let mut cursor: Option<ScanCursor> = None;
        loop {
            let page = store
                .scan(scope, KIND, &base.clone().after(cursor.clone()))
                .await
                .expect("scan works");
            assert!(page.len() <= 3, "a page holds at most its limit");
            cursor = page.last().map(|s| s.cursor());
            let full = page.len() == 3;
            seen.extend(
                page.into_iter()
                    .map(|s| (s.value, s.record.id.as_u128() - id(0).as_u128())),
            );
            if !full {
                break;
            }
        }
        assert_eq!(
            seen, whole,
            "pages walk the range once, in order (descending: {descending})"
        );
    }
    // A cursor between two records of one value resumes inside the value.
    let resumed = IndexScan::all("due").after(Some(ScanCursor {
        value: "0030".into(),
        id: id(5),
    }));
    assert_eq!(
        scanned(store.as_ref(), scope, &resumed.limit(2)).await,
        vec![("0030".into(), 6), ("0040".into(), 7)]
    );
}

pub async fn scan_by_prefix_finds_composite_values(store: Arc<dyn Store>) {
    let scope = Scope::Org(org(43));
    let values = [
        "open|high|0001",
        "open|high|0002",
        "open|highest|0001",
        "open|low|0001",
        "opened|x",
        "closed|high|0001",
    ];
    must(
        store.as_ref(),
        values
            .iter()
            .enumerate()
            .map(|(n, v)| {
                insert(
                    scope,
                    id(n as u128 + 1),
                    json!(n),
                    vec![IndexEntry::multi("queue", *v)],
                )
            })
            .collect(),
    )
    .await;
    let found: Vec<String> = scanned(
        store.as_ref(),
        scope,
        &IndexScan::prefix("queue", "open|high|"),
    )
    .await
    .into_iter()
    .map(|(v, _)| v)
    .collect();
    assert_eq!(found, vec!["open|high|0001", "open|high|0002"]);
    let open: Vec<String> = scanned(store.as_ref(), scope, &IndexScan::prefix("queue", "open|"))
        .await
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(
        open,
        vec![
            "open|highest|0001",
            "open|high|0001",
            "open|high|0002",
            "open|low|0001"
        ],
        "values compare byte by byte ('|' sorts after letters); 'opened' is not 'open|'"
    );
}

pub async fn get_many_answers_each_id_in_its_place(store: Arc<dyn Store>) {
    let (a, b) = (Scope::Org(org(44)), Scope::Org(org(45)));
    must(
        store.as_ref(),
        vec![
            insert(a, id(1), json!("one"), vec![]),
            insert(a, id(3), json!("three"), vec![]),
            insert(b, id(2), json!("b's"), vec![]),
        ],
    )
    .await;
    let found = store
        .get_many(a, KIND, &[id(3), id(2), id(1), id(3)])
        .await
        .expect("get_many works");
    let bodies: Vec<Option<serde_json::Value>> =
        found.iter().map(|r| r.as_ref().map(|r| r.json())).collect();
    assert_eq!(
        bodies,
        vec![
            Some(json!("three")),
            None,
            Some(json!("one")),
            Some(json!("three"))
        ],
        "aligned with the ids asked for; another scope's record is absent"
    );
    assert!(
        store
            .get_many(a, KIND, &[])
            .await
            .expect("works")
            .is_empty()
    );
}

pub async fn read_batches_answer_in_order(store: Arc<dyn Store>) {
    let (a, b) = (Scope::Org(org(46)), Scope::Platform);
    must(
        store.as_ref(),
        vec![
            insert(a, id(1), json!("a1"), vec![IndexEntry::multi("k", "v")]),
            insert(b, id(2), json!("p2"), vec![IndexEntry::multi("k", "v")]),
        ],
    )
    .await;
    let results = store
        .read(vec![
            Read::Get {
                scope: a,
                kind: KIND.into(),
                id: id(1),
            },
            Read::Get {
                scope: b,
                kind: KIND.into(),
                id: id(1),
            },
            Read::Find {
                scope: b,
                kind: KIND.into(),
                index: "k".into(),
                value: "v".into(),
                page: crate::store::PageRequest::first(10),
            },
            Read::GetMany {
                scope: a,
                kind: KIND.into(),
                ids: vec![id(2), id(1)],
            },
            Read::Scan {
                scope: a,
                kind: KIND.into(),
                scan: IndexScan::all("k"),
            },
        ])
        .await
        .expect("read works");
    assert_eq!(results.len(), 5);
    match &results[..] {
        [
            ReadResult::One(Some(one)),
            ReadResult::One(None),
            ReadResult::Many(many),
            ReadResult::Each(each),
            ReadResult::Scanned(scanned),
        ] => {
            assert_eq!(one.json(), json!("a1"));
            assert_eq!(many.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id(2)]);
            assert_eq!(
                each.iter()
                    .map(|r| r.as_ref().map(|r| r.id))
                    .collect::<Vec<_>>(),
                vec![None, Some(id(1))]
            );
            assert_eq!(
                scanned.iter().map(|s| s.record.id).collect::<Vec<_>>(),
                vec![id(1)]
            );
        }
        other => panic!("each read answers in its place, got {other:?}"),
    }
}

pub async fn checks_hold_the_version_read(store: Arc<dyn Store>) {
    let scope = Scope::Org(org(47));
    must(
        store.as_ref(),
        vec![
            insert(scope, id(1), json!("grant"), vec![]),
            insert(scope, id(2), json!("target"), vec![]),
        ],
    )
    .await;
    let check = |version| Mutation::Check {
        scope,
        kind: KIND,
        id: id(1),
        expected_version: version,
    };
    must(
        store.as_ref(),
        vec![check(1), update(scope, id(2), 1, json!("written"), vec![])],
    )
    .await;
    assert_eq!(
        get(store.as_ref(), scope, id(1)).await.map(|r| r.version),
        Some(1),
        "a check writes nothing"
    );
    must(
        store.as_ref(),
        vec![update(scope, id(1), 1, json!("grant changed"), vec![])],
    )
    .await;
    match apply(
        store.as_ref(),
        vec![check(1), update(scope, id(2), 2, json!("lost"), vec![])],
    )
    .await
    {
        Err(Error::Conflict { .. }) => {}
        other => panic!("a check at a stale version must be Conflict, got {other:?}"),
    }
    assert_eq!(
        get(store.as_ref(), scope, id(2)).await.map(|r| r.json()),
        Some(json!("written")),
        "a failed check leaves nothing of its change set"
    );
    let gone = Mutation::Check {
        scope,
        kind: KIND,
        id: id(9),
        expected_version: 1,
    };
    match apply(store.as_ref(), vec![gone]).await {
        Err(Error::Conflict { .. }) => {}
        other => panic!("a check of a record that is gone must be Conflict, got {other:?}"),
    }
}

fn ticket_draw(scope: Scope, n: u128) -> (ChangeSet, Draw) {
    let draw = Draw {
        scope,
        counter_kind: KIND,
        counter_id: id(0),
        counter_field: "last",
        kind: KIND,
        id: id(n),
        field: "number",
        index: Some("number"),
    };
    let mut set = changes(vec![insert(
        scope,
        id(n),
        json!({ "number": 0, "title": format!("t{n}") }),
        vec![
            IndexEntry::unique("number", "0"),
            IndexEntry::multi("kept", "yes"),
        ],
    )]);
    let mut event = draft(
        match scope {
            Scope::Org(o) => o,
            Scope::Platform => crate::audit::PLATFORM_CHAIN,
        },
        n,
        "created",
    );
    event.target = crate::audit::Target::new(KIND, id(n));
    set.audit(event);
    set.draw(draw.clone());
    (set, draw)
}

pub async fn draws_number_records_in_the_commit(store: Arc<dyn Store>) {
    let scope = Scope::Org(org(48));
    let (set, _) = ticket_draw(scope, 1);
    match store.apply(set).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("a draw from a missing counter must be NotFound, got {other:?}"),
    }
    assert!(
        get(store.as_ref(), scope, id(1)).await.is_none(),
        "nothing of it is written"
    );
    must(
        store.as_ref(),
        vec![insert(scope, id(0), json!({ "last": 41 }), vec![])],
    )
    .await;
    let (set, _) = ticket_draw(scope, 1);
    let applied = store.apply(set).await.expect("draw applies");
    assert_eq!(applied.drawn, vec![42], "the counter's next number");
    let record = get(store.as_ref(), scope, id(1)).await.expect("inserted");
    assert_eq!(record.json()["number"], json!(42));
    assert_eq!(record.json()["title"], json!("t1"), "the rest as written");
    assert_eq!(
        applied.events[0].details["number"],
        json!(42),
        "the audit event about the record names the number"
    );
    assert_eq!(
        super::find_ids(store.as_ref(), scope, "number", "42").await,
        vec![id(1)],
        "the index entry holds the number"
    );
    assert!(
        super::find_ids(store.as_ref(), scope, "number", "0")
            .await
            .is_empty()
    );
    let counter = get(store.as_ref(), scope, id(0)).await.expect("counter");
    assert_eq!(
        (counter.version, counter.json()["last"].clone()),
        (2, json!(42))
    );
    // A change set that fails after its draw gives the number back.
    let (mut set, _) = ticket_draw(scope, 2);
    set.mutations
        .push(update(scope, id(7), 1, json!("missing"), vec![]));
    assert!(store.apply(set).await.is_err());
    let counter = get(store.as_ref(), scope, id(0)).await.expect("counter");
    assert_eq!(
        counter.json()["last"],
        json!(42),
        "the failed draw is undone"
    );
}

pub async fn concurrent_draws_give_consecutive_numbers(store: Arc<dyn Store>) {
    let scope = Scope::Org(org(49));
    must(
        store.as_ref(),
        vec![insert(scope, id(0), json!({ "last": 0 }), vec![])],
    )
    .await;
    let results = join_all((1..=24u128).map(|n| {
        let store = Arc::clone(&store);
        async move { store.apply(ticket_draw(scope, n).0).await }
    }))
    .await;
    let mut numbers = BTreeSet::new();
    for result in results {
        let applied = result.expect("concurrent draws never fail");
        numbers.insert(applied.drawn[0]);
    }
    assert_eq!(
        numbers,
        (1..=24).collect::<BTreeSet<u64>>(),
        "each number once, none skipped"
    );
    let chain = crate::store::audit_chain(store.as_ref(), org(49))
        .await
        .expect("chain");
    assert_eq!(chain.len(), 24);
}
