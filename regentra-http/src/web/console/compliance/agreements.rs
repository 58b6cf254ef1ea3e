//! HIPAA's business associate agreement register
//! (`/app/{org}/compliance/baa`): every agreement of the client with its
//! vendor, what the vendor does and how it touches PHI, its status and
//! dates, the signed copy when it is evidence; the renewals the core finds
//! due (or overdue) and the expired agreements first. Compliance staff add
//! agreements there and, on an agreement's own page, change its details,
//! renew it (new dates, signed again) or terminate it: each one the core's
//! `update_agreement`, which checks it as it does a new one.

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use regentra_core::compliance::EvidenceContent;
use regentra_core::compliance::evidence::{EvidenceOrder, EvidenceQuery};
use regentra_core::compliance::features::{Agreement, AgreementStatus, NewAgreement};
use regentra_core::ids::{AgreementId, EvidenceId, OrgId};
use regentra_core::rbac::Permission;
use regentra_core::store::{PageRequest, ScanRequest};
use regentra_core::{Error, FieldError, Principal};
use serde::Deserialize;

use super::features::{Day, day, not_adopted, not_adopted_page, parse_day};
use super::{FEATURES, Tab, control_href, org_allowing, refused, tabs, workspace};
use crate::server::AppState;
use crate::web::console::{Done, org_form};
use crate::web::console::{Scope, Section, Shell, Staff, not_found_page};
use crate::web::display::Badge;
use crate::web::{Chrome, CsrfField, render};

/// Renewals due within this many days are called out at the top.
const DUE_WITHIN_DAYS: u32 = 60;

/// The common control whose evidence holds vendor agreements ("Vendor
/// agreements", behind HIPAA 164.308(b)): the signed copy of a BAA is
/// evidence of it.
const AGREEMENT_CONTROL: &str = "VR-02";

/// Pieces of the control's evidence offered as the signed copy.
const DOCUMENTS: usize = 100;

/// The register's feature (HIPAA).
fn hipaa() -> &'static super::Feature {
    &FEATURES[0]
}

// ---- the form -------------------------------------------------------------

/// An agreement as its form holds it (as typed).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AgreementForm {
    #[serde(default)]
    vendor: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    phi_access: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    signed_on: String,
    #[serde(default)]
    renewal_due: String,
    /// An evidence id, or empty.
    #[serde(default)]
    document: String,
    #[serde(default)]
    notes: String,
    /// On an agreement's page: `renew`, `terminate`, else a plain save.
    #[serde(default)]
    intent: String,
}

impl AgreementForm {
    fn of(a: &Agreement) -> Self {
        Self {
            vendor: a.vendor.clone(),
            services: a.services.clone(),
            phi_access: a.phi_access.clone(),
            status: status_key(a.status).to_owned(),
            signed_on: a.signed_on.map(iso).unwrap_or_default(),
            renewal_due: a.renewal_due.map(iso).unwrap_or_default(),
            document: a.document.map(|d| d.to_string()).unwrap_or_default(),
            notes: a.notes.clone(),
            intent: String::new(),
        }
    }

    /// The agreement the form describes, or the fields it could not read
    /// (the core checks the rest).
    fn agreement(&self) -> Result<NewAgreement, Vec<FieldError>> {
        let mut errors = Vec::new();
        let status = match self.status.as_str() {
            "pending" => Some(AgreementStatus::Pending),
            "signed" => Some(AgreementStatus::Signed),
            "expired" => Some(AgreementStatus::Expired),
            "terminated" => Some(AgreementStatus::Terminated),
            _ => {
                errors.push(FieldError::new("status", "choose the agreement's status"));
                None
            }
        };
        let mut day_of = |field: &str, typed: &str| match parse_day(field, typed) {
            Ok(date) => date,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let signed_on = day_of("signed_on", &self.signed_on);
        let renewal_due = day_of("renewal_due", &self.renewal_due);
        let document = match self.document.trim() {
            "" => None,
            typed => match typed.parse::<uuid::Uuid>() {
                Ok(id) => Some(EvidenceId(id)),
                Err(_) => {
                    errors.push(FieldError::new(
                        "document",
                        "choose evidence of this client",
                    ));
                    None
                }
            },
        };
        match status {
            Some(status) if errors.is_empty() => Ok(NewAgreement {
                vendor: self.vendor.clone(),
                services: self.services.clone(),
                phi_access: self.phi_access.clone(),
                status,
                signed_on,
                renewal_due,
                document,
                notes: self.notes.trim().to_owned(),
            }),
            _ => Err(errors),
        }
    }
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn status_key(status: AgreementStatus) -> &'static str {
    match status {
        AgreementStatus::Pending => "pending",
        AgreementStatus::Signed => "signed",
        AgreementStatus::Expired => "expired",
        AgreementStatus::Terminated => "terminated",
    }
}

/// The problems of a refused form by field, or the answer that replaces
/// the page (not adopted, not found, ...).
fn field_errors(error: Error) -> Result<Vec<FieldError>, Error> {
    match error {
        e if not_adopted(&e) => Err(e),
        Error::Validation(errors) => Ok(errors),
        Error::AlreadyExists { field, .. } if field == "vendor" => Ok(vec![FieldError::new(
            "vendor",
            "this vendor already has an agreement in the register: change that one",
        )]),
        e => Err(e),
    }
}

/// A piece of evidence the signed copy may be.
struct Document {
    id: String,
    title: String,
    /// The file, the link, or the evidence library for an attestation.
    href: String,
}

/// The evidence of the agreements control, newest first.
async fn documents(
    state: &AppState,
    caller: &Principal,
    scope: &Scope,
    org: OrgId,
) -> Vec<Document> {
    let query = EvidenceQuery {
        control: Some(AGREEMENT_CONTROL.to_owned()),
        order: EvidenceOrder::Added,
        limit: DOCUMENTS,
        ..EvidenceQuery::default()
    };
    // Whoever cannot read evidence still reads the register.
    let Ok(found) = state.regentra.evidence(caller, org, query).await else {
        return Vec::new();
    };
    found
        .items
        .into_iter()
        .map(|v| {
            let e = v.evidence;
            Document {
                id: e.id.to_string(),
                href: match &e.content {
                    EvidenceContent::File { .. } => {
                        scope.path(&format!("compliance/evidence/{}/file", e.id))
                    }
                    EvidenceContent::Link { url } => url.clone(),
                    _ => scope.path("compliance/evidence"),
                },
                title: e.title,
            }
        })
        .collect()
}

/// The link to an agreement's signed copy.
fn document_link(scope: &Scope, documents: &[Document], id: EvidenceId) -> (String, String) {
    let id = id.to_string();
    documents
        .iter()
        .find(|d| d.id == id)
        .map(|d| (d.title.clone(), d.href.clone()))
        .unwrap_or_else(|| {
            (
                "Evidence on file".to_owned(),
                scope.path("compliance/evidence"),
            )
        })
}

/// The form's fields, what they hold and their problems.
struct FormView {
    typed: AgreementForm,
    errors: BTreeMap<String, String>,
    documents: Vec<Document>,
}

impl FormView {
    fn new(typed: AgreementForm, errors: Vec<FieldError>, documents: Vec<Document>) -> Self {
        Self {
            typed,
            errors: errors.into_iter().map(|e| (e.field, e.message)).collect(),
            documents,
        }
    }

    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    /// Whether the evidence `id` is among those the form offers.
    fn offered(&self, id: &str) -> bool {
        self.documents.iter().any(|d| d.id == id)
    }
}

// ---- the register ---------------------------------------------------------

struct Row {
    vendor: String,
    services: String,
    phi_access: String,
    badge: Badge,
    signed_on: Option<Day>,
    renewal_due: Option<Day>,
    /// "Overdue by 3 days", "In 12 days" for renewals called out.
    renewal_note: Option<String>,
    document: Option<(String, String)>,
    notes: String,
    edit_href: String,
}

#[derive(Template)]
#[template(path = "web/console/compliance_baa.html")]
struct RegisterPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    due: usize,
    overdue: usize,
    expired: usize,
    due_within: u32,
    manage: bool,
    form: FormView,
    csrf_field: CsrfField,
    action: String,
    control_href: String,
    gap_href: String,
    frameworks_href: String,
    notice: Option<String>,
    /// The add form failed: open it and focus its alert.
    failed: bool,
}

/// `GET /app/{org}/compliance/baa`.
pub async fn register(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/baa");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = query.notice(&[
        ("added", "The agreement was added to the register."),
        ("saved", "The agreement was saved."),
        ("renewed", "The agreement was renewed."),
        ("terminated", "The agreement was terminated."),
    ]);
    show_register(&state, &staff, &scope, org, notice, None).await
}

/// Every agreement of the register, in the order they were added.
async fn all_agreements(
    state: &AppState,
    caller: &Principal,
    org: OrgId,
) -> Result<Vec<Agreement>, Error> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(200);
    loop {
        let listing = state.regentra.agreements(caller, org, page).await?;
        let last = listing.items.last().map(|a| a.id.0);
        all.extend(listing.items);
        match (listing.next, last) {
            (Some(_), Some(last)) => page = PageRequest::after(Some(last), 200),
            _ => return Ok(all),
        }
    }
}

/// The signed agreements the core finds due for renewal within `days`
/// (overdue ones included), soonest first.
async fn renewals_due(
    state: &AppState,
    caller: &Principal,
    org: OrgId,
    days: u32,
) -> Result<Vec<Agreement>, Error> {
    let mut all = Vec::new();
    let mut page = ScanRequest::first(200);
    loop {
        let listing = state
            .regentra
            .agreements_expiring(caller, org, days, page)
            .await?;
        all.extend(listing.items);
        match listing.next {
            Some(next) => page = ScanRequest::after(Some(next), 200),
            None => return Ok(all),
        }
    }
}

async fn show_register(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    notice: Option<String>,
    failure: Option<(AgreementForm, Vec<FieldError>)>,
) -> Response {
    let agreements = match all_agreements(state, &staff.caller, org).await {
        Ok(agreements) => agreements,
        Err(e) if not_adopted(&e) => return not_adopted_page(staff, scope, org, hipaa()),
        Err(e) => return refused(staff, scope, &e),
    };
    let due = match renewals_due(state, &staff.caller, org, DUE_WITHIN_DAYS).await {
        Ok(due) => due,
        Err(e) => return refused(staff, scope, &e),
    };
    let today = state.regentra.now().date_naive();
    let documents = documents(state, &staff.caller, scope, org).await;
    // Renewals due first (as the core orders them), then the expired
    // agreements, then the rest as they were added.
    let due_ids: HashSet<AgreementId> = due.iter().map(|a| a.id).collect();
    let expired = agreements
        .iter()
        .filter(|a| a.status == AgreementStatus::Expired);
    let rest = agreements
        .iter()
        .filter(|a| a.status != AgreementStatus::Expired && !due_ids.contains(&a.id));
    let rows: Vec<Row> = due
        .iter()
        .map(|a| row(scope, a, &documents, today, true))
        .chain(
            expired
                .chain(rest)
                .map(|a| row(scope, a, &documents, today, false)),
        )
        .collect();
    let overdue = due
        .iter()
        .filter(|a| a.renewal_due.is_some_and(|d| d < today))
        .count();
    let failed = failure.is_some();
    let (typed, errors) = failure.unwrap_or_else(|| {
        (
            AgreementForm {
                status: "signed".to_owned(),
                ..AgreementForm::default()
            },
            Vec::new(),
        )
    });
    let shell = Shell::new(
        staff,
        Some(scope),
        Some(Section::Compliance),
        "Business associate agreements",
    );
    render(
        if failed {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &RegisterPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(scope),
            tabs: tabs(scope, "frameworks"),
            rows,
            due: due.len() - overdue,
            overdue,
            expired: agreements
                .iter()
                .filter(|a| a.status == AgreementStatus::Expired)
                .count(),
            due_within: DUE_WITHIN_DAYS,
            manage: staff.can(org, Permission::ControlsUpdate),
            form: FormView::new(typed, errors, documents),
            csrf_field: staff.csrf_field(),
            action: scope.path("compliance/baa"),
            control_href: control_href(scope, AGREEMENT_CONTROL),
            gap_href: scope.path("compliance/frameworks/hipaa"),
            frameworks_href: scope.path("compliance/frameworks"),
            notice,
            failed,
        },
    )
}

fn row(scope: &Scope, a: &Agreement, documents: &[Document], today: NaiveDate, due: bool) -> Row {
    let overdue = a.renewal_due.is_some_and(|d| d < today);
    let (label, class) = match a.status {
        AgreementStatus::Signed if due && overdue => ("Renewal overdue", "badge-danger"),
        AgreementStatus::Signed if due => ("Renewal due", "badge-warning"),
        AgreementStatus::Signed => ("Signed", "badge-success"),
        AgreementStatus::Pending => ("Pending", "badge-info"),
        AgreementStatus::Expired => ("Expired", "badge-danger"),
        AgreementStatus::Terminated => ("Terminated", "badge-muted"),
    };
    let renewal_note = a.renewal_due.filter(|_| due).map(|d| {
        let days = (d - today).num_days();
        match days {
            0 => "Due today".to_owned(),
            1 => "Due tomorrow".to_owned(),
            -1 => "Overdue by 1 day".to_owned(),
            n if n < 0 => format!("Overdue by {} days", -n),
            n => format!("Due in {n} days"),
        }
    });
    Row {
        vendor: a.vendor.clone(),
        services: a.services.clone(),
        phi_access: a.phi_access.clone(),
        badge: Badge { label, class },
        signed_on: a.signed_on.map(day),
        renewal_due: a.renewal_due.map(day),
        renewal_note,
        document: a.document.map(|d| document_link(scope, documents, d)),
        notes: a.notes.clone(),
        edit_href: scope.path(&format!("compliance/baa/{}", a.id)),
    }
}

/// `POST /app/{org}/compliance/baa`: adds an agreement.
pub async fn add(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/baa");
    let (staff, form, scope, org) =
        match org_form::<AgreementForm>(&state, &segment, &back, request, |staff, segment| {
            org_allowing(staff, segment, Permission::ControlsUpdate)
        })
        .await
        {
            Ok(found) => found,
            Err(response) => return response,
        };
    let new = match form.agreement() {
        Ok(new) => new,
        Err(errors) => {
            return show_register(&state, &staff, &scope, org, None, Some((form, errors))).await;
        }
    };
    match state.regentra.add_agreement(&staff.caller, org, new).await {
        Ok(_) => {
            Redirect::to(&format!("{}?done=added", scope.path("compliance/baa"))).into_response()
        }
        Err(e) => match field_errors(e) {
            Ok(errors) => {
                show_register(&state, &staff, &scope, org, None, Some((form, errors))).await
            }
            // Not adopted: there is no register to add to.
            Err(e) if not_adopted(&e) => not_found_page(&staff, Some(&scope)),
            Err(e) => refused(&staff, &scope, &e),
        },
    }
}

// ---- one agreement --------------------------------------------------------

#[derive(Template)]
#[template(path = "web/console/compliance_baa_edit.html")]
struct EditPage {
    shell: Option<Shell>,
    chrome: Chrome,
    vendor: String,
    status: Badge,
    terminated: bool,
    form: FormView,
    /// The renewal form: its dates as typed and their problems.
    renewal: FormView,
    csrf_field: CsrfField,
    action: String,
    back: String,
    control_href: String,
}

/// The agreement of the path, for someone who may change it: else the
/// answer that replaces the page.
async fn editable(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    agreement: &str,
) -> Result<Agreement, Response> {
    if !staff.can(org, Permission::ControlsUpdate) {
        return Err(not_found_page(staff, Some(scope)));
    }
    let Ok(id) = agreement.parse::<uuid::Uuid>() else {
        return Err(not_found_page(staff, Some(scope)));
    };
    match state
        .regentra
        .agreement(&staff.caller, org, AgreementId(id))
        .await
    {
        Ok(found) => Ok(found),
        Err(e) if not_adopted(&e) => Err(not_found_page(staff, Some(scope))),
        Err(e) => Err(refused(staff, scope, &e)),
    }
}

/// `GET /app/{org}/compliance/baa/{agreement}`: its details to change, a
/// renewal and termination (for those who may change the register).
pub async fn edit_page(
    State(state): State<AppState>,
    Path((segment, agreement)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/baa/{agreement}");
    let (staff, scope, org) = match workspace(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let found = match editable(&state, &staff, &scope, org, &agreement).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let renewal = AgreementForm {
        signed_on: iso(state.regentra.now().date_naive()),
        ..AgreementForm::default()
    };
    show_edit(&state, &staff, &scope, org, &found, Failed::None, renewal).await
}

/// Which of the page's forms failed, with its problems.
enum Failed {
    None,
    Details(Box<AgreementForm>, Vec<FieldError>),
    Renewal(Vec<FieldError>),
}

async fn show_edit(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    agreement: &Agreement,
    failed: Failed,
    renewal: AgreementForm,
) -> Response {
    let documents = documents(state, &staff.caller, scope, org).await;
    let today = state.regentra.now().date_naive();
    let (form, renewal, status) = match failed {
        Failed::None => (
            FormView::new(AgreementForm::of(agreement), Vec::new(), documents),
            FormView::new(renewal, Vec::new(), Vec::new()),
            StatusCode::OK,
        ),
        Failed::Details(typed, errors) => (
            FormView::new(*typed, errors, documents),
            FormView::new(renewal, Vec::new(), Vec::new()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Failed::Renewal(errors) => (
            FormView::new(AgreementForm::of(agreement), Vec::new(), documents),
            FormView::new(renewal, errors, Vec::new()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let title = format!("Business associate agreement: {}", agreement.vendor);
    let shell = Shell::new(staff, Some(scope), Some(Section::Compliance), &title);
    let due = agreement.status == AgreementStatus::Signed
        && agreement
            .renewal_due
            .is_some_and(|d| (d - today).num_days() <= i64::from(DUE_WITHIN_DAYS));
    render(
        status,
        &EditPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            vendor: agreement.vendor.clone(),
            status: row(scope, agreement, &[], today, due).badge,
            terminated: agreement.status == AgreementStatus::Terminated,
            form,
            renewal,
            csrf_field: staff.csrf_field(),
            action: scope.path(&format!("compliance/baa/{}", agreement.id)),
            back: scope.path("compliance/baa"),
            control_href: control_href(scope, AGREEMENT_CONTROL),
        },
    )
}

/// `POST /app/{org}/compliance/baa/{agreement}`: saves its details, or
/// renews it (`intent=renew`: signed again, with the new dates), or
/// terminates it (`intent=terminate`), through the core's
/// `update_agreement`.
pub async fn save(
    State(state): State<AppState>,
    Path((segment, agreement)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/compliance/baa/{agreement}");
    let (staff, form, scope, org) =
        match org_form::<AgreementForm>(&state, &segment, &back, request, |staff, segment| {
            org_allowing(staff, segment, Permission::ControlsUpdate)
        })
        .await
        {
            Ok(found) => found,
            Err(response) => return response,
        };
    let current = match editable(&state, &staff, &scope, org, &agreement).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut kept = AgreementForm::of(&current);
    let (change, done) = match form.intent.as_str() {
        "renew" => {
            kept.status = "signed".to_owned();
            kept.signed_on = form.signed_on.clone();
            kept.renewal_due = form.renewal_due.clone();
            (kept.agreement(), "renewed")
        }
        "terminate" => {
            kept.status = "terminated".to_owned();
            (kept.agreement(), "terminated")
        }
        _ => (form.agreement(), "saved"),
    };
    let renewing = done == "renewed";
    let renewal = AgreementForm {
        signed_on: form.signed_on.clone(),
        renewal_due: form.renewal_due.clone(),
        ..AgreementForm::default()
    };
    let failed = |errors: Vec<FieldError>| {
        if renewing {
            Failed::Renewal(errors)
        } else {
            Failed::Details(Box::new(form.clone()), errors)
        }
    };
    let change = match change {
        Ok(change) => change,
        Err(errors) => {
            return show_edit(
                &state,
                &staff,
                &scope,
                org,
                &current,
                failed(errors),
                renewal,
            )
            .await;
        }
    };
    match state
        .regentra
        .update_agreement(&staff.caller, org, current.id, change)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("{}?done={done}", scope.path("compliance/baa"))).into_response()
        }
        Err(e) => match field_errors(e) {
            Ok(errors) => {
                show_edit(
                    &state,
                    &staff,
                    &scope,
                    org,
                    &current,
                    failed(errors),
                    renewal,
                )
                .await
            }
            Err(e) if not_adopted(&e) => not_found_page(&staff, Some(&scope)),
            Err(e) => refused(&staff, &scope, &e),
        },
    }
}
