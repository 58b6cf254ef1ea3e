//! The portal's live chat: `/portal/{slug}/chat` (start a conversation,
//! find the earlier ones) and `/portal/{slug}/chat/{chat}` (the
//! conversation). Without JavaScript both are plain forms that post and
//! redirect, so the chat works, only not live; `/assets/chat.js` makes the
//! conversation live over the chat's WebSocket (opened with the session
//! cookie, which the socket accepts only from our own origin) and sends
//! through the API with the page's CSRF token.
//!
//! Whether the person may leave an unanswered chat as a ticket is the
//! core's decision ([`regentra_core::psa::chat::chat_wait`], against its
//! clock): the page shows the offer when the core makes it, and the script
//! asks the core again when the wait should be over.

use std::sync::OnceLock;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use regentra_core::Error;
use regentra_core::ids::ChatId;
use regentra_core::psa::chat::{ChatMessage, ChatSession, ChatStatus, ChatView};
use regentra_core::store::ScanRequest;
use serde::Deserialize;

use super::{Nav, PortalView, Visitor, message, signed_in, signed_in_form};
use crate::server::AppState;
use crate::server::page::{Page, PageQuery, Position, encode};
use crate::web::{Chrome, CsrfField, render, short_hash, static_asset};

/// The script of the conversation page, compiled in.
const SCRIPT: &str = include_str!("chat.js");

/// How many earlier conversations the start page lists at a time.
const EARLIER_PAGE: usize = 10;

/// `GET /assets/chat.js`.
pub(crate) async fn script(headers: HeaderMap) -> Response {
    static_asset(
        &headers,
        SCRIPT,
        script_version(),
        "text/javascript; charset=utf-8",
    )
}

pub(crate) fn script_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| short_hash(SCRIPT))
}

/// One of the person's conversations in the start page's list.
struct Earlier {
    href: String,
    started: String,
    status: Badge,
}

/// A status in words, with the badge's color class.
struct Badge {
    label: String,
    class: &'static str,
}

#[derive(Template)]
#[template(path = "web/portal/chat_start.html")]
struct StartPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    csrf_field: CsrfField,
    script_version: &'static str,
    /// Whether this is the list's first page, which offers to start (or
    /// continue) a conversation; older pages only list.
    first_page: bool,
    /// The person's open conversation, if any: continued, not doubled.
    open: Option<String>,
    earlier: Vec<Earlier>,
    older: Option<String>,
    answer_within_minutes: u32,
    message: String,
    message_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StartQuery {
    cursor: Option<String>,
}

/// `GET /portal/{slug}/chat`: start a conversation (or go back to the open
/// one), and the earlier ones, newest first.
pub(crate) async fn start_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<StartQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/portal/{slug}/chat");
    let (view, visitor) = match signed_in(&state, &headers, &slug, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    start_form(&state, &view, &visitor, query.cursor, String::new(), None).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct StartForm {
    #[serde(default)]
    message: String,
}

/// `POST /portal/{slug}/chat`: starts a conversation with its first
/// message and opens it at its form (`#chat-form`), where the focus goes
/// to write the next one.
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/portal/{slug}/chat");
    let (view, visitor, form) =
        match signed_in_form::<StartForm>(&state, &slug, &back, request).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    match state
        .regentra
        .start_chat(&visitor.caller, view.portal.org, &form.message)
        .await
    {
        Ok(chat) => {
            // With a chat open already, the message went into it: its
            // windows (the service desk's among them) show it.
            state.chat.changed(chat.id).await;
            Redirect::to(&format!("{}#chat-form", chat_path(&view, chat.id))).into_response()
        }
        Err(Error::Validation(errors)) => {
            let error = errors
                .into_iter()
                .find(|e| e.field == "message")
                .map(|e| sentence("Your message", &e.message));
            start_form(&state, &view, &visitor, None, form.message, error).await
        }
        Err(e) => not_for_you(&view, &visitor, &e),
    }
}

/// The start page, with `message` and its error when a start was refused.
async fn start_form(
    state: &AppState,
    view: &PortalView,
    visitor: &Visitor,
    cursor: Option<String>,
    message_text: String,
    message_error: Option<String>,
) -> Response {
    let org = view.portal.org;
    let settings = match state.regentra.chat_settings(&visitor.caller, org).await {
        Ok(settings) => settings,
        Err(e) => return not_for_you(view, visitor, &e),
    };
    let zone = zone_of(&settings.time_zone);
    // A cursor we did not make reads as the first page.
    let after = Page::parse(PageQuery {
        limit: None,
        cursor,
    })
    .ok()
    .and_then(|page| page.scan_after().ok())
    .flatten();
    let first_page = after.is_none();
    let chats = match state
        .regentra
        .my_chats(
            &visitor.caller,
            org,
            ScanRequest::after(after, EARLIER_PAGE),
        )
        .await
    {
        Ok(chats) => chats,
        Err(e) => return super::failed(&e),
    };
    let open = chats
        .items
        .iter()
        .find(|c| c.status == ChatStatus::Open)
        .map(|c| chat_path(view, c.id));
    let earlier = chats
        .items
        .iter()
        .map(|c| Earlier {
            href: chat_path(view, c.id),
            started: long_time(c.started_at, &zone),
            status: session_badge(c, None),
        })
        .collect();
    let status = if message_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        status,
        &StartPage {
            chrome: view.chrome("Chat with us").with_session(&visitor.secret),
            nav: Some(Nav::new(view, visitor, "chat")),
            view: view.clone(),
            csrf_field: visitor.csrf_field(),
            script_version: script_version(),
            open,
            earlier,
            first_page,
            older: chats.next.map(|c| {
                let cursor = encode(Position::AfterKey(c.value, c.id));
                format!(
                    "{}?{}",
                    view.path("chat"),
                    serde_urlencoded::to_string([("cursor", cursor)]).unwrap_or_default()
                )
            }),
            answer_within_minutes: settings.answer_within_minutes,
            message: message_text,
            message_error,
        },
    )
}

/// One message of the conversation as the page shows it.
struct Line {
    id: String,
    mine: bool,
    who: String,
    body: String,
    at_iso: String,
    at_text: String,
}

#[derive(Template)]
#[template(path = "web/portal/chat.html")]
struct ChatPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    csrf_field: CsrfField,
    script_version: &'static str,
    chat_id: String,
    org_id: String,
    me: String,
    time_zone: String,
    started: String,
    status: Badge,
    lines: Vec<Line>,
    open: bool,
    answered: bool,
    answer_within_minutes: u32,
    /// The core offers to leave the chat as a ticket now.
    offered: bool,
    /// Seconds until the core's offer is due, while it is not yet.
    offer_in: Option<i64>,
    /// The ticket the chat became: its portal page and number.
    ticket: Option<(String, Option<u64>)>,
    notice: Option<&'static str>,
    alert: Option<String>,
    body: String,
    body_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChatQuery {
    /// The notice after a redirect: `closed`.
    done: Option<String>,
}

/// `GET /portal/{slug}/chat/{chat}`: the conversation.
pub(crate) async fn page(
    State(state): State<AppState>,
    Path((slug, chat)): Path<(String, String)>,
    Query(query): Query<ChatQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/portal/{slug}/chat/{chat}");
    let (view, visitor) = match signed_in(&state, &headers, &slug, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(chat) = parse_chat(&chat) else {
        return missing(&view, &visitor);
    };
    let notice = match query.done.as_deref() {
        Some("closed") => Some("You ended the chat."),
        _ => None,
    };
    conversation(
        &state,
        &view,
        &visitor,
        chat,
        Shown {
            notice,
            ..Shown::default()
        },
    )
    .await
}

/// What a conversation page shows besides the conversation.
#[derive(Default)]
struct Shown {
    notice: Option<&'static str>,
    alert: Option<String>,
    body: String,
    body_error: Option<String>,
}

/// The conversation page of `chat` (the portal's 404 page for a chat that
/// is not the person's), with `shown`; 422 when it carries an error.
async fn conversation(
    state: &AppState,
    view: &PortalView,
    visitor: &Visitor,
    chat: ChatId,
    shown: Shown,
) -> Response {
    let org = view.portal.org;
    let found = match state.regentra.chat_view(&visitor.caller, org, chat).await {
        Ok(found) => found,
        Err(Error::NotFound { .. }) => return missing(view, visitor),
        Err(e) => return not_for_you(view, visitor, &e),
    };
    let history = match state
        .regentra
        .chat_history(&visitor.caller, org, chat)
        .await
    {
        Ok(history) => history,
        Err(e) => return super::failed(&e),
    };
    // The ticket's number, when the person may read it (a ticket made by
    // staff for them is theirs; the page links it either way).
    let ticket = match found.chat.ticket {
        Some(id) => Some((
            view.path(&format!("tickets/{id}")),
            state
                .regentra
                .ticket(&visitor.caller, org, id)
                .await
                .ok()
                .map(|t| t.number),
        )),
        None => None,
    };
    let ChatView {
        chat: session,
        wait,
        time_zone,
    } = found;
    let zone = zone_of(&time_zone);
    let status = session_badge(&session, Some(wait.answered));
    let me = visitor.caller.user;
    let lines = history
        .iter()
        .map(|m| line(m, me == m.author, &zone))
        .collect();
    let offer_in = wait
        .ticket_offer_at
        .filter(|_| !wait.ticket_offered)
        .map(|at| (at - state.regentra.now()).num_seconds().max(0));
    let code = if shown.body_error.is_some() || shown.alert.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        code,
        &ChatPage {
            chrome: view.chrome("Chat").with_session(&visitor.secret),
            nav: Some(Nav::new(view, visitor, "chat")),
            view: view.clone(),
            csrf_field: visitor.csrf_field(),
            script_version: script_version(),
            chat_id: chat.to_string(),
            org_id: org.to_string(),
            me: me.to_string(),
            started: long_time(session.started_at, &zone),
            time_zone,
            status,
            lines,
            open: session.status == ChatStatus::Open,
            answered: wait.answered,
            answer_within_minutes: wait.answer_within_minutes,
            offered: wait.ticket_offered,
            offer_in,
            ticket,
            notice: shown.notice,
            alert: shown.alert,
            body: shown.body,
            body_error: shown.body_error,
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageForm {
    #[serde(default)]
    body: String,
}

/// `POST /portal/{slug}/chat/{chat}/messages`: a message sent without the
/// script; stored, passed on to the chat's sockets, and back to the page.
pub(crate) async fn send(
    State(state): State<AppState>,
    Path((slug, chat)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/portal/{slug}/chat/{chat}");
    let (view, visitor, form) =
        match signed_in_form::<MessageForm>(&state, &slug, &back, request).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Some(chat) = parse_chat(&chat) else {
        return missing(&view, &visitor);
    };
    match state
        .regentra
        .post_chat_message(&visitor.caller, view.portal.org, chat, &form.body)
        .await
    {
        Ok(message) => {
            state.chat.changed(message.chat).await;
            Redirect::to(&format!("{}#chat-form", chat_path(&view, chat))).into_response()
        }
        Err(Error::Validation(errors)) => {
            let mut shown = Shown {
                body: form.body,
                ..Shown::default()
            };
            for e in errors {
                match e.field.as_str() {
                    "body" => shown.body_error = Some(sentence("Your message", &e.message)),
                    _ => shown.alert = Some(sentence("This chat", &e.message)),
                }
            }
            conversation(&state, &view, &visitor, chat, shown).await
        }
        Err(Error::Conflict { .. }) => {
            conversation(
                &state,
                &view,
                &visitor,
                chat,
                Shown {
                    alert: Some(
                        "The chat changed while you were writing. Your message was not sent: \
                         check the conversation and send it again."
                            .to_owned(),
                    ),
                    body: form.body,
                    ..Shown::default()
                },
            )
            .await
        }
        Err(Error::NotFound { .. }) => missing(&view, &visitor),
        Err(e) => super::failed(&e),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct NoFields {}

/// `POST /portal/{slug}/chat/{chat}/ticket`: leaves an unanswered chat as
/// a ticket and goes to the ticket's page.
pub(crate) async fn leave_as_ticket(
    State(state): State<AppState>,
    Path((slug, chat)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/portal/{slug}/chat/{chat}");
    let (view, visitor, _) = match signed_in_form::<NoFields>(&state, &slug, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(chat) = parse_chat(&chat) else {
        return missing(&view, &visitor);
    };
    let refused = |alert: &str| Shown {
        alert: Some(alert.to_owned()),
        ..Shown::default()
    };
    let shown = match state
        .regentra
        .leave_chat_as_ticket(&visitor.caller, view.portal.org, chat)
        .await
    {
        Ok(ticket) => {
            state.chat.changed(chat).await;
            return Redirect::to(&format!(
                "{}?done=from-chat",
                view.path(&format!("tickets/{}", ticket.id))
            ))
            .into_response();
        }
        Err(Error::NotFound { .. }) => return missing(&view, &visitor),
        // Answered, or not yet waited long enough: the page says where
        // things stand now.
        Err(Error::Validation(_) | Error::Conflict { .. }) => refused(
            "This chat cannot be left as a ticket now: the service desk has answered, or the \
             wait is not over yet. The conversation below shows where things stand.",
        ),
        Err(Error::AlreadyExists { .. }) => {
            refused("This chat is a ticket already: follow the link below.")
        }
        Err(Error::PermissionDenied { .. }) => {
            refused("Only the person who started this chat can leave it as a ticket.")
        }
        Err(e) => return super::failed(&e),
    };
    conversation(&state, &view, &visitor, chat, shown).await
}

/// `POST /portal/{slug}/chat/{chat}/close`: the person ends the chat.
pub(crate) async fn close(
    State(state): State<AppState>,
    Path((slug, chat)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/portal/{slug}/chat/{chat}");
    let (view, visitor, _) = match signed_in_form::<NoFields>(&state, &slug, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(chat) = parse_chat(&chat) else {
        return missing(&view, &visitor);
    };
    match state
        .regentra
        .close_chat(&visitor.caller, view.portal.org, chat)
        .await
    {
        Ok(_) => {
            state.chat.changed(chat).await;
            Redirect::to(&format!("{}?done=closed", chat_path(&view, chat))).into_response()
        }
        Err(Error::NotFound { .. }) => missing(&view, &visitor),
        // Closed already (by the other side, say): the page shows it.
        Err(Error::Validation(_)) => Redirect::to(&chat_path(&view, chat)).into_response(),
        Err(e) => super::failed(&e),
    }
}

fn chat_path(view: &PortalView, chat: ChatId) -> String {
    view.path(&format!("chat/{chat}"))
}

fn parse_chat(raw: &str) -> Option<ChatId> {
    raw.parse::<uuid::Uuid>().ok().map(ChatId)
}

/// The portal's 404 page for a conversation that is not the person's (or
/// does not exist: the same page).
fn missing(view: &PortalView, visitor: &Visitor) -> Response {
    message(
        StatusCode::NOT_FOUND,
        view,
        Some(Nav::new(view, visitor, "chat")),
        "Conversation not found",
        "There is no conversation of yours at this address. Your conversations are listed on \
         the Chat with us page.",
    )
}

/// The page for someone whose role starts no chats in this organization
/// (a viewer), or a failure of ours.
fn not_for_you(view: &PortalView, visitor: &Visitor, error: &Error) -> Response {
    match error {
        Error::PermissionDenied { .. } => message(
            StatusCode::FORBIDDEN,
            view,
            Some(Nav::new(view, visitor, "chat")),
            "Chat is not available to you",
            "Your account in this organization cannot start chats with the service desk. Ask \
             your organization's administrator if you need to.",
        ),
        e => super::failed(e),
    }
}

/// A field error of the core as a sentence about `subject` ("must not be
/// empty" becomes "Your message must not be empty.").
fn sentence(subject: &str, problem: &str) -> String {
    let problem = problem.trim_end_matches('.');
    if problem.starts_with("must") || problem.starts_with("is ") {
        format!("{subject} {problem}.")
    } else {
        let mut chars = problem.chars();
        match chars.next() {
            Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
            None => format!("{subject} was refused."),
        }
    }
}

/// The time zone named by the core (UTC for a name it should never give).
fn zone_of(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// An instant in full, in the org's zone: "Monday 2 March 2026, 04:00 EST".
fn long_time(at: DateTime<Utc>, zone: &Tz) -> String {
    at.with_timezone(zone)
        .format("%A %-d %B %Y, %H:%M %Z")
        .to_string()
}

fn line(m: &ChatMessage, mine: bool, zone: &Tz) -> Line {
    let who = if mine {
        "You".to_owned()
    } else if m.author_name.trim().is_empty() {
        "Service desk".to_owned()
    } else {
        m.author_name.clone()
    };
    let local = m.at.with_timezone(zone);
    Line {
        id: m.id.to_string(),
        mine,
        who,
        body: m.body.clone(),
        at_iso: m.at.to_rfc3339(),
        at_text: local.format("%H:%M").to_string(),
    }
}

/// A conversation's state in words. `answered` is known on the
/// conversation's own page; the list shows open ones as open.
fn session_badge(chat: &ChatSession, answered: Option<bool>) -> Badge {
    let (label, class) = match (chat.status, chat.ticket, answered) {
        (_, Some(_), _) => ("Continued as a ticket", "badge-muted"),
        (ChatStatus::Closed, None, _) => ("Ended", "badge-muted"),
        (ChatStatus::Open, None, Some(false)) => ("Waiting for the service desk", "badge-warning"),
        (ChatStatus::Open, None, Some(true)) => ("In progress", "badge-success"),
        (ChatStatus::Open, None, None) => ("Open", "badge-success"),
    };
    Badge {
        label: label.to_owned(),
        class,
    }
}

impl ChatPage {
    /// The API paths the script uses: the chat, its messages, its socket.
    fn api(&self, rest: &str) -> String {
        format!("/v1/orgs/{}/chats/{}{rest}", self.org_id, self.chat_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_field_errors_read_as_sentences() {
        assert_eq!(
            sentence("Your message", "must not be empty"),
            "Your message must not be empty."
        );
        assert_eq!(
            sentence("This chat", "the chat is closed"),
            "The chat is closed."
        );
    }
}
