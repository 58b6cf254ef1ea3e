//! Role-based access: the 8 roles, the permissions, the static matrix of
//! `docs/access-model.md`, and [`decide`], the pure rule behind the one
//! `authorize` chokepoint ([`crate::Regentra::authorize`]).
//!
//! Roles are held per organization. A request names the org it acts in and is
//! judged by the caller's role *there*; the same person can be a technician in
//! one client and a compliance officer in another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::OrgId;

/// The roles of the access model, in the column order of `docs/access-model.md`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Platform operator; held on the user account, not through a membership.
    SuperAdmin,
    OrgAdmin,
    MspAdmin,
    ComplianceManager,
    ComplianceOfficer,
    Employee,
    /// Auditors and executives: read everything, change nothing.
    Viewer,
    /// MSP helpdesk staff: PSA only, no compliance access.
    Technician,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::SuperAdmin,
        Role::OrgAdmin,
        Role::MspAdmin,
        Role::ComplianceManager,
        Role::ComplianceOfficer,
        Role::Employee,
        Role::Viewer,
        Role::Technician,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::OrgAdmin => "org_admin",
            Role::MspAdmin => "msp_admin",
            Role::ComplianceManager => "compliance_manager",
            Role::ComplianceOfficer => "compliance_officer",
            Role::Employee => "employee",
            Role::Viewer => "viewer",
            Role::Technician => "technician",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.key() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

macro_rules! permissions {
    ($($variant:ident => $key:literal),* $(,)?) => {
        /// Everything a caller can be allowed to do, one variant per
        /// permission of `docs/access-model.md`.
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Permission { $($variant),* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// The dotted key used in the matrix, in errors and in audit events.
            pub fn key(self) -> &'static str {
                match self { $(Permission::$variant => $key),* }
            }
        }
    };
}

permissions! {
    OrgRead => "org.read",
    OrgManage => "org.manage",
    MembersManage => "members.manage",
    TenantsManage => "tenants.manage",
    StaffAssign => "staff.assign",
    FrameworksRead => "frameworks.read",
    GapRead => "gap.read",
    FrameworksAdopt => "frameworks.adopt",
    ControlsUpdate => "controls.update",
    EvidenceRead => "evidence.read",
    EvidenceUpload => "evidence.upload",
    AssessmentsRun => "assessments.run",
    ReportsGenerate => "reports.generate",
    PoliciesRead => "policies.read",
    PoliciesManage => "policies.manage",
    PoliciesApprove => "policies.approve",
    CampaignsManage => "campaigns.manage",
    CampaignsRead => "campaigns.read",
    AcknowledgmentsSign => "acknowledgments.sign",
    SlaManage => "sla.manage",
    SlaRead => "sla.read",
    TicketsManage => "tickets.manage",
    TicketsRead => "tickets.read",
    TicketsSubmit => "tickets.submit",
    TimeTrack => "time.track",
    AssetsManage => "assets.manage",
    AssetsRead => "assets.read",
    KbManage => "kb.manage",
    KbRead => "kb.read",
    KbReadPortal => "kb.read_portal",
    ChatStaff => "chat.staff",
    ChatRequest => "chat.request",
    DashboardPortal => "dashboard.portal",
    AuditRead => "audit.read",
    AuditVerify => "audit.verify",
}

impl Permission {
    /// Whether exercising the permission changes state. Reads made through a
    /// delegation (super admin, MSP admin) are still recorded in the tenant's
    /// audit chain; writes record their own event.
    pub fn mutates(self) -> bool {
        use Permission::*;
        !matches!(
            self,
            OrgRead
                | FrameworksRead
                | GapRead
                | EvidenceRead
                | ReportsGenerate
                | PoliciesRead
                | CampaignsRead
                | SlaRead
                | TicketsRead
                | AssetsRead
                | KbRead
                | KbReadPortal
                | DashboardPortal
                | AuditRead
                | AuditVerify
        )
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .iter()
            .copied()
            .find(|p| p.key() == s)
            .ok_or_else(|| format!("unknown permission `{s}`"))
    }
}

/// What the matrix says about one role and one permission.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Denied,
    /// Allowed on every record of the org.
    All,
    /// Allowed only on records the caller owns or is assigned.
    Own,
}

impl Access {
    pub fn is_allowed(self) -> bool {
        self != Access::Denied
    }
}

/// The static role-to-permission matrix. Every cell of the matrix in
/// `docs/access-model.md` is here, and the table-driven test in this module
/// reads that document and checks each cell against this function.
pub fn decide(role: Role, permission: Permission) -> Access {
    use Access::{All, Denied, Own};
    use Permission::*;
    use Role::*;

    // The three administrative roles hold every right of an organization; the
    // differences are the MSP-only rights and signing, which is always personal.
    let admin = matches!(role, SuperAdmin | OrgAdmin | MspAdmin);
    let compliance_staff = matches!(role, ComplianceManager | ComplianceOfficer);
    let allowed = |yes: bool| if yes { All } else { Denied };

    match permission {
        OrgRead => allowed(role != Employee),
        OrgManage | MembersManage | SlaManage => allowed(admin),
        TenantsManage | StaffAssign => allowed(matches!(role, SuperAdmin | MspAdmin)),
        FrameworksRead | GapRead | EvidenceRead | ReportsGenerate | CampaignsRead => {
            allowed(admin || compliance_staff || role == Viewer)
        }
        FrameworksAdopt | PoliciesApprove => allowed(admin || role == ComplianceManager),
        ControlsUpdate | EvidenceUpload | AssessmentsRun | PoliciesManage | CampaignsManage => {
            allowed(admin || compliance_staff)
        }
        PoliciesRead => match role {
            Employee => Own,
            Technician => Denied,
            _ => All,
        },
        AcknowledgmentsSign => match role {
            Viewer => Denied,
            _ => Own,
        },
        SlaRead | TicketsRead | KbRead => allowed(admin || matches!(role, Viewer | Technician)),
        // The rest of a client's people see the assets assigned to them.
        AssetsRead => {
            if admin || matches!(role, Viewer | Technician) {
                All
            } else {
                Own
            }
        }
        TicketsManage | TimeTrack | AssetsManage | KbManage | ChatStaff => {
            allowed(admin || role == Technician)
        }
        TicketsSubmit | ChatRequest => match role {
            Employee => Own,
            Viewer => Denied,
            _ => All,
        },
        KbReadPortal | DashboardPortal => All,
        AuditRead | AuditVerify => allowed(admin || matches!(role, ComplianceManager | Viewer)),
    }
}

/// How the caller came to hold its role in the org a request names.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// A membership in the org itself.
    Membership,
    /// An MSP admin acting in one of the MSP's clients.
    MspDelegation { msp: OrgId },
    /// A platform operator.
    Platform,
}

impl Via {
    /// Access that does not come from the org's own member list; such access
    /// is always written to the org's audit chain, reads included.
    pub fn is_delegated(self) -> bool {
        self != Via::Membership
    }
}

/// The outcome of a successful authorization: who acts, in which org, with
/// which role, obtained how, and whether the right covers all records or only
/// the caller's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub org: OrgId,
    pub role: Role,
    pub via: Via,
    pub permission: Permission,
    pub access: Access,
    /// The directory record the role came from, at the version
    /// authorization read: the membership in the org, the MSP membership
    /// of a delegation, or the operator's account. A write made under the
    /// grant asserts it unchanged at commit, so a role changed or removed
    /// meanwhile makes the write a `Conflict` instead of letting it pass.
    pub basis: Option<Basis>,
}

/// A platform record at one version (see [`Grant::basis`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Basis {
    pub kind: &'static str,
    pub id: Uuid,
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The access-model document; its permission matrix is the reference
    /// [`decide`] is checked against.
    const ACCESS_MODEL: &str = include_str!("../../docs/access-model.md");
    const BEGIN: &str = "<!-- permission-matrix:begin -->";
    const END: &str = "<!-- permission-matrix:end -->";

    /// The documented matrix: one `(permission, cells)` pair per row, cells
    /// in [`Role::ALL`] order. Panics, naming the problem, on any departure
    /// from the table's fixed shape.
    fn documented_matrix(doc: &str) -> Vec<(Permission, Vec<Access>)> {
        let (Some(begin), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("docs/access-model.md has no `{BEGIN}` ... `{END}` table");
        };
        assert!(begin < end, "the matrix markers are out of order");
        let cells = |line: &str| -> Vec<String> {
            let line = line.trim();
            assert!(
                line.starts_with('|') && line.ends_with('|'),
                "not a table row: {line}"
            );
            line[1..line.len() - 1]
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        };
        let mut lines = doc[begin + BEGIN.len()..end]
            .lines()
            .filter(|l| !l.trim().is_empty());
        let header = cells(lines.next().expect("the matrix has a header row"));
        let mut expected_header = vec!["permission"];
        expected_header.extend(Role::ALL.iter().map(|r| r.key()));
        expected_header.push("covers");
        assert_eq!(header, expected_header, "the matrix header");
        let separator = cells(lines.next().expect("the matrix has a separator row"));
        assert!(
            separator.len() == header.len()
                && separator
                    .iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':')),
            "the row after the header must be the separator: {separator:?}"
        );
        lines
            .map(|line| {
                let row = cells(line);
                assert_eq!(row.len(), header.len(), "wrong number of cells: {line}");
                let key = row[0]
                    .strip_prefix('`')
                    .and_then(|k| k.strip_suffix('`'))
                    .unwrap_or_else(|| panic!("permission key not in backticks: {line}"));
                let permission: Permission = key
                    .parse()
                    .unwrap_or_else(|e| panic!("{e} in the documented matrix"));
                let access = row[1..=Role::ALL.len()]
                    .iter()
                    .map(|cell| match cell.as_str() {
                        "Y" => Access::All,
                        "own" => Access::Own,
                        "-" => Access::Denied,
                        other => panic!("unknown cell `{other}` in row {key}"),
                    })
                    .collect();
                (permission, access)
            })
            .collect()
    }

    #[test]
    fn every_role_against_every_permission_matches_the_documented_matrix() {
        let documented = documented_matrix(ACCESS_MODEL);
        let mut seen = std::collections::BTreeSet::new();
        for (permission, cells) in &documented {
            assert!(seen.insert(*permission), "{permission} is documented twice");
            for (role, &expected) in Role::ALL.into_iter().zip(cells) {
                assert_eq!(
                    decide(role, *permission),
                    expected,
                    "{role} / {permission}: the code disagrees with docs/access-model.md"
                );
            }
        }
        for &permission in Permission::ALL {
            assert!(
                seen.contains(&permission),
                "{permission} is missing from docs/access-model.md"
            );
        }
    }

    #[test]
    #[should_panic(expected = "has no")]
    fn a_missing_matrix_is_an_error() {
        documented_matrix("# The access model\n\nNo table here.\n");
    }

    #[test]
    fn viewer_changes_nothing_and_technician_sees_no_compliance() {
        for &p in Permission::ALL {
            if p.mutates() {
                assert_eq!(decide(Role::Viewer, p), Access::Denied, "viewer may {p}");
            }
        }
        for p in [
            Permission::FrameworksRead,
            Permission::GapRead,
            Permission::ControlsUpdate,
            Permission::EvidenceRead,
            Permission::PoliciesRead,
            Permission::CampaignsRead,
            Permission::AuditRead,
        ] {
            assert_eq!(
                decide(Role::Technician, p),
                Access::Denied,
                "technician may {p}"
            );
        }
    }

    #[test]
    fn keys_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.key().parse::<Role>(), Ok(role));
        }
        for &p in Permission::ALL {
            assert_eq!(p.key().parse::<Permission>(), Ok(p));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
