//! regentra-http's integration tests, in one test binary (linked once).
//!
//! The API tests run the app `regentra serve` builds inside this process
//! (see [`support::Server`]) and drive it over real HTTP; the tests where
//! the process is the point (command output, `serve`'s flags, environment,
//! signals and data-directory lock, `migrate`) run the `regentra` binary.
//! `browser` drives the pages in headless Chromium ([`support::chromium`]).

mod account_pages;
mod accounts;
mod bad_input;
mod browser;
mod catalog_api;
mod catalog_cli;
mod console_assets;
mod console_compliance;
mod console_controls;
mod console_desk;
mod console_features;
mod console_kb;
mod console_pages;
mod console_policies;
mod console_portal_settings;
mod console_settings;
mod console_sla;
mod cross_tenant;
mod emailed_links;
mod health;
mod inbox;
mod invitations;
mod lists;
mod live_fanout;
mod mail;
mod mfa;
mod migrate;
mod msp_overview;
mod openapi;
mod portal_chat;
mod portal_hostnames;
mod portal_pages;
mod portal_password_reset;
mod portal_self_service;
mod portal_tickets;
mod roles_cli;
mod security;
mod serve_cli;
mod server_e2e;
mod server_features;
mod service_desk;
mod sessions;
mod shared_limits;
mod sla_cli;
mod support;
mod sweep_once;
mod tenant_webhooks;
mod worker_coordination;
