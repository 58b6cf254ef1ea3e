//! An MSP's clients (`/app/{msp}/settings/clients`), for those who manage
//! its tenants: provisioning one (its name and the invitation of its first
//! admin, made together), renaming one, offboarding one (archived: its
//! records kept, nobody acting in it, the worker passing it by) after a
//! confirmation page, and restoring an archived one.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use regentra_core::ids::OrgId;
use regentra_core::store::PageRequest;
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::{page_org, refused};
use crate::server::AppState;
use crate::web::console::confirm::{self, Confirmation, Confirmed, Consequence};
use crate::web::console::{Done, org_form};
use crate::web::console::{Scope, Section, Shell, Staff, not_found_page, staff_in};
use crate::web::display::{When, when};
use crate::web::{Chrome, CsrfField, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/settings/clients", get(clients))
        .route("/app/{scope}/settings/clients/new", post(provision))
        .route(
            "/app/{scope}/settings/clients/{client}/rename",
            post(rename),
        )
        .route(
            "/app/{scope}/settings/clients/{client}/archive",
            get(archive_page).post(archive),
        )
        .route(
            "/app/{scope}/settings/clients/{client}/restore",
            post(restore),
        )
}

struct ClientRow {
    id: String,
    name: String,
    archived: Option<When>,
    created: When,
    rename: String,
    archive: String,
    restore: String,
    /// What was typed into this row's name field, with its error.
    typed: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ProvisionForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    admin_email: String,
    #[serde(default)]
    admin_name: String,
}

#[derive(Template)]
#[template(path = "web/console/settings_clients.html")]
struct ClientsPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    back: String,
    action: String,
    rows: Vec<ClientRow>,
    form: ProvisionForm,
    errors: Vec<FieldError>,
    name_error: Option<String>,
    admin_email_error: Option<String>,
    admin_name_error: Option<String>,
    notice: Option<String>,
}

/// What a form left to show on the clients page.
#[derive(Default)]
struct Outcome {
    form: ProvisionForm,
    errors: Vec<FieldError>,
    /// A rename refused: the client, what was typed, why.
    rename: Option<(OrgId, String, String)>,
    notice: Option<String>,
}

/// `GET /app/{msp}/settings/clients`.
async fn clients(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/clients");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = query.notice(&[
        (
            "provisioned",
            "Client provisioned. Its first admin was sent an invitation; assign your staff to it in Staff assignment.",
        ),
        ("renamed", "Client renamed."),
        (
            "archived",
            "Client offboarded: its records are kept, nobody can work in it, and it can be restored here.",
        ),
        ("restored", "Client restored: everyone who worked in it can again."),
    ]);
    clients_page(
        &state,
        &staff,
        &scope,
        Outcome {
            notice,
            ..Outcome::default()
        },
    )
    .await
}

async fn clients_page(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    outcome: Outcome,
) -> Response {
    let Some((msp, _)) = page_org(staff, scope, "clients") else {
        return not_found_page(staff, Some(scope));
    };
    let mut clients = Vec::new();
    let mut after = None;
    loop {
        match state
            .regentra
            .list_clients(&staff.caller, msp, PageRequest::after(after, 500))
            .await
        {
            Ok(page) => {
                let full = page.len() == 500;
                after = page.last().map(|c| c.id.0);
                clients.extend(page);
                if !full {
                    break;
                }
            }
            Err(e) => return refused(staff, scope, &e),
        }
    }
    clients.sort_by_cached_key(|c| (c.is_archived(), c.name.to_lowercase(), c.id));
    let zone = state
        .regentra
        .time_zone(msp)
        .await
        .unwrap_or(chrono_tz::Tz::UTC);
    let rows = clients
        .into_iter()
        .map(|c| {
            let here = scope.path(&format!("settings/clients/{}", c.id));
            let (typed, error) = match &outcome.rename {
                Some((id, typed, error)) if *id == c.id => {
                    (Some(typed.clone()), Some(error.clone()))
                }
                _ => (None, None),
            };
            ClientRow {
                id: c.id.to_string(),
                archived: c.archived_at.map(|at| when(at, zone)),
                created: when(c.created_at, zone),
                rename: format!("{here}/rename"),
                archive: format!("{here}/archive"),
                restore: format!("{here}/restore"),
                typed,
                error,
                name: c.name,
            }
        })
        .collect();
    let error = |field: &str| {
        outcome
            .errors
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    };
    let status = if outcome.errors.is_empty() && outcome.rename.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let shell = Shell::new(staff, Some(scope), Some(Section::Settings), "Clients");
    render(
        status,
        &ClientsPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            csrf_field: staff.csrf_field(),
            back: scope.path("settings"),
            action: scope.path("settings/clients/new"),
            rows,
            name_error: error("name"),
            admin_email_error: error("admin_email"),
            admin_name_error: error("admin_name"),
            errors: outcome.errors,
            form: outcome.form,
            notice: outcome.notice,
        },
    )
}

/// The MSP of a clients form, if the person manages its tenants; else the
/// 404 page.
fn managed(staff: &Staff, segment: &str) -> Option<(Scope, OrgId)> {
    let scope = staff.scope(segment)?;
    page_org(staff, &scope, "clients").map(|(msp, _)| (Scope::Org(msp), msp))
}

/// The 404 page for what [`managed`] refuses.
fn not_managed(staff: &Staff, segment: &str) -> Response {
    not_found_page(staff, staff.scope(segment).as_ref())
}

fn done(scope: &Scope, what: &str) -> Response {
    Redirect::to(&format!("{}?done={what}", scope.path("settings/clients"))).into_response()
}

fn parse_client(text: &str) -> Option<OrgId> {
    text.parse::<uuid::Uuid>().ok().map(OrgId)
}

/// `POST /app/{msp}/settings/clients/new`: the client and its first
/// admin's invitation, or the page again with the problems next to their
/// fields and nothing made.
async fn provision(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/clients");
    let (staff, form, scope, msp) =
        match org_form::<ProvisionForm>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let admin_name = Some(form.admin_name.trim()).filter(|n| !n.is_empty());
    match state
        .regentra
        .provision_client(
            &staff.caller,
            msp,
            &form.name,
            &form.admin_email,
            admin_name,
        )
        .await
    {
        Ok(_) => done(&scope, "provisioned"),
        Err(Error::Validation(errors)) => {
            clients_page(
                &state,
                &staff,
                &scope,
                Outcome {
                    form,
                    errors,
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RenameForm {
    #[serde(default)]
    name: String,
}

/// `POST /app/{msp}/settings/clients/{client}/rename`.
async fn rename(
    State(state): State<AppState>,
    Path((segment, client)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/settings/clients");
    let (staff, form, scope, _) =
        match org_form::<RenameForm>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Some(client) = parse_client(&client) else {
        return not_found_page(&staff, Some(&scope));
    };
    match state
        .regentra
        .rename_organization(&staff.caller, client, &form.name)
        .await
    {
        Ok(_) => done(&scope, "renamed"),
        Err(Error::Validation(errors)) => {
            let message = errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ");
            clients_page(
                &state,
                &staff,
                &scope,
                Outcome {
                    rename: Some((client, form.name, message)),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `GET /app/{msp}/settings/clients/{client}/archive`: what offboarding
/// does, and the button that does it.
async fn archive_page(
    State(state): State<AppState>,
    Path((segment, client)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/settings/clients/{client}/archive");
    let staff = match staff_in(&state, &headers, &segment, &path).await {
        Ok((staff, _)) => staff,
        Err(response) => return response,
    };
    let Some((scope, msp)) = managed(&staff, &segment) else {
        return not_managed(&staff, &segment);
    };
    let Some(client) = parse_client(&client) else {
        return not_found_page(&staff, Some(&scope));
    };
    // The client's name, from the MSP's list (an archived or foreign id
    // names nothing to offboard).
    let found = match state
        .regentra
        .list_clients(&staff.caller, msp, PageRequest::after(None, 500))
        .await
    {
        Ok(clients) => clients
            .into_iter()
            .find(|c| c.id == client && !c.is_archived()),
        Err(e) => return refused(&staff, &scope, &e),
    };
    let Some(found) = found else {
        return not_found_page(&staff, Some(&scope));
    };
    let name = found.name;
    confirm::page(
        &staff,
        &scope,
        Section::Settings,
        Confirmation {
            question: format!("Offboard {name}?"),
            back: scope.path("settings/clients"),
            back_label: "Clients".into(),
            consequences: vec![
                Consequence::says(format!(
                    "{name} will be archived. Its tickets, evidence, policies and audit log are \
                     kept as they are, but nobody can work in it any more, its people lose \
                     access to its portal, and no reminders, escalations or deliveries run for it."
                )),
                Consequence::says(
                    "You can restore it from the clients page at any time: everything comes \
                     back as it was.",
                ),
            ],
            action: scope.path(&format!("settings/clients/{client}/archive")),
            button: format!("Offboard {name}"),
            cancel: "Cancel".into(),
        },
    )
}

/// `POST /app/{msp}/settings/clients/{client}/archive`.
async fn archive(
    State(state): State<AppState>,
    Path((segment, client)): Path<(String, String)>,
    request: Request,
) -> Response {
    set_archived(state, segment, client, request, true).await
}

/// `POST /app/{msp}/settings/clients/{client}/restore`.
async fn restore(
    State(state): State<AppState>,
    Path((segment, client)): Path<(String, String)>,
    request: Request,
) -> Response {
    set_archived(state, segment, client, request, false).await
}

async fn set_archived(
    state: AppState,
    segment: String,
    client: String,
    request: Request,
    archived: bool,
) -> Response {
    let back = format!("/app/{segment}/settings/clients");
    let (staff, Confirmed {}, scope, msp) =
        match org_form::<Confirmed>(&state, &segment, &back, request, managed).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Some(client) = parse_client(&client) else {
        return not_found_page(&staff, Some(&scope));
    };
    let result = if archived {
        state
            .regentra
            .archive_client(&staff.caller, msp, client)
            .await
    } else {
        state
            .regentra
            .restore_client(&staff.caller, msp, client)
            .await
    };
    match result {
        Ok(_) => {
            // The client's portal host name opens or shuts with it.
            state.sites.forget();
            done(&scope, if archived { "archived" } else { "restored" })
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}
