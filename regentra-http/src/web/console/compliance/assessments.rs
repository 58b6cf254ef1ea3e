//! Assessments: point-in-time records of each adopted framework's standing
//! (the core's `run_assessment`), listed newest first per framework, and
//! two of one framework compared (the core's `compare_assessments`): the
//! score then and now, and every requirement whose status changed.

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono_tz::Tz;
use regentra_core::Error;
use regentra_core::compliance::compare::Movement;
use regentra_core::compliance::{Adoption, compare_assessments};
use regentra_core::rbac::Permission;
use serde::Deserialize;

use super::{
    Tab, all_adoptions, all_assessments, org_allowing, percent, refused, requirement_badge, tabs,
    workspace,
};
use crate::server::AppState;
use crate::web::console::{Section, Shell, not_found_page, org_form};
use crate::web::display::{Badge, When, when};
use crate::web::{Chrome, CsrfField, render};

struct Row {
    id: String,
    when: When,
    score: String,
    satisfied: usize,
    partial: usize,
    gap: usize,
    not_applicable: usize,
    /// Checked by default: the two latest.
    from: bool,
    to: bool,
}

struct FrameworkHistory {
    key: String,
    name: String,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "web/console/compliance_assessments.html")]
struct ListPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    tabs: Vec<Tab>,
    frameworks: Vec<FrameworkHistory>,
    /// `(key, name)` of each adopted framework, for the snapshot form.
    adopted: Vec<(String, String)>,
    take: Option<String>,
    compare: String,
    csrf_field: CsrfField,
    frameworks_href: String,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    done: Option<String>,
    #[serde(default)]
    n: usize,
}

/// The org's frameworks with a name, adopted ones first: `(key, name,
/// active)` for every adoption (an unadopted framework keeps its history).
async fn adopted_frameworks(
    state: &AppState,
    caller: &regentra_core::Principal,
    org: regentra_core::ids::OrgId,
) -> Result<Vec<(String, String, bool)>, Error> {
    let catalog = state.regentra.org_catalog(caller, org).await?;
    let adoptions: Vec<Adoption> = all_adoptions(state, caller, org).await?;
    let mut frameworks: Vec<(usize, String, String, bool)> = adoptions
        .into_iter()
        .map(|a| {
            let position = catalog
                .frameworks()
                .iter()
                .position(|f| f.key == a.framework)
                .unwrap_or(usize::MAX);
            let name = catalog
                .framework(&a.framework)
                .map(|f| f.name.clone())
                .unwrap_or_else(|| a.framework.clone());
            (position, a.framework, name, a.active)
        })
        .collect();
    frameworks.sort_by_key(|(position, _, _, active)| (!*active, *position));
    Ok(frameworks
        .into_iter()
        .map(|(_, key, name, active)| (key, name, active))
        .collect())
}

/// `GET /app/{org}/compliance/assessments`.
pub async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/assessments");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let frameworks = match adopted_frameworks(&state, &staff.caller, org).await {
        Ok(frameworks) => frameworks,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let zone = state.regentra.time_zone(org).await.unwrap_or(Tz::UTC);
    let mut histories = Vec::new();
    for (key, name, _) in &frameworks {
        let mut assessments = match all_assessments(&state, &staff.caller, org, key).await {
            Ok(found) => found,
            Err(e) => return refused(&staff, &scope, &e),
        };
        if assessments.is_empty() {
            continue;
        }
        assessments.reverse();
        let rows = assessments
            .into_iter()
            .enumerate()
            .map(|(i, a)| Row {
                id: a.id.to_string(),
                when: when(a.at, zone),
                score: percent(a.score),
                satisfied: a.totals.satisfied,
                partial: a.totals.partial,
                gap: a.totals.gap,
                not_applicable: a.totals.not_applicable,
                from: i == 1,
                to: i == 0,
            })
            .collect();
        histories.push(FrameworkHistory {
            key: key.clone(),
            name: name.clone(),
            rows,
        });
    }
    let notice = match query.done.as_deref() {
        Some("taken") if query.n == 1 => Some("The assessment was recorded.".to_owned()),
        Some("taken") => Some(format!("{} assessments were recorded.", query.n)),
        _ => None,
    };
    let shell = Shell::new(
        &staff,
        Some(&scope),
        Some(Section::Compliance),
        "Assessments",
    );
    render(
        StatusCode::OK,
        &ListPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            tabs: tabs(&scope, "assessments"),
            frameworks: histories,
            adopted: frameworks
                .into_iter()
                .filter(|(_, _, active)| *active)
                .map(|(key, name, _)| (key, name))
                .collect(),
            take: staff
                .can(org, Permission::AssessmentsRun)
                .then(|| scope.path("compliance/assessments")),
            compare: scope.path("compliance/assessments/compare"),
            csrf_field: staff.csrf_field(),
            frameworks_href: scope.path("compliance/frameworks"),
            notice,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct TakeForm {
    /// A framework's key, or `all` for every adopted framework.
    #[serde(default)]
    framework: String,
}

/// `POST /app/{org}/compliance/assessments`: an assessment of one adopted
/// framework, or of each.
pub async fn take(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/assessments");
    let (staff, form, scope, org) =
        match org_form::<TakeForm>(&state, &segment, &back, request, |staff, segment| {
            org_allowing(staff, segment, Permission::AssessmentsRun)
        })
        .await
        {
            Ok(found) => found,
            Err(response) => return response,
        };
    let frameworks: Vec<String> = if form.framework == "all" {
        match adopted_frameworks(&state, &staff.caller, org).await {
            Ok(all) => all
                .into_iter()
                .filter(|(_, _, active)| *active)
                .map(|(key, _, _)| key)
                .collect(),
            Err(e) => return refused(&staff, &scope, &e),
        }
    } else {
        vec![form.framework]
    };
    let mut taken = 0;
    for framework in &frameworks {
        match state
            .regentra
            .run_assessment(&staff.caller, org, framework)
            .await
        {
            Ok(_) => taken += 1,
            // Not adopted, or no such framework: there is nothing to assess.
            Err(Error::Validation(_)) => return not_found_page(&staff, Some(&scope)),
            Err(e) => return refused(&staff, &scope, &e),
        }
    }
    Redirect::to(&format!(
        "{}?done=taken&n={taken}",
        scope.path("compliance/assessments")
    ))
    .into_response()
}

struct ChangeRow {
    requirement: String,
    title: String,
    from: Option<Badge>,
    to: Option<Badge>,
    movement: Badge,
}

#[derive(Template)]
#[template(path = "web/console/compliance_compare.html")]
struct ComparePage {
    shell: Option<Shell>,
    chrome: Chrome,
    tabs: Vec<Tab>,
    name: String,
    back: String,
    from: When,
    to: When,
    from_score: String,
    to_score: String,
    change: String,
    improved: usize,
    regressed: usize,
    /// `(label, then, now)` per status.
    totals: Vec<(&'static str, usize, usize)>,
    changes: Vec<ChangeRow>,
    statuses_known: bool,
    same: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct CompareQuery {
    #[serde(default)]
    framework: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `GET /app/{org}/compliance/assessments/compare?framework=&from=&to=`.
pub async fn compare(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<CompareQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/assessments/compare");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let history = match all_assessments(&state, &staff.caller, org, &query.framework).await {
        Ok(history) => history,
        Err(Error::Validation(_)) => return not_found_page(&staff, Some(&scope)),
        Err(e) => return refused(&staff, &scope, &e),
    };
    let pick = |id: &str| history.iter().find(|a| a.id.to_string() == id);
    let (Some(a), Some(b)) = (pick(&query.from), pick(&query.to)) else {
        return not_found_page(&staff, Some(&scope));
    };
    let comparison = match compare_assessments(a, b) {
        Ok(c) => c,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let catalog = match state.regentra.org_catalog(&staff.caller, org).await {
        Ok(catalog) => catalog,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let framework = catalog.framework(&comparison.framework);
    let name = framework
        .map(|f| f.name.clone())
        .unwrap_or_else(|| comparison.framework.clone());
    let zone = state.regentra.time_zone(org).await.unwrap_or(Tz::UTC);
    let changes = comparison
        .changes
        .iter()
        .map(|c| ChangeRow {
            title: framework
                .and_then(|f| f.requirement(&c.requirement))
                .map(|r| r.title.clone())
                .unwrap_or_default(),
            requirement: c.requirement.clone(),
            from: c.from.map(requirement_badge),
            to: c.to.map(requirement_badge),
            movement: match c.movement {
                Movement::Improved => Badge {
                    label: "Improved",
                    class: "badge-success",
                },
                Movement::Regressed => Badge {
                    label: "Regressed",
                    class: "badge-danger",
                },
                Movement::Rescoped => Badge {
                    label: "Scope changed",
                    class: "badge-info",
                },
            },
        })
        .collect();
    let (then, now) = (comparison.from_totals, comparison.to_totals);
    let title = format!("{name}: two assessments compared");
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Compliance), &title);
    render(
        StatusCode::OK,
        &ComparePage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            tabs: tabs(&scope, "assessments"),
            back: scope.path("compliance/assessments"),
            from: when(comparison.from_at, zone),
            to: when(comparison.to_at, zone),
            from_score: percent(comparison.from_score),
            to_score: percent(comparison.to_score),
            change: format!("{:+.1} points", comparison.score_change),
            improved: comparison.improved,
            regressed: comparison.regressed,
            totals: vec![
                ("Satisfied", then.satisfied, now.satisfied),
                ("Partial", then.partial, now.partial),
                ("Gap", then.gap, now.gap),
                ("Out of scope", then.not_applicable, now.not_applicable),
                ("Total", then.total, now.total),
            ],
            changes,
            statuses_known: comparison.statuses_known,
            same: comparison.from == comparison.to,
            name,
        },
    )
}
