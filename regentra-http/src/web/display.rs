//! What the portal's and the console's pages show alike: a badge, an
//! instant for people, a ticket's time zone. The words of a ticket's
//! status and priority differ by audience (a client reads "Waiting for
//! your reply" where staff read "Waiting on client"), so each side keeps
//! its own; what reads the same on both lives here.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use regentra_core::psa::queue::SlaState;
use regentra_core::psa::ticket::Ticket;

/// A badge: its words, and its class (the color only helps).
#[derive(Debug, Clone)]
pub struct Badge {
    pub label: &'static str,
    pub class: &'static str,
}

/// An instant for people, in a zone, and machine-readable (for `<time>`).
#[derive(Debug, Clone)]
pub struct When {
    pub iso: String,
    pub text: String,
}

pub fn when(at: DateTime<Utc>, zone: Tz) -> When {
    When {
        iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        text: at
            .with_timezone(&zone)
            .format("%a %-d %b %Y, %H:%M %Z")
            .to_string(),
    }
}

/// The zone of the ticket's business calendar (its org's hours), UTC
/// without one.
pub fn ticket_zone(ticket: &Ticket) -> Tz {
    ticket
        .sla
        .as_ref()
        .and_then(|sla| sla.calendar.timezone.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC)
}

pub fn sla_badge(state: SlaState) -> Badge {
    let (label, class) = match state {
        SlaState::OnTrack => ("On track", "badge-success"),
        SlaState::AtRisk => ("At risk", "badge-warning"),
        SlaState::Breached => ("Breached", "badge-danger"),
    };
    Badge { label, class }
}
