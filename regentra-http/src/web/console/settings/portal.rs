//! The client portal's settings (`/app/{org}/settings/portal`): whether
//! the portal is on and at which address, what it shows, its branding
//! (name, colors, welcome text, a logo uploaded or at an https address)
//! with a live preview drawn with the portal's own CSS variables, and a
//! custom host name with its DNS proof.
//!
//! Reading needs what the core's `portal_settings` needs (`org.read`); the
//! forms are offered only to those the core lets change them
//! (`org.manage`), and a forged post by anyone else is the 404 page with
//! nothing changed. A saved host name is only claimed: the page shows the
//! TXT record that proves it, "Check now" looks it up through the server's
//! resolver (the API's own `check_hostname`), and a platform operator may
//! approve it instead.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use regentra_core::ids::OrgId;
use regentra_core::portal::{
    BrandingUpdate, HostnameClaim, LOGO_MAX_BYTES, MIN_TEXT_CONTRAST, PortalSettings, PortalUpdate,
    VerifiedBy, contrast_ratio,
};
use regentra_core::rbac::Permission;
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::{page_org, refused};
use crate::server::auth::Meta;
use crate::server::routes::portal::check_hostname;
use crate::server::{AppState, browser};
use crate::web::console::confirm::Confirmed;
use crate::web::console::{Done, org_form};
use crate::web::console::{Scope, Section, Shell, Staff, message, not_found_page, staff, staff_in};
use crate::web::display::{Badge, when};
use crate::web::upload::{self, Refusal, detached};
use crate::web::{Chrome, CsrfField, render};

/// The page's own script: the live preview and the color pickers.
pub const SCRIPT: &str = include_str!("../portal_settings.js");

/// The portal's colors when its settings name none (`app.css`'s `:root`).
const DEFAULT_PRIMARY: &str = "#1f4e79";
const DEFAULT_ACCENT: &str = "#2f7d5b";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/portal-settings.js", get(script))
        .route("/app/{scope}/settings/portal", get(page).post(save))
        .route(
            "/app/{scope}/settings/portal/logo",
            // A file over the core's limit still arrives whole enough to
            // be named by the field; far beyond it, the body is cut off.
            get(logo)
                .post(upload_logo)
                .layer(DefaultBodyLimit::max(8 * LOGO_MAX_BYTES)),
        )
        .route(
            "/app/{scope}/settings/portal/logo/remove",
            post(remove_logo),
        )
        .route("/app/{scope}/settings/portal/hostname", post(set_hostname))
        .route(
            "/app/{scope}/settings/portal/hostname/check",
            post(check_now),
        )
        .route(
            "/app/{scope}/settings/portal/hostname/approve",
            post(approve),
        )
}

/// `GET /assets/portal-settings.js`, cached like the console's script.
async fn script(headers: HeaderMap) -> Response {
    crate::web::static_asset(
        &headers,
        SCRIPT,
        script_version(),
        "text/javascript; charset=utf-8",
    )
}

fn script_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| crate::web::short_hash(SCRIPT))
}

/// The main form: the portal's address, what it shows, its branding. A
/// checkbox left unticked is absent; a blank text clears its setting.
#[derive(Debug, Default, Deserialize)]
struct SettingsForm {
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    show_compliance_dashboard: Option<String>,
    #[serde(default)]
    show_assets: Option<String>,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    primary_color: String,
    #[serde(default)]
    accent_color: String,
    #[serde(default)]
    welcome_text: String,
    #[serde(default)]
    logo_url: String,
}

impl SettingsForm {
    /// The form as the saved settings fill it.
    fn of(settings: &PortalSettings) -> Self {
        let b = &settings.branding;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let on = |v: bool| v.then(|| "on".to_owned());
        Self {
            enabled: on(settings.enabled),
            slug: text(&settings.slug),
            show_compliance_dashboard: on(settings.show_compliance_dashboard),
            show_assets: on(settings.show_assets),
            display_name: text(&b.display_name),
            primary_color: text(&b.primary_color),
            accent_color: text(&b.accent_color),
            welcome_text: text(&b.welcome_text),
            logo_url: text(&b.logo_url),
        }
    }

    /// The whole form as a change: every field set, a blank one cleared.
    fn update(&self) -> PortalUpdate {
        let text = |v: &str| {
            let v = v.trim();
            Some((!v.is_empty()).then(|| v.to_owned()))
        };
        PortalUpdate {
            enabled: Some(self.enabled.is_some()),
            slug: text(&self.slug),
            hostname: None,
            branding: BrandingUpdate {
                display_name: text(&self.display_name),
                logo_url: text(&self.logo_url),
                primary_color: text(&self.primary_color),
                accent_color: text(&self.accent_color),
                welcome_text: text(&self.welcome_text),
            },
            show_compliance_dashboard: Some(self.show_compliance_dashboard.is_some()),
            show_assets: Some(self.show_assets.is_some()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct HostnameForm {
    #[serde(default)]
    hostname: String,
}

/// The errors of the page's fields, by the id of the field they sit under.
#[derive(Debug, Default)]
struct FieldErrors {
    slug: Option<String>,
    display_name: Option<String>,
    primary_color: Option<String>,
    accent_color: Option<String>,
    welcome_text: Option<String>,
    logo_url: Option<String>,
    logo: Option<String>,
    hostname: Option<String>,
    /// A field the page has no place for (none today): said above the form.
    other: Option<String>,
}

impl FieldErrors {
    /// The core's field errors, each under its field (`branding.x` is the
    /// field `x` here).
    fn of(errors: Vec<FieldError>) -> Self {
        let mut found = Self::default();
        for e in errors {
            let name = e.field.trim_start_matches("branding.");
            let (slot, message) = match name {
                "slug" => (&mut found.slug, sentence(&e.message)),
                "display_name" => (&mut found.display_name, sentence(&e.message)),
                "primary_color" => (&mut found.primary_color, sentence(&e.message)),
                "accent_color" => (&mut found.accent_color, sentence(&e.message)),
                "welcome_text" => (&mut found.welcome_text, sentence(&e.message)),
                "logo_url" => (&mut found.logo_url, sentence(&e.message)),
                "logo" => (&mut found.logo, sentence(&e.message)),
                "hostname" => (&mut found.hostname, sentence(&e.message)),
                _ => (
                    &mut found.other,
                    format!("{}: {}", e.field, sentence(&e.message)),
                ),
            };
            *slot = Some(match slot.take() {
                Some(earlier) => format!("{earlier} {message}"),
                None => message,
            });
        }
        found
    }

    fn main_form(&self) -> bool {
        [
            &self.slug,
            &self.display_name,
            &self.primary_color,
            &self.accent_color,
            &self.welcome_text,
            &self.logo_url,
            &self.other,
        ]
        .iter()
        .any(|e| e.is_some())
    }
}

/// A core message (`must be ...`) as a sentence under its field.
fn sentence(message: &str) -> String {
    let mut text = message.trim_end_matches('.').to_owned();
    if let Some(first) = text.get(..1) {
        text.replace_range(..1, &first.to_uppercase());
    }
    text.push('.');
    text
}

/// The host name claim as the page shows it.
struct ClaimView {
    hostname: String,
    badge: Badge,
    /// How and when it was verified, or since when it waits.
    status: String,
    verified: bool,
    txt_name: String,
    txt_value: String,
    /// The address it serves the portal at once verified.
    address: String,
}

/// The preview of the portal's header and start page: the saved settings
/// (the script redraws it from the form as it is typed).
struct Preview {
    name: String,
    /// `--brand` and `--accent`, as the portal's `<body>` carries them.
    style: String,
    primary: String,
    accent: String,
    logo: Option<String>,
    welcome: Option<String>,
    show_compliance: bool,
    show_assets: bool,
    /// What WCAG AA says of white text on each saved color that fails it.
    warnings: Vec<String>,
}

#[derive(Template)]
#[template(path = "web/console/settings_portal.html")]
struct PortalPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    back: String,
    here: String,
    org_name: String,
    manage: bool,
    operator: bool,
    form: SettingsForm,
    hostname: String,
    errors: FieldErrors,
    notice: Option<String>,
    /// The portal's address as a link, when it is served.
    address: Option<String>,
    /// The address it would have, when it is off or has no slug yet.
    address_base: String,
    enabled: bool,
    claim: Option<ClaimView>,
    /// The uploaded logo's address (the console's own copy).
    uploaded_logo: Option<String>,
    preview: Preview,
    script: String,
    logo_limit_kib: usize,
}

/// What a form left to show on the page.
#[derive(Default)]
struct Outcome {
    form: Option<SettingsForm>,
    hostname: Option<String>,
    errors: Vec<FieldError>,
    notice: Option<String>,
}

/// `GET /app/{org}/settings/portal`.
async fn page(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/portal");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = query.notice(&[
        ("saved", "Portal settings saved."),
        ("logo", "Logo uploaded: the portal shows it now."),
        ("logo_removed", "Logo removed."),
        (
            "hostname",
            "Host name saved. Publish the TXT record below, then check it.",
        ),
        (
            "hostname_removed",
            "Host name removed: the portal is served at its address only.",
        ),
        (
            "verified",
            "Host name verified: the portal is served there now.",
        ),
    ]);
    portal_page(
        &state,
        &staff,
        &scope,
        Outcome {
            notice,
            ..Outcome::default()
        },
    )
    .await
}

async fn portal_page(state: &AppState, staff: &Staff, scope: &Scope, outcome: Outcome) -> Response {
    let Some((org, access)) = page_org(staff, scope, "portal") else {
        return not_found_page(staff, Some(scope));
    };
    let settings = match state.regentra.portal_settings(&staff.caller, org).await {
        Ok(settings) => settings,
        Err(e) => return refused(staff, scope, &e),
    };
    let manage = staff.can(org, Permission::OrgManage);
    // The claim is an admin's to see (the core's `hostname_claim`).
    let claim = match (&settings.hostname, manage) {
        (Some(_), true) => match state.regentra.hostname_claim(&staff.caller, org).await {
            Ok(claim) => Some(claim),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return refused(staff, scope, &e),
        },
        _ => None,
    };
    let zone = state
        .regentra
        .time_zone(org)
        .await
        .unwrap_or(chrono_tz::Tz::UTC);
    let here = scope.path("settings/portal");
    let uploaded_logo = settings.branding.logo_file.as_ref().map(|file| {
        format!(
            "{here}/logo?v={}",
            &file.sha256[..12.min(file.sha256.len())]
        )
    });
    let address_base = format!("{}/portal/", state.public_url);
    let address = settings
        .slug
        .as_ref()
        .filter(|_| settings.enabled)
        .map(|slug| format!("{address_base}{slug}"));
    let scheme = state.public_url.split("://").next().unwrap_or("https");
    let claim = claim.map(|c| claim_view(c, zone, scheme));
    let preview = preview(&settings, &access.org.name, uploaded_logo.clone());
    let status = if outcome.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let shell = Shell::new(staff, Some(scope), Some(Section::Settings), "Client portal");
    render(
        status,
        &PortalPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            csrf_field: staff.csrf_field(),
            back: scope.path("settings"),
            org_name: access.org.name.clone(),
            manage,
            operator: staff.operator,
            form: outcome.form.unwrap_or_else(|| SettingsForm::of(&settings)),
            hostname: outcome
                .hostname
                .unwrap_or_else(|| settings.hostname.clone().unwrap_or_default()),
            errors: FieldErrors::of(outcome.errors),
            notice: outcome.notice,
            address,
            address_base,
            enabled: settings.enabled,
            claim,
            uploaded_logo,
            preview,
            script: format!("/assets/portal-settings.js?v={}", script_version()),
            logo_limit_kib: LOGO_MAX_BYTES / 1024,
            here,
        },
    )
}

fn claim_view(claim: HostnameClaim, zone: chrono_tz::Tz, scheme: &str) -> ClaimView {
    let (badge, status) = match (claim.verified_by, claim.verified_at) {
        (Some(by), Some(at)) if claim.is_verified() => {
            let how = match by {
                VerifiedBy::Dns => "by its DNS record",
                VerifiedBy::Operator => "by a platform operator",
            };
            (
                Badge {
                    label: "Verified",
                    class: "badge-success",
                },
                format!("Verified {how} on {}.", when(at, zone).text),
            )
        }
        _ => (
            Badge {
                label: "Pending",
                class: "badge-warning",
            },
            format!(
                "Waiting for its DNS record since {}.",
                when(claim.claimed_at, zone).text
            ),
        ),
    };
    ClaimView {
        address: format!("{scheme}://{}/", claim.hostname),
        verified: claim.is_verified(),
        txt_name: claim.record_name(),
        txt_value: claim.record_value(),
        hostname: claim.hostname,
        badge,
        status,
    }
}

/// The preview of the saved settings, as the portal would draw them.
fn preview(settings: &PortalSettings, org_name: &str, uploaded: Option<String>) -> Preview {
    let b = &settings.branding;
    let primary = b
        .primary_color
        .clone()
        .unwrap_or_else(|| DEFAULT_PRIMARY.to_owned());
    let accent = b
        .accent_color
        .clone()
        .unwrap_or_else(|| DEFAULT_ACCENT.to_owned());
    let warnings = [("Primary color", &primary), ("Accent color", &accent)]
        .into_iter()
        .filter_map(|(label, color)| contrast_warning(label, color))
        .collect();
    Preview {
        name: b
            .display_name
            .clone()
            .unwrap_or_else(|| org_name.to_owned()),
        style: format!("--brand: {primary}; --accent: {accent}"),
        logo: uploaded.or_else(|| b.logo_url.clone()),
        welcome: b.welcome_text.clone(),
        show_compliance: settings.show_compliance_dashboard,
        show_assets: settings.show_assets,
        primary,
        accent,
        warnings,
    }
}

/// What WCAG AA says of white text on `color`, when it fails (the portal
/// puts white text on both brand colors).
fn contrast_warning(label: &str, color: &str) -> Option<String> {
    let rgb = rgb(color)?;
    let ratio = contrast_ratio(rgb, [255, 255, 255]);
    (ratio < MIN_TEXT_CONTRAST).then(|| {
        format!(
            "{label} {color}: white text on it has a contrast of {:.1}:1, and WCAG AA needs \
             {MIN_TEXT_CONTRAST}:1. Choose a darker shade.",
            (ratio * 10.0).floor() / 10.0
        )
    })
}

fn rgb(color: &str) -> Option<[u8; 3]> {
    if !crate::web::is_hex_color(color) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&color[i..i + 2], 16).ok();
    Some([channel(1)?, channel(3)?, channel(5)?])
}

/// The org of a portal form, if the person may change its portal; else
/// `None`, the 404 page (the core would refuse it too).
fn managed(staff: &Staff, segment: &str) -> Option<(Scope, OrgId)> {
    let scope = staff.scope(segment)?;
    page_org(staff, &scope, "portal")
        .filter(|(org, _)| staff.can(*org, Permission::OrgManage))
        .map(|(org, _)| (Scope::Org(org), org))
}

fn not_managed(staff: &Staff, segment: &str) -> Response {
    not_found_page(staff, staff.scope(segment).as_ref())
}

fn done(state: &AppState, scope: &Scope, what: &str) -> Response {
    // The portal's pages, logo and host name change with its settings.
    state.sites.forget();
    Redirect::to(&format!("{}?done={what}", scope.path("settings/portal"))).into_response()
}

/// A taken address as the error of its field.
fn taken(field: &str) -> FieldError {
    let message = if field == "slug" {
        "is already another organization's portal address: choose another"
    } else {
        "is already verified for another organization's portal"
    };
    FieldError::new(field, message)
}

/// `POST /app/{org}/settings/portal`: the main form, saved whole, or the
/// page again with each problem by its field and what was typed kept.
async fn save(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/portal");
    let (staff, form, scope, org) =
        match org_form::<SettingsForm>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let errors = match state
        .regentra
        .update_portal_settings(&staff.caller, org, form.update())
        .await
    {
        Ok(_) => return done(&state, &scope, "saved"),
        Err(Error::Validation(errors)) => errors,
        Err(Error::AlreadyExists { field, .. }) if field == "slug" => vec![taken("slug")],
        Err(e) => return refused(&staff, &scope, &e),
    };
    portal_page(
        &state,
        &staff,
        &scope,
        Outcome {
            form: Some(form),
            errors,
            ..Outcome::default()
        },
    )
    .await
}

/// `POST /app/{org}/settings/portal/hostname`: claims a new host name (or
/// none, when blank).
async fn set_hostname(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/portal");
    let (staff, form, scope, org) =
        match org_form::<HostnameForm>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let typed = form.hostname.trim().to_ascii_lowercase();
    let update = PortalUpdate {
        hostname: Some((!typed.is_empty()).then(|| typed.clone())),
        ..PortalUpdate::default()
    };
    let errors = match state
        .regentra
        .update_portal_settings(&staff.caller, org, update)
        .await
    {
        Ok(_) if typed.is_empty() => return done(&state, &scope, "hostname_removed"),
        Ok(_) => return done(&state, &scope, "hostname"),
        Err(Error::Validation(errors)) => errors,
        Err(Error::AlreadyExists { field, .. }) if field == "hostname" => vec![taken("hostname")],
        Err(e) => return refused(&staff, &scope, &e),
    };
    portal_page(
        &state,
        &staff,
        &scope,
        Outcome {
            hostname: Some(form.hostname),
            errors,
            ..Outcome::default()
        },
    )
    .await
}

/// `POST .../hostname/check`: looks the TXT record up now (the API's own
/// check) and verifies the claim if it is there; else the page with the
/// reason under the host name.
async fn check_now(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/portal");
    let (staff, Confirmed {}, scope, org) =
        match org_form::<Confirmed>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let result = check_hostname(&state, &staff.caller, org).await;
    claim_outcome(&state, &staff, &scope, result).await
}

/// `POST .../hostname/approve`: a platform operator verifies the claim
/// without its DNS record.
async fn approve(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/portal");
    let (staff, Confirmed {}, scope, org) =
        match org_form::<Confirmed>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let result = state.regentra.approve_hostname(&staff.caller, org).await;
    claim_outcome(&state, &staff, &scope, result).await
}

async fn claim_outcome(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    result: Result<HostnameClaim, Error>,
) -> Response {
    let errors = match result {
        Ok(_) => return done(state, scope, "verified"),
        Err(Error::Validation(errors)) => errors,
        Err(Error::AlreadyExists { .. }) => vec![taken("hostname")],
        Err(Error::Unavailable(why)) => {
            tracing::warn!(error = %why, "a portal host name could not be looked up");
            vec![FieldError::new(
                "hostname",
                "could not be looked up in DNS just now: try again in a moment",
            )]
        }
        Err(e) => return refused(staff, scope, &e),
    };
    portal_page(
        state,
        staff,
        scope,
        Outcome {
            errors,
            ..Outcome::default()
        },
    )
    .await
}

/// `POST .../logo`: a `multipart/form-data` form, its CSRF token first,
/// then the image (the core judges its type and size from the bytes).
async fn upload_logo(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Meta(meta): Meta,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    detached(async move {
        let back = format!("/app/{segment}/settings/portal");
        let mut staff = match staff(&state, &headers, &back).await {
            Ok(staff) => staff,
            Err(response) => return response,
        };
        if !browser::origin_is_ours(&headers, &state) {
            return crate::web::forbidden();
        }
        // Someone who may not change the portal: nothing of the form is read.
        let Some((scope, org)) = managed(&staff, &segment) else {
            return not_managed(&staff, &segment);
        };
        let bytes = match upload::read_small_file(&staff.secret, "logo", LOGO_MAX_BYTES, form).await
        {
            Ok(bytes) => bytes,
            Err(Refusal::Forged) => return crate::web::forbidden(),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    None,
                    "The form could not be read",
                    "The form arrived incomplete. Go back and send it again.",
                );
            }
        };
        staff.caller = staff.caller.with_request(meta);
        let result = match bytes {
            Some(bytes) => {
                state
                    .regentra
                    .set_portal_logo(&staff.caller, org, bytes)
                    .await
            }
            None => Err(Error::invalid("logo", "choose an image to upload")),
        };
        let errors = match result {
            Ok(_) => return done(&state, &scope, "logo"),
            Err(Error::Validation(errors)) => errors,
            Err(e) => return refused(&staff, &scope, &e),
        };
        portal_page(
            &state,
            &staff,
            &scope,
            Outcome {
                errors,
                ..Outcome::default()
            },
        )
        .await
    })
    .await
}

/// `POST .../logo/remove`.
async fn remove_logo(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/portal");
    let (staff, Confirmed {}, scope, org) =
        match org_form::<Confirmed>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    match state.regentra.remove_portal_logo(&staff.caller, org).await {
        Ok(_) => done(&state, &scope, "logo_removed"),
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `GET .../logo`: the uploaded logo for the page's preview, shown even
/// while the portal (whose own address serves it) is off.
async fn logo(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/portal");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((org, _)) = page_org(&staff, &scope, "portal") else {
        return not_found_page(&staff, Some(&scope));
    };
    match state.regentra.portal_logo_of(&staff.caller, org).await {
        Ok(Some((content_type, bytes))) => {
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                h.insert(header::CONTENT_TYPE, value);
            }
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            // Its address changes with its bytes; it is the org's own.
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=86400"),
            );
            response
        }
        Ok(None) => not_found_page(&staff, Some(&scope)),
        Err(e) => refused(&staff, &scope, &e),
    }
}
