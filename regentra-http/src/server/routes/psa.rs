//! The other PSA records: time entries, assets, knowledge base.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use regentra_core::ids::{ArticleId, AssetId, OrgId, TicketId, UserId};
use regentra_core::psa::records::{
    ArticleCursor, ArticleStatus, ArticleUpdate, AssetStatus, AssetUpdate, NewArticle, NewAsset,
    NewTimeEntry, TimeQuery, Visibility,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, Query};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{self, Page, PageQuery, Paged, Position};
use crate::server::problem::{Body, Problem};
use regentra_core::store::ScanRequest;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_time, log_time))
        .routes(routes!(time_totals))
        .routes(routes!(list_assets, add_asset))
        .routes(routes!(asset, update_asset, retire_asset))
        .routes(routes!(search_articles, add_article))
        .routes(routes!(article, update_article, delete_article))
        .routes(routes!(publish_article))
        .routes(routes!(unpublish_article))
        .routes(routes!(rate_article))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogTime {
    ticket: Option<TicketId>,
    minutes: u32,
    billable: bool,
    #[serde(default)]
    note: String,
    date: NaiveDate,
}

/// Logs the caller's time, on a ticket or not.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/time-entries", tag = "psa",
    params(("org_id" = Uuid, Path)), request_body = LogTime,
    responses((status = 201, body = regentra_core::psa::records::TimeEntry), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn log_time(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<LogTime>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewTimeEntry {
        ticket: req.ticket,
        minutes: req.minutes,
        billable: req.billable,
        note: req.note,
        date: req.date,
    };
    let entry = state.regentra.log_time(&caller, org, new).await?;
    Ok((StatusCode::CREATED, Json(json!(entry))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimeListQuery {
    /// Only the time logged on this ticket.
    ticket: Option<TicketId>,
    /// First day, inclusive.
    from: Option<NaiveDate>,
    /// Last day, inclusive.
    to: Option<NaiveDate>,
    /// Items per page (default 50, at most 500; larger values are capped).
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Time entries, the org's or one ticket's, within dates, by date.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/time-entries", tag = "psa",
    params(("org_id" = Uuid, Path), TimeListQuery),
    responses((status = 200, body = Paged<regentra_core::psa::records::TimeEntry>), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_time(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<TimeListQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let page = Page::parse(PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let query = TimeQuery {
        ticket: q.ticket,
        from: q.from,
        to: q.to,
        after: page.scan_after()?,
        limit: page.limit,
    };
    let entries = state.regentra.time_entries(&caller, org, query).await?;
    Ok(Json(page.scanned(entries).map(|e| json!(e))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First day, inclusive.
    from: NaiveDate,
    /// Last day, inclusive.
    to: NaiveDate,
}

/// Time totals over a period: the org's, per user and per ticket.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/time-entries/totals", tag = "psa",
    params(("org_id" = Uuid, Path), Period),
    responses((status = 200, body = regentra_core::psa::records::TimeTotals), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn time_totals(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(period): Query<Period>,
) -> ApiResult<Json<Value>> {
    let totals = state
        .regentra
        .time_totals(&caller, org, period.from, period.to)
        .await?;
    Ok(Json(json!(totals)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAsset {
    name: String,
    /// Free text: laptop, server, license, ...
    kind: String,
    serial: Option<String>,
    assigned_user: Option<UserId>,
    /// `in_use` (the default), `in_stock`, `in_repair` or `retired`.
    #[serde(default)]
    status: AssetStatus,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssetListQuery {
    /// Only the assets assigned to this person. People who do not read
    /// the inventory may ask for their own (403 for anyone else's), where
    /// the org's portal shows people their assets (404 otherwise).
    assigned_to: Option<UserId>,
    /// Items per page (default 50, at most 500; larger values are capped).
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The org's assets, in the order they were added; or one person's.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/assets", tag = "psa",
    params(("org_id" = Uuid, Path), AssetListQuery),
    responses((status = 200, body = Paged<regentra_core::psa::records::Asset>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_assets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<AssetListQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let page = Page::parse(PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let assets = match q.assigned_to {
        Some(user) => {
            state
                .regentra
                .assets_of(&caller, org, user, page.request())
                .await?
        }
        None => state.regentra.assets(&caller, org, page.request()).await?,
    };
    Ok(Json(page.listed(assets).map(|a| json!(a))))
}

/// Records an asset.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/assets", tag = "psa",
    params(("org_id" = Uuid, Path)), request_body = AddAsset,
    responses((status = 201, body = regentra_core::psa::records::Asset), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<AddAsset>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewAsset {
        name: req.name,
        kind: req.kind,
        serial: req.serial,
        assigned_user: req.assigned_user,
        status: req.status,
        attributes: req.attributes,
    };
    let asset = state.regentra.add_asset(&caller, org, new).await?;
    Ok((StatusCode::CREATED, Json(json!(asset))))
}

/// One asset: staff read any; a person the asset is assigned to reads it
/// (without its attributes) where the org's portal shows people their
/// assets; anyone else gets 404.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/assets/{asset_id}", tag = "psa",
    params(("org_id" = Uuid, Path), ("asset_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::psa::records::Asset), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, asset)): Id<(OrgId, AssetId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.asset(&caller, org, asset).await?
    )))
}

/// A field of a `PATCH` that may be cleared: absent leaves it, `null`
/// clears it, a value sets it.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditAsset {
    name: Option<String>,
    /// Free text: laptop, server, license, ...
    kind: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    serial: Option<Option<String>>,
    /// Who has it (a member of the org); `null`: nobody.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<UserId>)]
    assigned_user: Option<Option<UserId>>,
    /// `in_use`, `in_stock`, `in_repair` or `retired`.
    status: Option<AssetStatus>,
    /// Replaces the attributes.
    attributes: Option<BTreeMap<String, String>>,
}

/// Edits an asset: the fields sent change (`null` clears the serial or
/// the person it is assigned to), the others stay. An edit that changes
/// nothing writes nothing.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/assets/{asset_id}", tag = "psa",
    params(("org_id" = Uuid, Path), ("asset_id" = Uuid, Path)), request_body = EditAsset,
    responses((status = 200, body = regentra_core::psa::records::Asset), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn update_asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, asset)): Id<(OrgId, AssetId)>,
    Body(req): Body<EditAsset>,
) -> ApiResult<Json<Value>> {
    let update = AssetUpdate {
        name: req.name,
        kind: req.kind,
        serial: req.serial,
        assigned_user: req.assigned_user,
        status: req.status,
        attributes: req.attributes,
    };
    Ok(Json(json!(
        state
            .regentra
            .update_asset(&caller, org, asset, update)
            .await?
    )))
}

/// Retires an asset, which is what deleting one means: it stays on record
/// (tickets that name it keep their link) with the status `retired`, and
/// leaves the person who had it. Answers the asset as it now is.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/assets/{asset_id}", tag = "psa",
    params(("org_id" = Uuid, Path), ("asset_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::psa::records::Asset), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn retire_asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, asset)): Id<(OrgId, AssetId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.retire_asset(&caller, org, asset).await?
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArticleQuery {
    /// Words to look for; empty lists every article the caller may read.
    #[serde(default)]
    q: String,
    /// `newest` (the default) or `useful`: the portal's articles (published
    /// portal articles, for staff too) most helpful first, by readers'
    /// votes; it lists without words (`q` must be empty).
    #[serde(default)]
    #[param(inline)]
    sort: ArticleSort,
    /// The staff's list (`kb.read` over every article): `draft`,
    /// `published` or `any`, newest update first, drafts included; it
    /// lists without words (`q` must be empty) and by newest.
    #[param(inline)]
    status: Option<ArticleStatus>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// The order of a knowledge-base list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleSort {
    #[default]
    Newest,
    Useful,
}

/// Searches the knowledge base (requesters see published portal articles only).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/kb/articles", tag = "psa",
    params(("org_id" = Uuid, Path), ArticleQuery),
    responses((status = 200, body = Paged<regentra_core::psa::records::Article>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn search_articles(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Query(q): Query<ArticleQuery>,
) -> ApiResult<Json<Paged<Value>>> {
    let page = Page::parse(PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    if let Some(status) = q.status {
        if !q.q.trim().is_empty() || q.sort != ArticleSort::Newest {
            return Err(Problem::invalid_field(
                "status",
                "lists without words, newest first: leave q empty and sort at newest",
            )
            .into());
        }
        let request = ScanRequest::after(page.scan_after()?, page.limit);
        let found = state
            .regentra
            .staff_articles(&caller, org, status, request)
            .await?;
        return Ok(Json(page.scanned(found).map(|a| json!(a))));
    }
    if q.sort == ArticleSort::Useful {
        if !q.q.trim().is_empty() {
            return Err(
                Problem::invalid_field("q", "must be empty when sorting by usefulness").into(),
            );
        }
        let after = match page.position {
            Position::Start => None,
            Position::AfterKey(value, id) => Some(regentra_core::store::ScanCursor { value, id }),
            _ => {
                return Err(
                    Problem::invalid_field("cursor", "is not a cursor of this list").into(),
                );
            }
        };
        let found = state
            .regentra
            .portal_articles_by_usefulness(&caller, org, after, page.limit)
            .await?;
        let next_cursor = found
            .next
            .map(|c| page::encode(Position::AfterKey(c.value, c.id)));
        return Ok(Json(
            Paged {
                items: found.items,
                next_cursor,
            }
            .map(|a| json!(a)),
        ));
    }
    let after = article_cursor(page.position)?;
    let found = state
        .regentra
        .search_articles(&caller, org, &q.q, after, page.limit)
        .await?;
    let next_cursor = found.next.map(encode_article_cursor);
    Ok(Json(
        Paged {
            items: found.items,
            next_cursor,
        }
        .map(|a| json!(a)),
    ))
}

/// Where a knowledge-base search resumes, from a decoded cursor (the
/// portal's pages page the same way).
pub(crate) fn article_cursor(position: Position) -> Result<Option<ArticleCursor>, Problem> {
    match position {
        Position::Start => Ok(None),
        Position::AfterKey(value, id) => Ok(Some(ArticleCursor::Newest(
            regentra_core::store::ScanCursor { value, id },
        ))),
        Position::Offset(n) => Ok(Some(ArticleCursor::Rank(n))),
        _ => Err(Problem::invalid_field(
            "cursor",
            "is not a cursor of this list",
        )),
    }
}

/// The cursor of the search's next page.
pub(crate) fn encode_article_cursor(cursor: ArticleCursor) -> String {
    page::encode(match cursor {
        ArticleCursor::Newest(c) => Position::AfterKey(c.value, c.id),
        ArticleCursor::Rank(n) => Position::Offset(n),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddArticle {
    title: String,
    /// Markdown.
    body: String,
    #[serde(default)]
    tags: BTreeSet<String>,
    /// `internal` (staff) or `portal` (everyone in the org).
    visibility: Visibility,
    published: bool,
}

/// Writes a knowledge base article.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/kb/articles", tag = "psa",
    params(("org_id" = Uuid, Path)), request_body = AddArticle,
    responses((status = 201, body = regentra_core::psa::records::Article), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_article(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<AddArticle>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewArticle {
        title: req.title,
        body: req.body,
        tags: req.tags,
        visibility: req.visibility,
        published: req.published,
    };
    let article = state.regentra.add_article(&caller, org, new).await?;
    Ok((StatusCode::CREATED, Json(json!(article))))
}

/// One knowledge base article, under the search's rule: requesters read
/// published portal articles only (404 for any other).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/kb/articles/{article_id}", tag = "psa",
    params(("org_id" = Uuid, Path), ("article_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::psa::records::Article), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn article(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, article)): Id<(OrgId, ArticleId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state.regentra.article(&caller, org, article).await?
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditArticle {
    title: Option<String>,
    /// Markdown.
    body: Option<String>,
    /// Replaces the article's tags.
    tags: Option<BTreeSet<String>>,
    /// `internal` (staff) or `portal` (everyone in the org, once published).
    visibility: Option<Visibility>,
}

/// Edits an article: the fields sent change, the others stay (publishing
/// has its own routes). An edit that changes nothing writes nothing.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/kb/articles/{article_id}", tag = "psa",
    params(("org_id" = Uuid, Path), ("article_id" = Uuid, Path)), request_body = EditArticle,
    responses((status = 200, body = regentra_core::psa::records::Article), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn update_article(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, article)): Id<(OrgId, ArticleId)>,
    Body(req): Body<EditArticle>,
) -> ApiResult<Json<Value>> {
    let update = ArticleUpdate {
        title: req.title,
        body: req.body,
        tags: req.tags,
        visibility: req.visibility,
    };
    Ok(Json(json!(
        state
            .regentra
            .update_article(&caller, org, article, update)
            .await?
    )))
}

/// Deletes an article for good: it leaves the portal, the lists and every
/// search at once. (Unpublish it to keep it as a draft instead.)
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/kb/articles/{article_id}", tag = "psa",
    params(("org_id" = Uuid, Path), ("article_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn delete_article(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, article)): Id<(OrgId, ArticleId)>,
) -> ApiResult<StatusCode> {
    state.regentra.delete_article(&caller, org, article).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publishes an article: a portal article shows in the portal from now
/// on. Publishing a published article changes nothing.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/kb/articles/{article_id}/publish", tag = "psa",
    params(("org_id" = Uuid, Path), ("article_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::psa::records::Article), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn publish_article(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, article)): Id<(OrgId, ArticleId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state
            .regentra
            .publish_article(&caller, org, article)
            .await?
    )))
}

/// Takes an article back to draft: it leaves the portal and its searches.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/kb/articles/{article_id}/unpublish", tag = "psa",
    params(("org_id" = Uuid, Path), ("article_id" = Uuid, Path)),
    responses((status = 200, body = regentra_core::psa::records::Article), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn unpublish_article(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, article)): Id<(OrgId, ArticleId)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state
            .regentra
            .unpublish_article(&caller, org, article)
            .await?
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleFeedback {
    /// Whether the article helped the caller.
    helpful: bool,
}

/// Says whether a portal article helped the caller: one vote per person
/// and article, a later one replacing theirs. Anyone who may read the
/// article on the portal may vote; an internal, draft or another org's
/// article is 404. Returns the article with its new counts.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/kb/articles/{article_id}/feedback", tag = "psa",
    params(("org_id" = Uuid, Path), ("article_id" = Uuid, Path)), request_body = ArticleFeedback,
    responses((status = 200, body = regentra_core::psa::records::Article), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn rate_article(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, article)): Id<(OrgId, ArticleId)>,
    Body(req): Body<ArticleFeedback>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        state
            .regentra
            .rate_article(&caller, org, article, req.helpful)
            .await?
    )))
}
