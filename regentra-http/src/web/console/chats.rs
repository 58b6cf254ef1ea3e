//! The chat console: the chats of every client the person answers for
//! (`/app/all/chats`) or of one (`/app/{org}/chats`), those waiting for a
//! first answer called out at the top and refreshed live; a chat as the
//! service desk answers it (`/app/{org}/chats/{chat}`), live over the
//! chat's WebSocket with the portal's own chat script, beside the client's
//! recent tickets; ending it, or turning it into a ticket. Without
//! JavaScript the answer form posts and the page reloads.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono_tz::Tz;
use regentra_core::Error;
use regentra_core::ids::ChatId;
use regentra_core::psa::Priority;
use regentra_core::psa::chat::{ChatFilter, ChatSession, ChatStatus};
use regentra_core::psa::queue::{QueueSort, TicketQuery};
use regentra_core::rbac::Permission;
use regentra_core::store::{PageRequest, ScanRequest};
use serde::Deserialize;

use super::tickets::{Badge, When, people_names, status_badge, when};
use super::{Scope, Section, Shell, Staff, failed, not_found_page, staff_form, staff_in};
use crate::server::AppState;
use crate::server::page::{self, Page, PageQuery as CursorQuery, Position};
use crate::web::{Chrome, CsrfField, render};

/// Chats per page of the list.
const PAGE_SIZE: usize = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/chats/waiting", get(waiting))
        .route("/app/{scope}/chats", get(list))
        .route("/app/{scope}/chats/{chat_id}", get(page))
        .route("/app/{scope}/chats/{chat_id}/messages", post(send))
        .route("/app/{scope}/chats/{chat_id}/close", post(close))
        .route("/app/{scope}/chats/{chat_id}/ticket", post(to_ticket))
}

// ---- the list -------------------------------------------------------------

/// Where a chat stands, for the list's badge.
fn chat_badge(chat: &ChatSession) -> Badge {
    let (label, class) = match (chat.status, chat.staff, chat.ticket) {
        (ChatStatus::Open, None, _) => ("Waiting for an answer", "badge-warning"),
        (ChatStatus::Open, Some(_), _) => ("In progress", "badge-info"),
        (ChatStatus::Closed, _, Some(_)) => ("Became a ticket", "badge-muted"),
        (ChatStatus::Closed, _, None) => ("Ended", "badge-muted"),
    };
    Badge { label, class }
}

/// One chat of the list.
struct ChatRow {
    href: String,
    requester: String,
    client: String,
    badge: Badge,
    waiting: bool,
    started: When,
    last: When,
    answered_by: String,
}

/// A choice of the list's filter.
struct ShowLink {
    label: &'static str,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "web/console/chats.html")]
struct ListPage {
    shell: Option<Shell>,
    chrome: Chrome,
    heading: String,
    all_clients: bool,
    show: &'static str,
    filters: Vec<ShowLink>,
    rows: Vec<ChatRow>,
    next_page: Option<String>,
    first_page: Option<String>,
}

impl ListPage {
    /// The chats nobody of the service desk has answered yet, on this page.
    fn waiting(&self) -> Vec<&ChatRow> {
        self.rows.iter().filter(|r| r.waiting).collect()
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// `open` (default), `closed`, `any`.
    show: Option<String>,
    after: Option<String>,
}

/// `GET /app/{scope}/chats?show=&after=`: the chats of the scope, newest
/// activity first.
async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/chats");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !staff.sees(&scope, Section::Chats) {
        return not_found_page(&staff, Some(&scope));
    }
    let (show, filter) = match query.show.as_deref() {
        Some("closed") => ("closed", ChatFilter::Closed),
        Some("any") => ("any", ChatFilter::Any),
        _ => ("open", ChatFilter::Open),
    };
    // A cursor that does not decode starts again from the first page.
    let after = Page::parse(CursorQuery {
        limit: None,
        cursor: query.after.clone(),
    })
    .ok()
    .and_then(|p| p.scan_after().ok())
    .flatten();
    let resumed = after.is_some();
    let request = ScanRequest::after(after, PAGE_SIZE);
    let found = match &scope {
        Scope::All => {
            state
                .regentra
                .my_chat_queue(&staff.caller, filter, request)
                .await
        }
        Scope::Org(org) => {
            state
                .regentra
                .chat_queue(&staff.caller, *org, filter, request)
                .await
        }
    };
    let listing = match found {
        Ok(listing) => listing,
        Err(e) => return failed(&e),
    };
    let names = people_names(
        &state,
        &staff,
        listing
            .items
            .iter()
            .filter_map(|c| c.staff.map(|s| (c.org, s))),
    )
    .await;
    let zones = time_zones(&state, listing.items.iter().map(|c| c.org)).await;
    let rows = listing
        .items
        .iter()
        .map(|c| {
            let zone = zones.get(&c.org).copied().unwrap_or(Tz::UTC);
            ChatRow {
                href: Scope::Org(c.org).path(&format!("chats/{}", c.id)),
                requester: if c.requester_name.is_empty() {
                    "A client's person".to_owned()
                } else {
                    c.requester_name.clone()
                },
                client: staff.scope_name(&Scope::Org(c.org)),
                badge: chat_badge(c),
                waiting: c.status == ChatStatus::Open && c.staff.is_none(),
                started: when(c.started_at, zone),
                last: when(c.last_activity(), zone),
                answered_by: match c.staff {
                    None => String::new(),
                    Some(user) if user == staff.caller.user => "You".to_owned(),
                    Some(user) => names
                        .get(&user)
                        .cloned()
                        .unwrap_or_else(|| "A colleague".to_owned()),
                },
            }
        })
        .collect();
    let base = scope.path("chats");
    let link = |show: &str, after: Option<String>| {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if show != "open" {
            pairs.push(("show", show.to_owned()));
        }
        if let Some(after) = after {
            pairs.push(("after", after));
        }
        if pairs.is_empty() {
            base.clone()
        } else {
            format!(
                "{base}?{}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        }
    };
    let next_page = listing
        .next
        .map(|c| link(show, Some(page::encode(Position::AfterKey(c.value, c.id)))));
    let filters = [("open", "Open"), ("closed", "Ended"), ("any", "All chats")]
        .into_iter()
        .map(|(key, label)| ShowLink {
            label,
            href: link(key, None),
            current: key == show,
        })
        .collect();
    let heading = match &scope {
        Scope::All => "Chats: all clients".to_owned(),
        Scope::Org(_) => format!("Chats: {}", staff.scope_name(&scope)),
    };
    let mut shell = Shell::new(&staff, Some(&scope), Some(Section::Chats), &heading);
    // This page lists the waiting chats itself, live.
    shell.chat_alerts = false;
    render(
        StatusCode::OK,
        &ListPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            heading,
            all_clients: scope == Scope::All,
            show,
            filters,
            rows,
            first_page: resumed.then(|| link(show, None)),
            next_page,
        },
    )
}

/// The most waiting chats the alert names.
const ALERT_NAMES: usize = 3;

/// How many open chats (newest activity first) the alert looks through
/// for those nobody has answered: far more than a service desk has open
/// at once, and a bounded read per poll.
const WAITING_SCAN: usize = 200;

/// `GET /app/chats/waiting`: the open chats nobody of the service desk has
/// answered yet, across every client the person answers chats for, as
/// JSON for the alert every console page shows (`console.js` asks every
/// few seconds while the person is at the page). The person's own reach
/// only, read like the list: a session without one gets 401.
async fn waiting(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let staff = match super::staff(&state, &headers, "/app").await {
        Ok(staff) => staff,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let open = match state
        .regentra
        .my_chat_queue(
            &staff.caller,
            ChatFilter::Open,
            ScanRequest::first(WAITING_SCAN),
        )
        .await
    {
        Ok(listing) => listing.items,
        Err(e) => {
            tracing::warn!(error = %e, "the waiting chats could not be read");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let waiting: Vec<&ChatSession> = open.iter().filter(|c| c.staff.is_none()).collect();
    let chats: Vec<serde_json::Value> = waiting
        .iter()
        .take(ALERT_NAMES)
        .map(|c| {
            serde_json::json!({
                "href": Scope::Org(c.org).path(&format!("chats/{}", c.id)),
                "requester": if c.requester_name.is_empty() { "A client's person" } else { c.requester_name.as_str() },
                "client": staff.scope_name(&Scope::Org(c.org)),
            })
        })
        .collect();
    let mut response = axum::Json(serde_json::json!({
        "count": waiting.len(),
        "list": Scope::All.path("chats"),
        "chats": chats,
    }))
    .into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// The time zone of each org (its SLA calendar's), to show times as the
/// client's people read them: one read per org on the page.
async fn time_zones(
    state: &AppState,
    orgs: impl Iterator<Item = regentra_core::OrgId>,
) -> std::collections::HashMap<regentra_core::OrgId, Tz> {
    let mut orgs: Vec<_> = orgs.collect();
    orgs.sort();
    orgs.dedup();
    let mut zones = std::collections::HashMap::new();
    for org in orgs {
        if let Ok(zone) = state.regentra.time_zone(org).await {
            zones.insert(org, zone);
        }
    }
    zones
}

// ---- a chat ---------------------------------------------------------------

struct Line {
    id: String,
    who: String,
    mine: bool,
    at_iso: String,
    at_text: String,
    body: String,
}

struct RecentTicket {
    href: String,
    number: u64,
    subject: String,
    status: Badge,
}

#[derive(Template)]
#[template(path = "web/console/chat.html")]
struct ChatPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    base: String,
    /// The client's chat list.
    chats: String,
    org_id: String,
    chat_id: String,
    me: String,
    client: String,
    requester: String,
    started: String,
    time_zone: String,
    open: bool,
    ticket: Option<String>,
    lines: Vec<Line>,
    recent: Vec<RecentTicket>,
    notice: Option<String>,
    body_error: Option<String>,
    subject_error: Option<String>,
    script_version: &'static str,
}

impl ChatPage {
    /// The API paths the chat script uses: the chat, its messages, its
    /// socket.
    fn api(&self, rest: &str) -> String {
        format!("/v1/orgs/{}/chats/{}{rest}", self.org_id, self.chat_id)
    }
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    done: Option<String>,
}

/// The org and chat a path names, if the person may answer chats there.
fn chat_of(staff: &Staff, segment: &str, chat_id: &str) -> Option<(Scope, ChatId)> {
    match (staff.scope(segment), chat_id.parse::<uuid::Uuid>()) {
        (Some(Scope::Org(org)), Ok(id)) if staff.can(org, Permission::ChatStaff) => {
            Some((Scope::Org(org), ChatId(id)))
        }
        _ => None,
    }
}

/// `GET /app/{org}/chats/{chat}`.
async fn page(
    State(state): State<AppState>,
    Path((segment, chat_id)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/chats/{chat_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, chat)) = chat_of(&staff, &segment, &chat_id) else {
        return not_found_page(&staff, Some(&scope));
    };
    let notice = match query.done.as_deref() {
        Some("sent") => Some("Sent.".to_owned()),
        Some("closed") => Some("The chat has ended.".to_owned()),
        _ => None,
    };
    show(
        &state,
        &staff,
        &scope,
        chat,
        notice,
        None,
        None,
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn show(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    chat: ChatId,
    notice: Option<String>,
    body_error: Option<String>,
    subject_error: Option<String>,
    status: StatusCode,
) -> Response {
    let Scope::Org(org) = *scope else {
        return not_found_page(staff, Some(scope));
    };
    let r = &state.regentra;
    let view = match r.chat_view(&staff.caller, org, chat).await {
        Ok(view) => view,
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
            return not_found_page(staff, Some(scope));
        }
        Err(e) => return failed(&e),
    };
    let messages = match r
        .chat_messages(&staff.caller, org, chat, PageRequest::first(500))
        .await
    {
        Ok(listing) => listing.items,
        Err(e) => return failed(&e),
    };
    let zone: Tz = view.time_zone.parse().unwrap_or(Tz::UTC);
    let requester = messages
        .iter()
        .find(|m| m.author == view.chat.requester && !m.author_name.is_empty())
        .map(|m| m.author_name.clone())
        .unwrap_or_else(|| "The client".to_owned());
    let lines = messages
        .into_iter()
        .map(|m| {
            let mine = m.author == staff.caller.user;
            Line {
                id: m.id.0.to_string(),
                who: if mine {
                    "You".to_owned()
                } else {
                    m.author_name
                },
                mine,
                at_iso: m.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                at_text: m.at.with_timezone(&zone).format("%H:%M").to_string(),
                body: m.body,
            }
        })
        .collect();
    // The person's recent tickets, beside the chat.
    let recent = if staff.can(org, Permission::TicketsRead) {
        r.ticket_queue(
            &staff.caller,
            org,
            TicketQuery {
                requester: Some(view.chat.requester),
                sort: QueueSort::Newest,
                limit: 5,
                ..TicketQuery::default()
            },
        )
        .await
        .map(|page| page.items)
        .unwrap_or_default()
        .into_iter()
        .map(|t| RecentTicket {
            href: scope.path(&format!("tickets/{}", t.id)),
            number: t.number,
            subject: t.title,
            status: status_badge(t.status),
        })
        .collect()
    } else {
        Vec::new()
    };
    let title = format!("Chat with {requester}");
    let shell = Shell::new(staff, Some(scope), Some(Section::Chats), &title);
    render(
        status,
        &ChatPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            base: scope.path(&format!("chats/{chat}")),
            chats: scope.path("chats"),
            org_id: org.to_string(),
            chat_id: chat.to_string(),
            me: staff.caller.user.to_string(),
            client: staff.scope_name(scope),
            started: view
                .chat
                .started_at
                .with_timezone(&zone)
                .format("%-d %b %Y, %H:%M %Z")
                .to_string(),
            time_zone: view.time_zone.clone(),
            open: view.chat.status == ChatStatus::Open,
            ticket: view
                .chat
                .ticket
                .map(|t| scope.path(&format!("tickets/{t}"))),
            requester,
            lines,
            recent,
            notice,
            body_error,
            subject_error,
            script_version: crate::web::portal::chat::script_version(),
        },
    )
}

#[derive(Debug, Deserialize)]
struct SendForm {
    #[serde(default)]
    body: String,
}

/// `POST /app/{org}/chats/{chat}/messages` (the page without script).
async fn send(
    State(state): State<AppState>,
    Path((segment, chat_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/chats/{chat_id}");
    let (staff, form) = match staff_form::<SendForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, chat)) = chat_of(&staff, &segment, &chat_id) else {
        return not_found_page(&staff, None);
    };
    let Scope::Org(org) = scope else {
        return not_found_page(&staff, None);
    };
    match state
        .regentra
        .post_chat_message(&staff.caller, org, chat, &form.body)
        .await
    {
        Ok(_) => {
            // The requester's chat window (and other staff's) shows it live.
            state.chat.changed(chat).await;
            Redirect::to(&format!("{back}?done=sent")).into_response()
        }
        Err(Error::Validation(fields)) => {
            let message = fields.into_iter().next().map(|f| f.message);
            show(
                &state,
                &staff,
                &scope,
                chat,
                None,
                message,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failed(&e),
    }
}

#[derive(Debug, Deserialize)]
struct NoFields {}

/// `POST /app/{org}/chats/{chat}/close`.
async fn close(
    State(state): State<AppState>,
    Path((segment, chat_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/chats/{chat_id}");
    let (staff, _) = match staff_form::<NoFields>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((Scope::Org(org), chat)) = chat_of(&staff, &segment, &chat_id) else {
        return not_found_page(&staff, None);
    };
    match state.regentra.close_chat(&staff.caller, org, chat).await {
        Ok(_) => {
            state.chat.changed(chat).await;
            Redirect::to(&format!("{back}?done=closed")).into_response()
        }
        Err(Error::Validation(_)) => Redirect::to(&format!("{back}?done=closed")).into_response(),
        Err(e) => failed(&e),
    }
}

#[derive(Debug, Deserialize)]
struct TicketForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    priority: String,
}

/// `POST /app/{org}/chats/{chat}/ticket`: the conversation becomes a
/// ticket (the core copies it in), and the page goes to the ticket.
async fn to_ticket(
    State(state): State<AppState>,
    Path((segment, chat_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/chats/{chat_id}");
    let (staff, form) = match staff_form::<TicketForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, chat)) = chat_of(&staff, &segment, &chat_id) else {
        return not_found_page(&staff, None);
    };
    let Scope::Org(org) = scope else {
        return not_found_page(&staff, None);
    };
    let priority = Priority::ALL
        .into_iter()
        .find(|p| p.key() == form.priority)
        .unwrap_or(Priority::Medium);
    match state
        .regentra
        .chat_to_ticket(&staff.caller, org, chat, &form.subject, priority)
        .await
    {
        Ok(ticket) => Redirect::to(&format!(
            "{}?done=created",
            scope.path(&format!("tickets/{}", ticket.id))
        ))
        .into_response(),
        // Made a ticket already (twice clicked, or by someone else): the
        // chat's page links it.
        Err(Error::AlreadyExists { .. } | Error::Conflict { .. }) => {
            Redirect::to(&back).into_response()
        }
        Err(Error::Validation(fields)) => {
            let message = fields.into_iter().next().map(|f| f.message);
            show(
                &state,
                &staff,
                &scope,
                chat,
                None,
                None,
                message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failed(&e),
    }
}
