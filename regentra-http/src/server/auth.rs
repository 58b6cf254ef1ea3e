//! Who is calling: a bearer token (or a browser's session cookie) turned
//! into a core `Principal`, with the request's origin attached for the
//! audit trail.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use regentra_core::{Error, Principal, RequestMeta};

use super::problem::ApiError;
use super::{AppState, browser, sites};

/// The authenticated caller of a request: `Authorization: Bearer rgt_...`,
/// or a browser's session cookie, which must pass the CSRF rules of
/// [`browser`] (a state change carries the session's token in the
/// `x-csrf-token` header; an `Origin`, when sent, is ours). A request with
/// a bearer token is taken as an API client's, whatever cookie it carries.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // One request: its authorization checks share what they resolve.
        if let Some(token) = bearer(parts) {
            return principal(parts, state, &token)
                .await
                .map(|p| Caller(p.for_one_request()));
        }
        let secret =
            browser::session_secret(&parts.headers, state).ok_or(Error::Unauthenticated)?;
        browser::check_cookie_request(parts, state, &secret)?;
        principal(parts, state, &secret)
            .await
            .map(|p| Caller(p.for_one_request()))
    }
}

/// The caller of a WebSocket upgrade: browsers cannot set headers on one,
/// so the token may also come as `?access_token=`. The token is kept (as
/// the second field), with the request's `Host` (the third), so that a
/// long-lived socket can check it again on the same site. Its principal is
/// not one request's ([`Principal::for_one_request`]): a socket lives on,
/// and each message is authorized against the roles of its time.
#[derive(Clone)]
pub struct SocketCaller(pub Principal, pub String, pub Option<String>);

impl std::fmt::Debug for SocketCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_tuple("SocketCaller")
            .field(&self.0)
            .finish_non_exhaustive()
    }
}

impl FromRequestParts<AppState> for SocketCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let from_query = || {
            parts.uri.query().and_then(|q| {
                q.split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| *k == "access_token")
                    .map(|(_, v)| v.to_owned())
            })
        };
        let host = sites::host_header(&parts.headers).map(str::to_owned);
        if let Some(token) = bearer(parts).or_else(from_query) {
            let caller = principal(parts, state, &token).await?;
            return Ok(SocketCaller(caller, token, host));
        }
        // A browser's socket with the session cookie: any site can open a
        // WebSocket to us with the cookie attached, so it must say it
        // comes from our own pages.
        let secret =
            browser::session_secret(&parts.headers, state).ok_or(Error::Unauthenticated)?;
        if !parts.headers.contains_key(header::ORIGIN)
            || !browser::origin_is_ours(&parts.headers, state)
        {
            return Err(browser::cross_origin().into());
        }
        let caller = principal(parts, state, &secret).await?;
        Ok(SocketCaller(caller, secret, host))
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
}

/// The caller behind `token` on the request's site ([`AppState::authenticate`]).
async fn principal(parts: &Parts, state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let principal = state.authenticate(&parts.headers, token).await?;
    Ok(principal.with_request(request_meta(parts)))
}

/// The request's id (set by the request-id layer), the peer's address and
/// user agent: what an audit event records about where a change came from.
pub fn request_meta(parts: &Parts) -> RequestMeta {
    let header_text = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    RequestMeta {
        request_id: header_text("x-request-id"),
        ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string()),
        user_agent: header_text("user-agent"),
    }
}

/// Where the request came from ([`request_meta`]), for handlers that act
/// before anyone is authenticated (signing in).
#[derive(Debug, Clone)]
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Meta(request_meta(parts)))
    }
}

/// The client's address (the TCP peer; a proxy's forwarded headers are not
/// trusted, since any client can send them).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}
