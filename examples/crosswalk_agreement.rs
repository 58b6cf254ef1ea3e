//! Measures how far the Common Control Framework agrees with a published
//! crosswalk between two frameworks, two ways:
//! - by pair: of the requirement pairs the crosswalk relates, the share that
//!   our catalog gives at least one common control;
//! - by source requirement: of the source requirements the crosswalk pairs,
//!   the share that meets at least one of its partners on a common control.
//!
//! Broad crosswalks (NIST SP 800-66r2 pairs one HIPAA standard with twenty
//! CSF outcomes it merely touches) keep the first figure low however good
//! the mapping; the second says whether each requirement lands where the
//! crosswalk expects it.
//!
//! ```text
//! cargo run --example crosswalk_agreement -- CROSSWALK.json SOURCE TARGET [--show-misses]
//! ```
//!
//! CROSSWALK.json is an array of `{"source", "target", "relationship"}`
//! (NIST IR 8278 style); SOURCE and TARGET are framework keys (`hipaa`,
//! `nist-csf`, ...). An identifier resolves as `regentra catalog lookup`
//! does (aliases of other editions included); a section stands for the
//! controls of every requirement under it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use regentra::catalog::{Catalog, Framework, Lookup};
use serde_json::Value;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_misses = args.iter().any(|a| a == "--show-misses");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [file, source, target] = positional.as_slice() else {
        eprintln!("usage: crosswalk_agreement CROSSWALK.json SOURCE TARGET [--show-misses]");
        return ExitCode::from(2);
    };
    match measure(file, source, target, show_misses) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crosswalk_agreement: {e}");
            ExitCode::FAILURE
        }
    }
}

fn measure(file: &str, source: &str, target: &str, show_misses: bool) -> Result<String, String> {
    let catalog = Catalog::builtin();
    let framework = |key: &str| {
        catalog
            .framework(key)
            .ok_or(format!("unknown framework {key}"))
    };
    let (from, to) = (framework(source)?, framework(target)?);
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let pairs: Vec<Value> = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;

    let mut by_relationship: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut agreed, mut resolved, mut unresolved) = (0, 0, BTreeSet::new());
    let mut misses = Vec::new();
    // Source requirement -> whether any of its partners shares a control.
    let mut sources: BTreeMap<&str, bool> = BTreeMap::new();
    for pair in &pairs {
        let (Some(s), Some(t)) = (pair["source"].as_str(), pair["target"].as_str()) else {
            return Err(format!("{file}: every entry needs a source and a target"));
        };
        let relationship = pair["relationship"].as_str().unwrap_or("").to_owned();
        let (Some(a), Some(b)) = (controls(from, s), controls(to, t)) else {
            if controls(from, s).is_none() {
                unresolved.insert(format!("{source} {s}"));
            }
            if controls(to, t).is_none() {
                unresolved.insert(format!("{target} {t}"));
            }
            continue;
        };
        resolved += 1;
        let shared = !a.is_disjoint(&b);
        *sources.entry(s).or_default() |= shared;
        let entry = by_relationship.entry(relationship).or_default();
        entry.1 += 1;
        if shared {
            agreed += 1;
            entry.0 += 1;
        } else {
            misses.push(format!("  {s} {a:?}  ~  {t} {b:?}"));
        }
    }
    let pct = |n: usize, d: usize| {
        if d == 0 {
            0.0
        } else {
            100.0 * n as f64 / d as f64
        }
    };
    let mut out = format!(
        "{file}\n{source} -> {target}: {} pairs, {resolved} resolved, {agreed} share a common control ({:.1}%)\n",
        pairs.len(),
        pct(agreed, resolved)
    );
    let met = sources.values().filter(|m| **m).count();
    out.push_str(&format!(
        "by source requirement: {met}/{} meet a partner on a common control ({:.1}%)\n",
        sources.len(),
        pct(met, sources.len())
    ));
    for (relationship, (a, n)) in &by_relationship {
        out.push_str(&format!(
            "  {relationship:<10} {a}/{n} ({:.1}%)\n",
            pct(*a, *n)
        ));
    }
    if !unresolved.is_empty() {
        let list: Vec<&str> = unresolved.iter().map(String::as_str).collect();
        out.push_str(&format!(
            "  unresolved identifiers ({}): {}\n",
            list.len(),
            list.join(", ")
        ));
    }
    if show_misses {
        out.push_str("pairs with no common control:\n");
        out.push_str(&misses.join("\n"));
        out.push('\n');
    }
    Ok(out)
}

/// The controls behind an identifier: a requirement's own, a section's
/// requirements' together, or an alias's successors'. A crosswalk writes
/// official ids, so an id that is one names that requirement even where a
/// person's lookup would call it ambiguous (ISO/IEC 27001 clause `8.1`);
/// a number several requirements share (CMMC's `3.1.1`) stands for them all.
fn controls(framework: &Framework, id: &str) -> Option<BTreeSet<String>> {
    let ids: Vec<String> = match framework.requirement(id.trim()) {
        Some(r) => vec![r.id.clone()],
        None => match framework.lookup(id)? {
            Lookup::Requirement(r) => vec![r.id.clone()],
            Lookup::Alias { targets, .. } | Lookup::Ambiguous(targets) => {
                targets.iter().map(|r| r.id.clone()).collect()
            }
        },
    };
    let mut out = BTreeSet::new();
    for id in ids {
        for r in &framework.requirements {
            if r.id == id || descends_from(framework, &r.id, &id) {
                out.extend(r.controls.iter().cloned());
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

fn descends_from(framework: &Framework, id: &str, ancestor: &str) -> bool {
    let mut current = framework.requirement(id).and_then(|r| r.parent.as_deref());
    while let Some(parent) = current {
        if parent == ancestor {
            return true;
        }
        current = framework
            .requirement(parent)
            .and_then(|r| r.parent.as_deref());
    }
    false
}
