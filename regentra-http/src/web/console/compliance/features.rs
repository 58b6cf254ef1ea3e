//! The pages a framework brings with it, each the core's own operation
//! shown for the selected client: ISO 27001's Statement of Applicability
//! (with the core's CSV as a download), CMMC's SPRS score with the plan of
//! action for what is still open, and the FTC Safeguards Rule's qualified
//! individual. HIPAA's business associate agreements are
//! [`super::agreements`]'.
//!
//! A framework that is not adopted has none of this: the core refuses
//! (its `framework` field says to adopt it first), and the page says so
//! with the way to adopt it; a form posted then is the 404 page.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use regentra_core::catalog::ControlRef;
use regentra_core::compliance::{CmmcLevel, FtcProfile, QualifiedIndividual};
use regentra_core::ids::{OrgId, UserId};
use regentra_core::rbac::Permission;
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::{
    Feature, Tab, all_adoptions, control_href, download, feature_of, org_allowing, refused,
    requirement_badge, tabs, workspace,
};
use crate::server::AppState;
use crate::web::console::{Done, org_form};
use crate::web::console::{Scope, Section, Shell, Staff, not_found_page};
use crate::web::display::Badge;
use crate::web::{Chrome, CsrfField, render};

// ---- shared by the feature pages ------------------------------------------

/// Whether the core refused because the framework is not adopted (its
/// `framework` field), rather than for anything the person typed.
pub fn not_adopted(error: &Error) -> bool {
    matches!(error, Error::Validation(errors) if errors.iter().any(|e| e.field == "framework"))
}

#[derive(Template)]
#[template(path = "web/console/compliance_feature_off.html")]
struct NotAdoptedPage {
    shell: Option<Shell>,
    chrome: Chrome,
    tabs: Vec<Tab>,
    label: &'static str,
    framework: &'static str,
    adopt_href: String,
    frameworks_href: String,
    can_adopt: bool,
}

/// The page of a feature whose framework the client has not adopted: what
/// it belongs to and, for those who may, the way to adopt it.
pub fn not_adopted_page(staff: &Staff, scope: &Scope, org: OrgId, feature: &Feature) -> Response {
    let shell = Shell::new(staff, Some(scope), Some(Section::Compliance), feature.label);
    render(
        StatusCode::OK,
        &NotAdoptedPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            tabs: tabs(scope, "frameworks"),
            label: feature.label,
            framework: feature.framework_name,
            adopt_href: format!(
                "{}#{}",
                scope.path("compliance/frameworks"),
                feature.framework
            ),
            frameworks_href: scope.path("compliance/frameworks"),
            can_adopt: staff.can(org, Permission::FrameworksAdopt),
        },
    )
}

/// The feature of `framework` (one of [`super::FEATURES`]).
fn feature(framework: &str) -> &'static Feature {
    feature_of(framework).unwrap_or(&super::FEATURES[0])
}

/// A common control as the feature pages link it.
struct ControlLink {
    key: String,
    title: String,
    href: String,
}

fn control_links(scope: &Scope, controls: &[ControlRef]) -> Vec<ControlLink> {
    controls
        .iter()
        .map(|c| ControlLink {
            href: control_href(scope, &c.key),
            key: c.key.clone(),
            title: c.title.clone(),
        })
        .collect()
}

/// A date as the feature pages write it, with its ISO form for `<time>`.
#[derive(Debug)]
pub struct Day {
    pub iso: String,
    pub text: String,
}

pub fn day(date: NaiveDate) -> Day {
    Day {
        iso: date.format("%Y-%m-%d").to_string(),
        text: date.format("%-d %b %Y").to_string(),
    }
}

/// A date field as typed: empty is none; anything else must read as a
/// date (what a browser's date input sends), else the field's error.
pub fn parse_day(field: &str, typed: &str) -> Result<Option<NaiveDate>, FieldError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(typed, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| FieldError::new(field, "enter a date such as 2026-03-31"))
}

// ---- ISO 27001: the Statement of Applicability ----------------------------

struct SoaRow {
    control: String,
    title: String,
    applicable: bool,
    justification: Option<String>,
    implementation: Badge,
    controls: Vec<ControlLink>,
}

/// The Annex A controls of one theme, in the catalog's order.
struct Theme {
    /// The catalog's key, which groups the rows.
    name: String,
    /// Its heading, as the standard words it.
    title: String,
    slug: String,
    rows: Vec<SoaRow>,
}

#[derive(Template)]
#[template(path = "web/console/compliance_soa.html")]
struct SoaPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    tabs: Vec<Tab>,
    themes: Vec<Theme>,
    total: usize,
    applicable: usize,
    excluded: usize,
    implemented: usize,
    csv_href: String,
    exclusions_href: String,
    gap_href: String,
    frameworks_href: String,
}

/// `GET /app/{org}/compliance/soa`.
pub async fn soa(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/soa");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let entries = match state
        .regentra
        .statement_of_applicability(&staff.caller, org)
        .await
    {
        Ok(entries) => entries,
        Err(e) if not_adopted(&e) => {
            return not_adopted_page(&staff, &scope, org, feature("iso27001"));
        }
        Err(e) => return refused(&staff, &scope, &e),
    };
    let applicable = entries.iter().filter(|e| e.applicable).count();
    let implemented = entries
        .iter()
        .filter(|e| e.implementation == regentra_core::compliance::RequirementStatus::Satisfied)
        .count();
    let mut themes: Vec<Theme> = Vec::new();
    for e in &entries {
        let row = SoaRow {
            control: e.control.clone(),
            title: e.title.clone(),
            applicable: e.applicable,
            justification: e.justification.clone(),
            implementation: requirement_badge(e.implementation),
            controls: control_links(&scope, &e.common_controls),
        };
        match themes.last_mut() {
            Some(theme) if theme.name == e.theme => theme.rows.push(row),
            _ => themes.push(Theme {
                slug: slug(&e.theme),
                title: theme_title(&e.theme),
                name: e.theme.clone(),
                rows: vec![row],
            }),
        }
    }
    let shell = Shell::new(
        &staff,
        Some(&scope),
        Some(Section::Compliance),
        "Statement of Applicability",
    );
    render(
        StatusCode::OK,
        &SoaPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            tabs: tabs(&scope, "frameworks"),
            total: entries.len(),
            excluded: entries.len() - applicable,
            applicable,
            implemented,
            themes,
            csv_href: scope.path("compliance/soa/export"),
            exclusions_href: format!("{}#iso27001-scoping", scope.path("compliance/frameworks")),
            gap_href: scope.path("compliance/frameworks/iso27001"),
            frameworks_href: scope.path("compliance/frameworks"),
        },
    )
}

/// A theme as ISO/IEC 27001:2022 heads it in Annex A, from the catalog's
/// key for it.
fn theme_title(theme: &str) -> String {
    match theme {
        "organizational" => "Organizational controls (A.5)".to_owned(),
        "people" => "People controls (A.6)".to_owned(),
        "physical" => "Physical controls (A.7)".to_owned(),
        "technological" => "Technological controls (A.8)".to_owned(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// A theme's name as an element id.
fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("theme-{slug}")
}

/// `GET /app/{org}/compliance/soa/export`: the core's CSV as a download.
pub async fn soa_csv(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/soa/export");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state
        .regentra
        .statement_of_applicability_csv(&staff.caller, org)
        .await
    {
        Ok(csv) => download(
            "text/csv; charset=utf-8",
            "statement-of-applicability.csv",
            csv,
        ),
        // No framework, no file to download.
        Err(e) if not_adopted(&e) => not_found_page(&staff, Some(&scope)),
        Err(e) => refused(&staff, &scope, &e),
    }
}

// ---- CMMC: the SPRS score and the plan of action --------------------------

struct PlanRow {
    requirement: String,
    title: String,
    badge: Badge,
    points: i32,
    controls: Vec<ControlLink>,
}

#[derive(Template)]
#[template(path = "web/console/compliance_sprs.html")]
struct SprsPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    tabs: Vec<Tab>,
    score: i32,
    max: i32,
    met: usize,
    assessed: usize,
    system_security_plan: bool,
    /// `Level 1`, `Level 2`, or none until set on the frameworks page.
    target: Option<&'static str>,
    partial_credit: Vec<&'static str>,
    plan: Vec<PlanRow>,
    points_open: i32,
    settings_href: String,
    gap_href: String,
    frameworks_href: String,
}

/// `GET /app/{org}/compliance/sprs`.
pub async fn sprs(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/sprs");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let score = match state.regentra.sprs_score(&staff.caller, org).await {
        Ok(score) => score,
        Err(e) if not_adopted(&e) => {
            return not_adopted_page(&staff, &scope, org, feature("cmmc"));
        }
        Err(e) => return refused(&staff, &scope, &e),
    };
    // The target level and the partial-credit facts are the adoption's
    // settings (set on the frameworks page).
    let profile = match all_adoptions(&state, &staff.caller, org).await {
        Ok(adoptions) => adoptions
            .into_iter()
            .find(|a| a.framework == "cmmc" && a.active)
            .and_then(|a| a.settings.cmmc),
        Err(e) => return refused(&staff, &scope, &e),
    };
    let mut partial_credit = Vec::new();
    if profile.as_ref().is_some_and(|p| p.mfa_partial) {
        partial_credit.push("3.5.3 counts 3 points: MFA covers remote and privileged access");
    }
    if profile
        .as_ref()
        .is_some_and(|p| p.encryption_not_fips_validated)
    {
        partial_credit.push("3.13.11 counts 3 points: encryption is used but not FIPS-validated");
    }
    let plan: Vec<PlanRow> = score
        .plan_of_action
        .iter()
        .map(|item| PlanRow {
            requirement: item.requirement.clone(),
            title: item.title.clone(),
            badge: requirement_badge(item.status),
            points: item.points,
            controls: control_links(&scope, &item.controls),
        })
        .collect();
    let shell = Shell::new(
        &staff,
        Some(&scope),
        Some(Section::Compliance),
        "SPRS score and plan of action",
    );
    render(
        StatusCode::OK,
        &SprsPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            tabs: tabs(&scope, "frameworks"),
            score: score.score,
            max: score.max,
            met: score.met,
            assessed: score.assessed,
            system_security_plan: score.system_security_plan,
            target: profile.map(|p| match p.target_level {
                CmmcLevel::L1 => "Level 1 (Foundational)",
                CmmcLevel::L2 => "Level 2 (Advanced)",
            }),
            partial_credit,
            points_open: plan.iter().map(|p| p.points).sum(),
            plan,
            settings_href: format!("{}#cmmc", scope.path("compliance/frameworks")),
            gap_href: scope.path("compliance/frameworks/cmmc"),
            frameworks_href: scope.path("compliance/frameworks"),
        },
    )
}

// ---- FTC Safeguards: the qualified individual -----------------------------

/// The qualified individual form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct QualifiedForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    employer: String,
    /// A member's user id, or empty for someone without an account.
    #[serde(default)]
    user: String,
    #[serde(default)]
    designated_on: String,
}

/// A person who may be the qualified individual's account.
struct Account {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "web/console/compliance_ftc.html")]
struct FtcPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    tabs: Vec<Tab>,
    current: Option<Designated>,
    small_institution: bool,
    manage: bool,
    form: QualifiedForm,
    accounts: Vec<Account>,
    errors: BTreeMap<String, String>,
    notice: Option<String>,
    csrf_field: CsrfField,
    action: String,
    settings_href: String,
    gap_href: String,
    frameworks_href: String,
}

impl FtcPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// The qualified individual as the page shows them.
struct Designated {
    name: String,
    title: String,
    employer: Option<String>,
    account: Option<String>,
    designated_on: Day,
}

/// The FTC Safeguards profile of the org, if the framework is adopted.
async fn ftc_profile(
    state: &AppState,
    staff: &Staff,
    org: OrgId,
) -> Result<Option<FtcProfile>, Error> {
    Ok(all_adoptions(state, &staff.caller, org)
        .await?
        .into_iter()
        .find(|a| a.framework == "ftc-safeguards" && a.active)
        .map(|a| {
            a.settings.ftc.unwrap_or(FtcProfile {
                qualified_individual: None,
                small_institution: false,
            })
        }))
}

/// `GET /app/{org}/compliance/ftc`.
pub async fn ftc(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/ftc");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = query.notice(&[("saved", "The qualified individual was saved.")]);
    show_ftc(&state, &staff, &scope, org, None, Vec::new(), notice).await
}

async fn show_ftc(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    typed: Option<QualifiedForm>,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> Response {
    let profile = match ftc_profile(state, staff, org).await {
        Ok(Some(profile)) => profile,
        Ok(None) => return not_adopted_page(staff, scope, org, feature("ftc-safeguards")),
        Err(e) => return refused(staff, scope, &e),
    };
    let people = state
        .regentra
        .control_owners(&staff.caller, org)
        .await
        .unwrap_or_default();
    let qi = profile.qualified_individual.as_ref();
    let form = typed.unwrap_or_else(|| QualifiedForm {
        name: qi.map(|q| q.name.clone()).unwrap_or_default(),
        title: qi.map(|q| q.title.clone()).unwrap_or_default(),
        employer: qi.and_then(|q| q.employer.clone()).unwrap_or_default(),
        user: qi
            .and_then(|q| q.user)
            .map(|u| u.to_string())
            .unwrap_or_default(),
        designated_on: qi
            .map(|q| q.designated_on)
            .unwrap_or_else(|| state.regentra.now().date_naive())
            .format("%Y-%m-%d")
            .to_string(),
    });
    let current = qi.map(|q| Designated {
        name: q.name.clone(),
        title: q.title.clone(),
        employer: q.employer.clone(),
        account: q.user.map(|u| {
            people
                .iter()
                .find(|p| p.user == u)
                .map(|p| format!("{} ({})", p.name, p.email))
                .unwrap_or_else(|| "an account that is no longer a member".to_owned())
        }),
        designated_on: day(q.designated_on),
    });
    let accounts = people
        .iter()
        .map(|p| Account {
            id: p.user.to_string(),
            selected: form.user == p.user.to_string(),
            name: format!("{} ({})", p.name, p.email),
        })
        .collect();
    let shell = Shell::new(
        staff,
        Some(scope),
        Some(Section::Compliance),
        "Qualified individual",
    );
    render(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        &FtcPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(scope),
            tabs: tabs(scope, "frameworks"),
            current,
            small_institution: profile.small_institution,
            manage: staff.can(org, Permission::FrameworksAdopt),
            form,
            accounts,
            errors: errors.into_iter().map(|e| (e.field, e.message)).collect(),
            notice,
            csrf_field: staff.csrf_field(),
            action: scope.path("compliance/ftc"),
            settings_href: format!("{}#ftc-safeguards", scope.path("compliance/frameworks")),
            gap_href: scope.path("compliance/frameworks/ftc-safeguards"),
            frameworks_href: scope.path("compliance/frameworks"),
        },
    )
}

/// `POST /app/{org}/compliance/ftc`: designates the qualified individual,
/// keeping the small-institution exemption as the frameworks page set it.
pub async fn set_qualified_individual(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/ftc");
    let (staff, form, scope, org) =
        match org_form::<QualifiedForm>(&state, &segment, &back, request, |staff, segment| {
            org_allowing(staff, segment, Permission::FrameworksAdopt)
        })
        .await
        {
            Ok(found) => found,
            Err(response) => return response,
        };
    let mut errors = Vec::new();
    let designated_on = match parse_day("designated_on", &form.designated_on) {
        Ok(Some(date)) => Some(date),
        Ok(None) => {
            errors.push(FieldError::new(
                "designated_on",
                "enter the date they were designated",
            ));
            None
        }
        Err(e) => {
            errors.push(e);
            None
        }
    };
    // The account, if any, is one of the client's people.
    let user = match form.user.trim() {
        "" => None,
        typed => {
            let people = match state.regentra.control_owners(&staff.caller, org).await {
                Ok(people) => people,
                Err(e) => return refused(&staff, &scope, &e),
            };
            match typed.parse::<uuid::Uuid>().map(UserId) {
                Ok(id) if people.iter().any(|p| p.user == id) => Some(id),
                _ => {
                    errors.push(FieldError::new("user", "choose a member of this client"));
                    None
                }
            }
        }
    };
    for (field, value) in [("name", &form.name), ("title", &form.title)] {
        if value.trim().is_empty() {
            errors.push(FieldError::new(field, format!("enter their {field}")));
        }
    }
    let (Some(designated_on), true) = (designated_on, errors.is_empty()) else {
        return show_ftc(&state, &staff, &scope, org, Some(form), errors, None).await;
    };
    let employer = form.employer.trim();
    let individual = QualifiedIndividual {
        name: form.name.trim().to_owned(),
        title: form.title.trim().to_owned(),
        user,
        employer: (!employer.is_empty()).then(|| employer.to_owned()),
        designated_on,
    };
    match state
        .regentra
        .set_qualified_individual(&staff.caller, org, Some(individual))
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("{}?done=saved", scope.path("compliance/ftc"))).into_response()
        }
        Err(e) if not_adopted(&e) => not_found_page(&staff, Some(&scope)),
        Err(Error::Validation(errors)) => {
            // The core names the fields inside the profile.
            let errors = errors
                .into_iter()
                .map(|e| {
                    let field = e.field.strip_prefix("qualified_individual.");
                    FieldError::new(field.unwrap_or(&e.field), e.message.clone())
                })
                .collect();
            show_ftc(&state, &staff, &scope, org, Some(form), errors, None).await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}
