//! Regentra's Postgres store: the whole [`Store`] contract on sqlx, for
//! deployments that outgrow one process or one machine.
//!
//! Tenant isolation is enforced twice. The queries name the org (the
//! contract's scope) in every `WHERE` clause, and Postgres row-level security
//! binds every row to the transaction's `app.org_id` setting, so a query
//! that forgot its org would still see nothing of another tenant. Tenant work
//! runs as [`RUNTIME_ROLE`], which is neither superuser, nor owner, nor
//! `BYPASSRLS`; each transaction switches to it and sets the org with
//! `set_config(..., true)`, which ends with the transaction, so nothing leaks
//! to the next user of a pooled connection.
//!
//! Queries are checked at run time (`query`, `query_as`): building needs no
//! database. Migrations are embedded and applied by
//! [`PostgresStore::migrate`] (or `regentra migrate --database-url URL`).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use regentra_core::audit::{self, AuditDraft, AuditEvent, ChainHead, GENESIS};
use regentra_core::error::{Error, Result};
use regentra_core::ids::OrgId;
use regentra_core::store::{
    ChangeSet, IndexEntry, MAX_PAGE, Mutation, PageRequest, Scope, Store, StoredRecord,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{Connection, PgConnection, Postgres, Transaction};
use uuid::Uuid;

#[cfg(feature = "testing")]
pub mod testing;

/// The role tenant work runs as (created by the migrations).
pub const RUNTIME_ROLE: &str = "regentra_app";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The Postgres-backed store. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user@host:port/db`). The user owns
    /// the schema (it runs the migrations) and must be a member of
    /// [`RUNTIME_ROLE`], which the migrations arrange.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, 10).await
    }

    /// Like [`PostgresStore::connect`] with a pool of at most `max_connections`.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| Error::invalid("database_url", format!("not a Postgres URL: {e}")))?;
        // One direct connection first: a pool would retry until its timeout
        // and report only that, where this reports why (refused, auth, ...).
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot connect to Postgres: {e}")))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// A store over an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool, for callers that manage connections themselves.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(Error::storage)
    }

    /// A transaction running as the runtime role with `app.org_id` set to
    /// `scope`: the only way this adapter touches data.
    async fn begin(&self, scope: Scope) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        sqlx::query("SELECT set_config('role', $1, true), set_config('app.org_id', $2, true)")
            .bind(RUNTIME_ROLE)
            .bind(scope.key().to_string())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        Ok(tx)
    }
}

/// Points the transaction at another org (for change sets that span scopes).
async fn enter(conn: &mut PgConnection, org: Uuid) -> Result<()> {
    sqlx::query("SELECT set_config('app.org_id', $1, true)")
        .bind(org.to_string())
        .execute(conn)
        .await
        .map_err(storage)?;
    Ok(())
}

/// Maps sqlx errors into the core's: unique violations are `AlreadyExists`,
/// serialization failures and deadlocks `Conflict`; everything else is
/// `Storage`, whose message never quotes the database (the cause stays in
/// `source()` for logs).
pub fn map_error(e: sqlx::Error) -> Error {
    storage(e)
}

fn storage(e: sqlx::Error) -> Error {
    if let Some(db) = e.as_database_error() {
        match db.code().as_deref() {
            Some("23505") => {
                return Error::AlreadyExists {
                    what: "record",
                    field: "id".into(),
                };
            }
            Some("40001") | Some("40P01") => {
                return Error::Conflict {
                    what: "concurrent transaction".into(),
                };
            }
            _ => {}
        }
    }
    Error::storage(e)
}

fn version_of(v: i64) -> u64 {
    // Versions are written by this adapter and checked > 0 by the schema.
    u64::try_from(v).unwrap_or_default()
}

fn limit_of(page: PageRequest) -> i64 {
    page.effective_limit() as i64
}

fn record((id, version, Json(body)): (Uuid, i64, Json<serde_json::Value>)) -> StoredRecord {
    StoredRecord {
        id,
        version: version_of(version),
        body,
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>> {
        let mut tx = self.begin(scope).await?;
        let row: Option<(Uuid, i64, Json<serde_json::Value>)> = sqlx::query_as(
            "SELECT id, version, body FROM records WHERE org_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(scope.key())
        .bind(kind.to_owned())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(row.map(record))
    }

    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>> {
        let mut tx = self.begin(scope).await?;
        let rows: Vec<(Uuid, i64, Json<serde_json::Value>)> = sqlx::query_as(
            "SELECT id, version, body FROM records \
             WHERE org_id = $1 AND kind = $2 AND ($3::uuid IS NULL OR id > $3) \
             ORDER BY id LIMIT $4",
        )
        .bind(scope.key())
        .bind(kind.to_owned())
        .bind(page.after)
        .bind(limit_of(page))
        .fetch_all(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(rows.into_iter().map(record).collect())
    }

    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> Result<Vec<StoredRecord>> {
        let mut tx = self.begin(scope).await?;
        let rows: Vec<(Uuid, i64, Json<serde_json::Value>)> = sqlx::query_as(
            "SELECT r.id, r.version, r.body FROM record_index i \
             JOIN records r ON r.org_id = i.org_id AND r.kind = i.kind AND r.id = i.id \
             WHERE i.org_id = $1 AND i.kind = $2 AND i.name = $3 AND i.value = $4 \
               AND ($5::uuid IS NULL OR i.id > $5) \
             ORDER BY i.id LIMIT $6",
        )
        .bind(scope.key())
        .bind(kind.to_owned())
        .bind(index.to_owned())
        .bind(value.to_owned())
        .bind(page.after)
        .bind(limit_of(page))
        .fetch_all(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(rows.into_iter().map(record).collect())
    }

    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEvent>> {
        let first = changes
            .mutations
            .first()
            .map(|m| m.scope().key())
            .or_else(|| changes.audit.first().map(|d| d.org.0))
            .unwrap_or_else(Uuid::nil);
        let mut tx = self.begin(Scope::from_key(first)).await?;
        let mut current = first;
        for mutation in changes.mutations {
            let org = mutation.scope().key();
            if org != current {
                enter(&mut tx, org).await?;
                current = org;
            }
            apply_mutation(&mut tx, org, mutation).await?;
        }
        let sealed = append_audit(&mut tx, changes.audit).await?;
        // Dropping `tx` on any error above rolls everything back.
        tx.commit().await.map_err(storage)?;
        Ok(sealed)
    }

    async fn put_blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32, data: Vec<u8>) -> Result<()> {
        let mut tx = self.begin(Scope::Org(org)).await?;
        sqlx::query(
            "INSERT INTO blob_chunks (org_id, blob_id, seq, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, blob_id, seq) DO UPDATE SET data = EXCLUDED.data",
        )
        .bind(org.0)
        .bind(blob)
        .bind(i64::from(seq))
        .bind(data)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)
    }

    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> Result<Option<Vec<u8>>> {
        let mut tx = self.begin(Scope::Org(org)).await?;
        let chunk: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT data FROM blob_chunks WHERE org_id = $1 AND blob_id = $2 AND seq = $3",
        )
        .bind(org.0)
        .bind(blob)
        .bind(i64::from(seq))
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(chunk)
    }

    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> Result<()> {
        let mut tx = self.begin(Scope::Org(org)).await?;
        sqlx::query("DELETE FROM blob_chunks WHERE org_id = $1 AND blob_id = $2")
            .bind(org.0)
            .bind(blob)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)
    }

    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        let mut tx = self.begin(Scope::from_key(org.0)).await?;
        let after = i64::try_from(after.unwrap_or(0)).unwrap_or(i64::MAX);
        let rows: Vec<(Json<AuditEvent>,)> = sqlx::query_as(
            "SELECT event FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(org.0)
        .bind(after)
        .bind(limit.clamp(1, MAX_PAGE) as i64)
        .fetch_all(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(rows.into_iter().map(|(Json(e),)| e).collect())
    }
}

async fn apply_mutation(conn: &mut PgConnection, org: Uuid, mutation: Mutation) -> Result<()> {
    match mutation {
        Mutation::Insert {
            kind,
            id,
            body,
            indexes,
            ..
        } => {
            let inserted = sqlx::query(
                "INSERT INTO records (org_id, kind, id, version, body) VALUES ($1, $2, $3, 1, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(org)
            .bind(kind)
            .bind(id)
            .bind(Json(body))
            .execute(&mut *conn)
            .await
            .map_err(storage)?;
            if inserted.rows_affected() == 0 {
                return Err(Error::AlreadyExists {
                    what: kind,
                    field: "id".into(),
                });
            }
            add_entries(conn, org, kind, id, indexes).await
        }
        Mutation::Update {
            kind,
            id,
            expected_version,
            body,
            indexes,
            ..
        } => {
            let updated = sqlx::query(
                "UPDATE records SET version = version + 1, body = $5 \
                 WHERE org_id = $1 AND kind = $2 AND id = $3 AND version = $4",
            )
            .bind(org)
            .bind(kind)
            .bind(id)
            .bind(expected_version as i64)
            .bind(Json(body))
            .execute(&mut *conn)
            .await
            .map_err(storage)?;
            if updated.rows_affected() == 0 {
                return Err(missing_or_stale(conn, org, kind, id).await);
            }
            sqlx::query("DELETE FROM record_index WHERE org_id = $1 AND kind = $2 AND id = $3")
                .bind(org)
                .bind(kind)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(storage)?;
            add_entries(conn, org, kind, id, indexes).await
        }
        Mutation::Delete {
            kind,
            id,
            expected_version,
            ..
        } => {
            // Index entries go with the record (ON DELETE CASCADE).
            let deleted = sqlx::query(
                "DELETE FROM records WHERE org_id = $1 AND kind = $2 AND id = $3 AND version = $4",
            )
            .bind(org)
            .bind(kind)
            .bind(id)
            .bind(expected_version as i64)
            .execute(&mut *conn)
            .await
            .map_err(storage)?;
            if deleted.rows_affected() == 0 {
                return Err(missing_or_stale(conn, org, kind, id).await);
            }
            Ok(())
        }
    }
}

/// Why an update or delete touched no row: the record is gone, or someone
/// else changed it first.
async fn missing_or_stale(
    conn: &mut PgConnection,
    org: Uuid,
    kind: &'static str,
    id: Uuid,
) -> Error {
    let exists = sqlx::query("SELECT 1 FROM records WHERE org_id = $1 AND kind = $2 AND id = $3")
        .bind(org)
        .bind(kind)
        .bind(id)
        .fetch_optional(conn)
        .await;
    match exists {
        Ok(Some(_)) => Error::Conflict {
            what: format!("{kind} {id}"),
        },
        Ok(None) => Error::NotFound { what: kind },
        Err(e) => storage(e),
    }
}

/// Writes a record's index entries in one statement. A unique entry whose
/// value another record holds is skipped by `ON CONFLICT DO NOTHING` (which
/// waits for a concurrent holder to commit or roll back) and reported as
/// `AlreadyExists` naming the index.
async fn add_entries(
    conn: &mut PgConnection,
    org: Uuid,
    kind: &'static str,
    id: Uuid,
    entries: Vec<IndexEntry>,
) -> Result<()> {
    let entries: BTreeSet<IndexEntry> = entries.into_iter().collect();
    if entries.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    let values: Vec<String> = entries.iter().map(|e| e.value.clone()).collect();
    let unique: Vec<bool> = entries.iter().map(|e| e.unique).collect();
    let written: Vec<(String, String)> = sqlx::query_as(
        "INSERT INTO record_index (org_id, kind, name, value, id, is_unique) \
         SELECT $1, $2, n, v, $3, u FROM UNNEST($4::text[], $5::text[], $6::bool[]) AS e(n, v, u) \
         ON CONFLICT DO NOTHING RETURNING name, value",
    )
    .bind(org)
    .bind(kind)
    .bind(id)
    .bind(names)
    .bind(values)
    .bind(unique)
    .fetch_all(conn)
    .await
    .map_err(storage)?;
    let written: BTreeSet<(String, String)> = written.into_iter().collect();
    match entries
        .iter()
        .find(|e| !written.contains(&(e.name.clone(), e.value.clone())))
    {
        Some(taken) => Err(Error::AlreadyExists {
            what: kind,
            field: taken.name.clone(),
        }),
        None => Ok(()),
    }
}

/// Seals and appends the drafts, each to its org's chain. The chain heads of
/// every org involved are locked first, in org order, so two change sets
/// touching the same orgs queue up instead of deadlocking.
async fn append_audit(conn: &mut PgConnection, drafts: Vec<AuditDraft>) -> Result<Vec<AuditEvent>> {
    let orgs: BTreeSet<Uuid> = drafts.iter().map(|d| d.org.0).collect();
    let mut heads: BTreeMap<Uuid, Option<ChainHead>> = BTreeMap::new();
    for org in orgs {
        enter(conn, org).await?;
        sqlx::query(
            "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
        )
        .bind(org)
        .bind(GENESIS)
        .execute(&mut *conn)
        .await
        .map_err(storage)?;
        let (seq, hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE org_id = $1 FOR UPDATE")
                .bind(org)
                .fetch_one(&mut *conn)
                .await
                .map_err(storage)?;
        let head = (seq > 0).then(|| ChainHead {
            seq: version_of(seq),
            hash,
        });
        heads.insert(org, head);
    }
    let mut sealed = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let org = draft.org.0;
        enter(conn, org).await?;
        let head = heads.get(&org).cloned().flatten();
        let event = audit::seal(head.as_ref(), draft);
        sqlx::query("INSERT INTO audit_events (org_id, seq, event) VALUES ($1, $2, $3)")
            .bind(org)
            .bind(event.seq as i64)
            .bind(Json(&event))
            .execute(&mut *conn)
            .await
            .map_err(storage)?;
        sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1")
            .bind(org)
            .bind(event.seq as i64)
            .bind(&event.hash)
            .execute(&mut *conn)
            .await
            .map_err(storage)?;
        heads.insert(org, Some(event.head()));
        sealed.push(event);
    }
    Ok(sealed)
}
