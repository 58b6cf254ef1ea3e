//! The assets assigned to the signed-in person (their laptop, phone,
//! licenses), read-only, where the org's portal settings show them
//! (`show_assets`): the core's `assets_of`, a store page at a time.
//! Hidden, the page is the portal's 404 and the menu has no entry for it.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use regentra_core::Error;
use regentra_core::psa::records::AssetStatus;
use serde::Deserialize;

use super::{Nav, PortalView, failed, not_found_page, signed_in};
use crate::server::AppState;
use crate::server::page::{Page, PageQuery, Position, encode};
use crate::web::{Chrome, render};

/// Assets per page.
const PAGE_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    cursor: Option<String>,
}

struct Row {
    name: String,
    kind: String,
    serial: Option<String>,
    status: &'static str,
    /// The badge's class: in use is good news, the rest is neutral.
    badge: &'static str,
}

#[derive(Template)]
#[template(path = "web/portal/assets.html")]
struct AssetsPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    rows: Vec<Row>,
    more: Option<String>,
    later_page: bool,
}

/// `GET /portal/{slug}/assets?cursor=`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (view, visitor) = match signed_in(&state, &headers, &slug, uri.path()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !view.show_assets {
        return not_found_page(&view, &visitor, "home");
    }
    let query: ListQuery = raw
        .as_deref()
        .and_then(|raw| serde_urlencoded::from_str(raw).ok())
        .unwrap_or_default();
    // A cursor that does not decode starts again from the first page.
    let page = Page::parse(PageQuery {
        limit: Some(PAGE_SIZE),
        cursor: query.cursor,
    })
    .unwrap_or(Page {
        limit: PAGE_SIZE,
        position: Position::Start,
    });
    let later_page = page.position != Position::Start;
    let user = visitor.caller.user;
    let listing = match state
        .regentra
        .assets_of(&visitor.caller, view.portal.org, user, page.request())
        .await
    {
        Ok(listing) => listing,
        Err(Error::NotFound { .. }) => return not_found_page(&view, &visitor, "home"),
        Err(e) => return failed(&e),
    };
    let rows = listing
        .items
        .into_iter()
        .map(|a| Row {
            name: a.name,
            kind: a.kind,
            serial: a.serial,
            status: a.status.label(),
            badge: match a.status {
                AssetStatus::InUse => "badge-success",
                AssetStatus::InRepair => "badge-warning",
                AssetStatus::InStock | AssetStatus::Retired => "badge-muted",
            },
        })
        .collect();
    let more = listing.next.map(|id| {
        format!(
            "{}?cursor={}",
            view.path("assets"),
            encode(Position::AfterId(id))
        )
    });
    render(
        StatusCode::OK,
        &AssetsPage {
            chrome: view.chrome("Your assets").with_session(&visitor.secret),
            nav: Some(Nav::new(&view, &visitor, "assets")),
            view,
            rows,
            more,
            later_page,
        },
    )
}
