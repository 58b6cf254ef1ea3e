use super::*;

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

fn nine_to_five_policy(
    name: &str,
    default: bool,
    escalations: Vec<EscalationRule>,
) -> NewSlaPolicy {
    let calendar: crate::sla::CalendarSpec = serde_json::from_value(json!({
        "timezone": "America/New_York",
        "weekly": {"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}
    }))
    .expect("calendar");
    let t = |r: u32, s: u32| Targets {
        first_response_minutes: r,
        resolution_minutes: s,
    };
    NewSlaPolicy {
        name: name.into(),
        calendar,
        targets: [
            (Priority::Critical, t(30, 240)),
            (Priority::High, t(60, 480)),
            (Priority::Medium, t(240, 960)),
            (Priority::Low, t(480, 2400)),
        ]
        .into(),
        escalations,
        default,
        chat_answer_minutes: crate::psa::sla_policy::DEFAULT_CHAT_ANSWER_MINUTES,
    }
}

/// The MSP's default policy, a technician in client 1, and two employees.
pub struct PsaFixture {
    pub c: ComplianceFixture,
    pub tech: Principal,
    pub requesters: [Principal; 2],
}

impl std::fmt::Debug for PsaFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PsaFixture").finish_non_exhaustive()
    }
}

pub async fn psa_fixture(store: Arc<dyn Store>, escalations: Vec<EscalationRule>) -> PsaFixture {
    let c = compliance_fixture(store).await;
    let r = c.r();
    r.create_sla_policy(
        &c.msp.admin,
        c.msp.msp,
        nine_to_five_policy("Northwind standard", true, escalations),
    )
    .await
    .expect("MSP default policy");
    let tech = member(&c.msp, c.msp.msp, "tom@northwind.test", Role::Technician).await;
    r.assign_staff(&c.msp.admin, c.msp.msp, c.org, tech.user, Role::Technician)
        .await
        .expect("assigned");
    let requesters = [
        member(&c.msp, c.org, "erin@acme.test", Role::Employee).await,
        member(&c.msp, c.org, "frank@acme.test", Role::Employee).await,
    ];
    PsaFixture {
        c,
        tech,
        requesters,
    }
}

pub(super) fn new_ticket(subject: &str, priority: Priority) -> NewTicket {
    NewTicket {
        subject: subject.into(),
        description: "It broke.".into(),
        priority,
        requester: None,
    }
}

pub async fn ticket_numbers_are_sequential_under_concurrency(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    // 64 at once, the org's very first ticket among them (two of them may
    // race to create the counter; the loser draws from it).
    let creations = (0..64).map(|i| {
        r.create_ticket(
            &f.requesters[i % 2],
            f.c.org,
            new_ticket(&format!("Printer {i}"), Priority::Low),
        )
    });
    let mut numbers: Vec<u64> = join_all(creations)
        .await
        .into_iter()
        .map(|t| t.expect("every concurrent creation succeeds").number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=64).collect::<Vec<u64>>(),
        "64 distinct consecutive numbers, none failed"
    );
    // Numbers are per org: another client starts at 1.
    let other = r
        .create_ticket(
            &f.c.msp.admin,
            f.c.clients_other(),
            new_ticket("Elsewhere", Priority::Low),
        )
        .await
        .expect("ticket");
    assert_eq!(other.number, 1);
}

pub async fn ticket_sla_pauses_over_a_weekend_and_keeps_time_on_priority_change(
    store: Arc<dyn Store>,
) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    // Friday 2025-06-13 15:00 EDT, high priority: 1 h response, 8 h resolution.
    f.c.clock.set(utc("2025-06-13T19:00:00Z"));
    let t = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("VPN down", Priority::High),
        )
        .await
        .expect("ticket");
    let sla = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("the MSP's default applies to its client");
    assert_eq!(sla.response.due, Some(utc("2025-06-13T20:00:00Z")));
    assert_eq!(
        sla.resolution.due,
        Some(utc("2025-06-16T19:00:00Z")),
        "8 business hours: Monday 15:00 EDT"
    );
    assert_eq!(
        sla.response.state,
        ClockState::OnTrack,
        "due in exactly the at-risk window's hour: not yet at risk"
    );
    f.c.clock.set(utc("2025-06-13T19:01:00Z"));
    let sla = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert_eq!(sla.response.state, ClockState::AtRisk, "59 min left");
    assert_eq!(sla.resolution.state, ClockState::OnTrack);
    // The technician answers at 15:30: the response clock stops, met.
    f.c.clock.set(utc("2025-06-13T19:30:00Z"));
    r.add_comment(&f.tech, f.c.org, t.id, "Looking into it.", true)
        .await
        .expect("reply");
    // Waiting on the customer from 16:00 Friday to Monday 10:00 EDT.
    f.c.clock.set(utc("2025-06-13T20:00:00Z"));
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Pending)
        .await
        .expect("pending");
    f.c.clock.set(utc("2025-06-16T14:00:00Z"));
    let paused = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert!(!paused.resolution.running && paused.resolution.due.is_none());
    assert_eq!(
        paused.resolution.consumed_minutes, 60,
        "the weekend and the pause cost nothing"
    );
    assert_eq!(paused.response.met_at, Some(utc("2025-06-13T19:30:00Z")));
    assert!(!paused.response.breached);
    assert_eq!(paused.response.state, ClockState::Met);
    assert_eq!(paused.resolution.state, ClockState::Paused);
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Open)
        .await
        .expect("resumed");
    let resumed = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert_eq!(
        resumed.resolution.due,
        Some(utc("2025-06-16T21:00:00Z")),
        "7 h left from Monday 10:00: 17:00 EDT"
    );
    // Two hours later the priority is raised to critical (4 h): 3 h used, 1 h left.
    f.c.clock.set(utc("2025-06-16T16:00:00Z"));
    r.set_ticket_priority(&f.tech, f.c.org, t.id, Priority::Critical)
        .await
        .expect("raised");
    let raised = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert_eq!(raised.resolution.consumed_minutes, 180);
    assert_eq!(raised.resolution.due, Some(utc("2025-06-16T17:00:00Z")));
    // Resolved late: the breach is permanent, reopening does not clear it.
    f.c.clock.set(utc("2025-06-16T18:00:00Z"));
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Resolved)
        .await
        .expect("resolved");
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Reopened)
        .await
        .expect("reopened");
    let reopened = r
        .ticket_sla(&f.tech, f.c.org, t.id)
        .await
        .expect("sla")
        .expect("sla");
    assert!(reopened.resolution.breached);
    assert!(reopened.resolution.running);
    assert_eq!(reopened.resolution.state, ClockState::Breached);
}

pub async fn ticket_policies_follow_assignment_and_keep_their_revision(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let t1 = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("Old terms", Priority::Low),
        )
        .await
        .expect("ticket");
    // The client gets its own default, which overrides the MSP's.
    let mut own = nine_to_five_policy("Acme premium", true, Vec::new());
    own.targets.insert(
        Priority::Low,
        Targets {
            first_response_minutes: 15,
            resolution_minutes: 60,
        },
    );
    let policy = r
        .create_sla_policy(&f.c.msp.admin, f.c.org, own.clone())
        .await
        .expect("client policy");
    let t2 = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("New terms", Priority::Low),
        )
        .await
        .expect("ticket");
    let sla2 = t2.sla.as_ref().expect("sla");
    assert_eq!(
        (sla2.policy, sla2.revision, sla2.response.target_secs),
        (policy.id, 1, 15 * 60)
    );
    let sla1 = t1.sla.as_ref().expect("sla");
    assert_ne!(
        sla1.policy, policy.id,
        "the first ticket runs on the MSP's policy"
    );
    // Editing the policy never moves the deadlines of tickets already open.
    own.targets.insert(
        Priority::Low,
        Targets {
            first_response_minutes: 5,
            resolution_minutes: 30,
        },
    );
    let edited = r
        .update_sla_policy(&f.c.msp.admin, f.c.org, policy.id, own)
        .await
        .expect("edited");
    assert_eq!(edited.revision, 2);
    let still = r.ticket(&f.tech, f.c.org, t2.id).await.expect("ticket");
    assert_eq!(still.sla.expect("sla").response.target_secs, 15 * 60);
    match r
        .create_sla_policy(
            &f.c.msp.admin,
            f.c.org,
            nine_to_five_policy("Second default", true, Vec::new()),
        )
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "default"),
        other => panic!("one default per org, got {other:?}"),
    }
    let mut broken = nine_to_five_policy("Broken", false, Vec::new());
    broken.targets.remove(&Priority::Medium);
    broken.calendar.timezone = "Nowhere/Land".into();
    match r.create_sla_policy(&f.c.msp.admin, f.c.org, broken).await {
        Err(Error::Validation(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert!(
                fields.contains(&"calendar.timezone") && fields.contains(&"targets.medium"),
                "{fields:?}"
            );
        }
        other => panic!("expected validation errors, got {other:?}"),
    }
    // A tenant's webhook may not aim the server at a private network.
    for url in [
        "http://hooks.acme.test/sla",
        "https://10.0.0.7/sla",
        "https://localhost/x",
    ] {
        let rule = EscalationRule {
            clock: ClockKind::Response,
            trigger: Trigger::AtBreach,
            action: Action::Webhook { url: url.into() },
        };
        expect_invalid(
            r.create_sla_policy(
                &f.c.msp.admin,
                f.c.org,
                nine_to_five_policy("Hooked", false, vec![rule]),
            )
            .await,
            "escalations[0].action.url",
        );
    }
    expect_denied(
        r.create_sla_policy(
            &f.tech,
            f.c.org,
            nine_to_five_policy("Tech's", false, Vec::new()),
        )
        .await,
        "technician managing SLA policies",
    );
}

pub async fn escalation_fires_once_even_when_the_sweep_runs_twice(store: Arc<dyn Store>) {
    let rules = vec![
        EscalationRule {
            clock: ClockKind::Resolution,
            trigger: Trigger::Percent { percent: 50 },
            action: Action::NotifyRole {
                role: Role::Technician,
            },
        },
        EscalationRule {
            clock: ClockKind::Resolution,
            trigger: Trigger::AtBreach,
            action: Action::RaisePriority,
        },
        EscalationRule {
            clock: ClockKind::Response,
            trigger: Trigger::BeforeBreach { minutes: 10 },
            action: Action::Webhook {
                url: "https://hooks.acme.test/sla".into(),
            },
        },
    ];
    let f = psa_fixture(store, rules).await;
    let r = f.c.r();
    // Monday 2025-06-16 09:00 EDT, medium: 4 h response, 16 h resolution.
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    let t = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("Slow laptop", Priority::Medium),
        )
        .await
        .expect("ticket");
    assert!(
        r.run_escalations(f.c.org).await.expect("sweep").is_empty(),
        "nothing due yet"
    );
    // 12:50 EDT: ten minutes before the response target, the webhook fires.
    f.c.clock.set(utc("2025-06-16T16:50:00Z"));
    let fired = r.run_escalations(f.c.org).await.expect("sweep");
    assert_eq!(
        fired.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        ["2:response"]
    );
    assert!(
        r.run_escalations(f.c.org).await.expect("sweep").is_empty(),
        "never twice"
    );
    // Pending from Monday 13:00 to Tuesday 13:00 EDT: the 50% warning (8 h) moves by the pause.
    f.c.clock.set(utc("2025-06-16T17:00:00Z"));
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Pending)
        .await
        .expect("pending");
    f.c.clock.set(utc("2025-06-17T17:00:00Z"));
    assert!(
        r.run_escalations(f.c.org).await.expect("sweep").is_empty(),
        "a paused clock does not escalate"
    );
    r.set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Open)
        .await
        .expect("resumed");
    // 4 h used by Monday 13:00; 4 more from Tuesday 13:00 reach 50% at 17:00 EDT Tuesday.
    f.c.clock.set(utc("2025-06-17T20:59:00Z"));
    assert!(r.run_escalations(f.c.org).await.expect("sweep").is_empty());
    f.c.clock.set(utc("2025-06-17T21:00:00Z"));
    let warning = r.run_escalations(f.c.org).await.expect("sweep");
    assert_eq!(
        warning.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        ["0:resolution"]
    );
    let outbox = r.pending_notifications(f.c.org, 100).await.expect("outbox");
    let warnings: Vec<_> = outbox
        .iter()
        .filter(|n| n.kind == crate::notify::NotificationKind::SlaWarning)
        .collect();
    assert_eq!(
        warnings
            .iter()
            .filter_map(|n| n.recipient)
            .collect::<Vec<_>>(),
        [f.tech.user],
        "the client's technicians"
    );
    assert_eq!(
        outbox
            .iter()
            .filter(|n| n.kind == crate::notify::NotificationKind::Webhook)
            .count(),
        1
    );
    // The breach raises the priority, once, and stays.
    f.c.clock.set(utc("2025-06-19T13:00:00Z"));
    let breach = r.run_escalations(f.c.org).await.expect("sweep");
    assert_eq!(
        breach.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        ["1:resolution"]
    );
    let after = r.ticket(&f.tech, f.c.org, t.id).await.expect("ticket");
    assert_eq!(after.priority, Priority::High);
    assert!(
        after.sla.as_ref().expect("sla").resolution.breached,
        "recorded in the same commit"
    );
    assert!(r.run_escalations(f.c.org).await.expect("sweep").is_empty());
}

pub async fn ticket_requesters_see_only_their_own(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let [erin, frank] = &f.requesters;
    let mine = r
        .create_ticket(erin, f.c.org, new_ticket("My screen", Priority::Low))
        .await
        .expect("ticket");
    let theirs = r
        .create_ticket(frank, f.c.org, new_ticket("Frank's phone", Priority::Low))
        .await
        .expect("ticket");
    assert_eq!(
        all_tickets(r, erin, f.c.org)
            .await
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        [mine.id]
    );
    expect_not_found(
        r.ticket(erin, f.c.org, theirs.id).await,
        "another requester's ticket",
    );
    expect_not_found(
        r.add_comment(erin, f.c.org, theirs.id, "hi", true).await,
        "commenting on another's ticket",
    );
    r.add_comment(&f.tech, f.c.org, mine.id, "Replacing the cable.", true)
        .await
        .expect("public");
    r.add_comment(&f.tech, f.c.org, mine.id, "Cable budget is low.", false)
        .await
        .expect("internal");
    r.add_comment(erin, f.c.org, mine.id, "Thanks!", true)
        .await
        .expect("requester reply");
    expect_denied(
        r.add_comment(erin, f.c.org, mine.id, "secret", false).await,
        "requester writing internal notes",
    );
    let seen: Vec<String> = r
        .comments(erin, f.c.org, mine.id, PageRequest::first(50))
        .await
        .expect("comments")
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(
        seen,
        ["Replacing the cable.", "Thanks!"],
        "requesters see public comments only"
    );
    assert_eq!(
        r.comments(&f.tech, f.c.org, mine.id, PageRequest::first(50))
            .await
            .expect("comments")
            .len(),
        3
    );
    assert_eq!(
        all_tickets(r, &f.tech, f.c.org).await.len(),
        2,
        "staff see every ticket"
    );
    // Staff open tickets for someone; requesters cannot.
    let on_behalf = NewTicket {
        requester: Some(frank.user),
        ..new_ticket("For Frank", Priority::Low)
    };
    assert_eq!(
        r.create_ticket(&f.tech, f.c.org, on_behalf.clone())
            .await
            .expect("staff")
            .requester,
        frank.user
    );
    expect_denied(
        r.create_ticket(erin, f.c.org, on_behalf).await,
        "requester filing for someone else",
    );
    expect_denied(
        r.set_ticket_status(erin, f.c.org, mine.id, TicketStatus::Closed)
            .await,
        "requester closing",
    );
    // Compliance roles have no PSA access beyond their own requests; viewers read.
    let viewer = member(&f.c.msp, f.c.org, "auditor@acme.test", Role::Viewer).await;
    assert_eq!(all_tickets(r, &viewer, f.c.org).await.len(), 3);
    expect_denied(
        r.create_ticket(&viewer, f.c.org, new_ticket("x", Priority::Low))
            .await,
        "viewer submitting",
    );
    assert!(all_tickets(r, &f.c.officer, f.c.org).await.is_empty());
    // Another tenant sees nothing.
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.ticket(&other.admin, f.c.org, mine.id).await,
        "another MSP",
    );
}

pub async fn time_entry_totals_per_ticket_user_and_org(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let t = r
        .create_ticket(&f.requesters[0], f.c.org, new_ticket("Mail", Priority::Low))
        .await
        .expect("ticket");
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2025, 6, d).expect("date");
    let entry = |ticket, minutes, billable, date| NewTimeEntry {
        ticket,
        minutes,
        billable,
        note: "work".into(),
        date,
    };
    r.log_time(&f.tech, f.c.org, entry(Some(t.id), 30, true, day(2)))
        .await
        .expect("time");
    r.log_time(&f.tech, f.c.org, entry(Some(t.id), 15, false, day(3)))
        .await
        .expect("time");
    r.log_time(&f.c.msp.admin, f.c.org, entry(None, 60, true, day(3)))
        .await
        .expect("time");
    r.log_time(&f.tech, f.c.org, entry(None, 45, true, day(20)))
        .await
        .expect("time");
    let totals = r
        .time_totals(&f.tech, f.c.org, day(1), day(10))
        .await
        .expect("totals");
    assert_eq!((totals.org.total, totals.org.billable), (105, 90));
    assert_eq!(
        (
            totals.by_ticket[&t.id].total,
            totals.by_ticket[&t.id].billable
        ),
        (45, 30)
    );
    assert_eq!(
        totals.by_user[&f.tech.user].total, 45,
        "the entry on the 20th is outside the period"
    );
    assert_eq!(totals.by_user[&f.c.msp.admin.user].total, 60);
    expect_invalid(
        r.log_time(&f.tech, f.c.org, entry(None, 0, true, day(2)))
            .await,
        "minutes",
    );
    expect_denied(
        r.log_time(&f.requesters[0], f.c.org, entry(None, 10, true, day(2)))
            .await,
        "requester logging time",
    );
    expect_invalid(r.time_totals(&f.tech, f.c.org, day(10), day(1)).await, "to");
}

pub async fn assets_link_to_tickets(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let laptop = r
        .add_asset(
            &f.tech,
            f.c.org,
            NewAsset {
                name: "Erin's laptop".into(),
                kind: "laptop".into(),
                serial: Some("SN-123".into()),
                assigned_user: Some(f.requesters[0].user),
                status: Default::default(),
                attributes: [("os".to_owned(), "Windows 11".to_owned())].into(),
            },
        )
        .await
        .expect("asset");
    let t = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("Laptop fan", Priority::Low),
        )
        .await
        .expect("ticket");
    let linked = r
        .link_asset(&f.tech, f.c.org, t.id, laptop.id)
        .await
        .expect("linked");
    assert!(linked.assets.contains(&laptop.id));
    assert_eq!(
        r.assets(&f.tech, f.c.org, crate::store::PageRequest::first(500))
            .await
            .expect("assets")
            .items[0]
            .attributes["os"],
        "Windows 11"
    );
    expect_denied(
        r.assets(
            &f.requesters[0],
            f.c.org,
            crate::store::PageRequest::first(500),
        )
        .await,
        "requester reading the inventory",
    );
    let viewer = member(&f.c.msp, f.c.org, "auditor@acme.test", Role::Viewer).await;
    assert_eq!(
        r.assets(&viewer, f.c.org, crate::store::PageRequest::first(500))
            .await
            .expect("viewer reads")
            .items
            .len(),
        1
    );
    expect_denied(
        r.add_asset(
            &viewer,
            f.c.org,
            NewAsset {
                name: "x".into(),
                kind: "y".into(),
                serial: None,
                assigned_user: None,
                status: Default::default(),
                attributes: Default::default(),
            },
        )
        .await,
        "viewer adding assets",
    );
    let stranger = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.link_asset(&f.tech, stranger.clients[0], t.id, laptop.id)
            .await,
        "linking across tenants",
    );
}

pub async fn knowledge_base_search_respects_visibility(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let article = |title: &str, body: &str, visibility, published| NewArticle {
        title: title.into(),
        body: body.into(),
        tags: BTreeSet::from(["howto".to_owned()]),
        visibility,
        published,
    };
    r.add_article(
        &f.tech,
        f.c.org,
        article(
            "Reset your VPN password",
            "Open the portal and choose reset.",
            Visibility::Portal,
            true,
        ),
    )
    .await
    .expect("article");
    r.add_article(
        &f.tech,
        f.c.org,
        article(
            "VPN appliance admin notes",
            "Password reset on the firewall: see vault.",
            Visibility::Internal,
            true,
        ),
    )
    .await
    .expect("article");
    r.add_article(
        &f.tech,
        f.c.org,
        article(
            "VPN draft",
            "reset steps, unpublished",
            Visibility::Portal,
            false,
        ),
    )
    .await
    .expect("article");
    let titles = |found: Vec<crate::psa::records::Article>| {
        found.into_iter().map(|a| a.title).collect::<Vec<_>>()
    };
    let staff = titles(
        r.search_articles(&f.tech, f.c.org, "VPN reset", None, 500)
            .await
            .expect("search")
            .items,
    );
    assert_eq!(
        staff.len(),
        3,
        "staff find internal and draft articles: {staff:?}"
    );
    let portal = titles(
        r.search_articles(&f.requesters[0], f.c.org, "vpn RESET", None, 500)
            .await
            .expect("search")
            .items,
    );
    assert_eq!(
        portal,
        ["Reset your VPN password"],
        "requesters find published portal articles only"
    );
    assert!(
        r.search_articles(&f.requesters[0], f.c.org, "firewall", None, 500)
            .await
            .expect("search")
            .items
            .is_empty()
    );
    assert!(
        r.search_articles(&f.tech, f.c.org, "vpn printer", None, 500)
            .await
            .expect("search")
            .items
            .is_empty(),
        "every word must match"
    );
    expect_invalid(
        r.search_articles(&f.tech, f.c.org, "a", None, 500).await,
        "q",
    );
    // A blank query lists what the caller may read (a portal on load).
    for blank in ["", "   "] {
        assert_eq!(
            titles(
                r.search_articles(&f.requesters[0], f.c.org, blank, None, 500)
                    .await
                    .expect("list")
                    .items
            ),
            ["Reset your VPN password"],
            "requesters list published portal articles only"
        );
        assert_eq!(
            r.search_articles(&f.tech, f.c.org, blank, None, 500)
                .await
                .expect("list")
                .items
                .len(),
            3,
            "staff list every article"
        );
    }
    expect_denied(
        r.add_article(
            &f.requesters[0],
            f.c.org,
            article("x", "y", Visibility::Portal, true),
        )
        .await,
        "requester writing articles",
    );
}

pub async fn chat_sessions_become_tickets_with_their_transcript(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let [erin, frank] = &f.requesters;
    let chat = r
        .start_chat(erin, f.c.org, "My printer is on fire")
        .await
        .expect("chat");
    r.post_chat_message(&f.tech, f.c.org, chat.id, "Unplug it, please.")
        .await
        .expect("staff reply");
    r.post_chat_message(erin, f.c.org, chat.id, "Done.")
        .await
        .expect("requester reply");
    let bodies: Vec<String> = r
        .chat_messages(
            erin,
            f.c.org,
            chat.id,
            crate::store::PageRequest::first(500),
        )
        .await
        .expect("messages")
        .items
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        bodies,
        ["My printer is on fire", "Unplug it, please.", "Done."],
        "in the order sent"
    );
    expect_not_found(
        r.chat_messages(
            frank,
            f.c.org,
            chat.id,
            crate::store::PageRequest::first(500),
        )
        .await,
        "another requester's chat",
    );
    expect_not_found(
        r.post_chat_message(frank, f.c.org, chat.id, "hi").await,
        "joining another's chat",
    );
    let ticket = r
        .chat_to_ticket(&f.tech, f.c.org, chat.id, "Printer fire", Priority::High)
        .await
        .expect("ticket");
    assert_eq!(ticket.requester, erin.user);
    assert!(
        ticket.description.contains("Unplug it, please.") && ticket.description.contains("Done.")
    );
    match r
        .chat_to_ticket(&f.tech, f.c.org, chat.id, "Again", Priority::High)
        .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("one ticket per chat, got {other:?}"),
    }
    expect_denied(
        r.chat_to_ticket(erin, f.c.org, chat.id, "Mine", Priority::Low)
            .await,
        "requester converting",
    );
    let closed = r
        .close_chat(erin, f.c.org, chat.id)
        .await
        .expect("requester closes");
    assert_eq!(closed.closed_by, Some(erin.user));
    expect_invalid(
        r.post_chat_message(&f.tech, f.c.org, chat.id, "still there?")
            .await,
        "chat",
    );
    let other = r.start_chat(frank, f.c.org, "Hello").await.expect("chat");
    assert_eq!(
        r.close_chat(&f.tech, f.c.org, other.id)
            .await
            .expect("staff closes")
            .closed_by,
        Some(f.tech.user)
    );
}

/// The unanswered-chat rule over the injected clock: a chat nobody of the
/// service desk answered within the wait its SLA policy sets (3 minutes by
/// default) may be left as a ticket by its requester, and by nobody else;
/// an answer withdraws the offer; leaving it makes one ticket and closes
/// the chat in the same commit.
pub async fn an_unanswered_chat_can_be_left_as_a_ticket_after_the_wait(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let [erin, frank] = &f.requesters;
    let started = r.now();
    let chat = r
        .start_chat(
            erin,
            f.c.org,
            "My laptop will not start\nIt beeps three times.",
        )
        .await
        .expect("chat");
    let view = r.chat_view(erin, f.c.org, chat.id).await.expect("view");
    assert_eq!(view.time_zone, "America/New_York", "the policy's calendar");
    assert_eq!(
        view.wait,
        crate::psa::chat::ChatWait {
            answered: false,
            answer_within_minutes: 3,
            ticket_offer_at: Some(started + chrono::Duration::minutes(3)),
            ticket_offered: false,
        }
    );
    r.post_chat_message(erin, f.c.org, chat.id, "Anyone there?")
        .await
        .expect("the requester writes again");
    expect_invalid(r.leave_chat_as_ticket(erin, f.c.org, chat.id).await, "chat");
    f.c.clock.advance(chrono::Duration::seconds(179));
    assert!(
        !r.chat_view(erin, f.c.org, chat.id)
            .await
            .expect("view")
            .wait
            .ticket_offered,
        "a second before the wait ends"
    );
    f.c.clock.advance(chrono::Duration::seconds(1));
    assert!(
        r.chat_view(erin, f.c.org, chat.id)
            .await
            .expect("view")
            .wait
            .ticket_offered,
        "the requester's own messages are no answer"
    );
    // Only the requester leaves it as a ticket; another requester does not
    // even see the chat, staff turn chats into tickets their own way.
    expect_not_found(
        r.chat_view(frank, f.c.org, chat.id).await,
        "another requester's chat",
    );
    expect_not_found(
        r.leave_chat_as_ticket(frank, f.c.org, chat.id).await,
        "another requester's chat",
    );
    expect_denied(
        r.leave_chat_as_ticket(&f.tech, f.c.org, chat.id).await,
        "staff leaving a chat they did not start",
    );
    expect_not_found(
        r.leave_chat_as_ticket(erin, f.c.clients_other(), chat.id)
            .await,
        "the chat named in another org",
    );
    let ticket = r
        .leave_chat_as_ticket(erin, f.c.org, chat.id)
        .await
        .expect("left as a ticket");
    assert_eq!(ticket.requester, erin.user);
    assert_eq!(ticket.priority, Priority::Medium);
    assert_eq!(ticket.title, "Chat: My laptop will not start");
    assert!(ticket.sla.is_some(), "it runs on the org's policy");
    for line in [
        "erin@acme.test: My laptop will not start",
        "It beeps three times.",
        "erin@acme.test: Anyone there?",
        "within 3 minutes",
    ] {
        assert!(
            ticket.description.contains(line),
            "{line:?} in {}",
            ticket.description
        );
    }
    assert_eq!(
        r.ticket(erin, f.c.org, ticket.id).await.expect("hers").id,
        ticket.id
    );
    let after = r.chat_view(erin, f.c.org, chat.id).await.expect("view");
    assert_eq!(after.chat.ticket, Some(ticket.id));
    assert_eq!(after.chat.status, crate::psa::chat::ChatStatus::Closed);
    assert_eq!(after.chat.closed_by, Some(erin.user));
    assert_eq!(after.wait.ticket_offer_at, None, "no offer any more");
    assert!(!after.wait.ticket_offered);
    match r.leave_chat_as_ticket(erin, f.c.org, chat.id).await {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("one ticket per chat, got {other:?}"),
    }
    expect_invalid(
        r.post_chat_message(&f.tech, f.c.org, chat.id, "Sorry, I was away")
            .await,
        "chat",
    );
    let chain = actions(&f.c.msp, f.c.org).await;
    let at = chain
        .iter()
        .position(|a| a == "chat.ticketed")
        .expect("audited");
    assert_eq!(chain[at - 1], "ticket.created", "in the same commit");

    // An answer, even a late one, withdraws the offer for good.
    let answered = r
        .start_chat(erin, f.c.org, "The printer again")
        .await
        .expect("chat");
    f.c.clock.advance(chrono::Duration::minutes(5));
    assert!(
        r.chat_view(erin, f.c.org, answered.id)
            .await
            .expect("view")
            .wait
            .ticket_offered
    );
    r.post_chat_message(&f.tech, f.c.org, answered.id, "Here now: which printer?")
        .await
        .expect("staff answer");
    let view = r.chat_view(erin, f.c.org, answered.id).await.expect("view");
    assert!(view.wait.answered);
    assert_eq!(view.wait.ticket_offer_at, None);
    assert!(!view.wait.ticket_offered);
    expect_invalid(
        r.leave_chat_as_ticket(erin, f.c.org, answered.id).await,
        "chat",
    );
    // While it is open, starting again continues it: no second chat pages
    // the service desk.
    let again = r
        .start_chat(erin, f.c.org, "Still there?")
        .await
        .expect("continued");
    assert_eq!(again.id, answered.id);
    let said = r
        .chat_messages(
            erin,
            f.c.org,
            answered.id,
            crate::store::PageRequest::first(50),
        )
        .await
        .expect("messages");
    assert!(said.items.iter().any(|m| m.body == "Still there?"));
    r.close_chat(&f.tech, f.c.org, answered.id)
        .await
        .expect("closed by staff");
    // A closed chat offers nothing either.
    let closed = r
        .start_chat(erin, f.c.org, "Never mind")
        .await
        .expect("chat");
    assert_ne!(closed.id, answered.id, "a closed chat is not continued");
    r.close_chat(erin, f.c.org, closed.id)
        .await
        .expect("closed");
    f.c.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(
        r.chat_view(erin, f.c.org, closed.id)
            .await
            .expect("view")
            .wait
            .ticket_offer_at,
        None
    );
    expect_invalid(
        r.leave_chat_as_ticket(erin, f.c.org, closed.id).await,
        "chat",
    );

    // The wait is the policy's setting, checked when saved.
    let policy = r
        .sla_policies(&f.c.msp.admin, f.c.msp.msp, PageRequest::first(500))
        .await
        .expect("policies")
        .items
        .remove(0);
    for minutes in [0, 1441] {
        let mut terms = nine_to_five_policy("Northwind standard", true, Vec::new());
        terms.chat_answer_minutes = minutes;
        expect_invalid(
            r.update_sla_policy(&f.c.msp.admin, f.c.msp.msp, policy.id, terms)
                .await,
            "chat_answer_minutes",
        );
    }
    let mut terms = nine_to_five_policy("Northwind standard", true, Vec::new());
    terms.chat_answer_minutes = 10;
    let updated = r
        .update_sla_policy(&f.c.msp.admin, f.c.msp.msp, policy.id, terms)
        .await
        .expect("updated");
    assert_eq!(updated.chat_answer_minutes, 10);
    assert_eq!(
        r.chat_settings(frank, f.c.org).await.expect("settings"),
        crate::psa::chat::ChatSettings {
            answer_within_minutes: 10,
            time_zone: "America/New_York".into(),
        },
        "anyone who may start a chat reads them"
    );
    let viewer = member(&f.c.msp, f.c.org, "auditor@acme.test", Role::Viewer).await;
    expect_denied(
        r.chat_settings(&viewer, f.c.org).await,
        "a viewer starts no chat",
    );
    let slow = r
        .start_chat(erin, f.c.org, "Slow day?")
        .await
        .expect("chat");
    let wait = r
        .chat_view(erin, f.c.org, slow.id)
        .await
        .expect("view")
        .wait;
    assert_eq!(
        wait.answer_within_minutes, 10,
        "the client runs on its MSP's policy"
    );
    assert_eq!(
        wait.ticket_offer_at,
        Some(r.now() + chrono::Duration::minutes(10))
    );

    // The requester's chats, newest first, paged by the store.
    let first = r
        .my_chats(erin, f.c.org, crate::store::ScanRequest::first(2))
        .await
        .expect("mine");
    let ids: Vec<_> = first.items.iter().map(|c| c.id).collect();
    assert_eq!(ids, [slow.id, closed.id]);
    let rest = r
        .my_chats(
            erin,
            f.c.org,
            crate::store::ScanRequest::after(first.next, 2),
        )
        .await
        .expect("mine");
    let ids: Vec<_> = rest.items.iter().map(|c| c.id).collect();
    assert_eq!(ids, [answered.id, chat.id]);
    assert!(
        r.my_chats(frank, f.c.org, crate::store::ScanRequest::first(10))
            .await
            .expect("his")
            .items
            .is_empty(),
        "nobody else's"
    );
}

pub async fn psa_permissions_follow_the_matrix(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    let t = r
        .create_ticket(&f.requesters[0], org, new_ticket("Seed", Priority::Low))
        .await
        .expect("ticket");
    let viewer = member(&f.c.msp, org, "auditor@acme.test", Role::Viewer).await;
    let admin = member(&f.c.msp, org, "owner@acme.test", Role::OrgAdmin).await;
    let people = [
        ("technician", f.tech.clone()),
        ("org_admin", admin),
        ("employee", f.requesters[1].clone()),
        ("viewer", viewer),
        ("compliance_officer", f.c.officer.clone()),
    ];
    // columns: technician org_admin employee viewer compliance_officer
    let expected: [(&str, [bool; 5]); 6] = [
        ("manage ticket", [true, true, false, false, false]),
        ("read all tickets", [true, true, false, true, false]),
        ("submit ticket", [true, true, true, false, true]),
        ("track time", [true, true, false, false, false]),
        ("read sla policies", [true, true, false, true, false]),
        ("start chat", [true, true, true, false, true]),
    ];
    for (operation, allowed) in expected {
        for ((role, who), allow) in people.iter().zip(allowed) {
            let outcome: crate::Result<()> = match operation {
                "manage ticket" => r
                    .set_ticket_priority(who, org, t.id, Priority::Medium)
                    .await
                    .map(|_| ()),
                "read all tickets" => {
                    r.ticket(who, org, t.id)
                        .await
                        .map(|_| ())
                        .map_err(|e| match e {
                            Error::NotFound { .. } => Error::PermissionDenied {
                                permission: "tickets.read",
                            },
                            other => other,
                        })
                }
                "submit ticket" => r
                    .create_ticket(who, org, new_ticket(&format!("by {role}"), Priority::Low))
                    .await
                    .map(|_| ()),
                "track time" => r
                    .log_time(
                        who,
                        org,
                        NewTimeEntry {
                            ticket: None,
                            minutes: 5,
                            billable: false,
                            note: String::new(),
                            date: chrono::NaiveDate::from_ymd_opt(2025, 6, 2).expect("date"),
                        },
                    )
                    .await
                    .map(|_| ()),
                "read sla policies" => r
                    .sla_policies(who, org, crate::store::PageRequest::first(500))
                    .await
                    .map(|_| ()),
                "start chat" => r.start_chat(who, org, "hello").await.map(|_| ()),
                other => unreachable!("{other}"),
            };
            match (allow, outcome) {
                (true, Ok(())) | (false, Err(Error::PermissionDenied { .. })) => {}
                (want, got) => panic!("{role} / {operation}: expected allowed={want}, got {got:?}"),
            }
        }
    }
}

fn rule(clock: ClockKind, trigger: Trigger, action: Action) -> EscalationRule {
    EscalationRule {
        clock,
        trigger,
        action,
    }
}

/// An escalation may only name someone who works (reassign) or reads
/// (notify) the tickets it fires on: never a user of another tenant. The
/// policy is refused when saved, naming the rule's field.
pub async fn sla_escalation_targets_must_reach_the_tickets_org(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    // Another MSP, its client and that client's admin: the victim.
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    let stranger = member(&other, other.clients[0], "owner@south.test", Role::OrgAdmin).await;
    // The same MSP's other client, and its admin.
    let sibling = member(
        &f.c.msp,
        f.c.msp.clients[1],
        "owner@bolt.test",
        Role::OrgAdmin,
    )
    .await;
    let erin = &f.requesters[0];
    let at = |action| rule(ClockKind::Response, Trigger::AtBreach, action);
    let refused = [
        (
            vec![at(Action::Reassign {
                user: stranger.user,
            })],
            "escalations[0].action.user",
        ),
        (
            vec![
                at(Action::RaisePriority),
                at(Action::NotifyUser {
                    user: stranger.user,
                }),
            ],
            "escalations[1].action.user",
        ),
        (
            vec![at(Action::NotifyUser { user: sibling.user })],
            "escalations[0].action.user",
        ),
        // An employee reads only their own tickets and works none.
        (
            vec![at(Action::Reassign { user: erin.user })],
            "escalations[0].action.user",
        ),
        (
            vec![at(Action::NotifyUser { user: erin.user })],
            "escalations[0].action.user",
        ),
        (
            vec![at(Action::NotifyRole {
                role: Role::Employee,
            })],
            "escalations[0].action.role",
        ),
        // Nobody at all.
        (
            vec![at(Action::Reassign {
                user: crate::ids::UserId(Uuid::nil()),
            })],
            "escalations[0].action.user",
        ),
    ];
    for (rules, field) in refused {
        // A client's own policy, created and updated.
        expect_invalid(
            r.create_sla_policy(
                &f.c.msp.admin,
                f.c.org,
                nine_to_five_policy("Acme own", false, rules.clone()),
            )
            .await,
            field,
        );
        // An MSP-wide policy: only the MSP's own staff qualify.
        expect_invalid(
            r.create_sla_policy(
                &f.c.msp.admin,
                f.c.msp.msp,
                nine_to_five_policy("MSP other", false, rules),
            )
            .await,
            field,
        );
    }
    let policy = r
        .create_sla_policy(
            &f.c.msp.admin,
            f.c.org,
            nine_to_five_policy("Acme own", false, Vec::new()),
        )
        .await
        .expect("no escalations");
    expect_invalid(
        r.update_sla_policy(
            &f.c.msp.admin,
            f.c.org,
            policy.id,
            nine_to_five_policy(
                "Acme own",
                false,
                vec![at(Action::Reassign {
                    user: stranger.user,
                })],
            ),
        )
        .await,
        "escalations[0].action.user",
    );
    // Whoever works the client's tickets qualifies: its technician (an MSP
    // assignment), the MSP's admin (by delegation), a viewer to notify.
    let viewer = member(&f.c.msp, f.c.org, "auditor@acme.test", Role::Viewer).await;
    let fine = vec![
        at(Action::Reassign { user: f.tech.user }),
        at(Action::Reassign {
            user: f.c.msp.admin.user,
        }),
        at(Action::NotifyUser { user: viewer.user }),
        at(Action::NotifyRole {
            role: Role::Technician,
        }),
    ];
    let updated = r
        .update_sla_policy(
            &f.c.msp.admin,
            f.c.org,
            policy.id,
            nine_to_five_policy("Acme own", false, fine),
        )
        .await
        .expect("the client's own staff");
    assert_eq!(updated.escalations.len(), 4);
    // An MSP-wide policy names the MSP's staff (a viewer of one client is not).
    r.create_sla_policy(
        &f.c.msp.admin,
        f.c.msp.msp,
        nine_to_five_policy(
            "MSP urgent",
            false,
            vec![
                at(Action::Reassign { user: f.tech.user }),
                at(Action::NotifyUser {
                    user: f.c.msp.admin.user,
                }),
            ],
        ),
    )
    .await
    .expect("the MSP's staff");
    expect_invalid(
        r.create_sla_policy(
            &f.c.msp.admin,
            f.c.msp.msp,
            nine_to_five_policy(
                "MSP viewer",
                false,
                vec![at(Action::NotifyUser { user: viewer.user })],
            ),
        )
        .await,
        "escalations[0].action.user",
    );
    assert_eq!(
        r.sla_policies(
            &f.c.msp.admin,
            f.c.org,
            crate::store::PageRequest::first(500)
        )
        .await
        .expect("policies")
        .items
        .len(),
        1,
        "nothing refused was written"
    );
}

/// A target that qualified when the policy was saved but no longer does when
/// the escalation fires (unassigned since, or an MSP's technician on a client
/// they are not assigned to) is skipped: nobody is assigned or notified, the
/// ticket's org audits the skip with its reason, and the escalation counts
/// as fired, so the sweep does not retry it.
pub async fn sla_escalation_skips_a_target_who_no_longer_qualifies(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let at = |action| rule(ClockKind::Response, Trigger::AtBreach, action);
    // The client's own policy names its assigned technician.
    r.create_sla_policy(
        &f.c.msp.admin,
        f.c.org,
        nine_to_five_policy(
            "Acme own",
            true,
            vec![
                at(Action::Reassign { user: f.tech.user }),
                at(Action::NotifyUser { user: f.tech.user }),
            ],
        ),
    )
    .await
    .expect("the technician works Acme's tickets");
    // Monday 2025-06-16 09:00 EDT; a critical ticket's response is due in 30 min.
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    let acme = r
        .create_ticket(
            &f.requesters[0],
            f.c.org,
            new_ticket("Server down", Priority::Critical),
        )
        .await
        .expect("ticket");
    // The MSP-wide policy names the same technician; the other client runs
    // on it, where the technician was never assigned.
    let msp_policy = r
        .sla_policies(
            &f.c.msp.admin,
            f.c.msp.msp,
            crate::store::PageRequest::first(500),
        )
        .await
        .expect("policies")
        .items
        .into_iter()
        .next()
        .expect("the MSP default");
    r.update_sla_policy(
        &f.c.msp.admin,
        f.c.msp.msp,
        msp_policy.id,
        nine_to_five_policy(
            "Northwind standard",
            true,
            vec![at(Action::Reassign { user: f.tech.user })],
        ),
    )
    .await
    .expect("the MSP's technician");
    let bolt = f.c.msp.clients[1];
    let bolt_ticket = r
        .create_ticket(
            &f.c.msp.admin,
            bolt,
            new_ticket("Printer down", Priority::Critical),
        )
        .await
        .expect("ticket");
    // The technician leaves Acme before the escalation fires.
    r.unassign_staff(&f.c.msp.admin, f.c.msp.msp, f.c.org, f.tech.user)
        .await
        .expect("unassigned");
    f.c.clock.set(utc("2025-06-16T13:30:00Z"));
    let fired = r.run_escalations(f.c.org).await.expect("sweep");
    assert_eq!(
        fired.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        ["0:response", "1:response"],
        "recorded as fired"
    );
    let after = r
        .ticket(&f.c.msp.admin, f.c.org, acme.id)
        .await
        .expect("ticket");
    assert_eq!(after.assignee, None, "not assigned to someone who left");
    let outbox = r.pending_notifications(f.c.org, 100).await.expect("outbox");
    assert!(
        outbox.iter().all(|n| n.recipient != Some(f.tech.user)),
        "no notification to someone who left: {outbox:?}"
    );
    assert!(
        r.run_escalations(f.c.org).await.expect("sweep").is_empty(),
        "a skipped escalation is not retried"
    );
    let skipped: Vec<_> = store::audit_chain(r.store(), f.c.org)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == "ticket.escalation_skipped")
        .collect();
    assert_eq!(skipped.len(), 2, "one audit event per skipped action");
    for (event, key) in skipped.iter().zip(["0:response", "1:response"]) {
        assert_eq!(event.target.id, acme.id.to_string());
        assert_eq!(event.details["escalation"], key);
        assert_eq!(event.details["user"], json!(f.tech.user));
        assert!(
            event.details["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{event:?}"
        );
    }
    // The MSP's technician never worked Bolt's tickets.
    let fired = r.run_escalations(bolt).await.expect("sweep");
    assert_eq!(fired.len(), 1);
    let after = r
        .ticket(&f.c.msp.admin, bolt, bolt_ticket.id)
        .await
        .expect("ticket");
    assert_eq!(after.assignee, None);
    assert!(
        actions(&f.c.msp, bolt)
            .await
            .contains(&"ticket.escalation_skipped".to_owned())
    );
}

/// A ticket is given only to someone who works the org's tickets (the rule
/// of an escalation's `reassign`): never another tenant's user or an
/// employee; the MSP's admin (by delegation) and an assigned technician.
pub async fn tickets_are_assigned_to_those_who_work_them(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let t = r
        .create_ticket(&f.requesters[0], f.c.org, new_ticket("VPN", Priority::Low))
        .await
        .expect("ticket");
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    let stranger = member(&other, other.clients[0], "owner@south.test", Role::OrgAdmin).await;
    for who in [stranger.user, f.requesters[1].user, f.c.officer.user] {
        expect_invalid(
            r.assign_ticket(&f.tech, f.c.org, t.id, who).await,
            "assignee",
        );
    }
    assert_eq!(
        r.ticket(&f.tech, f.c.org, t.id)
            .await
            .expect("ticket")
            .assignee,
        None
    );
    for who in [f.c.msp.admin.user, f.tech.user] {
        let assigned = r
            .assign_ticket(&f.tech, f.c.org, t.id, who)
            .await
            .expect("staff who work the client's tickets");
        assert_eq!(assigned.assignee, Some(who));
    }
}

/// Every ticket the caller sees in `org`, oldest first (one big page).
async fn all_tickets(
    r: &crate::Regentra,
    who: &crate::Principal,
    org: crate::ids::OrgId,
) -> Vec<crate::psa::ticket::Ticket> {
    r.ticket_queue(
        who,
        org,
        crate::psa::queue::TicketQuery {
            limit: crate::store::MAX_PAGE,
            ..Default::default()
        },
    )
    .await
    .expect("the queue reads")
    .items
}

/// Every page of `query`, followed to the end with its cursors.
async fn walk_queue(
    r: &Regentra,
    who: &Principal,
    org: OrgId,
    query: crate::psa::queue::TicketQuery,
) -> Vec<crate::ids::TicketId> {
    let mut seen = Vec::new();
    let mut query = query;
    loop {
        let page = r
            .ticket_queue(who, org, query.clone())
            .await
            .expect("the queue reads");
        assert!(
            page.items.len() <= query.limit,
            "a page holds at most its limit"
        );
        seen.extend(page.items.iter().map(|t| t.id));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return seen,
        }
    }
}

pub async fn ticket_queues_filter_order_and_page_in_the_store(store: Arc<dyn Store>) {
    use crate::psa::queue::{AssigneeFilter, QueueSort, SlaState, TicketQuery, next_due};
    let counting = Arc::new(crate::testing::counting::CountingStore::new(store));
    let f = psa_fixture(counting.clone(), Vec::new()).await;
    let r = f.c.r();
    // Monday 2025-06-16 09:00 EDT; tickets a minute apart.
    let start = utc("2025-06-16T13:00:00Z");
    let mut all = Vec::new();
    for i in 0..36i64 {
        f.c.clock.set(start + chrono::Duration::minutes(i));
        let priority = Priority::ALL[(i % 4) as usize];
        let who = &f.requesters[(i % 2) as usize];
        let t = r
            .create_ticket(who, f.c.org, new_ticket(&format!("Issue {i}"), priority))
            .await
            .expect("ticket");
        let t = if i % 3 == 0 {
            r.assign_ticket(&f.tech, f.c.org, t.id, f.tech.user)
                .await
                .expect("assigned")
        } else {
            t
        };
        let t = match i % 7 {
            5 => r
                .set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Pending)
                .await
                .expect("pending"),
            6 => r
                .set_ticket_status(&f.tech, f.c.org, t.id, TicketStatus::Resolved)
                .await
                .expect("resolved"),
            _ => t,
        };
        all.push(t);
    }
    let now = utc("2025-06-16T14:30:00Z");
    f.c.clock.set(now);
    let org = f.c.org;
    let reference = |keep: &dyn Fn(&crate::psa::ticket::Ticket) -> bool, sort: QueueSort| {
        let mut kept: Vec<&crate::psa::ticket::Ticket> = all.iter().filter(|t| keep(t)).collect();
        match sort {
            QueueSort::Oldest => kept.sort_by_key(|t| t.id),
            QueueSort::Newest => kept.sort_by_key(|t| std::cmp::Reverse(t.id)),
            QueueSort::Due => kept.sort_by_key(|t| (next_due(t).is_none(), next_due(t), t.id)),
        }
        kept.into_iter().map(|t| t.id).collect::<Vec<_>>()
    };
    let q = |limit: usize| TicketQuery {
        limit,
        ..TicketQuery::default()
    };
    // Every order, no filter, pages of 5: the whole list once, in order.
    for sort in [QueueSort::Oldest, QueueSort::Newest, QueueSort::Due] {
        assert_eq!(
            walk_queue(r, &f.tech, org, TicketQuery { sort, ..q(5) }).await,
            reference(&|_| true, sort),
            "{sort:?}"
        );
    }
    // Open, high or critical, mine, by due time.
    let mine = TicketQuery {
        statuses: crate::psa::queue::open_statuses(),
        priorities: [Priority::High, Priority::Critical].into(),
        assignee: AssigneeFilter::User(f.tech.user),
        sort: QueueSort::Due,
        ..q(2)
    };
    let expected = reference(
        &|t| {
            t.status.is_active()
                && matches!(t.priority, Priority::High | Priority::Critical)
                && t.assignee == Some(f.tech.user)
        },
        QueueSort::Due,
    );
    assert!(!expected.is_empty());
    assert_eq!(walk_queue(r, &f.tech, org, mine.clone()).await, expected);
    // Unassigned and pending, newest first.
    let unassigned = TicketQuery {
        statuses: [TicketStatus::Pending].into(),
        assignee: AssigneeFilter::Unassigned,
        sort: QueueSort::Newest,
        ..q(3)
    };
    assert_eq!(
        walk_queue(r, &f.tech, org, unassigned).await,
        reference(
            &|t| t.status == TicketStatus::Pending && t.assignee.is_none(),
            QueueSort::Newest
        )
    );
    // One requester's tickets assigned to the technician.
    let erin = f.requesters[0].user;
    assert_eq!(
        walk_queue(
            r,
            &f.tech,
            org,
            TicketQuery {
                requester: Some(erin),
                assignee: AssigneeFilter::User(f.tech.user),
                ..q(4)
            }
        )
        .await,
        reference(
            &|t| t.requester == erin && t.assignee == Some(f.tech.user),
            QueueSort::Oldest
        )
    );
    // SLA states are ranges of the due time: they split the running tickets.
    let state_of = |t: &crate::psa::ticket::Ticket| {
        next_due(t).map(|due| {
            if due < now {
                SlaState::Breached
            } else if due < now + crate::psa::queue::AT_RISK_WITHIN {
                SlaState::AtRisk
            } else {
                SlaState::OnTrack
            }
        })
    };
    let mut states_seen = 0;
    for state in [SlaState::Breached, SlaState::AtRisk, SlaState::OnTrack] {
        let found = walk_queue(
            r,
            &f.tech,
            org,
            TicketQuery {
                sla: Some(state),
                sort: QueueSort::Due,
                ..q(4)
            },
        )
        .await;
        let expected = reference(&|t| state_of(t) == Some(state), QueueSort::Due);
        states_seen += usize::from(!expected.is_empty());
        assert_eq!(found, expected, "{state:?}");
    }
    assert!(states_seen >= 2, "the fixture spans several SLA states");
    match r
        .ticket_queue(
            &f.tech,
            org,
            TicketQuery {
                sla: Some(SlaState::Breached),
                ..q(4)
            },
        )
        .await
    {
        Err(Error::Validation(errors)) => assert_eq!(errors[0].field, "sort"),
        other => panic!("an SLA filter needs the due order, got {other:?}"),
    }
    // A requester limited to their own tickets gets only those.
    assert_eq!(
        walk_queue(r, &f.requesters[1], org, q(50)).await,
        reference(&|t| t.requester == f.requesters[1].user, QueueSort::Oldest)
    );
    // A page reads about a page, not the org.
    counting.reset();
    let page = r
        .ticket_queue(&f.tech, org, mine)
        .await
        .expect("first page");
    assert_eq!(page.items.len(), 2);
    assert!(
        counting.returned("ticket") <= 4 * 4 + 4,
        "a filtered page of 2 read {} tickets of 36",
        counting.returned("ticket")
    );
    // Another tenant's queue is not found.
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.ticket_queue(&other.admin, org, q(5)).await,
        "another MSP's queue",
    );
}

pub async fn the_cross_client_queue_merges_what_the_caller_reaches(store: Arc<dyn Store>) {
    use crate::psa::queue::{QueueSort, TicketQuery};
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (one, two) = (f.c.org, f.c.clients_other());
    let mut made = Vec::new();
    for (i, org) in [one, two, one, two, one].into_iter().enumerate() {
        f.c.clock
            .set(utc("2025-06-16T13:00:00Z") + chrono::Duration::minutes(i as i64));
        let who = if org == one {
            &f.requesters[0]
        } else {
            &f.c.msp.admin
        };
        let priority = Priority::ALL[i % 4];
        made.push(
            r.create_ticket(who, org, new_ticket(&format!("T{i}"), priority))
                .await
                .expect("ticket"),
        );
    }
    // Another MSP's ticket never shows.
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    r.create_ticket(
        &other.admin,
        other.clients[0],
        new_ticket("Theirs", Priority::High),
    )
    .await
    .expect("their ticket");
    let walk = |who: Principal, sort: QueueSort| {
        let r = r.clone();
        async move {
            let mut seen = Vec::new();
            let mut query = TicketQuery {
                sort,
                limit: 2,
                ..TicketQuery::default()
            };
            loop {
                let page = r.my_ticket_queue(&who, query.clone()).await.expect("queue");
                seen.extend(page.items.iter().map(|t| t.id));
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => return seen,
                }
            }
        }
    };
    let ids = |keep: &dyn Fn(&crate::psa::ticket::Ticket) -> bool| {
        made.iter()
            .filter(|t| keep(t))
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        walk(f.c.msp.admin.clone(), QueueSort::Oldest).await,
        ids(&|_| true),
        "the MSP admin: both clients, merged in one order"
    );
    let mut newest = ids(&|_| true);
    newest.reverse();
    assert_eq!(walk(f.c.msp.admin.clone(), QueueSort::Newest).await, newest);
    assert_eq!(
        walk(f.tech.clone(), QueueSort::Oldest).await,
        ids(&|t| t.org == one),
        "a technician assigned to one client sees that client"
    );
    assert_eq!(
        walk(f.requesters[0].clone(), QueueSort::Oldest).await,
        ids(&|t| t.requester == f.requesters[0].user),
        "an employee sees their own"
    );
    let mut by_due: Vec<&crate::psa::ticket::Ticket> = made.iter().collect();
    by_due.sort_by_key(|t| (crate::psa::queue::next_due(t), t.id));
    assert_eq!(
        walk(f.c.msp.admin.clone(), QueueSort::Due).await,
        by_due.iter().map(|t| t.id).collect::<Vec<_>>(),
        "by due time across clients"
    );
    // An org that requires MFA of someone without it drops out of their
    // queue once their grace period is over, as its own queue refuses them.
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
        walk(f.c.msp.admin.clone(), QueueSort::Oldest).await,
        ids(&|t| t.org == one)
    );
}

/// One article by id, under the search's rule: staff read internal
/// articles and drafts, everyone else only published portal articles
/// (anything else is `NotFound`, as another org's is). The portal's own
/// reads show its articles only, even to staff.
pub async fn knowledge_base_articles_are_read_by_id_under_the_search_rule(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (org, erin) = (f.c.org, &f.requesters[0]);
    let add = |title: &str, visibility, published| {
        r.add_article(
            &f.tech,
            org,
            NewArticle {
                title: title.into(),
                body: format!("{title}: the steps."),
                tags: BTreeSet::new(),
                visibility,
                published,
            },
        )
    };
    let public = add("Printer setup", Visibility::Portal, true)
        .await
        .expect("article");
    let internal = add("Printer admin notes", Visibility::Internal, true)
        .await
        .expect("article");
    let draft = add("Printer draft", Visibility::Portal, false)
        .await
        .expect("article");

    let read = r.article(erin, org, public.id).await.expect("published");
    assert_eq!(read, public);
    assert_eq!(
        r.portal_article(erin, org, public.id).await.expect("read"),
        public
    );
    for hidden in [internal.id, draft.id] {
        expect_not_found(r.article(erin, org, hidden).await, "employee");
        expect_not_found(r.portal_article(erin, org, hidden).await, "employee");
        assert_eq!(
            r.article(&f.tech, org, hidden).await.expect("staff").id,
            hidden,
            "staff read every article"
        );
        expect_not_found(
            r.portal_article(&f.tech, org, hidden).await,
            "the portal shows staff what it shows everyone",
        );
    }
    let portal_titles = |items: Vec<crate::psa::records::Article>| {
        items.into_iter().map(|a| a.title).collect::<Vec<_>>()
    };
    for query in ["", "printer"] {
        assert_eq!(
            portal_titles(
                r.search_portal_articles(&f.tech, org, query, None, 50)
                    .await
                    .expect("search")
                    .items
            ),
            ["Printer setup"],
            "{query:?}: the portal's articles only, for staff too"
        );
    }
    // Another org's article is not found, by id or inside the other org.
    let other = f.c.msp.clients[1];
    let technician_elsewhere = member(&f.c.msp, other, "tess@bolt.test", Role::Technician).await;
    expect_not_found(
        r.article(&technician_elsewhere, other, public.id).await,
        "the id in another org",
    );
    expect_not_found(
        r.article(&technician_elsewhere, org, public.id).await,
        "an org the caller is not in",
    );
}

/// Portal readers say whether an article helped them, once each (a later
/// vote replaces theirs); the counts follow, and the portal lists its
/// articles most useful first. Only a published portal article of the org
/// can be rated.
pub async fn portal_articles_are_rated_and_listed_most_useful_first(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (org, [erin, frank]) = (f.c.org, &f.requesters);
    let add = |title: &str, visibility, published| {
        r.add_article(
            &f.tech,
            org,
            NewArticle {
                title: title.into(),
                body: format!("{title}: the steps."),
                tags: BTreeSet::new(),
                visibility,
                published,
            },
        )
    };
    let vpn = add("VPN setup", Visibility::Portal, true)
        .await
        .expect("article");
    let printer = add("Printer setup", Visibility::Portal, true)
        .await
        .expect("article");
    let mail = add("Mail on the phone", Visibility::Portal, true)
        .await
        .expect("article");
    let internal = add("Admin notes", Visibility::Internal, true)
        .await
        .expect("article");
    let draft = add("Draft", Visibility::Portal, false)
        .await
        .expect("article");
    let useful = || async {
        r.portal_articles_by_usefulness(erin, org, None, 50)
            .await
            .expect("list")
            .items
            .into_iter()
            .map(|a| a.title)
            .collect::<Vec<_>>()
    };
    let mut unrated = useful().await;
    unrated.sort();
    assert_eq!(
        unrated,
        ["Mail on the phone", "Printer setup", "VPN setup"],
        "every portal article, and only those, before any vote"
    );

    let rated = r.rate_article(erin, org, vpn.id, true).await.expect("vote");
    assert_eq!((rated.helpful, rated.not_helpful), (1, 0));
    assert_eq!(rated.updated_at, vpn.updated_at, "a vote is not an edit");
    r.rate_article(frank, org, vpn.id, true)
        .await
        .expect("vote");
    r.rate_article(erin, org, printer.id, true)
        .await
        .expect("vote");
    r.rate_article(frank, org, mail.id, false)
        .await
        .expect("vote");
    assert_eq!(
        useful().await,
        ["VPN setup", "Printer setup", "Mail on the phone"],
        "most helpful first, the unhelpful last"
    );

    // The same vote again counts once; a changed vote moves.
    let again = r.rate_article(erin, org, vpn.id, true).await.expect("vote");
    assert_eq!((again.helpful, again.not_helpful), (2, 0));
    let changed = r
        .rate_article(erin, org, vpn.id, false)
        .await
        .expect("vote");
    assert_eq!((changed.helpful, changed.not_helpful), (1, 1));
    let read = r.portal_article(erin, org, vpn.id).await.expect("read");
    assert_eq!((read.helpful, read.not_helpful), (1, 1), "stored");
    assert_eq!(
        useful().await,
        ["Printer setup", "VPN setup", "Mail on the phone"],
        "one helpful and no unhelpful before one of each"
    );

    // Paged: one article a page, the walk goes on where it stopped.
    let first = r
        .portal_articles_by_usefulness(erin, org, None, 1)
        .await
        .expect("page");
    assert_eq!(first.items[0].id, printer.id);
    let second = r
        .portal_articles_by_usefulness(erin, org, first.next, 1)
        .await
        .expect("page");
    assert_eq!(second.items[0].id, vpn.id);

    for hidden in [internal.id, draft.id] {
        expect_not_found(
            r.rate_article(erin, org, hidden, true).await,
            "an internal article or a draft",
        );
    }
    assert!(
        actions(&f.c.msp, org)
            .await
            .contains(&"kb.article_rated".to_owned()),
        "votes are audited"
    );

    // Another org's article is not found, in either org.
    let other = f.c.msp.clients[1];
    let tess = member(&f.c.msp, other, "tess@bolt.test", Role::Technician).await;
    expect_not_found(
        r.rate_article(&tess, other, vpn.id, true).await,
        "the id in another org",
    );
    expect_not_found(
        r.rate_article(&tess, org, vpn.id, true).await,
        "an org the caller is not in",
    );
    let read = r.portal_article(erin, org, vpn.id).await.expect("read");
    assert_eq!((read.helpful, read.not_helpful), (1, 1), "unchanged");
}

/// The assets assigned to a person: staff who read the inventory ask for
/// anyone; the person themselves only where the org's portal shows people
/// their assets, and only their own.
pub async fn a_persons_assets_follow_assignment_and_the_portal_setting(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (org, [erin, frank]) = (f.c.org, &f.requesters);
    let asset = |name: &str, to: Option<crate::UserId>, status| NewAsset {
        name: name.into(),
        kind: "laptop".into(),
        serial: Some(format!("SN-{name}")),
        assigned_user: to,
        status,
        attributes: [("recovery_key".to_owned(), "staff only".to_owned())].into(),
    };
    use crate::psa::records::AssetStatus;
    for (name, to, status) in [
        ("Erin laptop", Some(erin.user), AssetStatus::InUse),
        ("Spare laptop", None, AssetStatus::InStock),
        ("Frank laptop", Some(frank.user), AssetStatus::InUse),
        ("Erin old laptop", Some(erin.user), AssetStatus::Retired),
    ] {
        r.add_asset(&f.tech, org, asset(name, to, status))
            .await
            .expect("asset");
    }
    let names = |page: crate::store::Listing<crate::psa::records::Asset>| {
        page.items
            .into_iter()
            .map(|a| (a.name, a.status))
            .collect::<Vec<_>>()
    };
    let erins = vec![
        ("Erin laptop".to_owned(), AssetStatus::InUse),
        ("Erin old laptop".to_owned(), AssetStatus::Retired),
    ];
    assert_eq!(
        names(
            r.assets_of(&f.tech, org, erin.user, PageRequest::first(50))
                .await
                .expect("staff")
        ),
        erins
    );
    // Paged by the store: one at a time, in the order they were added.
    let first = r
        .assets_of(&f.tech, org, erin.user, PageRequest::first(1))
        .await
        .expect("page");
    assert_eq!(first.items.len(), 1);
    let second = r
        .assets_of(&f.tech, org, erin.user, PageRequest::after(first.next, 1))
        .await
        .expect("page");
    assert_eq!(names(second), erins[1..]);

    expect_not_found(
        r.assets_of(erin, org, erin.user, PageRequest::first(50))
            .await,
        "no portal shows them yet",
    );
    r.update_portal_settings(
        &f.c.msp.admin,
        org,
        PortalUpdate {
            enabled: Some(true),
            slug: Some(Some("acme".into())),
            ..Default::default()
        },
    )
    .await
    .expect("portal");
    expect_not_found(
        r.assets_of(erin, org, erin.user, PageRequest::first(50))
            .await,
        "the portal does not show assets",
    );
    r.update_portal_settings(
        &f.c.msp.admin,
        org,
        PortalUpdate {
            show_assets: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect("shown");
    assert_eq!(
        names(
            r.assets_of(erin, org, erin.user, PageRequest::first(50))
                .await
                .expect("her own")
        ),
        erins
    );
    // The inventory's notes are for staff, not for the holder.
    let own = r
        .assets_of(erin, org, erin.user, PageRequest::first(50))
        .await
        .expect("her own");
    assert!(own.items.iter().all(|a| a.attributes.is_empty()));
    let staff_view = r
        .assets_of(&f.tech, org, erin.user, PageRequest::first(50))
        .await
        .expect("staff");
    assert!(
        staff_view
            .items
            .iter()
            .all(|a| a.attributes.contains_key("recovery_key"))
    );
    expect_denied(
        r.assets_of(erin, org, frank.user, PageRequest::first(50))
            .await,
        "someone else's",
    );
    expect_denied(
        r.assets(erin, org, PageRequest::first(50)).await,
        "the inventory",
    );
    assert!(
        r.assets_of(&f.c.officer, org, f.c.officer.user, PageRequest::first(50))
            .await
            .expect("a compliance officer's own")
            .items
            .is_empty()
    );
    let stranger = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.assets_of(&stranger.admin, org, erin.user, PageRequest::first(50))
            .await,
        "another MSP",
    );
}

/// Times are shown in the zone of the calendar an org's tickets run on:
/// its own SLA policy's, else its MSP's default for clients; UTC without.
pub async fn an_orgs_time_zone_is_its_sla_calendars(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    assert_eq!(
        r.time_zone(f.c.org).await.expect("zone"),
        crate::sla::Tz::America__New_York,
        "the MSP's default for clients"
    );
    let mut own = nine_to_five_policy("Acme hours", true, Vec::new());
    own.calendar.timezone = "Europe/London".into();
    r.create_sla_policy(&f.c.msp.admin, f.c.org, own)
        .await
        .expect("own policy");
    assert_eq!(
        r.time_zone(f.c.org).await.expect("zone"),
        crate::sla::Tz::Europe__London
    );
    let elsewhere = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    assert_eq!(
        r.time_zone(elsewhere.clients[0]).await.expect("zone"),
        crate::sla::Tz::UTC,
        "no policy anywhere"
    );
}

pub async fn staff_pages_name_only_the_orgs_people(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    // Another client's person, and someone of no org here.
    let stranger = member(
        &f.c.msp,
        f.c.msp.clients[1],
        "sam@other.test",
        Role::Employee,
    )
    .await;
    let admin_user = f.c.msp.admin.user;
    let named = r
        .people_named(
            &f.tech,
            f.c.org,
            &[
                f.requesters[0].user,
                f.tech.user,
                admin_user,
                stranger.user,
                f.requesters[0].user,
            ],
        )
        .await
        .expect("names");
    let emails: Vec<&str> = named.iter().map(|p| p.email.as_str()).collect();
    assert!(emails.contains(&"erin@acme.test"), "{emails:?}");
    assert!(
        emails.contains(&"tom@northwind.test"),
        "an assigned technician"
    );
    assert_eq!(
        named.len(),
        3,
        "erin, tom and the MSP's admin, once each: {emails:?}"
    );
    assert!(
        !emails.contains(&"sam@other.test"),
        "another client's person is nobody here"
    );
    // An employee reads only their own tickets: not the org's people.
    assert!(matches!(
        r.people_named(&f.requesters[1], f.c.org, &[f.tech.user])
            .await,
        Err(Error::PermissionDenied { .. })
    ));
    // Another MSP's admin: the org is not found.
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    assert!(matches!(
        r.people_named(&other.admin, f.c.org, &[f.tech.user]).await,
        Err(Error::NotFound { .. })
    ));
}
