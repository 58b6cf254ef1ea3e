//! Invitations and password reset over HTTP (issue 15): invite, look up,
//! accept with a new account or signed in, resend, revoke, list; reset a
//! password by email. The answers never tell whether an email has an
//! account. Until SMTP delivery lands, a link's token is read from the
//! queued email in the store the test holds.

use chrono::Duration;
use regentra_core::mail::{EmailKind, OutgoingEmail};
use regentra_core::store::{self, Scope};
use serde_json::{Value, json};

use crate::support::{self, Api, M, PASSWORD, Server, StatusCode, id, items};

/// The token in the link of the last email of `kind` queued to `to`.
async fn link_token(server: &Server, to: &str, kind: EmailKind) -> String {
    let emails = store::find_all::<OutgoingEmail>(
        server.store.store.as_ref(),
        Scope::Platform,
        "state",
        "pending",
    )
    .await
    .expect("emails");
    let email = emails
        .into_iter()
        .map(|e| e.value)
        .rfind(|e| e.to == to && e.kind == kind)
        .unwrap_or_else(|| panic!("an email to {to}"));
    let link = email.content["link"].as_str().expect("a link");
    link.split_once("token=").expect("a token").1.to_owned()
}

/// The first field a problem names, and what it says.
fn problem(reply: &support::Reply) -> (&str, &str) {
    let error = &reply.body["errors"][0];
    (
        error["field"].as_str().unwrap_or(""),
        error["message"].as_str().unwrap_or(""),
    )
}

/// Asserts a 422 naming `token` whose message contains `says`.
fn refused(reply: &support::Reply, says: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    let (field, message) = problem(reply);
    assert_eq!(field, "token", "{}", reply.text);
    assert!(message.contains(says), "{says:?} in {}", reply.text);
}

/// `body` with its id and email masked, to compare answers.
fn masked(mut body: Value) -> Value {
    body["id"] = json!("ID");
    body["email"] = json!("EMAIL");
    body
}

async fn accept(api: &Api, body: Value) -> support::Reply {
    api.call(M::POST, "/v1/invitations/accept", Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_sent_accepted_with_consent_resent_and_revoked() {
    let (server, clock) = support::server_with_clock().await;
    let (boss, msp, client) = support::msp_with_client(&server).await;
    let operator = server.admin();
    // An account elsewhere, whose password its owner knows (the operator
    // set it: not another tenant admin's).
    let elsewhere = id(&operator
        .post(
            "/v1/orgs",
            json!({"name": "Elsewhere", "kind": "standalone"}),
        )
        .await);
    operator
        .post(
            &format!("/v1/orgs/{elsewhere}/members"),
            json!({"email": "known@people.test", "name": "Known", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let invitations = format!("/v1/orgs/{client}/invitations");

    // The same status and body (but for the id and email) whether or not
    // the email has an account.
    let invite = |email: &str, role: &str| {
        let (api, path) = (boss.clone(), invitations.clone());
        let body = json!({"email": email, "role": role});
        async move { api.call(M::POST, &path, Some(body)).await }
    };
    let known = invite("known@people.test", "viewer").await;
    let new = invite("new@people.test", "viewer").await;
    assert_eq!(known.status, StatusCode::ACCEPTED, "{}", known.text);
    assert_eq!(new.status, known.status);
    assert_eq!(masked(known.body.clone()), masked(new.body.clone()));
    assert_eq!(new.body["state"], "pending");
    assert_eq!(new.body["email"], "new@people.test");
    assert_eq!(new.body["role"], "viewer");
    assert!(new.body["expires_at"].is_string());
    assert!(!known.text.contains("token") && !known.text.contains("rgi_"));
    // Bad input names its field.
    let r = invite("x@people.test", "msp_admin").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(problem(&r).0, "role");
    let r = boss
        .call(
            M::POST,
            &invitations,
            Some(json!({"email": "x@people.test", "role": "viewer", "org": msp})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    // The link's holder learns what the page needs.
    let anonymous = server.anonymous();
    let new_token = link_token(&server, "new@people.test", EmailKind::Invitation).await;
    let known_token = link_token(&server, "known@people.test", EmailKind::Invitation).await;
    let preview = anonymous
        .ok(
            M::POST,
            "/v1/invitations/lookup",
            Some(json!({"token": new_token})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(preview["org_id"], json!(client));
    assert_eq!(preview["org_name"], "Client");
    assert_eq!(preview["has_account"], false);
    let preview = anonymous
        .ok(
            M::POST,
            "/v1/invitations/lookup",
            Some(json!({"token": known_token})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(preview["has_account"], true);

    // A new person makes their account by accepting, then signs in.
    let r = accept(&anonymous, json!({"token": new_token, "name": "New"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(problem(&r).0, "password");
    let r = accept(
        &anonymous,
        json!({"token": new_token, "name": "New", "password": "new people"}),
    )
    .await;
    assert_eq!(problem(&r).0, "password", "the password rule: {}", r.text);
    let accepted = anonymous
        .ok(
            M::POST,
            "/v1/invitations/accept",
            Some(json!({"token": new_token, "name": "New Person", "password": PASSWORD})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(accepted["new_account"], true);
    assert_eq!(accepted["org_id"], json!(client));
    assert_eq!(accepted["role"], "viewer");
    let new_person = server.login("new@people.test", PASSWORD).await;
    new_person.get(&format!("/v1/orgs/{client}")).await;
    refused(
        &accept(
            &anonymous,
            json!({"token": new_token, "name": "Again", "password": PASSWORD}),
        )
        .await,
        "already been used",
    );

    // An existing account joins only signed in as itself.
    refused(
        &accept(
            &anonymous,
            json!({"token": known_token, "name": "Impostor", "password": PASSWORD}),
        )
        .await,
        "already has an account",
    );
    refused(
        &accept(&new_person, json!({"token": known_token})).await,
        "another email address",
    );
    let r = accept(
        &server.with_token("rgt_not-a-live-token-0000000000000000000000"),
        json!({"token": known_token}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a bad bearer token is refused: {}",
        r.text
    );
    let known_api = server.login("known@people.test", PASSWORD).await;
    let r = known_api
        .call(M::GET, &format!("/v1/orgs/{client}"), None)
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "not a member before accepting"
    );
    let r = accept(
        &known_api,
        json!({"token": known_token, "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        problem(&r).0,
        "password",
        "signed in, no password: {}",
        r.text
    );
    let accepted = known_api
        .ok(
            M::POST,
            "/v1/invitations/accept",
            Some(json!({"token": known_token})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(accepted["new_account"], false);
    assert_eq!(accepted["password_removed"], false);
    known_api.get(&format!("/v1/orgs/{client}")).await;

    // Already a member: inviting again names the email.
    let r = invite("known@people.test", "viewer").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(
        r.body["detail"], "membership already exists (email is taken)",
        "{}",
        r.text
    );

    // Resend: a new link; the old one is dead. Revoke: the link says so.
    let later = invite("later@people.test", "compliance_officer").await;
    let later_id = id(&later.body);
    let old_token = link_token(&server, "later@people.test", EmailKind::Invitation).await;
    let resent = boss
        .ok(
            M::POST,
            &format!("{invitations}/{later_id}/resend"),
            None,
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(resent["state"], "pending");
    let token = link_token(&server, "later@people.test", EmailKind::Invitation).await;
    assert_ne!(token, old_token);
    let lookup = |token: String| {
        let anonymous = server.anonymous();
        async move {
            anonymous
                .call(
                    M::POST,
                    "/v1/invitations/lookup",
                    Some(json!({"token": token})),
                )
                .await
        }
    };
    refused(&lookup(old_token).await, "not a valid invitation");
    let revoked = boss
        .ok(
            M::DELETE,
            &format!("{invitations}/{later_id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(revoked["state"], "revoked");
    refused(&lookup(token).await, "revoked");
    // Another org's invitation is not found through this one.
    let r = boss
        .call(
            M::DELETE,
            &format!("/v1/orgs/{msp}/invitations/{later_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = known_api.call(M::GET, &invitations, None).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a viewer lists nothing: {}",
        r.text
    );

    // Expired after seven days, and listed so.
    invite("slow@people.test", "viewer").await;
    let slow = link_token(&server, "slow@people.test", EmailKind::Invitation).await;
    clock.advance(Duration::days(7));
    refused(&lookup(slow).await, "expired");
    // (The admin's login has gone idle meanwhile.)
    let boss = server.login("boss@msp.test", PASSWORD).await;
    let new_person = server.login("new@people.test", PASSWORD).await;
    let listed = boss.get(&invitations).await;
    let states: Vec<(&str, &str)> = items(&listed)
        .iter()
        .map(|i| {
            (
                i["email"].as_str().expect("email"),
                i["state"].as_str().expect("state"),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("known@people.test", "accepted"),
            ("new@people.test", "accepted"),
            ("later@people.test", "revoked"),
            ("slow@people.test", "expired"),
        ]
    );
    let page = boss.get(&format!("{invitations}?limit=1")).await;
    assert_eq!(items(&page).len(), 1);
    assert!(page["next_cursor"].is_string());

    // Adding an existing account as a member invites it: the answer of a
    // new email, and an invitation email.
    let added = boss
        .ok(
            M::POST,
            &format!("/v1/orgs/{msp}/members"),
            Some(json!({"email": "new@people.test", "name": "New", "role": "technician"})),
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(
        added,
        json!({"email": "new@people.test", "role": "technician", "status": "accepted"})
    );
    let token = link_token(&server, "new@people.test", EmailKind::Invitation).await;
    let accepted = new_person
        .ok(
            M::POST,
            "/v1/invitations/accept",
            Some(json!({"token": token})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(accepted["org_id"], json!(msp));
    assert_eq!(accepted["role"], "technician");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_is_reset_by_email_the_same_answer_for_any_email() {
    let server = Server::embedded().await;
    let operator = server.admin();
    let org = id(&operator
        .post("/v1/orgs", json!({"name": "Acme", "kind": "standalone"}))
        .await);
    operator
        .post(
            &format!("/v1/orgs/{org}/members"),
            json!({"email": "fay@acme.test", "name": "Fay", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let session = server.login("fay@acme.test", PASSWORD).await;
    let anonymous = server.anonymous();
    let request = |email: &str| {
        let anonymous = server.anonymous();
        let body = json!({ "email": email });
        async move {
            anonymous
                .call(M::POST, "/v1/auth/password-reset", Some(body))
                .await
        }
    };

    // The same status and body whether or not the email has an account.
    let known = request("fay@acme.test").await;
    let unknown = request("nobody@acme.test").await;
    assert_eq!(known.status, StatusCode::ACCEPTED, "{}", known.text);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body);
    let r = request("not an email").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(problem(&r).0, "email");

    let token = link_token(&server, "fay@acme.test", EmailKind::PasswordReset).await;
    let confirm = |token: &str, password: &str| {
        let anonymous = server.anonymous();
        let body = json!({ "token": token, "password": password });
        async move {
            anonymous
                .call(M::POST, "/v1/auth/password-reset/confirm", Some(body))
                .await
        }
    };
    let r = confirm(&token, "aaaaaaaaaaaa").await;
    assert_eq!(problem(&r).0, "password", "the password rule: {}", r.text);
    let new_password = "violet kettle marches sideways";
    let r = confirm(&token, new_password).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Signed out everywhere; the new password signs in; the link is used.
    let r = session.call(M::GET, "/v1/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let r = anonymous
        .call(
            M::POST,
            "/v1/auth/login",
            Some(json!({"email": "fay@acme.test", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    server.login("fay@acme.test", new_password).await;
    refused(
        &confirm(&token, "granite owl whispers at dusk").await,
        "already been used",
    );
    refused(
        &confirm(
            "rgr_0000000000000000000000000000000000000000000000000000000000000000",
            new_password,
        )
        .await,
        "not a valid password reset link",
    );

    // A newer request supersedes the older link.
    request("fay@acme.test").await;
    let older = link_token(&server, "fay@acme.test", EmailKind::PasswordReset).await;
    request("fay@acme.test").await;
    refused(&confirm(&older, new_password).await, "newer request");

    // Requests are limited per email and client address, whatever the email.
    for email in ["fay@acme.test", "nobody@acme.test"] {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(request(email).await.status);
        }
        assert_eq!(
            statuses.last(),
            Some(&StatusCode::TOO_MANY_REQUESTS),
            "{email}: {statuses:?}"
        );
    }
}
