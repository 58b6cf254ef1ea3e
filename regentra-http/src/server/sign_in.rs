//! Signing in with a password: the one path the API's `POST
//! /v1/auth/login` and the browser's `POST /sign-in` both take, so the rate
//! limits, the decoy hash for unknown emails and the session they start
//! are the same whichever door is used.
//!
//! [`sign_in`] answers with a [`SignIn`]: a started [`Session`], or, for an
//! account with MFA, a challenge that [`complete_mfa`] turns into a session
//! with a code; both callers handle both answers.

use std::net::IpAddr;

use regentra_core::auth::ApiToken;
use regentra_core::ids::UserId;
use regentra_core::{Error, Principal, RequestMeta};

use super::AppState;
use super::problem::ApiError;
use super::routes::{ApiResult, blocking};

/// A sign-in session just started: its token record and its secret (the
/// bearer token, or the browser's session cookie), shown once.
pub struct Session {
    pub user: UserId,
    pub token: ApiToken,
    pub secret: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("token", &self.token.id)
            .finish_non_exhaustive()
    }
}

/// What a correct password leads to.
pub enum SignIn {
    /// Signed in: the session is live.
    Session(Box<Session>),
    /// The account has a second factor: no session yet, but a challenge
    /// (single use, short-lived) to complete with a code
    /// ([`regentra_core::Regentra::complete_mfa_challenge`]).
    MfaRequired { user: UserId, challenge: String },
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignIn::Session(session) => f.debug_tuple("Session").field(session).finish(),
            // Never the challenge.
            SignIn::MfaRequired { user, .. } => f
                .debug_struct("MfaRequired")
                .field("user", user)
                .finish_non_exhaustive(),
        }
    }
}

/// Checks `email` and `password` and, when they match, starts a session
/// (or, for an account with MFA, a challenge for the code)
/// (a login token whose absolute lifetime is bounded by the user's orgs'
/// session limits) recorded with `request` (address, user agent), and
/// bound to `portal_host` when the sign-in is on a client portal's own
/// host name ([`super::sites::Site::portal_host`]).
///
/// Before the password is verified the attempt is checked against the
/// login limits (429 when exceeded); only failures count. An unknown email
/// is verified against a decoy hash, so it costs the same time and answers
/// the same `Unauthenticated` as a wrong password.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    address: Option<IpAddr>,
    request: RequestMeta,
    portal_host: Option<&str>,
) -> ApiResult<SignIn> {
    let user = check_password(state, email, password, address).await?;
    if let Some(challenge) = state.regentra.begin_mfa_challenge(user).await? {
        return Ok(SignIn::MfaRequired { user, challenge });
    }
    let principal = Principal::new(user).with_request(request);
    let (token, secret) = state
        .regentra
        .issue_login_token_at(&principal, portal_host)
        .await?;
    Ok(SignIn::Session(Box::new(Session {
        user,
        token,
        secret,
    })))
}

/// The second step for an account with MFA: the challenge [`sign_in`]
/// answered with and a code (or a recovery code) start the session. Wrong
/// codes are limited per account like wrong passwords (429); a wrong code
/// is a validation error naming `code`, a dead or unknown challenge
/// `Unauthenticated` (sign in again). The session is bound to
/// `portal_host` as [`sign_in`]'s is.
pub async fn complete_mfa(
    state: &AppState,
    challenge: &str,
    code: &str,
    address: Option<IpAddr>,
    request: RequestMeta,
    portal_host: Option<&str>,
) -> ApiResult<Session> {
    let key = match state.regentra.mfa_challenge_user(challenge).await? {
        Some(user) => mfa_limit_key(user),
        None => "mfa:unknown-challenge".to_owned(),
    };
    let user = limited_proof(
        state,
        &key,
        address,
        state.regentra.complete_mfa_challenge(challenge, code),
    )
    .await?;
    let principal = Principal::new(user).with_request(request);
    let (token, secret) = state
        .regentra
        .issue_login_token_at(&principal, portal_host)
        .await?;
    Ok(Session {
        user,
        token,
        secret,
    })
}

/// Runs `proof`, a step that checks a code or a password, under the login
/// limits keyed by `key`: refused (429) when over them, and only a wrong
/// proof ([`wrong_proof`]) counts against them.
pub async fn limited_proof<T>(
    state: &AppState,
    key: &str,
    address: Option<IpAddr>,
    proof: impl std::future::Future<Output = Result<T, Error>>,
) -> ApiResult<T> {
    let attempt = state.limiter.attempt(key, address).await?;
    let result = proof.await;
    if !wrong_proof(&result) {
        attempt.succeeded().await;
    }
    Ok(result?)
}

/// The limiter key of an account's second factor: every route that checks
/// one of its codes counts against it.
pub fn mfa_limit_key(user: UserId) -> String {
    format!("mfa:{user}")
}

/// Whether `result` failed on the proof itself (a wrong code or password,
/// or an unknown challenge): what the limiter counts.
pub fn wrong_proof<T>(result: &Result<T, Error>) -> bool {
    match result {
        Err(Error::Unauthenticated) => true,
        Err(Error::Validation(fields)) => fields
            .iter()
            .any(|f| f.field == "code" || f.field == "password"),
        _ => false,
    }
}

/// The account `email` and `password` name, under the login limits.
async fn check_password(
    state: &AppState,
    email: &str,
    password: &str,
    address: Option<IpAddr>,
) -> ApiResult<UserId> {
    // Checked before the password is verified; only failures count.
    let attempt = state.limiter.attempt(email, address).await?;
    let material = state.regentra.login_material(email).await?;
    let (user, phc) = match material {
        Some((user, phc)) => (Some(user), phc),
        None => (None, state.decoy_hash.to_string()),
    };
    let password = password.to_owned();
    let ok = blocking(move || regentra_core::auth::verify_password(&password, &phc)).await?;
    match (user, ok) {
        (Some(user), true) => {
            attempt.succeeded().await;
            Ok(user)
        }
        // The attempt, dropped, counts as a failure.
        _ => Err(ApiError::from(Error::Unauthenticated)),
    }
}
