//! The portal's knowledge base: the articles the org publishes to its
//! portal, listed most recently updated first before anyone searches (the
//! core keeps no other measure of usefulness, and the page says how it is
//! ordered), searched with the core's article search, and read one at a
//! time. Only what the portal shows, whoever looks (the core's
//! `search_portal_articles` and `portal_article`): staff looking at a
//! client's portal see what its people see, not internal notes or drafts.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use regentra_core::Error;
use regentra_core::ids::ArticleId;
use regentra_core::psa::records::Article;
use serde::Deserialize;

use super::{Nav, PortalView, Visitor, failed, local_date, not_found_page, signed_in, zone_of};
use crate::server::AppState;
use crate::server::page::{Page, PageQuery};
use crate::server::routes::psa::{article_cursor, encode_article_cursor};
use crate::web::markdown::{excerpt, to_safe_html};
use crate::web::{Chrome, render};

/// Articles per page.
const PAGE_SIZE: usize = 20;
/// Characters of an article's text shown under its title in a list.
const EXCERPT: usize = 180;

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
}

/// One article in a list.
struct Row {
    href: String,
    title: String,
    excerpt: String,
    updated: String,
    tags: Vec<String>,
}

#[derive(Template)]
#[template(path = "web/portal/kb.html")]
struct ListPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    /// The words searched for, as typed (empty: browsing).
    q: String,
    q_error: Option<String>,
    rows: Vec<Row>,
    /// The next page's address, when there is one.
    more: Option<String>,
    /// Whether this is a later page (the list goes on from an earlier one).
    later_page: bool,
    /// The first page of this list.
    first_page: String,
}

#[derive(Template)]
#[template(path = "web/portal/kb_article.html")]
struct ArticlePage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    title: String,
    body_html: String,
    updated: String,
    tags: Vec<String>,
}

/// `GET /portal/{slug}/kb?q=&cursor=`: the articles, or those matching
/// `q`, a page at a time.
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let back_to = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let (view, visitor) = match signed_in(&state, &headers, &slug, back_to).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // A query that does not parse is read as no query: the list itself.
    let query: ListQuery = raw
        .as_deref()
        .and_then(|raw| serde_urlencoded::from_str(raw).ok())
        .unwrap_or_default();
    let q = query.q.trim().to_owned();
    // A cursor that does not decode starts again from the first page.
    let after = Page::parse(PageQuery {
        limit: None,
        cursor: query.cursor,
    })
    .ok()
    .and_then(|page| article_cursor(page.position).ok())
    .flatten();
    let later_page = after.is_some();
    let mut page = ListPage {
        chrome: view
            .chrome(if q.is_empty() {
                "Knowledge base"
            } else {
                "Search the knowledge base"
            })
            .with_session(&visitor.secret),
        nav: Some(Nav::new(&view, &visitor, "kb")),
        view: view.clone(),
        q: q.clone(),
        q_error: None,
        rows: Vec::new(),
        more: None,
        later_page,
        first_page: page_of(&view, &q, None),
    };
    let found = state
        .regentra
        .search_portal_articles(&visitor.caller, view.portal.org, &q, after, PAGE_SIZE)
        .await;
    match found {
        Ok(listing) => {
            let zone = zone_of(&state, &view).await;
            page.rows = listing
                .items
                .iter()
                .map(|a| Row {
                    href: view.path(&format!("kb/{}", a.id)),
                    title: a.title.clone(),
                    excerpt: excerpt(&a.body, EXCERPT),
                    updated: local_date(zone, a.updated_at),
                    tags: a.tags.iter().cloned().collect(),
                })
                .collect();
            page.more = listing
                .next
                .map(|next| page_of(&view, &q, Some(encode_article_cursor(next))));
            render(StatusCode::OK, &page)
        }
        Err(Error::Validation(_)) => {
            page.q_error = Some("Type a word of two letters or more to search for.".into());
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => failed(&e),
    }
}

/// The address of a page of the list searching `q` (all articles when
/// blank), from `cursor` (the first page without).
fn page_of(view: &PortalView, q: &str, cursor: Option<String>) -> String {
    let mut query = Vec::new();
    if !q.is_empty() {
        query.push(("q", q.to_owned()));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    if query.is_empty() {
        return view.path("kb");
    }
    let query = serde_urlencoded::to_string(query).unwrap_or_default();
    format!("{}?{query}", view.path("kb"))
}

/// `GET /portal/{slug}/kb/{article_id}`: one article; another org's, an
/// internal one or a draft is the portal's 404 page.
pub(crate) async fn article(
    State(state): State<AppState>,
    Path((slug, article_id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (view, visitor) = match signed_in(&state, &headers, &slug, uri.path()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(id) = article_id.parse::<ArticleId>() else {
        return not_found_page(&view, &visitor, "kb");
    };
    match state
        .regentra
        .portal_article(&visitor.caller, view.portal.org, id)
        .await
    {
        Ok(article) => show(&state, view, &visitor, article).await,
        Err(Error::NotFound { .. }) => not_found_page(&view, &visitor, "kb"),
        Err(e) => failed(&e),
    }
}

async fn show(state: &AppState, view: PortalView, visitor: &Visitor, article: Article) -> Response {
    let zone = zone_of(state, &view).await;
    render(
        StatusCode::OK,
        &ArticlePage {
            chrome: view.chrome(&article.title).with_session(&visitor.secret),
            nav: Some(Nav::new(&view, visitor, "kb")),
            view,
            body_html: to_safe_html(&article.body),
            updated: local_date(zone, article.updated_at),
            tags: article.tags.into_iter().collect(),
            title: article.title,
        },
    )
}
