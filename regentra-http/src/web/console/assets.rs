//! A client's assets in the console (`/app/{org}/assets`): the equipment
//! and licenses the MSP keeps for it, with status and who has each. The
//! list shows the assets in service (the retired ones a filter away) and a
//! form to record one; an asset's page shows it with the staff's details,
//! and offers to edit it and to retire it (a confirmation page first, no
//! script needed). The core's `assets`, `asset`, `add_asset`,
//! `update_asset` and `retire_asset`; the people to assign come from the
//! org's members (`ticket_requesters`: anyone who may ask for help), chosen
//! by name.
//!
//! Which tickets name an asset is not shown here: a ticket keeps the
//! assets it concerns, and nothing indexes tickets by asset, so the answer
//! would read every ticket of the org. A ticket's page links assets.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono_tz::Tz;
use regentra_core::ids::{AssetId, OrgId, UserId};
use regentra_core::psa::people::Person;
use regentra_core::psa::records::{Asset, AssetStatus, AssetUpdate, NewAsset};
use regentra_core::rbac::Permission;
use regentra_core::store::PageRequest;
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::tickets::{When, when};
use super::{
    Scope, Section, Shell, Staff, choose_client, failed, not_found_page, staff_form, staff_in,
};
use crate::server::AppState;
use crate::web::console::Done;
use crate::web::console::confirm::{self, Confirmation, Confirmed, Consequence};
use crate::web::{Chrome, CsrfField, render};

/// Assets shown on the page (an MSP keeps tens to a few hundred per
/// client; past this the page says so).
const SHOWN: usize = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/assets", get(list).post(add))
        .route("/app/{scope}/assets/{asset_id}", get(asset_page))
        .route(
            "/app/{scope}/assets/{asset_id}/edit",
            get(edit_page).post(edit),
        )
        .route(
            "/app/{scope}/assets/{asset_id}/retire",
            get(retire_page).post(retire),
        )
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

/// The org of a page's path, if the person reads its inventory.
fn org_of(staff: &Staff, scope: &Scope) -> Option<OrgId> {
    match scope {
        Scope::Org(org) if staff.can(*org, Permission::AssetsRead) => Some(*org),
        _ => None,
    }
}

/// The org and asset a path names, if the person reads the org's
/// inventory and the id reads as one (whether it names an asset there is
/// the core's answer).
fn asset_of(staff: &Staff, segment: &str, asset_id: &str) -> Option<(Scope, OrgId, AssetId)> {
    let scope = staff.scope(segment)?;
    let org = org_of(staff, &scope)?;
    let id = asset_id.parse::<uuid::Uuid>().ok()?;
    Some((scope, org, AssetId(id)))
}

/// [`asset_of`] for a form that changes the asset: only for those who
/// manage the inventory, so a reader is never shown one (the core refuses
/// them again).
fn managed_asset_of(
    staff: &Staff,
    segment: &str,
    asset_id: &str,
) -> Option<(Scope, OrgId, AssetId)> {
    asset_of(staff, segment, asset_id)
        .filter(|(_, org, _)| staff.can(*org, Permission::AssetsManage))
}

/// The people an asset can be given (the org's people, by name), for
/// those who may list them: who may manage tickets, which every role that
/// manages assets may. Others see no names.
async fn people(state: &AppState, staff: &Staff, org: OrgId) -> Vec<Person> {
    if !staff.can(org, Permission::TicketsManage) {
        return Vec::new();
    }
    state
        .regentra
        .ticket_requesters(&staff.caller, org)
        .await
        .unwrap_or_default()
}

/// Who has an asset, as a page says it.
fn holder(user: Option<UserId>, names: &HashMap<UserId, String>) -> String {
    match user {
        None => String::new(),
        Some(u) => names
            .get(&u)
            .cloned()
            .unwrap_or_else(|| "Someone".to_owned()),
    }
}

fn names(people: &[Person]) -> HashMap<UserId, String> {
    people.iter().map(|p| (p.user, p.name.clone())).collect()
}

fn query<T: for<'de> Deserialize<'de> + Default>(raw: Option<String>) -> T {
    // A query that does not read is no query: the page as it opens.
    raw.as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

// ---- the form of an asset ------------------------------------------------

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The fields of the record and edit forms, as typed.
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
    /// The staff's details, a `Name: value` a line. Absent when the form
    /// did not offer them (see [`details_text`]): they stay as they are.
    details: Option<String>,
}

impl AssetForm {
    /// The form of `asset` as it is now.
    fn of(asset: &Asset) -> Self {
        Self {
            name: asset.name.clone(),
            kind: asset.kind.clone(),
            serial: asset.serial.clone().unwrap_or_default(),
            status: status_key(asset.status).to_owned(),
            assigned_user: asset
                .assigned_user
                .map(|u| u.to_string())
                .unwrap_or_default(),
            details: details_text(&asset.attributes),
        }
    }
}

/// What a form asks of the core, or the fields it could not read.
struct Read {
    status: AssetStatus,
    assigned_user: Option<UserId>,
    serial: Option<String>,
    details: Option<BTreeMap<String, String>>,
}

fn read_form(form: &AssetForm) -> Result<Read, Vec<FieldError>> {
    let mut errors = Vec::new();
    let status = match STATUSES
        .into_iter()
        .find(|s| status_key(*s) == form.status.trim())
    {
        Some(status) => status,
        None if form.status.trim().is_empty() => AssetStatus::default(),
        None => {
            errors.push(FieldError::new("status", "choose a status from the list"));
            AssetStatus::default()
        }
    };
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
    let details = match form.details.as_deref().map(parse_details).transpose() {
        Ok(details) => details,
        Err(error) => {
            errors.push(error);
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Read {
        status,
        assigned_user,
        serial: Some(form.serial.trim().to_owned()).filter(|s| !s.is_empty()),
        details,
    })
}

/// The details of an asset as the form's text, a `Name: value` a line;
/// none when a name or value would not come back the same from the text
/// (a colon in a name, a line break, spaces at an end: set through the
/// API), so the form leaves them as they are rather than change them.
fn details_text(attributes: &BTreeMap<String, String>) -> Option<String> {
    let fits = |s: &str, colon_ok: bool| {
        s.trim() == s && !s.contains(['\n', '\r']) && (colon_ok || !s.contains(':'))
    };
    attributes
        .iter()
        .all(|(k, v)| !k.is_empty() && fits(k, false) && fits(v, true))
        .then(|| {
            attributes
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
}

/// The details typed: each line not blank is a name, a colon, a value.
fn parse_details(text: &str) -> Result<BTreeMap<String, String>, FieldError> {
    let mut details = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':').map(|(k, v)| (k.trim(), v.trim())) else {
            return Err(FieldError::new(
                "details",
                format!(
                    "line {} has no colon: write each detail as Name: value",
                    n + 1
                ),
            ));
        };
        if name.is_empty() {
            return Err(FieldError::new(
                "details",
                format!("line {} has no name before its colon", n + 1),
            ));
        }
        if details.insert(name.to_owned(), value.to_owned()).is_some() {
            return Err(FieldError::new(
                "details",
                format!("\u{201c}{name}\u{201d} is given twice"),
            ));
        }
    }
    Ok(details)
}

/// A field's error and the summary's line for it.
struct Problem {
    field: String,
    label: &'static str,
    message: String,
}

fn label_of(field: &str) -> &'static str {
    match field {
        "name" => "Name",
        "kind" => "Kind",
        "serial" => "Serial number",
        "status" => "Status",
        "assigned_user" => "Assigned to",
        "details" => "Details",
        _ => "",
    }
}

/// What the form's template shows: the choices, the typed values and the
/// error beside each field.
struct Fields {
    form: AssetForm,
    statuses: Vec<Choice>,
    people: Vec<Choice>,
    problems: Vec<Problem>,
    name_error: Option<String>,
    kind_error: Option<String>,
    serial_error: Option<String>,
    status_error: Option<String>,
    assigned_error: Option<String>,
    details_error: Option<String>,
}

impl Fields {
    /// The form's fields: `statuses` to choose from, `people` to give it
    /// to (and whoever has it now, listed or not).
    fn new(
        form: AssetForm,
        statuses: &[AssetStatus],
        people: &[Person],
        holder_now: Option<UserId>,
        errors: Vec<FieldError>,
    ) -> Self {
        let error = |field: &str| {
            errors
                .iter()
                .find(|f| f.field == field)
                .map(|f| f.message.clone())
        };
        let current_status = if form.status.is_empty() {
            status_key(AssetStatus::default())
        } else {
            form.status.as_str()
        };
        let mut choices = vec![Choice {
            value: String::new(),
            label: "Nobody".to_owned(),
            selected: form.assigned_user.is_empty(),
        }];
        // Someone the list leaves out (a viewer, say) who has it stays
        // chosen, so saving other fields does not take it from them.
        if let Some(u) = holder_now.filter(|u| !people.iter().any(|p| p.user == *u)) {
            choices.push(Choice {
                value: u.to_string(),
                label: "Whoever has it now".to_owned(),
                selected: form.assigned_user == u.to_string(),
            });
        }
        choices.extend(people.iter().map(|p| Choice {
            selected: p.user.to_string() == form.assigned_user,
            value: p.user.to_string(),
            label: format!("{} ({})", p.name, p.email),
        }));
        Self {
            statuses: statuses
                .iter()
                .map(|s| Choice {
                    value: status_key(*s).to_owned(),
                    label: s.label().to_owned(),
                    selected: status_key(*s) == current_status,
                })
                .collect(),
            people: choices,
            name_error: error("name"),
            kind_error: error("kind"),
            serial_error: error("serial"),
            status_error: error("status"),
            assigned_error: error("assigned_user"),
            details_error: error("details"),
            problems: errors
                .into_iter()
                .map(|f| Problem {
                    label: label_of(&f.field),
                    field: f.field,
                    message: f.message,
                })
                .collect(),
            form,
        }
    }
}

fn status_for(errors: &[FieldError]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

// ---- the list --------------------------------------------------------------

struct Row {
    href: String,
    name: String,
    kind: String,
    serial: String,
    status: &'static str,
    status_class: &'static str,
    holder: String,
}

/// A filter of the list: which assets, how many of the page's.
struct Tab {
    label: &'static str,
    count: usize,
    href: String,
    current: bool,
}

/// Which assets the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    /// Those not retired (the list as it opens).
    Current,
    Retired,
    All,
}

impl Show {
    fn from_key(key: Option<&str>) -> Self {
        match key {
            Some("retired") => Show::Retired,
            Some("all") => Show::All,
            _ => Show::Current,
        }
    }

    fn query(self) -> &'static str {
        match self {
            Show::Current => "",
            Show::Retired => "?show=retired",
            Show::All => "?show=all",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Show::Current => "In service",
            Show::Retired => "Retired",
            Show::All => "All",
        }
    }

    fn shows(self, asset: &Asset) -> bool {
        let retired = asset.status == AssetStatus::Retired;
        match self {
            Show::Current => !retired,
            Show::Retired => retired,
            Show::All => true,
        }
    }
}

#[derive(Template)]
#[template(path = "web/console/assets.html")]
struct AssetsPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    action: String,
    client: String,
    tabs: Vec<Tab>,
    show_retired: bool,
    recorded: usize,
    rows: Vec<Row>,
    more: bool,
    can_manage: bool,
    /// Always: a new asset's details are text (see [`details_text`]).
    details_editable: bool,
    fields: Fields,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    show: Option<String>,
    done: Option<String>,
}

/// `GET /app/{org}/assets?show=retired|all`.
async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery,
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
    let q: ListQuery = query(raw);
    let notice = match q.done.as_deref() {
        Some("added") => Some("The asset was recorded.".to_owned()),
        Some("retired") => Some("The asset was retired.".to_owned()),
        _ => None,
    };
    let show = Show::from_key(q.show.as_deref());
    show_list(
        &state,
        &staff,
        &scope,
        show,
        AssetForm::default(),
        Vec::new(),
        notice,
    )
    .await
}

async fn show_list(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    show: Show,
    form: AssetForm,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> Response {
    let Some(org) = org_of(staff, scope) else {
        return not_found_page(staff, Some(scope));
    };
    let listing = match state
        .regentra
        .assets(&staff.caller, org, PageRequest::first(SHOWN))
        .await
    {
        Ok(listing) => listing,
        Err(e) => return failed(&e),
    };
    let can_manage = staff.can(org, Permission::AssetsManage);
    let people = people(state, staff, org).await;
    let names = names(&people);
    let base = scope.path("assets");
    let tabs = [Show::Current, Show::Retired, Show::All]
        .into_iter()
        .map(|tab| Tab {
            label: tab.label(),
            count: listing.items.iter().filter(|a| tab.shows(a)).count(),
            href: format!("{base}{}", tab.query()),
            current: tab == show,
        })
        .collect();
    let recorded = listing.items.len();
    let more = listing.next.is_some();
    let rows = listing
        .items
        .into_iter()
        .filter(|a| show.shows(a))
        .map(|a| Row {
            href: scope.path(&format!("assets/{}", a.id)),
            holder: holder(a.assigned_user, &names),
            name: a.name,
            kind: a.kind,
            serial: a.serial.unwrap_or_default(),
            status: a.status.label(),
            status_class: status_class(a.status),
        })
        .collect();
    let shell = Shell::new(staff, Some(scope), Some(Section::Assets), "Assets");
    render(
        status_for(&errors),
        &AssetsPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            action: base,
            client: staff.scope_name(scope),
            tabs,
            show_retired: show == Show::Retired,
            recorded,
            rows,
            more,
            can_manage,
            details_editable: true,
            fields: Fields::new(form, &STATUSES, &people, None, errors),
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
    if !staff.can(org, Permission::AssetsManage) {
        return not_found_page(&staff, Some(&scope));
    }
    let errors = match read_form(&form) {
        Err(errors) => errors,
        Ok(read) => {
            let result = state
                .regentra
                .add_asset(
                    &staff.caller,
                    org,
                    NewAsset {
                        name: form.name.clone(),
                        kind: form.kind.clone(),
                        serial: read.serial,
                        assigned_user: read.assigned_user,
                        status: read.status,
                        attributes: read.details.unwrap_or_default(),
                    },
                )
                .await;
            match result {
                Ok(_) => return Redirect::to(&format!("{back}?done=added")).into_response(),
                Err(Error::Validation(fields)) => fields,
                Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
                    return not_found_page(&staff, Some(&scope));
                }
                Err(e) => return failed(&e),
            }
        }
    };
    show_list(&state, &staff, &scope, Show::Current, form, errors, None).await
}

// ---- one asset -------------------------------------------------------------

/// A detail of the staff's, as the page lists it.
struct Detail {
    name: String,
    value: String,
}

#[derive(Template)]
#[template(path = "web/console/asset.html")]
struct AssetPage {
    shell: Option<Shell>,
    chrome: Chrome,
    back: String,
    client: String,
    name: String,
    kind: String,
    serial: String,
    status: &'static str,
    status_class: &'static str,
    retired: bool,
    holder: String,
    details: Vec<Detail>,
    updated: When,
    edit: Option<String>,
    retire: Option<String>,
    tickets: String,
    notice: Option<String>,
}

/// The asset a page names, or the page that answers instead (the 404
/// page for an asset that is not the org's, or not the person's to read).
async fn load(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    id: AssetId,
) -> Result<Asset, Response> {
    match state.regentra.asset(&staff.caller, org, id).await {
        Ok(asset) => Ok(asset),
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
            Err(not_found_page(staff, Some(scope)))
        }
        Err(e) => Err(failed(&e)),
    }
}

async fn time_zone(state: &AppState, org: OrgId) -> Tz {
    state.regentra.time_zone(org).await.unwrap_or(Tz::UTC)
}

/// `GET /app/{org}/assets/{id}`.
async fn asset_page(
    State(state): State<AppState>,
    Path((segment, asset_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/assets/{asset_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = asset_of(&staff, &segment, &asset_id) else {
        return not_found_page(&staff, Some(&scope));
    };
    let asset = match load(&state, &staff, &scope, org, id).await {
        Ok(asset) => asset,
        Err(response) => return response,
    };
    let notice = query::<Done>(raw).notice(&[
        ("saved", "The changes were saved."),
        ("retired", "The asset was retired."),
    ]);
    let names = names(&people(&state, &staff, org).await);
    let can_manage = staff.can(org, Permission::AssetsManage);
    let retired = asset.status == AssetStatus::Retired;
    let own = scope.path(&format!("assets/{id}"));
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Assets), &asset.name);
    render(
        StatusCode::OK,
        &AssetPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            back: scope.path("assets"),
            client: staff.scope_name(&scope),
            kind: asset.kind,
            serial: asset.serial.unwrap_or_default(),
            status: asset.status.label(),
            status_class: status_class(asset.status),
            retired,
            holder: holder(asset.assigned_user, &names),
            details: asset
                .attributes
                .into_iter()
                .map(|(name, value)| Detail { name, value })
                .collect(),
            updated: when(asset.updated_at, time_zone(&state, org).await),
            edit: can_manage.then(|| format!("{own}/edit")),
            retire: (can_manage && !retired).then(|| format!("{own}/retire")),
            tickets: scope.path("tickets"),
            name: asset.name,
            notice,
        },
    )
}

// ---- editing ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "web/console/asset_edit.html")]
struct EditPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    action: String,
    back: String,
    name: String,
    /// Whether the asset's details can be edited as text (see
    /// [`details_text`]).
    details_editable: bool,
    fields: Fields,
}

/// The statuses an edit offers: retiring is its own step (it also takes
/// the asset from whoever has it), so only a retired asset lists it, and
/// may be brought back into service.
fn edit_statuses(asset: &Asset) -> Vec<AssetStatus> {
    STATUSES
        .into_iter()
        .filter(|s| *s != AssetStatus::Retired || asset.status == AssetStatus::Retired)
        .collect()
}

async fn show_editor(
    state: &AppState,
    staff: &Staff,
    scope: &Scope,
    org: OrgId,
    asset: &Asset,
    form: AssetForm,
    errors: Vec<FieldError>,
) -> Response {
    let people = people(state, staff, org).await;
    let shell = Shell::new(
        staff,
        Some(scope),
        Some(Section::Assets),
        &format!("Edit {}", asset.name),
    );
    let own = scope.path(&format!("assets/{}", asset.id));
    render(
        status_for(&errors),
        &EditPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            action: format!("{own}/edit"),
            back: own,
            name: asset.name.clone(),
            details_editable: details_text(&asset.attributes).is_some(),
            fields: Fields::new(
                form,
                &edit_statuses(asset),
                &people,
                asset.assigned_user,
                errors,
            ),
        },
    )
}

/// `GET /app/{org}/assets/{id}/edit`: the form, as the asset is.
async fn edit_page(
    State(state): State<AppState>,
    Path((segment, asset_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/assets/{asset_id}/edit");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed_asset_of(&staff, &segment, &asset_id) else {
        return not_found_page(&staff, Some(&scope));
    };
    let asset = match load(&state, &staff, &scope, org, id).await {
        Ok(asset) => asset,
        Err(response) => return response,
    };
    let form = AssetForm::of(&asset);
    show_editor(&state, &staff, &scope, org, &asset, form, Vec::new()).await
}

/// `POST /app/{org}/assets/{id}/edit`: saves the form's fields, all or
/// none (the core checks them before it writes).
async fn edit(
    State(state): State<AppState>,
    Path((segment, asset_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/assets/{asset_id}/edit");
    let (staff, form) = match staff_form::<AssetForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed_asset_of(&staff, &segment, &asset_id) else {
        return not_found_page(&staff, None);
    };
    let asset = match load(&state, &staff, &scope, org, id).await {
        Ok(asset) => asset,
        Err(response) => return response,
    };
    let errors = match read_form(&form) {
        Err(errors) => errors,
        Ok(read) if read.status == AssetStatus::Retired && asset.status != AssetStatus::Retired => {
            vec![FieldError::new(
                "status",
                "to retire it, use Retire on the asset's page: that also takes it back from \
                 whoever has it",
            )]
        }
        Ok(read) => {
            let update = AssetUpdate {
                name: Some(form.name.clone()),
                kind: Some(form.kind.clone()),
                serial: Some(read.serial),
                assigned_user: Some(read.assigned_user),
                status: Some(read.status),
                attributes: read.details,
            };
            match state
                .regentra
                .update_asset(&staff.caller, org, id, update)
                .await
            {
                Ok(_) => {
                    let to = scope.path(&format!("assets/{id}?done=saved"));
                    return Redirect::to(&to).into_response();
                }
                Err(Error::Validation(fields)) => fields,
                Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
                    return not_found_page(&staff, Some(&scope));
                }
                Err(e) => return failed(&e),
            }
        }
    };
    show_editor(&state, &staff, &scope, org, &asset, form, errors).await
}

// ---- retiring --------------------------------------------------------------

/// `GET /app/{org}/assets/{id}/retire`: what retiring does, and the
/// button that does it (the confirmation, as a page of its own).
async fn retire_page(
    State(state): State<AppState>,
    Path((segment, asset_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/assets/{asset_id}/retire");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed_asset_of(&staff, &segment, &asset_id) else {
        return not_found_page(&staff, Some(&scope));
    };
    let asset = match load(&state, &staff, &scope, org, id).await {
        Ok(asset) => asset,
        Err(response) => return response,
    };
    let own = scope.path(&format!("assets/{id}"));
    if asset.status == AssetStatus::Retired {
        return Redirect::to(&own).into_response();
    }
    let names = names(&people(&state, &staff, org).await);
    let mut consequences = vec![Consequence::says(
        "A retired asset is out of service for good. It stays on record, with its history \
         and the tickets that name it, and is listed under Retired.",
    )];
    let holder = holder(asset.assigned_user, &names);
    if !holder.is_empty() {
        consequences.push(Consequence::led(
            holder,
            "will no longer have it, and it leaves their portal.",
        ));
    }
    confirm::page(
        &staff,
        &scope,
        Section::Assets,
        Confirmation {
            question: format!("Retire {}?", asset.name),
            back_label: asset.name,
            back: own.clone(),
            consequences,
            action: format!("{own}/retire"),
            button: "Retire asset".into(),
            cancel: "Cancel".into(),
        },
    )
}

/// `POST /app/{org}/assets/{id}/retire`: retires it; back to its page.
async fn retire(
    State(state): State<AppState>,
    Path((segment, asset_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/assets/{asset_id}/retire");
    let (staff, Confirmed {}) = match staff_form::<Confirmed>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed_asset_of(&staff, &segment, &asset_id) else {
        return not_found_page(&staff, None);
    };
    match state.regentra.retire_asset(&staff.caller, org, id).await {
        Ok(_) => Redirect::to(&scope.path(&format!("assets/{id}?done=retired"))).into_response(),
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
            not_found_page(&staff, Some(&scope))
        }
        Err(e) => failed(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_back_as_they_were_written() {
        let details =
            parse_details("Warranty: until 2027\n\n  RAM : 16 GB \nNote: a: b").expect("details");
        assert_eq!(details.len(), 3);
        assert_eq!(details["RAM"], "16 GB");
        assert_eq!(details["Note"], "a: b");
        let text = details_text(&details).expect("representable");
        assert_eq!(parse_details(&text).expect("again"), details);
    }

    #[test]
    fn details_name_the_line_that_does_not_read() {
        let no_colon = parse_details("RAM: 16 GB\nwarranty").expect_err("a line without a colon");
        assert_eq!(no_colon.field, "details");
        assert!(no_colon.message.contains("line 2"), "{}", no_colon.message);
        assert!(parse_details(": value").is_err());
        assert!(parse_details("RAM: 8\nRAM: 16").is_err());
    }

    #[test]
    fn details_the_text_cannot_carry_are_left_alone() {
        let mut details = BTreeMap::new();
        details.insert("Recovery".to_owned(), "line one\nline two".to_owned());
        assert_eq!(details_text(&details), None);
        details.clear();
        details.insert("a:b".to_owned(), "c".to_owned());
        assert_eq!(details_text(&details), None);
        assert_eq!(details_text(&BTreeMap::new()).as_deref(), Some(""));
    }
}
