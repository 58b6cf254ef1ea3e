//! The client portal's pages: the branded sign-in, the start page, and
//! the portal's own 404 page.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::chromium::Chromium;
use crate::support::{M, PASSWORD, Server, msp_with_client};

/// A client with its portal at `/portal/acme`, in a dark brand color, and
/// an employee, `ann@acme.test`.
async fn acme_portal(server: &Server) {
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
