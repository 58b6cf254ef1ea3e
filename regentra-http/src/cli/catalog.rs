//! `regentra catalog ...`: the built-in frameworks and common controls, as
//! JSON for scripts or as tables for people.

use clap::Subcommand;
use regentra_core::catalog::{Catalog, ControlRef, Framework, Lookup, Requirement, RequirementRef};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// The frameworks: key, name, version and number of assessable requirements.
    Frameworks {
        #[arg(long)]
        json: bool,
    },
    /// A framework's requirement tree, in catalog order, with the common
    /// controls of each requirement.
    Requirements {
        /// A framework key (see `regentra catalog frameworks`), in any
        /// common spelling (`SOC-2`, `nist_csf`, `pci`).
        framework: String,
        #[arg(long)]
        json: bool,
    },
    /// The common controls and the requirements each one satisfies.
    Controls {
        #[arg(long)]
        json: bool,
    },
    /// Resolve an identifier in a framework as people write it: without an
    /// optional prefix (`iso27001 5.15`), by NIST SP 800-171 number
    /// (`cmmc 3.1.3`), or an id of another edition (`nist-csf PR.AC-1`).
    /// An identifier that could mean several requirements lists them all.
    Lookup {
        /// A framework key, in any common spelling.
        framework: String,
        /// The identifier to resolve.
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct FrameworkRow<'a> {
    key: &'a str,
    name: &'a str,
    version: &'a str,
    requirements: usize,
}

#[derive(Serialize)]
struct RequirementRow<'a> {
    id: &'a str,
    title: &'a str,
    parent: Option<&'a str>,
    assessable: bool,
    /// The common controls that satisfy it, with their titles (none for a section).
    controls: Vec<ControlRef>,
}

#[derive(Serialize)]
struct ControlRow<'a> {
    key: &'a str,
    title: &'a str,
    domain: String,
    requirements: &'a [RequirementRef],
}

#[derive(Serialize)]
struct LookupResult<'a> {
    framework: &'a str,
    query: &'a str,
    /// `requirement` when the id is one, `alias` when it names another
    /// edition's, `ambiguous` when it could be any of `requirements`.
    kind: &'static str,
    alias_note: Option<&'a str>,
    requirements: Vec<RequirementRow<'a>>,
}

pub fn run(command: CatalogCommand) -> Result<String, String> {
    let catalog = Catalog::builtin();
    match command {
        CatalogCommand::Frameworks { json } => {
            let rows: Vec<FrameworkRow<'_>> = catalog
                .frameworks()
                .iter()
                .map(|f| FrameworkRow {
                    key: &f.key,
                    name: &f.name,
                    version: &f.version,
                    requirements: f.assessable().count(),
                })
                .collect();
            output(json, &rows, || {
                table(
                    &["key", "name", "version", "requirements"],
                    rows.iter()
                        .map(|r| {
                            vec![
                                r.key.into(),
                                r.name.into(),
                                r.version.into(),
                                r.requirements.to_string(),
                            ]
                        })
                        .collect(),
                )
            })
        }
        CatalogCommand::Requirements { framework, json } => {
            let f = find(catalog, &framework)?;
            let rows: Vec<RequirementRow<'_>> =
                f.requirements.iter().map(|r| row(catalog, r)).collect();
            output(json, &rows, || {
                table(
                    &["id", "title", "parent", "assessable", "controls"],
                    rows.iter()
                        .map(|r| {
                            let controls: Vec<String> = r
                                .controls
                                .iter()
                                .map(|c| format!("{} {}", c.key, shorten(&c.title, 24)))
                                .collect();
                            vec![
                                r.id.into(),
                                r.title.into(),
                                r.parent.unwrap_or("").into(),
                                if r.assessable { "yes" } else { "" }.into(),
                                controls.join(", "),
                            ]
                        })
                        .collect(),
                )
            })
        }
        CatalogCommand::Controls { json } => {
            let rows: Vec<ControlRow<'_>> = catalog
                .controls()
                .iter()
                .map(|c| ControlRow {
                    key: &c.key,
                    title: &c.title,
                    domain: c.domain.key(),
                    requirements: catalog.requirements_of(&c.key),
                })
                .collect();
            output(json, &rows, || {
                table(
                    &["key", "title", "domain", "requirements"],
                    rows.iter()
                        .map(|r| {
                            vec![
                                r.key.into(),
                                r.title.into(),
                                r.domain.clone(),
                                summarize(r.requirements),
                            ]
                        })
                        .collect(),
                )
            })
        }
        CatalogCommand::Lookup {
            framework,
            id,
            json,
        } => {
            let f = find(catalog, &framework)?;
            let answer = |kind, alias_note, found: Vec<&'static Requirement>| LookupResult {
                framework: &f.key,
                query: &id,
                kind,
                alias_note,
                requirements: found.into_iter().map(|r| row(catalog, r)).collect(),
            };
            let result = match f.lookup(&id) {
                Some(Lookup::Requirement(r)) => answer("requirement", None, vec![r]),
                Some(Lookup::Alias { alias, targets }) => {
                    answer("alias", Some(alias.note.as_str()), targets)
                }
                Some(Lookup::Ambiguous(found)) => answer("ambiguous", None, found),
                None => return Err(format!("no requirement or alias `{id}` in {}", f.key)),
            };
            output(json, &result, || describe(&result))
        }
    }
}

/// A lookup for people: the requirement and its controls; an alias's
/// successors, each with its controls; or the candidates of an ambiguous id.
fn describe(result: &LookupResult<'_>) -> String {
    let query = result.query.trim();
    let mut out = match (result.kind, result.alias_note) {
        ("ambiguous", _) => format!(
            "`{query}` is ambiguous in {}: it could be any of these (give the full id)\n",
            result.framework
        ),
        // An identifier withdrawn without a successor (its note says why).
        ("alias", Some(note)) if result.requirements.is_empty() => {
            format!("{query} was withdrawn and nothing replaces it: {note}\n")
        }
        (_, Some(note)) if !note.is_empty() => format!("{query} ({note}) resolves to:\n"),
        (_, Some(_)) => format!("{query} resolves to:\n"),
        _ => String::new(),
    };
    let width = result
        .requirements
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0);
    for r in &result.requirements {
        out.push_str(&format!("{:<width$}  {}\n", r.id, r.title));
        if result.kind != "ambiguous" {
            for c in &r.controls {
                out.push_str(&format!("    {}  {}\n", c.key, c.title));
            }
        }
    }
    out
}

fn row<'a>(catalog: &Catalog, r: &'a Requirement) -> RequirementRow<'a> {
    RequirementRow {
        id: &r.id,
        title: &r.title,
        parent: r.parent.as_deref(),
        assessable: r.assessable,
        controls: catalog.control_refs(&r.controls),
    }
}

/// The framework a key names, in any spelling the catalog accepts; an
/// unknown key's message lists the valid ones.
fn find<'a>(catalog: &'a Catalog, key: &str) -> Result<&'a Framework, String> {
    catalog.resolve_framework(key).map_err(|e| match e {
        regentra_core::Error::Validation(errors) => errors
            .into_iter()
            .map(|e| e.message)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}

/// At most `max` characters of `text`, an ellipsis marking a cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

fn output<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> Result<String, String> {
    if json {
        serde_json::to_string_pretty(value)
            .map(|s| s + "\n")
            .map_err(|e| format!("cannot encode JSON: {e}"))
    } else {
        Ok(human())
    }
}

/// `hipaa 12, soc2 8, ...`: how many requirements of each framework a control serves.
fn summarize(refs: &[RequirementRef]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in refs {
        match counts.last_mut() {
            Some((f, n)) if *f == r.framework => *n += 1,
            _ => counts.push((&r.framework, 1)),
        }
    }
    counts
        .iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Left-aligned columns, widths from the widest cell.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}
