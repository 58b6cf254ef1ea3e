//! The audit chain and its verification, a ticket's trail, and the
//! notification outbox.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use regentra_core::audit::AuditEvent;
use regentra_core::ids::{OrgId, TicketId, UserId};
use regentra_core::store::Listing;
use regentra_core::tenancy::{AuditQuery, ChainVerification};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{self, Page, PageQuery, Paged, Position};
use crate::server::problem::Problem;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit))
        .routes(routes!(ticket_audit))
        .routes(routes!(control_history))
        .routes(routes!(platform_audit))
        .routes(routes!(verify))
        .routes(routes!(outbox))
}

/// Filters of an audit list, with its page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditListQuery {
    /// Events at this instant or later (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Events before this instant (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// Events this user acted in. A page reads a bounded stretch of the
    /// chain: it may hold fewer items than asked, with a `next_cursor` to
    /// go on from.
    actor: Option<UserId>,
    /// Events whose action starts with this (`ticket.` for every ticket
    /// event); filtered like `actor`, a bounded stretch per page.
    kind: Option<String>,
    /// Items per page (default 50, at most 500; larger values are capped).
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl AuditListQuery {
    fn to_query(&self) -> ApiResult<AuditQuery> {
        let page = Page::parse(PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        })?;
        let after = match page.position {
            Position::Start => None,
            Position::AfterSeq(seq) => Some(seq),
            _ => {
                return Err(
                    Problem::invalid_field("cursor", "is not a cursor of this list").into(),
                );
            }
        };
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to < from
        {
            return Err(regentra_core::Error::invalid("to", "must not be before from").into());
        }
        let query = AuditQuery {
            after,
            from: self.from,
            to: self.to,
            actor: self.actor,
            kind: self.kind.clone().filter(|k| !k.is_empty()),
            limit: page.limit,
        };
        Ok(query)
    }
}

fn audit_paged(listing: Listing<AuditEvent, u64>) -> Paged<Value> {
    Paged {
        next_cursor: listing
            .next
            .map(|seq| page::encode(Position::AfterSeq(seq))),
        items: listing.items.into_iter().map(|e| json!(e)).collect(),
    }
}

/// The org's audit events in chain order, by time range and actor.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/audit", tag = "audit",
    params(("org_id" = Uuid, Path), AuditListQuery),
    responses((status = 200, body = Paged<regentra_core::audit::AuditEvent>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<AuditListQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let query = q.to_query()?;
    let events = state.regentra.audit_log(&caller, org, query).await?;
    Ok(Json(audit_paged(events)))
}

/// A ticket's audit trail, oldest first: the events about the ticket (its
/// creation, status, priority and assignment changes, replies and notes,
/// files, linked assets) and about its time entries. For those who read
/// the org's audit log or work its tickets.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/audit", tag = "audit",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<regentra_core::audit::AuditEvent>), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn ticket_audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, ticket)): Id<(OrgId, TicketId)>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let after = match page.position {
        Position::Start => None,
        Position::AfterSeq(seq) => Some(seq),
        _ => {
            return Err(Problem::invalid_field("cursor", "is not a cursor of this list").into());
        }
    };
    let events = state
        .regentra
        .ticket_audit_trail(&caller, org, ticket, after, page.limit)
        .await?;
    Ok(Json(audit_paged(events)))
}

/// A control's history, oldest first: every change of its status, owner,
/// notes or review dates, with who made it. For those who read the org's
/// controls.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/controls/{control}/history", tag = "compliance",
    params(("org_id" = Uuid, Path), ("control" = String, Path), PageQuery),
    responses((status = 200, body = Paged<regentra_core::audit::AuditEvent>), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn control_history(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, control)): Id<(OrgId, String)>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let after = match page.position {
        Position::Start => None,
        Position::AfterSeq(seq) => Some(seq),
        _ => {
            return Err(Problem::invalid_field("cursor", "is not a cursor of this list").into());
        }
    };
    let events = state
        .regentra
        .control_history(&caller, org, &control, after, page.limit)
        .await?;
    Ok(Json(audit_paged(events)))
}

/// The platform's own audit events in chain order (accounts, passwords,
/// new tenants, refused attaches of existing accounts): platform operators
/// only.
#[utoipa::path(get, path = "/v1/platform/audit", tag = "audit",
    params(AuditListQuery),
    responses((status = 200, body = Paged<regentra_core::audit::AuditEvent>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn platform_audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<AuditListQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let query = q.to_query()?;
    let events = state.regentra.platform_audit_log(&caller, query).await?;
    Ok(Json(audit_paged(events)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// Whether every link of the chain holds.
    ok: bool,
    /// Events in the chain.
    events: u64,
    /// Events read and checked by this verification.
    checked: u64,
    /// The event an earlier verification vouched for, where this one
    /// started; absent for a full verification or the first one.
    from_checkpoint: Option<u64>,
    /// The hash of the last event.
    head: Option<String>,
    /// The first broken link, when there is one.
    #[schema(value_type = Option<regentra_core::audit::ChainBreak>)]
    first_break: Option<Value>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    /// `true`: check every event from the first, not only those after the
    /// last verified checkpoint (which an edit of an older event would slip
    /// past).
    full: Option<bool>,
}

/// Verifies the org's audit chain: the events after the last verified
/// checkpoint, or every event with `?full=true`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/audit/verify", tag = "audit",
    params(("org_id" = Uuid, Path), VerifyQuery),
    responses((status = 200, body = Verification), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn verify(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<VerifyQuery>,
) -> ApiResult<Json<Verification>> {
    let how = if q.full.unwrap_or(false) {
        ChainVerification::Full
    } else {
        ChainVerification::SinceCheckpoint
    };
    let report = state.regentra.verify_audit_chain(&caller, org, how).await?;
    Ok(Json(Verification {
        ok: report.first_break.is_none(),
        events: report.events,
        checked: report.checked,
        from_checkpoint: report.from_checkpoint,
        head: report.head.map(|h| h.to_string()),
        first_break: report.first_break.map(|b| json!(b)),
    }))
}

/// The org's notification outbox, delivered or not, oldest first.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/notifications", tag = "audit",
    params(("org_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<regentra_core::notify::Notification>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn outbox(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let entries = state.regentra.outbox(&caller, org, page.request()).await?;
    Ok(Json(
        page.from_store(entries, |n| Position::AfterId(n.id.0))
            .map(|n| json!(n)),
    ))
}
