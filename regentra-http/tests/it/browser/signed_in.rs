//! The pages of a signed-in person: their account, and a policy to sign.

use crate::support::chromium::Chromium;
use crate::support::fixtures::{acme, campaign_for_erin};
use crate::support::{PASSWORD, Server};

#[tokio::test]
async fn the_account_page_shows_the_person_and_signs_out() {
    let server = Server::embedded().await;
    acme(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("alice@acme.test", PASSWORD).await;
    browser.wait_for_text("Service desk: Acme").await;
    browser.goto("/account").await;
    browser.wait_for_text("Your organizations").await;
    browser.check_page().await;

    browser.click("Sign out").await;
    browser.wait_for_text("You are signed out.").await;
    browser.goto("/account").await;
    browser.wait_for_path("/sign-in").await;
}

#[tokio::test]
async fn the_policy_signing_page_takes_a_signature() {
    let server = Server::embedded().await;
    let (org, campaign) = campaign_for_erin(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    let path = format!("/sign/{org}/{campaign}");
    // The emailed link, signed out: through the sign-in page and back.
    browser.goto(&path).await;
    browser.wait_for_path("/sign-in").await;
    browser.fill("Email", "erin@bolt.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_path(&path).await;
    browser.wait_for_text("Awaiting your signature").await;
    browser.check_page().await;

    // Not ticked: the reason at the box.
    browser.click("Sign").await;
    let why = browser
        .wait_for_field_error("I have read this policy and agree to follow it.")
        .await;
    assert_eq!(why, "Tick the box to confirm you have read the policy.");
    browser.check_page().await;

    browser
        .click_field("I have read this policy and agree to follow it.")
        .await;
    browser.click("Sign").await;
    browser.wait_for_text("Signed by Erin Example").await;
    browser.check_page().await;
}
