//! The knowledge base in the console (`/app/{org}/kb`): every article of
//! the client, drafts and internal ones included, newest first or found
//! by words; an article as its readers see it; writing a new one in
//! markdown, with a preview rendered by the server (no script needed)
//! through the same safe renderer as every page.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use regentra_core::ids::ArticleId;
use regentra_core::psa::records::{Article, NewArticle, Visibility};
use regentra_core::rbac::Permission;
use regentra_core::{Error, FieldError};
use serde::Deserialize;

use super::{
    Scope, Section, Shell, Staff, choose_client, failed, not_found_page, staff_form, staff_in,
};
use crate::server::AppState;
use crate::server::page::{Page, PageQuery};
use crate::server::routes::psa::{article_cursor, encode_article_cursor};
use crate::web::markdown::to_safe_html;
use crate::web::{Chrome, CsrfField, render};

/// Articles per page of the list.
const PAGE_SIZE: usize = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{scope}/kb", get(list))
        .route("/app/{scope}/kb/new", get(new_page).post(create))
        .route("/app/{scope}/kb/{article_id}", get(article))
}

struct Row {
    href: String,
    title: String,
    published: bool,
    portal: bool,
    updated: String,
    helpful: u64,
    not_helpful: u64,
}

#[derive(Template)]
#[template(path = "web/console/kb.html")]
struct ListPage {
    shell: Option<Shell>,
    chrome: Chrome,
    client: String,
    action: String,
    q: String,
    rows: Vec<Row>,
    next_page: Option<String>,
    new_article: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
    done: Option<String>,
}

/// The org of a page's path, if the person reads its knowledge base.
fn org_of(staff: &Staff, scope: &Scope) -> Option<regentra_core::OrgId> {
    match scope {
        Scope::Org(org) if staff.can(*org, Permission::KbRead) => Some(*org),
        _ => None,
    }
}

/// `GET /app/{org}/kb?q=&cursor=`.
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
    // A cursor that does not decode starts again from the first page.
    let after = Page::parse(PageQuery {
        limit: None,
        cursor: query.cursor,
    })
    .ok()
    .and_then(|page| article_cursor(page.position).ok())
    .flatten();
    let listing = match state
        .regentra
        .search_articles(&staff.caller, org, &q, after, PAGE_SIZE)
        .await
    {
        Ok(listing) => listing,
        Err(e) => return failed(&e),
    };
    let zone = state
        .regentra
        .time_zone(org)
        .await
        .unwrap_or(chrono_tz::Tz::UTC);
    let base = scope.path("kb");
    let next_page = listing.next.map(|next| {
        let mut pairs = vec![("cursor", encode_article_cursor(next))];
        if !q.is_empty() {
            pairs.push(("q", q.clone()));
        }
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    let rows = listing
        .items
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
            action: base,
            q,
            rows,
            next_page,
            new_article: staff
                .can(org, Permission::KbManage)
                .then(|| scope.path("kb/new")),
            notice: (query.done.as_deref() == Some("created"))
                .then(|| "The article was saved.".to_owned()),
        },
    )
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
    helpful: u64,
    not_helpful: u64,
    notice: Option<String>,
}

/// `GET /app/{org}/kb/{article}`.
async fn article(
    State(state): State<AppState>,
    Path((segment, article_id)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/app/{segment}/kb/{article_id}");
    let (staff, scope) = match staff_in(&state, &headers, &segment, &path).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(org), Ok(id)) = (org_of(&staff, &scope), article_id.parse::<uuid::Uuid>()) else {
        return not_found_page(&staff, Some(&scope));
    };
    let a: Article = match state
        .regentra
        .article(&staff.caller, org, ArticleId(id))
        .await
    {
        Ok(a) => a,
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
            return not_found_page(&staff, Some(&scope));
        }
        Err(e) => return failed(&e),
    };
    let shell = Shell::new(&staff, Some(&scope), Some(Section::Kb), &a.title);
    render(
        StatusCode::OK,
        &ArticlePage {
            chrome: shell.chrome.clone(),
            shell: Some(shell),
            back: scope.path("kb"),
            body_html: to_safe_html(&a.body),
            published: a.published,
            portal: a.visibility == Visibility::Portal,
            tags: a.tags.into_iter().collect(),
            helpful: a.helpful,
            not_helpful: a.not_helpful,
            title: a.title,
            notice: (query.done.as_deref() == Some("created"))
                .then(|| "The article was saved.".to_owned()),
        },
    )
}

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
    #[serde(default)]
    published: Option<String>,
    /// `preview` shows the article as it will read; anything else saves.
    #[serde(default)]
    action: String,
}

#[derive(Template)]
#[template(path = "web/console/kb_new.html")]
struct NewPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    action: String,
    back: String,
    form: ArticleForm,
    portal: bool,
    published: bool,
    preview: Option<String>,
    errors: Vec<FieldError>,
    title_error: Option<String>,
    body_error: Option<String>,
    tags_error: Option<String>,
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
    editor(&staff, &scope, ArticleForm::default(), None, Vec::new())
}

fn editor(
    staff: &Staff,
    scope: &Scope,
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
    let shell = Shell::new(staff, Some(scope), Some(Section::Kb), "New article");
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &NewPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            action: scope.path("kb/new"),
            back: scope.path("kb"),
            portal: form.visibility == "portal",
            published: form.published.is_some(),
            title_error: error("title"),
            body_error: error("body"),
            tags_error: error("tags"),
            form,
            preview,
            errors,
        },
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
        return editor(&staff, &scope, form, Some(preview), Vec::new());
    }
    let new = NewArticle {
        title: form.title.clone(),
        body: form.body.clone(),
        tags: form
            .tags
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        visibility: if form.visibility == "portal" {
            Visibility::Portal
        } else {
            Visibility::Internal
        },
        published: form.published.is_some(),
    };
    match state.regentra.add_article(&staff.caller, org, new).await {
        Ok(a) => Redirect::to(&format!(
            "{}?done=created",
            scope.path(&format!("kb/{}", a.id))
        ))
        .into_response(),
        Err(Error::Validation(fields)) => editor(&staff, &scope, form, None, fields),
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => {
            not_found_page(&staff, Some(&scope))
        }
        Err(e) => failed(&e),
    }
}
