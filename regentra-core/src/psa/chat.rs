//! Live chat: a requester and staff exchange ordered messages; either side
//! closes the session; staff can turn it into a ticket with the transcript.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::Priority;
use super::ticket::{NewTicket, Ticket};
use crate::audit::Target;
use crate::error::{Error, Result};
use crate::ids::{ChatId, ChatMessageId, OrgId, TicketId, UserId};
use crate::notify::NotificationKind;
use crate::rbac::{Permission, Role};
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Listing, PageRequest, Scope, Versioned};
use crate::tenancy::{Membership, User};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatStatus {
    Open,
    Closed,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSession {
    pub id: ChatId,
    pub org: OrgId,
    pub requester: UserId,
    pub staff: Option<UserId>,
    pub status: ChatStatus,
    pub closed_by: Option<UserId>,
    pub ticket: Option<TicketId>,
    pub started_at: DateTime<Utc>,
}

impl Entity for ChatSession {
    const KIND: &'static str = "chat_session";
    const NAME: &'static str = "chat";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::multi("requester", self.requester.to_string())]
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: ChatMessageId,
    pub org: OrgId,
    pub chat: ChatId,
    pub author: UserId,
    pub body: String,
    pub at: DateTime<Utc>,
}

impl Entity for ChatMessage {
    const KIND: &'static str = "chat_message";
    const NAME: &'static str = "chat message";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::multi("chat", self.chat.to_string())]
    }
}

impl Regentra {
    /// A requester opens a chat.
    pub async fn start_chat(
        &self,
        principal: &Principal,
        org: OrgId,
        first_message: &str,
    ) -> Result<ChatSession> {
        let grant = self
            .authorize(principal, org, Permission::ChatRequest)
            .await?;
        let body = message_body("message", first_message)?;
        let now = self.now();
        let chat = ChatSession {
            id: ChatId(self.new_id()),
            org,
            requester: principal.user,
            staff: None,
            status: ChatStatus::Open,
            closed_by: None,
            ticket: None,
            started_at: now,
        };
        let message = ChatMessage {
            id: ChatMessageId(self.new_id()),
            org,
            chat: chat.id,
            author: principal.user,
            body,
            at: now,
        };
        let mut changes = ChangeSet::new();
        changes.insert(&chat)?;
        self.announce_chat(&mut changes, principal, &chat, &message.body)
            .await?;
        changes.insert(&message)?;
        changes.audit(self.event(
            principal,
            &grant,
            "chat.started",
            Target::new(ChatSession::KIND, chat.id),
            json!({}),
        ));
        self.store().apply(changes).await?;
        Ok(chat)
    }

    /// A new chat is waiting: every technician of the org (its own, and
    /// those its MSP assigned to it) is told, in the inbox and by email,
    /// with who asked, what they wrote first, and the link.
    async fn announce_chat(
        &self,
        changes: &mut ChangeSet,
        principal: &Principal,
        chat: &ChatSession,
        first_message: &str,
    ) -> Result<()> {
        let technicians: Vec<UserId> = store::find_all::<Membership>(
            self.store(),
            Scope::Platform,
            "org",
            &chat.org.to_string(),
        )
        .await?
        .into_iter()
        .filter(|m| m.value.role == Role::Technician && m.value.user != principal.user)
        .map(|m| m.value.user)
        .collect();
        if technicians.is_empty() {
            return Ok(());
        }
        let sender = self.sender(chat.org).await?;
        let requester = store::load::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .map(|u| u.value.display_name)
            .unwrap_or_default();
        for user in technicians {
            self.notify_person(
                changes,
                &sender,
                user,
                NotificationKind::ChatWaiting,
                json!({ "chat": chat.id, "requester": chat.requester }),
                json!({
                    "requester_name": requester,
                    "message": super::ticket::excerpt(first_message),
                    "link": format!("/app/{}/chats/{}", chat.org, chat.id),
                }),
            )
            .await?;
        }
        Ok(())
    }

    /// Posts a message: the chat's requester, or staff (who then join it).
    pub async fn post_chat_message(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
        text: &str,
    ) -> Result<ChatMessage> {
        let (mut session, grant, staff) = self.chat_party(principal, org, chat).await?;
        if session.value.status == ChatStatus::Closed {
            return Err(Error::invalid("chat", "the chat is closed"));
        }
        let body = message_body("body", text)?;
        let message = ChatMessage {
            id: ChatMessageId(self.new_id()),
            org,
            chat,
            author: principal.user,
            body,
            at: self.now(),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&message)?;
        if staff && session.value.staff.is_none() {
            session.value.staff = Some(principal.user);
            changes.update(&session)?;
        }
        changes.audit(self.event(
            principal,
            &grant,
            "chat.message",
            Target::new(ChatSession::KIND, chat),
            json!({ "message": message.id }),
        ));
        self.store().apply(changes).await?;
        Ok(message)
    }

    /// A page of the chat's messages, in the order they were sent (ids are
    /// uuid v7), read by the store through the `chat` index.
    pub async fn chat_messages(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
        page: PageRequest,
    ) -> Result<Listing<ChatMessage>> {
        self.chat_party(principal, org, chat).await?;
        Ok(store::find_page::<ChatMessage>(
            self.store(),
            Scope::Org(org),
            "chat",
            &chat.to_string(),
            page,
        )
        .await?
        .map(|v| v.value))
    }

    /// The chat's whole history, in the order it was sent: what a live
    /// connection replays when it opens (one conversation, short by nature).
    pub async fn chat_history(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
    ) -> Result<Vec<ChatMessage>> {
        self.chat_party(principal, org, chat).await?;
        Ok(
            store::find_all::<ChatMessage>(
                self.store(),
                Scope::Org(org),
                "chat",
                &chat.to_string(),
            )
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect(),
        )
    }

    /// The chat, if the caller may still take part in it: its requester, or
    /// staff of the org. A live connection asks this before it passes each
    /// message on, so access that ends (a member removed, an MSP's
    /// delegation or assignment taken back) ends what the connection shows;
    /// others get `NotFound`, as for a chat that does not exist.
    pub async fn chat_session(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
    ) -> Result<ChatSession> {
        Ok(self.chat_party(principal, org, chat).await?.0.value)
    }

    /// Either side closes the chat.
    pub async fn close_chat(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
    ) -> Result<ChatSession> {
        let (mut session, grant, _) = self.chat_party(principal, org, chat).await?;
        if session.value.status == ChatStatus::Closed {
            return Err(Error::invalid("chat", "the chat is already closed"));
        }
        session.value.status = ChatStatus::Closed;
        session.value.closed_by = Some(principal.user);
        let mut changes = ChangeSet::new();
        changes.update(&session)?;
        changes.audit(self.event(
            principal,
            &grant,
            "chat.closed",
            Target::new(ChatSession::KIND, chat),
            json!({}),
        ));
        self.store().apply(changes).await?;
        Ok(session.value)
    }

    /// Staff turn a chat into a ticket for its requester, with the transcript.
    pub async fn chat_to_ticket(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
        subject: &str,
        priority: Priority,
    ) -> Result<Ticket> {
        self.authorize_all(principal, org, Permission::ChatStaff)
            .await?;
        let session: Versioned<ChatSession> =
            store::require(self.store(), Scope::Org(org), chat.0).await?;
        if session.value.ticket.is_some() {
            return Err(Error::AlreadyExists {
                what: "ticket for this chat",
                field: "chat".into(),
            });
        }
        let transcript: Vec<String> = store::find_all::<ChatMessage>(
            self.store(),
            Scope::Org(org),
            "chat",
            &chat.to_string(),
        )
        .await?
        .iter()
        .map(|m| &m.value)
        .map(|m| format!("[{}] {}: {}", m.at.to_rfc3339(), m.author, m.body))
        .collect();
        let ticket = self
            .create_ticket(
                principal,
                org,
                NewTicket {
                    subject: subject.to_owned(),
                    description: format!("From chat {chat}:\n\n{}", transcript.join("\n")),
                    priority,
                    requester: Some(session.value.requester),
                },
            )
            .await?;
        let mut session =
            store::require::<ChatSession>(self.store(), Scope::Org(org), chat.0).await?;
        session.value.ticket = Some(ticket.id);
        let grant = self
            .authorize_all(principal, org, Permission::ChatStaff)
            .await?;
        let mut changes = ChangeSet::new();
        changes.update(&session)?;
        changes.audit(self.event(
            principal,
            &grant,
            "chat.ticketed",
            Target::new(ChatSession::KIND, chat),
            json!({ "ticket": ticket.id }),
        ));
        self.store().apply(changes).await?;
        Ok(ticket)
    }

    /// The session, if the caller is its requester or staff; others get
    /// NotFound, as for a chat that does not exist.
    async fn chat_party(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
    ) -> Result<(Versioned<ChatSession>, crate::rbac::Grant, bool)> {
        let staff = self
            .authorize_all(principal, org, Permission::ChatStaff)
            .await;
        let (grant, is_staff) = match staff {
            Ok(g) => (g, true),
            Err(Error::PermissionDenied { .. }) => (
                self.authorize(principal, org, Permission::ChatRequest)
                    .await?,
                false,
            ),
            Err(e) => return Err(e),
        };
        let session: Versioned<ChatSession> =
            store::require(self.store(), Scope::Org(org), chat.0).await?;
        if !is_staff && session.value.requester != principal.user {
            return Err(Error::NotFound {
                what: ChatSession::NAME,
            });
        }
        Ok((session, grant, is_staff))
    }
}

/// A message's text, checked; errors name `field` (a chat's first message
/// is the API's `message`, later ones its `body`).
fn message_body(field: &str, text: &str) -> Result<String> {
    let body = text.trim();
    if body.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if body.len() > 10_000 {
        return Err(Error::invalid(field, "must be at most 10,000 bytes"));
    }
    Ok(body.to_owned())
}
