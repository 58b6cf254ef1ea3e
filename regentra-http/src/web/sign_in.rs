//! The sign-in page: `GET /sign-in?next=/path`, `POST /sign-in` (a form:
//! email, password, next), for an account with MFA `POST /sign-in/code`
//! (the challenge and a code), and `POST /sign-out` (a form with the CSRF
//! token). Signing in goes through [`crate::server::sign_in`], the same
//! path (limits, decoy hash, session) as the API's login; a success sets
//! the session cookie and redirects to `next`, a local path only.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use regentra_core::Error;
use serde::Deserialize;

use super::{Chrome, SessionForm, error_page, local_path};
use crate::server::auth::{ClientAddr, Meta};
use crate::server::problem::ApiError;
use crate::server::sign_in::{Session, SignIn, complete_mfa, sign_in};
use crate::server::{AppState, browser};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(page).post(submit))
        .route("/sign-in/code", post(submit_code))
        .route("/sign-out", post(sign_out))
}

/// The one answer to a wrong email or password: the same words whether
/// the account exists.
pub const WRONG_CREDENTIALS: &str = "The email or the password is not right.";

#[derive(Template)]
#[template(path = "web/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    next: String,
    email: String,
    notice: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

impl SignInPage {
    fn new(next: String) -> Self {
        Self {
            chrome: Chrome::new("Sign in"),
            next,
            email: String::new(),
            notice: None,
            email_error: None,
            password_error: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    next: Option<String>,
    signed_out: Option<String>,
    /// Back from choosing a new password through a reset link.
    reset: Option<String>,
    /// The email to fill in (after accepting an invitation).
    email: Option<String>,
}

/// `GET /sign-in`: the form. A `next` that is not a local path is
/// dropped (the form then goes to `/`).
async fn page(RawQuery(query): RawQuery) -> Response {
    let query: PageQuery = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let mut page = SignInPage::new(local_path(query.next.as_deref()));
    if query.signed_out.is_some() {
        page.notice = Some("You are signed out.".to_owned());
    }
    if query.reset.is_some() {
        page.notice = Some("Your password is changed. Sign in with the new one.".to_owned());
    }
    if let Some(email) = query.email {
        page.email = email;
    }
    super::render(StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /sign-in`: on success the session cookie and a redirect (303) to
/// `next`; otherwise the form again, the message next to its field.
async fn submit(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Meta(request): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // No session yet, so no CSRF token: a form posted from another site
    // (signing the victim in as the attacker) is refused by its origin.
    if !browser::origin_is_ours(&headers, &state) {
        return cross_site_form();
    }
    let form: SignInForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let mut page = SignInPage::new(local_path(form.next.as_deref()));
    page.email = form.email.trim().to_owned();
    if page.email.is_empty() {
        page.email_error = Some("Enter your email address.".to_owned());
    }
    if form.password.is_empty() {
        page.password_error = Some("Enter your password.".to_owned());
    }
    if page.email_error.is_some() || page.password_error.is_some() {
        return super::render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    // The product's sign-in is not served on a portal's host name.
    match sign_in(&state, &page.email, &form.password, address, request, None).await {
        Ok(SignIn::Session(session)) => signed_in(&state, &session, &page.next),
        Ok(SignIn::MfaRequired { challenge, .. }) => super::render(
            StatusCode::OK,
            &CodePage {
                chrome: Chrome::new("Enter your code"),
                challenge,
                next: page.next,
                code_error: None,
            },
        ),
        Err(ApiError::Core(Error::Unauthenticated)) => {
            page.password_error = Some(WRONG_CREDENTIALS.to_owned());
            super::render(StatusCode::UNAUTHORIZED, &page)
        }
        Err(ApiError::Http(problem)) if problem.status == 429 => {
            let wait = problem.retry_after.unwrap_or(60);
            page.password_error = Some(too_many(wait));
            let mut response = super::render(StatusCode::TOO_MANY_REQUESTS, &page);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            response
        }
        Err(e) => unavailable(&e),
    }
}

/// The session cookie and the way on to `next`.
pub(crate) fn signed_in(state: &AppState, session: &Session, next: &str) -> Response {
    let lifetime = session
        .token
        .expires_at
        .map_or(0, |end| (end - state.regentra.now()).num_seconds());
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        browser::set_cookie(state, &session.secret, lifetime),
    );
    response
}

/// The refusal of a sign-in form posted from another site.
pub(crate) fn cross_site_form() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this site's own sign-in page. Open the sign-in page and \
         try again.",
    )
}

/// The second step, for an account with MFA: the challenge (a hidden
/// field, like a CSRF token: single use, minutes long) and the code.
#[derive(Template)]
#[template(path = "web/sign_in_code.html")]
struct CodePage {
    chrome: Chrome,
    challenge: String,
    next: String,
    code_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CodeForm {
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /sign-in/code`: the session cookie and a redirect to `next` for
/// a right code; the code form again for a wrong one; the sign-in form
/// when the challenge is over (expired, used, or too many wrong codes).
async fn submit_code(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Meta(request): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !browser::origin_is_ours(&headers, &state) {
        return cross_site_form();
    }
    let form: CodeForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let next = local_path(form.next.as_deref());
    let mut page = CodePage {
        chrome: Chrome::new("Enter your code"),
        challenge: form.challenge.clone(),
        next: next.clone(),
        code_error: None,
    };
    if form.code.trim().is_empty() {
        page.code_error = Some("Enter the code your app shows.".to_owned());
        return super::render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    match complete_mfa(
        &state,
        &form.challenge,
        form.code.trim(),
        address,
        request,
        None,
    )
    .await
    {
        Ok(session) => signed_in(&state, &session, &next),
        Err(ApiError::Core(Error::Validation(_))) => {
            page.code_error =
                Some("That code is not right. Try the code your app shows now.".to_owned());
            super::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(ApiError::Core(Error::Unauthenticated)) => {
            let mut again = SignInPage::new(next);
            again.notice = Some(
                "That sign-in has expired or had too many wrong codes. Sign in again.".to_owned(),
            );
            super::render(StatusCode::UNAUTHORIZED, &again)
        }
        Err(ApiError::Http(problem)) if problem.status == 429 => {
            let wait = problem.retry_after.unwrap_or(60);
            page.code_error = Some(too_many(wait));
            let mut response = super::render(StatusCode::TOO_MANY_REQUESTS, &page);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            response
        }
        Err(e) => unavailable(&e),
    }
}

/// The words of a rate limit, `wait` seconds long.
pub(crate) fn too_many(wait: u64) -> String {
    let minutes = wait.div_ceil(60);
    format!(
        "Too many attempts. Try again in {minutes} minute{}.",
        if minutes > 1 { "s" } else { "" }
    )
}

pub(crate) fn unavailable(e: &ApiError) -> Response {
    tracing::error!(error = ?e, "signing in from the page failed");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Signing in is not possible right now",
        "Something went wrong on our side. Try again in a moment.",
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct NoFields {}

/// `POST /sign-out`: ends the browser's session, clears its cookie and
/// goes back to the sign-in page.
async fn sign_out(State(state): State<AppState>, session: SessionForm<NoFields>) -> Response {
    if let Err(e) = state.regentra.end_session(&session.caller).await {
        tracing::error!(error = %e, "signing out from the page failed");
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Signing out is not possible right now",
            "Something went wrong on our side. Try again in a moment.",
        );
    }
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, browser::clear_cookie(&state));
    response
}
