//! A ticket's files (upload to the ticket or to one's own comment, list,
//! download) and the requester's reopening of a resolved ticket. Files
//! stream to the core, which bounds and hashes them; downloads stream back
//! as attachments, never shown inline.

use axum::Json;
use axum::body::Body as RawBody;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use regentra_core::compliance::evidence::StoredFile;
use regentra_core::ids::{AttachmentId, CommentId, OrgId, TicketId};
use regentra_core::psa::attachments::{NewAttachment, TicketAttachment};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::tickets::{TicketBody, ticket_body};
use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{Page, PageQuery, Paged};
use crate::server::problem::Problem;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_attachment, list_attachments))
        .routes(routes!(download_attachment))
        .routes(routes!(reopen_ticket))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name.
    name: String,
    /// One of the caller's own comments on the ticket to attach it to (it
    /// takes that comment's visibility); without it the file belongs to the
    /// ticket and is public.
    comment: Option<CommentId>,
}

/// Attaches a file to a ticket: the body is the file itself, streamed to
/// the store and hashed on the way. Programs and scripts are refused; a
/// type that is not an inert document, image or archive type is stored as
/// `application/octet-stream`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/attachments", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file"),
    responses((status = 201, body = TicketAttachment), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn upload_attachment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, ticket)): Id<(OrgId, TicketId)>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: RawBody,
) -> ApiResult<(StatusCode, Json<TicketAttachment>)> {
    let limit = state.regentra.attachment_limit();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Problem {
            errors: vec![regentra_core::FieldError::new(
                "file",
                format!(
                    "is larger than the limit of {}",
                    regentra_core::compliance::evidence::size_in_words(limit)
                ),
            )],
            ..Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
                format!("ticket attachments are limited to {limit} bytes"),
            )
        }
        .into());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let file = NewAttachment {
        name: q.name,
        content_type,
    };
    let chunks = body
        .into_data_stream()
        .map(|r| r.map(|b| b.to_vec()).map_err(|e| e.to_string()));
    // Staged and committed in a task of its own: one the request timeout
    // (or a client gone) abandons half-way still runs to where the core
    // commits the file or removes it, instead of leaving its blob behind.
    let r = state.regentra.clone();
    let comment = q.comment;
    let work = tokio::spawn(async move {
        let staged = r.stage_attachment(&caller, org, file, chunks).await?;
        r.attach_files(&caller, org, ticket, comment, vec![staged])
            .await
    });
    let mut attached = work
        .await
        .map_err(|e| regentra_core::Error::storage(format!("an upload's task failed: {e}")))??;
    let attachment = attached
        .pop()
        .ok_or_else(|| regentra_core::Error::storage("an attachment went missing"))?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// The ticket's files the caller may see, oldest first (a requester sees
/// those of the ticket and of public replies, never those of internal notes).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/attachments", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<TicketAttachment>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_attachments(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, ticket)): Id<(OrgId, TicketId)>,
    page: Page,
) -> ApiResult<Json<Paged<TicketAttachment>>> {
    let items = state
        .regentra
        .ticket_attachments(&caller, org, ticket, page.request())
        .await?;
    Ok(Json(page.listed(items)))
}

/// Downloads a ticket's file, as stored, always as an attachment;
/// `x-content-sha256` carries its hash.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/attachments/{attachment_id}", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn download_attachment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, ticket, attachment)): Id<(OrgId, TicketId, AttachmentId)>,
) -> ApiResult<Response> {
    let file = state
        .regentra
        .open_ticket_attachment(&caller, org, ticket, attachment)
        .await?;
    Ok(file_response(file))
}

/// A stored file as a download: its type, length and hash, a
/// `Content-Disposition: attachment` with a safe ASCII name (and the real
/// one in RFC 8187 form), and `nosniff` (the server's layer adds a policy
/// that lets nothing load or run).
pub(crate) fn file_response(file: StoredFile) -> Response {
    let ascii: String = file
        .name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' && c != ';' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(file.name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let stream = file
        .chunks
        .map(|r| r.map_err(|e| std::io::Error::other(e.to_string())));
    let mut response = RawBody::from_stream(stream).into_response();
    let headers = response.headers_mut();
    let pairs = [
        (header::CONTENT_TYPE, file.content_type.clone()),
        (header::CONTENT_LENGTH, file.size.to_string()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        ),
        (header::ETAG, format!("\"{}\"", file.sha256)),
        (
            header::HeaderName::from_static("x-content-sha256"),
            file.sha256.clone(),
        ),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ];
    for (name, value) in pairs {
        if let Ok(v) = value.parse() {
            headers.insert(name, v);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Reopens a resolved or closed ticket. Staff reopen any; its requester
/// reopens their own resolved ticket within 14 days of its resolution
/// (then, or once closed, they open a new one). The resolution clock runs
/// again with the time it had used.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/tickets/{ticket_id}/reopen", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)),
    responses((status = 200, body = TicketBody), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn reopen_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, id)): Id<(OrgId, TicketId)>,
) -> ApiResult<Json<TicketBody>> {
    let ticket = state.regentra.reopen_ticket(&caller, org, id).await?;
    Ok(Json(ticket_body(ticket, state.regentra.now())?))
}
