//! A store that counts what reaches it: how many reads, and how many records
//! of each kind they returned. Tests use it to show that an operation reads
//! what it needs and no more (a page reads a page, a sweep with nothing due
//! reads no ticket), whatever the store behind it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::error::Result;
use crate::ids::OrgId;
use crate::store::{
    Applied, ChangeSet, IndexScan, PageRequest, Read, ReadResult, Scanned, Scope, Store,
    StoredRecord,
};

/// Delegates every call to `inner`, counting reads (each call of `get`,
/// `get_many`, `list`, `find`, `scan`, `count`, `read`, `audit_events`,
/// `audit_events_before`, `audit_events_about`, `blob_chunk` is one) and
/// the records each kind returned (a count returns none).
#[derive(Debug)]
pub struct CountingStore<S> {
    pub inner: S,
    reads: AtomicUsize,
    returned: Mutex<BTreeMap<String, usize>>,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            reads: AtomicUsize::new(0),
            returned: Mutex::new(BTreeMap::new()),
        }
    }

    /// Reads so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    /// Records of `kind` returned by reads so far.
    pub fn returned(&self, kind: &str) -> usize {
        self.returned
            .lock()
            .map(|m| m.get(kind).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Forgets the counts.
    pub fn reset(&self) {
        self.reads.store(0, Ordering::SeqCst);
        if let Ok(mut m) = self.returned.lock() {
            m.clear();
        }
    }

    fn count(&self, kind: &str, records: usize) {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut m) = self.returned.lock() {
            *m.entry(kind.to_owned()).or_default() += records;
        }
    }

    fn count_result(&self, kind: &str, result: &ReadResult) {
        if let Ok(mut m) = self.returned.lock() {
            *m.entry(kind.to_owned()).or_default() += result.len();
        }
    }
}

#[async_trait::async_trait]
impl<S: Store> Store for CountingStore<S> {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>> {
        let found = self.inner.get(scope, kind, id).await?;
        self.count(kind, usize::from(found.is_some()));
        Ok(found)
    }
    async fn get_many(
        &self,
        scope: Scope,
        kind: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredRecord>>> {
        let found = self.inner.get_many(scope, kind, ids).await?;
        self.count(kind, found.iter().flatten().count());
        Ok(found)
    }
    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>> {
        let found = self.inner.list(scope, kind, page).await?;
        self.count(kind, found.len());
        Ok(found)
    }
    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> Result<Vec<StoredRecord>> {
        let found = self.inner.find(scope, kind, index, value, page).await?;
        self.count(kind, found.len());
        Ok(found)
    }
    async fn scan(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<Vec<Scanned>> {
        let found = self.inner.scan(scope, kind, scan).await?;
        self.count(kind, found.len());
        Ok(found)
    }
    async fn read(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        let kinds: Vec<String> = reads.iter().map(|r| r.kind().to_owned()).collect();
        let results = self.inner.read(reads).await?;
        self.reads.fetch_add(1, Ordering::SeqCst);
        for (kind, result) in kinds.iter().zip(&results) {
            self.count_result(kind, result);
        }
        Ok(results)
    }
    async fn count(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<u64> {
        let n = self.inner.count(scope, kind, scan).await?;
        self.count(kind, 0);
        Ok(n)
    }
    async fn audit_events_before(
        &self,
        org: OrgId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        let events = self.inner.audit_events_before(org, before, limit).await?;
        self.count("audit_event", events.len());
        Ok(events)
    }
    async fn apply(&self, changes: ChangeSet) -> Result<Applied> {
        self.inner.apply(changes).await
    }
    async fn reserve_failures(
        &self,
        windows: &[crate::store::FailureWindow],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::store::FailureReservation> {
        self.inner.reserve_failures(windows, now).await
    }
    async fn release_failures(&self, failures: &[crate::store::ReservedFailure]) -> Result<()> {
        self.inner.release_failures(failures).await
    }
    async fn forget_failures(&self, key: &str) -> Result<()> {
        self.inner.forget_failures(key).await
    }
    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        let events = self.inner.audit_events(org, after, limit).await?;
        self.count("audit_event", events.len());
        Ok(events)
    }
    async fn audit_events_about(
        &self,
        org: OrgId,
        targets: &[crate::audit::Target],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        let events = self
            .inner
            .audit_events_about(org, targets, after, limit)
            .await?;
        self.count("audit_event", events.len());
        Ok(events)
    }
    async fn put_blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32, data: Vec<u8>) -> Result<()> {
        self.inner.put_blob_chunk(org, blob, seq, data).await
    }
    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> Result<Option<Vec<u8>>> {
        let chunk = self.inner.blob_chunk(org, blob, seq).await?;
        self.count("blob_chunk", usize::from(chunk.is_some()));
        Ok(chunk)
    }
    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> Result<()> {
        self.inner.delete_blob(org, blob).await
    }
    async fn try_claim_sweep(&self, org: OrgId) -> Result<Option<crate::store::SweepClaim>> {
        self.inner.try_claim_sweep(org).await
    }
    async fn ready(&self) -> Result<()> {
        self.inner.ready().await
    }
    async fn send_signal(&self, signal: &str) -> Result<()> {
        self.inner.send_signal(signal).await
    }
    async fn listen_signals(&self) -> Result<Option<Box<dyn crate::store::SignalListener>>> {
        self.inner.listen_signals().await
    }
}
