//! What only the embedded store has: a file that outlives the process, one
//! owner process per file, and an on-disk audit chain that must reveal
//! tampering.

use std::process::Command;
use std::sync::Arc;

use redb::{ReadableDatabase, ReadableTable};
use regentra_core::rbac::Role;
use regentra_core::store::{PageRequest, Store};
use regentra_core::tenancy::{ChainVerification, OrgKind};
use regentra_core::{Principal, Regentra};
use regentra_store_embedded::EmbeddedStore;
use regentra_store_embedded::schema::AUDIT;

async fn seeded(path: &std::path::Path) -> (Principal, regentra_core::OrgId) {
    let store = EmbeddedStore::open(path).await.expect("open");
    let regentra = Regentra::new(Arc::new(store));
    let operator = regentra
        .bootstrap_platform_admin("ops@example.com", "Ops")
        .await
        .expect("bootstrap");
    let operator = Principal::new(operator.id);
    let msp = regentra
        .create_organization(&operator, "Northwind IT", OrgKind::Msp)
        .await
        .expect("msp");
    regentra
        .add_member(
            &operator,
            msp.id,
            "alice@northwind.test",
            "Alice",
            Role::MspAdmin,
        )
        .await
        .expect("member");
    (operator, msp.id)
}

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("regentra.redb");
    let (operator, msp) = seeded(&path).await;
    // The first store is dropped with its Regentra: the file is closed.
    let reopened = EmbeddedStore::open(&path).await.expect("reopen");
    let regentra = Regentra::new(Arc::new(reopened));
    let org = regentra
        .get_organization(&operator, msp)
        .await
        .expect("org survives");
    assert_eq!(org.name, "Northwind IT");
    let members = regentra
        .list_members(&operator, msp, PageRequest::first(10))
        .await
        .expect("members survive");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, Role::MspAdmin);
    let report = regentra
        .verify_audit_chain(&operator, msp, ChainVerification::Full)
        .await
        .expect("verify");
    assert_eq!(report.first_break, None);
    assert!(report.events >= 2, "creation and membership events survive");
    // And the chain keeps growing from where it was.
    regentra
        .rename_organization(&operator, msp, "Northwind Managed IT")
        .await
        .expect("rename after reopen");
    let report = regentra
        .verify_audit_chain(&operator, msp, ChainVerification::Full)
        .await
        .expect("verify");
    assert_eq!(report.first_break, None);
}

#[tokio::test]
async fn tampering_with_a_stored_event_is_detected_by_verify() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("regentra.redb");
    let (operator, msp) = seeded(&path).await;

    // Edit the second event of the MSP's chain in the file itself, the way
    // someone with disk access would, keeping its stored hash.
    {
        let db = redb::Database::open(&path).expect("raw open");
        let tx = db.begin_write().expect("write tx");
        {
            let mut table = tx.open_table(AUDIT).expect("audit table");
            let key = (msp.as_uuid().as_u128(), 2u64);
            let mut event: serde_json::Value = {
                let raw = table.get(key).expect("read").expect("event 2 exists");
                serde_json::from_slice(raw.value()).expect("json")
            };
            event["details"]["role"] = serde_json::json!("viewer");
            let bytes = serde_json::to_vec(&event).expect("json");
            table.insert(key, bytes.as_slice()).expect("write");
        }
        tx.commit().expect("commit");
    }

    let regentra = Regentra::new(Arc::new(EmbeddedStore::open(&path).await.expect("reopen")));
    let report = regentra
        .verify_audit_chain(&operator, msp, ChainVerification::Full)
        .await
        .expect("verify runs");
    let broken = report.first_break.expect("tampering is detected");
    assert_eq!(broken.seq, 2, "the edited event is named");
}

const CHILD_ENV: &str = "REGENTRA_SECOND_PROCESS_DB";

/// Run in a child process by `a_second_process_gets_a_clear_error`: opens the
/// database the parent holds and reports what happened on stdout.
#[tokio::test]
#[ignore = "helper: run as a child process by a_second_process_gets_a_clear_error"]
async fn second_process_child() {
    let path = std::env::var(CHILD_ENV).expect("run by the parent test");
    match EmbeddedStore::open(&path).await {
        Ok(_) => println!("CHILD-OPENED"),
        Err(e) => println!("CHILD-ERROR: {e}"),
    }
}

#[tokio::test]
async fn a_second_process_gets_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("owned.redb");
    let held = EmbeddedStore::open(&path)
        .await
        .expect("first process opens");
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "second_process_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, &path)
        .output()
        .expect("child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child does not panic: {stdout}"
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("CHILD-"))
        .unwrap_or_else(|| panic!("child reported nothing: {stdout}"));
    assert!(
        line.starts_with("CHILD-ERROR"),
        "a second process must not open the file: {line}"
    );
    assert!(
        line.contains(&path.display().to_string()),
        "the error names the file: {line}"
    );
    assert!(line.contains("already open in another process"), "{line}");
    drop(held);
    // Once the owner closes it, the file opens again.
    EmbeddedStore::open(&path)
        .await
        .expect("opens after the owner closed it");
}

#[tokio::test]
async fn a_missing_directory_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no/such/dir/regentra.redb");
    let error = EmbeddedStore::open(&path).await.expect_err("cannot create");
    assert!(error.to_string().contains("no/such/dir"), "{error}");
}

#[tokio::test]
async fn in_memory_stores_are_independent() {
    let a = EmbeddedStore::in_memory().await.expect("a");
    let b = EmbeddedStore::in_memory().await.expect("b");
    let regentra = Regentra::new(Arc::new(a));
    regentra
        .bootstrap_platform_admin("ops@example.com", "Ops")
        .await
        .expect("bootstrap a");
    let others = b
        .list(
            regentra_core::store::Scope::Platform,
            "user",
            PageRequest::first(10),
        )
        .await
        .expect("list b");
    assert!(others.is_empty());
}

#[tokio::test]
async fn a_file_from_a_newer_format_is_refused_not_misread() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("future.redb");
    drop(EmbeddedStore::open(&path).await.expect("create"));
    {
        let db = redb::Database::open(&path).expect("raw open");
        let tx = db.begin_write().expect("write tx");
        tx.open_table(regentra_store_embedded::schema::META)
            .expect("meta")
            .insert("format_version", 99u64)
            .expect("write");
        tx.commit().expect("commit");
    }
    match EmbeddedStore::open(&path).await {
        Err(regentra_core::Error::Unavailable(reason)) => {
            assert!(
                reason.contains("newer") && reason.contains("future.redb"),
                "{reason}"
            )
        }
        other => panic!("a newer format must be refused, got {other:?}"),
    }
}

/// A file of format 1 (before the audit events were indexed by target) is
/// brought up to date when it opens: every event it holds is found by its
/// target, and the file says format 2.
#[tokio::test]
async fn a_format_1_file_gets_its_audit_events_indexed_by_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("older.redb");
    let (_, msp) = seeded(&path).await;
    // Each target of the MSP's chain, and how many of its events are about it.
    let by_target = |store: EmbeddedStore| async move {
        let chain = store.audit_events(msp, None, 100).await.expect("chain");
        let mut found = Vec::new();
        for event in &chain {
            let about = store
                .audit_events_about(msp, std::slice::from_ref(&event.target), None, 100)
                .await
                .expect("read");
            found.push((event.seq, about.iter().map(|e| e.seq).collect::<Vec<_>>()));
        }
        found
    };
    let before = by_target(EmbeddedStore::open(&path).await.expect("open")).await;
    assert!(!before.is_empty(), "the MSP's chain has events");
    assert!(before.iter().all(|(seq, about)| about.contains(seq)));
    // As a build of format 1 left it: no index of the events by target.
    {
        let db = redb::Database::open(&path).expect("raw open");
        let tx = db.begin_write().expect("write tx");
        tx.delete_table(regentra_store_embedded::schema::AUDIT_TARGET)
            .expect("drop the index");
        tx.open_table(regentra_store_embedded::schema::META)
            .expect("meta")
            .insert("format_version", 1u64)
            .expect("write");
        tx.commit().expect("commit");
    }
    assert_eq!(
        by_target(EmbeddedStore::open(&path).await.expect("reopen")).await,
        before,
        "every event indexed again"
    );
    let db = redb::Database::open(&path).expect("raw open");
    let tx = db.begin_read().expect("read tx");
    let version = tx
        .open_table(regentra_store_embedded::schema::META)
        .expect("meta")
        .get("format_version")
        .expect("read")
        .map(|v| v.value());
    assert_eq!(
        version,
        Some(regentra_store_embedded::schema::FORMAT_VERSION)
    );
}

/// The database holds password and token hashes: a new file is readable and
/// writable by its owner only, whatever the umask.
#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("regentra.redb");
    let store = EmbeddedStore::open(&path).await.expect("open");
    let mode = std::fs::metadata(&path).expect("file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
    drop(store);
}

/// A file left readable by others (by an older version, or by hand) is
/// tightened to 0600 when the store opens it, and keeps its data.
#[cfg(unix)]
#[tokio::test]
async fn an_existing_database_file_readable_by_others_is_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("regentra.redb");
    let (operator, msp) = seeded(&path).await;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let store = EmbeddedStore::open(&path).await.expect("reopen");
    let mode = std::fs::metadata(&path).expect("file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
    let regentra = Regentra::new(Arc::new(store));
    regentra
        .get_organization(&operator, msp)
        .await
        .expect("the data is still there");
}
