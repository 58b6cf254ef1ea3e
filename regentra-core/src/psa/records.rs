//! The other PSA records: time entries, assets and the knowledge base.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::ticket::Ticket;
use crate::audit::Target;
use crate::error::{Error, Result};
use crate::ids::{ArticleId, AssetId, OrgId, TicketId, TimeEntryId, UserId};
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Scope, Versioned};
use crate::tenancy::validate_name;

// ----- time entries ----------------------------------------------------------

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeEntry {
    pub id: TimeEntryId,
    pub org: OrgId,
    pub ticket: Option<TicketId>,
    pub user: UserId,
    pub minutes: u32,
    pub billable: bool,
    #[serde(default)]
    pub note: String,
    pub date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl Entity for TimeEntry {
    const KIND: &'static str = "time_entry";
    const NAME: &'static str = "time entry";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![IndexEntry::multi("user", self.user.to_string())];
        if let Some(t) = self.ticket {
            entries.push(IndexEntry::multi("ticket", t.to_string()));
        }
        entries
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTimeEntry {
    pub ticket: Option<TicketId>,
    pub minutes: u32,
    pub billable: bool,
    #[serde(default)]
    pub note: String,
    pub date: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Minutes {
    pub total: u64,
    pub billable: u64,
}

impl Minutes {
    fn add(&mut self, e: &TimeEntry) {
        self.total += u64::from(e.minutes);
        if e.billable {
            self.billable += u64::from(e.minutes);
        }
    }
}

/// Time over a period, in total and per user and per ticket.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeTotals {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub org: Minutes,
    pub by_user: BTreeMap<UserId, Minutes>,
    pub by_ticket: BTreeMap<TicketId, Minutes>,
}

// ----- assets ----------------------------------------------------------------

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub org: OrgId,
    pub name: String,
    /// Laptop, server, firewall, license ...
    pub kind: String,
    pub serial: Option<String>,
    pub assigned_user: Option<UserId>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Asset {
    const KIND: &'static str = "asset";
    const NAME: &'static str = "asset";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![IndexEntry::multi("kind", self.kind.to_lowercase())];
        if let Some(s) = &self.serial {
            entries.push(IndexEntry::multi("serial", s.to_lowercase()));
        }
        if let Some(u) = self.assigned_user {
            entries.push(IndexEntry::multi("user", u.to_string()));
        }
        entries
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAsset {
    pub name: String,
    pub kind: String,
    pub serial: Option<String>,
    pub assigned_user: Option<UserId>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

// ----- knowledge base --------------------------------------------------------

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Staff only.
    Internal,
    /// Also shown in the client portal, once published.
    Portal,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub id: ArticleId,
    pub org: OrgId,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub tags: BTreeSet<String>,
    pub visibility: Visibility,
    pub published: bool,
    pub author: UserId,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Article {
    const KIND: &'static str = "kb_article";
    const NAME: &'static str = "article";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        // Every word of the title and body, so search is an index lookup.
        let mut entries: Vec<IndexEntry> = words(&format!("{} {}", self.title, self.body))
            .into_iter()
            .map(|w| IndexEntry::multi("word", w))
            .collect();
        entries.extend(
            self.tags
                .iter()
                .map(|t| IndexEntry::multi("tag", t.to_lowercase())),
        );
        entries
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewArticle {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub tags: BTreeSet<String>,
    pub visibility: Visibility,
    pub published: bool,
}

/// The distinct lowercase words (letters and digits, two characters or
/// more) of a text: what search matches on.
pub fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

impl Regentra {
    /// Logs the caller's time, optionally against a ticket of the org.
    pub async fn log_time(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewTimeEntry,
    ) -> Result<TimeEntry> {
        let grant = self
            .authorize_all(principal, org, Permission::TimeTrack)
            .await?;
        if new.minutes == 0 || new.minutes > 24 * 60 {
            return Err(Error::invalid("minutes", "must be between 1 and 1440"));
        }
        if let Some(t) = new.ticket {
            store::require::<Ticket>(self.store(), Scope::Org(org), t.0).await?;
        }
        let entry = TimeEntry {
            id: TimeEntryId(self.new_id()),
            org,
            ticket: new.ticket,
            user: principal.user,
            minutes: new.minutes,
            billable: new.billable,
            note: new.note,
            date: new.date,
            created_at: self.now(),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&entry)?;
        changes.audit(self.event(
            principal,
            &grant,
            "time.logged",
            Target::new(TimeEntry::KIND, entry.id),
            json!({ "ticket": entry.ticket, "minutes": entry.minutes, "billable": entry.billable }),
        ));
        self.store().apply(changes).await?;
        Ok(entry)
    }

    /// Time logged in `[from, to]` (dates inclusive), in total, per user and per ticket.
    pub async fn time_totals(
        &self,
        principal: &Principal,
        org: OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<TimeTotals> {
        self.authorize_all(principal, org, Permission::TicketsRead)
            .await?;
        if to < from {
            return Err(Error::invalid("to", "must not be before from"));
        }
        let mut totals = TimeTotals {
            from,
            to,
            org: Minutes::default(),
            by_user: BTreeMap::new(),
            by_ticket: BTreeMap::new(),
        };
        for e in store::all::<TimeEntry>(self.store(), Scope::Org(org)).await? {
            let e = e.value;
            if e.date < from || e.date > to {
                continue;
            }
            totals.org.add(&e);
            totals.by_user.entry(e.user).or_default().add(&e);
            if let Some(t) = e.ticket {
                totals.by_ticket.entry(t).or_default().add(&e);
            }
        }
        Ok(totals)
    }

    /// Adds an asset to the org's inventory.
    pub async fn add_asset(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewAsset,
    ) -> Result<Asset> {
        let grant = self
            .authorize_all(principal, org, Permission::AssetsManage)
            .await?;
        let name = validate_name("name", &new.name)?;
        let kind = validate_name("kind", &new.kind)?;
        if let Some(u) = new.assigned_user
            && self.membership(org, u).await?.is_none()
        {
            return Err(Error::invalid(
                "assigned_user",
                "must be a member of the organization",
            ));
        }
        let asset = Asset {
            id: AssetId(self.new_id()),
            org,
            name,
            kind,
            serial: new
                .serial
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            assigned_user: new.assigned_user,
            attributes: new.attributes,
            updated_at: self.now(),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&asset)?;
        changes.audit(self.event(
            principal,
            &grant,
            "asset.added",
            Target::new(Asset::KIND, asset.id),
            json!({ "name": asset.name, "kind": asset.kind }),
        ));
        self.store().apply(changes).await?;
        Ok(asset)
    }

    /// The org's assets.
    pub async fn assets(&self, principal: &Principal, org: OrgId) -> Result<Vec<Asset>> {
        self.authorize_all(principal, org, Permission::AssetsRead)
            .await?;
        Ok(store::all::<Asset>(self.store(), Scope::Org(org))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// Links an asset to a ticket about it.
    pub async fn link_asset(
        &self,
        principal: &Principal,
        org: OrgId,
        ticket: TicketId,
        asset: AssetId,
    ) -> Result<Ticket> {
        let grant = self
            .authorize_all(principal, org, Permission::TicketsManage)
            .await?;
        store::require::<Asset>(self.store(), Scope::Org(org), asset.0).await?;
        let mut t: Versioned<Ticket> =
            store::require(self.store(), Scope::Org(org), ticket.0).await?;
        t.value.assets.insert(asset);
        t.value.updated_at = self.now();
        self.commit_ticket(
            principal,
            &grant,
            t,
            "ticket.asset_linked",
            json!({ "asset": asset }),
        )
        .await
    }

    /// Writes a knowledge-base article.
    pub async fn add_article(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewArticle,
    ) -> Result<Article> {
        let grant = self
            .authorize_all(principal, org, Permission::KbManage)
            .await?;
        let title = validate_name("title", &new.title)?;
        if new.body.trim().is_empty() {
            return Err(Error::invalid("body", "must not be empty"));
        }
        let article = Article {
            id: ArticleId(self.new_id()),
            org,
            title,
            body: new.body,
            tags: new
                .tags
                .into_iter()
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
            visibility: new.visibility,
            published: new.published,
            author: principal.user,
            updated_at: self.now(),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&article)?;
        changes.audit(self.event(
            principal,
            &grant,
            "kb.article_added",
            Target::new(Article::KIND, article.id),
            json!({ "title": article.title }),
        ));
        self.store().apply(changes).await?;
        Ok(article)
    }

    /// Articles containing every word of `query` (in title or body), that
    /// the caller may read: staff see internal articles; everyone else sees
    /// published portal articles only. A blank query lists every article
    /// the caller may read, newest first (what a portal shows before anyone
    /// searches); a query with no word of two letters or more is refused,
    /// naming `q` (the API's name for the query).
    pub async fn search_articles(
        &self,
        principal: &Principal,
        org: OrgId,
        query: &str,
    ) -> Result<Vec<Article>> {
        self.authorize(principal, org, Permission::KbReadPortal)
            .await?;
        let staff = self
            .authorize_all(principal, org, Permission::KbRead)
            .await
            .is_ok();
        let visible = |a: &Article| staff || (a.visibility == Visibility::Portal && a.published);
        if query.trim().is_empty() {
            let mut out: Vec<Article> = store::all::<Article>(self.store(), Scope::Org(org))
                .await?
                .into_iter()
                .map(|a| a.value)
                .filter(|a| visible(a))
                .collect();
            out.sort_by_key(|a| (std::cmp::Reverse(a.updated_at), std::cmp::Reverse(a.id.0)));
            return Ok(out);
        }
        let terms = words(query);
        if terms.is_empty() {
            return Err(Error::invalid(
                "q",
                "needs at least one word of two letters or more",
            ));
        }
        let mut hits: Option<BTreeSet<Uuid>> = None;
        for term in &terms {
            let found: BTreeSet<Uuid> =
                store::find_all::<Article>(self.store(), Scope::Org(org), "word", term)
                    .await?
                    .into_iter()
                    .map(|a| a.value.id.0)
                    .collect();
            hits = Some(match hits {
                Some(prev) => prev.intersection(&found).copied().collect(),
                None => found,
            });
        }
        let mut out = Vec::new();
        for id in hits.unwrap_or_default() {
            if let Some(a) = store::load::<Article>(self.store(), Scope::Org(org), id).await?
                && visible(&a.value)
            {
                out.push(a.value);
            }
        }
        // Title matches first, then the newest.
        out.sort_by_key(|a| {
            (
                std::cmp::Reverse(
                    terms
                        .iter()
                        .filter(|t| words(&a.title).contains(*t))
                        .count(),
                ),
                std::cmp::Reverse(a.updated_at),
            )
        });
        Ok(out)
    }
}
