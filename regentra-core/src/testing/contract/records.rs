use super::*;

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
    assert_eq!(record.json(), json!({"name": "one"}));
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
        get(store, Scope::Platform, id(1)).await.map(|r| r.json()),
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
        get(store, scope, id(1)).await.map(|r| r.json()),
        Some(json!(1))
    );
}

pub async fn update_bumps_version_and_stale_update_conflicts(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let scope = Scope::Org(org(1));
    must(store, vec![insert(scope, id(1), json!("v1"), vec![])]).await;
    must(store, vec![update(scope, id(1), 1, json!("v2"), vec![])]).await;
    let record = get(store, scope, id(1)).await.expect("record exists");
    assert_eq!((record.version, record.json()), (2, json!("v2")));
    match apply(store, vec![update(scope, id(1), 1, json!("lost"), vec![])]).await {
        Err(Error::Conflict { .. }) => {}
        other => panic!("an update at a stale version must be Conflict, got {other:?}"),
    }
    match apply(store, vec![delete(scope, id(1), 1)]).await {
        Err(Error::Conflict { .. }) => {}
        other => panic!("a delete at a stale version must be Conflict, got {other:?}"),
    }
    assert_eq!(
        get(store, scope, id(1)).await.map(|r| r.json()),
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
    assert_eq!((kept.version, kept.json()), (1, json!("kept")));
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
    assert_eq!(rest[0].json(), json!(5));
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
    assert_eq!(
        get(store, a, id(1)).await.map(|r| r.json()),
        Some(json!("a"))
    );
    assert_eq!(
        get(store, b, id(1)).await.map(|r| r.json()),
        Some(json!("b"))
    );
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
        get(store, a, id(1)).await.map(|r| (r.version, r.json())),
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
    assert_eq!(get(store, scope, id(1)).await.map(|r| r.json()), Some(body));
    assert_eq!(
        find_ids(store, scope, "name", "Ünïcødé / slash").await,
        vec![id(1)]
    );
}
