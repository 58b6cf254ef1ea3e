//! The table of failures stays the size of the failures still counting:
//! reservations now and then sweep every key's expired rows. Skipped (and
//! says so) when `REGENTRA_TEST_DATABASE_URL` is not set.

use std::time::Duration;

use chrono::{DateTime, Utc};
use regentra_core::store::{FailureReservation, FailureWindow, Store};
use regentra_store_postgres::testing::TestDatabase;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).expect("time")
}

#[tokio::test]
async fn postgres_expired_failures_of_other_keys_are_swept() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    let minute = Duration::from_secs(60);
    for n in 0..10 {
        let window = FailureWindow::new(format!("test:old:{n}"), 5, minute);
        let answer = store
            .reserve_failures(&[window], at(0))
            .await
            .expect("reserved");
        assert!(matches!(answer, FailureReservation::Reserved(_)));
    }
    let rows = |like: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM failure_reservations WHERE key LIKE $1",
            )
            .bind(like)
            .fetch_one(&pool)
            .await
            .expect("count")
        }
    };
    assert_eq!(rows("test:old:%").await, 10);

    // An hour on, reservations of another key: within a sweep's period
    // one of them deletes the old keys' rows, which nothing reads again.
    let busy = FailureWindow::new("test:busy", 1000, minute);
    for _ in 0..64 {
        store
            .reserve_failures(std::slice::from_ref(&busy), at(3600))
            .await
            .expect("reserved");
    }
    assert_eq!(rows("test:old:%").await, 0, "expired rows swept");
    assert_eq!(rows("test:busy").await, 64, "live rows kept");
}
