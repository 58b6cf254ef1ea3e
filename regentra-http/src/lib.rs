//! Regentra's reference server and the `regentra` command.
//!
//! `server` is the HTTP API over the core (a first set of routes so far);
//! `cli` is the command line: `serve`, `roles`, `catalog`, `sla`, `migrate`.

pub mod cli;
pub mod server;
