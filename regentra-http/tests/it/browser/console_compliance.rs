//! The compliance workspace in a real browser: a client's compliance
//! manager adopts HIPAA and SOC 2, reads both gap analyses, sees them
//! change when a control they share changes status (over the API, as the
//! controls page would), takes assessments and compares them, and opens
//! the unadopt page; each page passes axe-core and fits a phone.

use reqwest::StatusCode;
use serde_json::json;

use crate::console_pages::desk;
use crate::support::chromium::Chromium;
use crate::support::{M, PASSWORD, Server};

#[tokio::test]
async fn a_compliance_manager_adopts_hipaa_and_soc2_and_sees_both_gap_analyses() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", d.acme),
            json!({"email": "mia@acme.test", "name": "Mia Manager", "password": PASSWORD, "role": "compliance_manager"}),
        )
        .await;

    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("mia@acme.test", PASSWORD).await;
    let base = format!("/app/{}/compliance", d.acme);
    browser.goto(&base).await;
    browser.wait_for_text("No framework adopted yet").await;
    browser.check_page().await;

    browser.click("Choose frameworks").await;
    browser.wait_for_text("Frameworks: Acme").await;
    browser.check_page().await;
    browser.click("Adopt HIPAA").await;
    browser
        .wait_for_text("Adopted. Its requirements now count in the gap analysis.")
        .await;
    browser.click("Adopt SOC 2").await;
    browser
        .wait_for_text("Adopted. Its requirements now count in the gap analysis.")
        .await;
    browser
        .wait_for_text("Trust services categories in scope")
        .await;
    browser.check_page().await;

    // Both gap analyses; the control the two share, settled, moves both.
    let shared = {
        let hipaa = d
            .boss
            .get(&format!(
                "/v1/orgs/{}/frameworks/hipaa/gap-analysis",
                d.acme
            ))
            .await;
        let soc2 = d
            .boss
            .get(&format!("/v1/orgs/{}/frameworks/soc2/gap-analysis", d.acme))
            .await;
        let in_soc2: Vec<&str> = soc2["priorities"]
            .as_array()
            .expect("priorities")
            .iter()
            .filter_map(|p| p["control"].as_str())
            .collect();
        hipaa["priorities"]
            .as_array()
            .expect("priorities")
            .iter()
            .filter_map(|p| p["control"].as_str())
            .find(|c| in_soc2.contains(c))
            .expect("a control both frameworks map")
            .to_owned()
    };
    let mut before = Vec::new();
    for (key, name) in [("hipaa", "HIPAA"), ("soc2", "SOC 2")] {
        browser.goto(&format!("{base}/frameworks/{key}")).await;
        browser.wait_for_text(&format!("{name} gap analysis")).await;
        browser.check_page().await;
        before.push(browser.text().await);
    }
    browser.goto(&format!("{base}/assessments")).await;
    browser.wait_for_text("Take a snapshot of").await;
    browser.check_page().await;
    browser.click("Take assessment").await;
    browser.wait_for_text("2 assessments were recorded.").await;

    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/controls/{shared}", d.acme),
            Some(json!({"status": "not_applicable", "justification": "The MSP runs it for every client"})),
            StatusCode::OK,
        )
        .await;
    for (i, key) in ["hipaa", "soc2"].into_iter().enumerate() {
        browser.goto(&format!("{base}/frameworks/{key}")).await;
        browser.wait_for_text("gap analysis").await;
        assert_ne!(
            browser.text().await,
            before[i],
            "{key}'s gap analysis follows the shared control"
        );
    }

    browser.goto(&format!("{base}/assessments")).await;
    browser.click("Take assessment").await;
    browser.wait_for_text("2 assessments were recorded.").await;
    browser.check_page().await;
    browser.click("Compare two assessments of HIPAA").await;
    browser
        .wait_for_text("HIPAA: two assessments compared")
        .await;
    browser.wait_for_text("Improved").await;
    browser.check_page().await;

    browser.goto(&base).await;
    browser.wait_for_text("Where to start").await;
    browser.wait_for_text("HIPAA: score per assessment").await;
    browser.check_page().await;

    browser.goto(&format!("{base}/frameworks")).await;
    browser.click("Unadopt SOC 2").await;
    browser.wait_for_text("Nothing is deleted.").await;
    browser.check_page().await;
    browser.click("Unadopt SOC 2").await;
    browser.wait_for_text("Unadopted, data kept").await;
    browser.check_page().await;
}
