//! MFA over HTTP: enrolment with a QR code, the two-step sign-in, recovery
//! codes, an admin's reset, and brute force on the code step (429 and a dead
//! challenge). The server runs on a manual clock, and the tests compute the
//! codes an authenticator app would show from the secret at that time.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use regentra_core::{Clock as _, ManualClock};
use serde_json::{Value, json};

use crate::support::{self, Api, M, PASSWORD, Server, StatusCode};

/// A server whose core runs on `clock`.
async fn server_on(clock: &Arc<ManualClock>) -> Server {
    Server::embedded_with(support::config_on(clock)).await
}

fn start() -> Arc<ManualClock> {
    let at = DateTime::from_timestamp(1_750_000_005, 0).expect("a time");
    Arc::new(ManualClock::new(at))
}

/// The code an authenticator app shows for `secret` at `when`.
pub(crate) fn code_at(secret: &str, when: DateTime<Utc>) -> String {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32"))
        .build()
        .expect("RFC 6238 defaults")
        .generate(u64::try_from(when.timestamp()).expect("after 1970"))
        .to_string()
}

/// Enrols `api`'s account: the secret and the recovery codes.
async fn enrol(api: &Api, clock: &ManualClock) -> (String, Vec<String>) {
    let setup = api.post("/v1/me/mfa/enroll", json!({})).await;
    let secret = setup["secret"].as_str().expect("secret").to_owned();
    let confirmed = api
        .ok(
            M::POST,
            "/v1/me/mfa/confirm",
            Some(json!({ "code": code_at(&secret, clock.now()) })),
            StatusCode::OK,
        )
        .await;
    let codes = confirmed["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    (secret, codes)
}

async fn password_step(server: &Server, email: &str) -> Value {
    server
        .anonymous()
        .ok(
            M::POST,
            "/v1/auth/login",
            Some(json!({ "email": email, "password": PASSWORD })),
            StatusCode::OK,
        )
        .await
}

async fn code_step(server: &Server, challenge: &Value, code: &str) -> support::Reply {
    server
        .anonymous()
        .call(
            M::POST,
            "/v1/auth/login/mfa",
            Some(json!({ "challenge": challenge, "code": code })),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_mfa_takes_the_password_then_a_code() {
    let clock = start();
    let server = server_on(&clock).await;
    let (boss, msp, client) = support::msp_with_client(&server).await;
    let boss_id = boss.get("/v1/me").await["user_id"].clone();

    // Enrolment: the secret, its otpauth URI, and the QR code as an SVG.
    let setup = boss.post("/v1/me/mfa/enroll", json!({})).await;
    let secret = setup["secret"].as_str().expect("secret");
    let uri = setup["otpauth_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/Regentra:boss%40msp.test?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let svg = setup["qr_svg"].as_str().expect("svg");
    assert!(svg.starts_with("<?xml") && svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"), "a whole SVG document");
    let status = boss.get("/v1/me/mfa").await;
    assert_eq!(status["pending"], true);
    assert_eq!(status["enabled"], false);
    // Still pending: the password alone signs in.
    assert!(password_step(&server, "boss@msp.test").await["token"].is_string());
    let wrong = boss
        .call(
            M::POST,
            "/v1/me/mfa/confirm",
            Some(json!({ "code": "12345x" })),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.body["errors"][0]["field"], "code");
    let confirmed = boss
        .ok(
            M::POST,
            "/v1/me/mfa/confirm",
            Some(json!({ "code": code_at(secret, clock.now()) })),
            StatusCode::OK,
        )
        .await;
    let recovery = confirmed["recovery_codes"].as_array().expect("codes");
    assert_eq!(recovery.len(), 10);
    assert_eq!(boss.get("/v1/me/mfa").await["recovery_codes_left"], 10);

    // The password now answers a challenge, not a session.
    let step = password_step(&server, "boss@msp.test").await;
    assert_eq!(step["mfa_required"], true);
    assert!(
        step.get("token").is_none() && step.get("user_id").is_none(),
        "{step}"
    );
    // A wrong password answers as it always did.
    let refused = server
        .anonymous()
        .call(
            M::POST,
            "/v1/auth/login",
            Some(json!({ "email": "boss@msp.test", "password": "not the password" })),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.get("mfa_required").is_none());
    // The code of the next step gives the session, once.
    clock.advance(Duration::seconds(30));
    let session = code_step(&server, &step["challenge"], &code_at(secret, clock.now())).await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.text);
    assert_eq!(session.body["user_id"], boss_id);
    let signed_in = server.with_token(session.body["token"].as_str().expect("token"));
    assert_eq!(signed_in.get("/v1/me").await["user_id"], boss_id);
    let again = code_step(&server, &step["challenge"], &code_at(secret, clock.now())).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "single use");

    // A recovery code works once in place of a code.
    let step = password_step(&server, "boss@msp.test").await;
    let code = recovery[0].as_str().expect("a code");
    assert_eq!(
        code_step(&server, &step["challenge"], code).await.status,
        StatusCode::OK
    );
    let step = password_step(&server, "boss@msp.test").await;
    assert_eq!(
        code_step(&server, &step["challenge"], code).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a used recovery code"
    );

    // Regenerating the codes needs a current code.
    clock.advance(Duration::seconds(30));
    let fresh = boss
        .ok(
            M::POST,
            "/v1/me/mfa/recovery-codes",
            Some(json!({ "code": code_at(secret, clock.now()) })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(fresh["recovery_codes"].as_array().expect("codes").len(), 10);

    // The admin of every org the boss is in may reset the factor; the
    // password alone signs in again.
    boss.ok(
        M::DELETE,
        &format!(
            "/v1/orgs/{msp}/members/{}/mfa",
            boss_id.as_str().expect("id")
        ),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(boss.get("/v1/me/mfa").await["enabled"], false);
    assert!(password_step(&server, "boss@msp.test").await["token"].is_string());

    // Enrolled again, disabling needs the password or a code.
    clock.advance(Duration::seconds(30));
    enrol(&boss, &clock).await;
    let wrong = boss
        .call(
            M::DELETE,
            "/v1/me/mfa",
            Some(json!({ "password": "not the password" })),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.body["errors"][0]["field"], "password");
    boss.ok(
        M::DELETE,
        "/v1/me/mfa",
        Some(json!({ "password": PASSWORD })),
        StatusCode::NO_CONTENT,
    )
    .await;
    assert!(password_step(&server, "boss@msp.test").await["token"].is_string());

    // A client that requires MFA with no grace refuses the boss (no MFA
    // now) with a problem that says so; their own account stays open.
    boss.ok(
        M::PUT,
        &format!("/v1/orgs/{client}/security"),
        Some(json!({ "mfa_required": true, "mfa_grace_days": 0 })),
        StatusCode::OK,
    )
    .await;
    let refused = boss
        .call(M::GET, &format!("/v1/orgs/{client}/members"), None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(refused.is_problem());
    assert_eq!(refused.body["type"], "urn:regentra:problem:mfa-required");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("multi-factor")),
        "{}",
        refused.text
    );
    let me = boss.get("/v1/me").await;
    assert_eq!(me["mfa_enabled"], false);
    assert_eq!(me["mfa_required"][0]["org_id"], client.as_str());
    assert!(me["mfa_required"][0]["deadline"].is_string(), "{me}");
    boss.get(&format!("/v1/orgs/{msp}/members")).await;
    clock.advance(Duration::seconds(30));
    enrol(&boss, &clock).await;
    boss.get(&format!("/v1/orgs/{client}/members")).await;
    assert_eq!(boss.get("/v1/me").await["mfa_enabled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_on_the_code_step_is_limited_and_kills_the_challenge() {
    let clock = start();
    let server = server_on(&clock).await;
    let (boss, _, _) = support::msp_with_client(&server).await;
    let (secret, _) = enrol(&boss, &clock).await;
    clock.advance(Duration::seconds(30));
    let right = code_at(&secret, clock.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };

    // Three wrong codes kill the challenge: then even the right code is
    // refused, and the password step must be passed again.
    let step = password_step(&server, "boss@msp.test").await;
    for n in 1..=3 {
        let reply = code_step(&server, &step["challenge"], wrong).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "guess {n}");
        assert_eq!(reply.body["errors"][0]["field"], "code");
    }
    let dead = code_step(&server, &step["challenge"], &right).await;
    assert_eq!(dead.status, StatusCode::UNAUTHORIZED, "{}", dead.text);

    // A fresh challenge does not give a fresh budget: the account's
    // failures from this address run out, and the answer is 429 with
    // Retry-After, even for the right code.
    let step = password_step(&server, "boss@msp.test").await;
    let mut limited = None;
    for _ in 0..3 {
        let reply = code_step(&server, &step["challenge"], wrong).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(reply);
            break;
        }
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let limited = limited.expect("the limiter stops the guessing");
    assert!(limited.is_problem());
    let reply = server
        .anonymous()
        .http
        .post(format!("{}/v1/auth/login/mfa", server.base))
        .json(&json!({ "challenge": step["challenge"], "code": right }))
        .send()
        .await
        .expect("request");
    assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = reply.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);
}
