//! Requests through the real server over loopback (keep-alive, one client):
//! what an API call costs end to end, HTTP parsing, bearer-token lookup,
//! authorization and the store included, on the in-memory embedded store.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use regentra_core::Principal;
use regentra_core::Regentra;
use regentra_core::psa::Priority;
use regentra_core::psa::ticket::NewTicket;
use regentra_core::rbac::Role;
use regentra_core::tenancy::OrgKind;
use regentra_http::server::{AppState, HttpConfig, router, serve};
use regentra_store_embedded::EmbeddedStore;
use serde_json::json;

struct Fixture {
    base: String,
    token: String,
    client_org: String,
    ticket: String,
}

async fn fixture() -> Fixture {
    let store = EmbeddedStore::in_memory().await.expect("store");
    let regentra = Arc::new(Regentra::new(Arc::new(store)));
    let ops = regentra
        .bootstrap_platform_admin("ops@bench.test", "Ops")
        .await
        .expect("bootstrap");
    let ops = Principal::new(ops.id);
    let msp = regentra
        .create_organization(&ops, "Bench MSP", OrgKind::Msp)
        .await
        .expect("msp");
    let admin = regentra
        .add_member(&ops, msp.id, "admin@bench.test", "Admin", Role::MspAdmin)
        .await
        .expect("admin");
    let admin = Principal::new(admin.membership().expect("shown to the operator").user);
    let client = regentra
        .create_client(&admin, msp.id, "Bench Client")
        .await
        .expect("client");
    let tech = regentra
        .add_member(&ops, client.id, "tech@bench.test", "Tech", Role::Technician)
        .await
        .expect("tech");
    let tech = Principal::new(tech.membership().expect("shown to the operator").user);
    for framework in ["hipaa", "soc2"] {
        regentra
            .adopt_framework(&admin, client.id, framework)
            .await
            .expect("adopt");
    }
    let ticket = regentra
        .create_ticket(
            &tech,
            client.id,
            NewTicket {
                subject: "Printer".into(),
                description: String::new(),
                priority: Priority::Medium,
                requester: None,
            },
        )
        .await
        .expect("ticket");
    let (_, token) = regentra.issue_token(&admin, "bench").await.expect("token");
    let app = router(AppState::new(regentra), &HttpConfig::default()).expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = serve(listener, app).await;
    });
    Fixture {
        base,
        token,
        client_org: client.id.to_string(),
        ticket: ticket.id.to_string(),
    }
}

fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let f = rt.block_on(fixture());
    let client = reqwest::Client::new();
    let get = |path: String| {
        let (client, url, token) = (client.clone(), format!("{}{path}", f.base), f.token.clone());
        move || {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move {
                let r = client
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("send");
                assert!(r.status().is_success());
                r.bytes().await.expect("body")
            }
        }
    };
    let org = &f.client_org;
    c.bench_function("http/get_me", |b| {
        b.to_async(&rt).iter(get("/v1/me".into()))
    });
    c.bench_function("http/get_ticket", |b| {
        b.to_async(&rt)
            .iter(get(format!("/v1/orgs/{org}/tickets/{}", f.ticket)))
    });
    c.bench_function("http/gap_analysis_hipaa_with_soc2", |b| {
        b.to_async(&rt)
            .iter(get(format!("/v1/orgs/{org}/frameworks/hipaa/gap-analysis")))
    });
    c.bench_function("http/create_ticket", |b| {
        let (client, url, token) = (
            client.clone(),
            format!("{}/v1/orgs/{org}/tickets", f.base),
            f.token.clone(),
        );
        b.to_async(&rt).iter(|| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move {
                let r = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"subject": "Bench", "priority": "low"}))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(r.status().as_u16(), 201);
            }
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = http
}
criterion_main!(benches);
