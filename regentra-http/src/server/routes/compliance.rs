//! The catalog, adoption, control state, gap analysis, reports,
//! assessments and the framework-specific features.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use regentra_core::Error;
use regentra_core::catalog::{
    Alias, Catalog, ControlRef, Framework, Lookup, Requirement, RequirementRef,
};
use regentra_core::compliance::report::ReportFormat;
use regentra_core::compliance::{
    CmmcProfile, ControlStatus, ControlUpdate, EvidenceState, FtcProfile, PciAppendix, PciEntity,
    RequirementStatus, TrustServicesCategory,
};
use regentra_core::ids::{AgreementId, OrgId, UserId};
use regentra_core::store::ScanRequest;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{Page, PageQuery, Paged};
use crate::server::problem::{ApiError, Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(frameworks))
        .routes(routes!(framework))
        .routes(routes!(lookup))
        .routes(routes!(list_adoptions, adopt))
        .routes(routes!(unadopt))
        .routes(routes!(gap_analysis))
        .routes(routes!(report))
        .routes(routes!(scope_requirement))
        .routes(routes!(run_assessment, list_assessments))
        .routes(routes!(controls))
        .routes(routes!(control_owners))
        .routes(routes!(control, update_control))
        .routes(routes!(soc2_categories))
        .routes(routes!(pci_appendices))
        .routes(routes!(pci_entity))
        .routes(routes!(cmmc_profile))
        .routes(routes!(sprs))
        .routes(routes!(ftc_profile))
        .routes(routes!(soa))
        .routes(routes!(list_agreements, add_agreement))
        .routes(routes!(update_agreement))
}

// ----- catalog ----------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct FrameworkItem {
    key: String,
    name: String,
    version: String,
    /// Assessable requirements.
    requirements: usize,
}

/// The built-in frameworks.
#[utoipa::path(get, path = "/v1/frameworks", tag = "compliance",
    responses((status = 200, body = Paged<FrameworkItem>)),
    security(("bearer" = [])))]
async fn frameworks(Caller(_): Caller) -> Json<Paged<FrameworkItem>> {
    let items = Catalog::builtin()
        .frameworks()
        .iter()
        .map(|f| FrameworkItem {
            key: f.key.clone(),
            name: f.name.clone(),
            version: f.version.clone(),
            requirements: f.assessable().count(),
        })
        .collect();
    Json(Paged {
        items,
        next_cursor: None,
    })
}

/// A framework as the API shows it: the catalog's fields, each
/// requirement's common controls named with their titles.
#[derive(Debug, Serialize, ToSchema)]
pub struct FrameworkBody {
    /// The framework key; requests accept other spellings of it.
    key: String,
    /// Short name (`NIST CSF`).
    name: String,
    /// Full name.
    title: String,
    /// The edition the catalog describes.
    version: String,
    publisher: String,
    /// In the project's own words.
    description: String,
    /// Prefixes an identifier may be written without (`A.` of ISO/IEC 27001).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    id_prefixes: Vec<String>,
    /// Attributes a lookup also accepts values of (CMMC's `nist_800_171`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lookup_attributes: Vec<String>,
    /// The whole tree in catalog order, parents before children.
    requirements: Vec<RequirementBody>,
    /// Identifiers of other editions and the requirements they resolve to.
    aliases: Vec<Alias>,
}

/// A requirement (or a section) of a framework.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequirementBody {
    /// The official identifier, exactly as the framework writes it.
    id: String,
    /// The official short name (or a neutral heading where the text is copyrighted).
    title: String,
    /// The enclosing section's id; none at the top.
    parent: Option<String>,
    /// Whether an organization is assessed against it (a section is not).
    assessable: bool,
    /// In the project's own words.
    description: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
    /// The common controls that together satisfy it (none for a section).
    controls: Vec<ControlRef>,
}

impl RequirementBody {
    fn of(catalog: &Catalog, r: &Requirement) -> Self {
        Self {
            id: r.id.clone(),
            title: r.title.clone(),
            parent: r.parent.clone(),
            assessable: r.assessable,
            description: r.description.clone(),
            attributes: r.attributes.clone(),
            controls: catalog.control_refs(&r.controls),
        }
    }
}

/// A built-in framework named in a path, in any spelling the catalog
/// accepts (`SOC-2`, `nist_csf`, `pci`); an unknown one is a 404 whose
/// detail lists the valid keys.
fn builtin_framework(typed: &str) -> Result<&'static Framework, ApiError> {
    Catalog::builtin()
        .resolve_framework(typed)
        .map_err(|e| match e {
            Error::Validation(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                Problem {
                    errors,
                    ..Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
                }
                .into()
            }
            other => other.into(),
        })
}

/// One built-in framework with its requirements and their common controls.
#[utoipa::path(get, path = "/v1/frameworks/{framework}", tag = "compliance",
    params(("framework" = String, Path, description = "framework key, e.g. `hipaa`; other spellings such as `HIPAA`, `soc-2` or `csf` are accepted")),
    responses((status = 200, body = FrameworkBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn framework(Caller(_): Caller, Id(key): Id<String>) -> ApiResult<Json<FrameworkBody>> {
    let catalog = Catalog::builtin();
    let f = builtin_framework(&key)?;
    Ok(Json(FrameworkBody {
        key: f.key.clone(),
        name: f.name.clone(),
        title: f.title.clone(),
        version: f.version.clone(),
        publisher: f.publisher.clone(),
        description: f.description.clone(),
        id_prefixes: f.id_prefixes.clone(),
        lookup_attributes: f.lookup_attributes.clone(),
        requirements: f
            .requirements
            .iter()
            .map(|r| RequirementBody::of(catalog, r))
            .collect(),
        aliases: f.aliases.clone(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// An identifier as people write it: `A.5.15` or `5.15`, a CMMC
    /// requirement's NIST SP 800-171 number (`3.1.3`), an id of another
    /// edition (`PR.AC-1`).
    id: String,
}

/// What an identifier names.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LookupKind {
    /// One requirement of this edition.
    Requirement,
    /// An identifier of another edition; `requirements` are its successors.
    Alias,
    /// Several requirements: the identifier could be any of them (ISO/IEC
    /// 27001's `8.1` is clause 8.1 and Annex A control A.8.1). Ask again
    /// with the full id.
    Ambiguous,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LookupBody {
    /// The framework key.
    framework: String,
    /// The identifier as asked.
    query: String,
    kind: LookupKind,
    /// For an alias, the edition it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    alias_note: Option<String>,
    requirements: Vec<RequirementBody>,
}

/// Resolves an identifier in a built-in framework the way people type it.
#[utoipa::path(get, path = "/v1/frameworks/{framework}/lookup", tag = "compliance",
    params(("framework" = String, Path, description = "framework key, in any accepted spelling"), LookupQuery),
    responses((status = 200, body = LookupBody),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "unknown framework, or nothing by that identifier")),
    security(("bearer" = [])))]
async fn lookup(
    Caller(_): Caller,
    Id(key): Id<String>,
    Query(q): Query<LookupQuery>,
) -> ApiResult<Json<LookupBody>> {
    let catalog = Catalog::builtin();
    let f = builtin_framework(&key)?;
    let (kind, alias_note, found) = match f.lookup(&q.id) {
        Some(Lookup::Requirement(r)) => (LookupKind::Requirement, None, vec![r]),
        Some(Lookup::Alias { alias, targets }) => {
            (LookupKind::Alias, Some(alias.note.clone()), targets)
        }
        Some(Lookup::Ambiguous(found)) => (LookupKind::Ambiguous, None, found),
        None => {
            let message = format!("no requirement or alias `{}` in {}", q.id.trim(), f.key);
            return Err(Problem {
                errors: vec![regentra_core::FieldError::new("id", message.clone())],
                ..Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", message)
            }
            .into());
        }
    };
    Ok(Json(LookupBody {
        framework: f.key.clone(),
        query: q.id,
        kind,
        alias_note,
        requirements: found
            .into_iter()
            .map(|r| RequirementBody::of(catalog, r))
            .collect(),
    }))
}

// ----- adoption ---------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adopt {
    /// A framework key from `GET /v1/frameworks`, or another spelling of
    /// it (`SOC-2`, `csf`); the adoption records the key.
    framework: String,
}

/// The org's adoptions, active or not.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/frameworks", tag = "compliance",
    params(("org_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<regentra_core::compliance::Adoption>)),
    security(("bearer" = [])))]
async fn list_adoptions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let adoptions = state
        .regentra
        .adoptions(&caller, org, page.request())
        .await?;
    Ok(Json(page.listed(adoptions).map(|a| json!(a))))
}

/// Adopts a framework: seeds its control set and unlocks its features.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/frameworks", tag = "compliance",
    params(("org_id" = Uuid, Path)), request_body = Adopt,
    responses((status = 201, body = regentra_core::compliance::Adoption), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn adopt(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<Adopt>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let adoption = state
        .regentra
        .adopt_framework(&caller, org, &req.framework)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(adoption))))
}

/// Unadopts a framework; control state and evidence are kept.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/frameworks/{framework}", tag = "compliance",
    params(("org_id" = Uuid, Path), ("framework" = String, Path, description = "framework key, in any accepted spelling")),
    responses((status = 200, body = regentra_core::compliance::Adoption), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn unadopt(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, framework)): Id<(OrgId, String)>,
) -> ApiResult<Json<Value>> {
    let adoption = state
        .regentra
        .unadopt_framework(&caller, org, &framework)
        .await?;
    Ok(Json(json!(adoption)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequirementItem {
    id: String,
    title: String,
    status: RequirementStatus,
    /// Why it is out of scope, when it is (the org's own scoping or a
    /// framework setting such as a merchant-only PCI DSS entity).
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<String>,
    /// The common controls mapped to it.
    controls: Vec<ControlRef>,
    /// Those that do not count yet.
    missing: Vec<ControlRef>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GapBody {
    framework: String,
    /// Share of in-scope requirements met, 0-100.
    score: f64,
    #[schema(value_type = regentra_core::compliance::StatusTotals)]
    totals: Value,
    #[schema(value_type = Vec<regentra_core::compliance::gap::SectionBreakdown>)]
    sections: Value,
    /// Unimplemented controls, most cross-framework leverage first.
    #[schema(value_type = Vec<regentra_core::compliance::gap::Priority>)]
    priorities: Value,
    requirements: Vec<RequirementItem>,
}

/// Gap analysis of one adopted framework.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/frameworks/{framework}/gap-analysis", tag = "compliance",
    params(("org_id" = Uuid, Path), ("framework" = String, Path, description = "framework key, in any accepted spelling")),
    responses((status = 200, body = GapBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn gap_analysis(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, framework)): Id<(OrgId, String)>,
) -> ApiResult<Json<GapBody>> {
    let gaps = state
        .regentra
        .framework_gap_analysis(&caller, org, &framework)
        .await?;
    let named = |keys: &[String]| -> Vec<ControlRef> {
        keys.iter()
            .map(|k| ControlRef {
                key: k.clone(),
                title: gaps.control_titles.get(k).cloned().unwrap_or_default(),
            })
            .collect()
    };
    let requirements = gaps
        .requirements
        .iter()
        .map(|r| RequirementItem {
            id: r.id.clone(),
            title: r.title.clone(),
            status: r.status,
            justification: r.justification.clone(),
            controls: named(&r.controls),
            missing: named(&r.missing),
        })
        .collect();
    Ok(Json(GapBody {
        framework: gaps.framework.clone(),
        score: gaps.score,
        totals: json!(gaps.totals),
        sections: json!(gaps.sections),
        priorities: json!(gaps.priorities),
        requirements,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default), `csv` or `markdown`.
    format: Option<String>,
}

impl ReportQuery {
    /// The requested format, `json` when none is named.
    pub fn format(&self) -> &str {
        self.format.as_deref().unwrap_or("json")
    }
}

/// The gap report of one adopted framework as a document.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/frameworks/{framework}/report", tag = "compliance",
    params(("org_id" = Uuid, Path), ("framework" = String, Path, description = "framework key, in any accepted spelling"), ReportQuery),
    responses((status = 200, description = "the report in the requested format"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn report(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, framework)): Id<(OrgId, String)>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = match q.format() {
        "json" => ReportFormat::Json,
        "csv" => ReportFormat::Csv,
        "markdown" | "md" => ReportFormat::Markdown,
        _ => {
            return Err(Problem::invalid_field("format", "must be json, csv or markdown").into());
        }
    };
    let body = state
        .regentra
        .gap_report(&caller, org, &framework, format)
        .await?;
    // The file is named by the framework's key, however it was spelled.
    let name = Catalog::builtin()
        .resolve_framework(&framework)
        .map_or(framework.as_str(), |f| f.key.as_str());
    Ok(document(format.content_type(), name, body))
}

/// A report body with its content type; CSV and Markdown download as files.
pub fn document(content_type: &'static str, name: &str, body: String) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let extension = match content_type {
        t if t.starts_with("text/csv") => Some("csv"),
        t if t.starts_with("text/markdown") => Some("md"),
        _ => None,
    };
    if let Some(ext) = extension {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(v) = format!("attachment; filename=\"{safe}.{ext}\"").parse() {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeRequirement {
    requirement: String,
    /// Why it is out of scope; omit to bring it back in scope.
    justification: Option<String>,
}

/// Scopes one requirement out (with a justification) or back in.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/frameworks/{framework}/scope", tag = "compliance",
    params(("org_id" = Uuid, Path), ("framework" = String, Path, description = "framework key, in any accepted spelling")), request_body = ScopeRequirement,
    responses((status = 200, body = regentra_core::compliance::Adoption), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn scope_requirement(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, framework)): Id<(OrgId, String)>,
    Body(req): Body<ScopeRequirement>,
) -> ApiResult<Json<Value>> {
    let adoption = state
        .regentra
        .scope_requirement(
            &caller,
            org,
            &framework,
            &req.requirement,
            req.justification.as_deref(),
        )
        .await?;
    Ok(Json(json!(adoption)))
}

/// Records an assessment: the framework's score and totals now.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/frameworks/{framework}/assessments", tag = "compliance",
    params(("org_id" = Uuid, Path), ("framework" = String, Path, description = "framework key, in any accepted spelling")),
    responses((status = 201, body = regentra_core::compliance::Assessment), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn run_assessment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, framework)): Id<(OrgId, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let assessment = state
        .regentra
        .run_assessment(&caller, org, &framework)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(assessment))))
}

/// Past assessments of a framework, oldest first.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/frameworks/{framework}/assessments", tag = "compliance",
    params(("org_id" = Uuid, Path), ("framework" = String, Path, description = "framework key, in any accepted spelling"), PageQuery),
    responses((status = 200, body = Paged<regentra_core::compliance::Assessment>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_assessments(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, framework)): Id<(OrgId, String)>,
    page: Page,
) -> ApiResult<Json<Paged<Value>>> {
    let assessments = state
        .regentra
        .assessments(&caller, org, &framework, page.request())
        .await?;
    Ok(Json(page.listed(assessments).map(|a| json!(a))))
}

// ----- controls ---------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ControlItem {
    /// The common control key.
    control: String,
    /// The control's title.
    title: String,
    status: ControlStatus,
    /// Send back in a PATCH to refuse a stale write.
    version: u64,
    /// Whether it counts as met (implemented, with current evidence where required).
    counts: bool,
    current_evidence: usize,
    /// Its evidence taken together: `current`, `expiring` (all of what
    /// counts stops within 30 days), `expired` or `none`.
    evidence_state: EvidenceState,
    owner: Option<UserId>,
    notes: String,
    justification: Option<String>,
    /// The framework requirements it satisfies.
    requirements: Vec<RequirementRef>,
}

impl From<regentra_core::compliance::service::ControlView> for ControlItem {
    fn from(v: regentra_core::compliance::service::ControlView) -> Self {
        Self {
            control: v.implementation.control,
            title: v.title,
            status: v.implementation.status,
            version: v.version,
            counts: v.state.counts,
            evidence_state: v.evidence_state,
            current_evidence: v.state.current_evidence,
            owner: v.implementation.owner,
            notes: v.implementation.notes,
            justification: v.implementation.justification,
            requirements: v.requirements,
        }
    }
}

/// The org's control implementations with their mapped requirements.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/controls", tag = "compliance",
    params(("org_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<ControlItem>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn controls(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<ControlItem>>> {
    let views = state
        .regentra
        .controls(&caller, org, page.request())
        .await?;
    Ok(Json(page.listed(views).map(ControlItem::from)))
}

/// Who may own a control: the org's members, by name.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/control-owners", tag = "compliance",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = Vec<regentra_core::psa::people::Person>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn control_owners(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Vec<regentra_core::psa::people::Person>>> {
    Ok(Json(state.regentra.control_owners(&caller, org).await?))
}

/// One control implementation.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/controls/{control}", tag = "compliance",
    params(("org_id" = Uuid, Path), ("control" = String, Path)),
    responses((status = 200, body = ControlItem), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn control(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, control)): Id<(OrgId, String)>,
) -> ApiResult<Json<ControlItem>> {
    Ok(Json(
        state.regentra.control(&caller, org, &control).await?.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchControl {
    status: Option<ControlStatus>,
    /// Required for `not_applicable`.
    justification: Option<String>,
    notes: Option<String>,
    /// `null` clears the owner.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    owner: Option<Option<UserId>>,
    last_reviewed: Option<chrono::NaiveDate>,
    next_review: Option<chrono::NaiveDate>,
    /// The version the caller read; a stale one is a 409.
    version: Option<u64>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Updates a control: shows in every framework it maps to at once.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/controls/{control}", tag = "compliance",
    params(("org_id" = Uuid, Path), ("control" = String, Path)), request_body = PatchControl,
    responses((status = 200, body = ControlItem), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn update_control(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, control)): Id<(OrgId, String)>,
    Body(req): Body<PatchControl>,
) -> ApiResult<Json<ControlItem>> {
    let update = ControlUpdate {
        status: req.status,
        justification: req.justification,
        owner: req.owner,
        notes: req.notes,
        last_reviewed: req.last_reviewed,
        next_review: req.next_review,
    };
    state
        .regentra
        .update_control(&caller, org, &control, req.version, update)
        .await?;
    Ok(Json(
        state.regentra.control(&caller, org, &control).await?.into(),
    ))
}

// ----- framework features -------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Soc2Categories {
    categories: BTreeSet<TrustServicesCategory>,
}

/// SOC 2: the trust services categories in scope (security is always in).
#[utoipa::path(put, path = "/v1/orgs/{org_id}/soc2/categories", tag = "framework features",
    params(("org_id" = Uuid, Path)), request_body = Soc2Categories,
    responses((status = 200, body = regentra_core::compliance::Adoption), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn soc2_categories(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<Soc2Categories>,
) -> ApiResult<Json<Value>> {
    let adoption = state
        .regentra
        .set_trust_services_categories(&caller, org, req.categories)
        .await?;
    Ok(Json(json!(adoption)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PciAppendices {
    appendices: BTreeSet<PciAppendix>,
}

/// PCI DSS: the appendices (A1-A3) that apply.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/pci-dss/appendices", tag = "framework features",
    params(("org_id" = Uuid, Path)), request_body = PciAppendices,
    responses((status = 200, body = regentra_core::compliance::Adoption), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn pci_appendices(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<PciAppendices>,
) -> ApiResult<Json<Value>> {
    let adoption = state
        .regentra
        .set_pci_appendices(&caller, org, req.appendices)
        .await?;
    Ok(Json(json!(adoption)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PciEntityChoice {
    entity: PciEntity,
}

/// PCI DSS: whether the org is a service provider or a merchant only; a
/// merchant has the requirements for service providers out of scope.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/pci-dss/entity", tag = "framework features",
    params(("org_id" = Uuid, Path)), request_body = PciEntityChoice,
    responses((status = 200, body = regentra_core::compliance::Adoption), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn pci_entity(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<PciEntityChoice>,
) -> ApiResult<Json<Value>> {
    let adoption = state
        .regentra
        .set_pci_entity(&caller, org, req.entity)
        .await?;
    Ok(Json(json!(adoption)))
}

/// CMMC: target level and the partial-credit facts for the SPRS score.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/cmmc/profile", tag = "framework features",
    params(("org_id" = Uuid, Path)), request_body = regentra_core::compliance::CmmcProfile,
    responses((status = 200, body = regentra_core::compliance::Adoption), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn cmmc_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(profile): Body<CmmcProfile>,
) -> ApiResult<Json<Value>> {
    let adoption = state
        .regentra
        .set_cmmc_profile(&caller, org, profile)
        .await?;
    Ok(Json(json!(adoption)))
}

/// CMMC: the SPRS score (110 down to -203) with the deductions behind it.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/cmmc/sprs", tag = "framework features",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::compliance::features::SprsScore), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn sprs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.regentra.sprs_score(&caller, org).await?)))
}

/// FTC Safeguards: the qualified individual and the small-institution exemption.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/ftc-safeguards/profile", tag = "framework features",
    params(("org_id" = Uuid, Path)), request_body = regentra_core::compliance::FtcProfile,
    responses((status = 200, body = regentra_core::compliance::Adoption), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn ftc_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(profile): Body<FtcProfile>,
) -> ApiResult<Json<Value>> {
    let adoption = state
        .regentra
        .set_ftc_profile(&caller, org, profile)
        .await?;
    Ok(Json(json!(adoption)))
}

/// ISO 27001: the Statement of Applicability (`?format=csv` for a file).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/iso27001/soa", tag = "framework features",
    params(("org_id" = Uuid, Path), ReportQuery),
    responses((status = 200, description = "JSON entries, or CSV"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn soa(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    match q.format() {
        "json" => {
            let entries = state
                .regentra
                .statement_of_applicability(&caller, org)
                .await?;
            Ok(Json(json!({ "items": entries })).into_response())
        }
        "csv" => {
            let csv = state
                .regentra
                .statement_of_applicability_csv(&caller, org)
                .await?;
            Ok(document(
                "text/csv; charset=utf-8",
                "statement-of-applicability",
                csv,
            ))
        }
        _ => Err(Problem::invalid_field("format", "must be json or csv").into()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementRequest {
    vendor: String,
    services: String,
    /// What PHI the vendor touches.
    phi_access: String,
    /// `pending`, `signed`, `expired` or `terminated`.
    #[schema(value_type = String)]
    status: regentra_core::compliance::features::AgreementStatus,
    signed_on: Option<chrono::NaiveDate>,
    renewal_due: Option<chrono::NaiveDate>,
    /// An evidence record holding the signed document.
    #[schema(value_type = Option<Uuid>)]
    document: Option<regentra_core::ids::EvidenceId>,
    #[serde(default)]
    notes: String,
}

impl From<AgreementRequest> for regentra_core::compliance::features::NewAgreement {
    fn from(r: AgreementRequest) -> Self {
        Self {
            vendor: r.vendor,
            services: r.services,
            phi_access: r.phi_access,
            status: r.status,
            signed_on: r.signed_on,
            renewal_due: r.renewal_due,
            document: r.document,
            notes: r.notes,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AgreementQuery {
    /// Only agreements whose renewal falls within this many days.
    expiring_within_days: Option<u32>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// HIPAA: the business associate agreements register.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/hipaa/baas", tag = "framework features",
    params(("org_id" = Uuid, Path), AgreementQuery),
    responses((status = 200, body = Paged<regentra_core::compliance::features::Agreement>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_agreements(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<AgreementQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let page = Page::parse(PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let r = &state.regentra;
    let paged = match q.expiring_within_days {
        Some(days) => {
            let after = ScanRequest::after(page.scan_after()?, page.limit);
            page.scanned(r.agreements_expiring(&caller, org, days, after).await?)
        }
        None => page.listed(r.agreements(&caller, org, page.request()).await?),
    };
    Ok(Json(paged.map(|a| json!(a))))
}

/// HIPAA: records a business associate agreement.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/hipaa/baas", tag = "framework features",
    params(("org_id" = Uuid, Path)), request_body = AgreementRequest,
    responses((status = 201, body = regentra_core::compliance::features::Agreement), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_agreement(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<AgreementRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let agreement = state
        .regentra
        .add_agreement(&caller, org, req.into())
        .await?;
    Ok((StatusCode::CREATED, Json(json!(agreement))))
}

/// HIPAA: replaces a business associate agreement's details.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/hipaa/baas/{agreement_id}", tag = "framework features",
    params(("org_id" = Uuid, Path), ("agreement_id" = Uuid, Path)), request_body = AgreementRequest,
    responses((status = 200, body = regentra_core::compliance::features::Agreement), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn update_agreement(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, AgreementId)>,
    Body(req): Body<AgreementRequest>,
) -> ApiResult<Json<Value>> {
    let agreement = state
        .regentra
        .update_agreement(&caller, org, id, req.into())
        .await?;
    Ok(Json(json!(agreement)))
}
