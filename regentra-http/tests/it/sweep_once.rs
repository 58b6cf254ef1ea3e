//! `worker::sweep_once`: one sweep over every org, as the worker makes on
//! its schedule, and then it returns (hosts and the scale benchmark call it).

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone as _;
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::NewSlaPolicy;
use regentra_core::psa::ticket::NewTicket;
use regentra_core::rbac::Role;
use regentra_core::tenancy::OrgKind;
use regentra_core::{ManualClock, Principal, Regentra};
use regentra_http::server::worker::{self, WorkerConfig};
use serde_json::json;

use crate::support::{Backend, TestStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sweep_fires_what_is_due_in_every_org_embedded() {
    one_sweep_fires_what_is_due_in_every_org(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sweep_fires_what_is_due_in_every_org_postgres() {
    one_sweep_fires_what_is_due_in_every_org(Backend::Postgres).await;
}

async fn one_sweep_fires_what_is_due_in_every_org(backend: Backend) {
    let Some(store) = TestStore::on(backend).await else {
        return;
    };
    let start = chrono::Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("a time");
    let clock = Arc::new(ManualClock::new(start));
    let r = Arc::new(Regentra::new(store.store.clone()).with_clock(clock.clone()));
    let ops = r
        .bootstrap_platform_admin("ops@sweep.test", "Ops")
        .await
        .expect("bootstrap");
    let ops = Principal::new(ops.id);
    let msp = r
        .create_organization(&ops, "Sweep MSP", OrgKind::Msp)
        .await
        .expect("msp")
        .id;
    let member = |email: &'static str, role| {
        let (r, ops) = (r.clone(), ops.clone());
        async move {
            let added = r
                .add_member(&ops, msp, email, email, role)
                .await
                .expect("member");
            Principal::new(added.membership().expect("shown to the operator").user)
        }
    };
    let admin = member("admin@sweep.test", Role::MspAdmin).await;
    let tech = member("tech@sweep.test", Role::Technician).await;
    // Around the clock, a response within the hour, a warning at half of it.
    let day = json!([["00:00", "24:00"]]);
    let targets = json!({"first_response_minutes": 60, "resolution_minutes": 480});
    let policy: NewSlaPolicy = serde_json::from_value(json!({
        "name": "Around the clock",
        "calendar": {"timezone": "UTC", "weekly": {
            "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}},
        "targets": {"critical": targets, "high": targets, "medium": targets, "low": targets},
        "escalations": [{"clock": "response", "trigger": {"kind": "percent", "percent": 50},
                         "action": {"kind": "notify_role", "role": "technician"}}],
        "default": true
    }))
    .expect("policy");
    r.create_sla_policy(&admin, msp, policy)
        .await
        .expect("policy");
    let mut clients = Vec::new();
    for name in ["Acme", "Globex"] {
        let client = r.create_client(&admin, msp, name).await.expect("client").id;
        r.assign_staff(&admin, msp, client, tech.user, Role::Technician)
            .await
            .expect("assigned");
        r.create_ticket(
            &tech,
            client,
            NewTicket {
                subject: "Printer".into(),
                description: String::new(),
                priority: Priority::High,
                requester: None,
            },
        )
        .await
        .expect("ticket");
        clients.push(client);
    }
    clock.advance(chrono::Duration::minutes(31));
    for &client in &clients {
        assert_eq!(r.escalations_due(client).await.expect("due").len(), 1);
    }

    let config = WorkerConfig {
        every: Duration::from_secs(3600),
        webhooks: Vec::new(),
        secret: None,
        first_retry: worker::FIRST_RETRY,
        dns: None,
    };
    worker::sweep_once(r.clone(), config.clone())
        .await
        .expect("a sweep");
    for &client in &clients {
        assert!(r.escalations_due(client).await.expect("due").is_empty());
        assert!(
            !r.pending_notifications(client, 10)
                .await
                .expect("outbox")
                .is_empty(),
            "the warning waits in {client}'s outbox"
        );
    }
    // Fired once: a second sweep finds nothing more to do.
    let outbox = r
        .pending_notifications(clients[0], 10)
        .await
        .expect("outbox");
    worker::sweep_once(r.clone(), config)
        .await
        .expect("a sweep");
    assert_eq!(
        r.pending_notifications(clients[0], 10)
            .await
            .expect("outbox")
            .len(),
        outbox.len()
    );
}
