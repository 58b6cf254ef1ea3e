//! Policies (drafts, approval, immutable published versions), templates,
//! acknowledgment campaigns, signing and completion.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use regentra_core::ids::{CampaignId, OrgId, PolicyId, UserId};
use regentra_core::policies::campaign::NewCampaign;
use regentra_core::policies::service::NewPolicy;
use regentra_core::policies::{Audience, ReminderCadence};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::compliance::{ReportQuery, document};
use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{Page, Paged};
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(templates))
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(from_template))
        .routes(routes!(policy))
        .routes(routes!(policy_people))
        .routes(routes!(edit_draft))
        .routes(routes!(submit))
        .routes(routes!(approve))
        .routes(routes!(publish))
        .routes(routes!(retire))
        .routes(routes!(launch_campaign))
        .routes(routes!(list_campaigns))
        .routes(routes!(completion))
        .routes(routes!(add_to_campaign))
        .routes(routes!(policy_to_sign, sign))
        .routes(routes!(close_campaign))
        .routes(routes!(remind))
        .routes(routes!(campaign_report))
        .routes(routes!(my_acknowledgments))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateItem {
    key: String,
    title: String,
    category: String,
    summary: String,
    /// The common controls a policy made from it supports.
    controls: Vec<regentra_core::catalog::ControlRef>,
}

/// The built-in policy templates.
#[utoipa::path(get, path = "/v1/policy-templates", tag = "policies",
    responses((status = 200, body = Paged<TemplateItem>)),
    security(("bearer" = [])))]
async fn templates(Caller(_): Caller) -> Json<Paged<TemplateItem>> {
    let items = regentra_core::policies::templates::templates()
        .iter()
        .map(|t| TemplateItem {
            key: t.key.clone(),
            title: t.title.clone(),
            category: t.category.clone(),
            summary: t.summary.clone(),
            controls: regentra_core::catalog::Catalog::builtin().control_refs(&t.controls),
        })
        .collect();
    Json(Paged {
        items,
        next_cursor: None,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePolicy {
    title: String,
    category: String,
    owner: Option<UserId>,
    /// Common control keys the policy supports.
    #[serde(default)]
    controls: BTreeSet<String>,
    /// Markdown.
    body: String,
}

/// The org's policies.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/policies", tag = "policies",
    params(("org_id" = Uuid, Path), crate::server::page::PageQuery),
    responses((status = 200, body = Paged<regentra_core::policies::Policy>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_policies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let policies = state
        .regentra
        .policies(&caller, org, page.request())
        .await?;
    Ok(Json(page.listed(policies).map(|p| json!(p))))
}

/// Creates a policy with a first draft.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/policies", tag = "policies",
    params(("org_id" = Uuid, Path)), request_body = CreatePolicy,
    responses((status = 201, body = regentra_core::policies::Policy), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<CreatePolicy>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewPolicy {
        title: req.title,
        category: req.category,
        owner: req.owner,
        controls: req.controls,
        body: req.body,
    };
    let policy = state.regentra.create_policy(&caller, org, new).await?;
    Ok((StatusCode::CREATED, Json(json!(policy))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromTemplate {
    /// A key from `GET /v1/policy-templates`.
    template: String,
    owner: Option<UserId>,
    /// How the owner is named in the text (e.g. "Security Officer").
    owner_role: String,
}

/// Creates a policy from a template, filled in with the org's name.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/policies/from-template", tag = "policies",
    params(("org_id" = Uuid, Path)), request_body = FromTemplate,
    responses((status = 201, body = regentra_core::policies::Policy), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn from_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<FromTemplate>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let policy = state
        .regentra
        .create_policy_from_template(&caller, org, &req.template, req.owner, &req.owner_role)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(policy))))
}

/// A policy with its versions.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/policies/{policy_id}", tag = "policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::policies::service::PolicyView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, PolicyId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.regentra.policy(&caller, org, id).await?)))
}

/// The org's members by name and role: whom a policy may be owned by and a
/// campaign may ask, and the names behind the ids a policy's versions record.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/policy-people", tag = "policies",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = Paged<regentra_core::policies::service::PolicyPerson>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn policy_people(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Paged<regentra_core::policies::service::PolicyPerson>>> {
    let items = state.regentra.policy_people(&caller, org).await?;
    Ok(Json(Paged {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditDraft {
    title: Option<String>,
    body: String,
}

/// Edits the policy's draft (starting one after a published version).
#[utoipa::path(put, path = "/v1/orgs/{org_id}/policies/{policy_id}/draft", tag = "policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)), request_body = EditDraft,
    responses((status = 200, body = regentra_core::policies::PolicyVersion), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn edit_draft(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, PolicyId)>,
    Body(req): Body<EditDraft>,
) -> ApiResult<Json<Value>> {
    let version = state
        .regentra
        .edit_policy(&caller, org, id, req.title.as_deref(), &req.body)
        .await?;
    Ok(Json(json!(version)))
}

/// Submits the draft for approval.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/policies/{policy_id}/submit", tag = "policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::policies::PolicyVersion), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn submit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, PolicyId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.submit_policy(&caller, org, id).await?
    )))
}

/// Approves the submitted version.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/policies/{policy_id}/approve", tag = "policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::policies::PolicyVersion), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn approve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, PolicyId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.approve_policy(&caller, org, id).await?
    )))
}

/// Publishes the approved version: immutable and hashed from now on.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/policies/{policy_id}/publish", tag = "policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::policies::PolicyVersion), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn publish(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, PolicyId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.publish_policy(&caller, org, id).await?
    )))
}

/// Retires a policy.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/policies/{policy_id}/retire", tag = "policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::policies::Policy), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn retire(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, PolicyId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.retire_policy(&caller, org, id).await?
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchCampaign {
    title: Option<String>,
    /// `{"kind": "everyone"}`, `{"kind": "roles", "of": ["employee"]}` or
    /// `{"kind": "users", "of": [user ids]}`.
    audience: Audience,
    due: DateTime<Utc>,
    /// Reminder cadence: `every_days`, `overdue_every_days`, `max`.
    #[serde(default)]
    cadence: ReminderCadence,
}

/// Launches an acknowledgment campaign for the policy's published version.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/policies/{policy_id}/campaigns", tag = "campaigns",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)), request_body = LaunchCampaign,
    responses((status = 201, body = regentra_core::policies::Campaign), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn launch_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, policy)): Id<(OrgId, PolicyId)>,
    Body(req): Body<LaunchCampaign>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewCampaign {
        title: req.title,
        audience: req.audience,
        due: req.due,
        cadence: req.cadence,
    };
    let campaign = state
        .regentra
        .launch_campaign(&caller, org, policy, new)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(campaign))))
}

/// The org's campaigns.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/campaigns", tag = "campaigns",
    params(("org_id" = Uuid, Path), crate::server::page::PageQuery),
    responses((status = 200, body = Paged<regentra_core::policies::Campaign>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_campaigns(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let campaigns = state
        .regentra
        .campaigns(&caller, org, page.request())
        .await?;
    Ok(Json(page.listed(campaigns).map(|c| json!(c))))
}

/// A campaign's completion: who signed, who is pending, who is overdue.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/campaigns/{campaign_id}", tag = "campaigns",
    params(("org_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::policies::Completion), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn completion(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, CampaignId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.campaign_completion(&caller, org, id).await?
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddToCampaign {
    user_id: UserId,
}

/// Adds a member who joined after launch to a campaign's audience.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/campaigns/{campaign_id}/audience", tag = "campaigns",
    params(("org_id" = Uuid, Path), ("campaign_id" = Uuid, Path)), request_body = AddToCampaign,
    responses((status = 201, body = regentra_core::policies::Acknowledgment), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_to_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, CampaignId)>,
    Body(req): Body<AddToCampaign>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let ack = state
        .regentra
        .add_to_campaign(&caller, org, id, req.user_id)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(ack))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sign {
    /// The signer's name as typed: part of the signature record.
    typed_name: String,
}

/// What the caller is asked to sign in this campaign: the policy version's
/// text (markdown) and hash, and their acknowledgment (pending or signed).
/// 404 for anyone the campaign does not ask.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/campaigns/{campaign_id}/sign", tag = "campaigns",
    params(("org_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::policies::campaign::PolicyToSign), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn policy_to_sign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, CampaignId)>,
) -> ApiResult<Json<regentra_core::policies::campaign::PolicyToSign>> {
    Ok(Json(state.regentra.policy_to_sign(&caller, org, id).await?))
}

/// Signs the caller's own acknowledgment; it becomes evidence at once.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/campaigns/{campaign_id}/sign", tag = "campaigns",
    params(("org_id" = Uuid, Path), ("campaign_id" = Uuid, Path)), request_body = Sign,
    responses((status = 200, body = regentra_core::policies::Acknowledgment), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn sign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, CampaignId)>,
    Body(req): Body<Sign>,
) -> ApiResult<Json<Value>> {
    let ack = state
        .regentra
        .sign_acknowledgment(&caller, org, id, &req.typed_name)
        .await?;
    Ok(Json(json!(ack)))
}

/// Closes a campaign.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/campaigns/{campaign_id}/close", tag = "campaigns",
    params(("org_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::policies::Campaign), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn close_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, CampaignId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.close_campaign(&caller, org, id).await?
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reminded {
    /// Reminders queued in the outbox.
    queued: usize,
}

/// Reminds everyone still pending now, outside the cadence.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/campaigns/{campaign_id}/remind", tag = "campaigns",
    params(("org_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = Reminded), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn remind(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, CampaignId)>,
) -> ApiResult<Json<Reminded>> {
    let queued = state.regentra.remind_now(&caller, org, id).await?;
    Ok(Json(Reminded { queued }))
}

/// The campaign's signature report: one row per person (`?format=csv` for a file).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/campaigns/{campaign_id}/report", tag = "campaigns",
    params(("org_id" = Uuid, Path), ("campaign_id" = Uuid, Path), ReportQuery),
    responses((status = 200, description = "JSON rows, or CSV"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn campaign_report(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, CampaignId)>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    match q.format() {
        "json" => {
            let rows = state.regentra.campaign_rows(&caller, org, id).await?;
            Ok(Json(json!({ "items": rows })).into_response())
        }
        "csv" => {
            let csv = state.regentra.campaign_csv(&caller, org, id).await?;
            Ok(document("text/csv; charset=utf-8", "campaign", csv))
        }
        _ => Err(Problem::invalid_field("format", "must be json or csv").into()),
    }
}

/// The caller's own acknowledgments in this org, pending and signed.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/me/acknowledgments", tag = "campaigns",
    params(("org_id" = Uuid, Path), crate::server::page::PageQuery),
    responses((status = 200, body = Paged<regentra_core::policies::campaign::MyAcknowledgment>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn my_acknowledgments(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let mine = state
        .regentra
        .my_acknowledgments(&caller, org, page.request())
        .await?;
    Ok(Json(page.listed(mine).map(|m| json!(m))))
}
