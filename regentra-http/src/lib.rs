//! Regentra's reference server and the `regentra` command.
//!
//! The HTTP service over the whole core lands in a later milestone; today the
//! command prints the access model (`regentra roles`) and migrates a Postgres
//! database (`regentra migrate`).

pub mod cli;
