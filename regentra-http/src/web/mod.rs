//! The web layer: server-rendered pages for people in a browser, beside
//! the JSON API. Pages are askama templates under `templates/web/` (HTML
//! escaped by default) extending one layout (a header with the product or
//! the org's name, the page, a footer), styled by one stylesheet served at
//! `/assets/app.css`. They run no inline script (the page CSP forbids it)
//! and work without JavaScript: forms post and redirect (post, redirect,
//! get).
//!
//! A signed-in browser holds the session cookie ([`crate::server::browser`]);
//! a form that changes anything carries the session's CSRF token in a
//! hidden field ([`CsrfField`]) and is read through [`SessionForm`], which
//! checks it. Errors of page routes are pages too ([`error_page`]), not
//! problem documents.

pub mod account;
pub mod accounts;
pub mod console;
pub mod display;
pub mod markdown;
pub mod portal;
pub mod sign_in;
pub mod signing;
pub mod upload;

use std::fmt;
use std::sync::OnceLock;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use regentra_core::{Error, Principal};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::server::AppState;
use crate::server::auth::request_meta;
use crate::server::browser;

/// The product's name, in the header of pages that belong to no org.
pub const PRODUCT: &str = "Regentra";

/// The stylesheet, compiled in.
const STYLESHEET: &str = include_str!("app.css");

/// The page routes (merged into the server's router).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/app.css", get(stylesheet))
        .route("/assets/chat.js", get(portal::chat::script))
        .route("/assets/portal-tickets.js", get(portal_tickets_script))
        .merge(sign_in::routes())
        .merge(account::routes())
        .merge(accounts::routes())
        .merge(signing::routes())
        .merge(portal::routes())
        .merge(console::routes())
}

/// A short hash of the stylesheet: pages link `/assets/app.css?v=<it>`, so
/// a new release's stylesheet is fetched at once despite caching.
pub fn asset_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| short_hash(STYLESHEET))
}

/// `GET /assets/app.css`: cached for a day, revalidated by its `ETag`.
async fn stylesheet(headers: HeaderMap) -> Response {
    static_asset(
        &headers,
        STYLESHEET,
        asset_version(),
        "text/css; charset=utf-8",
    )
}

/// A file compiled into the server (`body`, whose short hash is `version`)
/// served with a day's cache and revalidated by its `ETag`; pages link it
/// with `?v=<version>`, so a new release's file is fetched at once.
pub(crate) fn static_asset(
    headers: &HeaderMap,
    body: &'static str,
    version: &str,
    content_type: &'static str,
) -> Response {
    let etag = format!("\"{version}\"");
    let cache = [
        (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
        (header::ETAG, etag.clone()),
    ];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        StatusCode::OK,
        cache,
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

/// A short hash of a compiled-in file, for its `?v=` and `ETag`.
pub(crate) fn short_hash(body: &str) -> String {
    hex::encode(&Sha256::digest(body.as_bytes())[..6])
}

/// `GET /assets/portal-tickets.js`: the ticket pages' script, cached like
/// the stylesheet (pages link it with its hash).
async fn portal_tickets_script(headers: HeaderMap) -> Response {
    static_asset(
        &headers,
        portal::tickets::SCRIPT,
        portal::tickets::script_version(),
        "text/javascript; charset=utf-8",
    )
}

/// What the layout shows around every page.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's own title (the browser tab shows it with the brand).
    pub title: String,
    /// The product's name, or the org's display name on its pages.
    pub brand: String,
    /// The session's CSRF token, for scripts of the page (`<meta
    /// name="csrf-token">`); forms use [`CsrfField`].
    pub csrf_token: Option<String>,
    /// The org's colors as CSS variables (`--brand`, `--accent`).
    pub brand_style: Option<String>,
    pub asset_version: &'static str,
}

impl Chrome {
    /// A page of the product itself.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            brand: PRODUCT.to_owned(),
            csrf_token: None,
            brand_style: None,
            asset_version: asset_version(),
        }
    }

    /// For a signed-in page: the CSRF token of the session `secret`.
    pub fn with_session(mut self, secret: &str) -> Self {
        self.csrf_token = Some(browser::csrf_token(secret));
        self
    }

    /// An org's page: its display name and colors. Colors that are not
    /// `#rrggbb` (the portal settings store no other) are left out.
    pub fn branded(mut self, name: &str, primary: Option<&str>, accent: Option<&str>) -> Self {
        self.brand = name.to_owned();
        let vars: Vec<String> = [("--brand", primary), ("--accent", accent)]
            .into_iter()
            .filter_map(|(var, color)| {
                color
                    .filter(|c| is_hex_color(c))
                    .map(|c| format!("{var}: {c}"))
            })
            .collect();
        self.brand_style = (!vars.is_empty()).then(|| vars.join("; "));
        self
    }
}

pub(crate) fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|d| d.is_ascii_hexdigit())
}

/// The hidden field that carries the session's CSRF token in a form:
/// `{{ csrf_field|safe }}` in a template (the token is hex, nothing to
/// escape).
#[derive(Debug, Clone)]
pub struct CsrfField(String);

impl CsrfField {
    /// The field of the session whose secret is `secret`.
    pub fn of(secret: &str) -> Self {
        Self(browser::csrf_token(secret))
    }
}

impl fmt::Display for CsrfField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            r#"<input type="hidden" name="{}" value="{}">"#,
            browser::CSRF_FIELD,
            self.0
        )
    }
}

/// A rendered page with `status`, never stored by caches (pages are
/// personal, and some carry a token in a hidden field). A template that
/// fails to render (a bug) is logged and answered with a plain 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

/// An error as a page in the layout (a branded 404 rather than JSON).
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    render(
        status,
        &ErrorPage {
            chrome: Chrome::new(heading),
            status: status.as_u16(),
            heading,
            message,
        },
    )
}

/// The page for a path that names nothing.
pub fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address. Check the link, or start again from the start page.",
    )
}

/// The answer for a path no route serves: a page for a browser asking
/// for one outside the API, the problem document otherwise.
pub async fn fallback(uri: Uri, headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && !uri.path().starts_with("/v1/") {
        not_found()
    } else {
        crate::server::routes::no_route().await.into_response()
    }
}

/// A local path to go to after signing in: `next` when it is a path on
/// this server (`/...`, not `//host` or `/\host`, which browsers read as
/// another host, and no control characters), else `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 2048
                && !path.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A redirect to the sign-in page that comes back to `back_to`.
pub fn to_sign_in(back_to: &str) -> Response {
    let query =
        serde_urlencoded::to_string([("next", local_path(Some(back_to)))]).unwrap_or_default();
    Redirect::to(&format!("/sign-in?{query}")).into_response()
}

/// A form posted by a signed-in browser: the session's caller, its secret,
/// and the form's fields (`T`, which ignores the `csrf_token` field).
/// Refused before any handler runs: without a live session, a redirect to
/// the sign-in page (a portal's own for a portal's form, saying the
/// session expired), coming back here, that clears the cookie; from
/// another origin or without the session's CSRF token, a 403 page.
#[derive(Debug)]
pub struct SessionForm<T> {
    pub caller: Principal,
    pub secret: String,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SessionForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        // A portal's form sends the person to the portal's own sign-in.
        let signed_out = || {
            let mut response = portal::sign_in_for(parts.uri.path(), Some("expired"))
                .unwrap_or_else(|| to_sign_in(parts.uri.path()));
            response
                .headers_mut()
                .insert(header::SET_COOKIE, browser::clear_cookie(state));
            response
        };
        let Some(secret) = browser::session_secret(&parts.headers, state) else {
            return Err(signed_out());
        };
        if !browser::origin_is_ours(&parts.headers, state) {
            return Err(forbidden());
        }
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let token = serde_urlencoded::from_bytes::<CsrfOnly>(&bytes)
            .map(|f| f.csrf_token)
            .unwrap_or_default();
        if !browser::csrf_matches(&secret, &token) {
            return Err(forbidden());
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            error_page(
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                &e.to_string(),
            )
        })?;
        let caller = match state.authenticate(&parts.headers, &secret).await {
            Ok(caller) => caller.with_request(request_meta(&parts)).for_one_request(),
            Err(Error::Unauthenticated) => return Err(signed_out()),
            Err(e) => return Err(crate::server::problem::ApiError::from(e).into_response()),
        };
        Ok(SessionForm {
            caller,
            secret,
            form,
        })
    }
}

/// The page of a refused cross-site or token-less form post.
pub(crate) fn forbidden() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this site's own page, or its security token is missing or \
         out of date. Go back, reload the page and try again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_local_path() {
        for ok in ["/", "/orgs/1?tab=members", "/a/b#c"] {
            assert_eq!(local_path(Some(ok)), ok);
        }
        for bad in [
            "https://evil.test/",
            "//evil.test",
            "/\\evil.test",
            "\\\\evil.test",
            "javascript:alert(1)",
            "evil.test",
            "/ok\r\nSet-Cookie: x=1",
            "/\tevil",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn the_csrf_field_is_a_hidden_input_with_the_sessions_token() {
        let secret = format!("rgt_{}", "c".repeat(64));
        let field = CsrfField::of(&secret).to_string();
        assert_eq!(
            field,
            format!(
                r#"<input type="hidden" name="csrf_token" value="{}">"#,
                browser::csrf_token(&secret)
            )
        );
    }

    #[test]
    fn only_hex_colors_become_css_variables() {
        let chrome = Chrome::new("x").branded("Acme", Some("#0a1b2c"), Some("red;}"));
        assert_eq!(chrome.brand, "Acme");
        assert_eq!(chrome.brand_style.as_deref(), Some("--brand: #0a1b2c"));
        assert_eq!(
            Chrome::new("x").branded("Acme", None, None).brand_style,
            None
        );
    }
}
