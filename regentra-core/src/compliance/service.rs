//! Compliance operations: adopt and unadopt frameworks, work controls,
//! scope requirements, set framework features, and read the derived
//! standing. Each one authorizes, reads the org's state once, decides with
//! the pure functions of this module, and commits one change set.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;

use super::evaluate::{ControlState, Evaluation, OrgState, evaluate};
use super::evidence::EvidenceState;
use super::gap::{FrameworkGaps, GapAnalysis, framework_gap_analysis, gap_analysis};
use super::report::{self, ReportFormat};
use super::{
    Adoption, Assessment, CmmcProfile, ControlImplementation, ControlStatus, ControlUpdate,
    Evidence, FrameworkSettings, FtcProfile, PciAppendix, PciEntity, QualifiedIndividual,
    TrustServicesCategory,
};
use crate::audit::{AuditEvent, Target};
use crate::catalog::{Catalog, Lookup, RequirementRef};
use crate::error::{Error, Result};
use crate::ids::{AdoptionId, AssessmentId, ControlImplId, OrgId};
use crate::rbac::{Grant, Permission};
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, Listing, PageRequest, Scope, Versioned};
use crate::tenancy::validate_name;

/// How many times an operation that lost a race (another writer created the
/// same control first) is replayed against fresh state.
const RETRIES: usize = 3;

/// A control as a user sees it: the org's implementation, its derived
/// state, its evidence and the adopted requirements it serves.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlView {
    pub implementation: ControlImplementation,
    /// The control's title in the catalog.
    pub title: String,
    pub version: u64,
    pub state: ControlState,
    /// Its evidence taken together: current, expiring, expired or none.
    pub evidence_state: EvidenceState,
    pub evidence: Vec<Evidence>,
    pub requirements: Vec<RequirementRef>,
}

impl Regentra {
    /// Adopts a framework: it becomes active, and every common control it
    /// needs gets an implementation record unless one exists already (from
    /// another framework, or an earlier adoption). Adopting an active
    /// framework changes nothing; re-adopting restores its scoping and
    /// settings as they were.
    pub async fn adopt_framework(
        &self,
        principal: &Principal,
        org: OrgId,
        framework: &str,
    ) -> Result<Adoption> {
        let grant = self
            .authorize_all(principal, org, Permission::FrameworksAdopt)
            .await?;
        let catalog = self.catalog_for(org).await?;
        let spec = catalog.resolve_framework(framework)?;
        // Stored under its key, whatever spelling the caller used.
        let framework = spec.key.as_str();
        let needed: BTreeSet<&str> = spec
            .assessable()
            .flat_map(|r| r.controls.iter().map(String::as_str))
            .collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let existing = self.adoption_record(org, framework).await?;
            if let Some(current) = &existing
                && current.value.active
            {
                return Ok(current.value.clone());
            }
            let present: BTreeSet<String> =
                store::all::<ControlImplementation>(self.store(), Scope::Org(org))
                    .await?
                    .into_iter()
                    .map(|c| c.value.control)
                    .collect();
            let mut changes = ChangeSet::new();
            let now = self.now();
            let adoption = match existing {
                Some(mut a) => {
                    a.value.active = true;
                    a.value.adopted_at = now;
                    a.value.adopted_by = principal.user;
                    a.value.unadopted_at = None;
                    changes.update(&a)?;
                    a.value
                }
                None => {
                    let a = Adoption {
                        id: AdoptionId(self.new_id()),
                        org,
                        framework: framework.to_owned(),
                        active: true,
                        adopted_at: now,
                        adopted_by: principal.user,
                        unadopted_at: None,
                        scoped_out: Default::default(),
                        settings: FrameworkSettings::default(),
                    };
                    changes.insert(&a)?;
                    a
                }
            };
            let mut created = Vec::new();
            for control in needed.iter().filter(|c| !present.contains(**c)) {
                changes.insert(&ControlImplementation {
                    id: ControlImplId(self.new_id()),
                    org,
                    control: (*control).to_owned(),
                    status: ControlStatus::NotStarted,
                    justification: None,
                    owner: None,
                    notes: String::new(),
                    last_reviewed: None,
                    next_review: None,
                    created_at: now,
                    updated_at: now,
                    updated_by: Some(principal.user),
                })?;
                created.push(*control);
            }
            changes.audit(self.event(
                principal,
                &grant,
                "framework.adopted",
                Target::new(Adoption::KIND, framework),
                json!({
                    "framework": framework,
                    "controls_needed": needed.len(),
                    "controls_created": created.len(),
                    "controls_reused": needed.len() - created.len(),
                }),
            ));
            match self.store().apply(changes).await {
                Ok(_) => return Ok(adoption),
                // Another writer adopted or created a shared control first:
                // replay against what is stored now.
                Err(Error::AlreadyExists { .. } | Error::Conflict { .. }) if attempt < RETRIES => {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Hides a framework. Its controls, evidence, scoping, settings and
    /// history stay; adopting it again brings everything back.
    pub async fn unadopt_framework(
        &self,
        principal: &Principal,
        org: OrgId,
        framework: &str,
    ) -> Result<Adoption> {
        let grant = self
            .authorize_all(principal, org, Permission::FrameworksAdopt)
            .await?;
        let framework = &self.framework_key(org, framework).await?;
        let mut adoption = self.active_adoption(org, framework).await?;
        adoption.value.active = false;
        adoption.value.unadopted_at = Some(self.now());
        let mut changes = ChangeSet::new();
        changes.update(&adoption)?;
        changes.audit(self.event(
            principal,
            &grant,
            "framework.unadopted",
            Target::new(Adoption::KIND, framework),
            json!({ "framework": framework }),
        ));
        self.store().apply(changes).await?;
        Ok(adoption.value)
    }

    /// A page of the org's adoptions, active and inactive, in id order.
    /// Short by nature (one per built-in framework, 8, plus the org's
    /// custom ones), but paged by the store like every list.
    pub async fn adoptions(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Listing<Adoption>> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        Ok(
            store::list_page::<Adoption>(self.store(), Scope::Org(org), page)
                .await?
                .map(|v| v.value),
        )
    }

    /// Changes a control's implementation. `expected_version` is the version
    /// the caller read; a different stored version is a `Conflict`.
    pub async fn update_control(
        &self,
        principal: &Principal,
        org: OrgId,
        control: &str,
        expected_version: Option<u64>,
        update: ControlUpdate,
    ) -> Result<Versioned<ControlImplementation>> {
        let grant = self
            .authorize_all(principal, org, Permission::ControlsUpdate)
            .await?;
        let mut current = self.control_record(org, control).await?;
        if let Some(expected) = expected_version
            && expected != current.version
        {
            return Err(Error::Conflict {
                what: format!("control {control}"),
            });
        }
        if let Some(Some(owner)) = update.owner
            && self.membership(org, owner).await?.is_none()
        {
            return Err(Error::invalid(
                "owner",
                "must be a member of the organization",
            ));
        }
        let before = current.value.clone();
        current.value.apply(update)?;
        current.value.updated_at = self.now();
        current.value.updated_by = Some(principal.user);
        let mut changes = ChangeSet::new();
        changes.update(&current)?;
        changes.audit(self.event(
            principal,
            &grant,
            "control.updated",
            Target::new(ControlImplementation::KIND, control),
            json!({
                "control": control,
                "status": { "from": before.status, "to": current.value.status },
                "owner": current.value.owner,
                "justification": current.value.justification,
                "notes_changed": before.notes != current.value.notes,
                "last_reviewed": current.value.last_reviewed,
                "next_review": current.value.next_review,
            }),
        ));
        self.store().apply(changes).await?;
        Ok(Versioned {
            version: current.version + 1,
            value: current.value,
        })
    }

    /// One control with its derived state, evidence and the requirements of
    /// adopted frameworks it serves.
    pub async fn control(
        &self,
        principal: &Principal,
        org: OrgId,
        control: &str,
    ) -> Result<ControlView> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        let (catalog, state) = (self.catalog_for(org).await?, self.org_state(org).await?);
        let implementation = self.control_record(org, control).await?;
        let evaluation = evaluate(&catalog, &state, self.now());
        Ok(view(&catalog, &state, &evaluation, implementation))
    }

    /// A control's history, oldest first: the audit events about it (each
    /// change of its status, owner, notes or review dates, with who made
    /// it), a page at a time after the sequence number `after`. Whoever
    /// reads the control reads its history.
    pub async fn control_history(
        &self,
        principal: &Principal,
        org: OrgId,
        control: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Listing<AuditEvent, u64>> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        let record = self.control_record(org, control).await?;
        let about = [Target::new(
            ControlImplementation::KIND,
            &record.value.control,
        )];
        let limit = limit.clamp(1, store::MAX_PAGE);
        let events = self
            .store()
            .audit_events_about(org, &about, after, store::lookahead(limit))
            .await?;
        Ok(Listing::of(events, limit, |e| e.seq))
    }

    /// A page of the org's controls (in id order, a page the store
    /// computes), each with its derived state. Deriving a control's state
    /// reads the org's compliance state (its evidence included), as a
    /// single control's view does.
    pub async fn controls(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Listing<ControlView>> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        let records =
            store::list_page::<ControlImplementation>(self.store(), Scope::Org(org), page).await?;
        let (catalog, state) = (self.catalog_for(org).await?, self.org_state(org).await?);
        let evaluation = evaluate(&catalog, &state, self.now());
        Ok(records.map(|r| view(&catalog, &state, &evaluation, r)))
    }

    /// Scopes a requirement (or a whole section) out of an adopted framework
    /// with a justification, or back in with `None`.
    pub async fn scope_requirement(
        &self,
        principal: &Principal,
        org: OrgId,
        framework: &str,
        requirement: &str,
        justification: Option<&str>,
    ) -> Result<Adoption> {
        let grant = self
            .authorize_all(principal, org, Permission::FrameworksAdopt)
            .await?;
        let catalog = self.catalog_for(org).await?;
        let spec = catalog.resolve_framework(framework)?;
        let framework = spec.key.as_str();
        // The official id names its requirement exactly (clause `8.1` of
        // ISO/IEC 27001 stays reachable); any other spelling has to name
        // one requirement only.
        let id = match spec.requirement(requirement) {
            Some(r) => r.id.clone(),
            None => match spec.lookup(requirement) {
                Some(Lookup::Requirement(r)) => r.id.clone(),
                Some(Lookup::Ambiguous(candidates)) => {
                    let ids: Vec<&str> = candidates.iter().map(|r| r.id.as_str()).collect();
                    return Err(Error::invalid(
                        "requirement",
                        format!(
                            "`{requirement}` is ambiguous in {framework}: give one of {}",
                            ids.join(", ")
                        ),
                    ));
                }
                Some(Lookup::Alias { .. }) | None => {
                    return Err(Error::invalid(
                        "requirement",
                        format!("no requirement `{requirement}` in {framework}"),
                    ));
                }
            },
        };
        let mut adoption = self.active_adoption(org, framework).await?;
        let action = match justification {
            Some(text) => {
                let text = validate_name("justification", text).map_err(|_| {
                    Error::invalid(
                        "justification",
                        "scoping a requirement out needs a justification",
                    )
                })?;
                adoption.value.scoped_out.insert(id.clone(), text);
                "requirement.scoped_out"
            }
            None => {
                adoption.value.scoped_out.remove(&id);
                "requirement.scoped_in"
            }
        };
        let mut changes = ChangeSet::new();
        changes.update(&adoption)?;
        changes.audit(self.event(
            principal,
            &grant,
            action,
            Target::new("requirement", format!("{framework}:{id}")),
            json!({ "framework": framework, "requirement": id, "justification": justification }),
        ));
        self.store().apply(changes).await?;
        Ok(adoption.value)
    }

    /// SOC 2: the trust services categories in scope (security always is).
    pub async fn set_trust_services_categories(
        &self,
        principal: &Principal,
        org: OrgId,
        categories: BTreeSet<TrustServicesCategory>,
    ) -> Result<Adoption> {
        let mut categories = categories;
        categories.insert(TrustServicesCategory::Security);
        self.change_settings(principal, org, "soc2", "trust services categories", |s| {
            s.trust_services_categories = Some(categories);
        })
        .await
    }

    /// PCI DSS: which of appendices A1, A2 and A3 apply.
    pub async fn set_pci_appendices(
        &self,
        principal: &Principal,
        org: OrgId,
        appendices: BTreeSet<PciAppendix>,
    ) -> Result<Adoption> {
        self.change_settings(principal, org, "pci-dss", "appendix applicability", |s| {
            s.pci_appendices = Some(appendices);
        })
        .await
    }

    /// PCI DSS: whether the org is a service provider or a merchant only
    /// (a merchant has the service-provider-only requirements out of scope).
    pub async fn set_pci_entity(
        &self,
        principal: &Principal,
        org: OrgId,
        entity: PciEntity,
    ) -> Result<Adoption> {
        self.change_settings(principal, org, "pci-dss", "the entity type", |s| {
            s.pci_entity = Some(entity);
        })
        .await
    }

    /// CMMC: the target level and the facts behind SPRS partial credit.
    pub async fn set_cmmc_profile(
        &self,
        principal: &Principal,
        org: OrgId,
        profile: CmmcProfile,
    ) -> Result<Adoption> {
        self.change_settings(principal, org, "cmmc", "the CMMC profile", |s| {
            s.cmmc = Some(profile);
        })
        .await
    }

    /// FTC Safeguards: the qualified individual and the 314.6 exemption.
    pub async fn set_ftc_profile(
        &self,
        principal: &Principal,
        org: OrgId,
        profile: FtcProfile,
    ) -> Result<Adoption> {
        self.check_qualified_individual(principal, org, profile.qualified_individual.as_ref())
            .await?;
        self.change_settings(
            principal,
            org,
            "ftc-safeguards",
            "the qualified individual",
            |s| {
                s.ftc = Some(profile);
            },
        )
        .await
    }

    /// FTC Safeguards: designates the qualified individual (`None` clears
    /// it), leaving the exemption as it is at the commit: two people
    /// changing the two settings at once do not undo each other.
    pub async fn set_qualified_individual(
        &self,
        principal: &Principal,
        org: OrgId,
        individual: Option<QualifiedIndividual>,
    ) -> Result<Adoption> {
        self.check_qualified_individual(principal, org, individual.as_ref())
            .await?;
        self.change_settings(
            principal,
            org,
            "ftc-safeguards",
            "the qualified individual",
            |s| {
                s.ftc
                    .get_or_insert_with(FtcProfile::default)
                    .qualified_individual = individual;
            },
        )
        .await
    }

    /// FTC Safeguards: the 314.6 small-institution exemption, leaving the
    /// qualified individual as it is at the commit.
    pub async fn set_ftc_small_institution(
        &self,
        principal: &Principal,
        org: OrgId,
        small_institution: bool,
    ) -> Result<Adoption> {
        self.change_settings(
            principal,
            org,
            "ftc-safeguards",
            "the small-institution exemption",
            |s| {
                s.ftc
                    .get_or_insert_with(FtcProfile::default)
                    .small_institution = small_institution;
            },
        )
        .await
    }

    /// A qualified individual as it may be designated: named, titled, and
    /// with an account (if any) of one of the org's people. Authorized
    /// before anything about the body is said, so a stranger learns
    /// nothing from a validation error.
    async fn check_qualified_individual(
        &self,
        principal: &Principal,
        org: OrgId,
        individual: Option<&QualifiedIndividual>,
    ) -> Result<()> {
        self.authorize_all(principal, org, Permission::FrameworksAdopt)
            .await?;
        let Some(qi) = individual else {
            return Ok(());
        };
        validate_name("qualified_individual.name", &qi.name)?;
        validate_name("qualified_individual.title", &qi.title)?;
        if let Some(user) = qi.user
            && !self.works_for(&self.organization(org).await?, user).await?
        {
            return Err(Error::invalid(
                "qualified_individual.user",
                "must be one of this organization's people or its MSP's staff",
            ));
        }
        Ok(())
    }

    /// The derived standing of every adopted framework now.
    pub async fn evaluation(&self, principal: &Principal, org: OrgId) -> Result<Evaluation> {
        self.authorize_all(principal, org, Permission::GapRead)
            .await?;
        let (catalog, state) = (self.catalog_for(org).await?, self.org_state(org).await?);
        Ok(evaluate(&catalog, &state, self.now()))
    }

    /// The gap analysis of every adopted framework and the cross-framework
    /// summary, from one read of the org's state.
    pub async fn gap_analysis(&self, principal: &Principal, org: OrgId) -> Result<GapAnalysis> {
        self.authorize_all(principal, org, Permission::GapRead)
            .await?;
        let (catalog, state) = (self.catalog_for(org).await?, self.org_state(org).await?);
        Ok(gap_analysis(
            &catalog,
            &evaluate(&catalog, &state, self.now()),
        ))
    }

    /// One adopted framework's gap analysis, the framework named as a user
    /// may spell it; `NotFound` when it is not adopted.
    pub async fn framework_gap_analysis(
        &self,
        principal: &Principal,
        org: OrgId,
        framework: &str,
    ) -> Result<FrameworkGaps> {
        self.authorize_all(principal, org, Permission::GapRead)
            .await?;
        let framework = &self.framework_key(org, framework).await?;
        let (catalog, state) = (self.catalog_for(org).await?, self.org_state(org).await?);
        framework_gap_analysis(&catalog, &state, framework, self.now()).ok_or(Error::NotFound {
            what: "adopted framework",
        })
    }

    /// One adopted framework's gap analysis, rendered.
    pub async fn gap_report(
        &self,
        principal: &Principal,
        org: OrgId,
        framework: &str,
        format: ReportFormat,
    ) -> Result<String> {
        self.authorize_all(principal, org, Permission::ReportsGenerate)
            .await?;
        let framework = &self.framework_key(org, framework).await?;
        let gaps = self
            .framework_gaps(org, framework, "the gap analysis")
            .await?;
        report::render(&gaps, format)
    }

    /// Records the framework's current gap analysis as a dated assessment.
    pub async fn run_assessment(
        &self,
        principal: &Principal,
        org: OrgId,
        framework: &str,
    ) -> Result<Assessment> {
        let grant = self
            .authorize_all(principal, org, Permission::AssessmentsRun)
            .await?;
        let framework = &self.framework_key(org, framework).await?;
        let gaps = self.framework_gaps(org, framework, "an assessment").await?;
        let assessment = Assessment {
            id: AssessmentId(self.new_id()),
            org,
            framework: framework.to_owned(),
            at: self.now(),
            by: principal.user,
            totals: gaps.totals,
            score: gaps.score,
            requirements: gaps
                .requirements
                .iter()
                .map(|r| (r.id.clone(), r.status))
                .collect(),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&assessment)?;
        changes.audit(self.event(
            principal,
            &grant,
            "assessment.recorded",
            Target::new(Assessment::KIND, assessment.id),
            json!({ "framework": framework, "score": gaps.score, "totals": gaps.totals }),
        ));
        self.store().apply(changes).await?;
        Ok(assessment)
    }

    /// A page of the recorded assessments of a framework, oldest first
    /// (the store's walk of the `framework` index).
    pub async fn assessments(
        &self,
        principal: &Principal,
        org: OrgId,
        framework: &str,
        page: PageRequest,
    ) -> Result<Listing<Assessment>> {
        self.authorize_all(principal, org, Permission::GapRead)
            .await?;
        let framework = self.framework_key(org, framework).await?;
        Ok(store::find_page::<Assessment>(
            self.store(),
            Scope::Org(org),
            "framework",
            &framework,
            page,
        )
        .await?
        .map(|v| v.value))
    }

    // ----- shared by this module's services ------------------------------

    /// The org's whole compliance state in one read per kind, whatever the
    /// number of frameworks and requirements.
    pub(crate) async fn org_state(&self, org: OrgId) -> Result<OrgState> {
        let scope = Scope::Org(org);
        let adoptions = values(store::all::<Adoption>(self.store(), scope).await?);
        let controls = store::all::<ControlImplementation>(self.store(), scope)
            .await?
            .into_iter()
            .map(|c| (c.value.control.clone(), c.value))
            .collect();
        let evidence = values(store::all::<Evidence>(self.store(), scope).await?);
        Ok(OrgState {
            adoptions,
            controls,
            evidence,
        })
    }

    /// The key of the framework a caller named, in any spelling
    /// [`Catalog::resolve_framework`] accepts. A key the org's catalog no
    /// longer has is kept as given when the org has an adoption under it
    /// (a custom framework removed after it was adopted): that adoption can
    /// still be unadopted and its assessments read.
    pub(crate) async fn framework_key(&self, org: OrgId, typed: &str) -> Result<String> {
        let catalog = self.catalog_for(org).await?;
        match catalog.resolve_framework(typed) {
            Ok(framework) => Ok(framework.key.clone()),
            Err(unknown) => match self.adoption_record(org, typed).await? {
                Some(_) => Ok(typed.to_owned()),
                None => Err(unknown),
            },
        }
    }

    /// The adoption of `framework`, which must be active: features of a
    /// framework unlock with its adoption. `feature` names what was asked.
    pub(crate) async fn require_adopted(
        &self,
        org: OrgId,
        framework: &str,
        feature: &str,
    ) -> Result<Versioned<Adoption>> {
        match self.adoption_record(org, framework).await? {
            Some(a) if a.value.active => Ok(a),
            _ => Err(Error::invalid(
                "framework",
                format!("adopt the {framework} framework first: {feature} belongs to it"),
            )),
        }
    }

    pub(crate) async fn framework_gaps(
        &self,
        org: OrgId,
        framework: &str,
        feature: &str,
    ) -> Result<FrameworkGaps> {
        self.require_adopted(org, framework, feature).await?;
        let (catalog, state) = (self.catalog_for(org).await?, self.org_state(org).await?);
        framework_gap_analysis(&catalog, &state, framework, self.now())
            .ok_or(Error::NotFound { what: "framework" })
    }

    async fn active_adoption(&self, org: OrgId, framework: &str) -> Result<Versioned<Adoption>> {
        self.require_adopted(org, framework, "this change").await
    }

    async fn adoption_record(
        &self,
        org: OrgId,
        framework: &str,
    ) -> Result<Option<Versioned<Adoption>>> {
        store::find_unique::<Adoption>(self.store(), Scope::Org(org), "framework", framework).await
    }

    pub(crate) async fn control_record(
        &self,
        org: OrgId,
        control: &str,
    ) -> Result<Versioned<ControlImplementation>> {
        store::find_unique::<ControlImplementation>(
            self.store(),
            Scope::Org(org),
            "control",
            control,
        )
        .await?
        .ok_or(Error::NotFound {
            what: ControlImplementation::NAME,
        })
    }

    async fn change_settings(
        &self,
        principal: &Principal,
        org: OrgId,
        framework: &str,
        feature: &str,
        change: impl FnOnce(&mut FrameworkSettings),
    ) -> Result<Adoption> {
        let grant: Grant = self
            .authorize_all(principal, org, Permission::FrameworksAdopt)
            .await?;
        let mut adoption = self.require_adopted(org, framework, feature).await?;
        change(&mut adoption.value.settings);
        let mut changes = ChangeSet::new();
        changes.update(&adoption)?;
        changes.audit(self.event(
            principal,
            &grant,
            "framework.settings_changed",
            Target::new(Adoption::KIND, framework),
            json!({ "framework": framework, "settings": adoption.value.settings }),
        ));
        self.store().apply(changes).await?;
        Ok(adoption.value)
    }
}

fn view(
    catalog: &Catalog,
    state: &OrgState,
    evaluation: &Evaluation,
    implementation: Versioned<ControlImplementation>,
) -> ControlView {
    let key = implementation.value.control.clone();
    let evidence: Vec<Evidence> = state
        .evidence
        .iter()
        .filter(|e| e.controls.contains(&key))
        .cloned()
        .collect();
    let adopted: BTreeSet<&str> = evaluation
        .frameworks
        .iter()
        .map(|f| f.framework.as_str())
        .collect();
    ControlView {
        state: evaluation
            .controls
            .get(&key)
            .cloned()
            .unwrap_or(ControlState {
                control: key.clone(),
                status: implementation.value.status,
                current_evidence: 0,
                expired_evidence: 0,
                expects_evidence: true,
                counts: false,
            }),
        evidence_state: EvidenceState::of_all(&evidence, evaluation.at),
        evidence,
        requirements: catalog
            .requirements_of(&key)
            .iter()
            .filter(|r| adopted.contains(r.framework.as_str()))
            .cloned()
            .collect(),
        version: implementation.version,
        title: catalog.control_ref(&key).title,
        implementation: implementation.value,
    }
}

fn values<T>(records: Vec<Versioned<T>>) -> Vec<T> {
    records.into_iter().map(|r| r.value).collect()
}
