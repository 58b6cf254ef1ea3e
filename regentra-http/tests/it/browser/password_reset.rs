//! Asking for a password reset link from the sign-in page, and the whole
//! reset inside a client's portal: from its sign-in page to the emailed
//! link, the new password and signing in with it.

use regentra_core::mail::{EmailKind, OutgoingEmail};
use regentra_core::store::{self, Scope};

use super::portal::acme_portal;
use super::portal_focus::wait_for_focus;
use crate::support::chromium::Chromium;
use crate::support::fixtures::acme;
use crate::support::{PASSWORD, Server};

#[tokio::test]
async fn the_forgot_password_page_asks_for_an_email_and_says_what_happens_next() {
    let server = Server::embedded().await;
    acme(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/sign-in").await;
    browser.click("Forgot your password?").await;
    browser.wait_for_path("/forgot-password").await;
    browser.check_page().await;

    // Not an email address: said at the field.
    browser.fill("Email", "alice").await;
    browser.submit().await;
    browser.wait_for_field_error("Email").await;
    browser.check_page().await;

    browser.fill("Email", "alice@acme.test").await;
    browser.submit().await;
    browser.wait_for_text("Check your email").await;
    browser.check_page().await;
    browser.click("Back to sign in").await;
    browser.wait_for_path("/sign-in").await;
}

/// The link (a path) of the password reset email queued to `to`, as the
/// person would find it in their mailbox.
async fn emailed_link(server: &Server, to: &str) -> String {
    store::find_all::<OutgoingEmail>(
        server.store.store.as_ref(),
        Scope::Platform,
        "state",
        "pending",
    )
    .await
    .expect("emails")
    .into_iter()
    .map(|e| e.value)
    .rfind(|e| e.to == to && e.kind == EmailKind::PasswordReset)
    .and_then(|e| e.content["link"].as_str().map(str::to_owned))
    .unwrap_or_else(|| panic!("a reset email to {to}"))
}

#[tokio::test]
async fn a_forgotten_password_is_reset_without_leaving_the_portal() {
    let server = Server::embedded().await;
    acme_portal(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/portal/acme/sign-in").await;
    browser.click("Forgot your password?").await;
    browser.wait_for_path("/portal/acme/forgot-password").await;
    browser.wait_for_text("Acme help desk").await;
    browser.check_page().await;

    browser.fill("Email", "ann").await;
    browser.submit().await;
    browser.wait_for_field_error("Email").await;
    browser.check_page().await;
    browser.fill("Email", "ann@acme.test").await;
    browser.submit().await;
    browser.wait_for_text("Check your email").await;
    // The focus on what happened, by the portal's one rule (forms.js).
    wait_for_focus(&browser, "status", "If this email has an account", false).await;
    browser.check_page().await;

    let link = emailed_link(&server, "ann@acme.test").await;
    assert!(
        link.starts_with("/portal/acme/reset-password?token="),
        "{link}"
    );
    browser.goto(&link).await;
    browser.wait_for_text("Choose a new password").await;
    browser.check_page().await;
    let new_password = "violet kettle marches sideways";
    browser.fill("New password", new_password).await;
    browser.fill("New password, again", "something else").await;
    browser.click("Set the password").await;
    let why = browser.wait_for_field_error("New password, again").await;
    assert!(why.contains("not the same"), "{why}");
    wait_for_focus(&browser, "input", "New password, again", true).await;
    browser.check_page().await;
    browser.fill("New password", new_password).await;
    browser.fill("New password, again", new_password).await;
    browser.click("Set the password").await;
    browser.wait_for_path("/portal/acme/sign-in").await;
    browser
        .wait_for_text("Your password was changed. Sign in with the new one.")
        .await;
    wait_for_focus(&browser, "status", "Your password was changed", false).await;
    browser.check_page().await;

    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_field_error("Password").await;
    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", new_password).await;
    browser.click("Sign in").await;
    browser.wait_for_path("/portal/acme").await;
    browser.wait_for_text("Hello, Ann").await;

    // The link, used, says so inside the portal and offers a new one.
    browser.goto(&link).await;
    browser.wait_for_text("This link cannot be used").await;
    wait_for_focus(
        &browser,
        "alert",
        "This password reset link has already",
        false,
    )
    .await;
    browser.check_page().await;
    browser.click("Ask for a new link").await;
    browser.wait_for_path("/portal/acme/forgot-password").await;
}
