//! The numbers of a queue's filter bar, counted by the store.

use super::*;
use crate::UserId;
use crate::psa::queue::{
    AT_RISK_WITHIN, AssigneeFilter, SlaCounts, SlaState, TicketCounts, TicketQuery, next_due,
};
use crate::psa::ticket::Ticket;

/// Where a ticket stands against its SLA at `now`, as the queue's ranges
/// put it.
fn state_of(t: &Ticket, now: DateTime<Utc>) -> Option<SlaState> {
    next_due(t).map(|due| {
        if due < now {
            SlaState::Breached
        } else if due < now + AT_RISK_WITHIN {
            SlaState::AtRisk
        } else {
            SlaState::OnTrack
        }
    })
}

/// Whether the queue `q` lists `t` at `now`.
fn lists(q: &TicketQuery, t: &Ticket, now: DateTime<Utc>) -> bool {
    (q.statuses.is_empty() || q.statuses.contains(&t.status))
        && (q.priorities.is_empty() || q.priorities.contains(&t.priority))
        && match q.assignee {
            AssigneeFilter::Anyone => true,
            AssigneeFilter::Unassigned => t.assignee.is_none(),
            AssigneeFilter::User(u) => t.assignee == Some(u),
        }
        && q.requester.is_none_or(|r| t.requester == r)
        && q.sla.is_none_or(|s| state_of(t, now) == Some(s))
}

/// The counts of [`TicketCounts`]' definition, computed from every ticket.
fn reference(q: &TicketQuery, me: UserId, tickets: &[Ticket], now: DateTime<Utc>) -> TicketCounts {
    let count = |q: &TicketQuery| tickets.iter().filter(|t| lists(q, t, now)).count() as u64;
    let with = |f: &dyn Fn(&mut TicketQuery)| {
        let mut q = q.clone();
        f(&mut q);
        count(&q)
    };
    TicketCounts {
        total: count(q),
        by_status: TicketStatus::ALL
            .into_iter()
            .map(|s| (s, with(&|q| q.statuses = BTreeSet::from([s]))))
            .collect(),
        by_sla: SlaCounts {
            on_track: with(&|q| q.sla = Some(SlaState::OnTrack)),
            at_risk: with(&|q| q.sla = Some(SlaState::AtRisk)),
            breached: with(&|q| q.sla = Some(SlaState::Breached)),
        },
        mine: with(&|q| q.assignee = AssigneeFilter::User(me)),
        unassigned: with(&|q| q.assignee = AssigneeFilter::Unassigned),
    }
}

pub async fn queue_counts_are_counted_by_the_store(store: Arc<dyn Store>) {
    let counting = Arc::new(crate::testing::counting::CountingStore::new(store));
    let f = psa_fixture(counting.clone(), Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    // Monday 2025-06-16 09:00 EDT; tickets a minute apart, of every
    // priority, some assigned, some pending or resolved.
    let start = utc("2025-06-16T13:00:00Z");
    let mut all = Vec::new();
    for i in 0..30i64 {
        f.c.clock.set(start + chrono::Duration::minutes(i));
        let who = &f.requesters[(i % 2) as usize];
        let t = r
            .create_ticket(
                who,
                org,
                new_ticket(&format!("Issue {i}"), Priority::ALL[(i % 4) as usize]),
            )
            .await
            .expect("ticket");
        let t = if i % 3 == 0 {
            r.assign_ticket(&f.tech, org, t.id, f.tech.user)
                .await
                .expect("assigned")
        } else {
            t
        };
        let t = match i % 7 {
            5 => r
                .set_ticket_status(&f.tech, org, t.id, TicketStatus::Pending)
                .await
                .expect("pending"),
            6 => r
                .set_ticket_status(&f.tech, org, t.id, TicketStatus::Resolved)
                .await
                .expect("resolved"),
            _ => t,
        };
        all.push(t);
    }
    let now = utc("2025-06-16T14:30:00Z");
    f.c.clock.set(now);
    let me = f.tech.user;
    let erin = f.requesters[0].user;
    let queries = [
        TicketQuery::default(),
        TicketQuery {
            statuses: crate::psa::queue::open_statuses(),
            priorities: [Priority::High, Priority::Critical].into(),
            ..TicketQuery::default()
        },
        TicketQuery {
            assignee: AssigneeFilter::User(me),
            ..TicketQuery::default()
        },
        TicketQuery {
            statuses: [TicketStatus::Pending, TicketStatus::Resolved].into(),
            assignee: AssigneeFilter::Unassigned,
            ..TicketQuery::default()
        },
        TicketQuery {
            sla: Some(SlaState::Breached),
            ..TicketQuery::default()
        },
        TicketQuery {
            priorities: [Priority::Low].into(),
            sla: Some(SlaState::OnTrack),
            ..TicketQuery::default()
        },
    ];
    let mut spans_sla_states = BTreeSet::new();
    for query in &queries {
        counting.reset();
        let counts = r
            .ticket_counts(&f.tech, org, query.clone())
            .await
            .expect("counts");
        assert_eq!(counts, reference(query, me, &all, now), "{query:?}");
        assert_eq!(
            counting.returned("ticket"),
            0,
            "counted by the store, no ticket read: {query:?}"
        );
        for (state, n) in [
            ("on track", counts.by_sla.on_track),
            ("at risk", counts.by_sla.at_risk),
            ("breached", counts.by_sla.breached),
        ] {
            if n > 0 {
                spans_sla_states.insert(state);
            }
        }
    }
    assert!(spans_sla_states.len() >= 2, "{spans_sla_states:?}");
    let everything = r
        .ticket_counts(&f.tech, org, TicketQuery::default())
        .await
        .expect("counts");
    assert_eq!(everything.total, 30);
    assert_eq!(everything.by_status.values().sum::<u64>(), 30);
    assert_eq!(
        everything.mine + everything.unassigned,
        30,
        "one assignee here"
    );

    // One requester's tickets: the queue filters their assignees one by
    // one, so those numbers read that person's tickets, no one else's.
    let hers = TicketQuery {
        requester: Some(erin),
        ..TicketQuery::default()
    };
    counting.reset();
    assert_eq!(
        r.ticket_counts(&f.tech, org, hers.clone())
            .await
            .expect("counts"),
        reference(&hers, me, &all, now)
    );
    assert!(
        counting.returned("ticket") <= 2 * 15,
        "{}",
        counting.returned("ticket")
    );
    // A requester limited to their own gets their own numbers, whatever
    // they ask.
    assert_eq!(
        r.ticket_counts(&f.requesters[0], org, TicketQuery::default())
            .await
            .expect("own"),
        reference(&hers, erin, &all, now)
    );
    // Another tenant's counts are not found; the query's own checks hold.
    let southwind = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.ticket_counts(&southwind.admin, org, TicketQuery::default())
            .await,
        "another MSP's client",
    );
    // A compliance manager submits tickets but does not read the desk's:
    // they count their own, none here.
    assert_eq!(
        r.ticket_counts(&f.c.manager, org, TicketQuery::default())
            .await
            .expect("own")
            .total,
        0
    );
}

pub async fn cross_org_queue_counts_sum_what_the_caller_reaches(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (one, two) = (f.c.org, f.c.clients_other());
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    let mut made = Vec::new();
    for (i, org) in [one, two, one, two, one].into_iter().enumerate() {
        let who = if org == one {
            &f.requesters[0]
        } else {
            &f.c.msp.admin
        };
        let t = r
            .create_ticket(who, org, new_ticket(&format!("T{i}"), Priority::ALL[i % 4]))
            .await
            .expect("ticket");
        made.push(if i == 1 {
            r.assign_ticket(&f.c.msp.admin, org, t.id, f.c.msp.admin.user)
                .await
                .expect("assigned")
        } else {
            t
        });
    }
    let southwind = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    r.create_ticket(
        &southwind.admin,
        southwind.clients[0],
        new_ticket("Theirs", Priority::High),
    )
    .await
    .expect("their ticket");
    let now = utc("2025-06-16T13:30:00Z");
    f.c.clock.set(now);
    let admin = f.c.msp.admin.user;
    assert_eq!(
        r.my_ticket_counts(&f.c.msp.admin, TicketQuery::default())
            .await
            .expect("counts"),
        reference(&TicketQuery::default(), admin, &made, now),
        "both clients, summed"
    );
    let ones: Vec<Ticket> = made.iter().filter(|t| t.org == one).cloned().collect();
    assert_eq!(
        r.my_ticket_counts(&f.tech, TicketQuery::default())
            .await
            .expect("counts"),
        reference(&TicketQuery::default(), f.tech.user, &ones, now),
        "a technician assigned to one client counts that client"
    );
    let erins: Vec<Ticket> = made
        .iter()
        .filter(|t| t.requester == f.requesters[0].user)
        .cloned()
        .collect();
    assert_eq!(
        r.my_ticket_counts(&f.requesters[0], TicketQuery::default())
            .await
            .expect("counts"),
        reference(&TicketQuery::default(), f.requesters[0].user, &erins, now),
        "an employee counts their own"
    );
    let mine = r
        .my_ticket_counts(
            &f.c.msp.admin,
            TicketQuery {
                assignee: AssigneeFilter::User(admin),
                ..TicketQuery::default()
            },
        )
        .await
        .expect("counts");
    assert_eq!((mine.total, mine.mine, mine.unassigned), (1, 1, 4));
    // The MSP admin's counts of a client are a read through delegation,
    // recorded in the client's chain.
    let delegated = |org| async move {
        store::audit_chain(r.store(), org)
            .await
            .expect("chain")
            .into_iter()
            .filter(|e| e.action == "access.delegated")
            .filter(|e| e.details["permission"] == "tickets.read")
            .count()
    };
    assert!(
        delegated(two).await >= 1,
        "the read is recorded in the client"
    );
}
