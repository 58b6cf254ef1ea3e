//! Regentra's domain core.
//!
//! Pure rules over values plus the services that apply them through the
//! [`store::Store`] contract. Nothing here does I/O except through that trait,
//! and nothing reads the system clock or the OS's entropy itself: time
//! ([`Clock`]), ids ([`IdGen`]), entropy ([`Entropy`]) and the password
//! hashing cost ([`PasswordHashing`]) are injected into [`Regentra`].
//!
//! Modules are named after the concepts of the domain:
//! - [`auth`]: passwords (argon2id) and API tokens (stored as SHA-256);
//! - [`mfa`]: second factors (TOTP, recovery codes) and the sign-in challenge;
//! - [`sessions`]: a user's sign-in sessions: listing, signing out, ending another;
//! - [`tenancy`]: organizations (MSP, client, standalone), users, memberships, invitations,
//!   security settings (session duration, MFA requirement);
//! - [`rbac`]: roles, permissions, the access matrix and the `authorize` chokepoint;
//! - [`policies`]: policies, immutable hashed versions, templates and acknowledgment campaigns;
//! - [`notify`]: the notification outbox;
//! - [`mail`]: emails queued with the change that causes them, and their delivery state;
//! - [`password_reset`]: setting a forgotten password through a single-use link sent by email;
//! - [`sla`]: business-hours calendars and SLA time arithmetic;
//! - [`audit`]: the per-organization hash-chained audit log;
//! - [`catalog`]: the built-in frameworks and the Common Control Framework;
//! - [`compliance`]: adoption, control state, evidence, gap analysis and reports;
//! - [`portal`]: per-tenant portal settings, platform-unique slugs and the portal dashboard;
//! - [`store`]: the storage contract every adapter implements.

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod compliance;
pub mod error;
pub mod ids;
pub mod mail;
pub mod maintenance;
pub mod mfa;
pub mod notify;
pub mod password_reset;
pub mod policies;
pub mod portal;
pub mod psa;
pub mod rbac;
pub mod service;
pub mod sessions;
pub mod sla;
pub mod spreadsheet;
pub mod store;
pub mod tenancy;
#[cfg(feature = "testing")]
pub mod testing;

pub use auth::{PasswordHashing, TokenLifetimes};
pub use clock::{
    Clock, DeterministicIds, Entropy, IdGen, ManualClock, OsEntropy, RandomIds, SeededEntropy,
    SystemClock,
};
pub use error::{Error, FieldError, Result};
pub use ids::{AuditEventId, MembershipId, OrgId, UserId};
pub use service::{Principal, Regentra, RequestMeta};
