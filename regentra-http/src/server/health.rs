//! Health checks for a load balancer or an orchestrator, outside the API:
//! no authentication, no rate limit, not in the OpenAPI document.
//!
//! - `GET /healthz`: 200 while the process runs and answers; no store access,
//!   so a slow database never gets a healthy process restarted.
//! - `GET /readyz`: 200 when the store answers a trivial read and its schema
//!   is current; 503 (problem+json saying why) otherwise, and from the
//!   moment the process starts draining ([`super::Drain`]), so new requests
//!   go to other processes while this one finishes its own.
//!
//! A client portal's own host name does not serve them
//! ([`super::sites::only_the_portal`]): probes address the server itself.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use regentra_core::Error;

use super::AppState;
use super::problem::Problem;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.drain.is_draining() {
        return not_ready("the server is shutting down".to_owned());
    }
    match state.regentra.store_ready().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => {
            let why = match e {
                Error::Unavailable(why) => why,
                other => format!("the store does not answer: {other}"),
            };
            tracing::warn!(reason = %why, "not ready");
            not_ready(why)
        }
    }
}

fn not_ready(why: String) -> Response {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not-ready",
        "Not ready",
        why,
    )
    .into_response()
}
