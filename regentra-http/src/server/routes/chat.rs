//! Live chat: sessions over REST, messages over a WebSocket. Every message
//! is stored through the core first (authorized, audited), then fanned out
//! to the sockets watching that chat on this server. A chat's requester
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use regentra_core::ids::{ChatId, OrgId};
use regentra_core::psa::Priority;
use regentra_core::psa::chat::{ChatFilter, ChatMessage, ChatStatus};
use regentra_core::store::ScanRequest;
use regentra_core::{Error, Principal};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::{Caller, SocketCaller};
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

/// Fans stored messages (and the chat's closing) out to the sockets of each chat.
#[derive(Debug, Clone, Default)]
pub struct ChatHub {
    chats: Arc<Mutex<HashMap<ChatId, broadcast::Sender<Live>>>>,
}

/// What a chat's sockets hear.
#[derive(Debug, Clone)]
enum Live {
    Message(ChatMessage),
    /// The chat was closed: each socket checks and closes.
    Closed,
}

impl ChatHub {
    fn subscribe(&self, chat: ChatId) -> broadcast::Receiver<Live> {
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        chats
            .entry(chat)
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Drops a chat's channel nobody listens to (a socket refused after
    /// subscribing must not leave one behind).
    fn forget_if_idle(&self, chat: ChatId) {
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        if chats.get(&chat).is_some_and(|s| s.receiver_count() == 0) {
            chats.remove(&chat);
        }
    }

    /// Tells the chat's sockets of a message just stored.
    pub(crate) fn publish(&self, message: &ChatMessage) {
        self.send(message.chat, Live::Message(message.clone()));
    }

    /// Tells the chat's sockets that it was closed (each checks, and closes).
    pub(crate) fn closed(&self, chat: ChatId) {
        self.send(chat, Live::Closed);
    }

    fn send(&self, chat: ChatId, live: Live) {
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = chats.get(&chat)
            && sender.send(live).is_err()
        {
            // Nobody is watching any more.
            chats.remove(&chat);
        }
    }
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
    state.chat.publish(&message);
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
    state.chat.closed(chat);
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
    state.chat.closed(chat);
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
/// then every new message as `{"type":"message",...}` (and the history
/// again to a socket too slow to keep up: messages carry ids, by which a
/// client drops what it has already); a client sends
/// `{"body":"..."}` to post. Errors arrive as `{"type":"error","problem":{...}}`
/// with a problem document. Browsers may pass the token as `?access_token=`.
/// The socket checks the token and the caller's access again before it
/// passes anything on, and closes when they end: close code 4401 when the
/// token no longer authenticates (revoked or expired), 4403 when the caller
/// is no longer a party to the chat (removed from the organization, access
/// through the MSP taken back), 1000 when the chat is closed, 1011 when the
/// server cannot check; the close frame's reason says which.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/chats/{chat_id}/ws", tag = "chat",
    params(("org_id" = Uuid, Path), ("chat_id" = Uuid, Path)),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn socket(
    State(state): State<AppState>,
    SocketCaller(caller, token, host): SocketCaller,
    Id((org, chat)): Id<(OrgId, ChatId)>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    // Subscribe before reading the history so nothing falls in between
    // (a message may then arrive twice; ids tell duplicates apart).
    let live = state.chat.subscribe(chat);
    let history = match state.regentra.chat_history(&caller, org, chat).await {
        Ok(history) => history,
        Err(e) => {
            drop(live);
            state.chat.forget_if_idle(chat);
            return Err(e.into());
        }
    };
    let party = Party {
        caller,
        token,
        host,
        org,
        chat,
    };
    Ok(upgrade.on_upgrade(move |socket| run_socket(socket, state, party, history, live)))
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
}

impl Ending {
    pub fn code(self) -> u16 {
        match self {
            Ending::TokenEnded => 4401,
            Ending::AccessEnded => 4403,
            Ending::ChatClosed => 1000,
            Ending::Unchecked => 1011,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Ending::TokenEnded => "the token is no longer valid (revoked or expired)",
            Ending::AccessEnded => "access to this chat has ended",
            Ending::ChatClosed => "the chat is closed",
            Ending::Unchecked => "access could not be checked",
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
    mut live: broadcast::Receiver<Live>,
) {
    for message in &history {
        if send(&mut socket, &Outgoing::Message(message))
            .await
            .is_err()
        {
            return;
        }
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
                }
                message = live.recv() => match message {
                    Ok(Live::Message(message)) => {
                        if let Some(ending) = party.ending(&state).await {
                            break ending;
                        }
                        if send(&mut socket, &Outgoing::Message(&message)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Live::Closed) => {
                        if let Some(ending) = party.ending(&state).await {
                            break ending;
                        }
                    }
                    // A slow socket missed some: it gets the whole
                    // history again (clients tell repeats apart by id), so
                    // nothing is lost to it.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let history = match state
                            .regentra
                            .chat_history(&party.caller, party.org, party.chat)
                            .await
                        {
                            Ok(history) => history,
                            Err(_) => match party.ending(&state).await {
                                Some(ending) => break ending,
                                None => break Ending::Unchecked,
                            },
                        };
                        for message in &history {
                            if send(&mut socket, &Outgoing::Message(message)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = recheck.tick() => {
                    if let Some(ending) = party.ending(&state).await {
                        break ending;
                    }
                }
            }
        }
    };
    // Stop listening before saying goodbye, then close.
    drop(live);
    state.chat.forget_if_idle(party.chat);
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: ending.code(),
            reason: ending.reason().into(),
        })))
        .await;
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
            state.chat.publish(&message);
            None
        }
        Err(e) => Some(problem_of(e)),
    }
}

async fn send(socket: &mut WebSocket, frame: &Outgoing<'_>) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame).unwrap_or_default();
    socket.send(Message::Text(text.into())).await
}
