//! Policies and campaigns in a real browser: a compliance manager starts
//! a policy from the template catalog, previews and saves an edit, takes
//! it through review to publication, compares its versions and launches a
//! campaign; an employee signs it on the portal; the campaign's page then
//! shows the completion risen. A viewer's pages carry no form. Every page
//! passes axe-core and fits a phone.

use reqwest::StatusCode;
use serde_json::json;

use crate::console_pages::desk;
use crate::support::chromium::Chromium;
use crate::support::{M, PASSWORD, Server};

#[tokio::test]
async fn a_manager_publishes_a_policy_from_a_template_and_its_campaign_completes() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    for (email, name, role) in [
        ("mia@acme.test", "Mia Manager", "compliance_manager"),
        ("vic@acme.test", "Vic Viewer", "viewer"),
    ] {
        server
            .admin()
            .post(
                &format!("/v1/orgs/{}/members", d.acme),
                json!({"email": email, "name": name, "password": PASSWORD, "role": role}),
            )
            .await;
    }
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/portal", d.acme),
            Some(json!({"enabled": true, "slug": "acme"})),
            StatusCode::OK,
        )
        .await;

    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("mia@acme.test", PASSWORD).await;
    browser.goto(&format!("/app/{}/policies", d.acme)).await;
    browser.wait_for_text("No policies yet").await;
    browser.check_page().await;
    browser.click("New policy").await;
    browser.wait_for_text("From a template").await;
    browser.check_page().await;
    // No template chosen: the reason by the catalog.
    browser.click("Create from template").await;
    browser.wait_for_text("The policy was not created.").await;
    browser.check_page().await;
    browser.click("#template-backup").await;
    browser.fill("Owner's title in the text", "IT Lead").await;
    browser.click("Create from template").await;
    browser
        .wait_for_text("The policy was created as a draft.")
        .await;
    browser.check_page().await;

    // An edit, previewed, then saved.
    browser.click("Edit").await;
    browser.wait_for_text("Edit policy").await;
    browser.check_page().await;
    let text = browser.field_value("Text").await;
    browser
        .fill(
            "Text",
            &format!("{text}\n\nRestores are tested **every quarter**.\n"),
        )
        .await;
    browser.click("Preview").await;
    browser.wait_for_text("Not saved yet.").await;
    browser.check_page().await;
    browser.click("Save changes").await;
    browser.wait_for_text("Saved.").await;

    for (button, notice) in [
        ("Submit for review", "Submitted for review."),
        ("Approve", "Approved. It can be published now."),
        ("Publish", "Published: this version is in force"),
    ] {
        browser.click(button).await;
        browser.wait_for_text(notice).await;
    }
    browser.check_page().await;
    let policy_path = browser.current_path().await;

    // A second version, and the diff between them.
    browser.click("Edit").await;
    browser
        .wait_for_text("Saving starts version 2 as a draft.")
        .await;
    let text = browser.field_value("Text").await;
    browser
        .fill("Text", &text.replace("every quarter", "every month"))
        .await;
    browser.click("Save changes").await;
    browser.wait_for_text("Saved.").await;
    browser.click("Show changes").await;
    browser
        .wait_for_text("Changes from version 1 to version 2")
        .await;
    browser.wait_for_text("1 line added, 1 line removed.").await;
    browser.check_page().await;

    // The campaign, to the employees, due next year.
    browser.goto(&policy_path).await;
    browser.click("Launch a campaign").await;
    browser.wait_for_text("Who is asked to sign").await;
    browser.check_page().await;
    browser.click("Launch campaign").await;
    browser
        .wait_for_text("The campaign was not launched.")
        .await;
    let reason = browser.wait_for_field_error("Due date").await;
    assert!(reason.contains("YYYY-MM-DD"), "{reason}");
    browser.check_page().await;
    browser
        .script(
            "document.getElementById('due').value = arguments[0];",
            vec![json!("2099-06-30")],
        )
        .await;
    browser.click("Launch campaign").await;
    browser
        .wait_for_text("The campaign was launched: 1 person was asked to sign.")
        .await;
    browser.wait_for_text("0 of 1 signed (0%)").await;
    browser.check_page().await;
    let campaign_path = browser.current_path().await;
    browser
        .goto(&format!("/app/{}/policies/campaigns", d.acme))
        .await;
    browser.wait_for_text("0 of 1 signed (0%)").await;
    browser.check_page().await;
    drop(browser);

    // Ann signs on the portal.
    let Some(ann) = Chromium::open(&server).await else {
        return;
    };
    ann.goto("/portal/acme/sign-in").await;
    ann.fill("Email", "ann@acme.test").await;
    ann.fill("Password", PASSWORD).await;
    ann.click("Sign in").await;
    ann.wait_for_path("/portal/acme").await;
    ann.goto("/portal/acme/policies").await;
    ann.wait_for_text("Waiting for you (1)").await;
    ann.click("Backup Policy").await;
    // The version in force (1); version 2 is still a draft.
    ann.wait_for_text("every quarter").await;
    ann.click_field("I have read and understood this policy, and I will follow it.")
        .await;
    ann.fill("Your full name", "Ann Example").await;
    ann.click("Sign the policy").await;
    ann.wait_for_text("Thank you. Your acknowledgment is recorded.")
        .await;
    drop(ann);

    // The completion rose.
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("mia@acme.test", PASSWORD).await;
    browser.goto(&campaign_path).await;
    browser.wait_for_text("1 of 1 signed (100%)").await;
    browser.check_page().await;
    assert!(browser.text().await.contains("Ann Example"));
    drop(browser);

    // The viewer: the same pages, no form.
    let Some(vic) = Chromium::open(&server).await else {
        return;
    };
    vic.sign_in("vic@acme.test", PASSWORD).await;
    vic.goto(&campaign_path).await;
    vic.wait_for_text("1 of 1 signed (100%)").await;
    vic.check_page().await;
    let text = vic.text().await;
    assert!(!text.contains("Send a reminder now") && !text.contains("Close the campaign"));
    vic.goto(&policy_path).await;
    vic.wait_for_text("Version history").await;
    let text = vic.text().await;
    for absent in ["Edit", "Launch a campaign", "Retire", "Submit for review"] {
        assert!(
            !text.lines().any(|l| l.trim() == absent),
            "{absent} offered to a viewer"
        );
    }
}
