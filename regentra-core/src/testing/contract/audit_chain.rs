use super::*;

pub async fn audit_events_chain_per_org(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, b) = (org(1), org(2));
    let mut set = changes(vec![insert(Scope::Org(a), id(1), json!(1), vec![])]);
    set.audit(draft(a, 1, "a.first"));
    set.audit(draft(b, 2, "b.first"));
    set.audit(draft(a, 3, "a.second"));
    let sealed = store.apply(set).await.expect("applies").events;
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

/// The events about some records, found by target: this org's only, in
/// chain order, paged after a sequence number, each once however many of
/// the targets it matches.
pub async fn audit_events_are_found_by_their_target(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, b) = (org(5), org(6));
    let about = |n: u128, target: u128| AuditDraft {
        target: Target::new("conformance_ticket", target),
        ..draft(a, n, "about")
    };
    // Events 1 to 9 of org a: about ticket 1, ticket 2, or another kind.
    for n in 1..=9u128 {
        let mut set = ChangeSet::new();
        set.audit(match n % 3 {
            0 => about(n, 1),
            1 => about(n, 2),
            _ => draft(a, n, "other"),
        });
        store.apply(set).await.expect("applies");
    }
    // Org b has an event about the same target: it never shows in a's.
    let mut other = ChangeSet::new();
    other.audit(AuditDraft {
        target: Target::new("conformance_ticket", 1),
        ..draft(b, 10, "about")
    });
    store.apply(other).await.expect("applies");
    let seqs =
        |events: Vec<audit::AuditEvent>| events.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    let one = Target::new("conformance_ticket", 1);
    let two = Target::new("conformance_ticket", 2);
    assert_eq!(
        seqs(
            store
                .audit_events_about(a, std::slice::from_ref(&one), None, 10)
                .await
                .expect("read")
        ),
        vec![3, 6, 9]
    );
    let both = [two.clone(), one.clone(), one.clone()];
    assert_eq!(
        seqs(
            store
                .audit_events_about(a, &both, None, 10)
                .await
                .expect("read")
        ),
        vec![1, 3, 4, 6, 7, 9],
        "merged in chain order, each once"
    );
    assert_eq!(
        seqs(
            store
                .audit_events_about(a, &both, None, 2)
                .await
                .expect("read")
        ),
        vec![1, 3],
        "the first page"
    );
    assert_eq!(
        seqs(
            store
                .audit_events_about(a, &both, Some(3), 2)
                .await
                .expect("read")
        ),
        vec![4, 6],
        "after a sequence number"
    );
    assert!(
        store
            .audit_events_about(a, &both, Some(9), 10)
            .await
            .expect("read")
            .is_empty()
    );
    let found = store
        .audit_events_about(a, std::slice::from_ref(&one), None, 1)
        .await
        .expect("read");
    let chain = store::audit_chain(store, a).await.expect("audit read");
    assert_eq!(found[0], chain[2], "the event as sealed");
    assert!(
        store
            .audit_events_about(a, &[Target::new(KIND, 99)], None, 10)
            .await
            .expect("read")
            .is_empty(),
        "a target without events"
    );
    assert!(
        store
            .audit_events_about(a, &[], None, 10)
            .await
            .expect("read")
            .is_empty(),
        "no target"
    );
    assert_eq!(
        seqs(
            store
                .audit_events_about(b, std::slice::from_ref(&one), None, 10)
                .await
                .expect("read")
        ),
        vec![1],
        "the other org's own"
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
