//! Test databases: each test gets a database of its own, created from
//! `REGENTRA_TEST_DATABASE_URL`, migrated, and dropped when the test is done,
//! so runs never collide and leave nothing behind. Without the variable the
//! tests say they were skipped.

use std::sync::Arc;

use async_trait::async_trait;
use regentra_core::audit::AuditEvent;
use regentra_core::error::Result;
use regentra_core::ids::OrgId;
use regentra_core::store::{ChangeSet, PageRequest, Scope, Store, StoredRecord};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use uuid::Uuid;

use crate::PostgresStore;

/// The variable naming the server tests run against, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub const TEST_DATABASE_URL: &str = "REGENTRA_TEST_DATABASE_URL";

/// The server URL, or `None` after printing why the test is skipped.
pub fn server_url() -> Option<String> {
    match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Written to stderr directly: the test harness captures `eprintln!`
            // of passing tests, and a skip must be seen.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {TEST_DATABASE_URL} is not set, so this Postgres test does not run"
            );
            None
        }
    }
}

/// A database that exists for as long as this value (and the stores made
/// from it) live.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    server: String,
    url: String,
}

impl TestDatabase {
    /// Creates and migrates a fresh database on the test server; `None` when
    /// no server is configured. Panics if the server is configured but cannot
    /// be used: a CI run must not quietly skip.
    pub async fn create() -> Option<Arc<TestDatabase>> {
        let db = Self::create_empty().await?;
        db.store()
            .await
            .migrate()
            .await
            .expect("migrations apply to an empty database");
        Some(db)
    }

    /// A fresh database with nothing in it, not even the migrations.
    pub async fn create_empty() -> Option<Arc<TestDatabase>> {
        let server = server_url()?;
        let name = format!("regentra_test_{}", Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is set but unreachable: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = admin.close().await;
        let options: PgConnectOptions = server.parse().expect("valid test URL");
        let url = options.database(&name).to_url_lossy().to_string();
        let db = Arc::new(TestDatabase { name, server, url });
        db.store()
            .await
            .migrate()
            .await
            .expect("migrations apply to an empty database");
        Some(db)
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store with its own small pool on this database.
    pub async fn store(&self) -> PostgresStore {
        PostgresStore::connect_with(&self.url, 4)
            .await
            .expect("test database accepts connections")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs outside any async context we can rely on: use a thread
        // with a runtime of its own. FORCE ends pooled connections still open.
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "warning: test database {} was not dropped: {dropped:?}",
                self.name
            );
        }
    }
}

/// A store on a fresh test database, which is dropped with the store: the
/// factory for `regentra_core::conformance_tests!`.
pub async fn fresh_store() -> Option<TestStore> {
    let db = TestDatabase::create().await?;
    let store = db.store().await;
    Some(TestStore { store, _db: db })
}

/// A [`PostgresStore`] that keeps its test database alive.
#[derive(Debug, Clone)]
pub struct TestStore {
    pub store: PostgresStore,
    _db: Arc<TestDatabase>,
}

#[async_trait]
impl Store for TestStore {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>> {
        self.store.get(scope, kind, id).await
    }
    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>> {
        self.store.list(scope, kind, page).await
    }
    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> Result<Vec<StoredRecord>> {
        self.store.find(scope, kind, index, value, page).await
    }
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEvent>> {
        self.store.apply(changes).await
    }
    async fn put_blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32, data: Vec<u8>) -> Result<()> {
        self.store.put_blob_chunk(org, blob, seq, data).await
    }
    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> Result<Option<Vec<u8>>> {
        self.store.blob_chunk(org, blob, seq).await
    }
    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> Result<()> {
        self.store.delete_blob(org, blob).await
    }
    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        self.store.audit_events(org, after, limit).await
    }
}
