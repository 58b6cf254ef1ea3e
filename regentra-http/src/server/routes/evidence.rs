//! Evidence: file uploads (streamed to the core, which hashes them and
//! checks the client's SHA-256 when given), downloads, links, attestations,
//! and linking to controls.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body as RawBody;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use regentra_core::compliance::evidence::{
    EvidenceOrder, EvidenceQuery as Filter, NewEvidence, NewFile,
};
use regentra_core::ids::{EvidenceId, OrgId};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{Page, PageQuery, Paged};
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_file))
        .routes(routes!(add_link))
        .routes(routes!(add_attestation))
        .routes(routes!(list_evidence))
        .routes(routes!(download))
        .routes(routes!(link, unlink))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    title: String,
    /// The file's name.
    name: String,
    description: Option<String>,
    collected_at: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    /// Comma-separated common control keys to link it to.
    controls: Option<String>,
    /// The client's hex SHA-256 of the file: a mismatch stores nothing.
    sha256: Option<String>,
}

fn controls_of(list: Option<&str>) -> BTreeSet<String> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Uploads a file as evidence: the body is the file itself, streamed to the
/// store in chunks and hashed on the way.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/evidence/files", tag = "evidence",
    params(("org_id" = Uuid, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file"),
    responses((status = 201, body = regentra_core::compliance::Evidence), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn upload_file(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let limit = state.regentra.evidence_limit();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Problem {
            errors: vec![regentra_core::FieldError::new(
                "file",
                format!("is larger than the {limit}-byte limit"),
            )],
            ..Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
                format!("evidence files are limited to {limit} bytes"),
            )
        }
        .into());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let meta = NewEvidence {
        title: q.title,
        description: q.description.unwrap_or_default(),
        collected_at: q.collected_at,
        valid_until: q.valid_until,
        controls: controls_of(q.controls.as_deref()),
    };
    let file = NewFile {
        name: q.name,
        content_type,
        sha256: q.sha256,
    };
    let chunks = body
        .into_data_stream()
        .map(|r| r.map(|b| b.to_vec()).map_err(|e| e.to_string()));
    let evidence = state
        .regentra
        .upload_evidence_file(&caller, org, meta, file, chunks)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(evidence))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    title: String,
    #[serde(default)]
    description: String,
    url: String,
    collected_at: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    #[serde(default)]
    controls: BTreeSet<String>,
}

/// Records a link (a ticket, a dashboard, a document elsewhere) as evidence.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/evidence/links", tag = "evidence",
    params(("org_id" = Uuid, Path)), request_body = NewLink,
    responses((status = 201, body = regentra_core::compliance::Evidence), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<NewLink>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let meta = NewEvidence {
        title: req.title,
        description: req.description,
        collected_at: req.collected_at,
        valid_until: req.valid_until,
        controls: req.controls,
    };
    let evidence = state
        .regentra
        .add_link_evidence(&caller, org, meta, &req.url)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(evidence))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttestation {
    title: String,
    #[serde(default)]
    description: String,
    /// What the caller attests to, in their own words.
    statement: String,
    collected_at: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    #[serde(default)]
    controls: BTreeSet<String>,
}

/// Records the caller's attestation as evidence.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/evidence/attestations", tag = "evidence",
    params(("org_id" = Uuid, Path)), request_body = NewAttestation,
    responses((status = 201, body = regentra_core::compliance::Evidence), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_attestation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<NewAttestation>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let meta = NewEvidence {
        title: req.title,
        description: req.description,
        collected_at: req.collected_at,
        valid_until: req.valid_until,
        controls: req.controls,
    };
    let evidence = state
        .regentra
        .add_attestation(&caller, org, meta, &req.statement)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(evidence))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// Only evidence linked to this control (one of the org's catalog).
    control: Option<String>,
    /// Only evidence whose valid-until is before this day (UTC midnight):
    /// expired or expiring by then, soonest first; evidence that never
    /// expires is left out.
    expiring_before: Option<NaiveDate>,
    /// `added` (the default: the order it was added in) or `expiry`
    /// (soonest valid-until first, evidence that never expires last).
    sort: Option<String>,
    /// Items per page (default 50, at most 500; larger values are capped).
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The org's evidence, each marked expired or not.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/evidence", tag = "evidence",
    params(("org_id" = Uuid, Path), EvidenceQuery),
    responses((status = 200, body = Paged<regentra_core::compliance::evidence::EvidenceView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_evidence(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<EvidenceQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let page = Page::parse(PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let order = match q.sort.as_deref() {
        None | Some("") | Some("added") => EvidenceOrder::Added,
        Some("expiry") => EvidenceOrder::Expiry,
        Some(_) => {
            return Err(regentra_core::Error::invalid("sort", "must be added or expiry").into());
        }
    };
    let filter = Filter {
        control: q.control.filter(|c| !c.is_empty()),
        expiring_before: q
            .expiring_before
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
        order,
        after: page.scan_after()?,
        limit: page.limit,
    };
    let items = state.regentra.evidence(&caller, org, filter).await?;
    Ok(Json(page.scanned(items).map(|e| json!(e))))
}

/// Downloads an evidence file, as stored; `x-content-sha256` carries its hash.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/evidence/{evidence_id}/file", tag = "evidence",
    params(("org_id" = Uuid, Path), ("evidence_id" = Uuid, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn download(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, EvidenceId)>,
) -> ApiResult<Response> {
    let file = state.regentra.open_evidence_file(&caller, org, id).await?;
    Ok(super::ticket_files::file_response(file))
}

/// Links evidence to a common control.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/evidence/{evidence_id}/controls/{control}", tag = "evidence",
    params(("org_id" = Uuid, Path), ("evidence_id" = Uuid, Path), ("control" = String, Path)),
    responses((status = 200, body = regentra_core::compliance::Evidence), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id, control)): Id<(OrgId, EvidenceId, String)>,
) -> ApiResult<Json<Value>> {
    let evidence = state
        .regentra
        .link_evidence(&caller, org, id, &control)
        .await?;
    Ok(Json(json!(evidence)))
}

/// Unlinks evidence from a common control.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/evidence/{evidence_id}/controls/{control}", tag = "evidence",
    params(("org_id" = Uuid, Path), ("evidence_id" = Uuid, Path), ("control" = String, Path)),
    responses((status = 200, body = regentra_core::compliance::Evidence), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn unlink(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id, control)): Id<(OrgId, EvidenceId, String)>,
) -> ApiResult<Json<Value>> {
    let evidence = state
        .regentra
        .unlink_evidence(&caller, org, id, &control)
        .await?;
    Ok(Json(json!(evidence)))
}
