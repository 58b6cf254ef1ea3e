//! Comparing two recorded assessments of one framework: how the score
//! moved and which requirements changed status in between. A pure function
//! of the two records.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Assessment;
use super::evaluate::RequirementStatus;
use super::gap::StatusTotals;
use crate::error::{Error, Result};
use crate::ids::AssessmentId;

/// Which way a requirement moved between two assessments.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Closer to satisfied (gap to partial, partial to satisfied, ...).
    Improved,
    /// Further from it.
    Regressed,
    /// Scoped in or out, or only in one of the two (the catalog changed):
    /// neither better nor worse.
    Rescoped,
}

/// One requirement whose status differs between the two assessments.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub requirement: String,
    /// `None` when the earlier assessment did not have the requirement.
    pub from: Option<RequirementStatus>,
    /// `None` when the later one does not.
    pub to: Option<RequirementStatus>,
    pub movement: Movement,
}

/// Two assessments of one framework side by side, the earlier first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssessmentComparison {
    pub framework: String,
    pub from: AssessmentId,
    pub to: AssessmentId,
    pub from_at: DateTime<Utc>,
    pub to_at: DateTime<Utc>,
    pub from_score: f64,
    pub to_score: f64,
    /// Percentage points, to one decimal.
    pub score_change: f64,
    pub from_totals: StatusTotals,
    pub to_totals: StatusTotals,
    /// In requirement id order.
    pub changes: Vec<StatusChange>,
    pub improved: usize,
    pub regressed: usize,
    /// Whether both assessments recorded each requirement's status (older
    /// records kept only the totals: then `changes` cannot be known).
    pub statuses_known: bool,
}

/// Compares two assessments of the same framework, whichever order they
/// are given in: the earlier one (by time, then id) is the starting point.
pub fn compare_assessments(a: &Assessment, b: &Assessment) -> Result<AssessmentComparison> {
    if a.framework != b.framework || a.org != b.org {
        return Err(Error::invalid(
            "to",
            "only two assessments of the same framework can be compared",
        ));
    }
    let (from, to) = if (a.at, a.id.0) <= (b.at, b.id.0) {
        (a, b)
    } else {
        (b, a)
    };
    let statuses_known = !from.requirements.is_empty() && !to.requirements.is_empty();
    let mut changes = Vec::new();
    if statuses_known {
        let mut ids: Vec<&String> = from.requirements.keys().collect();
        ids.extend(to.requirements.keys());
        ids.sort();
        ids.dedup();
        for id in ids {
            let (before, after) = (
                from.requirements.get(id).copied(),
                to.requirements.get(id).copied(),
            );
            if before != after {
                changes.push(StatusChange {
                    requirement: id.clone(),
                    from: before,
                    to: after,
                    movement: movement(before, after),
                });
            }
        }
    }
    let count = |m: Movement| changes.iter().filter(|c| c.movement == m).count();
    Ok(AssessmentComparison {
        framework: from.framework.clone(),
        from: from.id,
        to: to.id,
        from_at: from.at,
        to_at: to.at,
        from_score: from.score,
        to_score: to.score,
        score_change: ((to.score - from.score) * 10.0).round() / 10.0,
        from_totals: from.totals,
        to_totals: to.totals,
        improved: count(Movement::Improved),
        regressed: count(Movement::Regressed),
        changes,
        statuses_known,
    })
}

/// How far along a status in scope is: gap, then partial, then satisfied.
fn progress(status: RequirementStatus) -> Option<u8> {
    match status {
        RequirementStatus::Gap => Some(0),
        RequirementStatus::Partial => Some(1),
        RequirementStatus::Satisfied => Some(2),
        RequirementStatus::NotApplicable => None,
    }
}

fn movement(from: Option<RequirementStatus>, to: Option<RequirementStatus>) -> Movement {
    match (from.and_then(progress), to.and_then(progress)) {
        (Some(before), Some(after)) if after > before => Movement::Improved,
        (Some(before), Some(after)) if after < before => Movement::Regressed,
        _ => Movement::Rescoped,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::ids::{OrgId, UserId};
    use RequirementStatus::{Gap, NotApplicable, Partial, Satisfied};

    fn assessment(
        framework: &str,
        day: u32,
        score: f64,
        statuses: &[(&str, RequirementStatus)],
    ) -> Assessment {
        Assessment {
            id: AssessmentId(Uuid::from_u128(day as u128)),
            org: OrgId(Uuid::from_u128(7)),
            framework: framework.to_owned(),
            at: Utc.with_ymd_and_hms(2026, 3, day, 9, 0, 0).unwrap(),
            by: UserId(Uuid::from_u128(1)),
            totals: StatusTotals::default(),
            score,
            requirements: statuses
                .iter()
                .map(|(id, s)| ((*id).to_owned(), *s))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn lists_the_requirements_that_moved_and_which_way() {
        let march = assessment(
            "hipaa",
            1,
            25.0,
            &[
                ("a", Gap),
                ("b", Partial),
                ("c", Satisfied),
                ("d", Gap),
                ("e", Gap),
            ],
        );
        let april = assessment(
            "hipaa",
            20,
            37.5,
            &[
                ("a", Satisfied),
                ("b", Gap),
                ("c", Satisfied),
                ("d", NotApplicable),
                ("e", Partial),
            ],
        );
        let c = compare_assessments(&march, &april).expect("comparable");
        assert_eq!(c.score_change, 12.5);
        assert_eq!(
            c.changes
                .iter()
                .map(|c| (c.requirement.as_str(), c.from, c.to, c.movement))
                .collect::<Vec<_>>(),
            [
                ("a", Some(Gap), Some(Satisfied), Movement::Improved),
                ("b", Some(Partial), Some(Gap), Movement::Regressed),
                ("d", Some(Gap), Some(NotApplicable), Movement::Rescoped),
                ("e", Some(Gap), Some(Partial), Movement::Improved),
            ]
        );
        assert_eq!((c.improved, c.regressed), (2, 1));
        assert!(c.statuses_known);
    }

    #[test]
    fn the_earlier_assessment_is_the_start_whichever_comes_first() {
        let early = assessment("soc2", 2, 50.0, &[("x", Gap)]);
        let late = assessment("soc2", 9, 40.0, &[("x", Partial), ("y", Gap)]);
        let c = compare_assessments(&late, &early).expect("comparable");
        assert_eq!((c.from, c.to), (early.id, late.id));
        assert_eq!(c.score_change, -10.0);
        assert_eq!(c.changes[1].from, None, "y is new in the later catalog");
        assert_eq!(c.changes[1].movement, Movement::Rescoped);
    }

    #[test]
    fn assessments_of_different_frameworks_are_not_compared() {
        let hipaa = assessment("hipaa", 1, 10.0, &[]);
        let soc2 = assessment("soc2", 2, 20.0, &[]);
        let error = compare_assessments(&hipaa, &soc2).expect_err("not comparable");
        assert!(matches!(error, Error::Validation(_)), "{error:?}");
    }

    #[test]
    fn older_records_without_statuses_compare_by_score_only() {
        let old = assessment("hipaa", 1, 10.0, &[]);
        let new = assessment("hipaa", 5, 30.0, &[("a", Satisfied)]);
        let c = compare_assessments(&old, &new).expect("comparable");
        assert!(!c.statuses_known);
        assert!(c.changes.is_empty());
        assert_eq!(c.score_change, 20.0);
    }
}
