//! The signed-in person's own page (`/account`): who they are, whether
//! two-step sign-in is on, the organizations they act in and their role
//! in each, and signing out. Where a browser goes after signing in when no
//! page asked for it. (The staff console builds its profile on this.)

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use regentra_core::Error;
use regentra_core::rbac::Via;

use super::{Chrome, CsrfField, error_page, render, to_sign_in};
use crate::server::{AppState, browser};

pub fn routes() -> Router<AppState> {
    Router::new().route("/account", get(account_page))
}

/// One organization the person acts in.
struct OrgRow {
    name: String,
    /// Their roles there, as words (`msp admin, via the MSP`).
    roles: String,
}

#[derive(Template)]
#[template(path = "web/account.html")]
struct AccountPage {
    chrome: Chrome,
    name: String,
    email: String,
    mfa: bool,
    orgs: Vec<OrgRow>,
    csrf_field: CsrfField,
}

async fn account_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(secret) = browser::session_secret(&headers, &state) else {
        return to_sign_in("/account");
    };
    let caller = match state.authenticate(&headers, &secret).await {
        Ok(caller) => caller,
        Err(Error::Unauthenticated) => return to_sign_in("/account"),
        Err(e) => return failed(e),
    };
    let (account, orgs) = match (
        state.regentra.account(&caller).await,
        state.regentra.my_organizations(&caller).await,
    ) {
        (Ok(account), Ok(orgs)) => (account, orgs),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let orgs = orgs
        .into_iter()
        .map(|access| OrgRow {
            name: access.org.name,
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
    render(
        StatusCode::OK,
        &AccountPage {
            chrome: Chrome::new("Your account").with_session(&secret),
            name: account.display_name,
            email: account.email,
            mfa: account.mfa,
            orgs,
            csrf_field: CsrfField::of(&secret),
        },
    )
}

fn failed(error: Error) -> Response {
    tracing::error!(error = %error, "the account page failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Your account could not be shown. Try again in a moment.",
    )
}
