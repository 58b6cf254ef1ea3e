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

pub(crate) use custom::catalog_with;
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
    /// The identifier names several requirements, in catalog order of how
    /// it matched (as typed, then with a prefix, then by attribute); the
    /// user has to say which one.
    Ambiguous(Vec<&'a Requirement>),
}

/// A common control named with its title, the way lists of controls are
/// shown to people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ControlRef {
    /// The control key (`AC-02`).
    pub key: String,
    pub title: String,
}

/// Other names people commonly use for the built-in frameworks, in
/// normalized form (see [`normalize_key`]), with the key each one means.
/// Spellings that only differ from a key or a framework's name in case and
/// punctuation need no entry: normalizing already accepts them.
const SYNONYMS: &[(&str, &str)] = &[
    ("csf", "nist-csf"),
    ("csf2", "nist-csf"),
    ("nistcsf2", "nist-csf"),
    ("nistcybersecurityframework", "nist-csf"),
    ("iso", "iso27001"),
    ("27001", "iso27001"),
    ("iso27k", "iso27001"),
    ("iso270012022", "iso27001"),
    ("pci", "pci-dss"),
    ("pcidss4", "pci-dss"),
    ("pcidss40", "pci-dss"),
    ("ftc", "ftc-safeguards"),
    ("safeguardsrule", "ftc-safeguards"),
    ("glba", "ftc-safeguards"),
    ("soc2type2", "soc2"),
    ("soc2typeii", "soc2"),
    ("trustservicescriteria", "soc2"),
    ("cmmc2", "cmmc"),
    ("cmmc20", "cmmc"),
    ("eugdpr", "gdpr"),
    ("hipaasecurityrule", "hipaa"),
];

/// A framework key or name reduced to what people vary least: lowercase
/// letters and digits only (`NIST-CSF`, `nist_csf` and `NIST CSF` are all
/// `nistcsf`).
pub fn normalize_key(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A set of frameworks and the controls they map to, with the derived
/// indexes: control to requirements, and identifier to requirement.
#[derive(Debug, Clone)]
pub struct Catalog {
    frameworks: Vec<Framework>,
    controls: Vec<Control>,
    by_control: BTreeMap<String, Vec<RequirementRef>>,
}

/// The frameworks a typed key reached.
enum Spelling<'a> {
    None,
    One(&'a Framework),
    Several(Vec<&'a Framework>),
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

    /// The framework with exactly this key.
    pub fn framework(&self, key: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.key == key)
    }

    /// The framework a user means by `typed`: its exact key first (so an
    /// organization's own framework is always reachable by its key), then
    /// a key that differs only in case and punctuation (`SOC-2`,
    /// `nist_csf`), then a well-known other name (`csf`, `pci`, `ftc`),
    /// then a framework's name (`ISO/IEC 27001`). The first of these steps
    /// that matches decides; should it match two frameworks, neither is
    /// chosen. An unknown or ambiguous key is a validation error on
    /// `framework` that lists the valid keys.
    pub fn resolve_framework(&self, typed: &str) -> crate::Result<&Framework> {
        match self.spelling_of(typed, true) {
            Spelling::One(framework) => Ok(framework),
            Spelling::Several(found) => {
                let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
                Err(crate::Error::invalid(
                    "framework",
                    format!(
                        "`{}` could mean framework {}; give its key",
                        typed.trim(),
                        keys.join(" or ")
                    ),
                ))
            }
            Spelling::None => Err(crate::Error::invalid(
                "framework",
                format!(
                    "unknown framework `{}`; expected one of {}",
                    typed.trim(),
                    self.framework_keys().join(", ")
                ),
            )),
        }
    }

    /// The keys of the frameworks, in catalog order.
    pub fn framework_keys(&self) -> Vec<&str> {
        self.frameworks.iter().map(|f| f.key.as_str()).collect()
    }

    /// The frameworks `typed` reaches at the first step that reaches any;
    /// names are the last step and only taken when `by_name`.
    fn spelling_of(&self, typed: &str, by_name: bool) -> Spelling<'_> {
        let typed = typed.trim();
        if let Some(f) = self.framework(typed) {
            return Spelling::One(f);
        }
        let wanted = normalize_key(typed);
        if wanted.is_empty() {
            return Spelling::None;
        }
        let synonym: Vec<&str> = SYNONYMS
            .iter()
            .filter(|(other, _)| *other == wanted)
            .map(|(_, key)| *key)
            .collect();
        let steps: [&dyn Fn(&Framework) -> bool; 3] = [
            &|f| normalize_key(&f.key) == wanted,
            &|f| synonym.contains(&f.key.as_str()),
            &|f| by_name && normalize_key(&f.name) == wanted,
        ];
        for step in steps {
            let found: Vec<&Framework> = self.frameworks.iter().filter(|f| step(f)).collect();
            match found.as_slice() {
                [] => continue,
                [one] => return Spelling::One(one),
                _ => return Spelling::Several(found),
            }
        }
        Spelling::None
    }

    /// The framework another key would be taken for, when a new framework's
    /// key is only another spelling of an existing one's key (`soc-2`,
    /// `csf`): such a key would make the other spelling ambiguous.
    pub fn spelling_taken(&self, key: &str) -> Option<&Framework> {
        match self.spelling_of(key, false) {
            Spelling::One(f) => Some(f),
            Spelling::Several(found) => found.first().copied(),
            Spelling::None => None,
        }
    }

    pub fn controls(&self) -> &[Control] {
        &self.controls
    }

    pub fn control(&self, key: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.key == key)
    }

    /// A control key with its title (empty for a key the catalog lacks,
    /// such as one of a custom framework removed since).
    pub fn control_ref(&self, key: &str) -> ControlRef {
        ControlRef {
            key: key.to_owned(),
            title: self
                .control(key)
                .map(|c| c.title.clone())
                .unwrap_or_default(),
        }
    }

    /// [`Catalog::control_ref`] of each key, in the order given.
    pub fn control_refs<'k>(&self, keys: impl IntoIterator<Item = &'k String>) -> Vec<ControlRef> {
        keys.into_iter().map(|k| self.control_ref(k)).collect()
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
