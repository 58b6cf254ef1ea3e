//! Security review fixes, end to end: security headers on every page
//! (framing, referrer, sniffing), request ids the server accepts, and
//! login-failure limits that cannot lock an account out.

use crate::support;

use serde_json::{Value, json};
use support::{Endpoint, M, PASSWORD, Server, StatusCode, id, items};

/// The directive `name` of a content security policy.
fn directive<'a>(csp: &'a str, name: &str) -> Option<&'a str> {
    csp.split(';')
        .map(str::trim)
        .find(|d| d.split_whitespace().next() == Some(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_forbids_framing_sniffing_and_referrers() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    boss.ok(
        M::PATCH,
        &format!("/v1/orgs/{client}/portal"),
        Some(json!({"enabled": true, "slug": "client-co", "hostname": "help.client.test"})),
        StatusCode::OK,
    )
    .await;
    // The host name is served once verified; the platform operator approves
    // it here (the DNS proof is tested in `portal_hostnames`).
    server
        .admin()
        .ok(
            M::POST,
            &format!("/v1/orgs/{client}/portal/hostname/approve"),
            None,
            StatusCode::OK,
        )
        .await;
    let http = reqwest::Client::new();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // (what, request, expected status, whether it is an HTML page)
    let cases = [
        (
            "the portal's sign-in page",
            http.get(format!("{}/portal/client-co/sign-in", server.base)),
            StatusCode::OK,
            true,
        ),
        (
            "the portal at its slug, signed out",
            no_redirects.get(format!("{}/portal/client-co", server.base)),
            StatusCode::SEE_OTHER,
            false,
        ),
        (
            "the portal at its own host name",
            no_redirects
                .get(format!("{}/", server.base))
                .header("host", "help.client.test"),
            StatusCode::SEE_OTHER,
            false,
        ),
        (
            "an unknown portal",
            http.get(format!("{}/portal/nobody-here", server.base))
                .header("accept", "text/html"),
            StatusCode::NOT_FOUND,
            true,
        ),
        (
            "an unknown page of a portal",
            http.get(format!("{}/portal/client-co/no-such-page", server.base)),
            StatusCode::NOT_FOUND,
            true,
        ),
        (
            "an unknown host's root",
            http.get(format!("{}/", server.base))
                .header("host", "elsewhere.test"),
            StatusCode::NOT_FOUND,
            false,
        ),
        (
            "no such route",
            http.get(format!("{}/nowhere", server.base)),
            StatusCode::NOT_FOUND,
            false,
        ),
        (
            "the portal's icon",
            http.get(format!("{}/portal/client-co/favicon.svg", server.base)),
            StatusCode::OK,
            false,
        ),
        (
            "the portal's public settings",
            http.get(format!("{}/portal/client-co/portal.json", server.base)),
            StatusCode::OK,
            false,
        ),
        (
            "an API call without a token",
            http.get(format!("{}/v1/me", server.base)),
            StatusCode::UNAUTHORIZED,
            false,
        ),
        (
            "the OpenAPI document",
            http.get(format!("{}/v1/openapi.json", server.base)),
            StatusCode::OK,
            false,
        ),
    ];
    for (what, request, status, html) in cases {
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), status, "{what}");
        let h = response.headers().clone();
        let text = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{what}: no {name}"))
                .to_owned()
        };
        assert_eq!(text("x-frame-options"), "DENY", "{what}");
        assert_eq!(text("referrer-policy"), "same-origin", "{what}");
        assert_eq!(text("x-content-type-options"), "nosniff", "{what}");
        let csp = text("content-security-policy");
        assert_eq!(
            directive(&csp, "frame-ancestors"),
            Some("frame-ancestors 'none'"),
            "{what}: {csp}"
        );
        let is_html = h
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        assert_eq!(is_html, html, "{what}");
        if html {
            let script = directive(&csp, "script-src").expect("a script policy");
            assert!(!script.contains("unsafe"), "{what}: {csp}");
            let page = response.text().await.expect("page");
            // The page itself needs no inline script, so the policy holds.
            assert_eq!(
                page.matches("<script").count(),
                page.matches("<script src=\"/").count(),
                "{what}: every script is a file of this origin"
            );
        }
    }
}

/// The `x-request-id` a response answers with, for a request that sent `sent`.
async fn answered_id(server: &Endpoint, path: &str, sent: Option<&str>) -> (String, Value) {
    let mut request = reqwest::Client::new()
        .patch(format!("{}{path}", server.base))
        .bearer_auth(&server.token)
        .json(&json!({"name": "Renamed"}));
    if let Some(sent) = sent {
        request = request.header("x-request-id", sent);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    (id, response.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_short_safe_request_ids_are_kept_and_audited() {
    let server = Server::embedded().await;
    let admin = server.admin();
    let org = id(&admin
        .post("/v1/orgs", json!({"name": "Org", "kind": "standalone"}))
        .await);
    let path = format!("/v1/orgs/{org}");
    let long = "x".repeat(8000);
    let quoted = r#"abc" forged="yes"#;
    let spaced = "two words";
    let mut used = Vec::new();
    for bad in [long.as_str(), quoted, spaced] {
        let (answered, _) = answered_id(&server, &path, Some(bad)).await;
        assert_ne!(answered, bad, "an unsafe id is replaced");
        assert!(
            uuid::Uuid::parse_str(&answered).is_ok(),
            "a fresh id instead: {answered}"
        );
        used.push(answered);
    }
    let (kept, _) = answered_id(&server, &path, Some("client-req:42_a.b")).await;
    assert_eq!(kept, "client-req:42_a.b", "a safe id is kept");
    used.push(kept);
    let events = admin.get(&format!("{path}/audit?limit=100")).await;
    let audited: Vec<String> = items(&events)
        .iter()
        .filter(|e| e["action"] == "organization.renamed")
        .map(|e| e["request"]["request_id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(audited, used, "the audit trail carries the ids used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_agent_in_the_audit_trail_is_bounded() {
    let server = Server::embedded().await;
    let admin = server.admin();
    let org = id(&admin
        .post("/v1/orgs", json!({"name": "Org", "kind": "standalone"}))
        .await);
    let response = reqwest::Client::new()
        .patch(format!("{}/v1/orgs/{org}", server.base))
        .bearer_auth(&server.token)
        .header("user-agent", "A".repeat(6000))
        .json(&json!({"name": "Renamed"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let events = admin.get(&format!("/v1/orgs/{org}/audit?limit=100")).await;
    let renamed = items(&events)
        .iter()
        .find(|e| e["action"] == "organization.renamed")
        .expect("audited")
        .clone();
    let agent = renamed["request"]["user_agent"].as_str().expect("kept");
    assert_eq!(agent.len(), regentra_core::audit::MAX_USER_AGENT);
}

/// A login attempt from the loopback address `from` (127.0.0.x).
async fn login_from(server: &Endpoint, from: [u8; 4], email: &str, password: &str) -> StatusCode {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .expect("client")
        .post(format!("{}/v1/auth/login", server.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_from_one_address_do_not_lock_the_owner_out() {
    let server = Server::embedded().await;
    support::msp_with_client(&server).await;
    let attacker = [127, 0, 0, 2];
    for _ in 0..5 {
        assert_eq!(
            login_from(&server, attacker, "boss@msp.test", "a wrong password").await,
            StatusCode::UNAUTHORIZED
        );
    }
    for password in ["a wrong password", PASSWORD] {
        assert_eq!(
            login_from(&server, attacker, "boss@msp.test", password).await,
            StatusCode::TOO_MANY_REQUESTS,
            "the attacker's address is limited"
        );
    }
    for _ in 0..3 {
        assert_eq!(
            login_from(&server, [127, 0, 0, 1], "boss@msp.test", PASSWORD).await,
            StatusCode::OK,
            "the owner, from another address, signs in (successes do not count)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_addresses_failing_reach_the_accounts_ceiling() {
    let server = Server::embedded().await;
    support::msp_with_client(&server).await;
    // Ten addresses, five failures each: the account's fifty per hour.
    for last in 10..20 {
        for _ in 0..5 {
            assert_eq!(
                login_from(
                    &server,
                    [127, 0, 0, last],
                    "boss@msp.test",
                    "a wrong password"
                )
                .await,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    assert_eq!(
        login_from(&server, [127, 0, 0, 30], "boss@msp.test", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the account's ceiling holds whatever the address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_needs_the_current_password_and_ends_other_sessions() {
    let server = Server::embedded().await;
    let (this, _, _) = support::msp_with_client(&server).await;
    let other = server.login("boss@msp.test", PASSWORD).await;
    let program = server.with_token(
        this.post(
            "/v1/me/tokens",
            json!({"name": "CI", "expires_in_days": 30}),
        )
        .await["secret"]
            .as_str()
            .expect("secret"),
    );
    let new = "a brand new passphrase";
    for (body, what) in [
        (json!({"password": new}), "no current password"),
        (
            json!({"current_password": "not the password", "password": new}),
            "a wrong current password",
        ),
    ] {
        let refused = this.call(M::PUT, "/v1/me/password", Some(body)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert_eq!(refused.body["errors"][0]["field"], "current_password");
    }
    for api in [&this, &other, &program] {
        api.get("/v1/me").await;
    }
    this.ok(
        M::PUT,
        "/v1/me/password",
        Some(json!({"current_password": PASSWORD, "password": new})),
        StatusCode::NO_CONTENT,
    )
    .await;
    this.get("/v1/me").await;
    for (api, what) in [(&other, "another login"), (&program, "an API token")] {
        let reply = api.call(M::GET, "/v1/me", None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what} is revoked");
    }
    let refused = server
        .anonymous()
        .call(
            M::POST,
            "/v1/auth/login",
            Some(json!({"email": "boss@msp.test", "password": PASSWORD})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    server.login("boss@msp.test", new).await.get("/v1/me").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_show_their_kind_expiry_and_last_use() {
    let server = Server::embedded().await;
    let (boss, _, _) = support::msp_with_client(&server).await;
    let lasting = boss.post("/v1/me/tokens", json!({"name": "Forever"})).await;
    assert_eq!(lasting["kind"], "api");
    assert_eq!(lasting["expires_at"], Value::Null);
    let month = boss
        .post(
            "/v1/me/tokens",
            json!({"name": "Month", "expires_in_days": 30}),
        )
        .await;
    let created = chrono::DateTime::parse_from_rfc3339(month["created_at"].as_str().expect("time"))
        .expect("rfc3339");
    let expires = chrono::DateTime::parse_from_rfc3339(month["expires_at"].as_str().expect("time"))
        .expect("rfc3339");
    assert_eq!(expires - created, chrono::Duration::days(30));
    for days in [json!(0), json!(3651), json!(-1), json!("soon")] {
        let refused = boss
            .call(
                M::POST,
                "/v1/me/tokens",
                Some(json!({"name": "Bad", "expires_in_days": days})),
            )
            .await;
        assert!(refused.status.is_client_error(), "{days}: {}", refused.text);
        assert!(
            refused.text.contains("expires_in_days"),
            "{days} names the field: {}",
            refused.text
        );
    }
    let listed = boss.get("/v1/me/tokens").await;
    let tokens = items(&listed);
    assert_eq!(tokens.len(), 3, "the login and the two API tokens");
    let login = tokens
        .iter()
        .find(|t| t["kind"] == "login")
        .expect("the login token");
    let used = chrono::DateTime::parse_from_rfc3339(login["last_used_at"].as_str().expect("used"))
        .expect("rfc3339");
    let idle_end =
        chrono::DateTime::parse_from_rfc3339(login["expires_at"].as_str().expect("expiry"))
            .expect("rfc3339");
    assert_eq!(idle_end - used, chrono::Duration::hours(12), "idle expiry");
}
