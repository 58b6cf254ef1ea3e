//! The pages an emailed link opens: accepting an invitation, choosing a
//! new password after a reset, and asking for a reset. Each calls the same
//! core operations as the API (`/v1/invitations/...`,
//! `/v1/auth/password-reset...`); a token is checked by the core, which
//! says what is wrong with it (expired, used, revoked), and that is what
//! the page shows.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
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
struct PublicForm<T>(T);

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
fn field_message(error: &Error, field: &str) -> Option<String> {
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

fn unexpected(error: Error) -> Response {
    tracing::error!(error = %error, "an account page failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The request could not be completed. Try again in a moment.",
    )
}

fn capitalized(text: &str) -> String {
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
const RESET_SENT: &str = "If this email has an account, a link to choose a new password is on \
     its way. It works once, for one hour. Check your inbox (and the spam folder).";

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
struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `POST /forgot-password`: limited like the API's request (every request
/// counts: each may send an email).
async fn request_reset(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    RequestInfo(meta): RequestInfo,
    PublicForm(form): PublicForm<ForgotForm>,
) -> Response {
    let again = |status: StatusCode, error: String, email: String| {
        render(
            status,
            &ForgotPage {
                chrome: Chrome::new("Reset your password"),
                email,
                email_error: Some(error),
            },
        )
    };
    if let Err(limited) = state.reset_limiter.attempt(&form.email, address) {
        let response = crate::server::problem::ApiError::from(limited).into_response();
        let wait = response
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .cloned();
        let mut page = again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests for this address. Wait a few minutes, then try again.".into(),
            form.email,
        );
        if let Some(wait) = wait {
            page.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, wait);
        }
        return page;
    }
    match state
        .regentra
        .request_password_reset(&form.email, meta)
        .await
    {
        Ok(()) => message(
            StatusCode::OK,
            "Check your email",
            RESET_SENT,
            false,
            Some(("/sign-in", "Back to sign in")),
        ),
        Err(e) => match field_message(&e, "email") {
            Some(why) => again(
                StatusCode::UNPROCESSABLE_ENTITY,
                capitalized(&why),
                form.email,
            ),
            None => unexpected(e),
        },
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
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /reset-password`: sets the password; every session of the
/// account ends (the core revokes them in the same commit).
async fn confirm_reset(
    State(state): State<AppState>,
    RequestInfo(meta): RequestInfo,
    PublicForm(form): PublicForm<ResetForm>,
) -> Response {
    let inputs = match state.regentra.password_reset_inputs(&form.token).await {
        Ok(inputs) => inputs,
        Err(e) => return link_refused(e, "This link cannot be used"),
    };
    if form.password != form.confirm {
        return reset_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            form.token,
            None,
            Some("The two passwords are not the same.".into()),
        );
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
            return match field_message(&e, "password") {
                Some(why) => reset_form(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    form.token,
                    Some(capitalized(&why)),
                    None,
                ),
                None => unexpected(e),
            };
        }
        Err(_) => return unexpected(Error::storage("password hashing stopped")),
    };
    match state
        .regentra
        .confirm_password_reset(&form.token, hash, meta)
        .await
    {
        Ok(_) => Redirect::to("/sign-in?reset=done").into_response(),
        Err(e) => link_refused(e, "This link cannot be used"),
    }
}
