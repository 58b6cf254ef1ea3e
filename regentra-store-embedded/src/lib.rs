//! Regentra's embedded store: the whole [`Store`] contract on [redb], in a
//! file or in memory, with no setup.
//!
//! One process owns a database file: redb locks it, and a second process
//! opening the same file gets [`Error::Unavailable`] naming the file. Deployments
//! with several processes or machines use the Postgres store.
//!
//! Every redb call runs on tokio's blocking pool (`spawn_blocking`), never on
//! the async threads: redb is synchronous and its commits wait for fsync.
//!
//! The on-disk layout is described in [`schema`].

pub mod schema;

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use redb::backends::FileBackend;
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, Table, WriteTransaction};
use regentra_core::audit::{self, AuditEvent, Target};
use regentra_core::error::{Error, Result};
use regentra_core::ids::OrgId;
use regentra_core::store::{
    Applied, ChangeSet, EmailOutboxClaim, EmailOutboxClaims, FailureLedger, FailureReservation,
    FailureWindow, IndexEntry, IndexScan, Mutation, Order, PageRequest, Read, ReadResult,
    ReservedFailure, Scanned, Scope, Store, StoredRecord,
};
use uuid::Uuid;

use schema::{AUDIT, AUDIT_TARGET, BLOBS, Envelope, FORMAT_VERSION, INDEX, META, RECORDS};

/// The redb-backed store. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    path: Option<PathBuf>,
    /// Windows of failures ([`Store::reserve_failures`]) in this process,
    /// the store's own: the file belongs to one process, and stores of one
    /// process (tests) do not share them.
    failures: Arc<FailureLedger>,
    /// The email outbox claim ([`Store::try_claim_email_outbox`]), the
    /// store's own for the same reason: the outbox is this file's.
    email_outbox: EmailOutboxClaims,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "database file {path} is already open in another process; an embedded store belongs to one \
         process (use the Postgres store to share data between processes)"
    )]
    AlreadyOpen { path: PathBuf },
    #[error(
        "database file {path} was written by a newer Regentra (format {found}, this build reads {FORMAT_VERSION})"
    )]
    NewerFormat { path: PathBuf, found: u64 },
    #[error("cannot open database file {path}: {source}")]
    Redb {
        path: PathBuf,
        #[source]
        source: redb::Error,
    },
}

/// The memory redb may keep for pages it has read or written: 64 MiB.
/// redb's default is 1 GiB, which a server fills as its file grows (an
/// audit chain adds to it with every change), so memory grew with the data
/// rather than with the load. Pages beyond it are read from the file again,
/// usually from the operating system's page cache, which holds a hot file
/// anyway (redb's cache is a second copy).
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

impl EmbeddedStore {
    /// Opens the database at `path`, creating the file (not its directory) if
    /// it does not exist.
    ///
    /// The file holds password and token hashes, so on Unix it is private to
    /// its owner: created with mode 0600, and tightened to 0600 when an
    /// existing file grants its group or others anything.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        blocking(move || {
            let file = open_private(&path).map_err(|e| open_error(&path, e.into()))?;
            let backend = FileBackend::new(file).map_err(|e| open_error(&path, e.into()))?;
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create_with_backend(backend)
                .map_err(|e| open_error(&path, e.into()))?;
            Self::init(db, Some(path))
        })
        .await
    }

    /// A fresh database held in memory, gone when the last clone is dropped.
    pub async fn in_memory() -> Result<Self> {
        blocking(|| {
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create_with_backend(redb::backends::InMemoryBackend::new())
                .map_err(|e| Error::storage(redb::Error::from(e)))?;
            Self::init(db, None)
        })
        .await
    }

    /// The file this store lives in, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Creates the tables and checks or writes the format version,
    /// bringing an older file up to date in the same transaction.
    fn init(db: Database, path: Option<PathBuf>) -> Result<Self> {
        let label = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
        let tx = db.begin_write().map_err(storage)?;
        {
            let mut meta = tx.open_table(META).map_err(storage)?;
            let found = meta
                .get("format_version")
                .map_err(storage)?
                .map(|v| v.value());
            tx.open_table(RECORDS).map_err(storage)?;
            tx.open_table(INDEX).map_err(storage)?;
            tx.open_table(AUDIT).map_err(storage)?;
            tx.open_table(AUDIT_TARGET).map_err(storage)?;
            tx.open_table(BLOBS).map_err(storage)?;
            match found {
                Some(found) if found > FORMAT_VERSION => {
                    let newer = OpenError::NewerFormat { path: label, found };
                    return Err(Error::Unavailable(newer.to_string()));
                }
                Some(FORMAT_VERSION) => {}
                Some(_) => {
                    index_audit_targets(&tx)?;
                    meta.insert("format_version", FORMAT_VERSION)
                        .map_err(storage)?;
                }
                None => {
                    meta.insert("format_version", FORMAT_VERSION)
                        .map_err(storage)?;
                }
            }
        }
        tx.commit().map_err(storage)?;
        Ok(Self {
            db: Arc::new(db),
            path,
            failures: Arc::default(),
            email_outbox: EmailOutboxClaims::default(),
        })
    }

    async fn read_tx<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        blocking(move || f(&db.begin_read().map_err(storage)?)).await
    }
}

/// Format 1 to 2: every audit event of the file entered in `audit_target`.
fn index_audit_targets(tx: &WriteTransaction) -> Result<()> {
    let chain = tx.open_table(AUDIT).map_err(storage)?;
    let mut targets = tx.open_table(AUDIT_TARGET).map_err(storage)?;
    for entry in chain.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let (org, seq) = key.value();
        let event = decode_event(value.value())?;
        targets
            .insert(
                (
                    org,
                    event.target.kind.as_str(),
                    event.target.id.as_str(),
                    seq,
                ),
                (),
            )
            .map_err(storage)?;
    }
    Ok(())
}

/// The database file, opened for reading and writing as redb opens it
/// (created if missing, never truncated), readable by its owner only.
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // The mode applies when the file is created, atomically with it.
        options.mode(0o600);
        let file = options.open(path)?;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

fn open_error(path: &Path, e: redb::Error) -> Error {
    let error = match e {
        redb::Error::DatabaseAlreadyOpen => OpenError::AlreadyOpen {
            path: path.to_path_buf(),
        },
        source => OpenError::Redb {
            path: path.to_path_buf(),
            source,
        },
    };
    Error::Unavailable(error.to_string())
}

fn storage(e: impl Into<redb::Error>) -> Error {
    Error::storage(e.into())
}

async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::storage(format!("embedded store task failed: {e}")))?
}

type RecordKey<'a> = (u128, &'a str, u128);
type IndexKey<'a> = (u128, &'a str, &'a str, &'a str, u128);

fn after_bound(after: Option<Uuid>) -> Bound<u128> {
    match after {
        Some(id) => Bound::Excluded(id.as_u128()),
        None => Bound::Included(0),
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>> {
        let kind = kind.to_owned();
        self.read_tx(move |tx| {
            let records = tx.open_table(RECORDS).map_err(storage)?;
            get_in(&records, scope, &kind, id)
        })
        .await
    }

    async fn get_many(
        &self,
        scope: Scope,
        kind: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredRecord>>> {
        let (kind, ids) = (kind.to_owned(), ids.to_vec());
        self.read_tx(move |tx| {
            let records = tx.open_table(RECORDS).map_err(storage)?;
            ids.iter()
                .map(|id| get_in(&records, scope, &kind, *id))
                .collect()
        })
        .await
    }

    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>> {
        let kind = kind.to_owned();
        self.read_tx(move |tx| {
            let records = tx.open_table(RECORDS).map_err(storage)?;
            list_in(&records, scope, &kind, page)
        })
        .await
    }

    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> Result<Vec<StoredRecord>> {
        let (kind, index, value) = (kind.to_owned(), index.to_owned(), value.to_owned());
        self.read_tx(move |tx| {
            let entries = tx.open_table(INDEX).map_err(storage)?;
            let records = tx.open_table(RECORDS).map_err(storage)?;
            find_in(&entries, &records, scope, &kind, &index, &value, page)
        })
        .await
    }

    async fn scan(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<Vec<Scanned>> {
        let (kind, scan) = (kind.to_owned(), scan.clone());
        self.read_tx(move |tx| {
            let entries = tx.open_table(INDEX).map_err(storage)?;
            let records = tx.open_table(RECORDS).map_err(storage)?;
            scan_in(&entries, &records, scope, &kind, &scan)
        })
        .await
    }

    /// The whole batch in one read transaction (one snapshot, one hop to
    /// the blocking pool).
    async fn read(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        self.read_tx(move |tx| {
            let entries = tx.open_table(INDEX).map_err(storage)?;
            let records = tx.open_table(RECORDS).map_err(storage)?;
            reads
                .into_iter()
                .map(|read| {
                    Ok(match read {
                        Read::Get { scope, kind, id } => {
                            ReadResult::One(get_in(&records, scope, &kind, id)?)
                        }
                        Read::GetMany { scope, kind, ids } => ReadResult::Each(
                            ids.iter()
                                .map(|id| get_in(&records, scope, &kind, *id))
                                .collect::<Result<_>>()?,
                        ),
                        Read::Find {
                            scope,
                            kind,
                            index,
                            value,
                            page,
                        } => ReadResult::Many(find_in(
                            &entries, &records, scope, &kind, &index, &value, page,
                        )?),
                        Read::Scan { scope, kind, scan } => {
                            ReadResult::Scanned(scan_in(&entries, &records, scope, &kind, &scan)?)
                        }
                        Read::List { scope, kind, page } => {
                            ReadResult::Many(list_in(&records, scope, &kind, page)?)
                        }
                        Read::Count { scope, kind, scan } => {
                            ReadResult::Count(count_in(&entries, scope, &kind, &scan)?)
                        }
                        Read::AuditBefore { org, before, limit } => {
                            let chain = tx.open_table(AUDIT).map_err(storage)?;
                            ReadResult::Events(events_before_in(&chain, org, before, limit)?)
                        }
                    })
                })
                .collect()
        })
        .await
    }

    /// Walks the index keys in one read transaction, reading no record.
    async fn count(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<u64> {
        let (kind, scan) = (kind.to_owned(), scan.clone());
        self.read_tx(move |tx| {
            let entries = tx.open_table(INDEX).map_err(storage)?;
            count_in(&entries, scope, &kind, &scan)
        })
        .await
    }

    async fn audit_events_before(
        &self,
        org: OrgId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        self.read_tx(move |tx| {
            let chain = tx.open_table(AUDIT).map_err(storage)?;
            events_before_in(&chain, org, before, limit)
        })
        .await
    }

    async fn apply(&self, changes: ChangeSet) -> Result<Applied> {
        // Any error returns before commit; dropping the transaction aborts
        // it, so nothing of the change set is written.
        self.write(move |tx| apply_in(tx, changes)).await
    }

    async fn reserve_failures(
        &self,
        windows: &[FailureWindow],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<FailureReservation> {
        Ok(self.failures.reserve(windows, now))
    }

    async fn release_failures(&self, failures: &[ReservedFailure]) -> Result<()> {
        self.failures.release(failures);
        Ok(())
    }

    async fn forget_failures(&self, key: &str) -> Result<()> {
        self.failures.forget(key);
        Ok(())
    }

    async fn try_claim_email_outbox(&self) -> Result<Option<EmailOutboxClaim>> {
        Ok(self.email_outbox.try_claim())
    }

    async fn put_blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32, data: Vec<u8>) -> Result<()> {
        self.write(move |tx| {
            let mut blobs = tx.open_table(BLOBS).map_err(storage)?;
            blobs
                .insert((org.0.as_u128(), blob.as_u128(), seq), data.as_slice())
                .map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> Result<Option<Vec<u8>>> {
        self.read_tx(move |tx| {
            let blobs = tx.open_table(BLOBS).map_err(storage)?;
            let chunk = blobs
                .get((org.0.as_u128(), blob.as_u128(), seq))
                .map_err(storage)?;
            Ok(chunk.map(|c| c.value().to_vec()))
        })
        .await
    }

    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> Result<()> {
        self.write(move |tx| {
            let mut blobs = tx.open_table(BLOBS).map_err(storage)?;
            let (o, b) = (org.0.as_u128(), blob.as_u128());
            blobs
                .retain_in((o, b, 0)..=(o, b, u32::MAX), |_, _| false)
                .map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        self.read_tx(move |tx| {
            let table = tx.open_table(AUDIT).map_err(storage)?;
            let o = org.0.as_u128();
            let lower = match after {
                Some(seq) => Bound::Excluded((o, seq)),
                None => Bound::Included((o, 0)),
            };
            let mut out = Vec::new();
            let limit = limit.clamp(1, regentra_core::store::MAX_PAGE);
            for entry in table
                .range((lower, Bound::Included((o, u64::MAX))))
                .map_err(storage)?
                .take(limit)
            {
                let (_, value) = entry.map_err(storage)?;
                out.push(decode_event(value.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn audit_events_about(
        &self,
        org: OrgId,
        targets: &[Target],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        let targets = targets.to_vec();
        self.read_tx(move |tx| audit_about_in(tx, org, &targets, after, limit))
            .await
    }
}

/// The events of `org` about `targets` after `after`, in chain order: the
/// first `limit` sequence numbers of each target's range of
/// `audit_target`, merged, then those events read from `audit`.
fn audit_about_in(
    tx: &ReadTransaction,
    org: OrgId,
    targets: &[Target],
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<AuditEvent>> {
    let by_target = tx.open_table(AUDIT_TARGET).map_err(storage)?;
    let chain = tx.open_table(AUDIT).map_err(storage)?;
    let o = org.0.as_u128();
    let limit = limit.clamp(1, regentra_core::store::MAX_PAGE);
    let first = after.map_or(0, |seq| seq.saturating_add(1));
    let mut seqs = std::collections::BTreeSet::new();
    for target in targets {
        let (kind, id) = (target.kind.as_str(), target.id.as_str());
        for entry in by_target
            .range((o, kind, id, first)..=(o, kind, id, u64::MAX))
            .map_err(storage)?
            .take(limit)
        {
            seqs.insert(entry.map_err(storage)?.0.value().3);
        }
    }
    let mut out = Vec::new();
    for seq in seqs.into_iter().take(limit) {
        let event = chain
            .get((o, seq))
            .map_err(storage)?
            .ok_or_else(|| Error::storage(format!("audit_target names missing event {seq}")))?;
        out.push(decode_event(event.value())?);
    }
    Ok(out)
}

/// An org's events with `seq < before`, newest first: the chain's keys
/// `(org, seq)` walked backwards.
fn events_before_in(
    chain: &impl ReadableTable<(u128, u64), &'static [u8]>,
    org: OrgId,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<AuditEvent>> {
    let o = org.0.as_u128();
    let upper = match before {
        Some(0) => return Ok(Vec::new()),
        Some(seq) => Bound::Excluded((o, seq)),
        None => Bound::Included((o, u64::MAX)),
    };
    let limit = limit.clamp(1, regentra_core::store::MAX_PAGE);
    let mut out = Vec::new();
    for entry in chain
        .range((Bound::Included((o, 0)), upper))
        .map_err(storage)?
        .rev()
        .take(limit)
    {
        let (_, value) = entry.map_err(storage)?;
        out.push(decode_event(value.value())?);
    }
    Ok(out)
}

fn get_in(
    records: &impl ReadableTable<RecordKey<'static>, &'static [u8]>,
    scope: Scope,
    kind: &str,
    id: Uuid,
) -> Result<Option<StoredRecord>> {
    let found = records
        .get((scope.key().as_u128(), kind, id.as_u128()))
        .map_err(storage)?;
    found
        .map(|v| Envelope::decode(v.value())?.into_record(id))
        .transpose()
}

fn list_in(
    records: &impl ReadableTable<RecordKey<'static>, &'static [u8]>,
    scope: Scope,
    kind: &str,
    page: PageRequest,
) -> Result<Vec<StoredRecord>> {
    let s = scope.key().as_u128();
    let lower = match after_bound(page.after) {
        Bound::Excluded(a) => Bound::Excluded((s, kind, a)),
        _ => Bound::Included((s, kind, 0)),
    };
    let upper = Bound::Included((s, kind, u128::MAX));
    let mut out = Vec::new();
    for entry in records
        .range::<RecordKey<'_>>((lower, upper))
        .map_err(storage)?
        .take(page.effective_limit())
    {
        let (key, value) = entry.map_err(storage)?;
        out.push(Envelope::decode(value.value())?.into_record(Uuid::from_u128(key.value().2))?);
    }
    Ok(out)
}

fn find_in(
    entries: &impl ReadableTable<IndexKey<'static>, ()>,
    records: &impl ReadableTable<RecordKey<'static>, &'static [u8]>,
    scope: Scope,
    kind: &str,
    index: &str,
    value: &str,
    page: PageRequest,
) -> Result<Vec<StoredRecord>> {
    let s = scope.key().as_u128();
    let lower = match after_bound(page.after) {
        Bound::Excluded(a) => Bound::Excluded((s, kind, index, value, a)),
        _ => Bound::Included((s, kind, index, value, 0)),
    };
    let upper = Bound::Included((s, kind, index, value, u128::MAX));
    let mut out = Vec::new();
    for entry in entries
        .range::<IndexKey<'_>>((lower, upper))
        .map_err(storage)?
        .take(page.effective_limit())
    {
        let id = entry.map_err(storage)?.0.value().4;
        out.push(indexed(records, s, kind, index, id)?);
    }
    Ok(out)
}

/// The record an index entry points at.
fn indexed(
    records: &impl ReadableTable<RecordKey<'static>, &'static [u8]>,
    s: u128,
    kind: &str,
    index: &str,
    id: u128,
) -> Result<StoredRecord> {
    let record = records
        .get((s, kind, id))
        .map_err(storage)?
        .ok_or_else(|| Error::storage(format!("index {index} points at missing {kind} {id}")))?;
    Envelope::decode(record.value())?.into_record(Uuid::from_u128(id))
}

/// An ordered walk over `(scope, kind, index, value, id)` keys: the range
/// of the scan's value bounds, narrowed by its cursor on the side it walks
/// from, each entry checked with [`IndexScan::admits`].
fn scan_in(
    entries: &impl ReadableTable<IndexKey<'static>, ()>,
    records: &impl ReadableTable<RecordKey<'static>, &'static [u8]>,
    scope: Scope,
    kind: &str,
    scan: &IndexScan,
) -> Result<Vec<Scanned>> {
    let s = scope.key().as_u128();
    let index = scan.index.as_str();
    let past_index = format!("{index}\0");
    let Some((lower, upper)) = scan_bounds(s, kind, scan, &past_index) else {
        return Ok(Vec::new());
    };
    let range = entries
        .range::<IndexKey<'_>>((lower, upper))
        .map_err(storage)?;
    let keys: Box<dyn Iterator<Item = _>> = match scan.order {
        Order::Ascending => Box::new(range),
        Order::Descending => Box::new(range.rev()),
    };
    let mut out = Vec::new();
    for entry in keys {
        if out.len() == scan.effective_limit() {
            break;
        }
        let key = entry.map_err(storage)?.0;
        let (_, _, _, value, id) = key.value();
        if !scan.admits(value, Uuid::from_u128(id)) {
            continue;
        }
        out.push(Scanned {
            value: value.to_owned(),
            record: indexed(records, s, kind, index, id)?,
        });
    }
    Ok(out)
}

/// How many distinct records hold an entry the scan admits: a walk of the
/// index keys alone, reading no record.
fn count_in(
    entries: &impl ReadableTable<IndexKey<'static>, ()>,
    scope: Scope,
    kind: &str,
    scan: &IndexScan,
) -> Result<u64> {
    let s = scope.key().as_u128();
    let past_index = format!("{}\0", scan.index);
    let Some((lower, upper)) = scan_bounds(s, kind, scan, &past_index) else {
        return Ok(0);
    };
    let mut ids = std::collections::BTreeSet::new();
    for entry in entries
        .range::<IndexKey<'_>>((lower, upper))
        .map_err(storage)?
    {
        let key = entry.map_err(storage)?.0;
        let (_, _, _, value, id) = key.value();
        if scan.admits(value, Uuid::from_u128(id)) {
            ids.insert(id);
        }
    }
    Ok(ids.len() as u64)
}

/// The key range of a scan: its value bounds, narrowed by its cursor on the
/// side it walks from; `None` when it holds nothing. `past_index` is the
/// index name followed by a NUL, the first name after it in byte order
/// (every key of the index sorts before it).
fn scan_bounds<'a>(
    s: u128,
    kind: &'a str,
    scan: &'a IndexScan,
    past_index: &'a str,
) -> Option<(Bound<IndexKey<'a>>, Bound<IndexKey<'a>>)> {
    let index = scan.index.as_str();
    let mut lower: Bound<IndexKey<'_>> = match &scan.from {
        Bound::Unbounded => Bound::Included((s, kind, index, "", 0)),
        Bound::Included(v) => Bound::Included((s, kind, index, v.as_str(), 0)),
        Bound::Excluded(v) => Bound::Excluded((s, kind, index, v.as_str(), u128::MAX)),
    };
    let mut upper: Bound<IndexKey<'_>> = match &scan.to {
        Bound::Unbounded => Bound::Excluded((s, kind, past_index, "", 0)),
        Bound::Included(v) => Bound::Included((s, kind, index, v.as_str(), u128::MAX)),
        Bound::Excluded(v) => Bound::Excluded((s, kind, index, v.as_str(), 0)),
    };
    if let Some(cursor) = &scan.after {
        let at = (s, kind, index, cursor.value.as_str(), cursor.id.as_u128());
        match scan.order {
            Order::Ascending if !below(&lower, &at) => lower = Bound::Excluded(at),
            Order::Descending if !above(&upper, &at) => upper = Bound::Excluded(at),
            _ => {}
        }
    }
    (!empty_range(&lower, &upper)).then_some((lower, upper))
}

/// Whether the lower bound already excludes `at` (so the cursor adds nothing).
fn below(lower: &Bound<IndexKey<'_>>, at: &IndexKey<'_>) -> bool {
    match lower {
        Bound::Included(l) => l > at,
        Bound::Excluded(l) => l >= at,
        Bound::Unbounded => false,
    }
}

/// Whether the upper bound already excludes `at`.
fn above(upper: &Bound<IndexKey<'_>>, at: &IndexKey<'_>) -> bool {
    match upper {
        Bound::Included(u) => u < at,
        Bound::Excluded(u) => u <= at,
        Bound::Unbounded => false,
    }
}

/// A range with nothing in it (redb refuses a start after the end).
fn empty_range(lower: &Bound<IndexKey<'_>>, upper: &Bound<IndexKey<'_>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}

impl EmbeddedStore {
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        blocking(move || {
            let tx = db.begin_write().map_err(storage)?;
            let out = f(&tx)?;
            tx.commit().map_err(storage)?;
            Ok(out)
        })
        .await
    }
}

fn apply_in(tx: &WriteTransaction, mut changes: ChangeSet) -> Result<Applied> {
    let mut records = tx.open_table(RECORDS).map_err(storage)?;
    let mut index = tx.open_table(INDEX).map_err(storage)?;
    // redb has one writer at a time: a counter read here cannot change
    // before this transaction commits.
    let mut drawn = Vec::with_capacity(changes.draws.len());
    for draw in std::mem::take(&mut changes.draws) {
        let key = (
            draw.scope.key().as_u128(),
            draw.counter_kind,
            draw.counter_id.as_u128(),
        );
        let Some(stored) = records
            .get(key)
            .map_err(storage)?
            .map(|v| v.value().to_vec())
        else {
            return Err(Error::NotFound {
                what: draw.counter_kind,
            });
        };
        let counter = Envelope::decode(&stored)?;
        let mut body: serde_json::Value =
            serde_json::from_str(counter.body.get()).map_err(Error::storage)?;
        let number = draw.advance(&mut body)?;
        write_record(
            &mut records,
            key,
            counter.version + 1,
            counter.indexes,
            &body,
        )?;
        draw.fill(number, &mut changes)?;
        drawn.push(number);
    }
    for mutation in changes.mutations {
        match mutation {
            Mutation::Insert {
                scope,
                kind,
                id,
                body,
                indexes,
            } => {
                let key = (scope.key().as_u128(), kind, id.as_u128());
                if records.get(key).map_err(storage)?.is_some() {
                    return Err(Error::AlreadyExists {
                        what: kind,
                        field: "id".into(),
                    });
                }
                add_entries(&mut index, scope, kind, id, &indexes)?;
                write_record(&mut records, key, 1, indexes, &body)?;
            }
            Mutation::Update {
                scope,
                kind,
                id,
                expected_version,
                body,
                indexes,
            } => {
                let key = (scope.key().as_u128(), kind, id.as_u128());
                let current = current(&records, key, kind, id, expected_version)?;
                remove_entries(&mut index, scope, kind, id, &current.indexes)?;
                add_entries(&mut index, scope, kind, id, &indexes)?;
                write_record(&mut records, key, expected_version + 1, indexes, &body)?;
            }
            Mutation::Delete {
                scope,
                kind,
                id,
                expected_version,
            } => {
                let key = (scope.key().as_u128(), kind, id.as_u128());
                let current = current(&records, key, kind, id, expected_version)?;
                remove_entries(&mut index, scope, kind, id, &current.indexes)?;
                records.remove(key).map_err(storage)?;
            }
            Mutation::Check {
                scope,
                kind,
                id,
                expected_version,
            } => {
                let key = (scope.key().as_u128(), kind, id.as_u128());
                match current(&records, key, kind, id, expected_version) {
                    Ok(_) => {}
                    // What was read is gone: as stale as a changed version.
                    Err(Error::NotFound { .. }) => {
                        return Err(Error::Conflict {
                            what: format!("{kind} {id}"),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    let mut chain = tx.open_table(AUDIT).map_err(storage)?;
    let mut by_target = tx.open_table(AUDIT_TARGET).map_err(storage)?;
    let mut sealed = Vec::with_capacity(changes.audit.len());
    for draft in changes.audit {
        let o = draft.org.0.as_u128();
        let head = match chain
            .range((o, 0)..=(o, u64::MAX))
            .map_err(storage)?
            .next_back()
        {
            Some(entry) => Some(decode_event(entry.map_err(storage)?.1.value())?.head()),
            None => None,
        };
        let event = audit::seal(head.as_ref(), draft);
        let bytes = serde_json::to_vec(&event).map_err(Error::storage)?;
        chain
            .insert((o, event.seq), bytes.as_slice())
            .map_err(storage)?;
        by_target
            .insert(
                (
                    o,
                    event.target.kind.as_str(),
                    event.target.id.as_str(),
                    event.seq,
                ),
                (),
            )
            .map_err(storage)?;
        sealed.push(event);
    }
    Ok(Applied {
        events: sealed,
        drawn,
    })
}

/// The stored envelope of a record about to be updated or deleted, after
/// checking it exists and has the version the caller read.
fn current(
    records: &Table<'_, RecordKey<'static>, &'static [u8]>,
    key: RecordKey<'_>,
    kind: &'static str,
    id: Uuid,
    expected_version: u64,
) -> Result<Envelope> {
    let Some(value) = records.get(key).map_err(storage)? else {
        return Err(Error::NotFound { what: kind });
    };
    let envelope = Envelope::decode(value.value())?;
    if envelope.version != expected_version {
        return Err(Error::Conflict {
            what: format!("{kind} {id}"),
        });
    }
    Ok(envelope)
}

fn write_record(
    records: &mut Table<'_, RecordKey<'static>, &'static [u8]>,
    key: RecordKey<'_>,
    version: u64,
    indexes: Vec<IndexEntry>,
    body: &serde_json::Value,
) -> Result<()> {
    let bytes = Envelope::new(version, indexes, body)?.encode()?;
    records.insert(key, bytes.as_slice()).map_err(storage)?;
    Ok(())
}

fn add_entries(
    index: &mut Table<'_, IndexKey<'static>, ()>,
    scope: Scope,
    kind: &'static str,
    id: Uuid,
    entries: &[IndexEntry],
) -> Result<()> {
    let s = scope.key().as_u128();
    for entry in entries {
        let (name, value) = (entry.name.as_str(), entry.value.as_str());
        if entry.unique {
            let holders = index
                .range((s, kind, name, value, 0)..=(s, kind, name, value, u128::MAX))
                .map_err(storage)?;
            for holder in holders {
                if holder.map_err(storage)?.0.value().4 != id.as_u128() {
                    return Err(Error::AlreadyExists {
                        what: kind,
                        field: entry.name.clone(),
                    });
                }
            }
        }
        index
            .insert((s, kind, name, value, id.as_u128()), ())
            .map_err(storage)?;
    }
    Ok(())
}

fn remove_entries(
    index: &mut Table<'_, IndexKey<'static>, ()>,
    scope: Scope,
    kind: &'static str,
    id: Uuid,
    entries: &[IndexEntry],
) -> Result<()> {
    let s = scope.key().as_u128();
    for entry in entries {
        index
            .remove((
                s,
                kind,
                entry.name.as_str(),
                entry.value.as_str(),
                id.as_u128(),
            ))
            .map_err(storage)?;
    }
    Ok(())
}

fn decode_event(bytes: &[u8]) -> Result<AuditEvent> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::storage(format!("undecodable audit event: {e}")))
}
