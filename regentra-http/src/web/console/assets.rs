//! A client's assets in the console (`/app/{org}/assets`): the equipment
//! and licenses the MSP keeps for it, with status and who has each, and a
//! form to record one. The core's `assets` and `add_asset`; people to
//! assign come from the org's members (`ticket_requesters`: anyone who
//! may ask for help).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use regentra_core::ids::UserId;
use regentra_core::psa::records::{AssetStatus, NewAsset};
use regentra_core::rbac::Permission;
use regentra_core::store::PageRequest;
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::{
    Scope, Section, Shell, Staff, choose_client, failed, not_found_page, staff_form, staff_in,
};
use crate::server::AppState;
use crate::web::{Chrome, CsrfField, render};

/// Assets shown on the page (an MSP keeps tens to a few hundred per
/// client; past this the page says so).
const SHOWN: usize = 500;

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/{scope}/assets", get(page).post(add))
}

const STATUSES: [AssetStatus; 4] = [
    AssetStatus::InUse,
    AssetStatus::InStock,
    AssetStatus::InRepair,
    AssetStatus::Retired,
];

fn status_key(status: AssetStatus) -> &'static str {
    match status {
        AssetStatus::InUse => "in_use",
        AssetStatus::InStock => "in_stock",
        AssetStatus::InRepair => "in_repair",
        AssetStatus::Retired => "retired",
    }
}

fn status_class(status: AssetStatus) -> &'static str {
    match status {
        AssetStatus::InUse => "badge-success",
        AssetStatus::InStock => "badge-info",
        AssetStatus::InRepair => "badge-warning",
        AssetStatus::Retired => "badge-muted",
    }
}

struct Row {
    name: String,
    kind: String,
    serial: String,
    status: &'static str,
    status_class: &'static str,
    holder: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug, Default, Deserialize)]
struct AssetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    assigned_user: String,
}

#[derive(Template)]
#[template(path = "web/console/assets.html")]
struct AssetsPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    action: String,
    client: String,
    rows: Vec<Row>,
    more: bool,
    can_manage: bool,
    statuses: Vec<Choice>,
    people: Vec<Choice>,
    form: AssetForm,
    notice: Option<String>,
    errors: Vec<FieldError>,
    name_error: Option<String>,
    kind_error: Option<String>,
    serial_error: Option<String>,
    assigned_error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    done: Option<String>,
}

/// `GET /app/{org}/assets`.
async fn page(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/assets");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if scope == Scope::All {
        return choose_client(&staff, Section::Assets);
    }
    let notice =
        (query.done.as_deref() == Some("added")).then(|| "The asset was recorded.".to_owned());
    show(
        &state,
        &staff,
        &scope,
        AssetForm::default(),
        Vec::new(),
        notice,
    )
    .await
}

async fn show(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    form: AssetForm,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> Response {
    let Scope::Org(org) = *scope else {
        return not_found_page(staff, Some(scope));
    };
    if !staff.can(org, Permission::AssetsRead) {
        return not_found_page(staff, Some(scope));
    }
    let r = &state.regentra;
    let listing = match r
        .assets(&staff.caller, org, PageRequest::first(SHOWN))
        .await
    {
        Ok(listing) => listing,
        Err(e) => return failed(&e),
    };
    let can_manage = staff.can(org, Permission::AssetsManage);
    // Names of the people assets are assigned to: the org's people, for
    // those who may manage tickets (who may list them).
    let people = if staff.can(org, Permission::TicketsManage) {
        r.ticket_requesters(&staff.caller, org)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let names: HashMap<UserId, String> = people.iter().map(|p| (p.user, p.name.clone())).collect();
    let more = listing.next.is_some();
    let rows = listing
        .items
        .into_iter()
        .map(|a| Row {
            holder: match a.assigned_user {
                None => String::new(),
                Some(u) => names
                    .get(&u)
                    .cloned()
                    .unwrap_or_else(|| "Someone".to_owned()),
            },
            name: a.name,
            kind: a.kind,
            serial: a.serial.unwrap_or_default(),
            status: a.status.label(),
            status_class: status_class(a.status),
        })
        .collect();
    let error = |field: &str| {
        errors
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    };
    let current_status = if form.status.is_empty() {
        "in_use"
    } else {
        form.status.as_str()
    };
    let shell = Shell::new(staff, Some(scope), Some(Section::Assets), "Assets");
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &AssetsPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            action: scope.path("assets"),
            client: staff.scope_name(scope),
            rows,
            more,
            can_manage,
            statuses: STATUSES
                .into_iter()
                .map(|s| Choice {
                    value: status_key(s).to_owned(),
                    label: s.label().to_owned(),
                    selected: status_key(s) == current_status,
                })
                .collect(),
            people: std::iter::once(Choice {
                value: String::new(),
                label: "Nobody".to_owned(),
                selected: form.assigned_user.is_empty(),
            })
            .chain(people.into_iter().map(|p| Choice {
                selected: p.user.to_string() == form.assigned_user,
                value: p.user.to_string(),
                label: format!("{} ({})", p.name, p.email),
            }))
            .collect(),
            name_error: error("name"),
            kind_error: error("kind"),
            serial_error: error("serial"),
            assigned_error: error("assigned_user"),
            errors,
            form,
            notice,
        },
    )
}

/// `POST /app/{org}/assets`: records an asset.
async fn add(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/assets");
    let (staff, form) = match staff_form::<AssetForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(scope @ Scope::Org(org)) = staff.scope(&segment) else {
        return not_found_page(&staff, None);
    };
    let mut errors = Vec::new();
    let status = STATUSES
        .into_iter()
        .find(|s| status_key(*s) == form.status)
        .unwrap_or_default();
    let assigned_user = match form.assigned_user.trim() {
        "" => None,
        id => match id.parse::<uuid::Uuid>() {
            Ok(id) => Some(UserId(id)),
            Err(_) => {
                errors.push(FieldError::new(
                    "assigned_user",
                    "choose someone from the list",
                ));
                None
            }
        },
    };
    if errors.is_empty() {
        let result = state
            .regentra
            .add_asset(
                &staff.caller,
                org,
                NewAsset {
                    name: form.name.clone(),
                    kind: form.kind.clone(),
                    serial: Some(form.serial.trim().to_owned()).filter(|s| !s.is_empty()),
                    assigned_user,
                    status,
                    attributes: Default::default(),
                },
            )
            .await;
        match result {
            Ok(_) => return Redirect::to(&format!("{back}?done=added")).into_response(),
            Err(Error::Validation(fields)) => errors.extend(fields),
            Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
                return not_found_page(&staff, Some(&scope));
            }
            Err(e) => return failed(&e),
        }
    }
    show(&state, &staff, &scope, form, errors, None).await
}
