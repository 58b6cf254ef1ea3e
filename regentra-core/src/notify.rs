//! The notification outbox: campaign invitations, reminders and (later) SLA
//! warnings are written as outbox entries in the same commit as the change
//! that causes them. The host application (or the reference server) takes
//! undelivered entries, delivers them (webhook, email, log) and marks them
//! delivered. Delivery is at least once: an entry stays pending until marked,
//! so a failed delivery is retried, never lost.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{Actor, Target};
use crate::error::Result;
use crate::ids::{NotificationId, OrgId, UserId};
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, PageRequest, Scope};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    CampaignInvitation,
    CampaignReminder,
    SlaWarning,
    Webhook,
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
        Notification {
            id: NotificationId(self.new_id()),
            org,
            recipient,
            kind,
            payload,
            created_at: self.now(),
            delivered_at: None,
        }
    }

    /// Undelivered entries of an org, oldest first: what the delivery worker
    /// takes. A system operation of the host application (no caller).
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

/// Why a tenant's webhook URL (an SLA escalation's) may not be called, if it
/// may not: https only, and never a loopback, private, link-local or
/// shared address, so a tenant cannot aim the server at its own network.
/// (A public name resolving to a private address is not caught here;
/// operators who need that put an egress proxy in front.) Checked when a
/// policy is saved, and again by hosts before they deliver.
pub fn webhook_url_problem(url: &str) -> Option<&'static str> {
    use std::net::IpAddr;
    use url::{Host, Url};
    let Ok(parsed) = Url::parse(url) else {
        return Some("must be an absolute https URL");
    };
    if parsed.scheme() != "https" {
        return Some("must be an https URL");
    }
    let public = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (b & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some())
        }
    };
    let allowed = match parsed.host() {
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost") && !name.ends_with(".internal")
        }
        Some(Host::Ipv4(ip)) => public(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => public(IpAddr::V6(ip)),
        None => false,
    };
    (!allowed).then_some("must not point at a loopback, private or link-local address")
}

#[cfg(test)]
mod tests {
    use super::webhook_url_problem;

    #[test]
    fn tenant_webhooks_reach_public_https_hosts_only() {
        for ok in [
            "https://hooks.example.com/sla",
            "https://203.0.113.7/x",
            "https://[2001:db8::1]/x",
        ] {
            assert_eq!(webhook_url_problem(ok), None, "{ok}");
        }
        for refused in [
            "http://hooks.example.com/sla",
            "https://localhost/x",
            "https://api.localhost/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://192.168.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "not a url",
        ] {
            assert!(webhook_url_problem(refused).is_some(), "{refused}");
        }
    }
}
