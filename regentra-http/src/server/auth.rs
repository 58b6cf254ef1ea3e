//! Who is calling: a bearer token turned into a core `Principal`, with the
//! request's origin attached for the audit trail.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use regentra_core::{Error, Principal, RequestMeta};

use super::AppState;
use super::problem::ApiError;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError(Error::Unauthenticated))?;
        let principal = state.regentra.authenticate(token.trim()).await?;
        let header_text = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Caller(principal.with_request(RequestMeta {
            request_id: header_text("x-request-id"),
            ip: header_text("x-forwarded-for"),
            user_agent: header_text("user-agent"),
        })))
    }
}
