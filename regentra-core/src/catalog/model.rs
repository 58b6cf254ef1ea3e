//! The catalog's values, as the data files spell them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Lookup;

/// A framework: an edition of a standard or regulation and its requirement
/// tree.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// Stable key (`hipaa`, `nist-csf`, ...); custom frameworks choose their own.
    pub key: String,
    /// Short name (`NIST CSF`).
    pub name: String,
    #[serde(default)]
    pub title: String,
    /// The edition this catalog describes; a later edition is a new catalog.
    pub version: String,
    #[serde(default)]
    pub publisher: String,
    #[serde(default)]
    pub description: String,
    /// Prefixes an identifier may be written without (`5.15` for `A.5.15`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_prefixes: Vec<String>,
    /// Attributes whose values a lookup also accepts for the requirement:
    /// CMMC's `nist_800_171`, so that `3.1.3` finds `AC.L2-3.1.3`. A value
    /// may list several numbers, separated by commas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookup_attributes: Vec<String>,
    /// The whole tree in document order, parents before children.
    pub requirements: Vec<Requirement>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
}

/// A node of the tree: a section, or a requirement an org is assessed against.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// The official identifier, exactly as the framework writes it.
    pub id: String,
    /// The official short name (or a neutral heading where the text is copyrighted).
    pub title: String,
    pub parent: Option<String>,
    pub assessable: bool,
    /// In the project's own words.
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// The common controls that together satisfy it (assessable ones only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
}

/// An identifier of another edition that resolves to this edition's requirements.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    pub alias: String,
    /// The requirements (or whole sections) the identifier became; empty
    /// only when it was withdrawn without a successor.
    pub targets: Vec<String>,
    #[serde(default)]
    pub note: String,
    /// The identifier was withdrawn in this edition and nothing replaces it
    /// (CSF 1.1 RC.CO-2): a lookup says so instead of "unknown".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
}

/// A common control of the CCF.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Stable key (`AC-02`); organizations' state refers to it.
    pub key: String,
    pub domain: Domain,
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub guidance: String,
    /// The kinds of evidence that show the control works.
    pub evidence: Vec<EvidenceKind>,
}

/// The area of security or privacy a control belongs to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    Governance,
    Risk,
    AssetManagement,
    AccessControl,
    Identity,
    Cryptography,
    NetworkSecurity,
    Configuration,
    VulnerabilityManagement,
    LoggingMonitoring,
    IncidentResponse,
    Continuity,
    VendorManagement,
    HumanResources,
    Training,
    PhysicalSecurity,
    ChangeManagement,
    SecureDevelopment,
    Maintenance,
    DataProtection,
    Privacy,
}

impl Domain {
    pub fn key(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => String::new(),
        }
    }
}

/// What kind of evidence shows a control works.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A policy, procedure or plan.
    Document,
    /// Settings of a system, or screenshots of them.
    Configuration,
    /// System or audit logs.
    Log,
    /// A scan, test, assessment or audit report.
    Report,
    /// A register, inventory, review or ticket record.
    Record,
    /// A signed statement.
    Attestation,
    /// Training completion records.
    Training,
    /// An agreement with a third party.
    Contract,
}

impl Framework {
    /// The requirements an organization is assessed against, in catalog order.
    pub fn assessable(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().filter(|r| r.assessable)
    }

    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// The direct children of a section (`None`: the top level), in order.
    pub fn children<'a>(
        &'a self,
        parent: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Requirement> {
        self.requirements
            .iter()
            .filter(move |r| r.parent.as_deref() == parent)
    }

    /// The sections a breakdown by section uses: the top level, or the
    /// level below when the whole framework sits in one top section (FTC
    /// Safeguards is all of 314.4; its elements are the useful sections).
    pub fn sections(&self) -> Vec<&Requirement> {
        let top: Vec<&Requirement> = self.children(None).collect();
        match top.as_slice() {
            [only] if !only.assessable => self.children(Some(&only.id)).collect(),
            _ => top,
        }
    }

    /// For every requirement id, the id of its section (of
    /// [`Framework::sections`]), in one pass: parents come before children.
    pub fn section_map(&self) -> BTreeMap<&str, &str> {
        let sections: Vec<&str> = self.sections().iter().map(|s| s.id.as_str()).collect();
        let mut map: BTreeMap<&str, &str> = BTreeMap::new();
        for r in &self.requirements {
            let section = if sections.contains(&r.id.as_str()) {
                r.id.as_str()
            } else {
                r.parent
                    .as_deref()
                    .and_then(|p| map.get(p).copied())
                    .unwrap_or(r.id.as_str())
            };
            map.insert(r.id.as_str(), section);
        }
        map
    }

    /// The section (of [`Framework::sections`]) a requirement sits in;
    /// itself when it is one.
    pub fn section_of<'a>(&'a self, requirement: &'a Requirement) -> &'a Requirement {
        let sections = self.sections();
        let mut current = requirement;
        loop {
            if sections.iter().any(|s| s.id == current.id) {
                return current;
            }
            match current.parent.as_deref().and_then(|p| self.requirement(p)) {
                Some(parent) => current = parent,
                None => return current,
            }
        }
    }

    /// Resolves an identifier as a user may type it: the exact id, the id
    /// without one of the framework's optional prefixes (`5.15`), with
    /// surrounding spaces or in another letter case, a value of one of the
    /// framework's lookup attributes (CMMC's `3.1.3`), or an alias from
    /// another edition (`PR.AC-1`, `A.9.2.1`).
    ///
    /// Every requirement the text could name is considered: when it names
    /// more than one (ISO/IEC 27001's `8.1` is clause 8.1 and also, without
    /// its optional `A.`, Annex A control A.8.1), the answer is
    /// [`Lookup::Ambiguous`] with all of them, never one picked silently.
    pub fn lookup(&self, raw: &str) -> Option<Lookup<'_>> {
        let id = raw.trim();
        if id.is_empty() {
            return None;
        }
        let by_id = self.find_id(id);
        let by_prefix = self
            .id_prefixes
            .iter()
            .filter_map(|p| self.find_id(&format!("{p}{id}")));
        let by_attribute = self.requirements.iter().filter(|r| {
            self.lookup_attributes.iter().any(|name| {
                r.attributes.get(name).is_some_and(|value| {
                    value.split(',').any(|v| v.trim().eq_ignore_ascii_case(id))
                })
            })
        });
        let mut found: Vec<&Requirement> = Vec::new();
        for r in by_id.into_iter().chain(by_prefix).chain(by_attribute) {
            if !found.iter().any(|f| std::ptr::eq(*f, r)) {
                found.push(r);
            }
        }
        match found.len() {
            0 => {}
            1 => return Some(Lookup::Requirement(found[0])),
            _ => return Some(Lookup::Ambiguous(found)),
        }
        let alias = self
            .aliases
            .iter()
            .find(|a| a.alias.eq_ignore_ascii_case(id))?;
        let targets = alias
            .targets
            .iter()
            .filter_map(|t| self.requirement(t))
            .collect();
        Some(Lookup::Alias { alias, targets })
    }

    /// The requirement with this id, exactly or else in another letter case.
    fn find_id(&self, id: &str) -> Option<&Requirement> {
        self.requirement(id).or_else(|| {
            self.requirements
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(id))
        })
    }
}
