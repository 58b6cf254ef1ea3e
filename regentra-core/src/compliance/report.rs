//! Gap-analysis reports: JSON for machines, CSV for spreadsheets, Markdown
//! for people. Pure renderings of a [`FrameworkGaps`] (and the summary).

use std::fmt::Write as _;

use super::gap::{CrossFrameworkSummary, FrameworkGaps};
use crate::error::{Error, Result};
use crate::spreadsheet::Sheet;

/// The formats a report can be rendered in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
    Markdown,
}

impl ReportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Markdown => "text/markdown; charset=utf-8",
        }
    }
}

/// Renders one framework's gap analysis.
pub fn render(gaps: &FrameworkGaps, format: ReportFormat) -> Result<String> {
    match format {
        ReportFormat::Json => serde_json::to_string_pretty(gaps).map_err(Error::storage),
        ReportFormat::Csv => csv(gaps),
        ReportFormat::Markdown => Ok(markdown(gaps)),
    }
}

/// One row per assessable requirement.
fn csv(gaps: &FrameworkGaps) -> Result<String> {
    let mut sheet = Sheet::new(&[
        "framework",
        "requirement",
        "title",
        "section",
        "status",
        "controls",
        "missing_controls",
        "justification",
    ])?;
    for r in &gaps.requirements {
        sheet.row([
            gaps.framework.as_str(),
            &r.id,
            &r.title,
            &r.section,
            r.status.key(),
            &r.controls.join(" "),
            &r.missing.join(" "),
            r.justification.as_deref().unwrap_or(""),
        ])?;
    }
    sheet.finish()
}

/// A document an auditor or a client can read.
fn markdown(g: &FrameworkGaps) -> String {
    let t = &g.totals;
    let mut out = String::new();
    let _ = writeln!(out, "# {} gap analysis\n", g.name);
    let _ = writeln!(
        out,
        "Framework: {} ({}), version {}.\n",
        g.name, g.framework, g.version
    );
    let _ = writeln!(
        out,
        "**Score: {:.1}%** ({} of {} requirements in scope satisfied)\n",
        g.score,
        t.satisfied,
        t.total - t.not_applicable
    );
    let _ = writeln!(out, "| status | requirements |\n|---|---|");
    for (label, n) in [
        ("satisfied", t.satisfied),
        ("partial", t.partial),
        ("gap", t.gap),
        ("not applicable", t.not_applicable),
        ("total", t.total),
    ] {
        let _ = writeln!(out, "| {label} | {n} |");
    }
    let _ = writeln!(
        out,
        "\n## By section\n\n| section | satisfied | partial | gap | n/a | score |\n|---|---|---|---|---|---|"
    );
    for s in &g.sections {
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {} | {} | {:.1}% |",
            s.id,
            cell(&s.title),
            s.totals.satisfied,
            s.totals.partial,
            s.totals.gap,
            s.totals.not_applicable,
            s.score
        );
    }
    if !g.priorities.is_empty() {
        let _ = writeln!(
            out,
            "\n## Where to start\n\nControls ordered by the open requirements they help close across all adopted frameworks.\n\n| control | title | status | closes | requirements here |\n|---|---|---|---|---|"
        );
        for p in &g.priorities {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                p.control,
                cell(&p.title),
                p.status.map(|s| s.key()).unwrap_or("none"),
                p.closes,
                p.requirements.join(", ")
            );
        }
    }
    if !g.gaps.is_empty() {
        let _ = writeln!(
            out,
            "\n## Gaps\n\n| requirement | title | status | controls to complete |\n|---|---|---|---|"
        );
        for gap in &g.gaps {
            let missing: Vec<&str> = gap.missing.iter().map(|m| m.control.as_str()).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                gap.requirement,
                cell(&gap.title),
                gap.status.key(),
                missing.join(", ")
            );
        }
    }
    let scoped: Vec<_> = g
        .requirements
        .iter()
        .filter(|r| r.justification.is_some())
        .collect();
    if !scoped.is_empty() {
        let _ = writeln!(
            out,
            "\n## Out of scope\n\n| requirement | title | justification |\n|---|---|---|"
        );
        for r in scoped {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                r.id,
                cell(&r.title),
                cell(r.justification.as_deref().unwrap_or(""))
            );
        }
    }
    out
}

/// The cross-framework summary as Markdown.
pub fn summary_markdown(summary: &CrossFrameworkSummary) -> String {
    let mut out = String::from(
        "# Compliance summary\n\n| framework | score | satisfied | partial | gap | n/a |\n|---|---|---|---|---|---|\n",
    );
    for f in &summary.frameworks {
        let t = &f.totals;
        let _ = writeln!(
            out,
            "| {} | {:.1}% | {} | {} | {} | {} |",
            f.name, f.score, t.satisfied, t.partial, t.gap, t.not_applicable
        );
    }
    let c = &summary.consolidation;
    let _ = writeln!(
        out,
        "\n{} requirements across {} frameworks come down to {} common controls ({:.1} requirements per control); {} controls serve more than one framework.",
        c.requirements,
        c.frameworks.len(),
        c.controls,
        c.requirements_per_control,
        summary.shared_controls.len()
    );
    out
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
