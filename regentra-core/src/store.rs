//! The storage contract every adapter implements, and the typed layer the
//! services use on top of it.
//!
//! The contract is deliberately small (see ARCHITECTURE.md, "Store contract"):
//! records are typed values the core serializes, each living in a [`Scope`]
//! (the platform directory or one tenant), identified by `(scope, kind, id)`,
//! carrying an optimistic version and the secondary-index entries the core
//! computed for it. Reads are `get`, `list` and `find` (by index); every write
//! goes through one [`Store::apply`] of a [`ChangeSet`] that the adapter
//! commits in one native transaction, audit events included. A stale version
//! is [`Error::Conflict`], a taken unique key [`Error::AlreadyExists`], and on
//! any error nothing of the change set is visible.
//!
//! Because the adapters never see domain types, every later capability lands
//! on every store (ours and an integrator's) without adapter code.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::audit::{AuditDraft, AuditEvent};
use crate::error::{Error, Result};
use crate::ids::OrgId;

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
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: Uuid,
    /// 1 on insert, +1 on every update.
    pub version: u64,
    pub body: Value,
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
}

impl Mutation {
    pub fn scope(&self) -> Scope {
        match self {
            Mutation::Insert { scope, .. }
            | Mutation::Update { scope, .. }
            | Mutation::Delete { scope, .. } => *scope,
        }
    }
}

/// Everything one operation changes, committed atomically by [`Store::apply`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    pub mutations: Vec<Mutation>,
    /// Appended to their org's chain in order, inside the same transaction;
    /// the adapter seals each one with [`crate::audit::seal`] against the
    /// chain head it reads in that transaction.
    pub audit: Vec<AuditDraft>,
}

impl ChangeSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.mutations.is_empty() && self.audit.is_empty()
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

    pub fn audit(&mut self, draft: AuditDraft) -> &mut Self {
        self.audit.push(draft);
        self
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

/// The storage contract. Adapters implement these eight methods; the services
/// never need more. Every method that reads tenant data takes the scope first.
#[async_trait]
pub trait Store: Send + Sync {
    /// One record, or `None` if it does not exist *in this scope*.
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>>;

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

    /// Commits the whole change set in one transaction, or nothing of it.
    /// Returns the sealed audit events, in the order of `changes.audit`.
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEvent>>;

    /// An org's audit events with `seq > after`, in chain order.
    async fn audit_events(
        &self,
        org: OrgId,
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

fn decode<E: Entity>(record: StoredRecord) -> Result<Versioned<E>> {
    let value = serde_json::from_value(record.body)
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
