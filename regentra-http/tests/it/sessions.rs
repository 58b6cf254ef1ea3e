//! Sessions over HTTP (issue 15): an org's security settings and the
//! session duration they impose, sign-out, browser cookies with CSRF, and
//! the sign-in page.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use regentra_core::ManualClock;
use regentra_http::cli::serve::AppClock;
use serde_json::json;

use crate::support::{self, M, PASSWORD, Server, StatusCode, id};

/// A server on the embedded store whose clock the test moves.
async fn server_with_clock() -> (Server, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .expect("a time"),
    ));
    let config = regentra_http::cli::serve::AppConfig {
        clock: AppClock(clock.clone()),
        ..support::config()
    };
    (Server::embedded_with(config).await, clock)
}

/// The fields a problem names.
fn fields(reply: &support::Reply) -> Vec<&str> {
    reply.body["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default()
}

/// The admin of a standalone org of their own, signed in.
async fn standalone_admin(server: &Server, email: &str) -> support::Api {
    let admin = server.admin();
    let org = id(&admin
        .post("/v1/orgs", json!({"name": email, "kind": "standalone"}))
        .await);
    admin
        .post(
            &format!("/v1/orgs/{org}/members"),
            json!({"email": email, "name": "Other", "password": PASSWORD, "role": "org_admin"}),
        )
        .await;
    server.login(email, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_security_settings_are_validated_and_bound_the_sessions_of_members() {
    let (server, clock) = server_with_clock().await;
    let (boss, msp, client) = support::msp_with_client(&server).await;
    let security = format!("/v1/orgs/{msp}/security");

    let defaults = boss.get(&security).await;
    assert_eq!(defaults["session_hours"], json!(null));
    assert_eq!(defaults["mfa_required"], json!(false));

    // Out of range: every field named, nothing saved.
    let bad = boss
        .call(
            M::PUT,
            &security,
            Some(json!({"session_hours": 721, "mfa_required": true, "mfa_grace_days": 91})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.is_problem());
    assert_eq!(fields(&bad), ["session_hours", "mfa_grace_days"]);
    let unknown = boss
        .call(
            M::PUT,
            &security,
            Some(
                json!({"session_hours": 2, "mfa_required": false, "mfa_grace_days": 0, "idle": 1}),
            ),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert_eq!(boss.get(&security).await, defaults);

    // Another tenant sees nothing.
    let stranger = standalone_admin(&server, "stranger@other.test").await;
    let hidden = stranger.call(M::GET, &security, None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let hidden = stranger
        .call(
            M::PUT,
            &security,
            Some(json!({"session_hours": 1, "mfa_required": false, "mfa_grace_days": 0})),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    // A two-hour limit on the MSP binds its staff's next sign-in, even
    // while they keep using it.
    let saved = boss
        .ok(
            M::PUT,
            &security,
            Some(json!({"session_hours": 2, "mfa_required": true, "mfa_grace_days": 14})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(saved["session_hours"], json!(2));
    assert_eq!(saved["mfa_grace_days"], json!(14));
    assert!(saved["mfa_required_since"].is_string());
    let audit = boss.get(&format!("/v1/orgs/{msp}/audit")).await;
    assert!(
        audit.to_string().contains("org.security_updated"),
        "audited: {audit}"
    );
    let session = server.login("boss@msp.test", PASSWORD).await;
    let tokens = session.get("/v1/me/tokens").await;
    let login = support::items(&tokens)
        .iter()
        .rfind(|t| t["kind"] == "login")
        .expect("a login token")
        .clone();
    assert_eq!(
        login["expires_at"],
        json!("2026-03-02T11:00:00Z"),
        "two hours after sign-in"
    );
    for _ in 0..3 {
        clock.advance(Duration::minutes(39));
        session.get("/v1/me").await;
    }
    clock.advance(Duration::minutes(3));
    let expired = session.call(M::GET, "/v1/me", None).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    // A client's members are not bound by its MSP's setting.
    let client_security = boss.get(&format!("/v1/orgs/{client}/security")).await;
    assert_eq!(client_security["session_hours"], json!(null));
}
