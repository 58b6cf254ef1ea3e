use super::*;

use crate::ids::NotificationId;
use crate::notify::NotificationKind;

/// Launches a campaign of a new published policy in `org` to `users`,
/// every step by `actor` (an MSP admin acting in its client).
async fn campaign_in(f: &ComplianceFixture, actor: &Principal, org: OrgId, users: &[Principal]) {
    let r = f.r();
    let policy = r
        .create_policy(
            actor,
            org,
            NewPolicy {
                title: "Clean Desk Policy".into(),
                category: "people".into(),
                owner: None,
                controls: BTreeSet::from(["AT-01".to_owned()]),
                body: "# Clean desk\n\nLock your screen.\n".into(),
            },
        )
        .await
        .expect("policy");
    r.submit_policy(actor, org, policy.id)
        .await
        .expect("submitted");
    r.approve_policy(actor, org, policy.id)
        .await
        .expect("approved");
    r.publish_policy(actor, org, policy.id)
        .await
        .expect("published");
    r.launch_campaign(
        actor,
        org,
        policy.id,
        NewCampaign {
            title: None,
            audience: Audience::Users(users.iter().map(|p| p.user).collect()),
            due: at(0) + chrono::Duration::days(14),
            cadence: Default::default(),
        },
    )
    .await
    .expect("launched");
}

/// Erin is an employee of both clients (the operator attaches her account
/// to the second); a campaign in each invites her, and one in the first
/// invites Frank too.
async fn two_org_inbox(f: &ComplianceFixture) -> (Principal, Principal, OrgId) {
    let (policy, [erin, frank]) = published_policy(f).await;
    let second = f.msp.clients[1];
    f.r()
        .add_member(
            &f.msp.operator,
            second,
            "erin@acme.test",
            "Erin",
            Role::Employee,
        )
        .await
        .expect("the operator attaches Erin to the second client");
    f.r()
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            NewCampaign {
                title: None,
                audience: Audience::Roles(BTreeSet::from([Role::Employee])),
                due: at(0) + chrono::Duration::days(14),
                cadence: Default::default(),
            },
        )
        .await
        .expect("launched in the first client");
    f.clock.set(at(60));
    campaign_in(f, &f.msp.admin, second, std::slice::from_ref(&erin)).await;
    (erin, frank, second)
}

fn ids(page: &crate::notify::InboxPage) -> Vec<NotificationId> {
    page.items.iter().map(|i| i.notification.id).collect()
}

pub async fn inbox_lists_a_users_notifications_across_orgs_newest_first(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (erin, frank, second) = two_org_inbox(&f).await;
    let inbox = r.inbox(&erin, None, 50).await.expect("inbox");
    assert_eq!(inbox.items.len(), 2, "one invitation in each org");
    assert_eq!(inbox.unread, 2);
    assert!(!inbox.more);
    assert_eq!(
        inbox
            .items
            .iter()
            .map(|i| i.notification.org)
            .collect::<Vec<_>>(),
        [second, f.org],
        "newest first, across orgs"
    );
    assert!(inbox.items.iter().all(|i| {
        i.notification.recipient == Some(erin.user)
            && i.notification.kind == NotificationKind::CampaignInvitation
            && i.read_at.is_none()
    }));
    // Paged: one at a time, each page after the previous page's last.
    let first = r.inbox(&erin, None, 1).await.expect("page 1");
    assert!(first.more);
    assert_eq!(ids(&first), ids(&inbox)[..1]);
    assert_eq!(first.unread, 2, "the count covers the whole inbox");
    let second_page = r
        .inbox(&erin, Some(ids(&first)[0]), 1)
        .await
        .expect("page 2");
    assert_eq!(ids(&second_page), ids(&inbox)[1..]);
    assert!(!second_page.more);
    // Frank sees his own invitation only.
    let franks = r.inbox(&frank, None, 50).await.expect("frank's inbox");
    assert_eq!(franks.items.len(), 1);
    assert_eq!(franks.items[0].notification.recipient, Some(frank.user));
    assert!(!ids(&inbox).contains(&franks.items[0].notification.id));
    // Someone nobody wrote to has an empty inbox.
    let empty = r.inbox(&f.manager, None, 50).await.expect("empty");
    assert_eq!((empty.items.len(), empty.unread), (0, 0));
}

pub async fn marking_read_is_audited_and_independent_of_delivery(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (erin, frank, _) = two_org_inbox(&f).await;
    let inbox = r.inbox(&erin, None, 50).await.expect("inbox");
    let older = inbox.items[1].notification.clone();
    assert_eq!(older.org, f.org);
    let audit_before = r
        .audit_log(
            &f.manager,
            f.org,
            crate::tenancy::AuditQuery::after(None, 500),
        )
        .await
        .expect("audit")
        .items
        .len();
    f.clock.set(at(120));
    let read = r
        .mark_notification_read(&erin, older.id)
        .await
        .expect("read");
    assert_eq!(read.read_at, Some(at(120)));
    let events = r
        .audit_log(
            &f.manager,
            f.org,
            crate::tenancy::AuditQuery::after(None, 500),
        )
        .await
        .expect("audit")
        .items;
    assert_eq!(
        events.len(),
        audit_before + 1,
        "one event, in the same commit"
    );
    let event = events.last().expect("event");
    assert_eq!(event.action, "notification.read");
    assert_eq!(event.actor.user, Some(erin.user));
    assert_eq!(event.target, Target::new("notification", older.id));
    // Marking again changes nothing.
    f.clock.set(at(180));
    let again = r
        .mark_notification_read(&erin, older.id)
        .await
        .expect("again");
    assert_eq!(again.read_at, Some(at(120)));
    assert_eq!(
        r.audit_log(
            &f.manager,
            f.org,
            crate::tenancy::AuditQuery::after(None, 500)
        )
        .await
        .expect("audit")
        .items
        .len(),
        audit_before + 1
    );
    let after = r.inbox(&erin, None, 50).await.expect("inbox");
    assert_eq!(after.unread, 1);
    assert_eq!(after.items[1].read_at, Some(at(120)));
    // Read is not delivered: the webhook outbox still holds it ...
    let pending = r.pending_notifications(f.org, 100).await.expect("outbox");
    assert!(pending.iter().any(|n| n.id == older.id));
    // ... and delivery does not make anything read (or unread).
    let franks = r.inbox(&frank, None, 50).await.expect("frank");
    let franks_id = franks.items[0].notification.id;
    r.mark_notification_delivered(f.org, franks_id)
        .await
        .expect("delivered");
    r.mark_notification_delivered(f.org, older.id)
        .await
        .expect("delivered");
    let franks = r.inbox(&frank, None, 50).await.expect("frank");
    assert_eq!((franks.unread, franks.items[0].read_at), (1, None));
    let after = r.inbox(&erin, None, 50).await.expect("inbox");
    assert_eq!(after.items[1].read_at, Some(at(120)));
    assert!(after.items[1].notification.delivered_at.is_some());
}

pub async fn another_users_notification_is_not_found(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (erin, frank, _) = two_org_inbox(&f).await;
    let erins = r.inbox(&erin, None, 50).await.expect("inbox");
    let target = erins.items[1].notification.id;
    // Frank (same org), the org's manager, the MSP admin who reaches the
    // org, another MSP's admin and the platform operator: none can mark
    // Erin's notification, and none sees it.
    let other = msp_in(f.r().clone(), f.msp.operator.clone(), "Southwind IT").await;
    for who in [
        &frank,
        &f.manager,
        &f.msp.admin,
        &other.admin,
        &f.msp.operator,
    ] {
        expect_not_found(
            r.mark_notification_read(who, target).await,
            "another user's",
        );
        let theirs = r.inbox(who, None, 50).await.expect("inbox");
        assert!(!ids(&theirs).contains(&target));
    }
    expect_not_found(
        r.mark_notification_read(&erin, NotificationId(Uuid::now_v7()))
            .await,
        "an unknown id",
    );
    assert_eq!(
        r.mark_all_notifications_read(&frank).await.expect("frank"),
        1,
        "Frank's read-all marks his own only"
    );
    let erins = r.inbox(&erin, None, 50).await.expect("inbox");
    assert_eq!(erins.unread, 2, "Erin's are untouched");
}

pub async fn a_removed_member_no_longer_sees_the_orgs_notifications(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (erin, _, second) = two_org_inbox(&f).await;
    let before = r.inbox(&erin, None, 50).await.expect("inbox");
    let in_first = before.items[1].notification.id;
    r.remove_member(&f.msp.admin, f.org, erin.user)
        .await
        .expect("removed");
    let after = r.inbox(&erin, None, 50).await.expect("inbox");
    assert_eq!(
        after
            .items
            .iter()
            .map(|i| i.notification.org)
            .collect::<Vec<_>>(),
        [second]
    );
    assert_eq!(after.unread, 1);
    expect_not_found(
        r.mark_notification_read(&erin, in_first).await,
        "in an org she left",
    );
    assert_eq!(r.mark_all_notifications_read(&erin).await.expect("all"), 1);
    // The record stays in the org's outbox, unread.
    assert!(
        r.pending_notifications(f.org, 100)
            .await
            .expect("outbox")
            .iter()
            .any(|n| n.id == in_first)
    );
}

pub async fn read_all_marks_every_org_with_one_event_each(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (erin, _, second) = two_org_inbox(&f).await;
    let first_id = r.inbox(&erin, None, 50).await.expect("inbox").items[0]
        .notification
        .id;
    r.mark_notification_read(&erin, first_id)
        .await
        .expect("read one");
    assert_eq!(
        r.mark_all_notifications_read(&erin).await.expect("all"),
        1,
        "only the unread one"
    );
    let inbox = r.inbox(&erin, None, 50).await.expect("inbox");
    assert_eq!(inbox.unread, 0);
    assert!(inbox.items.iter().all(|i| i.read_at.is_some()));
    assert_eq!(
        r.mark_all_notifications_read(&erin).await.expect("again"),
        0
    );
    for org in [f.org, second] {
        let events = r
            .audit_log(
                &f.msp.admin,
                org,
                crate::tenancy::AuditQuery::after(None, 500),
            )
            .await
            .expect("audit")
            .items;
        let reads = events
            .iter()
            .filter(|e| e.action.starts_with("notification.read"))
            .count();
        assert_eq!(reads, 1, "one read event in each org");
    }
}

/// The technician an SLA escalation notifies sees the warning in their
/// inbox (in the client's org, where they are assigned); the requester does
/// not; unassigned from the client, the technician no longer sees it.
pub async fn a_technician_sees_the_sla_warning_addressed_to_them(store: Arc<dyn Store>) {
    let f = psa_fixture(
        store,
        vec![EscalationRule {
            clock: ClockKind::Response,
            trigger: Trigger::AtBreach,
            action: Action::NotifyRole {
                role: Role::Technician,
            },
        }],
    )
    .await;
    let r = f.c.r();
    let utc = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    };
    // Monday 2025-06-16 09:00 EDT; a critical ticket's response is due in 30 min.
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    let ticket = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            NewTicket {
                subject: "Server down".into(),
                description: "It broke.".into(),
                priority: Priority::Critical,
                requester: None,
            },
        )
        .await
        .expect("ticket");
    assert_eq!(r.inbox(&f.tech, None, 50).await.expect("inbox").unread, 0);
    f.c.clock.set(utc("2025-06-16T13:30:00Z"));
    let fired = r.run_escalations(f.c.org).await.expect("sweep");
    assert_eq!(fired.len(), 1);
    let inbox = r.inbox(&f.tech, None, 50).await.expect("inbox");
    assert_eq!(inbox.unread, 1);
    let warning = &inbox.items[0].notification;
    assert_eq!(
        warning.kind,
        NotificationKind::SlaBreach,
        "an at-breach escalation tells of the breach"
    );
    assert_eq!(warning.org, f.c.org);
    assert_eq!(warning.recipient, Some(f.tech.user));
    assert!(warning.payload.to_string().contains(&ticket.id.to_string()));
    let requester = r.inbox(&f.requesters[0], None, 50).await.expect("inbox");
    assert!(
        requester
            .items
            .iter()
            .all(|i| i.notification.kind != NotificationKind::SlaBreach)
    );
    // Unassigned from the client, the technician no longer reaches it.
    r.unassign_staff(&f.c.msp.admin, f.c.msp.msp, f.c.org, f.tech.user)
        .await
        .expect("unassigned");
    let after = r.inbox(&f.tech, None, 50).await.expect("inbox");
    assert_eq!((after.items.len(), after.unread), (0, 0));
    expect_not_found(
        r.mark_notification_read(&f.tech, warning.id).await,
        "in a client the technician left",
    );
}

/// Concurrent marks of one notification all succeed, agree on when it was
/// read, and leave one audit event.
pub async fn concurrent_marks_read_record_one_event(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (erin, _, _) = two_org_inbox(&f).await;
    let target = r.inbox(&erin, None, 50).await.expect("inbox").items[1]
        .notification
        .id;
    let before = r
        .audit_log(
            &f.manager,
            f.org,
            crate::tenancy::AuditQuery::after(None, 500),
        )
        .await
        .expect("audit")
        .items
        .len();
    let marks = join_all((0..4).map(|_| r.mark_notification_read(&erin, target))).await;
    let times: BTreeSet<_> = marks
        .into_iter()
        .map(|m| m.expect("every mark succeeds").read_at)
        .collect();
    assert_eq!(times.len(), 1, "one read time: {times:?}");
    let events = r
        .audit_log(
            &f.manager,
            f.org,
            crate::tenancy::AuditQuery::after(None, 500),
        )
        .await
        .expect("audit")
        .items;
    assert_eq!(events.len(), before + 1);
}
