//! Every error as `application/problem+json` (RFC 9457): the core's error
//! enum mapped in one place, and axum's own rejections too. Storage
//! failures never show their cause (it is logged).

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use regentra_core::{Error, FieldError};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:regentra:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A core error on its way out.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = match self.0 {
            Error::NotFound { what } => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("{what} not found"),
            ),
            Error::AlreadyExists { what, field } => Problem::new(
                StatusCode::CONFLICT,
                "already-exists",
                "Already exists",
                format!("{what} already exists ({field} is taken)"),
            ),
            Error::Conflict { what } => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                format!("{what} was changed concurrently; reload and retry"),
            ),
            Error::PermissionDenied { permission } => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                format!("your role here does not grant {permission}"),
            ),
            Error::Unauthenticated => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Unauthenticated",
                "a valid bearer token is required",
            ),
            Error::Validation(errors) => Problem {
                errors,
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Invalid input",
                    "some fields are invalid",
                )
            },
            Error::Unavailable(reason) => {
                tracing::error!(%reason, "store unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Unavailable",
                    "the service is unavailable",
                )
            }
            other => {
                let cause = std::error::Error::source(&other)
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                tracing::error!(error = %other, %cause, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "an internal error occurred",
                )
            }
        };
        problem.into_response()
    }
}

/// JSON bodies whose rejections (bad JSON, wrong content type, missing or
/// unknown fields, too large) are problem+json too.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct Body<T>(pub T);

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let (slug, title) = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported-media-type", "Unsupported media type")
            }
            StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Request body too large"),
            StatusCode::UNPROCESSABLE_ENTITY => ("validation", "Invalid input"),
            _ => ("bad-request", "Bad request"),
        };
        Problem::new(status, slug, title, rejection.body_text())
    }
}
