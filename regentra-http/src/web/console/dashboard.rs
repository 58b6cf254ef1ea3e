//! The MSP dashboard (`/app/all/dashboard`, or an MSP org's own): per
//! client, in one table with totals, what the core's `msp_overview`
//! computes (reading each client once): compliance score per adopted
//! framework, open tickets, SLA at risk and breached in the last 30 days,
//! campaign completion, evidence expiring, last activity; each figure
//! links to the page behind it. Two charts as server-drawn SVG: the score
//! per client, and SLA breaches per week. A figure the person's role may
//! not see in a client is absent (the core leaves it out), never zero.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use regentra_core::tenancy::{OrgKind, overview::MspOverview};
use serde::Deserialize;

use super::{Scope, Section, Shell, Staff, failed, not_found_page, staff_in};
use crate::server::AppState;
use crate::web::{Chrome, render};

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/{scope}/dashboard", get(page))
}

struct Row {
    name: String,
    tickets_href: String,
    scores: Vec<(String, String)>,
    open: Option<u64>,
    at_risk: Option<u64>,
    breached: Option<u64>,
    completion: Option<String>,
    expiring: Option<u64>,
    expired: Option<u64>,
    last_activity: Option<String>,
}

/// A bar of a chart: its label, value as text, and length in the SVG.
struct Bar {
    label: String,
    value: String,
    y: u32,
    width: u32,
    text_y: u32,
}

#[derive(Template)]
#[template(path = "web/console/dashboard.html")]
struct DashboardPage {
    shell: Option<Shell>,
    chrome: Chrome,
    heading: String,
    rows: Vec<Row>,
    total_open: Option<u64>,
    total_at_risk: Option<u64>,
    total_breached: Option<u64>,
    total_expiring: Option<u64>,
    score_bars: Vec<Bar>,
    score_height: u32,
    week_bars: Vec<Bar>,
    week_height: u32,
    sort: String,
}

#[derive(Debug, Default, Deserialize)]
struct DashboardQuery {
    /// `name` (default), `open`, `breached`, `at_risk`.
    sort: Option<String>,
}

/// `GET /app/{scope}/dashboard`.
async fn page(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<DashboardQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/dashboard");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // The MSP the dashboard is of: on all clients, the person's MSP; on
    // an org, that org when it is an MSP.
    let msp = match &scope {
        Scope::All => staff.orgs.iter().find(|o| o.org.kind == OrgKind::Msp),
        Scope::Org(org) => staff.org(*org).filter(|o| o.org.kind == OrgKind::Msp),
    };
    let Some(msp) = msp.map(|o| o.org.id) else {
        return not_found_page(&staff, Some(&scope));
    };
    let overview = match state.regentra.msp_overview(&staff.caller, msp).await {
        Ok(overview) => overview,
        Err(e) => return failed(&e),
    };
    let sort = query.sort.unwrap_or_else(|| "name".to_owned());
    show(&staff, &scope, overview, &sort)
}

fn show(staff: &Staff, scope: &Scope, overview: MspOverview, sort: &str) -> Response {
    let mut clients = overview.clients;
    match sort {
        "open" => clients.sort_by_key(|c| std::cmp::Reverse(c.tickets.as_ref().map(|t| t.open))),
        "breached" => {
            clients.sort_by_key(|c| std::cmp::Reverse(c.sla.as_ref().map(|s| s.breached)))
        }
        "at_risk" => clients.sort_by_key(|c| std::cmp::Reverse(c.sla.as_ref().map(|s| s.at_risk))),
        _ => clients.sort_by_key(|c| c.name.to_lowercase()),
    }
    let rows = clients
        .iter()
        .map(|c| {
            let org = Scope::Org(c.client);
            Row {
                name: c.name.clone(),
                tickets_href: org.path("tickets"),
                scores: c
                    .frameworks
                    .iter()
                    .flatten()
                    .map(|f| (f.name.clone(), format!("{:.1}%", f.score)))
                    .collect(),
                open: c.tickets.as_ref().map(|t| t.open),
                at_risk: c.sla.as_ref().map(|s| s.at_risk),
                breached: c.sla.as_ref().map(|s| s.breached),
                completion: c
                    .campaigns
                    .as_ref()
                    .and_then(|k| k.completion)
                    .map(|f| format!("{:.0}%", f * 100.0)),
                expiring: c.evidence.as_ref().map(|e| e.expiring),
                expired: c.evidence.as_ref().map(|e| e.expired),
                last_activity: c
                    .activity
                    .as_ref()
                    .and_then(|a| a.last)
                    .map(|at| at.format("%-d %b %Y").to_string()),
            }
        })
        .collect();
    // Charts: a bar per client and framework score (0-100), a bar per week.
    const BAR: u32 = 22;
    const WIDTH: f64 = 360.0;
    let score_bars: Vec<Bar> = overview
        .series
        .scores
        .iter()
        .enumerate()
        .map(|(i, p)| Bar {
            label: format!("{} · {}", p.name, p.framework),
            value: format!("{:.1}%", p.score),
            y: i as u32 * (BAR + 8),
            width: ((p.score / 100.0) * WIDTH).round().max(1.0) as u32,
            text_y: i as u32 * (BAR + 8) + 15,
        })
        .collect();
    let most = overview
        .series
        .breaches_by_week
        .iter()
        .map(|w| w.breaches)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let week_bars: Vec<Bar> = overview
        .series
        .breaches_by_week
        .iter()
        .enumerate()
        .map(|(i, w)| Bar {
            label: w.week.clone(),
            value: w.breaches.to_string(),
            y: i as u32 * (BAR + 8),
            width: ((w.breaches as f64 / most) * WIDTH).round() as u32,
            text_y: i as u32 * (BAR + 8) + 15,
        })
        .collect();
    let totals = &overview.totals;
    let heading = format!("Dashboard: {} clients", totals.clients);
    let shell = Shell::new(staff, Some(scope), Some(Section::Dashboard), "Dashboard");
    render(
        StatusCode::OK,
        &DashboardPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            heading,
            rows,
            total_open: totals.tickets.as_ref().map(|t| t.open),
            total_at_risk: totals.sla.as_ref().map(|s| s.at_risk),
            total_breached: totals.sla.as_ref().map(|s| s.breached),
            total_expiring: totals.evidence.as_ref().map(|e| e.expiring),
            score_height: (score_bars.len() as u32 * (BAR + 8)).max(BAR),
            week_height: (week_bars.len() as u32 * (BAR + 8)).max(BAR),
            score_bars,
            week_bars,
            sort: sort.to_owned(),
        },
    )
}
