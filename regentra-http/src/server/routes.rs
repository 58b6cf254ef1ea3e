//! The routes. Request bodies are their own types (unknown fields are
//! refused); ids, org and role come from the path and the token, never from
//! a body.

use std::sync::LazyLock;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use regentra_core::catalog::{Catalog, RequirementRef};
use regentra_core::compliance::{ControlStatus, ControlUpdate, RequirementStatus};
use regentra_core::ids::{OrgId, TicketId, UserId};
use regentra_core::psa::Priority;
use regentra_core::psa::ticket::{NewTicket, TicketStatus, sla_view};
use regentra_core::rbac::Role;
use regentra_core::store::PageRequest;
use regentra_core::tenancy::OrgKind;
use regentra_core::{Error, Principal};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::problem::{ApiError, Body, Problem};

type ApiResult<T> = Result<T, ApiError>;

/// Path parameters whose rejection is a 404 problem (an id that does not
/// parse names nothing that exists).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Id<T>(pub T);

impl From<PathRejection> for Problem {
    fn from(_: PathRejection) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "no such resource",
        )
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/login", post(login))
        .route("/v1/me", get(me))
        .route("/v1/frameworks", get(frameworks))
        .route("/v1/orgs", post(create_org))
        .route(
            "/v1/orgs/{org_id}/clients",
            post(create_client).get(list_clients),
        )
        .route(
            "/v1/orgs/{org_id}/members",
            post(add_member).get(list_members),
        )
        .route("/v1/orgs/{org_id}/members/{user_id}", delete(remove_member))
        .route("/v1/orgs/{org_id}/frameworks", post(adopt))
        .route("/v1/orgs/{org_id}/frameworks/{framework}", delete(unadopt))
        .route(
            "/v1/orgs/{org_id}/frameworks/{framework}/gap-analysis",
            get(gap_analysis),
        )
        .route("/v1/orgs/{org_id}/controls", get(controls))
        .route(
            "/v1/orgs/{org_id}/controls/{control}",
            patch(update_control),
        )
        .route("/v1/orgs/{org_id}/tickets", post(create_ticket))
        .route("/v1/orgs/{org_id}/tickets/{ticket_id}", get(ticket))
        .route("/v1/orgs/{org_id}/audit", get(audit))
        .route("/v1/orgs/{org_id}/audit/verify", get(verify_audit))
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such route",
            )
        })
}

// ----- auth -----------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

/// A hash to check against when the email is unknown, so a failed login
/// costs the same either way.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    regentra_core::auth::hash_password("decoy password for timing").unwrap_or_default()
});

async fn login(
    State(state): State<AppState>,
    Body(req): Body<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let material = state.regentra.login_material(&req.email).await?;
    let (user, phc) = match material {
        Some((user, phc)) => (Some(user), phc),
        None => (None, DECOY.clone()),
    };
    // argon2 is slow by design: keep it off the async threads.
    let password = req.password;
    let ok =
        tokio::task::spawn_blocking(move || regentra_core::auth::verify_password(&password, &phc))
            .await
            .map_err(|e| ApiError(Error::storage(e.to_string())))?;
    let user = match (user, ok) {
        (Some(user), true) => user,
        _ => return Err(ApiError(Error::Unauthenticated)),
    };
    let (_, token) = state
        .regentra
        .issue_token(&Principal::new(user), "login")
        .await?;
    Ok(Json(json!({ "token": token, "user_id": user })))
}

async fn me(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<Value>> {
    let orgs = state.regentra.my_organizations(&caller).await?;
    let memberships: Vec<Value> = orgs
        .iter()
        .flat_map(|access| {
            access.roles.iter().map(|grant| {
                json!({ "org_id": access.org.id, "org_name": access.org.name, "role": grant.role, "via": grant.via })
            })
        })
        .collect();
    Ok(Json(
        json!({ "user_id": caller.user, "memberships": memberships }),
    ))
}

// ----- tenancy --------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOrg {
    name: String,
    kind: OrgKind,
}

async fn create_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(req): Body<CreateOrg>,
) -> ApiResult<impl IntoResponse> {
    let org = state
        .regentra
        .create_organization(&caller, &req.name, req.kind)
        .await?;
    Ok((StatusCode::CREATED, Json(org)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateClient {
    name: String,
}

async fn create_client(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(msp): Id<OrgId>,
    Body(req): Body<CreateClient>,
) -> ApiResult<impl IntoResponse> {
    let org = state
        .regentra
        .create_client(&caller, msp, &req.name)
        .await?;
    Ok((StatusCode::CREATED, Json(org)))
}

async fn list_clients(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(msp): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    let clients = state
        .regentra
        .list_clients(&caller, msp, PageRequest::first(500))
        .await?;
    Ok(Json(json!({ "items": clients })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddMember {
    email: String,
    name: String,
    role: Role,
}

async fn add_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<AddMember>,
) -> ApiResult<impl IntoResponse> {
    let m = state
        .regentra
        .add_member(&caller, org, &req.email, &req.name, req.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user_id": m.user, "role": m.role })),
    ))
}

async fn list_members(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    let members = state
        .regentra
        .list_members(&caller, org, PageRequest::first(500))
        .await?;
    Ok(Json(json!({ "items": members })))
}

async fn remove_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, user)): Id<(OrgId, UserId)>,
) -> ApiResult<StatusCode> {
    state.regentra.remove_member(&caller, org, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- compliance -----------------------------------------------------------

async fn frameworks(Caller(_): Caller) -> Json<Value> {
    let items: Vec<Value> = Catalog::builtin()
        .frameworks()
        .iter()
        .map(|f| json!({ "key": f.key, "name": f.name, "version": f.version, "requirements": f.assessable().count() }))
        .collect();
    Json(json!({ "items": items }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Adopt {
    framework: String,
}

async fn adopt(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<Adopt>,
) -> ApiResult<impl IntoResponse> {
    let adoption = state
        .regentra
        .adopt_framework(&caller, org, &req.framework)
        .await?;
    Ok((StatusCode::CREATED, Json(adoption)))
}

async fn unadopt(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, framework)): Id<(OrgId, String)>,
) -> ApiResult<Json<Value>> {
    let adoption = state
        .regentra
        .unadopt_framework(&caller, org, &framework)
        .await?;
    Ok(Json(json!(adoption)))
}

#[derive(Debug, Serialize)]
struct ControlItem {
    control: String,
    status: ControlStatus,
    version: u64,
    counts: bool,
    current_evidence: usize,
    requirements: Vec<RequirementRef>,
}

async fn controls(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    let items: Vec<ControlItem> = state
        .regentra
        .controls(&caller, org)
        .await?
        .into_iter()
        .map(|v| ControlItem {
            control: v.implementation.control,
            status: v.implementation.status,
            version: v.version,
            counts: v.state.counts,
            current_evidence: v.state.current_evidence,
            requirements: v.requirements,
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchControl {
    status: Option<ControlStatus>,
    justification: Option<String>,
    notes: Option<String>,
    /// The version the caller read; a stale one is a 409.
    version: Option<u64>,
}

async fn update_control(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, control)): Id<(OrgId, String)>,
    Body(req): Body<PatchControl>,
) -> ApiResult<Json<Value>> {
    let update = ControlUpdate {
        status: req.status,
        justification: req.justification,
        notes: req.notes,
        ..Default::default()
    };
    let updated = state
        .regentra
        .update_control(&caller, org, &control, req.version, update)
        .await?;
    Ok(Json(
        json!({ "control": updated.value.control, "status": updated.value.status, "version": updated.version }),
    ))
}

#[derive(Debug, Serialize)]
struct RequirementItem {
    id: String,
    status: RequirementStatus,
    controls: Vec<String>,
    missing: Vec<String>,
}

async fn gap_analysis(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, framework)): Id<(OrgId, String)>,
) -> ApiResult<Json<Value>> {
    let analysis = state.regentra.gap_analysis(&caller, org).await?;
    let gaps = analysis
        .framework(&framework)
        .ok_or(ApiError(Error::NotFound {
            what: "adopted framework",
        }))?;
    let requirements: Vec<RequirementItem> = gaps
        .requirements
        .iter()
        .map(|r| RequirementItem {
            id: r.id.clone(),
            status: r.status,
            controls: r.controls.clone(),
            missing: r.missing.clone(),
        })
        .collect();
    Ok(Json(json!({
        "framework": gaps.framework,
        "score": gaps.score,
        "totals": gaps.totals,
        "sections": gaps.sections,
        "priorities": gaps.priorities,
        "requirements": requirements,
    })))
}

// ----- tickets --------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTicket {
    subject: String,
    #[serde(default)]
    description: String,
    priority: Priority,
}

#[derive(Debug, Serialize)]
struct TicketBody {
    id: TicketId,
    number: u64,
    subject: String,
    status: TicketStatus,
    priority: Priority,
    requester: UserId,
    sla: Option<SlaBody>,
}

#[derive(Debug, Serialize)]
struct SlaBody {
    response_due: Option<DateTime<Utc>>,
    resolution_due: Option<DateTime<Utc>>,
    response_breached: bool,
    resolution_breached: bool,
}

fn ticket_body(t: regentra_core::psa::ticket::Ticket) -> ApiResult<TicketBody> {
    let sla = sla_view(&t, Utc::now())?.map(|v| SlaBody {
        response_due: v.response.due,
        resolution_due: v.resolution.due,
        response_breached: v.response.breached,
        resolution_breached: v.resolution.breached,
    });
    Ok(TicketBody {
        id: t.id,
        number: t.number,
        subject: t.title,
        status: t.status,
        priority: t.priority,
        requester: t.requester,
        sla,
    })
}

async fn create_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<CreateTicket>,
) -> ApiResult<impl IntoResponse> {
    let new = NewTicket {
        title: req.subject,
        description: req.description,
        priority: req.priority,
        requester: None,
    };
    let t = state.regentra.create_ticket(&caller, org, new).await?;
    Ok((StatusCode::CREATED, Json(ticket_body(t)?)))
}

async fn ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, TicketId)>,
) -> ApiResult<Json<TicketBody>> {
    Ok(Json(ticket_body(
        state.regentra.ticket(&caller, org, id).await?,
    )?))
}

// ----- audit ----------------------------------------------------------------

async fn audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    let events = state.regentra.audit_log(&caller, org, None, 500).await?;
    Ok(Json(json!({ "items": events })))
}

async fn verify_audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    let report = state.regentra.verify_audit_chain(&caller, org).await?;
    Ok(Json(json!({
        "ok": report.first_break.is_none(),
        "events": report.events,
        "head": report.head,
        "first_break": report.first_break,
    })))
}
