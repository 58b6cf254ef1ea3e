//! The reference HTTP server: thin handlers over the core. Each handler
//! parses, calls one core operation, and maps the result; errors are
//! problem+json in one place ([`problem`]).

pub mod auth;
pub mod browser;
pub mod dns;
pub mod health;
pub mod limits;
pub mod live;
pub mod mail;
pub mod openapi;
pub mod page;
pub mod problem;
pub mod routes;
pub mod sign_in;
pub mod sites;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use regentra_core::Regentra;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use self::limits::LoginLimiter;
use self::live::ChatHub;
use self::problem::Problem;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub regentra: Arc<Regentra>,
    pub limiter: Arc<LoginLimiter>,
    /// Limits password reset requests per email and client address
    /// (`routes::password_reset::reset_limits`).
    pub reset_limiter: Arc<LoginLimiter>,
    pub chat: ChatHub,
    /// A hash (at the configured cost) to check a password against when the
    /// email is unknown, so a failed login costs the same either way.
    pub decoy_hash: Arc<str>,
    /// Resolves portal host name challenges (TXT); `None` if no resolver
    /// could be built, and verification then answers 503.
    pub dns: Option<dns::Dns>,
    /// The server's address as people reach it (`--public-url`), without
    /// a trailing slash: links in emails and pages start with it.
    pub public_url: Arc<str>,
    /// Whether the server is served over https: the session cookie is then
    /// `Secure` and named with the `__Host-` prefix, and a request's
    /// `Origin` must be https (see [`browser`]).
    pub cookie_secure: bool,
    /// The server's public origin (`https://app.example.com`), when known:
    /// what a cookie request's `Origin` must be. `None`: the scheme (from
    /// `cookie_secure`) and the request's `Host`, which a proxy must then
    /// pass on unchanged.
    pub public_origin: Option<String>,
    /// Which host is which site: the server's own address, or a client
    /// portal's own host name, which serves that portal only
    /// ([`sites::only_the_portal`]).
    pub sites: Arc<sites::Sites>,
    /// Set when the process starts shutting down: `/readyz` then answers
    /// 503 so a load balancer sends new requests elsewhere.
    pub drain: Drain,
}

impl AppState {
    pub fn new(regentra: Arc<Regentra>) -> Self {
        let decoy_hash = regentra
            .hash_password("decoy password for timing")
            .unwrap_or_default()
            .into();
        Self {
            decoy_hash,
            limiter: Arc::new(LoginLimiter::standard(Arc::clone(&regentra))),
            reset_limiter: Arc::new(routes::password_reset::reset_limiter(Arc::clone(&regentra))),
            chat: ChatHub::new(Arc::clone(&regentra)),
            dns: dns::Dns::new(None).ok(),
            public_url: format!("http://{}", default_listen()).into(),
            cookie_secure: false,
            public_origin: None,
            sites: Arc::new(sites::Sites::new(&format!("http://{}", default_listen()))),
            drain: Drain::default(),
            regentra,
        }
    }

    /// The state with this public URL. An https URL means the server is
    /// reached over https (directly or through a proxy that terminates
    /// TLS), so the session cookie is `Secure` ([`AppState::cookie_secure`]).
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = url.trim_end_matches('/').into();
        self.sites = Arc::new(sites::Sites::new(url));
        self.cookie_secure = url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        self
    }

    /// The state with this drain: the one the server's shutdown starts
    /// ([`serve_draining`]) and the worker watches.
    pub fn with_drain(mut self, drain: Drain) -> Self {
        self.drain = drain;
        self
    }

    /// The state with this resolver for portal host name challenges.
    pub fn with_dns(mut self, dns: dns::Dns) -> Self {
        self.dns = Some(dns);
        self
    }
}

/// How the HTTP layer behaves.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Origins allowed to call the API from a browser; none means CORS is off.
    pub cors_origins: Vec<String>,
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// JSON bodies larger than this are refused (evidence uploads stream and
/// have their own, larger limit: the core's evidence limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole API, with its OpenAPI document at `/v1/openapi.json`.
pub fn router(state: AppState, config: &HttpConfig) -> Result<Router, String> {
    let (api, spec) = routes::api().split_for_parts();
    let mut app = api
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let spec = spec.clone();
                async move { axum::Json(spec) }
            }),
        )
        .merge(crate::web::routes())
        .merge(health::routes())
        .fallback(crate::web::fallback)
        .with_state(state.clone())
        // A client portal's own host name serves that portal only: one
        // rule for every route, before any of them runs.
        .layer(middleware::from_fn_with_state(
            state,
            sites::only_the_portal,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A bug that panics answers 500 (as a problem, below) instead of
        // dropping the connection; the panic is logged.
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(problem_bodies))
        .layer(middleware::from_fn_with_state(
            config.request_timeout,
            request_deadline,
        ));
    if let Some(cors) = cors(&config.cors_origins)? {
        app = app.layer(cors);
    }
    Ok(app
        .layer(middleware::from_fn(security_headers))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // The path only: a query may carry a token (WebSocket).
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(middleware::from_fn(drop_unsafe_request_id)))
}

/// A client's `x-request-id` is kept only when it is a short safe token
/// (`regentra_core::audit::is_safe_request_id`); otherwise (too long,
/// quotes, spaces, several of them) it is dropped here, before the
/// request-id layer, which then makes a fresh one. Logs, the response and
/// the audit trail all carry the id that was used.
async fn drop_unsafe_request_id(mut request: Request, next: Next) -> Response {
    let ids = request.headers().get_all(REQUEST_ID);
    let mut values = ids.iter();
    let safe = match (values.next(), values.next()) {
        (Some(id), None) => id
            .to_str()
            .is_ok_and(regentra_core::audit::is_safe_request_id),
        (None, _) => true,
        _ => false,
    };
    if !safe {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

/// The content security policy of the HTML pages (the portal): scripts
/// only from this origin (the page has no inline script), inline styles
/// for the tenant's colors, images from https, never framed.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src https: 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of everything else (JSON, problems, the portal's script):
/// nothing to load, never framed.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Every response, HTML pages above all, says it may not be framed
/// (clickjacking), sniffed into another type, or leak its URL as a
/// referrer: one layer, so no handler can forget.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if html { PAGE_CSP } else { API_CSP }),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser
    // sends `Origin: null` on the page's own form posts, which the CSRF
    // origin check must refuse (a sandboxed frame elsewhere sends it too).
    // No other site ever gets a referrer, so tokens in a page's URL (an
    // invitation or reset link) still never leave it.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// CORS only for the configured origins; none configured, none allowed.
fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| {
            HeaderValue::from_str(o).map_err(|_| format!("--cors-origin: {o:?} is not an origin"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([REQUEST_ID])
            .max_age(Duration::from_secs(600)),
    ))
}

/// How many request timeouts an upload of files may take: a 10 MiB file
/// over a slow line (2 Mbit/s) needs about 40 seconds.
const UPLOAD_DEADLINE_FACTOR: u32 = 10;

/// Ends a request that runs past its deadline with 408: the configured
/// timeout, or ten times it for a request that carries files (a portal
/// form with attachments, a ticket file, an evidence file), whose body a
/// person's line may take minutes to send. An abandoned upload loses
/// nothing: the handlers run uploads in tasks of their own, which commit
/// or remove what they staged.
async fn request_deadline(
    axum::extract::State(timeout): axum::extract::State<Duration>,
    request: Request,
    next: middleware::Next,
) -> Response {
    let deadline = if carries_files(&request) {
        timeout * UPLOAD_DEADLINE_FACTOR
    } else {
        timeout
    };
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// Whether a request uploads files: a multipart form, or a file body posted
/// to a ticket's attachments or the evidence files.
fn carries_files(request: &Request) -> bool {
    if request.method() != axum::http::Method::POST && request.method() != axum::http::Method::PUT {
        return false;
    }
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let path = request.uri().path();
    multipart
        || path.ends_with("/attachments")
        || path.ends_with("/evidence/files")
        || path.ends_with("/portal/logo")
}

/// Error responses axum or tower make on their own (405, 408, a failed
/// upgrade) come with an empty or plain body; give them a problem body.
/// Pages keep theirs.
async fn problem_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // A problem already, or a page (the web layer's error pages).
    let has_body = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/problem+json")
                || v.as_bytes().starts_with(b"text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || has_body {
        return response;
    }
    let (slug, title) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "Request timeout"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Request body too large"),
        _ if status.is_server_error() => ("internal", "Internal error"),
        _ => ("bad-request", "Bad request"),
    };
    let detail = status.canonical_reason().unwrap_or("error").to_lowercase();
    let mut problem = Problem::new(status, slug, title, detail).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        problem.headers_mut().insert(header::ALLOW, allow.clone());
    }
    problem
}

/// Serves until Ctrl-C or SIGTERM, letting requests in flight finish.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    serve_until(listener, app, shutdown_signal()?).await
}

/// Serves, with the peer's address for the handlers that read it (login
/// rate limits), until `shutdown` resolves, letting requests in flight finish.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Whether the process is shutting down. Cheap to clone; clones share one
/// state. Started once, it stays started.
#[derive(Debug, Clone)]
pub struct Drain(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Drain {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Drain {
    /// Starts the drain: readiness fails, the worker takes no new org.
    pub fn start(&self) {
        self.0.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the drain has started.
    pub async fn started(&self) {
        let mut watch = self.0.subscribe();
        // The sender lives in `self`, so the wait ends only by the drain.
        let _ = watch.wait_for(|draining| *draining).await;
    }
}

/// Serves like [`serve_until`], in two steps once `shutdown` resolves: the
/// drain starts (`/readyz` answers 503, the worker finishes the org it is
/// sweeping and takes no new one) while requests are still served for
/// `grace`, long enough for a load balancer's readiness checks to take the
/// process out of rotation; then the listener closes and requests in
/// flight finish.
pub async fn serve_draining(
    listener: tokio::net::TcpListener,
    app: Router,
    drain: Drain,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = async move {
        shutdown.await;
        drain.start();
        if !grace.is_zero() {
            tracing::info!(
                seconds = grace.as_secs_f64(),
                "draining: /readyz answers 503 while load balancers notice"
            );
            tokio::time::sleep(grace).await;
        }
    };
    serve_until(listener, app, stop).await
}

/// Resolves on the first Ctrl-C or SIGTERM. The handlers are installed by
/// this call, not when the future is first polled, so a signal that comes
/// right after it (as soon as the server says it listens) is not missed.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
        }
    };
    #[cfg(not(unix))]
    let signals = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Ok(async move {
        signals.await;
        tracing::info!("shutting down: finishing requests in flight");
    })
}

/// The address the server listens on by default.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, content_type: Option<&str>) -> Request {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        builder.body(axum::body::Body::empty()).expect("a request")
    }

    #[test]
    fn only_uploads_of_files_get_the_longer_deadline() {
        let uploads = [
            request(
                "POST",
                "/portal/acme/tickets/new",
                Some("multipart/form-data; boundary=x"),
            ),
            request("POST", "/v1/orgs/o/tickets/t/attachments", None),
            request("POST", "/v1/orgs/o/evidence/files", None),
            request("PUT", "/v1/orgs/o/portal/logo", Some("image/png")),
        ];
        for r in &uploads {
            assert!(carries_files(r), "{}", r.uri());
        }
        let others = [
            request("GET", "/v1/orgs/o/tickets/t/attachments", None),
            request("POST", "/v1/orgs/o/tickets", Some("application/json")),
            request(
                "POST",
                "/sign-in",
                Some("application/x-www-form-urlencoded"),
            ),
        ];
        for r in &others {
            assert!(!carries_files(r), "{} {}", r.method(), r.uri());
        }
    }
}
