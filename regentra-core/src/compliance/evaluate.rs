//! Requirement status, derived, never stored: a pure function of the
//! catalog, the organization's control state, and the time.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Adoption, CmmcLevel, ControlImplementation, ControlStatus, Evidence, PciEntity,
    TrustServicesCategory,
};
use crate::catalog::{Catalog, Framework};

/// Everything the derivation reads: one read of the org's adoptions,
/// control implementations and evidence, whatever number of frameworks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgState {
    pub adoptions: Vec<Adoption>,
    pub controls: BTreeMap<String, ControlImplementation>,
    pub evidence: Vec<Evidence>,
}

impl OrgState {
    pub fn adoption(&self, framework: &str) -> Option<&Adoption> {
        self.adoptions.iter().find(|a| a.framework == framework)
    }

    pub fn is_adopted(&self, framework: &str) -> bool {
        self.adoption(framework).is_some_and(|a| a.active)
    }
}

/// A control as the derivation sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlState {
    pub control: String,
    pub status: ControlStatus,
    /// Linked evidence that still counts.
    pub current_evidence: usize,
    /// Linked evidence past its valid-until: shown, never counted.
    pub expired_evidence: usize,
    pub expects_evidence: bool,
    /// Implemented with current evidence (where expected), or not applicable.
    pub counts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequirementStatus {
    /// Every mapped control counts.
    Satisfied,
    /// Some mapped controls count.
    Partial,
    /// None does.
    Gap,
    /// Scoped out by the organization, with a justification.
    NotApplicable,
}

impl RequirementStatus {
    pub fn key(self) -> &'static str {
        match self {
            Self::Satisfied => "satisfied",
            Self::Partial => "partial",
            Self::Gap => "gap",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// One assessable requirement's derived standing.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementResult {
    pub id: String,
    pub title: String,
    /// The top-level section it belongs to.
    pub section: String,
    pub status: RequirementStatus,
    /// Why it is out of scope, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    pub controls: Vec<String>,
    /// The mapped controls that do not count yet.
    pub missing: Vec<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkEvaluation {
    pub framework: String,
    pub requirements: Vec<RequirementResult>,
}

/// Every adopted framework's requirements, derived at one instant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub at: DateTime<Utc>,
    pub controls: BTreeMap<String, ControlState>,
    /// Active adoptions only, in catalog order.
    pub frameworks: Vec<FrameworkEvaluation>,
}

impl Evaluation {
    pub fn framework(&self, key: &str) -> Option<&FrameworkEvaluation> {
        self.frameworks.iter().find(|f| f.framework == key)
    }
}

/// Derives the standing of every adopted framework.
pub fn evaluate(catalog: &Catalog, state: &OrgState, now: DateTime<Utc>) -> Evaluation {
    let controls = control_states(catalog, state, now);
    let frameworks = adopted(catalog, state)
        .map(|(f, adoption)| evaluate_framework(f, adoption, &controls))
        .collect();
    Evaluation {
        at: now,
        controls,
        frameworks,
    }
}

/// Derives the standing of one adopted framework only (`None` when it is
/// not adopted), with the control states it was derived from.
pub fn evaluate_one(
    catalog: &Catalog,
    state: &OrgState,
    framework: &str,
    now: DateTime<Utc>,
) -> Option<(BTreeMap<String, ControlState>, FrameworkEvaluation)> {
    let (f, adoption) = adopted(catalog, state).find(|(f, _)| f.key == framework)?;
    let controls = control_states(catalog, state, now);
    let evaluation = evaluate_framework(f, adoption, &controls);
    Some((controls, evaluation))
}

/// When something last moved the standing of an adopted framework, as of
/// `now`: its adoption, a change to one of the controls its requirements
/// map, evidence added to one of them, or such evidence expiring. `None`
/// when the framework is not adopted.
pub fn last_change(
    catalog: &Catalog,
    state: &OrgState,
    framework: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let (f, adoption) = adopted(catalog, state).find(|(f, _)| f.key == framework)?;
    let mapped: BTreeSet<&str> = f
        .assessable()
        .flat_map(|r| r.controls.iter().map(String::as_str))
        .collect();
    let controls = mapped
        .iter()
        .filter_map(|c| state.controls.get(*c))
        .map(|imp| imp.updated_at);
    let evidence = state
        .evidence
        .iter()
        .filter(|e| e.controls.iter().any(|c| mapped.contains(c.as_str())))
        .flat_map(|e| {
            let expired = e.valid_until.filter(|until| *until <= now);
            [Some(e.uploaded_at), expired].into_iter().flatten()
        });
    controls
        .chain(evidence)
        .chain([adoption.adopted_at])
        .filter(|t| *t <= now)
        .max()
}

/// For each control that does not count yet, how many open (gap or
/// partial) requirements of all adopted frameworks map it: what
/// [`evaluate`] would give, counted without building any requirement's
/// result (no ids, titles or control lists are copied).
pub fn open_requirements_per_control(
    catalog: &Catalog,
    state: &OrgState,
    controls: &BTreeMap<String, ControlState>,
) -> BTreeMap<String, usize> {
    let mut closes: BTreeMap<String, usize> = BTreeMap::new();
    for (framework, adoption) in adopted(catalog, state) {
        let excluded = exclusions(framework, adoption);
        for r in framework.assessable() {
            if excluded.contains_key(r.id.as_str()) {
                continue;
            }
            // Not scoped out, so any control that does not count makes the
            // requirement open (partial or gap).
            for c in r.controls.iter().filter(|c| !counts(controls, c)) {
                match closes.get_mut(c.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        closes.insert(c.clone(), 1);
                    }
                }
            }
        }
    }
    closes
}

/// The active adoptions, in catalog order, with their frameworks.
fn adopted<'a>(
    catalog: &'a Catalog,
    state: &'a OrgState,
) -> impl Iterator<Item = (&'a Framework, &'a Adoption)> {
    catalog
        .frameworks()
        .iter()
        .filter_map(|f| Some((f, state.adoption(&f.key).filter(|a| a.active)?)))
}

fn counts(controls: &BTreeMap<String, ControlState>, control: &str) -> bool {
    controls.get(control).is_some_and(|s| s.counts)
}

fn control_states(
    catalog: &Catalog,
    state: &OrgState,
    now: DateTime<Utc>,
) -> BTreeMap<String, ControlState> {
    let mut evidence: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for e in &state.evidence {
        for c in &e.controls {
            let entry = evidence.entry(c.as_str()).or_default();
            if e.is_current(now) {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    state
        .controls
        .values()
        .map(|imp| {
            let (current, expired) = evidence
                .get(imp.control.as_str())
                .copied()
                .unwrap_or_default();
            let expects_evidence = catalog
                .control(&imp.control)
                .is_none_or(|c| !c.evidence.is_empty());
            let counts = match imp.status {
                ControlStatus::NotApplicable => true,
                ControlStatus::Implemented => !expects_evidence || current > 0,
                ControlStatus::NotStarted | ControlStatus::InProgress => false,
            };
            let control_state = ControlState {
                control: imp.control.clone(),
                status: imp.status,
                current_evidence: current,
                expired_evidence: expired,
                expects_evidence,
                counts,
            };
            (imp.control.clone(), control_state)
        })
        .collect()
}

fn evaluate_framework(
    framework: &Framework,
    adoption: &Adoption,
    controls: &BTreeMap<String, ControlState>,
) -> FrameworkEvaluation {
    let excluded = exclusions(framework, adoption);
    let sections = framework.section_map();
    let requirements = framework
        .assessable()
        .map(|r| {
            let missing: Vec<String> = r
                .controls
                .iter()
                .filter(|c| !counts(controls, c))
                .cloned()
                .collect();
            let justification = excluded.get(r.id.as_str()).cloned();
            let status = if justification.is_some() {
                RequirementStatus::NotApplicable
            } else if missing.is_empty() {
                RequirementStatus::Satisfied
            } else if missing.len() < r.controls.len() {
                RequirementStatus::Partial
            } else {
                RequirementStatus::Gap
            };
            RequirementResult {
                id: r.id.clone(),
                title: r.title.clone(),
                section: sections
                    .get(r.id.as_str())
                    .copied()
                    .unwrap_or(r.id.as_str())
                    .to_owned(),
                status,
                justification,
                controls: r.controls.clone(),
                missing,
            }
        })
        .collect();
    FrameworkEvaluation {
        framework: framework.key.clone(),
        requirements,
    }
}

/// The requirements out of scope for this adoption, with the reason: the
/// org's own scoping (a requirement or a whole section) and what the
/// framework's settings exclude.
pub fn exclusions(framework: &Framework, adoption: &Adoption) -> BTreeMap<String, String> {
    let mut roots: BTreeMap<String, String> = adoption.scoped_out.clone();
    let settings = &adoption.settings;
    match framework.key.as_str() {
        "soc2" => {
            let mut chosen = settings
                .trust_services_categories
                .clone()
                .unwrap_or_default();
            chosen.insert(TrustServicesCategory::Security);
            let chosen: BTreeSet<&str> = chosen.iter().map(|c| c.key()).collect();
            for r in framework.assessable() {
                if let Some(category) = r.attributes.get("category")
                    && !chosen.contains(category.as_str())
                {
                    roots.insert(
                        r.id.clone(),
                        format!("trust services category {category} is not in scope"),
                    );
                }
            }
        }
        "pci-dss" => {
            let applicable = settings.pci_appendices.clone().unwrap_or_default();
            let applicable: BTreeSet<&str> = applicable.iter().map(|a| a.key()).collect();
            for r in framework.assessable() {
                if let Some(appendix) = r.attributes.get("appendix")
                    && !applicable.contains(appendix.as_str())
                {
                    roots.insert(r.id.clone(), format!("appendix {appendix} does not apply"));
                }
            }
            if settings.pci_entity == Some(PciEntity::MerchantOnly) {
                for r in framework.assessable() {
                    if r.attributes.get("applies_to").map(String::as_str)
                        == Some("service_providers")
                    {
                        roots.entry(r.id.clone()).or_insert_with(|| {
                            "applies to service providers only; the organization is a merchant only"
                                .into()
                        });
                    }
                }
            }
        }
        "cmmc"
            if settings
                .cmmc
                .as_ref()
                .is_some_and(|c| c.target_level == CmmcLevel::L1) =>
        {
            for r in framework.assessable() {
                if r.attributes.get("level").map(String::as_str) == Some("L2") {
                    roots.insert(r.id.clone(), "the target level is Level 1".into());
                }
            }
        }
        "ftc-safeguards" => {
            let Some(ftc) = settings.ftc.as_ref() else {
                return inherit(framework, roots);
            };
            if ftc.small_institution {
                for id in FTC_SMALL_INSTITUTION_EXEMPT {
                    roots.insert(
                        (*id).to_owned(),
                        "small institution exemption (16 CFR 314.6: fewer than 5,000 consumers)"
                            .into(),
                    );
                }
            }
            // 314.4(a)(1)-(3) bind only when the Qualified Individual comes
            // from a service provider or affiliate.
            if let Some(qi) = &ftc.qualified_individual
                && qi.employer.as_deref().is_none_or(|e| e.trim().is_empty())
            {
                for id in FTC_OUTSOURCED_QI_ONLY {
                    roots.insert(
                        (*id).to_owned(),
                        "the Qualified Individual is the institution's own employee".into(),
                    );
                }
            }
        }
        _ => {}
    }
    inherit(framework, roots)
}

/// Carries each scoped-out root's reason down to the assessable
/// requirements under it.
fn inherit(framework: &Framework, roots: BTreeMap<String, String>) -> BTreeMap<String, String> {
    // A scoped-out section takes every requirement under it along; parents
    // come before children, so one pass carries a reason down the tree.
    let mut inherited: BTreeMap<&str, &String> = BTreeMap::new();
    for r in &framework.requirements {
        let reason = roots
            .get(&r.id)
            .or_else(|| r.parent.as_deref().and_then(|p| inherited.get(p).copied()));
        if let Some(reason) = reason {
            inherited.insert(r.id.as_str(), reason);
        }
    }
    framework
        .assessable()
        .filter_map(|r| {
            inherited
                .get(r.id.as_str())
                .map(|reason| (r.id.clone(), (*reason).clone()))
        })
        .collect()
}

/// What 16 CFR 314.4(a) asks only of an institution whose Qualified
/// Individual works for a service provider or affiliate.
pub const FTC_OUTSOURCED_QI_ONLY: &[&str] = &["314.4(a)(1)", "314.4(a)(2)", "314.4(a)(3)"];

/// What 16 CFR 314.6 exempts small institutions from.
pub const FTC_SMALL_INSTITUTION_EXEMPT: &[&str] =
    &["314.4(b)(1)", "314.4(d)(2)", "314.4(h)", "314.4(i)"];
