//! Email: the messages people receive in their mailbox. An email is queued
//! as an [`OutgoingEmail`] record in the same commit as the change that
//! causes it (an invitation, a password reset, a notification), and the
//! host delivers it (the reference server over SMTP). The record is the
//! delivery's state: attempts, when the next one is due, the last error.
//!
//! What a message says is decided here, as structured content (names,
//! titles, the link to follow); how it looks (HTML with the sending org's
//! branding, and plain text) is the host's.

use std::collections::BTreeSet;
use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{Actor, Target};
use crate::error::{Error, Result};
use crate::ids::{EmailId, OrgId, UserId};
use crate::notify::NotificationKind;
use crate::portal::{Branding, PortalSettings};
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, IndexScan, PageRequest, Scope, Versioned};
use crate::tenancy::{Organization, User};

/// What an email is about: each kind has its own template.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// platform's own (a password reset, unless asked for on the portal
    /// of an org the account is a member of).
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
        let state = self.state.key();
        let mut entries = vec![IndexEntry::multi("state", state)];
        if let Some(org) = self.org {
            entries.push(IndexEntry::multi("org_state", format!("{org}:{state}")));
        }
        if self.state == EmailState::Pending {
            // What the delivery loop scans: pending emails by when their
            // next attempt is due, fixed-width UTC so byte order is time order.
            entries.push(IndexEntry::multi(
                NEXT_EMAIL_ATTEMPT,
                store::time_value(self.next_attempt_at),
            ));
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

/// How many failed attempts make an email dead.
pub const MAX_ATTEMPTS: u32 = 8;
/// The wait after the first failure; each further failure doubles it.
const FIRST_RETRY_SECS: i64 = 60;
/// The longest wait between two attempts.
const LONGEST_RETRY_SECS: i64 = 6 * 3600;
/// The index of pending emails by when their next attempt is due.
pub const NEXT_EMAIL_ATTEMPT: &str = "next_attempt";

/// How long to wait after the `failures`-th failed attempt: one minute,
/// doubling with each failure, at most six hours. Stored in the record
/// (`next_attempt_at`), so a restarted server keeps every email's own wait
/// instead of retrying everything at once.
pub fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    Duration::seconds((FIRST_RETRY_SECS << doublings).min(LONGEST_RETRY_SECS))
}

impl EmailKind {
    /// Whether a person may turn this kind off: everything but what their
    /// account depends on (an invitation, a password reset).
    pub fn is_optional(self) -> bool {
        !matches!(self, Self::Invitation | Self::PasswordReset)
    }

    /// The email that goes with a notification of this kind, if any.
    pub fn for_notification(kind: NotificationKind) -> Option<Self> {
        Some(match kind {
            NotificationKind::CampaignInvitation => Self::CampaignInvitation,
            NotificationKind::CampaignReminder => Self::CampaignReminder,
            NotificationKind::SlaWarning => Self::SlaWarning,
            NotificationKind::SlaBreach => Self::SlaBreach,
            NotificationKind::TicketReply => Self::TicketReply,
            NotificationKind::ChatWaiting => Self::ChatWaiting,
            // In the inbox only: webhooks are for systems; an MFA reset
            // has no email kind (yet).
            NotificationKind::Webhook | NotificationKind::MfaReset => return None,
        })
    }
}

impl EmailState {
    fn key(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }
}

impl OutgoingEmail {
    /// When the secret its link carries (an invitation's, a reset's) stops
    /// working, if the content says.
    fn link_expires_at(&self) -> Option<DateTime<Utc>> {
        self.content
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// Drops the link from the stored content: once delivered (or useless)
    /// the secret it may carry is kept only as the hash its owner stores.
    fn forget_link(&mut self) {
        if let Some(content) = self.content.as_object_mut() {
            content.remove("link");
        }
    }
}

/// An email as its admins see it: everything but the link, which may
/// carry a secret (an invitation's or a reset's token).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailView {
    pub id: EmailId,
    pub org: Option<OrgId>,
    pub to: String,
    pub recipient: Option<UserId>,
    pub kind: EmailKind,
    /// What the message says (names, titles), without its link.
    pub content: Value,
    pub state: EmailState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<OutgoingEmail> for EmailView {
    fn from(mut e: OutgoingEmail) -> Self {
        e.forget_link();
        Self {
            id: e.id,
            org: e.org,
            to: e.to,
            recipient: e.recipient,
            kind: e.kind,
            content: e.content,
            state: e.state,
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at,
            last_error: e.last_error,
            created_at: e.created_at,
            sent_at: e.sent_at,
        }
    }
}

/// The longest failure reason kept in a record.
const MAX_ERROR_CHARS: usize = 500;

impl Regentra {
    /// The emails due now: pending, with `next_attempt_at` at or before now,
    /// the longest-waiting first, at most `limit` (1 to [`store::MAX_PAGE`]).
    /// What the host's delivery loop takes; a system operation (no caller).
    ///
    /// One walk of the `next_attempt` index up to now: an email waiting out
    /// its backoff is never read, so one failing message never holds the
    /// others back, and the cost does not grow with the pending backlog.
    pub async fn emails_due(&self, limit: usize) -> Result<Vec<OutgoingEmail>> {
        let now = self.now();
        let scan = IndexScan::between(
            NEXT_EMAIL_ATTEMPT,
            Bound::Unbounded,
            Bound::Included(store::time_value(now)),
        )
        .limit(limit);
        let (due, _) = store::scan::<OutgoingEmail>(self.store(), Scope::Platform, &scan).await?;
        Ok(due
            .into_iter()
            .map(|e| e.value)
            .filter(|e| e.state == EmailState::Pending && e.next_attempt_at <= now)
            .collect())
    }

    /// Records that the mail server accepted the email, and drops its link.
    /// Marking an email that is no longer pending changes nothing (a slow
    /// delivery racing a retry): at least once.
    pub async fn mark_email_sent(&self, id: EmailId) -> Result<OutgoingEmail> {
        let mut email =
            store::require::<OutgoingEmail>(self.store(), Scope::Platform, id.0).await?;
        if email.value.state != EmailState::Pending {
            return Ok(email.value);
        }
        let now = self.now();
        email.value.state = EmailState::Sent;
        email.value.sent_at = Some(now);
        email.value.attempts += 1;
        email.value.last_error = None;
        email.value.forget_link();
        let details = json!({ "kind": email.value.kind, "attempts": email.value.attempts });
        self.commit_email(email, "email.sent", details).await
    }

    /// Records a failed attempt: one more attempt, the reason, and the next
    /// attempt after the backoff ([`retry_delay`]); after
    /// [`MAX_ATTEMPTS`] the email is dead (an admin may retry it). An
    /// email whose link expired meanwhile is dead at once, its link dropped.
    pub async fn mark_email_failed(&self, id: EmailId, reason: &str) -> Result<OutgoingEmail> {
        let mut email =
            store::require::<OutgoingEmail>(self.store(), Scope::Platform, id.0).await?;
        if email.value.state != EmailState::Pending {
            return Ok(email.value);
        }
        let now = self.now();
        let e = &mut email.value;
        e.attempts += 1;
        e.last_error = Some(reason.chars().take(MAX_ERROR_CHARS).collect());
        e.next_attempt_at = now + retry_delay(e.attempts);
        let expired = e.link_expires_at().is_some_and(|t| t <= now);
        if e.attempts >= MAX_ATTEMPTS || expired {
            e.state = EmailState::Dead;
            if expired {
                e.forget_link();
            }
        }
        let action = if e.state == EmailState::Dead {
            "email.dead"
        } else {
            "email.failed"
        };
        let details = json!({
            "kind": e.kind,
            "attempts": e.attempts,
            "next_attempt_at": e.next_attempt_at,
            "error": e.last_error,
        });
        self.commit_email(email, action, details).await
    }

    /// The org's emails, a page at a time (oldest first) in one state, or,
    /// without a state, the dead letters first, then the pending, then the
    /// sent, at most `limit` in all. For the org's admins; never the links.
    pub async fn org_emails(
        &self,
        principal: &Principal,
        org: OrgId,
        state: Option<EmailState>,
        page: PageRequest,
    ) -> Result<Vec<EmailView>> {
        self.authorize_all(principal, org, Permission::OrgManage)
            .await?;
        self.emails_by(Some(org), state, page).await
    }

    /// An admin sends a dead email again: pending, due now, attempts
    /// counted afresh; audited in the org's chain. Only a dead email, and
    /// only while its link works.
    pub async fn retry_email(
        &self,
        principal: &Principal,
        org: OrgId,
        id: EmailId,
    ) -> Result<EmailView> {
        let grant = self
            .authorize_all(principal, org, Permission::OrgManage)
            .await?;
        let email = self.retryable(id, Some(org)).await?;
        let draft = self.event(
            principal,
            &grant,
            "email.retried",
            Target::new(OutgoingEmail::KIND, id),
            json!({ "kind": email.value.kind, "attempts": email.value.attempts }),
        );
        self.revive(email, draft).await
    }

    /// Every email of the platform (any org's and the platform's own), as
    /// [`Regentra::org_emails`] pages them. Platform operators only.
    pub async fn platform_emails(
        &self,
        principal: &Principal,
        state: Option<EmailState>,
        page: PageRequest,
    ) -> Result<Vec<EmailView>> {
        self.authorize_platform(principal).await?;
        self.emails_by(None, state, page).await
    }

    /// A platform operator retries any dead email; audited in the sending
    /// org's chain (the platform's for the platform's own emails). Anyone
    /// else learns nothing of the id: `NotFound`, as for a missing email.
    pub async fn retry_platform_email(
        &self,
        principal: &Principal,
        id: EmailId,
    ) -> Result<EmailView> {
        self.authorize_platform(principal)
            .await
            .map_err(|_| Error::NotFound {
                what: OutgoingEmail::NAME,
            })?;
        let email = self.retryable(id, None).await?;
        let details = json!({ "kind": email.value.kind, "attempts": email.value.attempts });
        let target = Target::new(OutgoingEmail::KIND, id);
        let draft = match email.value.org {
            Some(org) => {
                let grant = self
                    .authorize_all(principal, org, Permission::OrgManage)
                    .await?;
                self.event(principal, &grant, "email.retried", target, details)
            }
            None => self
                .platform_event(Some(principal), "email.retried", target, details)
                .into(),
        };
        self.revive(email, draft).await
    }

    /// A dead email of `org` (of any org when `None`), whose link still works.
    async fn retryable(&self, id: EmailId, org: Option<OrgId>) -> Result<Versioned<OutgoingEmail>> {
        let email = store::load::<OutgoingEmail>(self.store(), Scope::Platform, id.0)
            .await?
            .filter(|e| org.is_none() || e.value.org == org)
            .ok_or(Error::NotFound {
                what: OutgoingEmail::NAME,
            })?;
        if email.value.state != EmailState::Dead {
            return Err(Error::invalid("email", "only a dead email can be retried"));
        }
        if email
            .value
            .link_expires_at()
            .is_some_and(|t| t <= self.now())
            || (email.value.kind == EmailKind::Invitation
                || email.value.kind == EmailKind::PasswordReset)
                && email.value.content.get("link").is_none()
        {
            return Err(Error::invalid(
                "email",
                "its link has expired: send a new one instead",
            ));
        }
        Ok(email)
    }

    async fn revive(
        &self,
        mut email: Versioned<OutgoingEmail>,
        event: crate::store::Audited,
    ) -> Result<EmailView> {
        email.value.state = EmailState::Pending;
        email.value.attempts = 0;
        email.value.next_attempt_at = self.now();
        let mut changes = ChangeSet::new();
        changes.update(&email)?;
        changes.audit(event);
        self.store().apply(changes).await?;
        Ok(email.value.into())
    }

    async fn emails_by(
        &self,
        org: Option<OrgId>,
        state: Option<EmailState>,
        page: PageRequest,
    ) -> Result<Vec<EmailView>> {
        let limit = page.limit.clamp(1, store::MAX_PAGE);
        let states = match state {
            Some(s) => vec![s],
            None => vec![EmailState::Dead, EmailState::Pending, EmailState::Sent],
        };
        let mut out = Vec::new();
        for s in states {
            let (index, value) = match org {
                Some(org) => ("org_state", format!("{org}:{}", s.key())),
                None => ("state", s.key().to_owned()),
            };
            let request = PageRequest {
                after: page.after,
                limit: limit - out.len(),
            };
            let found =
                store::find::<OutgoingEmail>(self.store(), Scope::Platform, index, &value, request)
                    .await?;
            out.extend(
                found
                    .into_iter()
                    .map(|e| e.value)
                    .filter(|e| e.state == s && (org.is_none() || e.org == org))
                    .map(EmailView::from),
            );
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Commits a delivery outcome with its event, in the sending org's
    /// chain (the platform's for the platform's own emails).
    async fn commit_email(
        &self,
        email: Versioned<OutgoingEmail>,
        action: &str,
        details: Value,
    ) -> Result<OutgoingEmail> {
        let target = Target::new(OutgoingEmail::KIND, email.value.id);
        let event = match email.value.org {
            Some(org) => self.event_in(
                org,
                Actor::system(),
                &Principal::system(),
                action,
                target,
                details,
            ),
            None => self.platform_event(None, action, target, details),
        };
        let mut changes = ChangeSet::new();
        changes.update(&email)?;
        changes.audit(event);
        self.store().apply(changes).await?;
        Ok(email.value)
    }
}

/// The kinds of email a person turned off: a platform record of theirs
/// (the user's id), absent until they change something.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailPreferences {
    pub user: UserId,
    /// Kinds they receive in the app only. Never an invitation or a
    /// password reset.
    pub off: BTreeSet<EmailKind>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Entity for EmailPreferences {
    const KIND: &'static str = "email_preferences";
    const NAME: &'static str = "email preferences";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.user.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        Vec::new()
    }
}

impl Regentra {
    /// The caller's email preferences (nothing off until they change them).
    pub async fn email_preferences(&self, principal: &Principal) -> Result<EmailPreferences> {
        Ok(self
            .preferences_of(principal.user)
            .await?
            .map(|p| p.value)
            .unwrap_or(EmailPreferences {
                user: principal.user,
                off: BTreeSet::new(),
                updated_at: None,
            }))
    }

    /// The caller turns off exactly the kinds in `off` (and on the others),
    /// audited in the platform chain. An invitation or a password reset
    /// cannot be turned off: refused naming `off`.
    pub async fn set_email_preferences(
        &self,
        principal: &Principal,
        off: BTreeSet<EmailKind>,
    ) -> Result<EmailPreferences> {
        store::require::<User>(self.store(), Scope::Platform, principal.user.0).await?;
        if let Some(kind) = off.iter().find(|k| !k.is_optional()) {
            let name = serde_json::to_value(kind).unwrap_or_default();
            return Err(Error::invalid(
                "off",
                format!(
                    "{} emails cannot be turned off",
                    name.as_str().unwrap_or("these")
                ),
            ));
        }
        let stored = self.preferences_of(principal.user).await?;
        let preferences = EmailPreferences {
            user: principal.user,
            off,
            updated_at: Some(self.now()),
        };
        let mut changes = ChangeSet::new();
        match stored {
            Some(mut existing) => {
                if existing.value.off == preferences.off {
                    return Ok(existing.value);
                }
                existing.value = preferences.clone();
                changes.update(&existing)?;
            }
            None => {
                changes.insert(&preferences)?;
            }
        }
        changes.audit(self.platform_event(
            Some(principal),
            "email_preferences.changed",
            Target::new("user", principal.user),
            json!({ "off": preferences.off }),
        ));
        self.store().apply(changes).await?;
        Ok(preferences)
    }

    async fn preferences_of(&self, user: UserId) -> Result<Option<Versioned<EmailPreferences>>> {
        store::load::<EmailPreferences>(self.store(), Scope::Platform, user.0).await
    }

    /// Who an org's emails come from: its name, and its MSP's for a client.
    pub(crate) async fn sender(&self, org: OrgId) -> Result<Sender> {
        let organization = store::require::<Organization>(self.store(), Scope::Platform, org.0)
            .await?
            .value;
        let msp_name = match organization.parent {
            Some(parent) => store::load::<Organization>(self.store(), Scope::Platform, parent.0)
                .await?
                .map(|o| o.value.name),
            None => None,
        };
        Ok(Sender {
            org,
            org_name: organization.name,
            msp_name,
        })
    }

    /// A notification to one person (their in-app inbox) and, in the same
    /// change set, its email to their address with the names it needs,
    /// unless they turned that kind off. `content` holds what the message
    /// says besides the sender and the recipient's name (titles, the link).
    pub(crate) async fn notify_person(
        &self,
        changes: &mut ChangeSet,
        sender: &Sender,
        user: UserId,
        kind: NotificationKind,
        payload: Value,
        content: Value,
    ) -> Result<()> {
        changes.insert(&self.notification(sender.org, Some(user), kind, payload))?;
        let Some(email_kind) = EmailKind::for_notification(kind) else {
            return Ok(());
        };
        let Some(person) = store::load::<User>(self.store(), Scope::Platform, user.0).await? else {
            return Ok(());
        };
        let off = self
            .preferences_of(user)
            .await?
            .is_some_and(|p| p.value.off.contains(&email_kind));
        if off {
            return Ok(());
        }
        let mut content = match content {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        content.insert("org_name".into(), json!(sender.org_name));
        if let Some(msp) = &sender.msp_name {
            content.insert("msp_name".into(), json!(msp));
        }
        content.insert("recipient_name".into(), json!(person.value.display_name));
        self.queue_email(
            changes,
            EmailDraft {
                org: Some(sender.org),
                to: person.value.email,
                recipient: Some(user),
                kind: email_kind,
                content: Value::Object(content),
            },
        )
    }

    /// What an email from `org` looks like: the display name and colors of
    /// its portal settings, when it saved any. For the host's templates; a
    /// system operation.
    pub async fn email_branding(&self, org: OrgId) -> Result<Option<Branding>> {
        Ok(
            store::load::<PortalSettings>(self.store(), Scope::Org(org), org.0)
                .await?
                .map(|p| p.value.branding),
        )
    }

    /// The path of an org's portal (`/portal/{slug}`), if it has an enabled
    /// one: where its emails' links lead, and where a host sends a browser
    /// following an older link. A system operation (the address is public).
    pub async fn portal_path(&self, org: OrgId) -> Result<Option<String>> {
        Ok(
            store::load::<PortalSettings>(self.store(), Scope::Org(org), org.0)
                .await?
                .filter(|p| p.value.enabled)
                .and_then(|p| p.value.slug)
                .map(|slug| format!("/portal/{slug}")),
        )
    }
}

/// Who sends an org's emails, loaded once per commit.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    pub org: OrgId,
    pub org_name: String,
    pub msp_name: Option<String>,
}
