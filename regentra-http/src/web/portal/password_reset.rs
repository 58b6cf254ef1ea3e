//! A forgotten password, inside the portal: asking for a link
//! (`/portal/{slug}/forgot-password`) and choosing the new password
//! (`/portal/{slug}/reset-password?token=`), both on the portal's branded
//! pages, so that a client's people never leave it. The same core
//! operations, the same limiter and the same answer for any email as the
//! product's pages ([`crate::web::accounts`]); the request names the
//! portal, and the core decides whether the emailed link leads back here
//! (only for the portal's own people). Afterwards the portal's sign-in
//! page says the password was changed.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{PortalView, portal};
use crate::server::AppState;
use crate::server::auth::ClientAddr;
use crate::server::auth::Meta as RequestInfo;
use crate::web::accounts::{
    ForgotForm, PasswordNotSet, PublicForm, RESET_SENT, ResetForm, ResetLink, request_reset_for,
    reset_link, set_password_from_link,
};
use crate::web::{Chrome, render};

#[derive(Template)]
#[template(path = "web/portal/forgot_password.html")]
struct ForgotPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<super::Nav>,
    /// The request went out: the page says what happens next instead of
    /// showing the form.
    sent: Option<&'static str>,
    email: String,
    email_error: Option<String>,
}

impl ForgotPage {
    fn new(view: &PortalView) -> Self {
        Self {
            chrome: view.chrome("Reset your password"),
            view: view.clone(),
            nav: None,
            sent: None,
            email: String::new(),
            email_error: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ForgotQuery {
    /// Back from a request that went out (post, redirect, get).
    sent: Option<String>,
}

/// `GET /portal/{slug}/forgot-password`: the form, or, after a request,
/// what happens next.
pub(crate) async fn forgot_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<ForgotQuery>,
) -> Response {
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let mut page = ForgotPage::new(&view);
    if query.sent.is_some() {
        page.chrome = view.chrome("Check your email");
        page.sent = Some(RESET_SENT);
    }
    render(StatusCode::OK, &page)
}

/// `POST /portal/{slug}/forgot-password`: the core's request, naming this
/// portal; the same redirect whether or not the email has an account.
pub(crate) async fn request(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ClientAddr(address): ClientAddr,
    RequestInfo(meta): RequestInfo,
    PublicForm(form): PublicForm<ForgotForm>,
) -> Response {
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    match request_reset_for(&state, address, &form.email, Some(&view.slug), meta).await {
        Ok(()) => Redirect::to(&format!("{}?sent=1", view.path("forgot-password"))).into_response(),
        Err(refused) => refused.page(|status, error| {
            let mut page = ForgotPage::new(&view);
            page.email = form.email;
            page.email_error = Some(error);
            render(status, &page)
        }),
    }
}

#[derive(Template)]
#[template(path = "web/portal/reset_password.html")]
struct ResetPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<super::Nav>,
    token: String,
    /// Why the link cannot be used (then there is no form, and a way to
    /// ask for a new link).
    refused: Option<String>,
    password_error: Option<String>,
    confirm_error: Option<String>,
}

impl ResetPage {
    fn new(view: &PortalView, token: String) -> Self {
        Self {
            chrome: view.chrome("Choose a new password"),
            view: view.clone(),
            nav: None,
            token,
            refused: None,
            password_error: None,
            confirm_error: None,
        }
    }

    /// The page for a link the core refused, saying why.
    fn refused(view: &PortalView, why: String) -> Response {
        let mut page = Self::new(view, String::new());
        page.chrome = view.chrome("This link cannot be used");
        page.refused = Some(why);
        render(StatusCode::GONE, &page)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /portal/{slug}/reset-password?token=...`: the form, if the link
/// still works; otherwise why not.
pub(crate) async fn reset_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Response {
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    match reset_link(&state, &query.token).await {
        Ok(ResetLink::Usable) => render(StatusCode::OK, &ResetPage::new(&view, query.token)),
        Ok(ResetLink::Refused(why)) => ResetPage::refused(&view, why),
        Err(page) => page,
    }
}

/// `POST /portal/{slug}/reset-password`: sets the password (every session
/// of the account ends in the same commit) and goes to the portal's
/// sign-in page, which says so.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RequestInfo(meta): RequestInfo,
    PublicForm(form): PublicForm<ResetForm>,
) -> Response {
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    match set_password_from_link(&state, &form, meta).await {
        Ok(()) => Redirect::to(&format!("{}?reset=done", view.path("sign-in"))).into_response(),
        Err(PasswordNotSet::Link(why)) => ResetPage::refused(&view, why),
        Err(PasswordNotSet::Password(why)) => {
            let mut page = ResetPage::new(&view, form.token);
            page.password_error = Some(why);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(PasswordNotSet::Confirm(why)) => {
            let mut page = ResetPage::new(&view, form.token);
            page.confirm_error = Some(why);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(PasswordNotSet::Failed(page)) => page,
    }
}
