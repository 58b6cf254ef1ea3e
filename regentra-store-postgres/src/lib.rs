//! Regentra's Postgres store. The adapter (sqlx, migrations, row-level
//! security) implements [`regentra_core::store::Store`] in the next milestone;
//! until then this crate only reserves its place in the workspace.

pub use regentra_core::store::Store;
