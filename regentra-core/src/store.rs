//! The storage contract every adapter implements, and the typed layer the
//! services use on top of it.
//!
//! The contract is deliberately small (see ARCHITECTURE.md, "Store contract"):
//! records are typed values the core serializes, each living in a [`Scope`]
//! (the platform directory or one tenant), identified by `(scope, kind, id)`,
//! carrying an optimistic version and the secondary-index entries the core
//! computed for it. Reads are `get` and `get_many` (by id), `list` (by id),
//! `find` (one index value) and `scan` (an ordered range of index values,
//! either way, keyset-paged), `count` (how many records an index range
//! holds) and, for audit chains, `audit_events` (oldest first),
//! `audit_events_before` (newest first) and `audit_events_about` (those
//! about some records, by target); `read` runs several of them against one
//! snapshot; every write goes through one [`Store::apply`] of a
//! [`ChangeSet`] that the adapter commits in one native transaction, audit
//! events included. A stale version is [`Error::Conflict`], a taken unique
//! key [`Error::AlreadyExists`], and on any error nothing of the change set
//! is visible.
//!
//! Because the adapters never see domain types, every later capability lands
//! on every store (ours and an integrator's) without adapter code.

use std::ops::Bound;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::audit::{AuditDraft, AuditEvent, Target};
use crate::error::{Error, Result};
use crate::ids::OrgId;

mod failures;
pub use failures::{FailureLedger, FailureReservation, FailureWindow, ReservedFailure};

/// Where a record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The platform directory: organizations, users, memberships: the data
    /// that decides who may act in which tenant.
    Platform,
    /// One tenant's own data. A record in one org is invisible from any other.
    Org(OrgId),
}

impl Scope {
    /// The uuid adapters key the scope by; the platform uses the nil uuid,
    /// which no uuid v7 org id can equal.
    pub fn key(self) -> Uuid {
        match self {
            Scope::Platform => Uuid::nil(),
            Scope::Org(org) => org.0,
        }
    }

    pub fn from_key(key: Uuid) -> Self {
        if key.is_nil() {
            Scope::Platform
        } else {
            Scope::Org(OrgId(key))
        }
    }
}

/// One secondary-index entry of a record: `find(scope, kind, name, value)`
/// returns the record. A unique entry may be held by one record per scope.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct IndexEntry {
    pub name: String,
    pub value: String,
    pub unique: bool,
}

impl IndexEntry {
    pub fn unique(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: value.into(),
            unique: true,
        }
    }

    pub fn multi(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: value.into(),
            unique: false,
        }
    }
}

/// A record as stored: its identity, version and serialized body.
///
/// The body is the JSON text as the adapter read it: the typed layer decodes
/// it straight into the domain type, with no intermediate JSON tree.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: Uuid,
    /// 1 on insert, +1 on every update.
    pub version: u64,
    pub body: Box<RawValue>,
}

impl StoredRecord {
    /// A record from its parts; `body` must be JSON (adapters pass what they
    /// stored, which the core wrote as JSON).
    pub fn new(id: Uuid, version: u64, body: Box<RawValue>) -> Self {
        Self { id, version, body }
    }

    /// The body as a JSON value (for tests and tools; services decode
    /// straight into their types).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.body.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for StoredRecord {
    /// Same id, version and JSON value (whatever the text's spacing or key order).
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.version == other.version && self.json() == other.json()
    }
}

/// JSON text of a value, for adapters that hold bodies as [`Value`].
pub fn raw_json(value: &Value) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(value).map_err(Error::storage)
}

/// One write of a change set.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    /// Fails with `AlreadyExists` if the id (or a unique index entry) is taken.
    Insert {
        scope: Scope,
        kind: &'static str,
        id: Uuid,
        body: Value,
        indexes: Vec<IndexEntry>,
    },
    /// Fails with `Conflict` unless the stored version equals `expected_version`,
    /// and with `NotFound` if the record is gone.
    Update {
        scope: Scope,
        kind: &'static str,
        id: Uuid,
        expected_version: u64,
        body: Value,
        indexes: Vec<IndexEntry>,
    },
    /// Same version rule as `Update`.
    Delete {
        scope: Scope,
        kind: &'static str,
        id: Uuid,
        expected_version: u64,
    },
    /// Writes nothing: a read precondition. Fails with `Conflict` unless the
    /// record still exists with `expected_version`, and holds it unchanged
    /// until the commit (what an operation was authorized by, for example a
    /// membership, cannot change between that check and the write).
    Check {
        scope: Scope,
        kind: &'static str,
        id: Uuid,
        expected_version: u64,
    },
}

impl Mutation {
    pub fn scope(&self) -> Scope {
        match self {
            Mutation::Insert { scope, .. }
            | Mutation::Update { scope, .. }
            | Mutation::Delete { scope, .. }
            | Mutation::Check { scope, .. } => *scope,
        }
    }
}

/// A number drawn from a counter inside the commit and written into a
/// record the same change set inserts (per-org ticket numbers).
///
/// The counter is an ordinary record (`counter`) whose body holds the last
/// number drawn in the top-level field `counter_field`; the adapter adds one
/// to it and writes it back (version + 1) in the transaction, so concurrent
/// change sets queue on the counter instead of failing, and numbers are
/// consecutive and never given twice. The number then replaces the
/// top-level field `field` of the inserted record `(scope, kind, id)`, the
/// value of its index entry named `index` (if any), and `field` in the
/// details of every audit draft of the change set whose target is that
/// record. A missing counter is `NotFound`; the counter must not also be a
/// mutation of the same change set.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    pub scope: Scope,
    pub counter_kind: &'static str,
    pub counter_id: Uuid,
    pub counter_field: &'static str,
    pub kind: &'static str,
    pub id: Uuid,
    pub field: &'static str,
    pub index: Option<&'static str>,
}

impl Draw {
    /// Writes `number` into the inserted record and the audit drafts about it
    /// (the adapters' shared step once they have drawn the number).
    pub fn fill(&self, number: u64, changes: &mut ChangeSet) -> Result<()> {
        let mut found = false;
        for mutation in &mut changes.mutations {
            if let Mutation::Insert {
                scope,
                kind,
                id,
                body,
                indexes,
            } = mutation
                && *scope == self.scope
                && *kind == self.kind
                && *id == self.id
            {
                set_field(body, self.field, number)?;
                if let Some(index) = self.index {
                    for entry in indexes.iter_mut().filter(|e| e.name == index) {
                        entry.value = number.to_string();
                    }
                }
                found = true;
            }
        }
        if !found {
            return Err(Error::storage(format!(
                "a draw names {} {}, which the change set does not insert",
                self.kind, self.id
            )));
        }
        let id = self.id.to_string();
        for draft in &mut changes.audit {
            if draft.target.kind == self.kind && draft.target.id == id {
                let _ = set_field(&mut draft.details, self.field, number);
            }
        }
        Ok(())
    }

    /// The next number from a counter body (the adapters' shared step):
    /// the body with its field advanced, and the number.
    pub fn advance(&self, counter_body: &mut Value) -> Result<u64> {
        let last = counter_body
            .get(self.counter_field)
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                Error::storage(format!(
                    "counter {} {} has no number in {}",
                    self.counter_kind, self.counter_id, self.counter_field
                ))
            })?;
        let next = last + 1;
        set_field(counter_body, self.counter_field, next)?;
        Ok(next)
    }
}

fn set_field(body: &mut Value, field: &str, number: u64) -> Result<()> {
    match body {
        Value::Object(map) => {
            map.insert(field.to_owned(), Value::from(number));
            Ok(())
        }
        _ => Err(Error::storage(format!(
            "cannot write {field} into a body that is not an object"
        ))),
    }
}

/// What [`Store::apply`] committed: the sealed audit events, in the order of
/// `ChangeSet::audit`, and the numbers drawn, in the order of `ChangeSet::draws`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    pub events: Vec<AuditEvent>,
    pub drawn: Vec<u64>,
}

/// Everything one operation changes, committed atomically by [`Store::apply`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    pub mutations: Vec<Mutation>,
    /// Appended to their org's chain in order, inside the same transaction;
    /// the adapter seals each one with [`crate::audit::seal`] against the
    /// chain head it reads in that transaction.
    pub audit: Vec<AuditDraft>,
    /// Numbers drawn from counters in the same transaction, before the
    /// mutations are written (see [`Draw`]).
    pub draws: Vec<Draw>,
}

impl ChangeSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.mutations.is_empty() && self.audit.is_empty() && self.draws.is_empty()
    }

    pub fn insert<E: Entity>(&mut self, entity: &E) -> Result<&mut Self> {
        self.mutations.push(Mutation::Insert {
            scope: entity.scope(),
            kind: E::KIND,
            id: entity.id(),
            body: encode(entity)?,
            indexes: entity.indexes(),
        });
        Ok(self)
    }

    pub fn update<E: Entity>(&mut self, entity: &Versioned<E>) -> Result<&mut Self> {
        self.mutations.push(Mutation::Update {
            scope: entity.value.scope(),
            kind: E::KIND,
            id: entity.value.id(),
            expected_version: entity.version,
            body: encode(&entity.value)?,
            indexes: entity.value.indexes(),
        });
        Ok(self)
    }

    pub fn delete<E: Entity>(&mut self, entity: &Versioned<E>) -> &mut Self {
        self.mutations.push(Mutation::Delete {
            scope: entity.value.scope(),
            kind: E::KIND,
            id: entity.value.id(),
            expected_version: entity.version,
        });
        self
    }

    /// Asserts, at commit, that `entity` still has the version it was read
    /// at (see [`Mutation::Check`]).
    pub fn check<E: Entity>(&mut self, entity: &Versioned<E>) -> &mut Self {
        self.mutations.push(Mutation::Check {
            scope: entity.value.scope(),
            kind: E::KIND,
            id: entity.value.id(),
            expected_version: entity.version,
        });
        self
    }

    /// Appends an audit event, with the read preconditions it stands on
    /// (an event made under a grant asserts the grant's membership, see
    /// [`Audited`]). Each precondition is added once, ahead of every write,
    /// so that a change set that also updates or deletes that very record
    /// (an admin changing their own role) checks the version authorization
    /// read before its own write moves it on.
    pub fn audit(&mut self, event: impl Into<Audited>) -> &mut Self {
        let Audited { draft, checks } = event.into();
        for check in checks {
            if !self.mutations.contains(&check) {
                let first_write = self
                    .mutations
                    .iter()
                    .take_while(|m| matches!(m, Mutation::Check { .. }))
                    .count();
                self.mutations.insert(first_write, check);
            }
        }
        self.audit.push(draft);
        self
    }

    /// [`ChangeSet::audit`] for each event, in order.
    pub fn audit_all<A: Into<Audited>>(
        &mut self,
        events: impl IntoIterator<Item = A>,
    ) -> &mut Self {
        for event in events {
            self.audit(event);
        }
        self
    }

    pub fn draw(&mut self, draw: Draw) -> &mut Self {
        self.draws.push(draw);
        self
    }
}

/// An audit draft and the records whose versions the action it records
/// relied on ([`Mutation::Check`]s): what [`ChangeSet::audit`] adds. A
/// plain draft relies on nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Audited {
    pub draft: AuditDraft,
    pub checks: Vec<Mutation>,
}

impl From<AuditDraft> for Audited {
    fn from(draft: AuditDraft) -> Self {
        Self {
            draft,
            checks: Vec::new(),
        }
    }
}

/// How many records a page may hold, whatever the caller asks for.
pub const MAX_PAGE: usize = 500;

/// A keyset page request: records ordered by id (uuid v7, so creation order),
/// strictly after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: usize,
}

impl PageRequest {
    pub fn first(limit: usize) -> Self {
        Self { after: None, limit }
    }

    /// The page after the record with id `after` (the previous page's last).
    pub fn after(after: Option<Uuid>, limit: usize) -> Self {
        Self { after, limit }
    }

    /// The limit adapters honour: at least 1, at most [`MAX_PAGE`].
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// Which way a scan walks an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Ascending,
    Descending,
}

/// Where a scan resumes: strictly after this entry, in the scan's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScanCursor {
    pub value: String,
    pub id: Uuid,
}

/// An ordered walk over one index of a kind: the entries whose value lies
/// between `from` and `to`, ordered by `(value, id)` in `order`, starting
/// strictly after `after`, at most `limit` of them.
///
/// Values compare as strings, byte by byte (code point order); the core
/// builds values that sort the way its queries need (fixed-width numbers,
/// `rfc3339` times in UTC, fields joined by a separator for composite keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexScan {
    pub index: String,
    pub from: Bound<String>,
    pub to: Bound<String>,
    pub order: Order,
    pub after: Option<ScanCursor>,
    pub limit: usize,
}

impl IndexScan {
    /// Every entry of `index`, ascending.
    pub fn all(index: &str) -> Self {
        Self {
            index: index.to_owned(),
            from: Bound::Unbounded,
            to: Bound::Unbounded,
            order: Order::Ascending,
            after: None,
            limit: MAX_PAGE,
        }
    }

    /// The entries whose value starts with `prefix`.
    pub fn prefix(index: &str, prefix: &str) -> Self {
        Self {
            from: Bound::Included(prefix.to_owned()),
            to: match successor(prefix) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
            ..Self::all(index)
        }
    }

    /// The entries with `from <= value < to`.
    pub fn between(index: &str, from: Bound<String>, to: Bound<String>) -> Self {
        Self {
            from,
            to,
            ..Self::all(index)
        }
    }

    pub fn descending(mut self) -> Self {
        self.order = Order::Descending;
        self
    }

    pub fn after(mut self, cursor: Option<ScanCursor>) -> Self {
        self.after = cursor;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The limit adapters honour: at least 1, at most [`MAX_PAGE`].
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }

    /// Whether an entry with `value` and `id` belongs to this scan (its
    /// range and, if any, strictly after its cursor). Adapters may use it
    /// as the reference of what they must return; the conformance suite does.
    pub fn admits(&self, value: &str, id: Uuid) -> bool {
        let in_range = (match &self.from {
            Bound::Included(f) => value >= f.as_str(),
            Bound::Excluded(f) => value > f.as_str(),
            Bound::Unbounded => true,
        }) && (match &self.to {
            Bound::Included(t) => value <= t.as_str(),
            Bound::Excluded(t) => value < t.as_str(),
            Bound::Unbounded => true,
        });
        let past_cursor = self.after.as_ref().is_none_or(|c| {
            let here = (value, id);
            let there = (c.value.as_str(), c.id);
            match self.order {
                Order::Ascending => here > there,
                Order::Descending => here < there,
            }
        });
        in_range && past_cursor
    }
}

/// An instant as an index value: UTC, fixed width, to the microsecond
/// (`2025-06-16T13:00:00.000000Z`), so that byte order is time order and a
/// scan up to `time_value(now)` finds everything due by now.
pub fn time_value(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The smallest string greater than every string starting with `prefix`
/// (its last character advanced by one), or `None` when there is none.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut code = u32::from(last) + 1;
        if (0xD800..=0xDFFF).contains(&code) {
            code = 0xE000;
        }
        if let Some(next) = char::from_u32(code) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// One record a scan found, with the index value it was found by (the
/// cursor of the next page is `(value, record.id)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scanned {
    pub value: String,
    pub record: StoredRecord,
}

impl Scanned {
    pub fn cursor(&self) -> ScanCursor {
        ScanCursor {
            value: self.value.clone(),
            id: self.record.id,
        }
    }
}

/// One read of a [`Store::read`] batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Get {
        scope: Scope,
        kind: String,
        id: Uuid,
    },
    GetMany {
        scope: Scope,
        kind: String,
        ids: Vec<Uuid>,
    },
    Find {
        scope: Scope,
        kind: String,
        index: String,
        value: String,
        page: PageRequest,
    },
    Scan {
        scope: Scope,
        kind: String,
        scan: IndexScan,
    },
    /// A page of records of a kind in id order (as [`Store::list`]).
    List {
        scope: Scope,
        kind: String,
        page: PageRequest,
    },
    /// How many records an index range holds (as [`Store::count`]).
    Count {
        scope: Scope,
        kind: String,
        scan: IndexScan,
    },
    /// An org's newest audit events, newest first (as
    /// [`Store::audit_events_before`]).
    AuditBefore {
        org: OrgId,
        before: Option<u64>,
        limit: usize,
    },
}

impl Read {
    /// The scope the read looks in (an org's chain is its org's).
    pub fn scope(&self) -> Scope {
        match self {
            Read::Get { scope, .. }
            | Read::GetMany { scope, .. }
            | Read::Find { scope, .. }
            | Read::Scan { scope, .. }
            | Read::List { scope, .. }
            | Read::Count { scope, .. } => *scope,
            Read::AuditBefore { org, .. } => Scope::from_key(org.0),
        }
    }

    /// The record kind it reads (`audit_event` for a chain's events).
    pub fn kind(&self) -> &str {
        match self {
            Read::Get { kind, .. }
            | Read::GetMany { kind, .. }
            | Read::Find { kind, .. }
            | Read::Scan { kind, .. }
            | Read::List { kind, .. }
            | Read::Count { kind, .. } => kind,
            Read::AuditBefore { .. } => "audit_event",
        }
    }
}

/// The answer to one [`Read`], in its position of the batch.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadResult {
    /// A `Get`.
    One(Option<StoredRecord>),
    /// A `GetMany` (aligned with its ids) .
    Each(Vec<Option<StoredRecord>>),
    /// A `Find`.
    Many(Vec<StoredRecord>),
    /// A `Scan`.
    Scanned(Vec<Scanned>),
    /// A `Count`.
    Count(u64),
    /// An `AuditBefore`: newest first.
    Events(Vec<AuditEvent>),
}

impl ReadResult {
    /// A `Get`'s answer as its type.
    pub fn one<E: Entity>(self) -> Result<Option<Versioned<E>>> {
        match self {
            ReadResult::One(record) => record.map(decode).transpose(),
            other => Err(other.mismatch("get")),
        }
    }

    /// A `GetMany`'s answer as its type, aligned with its ids.
    pub fn each<E: Entity>(self) -> Result<Vec<Option<Versioned<E>>>> {
        match self {
            ReadResult::Each(records) => records
                .into_iter()
                .map(|r| r.map(decode).transpose())
                .collect(),
            other => Err(other.mismatch("get_many")),
        }
    }

    /// A `Find`'s or a `List`'s answer as its type.
    pub fn many<E: Entity>(self) -> Result<Vec<Versioned<E>>> {
        match self {
            ReadResult::Many(records) => records.into_iter().map(decode).collect(),
            other => Err(other.mismatch("find")),
        }
    }

    /// A `Scan`'s answer.
    pub fn scanned(self) -> Result<Vec<Scanned>> {
        match self {
            ReadResult::Scanned(found) => Ok(found),
            other => Err(other.mismatch("scan")),
        }
    }

    /// A `Count`'s answer.
    pub fn count(self) -> Result<u64> {
        match self {
            ReadResult::Count(n) => Ok(n),
            other => Err(other.mismatch("count")),
        }
    }

    /// An `AuditBefore`'s answer, newest first.
    pub fn events(self) -> Result<Vec<AuditEvent>> {
        match self {
            ReadResult::Events(events) => Ok(events),
            other => Err(other.mismatch("audit_before")),
        }
    }

    /// How many records (or events) the answer holds; a count holds none.
    pub fn len(&self) -> usize {
        match self {
            ReadResult::One(r) => usize::from(r.is_some()),
            ReadResult::Each(rs) => rs.iter().flatten().count(),
            ReadResult::Many(rs) => rs.len(),
            ReadResult::Scanned(rs) => rs.len(),
            ReadResult::Count(_) => 0,
            ReadResult::Events(es) => es.len(),
        }
    }

    /// Whether it holds no record (a count never does).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn mismatch(&self, read: &str) -> Error {
        let answer = match self {
            ReadResult::One(_) => "get",
            ReadResult::Each(_) => "get_many",
            ReadResult::Many(_) => "find",
            ReadResult::Scanned(_) => "scan",
            ReadResult::Count(_) => "count",
            ReadResult::Events(_) => "audit_before",
        };
        Error::storage(format!("a {read} was answered as a {answer}"))
    }
}

/// The answers of a [`Store::read`] batch, taken in the order asked.
#[derive(Debug)]
pub struct Answers(std::vec::IntoIter<ReadResult>);

impl Answers {
    pub fn new(results: Vec<ReadResult>) -> Self {
        Self(results.into_iter())
    }

    /// The next answer; a store that answered fewer reads than asked is a
    /// storage failure.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<ReadResult> {
        self.0
            .next()
            .ok_or_else(|| Error::storage("a read batch came back short"))
    }
}

/// The storage contract. Adapters implement these methods; the services
/// never need more. Every method that reads tenant data takes the scope first.
#[async_trait]
pub trait Store: Send + Sync {
    /// One record, or `None` if it does not exist *in this scope*.
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>>;

    /// Several records of a kind by id, aligned with `ids` (`None` where a
    /// record does not exist in this scope), read together (one round trip
    /// or one hop where the adapter can).
    async fn get_many(
        &self,
        scope: Scope,
        kind: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredRecord>>>;

    /// An ordered, keyset-paged walk over one index (see [`IndexScan`]).
    async fn scan(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<Vec<Scanned>>;

    /// Several reads against one consistent view (one transaction), answers
    /// in the order of `reads`. An operation that needs several reads at
    /// once asks for them together; an adapter that cannot batch may run
    /// them one by one (what the default does), losing only the snapshot.
    async fn read(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        let mut out = Vec::with_capacity(reads.len());
        for read in reads {
            out.push(match read {
                Read::Get { scope, kind, id } => ReadResult::One(self.get(scope, &kind, id).await?),
                Read::GetMany { scope, kind, ids } => {
                    ReadResult::Each(self.get_many(scope, &kind, &ids).await?)
                }
                Read::Find {
                    scope,
                    kind,
                    index,
                    value,
                    page,
                } => ReadResult::Many(self.find(scope, &kind, &index, &value, page).await?),
                Read::Scan { scope, kind, scan } => {
                    ReadResult::Scanned(self.scan(scope, &kind, &scan).await?)
                }
                Read::List { scope, kind, page } => {
                    ReadResult::Many(self.list(scope, &kind, page).await?)
                }
                Read::Count { scope, kind, scan } => {
                    ReadResult::Count(self.count(scope, &kind, &scan).await?)
                }
                Read::AuditBefore { org, before, limit } => {
                    ReadResult::Events(self.audit_events_before(org, before, limit).await?)
                }
            });
        }
        Ok(out)
    }

    /// How many distinct records of a kind hold an entry of `scan`'s index
    /// that the scan admits ([`IndexScan::admits`]: its value range and,
    /// if any, strictly after its cursor in its order), with no limit: a
    /// record holding several admitted values (a multi-valued index)
    /// counts once. The limit does not matter, nor the order without a
    /// cursor. An aggregate for figures
    /// (open tickets, evidence expiring) that would otherwise read every
    /// record they count.
    ///
    /// The default walks the scan page by page (reading the records); our
    /// adapters count index entries without reading a record.
    async fn count(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<u64> {
        let mut seen = std::collections::BTreeSet::new();
        let mut walk = scan.clone().limit(MAX_PAGE);
        loop {
            let found = self.scan(scope, kind, &walk).await?;
            let full = found.len() == MAX_PAGE;
            walk.after = found.last().map(Scanned::cursor);
            seen.extend(found.into_iter().map(|s| s.record.id));
            if !full {
                return Ok(seen.len() as u64);
            }
        }
    }

    /// An org's audit events with `seq < before` (every event when `None`),
    /// newest first, at most `limit` (clamped to 1..=[`MAX_PAGE`]): the
    /// tail of the chain, for the time of its latest activity.
    ///
    /// The default finds the chain's end with single-event reads of
    /// [`Store::audit_events`] (galloping, then binary search: a number of
    /// reads logarithmic in the chain's length) and reads the page before
    /// it; our adapters walk their chain backwards.
    async fn audit_events_before(
        &self,
        org: OrgId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        let limit = limit.clamp(1, MAX_PAGE) as u64;
        // The chain's numbers run 1, 2, 3, ...: event n exists iff a read
        // after n - 1 finds one.
        let exists = |n: u64| async move {
            Ok::<bool, Error>(!self.audit_events(org, Some(n - 1), 1).await?.is_empty())
        };
        if !exists(1).await? {
            return Ok(Vec::new());
        }
        // `low` exists; find a `high` that does not, then close in.
        let (mut low, mut high) = (1u64, 2u64);
        while exists(high).await? {
            low = high;
            high = high.saturating_mul(2);
        }
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if exists(mid).await? {
                low = mid;
            } else {
                high = mid;
            }
        }
        let last = before.map_or(low, |b| low.min(b.saturating_sub(1)));
        if last == 0 {
            return Ok(Vec::new());
        }
        let first = last.saturating_sub(limit - 1).max(1);
        let mut events = self
            .audit_events(org, Some(first - 1), (last - first + 1) as usize)
            .await?;
        events.retain(|e| e.seq <= last);
        events.reverse();
        Ok(events)
    }

    /// Records of a kind in a scope, ordered by id.
    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>>;

    /// Records of a kind in a scope holding index entry `index = value`, ordered by id.
    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> Result<Vec<StoredRecord>>;

    /// Commits the whole change set in one transaction, or nothing of it:
    /// its draws first (see [`Draw`]), then the mutations in order, then the
    /// audit events. A conflict the adapter's own concurrency causes (a
    /// serialization failure, a deadlock) is retried by the adapter; only a
    /// stale `expected_version` reaches the caller as `Conflict`.
    async fn apply(&self, changes: ChangeSet) -> Result<Applied>;

    /// Reserves one failure in each of `windows` at `now`, all or none
    /// ([`failures`]): refused, with when there is room again, when any
    /// window already holds its `failures` within its `within`. Failures
    /// count until `within` after `now`, whoever reserved them: a store that
    /// several processes share keeps them where they all count them, so N
    /// processes do not allow N times the guesses. The keys are distinct;
    /// the store keeps them as given (not tenant data: no scope).
    ///
    /// The default keeps them in this process ([`FailureLedger::process`]),
    /// enough for a store that one process opens at a time.
    async fn reserve_failures(
        &self,
        windows: &[FailureWindow],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<FailureReservation> {
        Ok(FailureLedger::process().reserve(windows, now))
    }

    /// Gives back failures [`Store::reserve_failures`] took (the attempt
    /// was right); one already gone is no error.
    async fn release_failures(&self, failures: &[ReservedFailure]) -> Result<()> {
        FailureLedger::process().release(failures);
        Ok(())
    }

    /// Forgets every failure of `key`.
    async fn forget_failures(&self, key: &str) -> Result<()> {
        FailureLedger::process().forget(key);
        Ok(())
    }

    /// An org's audit events with `seq > after`, in chain order.
    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>>;

    /// An org's audit events whose target is one of `targets` (kind and id
    /// equal), with `seq > after`, in chain order, each once, at most
    /// `limit` (1 to [`MAX_PAGE`]): a record's trail, found by an index of
    /// the events by target, so it costs the events about those records,
    /// not the chain.
    async fn audit_events_about(
        &self,
        org: OrgId,
        targets: &[Target],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>>;

    /// Stores chunk `seq` of a blob (an evidence file), replacing any chunk
    /// already there. Files travel chunk by chunk so that no layer holds a
    /// whole file; a blob becomes reachable only through the record that
    /// names it, committed by `apply` after its chunks are written.
    async fn put_blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32, data: Vec<u8>) -> Result<()>;

    /// Chunk `seq` of a blob, or `None` past its end (or in another org).
    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> Result<Option<Vec<u8>>>;

    /// Removes every chunk of a blob; removing a missing blob is not an error.
    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> Result<()>;

    /// Claims the sweep of one org's due work (escalations, reminders,
    /// outbox deliveries) for the caller, or `None` while another claim on
    /// the org is held. Several processes sharing a store spread their
    /// sweeps this way and never sweep one org at the same time. The claim
    /// holds until it is released or dropped.
    ///
    /// The default claims within this process only ([`SweepClaims`]),
    /// which is enough for a store that one process opens at a time; a
    /// store that several processes share overrides it with a claim they
    /// all see (Postgres: an advisory lock held by a transaction, which the
    /// database ends if the holder dies).
    async fn try_claim_sweep(&self, org: OrgId) -> Result<Option<SweepClaim>> {
        Ok(SweepClaims::process().try_claim(org))
    }

    /// Whether the store can serve requests: `Ok` when it answers a trivial
    /// read (and, for a store with a schema, the schema is current);
    /// [`Error::Unavailable`] saying why otherwise. Cheap: a load balancer
    /// asks it every few seconds.
    async fn ready(&self) -> Result<()> {
        self.get(Scope::Platform, READINESS_KIND, Uuid::nil())
            .await
            .map(|_| ())
            .map_err(|e| Error::Unavailable(format!("the store does not answer: {e}")))
    }

    /// Tells every process sharing this store that something changed
    /// (`signal` is short: what changed and where, never the change
    /// itself, which listeners read from the store). Listeners of every
    /// process hear it, this one's included, once the signal is sent.
    ///
    /// The default sends nothing: a store one process opens at a time has
    /// nobody else to tell, and the process tells its own listeners
    /// itself. A store several processes share overrides it (Postgres:
    /// `NOTIFY`).
    async fn send_signal(&self, signal: &str) -> Result<()> {
        let _ = signal;
        Ok(())
    }

    /// Starts listening to the signals [`Store::send_signal`] sends, from
    /// every process sharing the store; `None` for a store that one
    /// process opens at a time (the default), where there is nothing to
    /// hear from elsewhere.
    async fn listen_signals(&self) -> Result<Option<Box<dyn SignalListener>>> {
        Ok(None)
    }
}

/// Signals heard from the processes sharing a store
/// ([`Store::listen_signals`]).
#[async_trait]
pub trait SignalListener: Send {
    /// The next thing heard. Signals are not kept: while the listener was
    /// cut off (a lost connection, made again) some may have been missed,
    /// and it says so with [`Heard::Gap`], so that whoever shows live state
    /// reads it again from the store. An error: the listener cannot go on
    /// (listen again later).
    async fn next(&mut self) -> Result<Heard>;
}

/// What a [`SignalListener`] heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A signal, as sent.
    Signal(String),
    /// Signals may have been missed (the listener was cut off and is
    /// listening again).
    Gap,
}

/// The kind the default [`Store::ready`] reads (no record has it).
const READINESS_KIND: &str = "readiness_probe";

/// A claim on sweeping one org (see [`Store::try_claim_sweep`]). Dropping
/// it releases it; [`SweepClaim::release`] releases it and waits until
/// another claim may be granted.
pub struct SweepClaim {
    org: OrgId,
    hold: Option<Box<dyn SweepHold>>,
}

impl std::fmt::Debug for SweepClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepClaim")
            .field("org", &self.org)
            .finish()
    }
}

/// What keeps a [`SweepClaim`] held, as a store makes it: dropping it
/// releases the claim (eventually: a database may learn of it moments
/// later), `release` releases it at once.
#[async_trait]
pub trait SweepHold: Send {
    async fn release(self: Box<Self>);
}

impl SweepClaim {
    /// A claim on `org` that `hold` keeps.
    pub fn new(org: OrgId, hold: impl SweepHold + 'static) -> Self {
        Self {
            org,
            hold: Some(Box::new(hold)),
        }
    }

    /// The org claimed.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// Releases the claim now, not whenever its store gets to it.
    pub async fn release(mut self) {
        if let Some(hold) = self.hold.take() {
            hold.release().await;
        }
    }
}

/// Sweep claims kept in memory: a set of the orgs being swept. The claim
/// of every store that one process opens at a time.
#[derive(Debug, Clone, Default)]
pub struct SweepClaims(std::sync::Arc<std::sync::Mutex<std::collections::HashSet<OrgId>>>);

impl SweepClaims {
    /// The claims of this process, which [`Store::try_claim_sweep`] takes
    /// by default (org ids are unique, so stores may share them).
    pub fn process() -> &'static SweepClaims {
        static PROCESS: std::sync::OnceLock<SweepClaims> = std::sync::OnceLock::new();
        PROCESS.get_or_init(SweepClaims::default)
    }

    /// A claim on `org`, or `None` while one is held.
    pub fn try_claim(&self, org: OrgId) -> Option<SweepClaim> {
        let mut held = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        held.insert(org).then(|| {
            SweepClaim::new(
                org,
                InMemoryHold {
                    claims: self.clone(),
                    org,
                },
            )
        })
    }
}

/// An org in a [`SweepClaims`] set, taken out when dropped.
struct InMemoryHold {
    claims: SweepClaims,
    org: OrgId,
}

impl Drop for InMemoryHold {
    fn drop(&mut self) {
        let mut held = self
            .claims
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        held.remove(&self.org);
    }
}

#[async_trait]
impl SweepHold for InMemoryHold {
    async fn release(self: Box<Self>) {}
}

/// A shared store is a store (wrappers such as a counting store can hold an
/// `Arc<dyn Store>`).
#[async_trait]
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>> {
        (**self).get(scope, kind, id).await
    }
    async fn get_many(
        &self,
        scope: Scope,
        kind: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredRecord>>> {
        (**self).get_many(scope, kind, ids).await
    }
    async fn scan(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<Vec<Scanned>> {
        (**self).scan(scope, kind, scan).await
    }
    async fn read(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        (**self).read(reads).await
    }
    async fn count(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<u64> {
        (**self).count(scope, kind, scan).await
    }
    async fn audit_events_before(
        &self,
        org: OrgId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        (**self).audit_events_before(org, before, limit).await
    }
    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>> {
        (**self).list(scope, kind, page).await
    }
    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> Result<Vec<StoredRecord>> {
        (**self).find(scope, kind, index, value, page).await
    }
    async fn apply(&self, changes: ChangeSet) -> Result<Applied> {
        (**self).apply(changes).await
    }
    async fn reserve_failures(
        &self,
        windows: &[FailureWindow],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<FailureReservation> {
        (**self).reserve_failures(windows, now).await
    }
    async fn release_failures(&self, failures: &[ReservedFailure]) -> Result<()> {
        (**self).release_failures(failures).await
    }
    async fn forget_failures(&self, key: &str) -> Result<()> {
        (**self).forget_failures(key).await
    }
    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        (**self).audit_events(org, after, limit).await
    }
    async fn audit_events_about(
        &self,
        org: OrgId,
        targets: &[Target],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        (**self)
            .audit_events_about(org, targets, after, limit)
            .await
    }
    async fn put_blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32, data: Vec<u8>) -> Result<()> {
        (**self).put_blob_chunk(org, blob, seq, data).await
    }
    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> Result<Option<Vec<u8>>> {
        (**self).blob_chunk(org, blob, seq).await
    }
    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> Result<()> {
        (**self).delete_blob(org, blob).await
    }
    async fn try_claim_sweep(&self, org: OrgId) -> Result<Option<SweepClaim>> {
        (**self).try_claim_sweep(org).await
    }
    async fn ready(&self) -> Result<()> {
        (**self).ready().await
    }
    async fn send_signal(&self, signal: &str) -> Result<()> {
        (**self).send_signal(signal).await
    }
    async fn listen_signals(&self) -> Result<Option<Box<dyn SignalListener>>> {
        (**self).listen_signals().await
    }
}

/// A typed record kind. The core declares its domain types as entities; the
/// adapters only ever see their serialized form.
pub trait Entity: Serialize + DeserializeOwned + Send + Sync {
    /// The record kind, also the table name in adapters; never change it.
    const KIND: &'static str;
    /// A short human name for errors ("organization").
    const NAME: &'static str;
    fn scope(&self) -> Scope;
    fn id(&self) -> Uuid;
    /// The secondary-index entries this value must be findable by.
    fn indexes(&self) -> Vec<IndexEntry> {
        Vec::new()
    }
}

/// A typed value with the version it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub version: u64,
    pub value: T,
}

fn encode<E: Entity>(entity: &E) -> Result<Value> {
    serde_json::to_value(entity).map_err(Error::storage)
}

/// A stored record as its type, straight from its JSON text.
pub fn decode<E: Entity>(record: StoredRecord) -> Result<Versioned<E>> {
    let value = serde_json::from_str(record.body.get())
        .map_err(|e| Error::storage(format!("undecodable {} {}: {e}", E::KIND, record.id)))?;
    Ok(Versioned {
        version: record.version,
        value,
    })
}

/// Loads one typed record.
pub async fn load<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    id: Uuid,
) -> Result<Option<Versioned<E>>> {
    store.get(scope, E::KIND, id).await?.map(decode).transpose()
}

/// Loads several typed records of one kind by id, in one read, aligned with
/// `ids`.
pub async fn load_many<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    ids: &[Uuid],
) -> Result<Vec<Option<Versioned<E>>>> {
    store
        .get_many(scope, E::KIND, ids)
        .await?
        .into_iter()
        .map(|r| r.map(decode).transpose())
        .collect()
}

/// One page of an ordered index walk, typed, with the cursor of the page
/// after it (`None` when the store returned less than a full page).
pub async fn scan<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    scan: &IndexScan,
) -> Result<(Vec<Versioned<E>>, Option<ScanCursor>)> {
    let found = store.scan(scope, E::KIND, scan).await?;
    let next = (found.len() == scan.effective_limit())
        .then(|| found.last().map(Scanned::cursor))
        .flatten();
    let records = found
        .into_iter()
        .map(|s| decode(s.record))
        .collect::<Result<_>>()?;
    Ok((records, next))
}

/// One page of a list the store computed: the items and where the next
/// page starts (`None` on the last page). `C` is the cursor: an id for
/// lists in id order, a [`ScanCursor`] for index walks, an audit sequence.
///
/// The typed helpers ([`list_page`], [`find_page`], [`scan_page`]) read one
/// record more than the page to know whether another page follows; a page
/// of [`MAX_PAGE`] cannot, so it carries a cursor whenever it is full (the
/// page after it may then be empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T, C = Uuid> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

impl<T, C> Listing<T, C> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listing<U, C> {
        Listing {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }

    /// The same page with its cursor in another form.
    pub fn map_next<D>(self, f: impl FnOnce(C) -> D) -> Listing<T, D> {
        Listing {
            items: self.items,
            next: self.next.map(f),
        }
    }

    /// The page of `limit` items out of `items`, read with
    /// [`lookahead`]`(limit)`: a cursor (of its last item) only when more
    /// follow, or, for a page of [`MAX_PAGE`], when it is full.
    pub fn of(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> C) -> Self {
        let limit = limit.clamp(1, MAX_PAGE);
        let more = if lookahead(limit) > limit {
            items.len() > limit
        } else {
            items.len() == limit
        };
        items.truncate(limit);
        let next = more.then(|| items.last().map(cursor)).flatten();
        Self { items, next }
    }
}

/// A page request over an ordered index walk: strictly after `after` (the
/// previous page's last entry), at most `limit` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRequest {
    pub after: Option<ScanCursor>,
    pub limit: usize,
}

impl ScanRequest {
    pub fn first(limit: usize) -> Self {
        Self { after: None, limit }
    }

    pub fn after(after: Option<ScanCursor>, limit: usize) -> Self {
        Self { after, limit }
    }

    /// The limit adapters honour: at least 1, at most [`MAX_PAGE`].
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// How many records to read for a page of `limit`: one more, to know
/// whether a page follows, unless the page is already the largest a store
/// answers.
pub fn lookahead(limit: usize) -> usize {
    let limit = limit.clamp(1, MAX_PAGE);
    if limit < MAX_PAGE { limit + 1 } else { limit }
}

/// One page of typed records in id order, computed by the store.
pub async fn list_page<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    page: PageRequest,
) -> Result<Listing<Versioned<E>>> {
    let limit = page.effective_limit();
    let items = list::<E>(
        store,
        scope,
        PageRequest::after(page.after, lookahead(limit)),
    )
    .await?;
    Ok(Listing::of(items, limit, |r| r.value.id()))
}

/// One page of the typed records holding `index = value`, in id order.
pub async fn find_page<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    index: &str,
    value: &str,
    page: PageRequest,
) -> Result<Listing<Versioned<E>>> {
    let limit = page.effective_limit();
    let ahead = PageRequest::after(page.after, lookahead(limit));
    let items = find::<E>(store, scope, index, value, ahead).await?;
    Ok(Listing::of(items, limit, |r| r.value.id()))
}

/// One page of an ordered index walk, typed, with the cursor of the page
/// after it when one follows.
pub async fn scan_page<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    walk: &IndexScan,
) -> Result<Listing<Versioned<E>, ScanCursor>> {
    let limit = walk.effective_limit();
    let ahead = walk.clone().limit(lookahead(limit));
    let found = store.scan(scope, E::KIND, &ahead).await?;
    let page = Listing::of(found, limit, Scanned::cursor);
    Ok(Listing {
        items: page
            .items
            .into_iter()
            .map(|s| decode(s.record))
            .collect::<Result<_>>()?,
        next: page.next,
    })
}

/// An instant as index text: fixed width (`YYYYMMDDTHHMMSS`, UTC), so byte
/// order is time order. Instants past the year 9999 (or before the year 1)
/// take the last (first) key of that range, so the width never changes.
pub fn instant_key(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    match at.year() {
        ..=0 => "00010101T000000".to_owned(),
        10_000.. => "99991231T235959".to_owned(),
        _ => at.format("%Y%m%dT%H%M%S").to_string(),
    }
}

/// A date as index text: `YYYY-MM-DD`, fixed width, so byte order is date
/// order; dates past 9999 (or before the year 1) take the last (first) key.
pub fn date_key(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    match date.year() {
        ..=0 => "0001-01-01".to_owned(),
        10_000.. => "9999-12-31".to_owned(),
        _ => date.format("%Y-%m-%d").to_string(),
    }
}

/// Loads one typed record or reports it as not found.
pub async fn require<E: Entity>(store: &dyn Store, scope: Scope, id: Uuid) -> Result<Versioned<E>> {
    load(store, scope, id)
        .await?
        .ok_or(Error::NotFound { what: E::NAME })
}

/// One page of typed records.
pub async fn list<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    page: PageRequest,
) -> Result<Vec<Versioned<E>>> {
    store
        .list(scope, E::KIND, page)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// One page of typed records by index.
pub async fn find<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    index: &str,
    value: &str,
    page: PageRequest,
) -> Result<Vec<Versioned<E>>> {
    store
        .find(scope, E::KIND, index, value, page)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// The single record holding a unique index entry.
pub async fn find_unique<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    index: &str,
    value: &str,
) -> Result<Option<Versioned<E>>> {
    Ok(find(store, scope, index, value, PageRequest::first(1))
        .await?
        .into_iter()
        .next())
}

/// Every record holding an index entry, following pages to the end.
pub async fn find_all<E: Entity>(
    store: &dyn Store,
    scope: Scope,
    index: &str,
    value: &str,
) -> Result<Vec<Versioned<E>>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = find::<E>(
            store,
            scope,
            index,
            value,
            PageRequest::after(after, MAX_PAGE),
        )
        .await?;
        let full = page.len() == MAX_PAGE;
        after = page.last().map(|r| r.value.id());
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// Every record of a kind in a scope, following pages to the end.
pub async fn all<E: Entity>(store: &dyn Store, scope: Scope) -> Result<Vec<Versioned<E>>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = list::<E>(store, scope, PageRequest::after(after, MAX_PAGE)).await?;
        let full = page.len() == MAX_PAGE;
        after = page.last().map(|r| r.value.id());
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// The whole audit chain of an org, in order.
pub async fn audit_chain(store: &dyn Store, org: OrgId) -> Result<Vec<AuditEvent>> {
    audit_chain_after(store, org, None).await
}

/// The events of an org's chain after sequence number `after`, in order.
pub async fn audit_chain_after(
    store: &dyn Store,
    org: OrgId,
    after: Option<u64>,
) -> Result<Vec<AuditEvent>> {
    let mut out: Vec<AuditEvent> = Vec::new();
    loop {
        let after = out.last().map(|e| e.seq).or(after);
        let page = store.audit_events(org, after, MAX_PAGE).await?;
        let full = page.len() == MAX_PAGE;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}
