//! The members of an org (`/app/{org}/settings/members`): everyone with
//! their name, email and role, for anyone who reads the org; for those who
//! manage members, inviting someone (errors next to the field), the
//! pending invitations with resend and revoke, changing a role and
//! removing a member after a confirmation page. And, for an MSP's admins,
//! the assignment of its staff to its clients in one grid
//! (`/app/{msp}/settings/staff`): people by clients, one role chooser per
//! cell, the whole grid posted at once.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use regentra_core::ids::{InvitationId, OrgId, UserId};
use regentra_core::rbac::{Permission, Role};
use regentra_core::store::PageRequest;
use regentra_core::tenancy::{InvitationStatus, OrgAccess, StaffCell, StaffGrid};
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::{RoleOption, page_org, refused, role_label, role_options};
use crate::server::AppState;
use crate::web::console::confirm::{self, Confirmation, Confirmed, Consequence};
use crate::web::console::{Done, org_form};
use crate::web::console::{Scope, Section, Shell, Staff, not_found_page, staff_form, staff_in};
use crate::web::display::{Badge, When, when};
use crate::web::{Chrome, CsrfField, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/settings/members", get(members))
        .route("/app/{scope}/settings/members/invite", post(invite))
        .route(
            "/app/{scope}/settings/members/{user}/role",
            post(change_role),
        )
        .route(
            "/app/{scope}/settings/members/{user}/remove",
            get(remove_page).post(remove),
        )
        .route(
            "/app/{scope}/settings/invitations/{invitation}/resend",
            post(resend),
        )
        .route(
            "/app/{scope}/settings/invitations/{invitation}/revoke",
            post(revoke),
        )
        .route("/app/{scope}/settings/staff", get(grid).post(save_grid))
}

// ---- the members page ---------------------------------------------------

struct MemberRow {
    name: String,
    email: String,
    role: &'static str,
    /// Assigned by the org's MSP (staff of the MSP working here).
    assigned: bool,
    you: bool,
    /// For those who manage members.
    role_action: String,
    remove: String,
    roles: Vec<RoleOption>,
}

struct InvitationRow {
    email: String,
    name: String,
    role: &'static str,
    status: Badge,
    sent: When,
    expires: When,
    resend: String,
    revoke: String,
}

/// What was typed into the invitation form.
#[derive(Debug, Default, Deserialize)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "web/console/settings_members.html")]
struct MembersPage {
    shell: Option<Shell>,
    chrome: Chrome,
    org: String,
    back: String,
    rows: Vec<MemberRow>,
    /// Whether the person manages members here (the forms are shown).
    manage: bool,
    csrf_field: CsrfField,
    invite_action: String,
    invite_roles: Vec<RoleOption>,
    form: InviteForm,
    errors: Vec<FieldError>,
    email_error: Option<String>,
    name_error: Option<String>,
    role_error: Option<String>,
    invitations: Vec<InvitationRow>,
    /// A refusal that is not the invitation form's (the last admin).
    problem: Option<String>,
    notice: Option<String>,
    staff_grid: Option<String>,
}

/// `GET /app/{org}/settings/members`.
async fn members(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/members");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = query.notice(&[
        ("invited", "Invitation sent. It works for 7 days."),
        (
            "resent",
            "Invitation sent again, with a new link: the old one no longer works.",
        ),
        ("revoked", "Invitation revoked: its link no longer works."),
        ("role", "Role changed."),
        (
            "removed",
            "Member removed. Their account stays; they no longer reach this organization.",
        ),
    ]);
    members_page(
        &state,
        &staff,
        &scope,
        Outcome {
            notice,
            ..Outcome::default()
        },
    )
    .await
}

/// What a form left to show on the members page.
#[derive(Default)]
struct Outcome {
    form: InviteForm,
    errors: Vec<FieldError>,
    problem: Option<String>,
    notice: Option<String>,
}

async fn members_page(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    outcome: Outcome,
) -> Response {
    let Some((org, access)) = page_org(staff, scope, "members") else {
        return not_found_page(staff, Some(scope));
    };
    let members = match state.regentra.member_directory(&staff.caller, org).await {
        Ok(members) => members,
        Err(e) => return refused(staff, scope, &e),
    };
    let manage = staff.can(org, Permission::MembersManage);
    let invitations = if manage {
        match state
            .regentra
            .list_invitations(&staff.caller, org, PageRequest::first(500))
            .await
        {
            Ok(found) => found,
            Err(e) => return refused(staff, scope, &e),
        }
    } else {
        Vec::new()
    };
    let zone = state
        .regentra
        .time_zone(org)
        .await
        .unwrap_or(chrono_tz::Tz::UTC);
    let now = state.regentra.now();
    let kind = access.org.kind;
    let rows = members
        .into_iter()
        .map(|m| {
            let user = m.membership.user;
            MemberRow {
                role: role_label(m.membership.role),
                assigned: m.membership.assigned_by.is_some(),
                you: user == staff.caller.user,
                role_action: scope.path(&format!("settings/members/{user}/role")),
                remove: scope.path(&format!("settings/members/{user}/remove")),
                roles: role_options(kind, Some(m.membership.role)),
                name: m.name,
                email: m.email,
            }
        })
        .collect();
    let invitations = invitations
        .into_iter()
        .filter_map(|i| {
            let status = match i.status(now) {
                InvitationStatus::Pending => Badge {
                    label: "Pending",
                    class: "badge-info",
                },
                InvitationStatus::Expired => Badge {
                    label: "Expired",
                    class: "badge-warning",
                },
                // Accepted ones are members now; revoked ones are history.
                _ => return None,
            };
            let here = scope.path(&format!("settings/invitations/{}", i.id));
            Some(InvitationRow {
                status,
                role: role_label(i.role),
                sent: when(i.sent_at, zone),
                expires: when(i.expires_at, zone),
                resend: format!("{here}/resend"),
                revoke: format!("{here}/revoke"),
                name: i.name.unwrap_or_default(),
                email: i.email,
            })
        })
        .collect();
    let error = |field: &str| {
        outcome
            .errors
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    };
    let chosen_role = outcome.form.role.parse::<Role>().ok();
    let status = if outcome.errors.is_empty() && outcome.problem.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let shell = Shell::new(staff, Some(scope), Some(Section::Settings), "Members");
    render(
        status,
        &MembersPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            org: access.org.name.clone(),
            back: scope.path("settings"),
            rows,
            manage,
            csrf_field: staff.csrf_field(),
            invite_action: scope.path("settings/members/invite"),
            invite_roles: role_options(kind, chosen_role.or(Some(Role::Employee))),
            email_error: error("email"),
            name_error: error("name"),
            role_error: error("role"),
            errors: outcome.errors,
            form: outcome.form,
            invitations,
            problem: outcome.problem,
            notice: outcome.notice,
            staff_grid: super::PAGES
                .iter()
                .find(|p| p.key == "staff")
                .filter(|p| p.offered(staff, access))
                .map(|_| scope.path("settings/staff")),
        },
    )
}

/// The org of a members form, if the person manages its members; else
/// the 404 page (the core would refuse too).
fn managed(staff: &Staff, segment: &str) -> Option<(Scope, OrgId)> {
    match staff.scope(segment) {
        Some(scope @ Scope::Org(org)) if staff.can(org, Permission::MembersManage) => {
            Some((scope, org))
        }
        _ => None,
    }
}

/// The 404 page for what [`managed`] refuses.
fn not_managed(staff: &Staff, segment: &str) -> Response {
    not_found_page(staff, staff.scope(segment).as_ref())
}

/// `POST /app/{org}/settings/members/invite`: the invitation sent, or the
/// page again with the problems next to their fields.
async fn invite(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/members");
    let (staff, form, scope, org) =
        match org_form::<InviteForm>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Ok(role) = form.role.parse::<Role>() else {
        let errors = vec![FieldError::new("role", "choose a role")];
        return members_page(
            &state,
            &staff,
            &scope,
            Outcome {
                form,
                errors,
                ..Outcome::default()
            },
        )
        .await;
    };
    let name = Some(form.name.trim()).filter(|n| !n.is_empty());
    match state
        .regentra
        .invite_named(&staff.caller, org, &form.email, name, role)
        .await
    {
        Ok(_) => done(&scope, "invited"),
        Err(Error::Validation(errors)) => {
            members_page(
                &state,
                &staff,
                &scope,
                Outcome {
                    form,
                    errors,
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(Error::AlreadyExists { .. }) => {
            let errors = vec![FieldError::new(
                "email",
                "is already a member of this organization",
            )];
            members_page(
                &state,
                &staff,
                &scope,
                Outcome {
                    form,
                    errors,
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

fn done(scope: &Scope, what: &str) -> Response {
    Redirect::to(&format!("{}?done={what}", scope.path("settings/members"))).into_response()
}

fn parse_user(text: &str) -> Option<UserId> {
    text.parse::<uuid::Uuid>().ok().map(UserId)
}

#[derive(Debug, Default, Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /app/{org}/settings/members/{user}/role`.
async fn change_role(
    State(state): State<AppState>,
    Path((segment, user)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/members");
    let (staff, form, scope, org) =
        match org_form::<RoleForm>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let (Some(user), Ok(role)) = (parse_user(&user), form.role.parse::<Role>()) else {
        return not_found_page(&staff, Some(&scope));
    };
    match state
        .regentra
        .change_member_role(&staff.caller, org, user, role)
        .await
    {
        Ok(_) => done(&scope, "role"),
        Err(Error::Validation(errors)) => {
            let problem = errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ");
            members_page(
                &state,
                &staff,
                &scope,
                Outcome {
                    problem: Some(format!("The role was not changed: {problem}.")),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `GET /app/{org}/settings/members/{user}/remove`: what removing does,
/// and the button that does it.
async fn remove_page(
    State(state): State<AppState>,
    Path((segment, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/members/{user}/remove");
    let staff = match staff_in(&state, &headers, &segment, &path).await {
        Ok((staff, _)) => staff,
        Err(response) => return response,
    };
    let Some((scope, org)) = managed(&staff, &segment) else {
        return not_managed(&staff, &segment);
    };
    let Some(user) = parse_user(&user) else {
        return not_found_page(&staff, Some(&scope));
    };
    let members = match state.regentra.member_directory(&staff.caller, org).await {
        Ok(members) => members,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let Some(member) = members.into_iter().find(|m| m.membership.user == user) else {
        return not_found_page(&staff, Some(&scope));
    };
    let org_name = staff.scope_name(&scope);
    let name = member.name;
    let mut consequences = vec![Consequence::says(format!(
        "{name} ({}) will no longer reach {org_name}. Their account stays, with everything \
         they did here, and they can be invited again.",
        member.email
    ))];
    if member.membership.assigned_by.is_some() {
        consequences.push(Consequence::says(
            "They were assigned here by the MSP: the MSP’s staff assignment can give the \
             access back.",
        ));
    }
    confirm::page(
        &staff,
        &scope,
        Section::Settings,
        Confirmation {
            question: format!("Remove {name}?"),
            back: scope.path("settings/members"),
            back_label: "Members".into(),
            consequences,
            action: scope.path(&format!("settings/members/{user}/remove")),
            button: format!("Remove from {org_name}"),
            cancel: "Cancel".into(),
        },
    )
}

/// `POST /app/{org}/settings/members/{user}/remove`.
async fn remove(
    State(state): State<AppState>,
    Path((segment, user)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/members/{user}/remove");
    let (staff, Confirmed {}, scope, org) =
        match org_form::<Confirmed>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Some(user) = parse_user(&user) else {
        return not_found_page(&staff, Some(&scope));
    };
    match state.regentra.remove_member(&staff.caller, org, user).await {
        Ok(()) => done(&scope, "removed"),
        Err(Error::Validation(errors)) => {
            let problem = errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ");
            members_page(
                &state,
                &staff,
                &scope,
                Outcome {
                    problem: Some(format!("The member was not removed: {problem}.")),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `POST /app/{org}/settings/invitations/{invitation}/resend`.
async fn resend(
    State(state): State<AppState>,
    Path((segment, invitation)): Path<(String, String)>,
    request: Request,
) -> Response {
    invitation_action(state, segment, invitation, request, true).await
}

/// `POST /app/{org}/settings/invitations/{invitation}/revoke`.
async fn revoke(
    State(state): State<AppState>,
    Path((segment, invitation)): Path<(String, String)>,
    request: Request,
) -> Response {
    invitation_action(state, segment, invitation, request, false).await
}

async fn invitation_action(
    state: AppState,
    segment: String,
    invitation: String,
    request: Request,
    resend: bool,
) -> Response {
    let back = format!("/app/{segment}/settings/members");
    let (staff, Confirmed {}, scope, org) =
        match org_form::<Confirmed>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Ok(id) = invitation.parse::<uuid::Uuid>().map(InvitationId) else {
        return not_found_page(&staff, Some(&scope));
    };
    let result = if resend {
        state
            .regentra
            .resend_invitation(&staff.caller, org, id)
            .await
    } else {
        state
            .regentra
            .revoke_invitation(&staff.caller, org, id)
            .await
    };
    match result {
        Ok(_) => done(&scope, if resend { "resent" } else { "revoked" }),
        Err(Error::Validation(errors)) => {
            let problem = errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ");
            members_page(
                &state,
                &staff,
                &scope,
                Outcome {
                    problem: Some(format!("The invitation {problem}.")),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(Error::AlreadyExists { .. }) => {
            members_page(
                &state,
                &staff,
                &scope,
                Outcome {
                    problem: Some(
                        "This person is already a member: there is nothing to resend.".to_owned(),
                    ),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

// ---- the staff grid -----------------------------------------------------

/// The value of a cell's chooser for no membership.
const NONE: &str = "none";

/// The roles a cell offers (those staff can be assigned as).
const ASSIGNABLE: [Role; 2] = [Role::Technician, Role::ComplianceOfficer];

struct GridColumn {
    name: String,
}

enum Cell {
    /// The MSP's to change: the chooser's field name and options.
    Choice {
        field: String,
        label: String,
        options: Vec<RoleOption>,
        error: Option<String>,
        /// The value the grid showed when it was drawn, posted back so a
        /// save made from a stale page is refused, not applied over a
        /// change made meanwhile.
        was: &'static str,
    },
    /// Not the MSP's to change here: a membership the client gave the
    /// person itself, or an assignment whose role the client has since
    /// changed to one the MSP does not assign (an admin, say).
    Client {
        role: &'static str,
        why: &'static str,
    },
}

struct GridRow {
    name: String,
    email: String,
    cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "web/console/settings_staff.html")]
struct GridPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    action: String,
    back: String,
    members: String,
    clients: Vec<GridColumn>,
    rows: Vec<GridRow>,
    notice: Option<String>,
    problems: usize,
}

/// A cell's field name: `cell.{user}.{client}`.
fn cell_field(user: UserId, client: OrgId) -> String {
    format!("cell.{user}.{client}")
}

/// The org of a grid page or form, if the person assigns the MSP's staff.
fn grid_org<'a>(staff: &'a Staff, scope: &Scope) -> Option<(OrgId, &'a OrgAccess)> {
    page_org(staff, scope, "staff")
}

/// `GET /app/{msp}/settings/staff`.
async fn grid(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/staff");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((msp, _)) = grid_org(&staff, &scope) else {
        return not_found_page(&staff, Some(&scope));
    };
    let notice = query
        .key()
        .and_then(|d| d.parse::<usize>().ok())
        .map(|n| match n {
            0 => "Nothing to change: the grid is as it was.".to_owned(),
            1 => "Saved: 1 assignment changed.".to_owned(),
            n => format!("Saved: {n} assignments changed."),
        });
    grid_page(
        &state,
        &staff,
        &scope,
        msp,
        notice,
        HashMap::new(),
        &HashMap::new(),
    )
    .await
}

async fn grid_page(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    msp: OrgId,
    notice: Option<String>,
    errors: HashMap<String, String>,
    typed: &HashMap<String, String>,
) -> Response {
    let grid = match state.regentra.staff_grid(&staff.caller, msp).await {
        Ok(grid) => grid,
        Err(e) => return refused(staff, scope, &e),
    };
    let rows = grid
        .staff
        .iter()
        .map(|person| {
            let user = person.membership.user;
            GridRow {
                cells: grid
                    .clients
                    .iter()
                    .map(|client| {
                        let current = grid.membership(client.id, user);
                        match current {
                            Some(m) if m.assigned_by != Some(msp) => Cell::Client {
                                role: role_label(m.role),
                                why: "Given by the client",
                            },
                            Some(m) if !ASSIGNABLE.contains(&m.role) => Cell::Client {
                                role: role_label(m.role),
                                why: "Role changed by the client",
                            },
                            _ => {
                                let field = cell_field(user, client.id);
                                // A grid refused shows what was chosen.
                                let role = match typed.get(&field) {
                                    Some(value) => {
                                        ASSIGNABLE.into_iter().find(|r| r.key() == value)
                                    }
                                    None => current.map(|m| m.role),
                                };
                                let mut options = vec![RoleOption {
                                    value: NONE,
                                    label: "Not assigned",
                                    selected: role.is_none(),
                                }];
                                options.extend(ASSIGNABLE.into_iter().map(|r| RoleOption {
                                    value: r.key(),
                                    label: role_label(r),
                                    selected: role == Some(r),
                                }));
                                Cell::Choice {
                                    was: cell_value(current.map(|m| m.role)),
                                    error: errors.get(&field).cloned(),
                                    label: format!("{} at {}", person.name, client.name),
                                    field,
                                    options,
                                }
                            }
                        }
                    })
                    .collect(),
                name: person.name.clone(),
                email: person.email.clone(),
            }
        })
        .collect();
    let shell = Shell::new(
        staff,
        Some(scope),
        Some(Section::Settings),
        "Staff assignment",
    );
    render(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        &GridPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            csrf_field: staff.csrf_field(),
            action: scope.path("settings/staff"),
            back: scope.path("settings"),
            members: scope.path("settings/members"),
            clients: grid
                .clients
                .iter()
                .map(|c| GridColumn {
                    name: c.name.clone(),
                })
                .collect(),
            rows,
            notice,
            problems: errors.len(),
        },
    )
}

/// One change the posted grid asks for.
struct Change {
    field: String,
    client: OrgId,
    user: UserId,
    to: Option<Role>,
}

const CHANGED_MEANWHILE: &str = "Nothing was saved: someone changed these assignments \
     meanwhile. This is the grid as it is now; make your changes again.";

/// The posted grid no longer matches the assignments: someone changed a
/// cell after this page was drawn.
struct Stale;

/// What a cell holds, as its chooser's value: a role's key, or [`NONE`].
fn cell_value(role: Option<Role>) -> &'static str {
    role.map_or(NONE, Role::key)
}

/// The changes from `grid` to the posted cells: only the cells the grid
/// offers (the MSP's assignments in a role it assigns, or none); a cell
/// left out of the form is unchanged. A cell whose posted `was.` value is
/// not what it holds now makes the whole post stale.
fn changes(
    grid: &StaffGrid,
    msp: OrgId,
    posted: &HashMap<String, String>,
) -> Result<Vec<Change>, Stale> {
    let mut out = Vec::new();
    for person in &grid.staff {
        let user = person.membership.user;
        for client in &grid.clients {
            let current = grid.membership(client.id, user);
            if current.is_some_and(|m| m.assigned_by != Some(msp) || !ASSIGNABLE.contains(&m.role))
            {
                continue;
            }
            let field = cell_field(user, client.id);
            let Some(value) = posted.get(&field) else {
                continue;
            };
            let now = current.map(|m| m.role);
            if posted
                .get(&format!("was.{field}"))
                .is_some_and(|was| was != cell_value(now))
            {
                return Err(Stale);
            }
            let to = ASSIGNABLE.into_iter().find(|r| r.key() == value);
            if to.is_none() && value != NONE {
                continue;
            }
            if now != to {
                out.push(Change {
                    field,
                    client: client.id,
                    user,
                    to,
                });
            }
        }
    }
    Ok(out)
}

/// `POST /app/{msp}/settings/staff`: the whole grid, applied by the core
/// in one commit (each changed cell an assignment made, ended or given
/// another role). If any cell is refused nothing is saved, and each
/// refused cell shows why next to it.
async fn save_grid(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/staff");
    let (staff, posted) = match staff_form::<Vec<(String, String)>>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let scope = staff.scope(&segment);
    let Some((scope, msp)) = scope
        .as_ref()
        .and_then(|s| grid_org(&staff, s).map(|(msp, _)| (s.clone(), msp)))
    else {
        return not_found_page(&staff, scope.as_ref());
    };
    let grid = match state.regentra.staff_grid(&staff.caller, msp).await {
        Ok(grid) => grid,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let posted: HashMap<String, String> = posted.into_iter().collect();
    let Ok(changes) = changes(&grid, msp, &posted) else {
        return grid_page(
            &state,
            &staff,
            &scope,
            msp,
            Some(CHANGED_MEANWHILE.to_owned()),
            HashMap::new(),
            &HashMap::new(),
        )
        .await;
    };
    let cells: Vec<StaffCell> = changes
        .iter()
        .map(|c| StaffCell {
            client: c.client,
            user: c.user,
            role: c.to,
        })
        .collect();
    match state
        .regentra
        .set_staff_grid(&staff.caller, msp, &cells)
        .await
    {
        Ok(changed) => Redirect::to(&format!("{}?done={changed}", scope.path("settings/staff")))
            .into_response(),
        Err(Error::Validation(fields)) => {
            // The core names a refused cell by its index in `cells`.
            let mut errors: HashMap<String, String> = HashMap::new();
            for f in fields {
                let cell = f
                    .field
                    .strip_prefix("cells[")
                    .and_then(|rest| rest.strip_suffix(']'))
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| changes.get(i));
                if let Some(change) = cell {
                    errors
                        .entry(change.field.clone())
                        .and_modify(|m| {
                            m.push_str("; ");
                            m.push_str(&f.message);
                        })
                        .or_insert(f.message);
                }
            }
            grid_page(&state, &staff, &scope, msp, None, errors, &posted).await
        }
        Err(Error::NotFound { .. } | Error::AlreadyExists { .. } | Error::Conflict { .. }) => {
            grid_page(
                &state,
                &staff,
                &scope,
                msp,
                Some(CHANGED_MEANWHILE.to_owned()),
                HashMap::new(),
                &HashMap::new(),
            )
            .await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}
