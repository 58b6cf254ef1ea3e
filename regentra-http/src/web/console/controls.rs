//! A client's controls in the console (`/app/{org}/compliance/controls`):
//! the list of the org's control implementations with their status, owner,
//! evidence state and the frameworks each serves, filtered and searched;
//! and a control's page with every requirement it satisfies across the
//! adopted frameworks, its history (the audit events about it), and, for
//! those whose role works controls, forms to change its status, owner,
//! notes and review dates and to add evidence (a file, with upload
//! progress when scripts run; a link; an attestation) or unlink it. A
//! viewer reads the same pages without a form, and a form they post anyway
//! is the 404 page (the core would refuse it too).

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use regentra_core::catalog::Catalog;
use regentra_core::compliance::evidence::{EvidenceOrder, EvidenceQuery, EvidenceView};
use regentra_core::compliance::service::ControlView;
use regentra_core::compliance::{
    ControlStatus, ControlUpdate, EvidenceContent, EvidenceState, NewEvidence,
};
use regentra_core::ids::{EvidenceId, OrgId, UserId};
use regentra_core::psa::people::Person;
use regentra_core::rbac::Permission;
use regentra_core::store::{MAX_PAGE, PageRequest};
use regentra_core::{Error, FieldError, RequestMeta};
use serde::Deserialize;

use super::{
    Scope, Section, Shell, Staff, choose_client, failed, not_found_page, staff, staff_form,
    staff_in,
};
use crate::server::auth::Meta;
use crate::server::{AppState, browser};
use crate::web::console::Done;
use crate::web::display::{Badge, When, when};
use crate::web::upload::{TEXT_LIMIT, detached};
use crate::web::{Chrome, CsrfField, render};

/// Controls per page of the list.
const PAGE_SIZE: usize = 50;

/// The upload form's own script: progress while a file is sent.
const UPLOAD_SCRIPT: &str = include_str!("evidence_upload.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/evidence-upload.js", get(upload_script))
        .route("/app/{scope}/compliance/controls", get(list))
        .route(
            "/app/{scope}/compliance/controls/{control}",
            get(control_page).post(update),
        )
        .route(
            "/app/{scope}/compliance/controls/{control}/evidence/file",
            // The core bounds the file as it streams, and this module each
            // text field: the body needs no limit of its own.
            post(add_file).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/app/{scope}/compliance/controls/{control}/evidence/link",
            post(add_link),
        )
        .route(
            "/app/{scope}/compliance/controls/{control}/evidence/attestation",
            post(add_attestation),
        )
        .route(
            "/app/{scope}/compliance/controls/{control}/evidence/{evidence_id}/unlink",
            post(unlink),
        )
}

async fn upload_script(headers: HeaderMap) -> Response {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let version = VERSION.get_or_init(|| crate::web::short_hash(UPLOAD_SCRIPT));
    crate::web::static_asset(
        &headers,
        UPLOAD_SCRIPT,
        version,
        "text/javascript; charset=utf-8",
    )
}

// ---- words shared with the evidence library ----------------------------

pub(crate) fn status_badge(status: ControlStatus) -> Badge {
    let (label, class) = match status {
        ControlStatus::NotStarted => ("Not started", "badge-muted"),
        ControlStatus::InProgress => ("In progress", "badge-info"),
        ControlStatus::Implemented => ("Implemented", "badge-success"),
        ControlStatus::NotApplicable => ("Not applicable", "badge-muted"),
    };
    Badge { label, class }
}

pub(crate) fn evidence_badge(state: EvidenceState) -> Badge {
    let (label, class) = match state {
        EvidenceState::Current => ("Current", "badge-success"),
        EvidenceState::Expiring => ("Expiring soon", "badge-warning"),
        EvidenceState::Expired => ("Expired", "badge-danger"),
        EvidenceState::None => ("No evidence", "badge-muted"),
    };
    Badge { label, class }
}

const STATUSES: [ControlStatus; 4] = [
    ControlStatus::NotStarted,
    ControlStatus::InProgress,
    ControlStatus::Implemented,
    ControlStatus::NotApplicable,
];

const EVIDENCE_STATES: [EvidenceState; 4] = [
    EvidenceState::Current,
    EvidenceState::Expiring,
    EvidenceState::Expired,
    EvidenceState::None,
];

/// What a piece of evidence is, in words.
pub(crate) fn kind_of(content: &EvidenceContent) -> &'static str {
    match content {
        EvidenceContent::File { .. } => "File",
        EvidenceContent::Link { .. } => "Link",
        EvidenceContent::Attestation { .. } => "Attestation",
        EvidenceContent::PolicyAcknowledgment { .. } => "Signed policy",
    }
}

/// The org of a page's path, if the person reads its compliance program.
pub(crate) fn org_of(staff: &Staff, scope: &Scope) -> Option<OrgId> {
    match scope {
        Scope::Org(org) if staff.can(*org, Permission::FrameworksRead) => Some(*org),
        _ => None,
    }
}

/// The answer to an operation the core refused: an id that names nothing
/// here and a right the person lacks are both the 404 page.
pub(crate) fn refused(staff: &Staff, scope: &Scope, error: &Error) -> Response {
    match error {
        Error::NotFound { .. } | Error::PermissionDenied { .. } => {
            not_found_page(staff, Some(scope))
        }
        e => failed(e),
    }
}

/// People by id, and who a page names when the id is nobody it knows.
pub(crate) fn name_of(names: &HashMap<UserId, String>, user: Option<UserId>) -> String {
    match user {
        None => "Regentra".to_owned(),
        Some(u) => names
            .get(&u)
            .cloned()
            .unwrap_or_else(|| "MSP staff".to_owned()),
    }
}

pub(crate) async fn names(state: &AppState, staff: &Staff, org: OrgId) -> Vec<Person> {
    state
        .regentra
        .control_owners(&staff.caller, org)
        .await
        .unwrap_or_default()
}

pub(crate) async fn zone(state: &AppState, org: OrgId) -> Tz {
    state.regentra.time_zone(org).await.unwrap_or(Tz::UTC)
}

/// The framework's short name in the org's catalog.
fn framework_name(catalog: &Catalog, key: &str) -> String {
    catalog
        .framework(key)
        .map(|f| f.name.clone())
        .unwrap_or_else(|| key.to_owned())
}

/// The frameworks a control serves, by name, once each, in catalog order.
fn frameworks_of(catalog: &Catalog, view: &ControlView) -> Vec<String> {
    let keys: BTreeSet<&str> = view
        .requirements
        .iter()
        .map(|r| r.framework.as_str())
        .collect();
    catalog
        .frameworks()
        .iter()
        .filter(|f| keys.contains(f.key.as_str()))
        .map(|f| f.name.clone())
        .collect()
}

// ---- the list -------------------------------------------------------------

struct Row {
    href: String,
    key: String,
    title: String,
    status: Badge,
    owner: String,
    evidence: Badge,
    frameworks: Vec<String>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices(
    all: impl IntoIterator<Item = (String, String)>,
    chosen: &str,
    any: &str,
) -> Vec<Choice> {
    let mut out = vec![Choice {
        value: String::new(),
        label: any.to_owned(),
        selected: chosen.is_empty(),
    }];
    out.extend(all.into_iter().map(|(value, label)| Choice {
        selected: value == chosen,
        value,
        label,
    }));
    out
}

#[derive(Template)]
#[template(path = "web/console/controls.html")]
struct ListPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    action: String,
    evidence_library: String,
    q: String,
    statuses: Vec<Choice>,
    frameworks: Vec<Choice>,
    evidence: Vec<Choice>,
    filtered: bool,
    total: usize,
    shown: usize,
    rows: Vec<Row>,
    previous_page: Option<String>,
    next_page: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    framework: String,
    #[serde(default)]
    evidence: String,
    #[serde(default)]
    page: usize,
}

/// Every control of the org, each with its derived state: the core's
/// pages followed to the end (an org holds a few hundred at most).
async fn all_controls(
    state: &AppState,
    staff: &Staff,
    org: OrgId,
) -> Result<Vec<ControlView>, Error> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .regentra
            .controls(&staff.caller, org, PageRequest::after(after, MAX_PAGE))
            .await?;
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// `GET /app/{org}/compliance/controls?q=&status=&framework=&evidence=&page=`.
async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/controls");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if scope == Scope::All {
        return choose_client(&staff, Section::Compliance);
    }
    let Some(org) = org_of(&staff, &scope) else {
        return not_found_page(&staff, Some(&scope));
    };
    let (controls, catalog) = match (
        all_controls(&state, &staff, org).await,
        state.regentra.org_catalog(&staff.caller, org).await,
    ) {
        (Ok(controls), Ok(catalog)) => (controls, catalog),
        (Err(e), _) | (_, Err(e)) => return refused(&staff, &scope, &e),
    };
    let people: HashMap<UserId, String> = names(&state, &staff, org)
        .await
        .into_iter()
        .map(|p| (p.user, p.name))
        .collect();
    let adopted: Vec<(String, String)> = catalog
        .frameworks()
        .iter()
        .filter(|f| {
            controls
                .iter()
                .any(|c| c.requirements.iter().any(|r| r.framework == f.key))
        })
        .map(|f| (f.key.clone(), f.name.clone()))
        .collect();
    let q = query.q.trim().to_lowercase();
    let status = STATUSES.into_iter().find(|s| s.key() == query.status);
    let evidence = EVIDENCE_STATES
        .into_iter()
        .find(|s| s.key() == query.evidence);
    let framework = adopted
        .iter()
        .find(|(key, _)| *key == query.framework)
        .map(|(key, _)| key.clone());
    let total = controls.len();
    let mut matching: Vec<ControlView> = controls
        .into_iter()
        .filter(|c| status.is_none_or(|s| c.implementation.status == s))
        .filter(|c| evidence.is_none_or(|s| c.evidence_state == s))
        .filter(|c| {
            framework
                .as_ref()
                .is_none_or(|f| c.requirements.iter().any(|r| r.framework == *f))
        })
        .filter(|c| {
            q.is_empty()
                || c.title.to_lowercase().contains(&q)
                || c.implementation.control.to_lowercase().contains(&q)
        })
        .collect();
    matching.sort_by(|a, b| a.implementation.control.cmp(&b.implementation.control));
    let shown = matching.len();
    let pages = shown.div_ceil(PAGE_SIZE).max(1);
    let page = query.page.min(pages - 1);
    let base = scope.path("compliance/controls");
    let link = |page: usize| {
        let mut pairs = vec![("page", page.to_string())];
        for (name, value) in [
            ("q", query.q.trim()),
            ("status", status.map_or("", ControlStatus::key)),
            ("framework", framework.as_deref().unwrap_or("")),
            ("evidence", evidence.map_or("", EvidenceState::key)),
        ] {
            if !value.is_empty() {
                pairs.push((name, value.to_owned()));
            }
        }
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let rows = matching
        .into_iter()
        .skip(page * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|c| Row {
            href: scope.path(&format!(
                "compliance/controls/{}",
                urlencoding(&c.implementation.control)
            )),
            frameworks: frameworks_of(&catalog, &c),
            status: status_badge(c.implementation.status),
            owner: c
                .implementation
                .owner
                .map(|u| name_of(&people, Some(u)))
                .unwrap_or_default(),
            evidence: evidence_badge(c.evidence_state),
            key: c.implementation.control,
            title: c.title,
        })
        .collect();
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Compliance), "Controls");
    render(
        StatusCode::OK,
        &ListPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            evidence_library: scope.path("compliance/evidence"),
            q: query.q.trim().to_owned(),
            statuses: choices(
                STATUSES.map(|s| (s.key().to_owned(), status_badge(s).label.to_owned())),
                status.map_or("", ControlStatus::key),
                "Any status",
            ),
            frameworks: choices(
                adopted.clone(),
                framework.as_deref().unwrap_or(""),
                "Every framework",
            ),
            evidence: choices(
                EVIDENCE_STATES.map(|s| (s.key().to_owned(), evidence_badge(s).label.to_owned())),
                evidence.map_or("", EvidenceState::key),
                "Any evidence",
            ),
            filtered: !q.is_empty()
                || status.is_some()
                || evidence.is_some()
                || framework.is_some(),
            total,
            shown,
            rows,
            previous_page: (page > 0).then(|| link(page - 1)),
            next_page: (page + 1 < pages).then(|| link(page + 1)),
            action: base,
        },
    )
}

/// A control key in a path: keys are letters, digits and dashes; anything
/// else is escaped all the same.
fn urlencoding(key: &str) -> String {
    key.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---- one control ------------------------------------------------------------

struct RequirementRow {
    framework: String,
    id: String,
    title: String,
}

struct HistoryRow {
    at: When,
    who: String,
    what: String,
}

struct EvidenceRow {
    title: String,
    kind: &'static str,
    /// Where a file downloads or a link goes.
    href: Option<String>,
    statement: Option<String>,
    added: When,
    by: String,
    valid_until: Option<When>,
    state: Badge,
    unlink: Option<String>,
}

/// A form's fields as typed, kept when it is refused.
#[derive(Debug, Default, Clone, Deserialize)]
struct ControlForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    justification: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    last_reviewed: String,
    #[serde(default)]
    next_review: String,
    #[serde(default)]
    version: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct EvidenceForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    statement: String,
    #[serde(default)]
    valid_until: String,
}

/// Which form a refusal belongs to, what it kept and what was wrong.
#[derive(Debug, Default)]
struct Problems {
    /// `control`, `file`, `link` or `attestation`.
    form: &'static str,
    errors: Vec<FieldError>,
    control: Option<ControlForm>,
    evidence: EvidenceForm,
    /// A sentence for the top of the form (a stale version).
    alert: Option<String>,
}

impl Problems {
    fn of(form: &'static str, error: Error) -> Result<Self, Error> {
        match error {
            Error::Validation(errors) => Ok(Self {
                form,
                errors,
                ..Self::default()
            }),
            Error::Conflict { .. } => Ok(Self {
                form,
                alert: Some(
                    "Someone changed this control after you opened it. Here it is as it is now: \
                     make your change again."
                        .to_owned(),
                ),
                ..Self::default()
            }),
            e => Err(e),
        }
    }
}

struct ControlFields {
    status: Vec<Choice>,
    owners: Vec<Choice>,
    form: ControlForm,
    version: u64,
}

#[derive(Template)]
#[template(path = "web/console/control.html")]
struct ControlPage {
    shell: Option<Shell>,
    chrome: Chrome,
    back: String,
    here: String,
    key: String,
    title: String,
    description: String,
    status: Badge,
    counts: bool,
    evidence_state: Badge,
    owner: String,
    justification: String,
    notes: String,
    last_reviewed: String,
    next_review: String,
    requirements: Vec<RequirementRow>,
    history: Vec<HistoryRow>,
    evidence: Vec<EvidenceRow>,
    edit: Option<ControlFields>,
    add_evidence: bool,
    csrf_field: CsrfField,
    problems: Problems,
    notice: Option<String>,
    upload_script: String,
}

impl ControlPage {
    /// The error of `field` in `form`, when that form was refused.
    fn error(&self, form: &str, field: &str) -> Option<String> {
        (self.problems.form == form)
            .then(|| {
                self.problems
                    .errors
                    .iter()
                    .find(|e| e.field == field)
                    .map(|e| sentence(&e.message))
            })
            .flatten()
    }

    /// Whether `form` was refused (its alert shows).
    fn refused(&self, form: &str) -> bool {
        self.problems.form == form
    }

    /// The value typed into an evidence form's field, when it was refused.
    fn kept(&self, form: &str, field: &str) -> String {
        if self.problems.form != form {
            return String::new();
        }
        let e = &self.problems.evidence;
        match field {
            "title" => e.title.clone(),
            "url" => e.url.clone(),
            "statement" => e.statement.clone(),
            "valid_until" => e.valid_until.clone(),
            _ => String::new(),
        }
    }
}

/// A core message as a sentence: capitalised, with its full stop.
fn sentence(message: &str) -> String {
    let mut s = message.trim().trim_end_matches('.').to_owned();
    if let Some(first) = s.get(..1) {
        s.replace_range(..1, &first.to_uppercase());
    }
    s.push('.');
    s
}

/// `GET /app/{org}/compliance/controls/{control}`.
async fn control_page(
    State(state): State<AppState>,
    Path((segment, control)): Path<(String, String)>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/controls/{control}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(org) = org_of(&staff, &scope) else {
        return not_found_page(&staff, Some(&scope));
    };
    let notice = query.notice(&[
        (
            "saved",
            "Saved. Every framework the control serves shows the change.",
        ),
        ("file", "The file was added as evidence."),
        ("link", "The link was added as evidence."),
        ("attestation", "The attestation was added as evidence."),
        ("unlinked", "The evidence no longer supports this control."),
    ]);
    show_control(
        &state,
        &staff,
        &scope,
        org,
        &control,
        Problems::default(),
        notice,
    )
    .await
}

async fn show_control(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    key: &str,
    problems: Problems,
    notice: Option<String>,
) -> Response {
    let view = match state.regentra.control(&staff.caller, org, key).await {
        Ok(view) => view,
        Err(e) => return refused(staff, scope, &e),
    };
    let catalog = match state.regentra.org_catalog(&staff.caller, org).await {
        Ok(catalog) => catalog,
        Err(e) => return refused(staff, scope, &e),
    };
    let evidence = match state
        .regentra
        .evidence(
            &staff.caller,
            org,
            EvidenceQuery {
                control: Some(key.to_owned()),
                order: EvidenceOrder::Expiry,
                limit: MAX_PAGE,
                ..EvidenceQuery::default()
            },
        )
        .await
    {
        Ok(found) => found.items,
        Err(e) => return refused(staff, scope, &e),
    };
    let history = match history(state, staff, org, key).await {
        Ok(events) => events,
        Err(e) => return refused(staff, scope, &e),
    };
    let people = names(state, staff, org).await;
    let names: HashMap<UserId, String> = people.iter().map(|p| (p.user, p.name.clone())).collect();
    let zone = zone(state, org).await;
    let here = scope.path(&format!("compliance/controls/{}", urlencoding(key)));
    let implementation = &view.implementation;
    let may_update = staff.can(org, Permission::ControlsUpdate);
    let may_add = staff.can(org, Permission::EvidenceUpload);
    let edit = may_update.then(|| {
        let form = problems.control.clone().unwrap_or_else(|| ControlForm {
            status: implementation.status.key().to_owned(),
            justification: implementation.justification.clone().unwrap_or_default(),
            owner: implementation
                .owner
                .map(|u| u.to_string())
                .unwrap_or_default(),
            notes: implementation.notes.clone(),
            last_reviewed: implementation
                .last_reviewed
                .map(|d| d.to_string())
                .unwrap_or_default(),
            next_review: implementation
                .next_review
                .map(|d| d.to_string())
                .unwrap_or_default(),
            version: Some(view.version),
        });
        let mut owners = vec![(String::new(), "Nobody yet".to_owned())];
        // An owner who has since left the org stays chosen until changed.
        if let Some(u) = implementation
            .owner
            .filter(|u| !people.iter().any(|p| p.user == *u))
        {
            owners.push((u.to_string(), name_of(&names, Some(u))));
        }
        owners.extend(people.iter().map(|p| (p.user.to_string(), p.name.clone())));
        let owner_choices = owners
            .into_iter()
            .map(|(value, label)| Choice {
                selected: value == form.owner,
                value,
                label,
            })
            .collect();
        ControlFields {
            status: STATUSES
                .into_iter()
                .map(|s| Choice {
                    value: s.key().to_owned(),
                    label: status_badge(s).label.to_owned(),
                    selected: s.key() == form.status,
                })
                .collect(),
            owners: owner_choices,
            version: view.version,
            form,
        }
    });
    let requirements = view
        .requirements
        .iter()
        .map(|r| RequirementRow {
            framework: framework_name(&catalog, &r.framework),
            title: catalog
                .framework(&r.framework)
                .and_then(|f| f.requirement(&r.id))
                .map(|q| q.title.clone())
                .unwrap_or_default(),
            id: r.id.clone(),
        })
        .collect();
    let history = history
        .into_iter()
        .map(|e| HistoryRow {
            at: when(e.at, zone),
            who: name_of(&names, e.actor.user),
            what: describe(&e.details, &names),
        })
        .collect();
    let evidence = evidence
        .into_iter()
        .map(|v| evidence_row(scope, &here, v, &names, zone, may_add))
        .collect();
    let description = catalog
        .control(key)
        .map(|c| c.description.clone())
        .unwrap_or_default();
    let status = if problems.form.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let shell = Shell::new(staff, Some(scope), Some(Section::Compliance), &view.title);
    render(
        status,
        &ControlPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            back: scope.path("compliance/controls"),
            key: key.to_owned(),
            title: view.title.clone(),
            description,
            status: status_badge(implementation.status),
            counts: view.state.counts,
            evidence_state: evidence_badge(view.evidence_state),
            owner: implementation
                .owner
                .map(|u| name_of(&names, Some(u)))
                .unwrap_or_default(),
            justification: implementation.justification.clone().unwrap_or_default(),
            notes: implementation.notes.clone(),
            last_reviewed: implementation
                .last_reviewed
                .map(|d| d.format("%-d %b %Y").to_string())
                .unwrap_or_default(),
            next_review: implementation
                .next_review
                .map(|d| d.format("%-d %b %Y").to_string())
                .unwrap_or_default(),
            requirements,
            history,
            evidence,
            edit,
            add_evidence: may_add,
            csrf_field: staff.csrf_field(),
            problems,
            notice,
            here,
            upload_script: format!(
                "/assets/evidence-upload.js?v={}",
                crate::web::short_hash(UPLOAD_SCRIPT)
            ),
        },
    )
}

/// The control's history, oldest first (its pages followed: a control
/// changes a few times a year).
async fn history(
    state: &AppState,
    staff: &Staff,
    org: OrgId,
    key: &str,
) -> Result<Vec<regentra_core::audit::AuditEvent>, Error> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .regentra
            .control_history(&staff.caller, org, key, after, MAX_PAGE)
            .await?;
        all.extend(page.items);
        match page.next {
            Some(next) if all.len() < 5 * MAX_PAGE => after = Some(next),
            _ => return Ok(all),
        }
    }
}

/// What a `control.updated` event changed, in words.
fn describe(details: &serde_json::Value, names: &HashMap<UserId, String>) -> String {
    let status = |v: &serde_json::Value| {
        STATUSES
            .into_iter()
            .find(|s| Some(s.key()) == v.as_str())
            .map(|s| status_badge(s).label)
    };
    let mut parts = Vec::new();
    let (from, to) = (
        status(&details["status"]["from"]),
        status(&details["status"]["to"]),
    );
    match (from, to) {
        (Some(from), Some(to)) if from != to => parts.push(format!("Status {from} → {to}")),
        (_, Some(to)) => parts.push(format!("Status {to}")),
        _ => {}
    }
    if let Some(owner) = details["owner"]
        .as_str()
        .and_then(|u| u.parse::<uuid::Uuid>().ok())
    {
        parts.push(format!("owner {}", name_of(names, Some(UserId(owner)))));
    }
    if details["notes_changed"].as_bool() == Some(true) {
        parts.push("notes changed".to_owned());
    }
    if let Some(next) = details["next_review"].as_str() {
        parts.push(format!("next review {next}"));
    }
    parts.join(" · ")
}

fn evidence_row(
    scope: &Scope,
    here: &str,
    v: EvidenceView,
    names: &HashMap<UserId, String>,
    zone: Tz,
    may_unlink: bool,
) -> EvidenceRow {
    let e = v.evidence;
    let (href, statement) = match &e.content {
        EvidenceContent::File { .. } => (
            Some(scope.path(&format!("compliance/evidence/{}/file", e.id))),
            None,
        ),
        EvidenceContent::Link { url } => (Some(url.clone()), None),
        EvidenceContent::Attestation { statement, .. } => (None, Some(statement.clone())),
        EvidenceContent::PolicyAcknowledgment { typed_name, .. } => {
            (None, Some(format!("Signed by {typed_name}")))
        }
    };
    EvidenceRow {
        kind: kind_of(&e.content),
        href,
        statement,
        added: when(e.uploaded_at, zone),
        by: name_of(names, Some(e.uploaded_by)),
        valid_until: e.valid_until.map(|t| when(t, zone)),
        state: evidence_badge(v.state),
        unlink: may_unlink.then(|| format!("{here}/evidence/{}/unlink", e.id)),
        title: e.title,
    }
}

// ---- the forms ----------------------------------------------------------

/// The org of a form, if the person's role allows `permission` there;
/// else (`None`) the caller answers with the 404 page.
fn form_target(staff: &Staff, segment: &str, permission: Permission) -> Option<(Scope, OrgId)> {
    match staff.scope(segment) {
        Some(Scope::Org(org)) if staff.can(org, permission) => Some((Scope::Org(org), org)),
        _ => None,
    }
}

/// The 404 page for a form [`form_target`] refuses.
fn not_here(staff: &Staff, segment: &str) -> Response {
    not_found_page(staff, staff.scope(segment).as_ref())
}

fn back_to(scope: &Scope, key: &str, done: &str) -> Response {
    Redirect::to(&format!(
        "{}?done={done}",
        scope.path(&format!("compliance/controls/{}", urlencoding(key)))
    ))
    .into_response()
}

/// A date field: empty is none, anything else must be a date.
fn date_field(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push(FieldError::new(field, "must be a date, as 2026-05-31"));
            None
        }
    }
}

/// `POST /app/{org}/compliance/controls/{control}`: status, owner, notes,
/// review dates.
async fn update(
    State(state): State<AppState>,
    Path((segment, key)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/controls/{key}");
    let (staff, form) = match staff_form::<ControlForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org)) = form_target(&staff, &segment, Permission::ControlsUpdate) else {
        return not_here(&staff, &segment);
    };
    let mut errors = Vec::new();
    let status = STATUSES.into_iter().find(|s| s.key() == form.status);
    if status.is_none() {
        errors.push(FieldError::new("status", "choose a status from the list"));
    }
    let owner = if form.owner.trim().is_empty() {
        Some(None)
    } else {
        match form.owner.trim().parse::<uuid::Uuid>() {
            Ok(id) => Some(Some(UserId(id))),
            Err(_) => {
                errors.push(FieldError::new("owner", "choose a person from the list"));
                None
            }
        }
    };
    let last_reviewed = date_field("last_reviewed", &form.last_reviewed, &mut errors);
    let next_review = date_field("next_review", &form.next_review, &mut errors);
    if form.notes.len() > TEXT_LIMIT {
        errors.push(FieldError::new("notes", "can be at most 64 KiB of text"));
    }
    let result = if errors.is_empty() {
        state
            .regentra
            .update_control(
                &staff.caller,
                org,
                &key,
                form.version,
                ControlUpdate {
                    status,
                    justification: Some(form.justification.clone()),
                    owner,
                    notes: Some(form.notes.clone()),
                    last_reviewed,
                    next_review,
                },
            )
            .await
            .map(|_| ())
    } else {
        Err(Error::Validation(errors))
    };
    match result {
        Ok(()) => back_to(&scope, &key, "saved"),
        Err(e) => match Problems::of("control", e) {
            Ok(mut problems) => {
                // A stale form shows the control as it is now.
                if problems.alert.is_none() {
                    problems.control = Some(form);
                }
                show_control(&state, &staff, &scope, org, &key, problems, None).await
            }
            Err(e) => refused(&staff, &scope, &e),
        },
    }
}

/// The end of the valid-until day, in the org's time zone: evidence
/// "valid until 31 May" counts all that day.
fn end_of_day(date: NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    date.succ_opt()?
        .and_hms_opt(0, 0, 0)?
        .and_local_timezone(zone)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// What every evidence form says about the new evidence.
fn new_evidence(
    form: &EvidenceForm,
    key: &str,
    zone: Tz,
    errors: &mut Vec<FieldError>,
) -> NewEvidence {
    let valid_until =
        date_field("valid_until", &form.valid_until, errors).and_then(|d| end_of_day(d, zone));
    NewEvidence {
        title: form.title.clone(),
        valid_until,
        controls: BTreeSet::from([key.to_owned()]),
        ..NewEvidence::default()
    }
}

async fn after_evidence(
    state: &AppState,
    staff: &Staff,
    (scope, org, key): (&Scope, OrgId, &str),
    which: &'static str,
    form: EvidenceForm,
    result: Result<(), Error>,
) -> Response {
    match result {
        Ok(()) => back_to(scope, key, which),
        Err(e) => match Problems::of(which, e) {
            Ok(mut problems) => {
                problems.evidence = form;
                show_control(state, staff, scope, org, key, problems, None).await
            }
            Err(e) => refused(staff, scope, &e),
        },
    }
}

/// `POST .../evidence/link`.
async fn add_link(
    State(state): State<AppState>,
    Path((segment, key)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/controls/{key}");
    let (staff, form) = match staff_form::<EvidenceForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org)) = form_target(&staff, &segment, Permission::EvidenceUpload) else {
        return not_here(&staff, &segment);
    };
    let mut errors = Vec::new();
    let meta = new_evidence(&form, &key, zone(&state, org).await, &mut errors);
    let result = if errors.is_empty() {
        state
            .regentra
            .add_link_evidence(&staff.caller, org, meta, &form.url)
            .await
            .map(|_| ())
    } else {
        Err(Error::Validation(errors))
    };
    after_evidence(&state, &staff, (&scope, org, &key), "link", form, result).await
}

/// `POST .../evidence/attestation`.
async fn add_attestation(
    State(state): State<AppState>,
    Path((segment, key)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/controls/{key}");
    let (staff, form) = match staff_form::<EvidenceForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org)) = form_target(&staff, &segment, Permission::EvidenceUpload) else {
        return not_here(&staff, &segment);
    };
    let mut errors = Vec::new();
    let meta = new_evidence(&form, &key, zone(&state, org).await, &mut errors);
    if form.statement.len() > TEXT_LIMIT {
        errors.push(FieldError::new(
            "statement",
            "can be at most 64 KiB of text",
        ));
    }
    let result = if errors.is_empty() {
        state
            .regentra
            .add_attestation(&staff.caller, org, meta, &form.statement)
            .await
            .map(|_| ())
    } else {
        Err(Error::Validation(errors))
    };
    after_evidence(
        &state,
        &staff,
        (&scope, org, &key),
        "attestation",
        form,
        result,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct CsrfOnly {}

/// `POST .../evidence/{evidence}/unlink`.
async fn unlink(
    State(state): State<AppState>,
    Path((segment, key, evidence_id)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/controls/{key}");
    let (staff, _) = match staff_form::<CsrfOnly>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org)) = form_target(&staff, &segment, Permission::EvidenceUpload) else {
        return not_here(&staff, &segment);
    };
    let Ok(id) = evidence_id.parse::<uuid::Uuid>() else {
        return not_found_page(&staff, Some(&scope));
    };
    match state
        .regentra
        .unlink_evidence(&staff.caller, org, EvidenceId(id), &key)
        .await
    {
        Ok(_) => back_to(&scope, &key, "unlinked"),
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `POST .../evidence/file`: a `multipart/form-data` body, its CSRF token
/// first, then the title and valid-until, then the file, streamed into the
/// core as it arrives (never held whole).
async fn add_file(
    State(state): State<AppState>,
    Path((segment, key)): Path<(String, String)>,
    Meta(meta): Meta,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    detached(add_file_detached(state, segment, key, meta, headers, form)).await
}

/// The text fields of the file form, read before its file.
const FILE_FIELDS: [&str; 2] = ["title", "valid_until"];

async fn add_file_detached(
    state: AppState,
    segment: String,
    key: String,
    meta: RequestMeta,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let back = format!("/app/{segment}/compliance/controls/{key}");
    let mut staff = match staff(&state, &headers, &back).await {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    if !browser::origin_is_ours(&headers, &state) {
        return crate::web::forbidden();
    }
    // The token first: nothing of a forged form is read further.
    match form.next_field().await {
        Ok(Some(first)) if first.name() == Some(browser::CSRF_FIELD) => {
            let token = first.text().await.unwrap_or_default();
            if token.len() > 256 || !browser::csrf_matches(&staff.secret, &token) {
                return crate::web::forbidden();
            }
        }
        _ => return crate::web::forbidden(),
    }
    let Some((scope, org)) = form_target(&staff, &segment, Permission::EvidenceUpload) else {
        return not_here(&staff, &segment);
    };
    staff.caller = staff.caller.with_request(meta);
    let zone = zone(&state, org).await;
    let mut fields = EvidenceForm::default();
    let mut result: Option<Result<(), Error>> = None;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                return super::message(
                    StatusCode::BAD_REQUEST,
                    None,
                    "The form could not be read",
                    "The form arrived incomplete. Go back and send it again.",
                );
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" && result.is_none() {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            if file_name.is_empty() {
                while let Ok(Some(_)) = field.chunk().await {}
                result = Some(Err(Error::invalid("file", "choose a file to upload")));
                continue;
            }
            let content_type = field
                .content_type()
                .filter(|t| !t.is_empty())
                .unwrap_or("application/octet-stream")
                .to_owned();
            let mut errors = Vec::new();
            let meta = new_evidence(&fields, &key, zone, &mut errors);
            if !errors.is_empty() {
                while let Ok(Some(_)) = field.chunk().await {}
                result = Some(Err(Error::Validation(errors)));
                continue;
            }
            let body = futures::stream::unfold(&mut field, |f| async move {
                match f.chunk().await {
                    Ok(Some(bytes)) => Some((Ok(bytes.to_vec()), f)),
                    Ok(None) => None,
                    Err(e) => Some((Err(e.to_string()), f)),
                }
            });
            let stored = state
                .regentra
                .add_file_evidence(&staff.caller, org, meta, &file_name, &content_type, body)
                .await
                .map(|_| ());
            // Whatever the core left unread of a refused file: read past.
            while let Ok(Some(_)) = field.chunk().await {}
            result = Some(stored);
        } else if FILE_FIELDS.contains(&name.as_str()) && result.is_none() {
            let mut text = Vec::new();
            while let Ok(Some(chunk)) = field.chunk().await {
                if text.len() + chunk.len() > TEXT_LIMIT {
                    return super::message(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        None,
                        "The form is too long",
                        "A title or date can be at most 64 KiB of text.",
                    );
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            match name.as_str() {
                "title" => fields.title = text,
                _ => fields.valid_until = text,
            }
        } else {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    let result = result.unwrap_or_else(|| Err(Error::invalid("file", "choose a file to upload")));
    after_evidence(&state, &staff, (&scope, org, &key), "file", fields, result).await
}
