//! The branded client portal: its settings under the org, the compliance
//! dashboard it may show, and the public page at `/portal/{slug}` (or at
//! `/` of the portal's own host name).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
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
use crate::server::sites::Site;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settings, update_settings))
        .routes(routes!(upload_logo, remove_logo))
        .routes(routes!(dashboard))
        .routes(routes!(hostname_claim))
        .routes(routes!(verify_hostname))
        .routes(routes!(approve_hostname))
        .routes(routes!(public_portal))
        .route("/", get(portal_at_host))
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
/// `welcome_text`), `show_compliance_dashboard`, `show_assets` (each
/// person sees the assets assigned to them). Fields left out stay as they
/// are; `null` clears a text field.
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
            .await
            .inspect(|_| state.sites.forget())?
    )))
}

/// Uploads the portal's logo: the image itself as the body (PNG, JPEG,
/// GIF or WebP, at most 512 KiB; the type is read from the bytes). It
/// replaces any earlier upload and is shown instead of `logo_url`. 422
/// naming `logo` for anything else (SVG included: it can carry scripts).
#[utoipa::path(put, path = "/v1/orgs/{org_id}/portal/logo", tag = "portal",
    params(("org_id" = Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "image/png", description = "the logo image"),
    responses((status = 200, body = regentra_core::portal::PortalSettings), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn upload_logo(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state
            .regentra
            .set_portal_logo(&caller, org, body.to_vec())
            .await
            .inspect(|_| state.sites.forget())?
    )))
}

/// Removes the uploaded logo; `logo_url`, if set, shows again.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/portal/logo", tag = "portal",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::portal::PortalSettings), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn remove_logo(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state
            .regentra
            .remove_portal_logo(&caller, org)
            .await
            .inspect(|_| state.sites.forget())?
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
    Ok(Json(check_hostname(&state, &caller, org).await?.into()))
}

/// Looks up the org's claimed host name's TXT record through the server's
/// resolver and has the core verify the claim with what was found (the
/// API's verify route and the console's "Check now" alike). The core's
/// refusals pass through: `hostname` not proven, taken, no claim.
pub(crate) async fn check_hostname(
    state: &AppState,
    caller: &regentra_core::Principal,
    org: OrgId,
) -> Result<HostnameClaim, regentra_core::Error> {
    // The claim first: it authorizes, and names what to look up.
    let claim = state.regentra.hostname_claim(caller, org).await?;
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
        .verify_hostname(caller, org, &observed)
        .await?;
    state.sites.forget();
    Ok(claim)
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
    state.sites.forget();
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

/// A portal with its own host name: that host's root leads to the portal.
async fn portal_at_host(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    match state.site(&headers).await? {
        // The portal's pages live under its slug; its own host name leads
        // there (and serves nothing else: `server::sites`).
        Site::Portal(at) => {
            Ok(Redirect::to(&format!("/portal/{}", at.portal.slug)).into_response())
        }
        // The server's own address: a browser goes to the signed-in
        // person's page (or signs in first); a program is told nothing is here.
        Site::Own if wants_html(&headers) => Ok(Redirect::to("/app").into_response()),
        Site::Own | Site::Closed(_) => {
            Err(regentra_core::Error::NotFound { what: "portal" }.into())
        }
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}
