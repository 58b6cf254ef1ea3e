//! Policies and acknowledgment campaigns.
//!
//! A [`Policy`] is a formal document of an organization, mapped to the
//! common controls it serves. Its text lives in [`PolicyVersion`]s: drafts
//! can be edited, and a version is immutable from the moment it is
//! published, with the SHA-256 of its body kept as its fingerprint. Editing
//! a published policy starts a new draft version.
//!
//! A [`Campaign`] sends one published version to an audience resolved at
//! launch; each person gets an [`Acknowledgment`] to sign, and a signature
//! becomes evidence for the policy's controls in the same commit. Reminders
//! follow a cadence and go through the notification outbox.

pub mod campaign;
pub mod service;
pub mod templates;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use campaign::{Completion, RoleCompletion};
pub use templates::{PolicyTemplate, templates};

use crate::ids::{
    AcknowledgmentId, CampaignId, EvidenceId, OrgId, PolicyId, PolicyVersionId, UserId,
};
use crate::rbac::Role;
use crate::store::{Entity, IndexEntry, Scope};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    Draft,
    InReview,
    Approved,
    Published,
    Retired,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub id: PolicyId,
    pub org: OrgId,
    pub title: String,
    pub category: String,
    pub owner: Option<UserId>,
    pub controls: BTreeSet<String>,
    pub status: PolicyStatus,
    /// The newest version's number.
    pub latest_version: u32,
    /// The version in force, if one was ever published.
    pub published_version: Option<u32>,
    /// The template it was created from.
    pub template: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Policy {
    const KIND: &'static str = "policy";
    const NAME: &'static str = "policy";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    Draft,
    InReview,
    Approved,
    Published,
    /// A later version was published; this one stays as it was.
    Superseded,
}

/// One version of a policy's text.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub id: PolicyVersionId,
    pub org: OrgId,
    pub policy: PolicyId,
    pub number: u32,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// Hex SHA-256 of `body`: what a signature attests to.
    pub sha256: String,
    pub status: VersionStatus,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// Who last changed the text of this version after creating it (a
    /// draft is edited in place), and when: with `created_by`, who wrote
    /// what. Absent on versions never edited (and on versions stored
    /// before this was kept).
    #[serde(default)]
    pub edited_by: Option<UserId>,
    #[serde(default)]
    pub edited_at: Option<DateTime<Utc>>,
    pub approved_by: Option<UserId>,
    pub approved_at: Option<DateTime<Utc>>,
    /// Who published it (absent on versions published before this was kept).
    #[serde(default)]
    pub published_by: Option<UserId>,
    pub published_at: Option<DateTime<Utc>>,
}

impl Entity for PolicyVersion {
    const KIND: &'static str = "policy_version";
    const NAME: &'static str = "policy version";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry::multi("policy", self.policy.to_string()),
            IndexEntry::unique("policy_number", format!("{}/{}", self.policy, self.number)),
        ]
    }
}

/// The fingerprint of a policy text.
pub fn body_hash(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Who a campaign is for, as the launcher chose it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "of", rename_all = "snake_case")]
pub enum Audience {
    Everyone,
    Roles(BTreeSet<Role>),
    Users(BTreeSet<UserId>),
}

/// When reminders go out: every `every_days` after launch until the due
/// date, then every `overdue_every_days` from the due date while overdue, at
/// most `max` per person.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderCadence {
    pub every_days: u32,
    pub overdue_every_days: u32,
    pub max: u32,
}

impl Default for ReminderCadence {
    fn default() -> Self {
        Self {
            every_days: 3,
            overdue_every_days: 1,
            max: 10,
        }
    }
}

impl ReminderCadence {
    /// The latest cadence step reached at `now` (1 is the first reminder),
    /// or `None` before the first one. Steps before the due date come every
    /// `every_days` after launch; from the due date on, every
    /// `overdue_every_days`.
    pub fn step_at(
        &self,
        launched: DateTime<Utc>,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<u32> {
        let every = Duration::days(i64::from(self.every_days.max(1)));
        let overdue = Duration::days(i64::from(self.overdue_every_days.max(1)));
        // Steps strictly before the due date.
        let before_due = if due > launched {
            ((due - launched - Duration::nanoseconds(1)).num_seconds() / every.num_seconds()) as u32
        } else {
            0
        };
        if now < due {
            let reached = ((now - launched).num_seconds().max(0) / every.num_seconds()) as u32;
            return (reached > 0).then_some(reached.min(before_due));
        }
        let after = ((now - due).num_seconds() / overdue.num_seconds()) as u32;
        Some(before_due + 1 + after)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Open,
    Closed,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub org: OrgId,
    pub title: String,
    pub policy: PolicyId,
    pub version: u32,
    /// The hash of the version every signature must attest to.
    pub version_hash: String,
    pub audience: Audience,
    pub due: DateTime<Utc>,
    pub cadence: ReminderCadence,
    pub status: CampaignStatus,
    pub launched_at: DateTime<Utc>,
    pub launched_by: UserId,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Entity for Campaign {
    const KIND: &'static str = "campaign";
    const NAME: &'static str = "campaign";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry::multi("policy", self.policy.to_string()),
            IndexEntry::multi(
                "status",
                if self.status == CampaignStatus::Open {
                    "open"
                } else {
                    "closed"
                },
            ),
        ]
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcknowledgmentStatus {
    Pending,
    Signed,
}

/// The signature itself, as kept for auditors.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub signed_at: DateTime<Utc>,
    pub typed_name: String,
    pub version_hash: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub evidence: EvidenceId,
}

/// One person's acknowledgment in a campaign.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgment {
    pub id: AcknowledgmentId,
    pub org: OrgId,
    pub campaign: CampaignId,
    pub user: UserId,
    /// The person's role in the org when they were assigned.
    pub role: Role,
    pub status: AcknowledgmentStatus,
    pub assigned_at: DateTime<Utc>,
    pub signature: Option<Signature>,
    /// The last cadence step a reminder went out for.
    pub last_step: Option<u32>,
    /// Reminders sent so far, cadence and manual alike.
    pub reminders: u32,
}

impl Entity for Acknowledgment {
    const KIND: &'static str = "acknowledgment";
    const NAME: &'static str = "acknowledgment";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![
            IndexEntry::multi("campaign", self.campaign.to_string()),
            IndexEntry::multi("user", self.user.to_string()),
            IndexEntry::unique("campaign_user", format!("{}/{}", self.campaign, self.user)),
        ];
        // The signed ones of a campaign, so its completion is two counts
        // (`campaign` and `signed`) rather than a read of its audience.
        if self.status == AcknowledgmentStatus::Signed {
            entries.push(IndexEntry::multi("signed", self.campaign.to_string()));
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + n * 86_400, 0).expect("valid")
    }

    #[test]
    fn cadence_steps_every_three_days_then_daily_when_overdue() {
        let cadence = ReminderCadence::default();
        let (launch, due) = (day(0), day(10));
        let steps: Vec<Option<u32>> = (0..=13)
            .map(|d| cadence.step_at(launch, due, day(d)))
            .collect();
        // Days 3, 6, 9 before the due date; then the due day and each day after.
        assert_eq!(
            steps,
            [
                None,
                None,
                None,
                Some(1),
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                Some(2),
                Some(3),
                Some(4),
                Some(5),
                Some(6),
                Some(7)
            ]
        );
    }

    #[test]
    fn a_due_date_on_a_step_does_not_double_count() {
        let cadence = ReminderCadence::default();
        // Due on day 9, itself a 3-day step: days 3 and 6 before, then day 9 as the first overdue step.
        let (launch, due) = (day(0), day(9));
        assert_eq!(cadence.step_at(launch, due, day(8)), Some(2));
        assert_eq!(cadence.step_at(launch, due, day(9)), Some(3));
        assert_eq!(cadence.step_at(launch, due, day(10)), Some(4));
    }

    #[test]
    fn hashes_identify_texts() {
        assert_eq!(body_hash("a"), body_hash("a"));
        assert_ne!(body_hash("a"), body_hash("a "));
        assert_eq!(body_hash("").len(), 64);
    }
}
