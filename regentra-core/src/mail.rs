//! Email: the messages people receive in their mailbox. An email is queued
//! as an [`OutgoingEmail`] record in the same commit as the change that
//! causes it (an invitation, a password reset, a notification), and the
//! host delivers it (the reference server over SMTP). The record is the
//! delivery's state: attempts, when the next one is due, the last error.
//!
//! What a message says is decided here, as structured content (names,
//! titles, the link to follow); how it looks (HTML with the sending org's
//! branding, and plain text) is the host's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::Result;
use crate::ids::{EmailId, OrgId, UserId};
use crate::service::Regentra;
use crate::store::{ChangeSet, Entity, IndexEntry, Scope};

/// What an email is about: each kind has its own template.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// An invitation to join an org, with the link that accepts it.
    Invitation,
    /// A password reset, with the link that sets a new password.
    PasswordReset,
    /// A policy to acknowledge, with the link to the signing page.
    CampaignInvitation,
    /// A reminder of a policy still to acknowledge.
    CampaignReminder,
    /// A ticket's SLA target is near.
    SlaWarning,
    /// A ticket's SLA target has passed.
    SlaBreach,
    /// Staff replied publicly on a ticket the recipient requested.
    TicketReply,
    /// A chat is waiting for a technician.
    ChatWaiting,
}

/// Where an email is in its delivery.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailState {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// Accepted by the mail server.
    Sent,
    /// Given up after too many failed attempts: an admin may retry it.
    Dead,
}

/// One email, as queued and as its delivery went.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub id: EmailId,
    /// The org that sends it (its name and branding); `None` for the
    /// platform's own (a password reset).
    pub org: Option<OrgId>,
    /// The recipient's address.
    pub to: String,
    /// The recipient's account, when they have one.
    pub recipient: Option<UserId>,
    pub kind: EmailKind,
    /// What the template needs: names, titles, the link (a path on the
    /// server's public URL).
    pub content: Value,
    pub state: EmailState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl Entity for OutgoingEmail {
    const KIND: &'static str = "outgoing_email";
    const NAME: &'static str = "email";
    fn scope(&self) -> Scope {
        // One scope for every email, so the delivery worker finds what is
        // due with one index lookup whatever org sends it.
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let state = match self.state {
            EmailState::Pending => "pending",
            EmailState::Sent => "sent",
            EmailState::Dead => "dead",
        };
        let mut entries = vec![IndexEntry::multi("state", state)];
        if let Some(org) = self.org {
            entries.push(IndexEntry::multi("org_state", format!("{org}:{state}")));
        }
        entries
    }
}

/// An email to queue: see [`Regentra::queue_email`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmailDraft {
    pub org: Option<OrgId>,
    pub to: String,
    pub recipient: Option<UserId>,
    pub kind: EmailKind,
    pub content: Value,
}

impl Regentra {
    /// Queues an email in `changes`, due now: it is sent only if the change
    /// that causes it commits.
    // Its first callers (invitations, password resets) land next.
    #[allow(dead_code)]
    pub(crate) fn queue_email(&self, changes: &mut ChangeSet, draft: EmailDraft) -> Result<()> {
        let now = self.now();
        changes.insert(&OutgoingEmail {
            id: EmailId(self.new_id()),
            org: draft.org,
            to: draft.to,
            recipient: draft.recipient,
            kind: draft.kind,
            content: draft.content,
            state: EmailState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            sent_at: None,
        })?;
        Ok(())
    }
}
