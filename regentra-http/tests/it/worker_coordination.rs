//! Several workers on one store: each org swept by one of them at a time
//! (the store's sweep claims), so every SLA escalation fires once and every
//! outbox entry reaches each webhook once; and a delivery that failed for
//! one webhook is retried to that one only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::TimeZone as _;
use regentra_core::ids::OrgId;
use regentra_core::notify::Notification;
use regentra_core::store::{self, PageRequest, Scope};
use regentra_core::{ManualClock, Regentra};
use regentra_http::server::worker::{self, WorkerConfig};
use regentra_store_postgres::testing::TestDatabase;

use crate::support::fleet::{receiver, seed};
use crate::support::{Backend, TestStore};

fn config(webhooks: Vec<String>) -> WorkerConfig {
    WorkerConfig {
        every: Duration::from_secs(3600),
        webhooks,
        secret: None,
        // A failed entry is due again at once (the clock does not move).
        first_retry: Duration::ZERO,
        dns: None,
    }
}

fn start() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .expect("a time"),
    ))
}

/// Every outbox entry of `org`, delivered or not.
async fn outbox(r: &Regentra, org: OrgId) -> Vec<Notification> {
    store::list::<Notification>(r.store(), Scope::Org(org), PageRequest::first(500))
        .await
        .expect("outbox")
        .into_iter()
        .map(|v| v.value)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_goes_only_to_the_webhooks_that_missed_the_entry() {
    let store = TestStore::on(Backend::Embedded).await.expect("a store");
    let clock = start();
    let r = Arc::new(Regentra::new(store.store.clone()).with_clock(clock.clone()));
    let orgs = seed(&r, &clock, 1, 1).await;
    let (base, got) = receiver().await;
    let config = config(vec![format!("{base}/ok"), format!("{base}/flaky")]);
    // The first sweep fires the escalation; `/ok` takes the entry, `/flaky`
    // refuses it. The second retries it to `/flaky` alone.
    for _ in 0..2 {
        worker::sweep_once(r.clone(), config.clone())
            .await
            .expect("a sweep");
    }
    let entries = outbox(&r, orgs[0]).await;
    assert_eq!(entries.len(), 1, "one escalation, one entry");
    let entry = &entries[0];
    assert!(entry.delivered_at.is_some(), "delivered once both took it");
    assert_eq!(entry.attempts, 1, "one failed attempt before");
    assert_eq!(entry.reached.len(), 1, "the webhook that took it first");
    assert!(
        entry.reached.iter().all(|k| !k.contains("http")),
        "kept by a hash, never the URL: {:?}",
        entry.reached
    );
    let got = got.lock().expect("received").clone();
    let id = entry.id.0.to_string();
    assert_eq!(
        got.get(&("ok".to_owned(), id.clone())),
        Some(&1),
        "once, not twice"
    );
    assert_eq!(
        got.get(&("flaky".to_owned(), id)),
        Some(&2),
        "refused, then taken"
    );
}

/// Three workers, each with its own connections as separate processes
/// would have, sweep one Postgres database in a loop: 50 orgs with 20 SLA
/// escalations due each. Every escalation fires once, and the webhook gets
/// every entry exactly once (two workers sweeping one org at a time would
/// post its entries twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_one_database_fire_and_deliver_each_escalation_once() {
    const ORGS: usize = 50;
    const TICKETS: usize = 20;
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let clock = start();
    let seeding = Arc::new(Regentra::new(Arc::new(db.store().await)).with_clock(clock.clone()));
    let orgs = seed(&seeding, &clock, ORGS, TICKETS).await;
    let (base, got) = receiver().await;
    let config = config(vec![format!("{base}/ok")]);
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..3 {
        let r = Arc::new(Regentra::new(Arc::new(db.store().await)).with_clock(clock.clone()));
        let (config, stop) = (config.clone(), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            let mut sweeps = 0u32;
            while !stop.load(Ordering::SeqCst) {
                worker::sweep_once(r.clone(), config.clone())
                    .await
                    .expect("a sweep");
                sweeps += 1;
            }
            sweeps
        }));
    }
    // Wait (polling the store, a generous bound) until every org's work is done.
    let mut done = false;
    for _ in 0..1200 {
        let mut all = true;
        for &org in &orgs {
            let escalations = seeding.escalations_due(org).await.expect("due");
            let pending = seeding
                .pending_notifications(org, 1)
                .await
                .expect("pending");
            if !escalations.is_empty() || !pending.is_empty() {
                all = false;
                break;
            }
        }
        if all {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        assert!(w.await.expect("a worker ends") > 0);
    }
    assert!(
        done,
        "the workers finished every org's escalations and deliveries"
    );
    let mut ids = Vec::new();
    for &org in &orgs {
        let entries = outbox(&seeding, org).await;
        assert_eq!(entries.len(), TICKETS, "one entry per escalation in {org}");
        assert!(entries.iter().all(|e| e.delivered_at.is_some()));
        ids.extend(entries.into_iter().map(|e| e.id.0.to_string()));
    }
    assert_eq!(ids.len(), ORGS * TICKETS);
    let got = got.lock().expect("received").clone();
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "entries posted more than once: {twice:?}");
    for id in &ids {
        assert_eq!(got.get(&("ok".to_owned(), id.clone())), Some(&1), "{id}");
    }
    assert_eq!(got.len(), ids.len(), "nothing posted that is not an entry");
}
