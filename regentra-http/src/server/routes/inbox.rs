//! The caller's in-app inbox: every notification addressed to them, in
//! every org they can act in, newest first, with read state.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use regentra_core::ids::{NotificationId, OrgId};
use regentra_core::notify::{InboxItem, NotificationKind};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{Page, PageQuery, Position, encode};
use crate::server::problem::Problem;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxEntry {
    id: NotificationId,
    /// The org the notification comes from.
    org_id: OrgId,
    kind: NotificationKind,
    /// What the notification is about (a campaign, a ticket), as written
    /// by the change that caused it.
    payload: Value,
    created_at: DateTime<Utc>,
    /// When the caller marked it read; absent while unread.
    #[serde(skip_serializing_if = "Option::is_none")]
    read_at: Option<DateTime<Utc>>,
}

impl From<InboxItem> for InboxEntry {
    fn from(item: InboxItem) -> Self {
        let n = item.notification;
        Self {
            id: n.id,
            org_id: n.org,
            kind: n.kind,
            payload: n.payload,
            created_at: n.created_at,
            read_at: item.read_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    /// Newest first.
    items: Vec<InboxEntry>,
    /// Unread notifications in the whole inbox, not only this page.
    unread: usize,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The caller's notifications across every org where they hold a role now,
/// newest first, a page at a time, with the unread count. A member removed
/// from an org no longer sees that org's notifications.
#[utoipa::path(get, path = "/v1/me/notifications", tag = "account",
    params(PageQuery),
    responses(
        (status = 200, body = Inbox),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn inbox(
    State(state): State<AppState>,
    Caller(caller): Caller,
    page: Page,
) -> ApiResult<Json<Inbox>> {
    let before = match page.position {
        Position::AfterId(id) => Some(NotificationId(id)),
        _ => None,
    };
    let found = state.regentra.inbox(&caller, before, page.limit).await?;
    let next_cursor = found
        .more
        .then(|| found.items.last())
        .flatten()
        .map(|last| encode(Position::AfterId(last.notification.id.0)));
    Ok(Json(Inbox {
        items: found.items.into_iter().map(InboxEntry::from).collect(),
        unread: found.unread,
        next_cursor,
    }))
}

/// Marks one of the caller's notifications read (audited in its org).
/// Marking it again changes nothing. Another user's notification is 404.
/// Reading is not delivery: webhook delivery is unaffected.
#[utoipa::path(post, path = "/v1/me/notifications/{notification_id}/read", tag = "account",
    params(("notification_id" = Uuid, Path)),
    responses(
        (status = 200, body = InboxEntry),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn mark_read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(id): Id<NotificationId>,
) -> ApiResult<Json<InboxEntry>> {
    let item = state.regentra.mark_notification_read(&caller, id).await?;
    Ok(Json(item.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// How many notifications this call marked read.
    marked: usize,
}

/// Marks every unread notification of the caller read: one commit and one
/// audit event per org.
#[utoipa::path(post, path = "/v1/me/notifications/read-all", tag = "account",
    responses((status = 200, body = MarkedRead)),
    security(("bearer" = [])))]
async fn mark_all_read(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<MarkedRead>> {
    let marked = state.regentra.mark_all_notifications_read(&caller).await?;
    Ok(Json(MarkedRead { marked }))
}
