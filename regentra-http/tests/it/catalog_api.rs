//! The catalog over HTTP as people address it: framework keys in their
//! common spellings, identifiers that could mean several requirements, and
//! controls named with their titles wherever a response lists them.

use crate::support;

use serde_json::{Value, json};
use support::{M, Server, StatusCode, items};

fn ids(requirements: &Value) -> Vec<&str> {
    requirements
        .as_array()
        .expect("requirements")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect()
}

/// Every entry of a list of controls is a key with its (non-empty) title.
fn titled(controls: &Value) -> Vec<&str> {
    controls
        .as_array()
        .expect("a list of controls")
        .iter()
        .map(|c| {
            assert!(
                !c["title"].as_str().unwrap_or("").is_empty(),
                "a control without its title: {c}"
            );
            c["key"].as_str().expect("a key")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_name_every_requirement_an_identifier_could_mean() {
    let server = Server::embedded().await;
    let (boss, _, _) = support::msp_with_client(&server).await;

    let v = boss.get("/v1/frameworks/ISO27001/lookup?id=8.1").await;
    assert_eq!(v["framework"], "iso27001");
    assert_eq!(v["kind"], "ambiguous");
    assert_eq!(ids(&v["requirements"]), ["8.1", "A.8.1"]);

    for spelled in ["A.8.1", "a.8.1"] {
        let v = boss
            .get(&format!("/v1/frameworks/iso27001/lookup?id={spelled}"))
            .await;
        assert_eq!(v["kind"], "requirement", "{spelled}");
        assert_eq!(ids(&v["requirements"]), ["A.8.1"]);
        assert!(titled(&v["requirements"][0]["controls"]).contains(&"CR-01"));
    }

    let v = boss.get("/v1/frameworks/cmmc/lookup?id=3.1.3").await;
    assert_eq!(ids(&v["requirements"]), ["AC.L2-3.1.3"]);
    let v = boss.get("/v1/frameworks/cmmc/lookup?id=3.1.1").await;
    assert_eq!(v["kind"], "ambiguous");
    assert_eq!(ids(&v["requirements"]), ["AC.L1-b.1.i", "AC.L2-3.1.1"]);

    let v = boss.get("/v1/frameworks/csf/lookup?id=PR.AC-1").await;
    assert_eq!(v["kind"], "alias");
    assert_eq!(ids(&v["requirements"]), ["PR.AA-01", "PR.AA-05"]);

    let missing = boss
        .call(M::GET, "/v1/frameworks/hipaa/lookup?id=999.999", None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.is_problem());
    assert_eq!(missing.body["errors"][0]["field"], "id");

    let unknown = boss
        .call(M::GET, "/v1/frameworks/sox/lookup?id=1", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["errors"][0]["field"], "framework");
    let detail = unknown.body["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("unknown framework `sox`") && detail.contains("pci-dss"),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_keys_are_accepted_in_common_spellings_and_answered_with_the_key() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;

    for (typed, key) in [
        ("soc-2", "soc2"),
        ("NIST_CSF", "nist-csf"),
        ("pci", "pci-dss"),
        ("FTC-Safeguards", "ftc-safeguards"),
    ] {
        let v = boss.get(&format!("/v1/frameworks/{typed}")).await;
        assert_eq!(v["key"], key, "{typed}");
    }
    let unknown = boss.call(M::GET, "/v1/frameworks/sox", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["errors"][0]["field"], "framework");
    assert!(
        unknown.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("expected one of hipaa"),
        "{}",
        unknown.text
    );

    let org = |path: &str| format!("/v1/orgs/{client}{path}");
    let adopted = boss
        .post(&org("/frameworks"), json!({"framework": "SOC-2"}))
        .await;
    assert_eq!(adopted["framework"], "soc2");
    let refused = boss
        .call(
            M::POST,
            &org("/frameworks"),
            Some(json!({"framework": "sox"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["errors"][0]["field"], "framework");
    let detail = refused.body["detail"].as_str().unwrap_or("");
    assert!(
        detail.starts_with("framework: unknown framework `sox`") && detail.contains("gdpr"),
        "{detail}"
    );

    let gaps = boss.get(&org("/frameworks/SOC2/gap-analysis")).await;
    assert_eq!(gaps["framework"], "soc2");
    let report = boss
        .call(M::GET, &org("/frameworks/Soc-2/report?format=csv"), None)
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    let assessment = boss
        .post(&org("/frameworks/soc_2/assessments"), json!({}))
        .await;
    assert_eq!(assessment["framework"], "soc2");
    let past = boss.get(&org("/frameworks/SOC2/assessments")).await;
    assert_eq!(items(&past).len(), 1);
    let scoped = boss
        .call(
            M::POST,
            &org("/frameworks/soc2/scope"),
            Some(json!({"requirement": "cc9.1", "justification": "no vendors"})),
        )
        .await;
    assert_eq!(scoped.status, StatusCode::OK, "{}", scoped.text);
    assert!(
        scoped.body["scoped_out"]["CC9.1"].is_string(),
        "{}",
        scoped.text
    );

    // An ISO/IEC 27001 id shared by a clause and an Annex A control is
    // taken as the official id it is, or refused when it is only a short form.
    boss.post(&org("/frameworks"), json!({"framework": "iso-27001"}))
        .await;
    let short = boss
        .call(
            M::POST,
            &org("/frameworks/iso27001/scope"),
            Some(json!({"requirement": "8.34", "justification": "no audits"})),
        )
        .await;
    assert_eq!(short.status, StatusCode::OK, "{}", short.text);
    assert!(short.body["scoped_out"]["A.8.34"].is_string());
    // A number two CMMC requirements carry names neither.
    boss.post(&org("/frameworks"), json!({"framework": "CMMC"}))
        .await;
    let ambiguous = boss
        .call(
            M::POST,
            &org("/frameworks/cmmc/scope"),
            Some(json!({"requirement": "3.1.1", "justification": "none"})),
        )
        .await;
    assert_eq!(ambiguous.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(ambiguous.body["errors"][0]["field"], "requirement");
    let message = ambiguous.body["errors"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(
        message.contains("AC.L1-b.1.i") && message.contains("AC.L2-3.1.1"),
        "{message}"
    );
    let unadopted = boss.call(M::DELETE, &org("/frameworks/SOC-2"), None).await;
    assert_eq!(unadopted.status, StatusCode::OK, "{}", unadopted.text);
    assert_eq!(unadopted.body["active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_name_each_control_with_its_title() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    let org = |path: &str| format!("/v1/orgs/{client}{path}");

    let framework = boss.get("/v1/frameworks/hipaa").await;
    let requirements = framework["requirements"].as_array().expect("requirements");
    for r in requirements.iter().filter(|r| r["assessable"] == true) {
        assert!(!titled(&r["controls"]).is_empty(), "{r}");
    }

    for f in ["iso27001", "cmmc"] {
        boss.post(&org("/frameworks"), json!({"framework": f}))
            .await;
    }
    let gaps = boss.get(&org("/frameworks/iso27001/gap-analysis")).await;
    let row = &gaps["requirements"][0];
    assert!(!row["title"].as_str().unwrap_or("").is_empty(), "{row}");
    assert!(!titled(&row["controls"]).is_empty());
    assert_eq!(
        titled(&row["missing"]),
        titled(&row["controls"]),
        "nothing done yet"
    );

    let controls = boss.get(&org("/controls?limit=5")).await;
    for c in items(&controls) {
        assert!(!c["title"].as_str().unwrap_or("").is_empty(), "{c}");
    }

    let soa = boss.get(&org("/iso27001/soa")).await;
    assert!(!titled(&items(&soa)[0]["common_controls"]).is_empty());

    let sprs = boss.get(&org("/cmmc/sprs")).await;
    let plan = sprs["plan_of_action"].as_array().expect("plan");
    assert!(!titled(&plan[0]["controls"]).is_empty());

    let templates = boss.get("/v1/policy-templates").await;
    assert!(!titled(&items(&templates)[0]["controls"]).is_empty());
}
