//! The routes, one module per core concept. Request bodies are their own
//! types (unknown fields are refused); ids, org and role come from the path
//! and the token, never from a body. Each handler parses, calls one core
//! operation and maps the result.

pub mod account;
pub mod audit;
pub mod chat;
pub mod compliance;
pub mod evidence;
pub mod inbox;
pub mod invitations;
pub mod mail;
pub mod mfa;
pub mod password_reset;
pub mod policies;
pub mod portal;
pub mod psa;
pub mod security;
pub mod sessions;
pub mod sla;
pub mod tenancy;
pub mod ticket_files;
pub mod tickets;

use axum::extract::FromRequestParts;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::StatusCode;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::problem::{ApiError, Problem};

pub type ApiResult<T> = Result<T, ApiError>;

/// Path parameters whose rejection is a 404 problem (an id that does not
/// parse names nothing that exists).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Id<T>(pub T);

impl From<PathRejection> for Problem {
    fn from(_: PathRejection) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "no such resource",
        )
    }
}

/// Query parameters whose rejection is a 400 problem that names the
/// parameter (a missing `title`, a `valid_until` that is not a date).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            rejection.body_text(),
        )
    }
}

/// Every API route, with its OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(super::openapi::ApiDoc::openapi())
        .merge(account::routes())
        .merge(sessions::routes())
        .merge(mfa::routes())
        .merge(inbox::routes())
        .merge(mail::routes())
        .merge(tenancy::routes())
        .merge(invitations::routes())
        .merge(password_reset::routes())
        .merge(security::routes())
        .merge(compliance::routes())
        .merge(evidence::routes())
        .merge(policies::routes())
        .merge(sla::routes())
        .merge(tickets::routes())
        .merge(ticket_files::routes())
        .merge(psa::routes())
        .merge(chat::routes())
        .merge(portal::routes())
        .merge(audit::routes())
}

/// The answer for a path no route serves.
pub async fn no_route() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such route",
    )
}

/// Runs a slow, CPU-bound job (argon2) off the async threads.
pub async fn blocking<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::from(regentra_core::Error::storage(e.to_string())))
}
