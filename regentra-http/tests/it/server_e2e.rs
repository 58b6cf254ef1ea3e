//! The main journey through the real server, on the embedded store and on
//! Postgres: an MSP onboards two clients, assigns a technician to one and a
//! compliance officer to the other, adopts HIPAA and SOC 2, implements one
//! shared control and sees both gap analyses move, runs a policy campaign to
//! completion, opens a ticket under SLA and verifies the audit chains.

use crate::support;

use serde_json::{Value, json};
use support::{Backend, M, PASSWORD, Server, StatusCode, id, items};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_msp_journey_on_the_embedded_store() {
    journey(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_msp_journey() {
    journey(Backend::Postgres).await;
}

fn gaps(v: &Value) -> u64 {
    v["totals"]["gap"].as_u64().expect("gap count")
}

async fn journey(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let admin = server.admin();

    // The platform admin creates the MSP and its staff, with passwords.
    let msp = id(&admin
        .post("/v1/orgs", json!({"name": "Northwind IT", "kind": "msp"}))
        .await);
    for (email, name, role) in [
        ("alice@northwind.test", "Alice", "msp_admin"),
        ("tom@northwind.test", "Tom", "technician"),
        ("carol@northwind.test", "Carol", "compliance_officer"),
    ] {
        let added = admin
            .post(
                &format!("/v1/orgs/{msp}/members"),
                json!({"email": email, "name": name, "password": PASSWORD, "role": role}),
            )
            .await;
        assert_eq!(added["role"], role);
    }
    let alice = server.login("alice@northwind.test", PASSWORD).await;
    let tom = server.login("tom@northwind.test", PASSWORD).await;
    let carol = server.login("carol@northwind.test", PASSWORD).await;
    let user_of = |api: &support::Api| {
        let api = api.clone();
        async move {
            api.get("/v1/me").await["user_id"]
                .as_str()
                .expect("user")
                .to_owned()
        }
    };
    let (tom_id, carol_id) = (user_of(&tom).await, user_of(&carol).await);

    // Alice onboards two clients and assigns staff to one each.
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
    assert_eq!(
        items(&alice.get(&format!("/v1/orgs/{msp}/clients")).await).len(),
        2
    );
    alice
        .post(
            &format!("/v1/orgs/{msp}/clients/{acme}/staff"),
            json!({"user_id": tom_id, "role": "technician"}),
        )
        .await;
    alice
        .post(
            &format!("/v1/orgs/{msp}/clients/{bolt}/staff"),
            json!({"user_id": carol_id, "role": "compliance_officer"}),
        )
        .await;
    let orgs_of = |me: &Value| -> Vec<String> {
        me["memberships"]
            .as_array()
            .expect("memberships")
            .iter()
            .map(|m| m["org_id"].as_str().expect("org").to_owned())
            .collect()
    };
    assert!(orgs_of(&tom.get("/v1/me").await).contains(&acme));
    assert!(!orgs_of(&tom.get("/v1/me").await).contains(&bolt));
    assert!(orgs_of(&carol.get("/v1/me").await).contains(&bolt));
    // Each sees only their own client.
    let r = tom
        .call(M::GET, &format!("/v1/orgs/{bolt}/controls"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = carol
        .call(M::GET, &format!("/v1/orgs/{acme}/tickets"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Compliance in Bolt: HIPAA and SOC 2 share the risk-assessment control.
    for framework in ["hipaa", "soc2"] {
        alice
            .post(
                &format!("/v1/orgs/{bolt}/frameworks"),
                json!({ "framework": framework }),
            )
            .await;
    }
    let gap = |f: &str| format!("/v1/orgs/{bolt}/frameworks/{f}/gap-analysis");
    let hipaa_before = carol.get(&gap("hipaa")).await;
    let soc2_before = carol.get(&gap("soc2")).await;
    let rm01 = carol.get(&format!("/v1/orgs/{bolt}/controls/RM-01")).await;
    let mapped: Vec<&str> = rm01["requirements"]
        .as_array()
        .expect("refs")
        .iter()
        .filter_map(|r| r["framework"].as_str())
        .collect();
    assert!(mapped.contains(&"hipaa") && mapped.contains(&"soc2"));
    // Evidence first (the control expects some), uploaded with its SHA-256.
    let file = b"2026 risk assessment: scope, threats, likelihood, impact".to_vec();
    let sha = sha256_hex(&file);
    let evidence = carol
        .raw(
            M::POST,
            &format!(
                "/v1/orgs/{bolt}/evidence/files?title=Risk%20assessment&name=risk.txt&controls=RM-01&sha256={sha}"
            ),
            "text/plain",
            file.clone(),
        )
        .await;
    assert_eq!(evidence.status, StatusCode::CREATED, "{}", evidence.text);
    assert_eq!(evidence.body["content"]["sha256"], sha.as_str());
    carol
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{bolt}/controls/RM-01"),
            Some(json!({"status": "implemented", "version": rm01["version"]})),
            StatusCode::OK,
        )
        .await;
    let hipaa_after = carol.get(&gap("hipaa")).await;
    let soc2_after = carol.get(&gap("soc2")).await;
    assert!(
        gaps(&hipaa_after) < gaps(&hipaa_before),
        "one control moves HIPAA"
    );
    assert!(gaps(&soc2_after) < gaps(&soc2_before), "and SOC 2");
    let stale = carol
        .call(
            M::PATCH,
            &format!("/v1/orgs/{bolt}/controls/RM-01"),
            Some(json!({"notes": "x", "version": rm01["version"]})),
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "a stale version is a conflict"
    );

    // A policy campaign in Bolt, run to completion by its employees.
    let mut employees = Vec::new();
    for (email, name) in [("erin@bolt.test", "Erin"), ("eve@bolt.test", "Eve")] {
        // A tenant admin's addition is accepted (202), the same for any email.
        let added = alice
            .ok(
                M::POST,
                &format!("/v1/orgs/{bolt}/members"),
                Some(
                    json!({"email": email, "name": name, "password": PASSWORD, "role": "employee"}),
                ),
                StatusCode::ACCEPTED,
            )
            .await;
        assert_eq!(
            added,
            json!({"email": email, "role": "employee", "status": "accepted"})
        );
        employees.push(server.login(email, PASSWORD).await);
    }
    let policy = id(&carol
        .post(
            &format!("/v1/orgs/{bolt}/policies/from-template"),
            json!({"template": "acceptable-use", "owner": carol_id, "owner_role": "Office Manager"}),
        )
        .await);
    carol
        .ok(
            M::POST,
            &format!("/v1/orgs/{bolt}/policies/{policy}/submit"),
            None,
            StatusCode::OK,
        )
        .await;
    for step in ["approve", "publish"] {
        alice
            .ok(
                M::POST,
                &format!("/v1/orgs/{bolt}/policies/{policy}/{step}"),
                None,
                StatusCode::OK,
            )
            .await;
    }
    let campaign = id(&carol
        .post(
            &format!("/v1/orgs/{bolt}/policies/{policy}/campaigns"),
            json!({"audience": {"kind": "roles", "of": ["employee"]}, "due": "2099-01-01T00:00:00Z"}),
        )
        .await);
    let completion = |api: &support::Api| {
        let api = api.clone();
        let path = format!("/v1/orgs/{bolt}/campaigns/{campaign}");
        async move { api.get(&path).await }
    };
    assert_eq!(completion(&carol).await["signed"], 0);
    for (employee, name) in employees.iter().zip(["Erin", "Eve"]) {
        let mine = employee
            .get(&format!("/v1/orgs/{bolt}/me/acknowledgments"))
            .await;
        assert_eq!(items(&mine).len(), 1);
        employee
            .ok(
                M::POST,
                &format!("/v1/orgs/{bolt}/campaigns/{campaign}/sign"),
                Some(json!({ "typed_name": name })),
                StatusCode::OK,
            )
            .await;
    }
    let done = completion(&carol).await;
    assert_eq!(
        (done["signed"].as_u64(), done["assigned"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(done["percent"], 100.0);
    let csv = carol
        .call(
            M::GET,
            &format!("/v1/orgs/{bolt}/campaigns/{campaign}/report?format=csv"),
            None,
        )
        .await;
    assert!(csv.content_type.starts_with("text/csv"));
    assert_eq!(csv.text.lines().count(), 3, "a header and a row per signer");

    // Helpdesk in Acme: an MSP-wide SLA policy, and a ticket under it.
    alice
        .post(
            &format!("/v1/orgs/{msp}/sla-policies"),
            json!({
                "name": "Business hours",
                "calendar": {"timezone": "UTC", "weekly": {
                    "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
                    "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}},
                "targets": {
                    "critical": {"first_response_minutes": 30, "resolution_minutes": 240},
                    "high": {"first_response_minutes": 60, "resolution_minutes": 480},
                    "medium": {"first_response_minutes": 240, "resolution_minutes": 960},
                    "low": {"first_response_minutes": 480, "resolution_minutes": 2400}},
                "default": true
            }),
        )
        .await;
    let ticket = tom
        .post(
            &format!("/v1/orgs/{acme}/tickets"),
            json!({"subject": "VPN down", "description": "since 9am", "priority": "high"}),
        )
        .await;
    assert_eq!(ticket["number"], 1);
    assert_eq!(ticket["status"], "new");
    let sla = &ticket["sla"];
    let due = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(sla[k].as_str().expect("a due time"))
            .expect("rfc 3339")
    };
    assert!(due("response_due") < due("resolution_due"));
    let ticket_id = id(&ticket);
    let pending = tom
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{acme}/tickets/{ticket_id}"),
            Some(json!({"status": "pending"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(pending["sla"]["running"], false, "pending pauses the clock");
    tom.post(
        &format!("/v1/orgs/{acme}/tickets/{ticket_id}/comments"),
        json!({"body": "Waiting for the ISP", "public": false}),
    )
    .await;
    let fetched = tom
        .get(&format!("/v1/orgs/{acme}/tickets/{ticket_id}"))
        .await;
    assert_eq!(fetched["subject"], "VPN down");
    assert_eq!(fetched["status"], "pending");

    // Every chain verifies.
    for org in [&msp, &acme, &bolt] {
        let verify = alice.get(&format!("/v1/orgs/{org}/audit/verify")).await;
        assert_eq!(verify["ok"], true, "{org}: {verify}");
        assert!(verify["events"].as_u64().expect("events") > 2);
    }
    // Again: from the checkpoint the first verification left, reading only
    // its event (nothing was added to the MSP's own chain); in full on request.
    let again = alice.get(&format!("/v1/orgs/{msp}/audit/verify")).await;
    let events = again["events"].as_u64().expect("events");
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(again["from_checkpoint"].as_u64(), Some(events), "{again}");
    assert_eq!(again["checked"], 1, "{again}");
    let full = alice
        .get(&format!("/v1/orgs/{msp}/audit/verify?full=true"))
        .await;
    assert_eq!(full["ok"], true, "{full}");
    assert_eq!(full["from_checkpoint"], Value::Null, "{full}");
    assert_eq!(full["checked"].as_u64(), Some(events), "{full}");
    let audit = alice.get(&format!("/v1/orgs/{bolt}/audit?limit=500")).await;
    let actions: Vec<&str> = items(&audit)
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"acknowledgment.signed"), "{actions:?}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
