//! The built-in policy templates, written in the project's own words and
//! mapped to the common controls they serve (data in
//! `regentra-core/catalogs/policy_templates.json`).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTemplate {
    pub key: String,
    pub title: String,
    pub category: String,
    pub summary: String,
    pub controls: Vec<String>,
    /// Markdown with `{{organization}}` and `{{owner}}` placeholders.
    pub body: String,
}

impl PolicyTemplate {
    /// The body with the placeholders filled in.
    pub fn render(&self, organization: &str, owner: &str) -> String {
        self.body
            .replace("{{organization}}", organization)
            .replace("{{owner}}", owner)
    }
}

static TEMPLATES: LazyLock<Vec<PolicyTemplate>> = LazyLock::new(|| {
    match serde_json::from_str(include_str!("../../catalogs/policy_templates.json")) {
        Ok(templates) => templates,
        // Compiled-in data, checked by the tests below on every CI run.
        Err(e) => panic!("catalogs/policy_templates.json is invalid: {e}"),
    }
});

/// Every built-in template, in library order.
pub fn templates() -> &'static [PolicyTemplate] {
    &TEMPLATES
}

pub fn template(key: &str) -> Option<&'static PolicyTemplate> {
    templates().iter().find(|t| t.key == key)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn the_library_covers_the_policies_an_msp_client_needs() {
        let keys: BTreeSet<&str> = templates().iter().map(|t| t.key.as_str()).collect();
        assert!(templates().len() >= 15);
        assert_eq!(keys.len(), templates().len(), "keys are unique");
        for needed in [
            "information-security",
            "acceptable-use",
            "access-control",
            "password-authentication",
            "encryption",
            "data-classification",
            "data-retention-disposal",
            "incident-response",
            "business-continuity",
            "backup",
            "change-management",
            "vendor-management",
            "risk-assessment",
            "security-awareness",
            "remote-work",
            "physical-security",
            "hipaa-sanctions",
            "breach-notification",
            "privacy-data-protection",
        ] {
            assert!(keys.contains(needed), "template {needed}");
        }
    }

    #[test]
    fn every_template_maps_to_known_controls_and_fills_in() {
        let catalog = Catalog::builtin();
        for t in templates() {
            assert!(!t.controls.is_empty(), "{} serves no control", t.key);
            for c in &t.controls {
                assert!(
                    catalog.control(c).is_some(),
                    "{} names unknown control {c}",
                    t.key
                );
            }
            assert!(
                t.body.starts_with(&format!("# {}", t.title)),
                "{} body starts with its title",
                t.key
            );
            let rendered = t.render("Acme Dental", "Security Officer");
            assert!(
                rendered.contains("Acme Dental") && !rendered.contains("{{"),
                "{} fills in",
                t.key
            );
        }
    }
}
