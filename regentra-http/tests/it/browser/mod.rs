//! The pages in a real browser (headless Chromium, see
//! [`crate::support::chromium`]): each page passes axe-core with no
//! serious or critical violation and fits a 390 px phone, and its flows
//! work with the keyboard alone. Skipped, one line each, on a machine
//! without the browser; failed in CI.

mod checks;
mod console;
mod console_assets;
mod console_compliance;
mod console_controls;
mod console_features;
mod console_kb;
mod console_policies;
mod console_portal_settings;
mod console_settings;
mod console_sla;
mod errors;
mod password_reset;
mod portal;
mod portal_chat;
mod portal_focus;
mod portal_self_service;
mod portal_tickets;
mod sign_in;
mod signed_in;
