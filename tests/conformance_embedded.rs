//! The store conformance suite against the embedded store, in both modes.

mod in_memory {
    use regentra_store_embedded::EmbeddedStore;

    async fn fresh() -> EmbeddedStore {
        EmbeddedStore::in_memory()
            .await
            .expect("in-memory store opens")
    }

    regentra_core::conformance_tests!(fresh);
}

mod on_disk {
    use regentra_store_embedded::EmbeddedStore;

    /// A store in a new temporary file; the directory lives as long as the
    /// test process (the store holds the file open until the test ends).
    async fn fresh() -> EmbeddedStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path().join("regentra.redb"))
            .await
            .expect("file store opens");
        std::mem::forget(dir);
        store
    }

    regentra_core::conformance_tests!(fresh);
}
