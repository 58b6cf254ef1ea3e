//! The portal's knowledge base: the articles the org publishes to its
//! portal, listed most useful first (by readers' "was this helpful?"
//! votes) or newest first before anyone searches, searched with the core's
//! article search, and read one at a time, with a small form to say
//! whether the article helped. Only what the portal shows, whoever looks (the core's
//! `search_portal_articles` and `portal_article`): staff looking at a
//! client's portal see what its people see, not internal notes or drafts.

use askama::Template;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use regentra_core::Error;
use regentra_core::ids::ArticleId;
use regentra_core::psa::records::{Article, ArticleCursor};
use serde::Deserialize;

use super::{
    Nav, PortalView, Visitor, failed, local_date, not_found_page, signed_in, signed_in_form,
    zone_of,
};
use crate::server::AppState;
use crate::server::page::{Page, PageQuery};
use crate::server::routes::psa::{article_cursor, encode_article_cursor};
use crate::web::markdown::{excerpt, to_safe_html};
use crate::web::{Chrome, CsrfField, render};

/// Articles per page.
const PAGE_SIZE: usize = 20;
/// Characters of an article's text shown under its title in a list.
const EXCERPT: usize = 180;

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    /// `newest`; anything else (or nothing) is most useful first.
    #[serde(default)]
    sort: String,
    cursor: Option<String>,
}

/// How a browsed (not searched) list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Useful,
    Newest,
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
    /// Whether browsing lists the newest first (else most useful first).
    newest: bool,
    /// The two browsing orders' first pages.
    useful_href: String,
    newest_href: String,
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
    csrf_field: CsrfField,
    /// Where the "was this helpful?" form posts.
    feedback_action: String,
    /// Whether the reader just voted (the redirect's `?rated=1`).
    thanked: bool,
    /// "3 of 4 people found this helpful", once anyone has said.
    tally: Option<String>,
}

/// `GET /portal/{slug}/kb?q=&sort=&cursor=`: the articles, or those matching
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
    let sort = if query.sort == "newest" {
        Sort::Newest
    } else {
        Sort::Useful
    };
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
        first_page: page_of(&view, &q, sort, None),
        newest: sort == Sort::Newest,
        useful_href: page_of(&view, "", Sort::Useful, None),
        newest_href: page_of(&view, "", Sort::Newest, None),
    };
    let found = if q.is_empty() && sort == Sort::Useful {
        // The usefulness walk resumes from an index position, the form the
        // newest-first cursor also takes.
        let after = match after {
            Some(ArticleCursor::Newest(c)) => Some(c),
            _ => None,
        };
        state
            .regentra
            .portal_articles_by_usefulness(&visitor.caller, view.portal.org, after, PAGE_SIZE)
            .await
            .map(|listing| listing.map_next(ArticleCursor::Newest))
    } else {
        state
            .regentra
            .search_portal_articles(&visitor.caller, view.portal.org, &q, after, PAGE_SIZE)
            .await
    };
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
                .map(|next| page_of(&view, &q, sort, Some(encode_article_cursor(next))));
            render(StatusCode::OK, &page)
        }
        Err(Error::Validation(_)) => {
            page.q_error = Some("Type a word of two letters or more to search for.".into());
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => failed(&e),
    }
}

/// The address of a page of the list searching `q` (all articles in
/// `sort` order when blank), from `cursor` (the first page without).
fn page_of(view: &PortalView, q: &str, sort: Sort, cursor: Option<String>) -> String {
    let mut query = Vec::new();
    if !q.is_empty() {
        query.push(("q", q.to_owned()));
    } else if sort == Sort::Newest {
        query.push(("sort", "newest".to_owned()));
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
    RawQuery(raw): RawQuery,
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
    let thanked = raw.as_deref() == Some("rated=1");
    match state
        .regentra
        .portal_article(&visitor.caller, view.portal.org, id)
        .await
    {
        Ok(article) => show(&state, view, &visitor, article, thanked).await,
        Err(Error::NotFound { .. }) => not_found_page(&view, &visitor, "kb"),
        Err(e) => failed(&e),
    }
}

async fn show(
    state: &AppState,
    view: PortalView,
    visitor: &Visitor,
    article: Article,
    thanked: bool,
) -> Response {
    let zone = zone_of(state, &view).await;
    let voted = article.helpful.saturating_add(article.not_helpful);
    let tally = (voted > 0).then(|| {
        format!(
            "{} of {voted} {} found this helpful.",
            article.helpful,
            if voted == 1 { "person" } else { "people" }
        )
    });
    render(
        StatusCode::OK,
        &ArticlePage {
            chrome: view.chrome(&article.title).with_session(&visitor.secret),
            nav: Some(Nav::new(&view, visitor, "kb")),
            csrf_field: visitor.csrf_field(),
            feedback_action: view.path(&format!("kb/{}/feedback", article.id)),
            thanked,
            tally,
            view,
            body_html: to_safe_html(&article.body),
            updated: local_date(zone, article.updated_at),
            tags: article.tags.into_iter().collect(),
            title: article.title,
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct FeedbackForm {
    /// `yes` or `no`: the button pressed.
    #[serde(default)]
    helpful: String,
}

/// `POST /portal/{slug}/kb/{article_id}/feedback` (`helpful=yes|no`): the
/// reader's vote, then back to the article with a thanks notice. Another
/// org's, an internal or a draft article is the portal's 404 page.
pub(crate) async fn feedback(
    State(state): State<AppState>,
    Path((slug, article_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let back = format!("/portal/{slug}/kb/{article_id}");
    let (view, visitor, form) =
        match signed_in_form::<FeedbackForm>(&state, &slug, &back, request).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Ok(id) = article_id.parse::<ArticleId>() else {
        return not_found_page(&view, &visitor, "kb");
    };
    let helpful = match form.helpful.as_str() {
        "yes" => true,
        "no" => false,
        // Only the form's two buttons send this: anything else is not ours.
        _ => {
            return crate::web::error_page(
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                "Choose Yes or No.",
            );
        }
    };
    match state
        .regentra
        .rate_article(&visitor.caller, view.portal.org, id, helpful)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "{}?rated=1#feedback",
            view.path(&format!("kb/{id}"))
        ))
        .into_response(),
        Err(Error::NotFound { .. }) => not_found_page(&view, &visitor, "kb"),
        Err(e) => failed(&e),
    }
}
