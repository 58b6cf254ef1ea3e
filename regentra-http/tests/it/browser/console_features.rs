//! The framework features pages in a real browser: a client's compliance
//! manager adopts HIPAA, ISO 27001, CMMC and the FTC Safeguards Rule,
//! visits the BAA register (empty, then with an agreement added through
//! its form, then with an overdue renewal called out), the Statement of Applicability, the SPRS score and the
//! qualified individual; each page passes axe-core and fits a phone.

use serde_json::json;

use crate::console_pages::desk;
use crate::support::chromium::Chromium;
use crate::support::{PASSWORD, Server};

#[tokio::test]
async fn a_compliance_manager_visits_each_framework_feature_and_adds_a_baa() {
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

    // Not adopted yet: the page says so and leads to the adopt button.
    browser.goto(&format!("{base}/baa")).await;
    browser.wait_for_text("HIPAA is not adopted").await;
    browser.check_page().await;

    browser.goto(&format!("{base}/frameworks")).await;
    // Each adoption waits for what only that framework's card shows once
    // adopted: its page's link (the notice is the same every time).
    for (name, page) in [
        ("HIPAA", "Business associate agreements"),
        ("CMMC", "SPRS score and plan of action"),
        ("FTC Safeguards Rule", "Qualified individual"),
        ("ISO/IEC 27001", "Statement of Applicability"),
    ] {
        browser.click(&format!("Adopt {name}")).await;
        browser.wait_for_text(page).await;
    }
    browser.check_page().await;

    // The register, from the HIPAA card, empty; an agreement added.
    browser.click("Business associate agreements").await;
    browser
        .wait_for_text("No business associate agreement yet")
        .await;
    browser.check_page().await;
    browser.fill("Vendor", "Backblaze").await;
    browser.fill("Services", "Cloud backup of the EHR").await;
    browser.fill("PHI access", "Stores encrypted ePHI").await;
    browser
        .field("Status")
        .await
        .send_keys("Pending")
        .await
        .expect("choose pending");
    browser.click("Add agreement").await;
    browser
        .wait_for_text("The agreement was added to the register.")
        .await;
    browser.wait_for_text("Backblaze").await;
    browser.check_page().await;
    // A renewal long overdue (added over the API) is called out first.
    d.boss
        .post(
            &format!("/v1/orgs/{}/hipaa/baas", d.acme),
            json!({"vendor": "Carbonite", "services": "Offsite backup", "phi_access": "Stores ePHI",
                   "status": "signed", "signed_on": "2020-01-10", "renewal_due": "2021-01-10"}),
        )
        .await;
    browser.goto(&format!("{base}/baa")).await;
    browser.wait_for_text("Needs attention").await;
    browser.wait_for_text("Renewal overdue").await;
    browser.check_page().await;
    browser.click("Backblaze").await;
    browser.wait_for_text("Terminate agreement").await;
    browser.check_page().await;

    browser.goto(&format!("{base}/soa")).await;
    browser
        .wait_for_text("Statement of Applicability: Acme")
        .await;
    browser.check_page().await;

    browser.goto(&format!("{base}/sprs")).await;
    browser.wait_for_text("Plan of action").await;
    browser.check_page().await;

    browser.goto(&format!("{base}/ftc")).await;
    browser
        .wait_for_text("Designate the qualified individual")
        .await;
    browser.check_page().await;
}
