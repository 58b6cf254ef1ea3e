//! The client portal's pages: the branded sign-in, the start page, and
//! the portal's own 404 page.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::chromium::Chromium;
use crate::support::{M, PASSWORD, Server, msp_with_client};

/// A client with its portal at `/portal/acme`, in a dark brand color, and
/// an employee, `ann@acme.test`.
pub(crate) async fn acme_portal(server: &Server) {
    let (boss, _, client) = msp_with_client(server).await;
    boss.ok(
        M::PATCH,
        &format!("/v1/orgs/{client}/portal"),
        Some(json!({"enabled": true, "slug": "acme",
            "branding": {"display_name": "Acme help desk", "primary_color": "#0b5394",
                         "welcome_text": "We are here to help."}})),
        StatusCode::OK,
    )
    .await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{client}/members"),
            json!({"email": "ann@acme.test", "name": "Ann Example", "password": PASSWORD, "role": "employee"}),
        )
        .await;
}

#[tokio::test]
async fn an_employee_signs_in_on_the_branded_portal() {
    let server = Server::embedded().await;
    acme_portal(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/portal/acme").await;
    browser.wait_for_path("/portal/acme/sign-in").await;
    browser.wait_for_text("Sign in to Acme help desk").await;
    browser.check_page().await;

    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_path("/portal/acme").await;
    browser.wait_for_text("Hello, Ann").await;
    browser.check_page().await;

    browser.goto("/portal/acme/no-such-page").await;
    browser.wait_for_text("Acme help desk").await;
    browser.check_page().await;
}

/// Presses Tab until the field or button labelled `label` has the focus
/// (as a keyboard user would), failing after a page's worth of stops.
pub(super) async fn tab_to(browser: &Chromium, label: &str) {
    for _ in 0..40 {
        browser.press_tab().await;
        if browser.focused_element_label().await.starts_with(label) {
            browser.assert_focus_visible().await;
            return;
        }
    }
    panic!("Tab never reached {label:?}");
}

#[tokio::test]
async fn another_clients_account_is_told_so_and_signing_out_returns_to_the_portal() {
    let server = Server::embedded().await;
    acme_portal(&server).await;
    server
        .admin()
        .post("/v1/orgs", json!({"name": "Globex", "kind": "standalone"}))
        .await;
    let globex = server.admin().get("/v1/orgs").await;
    let globex = globex["items"]
        .as_array()
        .expect("orgs")
        .iter()
        .find(|o| o["name"] == "Globex")
        .expect("Globex")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    server
        .admin()
        .post(
            &format!("/v1/orgs/{globex}/members"),
            json!({"email": "gus@globex.test", "name": "Gus", "password": PASSWORD, "role": "employee"}),
        )
        .await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/portal/acme/sign-in").await;
    browser.fill("Email", "gus@globex.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser
        .wait_for_text("This account is not part of Acme help desk.")
        .await;
    browser.check_page().await;

    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_text("Hello, Ann").await;
    browser.click("Sign out").await;
    browser.wait_for_path("/portal/acme/sign-in").await;
    browser.wait_for_text("You are signed out.").await;
    browser.check_page().await;
    // Signed out, the portal's pages lead back to its sign-in page.
    browser.goto("/portal/acme/tickets").await;
    browser.wait_for_path("/portal/acme/sign-in").await;
}

#[tokio::test]
async fn an_employee_signs_in_and_opens_a_ticket_with_the_keyboard_only() {
    let server = Server::embedded().await;
    acme_portal(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/portal/acme/sign-in").await;
    tab_to(&browser, "Email").await;
    browser.type_text("ann@acme.test").await;
    tab_to(&browser, "Password").await;
    browser.type_text(PASSWORD).await;
    browser.press_enter().await;
    browser.wait_for_text("Hello, Ann").await;

    tab_to(&browser, "Ask for help").await;
    browser.press_enter().await;
    browser.wait_for_path("/portal/acme/tickets/new").await;
    tab_to(&browser, "Subject").await;
    browser.type_text("Printer jams on every page").await;
    tab_to(&browser, "Description").await;
    browser.type_text("The one by reception.").await;
    tab_to(&browser, "Send ticket").await;
    browser.press_enter().await;
    browser.wait_for_text("Printer jams on every page").await;
    assert!(
        browser
            .current_path()
            .await
            .starts_with("/portal/acme/tickets/"),
        "on the new ticket's page"
    );
    browser.check_page().await;
}
