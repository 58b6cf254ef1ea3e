//! Acknowledgment campaigns in the console: launching one for a policy's
//! published version (an audience by role or chosen people, a due date,
//! a reminder cadence), the client's campaigns with their completion, and
//! a campaign's page: completion as a bar with its figures, each person by
//! name (signed when, pending, overdue), a reminder to everyone pending
//! now, closing, and the CSV export.
//!
//! Paths live under the policies section (`/app/{org}/policies/...`). The
//! core resolves the audience, sends invitations and reminders and counts
//! completion; these pages only gather the choices and show the figures.

use std::collections::BTreeSet;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use regentra_core::FieldError;
use regentra_core::ids::{CampaignId, OrgId, PolicyId};
use regentra_core::policies::campaign::NewCampaign;
use regentra_core::policies::{
    AcknowledgmentStatus, Audience, Campaign, CampaignStatus, ReminderCadence,
};
use regentra_core::rbac::{self, Permission, Role};
use regentra_core::store::PageRequest;
use regentra_core::{Error, ids::UserId};
use serde::Deserialize;

use super::policies::{
    CampaignLine, Names, PersonChoice, Problem, names, org_reading, parse_policy, refused,
    role_label, zone,
};
use super::{Scope, Section, Shell, Staff, choose_client, not_found_page, staff_form, staff_in};
use crate::server::AppState;
use crate::server::routes::compliance::document;
use crate::web::console::confirm::Confirmed;
use crate::web::display::{Badge, When, when};
use crate::web::{Chrome, CsrfField, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/policies/campaigns", get(list))
        .route(
            "/app/{scope}/policies/campaigns/{campaign_id}",
            get(campaign_page),
        )
        .route(
            "/app/{scope}/policies/campaigns/{campaign_id}/remind",
            post(remind),
        )
        .route(
            "/app/{scope}/policies/campaigns/{campaign_id}/close",
            post(close),
        )
        .route(
            "/app/{scope}/policies/campaigns/{campaign_id}/export.csv",
            get(export),
        )
        .route(
            "/app/{scope}/policies/{policy_id}/launch",
            get(launch_page).post(launch),
        )
}

/// Campaigns read per page from the core while gathering a list.
const BATCH: usize = 200;

fn parse_campaign(text: &str) -> Option<CampaignId> {
    text.parse::<uuid::Uuid>().ok().map(CampaignId)
}

fn status_badge(c: &Campaign) -> Badge {
    match c.status {
        CampaignStatus::Open => Badge {
            label: "Open",
            class: "badge-info",
        },
        CampaignStatus::Closed => Badge {
            label: "Closed",
            class: "badge-muted",
        },
    }
}

/// Every campaign of the org, newest first (the core pages them oldest
/// first).
async fn all_campaigns(
    state: &AppState,
    staff: &Staff,
    org: OrgId,
) -> Result<Vec<Campaign>, Error> {
    let mut found = Vec::new();
    let mut page = PageRequest::first(BATCH);
    loop {
        let listing = state.regentra.campaigns(&staff.caller, org, page).await?;
        found.extend(listing.items);
        match listing.next {
            Some(next) => page = PageRequest::after(Some(next), BATCH),
            None => break,
        }
    }
    found.reverse();
    Ok(found)
}

/// A campaign as a list line, with its completion.
async fn line(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    c: Campaign,
    zone: chrono_tz::Tz,
) -> Result<CampaignLine, Error> {
    let done = state
        .regentra
        .campaign_completion(&staff.caller, c.org, c.id)
        .await?;
    Ok(CampaignLine {
        href: scope.path(&format!("policies/campaigns/{}", c.id)),
        version: c.version,
        open: c.status == CampaignStatus::Open,
        signed: done.signed,
        assigned: done.assigned,
        percent: done.percent,
        due: when(c.due, zone),
        title: c.title,
    })
}

/// The campaigns of one policy, for its page (none when they cannot be
/// read: the page shows the policy regardless).
pub(super) async fn of_policy(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    policy: PolicyId,
    zone: chrono_tz::Tz,
) -> Vec<CampaignLine> {
    let Ok(campaigns) = all_campaigns(state, staff, org).await else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for c in campaigns.into_iter().filter(|c| c.policy == policy) {
        if let Ok(l) = line(state, staff, scope, c, zone).await {
            lines.push(l);
        }
    }
    lines
}

// ---- the list ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "web/console/campaigns.html")]
struct ListPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    policies: String,
    campaigns: Vec<CampaignLine>,
}

/// `GET /app/{org}/policies/campaigns`.
async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies/campaigns");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if scope == Scope::All {
        return choose_client(&staff, Section::Policies);
    }
    let Some(org) =
        org_reading(&staff, &scope).filter(|o| staff.can(*o, Permission::CampaignsRead))
    else {
        return not_found_page(&staff, Some(&scope));
    };
    let zone = zone(&state, org).await;
    let found = match all_campaigns(&state, &staff, org).await {
        Ok(found) => found,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let mut campaigns = Vec::with_capacity(found.len());
    for c in found {
        match line(&state, &staff, &scope, c, zone).await {
            Ok(l) => campaigns.push(l),
            Err(e) => return refused(&staff, &scope, &e),
        }
    }
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Policies), "Campaigns");
    render(
        StatusCode::OK,
        &ListPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            policies: scope.path("policies"),
            campaigns,
        },
    )
}

// ---- a campaign ---------------------------------------------------------------

/// One person of the campaign.
struct PersonRow {
    name: String,
    email: String,
    role: &'static str,
    badge: Badge,
    signed: Option<When>,
    typed_name: Option<String>,
    reminders: u32,
}

/// Signed against assigned for one role.
struct RoleLine {
    role: &'static str,
    signed: usize,
    assigned: usize,
}

#[derive(Template)]
#[template(path = "web/console/campaign.html")]
struct CampaignPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    back: String,
    title: String,
    badge: Badge,
    policy: String,
    policy_title: String,
    version: u32,
    launched_by: String,
    launched: When,
    due: When,
    closed: Option<When>,
    cadence: ReminderCadence,
    signed: usize,
    assigned: usize,
    percent: f64,
    overdue: usize,
    by_role: Vec<RoleLine>,
    people: Vec<PersonRow>,
    remind: Option<String>,
    close: Option<String>,
    export: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
    count: Option<usize>,
}

/// `GET /app/{org}/policies/campaigns/{campaign}`.
async fn campaign_page(
    State(state): State<AppState>,
    Path((segment, campaign_id)): Path<(String, String)>,
    Query(query): Query<DoneQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies/campaigns/{campaign_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(org), Some(id)) = (org_reading(&staff, &scope), parse_campaign(&campaign_id)) else {
        return not_found_page(&staff, Some(&scope));
    };
    let r = &state.regentra;
    let done = match r.campaign_completion(&staff.caller, org, id).await {
        Ok(done) => done,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let c = match r.campaign(&staff.caller, org, id).await {
        Ok(c) => c,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let policy_title = match r.policy(&staff.caller, org, c.policy).await {
        Ok(view) => view.policy.title,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let rows = match r.campaign_rows(&staff.caller, org, id).await {
        Ok(rows) => rows,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let names: Names = names(&state, &staff, org).await;
    let zone = zone(&state, org).await;
    let mut people: Vec<PersonRow> = rows
        .into_iter()
        .map(|row| PersonRow {
            badge: match (row.status, row.overdue) {
                (AcknowledgmentStatus::Signed, _) => Badge {
                    label: "Signed",
                    class: "badge-success",
                },
                (AcknowledgmentStatus::Pending, true) => Badge {
                    label: "Overdue",
                    class: "badge-danger",
                },
                (AcknowledgmentStatus::Pending, false) => Badge {
                    label: "Pending",
                    class: "badge-warning",
                },
            },
            name: if row.person.trim().is_empty() {
                row.email.clone()
            } else {
                row.person
            },
            email: row.email,
            role: role_label(row.role),
            signed: row.signed_at.map(|at| when(at, zone)),
            typed_name: row.typed_name,
            reminders: row.reminders,
        })
        .collect();
    // Those who still owe a signature first, overdue before pending, then
    // by name.
    people.sort_by_cached_key(|p| {
        (
            p.signed.is_some(),
            p.badge.label != "Overdue",
            p.name.to_lowercase(),
        )
    });
    let here = scope.path(&format!("policies/campaigns/{id}"));
    let open = c.status == CampaignStatus::Open;
    let manage = staff.can(org, Permission::CampaignsManage) && open;
    let notice = match query.done.as_deref() {
        Some("launched") => Some(format!(
            "The campaign was launched: {} {} asked to sign.",
            done.assigned,
            if done.assigned == 1 {
                "person was"
            } else {
                "people were"
            }
        )),
        Some("reminded") => Some(match query.count.unwrap_or(0) {
            0 => "Nobody is pending: no reminder was sent.".to_owned(),
            1 => "A reminder went to the 1 person still pending.".to_owned(),
            n => format!("Reminders went to the {n} people still pending."),
        }),
        Some("closed") => Some(
            "The campaign was closed. Pending acknowledgments stay on record as unsigned."
                .to_owned(),
        ),
        _ => None,
    };
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Policies), &c.title);
    render(
        StatusCode::OK,
        &CampaignPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            back: scope.path("policies/campaigns"),
            badge: status_badge(&c),
            policy: scope.path(&format!("policies/{}", c.policy)),
            policy_title,
            version: c.version,
            launched_by: names.of(c.launched_by),
            launched: when(c.launched_at, zone),
            due: when(c.due, zone),
            closed: c.closed_at.map(|at| when(at, zone)),
            cadence: c.cadence,
            signed: done.signed,
            assigned: done.assigned,
            percent: done.percent,
            overdue: done.overdue.len(),
            by_role: done
                .by_role
                .iter()
                .map(|(role, n)| RoleLine {
                    role: role_label(*role),
                    signed: n.signed,
                    assigned: n.assigned,
                })
                .collect(),
            people,
            remind: manage.then(|| format!("{here}/remind")),
            close: manage.then(|| format!("{here}/close")),
            export: staff
                .can(org, Permission::ReportsGenerate)
                .then(|| format!("{here}/export.csv")),
            title: c.title,
            notice,
        },
    )
}

/// The org and campaign of a post that changes a campaign, if the person
/// manages the org's campaigns.
fn managed(staff: &Staff, segment: &str, campaign_id: &str) -> Option<(Scope, OrgId, CampaignId)> {
    match (staff.scope(segment), parse_campaign(campaign_id)) {
        (Some(Scope::Org(org)), Some(id)) if staff.can(org, Permission::CampaignsManage) => {
            Some((Scope::Org(org), org, id))
        }
        _ => None,
    }
}

/// `POST /app/{org}/policies/campaigns/{campaign}/remind`: a reminder to
/// everyone pending, now.
async fn remind(
    State(state): State<AppState>,
    Path((segment, campaign_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/policies/campaigns/{campaign_id}");
    let (staff, Confirmed {}) = match staff_form::<Confirmed>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &campaign_id) else {
        return not_found_page(&staff, staff.scope(&segment).as_ref());
    };
    let here = scope.path(&format!("policies/campaigns/{id}"));
    match state.regentra.remind_now(&staff.caller, org, id).await {
        Ok(count) => Redirect::to(&format!("{here}?done=reminded&count={count}")).into_response(),
        // Closed meanwhile: the page says so.
        Err(Error::Validation(_)) => Redirect::to(&here).into_response(),
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `POST /app/{org}/policies/campaigns/{campaign}/close`.
async fn close(
    State(state): State<AppState>,
    Path((segment, campaign_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/policies/campaigns/{campaign_id}");
    let (staff, Confirmed {}) = match staff_form::<Confirmed>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &campaign_id) else {
        return not_found_page(&staff, staff.scope(&segment).as_ref());
    };
    let here = scope.path(&format!("policies/campaigns/{id}"));
    match state.regentra.close_campaign(&staff.caller, org, id).await {
        Ok(_) => Redirect::to(&format!("{here}?done=closed")).into_response(),
        Err(Error::Validation(_)) => Redirect::to(&here).into_response(),
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `GET /app/{org}/policies/campaigns/{campaign}/export.csv`: the core's
/// campaign export, as a file.
async fn export(
    State(state): State<AppState>,
    Path((segment, campaign_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies/campaigns/{campaign_id}/export.csv");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(org), Some(id)) = (org_reading(&staff, &scope), parse_campaign(&campaign_id)) else {
        return not_found_page(&staff, Some(&scope));
    };
    match state.regentra.campaign_csv(&staff.caller, org, id).await {
        Ok(csv) => document("text/csv; charset=utf-8", "campaign", csv),
        Err(e) => refused(&staff, &scope, &e),
    }
}

// ---- launching ----------------------------------------------------------------

/// The launch form as typed (the roles and people are repeated fields).
#[derive(Debug, Default)]
struct LaunchForm {
    title: String,
    /// `everyone`, `roles` or `people`.
    audience: String,
    roles: BTreeSet<String>,
    people: BTreeSet<String>,
    due: String,
    every_days: String,
    overdue_every_days: String,
    max: String,
}

impl LaunchForm {
    fn new() -> Self {
        let cadence = ReminderCadence::default();
        Self {
            audience: "roles".to_owned(),
            roles: BTreeSet::from(["employee".to_owned()]),
            every_days: cadence.every_days.to_string(),
            overdue_every_days: cadence.overdue_every_days.to_string(),
            max: cadence.max.to_string(),
            ..Self::default()
        }
    }

    fn of(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "title" => form.title = value,
                "audience" => form.audience = value,
                "roles" => {
                    form.roles.insert(value);
                }
                "people" => {
                    form.people.insert(value);
                }
                "due" => form.due = value,
                "every_days" => form.every_days = value,
                "overdue_every_days" => form.overdue_every_days = value,
                "max" => form.max = value,
                _ => {}
            }
        }
        form
    }

    /// The campaign the form asks for, or the problems with its fields.
    /// The due date is the end of that day in the org's time zone.
    fn campaign(&self, zone: chrono_tz::Tz) -> Result<NewCampaign, Vec<FieldError>> {
        let mut errors = Vec::new();
        let audience = match self.audience.as_str() {
            "everyone" => Some(Audience::Everyone),
            "roles" => {
                let roles: BTreeSet<Role> = self
                    .roles
                    .iter()
                    .filter_map(|r| Role::ALL.into_iter().find(|role| role.key() == r))
                    .collect();
                if roles.is_empty() {
                    errors.push(FieldError::new("audience", "choose at least one role"));
                }
                Some(Audience::Roles(roles))
            }
            "people" => {
                let users: BTreeSet<UserId> = self
                    .people
                    .iter()
                    .filter_map(|u| u.parse::<uuid::Uuid>().ok().map(UserId))
                    .collect();
                if users.is_empty() {
                    errors.push(FieldError::new("audience", "choose at least one person"));
                }
                Some(Audience::Users(users))
            }
            _ => {
                errors.push(FieldError::new("audience", "choose who is asked to sign"));
                None
            }
        };
        let due = NaiveDate::parse_from_str(self.due.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|day| end_of_day(day, zone));
        if due.is_none() {
            errors.push(FieldError::new("due", "give the date as YYYY-MM-DD"));
        }
        let mut number = |field: &str, text: &str, least: u32| match text.trim().parse::<u32>() {
            Ok(n) if (least..=365).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    field,
                    format!("must be a whole number from {least} to 365"),
                ));
                0
            }
        };
        let cadence = ReminderCadence {
            every_days: number("every_days", &self.every_days, 1),
            overdue_every_days: number("overdue_every_days", &self.overdue_every_days, 1),
            max: number("max", &self.max, 0),
        };
        match (audience, due) {
            (Some(audience), Some(due)) if errors.is_empty() => Ok(NewCampaign {
                title: Some(self.title.trim())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
                audience,
                due,
                cadence,
            }),
            _ => Err(errors),
        }
    }
}

/// The last second of `day` in `zone` (the latest instant, where a clock
/// change makes the day's end ambiguous).
fn end_of_day(day: NaiveDate, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let end = day.and_time(NaiveTime::from_hms_opt(23, 59, 59)?);
    zone.from_local_datetime(&end)
        .latest()
        .map(|at| at.with_timezone(&Utc))
}

struct RoleChoice {
    key: &'static str,
    label: &'static str,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "web/console/campaign_new.html")]
struct LaunchPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    back: String,
    policy_title: String,
    version: u32,
    action: String,
    zone: String,
    form: LaunchForm,
    roles: Vec<RoleChoice>,
    people: Vec<PersonChoice>,
    errors: Vec<Problem>,
    title_error: Option<String>,
    audience_error: Option<String>,
    due_error: Option<String>,
    every_days_error: Option<String>,
    overdue_every_days_error: Option<String>,
    max_error: Option<String>,
}

fn error_of(errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|f| f.field == field)
        .map(|f| f.message.clone())
}

/// The launch page for a person who manages the org's campaigns, of a
/// policy with a published version that is not retired (else the policy's
/// page, which says where it stands).
async fn launch_form(
    state: &AppState,
    staff: &Staff,
    segment: &str,
    policy_id: &str,
    form: LaunchForm,
    errors: Vec<FieldError>,
) -> Response {
    let (scope, org, id) = match (staff.scope(segment), parse_policy(policy_id)) {
        (Some(Scope::Org(org)), Some(id)) if staff.can(org, Permission::CampaignsManage) => {
            (Scope::Org(org), org, id)
        }
        _ => return not_found_page(staff, staff.scope(segment).as_ref()),
    };
    let view = match state.regentra.policy(&staff.caller, org, id).await {
        Ok(view) => view,
        Err(e) => return refused(staff, &scope, &e),
    };
    let here = scope.path(&format!("policies/{id}"));
    let (true, Some(version)) = (view.policy.can_campaign(), view.policy.published_version) else {
        return Redirect::to(&here).into_response();
    };
    let names = names(state, staff, org).await;
    let zone = zone(state, org).await;
    // Only those who may sign are offered: the core would assign a viewer,
    // who could never sign.
    let signs = |role: Role| rbac::decide(role, Permission::AcknowledgmentsSign).is_allowed();
    let present: BTreeSet<Role> = names
        .people
        .iter()
        .map(|p| p.role)
        .filter(|r| signs(*r))
        .collect();
    let roles = Role::ALL
        .into_iter()
        .filter(|r| present.contains(r))
        .map(|r| RoleChoice {
            key: r.key(),
            label: role_label(r),
            chosen: form.roles.contains(r.key()),
        })
        .collect();
    let people = names
        .people
        .iter()
        .filter(|p| signs(p.role))
        .map(|p| PersonChoice {
            user: p.user.to_string(),
            label: format!("{} ({})", p.name, role_label(p.role)),
            chosen: form.people.contains(&p.user.to_string()),
        })
        .collect();
    let shell = Shell::new(
        staff,
        Some(&scope),
        Some(Section::Policies),
        "Launch a campaign",
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &LaunchPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            action: format!("{here}/launch"),
            back: here,
            policy_title: view.policy.title,
            version,
            zone: zone.name().to_owned(),
            roles,
            people,
            title_error: error_of(&errors, "title"),
            audience_error: error_of(&errors, "audience"),
            due_error: error_of(&errors, "due"),
            every_days_error: error_of(&errors, "every_days"),
            overdue_every_days_error: error_of(&errors, "overdue_every_days"),
            max_error: error_of(&errors, "max"),
            errors: errors
                .iter()
                .map(|e| Problem {
                    field: e.field.clone(),
                    label: match e.field.as_str() {
                        "title" => "Title",
                        "audience" => "Who is asked",
                        "due" => "Due date",
                        "every_days" => "Reminder every",
                        "overdue_every_days" => "When overdue, every",
                        "max" => "Reminders at most",
                        _ => "The campaign",
                    },
                    message: e.message.clone(),
                })
                .collect(),
            form,
        },
    )
}

/// `GET /app/{org}/policies/{policy}/launch`.
async fn launch_page(
    State(state): State<AppState>,
    Path((segment, policy_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/policies/{policy_id}/launch");
    let staff = match staff_in(&state, &headers, &segment, &path).await {
        Ok((staff, _)) => staff,
        Err(response) => return response,
    };
    launch_form(
        &state,
        &staff,
        &segment,
        &policy_id,
        LaunchForm::new(),
        Vec::new(),
    )
    .await
}

/// `POST /app/{org}/policies/{policy}/launch`: the campaign launched (its
/// page), or the form again with the problems next to their fields.
async fn launch(
    State(state): State<AppState>,
    Path((segment, policy_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/policies/{policy_id}/launch");
    let (staff, pairs) = match staff_form::<Vec<(String, String)>>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let form = LaunchForm::of(pairs);
    let (scope, org, id) = match (staff.scope(&segment), parse_policy(&policy_id)) {
        (Some(Scope::Org(org)), Some(id)) if staff.can(org, Permission::CampaignsManage) => {
            (Scope::Org(org), org, id)
        }
        _ => return not_found_page(&staff, staff.scope(&segment).as_ref()),
    };
    let zone = zone(&state, org).await;
    let new = match form.campaign(zone) {
        Ok(new) => new,
        Err(errors) => {
            return launch_form(&state, &staff, &segment, &policy_id, form, errors).await;
        }
    };
    match state
        .regentra
        .launch_campaign(&staff.caller, org, id, new)
        .await
    {
        Ok(c) => Redirect::to(&format!(
            "{}?done=launched",
            scope.path(&format!("policies/campaigns/{}", c.id))
        ))
        .into_response(),
        Err(Error::Validation(fields)) => {
            launch_form(&state, &staff, &segment, &policy_id, form, fields).await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}
