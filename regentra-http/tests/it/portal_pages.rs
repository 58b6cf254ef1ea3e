//! The client portal's pages as a person's browser meets them (without
//! JavaScript): signing in on the client's branded page, the wrong
//! client's account refused, an expired session, signing out, and the
//! portal's own 404 page.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::{self, Api, M, PASSWORD, Server, id};

/// An MSP with two clients, each with a portal (`acme`, `globex`) and an
/// employee (`ann@acme.test`, `gus@globex.test`).
async fn two_portals(server: &Server) -> (Api, String, String) {
    let (boss, msp, acme) = support::msp_with_client(server).await;
    let globex = id(&boss
        .post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": "Globex"}),
        )
        .await);
    for (org, slug, name, color, email) in [
        (&acme, "acme", "Acme help desk", "#0b5394", "ann@acme.test"),
        (
            &globex,
            "globex",
            "Globex support",
            "#6a1b9a",
            "gus@globex.test",
        ),
    ] {
        boss.ok(
            M::PATCH,
            &format!("/v1/orgs/{org}/portal"),
            Some(json!({"enabled": true, "slug": slug,
                "branding": {"display_name": name, "primary_color": color,
                             "welcome_text": "We are here to help."}})),
            StatusCode::OK,
        )
        .await;
        server
            .admin()
            .post(
                &format!("/v1/orgs/{org}/members"),
                json!({"email": email, "name": "Ann Example", "password": PASSWORD, "role": "employee"}),
            )
            .await;
    }
    (boss, acme, globex)
}

#[tokio::test]
async fn an_employee_signs_in_on_the_branded_portal_and_out_again() {
    let server = Server::embedded().await;
    two_portals(&server).await;
    let browser = Browser::new(&server.base);

    // Signed out, the portal leads to its own sign-in page, branded.
    let home = browser.get("/portal/acme").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    let sign_in = browser.get(home.location()).await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert!(sign_in.shows("Sign in to Acme help desk"));
    assert!(sign_in.shows("We are here to help."));
    assert!(sign_in.html.contains("--brand: #0b5394"));
    assert_eq!(sign_in.input("next").as_deref(), Some("/portal/acme"));

    // A wrong password: the message next to the field, no session.
    let wrong = browser
        .post(
            "/portal/acme/sign-in",
            &[("email", "ann@acme.test"), ("password", "not it")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.field_error("password").is_some());
    assert!(browser.cookie().is_none());

    let signed_in = browser
        .post(
            "/portal/acme/sign-in",
            &[
                ("email", "ann@acme.test"),
                ("password", PASSWORD),
                ("next", "/portal/acme"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location(), "/portal/acme");
    let home = browser.get("/portal/acme").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.shows("Hello, Ann"));
    assert!(home.html.contains(r#"aria-current="page""#));

    // Signing out ends the session and says so on the portal's page.
    let token = home.input("csrf_token").expect("the sign-out form's token");
    let out = browser
        .post("/portal/acme/sign-out", &[("csrf_token", &token)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/portal/acme/sign-in?reason=signed_out");
    assert!(browser.cookie().is_none());
    let page = browser.get(out.location()).await;
    assert!(page.shows("You are signed out."));
}

#[tokio::test]
async fn another_clients_account_gets_no_session_on_this_portal() {
    let server = Server::embedded().await;
    two_portals(&server).await;
    let browser = Browser::new(&server.base);
    let refused = browser
        .post(
            "/portal/acme/sign-in",
            &[("email", "gus@globex.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.shows("This account is not part of Acme help desk."));
    assert!(browser.cookie().is_none(), "no session is kept");
    // Nor does a session from the product's own sign-in page open it.
    browser.sign_in("gus@globex.test", PASSWORD).await;
    let page = browser.get("/portal/acme").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.shows("This is not your organization's portal"));
    assert!(!page.shows("Hello"));
    // The same account is welcome on its own portal.
    assert_eq!(browser.get("/portal/globex").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_session_leads_back_to_sign_in_with_a_notice() {
    let server = Server::embedded().await;
    two_portals(&server).await;
    let browser = Browser::new(&server.base);
    browser
        .post(
            "/portal/acme/sign-in",
            &[("email", "ann@acme.test"), ("password", PASSWORD)],
        )
        .await;
    let cookie = browser.cookie().expect("a session");
    // The session ends elsewhere (signed out on another device, revoked).
    let secret = cookie.split_once('=').expect("name=value").1;
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        token: Some(secret.to_owned()),
    };
    api.ok(M::POST, "/v1/auth/logout", None, StatusCode::NO_CONTENT)
        .await;
    let page = browser.get("/portal/acme").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        page.location().contains("reason=expired"),
        "{}",
        page.location()
    );
    assert!(browser.cookie().is_none(), "the dead cookie is cleared");
    let sign_in = browser.get(page.location()).await;
    assert!(sign_in.shows("Your session has expired."));
}

#[tokio::test]
async fn unknown_portal_addresses_get_a_page_not_json() {
    let server = Server::embedded().await;
    two_portals(&server).await;
    let browser = Browser::new(&server.base);
    let missing = browser.get("/portal/acme/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.header("content-type").starts_with("text/html"));
    assert!(missing.shows("Acme help desk"), "the portal's own 404 page");
    let unknown = browser.get("/portal/nobody-here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.header("content-type").starts_with("text/html"));
    let icon = browser.get("/portal/acme/favicon.svg").await;
    assert_eq!(icon.status, StatusCode::OK);
    assert!(icon.html.contains("#0b5394") && icon.html.contains(">A<"));
}

/// The smallest valid PNG: one transparent pixel.
const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

#[tokio::test]
async fn an_uploaded_logo_is_served_by_the_portal_and_scripts_in_images_are_refused() {
    let server = Server::embedded().await;
    let (boss, acme, _) = two_portals(&server).await;
    let logo = format!("/v1/orgs/{acme}/portal/logo");
    let svg = boss
        .raw(
            M::PUT,
            &logo,
            "image/svg+xml",
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec(),
        )
        .await;
    assert_eq!(svg.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(svg.text.contains("\"logo\""), "{}", svg.text);
    let big = boss
        .raw(
            M::PUT,
            &logo,
            "image/png",
            [PIXEL_PNG, &vec![0; 600 * 1024]].concat(),
        )
        .await;
    assert!(big.status.is_client_error(), "{}", big.status);

    // An employee of the client may not change the branding.
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let refused = ann
        .raw(M::PUT, &logo, "image/png", PIXEL_PNG.to_vec())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let saved = boss
        .raw(M::PUT, &logo, "image/png", PIXEL_PNG.to_vec())
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    let browser = Browser::new(&server.base);
    let page = browser.get("/portal/acme/sign-in").await;
    let start = page
        .html
        .find("/portal/acme/logo?v=")
        .expect("the logo in the header");
    let src = &page.html[start..start + page.html[start..].find('"').expect("end")];
    let image = browser.get(src).await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.header("content-type"), "image/png");
    // Removed, the portal shows no logo and the address is gone.
    boss.ok(M::DELETE, &logo, None, StatusCode::OK).await;
    let page = browser.get("/portal/acme/sign-in").await;
    assert!(!page.html.contains("/portal/acme/logo"));
    assert_eq!(
        browser.get("/portal/acme/logo").await.status,
        StatusCode::NOT_FOUND
    );
}
