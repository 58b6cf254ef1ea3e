//! The checks every framework passes, built-in or an organization's own.

use std::collections::BTreeSet;

use super::model::{Control, Framework};
use crate::error::{Error, FieldError, Result};

/// Checks a framework against the set of control keys it may map to, and
/// reports every problem at once, each naming where it is.
pub fn validate(framework: &Framework, controls: &BTreeSet<&str>) -> Result<()> {
    let mut errors = Vec::new();
    let mut err = |field: String, message: &str| errors.push(FieldError::new(field, message));

    if !is_key(&framework.key) {
        err(
            "key".into(),
            "must be 1-40 lowercase letters, digits or dashes",
        );
    }
    if framework.name.trim().is_empty() {
        err("name".into(), "must not be empty");
    }
    if framework.version.trim().is_empty() {
        err("version".into(), "must not be empty");
    }
    if !framework.requirements.iter().any(|r| r.assessable) {
        err(
            "requirements".into(),
            "must contain at least one assessable requirement",
        );
    }

    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (i, r) in framework.requirements.iter().enumerate() {
        let at = |field: &str| format!("requirements[{i}].{field}");
        if r.id.trim().is_empty() || r.id.trim() != r.id {
            err(at("id"), "must be non-empty with no surrounding spaces");
        }
        if r.title.trim().is_empty() {
            err(at("title"), "must not be empty");
        }
        match r.parent.as_deref() {
            Some(parent) if !seen.contains(parent) => err(
                at("parent"),
                "must name a requirement listed before this one",
            ),
            _ => {}
        }
        if !seen.insert(r.id.as_str()) {
            err(at("id"), "is listed twice");
        }
        if r.assessable {
            if r.description.trim().is_empty() {
                err(
                    at("description"),
                    "an assessable requirement needs a description",
                );
            }
            if r.controls.is_empty() {
                err(
                    at("controls"),
                    "an assessable requirement maps to at least one control",
                );
            }
            let mut mapped = BTreeSet::new();
            for c in &r.controls {
                if !controls.contains(c.as_str()) {
                    err(at("controls"), "names an unknown control");
                }
                if !mapped.insert(c) {
                    err(at("controls"), "names a control twice");
                }
            }
        } else if !r.controls.is_empty() {
            err(
                at("controls"),
                "a section is not assessable and maps to no control",
            );
        }
    }

    for (i, name) in framework.lookup_attributes.iter().enumerate() {
        if !framework
            .requirements
            .iter()
            .any(|r| r.attributes.contains_key(name))
        {
            err(
                format!("lookup_attributes[{i}]"),
                "no requirement has this attribute",
            );
        }
    }

    let mut aliases = BTreeSet::new();
    for (i, a) in framework.aliases.iter().enumerate() {
        let at = |field: &str| format!("aliases[{i}].{field}");
        if seen.contains(a.alias.as_str()) {
            err(at("alias"), "is a requirement id of this edition");
        }
        if !aliases.insert(a.alias.as_str()) {
            err(at("alias"), "is listed twice");
        }
        match (a.withdrawn, a.targets.is_empty()) {
            (false, true) => err(
                at("targets"),
                "must name at least one requirement (or mark the alias withdrawn)",
            ),
            (true, false) => err(at("targets"), "a withdrawn alias has no successor"),
            (true, true) if a.note.trim().is_empty() => {
                err(at("note"), "a withdrawn alias says why in its note")
            }
            _ => {}
        }
        // An old identifier may have become a whole section (a CSF 1.1
        // category such as PR.AC became PR.AA); a section stands for the
        // requirements under it.
        if a.targets.iter().any(|t| !seen.contains(t.as_str())) {
            err(at("targets"), "must name requirements of this framework");
        }
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

/// Checks a set of controls: keys well formed and unique, every control
/// described and expecting some evidence.
pub fn validate_controls(controls: &[Control]) -> Result<()> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, c) in controls.iter().enumerate() {
        let at = |field: &str| format!("controls[{i}].{field}");
        if !is_control_key(&c.key) {
            errors.push(FieldError::new(
                at("key"),
                "must look like AC-01 (letters, a dash, digits)",
            ));
        }
        if !seen.insert(c.key.as_str()) {
            errors.push(FieldError::new(at("key"), "is listed twice"));
        }
        if c.title.trim().is_empty() {
            errors.push(FieldError::new(at("title"), "must not be empty"));
        }
        if c.description.trim().is_empty() {
            errors.push(FieldError::new(at("description"), "must not be empty"));
        }
        if c.evidence.is_empty() {
            errors.push(FieldError::new(
                at("evidence"),
                "must name at least one kind of evidence",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

fn is_key(key: &str) -> bool {
    (1..=40).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !key.starts_with('-')
        && !key.ends_with('-')
}

fn is_control_key(key: &str) -> bool {
    match key.split_once('-') {
        Some((prefix, number)) => {
            (1..=8).contains(&prefix.len())
                && prefix.chars().all(|c| c.is_ascii_uppercase())
                && (1..=4).contains(&number.len())
                && number.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}
