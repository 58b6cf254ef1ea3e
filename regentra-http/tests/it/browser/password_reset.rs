//! Asking for a password reset link from the sign-in page.

use crate::support::Server;
use crate::support::chromium::Chromium;
use crate::support::fixtures::acme;

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
