//! A ticket's audit trail: the events about it and its time entries,
//! oldest first, found by target.

use super::*;
use crate::audit::AuditEvent;
use crate::ids::TicketId;

/// Every page of a ticket's trail, followed to the end.
async fn walk_trail(
    r: &Regentra,
    who: &Principal,
    org: OrgId,
    ticket: TicketId,
    limit: usize,
) -> Vec<AuditEvent> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .ticket_audit_trail(who, org, ticket, after, limit)
            .await
            .expect("the trail reads");
        assert!(page.items.len() <= limit);
        seen.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return seen,
        }
    }
}

pub async fn a_tickets_audit_trail_is_its_events_oldest_first(store: Arc<dyn Store>) {
    let counting = Arc::new(crate::testing::counting::CountingStore::new(store));
    let f = psa_fixture(counting.clone(), Vec::new()).await;
    let r = f.c.r();
    let (org, erin) = (f.c.org, &f.requesters[0]);
    let ticket = r
        .create_ticket(erin, org, new_ticket("Printer jam", Priority::High))
        .await
        .expect("ticket");
    // Another ticket's life goes on between this one's events.
    let other = r
        .create_ticket(&f.requesters[1], org, new_ticket("VPN", Priority::Low))
        .await
        .expect("ticket");
    r.assign_ticket(&f.tech, org, ticket.id, f.tech.user)
        .await
        .expect("assigned");
    r.add_comment(&f.tech, org, other.id, "Looking", true)
        .await
        .expect("other reply");
    r.add_comment(&f.tech, org, ticket.id, "On my way", true)
        .await
        .expect("reply");
    r.add_comment(&f.tech, org, ticket.id, "Toner is out", false)
        .await
        .expect("note");
    let asset = r
        .add_asset(
            &f.tech,
            org,
            NewAsset {
                name: "Printer".into(),
                kind: "printer".into(),
                serial: None,
                assigned_user: None,
                status: Default::default(),
                attributes: Default::default(),
            },
        )
        .await
        .expect("asset");
    r.link_asset(&f.tech, org, ticket.id, asset.id)
        .await
        .expect("linked");
    let time = |t: crate::ids::TicketId| NewTimeEntry {
        ticket: Some(t),
        minutes: 15,
        billable: true,
        note: String::new(),
        date: chrono::NaiveDate::from_ymd_opt(2025, 6, 16).expect("date"),
    };
    r.log_time(&f.tech, org, time(ticket.id))
        .await
        .expect("time");
    r.log_time(&f.tech, org, time(other.id))
        .await
        .expect("other time");
    r.set_ticket_status(&f.tech, org, ticket.id, TicketStatus::Resolved)
        .await
        .expect("resolved");

    counting.reset();
    let trail = walk_trail(r, &f.tech, org, ticket.id, 50).await;
    assert_eq!(
        trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        [
            "ticket.created",
            "ticket.assigned",
            "ticket.replied",
            "ticket.noted",
            "ticket.asset_linked",
            "time.logged",
            "ticket.status_changed",
        ],
        "its own events, oldest first, none of the other ticket's"
    );
    assert!(
        trail.windows(2).all(|w| w[0].seq < w[1].seq),
        "in chain order"
    );
    assert!(
        counting.returned("audit_event") <= trail.len(),
        "found by target: read {} events for a trail of {}",
        counting.returned("audit_event"),
        trail.len()
    );
    // The events are the chain's, as sealed.
    let chain = store::audit_chain(r.store(), org).await.expect("chain");
    for event in &trail {
        assert_eq!(Some(event), chain.iter().find(|e| e.seq == event.seq));
    }
    assert_eq!(
        walk_trail(r, &f.tech, org, ticket.id, 2).await,
        trail,
        "pages of two, each once"
    );

    // Who reads it: those who read the audit log or work the tickets.
    let viewer = member(&f.c.msp, org, "auditor@acme.test", Role::Viewer).await;
    for (who, what) in [
        (&f.c.manager, "the compliance manager"),
        (&viewer, "a viewer"),
    ] {
        assert_eq!(
            walk_trail(r, who, org, ticket.id, 50).await,
            trail,
            "{what}"
        );
    }
    assert_eq!(
        walk_trail(r, &f.c.msp.admin, org, ticket.id, 50)
            .await
            .len(),
        trail.len(),
        "the MSP's admin"
    );
    expect_denied(
        r.ticket_audit_trail(erin, org, ticket.id, None, 50).await,
        "the requester",
    );
    expect_denied(
        r.ticket_audit_trail(&f.c.officer, org, ticket.id, None, 50)
            .await,
        "a compliance officer",
    );
    // Another tenant's ticket is not found, by id or in its own org.
    let other_client = f.c.clients_other();
    let elsewhere = member(&f.c.msp, other_client, "tess@bolt.test", Role::Technician).await;
    expect_not_found(
        r.ticket_audit_trail(&elsewhere, other_client, ticket.id, None, 50)
            .await,
        "the ticket's id in another org",
    );
    let southwind = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.ticket_audit_trail(&southwind.admin, org, ticket.id, None, 50)
            .await,
        "another MSP's client",
    );
    expect_not_found(
        r.ticket_audit_trail(&f.tech, org, TicketId(Uuid::now_v7()), None, 50)
            .await,
        "a ticket that does not exist",
    );
}
