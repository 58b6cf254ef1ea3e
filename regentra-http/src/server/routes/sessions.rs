//! The caller's sign-in sessions: signing out, listing the live ones,
//! ending another, and the CSRF token of a browser session.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use regentra_core::ids::TokenId;
use regentra_core::sessions::SessionView;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id};
use crate::server::auth::Caller;
use crate::server::problem::Problem;
use crate::server::{AppState, browser};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(csrf))
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
}

/// Signs out: ends the session of this request (its bearer token or its
/// session cookie, which is cleared). A request made with an API token is
/// refused (422 naming `token`): revoke API tokens at `DELETE
/// /v1/me/tokens/{id}`.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "account",
    responses((status = 204),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    state.regentra.end_session(&caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if browser::session_secret(&headers, &state).is_some() {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, browser::clear_cookie(&state));
    }
    Ok(response)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CsrfToken {
    /// Send it in the `x-csrf-token` header of every change made with the
    /// session cookie (or as the `csrf_token` field of a form).
    csrf_token: String,
}

/// The CSRF token of the browser session of this request (its session
/// cookie), for scripts of our own pages. A bearer client needs none.
#[utoipa::path(get, path = "/v1/auth/csrf", tag = "account",
    responses((status = 200, body = CsrfToken),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("session_cookie" = [])))]
async fn csrf(
    State(state): State<AppState>,
    Caller(_): Caller,
    headers: HeaderMap,
) -> ApiResult<Json<CsrfToken>> {
    let secret = browser::session_secret(&headers, &state).ok_or_else(|| {
        Problem::invalid_field(
            "cookie",
            "no session cookie: only a browser session has a CSRF token",
        )
    })?;
    Ok(Json(CsrfToken {
        csrf_token: browser::csrf_token(&secret),
    }))
}

/// The caller's live sign-in sessions, the oldest first: when each
/// started, was last used and ends, where it was started from, and which
/// is this request's.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "account",
    responses((status = 200, body = Vec<SessionView>)),
    security(("bearer" = [])))]
async fn list_sessions(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<SessionView>>> {
    Ok(Json(state.regentra.sessions(&caller).await?))
}

/// Ends one of the caller's sessions (a browser left signed in elsewhere).
/// Another user's session or an API token is 404.
#[utoipa::path(delete, path = "/v1/me/sessions/{session_id}", tag = "account",
    params(("session_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn end_session(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(id): Id<TokenId>,
) -> ApiResult<StatusCode> {
    state.regentra.end_other_session(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
