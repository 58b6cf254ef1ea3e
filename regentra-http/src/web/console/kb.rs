//! The knowledge base in the console (`/app/{org}/kb`): every article of
//! the client, drafts and internal ones included, newest first (all of
//! them, the published ones or the drafts, with how many of each) or found
//! by words; an article as its readers see it; and, for those who keep the
//! knowledge base (`kb.manage`), writing and editing in markdown with a
//! preview rendered by the server (no script needed) through the same safe
//! renderer as every page, publishing, taking back to draft, and deleting
//! after a confirmation page. Everyone else sees no button, and a form they
//! post anyway is the 404 page (the core, which decides again, would
//! refuse it too).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use regentra_core::ids::{ArticleId, OrgId};
use regentra_core::psa::records::{
    Article, ArticleCounts, ArticleCursor, ArticleStatus, ArticleUpdate, NewArticle, Visibility,
};
use regentra_core::rbac::Permission;
use regentra_core::store::ScanRequest;
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::{
    Scope, Section, Shell, Staff, choose_client, failed, not_found_page, staff_form, staff_in,
};
use crate::server::AppState;
use crate::server::page::{Page, PageQuery};
use crate::server::routes::psa::{article_cursor, encode_article_cursor};
use crate::web::console::Done;
use crate::web::console::confirm::{self, Confirmation, Confirmed, Consequence};
use crate::web::display::{When, when};
use crate::web::markdown::to_safe_html;
use crate::web::{Chrome, CsrfField, render};

/// Articles per page of the list.
const PAGE_SIZE: usize = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/kb", get(list))
        .route("/app/{scope}/kb/new", get(new_page).post(create))
        .route("/app/{scope}/kb/{article_id}", get(article))
        .route(
            "/app/{scope}/kb/{article_id}/edit",
            get(edit_page).post(save),
        )
        .route("/app/{scope}/kb/{article_id}/publish", post(publish))
        .route("/app/{scope}/kb/{article_id}/unpublish", post(unpublish))
        .route(
            "/app/{scope}/kb/{article_id}/delete",
            get(delete_page).post(delete),
        )
}

// ---- the list -----------------------------------------------------------

struct Row {
    href: String,
    title: String,
    published: bool,
    portal: bool,
    updated: String,
    helpful: u64,
    not_helpful: u64,
}

/// One of the list's filters (All, Published, Drafts), with its count.
struct Tab {
    label: &'static str,
    count: u64,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "web/console/kb.html")]
struct ListPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    action: String,
    q: String,
    tabs: Vec<Tab>,
    /// Every article of the org, whatever the filter (the empty list says
    /// "none yet" only when there is none at all).
    total: u64,
    status: ArticleStatus,
    rows: Vec<Row>,
    next_page: Option<String>,
    new_article: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    /// `published` or `draft`; anything else lists every article.
    #[serde(default)]
    status: String,
    cursor: Option<String>,
    done: Option<String>,
}

/// The status filter a query names.
fn status_of(key: &str) -> ArticleStatus {
    match key {
        "published" => ArticleStatus::Published,
        "draft" => ArticleStatus::Draft,
        _ => ArticleStatus::Any,
    }
}

/// The `status` value of a filter (none for every article).
fn status_key(status: ArticleStatus) -> Option<&'static str> {
    match status {
        ArticleStatus::Published => Some("published"),
        ArticleStatus::Draft => Some("draft"),
        _ => None,
    }
}

/// The org of a page's path, if the person reads its knowledge base.
fn org_of(staff: &Staff, scope: &Scope) -> Option<OrgId> {
    match scope {
        Scope::Org(org) if staff.can(*org, Permission::KbRead) => Some(*org),
        _ => None,
    }
}

/// `GET /app/{org}/kb?status=&q=&cursor=`: without words, the articles of
/// a status newest first (the core's staff list); with words, the search
/// over every article, whatever its status.
async fn list(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/kb");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if scope == Scope::All {
        return choose_client(&staff, Section::Kb);
    }
    let Some(org) = org_of(&staff, &scope) else {
        return not_found_page(&staff, Some(&scope));
    };
    let q = query.q.trim().to_owned();
    let status = if q.is_empty() {
        status_of(&query.status)
    } else {
        ArticleStatus::Any
    };
    // A cursor that does not decode (or belongs to the other kind of
    // list) starts again from the first page.
    let after = Page::parse(PageQuery {
        limit: None,
        cursor: query.cursor,
    })
    .ok()
    .and_then(|page| article_cursor(page.position).ok())
    .flatten();
    let listing = if q.is_empty() {
        let after = match after {
            Some(ArticleCursor::Newest(cursor)) => Some(cursor),
            _ => None,
        };
        state
            .regentra
            .staff_articles(
                &staff.caller,
                org,
                status,
                ScanRequest::after(after, PAGE_SIZE),
            )
            .await
            .map(|found| (found.items, found.next.map(ArticleCursor::Newest)))
    } else {
        state
            .regentra
            .search_articles(&staff.caller, org, &q, after, PAGE_SIZE)
            .await
            .map(|found| (found.items, found.next))
    };
    let (articles, next) = match listing {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let counts = match state.regentra.article_counts(&staff.caller, org).await {
        Ok(counts) => counts,
        Err(e) => return failed(&e),
    };
    let zone = state
        .regentra
        .time_zone(org)
        .await
        .unwrap_or(chrono_tz::Tz::UTC);
    let base = scope.path("kb");
    let next_page = next.map(|next| {
        let mut pairs = vec![("cursor", encode_article_cursor(next))];
        if !q.is_empty() {
            pairs.push(("q", q.clone()));
        }
        if let Some(key) = status_key(status) {
            pairs.push(("status", key.to_owned()));
        }
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    let rows = articles
        .into_iter()
        .map(|a| Row {
            href: scope.path(&format!("kb/{}", a.id)),
            published: a.published,
            portal: a.visibility == Visibility::Portal,
            updated: a
                .updated_at
                .with_timezone(&zone)
                .format("%-d %b %Y")
                .to_string(),
            helpful: a.helpful,
            not_helpful: a.not_helpful,
            title: a.title,
        })
        .collect();
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Kb), "Knowledge base");
    render(
        StatusCode::OK,
        &ListPage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            client: staff.scope_name(&scope),
            tabs: tabs(&base, counts, q.is_empty().then_some(status)),
            total: counts.all(),
            status,
            action: base,
            q,
            rows,
            next_page,
            new_article: staff
                .can(org, Permission::KbManage)
                .then(|| scope.path("kb/new")),
            notice: query.done.as_deref().and_then(|done| {
                Some(
                    match done {
                        "created" => "The article was saved.",
                        "deleted" => "The article was deleted.",
                        _ => return None,
                    }
                    .to_owned(),
                )
            }),
        },
    )
}

/// The filters above the list; `current` is the one shown (none while
/// searching, which covers every article).
fn tabs(base: &str, counts: ArticleCounts, current: Option<ArticleStatus>) -> Vec<Tab> {
    [
        ("All", ArticleStatus::Any, counts.all()),
        ("Published", ArticleStatus::Published, counts.published),
        ("Drafts", ArticleStatus::Draft, counts.drafts),
    ]
    .into_iter()
    .map(|(label, status, count)| Tab {
        label,
        count,
        href: match status_key(status) {
            Some(key) => format!("{base}?status={key}"),
            None => base.to_owned(),
        },
        current: current == Some(status),
    })
    .collect()
}

// ---- one article --------------------------------------------------------

/// What a person who keeps the knowledge base can do from an article.
struct Manage {
    edit: String,
    /// Where the publish or unpublish form posts.
    toggle: String,
    delete: String,
    csrf_field: CsrfField,
}

#[derive(Template)]
#[template(path = "web/console/kb_article.html")]
struct ArticlePage {
    shell: Option<Shell>,
    chrome: Chrome,
    back: String,
    title: String,
    body_html: String,
    published: bool,
    portal: bool,
    tags: Vec<String>,
    updated: When,
    helpful: u64,
    not_helpful: u64,
    manage: Option<Manage>,
    notice: Option<String>,
}

/// `GET /app/{org}/kb/{article}`.
async fn article(
    State(state): State<AppState>,
    Path((segment, article_id)): Path<(String, String)>,
    Query(query): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/kb/{article_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(org), Some(id)) = (org_of(&staff, &scope), parse_id(&article_id)) else {
        return not_found_page(&staff, Some(&scope));
    };
    let a: Article = match state.regentra.article(&staff.caller, org, id).await {
        Ok(a) => a,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let zone = state
        .regentra
        .time_zone(org)
        .await
        .unwrap_or(chrono_tz::Tz::UTC);
    let portal = a.visibility == Visibility::Portal;
    let notice = query.key().and_then(|done| {
        Some(match (done, portal) {
            ("created", _) => "The article was saved.",
            ("saved", _) => "Saved.",
            ("published", true) => "Published: the client's people can read it on the portal.",
            ("published", false) => {
                "Published for staff. It is staff only, so the portal does not show it."
            }
            ("unpublished", true) => "Back to draft: the portal no longer shows it.",
            ("unpublished", false) => "Back to draft.",
            _ => return None,
        })
    });
    let here = scope.path(&format!("kb/{id}"));
    let manage = staff.can(org, Permission::KbManage).then(|| Manage {
        edit: format!("{here}/edit"),
        toggle: format!(
            "{here}/{}",
            if a.published { "unpublish" } else { "publish" }
        ),
        delete: format!("{here}/delete"),
        csrf_field: staff.csrf_field(),
    });
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Kb), &a.title);
    render(
        StatusCode::OK,
        &ArticlePage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            back: scope.path("kb"),
            body_html: to_safe_html(&a.body),
            published: a.published,
            portal,
            tags: a.tags.into_iter().collect(),
            updated: when(a.updated_at, zone),
            helpful: a.helpful,
            not_helpful: a.not_helpful,
            title: a.title,
            manage,
            notice: notice.map(str::to_owned),
        },
    )
}

/// An article id from a path; one that is not an id names nothing.
fn parse_id(text: &str) -> Option<ArticleId> {
    text.parse::<uuid::Uuid>().ok().map(ArticleId)
}

/// The org and article of a page or form that changes an article, if the
/// person keeps that org's knowledge base (else the caller answers with
/// [`not_managed`]). The core decides again: this only spares a refused
/// person a form.
fn managed(staff: &Staff, segment: &str, article_id: &str) -> Option<(Scope, OrgId, ArticleId)> {
    match (staff.scope(segment), parse_id(article_id)) {
        (Some(Scope::Org(org)), Some(id)) if staff.can(org, Permission::KbManage) => {
            Some((Scope::Org(org), org, id))
        }
        _ => None,
    }
}

/// The 404 page for what [`managed`] refuses.
fn not_managed(staff: &Staff, segment: &str) -> Response {
    not_found_page(staff, staff.scope(segment).as_ref())
}

/// The answer to an operation the core refused or could not do: an id
/// that names nothing here (another org's, a deleted one) and a right the
/// person lacks are both the 404 page.
fn refused(staff: &Staff, scope: &Scope, error: &Error) -> Response {
    match error {
        Error::NotFound { .. } | Error::PermissionDenied { .. } => {
            not_found_page(staff, Some(scope))
        }
        e => failed(e),
    }
}

// ---- the editor (a new article, an edit) -------------------------------

#[derive(Debug, Default, Deserialize)]
struct ArticleForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    tags: String,
    /// `internal` or `portal`.
    #[serde(default)]
    visibility: String,
    /// New articles only: publishing an article that exists is its own
    /// button on its page.
    #[serde(default)]
    published: Option<String>,
    /// `preview` shows the article as it will read; anything else saves.
    #[serde(default)]
    action: String,
}

impl ArticleForm {
    /// The form an edit starts from: the article as it is.
    fn of(a: &Article) -> Self {
        Self {
            title: a.title.clone(),
            body: a.body.clone(),
            tags: a.tags.iter().cloned().collect::<Vec<_>>().join(", "),
            visibility: match a.visibility {
                Visibility::Portal => "portal",
                Visibility::Internal => "internal",
            }
            .to_owned(),
            published: None,
            action: String::new(),
        }
    }

    /// The tags field: words between commas.
    fn tags(&self) -> std::collections::BTreeSet<String> {
        self.tags
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect()
    }

    fn visibility(&self) -> Visibility {
        if self.visibility == "portal" {
            Visibility::Portal
        } else {
            Visibility::Internal
        }
    }
}

/// Which article the editor writes.
enum Editing {
    New,
    /// An article that exists, and whether it is published (an edit
    /// leaves that alone; the page says what saving does then).
    Existing {
        id: ArticleId,
        published: bool,
    },
}

#[derive(Template)]
#[template(path = "web/console/kb_editor.html")]
struct EditorPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    heading: &'static str,
    action: String,
    back: String,
    back_label: String,
    submit_label: &'static str,
    /// The "publish now" choice (new articles only).
    offer_publish: bool,
    /// What saving an existing article does for its readers.
    status_note: Option<&'static str>,
    /// Where Cancel leads (the article, when editing one).
    cancel: Option<String>,
    form: ArticleForm,
    portal: bool,
    published: bool,
    preview: Option<String>,
    /// The problems above the form: each field's label (a link to it) and
    /// what is wrong, beside the same message next to the field.
    errors: Vec<Problem>,
    title_error: Option<String>,
    body_error: Option<String>,
    tags_error: Option<String>,
}

/// A problem with the form, as its summary lists it.
struct Problem {
    /// The field's id (the summary links to it).
    field: String,
    label: &'static str,
    message: String,
}

impl Problem {
    fn of(error: &FieldError) -> Self {
        Self {
            field: error.field.clone(),
            label: match error.field.as_str() {
                "title" => "Title",
                "body" => "Text",
                "tags" => "Tags",
                "visibility" => "Who may read it",
                _ => "The article",
            },
            message: error.message.clone(),
        }
    }
}

/// The editor page, for a person who keeps the org's knowledge base
/// (everyone else: the 404 page); `title` is the article's when editing.
fn editor(
    staff: &Staff,
    scope: &Scope,
    editing: Editing,
    title: &str,
    form: ArticleForm,
    preview: Option<String>,
    errors: Vec<FieldError>,
) -> Response {
    match scope {
        Scope::Org(org) if staff.can(*org, Permission::KbManage) => {}
        _ => return not_found_page(staff, Some(scope)),
    }
    let error = |field: &str| {
        errors
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    };
    let (heading, action, back, back_label, submit_label, status_note, cancel) = match editing {
        Editing::New => (
            "New article",
            scope.path("kb/new"),
            scope.path("kb"),
            "Knowledge base".to_owned(),
            "Save article",
            None,
            None,
        ),
        Editing::Existing { id, published } => {
            let here = scope.path(&format!("kb/{id}"));
            let note = match (published, form.visibility() == Visibility::Portal) {
                (true, true) => {
                    "This article is published: saved changes show on the client's portal at once."
                }
                (true, false) => "This article is published for staff: saved changes show at once.",
                (false, _) => {
                    "This article is a draft: saving keeps it one. Publish it from its page when it is ready."
                }
            };
            (
                "Edit article",
                format!("{here}/edit"),
                here.clone(),
                title.to_owned(),
                "Save changes",
                Some(note),
                Some(here),
            )
        }
    };
    let shell = Shell::new(staff, Some(scope), Some(Section::Kb), heading);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &EditorPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            heading,
            action,
            back,
            back_label,
            submit_label,
            offer_publish: status_note.is_none(),
            status_note,
            cancel,
            portal: form.visibility() == Visibility::Portal,
            published: form.published.is_some(),
            title_error: error("title"),
            body_error: error("body"),
            tags_error: error("tags"),
            form,
            preview,
            errors: errors.iter().map(Problem::of).collect(),
        },
    )
}

/// `GET /app/{org}/kb/new`.
async fn new_page(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/kb/new");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    editor(
        &staff,
        &scope,
        Editing::New,
        "",
        ArticleForm::default(),
        None,
        Vec::new(),
    )
}

/// `POST /app/{org}/kb/new`: a preview, or the article saved.
async fn create(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/kb/new");
    let (staff, form) = match staff_form::<ArticleForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(scope @ Scope::Org(org)) = staff.scope(&segment) else {
        return not_found_page(&staff, None);
    };
    if form.action == "preview" {
        let preview = to_safe_html(&form.body);
        return editor(
            &staff,
            &scope,
            Editing::New,
            "",
            form,
            Some(preview),
            Vec::new(),
        );
    }
    let new = NewArticle {
        title: form.title.clone(),
        body: form.body.clone(),
        tags: form.tags(),
        visibility: form.visibility(),
        published: form.published.is_some(),
    };
    match state.regentra.add_article(&staff.caller, org, new).await {
        Ok(a) => Redirect::to(&format!(
            "{}?done=created",
            scope.path(&format!("kb/{}", a.id))
        ))
        .into_response(),
        Err(Error::Validation(fields)) => {
            editor(&staff, &scope, Editing::New, "", form, None, fields)
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `GET /app/{org}/kb/{article}/edit`: the editor, filled with the article.
async fn edit_page(
    State(state): State<AppState>,
    Path((segment, article_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/kb/{article_id}/edit");
    let staff = match staff_in(&state, &headers, &segment, &path).await {
        Ok((staff, _)) => staff,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &article_id) else {
        return not_managed(&staff, &segment);
    };
    match state.regentra.article(&staff.caller, org, id).await {
        Ok(a) => editor(
            &staff,
            &scope,
            Editing::Existing {
                id,
                published: a.published,
            },
            &a.title,
            ArticleForm::of(&a),
            None,
            Vec::new(),
        ),
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `POST /app/{org}/kb/{article}/edit`: a preview of the edited text, or
/// the edit saved (back to the article), or the editor again with the
/// problems next to their fields and nothing saved.
async fn save(
    State(state): State<AppState>,
    Path((segment, article_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/kb/{article_id}/edit");
    let (staff, form) = match staff_form::<ArticleForm>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &article_id) else {
        return not_managed(&staff, &segment);
    };
    // The article as stored: its title for the breadcrumb, whether it is
    // published for the note, and a 404 for an id that names nothing here.
    let current = match state.regentra.article(&staff.caller, org, id).await {
        Ok(a) => a,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let editing = Editing::Existing {
        id,
        published: current.published,
    };
    if form.action == "preview" {
        let preview = to_safe_html(&form.body);
        return editor(
            &staff,
            &scope,
            editing,
            &current.title,
            form,
            Some(preview),
            Vec::new(),
        );
    }
    let update = ArticleUpdate {
        title: Some(form.title.clone()),
        body: Some(form.body.clone()),
        tags: Some(form.tags()),
        visibility: Some(form.visibility()),
    };
    match state
        .regentra
        .update_article(&staff.caller, org, id, update)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("{}?done=saved", scope.path(&format!("kb/{id}")))).into_response()
        }
        Err(Error::Validation(fields)) => {
            editor(&staff, &scope, editing, &current.title, form, None, fields)
        }
        Err(e) => refused(&staff, &scope, &e),
    }
}

// ---- publishing and deleting --------------------------------------------

/// `POST /app/{org}/kb/{article}/publish`.
async fn publish(
    State(state): State<AppState>,
    Path((segment, article_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    set_published(state, segment, article_id, request, true).await
}

/// `POST /app/{org}/kb/{article}/unpublish`.
async fn unpublish(
    State(state): State<AppState>,
    Path((segment, article_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    set_published(state, segment, article_id, request, false).await
}

/// Publishes or takes back to draft, then back to the article saying so.
async fn set_published(
    state: AppState,
    segment: String,
    article_id: String,
    request: Request,
    published: bool,
) -> Response {
    let back = format!("/app/{segment}/kb/{article_id}");
    let (staff, Confirmed {}) = match staff_form::<Confirmed>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &article_id) else {
        return not_managed(&staff, &segment);
    };
    let (result, done) = if published {
        (
            state.regentra.publish_article(&staff.caller, org, id).await,
            "published",
        )
    } else {
        (
            state
                .regentra
                .unpublish_article(&staff.caller, org, id)
                .await,
            "unpublished",
        )
    };
    match result {
        Ok(_) => Redirect::to(&format!("{}?done={done}", scope.path(&format!("kb/{id}"))))
            .into_response(),
        Err(e) => refused(&staff, &scope, &e),
    }
}

/// `GET /app/{org}/kb/{article}/delete`: what deleting does, and the
/// button that does it (a page of its own, so the confirmation needs no
/// script).
async fn delete_page(
    State(state): State<AppState>,
    Path((segment, article_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/kb/{article_id}/delete");
    let staff = match staff_in(&state, &headers, &segment, &path).await {
        Ok((staff, _)) => staff,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &article_id) else {
        return not_managed(&staff, &segment);
    };
    let a = match state.regentra.article(&staff.caller, org, id).await {
        Ok(a) => a,
        Err(e) => return refused(&staff, &scope, &e),
    };
    let here = scope.path(&format!("kb/{id}"));
    let leaves = if a.on_portal() {
        "the knowledge base, the client’s portal and every search"
    } else {
        "the knowledge base and every search"
    };
    let mut consequences = vec![Consequence::says(format!(
        "“{}” will be deleted for good: it leaves {leaves}. This cannot be undone.",
        a.title
    ))];
    if a.published {
        consequences.push(Consequence::says(
            "To keep it but stop readers from seeing it, unpublish it on its page instead: \
             it becomes a draft.",
        ));
    }
    confirm::page(
        &staff,
        &scope,
        Section::Kb,
        Confirmation {
            question: "Delete this article?".into(),
            back_label: a.title,
            back: here.clone(),
            consequences,
            action: format!("{here}/delete"),
            button: "Delete for good".into(),
            cancel: "Cancel".into(),
        },
    )
}

/// `POST /app/{org}/kb/{article}/delete`: deleted for good, then the list
/// saying so.
async fn delete(
    State(state): State<AppState>,
    Path((segment, article_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/app/{segment}/kb/{article_id}/delete");
    let (staff, Confirmed {}) = match staff_form::<Confirmed>(&state, &back, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some((scope, org, id)) = managed(&staff, &segment, &article_id) else {
        return not_managed(&staff, &segment);
    };
    match state.regentra.delete_article(&staff.caller, org, id).await {
        Ok(()) => Redirect::to(&format!("{}?done=deleted", scope.path("kb"))).into_response(),
        Err(e) => refused(&staff, &scope, &e),
    }
}
