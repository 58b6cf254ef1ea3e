//! The person's profile in the console (`/app/profile`): who they are and
//! where they work, their password, two-step sign-in (set up with an
//! authenticator app, recovery codes, turning it off), their API tokens
//! and which emails they get. The same core operations as `/v1/me/...`,
//! with the same limits on guessing a password or a code.

use std::collections::BTreeSet;

use askama::Template;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use qrcode::QrCode;
use qrcode::render::svg;
use regentra_core::Error;
use regentra_core::auth::TokenKind;
use regentra_core::ids::TokenId;
use regentra_core::mail::EmailKind;
use regentra_core::rbac::Via;
use regentra_core::store::PageRequest;
use serde::Deserialize;

use super::{Shell, Staff, failed, staff, staff_form};
use crate::server::AppState;
use crate::server::auth::ClientAddr;
use crate::server::problem::ApiError;
use crate::server::sign_in::{limited_proof, mfa_limit_key};
use crate::web::console::Done;
use crate::web::sign_in::too_many;
use crate::web::{Chrome, CsrfField, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/profile", get(page))
        .route("/app/profile/password", post(change_password))
        .route("/app/profile/mfa/enroll", post(start_mfa))
        .route("/app/profile/mfa/confirm", post(confirm_mfa))
        .route("/app/profile/mfa/disable", post(disable_mfa))
        .route("/app/profile/tokens", post(create_token))
        .route("/app/profile/tokens/revoke", post(revoke_token))
        .route("/app/profile/emails", post(set_emails))
}

/// One org the person acts in.
struct OrgRow {
    name: String,
    roles: String,
}

struct TokenRow {
    id: String,
    name: String,
    hint: String,
    created: String,
    last_used: String,
    expires: String,
}

/// An email the person may turn off.
struct EmailChoice {
    key: &'static str,
    label: &'static str,
    on: bool,
}

/// What a form sent back: its errors, and what is shown once (a new
/// token's secret, recovery codes, an enrolment's QR code).
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    errors: Vec<(&'static str, String)>,
    new_secret: Option<(String, String)>,
    recovery_codes: Vec<String>,
    enrollment: Option<Enrollment>,
    /// The token form's fields, kept when it comes back with an error.
    token_name: String,
    token_expiry: Option<String>,
}

impl Outcome {
    fn error(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.clone())
    }
}

struct Enrollment {
    secret: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "web/console/profile.html")]
struct ProfilePage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    name: String,
    email: String,
    orgs: Vec<OrgRow>,
    mfa: bool,
    /// An enrolment was started and waits for its code (the page lost
    /// the QR code, e.g. after a wrong code): the code form again.
    pending: bool,
    recovery_codes_left: usize,
    tokens: Vec<TokenRow>,
    emails: Vec<EmailChoice>,
    notice: Option<String>,
    new_secret: Option<(String, String)>,
    recovery_codes: Vec<String>,
    enrollment: Option<Enrollment>,
    current_password_error: Option<String>,
    password_error: Option<String>,
    confirm_error: Option<String>,
    code_error: Option<String>,
    disable_error: Option<String>,
    token_name_error: Option<String>,
    expires_error: Option<String>,
    emails_error: Option<String>,
    token_name: String,
    token_expiry: String,
}

/// `GET /app/profile`.
async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Done>,
) -> Response {
    let staff = match staff(&state, &headers, "/app/profile").await {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    let notice = query.notice(&[
        (
            "password",
            "Your password was changed. Your other sessions were signed out.",
        ),
        ("mfa-off", "Two-step sign-in is off."),
        (
            "token-revoked",
            "The token was revoked: it no longer works.",
        ),
        ("emails", "Your email choices were saved."),
    ]);
    show(
        &state,
        &staff,
        Outcome {
            notice,
            ..Outcome::default()
        },
        StatusCode::OK,
    )
    .await
}

async fn show(state: &AppState, staff: &Staff, outcome: Outcome, status: StatusCode) -> Response {
    let r = &state.regentra;
    let caller = &staff.caller;
    let (account, mfa, tokens, preferences) = match (
        r.account(caller).await,
        r.mfa_status(caller).await,
        r.tokens(caller, PageRequest::first(200)).await,
        r.email_preferences(caller).await,
    ) {
        (Ok(a), Ok(m), Ok(t), Ok(p)) => (a, m, t, p),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return failed(&e),
    };
    let now = r.now();
    let day = |at: chrono::DateTime<chrono::Utc>| at.format("%-d %b %Y").to_string();
    let tokens = tokens
        .items
        .into_iter()
        .filter(|t| t.kind == TokenKind::Api && t.revoked_at.is_none())
        .filter(|t| r.token_expiry(t).is_none_or(|at| at > now))
        .map(|t| TokenRow {
            id: t.id.0.to_string(),
            expires: r
                .token_expiry(&t)
                .map(day)
                .unwrap_or_else(|| "Never".to_owned()),
            name: t.name,
            hint: t.hint,
            created: day(t.created_at),
            last_used: t
                .last_used_at
                .map(day)
                .unwrap_or_else(|| "Never".to_owned()),
        })
        .collect();
    let emails = EMAILS
        .iter()
        .map(|(kind, key, label)| EmailChoice {
            key,
            label,
            on: !preferences.off.contains(kind),
        })
        .collect();
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
    let shell = Shell::personal(staff, "profile", "Your profile");
    render(
        status,
        &ProfilePage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            name: account.display_name,
            email: account.email,
            orgs,
            mfa: mfa.enabled,
            pending: mfa.pending && !mfa.enabled,
            recovery_codes_left: mfa.recovery_codes_left,
            tokens,
            emails,
            current_password_error: outcome.error("current_password"),
            password_error: outcome.error("password"),
            confirm_error: outcome.error("confirm"),
            code_error: outcome.error("code"),
            disable_error: outcome.error("disable"),
            token_name_error: outcome.error("name"),
            expires_error: outcome.error("expires_in_days"),
            emails_error: outcome.error("off"),
            token_name: outcome.token_name.clone(),
            token_expiry: outcome
                .token_expiry
                .clone()
                .unwrap_or_else(|| "90".to_owned()),
            notice: outcome.notice,
            new_secret: outcome.new_secret,
            recovery_codes: outcome.recovery_codes,
            enrollment: outcome.enrollment,
        },
    )
}

/// The emails a person may turn off, in the order the page lists them
/// (invitations and password resets always come).
const EMAILS: [(EmailKind, &str, &str); 6] = [
    (
        EmailKind::SlaWarning,
        "sla_warning",
        "A ticket's SLA target is near",
    ),
    (
        EmailKind::SlaBreach,
        "sla_breach",
        "A ticket's SLA target has passed",
    ),
    (
        EmailKind::ChatWaiting,
        "chat_waiting",
        "A client waits in a chat",
    ),
    (
        EmailKind::TicketReply,
        "ticket_reply",
        "Staff replied on a ticket you requested",
    ),
    (
        EmailKind::CampaignInvitation,
        "campaign_invitation",
        "A policy to acknowledge",
    ),
    (
        EmailKind::CampaignReminder,
        "campaign_reminder",
        "A reminder of a policy to acknowledge",
    ),
];

/// A form's failure as the page shows it: the core's field errors under
/// their fields (`rename` maps a core field to the page's), a limit as a
/// wait under `field`.
fn problems(error: ApiError, field: &'static str) -> Result<Vec<(&'static str, String)>, Error> {
    match error {
        ApiError::Core(Error::Validation(fields)) => Ok(fields
            .into_iter()
            .map(|f| {
                let name: &'static str = match f.field.as_str() {
                    "current_password" => "current_password",
                    "password" => "password",
                    "code" => "code",
                    "name" => "name",
                    "expires_in_days" => "expires_in_days",
                    "off" => "off",
                    _ => field,
                };
                (name, f.message)
            })
            .collect()),
        ApiError::Core(e) => Err(e),
        ApiError::Http(problem) if problem.status == 429 => {
            Ok(vec![(field, too_many(problem.retry_after.unwrap_or(60)))])
        }
        ApiError::Http(problem) => Ok(vec![(field, problem.title.clone())]),
    }
}

async fn after(
    state: &AppState,
    staff: &Staff,
    result: Result<Outcome, ApiError>,
    field: &'static str,
) -> Response {
    match result {
        Ok(outcome) => show(state, staff, outcome, StatusCode::OK).await,
        Err(e) => match problems(e, field) {
            Ok(errors) => {
                show(
                    state,
                    staff,
                    Outcome {
                        errors,
                        ..Outcome::default()
                    },
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => failed(&e),
        },
    }
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /app/profile/password`: limited like the API's (a stolen session
/// guessing the current password counts as failed sign-ins).
async fn change_password(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    request: Request,
) -> Response {
    let (staff, form) = match staff_form::<PasswordForm>(&state, "/app/profile", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if form.password != form.confirm {
        return after(
            &state,
            &staff,
            Err(ApiError::Core(Error::invalid(
                "confirm",
                "the two new passwords differ",
            ))),
            "confirm",
        )
        .await;
    }
    let attempt = match state
        .limiter
        .attempt(&format!("user:{}", staff.caller.user), address)
        .await
    {
        Ok(attempt) => attempt,
        Err(limited) => {
            return after(&state, &staff, Err(limited), "current_password").await;
        }
    };
    let result = state
        .regentra
        .change_password(&staff.caller, Some(&form.current_password), &form.password)
        .await;
    let wrong_current = matches!(&result, Err(Error::Validation(fields))
        if fields.iter().any(|f| f.field == "current_password"));
    if !wrong_current {
        attempt.succeeded().await;
    }
    match result {
        Ok(_) => Redirect::to("/app/profile?done=password").into_response(),
        Err(e) => after(&state, &staff, Err(ApiError::Core(e)), "password").await,
    }
}

#[derive(Debug, Deserialize)]
struct NoFields {}

/// `POST /app/profile/mfa/enroll`: a fresh secret, shown as a QR code and
/// as text, waiting for a code from the app.
async fn start_mfa(State(state): State<AppState>, request: Request) -> Response {
    let (staff, _) = match staff_form::<NoFields>(&state, "/app/profile", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let result = match state.regentra.start_mfa_enrollment(&staff.caller).await {
        Ok(setup) => Ok(Outcome {
            enrollment: Some(Enrollment {
                qr_svg: qr_svg(&setup.uri),
                secret: setup.secret,
            }),
            ..Outcome::default()
        }),
        Err(e) => Err(ApiError::Core(e)),
    };
    after(&state, &staff, result, "code").await
}

/// The QR code of an `otpauth://` URI as inline SVG (our own markup: the
/// `qrcode` crate draws rectangles, nothing from the URI reaches the page
/// but the code's modules).
fn qr_svg(uri: &str) -> String {
    match QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build()
            // The page's own title names it; the XML prolog has no place
            // inside HTML.
            .trim_start_matches(|c| c != '<')
            .replacen("<?xml version=\"1.0\" standalone=\"yes\"?>", "", 1),
        Err(e) => {
            tracing::warn!(error = %e, "the QR code could not be drawn");
            String::new()
        }
    }
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /app/profile/mfa/confirm`: a code from the app turns it on; the
/// recovery codes are shown this once.
async fn confirm_mfa(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    request: Request,
) -> Response {
    let (staff, form) = match staff_form::<CodeForm>(&state, "/app/profile", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let key = mfa_limit_key(staff.caller.user);
    let proof = state.regentra.confirm_mfa(&staff.caller, form.code.trim());
    let result = limited_proof(&state, &key, address, proof)
        .await
        .map(|codes| Outcome {
            notice: Some("Two-step sign-in is on. Keep the recovery codes below.".to_owned()),
            recovery_codes: codes,
            ..Outcome::default()
        });
    after(&state, &staff, result, "code").await
}

#[derive(Debug, Deserialize)]
struct DisableForm {
    #[serde(default)]
    code: String,
}

/// `POST /app/profile/mfa/disable`: given a current code (or a recovery
/// code).
async fn disable_mfa(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    request: Request,
) -> Response {
    let (staff, form) = match staff_form::<DisableForm>(&state, "/app/profile", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let key = mfa_limit_key(staff.caller.user);
    let code = form.code.trim().to_owned();
    let proof = state
        .regentra
        .disable_mfa(&staff.caller, Some(code.as_str()), None);
    match limited_proof(&state, &key, address, proof).await {
        Ok(()) => Redirect::to("/app/profile?done=mfa-off").into_response(),
        Err(e) => {
            // The core names `code`; on this form it is the disable field.
            let errors = match problems(e, "disable") {
                Ok(errors) => errors.into_iter().map(|(_, m)| ("disable", m)).collect(),
                Err(e) => return failed(&e),
            };
            show(
                &state,
                &staff,
                Outcome {
                    errors,
                    ..Outcome::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
    /// Days, or empty for a token that does not expire.
    #[serde(default)]
    expires_in_days: String,
}

/// `POST /app/profile/tokens`: a new API token, its secret shown once.
async fn create_token(State(state): State<AppState>, request: Request) -> Response {
    let (staff, form) = match staff_form::<TokenForm>(&state, "/app/profile", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let days = match form.expires_in_days.trim() {
        "" => Ok(None),
        days => days.parse::<u32>().map(Some).map_err(|_| {
            ApiError::Core(Error::invalid(
                "expires_in_days",
                "enter a number of days, 1 to 3650, or leave it empty",
            ))
        }),
    };
    let keep = |errors| Outcome {
        errors,
        token_name: form.name.clone(),
        token_expiry: Some(form.expires_in_days.clone()),
        ..Outcome::default()
    };
    let result = match days {
        Ok(days) => state
            .regentra
            .issue_api_token(&staff.caller, &form.name, days)
            .await
            .map(|(token, secret)| Outcome {
                new_secret: Some((token.name, secret)),
                ..Outcome::default()
            })
            .map_err(ApiError::Core),
        Err(e) => Err(e),
    };
    match result {
        Ok(outcome) => show(&state, &staff, outcome, StatusCode::OK).await,
        Err(e) => match problems(e, "name") {
            Ok(errors) => {
                show(
                    &state,
                    &staff,
                    keep(errors),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => failed(&e),
        },
    }
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    token: String,
}

/// `POST /app/profile/tokens/revoke`.
async fn revoke_token(State(state): State<AppState>, request: Request) -> Response {
    let (staff, form) = match staff_form::<RevokeForm>(&state, "/app/profile", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(id) = form.token.parse::<uuid::Uuid>() else {
        return failed(&Error::NotFound { what: "token" });
    };
    match state
        .regentra
        .revoke_token(&staff.caller, TokenId(id))
        .await
    {
        Ok(_) => Redirect::to("/app/profile?done=token-revoked").into_response(),
        Err(e) => failed(&e),
    }
}

/// `POST /app/profile/emails`: the boxes left ticked are the emails kept.
async fn set_emails(State(state): State<AppState>, request: Request) -> Response {
    // Repeated `on` fields: read as pairs, not a struct.
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return crate::web::error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large",
                "Go back to your profile and save your email choices again.",
            );
        }
    };
    let request = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
    let (staff, _) = match staff_form::<NoFields>(&state, "/app/profile", request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let on: BTreeSet<String> = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == "on")
        .map(|(_, v)| v)
        .collect();
    let off = EMAILS
        .iter()
        .filter(|(_, key, _)| !on.contains(*key))
        .map(|(kind, _, _)| *kind)
        .collect();
    match state
        .regentra
        .set_email_preferences(&staff.caller, off)
        .await
    {
        Ok(_) => Redirect::to("/app/profile?done=emails").into_response(),
        Err(e) => after(&state, &staff, Err(ApiError::Core(e)), "off").await,
    }
}
