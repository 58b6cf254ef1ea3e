//! SLA policies in a real browser: an MSP admin writes a client's own
//! policy, previews when a ticket opened now would be due (nothing saved),
//! meets an error next to its field, then saves it; a technician reads the
//! same policy with every field disabled. Each page passes axe-core and
//! fits a phone.

use crate::console_pages::{Desk, desk};
use crate::support::chromium::Chromium;
use crate::support::{PASSWORD, Server, items};

/// Initech's own SLA policies, as the API lists them.
async fn policies_of(d: &Desk) -> serde_json::Value {
    d.boss
        .get(&format!("/v1/orgs/{}/sla-policies", d.initech))
        .await
}

#[tokio::test]
async fn an_sla_policy_edit_shows_the_preview_then_saves() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("boss@msp.test", PASSWORD).await;
    browser
        .goto(&format!("/app/{}/settings/sla", d.initech))
        .await;
    browser.wait_for_text("its tickets run on its MSP").await;
    browser.check_page().await;
    browser
        .goto(&format!("/app/{}/settings/sla/new", d.initech))
        .await;
    browser.wait_for_text("Targets per priority").await;
    browser.check_page().await;

    // The preview, from the form as it stands: nothing is saved.
    browser.fill("Name", "Initech office hours").await;
    browser.fill("High: first response in minutes", "120").await;
    browser.click_and_load("Preview due times").await;
    browser
        .wait_for_text("A ticket opened now would be due")
        .await;
    browser.check_page().await;
    assert_eq!(
        browser.field_value("High: first response in minutes").await,
        "120",
        "the form keeps what was typed"
    );
    let stored = policies_of(&d).await;
    assert!(
        items(&stored).is_empty(),
        "a preview saves nothing: {stored}"
    );

    // A target that is not a number: the error by its field.
    browser
        .fill("High: first response in minutes", "soon")
        .await;
    browser.click_and_load("Save policy").await;
    let error = browser
        .wait_for_field_error("High: first response in minutes")
        .await;
    assert!(!error.is_empty());
    browser.check_page().await;
    let stored = policies_of(&d).await;
    assert!(items(&stored).is_empty(), "a refused form saves nothing");

    browser.fill("High: first response in minutes", "120").await;
    browser.click_and_load("Save policy").await;
    browser.wait_for_text("The policy was saved.").await;
    browser.check_page().await;
    let stored = policies_of(&d).await;
    let saved = items(&stored)
        .iter()
        .find(|p| p["name"] == "Initech office hours")
        .cloned()
        .unwrap_or_else(|| panic!("saved: {stored}"));
    assert_eq!(
        saved["targets"]["high"]["first_response_minutes"], 120,
        "{saved}"
    );
}
