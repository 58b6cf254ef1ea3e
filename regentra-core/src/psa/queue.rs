//! Ticket queues: the filtered, ordered pages a service desk works from,
//! computed by index walks, so a page costs about the same in an org of a
//! thousand tickets as in one of a hundred thousand.
//!
//! Each ticket writes ten queue index entries (see [`queue_entries`]): by
//! status and priority, by status, priority and assignee, by status,
//! priority and requester, by state (active or inactive), and by state and
//! assignee, each once with its next due time last (the `due` order) and
//! once without (the id order, oldest or newest first). A query walks one
//! index per value its filters allow: one per state when it asks for any
//! status or a whole state and any priority (the common queues), else one
//! per (status, priority) pair (at most 6 x 4); it merges the walks by the
//! order's key, reading a few entries of each at a time. SLA states are
//! ranges of the due time. The queue across orgs ([`Regentra::my_ticket_queue`])
//! merges the same walks of every org the caller reaches, so its cost grows
//! with the orgs, not with their tickets.
//!
//! A filter bar's numbers ([`Regentra::ticket_counts`],
//! [`Regentra::my_ticket_counts`]) are the same walks counted by the store
//! ([`crate::store::Store::count`]): no ticket is read.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Priority;
use super::ticket::{Ticket, TicketStatus};
use crate::error::{Error, Result};
use crate::ids::{OrgId, UserId};
use crate::rbac::{self, Access, Permission};
use crate::service::{Principal, Regentra};
use crate::sla::BusinessCalendar;
use crate::store::{
    self, Entity, IndexEntry, IndexScan, MAX_PAGE, Order, Read, ReadResult, ScanCursor, Scanned,
    Scope,
};

/// How close to its due time a running SLA clock is "at risk".
pub const AT_RISK_WITHIN: Duration = Duration::hours(1);

/// The due key of a ticket with no running SLA clock: after every instant.
const NOT_DUE: &str = "~";

/// The order of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    /// Creation order (uuid v7 ids).
    #[default]
    Oldest,
    Newest,
    /// The next SLA due time first; tickets with no running clock last.
    Due,
}

/// Whose tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    Unassigned,
    User(UserId),
}

/// Where a ticket stands against its SLA now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// A running clock is past its due time.
    Breached,
    /// A running clock is due within [`AT_RISK_WITHIN`].
    AtRisk,
    /// Its next due time is further away.
    OnTrack,
}

/// A page request over a queue: filters, order, where to resume, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketQuery {
    /// Any of these statuses (empty: any status).
    pub statuses: BTreeSet<TicketStatus>,
    /// Any of these priorities (empty: any priority).
    pub priorities: BTreeSet<Priority>,
    pub assignee: AssigneeFilter,
    pub requester: Option<UserId>,
    /// Only with [`QueueSort::Due`], the order its ranges are in.
    pub sla: Option<SlaState>,
    pub sort: QueueSort,
    pub after: Option<QueueCursor>,
    pub limit: usize,
}

impl Default for TicketQuery {
    fn default() -> Self {
        Self {
            statuses: BTreeSet::new(),
            priorities: BTreeSet::new(),
            assignee: AssigneeFilter::Anyone,
            requester: None,
            sla: None,
            sort: QueueSort::Oldest,
            after: None,
            limit: 50,
        }
    }
}

/// Where the next page of a queue starts: the order's key of the last
/// ticket seen (its due key for [`QueueSort::Due`], empty otherwise) and its
/// id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueCursor {
    pub key: String,
    pub id: Uuid,
}

/// One page of a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketPage {
    pub items: Vec<Ticket>,
    /// The cursor of the page after this one; `None` when this is the last.
    pub next: Option<QueueCursor>,
}

/// What a queue's filter bar shows for a query: how many tickets each of
/// its choices would list. Each count applies every filter of the query
/// but its own dimension's (the status counts ignore the status filter, the
/// SLA counts the SLA filter, `mine` and `unassigned` the assignee filter),
/// so each says what choosing it would list; `total` applies them all.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TicketCounts {
    /// The tickets the query lists.
    pub total: u64,
    /// Per status (every status, zeros included).
    pub by_status: BTreeMap<TicketStatus, u64>,
    /// Per SLA state, over the tickets whose SLA clock runs.
    pub by_sla: SlaCounts,
    /// Assigned to the caller.
    pub mine: u64,
    pub unassigned: u64,
}

/// Tickets per SLA state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SlaCounts {
    pub on_track: u64,
    pub at_risk: u64,
    pub breached: u64,
}

impl TicketCounts {
    fn zero() -> Self {
        Self {
            by_status: TicketStatus::ALL.into_iter().map(|s| (s, 0)).collect(),
            ..Self::default()
        }
    }

    fn add(&mut self, facet: Facet, n: u64) {
        match facet {
            Facet::Total => self.total += n,
            Facet::Status(status) => *self.by_status.entry(status).or_default() += n,
            Facet::Sla(SlaState::OnTrack) => self.by_sla.on_track += n,
            Facet::Sla(SlaState::AtRisk) => self.by_sla.at_risk += n,
            Facet::Sla(SlaState::Breached) => self.by_sla.breached += n,
            Facet::Mine => self.mine += n,
            Facet::Unassigned => self.unassigned += n,
        }
    }

    fn is_empty(&self) -> bool {
        *self == Self::zero()
    }
}

/// One number of [`TicketCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Total,
    Status(TicketStatus),
    Sla(SlaState),
    Mine,
    Unassigned,
}

impl Facet {
    /// The query whose tickets this number counts, out of the caller's
    /// query (`me`: the caller, for `mine`).
    fn query(self, query: &TicketQuery, me: UserId) -> TicketQuery {
        let mut q = query.clone();
        match self {
            Facet::Total => {}
            Facet::Status(status) => q.statuses = BTreeSet::from([status]),
            Facet::Sla(state) => q.sla = Some(state),
            Facet::Mine => q.assignee = AssigneeFilter::User(me),
            Facet::Unassigned => q.assignee = AssigneeFilter::Unassigned,
        }
        // The SLA states are ranges of the due order's walks.
        q.sort = if q.sla.is_some() {
            QueueSort::Due
        } else {
            QueueSort::Oldest
        };
        q.after = None;
        q
    }

    fn all() -> Vec<Facet> {
        let mut all = vec![Facet::Total, Facet::Mine, Facet::Unassigned];
        all.extend(TicketStatus::ALL.map(Facet::Status));
        all.extend([SlaState::OnTrack, SlaState::AtRisk, SlaState::Breached].map(Facet::Sla));
        all
    }
}

/// The statuses "open" stands for in a queue filter: still being worked.
pub fn open_statuses() -> BTreeSet<TicketStatus> {
    TicketStatus::ALL
        .into_iter()
        .filter(|s| s.is_active())
        .collect()
}

/// The statuses "closed" stands for: resolved or closed.
pub fn closed_statuses() -> BTreeSet<TicketStatus> {
    TicketStatus::ALL
        .into_iter()
        .filter(|s| !s.is_active())
        .collect()
}

/// When the ticket's next running SLA clock is due, if one is running.
pub fn next_due(ticket: &Ticket) -> Option<DateTime<Utc>> {
    let sla = ticket.sla.as_ref()?;
    if !ticket.status.is_active() {
        return None;
    }
    let calendar = BusinessCalendar::shared(&sla.calendar).ok()?;
    [&sla.response, &sla.resolution]
        .into_iter()
        .filter(|clock| clock.is_running())
        .filter_map(|clock| clock.due(&calendar))
        .min()
}

/// Where a ticket stands against its SLA at `now`, by its next running
/// clock's due time (the ranges the queue's `sla` filter walks); `None`
/// when no clock runs (no SLA, paused, resolved or closed).
pub fn sla_state(ticket: &Ticket, now: DateTime<Utc>) -> Option<SlaState> {
    let due = next_due(ticket)?;
    Some(if due < now {
        SlaState::Breached
    } else if due < now + AT_RISK_WITHIN {
        SlaState::AtRisk
    } else {
        SlaState::OnTrack
    })
}

fn due_key(ticket: &Ticket) -> String {
    next_due(ticket).map_or_else(|| NOT_DUE.to_owned(), store::instant_key)
}

fn state_key(status: TicketStatus) -> &'static str {
    if status.is_active() {
        "active"
    } else {
        "inactive"
    }
}

fn assignee_key(assignee: Option<UserId>) -> String {
    assignee.map_or_else(|| "-".to_owned(), |u| u.to_string())
}

/// The queue index entries of a ticket (part of [`Ticket`]'s indexes).
pub fn queue_entries(ticket: &Ticket) -> Vec<IndexEntry> {
    let base = format!("{}|{}", ticket.status.key(), ticket.priority.key());
    let by_assignee = format!("{base}|{}", assignee_key(ticket.assignee));
    let by_requester = format!("{base}|{}", ticket.requester);
    let due = due_key(ticket);
    let state = state_key(ticket.status);
    let state_assignee = format!("{state}|{}", assignee_key(ticket.assignee));
    vec![
        IndexEntry::multi("queue_state", state),
        IndexEntry::multi("queue_state_assignee", state_assignee.clone()),
        IndexEntry::multi("queue_state_due", format!("{state}|{due}")),
        IndexEntry::multi(
            "queue_state_due_assignee",
            format!("{state_assignee}|{due}"),
        ),
        IndexEntry::multi("queue", base.clone()),
        IndexEntry::multi("queue_assignee", by_assignee.clone()),
        IndexEntry::multi("queue_requester", by_requester.clone()),
        IndexEntry::multi("queue_due", format!("{base}|{due}")),
        IndexEntry::multi("queue_due_assignee", format!("{by_assignee}|{due}")),
        IndexEntry::multi("queue_due_requester", format!("{by_requester}|{due}")),
    ]
}

/// One index walk of a query: a prefix of the index value and the range
/// after it.
#[derive(Debug)]
struct Walk {
    scope: Scope,
    index: &'static str,
    prefix: String,
    from: Bound<String>,
    to: Bound<String>,
    cursor: Option<ScanCursor>,
    buffer: VecDeque<Scanned>,
    exhausted: bool,
}

impl Walk {
    /// The order's key of a scanned entry: what follows the prefix.
    fn key(&self, scanned: &Scanned) -> String {
        scanned
            .value
            .get(self.prefix.len()..)
            .unwrap_or_default()
            .trim_start_matches('|')
            .to_owned()
    }
}

/// The walks that answer `query` in `scope`.
fn walks_of(scope: Scope, query: &TicketQuery, now: DateTime<Utc>) -> Result<Vec<Walk>> {
    let statuses: Vec<TicketStatus> = if query.statuses.is_empty() {
        TicketStatus::ALL.to_vec()
    } else {
        query.statuses.iter().copied().collect()
    };
    let priorities: Vec<Priority> = if query.priorities.is_empty() {
        Priority::ALL.to_vec()
    } else {
        query.priorities.iter().copied().collect()
    };
    let due = query.sort == QueueSort::Due;
    if query.sla.is_some() && !due {
        return Err(Error::invalid(
            "sort",
            "an SLA state filter lists tickets by due time: use sort=due",
        ));
    }
    let (index, narrow): (&'static str, Option<String>) = match (query.requester, query.assignee) {
        (Some(requester), _) => (
            if due {
                "queue_due_requester"
            } else {
                "queue_requester"
            },
            Some(requester.to_string()),
        ),
        (None, AssigneeFilter::Anyone) => (if due { "queue_due" } else { "queue" }, None),
        (None, AssigneeFilter::Unassigned) => (
            if due {
                "queue_due_assignee"
            } else {
                "queue_assignee"
            },
            Some(assignee_key(None)),
        ),
        (None, AssigneeFilter::User(user)) => (
            if due {
                "queue_due_assignee"
            } else {
                "queue_assignee"
            },
            Some(user.to_string()),
        ),
    };
    // The leading values of each walk: a state when the filters ask for
    // whole states and any priority (and no requester), else a status and
    // a priority.
    let whole = |set: BTreeSet<TicketStatus>| set.is_subset(&query.statuses);
    let by_state = query.priorities.is_empty()
        && query.requester.is_none()
        && (query.statuses.is_empty()
            || query.statuses.iter().all(|s| {
                whole(if s.is_active() {
                    open_statuses()
                } else {
                    closed_statuses()
                })
            }));
    let (index, leads): (&'static str, Vec<String>) = if by_state {
        let states = if query.statuses.is_empty() {
            vec!["active".to_owned(), "inactive".to_owned()]
        } else {
            query
                .statuses
                .iter()
                .map(|s| state_key(*s).to_owned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let index = match (narrow.is_some(), due) {
            (false, false) => "queue_state",
            (false, true) => "queue_state_due",
            (true, false) => "queue_state_assignee",
            (true, true) => "queue_state_due_assignee",
        };
        (index, states)
    } else {
        let mut leads = Vec::new();
        for status in &statuses {
            for priority in &priorities {
                leads.push(format!("{}|{}", status.key(), priority.key()));
            }
        }
        (index, leads)
    };
    let mut out = Vec::new();
    for lead in leads {
        {
            let mut prefix = lead;
            if let Some(narrow) = &narrow {
                prefix = format!("{prefix}|{narrow}");
            }
            let (from, to) = if due {
                let at = |t: DateTime<Utc>| format!("{prefix}|{}", store::instant_key(t));
                match query.sla {
                    None => (
                        Bound::Included(format!("{prefix}|")),
                        Bound::Included(format!("{prefix}|{NOT_DUE}")),
                    ),
                    Some(SlaState::Breached) => (
                        Bound::Included(format!("{prefix}|")),
                        Bound::Excluded(at(now)),
                    ),
                    Some(SlaState::AtRisk) => (
                        Bound::Included(at(now)),
                        Bound::Excluded(at(now + AT_RISK_WITHIN)),
                    ),
                    Some(SlaState::OnTrack) => (
                        Bound::Included(at(now + AT_RISK_WITHIN)),
                        Bound::Excluded(format!("{prefix}|{NOT_DUE}")),
                    ),
                }
            } else {
                (
                    Bound::Included(prefix.clone()),
                    Bound::Included(prefix.clone()),
                )
            };
            let cursor = query.after.as_ref().map(|c| ScanCursor {
                value: if due {
                    format!("{prefix}|{}", c.key)
                } else {
                    prefix.clone()
                },
                id: c.id,
            });
            out.push(Walk {
                scope,
                index,
                prefix,
                from,
                to,
                cursor,
                buffer: VecDeque::new(),
                exhausted: false,
            });
        }
    }
    Ok(out)
}

fn direction(sort: QueueSort) -> Order {
    match sort {
        QueueSort::Newest => Order::Descending,
        QueueSort::Oldest | QueueSort::Due => Order::Ascending,
    }
}

/// Whether `a` comes before `b` in the order of `sort`.
fn before(sort: QueueSort, a: &(String, Uuid), b: &(String, Uuid)) -> bool {
    match sort {
        QueueSort::Newest => a.1 > b.1,
        QueueSort::Oldest => a.1 < b.1,
        QueueSort::Due => a < b,
    }
}

impl Regentra {
    /// A page of an org's tickets: filtered, ordered and paged by the
    /// store. A requester limited to their own tickets gets only those,
    /// whatever the filters say.
    pub async fn ticket_queue(
        &self,
        principal: &Principal,
        org: OrgId,
        mut query: TicketQuery,
    ) -> Result<TicketPage> {
        let grant = self.ticket_reader(principal, org).await?;
        if grant.access != Access::All {
            query.requester = Some(principal.user);
        }
        self.queue_page(&[(org, query.clone())], &query).await
    }

    /// One queue across every org the caller reaches (their memberships and,
    /// for MSP staff, the clients they manage or are assigned to), merged in
    /// one order: staff see every ticket of an org, others their own. An org
    /// that requires a second factor the caller has not set up (past their
    /// grace period) is left out, as its own queue would refuse them; each
    /// org whose tickets the page shows is authorized as its own queue
    /// would be (a read through MSP delegation is recorded there).
    pub async fn my_ticket_queue(
        &self,
        principal: &Principal,
        query: TicketQuery,
    ) -> Result<TicketPage> {
        let targets = self.queue_targets(principal, &query).await?;
        let page = self.queue_page(&targets, &query).await?;
        let shown: BTreeSet<OrgId> = page.items.iter().map(|t| t.org).collect();
        for org in shown {
            self.ticket_reader(principal, org).await?;
        }
        Ok(page)
    }

    /// The numbers of a queue's filter bar for `query` over the org's
    /// tickets (those a requester limited to their own may list: theirs),
    /// as [`TicketCounts`] defines them: each a handful of index ranges the
    /// store counts, all in one read batch (one walk of a filter counted
    /// per state, or per status and priority pair, as the queue walks it),
    /// so the cost grows with the filters, not with the tickets. The query's
    /// order, cursor and limit play no part; an SLA filter needs no due
    /// order here. A requester filter with an assignee filter (which the
    /// queue applies to the requester's tickets one by one) reads that
    /// person's tickets.
    pub async fn ticket_counts(
        &self,
        principal: &Principal,
        org: OrgId,
        mut query: TicketQuery,
    ) -> Result<TicketCounts> {
        let grant = self.ticket_reader(principal, org).await?;
        if grant.access != Access::All {
            query.requester = Some(principal.user);
        }
        let mut counts = self.counts_of(principal.user, &[(org, query)]).await?;
        Ok(counts
            .pop()
            .map(|(_, c)| c)
            .unwrap_or_else(TicketCounts::zero))
    }

    /// [`Self::ticket_counts`] over every org [`Self::my_ticket_queue`]
    /// reaches, summed: what the cross-client queue's filter bar shows.
    /// Each org that adds to a number is authorized as its own counts would
    /// be (a read through MSP delegation is recorded there).
    pub async fn my_ticket_counts(
        &self,
        principal: &Principal,
        query: TicketQuery,
    ) -> Result<TicketCounts> {
        let targets = self.queue_targets(principal, &query).await?;
        let mut total = TicketCounts::zero();
        for (org, counts) in self.counts_of(principal.user, &targets).await? {
            if counts.is_empty() {
                continue;
            }
            self.ticket_reader(principal, org).await?;
            total.total += counts.total;
            for (status, n) in counts.by_status {
                *total.by_status.entry(status).or_default() += n;
            }
            total.by_sla.on_track += counts.by_sla.on_track;
            total.by_sla.at_risk += counts.by_sla.at_risk;
            total.by_sla.breached += counts.by_sla.breached;
            total.mine += counts.mine;
            total.unassigned += counts.unassigned;
        }
        Ok(total)
    }

    /// Each org the caller reaches (as [`Regentra::orgs_at_work`] finds
    /// them) with the query it may run there: as given where a role of
    /// theirs reads every ticket, narrowed to their own where they may
    /// only submit; orgs where they may do neither are left out.
    async fn queue_targets(
        &self,
        principal: &Principal,
        query: &TicketQuery,
    ) -> Result<Vec<(OrgId, TicketQuery)>> {
        let mut targets = Vec::new();
        for access in self.orgs_at_work(principal).await? {
            let reach = access
                .roles
                .iter()
                .map(|grant| {
                    let read = rbac::decide(grant.role, Permission::TicketsRead);
                    if read.is_allowed() {
                        read
                    } else if rbac::decide(grant.role, Permission::TicketsSubmit).is_allowed() {
                        Access::Own
                    } else {
                        Access::Denied
                    }
                })
                .max_by_key(|a| match a {
                    Access::All => 2,
                    Access::Own => 1,
                    Access::Denied => 0,
                });
            let mut own = query.clone();
            match reach {
                Some(Access::All) => {}
                Some(Access::Own) => own.requester = Some(principal.user),
                _ => continue,
            }
            targets.push((access.org.id, own));
        }
        Ok(targets)
    }

    /// The counts of each target's query, per org, computed by the store:
    /// every walk of every facet's query counted in one read batch, but for
    /// the walks the queue filters one by one (a requester's, with an
    /// assignee filter), which are walked and filtered here.
    async fn counts_of(
        &self,
        me: UserId,
        targets: &[(OrgId, TicketQuery)],
    ) -> Result<Vec<(OrgId, TicketCounts)>> {
        let now = self.now();
        let mut counted = Vec::new();
        let mut reads = Vec::new();
        let mut filtered = Vec::new();
        for (i, (org, filters)) in targets.iter().enumerate() {
            for facet in Facet::all() {
                let q = facet.query(filters, me);
                let one_by_one = q.requester.is_some() && q.assignee != AssigneeFilter::Anyone;
                for walk in walks_of(Scope::Org(*org), &q, now)? {
                    let scan = IndexScan {
                        index: walk.index.to_owned(),
                        from: walk.from,
                        to: walk.to,
                        order: Order::Ascending,
                        after: None,
                        limit: MAX_PAGE,
                    };
                    if one_by_one {
                        filtered.push((i, facet, q.clone(), scan));
                    } else {
                        counted.push((i, facet));
                        reads.push(Read::Count {
                            scope: Scope::Org(*org),
                            kind: Ticket::KIND.to_owned(),
                            scan,
                        });
                    }
                }
            }
        }
        let mut out: Vec<(OrgId, TicketCounts)> = targets
            .iter()
            .map(|(org, _)| (*org, TicketCounts::zero()))
            .collect();
        let answers = if reads.is_empty() {
            Vec::new()
        } else {
            self.store().read(reads).await?
        };
        for ((i, facet), answer) in counted.into_iter().zip(answers) {
            out[i].1.add(facet, answer.count()?);
        }
        for (i, facet, q, scan) in filtered {
            let scope = Scope::Org(out[i].0);
            let mut after = None;
            loop {
                let (page, next) =
                    store::scan::<Ticket>(self.store(), scope, &scan.clone().after(after)).await?;
                let n = page
                    .iter()
                    .filter(|t| admits_assignee(&q, &t.value))
                    .count();
                out[i].1.add(facet, n as u64);
                match next {
                    Some(cursor) => after = Some(cursor),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// The merged page of `query`'s order over the tickets of each org,
    /// with the filters given for it (authorized by the caller).
    pub(crate) async fn queue_page(
        &self,
        targets: &[(OrgId, TicketQuery)],
        query: &TicketQuery,
    ) -> Result<TicketPage> {
        let now = self.now();
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut walks = Vec::new();
        for (org, filters) in targets {
            walks.extend(walks_of(Scope::Org(*org), filters, now)?);
        }
        let batch = (limit / walks.len().max(1) + 2).clamp(4, MAX_PAGE);
        let order = direction(query.sort);
        let mut items: Vec<Ticket> = Vec::with_capacity(limit);
        let mut last: Option<QueueCursor> = None;
        loop {
            self.refill(&mut walks, order, batch).await?;
            let mut best: Option<(usize, (String, Uuid))> = None;
            for (i, walk) in walks.iter().enumerate() {
                if let Some(head) = walk.buffer.front() {
                    let here = (walk.key(head), head.record.id);
                    if best
                        .as_ref()
                        .is_none_or(|(_, b)| before(query.sort, &here, b))
                    {
                        best = Some((i, here));
                    }
                }
            }
            let Some((i, (key, id))) = best else {
                break;
            };
            let Some(scanned) = walks[i].buffer.pop_front() else {
                break;
            };
            let ticket = store::decode::<Ticket>(scanned.record)?.value;
            let filters = targets
                .iter()
                .find(|(org, _)| *org == ticket.org)
                .map_or(query, |(_, f)| f);
            last = Some(QueueCursor {
                key: if query.sort == QueueSort::Due {
                    key
                } else {
                    String::new()
                },
                id,
            });
            if !admits_assignee(filters, &ticket) {
                continue;
            }
            items.push(ticket);
            if items.len() == limit {
                break;
            }
        }
        let more =
            items.len() == limit && walks.iter().any(|w| !w.buffer.is_empty() || !w.exhausted);
        Ok(TicketPage {
            items,
            next: if more { last } else { None },
        })
    }

    /// Reads the next entries of every walk that has none buffered, in one
    /// batch.
    async fn refill(&self, walks: &mut [Walk], order: Order, batch: usize) -> Result<()> {
        let needy: Vec<usize> = walks
            .iter()
            .enumerate()
            .filter(|(_, w)| w.buffer.is_empty() && !w.exhausted)
            .map(|(i, _)| i)
            .collect();
        if needy.is_empty() {
            return Ok(());
        }
        let reads = needy
            .iter()
            .map(|&i| {
                let w = &walks[i];
                Read::Scan {
                    scope: w.scope,
                    kind: Ticket::KIND.to_owned(),
                    scan: IndexScan {
                        index: w.index.to_owned(),
                        from: w.from.clone(),
                        to: w.to.clone(),
                        order,
                        after: w.cursor.clone(),
                        limit: batch,
                    },
                }
            })
            .collect();
        let results = self.store().read(reads).await?;
        for (i, result) in needy.into_iter().zip(results) {
            let ReadResult::Scanned(found) = result else {
                return Err(Error::storage("a scan answered with something else"));
            };
            let walk = &mut walks[i];
            walk.exhausted = found.len() < batch;
            walk.cursor = found.last().map(Scanned::cursor).or(walk.cursor.take());
            walk.buffer.extend(found);
        }
        Ok(())
    }
}

/// The assignee filter, where the walks could not apply it (a requester's
/// walk).
fn admits_assignee(query: &TicketQuery, ticket: &Ticket) -> bool {
    if query.requester.is_none() {
        return true;
    }
    match query.assignee {
        AssigneeFilter::Anyone => true,
        AssigneeFilter::Unassigned => ticket.assignee.is_none(),
        AssigneeFilter::User(user) => ticket.assignee == Some(user),
    }
}
