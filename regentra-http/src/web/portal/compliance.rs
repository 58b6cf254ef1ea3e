//! The portal's compliance status, where the org's portal settings show
//! it: each adopted framework's score (the gap analysis's, through the
//! core's `portal_dashboard`) as a bar with the number in words,
//! requirements met of those in scope, and when the standing last changed.
//! Hidden, the page is the portal's 404 and the menu has no entry for it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use regentra_core::Error;

use super::{Nav, PortalView, failed, local_date, local_time, not_found_page, signed_in, zone_of};
use crate::server::AppState;
use crate::web::{Chrome, render};

/// One framework's standing as the page shows it.
struct Standing {
    name: String,
    /// The score to one decimal, as text (`72.5`).
    score: String,
    /// The bar's width, in percent of the track (0 to 100).
    width: String,
    met: usize,
    total: usize,
    last_change: Option<String>,
}

#[derive(Template)]
#[template(path = "web/portal/compliance.html")]
struct CompliancePage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    at: String,
    frameworks: Vec<Standing>,
}

/// `GET /portal/{slug}/compliance`.
pub(crate) async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (view, visitor) = match signed_in(&state, &headers, &slug, uri.path()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !view.show_compliance {
        return not_found_page(&view, &visitor, "home");
    }
    let dashboard = match state
        .regentra
        .portal_dashboard(&visitor.caller, view.portal.org)
        .await
    {
        Ok(dashboard) => dashboard,
        Err(Error::NotFound { .. }) => return not_found_page(&view, &visitor, "home"),
        Err(e) => return failed(&e),
    };
    let zone = zone_of(&state, &view).await;
    let frameworks = dashboard
        .frameworks
        .into_iter()
        .map(|f| Standing {
            name: f.name,
            score: format!("{:.1}", f.score),
            width: format!("{:.1}", f.score.clamp(0.0, 100.0)),
            met: f.implemented,
            total: f.total,
            last_change: f.last_change.map(|at| local_date(zone, at)),
        })
        .collect();
    render(
        StatusCode::OK,
        &CompliancePage {
            chrome: view
                .chrome("Compliance status")
                .with_session(&visitor.secret),
            nav: Some(Nav::new(&view, &visitor, "compliance")),
            at: local_time(zone, dashboard.at),
            frameworks,
            view,
        },
    )
}
