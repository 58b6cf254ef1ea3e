//! A ticket's history on its console page: the org's audit events about
//! the ticket and its time entries (the core's `ticket_audit_trail`), each
//! in words: who did what, and when. It is shown to those who may read it
//! (the org's audit readers and those who work its tickets); the chain's
//! hashes stay in the audit log, the history only tells the story.

use std::collections::HashMap;

use chrono_tz::Tz;
use regentra_core::audit::AuditEvent;
use regentra_core::ids::{OrgId, TicketId, UserId};
use regentra_core::psa::Priority;
use regentra_core::psa::ticket::TicketStatus;
use serde_json::Value;

use super::Staff;
use super::tickets::{When, priority_badge, status_badge, when};
use crate::server::AppState;

/// The most events the page shows: the oldest first, and a note when the
/// ticket has more (its full trail is in the API and the audit log).
const SHOWN: usize = 200;

/// One event, told.
#[derive(Debug)]
pub struct HistoryLine {
    pub who: String,
    pub what: String,
    pub when: When,
}

/// What the page shows of the history: its lines, and whether there is
/// more than it shows.
#[derive(Debug)]
pub struct History {
    pub lines: Vec<HistoryLine>,
    pub more: bool,
}

/// The history of `ticket`, or `None` when the person may not read it (or
/// it cannot be read now: the rest of the page still shows). `names` are
/// the people the page already knows (staff and the client's people).
pub async fn ticket_history(
    state: &AppState,
    staff: &Staff,
    org: OrgId,
    ticket: TicketId,
    requester: UserId,
    names: &HashMap<UserId, String>,
    zone: Tz,
) -> Option<History> {
    let trail = state
        .regentra
        .ticket_audit_trail(&staff.caller, org, ticket, None, SHOWN)
        .await
        .ok()?;
    // Those the events name that the page does not know yet (a former
    // assignee, who made a change): read for those ids only.
    let unknown: Vec<UserId> = trail
        .items
        .iter()
        .flat_map(|e| {
            let assigned = serde_json::from_value::<Option<UserId>>(e.details["assignee"].clone())
                .ok()
                .flatten();
            e.actor.user.into_iter().chain(assigned)
        })
        .filter(|u| !names.contains_key(u))
        .collect();
    let mut names = names.clone();
    if !unknown.is_empty()
        && let Ok(people) = state
            .regentra
            .people_named(&staff.caller, org, &unknown)
            .await
    {
        names.extend(people.into_iter().map(|p| (p.user, p.name)));
    }
    let names = &names;
    let lines = trail
        .items
        .iter()
        .map(|event| HistoryLine {
            who: actor_name(event, staff.caller.user, names),
            what: describe(event, staff.caller.user, requester, names),
            when: when(event.at, zone),
        })
        .collect();
    Some(History {
        lines,
        more: trail.next.is_some(),
    })
}

/// Who acted: "You", a name the page knows, the platform for scheduled
/// work (the SLA engine), or "Someone" for a person it cannot name.
fn actor_name(event: &AuditEvent, me: UserId, names: &HashMap<UserId, String>) -> String {
    match event.actor.user {
        None => "Regentra".to_owned(),
        Some(user) if user == me => "You".to_owned(),
        Some(user) => names
            .get(&user)
            .cloned()
            .unwrap_or_else(|| "Someone".to_owned()),
    }
}

/// What the event did, in words (after the actor's name).
fn describe(
    event: &AuditEvent,
    me: UserId,
    requester: UserId,
    names: &HashMap<UserId, String>,
) -> String {
    let d = &event.details;
    let status = |key: &str| {
        serde_json::from_value::<TicketStatus>(d[key].clone())
            .map(|s| status_badge(s).label.to_lowercase())
            .unwrap_or_else(|_| "another status".to_owned())
    };
    let priority = |key: &str| {
        serde_json::from_value::<Priority>(d[key].clone())
            .map(|p| priority_badge(p).label.to_lowercase())
            .unwrap_or_else(|_| "another priority".to_owned())
    };
    let files = |value: &Value| match value.as_array().map(Vec::len).unwrap_or(0) {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    // ", with 2 files" when the message carried some.
    let with_files = || {
        d.get("attachments")
            .map(|a| format!(", with {}", files(a)))
            .unwrap_or_default()
    };
    match event.action.as_str() {
        "ticket.created" => format!(
            "opened the ticket at {} priority{}",
            priority("priority"),
            with_files()
        ),
        "ticket.status_changed" => {
            format!(
                "changed the status from {} to {}",
                status("from"),
                status("to")
            )
        }
        "ticket.reopened" => "reopened the ticket".to_owned(),
        "ticket.priority_changed" => format!(
            "changed the priority from {} to {}",
            priority("from"),
            priority("to")
        ),
        "ticket.assigned" => {
            match serde_json::from_value::<Option<UserId>>(d["assignee"].clone()) {
                Ok(None) => "removed the assignee".to_owned(),
                Ok(Some(user)) if user == me => "assigned it to you".to_owned(),
                Ok(Some(user)) => match names.get(&user) {
                    Some(name) => format!("assigned it to {name}"),
                    None => "assigned it to a colleague".to_owned(),
                },
                Err(_) => "changed the assignee".to_owned(),
            }
        }
        "ticket.replied" if event.actor.user == Some(requester) => {
            format!("wrote to the service desk{}", with_files())
        }
        "ticket.replied" => format!("replied to the client{}", with_files()),
        "ticket.noted" => format!("added an internal note{}", with_files()),
        "ticket.attached" => format!("attached {}", files(&d["attachments"])),
        "ticket.asset_linked" => "linked an asset".to_owned(),
        "ticket.asset_unlinked" => "unlinked an asset".to_owned(),
        "ticket.escalated" => "escalated it: an SLA rule of the client's policy fired".to_owned(),
        "ticket.sla_breached" => "recorded that an SLA target passed".to_owned(),
        "ticket.escalation_skipped" => {
            let reason = d["reason"]
                .as_str()
                .unwrap_or("its target no longer qualifies");
            format!("skipped an escalation: {reason}")
        }
        "time.logged" => {
            let minutes = d["minutes"].as_u64().unwrap_or(0);
            let billable = if d["billable"].as_bool().unwrap_or(false) {
                "billable"
            } else {
                "not billable"
            };
            format!("logged {minutes} min ({billable})")
        }
        // An action this page has no words for yet: its name, honestly.
        other => format!("recorded {other}"),
    }
}
