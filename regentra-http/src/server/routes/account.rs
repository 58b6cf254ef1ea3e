//! The caller's own account: login, who am I, tokens, password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use regentra_core::auth::{ApiToken, TokenKind};
use regentra_core::ids::{OrgId, TokenId, UserId};
use regentra_core::mfa::MfaRequirement;
use regentra_core::rbac::{Role, Via};
use regentra_core::{Error, Regentra};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id};
use crate::server::AppState;
use crate::server::auth::{Caller, ClientAddr, Meta};
use crate::server::page::{Page, PageQuery, Paged};
use crate::server::problem::{Body, Problem};
use crate::server::sign_in::{SignIn, sign_in};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(set_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// A bearer token (`rgt_...`), shown once.
    token: String,
    user_id: UserId,
}

/// The answer to a right password for an account with MFA: no session yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequired {
    /// Always `true`.
    mfa_required: bool,
    /// Single use, valid 5 minutes: send it with the code to
    /// `POST /v1/auth/login/mfa`.
    challenge: String,
}

/// A session, or the second step it still needs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginAnswer {
    Session(LoginResponse),
    Mfa(MfaRequired),
}

/// Logs in with a password and returns a new bearer token; for an account
/// with MFA, a challenge instead (`mfa_required`), for
/// `POST /v1/auth/login/mfa` with the code. Failed attempts are limited per
/// account and client address, per account, and per client address;
/// successes do not count.
#[utoipa::path(post, path = "/v1/auth/login", tag = "account",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginAnswer),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Meta(request): Meta,
    Body(req): Body<LoginRequest>,
) -> ApiResult<Json<LoginAnswer>> {
    // The API is not served on a portal's host name: the server's own.
    match sign_in(&state, &req.email, &req.password, address, request, None).await? {
        SignIn::Session(session) => Ok(Json(LoginAnswer::Session(LoginResponse {
            token: session.secret,
            user_id: session.user,
        }))),
        SignIn::MfaRequired { challenge, .. } => Ok(Json(LoginAnswer::Mfa(MfaRequired {
            mfa_required: true,
            challenge,
        }))),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    user_id: UserId,
    /// Whether the caller is the platform operator (who acts in every org
    /// through `/v1/orgs`, not through memberships).
    platform_operator: bool,
    memberships: Vec<MembershipItem>,
    /// Whether the caller signs in with a second factor.
    mfa_enabled: bool,
    /// The orgs that require MFA of the caller, soonest deadline first:
    /// without MFA, each refuses the caller (403 `mfa-required`) from its
    /// deadline on, until they enrol (`POST /v1/me/mfa/enroll`).
    mfa_required: Vec<MfaRequirement>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipItem {
    org_id: OrgId,
    org_name: String,
    role: Role,
    /// `membership`, `msp` (an MSP admin in its client) or `platform`.
    via: String,
}

/// The caller and every org they can act in, with their role there.
#[utoipa::path(get, path = "/v1/me", tag = "account",
    responses((status = 200, body = MeResponse)),
    security(("bearer" = [])))]
async fn me(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<MeResponse>> {
    let me = state.regentra.me(&caller).await?;
    let memberships = me
        .organizations
        .iter()
        .flat_map(|access| {
            access.roles.iter().map(|grant| MembershipItem {
                org_id: access.org.id,
                org_name: access.org.name.clone(),
                role: grant.role,
                via: match grant.via {
                    Via::Membership => "membership",
                    Via::MspDelegation { .. } => "msp",
                    Via::Platform => "platform",
                }
                .to_owned(),
            })
        })
        .collect();
    Ok(Json(MeResponse {
        user_id: caller.user,
        platform_operator: me.account.super_admin,
        memberships,
        mfa_enabled: me.account.mfa,
        mfa_required: me.mfa_required,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The password being replaced: required when the account has one,
    /// left out for a first password (the platform operator signed in with
    /// the bootstrap token, or an account added without a password).
    #[serde(default)]
    current_password: Option<String>,
    /// At least 12 characters and hard to guess (zxcvbn strength 3 of 4 or
    /// more, counting the account's email and name as easy guesses).
    password: String,
}

/// Changes the caller's own password, given the current one. A first
/// password needs none (422 naming `current_password` when it is left out
/// but the account has one): that is how the platform operator, signed in
/// with the bootstrap token, sets the password they then log in with.
/// Every other token of the caller is revoked; the one of this request
/// stays valid. Wrong current passwords are limited like failed logins.
#[utoipa::path(put, path = "/v1/me/password", tag = "account",
    request_body = SetPassword,
    responses(
        (status = 204),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn set_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientAddr(address): ClientAddr,
    Body(req): Body<SetPassword>,
) -> ApiResult<StatusCode> {
    // Guessing the current password with a stolen token is limited like
    // guessing it at the login (keyed by the account's id).
    let attempt = state
        .limiter
        .attempt(&format!("user:{}", caller.user), address)
        .await?;
    let result = state
        .regentra
        .change_password(&caller, req.current_password.as_deref(), &req.password)
        .await;
    let wrong_current = matches!(&result, Err(Error::Validation(fields))
        if fields.iter().any(|f| f.field == "current_password"));
    if !wrong_current {
        attempt.succeeded().await;
    }
    result?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenItem {
    id: TokenId,
    name: String,
    /// The first characters of the secret.
    hint: String,
    /// `login` (from a password login) or `api` (made by the user).
    kind: TokenKind,
    created_at: DateTime<Utc>,
    /// Written at most once a minute.
    last_used_at: Option<DateTime<Utc>>,
    /// When the token stops working unless used before (a login token's
    /// idle expiry moves with its use); `null`: never.
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TokenItem {
    fn new(regentra: &Regentra, t: ApiToken) -> Self {
        Self {
            expires_at: regentra.token_expiry(&t),
            id: t.id,
            name: t.name,
            hint: t.hint,
            kind: t.kind,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// The caller's API tokens (never their secrets).
#[utoipa::path(get, path = "/v1/me/tokens", tag = "account",
    params(PageQuery),
    responses((status = 200, body = Paged<TokenItem>)),
    security(("bearer" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    Caller(caller): Caller,
    page: Page,
) -> ApiResult<Json<Paged<TokenItem>>> {
    let tokens = state.regentra.tokens(&caller, page.request()).await?;
    Ok(Json(
        page.listed(tokens)
            .map(|t| TokenItem::new(&state.regentra, t)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    /// Days until the token expires (1 to 3650); none: it never does.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    token: TokenItem,
    /// The secret, shown only in this response.
    secret: String,
}

/// Issues a new API token for the caller.
#[utoipa::path(post, path = "/v1/me/tokens", tag = "account",
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken)),
    security(("bearer" = [])))]
async fn create_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(req): Body<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (token, secret) = state
        .regentra
        .issue_api_token(&caller, &req.name, req.expires_in_days)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: TokenItem::new(&state.regentra, token),
            secret,
        }),
    ))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/v1/me/tokens/{token_id}", tag = "account",
    params(("token_id" = Uuid, Path)),
    responses((status = 200, body = TokenItem), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(id): Id<TokenId>,
) -> ApiResult<Json<TokenItem>> {
    let token = state.regentra.revoke_token(&caller, id).await?;
    Ok(Json(TokenItem::new(&state.regentra, token)))
}
