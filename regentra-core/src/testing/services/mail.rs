use super::*;

use crate::ids::EmailId;
use crate::mail::{EmailKind, EmailState, MAX_ATTEMPTS, OutgoingEmail, retry_delay};
use crate::notify::NotificationKind;

/// Every email on the platform, oldest first.
async fn emails(r: &Regentra) -> Vec<OutgoingEmail> {
    store::all::<OutgoingEmail>(r.store(), Scope::Platform)
        .await
        .expect("emails")
        .into_iter()
        .map(|e| e.value)
        .collect()
}

async fn emails_of(r: &Regentra, kind: EmailKind) -> Vec<OutgoingEmail> {
    emails(r)
        .await
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

fn text(e: &OutgoingEmail, field: &str) -> String {
    e.content
        .get(field)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("{:?} email has a `{field}`: {}", e.kind, e.content))
        .to_owned()
}

/// The officer launches `policy` to `people`, due in two weeks.
async fn launch(
    f: &ComplianceFixture,
    policy: crate::ids::PolicyId,
    people: &[&Principal],
) -> crate::policies::Campaign {
    f.r()
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            NewCampaign {
                title: Some("Q3 acknowledgment".into()),
                audience: Audience::Users(people.iter().map(|p| p.user).collect()),
                due: at(0) + chrono::Duration::days(14),
                cadence: Default::default(),
            },
        )
        .await
        .expect("launched")
}

/// Campaign invitations and reminders become emails with names and the
/// signing link; preferences first keep the required kinds on.
pub async fn notifications_from_campaigns_become_emails_unless_turned_off(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let (policy, [erin, frank]) = published_policy(&f).await;
    preferences_keep_invitations_and_resets_on(&f, &erin).await;
    campaign_emails_carry_names_and_the_signing_link(&f, policy, erin, frank).await;
}

async fn campaign_emails_carry_names_and_the_signing_link(
    f: &ComplianceFixture,
    policy: crate::ids::PolicyId,
    erin: Principal,
    frank: Principal,
) {
    let r = f.r();
    // Frank wants no reminders by email (the inbox still has them).
    r.set_email_preferences(&frank, BTreeSet::from([EmailKind::CampaignReminder]))
        .await
        .expect("preferences");
    let campaign = launch(f, policy, &[&erin, &frank]).await;
    let invitations = emails_of(r, EmailKind::CampaignInvitation).await;
    assert_eq!(
        invitations
            .iter()
            .map(|e| e.to.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["erin@acme.test", "frank@acme.test"]),
        "one invitation per person, to their address"
    );
    let to_erin = invitations
        .iter()
        .find(|e| e.recipient == Some(erin.user))
        .expect("Erin's invitation");
    assert_eq!(to_erin.org, Some(f.org));
    assert_eq!(to_erin.state, EmailState::Pending);
    assert_eq!(text(to_erin, "org_name"), "Acme Dental (Northwind IT)");
    assert_eq!(text(to_erin, "msp_name"), "Northwind IT");
    assert_eq!(text(to_erin, "recipient_name"), "erin@acme.test");
    assert_eq!(text(to_erin, "policy_title"), "Acceptable Use Policy");
    assert_eq!(text(to_erin, "campaign_title"), "Q3 acknowledgment");
    assert_eq!(
        text(to_erin, "link"),
        format!("/sign/{}/{}", f.org, campaign.id),
        "the personal link to the signing page"
    );
    assert!(to_erin.content.get("due").is_some());
    // Reminders: both in the inbox, by email only to Erin.
    f.clock.set(at(60));
    assert_eq!(
        r.remind_now(&f.officer, f.org, campaign.id)
            .await
            .expect("reminded"),
        2
    );
    let reminders = emails_of(r, EmailKind::CampaignReminder).await;
    assert_eq!(
        reminders.iter().map(|e| e.to.as_str()).collect::<Vec<_>>(),
        ["erin@acme.test"],
        "Frank turned reminder emails off"
    );
    assert_eq!(
        text(&reminders[0], "link"),
        format!("/sign/{}/{}", f.org, campaign.id)
    );
    let franks = r.inbox(&frank, None, 50).await.expect("inbox");
    assert!(
        franks
            .items
            .iter()
            .any(|i| i.notification.kind == NotificationKind::CampaignReminder),
        "the reminder is in Frank's inbox all the same"
    );
    // The cadence's own reminders go by email too.
    let before = emails_of(r, EmailKind::CampaignReminder).await.len();
    f.clock.set(at(0) + chrono::Duration::days(13));
    let sent = r.send_due_reminders(f.org).await.expect("sweep");
    assert!(sent > 0, "a reminder is due the day before");
    assert_eq!(
        emails_of(r, EmailKind::CampaignReminder).await.len(),
        before + 1,
        "Erin's, not Frank's"
    );
}

/// SLA warnings and breaches, public replies and waiting chats become
/// emails to the right people.
pub async fn ticket_and_chat_notifications_become_emails(store: Arc<dyn Store>) {
    let rules = vec![
        EscalationRule {
            clock: ClockKind::Resolution,
            trigger: Trigger::Percent { percent: 50 },
            action: Action::NotifyRole {
                role: Role::OrgAdmin,
            },
        },
        EscalationRule {
            clock: ClockKind::Resolution,
            trigger: Trigger::AtBreach,
            action: Action::NotifyRole {
                role: Role::OrgAdmin,
            },
        },
    ];
    let f = psa_fixture(store, rules).await;
    sla_warnings_and_breaches_reach_the_assignee_and_the_targets(&f).await;
    public_staff_replies_reach_the_requester_and_notes_never_do(&f).await;
    a_new_chat_tells_those_who_answer_that_clients_chats(&f).await;
}

async fn sla_warnings_and_breaches_reach_the_assignee_and_the_targets(f: &PsaFixture) {
    let r = f.c.r();
    member(&f.c.msp, f.c.org, "boss@acme.test", Role::OrgAdmin).await;
    // Monday 2025-06-16 09:00 EDT, medium: 4 h response, 16 h resolution.
    let monday = |h: u32| {
        chrono::NaiveDate::from_ymd_opt(2025, 6, 16)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .expect("instant")
            .and_utc()
    };
    f.c.clock.set(monday(13));
    let ticket = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            NewTicket {
                subject: "VPN drops every hour".into(),
                description: String::new(),
                priority: crate::psa::Priority::Medium,
                requester: None,
            },
        )
        .await
        .expect("ticket");
    r.assign_ticket(&f.c.msp.admin, f.c.org, ticket.id, f.tech.user)
        .await
        .expect("assigned to Tom");
    // 17:01 EDT: the 4 h response target passed; no rule for it, but the
    // assignee hears of the breach, once.
    f.c.clock.set(monday(21) + chrono::Duration::minutes(1));
    r.run_escalations(f.c.org).await.expect("sweep");
    r.run_escalations(f.c.org).await.expect("sweep again");
    let breaches = emails_of(r, EmailKind::SlaBreach).await;
    assert_eq!(
        breaches.iter().map(|e| e.to.as_str()).collect::<Vec<_>>(),
        ["tom@northwind.test"],
        "the response breach, to the assignee, once"
    );
    assert_eq!(text(&breaches[0], "clock"), "response");
    assert_eq!(text(&breaches[0], "ticket_subject"), "VPN drops every hour");
    assert_eq!(breaches[0].content["ticket_number"], json!(ticket.number));
    assert_eq!(text(&breaches[0], "recipient_name"), "tom@northwind.test");
    assert_eq!(
        text(&breaches[0], "link"),
        format!("/app/{}/tickets/{}", f.c.org, ticket.id)
    );
    // Tuesday 17:00 EDT: 8 business hours, half the resolution target: the
    // client's admin (the rule's role) and the assignee are warned.
    f.c.clock.set(monday(21) + chrono::Duration::days(1));
    r.run_escalations(f.c.org).await.expect("sweep");
    let warnings = emails_of(r, EmailKind::SlaWarning).await;
    assert_eq!(
        warnings
            .iter()
            .map(|e| e.to.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["boss@acme.test", "tom@northwind.test"])
    );
    // Wednesday 17:00 EDT: the resolution target is reached; the at-breach
    // rule tells both, and the assignee is not told twice.
    f.c.clock.set(monday(21) + chrono::Duration::days(2));
    r.run_escalations(f.c.org).await.expect("sweep");
    f.c.clock
        .set(monday(21) + chrono::Duration::days(2) + chrono::Duration::hours(1));
    r.run_escalations(f.c.org).await.expect("sweep");
    let resolution: Vec<String> = emails_of(r, EmailKind::SlaBreach)
        .await
        .into_iter()
        .filter(|e| text(e, "clock") == "resolution")
        .map(|e| e.to)
        .collect();
    assert_eq!(
        resolution
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["boss@acme.test", "tom@northwind.test"])
    );
    assert_eq!(resolution.len(), 2, "each once");
    // Every email is also in the recipient's inbox.
    let inbox = r.inbox(&f.tech, None, 50).await.expect("inbox");
    let kinds: Vec<NotificationKind> = inbox.items.iter().map(|i| i.notification.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == NotificationKind::SlaBreach)
            .count(),
        2
    );
    assert!(kinds.contains(&NotificationKind::SlaWarning));
}

async fn public_staff_replies_reach_the_requester_and_notes_never_do(f: &PsaFixture) {
    let r = f.c.r();
    let [erin, _] = &f.requesters;
    let ticket = r
        .create_ticket(
            erin,
            f.c.org,
            NewTicket {
                subject: "Printer jams".into(),
                description: String::new(),
                priority: crate::psa::Priority::Low,
                requester: None,
            },
        )
        .await
        .expect("ticket");
    r.add_comment(&f.tech, f.c.org, ticket.id, "Customer sounds upset", false)
        .await
        .expect("internal note");
    r.add_comment(erin, f.c.org, ticket.id, "Still jammed", true)
        .await
        .expect("the requester's own comment");
    assert!(
        emails_of(r, EmailKind::TicketReply).await.is_empty(),
        "neither a note nor one's own comment is mailed"
    );
    r.add_comment(&f.tech, f.c.org, ticket.id, "Try tray 2 <b>now</b>", true)
        .await
        .expect("public reply");
    let replies = emails_of(r, EmailKind::TicketReply).await;
    assert_eq!(replies.len(), 1);
    let reply = &replies[0];
    assert_eq!(reply.to, "erin@acme.test");
    assert_eq!(text(reply, "replier_name"), "tom@northwind.test");
    assert_eq!(text(reply, "reply"), "Try tray 2 <b>now</b>");
    assert_eq!(text(reply, "ticket_subject"), "Printer jams");
    assert_eq!(
        text(reply, "link"),
        format!("/app/{}/tickets/{}", f.c.org, ticket.id),
        "no portal yet: the web interface"
    );
    assert!(
        !reply.content.to_string().contains("upset"),
        "the note is nowhere in it"
    );
    // With a portal, the requester's link goes there.
    r.update_portal_settings(
        &f.c.msp.admin,
        f.c.org,
        PortalUpdate {
            enabled: Some(true),
            slug: Some(Some("acme".into())),
            ..Default::default()
        },
    )
    .await
    .expect("portal");
    r.add_comment(&f.tech, f.c.org, ticket.id, "Fixed.", true)
        .await
        .expect("public reply");
    let replies = emails_of(r, EmailKind::TicketReply).await;
    assert_eq!(
        text(&replies[1], "link"),
        format!("/portal/acme/tickets/{}", ticket.id)
    );
    let inbox = r.inbox(erin, None, 50).await.expect("inbox");
    assert_eq!(
        inbox
            .items
            .iter()
            .filter(|i| i.notification.kind == NotificationKind::TicketReply)
            .count(),
        2
    );
}

async fn a_new_chat_tells_those_who_answer_that_clients_chats(f: &PsaFixture) {
    let r = f.c.r();
    let other_client = f.c.msp.clients[1];
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
        other_client,
        elsewhere.user,
        Role::Technician,
    )
    .await
    .expect("Tess works the other client");
    let chat = r
        .start_chat(&f.requesters[0], f.c.org, "My screen is blank")
        .await
        .expect("chat");
    let waiting = emails_of(r, EmailKind::ChatWaiting).await;
    assert_eq!(
        waiting
            .iter()
            .map(|e| e.to.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["tom@northwind.test", "boss@acme.test"]),
        "the client's technician and admin, who answer its chats, only"
    );
    assert_eq!(text(&waiting[0], "requester_name"), "erin@acme.test");
    assert_eq!(text(&waiting[0], "message"), "My screen is blank");
    assert_eq!(
        text(&waiting[0], "link"),
        format!("/app/{}/chats/{}", f.c.org, chat.id)
    );
    let inbox = r.inbox(&f.tech, None, 50).await.expect("inbox");
    assert!(
        inbox
            .items
            .iter()
            .any(|i| i.notification.kind == NotificationKind::ChatWaiting)
    );
    assert!(
        r.inbox(&elsewhere, None, 50)
            .await
            .expect("inbox")
            .items
            .is_empty()
    );
}

async fn preferences_keep_invitations_and_resets_on(f: &ComplianceFixture, erin: &Principal) {
    let r = f.r();
    let fresh = r.email_preferences(erin).await.expect("defaults");
    assert!(fresh.off.is_empty() && fresh.updated_at.is_none());
    expect_invalid(
        r.set_email_preferences(
            erin,
            BTreeSet::from([EmailKind::SlaWarning, EmailKind::PasswordReset]),
        )
        .await,
        "off",
    );
    expect_invalid(
        r.set_email_preferences(erin, BTreeSet::from([EmailKind::Invitation]))
            .await,
        "off",
    );
    assert!(
        r.email_preferences(erin)
            .await
            .expect("unchanged")
            .off
            .is_empty(),
        "a refused change writes nothing"
    );
    let set = r
        .set_email_preferences(
            erin,
            BTreeSet::from([EmailKind::SlaWarning, EmailKind::ChatWaiting]),
        )
        .await
        .expect("optional kinds");
    assert_eq!(r.email_preferences(erin).await.expect("read"), set);
    let changed = r
        .set_email_preferences(erin, BTreeSet::new())
        .await
        .expect("all back on");
    assert!(changed.off.is_empty());
    let platform = store::audit_chain(r.store(), crate::audit::PLATFORM_CHAIN)
        .await
        .expect("platform chain");
    assert_eq!(
        platform
            .iter()
            .filter(|e| e.action == "email_preferences.changed")
            .count(),
        2,
        "each change audited"
    );
}

/// Two invitations queued now (Erin's and Frank's), for the delivery cases.
async fn two_queued(f: &ComplianceFixture) -> (OutgoingEmail, OutgoingEmail) {
    let (policy, [erin, frank]) = published_policy(f).await;
    launch(f, policy, &[&erin, &frank]).await;
    let queued = emails_of(f.r(), EmailKind::CampaignInvitation).await;
    let of = |p: &Principal| {
        queued
            .iter()
            .find(|e| e.recipient == Some(p.user))
            .expect("queued")
            .clone()
    };
    (of(&erin), of(&frank))
}

fn ids(emails: &[OutgoingEmail]) -> Vec<EmailId> {
    emails.iter().map(|e| e.id).collect()
}

/// Delivery state: backoff in the record, dead letters, admins' lists and
/// retries, expired links.
pub async fn deliveries_back_off_die_and_are_retried_by_admins(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let (erin, frank) = two_queued(&f).await;
    failed_deliveries_back_off_in_the_record_and_never_block_others(&f, &erin, &frank).await;
    admins_see_dead_letters_first_and_retry_them(&f, &erin, &frank).await;
    an_expired_link_is_not_sent_or_retried(&f).await;
}

/// Erin's email fails until it is dead; Frank's is sent.
async fn failed_deliveries_back_off_in_the_record_and_never_block_others(
    f: &ComplianceFixture,
    erin: &OutgoingEmail,
    frank: &OutgoingEmail,
) {
    let r = f.r();
    assert_eq!(
        ids(&r.emails_due(10).await.expect("due")),
        [erin.id, frank.id],
        "both due now, oldest first"
    );
    assert_eq!(r.emails_due(1).await.expect("due").len(), 1, "bounded");
    let failed = r
        .mark_email_failed(erin.id, "550 mailbox unavailable")
        .await
        .expect("failed");
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.state, EmailState::Pending);
    assert_eq!(failed.next_attempt_at, at(0) + retry_delay(1));
    assert_eq!(
        failed.last_error.as_deref(),
        Some("550 mailbox unavailable")
    );
    assert_eq!(
        ids(&r.emails_due(10).await.expect("due")),
        [frank.id],
        "the failing one waits; the other goes"
    );
    let sent = r.mark_email_sent(frank.id).await.expect("sent");
    assert_eq!(sent.state, EmailState::Sent);
    assert_eq!(sent.sent_at, Some(at(0)));
    assert!(
        sent.content.get("link").is_none(),
        "the link is dropped once delivered"
    );
    assert!(sent.content.get("policy_title").is_some());
    assert_eq!(
        r.mark_email_failed(frank.id, "late")
            .await
            .expect("harmless")
            .state,
        EmailState::Sent,
        "a sent email stays sent"
    );
    // Each failure doubles the wait, kept in the record (a restarted host
    // reads the same waits): due exactly when its wait is over.
    let mut now = at(0);
    for attempt in 1..MAX_ATTEMPTS {
        now += retry_delay(attempt);
        f.clock.set(now - chrono::Duration::seconds(1));
        assert!(
            r.emails_due(10).await.expect("due").is_empty(),
            "not before its backoff (attempt {attempt})"
        );
        f.clock.set(now);
        assert_eq!(ids(&r.emails_due(10).await.expect("due")), [erin.id]);
        let after = r
            .mark_email_failed(erin.id, "451 try again later")
            .await
            .expect("failed");
        assert_eq!(after.attempts, attempt + 1);
        let expected = if attempt + 1 == MAX_ATTEMPTS {
            EmailState::Dead
        } else {
            EmailState::Pending
        };
        assert_eq!(after.state, expected);
    }
    assert_eq!(retry_delay(1), chrono::Duration::minutes(1));
    assert_eq!(retry_delay(2), chrono::Duration::minutes(2));
    assert_eq!(retry_delay(30), chrono::Duration::hours(6), "capped");
    f.clock.set(now + chrono::Duration::days(1));
    assert!(
        r.emails_due(10).await.expect("due").is_empty(),
        "a dead letter is never taken again on its own"
    );
    let dead = store::require::<OutgoingEmail>(r.store(), Scope::Platform, erin.id.0)
        .await
        .expect("record")
        .value;
    assert!(
        dead.content.get("link").is_some(),
        "a dead one keeps its link for a retry"
    );
    let chain = actions(&f.msp, f.org).await;
    assert_eq!(
        chain.iter().filter(|a| *a == "email.failed").count(),
        usize::try_from(MAX_ATTEMPTS).expect("small") - 1
    );
    assert!(chain.iter().any(|a| a == "email.dead"));
    assert!(chain.iter().any(|a| a == "email.sent"));
}

async fn admins_see_dead_letters_first_and_retry_them(
    f: &ComplianceFixture,
    erin: &OutgoingEmail,
    frank: &OutgoingEmail,
) {
    let r = f.r();
    let admin = &f.msp.admin;
    let listed = r
        .org_emails(admin, f.org, None, PageRequest::first(50))
        .await
        .expect("the MSP admin lists the client's emails");
    assert_eq!(
        listed.iter().map(|e| e.id).collect::<Vec<_>>(),
        [erin.id, frank.id],
        "dead letters first"
    );
    assert_eq!(listed[0].state, EmailState::Dead);
    assert_eq!(listed[0].last_error.as_deref(), Some("451 try again later"));
    assert!(
        listed.iter().all(|e| e.content.get("link").is_none()),
        "never the link"
    );
    let dead_only = r
        .org_emails(admin, f.org, Some(EmailState::Dead), PageRequest::first(50))
        .await
        .expect("by state");
    assert_eq!(dead_only.len(), 1);
    // Not the admin's to see elsewhere, not an employee's at all.
    let other = f.msp.clients[1];
    let stranger = member(&f.msp, other, "admin@bolt.test", Role::OrgAdmin).await;
    expect_not_found(
        r.org_emails(&stranger, f.org, None, PageRequest::first(50))
            .await,
        "another tenant's emails",
    );
    expect_not_found(
        r.retry_email(&stranger, other, erin.id).await,
        "another tenant's email through one's own org",
    );
    expect_denied(
        r.org_emails(&f.officer, f.org, None, PageRequest::first(50))
            .await,
        "an officer",
    );
    expect_invalid(r.retry_email(admin, f.org, frank.id).await, "email");
    // The admin retries: pending, due now, attempts afresh, audited.
    let retried = r.retry_email(admin, f.org, erin.id).await.expect("retried");
    assert_eq!(retried.state, EmailState::Pending);
    assert_eq!(retried.attempts, 0);
    assert!(
        ids(&r.emails_due(10).await.expect("due")).contains(&erin.id),
        "due again"
    );
    assert!(
        actions(&f.msp, f.org)
            .await
            .contains(&"email.retried".to_owned())
    );
    // The platform operator sees every org's, and retries too.
    for _ in 0..MAX_ATTEMPTS {
        r.mark_email_failed(erin.id, "550 again")
            .await
            .expect("failed");
    }
    let all = r
        .platform_emails(
            &f.msp.operator,
            Some(EmailState::Dead),
            PageRequest::first(50),
        )
        .await
        .expect("operator");
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [erin.id]);
    expect_denied(
        r.platform_emails(admin, None, PageRequest::first(50)).await,
        "an MSP admin on the platform's list",
    );
    expect_not_found(
        r.retry_platform_email(admin, erin.id).await,
        "an MSP admin on the platform's retry learns nothing of the id",
    );
    let again = r
        .retry_platform_email(&f.msp.operator, erin.id)
        .await
        .expect("operator retries");
    assert_eq!(again.state, EmailState::Pending);
    let retries = actions(&f.msp, f.org)
        .await
        .into_iter()
        .filter(|a| a == "email.retried")
        .count();
    assert_eq!(retries, 2, "both retries in the org's chain");
}

async fn an_expired_link_is_not_sent_or_retried(f: &ComplianceFixture) {
    let r = f.r();
    let operator = &f.msp.operator;
    let start = r.now();
    let mut changes = crate::store::ChangeSet::new();
    r.queue_email(
        &mut changes,
        crate::mail::EmailDraft {
            org: None,
            to: "someone@example.test".into(),
            recipient: None,
            kind: EmailKind::PasswordReset,
            content: json!({
                "link": "/reset-password?token=secret",
                "expires_at": start + chrono::Duration::hours(1),
            }),
        },
    )
    .expect("queued");
    r.store().apply(changes).await.expect("committed");
    let email = emails_of(r, EmailKind::PasswordReset).await.remove(0);
    f.clock.set(start + chrono::Duration::hours(2));
    let dead = r
        .mark_email_failed(email.id, "connection refused")
        .await
        .expect("failed");
    assert_eq!(dead.state, EmailState::Dead, "its link expired: no retries");
    assert!(dead.content.get("link").is_none(), "and the secret is gone");
    expect_invalid(r.retry_platform_email(operator, email.id).await, "email");
    let chain = store::audit_chain(r.store(), crate::audit::PLATFORM_CHAIN)
        .await
        .expect("chain");
    assert!(chain.iter().any(|e| e.action == "email.dead"));
}

/// A portal's people sign their policies on its pages: a campaign's
/// invitations and reminders link to the campaign's page in the portal
/// when the org has an enabled one, the product's signing page otherwise.
pub async fn campaign_emails_link_to_the_portal_when_the_org_has_one(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let (r, org) = (f.r(), f.org);
    let (policy, [erin, _]) = published_policy(&f).await;
    let erin = &erin;
    let links = |kind| async move {
        emails_of(r, kind)
            .await
            .iter()
            .filter(|e| e.recipient == Some(erin.user))
            .map(|e| text(e, "link"))
            .collect::<Vec<_>>()
    };
    let before = launch(&f, policy, &[erin]).await;
    assert_eq!(
        links(EmailKind::CampaignInvitation).await,
        [format!("/sign/{org}/{}", before.id)],
        "no portal: the product's signing page"
    );
    r.update_portal_settings(
        &f.msp.admin,
        org,
        PortalUpdate {
            enabled: Some(true),
            slug: Some(Some("acme".into())),
            ..Default::default()
        },
    )
    .await
    .expect("portal");
    let after = launch(&f, policy, &[erin]).await;
    assert_eq!(
        links(EmailKind::CampaignInvitation).await,
        [
            format!("/sign/{org}/{}", before.id),
            format!("/portal/acme/policies/{}", after.id)
        ]
    );
    r.remind_now(&f.officer, org, before.id)
        .await
        .expect("reminded");
    assert_eq!(
        links(EmailKind::CampaignReminder).await,
        [format!("/portal/acme/policies/{}", before.id)],
        "a reminder of a campaign launched before the portal links to it too"
    );
}
