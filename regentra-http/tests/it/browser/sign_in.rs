//! The sign-in page, with the mouse and with the keyboard alone.

use regentra_http::web::sign_in::WRONG_CREDENTIALS;

use crate::support::chromium::Chromium;
use crate::support::fixtures::acme;
use crate::support::{PASSWORD, Server};

#[tokio::test]
async fn a_wrong_password_is_said_at_the_field_and_the_right_one_lands_in_the_console() {
    let server = Server::embedded().await;
    acme(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/sign-in").await;
    browser.check_page().await;

    browser.fill("Email", "alice@acme.test").await;
    browser.fill("Password", "not the password at all").await;
    browser.click("Sign in").await;
    // The message belongs to the password field: shown right under it,
    // and read with it by a screen reader.
    assert_eq!(
        browser.wait_for_field_error("Password").await,
        WRONG_CREDENTIALS
    );
    assert_eq!(browser.current_path().await, "/sign-in");
    assert_eq!(
        browser.field_value("Email").await,
        "alice@acme.test",
        "the email typed stays"
    );
    browser.check_page().await;

    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    // No page asked for: the console's start, her org's service desk.
    browser.wait_for_text("Service desk: Acme").await;
    assert!(browser.current_path().await.ends_with("/tickets"));
}

#[tokio::test]
async fn signing_in_with_the_keyboard_alone() {
    let server = Server::embedded().await;
    acme(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/sign-in").await;
    // From the top of the page: the skip link first, then the form in
    // reading order, each with a visible focus.
    for expected in ["Skip to content", "Email"] {
        browser.press_tab().await;
        assert_eq!(browser.focused_element_label().await, expected);
        browser.assert_focus_visible().await;
    }
    browser.type_text("alice@acme.test").await;
    browser.press_tab().await;
    assert_eq!(browser.focused_element_label().await, "Password");
    browser.assert_focus_visible().await;
    browser.type_text(PASSWORD).await;
    browser.press_tab().await;
    assert_eq!(browser.focused_element_label().await, "Sign in");
    browser.assert_focus_visible().await;
    browser.press_enter().await;
    // No page asked for: the console's start, her org's service desk.
    browser.wait_for_text("Service desk: Acme").await;
    assert!(browser.current_path().await.ends_with("/tickets"));
}
