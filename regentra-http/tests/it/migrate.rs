//! `regentra migrate` against a real, empty database (skipped, and says so,
//! without `REGENTRA_TEST_DATABASE_URL`).

use std::process::Command;

use regentra_store_postgres::testing::TestDatabase;

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
