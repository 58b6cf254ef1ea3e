//! Regentra's reference server and the `regentra` command.
//!
//! `server` is the HTTP API over the core (a first set of routes so far);
//! `web` is the pages for people in a browser (sign-in so far), beside it;
//! `cli` is the command line: `serve`, `roles`, `catalog`, `sla`, `migrate`.

pub mod allocator;
pub mod cli;
pub mod server;
pub mod web;
