//! The staff console at `/app`: the web interface of the MSP's and the
//! orgs' own staff (MSP admins, technicians, compliance staff, org admins,
//! viewers), beside the client portal and over the same core operations.
//!
//! Every page belongs to a *scope*: one org (`/app/{org}/...`, the org
//! the client switcher selected) or, for MSP staff, every client they
//! reach (`/app/all/...`). Personal pages (the inbox, the profile) have
//! none. The navigation shows a section only when the person's role in
//! the scope allows it ([`rbac::decide`] over the roles the core says
//! they hold there); the core checks again on every operation, so a
//! hidden section is a convenience, never the protection. An org the
//! person does not reach, or a section their role there does not allow,
//! is the console's 404 page: the same answer as for an id that names
//! nothing.

pub mod assets;
pub mod campaigns;
pub mod chats;
pub mod compliance;
pub mod confirm;
pub mod controls;
pub mod dashboard;
pub mod evidence;
pub mod history;
pub mod inbox;
pub mod kb;
pub mod policies;
pub mod profile;
pub mod settings;
pub mod sla;
pub mod tickets;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use regentra_core::ids::OrgId;
use regentra_core::rbac::{self, Permission, Role};
use regentra_core::tenancy::{OrgAccess, OrgKind};
use regentra_core::{Error, Principal};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Chrome, CsrfField, render, to_sign_in};
use crate::server::auth::request_meta;
use crate::server::{AppState, browser};

/// The console's own script (the client switcher's filter, live parts).
pub const SCRIPT: &str = include_str!("console.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(landing))
        .route("/assets/console.js", get(script))
        .merge(inbox::routes())
        .merge(profile::routes())
        .merge(tickets::routes())
        .merge(chats::routes())
        .merge(assets::routes())
        .merge(kb::routes())
        .merge(policies::routes())
        .merge(campaigns::routes())
        .merge(dashboard::routes())
        .merge(controls::routes())
        .merge(evidence::routes())
        .merge(compliance::routes())
        .merge(sla::routes())
        .merge(settings::routes())
        .route("/app/{scope}", get(scope_home))
    // Other paths under /app are the server's fallback: its 404 page.
}

/// `GET /assets/console.js`, cached like the stylesheet.
async fn script(headers: HeaderMap) -> Response {
    super::static_asset(
        &headers,
        SCRIPT,
        script_version(),
        "text/javascript; charset=utf-8",
    )
}

pub fn script_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| super::short_hash(SCRIPT))
}

// ---- sections and scopes ----------------------------------------------

/// A part of the console, as the navigation lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Tickets,
    Chats,
    Kb,
    Assets,
    /// The compliance workspace of one client: frameworks, gap analysis,
    /// controls, evidence, assessments.
    Compliance,
    /// Policies and their acknowledgment campaigns.
    Policies,
    /// Members, clients, SLA policies, the portal, the audit log.
    Settings,
}

impl Section {
    /// In the navigation's order.
    pub const ALL: [Section; 8] = [
        Section::Dashboard,
        Section::Tickets,
        Section::Chats,
        Section::Kb,
        Section::Assets,
        Section::Compliance,
        Section::Policies,
        Section::Settings,
    ];

    /// The path segment (`/app/{scope}/{key}`).
    pub fn key(self) -> &'static str {
        match self {
            Section::Dashboard => "dashboard",
            Section::Tickets => "tickets",
            Section::Chats => "chats",
            Section::Kb => "kb",
            Section::Assets => "assets",
            Section::Compliance => "compliance",
            Section::Policies => "policies",
            Section::Settings => "settings",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Section::Dashboard => "Dashboard",
            Section::Tickets => "Service desk",
            Section::Chats => "Chats",
            Section::Kb => "Knowledge base",
            Section::Assets => "Assets",
            Section::Compliance => "Compliance",
            Section::Policies => "Policies",
            Section::Settings => "Settings",
        }
    }

    /// The right a role needs in an org for the section to be shown there.
    fn permission(self) -> Permission {
        match self {
            Section::Dashboard => Permission::OrgRead,
            Section::Tickets => Permission::TicketsRead,
            Section::Chats => Permission::ChatStaff,
            Section::Kb => Permission::KbRead,
            Section::Assets => Permission::AssetsRead,
            Section::Compliance => Permission::FrameworksRead,
            Section::Policies => Permission::PoliciesRead,
            // Each settings page checks its own right (members, SLA,
            // portal, audit); the section is for anyone who reads the org.
            Section::Settings => Permission::OrgRead,
        }
    }
}

/// Which orgs a page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every org the person reaches as staff.
    All,
    /// One org.
    Org(OrgId),
}

impl Scope {
    /// The path segment: `all` or the org's id.
    pub fn segment(&self) -> String {
        match self {
            Scope::All => "all".to_owned(),
            Scope::Org(org) => org.to_string(),
        }
    }

    /// `/app/{scope}/{rest}`.
    pub fn path(&self, rest: &str) -> String {
        let rest = rest.trim_start_matches('/');
        if rest.is_empty() {
            format!("/app/{}", self.segment())
        } else {
            format!("/app/{}/{rest}", self.segment())
        }
    }
}

// ---- the signed-in staff member ---------------------------------------

/// A person signed in to the console: who they are, their session's
/// secret (for CSRF fields), the orgs they act in as staff (by name) and
/// their unread notifications.
#[derive(Debug, Clone)]
pub struct Staff {
    pub caller: Principal,
    pub secret: String,
    pub name: String,
    pub email: String,
    /// Orgs where they hold a role other than employee, by name.
    pub orgs: Vec<OrgAccess>,
    /// Whether they are staff of an MSP (and so get the all-clients view).
    pub msp_staff: bool,
    /// The name of every org they act in, staff or not (the inbox names
    /// the org of each notification).
    pub org_names: std::collections::HashMap<OrgId, String>,
    pub unread: usize,
    /// Whether the account is a platform operator's (who may, say, approve
    /// a portal host name without its DNS record).
    pub operator: bool,
}

impl Staff {
    pub fn csrf_field(&self) -> CsrfField {
        CsrfField::of(&self.secret)
    }

    pub fn org(&self, org: OrgId) -> Option<&OrgAccess> {
        self.orgs.iter().find(|o| o.org.id == org)
    }

    /// Whether a role they hold in `org` allows `permission` (for what a
    /// page offers; the core decides again on each operation).
    pub fn can(&self, org: OrgId, permission: Permission) -> bool {
        self.org(org)
            .is_some_and(|access| allows(access, permission))
    }

    /// The orgs where they may use `section`.
    pub fn orgs_for(&self, section: Section) -> impl Iterator<Item = &OrgAccess> {
        self.orgs
            .iter()
            .filter(move |o| allows(o, section.permission()))
    }

    /// Whether `section` is shown in `scope`.
    pub fn sees(&self, scope: &Scope, section: Section) -> bool {
        if section == Section::Dashboard {
            // The MSP's roll-up: on all clients, or on the MSP itself.
            return match scope {
                Scope::All => self.msp_staff,
                Scope::Org(org) => self.org(*org).is_some_and(|o| o.org.kind == OrgKind::Msp),
            };
        }
        match scope {
            Scope::Org(org) => self.can(*org, section.permission()),
            Scope::All => self.msp_staff && self.orgs_for(section).next().is_some(),
        }
    }

    /// The scope of `segment` (`all` or an org id) if they reach it.
    pub fn scope(&self, segment: &str) -> Option<Scope> {
        if segment == "all" {
            return self.msp_staff.then_some(Scope::All);
        }
        let org: OrgId = segment.parse().ok()?;
        self.org(org).map(|_| Scope::Org(org))
    }

    /// The name of the scope, for headings.
    pub fn scope_name(&self, scope: &Scope) -> String {
        match scope {
            Scope::All => "All clients".to_owned(),
            Scope::Org(org) => self
                .org(*org)
                .map(|o| o.org.name.clone())
                .unwrap_or_default(),
        }
    }

    /// Where the console starts: the all-clients view for MSP staff, else
    /// their first org; the first section the scope shows.
    pub fn start(&self) -> Option<String> {
        let scope = if self.msp_staff {
            Scope::All
        } else {
            Scope::Org(self.orgs.first()?.org.id)
        };
        self.first_section(&scope)
            .map(|section| scope.path(section.key()))
    }

    fn first_section(&self, scope: &Scope) -> Option<Section> {
        Section::ALL.into_iter().find(|s| self.sees(scope, *s))
    }
}

/// Whether a role of `access` allows `permission` over every record of
/// the org: the console is the staff's view of the org, so a right held
/// over one's own records only (a compliance officer's own assets, an
/// employee's own tickets) is the portal's, not a console section.
fn allows(access: &OrgAccess, permission: Permission) -> bool {
    access
        .roles
        .iter()
        .any(|grant| rbac::decide(grant.role, permission) == rbac::Access::All)
}

/// The signed-in staff member for a page at `path`, or the answer that
/// replaces the page: the sign-in page (coming back) without a live
/// session, a page for a person who is nobody's staff.
pub async fn staff(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Staff, Response> {
    let staff = person(state, headers, path).await?;
    if staff.orgs.is_empty() {
        return Err(not_staff(&staff));
    }
    Ok(staff)
}

/// The signed-in person, staff or not (their `orgs` empty when not).
async fn person(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Staff, Response> {
    let Some(secret) = browser::session_secret(headers, state) else {
        return Err(to_sign_in(path));
    };
    let caller = match state.authenticate(headers, &secret).await {
        Ok(caller) => caller.for_one_request(),
        Err(Error::Unauthenticated) => {
            let mut response = to_sign_in(path);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, browser::clear_cookie(state));
            return Err(response);
        }
        Err(e) => return Err(failed(&e)),
    };
    let me = state.regentra.me(&caller).await.map_err(|e| failed(&e))?;
    // A live region's refresh (console.js says so) shows no badge: the
    // count reads the whole inbox, too much every few seconds.
    let refresh = headers.contains_key("x-regentra-refresh");
    let unread = if refresh {
        0
    } else {
        match state.regentra.inbox(&caller, None, 1).await {
            Ok(page) => page.unread,
            Err(e) => return Err(failed(&e)),
        }
    };
    let org_names = me
        .organizations
        .iter()
        .map(|o| (o.org.id, o.org.name.clone()))
        .collect();
    let mut orgs: Vec<OrgAccess> = me
        .organizations
        .into_iter()
        .filter(|o| o.roles.iter().any(|g| g.role != Role::Employee))
        .collect();
    orgs.sort_by_cached_key(|o| (o.org.name.to_lowercase(), o.org.id));
    let msp_staff = orgs.iter().any(|o| o.org.kind == OrgKind::Msp);
    let operator = me.account.super_admin;
    Ok(Staff {
        caller,
        secret,
        name: me.account.display_name,
        email: me.account.email,
        orgs,
        msp_staff,
        org_names,
        unread,
        operator,
    })
}

/// [`staff`] and the scope named by the path's `segment`, or the 404 page.
pub async fn staff_in(
    state: &AppState,
    headers: &HeaderMap,
    segment: &str,
    path: &str,
) -> Result<(Staff, Scope), Response> {
    let staff = staff(state, headers, path).await?;
    match staff.scope(segment) {
        Some(scope) => Ok((staff, scope)),
        None => Err(not_found_page(&staff, None)),
    }
}

/// A form posted from a console page: the staff member (their caller
/// carrying the request's address and user agent for the audit trail)
/// and the fields. Refused like a page of [`staff`], then, from another
/// origin or without the session's CSRF token, with the 403 page.
pub async fn staff_form<T: DeserializeOwned>(
    state: &AppState,
    back_to: &str,
    request: Request,
) -> Result<(Staff, T), Response> {
    let (parts, body) = request.into_parts();
    let mut staff = staff(state, &parts.headers, back_to).await?;
    if !browser::origin_is_ours(&parts.headers, state) {
        return Err(super::forbidden());
    }
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    #[derive(serde::Deserialize)]
    struct CsrfOnly {
        #[serde(default)]
        csrf_token: String,
    }
    let token = serde_urlencoded::from_bytes::<CsrfOnly>(&bytes)
        .map(|f| f.csrf_token)
        .unwrap_or_default();
    if !browser::csrf_matches(&staff.secret, &token) {
        return Err(super::forbidden());
    }
    let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
        super::error_page(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            &e.to_string(),
        )
    })?;
    staff.caller = staff.caller.with_request(request_meta(&parts));
    Ok((staff, form))
}

/// A form posted to the org of `segment`: checked like [`staff_form`]
/// (session, origin, CSRF token, fields), then `allowed` names the org the
/// person may post it to, or the 404 page answers (the core would refuse
/// it too, and another tenant's org is never told apart from none). The
/// staff member, the fields, the org's scope and the org.
pub async fn org_form<T: DeserializeOwned>(
    state: &AppState,
    segment: &str,
    back_to: &str,
    request: Request,
    allowed: impl FnOnce(&Staff, &str) -> Option<(Scope, OrgId)>,
) -> Result<(Staff, T, Scope, OrgId), Response> {
    let (staff, form) = staff_form::<T>(state, back_to, request).await?;
    match allowed(&staff, segment) {
        Some((scope, org)) => Ok((staff, form, scope, org)),
        None => Err(not_found_page(&staff, staff.scope(segment).as_ref())),
    }
}

// ---- the shell every page shows ---------------------------------------

/// What the console's layout shows around a page: the client switcher,
/// the sections, the inbox badge, the person and sign-out.
#[derive(Debug, Clone)]
pub struct Shell {
    pub chrome: Chrome,
    pub name: String,
    pub unread: usize,
    pub csrf_field: CsrfField,
    pub switcher: Switcher,
    pub nav: Vec<NavItem>,
    /// `inbox` or `profile` when the page is one of those.
    pub personal: &'static str,
    pub script_version: &'static str,
    /// Whether the person answers chats somewhere: then every page says
    /// when a client waits in one (`console.js` asks `/app/chats/waiting`).
    pub chat_alerts: bool,
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// The client switcher: the scope shown and where each other scope's
/// same page is.
#[derive(Debug, Clone)]
pub struct Switcher {
    pub current: String,
    pub options: Vec<SwitchOption>,
}

#[derive(Debug, Clone)]
pub struct SwitchOption {
    pub label: String,
    /// `MSP`, `Client` or `Organization`, to tell orgs of one name apart.
    pub kind: &'static str,
    pub href: String,
    pub current: bool,
}

impl Shell {
    /// The shell of a page of `section` in `scope` titled `title`.
    pub fn new(
        staff: &Staff,
        scope: Option<&Scope>,
        section: Option<Section>,
        title: &str,
    ) -> Self {
        let nav_scope = scope.cloned().unwrap_or_else(|| {
            if staff.msp_staff {
                Scope::All
            } else {
                Scope::Org(staff.orgs[0].org.id)
            }
        });
        let nav = Section::ALL
            .into_iter()
            .filter(|s| staff.sees(&nav_scope, *s))
            .map(|s| NavItem {
                label: s.label(),
                href: nav_scope.path(s.key()),
                current: Some(s) == section && scope.is_some(),
            })
            .collect();
        Self {
            chrome: Chrome::new(title).with_session(&staff.secret),
            name: staff.name.clone(),
            unread: staff.unread,
            csrf_field: staff.csrf_field(),
            switcher: Switcher::new(staff, scope, section),
            nav,
            personal: "",
            script_version: script_version(),
            chat_alerts: staff.orgs_for(Section::Chats).next().is_some(),
        }
    }

    /// The shell of a personal page (`inbox`, `profile`).
    pub fn personal(staff: &Staff, page: &'static str, title: &str) -> Self {
        Self {
            personal: page,
            ..Self::new(staff, None, None, title)
        }
    }
}

impl Switcher {
    fn new(staff: &Staff, scope: Option<&Scope>, section: Option<Section>) -> Self {
        // The same section in the other scope where it exists there, else
        // that scope's first section.
        let target = |to: &Scope| -> String {
            match section.filter(|s| staff.sees(to, *s)) {
                Some(s) => to.path(s.key()),
                None => to.path(""),
            }
        };
        let mut options = Vec::new();
        if staff.msp_staff {
            options.push(SwitchOption {
                label: "All clients".to_owned(),
                kind: "",
                href: target(&Scope::All),
                current: scope == Some(&Scope::All),
            });
        }
        for access in &staff.orgs {
            let to = Scope::Org(access.org.id);
            options.push(SwitchOption {
                label: access.org.name.clone(),
                kind: match access.org.kind {
                    OrgKind::Msp => "MSP",
                    OrgKind::Client => "Client",
                    OrgKind::Standalone => "Organization",
                },
                href: target(&to),
                current: scope == Some(&to),
            });
        }
        Self {
            current: scope
                .map(|s| staff.scope_name(s))
                .unwrap_or_else(|| "Choose a client".to_owned()),
            options,
        }
    }
}

// ---- pages of the shell -----------------------------------------------

/// `GET /app`: where the console starts for this person (where a browser
/// goes after signing in when no page asked for it); a person who is
/// nobody's staff goes to their account page.
async fn landing(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let staff = match person(&state, &headers, "/app").await {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    match staff.start() {
        Some(path) => Redirect::to(&path).into_response(),
        None if staff.orgs.is_empty() => Redirect::to("/account").into_response(),
        None => Redirect::to("/app/profile").into_response(),
    }
}

/// `GET /app/{scope}`: the scope's first section.
async fn scope_home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> Response {
    let path = format!("/app/{segment}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match staff.first_section(&scope) {
        Some(section) => Redirect::to(&scope.path(section.key())).into_response(),
        None => not_found_page(&staff, Some(&scope)),
    }
}

#[derive(Template)]
#[template(path = "web/console/message.html")]
struct MessagePage {
    shell: Option<Shell>,
    chrome: Chrome,
    heading: String,
    message: String,
    link: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "web/console/choose_client.html")]
struct ChooseClientPage {
    shell: Option<Shell>,
    chrome: Chrome,
    heading: String,
    clients: Vec<(String, String)>,
}

/// A section that is one org's at a time, opened on all clients: the
/// clients where the person may use it, to choose from.
pub fn choose_client(staff: &Staff, section: Section) -> Response {
    let shell = Shell::new(staff, Some(&Scope::All), Some(section), section.label());
    render(
        StatusCode::OK,
        &ChooseClientPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            heading: section.label().to_owned(),
            clients: staff
                .orgs_for(section)
                .map(|o| (o.org.name.clone(), Scope::Org(o.org.id).path(section.key())))
                .collect(),
        },
    )
}

/// A console page that says one thing, with `status`.
pub fn message(status: StatusCode, shell: Option<Shell>, heading: &str, text: &str) -> Response {
    let chrome = shell
        .as_ref()
        .map(|s| Chrome {
            title: heading.to_owned(),
            ..s.chrome.clone()
        })
        .unwrap_or_else(|| Chrome::new(heading));
    render(
        status,
        &MessagePage {
            shell,
            chrome,
            heading: heading.to_owned(),
            message: text.to_owned(),
            link: None,
        },
    )
}

/// The console's 404 page: an org they do not reach, a section their role
/// there does not allow, an id that names nothing.
pub fn not_found_page(staff: &Staff, scope: Option<&Scope>) -> Response {
    message(
        StatusCode::NOT_FOUND,
        Some(Shell::new(staff, scope, None, "Page not found")),
        "Page not found",
        "There is nothing at this address that you can open. It may have been removed, the link \
         may be incomplete, or your role does not include it. Use the menu to find your way.",
    )
}

/// A person with no staff role anywhere (a client's employee): the console
/// is not for them; their organization's portal is.
fn not_staff(staff: &Staff) -> Response {
    render(
        StatusCode::FORBIDDEN,
        &MessagePage {
            shell: None,
            chrome: Chrome::new("Not a staff account").with_session(&staff.secret),
            heading: "This console is for staff".to_owned(),
            message: format!(
                "You are signed in as {}, an account without a staff role. Your requests, \
                 policies and knowledge base are on your organization's support portal; ask your \
                 administrator for its address.",
                staff.email
            ),
            link: Some(("/account".to_owned(), "Your account".to_owned())),
        },
    )
}

/// An operation failed for a reason that is not the person's: logged, and
/// a page saying so.
pub fn failed(error: &Error) -> Response {
    match error {
        Error::NotFound { .. } | Error::PermissionDenied { .. } => super::not_found(),
        // The org requires a second factor and the grace period is over:
        // the way on is the profile, where it is set up.
        Error::MfaRequired { .. } => render(
            StatusCode::FORBIDDEN,
            &MessagePage {
                shell: None,
                chrome: Chrome::new("Two-step sign-in required"),
                heading: "Set up two-step sign-in to continue".to_owned(),
                message: "This organization requires two-step sign-in of everyone who works in \
                          it. Set it up on your profile with an authenticator app; then this page \
                          opens again."
                    .to_owned(),
                link: Some((
                    "/app/profile".to_owned(),
                    "Set up two-step sign-in".to_owned(),
                )),
            },
        ),
        // Two saves crossed (or a role changed between the check and the
        // commit): nothing was written, and the person can simply redo it.
        Error::Conflict { what } => {
            tracing::info!(what, "a console form crossed another change");
            render(
                StatusCode::CONFLICT,
                &MessagePage {
                    shell: None,
                    chrome: Chrome::new("Changed meanwhile"),
                    heading: "Nothing was saved: this changed meanwhile".to_owned(),
                    message: "Someone else changed this while you were working on it, so your \
                          change was not applied. Go back, reload the page to see it as it is \
                          now, and make your change again."
                        .to_owned(),
                    link: None,
                },
            )
        }
        _ => {
            tracing::error!(error = %error, "a console page failed");
            super::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The page could not be shown. Try again in a moment.",
            )
        }
    }
}

/// The `?done=` an action's redirect leaves behind, so that the page it
/// lands on says what was done (post, redirect, then a page that can be
/// reloaded without posting again).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

impl Done {
    /// The page's own words for the action done, or nothing for a key the
    /// page does not know (a hand-edited address shows no notice).
    pub fn notice(&self, words: &[(&str, &str)]) -> Option<String> {
        let done = self.done.as_deref()?;
        words
            .iter()
            .find(|(key, _)| *key == done)
            .map(|(_, said)| (*said).to_owned())
    }

    /// The key as given, for a page whose words depend on more than it.
    pub fn key(&self) -> Option<&str> {
        self.done.as_deref()
    }
}
