//! The knowledge base as staff keep it: edits, publishing, taking back to
//! draft, deleting, and the staff's list by status.

use super::*;
use crate::ids::ArticleId;
use crate::psa::records::{Article, ArticleCounts, ArticleStatus, ArticleUpdate};
use crate::store::{ChangeSet, Entity, Mutation, ScanRequest};

/// Every page of the staff's list of `status`, followed to the end.
async fn walk_articles(
    r: &Regentra,
    who: &Principal,
    org: OrgId,
    status: ArticleStatus,
    limit: usize,
) -> Vec<ArticleId> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .staff_articles(who, org, status, ScanRequest::after(after, limit))
            .await
            .expect("the staff list reads");
        assert!(page.items.len() <= limit);
        seen.extend(page.items.iter().map(|a| a.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return seen,
        }
    }
}

/// The titles a search finds for `who` (staff see every article).
async fn found(r: &Regentra, who: &Principal, org: OrgId, q: &str) -> Vec<String> {
    r.search_articles(who, org, q, None, 50)
        .await
        .expect("search")
        .items
        .into_iter()
        .map(|a| a.title)
        .collect()
}

async fn kb_actions(r: &Regentra, org: OrgId) -> Vec<String> {
    store::audit_chain(r.store(), org)
        .await
        .expect("chain")
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("kb."))
        .collect()
}

pub async fn staff_edit_publish_unpublish_and_delete_articles(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (org, erin) = (f.c.org, &f.requesters[0]);
    let t0 = utc("2025-06-16T13:00:00Z");
    f.c.clock.set(t0);
    let draft = r
        .add_article(
            &f.tech,
            org,
            NewArticle {
                title: "Printer setup".into(),
                body: "Plug it in.".into(),
                tags: BTreeSet::new(),
                visibility: Visibility::Internal,
                published: false,
            },
        )
        .await
        .expect("draft");
    f.c.clock.set(t0 + chrono::Duration::minutes(1));
    let other = r
        .add_article(
            &f.tech,
            org,
            NewArticle {
                title: "VPN basics".into(),
                body: "Connect first.".into(),
                tags: BTreeSet::new(),
                visibility: Visibility::Portal,
                published: true,
            },
        )
        .await
        .expect("published");
    assert_eq!(
        walk_articles(r, &f.tech, org, ArticleStatus::Draft, 1).await,
        [draft.id]
    );
    assert_eq!(
        walk_articles(r, &f.tech, org, ArticleStatus::Published, 1).await,
        [other.id]
    );
    assert_eq!(
        walk_articles(r, &f.tech, org, ArticleStatus::Any, 1).await,
        [other.id, draft.id],
        "newest update first, a page at a time"
    );
    assert_eq!(
        r.article_counts(&f.tech, org).await.expect("counts"),
        ArticleCounts {
            drafts: 1,
            published: 1
        }
    );

    // An edit changes what it names; search follows in the same commit.
    f.c.clock.set(t0 + chrono::Duration::minutes(2));
    let edited = r
        .update_article(
            &f.tech,
            org,
            draft.id,
            ArticleUpdate {
                title: Some("  Label printer setup ".into()),
                body: Some("Load the labels, then plug it in.".into()),
                tags: Some(BTreeSet::from([" Printers ".to_owned()])),
                visibility: Some(Visibility::Portal),
            },
        )
        .await
        .expect("edited");
    assert_eq!(edited.title, "Label printer setup");
    assert_eq!(edited.tags, BTreeSet::from(["printers".to_owned()]));
    assert_eq!(edited.visibility, Visibility::Portal);
    assert!(!edited.published, "an edit leaves publishing alone");
    assert_eq!(edited.updated_at, t0 + chrono::Duration::minutes(2));
    assert_eq!(
        found(r, &f.tech, org, "labels").await,
        ["Label printer setup"]
    );
    assert!(
        found(r, &f.tech, org, "plug")
            .await
            .contains(&"Label printer setup".to_owned())
    );
    assert_eq!(
        walk_articles(r, &f.tech, org, ArticleStatus::Any, 5).await,
        [draft.id, other.id],
        "the edit made it the newest"
    );
    // Still a draft: the portal does not show it.
    expect_not_found(r.article(erin, org, draft.id).await, "a draft");
    let events = kb_actions(r, org).await.len();
    let same = r
        .update_article(
            &f.tech,
            org,
            draft.id,
            ArticleUpdate {
                title: Some("Label printer setup".into()),
                ..ArticleUpdate::default()
            },
        )
        .await
        .expect("nothing to change");
    assert_eq!(same, edited);
    assert_eq!(kb_actions(r, org).await.len(), events, "nothing written");
    expect_invalid(
        r.update_article(
            &f.tech,
            org,
            draft.id,
            ArticleUpdate {
                title: Some("   ".into()),
                ..ArticleUpdate::default()
            },
        )
        .await,
        "title",
    );
    expect_invalid(
        r.update_article(
            &f.tech,
            org,
            draft.id,
            ArticleUpdate {
                body: Some(" \n ".into()),
                ..ArticleUpdate::default()
            },
        )
        .await,
        "body",
    );

    // Published, the portal shows it; published again, nothing moves.
    let published = r
        .publish_article(&f.tech, org, draft.id)
        .await
        .expect("published");
    assert!(published.published);
    assert_eq!(
        r.article(erin, org, draft.id).await.expect("on the portal"),
        published
    );
    assert_eq!(
        r.publish_article(&f.tech, org, draft.id)
            .await
            .expect("again"),
        published
    );
    assert!(
        walk_articles(r, &f.tech, org, ArticleStatus::Draft, 5)
            .await
            .is_empty()
    );
    // Back to draft: gone from the portal and its searches at once.
    r.unpublish_article(&f.tech, org, draft.id)
        .await
        .expect("unpublished");
    expect_not_found(r.article(erin, org, draft.id).await, "back to draft");
    assert!(found(r, erin, org, "labels").await.is_empty());
    assert_eq!(
        walk_articles(r, &f.tech, org, ArticleStatus::Draft, 5).await,
        [draft.id]
    );

    // Deleted: gone everywhere, for staff too.
    r.rate_article(erin, org, other.id, true)
        .await
        .expect("a vote");
    r.delete_article(&f.tech, org, other.id)
        .await
        .expect("deleted");
    expect_not_found(r.article(&f.tech, org, other.id).await, "deleted");
    assert!(found(r, &f.tech, org, "vpn").await.is_empty());
    assert!(found(r, erin, org, "").await.is_empty());
    assert!(
        r.portal_articles_by_usefulness(erin, org, None, 10)
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert_eq!(
        walk_articles(r, &f.tech, org, ArticleStatus::Any, 5).await,
        [draft.id]
    );
    expect_not_found(r.delete_article(&f.tech, org, other.id).await, "twice");
    assert_eq!(
        r.article_counts(&f.tech, org).await.expect("counts"),
        ArticleCounts {
            drafts: 1,
            published: 0
        },
        "the deleted one counts no more, the one back in draft counts as a draft"
    );
    expect_not_found(
        r.rate_article(erin, org, other.id, false).await,
        "a vote on a deleted article",
    );
    assert_eq!(
        kb_actions(r, org).await,
        [
            "kb.article_added",
            "kb.article_added",
            "kb.article_updated",
            "kb.article_published",
            "kb.article_unpublished",
            "kb.article_rated",
            "kb.article_deleted",
        ]
    );
    let chain = store::audit_chain(r.store(), org).await.expect("chain");
    let updated = chain
        .iter()
        .find(|e| e.action == "kb.article_updated")
        .expect("the edit's event");
    assert_eq!(
        updated.details["changed"],
        json!(["title", "body", "tags", "visibility"])
    );

    // Who may: staff only; another tenant's article is not found.
    expect_denied(
        r.update_article(&f.c.manager, org, draft.id, ArticleUpdate::default())
            .await,
        "a compliance manager edits",
    );
    expect_denied(
        r.publish_article(erin, org, draft.id).await,
        "an employee publishes",
    );
    expect_denied(
        r.delete_article(&f.c.officer, org, draft.id).await,
        "an officer deletes",
    );
    expect_denied(
        r.staff_articles(erin, org, ArticleStatus::Any, ScanRequest::first(10))
            .await,
        "an employee lists drafts",
    );
    expect_denied(
        r.article_counts(erin, org).await,
        "an employee counts drafts",
    );
    let other_client = f.c.clients_other();
    let elsewhere = member(&f.c.msp, other_client, "tess@bolt.test", Role::Technician).await;
    expect_not_found(
        r.publish_article(&elsewhere, other_client, draft.id).await,
        "the article's id in another org",
    );
    expect_not_found(
        r.delete_article(&elsewhere, other_client, draft.id).await,
        "the article's id in another org",
    );
    let southwind = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.update_article(
            &southwind.admin,
            org,
            draft.id,
            ArticleUpdate {
                title: Some("Mine now".into()),
                ..ArticleUpdate::default()
            },
        )
        .await,
        "another MSP's client",
    );
    expect_not_found(
        r.staff_articles(
            &southwind.admin,
            org,
            ArticleStatus::Any,
            ScanRequest::first(5),
        )
        .await,
        "another MSP's client",
    );
    expect_not_found(
        r.article_counts(&southwind.admin, org).await,
        "another MSP's client",
    );
    assert_eq!(
        r.article(&f.tech, org, draft.id)
            .await
            .expect("unchanged")
            .title,
        "Label printer setup"
    );
}

pub async fn articles_written_before_the_status_index_are_backfilled_once(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let scope = Scope::Org(f.c.org);
    let article = r
        .add_article(
            &f.tech,
            f.c.org,
            NewArticle {
                title: "Old draft".into(),
                body: "Written long ago.".into(),
                tags: BTreeSet::new(),
                visibility: Visibility::Internal,
                published: false,
            },
        )
        .await
        .expect("article");
    let drafts = || async {
        r.staff_articles(
            &f.tech,
            f.c.org,
            ArticleStatus::Draft,
            ScanRequest::first(10),
        )
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|a| a.id)
        .collect::<Vec<_>>()
    };
    assert_eq!(drafts().await, [article.id], "a new article has its entry");
    // Written the old way: without the entry, the list misses it.
    let stored = store::require::<Article>(r.store(), scope, article.id.0)
        .await
        .expect("article");
    let mut changes = ChangeSet::new();
    changes.mutations.push(Mutation::Update {
        scope,
        kind: Article::KIND,
        id: article.id.0,
        expected_version: stored.version,
        body: serde_json::to_value(&stored.value).expect("body"),
        indexes: Entity::indexes(&stored.value)
            .into_iter()
            .filter(|e| e.name != "status_updated")
            .collect(),
    });
    r.store().apply(changes).await.expect("written the old way");
    assert!(drafts().await.is_empty(), "not found by the index");

    assert_eq!(
        r.backfill_article_status_index().await.expect("backfill"),
        None,
        "recorded as done at bootstrap"
    );
    let done = store::require::<crate::maintenance::Maintenance>(
        r.store(),
        Scope::Platform,
        crate::maintenance::ARTICLE_STATUS_INDEX_ID,
    )
    .await
    .expect("recorded at bootstrap");
    let mut forget = ChangeSet::new();
    forget.delete(&done);
    r.store().apply(forget).await.expect("as an older platform");
    let rewritten = r.backfill_article_status_index().await.expect("backfill");
    assert!(rewritten.is_some_and(|n| n >= 1), "{rewritten:?}");
    assert_eq!(drafts().await, [article.id], "found after the backfill");
    assert_eq!(
        r.backfill_article_status_index().await.expect("backfill"),
        None,
        "done once per store"
    );
}
