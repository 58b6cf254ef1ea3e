//! Browser sessions: the session cookie a sign-in from the web page sets,
//! and the CSRF rules every state change made with it must pass.
//!
//! The cookie holds the session's secret (the same login token an API
//! client gets as a bearer token). It is `HttpOnly` (no script reads it),
//! `SameSite=Lax` (not sent on cross-site posts by browsers that honour
//! it), `Path=/`, and, when the server is served over https
//! ([`AppState::cookie_secure`]), `Secure` with the `__Host-` name prefix
//! (so no subdomain or plain-http page can plant or shadow it).
//!
//! `SameSite` alone is not a CSRF defence to rely on (older browsers,
//! same-site subdomains), so a request authenticated by the cookie that
//! changes anything (any method but GET, HEAD, OPTIONS) must also carry
//! the session's CSRF token, in the `x-csrf-token` header or, for HTML
//! forms, the `csrf_token` field; and an `Origin` header, when present,
//! must be the server's own. The token is an HMAC of the session secret
//! under a fixed label: it needs no storage, a page can embed it (the
//! secret stays in the cookie), and it dies with the session. A request
//! with a bearer token needs none of this: a browser never attaches one on
//! its own.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AppState;
use super::problem::Problem;

/// The cookie's name over plain http.
pub const COOKIE: &str = "regentra_session";
/// The cookie's name over https: the `__Host-` prefix makes browsers
/// refuse it unless it is `Secure`, has `Path=/` and no `Domain`.
pub const SECURE_COOKIE: &str = "__Host-regentra_session";
/// The header a script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field an HTML form sends the CSRF token in.
pub const CSRF_FIELD: &str = "csrf_token";

/// What the CSRF token is an HMAC of, keyed by the session secret.
const CSRF_LABEL: &[u8] = b"regentra csrf token v1";

/// The name of the session cookie on this server.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.cookie_secure {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// The session secret the request's cookie holds, if any (only the cookie
/// name this server uses counts).
pub fn session_secret(headers: &HeaderMap, state: &AppState) -> Option<String> {
    let name = cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that stores `secret` for `max_age_seconds`.
pub fn set_cookie(state: &AppState, secret: &str, max_age_seconds: i64) -> HeaderValue {
    cookie_header(state, secret, max_age_seconds.max(0))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    cookie_header(state, "", 0)
}

fn cookie_header(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.cookie_secure { "; Secure" } else { "" };
    let cookie = format!(
        "{}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}",
        cookie_name(state)
    );
    // A token secret is `rgt_` and hex digits: always a valid header.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token of the session whose secret is `secret`: hex
/// HMAC-SHA256 of a fixed label.
pub fn csrf_token(secret: &str) -> String {
    hex::encode(csrf_mac(secret).finalize().into_bytes())
}

fn csrf_mac(secret: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(CSRF_LABEL);
    mac
}

/// Whether `presented` is the CSRF token of `secret` (compared in
/// constant time).
pub fn csrf_matches(secret: &str, presented: &str) -> bool {
    match hex::decode(presented.trim()) {
        Ok(bytes) => csrf_mac(secret).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// Whether a request with this method changes nothing (and so needs no
/// CSRF token).
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The request's `Origin`, when it has one, is this server's own: the
/// configured public origin ([`AppState::public_origin`]) when there is
/// one, else the same scheme (https when the cookie is secure) and the
/// same host and port as the `Host` header. `Origin: null` (sandboxed
/// frames, some redirects) is not.
pub fn origin_is_ours(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    origin.to_str().is_ok_and(|origin| {
        origin_matches(
            origin,
            state.public_origin.as_deref(),
            host,
            state.cookie_secure,
        )
    })
}

/// Whether `origin` is `public` (when configured), or else
/// `scheme://host` for the request's `Host`.
fn origin_matches(origin: &str, public: Option<&str>, host: Option<&str>, secure: bool) -> bool {
    if let Some(public) = public {
        return origin.eq_ignore_ascii_case(public.trim_end_matches('/'));
    }
    let scheme = if secure { "https" } else { "http" };
    host.is_some_and(|host| origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")))
}

/// The refusal of a cross-site request.
pub fn cross_origin() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "cross-origin",
        "Cross-origin request refused",
        "a request made with the session cookie must come from this server's own pages",
    )
}

/// The refusal of a state change without the session's CSRF token.
pub fn csrf_refused() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "CSRF token missing or wrong",
        "a change made with the session cookie needs this session's CSRF token in the \
         x-csrf-token header (or the csrf_token field of a form)",
    )
}

/// The checks of a request authenticated by the cookie whose CSRF token,
/// if any, comes in the header: the origin, and for a state change the
/// token.
pub fn check_cookie_request(parts: &Parts, state: &AppState, secret: &str) -> Result<(), Problem> {
    if !origin_is_ours(&parts.headers, state) {
        return Err(cross_origin());
    }
    if is_safe(&parts.method) {
        return Ok(());
    }
    let presented = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if csrf_matches(secret, presented) {
        Ok(())
    } else {
        Err(csrf_refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_origin_is_ours() {
        let host = Some("app.example.test:8443");
        assert!(origin_matches(
            "https://app.example.test:8443",
            None,
            host,
            true
        ));
        assert!(origin_matches(
            "HTTPS://App.Example.Test:8443",
            None,
            host,
            true
        ));
        for other in [
            "http://app.example.test:8443",
            "https://app.example.test",
            "https://evil.test",
            "https://app.example.test:8443.evil.test",
            "null",
            "",
        ] {
            assert!(!origin_matches(other, None, host, true), "{other:?}");
        }
        assert!(!origin_matches(
            "https://app.example.test:8443",
            None,
            None,
            true
        ));
        // Behind a proxy that rewrites Host, the configured public origin.
        let public = Some("https://app.example.test/");
        assert!(origin_matches(
            "https://app.example.test",
            public,
            Some("127.0.0.1:8080"),
            true
        ));
        assert!(!origin_matches(
            "http://127.0.0.1:8080",
            public,
            Some("127.0.0.1:8080"),
            true
        ));
    }

    #[test]
    fn the_csrf_token_is_bound_to_its_session() {
        let a = format!("rgt_{}", "a".repeat(64));
        let b = format!("rgt_{}", "b".repeat(64));
        let token = csrf_token(&a);
        assert_eq!(token.len(), 64);
        assert_eq!(token, csrf_token(&a), "derived, so stable");
        assert!(csrf_matches(&a, &token));
        assert!(csrf_matches(&a, &token.to_uppercase()), "hex either case");
        assert!(!csrf_matches(&b, &token), "another session's token");
        assert!(!csrf_matches(&a, ""));
        assert!(!csrf_matches(&a, &token[..62]));
        assert!(!csrf_matches(&a, "not hex"));
        assert!(!token.contains(&a[4..12]), "the secret does not show");
    }
}
