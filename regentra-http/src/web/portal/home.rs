//! The portal's start page: the welcome text and the ways on (a new
//! ticket, the person's tickets, the knowledge base, policies to sign).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Nav, PortalView, signed_in};
use crate::server::AppState;
use crate::web::{Chrome, render};

#[derive(Template)]
#[template(path = "web/portal/home.html")]
struct HomePage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    first_name: String,
}

/// `GET /portal/{slug}`: the start page for a signed-in person (the
/// sign-in page otherwise).
pub(crate) async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/portal/{slug}");
    let (view, visitor) = match signed_in(&state, &headers, &slug, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let first_name = visitor
        .name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    render(
        StatusCode::OK,
        &HomePage {
            chrome: view.chrome("Home").with_session(&visitor.secret),
            nav: Some(Nav::new(&view, &visitor, "home")),
            view,
            first_name,
        },
    )
}
