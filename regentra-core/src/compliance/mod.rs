//! Compliance: what an organization does with the catalogs.
//!
//! An org adopts frameworks; adopting creates one [`ControlImplementation`]
//! per common control the framework needs (reusing any another framework
//! already created), so a control is worked once and every adopted
//! framework sees it. [`Evidence`] (files, links, attestations) is linked to
//! controls. A requirement's status is never stored: [`evaluate`] derives it
//! from the catalog, the org's state and the time, and [`gap`] turns that
//! into gap analyses and [`report`] into JSON, CSV and Markdown.
//!
//! Framework-specific features hang off the adoption: trust services
//! categories (SOC 2), appendix applicability (PCI DSS), target level and
//! SPRS score (CMMC), the qualified individual and small-institution
//! exemption (FTC Safeguards), the Statement of Applicability (ISO 27001)
//! and the business associate agreement register (HIPAA).

pub mod compare;
pub mod evaluate;
pub mod evidence;
pub mod features;
pub mod gap;
pub mod report;
pub mod service;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use compare::{AssessmentComparison, StatusChange, compare_assessments};
pub use evaluate::{ControlState, Evaluation, OrgState, RequirementStatus, evaluate};
pub use evidence::{EvidenceContent, EvidenceState, NewEvidence, NewFile};
pub use features::{
    Agreement, AgreementStatus, NewAgreement, PlanItem, SoaEntry, SprsScore, sprs_score,
    statement_of_applicability,
};
pub use gap::{
    CrossFrameworkSummary, FrameworkGaps, GapAnalysis, StatusTotals, framework_gap_analysis,
    gap_analysis,
};

use crate::error::{Error, Result};
use crate::ids::{AdoptionId, AssessmentId, ControlImplId, EvidenceId, OrgId, UserId};
use crate::store::{self, Entity, IndexEntry, Scope};

/// An organization's adoption of a framework. Unadopting only deactivates
/// it: scoping decisions and settings stay, and re-adopting restores them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adoption {
    pub id: AdoptionId,
    pub org: OrgId,
    pub framework: String,
    pub active: bool,
    pub adopted_at: DateTime<Utc>,
    pub adopted_by: UserId,
    pub unadopted_at: Option<DateTime<Utc>>,
    /// Requirements the org scoped out, with the justification it gave.
    #[serde(default)]
    pub scoped_out: BTreeMap<String, String>,
    #[serde(default)]
    pub settings: FrameworkSettings,
}

impl Entity for Adoption {
    const KIND: &'static str = "adoption";
    const NAME: &'static str = "adoption";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::unique("framework", &self.framework)]
    }
}

/// The framework-specific settings an adoption carries; each field belongs
/// to one framework and is `None` until set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkSettings {
    /// SOC 2: the trust services categories in scope (security always is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_services_categories: Option<BTreeSet<TrustServicesCategory>>,
    /// PCI DSS: the appendices that apply (none until declared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_appendices: Option<BTreeSet<PciAppendix>>,
    /// PCI DSS: whether the org is assessed as a service provider or as a
    /// merchant only. Until declared, the requirements for service
    /// providers stay in scope: leaving one out silently is the costlier
    /// mistake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_entity: Option<PciEntity>,
    /// CMMC: target level and the facts the SPRS partial credit needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmmc: Option<CmmcProfile>,
    /// FTC Safeguards: qualified individual and the 314.6 exemption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftc: Option<FtcProfile>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustServicesCategory {
    Security,
    Availability,
    Confidentiality,
    ProcessingIntegrity,
    Privacy,
}

impl TrustServicesCategory {
    pub fn key(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::Availability => "availability",
            Self::Confidentiality => "confidentiality",
            Self::ProcessingIntegrity => "processing_integrity",
            Self::Privacy => "privacy",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PciAppendix {
    /// Multi-tenant service providers.
    A1,
    /// Entities using SSL or early TLS for card-present POS POI terminals.
    A2,
    /// Designated entities supplemental validation.
    A3,
}

/// How an org is assessed under PCI DSS: the standard sets extra
/// requirements for service providers (those flagged `applies_to:
/// service_providers` in the catalog).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PciEntity {
    /// Stores, processes or transmits card data for its own sales only.
    MerchantOnly,
    /// Affects the security of other entities' card data (whether or not it
    /// is also a merchant).
    ServiceProvider,
}

impl PciAppendix {
    pub fn key(self) -> &'static str {
        match self {
            Self::A1 => "A1",
            Self::A2 => "A2",
            Self::A3 => "A3",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CmmcLevel {
    L1,
    L2,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CmmcProfile {
    pub target_level: CmmcLevel,
    /// MFA is in place for remote and privileged access but not for all
    /// general users (3.5.3 partial credit).
    #[serde(default)]
    pub mfa_partial: bool,
    /// Encryption protects CUI but is not FIPS-validated (3.13.11 partial credit).
    #[serde(default)]
    pub encryption_not_fips_validated: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtcProfile {
    pub qualified_individual: Option<QualifiedIndividual>,
    /// Maintains customer information on fewer than 5,000 consumers
    /// (16 CFR 314.6): 314.4(b)(1), (d)(2), (h) and (i) do not apply.
    #[serde(default)]
    pub small_institution: bool,
}

/// The person 314.4(a) requires an institution to designate.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualifiedIndividual {
    pub name: String,
    pub title: String,
    /// Their account, when they have one on the platform.
    pub user: Option<UserId>,
    /// When the individual works for a service provider or affiliate, who
    /// (the institution keeps responsibility and must oversee them).
    pub employer: Option<String>,
    pub designated_on: NaiveDate,
}

/// Where a control stands in the organization.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    NotStarted,
    InProgress,
    Implemented,
    /// Requires a justification.
    NotApplicable,
}

impl ControlStatus {
    pub fn key(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Implemented => "implemented",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// One common control as the organization implements it: one record per
/// org and control, whichever frameworks need it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlImplementation {
    pub id: ControlImplId,
    pub org: OrgId,
    pub control: String,
    pub status: ControlStatus,
    pub justification: Option<String>,
    pub owner: Option<UserId>,
    #[serde(default)]
    pub notes: String,
    pub last_reviewed: Option<NaiveDate>,
    pub next_review: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
}

impl Entity for ControlImplementation {
    const KIND: &'static str = "control_implementation";
    const NAME: &'static str = "control";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::unique("control", &self.control)]
    }
}

/// A change to a control implementation; `None` leaves a field as it is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlUpdate {
    pub status: Option<ControlStatus>,
    /// Required when the status is (or becomes) `not_applicable`.
    pub justification: Option<String>,
    /// `Some(None)` clears the owner.
    pub owner: Option<Option<UserId>>,
    pub notes: Option<String>,
    pub last_reviewed: Option<NaiveDate>,
    pub next_review: Option<NaiveDate>,
}

impl ControlImplementation {
    /// Applies an update, checking the rules a control's state must keep.
    pub fn apply(&mut self, update: ControlUpdate) -> Result<()> {
        if let Some(status) = update.status {
            self.status = status;
        }
        if let Some(justification) = update.justification {
            let trimmed = justification.trim();
            self.justification = (!trimmed.is_empty()).then(|| trimmed.to_owned());
        }
        if let Some(owner) = update.owner {
            self.owner = owner;
        }
        if let Some(notes) = update.notes {
            self.notes = notes;
        }
        if let Some(date) = update.last_reviewed {
            self.last_reviewed = Some(date);
        }
        if let Some(date) = update.next_review {
            self.next_review = Some(date);
        }
        if self.status == ControlStatus::NotApplicable && self.justification.is_none() {
            return Err(Error::invalid(
                "justification",
                "a control marked not_applicable needs a justification",
            ));
        }
        if let (Some(last), Some(next)) = (self.last_reviewed, self.next_review)
            && next < last
        {
            return Err(Error::invalid(
                "next_review",
                "must not be before last_reviewed",
            ));
        }
        Ok(())
    }
}

/// A piece of evidence, linked to the controls it supports.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub id: EvidenceId,
    pub org: OrgId,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub content: EvidenceContent,
    pub controls: BTreeSet<String>,
    /// When the evidence was produced (a scan's date), as the uploader says.
    pub collected_at: DateTime<Utc>,
    /// When it reached Regentra.
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: UserId,
    /// After this instant the evidence no longer counts.
    pub valid_until: Option<DateTime<Utc>>,
}

impl Entity for Evidence {
    const KIND: &'static str = "evidence";
    const NAME: &'static str = "evidence";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        // By control (id order), and by valid-until alone and per control,
        // so lists filtered or ordered by expiry are index walks.
        let expiry = self.expiry_key();
        let mut entries: Vec<IndexEntry> = self
            .controls
            .iter()
            .map(|c| IndexEntry::multi("control", c))
            .collect();
        entries.extend(
            self.controls
                .iter()
                .map(|c| IndexEntry::multi("control_expiry", format!("{c}|{expiry}"))),
        );
        entries.push(IndexEntry::multi("expiry", expiry));
        entries
    }
}

/// The expiry key of evidence that never expires: after every instant.
pub(crate) const NEVER_EXPIRES: &str = "~";

impl Evidence {
    /// Its valid-until as index text ([`NEVER_EXPIRES`] when it has none).
    pub(crate) fn expiry_key(&self) -> String {
        self.valid_until
            .map_or_else(|| NEVER_EXPIRES.to_owned(), store::instant_key)
    }

    /// Whether the evidence still counts at `now`.
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.valid_until.is_none_or(|until| now < until)
    }
}

/// A recorded assessment: the gap analysis of one framework at one moment,
/// kept so that progress can be followed over time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub id: AssessmentId,
    pub org: OrgId,
    pub framework: String,
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub totals: StatusTotals,
    pub score: f64,
    /// Each assessable requirement's status at that moment, by id, so two
    /// assessments can be compared requirement by requirement (empty in
    /// assessments recorded before statuses were kept).
    #[serde(default)]
    pub requirements: BTreeMap<String, RequirementStatus>,
}

impl Entity for Assessment {
    const KIND: &'static str = "assessment";
    const NAME: &'static str = "assessment";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::multi("framework", &self.framework)]
    }
}
