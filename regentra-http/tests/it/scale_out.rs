//! Three real `regentra serve` processes on one Postgres database, as
//! behind a load balancer ([`Fleet`]): every SLA escalation fires once
//! whichever process's worker takes its org, also when one of them is
//! killed mid-sweep; the login limits count the failures made through
//! any of them; and a chat message posted on one reaches the chat's
//! sockets on the others.
//!
//! The processes run on the real clock. Their work is seeded through the
//! library before they start, on a clock two days behind, so that it is
//! long due when they look.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use regentra_core::ids::OrgId;
use regentra_core::notify::{Notification, NotificationKind};
use regentra_core::psa::ticket::Ticket;
use regentra_core::store::{self, MAX_PAGE, Scope};
use regentra_core::{ManualClock, Principal, Regentra};
use regentra_store_postgres::testing::TestDatabase;
use serde_json::json;

use crate::live_fanout;
use crate::support::fleet::{Fleet, receiver, seed};
use crate::support::{self, Endpoint, M, PASSWORD, StatusCode};

/// 50 orgs with 20 escalations due each: 1,000 in all.
const ORGS: usize = 50;
const TICKETS: usize = 20;

/// The escalation seeded tickets fire (the policy's only rule).
const ESCALATED: &str = "ticket.escalated";

/// How long the fleet gets to finish its work: far more than it needs on a
/// slow machine, so that only work left undone fails the test.
const PATIENCE: Duration = Duration::from_secs(300);

/// The services on a clock two days behind the real one: what seeds work
/// that is long due when the processes look.
async fn seeding(db: &TestDatabase) -> (Arc<Regentra>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        chrono::Utc::now() - chrono::Duration::days(2),
    ));
    let r = Arc::new(Regentra::new(Arc::new(db.store().await)).with_clock(clock.clone()));
    (r, clock)
}

/// The services on the real clock, as the processes run them, over a store
/// of the test's own: what the test reads the database through.
async fn observer(db: &TestDatabase) -> Regentra {
    Regentra::new(Arc::new(db.store().await))
}

/// Polls `done` until it holds, for at most [`PATIENCE`].
async fn wait_for<F: Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let start = std::time::Instant::now();
    while start.elapsed() < PATIENCE {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what}: not done in {PATIENCE:?}");
}

/// Whether no org of `orgs` has an escalation due, nor (with `delivered`)
/// an outbox entry undelivered.
async fn all_fired(r: &Regentra, orgs: &[OrgId], delivered: bool) -> bool {
    for &org in orgs {
        if !r.escalations_due(org).await.expect("due").is_empty() {
            return false;
        }
        if delivered
            && !r
                .pending_notifications(org, 1)
                .await
                .expect("outbox")
                .is_empty()
        {
            return false;
        }
    }
    true
}

/// Checks that every ticket of `orgs` escalated exactly once: one
/// [`ESCALATED`] event in its org's audit chain, and one SLA warning in
/// its org's outbox. Returns the warnings' ids.
async fn each_ticket_escalated_once(r: &Regentra, orgs: &[OrgId]) -> Vec<String> {
    let mut warnings = Vec::new();
    for &org in orgs {
        let tickets: Vec<String> = store::all::<Ticket>(r.store(), Scope::Org(org))
            .await
            .expect("tickets")
            .into_iter()
            .map(|t| t.value.id.to_string())
            .collect();
        assert_eq!(tickets.len(), TICKETS, "the tickets seeded in {org}");
        let mut escalated: HashMap<String, usize> = HashMap::new();
        let mut after = None;
        loop {
            let events = r
                .store()
                .audit_events(org, after, MAX_PAGE)
                .await
                .expect("the chain");
            let Some(last) = events.last() else { break };
            after = Some(last.seq);
            for e in events.iter().filter(|e| e.action == ESCALATED) {
                *escalated.entry(e.target.id.clone()).or_default() += 1;
            }
        }
        let mut warned: HashMap<String, usize> = HashMap::new();
        for entry in store::all::<Notification>(r.store(), Scope::Org(org))
            .await
            .expect("the outbox")
            .into_iter()
            .map(|n| n.value)
            .filter(|n| n.kind == NotificationKind::SlaWarning)
        {
            let ticket = entry.payload["ticket"].as_str().unwrap_or_default();
            *warned.entry(ticket.to_owned()).or_default() += 1;
            warnings.push(entry.id.0.to_string());
        }
        for ticket in &tickets {
            assert_eq!(
                escalated.get(ticket),
                Some(&1),
                "{ESCALATED} events of ticket {ticket} in {org}"
            );
            assert_eq!(
                warned.get(ticket),
                Some(&1),
                "SLA warnings of ticket {ticket} in {org}"
            );
        }
        assert_eq!(escalated.len(), TICKETS, "escalations of other targets");
        assert_eq!(warned.len(), TICKETS, "warnings about other tickets");
    }
    warnings
}

/// 1,000 escalations due across 50 orgs, three processes sweeping every
/// second and posting the outbox to one webhook: each escalation fires
/// once in all, and its entry is posted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_fire_each_escalation_once() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let (r, clock) = seeding(&db).await;
    let orgs = seed(&r, &clock, ORGS, TICKETS).await;
    let (hooks, got) = receiver().await;
    let webhook = format!("{hooks}/ok");
    let fleet = Fleet::start(
        &db,
        3,
        &["--sweep-interval", "1", "--webhook-url", &webhook],
    )
    .await;

    let seen = observer(&db).await;
    wait_for("every escalation fired and delivered", || {
        all_fired(&seen, &orgs, true)
    })
    .await;
    let warnings = each_ticket_escalated_once(&seen, &orgs).await;
    assert_eq!(warnings.len(), ORGS * TICKETS);
    let got = got.lock().expect("received").clone();
    for id in &warnings {
        assert_eq!(
            got.get(&("ok".to_owned(), id.clone())),
            Some(&1),
            "entry {id} posted once"
        );
    }
    assert_eq!(got.len(), warnings.len(), "nothing posted but the entries");
    drop(fleet);
}

/// The same work, and one of the three processes is killed (SIGKILL) as
/// soon as it reports its first escalations, in the middle of its sweep:
/// the two others take over its orgs once the database has let go of its
/// claims, and each escalation still fires once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_sweep_loses_no_escalation() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let (r, clock) = seeding(&db).await;
    let orgs = seed(&r, &clock, ORGS, TICKETS).await;
    let mut fleet = Fleet::start(&db, 3, &["--sweep-interval", "1"]).await;

    let mut killed = None;
    wait_for("a process reports fired escalations", || {
        let first = fleet
            .processes
            .iter()
            .position(|p| p.log_text().contains("SLA escalations fired"));
        killed = first;
        async move { first.is_some() }
    })
    .await;
    let killed = killed.expect("a process that fired");
    fleet.processes[killed].kill();

    let seen = observer(&db).await;
    assert!(
        !all_fired(&seen, &orgs, false).await,
        "work was left when the process was killed (else this tests nothing)"
    );
    wait_for("the two others fired every escalation", || {
        all_fired(&seen, &orgs, false)
    })
    .await;
    each_ticket_escalated_once(&seen, &orgs).await;
}

/// A user with a password, and wrong passwords sent round-robin to the
/// three processes: the five failures the account and address may have in
/// 15 minutes are spent across them, and then every process refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_limits_hold_across_three_processes() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let (fleet, first) = three_with_an_operator(&db).await;
    support::msp_with_client(&first).await;

    let login = |n: usize| {
        let api = fleet.processes[n % 3].anonymous();
        async move {
            api.call(
                M::POST,
                "/v1/auth/login",
                Some(json!({"email": "boss@msp.test", "password": "wrong password!!"})),
            )
            .await
        }
    };
    for n in 0..5 {
        let reply = login(n).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "failure {} on process {}: {}",
            n + 1,
            n % 3,
            reply.text
        );
    }
    for n in 5..8 {
        let reply = login(n).await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "process {} counts the others' failures: {}",
            n % 3,
            reply.text
        );
    }
}

/// Three processes on `db`, whose platform admin (made through the
/// library, as a seeded database has no bootstrap token to print) calls
/// the first of them.
async fn three_with_an_operator(db: &TestDatabase) -> (Fleet, Endpoint) {
    let r = observer(db).await;
    let ops = r
        .bootstrap_platform_admin("ops@fleet.test", "Ops")
        .await
        .expect("bootstrap");
    let (_, token) = r
        .issue_token(&Principal::new(ops.id), "test")
        .await
        .expect("a token");
    let fleet = Fleet::start(db, 3, &[]).await;
    let first = Endpoint {
        base: fleet.processes[0].base.clone(),
        token,
    };
    (fleet, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_message_posted_on_one_process_reaches_sockets_on_the_others() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let (fleet, a) = three_with_an_operator(&db).await;
    let (boss, _, client) = support::msp_with_client(&a).await;
    boss.ok(
        M::POST,
        &format!("/v1/orgs/{client}/members"),
        Some(json!({"email": "emp@client.test", "name": "Emp", "password": PASSWORD, "role": "employee"})),
        StatusCode::ACCEPTED,
    )
    .await;
    let (b, c) = (&fleet.processes[1], &fleet.processes[2]);
    let employee = b.login("emp@client.test", PASSWORD).await;
    let staff = c.login("boss@msp.test", PASSWORD).await;
    let chat = support::id(
        &employee
            .post(
                &format!("/v1/orgs/{client}/chats"),
                json!({"message": "The VPN drops every hour"}),
            )
            .await,
    );
    let token = |api: &support::Api| api.token.clone().expect("a token");
    let mut on_b = live_fanout::socket(b, &client, &chat, &token(&employee)).await;
    let mut on_c = live_fanout::socket(c, &client, &chat, &token(&staff)).await;
    assert_eq!(
        live_fanout::message(&mut on_b).await,
        "The VPN drops every hour"
    );
    assert_eq!(
        live_fanout::message(&mut on_c).await,
        "The VPN drops every hour"
    );

    // Posted on A, where no socket of the chat is open.
    boss.post(
        &format!("/v1/orgs/{client}/chats/{chat}/messages"),
        json!({"body": "Which client version?"}),
    )
    .await;
    assert_eq!(
        live_fanout::message(&mut on_b).await,
        "Which client version?"
    );
    assert_eq!(
        live_fanout::message(&mut on_c).await,
        "Which client version?"
    );

    // Closed on A: both sockets close, saying the chat is.
    boss.ok(
        M::POST,
        &format!("/v1/orgs/{client}/chats/{chat}/close"),
        None,
        StatusCode::OK,
    )
    .await;
    for ws in [&mut on_b, &mut on_c] {
        assert_eq!(live_fanout::closed(ws).await, 1000);
    }
}
