//! A client's policies in the console (`/app/{org}/policies`): the list
//! with each policy's status, owner, version and last change; a new
//! policy from the template catalog or blank; a policy's page with its
//! text, the lifecycle steps the person's role allows (submit, approve,
//! publish, retire), its version history with who wrote, approved and
//! published each version, and a line diff between any two versions; the
//! markdown editor with a preview rendered by the server (no script).
//!
//! Everything goes through the core's policy operations, which decide
//! again on every step: a viewer sees the pages without a form, and a form
//! they post anyway is the 404 page with nothing changed. Campaigns have
//! their own module ([`super::campaigns`]).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use regentra_core::ids::{OrgId, PolicyId, UserId};
use regentra_core::policies::service::{NewPolicy, PolicyPerson, PolicyView};
use regentra_core::policies::{PolicyStatus, PolicyVersion, VersionStatus, templates};
use regentra_core::rbac::{Permission, Role};
use regentra_core::store::PageRequest;
use regentra_core::{Error, FieldError};
use serde::Deserialize;
use similar::{ChangeTag, TextDiff};

use super::{
    Scope, Section, Shell, Staff, choose_client, failed, not_found_page, staff_form, staff_in,
};
use crate::server::AppState;
use crate::web::console::Done;
use crate::web::console::confirm::Confirmed;
use crate::web::display::{Badge, When, when};
use crate::web::markdown::to_safe_html;
use crate::web::{Chrome, CsrfField, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/policies", get(list))
        .route("/app/{scope}/policies/new", get(new_page).post(create))
        .route("/app/{scope}/policies/{policy_id}", get(policy_page))
        .route(
            "/app/{scope}/policies/{policy_id}/edit",
            get(edit_page).post(save),
        )
        .route("/app/{scope}/policies/{policy_id}/diff", get(diff_page))
        .route(
            "/app/{scope}/policies/{policy_id}/steps/{step}",
            post(take_step),
        )
}

// ---- shared by the policy and campaign pages -------------------------

/// The org of a page's path, if the person reads its policies there.
pub(super) fn org_reading(staff: &Staff, scope: &Scope) -> Option<OrgId> {
    match scope {
        Scope::Org(org) if staff.can(*org, Permission::PoliciesRead) => Some(*org),
        _ => None,
    }
}

/// The org's people by id, for naming who a record names. A failure names
/// nobody (the page says "someone") rather than failing the page.
pub(super) async fn names(state: &AppState, staff: &Staff, org: OrgId) -> Names {
    let people = state
        .regentra
        .policy_people(&staff.caller, org)
        .await
        .unwrap_or_default();
    Names {
        me: staff.caller.user,
        by_id: people.iter().map(|p| (p.user, p.name.clone())).collect(),
        people,
    }
}

/// Who is who in an org, by name.
pub(super) struct Names {
    me: UserId,
    by_id: HashMap<UserId, String>,
    pub(super) people: Vec<PolicyPerson>,
}

impl Names {
    pub(super) fn of(&self, user: UserId) -> String {
        if user == self.me {
            return "You".to_owned();
        }
        self.by_id
            .get(&user)
            .filter(|n| !n.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "a former member".to_owned())
    }
}

/// A role in words.
pub(super) fn role_label(role: Role) -> &'static str {
    match role {
        Role::SuperAdmin => "Platform admin",
        Role::OrgAdmin => "Admin",
        Role::MspAdmin => "MSP admin",
        Role::ComplianceManager => "Compliance manager",
        Role::ComplianceOfficer => "Compliance officer",
        Role::Employee => "Employee",
        Role::Viewer => "Viewer",
        Role::Technician => "Technician",
    }
}

pub(super) fn policy_badge(status: PolicyStatus) -> Badge {
    let (label, class) = match status {
        PolicyStatus::Draft => ("Draft", "badge-muted"),
        PolicyStatus::InReview => ("In review", "badge-warning"),
        PolicyStatus::Approved => ("Approved", "badge-info"),
        PolicyStatus::Published => ("Published", "badge-success"),
        PolicyStatus::Retired => ("Retired", "badge-danger"),
    };
    Badge { label, class }
}

fn version_badge(status: VersionStatus) -> Badge {
    let (label, class) = match status {
        VersionStatus::Draft => ("Draft", "badge-muted"),
        VersionStatus::InReview => ("In review", "badge-warning"),
        VersionStatus::Approved => ("Approved", "badge-info"),
        VersionStatus::Published => ("Published", "badge-success"),
        VersionStatus::Superseded => ("Superseded", "badge-muted"),
    };
    Badge { label, class }
}

pub(super) fn parse_policy(text: &str) -> Option<PolicyId> {
    text.parse::<uuid::Uuid>().ok().map(PolicyId)
}

/// The answer to an operation the core refused or could not do: an id that
/// names nothing here and a right the person lacks are both the 404 page.
pub(super) fn refused(staff: &Staff, scope: &Scope, error: &Error) -> Response {
    match error {
        Error::NotFound { .. } | Error::PermissionDenied { .. } => {
            not_found_page(staff, Some(scope))
        }
        e => failed(e),
    }
}

pub(super) async fn zone(state: &AppState, org: OrgId) -> chrono_tz::Tz {
    state
        .regentra
        .time_zone(org)
        .await
        .unwrap_or(chrono_tz::Tz::UTC)
}

// ---- the list -----------------------------------------------------------

struct Row {
    href: String,
    title: String,
    category: String,
    badge: Badge,
    owner: String,
    version: String,
    changed: When,
}

#[derive(Template)]
#[template(path = "web/console/policies.html")]
struct ListPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    rows: Vec<Row>,
    new_policy: Option<String>,
    campaigns: String,
    next_page: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    after: Option<String>,
    done: Option<String>,
}

/// Policies per page of the list.
const PAGE_SIZE: usize = 50;

/// `GET /app/{org}/policies`: the client's policies, oldest first.
async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if scope == Scope::All {
        return choose_client(&staff, Section::Policies);
    }
    let Some(org) = org_reading(&staff, &scope) else {
        return not_found_page(&staff, Some(&scope));
    };
    // A cursor that is not an id starts again from the first page.
    let after = query
        .after
        .as_deref()
        .and_then(|a| a.parse::<uuid::Uuid>().ok());
    let page = PageRequest {
        after,
        ..PageRequest::first(PAGE_SIZE)
    };
    let listing = match state.regentra.policies(&staff.caller, org, page).await {
        Ok(listing) => listing,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let names = names(&state, &staff, org).await;
    let zone = zone(&state, org).await;
    let rows = listing
        .items
        .into_iter()
        .map(|p| Row {
            href: scope.path(&format!("policies/{}", p.id)),
            badge: policy_badge(p.status),
            owner: p
                .owner
                .map(|o| names.of(o))
                .unwrap_or_else(|| "No owner".to_owned()),
            version: match p.published_version {
                Some(n) if n == p.latest_version => format!("v{n}"),
                Some(n) => format!("v{n} in force, v{} in the works", p.latest_version),
                None => format!("v{}", p.latest_version),
            },
            changed: when(p.updated_at, zone),
            category: p.category,
            title: p.title,
        })
        .collect();
    let base = scope.path("policies");
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Policies), "Policies");
    render(
        StatusCode::OK,
        &ListPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            rows,
            new_policy: staff
                .can(org, Permission::PoliciesManage)
                .then(|| scope.path("policies/new")),
            campaigns: scope.path("policies/campaigns"),
            next_page: listing.next.map(|next| format!("{base}?after={next}")),
            notice: (query.done.as_deref() == Some("retired"))
                .then(|| "The policy was retired.".to_owned()),
        },
    )
}

// ---- a new policy ---------------------------------------------------------

/// A template of the catalog, as the new-policy page offers it.
struct TemplateChoice {
    key: String,
    title: String,
    category: String,
    summary: String,
    chosen: bool,
}

/// Someone a chooser offers.
pub(super) struct PersonChoice {
    pub user: String,
    pub label: String,
    pub chosen: bool,
}

#[derive(Debug, Default, Deserialize)]
struct NewForm {
    /// `template` or `blank`: which of the page's two forms was posted.
    #[serde(default)]
    start: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    owner_role: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    body: String,
    /// `preview` shows the blank policy's text as it will read.
    #[serde(default)]
    action: String,
}

impl NewForm {
    fn owner(&self) -> Option<UserId> {
        self.owner.parse::<uuid::Uuid>().ok().map(UserId)
    }
}

#[derive(Template)]
#[template(path = "web/console/policy_new.html")]
struct NewPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    back: String,
    action: String,
    templates: Vec<TemplateChoice>,
    owners: Vec<PersonChoice>,
    form: NewForm,
    preview: Option<String>,
    /// Which form the problems belong to (`template` or `blank`).
    errors_in: String,
    errors: Vec<Problem>,
    template_error: Option<String>,
    owner_role_error: Option<String>,
    owner_error: Option<String>,
    title_error: Option<String>,
    category_error: Option<String>,
    body_error: Option<String>,
}

/// A problem with a form, as its summary lists it.
pub(super) struct Problem {
    pub field: String,
    pub label: &'static str,
    pub message: String,
}

impl Problem {
    fn of(error: &FieldError) -> Self {
        Self {
            field: error.field.clone(),
            label: match error.field.as_str() {
                "template" => "Template",
                "owner_role" => "Owner's title in the text",
                "owner" => "Owner",
                "title" => "Title",
                "category" => "Category",
                "body" => "Text",
                "controls" => "Controls",
                _ => "The policy",
            },
            message: error.message.clone(),
        }
    }
}

fn field_error(errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|f| f.field == field)
        .map(|f| f.message.clone())
}

/// The new-policy page, for a person who manages the org's policies
/// (everyone else: the 404 page).
async fn new_policy_page(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    form: NewForm,
    preview: Option<String>,
    errors: Vec<FieldError>,
) -> Response {
    let org = match scope {
        Scope::Org(org) if staff.can(*org, Permission::PoliciesManage) => *org,
        _ => return not_found_page(staff, Some(scope)),
    };
    let names = names(state, staff, org).await;
    let owner = form.owner();
    let owners = names
        .people
        .iter()
        .filter(|p| p.role != Role::Employee)
        .map(|p| PersonChoice {
            user: p.user.to_string(),
            label: format!("{} ({})", p.name, role_label(p.role)),
            chosen: Some(p.user) == owner,
        })
        .collect();
    let templates = templates()
        .iter()
        .map(|t| TemplateChoice {
            chosen: t.key == form.template,
            key: t.key.clone(),
            title: t.title.clone(),
            category: t.category.clone(),
            summary: t.summary.clone(),
        })
        .collect();
    let shell = Shell::new(staff, Some(scope), Some(Section::Policies), "New policy");
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &NewPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            back: scope.path("policies"),
            action: scope.path("policies/new"),
            templates,
            owners,
            preview,
            errors_in: form.start.clone(),
            template_error: field_error(&errors, "template"),
            owner_role_error: field_error(&errors, "owner_role"),
            owner_error: field_error(&errors, "owner"),
            title_error: field_error(&errors, "title"),
            category_error: field_error(&errors, "category"),
            body_error: field_error(&errors, "body"),
            errors: errors.iter().map(Problem::of).collect(),
            form,
        },
    )
}

/// `GET /app/{org}/policies/new`.
async fn new_page(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies/new");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let form = NewForm {
        owner_role: "Security Officer".to_owned(),
        ..NewForm::default()
    };
    new_policy_page(&state, &staff, &scope, form, None, Vec::new()).await
}

/// `POST /app/{org}/policies/new`: a policy from a template, or a blank
/// one (or its preview); the new policy's page, or this page again with
/// the problems next to their fields and nothing saved.
async fn create(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/policies/new");
    let (staff, form) = match staff_form::<NewForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(scope @ Scope::Org(org)) = staff.scope(&segment) else {
        return not_found_page(&staff, None);
    };
    if !staff.can(org, Permission::PoliciesManage) {
        return not_found_page(&staff, Some(&scope));
    }
    let created = if form.start == "template" {
        // The form's own checks, which the core has no field for: a
        // template must be chosen, and the text names its owner.
        let mut errors = Vec::new();
        if form.template.is_empty() {
            errors.push(FieldError::new("template", "choose a template"));
        }
        if form.owner_role.trim().is_empty() {
            errors.push(FieldError::new(
                "owner_role",
                "say how the text names the policy's owner, e.g. Security Officer",
            ));
        }
        if !errors.is_empty() {
            return new_policy_page(&state, &staff, &scope, form, None, errors).await;
        }
        state
            .regentra
            .create_policy_from_template(
                &staff.caller,
                org,
                &form.template,
                form.owner(),
                form.owner_role.trim(),
            )
            .await
    } else {
        if form.action == "preview" {
            let preview = to_safe_html(&form.body);
            return new_policy_page(&state, &staff, &scope, form, Some(preview), Vec::new()).await;
        }
        state
            .regentra
            .create_policy(
                &staff.caller,
                org,
                NewPolicy {
                    title: form.title.clone(),
                    category: form.category.clone(),
                    owner: form.owner(),
                    controls: Default::default(),
                    body: form.body.clone(),
                },
            )
            .await
    };
    match created {
        Ok(p) => Redirect::to(&format!(
            "{}?done=created",
            scope.path(&format!("policies/{}", p.id))
        ))
        .into_response(),
        Err(Error::Validation(fields)) => {
            new_policy_page(&state, &staff, &scope, form, None, fields).await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

// ---- a policy -------------------------------------------------------------

/// A lifecycle step the page offers: its button and where it posts.
struct Step {
    label: &'static str,
    action: String,
    hint: &'static str,
    danger: bool,
}

/// One version in the history.
struct VersionRow {
    number: u32,
    title: String,
    badge: Badge,
    created_by: String,
    created: When,
    edited: Option<(String, When)>,
    approved: Option<(String, When)>,
    published: Option<(String, When)>,
    sha: String,
}

/// A version a diff may start or end at.
struct VersionChoice {
    number: u32,
    label: String,
    from: bool,
    to: bool,
}

/// A campaign of the policy, as its page lists it.
pub(super) struct CampaignLine {
    pub href: String,
    pub title: String,
    pub version: u32,
    pub open: bool,
    pub signed: usize,
    pub assigned: usize,
    pub percent: f64,
    pub due: When,
}

#[derive(Template)]
#[template(path = "web/console/policy.html")]
struct PolicyPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    back: String,
    title: String,
    category: String,
    badge: Badge,
    owner: String,
    controls: Vec<String>,
    template: Option<String>,
    /// The version shown: the newest one.
    shown: u32,
    shown_badge: Badge,
    body_html: String,
    published_version: Option<u32>,
    edit: Option<String>,
    steps: Vec<Step>,
    launch: Option<String>,
    versions: Vec<VersionRow>,
    diff_action: String,
    choices: Vec<VersionChoice>,
    campaigns: Vec<CampaignLine>,
    notice: Option<String>,
}

/// `GET /app/{org}/policies/{policy}`.
async fn policy_page(
    State(state): State<AppState>,
    Path((segment, policy_id)): Path<(String, String)>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies/{policy_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(org), Some(id)) = (org_reading(&staff, &scope), parse_policy(&policy_id)) else {
        return not_found_page(&staff, Some(&scope));
    };
    let view: PolicyView = match state.regentra.policy(&staff.caller, org, id).await {
        Ok(view) => view,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let names = names(&state, &staff, org).await;
    let zone = zone(&state, org).await;
    let here = scope.path(&format!("policies/{id}"));
    let p = &view.policy;
    let latest = view.versions.last();
    let latest_status = latest.map(|v| v.status);
    let retired = p.status == PolicyStatus::Retired;
    let manage = staff.can(org, Permission::PoliciesManage);
    let approve = staff.can(org, Permission::PoliciesApprove);
    // What the role allows and the newest version's status makes possible;
    // the core decides again on the post.
    let mut steps = Vec::new();
    if !retired {
        let step = |key: &str| format!("{here}/steps/{key}");
        match latest_status {
            Some(VersionStatus::Draft) if manage => steps.push(Step {
                label: "Submit for review",
                action: step("submit"),
                hint: "A compliance manager or an admin approves it next.",
                danger: false,
            }),
            Some(VersionStatus::InReview) if approve => steps.push(Step {
                label: "Approve",
                action: step("approve"),
                hint: "Approved text can then be published.",
                danger: false,
            }),
            Some(VersionStatus::Approved) if approve => steps.push(Step {
                label: "Publish",
                action: step("publish"),
                hint: "Publishing puts this version in force; its text never changes again.",
                danger: false,
            }),
            _ => {}
        }
        if approve {
            steps.push(Step {
                label: "Retire",
                action: step("retire"),
                hint: "A retired policy keeps its versions and signatures but no longer changes or goes out in campaigns.",
                danger: true,
            });
        }
    }
    let versions = view
        .versions
        .iter()
        .rev()
        .map(|v| version_row(v, &names, zone))
        .collect();
    let newest = latest.map(|v| v.number).unwrap_or(1);
    let (from, to) = (newest.saturating_sub(1).max(1), newest);
    let choices = view
        .versions
        .iter()
        .map(|v| VersionChoice {
            number: v.number,
            label: format!("Version {} ({})", v.number, version_badge(v.status).label),
            from: v.number == from,
            to: v.number == to,
        })
        .collect();
    let campaigns = if staff.can(org, Permission::CampaignsRead) {
        super::campaigns::of_policy(&state, &staff, &scope, org, id, zone).await
    } else {
        Vec::new()
    };
    let notice = query.notice(&[
        ("created", "The policy was created as a draft."),
        ("saved", "Saved."),
        ("submit", "Submitted for review."),
        ("approve", "Approved. It can be published now."),
        (
            "publish",
            "Published: this version is in force, and campaigns can send it.",
        ),
    ]);
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Policies), &p.title);
    render(
        StatusCode::OK,
        &PolicyPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            back: scope.path("policies"),
            title: p.title.clone(),
            category: p.category.clone(),
            badge: policy_badge(p.status),
            owner: p
                .owner
                .map(|o| names.of(o))
                .unwrap_or_else(|| "No owner".to_owned()),
            controls: p.controls.iter().cloned().collect(),
            template: p
                .template
                .as_deref()
                .and_then(regentra_core::policies::templates::template)
                .map(|t| t.title.clone()),
            shown: newest,
            shown_badge: version_badge(latest_status.unwrap_or(VersionStatus::Draft)),
            body_html: latest.map(|v| to_safe_html(&v.body)).unwrap_or_default(),
            published_version: p.published_version,
            edit: (manage && !retired).then(|| format!("{here}/edit")),
            steps,
            launch: (staff.can(org, Permission::CampaignsManage) && p.can_campaign())
                .then(|| format!("{here}/launch")),
            versions,
            diff_action: format!("{here}/diff"),
            choices,
            campaigns,
            notice,
        },
    )
}

fn version_row(v: &PolicyVersion, names: &Names, zone: chrono_tz::Tz) -> VersionRow {
    let by = |who: Option<UserId>, at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map(|at| {
            (
                who.map(|w| names.of(w))
                    .unwrap_or_else(|| "someone".to_owned()),
                when(at, zone),
            )
        })
    };
    VersionRow {
        number: v.number,
        title: v.title.clone(),
        badge: version_badge(v.status),
        created_by: names.of(v.created_by),
        created: when(v.created_at, zone),
        edited: by(v.edited_by, v.edited_at),
        approved: by(v.approved_by, v.approved_at),
        published: by(v.published_by, v.published_at),
        sha: v.sha256.chars().take(12).collect(),
    }
}

// ---- lifecycle steps ------------------------------------------------------

/// `POST /app/{org}/policies/{policy}/steps/{step}`: submit, approve,
/// publish or retire, then back to the policy (the list, once retired).
async fn take_step(
    State(state): State<AppState>,
    Path((segment, policy_id, step)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/policies/{policy_id}");
    let (staff, Confirmed {}) = match staff_form::<Confirmed>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(scope @ Scope::Org(org)) = staff.scope(&segment) else {
        return not_found_page(&staff, None);
    };
    let Some(id) = parse_policy(&policy_id) else {
        return not_found_page(&staff, Some(&scope));
    };
    let permission = match step.as_str() {
        "submit" => Permission::PoliciesManage,
        "approve" | "publish" | "retire" => Permission::PoliciesApprove,
        _ => return not_found_page(&staff, Some(&scope)),
    };
    if !staff.can(org, permission) {
        return not_found_page(&staff, Some(&scope));
    }
    let r = &state.regentra;
    let result = match step.as_str() {
        "submit" => r.submit_policy(&staff.caller, org, id).await.map(drop),
        "approve" => r.approve_policy(&staff.caller, org, id).await.map(drop),
        "publish" => r.publish_policy(&staff.caller, org, id).await.map(drop),
        _ => r.retire_policy(&staff.caller, org, id).await.map(drop),
    };
    let here = scope.path(&format!("policies/{id}"));
    match result {
        Ok(()) if step == "retire" => {
            Redirect::to(&format!("{}?done=retired", scope.path("policies"))).into_response()
        }
        Ok(()) => Redirect::to(&format!("{here}?done={step}")).into_response(),
        // The policy moved on meanwhile (another person took the step):
        // the page as it is now says where it stands.
        Err(Error::Validation(_)) => Redirect::to(&here).into_response(),
        Err(e) => refused(&staff, &scope, &e),
    }
}

// ---- the editor -------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct EditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    action: String,
}

#[derive(Template)]
#[template(path = "web/console/policy_editor.html")]
struct EditorPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    back: String,
    back_label: String,
    action: String,
    note: String,
    form: EditForm,
    preview: Option<String>,
    errors: Vec<Problem>,
    title_error: Option<String>,
    body_error: Option<String>,
}

/// The editor, for a person who manages the org's policies (everyone else:
/// the 404 page), of a policy that is not retired.
fn editor(
    staff: &Staff,
    scope: &Scope,
    view: &PolicyView,
    form: EditForm,
    preview: Option<String>,
    errors: Vec<FieldError>,
) -> Response {
    let here = scope.path(&format!("policies/{}", view.policy.id));
    let latest = view.versions.last();
    let note = match latest.map(|v| v.status) {
        Some(VersionStatus::Draft) => format!(
            "Version {} is a draft: saving changes its text.",
            view.policy.latest_version
        ),
        Some(VersionStatus::InReview) => format!(
            "Version {} is in review: saving changes it and sends it back to draft, to be submitted again.",
            view.policy.latest_version
        ),
        _ => format!(
            "Version {} is {}: its text stays as it is. Saving starts version {} as a draft.",
            view.policy.latest_version,
            latest
                .map(|v| version_badge(v.status).label.to_lowercase())
                .unwrap_or_default(),
            view.policy.latest_version + 1
        ),
    };
    let shell = Shell::new(staff, Some(scope), Some(Section::Policies), "Edit policy");
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &EditorPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            back: here.clone(),
            back_label: view.policy.title.clone(),
            action: format!("{here}/edit"),
            note,
            title_error: field_error(&errors, "title"),
            body_error: field_error(&errors, "body"),
            errors: errors.iter().map(Problem::of).collect(),
            form,
            preview,
        },
    )
}

/// The org and policy of an editor page or post, if the person manages the
/// org's policies.
fn managed(staff: &Staff, segment: &str, policy_id: &str) -> Option<(Scope, OrgId, PolicyId)> {
    match (staff.scope(segment), parse_policy(policy_id)) {
        (Some(Scope::Org(org)), Some(id)) if staff.can(org, Permission::PoliciesManage) => {
            Some((Scope::Org(org), org, id))
        }
        _ => None,
    }
}

/// The policy an editor works on; a retired one is not edited (its page).
async fn editable(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    id: PolicyId,
) -> Result<PolicyView, Response> {
    match state.regentra.policy(&staff.caller, org, id).await {
        Ok(view) if view.policy.status == PolicyStatus::Retired => {
            Err(Redirect::to(&scope.path(&format!("policies/{id}"))).into_response())
        }
        Ok(view) => Ok(view),
        Err(e) => Err(refused(staff, scope, &e)),
    }
}

/// `GET /app/{org}/policies/{policy}/edit`: the editor with the newest text.
async fn edit_page(
    State(state): State<AppState>,
    Path((segment, policy_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies/{policy_id}/edit");
    let staff = match staff_in(&state, &headers, &segment, &path).await {
        Ok((staff, _)) => staff,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &policy_id) else {
        return not_found_page(&staff, staff.scope(&segment).as_ref());
    };
    let view = match editable(&state, &staff, &scope, org, id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let form = EditForm {
        title: view.policy.title.clone(),
        body: view
            .versions
            .last()
            .map(|v| v.body.clone())
            .unwrap_or_default(),
        action: String::new(),
    };
    editor(&staff, &scope, &view, form, None, Vec::new())
}

/// `POST /app/{org}/policies/{policy}/edit`: a preview, or the text saved
/// (back to the policy), or the editor again with the problems next to
/// their fields and nothing saved.
async fn save(
    State(state): State<AppState>,
    Path((segment, policy_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/policies/{policy_id}/edit");
    let (staff, form) = match staff_form::<EditForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &policy_id) else {
        return not_found_page(&staff, staff.scope(&segment).as_ref());
    };
    let view = match editable(&state, &staff, &scope, org, id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    if form.action == "preview" {
        let preview = to_safe_html(&form.body);
        return editor(&staff, &scope, &view, form, Some(preview), Vec::new());
    }
    match state
        .regentra
        .edit_policy(&staff.caller, org, id, Some(&form.title), &form.body)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "{}?done=saved",
            scope.path(&format!("policies/{id}"))
        ))
        .into_response(),
        Err(Error::Validation(fields)) => editor(&staff, &scope, &view, form, None, fields),
        Err(e) => refused(&staff, &scope, &e),
    }
}

// ---- the diff between two versions -----------------------------------------

/// A line of the diff: its words (`Added`, `Removed`, or none when
/// unchanged), its class, its text and its numbers in each version.
struct DiffLine {
    kind: &'static str,
    class: &'static str,
    old: Option<usize>,
    new: Option<usize>,
    text: String,
}

/// A run of changed lines with their context.
struct Hunk {
    lines: Vec<DiffLine>,
}

#[derive(Template)]
#[template(path = "web/console/policy_diff.html")]
struct DiffPage {
    shell: Option<Shell>,
    chrome: Chrome,
    back: String,
    title: String,
    from: u32,
    to: u32,
    added: usize,
    removed: usize,
    hunks: Vec<Hunk>,
    title_change: Option<(String, String)>,
    action: String,
    choices: Vec<VersionChoice>,
}

#[derive(Debug, Default, Deserialize)]
struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// `GET /app/{org}/policies/{policy}/diff?from=&to=`: the lines that
/// differ between two versions, as words and marks, not color alone.
async fn diff_page(
    State(state): State<AppState>,
    Path((segment, policy_id)): Path<(String, String)>,
    Query(query): Query<DiffQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies/{policy_id}/diff");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(org), Some(id)) = (org_reading(&staff, &scope), parse_policy(&policy_id)) else {
        return not_found_page(&staff, Some(&scope));
    };
    let view = match state.regentra.policy(&staff.caller, org, id).await {
        Ok(view) => view,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let number = |text: &Option<String>| text.as_deref().and_then(|t| t.trim().parse::<u32>().ok());
    let version = |n: Option<u32>| n.and_then(|n| view.versions.iter().find(|v| v.number == n));
    let newest = view.versions.last();
    let (Some(old), Some(new)) = (
        version(number(&query.from)).or(view.versions.first()),
        version(number(&query.to)).or(newest),
    ) else {
        return not_found_page(&staff, Some(&scope));
    };
    let diff = TextDiff::from_lines(old.body.as_str(), new.body.as_str());
    let (mut added, mut removed) = (0, 0);
    let hunks = diff
        .grouped_ops(CONTEXT)
        .into_iter()
        .map(|group| Hunk {
            lines: group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| {
                    let (kind, class) = match change.tag() {
                        ChangeTag::Insert => {
                            added += 1;
                            ("Added", "diff-added")
                        }
                        ChangeTag::Delete => {
                            removed += 1;
                            ("Removed", "diff-removed")
                        }
                        ChangeTag::Equal => ("", "diff-same"),
                    };
                    DiffLine {
                        kind,
                        class,
                        old: change.old_index().map(|i| i + 1),
                        new: change.new_index().map(|i| i + 1),
                        text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
                    }
                })
                .collect(),
        })
        .collect();
    let choices = view
        .versions
        .iter()
        .map(|v| VersionChoice {
            number: v.number,
            label: format!("Version {} ({})", v.number, version_badge(v.status).label),
            from: v.number == old.number,
            to: v.number == new.number,
        })
        .collect();
    let here = scope.path(&format!("policies/{id}"));
    let shell = Shell::new(
        &staff,
        Some(&scope),
        Some(Section::Policies),
        "Compare versions",
    );
    render(
        StatusCode::OK,
        &DiffPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            title: view.policy.title.clone(),
            from: old.number,
            to: new.number,
            added,
            removed,
            hunks,
            title_change: (old.title != new.title).then(|| (old.title.clone(), new.title.clone())),
            action: format!("{here}/diff"),
            back: here,
            choices,
        },
    )
}
