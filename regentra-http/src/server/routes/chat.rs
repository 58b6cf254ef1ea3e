//! Live chat: sessions over REST, messages over a WebSocket. Every message
//! is stored through the core first (authorized, audited); then the chat's
//! sockets, on this server and on every server sharing the store, are told
//! that it changed and read what is new ([`crate::server::live`]). A chat's requester
//! reads what they wait for (`GET .../chats/{chat}`: answered yet, when
//! they may leave the chat as a ticket) and, once the core offers it,
//! leaves it as a ticket (`POST .../leave-as-ticket`).
//!
//! A socket lives longer than the access it was opened with, so it checks
//! again, through the core, before it passes anything on (every message it
//! would send, every frame it is sent, a closing of the chat) and at least
//! every [`RECHECK_EVERY`]: the token must still authenticate and the caller
//! must still be a party to the chat. When either ends, the socket closes
//! with a close frame saying why (see [`Ending`]).

use std::collections::HashSet;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use regentra_core::ids::{ChatId, ChatMessageId, OrgId};
use regentra_core::psa::Priority;
use regentra_core::psa::chat::{ChatFilter, ChatMessage, ChatStatus};
use regentra_core::store::{MAX_PAGE, PageRequest, ScanRequest};
use regentra_core::{Error, Principal};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::{Caller, SocketCaller};
use crate::server::live::Watch;
use crate::server::page::{Page, PageQuery, Paged};
use crate::server::problem::{Body, Problem, problem_of};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_chat, org_chats))
        .routes(routes!(all_chats))
        .routes(routes!(my_chats))
        .routes(routes!(chat_settings))
        .routes(routes!(chat_view))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(close_chat))
        .routes(routes!(to_ticket))
        .routes(routes!(leave_as_ticket))
        .routes(routes!(socket))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartChat {
    /// The first message.
    message: String,
}

/// Starts a chat with the helpdesk.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/chats", tag = "chat",
    params(("org_id" = Uuid, Path)), request_body = StartChat,
    responses((status = 201, body = regentra_core::psa::chat::ChatSession), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn start_chat(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<StartChat>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let chat = state
        .regentra
        .start_chat(&caller, org, &req.message)
        .await?;
    // With a chat open already, the message went into it: its windows
    // show it.
    state.chat.changed(chat.id).await;
    Ok((StatusCode::CREATED, Json(json!(chat))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChatListQuery {
    /// `open`, `closed`, or `any` (the default).
    #[serde(default)]
    #[param(inline)]
    state: ChatFilter,
    /// Items per page (default 50, at most 500; larger values are capped).
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl ChatListQuery {
    fn page(self) -> ApiResult<(ChatFilter, Page, ScanRequest)> {
        let page = Page::parse(PageQuery {
            limit: self.limit,
            cursor: self.cursor,
        })?;
        let request = ScanRequest::after(page.scan_after()?, page.limit);
        Ok((self.state, page, request))
    }
}

/// The org's chats for the service desk (`chat.staff`), newest activity
/// (message, closing, ticket) first, open, closed or both.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/chats", tag = "chat",
    params(("org_id" = Uuid, Path), ChatListQuery),
    responses((status = 200, body = Paged<regentra_core::psa::chat::ChatSession>), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn org_chats(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<ChatListQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let (filter, page, request) = q.page()?;
    let chats = state
        .regentra
        .chat_queue(&caller, org, filter, request)
        .await?;
    Ok(Json(page.scanned(chats).map(|c| json!(c))))
}

/// The chats of every org where the caller answers chats (their own orgs
/// and, for MSP staff, the clients they manage or are assigned to), merged
/// newest activity first; empty for someone who answers none.
#[utoipa::path(get, path = "/v1/chats", tag = "chat",
    params(ChatListQuery),
    responses((status = 200, body = Paged<regentra_core::psa::chat::ChatSession>), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn all_chats(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ChatListQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let (filter, page, request) = q.page()?;
    let chats = state
        .regentra
        .my_chat_queue(&caller, filter, request)
        .await?;
    Ok(Json(page.scanned(chats).map(|c| json!(c))))
}

/// What the org's chats run by, for anyone who may start one: the minutes
/// a chat waits for its first answer before its requester may leave it as
/// a ticket (the org's SLA policy's `chat_answer_minutes`, 3 without one),
/// and the time zone to show its times in.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/chat-settings", tag = "chat",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::psa::chat::ChatSettings), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn chat_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.chat_settings(&caller, org).await?
    )))
}

/// The caller's own chats (those they started), newest first.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/me/chats", tag = "chat",
    params(("org_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<regentra_core::psa::chat::ChatSession>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn my_chats(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let after = ScanRequest::after(page.scan_after()?, page.limit);
    let chats = state.regentra.my_chats(&caller, org, after).await?;
    Ok(Json(page.scanned(chats).map(|c| json!(c))))
}

/// The chat, with what its requester waits for: whether the service desk
/// has answered, and when (`ticket_offer_at`) they may leave it as a
/// ticket if nobody does (`ticket_offered` once that time has come); the
/// org's time zone for showing its times.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/chats/{chat_id}", tag = "chat",
    params(("org_id" = Uuid, Path), ("chat_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::psa::chat::ChatView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn chat_view(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, chat)): Id<(OrgId, ChatId)>,
) -> ApiResult<Json<Value>> {
    let view = state.regentra.chat_view(&caller, org, chat).await?;
    Ok(Json(json!(view)))
}

/// A chat's messages, oldest first.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/chats/{chat_id}/messages", tag = "chat",
    params(("org_id" = Uuid, Path), ("chat_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<regentra_core::psa::chat::ChatMessage>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_messages(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, chat)): Id<(OrgId, ChatId)>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let messages = state
        .regentra
        .chat_messages(&caller, org, chat, page.request())
        .await?;
    Ok(Json(page.listed(messages).map(|m| json!(m))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    body: String,
}

/// Posts a message (the WebSocket does the same, live).
#[utoipa::path(post, path = "/v1/orgs/{org_id}/chats/{chat_id}/messages", tag = "chat",
    params(("org_id" = Uuid, Path), ("chat_id" = Uuid, Path)), request_body = PostMessage,
    responses((status = 201, body = regentra_core::psa::chat::ChatMessage), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn post_message(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, chat)): Id<(OrgId, ChatId)>,
    Body(req): Body<PostMessage>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let message = state
        .regentra
        .post_chat_message(&caller, org, chat, &req.body)
        .await?;
    state.chat.changed(message.chat).await;
    Ok((StatusCode::CREATED, Json(json!(message))))
}

/// Closes a chat (either side may).
#[utoipa::path(post, path = "/v1/orgs/{org_id}/chats/{chat_id}/close", tag = "chat",
    params(("org_id" = Uuid, Path), ("chat_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::psa::chat::ChatSession), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn close_chat(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, chat)): Id<(OrgId, ChatId)>,
) -> ApiResult<Json<Value>> {
    let closed = state.regentra.close_chat(&caller, org, chat).await?;
    state.chat.changed(chat).await;
    Ok(Json(json!(closed)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToTicket {
    subject: String,
    priority: Priority,
}

/// Turns a chat into a ticket carrying the transcript.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/chats/{chat_id}/ticket", tag = "chat",
    params(("org_id" = Uuid, Path), ("chat_id" = Uuid, Path)), request_body = ToTicket,
    responses((status = 201, body = super::tickets::TicketBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn to_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, chat)): Id<(OrgId, ChatId)>,
    Body(req): Body<ToTicket>,
) -> ApiResult<(StatusCode, Json<super::tickets::TicketBody>)> {
    let ticket = state
        .regentra
        .chat_to_ticket(&caller, org, chat, &req.subject, req.priority)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(super::tickets::ticket_body(ticket, state.regentra.now())?),
    ))
}

/// The chat's requester leaves it as a ticket, once nobody of the service
/// desk answered within the org's wait (`wait.ticket_offered` of the
/// chat): a ticket of theirs with the transcript, and the chat closed.
/// 422 naming `chat` while the wait lasts, once someone answered, or for a
/// closed chat; 403 for anyone but the requester; 409 when the chat
/// changed meanwhile.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/chats/{chat_id}/leave-as-ticket", tag = "chat",
    params(("org_id" = Uuid, Path), ("chat_id" = Uuid, Path)),
    responses((status = 201, body = super::tickets::TicketBody), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn leave_as_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, chat)): Id<(OrgId, ChatId)>,
) -> ApiResult<(StatusCode, Json<super::tickets::TicketBody>)> {
    let ticket = state
        .regentra
        .leave_chat_as_ticket(&caller, org, chat)
        .await?;
    state.chat.changed(chat).await;
    Ok((
        StatusCode::CREATED,
        Json(super::tickets::ticket_body(ticket, state.regentra.now())?),
    ))
}

/// A frame the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Outgoing<'a> {
    Message(&'a ChatMessage),
    Error { problem: Problem },
}

/// A frame a client sends: `{"body": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Incoming {
    body: String,
}

/// The chat live over a WebSocket. On connect the server sends the history,
/// then every new message as `{"type":"message",...}`, each once, whichever
/// server stored it (a socket reconnecting gets the history again: messages
/// carry ids, by which a client drops what it has already); a client sends
/// `{"body":"..."}` to post. Errors arrive as `{"type":"error","problem":{...}}`
/// with a problem document. Browsers may pass the token as `?access_token=`.
/// The socket checks the token and the caller's access again before it
/// passes anything on, and closes when they end: close code 4401 when the
/// token no longer authenticates (revoked or expired), 4403 when the caller
/// is no longer a party to the chat (removed from the organization, access
/// through the MSP taken back), 1000 when the chat is closed, 1011 when the
/// server cannot check, 1012 when the server is shutting down (connect
/// again: a server shutting down answers 503); the close frame's reason
/// says which.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/chats/{chat_id}/ws", tag = "chat",
    params(("org_id" = Uuid, Path), ("chat_id" = Uuid, Path)),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn socket(
    State(state): State<AppState>,
    SocketCaller(caller, token, host): SocketCaller,
    Id((org, chat)): Id<(OrgId, ChatId)>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    // A server shutting down takes no new socket: the client connects
    // again, through the load balancer, to a server that stays.
    if state.drain.is_draining() {
        return Err(
            Error::Unavailable("this server is shutting down: connect again".into()).into(),
        );
    }
    // Watch before reading the history so nothing falls in between (what
    // is stored meanwhile wakes the socket, which then reads it).
    let watch = state.chat.watch(chat);
    let history = state.regentra.chat_history(&caller, org, chat).await?;
    let party = Party {
        caller,
        token,
        host,
        org,
        chat,
    };
    Ok(upgrade.on_upgrade(move |socket| run_socket(socket, state, party, history, watch)))
}

/// How often an idle socket checks that it may stay open.
pub const RECHECK_EVERY: Duration = Duration::from_secs(30);

/// Who a socket serves, and with what token.
struct Party {
    caller: Principal,
    token: String,
    /// The `Host` the socket was opened on: its token is checked again on
    /// that site (a portal's host name that is no longer one ends it).
    host: Option<String>,
    org: OrgId,
    chat: ChatId,
}

/// Why a socket closes: its close code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// 4401: the token no longer authenticates (revoked or expired).
    TokenEnded,
    /// 4403: the caller is no longer a party to the chat.
    AccessEnded,
    /// 1000: the chat was closed.
    ChatClosed,
    /// 1011: the server could not check (the store failed).
    Unchecked,
    /// 1012: the server is shutting down; connect again.
    Restarting,
}

impl Ending {
    pub fn code(self) -> u16 {
        match self {
            Ending::TokenEnded => 4401,
            Ending::AccessEnded => 4403,
            Ending::ChatClosed => 1000,
            Ending::Unchecked => 1011,
            Ending::Restarting => 1012,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Ending::TokenEnded => "the token is no longer valid (revoked or expired)",
            Ending::AccessEnded => "access to this chat has ended",
            Ending::ChatClosed => "the chat is closed",
            Ending::Unchecked => "access could not be checked",
            Ending::Restarting => "the server is restarting: connect again",
        }
    }
}

impl Party {
    /// Why the socket must close now, if it must: the token still
    /// authenticates as the same user, and the core still counts the
    /// caller a party to the chat.
    async fn ending(&self, state: &AppState) -> Option<Ending> {
        match state
            .authenticate_at_host(self.host.as_deref(), &self.token)
            .await
        {
            Ok(p) if p.user == self.caller.user => {}
            Ok(_) | Err(Error::Unauthenticated) => return Some(Ending::TokenEnded),
            Err(_) => return Some(Ending::Unchecked),
        }
        match state
            .regentra
            .chat_session(&self.caller, self.org, self.chat)
            .await
        {
            Ok(session) if session.status == ChatStatus::Closed => Some(Ending::ChatClosed),
            Ok(_) => None,
            Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
                Some(Ending::AccessEnded)
            }
            Err(_) => Some(Ending::Unchecked),
        }
    }
}

async fn run_socket(
    mut socket: WebSocket,
    state: AppState,
    party: Party,
    history: Vec<ChatMessage>,
    mut watch: Watch,
) {
    let mut sent = Sent::default();
    if sent.send_new(&mut socket, history).await.is_err() {
        return;
    }
    let mut recheck =
        tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A chat closed already shows its history, then says so.
    let ending = party.ending(&state).await;
    let ending = if let Some(ending) = ending {
        ending
    } else {
        loop {
            tokio::select! {
                incoming = socket.recv() => {
                    let Some(Ok(frame)) = incoming else { return };
                    let text = match frame {
                        Message::Text(text) => text,
                        Message::Close(_) => return,
                        _ => continue,
                    };
                    if let Some(ending) = party.ending(&state).await {
                        break ending;
                    }
                    if let Some(problem) = post(&state, &party.caller, party.org, party.chat, &text).await
                        && send(&mut socket, &Outgoing::Error { problem }).await.is_err()
                    {
                        return;
                    }
                    continue;
                }
                // The chat changed (here or on another server), or signals
                // may have been missed.
                () = watch.changed() => {}
                // Access may have ended; and a change told by a signal that
                // got lost is read here at the latest.
                _ = recheck.tick() => {}
                // The server is shutting down: the client connects again
                // elsewhere (and is sent the conversation again).
                () = state.drain.started() => break Ending::Restarting,
            }
            if let Some(ending) = party.ending(&state).await {
                break ending;
            }
            match sent.catch_up(&state, &party, &mut socket).await {
                Ok(()) => {}
                Err(Stop::SocketGone) => return,
                Err(Stop::End(ending)) => break ending,
            }
        }
    };
    // The last words said before a chat was closed ("thanks, bye") reach
    // the socket before the closing does.
    if ending == Ending::ChatClosed
        && let Err(Stop::SocketGone) = sent.catch_up(&state, &party, &mut socket).await
    {
        return;
    }
    // Stop watching before saying goodbye, then close.
    drop(watch);
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: ending.code(),
            reason: ending.reason().into(),
        })))
        .await;
}

/// Why a socket stops catching up.
enum Stop {
    /// The client went away.
    SocketGone,
    /// The socket must close: access ended while it read, or it could not
    /// read.
    End(Ending),
}

/// How far before the newest message a socket has sent it reads again, for
/// messages it may not have. A message's id is the time (uuid v7) taken by
/// the server that stored it, and the servers' clocks may differ a little,
/// so a message committed a moment later can carry an earlier id; servers
/// whose clocks agree within this margin (NTP keeps them far closer) lose
/// nothing to it.
const CLOCK_MARGIN_MS: u64 = 30_000;

/// What a socket has sent: each message once, by id, and where to read
/// from next (reading only the chat's tail, so that a long chat does not
/// cost a full read at every change).
#[derive(Default)]
struct Sent {
    ids: HashSet<ChatMessageId>,
    /// The newest id sent, as a time in milliseconds.
    newest_ms: Option<u64>,
}

impl Sent {
    /// Sends the messages not sent yet, in the order given, and remembers
    /// them. By id, not by position: messages stored by different servers
    /// at the same moment may be read in an order that puts a new one
    /// before an old one.
    async fn send_new(
        &mut self,
        socket: &mut WebSocket,
        messages: Vec<ChatMessage>,
    ) -> Result<(), axum::Error> {
        for message in messages {
            if self.ids.insert(message.id) {
                let ms = millis_of(message.id);
                self.newest_ms = Some(self.newest_ms.map_or(ms, |n| n.max(ms)));
                send(socket, &Outgoing::Message(&message)).await?;
            }
        }
        Ok(())
    }

    /// Sends the chat's messages this socket has not sent yet, read through
    /// the core as the socket's caller (so nothing reaches a socket its
    /// caller may not read): those from [`CLOCK_MARGIN_MS`] before the
    /// newest it sent, page by page.
    async fn catch_up(
        &mut self,
        state: &AppState,
        party: &Party,
        socket: &mut WebSocket,
    ) -> Result<(), Stop> {
        let mut after = self.newest_ms.map(|ms| {
            uuid::Builder::from_unix_timestamp_millis(ms.saturating_sub(CLOCK_MARGIN_MS), &[0; 10])
                .into_uuid()
        });
        loop {
            let page = state
                .regentra
                .chat_messages(
                    &party.caller,
                    party.org,
                    party.chat,
                    PageRequest::after(after, MAX_PAGE),
                )
                .await
                .map_err(|e| match e {
                    Error::NotFound { .. } | Error::PermissionDenied { .. } => {
                        Stop::End(Ending::AccessEnded)
                    }
                    _ => Stop::End(Ending::Unchecked),
                })?;
            self.send_new(socket, page.items)
                .await
                .map_err(|_| Stop::SocketGone)?;
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// The time in a uuid v7, in milliseconds since the epoch.
fn millis_of(id: ChatMessageId) -> u64 {
    let b = id.0.as_bytes();
    u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
}

/// Stores a client's frame as a message; the problem if it was refused.
async fn post(
    state: &AppState,
    caller: &Principal,
    org: OrgId,
    chat: ChatId,
    text: &str,
) -> Option<Problem> {
    let incoming: Incoming = match serde_json::from_str(text) {
        Ok(incoming) => incoming,
        Err(e) => {
            return Some(Problem::invalid_field(
                "body",
                &format!("frame is not {{\"body\": \"...\"}}: {e}"),
            ));
        }
    };
    match state
        .regentra
        .post_chat_message(caller, org, chat, &incoming.body)
        .await
    {
        Ok(message) => {
            state.chat.changed(message.chat).await;
            None
        }
        Err(e) => Some(problem_of(e)),
    }
}

async fn send(socket: &mut WebSocket, frame: &Outgoing<'_>) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame).unwrap_or_default();
    socket.send(Message::Text(text.into())).await
}
