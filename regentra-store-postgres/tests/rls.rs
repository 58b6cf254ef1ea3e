//! Row-level security that actually binds, checked as the runtime role the
//! adapter uses. Each test runs on a database of its own; all are skipped
//! (and say so) when `REGENTRA_TEST_DATABASE_URL` is not set.

use std::sync::Arc;
use std::time::Duration;

use regentra_core::Error;
use regentra_core::audit::{Actor, AuditDraft, Target};
use regentra_core::ids::{AuditEventId, OrgId};
use regentra_core::store::{ChangeSet, IndexEntry, Mutation, PageRequest, Scope, Store};
use regentra_store_postgres::testing::{TestDatabase, TestRole};
use regentra_store_postgres::{
    PostgresStore, PrivilegeProblem, PrivilegeReason, RUNTIME_ROLE, map_error,
};
use serde_json::json;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

fn org() -> OrgId {
    OrgId(Uuid::now_v7())
}

fn draft(org: OrgId) -> AuditDraft {
    AuditDraft {
        id: AuditEventId(Uuid::now_v7()),
        org,
        at: chrono::Utc::now(),
        actor: Actor::system(),
        action: "test.seeded".into(),
        target: Target::new("widget", "w"),
        request: Default::default(),
        details: json!({}),
    }
}

/// A record with index entries, an audit event and a blob chunk in `org`:
/// a row in every tenant table.
async fn seed(store: &PostgresStore, org: OrgId) -> Uuid {
    let id = Uuid::now_v7();
    let mut changes = ChangeSet::new();
    changes.mutations.push(Mutation::Insert {
        scope: Scope::Org(org),
        kind: "widget",
        id,
        body: json!({"secret": org.to_string()}),
        indexes: vec![
            IndexEntry::unique("slug", "same-slug"),
            IndexEntry::multi("tag", "x"),
        ],
    });
    changes.audit(draft(org));
    store.apply(changes).await.expect("seed applies");
    store
        .put_blob_chunk(org, Uuid::now_v7(), 0, b"evidence bytes".to_vec())
        .await
        .expect("seed blob");
    id
}

/// The tables of the current schema that have an `org_id` column.
async fn tenant_tables(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .expect("catalog query")
}

/// Starts a transaction as the runtime role, with `org` set (or none).
async fn as_runtime(conn: &mut PgConnection, org: Option<OrgId>) {
    sqlx::query("BEGIN")
        .execute(&mut *conn)
        .await
        .expect("begin");
    sqlx::query("SELECT set_config('role', $1, true)")
        .bind(RUNTIME_ROLE)
        .execute(&mut *conn)
        .await
        .expect("switch role");
    if let Some(org) = org {
        sqlx::query("SELECT set_config('app.org_id', $1, true)")
            .bind(org.to_string())
            .execute(&mut *conn)
            .await
            .expect("set org");
    }
}

async fn rollback(conn: &mut PgConnection) {
    sqlx::query("ROLLBACK")
        .execute(conn)
        .await
        .expect("rollback");
}

async fn count(conn: &mut PgConnection, sql: String) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(conn)
        .await
        .expect("count")
}

async fn setup() -> Option<(Arc<TestDatabase>, PostgresStore)> {
    let db = TestDatabase::create().await?;
    let store = db.store().await;
    Some((db, store))
}

#[tokio::test]
async fn postgres_every_table_with_org_id_has_forced_rls_and_a_policy() {
    let Some((_db, store)) = setup().await else {
        return;
    };
    let mut conn = store.pool().acquire().await.expect("connection");
    let tables = tenant_tables(&mut conn).await;
    assert!(
        tables.len() >= 4,
        "records, record_index, audit_heads and audit_events at least: {tables:?}"
    );
    for table in tables {
        let row = sqlx::query(
            "SELECT c.relrowsecurity, c.relforcerowsecurity, \
                    (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relname = $1",
        )
        .bind(&table)
        .fetch_one(&mut *conn)
        .await
        .expect("catalog row");
        assert!(
            row.get::<bool, _>(0),
            "{table}: row-level security is not enabled"
        );
        assert!(
            row.get::<bool, _>(1),
            "{table}: row-level security is not forced"
        );
        assert!(row.get::<i64, _>(2) >= 1, "{table}: no policy");
    }
}

#[tokio::test]
async fn postgres_runtime_role_is_not_superuser_owner_or_bypassrls() {
    let Some((_db, store)) = setup().await else {
        return;
    };
    let mut conn = store.pool().acquire().await.expect("connection");
    let row = sqlx::query("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1")
        .bind(RUNTIME_ROLE)
        .fetch_one(&mut *conn)
        .await
        .expect("the migrations create the runtime role");
    assert!(!row.get::<bool, _>(0), "the runtime role is a superuser");
    assert!(!row.get::<bool, _>(1), "the runtime role bypasses RLS");
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND pg_get_userbyid(c.relowner) = $1",
    )
    .bind(RUNTIME_ROLE)
    .fetch_one(&mut *conn)
    .await
    .expect("owners");
    assert_eq!(owned, 0, "the runtime role owns nothing");

    // And the adapter really works as that role: take away the role's right
    // to read records and the adapter's reads fail, although the connecting
    // user (the owner) could still read them.
    let org = org();
    let id = seed(&store, org).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "REVOKE SELECT ON records FROM {RUNTIME_ROLE}"
    )))
    .execute(&mut *conn)
    .await
    .expect("revoke");
    let refused = store.get(Scope::Org(org), "widget", id).await;
    assert!(matches!(refused, Err(Error::Storage(_))), "{refused:?}");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "GRANT SELECT ON records TO {RUNTIME_ROLE}"
    )))
    .execute(&mut *conn)
    .await
    .expect("grant");
    assert!(
        store
            .get(Scope::Org(org), "widget", id)
            .await
            .expect("get")
            .is_some()
    );
}

#[tokio::test]
async fn postgres_under_one_org_no_row_of_another_is_visible_in_any_tenant_table() {
    let Some((_db, store)) = setup().await else {
        return;
    };
    let (a, b) = (org(), org());
    seed(&store, a).await;
    seed(&store, b).await;
    let mut conn = store.pool().acquire().await.expect("connection");
    let tables = tenant_tables(&mut conn).await;
    as_runtime(&mut conn, Some(a)).await;
    for table in &tables {
        // No tenant in the WHERE clause: only the policy stands between A and B.
        let others = count(
            &mut conn,
            format!("SELECT count(*) FROM {table} WHERE org_id <> '{a}'"),
        )
        .await;
        assert_eq!(
            others, 0,
            "{table}: rows of another org visible under org A"
        );
        let own = count(&mut conn, format!("SELECT count(*) FROM {table}")).await;
        assert!(own > 0, "{table}: org A's own rows are visible");
    }
    rollback(&mut conn).await;

    as_runtime(&mut conn, None).await;
    for table in &tables {
        let all = count(&mut conn, format!("SELECT count(*) FROM {table}")).await;
        assert_eq!(all, 0, "{table}: rows visible with no org set");
    }
    rollback(&mut conn).await;
}

#[tokio::test]
async fn postgres_writes_naming_another_org_are_refused() {
    let Some((_db, store)) = setup().await else {
        return;
    };
    let (a, b) = (org(), org());
    let b_record = seed(&store, b).await;
    let mut conn = store.pool().acquire().await.expect("connection");
    let inserts = [
        format!(
            "INSERT INTO records (org_id, kind, id, version, body) VALUES ('{b}', 'widget', '{}', 1, '{{}}')",
            Uuid::now_v7()
        ),
        format!("INSERT INTO audit_heads (org_id, seq, hash) VALUES ('{b}', 0, 'x')"),
    ];
    for sql in inserts {
        as_runtime(&mut conn, Some(a)).await;
        let result = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut *conn)
            .await;
        let code = result
            .as_ref()
            .err()
            .and_then(|e| e.as_database_error())
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        rollback(&mut conn).await;
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "{sql} must violate the policy: {result:?}"
        );
    }
    // Moving A's own rows to B is refused too.
    seed(&store, a).await;
    as_runtime(&mut conn, Some(a)).await;
    let moved = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE audit_heads SET org_id = '{b}' WHERE org_id = '{a}'"
    )))
    .execute(&mut *conn)
    .await;
    rollback(&mut conn).await;
    assert!(
        moved.is_err(),
        "a row cannot be moved into another org: {moved:?}"
    );
    // B's data is untouched and still B's alone.
    assert!(
        store
            .get(Scope::Org(b), "widget", b_record)
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        store
            .get(Scope::Org(a), "widget", b_record)
            .await
            .expect("get")
            .is_none()
    );
}

#[tokio::test]
async fn postgres_a_pooled_connection_never_carries_the_previous_org() {
    let Some((db, _)) = setup().await else { return };
    // One connection: every operation below reuses it.
    let store = PostgresStore::connect_with(db.url(), 1)
        .await
        .expect("pool of one");
    let (a, b) = (org(), org());
    let a_record = seed(&store, a).await;
    assert!(
        store
            .get(Scope::Org(a), "widget", a_record)
            .await
            .expect("get")
            .is_some()
    );
    // The same connection now serves org B.
    assert!(
        store
            .get(Scope::Org(b), "widget", a_record)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .list(Scope::Org(b), "widget", PageRequest::first(10))
            .await
            .expect("list")
            .is_empty()
    );

    let mut conn = store.pool().acquire().await.expect("the one connection");
    let setting: Option<String> =
        sqlx::query_scalar("SELECT NULLIF(current_setting('app.org_id', true), '')")
            .fetch_one(&mut *conn)
            .await
            .expect("setting");
    assert_eq!(setting, None, "the org setting ended with its transaction");
    let user: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *conn)
        .await
        .expect("user");
    assert_ne!(
        user, RUNTIME_ROLE,
        "the role switch ended with its transaction"
    );
    // As the runtime role with no org set, the connection sees nothing of A.
    as_runtime(&mut conn, None).await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM records".into()).await,
        0
    );
    rollback(&mut conn).await;
}

#[tokio::test]
async fn postgres_work_in_one_org_does_not_wait_for_another() {
    let Some((db, store)) = setup().await else {
        return;
    };
    let (a, b) = (org(), org());
    seed(&store, a).await;
    seed(&store, b).await;
    // Hold org A's chain head locked, as a long transaction appending to A would.
    let mut holder = PgConnection::connect(db.url()).await.expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut holder)
        .await
        .expect("begin");
    sqlx::query("SELECT 1 FROM audit_heads WHERE org_id = $1 FOR UPDATE")
        .bind(a.0)
        .execute(&mut holder)
        .await
        .expect("lock A");

    let mut for_b = ChangeSet::new();
    for_b.audit(draft(b));
    // The timeout only turns a hang into a failure; nothing here is timed.
    let done = tokio::time::timeout(Duration::from_secs(60), store.apply(for_b)).await;
    assert!(
        matches!(done, Ok(Ok(_))),
        "an audited write in B completes while A is locked: {done:?}"
    );

    // A write to A queues behind the lock and is not lost: it completes, with
    // the next sequence number, once the holder lets go.
    let store_a = store.clone();
    let waiting = tokio::spawn(async move {
        let mut for_a = ChangeSet::new();
        for_a.audit(draft(a));
        store_a.apply(for_a).await
    });
    rollback(&mut holder).await;
    let sealed = waiting.await.expect("task").expect("A's write applies");
    assert_eq!(sealed.events[0].seq, 2, "A's chain continues without a gap");
}

#[tokio::test]
async fn postgres_errors_map_to_the_core_without_quoting_sql() {
    let Some((_db, store)) = setup().await else {
        return;
    };
    let mut conn = store.pool().acquire().await.expect("connection");

    let unique =
        sqlx::raw_sql("CREATE TEMP TABLE t (k int PRIMARY KEY); INSERT INTO t VALUES (1), (1)")
            .execute(&mut *conn)
            .await
            .expect_err("duplicate key");
    assert!(matches!(map_error(unique), Error::AlreadyExists { .. }));

    let broken = sqlx::query("SELEC secret_column FROM records")
        .execute(&mut *conn)
        .await
        .expect_err("syntax");
    let mapped = map_error(broken);
    assert!(matches!(mapped, Error::Storage(_)));
    let shown = mapped.to_string();
    assert!(
        !shown.contains("SELEC") && !shown.contains("secret_column"),
        "{shown}"
    );

    // Two serializable transactions that each read what the other writes:
    // Postgres aborts one with a serialization failure, which is a Conflict.
    sqlx::raw_sql(
        "CREATE TABLE ser (k int PRIMARY KEY, v int); INSERT INTO ser VALUES (1, 0), (2, 0)",
    )
    .execute(&mut *conn)
    .await
    .expect("table");
    let mut other = store.pool().acquire().await.expect("second connection");
    for c in [&mut *conn, &mut *other] {
        sqlx::query("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .execute(&mut *c)
            .await
            .expect("begin");
        sqlx::query("SELECT sum(v) FROM ser")
            .execute(&mut *c)
            .await
            .expect("read");
    }
    sqlx::query("UPDATE ser SET v = 1 WHERE k = 1")
        .execute(&mut *conn)
        .await
        .expect("write 1");
    sqlx::query("UPDATE ser SET v = 1 WHERE k = 2")
        .execute(&mut *other)
        .await
        .expect("write 2");
    sqlx::query("COMMIT")
        .execute(&mut *conn)
        .await
        .expect("first commit wins");
    let failure = sqlx::query("COMMIT")
        .execute(&mut *other)
        .await
        .expect_err("second is aborted");
    assert!(matches!(map_error(failure), Error::Conflict { .. }));
}

/// Everything about a database's schema that the store depends on, as text:
/// tables, columns, constraints, indexes, owners, grants, row-level security,
/// policies, the applied migrations and the database's own grants.
async fn schema_of(url: &str) -> Vec<String> {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let queries = [
        "SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl, \
                c.relrowsecurity, c.relforcerowsecurity \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() ORDER BY 1",
        "SELECT table_name, column_name, data_type, is_nullable, column_default \
         FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2",
        "SELECT conname, conrelid::regclass, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
        "SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index \
         WHERE indrelid IN (SELECT oid FROM pg_class \
                            WHERE relnamespace = current_schema()::regnamespace) ORDER BY 1",
        "SELECT polname, polrelid::regclass, polcmd, polroles::regrole[], \
                pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) \
         FROM pg_policy ORDER BY 1, 2",
        "SELECT nspname, pg_get_userbyid(nspowner), nspacl FROM pg_namespace \
         WHERE nspname = current_schema()",
        "SELECT datacl FROM pg_database WHERE datname = current_database()",
        "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY 1",
    ];
    let mut schema = Vec::new();
    for query in queries {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT row::text FROM ({query}) AS row"
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
        schema.extend(rows);
    }
    schema
}

/// The tables of a database, in any schema but the system's.
async fn tables_of(url: &str) -> Vec<String> {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar(
        "SELECT schemaname || '.' || tablename FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("catalog")
}

#[tokio::test]
async fn postgres_test_databases_are_empty_or_migrated_as_asked() {
    let Some(empty) = TestDatabase::create_empty().await else {
        return;
    };
    let tables = tables_of(empty.url()).await;
    assert!(
        tables.is_empty(),
        "an empty database has tables: {tables:?}"
    );

    let migrated = TestDatabase::create().await.expect("server");
    let tables = tables_of(migrated.url()).await;
    for table in ["public._sqlx_migrations", "public.records"] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing: {tables:?}"
        );
    }
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations directory")
        .filter(|f| {
            f.as_ref()
                .is_ok_and(|f| f.path().extension().is_some_and(|e| e == "sql"))
        })
        .count();
    let store = migrated.store().await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(store.pool())
        .await
        .expect("applied migrations");
    assert_eq!(applied, files as i64, "every migration is applied");
    store
        .migrate()
        .await
        .expect("migrating again finds nothing to do");
    let org = org();
    let id = seed(&store, org).await;
    assert!(
        store
            .get(Scope::Org(org), "widget", id)
            .await
            .expect("get")
            .is_some()
    );
}

/// A database copied from the template is indistinguishable from one
/// migrated from scratch, grants and policies included.
#[tokio::test]
async fn postgres_a_copy_of_the_template_is_a_freshly_migrated_database() {
    let Some(copied) = TestDatabase::create().await else {
        return;
    };
    let fresh = TestDatabase::create_empty().await.expect("server");
    fresh.store().await.migrate().await.expect("migrate");
    let (copied, fresh) = (schema_of(copied.url()).await, schema_of(fresh.url()).await);
    assert!(
        copied.iter().any(|row| row.contains("tenant_isolation")),
        "{copied:#?}"
    );
    assert_eq!(copied, fresh);
}

#[tokio::test]
async fn postgres_a_test_database_is_dropped_with_its_handle() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let name = db
        .url()
        .parse::<sqlx::postgres::PgConnectOptions>()
        .expect("url")
        .get_database()
        .expect("a database name")
        .to_owned();
    let server = regentra_store_postgres::testing::server_url().expect("server");
    let mut admin = PgConnection::connect(&server).await.expect("connect");
    let exists = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)";
    let before: bool = sqlx::query_scalar(exists)
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .expect("catalog");
    assert!(before, "{name} exists while its handle lives");
    // A session still open does not keep it: dropping ends the session.
    let store = db.store().await;
    let _session = store.pool().acquire().await.expect("a session");
    drop(db);
    let after: bool = sqlx::query_scalar(exists)
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .expect("catalog");
    assert!(!after, "{name} outlived its handle");
}

/// Inside a transaction that switched to the runtime role, `RESET ROLE`
/// goes back to the session user: `others` counts, after that reset, the
/// records of orgs other than `org`.
async fn records_of_others_after_reset_role(store: &PostgresStore, org: OrgId) -> i64 {
    let mut conn = store.pool().acquire().await.expect("connection");
    as_runtime(&mut conn, Some(org)).await;
    sqlx::query("RESET ROLE")
        .execute(&mut *conn)
        .await
        .expect("reset role");
    let others = count(
        &mut conn,
        format!("SELECT count(*) FROM records WHERE org_id <> '{org}'"),
    )
    .await;
    rollback(&mut conn).await;
    others
}

/// The attack: a server connected as a superuser switches to the runtime
/// role per transaction, but `RESET ROLE` undoes the switch and every
/// tenant is visible. The check that the server runs before serving says
/// so; as a login role that is only a member of the runtime role, the same
/// reset leaves row-level security in force, and the check passes.
#[tokio::test]
async fn postgres_reset_role_sees_every_tenant_unless_the_session_user_is_least_privileged() {
    let Some(app) = TestRole::create(&format!("IN ROLE {RUNTIME_ROLE}")).await else {
        return;
    };
    let (db, superuser) = setup().await.expect("server");
    let (a, b) = (org(), org());
    seed(&superuser, a).await;
    seed(&superuser, b).await;

    assert!(
        records_of_others_after_reset_role(&superuser, a).await > 0,
        "as a superuser, RESET ROLE sees other tenants"
    );
    let refused = superuser.check_least_privilege().await;
    assert!(
        matches!(&refused, Err(PrivilegeProblem { reasons, .. })
            if reasons == &[PrivilegeReason::Superuser { via: None }]),
        "{refused:?}"
    );
    let text = refused.expect_err("refused").to_string();
    assert!(
        text.contains("superuser") && text.contains(&format!("IN ROLE {RUNTIME_ROLE}")),
        "{text}"
    );

    let least = PostgresStore::connect_with(&app.url(db.url()), 2)
        .await
        .expect("the app role connects");
    assert_eq!(records_of_others_after_reset_role(&least, a).await, 0);
    least
        .check_least_privilege()
        .await
        .expect("a member of the runtime role only is fit to serve");
    // And the store works as that role.
    let c = org();
    let id = seed(&least, c).await;
    assert!(
        least
            .get(Scope::Org(c), "widget", id)
            .await
            .expect("get")
            .is_some()
    );
    least.pool().close().await;
}

/// Each other way past row-level security is named: BYPASSRLS, becoming
/// the owner of the tables with SET ROLE, not being a member of the runtime
/// role at all, CREATEROLE (which may grant the owner's role before
/// Postgres 16), the server's files, and creating objects in the schema.
#[tokio::test]
async fn postgres_least_privilege_names_every_other_way_past_rls() {
    let Some(bypass) = TestRole::create(&format!("BYPASSRLS IN ROLE {RUNTIME_ROLE}")).await else {
        return;
    };
    let owner = TestRole::create("").await.expect("server");
    let acting_owner = TestRole::create(&format!("IN ROLE {RUNTIME_ROLE}, \"{}\"", owner.name()))
        .await
        .expect("server");
    let stranger = TestRole::create("").await.expect("server");
    let creator = TestRole::create(&format!("CREATEROLE IN ROLE {RUNTIME_ROLE}"))
        .await
        .expect("server");
    let file_reader = TestRole::create(&format!("IN ROLE {RUNTIME_ROLE}, pg_read_server_files"))
        .await
        .expect("server");
    let planter = TestRole::create(&format!("IN ROLE {RUNTIME_ROLE}"))
        .await
        .expect("server");
    let db = TestDatabase::create().await.expect("server");
    TestRole::as_admin(
        db.url(),
        &format!("ALTER TABLE records OWNER TO \"{}\"", owner.name()),
    )
    .await;
    TestRole::as_admin(
        db.url(),
        &format!("GRANT CREATE ON SCHEMA public TO \"{}\"", planter.name()),
    )
    .await;

    let problem = |role: &TestRole| {
        let url = role.url(db.url());
        async move {
            let store = PostgresStore::connect_with(&url, 1)
                .await
                .expect("connects");
            let checked = store.check_least_privilege().await;
            store.pool().close().await;
            checked.expect_err("refused").reasons
        }
    };
    assert_eq!(
        problem(&bypass).await,
        [PrivilegeReason::BypassRls { via: None }]
    );
    assert_eq!(
        problem(&acting_owner).await,
        [PrivilegeReason::Owner {
            owner: owner.name().to_owned(),
            objects: vec!["records".to_owned()],
        }]
    );
    assert_eq!(
        problem(&stranger).await,
        [PrivilegeReason::NotRuntimeMember]
    );
    assert_eq!(
        problem(&creator).await,
        [PrivilegeReason::CreateRole { via: None }]
    );
    assert_eq!(
        problem(&file_reader).await,
        [PrivilegeReason::ServerFiles {
            role: "pg_read_server_files".to_owned()
        }]
    );
    assert_eq!(
        problem(&planter).await,
        [PrivilegeReason::CreateInSchema {
            schema: "public".to_owned()
        }]
    );
    // The database goes before the roles it names.
    drop(db);
}

/// `migrate` as an owner that is not a superuser, on a cluster where the
/// runtime role exists already (another database's migration made it):
/// refused before changing anything, naming the grant a superuser gives;
/// once given, the migrations run.
#[tokio::test]
async fn postgres_migrate_as_a_plain_owner_names_the_missing_grant() {
    let Some(owner) = TestRole::create("CREATEDB").await else {
        return;
    };
    let db = TestDatabase::create_empty().await.expect("server");
    TestRole::as_admin(
        db.url(),
        &format!(
            "ALTER DATABASE \"{}\" OWNER TO \"{}\"",
            database_name(db.url()),
            owner.name()
        ),
    )
    .await;
    let store = PostgresStore::connect_with(&owner.url(db.url()), 1)
        .await
        .expect("connects");
    let refused = store.migrate().await.expect_err("refused");
    let grant = format!("GRANT {RUNTIME_ROLE} TO \"{}\";", owner.name());
    assert!(
        matches!(&refused, Error::Unavailable(why) if why.contains(&grant) && why.contains("already exists")),
        "{refused}"
    );
    assert_eq!(
        store.pending_migrations().await.expect("pending").len(),
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .expect("migrations")
            .count(),
        "nothing was applied"
    );
    TestRole::as_admin(db.url(), &grant).await;
    store.migrate().await.expect("migrates once granted");
    assert!(
        store
            .pending_migrations()
            .await
            .expect("pending")
            .is_empty()
    );
    store.pool().close().await;
}

fn database_name(url: &str) -> String {
    url.parse::<sqlx::postgres::PgConnectOptions>()
        .expect("url")
        .get_database()
        .expect("a database name")
        .to_owned()
}
