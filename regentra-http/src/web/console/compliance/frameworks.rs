//! The frameworks of the workspace: every framework of the org's catalog,
//! adopted or not, with adopt and unadopt (after a page saying the data is
//! kept) and each adopted framework's scope settings; one framework's gap
//! analysis by section with the controls behind each requirement; and its
//! report as a JSON, CSV or Markdown download.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use regentra_core::catalog::Catalog;
use regentra_core::compliance::report::ReportFormat;
use regentra_core::compliance::{
    Adoption, CmmcLevel, CmmcProfile, PciAppendix, PciEntity, RequirementStatus,
    TrustServicesCategory,
};
use regentra_core::ids::OrgId;
use regentra_core::rbac::Permission;
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::{
    FeatureLink, Tab, all_adoptions, control_href, download, feature_of, org_allowing, percent,
    refused, requirement_badge, tabs, workspace,
};
use crate::server::AppState;
use crate::web::console::confirm::{self, Confirmation, Confirmed, Consequence};
use crate::web::console::{Done, org_form};
use crate::web::console::{Scope, Section, Shell, Staff, not_found_page};
use crate::web::display::Badge;
use crate::web::{Chrome, CsrfField, render};

// ---- the frameworks page ------------------------------------------------

/// The scope settings of an adopted framework, as its form shows them.
#[derive(Default)]
struct Settings {
    /// `soc2`, `pci`, `cmmc`, `ftc`, or empty for a framework without any.
    kind: &'static str,
    availability: bool,
    confidentiality: bool,
    processing_integrity: bool,
    privacy: bool,
    a1: bool,
    a2: bool,
    a3: bool,
    /// `merchant_only`, `service_provider`, or empty until declared.
    entity: String,
    level: String,
    mfa_partial: bool,
    fips: bool,
    small_institution: bool,
    qualified_individual: Option<String>,
}

/// A requirement scoped out, with why.
struct ScopedOut {
    id: String,
    title: String,
    justification: String,
}

struct Card {
    key: String,
    name: String,
    title: String,
    version: String,
    requirements: usize,
    adopted: bool,
    /// Adopted once and unadopted since: adopting brings its data back.
    kept: bool,
    score: Option<String>,
    gap_href: String,
    /// The framework's own page (its BAA register, SoA ...), once adopted.
    feature: Option<FeatureLink>,
    settings: Settings,
    scoped_out: Vec<ScopedOut>,
    /// The problems of this card's last form, by field.
    errors: BTreeMap<String, String>,
    /// What was typed in the scoping form, kept when it failed.
    typed_requirement: String,
    typed_justification: String,
}

impl Card {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

#[derive(Template)]
#[template(path = "web/console/compliance_frameworks.html")]
struct FrameworksPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    tabs: Vec<Tab>,
    cards: Vec<Card>,
    manage: bool,
    csrf_field: CsrfField,
    base: String,
    notice: Option<String>,
}

/// A failed form of one framework's card: its problems and what was typed.
struct Failure {
    framework: String,
    errors: Vec<FieldError>,
    requirement: String,
    justification: String,
}

/// `GET /app/{org}/compliance/frameworks`.
pub async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/frameworks");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = query.notice(&[
        (
            "adopted",
            "Adopted. Its requirements now count in the gap analysis.",
        ),
        (
            "unadopted",
            "Unadopted. Its controls, evidence, scoping and settings are kept for when you adopt it again.",
        ),
        ("settings", "The scope settings were saved."),
        ("scoped_out", "The requirement is out of scope."),
        ("scoped_in", "The requirement is back in scope."),
    ]);
    show(&state, &staff, &scope, org, notice, None).await
}

async fn show(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    notice: Option<String>,
    failure: Option<Failure>,
) -> Response {
    let catalog = match state.regentra.org_catalog(&staff.caller, org).await {
        Ok(catalog) => catalog,
        Err(e) => return refused(staff, scope, &e),
    };
    let adoptions = match all_adoptions(state, &staff.caller, org).await {
        Ok(adoptions) => adoptions,
        Err(e) => return refused(staff, scope, &e),
    };
    let analysis = match state.regentra.gap_analysis(&staff.caller, org).await {
        Ok(analysis) => analysis,
        Err(e) => return refused(staff, scope, &e),
    };
    let cards = catalog
        .frameworks()
        .iter()
        .map(|f| {
            let adoption = adoptions.iter().find(|a| a.framework == f.key);
            let adopted = adoption.is_some_and(|a| a.active);
            let failed = failure.as_ref().filter(|x| x.framework == f.key);
            Card {
                key: f.key.clone(),
                name: f.name.clone(),
                title: f.title.clone(),
                version: f.version.clone(),
                requirements: f.assessable().count(),
                adopted,
                kept: adoption.is_some_and(|a| !a.active),
                score: analysis.framework(&f.key).map(|g| percent(g.score)),
                gap_href: scope.path(&format!("compliance/frameworks/{}", f.key)),
                feature: feature_of(&f.key)
                    .filter(|_| adopted)
                    .map(|feature| feature.link(scope)),
                settings: adoption
                    .filter(|a| a.active)
                    .map(settings_of)
                    .unwrap_or_default(),
                scoped_out: adoption
                    .filter(|a| a.active)
                    .map(|a| scoped_out(&catalog, a))
                    .unwrap_or_default(),
                errors: failed
                    .map(|x| {
                        x.errors
                            .iter()
                            .map(|e| (e.field.clone(), e.message.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
                typed_requirement: failed.map(|x| x.requirement.clone()).unwrap_or_default(),
                typed_justification: failed.map(|x| x.justification.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let shell = Shell::new(staff, Some(scope), Some(Section::Compliance), "Frameworks");
    render(
        if failure.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &FrameworksPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(scope),
            tabs: tabs(scope, "frameworks"),
            cards,
            manage: staff.can(org, Permission::FrameworksAdopt),
            csrf_field: staff.csrf_field(),
            base: scope.path("compliance/frameworks"),
            notice,
        },
    )
}

fn settings_of(adoption: &Adoption) -> Settings {
    let s = &adoption.settings;
    let categories = s.trust_services_categories.clone().unwrap_or_default();
    let appendices = s.pci_appendices.clone().unwrap_or_default();
    let kind = match adoption.framework.as_str() {
        "soc2" => "soc2",
        "pci-dss" => "pci",
        "cmmc" => "cmmc",
        "ftc-safeguards" => "ftc",
        _ => "",
    };
    Settings {
        kind,
        availability: categories.contains(&TrustServicesCategory::Availability),
        confidentiality: categories.contains(&TrustServicesCategory::Confidentiality),
        processing_integrity: categories.contains(&TrustServicesCategory::ProcessingIntegrity),
        privacy: categories.contains(&TrustServicesCategory::Privacy),
        a1: appendices.contains(&PciAppendix::A1),
        a2: appendices.contains(&PciAppendix::A2),
        a3: appendices.contains(&PciAppendix::A3),
        entity: match s.pci_entity {
            Some(PciEntity::MerchantOnly) => "merchant_only",
            Some(PciEntity::ServiceProvider) => "service_provider",
            None => "",
        }
        .to_owned(),
        level: match s.cmmc.as_ref().map(|c| c.target_level) {
            Some(CmmcLevel::L1) => "L1",
            Some(CmmcLevel::L2) => "L2",
            None => "",
        }
        .to_owned(),
        mfa_partial: s.cmmc.as_ref().is_some_and(|c| c.mfa_partial),
        fips: s
            .cmmc
            .as_ref()
            .is_some_and(|c| c.encryption_not_fips_validated),
        small_institution: s.ftc.as_ref().is_some_and(|f| f.small_institution),
        qualified_individual: s
            .ftc
            .as_ref()
            .and_then(|f| f.qualified_individual.as_ref())
            .map(|q| format!("{}, {}", q.name, q.title)),
    }
}

fn scoped_out(catalog: &Catalog, adoption: &Adoption) -> Vec<ScopedOut> {
    let framework = catalog.framework(&adoption.framework);
    adoption
        .scoped_out
        .iter()
        .map(|(id, why)| ScopedOut {
            title: framework
                .and_then(|f| f.requirement(id))
                .map(|r| r.title.clone())
                .unwrap_or_default(),
            id: id.clone(),
            justification: why.clone(),
        })
        .collect()
}

/// `POST /app/{org}/compliance/frameworks/{framework}/adopt`.
pub async fn adopt(
    State(state): State<AppState>,
    Path((segment, framework)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/frameworks");
    let (staff, _, scope, org) =
        match org_form::<Confirmed>(&state, &segment, &back, request, |staff, segment| {
            org_allowing(staff, segment, Permission::FrameworksAdopt)
        })
        .await
        {
            Ok(found) => found,
            Err(response) => return response,
        };
    match state
        .regentra
        .adopt_framework(&staff.caller, org, &framework)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "{}?done=adopted",
            scope.path("compliance/frameworks")
        ))
        .into_response(),
        // A framework that is not in the catalog names nothing here.
        Err(Error::Validation(_)) => not_found_page(&staff, Some(&scope)),
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `GET /app/{org}/compliance/frameworks/{framework}/unadopt`: what
/// unadopting does (and keeps), and the button.
pub async fn unadopt_page(
    State(state): State<AppState>,
    Path((segment, framework)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/frameworks/{framework}/unadopt");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !staff.can(org, Permission::FrameworksAdopt) {
        return not_found_page(&staff, Some(&scope));
    }
    let gaps = match state
        .regentra
        .framework_gap_analysis(&staff.caller, org, &framework)
        .await
    {
        Ok(gaps) => gaps,
        Err(e) => return refused(&staff, &scope, &e),
    };
    confirm::page(
        &staff,
        &scope,
        Section::Compliance,
        Confirmation {
            question: format!("Unadopt {}?", gaps.name),
            back: scope.path("compliance/frameworks"),
            back_label: "Frameworks".into(),
            consequences: vec![
                Consequence::says(format!(
                    "{} leaves the gap analysis, the overview and new assessments.",
                    gaps.name
                )),
                Consequence::led(
                    "Nothing is deleted.",
                    "The controls and their evidence stay (other frameworks may use them), \
                     and so do this framework’s scoping decisions, its settings and its \
                     past assessments. Adopt it again and everything comes back as it was.",
                ),
            ],
            action: scope.path(&format!("compliance/frameworks/{}/unadopt", gaps.framework)),
            button: format!("Unadopt {}", gaps.name),
            cancel: "Keep it adopted".into(),
        },
    )
}

/// `POST /app/{org}/compliance/frameworks/{framework}/unadopt`.
pub async fn unadopt(
    State(state): State<AppState>,
    Path((segment, framework)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/frameworks/{framework}/unadopt");
    let (staff, _, scope, org) =
        match org_form::<Confirmed>(&state, &segment, &back, request, |staff, segment| {
            org_allowing(staff, segment, Permission::FrameworksAdopt)
        })
        .await
        {
            Ok(found) => found,
            Err(response) => return response,
        };
    match state
        .regentra
        .unadopt_framework(&staff.caller, org, &framework)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "{}?done=unadopted",
            scope.path("compliance/frameworks")
        ))
        .into_response(),
        // Not adopted (any more): nothing to unadopt here.
        Err(Error::Validation(_)) => not_found_page(&staff, Some(&scope)),
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// The scope settings form; each framework reads its own fields (an
/// unchecked box is absent).
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    availability: Option<String>,
    confidentiality: Option<String>,
    processing_integrity: Option<String>,
    privacy: Option<String>,
    a1: Option<String>,
    a2: Option<String>,
    a3: Option<String>,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    level: String,
    mfa_partial: Option<String>,
    fips: Option<String>,
    small_institution: Option<String>,
}

/// `POST /app/{org}/compliance/frameworks/{framework}/settings`.
pub async fn settings(
    State(state): State<AppState>,
    Path((segment, framework)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/frameworks");
    let (staff, form, scope, org) =
        match org_form::<SettingsForm>(&state, &segment, &back, request, |staff, segment| {
            org_allowing(staff, segment, Permission::FrameworksAdopt)
        })
        .await
        {
            Ok(found) => found,
            Err(response) => return response,
        };
    let r = &state.regentra;
    let caller = &staff.caller;
    let outcome = match framework.as_str() {
        "soc2" => {
            let categories: BTreeSet<TrustServicesCategory> = [
                (&form.availability, TrustServicesCategory::Availability),
                (
                    &form.confidentiality,
                    TrustServicesCategory::Confidentiality,
                ),
                (
                    &form.processing_integrity,
                    TrustServicesCategory::ProcessingIntegrity,
                ),
                (&form.privacy, TrustServicesCategory::Privacy),
            ]
            .into_iter()
            .filter(|(on, _)| on.is_some())
            .map(|(_, c)| c)
            .collect();
            r.set_trust_services_categories(caller, org, categories)
                .await
                .map(|_| ())
        }
        "pci-dss" => {
            let entity = match form.entity.as_str() {
                "merchant_only" => Some(PciEntity::MerchantOnly),
                "service_provider" => Some(PciEntity::ServiceProvider),
                "" => None,
                _ => {
                    return failed_form(
                        &state,
                        &staff,
                        &scope,
                        org,
                        &framework,
                        Error::invalid("entity", "choose merchant only or service provider"),
                    )
                    .await;
                }
            };
            let appendices: BTreeSet<PciAppendix> = [
                (&form.a1, PciAppendix::A1),
                (&form.a2, PciAppendix::A2),
                (&form.a3, PciAppendix::A3),
            ]
            .into_iter()
            .filter(|(on, _)| on.is_some())
            .map(|(_, a)| a)
            .collect();
            let set = r.set_pci_appendices(caller, org, appendices).await;
            match (set, entity) {
                (Ok(_), Some(entity)) => r.set_pci_entity(caller, org, entity).await.map(|_| ()),
                (set, _) => set.map(|_| ()),
            }
        }
        "cmmc" => {
            let target_level = match form.level.as_str() {
                "L1" => CmmcLevel::L1,
                "L2" => CmmcLevel::L2,
                _ => {
                    return failed_form(
                        &state,
                        &staff,
                        &scope,
                        org,
                        &framework,
                        Error::invalid("level", "choose the target level: Level 1 or Level 2"),
                    )
                    .await;
                }
            };
            r.set_cmmc_profile(
                caller,
                org,
                CmmcProfile {
                    target_level,
                    mfa_partial: form.mfa_partial.is_some(),
                    encryption_not_fips_validated: form.fips.is_some(),
                },
            )
            .await
            .map(|_| ())
        }
        // The exemption only: the qualified individual, set on the
        // framework's own page, stays as it is at the commit.
        "ftc-safeguards" => r
            .set_ftc_small_institution(caller, org, form.small_institution.is_some())
            .await
            .map(|_| ()),
        _ => return not_found_page(&staff, Some(&scope)),
    };
    match outcome {
        Ok(()) => Redirect::to(&format!(
            "{}?done=settings#{framework}",
            scope.path("compliance/frameworks")
        ))
        .into_response(),
        Err(e @ Error::Validation(_)) => {
            failed_form(&state, &staff, &scope, org, &framework, e).await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// The frameworks page again with a form's problems by its fields.
async fn failed_form(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    framework: &str,
    error: Error,
) -> Response {
    let Error::Validation(errors) = error else {
        return refused(staff, scope, &error);
    };
    let failure = Failure {
        framework: framework.to_owned(),
        errors,
        requirement: String::new(),
        justification: String::new(),
    };
    show(state, staff, scope, org, None, Some(failure)).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ScopeForm {
    #[serde(default)]
    requirement: String,
    #[serde(default)]
    justification: String,
    /// `in` brings the requirement back; anything else scopes it out.
    #[serde(default)]
    action: String,
}

/// `POST /app/{org}/compliance/frameworks/{framework}/scope`: a
/// requirement out of scope with its justification (an ISO 27001
/// exclusion), or back in.
pub async fn scope_requirement(
    State(state): State<AppState>,
    Path((segment, framework)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/frameworks");
    let (staff, form, scope, org) =
        match org_form::<ScopeForm>(&state, &segment, &back, request, |staff, segment| {
            org_allowing(staff, segment, Permission::FrameworksAdopt)
        })
        .await
        {
            Ok(found) => found,
            Err(response) => return response,
        };
    let back_in = form.action == "in";
    let justification = (!back_in).then_some(form.justification.as_str());
    let requirement = form.requirement.trim();
    let outcome = if requirement.is_empty() {
        Err(Error::invalid("requirement", "name the requirement"))
    } else {
        state
            .regentra
            .scope_requirement(&staff.caller, org, &framework, requirement, justification)
            .await
    };
    match outcome {
        Ok(_) => Redirect::to(&format!(
            "{}?done={}#{framework}",
            scope.path("compliance/frameworks"),
            if back_in { "scoped_in" } else { "scoped_out" }
        ))
        .into_response(),
        Err(Error::Validation(errors)) => {
            let failure = Failure {
                framework: framework.clone(),
                errors,
                requirement: form.requirement,
                justification: form.justification,
            };
            show(&state, &staff, &scope, org, None, Some(failure)).await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

// ---- one framework's gap analysis ---------------------------------------

/// A control behind a requirement, and whether it counts yet.
struct ControlLink {
    href: String,
    title: String,
    counts: bool,
}

struct RequirementRow {
    id: String,
    title: String,
    badge: Badge,
    justification: Option<String>,
    controls: Vec<ControlLink>,
}

struct SectionBlock {
    id: String,
    title: String,
    score: String,
    satisfied: usize,
    in_scope: usize,
    requirements: Vec<RequirementRow>,
}

/// A status filter above the requirements, with its count.
struct StatusTab {
    label: &'static str,
    href: String,
    count: usize,
    current: bool,
}

#[derive(Template)]
#[template(path = "web/console/compliance_gap.html")]
struct GapPage {
    shell: Option<Shell>,
    chrome: Chrome,
    tabs: Vec<Tab>,
    name: String,
    version: String,
    score: String,
    satisfied: usize,
    in_scope: usize,
    sections: Vec<SectionBlock>,
    filters: Vec<StatusTab>,
    exports: Vec<(&'static str, String)>,
    frameworks_href: String,
    filtered: bool,
    feature: Option<FeatureLink>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GapQuery {
    /// `gap`, `partial`, `satisfied`, `not_applicable`; else every one.
    #[serde(default)]
    status: String,
}

/// `GET /app/{org}/compliance/frameworks/{framework}`.
pub async fn gaps(
    State(state): State<AppState>,
    Path((segment, framework)): Path<(String, String)>,
    Query(query): Query<GapQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/frameworks/{framework}");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let gaps = match state
        .regentra
        .framework_gap_analysis(&staff.caller, org, &framework)
        .await
    {
        Ok(gaps) => gaps,
        // A framework not in the catalog is a page that does not exist.
        Err(Error::Validation(_)) => return not_found_page(&staff, Some(&scope)),
        Err(e) => return refused(&staff, &scope, &e),
    };
    let here = scope.path(&format!("compliance/frameworks/{}", gaps.framework));
    let wanted = [
        RequirementStatus::Gap,
        RequirementStatus::Partial,
        RequirementStatus::Satisfied,
        RequirementStatus::NotApplicable,
    ]
    .into_iter()
    .find(|s| s.key() == query.status);
    let count = |s: RequirementStatus| gaps.requirements.iter().filter(|r| r.status == s).count();
    let mut filters = vec![StatusTab {
        label: "All",
        href: here.clone(),
        count: gaps.requirements.len(),
        current: wanted.is_none(),
    }];
    for (label, status) in [
        ("Gaps", RequirementStatus::Gap),
        ("Partial", RequirementStatus::Partial),
        ("Satisfied", RequirementStatus::Satisfied),
        ("Out of scope", RequirementStatus::NotApplicable),
    ] {
        filters.push(StatusTab {
            label,
            href: format!("{here}?status={}", status.key()),
            count: count(status),
            current: wanted == Some(status),
        });
    }
    let sections = gaps
        .sections
        .iter()
        .map(|s| SectionBlock {
            id: s.id.clone(),
            title: s.title.clone(),
            score: percent(s.score),
            satisfied: s.totals.satisfied,
            in_scope: s.totals.total - s.totals.not_applicable,
            requirements: gaps
                .requirements
                .iter()
                .filter(|r| r.section == s.id && wanted.is_none_or(|w| r.status == w))
                .map(|r| RequirementRow {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    badge: requirement_badge(r.status),
                    justification: r.justification.clone(),
                    controls: r
                        .controls
                        .iter()
                        .map(|c| ControlLink {
                            href: control_href(&scope, c),
                            title: gaps.control_titles.get(c).cloned().unwrap_or(c.clone()),
                            counts: !r.missing.contains(c),
                        })
                        .collect(),
                })
                .collect(),
        })
        .filter(|s| wanted.is_none() || !s.requirements.is_empty())
        .collect();
    let exports = [("JSON", "json"), ("CSV", "csv"), ("Markdown", "markdown")]
        .into_iter()
        .map(|(label, format)| (label, format!("{here}/export?format={format}")))
        .collect();
    let shell = Shell::new(
        &staff,
        Some(&scope),
        Some(Section::Compliance),
        &format!("{} gap analysis", gaps.name),
    );
    render(
        StatusCode::OK,
        &GapPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            tabs: tabs(&scope, "frameworks"),
            score: percent(gaps.score),
            satisfied: gaps.totals.satisfied,
            in_scope: gaps.totals.total - gaps.totals.not_applicable,
            name: gaps.name,
            version: gaps.version,
            sections,
            filters,
            exports,
            frameworks_href: scope.path("compliance/frameworks"),
            filtered: wanted.is_some(),
            feature: feature_of(&gaps.framework).map(|f| f.link(&scope)),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
}

/// `GET /app/{org}/compliance/frameworks/{framework}/export?format=`: the
/// core's gap report as a download.
pub async fn export(
    State(state): State<AppState>,
    Path((segment, framework)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/frameworks/{framework}/export");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (format, extension) = match query.format.as_str() {
        "json" => (ReportFormat::Json, "json"),
        "csv" => (ReportFormat::Csv, "csv"),
        "markdown" | "md" => (ReportFormat::Markdown, "md"),
        _ => return not_found_page(&staff, Some(&scope)),
    };
    match state
        .regentra
        .gap_report(&staff.caller, org, &framework, format)
        .await
    {
        Ok(body) => download(
            format.content_type(),
            &format!("{framework}-gap-analysis.{extension}"),
            body,
        ),
        Err(Error::Validation(_)) => not_found_page(&staff, Some(&scope)),
        Err(e) => refused(&staff, &scope, &e),
    }
}
