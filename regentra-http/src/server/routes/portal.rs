//! The branded client portal: its settings under the org, the compliance
//! dashboard it may show, and the public page at `/portal/{slug}` (or at
//! `/` of the portal's own host name).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use regentra_core::ids::OrgId;
use regentra_core::portal::{HostnameClaim, PortalUpdate, PublicPortal};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settings, update_settings))
        .routes(routes!(dashboard))
        .routes(routes!(hostname_claim))
        .routes(routes!(verify_hostname))
        .routes(routes!(approve_hostname))
        .routes(routes!(public_portal))
        .route("/portal/{slug}", get(portal_page))
        .route("/portal/{slug}/tickets/{ticket_id}", get(portal_ticket))
        .route("/", get(portal_at_host))
        .route("/portal/assets/portal.js", get(portal_script))
}

/// The org's portal settings (defaults until first saved).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/portal", tag = "portal",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::portal::PortalSettings), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.portal_settings(&caller, org).await?
    )))
}

/// Changes portal settings: `enabled`, `slug`, `hostname`, `branding`
/// (`display_name`, `logo_url`, `primary_color`, `accent_color`,
/// `welcome_text`), `show_compliance_dashboard`. Fields left out stay as
/// they are; `null` clears a text field.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/portal", tag = "portal",
    params(("org_id" = Uuid, Path)), request_body = regentra_core::portal::PortalUpdate,
    responses((status = 200, body = regentra_core::portal::PortalSettings), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn update_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(update): Body<PortalUpdate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state
            .regentra
            .update_portal_settings(&caller, org, update)
            .await?
    )))
}

/// The compliance dashboard the portal shows, when its settings allow.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/portal/dashboard", tag = "portal",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::portal::PortalDashboard), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn dashboard(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.portal_dashboard(&caller, org).await?
    )))
}

/// An org's claim on its portal host name and the DNS record that proves it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostnameChallenge {
    pub claim: HostnameClaim,
    /// Where to publish the proof: `_regentra-challenge.<hostname>`.
    pub txt_name: String,
    /// The TXT value to publish there: `regentra-verify=<token>`.
    pub txt_value: String,
}

impl From<HostnameClaim> for HostnameChallenge {
    fn from(claim: HostnameClaim) -> Self {
        Self {
            txt_name: claim.record_name(),
            txt_value: claim.record_value(),
            claim,
        }
    }
}

/// The org's claim on the host name of its portal settings (saving a
/// `hostname` claims it): pending until verified, and the TXT record that
/// verifies it. 404 when the settings name no host.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/portal/hostname", tag = "portal",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = HostnameChallenge), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn hostname_claim(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<HostnameChallenge>> {
    let claim = state.regentra.hostname_claim(&caller, org).await?;
    Ok(Json(claim.into()))
}

/// Looks up the claim's TXT record (`txt_name`) now and verifies the claim
/// if it holds `txt_value`; the portal is then served at the host name.
/// 422 naming `hostname` when the record is not there; 409 when another
/// org verified the name first.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/portal/hostname/verify", tag = "portal",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = HostnameChallenge), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn verify_hostname(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<HostnameChallenge>> {
    // The claim first: it authorizes, and names what to look up.
    let claim = state.regentra.hostname_claim(&caller, org).await?;
    let observed = if claim.is_verified() {
        Vec::new()
    } else {
        let dns = state
            .dns
            .as_ref()
            .ok_or_else(|| regentra_core::Error::Unavailable("no DNS resolver".to_owned()))?;
        dns.txt(&claim.record_name())
            .await
            .map_err(|e| regentra_core::Error::Unavailable(e.to_string()))?
    };
    let claim = state
        .regentra
        .verify_hostname(&caller, org, &observed)
        .await?;
    Ok(Json(claim.into()))
}

/// A platform operator verifies the org's host name claim without the DNS
/// record. 403 for anyone else.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/portal/hostname/approve", tag = "portal",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = HostnameChallenge), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn approve_hostname(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<HostnameChallenge>> {
    let claim = state.regentra.approve_hostname(&caller, org).await?;
    Ok(Json(claim.into()))
}

async fn enabled_portal(state: &AppState, slug: &str) -> ApiResult<PublicPortal> {
    state
        .regentra
        .portal_by_slug(slug)
        .await?
        .ok_or_else(|| regentra_core::Error::NotFound { what: "portal" }.into())
}

/// A portal's public face: its org and branding. Unknown and disabled
/// portals are both 404.
#[utoipa::path(get, path = "/portal/{slug}/portal.json", tag = "portal",
    params(("slug" = String, Path)),
    responses((status = 200, body = regentra_core::portal::PublicPortal), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn public_portal(
    State(state): State<AppState>,
    Id(slug): Id<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(enabled_portal(&state, &slug).await?)))
}

/// The portal page: branded, and driven by the API from the script.
async fn portal_page(State(state): State<AppState>, Id(slug): Id<String>) -> ApiResult<Response> {
    let portal = enabled_portal(&state, &slug).await?;
    Ok(page_response(&portal))
}

/// A ticket's link in the portal (the one a reply email carries): the
/// portal page, where the person signs in and finds the ticket among
/// their own. (The page opens the list, not yet the ticket itself.)
async fn portal_ticket(
    State(state): State<AppState>,
    Id((slug, _ticket)): Id<(String, String)>,
) -> ApiResult<Response> {
    let portal = enabled_portal(&state, &slug).await?;
    Ok(Redirect::to(&format!("/portal/{}", portal.slug)).into_response())
}

fn page_response(portal: &PublicPortal) -> Response {
    let html = render_page(portal);
    (
        // The security headers (CSP, framing, referrer, nosniff) are added
        // by one layer for every response (`server::security_headers`).
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// A portal with its own host name is served at that host's root.
async fn portal_at_host(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match state.regentra.portal_by_hostname(host).await? {
        Some(portal) => Ok(page_response(&portal)),
        // The server's own address: a browser goes to the signed-in
        // person's page (or signs in first); a program is told nothing is here.
        None if wants_html(&headers) => Ok(Redirect::to("/account").into_response()),
        None => Err(regentra_core::Error::NotFound { what: "portal" }.into()),
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

async fn portal_script() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("portal.js"),
    )
        .into_response()
}

/// HTML-escapes text from settings before it goes into the page.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn render_page(portal: &PublicPortal) -> String {
    let b = &portal.branding;
    let name = escape(b.display_name.as_deref().unwrap_or("Support portal"));
    // Colors and URLs were validated when saved (#rrggbb, https://); they
    // are escaped anyway.
    let primary = escape(b.primary_color.as_deref().unwrap_or("#1f4e79"));
    let accent = escape(b.accent_color.as_deref().unwrap_or("#2e7d32"));
    let logo = b
        .logo_url
        .as_deref()
        .map(|url| format!("<img class=\"logo\" src=\"{}\" alt=\"\">", escape(url)))
        .unwrap_or_default();
    let welcome = escape(b.welcome_text.as_deref().unwrap_or(""));
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}</title>
<style>
:root {{ --primary: {primary}; --accent: {accent}; }}
body {{ font-family: system-ui, sans-serif; margin: 0; color: #222; }}
header {{ background: var(--primary); color: #fff; padding: 1rem 2rem; display: flex; gap: 1rem; align-items: center; }}
header .logo {{ height: 40px; }}
main {{ max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }}
button {{ background: var(--accent); color: #fff; border: 0; padding: .5rem 1rem; border-radius: 4px; }}
section {{ margin-bottom: 2rem; }} [hidden] {{ display: none; }}
input, textarea, select {{ display: block; width: 100%; margin: .25rem 0 .75rem; padding: .4rem; }}
</style></head>
<body data-org="{org}" data-dashboard="{dashboard}">
<header>{logo}<h1>{name}</h1></header>
<main>
<p>{welcome}</p>
<section id="login"><h2>Sign in</h2>
<form id="login-form"><label>Email<input name="email" type="email" required></label>
<label>Password<input name="password" type="password" required></label>
<button type="submit">Sign in</button></form><p id="login-error" role="alert"></p></section>
<section id="app" hidden>
<h2>My tickets</h2><ul id="tickets"></ul>
<h3>New ticket</h3>
<form id="ticket-form"><label>Subject<input name="subject" required></label>
<label>Description<textarea name="description"></textarea></label>
<label>Priority<select name="priority"><option>low</option><option selected>medium</option><option>high</option><option>critical</option></select></label>
<button type="submit">Submit</button></form>
<h2>Knowledge base</h2><form id="kb-form"><input name="q" placeholder="Search"></form><ul id="articles"></ul>
<section id="dashboard" hidden><h2>Compliance</h2><ul id="frameworks"></ul></section>
</section>
</main>
<script src="/portal/assets/portal.js"></script>
</body></html>
"#,
        org = portal.org,
        dashboard = portal.show_compliance_dashboard,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_text_is_escaped_in_the_page() {
        assert_eq!(
            escape(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }
}
