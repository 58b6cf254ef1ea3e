//! Settings in the console (`/app/{org}/settings`): a small index of the
//! settings pages the person may open in the org, and those pages: its
//! members and invitations ([`members`]), for an MSP the assignment of its
//! staff to its clients ([`members`]) and its clients themselves
//! ([`clients`]: provisioning, renaming, offboarding), and the org's audit
//! log ([`audit`]), and the client portal's settings ([`portal`]).
//! Settings pages of other modules (the SLA policies of [`super::sla`])
//! join the index by adding themselves to [`PAGES`].
//!
//! Each page offers only what the person's role allows (the core decides
//! again on every operation); a form posted without the right is the 404
//! page, with nothing changed.

pub mod audit;
pub mod clients;
pub mod members;
pub mod portal;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use regentra_core::Error;
use regentra_core::ids::OrgId;
use regentra_core::rbac::{Permission, Role};
use regentra_core::tenancy::{OrgAccess, OrgKind};

use super::{Scope, Section, Shell, Staff, choose_client, failed, not_found_page, staff_in};
use crate::server::AppState;
use crate::web::{Chrome, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/settings", get(index))
        .merge(members::routes())
        .merge(clients::routes())
        .merge(audit::routes())
        .merge(portal::routes())
}

/// A settings page, as the index lists it.
#[derive(Debug, Clone, Copy)]
pub struct SettingsPage {
    /// The path under the org's settings (`/app/{org}/settings/{key}`).
    pub key: &'static str,
    pub label: &'static str,
    /// One line on what is there.
    pub summary: &'static str,
    /// The right the page needs in the org.
    pub permission: Permission,
    /// Whether the page is an MSP's only (its clients, its staff).
    pub msp_only: bool,
}

impl SettingsPage {
    /// Whether the page is for this person in this org.
    pub fn offered(&self, staff: &Staff, access: &OrgAccess) -> bool {
        (!self.msp_only || access.org.kind == OrgKind::Msp)
            && staff.can(access.org.id, self.permission)
    }
}

/// Every settings page, in the index's order. A page that exists adds
/// itself here.
pub const PAGES: &[SettingsPage] = &[
    SettingsPage {
        key: "members",
        label: "Members",
        summary: "Who works in this organization and with which role; invitations.",
        permission: Permission::OrgRead,
        msp_only: false,
    },
    SettingsPage {
        key: "staff",
        label: "Staff assignment",
        summary: "Which of your technicians and compliance officers work for which client.",
        permission: Permission::StaffAssign,
        msp_only: true,
    },
    SettingsPage {
        key: "clients",
        label: "Clients",
        summary: "Provision a client, rename it, offboard it (and bring it back).",
        permission: Permission::TenantsManage,
        msp_only: true,
    },
    SettingsPage {
        key: "sla",
        label: "SLA policies",
        summary: "Response and resolution targets, business hours and escalations.",
        permission: Permission::SlaRead,
        msp_only: false,
    },
    SettingsPage {
        key: "portal",
        label: "Client portal",
        summary: "The portal's address, what it shows, its branding and its own host name.",
        permission: Permission::OrgRead,
        msp_only: false,
    },
    SettingsPage {
        key: "audit",
        label: "Audit log",
        summary: "Everything done in this organization, by whom, and whether the record is intact.",
        permission: Permission::AuditRead,
        msp_only: false,
    },
];

struct IndexEntry {
    href: String,
    label: &'static str,
    summary: &'static str,
}

#[derive(Template)]
#[template(path = "web/console/settings.html")]
struct IndexPage {
    shell: Option<Shell>,
    chrome: Chrome,
    org: String,
    pages: Vec<IndexEntry>,
}

/// `GET /app/{org}/settings`: the settings pages the person may open here.
async fn index(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if scope == Scope::All {
        return choose_client(&staff, Section::Settings);
    }
    let Some((_, access)) = org_of(&staff, &scope) else {
        return not_found_page(&staff, Some(&scope));
    };
    let pages: Vec<IndexEntry> = PAGES
        .iter()
        .filter(|p| p.offered(&staff, access))
        .map(|p| IndexEntry {
            href: scope.path(&format!("settings/{}", p.key)),
            label: p.label,
            summary: p.summary,
        })
        .collect();
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Settings), "Settings");
    render(
        StatusCode::OK,
        &IndexPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            org: access.org.name.clone(),
            pages,
        },
    )
}

/// The org of a settings page's scope, if the person reaches it.
pub(crate) fn org_of<'a>(staff: &'a Staff, scope: &Scope) -> Option<(OrgId, &'a OrgAccess)> {
    match scope {
        Scope::Org(org) => staff.org(*org).map(|access| (*org, access)),
        Scope::All => None,
    }
}

/// The org and its access for a settings page whose right is
/// `permission` (and, `msp_only`, of an MSP); `None` is the 404 page.
pub(crate) fn page_org<'a>(
    staff: &'a Staff,
    scope: &Scope,
    page: &str,
) -> Option<(OrgId, &'a OrgAccess)> {
    let spec = PAGES.iter().find(|p| p.key == page)?;
    org_of(staff, scope).filter(|(_, access)| spec.offered(staff, access))
}

/// How a role reads on a page.
pub(crate) fn role_label(role: Role) -> &'static str {
    match role {
        Role::SuperAdmin => "Platform operator",
        Role::OrgAdmin => "Admin",
        Role::MspAdmin => "MSP admin",
        Role::ComplianceManager => "Compliance manager",
        Role::ComplianceOfficer => "Compliance officer",
        Role::Employee => "Employee",
        Role::Viewer => "Viewer",
        Role::Technician => "Technician",
    }
}

/// An option of a role chooser.
pub(crate) struct RoleOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The roles a membership in an org of `kind` may carry (the core's
/// rule), `current` selected.
pub(crate) fn role_options(kind: OrgKind, current: Option<Role>) -> Vec<RoleOption> {
    Role::ALL
        .into_iter()
        .filter(|r| regentra_core::tenancy::check_member_role(kind, *r).is_ok())
        .map(|r| RoleOption {
            value: r.key(),
            label: role_label(r),
            selected: Some(r) == current,
        })
        .collect()
}

/// The answer to an operation the core refused for a reason that is not
/// the form's: an id that names nothing here and a right the person lacks
/// are both the 404 page.
pub(crate) fn refused(staff: &Staff, scope: &Scope, error: &Error) -> Response {
    match error {
        Error::NotFound { .. } | Error::PermissionDenied { .. } => {
            not_found_page(staff, Some(scope))
        }
        e => failed(e),
    }
}
