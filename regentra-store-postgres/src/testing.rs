//! Test databases: each test gets a database of its own on the server named by
//! `REGENTRA_TEST_DATABASE_URL`, dropped when the test is done, so runs never
//! collide. Without the variable the tests say they were skipped.
//!
//! What keeps this fast and tidy:
//!
//! - **A migrated template.** Migrating is the slow part of making a
//!   database, so it happens once: into a template database, which
//!   [`TestDatabase::create`] copies with `CREATE DATABASE ... TEMPLATE`. The
//!   template is named after a fingerprint of the embedded migrations (the
//!   versions and checksums sqlx checks) and of the user who migrated it (who
//!   owns its tables and was made a member of [`RUNTIME_ROLE`]), so a changed
//!   migration gets a new template and a stale one is never used. A copy
//!   needs nothing more: the runtime role and its memberships belong to the
//!   whole cluster, and the grants the store relies on are on the schema and
//!   the tables, which are copied (the migrations grant nothing on the
//!   database itself, which would not be). The template is built under a
//!   temporary name while holding an advisory lock, so concurrent test
//!   processes build it once, and renamed when complete, so a half-built one
//!   is never used. It then accepts no connections, because a copy fails
//!   while anyone is connected to its source.
//! - **One admin thread per process.** A thread of the harness's own, with a
//!   runtime and a few pooled connections to the server, creates and drops
//!   every database of the test process, for whichever test and runtime
//!   asks: a test pays for no connection or thread of its own to do so (in a
//!   debug build, a TLS handshake alone takes about a tenth of a second).
//! - **Owners that can be checked.** The admin thread also keeps one session
//!   open for the life of the process, holding an advisory lock keyed by a
//!   number that names the process's databases (`regentra_test_<owner>_<n>`).
//!   Postgres releases the lock when the process ends, however it ends, so a
//!   database whose owner's lock is free was left by a process that crashed
//!   or was killed. Unlike a process id, this holds when tests on several
//!   machines or containers share a server, and is not fooled by a reused
//!   pid.
//! - **A sweep.** Once per process, before creating anything, the harness
//!   drops those orphans and the user's templates of other migrations,
//!   skipping any database someone is connected to. Cleaning up after others
//!   is best effort: a failure is a warning, never a failed test.
//!
//! [`RUNTIME_ROLE`]: crate::RUNTIME_ROLE

use std::collections::HashSet;
use std::error::Error as StdError;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use regentra_core::testing::StoreWith;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{OnceCell, mpsc, oneshot};
use uuid::Uuid;

use crate::{MIGRATOR, PostgresStore};

/// The variable naming the server tests run against, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub const TEST_DATABASE_URL: &str = "REGENTRA_TEST_DATABASE_URL";

/// Every database the harness makes is named with this prefix.
const PREFIX: &str = "regentra_test_";

/// The first key of the harness's advisory locks ("RGTS"); the second is an
/// owner's number, or [`TEMPLATE_LOCK`].
const LOCK_SPACE: i32 = 0x5247_5453;

/// The second key of the lock held while templates are built or swept;
/// owners are numbered from 1.
const TEMPLATE_LOCK: i32 = 0;

type Failure = Box<dyn StdError + Send + Sync>;
type Outcome<T> = std::result::Result<T, Failure>;

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
    url: String,
    admin: mpsc::UnboundedSender<Request>,
}

impl TestDatabase {
    /// A fresh, migrated database on the test server, copied from the
    /// template of the current migrations (built first if there is none);
    /// `None` when no server is configured. Panics if the server is configured
    /// but cannot be used: a CI run must not quietly skip.
    pub async fn create() -> Option<Arc<TestDatabase>> {
        let harness = harness().await?;
        TEMPLATE_READY
            .get_or_try_init(|| harness.ask(Request::EnsureTemplate))
            .await
            .unwrap_or_else(|e| panic!("cannot build the test template database: {e}"));
        Some(harness.create(true).await)
    }

    /// A fresh database with nothing in it, not even the migrations: for
    /// tests of migrating, and for servers that migrate on start.
    pub async fn create_empty() -> Option<Arc<TestDatabase>> {
        let harness = harness().await?;
        Some(harness.create(false).await)
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
        // Drop may run on a runtime's thread or on none: wait for the admin
        // thread with a plain channel, which works on either.
        let (reply, dropped) = std::sync::mpsc::channel();
        let asked = self.admin.send(Request::Drop {
            name: self.name.clone(),
            reply,
        });
        let dropped = match asked {
            Ok(()) => dropped
                .recv()
                .unwrap_or_else(|_| Err("the admin thread is gone".into())),
            Err(_) => Err("the admin thread is gone".into()),
        };
        if let Err(e) = dropped {
            eprintln!("warning: test database {} was not dropped: {e}", self.name);
        }
    }
}

/// What the admin thread is asked to do.
#[derive(Debug)]
enum Request {
    /// Build the template unless it exists.
    EnsureTemplate(oneshot::Sender<Outcome<()>>),
    /// Create a database, from the template or empty; replies its name.
    Create {
        from_template: bool,
        reply: oneshot::Sender<Outcome<String>>,
    },
    /// Drop a database, ending any session on it.
    Drop {
        name: String,
        reply: std::sync::mpsc::Sender<Outcome<()>>,
    },
}

/// The process's way to its admin thread.
#[derive(Debug)]
struct Harness {
    server: String,
    admin: mpsc::UnboundedSender<Request>,
}

static HARNESS: OnceCell<Harness> = OnceCell::const_new();
static TEMPLATE_READY: OnceCell<()> = OnceCell::const_new();

/// The process's [`Harness`], started on first use (`None` without a test
/// server).
async fn harness() -> Option<&'static Harness> {
    let server = server_url()?;
    let harness = HARNESS
        .get_or_init(|| async {
            let admin = Admin::start(server.clone())
                .await
                .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is set but unusable: {e}"));
            Harness { server, admin }
        })
        .await;
    Some(harness)
}

impl Harness {
    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<Outcome<T>>) -> Request,
    ) -> Outcome<T> {
        let (reply, answer) = oneshot::channel();
        self.admin
            .send(request(reply))
            .map_err(|_| "the admin thread is gone")?;
        answer.await?
    }

    async fn create(&self, from_template: bool) -> Arc<TestDatabase> {
        let name = self
            .ask(|reply| Request::Create {
                from_template,
                reply,
            })
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        let options: PgConnectOptions = self.server.parse().expect("valid test URL");
        let url = options.database(&name).to_url_lossy().to_string();
        Arc::new(TestDatabase {
            name,
            url,
            admin: self.admin.clone(),
        })
    }
}

/// The admin thread's state: the pool its requests run on, and what it
/// needs to name and build databases.
#[derive(Debug)]
struct Admin {
    pool: PgPool,
    server: String,
    owner: i32,
    template: String,
    next: AtomicU64,
    /// How copies are made: `FILE_COPY` where the server knows it (15 and
    /// later default to `WAL_LOG`, which writes the whole template to the
    /// WAL and is about 2.5x slower for a database this small).
    copy_strategy: &'static str,
}

impl Admin {
    /// Starts the admin thread: owner lock taken, orphans swept. Returns the
    /// way to it.
    async fn start(server: String) -> Outcome<mpsc::UnboundedSender<Request>> {
        let (ready, started) = oneshot::channel();
        std::thread::Builder::new()
            .name("regentra-test-admin".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(Failure::from(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let (_owner_session, admin) = match Admin::connect(server).await {
                        Ok(started) => started,
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return;
                        }
                    };
                    let admin = Arc::new(admin);
                    let (requests, mut inbox) = mpsc::unbounded_channel();
                    if ready.send(Ok(requests)).is_err() {
                        return;
                    }
                    // The sender lives in a static: this serves, and the owner
                    // session holds the lock, until the process exits. Each
                    // request runs as a task of its own, so one test's slow
                    // drop does not hold up another's create.
                    while let Some(request) = inbox.recv().await {
                        let admin = Arc::clone(&admin);
                        tokio::spawn(async move { admin.serve(request).await });
                    }
                });
            })?;
        started.await?
    }

    /// Opens the owner session (which takes the lock and sweeps) and the
    /// pool for requests.
    async fn connect(server: String) -> Outcome<(PgConnection, Admin)> {
        let mut session = PgConnection::connect(&server).await?;
        // A server that ends idle sessions would take the owner lock along.
        execute(&mut session, "SET idle_session_timeout = 0".to_owned()).await?;
        let user: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut session)
            .await?;
        let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
            .fetch_one(&mut session)
            .await?;
        let copy_strategy = if version >= 150_000 {
            " STRATEGY FILE_COPY"
        } else {
            ""
        };
        let owner = take_owner_lock(&mut session).await?;
        let template = template_name(&user);
        if let Err(e) = sweep(&mut session, &template).await {
            eprintln!("warning: leftover test databases were not cleaned up: {e}");
        }
        let options: PgConnectOptions = server.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_lazy_with(options);
        let admin = Admin {
            pool,
            server,
            owner,
            template,
            next: AtomicU64::new(1),
            copy_strategy,
        };
        Ok((session, admin))
    }

    async fn serve(&self, request: Request) {
        match request {
            Request::EnsureTemplate(reply) => {
                let _ = reply.send(self.ensure_template().await);
            }
            Request::Create {
                from_template,
                reply,
            } => {
                let _ = reply.send(self.create(from_template).await);
            }
            Request::Drop { name, reply } => {
                let _ = reply.send(self.drop_database(&name).await);
            }
        }
    }

    async fn drop_database(&self, name: &str) -> Outcome<()> {
        let mut conn = self.pool.acquire().await?;
        drop_database(&mut conn, name, false, true).await?;
        Ok(())
    }

    /// Builds the template unless it exists. Processes take turns (an
    /// advisory lock), so each template is built once however many test
    /// processes start together.
    async fn ensure_template(&self) -> Outcome<()> {
        let mut conn = self.pool.acquire().await?;
        lock_templates(&mut conn).await?;
        let built = self.build_template_if_missing(&mut conn).await;
        let _ = unlock_templates(&mut conn).await;
        built
    }

    async fn build_template_if_missing(&self, conn: &mut PgConnection) -> Outcome<()> {
        let template = &self.template;
        if database_exists(conn, template).await? {
            return Ok(());
        }
        // Built under a name of this process, so a build cut short by a
        // crash is an orphan for a later sweep, never a template.
        let building = format!(
            "{PREFIX}{}_{}",
            self.owner,
            template.trim_start_matches(PREFIX)
        );
        drop_database(conn, &building, true, true).await?;
        execute(conn, format!("CREATE DATABASE \"{building}\"")).await?;
        let built = self.migrate_and_rename(conn, &building).await;
        if built.is_err() {
            let _ = drop_database(conn, &building, true, true).await;
        }
        built
    }

    async fn migrate_and_rename(&self, conn: &mut PgConnection, building: &str) -> Outcome<()> {
        let options: PgConnectOptions = self.server.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.database(building))
            .await?;
        let migrated = MIGRATOR.run(&pool).await;
        // Every session must be gone before the rename, and before any copy.
        pool.close().await;
        migrated?;
        // No one may connect any more (a connected session makes a copy
        // fail); Postgres gives sessions still ending a few seconds to go.
        execute(
            conn,
            format!("ALTER DATABASE \"{building}\" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"),
        )
        .await?;
        retry_while_in_use(
            conn,
            format!(
                "ALTER DATABASE \"{building}\" RENAME TO \"{}\"",
                self.template
            ),
        )
        .await?;
        Ok(())
    }

    async fn create(&self, from_template: bool) -> Outcome<String> {
        let mut rebuilds = 0;
        loop {
            let next = self.next.fetch_add(1, Ordering::Relaxed);
            let name = format!("{PREFIX}{}_{next}", self.owner);
            let sql = if from_template {
                format!(
                    "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"{}",
                    self.template, self.copy_strategy
                )
            } else {
                format!("CREATE DATABASE \"{name}\"")
            };
            let mut conn = self.pool.acquire().await?;
            let Err(e) = retry_while_in_use(&mut conn, sql).await else {
                return Ok(name);
            };
            drop(conn);
            match sql_state(&e).as_deref() {
                // Left by an earlier process with the same owner number that
                // could not be swept: take the next name.
                Some("42P04") => {}
                // The template was swept by a process with other migrations
                // (or by hand): build it again, a few times at most.
                Some("3D000") if from_template && rebuilds < 3 => {
                    rebuilds += 1;
                    self.ensure_template().await?;
                }
                _ => return Err(format!("cannot create {name}: {e}").into()),
            }
        }
    }
}

/// Takes a free owner number's lock on `conn`: random, so concurrent
/// processes do not race for the same one.
async fn take_owner_lock(conn: &mut PgConnection) -> Outcome<i32> {
    let random = std::collections::hash_map::RandomState::new();
    for attempt in 0..100u64 {
        let mut hasher = random.build_hasher();
        hasher.write_u64(attempt);
        // A positive i32, so never TEMPLATE_LOCK.
        let owner = (hasher.finish() % (i32::MAX as u64)) as i32 + 1;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(LOCK_SPACE)
            .bind(owner)
            .fetch_one(&mut *conn)
            .await?;
        if taken {
            return Ok(owner);
        }
    }
    Err("no free owner number for test databases".into())
}

/// The name of the template of the current migrations, built by `user`.
fn template_name(user: &str) -> String {
    format!("{PREFIX}template_{}", fingerprint(user))
}

/// The fingerprint in the template's name: FNV-1a (stable across Rust
/// versions, unlike std's hasher) over the up migrations' versions and
/// checksums, and the user the template is built by and for.
fn fingerprint(user: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for migration in MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        feed(&migration.version.to_le_bytes());
        feed(&migration.checksum);
    }
    feed(user.as_bytes());
    format!("{hash:016x}")
}

/// What a database's name says about it.
#[derive(Debug, PartialEq, Eq)]
enum Made {
    /// `regentra_test_template_<fingerprint>`.
    Template,
    /// `regentra_test_<owner>_...`: a test database, or a template being built.
    Owned(i32),
    /// Not named by this harness (an older one's, or someone else's): left alone.
    Unknown,
}

fn made(name: &str) -> Made {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return Made::Unknown;
    };
    if rest.starts_with("template_") {
        return Made::Template;
    }
    match rest.split_once('_').map(|(owner, _)| owner.parse::<i32>()) {
        Some(Ok(owner)) if owner > 0 => Made::Owned(owner),
        _ => Made::Unknown,
    }
}

/// Drops the databases of processes that are gone (their owner lock is free)
/// and this user's templates of other migrations, if nobody is connected to
/// them. A failed drop is a warning; the error is for the listing itself.
/// Holds the template lock, so it never drops a template while a process is
/// building one.
async fn sweep(admin: &mut PgConnection, current_template: &str) -> Outcome<()> {
    lock_templates(admin).await?;
    let swept = sweep_locked(admin, current_template).await;
    let _ = unlock_templates(admin).await;
    swept
}

async fn sweep_locked(admin: &mut PgConnection, current_template: &str) -> Outcome<()> {
    // The databases first, then the locks: an owner takes its lock before it
    // creates anything, so a listed database whose lock is free is orphaned.
    let databases: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT d.datname::text, d.datdba = r.oid, d.datistemplate \
         FROM pg_database d, pg_roles r \
         WHERE r.rolname = current_user AND d.datname LIKE 'regentra\\_test\\_%' \
           AND pg_has_role(d.datdba, 'USAGE') \
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)",
    )
    .fetch_all(&mut *admin)
    .await?;
    if databases.is_empty() {
        return Ok(());
    }
    let held: HashSet<i64> = sqlx::query_scalar(
        "SELECT objid::int8 FROM pg_locks \
         WHERE locktype = 'advisory' AND classid::int8 = $1 AND objsubid = 2 AND granted",
    )
    .bind(i64::from(LOCK_SPACE))
    .fetch_all(&mut *admin)
    .await?
    .into_iter()
    .collect();
    for (name, mine, is_template) in databases {
        let orphaned = match made(&name) {
            Made::Owned(owner) => !held.contains(&i64::from(owner)),
            // Another user's templates are theirs to sweep.
            Made::Template => mine && name != current_template,
            Made::Unknown => false,
        };
        if !orphaned {
            continue;
        }
        // Not FORCE: whoever connected since the listing keeps the database.
        if let Err(e) = drop_database(admin, &name, is_template, false).await {
            eprintln!("warning: leftover test database {name} was not dropped: {e}");
        }
    }
    Ok(())
}

/// Drops `name` if it exists, first unmarking it as a template (a template
/// cannot be dropped); FORCE ends the sessions connected to it.
async fn drop_database(
    admin: &mut PgConnection,
    name: &str,
    may_be_template: bool,
    force: bool,
) -> std::result::Result<(), sqlx::Error> {
    if may_be_template && database_exists(admin, name).await? {
        execute(
            admin,
            format!("ALTER DATABASE \"{name}\" WITH IS_TEMPLATE false"),
        )
        .await?;
    }
    let force = if force { " WITH (FORCE)" } else { "" };
    execute(admin, format!("DROP DATABASE IF EXISTS \"{name}\"{force}")).await
}

async fn database_exists(
    admin: &mut PgConnection,
    name: &str,
) -> std::result::Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(admin)
        .await
}

async fn lock_templates(admin: &mut PgConnection) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_lock($1, $2)")
        .bind(LOCK_SPACE)
        .bind(TEMPLATE_LOCK)
        .execute(admin)
        .await
        .map(|_| ())
}

async fn unlock_templates(admin: &mut PgConnection) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_unlock($1, $2)")
        .bind(LOCK_SPACE)
        .bind(TEMPLATE_LOCK)
        .execute(admin)
        .await
        .map(|_| ())
}

/// Runs `sql`, again after a pause while it fails because another session
/// is connected to a database it needs to itself (a copy's template, a
/// database being renamed): such sessions are on their way out.
async fn retry_while_in_use(
    admin: &mut PgConnection,
    sql: String,
) -> std::result::Result<(), sqlx::Error> {
    let mut pause = Duration::from_millis(100);
    for _ in 0..5 {
        match execute(admin, sql.clone()).await {
            Err(e) if sql_state(&e).as_deref() == Some("55006") => {
                // No tokio timer is enabled here: a blocking thread sleeps.
                let _ = tokio::task::spawn_blocking(move || std::thread::sleep(pause)).await;
                pause *= 2;
            }
            done => return done,
        }
    }
    execute(admin, sql).await
}

async fn execute(conn: &mut PgConnection, sql: String) -> std::result::Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
}

fn sql_state(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

/// A login role for one test, named uniquely (roles belong to the whole
/// cluster) and dropped with this value. Declare it before the databases it
/// owns or is granted rights in, so they are dropped first.
#[derive(Debug)]
pub struct TestRole {
    name: String,
    server: String,
}

impl TestRole {
    /// `CREATE ROLE <unique name> LOGIN <attributes>`, e.g. `CREATEDB` or
    /// `IN ROLE regentra_app`, run as the test server's user; `None` when
    /// no server is configured.
    pub async fn create(attributes: &str) -> Option<TestRole> {
        let server = server_url()?;
        let name = format!("{PREFIX}role_{}", Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is set but unusable: {e}"));
        execute(
            &mut conn,
            format!("CREATE ROLE \"{name}\" LOGIN {attributes}"),
        )
        .await
        .unwrap_or_else(|e| panic!("cannot create role {name}: {e}"));
        let _ = conn.close().await;
        Some(TestRole { name, server })
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `url` (the server's, or a test database's) connecting as this role.
    pub fn url(&self, url: &str) -> String {
        let options: PgConnectOptions = url.parse().expect("valid test URL");
        options.username(&self.name).to_url_lossy().to_string()
    }

    /// Runs `sql` as the test server's user on the database of `url`.
    pub async fn as_admin(url: &str, sql: &str) {
        let server = server_url().expect("a test server");
        let database = url
            .parse::<PgConnectOptions>()
            .expect("valid test URL")
            .get_database()
            .map(str::to_owned);
        let mut options: PgConnectOptions = server.parse().expect("valid test URL");
        if let Some(database) = database {
            options = options.database(&database);
        }
        let mut conn = PgConnection::connect_with(&options).await.expect("connect");
        execute(&mut conn, sql.to_owned())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        // Drop may run on a runtime's thread: a thread of its own, with a
        // runtime of its own, drops the role.
        let (name, server) = (self.name.clone(), self.server.clone());
        let dropped = std::thread::spawn(move || -> Outcome<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&server).await?;
                execute(&mut conn, format!("DROP ROLE IF EXISTS \"{name}\"")).await?;
                let _ = conn.close().await;
                Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test role {} was not dropped", self.name);
        }
    }
}

/// A store on a fresh test database, which is dropped with the store: the
/// factory for `regentra_core::store_contract_tests!` and `service_tests!`.
pub async fn fresh_store() -> Option<TestStore> {
    let db = TestDatabase::create().await?;
    let store = db.store().await;
    Some(StoreWith::new(store, db))
}

/// A [`PostgresStore`] that keeps its test database alive.
pub type TestStore = StoreWith<PostgresStore, Arc<TestDatabase>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_who_made_them() {
        assert_eq!(
            made("regentra_test_template_0123456789abcdef"),
            Made::Template
        );
        assert_eq!(made("regentra_test_42_7"), Made::Owned(42));
        assert_eq!(
            made("regentra_test_42_template_0123456789abcdef"),
            Made::Owned(42)
        );
        // An older harness's names, and everyone else's, are left alone.
        assert_eq!(
            made("regentra_test_0190a1b2c3d4e5f60718293a4b5c6d7e"),
            Made::Unknown
        );
        assert_eq!(made("regentra_test_0_1"), Made::Unknown);
        assert_eq!(made("postgres"), Made::Unknown);
    }

    #[test]
    fn the_fingerprint_is_of_the_migrations_and_the_user() {
        let ours = fingerprint("postgres");
        assert_eq!(ours.len(), 16);
        assert_eq!(ours, fingerprint("postgres"), "stable");
        assert_ne!(ours, fingerprint("someone_else"));
    }

    async fn exists(admin: &mut PgConnection, name: &str) -> bool {
        database_exists(admin, name).await.expect("catalog")
    }

    /// A crashed process's database and half-built template, and a template
    /// of other migrations, are swept; a live process's database, the
    /// current template and names the harness did not make are not.
    #[tokio::test]
    async fn the_sweep_drops_orphans_and_stale_templates_only() {
        let Some(live) = TestDatabase::create().await else {
            return;
        };
        let harness = harness().await.expect("server");
        let mut admin = PgConnection::connect(&harness.server)
            .await
            .expect("connect");
        // An owner number nobody holds: a process that is gone.
        let held: Vec<i64> = sqlx::query_scalar(
            "SELECT objid::int8 FROM pg_locks WHERE locktype = 'advisory' AND classid::int8 = $1",
        )
        .bind(i64::from(LOCK_SPACE))
        .fetch_all(&mut admin)
        .await
        .expect("locks");
        let dead = (1..).find(|n| !held.contains(n)).expect("a free number");
        let orphan = format!("{PREFIX}{dead}_1");
        let half_built = format!("{PREFIX}{dead}_template_{}", "0".repeat(16));
        let stale = format!("{PREFIX}template_{}", "f".repeat(16));
        let foreign = format!("{PREFIX}{}", Uuid::now_v7().simple());
        for name in [&orphan, &half_built, &stale] {
            execute(&mut admin, format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create");
        }
        for name in [&half_built, &stale] {
            let marked = execute(
                &mut admin,
                format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"),
            )
            .await;
            // Another test process starting now may sweep it first.
            if let Err(e) = marked {
                assert_eq!(sql_state(&e).as_deref(), Some("3D000"), "{e}");
            }
        }

        let user: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut admin)
            .await
            .expect("user");
        let template = template_name(&user);
        execute(&mut admin, format!("CREATE DATABASE \"{foreign}\""))
            .await
            .expect("create");
        let swept = sweep(&mut admin, &template).await;
        let foreign_kept = exists(&mut admin, &foreign).await;
        drop_database(&mut admin, &foreign, false, true)
            .await
            .expect("drop");

        swept.expect("sweep");
        assert!(foreign_kept, "{foreign} was swept");
        for name in [&orphan, &half_built, &stale] {
            assert!(!exists(&mut admin, name).await, "{name} was not swept");
        }
        for name in [&live.name, &template] {
            assert!(exists(&mut admin, name).await, "{name} was swept");
        }
        let _ = admin.close().await;
    }
}
