//! The pages an emailed link opens: accepting an invitation, choosing a
//! new password after a reset, and asking for a reset. Each calls the same
//! core operations as the API (`/v1/invitations/...`,
//! `/v1/auth/password-reset...`); a token is checked by the core, which
//! says what is wrong with it (expired, used, revoked), and that is what
//! the page shows. The reset's steps (the limited request, the link's
//! check, the new password) are helpers the portal's own reset pages
//! ([`crate::web::portal::password_reset`]) share, so both follow one path.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use regentra_core::tenancy::invitations::InvitationPreview;
use regentra_core::{Error, Principal};
use serde::Deserialize;

use super::{Chrome, CsrfField, SessionForm, error_page, render};
use crate::server::AppState;
use crate::server::auth::ClientAddr;
use crate::server::auth::Meta as RequestInfo;
use crate::server::browser;
use crate::server::routes::blocking;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invite", get(invite_page).post(accept_with_new_account))
        .route("/invite/accept", post(accept_signed_in))
        .route("/forgot-password", get(forgot_page).post(request_reset))
        .route("/reset-password", get(reset_page).post(confirm_reset))
}

/// A form posted without a session (the link's token is what it holds),
/// from this server's own page: a post from another site is refused by its
/// `Origin`, as the sign-in form's is.
pub(crate) struct PublicForm<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned + Default + Send> FromRequest<AppState> for PublicForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !browser::origin_is_ours(request.headers(), state) {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was not sent from this site's own page. Open the link again and \
                 try again.",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(PublicForm(
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default(),
        ))
    }
}

/// What a token link carries.
#[derive(Debug, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// A page with a heading, one message and maybe a button.
#[derive(Template)]
#[template(path = "web/message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: String,
    message: String,
    alert: bool,
    action: Option<(String, String)>,
}

fn message(
    status: StatusCode,
    heading: &str,
    text: &str,
    alert: bool,
    action: Option<(&str, &str)>,
) -> Response {
    render(
        status,
        &MessagePage {
            chrome: Chrome::new(heading),
            heading: heading.to_owned(),
            message: text.to_owned(),
            alert,
            action: action.map(|(href, label)| (href.to_owned(), label.to_owned())),
        },
    )
}

/// The message of the first field error naming `field`, if any.
pub(crate) fn field_message(error: &Error, field: &str) -> Option<String> {
    match error {
        Error::Validation(fields) => fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone()),
        _ => None,
    }
}

/// A link whose token the core refused (unknown, used, revoked, expired):
/// a page that says which, or a generic error page for anything else.
fn link_refused(error: Error, heading: &str) -> Response {
    match field_message(&error, "token") {
        Some(why) => message(StatusCode::GONE, heading, &capitalized(&why), true, None),
        None => unexpected(error),
    }
}

pub(crate) fn unexpected(error: Error) -> Response {
    tracing::error!(error = %error, "an account page failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The request could not be completed. Try again in a moment.",
    )
}

pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn date(at: DateTime<Utc>) -> String {
    at.format("%e %B %Y, %H:%M UTC")
        .to_string()
        .trim()
        .to_owned()
}

/// The browser's signed-in session, if it has a live one.
async fn signed_in(headers: &HeaderMap, state: &AppState) -> Option<(Principal, String)> {
    let secret = browser::session_secret(headers, state)?;
    let caller = state.authenticate(headers, &secret).await.ok()?;
    Some((caller, secret))
}

// ---- invitations ------------------------------------------------------

/// What the invitation page asks of its visitor.
enum InviteStep {
    /// No account has the invited email: a name and a password make one.
    NewAccount {
        name: String,
        name_error: Option<String>,
        password_error: Option<String>,
    },
    /// The email has an account and nobody is signed in.
    SignIn { sign_in_link: String },
    /// Signed in as the invited email: one button accepts.
    Accept {
        csrf_field: CsrfField,
        error: Option<String>,
    },
    /// Signed in as someone else.
    OtherAccount {
        signed_in_as: String,
        csrf_field: CsrfField,
    },
}

#[derive(Template)]
#[template(path = "web/invite.html")]
struct InvitePage {
    chrome: Chrome,
    invitation: InvitationPreview,
    role_label: String,
    expires: String,
    token: String,
    step: InviteStep,
}

fn invite_page_for(
    status: StatusCode,
    preview: InvitationPreview,
    token: String,
    step: InviteStep,
) -> Response {
    let chrome = Chrome::new(format!("Join {}", preview.org_name));
    render(
        status,
        &InvitePage {
            chrome,
            role_label: preview.role.to_string().replace('_', " "),
            expires: date(preview.expires_at),
            token,
            invitation: preview,
            step,
        },
    )
}

/// `GET /invite?token=...`: who invites whom, as what, and what to do.
async fn invite_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    let preview = match state.regentra.invitation_preview(&query.token).await {
        Ok(preview) => preview,
        Err(e) => return link_refused(e, "This invitation cannot be used"),
    };
    let step = invite_step(&state, &headers, &preview, &query.token).await;
    invite_page_for(StatusCode::OK, preview, query.token, step)
}

async fn invite_step(
    state: &AppState,
    headers: &HeaderMap,
    preview: &InvitationPreview,
    token: &str,
) -> InviteStep {
    match signed_in(headers, state).await {
        Some((caller, secret)) => {
            let email = state
                .regentra
                .account(&caller)
                .await
                .map(|a| a.email)
                .unwrap_or_default();
            if email == preview.email {
                InviteStep::Accept {
                    csrf_field: CsrfField::of(&secret),
                    error: None,
                }
            } else {
                InviteStep::OtherAccount {
                    signed_in_as: email,
                    csrf_field: CsrfField::of(&secret),
                }
            }
        }
        None if preview.has_account => {
            let back = format!(
                "/invite?{}",
                serde_urlencoded::to_string([("token", token)]).unwrap_or_default()
            );
            InviteStep::SignIn {
                sign_in_link: format!(
                    "/sign-in?{}",
                    serde_urlencoded::to_string([("next", back)]).unwrap_or_default()
                ),
            }
        }
        None => InviteStep::NewAccount {
            name: String::new(),
            name_error: None,
            password_error: None,
        },
    }
}

#[derive(Debug, Default, Deserialize)]
struct NewAccountForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /invite`: a person without an account makes one and joins. The
/// form needs no session (there is none yet): the link's token is what
/// proves the address, as in the API.
async fn accept_with_new_account(
    State(state): State<AppState>,
    RequestInfo(meta): RequestInfo,
    PublicForm(form): PublicForm<NewAccountForm>,
) -> Response {
    let preview = match state.regentra.invitation_preview(&form.token).await {
        Ok(preview) => preview,
        Err(e) => return link_refused(e, "This invitation cannot be used"),
    };
    let again =
        |name_error: Option<String>, password_error: Option<String>, form: NewAccountForm| {
            invite_page_for(
                StatusCode::UNPROCESSABLE_ENTITY,
                preview.clone(),
                form.token,
                InviteStep::NewAccount {
                    name: form.name,
                    name_error,
                    password_error,
                },
            )
        };
    if form.name.trim().is_empty() {
        return again(Some("Enter your name.".into()), None, form);
    }
    let regentra = std::sync::Arc::clone(&state.regentra);
    let inputs = regentra_core::auth::password_user_inputs(&preview.email, &form.name);
    let password = form.password.clone();
    let hashed = blocking(move || {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        regentra.hash_password_for(&password, &inputs)
    })
    .await;
    let hash = match hashed {
        Ok(Ok(hash)) => hash,
        Ok(Err(e)) => {
            let why = field_message(&e, "password");
            return match why {
                Some(why) => again(None, Some(capitalized(&why)), form),
                None => unexpected(e),
            };
        }
        Err(_) => return unexpected(Error::storage("password hashing stopped")),
    };
    match state
        .regentra
        .accept_invitation_with_new_account(&form.token, &form.name, hash, meta)
        .await
    {
        Ok(accepted) => joined(&preview, &accepted.user.email),
        Err(e) => {
            if let Some(why) = field_message(&e, "name") {
                return again(Some(capitalized(&why)), None, form);
            }
            link_refused(e, "This invitation cannot be used")
        }
    }
}

fn joined(preview: &InvitationPreview, email: &str) -> Response {
    let sign_in = format!(
        "/sign-in?{}",
        serde_urlencoded::to_string([("email", email)]).unwrap_or_default()
    );
    message(
        StatusCode::OK,
        &format!("Welcome to {}", preview.org_name),
        &format!(
            "You are now a member of {} as {}.",
            preview.org_name,
            preview.role.to_string().replace('_', " ")
        ),
        false,
        Some((&sign_in, "Sign in")),
    )
}

#[derive(Debug, Deserialize)]
struct AcceptForm {
    #[serde(default)]
    token: String,
}

/// `POST /invite/accept`: the signed-in owner of the invited email
/// accepts (consent), from the page's CSRF-checked form.
async fn accept_signed_in(
    State(state): State<AppState>,
    form: SessionForm<AcceptForm>,
) -> Response {
    let SessionForm {
        caller,
        secret,
        form,
    } = form;
    let preview = match state.regentra.invitation_preview(&form.token).await {
        Ok(preview) => preview,
        Err(e) => return link_refused(e, "This invitation cannot be used"),
    };
    match state.regentra.accept_invitation(&caller, &form.token).await {
        Ok(accepted) => {
            let _ = secret;
            message(
                StatusCode::OK,
                &format!("Welcome to {}", preview.org_name),
                &format!(
                    "{} is now a member of {} as {}.",
                    accepted.user.email,
                    preview.org_name,
                    preview.role.to_string().replace('_', " ")
                ),
                false,
                Some(("/", "Continue")),
            )
        }
        Err(e) => match field_message(&e, "token") {
            Some(why) => invite_page_for(
                StatusCode::UNPROCESSABLE_ENTITY,
                preview,
                form.token,
                InviteStep::Accept {
                    csrf_field: CsrfField::of(&secret),
                    error: Some(capitalized(&why)),
                },
            ),
            None => unexpected(e),
        },
    }
}

// ---- password reset ---------------------------------------------------

#[derive(Template)]
#[template(path = "web/forgot_password.html")]
struct ForgotPage {
    chrome: Chrome,
    email: String,
    email_error: Option<String>,
}

/// The answer to a reset request, the same whether or not the email has
/// an account.
pub(crate) const RESET_SENT: &str = "If this email has an account, a link to choose a new \
     password is on its way. It works once, for one hour. Check your inbox (and the spam folder).";

async fn forgot_page() -> Response {
    render(
        StatusCode::OK,
        &ForgotPage {
            chrome: Chrome::new("Reset your password"),
            email: String::new(),
            email_error: None,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ForgotForm {
    #[serde(default)]
    pub(crate) email: String,
}

/// Why a reset request from a page did not go through.
pub(crate) enum ResetNotRequested {
    /// Too many requests: the message for the email field, and the
    /// `Retry-After` the answer carries.
    Limited {
        message: String,
        retry_after: Option<HeaderValue>,
    },
    /// The email is not one (the core's words, for the field).
    Email(String),
    /// Our failure: the page to show.
    Failed(Response),
}

impl ResetNotRequested {
    /// The form's page again (`form` renders it with the email field's
    /// message, for a status), or the failure's page.
    pub(crate) fn page(self, form: impl FnOnce(StatusCode, String) -> Response) -> Response {
        match self {
            ResetNotRequested::Limited {
                message,
                retry_after,
            } => {
                let mut page = form(StatusCode::TOO_MANY_REQUESTS, message);
                if let Some(wait) = retry_after {
                    page.headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, wait);
                }
                page
            }
            ResetNotRequested::Email(why) => form(StatusCode::UNPROCESSABLE_ENTITY, why),
            ResetNotRequested::Failed(page) => page,
        }
    }
}

/// A reset request from a page (the product's, or the portal's named by
/// `portal`): limited like the API's request (every request counts: each
/// may send an email), then the core's, which answers the same whether or
/// not the email has an account.
pub(crate) async fn request_reset_for(
    state: &AppState,
    address: Option<std::net::IpAddr>,
    email: &str,
    portal: Option<&str>,
    meta: regentra_core::audit::RequestMeta,
) -> Result<(), ResetNotRequested> {
    if let Err(limited) = state.reset_limiter.attempt(email, address).await {
        let response = limited.into_response();
        return Err(ResetNotRequested::Limited {
            message: "Too many requests for this address. Wait a few minutes, then try again."
                .into(),
            retry_after: response
                .headers()
                .get(axum::http::header::RETRY_AFTER)
                .cloned(),
        });
    }
    match state
        .regentra
        .request_password_reset(email, portal, meta)
        .await
    {
        Ok(()) => Ok(()),
        Err(e) => Err(match field_message(&e, "email") {
            Some(why) => ResetNotRequested::Email(capitalized(&why)),
            None => ResetNotRequested::Failed(match e {
                Error::NotFound { .. } => super::not_found(),
                e => unexpected(e),
            }),
        }),
    }
}

/// `POST /forgot-password`.
async fn request_reset(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    RequestInfo(meta): RequestInfo,
    PublicForm(form): PublicForm<ForgotForm>,
) -> Response {
    match request_reset_for(&state, address, &form.email, None, meta).await {
        Ok(()) => message(
            StatusCode::OK,
            "Check your email",
            RESET_SENT,
            false,
            Some(("/sign-in", "Back to sign in")),
        ),
        Err(refused) => refused.page(|status, error| {
            render(
                status,
                &ForgotPage {
                    chrome: Chrome::new("Reset your password"),
                    email: form.email,
                    email_error: Some(error),
                },
            )
        }),
    }
}

#[derive(Template)]
#[template(path = "web/reset_password.html")]
struct ResetPage {
    chrome: Chrome,
    token: String,
    password_error: Option<String>,
    confirm_error: Option<String>,
}

fn reset_form(
    status: StatusCode,
    token: String,
    password_error: Option<String>,
    confirm_error: Option<String>,
) -> Response {
    render(
        status,
        &ResetPage {
            chrome: Chrome::new("Choose a new password"),
            token,
            password_error,
            confirm_error,
        },
    )
}

/// `GET /reset-password?token=...`: the form, if the link still works.
async fn reset_page(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Response {
    match state.regentra.password_reset_inputs(&query.token).await {
        Ok(_) => reset_form(StatusCode::OK, query.token, None, None),
        Err(e) => link_refused(e, "This link cannot be used"),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    pub(crate) token: String,
    #[serde(default)]
    pub(crate) password: String,
    #[serde(default)]
    pub(crate) confirm: String,
}

/// Why a new password from a reset link was not set.
pub(crate) enum PasswordNotSet {
    /// The link is refused (unknown, used, superseded, expired): the core's
    /// words for `token`, as the page says them.
    Link(String),
    /// The password field's message (the core's password rule).
    Password(String),
    /// The confirmation field's message.
    Confirm(String),
    /// Our failure: the page to show.
    Failed(Response),
}

/// Whether a reset link's page may show its form.
pub(crate) enum ResetLink {
    /// The link works.
    Usable,
    /// The core refused it (unknown, used, superseded, expired): its words,
    /// as the page says them.
    Refused(String),
}

/// Checks a reset link's token for its page; `Err` is our failure's page.
pub(crate) async fn reset_link(state: &AppState, token: &str) -> Result<ResetLink, Response> {
    match state.regentra.password_reset_inputs(token).await {
        Ok(_) => Ok(ResetLink::Usable),
        Err(e) => why_refused(e).map(ResetLink::Refused).map_err(unexpected),
    }
}

/// The core's words for a refused link; any other error is ours.
fn why_refused(error: Error) -> Result<String, Error> {
    match field_message(&error, "token") {
        Some(why) => Ok(capitalized(&why)),
        None => Err(error),
    }
}

fn link_not_usable(error: Error) -> PasswordNotSet {
    match why_refused(error) {
        Ok(why) => PasswordNotSet::Link(why),
        Err(e) => PasswordNotSet::Failed(unexpected(e)),
    }
}

/// Sets the password a reset link's holder chose, from a page's form:
/// the link checked, the two entries compared, the password hashed off
/// the async threads against the core's rule, then the core's
/// `confirm_password_reset` (which ends every session of the account in
/// the same commit).
pub(crate) async fn set_password_from_link(
    state: &AppState,
    form: &ResetForm,
    meta: regentra_core::audit::RequestMeta,
) -> Result<(), PasswordNotSet> {
    let inputs = state
        .regentra
        .password_reset_inputs(&form.token)
        .await
        .map_err(link_not_usable)?;
    if form.password != form.confirm {
        return Err(PasswordNotSet::Confirm(
            "The two passwords are not the same.".into(),
        ));
    }
    let regentra = std::sync::Arc::clone(&state.regentra);
    let password = form.password.clone();
    let hashed = blocking(move || {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        regentra.hash_password_for(&password, &inputs)
    })
    .await;
    let hash = match hashed {
        Ok(Ok(hash)) => hash,
        Ok(Err(e)) => {
            return Err(match field_message(&e, "password") {
                Some(why) => PasswordNotSet::Password(capitalized(&why)),
                None => PasswordNotSet::Failed(unexpected(e)),
            });
        }
        Err(_) => {
            return Err(PasswordNotSet::Failed(unexpected(Error::storage(
                "password hashing stopped",
            ))));
        }
    };
    state
        .regentra
        .confirm_password_reset(&form.token, hash, meta)
        .await
        .map_err(link_not_usable)
}

/// `POST /reset-password`: sets the password; every session of the
/// account ends (the core revokes them in the same commit).
async fn confirm_reset(
    State(state): State<AppState>,
    RequestInfo(meta): RequestInfo,
    PublicForm(form): PublicForm<ResetForm>,
) -> Response {
    match set_password_from_link(&state, &form, meta).await {
        Ok(()) => Redirect::to("/sign-in?reset=done").into_response(),
        Err(PasswordNotSet::Link(why)) => message(
            StatusCode::GONE,
            "This link cannot be used",
            &why,
            true,
            None,
        ),
        Err(PasswordNotSet::Password(why)) => reset_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            form.token,
            Some(why),
            None,
        ),
        Err(PasswordNotSet::Confirm(why)) => reset_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            form.token,
            None,
            Some(why),
        ),
        Err(PasswordNotSet::Failed(page)) => page,
    }
}
