//! Password reset by email: asking for a link (the same answer for any
//! email, limited per email and per client address) and setting the
//! password with it. The token travels in the body, never in a path.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::invitations::Meta;
use super::{ApiResult, blocking};
use crate::server::AppState;
use crate::server::auth::ClientAddr;
use crate::server::limits::{FailureLimit, LoginLimiter, LoginLimits};
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
}

/// The limits on reset requests, every request counting (each may send an
/// email): 3 per 15 minutes per email and client address, 10 per hour per
/// email, 30 per hour per client address.
pub fn reset_limits() -> LoginLimits {
    LoginLimits {
        account_address: FailureLimit {
            failures: 3,
            within: Duration::from_secs(15 * 60),
        },
        account: FailureLimit {
            failures: 10,
            within: Duration::from_secs(3600),
        },
        address: FailureLimit {
            failures: 30,
            within: Duration::from_secs(3600),
        },
    }
}

/// The limiter of reset requests ([`reset_limits`]).
pub fn reset_limiter(regentra: std::sync::Arc<regentra_core::Regentra>) -> LoginLimiter {
    LoginLimiter::new(regentra, "reset", reset_limits())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRequested {
    /// Always the same words, whether or not the email has an account.
    message: &'static str,
}

const REQUESTED: &str = "If this email has an account, a link to set a new password is on its way. \
     It works once, for one hour.";

/// Asks for a password reset link. Always `202` with the same body whether
/// or not the email has an account (a malformed email is refused, 422
/// naming `email`). With an account, an email with a single-use link that
/// expires after an hour is sent, and earlier links stop working. Requests
/// are limited per email and per client address (429).
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "account",
    request_body = ResetRequest,
    responses((status = 202, body = ResetRequested),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")),
    security(()))]
async fn request_reset(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Meta(meta): Meta,
    Body(req): Body<ResetRequest>,
) -> ApiResult<(StatusCode, Json<ResetRequested>)> {
    // Every request counts: the attempt is never given back.
    let _attempt = state.reset_limiter.attempt(&req.email, address).await?;
    state
        .regentra
        .request_password_reset(&req.email, None, meta)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetRequested { message: REQUESTED }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmReset {
    /// The token of the reset link (`rgr_...`).
    token: String,
    /// At least 12 characters and hard to guess, counting the account's
    /// email and name as easy guesses.
    password: String,
}

/// Sets a new password with a reset link's token: the link is used up and
/// every token of the account is revoked (signed out everywhere). An
/// unknown, used, superseded or expired link is refused (422 naming
/// `token`, saying which).
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "account",
    request_body = ConfirmReset,
    responses((status = 204),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(()))]
async fn confirm_reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Body(req): Body<ConfirmReset>,
) -> ApiResult<StatusCode> {
    let inputs = state.regentra.password_reset_inputs(&req.token).await?;
    let regentra = std::sync::Arc::clone(&state.regentra);
    let password = req.password;
    let hash = blocking(move || {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        regentra.hash_password_for(&password, &inputs)
    })
    .await??;
    state
        .regentra
        .confirm_password_reset(&req.token, hash, meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
