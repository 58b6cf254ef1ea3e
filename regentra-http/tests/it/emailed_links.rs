//! The links in real emails, followed: a person invited by email makes
//! their account from the link, resets their password from the reset
//! email, and signs the policy the campaign email points at. The server
//! delivers over SMTP to the tests' sink ([`SmtpSink`]); a browser
//! ([`Browser`]) opens each link as it arrives.

use std::time::Duration;

use regentra_http::cli::serve::AppConfig;
use regentra_http::server::mail::MailConfig;
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::smtp::{Received, SmtpSink};
use crate::support::{self, M, PASSWORD, Server, StatusCode, id};

/// The address people reach the server at, as links in emails carry it.
const PUBLIC: &str = "http://desk.acme.test";

/// The one message to `to` whose subject contains `about`, once it came.
async fn mail_to(sink: &SmtpSink, to: &str, about: &str) -> Received {
    for _ in 0..200 {
        if let Some(message) = sink
            .to(to)
            .into_iter()
            .find(|m| m.subject().contains(about))
        {
            return message;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subjects: Vec<String> = sink.messages().iter().map(Received::subject).collect();
    panic!("no email to {to} about {about:?}; the sink has {subjects:?}")
}

/// The path of the message's link on the public URL.
fn followed(message: &Received) -> String {
    message
        .link_path(PUBLIC)
        .unwrap_or_else(|| panic!("a link to {PUBLIC} in {}", message.text()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_reset_and_campaign_links_work_when_followed() {
    let sink = SmtpSink::start().await;
    let server = Server::embedded_with(AppConfig {
        mail: MailConfig {
            smtp_url: Some(sink.url()),
            from: Some("Acme Desk <desk@acme.test>".into()),
            every: Duration::from_millis(50),
            ..MailConfig::default()
        },
        public_url: Some(PUBLIC.into()),
        ..support::config()
    })
    .await;
    let operator = server.admin();
    let org = id(&operator
        .post(
            "/v1/orgs",
            json!({"name": "Acme Dental", "kind": "standalone"}),
        )
        .await);
    for (email, name, role) in [
        ("alice@acme.test", "Alice Admin", "org_admin"),
        ("carol@acme.test", "Carol Officer", "compliance_officer"),
    ] {
        operator
            .post(
                &format!("/v1/orgs/{org}/members"),
                json!({"email": email, "name": name, "password": PASSWORD, "role": role}),
            )
            .await;
    }
    let alice = server.login("alice@acme.test", PASSWORD).await;
    let carol = server.login("carol@acme.test", PASSWORD).await;

    // 1. The invitation: from the email to an account and a membership.
    alice
        .ok(
            M::POST,
            &format!("/v1/orgs/{org}/invitations"),
            Some(json!({"email": "nia@acme.test", "role": "employee"})),
            StatusCode::ACCEPTED,
        )
        .await;
    let invitation = mail_to(&sink, "nia@acme.test", "Acme Dental").await;
    assert_eq!(invitation.recipients, ["nia@acme.test"]);
    assert!(
        invitation.text().contains("Alice Admin"),
        "{}",
        invitation.text()
    );
    let nia = Browser::new(&server.base);
    let page = nia.get(&followed(&invitation)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Join Acme Dental"));
    let token = page
        .input("token")
        .expect("the form carries the link's token");
    let joined = nia
        .post(
            "/invite",
            &[
                ("token", &token),
                ("name", "Nia Newhire"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.html);
    let me = server
        .login("nia@acme.test", PASSWORD)
        .await
        .get("/v1/me")
        .await;
    assert_eq!(me["memberships"][0]["org_id"], json!(org));

    // 2. The password reset, asked for on the page.
    let asked = nia
        .post("/forgot-password", &[("email", "nia@acme.test")])
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.html);
    let reset = mail_to(&sink, "nia@acme.test", "password").await;
    let page = nia.get(&followed(&reset)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let token = page.input("token").expect("token");
    let new_password = "granite owl whispers at dusk";
    let done = nia
        .post(
            "/reset-password",
            &[
                ("token", &token),
                ("password", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    server.login("nia@acme.test", new_password).await;
    // The link in the email works once.
    let again = nia.get(&followed(&reset)).await;
    assert_eq!(again.status, StatusCode::GONE);

    // 3. The campaign: the email's personal link opens the policy to sign.
    let policy = id(&carol
        .post(
            &format!("/v1/orgs/{org}/policies"),
            json!({"title": "Clean Desk", "category": "people", "body": "Lock your screen."}),
        )
        .await);
    carol
        .ok(
            M::POST,
            &format!("/v1/orgs/{org}/policies/{policy}/submit"),
            None,
            StatusCode::OK,
        )
        .await;
    for step in ["approve", "publish"] {
        alice
            .ok(
                M::POST,
                &format!("/v1/orgs/{org}/policies/{policy}/{step}"),
                None,
                StatusCode::OK,
            )
            .await;
    }
    carol
        .post(
            &format!("/v1/orgs/{org}/policies/{policy}/campaigns"),
            json!({"audience": {"kind": "roles", "of": ["employee"]}, "due": "2099-01-01T00:00:00Z"}),
        )
        .await;
    let asked_to_sign = mail_to(&sink, "nia@acme.test", "Clean Desk").await;
    let link = followed(&asked_to_sign);
    assert!(link.starts_with(&format!("/sign/{org}/")), "{link}");
    let to_sign_in = nia.get(&link).await;
    assert_eq!(to_sign_in.status, StatusCode::SEE_OTHER);
    let signed_in = nia
        .post(
            "/sign-in",
            &[
                ("email", "nia@acme.test"),
                ("password", new_password),
                ("next", &link),
            ],
        )
        .await;
    assert_eq!(signed_in.location(), link);
    let page = nia.get(&link).await;
    assert!(page.shows("Clean Desk"), "{}", page.html);
    let csrf = page.input("csrf_token").expect("csrf");
    let signed = nia
        .post(
            &link,
            &[
                ("csrf_token", &csrf),
                ("agree", "yes"),
                ("typed_name", "Nia Newhire"),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.html);
    let campaign = link.rsplit('/').next().expect("the campaign's id");
    let completion = carol
        .get(&format!("/v1/orgs/{org}/campaigns/{campaign}"))
        .await;
    assert_eq!(completion["signed"], 1, "{completion}");
}
