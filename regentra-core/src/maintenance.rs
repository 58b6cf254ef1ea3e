//! One-time maintenance the host runs at start: records written before an
//! index existed are rewritten so that the index finds them. Each piece of
//! maintenance is recorded as done (a platform record), so it runs once per
//! store, not once per start; every rewrite commits with its audit event,
//! like any other system operation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Actor, Target};
use crate::compliance::Evidence;
use crate::compliance::features::Agreement;
use crate::error::{Error, Result};
use crate::mail::OutgoingEmail;
use crate::notify::Notification;
use crate::policies::Acknowledgment;
use crate::psa::chat::ChatSession;
use crate::psa::records::{Article, TimeEntry};
use crate::psa::ticket::Ticket;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, PageRequest, Scope};

/// A piece of maintenance done on this store (a platform record, one per
/// piece, its id fixed by the piece).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Maintenance {
    pub id: Uuid,
    pub name: String,
    pub done_at: DateTime<Utc>,
    /// Records rewritten.
    pub rewritten: usize,
}

impl Entity for Maintenance {
    const KIND: &'static str = "maintenance";
    const NAME: &'static str = "maintenance";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        Vec::new()
    }
}

/// The indexes the lists and the worker walk: every ticket's queue entries
/// and `next_escalation`, outbox entries' and emails' `next_attempt`, and
/// the ordered entries of evidence (expiry), time entries (date), articles
/// (last update) and agreements (renewal).
pub const DUE_INDEXES: &str = "due-indexes";
pub const DUE_INDEXES_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);

/// The portal's most-useful-first order (`portal_useful`) on the
/// knowledge-base articles written before it existed.
pub const PORTAL_USEFUL_INDEX: &str = "portal-useful-index";
pub const PORTAL_USEFUL_INDEX_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0002);

/// The indexes an MSP's overview counts (`Regentra::msp_overview`):
/// tickets' `sla_breach` and signed acknowledgments' `signed`.
pub const OVERVIEW_INDEXES: &str = "overview-indexes";
pub const OVERVIEW_INDEXES_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0003);

/// The service desk's chat lists (`activity`, `status_activity`) on the
/// chats started before they existed.
pub const CHAT_ACTIVITY_INDEX: &str = "chat-activity-index";
pub const CHAT_ACTIVITY_INDEX_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0004);

/// The staff's list of articles by status (`status_updated`) on the
/// articles written before it existed.
pub const ARTICLE_STATUS_INDEX: &str = "article-status-index";
pub const ARTICLE_STATUS_INDEX_ID: Uuid =
    Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0005);

/// The maintenance a platform bootstrapped by this version never needs (its
/// records carry every index from the start), recorded as done with the
/// bootstrap.
pub(crate) fn done_at_bootstrap(at: DateTime<Utc>) -> Vec<Maintenance> {
    [
        (DUE_INDEXES_ID, DUE_INDEXES),
        (PORTAL_USEFUL_INDEX_ID, PORTAL_USEFUL_INDEX),
        (OVERVIEW_INDEXES_ID, OVERVIEW_INDEXES),
        (CHAT_ACTIVITY_INDEX_ID, CHAT_ACTIVITY_INDEX),
        (ARTICLE_STATUS_INDEX_ID, ARTICLE_STATUS_INDEX),
    ]
    .into_iter()
    .map(|(id, name)| Maintenance {
        id,
        name: name.to_owned(),
        done_at: at,
        rewritten: 0,
    })
    .collect()
}

/// Records rewritten per commit.
const BATCH: usize = 200;
/// How often a batch that met a concurrent write is read and tried again.
const RETRIES: usize = 5;

impl Regentra {
    /// Gives the records written before the list and due-time indexes
    /// existed their entries: every ticket (queues, `next_escalation`),
    /// evidence, time entry, article and agreement, every undelivered
    /// outbox entry and every pending email (`next_attempt`) is rewritten
    /// as it is, so its indexes are computed again, in commits of at most
    /// 200 records, each with a `maintenance.reindexed` event in the org's
    /// chain (the platform's for emails). Done once per store: the last
    /// commit records it (`maintenance.completed` in the platform chain)
    /// and later calls return at once. A system operation the host runs at
    /// start, before its sweeps; returns how many records it rewrote
    /// (`None` when it had been done before).
    pub async fn backfill_due_indexes(&self) -> Result<Option<usize>> {
        if store::load::<Maintenance>(self.store(), Scope::Platform, DUE_INDEXES_ID)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let mut rewritten = 0;
        let mut after = None;
        loop {
            let orgs = self
                .organization_ids(PageRequest::after(after, store::MAX_PAGE))
                .await?;
            for &org in &orgs {
                let scope = Scope::Org(org);
                rewritten += self.reindex::<Ticket>(DUE_INDEXES, scope, None).await?;
                rewritten += self.reindex::<Evidence>(DUE_INDEXES, scope, None).await?;
                rewritten += self.reindex::<TimeEntry>(DUE_INDEXES, scope, None).await?;
                rewritten += self.reindex::<Article>(DUE_INDEXES, scope, None).await?;
                rewritten += self.reindex::<Agreement>(DUE_INDEXES, scope, None).await?;
                rewritten += self
                    .reindex::<Notification>(DUE_INDEXES, scope, Some(("delivered", "no")))
                    .await?;
            }
            match orgs.last() {
                Some(last) if orgs.len() == store::MAX_PAGE => after = Some(last.0),
                _ => break,
            }
        }
        rewritten += self
            .reindex::<OutgoingEmail>(DUE_INDEXES, Scope::Platform, Some(("state", "pending")))
            .await?;
        self.record_done(DUE_INDEXES_ID, DUE_INDEXES, rewritten)
            .await
    }

    /// Gives the knowledge-base articles written before the portal's
    /// most-useful-first order existed their `portal_useful` entry: every
    /// article of every org is rewritten as it is, as
    /// [`Self::backfill_due_indexes`] does (batches, events, once per
    /// store; `None` when it had been done before).
    pub async fn backfill_portal_useful_index(&self) -> Result<Option<usize>> {
        self.reindex_everywhere::<Article>(PORTAL_USEFUL_INDEX_ID, PORTAL_USEFUL_INDEX)
            .await
    }

    /// Gives the chats started before the service desk's chat lists
    /// existed their `activity` entries (their start as their last
    /// activity, until their next message): every chat session of every
    /// org is rewritten as it is, as [`Self::backfill_due_indexes`] does
    /// (batches, events, once per store; `None` when it had been done
    /// before).
    pub async fn backfill_chat_activity_index(&self) -> Result<Option<usize>> {
        self.reindex_everywhere::<ChatSession>(CHAT_ACTIVITY_INDEX_ID, CHAT_ACTIVITY_INDEX)
            .await
    }

    /// Gives the articles written before the staff's list by status
    /// existed their `status_updated` entry, as
    /// [`Self::backfill_portal_useful_index`] does.
    pub async fn backfill_article_status_index(&self) -> Result<Option<usize>> {
        self.reindex_everywhere::<Article>(ARTICLE_STATUS_INDEX_ID, ARTICLE_STATUS_INDEX)
            .await
    }

    /// Rewrites every record of kind `E` in every org, once per store: the
    /// piece `name` (recorded as done under `id`).
    async fn reindex_everywhere<E: Entity>(&self, id: Uuid, name: &str) -> Result<Option<usize>> {
        if store::load::<Maintenance>(self.store(), Scope::Platform, id)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let mut rewritten = 0;
        let mut after = None;
        loop {
            let orgs = self
                .organization_ids(PageRequest::after(after, store::MAX_PAGE))
                .await?;
            for &org in &orgs {
                rewritten += self.reindex::<E>(name, Scope::Org(org), None).await?;
            }
            match orgs.last() {
                Some(last) if orgs.len() == store::MAX_PAGE => after = Some(last.0),
                _ => break,
            }
        }
        self.record_done(id, name, rewritten).await
    }

    /// Gives the records written before the overview's counts existed
    /// their entries: every ticket (`sla_breach`: when its clocks breached
    /// or will) and every acknowledgment (`signed`) of every org is
    /// rewritten as it is, as [`Self::backfill_due_indexes`] does (batches,
    /// events, once per store; `None` when it had been done before). A
    /// breach that was recorded before its time was kept stays out of the
    /// counts: its time is not known.
    pub async fn backfill_overview_indexes(&self) -> Result<Option<usize>> {
        if store::load::<Maintenance>(self.store(), Scope::Platform, OVERVIEW_INDEXES_ID)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let mut rewritten = 0;
        let mut after = None;
        loop {
            let orgs = self
                .organization_ids(PageRequest::after(after, store::MAX_PAGE))
                .await?;
            for &org in &orgs {
                let scope = Scope::Org(org);
                rewritten += self
                    .reindex::<Ticket>(OVERVIEW_INDEXES, scope, None)
                    .await?;
                rewritten += self
                    .reindex::<Acknowledgment>(OVERVIEW_INDEXES, scope, None)
                    .await?;
            }
            match orgs.last() {
                Some(last) if orgs.len() == store::MAX_PAGE => after = Some(last.0),
                _ => break,
            }
        }
        self.record_done(OVERVIEW_INDEXES_ID, OVERVIEW_INDEXES, rewritten)
            .await
    }

    /// Records a piece of maintenance as done, with its
    /// `maintenance.completed` event in the platform chain.
    async fn record_done(&self, id: Uuid, name: &str, rewritten: usize) -> Result<Option<usize>> {
        let done = Maintenance {
            id,
            name: name.to_owned(),
            done_at: self.now(),
            rewritten,
        };
        let mut changes = ChangeSet::new();
        changes.insert(&done)?;
        changes.audit(self.platform_event(
            None,
            "maintenance.completed",
            Target::new(Maintenance::KIND, name),
            json!({ "rewritten": rewritten }),
        ));
        match self.store().apply(changes).await {
            // Another process finished it first: the records are indexed.
            Ok(_) | Err(Error::AlreadyExists { .. }) => Ok(Some(rewritten)),
            Err(e) => Err(e),
        }
    }

    /// Rewrites every record of kind `E` in `scope` (those holding `index =
    /// value` when given), a batch per commit. A batch that meets a
    /// concurrent write is read again: the writer computed the indexes
    /// itself, the rest still needs it.
    async fn reindex<E: Entity>(
        &self,
        piece: &str,
        scope: Scope,
        holding: Option<(&str, &str)>,
    ) -> Result<usize> {
        let mut rewritten = 0;
        let mut after = None;
        loop {
            let mut tries = 0;
            let page = loop {
                let page = match holding {
                    Some((index, value)) => {
                        store::find::<E>(
                            self.store(),
                            scope,
                            index,
                            value,
                            PageRequest::after(after, BATCH),
                        )
                        .await?
                    }
                    None => {
                        store::list::<E>(self.store(), scope, PageRequest::after(after, BATCH))
                            .await?
                    }
                };
                if page.is_empty() {
                    return Ok(rewritten);
                }
                let mut changes = ChangeSet::new();
                for record in &page {
                    changes.update(record)?;
                }
                let details = json!({ "kind": E::KIND, "count": page.len() });
                let target = Target::new(Maintenance::KIND, piece);
                changes.audit(match scope {
                    Scope::Org(org) => self.event_in(
                        org,
                        Actor::system(),
                        &Principal::system(),
                        "maintenance.reindexed",
                        target,
                        details,
                    ),
                    Scope::Platform => {
                        self.platform_event(None, "maintenance.reindexed", target, details)
                    }
                });
                match self.store().apply(changes).await {
                    Ok(_) => break page,
                    Err(Error::Conflict { .. } | Error::NotFound { .. }) if tries < RETRIES => {
                        tries += 1;
                    }
                    Err(e) => return Err(e),
                }
            };
            rewritten += page.len();
            if page.len() < BATCH {
                return Ok(rewritten);
            }
            after = page.last().map(|r| r.value.id());
        }
    }
}
