//! Signals between processes through `LISTEN`/`NOTIFY`: what one store
//! handle sends, every handle listening on the database hears; a listener
//! whose connection was cut says so (a gap) and hears again. Skipped (and
//! says so) when `REGENTRA_TEST_DATABASE_URL` is not set.

use std::time::Duration;

use regentra_core::Error;
use regentra_core::store::{Heard, SignalListener, Store};
use regentra_store_postgres::MAX_SIGNAL_BYTES;
use regentra_store_postgres::testing::TestDatabase;

/// The next thing heard, or a failure after a generous wait (the test
/// never measures how long it took).
async fn next(listener: &mut Box<dyn SignalListener>) -> Heard {
    tokio::time::timeout(Duration::from_secs(30), listener.next())
        .await
        .expect("heard something within 30 s")
        .expect("listening")
}

#[tokio::test]
async fn postgres_a_signal_sent_by_one_process_is_heard_by_the_others() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let (a, b, c) = (db.store().await, db.store().await, db.store().await);
    let mut on_b = b
        .listen_signals()
        .await
        .expect("listen")
        .expect("Postgres listens");
    let mut on_c = c
        .listen_signals()
        .await
        .expect("listen")
        .expect("Postgres listens");
    a.send_signal("one chat 1").await.expect("sent");
    a.send_signal("one chat 2").await.expect("sent");
    for listener in [&mut on_b, &mut on_c] {
        assert_eq!(next(listener).await, Heard::Signal("one chat 1".into()));
        assert_eq!(next(listener).await, Heard::Signal("one chat 2".into()));
    }
    // The sender hears its own too, if it listens.
    let mut on_a = a.listen_signals().await.expect("listen").expect("listens");
    a.send_signal("own").await.expect("sent");
    assert_eq!(next(&mut on_a).await, Heard::Signal("own".into()));
}

#[tokio::test]
async fn postgres_a_signal_too_long_for_notify_is_refused_by_name() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    let long = "x".repeat(MAX_SIGNAL_BYTES + 1);
    match store.send_signal(&long).await {
        Err(Error::Validation(fields)) => assert_eq!(fields[0].field, "signal"),
        other => panic!("a signal over {MAX_SIGNAL_BYTES} bytes is refused: {other:?}"),
    }
    store
        .send_signal(&"x".repeat(MAX_SIGNAL_BYTES))
        .await
        .expect("the longest signal goes");
}

#[tokio::test]
async fn postgres_a_listener_cut_off_says_it_may_have_missed_signals_then_hears_again() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let (a, b) = (db.store().await, db.store().await);
    let mut listener = b.listen_signals().await.expect("listen").expect("listens");
    a.send_signal("before").await.expect("sent");
    assert_eq!(next(&mut listener).await, Heard::Signal("before".into()));
    // The database ends the listener's connection (a restart, a network
    // cut, an idle-session reaper would do the same).
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%' \
         AND pid <> pg_backend_pid()) ended",
    )
    .fetch_one(a.pool())
    .await
    .expect("terminate the listener's connection");
    assert_eq!(ended, 1, "one listening connection");
    assert_eq!(next(&mut listener).await, Heard::Gap);
    a.send_signal("after").await.expect("sent");
    assert_eq!(next(&mut listener).await, Heard::Signal("after".into()));
}
