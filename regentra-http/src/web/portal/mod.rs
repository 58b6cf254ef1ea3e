//! The client portal: a client's branded service desk at `/portal/{slug}`
//! (and at the root of its verified host name, which redirects here).
//!
//! Every page resolves the portal from its slug first: an unknown or
//! disabled portal is a 404 page. Pages for signed-in people then go
//! through [`signed_in`], which turns the session cookie into the caller
//! and checks that the caller acts in the portal's org: a person of
//! another client is told so, never shown this client's data. The pages
//! call the same core operations as the API; no rule lives here.

pub mod assets;
pub mod chat;
pub mod compliance;
pub mod home;
pub mod kb;
pub mod password_reset;
pub mod policies;
pub mod sign_in;
pub mod tickets;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use regentra_core::portal::PublicPortal;
use regentra_core::sla::Tz;
use regentra_core::{Error, Principal};
use serde::de::DeserializeOwned;

use super::{Chrome, CsrfField, render};
use crate::server::auth::request_meta;
use crate::server::{AppState, browser};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{slug}", get(home::page))
        .route(
            "/portal/{slug}/sign-in",
            get(sign_in::page).post(sign_in::submit),
        )
        .route("/portal/{slug}/sign-in/code", post(sign_in::submit_code))
        .route(
            "/portal/{slug}/forgot-password",
            get(password_reset::forgot_page).post(password_reset::request),
        )
        .route(
            "/portal/{slug}/reset-password",
            get(password_reset::reset_page).post(password_reset::confirm),
        )
        .route("/portal/{slug}/sign-out", post(sign_in::sign_out))
        .route("/portal/{slug}/favicon.svg", get(favicon))
        .route(
            "/portal/{slug}/chat",
            get(chat::start_page).post(chat::start),
        )
        .route("/portal/{slug}/chat/{chat_id}", get(chat::page))
        .route("/portal/{slug}/chat/{chat_id}/messages", post(chat::send))
        .route(
            "/portal/{slug}/chat/{chat_id}/ticket",
            post(chat::leave_as_ticket),
        )
        .route("/portal/{slug}/chat/{chat_id}/close", post(chat::close))
        .route("/portal/{slug}/logo", get(logo))
        .route("/assets/portal-forms.js", get(forms_script))
        .route("/portal/{slug}/kb", get(kb::list))
        .route("/portal/{slug}/kb/{article_id}", get(kb::article))
        .route(
            "/portal/{slug}/kb/{article_id}/feedback",
            post(kb::feedback),
        )
        .route("/portal/{slug}/policies", get(policies::list))
        .route(
            "/portal/{slug}/policies/{campaign_id}",
            get(policies::page).post(policies::sign),
        )
        .route(
            "/portal/{slug}/policies/{campaign_id}/receipt",
            get(policies::receipt),
        )
        .route("/portal/{slug}/compliance", get(compliance::page))
        .route("/portal/{slug}/assets", get(assets::list))
        .merge(tickets::routes())
        .route("/portal/{slug}/{*rest}", get(not_found_in_portal))
}

/// What every portal page shows of the portal: its name, logo, colors,
/// and where its pages live.
#[derive(Debug, Clone)]
pub struct PortalView {
    pub slug: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub welcome_text: Option<String>,
    /// `/portal/{slug}`: every link of the portal starts here.
    pub base: String,
    pub show_compliance: bool,
    pub show_assets: bool,
    pub portal: PublicPortal,
}

impl PortalView {
    pub fn of(portal: PublicPortal) -> Self {
        let b = &portal.branding;
        Self {
            slug: portal.slug.clone(),
            name: b
                .display_name
                .clone()
                .unwrap_or_else(|| "Support portal".to_owned()),
            logo_url: b.logo_url.clone(),
            welcome_text: b.welcome_text.clone().filter(|t| !t.trim().is_empty()),
            base: format!("/portal/{}", portal.slug),
            show_compliance: portal.show_compliance_dashboard,
            show_assets: portal.show_assets,
            portal,
        }
    }

    /// The layout's chrome for a page of this portal titled `title`.
    pub fn chrome(&self, title: &str) -> Chrome {
        let b = &self.portal.branding;
        Chrome::new(title).branded(
            &self.name,
            b.primary_color.as_deref(),
            b.accent_color.as_deref(),
        )
    }

    /// The address of the script every portal page loads (where the
    /// focus goes when a page opens, busy buttons), with its version.
    pub fn forms_script(&self) -> String {
        format!("/assets/portal-forms.js?v={}", forms_script_version())
    }

    /// The portal's path for `rest` (`"tickets"` gives `/portal/x/tickets`).
    pub fn path(&self, rest: &str) -> String {
        if rest.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{}", self.base, rest.trim_start_matches('/'))
        }
    }
}

/// A signed-in person on a portal page: who they are, their session's
/// secret (for the CSRF field of forms) and the portal.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub caller: Principal,
    pub secret: String,
    pub name: String,
    pub email: String,
}

impl Visitor {
    pub fn csrf_field(&self) -> CsrfField {
        CsrfField::of(&self.secret)
    }
}

/// The navigation every signed-in page shows, with the current section
/// marked for assistive technology (`aria-current`).
#[derive(Debug, Clone)]
pub struct Nav {
    pub items: Vec<NavItem>,
    pub visitor_name: String,
    pub sign_out: String,
    pub csrf_field: CsrfField,
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

impl Nav {
    /// The portal's sections for `visitor`, `current` being the key of the
    /// section the page belongs to (`home`, `tickets`, `kb`, `policies`,
    /// `compliance`, `assets`, `chat`).
    pub fn new(view: &PortalView, visitor: &Visitor, current: &str) -> Self {
        let mut sections: Vec<(&'static str, &'static str, &'static str)> = vec![
            ("home", "Home", ""),
            ("tickets", "Tickets", "tickets"),
            ("chat", "Chat with us", "chat"),
            ("kb", "Knowledge base", "kb"),
            ("policies", "Policies", "policies"),
        ];
        if view.show_compliance {
            sections.push(("compliance", "Compliance", "compliance"));
        }
        if view.show_assets {
            sections.push(("assets", "Your assets", "assets"));
        }
        Self {
            items: sections
                .into_iter()
                .map(|(key, label, rest)| NavItem {
                    label,
                    href: view.path(rest),
                    current: key == current,
                })
                .collect(),
            visitor_name: visitor.name.clone(),
            sign_out: view.path("sign-out"),
            csrf_field: visitor.csrf_field(),
        }
    }
}

/// Times as the org's people read them, in its zone (the core's
/// [`regentra_core::Regentra::time_zone`]), with the zone's abbreviation:
/// `3 March 2026, 14:05 EST`.
pub fn local_time(zone: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&zone)
        .format("%-d %B %Y, %H:%M %Z")
        .to_string()
}

/// A day in the org's zone: `3 March 2026`.
pub fn local_date(zone: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&zone).format("%-d %B %Y").to_string()
}

/// The org's zone, UTC if it cannot be read (a page still shows, with
/// times that say they are UTC).
pub async fn zone_of(state: &AppState, view: &PortalView) -> Tz {
    match state.regentra.time_zone(view.portal.org).await {
        Ok(zone) => zone,
        Err(e) => {
            tracing::warn!(error = %e, "the org's time zone could not be read");
            Tz::UTC
        }
    }
}

/// The portal's page saying there is nothing at this address (an unknown
/// or hidden section, another org's record), with the navigation.
pub fn not_found_page(view: &PortalView, visitor: &Visitor, current: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        view,
        Some(Nav::new(view, visitor, current)),
        "Page not found",
        "There is nothing at this address. It may have been removed, or the link is not \
         complete. Use the menu to find your way.",
    )
}

/// Where a form of a portal page sends a browser whose session is gone:
/// the portal's own sign-in page, coming back to `path` (`None` when
/// `path` is not a portal page).
pub fn sign_in_for(path: &str, reason: Option<&str>) -> Option<Response> {
    let slug = path.strip_prefix("/portal/")?.split('/').next()?;
    if slug.is_empty() {
        return None;
    }
    let mut query = vec![("next", super::local_path(Some(path)))];
    if let Some(reason) = reason {
        query.push(("reason", reason.to_owned()));
    }
    let query = serde_urlencoded::to_string(query).unwrap_or_default();
    Some(Redirect::to(&format!("/portal/{slug}/sign-in?{query}")).into_response())
}

/// The enabled portal at `slug`, or the 404 page.
pub async fn portal(state: &AppState, slug: &str) -> Result<PortalView, Response> {
    match state.regentra.portal_by_slug(slug).await {
        Ok(Some(portal)) => Ok(PortalView::of(portal)),
        Ok(None) => Err(super::not_found()),
        Err(e) => Err(failed(&e)),
    }
}

/// The portal and the signed-in person for a page at `path`, or the
/// answer that replaces the page: the sign-in page (coming back to
/// `path`) without a session, the same with a notice when the session
/// has expired, and a page saying so when the person belongs to another
/// organization.
pub async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    slug: &str,
    path: &str,
) -> Result<(PortalView, Visitor), Response> {
    let view = portal(state, slug).await?;
    let Some(secret) = browser::session_secret(headers, state) else {
        return Err(to_portal_sign_in(&view, path, None));
    };
    // On the site of the request: a session of the portal's own host name
    // is not one here on the server's own address, nor the other way.
    let caller = match state.authenticate(headers, &secret).await {
        Ok(caller) => caller.for_one_request(),
        Err(Error::Unauthenticated) => {
            let mut response = to_portal_sign_in(&view, path, Some("expired"));
            response
                .headers_mut()
                .insert(header::SET_COOKIE, browser::clear_cookie(state));
            return Err(response);
        }
        Err(e) => return Err(failed(&e)),
    };
    let me = state.regentra.me(&caller).await.map_err(|e| failed(&e))?;
    let visitor = Visitor {
        caller,
        secret,
        name: me.account.display_name.clone(),
        email: me.account.email.clone(),
    };
    if !me.organizations.iter().any(|o| o.org.id == view.portal.org) {
        return Err(wrong_portal(&view, &visitor));
    }
    Ok((view, visitor))
}

/// A form posted from a page of this portal: the portal, the signed-in
/// person (their caller carrying the request's address and user agent for
/// the audit trail) and the form's fields. Refused like a page of
/// [`signed_in`] (the sign-in page coming back to `back_to`, the page of
/// the wrong organization), then, from another origin or without the
/// session's CSRF token, with the 403 page.
pub async fn signed_in_form<T: DeserializeOwned>(
    state: &AppState,
    slug: &str,
    back_to: &str,
    request: Request,
) -> Result<(PortalView, Visitor, T), Response> {
    let (parts, body) = request.into_parts();
    let (view, mut visitor) = signed_in(state, &parts.headers, slug, back_to).await?;
    if !browser::origin_is_ours(&parts.headers, state) {
        return Err(super::forbidden());
    }
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    #[derive(serde::Deserialize)]
    struct CsrfOnly {
        #[serde(default)]
        csrf_token: String,
    }
    let token = serde_urlencoded::from_bytes::<CsrfOnly>(&bytes)
        .map(|f| f.csrf_token)
        .unwrap_or_default();
    if !browser::csrf_matches(&visitor.secret, &token) {
        return Err(super::forbidden());
    }
    let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
        super::error_page(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            &e.to_string(),
        )
    })?;
    visitor.caller = visitor.caller.with_request(request_meta(&parts));
    Ok((view, visitor, form))
}

/// The portal's sign-in page, coming back to `next`; `reason` adds a
/// notice (`expired`).
pub fn to_portal_sign_in(view: &PortalView, next: &str, reason: Option<&str>) -> Response {
    let mut query = vec![("next", super::local_path(Some(next)))];
    if let Some(reason) = reason {
        query.push(("reason", reason.to_owned()));
    }
    let query = serde_urlencoded::to_string(query).unwrap_or_default();
    Redirect::to(&format!("{}?{query}", view.path("sign-in"))).into_response()
}

#[derive(Template)]
#[template(path = "web/portal/message.html")]
struct MessagePage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    heading: String,
    message: String,
    /// A form to sign out (for a person signed in on the wrong portal).
    sign_out: Option<(String, CsrfField)>,
}

/// A page of this portal that says one thing, with `status`.
pub fn message(
    status: StatusCode,
    view: &PortalView,
    nav: Option<Nav>,
    heading: &str,
    text: &str,
) -> Response {
    render(
        status,
        &MessagePage {
            chrome: view.chrome(heading),
            view: view.clone(),
            nav,
            heading: heading.to_owned(),
            message: text.to_owned(),
            sign_out: None,
        },
    )
}

/// A person signed in with an account that does not act in this
/// portal's organization: told so (their own organization is not named:
/// this portal's owner has no business knowing it), and offered to sign
/// out and in with the right account.
fn wrong_portal(view: &PortalView, visitor: &Visitor) -> Response {
    render(
        StatusCode::FORBIDDEN,
        &MessagePage {
            chrome: view
                .chrome("Not your organization's portal")
                .with_session(&visitor.secret),
            view: view.clone(),
            nav: None,
            heading: "This is not your organization's portal".to_owned(),
            message: format!(
                "You are signed in as {}, an account that is not part of {}. Sign in on your own \
                 organization's portal, or sign out here and sign in with your {} account.",
                visitor.email, view.name, view.name
            ),
            sign_out: Some((view.path("sign-out"), visitor.csrf_field())),
        },
    )
}

/// `GET /portal/{slug}/...` for a path no portal page serves: the
/// portal's own 404 page (the product's for an unknown portal).
async fn not_found_in_portal(State(state): State<AppState>, uri: Uri) -> Response {
    let slug = uri
        .path()
        .trim_start_matches("/portal/")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    match portal(&state, &slug).await {
        Ok(view) => page_not_found(&view),
        Err(response) => response,
    }
}

/// The portal's own 404 page, without the navigation: a path no portal
/// page serves, or anything but the portal on the portal's own host name
/// ([`crate::server::sites::only_the_portal`]).
pub fn page_not_found(view: &PortalView) -> Response {
    message(
        StatusCode::NOT_FOUND,
        view,
        None,
        "Page not found",
        "There is no page at this address. Check the link, or go to the portal's start page.",
    )
}

/// `GET /portal/{slug}/logo`: the uploaded logo (its address carries its
/// hash, so it may be cached for long).
async fn logo(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
) -> Response {
    match state.regentra.portal_logo(&slug).await {
        Ok(Some((content_type, bytes))) => (
            [
                (header::CONTENT_TYPE, content_type),
                (
                    header::CACHE_CONTROL,
                    "public, max-age=604800, immutable".to_owned(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => super::not_found(),
        Err(e) => failed(&e),
    }
}

/// `GET /portal/{slug}/favicon.svg`: the portal's initial on its primary
/// color, so that a client's tab is recognisable among others.
async fn favicon(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
) -> Response {
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let color = view
        .portal
        .branding
        .primary_color
        .clone()
        .filter(|c| super::is_hex_color(c))
        .unwrap_or_else(|| "#1f4e79".to_owned());
    let initial: String = view
        .name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".to_owned());
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="{color}"/><text x="16" y="22" font-family="system-ui,sans-serif" font-size="18" font-weight="700" fill="#fff" text-anchor="middle">{initial}</text></svg>"##
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        svg,
    )
        .into_response()
}

/// The script every portal page loads (where the focus goes when a page
/// opens, busy buttons), compiled in.
const FORMS_SCRIPT: &str = include_str!("forms.js");

/// `GET /assets/portal-forms.js`: cached for a day, revalidated by its
/// hash, like the stylesheet.
async fn forms_script(headers: HeaderMap) -> Response {
    super::static_asset(
        &headers,
        FORMS_SCRIPT,
        forms_script_version(),
        "text/javascript; charset=utf-8",
    )
}

/// A short hash of the forms' script, for its address (`?v=`) and `ETag`.
pub fn forms_script_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| super::short_hash(FORMS_SCRIPT))
}

/// A failure of ours, logged; the person sees a page that says so.
pub fn failed(error: &Error) -> Response {
    match error {
        Error::NotFound { .. } => super::not_found(),
        // A role that may read but not do this (a viewer sending a file):
        // said plainly, not as our failure.
        Error::PermissionDenied { .. } => super::error_page(
            StatusCode::FORBIDDEN,
            "You cannot do this here",
            "Your role in this organization does not allow it. Ask your organization's \
             administrator if you need to.",
        ),
        Error::MfaRequired { .. } => super::error_page(
            StatusCode::FORBIDDEN,
            "Two-step sign-in is required",
            "Your organization requires two-step sign-in. Turn it on from your account page, \
             then come back.",
        ),
        _ => {
            tracing::error!(error = %error, "a portal page failed");
            super::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "This page could not be shown. Try again in a moment.",
            )
        }
    }
}
