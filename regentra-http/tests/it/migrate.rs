//! `regentra migrate` against a real, empty database (skipped, and says so,
//! without `REGENTRA_TEST_DATABASE_URL`).

use std::process::Command;

use regentra_store_postgres::testing::{TestDatabase, TestRole};

fn migrate(url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_regentra"))
        .args(["migrate", "--database-url", url])
        .output()
        .expect("regentra runs")
}

#[tokio::test]
async fn postgres_migrate_prepares_an_empty_database_and_is_idempotent() {
    let Some(db) = TestDatabase::create_empty().await else {
        return;
    };
    for run in ["first", "second"] {
        let out = migrate(db.url());
        assert!(
            out.status.success(),
            "{run} run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    }
    let store = db.store().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .expect("catalog");
    for table in ["audit_events", "audit_heads", "record_index", "records"] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
}

#[test]
fn migrate_with_a_bad_url_fails_with_one_clear_line() {
    let out = migrate("not-a-url");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("database_url"), "{stderr}");
}

/// `regentra migrate` as an owner that is not a superuser (CREATEDB, owns
/// the database) on a cluster where `regentra_app` exists already: it says
/// which grant is missing, and once a superuser gives it, it migrates.
#[tokio::test]
async fn postgres_migrate_as_a_plain_owner_names_the_grant_it_lacks() {
    let Some(owner) = TestRole::create("CREATEDB").await else {
        return;
    };
    let db = TestDatabase::create_empty().await.expect("server");
    let name = db
        .url()
        .parse::<sqlx::postgres::PgConnectOptions>()
        .expect("url")
        .get_database()
        .expect("a database name")
        .to_owned();
    TestRole::as_admin(
        db.url(),
        &format!("ALTER DATABASE \"{name}\" OWNER TO \"{}\"", owner.name()),
    )
    .await;
    let owner_url = owner.url(db.url());
    let out = migrate(&owner_url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let grant = format!("GRANT regentra_app TO \"{}\";", owner.name());
    assert!(stderr.contains(&grant), "{stderr}");
    TestRole::as_admin(db.url(), &grant).await;
    let out = migrate(&owner_url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(db);
}
