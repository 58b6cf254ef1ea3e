//! The one error type of the core. Adapters map their own failures into it;
//! the HTTP crate maps it to problem+json in one place.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::OrgId;

/// A problem with one input field, named as the caller spelled it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record does not exist, or exists in a tenant the caller cannot
    /// reach: the two are deliberately indistinguishable.
    #[error("{what} not found")]
    NotFound { what: &'static str },

    /// A record with the same identity or unique field already exists.
    #[error("{what} already exists ({field} is taken)")]
    AlreadyExists { what: &'static str, field: String },

    /// Someone else changed the record first (stale expected version).
    #[error("{what} was changed concurrently; reload and retry")]
    Conflict { what: String },

    /// No valid credentials (unknown, revoked or malformed token; wrong
    /// password). Says nothing about which part was wrong.
    #[error("not authenticated")]
    Unauthenticated,

    /// The caller can see the organization but its role there lacks the permission.
    #[error("permission denied: {permission}")]
    PermissionDenied { permission: &'static str },

    /// The organization requires its members to use multi-factor
    /// authentication, the caller has none, and their grace period ended
    /// at `deadline`. Their own account (enrolment included) stays open.
    #[error("multi-factor authentication is required in this organization since {deadline}")]
    MfaRequired { org: OrgId, deadline: DateTime<Utc> },

    /// Input rejected; every offending field is named.
    #[error("invalid input: {}", describe(.0))]
    Validation(Vec<FieldError>),

    /// The store cannot be used at all (cannot open or reach it); the reason
    /// is meant for the operator and names the file or server.
    #[error("store unavailable: {0}")]
    Unavailable(String),

    /// The storage layer failed. The message says only that: adapter errors
    /// can quote SQL or internals, so the cause is kept as the error's
    /// `source()` for logs and never rendered to callers.
    #[error("storage failure")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A validation error on a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    /// Wraps any adapter failure.
    pub fn storage(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Storage(source.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
