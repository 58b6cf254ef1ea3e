//! SLA policies, and the business-time arithmetic of their calendars
//! (`/v1/sla/due`, `/v1/sla/elapsed`). Each policy carries its business calendar (IANA zone, weekly
//! hours, holidays), response and resolution targets per priority, and
//! escalation rules. `default: true` assigns it: for an MSP, the policy its
//! clients run on unless they have their own; for any other org, its own.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use regentra_core::ids::{OrgId, SlaPolicyId};
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::{
    DEFAULT_CHAT_ANSWER_MINUTES, EscalationRule, NewSlaPolicy, Targets,
};
use regentra_core::sla::BusinessCalendar;
use regentra_core::sla::calendar::CalendarSpec;
use regentra_core::{Error, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{Page, PageQuery, Paged};
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sla_policies, create_sla_policy))
        .routes(routes!(update_sla_policy))
        .routes(routes!(preview_sla_policy))
        .routes(routes!(calendar_due))
        .routes(routes!(calendar_elapsed))
}

/// A calendar checked as an SLA policy's would be; its errors name
/// `calendar.<field>`.
fn calendar(spec: CalendarSpec) -> ApiResult<std::sync::Arc<BusinessCalendar>> {
    BusinessCalendar::shared(&spec).map_err(|e| match e {
        Error::Validation(fields) => Error::Validation(
            fields
                .into_iter()
                .map(|f| FieldError::new(format!("calendar.{}", f.field), f.message))
                .collect(),
        )
        .into(),
        other => other.into(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DueRequest {
    calendar: CalendarSpec,
    start: DateTime<Utc>,
    /// Business minutes to add.
    minutes: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DueResponse {
    due: DateTime<Utc>,
}

/// Business-time arithmetic: when `minutes` of business time after `start`
/// end on this calendar (holidays and time-zone changes included).
#[utoipa::path(post, path = "/v1/sla/due", tag = "sla", request_body = DueRequest,
    responses((status = 200, body = DueResponse), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn calendar_due(
    Caller(_): Caller,
    Body(req): Body<DueRequest>,
) -> ApiResult<Json<DueResponse>> {
    let due = calendar(req.calendar)?
        .add(req.start, Duration::minutes(i64::from(req.minutes)))
        .ok_or_else(|| Error::invalid("minutes", "the due instant lies beyond the year 9999"))?;
    Ok(Json(DueResponse { due }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElapsedRequest {
    calendar: CalendarSpec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ElapsedResponse {
    /// Whole business minutes between the two instants.
    minutes: i64,
}

/// Business-time arithmetic: the business minutes between two instants.
#[utoipa::path(post, path = "/v1/sla/elapsed", tag = "sla", request_body = ElapsedRequest,
    responses((status = 200, body = ElapsedResponse), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn calendar_elapsed(
    Caller(_): Caller,
    Body(req): Body<ElapsedRequest>,
) -> ApiResult<Json<ElapsedResponse>> {
    let minutes = calendar(req.calendar)?
        .elapsed(req.from, req.to)
        .num_minutes();
    Ok(Json(ElapsedResponse { minutes }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyRequest {
    name: String,
    /// `{"timezone": "America/New_York", "weekly": {"mon": [["09:00","17:00"]], ...},
    /// "holidays": ["2026-12-25"]}`.
    calendar: CalendarSpec,
    /// Per priority (`critical`, `high`, `medium`, `low`):
    /// `{"first_response_minutes": 60, "resolution_minutes": 480}`.
    targets: BTreeMap<Priority, Targets>,
    /// Rules: `{"clock": "response", "trigger": {"kind": "percent", "percent": 75},
    /// "action": {"kind": "notify_role", "role": "msp_admin"}}`.
    #[serde(default)]
    escalations: Vec<EscalationRule>,
    /// Assigns the policy as the org's default (an MSP's: its clients' too).
    #[serde(default)]
    default: bool,
    /// Minutes (wall-clock, 1 to 1440) a chat waits for the service desk's
    /// first answer before its requester is offered to leave it as a
    /// ticket; 3 when left out.
    #[serde(default = "default_chat_answer_minutes")]
    chat_answer_minutes: u32,
}

fn default_chat_answer_minutes() -> u32 {
    DEFAULT_CHAT_ANSWER_MINUTES
}

impl From<SlaPolicyRequest> for NewSlaPolicy {
    fn from(r: SlaPolicyRequest) -> Self {
        Self {
            name: r.name,
            calendar: r.calendar,
            targets: r.targets,
            escalations: r.escalations,
            default: r.default,
            chat_answer_minutes: r.chat_answer_minutes,
        }
    }
}

/// The org's SLA policies.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/sla-policies", tag = "sla",
    params(("org_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<regentra_core::psa::sla_policy::SlaPolicy>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_sla_policies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let policies = state
        .regentra
        .sla_policies(&caller, org, page.request())
        .await?;
    Ok(Json(page.listed(policies).map(|p| json!(p))))
}

/// Creates an SLA policy (the calendar is checked: zone, hours, holidays).
#[utoipa::path(post, path = "/v1/orgs/{org_id}/sla-policies", tag = "sla",
    params(("org_id" = Uuid, Path)), request_body = SlaPolicyRequest,
    responses((status = 201, body = regentra_core::psa::sla_policy::SlaPolicy), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_sla_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<SlaPolicyRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let policy = state
        .regentra
        .create_sla_policy(&caller, org, req.into())
        .await?;
    Ok((StatusCode::CREATED, Json(json!(policy))))
}

/// When a ticket opened now would be due under a policy, per priority,
/// before it is saved (the policy is checked as saving would check it,
/// but nothing is written).
#[utoipa::path(post, path = "/v1/orgs/{org_id}/sla-policies/preview", tag = "sla",
    params(("org_id" = Uuid, Path)), request_body = SlaPolicyRequest,
    responses((status = 200, body = Vec<regentra_core::psa::sla_policy::DuePreview>), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn preview_sla_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<SlaPolicyRequest>,
) -> ApiResult<Json<Value>> {
    let due = state
        .regentra
        .preview_sla_policy(&caller, org, &req.into())
        .await?;
    Ok(Json(json!(due)))
}

/// Replaces an SLA policy; open tickets keep the revision they started on.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/sla-policies/{policy_id}", tag = "sla",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)), request_body = SlaPolicyRequest,
    responses((status = 200, body = regentra_core::psa::sla_policy::SlaPolicy), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn update_sla_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, SlaPolicyId)>,
    Body(req): Body<SlaPolicyRequest>,
) -> ApiResult<Json<Value>> {
    let policy = state
        .regentra
        .update_sla_policy(&caller, org, id, req.into())
        .await?;
    Ok(Json(json!(policy)))
}
