//! Login limits across server processes: two servers (two `App`s, each
//! with its own pool) on one Postgres database, as behind a load balancer,
//! count the same failures, so guessing through both allows no more than
//! guessing through one.

use serde_json::json;

use crate::support::{self, Backend, M, PASSWORD, Server, StatusCode, TestStore};

async fn login(server: &Server, password: &str) -> support::Reply {
    server
        .anonymous()
        .call(
            M::POST,
            "/v1/auth/login",
            Some(json!({"email": "boss@msp.test", "password": password})),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_on_one_server_count_on_another() {
    let Some(store) = TestStore::on(Backend::Postgres).await else {
        return;
    };
    let other = store.another_process().await.expect("a Postgres store");
    let db = store.database().expect("a Postgres database");
    let a = Server::start_on(store, support::config(), false).await;
    support::msp_with_client(&a).await;
    let b = Server::start_on(other, support::config(), false).await;

    // The account and address may fail 5 times in 15 minutes: 3 on A and
    // 2 on B spend it, each answered as a plain wrong password.
    for (server, name) in [(&a, "A"), (&a, "A"), (&a, "A"), (&b, "B"), (&b, "B")] {
        let reply = login(server, "wrong password!!").await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "on {name}: {}",
            reply.text
        );
    }
    let limited = login(&b, "wrong password!!").await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "B counts A's failures: {}",
        limited.text
    );
    assert!(limited.is_problem());
    let raw = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", a.base))
        .json(&json!({"email": "boss@msp.test", "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        raw.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "and A counts B's: even the right password waits, from this address"
    );
    let retry_after: u64 = raw.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");

    // The count is the database's (both servers run in this test's
    // process, so it is the rows that show it is not a memory they share),
    // and no row names the account or the address in clear.
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM failure_reservations")
        .fetch_all(db.store().await.pool())
        .await
        .expect("the failures' rows");
    assert!(
        keys.iter()
            .filter(|k| k.starts_with("login:account-address:"))
            .count()
            == 5,
        "one row per failure of the account and address: {keys:?}"
    );
    assert!(
        keys.iter()
            .all(|k| !k.contains("boss") && !k.contains("127.0.0.1")),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_on_one_server_gives_back_its_failures_on_another() {
    let Some(store) = TestStore::on(Backend::Postgres).await else {
        return;
    };
    let other = store.another_process().await.expect("a Postgres store");
    let a = Server::start_on(store, support::config(), false).await;
    support::msp_with_client(&a).await;
    let b = Server::start_on(other, support::config(), false).await;

    for _ in 0..4 {
        assert_eq!(
            login(&a, "wrong password!!").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // The right password on B forgets the typos made on A...
    let right = login(&b, PASSWORD).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text);
    // ...so A allows five failures again before it refuses.
    for n in 1..=5 {
        let reply = login(&a, "wrong password!!").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "failure {n}");
    }
    assert_eq!(
        login(&a, "wrong password!!").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
