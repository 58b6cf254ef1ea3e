//! PSA: the helpdesk half of Regentra. Tickets run under SLA policies
//! (business-hours targets per priority, escalation rules) with per-org
//! ticket numbers; time entries, assets, a knowledge base and live chat
//! complete the records an MSP keeps per client.

pub mod attachments;
pub mod chat;
pub mod people;
pub mod queue;
pub mod records;
pub mod sla_policy;
pub mod ticket;

use serde::{Deserialize, Serialize};

/// Ticket priority tiers, most urgent first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Critical,
    High,
    Medium,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];

    /// The priority as it is written in index values and URLs.
    pub fn key(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    /// One tier more urgent (critical stays critical).
    pub fn raised(self) -> Priority {
        match self {
            Priority::Critical | Priority::High => Priority::Critical,
            Priority::Medium => Priority::High,
            Priority::Low => Priority::Medium,
        }
    }
}
