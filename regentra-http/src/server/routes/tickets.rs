//! Tickets under SLA: create, read, status, priority, assignment, comments,
//! linked assets.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use regentra_core::ids::{AssetId, OrgId, SlaPolicyId, TicketId, UserId};
use regentra_core::psa::Priority;
use regentra_core::psa::queue::{
    AssigneeFilter, QueueCursor, QueueSort, SlaState, TicketPage, TicketQuery, closed_statuses,
    open_statuses,
};
use regentra_core::psa::ticket::{NewTicket, Ticket, TicketStatus, sla_view};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{self, Page, PageQuery, Paged, Position};
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_ticket, list_tickets))
        .routes(routes!(my_tickets))
        .routes(routes!(ticket_counts))
        .routes(routes!(my_ticket_counts))
        .routes(routes!(ticket, update_ticket))
        .routes(routes!(add_comment, list_comments))
        .routes(routes!(ticket_assets))
        .routes(routes!(link_asset, unlink_asset))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    subject: String,
    #[serde(default)]
    description: String,
    priority: Priority,
    /// Staff may open a ticket on someone's behalf; others are the requester.
    requester: Option<UserId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketBody {
    id: TicketId,
    /// The org the ticket belongs to.
    org_id: OrgId,
    /// Per-org sequence number.
    number: u64,
    subject: String,
    description: String,
    status: TicketStatus,
    priority: Priority,
    requester: UserId,
    assignee: Option<UserId>,
    assets: Vec<AssetId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Absent when no SLA policy applies to the org.
    sla: Option<SlaBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaBody {
    policy: SlaPolicyId,
    revision: u32,
    /// When the first response is due (absent once met).
    response_due: Option<DateTime<Utc>>,
    resolution_due: Option<DateTime<Utc>>,
    response_breached: bool,
    resolution_breached: bool,
    /// Business minutes left (negative once breached).
    response_remaining_minutes: i64,
    resolution_remaining_minutes: i64,
    /// False while the ticket is pending (the clock is paused).
    running: bool,
}

/// A ticket as the API shows it, with its SLA state at `now`.
pub(crate) fn ticket_body(t: Ticket, now: DateTime<Utc>) -> ApiResult<TicketBody> {
    let sla = sla_view(&t, now)?.map(|v| SlaBody {
        policy: v.policy,
        revision: v.revision,
        response_due: v.response.due,
        resolution_due: v.resolution.due,
        response_breached: v.response.breached,
        resolution_breached: v.resolution.breached,
        response_remaining_minutes: v.response.remaining_minutes,
        resolution_remaining_minutes: v.resolution.remaining_minutes,
        running: v.resolution.running,
    });
    Ok(TicketBody {
        id: t.id,
        org_id: t.org,
        number: t.number,
        subject: t.title,
        description: t.description,
        status: t.status,
        priority: t.priority,
        requester: t.requester,
        assignee: t.assignee,
        assets: t.assets.into_iter().collect(),
        created_at: t.created_at,
        updated_at: t.updated_at,
        sla,
    })
}

/// Opens a ticket; its SLA due times come from the org's policy.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/tickets", tag = "tickets",
    params(("org_id" = Uuid, Path)), request_body = CreateTicket,
    responses((status = 201, body = TicketBody), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<CreateTicket>,
) -> ApiResult<(StatusCode, Json<TicketBody>)> {
    let new = NewTicket {
        subject: req.subject,
        description: req.description,
        priority: req.priority,
        requester: req.requester,
    };
    let t = state.regentra.create_ticket(&caller, org, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(ticket_body(t, state.regentra.now())?),
    ))
}

/// The filters and order of a ticket list (with its page), as the query
/// string gives them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketListQuery {
    /// Comma-separated statuses (`new`, `open`, `pending`, `reopened`,
    /// `resolved`, `closed`), or `active` (new, open, pending, reopened) or
    /// `inactive` (resolved, closed).
    status: Option<String>,
    /// Comma-separated priorities (`critical`, `high`, `medium`, `low`).
    priority: Option<String>,
    /// `me`, `unassigned`, or a user id.
    assignee: Option<String>,
    /// `me` or a user id.
    requester: Option<String>,
    /// `breached` (a running SLA clock is past due), `at_risk` (due within
    /// the hour) or `on_track`; needs `sort=due`.
    sla: Option<String>,
    /// `oldest` (the default), `newest`, or `due` (the next SLA due time
    /// first, tickets with no running clock last).
    sort: Option<String>,
    /// Items per page (default 50, at most 500; larger values are capped).
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl TicketListQuery {
    /// The core's query for `caller`, or a problem naming the field.
    pub(crate) fn to_query(&self, caller: UserId) -> ApiResult<TicketQuery> {
        let page = Page::parse(PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        })?;
        let mut query = TicketQuery {
            limit: page.limit,
            ..TicketQuery::default()
        };
        if let Some(status) = &self.status {
            for word in words(status) {
                match word {
                    "active" => query.statuses.extend(open_statuses()),
                    "inactive" => query.statuses.extend(closed_statuses()),
                    _ => {
                        query
                            .statuses
                            .insert(parse_word("status", word, &STATUS_WORDS)?);
                    }
                }
            }
        }
        if let Some(priority) = &self.priority {
            for word in words(priority) {
                query
                    .priorities
                    .insert(parse_word("priority", word, &PRIORITY_WORDS)?);
            }
        }
        query.assignee = match self.assignee.as_deref() {
            None | Some("") => AssigneeFilter::Anyone,
            Some("me") => AssigneeFilter::User(caller),
            Some("unassigned") => AssigneeFilter::Unassigned,
            Some(other) => AssigneeFilter::User(user_id("assignee", other)?),
        };
        query.requester = match self.requester.as_deref() {
            None | Some("") => None,
            Some("me") => Some(caller),
            Some(other) => Some(user_id("requester", other)?),
        };
        query.sort = match self.sort.as_deref() {
            None | Some("") | Some("oldest") => QueueSort::Oldest,
            Some("newest") => QueueSort::Newest,
            Some("due") => QueueSort::Due,
            Some(_) => {
                return Err(
                    Problem::invalid_field("sort", "must be one of oldest, newest, due").into(),
                );
            }
        };
        query.sla = match self.sla.as_deref() {
            None | Some("") => None,
            Some("breached") => Some(SlaState::Breached),
            Some("at_risk") => Some(SlaState::AtRisk),
            Some("on_track") => Some(SlaState::OnTrack),
            Some(_) => {
                return Err(Problem::invalid_field(
                    "sla",
                    "must be one of breached, at_risk, on_track",
                )
                .into());
            }
        };
        query.after = match page.position {
            Position::Start => None,
            Position::AfterKey(key, id) => Some(QueueCursor { key, id }),
            _ => {
                return Err(
                    Problem::invalid_field("cursor", "is not a cursor of this list").into(),
                );
            }
        };
        Ok(query)
    }
}

const STATUS_WORDS: [(&str, TicketStatus); 6] = [
    ("new", TicketStatus::New),
    ("open", TicketStatus::Open),
    ("pending", TicketStatus::Pending),
    ("reopened", TicketStatus::Reopened),
    ("resolved", TicketStatus::Resolved),
    ("closed", TicketStatus::Closed),
];

const PRIORITY_WORDS: [(&str, Priority); 4] = [
    ("critical", Priority::Critical),
    ("high", Priority::High),
    ("medium", Priority::Medium),
    ("low", Priority::Low),
];

fn words(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|w| !w.is_empty())
}

fn parse_word<T: Copy>(field: &str, word: &str, known: &[(&str, T)]) -> ApiResult<T> {
    known
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|(name, _)| *name).collect();
            Problem::invalid_field(
                field,
                &format!("`{word}` is not one of {}", names.join(", ")),
            )
            .into()
        })
}

fn user_id(field: &str, text: &str) -> ApiResult<UserId> {
    uuid::Uuid::parse_str(text)
        .map(UserId)
        .map_err(|_| Problem::invalid_field(field, "must be `me` or a user id").into())
}

/// A page of tickets as the API shows them, with the cursor of the next.
pub(crate) fn ticket_page(page: TicketPage, now: DateTime<Utc>) -> ApiResult<Paged<TicketBody>> {
    let next_cursor = page
        .next
        .map(|c| page::encode(Position::AfterKey(c.key, c.id)));
    let items = page
        .items
        .into_iter()
        .map(|t| ticket_body(t, now))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Paged { items, next_cursor })
}

/// Tickets the caller can see (all of them for staff, their own
/// otherwise), filtered and ordered by the store, a page at a time.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/tickets", tag = "tickets",
    params(("org_id" = Uuid, Path), TicketListQuery),
    responses((status = 200, body = Paged<TicketBody>), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_tickets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<TicketListQuery>,
) -> ApiResult<Json<Paged<TicketBody>>> {
    let query = q.to_query(caller.user)?;
    let page = state.regentra.ticket_queue(&caller, org, query).await?;
    Ok(Json(ticket_page(page, state.regentra.now())?))
}

/// One queue across every org the caller reaches: their own orgs and, for
/// MSP staff, the clients they manage or are assigned to (staff see every
/// ticket of an org, others their own), with the same filters, orders and
/// pages as an org's list.
#[utoipa::path(get, path = "/v1/tickets", tag = "tickets",
    params(TicketListQuery),
    responses((status = 200, body = Paged<TicketBody>), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn my_tickets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<TicketListQuery>,
) -> ApiResult<Json<Paged<TicketBody>>> {
    let query = q.to_query(caller.user)?;
    let page = state.regentra.my_ticket_queue(&caller, query).await?;
    Ok(Json(ticket_page(page, state.regentra.now())?))
}

/// The numbers of the list's filter bar for the same query parameters:
/// the tickets the list holds (`total`), and per status, per SLA state,
/// assigned to the caller and unassigned, each counted with every filter
/// but its own (what choosing it would list). Counted by the store; the
/// order, page and cursor parameters play no part.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/tickets/counts", tag = "tickets",
    params(("org_id" = Uuid, Path), TicketListQuery),
    responses((status = 200, body = regentra_core::psa::queue::TicketCounts), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn ticket_counts(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<TicketListQuery>,
) -> ApiResult<Json<Value>> {
    let query = q.to_query(caller.user)?;
    Ok(Json(json!(
        state.regentra.ticket_counts(&caller, org, query).await?
    )))
}

/// The filter bar's numbers of the queue across every org the caller
/// reaches (`GET /v1/tickets`), with the same query parameters, summed.
#[utoipa::path(get, path = "/v1/tickets/counts", tag = "tickets",
    params(TicketListQuery),
    responses((status = 200, body = regentra_core::psa::queue::TicketCounts), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn my_ticket_counts(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<TicketListQuery>,
) -> ApiResult<Json<Value>> {
    let query = q.to_query(caller.user)?;
    Ok(Json(json!(
        state.regentra.my_ticket_counts(&caller, query).await?
    )))
}

/// One ticket with its SLA state now.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/tickets/{ticket_id}", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)),
    responses((status = 200, body = TicketBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, TicketId)>,
) -> ApiResult<Json<TicketBody>> {
    let t = state.regentra.ticket(&caller, org, id).await?;
    Ok(Json(ticket_body(t, state.regentra.now())?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    /// `pending` pauses the SLA clocks; `open` resumes them.
    status: Option<TicketStatus>,
    priority: Option<Priority>,
    assignee: Option<UserId>,
}

/// Changes a ticket's status, priority or assignee: one of them per request.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/tickets/{ticket_id}", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)), request_body = UpdateTicket,
    responses((status = 200, body = TicketBody), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn update_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, TicketId)>,
    Body(req): Body<UpdateTicket>,
) -> ApiResult<Json<TicketBody>> {
    // Each change is its own audited core operation; taking one per request
    // keeps a request from half-applying.
    let r = &state.regentra;
    let ticket = match (req.status, req.priority, req.assignee) {
        (Some(status), None, None) => r.set_ticket_status(&caller, org, id, status).await?,
        (None, Some(priority), None) => r.set_ticket_priority(&caller, org, id, priority).await?,
        (None, None, Some(assignee)) => r.assign_ticket(&caller, org, id, assignee).await?,
        _ => {
            return Err(regentra_core::Error::invalid(
                "status",
                "send exactly one of status, priority and assignee",
            )
            .into());
        }
    };
    Ok(Json(ticket_body(ticket, r.now())?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    body: String,
    /// Public replies are visible to the requester; internal notes are staff only.
    #[serde(default = "public_by_default")]
    public: bool,
}

fn public_by_default() -> bool {
    true
}

/// Adds a public reply or an internal note.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/comments", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)), request_body = NewComment,
    responses((status = 201, body = regentra_core::psa::ticket::Comment), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_comment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, TicketId)>,
    Body(req): Body<NewComment>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let comment = state
        .regentra
        .add_comment(&caller, org, id, &req.body, req.public)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(comment))))
}

/// A ticket's comments the caller may see, oldest first.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/comments", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<regentra_core::psa::ticket::Comment>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_comments(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, TicketId)>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let comments = state
        .regentra
        .comments(&caller, org, id, page.request())
        .await?;
    Ok(Json(
        page.from_store(comments, |c| Position::AfterId(c.id.0))
            .map(|c| json!(c)),
    ))
}

/// Links an asset to a ticket.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/assets/{asset_id}", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path), ("asset_id" = Uuid, Path)),
    responses((status = 200, body = TicketBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn link_asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id, asset)): Id<(OrgId, TicketId, AssetId)>,
) -> ApiResult<Json<TicketBody>> {
    let t = state.regentra.link_asset(&caller, org, id, asset).await?;
    Ok(Json(ticket_body(t, state.regentra.now())?))
}

/// The assets a ticket concerns, for staff who read the inventory.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/assets", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)),
    responses((status = 200, body = Paged<regentra_core::psa::records::Asset>), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn ticket_assets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, TicketId)>,
) -> ApiResult<Json<Paged<Value>>> {
    // A ticket names a few assets: one page, always the last.
    let assets = state.regentra.ticket_assets(&caller, org, id).await?;
    Ok(Json(Paged {
        items: assets.into_iter().map(|a| json!(a)).collect(),
        next_cursor: None,
    }))
}

/// Takes an asset off a ticket (404 for an asset the ticket does not name).
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/assets/{asset_id}", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path), ("asset_id" = Uuid, Path)),
    responses((status = 200, body = TicketBody), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn unlink_asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id, asset)): Id<(OrgId, TicketId, AssetId)>,
) -> ApiResult<Json<TicketBody>> {
    let t = state.regentra.unlink_asset(&caller, org, id, asset).await?;
    Ok(Json(ticket_body(t, state.regentra.now())?))
}
