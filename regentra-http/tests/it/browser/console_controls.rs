//! Working a client's controls in a real browser: a compliance officer,
//! with HIPAA and SOC 2 adopted for Acme, marks the control both share
//! implemented, names its owner and uploads a file as its evidence (sent
//! by the page's own script with its progress shown); both frameworks' gap
//! analyses change. The list, the control's page and the evidence library
//! each pass axe-core and fit a phone.

use crate::console_controls::{SHARED, adopt_both, statuses};
use crate::console_pages::desk;
use crate::support::chromium::Chromium;
use crate::support::{PASSWORD, Server};

#[tokio::test]
async fn a_compliance_officer_implements_a_shared_control_with_a_file() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    adopt_both(&d).await;
    let hipaa_before = statuses(&d, "hipaa").await;
    let soc2_before = statuses(&d, "soc2").await;
    assert!(!hipaa_before.is_empty() && !soc2_before.is_empty());

    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("carol@msp.test", PASSWORD).await;
    browser
        .goto(&format!("/app/{}/compliance/controls?q={SHARED}", d.acme))
        .await;
    browser.wait_for_text("1 of").await;
    browser.check_page().await;
    let title = browser
        .script(
            "return document.querySelector('.controls-table tbody a').textContent;",
            vec![],
        )
        .await;
    browser
        .click(title.as_str().expect("a control's title"))
        .await;
    browser.wait_for_text("Requirements it satisfies").await;
    browser.check_page().await;

    let status = browser.field("Status").await;
    status
        .select_by_value("implemented")
        .await
        .expect("choose implemented");
    browser
        .field("Owner")
        .await
        .select_by_label("Carol Compliance")
        .await
        .expect("choose Carol");
    browser.click("Save control").await;
    browser
        .wait_for_text("Saved. Every framework the control serves shows the change.")
        .await;
    browser.check_page().await;

    browser.fill("Title", "Access review Q1").await;
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("access-review.pdf");
    std::fs::write(&file, "%PDF-1.4 access review").expect("a file");
    browser
        .field("File")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    browser.click("Upload file").await;
    browser
        .wait_for_text("The file was added as evidence.")
        .await;
    browser.wait_for_text("Access review Q1").await;
    browser
        .wait_for_text("Counts toward its requirements")
        .await;
    browser.check_page().await;

    let hipaa_after = statuses(&d, "hipaa").await;
    let soc2_after = statuses(&d, "soc2").await;
    assert_ne!(hipaa_before, hipaa_after, "HIPAA's gap analysis changed");
    assert_ne!(soc2_before, soc2_after, "SOC 2's gap analysis changed");

    browser
        .goto(&format!("/app/{}/compliance/evidence", d.acme))
        .await;
    browser.wait_for_text("Access review Q1").await;
    browser.check_page().await;
}
