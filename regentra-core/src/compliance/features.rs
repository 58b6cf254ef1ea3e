//! Framework-specific features. Each unlocks when its framework is adopted
//! and keeps its data when the framework is unadopted:
//! - HIPAA: the business associate agreement register;
//! - ISO/IEC 27001: the Statement of Applicability;
//! - CMMC: the SPRS score of the DoD Assessment Methodology and the plan of
//!   action for what is still open.
//!
//! SOC 2 categories, PCI DSS appendices and the FTC Safeguards profile are
//! adoption settings (see [`super::FrameworkSettings`]) that scope the
//! requirements in [`super::evaluate::exclusions`].

use std::ops::Bound;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::evaluate::{FrameworkEvaluation, RequirementStatus, evaluate};
use super::{CmmcProfile, Evidence};
use crate::audit::Target;
use crate::catalog::{Catalog, ControlRef, Framework};
use crate::error::{Error, FieldError, Result};
use crate::ids::{AgreementId, EvidenceId, OrgId, UserId};
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::spreadsheet::Sheet;
use crate::store::{
    self, ChangeSet, Entity, IndexEntry, IndexScan, Listing, PageRequest, ScanCursor, ScanRequest,
    Scope, Versioned,
};
use crate::tenancy::validate_name;

// ----- HIPAA: business associate agreements ------------------------------

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    /// Being negotiated; no PHI may flow yet.
    Pending,
    Signed,
    Expired,
    Terminated,
}

/// A business associate agreement with a vendor that handles PHI.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: AgreementId,
    pub org: OrgId,
    pub vendor: String,
    /// What the vendor does for the org.
    pub services: String,
    /// How the vendor touches PHI (stores, transmits, views ...).
    pub phi_access: String,
    pub status: AgreementStatus,
    pub signed_on: Option<NaiveDate>,
    pub renewal_due: Option<NaiveDate>,
    /// The signed agreement, stored as evidence.
    pub document: Option<EvidenceId>,
    #[serde(default)]
    pub notes: String,
    pub updated_by: UserId,
}

impl Entity for Agreement {
    const KIND: &'static str = "baa";
    const NAME: &'static str = "business associate agreement";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![IndexEntry::unique("vendor", self.vendor.to_lowercase())];
        // Signed agreements by renewal date: the register's "expiring" walk.
        if self.status == AgreementStatus::Signed
            && let Some(due) = self.renewal_due
        {
            entries.push(IndexEntry::multi("renewal", store::date_key(due)));
        }
        entries
    }
}

/// A new or changed agreement, as the user enters it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgreement {
    pub vendor: String,
    pub services: String,
    pub phi_access: String,
    pub status: AgreementStatus,
    pub signed_on: Option<NaiveDate>,
    pub renewal_due: Option<NaiveDate>,
    pub document: Option<EvidenceId>,
    #[serde(default)]
    pub notes: String,
}

impl NewAgreement {
    fn check(mut self) -> Result<Self> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("vendor", &mut self.vendor),
            ("services", &mut self.services),
            ("phi_access", &mut self.phi_access),
        ] {
            match validate_name(field, value) {
                Ok(v) => *value = v,
                Err(Error::Validation(e)) => errors.extend(e),
                Err(e) => return Err(e),
            }
        }
        if self.status == AgreementStatus::Signed && self.signed_on.is_none() {
            errors.push(FieldError::new(
                "signed_on",
                "a signed agreement needs its signing date",
            ));
        }
        if let (Some(signed), Some(renewal)) = (self.signed_on, self.renewal_due)
            && renewal <= signed
        {
            errors.push(FieldError::new("renewal_due", "must be after signed_on"));
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(Error::Validation(errors))
        }
    }
}

impl Regentra {
    /// Adds a business associate agreement to the HIPAA register.
    pub async fn add_agreement(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewAgreement,
    ) -> Result<Agreement> {
        let grant = self
            .authorize_all(principal, org, Permission::ControlsUpdate)
            .await?;
        self.require_adopted(org, "hipaa", "the business associate agreement register")
            .await?;
        let new = new.check()?;
        self.check_document(org, new.document).await?;
        let agreement = Agreement {
            id: AgreementId(self.new_id()),
            org,
            vendor: new.vendor,
            services: new.services,
            phi_access: new.phi_access,
            status: new.status,
            signed_on: new.signed_on,
            renewal_due: new.renewal_due,
            document: new.document,
            notes: new.notes,
            updated_by: principal.user,
        };
        let mut changes = ChangeSet::new();
        changes.insert(&agreement)?;
        changes.audit(self.event(
            principal,
            &grant,
            "baa.added",
            Target::new(Agreement::KIND, agreement.id),
            json!({ "vendor": agreement.vendor, "status": agreement.status }),
        ));
        self.store().apply(changes).await.map_err(|e| match e {
            Error::AlreadyExists { .. } => Error::AlreadyExists {
                what: Agreement::NAME,
                field: "vendor".into(),
            },
            other => other,
        })?;
        Ok(agreement)
    }

    /// Replaces an agreement's details (renewal, status, document ...).
    pub async fn update_agreement(
        &self,
        principal: &Principal,
        org: OrgId,
        id: AgreementId,
        change: NewAgreement,
    ) -> Result<Agreement> {
        let grant = self
            .authorize_all(principal, org, Permission::ControlsUpdate)
            .await?;
        self.require_adopted(org, "hipaa", "the business associate agreement register")
            .await?;
        let change = change.check()?;
        self.check_document(org, change.document).await?;
        let mut current: Versioned<Agreement> =
            store::require(self.store(), Scope::Org(org), id.0).await?;
        let from = current.value.status;
        current.value = Agreement {
            vendor: change.vendor,
            services: change.services,
            phi_access: change.phi_access,
            status: change.status,
            signed_on: change.signed_on,
            renewal_due: change.renewal_due,
            document: change.document,
            notes: change.notes,
            updated_by: principal.user,
            ..current.value
        };
        let mut changes = ChangeSet::new();
        changes.update(&current)?;
        changes.audit(self.event(
            principal,
            &grant,
            "baa.updated",
            Target::new(Agreement::KIND, id),
            json!({ "vendor": current.value.vendor, "status": { "from": from, "to": current.value.status } }),
        ));
        self.store().apply(changes).await?;
        Ok(current.value)
    }

    /// A page of the register, in the order agreements were added.
    pub async fn agreements(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Listing<Agreement>> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        self.require_adopted(org, "hipaa", "the business associate agreement register")
            .await?;
        Ok(
            store::list_page::<Agreement>(self.store(), Scope::Org(org), page)
                .await?
                .map(|v| v.value),
        )
    }

    /// One agreement of the register.
    pub async fn agreement(
        &self,
        principal: &Principal,
        org: OrgId,
        id: AgreementId,
    ) -> Result<Agreement> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        self.require_adopted(org, "hipaa", "the business associate agreement register")
            .await?;
        Ok(
            store::require::<Agreement>(self.store(), Scope::Org(org), id.0)
                .await?
                .value,
        )
    }

    /// A page of the signed agreements whose renewal falls within `days`
    /// days from today (or is already overdue), soonest first: a walk of
    /// the `renewal` index up to the horizon.
    pub async fn agreements_expiring(
        &self,
        principal: &Principal,
        org: OrgId,
        days: u32,
        page: ScanRequest,
    ) -> Result<Listing<Agreement, ScanCursor>> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        self.require_adopted(org, "hipaa", "the business associate agreement register")
            .await?;
        let today = self.now().date_naive();
        // A horizon past the calendar's end means every renewal is within it.
        let horizon = today
            .checked_add_signed(Duration::days(i64::from(days)))
            .unwrap_or(NaiveDate::MAX);
        let walk = IndexScan::between(
            "renewal",
            Bound::Unbounded,
            Bound::Included(store::date_key(horizon)),
        )
        .after(page.after)
        .limit(page.limit);
        Ok(
            store::scan_page::<Agreement>(self.store(), Scope::Org(org), &walk)
                .await?
                .map(|v| v.value),
        )
    }

    async fn check_document(&self, org: OrgId, document: Option<EvidenceId>) -> Result<()> {
        if let Some(doc) = document
            && store::load::<Evidence>(self.store(), Scope::Org(org), doc.0)
                .await?
                .is_none()
        {
            return Err(Error::invalid(
                "document",
                "must be evidence of this organization",
            ));
        }
        Ok(())
    }

    /// ISO/IEC 27001: the Statement of Applicability.
    pub async fn statement_of_applicability(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<Vec<SoaEntry>> {
        self.authorize_all(principal, org, Permission::GapRead)
            .await?;
        let fe = self
            .framework_evaluation(org, "iso27001", "the Statement of Applicability")
            .await?;
        let catalog = self.catalog_for(org).await?;
        let framework = catalog
            .framework("iso27001")
            .ok_or(Error::NotFound { what: "framework" })?;
        Ok(statement_of_applicability(&catalog, framework, &fe))
    }

    /// The Statement of Applicability as CSV.
    pub async fn statement_of_applicability_csv(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<String> {
        self.authorize_all(principal, org, Permission::ReportsGenerate)
            .await?;
        let fe = self
            .framework_evaluation(org, "iso27001", "the Statement of Applicability")
            .await?;
        let catalog = self.catalog_for(org).await?;
        let framework = catalog
            .framework("iso27001")
            .ok_or(Error::NotFound { what: "framework" })?;
        soa_csv(&statement_of_applicability(&catalog, framework, &fe))
    }

    /// CMMC: the SPRS score and the plan of action for what is still open.
    pub async fn sprs_score(&self, principal: &Principal, org: OrgId) -> Result<SprsScore> {
        self.authorize_all(principal, org, Permission::GapRead)
            .await?;
        let adoption = self.require_adopted(org, "cmmc", "the SPRS score").await?;
        let fe = self
            .framework_evaluation(org, "cmmc", "the SPRS score")
            .await?;
        let catalog = self.catalog_for(org).await?;
        let framework = catalog
            .framework("cmmc")
            .ok_or(Error::NotFound { what: "framework" })?;
        Ok(sprs_score(
            &catalog,
            framework,
            &fe,
            adoption.value.settings.cmmc.as_ref(),
        ))
    }

    async fn framework_evaluation(
        &self,
        org: OrgId,
        framework: &str,
        feature: &str,
    ) -> Result<FrameworkEvaluation> {
        self.require_adopted(org, framework, feature).await?;
        let (catalog, state) = (self.catalog_for(org).await?, self.org_state(org).await?);
        evaluate(&catalog, &state, self.now())
            .frameworks
            .into_iter()
            .find(|f| f.framework == framework)
            .ok_or(Error::NotFound { what: "framework" })
    }
}

// ----- ISO/IEC 27001: Statement of Applicability --------------------------

/// One Annex A control in the Statement of Applicability.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoaEntry {
    pub control: String,
    pub title: String,
    pub theme: String,
    pub applicable: bool,
    /// Why it is excluded (or the org's note when included).
    pub justification: Option<String>,
    /// Derived from the common controls that implement it.
    pub implementation: RequirementStatus,
    pub common_controls: Vec<ControlRef>,
}

/// Every Annex A control, applicable unless the org scoped it out with a
/// justification, with its implementation status derived.
pub fn statement_of_applicability(
    catalog: &Catalog,
    framework: &Framework,
    fe: &FrameworkEvaluation,
) -> Vec<SoaEntry> {
    fe.requirements
        .iter()
        .filter(|r| r.id.starts_with("A."))
        .map(|r| {
            let theme = framework
                .requirement(&r.id)
                .and_then(|q| q.attributes.get("theme").cloned())
                .unwrap_or_default();
            SoaEntry {
                control: r.id.clone(),
                title: r.title.clone(),
                theme,
                applicable: r.status != RequirementStatus::NotApplicable,
                justification: r.justification.clone(),
                implementation: r.status,
                common_controls: catalog.control_refs(&r.controls),
            }
        })
        .collect()
}

fn soa_csv(entries: &[SoaEntry]) -> Result<String> {
    let mut sheet = Sheet::new(&[
        "control",
        "title",
        "theme",
        "applicable",
        "justification",
        "implementation",
        "common_controls",
    ])?;
    for e in entries {
        let controls = e
            .common_controls
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        sheet.row([
            e.control.as_str(),
            &e.title,
            &e.theme,
            if e.applicable { "yes" } else { "no" },
            e.justification.as_deref().unwrap_or(""),
            e.implementation.key(),
            &controls,
        ])?;
    }
    sheet.finish()
}

// ----- CMMC: SPRS score ----------------------------------------------------

/// The highest SPRS score: every NIST SP 800-171 requirement met.
pub const SPRS_MAX: i32 = 110;

/// An open Level 2 requirement on the plan of action, with its weight.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    pub requirement: String,
    pub title: String,
    pub status: RequirementStatus,
    /// Points this requirement costs now.
    pub points: i32,
    /// The common controls still to complete.
    pub controls: Vec<ControlRef>,
}

/// The DoD Assessment Methodology score for NIST SP 800-171.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SprsScore {
    pub score: i32,
    pub max: i32,
    /// Level 2 requirements met (satisfied or not applicable).
    pub met: usize,
    pub assessed: usize,
    /// Without a system security plan (3.12.4) the methodology does not
    /// accept a score at all.
    pub system_security_plan: bool,
    /// Open requirements, heaviest first: the plan of action.
    pub plan_of_action: Vec<PlanItem>,
}

/// 110 minus the weight (5, 3 or 1) of every unmet Level 2 requirement, with
/// the published partial credit: 3.5.3 costs 3 instead of 5 when MFA covers
/// remote and privileged access but not all users, and 3.13.11 costs 3 when
/// encryption is used but not FIPS-validated.
pub fn sprs_score(
    catalog: &Catalog,
    framework: &Framework,
    fe: &FrameworkEvaluation,
    profile: Option<&CmmcProfile>,
) -> SprsScore {
    let mut score = SPRS_MAX;
    let (mut met, mut assessed) = (0, 0);
    let mut ssp = true;
    let mut plan = Vec::new();
    for r in &fe.requirements {
        let Some(spec) = framework.requirement(&r.id) else {
            continue;
        };
        if spec.attributes.get("level").map(String::as_str) != Some("L2") {
            continue;
        }
        assessed += 1;
        if matches!(
            r.status,
            RequirementStatus::Satisfied | RequirementStatus::NotApplicable
        ) {
            met += 1;
            continue;
        }
        if r.id.ends_with("-3.12.4") {
            ssp = false;
        }
        let full: i32 = spec
            .attributes
            .get("sprs_points")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let partial_applies = profile.is_some_and(|p| {
            (r.id.ends_with("-3.5.3") && p.mfa_partial)
                || (r.id.ends_with("-3.13.11") && p.encryption_not_fips_validated)
        });
        let points = match spec
            .attributes
            .get("sprs_partial_points")
            .and_then(|p| p.parse().ok())
        {
            Some(partial) if partial_applies => partial,
            _ => full,
        };
        score -= points;
        plan.push(PlanItem {
            requirement: r.id.clone(),
            title: r.title.clone(),
            status: r.status,
            points,
            controls: catalog.control_refs(&r.missing),
        });
    }
    plan.sort_by_key(|p| std::cmp::Reverse(p.points));
    SprsScore {
        score,
        max: SPRS_MAX,
        met,
        assessed,
        system_security_plan: ssp,
        plan_of_action: plan,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::compliance::CmmcLevel;
    use crate::compliance::evaluate::RequirementResult;

    /// CMMC with every requirement satisfied except `unmet`.
    fn evaluation_with_unmet(unmet: &[&str]) -> FrameworkEvaluation {
        let framework = Catalog::builtin().framework("cmmc").expect("cmmc");
        let requirements = framework
            .assessable()
            .map(|r| {
                let open = unmet.contains(&r.id.as_str());
                RequirementResult {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    section: framework.section_of(r).id.clone(),
                    status: if open {
                        RequirementStatus::Gap
                    } else {
                        RequirementStatus::Satisfied
                    },
                    justification: None,
                    controls: r.controls.clone(),
                    missing: if open { r.controls.clone() } else { Vec::new() },
                }
            })
            .collect();
        FrameworkEvaluation {
            framework: "cmmc".into(),
            requirements,
        }
    }

    fn score(unmet: &[&str], profile: Option<&CmmcProfile>) -> SprsScore {
        let framework = Catalog::builtin().framework("cmmc").expect("cmmc");
        sprs_score(
            Catalog::builtin(),
            framework,
            &evaluation_with_unmet(unmet),
            profile,
        )
    }

    #[test]
    fn all_met_scores_110() {
        let s = score(&[], None);
        assert_eq!((s.score, s.met, s.assessed), (110, 110, 110));
        assert!(s.plan_of_action.is_empty() && s.system_security_plan);
    }

    #[test]
    fn worked_example_with_partial_credit() {
        // Unmet: flow control (1 point), audit accountability (3), MFA (5),
        // FIPS-validated cryptography (5). A Level 1 gap does not count here.
        let unmet = [
            "AC.L2-3.1.3",
            "AU.L2-3.3.2",
            "IA.L2-3.5.3",
            "SC.L2-3.13.11",
            "AC.L1-b.1.i",
        ];
        assert_eq!(score(&unmet, None).score, 110 - 1 - 3 - 5 - 5);
        let partial = CmmcProfile {
            target_level: CmmcLevel::L2,
            mfa_partial: true,
            encryption_not_fips_validated: false,
        };
        let s = score(&unmet, Some(&partial));
        assert_eq!(
            s.score,
            110 - 1 - 3 - 3 - 5,
            "MFA for remote and privileged users only costs 3"
        );
        assert_eq!(
            s.plan_of_action
                .iter()
                .map(|p| (p.requirement.as_str(), p.points))
                .collect::<Vec<_>>(),
            [
                ("SC.L2-3.13.11", 5),
                ("AU.L2-3.3.2", 3),
                ("IA.L2-3.5.3", 3),
                ("AC.L2-3.1.3", 1)
            ]
        );
        let both = CmmcProfile {
            encryption_not_fips_validated: true,
            ..partial
        };
        assert_eq!(score(&unmet, Some(&both)).score, 110 - 1 - 3 - 3 - 3);
    }

    #[test]
    fn the_weights_add_up_to_the_published_floor() {
        let framework = Catalog::builtin().framework("cmmc").expect("cmmc");
        let all: Vec<&str> = framework.assessable().map(|r| r.id.as_str()).collect();
        let s = sprs_score(
            Catalog::builtin(),
            framework,
            &evaluation_with_unmet(&all),
            None,
        );
        assert_eq!(s.score, -203, "the methodology's lowest possible score");
        assert!(
            !s.system_security_plan,
            "an unmet 3.12.4 means no system security plan"
        );
        let weights: std::collections::BTreeMap<i32, usize> =
            s.plan_of_action
                .iter()
                .fold(Default::default(), |mut m, p| {
                    *m.entry(p.points).or_default() += 1;
                    m
                });
        assert_eq!(weights.values().sum::<usize>(), 110);
    }
}
