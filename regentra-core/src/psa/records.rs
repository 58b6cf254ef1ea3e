//! The other PSA records: time entries, assets and the knowledge base.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::ticket::Ticket;
use crate::audit::Target;
use crate::error::{Error, Result};
use crate::ids::{ArticleId, AssetId, OrgId, TicketId, TimeEntryId, UserId};
use crate::rbac::{Access, Grant, Permission};
use crate::service::{Principal, Regentra};
use crate::store::{
    self, Answers, ChangeSet, Entity, IndexEntry, IndexScan, Listing, MAX_PAGE, Order, PageRequest,
    Read, ScanCursor, ScanRequest, Scope, Versioned,
};
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
        // By date, for the org and per ticket: date ranges are index walks.
        let date = store::date_key(self.date);
        let mut entries = vec![
            IndexEntry::multi("user", self.user.to_string()),
            IndexEntry::multi("date", date.clone()),
        ];
        if let Some(t) = self.ticket {
            entries.push(IndexEntry::multi("ticket", t.to_string()));
            entries.push(IndexEntry::multi("ticket_date", format!("{t}|{date}")));
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

/// A page request over time entries: the org's or one ticket's, within
/// dates (inclusive), ordered by date then by when they were logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeQuery {
    pub ticket: Option<TicketId>,
    /// First day, inclusive.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    pub after: Option<ScanCursor>,
    pub limit: usize,
}

impl Default for TimeQuery {
    fn default() -> Self {
        Self {
            ticket: None,
            from: None,
            to: None,
            after: None,
            limit: 50,
        }
    }
}

impl TimeQuery {
    /// The index walk answering this query (its range; no cursor, no limit).
    fn walk(&self) -> IndexScan {
        let (index, prefix) = match self.ticket {
            Some(t) => ("ticket_date", format!("{t}|")),
            None => ("date", String::new()),
        };
        let from = match self.from {
            Some(d) => Bound::Included(format!("{prefix}{}", store::date_key(d))),
            None => Bound::Included(prefix.clone()),
        };
        let to = match self.to {
            Some(d) => Bound::Included(format!("{prefix}{}", store::date_key(d))),
            // Every date key sorts before `~`.
            None => Bound::Excluded(format!("{prefix}~")),
        };
        IndexScan::between(index, from, to)
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

/// Where an asset stands in its life.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    /// In service (what every asset recorded before statuses existed is).
    #[default]
    InUse,
    /// Kept as a spare, not in service.
    InStock,
    /// Away for repair.
    InRepair,
    /// Out of service for good; kept on record.
    Retired,
}

impl AssetStatus {
    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            AssetStatus::InUse => "In use",
            AssetStatus::InStock => "In stock",
            AssetStatus::InRepair => "In repair",
            AssetStatus::Retired => "Retired",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub org: OrgId,
    pub name: String,
    /// Laptop, server, firewall, license ...
    pub kind: String,
    pub serial: Option<String>,
    /// The person who has it; a person sees their own in the portal.
    pub assigned_user: Option<UserId>,
    #[serde(default)]
    pub status: AssetStatus,
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
    /// `in_use` when left out.
    #[serde(default)]
    pub status: AssetStatus,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// What an edit of an asset changes: the fields given, the others kept.
/// `serial` and `assigned_user` take `Some(None)` to clear them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetUpdate {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub serial: Option<Option<String>>,
    pub assigned_user: Option<Option<UserId>>,
    pub status: Option<AssetStatus>,
    /// Replaces the attributes.
    pub attributes: Option<BTreeMap<String, String>>,
}

/// A serial as stored: trimmed, none when blank.
fn clean_serial(serial: Option<String>) -> Option<String> {
    serial
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
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
    /// People who said the article helped them (one vote per person).
    #[serde(default)]
    pub helpful: u64,
    /// People who said it did not.
    #[serde(default)]
    pub not_helpful: u64,
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
        // Newest first for staff, and for everyone else among what the
        // portal shows: the blank query's walks.
        let updated = store::instant_key(self.updated_at);
        if self.on_portal() {
            entries.push(IndexEntry::multi("portal_updated", updated.clone()));
            entries.push(IndexEntry::multi("portal_useful", self.usefulness_key()));
        }
        // The staff list by status, newest first.
        entries.push(IndexEntry::multi(
            "status_updated",
            format!("{}|{updated}", self.status_key()),
        ));
        entries.push(IndexEntry::multi("updated", updated));
        entries
    }
}

impl Article {
    /// `published` or `draft`: the lead of its `status_updated` entry.
    fn status_key(&self) -> &'static str {
        if self.published { "published" } else { "draft" }
    }

    /// Whether the portal shows it: published, and meant for the portal.
    pub fn on_portal(&self) -> bool {
        self.visibility == Visibility::Portal && self.published
    }

    /// The `portal_useful` index value: ascending byte order is most
    /// useful first. Index values compare as text, so each count is a
    /// fixed-width decimal, and the helpful count is stored as its
    /// distance from `u64::MAX` to make more votes sort earlier. Among
    /// equally helpful articles, fewer "no" votes come first, then the
    /// newest (its update instant's key with every digit complemented,
    /// which reverses its order).
    fn usefulness_key(&self) -> String {
        let newest: String = store::instant_key(self.updated_at)
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from(b'9' - d as u8),
                None => c,
            })
            .collect();
        format!(
            "{:020}|{:020}|{newest}",
            u64::MAX - self.helpful,
            self.not_helpful
        )
    }
}

/// One person's say on whether an article helped them: one record per
/// person and article (the unique `voter` entry), replaced by a later vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleVote {
    pub id: Uuid,
    pub org: OrgId,
    pub article: ArticleId,
    pub user: UserId,
    pub helpful: bool,
    pub at: DateTime<Utc>,
}

impl Entity for ArticleVote {
    const KIND: &'static str = "kb_article_vote";
    const NAME: &'static str = "article vote";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::unique(
            "voter",
            format!("{}|{}", self.article, self.user),
        )]
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

/// What an edit of an article changes: the fields given, the others kept.
/// Publishing is its own operation ([`Regentra::publish_article`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleUpdate {
    pub title: Option<String>,
    /// Markdown.
    pub body: Option<String>,
    pub tags: Option<BTreeSet<String>>,
    pub visibility: Option<Visibility>,
}

/// Which articles the staff list shows.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Not published: staff only, whatever its visibility.
    Draft,
    Published,
    #[default]
    Any,
}

/// How many articles an org has in each state (drafts are staff only,
/// whatever their visibility).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArticleCounts {
    pub drafts: u64,
    pub published: u64,
}

impl ArticleCounts {
    /// Every article, drafts and published.
    pub fn all(&self) -> u64 {
        self.drafts + self.published
    }
}

/// Tags as stored: trimmed, lowercase, none empty.
fn clean_tags(tags: BTreeSet<String>) -> BTreeSet<String> {
    tags.into_iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whose view of the knowledge base a read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shelf {
    /// Every article the caller may read: staff see internal articles and
    /// drafts, everyone else what the portal shows.
    Caller,
    /// What the portal shows, whoever looks: published portal articles
    /// only, so staff looking at a client's portal see what its people see.
    Portal,
}

/// Where the next page of a knowledge-base search starts: a position in
/// the newest-first walk (blank query), or in the ranking (words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArticleCursor {
    Newest(ScanCursor),
    Rank(usize),
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
        // Dates are indexed as fixed-width `YYYY-MM-DD` text.
        if !(1..=9999).contains(&chrono::Datelike::year(&new.date)) {
            return Err(Error::invalid("date", "must be in the years 1 to 9999"));
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
        // The entries of the period only, a walk of the `date` index.
        let range = TimeQuery {
            from: Some(from),
            to: Some(to),
            ..TimeQuery::default()
        }
        .walk();
        let mut after = None;
        loop {
            let walk = range.clone().after(after).limit(MAX_PAGE);
            let (page, next) =
                store::scan::<TimeEntry>(self.store(), Scope::Org(org), &walk).await?;
            for e in page {
                let e = e.value;
                totals.org.add(&e);
                totals.by_user.entry(e.user).or_default().add(&e);
                if let Some(t) = e.ticket {
                    totals.by_ticket.entry(t).or_default().add(&e);
                }
            }
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(totals),
            }
        }
    }

    /// A page of time entries, the org's or one ticket's (which must
    /// exist), within the query's dates, by date: one walk of the `date`
    /// (or `ticket_date`) index.
    pub async fn time_entries(
        &self,
        principal: &Principal,
        org: OrgId,
        query: TimeQuery,
    ) -> Result<Listing<TimeEntry, ScanCursor>> {
        self.authorize_all(principal, org, Permission::TicketsRead)
            .await?;
        if let (Some(from), Some(to)) = (query.from, query.to)
            && to < from
        {
            return Err(Error::invalid("to", "must not be before from"));
        }
        if let Some(t) = query.ticket {
            store::require::<Ticket>(self.store(), Scope::Org(org), t.0).await?;
        }
        let walk = query.walk().after(query.after.clone()).limit(query.limit);
        Ok(
            store::scan_page::<TimeEntry>(self.store(), Scope::Org(org), &walk)
                .await?
                .map(|v| v.value),
        )
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
            serial: clean_serial(new.serial),
            assigned_user: new.assigned_user,
            status: new.status,
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

    /// One asset. Staff who read the inventory read any; anyone else
    /// (`assets.read` is `own` for them) only one assigned to them, where
    /// the org's portal shows people their assets, without the inventory's
    /// notes (its attributes), as [`Self::assets_of`] shows it. Any other
    /// is `NotFound`, as another org's is.
    pub async fn asset(&self, principal: &Principal, org: OrgId, asset: AssetId) -> Result<Asset> {
        let grant = self
            .authorize(principal, org, Permission::AssetsRead)
            .await?;
        let found = store::load::<Asset>(self.store(), Scope::Org(org), asset.0)
            .await?
            .map(|v| v.value);
        let not_found = Error::NotFound { what: Asset::NAME };
        match (grant.access, found) {
            (Access::All, Some(asset)) => Ok(asset),
            (_, Some(mut asset))
                if asset.assigned_user == Some(principal.user)
                    && self.portal_shows_assets(org).await? =>
            {
                asset.attributes.clear();
                Ok(asset)
            }
            _ => Err(not_found),
        }
    }

    /// Edits an asset (`assets.manage`): the fields `update` gives, checked
    /// as when it was added (a person it is assigned to must be a member of
    /// the org); the others stay. Audited `asset.updated` with the fields
    /// that changed; an edit that changes nothing writes nothing. Who holds
    /// it (the `user` index, what the portal shows them) follows in the
    /// same commit.
    pub async fn update_asset(
        &self,
        principal: &Principal,
        org: OrgId,
        asset: AssetId,
        update: AssetUpdate,
    ) -> Result<Asset> {
        let grant = self
            .authorize_all(principal, org, Permission::AssetsManage)
            .await?;
        let name = update.name.map(|n| validate_name("name", &n)).transpose()?;
        let kind = update.kind.map(|k| validate_name("kind", &k)).transpose()?;
        if let Some(Some(user)) = update.assigned_user
            && self.membership(org, user).await?.is_none()
        {
            return Err(Error::invalid(
                "assigned_user",
                "must be a member of the organization",
            ));
        }
        let mut a: Versioned<Asset> =
            store::require(self.store(), Scope::Org(org), asset.0).await?;
        let mut changed = Vec::new();
        let value = &mut a.value;
        if let Some(name) = name.filter(|n| *n != value.name) {
            value.name = name;
            changed.push("name");
        }
        if let Some(kind) = kind.filter(|k| *k != value.kind) {
            value.kind = kind;
            changed.push("kind");
        }
        if let Some(serial) = update
            .serial
            .map(clean_serial)
            .filter(|s| *s != value.serial)
        {
            value.serial = serial;
            changed.push("serial");
        }
        if let Some(user) = update.assigned_user.filter(|u| *u != value.assigned_user) {
            value.assigned_user = user;
            changed.push("assigned_user");
        }
        if let Some(status) = update.status.filter(|s| *s != value.status) {
            value.status = status;
            changed.push("status");
        }
        if let Some(attributes) = update.attributes.filter(|a| *a != value.attributes) {
            value.attributes = attributes;
            changed.push("attributes");
        }
        if changed.is_empty() {
            return Ok(a.value);
        }
        a.value.updated_at = self.now();
        let details = json!({ "name": a.value.name, "changed": changed });
        self.commit_asset(principal, &grant, a, "asset.updated", details)
            .await
    }

    /// Retires an asset (`assets.manage`): out of service for good, kept on
    /// record (its history, and the tickets that name it, stay meaningful),
    /// and no longer with the person who had it, so it leaves their portal.
    /// What deleting an asset means here; audited `asset.retired` with who
    /// had it. A retired asset stays as it is.
    pub async fn retire_asset(
        &self,
        principal: &Principal,
        org: OrgId,
        asset: AssetId,
    ) -> Result<Asset> {
        let grant = self
            .authorize_all(principal, org, Permission::AssetsManage)
            .await?;
        let mut a: Versioned<Asset> =
            store::require(self.store(), Scope::Org(org), asset.0).await?;
        if a.value.status == AssetStatus::Retired && a.value.assigned_user.is_none() {
            return Ok(a.value);
        }
        let had = a.value.assigned_user.take();
        a.value.status = AssetStatus::Retired;
        a.value.updated_at = self.now();
        let details = json!({ "name": a.value.name, "assigned_user": had });
        self.commit_asset(principal, &grant, a, "asset.retired", details)
            .await
    }

    /// The assets a ticket concerns, for staff who read the inventory (the
    /// ticket must be one the caller sees): one read of the ticket's
    /// assets, in the order they were added.
    pub async fn ticket_assets(
        &self,
        principal: &Principal,
        org: OrgId,
        ticket: TicketId,
    ) -> Result<Vec<Asset>> {
        let t = self.ticket(principal, org, ticket).await?;
        self.authorize_all(principal, org, Permission::AssetsRead)
            .await?;
        let ids: Vec<Uuid> = t.assets.iter().map(|a| a.0).collect();
        Ok(
            store::load_many::<Asset>(self.store(), Scope::Org(org), &ids)
                .await?
                .into_iter()
                .flatten()
                .map(|v| v.value)
                .collect(),
        )
    }

    /// Takes an asset off a ticket (`tickets.manage`), audited
    /// `ticket.asset_unlinked`. An asset the ticket does not name is
    /// `NotFound`.
    pub async fn unlink_asset(
        &self,
        principal: &Principal,
        org: OrgId,
        ticket: TicketId,
        asset: AssetId,
    ) -> Result<Ticket> {
        let grant = self
            .authorize_all(principal, org, Permission::TicketsManage)
            .await?;
        let mut t: Versioned<Ticket> =
            store::require(self.store(), Scope::Org(org), ticket.0).await?;
        if !t.value.assets.remove(&asset) {
            return Err(Error::NotFound { what: Asset::NAME });
        }
        t.value.updated_at = self.now();
        self.commit_ticket(
            principal,
            &grant,
            t,
            "ticket.asset_unlinked",
            json!({ "asset": asset }),
        )
        .await
    }

    /// Writes an asset changed under `grant`, with its audit event.
    async fn commit_asset(
        &self,
        principal: &Principal,
        grant: &Grant,
        asset: Versioned<Asset>,
        action: &str,
        details: serde_json::Value,
    ) -> Result<Asset> {
        let mut changes = ChangeSet::new();
        changes.update(&asset)?;
        changes.audit(self.event(
            principal,
            grant,
            action,
            Target::new(Asset::KIND, asset.value.id),
            details,
        ));
        self.store().apply(changes).await?;
        Ok(asset.value)
    }

    /// A page of the org's assets, in the order they were added.
    pub async fn assets(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Listing<Asset>> {
        self.authorize_all(principal, org, Permission::AssetsRead)
            .await?;
        Ok(
            store::list_page::<Asset>(self.store(), Scope::Org(org), page)
                .await?
                .map(|v| v.value),
        )
    }

    /// A page of the assets assigned to `user`, in the order they were
    /// added: one walk of the `user` index. Staff who read the inventory
    /// ask for anyone; anyone else only for themselves (`assets.read` is
    /// `own` for them), and only where the org's portal is enabled and
    /// shows people their assets, since that is where it lets them see
    /// them; otherwise `NotFound`, like the portal's dashboard. Asking for
    /// someone else's is `PermissionDenied`.
    pub async fn assets_of(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        page: PageRequest,
    ) -> Result<Listing<Asset>> {
        let grant = self
            .authorize(principal, org, Permission::AssetsRead)
            .await?;
        if grant.access == Access::Own {
            if user != principal.user {
                return Err(Error::PermissionDenied {
                    permission: Permission::AssetsRead.key(),
                });
            }
            if !self.portal_shows_assets(org).await? {
                return Err(Error::NotFound { what: "assets" });
            }
        }
        let own = grant.access == Access::Own;
        Ok(store::find_page::<Asset>(
            self.store(),
            Scope::Org(org),
            "user",
            &user.to_string(),
            page,
        )
        .await?
        .map(|v| {
            let mut asset = v.value;
            // The free-form attributes are the inventory's notes for staff
            // (licence keys, admin or recovery notes): not the holder's.
            if own {
                asset.attributes.clear();
            }
            asset
        }))
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
            tags: clean_tags(new.tags),
            visibility: new.visibility,
            published: new.published,
            author: principal.user,
            updated_at: self.now(),
            helpful: 0,
            not_helpful: 0,
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

    /// Edits an article (`kb.manage`): the fields `update` gives, checked
    /// as when it was written; the others stay. Audited `kb.article_updated`
    /// with the fields that changed; an edit that changes nothing writes
    /// nothing. The article's search words, portal entries and place in the
    /// newest-first lists follow in the same commit.
    pub async fn update_article(
        &self,
        principal: &Principal,
        org: OrgId,
        article: ArticleId,
        update: ArticleUpdate,
    ) -> Result<Article> {
        let grant = self
            .authorize_all(principal, org, Permission::KbManage)
            .await?;
        let title = update
            .title
            .map(|t| validate_name("title", &t))
            .transpose()?;
        if update.body.as_ref().is_some_and(|b| b.trim().is_empty()) {
            return Err(Error::invalid("body", "must not be empty"));
        }
        let mut a: Versioned<Article> =
            store::require(self.store(), Scope::Org(org), article.0).await?;
        let mut changed = Vec::new();
        let value = &mut a.value;
        if let Some(title) = title.filter(|t| *t != value.title) {
            value.title = title;
            changed.push("title");
        }
        if let Some(body) = update.body.filter(|b| *b != value.body) {
            value.body = body;
            changed.push("body");
        }
        if let Some(tags) = update.tags.map(clean_tags).filter(|t| *t != value.tags) {
            value.tags = tags;
            changed.push("tags");
        }
        if let Some(visibility) = update.visibility.filter(|v| *v != value.visibility) {
            value.visibility = visibility;
            changed.push("visibility");
        }
        if changed.is_empty() {
            return Ok(a.value);
        }
        a.value.updated_at = self.now();
        let details = json!({ "title": a.value.title, "changed": changed });
        self.commit_article(principal, &grant, a, "kb.article_updated", details)
            .await
    }

    /// Publishes an article (`kb.manage`): a portal article then shows in
    /// the portal (newest first: publishing dates it now); an internal one
    /// to staff as published. Audited `kb.article_published`; publishing a
    /// published article changes nothing.
    pub async fn publish_article(
        &self,
        principal: &Principal,
        org: OrgId,
        article: ArticleId,
    ) -> Result<Article> {
        self.set_published(principal, org, article, true).await
    }

    /// Takes an article back to draft (`kb.manage`): it leaves the portal
    /// and its searches at once. Audited `kb.article_unpublished`; a draft
    /// stays as it is.
    pub async fn unpublish_article(
        &self,
        principal: &Principal,
        org: OrgId,
        article: ArticleId,
    ) -> Result<Article> {
        self.set_published(principal, org, article, false).await
    }

    /// Deletes an article for good (`kb.manage`), as a help desk's
    /// knowledge base does: it vanishes from the portal, the staff lists
    /// and every search in the commit that deletes it, audited
    /// `kb.article_deleted` with its title. (To keep an article away from
    /// the portal without losing it, unpublish it.) Readers' votes on it
    /// stay behind, unread: nothing finds a vote but through its article.
    pub async fn delete_article(
        &self,
        principal: &Principal,
        org: OrgId,
        article: ArticleId,
    ) -> Result<()> {
        let grant = self
            .authorize_all(principal, org, Permission::KbManage)
            .await?;
        let a: Versioned<Article> =
            store::require(self.store(), Scope::Org(org), article.0).await?;
        let mut changes = ChangeSet::new();
        changes.delete(&a);
        changes.audit(self.event(
            principal,
            &grant,
            "kb.article_deleted",
            Target::new(Article::KIND, article),
            json!({ "title": a.value.title, "published": a.value.published }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// The staff list of the org's articles (`kb.read` over every
    /// article), drafts included: drafts, published ones or all, newest
    /// update first, one descending walk of the `status_updated` (or
    /// `updated`) index, paged by the store.
    pub async fn staff_articles(
        &self,
        principal: &Principal,
        org: OrgId,
        status: ArticleStatus,
        page: ScanRequest,
    ) -> Result<Listing<Article, ScanCursor>> {
        self.authorize_all(principal, org, Permission::KbRead)
            .await?;
        let walk = match status {
            ArticleStatus::Any => IndexScan::all("updated"),
            ArticleStatus::Draft => IndexScan::prefix("status_updated", "draft|"),
            ArticleStatus::Published => IndexScan::prefix("status_updated", "published|"),
        }
        .descending()
        .after(page.after)
        .limit(page.limit);
        Ok(
            store::scan_page::<Article>(self.store(), Scope::Org(org), &walk)
                .await?
                .map(|a| a.value),
        )
    }

    /// How many of the org's articles are drafts and how many are
    /// published (`kb.read`, as [`Self::staff_articles`]): the figures of
    /// the staff list's filters, counted by the store over the
    /// `status_updated` index in one read, without loading an article.
    pub async fn article_counts(&self, principal: &Principal, org: OrgId) -> Result<ArticleCounts> {
        self.authorize_all(principal, org, Permission::KbRead)
            .await?;
        let count = |status: &str| Read::Count {
            scope: Scope::Org(org),
            kind: Article::KIND.to_owned(),
            scan: IndexScan::prefix("status_updated", &format!("{status}|")),
        };
        let mut answers = Answers::new(
            self.store()
                .read(vec![count("draft"), count("published")])
                .await?,
        );
        Ok(ArticleCounts {
            drafts: answers.next()?.count()?,
            published: answers.next()?.count()?,
        })
    }

    async fn set_published(
        &self,
        principal: &Principal,
        org: OrgId,
        article: ArticleId,
        published: bool,
    ) -> Result<Article> {
        let grant = self
            .authorize_all(principal, org, Permission::KbManage)
            .await?;
        let mut a: Versioned<Article> =
            store::require(self.store(), Scope::Org(org), article.0).await?;
        if a.value.published == published {
            return Ok(a.value);
        }
        a.value.published = published;
        a.value.updated_at = self.now();
        let action = if published {
            "kb.article_published"
        } else {
            "kb.article_unpublished"
        };
        let details = json!({ "title": a.value.title, "visibility": a.value.visibility });
        self.commit_article(principal, &grant, a, action, details)
            .await
    }

    /// Writes an article changed under `grant`, with its audit event.
    async fn commit_article(
        &self,
        principal: &Principal,
        grant: &Grant,
        article: Versioned<Article>,
        action: &str,
        details: serde_json::Value,
    ) -> Result<Article> {
        let mut changes = ChangeSet::new();
        changes.update(&article)?;
        changes.audit(self.event(
            principal,
            grant,
            action,
            Target::new(Article::KIND, article.value.id),
            details,
        ));
        self.store().apply(changes).await?;
        Ok(article.value)
    }

    /// Articles containing every word of `query` (in title or body), that
    /// the caller may read: staff see internal articles; everyone else sees
    /// published portal articles only. A blank query lists every article
    /// the caller may read, newest first (what a portal shows before anyone
    /// searches); a query with no word of two letters or more is refused,
    /// naming `q` (the API's name for the query).
    ///
    /// A page at a time. The blank query is a newest-first walk of the
    /// `updated` index (`portal_updated` for people who see the portal's
    /// articles only), so a page reads about its own size. A query with
    /// words walks the `word` index of one of them (the longest: likely the
    /// rarest), which yields the candidate articles themselves, with no
    /// read per hit; the other words and the visibility are checked on
    /// those, and the matches are ranked (title matches first, then the
    /// newest) and paged by rank. Its cost is the articles holding that
    /// one word.
    pub async fn search_articles(
        &self,
        principal: &Principal,
        org: OrgId,
        query: &str,
        after: Option<ArticleCursor>,
        limit: usize,
    ) -> Result<Listing<Article, ArticleCursor>> {
        self.search_shelf(principal, org, Shelf::Caller, query, after, limit)
            .await
    }

    /// [`Self::search_articles`] over what the portal shows (published
    /// portal articles), whoever the caller: the portal's pages.
    pub async fn search_portal_articles(
        &self,
        principal: &Principal,
        org: OrgId,
        query: &str,
        after: Option<ArticleCursor>,
        limit: usize,
    ) -> Result<Listing<Article, ArticleCursor>> {
        self.search_shelf(principal, org, Shelf::Portal, query, after, limit)
            .await
    }

    /// One article the caller may read (the rule of
    /// [`Self::search_articles`]): an internal or unpublished article is
    /// `NotFound` for someone who only sees the portal's, as is another
    /// org's.
    pub async fn article(
        &self,
        principal: &Principal,
        org: OrgId,
        article: ArticleId,
    ) -> Result<Article> {
        self.read_article(principal, org, Shelf::Caller, article)
            .await
    }

    /// One article as the portal shows it: `NotFound` unless it is a
    /// published portal article, whoever the caller.
    pub async fn portal_article(
        &self,
        principal: &Principal,
        org: OrgId,
        article: ArticleId,
    ) -> Result<Article> {
        self.read_article(principal, org, Shelf::Portal, article)
            .await
    }

    /// Records whether a portal article helped the caller (`helpful`):
    /// anyone who may read it on the portal may say so, once; a later vote
    /// replaces theirs. The article's counts change in the same commit as
    /// the vote, with a `kb.article_rated` event, under optimistic versions
    /// (a concurrent vote is read again and retried). An internal, draft or
    /// another org's article is `NotFound`. Returns the article with its
    /// new counts.
    pub async fn rate_article(
        &self,
        principal: &Principal,
        org: OrgId,
        article: ArticleId,
        helpful: bool,
    ) -> Result<Article> {
        let grant = self
            .authorize(principal, org, Permission::KbReadPortal)
            .await?;
        let scope = Scope::Org(org);
        let voter = format!("{article}|{}", principal.user);
        let mut tries = 0;
        loop {
            let mut a: Versioned<Article> = store::load(self.store(), scope, article.0)
                .await?
                .filter(|a: &Versioned<Article>| a.value.on_portal())
                .ok_or(Error::NotFound {
                    what: Article::NAME,
                })?;
            let previous: Option<Versioned<ArticleVote>> =
                store::find_unique(self.store(), scope, "voter", &voter).await?;
            let mut changes = ChangeSet::new();
            match previous {
                Some(mut vote) => {
                    if vote.value.helpful != helpful {
                        let (from, to) = if helpful {
                            (&mut a.value.not_helpful, &mut a.value.helpful)
                        } else {
                            (&mut a.value.helpful, &mut a.value.not_helpful)
                        };
                        *from = from.saturating_sub(1);
                        *to = to.saturating_add(1);
                    }
                    vote.value.helpful = helpful;
                    vote.value.at = self.now();
                    changes.update(&vote)?;
                }
                None => {
                    if helpful {
                        a.value.helpful = a.value.helpful.saturating_add(1);
                    } else {
                        a.value.not_helpful = a.value.not_helpful.saturating_add(1);
                    }
                    changes.insert(&ArticleVote {
                        id: self.new_id(),
                        org,
                        article,
                        user: principal.user,
                        helpful,
                        at: self.now(),
                    })?;
                }
            }
            // The article's version is checked even when its counts stay,
            // so two votes of one person cannot both count.
            changes.update(&a)?;
            changes.audit(self.event(
                principal,
                &grant,
                "kb.article_rated",
                Target::new(Article::KIND, article),
                json!({ "helpful": helpful }),
            ));
            match self.store().apply(changes).await {
                Ok(_) => return Ok(a.value),
                Err(Error::Conflict { .. } | Error::AlreadyExists { .. }) if tries < 5 => {
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A page of the portal's articles (published portal articles, whoever
    /// the caller), most useful first: most "helpful" votes, then fewest
    /// "not helpful", then the newest. One walk of the `portal_useful`
    /// index, so a page reads about its own size.
    pub async fn portal_articles_by_usefulness(
        &self,
        principal: &Principal,
        org: OrgId,
        after: Option<ScanCursor>,
        limit: usize,
    ) -> Result<Listing<Article, ScanCursor>> {
        self.authorize(principal, org, Permission::KbReadPortal)
            .await?;
        let walk = IndexScan::all("portal_useful")
            .after(after)
            .limit(limit.clamp(1, MAX_PAGE));
        Ok(
            store::scan_page::<Article>(self.store(), Scope::Org(org), &walk)
                .await?
                .map(|a| a.value),
        )
    }

    /// Whether the caller reads every article (`true`: staff) or only the
    /// portal's, on `shelf`.
    async fn reads_every_article(
        &self,
        principal: &Principal,
        org: OrgId,
        shelf: Shelf,
    ) -> Result<bool> {
        self.authorize(principal, org, Permission::KbReadPortal)
            .await?;
        Ok(shelf == Shelf::Caller
            && self
                .authorize_all(principal, org, Permission::KbRead)
                .await
                .is_ok())
    }

    async fn read_article(
        &self,
        principal: &Principal,
        org: OrgId,
        shelf: Shelf,
        article: ArticleId,
    ) -> Result<Article> {
        let staff = self.reads_every_article(principal, org, shelf).await?;
        store::load::<Article>(self.store(), Scope::Org(org), article.0)
            .await?
            .map(|a| a.value)
            .filter(|a| staff || a.on_portal())
            .ok_or(Error::NotFound {
                what: Article::NAME,
            })
    }

    async fn search_shelf(
        &self,
        principal: &Principal,
        org: OrgId,
        shelf: Shelf,
        query: &str,
        after: Option<ArticleCursor>,
        limit: usize,
    ) -> Result<Listing<Article, ArticleCursor>> {
        let staff = self.reads_every_article(principal, org, shelf).await?;
        let scope = Scope::Org(org);
        let limit = limit.clamp(1, MAX_PAGE);
        if query.trim().is_empty() {
            let index = if staff { "updated" } else { "portal_updated" };
            let after = match after {
                Some(ArticleCursor::Newest(c)) => Some(c),
                _ => None,
            };
            let walk = IndexScan {
                order: Order::Descending,
                ..IndexScan::all(index)
            }
            .after(after)
            .limit(limit);
            return Ok(store::scan_page::<Article>(self.store(), scope, &walk)
                .await?
                .map(|a| a.value)
                .map_next(ArticleCursor::Newest));
        }
        let terms = words(query);
        let Some(walked) = terms
            .iter()
            .max_by(|a, b| a.chars().count().cmp(&b.chars().count()).then(b.cmp(a)))
        else {
            return Err(Error::invalid(
                "q",
                "needs at least one word of two letters or more",
            ));
        };
        let visible = |a: &Article| staff || a.on_portal();
        let mut out: Vec<Article> = store::find_all::<Article>(self.store(), scope, "word", walked)
            .await?
            .into_iter()
            .map(|a| a.value)
            .filter(|a| visible(a))
            .filter(|a| {
                let held = words(&format!("{} {}", a.title, a.body));
                terms.iter().all(|t| held.contains(t))
            })
            .collect();
        // Title matches first, then the newest.
        out.sort_by_cached_key(|a| {
            let title = words(&a.title);
            (
                std::cmp::Reverse(terms.iter().filter(|t| title.contains(*t)).count()),
                std::cmp::Reverse(a.updated_at),
                std::cmp::Reverse(a.id.0),
            )
        });
        let skip = match after {
            Some(ArticleCursor::Rank(n)) => n,
            _ => 0,
        };
        let end = skip.saturating_add(limit);
        let more = end < out.len();
        let items: Vec<Article> = out.into_iter().skip(skip).take(limit).collect();
        Ok(Listing {
            items,
            next: more.then_some(ArticleCursor::Rank(end)),
        })
    }
}
