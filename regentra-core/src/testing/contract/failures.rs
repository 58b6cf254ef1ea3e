use std::time::Duration;

use super::*;
use crate::store::{FailureReservation, FailureWindow, ReservedFailure};

/// A key of this run only: the contract's default methods keep failures
/// for the whole process, which other cases' stores share.
fn fresh_key(name: &str) -> String {
    format!("conformance:{name}:{}", Uuid::now_v7())
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).expect("time")
}

async fn reserve(
    store: &dyn Store,
    windows: &[FailureWindow],
    now: DateTime<Utc>,
) -> FailureReservation {
    store
        .reserve_failures(windows, now)
        .await
        .expect("reservation answered")
}

fn reserved(answer: FailureReservation, what: &str) -> Vec<ReservedFailure> {
    match answer {
        FailureReservation::Reserved(failures) => failures,
        FailureReservation::Refused { until } => panic!("{what}: refused until {until}"),
    }
}

fn refused_until(answer: FailureReservation, what: &str) -> DateTime<Utc> {
    match answer {
        FailureReservation::Refused { until } => until,
        FailureReservation::Reserved(_) => panic!("{what}: reserved"),
    }
}

pub async fn failure_windows_hold_their_limit_until_failures_expire(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let hour = Duration::from_secs(3600);
    let guessed = FailureWindow::new(fresh_key("guessed"), 3, hour);
    let other = FailureWindow::new(fresh_key("other"), 3, hour);

    let mut taken = Vec::new();
    for n in 0..3 {
        let failures = reserved(
            reserve(store, std::slice::from_ref(&guessed), at(n * 60)).await,
            "under the limit",
        );
        assert_eq!(failures.len(), 1, "one failure per window asked");
        assert_eq!(failures[0].key, guessed.key);
        taken.extend(failures);
    }
    let until = refused_until(
        reserve(store, std::slice::from_ref(&guessed), at(600)).await,
        "the fourth failure within the hour",
    );
    assert_eq!(until, at(3600), "room again when the oldest expires");
    reserved(
        reserve(store, std::slice::from_ref(&other), at(600)).await,
        "another key has its own window",
    );

    // A reservation given back frees its slot, once.
    store
        .release_failures(&taken[1..2])
        .await
        .expect("released");
    store
        .release_failures(&taken[1..2])
        .await
        .expect("releasing twice is no error");
    let again = reserved(
        reserve(store, std::slice::from_ref(&guessed), at(660)).await,
        "a released slot",
    );
    refused_until(
        reserve(store, std::slice::from_ref(&guessed), at(700)).await,
        "full again",
    );

    // All or none: a full window refuses the others too.
    let both = [other.clone(), guessed.clone()];
    refused_until(reserve(store, &both, at(700)).await, "one of two is full");
    let other_failures = reserved(
        reserve(store, std::slice::from_ref(&other), at(700)).await,
        "the refusal reserved nothing in the other window",
    );
    reserved(
        reserve(store, std::slice::from_ref(&other), at(700)).await,
        "the other window's third",
    );
    refused_until(
        reserve(store, std::slice::from_ref(&other), at(700)).await,
        "the other window holds 3: its first, the two above",
    );
    store
        .release_failures(&other_failures)
        .await
        .expect("released");

    // Failures past the window no longer count: the first expired at
    // 3600, the second was released, the third expires at 3720.
    let until = refused_until(
        reserve(store, std::slice::from_ref(&guessed), at(3599)).await,
        "just before the first expires",
    );
    assert_eq!(until, at(3600));
    reserved(
        reserve(store, std::slice::from_ref(&guessed), at(3600)).await,
        "the first failure has expired",
    );
    let until = refused_until(
        reserve(store, std::slice::from_ref(&guessed), at(3601)).await,
        "full with the third, the re-reserved slot and the newest",
    );
    assert_eq!(until, at(3720), "room when the third expires");
    assert!(again.len() == 1);

    // Forgetting a key empties its window, and only its.
    store.forget_failures(&guessed.key).await.expect("forgot");
    for _ in 0..3 {
        reserved(
            reserve(store, std::slice::from_ref(&guessed), at(3602)).await,
            "a forgotten key starts empty",
        );
    }
    let both_fresh = [
        FailureWindow::new(fresh_key("a"), 2, hour),
        FailureWindow::new(fresh_key("b"), 5, hour),
    ];
    let failures = reserved(reserve(store, &both_fresh, at(0)).await, "two windows");
    assert_eq!(
        failures.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(),
        vec![both_fresh[0].key.as_str(), both_fresh[1].key.as_str()],
        "in the order asked"
    );
}

pub async fn concurrent_reservations_fill_a_window_exactly(store: Arc<dyn Store>) {
    let window = FailureWindow::new(fresh_key("raced"), 5, Duration::from_secs(900));
    let attempts = (0..24).map(|_| {
        let store = Arc::clone(&store);
        let window = window.clone();
        async move {
            store
                .reserve_failures(std::slice::from_ref(&window), at(0))
                .await
                .expect("reservation answered")
        }
    });
    let answers = join_all(attempts).await;
    let passed = answers
        .iter()
        .filter(|a| matches!(a, FailureReservation::Reserved(_)))
        .count();
    assert_eq!(passed, 5, "exactly the limit passes, however many race");
    let mut ids: Vec<i64> = answers
        .into_iter()
        .filter_map(|a| match a {
            FailureReservation::Reserved(failures) => Some(failures[0].id),
            FailureReservation::Refused { .. } => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5, "each reservation is its own failure");
}
