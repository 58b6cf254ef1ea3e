//! The service desk's side of chats: an org's chats and those of every org
//! the caller answers chats in, newest activity first, and who hears of a
//! new chat.

use super::*;
use crate::ids::ChatId;
use crate::notify::NotificationKind;
use crate::psa::chat::{ChatFilter, ChatSession};
use crate::store::{ChangeSet, Entity, Mutation, ScanRequest};

/// Every page of an org's chat list, followed to the end with its cursors.
async fn walk_chats(
    r: &Regentra,
    who: &Principal,
    org: OrgId,
    filter: ChatFilter,
    limit: usize,
) -> Vec<ChatId> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .chat_queue(who, org, filter, ScanRequest::after(after, limit))
            .await
            .expect("the chat list reads");
        assert!(page.items.len() <= limit);
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return seen,
        }
    }
}

/// Every page of the list across orgs.
async fn walk_all_chats(
    r: &Regentra,
    who: &Principal,
    filter: ChatFilter,
    limit: usize,
) -> Vec<ChatId> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .my_chat_queue(who, filter, ScanRequest::after(after, limit))
            .await
            .expect("the chat list reads");
        assert!(page.items.len() <= limit);
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return seen,
        }
    }
}

pub async fn the_service_desk_lists_an_orgs_chats_newest_activity_first(store: Arc<dyn Store>) {
    let counting = Arc::new(crate::testing::counting::CountingStore::new(store));
    let f = psa_fixture(counting.clone(), Vec::new()).await;
    let r = f.c.r();
    let (org, erin, frank) = (f.c.org, &f.requesters[0], &f.requesters[1]);
    let t0 = utc("2025-06-16T13:00:00Z");
    let minutes = |n: i64| t0 + chrono::Duration::minutes(n);
    f.c.clock.set(t0);
    let a = r.start_chat(erin, org, "Printer jam").await.expect("chat");
    f.c.clock.set(minutes(1));
    let b = r.start_chat(frank, org, "VPN down").await.expect("chat");
    assert_eq!(a.requester_name, "erin@acme.test", "who asked, as written");
    assert_eq!(a.last_activity(), t0);
    assert_eq!(
        walk_chats(r, &f.tech, org, ChatFilter::Any, 10).await,
        [b.id, a.id],
        "the newest chat first"
    );
    // A message is activity: Erin's chat moves up.
    f.c.clock.set(minutes(2));
    r.post_chat_message(erin, org, a.id, "Still jammed")
        .await
        .expect("message");
    assert_eq!(
        walk_chats(r, &f.tech, org, ChatFilter::Any, 10).await,
        [a.id, b.id]
    );
    // So is closing: Frank's chat, closed, is the newest.
    f.c.clock.set(minutes(3));
    r.close_chat(&f.tech, org, b.id).await.expect("closed");
    assert_eq!(
        walk_chats(r, &f.tech, org, ChatFilter::Any, 1).await,
        [b.id, a.id],
        "pages of one, in order, each once"
    );
    assert_eq!(
        walk_chats(r, &f.tech, org, ChatFilter::Open, 1).await,
        [a.id]
    );
    assert_eq!(
        walk_chats(r, &f.tech, org, ChatFilter::Closed, 1).await,
        [b.id]
    );
    // A third chat, answered by staff: the answer is its last activity.
    f.c.clock.set(minutes(4));
    let c = r
        .start_chat(&f.c.manager, org, "New starter laptop")
        .await
        .expect("chat");
    f.c.clock.set(minutes(5));
    r.post_chat_message(&f.tech, org, a.id, "On my way")
        .await
        .expect("staff answer");
    let open = r
        .chat_queue(&f.tech, org, ChatFilter::Open, ScanRequest::first(10))
        .await
        .expect("list");
    assert_eq!(
        open.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [a.id, c.id]
    );
    assert_eq!(
        open.items[0].staff,
        Some(f.tech.user),
        "the technician joined"
    );
    assert_eq!(open.items[0].last_activity(), minutes(5));
    assert!(open.next.is_none(), "the last page has no cursor");

    // A page reads about a page, not the org's chats.
    counting.reset();
    let page = r
        .chat_queue(&f.tech, org, ChatFilter::Any, ScanRequest::first(1))
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    assert!(
        counting.returned(ChatSession::KIND) <= 2,
        "a page of one read {} chats of 3",
        counting.returned(ChatSession::KIND)
    );

    // The desk's list is for those who answer chats; another tenant's is
    // not found.
    expect_denied(
        r.chat_queue(erin, org, ChatFilter::Any, ScanRequest::first(10))
            .await,
        "an employee lists the desk's chats",
    );
    expect_denied(
        r.chat_queue(&f.c.manager, org, ChatFilter::Any, ScanRequest::first(10))
            .await,
        "a compliance manager lists the desk's chats",
    );
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.chat_queue(&other.admin, org, ChatFilter::Any, ScanRequest::first(10))
            .await,
        "another MSP's client",
    );
    // A message landing after a close is refused, and moves nothing.
    f.c.clock.set(minutes(9));
    expect_invalid(
        r.post_chat_message(frank, org, b.id, "Hello?").await,
        "chat",
    );
    assert_eq!(
        walk_chats(r, &f.tech, org, ChatFilter::Any, 10).await,
        [a.id, c.id, b.id]
    );
}

pub async fn the_cross_org_chat_list_merges_the_orgs_where_the_caller_answers_chats(
    store: Arc<dyn Store>,
) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (one, two) = (f.c.org, f.c.clients_other());
    let gail = member(&f.c.msp, two, "gail@bolt.test", Role::Employee).await;
    let t0 = utc("2025-06-16T13:00:00Z");
    let mut made = Vec::new();
    for (i, (who, org)) in [
        (&f.requesters[0], one),
        (&gail, two),
        (&f.requesters[1], one),
    ]
    .into_iter()
    .enumerate()
    {
        f.c.clock.set(t0 + chrono::Duration::minutes(i as i64));
        made.push(
            r.start_chat(who, org, &format!("Help {i}"))
                .await
                .expect("chat"),
        );
    }
    // Another MSP's chat never shows.
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    let theirs = member(&other, other.clients[0], "sam@south.test", Role::Employee).await;
    r.start_chat(&theirs, other.clients[0], "Theirs")
        .await
        .expect("their chat");
    let newest_first = |keep: &dyn Fn(&ChatSession) -> bool| {
        made.iter()
            .rev()
            .filter(|c| keep(c))
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        walk_all_chats(r, &f.c.msp.admin, ChatFilter::Any, 1).await,
        newest_first(&|_| true),
        "the MSP admin: both clients, merged newest first, a page at a time"
    );
    assert_eq!(
        walk_all_chats(r, &f.tech, ChatFilter::Any, 2).await,
        newest_first(&|c| c.org == one),
        "a technician assigned to one client answers that client's chats"
    );
    assert!(
        walk_all_chats(r, &f.requesters[0], ChatFilter::Any, 10)
            .await
            .is_empty(),
        "an employee answers no chats"
    );
    // Closing one moves it to the top of the closed ones, off the open.
    f.c.clock.set(t0 + chrono::Duration::minutes(10));
    r.close_chat(&f.c.msp.admin, one, made[0].id)
        .await
        .expect("closed");
    assert_eq!(
        walk_all_chats(r, &f.c.msp.admin, ChatFilter::Open, 1).await,
        [made[2].id, made[1].id]
    );
    assert_eq!(
        walk_all_chats(r, &f.c.msp.admin, ChatFilter::Closed, 1).await,
        [made[0].id]
    );
    assert_eq!(
        walk_all_chats(r, &f.c.msp.admin, ChatFilter::Any, 3).await,
        [made[0].id, made[2].id, made[1].id]
    );
    // An org requiring a second factor the admin has not set up drops out
    // once their grace is over, as its own list would refuse them.
    r.set_org_security(
        &f.c.msp.admin,
        two,
        crate::tenancy::SecuritySettings {
            session_hours: None,
            mfa_required: true,
            mfa_grace_days: 0,
        },
    )
    .await
    .expect("MFA required");
    assert_eq!(
        walk_all_chats(r, &f.c.msp.admin, ChatFilter::Any, 10).await,
        [made[0].id, made[2].id]
    );
}

/// The `ChatWaiting` notifications in `who`'s inbox.
async fn waiting_chats(r: &Regentra, who: &Principal) -> Vec<serde_json::Value> {
    r.inbox(who, None, 100)
        .await
        .expect("inbox")
        .items
        .into_iter()
        .filter(|i| i.notification.kind == NotificationKind::ChatWaiting)
        .map(|i| i.notification.payload)
        .collect()
}

pub async fn a_new_chat_tells_those_who_answer_the_orgs_chats_once(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    let owner = member(&f.c.msp, org, "owner@acme.test", Role::OrgAdmin).await;
    let viewer = member(&f.c.msp, org, "auditor@acme.test", Role::Viewer).await;
    let erin = &f.requesters[0];
    let chat = r
        .start_chat(erin, org, "My screen is blank")
        .await
        .expect("chat");
    let expected = format!(
        "New chat from erin@acme.test at {}",
        "Acme Dental (Northwind IT)"
    );
    for (who, name) in [
        (&f.tech, "the assigned technician"),
        (&owner, "the org's admin"),
    ] {
        let told = waiting_chats(r, who).await;
        assert_eq!(told.len(), 1, "{name} is told once");
        assert_eq!(told[0]["summary"], expected.as_str(), "{name}");
        assert_eq!(told[0]["chat"], json!(chat.id));
        assert_eq!(told[0]["requester_name"], "erin@acme.test");
    }
    for (who, name) in [
        (&viewer, "a viewer"),
        (&f.c.manager, "a compliance manager"),
        (erin, "the requester"),
        (&f.requesters[1], "another employee"),
    ] {
        assert!(
            waiting_chats(r, who).await.is_empty(),
            "{name} answers no chats"
        );
    }
    // One outbox entry each, in the org.
    let pending = r
        .pending_notifications(org, 100)
        .await
        .expect("outbox")
        .into_iter()
        .filter(|n| n.kind == NotificationKind::ChatWaiting)
        .count();
    assert_eq!(pending, 2);

    // Starting again continues the open chat: nobody is told twice.
    let again = r
        .start_chat(erin, org, "Still blank")
        .await
        .expect("continued");
    assert_eq!(again.id, chat.id);
    assert_eq!(waiting_chats(r, &f.tech).await.len(), 1, "not told again");
    assert_eq!(waiting_chats(r, &owner).await.len(), 1);

    // A new chat once that one is closed is news again.
    r.close_chat(&f.tech, org, chat.id).await.expect("closed");
    let next = r.start_chat(erin, org, "Blank again").await.expect("chat");
    assert_ne!(next.id, chat.id);
    assert_eq!(waiting_chats(r, &f.tech).await.len(), 2);
    // One who answers chats and starts one is not told of their own.
    r.start_chat(&owner, org, "Mine")
        .await
        .expect("owner's chat");
    assert_eq!(waiting_chats(r, &owner).await.len(), 2, "not of their own");
    assert_eq!(waiting_chats(r, &f.tech).await.len(), 3);
    // The MSP's technician assigned to another client hears nothing.
    let elsewhere = member(
        &f.c.msp,
        f.c.msp.msp,
        "tess@northwind.test",
        Role::Technician,
    )
    .await;
    r.assign_staff(
        &f.c.msp.admin,
        f.c.msp.msp,
        f.c.clients_other(),
        elsewhere.user,
        Role::Technician,
    )
    .await
    .expect("assigned elsewhere");
    r.start_chat(&f.requesters[1], org, "Frank here")
        .await
        .expect("chat");
    assert!(waiting_chats(r, &elsewhere).await.is_empty());
}

pub async fn chats_started_before_the_activity_index_are_backfilled_once(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    let scope = Scope::Org(org);
    let chat = r
        .start_chat(&f.requesters[0], org, "Old chat")
        .await
        .expect("chat");
    // Written the old way: no activity, no name, no activity entries.
    let stored = store::require::<ChatSession>(r.store(), scope, chat.id.0)
        .await
        .expect("chat");
    let mut old = serde_json::to_value(&stored.value).expect("body");
    let fields = old.as_object_mut().expect("an object");
    fields.remove("last_activity_at");
    fields.remove("requester_name");
    let mut changes = ChangeSet::new();
    changes.mutations.push(Mutation::Update {
        scope,
        kind: ChatSession::KIND,
        id: chat.id.0,
        expected_version: stored.version,
        body: old,
        indexes: vec![crate::store::IndexEntry::multi(
            "requester",
            f.requesters[0].user.to_string(),
        )],
    });
    r.store().apply(changes).await.expect("written the old way");
    let listed = || async {
        r.chat_queue(&f.tech, org, ChatFilter::Any, ScanRequest::first(10))
            .await
            .expect("list")
            .items
    };
    assert!(listed().await.is_empty(), "not found by the index");

    assert_eq!(
        r.backfill_chat_activity_index().await.expect("backfill"),
        None,
        "recorded as done at bootstrap"
    );
    let done = store::require::<crate::maintenance::Maintenance>(
        r.store(),
        Scope::Platform,
        crate::maintenance::CHAT_ACTIVITY_INDEX_ID,
    )
    .await
    .expect("recorded at bootstrap");
    let mut forget = ChangeSet::new();
    forget.delete(&done);
    r.store().apply(forget).await.expect("as an older platform");

    let rewritten = r.backfill_chat_activity_index().await.expect("backfill");
    assert!(rewritten.is_some_and(|n| n >= 1), "{rewritten:?}");
    let found = listed().await;
    assert_eq!(found.len(), 1, "found after the backfill");
    assert_eq!(found[0].id, chat.id);
    assert_eq!(
        found[0].last_activity(),
        chat.started_at,
        "an old chat's activity is its start"
    );
    assert_eq!(
        r.backfill_chat_activity_index().await.expect("backfill"),
        None,
        "done once per store"
    );
}
