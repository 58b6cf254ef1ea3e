//! `GET /v1/orgs/{msp}/overview`: an MSP's clients side by side, each
//! figure as the caller's role in the client may see it; nothing for
//! anyone outside the MSP.

use crate::support;

use serde_json::{Value, json};
use support::{M, PASSWORD, StatusCode, id};

fn client<'a>(overview: &'a Value, name: &str) -> &'a Value {
    overview["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {overview}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_counts_each_client_as_the_callers_role_may_see() {
    // Monday 2026-03-02 09:00 UTC.
    let (server, _clock) = support::server_with_clock().await;
    let admin = server.admin();
    let msp = id(&admin
        .post("/v1/orgs", json!({"name": "Northwind IT", "kind": "msp"}))
        .await);
    for (email, role) in [
        ("alice@northwind.test", "msp_admin"),
        ("tom@northwind.test", "technician"),
    ] {
        admin
            .post(
                &format!("/v1/orgs/{msp}/members"),
                json!({"email": email, "name": email, "password": PASSWORD, "role": role}),
            )
            .await;
    }
    let alice = server.login("alice@northwind.test", PASSWORD).await;
    let tom = server.login("tom@northwind.test", PASSWORD).await;
    let tom_id = tom.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    let acme = id(&alice
        .post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": "Acme Dental"}),
        )
        .await);
    let bolt = id(&alice
        .post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": "Bolt Legal"}),
        )
        .await);
    alice
        .post(
            &format!("/v1/orgs/{msp}/clients/{acme}/staff"),
            json!({"user_id": tom_id, "role": "technician"}),
        )
        .await;

    alice
        .post(
            &format!("/v1/orgs/{acme}/frameworks"),
            json!({"framework": "hipaa"}),
        )
        .await;
    alice
        .post(
            &format!("/v1/orgs/{acme}/tickets"),
            json!({"subject": "Printer", "description": "Jammed.", "priority": "low"}),
        )
        .await;
    for (title, valid_until) in [
        ("Insurance", "2026-03-12T00:00:00Z"),
        ("Pen test", "2026-06-01T00:00:00Z"),
    ] {
        alice
            .post(
                &format!("/v1/orgs/{bolt}/evidence/attestations"),
                json!({"title": title, "statement": "we do", "valid_until": valid_until}),
            )
            .await;
    }

    let path = format!("/v1/orgs/{msp}/overview");
    let overview = alice.get(&path).await;
    assert_eq!(overview["msp"], msp.as_str());
    assert_eq!(overview["at"], "2026-03-02T09:00:00Z");
    assert_eq!(overview["scope"], "all_clients");
    let names: Vec<&str> = overview["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Acme Dental", "Bolt Legal"]);
    let a = client(&overview, "Acme Dental");
    assert_eq!(a["role"], "org_admin");
    assert_eq!(a["via"]["kind"], "msp_delegation", "{a}");
    let gap = alice
        .get(&format!("/v1/orgs/{acme}/frameworks/hipaa/gap-analysis"))
        .await;
    assert_eq!(a["frameworks"][0]["framework"], "hipaa");
    assert_eq!(
        a["frameworks"][0]["score"], gap["score"],
        "the gap analysis's"
    );
    assert_eq!(a["tickets"], json!({"open": 1}));
    assert_eq!(a["sla"]["at_risk"], 0);
    assert_eq!(a["campaigns"]["completion"], Value::Null, "no campaign");
    let b = client(&overview, "Bolt Legal");
    assert_eq!(b["evidence"], json!({"expiring": 1, "expired": 0}));
    assert_eq!(b["frameworks"], json!([]));
    assert_eq!(overview["totals"]["tickets"], json!({"open": 1}));
    assert_eq!(overview["totals"]["clients"], 2);
    let weeks = overview["series"]["breaches_by_week"]
        .as_array()
        .expect("weeks");
    assert_eq!(weeks.len(), 8);
    assert_eq!(weeks[7]["week"], "2026-W10");
    assert_eq!(weeks[7]["start"], "2026-03-02T00:00:00Z");
    assert_eq!(
        overview["series"]["scores"][0]["client"],
        acme.as_str(),
        "{overview}"
    );

    // The delegated reads, one event per client for the overview.
    let audit = alice.get(&format!("/v1/orgs/{acme}/audit")).await;
    let reads: Vec<&Value> = support::items(&audit)
        .iter()
        .filter(|e| {
            e["action"] == "access.delegated" && e["details"]["operation"] == "msp_overview"
        })
        .collect();
    assert_eq!(reads.len(), 1, "{audit}");

    // The technician: the client they are assigned to, tickets only.
    let theirs = tom.get(&path).await;
    assert_eq!(theirs["scope"], "assigned_clients");
    assert_eq!(theirs["clients"].as_array().map(Vec::len), Some(1));
    let a = client(&theirs, "Acme Dental");
    assert_eq!(a["role"], "technician");
    assert_eq!(a["tickets"], json!({"open": 1}));
    for hidden in ["frameworks", "campaigns", "evidence", "activity"] {
        assert_eq!(a[hidden], Value::Null, "{hidden} is not a technician's");
    }

    // Outside the MSP: another MSP's admin, the client's own admin.
    let rival = id(&admin
        .post("/v1/orgs", json!({"name": "Rival IT", "kind": "msp"}))
        .await);
    admin
        .post(
            &format!("/v1/orgs/{rival}/members"),
            json!({"email": "boss@rival.test", "name": "Boss", "password": PASSWORD, "role": "msp_admin"}),
        )
        .await;
    admin
        .post(
            &format!("/v1/orgs/{acme}/members"),
            json!({"email": "owner@acme.test", "name": "Owner", "password": PASSWORD, "role": "org_admin"}),
        )
        .await;
    for outsider in [
        server.login("boss@rival.test", PASSWORD).await,
        server.login("owner@acme.test", PASSWORD).await,
    ] {
        let refused = outsider.call(M::GET, &path, None).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
        assert!(refused.is_problem());
        assert!(!refused.text.contains("Acme"), "{}", refused.text);
    }

    // A client has no overview of its own.
    let not_msp = alice
        .call(M::GET, &format!("/v1/orgs/{acme}/overview"), None)
        .await;
    assert_eq!(
        not_msp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        not_msp.text
    );
    assert!(not_msp.text.contains("msp"), "{}", not_msp.text);
}
