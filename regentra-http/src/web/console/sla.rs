//! SLA policies in the console (`/app/{org}/settings/sla`): the org's
//! policies, which one its tickets run on (its own default, or for a
//! client its MSP's default for clients), and an editor for one: targets
//! per priority, the business-hours week with its time zone and holidays,
//! the chat wait, and escalation rules offering only targets that qualify.
//! "Preview" shows when a ticket opened now would be due, from the form as
//! it stands, without saving. The core checks the policy on preview and on
//! save; its field errors are shown next to their fields.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono_tz::Tz;
use regentra_core::ids::{OrgId, SlaPolicyId, UserId};
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::{
    Action, ClockKind, DEFAULT_CHAT_ANSWER_MINUTES, DuePreview, EscalationRule, NewSlaPolicy,
    SlaPolicy, Targets, Trigger,
};
use regentra_core::rbac::{self, Access, Permission, Role};
use regentra_core::sla::{CalendarSpec, WeeklySpec};
use regentra_core::store::PageRequest;
use regentra_core::tenancy::OrgKind;
use regentra_core::{Error, FieldError};

use super::tickets::priority_badge;
use super::{Scope, Section, Shell, Staff, failed, not_found_page, staff_form, staff_in};
use crate::server::AppState;
use crate::web::console::Done;
use crate::web::display::when;
use crate::web::{Chrome, CsrfField, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/settings/sla", get(list))
        .route(
            "/app/{scope}/settings/sla/new",
            get(new_page).post(save_new),
        )
        .route(
            "/app/{scope}/settings/sla/{policy_id}",
            get(edit_page).post(save),
        )
}

/// The days of the week grid, in the calendar's order.
const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// Blank escalation rows the editor offers beyond a policy's own.
const BLANK_RULES: usize = 2;

/// The org of the path, if the person reads its SLA policies.
fn org_of(staff: &Staff, scope: &Scope) -> Option<OrgId> {
    match scope {
        Scope::Org(org) if staff.can(*org, Permission::SlaRead) => Some(*org),
        _ => None,
    }
}

// ---- the list -------------------------------------------------------------

struct PolicyRow {
    href: String,
    name: String,
    default: bool,
    revision: u32,
    updated: String,
    zone: String,
}

#[derive(Template)]
#[template(path = "web/console/sla_list.html")]
struct ListPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    msp: bool,
    client_org: bool,
    own_default: bool,
    rows: Vec<PolicyRow>,
    new_policy: Option<String>,
    notice: Option<String>,
}

/// `GET /app/{org}/settings/sla`.
async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(done): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/sla");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if scope == Scope::All {
        return super::choose_client(&staff, Section::Settings);
    }
    let Some(org) = org_of(&staff, &scope) else {
        return not_found_page(&staff, Some(&scope));
    };
    let r = &state.regentra;
    let policies = match r
        .sla_policies(&staff.caller, org, PageRequest::first(100))
        .await
    {
        Ok(listing) => listing.items,
        Err(e) => return failed(&e),
    };
    let own_default = policies.iter().any(|p| p.default);
    let kind = staff.org(org).map(|o| o.org.kind);
    let rows = policies
        .iter()
        .map(|p| PolicyRow {
            href: scope.path(&format!("settings/sla/{}", p.id)),
            name: p.name.clone(),
            default: p.default,
            revision: p.revision,
            updated: p
                .updated_at
                .with_timezone(&p.calendar.timezone.parse::<Tz>().unwrap_or(Tz::UTC))
                .format("%-d %b %Y")
                .to_string(),
            zone: p.calendar.timezone.clone(),
        })
        .collect();
    let shell = Shell::new(
        &staff,
        Some(&scope),
        Some(Section::Settings),
        "SLA policies",
    );
    render(
        StatusCode::OK,
        &ListPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            msp: kind == Some(OrgKind::Msp),
            client_org: kind == Some(OrgKind::Client),
            own_default,
            rows,
            new_policy: staff
                .can(org, Permission::SlaManage)
                .then(|| scope.path("settings/sla/new")),
            notice: done.notice(&[("saved", "The policy was saved.")]),
        },
    )
}

// ---- the editor -------------------------------------------------------------

/// One day of the week grid as the form holds it: up to two intervals.
#[derive(Debug, Clone, Default)]
struct DayRow {
    key: &'static str,
    label: &'static str,
    open: bool,
    from1: String,
    to1: String,
    from2: String,
    to2: String,
    error: Option<String>,
}

/// One priority's targets as the form holds them (minutes, as typed).
#[derive(Debug, Clone)]
struct TargetRow {
    key: &'static str,
    label: &'static str,
    response: String,
    resolution: String,
    error: Option<String>,
}

/// One escalation rule as the form holds it.
#[derive(Debug, Clone, Default)]
struct RuleRow {
    clock: String,
    trigger: String,
    value: String,
    action: String,
    role: String,
    user: String,
    url: String,
    error: Option<String>,
}

/// The policy as the editor shows it: from the store, or as posted.
#[derive(Debug, Clone)]
struct Draft {
    name: String,
    default: bool,
    timezone: String,
    holidays: String,
    chat_minutes: String,
    days: Vec<DayRow>,
    targets: Vec<TargetRow>,
    rules: Vec<RuleRow>,
}

fn minutes_text(m: u32) -> String {
    m.to_string()
}

impl Draft {
    /// A new policy's starting point: office hours in the org's zone.
    fn blank(zone: Tz) -> Self {
        let defaults = [
            (Priority::Critical, 30, 240),
            (Priority::High, 60, 480),
            (Priority::Medium, 240, 960),
            (Priority::Low, 480, 2400),
        ];
        Self {
            name: String::new(),
            default: false,
            timezone: zone.name().to_owned(),
            holidays: String::new(),
            chat_minutes: DEFAULT_CHAT_ANSWER_MINUTES.to_string(),
            days: DAYS
                .iter()
                .enumerate()
                .map(|(i, (key, label))| DayRow {
                    key,
                    label,
                    open: i < 5,
                    from1: "09:00".to_owned(),
                    to1: "17:00".to_owned(),
                    ..DayRow::default()
                })
                .collect(),
            targets: defaults
                .iter()
                .map(|(p, response, resolution)| TargetRow {
                    key: p.key(),
                    label: priority_badge(*p).label,
                    response: response.to_string(),
                    resolution: resolution.to_string(),
                    error: None,
                })
                .collect(),
            rules: vec![RuleRow::default(); BLANK_RULES],
        }
    }

    fn of(policy: &SlaPolicy) -> Self {
        let weekly = &policy.calendar.weekly;
        let days = [
            &weekly.mon,
            &weekly.tue,
            &weekly.wed,
            &weekly.thu,
            &weekly.fri,
            &weekly.sat,
            &weekly.sun,
        ];
        let mut rules: Vec<RuleRow> = policy.escalations.iter().map(RuleRow::of).collect();
        rules.extend(std::iter::repeat_n(RuleRow::default(), BLANK_RULES));
        Self {
            name: policy.name.clone(),
            default: policy.default,
            timezone: policy.calendar.timezone.clone(),
            holidays: policy.calendar.holidays.join("\n"),
            chat_minutes: policy.chat_answer_minutes.to_string(),
            days: DAYS
                .iter()
                .zip(days)
                .map(|((key, label), intervals)| {
                    let part = |i: usize, end: bool| {
                        intervals
                            .get(i)
                            .map(|(s, e)| if end { e.clone() } else { s.clone() })
                            .unwrap_or_default()
                    };
                    DayRow {
                        key,
                        label,
                        open: !intervals.is_empty(),
                        from1: if intervals.is_empty() {
                            "09:00".to_owned()
                        } else {
                            part(0, false)
                        },
                        to1: if intervals.is_empty() {
                            "17:00".to_owned()
                        } else {
                            part(0, true)
                        },
                        from2: part(1, false),
                        to2: part(1, true),
                        error: None,
                    }
                })
                .collect(),
            targets: Priority::ALL
                .into_iter()
                .map(|p| {
                    let t = policy.targets.get(&p);
                    TargetRow {
                        key: p.key(),
                        label: priority_badge(p).label,
                        response: t
                            .map(|t| minutes_text(t.first_response_minutes))
                            .unwrap_or_default(),
                        resolution: t
                            .map(|t| minutes_text(t.resolution_minutes))
                            .unwrap_or_default(),
                        error: None,
                    }
                })
                .collect(),
            rules,
        }
    }

    /// The draft of a posted form (its fields as pairs, in order).
    fn posted(fields: &[(String, String)]) -> Self {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let rule_count: usize = get("rules").parse().unwrap_or(0).min(50);
        Self {
            name: get("name"),
            default: !get("default").is_empty(),
            timezone: get("timezone"),
            holidays: get("holidays"),
            chat_minutes: get("chat_minutes"),
            days: DAYS
                .iter()
                .map(|(key, label)| DayRow {
                    key,
                    label,
                    open: !get(&format!("{key}_open")).is_empty(),
                    from1: get(&format!("{key}_from1")),
                    to1: get(&format!("{key}_to1")),
                    from2: get(&format!("{key}_from2")),
                    to2: get(&format!("{key}_to2")),
                    error: None,
                })
                .collect(),
            targets: Priority::ALL
                .into_iter()
                .map(|p| TargetRow {
                    key: p.key(),
                    label: priority_badge(p).label,
                    response: get(&format!("{}_response", p.key())),
                    resolution: get(&format!("{}_resolution", p.key())),
                    error: None,
                })
                .collect(),
            rules: (0..rule_count)
                .map(|i| RuleRow {
                    clock: get(&format!("rule{i}_clock")),
                    trigger: get(&format!("rule{i}_trigger")),
                    value: get(&format!("rule{i}_value")),
                    action: get(&format!("rule{i}_action")),
                    role: get(&format!("rule{i}_role")),
                    user: get(&format!("rule{i}_user")),
                    url: get(&format!("rule{i}_url")),
                    error: None,
                })
                .collect(),
        }
    }

    /// The policy the draft says, or the problems that stop it from
    /// saying one (a number that is not a number, a rule half chosen).
    /// What the core checks (zones, hours, targets, who qualifies) it
    /// checks on preview and save.
    fn policy(&self) -> Result<NewSlaPolicy, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |text: &str, field: String, what: &str| -> u32 {
            match text.parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    errors.push(FieldError::new(
                        field,
                        format!("{what} must be a whole number of minutes"),
                    ));
                    0
                }
            }
        };
        let mut targets = BTreeMap::new();
        for (p, row) in Priority::ALL.into_iter().zip(&self.targets) {
            let field = format!("targets.{}", p.key());
            targets.insert(
                p,
                Targets {
                    first_response_minutes: number(
                        &row.response,
                        field.clone(),
                        "The first response",
                    ),
                    resolution_minutes: number(&row.resolution, field, "The resolution"),
                },
            );
        }
        let chat_answer_minutes = number(
            &self.chat_minutes,
            "chat_answer_minutes".to_owned(),
            "The chat wait",
        );
        let mut week: [Vec<(String, String)>; 7] = Default::default();
        for (i, day) in self.days.iter().enumerate() {
            if !day.open {
                continue;
            }
            week[i].push((day.from1.clone(), day.to1.clone()));
            if !day.from2.is_empty() || !day.to2.is_empty() {
                week[i].push((day.from2.clone(), day.to2.clone()));
            }
        }
        let [mon, tue, wed, thu, fri, sat, sun] = week;
        let mut escalations = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            match rule.rule(i) {
                Ok(Some(r)) => escalations.push(r),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewSlaPolicy {
            name: self.name.clone(),
            calendar: CalendarSpec {
                timezone: self.timezone.clone(),
                weekly: WeeklySpec {
                    mon,
                    tue,
                    wed,
                    thu,
                    fri,
                    sat,
                    sun,
                },
                holidays: self
                    .holidays
                    .split(['\n', ','])
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
            targets,
            escalations,
            default: self.default,
            chat_answer_minutes,
        })
    }

    /// Puts each error next to its field (the core's names: `name`,
    /// `calendar.weekly.mon[0][1]`, `targets.high`, `escalations[2].action.user`);
    /// those without a place are returned for the summary.
    fn place(&mut self, errors: &[FieldError]) -> Vec<FieldError> {
        let mut general = Vec::new();
        for e in errors {
            let f = e.field.as_str();
            let message = e.message.clone();
            if let Some(day) = f
                .strip_prefix("calendar.weekly.")
                .map(|rest| rest.split(['[', '.']).next().unwrap_or(""))
                .and_then(|key| self.days.iter_mut().find(|d| d.key == key))
            {
                day.error.get_or_insert(message);
            } else if let Some(row) = f
                .strip_prefix("targets.")
                .and_then(|key| self.targets.iter_mut().find(|t| t.key == key))
            {
                row.error.get_or_insert(message);
            } else if let Some(row) = f
                .strip_prefix("escalations[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|n| n.parse::<usize>().ok())
                .map(|n| self.rule_row(n))
                .filter(|row| *row < self.rules.len())
            {
                self.rules[row].error.get_or_insert(message);
            } else if let Some(row) = f
                .strip_prefix("rule")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|row| *row < self.rules.len())
            {
                self.rules[row].error.get_or_insert(message);
            } else {
                general.push(e.clone());
            }
        }
        general
    }

    /// The form row of the policy's `n`th rule: rows left blank are not
    /// rules, so the numbering skips them.
    fn rule_row(&self, n: usize) -> usize {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_blank())
            .nth(n)
            .map(|(i, _)| i)
            .unwrap_or(usize::MAX)
    }
}

impl RuleRow {
    fn of(rule: &EscalationRule) -> Self {
        let (trigger, value) = match rule.trigger {
            Trigger::Percent { percent } => ("percent", percent.to_string()),
            Trigger::BeforeBreach { minutes } => ("before_breach", minutes.to_string()),
            Trigger::AtBreach => ("at_breach", String::new()),
        };
        let mut row = Self {
            clock: match rule.clock {
                ClockKind::Response => "response",
                ClockKind::Resolution => "resolution",
            }
            .to_owned(),
            trigger: trigger.to_owned(),
            value,
            action: rule.action.kind().to_owned(),
            ..Self::default()
        };
        match &rule.action {
            Action::NotifyRole { role } => row.role = role.key().to_owned(),
            Action::NotifyUser { user } | Action::Reassign { user } => row.user = user.to_string(),
            Action::Webhook { url } => row.url = url.clone(),
            Action::RaisePriority => {}
        }
        row
    }

    /// A row whose action is left at "No rule".
    fn is_blank(&self) -> bool {
        self.action.is_empty() || self.action == "none"
    }

    /// The rule of form row `i`, none for a blank row.
    fn rule(&self, i: usize) -> Result<Option<EscalationRule>, FieldError> {
        if self.is_blank() {
            return Ok(None);
        }
        let field = || format!("rule{i}");
        let clock = match self.clock.as_str() {
            "resolution" => ClockKind::Resolution,
            _ => ClockKind::Response,
        };
        let value = || self.value.parse::<u32>();
        let trigger = match self.trigger.as_str() {
            "at_breach" => Trigger::AtBreach,
            "before_breach" => match value() {
                Ok(minutes) => Trigger::BeforeBreach { minutes },
                Err(_) => {
                    return Err(FieldError::new(
                        field(),
                        "give the minutes before the breach as a whole number",
                    ));
                }
            },
            _ => match value().ok().and_then(|p| u8::try_from(p).ok()) {
                Some(percent) => Trigger::Percent { percent },
                None => {
                    return Err(FieldError::new(
                        field(),
                        "give the share of the target used as a percentage (1-100)",
                    ));
                }
            },
        };
        let user = || {
            self.user
                .parse::<uuid::Uuid>()
                .map(UserId)
                .map_err(|_| FieldError::new(field(), "choose the person"))
        };
        let action = match self.action.as_str() {
            "notify_role" => match Role::ALL.into_iter().find(|r| r.key() == self.role) {
                Some(role) => Action::NotifyRole { role },
                None => return Err(FieldError::new(field(), "choose the role to notify")),
            },
            "notify_user" => Action::NotifyUser { user: user()? },
            "reassign" => Action::Reassign { user: user()? },
            "raise_priority" => Action::RaisePriority,
            "webhook" => Action::Webhook {
                url: self.url.clone(),
            },
            _ => return Err(FieldError::new(field(), "choose what the rule does")),
        };
        Ok(Some(EscalationRule {
            clock,
            trigger,
            action,
        }))
    }
}

/// A choice of a select.
struct Choice {
    value: String,
    label: String,
}

/// One line of the preview.
struct PreviewLine {
    label: &'static str,
    response: String,
    resolution: String,
}

#[derive(Template)]
#[template(path = "web/console/sla_edit.html")]
struct EditPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    heading: String,
    action: String,
    back: String,
    msp: bool,
    can_manage: bool,
    draft: Draft,
    zones: Vec<&'static str>,
    roles: Vec<Choice>,
    people: Vec<Choice>,
    preview: Vec<PreviewLine>,
    preview_error: bool,
    errors: Vec<FieldError>,
    name_error: Option<String>,
    timezone_error: Option<String>,
    holidays_error: Option<String>,
    chat_error: Option<String>,
    week_error: Option<String>,
    default_error: Option<String>,
}

impl EditPage {
    fn selected(&self, a: &str, b: &str) -> bool {
        a == b
    }
}

/// Everything the editor needs besides the draft.
struct Editor<'a> {
    state: &'a AppState,
    staff: &'a Staff,
    scope: &'a Scope,
    org: OrgId,
    /// `None` for a new policy.
    policy: Option<SlaPolicyId>,
}

impl Editor<'_> {
    async fn show(
        &self,
        mut draft: Draft,
        errors: &[FieldError],
        status: StatusCode,
        notice_preview: bool,
    ) -> Response {
        let r = &self.state.regentra;
        let staff = self.staff;
        let org = self.org;
        let general = draft.place(errors);
        let field = |name: &str| {
            general
                .iter()
                .find(|e| e.field == name || e.field.starts_with(&format!("{name}[")))
                .map(|e| e.message.clone())
        };
        // The preview: of the form as it stands (its problems stop it).
        let zone = draft.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
        let (preview, preview_error) = match draft.policy() {
            Ok(policy) if errors.is_empty() || notice_preview => {
                match r.preview_sla_policy(&staff.caller, org, &policy).await {
                    Ok(lines) => (preview_lines(&lines, zone), false),
                    Err(_) => (Vec::new(), true),
                }
            }
            _ => (Vec::new(), true),
        };
        // Only targets that qualify: roles that read every ticket, and the
        // people who work the org's tickets.
        let roles = Role::ALL
            .into_iter()
            .filter(|role| {
                *role != Role::SuperAdmin
                    && rbac::decide(*role, Permission::TicketsRead) == Access::All
            })
            .map(|role| Choice {
                value: role.key().to_owned(),
                label: role_label(role).to_owned(),
            })
            .collect();
        let people = r
            .ticket_assignees(&staff.caller, org)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|p| Choice {
                value: p.user.to_string(),
                label: format!("{} ({})", p.name, p.email),
            })
            .collect();
        let heading = match self.policy {
            None => "New SLA policy".to_owned(),
            Some(_) => format!("SLA policy: {}", draft.name),
        };
        let shell = Shell::new(staff, Some(self.scope), Some(Section::Settings), &heading);
        render(
            status,
            &EditPage {
                chrome: shell.chrome.clone(),
                csrf_field: staff.csrf_field(),
                shell: Some(shell),
                heading,
                action: match self.policy {
                    None => self.scope.path("settings/sla/new"),
                    Some(id) => self.scope.path(&format!("settings/sla/{id}")),
                },
                back: self.scope.path("settings/sla"),
                msp: staff.org(org).map(|o| o.org.kind) == Some(OrgKind::Msp),
                can_manage: staff.can(org, Permission::SlaManage),
                zones: chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect(),
                roles,
                people,
                preview,
                preview_error,
                name_error: field("name"),
                timezone_error: field("calendar.timezone"),
                holidays_error: field("calendar.holidays"),
                chat_error: field("chat_answer_minutes"),
                week_error: field("calendar.weekly"),
                default_error: field("default"),
                errors: general,
                draft,
            },
        )
    }
}

fn preview_lines(due: &[DuePreview], zone: Tz) -> Vec<PreviewLine> {
    let text = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map(|at| when(at, zone).text)
            .unwrap_or_else(|| "never (the calendar does not open again)".to_owned())
    };
    due.iter()
        .map(|d| PreviewLine {
            label: priority_badge(d.priority).label,
            response: text(d.first_response_due),
            resolution: text(d.resolution_due),
        })
        .collect()
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::SuperAdmin => "Platform operator",
        Role::OrgAdmin => "Organization admins",
        Role::MspAdmin => "MSP admins",
        Role::ComplianceManager => "Compliance managers",
        Role::ComplianceOfficer => "Compliance officers",
        Role::Employee => "Employees",
        Role::Viewer => "Viewers",
        Role::Technician => "Technicians",
    }
}

/// `GET /app/{org}/settings/sla/new`.
async fn new_page(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/sla/new");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(org) = org_of(&staff, &scope).filter(|org| staff.can(*org, Permission::SlaManage))
    else {
        return not_found_page(&staff, Some(&scope));
    };
    let zone = state.regentra.time_zone(org).await.unwrap_or(Tz::UTC);
    let editor = Editor {
        state: &state,
        staff: &staff,
        scope: &scope,
        org,
        policy: None,
    };
    editor
        .show(Draft::blank(zone), &[], StatusCode::OK, false)
        .await
}

/// `GET /app/{org}/settings/sla/{policy}`: the policy, in the editor for
/// those who manage SLA policies, read-only for the others.
async fn edit_page(
    State(state): State<AppState>,
    Path((segment, policy_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/sla/{policy_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(org), Ok(id)) = (org_of(&staff, &scope), policy_id.parse::<uuid::Uuid>()) else {
        return not_found_page(&staff, Some(&scope));
    };
    let policy = match find_policy(&state, &staff, org, SlaPolicyId(id)).await {
        Ok(Some(policy)) => policy,
        Ok(None) => return not_found_page(&staff, Some(&scope)),
        Err(e) => return failed(&e),
    };
    let editor = Editor {
        state: &state,
        staff: &staff,
        scope: &scope,
        org,
        policy: Some(policy.id),
    };
    editor
        .show(Draft::of(&policy), &[], StatusCode::OK, false)
        .await
}

/// The org's policy `id`: an org keeps a handful, read in one page.
async fn find_policy(
    state: &AppState,
    staff: &Staff,
    org: OrgId,
    id: SlaPolicyId,
) -> Result<Option<SlaPolicy>, Error> {
    Ok(state
        .regentra
        .sla_policies(&staff.caller, org, PageRequest::first(100))
        .await?
        .items
        .into_iter()
        .find(|p| p.id == id))
}

/// `POST /app/{org}/settings/sla/new`.
async fn save_new(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    submit(state, segment, None, request).await
}

/// `POST /app/{org}/settings/sla/{policy}`.
async fn save(
    State(state): State<AppState>,
    Path((segment, policy_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    submit(state, segment, Some(policy_id), request).await
}

/// A posted editor: "Preview" shows the form again with the due times of a
/// ticket opened now; "Save" creates or replaces the policy.
async fn submit(
    state: AppState,
    segment: String,
    policy_id: Option<String>,
    request: Request,
) -> Response {
    let back = match &policy_id {
        None => format!("/app/{segment}/settings/sla/new"),
        Some(id) => format!("/app/{segment}/settings/sla/{id}"),
    };
    let (staff, fields) = match staff_form::<Vec<(String, String)>>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(scope @ Scope::Org(org)) = staff.scope(&segment) else {
        return not_found_page(&staff, None);
    };
    // Only those who manage the org's policies post here.
    if !staff.can(org, Permission::SlaManage) {
        return not_found_page(&staff, Some(&scope));
    }
    let policy = match policy_id.as_deref().map(str::parse::<uuid::Uuid>) {
        None => None,
        Some(Ok(id)) => match find_policy(&state, &staff, org, SlaPolicyId(id)).await {
            Ok(Some(p)) => Some(p.id),
            Ok(None) => return not_found_page(&staff, Some(&scope)),
            Err(e) => return failed(&e),
        },
        Some(Err(_)) => return not_found_page(&staff, Some(&scope)),
    };
    let draft = Draft::posted(&fields);
    let editor = Editor {
        state: &state,
        staff: &staff,
        scope: &scope,
        org,
        policy,
    };
    let previewing = fields.iter().any(|(n, v)| n == "intent" && v == "preview");
    let new = match draft.policy() {
        Ok(new) => new,
        Err(errors) => {
            return editor
                .show(draft, &errors, StatusCode::UNPROCESSABLE_ENTITY, false)
                .await;
        }
    };
    let r = &state.regentra;
    if previewing {
        return match r.preview_sla_policy(&staff.caller, org, &new).await {
            Ok(_) => editor.show(draft, &[], StatusCode::OK, true).await,
            Err(Error::Validation(errors)) => {
                editor
                    .show(draft, &errors, StatusCode::UNPROCESSABLE_ENTITY, false)
                    .await
            }
            Err(e) => failed(&e),
        };
    }
    let saved = match policy {
        None => r.create_sla_policy(&staff.caller, org, new).await,
        Some(id) => r.update_sla_policy(&staff.caller, org, id, new).await,
    };
    match saved {
        Ok(_) => {
            Redirect::to(&format!("{}?done=saved", scope.path("settings/sla"))).into_response()
        }
        Err(Error::Validation(errors)) => {
            editor
                .show(draft, &errors, StatusCode::UNPROCESSABLE_ENTITY, false)
                .await
        }
        Err(Error::AlreadyExists { .. } | Error::Conflict { .. }) => {
            let errors = [FieldError::new(
                "default",
                "another policy is already the default; clear it there first, or leave this one \
                 as a policy of its own",
            )];
            editor
                .show(draft, &errors, StatusCode::UNPROCESSABLE_ENTITY, false)
                .await
        }
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
            not_found_page(&staff, Some(&scope))
        }
        Err(e) => failed(&e),
    }
}
