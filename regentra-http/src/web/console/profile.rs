//! The person's profile in the console (`/app/profile`): who they are,
//! the orgs they act in and their role in each.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use regentra_core::rbac::Via;

use super::{Shell, failed, staff};
use crate::server::AppState;
use crate::web::render;

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/profile", get(page))
}

/// One org the person acts in.
struct OrgRow {
    name: String,
    roles: String,
}

#[derive(Template)]
#[template(path = "web/console/profile.html")]
struct ProfilePage {
    shell: Option<Shell>,
    chrome: crate::web::Chrome,
    name: String,
    email: String,
    mfa: bool,
    orgs: Vec<OrgRow>,
}

/// `GET /app/profile`.
async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let staff = match staff(&state, &headers, "/app/profile").await {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    let account = match state.regentra.account(&staff.caller).await {
        Ok(account) => account,
        Err(e) => return failed(&e),
    };
    let orgs = staff
        .orgs
        .iter()
        .map(|access| OrgRow {
            name: access.org.name.clone(),
            roles: access
                .roles
                .iter()
                .map(|grant| {
                    let role = grant.role.to_string().replace('_', " ");
                    match grant.via {
                        Via::Membership => role,
                        Via::MspDelegation { .. } => format!("{role}, through the MSP"),
                        Via::Platform => format!("{role}, as platform operator"),
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect();
    let shell = Shell::personal(&staff, "profile", "Your profile");
    render(
        StatusCode::OK,
        &ProfilePage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            name: account.display_name,
            email: account.email,
            mfa: account.mfa,
            orgs,
        },
    )
}
