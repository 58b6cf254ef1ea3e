//! The tenant-isolation property test on the embedded store: random
//! operations by random users with random per-org roles across two MSPs
//! (three clients) and a standalone org, checked against the model after
//! every step.

use std::sync::Arc;

use proptest::prelude::*;
use regentra_core::store::Store;
use regentra_core::testing::isolation::{op, run_case};
use regentra_store_embedded::EmbeddedStore;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn tenant_isolation_holds_for_random_operations(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = runtime();
        let outcome = rt.block_on(async {
            let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory().await.expect("store"));
            run_case(store, &ops).await
        });
        if let Err(failure) = outcome {
            return Err(TestCaseError::fail(failure));
        }
    }
}
