//! The conformance suite on our stores. The store contract runs on every
//! store: the embedded store in memory and in a file (the file is where redb
//! really commits), and Postgres, plus the contract's default methods over
//! the in-memory store (`trait_defaults`). The services run on the embedded store in
//! memory and on Postgres, the stores whose transactions and concurrency
//! differ; a redb file behaves like redb in memory for them.
//!
//! Postgres runs when `REGENTRA_TEST_DATABASE_URL` is set (CI always sets
//! it), each case on a database of its own; otherwise each case prints that
//! it was skipped.

mod in_memory {
    use regentra_store_embedded::EmbeddedStore;

    async fn fresh() -> EmbeddedStore {
        EmbeddedStore::in_memory()
            .await
            .expect("in-memory store opens")
    }

    regentra_core::store_contract_tests!(fresh);
    regentra_core::service_tests!(fresh);
}

mod on_disk {
    use regentra_core::testing::StoreWith;
    use regentra_store_embedded::EmbeddedStore;
    use tempfile::TempDir;

    /// A store in a new temporary file, removed with the store.
    async fn fresh() -> StoreWith<EmbeddedStore, TempDir> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path().join("regentra.redb"))
            .await
            .expect("file store opens");
        StoreWith::new(store, dir)
    }

    regentra_core::store_contract_tests!(fresh);
}

/// The contract's provided methods (`read`, `count`,
/// `audit_events_before`) as an integrator's store that implements only
/// the required ones gets them, over the in-memory store.
mod trait_defaults {
    use regentra_core::testing::RequiredOnly;
    use regentra_store_embedded::EmbeddedStore;

    async fn fresh() -> RequiredOnly<EmbeddedStore> {
        RequiredOnly(
            EmbeddedStore::in_memory()
                .await
                .expect("in-memory store opens"),
        )
    }

    regentra_core::store_contract_tests!(fresh);
}

mod postgres {
    use regentra_store_postgres::testing::fresh_store;

    regentra_core::store_contract_tests!(optional fresh_store);
    regentra_core::service_tests!(optional fresh_store);
}
