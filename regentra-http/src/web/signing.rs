//! The policy signing page: the personal link of a campaign invitation or
//! reminder (`/sign/{org}/{campaign}`) opens the exact version of the
//! policy the campaign is about, and the signed-in person signs it with
//! their typed name. The same core operations as the API
//! (`GET`/`POST /v1/orgs/{org}/campaigns/{campaign}/sign`): the signature
//! becomes evidence in the same commit. An org with a portal has its
//! people sign in the portal (`web::portal::policies`), where this page's
//! links lead.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use regentra_core::Error;
use regentra_core::ids::{CampaignId, OrgId};
use regentra_core::policies::campaign::{PolicyToSign, portal_policy_path};
use regentra_core::policies::{AcknowledgmentStatus, CampaignStatus};
use serde::Deserialize;

use super::markdown::to_safe_html;
use super::{Chrome, CsrfField, SessionForm, error_page, not_found, render, to_sign_in};
use crate::server::AppState;
use crate::server::browser;

pub fn routes() -> Router<AppState> {
    Router::new().route("/sign/{org}/{campaign}", get(sign_page).post(sign))
}

#[derive(Template)]
#[template(path = "web/sign_policy.html")]
struct SignPage {
    chrome: Chrome,
    view: PolicyToSign,
    body_html: String,
    due: String,
    overdue: bool,
    closed: bool,
    /// When and as whom it was signed.
    signed: Option<(String, String)>,
    action: String,
    csrf_field: CsrfField,
    typed_name: String,
    agree_error: Option<String>,
    name_error: Option<String>,
}

struct Errors {
    agree: Option<String>,
    name: Option<String>,
}

fn date(at: DateTime<Utc>) -> String {
    at.format("%e %B %Y").to_string().trim().to_owned()
}

fn page(
    status: StatusCode,
    view: PolicyToSign,
    secret: &str,
    typed_name: String,
    errors: Errors,
    now: DateTime<Utc>,
) -> Response {
    let signed = view
        .acknowledgment
        .signature
        .as_ref()
        .filter(|_| view.acknowledgment.status == AcknowledgmentStatus::Signed)
        .map(|s| (date(s.signed_at), s.typed_name.clone()));
    let action = format!("/sign/{}/{}", view.campaign.org, view.campaign.id);
    render(
        status,
        &SignPage {
            chrome: Chrome::new(view.policy_title.clone()).with_session(secret),
            body_html: to_safe_html(&view.version.body),
            due: date(view.campaign.due),
            overdue: now > view.campaign.due,
            closed: view.campaign.status == CampaignStatus::Closed,
            signed,
            action,
            csrf_field: CsrfField::of(secret),
            typed_name,
            agree_error: errors.agree,
            name_error: errors.name,
            view,
        },
    )
}

/// Anything but a missing campaign is unexpected here.
fn failed(error: Error) -> Response {
    match error {
        Error::NotFound { .. } | Error::PermissionDenied { .. } => not_found(),
        other => {
            tracing::error!(error = %other, "the signing page failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The policy could not be shown. Try again in a moment.",
            )
        }
    }
}

/// `GET /sign/{org}/{campaign}`: signed out, to the sign-in page and back.
/// An org with an enabled portal has its people sign there: the link (of
/// an email sent before the portal, or by the product) goes on to the
/// campaign's page in the portal.
async fn sign_page(
    State(state): State<AppState>,
    Path((org, campaign)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (Ok(org), Ok(campaign)) = (org.parse::<OrgId>(), campaign.parse::<CampaignId>()) else {
        return not_found();
    };
    match state.regentra.portal_path(org).await {
        Ok(Some(portal)) => {
            return Redirect::to(&portal_policy_path(&portal, campaign)).into_response();
        }
        Ok(None) => {}
        Err(e) => return failed(e),
    }
    let Some(secret) = browser::session_secret(&headers, &state) else {
        return to_sign_in(uri.path());
    };
    let caller = match state.authenticate(&headers, &secret).await {
        Ok(caller) => caller,
        Err(Error::Unauthenticated) => return to_sign_in(uri.path()),
        Err(e) => return failed(e),
    };
    let view = match state.regentra.policy_to_sign(&caller, org, campaign).await {
        Ok(view) => view,
        Err(e) => return failed(e),
    };
    let typed_name = state
        .regentra
        .account(&caller)
        .await
        .map(|a| a.display_name)
        .unwrap_or_default();
    page(
        StatusCode::OK,
        view,
        &secret,
        typed_name,
        Errors {
            agree: None,
            name: None,
        },
        state.regentra.now(),
    )
}

#[derive(Debug, Deserialize)]
struct SignForm {
    #[serde(default)]
    agree: Option<String>,
    #[serde(default)]
    typed_name: String,
}

/// `POST /sign/{org}/{campaign}`: signs, then back to the page (which now
/// shows the signature).
async fn sign(
    State(state): State<AppState>,
    Path((org, campaign)): Path<(String, String)>,
    form: SessionForm<SignForm>,
) -> Response {
    let (Ok(org), Ok(campaign)) = (org.parse::<OrgId>(), campaign.parse::<CampaignId>()) else {
        return not_found();
    };
    let SessionForm {
        caller,
        secret,
        form,
    } = form;
    let again = |view: PolicyToSign, errors: Errors, typed_name: String| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            view,
            &secret,
            typed_name,
            errors,
            state.regentra.now(),
        )
    };
    let view = match state.regentra.policy_to_sign(&caller, org, campaign).await {
        Ok(view) => view,
        Err(e) => return failed(e),
    };
    if form.agree.as_deref() != Some("yes") {
        return again(
            view,
            Errors {
                agree: Some("Tick the box to confirm you have read the policy.".into()),
                name: None,
            },
            form.typed_name,
        );
    }
    match state
        .regentra
        .sign_acknowledgment(&caller, org, campaign, &form.typed_name)
        .await
    {
        Ok(_) | Err(Error::AlreadyExists { .. }) => {
            Redirect::to(&format!("/sign/{org}/{campaign}")).into_response()
        }
        Err(Error::Validation(fields)) => {
            let name = fields
                .iter()
                .find(|f| f.field == "typed_name")
                .map(|f| format!("Your typed name {}.", f.message));
            let other = fields
                .iter()
                .find(|f| f.field != "typed_name")
                .map(|f| f.message.clone());
            again(view, Errors { agree: other, name }, form.typed_name)
        }
        Err(e) => failed(e),
    }
}
