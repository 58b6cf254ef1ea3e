//! Live chat: a requester and staff exchange ordered messages; either side
//! closes the session; staff can turn it into a ticket with the transcript.
//! When nobody of the service desk answers within the wait the org's SLA
//! policy sets ([`SlaPolicy::chat_answer_minutes`]), the requester may leave
//! the chat as a ticket instead ([`chat_wait`] is the rule,
//! [`Regentra::leave_chat_as_ticket`] the operation).
//!
//! The service desk works from lists of chats, newest activity first: an
//! org's ([`Regentra::chat_queue`]) and one across every org the caller
//! answers chats in ([`Regentra::my_chat_queue`]), both walks of the
//! `activity` indexes every session writes. A new chat tells the people
//! who answer the org's chats, in the commit that starts it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::Priority;
use super::sla_policy::{DEFAULT_CHAT_ANSWER_MINUTES, SlaPolicy};
use super::ticket::{NewTicket, Ticket};
use crate::audit::Target;
use crate::error::{Error, Result};
use crate::ids::{ChatId, ChatMessageId, OrgId, TicketId, UserId};
use crate::notify::NotificationKind;
use crate::rbac::{self, Access, Grant, Permission};
use crate::service::{Principal, Regentra};
use crate::store::{
    self, ChangeSet, Entity, IndexEntry, IndexScan, Listing, PageRequest, Read, ReadResult,
    ScanCursor, ScanRequest, Scanned, Scope, Versioned,
};
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
    /// The requester's display name when they started it, for the service
    /// desk's lists. Empty in chats started before it was recorded.
    #[serde(default)]
    pub requester_name: String,
    /// When the chat last moved (a message, its closing, its ticket);
    /// absent in chats written before it was kept, whose last activity is
    /// their start.
    #[serde(default)]
    pub last_activity_at: Option<DateTime<Utc>>,
}

impl ChatSession {
    /// When anything last happened in the chat: what the service desk's
    /// lists order by, newest first.
    pub fn last_activity(&self) -> DateTime<Utc> {
        self.last_activity_at.unwrap_or(self.started_at)
    }
}

/// Which chats a service-desk list shows.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatFilter {
    Open,
    Closed,
    #[default]
    Any,
}

/// The index of chats by last activity (fixed-width UTC, to the
/// microsecond), and the same led
/// by the chat's status (`open|...`, `closed|...`): the service desk's lists
/// are descending walks of one or the other.
const ACTIVITY: &str = "activity";
const STATUS_ACTIVITY: &str = "status_activity";

fn status_key(status: ChatStatus) -> &'static str {
    match status {
        ChatStatus::Open => "open",
        ChatStatus::Closed => "closed",
    }
}

/// The walk listing `filter`'s chats newest activity first.
fn activity_walk(filter: ChatFilter) -> IndexScan {
    let walk = match filter {
        ChatFilter::Any => IndexScan::all(ACTIVITY),
        ChatFilter::Open => IndexScan::prefix(STATUS_ACTIVITY, "open|"),
        ChatFilter::Closed => IndexScan::prefix(STATUS_ACTIVITY, "closed|"),
    };
    walk.descending()
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
        // To the microsecond: messages come seconds apart.
        let activity = store::time_value(self.last_activity());
        vec![
            IndexEntry::multi("requester", self.requester.to_string()),
            IndexEntry::multi(
                STATUS_ACTIVITY,
                format!("{}|{activity}", status_key(self.status)),
            ),
            IndexEntry::multi(ACTIVITY, activity),
        ]
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: ChatMessageId,
    pub org: OrgId,
    pub chat: ChatId,
    pub author: UserId,
    /// The author's display name when they wrote it, so that whoever reads
    /// the chat (a client's employee, who may not list the service desk's
    /// people) sees who answered. Empty in messages written before it was
    /// recorded.
    #[serde(default)]
    pub author_name: String,
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
    /// A requester opens a chat. One who already has an open chat in the
    /// org continues it instead (the message goes there): a second click
    /// or a reloaded form does not page the service desk twice.
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
        // At most one chat of a person is open at a time, so it is their
        // newest one.
        let newest = self
            .my_chats(principal, org, crate::store::ScanRequest::first(1))
            .await?;
        if let Some(open) = newest
            .items
            .into_iter()
            .find(|c| c.status == ChatStatus::Open && c.ticket.is_none())
        {
            self.post_chat_message(principal, org, open.id, &body)
                .await?;
            return Ok(open);
        }
        let author_name = self.display_name(principal.user).await?;
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
            requester_name: author_name.clone(),
            last_activity_at: Some(now),
        };
        let message = ChatMessage {
            id: ChatMessageId(self.new_id()),
            org,
            chat: chat.id,
            author: principal.user,
            author_name,
            body,
            at: now,
        };
        let mut changes = ChangeSet::new();
        changes.insert(&chat)?;
        self.announce_chat(&mut changes, principal, &chat, &message)
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

    /// A new chat is waiting: everyone who answers the org's chats is told,
    /// in the inbox ("New chat from Erin at Acme Dental") and by email, with
    /// who asked, what they wrote first, and the link. They are the org's
    /// members whose role there holds `chat.staff` over every chat: its own
    /// admins and technicians, and the MSP staff assigned to it (an
    /// assignment is a membership of the client), as an escalation's
    /// `notify_role` finds its people; not the requester themselves.
    async fn announce_chat(
        &self,
        changes: &mut ChangeSet,
        principal: &Principal,
        chat: &ChatSession,
        first: &ChatMessage,
    ) -> Result<()> {
        let answerers: BTreeSet<UserId> = store::find_all::<Membership>(
            self.store(),
            Scope::Platform,
            "org",
            &chat.org.to_string(),
        )
        .await?
        .into_iter()
        .filter(|m| rbac::decide(m.value.role, Permission::ChatStaff) == Access::All)
        .map(|m| m.value.user)
        .filter(|user| *user != principal.user)
        .collect();
        if answerers.is_empty() {
            return Ok(());
        }
        let sender = self.sender(chat.org).await?;
        let requester_name = if first.author_name.is_empty() {
            "someone".to_owned()
        } else {
            first.author_name.clone()
        };
        let summary = format!("New chat from {requester_name} at {}", sender.org_name);
        for user in answerers {
            self.notify_person(
                changes,
                &sender,
                user,
                NotificationKind::ChatWaiting,
                json!({
                    "chat": chat.id,
                    "requester": chat.requester,
                    "requester_name": requester_name,
                    "org_name": sender.org_name,
                    "summary": summary,
                }),
                json!({
                    "requester_name": first.author_name,
                    "message": super::ticket::excerpt(&first.body),
                    "link": format!("/app/{}/chats/{}", chat.org, chat.id),
                }),
            )
            .await?;
        }
        Ok(())
    }

    /// Posts a message: the chat's requester, or staff (who then join it).
    /// The chat's last activity moves with it, under the chat's version, so
    /// no message lands in a chat closed meanwhile; two messages at once
    /// both land (the second is written again on the chat as the first
    /// left it).
    pub async fn post_chat_message(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
        text: &str,
    ) -> Result<ChatMessage> {
        let body = message_body("body", text)?;
        let author_name = self.display_name(principal.user).await?;
        let mut tries = 0;
        loop {
            let (mut session, grant, staff) = self.chat_party(principal, org, chat).await?;
            if session.value.status == ChatStatus::Closed {
                return Err(Error::invalid("chat", "the chat is closed"));
            }
            let message = ChatMessage {
                id: ChatMessageId(self.new_id()),
                org,
                chat,
                author: principal.user,
                author_name: author_name.clone(),
                body: body.clone(),
                at: self.now(),
            };
            let mut changes = ChangeSet::new();
            changes.insert(&message)?;
            if staff && session.value.staff.is_none() {
                session.value.staff = Some(principal.user);
            }
            session.value.last_activity_at = Some(message.at);
            changes.update(&session)?;
            changes.audit(self.event(
                principal,
                &grant,
                "chat.message",
                Target::new(ChatSession::KIND, chat),
                json!({ "message": message.id }),
            ));
            match self.store().apply(changes).await {
                Ok(_) => return Ok(message),
                // Another message moved the chat on: read it again (a
                // chat closed meanwhile refuses this one above). Each round
                // one of the posts racing wins, so this many tries carry a
                // burst of that many messages at once (several people, or
                // several servers) without a refusal.
                Err(Error::Conflict { .. }) if tries < 16 => tries += 1,
                Err(e) => return Err(e),
            }
        }
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
        self.messages_of(org, chat).await
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
        session.value.last_activity_at = Some(self.now());
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

    /// Staff turn a chat into a ticket for its requester, with the
    /// transcript; the chat records the ticket in the same commit.
    pub async fn chat_to_ticket(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
        subject: &str,
        priority: Priority,
    ) -> Result<Ticket> {
        let grant = self
            .authorize_all(principal, org, Permission::ChatStaff)
            .await?;
        let session: Versioned<ChatSession> =
            store::require(self.store(), Scope::Org(org), chat.0).await?;
        if session.value.ticket.is_some() {
            return Err(ticket_exists());
        }
        let messages = self.messages_of(org, chat).await?;
        let zone = self.chat_time_zone(org).await?.1;
        let description = transcript(&session.value, &messages, &zone);
        self.create_ticket_with(
            principal,
            org,
            NewTicket {
                subject: subject.to_owned(),
                description,
                priority,
                requester: Some(session.value.requester),
            },
            &[],
            |ticket, changes| {
                let mut session = session.clone();
                session.value.ticket = Some(ticket.id);
                session.value.last_activity_at = Some(ticket.created_at);
                changes.update(&session)?;
                changes.audit(self.event(
                    principal,
                    &grant,
                    "chat.ticketed",
                    Target::new(ChatSession::KIND, chat),
                    json!({ "ticket": ticket.id }),
                ));
                Ok(())
            },
        )
        .await
        .map_err(|e| chat_changed(e, chat))
    }

    /// The chat with what its requester is waiting for: whether the service
    /// desk has answered and when (if ever) they are offered to leave it as
    /// a ticket ([`chat_wait`], against the injected clock), and the org's
    /// time zone to show its times in. Its requester and staff only.
    pub async fn chat_view(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
    ) -> Result<ChatView> {
        let (session, _, _) = self.chat_party(principal, org, chat).await?;
        let messages = self.messages_of(org, chat).await?;
        let (policy, zone) = self.chat_time_zone(org).await?;
        let minutes = answer_minutes(policy.as_ref());
        Ok(ChatView {
            wait: chat_wait(&session.value, &messages, minutes, self.now()),
            chat: session.value,
            time_zone: zone,
        })
    }

    /// What the org's chats run by, for anyone who may start one: how long
    /// a chat waits for its first answer before its requester may leave it
    /// as a ticket, and the time zone its times are shown in (both from the
    /// org's SLA policy, [`Regentra::effective_sla_policy`]).
    pub async fn chat_settings(&self, principal: &Principal, org: OrgId) -> Result<ChatSettings> {
        self.authorize(principal, org, Permission::ChatRequest)
            .await?;
        let (policy, time_zone) = self.chat_time_zone(org).await?;
        Ok(ChatSettings {
            answer_within_minutes: answer_minutes(policy.as_ref()),
            time_zone,
        })
    }

    /// The caller's own chats in `org` (those they started), newest first:
    /// a walk of the `requester` index, paged by the store.
    pub async fn my_chats(
        &self,
        principal: &Principal,
        org: OrgId,
        page: ScanRequest,
    ) -> Result<Listing<ChatSession, ScanCursor>> {
        self.authorize(principal, org, Permission::ChatRequest)
            .await?;
        let me = principal.user.to_string();
        let walk = IndexScan::between(
            "requester",
            Bound::Included(me.clone()),
            Bound::Included(me),
        )
        .descending()
        .after(page.after)
        .limit(page.limit);
        Ok(
            store::scan_page::<ChatSession>(self.store(), Scope::Org(org), &walk)
                .await?
                .map(|v| v.value),
        )
    }

    /// A page of the org's chats for the service desk (`chat.staff` over
    /// every chat): open, closed or any, newest activity first (the last
    /// message, closing or ticket), one descending walk of the `activity`
    /// (or `status_activity`) index, paged by the store.
    pub async fn chat_queue(
        &self,
        principal: &Principal,
        org: OrgId,
        filter: ChatFilter,
        page: ScanRequest,
    ) -> Result<Listing<ChatSession, ScanCursor>> {
        self.authorize_all(principal, org, Permission::ChatStaff)
            .await?;
        let walk = activity_walk(filter).after(page.after).limit(page.limit);
        Ok(
            store::scan_page::<ChatSession>(self.store(), Scope::Org(org), &walk)
                .await?
                .map(|v| v.value),
        )
    }

    /// One chat list across every org where the caller answers chats (the
    /// orgs [`Regentra::my_ticket_queue`] reaches, where a role of theirs
    /// holds `chat.staff` over every chat), merged newest activity first.
    /// Each org is one descending walk read in one batch with the others,
    /// so a page costs a page per org, whatever their chats; each org the
    /// page shows is authorized as its own list would be (a read through
    /// MSP delegation is recorded there). Nobody's chats for someone who
    /// answers none: an empty list.
    pub async fn my_chat_queue(
        &self,
        principal: &Principal,
        filter: ChatFilter,
        page: ScanRequest,
    ) -> Result<Listing<ChatSession, ScanCursor>> {
        let orgs: Vec<OrgId> = self
            .orgs_at_work(principal)
            .await?
            .into_iter()
            .filter(|access| {
                access
                    .roles
                    .iter()
                    .any(|g| rbac::decide(g.role, Permission::ChatStaff) == Access::All)
            })
            .map(|access| access.org.id)
            .collect();
        let limit = page.effective_limit();
        let walk = activity_walk(filter)
            .after(page.after)
            .limit(store::lookahead(limit));
        let reads = orgs
            .iter()
            .map(|org| Read::Scan {
                scope: Scope::Org(*org),
                kind: ChatSession::KIND.to_owned(),
                scan: walk.clone(),
            })
            .collect();
        let mut found: Vec<Scanned> = Vec::new();
        for answer in self.store().read(reads).await? {
            match answer {
                ReadResult::Scanned(scanned) => found.extend(scanned),
                _ => return Err(Error::storage("a scan answered with something else")),
            }
        }
        // Newest activity first, as each walk is: the same index values in
        // every org, so one cursor resumes them all.
        found.sort_by(|a, b| (&b.value, b.record.id).cmp(&(&a.value, a.record.id)));
        let page = Listing::of(found, limit, Scanned::cursor);
        let chats = page
            .items
            .into_iter()
            .map(|s| store::decode::<ChatSession>(s.record).map(|v| v.value))
            .collect::<Result<Vec<_>>>()?;
        let shown: BTreeSet<OrgId> = chats.iter().map(|c| c.org).collect();
        for org in shown {
            self.authorize_all(principal, org, Permission::ChatStaff)
                .await?;
        }
        Ok(Listing {
            items: chats,
            next: page.next,
        })
    }

    /// The requester of a chat nobody of the service desk answered in time
    /// ([`chat_wait`] offers it) leaves it as a ticket: a ticket of theirs
    /// (medium priority, the first message as its subject, the transcript
    /// as its description), and the chat closed and pointing at it, in one
    /// commit. Refused while the wait lasts, once anyone of the service desk
    /// has answered, and for a closed chat; anyone but the requester is
    /// refused too (staff use [`Regentra::chat_to_ticket`]). A staff answer
    /// committed meanwhile makes it a conflict.
    pub async fn leave_chat_as_ticket(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
    ) -> Result<Ticket> {
        let (session, grant, _) = self.chat_party(principal, org, chat).await?;
        if session.value.requester != principal.user {
            return Err(Error::PermissionDenied {
                permission: Permission::ChatRequest.key(),
            });
        }
        if session.value.ticket.is_some() {
            return Err(ticket_exists());
        }
        if session.value.status == ChatStatus::Closed {
            return Err(Error::invalid("chat", "the chat is closed"));
        }
        let messages = self.messages_of(org, chat).await?;
        let (policy, zone) = self.chat_time_zone(org).await?;
        let minutes = answer_minutes(policy.as_ref());
        let wait = chat_wait(&session.value, &messages, minutes, self.now());
        if !wait.ticket_offered {
            return Err(Error::invalid(
                "chat",
                match wait.ticket_offer_at {
                    Some(at) => format!(
                        "the service desk has until {} to answer; only then can the chat be \
                         left as a ticket",
                        at.to_rfc3339()
                    ),
                    None => "the service desk has answered: carry on in the chat".to_owned(),
                },
            ));
        }
        let first = messages.first().map(|m| m.body.as_str()).unwrap_or("");
        let description = format!(
            "Nobody of the service desk answered this chat within {minutes} minutes, so it was \
             left as a ticket.\n\n{}",
            transcript(&session.value, &messages, &zone)
        );
        self.create_ticket_with(
            principal,
            org,
            NewTicket {
                subject: chat_subject(first),
                description,
                priority: Priority::Medium,
                requester: None,
            },
            &[],
            |ticket, changes| {
                let mut session = session.clone();
                session.value.ticket = Some(ticket.id);
                session.value.status = ChatStatus::Closed;
                session.value.closed_by = Some(principal.user);
                session.value.last_activity_at = Some(ticket.created_at);
                changes.update(&session)?;
                changes.audit(self.event(
                    principal,
                    &grant,
                    "chat.ticketed",
                    Target::new(ChatSession::KIND, chat),
                    json!({ "ticket": ticket.id, "unanswered_after_minutes": minutes }),
                ));
                Ok(())
            },
        )
        .await
        .map_err(|e| chat_changed(e, chat))
    }

    /// Every message of a chat, in the order sent (one conversation, short
    /// by nature).
    async fn messages_of(&self, org: OrgId, chat: ChatId) -> Result<Vec<ChatMessage>> {
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

    /// The policy the org's chats wait by ([`Regentra::effective_sla_policy`])
    /// and the time zone of its calendar (UTC without one).
    async fn chat_time_zone(&self, org: OrgId) -> Result<(Option<SlaPolicy>, String)> {
        let policy = self.effective_sla_policy(org).await?;
        let zone = super::sla_policy::zone_of_policy(policy.as_ref())
            .name()
            .to_owned();
        Ok((policy, zone))
    }

    /// A user's display name (empty for an account that is gone).
    async fn display_name(&self, user: UserId) -> Result<String> {
        Ok(store::load::<User>(self.store(), Scope::Platform, user.0)
            .await?
            .map(|u| u.value.display_name)
            .unwrap_or_default())
    }

    /// The session, if the caller is its requester or staff; others get
    /// NotFound, as for a chat that does not exist.
    async fn chat_party(
        &self,
        principal: &Principal,
        org: OrgId,
        chat: ChatId,
    ) -> Result<(Versioned<ChatSession>, Grant, bool)> {
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

/// What a chat's requester is waiting for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatWait {
    /// Whether anyone of the service desk has written in the chat.
    pub answered: bool,
    /// The wait the org's SLA policy sets, in minutes.
    pub answer_within_minutes: u32,
    /// When the requester is offered to leave the chat as a ticket, while
    /// the chat is open, unanswered and not a ticket yet; `null` otherwise.
    pub ticket_offer_at: Option<DateTime<Utc>>,
    /// Whether that offer stands now.
    pub ticket_offered: bool,
}

/// What an org's chats run by.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSettings {
    /// Minutes a chat waits for the service desk's first answer before its
    /// requester may leave it as a ticket.
    pub answer_within_minutes: u32,
    /// An IANA time zone name (`UTC` when the org has no SLA policy).
    pub time_zone: String,
}

/// A chat as its parties see it: the session, what its requester is
/// waiting for, and the org's time zone (its SLA calendar's) for showing
/// its times.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatView {
    pub chat: ChatSession,
    pub wait: ChatWait,
    /// An IANA time zone name (`UTC` when the org has no SLA policy).
    pub time_zone: String,
}

/// The rule of the unanswered chat: a chat is answered once anyone but its
/// requester wrote in it (only its requester and the service desk can);
/// while it is open, unanswered and not a ticket, its requester is offered
/// to leave it as a ticket from `answer_within_minutes` after it started,
/// by the clock's `now`. Wall-clock minutes, not business ones: the wait
/// is about a person in front of the chat.
pub fn chat_wait(
    session: &ChatSession,
    messages: &[ChatMessage],
    answer_within_minutes: u32,
    now: DateTime<Utc>,
) -> ChatWait {
    let answered = messages
        .iter()
        .any(|m| m.chat == session.id && m.author != session.requester);
    let waiting = session.status == ChatStatus::Open && session.ticket.is_none() && !answered;
    let ticket_offer_at =
        waiting.then(|| session.started_at + Duration::minutes(i64::from(answer_within_minutes)));
    ChatWait {
        answered,
        answer_within_minutes,
        ticket_offer_at,
        ticket_offered: ticket_offer_at.is_some_and(|at| now >= at),
    }
}

fn answer_minutes(policy: Option<&SlaPolicy>) -> u32 {
    policy.map_or(DEFAULT_CHAT_ANSWER_MINUTES, |p| p.chat_answer_minutes)
}

fn ticket_exists() -> Error {
    Error::AlreadyExists {
        what: "ticket for this chat",
        field: "chat".into(),
    }
}

/// A conflict of a chat's ticket commit: the chat changed since it was read
/// (answered, closed, or turned into a ticket by someone else).
fn chat_changed(error: Error, chat: ChatId) -> Error {
    match error {
        Error::Conflict { .. } => Error::Conflict {
            what: format!("chat {chat}"),
        },
        other => other,
    }
}

/// A ticket subject from a chat's first message: its first line, spaces
/// collapsed, at most 80 characters.
fn chat_subject(first_message: &str) -> String {
    const MAX: usize = 80;
    let line = first_message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let subject = if line.chars().count() > MAX {
        let cut: String = line.chars().take(MAX - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        line
    };
    if subject.is_empty() {
        "Chat".to_owned()
    } else {
        format!("Chat: {subject}")
    }
}

/// A chat's transcript as a ticket's description: one line per message,
/// with its time in `zone` and its author's name.
fn transcript(session: &ChatSession, messages: &[ChatMessage], zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let mut names: BTreeMap<UserId, &str> = BTreeMap::new();
    for m in messages {
        if !m.author_name.is_empty() {
            names.insert(m.author, &m.author_name);
        }
    }
    let name = |m: &ChatMessage| -> String {
        match names.get(&m.author) {
            Some(name) => (*name).to_owned(),
            None if m.author == session.requester => "Requester".to_owned(),
            None => "Service desk".to_owned(),
        }
    };
    let lines: Vec<String> = messages
        .iter()
        .map(|m| {
            format!(
                "[{}] {}: {}",
                m.at.with_timezone(&tz).format("%-d %b %Y %H:%M %Z"),
                name(m),
                m.body
            )
        })
        .collect();
    format!(
        "Transcript of the chat started {}:\n\n{}",
        session
            .started_at
            .with_timezone(&tz)
            .format("%-d %b %Y %H:%M %Z"),
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chats_ticket_subject_is_its_first_line_shortened() {
        assert_eq!(
            chat_subject("\n  My   laptop\twill not start \nIt beeps."),
            "Chat: My laptop will not start"
        );
        let long = "word ".repeat(40);
        let subject = chat_subject(&long);
        assert!(subject.ends_with('…'), "{subject}");
        assert_eq!(subject.chars().count(), "Chat: ".len() + 80);
        assert_eq!(chat_subject("   "), "Chat");
    }
}
