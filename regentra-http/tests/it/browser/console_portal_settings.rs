//! The client portal's settings in a real browser: an MSP admin changes a
//! client's display name and colors and the preview follows as they type,
//! without a reload (a color picked or typed, a contrast too low said with
//! its ratio); saved, the settings hold; a host name claimed shows the
//! record to publish. The page passes axe-core and fits a phone.

use serde_json::{Value, json};

use crate::console_pages::desk;
use crate::support::chromium::Chromium;
use crate::support::{PASSWORD, Server};

/// Reads `script`'s answer until it is `wanted` (the preview redraws on
/// each key), or fails after a few seconds saying what it was.
async fn eventually(browser: &Chromium, script: &str, wanted: Value) {
    let mut last = Value::Null;
    for _ in 0..50 {
        last = browser.script(script, vec![]).await;
        if last == wanted {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{script} was {last}, not {wanted}");
}

const PREVIEW_NAME: &str = "return document.querySelector('[data-preview-name]').textContent;";
const PREVIEW_HEADER: &str = "return getComputedStyle(document.querySelector(\
     '[data-portal-preview] .site-header')).backgroundColor;";
const PREVIEW_SCORE: &str = "return getComputedStyle(document.querySelector(\
     '[data-portal-preview] .score-fill')).backgroundColor;";

#[tokio::test]
async fn the_preview_follows_the_name_and_colors_as_they_are_typed_and_saved() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("boss@msp.test", PASSWORD).await;
    browser
        .goto(&format!("/app/{}/settings/portal", d.acme))
        .await;
    browser.wait_for_text("Client portal: Acme").await;
    browser.check_page().await;
    // The default look: the organization's name on the portal's blue.
    eventually(&browser, PREVIEW_NAME, json!("Acme")).await;
    eventually(&browser, PREVIEW_HEADER, json!("rgb(31, 78, 121)")).await;

    // Marked, so that a reload would show.
    browser.script("window.notReloaded = true;", vec![]).await;
    browser.fill("display_name", "Acme Service Desk").await;
    eventually(&browser, PREVIEW_NAME, json!("Acme Service Desk")).await;
    browser.fill("primary_color", "#0b5394").await;
    eventually(&browser, PREVIEW_HEADER, json!("rgb(11, 83, 148)")).await;

    // The accent's picker: the text follows it, and the preview's score.
    browser
        .script(
            "var picker = document.getElementById('accent_color-picker');\
             picker.value = '#1e6b3a';\
             picker.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![],
        )
        .await;
    assert_eq!(browser.field_value("accent_color").await, "#1e6b3a");
    browser
        .click_field("Show the compliance status (each framework's score)")
        .await;
    eventually(&browser, PREVIEW_SCORE, json!("rgb(30, 107, 58)")).await;

    // Too light for white text: said with its ratio, then put right.
    browser.fill("primary_color", "#ffd700").await;
    browser.wait_for_text("WCAG AA needs 4.5:1").await;
    assert!(browser.text().await.contains("contrast of 1.4:1"));
    browser.fill("primary_color", "#0b5394").await;
    eventually(
        &browser,
        "return document.querySelector('[data-contrast-warnings]').textContent.trim();",
        json!(""),
    )
    .await;
    assert_eq!(
        browser
            .script("return window.notReloaded === true;", vec![])
            .await,
        json!(true),
        "the preview changed without a reload"
    );
    browser.check_page().await;

    browser.fill("slug", "acme-desk").await;
    browser.click_field("The portal is on").await;
    browser.click("Save portal settings").await;
    browser.wait_for_text("Portal settings saved.").await;
    browser.check_page().await;
    eventually(&browser, PREVIEW_NAME, json!("Acme Service Desk")).await;
    eventually(&browser, PREVIEW_HEADER, json!("rgb(11, 83, 148)")).await;
    let saved = d.boss.get(&format!("/v1/orgs/{}/portal", d.acme)).await;
    assert_eq!(saved["enabled"], true);
    assert_eq!(saved["branding"]["display_name"], "Acme Service Desk");
    assert_eq!(saved["branding"]["primary_color"], "#0b5394");
    assert_eq!(saved["branding"]["accent_color"], "#1e6b3a");
    assert_eq!(saved["show_compliance_dashboard"], true);

    // A host name: its pending claim and the record to publish.
    browser.fill("hostname", "help.acme.test").await;
    browser.click("Save host name").await;
    browser.wait_for_text("Publish the TXT record below").await;
    browser.wait_for_text("Pending").await;
    assert_eq!(
        browser.field_value("TXT record name").await,
        "_regentra-challenge.help.acme.test"
    );
    browser.check_page().await;
}
