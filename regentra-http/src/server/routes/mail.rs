//! Email: what a user chooses to receive (`/v1/me/email-preferences`), and
//! the delivery state admins look at: an org's emails by state, dead
//! letters first, with a retry (`/v1/orgs/{org_id}/emails`), and the
//! platform operator's view of all of them (`/v1/platform/emails`). These
//! answers never carry an email's link (it may hold a secret token).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use regentra_core::ids::{EmailId, OrgId};
use regentra_core::mail::{EmailKind, EmailState, EmailView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{Page, PageQuery, Paged, Position};
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preferences, set_preferences))
        .routes(routes!(org_emails))
        .routes(routes!(retry_org_email))
        .routes(routes!(platform_emails))
        .routes(routes!(retry_platform_email))
}

/// Every kind a user may turn off, in the order the API lists them.
const OPTIONAL: [EmailKind; 6] = [
    EmailKind::CampaignInvitation,
    EmailKind::CampaignReminder,
    EmailKind::SlaWarning,
    EmailKind::SlaBreach,
    EmailKind::TicketReply,
    EmailKind::ChatWaiting,
];

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailPreferencesView {
    /// The kinds the caller receives in the app only.
    off: BTreeSet<EmailKind>,
    /// The kinds that can be turned off (invitations and password resets
    /// always come).
    optional: Vec<EmailKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
}

impl From<regentra_core::mail::EmailPreferences> for EmailPreferencesView {
    fn from(p: regentra_core::mail::EmailPreferences) -> Self {
        Self {
            off: p.off,
            optional: OPTIONAL.to_vec(),
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEmailPreferences {
    /// The kinds to turn off; every other kind is on.
    off: BTreeSet<EmailKind>,
}

/// The kinds of email the caller turned off.
#[utoipa::path(get, path = "/v1/me/email-preferences", tag = "account",
    responses((status = 200, body = EmailPreferencesView)),
    security(("bearer" = [])))]
async fn preferences(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<EmailPreferencesView>> {
    Ok(Json(
        state.regentra.email_preferences(&caller).await?.into(),
    ))
}

/// Turns off exactly the kinds listed in `off` (the notifications still
/// reach the in-app inbox). Invitations and password resets cannot be
/// turned off: 422 naming `off`.
#[utoipa::path(put, path = "/v1/me/email-preferences", tag = "account",
    request_body = SetEmailPreferences,
    responses(
        (status = 200, body = EmailPreferencesView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn set_preferences(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(body): Body<SetEmailPreferences>,
) -> ApiResult<Json<EmailPreferencesView>> {
    Ok(Json(
        state
            .regentra
            .set_email_preferences(&caller, body.off)
            .await?
            .into(),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EmailQuery {
    /// Only the emails in this state; without it, the dead letters first,
    /// then the pending, then the sent (the first page only: a cursor pages
    /// within one state).
    state: Option<EmailState>,
    /// Items per page (default 50, at most 500).
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl EmailQuery {
    fn page(&self) -> Result<Page, Problem> {
        Page::parse(PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        })
    }
}

fn paged(page: &Page, state: Option<EmailState>, emails: Vec<EmailView>) -> Paged<EmailView> {
    let mut paged = page.from_store(emails, |e| Position::AfterId(e.id.0));
    if state.is_none() {
        paged.next_cursor = None;
    }
    paged
}

/// The org's emails and how their delivery went (attempts, the next
/// attempt, the last error), without their links. Org admins (and the
/// MSP's admins for a client).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/emails", tag = "audit",
    params(("org_id" = Uuid, Path), EmailQuery),
    responses(
        (status = 200, body = Paged<EmailView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn org_emails(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(query): Query<EmailQuery>,
) -> ApiResult<Json<Paged<EmailView>>> {
    let page = query.page()?;
    let emails = state
        .regentra
        .org_emails(&caller, org, query.state, page.request())
        .await?;
    Ok(Json(paged(&page, query.state, emails)))
}

/// Sends a dead email again: pending and due now, its attempts counted
/// afresh (audited in the org's chain). Only a dead email whose link still
/// works: 422 naming `email` otherwise.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/emails/{email_id}/retry", tag = "audit",
    params(("org_id" = Uuid, Path), ("email_id" = Uuid, Path)),
    responses(
        (status = 200, body = EmailView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn retry_org_email(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, email)): Id<(OrgId, EmailId)>,
) -> ApiResult<Json<EmailView>> {
    Ok(Json(state.regentra.retry_email(&caller, org, email).await?))
}

/// Every email of the platform, any org's and the platform's own.
/// Platform operators only.
#[utoipa::path(get, path = "/v1/platform/emails", tag = "audit",
    params(EmailQuery),
    responses(
        (status = 200, body = Paged<EmailView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn platform_emails(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<EmailQuery>,
) -> ApiResult<Json<Paged<EmailView>>> {
    let page = query.page()?;
    let emails = state
        .regentra
        .platform_emails(&caller, query.state, page.request())
        .await?;
    Ok(Json(paged(&page, query.state, emails)))
}

/// A platform operator sends any dead email again (audited in the sending
/// org's chain, or the platform's).
#[utoipa::path(post, path = "/v1/platform/emails/{email_id}/retry", tag = "audit",
    params(("email_id" = Uuid, Path)),
    responses(
        (status = 200, body = EmailView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn retry_platform_email(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(email): Id<EmailId>,
) -> ApiResult<Json<EmailView>> {
    Ok(Json(
        state.regentra.retry_platform_email(&caller, email).await?,
    ))
}
