//! Regentra's reference server and the `regentra` command.
//!
//! The HTTP service over the whole core lands in a later milestone; today the
//! command answers questions about the access model (`regentra roles`).

pub mod cli;
