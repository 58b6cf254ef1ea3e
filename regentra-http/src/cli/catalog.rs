//! `regentra catalog ...`: the built-in frameworks and common controls, as
//! JSON for scripts or as tables for people.

use clap::Subcommand;
use regentra_core::catalog::{Catalog, Framework, Lookup, Requirement, RequirementRef};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// The frameworks: key, name, version and number of assessable requirements.
    Frameworks {
        #[arg(long)]
        json: bool,
    },
    /// A framework's requirement tree, in catalog order.
    Requirements {
        /// A framework key (see `regentra catalog frameworks`).
        framework: String,
        #[arg(long)]
        json: bool,
    },
    /// The common controls and the requirements each one satisfies.
    Controls {
        #[arg(long)]
        json: bool,
    },
    /// Resolve an identifier in a framework, including ids of other editions
    /// (`regentra catalog lookup nist-csf PR.AC-1`).
    Lookup {
        framework: String,
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
    /// `requirement` when the id is one, `alias` when it names another edition's.
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
            let rows: Vec<RequirementRow<'_>> = f.requirements.iter().map(row).collect();
            output(json, &rows, || {
                table(
                    &["id", "title", "parent", "assessable"],
                    rows.iter()
                        .map(|r| {
                            vec![
                                r.id.into(),
                                r.title.into(),
                                r.parent.unwrap_or("").into(),
                                if r.assessable { "yes" } else { "" }.into(),
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
            let result = match f.lookup(&id) {
                Some(Lookup::Requirement(r)) => LookupResult {
                    framework: &f.key,
                    query: &id,
                    kind: "requirement",
                    alias_note: None,
                    requirements: vec![row(r)],
                },
                Some(Lookup::Alias { alias, targets }) => LookupResult {
                    framework: &f.key,
                    query: &id,
                    kind: "alias",
                    alias_note: Some(&alias.note),
                    requirements: targets.into_iter().map(row).collect(),
                },
                None => return Err(format!("no requirement or alias `{id}` in {}", f.key)),
            };
            output(json, &result, || {
                let mut out = match result.alias_note {
                    Some(note) if !note.is_empty() => format!("{id} ({note}) resolves to:\n"),
                    Some(_) => format!("{id} resolves to:\n"),
                    None => String::new(),
                };
                for r in &result.requirements {
                    out.push_str(&format!("{}  {}\n", r.id, r.title));
                }
                out
            })
        }
    }
}

fn row(r: &Requirement) -> RequirementRow<'_> {
    RequirementRow {
        id: &r.id,
        title: &r.title,
        parent: r.parent.as_deref(),
        assessable: r.assessable,
    }
}

fn find<'a>(catalog: &'a Catalog, key: &str) -> Result<&'a Framework, String> {
    catalog.framework(key).ok_or_else(|| {
        let known: Vec<&str> = catalog
            .frameworks()
            .iter()
            .map(|f| f.key.as_str())
            .collect();
        format!(
            "unknown framework `{key}`; expected one of {}",
            known.join(", ")
        )
    })
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
