//! Multi-factor authentication: the caller's own second factor (enrol,
//! confirm, disable, recovery codes), the code step of signing in, and an
//! admin's reset of a member's factor.
//!
//! Every route that checks a code or a password goes through the login
//! limiter, keyed by the account (`mfa:<user id>`), so the six digits of a
//! code cannot be guessed by trying: after a few wrong codes the answer is
//! 429 with `Retry-After`, whichever route they were tried on.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use qrcode::QrCode;
use qrcode::render::svg;
use regentra_core::Error;
use regentra_core::ids::{OrgId, UserId};
use regentra_core::mfa::MfaStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id};
use crate::server::AppState;
use crate::server::auth::{Caller, ClientAddr, Meta};
use crate::server::problem::{Body, Problem};
use crate::server::sign_in::{complete_mfa, limited_proof, mfa_limit_key as limit_key};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_mfa))
        .routes(routes!(mfa_status, disable_mfa))
        .routes(routes!(enroll_mfa))
        .routes(routes!(confirm_mfa))
        .routes(routes!(regenerate_recovery_codes))
        .routes(routes!(reset_member_mfa))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaLogin {
    /// The challenge the password step answered with.
    challenge: String,
    /// The current 6-digit code of the authenticator app, or an unused
    /// recovery code.
    code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaSession {
    /// A bearer token (`rgt_...`), shown once.
    token: String,
    user_id: UserId,
}

/// The second step of signing in to an account with MFA: the challenge
/// from `POST /v1/auth/login` and a code (or a recovery code) give the
/// session. A wrong code is 422 naming `code`; after 3 the challenge dies
/// (401: sign in again). Wrong codes are limited per account and client
/// address, per account, and per address (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/auth/login/mfa", tag = "account",
    request_body = MfaLogin,
    responses(
        (status = 200, body = MfaSession),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn login_mfa(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Meta(request): Meta,
    Body(req): Body<MfaLogin>,
) -> ApiResult<Json<MfaSession>> {
    // The API is not served on a portal's host name: the server's own.
    let session = complete_mfa(&state, &req.challenge, &req.code, address, request, None).await?;
    Ok(Json(MfaSession {
        token: session.secret,
        user_id: session.user,
    }))
}

/// The caller's second factor: enabled, pending confirmation, recovery
/// codes left.
#[utoipa::path(get, path = "/v1/me/mfa", tag = "account",
    responses((status = 200, body = MfaStatus)),
    security(("bearer" = [])))]
async fn mfa_status(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<MfaStatus>> {
    Ok(Json(state.regentra.mfa_status(&caller).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Enrollment {
    /// The shared secret in base32, to type into an app by hand.
    secret: String,
    /// The `otpauth://totp/...` URI the QR code carries.
    otpauth_uri: String,
    /// The QR code of `otpauth_uri`, as an SVG document.
    qr_svg: String,
}

/// Starts enrolling an authenticator app: a fresh secret, as text, as an
/// `otpauth://` URI and as a QR code. Nothing is protected by it until
/// `POST /v1/me/mfa/confirm` sees a code from it. Starting again replaces
/// a pending secret; an enabled factor must be disabled first (422 naming
/// `mfa`).
#[utoipa::path(post, path = "/v1/me/mfa/enroll", tag = "account",
    responses(
        (status = 201, body = Enrollment),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn enroll_mfa(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<(StatusCode, Json<Enrollment>)> {
    let setup = state.regentra.start_mfa_enrollment(&caller).await?;
    let qr =
        QrCode::new(setup.uri.as_bytes()).map_err(|e| Error::storage(format!("QR code: {e}")))?;
    let qr_svg = qr
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok((
        StatusCode::CREATED,
        Json(Enrollment {
            secret: setup.secret,
            otpauth_uri: setup.uri,
            qr_svg,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The current 6-digit code of the authenticator app.
    code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each works once in place of a code; shown only in this response.
    recovery_codes: Vec<String>,
}

/// Confirms the enrolment with a current code: from now on signing in
/// asks for a code. Answers the recovery codes, shown this once.
#[utoipa::path(post, path = "/v1/me/mfa/confirm", tag = "account",
    request_body = CodeRequest,
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn confirm_mfa(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientAddr(address): ClientAddr,
    Body(req): Body<CodeRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    let key = limit_key(caller.user);
    let proof = state.regentra.confirm_mfa(&caller, &req.code);
    Ok(Json(RecoveryCodes {
        recovery_codes: limited_proof(&state, &key, address, proof).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    /// A current code (or a recovery code)...
    #[serde(default)]
    code: Option<String>,
    /// ...or the account's password.
    #[serde(default)]
    password: Option<String>,
}

/// Turns off the caller's second factor, given a current code or the
/// password (422 naming the one that does not match).
#[utoipa::path(delete, path = "/v1/me/mfa", tag = "account",
    request_body = DisableRequest,
    responses(
        (status = 204),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn disable_mfa(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientAddr(address): ClientAddr,
    Body(req): Body<DisableRequest>,
) -> ApiResult<StatusCode> {
    let key = limit_key(caller.user);
    let proof = state
        .regentra
        .disable_mfa(&caller, req.code.as_deref(), req.password.as_deref());
    limited_proof(&state, &key, address, proof).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New recovery codes, replacing every unused one, given a current code.
#[utoipa::path(post, path = "/v1/me/mfa/recovery-codes", tag = "account",
    request_body = CodeRequest,
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientAddr(address): ClientAddr,
    Body(req): Body<CodeRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    let key = limit_key(caller.user);
    let proof = state.regentra.regenerate_recovery_codes(&caller, &req.code);
    Ok(Json(RecoveryCodes {
        recovery_codes: limited_proof(&state, &key, address, proof).await?,
    }))
}

/// An org admin removes a member's second factor (a lost phone). Refused
/// (422 naming `user_id`) when the member also belongs to an org the
/// caller does not administer, or is a platform operator: only the
/// platform operator can weaken an account other tenants rely on.
/// Recorded in the org's audit chain; the member is told in their inbox.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/members/{user_id}/mfa", tag = "tenancy",
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn reset_member_mfa(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, user)): Id<(OrgId, UserId)>,
) -> ApiResult<StatusCode> {
    state.regentra.reset_member_mfa(&caller, org, user).await?;
    Ok(StatusCode::NO_CONTENT)
}
