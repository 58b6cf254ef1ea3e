//! The notification outbox: campaign invitations, reminders and (later) SLA
//! warnings are written as outbox entries in the same commit as the change
//! that causes them. The host application (or the reference server) takes
//! undelivered entries, delivers them (webhook, email, log) and marks them
//! delivered. Delivery is at least once: an entry stays pending until marked,
//! so a failed delivery is retried, never lost.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{Actor, Target};
use crate::error::Result;
use crate::ids::{NotificationId, OrgId, UserId};
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, IndexScan, PageRequest, Scope};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    CampaignInvitation,
    CampaignReminder,
    SlaWarning,
    /// A ticket's SLA target passed.
    SlaBreach,
    /// Staff replied publicly on the recipient's ticket.
    TicketReply,
    /// A chat is waiting for a technician of the org.
    ChatWaiting,
    Webhook,
    /// An admin removed the recipient's second factor.
    MfaReset,
}

/// One message waiting for (or past) delivery.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: NotificationId,
    pub org: OrgId,
    /// `None` for notifications addressed to a system (webhooks).
    pub recipient: Option<UserId>,
    pub kind: NotificationKind,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Failed delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// When the next delivery attempt is due (the creation for a new entry;
    /// an entry queued before delivery state was kept reads as the Unix
    /// epoch: due at once).
    #[serde(default)]
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When delivery was given up, after [`MAX_DELIVERY_ATTEMPTS`] failures.
    #[serde(default)]
    pub dead_at: Option<DateTime<Utc>>,
    /// The targets that took the entry in an attempt that failed for
    /// others, as the host names them (opaque keys, never a URL, which may
    /// hold a secret): a retry goes only to the targets not in it, so none
    /// receives the entry twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reached: Vec<String>,
}

impl Notification {
    /// Whether a delivery is still to be attempted.
    pub fn is_pending(&self) -> bool {
        self.delivered_at.is_none() && self.dead_at.is_none()
    }
}

/// The index of pending outbox entries by the instant their next delivery
/// attempt is due (fixed-width UTC, so byte order is time order).
pub const NEXT_ATTEMPT: &str = "next_attempt";
/// The same, for the entries a tenant's escalation addressed to its own
/// webhook (`NotificationKind::Webhook`) only: what a host with no webhooks
/// of its own delivers.
pub const NEXT_WEBHOOK_ATTEMPT: &str = "next_webhook_attempt";

/// How many failed attempts make an outbox entry dead.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 16;
/// The longest wait between two delivery attempts.
pub const LONGEST_DELIVERY_RETRY: Duration = Duration::hours(1);
/// The longest failure reason kept in an entry.
const MAX_ERROR_CHARS: usize = 500;
/// The most reached targets kept in an entry, and the longest key of one.
const MAX_REACHED: usize = 32;
const MAX_TARGET_KEY_CHARS: usize = 128;

/// How long to wait after the `failures`-th failed delivery: `first`,
/// doubling with each failure, at most [`LONGEST_DELIVERY_RETRY`]. Stored
/// in the entry (`next_attempt_at`), so a restarted host keeps each entry's
/// own wait.
pub fn delivery_retry_delay(first: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let first = first.max(Duration::zero());
    first
        .checked_mul(1 << doublings)
        .unwrap_or(LONGEST_DELIVERY_RETRY)
        .min(LONGEST_DELIVERY_RETRY)
}

/// Which due entries a host delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deliveries {
    /// Every pending entry (a host posting everything to webhooks of its own).
    All,
    /// Only the entries for a tenant's own webhook (a host with none of its own).
    TenantWebhooks,
}

impl Entity for Notification {
    const KIND: &'static str = "notification";
    const NAME: &'static str = "notification";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![IndexEntry::multi(
            "delivered",
            if self.delivered_at.is_some() {
                "yes"
            } else {
                "no"
            },
        )];
        if let Some(user) = self.recipient {
            entries.push(IndexEntry::multi("recipient", user.to_string()));
        }
        if self.is_pending() {
            let due = store::time_value(self.next_attempt_at);
            if self.kind == NotificationKind::Webhook {
                entries.push(IndexEntry::multi(NEXT_WEBHOOK_ATTEMPT, due.clone()));
            }
            entries.push(IndexEntry::multi(NEXT_ATTEMPT, due));
        }
        entries
    }
}

impl Regentra {
    /// A new outbox entry, to be inserted in the change set that causes it.
    pub(crate) fn notification(
        &self,
        org: OrgId,
        recipient: Option<UserId>,
        kind: NotificationKind,
        payload: Value,
    ) -> Notification {
        let now = self.now();
        Notification {
            id: NotificationId(self.new_id()),
            org,
            recipient,
            kind,
            payload,
            created_at: now,
            delivered_at: None,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            dead_at: None,
            reached: Vec::new(),
        }
    }

    /// The entries of an org due for a delivery attempt now (pending, next
    /// attempt at or before now), the longest-waiting first, at most `limit`
    /// (1 to [`store::MAX_PAGE`]): what a delivery worker takes. Found by the
    /// `next_attempt` index, so an entry waiting out its backoff is never
    /// read and failing entries never hold newer ones back. A system
    /// operation of the host application (no caller).
    pub async fn notifications_due(
        &self,
        org: OrgId,
        deliveries: Deliveries,
        limit: usize,
    ) -> Result<Vec<Notification>> {
        let index = match deliveries {
            Deliveries::All => NEXT_ATTEMPT,
            Deliveries::TenantWebhooks => NEXT_WEBHOOK_ATTEMPT,
        };
        let scan = IndexScan::between(
            index,
            Bound::Unbounded,
            Bound::Included(store::time_value(self.now())),
        )
        .limit(limit);
        let (due, _) = store::scan::<Notification>(self.store(), Scope::Org(org), &scan).await?;
        Ok(due
            .into_iter()
            .map(|v| v.value)
            .filter(Notification::is_pending)
            .collect())
    }

    /// Undelivered entries of an org (dead ones included), oldest first. A
    /// system operation of the host application (no caller); a delivery
    /// worker takes [`Regentra::notifications_due`] instead.
    pub async fn pending_notifications(
        &self,
        org: OrgId,
        limit: usize,
    ) -> Result<Vec<Notification>> {
        Ok(store::find::<Notification>(
            self.store(),
            Scope::Org(org),
            "delivered",
            "no",
            PageRequest::first(limit),
        )
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect())
    }

    /// The org's outbox, delivered or not, oldest first, a page at a time:
    /// what its admins look at when a webhook seems silent.
    pub async fn outbox(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Vec<Notification>> {
        self.authorize(principal, org, Permission::OrgManage)
            .await?;
        Ok(
            store::list::<Notification>(self.store(), Scope::Org(org), page)
                .await?
                .into_iter()
                .map(|v| v.value)
                .collect(),
        )
    }

    /// Marks an entry delivered (after the delivery succeeded). Marking an
    /// entry twice is harmless: at-least-once delivery may race.
    pub async fn mark_notification_delivered(
        &self,
        org: OrgId,
        id: NotificationId,
    ) -> Result<Notification> {
        let mut entry = store::require::<Notification>(self.store(), Scope::Org(org), id.0).await?;
        if entry.value.delivered_at.is_some() {
            return Ok(entry.value);
        }
        entry.value.delivered_at = Some(self.now());
        entry.value.last_error = None;
        let mut changes = ChangeSet::new();
        changes.update(&entry)?;
        changes.audit(self.event_in(
            org,
            Actor::system(),
            &Principal::system(),
            "notification.delivered",
            Target::new(Notification::KIND, id),
            json!({ "kind": entry.value.kind }),
        ));
        self.store().apply(changes).await?;
        Ok(entry.value)
    }
}

impl Regentra {
    /// Records a failed delivery of an entry: one more attempt, the reason,
    /// and the next attempt after the backoff ([`delivery_retry_delay`] from
    /// `first_retry`, the host's choice); after [`MAX_DELIVERY_ATTEMPTS`]
    /// the entry is dead (it stays in the outbox, no longer due). Audited
    /// in the org's chain. An entry delivered or dead meanwhile is left as
    /// it is (a slow attempt racing another).
    pub async fn mark_notification_failed(
        &self,
        org: OrgId,
        id: NotificationId,
        reason: &str,
        first_retry: Duration,
    ) -> Result<Notification> {
        self.mark_notification_failed_after_reaching(org, id, &[], reason, first_retry)
            .await
    }

    /// Like [`Regentra::mark_notification_failed`], for an attempt that
    /// some targets took: their keys (the host's names for them, at most
    /// 128 characters each, never a URL) join the entry's
    /// [`Notification::reached`] in the same write, so the retry goes only
    /// to the others. A crash between a target's answer and this write
    /// sends it again: at least once, never twice in a healthy run.
    pub async fn mark_notification_failed_after_reaching(
        &self,
        org: OrgId,
        id: NotificationId,
        reached: &[String],
        reason: &str,
        first_retry: Duration,
    ) -> Result<Notification> {
        let mut entry = store::require::<Notification>(self.store(), Scope::Org(org), id.0).await?;
        if !entry.value.is_pending() {
            return Ok(entry.value);
        }
        let now = self.now();
        let n = &mut entry.value;
        for target in reached {
            let key: String = target.chars().take(MAX_TARGET_KEY_CHARS).collect();
            if !n.reached.contains(&key) && n.reached.len() < MAX_REACHED {
                n.reached.push(key);
            }
        }
        n.attempts += 1;
        n.last_error = Some(reason.chars().take(MAX_ERROR_CHARS).collect());
        n.next_attempt_at = now + delivery_retry_delay(first_retry, n.attempts);
        if n.attempts >= MAX_DELIVERY_ATTEMPTS {
            n.dead_at = Some(now);
        }
        let action = if n.dead_at.is_some() {
            "notification.dead"
        } else {
            "notification.failed"
        };
        let details = json!({
            "kind": n.kind,
            "attempts": n.attempts,
            "next_attempt_at": n.next_attempt_at,
            "error": n.last_error,
        });
        let mut changes = ChangeSet::new();
        changes.update(&entry)?;
        changes.audit(self.event_in(
            org,
            Actor::system(),
            &Principal::system(),
            action,
            Target::new(Notification::KIND, id),
            details,
        ));
        self.store().apply(changes).await?;
        Ok(entry.value)
    }
}

/// Whether a recipient has read one notification: a record of its own (the
/// notification's id, another kind) in the notification's org, so marking
/// read never writes the outbox entry (its delivery state) and a delivery
/// never writes the read state; neither can make the other's write fail.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRead {
    /// The notification's id.
    pub id: NotificationId,
    pub org: OrgId,
    pub recipient: UserId,
    pub read_at: DateTime<Utc>,
}

impl Entity for NotificationRead {
    const KIND: &'static str = "notification_read";
    const NAME: &'static str = "notification";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::multi("recipient", self.recipient.to_string())]
    }
}

/// One notification in its recipient's inbox.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    pub notification: Notification,
    /// When the recipient marked it read; `None` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

/// A page of a user's inbox, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxPage {
    pub items: Vec<InboxItem>,
    /// Unread notifications in the whole inbox (not only this page).
    pub unread: usize,
    /// Whether notifications older than this page's last remain.
    pub more: bool,
}

/// One org's part of an inbox: the caller's notifications there and which
/// of them they have read.
struct OrgInbox {
    org: OrgId,
    actor: Actor,
    notifications: Vec<Notification>,
    read: std::collections::HashMap<NotificationId, DateTime<Utc>>,
}

impl Regentra {
    /// The orgs whose notifications a user may read: those where they hold
    /// a role now (their memberships, and an MSP admin's clients). A member
    /// removed from an org no longer sees its notifications (they stay in
    /// the org's outbox); added back, they see them again. Each org's part
    /// is found by the `recipient` index, never by loading the org.
    async fn inbox_parts(&self, principal: &Principal) -> Result<Vec<OrgInbox>> {
        let user = principal.user.to_string();
        let mut parts = Vec::new();
        for access in self.my_organizations(principal).await? {
            let Some(grant) = access.roles.first() else {
                continue;
            };
            let org = access.org.id;
            let notifications =
                store::find_all::<Notification>(self.store(), Scope::Org(org), "recipient", &user)
                    .await?
                    .into_iter()
                    .map(|v| v.value)
                    // The index already says so; a record is only shown to
                    // the user it names.
                    .filter(|n| n.recipient == Some(principal.user))
                    .collect::<Vec<_>>();
            if notifications.is_empty() {
                continue;
            }
            let read = store::find_all::<NotificationRead>(
                self.store(),
                Scope::Org(org),
                "recipient",
                &user,
            )
            .await?
            .into_iter()
            .filter(|r| r.value.recipient == principal.user)
            .map(|r| (r.value.id, r.value.read_at))
            .collect();
            parts.push(OrgInbox {
                org,
                actor: Actor {
                    user: Some(principal.user),
                    role: Some(grant.role),
                    via: Some(grant.via),
                },
                notifications,
                read,
            });
        }
        Ok(parts)
    }

    /// The caller's inbox across every org they can act in, newest first:
    /// the notifications created before `before` (the previous page's
    /// last; `None` for the first page), at most `limit` of them (1 to
    /// [`store::MAX_PAGE`]), and the unread count of the whole inbox.
    pub async fn inbox(
        &self,
        principal: &Principal,
        before: Option<NotificationId>,
        limit: usize,
    ) -> Result<InboxPage> {
        let limit = limit.clamp(1, store::MAX_PAGE);
        let mut unread = 0;
        let mut items = Vec::new();
        for part in self.inbox_parts(principal).await? {
            for notification in part.notifications {
                let read_at = part.read.get(&notification.id).copied();
                unread += usize::from(read_at.is_none());
                if before.is_none_or(|b| notification.id < b) {
                    items.push(InboxItem {
                        notification,
                        read_at,
                    });
                }
            }
        }
        // Ids are uuid v7: their order is creation order, across orgs too.
        items.sort_by_key(|item| std::cmp::Reverse(item.notification.id));
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(InboxPage {
            items,
            unread,
            more,
        })
    }

    /// Marks one of the caller's notifications read, with its audit event
    /// in the notification's org, in one commit. Another user's
    /// notification, or one in an org the caller no longer belongs to, is
    /// `NotFound`. Marking it again changes nothing.
    pub async fn mark_notification_read(
        &self,
        principal: &Principal,
        id: NotificationId,
    ) -> Result<InboxItem> {
        for part in self.inbox_parts(principal).await? {
            let Some(notification) = part.notifications.iter().find(|n| n.id == id) else {
                continue;
            };
            if let Some(read_at) = part.read.get(&id) {
                return Ok(InboxItem {
                    notification: notification.clone(),
                    read_at: Some(*read_at),
                });
            }
            let read = NotificationRead {
                id,
                org: part.org,
                recipient: principal.user,
                read_at: self.now(),
            };
            let mut changes = ChangeSet::new();
            changes.insert(&read)?;
            changes.audit(self.event_in(
                part.org,
                part.actor.clone(),
                principal,
                "notification.read",
                Target::new(Notification::KIND, id),
                json!({ "kind": notification.kind }),
            ));
            match self.store().apply(changes).await {
                Ok(_) => {}
                // Marked read by a concurrent request: that mark stands.
                Err(crate::Error::AlreadyExists { .. }) => {
                    let stored = store::require::<NotificationRead>(
                        self.store(),
                        Scope::Org(part.org),
                        id.0,
                    )
                    .await?;
                    return Ok(InboxItem {
                        notification: notification.clone(),
                        read_at: Some(stored.value.read_at),
                    });
                }
                Err(e) => return Err(e),
            }
            return Ok(InboxItem {
                notification: notification.clone(),
                read_at: Some(read.read_at),
            });
        }
        Err(crate::Error::NotFound {
            what: Notification::NAME,
        })
    }

    /// Marks every unread notification of the caller read: per org, one
    /// commit with one audit event naming how many. Returns how many were
    /// marked.
    pub async fn mark_all_notifications_read(&self, principal: &Principal) -> Result<usize> {
        let mut marked = 0;
        for part in self.inbox_parts(principal).await? {
            marked += self.mark_read_in(principal, part).await?;
        }
        Ok(marked)
    }

    /// Marks the caller's unread notifications of one org read in one
    /// commit. A notification marked read meanwhile by another request
    /// makes the commit fail as a whole; the org's read state is then
    /// read again and the rest marked.
    async fn mark_read_in(&self, principal: &Principal, mut part: OrgInbox) -> Result<usize> {
        let scope = Scope::Org(part.org);
        let user = principal.user.to_string();
        let mut attempts = 0;
        loop {
            let unread: Vec<&Notification> = part
                .notifications
                .iter()
                .filter(|n| !part.read.contains_key(&n.id))
                .collect();
            if unread.is_empty() {
                return Ok(0);
            }
            let mut changes = ChangeSet::new();
            for n in &unread {
                changes.insert(&NotificationRead {
                    id: n.id,
                    org: part.org,
                    recipient: principal.user,
                    read_at: self.now(),
                })?;
            }
            changes.audit(self.event_in(
                part.org,
                part.actor.clone(),
                principal,
                "notification.read_all",
                Target::new("user", principal.user),
                json!({ "count": unread.len() }),
            ));
            let count = unread.len();
            match self.store().apply(changes).await {
                Ok(_) => return Ok(count),
                Err(crate::Error::AlreadyExists { .. }) if attempts < 3 => {
                    attempts += 1;
                    part.read = store::find_all::<NotificationRead>(
                        self.store(),
                        scope,
                        "recipient",
                        &user,
                    )
                    .await?
                    .into_iter()
                    .filter(|r| r.value.recipient == principal.user)
                    .map(|r| (r.value.id, r.value.read_at))
                    .collect();
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Why a tenant's webhook URL (an SLA escalation's) may not be called, if it
/// may not: https only, never a name the platform keeps for itself
/// (`localhost`, `*.localhost`, `*.internal`), and never an IP address that
/// [`address_problem`] refuses, so a tenant cannot aim the server at its
/// own network. Checked when a policy is saved, and again by hosts before
/// they deliver.
///
/// A name is not resolved here (the core does no I/O): a host must resolve
/// it at delivery time, refuse it if any address it resolves to fails
/// [`address_problem`], connect only to the addresses it checked, and not
/// follow redirects (the reference server does all four).
pub fn webhook_url_problem(url: &str) -> Option<&'static str> {
    use url::{Host, Url};
    let Ok(parsed) = Url::parse(url) else {
        return Some("must be an absolute https URL");
    };
    if parsed.scheme() != "https" {
        return Some("must be an https URL");
    }
    // The URL parser has already turned every IPv4 spelling (`2130706433`,
    // `0x7f.1`, `127.1`) and bracketed IPv6 into an address.
    let allowed = match parsed.host() {
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost") && !name.ends_with(".internal")
        }
        Some(Host::Ipv4(ip)) => address_problem(IpAddr::V4(ip)).is_none(),
        Some(Host::Ipv6(ip)) => address_problem(IpAddr::V6(ip)).is_none(),
        None => false,
    };
    (!allowed).then_some("must not point at a loopback, private or link-local address")
}

/// Why a server must not connect to `ip` on a tenant's behalf, if it must
/// not: the kind of special-use range it is in. `None` means a globally
/// reachable unicast address.
///
/// Refused, IPv4: this network (0/8), private (10/8, 172.16/12,
/// 192.168/16), shared/CGNAT (100.64/10), loopback (127/8), link-local
/// (169.254/16), IETF protocol assignments (192.0.0/24), documentation
/// (192.0.2/24, 198.51.100/24, 203.0.113/24), the 6to4 relay anycast
/// (192.88.99/24), benchmarking (198.18/15), multicast (224/4), reserved
/// (240/4) and broadcast.
///
/// Refused, IPv6: unspecified and loopback, the whole IPv4-compatible
/// range (::/96, deprecated), unique-local (fc00::/7), link-local
/// (fe80::/10), the old site-local (fec0::/10), multicast (ff00::/8),
/// discard-only (100::/64), benchmarking (2001:2::/48), ORCHID
/// (2001:10::/28, 2001:20::/28), documentation (2001:db8::/32, 3fff::/20)
/// local-use NAT64 (64:ff9b:1::/48, whose embedding is site-defined), and
/// anything else outside global unicast (2000::/3).
///
/// Forms that embed an IPv4 address are judged by the address they reach:
/// IPv4-mapped (::ffff:0:0/96), well-known NAT64 (64:ff9b::/96) and 6to4
/// (2002::/16) are refused when the embedded IPv4 address is; Teredo
/// (2001::/32) when its server or its (obfuscated) client address is. So
/// `64:ff9b::7f00:1` (127.0.0.1 through NAT64) is refused while a public
/// address behind NAT64 or 6to4 is not.
pub fn address_problem(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_problem(v4),
        IpAddr::V6(v6) => v6_problem(v6),
    }
}

fn v4_problem(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    let within = |net: [u8; 4], len: u32| {
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        bits & mask == u32::from(Ipv4Addr::from(net)) & mask
    };
    let ranges: [([u8; 4], u32, &'static str); 16] = [
        ([0, 0, 0, 0], 8, "this-network (0.0.0.0/8) address"),
        ([10, 0, 0, 0], 8, "private address"),
        ([100, 64, 0, 0], 10, "shared (CGNAT) address"),
        ([127, 0, 0, 0], 8, "loopback address"),
        ([169, 254, 0, 0], 16, "link-local address"),
        ([172, 16, 0, 0], 12, "private address"),
        ([192, 0, 0, 0], 24, "IETF protocol assignment"),
        ([192, 0, 2, 0], 24, "documentation address"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast address"),
        ([192, 168, 0, 0], 16, "private address"),
        ([198, 18, 0, 0], 15, "benchmarking address"),
        ([198, 51, 100, 0], 24, "documentation address"),
        ([203, 0, 113, 0], 24, "documentation address"),
        ([224, 0, 0, 0], 4, "multicast address"),
        ([240, 0, 0, 0], 4, "reserved address"),
        ([255, 255, 255, 255], 32, "broadcast address"),
    ];
    ranges
        .iter()
        .find(|(net, len, _)| within(*net, *len))
        .map(|(_, _, why)| *why)
}

fn v6_problem(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    let within = |net: u128, len: u32| {
        let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
        bits & mask == net & mask
    };
    let embedded = |shift: u32| Ipv4Addr::from((bits >> shift) as u32);
    if within(0, 96) {
        // ::, ::1 and the deprecated IPv4-compatible addresses.
        return Some(if ip.is_loopback() {
            "loopback address"
        } else if ip.is_unspecified() {
            "unspecified address"
        } else {
            "IPv4-compatible address"
        });
    }
    if within(0xffff << 32, 96) || within(0x64_ff9b << 96, 96) {
        // IPv4-mapped and well-known NAT64: the last 32 bits are the target.
        return v4_problem(embedded(0));
    }
    if within(0x2002 << 112, 16) {
        // 6to4: the IPv4 address follows the prefix.
        return v4_problem(embedded(80));
    }
    if within(0x2001 << 112, 32) {
        // Teredo: the server's address, then the client's, inverted.
        let client = Ipv4Addr::from(!(bits as u32));
        return v4_problem(embedded(64)).or_else(|| v4_problem(client));
    }
    let ranges: [(u128, u32, &'static str); 11] = [
        (0x64_ff9b_0001 << 80, 48, "local-use NAT64 address"),
        (0x0100 << 112, 64, "discard-only address"),
        (0x2001_0002 << 96, 48, "benchmarking address"),
        (0x2001_0010 << 96, 28, "ORCHID address"),
        (0x2001_0020 << 96, 28, "ORCHID address"),
        (0x2001_0db8 << 96, 32, "documentation address"),
        (0x3fff << 112, 20, "documentation address"),
        (0xfc00 << 112, 7, "unique-local address"),
        (0xfe80 << 112, 10, "link-local address"),
        (0xfec0 << 112, 10, "site-local address"),
        (0xff00 << 112, 8, "multicast address"),
    ];
    let named = ranges
        .iter()
        .find(|(net, len, _)| within(*net, *len))
        .map(|(_, _, why)| *why);
    named.or_else(|| {
        (!within(0x2000 << 112, 3)).then_some("reserved address (outside 2000::/3, global unicast)")
    })
}

#[cfg(test)]
mod tests {
    use super::{address_problem, webhook_url_problem};
    use std::net::IpAddr;

    #[test]
    fn tenant_webhooks_reach_public_https_hosts_only() {
        for ok in [
            "https://hooks.example.com/sla",
            "https://93.184.215.14/x",
            "https://[2606:4700:4700::1111]/x",
            "https://[64:ff9b::5db8:d70e]/x",
        ] {
            assert_eq!(webhook_url_problem(ok), None, "{ok}");
        }
        for refused in [
            "http://hooks.example.com/sla",
            "https://localhost/x",
            "https://api.localhost/x",
            "https://metadata.google.internal/x",
            "https://127.0.0.1/x",
            "https://2130706433/x",
            "https://0x7f.1/x",
            "https://10.1.2.3/x",
            "https://192.168.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[64:ff9b::7f00:1]/",
            "https://[::127.0.0.1]/",
            "https://[64:ff9b:1::a00:1]/",
            "https://[2002:7f00:1::]/",
            "https://[2002:a9fe:a9fe::]/",
            "not a url",
        ] {
            assert!(webhook_url_problem(refused).is_some(), "{refused}");
        }
    }

    /// Every special-use range is refused at its edges, and the public
    /// addresses just outside them are not.
    #[test]
    fn addresses_in_special_use_ranges_are_refused() {
        let refused = [
            ("0.0.0.0", "this-network"),
            ("0.255.255.255", "this-network"),
            ("10.0.0.0", "private"),
            ("10.255.255.255", "private"),
            ("100.64.0.0", "CGNAT"),
            ("100.127.255.255", "CGNAT"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("169.254.169.254", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.8", "IETF protocol assignment"),
            ("192.0.2.1", "documentation"),
            ("192.88.99.1", "6to4 relay"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.7", "documentation"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::127.0.0.1", "IPv4-compatible loopback"),
            ("::8.8.8.8", "IPv4-compatible (deprecated) even when public"),
            ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
            ("::ffff:10.0.0.1", "IPv4-mapped private"),
            ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
            ("64:ff9b::7f00:1", "NAT64 loopback"),
            ("64:ff9b::a9fe:a9fe", "NAT64 link-local"),
            ("64:ff9b::c0a8:1", "NAT64 private"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("64:ff9b:1:ffff::8.8.8.8", "local-use NAT64"),
            ("100::1", "discard-only"),
            ("2001:2::1", "benchmarking"),
            ("2001:10::1", "ORCHID"),
            ("2001:20::1", "ORCHIDv2"),
            ("2001:db8::1", "documentation"),
            ("3fff::1", "documentation"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("2002:7f00:1::1", "6to4 of loopback"),
            ("2002:c0a8:101::1", "6to4 of private"),
            // Teredo: server 65.54.227.120 (public), client 127.0.0.1 inverted.
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo to loopback"),
            // Teredo: server 10.0.0.1.
            (
                "2001:0:a00:1:8000:63bf:f7f7:f7f7",
                "Teredo via a private server",
            ),
            ("fe00::1", "outside global unicast"),
            ("4000::1", "outside global unicast"),
        ];
        for (ip, what) in refused {
            let parsed: IpAddr = ip.parse().expect(ip);
            assert!(address_problem(parsed).is_some(), "{ip} ({what})");
        }
        let allowed = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        ];
        for ip in allowed {
            let parsed: IpAddr = ip.parse().expect(ip);
            assert_eq!(address_problem(parsed), None, "{ip}");
        }
    }
}
