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

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, when the input was invalid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldErrorDoc>)]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying (rate limits).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// One invalid field (the schema of the core's `FieldError`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorDoc {
    /// The field, as a path into the request (`branding.logo_url`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:regentra:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// A 400 naming one query or path field.
    pub fn invalid_field(field: &str, message: &str) -> Self {
        Self {
            errors: vec![FieldError::new(field, message)],
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad request",
                format!("{field} {message}"),
            )
        }
    }

    /// A 429: too many attempts, come back later.
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
                format!("too many attempts; retry in {retry_after} s"),
            )
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// An error on its way out: the core's, or a problem the HTTP layer found
/// itself (a bad cursor, a rate limit).
#[derive(Debug)]
pub enum ApiError {
    Core(Error),
    Http(Problem),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Core(e)
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError::Http(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Core(e) => problem_of(e).into_response(),
            ApiError::Http(p) => p.into_response(),
        }
    }
}

/// The problem document for a core error.
pub fn problem_of(error: Error) -> Problem {
    {
        match error {
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
            Error::MfaRequired { deadline, .. } => Problem::new(
                StatusCode::FORBIDDEN,
                "mfa-required",
                "MFA required",
                format!(
                    "this organization requires multi-factor authentication, and your grace \
                     period ended at {}: enrol at POST /v1/me/mfa/enroll",
                    deadline.to_rfc3339()
                ),
            ),
            Error::Unauthenticated => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Unauthenticated",
                "a valid bearer token is required",
            ),
            Error::Validation(errors) => {
                // The detail alone says what to fix, field by field.
                let detail = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                Problem {
                    errors,
                    ..Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation",
                        "Invalid input",
                        detail,
                    )
                }
            }
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
        }
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
