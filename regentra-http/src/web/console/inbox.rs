//! The inbox (`/app/inbox`): every notification addressed to the person,
//! in every org they act in, newest first, each said in words with a link
//! to what it is about, unread ones marked; marking one or all read.
//! The same core operations as `/v1/me/notifications`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use regentra_core::ids::NotificationId;
use regentra_core::notify::{InboxItem, NotificationKind};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{Shell, failed, staff, staff_form};
use crate::server::AppState;
use crate::web::render;

/// Notifications per page.
const PAGE: usize = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/inbox", get(page))
        .route("/app/inbox/read-all", post(mark_all_read))
        .route("/app/inbox/{notification_id}/read", post(mark_read))
}

/// One notification as the inbox lists it.
struct Entry {
    id: Uuid,
    org: String,
    title: String,
    detail: Option<String>,
    href: Option<String>,
    when: String,
    unread: bool,
    /// `danger`, `warning` or `info`: the badge's color.
    tone: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "web/console/inbox.html")]
struct InboxPage {
    shell: Option<Shell>,
    chrome: crate::web::Chrome,
    csrf_field: crate::web::CsrfField,
    entries: Vec<Entry>,
    unread: usize,
    older: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InboxQuery {
    /// The last notification of the previous page (anything else: the
    /// first page).
    before: Option<String>,
    /// `read`: one was marked read; `all`: every one was.
    done: Option<String>,
}

/// `GET /app/inbox`.
async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<InboxQuery>,
) -> Response {
    let staff = match staff(&state, &headers, "/app/inbox").await {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    let found = match state
        .regentra
        .inbox(
            &staff.caller,
            query
                .before
                .and_then(|b| b.parse::<Uuid>().ok())
                .map(NotificationId),
            PAGE,
        )
        .await
    {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let older = found
        .more
        .then(|| found.items.last())
        .flatten()
        .map(|last| format!("/app/inbox?before={}", last.notification.id.0));
    // Each notification's time in its org's zone (read once per org).
    let mut zones: std::collections::HashMap<regentra_core::ids::OrgId, chrono_tz::Tz> =
        std::collections::HashMap::new();
    for item in &found.items {
        let org = item.notification.org;
        if let std::collections::hash_map::Entry::Vacant(slot) = zones.entry(org) {
            slot.insert(
                state
                    .regentra
                    .time_zone(org)
                    .await
                    .unwrap_or(chrono_tz::Tz::UTC),
            );
        }
    }
    let entries = found
        .items
        .into_iter()
        .filter_map(|item| {
            let zone = zones
                .get(&item.notification.org)
                .copied()
                .unwrap_or(chrono_tz::Tz::UTC);
            entry(&staff.org_names, zone, item)
        })
        .collect();
    let notice = match query.done.as_deref() {
        Some("all") => Some("Every notification is marked read.".to_owned()),
        Some("read") => Some("Marked read.".to_owned()),
        _ => None,
    };
    let shell = Shell::personal(&staff, "inbox", "Inbox");
    render(
        StatusCode::OK,
        &InboxPage {
            chrome: shell.chrome.clone(),
            csrf_field: shell.csrf_field.clone(),
            shell: Some(shell),
            entries,
            unread: found.unread,
            older,
            notice,
        },
    )
}

/// A notification in words. Webhook entries (addressed to a system, not
/// a person) are never in an inbox; if one were, it is left out.
fn entry(
    names: &std::collections::HashMap<regentra_core::ids::OrgId, String>,
    zone: chrono_tz::Tz,
    item: InboxItem,
) -> Option<Entry> {
    let n = item.notification;
    let p = &n.payload;
    let text = |key: &str| p.get(key).and_then(Value::as_str).map(str::to_owned);
    let ticket = || {
        let number = p.get("number").and_then(Value::as_u64);
        let title = text("title").unwrap_or_default();
        match number {
            Some(number) => format!("#{number} {title}"),
            None => title,
        }
    };
    let ticket_href = text("ticket").map(|t| format!("/app/{}/tickets/{t}", n.org));
    let (label, tone, title, detail, href) = match n.kind {
        NotificationKind::SlaBreach => (
            "SLA breached",
            "danger",
            ticket(),
            Some("A target of this ticket's SLA has passed.".to_owned()),
            ticket_href,
        ),
        NotificationKind::SlaWarning => (
            "SLA at risk",
            "warning",
            ticket(),
            Some("A target of this ticket's SLA is close.".to_owned()),
            ticket_href,
        ),
        NotificationKind::TicketReply => (
            "Reply",
            "info",
            ticket(),
            Some("There is a new reply on this ticket.".to_owned()),
            ticket_href,
        ),
        NotificationKind::ChatWaiting => (
            "Chat",
            "warning",
            "A client is waiting in a chat".to_owned(),
            None,
            text("chat").map(|c| format!("/app/{}/chats/{c}", n.org)),
        ),
        NotificationKind::CampaignInvitation | NotificationKind::CampaignReminder => (
            if n.kind == NotificationKind::CampaignReminder {
                "Reminder"
            } else {
                "Policy"
            },
            "info",
            format!(
                "Please read and acknowledge {}",
                text("title").unwrap_or_else(|| "a policy".to_owned())
            ),
            None,
            text("campaign").map(|c| format!("/sign/{}/{c}", n.org)),
        ),
        NotificationKind::MfaReset => (
            "Security",
            "danger",
            "An administrator turned off your two-step sign-in".to_owned(),
            Some("Set it up again from your profile.".to_owned()),
            Some("/app/profile".to_owned()),
        ),
        NotificationKind::Webhook => return None,
    };
    Some(Entry {
        id: n.id.0,
        org: names.get(&n.org).cloned().unwrap_or_default(),
        title,
        detail,
        href,
        when: n
            .created_at
            .with_timezone(&zone)
            .format("%-d %b %Y, %H:%M %Z")
            .to_string(),
        unread: item.read_at.is_none(),
        tone,
        label,
    })
}

#[derive(Debug, Deserialize)]
struct NoFields {}

/// `POST /app/inbox/{id}/read`.
async fn mark_read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let (staff, _) = match staff_form::<NoFields>(&state, "/app/inbox", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return super::not_found_page(&staff, None);
    };
    match state
        .regentra
        .mark_notification_read(&staff.caller, NotificationId(id))
        .await
    {
        Ok(_) => Redirect::to("/app/inbox?done=read").into_response(),
        Err(e) => failed(&e),
    }
}

/// `POST /app/inbox/read-all`.
async fn mark_all_read(State(state): State<AppState>, request: Request) -> Response {
    let (staff, _) = match staff_form::<NoFields>(&state, "/app/inbox", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state
        .regentra
        .mark_all_notifications_read(&staff.caller)
        .await
    {
        Ok(_) => Redirect::to("/app/inbox?done=all").into_response(),
        Err(e) => failed(&e),
    }
}
