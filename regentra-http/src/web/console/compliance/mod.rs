//! The compliance workspace of one client (`/app/{org}/compliance`): the
//! home page with the score of each adopted framework, its requirements by
//! status, the controls that would close the most requirements across all
//! frameworks and the progress recorded by assessments; the frameworks,
//! adopted or not, with their scope settings; each framework's gap
//! analysis with its exports; and assessments, taken and compared.
//!
//! Everything shown comes from the core's compliance operations (the gap
//! analysis, the adoptions, the recorded assessments and their pure
//! comparison). Four frameworks bring pages of their own (see
//! [`features`]): HIPAA's business associate agreement register
//! ([`agreements`]), ISO 27001's Statement of Applicability, CMMC's SPRS
//! score with its plan of action, and the FTC Safeguards Rule's qualified
//! individual. A page offers a form only to a role the core would let
//! through (adopting and the qualified individual: admins and compliance
//! managers; assessments and agreements: also compliance officers); a
//! form posted by anyone else is the 404 page, and the core decides again. The controls and evidence pages under
//! `/compliance/controls` and `/compliance/evidence` are their own module's.

pub mod agreements;
pub mod assessments;
pub mod features;
pub mod frameworks;
pub mod home;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use regentra_core::compliance::{Adoption, Assessment, ControlStatus, RequirementStatus};
use regentra_core::ids::OrgId;
use regentra_core::rbac::Permission;
use regentra_core::store::PageRequest;
use regentra_core::{Error, Principal};

use super::{Scope, Section, Staff, choose_client, failed, not_found_page, staff_in};
use crate::server::AppState;
use crate::web::display::Badge;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/compliance", get(home::page))
        .route("/app/{scope}/compliance/frameworks", get(frameworks::list))
        .route(
            "/app/{scope}/compliance/frameworks/{framework}",
            get(frameworks::gaps),
        )
        .route(
            "/app/{scope}/compliance/frameworks/{framework}/export",
            get(frameworks::export),
        )
        .route(
            "/app/{scope}/compliance/frameworks/{framework}/adopt",
            post(frameworks::adopt),
        )
        .route(
            "/app/{scope}/compliance/frameworks/{framework}/unadopt",
            get(frameworks::unadopt_page).post(frameworks::unadopt),
        )
        .route(
            "/app/{scope}/compliance/frameworks/{framework}/settings",
            post(frameworks::settings),
        )
        .route(
            "/app/{scope}/compliance/frameworks/{framework}/scope",
            post(frameworks::scope_requirement),
        )
        .route(
            "/app/{scope}/compliance/assessments",
            get(assessments::list).post(assessments::take),
        )
        .route(
            "/app/{scope}/compliance/assessments/compare",
            get(assessments::compare),
        )
        .route(
            "/app/{scope}/compliance/baa",
            get(agreements::register).post(agreements::add),
        )
        .route(
            "/app/{scope}/compliance/baa/{agreement}",
            get(agreements::edit_page).post(agreements::save),
        )
        .route("/app/{scope}/compliance/soa", get(features::soa))
        .route("/app/{scope}/compliance/soa/export", get(features::soa_csv))
        .route("/app/{scope}/compliance/sprs", get(features::sprs))
        .route(
            "/app/{scope}/compliance/ftc",
            get(features::ftc).post(features::set_qualified_individual),
        )
}

/// A framework's own page: what it is called and where it lives.
#[derive(Debug, Clone)]
pub struct Feature {
    pub framework: &'static str,
    /// The framework's short name, for pages that do not read the catalog.
    pub framework_name: &'static str,
    pub label: &'static str,
    /// The path under `/app/{org}/compliance/`.
    pub key: &'static str,
}

/// The frameworks that bring a page of their own, in the catalog's order.
pub const FEATURES: [Feature; 4] = [
    Feature {
        framework: "hipaa",
        framework_name: "HIPAA",
        label: "Business associate agreements",
        key: "baa",
    },
    Feature {
        framework: "cmmc",
        framework_name: "CMMC",
        label: "SPRS score and plan of action",
        key: "sprs",
    },
    Feature {
        framework: "ftc-safeguards",
        framework_name: "FTC Safeguards Rule",
        label: "Qualified individual",
        key: "ftc",
    },
    Feature {
        framework: "iso27001",
        framework_name: "ISO/IEC 27001",
        label: "Statement of Applicability",
        key: "soa",
    },
];

/// The page of a framework's own feature, if it has one.
pub fn feature_of(framework: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.framework == framework)
}

/// A link to a framework's own page.
#[derive(Debug, Clone)]
pub struct FeatureLink {
    pub label: &'static str,
    pub href: String,
}

impl Feature {
    pub fn link(&self, scope: &Scope) -> FeatureLink {
        FeatureLink {
            label: self.label,
            href: scope.path(&format!("compliance/{}", self.key)),
        }
    }
}

/// One of the tabs every workspace page shows.
#[derive(Debug)]
pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// The workspace's tabs; `current` is the key of the page shown.
pub fn tabs(scope: &Scope, current: &str) -> Vec<Tab> {
    [
        ("Overview", ""),
        ("Frameworks", "frameworks"),
        ("Controls", "controls"),
        ("Evidence", "evidence"),
        ("Assessments", "assessments"),
    ]
    .into_iter()
    .map(|(label, key)| Tab {
        label,
        href: if key.is_empty() {
            scope.path("compliance")
        } else {
            scope.path(&format!("compliance/{key}"))
        },
        current: key == current,
    })
    .collect()
}

/// The staff member, the scope and the org of a workspace page, or the
/// answer that replaces the page: the client chooser on all clients, the
/// 404 page where the person does not read the org's compliance.
pub async fn workspace(
    state: &AppState,
    headers: &HeaderMap,
    segment: &str,
    path: &str,
) -> Result<(Staff, Scope, OrgId), Response> {
    let (staff, scope) = staff_in(state, headers, segment, path).await?;
    match scope {
        Scope::All => Err(choose_client(&staff, Section::Compliance)),
        Scope::Org(org) if staff.can(org, Permission::FrameworksRead) => Ok((staff, scope, org)),
        Scope::Org(_) => Err(not_found_page(&staff, Some(&scope))),
    }
}

/// The org a form posts to, if the person's role there allows
/// `permission` (else the caller answers with the 404 page: the core
/// would refuse it too).
pub fn org_allowing(
    staff: &Staff,
    segment: &str,
    permission: Permission,
) -> Option<(Scope, OrgId)> {
    match staff.scope(segment) {
        Some(Scope::Org(org)) if staff.can(org, permission) => Some((Scope::Org(org), org)),
        _ => None,
    }
}

/// The answer to an operation the core refused or could not do: what
/// names nothing here and a right the person lacks are the 404 page.
pub fn refused(staff: &Staff, scope: &Scope, error: &Error) -> Response {
    match error {
        Error::NotFound { .. } | Error::PermissionDenied { .. } => {
            not_found_page(staff, Some(scope))
        }
        e => failed(e),
    }
}

/// Every adoption of the org, active or not.
pub async fn all_adoptions(
    state: &AppState,
    caller: &Principal,
    org: OrgId,
) -> Result<Vec<Adoption>, Error> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(200);
    loop {
        let listing = state.regentra.adoptions(caller, org, page).await?;
        let last = listing.items.last().map(|a| a.id.0);
        all.extend(listing.items);
        match (listing.next, last) {
            (Some(_), Some(last)) => page = PageRequest::after(Some(last), 200),
            _ => return Ok(all),
        }
    }
}

/// Every recorded assessment of a framework, oldest first.
pub async fn all_assessments(
    state: &AppState,
    caller: &Principal,
    org: OrgId,
    framework: &str,
) -> Result<Vec<Assessment>, Error> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(200);
    loop {
        let listing = state
            .regentra
            .assessments(caller, org, framework, page)
            .await?;
        let last = listing.items.last().map(|a| a.id.0);
        all.extend(listing.items);
        match (listing.next, last) {
            (Some(_), Some(last)) => page = PageRequest::after(Some(last), 200),
            _ => return Ok(all),
        }
    }
}

pub fn requirement_badge(status: RequirementStatus) -> Badge {
    let (label, class) = match status {
        RequirementStatus::Satisfied => ("Satisfied", "badge-success"),
        RequirementStatus::Partial => ("Partial", "badge-warning"),
        RequirementStatus::Gap => ("Gap", "badge-danger"),
        RequirementStatus::NotApplicable => ("Out of scope", "badge-muted"),
    };
    Badge { label, class }
}

pub fn control_badge(status: Option<ControlStatus>) -> Badge {
    let (label, class) = match status {
        Some(ControlStatus::Implemented) => ("Implemented", "badge-success"),
        Some(ControlStatus::InProgress) => ("In progress", "badge-info"),
        Some(ControlStatus::NotStarted) => ("Not started", "badge-muted"),
        Some(ControlStatus::NotApplicable) => ("Not applicable", "badge-muted"),
        None => ("No record", "badge-muted"),
    };
    Badge { label, class }
}

/// A score as the pages write it.
pub fn percent(score: f64) -> String {
    format!("{score:.1}%")
}

/// The link to a control's page (built by the controls module).
pub fn control_href(scope: &Scope, control: &str) -> String {
    scope.path(&format!("compliance/controls/{control}"))
}

/// A document served as a download.
pub fn download(content_type: &'static str, filename: &str, body: String) -> Response {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
        ],
        body,
    )
        .into_response()
}
