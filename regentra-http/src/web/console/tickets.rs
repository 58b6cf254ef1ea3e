//! The service desk: one queue across every client the person reaches (or
//! one client's), a ticket's page for staff, and a new ticket on behalf of
//! a client's person.
//!
//! The queue is the core's `my_ticket_queue` (all clients) or
//! `ticket_queue` (one), filtered and ordered by the store, a page at a
//! time; by default the tickets still being worked, the next SLA due time
//! first. The ticket page reads the whole conversation (`staff_conversation`:
//! public replies and internal notes, told apart), the SLA clocks, the time
//! logged and the linked assets, and offers what staff do to a ticket:
//! reply or note, status, priority, assignee, time, an asset. Each form
//! posts and redirects back with a notice, or shows the page again with the
//! error next to its field.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono_tz::Tz;
use regentra_core::compliance::evidence::size_in_words;
use regentra_core::ids::{AssetId, AttachmentId, OrgId, TicketId, UserId};
use regentra_core::psa::Priority;
use regentra_core::psa::attachments::TicketAttachment;
use regentra_core::psa::people::Person;
use regentra_core::psa::queue::{
    AssigneeFilter, QueueCursor, QueueSort, SlaState, TicketCounts, TicketQuery, closed_statuses,
    next_due, open_statuses, sla_state,
};
use regentra_core::psa::records::{AssetStatus, NewTimeEntry, TimeQuery};
use regentra_core::psa::ticket::{ClockState, ClockView, NewTicket, Ticket, TicketStatus};
use regentra_core::rbac::Permission;
use regentra_core::store::PageRequest;
use regentra_core::{Error, FieldError, RequestMeta};
use serde::Deserialize;

use super::history::{History, ticket_history};
use super::{Scope, Section, Shell, Staff, failed, not_found_page, staff, staff_form, staff_in};
use crate::server::auth::Meta;
use crate::server::page::{self, Page, PageQuery, Position};
use crate::server::routes::ticket_files::file_response;
use crate::server::{AppState, browser};
use crate::web::display::ticket_zone as zone_of;
pub use crate::web::display::{Badge, When, sla_badge, when};
use crate::web::upload::{self, Refusal, detached};
use crate::web::{Chrome, CsrfField, render};

/// Tickets per page of the queue.
const PAGE_SIZE: usize = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/tickets", get(queue))
        .route("/app/{scope}/tickets/new", get(new_page).post(create))
        .route("/app/{scope}/tickets/{ticket_id}", get(ticket_page))
        .route(
            "/app/{scope}/tickets/{ticket_id}/reply",
            post(reply).layer(upload::body_limit()),
        )
        .route("/app/{scope}/tickets/{ticket_id}/status", post(set_status))
        .route(
            "/app/{scope}/tickets/{ticket_id}/priority",
            post(set_priority),
        )
        .route("/app/{scope}/tickets/{ticket_id}/assignee", post(assign))
        .route("/app/{scope}/tickets/{ticket_id}/time", post(log_time))
        .route("/app/{scope}/tickets/{ticket_id}/assets", post(link_asset))
        .route(
            "/app/{scope}/tickets/{ticket_id}/attachments/{attachment_id}",
            get(download),
        )
}

// ---- words and badges ---------------------------------------------------

pub fn status_badge(status: TicketStatus) -> Badge {
    let (label, class) = match status {
        TicketStatus::New => ("New", "badge-info"),
        TicketStatus::Open => ("Open", "badge-info"),
        TicketStatus::Pending => ("Waiting on client", "badge-warning"),
        TicketStatus::Reopened => ("Reopened", "badge-warning"),
        TicketStatus::Resolved => ("Resolved", "badge-success"),
        TicketStatus::Closed => ("Closed", "badge-muted"),
    };
    Badge { label, class }
}

pub fn priority_badge(priority: Priority) -> Badge {
    let (label, class) = match priority {
        Priority::Critical => ("Critical", "badge-danger"),
        Priority::High => ("High", "badge-warning"),
        Priority::Medium => ("Medium", "badge-info"),
        Priority::Low => ("Low", "badge-muted"),
    };
    Badge { label, class }
}

fn status_key(status: TicketStatus) -> &'static str {
    status.key()
}

// ---- the queue ------------------------------------------------------------

/// The queue's filters, as the query string carries them.
#[derive(Debug, Default, Deserialize)]
struct QueueParams {
    /// `open` (default: still being worked), `pending`, `resolved`,
    /// `closed` (resolved or closed), `all`.
    status: Option<String>,
    priority: Option<String>,
    /// `me`, `unassigned`, `any` (default).
    assignee: Option<String>,
    /// `breached`, `at_risk`, `on_track`, `any` (default).
    sla: Option<String>,
    /// `due` (default), `newest`, `oldest`.
    sort: Option<String>,
    /// In the all-clients view: one client's queue instead.
    client: Option<String>,
    after: Option<String>,
}

/// The filters chosen, normalized (unknown values read as the default).
#[derive(Debug, Clone)]
struct Filters {
    status: &'static str,
    priority: Option<Priority>,
    assignee: &'static str,
    sla: Option<SlaState>,
    sort: &'static str,
}

impl Filters {
    fn of(p: &QueueParams) -> Self {
        let status = match p.status.as_deref() {
            Some("pending") => "pending",
            Some("resolved") => "resolved",
            Some("closed") => "closed",
            Some("all") => "all",
            _ => "open",
        };
        let priority = Priority::ALL
            .into_iter()
            .find(|pr| Some(pr.key()) == p.priority.as_deref());
        let assignee = match p.assignee.as_deref() {
            Some("me") => "me",
            Some("unassigned") => "unassigned",
            _ => "any",
        };
        let sla = match p.sla.as_deref() {
            Some("breached") => Some(SlaState::Breached),
            Some("at_risk") => Some(SlaState::AtRisk),
            Some("on_track") => Some(SlaState::OnTrack),
            _ => None,
        };
        // An SLA filter reads the due-time order.
        let sort = match p.sort.as_deref() {
            _ if sla.is_some() => "due",
            Some("newest") => "newest",
            Some("oldest") => "oldest",
            _ => "due",
        };
        Self {
            status,
            priority,
            assignee,
            sla,
            sort,
        }
    }

    fn query(&self, me: UserId, after: Option<QueueCursor>) -> TicketQuery {
        TicketQuery {
            statuses: match self.status {
                "open" => open_statuses(),
                "pending" => [TicketStatus::Pending].into_iter().collect(),
                "resolved" => [TicketStatus::Resolved].into_iter().collect(),
                "closed" => closed_statuses(),
                _ => Default::default(),
            },
            priorities: self.priority.into_iter().collect(),
            assignee: match self.assignee {
                "me" => AssigneeFilter::User(me),
                "unassigned" => AssigneeFilter::Unassigned,
                _ => AssigneeFilter::Anyone,
            },
            requester: None,
            sla: self.sla,
            sort: match self.sort {
                "newest" => QueueSort::Newest,
                "oldest" => QueueSort::Oldest,
                _ => QueueSort::Due,
            },
            after,
            limit: PAGE_SIZE,
        }
    }

    /// The query string of these filters (defaults left out).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if self.status != "open" {
            pairs.push(("status", self.status.to_owned()));
        }
        if let Some(p) = self.priority {
            pairs.push(("priority", p.key().to_owned()));
        }
        if self.assignee != "any" {
            pairs.push(("assignee", self.assignee.to_owned()));
        }
        if let Some(s) = self.sla {
            pairs.push(("sla", sla_key(s).to_owned()));
        }
        if self.sort != "due" {
            pairs.push(("sort", self.sort.to_owned()));
        }
        pairs
    }
}

fn sla_key(state: SlaState) -> &'static str {
    match state {
        SlaState::Breached => "breached",
        SlaState::AtRisk => "at_risk",
        SlaState::OnTrack => "on_track",
    }
}

/// One ticket of the queue.
struct Row {
    href: String,
    number: u64,
    subject: String,
    client: String,
    status: Badge,
    priority: Badge,
    sla: Option<Badge>,
    due: Option<When>,
    assignee: String,
    updated: When,
}

/// A choice of a filter's select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices(options: &[(&str, &str)], current: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: *value == current,
        })
        .collect()
}

/// A quick filter above the queue: one click to a common view, with the
/// number of tickets it shows.
struct QuickLink {
    label: &'static str,
    href: String,
    current: bool,
    count: Option<u64>,
}

#[derive(Template)]
#[template(path = "web/console/tickets.html")]
struct QueuePage {
    shell: Option<Shell>,
    chrome: Chrome,
    heading: String,
    all_clients: bool,
    action: String,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    assignees: Vec<Choice>,
    slas: Vec<Choice>,
    sorts: Vec<Choice>,
    clients: Vec<Choice>,
    quick: Vec<QuickLink>,
    rows: Vec<Row>,
    next_page: Option<String>,
    first_page: Option<String>,
    new_ticket: Option<String>,
    filtered: bool,
    /// How many tickets the filters match (all pages).
    matching: Option<u64>,
}

impl QueuePage {
    /// "12 tickets", "1 ticket match these filters".
    fn total_text(&self) -> Option<String> {
        let n = self.matching?;
        let tickets = if n == 1 {
            "1 ticket".to_owned()
        } else {
            format!("{n} tickets")
        };
        Some(if self.filtered {
            format!("{tickets} match these filters")
        } else {
            tickets
        })
    }
}

/// The numbers of the queue's quick filters and of the filters chosen:
/// counted by the store over the queue's indexes (no ticket is read), in
/// three batches: the open tickets (open, mine, unassigned, at risk,
/// breached), the open tickets assigned to the person (mine, at risk) and
/// the query shown. A count that fails leaves its numbers out.
struct QueueCounts {
    open: Option<TicketCounts>,
    mine: Option<TicketCounts>,
    matching: Option<u64>,
}

impl QueueCounts {
    async fn of(state: &AppState, staff: &Staff, scope: &Scope, shown: &TicketQuery) -> Self {
        let count = |query: TicketQuery| async move {
            match scope {
                Scope::All => state.regentra.my_ticket_counts(&staff.caller, query).await,
                Scope::Org(org) => {
                    state
                        .regentra
                        .ticket_counts(&staff.caller, *org, query)
                        .await
                }
            }
            .ok()
        };
        let open = TicketQuery {
            statuses: open_statuses(),
            ..TicketQuery::default()
        };
        let mine = TicketQuery {
            assignee: AssigneeFilter::User(staff.caller.user),
            ..open.clone()
        };
        let (open, mine, matching) = tokio::join!(count(open), count(mine), count(shown.clone()));
        Self {
            open,
            mine,
            matching: matching.map(|c| c.total),
        }
    }

    /// The number of a quick filter, by its label.
    fn quick(&self, label: &str) -> Option<u64> {
        let open = self.open.as_ref();
        match label {
            "Open" => open.map(|c| c.total),
            "Mine" => open.map(|c| c.mine),
            "Unassigned" => open.map(|c| c.unassigned),
            "At risk" => open.map(|c| c.by_sla.at_risk),
            "Breached" => open.map(|c| c.by_sla.breached),
            "Mine, at risk" => self.mine.as_ref().map(|c| c.by_sla.at_risk),
            _ => None,
        }
    }
}

/// `GET /app/{scope}/tickets`.
async fn queue(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/tickets");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !staff.sees(&scope, Section::Tickets) {
        return not_found_page(&staff, Some(&scope));
    }
    let params: QueueParams = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let filters = Filters::of(&params);
    // Choosing a client in the all-clients view is switching to it.
    if scope == Scope::All
        && let Some(client) = params.client.as_deref().filter(|c| !c.is_empty())
        && let Some(Scope::Org(org)) = staff.scope(client)
    {
        return Redirect::to(&with_query(
            &Scope::Org(org).path("tickets"),
            filters.pairs(),
        ))
        .into_response();
    }
    let after = match Page::parse(PageQuery {
        limit: None,
        cursor: params.after.clone(),
    })
    .map(|p| p.position)
    {
        Ok(Position::AfterKey(key, id)) => Some(QueueCursor { key, id }),
        _ => None,
    };
    let query = filters.query(staff.caller.user, after.clone());
    let counts = QueueCounts::of(&state, &staff, &scope, &query).await;
    let found = match &scope {
        Scope::All => state.regentra.my_ticket_queue(&staff.caller, query).await,
        Scope::Org(org) => {
            state
                .regentra
                .ticket_queue(&staff.caller, *org, query)
                .await
        }
    };
    let page = match found {
        Ok(page) => page,
        Err(e) => return failed(&e),
    };
    let names = people_names(
        &state,
        &staff,
        page.items
            .iter()
            .filter_map(|t| t.assignee.map(|a| (t.org, a))),
    )
    .await;
    let now = state.regentra.now();
    let rows = page
        .items
        .iter()
        .map(|t| {
            let zone = zone_of(t);
            Row {
                href: Scope::Org(t.org).path(&format!("tickets/{}", t.id)),
                number: t.number,
                subject: t.title.clone(),
                client: staff.scope_name(&Scope::Org(t.org)),
                status: status_badge(t.status),
                priority: priority_badge(t.priority),
                sla: sla_state(t, now).map(sla_badge),
                due: next_due(t).map(|d| when(d, zone)),
                assignee: assignee_label(&staff, &names, t.assignee),
                updated: when(t.updated_at, zone),
            }
        })
        .collect();
    let base = scope.path("tickets");
    let next_page = page.next.map(|c| {
        let mut pairs = filters.pairs();
        pairs.push(("after", page::encode(Position::AfterKey(c.key, c.id))));
        with_query(&base, pairs)
    });
    let quick = [
        ("Open", "status=open"),
        ("Mine", "assignee=me"),
        ("Unassigned", "assignee=unassigned"),
        ("At risk", "sla=at_risk"),
        ("Breached", "sla=breached"),
        ("Mine, at risk", "assignee=me&sla=at_risk"),
    ]
    .into_iter()
    .map(|(label, q)| {
        let quick_params: QueueParams = serde_urlencoded::from_str(q).unwrap_or_default();
        let f = Filters::of(&quick_params);
        QuickLink {
            label,
            href: with_query(&base, f.pairs()),
            current: f.pairs() == filters.pairs(),
            count: counts.quick(label),
        }
    })
    .collect();
    let clients = if scope == Scope::All {
        let mut list = vec![Choice {
            value: String::new(),
            label: "All clients".to_owned(),
            selected: true,
        }];
        list.extend(staff.orgs_for(Section::Tickets).map(|o| Choice {
            value: o.org.id.to_string(),
            label: o.org.name.clone(),
            selected: false,
        }));
        list
    } else {
        Vec::new()
    };
    let new_ticket = match &scope {
        Scope::Org(org) if staff.can(*org, Permission::TicketsManage) => {
            Some(scope.path("tickets/new"))
        }
        _ => None,
    };
    let heading = match &scope {
        Scope::All => "Service desk: all clients".to_owned(),
        Scope::Org(_) => format!("Service desk: {}", staff.scope_name(&scope)),
    };
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Tickets), &heading);
    render(
        StatusCode::OK,
        &QueuePage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            heading,
            all_clients: scope == Scope::All,
            action: base.clone(),
            statuses: choices(
                &[
                    ("open", "Open (being worked)"),
                    ("pending", "Waiting on client"),
                    ("resolved", "Resolved"),
                    ("closed", "Resolved or closed"),
                    ("all", "Any status"),
                ],
                filters.status,
            ),
            priorities: choices(
                &[
                    ("", "Any priority"),
                    ("critical", "Critical"),
                    ("high", "High"),
                    ("medium", "Medium"),
                    ("low", "Low"),
                ],
                filters.priority.map(|p| p.key()).unwrap_or(""),
            ),
            assignees: choices(
                &[
                    ("any", "Anyone"),
                    ("me", "Me"),
                    ("unassigned", "Unassigned"),
                ],
                filters.assignee,
            ),
            slas: choices(
                &[
                    ("", "Any SLA state"),
                    ("breached", "Breached"),
                    ("at_risk", "At risk"),
                    ("on_track", "On track"),
                ],
                filters.sla.map(sla_key).unwrap_or(""),
            ),
            sorts: choices(
                &[
                    ("due", "Next due first"),
                    ("newest", "Newest first"),
                    ("oldest", "Oldest first"),
                ],
                filters.sort,
            ),
            clients,
            quick,
            rows,
            first_page: after.is_some().then(|| with_query(&base, filters.pairs())),
            next_page,
            new_ticket,
            filtered: !filters.pairs().is_empty(),
            matching: counts.matching,
        },
    )
}

fn with_query(path: &str, pairs: Vec<(&str, String)>) -> String {
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// The names of the staff a page shows (ticket assignees, chat answerers),
/// each `(org, person)`: one read per org on the page of just those ids
/// (`people_named`), for the orgs where the person reads every ticket
/// (elsewhere names are not shown). The person themself needs none ("You").
pub async fn people_names(
    state: &AppState,
    staff: &Staff,
    people: impl Iterator<Item = (OrgId, UserId)>,
) -> HashMap<UserId, String> {
    let mut by_org: std::collections::BTreeMap<OrgId, Vec<UserId>> = Default::default();
    for (org, user) in people.filter(|(_, user)| *user != staff.caller.user) {
        by_org.entry(org).or_default().push(user);
    }
    let mut names = HashMap::new();
    for (org, users) in by_org {
        if !staff.can(org, Permission::TicketsRead) {
            continue;
        }
        if let Ok(people) = state
            .regentra
            .people_named(&staff.caller, org, &users)
            .await
        {
            names.extend(people.into_iter().map(|p| (p.user, p.name)));
        }
    }
    names
}

fn assignee_label(staff: &Staff, names: &HashMap<UserId, String>, who: Option<UserId>) -> String {
    match who {
        None => "Unassigned".to_owned(),
        Some(user) if user == staff.caller.user => "You".to_owned(),
        Some(user) => names
            .get(&user)
            .cloned()
            .unwrap_or_else(|| "someone".to_owned()),
    }
}

// ---- a ticket -------------------------------------------------------------

/// One message of the conversation.
struct Message {
    author: String,
    internal: bool,
    from_requester: bool,
    when: When,
    body: String,
    files: Vec<FileLink>,
}

struct FileLink {
    href: String,
    name: String,
    size: String,
}

/// One SLA clock as staff read it.
struct ClockLine {
    label: &'static str,
    state: String,
    badge: Badge,
    due: Option<When>,
}

struct TimeLine {
    date: String,
    who: String,
    minutes: String,
    billable: bool,
    note: String,
}

struct AssetLine {
    /// The asset's own page.
    href: String,
    name: String,
    kind: String,
    serial: String,
}

/// What a form of the page sent back with an error, to show it again.
#[derive(Debug, Default)]
struct Problems {
    fields: Vec<FieldError>,
    body: String,
    minutes: String,
    note: String,
    /// The time form's day and billable box, kept (`None`: today, ticked).
    date: Option<String>,
    billable: Option<bool>,
}

impl Problems {
    fn of(error: &Error) -> Option<Vec<FieldError>> {
        match error {
            Error::Validation(fields) => Some(fields.clone()),
            Error::Conflict { .. } => Some(vec![FieldError::new(
                "ticket",
                "someone changed this ticket at the same moment; check it and try again",
            )]),
            _ => None,
        }
    }

    fn get(&self, field: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    }
}

#[derive(Template)]
#[template(path = "web/console/ticket.html")]
struct TicketPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    base: String,
    back: String,
    number: u64,
    subject: String,
    client: String,
    requester: String,
    description: String,
    status: Badge,
    priority: Badge,
    assignee: String,
    created: When,
    updated: When,
    sla_summary: Option<Badge>,
    clocks: Vec<ClockLine>,
    ticket_files: Vec<FileLink>,
    messages: Vec<Message>,
    can_manage: bool,
    can_time: bool,
    status_choices: Vec<Choice>,
    priority_choices: Vec<Choice>,
    assignee_choices: Vec<Choice>,
    time: Vec<TimeLine>,
    time_total: String,
    billable_total: String,
    assets: Vec<AssetLine>,
    asset_choices: Vec<Choice>,
    date: String,
    billable: bool,
    notice: Option<String>,
    errors: Vec<FieldError>,
    body_error: Option<String>,
    attachments_error: Option<String>,
    /// The reply form's file limits, for its hint.
    max_files: usize,
    file_limit: String,
    minutes_error: Option<String>,
    status_error: Option<String>,
    assignee_error: Option<String>,
    asset_error: Option<String>,
    body: String,
    minutes: String,
    note: String,
    /// The ticket's audit trail, for those who may read it.
    history: Option<History>,
}

#[derive(Debug, Default, Deserialize)]
struct TicketParams {
    done: Option<String>,
}

/// `GET /app/{org}/tickets/{id}`.
async fn ticket_page(
    State(state): State<AppState>,
    Path((segment, ticket_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/tickets/{ticket_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let params: TicketParams = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let notice = params.done.as_deref().and_then(|done| {
        Some(match done {
            "reply" => "Your reply was sent to the client.",
            "note" => "Your internal note was added.",
            "status" => "The status was changed.",
            "priority" => "The priority was changed.",
            "assignee" => "The ticket was assigned.",
            "time" => "The time was logged.",
            "asset" => "The asset was linked.",
            "created" => "The ticket was opened.",
            _ => return None,
        })
    });
    let refresh = headers.contains_key("x-regentra-refresh");
    // A live region's refresh asks with the tag of what it has: an
    // unchanged ticket answers 304 after one read, not the whole page.
    let tag = match ticket_of(&staff, &segment, &ticket_id) {
        Some((_, org, id)) if refresh => state
            .regentra
            .ticket(&staff.caller, org, id)
            .await
            .ok()
            .map(|t| format!("\"{}-{}\"", t.updated_at.timestamp_micros(), t.status.key())),
        _ => None,
    };
    if let Some(tag) = &tag
        && headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|seen| seen.as_bytes() == tag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag.clone())]).into_response();
    }
    let mut response = show_ticket(
        &state,
        &staff,
        &scope,
        &ticket_id,
        Outcome {
            notice: notice.map(str::to_owned),
            problems: Problems::default(),
            status: StatusCode::OK,
            refresh,
        },
    )
    .await;
    if let Some(tag) = tag
        && let Ok(value) = header::HeaderValue::from_str(&tag)
    {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// How the ticket's page is shown: after an action (its notice), with the
/// problems of a form, or for a live region's refresh (no choosers).
struct Outcome {
    notice: Option<String>,
    problems: Problems,
    status: StatusCode,
    refresh: bool,
}

/// The ticket's page, with a notice or the problems of a form.
async fn show_ticket(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    ticket_id: &str,
    outcome: Outcome,
) -> Response {
    let Outcome {
        notice,
        problems,
        status,
        refresh,
    } = outcome;
    let Scope::Org(org) = *scope else {
        return not_found_page(staff, Some(scope));
    };
    let Ok(id) = ticket_id.parse::<uuid::Uuid>().map(TicketId) else {
        return not_found_page(staff, Some(scope));
    };
    if !staff.can(org, Permission::TicketsRead) {
        return not_found_page(staff, Some(scope));
    }
    let r = &state.regentra;
    let caller = &staff.caller;
    let ticket = match r.ticket(caller, org, id).await {
        Ok(t) => t,
        Err(Error::NotFound { .. }) => return not_found_page(staff, Some(scope)),
        Err(e) => return failed(&e),
    };
    // The ticket's business calendar's zone; without an SLA, the org's.
    let zone = match ticket.sla {
        Some(_) => zone_of(&ticket),
        None => r.time_zone(org).await.unwrap_or(Tz::UTC),
    };
    let now = r.now();
    // The whole conversation: a ticket's is short; read on to the end.
    let mut conversation = match r.staff_conversation(caller, org, id, None, 100).await {
        Ok(c) => c,
        Err(e) => return failed(&e),
    };
    while let Some(after) = conversation.next {
        match r
            .staff_conversation(caller, org, id, Some(after), 100)
            .await
        {
            Ok(more) => {
                conversation.entries.extend(more.entries);
                conversation.next = more.next;
            }
            Err(e) => return failed(&e),
        }
    }
    let base = scope.path(&format!("tickets/{id}"));
    let file_link = |a: &TicketAttachment| FileLink {
        href: format!("{base}/attachments/{}", a.id),
        name: a.name.clone(),
        size: size_in_words(a.size),
    };
    let requester_name = conversation
        .entries
        .iter()
        .find(|e| e.from_requester)
        .map(|e| e.author_name.clone());
    let messages = conversation
        .entries
        .iter()
        .map(|e| Message {
            author: if e.comment.author == caller.user {
                "You".to_owned()
            } else if e.author_name.trim().is_empty() {
                "Someone".to_owned()
            } else {
                e.author_name.clone()
            },
            internal: !e.comment.public,
            from_requester: e.from_requester,
            when: when(e.comment.created_at, zone),
            body: e.comment.body.clone(),
            files: e.attachments.iter().map(file_link).collect(),
        })
        .collect();
    let can_manage = staff.can(org, Permission::TicketsManage);
    let can_time = staff.can(org, Permission::TimeTrack);
    // The assignee chooser lists the org's ticket workers: read for the
    // form, not for a live region's refresh.
    let people: Vec<Person> = if can_manage && !refresh {
        r.ticket_assignees(caller, org).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let entries = if can_time || staff.can(org, Permission::TicketsRead) {
        r.time_entries(
            caller,
            org,
            TimeQuery {
                ticket: Some(id),
                limit: 200,
                ..TimeQuery::default()
            },
        )
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    // The names the page shows, read for those ids only.
    let mut named_ids = vec![ticket.requester];
    named_ids.extend(ticket.assignee);
    named_ids.extend(entries.iter().map(|e| e.user));
    let named = r
        .people_named(caller, org, &named_ids)
        .await
        .unwrap_or_default();
    let requester = named
        .iter()
        .find(|p| p.user == ticket.requester)
        .map(|p| format!("{} ({})", p.name, p.email))
        .or(requester_name)
        .unwrap_or_else(|| "The client's person".to_owned());
    let names: HashMap<UserId, String> = named
        .iter()
        .chain(&people)
        .map(|p| (p.user, p.name.clone()))
        .collect();
    let clocks = match regentra_core::psa::ticket::sla_view(&ticket, now) {
        Ok(Some(view)) => vec![
            clock_line("First response", &view.response, zone),
            clock_line("Resolution", &view.resolution, zone),
        ],
        _ => Vec::new(),
    };
    let total: u32 = entries.iter().map(|e| e.minutes).sum();
    let billable: u32 = entries
        .iter()
        .filter(|e| e.billable)
        .map(|e| e.minutes)
        .sum();
    let (time_total, billable_total) = (duration_words(total), duration_words(billable));
    let time = entries
        .into_iter()
        .map(|e| TimeLine {
            date: e.date.format("%-d %b %Y").to_string(),
            who: if e.user == caller.user {
                "You".to_owned()
            } else {
                names
                    .get(&e.user)
                    .cloned()
                    .unwrap_or_else(|| "Someone".to_owned())
            },
            minutes: duration_words(e.minutes),
            billable: e.billable,
            note: e.note,
        })
        .collect();
    let (assets, asset_choices) = linked_assets(state, staff, org, &ticket, refresh).await;
    let history = ticket_history(state, staff, org, id, ticket.requester, &names, zone).await;
    let errors = problems.fields.clone();
    let shell = Shell::new(
        staff,
        Some(scope),
        Some(Section::Tickets),
        &format!("#{} {}", ticket.number, ticket.title),
    );
    render(
        status,
        &TicketPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            back: scope.path("tickets"),
            number: ticket.number,
            subject: ticket.title.clone(),
            client: staff.scope_name(scope),
            requester,
            description: ticket.description.clone(),
            status: status_badge(ticket.status),
            priority: priority_badge(ticket.priority),
            assignee: assignee_label(staff, &names, ticket.assignee),
            created: when(ticket.created_at, zone),
            updated: when(ticket.updated_at, zone),
            sla_summary: sla_state(&ticket, now).map(sla_badge),
            clocks,
            ticket_files: conversation
                .ticket_attachments
                .iter()
                .map(file_link)
                .collect(),
            messages,
            can_manage,
            can_time,
            status_choices: TicketStatus::ALL
                .into_iter()
                .map(|s| Choice {
                    value: status_key(s).to_owned(),
                    label: status_badge(s).label.to_owned(),
                    selected: s == ticket.status,
                })
                .collect(),
            priority_choices: Priority::ALL
                .into_iter()
                .map(|p| Choice {
                    value: p.key().to_owned(),
                    label: priority_badge(p).label.to_owned(),
                    selected: p == ticket.priority,
                })
                .collect(),
            assignee_choices: people
                .iter()
                .map(|p| Choice {
                    value: p.user.to_string(),
                    label: if p.user == caller.user {
                        format!("{} (you)", p.name)
                    } else {
                        p.name.clone()
                    },
                    selected: Some(p.user) == ticket.assignee,
                })
                .collect(),
            time,
            time_total,
            billable_total,
            assets,
            asset_choices,
            date: problems
                .date
                .clone()
                .unwrap_or_else(|| now.with_timezone(&zone).date_naive().to_string()),
            billable: problems.billable.unwrap_or(true),
            notice,
            body_error: problems.get("body"),
            attachments_error: problems.get("attachments"),
            max_files: regentra_core::psa::attachments::MAX_ATTACHMENTS,
            file_limit: size_in_words(regentra_core::psa::attachments::ATTACHMENT_LIMIT),
            minutes_error: problems
                .get("minutes")
                .or_else(|| problems.get("date"))
                .or_else(|| problems.get("note")),
            status_error: problems
                .get("status")
                .or_else(|| problems.get("priority"))
                .or_else(|| problems.get("ticket")),
            assignee_error: problems.get("assignee"),
            asset_error: problems.get("asset"),
            errors,
            body: problems.body,
            minutes: problems.minutes,
            note: problems.note,
            history,
            base,
        },
    )
}

fn clock_line(label: &'static str, clock: &ClockView, zone: Tz) -> ClockLine {
    let left = || duration_words(clock.remaining_minutes.max(0) as u32);
    let (state, badge) = match clock.state {
        ClockState::Met => (
            format!(
                "Met {}",
                clock.met_at.map(|m| when(m, zone).text).unwrap_or_default()
            ),
            if clock.breached {
                sla_badge(SlaState::Breached)
            } else {
                Badge {
                    label: "Met",
                    class: "badge-success",
                }
            },
        ),
        ClockState::Breached => (
            format!(
                "Overdue by {}",
                duration_words(clock.remaining_minutes.unsigned_abs() as u32)
            ),
            sla_badge(SlaState::Breached),
        ),
        ClockState::Paused => (
            format!("Paused, {} left", left()),
            Badge {
                label: "Paused",
                class: "badge-muted",
            },
        ),
        ClockState::AtRisk => (
            format!("{} of business time left", left()),
            sla_badge(SlaState::AtRisk),
        ),
        ClockState::OnTrack => (
            format!("{} of business time left", left()),
            sla_badge(SlaState::OnTrack),
        ),
    };
    ClockLine {
        label,
        state,
        badge,
        due: clock
            .due
            .filter(|_| clock.met_at.is_none())
            .map(|d| when(d, zone)),
    }
}

/// `95` → `1 h 35 min`.
fn duration_words(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The assets the ticket concerns (read by their ids), and, for those
/// who may link them and when the form is shown (not on a live region's
/// refresh), the org's others still in service to choose from.
async fn linked_assets(
    state: &AppState,
    staff: &Staff,
    org: OrgId,
    ticket: &Ticket,
    refresh: bool,
) -> (Vec<AssetLine>, Vec<Choice>) {
    if !staff.can(org, Permission::AssetsRead) {
        return (Vec::new(), Vec::new());
    }
    let r = &state.regentra;
    let linked = if ticket.assets.is_empty() {
        Vec::new()
    } else {
        r.ticket_assets(&staff.caller, org, ticket.id)
            .await
            .unwrap_or_default()
    };
    let lines = linked
        .iter()
        .map(|a| AssetLine {
            href: Scope::Org(org).path(&format!("assets/{}", a.id)),
            name: a.name.clone(),
            kind: a.kind.clone(),
            serial: a.serial.clone().unwrap_or_default(),
        })
        .collect();
    if refresh || !staff.can(org, Permission::TicketsManage) {
        return (lines, Vec::new());
    }
    let choices = r
        .assets(&staff.caller, org, PageRequest::after(None, 500))
        .await
        .map(|listing| listing.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !ticket.assets.contains(&a.id) && a.status != AssetStatus::Retired)
        .map(|a| Choice {
            value: a.id.to_string(),
            label: format!("{} ({})", a.name, a.kind),
            selected: false,
        })
        .collect();
    (lines, choices)
}

// ---- what staff do to a ticket -------------------------------------------

/// The ticket a form posts to (an org the person reaches and a ticket
/// id), or the 404 page.
/// A form posted to one of a ticket's actions: who posted it (checked as
/// [`staff_form`] checks every console form), the ticket's org and id from
/// the path, and the fields. A path that names no ticket of an org the
/// person reaches is the 404 page.
struct TicketAction<T> {
    staff: Staff,
    scope: Scope,
    org: OrgId,
    id: TicketId,
    form: T,
}

impl<T: serde::de::DeserializeOwned> TicketAction<T> {
    async fn read(
        state: &AppState,
        segment: &str,
        ticket_id: &str,
        request: Request,
    ) -> Result<Self, Response> {
        let back = format!("/app/{segment}/tickets/{ticket_id}");
        let (staff, form) = staff_form::<T>(state, &back, request).await?;
        match ticket_of(&staff, segment, ticket_id) {
            Some((scope, org, id)) => Ok(Self {
                staff,
                scope,
                org,
                id,
                form,
            }),
            None => Err(not_found_page(&staff, None)),
        }
    }
}

fn ticket_of(staff: &Staff, segment: &str, ticket_id: &str) -> Option<(Scope, OrgId, TicketId)> {
    match (staff.scope(segment), ticket_id.parse::<uuid::Uuid>()) {
        (Some(Scope::Org(org)), Ok(id)) => Some((Scope::Org(org), org, TicketId(id))),
        _ => None,
    }
}

/// After a form: back to the ticket with `done`, or the page again with
/// the problem next to its field.
async fn after_form<T>(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    ticket_id: &str,
    result: Result<T, Error>,
    done: &str,
    keep: Problems,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!(
            "{}?done={done}",
            scope.path(&format!("tickets/{ticket_id}"))
        ))
        .into_response(),
        Err(e) => match Problems::of(&e) {
            Some(fields) => {
                show_ticket(
                    state,
                    staff,
                    scope,
                    ticket_id,
                    Outcome {
                        notice: None,
                        problems: Problems { fields, ..keep },
                        status: StatusCode::UNPROCESSABLE_ENTITY,
                        refresh: false,
                    },
                )
                .await
            }
            None => match e {
                Error::NotFound { .. } | Error::PermissionDenied { .. } => {
                    not_found_page(staff, Some(scope))
                }
                e => failed(&e),
            },
        },
    }
}

/// The fields of the reply form besides its files: the message, and
/// `visibility`, `public` (a reply the client sees) or `internal` (a note
/// for staff, whose files are staff-only too).
const REPLY_FIELDS: [&str; 2] = ["body", "visibility"];

/// `POST /app/{org}/tickets/{id}/reply`: a reply or note, with files
/// (`multipart/form-data`, its CSRF token first).
async fn reply(
    State(state): State<AppState>,
    Path((segment, ticket_id)): Path<(String, String)>,
    Meta(meta): Meta,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    detached(reply_detached(
        state, segment, ticket_id, meta, headers, form,
    ))
    .await
}

async fn reply_detached(
    state: AppState,
    segment: String,
    ticket_id: String,
    meta: RequestMeta,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let back = format!("/app/{segment}/tickets/{ticket_id}");
    let mut staff = match staff(&state, &headers, &back).await {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    if !browser::origin_is_ours(&headers, &state) {
        return crate::web::forbidden();
    }
    let Some((scope, org, id)) = ticket_of(&staff, &segment, &ticket_id) else {
        return not_found_page(&staff, None);
    };
    // Nothing of the body is read, no file stored, before the person is
    // known to work this ticket.
    if !staff.can(org, Permission::TicketsManage) {
        return not_found_page(&staff, Some(&scope));
    }
    match state.regentra.ticket(&staff.caller, org, id).await {
        Ok(_) => {}
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
            return not_found_page(&staff, Some(&scope));
        }
        Err(e) => return failed(&e),
    }
    staff.caller = staff.caller.with_request(meta);
    let posted = match upload::read_form(
        &state,
        org,
        &staff.caller,
        &staff.secret,
        &REPLY_FIELDS,
        form,
    )
    .await
    {
        Ok(posted) => posted,
        Err(Refusal::Forged) => return crate::web::forbidden(),
        Err(Refusal::Unreadable) => {
            return super::message(
                StatusCode::BAD_REQUEST,
                None,
                "The form could not be read",
                "The form arrived incomplete. Go back and send it again.",
            );
        }
        Err(Refusal::TooLong) => {
            return super::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                "Your message is too long",
                upload::TOO_LONG,
            );
        }
        Err(Refusal::Failed(e)) => return failed(&e),
    };
    let body = posted.field("body");
    let public = posted.field("visibility") != "internal";
    let keep = Problems {
        body: body.clone(),
        ..Problems::default()
    };
    // A file refused as it arrived: nothing is sent; the message is kept
    // and the files must be chosen again (a browser cannot refill them).
    if let Some(error) = posted.files_error.clone() {
        state.regentra.discard_attachments(posted.files).await;
        let problem = Error::invalid("attachments", format!("{error} Choose your files again."));
        return after_form(
            &state,
            &staff,
            &scope,
            &ticket_id,
            Err::<(), _>(problem),
            "",
            keep,
        )
        .await;
    }
    let result = state
        .regentra
        .add_comment_with_attachments(&staff.caller, org, id, &body, public, posted.files)
        .await
        .map_err(|e| match e {
            Error::Validation(mut fields) => {
                if let Some(sentence) = upload::files_error(&fields) {
                    fields.retain(|f| f.field != "attachments");
                    fields.push(FieldError::new("attachments", sentence));
                }
                Error::Validation(fields)
            }
            e => e,
        });
    let done = if public { "reply" } else { "note" };
    after_form(&state, &staff, &scope, &ticket_id, result, done, keep).await
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    #[serde(default)]
    status: String,
}

/// `POST /app/{org}/tickets/{id}/status`.
async fn set_status(
    State(state): State<AppState>,
    Path((segment, ticket_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let TicketAction {
        staff,
        scope,
        org,
        id,
        form,
    } = match TicketAction::<StatusForm>::read(&state, &segment, &ticket_id, request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    let result = match TicketStatus::ALL
        .into_iter()
        .find(|s| s.key() == form.status)
    {
        Some(status) => {
            state
                .regentra
                .set_ticket_status(&staff.caller, org, id, status)
                .await
        }
        None => Err(Error::invalid("status", "choose a status from the list")),
    };
    after_form(
        &state,
        &staff,
        &scope,
        &ticket_id,
        result,
        "status",
        Problems::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct PriorityForm {
    #[serde(default)]
    priority: String,
}

/// `POST /app/{org}/tickets/{id}/priority`.
async fn set_priority(
    State(state): State<AppState>,
    Path((segment, ticket_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let TicketAction {
        staff,
        scope,
        org,
        id,
        form,
    } = match TicketAction::<PriorityForm>::read(&state, &segment, &ticket_id, request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    let result = match Priority::ALL.into_iter().find(|p| p.key() == form.priority) {
        Some(priority) => {
            state
                .regentra
                .set_ticket_priority(&staff.caller, org, id, priority)
                .await
        }
        None => Err(Error::invalid(
            "priority",
            "choose a priority from the list",
        )),
    };
    after_form(
        &state,
        &staff,
        &scope,
        &ticket_id,
        result,
        "priority",
        Problems::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct AssigneeForm {
    /// A user id, or `me`.
    #[serde(default)]
    assignee: String,
}

/// `POST /app/{org}/tickets/{id}/assignee`.
async fn assign(
    State(state): State<AppState>,
    Path((segment, ticket_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let TicketAction {
        staff,
        scope,
        org,
        id,
        form,
    } = match TicketAction::<AssigneeForm>::read(&state, &segment, &ticket_id, request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    let assignee = if form.assignee == "me" {
        Some(staff.caller.user)
    } else {
        form.assignee.parse::<uuid::Uuid>().ok().map(UserId)
    };
    let result = match assignee {
        Some(user) => {
            state
                .regentra
                .assign_ticket(&staff.caller, org, id, user)
                .await
        }
        None => Err(Error::invalid("assignee", "choose someone from the list")),
    };
    after_form(
        &state,
        &staff,
        &scope,
        &ticket_id,
        result,
        "assignee",
        Problems::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct TimeForm {
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    billable: Option<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    date: String,
}

/// `POST /app/{org}/tickets/{id}/time`.
async fn log_time(
    State(state): State<AppState>,
    Path((segment, ticket_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let TicketAction {
        staff,
        scope,
        org,
        id,
        form,
    } = match TicketAction::<TimeForm>::read(&state, &segment, &ticket_id, request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    let keep = Problems {
        minutes: form.minutes.clone(),
        note: form.note.clone(),
        date: Some(form.date.clone()),
        billable: Some(form.billable.is_some()),
        ..Problems::default()
    };
    let minutes = form.minutes.trim().parse::<u32>();
    let date = form.date.trim().parse::<chrono::NaiveDate>();
    let result = match (minutes, date) {
        (Err(_), _) => Err(Error::invalid(
            "minutes",
            "enter the minutes as a whole number, 1 to 1440",
        )),
        (_, Err(_)) => Err(Error::invalid("date", "enter the day the work was done")),
        (Ok(minutes), Ok(date)) => {
            state
                .regentra
                .log_time(
                    &staff.caller,
                    org,
                    NewTimeEntry {
                        ticket: Some(id),
                        minutes,
                        billable: form.billable.is_some(),
                        note: form.note.clone(),
                        date,
                    },
                )
                .await
        }
    };
    after_form(&state, &staff, &scope, &ticket_id, result, "time", keep).await
}

#[derive(Debug, Deserialize)]
struct AssetForm {
    #[serde(default)]
    asset: String,
}

/// `POST /app/{org}/tickets/{id}/assets`.
async fn link_asset(
    State(state): State<AppState>,
    Path((segment, ticket_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let TicketAction {
        staff,
        scope,
        org,
        id,
        form,
    } = match TicketAction::<AssetForm>::read(&state, &segment, &ticket_id, request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    let result = match form.asset.parse::<uuid::Uuid>() {
        Ok(asset) => match state
            .regentra
            .link_asset(&staff.caller, org, id, AssetId(asset))
            .await
        {
            Err(Error::NotFound { .. }) => {
                Err(Error::invalid("asset", "that asset no longer exists"))
            }
            other => other,
        },
        Err(_) => Err(Error::invalid("asset", "choose an asset from the list")),
    };
    after_form(
        &state,
        &staff,
        &scope,
        &ticket_id,
        result,
        "asset",
        Problems::default(),
    )
    .await
}

/// `GET /app/{org}/tickets/{id}/attachments/{a}`: a file of the ticket,
/// internal ones included for staff.
async fn download(
    State(state): State<AppState>,
    Path((segment, ticket_id, attachment_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/tickets/{ticket_id}/attachments/{attachment_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Scope::Org(org), Ok(ticket), Ok(attachment)) = (
        &scope,
        ticket_id.parse::<uuid::Uuid>(),
        attachment_id.parse::<uuid::Uuid>(),
    ) else {
        return not_found_page(&staff, Some(&scope));
    };
    match state
        .regentra
        .open_ticket_attachment(
            &staff.caller,
            *org,
            TicketId(ticket),
            AttachmentId(attachment),
        )
        .await
    {
        Ok(file) => file_response(file),
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
            not_found_page(&staff, Some(&scope))
        }
        Err(e) => failed(&e),
    }
}

// ---- a new ticket on behalf of a client's person -------------------------

#[derive(Template)]
#[template(path = "web/console/ticket_new.html")]
struct NewTicketPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    action: String,
    back: String,
    client: String,
    requesters: Vec<Choice>,
    priorities: Vec<Choice>,
    subject: String,
    description: String,
    errors: Vec<FieldError>,
    requester_error: Option<String>,
    subject_error: Option<String>,
    description_error: Option<String>,
    priority_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct NewTicketForm {
    #[serde(default)]
    requester: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    priority: String,
}

/// `GET /app/{org}/tickets/new`.
async fn new_page(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/tickets/new");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    new_ticket_form(&state, &staff, &scope, NewTicketForm::default(), Vec::new()).await
}

async fn new_ticket_form(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    form: NewTicketForm,
    errors: Vec<FieldError>,
) -> Response {
    let Scope::Org(org) = *scope else {
        return not_found_page(staff, Some(scope));
    };
    if !staff.can(org, Permission::TicketsManage) {
        return not_found_page(staff, Some(scope));
    }
    let people = match state.regentra.ticket_requesters(&staff.caller, org).await {
        Ok(people) => people,
        Err(e) => return failed(&e),
    };
    let error = |field: &str| {
        errors
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    };
    let mut requesters = vec![Choice {
        value: String::new(),
        label: "Choose a person".to_owned(),
        selected: form.requester.is_empty(),
    }];
    requesters.extend(people.into_iter().map(|p| Choice {
        selected: p.user.to_string() == form.requester,
        value: p.user.to_string(),
        label: format!("{} ({})", p.name, p.email),
    }));
    let current_priority = if form.priority.is_empty() {
        "medium"
    } else {
        form.priority.as_str()
    };
    let shell = Shell::new(staff, Some(scope), Some(Section::Tickets), "New ticket");
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &NewTicketPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            action: scope.path("tickets/new"),
            back: scope.path("tickets"),
            client: staff.scope_name(scope),
            requesters,
            priorities: Priority::ALL
                .into_iter()
                .map(|p| Choice {
                    value: p.key().to_owned(),
                    label: priority_badge(p).label.to_owned(),
                    selected: p.key() == current_priority,
                })
                .collect(),
            requester_error: error("requester"),
            subject_error: error("subject"),
            description_error: error("description"),
            priority_error: error("priority"),
            subject: form.subject,
            description: form.description,
            errors,
        },
    )
}

/// `POST /app/{org}/tickets/new`.
async fn create(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/tickets/new");
    let (staff, form) = match staff_form::<NewTicketForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(scope @ Scope::Org(org)) = staff.scope(&segment) else {
        return not_found_page(&staff, None);
    };
    let mut errors = Vec::new();
    let requester = form.requester.parse::<uuid::Uuid>().ok().map(UserId);
    if requester.is_none() {
        errors.push(FieldError::new(
            "requester",
            "choose the person the ticket is for",
        ));
    }
    let priority = Priority::ALL.into_iter().find(|p| p.key() == form.priority);
    if priority.is_none() {
        errors.push(FieldError::new("priority", "choose a priority"));
    }
    if let (Some(requester), Some(priority)) = (requester, priority) {
        let result = state
            .regentra
            .create_ticket(
                &staff.caller,
                org,
                NewTicket {
                    subject: form.subject.clone(),
                    description: form.description.clone(),
                    priority,
                    requester: Some(requester),
                },
            )
            .await;
        match result {
            Ok(ticket) => {
                return Redirect::to(&format!(
                    "{}?done=created",
                    scope.path(&format!("tickets/{}", ticket.id))
                ))
                .into_response();
            }
            Err(Error::Validation(fields)) => errors.extend(fields),
            Err(e) => return failed(&e),
        }
    }
    new_ticket_form(&state, &staff, &scope, form, errors).await
}
