//! Gap analysis: each adopted framework's standing, its gaps with the
//! controls that would close them (the controls closing the most
//! requirements across all adopted frameworks first), and a cross-framework
//! summary. Pure functions of an [`Evaluation`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ControlStatus;
use super::evaluate::{
    Evaluation, FrameworkEvaluation, OrgState, RequirementResult, RequirementStatus, evaluate_one,
    open_requirements_per_control,
};
use crate::catalog::{Catalog, Consolidation};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTotals {
    pub satisfied: usize,
    pub partial: usize,
    pub gap: usize,
    pub not_applicable: usize,
    pub total: usize,
}

impl StatusTotals {
    fn add(&mut self, status: RequirementStatus) {
        self.total += 1;
        match status {
            RequirementStatus::Satisfied => self.satisfied += 1,
            RequirementStatus::Partial => self.partial += 1,
            RequirementStatus::Gap => self.gap += 1,
            RequirementStatus::NotApplicable => self.not_applicable += 1,
        }
    }

    /// Satisfied requirements as a percentage of those in scope, to one
    /// decimal; 100 when nothing is in scope.
    pub fn score(&self) -> f64 {
        let in_scope = self.total - self.not_applicable;
        if in_scope == 0 {
            return 100.0;
        }
        (1000.0 * self.satisfied as f64 / in_scope as f64).round() / 10.0
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionBreakdown {
    pub id: String,
    pub title: String,
    pub totals: StatusTotals,
    pub score: f64,
}

/// A control that would help close a gap, and how many open requirements
/// across all adopted frameworks it would help close.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingControl {
    pub control: String,
    pub title: String,
    pub status: Option<ControlStatus>,
    pub closes: usize,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub requirement: String,
    pub title: String,
    pub section: String,
    pub status: RequirementStatus,
    /// Highest `closes` first.
    pub missing: Vec<MissingControl>,
}

/// A control to work on, with the requirements of this framework it would
/// help close.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GapPriority))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Priority {
    pub control: String,
    pub title: String,
    pub status: Option<ControlStatus>,
    /// Open requirements across all adopted frameworks that map it.
    pub closes: usize,
    pub requirements: Vec<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkGaps {
    pub framework: String,
    pub name: String,
    pub version: String,
    pub score: f64,
    pub totals: StatusTotals,
    pub sections: Vec<SectionBreakdown>,
    /// Ordered by the best control to work on first, then catalog order.
    pub gaps: Vec<Gap>,
    pub priorities: Vec<Priority>,
    pub requirements: Vec<RequirementResult>,
    /// The title of every control the requirements map to, by key: the
    /// requirements name their controls by key only.
    pub control_titles: BTreeMap<String, String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkScore {
    pub framework: String,
    pub name: String,
    pub score: f64,
    pub totals: StatusTotals,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedControl {
    pub control: String,
    pub title: String,
    pub status: Option<ControlStatus>,
    pub frameworks: Vec<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossFrameworkSummary {
    pub frameworks: Vec<FrameworkScore>,
    /// Controls that requirements of two or more adopted frameworks map.
    pub shared_controls: Vec<SharedControl>,
    pub consolidation: Consolidation,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapAnalysis {
    pub at: DateTime<Utc>,
    pub frameworks: Vec<FrameworkGaps>,
    pub summary: CrossFrameworkSummary,
}

impl GapAnalysis {
    pub fn framework(&self, key: &str) -> Option<&FrameworkGaps> {
        self.frameworks.iter().find(|f| f.framework == key)
    }

    /// Where to start across every adopted framework: each control that
    /// would help close an open requirement, once, the one closing the
    /// most requirements across all frameworks first (then by key).
    pub fn where_to_start(&self) -> Vec<MissingControl> {
        let mut seen = BTreeMap::new();
        for p in self.frameworks.iter().flat_map(|f| &f.priorities) {
            seen.entry(p.control.as_str()).or_insert(MissingControl {
                control: p.control.clone(),
                title: p.title.clone(),
                status: p.status,
                closes: p.closes,
            });
        }
        let mut controls: Vec<MissingControl> = seen.into_values().collect();
        controls.sort_by(|a, b| {
            b.closes
                .cmp(&a.closes)
                .then_with(|| a.control.cmp(&b.control))
        });
        controls
    }
}

/// The gap analysis of every adopted framework at once.
pub fn gap_analysis(catalog: &Catalog, evaluation: &Evaluation) -> GapAnalysis {
    let closes = leverage(evaluation);
    let status_of = |c: &str| evaluation.controls.get(c).map(|s| s.status);
    let title_of = |c: &str| {
        catalog
            .control(c)
            .map(|c| c.title.clone())
            .unwrap_or_default()
    };
    let frameworks: Vec<FrameworkGaps> = evaluation
        .frameworks
        .iter()
        .filter_map(|fe| {
            let framework = catalog.framework(&fe.framework)?;
            Some(framework_gaps(
                fe, framework, &closes, &status_of, &title_of,
            ))
        })
        .collect();

    let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for fe in &evaluation.frameworks {
        for r in &fe.requirements {
            for c in &r.controls {
                users
                    .entry(c.as_str())
                    .or_default()
                    .insert(fe.framework.as_str());
            }
        }
    }
    let shared_controls = users
        .into_iter()
        .filter(|(_, fs)| fs.len() > 1)
        .map(|(c, fs)| SharedControl {
            control: c.to_owned(),
            title: title_of(c),
            status: status_of(c),
            frameworks: fs.into_iter().map(str::to_owned).collect(),
        })
        .collect();
    let adopted: Vec<&str> = evaluation
        .frameworks
        .iter()
        .map(|f| f.framework.as_str())
        .collect();
    let summary = CrossFrameworkSummary {
        frameworks: frameworks
            .iter()
            .map(|f| FrameworkScore {
                framework: f.framework.clone(),
                name: f.name.clone(),
                score: f.score,
                totals: f.totals,
            })
            .collect(),
        shared_controls,
        consolidation: catalog.consolidation(&adopted),
    };
    GapAnalysis {
        at: evaluation.at,
        frameworks,
        summary,
    }
}

/// One adopted framework's gap analysis (`None` when it is not adopted),
/// equal to its entry in [`gap_analysis`]: only this framework is
/// evaluated in full; the other adopted frameworks only count, per control,
/// the open requirements it would help close (the leverage its gaps are
/// ordered by).
pub fn framework_gap_analysis(
    catalog: &Catalog,
    state: &OrgState,
    framework: &str,
    now: DateTime<Utc>,
) -> Option<FrameworkGaps> {
    let (controls, evaluation) = evaluate_one(catalog, state, framework, now)?;
    let definition = catalog.framework(framework)?;
    let closes = open_requirements_per_control(catalog, state, &controls);
    let status_of = |c: &str| controls.get(c).map(|s| s.status);
    let title_of = |c: &str| {
        catalog
            .control(c)
            .map(|c| c.title.clone())
            .unwrap_or_default()
    };
    Some(framework_gaps(
        &evaluation,
        definition,
        &closes,
        &status_of,
        &title_of,
    ))
}

/// For each control that does not count yet, the number of open (gap or
/// partial) requirements across all adopted frameworks that map it.
fn leverage(evaluation: &Evaluation) -> BTreeMap<String, usize> {
    let mut closes: BTreeMap<String, usize> = BTreeMap::new();
    for fe in &evaluation.frameworks {
        for r in &fe.requirements {
            if matches!(
                r.status,
                RequirementStatus::Gap | RequirementStatus::Partial
            ) {
                for c in &r.missing {
                    *closes.entry(c.clone()).or_default() += 1;
                }
            }
        }
    }
    closes
}

fn framework_gaps(
    fe: &FrameworkEvaluation,
    framework: &crate::catalog::Framework,
    closes: &BTreeMap<String, usize>,
    status_of: &impl Fn(&str) -> Option<ControlStatus>,
    title_of: &impl Fn(&str) -> String,
) -> FrameworkGaps {
    let mut totals = StatusTotals::default();
    let mut by_section: BTreeMap<&str, StatusTotals> = BTreeMap::new();
    for r in &fe.requirements {
        totals.add(r.status);
        by_section
            .entry(r.section.as_str())
            .or_default()
            .add(r.status);
    }
    let sections = framework
        .sections()
        .into_iter()
        .filter_map(|s| {
            let t = by_section.get(s.id.as_str())?;
            Some(SectionBreakdown {
                id: s.id.clone(),
                title: s.title.clone(),
                totals: *t,
                score: t.score(),
            })
        })
        .collect();

    let missing_control = |c: &String| MissingControl {
        control: c.clone(),
        title: title_of(c),
        status: status_of(c),
        closes: closes.get(c).copied().unwrap_or_default(),
    };
    let mut gaps: Vec<(usize, Gap)> = fe
        .requirements
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            matches!(
                r.status,
                RequirementStatus::Gap | RequirementStatus::Partial
            )
        })
        .map(|(order, r)| {
            let mut missing: Vec<MissingControl> = r.missing.iter().map(missing_control).collect();
            missing.sort_by(|a, b| {
                b.closes
                    .cmp(&a.closes)
                    .then_with(|| a.control.cmp(&b.control))
            });
            let gap = Gap {
                requirement: r.id.clone(),
                title: r.title.clone(),
                section: r.section.clone(),
                status: r.status,
                missing,
            };
            (order, gap)
        })
        .collect();
    let best = |g: &Gap| g.missing.first().map(|m| m.closes).unwrap_or_default();
    gaps.sort_by(|(ao, a), (bo, b)| best(b).cmp(&best(a)).then(ao.cmp(bo)));

    let mut here: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (_, g) in &gaps {
        for m in &g.missing {
            here.entry(m.control.as_str())
                .or_default()
                .push(g.requirement.clone());
        }
    }
    let mut priorities: Vec<Priority> = here
        .into_iter()
        .map(|(c, requirements)| Priority {
            control: c.to_owned(),
            title: title_of(c),
            status: status_of(c),
            closes: closes.get(c).copied().unwrap_or_default(),
            requirements,
        })
        .collect();
    priorities.sort_by(|a, b| {
        b.closes
            .cmp(&a.closes)
            .then_with(|| a.control.cmp(&b.control))
    });

    let control_titles = fe
        .requirements
        .iter()
        .flat_map(|r| &r.controls)
        .map(|c| (c.clone(), title_of(c)))
        .collect();
    FrameworkGaps {
        control_titles,
        framework: framework.key.clone(),
        name: framework.name.clone(),
        version: framework.version.clone(),
        score: totals.score(),
        totals,
        sections,
        gaps: gaps.into_iter().map(|(_, g)| g).collect(),
        priorities,
        requirements: fe.requirements.clone(),
    }
}
