//! A client's evidence library in the console
//! (`/app/{org}/compliance/evidence`): every piece of evidence of the org
//! with the controls it supports, the soonest to stop counting first (so
//! what has expired and what expires soon lead the list, and what never
//! expires comes last), a page at a time as the core walks its expiry
//! index; and the download of an evidence file.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use regentra_core::compliance::evidence::{EvidenceOrder, EvidenceQuery};
use regentra_core::ids::{EvidenceId, UserId};
use regentra_core::store::ScanCursor;
use serde::Deserialize;

use super::controls::{evidence_badge, kind_of, name_of, names, org_of, refused, zone};
use super::{Scope, Section, Shell, choose_client, not_found_page, staff_in};
use crate::server::AppState;
use crate::web::display::{Badge, When, when};
use crate::web::{Chrome, render};

/// Pieces of evidence per page.
const PAGE_SIZE: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/compliance/evidence", get(library))
        .route(
            "/app/{scope}/compliance/evidence/{evidence_id}/file",
            get(download),
        )
}

struct Supported {
    key: String,
    href: String,
}

struct Row {
    title: String,
    kind: &'static str,
    href: Option<String>,
    state: Badge,
    valid_until: Option<When>,
    added: When,
    by: String,
    controls: Vec<Supported>,
}

#[derive(Template)]
#[template(path = "web/console/evidence.html")]
struct LibraryPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    controls: String,
    rows: Vec<Row>,
    first_page: bool,
    next_page: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LibraryQuery {
    /// Where the previous page stopped: the expiry key and the id.
    after: Option<String>,
    after_id: Option<String>,
}

/// `GET /app/{org}/compliance/evidence?after=&after_id=`.
async fn library(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<LibraryQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/evidence");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if scope == Scope::All {
        return choose_client(&staff, Section::Compliance);
    }
    let Some(org) = org_of(&staff, &scope) else {
        return not_found_page(&staff, Some(&scope));
    };
    // A cursor that does not read starts again from the first page.
    let after = match (query.after, query.after_id.and_then(|id| id.parse().ok())) {
        (Some(value), Some(id)) => Some(ScanCursor { value, id }),
        _ => None,
    };
    let first_page = after.is_none();
    let found = match state
        .regentra
        .evidence(
            &staff.caller,
            org,
            EvidenceQuery {
                order: EvidenceOrder::Expiry,
                after,
                limit: PAGE_SIZE,
                ..EvidenceQuery::default()
            },
        )
        .await
    {
        Ok(found) => found,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let people: HashMap<UserId, String> = names(&state, &staff, org)
        .await
        .into_iter()
        .map(|p| (p.user, p.name))
        .collect();
    let zone = zone(&state, org).await;
    let base = scope.path("compliance/evidence");
    let next_page = found.next.map(|next| {
        format!(
            "{base}?{}",
            serde_urlencoded::to_string([("after", next.value), ("after_id", next.id.to_string())])
                .unwrap_or_default()
        )
    });
    let rows = found
        .items
        .into_iter()
        .map(|v| {
            let e = v.evidence;
            let href = match &e.content {
                regentra_core::compliance::EvidenceContent::File { .. } => {
                    Some(scope.path(&format!("compliance/evidence/{}/file", e.id)))
                }
                regentra_core::compliance::EvidenceContent::Link { url } => Some(url.clone()),
                _ => None,
            };
            Row {
                kind: kind_of(&e.content),
                href,
                state: evidence_badge(v.state),
                valid_until: e.valid_until.map(|t| when(t, zone)),
                added: when(e.uploaded_at, zone),
                by: name_of(&people, Some(e.uploaded_by)),
                controls: e
                    .controls
                    .iter()
                    .map(|c| Supported {
                        href: scope.path(&format!("compliance/controls/{c}")),
                        key: c.clone(),
                    })
                    .collect(),
                title: e.title,
            }
        })
        .collect();
    let shell = Shell::new(
        &staff,
        Some(&scope),
        Some(Section::Compliance),
        "Evidence library",
    );
    render(
        StatusCode::OK,
        &LibraryPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            controls: scope.path("compliance/controls"),
            rows,
            first_page,
            next_page,
        },
    )
}

/// `GET /app/{org}/compliance/evidence/{evidence}/file`: the file as it
/// was uploaded, chunk by chunk.
async fn download(
    State(state): State<AppState>,
    Path((segment, evidence_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/compliance/evidence/{evidence_id}/file");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(org), Ok(id)) = (org_of(&staff, &scope), evidence_id.parse::<uuid::Uuid>()) else {
        return not_found_page(&staff, Some(&scope));
    };
    match state
        .regentra
        .open_evidence_file(&staff.caller, org, EvidenceId(id))
        .await
    {
        Ok(file) => crate::server::routes::ticket_files::file_response(file),
        // Not a file (a link, an attestation): nothing to download here.
        Err(regentra_core::Error::Validation(_)) => not_found_page(&staff, Some(&scope)),
        Err(e) => refused(&staff, &scope, &e),
    }
}
