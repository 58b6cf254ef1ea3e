//! The store conformance suite against the Postgres store, each case on a
//! database of its own. Runs when `REGENTRA_TEST_DATABASE_URL` is set (CI
//! always sets it); otherwise each test prints that it was skipped.

mod postgres {
    regentra_core::conformance_tests!(optional regentra_store_postgres::testing::fresh_store);
}
