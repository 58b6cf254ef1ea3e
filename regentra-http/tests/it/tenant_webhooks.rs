//! SSRF through a tenant's escalation webhook (issue 14, item 6): the
//! worker resolves the name itself and refuses a private address, connects
//! only to what it checked, and follows no redirect. The server resolves
//! through a DNS server the test starts ([`support::dns::TestDns`]).

use crate::support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use regentra_http::cli::serve::AppConfig;
use regentra_http::server::worker::WorkerConfig;
use serde_json::{Value, json};
use support::dns::TestDns;
use support::{Api, Backend, Server, TestStore, items};

/// Polls until `check` holds (the worker runs on its own schedule).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen");
}

/// The server with quick sweeps and retries, resolving through `dns`, and
/// delivering to the operator's `webhooks` besides tenants' own.
async fn server(dns: &TestDns, webhooks: Vec<String>) -> Server {
    let config = AppConfig {
        dns_server: Some(dns.addr),
        worker: WorkerConfig {
            every: Duration::from_millis(100),
            webhooks,
            secret: None,
            first_retry: Duration::from_millis(100),
            dns: None,
        },
        ..support::config()
    };
    let store = TestStore::on(Backend::Embedded).await.expect("a store");
    Server::start_on(store, config, true).await
}

/// An MSP whose client has a 24/7 SLA policy escalating to `hook` at 1% of
/// a one-minute response target, and a ticket under it: the escalation
/// fires within a second. Returns the MSP admin and the client.
async fn escalating_to(server: &Server, hook: &str) -> (Api, String) {
    let (boss, _, client) = support::msp_with_client(server).await;
    let day = json!([["00:00", "24:00"]]);
    let target = json!({"first_response_minutes": 1, "resolution_minutes": 10});
    boss.post(
        &format!("/v1/orgs/{client}/sla-policies"),
        json!({
            "name": "Always on",
            "calendar": {"timezone": "UTC", "weekly": {
                "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}},
            "targets": {"critical": target, "high": target, "medium": target, "low": target},
            "escalations": [{"clock": "response", "trigger": {"kind": "percent", "percent": 1},
                             "action": {"kind": "webhook", "url": hook}}],
            "default": true
        }),
    )
    .await;
    boss.post(
        &format!("/v1/orgs/{client}/tickets"),
        json!({"subject": "Printer", "description": "jammed", "priority": "high"}),
    )
    .await;
    (boss, client)
}

/// The client's outbox entries of kind `webhook`.
async fn webhook_entries(boss: &Api, client: &str) -> Vec<Value> {
    items(&boss.get(&format!("/v1/orgs/{client}/notifications")).await)
        .iter()
        .filter(|n| n["kind"] == "webhook")
        .cloned()
        .collect()
}

/// A TCP listener on loopback that counts the connections it accepts (and
/// drops them): the internal service an attacker aims at.
async fn internal_service() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_webhook_whose_name_resolves_to_loopback_is_never_connected_to() {
    let dns = TestDns::start().await;
    let (port, accepted) = internal_service().await;
    // A public-looking name (it passes the save-time rule) that points at
    // the server's own loopback.
    dns.address("hooks.attacker.test", IpAddr::V4(Ipv4Addr::LOCALHOST));
    let server = server(&dns, Vec::new()).await;
    let hook = format!("https://hooks.attacker.test:{port}/hook");
    let (boss, client) = escalating_to(&server, &hook).await;
    eventually("the escalation's webhook entry", || {
        let (boss, client) = (boss.clone(), client.clone());
        async move { !webhook_entries(&boss, &client).await.is_empty() }
    })
    .await;
    // Each delivery attempt resolves the name; after two of them (the
    // second comes after the first failed), any connection of the first
    // would have been made.
    eventually("two delivery attempts", || async {
        dns.lookups("hooks.attacker.test") >= 2
    })
    .await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the worker connected to the loopback address the name resolves to"
    );
    let entries = webhook_entries(&boss, &client).await;
    assert!(
        entries.iter().all(|n| n["delivered_at"].is_null()),
        "a refused delivery stays pending: {entries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_follows_no_redirect() {
    // The second receiver: where a redirect would lead.
    let second_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&second_hits);
    let second = axum::Router::new().fallback(move || {
        let hits = Arc::clone(&hits);
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let second_url = format!("http://{}/landing", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, second).await;
    });
    // The operator's receiver answers every delivery with a 302 to it.
    let first_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&first_hits);
    let first = axum::Router::new().fallback(move || {
        let (hits, to) = (Arc::clone(&hits), second_url.clone());
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            (
                axum::http::StatusCode::FOUND,
                [(axum::http::header::LOCATION, to)],
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let first_url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, first).await;
    });

    let dns = TestDns::start().await;
    let server = server(&dns, vec![first_url]).await;
    // Any outbox entry will do: the escalation's goes to the operator's
    // webhook too (its own URL resolves nowhere).
    let (boss, client) = escalating_to(&server, "https://hooks.nowhere.test/hook").await;
    // A retry means the 302 counted as a failed delivery.
    eventually("a retried delivery", || async {
        first_hits.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert_eq!(
        second_hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    let entries = webhook_entries(&boss, &client).await;
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|n| n["delivered_at"].is_null()),
        "a 3xx is a failed delivery: {entries:?}"
    );
}
