//! The MSP overview: every client of an MSP in one table, with the figures
//! its staff compare clients by (compliance scores, open tickets, SLA at
//! risk and breached, campaign completion, evidence expiring, last
//! activity), their totals, and two series for charts.
//!
//! The figures are what each client's own pages show, counted rather than
//! listed: the store answers counts over the indexes the lists already
//! walk ([`crate::store::Store::count`]), so a client of ten thousand
//! tickets costs the same as one of ten. Only the compliance score reads
//! the client's compliance state, as the gap analysis does, since it is
//! derived from every control and piece of evidence.
//!
//! What is arithmetic (the weeks of the breach series, the windows of each
//! count, completion as a fraction, totals and series) is pure functions
//! here, tested on their own; [`Regentra::msp_overview`] reads and fills
//! them in.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::{Membership, OrgKind, Organization, User};
use crate::audit::AuditEvent;
use crate::catalog::CustomFramework;
use crate::catalog::catalog_with;
use crate::compliance::gap::FrameworkScore;
use crate::compliance::{
    Adoption, ControlImplementation, Evidence, OrgState, evaluate, gap_analysis,
};
use crate::error::{Error, Result};
use crate::ids::{CampaignId, OrgId};
use crate::policies::{Acknowledgment, Campaign};
use crate::psa::queue::AT_RISK_WITHIN;
use crate::psa::ticket::{SLA_BREACH, Ticket};
use crate::rbac::{Access, Grant, Permission, Role, Via};
use crate::service::{Principal, Regentra, Standing};
use crate::store::{
    self, Answers, Entity, IndexScan, MAX_PAGE, PageRequest, Read, Scope, Versioned,
};
use crate::tenancy::AUDIT_SCAN_BUDGET;

/// Evidence whose valid-until falls within this much of now is expiring.
pub const EXPIRING_WITHIN: Duration = Duration::days(30);

/// A ticket whose response or resolution target was breached within this
/// much of now counts as breached.
pub const BREACHED_WITHIN: Duration = Duration::days(30);

/// How many ISO weeks the breach series covers (the current one last).
pub const BREACH_WEEKS: usize = 8;

/// Audit actions that record no activity of the client: reads recorded
/// for an MSP's staff (an overview writes them) and the host's one-time
/// reindexing. Last activity is the newest event of another action.
pub const NOT_ACTIVITY: &[&str] = &["access.delegated", "maintenance.reindexed"];

/// The newest events read with the figures, for the last activity; more
/// are read only when all of these are [`NOT_ACTIVITY`].
const TAIL: usize = 50;

/// Clients read at a time.
const CONCURRENT_CLIENTS: usize = 4;

/// Which clients an overview shows.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverviewScope {
    /// Every client of the MSP: the caller manages its tenants (an MSP
    /// admin, a platform operator).
    AllClients,
    /// The clients the caller holds a role in (staff the MSP assigned).
    AssignedClients,
}

/// An MSP's clients side by side, with their totals and the series to
/// chart (`Regentra::msp_overview`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MspOverview {
    pub msp: OrgId,
    /// The instant every figure is computed at.
    pub at: DateTime<Utc>,
    pub scope: OverviewScope,
    /// One row per client, by name.
    pub clients: Vec<ClientOverview>,
    pub totals: OverviewTotals,
    pub series: OverviewSeries,
}

/// One client's row. A figure the caller's role in the client may not see
/// is `null` (absent from the caller's view, not zero).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientOverview {
    pub client: OrgId,
    pub name: String,
    /// The role the caller acts with in the client, and how they hold it
    /// (their own membership, the MSP's delegation, the platform).
    pub role: Role,
    pub via: Via,
    /// The client requires a second factor the caller has not set up, and
    /// their grace period is over: no figure is shown (or read), as the
    /// client's own pages would refuse them.
    pub mfa_required: bool,
    /// Each adopted framework's score, as the gap analysis and the portal
    /// dashboard show it (`gap.read`).
    pub frameworks: Option<Vec<FrameworkScore>>,
    /// `tickets.read`.
    pub tickets: Option<TicketFigures>,
    /// `sla.read`.
    pub sla: Option<SlaFigures>,
    /// `campaigns.read`.
    pub campaigns: Option<CampaignFigures>,
    /// `evidence.read`.
    pub evidence: Option<EvidenceFigures>,
    /// `audit.read`.
    pub activity: Option<ActivityFigure>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TicketFigures {
    /// Tickets still being worked (new, open, pending, reopened).
    pub open: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SlaFigures {
    /// Worked tickets whose next running clock is due within the hour
    /// (the queue's "at risk"), now.
    pub at_risk: u64,
    /// Tickets whose response or resolution target was breached in the
    /// last 30 days.
    pub breached: u64,
    /// Tickets with a breach in each week of the series'
    /// `breaches_by_week`, in its order (a ticket breaching both targets in
    /// one week counts once).
    pub breaches_by_week: Vec<u64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CampaignFigures {
    /// Open campaigns.
    pub active: u64,
    /// Acknowledgments signed, over the open campaigns.
    pub signed: u64,
    /// People asked, over the open campaigns.
    pub audience: u64,
    /// `signed / audience`, from 0 to 1; `null` with nobody asked.
    pub completion: Option<f64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceFigures {
    /// Valid until a time within the next 30 days.
    pub expiring: u64,
    /// Valid until a time already past.
    pub expired: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActivityFigure {
    /// When the client's newest audit event that records activity was
    /// written: not a read recorded for the MSP's staff, nor the host's
    /// reindexing (`NOT_ACTIVITY`). `null` when there is none among the
    /// newest events read (at most 5,000, `AUDIT_SCAN_BUDGET`).
    pub last: Option<DateTime<Utc>>,
}

/// The sums over the rows that show each figure (`null` when none does).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverviewTotals {
    pub clients: usize,
    /// Each framework adopted by a client shown, with the mean of its
    /// scores there and how many clients it is the mean of.
    pub frameworks: Vec<FrameworkAverage>,
    pub tickets: Option<TicketFigures>,
    pub sla: Option<SlaFigures>,
    /// Signed over audience of every open campaign of the clients shown.
    pub campaigns: Option<CampaignFigures>,
    pub evidence: Option<EvidenceFigures>,
    /// The latest last activity.
    pub activity: Option<ActivityFigure>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkAverage {
    pub framework: String,
    pub name: String,
    pub clients: usize,
    /// The mean score, to one decimal.
    pub score: f64,
}

/// What the console charts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverviewSeries {
    /// Each client's score per adopted framework, now (the latest), by
    /// client name then framework.
    pub scores: Vec<ScorePoint>,
    /// Tickets with a breach per ISO week (UTC), all clients shown
    /// together, oldest week first; the last is the current week up to
    /// now. Each row's `sla.breaches_by_week` is its own, week by week.
    pub breaches_by_week: Vec<WeekCount>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorePoint {
    pub client: OrgId,
    pub name: String,
    pub framework: String,
    pub score: f64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeekCount {
    /// The ISO week, `2025-W24`.
    pub week: String,
    /// Monday 00:00 UTC.
    pub start: DateTime<Utc>,
    /// The next Monday 00:00 UTC.
    pub end: DateTime<Utc>,
    pub breaches: u64,
}

/// One ISO week in UTC: Monday 00:00 to the next Monday 00:00.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoWeek {
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The [`BREACH_WEEKS`] ISO weeks ending with the one holding `now`,
/// oldest first. Weeks are UTC, not the clients' zones: the series adds
/// clients up, and one client's Monday is not another's.
pub fn breach_weeks(now: DateTime<Utc>) -> Vec<IsoWeek> {
    let today = now.date_naive();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let current = monday.and_time(NaiveTime::MIN).and_utc();
    (0..BREACH_WEEKS)
        .rev()
        .map(|back| {
            let start = current - Duration::weeks(back as i64);
            let week = start.iso_week();
            IsoWeek {
                label: format!("{}-W{:02}", week.year(), week.week()),
                start,
                end: start + Duration::weeks(1),
            }
        })
        .collect()
}

/// The breach instants a count covers: from `from` up to `to` or `now`,
/// whichever is first, end excluded. A running clock's entry waits ahead
/// of its due time ([`crate::psa::ticket::breach_instants`]); the end at
/// `now` keeps it out until it has passed.
pub fn breach_scan(from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) -> IndexScan {
    IndexScan::between(
        SLA_BREACH,
        Bound::Included(store::time_value(from)),
        Bound::Excluded(store::time_value(to.min(now))),
    )
}

/// Worked tickets (the queue's `active` state).
pub fn open_tickets_scan() -> IndexScan {
    IndexScan::between(
        "queue_state",
        Bound::Included("active".into()),
        Bound::Included("active".into()),
    )
}

/// Worked tickets whose next running clock is due in `[now, now + 1 h)`:
/// the queue's "at risk" range ([`crate::psa::queue::SlaState::AtRisk`]).
pub fn at_risk_scan(now: DateTime<Utc>) -> IndexScan {
    let at = |t: DateTime<Utc>| format!("active|{}", store::instant_key(t));
    IndexScan::between(
        "queue_state_due",
        Bound::Included(at(now)),
        Bound::Excluded(at(now + AT_RISK_WITHIN)),
    )
}

/// Evidence valid until `now` or before (to the second of the `expiry`
/// index; evidence with no expiry is `~`, after every time).
pub fn expired_scan(now: DateTime<Utc>) -> IndexScan {
    IndexScan::between(
        "expiry",
        Bound::Unbounded,
        Bound::Included(store::instant_key(now)),
    )
}

/// Evidence valid until a time after `now` and within [`EXPIRING_WITHIN`].
pub fn expiring_scan(now: DateTime<Utc>) -> IndexScan {
    IndexScan::between(
        "expiry",
        Bound::Excluded(store::instant_key(now)),
        Bound::Included(store::instant_key(now + EXPIRING_WITHIN)),
    )
}

/// `signed / audience`, none with nobody asked.
pub fn completion(signed: u64, audience: u64) -> Option<f64> {
    (audience > 0).then(|| signed as f64 / audience as f64)
}

/// The time of the newest event that records activity, from events newest
/// first.
pub fn last_activity(events_newest_first: &[AuditEvent]) -> Option<DateTime<Utc>> {
    events_newest_first
        .iter()
        .find(|e| !NOT_ACTIVITY.contains(&e.action.as_str()))
        .map(|e| e.at)
}

/// The totals of `rows`: each figure summed over the rows that show it.
pub fn totals(rows: &[ClientOverview]) -> OverviewTotals {
    fn sum<T: Clone>(
        rows: &[ClientOverview],
        figure: impl Fn(&ClientOverview) -> Option<&T>,
        add: impl Fn(T, &T) -> T,
    ) -> Option<T> {
        let mut shown = rows.iter().filter_map(figure);
        let first = shown.next()?.clone();
        Some(shown.fold(first, add))
    }
    let mut frameworks: BTreeMap<&str, (String, usize, f64)> = BTreeMap::new();
    for score in rows.iter().filter_map(|r| r.frameworks.as_ref()).flatten() {
        let entry = frameworks
            .entry(score.framework.as_str())
            .or_insert_with(|| (score.name.clone(), 0, 0.0));
        entry.1 += 1;
        entry.2 += score.score;
    }
    OverviewTotals {
        clients: rows.len(),
        frameworks: frameworks
            .into_iter()
            .map(|(framework, (name, clients, total))| FrameworkAverage {
                framework: framework.to_owned(),
                name,
                clients,
                score: (10.0 * total / clients as f64).round() / 10.0,
            })
            .collect(),
        tickets: sum(
            rows,
            |r| r.tickets.as_ref(),
            |a, b| TicketFigures {
                open: a.open + b.open,
            },
        ),
        sla: sum(
            rows,
            |r| r.sla.as_ref(),
            |a, b| SlaFigures {
                at_risk: a.at_risk + b.at_risk,
                breached: a.breached + b.breached,
                breaches_by_week: add_weeks(&a.breaches_by_week, &b.breaches_by_week),
            },
        ),
        campaigns: sum(
            rows,
            |r| r.campaigns.as_ref(),
            |a, b| {
                let (signed, audience) = (a.signed + b.signed, a.audience + b.audience);
                CampaignFigures {
                    active: a.active + b.active,
                    signed,
                    audience,
                    completion: completion(signed, audience),
                }
            },
        ),
        evidence: sum(
            rows,
            |r| r.evidence.as_ref(),
            |a, b| EvidenceFigures {
                expiring: a.expiring + b.expiring,
                expired: a.expired + b.expired,
            },
        ),
        activity: sum(
            rows,
            |r| r.activity.as_ref(),
            |a, b| ActivityFigure {
                last: a.last.max(b.last),
            },
        ),
    }
}

/// Two week-by-week counts added, week by week (the longer's extra weeks
/// kept).
fn add_weeks(a: &[u64], b: &[u64]) -> Vec<u64> {
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0))
        .collect()
}

/// The charts' series from the rows (by name) and the weeks of the breach
/// series.
pub fn series(rows: &[ClientOverview], weeks: &[IsoWeek]) -> OverviewSeries {
    let by_week = rows
        .iter()
        .filter_map(|r| r.sla.as_ref())
        .fold(vec![0; weeks.len()], |acc, sla| {
            add_weeks(&acc, &sla.breaches_by_week)
        });
    OverviewSeries {
        scores: rows
            .iter()
            .flat_map(|r| {
                r.frameworks.iter().flatten().map(|f| ScorePoint {
                    client: r.client,
                    name: r.name.clone(),
                    framework: f.framework.clone(),
                    score: f.score,
                })
            })
            .collect(),
        breaches_by_week: weeks
            .iter()
            .zip(by_week)
            .map(|(w, breaches)| WeekCount {
                week: w.label.clone(),
                start: w.start,
                end: w.end,
                breaches,
            })
            .collect(),
    }
}

/// A client's adopted frameworks' scores from its compliance state: the
/// same evaluation and gap analysis as its own pages, so the numbers match.
pub fn framework_scores(
    custom: Vec<CustomFramework>,
    state: &OrgState,
    now: DateTime<Utc>,
) -> Result<Vec<FrameworkScore>> {
    let catalog = catalog_with(custom)?;
    Ok(gap_analysis(&catalog, &evaluate(&catalog, state, now))
        .summary
        .frameworks)
}

/// A figure of a row, and the permission it is read under in the client:
/// the one its own page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Figure {
    Scores,
    Tickets,
    Sla,
    Campaigns,
    Evidence,
    Activity,
}

impl Figure {
    const ALL: [Figure; 6] = [
        Figure::Scores,
        Figure::Tickets,
        Figure::Sla,
        Figure::Campaigns,
        Figure::Evidence,
        Figure::Activity,
    ];

    fn permission(self) -> Permission {
        match self {
            Figure::Scores => Permission::GapRead,
            Figure::Tickets => Permission::TicketsRead,
            Figure::Sla => Permission::SlaRead,
            Figure::Campaigns => Permission::CampaignsRead,
            Figure::Evidence => Permission::EvidenceRead,
            Figure::Activity => Permission::AuditRead,
        }
    }
}

/// The permissions an overview may read under in a client.
fn permissions() -> Vec<Permission> {
    Figure::ALL.iter().map(|f| f.permission()).collect()
}

/// A client's row as read, before the open campaigns' counts come in.
struct Loaded {
    row: ClientOverview,
    open_campaigns: Vec<CampaignId>,
    standing: Standing,
    grants: Vec<Grant>,
}

fn list_read<E: Entity>(scope: Scope) -> Read {
    Read::List {
        scope,
        kind: E::KIND.to_owned(),
        page: PageRequest::first(MAX_PAGE),
    }
}

fn count_read<E: Entity>(scope: Scope, scan: IndexScan) -> Read {
    Read::Count {
        scope,
        kind: E::KIND.to_owned(),
        scan,
    }
}

impl Regentra {
    /// The MSP's clients side by side, for its staff console: per client
    /// its compliance score per adopted framework, open tickets, SLA at
    /// risk and breached (last 30 days), completion of its open campaigns,
    /// evidence expiring (next 30 days) and expired, and last activity;
    /// the totals, and the series of scores and of breaches per ISO week
    /// (UTC, the last 8). Every figure is at the injected clock's now.
    ///
    /// **Who sees what.** A caller who manages the MSP's tenants
    /// (`tenants.manage`: its admins, platform operators) sees every
    /// client; other members of the MSP (staff it assigned) see the
    /// clients they hold a role in ([`OverviewScope`]). In each client the
    /// caller's role there is judged as authorization judges it (their
    /// own membership, else the MSP's delegation, else the platform:
    /// `Standing::grant`), figure by figure under the permission of the
    /// figure's own page: a technician sees tickets and SLA figures, not
    /// scores, campaigns, evidence or the audit log; a compliance officer
    /// the reverse; a figure their role may not see is `None`, and is not
    /// read. A client whose MFA requirement the caller has not met past
    /// their grace period is listed with `mfa_required` and no figure.
    /// Anyone with no role in the MSP (another MSP's admin, a client's
    /// own admin) gets `NotFound`; an org that is not an MSP is a
    /// validation error on `msp`.
    ///
    /// **Audit.** A client read through a delegation (the MSP admin's, the
    /// operator's) gets one `access.delegated` event per overview naming
    /// the permissions it read under, not one per figure, and none while
    /// an earlier read covers them ([`crate::service::DELEGATED_READ_WINDOW`]).
    ///
    /// **Reads.** Authorization in the MSP (as [`Regentra::authorize`]);
    /// one batch for the caller's account and memberships, the MSP and its
    /// clients; one batch for every client's security settings and the
    /// caller's delegated-read records there; then **one batch per client**
    /// holding every figure it shows: four lists for the score (custom
    /// frameworks, adoptions, controls, evidence: the compliance state
    /// the gap analysis reads), counts for the rest (open, at risk,
    /// breached and one per week of the series over the tickets' indexes;
    /// expired and expiring over the evidence's), its open campaigns and
    /// its newest 50 audit events; and one batch of the open campaigns'
    /// counts (audience and signed) for all clients together. More only
    /// past 500 records of one kind in a list (its next pages), past 500
    /// memberships or clients, or when a client's newest 50 events are all
    /// reads by staff (up to [`AUDIT_SCAN_BUDGET`] more). Writes: at most
    /// one event per client, as above.
    pub async fn msp_overview(&self, principal: &Principal, msp: OrgId) -> Result<MspOverview> {
        let scope = match self
            .authorize_all(principal, msp, Permission::TenantsManage)
            .await
        {
            Ok(_) => OverviewScope::AllClients,
            Err(Error::PermissionDenied { .. }) => {
                self.authorize(principal, msp, Permission::OrgRead).await?;
                OverviewScope::AssignedClients
            }
            Err(e) => return Err(e),
        };
        let (user, organization, memberships, mut clients) =
            self.overview_directory(principal, msp).await?;
        if organization.kind != OrgKind::Msp {
            return Err(Error::invalid(
                "msp",
                "only an MSP organization has clients to overview",
            ));
        }
        if scope == OverviewScope::AssignedClients {
            clients.retain(|c| memberships.contains_key(&c.id));
        }
        let standings = self
            .standings_in(&user, &memberships, clients, &permissions())
            .await?;
        let now = self.now();
        let weeks = breach_weeks(now);
        let mut loaded: Vec<Loaded> = stream::iter(standings)
            .map(|standing| self.client_row(standing, now, &weeks))
            .buffered(CONCURRENT_CLIENTS)
            .try_filter_map(|row| async move { Ok(row) })
            .try_collect()
            .await?;
        self.count_campaigns(&mut loaded).await?;
        // One write at most per client, and none within a window: in turn.
        for l in &loaded {
            self.record_delegated_reads(principal, &l.standing, &l.grants, "msp_overview")
                .await?;
        }
        let mut rows: Vec<ClientOverview> = loaded.into_iter().map(|l| l.row).collect();
        rows.sort_by(|a, b| {
            (a.name.to_lowercase(), a.client).cmp(&(b.name.to_lowercase(), b.client))
        });
        Ok(MspOverview {
            msp,
            at: now,
            scope,
            totals: totals(&rows),
            series: series(&rows, &weeks),
            clients: rows,
        })
    }

    /// The caller's account and memberships (by org), the MSP and its
    /// clients: one batch, plus pages past [`MAX_PAGE`] memberships or
    /// clients.
    async fn overview_directory(
        &self,
        principal: &Principal,
        msp: OrgId,
    ) -> Result<(
        Versioned<User>,
        Organization,
        HashMap<OrgId, Versioned<Membership>>,
        Vec<Organization>,
    )> {
        let user = principal.user;
        let mut found = Answers::new(
            self.store()
                .read(vec![
                    Read::Get {
                        scope: Scope::Platform,
                        kind: User::KIND.to_owned(),
                        id: user.0,
                    },
                    Read::Get {
                        scope: Scope::Platform,
                        kind: Organization::KIND.to_owned(),
                        id: msp.0,
                    },
                    Read::Find {
                        scope: Scope::Platform,
                        kind: Membership::KIND.to_owned(),
                        index: "user".to_owned(),
                        value: user.to_string(),
                        page: PageRequest::first(MAX_PAGE),
                    },
                    Read::Find {
                        scope: Scope::Platform,
                        kind: Organization::KIND.to_owned(),
                        index: "parent".to_owned(),
                        value: msp.to_string(),
                        page: PageRequest::first(MAX_PAGE),
                    },
                ])
                .await?,
        );
        let account = found
            .next()?
            .one::<User>()?
            .ok_or(Error::NotFound { what: User::NAME })?;
        let organization = found
            .next()?
            .one::<Organization>()?
            .ok_or(Error::NotFound {
                what: Organization::NAME,
            })?;
        let memberships = self
            .rest_by_index(
                Scope::Platform,
                "user",
                &user.to_string(),
                found.next()?.many::<Membership>()?,
            )
            .await?;
        let clients = self
            .rest_by_index(
                Scope::Platform,
                "parent",
                &msp.to_string(),
                found.next()?.many::<Organization>()?,
            )
            .await?;
        Ok((
            account,
            organization.value,
            memberships.into_iter().map(|m| (m.value.org, m)).collect(),
            clients
                .into_iter()
                .map(|c| c.value)
                .filter(|c| c.kind == OrgKind::Client && c.parent == Some(msp) && !c.is_archived())
                .collect(),
        ))
    }

    /// `first`, a full page of `index = value`, with the pages after it.
    async fn rest_by_index<E: Entity>(
        &self,
        scope: Scope,
        index: &str,
        value: &str,
        mut first: Vec<Versioned<E>>,
    ) -> Result<Vec<Versioned<E>>> {
        let mut page = first.len();
        while page == MAX_PAGE {
            let after = first.last().map(|r| r.value.id());
            let more = store::find::<E>(
                self.store(),
                scope,
                index,
                value,
                PageRequest::after(after, MAX_PAGE),
            )
            .await?;
            page = more.len();
            first.extend(more);
        }
        Ok(first)
    }

    /// `first`, a full page of a kind's records, with the pages after it.
    async fn rest_of_list<E: Entity>(
        &self,
        scope: Scope,
        mut first: Vec<Versioned<E>>,
    ) -> Result<Vec<E>> {
        let mut page = first.len();
        while page == MAX_PAGE {
            let after = first.last().map(|r| r.value.id());
            let more =
                store::list::<E>(self.store(), scope, PageRequest::after(after, MAX_PAGE)).await?;
            page = more.len();
            first.extend(more);
        }
        Ok(first.into_iter().map(|r| r.value).collect())
    }

    /// One client's row: the figures the caller's role there may see, in
    /// one batch. `None` for a client the caller has no role in.
    async fn client_row(
        &self,
        standing: Standing,
        now: DateTime<Utc>,
        weeks: &[IsoWeek],
    ) -> Result<Option<Loaded>> {
        let org = standing.org().clone();
        let Some(&(role, via)) = standing.roles().first() else {
            return Ok(None);
        };
        let mut row = ClientOverview {
            client: org.id,
            name: org.name.clone(),
            role,
            via,
            mfa_required: false,
            frameworks: None,
            tickets: None,
            sla: None,
            campaigns: None,
            evidence: None,
            activity: None,
        };
        let mut shown = Vec::new();
        let mut grants = Vec::new();
        for figure in Figure::ALL {
            match standing.grant(figure.permission(), now) {
                Ok(grant) if grant.access == Access::All => {
                    shown.push(figure);
                    grants.push(grant);
                }
                Ok(_) | Err(Error::PermissionDenied { .. }) => {}
                Err(Error::MfaRequired { .. }) => {
                    row.mfa_required = true;
                    return Ok(Some(Loaded {
                        row,
                        open_campaigns: Vec::new(),
                        standing,
                        grants: Vec::new(),
                    }));
                }
                Err(Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        let scope = Scope::Org(org.id);
        let mut reads = Vec::new();
        for figure in &shown {
            match figure {
                Figure::Scores => reads.extend([
                    list_read::<CustomFramework>(scope),
                    list_read::<Adoption>(scope),
                    list_read::<ControlImplementation>(scope),
                    list_read::<Evidence>(scope),
                ]),
                Figure::Tickets => reads.push(count_read::<Ticket>(scope, open_tickets_scan())),
                Figure::Sla => {
                    reads.push(count_read::<Ticket>(scope, at_risk_scan(now)));
                    reads.push(count_read::<Ticket>(
                        scope,
                        breach_scan(now - BREACHED_WITHIN, now, now),
                    ));
                    reads.extend(
                        weeks
                            .iter()
                            .map(|w| count_read::<Ticket>(scope, breach_scan(w.start, w.end, now))),
                    );
                }
                Figure::Campaigns => reads.push(Read::Find {
                    scope,
                    kind: Campaign::KIND.to_owned(),
                    index: "status".to_owned(),
                    value: "open".to_owned(),
                    page: PageRequest::first(MAX_PAGE),
                }),
                Figure::Evidence => {
                    reads.push(count_read::<Evidence>(scope, expired_scan(now)));
                    reads.push(count_read::<Evidence>(scope, expiring_scan(now)));
                }
                Figure::Activity => reads.push(Read::AuditBefore {
                    org: org.id,
                    before: None,
                    limit: TAIL,
                }),
            }
        }
        let mut found = Answers::new(if reads.is_empty() {
            Vec::new()
        } else {
            self.store().read(reads).await?
        });
        let mut open_campaigns = Vec::new();
        for figure in shown {
            match figure {
                Figure::Scores => {
                    let custom = found.next()?.many::<CustomFramework>()?;
                    let adoptions = found.next()?.many::<Adoption>()?;
                    let controls = found.next()?.many::<ControlImplementation>()?;
                    let evidence = found.next()?.many::<Evidence>()?;
                    let state = OrgState {
                        adoptions: self.rest_of_list(scope, adoptions).await?,
                        controls: self
                            .rest_of_list(scope, controls)
                            .await?
                            .into_iter()
                            .map(|c| (c.control.clone(), c))
                            .collect(),
                        evidence: self.rest_of_list(scope, evidence).await?,
                    };
                    let custom = self.rest_of_list(scope, custom).await?;
                    row.frameworks = Some(framework_scores(custom, &state, now)?);
                }
                Figure::Tickets => {
                    row.tickets = Some(TicketFigures {
                        open: found.next()?.count()?,
                    });
                }
                Figure::Sla => {
                    let at_risk = found.next()?.count()?;
                    let breached = found.next()?.count()?;
                    let breaches_by_week = weeks
                        .iter()
                        .map(|_| found.next()?.count())
                        .collect::<Result<_>>()?;
                    row.sla = Some(SlaFigures {
                        at_risk,
                        breached,
                        breaches_by_week,
                    });
                }
                Figure::Campaigns => {
                    let open = self
                        .rest_by_index(scope, "status", "open", found.next()?.many::<Campaign>()?)
                        .await?;
                    open_campaigns = open.into_iter().map(|c| c.value.id).collect();
                    row.campaigns = Some(CampaignFigures {
                        active: open_campaigns.len() as u64,
                        ..CampaignFigures::default()
                    });
                }
                Figure::Evidence => {
                    let expired = found.next()?.count()?;
                    let expiring = found.next()?.count()?;
                    row.evidence = Some(EvidenceFigures { expiring, expired });
                }
                Figure::Activity => {
                    let tail = found.next()?.events()?;
                    row.activity = Some(ActivityFigure {
                        last: self.activity_from(org.id, tail).await?,
                    });
                }
            }
        }
        Ok(Some(Loaded {
            row,
            open_campaigns,
            standing,
            grants,
        }))
    }

    /// The last activity from the chain's newest events, reading further
    /// back (up to [`AUDIT_SCAN_BUDGET`] events) only when those are all
    /// reads by staff.
    async fn activity_from(
        &self,
        org: OrgId,
        mut events: Vec<AuditEvent>,
    ) -> Result<Option<DateTime<Utc>>> {
        let mut read = events.len();
        loop {
            if let Some(at) = last_activity(&events) {
                return Ok(Some(at));
            }
            let Some(oldest) = events.last().map(|e| e.seq) else {
                return Ok(None);
            };
            if oldest <= 1 || read >= AUDIT_SCAN_BUDGET {
                return Ok(None);
            }
            events = self
                .store()
                .audit_events_before(org, Some(oldest), MAX_PAGE)
                .await?;
            read += events.len();
        }
    }

    /// Fills in each row's campaign completion: the audience and the
    /// signed acknowledgments of every open campaign of every client, as
    /// counts, in one batch.
    async fn count_campaigns(&self, loaded: &mut [Loaded]) -> Result<()> {
        let mut reads = Vec::new();
        for l in loaded.iter() {
            let scope = Scope::Org(l.row.client);
            for campaign in &l.open_campaigns {
                let of = |index: &str| IndexScan {
                    from: Bound::Included(campaign.to_string()),
                    to: Bound::Included(campaign.to_string()),
                    ..IndexScan::all(index)
                };
                reads.push(count_read::<Acknowledgment>(scope, of("campaign")));
                reads.push(count_read::<Acknowledgment>(scope, of("signed")));
            }
        }
        if reads.is_empty() {
            return Ok(());
        }
        let mut found = Answers::new(self.store().read(reads).await?);
        for l in loaded.iter_mut() {
            let Some(figures) = l.row.campaigns.as_mut() else {
                continue;
            };
            for _ in &l.open_campaigns {
                figures.audience += found.next()?.count()?;
                figures.signed += found.next()?.count()?;
            }
            figures.completion = completion(figures.signed, figures.audience);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{IsoWeek as ChronoWeek, TimeZone, Weekday};
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    fn labels(weeks: &[IsoWeek]) -> Vec<&str> {
        weeks.iter().map(|w| w.label.as_str()).collect()
    }

    #[test]
    fn the_current_week_starts_on_monday_midnight_utc() {
        // Sunday 23:59:59 is still the week that began six days before.
        let sunday = breach_weeks(utc("2025-06-15T23:59:59Z"));
        assert_eq!(
            sunday.last().map(|w| w.start),
            Some(utc("2025-06-09T00:00:00Z"))
        );
        assert_eq!(sunday.last().map(|w| w.label.as_str()), Some("2025-W24"));
        // One second later a new week begins.
        let monday = breach_weeks(utc("2025-06-16T00:00:00Z"));
        assert_eq!(
            monday.last().map(|w| w.start),
            Some(utc("2025-06-16T00:00:00Z"))
        );
        assert_eq!(monday.last().map(|w| w.label.as_str()), Some("2025-W25"));
        assert_eq!(
            labels(&monday),
            [
                "2025-W18", "2025-W19", "2025-W20", "2025-W21", "2025-W22", "2025-W23", "2025-W24",
                "2025-W25"
            ]
        );
    }

    #[test]
    fn iso_weeks_cross_the_new_year_by_their_own_years() {
        // 2026-01-01 is a Thursday: its week, W01 of 2026, began on
        // Monday 2025-12-29. 2020 had 53 weeks; 2021-01-03 was its last day.
        let weeks = breach_weeks(utc("2026-01-01T12:00:00Z"));
        assert_eq!(weeks[7].start, utc("2025-12-29T00:00:00Z"));
        assert_eq!(
            labels(&weeks),
            [
                "2025-W46", "2025-W47", "2025-W48", "2025-W49", "2025-W50", "2025-W51", "2025-W52",
                "2026-W01"
            ]
        );
        let weeks = breach_weeks(utc("2021-01-03T23:00:00Z"));
        assert_eq!(weeks[7].label, "2020-W53");
        assert_eq!(weeks[7].start, utc("2020-12-28T00:00:00Z"));
        let weeks = breach_weeks(utc("2021-01-04T00:00:00Z"));
        assert_eq!(weeks[7].label, "2021-W01");
        assert_eq!(weeks[6].label, "2020-W53");
    }

    #[test]
    fn the_current_weeks_count_ends_at_now() {
        let now = utc("2025-06-18T10:00:00Z");
        let weeks = breach_weeks(now);
        let current = breach_scan(weeks[7].start, weeks[7].end, now);
        assert_eq!(
            current.to,
            Bound::Excluded(store::time_value(now)),
            "a clock due later this week has not breached yet"
        );
        let past = breach_scan(weeks[6].start, weeks[6].end, now);
        assert_eq!(past.to, Bound::Excluded(store::time_value(weeks[7].start)));
        assert_eq!(
            past.from,
            Bound::Included(store::time_value(weeks[6].start))
        );
    }

    #[test]
    fn completion_is_a_fraction_of_those_asked() {
        assert_eq!(completion(1, 2), Some(0.5));
        assert_eq!(completion(0, 3), Some(0.0));
        assert_eq!(completion(0, 0), None);
    }

    fn row(name: &str) -> ClientOverview {
        ClientOverview {
            client: OrgId(uuid::Uuid::now_v7()),
            name: name.into(),
            role: Role::OrgAdmin,
            via: Via::Membership,
            mfa_required: false,
            frameworks: None,
            tickets: None,
            sla: None,
            campaigns: None,
            evidence: None,
            activity: None,
        }
    }

    fn score(framework: &str, score: f64) -> FrameworkScore {
        FrameworkScore {
            framework: framework.into(),
            name: framework.to_uppercase(),
            score,
            totals: Default::default(),
        }
    }

    #[test]
    fn totals_add_up_only_the_rows_that_show_a_figure() {
        let mut a = row("A");
        a.tickets = Some(TicketFigures { open: 3 });
        a.campaigns = Some(CampaignFigures {
            active: 1,
            signed: 1,
            audience: 2,
            completion: Some(0.5),
        });
        a.sla = Some(SlaFigures {
            at_risk: 1,
            breached: 2,
            breaches_by_week: vec![0, 1, 1],
        });
        a.frameworks = Some(vec![score("hipaa", 50.0), score("gdpr", 10.0)]);
        a.activity = Some(ActivityFigure {
            last: Some(utc("2025-06-01T00:00:00Z")),
        });
        let mut b = row("B");
        b.tickets = Some(TicketFigures { open: 4 });
        b.campaigns = Some(CampaignFigures {
            active: 1,
            signed: 3,
            audience: 3,
            completion: Some(1.0),
        });
        b.sla = Some(SlaFigures {
            at_risk: 0,
            breached: 1,
            breaches_by_week: vec![1, 0, 0],
        });
        b.frameworks = Some(vec![score("hipaa", 75.0)]);
        b.activity = Some(ActivityFigure { last: None });
        let c = row("C (a technician's view: nothing but tickets)");
        let mut c = c;
        c.tickets = Some(TicketFigures { open: 0 });
        let rows = [a, b, c];
        let t = totals(&rows);
        assert_eq!(t.clients, 3);
        assert_eq!(t.tickets, Some(TicketFigures { open: 7 }));
        assert_eq!(
            t.campaigns.and_then(|c| c.completion),
            Some(0.8),
            "4 signed of 5 asked, not the mean of 0.5 and 1"
        );
        assert_eq!(
            t.sla,
            Some(SlaFigures {
                at_risk: 1,
                breached: 3,
                breaches_by_week: vec![1, 1, 1]
            })
        );
        assert_eq!(t.evidence, None, "no row shows evidence");
        assert_eq!(
            t.activity,
            Some(ActivityFigure {
                last: Some(utc("2025-06-01T00:00:00Z"))
            })
        );
        assert_eq!(
            t.frameworks
                .iter()
                .map(|f| (f.framework.as_str(), f.clients, f.score))
                .collect::<Vec<_>>(),
            [("gdpr", 1, 10.0), ("hipaa", 2, 62.5)]
        );
        let weeks = breach_weeks(utc("2025-06-18T10:00:00Z"));
        let s = series(&rows, &weeks[5..]);
        assert_eq!(
            s.breaches_by_week
                .iter()
                .map(|w| (w.week.as_str(), w.breaches))
                .collect::<Vec<_>>(),
            [("2025-W23", 1), ("2025-W24", 1), ("2025-W25", 1)]
        );
        assert_eq!(
            s.scores
                .iter()
                .map(|p| (p.name.as_str(), p.framework.as_str(), p.score))
                .collect::<Vec<_>>(),
            [
                ("A", "hipaa", 50.0),
                ("A", "gdpr", 10.0),
                ("B", "hipaa", 75.0)
            ]
        );
    }

    #[test]
    fn last_activity_skips_reads_by_staff() {
        let event = |seq: u64, action: &str, at: &str| AuditEvent {
            seq,
            id: crate::ids::AuditEventId(uuid::Uuid::now_v7()),
            org: OrgId(uuid::Uuid::nil()),
            at: utc(at),
            actor: crate::audit::Actor::system(),
            action: action.into(),
            target: crate::audit::Target::new("organization", seq),
            request: Default::default(),
            details: serde_json::Value::Null,
            prev_hash: String::new(),
            hash: String::new(),
        };
        let newest_first = [
            event(3, "access.delegated", "2025-06-03T00:00:00Z"),
            event(2, "ticket.created", "2025-06-02T00:00:00Z"),
            event(1, "access.delegated", "2025-06-01T00:00:00Z"),
        ];
        assert_eq!(
            last_activity(&newest_first),
            Some(utc("2025-06-02T00:00:00Z"))
        );
        assert_eq!(last_activity(&newest_first[..1]), None);
    }

    proptest! {
        /// Whatever the instant: eight consecutive whole weeks, each from
        /// Monday 00:00 UTC, labelled as chrono labels ISO weeks, the last
        /// holding `now`.
        #[test]
        fn breach_weeks_tile_the_eight_weeks_up_to_now(secs in 0i64..4_102_444_800) {
            let now = Utc.timestamp_opt(secs, 0).single().expect("in range");
            let weeks = breach_weeks(now);
            prop_assert_eq!(weeks.len(), BREACH_WEEKS);
            for w in &weeks {
                prop_assert_eq!(w.start.weekday(), Weekday::Mon);
                prop_assert_eq!(w.start.time(), NaiveTime::MIN);
                prop_assert_eq!(w.end - w.start, Duration::weeks(1));
                let iso: ChronoWeek = w.start.iso_week();
                prop_assert_eq!(&w.label, &format!("{}-W{:02}", iso.year(), iso.week()));
                prop_assert_eq!((w.end - Duration::seconds(1)).iso_week(), iso);
            }
            for pair in weeks.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            let last = &weeks[BREACH_WEEKS - 1];
            prop_assert!(last.start <= now && now < last.end);
        }
    }
}
