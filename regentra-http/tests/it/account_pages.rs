//! The pages an emailed link opens, driven as a browser would: accepting
//! an invitation (a new account, or consent signed in), choosing a new
//! password after a reset, the policy signing page, and the sign-in page's
//! second-factor step.

use regentra_core::mail::{EmailKind, OutgoingEmail};
use regentra_core::store::{self, Scope};
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::fixtures::{acme, campaign_for_erin};
use crate::support::{M, PASSWORD, Server, StatusCode, id};

/// The link (a path) of the last email of `kind` queued to `to`.
async fn queued_link(server: &Server, to: &str, kind: EmailKind) -> String {
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
    .rfind(|e| e.to == to && e.kind == kind)
    .and_then(|e| e.content["link"].as_str().map(str::to_owned))
    .unwrap_or_else(|| panic!("a {kind:?} email with a link to {to}"))
}

#[tokio::test]
async fn an_invitation_link_makes_an_account_or_asks_the_owner_to_sign_in_and_consent() {
    let server = Server::embedded().await;
    let (alice, org) = acme(&server).await;
    let invite = |email: &str| {
        let alice = alice.clone();
        let body = json!({"email": email, "role": "employee"});
        let path = format!("/v1/orgs/{org}/invitations");
        async move {
            alice
                .ok(M::POST, &path, Some(body), StatusCode::ACCEPTED)
                .await
        }
    };

    // A person without an account: the link asks for a name and a password.
    invite("nia@acme.test").await;
    let link = queued_link(&server, "nia@acme.test", EmailKind::Invitation).await;
    let nia = Browser::new(&server.base);
    let page = nia.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Join Acme"), "{}", page.html);
    assert!(page.shows("nia@acme.test"));
    let token = page.input("token").expect("the token in the form");
    // A weak password: the form again, the reason next to the field.
    let weak = nia
        .post(
            "/invite",
            &[
                ("token", &token),
                ("name", "Nia"),
                ("password", "aaaaaaaaaaaa"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let why = weak.field_error("password").expect("an inline error");
    assert!(why.starts_with("Is too easy to guess"), "{why}");
    assert_eq!(
        weak.input("name").as_deref(),
        Some("Nia"),
        "what was typed stays"
    );
    let joined = nia
        .post(
            "/invite",
            &[("token", &token), ("name", "Nia"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.html);
    assert!(joined.shows("You are now a member of Acme as employee."));
    let me = server
        .login("nia@acme.test", PASSWORD)
        .await
        .get("/v1/me")
        .await;
    assert_eq!(me["memberships"][0]["org_id"], json!(org));
    // The link is used up: the page says so.
    let again = nia.get(&link).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.html.contains("already been used"), "{}", again.html);

    // A person with an account: sign in first, then consent.
    let operator = server.admin();
    let other = id(&operator
        .post(
            "/v1/orgs",
            json!({"name": "Elsewhere", "kind": "standalone"}),
        )
        .await);
    operator
        .post(
            &format!("/v1/orgs/{other}/members"),
            json!({"email": "omar@else.test", "name": "Omar", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    invite("omar@else.test").await;
    let link = queued_link(&server, "omar@else.test", EmailKind::Invitation).await;
    let omar = Browser::new(&server.base);
    let page = omar.get(&link).await;
    assert!(
        page.shows("This email address already has an account."),
        "{}",
        page.html
    );
    let sign_in = page
        .html
        .split("href=\"/sign-in?next=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a sign-in link that comes back");
    // Someone else signed in in this browser cannot accept it.
    let nia_page = nia.sign_in("nia@acme.test", PASSWORD).await;
    assert_eq!(nia_page.location(), "/");
    let wrong = nia.get(&link).await;
    assert!(
        wrong
            .html
            .contains("You are signed in as <strong>nia@acme.test</strong>"),
        "{}",
        wrong.html
    );
    assert!(
        wrong.input("token").is_none(),
        "no accept form for another account"
    );
    // The invitee signs in and comes back to the invitation.
    let signed_in = omar
        .post(
            "/sign-in",
            &[
                ("email", "omar@else.test"),
                ("password", PASSWORD),
                (
                    "next",
                    &sign_in
                        .replace("%2F", "/")
                        .replace("%3F", "?")
                        .replace("%3D", "="),
                ),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    assert!(
        signed_in.location().starts_with("/invite?token="),
        "{}",
        signed_in.location()
    );
    let consent = omar.get(signed_in.location()).await;
    assert!(consent.shows("Accept and join Acme"), "{}", consent.html);
    let csrf = consent.input("csrf_token").expect("the form's CSRF token");
    let token = consent.input("token").expect("token");
    // Not a member until they accept.
    let omar_api = server.login("omar@else.test", PASSWORD).await;
    let r = omar_api
        .call(M::GET, &format!("/v1/orgs/{org}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Without the session's CSRF token, nothing happens.
    let forged = omar.post("/invite/accept", &[("token", &token)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let accepted = omar
        .post(
            "/invite/accept",
            &[("csrf_token", &csrf), ("token", &token)],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.html);
    assert!(accepted.shows("omar@else.test is now a member of Acme as employee."));
    let me = omar_api.get("/v1/me").await;
    let orgs: Vec<&serde_json::Value> = me["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .map(|m| &m["org_id"])
        .collect();
    assert!(orgs.contains(&&json!(org)), "{me}");

    // A link that was never issued: a clear page, not a form.
    let bogus = Browser::new(&server.base)
        .get("/invite?token=rgi_nothing")
        .await;
    assert_eq!(bogus.status, StatusCode::GONE);
    assert!(bogus.input("password").is_none());
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_signs_out_everywhere() {
    let server = Server::embedded().await;
    let (alice_api, _) = acme(&server).await;
    let browser = Browser::new(&server.base);

    // Asking: the same page whether or not the email has an account.
    let form = browser.get("/forgot-password").await;
    assert_eq!(form.status, StatusCode::OK);
    let known = browser
        .post("/forgot-password", &[("email", "alice@acme.test")])
        .await;
    let unknown = browser
        .post("/forgot-password", &[("email", "nobody@acme.test")])
        .await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.html);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.html, known.html);
    let bad = browser.post("/forgot-password", &[("email", "nope")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.field_error("email").is_some(), "{}", bad.html);
    // Posted from another site: refused.
    let cross = reqwest::Client::new()
        .post(format!("{}/forgot-password", server.base))
        .header("origin", "https://evil.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=alice%40acme.test")
        .send()
        .await
        .expect("answer");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    // Following the link.
    let link = queued_link(&server, "alice@acme.test", EmailKind::PasswordReset).await;
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let token = page.input("token").expect("token");
    let new_password = "violet kettle marches sideways";
    let mismatch = browser
        .post(
            "/reset-password",
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
    let weak = browser
        .post(
            "/reset-password",
            &[
                ("token", &token),
                ("password", "password1234"),
                ("confirm", "password1234"),
            ],
        )
        .await;
    assert!(weak.field_error("password").is_some(), "{}", weak.html);
    let done = browser
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
    assert_eq!(done.location(), "/sign-in?reset=done");
    let sign_in = browser.get(done.location()).await;
    assert!(
        sign_in.shows("Your password is changed."),
        "{}",
        sign_in.html
    );
    // Every session of the account ended; the new password works.
    let r = alice_api.call(M::GET, "/v1/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    browser.sign_in("alice@acme.test", new_password).await;
    // The link works once.
    let reused = Browser::new(&server.base).get(&link).await;
    assert_eq!(reused.status, StatusCode::GONE);
    assert!(reused.html.contains("already been used"), "{}", reused.html);
}

#[tokio::test]
async fn the_signing_page_shows_the_policy_and_records_the_signature() {
    let server = Server::embedded().await;
    let (org, campaign) = campaign_for_erin(&server).await;
    let path = format!("/sign/{org}/{campaign}");
    let erin = Browser::new(&server.base);
    // Signed out: to the sign-in page, and back here after.
    let page = erin.get(&path).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let next = serde_urlencoded::to_string([("next", &path)]).expect("query");
    assert_eq!(page.location(), format!("/sign-in?{next}"));
    let signed_in = erin
        .post(
            "/sign-in",
            &[
                ("email", "erin@bolt.test"),
                ("password", PASSWORD),
                ("next", &path),
            ],
        )
        .await;
    assert_eq!(signed_in.location(), path);
    let page = erin.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html
            .contains("<h1 id=\"policy-title\">Acceptable Use</h1>")
    );
    assert!(
        page.html.contains("<strong>must</strong>"),
        "the markdown, rendered"
    );
    assert!(!page.html.contains("<script>alert"), "written HTML is text");
    assert!(page.shows("Awaiting your signature"));
    assert_eq!(page.input("typed_name").as_deref(), Some("Erin Example"));
    let csrf = page.input("csrf_token").expect("csrf");
    // Not ticked: the form again, the reason next to the box.
    let unticked = erin
        .post(
            &path,
            &[("csrf_token", &csrf), ("typed_name", "Erin Example")],
        )
        .await;
    assert_eq!(unticked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unticked.field_error("agree").is_some(), "{}", unticked.html);
    let signed = erin
        .post(
            &path,
            &[
                ("csrf_token", &csrf),
                ("agree", "yes"),
                ("typed_name", "Erin Example"),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.html);
    let page = erin.get(&path).await;
    assert!(page.shows("Signed"), "{}", page.html);
    assert!(page.input("typed_name").is_none(), "no second signature");
    let erin_api = server.login("erin@bolt.test", PASSWORD).await;
    let view = erin_api
        .get(&format!("/v1/orgs/{org}/campaigns/{campaign}/sign"))
        .await;
    assert_eq!(view["acknowledgment"]["status"], "signed");
    assert_eq!(
        view["acknowledgment"]["signature"]["typed_name"],
        "Erin Example"
    );

    // Someone the campaign does not ask sees no page.
    let carol = Browser::new(&server.base);
    carol.sign_in("carol@bolt.test", PASSWORD).await;
    assert_eq!(carol.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn after_signing_in_a_browser_lands_on_the_persons_own_page() {
    let server = Server::embedded().await;
    let (_, _) = acme(&server).await;
    let browser = Browser::new(&server.base);
    // Signed out, the server's address leads to the sign-in page (through
    // the console's start).
    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/app");
    let app = browser.get("/app").await;
    assert_eq!(app.status, StatusCode::SEE_OTHER);
    assert!(
        app.location().starts_with("/sign-in?next="),
        "{}",
        app.location()
    );
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::SEE_OTHER);
    assert!(
        account.location().starts_with("/sign-in?next="),
        "{}",
        account.location()
    );
    // A program asking for `/` is told nothing is there.
    let api = server.anonymous().call(M::GET, "/", None).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    // Signed in with no page asked for: `/`, then the console, whose
    // start for an org admin is their org's service desk.
    let signed_in = browser.sign_in("alice@acme.test", PASSWORD).await;
    assert_eq!(signed_in.location(), "/");
    let start = browser.get("/app").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert!(
        start.location().starts_with("/app/"),
        "{}",
        start.location()
    );
    assert_eq!(browser.get(start.location()).await.status, StatusCode::OK);
    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html
            .contains("Signed in as <strong>Alice</strong> (alice@acme.test)")
    );
    assert!(page.html.contains("<td>Acme</td>"), "{}", page.html);
    assert!(page.html.contains("<td>org admin</td>"), "{}", page.html);
    // The page's sign-out form ends the session.
    let csrf = page.input("csrf_token").expect("csrf");
    let out = browser.post("/sign-out", &[("csrf_token", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/account").await.status, StatusCode::SEE_OTHER);
}
