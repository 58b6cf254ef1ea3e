//! Signing in to a portal: the portal's own branded form, the MFA code
//! step, and signing out. A forgotten password is asked for and chosen on
//! the portal's own pages too ([`super::password_reset`]). The same sign-in path as the product's page
//! (limits, decoy hash, session); in addition, an account that does not act
//! in the portal's organization gets no session here and is told to use
//! its own organization's portal.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use regentra_core::Error;
use serde::Deserialize;

use super::{PortalView, portal};
use crate::server::auth::{ClientAddr, Meta};
use crate::server::problem::ApiError;
use crate::server::sign_in::{Session, SignIn, complete_mfa, sign_in};
use crate::server::{AppState, browser};
use crate::web::sign_in::{
    NoFields, WRONG_CREDENTIALS, cross_site_form, signed_in, too_many, unavailable,
};
use crate::web::{Chrome, SessionForm, local_path, render};

#[derive(Template)]
#[template(path = "web/portal/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<super::Nav>,
    next: String,
    email: String,
    notice: Option<String>,
    alert: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

impl SignInPage {
    fn new(view: &PortalView, next: String) -> Self {
        Self {
            chrome: view.chrome("Sign in"),
            view: view.clone(),
            nav: None,
            next,
            email: String::new(),
            notice: None,
            alert: None,
            email_error: None,
            password_error: None,
        }
    }
}

#[derive(Template)]
#[template(path = "web/portal/sign_in_code.html")]
struct CodePage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<super::Nav>,
    challenge: String,
    next: String,
    code_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    next: Option<String>,
    /// `expired` (the session ended) or `signed_out`.
    reason: Option<String>,
    /// `done`: back from choosing a new password through a reset link.
    reset: Option<String>,
}

/// Where a portal sign-in goes on to: a page of this portal only.
fn next_in(view: &PortalView, next: Option<&str>) -> String {
    let next = local_path(next);
    if next == view.base || next.starts_with(&format!("{}/", view.base)) {
        next
    } else {
        view.base.clone()
    }
}

/// `GET /portal/{slug}/sign-in`.
pub(crate) async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let query: PageQuery = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let mut page = SignInPage::new(&view, next_in(&view, query.next.as_deref()));
    page.notice = match query.reason.as_deref() {
        Some("expired") => Some("Your session has expired. Sign in again to go on.".to_owned()),
        Some("signed_out") => Some("You are signed out.".to_owned()),
        _ => None,
    };
    if query.reset.as_deref() == Some("done") {
        page.notice = Some("Your password was changed. Sign in with the new one.".to_owned());
    }
    render(StatusCode::OK, &page)
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

/// `POST /portal/{slug}/sign-in`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ClientAddr(address): ClientAddr,
    Meta(request): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !browser::origin_is_ours(&headers, &state) {
        return cross_site_form();
    }
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let form: SignInForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let mut page = SignInPage::new(&view, next_in(&view, form.next.as_deref()));
    page.email = form.email.trim().to_owned();
    if page.email.is_empty() {
        page.email_error = Some("Enter your email address.".to_owned());
    }
    if form.password.is_empty() {
        page.password_error = Some("Enter your password.".to_owned());
    }
    if page.email_error.is_some() || page.password_error.is_some() {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    // On the portal's own host name, the session is bound to it.
    let site = match state.site(&headers).await {
        Ok(site) => site,
        Err(e) => return super::failed(&e),
    };
    let host = site.portal_host();
    match sign_in(&state, &page.email, &form.password, address, request, host).await {
        Ok(SignIn::Session(session)) => admit(&state, &view, *session, page, host).await,
        Ok(SignIn::MfaRequired { challenge, .. }) => render(
            StatusCode::OK,
            &CodePage {
                chrome: view.chrome("Enter your code"),
                view: view.clone(),
                nav: None,
                challenge,
                next: page.next,
                code_error: None,
            },
        ),
        Err(ApiError::Core(Error::Unauthenticated)) => {
            page.password_error = Some(WRONG_CREDENTIALS.to_owned());
            render(StatusCode::UNAUTHORIZED, &page)
        }
        Err(ApiError::Http(problem)) if problem.status == 429 => {
            let wait = problem.retry_after.unwrap_or(60);
            page.password_error = Some(too_many(wait));
            limited(render(StatusCode::TOO_MANY_REQUESTS, &page), wait)
        }
        Err(e) => unavailable(&e),
    }
}

fn limited(mut response: Response, wait: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

/// A session from a right password (and code): kept and the cookie set
/// when the account acts in the portal's org; otherwise ended at once and
/// the form shown again with the reason.
async fn admit(
    state: &AppState,
    view: &PortalView,
    session: Session,
    mut page: SignInPage,
    portal_host: Option<&str>,
) -> Response {
    let member = match state
        .regentra
        .authenticate_at(&session.secret, portal_host)
        .await
    {
        Ok(caller) => match state.regentra.me(&caller).await {
            Ok(me) => Some((
                caller,
                me.organizations.iter().any(|o| o.org.id == view.portal.org),
            )),
            Err(e) => return super::failed(&e),
        },
        Err(e) => return super::failed(&e),
    };
    match member {
        Some((_, true)) => signed_in(state, &session, &page.next),
        Some((caller, false)) => {
            if let Err(e) = state.regentra.end_session(&caller).await {
                tracing::error!(error = %e, "ending a wrong-portal session failed");
            }
            page.alert = Some(format!(
                "This account is not part of {}. Sign in on your own organization's portal, or \
                 with an account of {}.",
                view.name, view.name
            ));
            render(StatusCode::FORBIDDEN, &page)
        }
        None => super::failed(&Error::Unauthenticated),
    }
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

/// `POST /portal/{slug}/sign-in/code`.
pub(crate) async fn submit_code(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ClientAddr(address): ClientAddr,
    Meta(request): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !browser::origin_is_ours(&headers, &state) {
        return cross_site_form();
    }
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let form: CodeForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let next = next_in(&view, form.next.as_deref());
    let mut page = CodePage {
        chrome: view.chrome("Enter your code"),
        view: view.clone(),
        nav: None,
        challenge: form.challenge.clone(),
        next: next.clone(),
        code_error: None,
    };
    if form.code.trim().is_empty() {
        page.code_error = Some("Enter the code your app shows.".to_owned());
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let site = match state.site(&headers).await {
        Ok(site) => site,
        Err(e) => return super::failed(&e),
    };
    let host = site.portal_host();
    match complete_mfa(
        &state,
        &form.challenge,
        form.code.trim(),
        address,
        request,
        host,
    )
    .await
    {
        Ok(session) => admit(&state, &view, session, SignInPage::new(&view, next), host).await,
        Err(ApiError::Core(Error::Validation(_))) => {
            page.code_error =
                Some("That code is not right. Try the code your app shows now.".to_owned());
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(ApiError::Core(Error::Unauthenticated)) => {
            let mut again = SignInPage::new(&view, next);
            again.notice = Some(
                "That sign-in has expired or had too many wrong codes. Sign in again.".to_owned(),
            );
            render(StatusCode::UNAUTHORIZED, &again)
        }
        Err(ApiError::Http(problem)) if problem.status == 429 => {
            let wait = problem.retry_after.unwrap_or(60);
            page.code_error = Some(too_many(wait));
            limited(render(StatusCode::TOO_MANY_REQUESTS, &page), wait)
        }
        Err(e) => unavailable(&e),
    }
}

/// `POST /portal/{slug}/sign-out`: ends the session and goes back to the
/// portal's sign-in page.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    session: SessionForm<NoFields>,
) -> Response {
    if let Err(e) = state.regentra.end_session(&session.caller).await {
        return super::failed(&e);
    }
    // Back to this portal's sign-in page when it is one (the slug comes
    // from the address, so it is checked before it goes into a redirect).
    let back = match portal(&state, &slug).await {
        Ok(view) => format!("{}?reason=signed_out", view.path("sign-in")),
        Err(_) => "/sign-in?signed_out=1".to_owned(),
    };
    let mut response = Redirect::to(&back).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, browser::clear_cookie(&state));
    response
}
