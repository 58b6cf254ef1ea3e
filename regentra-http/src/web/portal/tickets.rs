//! The portal's ticket pages: a person's own tickets (newest first, a page
//! at a time from the store's queue, open, closed or all), a new ticket
//! with files, and a ticket's page: its public conversation, its SLA due
//! times, its files, a reply form with files, reopening a resolved ticket,
//! and a small JSON answer that the page's script polls for new replies.
//!
//! Everything goes through the core with the visitor as caller: the list
//! is `ticket_queue` for the visitor as requester, the conversation is
//! `public_conversation` (internal notes never reach this module), files
//! are staged with `stage_attachment` as the form streams in and committed
//! with the ticket or reply. Times are shown in the time zone of the
//! ticket's SLA calendar (the org's business hours), UTC without one.
//!
//! Forms post as a browser does without JavaScript: the new ticket and the
//! reply are `multipart/form-data` whose first field must be the session's
//! CSRF token (checked before any file is read), reopening is a plain form.
//! Each answers with a redirect to the ticket page and a `done` notice, or
//! the page again with the error next to its field.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use regentra_core::compliance::evidence::size_in_words;
use regentra_core::ids::{AttachmentId, CommentId, TicketId};
use regentra_core::psa::Priority;
use regentra_core::psa::attachments::{ConversationEntry, MAX_ATTACHMENTS, TicketAttachment};
use regentra_core::psa::queue::{
    QueueCursor, QueueSort, SlaState, TicketQuery, closed_statuses, next_due, open_statuses,
    sla_state,
};
use regentra_core::psa::ticket::{NewTicket, Ticket, TicketStatus, requester_may_reopen, sla_view};
use regentra_core::{Error, FieldError, RequestMeta};
use serde::Deserialize;
use serde_json::json;

use super::{Nav, PortalView, Visitor, failed, message, signed_in};
use crate::server::auth::Meta;
use crate::server::page::{self, Page, PageQuery, Position};
use crate::server::routes::ticket_files::file_response;
use crate::server::{AppState, browser};
use crate::web::display::{Badge, When, sla_badge, ticket_zone as zone_of, when};
use crate::web::upload::{self, Posted, Refusal, detached, files_error};
use crate::web::{Chrome, CsrfField, render};

/// Tickets per page of the list.
const PAGE_SIZE: usize = 20;

/// Replies shown per read of the conversation (the page reads on until
/// the end; a conversation is short).
const CONVERSATION_PAGE: usize = 100;

/// The script of the ticket pages (busy buttons, live replies), served at
/// `/assets/portal-tickets.js`.
pub const SCRIPT: &str = include_str!("tickets.js");

pub fn routes() -> Router<AppState> {
    // A form may carry MAX_ATTACHMENTS files at the core's limit; the core
    // bounds each file as it streams, this bounds the whole body.
    let form_limit = upload::body_limit();
    Router::new()
        .route("/portal/{slug}/tickets", get(list))
        .route(
            "/portal/{slug}/tickets/new",
            get(new_page).post(create).layer(form_limit),
        )
        .route("/portal/{slug}/tickets/{ticket_id}", get(ticket_page))
        .route(
            "/portal/{slug}/tickets/{ticket_id}/reply",
            post(reply).layer(form_limit),
        )
        .route("/portal/{slug}/tickets/{ticket_id}/reopen", post(reopen))
        .route("/portal/{slug}/tickets/{ticket_id}/updates", get(updates))
        .route(
            "/portal/{slug}/tickets/{ticket_id}/attachments/{attachment_id}",
            get(download),
        )
}

// ---- What the templates show ------------------------------------------

fn status_badge(status: TicketStatus) -> Badge {
    let (label, class) = match status {
        TicketStatus::New => ("New", "badge-info"),
        TicketStatus::Open => ("Open", "badge-info"),
        TicketStatus::Pending => ("Waiting for your reply", "badge-warning"),
        TicketStatus::Reopened => ("Reopened", "badge-info"),
        TicketStatus::Resolved => ("Resolved", "badge-success"),
        TicketStatus::Closed => ("Closed", "badge-muted"),
    };
    Badge { label, class }
}

fn priority_badge(priority: Priority) -> Badge {
    let (label, class) = match priority {
        Priority::Critical => ("Critical priority", "badge-danger"),
        Priority::High => ("High priority", "badge-warning"),
        Priority::Medium => ("Medium priority", "badge-info"),
        Priority::Low => ("Low priority", "badge-muted"),
    };
    Badge { label, class }
}

/// One row of the list.
#[derive(Debug, Clone)]
pub struct Row {
    pub href: String,
    pub subject: String,
    pub number: u64,
    pub status: Badge,
    pub priority: Badge,
    pub sla: Option<Badge>,
    pub next_due: Option<When>,
    pub updated: When,
}

/// A file as a link.
#[derive(Debug, Clone)]
pub struct FileLink {
    pub href: String,
    pub name: String,
    pub size: String,
}

fn file_link(view: &PortalView, a: &TicketAttachment) -> FileLink {
    FileLink {
        href: view.path(&format!("tickets/{}/attachments/{}", a.ticket, a.id)),
        name: a.name.clone(),
        size: size_in_words(a.size),
    }
}

/// One message of the conversation.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: CommentId,
    pub author: String,
    pub staff: bool,
    pub mine: bool,
    pub when: When,
    pub body: String,
    pub files: Vec<FileLink>,
}

fn entry(view: &PortalView, visitor: &Visitor, zone: Tz, e: ConversationEntry) -> Entry {
    let mine = e.comment.author == visitor.caller.user;
    Entry {
        id: e.comment.id,
        author: if mine {
            "You".to_owned()
        } else if e.author_name.trim().is_empty() {
            "Someone".to_owned()
        } else {
            e.author_name
        },
        staff: !e.from_requester,
        mine,
        when: when(e.comment.created_at, zone),
        body: e.comment.body,
        files: e.attachments.iter().map(|a| file_link(view, a)).collect(),
    }
}

/// One SLA clock as the requester reads it.
#[derive(Debug, Clone)]
pub struct ClockLine {
    pub label: &'static str,
    /// `Due`, `Met`, `Paused` ...
    pub state: String,
    pub at: Option<When>,
    pub badge: Option<Badge>,
}

// ---- The list ----------------------------------------------------------

#[derive(Template)]
#[template(path = "web/portal/tickets.html")]
struct ListPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    show: &'static str,
    filters: Vec<(&'static str, &'static str, String, bool)>,
    rows: Vec<Row>,
    older: Option<String>,
    paged: bool,
    first_page: String,
    new_ticket: String,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    show: Option<String>,
    after: Option<String>,
}

/// `GET /portal/{slug}/tickets`: the visitor's own tickets, newest first.
async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/portal/{slug}/tickets");
    let (view, visitor) = match signed_in(&state, &headers, &slug, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let q: ListQuery = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let show = match q.show.as_deref() {
        Some("closed") => "closed",
        Some("all") => "all",
        _ => "open",
    };
    let after = match Page::parse(PageQuery {
        limit: None,
        cursor: q.after.clone(),
    })
    .map(|p| p.position)
    {
        Ok(Position::AfterKey(key, id)) => Some(QueueCursor { key, id }),
        _ => None,
    };
    let query = TicketQuery {
        statuses: match show {
            "open" => open_statuses(),
            "closed" => closed_statuses(),
            _ => Default::default(),
        },
        requester: Some(visitor.caller.user),
        sort: QueueSort::Newest,
        after: after.clone(),
        limit: PAGE_SIZE,
        ..TicketQuery::default()
    };
    let page = match state
        .regentra
        .ticket_queue(&visitor.caller, view.portal.org, query)
        .await
    {
        Ok(page) => page,
        Err(e) => return failed(&e),
    };
    let now = state.regentra.now();
    let rows = page
        .items
        .iter()
        .map(|t| {
            let zone = zone_of(t);
            Row {
                href: view.path(&format!("tickets/{}", t.id)),
                subject: t.title.clone(),
                number: t.number,
                status: status_badge(t.status),
                priority: priority_badge(t.priority),
                sla: sla_state(t, now).map(sla_badge),
                next_due: next_due(t).map(|d| when(d, zone)),
                updated: when(t.updated_at, zone),
            }
        })
        .collect();
    let link = |show: &str, after: Option<String>| {
        let mut pairs = vec![("show", show.to_owned())];
        if let Some(after) = after {
            pairs.push(("after", after));
        }
        format!(
            "{}?{}",
            view.path("tickets"),
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let older = page
        .next
        .map(|c| link(show, Some(page::encode(Position::AfterKey(c.key, c.id)))));
    let filters = [("open", "Open"), ("closed", "Closed"), ("all", "All")]
        .into_iter()
        .map(|(key, label)| (key, label, link(key, None), key == show))
        .collect();
    render(
        StatusCode::OK,
        &ListPage {
            chrome: view.chrome("Your tickets").with_session(&visitor.secret),
            nav: Some(Nav::new(&view, &visitor, "tickets")),
            show,
            filters,
            rows,
            older,
            paged: after.is_some(),
            first_page: link(show, None),
            new_ticket: view.path("tickets/new"),
            view,
        },
    )
}

// ---- Reading a form with files -----------------------------------------

/// The text fields the ticket forms post (the CSRF token is read first).
const TEXT_FIELDS: [&str; 4] = ["subject", "description", "priority", "body"];

/// Reads a ticket form with files (see [`upload::read_form`]), or the page
/// that answers a form refused before anything was kept.
async fn read_form(
    state: &AppState,
    view: &PortalView,
    visitor: &Visitor,
    form: Multipart,
) -> Result<Posted, Response> {
    upload::read_form(
        state,
        view.portal.org,
        &visitor.caller,
        &visitor.secret,
        &TEXT_FIELDS,
        form,
    )
    .await
    .map_err(|refusal| match refusal {
        Refusal::Forged => upload::forged_page(),
        Refusal::Unreadable => message(
            StatusCode::BAD_REQUEST,
            view,
            None,
            "The form could not be read",
            "The form arrived incomplete. Go back and send it again.",
        ),
        Refusal::TooLong => message(
            StatusCode::PAYLOAD_TOO_LARGE,
            view,
            None,
            "Your message is too long",
            upload::TOO_LONG,
        ),
        Refusal::Failed(e) => failed(&e),
    })
}

/// A portal form's visitor, with the request's address and user agent for
/// the audit trail, refused from another origin.
async fn form_visitor(
    state: &AppState,
    headers: &HeaderMap,
    slug: &str,
    back_to: &str,
    meta: regentra_core::RequestMeta,
) -> Result<(PortalView, Visitor), Response> {
    let (view, mut visitor) = signed_in(state, headers, slug, back_to).await?;
    if !browser::origin_is_ours(headers, state) {
        return Err(crate::web::error_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form was not sent from this site's own page. Go back, reload the page and try \
             again.",
        ));
    }
    visitor.caller = visitor.caller.with_request(meta);
    Ok((view, visitor))
}

/// The error of `field` among a validation error's, if any.
fn error_of(errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| format!("{}{}.", capitalized(field), with_space(&e.message)))
}

fn capitalized(field: &str) -> String {
    let mut chars = field.chars();
    match chars.next() {
        Some(c) => c
            .to_uppercase()
            .chain(chars)
            .collect::<String>()
            .replace('_', " "),
        None => String::new(),
    }
}

fn with_space(message: &str) -> String {
    format!(" {}", message.trim_end_matches('.'))
}

// ---- A new ticket ------------------------------------------------------

#[derive(Template)]
#[template(path = "web/portal/ticket_new.html")]
struct NewPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    csrf_field: CsrfField,
    subject: String,
    description: String,
    priorities: Vec<(&'static str, &'static str, bool)>,
    subject_error: Option<String>,
    description_error: Option<String>,
    priority_error: Option<String>,
    attachments_error: Option<String>,
    alert: Option<String>,
    limit: String,
    limit_bytes: u64,
    max_files: usize,
    script_version: &'static str,
}

const PRIORITIES: [(&str, &str); 4] = [
    ("low", "Low: a question, or something that can wait"),
    ("medium", "Medium: it slows me down"),
    ("high", "High: I cannot do part of my work"),
    (
        "critical",
        "Critical: I cannot work at all, or many people are affected",
    ),
];

impl NewPage {
    fn new(state: &AppState, view: &PortalView, visitor: &Visitor) -> Self {
        let limit_bytes = state.regentra.attachment_limit();
        Self {
            chrome: view.chrome("New ticket").with_session(&visitor.secret),
            view: view.clone(),
            nav: Some(Nav::new(view, visitor, "tickets")),
            csrf_field: visitor.csrf_field(),
            subject: String::new(),
            description: String::new(),
            priorities: priorities("medium"),
            subject_error: None,
            description_error: None,
            priority_error: None,
            attachments_error: None,
            alert: None,
            limit: size_in_words(limit_bytes),
            limit_bytes,
            max_files: MAX_ATTACHMENTS,
            script_version: script_version(),
        }
    }
}

fn priorities(selected: &str) -> Vec<(&'static str, &'static str, bool)> {
    PRIORITIES
        .iter()
        .map(|(key, label)| (*key, *label, *key == selected))
        .collect()
}

/// `GET /portal/{slug}/tickets/new`.
async fn new_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/portal/{slug}/tickets/new");
    let (view, visitor) = match signed_in(&state, &headers, &slug, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    render(StatusCode::OK, &NewPage::new(&state, &view, &visitor))
}

/// `POST /portal/{slug}/tickets/new`: the ticket and its files, then its page.
async fn create(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Meta(meta): Meta,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    detached(create_detached(state, slug, meta, headers, form)).await
}

async fn create_detached(
    state: AppState,
    slug: String,
    meta: RequestMeta,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let path = format!("/portal/{slug}/tickets/new");
    let (view, visitor) = match form_visitor(&state, &headers, &slug, &path, meta).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let posted = match read_form(&state, &view, &visitor, form).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let mut page = NewPage::new(&state, &view, &visitor);
    page.subject = posted.field("subject");
    page.description = posted.field("description");
    let priority_word = posted.field("priority");
    page.priorities = priorities(&priority_word);
    let priority = match priority_word.as_str() {
        "low" => Some(Priority::Low),
        "medium" => Some(Priority::Medium),
        "high" => Some(Priority::High),
        "critical" => Some(Priority::Critical),
        _ => None,
    };
    if priority.is_none() {
        page.priority_error = Some("Choose how urgent this is.".to_owned());
    }
    if let Some(error) = posted.files_error.clone() {
        page.attachments_error = Some(format!("{error} Choose your files again."));
    }
    let Some(priority) = priority.filter(|_| page.attachments_error.is_none()) else {
        state.regentra.discard_attachments(posted.files).await;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let new = NewTicket {
        subject: page.subject.clone(),
        description: page.description.clone(),
        priority,
        requester: None,
    };
    let had_files = !posted.files.is_empty();
    match state
        .regentra
        .create_ticket_with_attachments(&visitor.caller, view.portal.org, new, posted.files)
        .await
    {
        Ok(ticket) => Redirect::to(&format!(
            "{}?done=created",
            view.path(&format!("tickets/{}", ticket.id))
        ))
        .into_response(),
        Err(Error::Validation(errors)) => {
            page.subject_error = error_of(&errors, "subject");
            page.description_error = error_of(&errors, "description");
            page.priority_error = error_of(&errors, "priority");
            page.attachments_error = files_error(&errors);
            if had_files && page.attachments_error.is_none() {
                page.attachments_error =
                    Some("Nothing was sent: choose your files again.".to_owned());
            }
            if page.subject_error.is_none()
                && page.description_error.is_none()
                && page.priority_error.is_none()
            {
                page.alert = Some(
                    errors
                        .iter()
                        .map(|e| format!("{} {}", capitalized(&e.field), e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
            }
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(Error::PermissionDenied { .. }) => message(
            StatusCode::FORBIDDEN,
            &view,
            Some(Nav::new(&view, &visitor, "tickets")),
            "You cannot open tickets here",
            "Your account can read this portal but not open tickets. Ask your organization's \
             administrator if you need to.",
        ),
        Err(e) => failed(&e),
    }
}

// ---- A ticket's page -----------------------------------------------------

#[derive(Template)]
#[template(path = "web/portal/ticket.html")]
struct TicketPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    csrf_field: CsrfField,
    notice: Option<&'static str>,
    alert: Option<String>,
    id: TicketId,
    number: u64,
    subject: String,
    description: String,
    status: Badge,
    priority: Badge,
    sla: Option<Badge>,
    opened: When,
    clocks: Vec<ClockLine>,
    files: Vec<FileLink>,
    entries: Vec<Entry>,
    /// The reply form, while the ticket is worked.
    can_reply: bool,
    /// Reopening, for a resolved ticket still in its window.
    can_reopen: bool,
    /// Why neither (a closed ticket, or one resolved long ago).
    finished: Option<String>,
    reply_body: String,
    body_error: Option<String>,
    attachments_error: Option<String>,
    limit: String,
    limit_bytes: u64,
    max_files: usize,
    updates_url: String,
    script_version: &'static str,
}

/// What a re-shown ticket page carries of a failed form.
#[derive(Debug, Default)]
struct Attempt {
    reply_body: String,
    body_error: Option<String>,
    attachments_error: Option<String>,
    alert: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TicketQueryString {
    done: Option<String>,
}

/// The ticket id of a path (one that does not parse names no ticket).
fn ticket_id(raw: &str) -> Option<TicketId> {
    raw.parse::<uuid::Uuid>().ok().map(TicketId)
}

fn not_found(view: &PortalView) -> Response {
    message(
        StatusCode::NOT_FOUND,
        view,
        None,
        "Ticket not found",
        "There is no ticket of yours at this address. Check the link, or find it among your \
         tickets.",
    )
}

/// `GET /portal/{slug}/tickets/{ticket_id}`.
async fn ticket_page(
    State(state): State<AppState>,
    Path((slug, raw_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/portal/{slug}/tickets/{raw_id}");
    let (view, visitor) = match signed_in(&state, &headers, &slug, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(id) = ticket_id(&raw_id) else {
        return not_found(&view);
    };
    let q: TicketQueryString = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let notice = match q.done.as_deref() {
        Some("created") => {
            Some("Your ticket was sent. The service desk will answer here and by email.")
        }
        Some("replied") => Some("Your reply was sent."),
        Some("reopened") => Some("The ticket is open again. The service desk will look at it."),
        Some("from-chat") => {
            Some("Your chat is now this ticket. The service desk will answer here and by email.")
        }
        _ => None,
    };
    show_ticket(
        &state,
        &view,
        &visitor,
        id,
        notice,
        Attempt::default(),
        StatusCode::OK,
    )
    .await
}

async fn show_ticket(
    state: &AppState,
    view: &PortalView,
    visitor: &Visitor,
    id: TicketId,
    notice: Option<&'static str>,
    attempt: Attempt,
    status: StatusCode,
) -> Response {
    let org = view.portal.org;
    let r = &state.regentra;
    let ticket = match r.ticket(&visitor.caller, org, id).await {
        Ok(t) => t,
        Err(Error::NotFound { .. }) => return not_found(view),
        Err(e) => return failed(&e),
    };
    let mut entries = Vec::new();
    let mut files = Vec::new();
    let mut after = None;
    let zone = zone_of(&ticket);
    loop {
        let page = match r
            .public_conversation(&visitor.caller, org, id, after, CONVERSATION_PAGE)
            .await
        {
            Ok(page) => page,
            Err(e) => return failed(&e),
        };
        if after.is_none() {
            files = page
                .ticket_attachments
                .iter()
                .map(|a| file_link(view, a))
                .collect();
        }
        entries.extend(
            page.entries
                .into_iter()
                .map(|e| entry(view, visitor, zone, e)),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let now = r.now();
    let clocks = clock_lines(&ticket, now, zone);
    let (can_reopen, finished) = match requester_may_reopen(&ticket, now) {
        Ok(()) => (true, None),
        Err(_) if ticket.status.is_active() => (false, None),
        Err(_) if ticket.status == TicketStatus::Closed => (
            false,
            Some("This ticket is closed. If you need more help, open a new ticket.".to_owned()),
        ),
        Err(_) => (
            false,
            Some(
                "This ticket was resolved a while ago and can no longer be reopened. If you need \
                 more help, open a new ticket."
                    .to_owned(),
            ),
        ),
    };
    let limit_bytes = r.attachment_limit();
    render(
        status,
        &TicketPage {
            chrome: view
                .chrome(&format!("Ticket #{}", ticket.number))
                .with_session(&visitor.secret),
            nav: Some(Nav::new(view, visitor, "tickets")),
            csrf_field: visitor.csrf_field(),
            notice,
            alert: attempt.alert,
            id,
            number: ticket.number,
            subject: ticket.title.clone(),
            description: ticket.description.clone(),
            status: status_badge(ticket.status),
            priority: priority_badge(ticket.priority),
            sla: sla_state(&ticket, now).map(sla_badge),
            opened: when(ticket.created_at, zone),
            clocks,
            files,
            entries,
            can_reply: ticket.status.is_active(),
            can_reopen,
            finished,
            reply_body: attempt.reply_body,
            body_error: attempt.body_error,
            attachments_error: attempt.attachments_error,
            limit: size_in_words(limit_bytes),
            limit_bytes,
            max_files: MAX_ATTACHMENTS,
            updates_url: view.path(&format!("tickets/{id}/updates")),
            script_version: script_version(),
            view: view.clone(),
        },
    )
}

/// The SLA's two clocks, in the requester's words.
fn clock_lines(ticket: &Ticket, now: DateTime<Utc>, zone: Tz) -> Vec<ClockLine> {
    let Ok(Some(sla)) = sla_view(ticket, now) else {
        return Vec::new();
    };
    [
        ("First response", &sla.response),
        ("Resolution", &sla.resolution),
    ]
    .into_iter()
    .map(|(label, clock)| {
        let (state, at, badge) = if let Some(met) = clock.met_at {
            let word = if clock.breached { "Done, late" } else { "Done" };
            (word.to_owned(), Some(when(met, zone)), None)
        } else if !clock.running {
            ("Paused while we wait for your reply".to_owned(), None, None)
        } else {
            let badge = clock.due.map(|due| {
                sla_badge(if due < now {
                    SlaState::Breached
                } else if due < now + regentra_core::psa::queue::AT_RISK_WITHIN {
                    SlaState::AtRisk
                } else {
                    SlaState::OnTrack
                })
            });
            ("Due".to_owned(), clock.due.map(|d| when(d, zone)), badge)
        };
        ClockLine {
            label,
            state,
            at,
            badge,
        }
    })
    .collect()
}

/// `POST /portal/{slug}/tickets/{ticket_id}/reply`: a public reply with files.
async fn reply(
    State(state): State<AppState>,
    Path((slug, raw_id)): Path<(String, String)>,
    Meta(meta): Meta,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    detached(reply_detached(state, slug, raw_id, meta, headers, form)).await
}

async fn reply_detached(
    state: AppState,
    slug: String,
    raw_id: String,
    meta: RequestMeta,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let back = format!("/portal/{slug}/tickets/{raw_id}");
    let (view, visitor) = match form_visitor(&state, &headers, &slug, &back, meta).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(id) = ticket_id(&raw_id) else {
        return not_found(&view);
    };
    // The ticket is the visitor's before any file of theirs is stored.
    match state
        .regentra
        .ticket(&visitor.caller, view.portal.org, id)
        .await
    {
        Ok(_) => {}
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => return not_found(&view),
        Err(e) => return failed(&e),
    }
    let posted = match read_form(&state, &view, &visitor, form).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let body = posted.field("body");
    if let Some(error) = posted.files_error.clone() {
        state.regentra.discard_attachments(posted.files).await;
        let attempt = Attempt {
            reply_body: body,
            attachments_error: Some(format!("{error} Choose your files again.")),
            ..Attempt::default()
        };
        return show_ticket(
            &state,
            &view,
            &visitor,
            id,
            None,
            attempt,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let had_files = !posted.files.is_empty();
    match state
        .regentra
        .add_comment_with_attachments(
            &visitor.caller,
            view.portal.org,
            id,
            &body,
            true,
            posted.files,
        )
        .await
    {
        // The page opens on its notice, like every action's: no fragment
        // pointing at the reply (see portal/forms.js).
        Ok(_) => Redirect::to(&format!(
            "{}?done=replied",
            view.path(&format!("tickets/{id}"))
        ))
        .into_response(),
        Err(Error::Validation(errors)) => {
            let body_error = errors
                .iter()
                .find(|e| e.field == "body")
                .map(|_| "Write your reply before sending it.".to_owned());
            let mut attachments_error = files_error(&errors);
            if had_files && attachments_error.is_none() {
                attachments_error = Some("Nothing was sent: choose your files again.".to_owned());
            }
            let attempt = Attempt {
                reply_body: body,
                alert: body_error
                    .is_none()
                    .then(|| {
                        errors
                            .iter()
                            .map(|e| format!("{} {}", capitalized(&e.field), e.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .filter(|_| attachments_error.is_none()),
                body_error,
                attachments_error,
            };
            show_ticket(
                &state,
                &view,
                &visitor,
                id,
                None,
                attempt,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(Error::NotFound { .. }) => not_found(&view),
        Err(e) => failed(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct TokenOnly {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /portal/{slug}/tickets/{ticket_id}/reopen`.
async fn reopen(
    State(state): State<AppState>,
    Path((slug, raw_id)): Path<(String, String)>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let back = format!("/portal/{slug}/tickets/{raw_id}");
    let (view, visitor) = match form_visitor(&state, &headers, &slug, &back, meta).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let token = serde_urlencoded::from_bytes::<TokenOnly>(&body)
        .map(|t| t.csrf_token)
        .unwrap_or_default();
    if !browser::csrf_matches(&visitor.secret, &token) {
        return crate::web::error_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form's security token is missing or out of date. Go back, reload the page and \
             try again.",
        );
    }
    let Some(id) = ticket_id(&raw_id) else {
        return not_found(&view);
    };
    match state
        .regentra
        .reopen_ticket(&visitor.caller, view.portal.org, id)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "{}?done=reopened",
            view.path(&format!("tickets/{id}"))
        ))
        .into_response(),
        Err(Error::Validation(errors)) => {
            let attempt = Attempt {
                alert: errors.first().map(|e| {
                    format!(
                        "The ticket could not be reopened: {}.",
                        e.message.trim_end_matches('.')
                    )
                }),
                ..Attempt::default()
            };
            show_ticket(
                &state,
                &view,
                &visitor,
                id,
                None,
                attempt,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(Error::NotFound { .. }) => not_found(&view),
        Err(e) => failed(&e),
    }
}

/// `GET /portal/{slug}/tickets/{ticket_id}/attachments/{attachment_id}`:
/// the file as a download, to those who may read it (404 otherwise).
async fn download(
    State(state): State<AppState>,
    Path((slug, raw_id, raw_file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let back = format!("/portal/{slug}/tickets/{raw_id}/attachments/{raw_file}");
    let (view, visitor) = match signed_in(&state, &headers, &slug, &back).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Ok(ticket), Ok(file)) = (raw_id.parse::<uuid::Uuid>(), raw_file.parse::<uuid::Uuid>())
    else {
        return not_found(&view);
    };
    match state
        .regentra
        .open_ticket_attachment(
            &visitor.caller,
            view.portal.org,
            TicketId(ticket),
            AttachmentId(file),
        )
        .await
    {
        Ok(file) => file_response(file),
        Err(Error::NotFound { .. }) => message(
            StatusCode::NOT_FOUND,
            &view,
            None,
            "File not found",
            "There is no file of yours at this address.",
        ),
        Err(e) => failed(&e),
    }
}

// ---- Live replies --------------------------------------------------------

#[derive(Template)]
#[template(path = "web/portal/ticket_entry.html")]
struct EntryFragment<'a> {
    entry: &'a Entry,
}

#[derive(Debug, Default, Deserialize)]
struct UpdatesQuery {
    after: Option<String>,
}

/// `GET /portal/{slug}/tickets/{ticket_id}/updates?after={comment id}`:
/// the public replies after the last one the page shows, each as the
/// page's own HTML for it, and the ticket's status. The page's script
/// polls it; asking again after the last id it got loses nothing.
async fn updates(
    State(state): State<AppState>,
    Path((slug, raw_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let gone = |status: StatusCode| {
        (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "error": status.canonical_reason() })),
        )
            .into_response()
    };
    let back = format!("/portal/{slug}/tickets/{raw_id}");
    let (view, visitor) = match signed_in(&state, &headers, &slug, &back).await {
        Ok(found) => found,
        // Signed out, expired, another org: the script stops and says to reload.
        Err(response) if response.status().is_redirection() => {
            return gone(StatusCode::UNAUTHORIZED);
        }
        Err(response) => return gone(response.status()),
    };
    let Ok(id) = raw_id.parse::<uuid::Uuid>().map(TicketId) else {
        return gone(StatusCode::NOT_FOUND);
    };
    let q: UpdatesQuery = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => match a.parse::<uuid::Uuid>() {
            Ok(u) => Some(CommentId(u)),
            Err(_) => return gone(StatusCode::BAD_REQUEST),
        },
    };
    let org = view.portal.org;
    let ticket = match state.regentra.ticket(&visitor.caller, org, id).await {
        Ok(t) => t,
        Err(Error::NotFound { .. }) => return gone(StatusCode::NOT_FOUND),
        Err(e) => {
            tracing::error!(error = %e, "ticket updates failed");
            return gone(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let page = match state
        .regentra
        .public_conversation(&visitor.caller, org, id, after, CONVERSATION_PAGE)
        .await
    {
        Ok(page) => page,
        Err(e) => {
            tracing::error!(error = %e, "ticket updates failed");
            return gone(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let zone = zone_of(&ticket);
    let mut items = Vec::new();
    for e in page.entries {
        let entry = entry(&view, &visitor, zone, e);
        let Ok(html) = (EntryFragment { entry: &entry }).render() else {
            return gone(StatusCode::INTERNAL_SERVER_ERROR);
        };
        items.push(json!({
            "id": entry.id,
            "author": entry.author,
            "staff": entry.staff,
            "html": html,
        }));
    }
    let status = status_badge(ticket.status);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "entries": items,
            // More follow: ask again at once after the last.
            "more": page.next.is_some(),
            "status": ticket.status,
            "status_label": status.label,
        })),
    )
        .into_response()
}

/// A short hash of the script, for its URL (a new release's is fetched at once).
pub fn script_version() -> &'static str {
    use sha2::{Digest, Sha256};
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| hex::encode(&Sha256::digest(SCRIPT.as_bytes())[..6]))
}
