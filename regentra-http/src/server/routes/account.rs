//! The caller's own account: login, who am I, tokens, password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use regentra_core::ids::{OrgId, TokenId, UserId};
use regentra_core::rbac::{Role, Via};
use regentra_core::{Error, Principal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, blocking};
use crate::server::AppState;
use crate::server::auth::{Caller, ClientAddr};
use crate::server::page::{Page, PageQuery, Paged};
use crate::server::problem::{ApiError, Body, Problem};

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

/// Logs in with a password and returns a new bearer token. Failed attempts
/// are limited per account and client address, per account, and per client
/// address; successes do not count.
#[utoipa::path(post, path = "/v1/auth/login", tag = "account",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Body(req): Body<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    // Checked before the password is verified; only failures count.
    let attempt = state
        .limiter
        .attempt(&req.email, address)
        .map_err(ApiError::from)?;
    let material = state.regentra.login_material(&req.email).await?;
    let (user, phc) = match material {
        Some((user, phc)) => (Some(user), phc),
        None => (None, state.decoy_hash.to_string()),
    };
    let password = req.password;
    let ok = blocking(move || regentra_core::auth::verify_password(&password, &phc)).await?;
    let user = match (user, ok) {
        (Some(user), true) => user,
        _ => return Err(ApiError::from(Error::Unauthenticated)),
        // The attempt, dropped, counts as a failure.
    };
    let (_, token) = state
    attempt.succeeded();
        .regentra
        .issue_token(&Principal::new(user), "login")
        .await?;
    Ok(Json(LoginResponse {
        token,
        user_id: user,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    user_id: UserId,
    memberships: Vec<MembershipItem>,
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
    let orgs = state.regentra.my_organizations(&caller).await?;
    let memberships = orgs
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
        memberships,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// At least 12 characters.
    password: String,
}

/// Sets the caller's own password.
#[utoipa::path(put, path = "/v1/me/password", tag = "account",
    request_body = SetPassword,
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn set_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(req): Body<SetPassword>,
) -> ApiResult<StatusCode> {
    state.regentra.set_password(&caller, &req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenItem {
    id: TokenId,
    name: String,
    /// The first characters of the secret.
    hint: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<regentra_core::auth::ApiToken> for TokenItem {
    fn from(t: regentra_core::auth::ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            hint: t.hint,
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
    let tokens = state.regentra.tokens(&caller).await?;
    Ok(Json(page.of_ids(tokens, |t| t.id.0).map(TokenItem::from)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
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
    let (token, secret) = state.regentra.issue_token(&caller, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: token.into(),
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
    Ok(Json(state.regentra.revoke_token(&caller, id).await?.into()))
}
