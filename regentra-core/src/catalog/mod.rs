//! The catalogs: the built-in frameworks (HIPAA, SOC 2, NIST CSF, ISO/IEC
//! 27001, CMMC, PCI DSS, GDPR, FTC Safeguards) and the Common Control
//! Framework (CCF) that maps them together.
//!
//! Implementing a common control once satisfies every framework requirement
//! mapped to it. The data lives in `regentra-core/catalogs/` (format in its
//! README), is compiled in, parsed once ([`Catalog::builtin`]) and checked by
//! [`validate`], the same check that an organization's own framework passes
//! before it is accepted.

mod builtin;
mod custom;
mod model;
#[cfg(test)]
mod review_2026_11;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::{BTreeMap, BTreeSet};

pub use custom::{CustomFramework, CustomFrameworkDef, check_custom};
pub use model::{Alias, Control, Domain, EvidenceKind, Framework, Requirement};
pub use validate::{validate, validate_controls};

/// A requirement named by framework and id.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct RequirementRef {
    pub framework: String,
    pub id: String,
}

/// What a lookup of an identifier in a framework found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The identifier (or an accepted spelling of it) is a requirement.
    Requirement(&'a Requirement),
    /// The identifier belongs to another edition; these are its successors.
    Alias {
        alias: &'a Alias,
        targets: Vec<&'a Requirement>,
    },
}

/// A set of frameworks and the controls they map to, with the derived
/// indexes: control to requirements, and identifier to requirement.
#[derive(Debug, Clone)]
pub struct Catalog {
    frameworks: Vec<Framework>,
    controls: Vec<Control>,
    by_control: BTreeMap<String, Vec<RequirementRef>>,
}

/// Distinct common controls against the requirements they cover: how much
/// work the CCF saves when several frameworks are adopted together.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Consolidation {
    pub frameworks: Vec<String>,
    /// The sum of the frameworks' assessable requirements.
    pub requirements: usize,
    /// The distinct common controls that cover them.
    pub controls: usize,
    /// Controls mapped by requirements of two or more of the frameworks.
    pub shared_controls: usize,
    /// `requirements / controls`: requirements satisfied per control.
    pub requirements_per_control: f64,
}

impl Catalog {
    /// The built-in catalog, parsed and indexed on first use.
    pub fn builtin() -> &'static Catalog {
        builtin::catalog()
    }

    /// A catalog over `frameworks` and `controls`, after [`validate`] has
    /// accepted each framework against the controls.
    pub fn new(frameworks: Vec<Framework>, controls: Vec<Control>) -> crate::Result<Self> {
        validate_controls(&controls)?;
        let keys: BTreeSet<&str> = controls.iter().map(|c| c.key.as_str()).collect();
        for framework in &frameworks {
            validate(framework, &keys)?;
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = frameworks.iter().find(|f| !seen.insert(f.key.as_str())) {
            return Err(crate::Error::AlreadyExists {
                what: "framework",
                field: format!("key {}", dup.key),
            });
        }
        let mut by_control: BTreeMap<String, Vec<RequirementRef>> = controls
            .iter()
            .map(|c| (c.key.clone(), Vec::new()))
            .collect();
        for framework in &frameworks {
            for requirement in framework.assessable() {
                for control in &requirement.controls {
                    if let Some(refs) = by_control.get_mut(control) {
                        refs.push(RequirementRef {
                            framework: framework.key.clone(),
                            id: requirement.id.clone(),
                        });
                    }
                }
            }
        }
        Ok(Self {
            frameworks,
            controls,
            by_control,
        })
    }

    /// This catalog plus an organization's own frameworks and controls.
    pub fn extended(
        &self,
        frameworks: Vec<Framework>,
        controls: Vec<Control>,
    ) -> crate::Result<Self> {
        let mut all_controls = self.controls.clone();
        all_controls.extend(controls);
        let mut all_frameworks = self.frameworks.clone();
        all_frameworks.extend(frameworks);
        Catalog::new(all_frameworks, all_controls)
    }

    pub fn frameworks(&self) -> &[Framework] {
        &self.frameworks
    }

    pub fn framework(&self, key: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.key == key)
    }

    pub fn controls(&self) -> &[Control] {
        &self.controls
    }

    pub fn control(&self, key: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.key == key)
    }

    /// The requirements a control satisfies, framework by framework in
    /// catalog order.
    pub fn requirements_of(&self, control: &str) -> &[RequirementRef] {
        self.by_control
            .get(control)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The consolidation figure for adopting `frameworks` together.
    pub fn consolidation(&self, frameworks: &[&str]) -> Consolidation {
        let chosen: Vec<&Framework> = frameworks
            .iter()
            .filter_map(|k| self.framework(k))
            .collect();
        let requirements = chosen.iter().map(|f| f.assessable().count()).sum::<usize>();
        let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for f in &chosen {
            for r in f.assessable() {
                for c in &r.controls {
                    users.entry(c.as_str()).or_default().insert(f.key.as_str());
                }
            }
        }
        let controls = users.len();
        Consolidation {
            frameworks: chosen.iter().map(|f| f.key.clone()).collect(),
            requirements,
            controls,
            shared_controls: users.values().filter(|fs| fs.len() > 1).count(),
            requirements_per_control: if controls == 0 {
                0.0
            } else {
                requirements as f64 / controls as f64
            },
        }
    }
}
