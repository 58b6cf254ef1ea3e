//! A forgotten password on a client's portal, as a browser meets it
//! (without JavaScript): asking on the portal's page, the email that comes
//! (over SMTP, to the tests' sink), its link back to the portal for the
//! portal's own people only, choosing the new password with the errors at
//! their fields, the portal's sign-in page saying it was changed, an
//! expired link that offers a new one inside the portal, and the limiter
//! the portal's page shares with the product's.

use std::time::Duration;

use regentra_core::mail::{EmailKind, OutgoingEmail};
use regentra_core::store::{self, Scope};
use regentra_http::cli::serve::AppConfig;
use regentra_http::server::mail::MailConfig;
use reqwest::StatusCode;
use serde_json::json;

use crate::portal_pages::two_portals;
use crate::support::browser::Browser;
use crate::support::smtp::{Received, SmtpSink};
use crate::support::{self, M, PASSWORD, Server};

/// The address people reach the server at, as links in emails carry it.
const PUBLIC: &str = "http://desk.acme.test";

/// The one password reset email to `to`, once it came.
async fn reset_mail_to(sink: &SmtpSink, to: &str) -> Received {
    for _ in 0..200 {
        if let Some(message) = sink
            .to(to)
            .into_iter()
            .find(|m| m.subject().contains("Reset your password"))
        {
            return message;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subjects: Vec<String> = sink.messages().iter().map(Received::subject).collect();
    panic!("no reset email to {to}; the sink has {subjects:?}")
}

/// The path of the message's link on the public URL.
fn followed(message: &Received) -> String {
    message
        .link_path(PUBLIC)
        .unwrap_or_else(|| panic!("a link to {PUBLIC} in {}", message.text()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_member_resets_the_password_without_leaving_the_portal() {
    let sink = SmtpSink::start().await;
    let server = Server::embedded_with(AppConfig {
        mail: MailConfig {
            smtp_url: Some(sink.url()),
            from: Some("Desk <desk@msp.test>".into()),
            every: Duration::from_millis(50),
            ..MailConfig::default()
        },
        public_url: Some(PUBLIC.into()),
        ..support::config()
    })
    .await;
    let (boss, _, globex) = two_portals(&server).await;
    let browser = Browser::new(&server.base);

    // The portal's sign-in page leads to the portal's own page.
    let sign_in = browser.get("/portal/acme/sign-in").await;
    assert!(
        sign_in
            .html
            .contains(r#"href="/portal/acme/forgot-password""#),
        "{}",
        sign_in.html
    );
    let form = browser.get("/portal/acme/forgot-password").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.shows("Reset your password"));
    assert!(form.shows("Acme help desk"), "the portal's name");
    assert!(
        form.html.contains("--brand: #0b5394"),
        "the portal's colors"
    );

    // Not an email: said at the field, on the portal's page.
    let bad = browser
        .post("/portal/acme/forgot-password", &[("email", "nope")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.field_error("email").is_some(), "{}", bad.html);
    assert!(bad.shows("Acme help desk"));

    // The same answer for the portal's member, a person of another client
    // and an email without an account.
    let mut answers = Vec::new();
    for email in ["ann@acme.test", "gus@globex.test", "nobody@acme.test"] {
        let asked = browser
            .post("/portal/acme/forgot-password", &[("email", email)])
            .await;
        answers.push((asked.status, asked.location().to_owned()));
    }
    assert_eq!(
        answers[0],
        (
            StatusCode::SEE_OTHER,
            "/portal/acme/forgot-password?sent=1".to_owned()
        )
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    let sent = browser.get(&answers[0].1).await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(sent.shows("Check your email"));
    assert!(sent.shows("Acme help desk"));
    assert!(sent.html.contains(r#"href="/portal/acme/sign-in""#));

    // The member's email comes from the portal's org and leads back to it.
    let ann_mail = reset_mail_to(&sink, "ann@acme.test").await;
    assert_eq!(ann_mail.from().0, "MSP on behalf of Acme help desk");
    assert!(
        ann_mail.text().contains("your Acme help desk account"),
        "{}",
        ann_mail.text()
    );
    assert!(ann_mail.html().contains("#0b5394"), "the portal's color");
    let link = followed(&ann_mail);
    assert!(
        link.starts_with("/portal/acme/reset-password?token=rgr_"),
        "{link}"
    );
    // Another client's person gets the product's link from the platform.
    let gus_mail = reset_mail_to(&sink, "gus@globex.test").await;
    assert!(
        followed(&gus_mail).starts_with("/reset-password?token=rgr_"),
        "{}",
        gus_mail.text()
    );
    assert_eq!(gus_mail.from().0, "Regentra");
    assert!(sink.to("nobody@acme.test").is_empty(), "nobody to write to");

    // Following the link: the portal's form, the errors at their fields.
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Choose a new password"));
    assert!(page.html.contains("--brand: #0b5394"));
    let token = page.input("token").expect("the form carries the token");
    let new_password = "violet kettle marches sideways";
    let mismatch = browser
        .post(
            "/portal/acme/reset-password",
            &[
                ("token", &token),
                ("password", new_password),
                ("confirm", "other"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        mismatch.field_error("confirm").as_deref(),
        Some("The two passwords are not the same.")
    );
    assert!(mismatch.shows("Acme help desk"));
    let weak = browser
        .post(
            "/portal/acme/reset-password",
            &[
                ("token", &token),
                ("password", "password1234"),
                ("confirm", "password1234"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.field_error("password").is_some(), "{}", weak.html);
    let done = browser
        .post(
            "/portal/acme/reset-password",
            &[
                ("token", &token),
                ("password", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(done.location(), "/portal/acme/sign-in?reset=done");
    let sign_in = browser.get(done.location()).await;
    assert!(
        sign_in.shows("Your password was changed. Sign in with the new one."),
        "{}",
        sign_in.html
    );
    assert!(sign_in.shows("Sign in to Acme help desk"));
    let old = browser
        .post(
            "/portal/acme/sign-in",
            &[("email", "ann@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "the old one is gone");
    let signed_in = browser
        .post(
            "/portal/acme/sign-in",
            &[("email", "ann@acme.test"), ("password", new_password)],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    assert_eq!(signed_in.location(), "/portal/acme");

    // The link works once; the portal says so and offers a new one.
    let reused = Browser::new(&server.base).get(&link).await;
    assert_eq!(reused.status, StatusCode::GONE);
    assert!(reused.shows("already been used"), "{}", reused.html);
    assert!(
        reused
            .html
            .contains(r#"href="/portal/acme/forgot-password""#)
    );
    assert!(reused.shows("Acme help desk"));

    // No portal at the address (unknown, or switched off): the 404 page.
    boss.ok(
        M::PATCH,
        &format!("/v1/orgs/{globex}/portal"),
        Some(json!({"enabled": false})),
        StatusCode::OK,
    )
    .await;
    for slug in ["nowhere", "globex"] {
        let stranger = Browser::new(&server.base);
        for path in ["forgot-password", "reset-password?token=rgr_x"] {
            let page = stranger.get(&format!("/portal/{slug}/{path}")).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{slug}/{path}");
        }
        let asked = stranger
            .post(
                &format!("/portal/{slug}/forgot-password"),
                &[("email", "gus@globex.test")],
            )
            .await;
        assert_eq!(asked.status, StatusCode::NOT_FOUND, "{slug}");
        let set = stranger
            .post(
                &format!("/portal/{slug}/reset-password"),
                &[("token", "rgr_x"), ("password", "x"), ("confirm", "x")],
            )
            .await;
        assert_eq!(set.status, StatusCode::NOT_FOUND, "{slug}");
    }

    // Posted from another site: refused.
    let cross = reqwest::Client::new()
        .post(format!("{}/portal/acme/forgot-password", server.base))
        .header("origin", "https://evil.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=ann%40acme.test")
        .send()
        .await
        .expect("answer");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
}

/// The link (a path) of the last password reset email queued to `to`.
async fn queued_reset_link(server: &Server, to: &str) -> String {
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
async fn an_expired_portal_link_offers_a_new_one_inside_the_portal() {
    let (server, clock) = support::server_with_clock().await;
    two_portals(&server).await;
    let browser = Browser::new(&server.base);
    let asked = browser
        .post(
            "/portal/acme/forgot-password",
            &[("email", "ann@acme.test")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let link = queued_reset_link(&server, "ann@acme.test").await;
    assert!(link.starts_with("/portal/acme/reset-password?token="));
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = page.input("token").expect("token");

    clock.advance(chrono::Duration::hours(1));
    let expired = browser.get(&link).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.shows("This link cannot be used"));
    assert!(expired.shows("has expired"), "{}", expired.html);
    assert!(expired.shows("Acme help desk"));
    assert!(
        expired
            .html
            .contains(r#"href="/portal/acme/forgot-password""#),
        "a way to ask for a new link, inside the portal"
    );
    // A form opened before the hour ran out is refused the same way.
    let late = browser
        .post(
            "/portal/acme/reset-password",
            &[
                ("token", &token),
                ("password", "violet kettle marches sideways"),
                ("confirm", "violet kettle marches sideways"),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert!(late.shows("has expired"));
    let form = browser.get("/portal/acme/forgot-password").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.input("email").is_some());

    // One limiter for the product's page and the portal's: the third
    // request for this email from this address within 15 minutes is the
    // last (the first, an hour ago on the server's clock, no longer counts).
    let product = browser
        .post("/forgot-password", &[("email", "ann@acme.test")])
        .await;
    assert_eq!(product.status, StatusCode::OK);
    let second = browser
        .post(
            "/portal/acme/forgot-password",
            &[("email", "ann@acme.test")],
        )
        .await;
    assert_eq!(second.status, StatusCode::SEE_OTHER);
    let third = browser
        .post(
            "/portal/acme/forgot-password",
            &[("email", "ann@acme.test")],
        )
        .await;
    assert_eq!(third.status, StatusCode::SEE_OTHER);
    let limited = browser
        .post(
            "/portal/acme/forgot-password",
            &[("email", "ann@acme.test")],
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited
            .field_error("email")
            .is_some_and(|e| e.contains("Too many requests")),
        "{}",
        limited.html
    );
    assert!(!limited.header("retry-after").is_empty());
    assert!(limited.shows("Acme help desk"));
}
