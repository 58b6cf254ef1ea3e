//! Regentra: compliance management and PSA for MSPs.
//!
//! This facade re-exports the domain core and the stores selected by
//! features: `embedded` (default, redb), `postgres`, `http`.

pub use regentra_core::*;

#[cfg(feature = "embedded")]
pub use regentra_store_embedded as embedded;

#[cfg(feature = "postgres")]
pub use regentra_store_postgres as postgres;

#[cfg(feature = "http")]
pub use regentra_http as http;
