//! The MSP overview: exact figures over seeded clients, what each role
//! sees, who gets nothing, one event per client, and what it reads.

use super::psa::{PsaFixture, new_ticket, psa_fixture};
use super::*;
use crate::tenancy::SecuritySettings;
use crate::tenancy::overview::{
    ActivityFigure, CampaignFigures, ClientOverview, EvidenceFigures, MspOverview, OverviewScope,
    SlaFigures, TicketFigures,
};
use crate::testing::counting::CountingStore;

/// Monday 2025-06-16 14:00 UTC (10:00 in New York, where the MSP's SLA
/// calendar keeps 9 to 5 on weekdays): the fixture's clock starts the
/// Sunday before.
fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-16T14:00:00Z")
        .expect("instant")
        .with_timezone(&Utc)
}

/// The two clients seeded:
///
/// - Acme (the fixture's client 1): HIPAA adopted with one control
///   implemented; a critical ticket from Sunday whose first response was
///   due Monday 09:30 New York time (breached at 10:00) and a critical
///   ticket from Monday 10:00 due at 10:30 (at risk); a campaign to its two
///   employees, one of whom signed; evidence expired (valid one hour from
///   Sunday), expiring (10 days) and not expiring (40 days).
/// - Bolt (client 2): a low-priority ticket from Sunday, on track on
///   Monday; evidence valid 20 days.
///
/// The clock is then at [`monday`].
async fn seeded(store: Arc<dyn Store>) -> PsaFixture {
    let f = psa_fixture(store, Vec::new()).await;
    let (r, acme, bolt) = (f.c.r(), f.c.org, f.c.msp.clients[1]);
    f.c.adopt("hipaa").await;
    f.c.implement("RM-01").await;
    let evidence = |title: &str, days: Option<i64>, hours: i64| NewEvidence {
        title: title.into(),
        valid_until: Some(
            at(0) + chrono::Duration::days(days.unwrap_or(0)) + chrono::Duration::hours(hours),
        ),
        ..Default::default()
    };
    for (title, days, hours) in [
        ("Expires Sunday evening", None, 1),
        ("Expires in ten days", Some(10), 0),
        ("Expires in forty days", Some(40), 0),
    ] {
        r.add_link_evidence(
            &f.c.officer,
            acme,
            evidence(title, days, hours),
            "https://acme.test/e",
        )
        .await
        .expect("evidence");
    }
    r.add_link_evidence(
        &f.c.msp.admin,
        bolt,
        evidence("Bolt's", Some(20), 0),
        "https://bolt.test/e",
    )
    .await
    .expect("evidence");

    let policy = r
        .create_policy(
            &f.c.officer,
            acme,
            NewPolicy {
                title: "Acceptable Use Policy".into(),
                category: "people".into(),
                owner: Some(f.c.manager.user),
                controls: BTreeSet::from(["AT-01".to_owned()]),
                body: "# Acceptable Use\n\nUse company systems for company work.\n".into(),
            },
        )
        .await
        .expect("policy");
    r.submit_policy(&f.c.officer, acme, policy.id)
        .await
        .expect("submitted");
    r.approve_policy(&f.c.manager, acme, policy.id)
        .await
        .expect("approved");
    r.publish_policy(&f.c.manager, acme, policy.id)
        .await
        .expect("published");
    let campaign = r
        .launch_campaign(
            &f.c.officer,
            acme,
            policy.id,
            NewCampaign {
                title: None,
                audience: Audience::Users(BTreeSet::from([
                    f.requesters[0].user,
                    f.requesters[1].user,
                ])),
                due: at(0) + chrono::Duration::days(14),
                cadence: Default::default(),
            },
        )
        .await
        .expect("launched");
    r.sign_acknowledgment(&f.requesters[0], acme, campaign.id, "erin@acme.test")
        .await
        .expect("signed");

    r.create_ticket(
        &f.requesters[0],
        acme,
        new_ticket("Server down", Priority::Critical),
    )
    .await
    .expect("ticket");
    r.create_ticket(
        &f.c.msp.admin,
        bolt,
        new_ticket("New laptop", Priority::Low),
    )
    .await
    .expect("ticket");
    f.c.clock.set(monday());
    r.create_ticket(
        &f.requesters[1],
        acme,
        new_ticket("Email bounces", Priority::Critical),
    )
    .await
    .expect("ticket");
    f
}

fn row(overview: &MspOverview, org: OrgId) -> &ClientOverview {
    overview
        .clients
        .iter()
        .find(|c| c.client == org)
        .unwrap_or_else(|| panic!("{org} is in the overview"))
}

async fn delegated(r: &Regentra, org: OrgId) -> Vec<crate::audit::AuditEvent> {
    store::audit_chain(r.store(), org)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == "access.delegated")
        .collect()
}

pub async fn msp_overview_sums_each_clients_figures_exactly(store: Arc<dyn Store>) {
    let f = seeded(store).await;
    let (r, acme, bolt) = (f.c.r(), f.c.org, f.c.msp.clients[1]);
    let overview = r
        .msp_overview(&f.c.msp.admin, f.c.msp.msp)
        .await
        .expect("the MSP admin's overview");
    assert_eq!(overview.at, monday());
    assert_eq!(overview.scope, OverviewScope::AllClients);
    assert_eq!(
        overview
            .clients
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["Acme Dental (Northwind IT)", "Bolt Legal (Northwind IT)"],
        "every client, by name"
    );

    let a = row(&overview, acme);
    assert_eq!(
        (a.role, a.via),
        (Role::OrgAdmin, Via::MspDelegation { msp: f.c.msp.msp })
    );
    assert!(!a.mfa_required);
    let hipaa = f.c.score("hipaa").await;
    assert!(hipaa > 0.0, "one control implemented scores something");
    let scores: Vec<(&str, f64)> = a
        .frameworks
        .iter()
        .flatten()
        .map(|s| (s.framework.as_str(), s.score))
        .collect();
    assert_eq!(scores, [("hipaa", hipaa)], "the gap analysis's score");
    let dashboard_totals = r
        .gap_analysis(&f.c.manager, acme)
        .await
        .expect("gaps")
        .summary
        .frameworks;
    assert_eq!(a.frameworks.as_ref(), Some(&dashboard_totals));
    assert_eq!(a.tickets, Some(TicketFigures { open: 2 }));
    assert_eq!(
        a.sla,
        Some(SlaFigures {
            at_risk: 1,
            breached: 1,
            breaches_by_week: vec![0, 0, 0, 0, 0, 0, 0, 1],
        }),
        "the Monday ticket is at risk, Sunday's breached at 09:30 New York time"
    );
    assert_eq!(
        a.campaigns,
        Some(CampaignFigures {
            active: 1,
            signed: 1,
            audience: 2,
            completion: Some(0.5),
        })
    );
    assert_eq!(
        a.evidence,
        Some(EvidenceFigures {
            expiring: 1,
            expired: 1,
        }),
        "ten days out is expiring, forty is not; Sunday evening's has expired"
    );
    assert_eq!(
        a.activity,
        Some(ActivityFigure {
            last: Some(monday())
        }),
        "Monday's ticket"
    );

    let b = row(&overview, bolt);
    assert_eq!(b.frameworks, Some(Vec::new()), "nothing adopted");
    assert_eq!(b.tickets, Some(TicketFigures { open: 1 }));
    assert_eq!(
        b.sla,
        Some(SlaFigures {
            at_risk: 0,
            breached: 0,
            breaches_by_week: vec![0; 8],
        }),
        "eight business hours for a low ticket: due at 17:00"
    );
    assert_eq!(
        b.campaigns,
        Some(CampaignFigures {
            active: 0,
            signed: 0,
            audience: 0,
            completion: None,
        })
    );
    assert_eq!(
        b.evidence,
        Some(EvidenceFigures {
            expiring: 1,
            expired: 0,
        })
    );
    assert_eq!(b.activity, Some(ActivityFigure { last: Some(at(0)) }));

    let t = &overview.totals;
    assert_eq!(t.clients, 2);
    assert_eq!(t.tickets, Some(TicketFigures { open: 3 }));
    assert_eq!(
        t.sla.as_ref().map(|s| (s.at_risk, s.breached)),
        Some((1, 1))
    );
    assert_eq!(
        t.campaigns.and_then(|c| c.completion),
        Some(0.5),
        "1 of 2 over both clients"
    );
    assert_eq!(
        t.evidence,
        Some(EvidenceFigures {
            expiring: 2,
            expired: 1,
        })
    );
    assert_eq!(
        t.frameworks
            .iter()
            .map(|a| (a.framework.as_str(), a.clients, a.score))
            .collect::<Vec<_>>(),
        [("hipaa", 1, hipaa)]
    );
    assert_eq!(
        overview
            .series
            .scores
            .iter()
            .map(|p| (p.client, p.framework.as_str(), p.score))
            .collect::<Vec<_>>(),
        [(acme, "hipaa", hipaa)]
    );
    let weeks: Vec<(&str, u64)> = overview
        .series
        .breaches_by_week
        .iter()
        .map(|w| (w.week.as_str(), w.breaches))
        .collect();
    assert_eq!(
        weeks,
        [
            ("2025-W18", 0),
            ("2025-W19", 0),
            ("2025-W20", 0),
            ("2025-W21", 0),
            ("2025-W22", 0),
            ("2025-W23", 0),
            ("2025-W24", 0),
            ("2025-W25", 1),
        ]
    );

    // One event per client for the whole overview, naming what it read;
    // none again within the window.
    for org in [acme, bolt] {
        let events = delegated(r, org).await;
        let overview_events: Vec<_> = events
            .iter()
            .filter(|e| e.details["operation"] == "msp_overview")
            .collect();
        assert_eq!(overview_events.len(), 1, "one event in {org}");
        assert_eq!(
            overview_events[0].details["permissions"],
            json!([
                "gap.read",
                "tickets.read",
                "sla.read",
                "campaigns.read",
                "evidence.read",
                "audit.read"
            ])
        );
        assert_eq!(overview_events[0].actor.user, Some(f.c.msp.admin.user));
    }
    let before = (
        delegated(r, acme).await.len(),
        delegated(r, bolt).await.len(),
    );
    let again = r
        .msp_overview(&f.c.msp.admin, f.c.msp.msp)
        .await
        .expect("again");
    assert_eq!(again, overview, "the same figures at the same instant");
    assert_eq!(
        (
            delegated(r, acme).await.len(),
            delegated(r, bolt).await.len()
        ),
        before,
        "within the window: no new event"
    );

    // A week later: every running clock has breached in week 25 (Acme's two
    // tickets on both targets, counted once each; Bolt's), the new week has
    // none, and the overviews' own events are not activity.
    f.c.clock.set(monday() + chrono::Duration::weeks(1));
    let later = r
        .msp_overview(&f.c.msp.admin, f.c.msp.msp)
        .await
        .expect("a week later");
    let a = row(&later, acme);
    let b = row(&later, bolt);
    assert_eq!(
        a.sla
            .as_ref()
            .map(|s| (s.at_risk, s.breached, s.breaches_by_week.clone())),
        Some((0, 2, vec![0, 0, 0, 0, 0, 0, 2, 0]))
    );
    assert_eq!(
        b.sla
            .as_ref()
            .map(|s| (s.breached, s.breaches_by_week.clone())),
        Some((1, vec![0, 0, 0, 0, 0, 0, 1, 0]))
    );
    assert_eq!(
        later
            .series
            .breaches_by_week
            .iter()
            .map(|w| (w.week.as_str(), w.breaches))
            .skip(6)
            .collect::<Vec<_>>(),
        [("2025-W25", 3), ("2025-W26", 0)]
    );
    assert_eq!(
        a.evidence,
        Some(EvidenceFigures {
            expiring: 1,
            expired: 1,
        }),
        "the ten-day one is still within 30 days"
    );
    assert_eq!(
        a.activity,
        Some(ActivityFigure {
            last: Some(monday())
        }),
        "reads recorded since are not activity"
    );
    assert_eq!(
        delegated(r, acme).await.len(),
        before.0 + 1,
        "a new window: one more event"
    );
}

pub async fn msp_overview_shows_each_role_what_it_may_see(store: Arc<dyn Store>) {
    let f = seeded(store).await;
    let (r, acme, bolt) = (f.c.r(), f.c.org, f.c.msp.clients[1]);
    let acme_events = delegated(r, acme).await.len();

    // The technician the MSP assigned to Acme: Acme only, tickets and SLA
    // only, read as their own membership (nothing recorded).
    let tech = r
        .msp_overview(&f.tech, f.c.msp.msp)
        .await
        .expect("a technician's overview");
    assert_eq!(tech.scope, OverviewScope::AssignedClients);
    assert_eq!(tech.clients.len(), 1);
    let a = &tech.clients[0];
    assert_eq!(
        (a.client, a.role, a.via),
        (acme, Role::Technician, Via::Membership)
    );
    assert_eq!(a.tickets, Some(TicketFigures { open: 2 }));
    assert_eq!(
        a.sla.as_ref().map(|s| (s.at_risk, s.breached)),
        Some((1, 1))
    );
    assert_eq!(
        (&a.frameworks, &a.campaigns, &a.evidence, &a.activity),
        (&None, &None, &None, &None),
        "no compliance, campaign, evidence or audit figure"
    );
    assert!(tech.series.scores.is_empty());
    assert_eq!(tech.totals.evidence, None);
    assert_eq!(delegated(r, acme).await.len(), acme_events);

    // A compliance officer of the MSP, assigned to Bolt: scores, campaigns
    // and evidence, no tickets.
    let officer = member(
        &f.c.msp,
        f.c.msp.msp,
        "olga@northwind.test",
        Role::ComplianceOfficer,
    )
    .await;
    r.assign_staff(
        &f.c.msp.admin,
        f.c.msp.msp,
        bolt,
        officer.user,
        Role::ComplianceOfficer,
    )
    .await
    .expect("assigned");
    let view = r
        .msp_overview(&officer, f.c.msp.msp)
        .await
        .expect("an officer's overview");
    assert_eq!(
        view.clients.iter().map(|c| c.client).collect::<Vec<_>>(),
        [bolt]
    );
    let b = &view.clients[0];
    assert_eq!(b.frameworks, Some(Vec::new()));
    assert_eq!(b.evidence.map(|e| e.expiring), Some(1));
    assert!(b.campaigns.is_some());
    assert_eq!((&b.tickets, &b.sla, &b.activity), (&None, &None, &None));

    // The platform operator: every client, through the platform.
    let ops = r
        .msp_overview(&f.c.msp.operator, f.c.msp.msp)
        .await
        .expect("the operator's overview");
    assert_eq!(ops.scope, OverviewScope::AllClients);
    assert_eq!(ops.clients.len(), 2);
    assert!(
        ops.clients
            .iter()
            .all(|c| (c.role, c.via) == (Role::SuperAdmin, Via::Platform))
    );
    assert_eq!(row(&ops, acme).tickets, Some(TicketFigures { open: 2 }));

    // A client that requires a second factor the MSP admin has not set up:
    // listed, with nothing read.
    r.set_org_security(
        &f.c.msp.admin,
        bolt,
        SecuritySettings {
            session_hours: None,
            mfa_required: true,
            mfa_grace_days: 0,
        },
    )
    .await
    .expect("Bolt requires MFA");
    let bolt_events = delegated(r, bolt).await.len();
    f.c.clock.advance(chrono::Duration::minutes(10));
    let admin = r
        .msp_overview(&f.c.msp.admin, f.c.msp.msp)
        .await
        .expect("the admin's overview");
    let b = row(&admin, bolt);
    assert!(b.mfa_required);
    assert_eq!(
        (&b.frameworks, &b.tickets, &b.evidence, &b.activity),
        (&None, &None, &None, &None)
    );
    assert_eq!(delegated(r, bolt).await.len(), bolt_events, "nothing read");
    assert!(!row(&admin, acme).mfa_required);
    assert_eq!(admin.totals.tickets, Some(TicketFigures { open: 2 }));
}

pub async fn msp_overview_is_not_found_outside_the_msp(store: Arc<dyn Store>) {
    let f = seeded(store).await;
    let r = f.c.r();
    let msp = f.c.msp.msp;
    let other = msp_in(r.clone(), f.c.msp.operator.clone(), "Rival IT").await;
    expect_not_found(
        r.msp_overview(&other.admin, msp).await,
        "another MSP's admin",
    );
    let own = r
        .msp_overview(&other.admin, other.msp)
        .await
        .expect("its own");
    assert_eq!(
        own.clients.iter().map(|c| c.client).collect::<Vec<_>>(),
        other.clients.to_vec(),
        "its own clients only"
    );
    let client_admin = member(&f.c.msp, f.c.org, "owner@acme.test", Role::OrgAdmin).await;
    let chains = || async {
        (
            actions(&f.c.msp, msp).await,
            actions(&f.c.msp, f.c.org).await,
            actions(&f.c.msp, f.c.msp.clients[1]).await,
        )
    };
    let before = chains().await;
    expect_not_found(
        r.msp_overview(&other.admin, msp).await,
        "another MSP's admin, again",
    );
    expect_not_found(
        r.msp_overview(&client_admin, msp).await,
        "a client's own admin, in its MSP",
    );
    expect_not_found(r.msp_overview(&f.requesters[0], msp).await, "an employee");
    expect_not_found(
        r.msp_overview(&f.c.msp.admin, OrgId(Uuid::now_v7())).await,
        "an org that does not exist",
    );
    assert_eq!(chains().await, before, "refused overviews record nothing");
    // A client is no MSP: told so, to those who may read it.
    expect_invalid(r.msp_overview(&client_admin, f.c.org).await, "msp");
    expect_invalid(r.msp_overview(&f.c.msp.admin, f.c.org).await, "msp");
}

pub async fn msp_overview_reads_once_per_client(store: Arc<dyn Store>) {
    let counting = Arc::new(CountingStore::new(store));
    let f = seeded(counting.clone()).await;
    let r = f.c.r();
    let admin = f.c.msp.admin.clone().for_one_request();
    counting.reset();
    r.msp_overview(&admin, f.c.msp.msp).await.expect("overview");
    let two = counting.reads();
    for n in 0..3 {
        r.create_client(&f.c.msp.admin, f.c.msp.msp, &format!("Client {n}"))
            .await
            .expect("client");
    }
    counting.reset();
    let overview = r
        .msp_overview(&f.c.msp.admin.clone().for_one_request(), f.c.msp.msp)
        .await
        .expect("overview");
    assert_eq!(overview.clients.len(), 5);
    assert_eq!(
        counting.reads(),
        two + 3,
        "one read batch per client more (two clients: {two} reads)"
    );
    // Authorization in the MSP, the directory, the clients' settings, one
    // batch per client, and the open campaigns' counts.
    assert_eq!(two, 1 + 1 + 1 + 2 + 1);
    assert_eq!(
        counting.returned("ticket"),
        0,
        "tickets are counted, never read"
    );
    assert_eq!(counting.returned("acknowledgment"), 0);
}

/// Tickets and acknowledgments written before the overview's indexes are
/// not counted until the one-time backfill gives them their entries.
pub async fn records_written_before_the_overview_indexes_are_backfilled_once(
    store: Arc<dyn Store>,
) {
    use crate::maintenance::{Maintenance, OVERVIEW_INDEXES_ID};
    use crate::policies::Acknowledgment;
    use crate::psa::ticket::Ticket;
    use crate::store::{ChangeSet, Entity, Mutation};
    let f = seeded(store).await;
    let (r, acme) = (f.c.r(), f.c.org);
    let scope = Scope::Org(acme);
    let figures = || async {
        let o = r
            .msp_overview(&f.c.msp.admin, f.c.msp.msp)
            .await
            .expect("overview");
        let a = row(&o, acme);
        (
            a.sla.as_ref().map(|s| s.breached),
            a.campaigns.map(|c| c.signed),
        )
    };
    assert_eq!(figures().await, (Some(1), Some(1)));

    // Written the old way: without the new entries.
    let mut changes = ChangeSet::new();
    for ticket in store::all::<Ticket>(r.store(), scope)
        .await
        .expect("tickets")
    {
        changes.mutations.push(Mutation::Update {
            scope,
            kind: Ticket::KIND,
            id: ticket.value.id.0,
            expected_version: ticket.version,
            body: serde_json::to_value(&ticket.value).expect("body"),
            indexes: Entity::indexes(&ticket.value)
                .into_iter()
                .filter(|e| e.name != crate::psa::ticket::SLA_BREACH)
                .collect(),
        });
    }
    for ack in store::all::<Acknowledgment>(r.store(), scope)
        .await
        .expect("acknowledgments")
    {
        changes.mutations.push(Mutation::Update {
            scope,
            kind: Acknowledgment::KIND,
            id: ack.value.id.0,
            expected_version: ack.version,
            body: serde_json::to_value(&ack.value).expect("body"),
            indexes: Entity::indexes(&ack.value)
                .into_iter()
                .filter(|e| e.name != "signed")
                .collect(),
        });
    }
    r.store().apply(changes).await.expect("written the old way");
    assert_eq!(figures().await, (Some(0), Some(0)), "not counted");

    assert_eq!(
        r.backfill_overview_indexes().await.expect("backfill"),
        None,
        "recorded as done at bootstrap"
    );
    let done = store::require::<Maintenance>(r.store(), Scope::Platform, OVERVIEW_INDEXES_ID)
        .await
        .expect("recorded at bootstrap");
    let mut forget = ChangeSet::new();
    forget.delete(&done);
    r.store().apply(forget).await.expect("as an older platform");

    let rewritten = r.backfill_overview_indexes().await.expect("backfill");
    assert!(
        rewritten.is_some_and(|n| n >= 5),
        "three tickets and two acknowledgments at least: {rewritten:?}"
    );
    assert_eq!(figures().await, (Some(1), Some(1)), "counted again");
    assert_eq!(
        r.backfill_overview_indexes().await.expect("backfill"),
        None,
        "done once per store"
    );
}
