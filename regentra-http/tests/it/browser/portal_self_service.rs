//! The portal's self-service pages in a real browser: the knowledge base
//! (list in both orders, search, an article and its "was this helpful?"
//! form, the empty states), signing a policy with
//! the mouse and with the keyboard alone (the inline errors, the receipt),
//! the compliance status and one's own assets; every page passes axe-core
//! and fits a phone.

use reqwest::StatusCode;
use serde_json::json;

use crate::portal_self_service::{Portals, article, launch, portals};
use crate::support::chromium::Chromium;
use crate::support::{M, PASSWORD};

/// A browser signed in on the `acme` portal as `email`.
async fn on_the_portal(p: &Portals, email: &str) -> Option<Chromium> {
    let browser = Chromium::open(&p.server).await?;
    browser.goto("/portal/acme/sign-in").await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_path("/portal/acme").await;
    Some(browser)
}

#[tokio::test]
async fn the_knowledge_base_in_a_browser() {
    let p = portals().await;
    let Some(browser) = on_the_portal(&p, "ann@acme.test").await else {
        return;
    };
    browser.goto("/portal/acme/kb").await;
    browser.wait_for_text("No articles yet").await;
    browser.check_page().await;

    article(&p.boss, &p.acme, "Reset your VPN password", "portal", true).await;
    article(
        &p.boss,
        &p.acme,
        "Set up the office printer",
        "portal",
        true,
    )
    .await;
    browser.goto("/portal/acme/kb").await;
    browser.wait_for_text("Set up the office printer").await;
    browser.check_page().await;

    // A search from the keyboard: type in the box, Enter.
    browser.click_field("Search the articles").await;
    browser.type_text("printer").await;
    browser.press_enter().await;
    browser.wait_for_text("Articles matching “printer”").await;
    assert!(!browser.text().await.contains("Reset your VPN password"));
    browser.check_page().await;
    browser.fill("Search the articles", "x").await;
    browser.click("Search").await;
    let reason = browser.wait_for_field_error("Search the articles").await;
    assert!(reason.contains("two letters"), "{reason}");
    browser.check_page().await;
    browser
        .fill("Search the articles", "nothing matches this")
        .await;
    browser.click("Search").await;
    browser
        .wait_for_text("No articles match “nothing matches this”")
        .await;
    browser.check_page().await;

    browser.goto("/portal/acme/kb").await;
    browser.click("Reset your VPN password").await;
    browser.wait_for_text("follow these steps").await;
    browser.check_page().await;

    // "Was this article helpful?": Yes, then the thanks notice and the
    // count, on the same article.
    browser.wait_for_text("Was this article helpful?").await;
    browser.click("Yes").await;
    browser.wait_for_text("Thanks for your feedback.").await;
    browser
        .wait_for_text("1 of 1 person found this helpful.")
        .await;
    browser.check_page().await;

    // The list: most useful first (the rated article leads), or newest.
    browser.goto("/portal/acme/kb").await;
    browser
        .wait_for_text("The articles readers found most helpful first.")
        .await;
    let text = browser.text().await;
    let at = |title: &str| text.find(title).expect(title);
    assert!(
        at("Reset your VPN password") < at("Set up the office printer"),
        "the helpful article first"
    );
    browser.click("Newest").await;
    browser.wait_for_text("Most recently updated first.").await;
    browser.check_page().await;
}

#[tokio::test]
async fn signing_a_policy_in_a_browser_with_the_mouse_and_with_the_keyboard() {
    let p = portals().await;
    let (_, first) = launch(&p, &p.acme, "2026-03-16T12:00:00Z").await;
    let (_, second) = launch(&p, &p.acme, "2026-03-20T12:00:00Z").await;
    let Some(browser) = on_the_portal(&p, "ann@acme.test").await else {
        return;
    };
    browser.goto("/portal/acme/policies").await;
    browser.wait_for_text("Waiting for you (2)").await;
    browser.check_page().await;

    // With the mouse: nothing filled in, both reasons by their fields.
    browser
        .goto(&format!("/portal/acme/policies/{first}"))
        .await;
    browser.wait_for_text("Staff must lock screens.").await;
    browser.check_page().await;
    browser.click("Sign the policy").await;
    let agree = "I have read and understood this policy, and I will follow it.";
    let reason = browser.wait_for_field_error(agree).await;
    assert!(reason.contains("Tick the box"), "{reason}");
    let reason = browser.wait_for_field_error("Your full name").await;
    assert!(reason.contains("Type your full name"), "{reason}");
    browser.check_page().await;
    browser.click_field(agree).await;
    browser.fill("Your full name", "Ann Example").await;
    browser.click("Sign the policy").await;
    browser
        .wait_for_path(&format!("/portal/acme/policies/{first}/receipt"))
        .await;
    browser
        .wait_for_text("Thank you. Your acknowledgment is recorded.")
        .await;
    browser.check_page().await;

    // With the keyboard alone: Tab to the box, Space, Tab to the name,
    // type it, Enter.
    browser
        .goto(&format!("/portal/acme/policies/{second}"))
        .await;
    browser.wait_for_text("Waiting for your signature").await;
    let mut found = false;
    for _ in 0..40 {
        browser.press_tab().await;
        if browser.focused_element_label().await == agree {
            found = true;
            break;
        }
    }
    assert!(found, "Tab reaches the box");
    browser.assert_focus_visible().await;
    browser.type_text(" ").await;
    browser.press_tab().await;
    assert_eq!(browser.focused_element_label().await, "Your full name");
    browser.assert_focus_visible().await;
    browser.type_text("Ann Example").await;
    browser.press_enter().await;
    browser
        .wait_for_path(&format!("/portal/acme/policies/{second}/receipt"))
        .await;

    browser.goto("/portal/acme/policies").await;
    browser.wait_for_text("Nothing to sign").await;
    browser.check_page().await;
}

#[tokio::test]
async fn compliance_status_and_own_assets_in_a_browser() {
    let p = portals().await;
    p.boss
        .post(
            &format!("/v1/orgs/{}/frameworks", p.acme),
            json!({"framework": "hipaa"}),
        )
        .await;
    p.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/portal", p.acme),
            Some(json!({"show_compliance_dashboard": true, "show_assets": true})),
            StatusCode::OK,
        )
        .await;
    let ann = p
        .server
        .login("ann@acme.test", PASSWORD)
        .await
        .get("/v1/me")
        .await["user_id"]
        .clone();
    p.boss
        .post(
            &format!("/v1/orgs/{}/assets", p.acme),
            json!({"name": "ThinkPad T14 (Ann's)", "kind": "laptop",
                   "serial": "PF-0123456789ABCDEF", "assigned_user": ann, "status": "in_repair"}),
        )
        .await;
    let Some(browser) = on_the_portal(&p, "ann@acme.test").await else {
        return;
    };
    browser.goto("/portal/acme").await;
    browser.click("Compliance").await;
    browser.wait_for_path("/portal/acme/compliance").await;
    browser.wait_for_text("requirements met").await;
    browser.check_page().await;

    browser.click("Your assets").await;
    browser.wait_for_path("/portal/acme/assets").await;
    browser.wait_for_text("PF-0123456789ABCDEF").await;
    browser.wait_for_text("In repair").await;
    browser.check_page().await;
}
