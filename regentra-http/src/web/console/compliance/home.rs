//! The workspace's home (`/app/{org}/compliance`): one read of the core's
//! gap analysis (every adopted framework at once) and the recorded
//! assessments of each adopted framework, drawn as server-side SVG.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono_tz::Tz;
use regentra_core::compliance::gap::StatusTotals;

use super::{
    FeatureLink, Tab, all_assessments, control_badge, control_href, feature_of, percent, refused,
    tabs, workspace,
};
use crate::server::AppState;
use crate::web::display::Badge;
use crate::web::{Chrome, render};

use crate::web::console::{Section, Shell};

/// Controls listed under "where to start".
const START_WITH: usize = 10;
/// Assessments drawn per framework (the latest).
const HISTORY: usize = 12;

/// A horizontal bar: a framework's score.
struct ScoreBar {
    label: String,
    value: String,
    y: u32,
    text_y: u32,
    width: u32,
}

/// A framework's requirements by status, and the stacked bar drawing them.
struct StatusRow {
    name: String,
    href: String,
    totals: StatusTotals,
    /// `(class, x, width, label)` of each part of the bar (0-300).
    parts: Vec<(&'static str, u32, u32, String)>,
}

struct StartControl {
    href: String,
    key: String,
    title: String,
    badge: Badge,
    closes: usize,
}

/// One framework's recorded scores, drawn as vertical bars.
struct Progress {
    name: String,
    /// `(x, y, height, score text, date text)` per assessment.
    bars: Vec<(u32, u32, u32, String, String)>,
    width: u32,
    summary: String,
}

#[derive(Template)]
#[template(path = "web/console/compliance_home.html")]
struct HomePage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    tabs: Vec<Tab>,
    frameworks_href: String,
    assessments_href: String,
    score_bars: Vec<ScoreBar>,
    score_height: u32,
    statuses: Vec<StatusRow>,
    total: StatusTotals,
    start: Vec<StartControl>,
    progress: Vec<Progress>,
    /// The pages of the adopted frameworks that bring their own.
    features: Vec<FeatureLink>,
}

/// `GET /app/{org}/compliance`.
pub async fn page(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let analysis = match state.regentra.gap_analysis(&staff.caller, org).await {
        Ok(analysis) => analysis,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let zone = state.regentra.time_zone(org).await.unwrap_or(Tz::UTC);

    const BAR: u32 = 22;
    let score_bars: Vec<ScoreBar> = analysis
        .frameworks
        .iter()
        .enumerate()
        .map(|(i, f)| ScoreBar {
            label: f.name.clone(),
            value: percent(f.score),
            y: i as u32 * (BAR + 8),
            text_y: i as u32 * (BAR + 8) + 15,
            width: ((f.score / 100.0) * 360.0).round().max(1.0) as u32,
        })
        .collect();
    let mut total = StatusTotals::default();
    let statuses = analysis
        .frameworks
        .iter()
        .map(|f| {
            let t = f.totals;
            total.satisfied += t.satisfied;
            total.partial += t.partial;
            total.gap += t.gap;
            total.not_applicable += t.not_applicable;
            total.total += t.total;
            StatusRow {
                name: f.name.clone(),
                href: scope.path(&format!("compliance/frameworks/{}", f.framework)),
                parts: stacked(&t),
                totals: t,
            }
        })
        .collect();
    let start = analysis
        .where_to_start()
        .into_iter()
        .take(START_WITH)
        .map(|c| StartControl {
            href: control_href(&scope, &c.control),
            badge: control_badge(c.status),
            closes: c.closes,
            title: c.title,
            key: c.control,
        })
        .collect();
    let mut progress = Vec::new();
    for f in &analysis.frameworks {
        let history = match all_assessments(&state, &staff.caller, org, &f.framework).await {
            Ok(history) => history,
            Err(e) => return refused(&staff, &scope, &e),
        };
        if history.is_empty() {
            continue;
        }
        let latest = &history[history.len().saturating_sub(HISTORY)..];
        let bars: Vec<_> = latest
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let height = ((a.score / 100.0) * 100.0).round().max(1.0) as u32;
                (
                    40 + i as u32 * 52,
                    120 - height,
                    height,
                    percent(a.score),
                    a.at.with_timezone(&zone).format("%-d %b").to_string(),
                )
            })
            .collect();
        let (first, last) = (&latest[0], &latest[latest.len() - 1]);
        progress.push(Progress {
            name: f.name.clone(),
            width: 40 + bars.len() as u32 * 52,
            bars,
            summary: format!(
                "{} assessments of {}: from {} on {} to {} on {}",
                latest.len(),
                f.name,
                percent(first.score),
                first.at.with_timezone(&zone).format("%-d %b %Y"),
                percent(last.score),
                last.at.with_timezone(&zone).format("%-d %b %Y"),
            ),
        });
    }

    let features = analysis
        .frameworks
        .iter()
        .filter_map(|f| feature_of(&f.framework))
        .map(|f| f.link(&scope))
        .collect();
    let client = staff.scope_name(&scope);
    let shell = Shell::new(
        &staff,
        Some(&scope),
        Some(Section::Compliance),
        "Compliance",
    );
    render(
        StatusCode::OK,
        &HomePage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client,
            tabs: tabs(&scope, ""),
            frameworks_href: scope.path("compliance/frameworks"),
            assessments_href: scope.path("compliance/assessments"),
            score_height: (score_bars.len() as u32 * (BAR + 8)).max(BAR),
            score_bars,
            statuses,
            total,
            start,
            progress,
            features,
        },
    )
}

/// The parts of a stacked bar 300 wide: satisfied, partial, gap, out of
/// scope, each as wide as its share of the requirements.
fn stacked(t: &StatusTotals) -> Vec<(&'static str, u32, u32, String)> {
    if t.total == 0 {
        return Vec::new();
    }
    let mut x = 0;
    [
        ("bar-satisfied", t.satisfied, "satisfied"),
        ("bar-partial", t.partial, "partial"),
        ("bar-gap", t.gap, "gap"),
        ("bar-na", t.not_applicable, "out of scope"),
    ]
    .into_iter()
    .filter(|(_, n, _)| *n > 0)
    .map(|(class, n, label)| {
        let width = ((n as f64 / t.total as f64) * 300.0).round() as u32;
        let part = (class, x, width, format!("{n} {label}"));
        x += width;
        part
    })
    .collect()
}
