//! The tenant-isolation property test, on every store: random operations by
//! random users with random per-org roles across two MSPs (three clients)
//! and a standalone org, checked against the model after every step
//! (`regentra_core::testing::isolation`).

use std::sync::Arc;

use proptest::collection::vec;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use regentra_core::store::Store;
use regentra_core::testing::isolation::{op, run_case};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `cases` random operation sequences, each in a fresh world inside
/// `store` (worlds never share an org, so one store serves every case).
fn check_isolation(rt: &tokio::runtime::Runtime, store: Arc<dyn Store>, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let result = runner.run(&vec(op(), 1..40), |ops| {
        rt.block_on(run_case(store.clone(), &ops))
            .map_err(TestCaseError::fail)
    });
    if let Err(failure) = result {
        panic!("tenant isolation broken: {failure}");
    }
}

#[test]
fn tenant_isolation_holds_on_the_embedded_store() {
    let rt = runtime();
    let store = rt
        .block_on(regentra_store_embedded::EmbeddedStore::in_memory())
        .expect("store");
    check_isolation(&rt, Arc::new(store), 48);
}

#[test]
fn tenant_isolation_holds_on_postgres() {
    let rt = runtime();
    let Some(store) = rt.block_on(regentra_store_postgres::testing::fresh_store()) else {
        return;
    };
    check_isolation(&rt, Arc::new(store), 24);
}
