//! Which site a request is for, by the host it names: the server's own
//! address, or a client portal's own verified host name; and the rule that
//! a portal's host name serves that portal and nothing else.
//!
//! A client's host name is the client's: its DNS, and perhaps a proxy that
//! terminates TLS for it and sees every request and cookie. So what is
//! served there must be what the client may see anyway, the portal, and
//! never the product: no API but the portal chat's, no product sign-in
//! (where MSP staff would type their password on the client's domain), no
//! account pages, no other client's portal. [`only_the_portal`] holds that
//! for every route, present and future, by allowing a short list
//! ([`PortalHost::serves`]) rather than refusing a long one; anything else
//! is the portal's branded 404 page (a problem for `/v1/` paths).
//!
//! A session started on a portal's host name is bound to it
//! (`regentra_core::auth::ApiToken::portal_host`): [`AppState::authenticate`]
//! passes the request's site to the core, which refuses the token
//! anywhere else, and the server's own sessions on the portal's host. The
//! session cookie is host-only (no `Domain`, see [`super::browser`]), so
//! browsers keep the two apart too.
//!
//! Looking a host up costs a few store reads, so answers are remembered
//! for [`REMEMBER_FOR`] in this process (at most [`REMEMBERED_HOSTS`]
//! hosts), and forgotten at once when this process changes a portal's
//! settings or host name ([`Sites::forget`]). Another server process on
//! the same store sees such a change within [`REMEMBER_FOR`]. A host name
//! that is not a host name at all (an IP address, the server's own
//! `--public-url` host) is never looked up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regentra_core::portal::{PublicPortal, host_of_request};
use regentra_core::{Error, Principal, Regentra};

use super::AppState;
use super::problem::ApiError;

/// How long an answer about a host is used before it is looked up again.
pub const REMEMBER_FOR: Duration = Duration::from_secs(10);

/// How many hosts' answers are kept (a request may name any host: past
/// this the expired ones go, then all).
pub const REMEMBERED_HOSTS: usize = 1024;

/// A client portal's own verified host name, and the portal served there.
#[derive(Debug, Clone, PartialEq)]
pub struct PortalHost {
    /// As [`host_of_request`] writes it: lower case, no port.
    pub host: String,
    pub portal: PublicPortal,
}

impl PortalHost {
    /// Whether this host serves `path`: `/` (which leads to the portal),
    /// the portal's own pages (`/portal/{slug}` and below), the static
    /// files under `/assets/`, and the three API paths the portal's chat
    /// script uses for a chat of the portal's org (the chat, its messages,
    /// its socket). The API still authorizes each of those.
    pub fn serves(&self, path: &str) -> bool {
        if path == "/" || path.starts_with("/assets/") {
            return true;
        }
        if let Some(rest) = path.strip_prefix("/portal/") {
            let slug = rest.split('/').next().unwrap_or_default();
            return slug == self.portal.slug;
        }
        self.is_portal_chat_api(path)
    }

    fn is_portal_chat_api(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix("/v1/orgs/") else {
            return false;
        };
        let org = self.portal.org.to_string();
        let mut parts = rest.split('/');
        parts.next() == Some(org.as_str())
            && parts.next() == Some("chats")
            && parts.next().is_some_and(|chat| !chat.is_empty())
            && matches!(
                (parts.next(), parts.next()),
                (None, _) | (Some("messages" | "ws"), None)
            )
    }
}

/// The site a request is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Site {
    /// The server's own address (any host that is not a portal's verified
    /// host name): everything is served, as it always was.
    Own,
    /// A client portal's own host name: only that portal.
    Portal(Arc<PortalHost>),
    /// A client's verified host name where no portal is served now (the
    /// portal is off, or the client offboarded): nothing at all, since
    /// the name, its DNS and its proxy are the client's.
    Closed(String),
}

impl Site {
    /// The portal's host name, for a session bound to it (`None` on the
    /// server's own address).
    pub fn portal_host(&self) -> Option<&str> {
        match self {
            Site::Own => None,
            Site::Portal(at) => Some(at.host.as_str()),
            Site::Closed(host) => Some(host.as_str()),
        }
    }
}

/// The request's host: its `Host` header (HTTP/2 carries it in the URI's
/// authority, which [`only_the_portal`] copies there first).
pub fn host_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

/// What this process knows of which host is which site.
#[derive(Debug)]
pub struct Sites {
    /// The host of `--public-url`: the server's own, never looked up.
    own: Option<String>,
    known: Mutex<HashMap<String, Known>>,
}

#[derive(Debug, Clone)]
struct Known {
    at: Instant,
    site: Site,
}

impl Sites {
    /// The sites of a server whose own address is `public_url`.
    pub fn new(public_url: &str) -> Self {
        let authority = public_url
            .split_once("://")
            .map_or(public_url, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default();
        Self {
            own: host_of_request(authority),
            known: Mutex::default(),
        }
    }

    /// The site a request whose `Host` is `host` is for. A store failure
    /// is an error, never the server's own site: what a portal's host
    /// serves must not widen because a lookup failed.
    pub async fn at(&self, regentra: &Regentra, host: Option<&str>) -> Result<Site, Error> {
        let Some(host) = host.and_then(host_of_request) else {
            return Ok(Site::Own);
        };
        if self.own.as_deref() == Some(host.as_str()) {
            return Ok(Site::Own);
        }
        if let Some(known) = self.remembered(&host) {
            return Ok(known);
        }
        let site = match regentra.portal_by_hostname(&host).await? {
            Some(portal) => Site::Portal(Arc::new(PortalHost {
                host: host.clone(),
                portal,
            })),
            None if regentra.is_portal_hostname(&host).await? => Site::Closed(host.clone()),
            None => Site::Own,
        };
        self.remember(host, site.clone());
        Ok(site)
    }

    /// Forgets every answer: this process changed a portal's settings or
    /// host name, and the next request looks its host up again.
    pub fn forget(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        // A panic while holding it leaves nothing half-written worth
        // refusing: every entry is whole.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remembered(&self, host: &str) -> Option<Site> {
        self.lock()
            .get(host)
            .filter(|k| k.at.elapsed() < REMEMBER_FOR)
            .map(|k| k.site.clone())
    }

    fn remember(&self, host: String, site: Site) {
        let mut known = self.lock();
        if known.len() >= REMEMBERED_HOSTS && !known.contains_key(&host) {
            known.retain(|_, k| k.at.elapsed() < REMEMBER_FOR);
            if known.len() >= REMEMBERED_HOSTS {
                known.clear();
            }
        }
        known.insert(
            host,
            Known {
                at: Instant::now(),
                site,
            },
        );
    }
}

impl AppState {
    /// The site of a request with these headers.
    pub async fn site(&self, headers: &HeaderMap) -> Result<Site, Error> {
        self.sites.at(&self.regentra, host_header(headers)).await
    }

    /// The caller behind a token or session secret, on the site the
    /// request is for: a session started on a portal's host name works
    /// only there, and the server's own only on the server's own address.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        secret: &str,
    ) -> Result<Principal, Error> {
        self.authenticate_at_host(host_header(headers), secret)
            .await
    }

    /// [`AppState::authenticate`] for a request whose `Host` was `host`
    /// (a WebSocket checking its token again long after its request).
    pub async fn authenticate_at_host(
        &self,
        host: Option<&str>,
        secret: &str,
    ) -> Result<Principal, Error> {
        let site = self.sites.at(&self.regentra, host).await?;
        self.regentra
            .authenticate_at(secret, site.portal_host())
            .await
    }
}

/// The layer that holds a portal's host name to its portal: requests to
/// the server's own address pass untouched; on a portal's verified host
/// name only what [`PortalHost::serves`] allows reaches a handler, and
/// anything else is the portal's 404 page (a problem under `/v1/`).
pub async fn only_the_portal(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    // HTTP/2 names the host in the URI: put it where every check reads it.
    if !request.headers().contains_key(header::HOST)
        && let Some(authority) = request.uri().authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(header::HOST, value);
    }
    let site = match state.site(request.headers()).await {
        Ok(site) => site,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match site {
        Site::Own => next.run(request).await,
        Site::Portal(at) if at.serves(request.uri().path()) => next.run(request).await,
        Site::Closed(_) => {
            let path = request.uri().path();
            if path == "/v1" || path.starts_with("/v1/") {
                crate::server::routes::no_route().await.into_response()
            } else {
                (StatusCode::NOT_FOUND, "Not found").into_response()
            }
        }
        Site::Portal(at) => {
            let path = request.uri().path();
            if path == "/v1" || path.starts_with("/v1/") {
                crate::server::routes::no_route().await.into_response()
            } else {
                crate::web::portal::page_not_found(&crate::web::portal::PortalView::of(
                    at.portal.clone(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regentra_core::ids::OrgId;
    use regentra_core::portal::Branding;

    fn acme() -> PortalHost {
        PortalHost {
            host: "help.acme.test".to_owned(),
            portal: PublicPortal {
                org: OrgId(uuid::Uuid::from_u128(7)),
                slug: "acme".to_owned(),
                branding: Branding::default(),
                show_compliance_dashboard: false,
                show_assets: false,
            },
        }
    }

    #[test]
    fn a_portal_host_serves_its_portal_its_assets_and_its_chat_api_only() {
        let at = acme();
        let org = at.portal.org;
        let chat = "0190a0a0-0000-7000-8000-000000000001";
        for served in [
            "/".to_owned(),
            "/portal/acme".to_owned(),
            "/portal/acme/".to_owned(),
            "/portal/acme/tickets/new".to_owned(),
            "/portal/acme/forgot-password".to_owned(),
            "/assets/app.css".to_owned(),
            "/assets/chat.js".to_owned(),
            format!("/v1/orgs/{org}/chats/{chat}"),
            format!("/v1/orgs/{org}/chats/{chat}/messages"),
            format!("/v1/orgs/{org}/chats/{chat}/ws"),
        ] {
            assert!(at.serves(&served), "{served}");
        }
        let other = OrgId(uuid::Uuid::from_u128(8));
        for refused in [
            "".to_owned(),
            "/v1/orgs".to_owned(),
            "/v1/me".to_owned(),
            "/v1/auth/login".to_owned(),
            "/v1/openapi.json".to_owned(),
            "/sign-in".to_owned(),
            "/account".to_owned(),
            "/forgot-password".to_owned(),
            "/invite".to_owned(),
            "/app".to_owned(),
            "/healthz".to_owned(),
            "/metrics".to_owned(),
            "/portal".to_owned(),
            "/portal/".to_owned(),
            "/portal/acme-other".to_owned(),
            "/portal/other/sign-in".to_owned(),
            "/portal/%61cme".to_owned(),
            "//portal/acme".to_owned(),
            "/assets".to_owned(),
            format!("/v1/orgs/{other}/chats/{chat}"),
            format!("/v1/orgs/{org}/chats"),
            format!("/v1/orgs/{org}/chats/"),
            format!("/v1/orgs/{org}/chats/{chat}/close"),
            format!("/v1/orgs/{org}/chats/{chat}/messages/x"),
            format!("/v1/orgs/{org}/tickets"),
            format!("/v1/orgs/{org}/portal"),
        ] {
            assert!(!at.serves(&refused), "{refused}");
        }
    }

    #[test]
    fn the_servers_own_host_is_never_looked_up() {
        for url in [
            "https://app.example.test",
            "https://App.Example.Test:8443/",
            "app.example.test",
        ] {
            assert_eq!(
                Sites::new(url).own.as_deref(),
                Some("app.example.test"),
                "{url}"
            );
        }
        assert_eq!(Sites::new("http://127.0.0.1:8080").own, None);
    }

    #[test]
    fn answers_are_remembered_up_to_a_bound() {
        let sites = Sites::new("https://app.example.test");
        let acme = Arc::new(acme());
        sites.remember("help.acme.test".to_owned(), Site::Portal(acme.clone()));
        assert_eq!(sites.remembered("help.acme.test"), Some(Site::Portal(acme)));
        assert_eq!(sites.remembered("other.test"), None, "never asked");
        for i in 0..REMEMBERED_HOSTS + 10 {
            sites.remember(format!("h{i}.test"), Site::Own);
        }
        assert!(sites.lock().len() <= REMEMBERED_HOSTS);
        sites.forget();
        assert!(sites.lock().is_empty());
    }
}
