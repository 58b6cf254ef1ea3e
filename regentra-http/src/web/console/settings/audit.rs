//! An org's audit log (`/app/{org}/settings/audit`), for those who read
//! it: its events in chain order (the first first, 50 a page, "Later
//! events" going on), filtered by who acted
//! and by kind (the start of the action: `ticket.`, `membership.`), with
//! the people named; and, for those who may verify it, whether the chain
//! is intact, as a badge.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use regentra_core::ids::UserId;
use regentra_core::rbac::{Permission, Via};
use regentra_core::tenancy::{AuditQuery, ChainVerification};
use serde::Deserialize;

use super::{page_org, refused, role_label};
use crate::server::AppState;
use crate::web::console::{Section, Shell, not_found_page, staff_in};
use crate::web::display::{Badge, When, when};
use crate::web::{Chrome, render};

/// Events per page.
const PAGE_SIZE: usize = 50;

/// The kinds the filter offers: the start of an action, and its words.
const KINDS: &[(&str, &str)] = &[
    ("membership.", "Members"),
    ("invitation.", "Invitations"),
    ("staff.", "Staff assignment"),
    ("client.", "Clients"),
    ("organization.", "Organization"),
    ("ticket.", "Tickets"),
    ("chat.", "Chats"),
    ("article.", "Knowledge base"),
    ("asset.", "Assets"),
    ("sla_policy.", "SLA policies"),
    ("framework.", "Frameworks"),
    ("control.", "Controls"),
    ("evidence.", "Evidence"),
    ("baa.", "Business associate agreements"),
    ("policy.", "Policies"),
    ("campaign.", "Campaigns"),
    ("portal.", "Portal"),
    ("access.", "Delegated access"),
];

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/{scope}/settings/audit", get(log))
}

#[derive(Debug, Default, Deserialize)]
struct LogQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    kind: String,
    after: Option<u64>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct EventRow {
    seq: u64,
    at: When,
    who: String,
    role: &'static str,
    via_msp: bool,
    action: String,
    target: String,
    details: String,
}

#[derive(Template)]
#[template(path = "web/console/settings_audit.html")]
struct LogPage {
    shell: Option<Shell>,
    chrome: Chrome,
    org: String,
    back: String,
    action: String,
    actors: Vec<Choice>,
    kinds: Vec<Choice>,
    filtered: bool,
    rows: Vec<EventRow>,
    next_page: Option<String>,
    chain: Option<(Badge, String)>,
}

/// `GET /app/{org}/settings/audit?actor=&kind=&after=`.
async fn log(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<LogQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/audit");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((org, access)) = page_org(&staff, &scope, "audit") else {
        return not_found_page(&staff, Some(&scope));
    };
    // A filter that names nothing known filters nothing.
    let actor = query.actor.parse::<uuid::Uuid>().ok().map(UserId);
    let kind = KINDS
        .iter()
        .find(|(k, _)| *k == query.kind)
        .map(|(k, _)| (*k).to_owned());
    let listing = match state
        .regentra
        .audit_log(
            &staff.caller,
            org,
            AuditQuery {
                actor,
                kind: kind.clone(),
                ..AuditQuery::after(query.after, PAGE_SIZE)
            },
        )
        .await
    {
        Ok(listing) => listing,
        Err(e) => return refused(&staff, &scope, &e),
    };
    // The people who act here: the org's members and, for a client, its
    // MSP's, when the person may read those.
    let mut names: HashMap<UserId, String> = HashMap::new();
    let mut orgs = vec![org];
    orgs.extend(access.org.parent.filter(|msp| staff.org(*msp).is_some()));
    for o in orgs {
        if let Ok(members) = state.regentra.member_directory(&staff.caller, o).await {
            names.extend(members.into_iter().map(|m| (m.membership.user, m.name)));
        }
    }
    let zone = state
        .regentra
        .time_zone(org)
        .await
        .unwrap_or(chrono_tz::Tz::UTC);
    let rows = listing
        .items
        .into_iter()
        .map(|e| EventRow {
            seq: e.seq,
            at: when(e.at, zone),
            who: match e.actor.user {
                None => "The system".to_owned(),
                Some(user) if user == staff.caller.user => "You".to_owned(),
                Some(user) => names
                    .get(&user)
                    .cloned()
                    .unwrap_or_else(|| "Someone no longer here".to_owned()),
            },
            role: e.actor.role.map(role_label).unwrap_or(""),
            via_msp: matches!(e.actor.via, Some(Via::MspDelegation { .. })),
            target: e.target.kind.replace('_', " "),
            details: details(&e.details),
            action: e.action,
        })
        .collect();
    let here = scope.path("settings/audit");
    let next_page = listing.next.map(|after| {
        let mut pairs = vec![("after", after.to_string())];
        if let Some(a) = actor {
            pairs.push(("actor", a.to_string()));
        }
        if let Some(k) = &kind {
            pairs.push(("kind", k.clone()));
        }
        format!(
            "{here}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    let chain = if staff.can(org, Permission::AuditVerify) {
        match state
            .regentra
            .verify_audit_chain(&staff.caller, org, ChainVerification::SinceCheckpoint)
            .await
        {
            Ok(report) => Some(match report.first_break {
                None => (
                    Badge {
                        label: "Chain intact",
                        class: "badge-success",
                    },
                    format!(
                        "All {} events link up: none was changed or removed.",
                        report.events
                    ),
                ),
                Some(broken) => (
                    Badge {
                        label: "Chain broken",
                        class: "badge-danger",
                    },
                    format!(
                        "The record stops verifying at event {}: it was changed, removed or reordered.",
                        broken.seq
                    ),
                ),
            }),
            Err(e) => return refused(&staff, &scope, &e),
        }
    } else {
        None
    };
    let mut people: Vec<(UserId, String)> = names.into_iter().collect();
    people.sort_by_cached_key(|(id, name)| (name.to_lowercase(), *id));
    let mut actors = vec![Choice {
        value: String::new(),
        label: "Anyone".to_owned(),
        selected: actor.is_none(),
    }];
    actors.extend(people.into_iter().map(|(id, name)| Choice {
        selected: actor == Some(id),
        value: id.to_string(),
        label: name,
    }));
    let mut kinds = vec![Choice {
        value: String::new(),
        label: "Every kind".to_owned(),
        selected: kind.is_none(),
    }];
    kinds.extend(KINDS.iter().map(|(k, label)| Choice {
        value: (*k).to_owned(),
        label: (*label).to_owned(),
        selected: kind.as_deref() == Some(*k),
    }));
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Settings), "Audit log");
    render(
        StatusCode::OK,
        &LogPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            org: access.org.name.clone(),
            back: scope.path("settings"),
            action: here,
            filtered: actor.is_some() || kind.is_some(),
            actors,
            kinds,
            rows,
            next_page,
            chain,
        },
    )
}

/// An event's details in a line: `key: value` pairs, ids left out (the
/// page names people elsewhere; an id says nothing to a reader).
fn details(value: &serde_json::Value) -> String {
    let Some(map) = value.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .filter(|(_, v)| v.as_str().is_none_or(|s| s.parse::<uuid::Uuid>().is_err()))
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let text: String = text.chars().take(120).collect();
            format!("{}: {text}", k.replace('_', " "))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
