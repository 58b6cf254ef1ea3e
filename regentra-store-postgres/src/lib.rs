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
//! to the next user of a pooled connection. The switch can be undone inside
//! a transaction (`RESET ROLE`), so a server connects as a login role that
//! is only a member of [`RUNTIME_ROLE`], which
//! [`PostgresStore::check_least_privilege`] verifies; migrations run as the
//! schema's owner.
//!
//! Queries are checked at run time (`query`, `query_as`): building needs no
//! database. Migrations are embedded and applied by
//! [`PostgresStore::migrate`] (or `regentra migrate --database-url URL`).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use regentra_core::audit::{self, AuditDraft, AuditEvent, ChainHead, GENESIS, Target};
use regentra_core::error::{Error, Result};
use regentra_core::ids::OrgId;
use std::ops::Bound;
use std::time::Duration;

use regentra_core::store::{
    Applied, ChangeSet, EmailOutboxClaim, FailureReservation, FailureWindow, IndexEntry, IndexScan,
    MAX_PAGE, Mutation, Order, PageRequest, Read, ReadResult, ReservedFailure, Scanned, Scope,
    SignalListener, Store, StoredRecord, SweepClaim, SweepHold,
};
use serde_json::value::RawValue;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

mod failures;
mod signals;
pub use signals::{MAX_SIGNAL_BYTES, SIGNAL_CHANNEL};
#[cfg(feature = "testing")]
pub mod testing;

/// The role tenant work runs as (created by the migrations).
pub const RUNTIME_ROLE: &str = "regentra_app";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The Postgres-backed store. Cheap to clone; clones share the pools.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The connections that hold claims ([`Store::try_claim_sweep`],
    /// [`Store::try_claim_email_outbox`]), apart from `pool`, so that held
    /// claims never take the connections the work itself (and requests)
    /// needs.
    claims: PgPool,
}

/// The most sweep claims one store holds at once (the reference worker
/// sweeps 8 orgs at a time); a further claim waits for a connection.
pub const SWEEP_CLAIM_CONNECTIONS: u32 = 8;

/// The claims' pool: the sweeps' connections and one for the email
/// outbox's claim, so a worker holding all its sweep claims never keeps
/// the email loop waiting. Not reserved: it holds while the worker claims
/// at most [`SWEEP_CLAIM_CONNECTIONS`] orgs at once, as the reference
/// worker does.
const CLAIM_CONNECTIONS: u32 = SWEEP_CLAIM_CONNECTIONS + 1;

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user@host:port/db`). The user
    /// must be a member of [`RUNTIME_ROLE`] (which the migrations arrange for
    /// the owner who runs them). A server connects as a login role that is
    /// only that, never as the owner or a superuser: see
    /// [`PostgresStore::check_least_privilege`].
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
        let pool = pool_options(max_connections).connect_lazy_with(options);
        Ok(Self::from_pool(pool))
    }

    /// A store over an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        let claims =
            pool_options(CLAIM_CONNECTIONS).connect_lazy_with((*pool.connect_options()).clone());
        Self { pool, claims }
    }

    /// The pool, for callers that manage connections themselves.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations that have not run yet. Run it as the
    /// schema's owner (`regentra migrate --database-url OWNER_URL`), never as
    /// the login role the server runs as.
    ///
    /// The first migration creates [`RUNTIME_ROLE`] unless it exists (roles
    /// belong to the whole cluster, so another database's migration may have
    /// made it) and makes the owner a member of it. When the owner lacks the
    /// right to do either, this says which grant is missing and the SQL a
    /// superuser runs to give it, before anything is changed
    /// ([`Error::Unavailable`]).
    pub async fn migrate(&self) -> Result<()> {
        if !self.applied_versions().await.is_ok_and(|v| v.contains(&1)) {
            self.check_can_create_the_runtime_role().await?;
        }
        MIGRATOR.run(&self.pool).await.map_err(Error::storage)
    }

    /// What the first migration needs of the user who runs it: to create
    /// [`RUNTIME_ROLE`] when it is missing (CREATEROLE) and to make itself
    /// a member (membership granted already, or the right to grant it).
    async fn check_can_create_the_runtime_role(&self) -> Result<()> {
        let (user, superuser, createrole, exists, member, version): (
            String,
            bool,
            bool,
            bool,
            bool,
            i32,
        ) = sqlx::query_as(
            "SELECT current_user::text, r.rolsuper, r.rolcreaterole, \
                    EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1), \
                    EXISTS (SELECT 1 FROM pg_roles a WHERE a.rolname = $1 \
                            AND pg_has_role(current_user, a.oid, 'MEMBER')), \
                    current_setting('server_version_num')::int \
             FROM pg_roles r WHERE r.rolname = current_user",
        )
        .bind(RUNTIME_ROLE)
        .fetch_one(&self.pool)
        .await
        .map_err(storage)?;
        if superuser || member {
            return Ok(());
        }
        let user = quote_ident(&user);
        if !exists {
            if createrole {
                return Ok(());
            }
            return Err(Error::Unavailable(format!(
                "the migrations create the role {RUNTIME_ROLE}, which takes CREATEROLE, and {user} \
                 lacks it; as a superuser run once per cluster: \
                 CREATE ROLE {RUNTIME_ROLE} NOLOGIN; GRANT {RUNTIME_ROLE} TO {user}; \
                 then run the migrations again"
            )));
        }
        // Before Postgres 16, CREATEROLE may grant any role that is not a
        // superuser; since, only ADMIN OPTION on the role may.
        if createrole && version < 160_000 {
            return Ok(());
        }
        Err(Error::Unavailable(format!(
            "the role {RUNTIME_ROLE} already exists (roles belong to the whole cluster: another \
             database's migration created it), and {user} is not a member of it and may not grant \
             it (that takes ADMIN OPTION on {RUNTIME_ROLE}); as a superuser run: \
             GRANT {RUNTIME_ROLE} TO {user}; then run the migrations again"
        )))
    }

    /// The versions of the embedded migrations this database has not
    /// applied (empty when its schema is current). A server that does not
    /// migrate checks this first; the runtime role may read the migration
    /// history (granted by the migrations). A database whose history cannot
    /// be read (none, or too old to grant the runtime role that right) has
    /// every migration pending.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let applied = match self.applied_versions().await {
            Ok(applied) => applied,
            Err(e) => match e.as_database_error().and_then(|d| d.code()).as_deref() {
                // No history table, or one the runtime role may not read.
                Some("42P01") | Some("42501") => Vec::new(),
                _ => return Err(storage(e)),
            },
        };
        Ok(MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
            .map(|m| m.version)
            .collect())
    }

    async fn applied_versions(&self) -> std::result::Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
    }

    /// Checks that the user this store connects as holds no more power than
    /// tenant work needs: not a superuser, not `BYPASSRLS`, not the owner of
    /// the schema or its tables, nor able to become any of these with `SET
    /// ROLE` (membership, direct or not, in such a role), and a member of
    /// [`RUNTIME_ROLE`]. A server refuses to start otherwise: each
    /// transaction switches to the runtime role, but a switch inside a
    /// transaction can be undone (`RESET ROLE`) and the session user's own
    /// rights would be back. The check is of the session user, which that
    /// reset returns to. Stores built for tests or tools may well connect as
    /// the owner; this is the server's policy, not the library's.
    pub async fn check_least_privilege(&self) -> std::result::Result<(), PrivilegeProblem> {
        let mut conn = self.pool.acquire().await.map_err(|e| PrivilegeProblem {
            user: String::new(),
            reasons: vec![PrivilegeReason::Unchecked(e.to_string())],
        })?;
        let user: String = sqlx::query_scalar("SELECT session_user::text")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| PrivilegeProblem {
                user: String::new(),
                reasons: vec![PrivilegeReason::Unchecked(e.to_string())],
            })?;
        let reasons = privilege_reasons(&mut conn)
            .await
            .unwrap_or_else(|e| vec![PrivilegeReason::Unchecked(e.to_string())]);
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(PrivilegeProblem { user, reasons })
        }
    }

    /// A transaction running as the runtime role with `app.org_id` set to
    /// `scope`: the only way this adapter touches data.
    ///
    /// `BEGIN` and both settings travel in one round trip (a simple query of
    /// two statements; the org is a uuid's text, nothing a caller chose). A
    /// read ends by dropping the transaction: it has nothing to commit, and
    /// sqlx sends the `ROLLBACK` ahead of the connection's next use instead
    /// of waiting for it.
    async fn begin(&self, scope: Scope) -> Result<Transaction<'static, Postgres>> {
        self.begin_as(scope, "BEGIN").await
    }

    /// Like [`Self::begin`], with a `BEGIN` statement of its own (an
    /// isolation level).
    async fn begin_as(
        &self,
        scope: Scope,
        begin: &'static str,
    ) -> Result<Transaction<'static, Postgres>> {
        let begin = format!(
            "{begin}; SELECT set_config('role', '{RUNTIME_ROLE}', true), \
             set_config('app.org_id', '{}', true)",
            scope.key()
        );
        self.pool
            .begin_with(AssertSqlSafe(begin))
            .await
            .map_err(storage)
    }

    /// One attempt at committing a change set (see [`Store::apply`]).
    async fn apply_once(&self, mut changes: ChangeSet) -> Result<Applied> {
        let first = changes
            .draws
            .first()
            .map(|d| d.scope.key())
            .or_else(|| changes.mutations.first().map(|m| m.scope().key()))
            .or_else(|| changes.audit.first().map(|d| d.org.0))
            .unwrap_or_else(Uuid::nil);
        let mut tx = self.begin(Scope::from_key(first)).await?;
        let mut current = first;
        let mut drawn = Vec::with_capacity(changes.draws.len());
        for draw in std::mem::take(&mut changes.draws) {
            let org = draw.scope.key();
            switch(&mut tx, &mut current, org).await?;
            let number = draw_number(&mut tx, org, &draw).await?;
            draw.fill(number, &mut changes)?;
            drawn.push(number);
        }
        for mutation in changes.mutations {
            let org = mutation.scope().key();
            switch(&mut tx, &mut current, org).await?;
            apply_mutation(&mut tx, org, mutation).await?;
        }
        let events = append_audit(&mut tx, &mut current, changes.audit).await?;
        // Dropping `tx` on any error above rolls everything back.
        tx.commit().await.map_err(storage)?;
        Ok(Applied { events, drawn })
    }

    /// A transaction-scoped advisory lock on `(class, key)`, taken in a
    /// transaction that the returned lock keeps open on a connection of the
    /// claims' own pool (it reads no table, so it needs no role or org):
    /// every process on the database sees it, releasing is ending that
    /// transaction, and a process that dies holding it loses it when its
    /// connection closes. `None` while another holds it.
    async fn try_advisory_claim(&self, class: i32, key: i32) -> Result<Option<SweepLock>> {
        let mut tx = self.claims.begin().await.map_err(storage)?;
        let granted: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
            .bind(class)
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(storage)?;
        if !granted {
            tx.rollback().await.map_err(storage)?;
            return Ok(None);
        }
        Ok(Some(SweepLock(tx)))
    }
}

/// Pool settings: a connection is pinged before use only when it has been
/// idle a while (a ping per request is a round trip per request; one that
/// died in between fails that use, and the pool drops it).
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(30) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Why the user a store connects as is unfit to serve tenants (see
/// [`PostgresStore::check_least_privilege`]); its text says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeProblem {
    /// The session user.
    pub user: String,
    pub reasons: Vec<PrivilegeReason>,
}

/// One way the session user could get past row-level security.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivilegeReason {
    /// It is a superuser (`via` is `None`), or may become `via`, one.
    Superuser { via: Option<String> },
    /// It has `BYPASSRLS`, or may become `via`, which has.
    BypassRls { via: Option<String> },
    /// It is, or may become, `owner`, which owns `objects` (the schema or
    /// its tables) and so may turn row-level security off.
    Owner { owner: String, objects: Vec<String> },
    /// It has `CREATEROLE`, or may become `via`, which has: before Postgres
    /// 16 that grants membership in any role but a superuser, the owner's
    /// included.
    CreateRole { via: Option<String> },
    /// It is a member of `role` (`pg_read_server_files`,
    /// `pg_write_server_files` or `pg_execute_server_program`), which reaches
    /// the server's own files, the tables' included.
    ServerFiles { role: String },
    /// It may create objects in `schema`, where the owner's migrations
    /// (and the server) would find them by name.
    CreateInSchema { schema: String },
    /// It is not a member of [`RUNTIME_ROLE`] (which may not exist yet:
    /// the migrations create it).
    NotRuntimeMember,
    /// The check itself failed; refused rather than assumed fine.
    Unchecked(String),
}

impl std::fmt::Display for PrivilegeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Superuser { via: None } => write!(f, "it is a superuser"),
            Self::Superuser { via: Some(role) } => {
                write!(f, "it may SET ROLE {role}, a superuser")
            }
            Self::BypassRls { via: None } => write!(f, "it has BYPASSRLS"),
            Self::BypassRls { via: Some(role) } => {
                write!(f, "it may SET ROLE {role}, which has BYPASSRLS")
            }
            Self::Owner { owner, objects } => write!(
                f,
                "it is or may become {owner}, the owner of {}",
                objects.join(", ")
            ),
            Self::CreateRole { via: None } => {
                write!(
                    f,
                    "it has CREATEROLE, and may grant itself the owner's role"
                )
            }
            Self::CreateRole { via: Some(role) } => write!(
                f,
                "it may SET ROLE {role}, which has CREATEROLE and may grant the owner's role"
            ),
            Self::ServerFiles { role } => write!(
                f,
                "it is a member of {role}, which reaches the server's files (the tables' too)"
            ),
            Self::CreateInSchema { schema } => write!(
                f,
                "it may create objects in schema {schema}, where the owner would find them \
                 (REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC, and from it)"
            ),
            Self::NotRuntimeMember => write!(f, "it is not a member of {RUNTIME_ROLE}"),
            Self::Unchecked(why) => write!(f, "its privileges cannot be checked ({why})"),
        }
    }
}

impl std::fmt::Display for PrivilegeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reasons: Vec<String> = self.reasons.iter().map(ToString::to_string).collect();
        write!(
            f,
            "the database user {} may get past row-level security: {}; serve as a login role \
             that is only a member of {RUNTIME_ROLE}: as a superuser run \
             CREATE ROLE regentra_server LOGIN PASSWORD '<secret>' IN ROLE {RUNTIME_ROLE}; \
             and connect as regentra_server (run the migrations as the owner)",
            quote_ident(&self.user),
            reasons.join("; ")
        )
    }
}

impl std::error::Error for PrivilegeProblem {}

/// The reasons the session user of `conn` is too privileged (see
/// [`PrivilegeReason`]); empty when it is fit.
async fn privilege_reasons(
    conn: &mut PgConnection,
) -> std::result::Result<Vec<PrivilegeReason>, sqlx::Error> {
    let mut reasons = Vec::new();
    // Every role the session user is or may become (a superuser may become
    // any role: it is listed as a superuser itself, first).
    let powers: Vec<(String, bool, bool, bool, bool, bool)> = sqlx::query_as(
        "SELECT r.rolname::text, r.rolname = session_user, r.rolsuper, r.rolbypassrls, \
                r.rolcreaterole, r.rolname = ANY ($1) \
         FROM pg_roles r \
         WHERE pg_has_role(session_user, r.oid, 'MEMBER') \
           AND (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolname = ANY ($1)) \
         ORDER BY r.rolname <> session_user, r.rolname",
    )
    .bind(
        [
            "pg_read_server_files",
            "pg_write_server_files",
            "pg_execute_server_program",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .fetch_all(&mut *conn)
    .await?;
    if let Some((_, true, true, ..)) = powers.first() {
        // A superuser is everything at once: nothing more to say.
        return Ok(vec![PrivilegeReason::Superuser { via: None }]);
    }
    for (role, itself, superuser, bypass, createrole, server_files) in powers {
        let via = (!itself).then(|| role.clone());
        if superuser {
            reasons.push(PrivilegeReason::Superuser { via: via.clone() });
        }
        if bypass {
            reasons.push(PrivilegeReason::BypassRls { via: via.clone() });
        }
        if createrole {
            reasons.push(PrivilegeReason::CreateRole { via });
        }
        if server_files {
            reasons.push(PrivilegeReason::ServerFiles { role });
        }
    }
    let owned: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT owner, array_agg(object ORDER BY object) FROM ( \
             SELECT pg_get_userbyid(n.nspowner)::text AS owner, \
                    'schema ' || n.nspname::text AS object \
             FROM pg_namespace n \
             WHERE n.nspname = current_schema() \
               AND pg_has_role(session_user, n.nspowner, 'MEMBER') \
             UNION ALL \
             SELECT pg_get_userbyid(c.relowner)::text, c.relname::text \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
               AND pg_has_role(session_user, c.relowner, 'MEMBER') \
         ) o GROUP BY owner ORDER BY owner",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (owner, objects) in owned {
        reasons.push(PrivilegeReason::Owner { owner, objects });
    }
    let member: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = $1 \
                        AND pg_has_role(session_user, r.oid, 'MEMBER'))",
    )
    .bind(RUNTIME_ROLE)
    .fetch_one(&mut *conn)
    .await?;
    if !member {
        reasons.push(PrivilegeReason::NotRuntimeMember);
    }
    let creates: Option<String> = sqlx::query_scalar(
        "SELECT current_schema()::text \
         WHERE has_schema_privilege(session_user, current_schema(), 'CREATE')",
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(schema) = creates
        && !reasons
            .iter()
            .any(|r| matches!(r, PrivilegeReason::Owner { .. }))
    {
        reasons.push(PrivilegeReason::CreateInSchema { schema });
    }
    Ok(reasons)
}

/// `name` as a Postgres identifier, quoted.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Points the transaction at `org` unless it is there already.
async fn switch(conn: &mut PgConnection, current: &mut Uuid, org: Uuid) -> Result<()> {
    if *current != org {
        enter(conn, org).await?;
        *current = org;
    }
    Ok(())
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

/// What a serialization failure or deadlock is reported as: a conflict of
/// the database's own making, which `apply` retries.
const CONCURRENT: &str = "concurrent transaction";

/// The first key of every sweep claim's advisory lock ("RGSW"), so that
/// other users of advisory locks on the database never meet ours.
const SWEEP_LOCK_CLASS: i32 = 0x5247_5357;

/// The second key: the org's uuid folded to 32 bits. Two orgs may share a
/// key (rarely); each then waits for the other's sweep to end, nothing worse.
fn sweep_lock_key(org: OrgId) -> i32 {
    let bytes = org.0.as_bytes();
    let folded = bytes
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .fold(0u32, |acc, w| acc ^ w);
    i32::from_be_bytes(folded.to_be_bytes())
}

/// The first key of the email outbox claim's advisory lock ("RGEM"),
/// apart from the sweeps' class so that no org's key ever meets it.
const EMAIL_OUTBOX_LOCK_CLASS: i32 = 0x5247_454D;

/// The second key: there is one outbox.
const EMAIL_OUTBOX_LOCK_KEY: i32 = 0;

/// The transaction holding a claim's advisory lock. Dropped, sqlx rolls it
/// back when the connection goes back to the pool.
struct SweepLock(Transaction<'static, Postgres>);

#[async_trait]
impl SweepHold for SweepLock {
    async fn release(self: Box<Self>) {
        // A rollback that fails means the connection is gone, and the
        // lock with it.
        let _ = self.0.rollback().await;
    }
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
                    what: CONCURRENT.into(),
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

/// A row of `SELECT id, version, body::text`: the body stays JSON text,
/// decoded once by the core into its type.
type Row = (Uuid, i64, String);

fn record((id, version, body): Row) -> Result<StoredRecord> {
    let body = RawValue::from_string(body)
        .map_err(|e| Error::storage(format!("undecodable record {id}: {e}")))?;
    Ok(StoredRecord::new(id, version_of(version), body))
}

fn records(rows: Vec<Row>) -> Result<Vec<StoredRecord>> {
    rows.into_iter().map(record).collect()
}

#[async_trait]
impl Store for PostgresStore {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>> {
        let mut tx = self.begin(scope).await?;
        get_in(&mut tx, scope, kind, id).await
    }

    async fn get_many(
        &self,
        scope: Scope,
        kind: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredRecord>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin(scope).await?;
        get_many_in(&mut tx, scope, kind, ids).await
    }

    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>> {
        let mut tx = self.begin(scope).await?;
        list_in(&mut tx, scope, kind, page).await
    }

    async fn count(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<u64> {
        let mut tx = self.begin(scope).await?;
        count_in(&mut tx, scope, kind, scan).await
    }

    async fn audit_events_before(
        &self,
        org: OrgId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        let mut tx = self.begin(Scope::from_key(org.0)).await?;
        events_before_in(&mut tx, org, before, limit).await
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
        find_in(&mut tx, scope, kind, index, value, page).await
    }

    async fn scan(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<Vec<Scanned>> {
        let mut tx = self.begin(scope).await?;
        scan_in(&mut tx, scope, kind, scan).await
    }

    /// The whole batch in one transaction (one snapshot: repeatable read),
    /// moving `app.org_id` only between scopes.
    async fn read(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        let Some(first) = reads.first().map(|r| read_scope(r).key()) else {
            return Ok(Vec::new());
        };
        let begin = if reads.len() > 1 {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        } else {
            "BEGIN"
        };
        let mut tx = self.begin_as(Scope::from_key(first), begin).await?;
        let mut current = first;
        let mut out = Vec::with_capacity(reads.len());
        for read in reads {
            let scope = read_scope(&read);
            switch(&mut tx, &mut current, scope.key()).await?;
            out.push(match read {
                Read::Get { kind, id, .. } => {
                    ReadResult::One(get_in(&mut tx, scope, &kind, id).await?)
                }
                Read::GetMany { kind, ids, .. } => {
                    ReadResult::Each(get_many_in(&mut tx, scope, &kind, &ids).await?)
                }
                Read::Find {
                    kind,
                    index,
                    value,
                    page,
                    ..
                } => ReadResult::Many(find_in(&mut tx, scope, &kind, &index, &value, page).await?),
                Read::Scan { kind, scan, .. } => {
                    ReadResult::Scanned(scan_in(&mut tx, scope, &kind, &scan).await?)
                }
                Read::List { kind, page, .. } => {
                    ReadResult::Many(list_in(&mut tx, scope, &kind, page).await?)
                }
                Read::Count { kind, scan, .. } => {
                    ReadResult::Count(count_in(&mut tx, scope, &kind, &scan).await?)
                }
                Read::AuditBefore {
                    org, before, limit, ..
                } => ReadResult::Events(events_before_in(&mut tx, org, before, limit).await?),
            });
        }
        Ok(out)
    }

    /// Commits the change set; a serialization failure or deadlock (the
    /// database's own concurrency, not a stale version) is retried with a
    /// growing, jittered pause, the whole change set again.
    async fn apply(&self, changes: ChangeSet) -> Result<Applied> {
        const ATTEMPTS: u32 = 8;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(changes.clone()).await {
                Err(Error::Conflict { what }) if what == CONCURRENT && attempt < ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// In `failure_reservations`, which every process on the database
    /// shares (see the `failures` module).
    async fn reserve_failures(
        &self,
        windows: &[FailureWindow],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<FailureReservation> {
        self.reserve_failures_in_db(windows, now).await
    }

    async fn release_failures(&self, failures: &[ReservedFailure]) -> Result<()> {
        self.release_failures_in_db(failures).await
    }

    async fn forget_failures(&self, key: &str) -> Result<()> {
        self.forget_failures_in_db(key).await
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

    /// `NOTIFY` on the signal channel: every process listening hears it.
    async fn send_signal(&self, signal: &str) -> Result<()> {
        self.send_signal_now(signal).await
    }

    /// `LISTEN` on a connection of its own.
    async fn listen_signals(&self) -> Result<Option<Box<dyn SignalListener>>> {
        Ok(Some(self.listen_for_signals().await?))
    }

    /// A transaction-scoped advisory lock on the org
    /// ([`Self::try_advisory_claim`]): a process that dies mid-sweep loses
    /// it with its connection, so another takes the org at its next sweep.
    async fn try_claim_sweep(&self, org: OrgId) -> Result<Option<SweepClaim>> {
        Ok(self
            .try_advisory_claim(SWEEP_LOCK_CLASS, sweep_lock_key(org))
            .await?
            .map(|lock| SweepClaim::new(org, lock)))
    }

    /// The same kind of lock as a sweep claim's, under a class of its own:
    /// the email loop of one process at a time holds it while it sends and
    /// marks a batch, and a process that dies mid-batch loses it with its
    /// connection.
    async fn try_claim_email_outbox(&self) -> Result<Option<EmailOutboxClaim>> {
        Ok(self
            .try_advisory_claim(EMAIL_OUTBOX_LOCK_CLASS, EMAIL_OUTBOX_LOCK_KEY)
            .await?
            .map(EmailOutboxClaim::new))
    }

    /// `SELECT 1`, then the migration history: a database behind the
    /// server's migrations is not ready (the server's queries would fail).
    async fn ready(&self) -> Result<()> {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| Error::Unavailable(format!("Postgres does not answer: {e}")))?;
        let pending = self.pending_migrations().await?;
        if !pending.is_empty() {
            return Err(Error::Unavailable(format!(
                "the database schema is behind this server: {} migration(s) pending \
                 (run `regentra migrate`)",
                pending.len()
            )));
        }
        Ok(())
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
        Ok(rows.into_iter().map(|(Json(e),)| e).collect())
    }

    /// Each target's first events after `after` by the `audit_events_target`
    /// index (migration 0005), merged in chain order: one statement.
    async fn audit_events_about(
        &self,
        org: OrgId,
        targets: &[Target],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin(Scope::from_key(org.0)).await?;
        let after = i64::try_from(after.unwrap_or(0)).unwrap_or(i64::MAX);
        let kinds: Vec<String> = targets.iter().map(|t| t.kind.clone()).collect();
        let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        let rows: Vec<(Json<AuditEvent>,)> = sqlx::query_as(
            "SELECT DISTINCT ON (e.seq) e.event FROM unnest($2::text[], $3::text[]) AS t(kind, id) \
             CROSS JOIN LATERAL ( \
                 SELECT seq, event FROM audit_events \
                 WHERE org_id = $1 AND event #>> '{target,kind}' = t.kind \
                   AND event #>> '{target,id}' = t.id AND seq > $4 \
                 ORDER BY seq LIMIT $5) e \
             ORDER BY e.seq LIMIT $5",
        )
        .bind(org.0)
        .bind(kinds)
        .bind(ids)
        .bind(after)
        .bind(limit.clamp(1, MAX_PAGE) as i64)
        .fetch_all(&mut *tx)
        .await
        .map_err(storage)?;
        Ok(rows.into_iter().map(|(Json(e),)| e).collect())
    }
}

fn read_scope(read: &Read) -> Scope {
    read.scope()
}

/// The pause before retrying attempt `attempt + 1`: 2 ms doubling, at most
/// about 250 ms, with up to half of it random so that the transactions that
/// collided do not collide again.
fn backoff(attempt: u32) -> Duration {
    let base = 2u64 << attempt.min(7);
    // The low bits of a v7 uuid are random.
    let jitter = (Uuid::now_v7().as_u128() % u128::from(base / 2 + 1)) as u64;
    Duration::from_millis(base / 2 + jitter)
}

async fn get_in(
    conn: &mut PgConnection,
    scope: Scope,
    kind: &str,
    id: Uuid,
) -> Result<Option<StoredRecord>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, version, body::text FROM records WHERE org_id = $1 AND kind = $2 AND id = $3",
    )
    .bind(scope.key())
    .bind(kind.to_owned())
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(storage)?;
    row.map(record).transpose()
}

async fn get_many_in(
    conn: &mut PgConnection,
    scope: Scope,
    kind: &str,
    ids: &[Uuid],
) -> Result<Vec<Option<StoredRecord>>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, version, body::text FROM records \
         WHERE org_id = $1 AND kind = $2 AND id = ANY ($3)",
    )
    .bind(scope.key())
    .bind(kind.to_owned())
    .bind(ids.to_vec())
    .fetch_all(conn)
    .await
    .map_err(storage)?;
    let mut found: BTreeMap<Uuid, StoredRecord> = BTreeMap::new();
    for row in rows {
        let r = record(row)?;
        found.insert(r.id, r);
    }
    Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
}

async fn find_in(
    conn: &mut PgConnection,
    scope: Scope,
    kind: &str,
    index: &str,
    value: &str,
    page: PageRequest,
) -> Result<Vec<StoredRecord>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.version, r.body::text FROM record_index i \
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
    .fetch_all(conn)
    .await
    .map_err(storage)?;
    records(rows)
}

async fn list_in(
    conn: &mut PgConnection,
    scope: Scope,
    kind: &str,
    page: PageRequest,
) -> Result<Vec<StoredRecord>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, version, body::text FROM records \
         WHERE org_id = $1 AND kind = $2 AND ($3::uuid IS NULL OR id > $3) \
         ORDER BY id LIMIT $4",
    )
    .bind(scope.key())
    .bind(kind.to_owned())
    .bind(page.after)
    .bind(limit_of(page))
    .fetch_all(conn)
    .await
    .map_err(storage)?;
    records(rows)
}

/// An org's events with `seq < before`, newest first (the primary key
/// `(org_id, seq)` walked backwards).
async fn events_before_in(
    conn: &mut PgConnection,
    org: OrgId,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<AuditEvent>> {
    let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let rows: Vec<(Json<AuditEvent>,)> = sqlx::query_as(
        "SELECT event FROM audit_events WHERE org_id = $1 AND seq < $2 \
         ORDER BY seq DESC LIMIT $3",
    )
    .bind(org.0)
    .bind(before)
    .bind(limit.clamp(1, MAX_PAGE) as i64)
    .fetch_all(conn)
    .await
    .map_err(storage)?;
    Ok(rows.into_iter().map(|(Json(e),)| e).collect())
}

/// The `WHERE` conditions of a scan over `record_index` (alias `i`): the
/// org, kind and index, the value range and the cursor in the scan's order.
fn push_scan_conditions(
    q: &mut QueryBuilder<Postgres>,
    scope: Scope,
    kind: &str,
    scan: &IndexScan,
) {
    q.push(" WHERE i.org_id = ")
        .push_bind(scope.key())
        .push(" AND i.kind = ")
        .push_bind(kind.to_owned())
        .push(" AND i.name = ")
        .push_bind(scan.index.clone());
    match &scan.from {
        Bound::Included(v) => {
            q.push(" AND i.value >= ").push_bind(v.clone());
        }
        Bound::Excluded(v) => {
            q.push(" AND i.value > ").push_bind(v.clone());
        }
        Bound::Unbounded => {}
    }
    match &scan.to {
        Bound::Included(v) => {
            q.push(" AND i.value <= ").push_bind(v.clone());
        }
        Bound::Excluded(v) => {
            q.push(" AND i.value < ").push_bind(v.clone());
        }
        Bound::Unbounded => {}
    }
    if let Some(cursor) = &scan.after {
        let op = match scan.order {
            Order::Ascending => ">",
            Order::Descending => "<",
        };
        q.push(format!(" AND (i.value, i.id) {op} ("))
            .push_bind(cursor.value.clone())
            .push(", ")
            .push_bind(cursor.id)
            .push(")");
    }
}

/// How many distinct records hold an entry the scan admits: an index-only
/// count over the primary key's range, reading no record body.
async fn count_in(
    conn: &mut PgConnection,
    scope: Scope,
    kind: &str,
    scan: &IndexScan,
) -> Result<u64> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT count(DISTINCT i.id) FROM record_index i");
    push_scan_conditions(&mut q, scope, kind, scan);
    let (n,): (i64,) = q.build_query_as().fetch_one(conn).await.map_err(storage)?;
    Ok(version_of(n))
}

/// An ordered walk over `record_index`. Its `value` column compares byte
/// by byte (`COLLATE "C"`, migration 0004), the order the contract
/// promises, so the primary key `(org_id, kind, name, value, id)` serves
/// the range, the cursor (a row comparison) and the order, both ways.
async fn scan_in(
    conn: &mut PgConnection,
    scope: Scope,
    kind: &str,
    scan: &IndexScan,
) -> Result<Vec<Scanned>> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT i.value, r.id, r.version, r.body::text FROM record_index i \
         JOIN records r ON r.org_id = i.org_id AND r.kind = i.kind AND r.id = i.id",
    );
    push_scan_conditions(&mut q, scope, kind, scan);
    let dir = match scan.order {
        Order::Ascending => "ASC",
        Order::Descending => "DESC",
    };
    q.push(format!(" ORDER BY i.value {dir}, i.id {dir} LIMIT "))
        .push_bind(scan.effective_limit() as i64);
    let rows: Vec<(String, Uuid, i64, String)> =
        q.build_query_as().fetch_all(conn).await.map_err(storage)?;
    rows.into_iter()
        .map(|(value, id, version, body)| {
            Ok(Scanned {
                value,
                record: record((id, version, body))?,
            })
        })
        .collect()
}

/// Draws the next number of a counter: one `UPDATE ... RETURNING`, which
/// locks the counter's row until the commit, so concurrent draws queue.
async fn draw_number(
    conn: &mut PgConnection,
    org: Uuid,
    draw: &regentra_core::store::Draw,
) -> Result<u64> {
    let next: Option<i64> = sqlx::query_scalar(
        "UPDATE records SET version = version + 1, \
                body = jsonb_set(body, ARRAY[$4::text], to_jsonb((body ->> $4)::bigint + 1)) \
         WHERE org_id = $1 AND kind = $2 AND id = $3 \
         RETURNING (body ->> $4)::bigint",
    )
    .bind(org)
    .bind(draw.counter_kind)
    .bind(draw.counter_id)
    .bind(draw.counter_field)
    .fetch_optional(conn)
    .await
    .map_err(storage)?;
    match next {
        Some(n) => Ok(version_of(n)),
        None => Err(Error::NotFound {
            what: draw.counter_kind,
        }),
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
        Mutation::Check {
            kind,
            id,
            expected_version,
            ..
        } => {
            // FOR SHARE holds the row as read until the commit: a
            // concurrent update waits for this transaction, or this one
            // sees its result.
            let version: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM records WHERE org_id = $1 AND kind = $2 AND id = $3 FOR SHARE",
            )
            .bind(org)
            .bind(kind)
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(storage)?;
            if version != Some(expected_version as i64) {
                return Err(Error::Conflict {
                    what: format!("{kind} {id}"),
                });
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
async fn append_audit(
    conn: &mut PgConnection,
    current: &mut Uuid,
    drafts: Vec<AuditDraft>,
) -> Result<Vec<AuditEvent>> {
    let orgs: BTreeSet<Uuid> = drafts.iter().map(|d| d.org.0).collect();
    let mut heads: BTreeMap<Uuid, Option<ChainHead>> = BTreeMap::new();
    for org in orgs {
        switch(conn, current, org).await?;
        // Creates the chain's head row if needed and locks it, in one
        // statement (the no-op update takes the row lock).
        let (seq, hash): (i64, String) = sqlx::query_as(
            "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) \
             ON CONFLICT (org_id) DO UPDATE SET seq = audit_heads.seq \
             RETURNING seq, hash",
        )
        .bind(org)
        .bind(GENESIS)
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
        switch(conn, current, org).await?;
        let head = heads.get(&org).cloned().flatten();
        let event = audit::seal(head.as_ref(), draft);
        sqlx::query(
            "WITH appended AS (INSERT INTO audit_events (org_id, seq, event) VALUES ($1, $2, $3)) \
             UPDATE audit_heads SET seq = $2, hash = $4 WHERE org_id = $1",
        )
        .bind(org)
        .bind(event.seq as i64)
        .bind(Json(&event))
        .bind(&event.hash)
        .execute(&mut *conn)
        .await
        .map_err(storage)?;
        heads.insert(org, Some(event.head()));
        sealed.push(event);
    }
    Ok(sealed)
}
