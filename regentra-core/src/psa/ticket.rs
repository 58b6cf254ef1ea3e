//! Tickets under SLA: per-org numbers, the lifecycle and its SLA clocks,
//! comments (public and internal), and escalations that fire exactly once.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::ops::Bound;
use uuid::Uuid;

use super::Priority;
use super::attachments::{StagedAttachment, TicketFiles, attachment_details};
use super::records::TimeEntry;
use super::sla_policy::{Action, ClockKind, EscalationRule, SlaPolicy, Targets, Trigger};
use crate::audit::{Actor, AuditEvent, Target};
use crate::error::{Error, Result};
use crate::ids::{AssetId, CommentId, OrgId, SlaPolicyId, TicketId, UserId};
use crate::mail::Sender;
use crate::notify::NotificationKind;
use crate::rbac::{Access, Grant, Permission};
use crate::service::{Principal, Regentra};
use crate::sla::{BusinessCalendar, CalendarSpec, Clock};
use crate::store::{
    self, ChangeSet, Draw, Entity, IndexEntry, IndexScan, PageRequest, ScanCursor, Scope, Versioned,
};
use crate::tenancy::{Membership, validate_name};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    Open,
    /// Waiting on the customer: the SLA clocks pause.
    Pending,
    Resolved,
    Closed,
    Reopened,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 6] = [
        Self::New,
        Self::Open,
        Self::Pending,
        Self::Reopened,
        Self::Resolved,
        Self::Closed,
    ];

    /// The status as it is written in index values and URLs.
    pub fn key(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
        }
    }

    /// Statuses in which the ticket is still being worked.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::New | Self::Open | Self::Pending | Self::Reopened
        )
    }
}

/// The SLA a ticket runs on, copied from the policy when it was created.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTerms {
    pub policy: SlaPolicyId,
    pub revision: u32,
    pub calendar: CalendarSpec,
    pub targets: std::collections::BTreeMap<Priority, Targets>,
    pub escalations: Vec<EscalationRule>,
    pub response: Clock,
    pub resolution: Clock,
    /// Escalations already fired (rule index and clock), never again.
    pub fired: BTreeSet<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub org: OrgId,
    /// Sequential within the org.
    pub number: u64,
    pub title: String,
    pub description: String,
    pub requester: UserId,
    pub assignee: Option<UserId>,
    pub priority: Priority,
    pub status: TicketStatus,
    pub sla: Option<SlaTerms>,
    /// Assets the ticket concerns.
    #[serde(default)]
    pub assets: BTreeSet<AssetId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was last resolved (or closed without being resolved first);
    /// none while it is worked. Its requester's reopening window counts
    /// from here ([`REOPEN_WINDOW`]).
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// How long after a ticket is resolved its requester may reopen it (14
/// days); after that, or once it is closed, they open a new ticket.
pub const REOPEN_WINDOW: Duration = Duration::days(14);

/// Whether a ticket's requester may reopen it at `now`: resolved (not
/// closed) within [`REOPEN_WINDOW`]. The reason it may not, otherwise.
pub fn requester_may_reopen(
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> std::result::Result<(), &'static str> {
    match ticket.status {
        TicketStatus::Resolved => {
            let since = ticket.resolved_at.unwrap_or(ticket.updated_at);
            if now - since <= REOPEN_WINDOW {
                Ok(())
            } else {
                Err("was resolved more than 14 days ago: open a new ticket instead")
            }
        }
        TicketStatus::Closed => Err("is closed: open a new ticket instead"),
        _ => Err("is still open"),
    }
}

impl Entity for Ticket {
    const KIND: &'static str = "ticket";
    const NAME: &'static str = "ticket";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![
            IndexEntry::unique("number", self.number.to_string()),
            IndexEntry::multi("requester", self.requester.to_string()),
            IndexEntry::multi("status", self.status.key()),
        ];
        if self.status.is_active() {
            entries.push(IndexEntry::multi("active", "yes"));
        }
        // When the escalation sweep must look at the ticket next: written
        // with every change of the ticket, so a sweep reads only the tickets
        // with something due and never one whose next event is in the future.
        if let Some(at) = self
            .sla
            .as_ref()
            .and_then(|sla| BusinessCalendar::shared(&sla.calendar).ok())
            .and_then(|calendar| next_escalation(self, &calendar))
        {
            entries.push(IndexEntry::multi(NEXT_ESCALATION, escalation_key(at)));
        }
        entries.extend(
            breach_instants(self)
                .into_iter()
                .map(|at| IndexEntry::multi(SLA_BREACH, store::time_value(at))),
        );
        entries.extend(super::queue::queue_entries(self));
        entries
    }
}

/// The index of when a ticket's SLA clocks breach ([`breach_instants`]):
/// counted over a range of time, it answers how many tickets breached a
/// target then, reading none of them.
pub const SLA_BREACH: &str = "sla_breach";

/// When the ticket's clocks breached, or breach if they keep running
/// ([`crate::sla::Clock::breach_instant`]; only kept breaches once the
/// ticket is no longer worked), each instant once. A running clock's entry
/// lies ahead until its due time passes, so a count of the instants up to
/// now is the breaches by now, without rewriting the ticket when it
/// breaches.
pub fn breach_instants(ticket: &Ticket) -> std::collections::BTreeSet<DateTime<Utc>> {
    let Some(sla) = &ticket.sla else {
        return Default::default();
    };
    let Ok(calendar) = BusinessCalendar::shared(&sla.calendar) else {
        return Default::default();
    };
    [&sla.response, &sla.resolution]
        .into_iter()
        .filter(|clock| ticket.status.is_active() || clock.breached)
        .filter_map(|clock| clock.breach_instant(&calendar))
        .collect()
}

/// The per-org ticket counter.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCounter {
    pub id: Uuid,
    pub org: OrgId,
    pub last: u64,
}

impl Entity for TicketCounter {
    const KIND: &'static str = "ticket_counter";
    const NAME: &'static str = "ticket counter";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::unique("counter", "tickets")]
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub org: OrgId,
    pub ticket: TicketId,
    pub author: UserId,
    pub body: String,
    /// Internal notes are for staff only.
    pub public: bool,
    pub created_at: DateTime<Utc>,
}

impl Entity for Comment {
    const KIND: &'static str = "ticket_comment";
    const NAME: &'static str = "comment";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::multi("ticket", self.ticket.to_string())]
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// What the ticket is about (the ticket's `title`); errors name it
    /// `subject`, as the API does.
    pub subject: String,
    #[serde(default)]
    pub description: String,
    pub priority: Priority,
    /// Staff may open a ticket for someone; a requester's own ticket is theirs.
    pub requester: Option<UserId>,
}

/// A clock at an instant, as a user sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockView {
    pub due: Option<DateTime<Utc>>,
    pub consumed_minutes: i64,
    pub remaining_minutes: i64,
    pub running: bool,
    pub met_at: Option<DateTime<Utc>>,
    pub breached: bool,
    /// Where the clock stands, in one word: what a badge shows.
    pub state: ClockState,
}

/// Where an SLA clock stands at an instant. A clock met late is `Met`
/// with [`ClockView::breached`] set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Stopped: the response was given, or the ticket resolved.
    Met,
    /// Running (or paused) past its due time.
    Breached,
    /// Paused (the ticket waits on the client), not past due.
    Paused,
    /// Running, due within [`super::queue::AT_RISK_WITHIN`]: the same
    /// rule as the queue's "at risk" filter.
    AtRisk,
    /// Running, due later.
    OnTrack,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaView {
    pub policy: SlaPolicyId,
    pub revision: u32,
    pub response: ClockView,
    pub resolution: ClockView,
}

/// An escalation due to fire.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueEscalation {
    pub ticket: TicketId,
    pub key: String,
    pub rule: EscalationRule,
    pub at: DateTime<Utc>,
}

fn clock_view(clock: &Clock, calendar: &BusinessCalendar, now: DateTime<Utc>) -> ClockView {
    let due = clock.due(calendar);
    let running = clock.is_running();
    let breached = clock.is_breached(calendar, now);
    let state = if clock.stopped_at.is_some() {
        ClockState::Met
    } else if breached {
        ClockState::Breached
    } else if !running {
        ClockState::Paused
    } else if due.is_some_and(|d| d < now + super::queue::AT_RISK_WITHIN) {
        ClockState::AtRisk
    } else {
        ClockState::OnTrack
    };
    ClockView {
        due,
        consumed_minutes: clock.consumed(calendar, now).num_minutes(),
        remaining_minutes: clock.remaining(calendar, now).num_minutes(),
        running,
        met_at: clock.stopped_at,
        breached,
        state,
    }
}

/// A ticket's SLA at `now`: due instants, time used and left, running or
/// paused, breached or not.
pub fn sla_view(ticket: &Ticket, now: DateTime<Utc>) -> Result<Option<SlaView>> {
    let Some(sla) = &ticket.sla else {
        return Ok(None);
    };
    let calendar = BusinessCalendar::shared(&sla.calendar)?;
    Ok(Some(SlaView {
        policy: sla.policy,
        revision: sla.revision,
        response: clock_view(&sla.response, &calendar, now),
        resolution: clock_view(&sla.resolution, &calendar, now),
    }))
}

/// The escalations of a ticket that are due at `now` and have not fired.
/// Thresholds are in business time from the clock's state, so they move
/// with every pause; a stopped clock escalates no more.
pub fn escalations_due(
    ticket: &Ticket,
    calendar: &BusinessCalendar,
    now: DateTime<Utc>,
) -> Vec<DueEscalation> {
    let Some(sla) = &ticket.sla else {
        return Vec::new();
    };
    if !ticket.status.is_active() {
        return Vec::new();
    }
    let mut due = Vec::new();
    for (i, rule) in sla.escalations.iter().enumerate() {
        let clock = match rule.clock {
            ClockKind::Response => &sla.response,
            ClockKind::Resolution => &sla.resolution,
        };
        let key = rule_key(i, rule);
        if clock.stopped_at.is_some() || sla.fired.contains(&key) {
            continue;
        }
        if let Some(at) = rule_instant(rule, clock, calendar)
            && at <= now
        {
            due.push(DueEscalation {
                ticket: ticket.id,
                key,
                rule: rule.clone(),
                at,
            });
        }
    }
    due
}

/// The index of active tickets by the instant their next escalation or
/// SLA breach comes due (see [`next_escalation`]).
pub const NEXT_ESCALATION: &str = "next_escalation";

/// Tickets read per page by the escalation sweep.
const ESCALATION_PAGE: usize = 200;

/// An instant as a `next_escalation` value ([`store::time_value`]).
pub fn escalation_key(at: DateTime<Utc>) -> String {
    store::time_value(at)
}

/// The instant a rule's threshold is reached on a clock, if the clock runs.
fn rule_instant(
    rule: &EscalationRule,
    clock: &Clock,
    calendar: &BusinessCalendar,
) -> Option<DateTime<Utc>> {
    let threshold = match rule.trigger {
        Trigger::Percent { percent } => clock.target_secs * i64::from(percent) / 100,
        Trigger::BeforeBreach { minutes } => (clock.target_secs - i64::from(minutes) * 60).max(0),
        Trigger::AtBreach => clock.target_secs,
    };
    clock.instant_of(calendar, threshold)
}

/// The key under which a rule records in `fired` that it fired.
fn rule_key(index: usize, rule: &EscalationRule) -> String {
    format!(
        "{index}:{}",
        if rule.clock == ClockKind::Response {
            "response"
        } else {
            "resolution"
        }
    )
}

/// The earliest instant at which the escalation sweep has something to do
/// for this ticket: an escalation rule not yet fired reaching its threshold
/// on a running clock, or a clock reaching its target whose breach the
/// assignee was not told of (a paused clock already past its target is due at once,
/// the Unix epoch). `None` when nothing can fire: the ticket is not active,
/// has no SLA, every rule fired, or its clocks are stopped or paused short
/// of their targets (a clock that starts again is a change of the ticket,
/// which writes the index again).
///
/// The rule of what fires stays [`escalations_due`] (and the breach notice
/// of the sweep); this is only where to look: for every ticket and instant
/// `now`, if either has something at `now`, this is at or before `now`.
pub fn next_escalation(ticket: &Ticket, calendar: &BusinessCalendar) -> Option<DateTime<Utc>> {
    let sla = ticket.sla.as_ref()?;
    if !ticket.status.is_active() {
        return None;
    }
    let clock_of = |kind: ClockKind| match kind {
        ClockKind::Response => &sla.response,
        ClockKind::Resolution => &sla.resolution,
    };
    let rules = sla
        .escalations
        .iter()
        .enumerate()
        .filter(|(i, rule)| {
            clock_of(rule.clock).stopped_at.is_none() && !sla.fired.contains(&rule_key(*i, rule))
        })
        .filter_map(|(_, rule)| rule_instant(rule, clock_of(rule.clock), calendar));
    let breaches = [ClockKind::Response, ClockKind::Resolution]
        .into_iter()
        .filter(|_| ticket.assignee.is_some())
        .filter(|kind| !sla.fired.contains(&breach_key(*kind)))
        .map(clock_of)
        .filter(|clock| clock.stopped_at.is_none())
        .filter_map(|clock| {
            if clock.is_running() {
                // The breach notice counts whole seconds (`Clock::consumed`).
                clock.due(calendar).map(|due| due.trunc_subsecs(0))
            } else {
                // Paused: its consumed time stands still, past the target or not.
                (clock.consumed_secs >= clock.target_secs).then_some(DateTime::UNIX_EPOCH)
            }
        });
    rules.chain(breaches).min()
}

impl Regentra {
    /// Opens a ticket: the next number of the org, and the SLA of the org's
    /// policy (copied, with its revision) with both clocks running.
    pub async fn create_ticket(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewTicket,
    ) -> Result<Ticket> {
        self.create_ticket_with_attachments(principal, org, new, Vec::new())
            .await
    }

    /// [`Self::create_ticket`] with files the caller staged
    /// ([`Self::stage_attachment`]): the ticket and its files commit
    /// together; on failure the staged files are deleted.
    pub async fn create_ticket_with_attachments(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewTicket,
        files: Vec<StagedAttachment>,
    ) -> Result<Ticket> {
        let result = self
            .create_ticket_with(principal, org, new, &files, |_, _| Ok(()))
            .await;
        if result.is_err() {
            self.discard_attachments(files).await;
        }
        result
    }

    /// Opens a ticket as [`Regentra::create_ticket`] does, with `files`
    /// staged by the caller; `more` adds to the ticket's commit what must
    /// be written with it (a chat that records the ticket it became), so
    /// that both happen or neither. It may be called more than once (a
    /// retried commit), each time with a fresh change set; the ticket's
    /// number is not drawn yet when it runs.
    pub(crate) async fn create_ticket_with(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewTicket,
        files: &[StagedAttachment],
        mut more: impl FnMut(&Ticket, &mut ChangeSet) -> Result<()> + Send,
    ) -> Result<Ticket> {
        let grant = self
            .authorize(principal, org, Permission::TicketsSubmit)
            .await?;
        let title = validate_name("subject", &new.subject)?;
        let requester = match new.requester {
            Some(other) if other != principal.user => {
                // Opening a ticket for someone else is staff work.
                self.authorize_all(principal, org, Permission::TicketsManage)
                    .await?;
                if self.membership(org, other).await?.is_none() {
                    return Err(Error::invalid(
                        "requester",
                        "must be a member of the organization",
                    ));
                }
                other
            }
            _ => principal.user,
        };
        let policy = self.effective_sla_policy(org).await?;
        // The number is drawn from the org's counter inside the store's
        // transaction, so concurrent creations queue rather than collide.
        // Only the org's very first ticket creates the counter; two first
        // tickets at once: one creates it, the other draws from it.
        for _ in 0..2 {
            let counter = store::find_unique::<TicketCounter>(
                self.store(),
                Scope::Org(org),
                "counter",
                "tickets",
            )
            .await?;
            let now = self.now();
            let mut ticket = Ticket {
                id: TicketId(self.new_id()),
                org,
                number: 1,
                title: title.clone(),
                description: new.description.clone(),
                requester,
                assignee: None,
                priority: new.priority,
                status: TicketStatus::New,
                sla: policy.as_ref().map(|p| terms(p, new.priority, now)),
                assets: BTreeSet::new(),
                created_at: now,
                updated_at: now,
                resolved_at: None,
            };
            let mut changes = ChangeSet::new();
            match &counter {
                Some(counter) => {
                    changes.draw(Draw {
                        scope: Scope::Org(org),
                        counter_kind: TicketCounter::KIND,
                        counter_id: counter.value.id,
                        counter_field: "last",
                        kind: Ticket::KIND,
                        id: ticket.id.0,
                        field: "number",
                        index: Some("number"),
                    });
                }
                None => {
                    changes.insert(&TicketCounter {
                        id: self.new_id(),
                        org,
                        last: 1,
                    })?;
                }
            }
            changes.insert(&ticket)?;
            // A new ticket holds no file yet.
            let attached =
                self.attachment_records(principal, &ticket, None, files, TicketFiles::default())?;
            for record in &attached {
                changes.insert(record)?;
            }
            let mut details = json!({ "number": ticket.number, "priority": ticket.priority, "requester": requester });
            if !attached.is_empty() {
                details["attachments"] = attachment_details(&attached);
            }
            changes.audit(self.event(
                principal,
                &grant,
                "ticket.created",
                Target::new(Ticket::KIND, ticket.id),
                details,
            ));
            more(&ticket, &mut changes)?;
            match self.store().apply(changes).await {
                Ok(applied) => {
                    if let Some(number) = applied.drawn.first() {
                        ticket.number = *number;
                    }
                    return Ok(ticket);
                }
                // Another first ticket created the counter: draw from it.
                Err(Error::AlreadyExists { .. }) if counter.is_none() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict {
            what: "ticket counter".into(),
        })
    }

    /// One ticket. A requester limited to their own tickets sees only those.
    pub async fn ticket(&self, principal: &Principal, org: OrgId, id: TicketId) -> Result<Ticket> {
        let grant = self.ticket_reader(principal, org).await?;
        let ticket = store::require::<Ticket>(self.store(), Scope::Org(org), id.0)
            .await?
            .value;
        if grant.access != Access::All && ticket.requester != principal.user {
            return Err(Error::NotFound { what: Ticket::NAME });
        }
        Ok(ticket)
    }

    /// The ticket's SLA now.
    pub async fn ticket_sla(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
    ) -> Result<Option<SlaView>> {
        let ticket = self.ticket(principal, org, id).await?;
        sla_view(&ticket, self.now())
    }

    /// Moves a ticket through its lifecycle; the SLA clocks follow: pending
    /// pauses them, leaving pending resumes them, resolving or closing stops
    /// them, reopening restarts the resolution clock with the time it had.
    pub async fn set_ticket_status(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        status: TicketStatus,
    ) -> Result<Ticket> {
        let grant = self
            .authorize_all(principal, org, Permission::TicketsManage)
            .await?;
        let mut t: Versioned<Ticket> = store::require(self.store(), Scope::Org(org), id.0).await?;
        let from = t.value.status;
        if from == status {
            return Ok(t.value);
        }
        if status == TicketStatus::Reopened && from.is_active() {
            return Err(Error::invalid(
                "status",
                "only a resolved or closed ticket can be reopened",
            ));
        }
        if from == TicketStatus::Closed && status != TicketStatus::Reopened {
            return Err(Error::invalid(
                "status",
                "a closed ticket can only be reopened",
            ));
        }
        let now = self.now();
        if let Some(sla) = t.value.sla.as_mut() {
            let calendar = BusinessCalendar::shared(&sla.calendar)?;
            match status {
                TicketStatus::Pending => {
                    sla.response.pause(&calendar, now);
                    sla.resolution.pause(&calendar, now);
                }
                TicketStatus::Resolved | TicketStatus::Closed => {
                    sla.response.stop(&calendar, now);
                    sla.resolution.stop(&calendar, now);
                }
                TicketStatus::Reopened => sla.resolution.restart(now),
                TicketStatus::New | TicketStatus::Open => {
                    sla.response.resume(now);
                    sla.resolution.resume(now);
                }
            }
        }
        t.value.status = status;
        t.value.updated_at = now;
        match status {
            TicketStatus::Resolved => t.value.resolved_at = Some(now),
            TicketStatus::Closed => {
                t.value.resolved_at.get_or_insert(now);
            }
            _ => t.value.resolved_at = None,
        }
        self.commit_ticket(
            principal,
            &grant,
            t,
            "ticket.status_changed",
            json!({ "from": from, "to": status }),
        )
        .await
    }

    /// Reopens a resolved or closed ticket. Staff (`tickets.manage`) reopen
    /// any, as [`Self::set_ticket_status`] does. A requester reopens their
    /// own ticket while [`requester_may_reopen`] allows it (resolved, within
    /// [`REOPEN_WINDOW`]; a closed ticket stays closed for them), audited
    /// `ticket.reopened`; either way the resolution clock runs again with
    /// the time it had used, and the first-response clock stays as it was.
    pub async fn reopen_ticket(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
    ) -> Result<Ticket> {
        // The ticket first: someone who may not read it learns nothing more.
        self.ticket(principal, org, id).await?;
        if self
            .authorize_all(principal, org, Permission::TicketsManage)
            .await
            .is_ok()
        {
            return self
                .set_ticket_status(principal, org, id, TicketStatus::Reopened)
                .await;
        }
        let grant = self
            .authorize(principal, org, Permission::TicketsSubmit)
            .await?;
        let mut t: Versioned<Ticket> = store::require(self.store(), Scope::Org(org), id.0).await?;
        if t.value.requester != principal.user {
            return Err(Error::NotFound { what: Ticket::NAME });
        }
        let now = self.now();
        if let Err(why) = requester_may_reopen(&t.value, now) {
            return Err(Error::invalid("status", format!("this ticket {why}")));
        }
        let from = t.value.status;
        if let Some(sla) = t.value.sla.as_mut() {
            sla.resolution.restart(now);
        }
        t.value.status = TicketStatus::Reopened;
        t.value.resolved_at = None;
        t.value.updated_at = now;
        self.commit_ticket(
            principal,
            &grant,
            t,
            "ticket.reopened",
            json!({ "from": from, "by": "requester" }),
        )
        .await
    }

    /// Assigns a ticket to someone who works the org's tickets: the same
    /// rule as an escalation's `reassign` (a role holding `tickets.manage`
    /// over every ticket, through a membership of the org or its MSP's
    /// delegation), so an MSP's admin can take a ticket and an employee
    /// cannot be given one.
    pub async fn assign_ticket(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        assignee: UserId,
    ) -> Result<Ticket> {
        let grant = self
            .authorize_all(principal, org, Permission::TicketsManage)
            .await?;
        if let Some((_, problem)) = self
            .escalation_target_problem(org, &Action::Reassign { user: assignee })
            .await?
        {
            return Err(Error::invalid("assignee", problem));
        }
        let mut t: Versioned<Ticket> = store::require(self.store(), Scope::Org(org), id.0).await?;
        t.value.assignee = Some(assignee);
        if t.value.status == TicketStatus::New {
            t.value.status = TicketStatus::Open;
        }
        t.value.updated_at = self.now();
        self.commit_ticket(
            principal,
            &grant,
            t,
            "ticket.assigned",
            json!({ "assignee": assignee }),
        )
        .await
    }

    /// Changes the priority: the time already used stays, the new tier's
    /// targets apply from now on.
    pub async fn set_ticket_priority(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        priority: Priority,
    ) -> Result<Ticket> {
        let grant = self
            .authorize_all(principal, org, Permission::TicketsManage)
            .await?;
        let mut t: Versioned<Ticket> = store::require(self.store(), Scope::Org(org), id.0).await?;
        let from = t.value.priority;
        retarget(&mut t.value, priority);
        t.value.updated_at = self.now();
        self.commit_ticket(
            principal,
            &grant,
            t,
            "ticket.priority_changed",
            json!({ "from": from, "to": priority }),
        )
        .await
    }

    /// Adds a comment. Internal notes are staff-only; the first public reply
    /// by staff stops the first-response clock.
    pub async fn add_comment(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        body: &str,
        public: bool,
    ) -> Result<Comment> {
        self.add_comment_with_attachments(principal, org, id, body, public, Vec::new())
            .await
    }

    /// [`Self::add_comment`] with files the caller staged: the comment and
    /// its files (which take its visibility) commit together; on failure
    /// the staged files are deleted.
    pub async fn add_comment_with_attachments(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        body: &str,
        public: bool,
        files: Vec<StagedAttachment>,
    ) -> Result<Comment> {
        let result = self
            .write_comment(principal, org, id, body, public, &files)
            .await;
        if result.is_err() {
            self.discard_attachments(files).await;
        }
        result
    }

    async fn write_comment(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        body: &str,
        public: bool,
        files: &[StagedAttachment],
    ) -> Result<Comment> {
        let ticket = self.ticket(principal, org, id).await?;
        let staff = self
            .authorize_all(principal, org, Permission::TicketsManage)
            .await
            .ok();
        let grant = match &staff {
            Some(g) => *g,
            None if public => {
                self.authorize(principal, org, Permission::TicketsSubmit)
                    .await?
            }
            None => {
                return Err(Error::PermissionDenied {
                    permission: Permission::TicketsManage.key(),
                });
            }
        };
        if body.trim().is_empty() {
            return Err(Error::invalid("body", "must not be empty"));
        }
        // A requester writes on a ticket that is being worked on; a
        // resolved one is reopened first (within its window), a closed one
        // is over. Staff may still note on any ticket.
        if staff.is_none() && !ticket.status.is_active() {
            return Err(Error::invalid(
                "ticket",
                "is resolved or closed: reopen it (or open a new ticket) to write again",
            ));
        }
        let now = self.now();
        let comment = Comment {
            id: CommentId(self.new_id()),
            org,
            ticket: id,
            author: principal.user,
            body: body.to_owned(),
            public,
            created_at: now,
        };
        let mut t: Versioned<Ticket> =
            store::require(self.store(), Scope::Org(org), ticket.id.0).await?;
        let staff_reply = staff.is_some() && public && principal.user != t.value.requester;
        if staff_reply {
            if let Some(sla) = t.value.sla.as_mut() {
                let calendar = BusinessCalendar::shared(&sla.calendar)?;
                sla.response.stop(&calendar, now);
            }
            if t.value.status == TicketStatus::New {
                t.value.status = TicketStatus::Open;
            }
        }
        t.value.updated_at = now;
        let so_far = if files.is_empty() {
            TicketFiles::default()
        } else {
            self.ticket_files(org, id).await?
        };
        let attached =
            self.attachment_records(principal, &t.value, Some(&comment), files, so_far)?;
        let mut changes = ChangeSet::new();
        changes.insert(&comment)?;
        for record in &attached {
            changes.insert(record)?;
        }
        if staff_reply {
            // The requester hears of a public staff reply (never of a note).
            self.tell_requester(&mut changes, &t.value, &comment)
                .await?;
        }
        changes.update(&t)?;
        changes.audit(self.event(
            principal,
            &grant,
            if public {
                "ticket.replied"
            } else {
                "ticket.noted"
            },
            Target::new(Ticket::KIND, id),
            if attached.is_empty() {
                json!({ "comment": comment.id, "public": public })
            } else {
                json!({ "comment": comment.id, "public": public, "attachments": attachment_details(&attached) })
            },
        ));
        self.store().apply(changes).await?;
        Ok(comment)
    }

    /// A page of a ticket's conversation, oldest first, read by the store
    /// a page at a time: everything for staff, the public replies for the
    /// requester (internal notes are skipped as the pages are read; a
    /// ticket's conversation is short).
    pub async fn comments(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Vec<Comment>> {
        self.ticket(principal, org, id).await?;
        let staff = self
            .authorize_all(principal, org, Permission::TicketsRead)
            .await
            .is_ok();
        let limit = page.effective_limit();
        let mut out = Vec::with_capacity(limit);
        let mut after = page.after;
        loop {
            let found = store::find::<Comment>(
                self.store(),
                Scope::Org(org),
                "ticket",
                &id.to_string(),
                PageRequest::after(after, limit),
            )
            .await?;
            let full = found.len() == limit;
            after = found.last().map(|c| c.value.id.0);
            out.extend(
                found
                    .into_iter()
                    .map(|v| v.value)
                    .filter(|c| staff || c.public),
            );
            if out.len() >= limit || !full {
                out.truncate(limit);
                return Ok(out);
            }
        }
    }

    /// A ticket's audit trail, oldest first: the org's events about the
    /// ticket (its creation, status, priority and assignment changes,
    /// replies and notes, files, linked assets, escalations) and about its
    /// time entries, for those who read the org's audit log or work its
    /// tickets (`audit.read` or `tickets.manage` over every record). Found
    /// by the store's index of events by target
    /// ([`crate::store::Store::audit_events_about`]), so a page costs the
    /// ticket's events, not the org's chain; paged after a sequence number.
    /// Another org's ticket is `NotFound`.
    pub async fn ticket_audit_trail(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<store::Listing<AuditEvent, u64>> {
        match self
            .authorize_all(principal, org, Permission::AuditRead)
            .await
        {
            Ok(_) => {}
            Err(Error::PermissionDenied { .. }) => {
                self.authorize_all(principal, org, Permission::TicketsManage)
                    .await?;
            }
            Err(e) => return Err(e),
        }
        let scope = Scope::Org(org);
        store::require::<Ticket>(self.store(), scope, id.0).await?;
        let mut about = vec![Target::new(Ticket::KIND, id)];
        about.extend(
            store::find_all::<TimeEntry>(self.store(), scope, "ticket", &id.to_string())
                .await?
                .into_iter()
                .map(|e| Target::new(TimeEntry::KIND, e.value.id)),
        );
        let limit = limit.clamp(1, store::MAX_PAGE);
        let events = self
            .store()
            .audit_events_about(org, &about, after, store::lookahead(limit))
            .await?;
        Ok(store::Listing::of(events, limit, |e| e.seq))
    }

    /// Every escalation due now across the org's active tickets (those
    /// whose `next_escalation` is past; no other ticket is read).
    pub async fn escalations_due(&self, org: OrgId) -> Result<Vec<DueEscalation>> {
        let now = self.now();
        let mut due = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = self.tickets_to_escalate(org, now, after).await?;
            for t in page {
                if let Some(sla) = &t.value.sla {
                    let calendar = BusinessCalendar::shared(&sla.calendar)?;
                    due.extend(escalations_due(&t.value, &calendar, now));
                }
            }
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(due),
            }
        }
    }

    /// A page of the org's tickets whose `next_escalation` is at or before
    /// `now`, soonest first, after `after`.
    async fn tickets_to_escalate(
        &self,
        org: OrgId,
        now: DateTime<Utc>,
        after: Option<ScanCursor>,
    ) -> Result<(Vec<Versioned<Ticket>>, Option<ScanCursor>)> {
        let scan = IndexScan::between(
            NEXT_ESCALATION,
            Bound::Unbounded,
            Bound::Included(escalation_key(now)),
        )
        .after(after)
        .limit(ESCALATION_PAGE);
        store::scan::<Ticket>(self.store(), Scope::Org(org), &scan).await
    }

    /// Fires every due escalation once: its action and the record that it
    /// fired commit together, so a second sweep finds nothing to do. A
    /// system operation for the scheduler; returns what fired.
    ///
    /// A clock that reaches its target also tells the ticket's assignee,
    /// once per clock (recorded in `fired` as `breach:{clock}`), whatever
    /// the rules say.
    pub async fn run_escalations(&self, org: OrgId) -> Result<Vec<DueEscalation>> {
        let now = self.now();
        let mut fired = Vec::new();
        let mut sender = None;
        // Page by page: a ticket that fires is written with its next
        // instant, later than `now`, so it leaves the range behind the cursor.
        let mut after = None;
        loop {
            let (page, next) = self.tickets_to_escalate(org, now, after).await?;
            self.escalate_page(org, now, page, &mut sender, &mut fired)
                .await?;
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(fired),
            }
        }
    }

    /// Fires what is due on each ticket of a page (see [`Regentra::run_escalations`]).
    async fn escalate_page(
        &self,
        org: OrgId,
        now: DateTime<Utc>,
        page: Vec<Versioned<Ticket>>,
        sender: &mut Option<Sender>,
        fired: &mut Vec<DueEscalation>,
    ) -> Result<()> {
        for mut t in page {
            let Some(sla) = &t.value.sla else { continue };
            let calendar = BusinessCalendar::shared(&sla.calendar)?;
            let due = escalations_due(&t.value, &calendar, now);
            let breaches = untold_breaches(&t.value, &calendar, now);
            if due.is_empty() && breaches.is_empty() {
                continue;
            }
            let sender = match sender {
                Some(s) => &*s,
                None => &*sender.insert(self.sender(org).await?),
            };
            let mut changes = ChangeSet::new();
            let mut told = BTreeSet::new();
            for d in &due {
                self.escalate(
                    &mut changes,
                    sender,
                    &calendar,
                    &mut t.value,
                    d,
                    now,
                    &mut told,
                )
                .await?;
            }
            for clock in breaches {
                let Some(assignee) = t.value.assignee else {
                    continue;
                };
                if told.insert((assignee, NotificationKind::SlaBreach, clock)) {
                    let (payload, content) = sla_message(&t.value, &calendar, clock, None);
                    self.notify_person(
                        &mut changes,
                        sender,
                        assignee,
                        NotificationKind::SlaBreach,
                        payload,
                        content,
                    )
                    .await?;
                }
                if let Some(sla) = t.value.sla.as_mut() {
                    sla.fired.insert(breach_key(clock));
                }
            }
            if let Some(sla) = t.value.sla.as_mut() {
                let breached_response = sla.response.is_breached(&calendar, now);
                let breached_resolution = sla.resolution.is_breached(&calendar, now);
                sla.response.breached |= breached_response;
                sla.resolution.breached |= breached_resolution;
            }
            changes.update(&t)?;
            changes.audit(self.event_in(
                org,
                Actor::system(),
                &Principal::system(),
                if due.is_empty() {
                    "ticket.sla_breached"
                } else {
                    "ticket.escalated"
                },
                Target::new(Ticket::KIND, t.value.id),
                json!({ "escalations": due.iter().map(|d| &d.key).collect::<Vec<_>>() }),
            ));
            // A concurrent change to the ticket wins; the next sweep retries.
            match self.store().apply(changes).await {
                Ok(_) => fired.extend(due),
                Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One escalation's action. A notifying rule tells its targets and the
    /// ticket's assignee (each person once per kind and clock in the
    /// commit, `told`): a warning before the target, a breach at it.
    #[allow(clippy::too_many_arguments)]
    async fn escalate(
        &self,
        changes: &mut ChangeSet,
        sender: &Sender,
        calendar: &BusinessCalendar,
        ticket: &mut Ticket,
        due: &DueEscalation,
        now: DateTime<Utc>,
        told: &mut BTreeSet<(UserId, NotificationKind, ClockKind)>,
    ) -> Result<()> {
        let payload = json!({ "ticket": ticket.id, "number": ticket.number, "title": ticket.title, "escalation": due.key, "at": due.at });
        let kind = if due.rule.trigger == Trigger::AtBreach {
            NotificationKind::SlaBreach
        } else {
            NotificationKind::SlaWarning
        };
        // The target qualified when the policy was saved; check again in the
        // ticket's own org, now. One who no longer does is skipped (and the
        // skip audited); the escalation still counts as fired.
        if let Some((field, reason)) = self
            .escalation_target_problem(ticket.org, &due.rule.action)
            .await?
        {
            let named = match &due.rule.action {
                Action::NotifyUser { user } | Action::Reassign { user } => json!(user),
                Action::NotifyRole { role } => json!(role),
                Action::RaisePriority | Action::Webhook { .. } => json!(null),
            };
            changes.audit(self.event_in(
                ticket.org,
                Actor::system(),
                &Principal::system(),
                "ticket.escalation_skipped",
                Target::new(Ticket::KIND, ticket.id),
                json!({
                    "escalation": due.key,
                    "action": due.rule.action.kind(),
                    field: named,
                    "reason": format!("the {field} no longer qualifies: {reason}"),
                }),
            ));
            if let Some(sla) = ticket.sla.as_mut() {
                sla.fired.insert(due.key.clone());
            }
            ticket.updated_at = now;
            return Ok(());
        }
        let mut recipients = Vec::new();
        match &due.rule.action {
            Action::NotifyUser { user } => recipients.push(*user),
            Action::NotifyRole { role } => {
                for m in store::find_all::<Membership>(
                    self.store(),
                    Scope::Platform,
                    "org",
                    &ticket.org.to_string(),
                )
                .await?
                {
                    if m.value.role == *role {
                        recipients.push(m.value.user);
                    }
                }
            }
            Action::Reassign { user } => ticket.assignee = Some(*user),
            Action::RaisePriority => {
                let raised = ticket.priority.raised();
                retarget(ticket, raised);
            }
            Action::Webhook { url } => {
                changes.insert(&self.notification(
                    ticket.org,
                    None,
                    NotificationKind::Webhook,
                    json!({ "url": url, "event": payload }),
                ))?;
            }
        }
        if !recipients.is_empty() {
            recipients.extend(ticket.assignee);
            let (_, content) = sla_message(ticket, calendar, due.rule.clock, Some(due));
            for user in recipients {
                if told.insert((user, kind, due.rule.clock)) {
                    self.notify_person(
                        changes,
                        sender,
                        user,
                        kind,
                        payload.clone(),
                        content.clone(),
                    )
                    .await?;
                }
            }
            if kind == NotificationKind::SlaBreach
                && let Some(sla) = ticket.sla.as_mut()
            {
                // The assignee heard of this breach: not again on its own.
                sla.fired.insert(breach_key(due.rule.clock));
            }
        }
        if let Some(sla) = ticket.sla.as_mut() {
            sla.fired.insert(due.key.clone());
        }
        ticket.updated_at = now;
        Ok(())
    }

    /// A staff reply on a ticket, to its requester: in their inbox and by
    /// email, with the reply and the link to the ticket in their portal (or
    /// the web interface when the org has no portal).
    async fn tell_requester(
        &self,
        changes: &mut ChangeSet,
        ticket: &Ticket,
        comment: &Comment,
    ) -> Result<()> {
        let sender = self.sender(ticket.org).await?;
        let replier =
            store::load::<crate::tenancy::User>(self.store(), Scope::Platform, comment.author.0)
                .await?
                .map(|u| u.value.display_name)
                .unwrap_or_default();
        let link = match self.portal_path(ticket.org).await? {
            Some(portal) => format!("{portal}/tickets/{}", ticket.id),
            None => staff_ticket_path(ticket),
        };
        self.notify_person(
            changes,
            &sender,
            ticket.requester,
            NotificationKind::TicketReply,
            json!({ "ticket": ticket.id, "number": ticket.number, "title": ticket.title, "comment": comment.id }),
            json!({
                "ticket_number": ticket.number,
                "ticket_subject": ticket.title,
                "replier_name": replier,
                "reply": excerpt(&comment.body),
                "link": link,
            }),
        )
        .await
    }

    pub(crate) async fn ticket_reader(&self, principal: &Principal, org: OrgId) -> Result<Grant> {
        match self
            .authorize(principal, org, Permission::TicketsRead)
            .await
        {
            Ok(g) => Ok(g),
            Err(Error::PermissionDenied { .. }) => self
                .authorize(principal, org, Permission::TicketsSubmit)
                .await
                .map(|g| Grant {
                    access: Access::Own,
                    ..g
                }),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn commit_ticket(
        &self,
        principal: &Principal,
        grant: &Grant,
        ticket: Versioned<Ticket>,
        action: &str,
        details: serde_json::Value,
    ) -> Result<Ticket> {
        let mut changes = ChangeSet::new();
        changes.update(&ticket)?;
        changes.audit(self.event(
            principal,
            grant,
            action,
            Target::new(Ticket::KIND, ticket.value.id),
            details,
        ));
        self.store().apply(changes).await?;
        Ok(ticket.value)
    }
}

/// The start of a message, as an email quotes it.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 2000;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// Where staff open a ticket: a path of the server's web interface.
pub fn staff_ticket_path(ticket: &Ticket) -> String {
    format!("/app/{}/tickets/{}", ticket.org, ticket.id)
}

/// The `fired` key that records a clock's breach was told to the assignee.
fn breach_key(clock: ClockKind) -> String {
    match clock {
        ClockKind::Response => "breach:response".into(),
        ClockKind::Resolution => "breach:resolution".into(),
    }
}

/// The clocks of an active ticket that reached their target at `now` and
/// whose breach its assignee was not told of yet. An unassigned ticket's
/// breach waits for an assignee (assigning writes the ticket, and with it
/// its `next_escalation`), rather than being looked at by every sweep.
pub fn untold_breaches(
    ticket: &Ticket,
    calendar: &BusinessCalendar,
    now: DateTime<Utc>,
) -> Vec<ClockKind> {
    let Some(sla) = &ticket.sla else {
        return Vec::new();
    };
    if ticket.assignee.is_none() {
        return Vec::new();
    }
    [
        (ClockKind::Response, &sla.response),
        (ClockKind::Resolution, &sla.resolution),
    ]
    .into_iter()
    .filter(|(kind, clock)| {
        clock.stopped_at.is_none()
            && clock.consumed(calendar, now).num_seconds() >= clock.target_secs
            && !sla.fired.contains(&breach_key(*kind))
    })
    .map(|(kind, _)| kind)
    .collect()
}

/// An SLA notification's inbox payload and email content: the ticket's
/// number and subject, the clock, when it is (or was) due, and the link.
fn sla_message(
    ticket: &Ticket,
    calendar: &BusinessCalendar,
    clock: ClockKind,
    due: Option<&DueEscalation>,
) -> (serde_json::Value, serde_json::Value) {
    let sla_clock = ticket.sla.as_ref().map(|sla| match clock {
        ClockKind::Response => &sla.response,
        ClockKind::Resolution => &sla.resolution,
    });
    let clock_name = match clock {
        ClockKind::Response => "response",
        ClockKind::Resolution => "resolution",
    };
    let payload = json!({
        "ticket": ticket.id,
        "number": ticket.number,
        "title": ticket.title,
        "escalation": due.map(|d| &d.key),
        "clock": clock_name,
    });
    let content = json!({
        "ticket_number": ticket.number,
        "ticket_subject": ticket.title,
        "priority": ticket.priority,
        "clock": clock_name,
        "due": sla_clock.and_then(|c| c.due(calendar)),
        "link": staff_ticket_path(ticket),
    });
    (payload, content)
}

/// The SLA terms a new ticket copies from its policy.
fn terms(policy: &SlaPolicy, priority: Priority, now: DateTime<Utc>) -> SlaTerms {
    let targets = policy.targets.get(&priority).copied().unwrap_or(Targets {
        first_response_minutes: u32::MAX / 2,
        resolution_minutes: u32::MAX / 2,
    });
    SlaTerms {
        policy: policy.id,
        revision: policy.revision,
        calendar: policy.calendar.clone(),
        targets: policy.targets.clone(),
        escalations: policy.escalations.clone(),
        response: Clock::start(
            Duration::minutes(i64::from(targets.first_response_minutes)),
            now,
        ),
        resolution: Clock::start(
            Duration::minutes(i64::from(targets.resolution_minutes)),
            now,
        ),
        fired: BTreeSet::new(),
    }
}

/// Applies a priority's targets to a ticket's clocks, keeping time used.
fn retarget(ticket: &mut Ticket, priority: Priority) {
    ticket.priority = priority;
    if let Some(sla) = ticket.sla.as_mut()
        && let Some(t) = sla.targets.get(&priority).copied()
    {
        sla.response
            .retarget(Duration::minutes(i64::from(t.first_response_minutes)));
        sla.resolution
            .retarget(Duration::minutes(i64::from(t.resolution_minutes)));
    }
}
