//! What the host's worker relies on: work found through the due-time
//! indexes (escalations, outbox deliveries), delivery state kept per
//! outbox entry, and the one-time backfill of records written before the
//! indexes.

use super::psa::{new_ticket, psa_fixture, utc};
use super::*;
use crate::notify::{Deliveries, MAX_DELIVERY_ATTEMPTS, Notification, delivery_retry_delay};
use crate::psa::ticket::{NEXT_ESCALATION, Ticket};
use crate::store::{ChangeSet, Entity, Mutation};
use crate::testing::counting::CountingStore;

/// A rule that posts to the escalation's own webhook as soon as 1% of the
/// response target is used (2.4 minutes of a medium ticket's 4 hours).
fn webhook_at_one_percent() -> EscalationRule {
    EscalationRule {
        clock: ClockKind::Response,
        trigger: Trigger::Percent { percent: 1 },
        action: Action::Webhook {
            url: "https://hooks.acme.test/sla".into(),
        },
    }
}

/// Every org of the platform, as the worker pages them.
async fn every_org(r: &Regentra) -> Vec<OrgId> {
    let mut orgs = Vec::new();
    loop {
        let page = r
            .organization_ids(PageRequest::after(orgs.last().map(|o: &OrgId| o.0), 7))
            .await
            .expect("orgs");
        let full = page.len() == 7;
        orgs.extend(page);
        if !full {
            return orgs;
        }
    }
}

/// The escalation sweep reads the tickets with something due and no other:
/// over many orgs, each with an active ticket whose next escalation is
/// ahead, it returns no ticket record at all; when one comes due, that one.
pub async fn an_escalation_sweep_reads_only_the_tickets_with_something_due(store: Arc<dyn Store>) {
    let counting = Arc::new(CountingStore::new(store));
    let rules = vec![EscalationRule {
        clock: ClockKind::Response,
        trigger: Trigger::Percent { percent: 50 },
        action: Action::RaisePriority,
    }];
    let f = psa_fixture(counting.clone(), rules).await;
    let r = f.c.r();
    let admin = &f.c.msp.admin;
    // Monday 2025-06-16 09:00 EDT: one ticket in the first client, then 24
    // more clients with a ticket each an hour later. Medium: 4 h to respond,
    // so the 50% rule comes due at 11:00 EDT for the first, 12:00 for the others.
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    let first = r
        .create_ticket(admin, f.c.org, new_ticket("First", Priority::Medium))
        .await
        .expect("ticket");
    f.c.clock.set(utc("2025-06-16T14:00:00Z"));
    for i in 0..24 {
        let client = r
            .create_client(admin, f.c.msp.msp, &format!("Client {i}"))
            .await
            .expect("client")
            .id;
        r.create_ticket(admin, client, new_ticket("Later", Priority::Medium))
            .await
            .expect("ticket");
    }
    let orgs = every_org(r).await;
    assert!(orgs.len() >= 27, "the MSP, its clients and the new ones");

    f.c.clock.set(utc("2025-06-16T14:59:00Z"));
    counting.reset();
    for &org in &orgs {
        assert!(r.run_escalations(org).await.expect("sweep").is_empty());
    }
    assert_eq!(
        counting.returned(Ticket::KIND),
        0,
        "nothing is due: no ticket is read"
    );

    f.c.clock.set(utc("2025-06-16T15:00:00Z"));
    counting.reset();
    let mut fired = Vec::new();
    for &org in &orgs {
        fired.extend(r.run_escalations(org).await.expect("sweep"));
    }
    assert_eq!(
        fired.iter().map(|d| d.ticket).collect::<Vec<_>>(),
        [first.id]
    );
    assert_eq!(
        counting.returned(Ticket::KIND),
        1,
        "the one ticket due is the one read"
    );
    counting.reset();
    for &org in &orgs {
        assert!(r.run_escalations(org).await.expect("sweep").is_empty());
    }
    assert_eq!(
        counting.returned(Ticket::KIND),
        0,
        "once fired, its next escalation is ahead again"
    );
}

/// 150 tickets whose webhook escalations fired at 09:10 EDT Monday: the
/// client's outbox holds 150 webhook entries due now.
async fn outbox_of_150(store: Arc<dyn Store>) -> (PsaFixture, Vec<Notification>) {
    let f = psa_fixture(store, vec![webhook_at_one_percent()]).await;
    let r = f.c.r();
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    for i in 0..150 {
        r.create_ticket(
            &f.c.msp.admin,
            f.c.org,
            new_ticket(&format!("Printer {i}"), Priority::Medium),
        )
        .await
        .expect("ticket");
    }
    f.c.clock.set(utc("2025-06-16T13:10:00Z"));
    assert_eq!(r.run_escalations(f.c.org).await.expect("sweep").len(), 150);
    let due = r.pending_notifications(f.c.org, 500).await.expect("outbox");
    (f, due)
}

/// A failing entry waits out its own backoff: 150 entries that failed do
/// not hold back one queued after them, and the newest is due at once.
pub async fn failing_notifications_do_not_block_newer_ones(store: Arc<dyn Store>) {
    let (f, entries) = outbox_of_150(store).await;
    let r = f.c.r();
    let first = r
        .notifications_due(f.c.org, Deliveries::TenantWebhooks, 100)
        .await
        .expect("due");
    assert_eq!(first.len(), 100, "a page of the due entries");
    assert!(
        first
            .windows(2)
            .all(|w| (w[0].next_attempt_at, w[0].id) <= (w[1].next_attempt_at, w[1].id)),
        "the longest-waiting first"
    );
    // Every delivery fails (the receiver is down).
    for entry in &entries {
        r.mark_notification_failed(f.c.org, entry.id, "503", chrono::Duration::minutes(10))
            .await
            .expect("failure recorded");
    }
    assert_eq!(entries.len(), 150);
    assert!(
        r.notifications_due(f.c.org, Deliveries::All, 100)
            .await
            .expect("due")
            .is_empty(),
        "all 150 wait out their backoff"
    );
    // A new ticket's webhook fires three minutes later: it is due at once.
    let newer = r
        .create_ticket(
            &f.c.msp.admin,
            f.c.org,
            new_ticket("Newer", Priority::Medium),
        )
        .await
        .expect("ticket");
    f.c.clock.set(utc("2025-06-16T13:13:00Z"));
    assert_eq!(r.run_escalations(f.c.org).await.expect("sweep").len(), 1);
    let due = r
        .notifications_due(f.c.org, Deliveries::TenantWebhooks, 100)
        .await
        .expect("due");
    assert_eq!(due.len(), 1, "only the newer entry is due: {due:?}");
    assert_eq!(due[0].payload["event"]["ticket"], json!(newer.id));
    assert_eq!(
        r.notifications_due(f.c.org, Deliveries::All, 100)
            .await
            .expect("due")
            .len(),
        1,
        "the same with every kind"
    );
}

/// A failed delivery is retried after its backoff and not before, the wait
/// doubling; the state is kept in the entry (audited), and after the last
/// attempt the entry is dead and due no more.
pub async fn a_failed_delivery_is_retried_after_its_backoff(store: Arc<dyn Store>) {
    let f = psa_fixture(store, vec![webhook_at_one_percent()]).await;
    let r = f.c.r();
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    r.create_ticket(&f.c.msp.admin, f.c.org, new_ticket("Fax", Priority::Medium))
        .await
        .expect("ticket");
    f.c.clock.set(utc("2025-06-16T13:10:00Z"));
    r.run_escalations(f.c.org).await.expect("sweep");
    let due = r
        .notifications_due(f.c.org, Deliveries::All, 10)
        .await
        .expect("due");
    assert_eq!(due.len(), 1);
    let id = due[0].id;
    let first_retry = chrono::Duration::seconds(30);
    let failed = r
        .mark_notification_failed(f.c.org, id, "connection refused", first_retry)
        .await
        .expect("failed");
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.last_error.as_deref(), Some("connection refused"));
    assert_eq!(failed.next_attempt_at, utc("2025-06-16T13:10:30Z"));
    let due_at = |at: &str| {
        f.c.clock.set(utc(at));
        async {
            r.notifications_due(f.c.org, Deliveries::All, 10)
                .await
                .expect("due")
                .into_iter()
                .map(|n| n.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        due_at("2025-06-16T13:10:29Z").await.is_empty(),
        "not before"
    );
    assert_eq!(
        due_at("2025-06-16T13:10:30Z").await,
        [id],
        "after its backoff"
    );
    let again = r
        .mark_notification_failed(f.c.org, id, "503", first_retry)
        .await
        .expect("failed");
    assert_eq!(again.attempts, 2);
    assert_eq!(
        again.next_attempt_at,
        utc("2025-06-16T13:11:30Z"),
        "the wait doubles"
    );
    assert!(due_at("2025-06-16T13:11:29Z").await.is_empty());
    assert_eq!(due_at("2025-06-16T13:11:30Z").await, [id]);
    // Failing on to the last attempt: dead, kept in the outbox, never due.
    let mut entry = again;
    while entry.dead_at.is_none() {
        f.c.clock.set(entry.next_attempt_at);
        assert_eq!(
            due_at(&entry.next_attempt_at.to_rfc3339()).await,
            [id],
            "due after attempt {}",
            entry.attempts
        );
        entry = r
            .mark_notification_failed(f.c.org, id, "503", first_retry)
            .await
            .expect("failed");
    }
    assert_eq!(entry.attempts, MAX_DELIVERY_ATTEMPTS);
    assert!(
        delivery_retry_delay(first_retry, 30) <= crate::notify::LONGEST_DELIVERY_RETRY,
        "the wait is capped"
    );
    f.c.clock
        .set(entry.next_attempt_at + chrono::Duration::days(1));
    assert!(
        r.notifications_due(f.c.org, Deliveries::All, 10)
            .await
            .expect("due")
            .is_empty(),
        "a dead entry is due no more"
    );
    let stored = r
        .pending_notifications(f.c.org, 10)
        .await
        .expect("outbox")
        .into_iter()
        .find(|n| n.id == id)
        .expect("a dead entry stays in the outbox");
    assert!(stored.dead_at.is_some() && stored.delivered_at.is_none());
    let chain = actions(&f.c.msp, f.c.org).await;
    assert_eq!(
        chain.iter().filter(|a| *a == "notification.failed").count(),
        usize::try_from(MAX_DELIVERY_ATTEMPTS - 1).expect("small")
    );
    assert_eq!(
        chain.iter().filter(|a| *a == "notification.dead").count(),
        1
    );
}

/// An attempt that some targets took records them in the entry, with the
/// failure, so the host's retry goes to the others only; further failures
/// and the final delivery keep them, and each target is kept once.
pub async fn a_partly_failed_delivery_remembers_the_targets_it_reached(store: Arc<dyn Store>) {
    let f = psa_fixture(store, vec![webhook_at_one_percent()]).await;
    let r = f.c.r();
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    r.create_ticket(&f.c.msp.admin, f.c.org, new_ticket("Fax", Priority::Medium))
        .await
        .expect("ticket");
    f.c.clock.set(utc("2025-06-16T13:10:00Z"));
    r.run_escalations(f.c.org).await.expect("sweep");
    let due = r
        .notifications_due(f.c.org, Deliveries::All, 10)
        .await
        .expect("due");
    assert_eq!(due.len(), 1);
    assert!(due[0].reached.is_empty(), "a new entry reached no one yet");
    let id = due[0].id;
    let first_retry = chrono::Duration::seconds(30);
    let operator = "operator-hook";
    let failed = r
        .mark_notification_failed_after_reaching(
            f.c.org,
            id,
            &[operator.to_owned()],
            "the escalation's webhook answered 503",
            first_retry,
        )
        .await
        .expect("failed");
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.reached, [operator]);
    f.c.clock.set(failed.next_attempt_at);
    let retry = r
        .notifications_due(f.c.org, Deliveries::All, 10)
        .await
        .expect("due");
    assert_eq!(retry.len(), 1, "still due for the target it missed");
    assert_eq!(retry[0].reached, [operator], "the retry knows whom to skip");
    // Failing again (the operator's hook was skipped, the tenant's failed):
    // the reached target stays, once.
    let again = r
        .mark_notification_failed_after_reaching(
            f.c.org,
            id,
            &[operator.to_owned()],
            "503",
            first_retry,
        )
        .await
        .expect("failed");
    assert_eq!(again.attempts, 2);
    assert_eq!(again.reached, [operator], "kept once");
    let plain = r
        .mark_notification_failed(f.c.org, id, "503", first_retry)
        .await
        .expect("failed");
    assert_eq!(
        plain.reached,
        [operator],
        "a failure reaching no one keeps those reached before"
    );
    f.c.clock.set(plain.next_attempt_at);
    let delivered = r
        .mark_notification_delivered(f.c.org, id)
        .await
        .expect("delivered");
    assert!(delivered.delivered_at.is_some());
    assert_eq!(
        delivered.reached,
        [operator],
        "the record of who took it stays"
    );
    assert!(
        r.notifications_due(f.c.org, Deliveries::All, 10)
            .await
            .expect("due")
            .is_empty(),
        "delivered: due no more"
    );
}

/// Rewrites a stored record as code before the due-time indexes wrote it:
/// the body without the delivery fields, the indexes without the new ones.
async fn as_written_before_the_due_indexes(
    store: &dyn Store,
    scope: Scope,
    kind: &'static str,
    id: Uuid,
    indexes: Vec<crate::store::IndexEntry>,
) {
    let record = store
        .get(scope, kind, id)
        .await
        .expect("read")
        .expect("stored");
    let mut body = record.json();
    if let Some(map) = body.as_object_mut() {
        for field in ["attempts", "next_attempt_at", "last_error", "dead_at"] {
            map.remove(field);
        }
    }
    let mut changes = ChangeSet::new();
    changes.mutations.push(Mutation::Update {
        scope,
        kind,
        id,
        expected_version: record.version,
        body,
        indexes: indexes
            .into_iter()
            .filter(|e| {
                ![
                    NEXT_ESCALATION,
                    crate::notify::NEXT_ATTEMPT,
                    crate::notify::NEXT_WEBHOOK_ATTEMPT,
                ]
                .contains(&e.name.as_str())
            })
            .collect(),
    });
    store.apply(changes).await.expect("old-style record");
}

/// Tickets and outbox entries written before the due-time indexes are not
/// found by the sweeps until the one-time backfill rewrites them (audited);
/// the backfill runs once per store.
pub async fn records_written_before_the_due_indexes_are_backfilled_once(store: Arc<dyn Store>) {
    let f = psa_fixture(store, vec![webhook_at_one_percent()]).await;
    let r = f.c.r();
    let scope = Scope::Org(f.c.org);
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    let old = r
        .create_ticket(&f.c.msp.admin, f.c.org, new_ticket("Old", Priority::Medium))
        .await
        .expect("ticket");
    let fired = r
        .create_ticket(
            &f.c.msp.admin,
            f.c.org,
            new_ticket("Fired", Priority::Medium),
        )
        .await
        .expect("ticket");
    f.c.clock.set(utc("2025-06-16T13:05:00Z"));
    // One ticket fires now (its webhook entry is queued), the other is
    // rewritten as older code wrote it, before it came due.
    let stored = store::require::<Ticket>(r.store(), scope, old.id.0)
        .await
        .expect("ticket");
    as_written_before_the_due_indexes(
        r.store(),
        scope,
        Ticket::KIND,
        old.id.0,
        Entity::indexes(&stored.value),
    )
    .await;
    assert_eq!(
        r.run_escalations(f.c.org)
            .await
            .expect("sweep")
            .into_iter()
            .map(|d| d.ticket)
            .collect::<Vec<_>>(),
        [fired.id],
        "the old ticket is not found by the index"
    );
    let entry = r
        .notifications_due(f.c.org, Deliveries::All, 10)
        .await
        .expect("due");
    assert_eq!(entry.len(), 1);
    let stored = store::require::<Notification>(r.store(), scope, entry[0].id.0)
        .await
        .expect("entry");
    as_written_before_the_due_indexes(
        r.store(),
        scope,
        Notification::KIND,
        entry[0].id.0,
        Entity::indexes(&stored.value),
    )
    .await;
    assert!(
        r.notifications_due(f.c.org, Deliveries::All, 10)
            .await
            .expect("due")
            .is_empty(),
        "the old entry is not found by the index"
    );

    // A resolved ticket written before the queue indexes: no queue finds it.
    let closed = r
        .create_ticket(&f.c.msp.admin, f.c.org, new_ticket("Closed", Priority::Low))
        .await
        .expect("ticket");
    r.set_ticket_status(&f.c.msp.admin, f.c.org, closed.id, TicketStatus::Resolved)
        .await
        .expect("resolved");
    let stored = store::require::<Ticket>(r.store(), scope, closed.id.0)
        .await
        .expect("ticket");
    let mut changes = ChangeSet::new();
    changes.mutations.push(Mutation::Update {
        scope,
        kind: Ticket::KIND,
        id: closed.id.0,
        expected_version: stored.version,
        body: serde_json::to_value(&stored.value).expect("body"),
        indexes: Entity::indexes(&stored.value)
            .into_iter()
            .filter(|e| !e.name.starts_with("queue"))
            .collect(),
    });
    r.store().apply(changes).await.expect("written the old way");
    let inactive = || {
        let r = r.clone();
        let admin = f.c.msp.admin.clone();
        async move {
            r.ticket_queue(
                &admin,
                f.c.org,
                crate::psa::queue::TicketQuery {
                    statuses: crate::psa::queue::closed_statuses(),
                    ..Default::default()
                },
            )
            .await
            .expect("queue")
            .items
            .into_iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
        }
    };
    assert!(
        inactive().await.is_empty(),
        "not in any queue before the backfill"
    );

    // A platform bootstrapped by this version has nothing to backfill;
    // one from before has no record of it.
    assert_eq!(r.backfill_due_indexes().await.expect("backfill"), None);
    let done = store::require::<crate::maintenance::Maintenance>(
        r.store(),
        Scope::Platform,
        crate::maintenance::DUE_INDEXES_ID,
    )
    .await
    .expect("recorded at bootstrap");
    let mut forget = ChangeSet::new();
    forget.delete(&done);
    r.store().apply(forget).await.expect("as an older platform");

    let rewritten = r.backfill_due_indexes().await.expect("backfill");
    assert!(
        rewritten.is_some_and(|n| n >= 2),
        "the old ticket and entry were rewritten: {rewritten:?}"
    );
    let due = r
        .notifications_due(f.c.org, Deliveries::All, 10)
        .await
        .expect("due");
    assert_eq!(
        due.iter().map(|n| n.id).collect::<Vec<_>>(),
        [entry[0].id],
        "the old entry is due (read with its delivery state defaulted)"
    );
    assert_eq!(due[0].attempts, 0);
    assert_eq!(
        r.run_escalations(f.c.org)
            .await
            .expect("sweep")
            .into_iter()
            .map(|d| d.ticket)
            .collect::<Vec<_>>(),
        [old.id],
        "the old ticket escalates"
    );
    assert!(
        actions(&f.c.msp, f.c.org)
            .await
            .contains(&"maintenance.reindexed".to_owned()),
        "the rewrite is audited in the org's chain"
    );
    assert_eq!(
        inactive().await,
        [closed.id],
        "the resolved ticket is queued again"
    );
    assert_eq!(
        r.backfill_due_indexes().await.expect("backfill"),
        None,
        "done once per store"
    );
}

/// A portal article written before the most-useful-first index is not in
/// that list until the one-time backfill gives it its entry; a platform
/// bootstrapped by this version has nothing to do.
pub async fn articles_written_before_the_usefulness_index_are_backfilled_once(
    store: Arc<dyn Store>,
) {
    use crate::psa::records::{Article, NewArticle, Visibility};
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let scope = Scope::Org(f.c.org);
    let article = r
        .add_article(
            &f.tech,
            f.c.org,
            NewArticle {
                title: "Printer setup".into(),
                body: "The steps.".into(),
                tags: Default::default(),
                visibility: Visibility::Portal,
                published: true,
            },
        )
        .await
        .expect("article");
    let listed = || async {
        r.portal_articles_by_usefulness(&f.tech, f.c.org, None, 10)
            .await
            .expect("list")
            .items
            .into_iter()
            .map(|a| a.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(listed().await, [article.id], "a new article has its entry");

    // Written the old way: without the entry, the list misses it.
    let stored = store::require::<Article>(r.store(), scope, article.id.0)
        .await
        .expect("article");
    let mut changes = ChangeSet::new();
    changes.mutations.push(Mutation::Update {
        scope,
        kind: Article::KIND,
        id: article.id.0,
        expected_version: stored.version,
        body: serde_json::to_value(&stored.value).expect("body"),
        indexes: Entity::indexes(&stored.value)
            .into_iter()
            .filter(|e| e.name != "portal_useful")
            .collect(),
    });
    r.store().apply(changes).await.expect("written the old way");
    assert!(listed().await.is_empty(), "not found by the index");

    assert_eq!(
        r.backfill_portal_useful_index().await.expect("backfill"),
        None,
        "recorded as done at bootstrap"
    );
    let done = store::require::<crate::maintenance::Maintenance>(
        r.store(),
        Scope::Platform,
        crate::maintenance::PORTAL_USEFUL_INDEX_ID,
    )
    .await
    .expect("recorded at bootstrap");
    let mut forget = ChangeSet::new();
    forget.delete(&done);
    r.store().apply(forget).await.expect("as an older platform");

    let rewritten = r.backfill_portal_useful_index().await.expect("backfill");
    assert!(rewritten.is_some_and(|n| n >= 1), "{rewritten:?}");
    assert_eq!(listed().await, [article.id], "found after the backfill");
    assert_eq!(
        r.backfill_portal_useful_index().await.expect("backfill"),
        None,
        "done once per store"
    );
}
