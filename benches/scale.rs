//! The scale benchmark (issue 16): one MSP with 1,000 client orgs, 100,000
//! tickets in one client, 1,000 in a second and a few in every other, eight
//! frameworks adopted in one, seeded through the library; then the real
//! `regentra serve` binary, as a separate process on the same data, is
//! measured from outside with concurrent keep-alive clients over loopback.
//! Not Criterion: a plain program that prints Markdown tables.
//!
//! ```text
//! cargo build --release -p regentra-http --bin regentra
//! cargo bench --bench scale                       # embedded store
//! REGENTRA_TEST_DATABASE_URL=postgres://... cargo bench --bench scale   # and Postgres
//! ```
//!
//! Sizes and durations come from the environment (see [`Config::from_env`]);
//! benches/README.md describes every scenario and records the figures.
//!
//! Scenarios that need an API today's server may not have yet (the queue
//! filters, the cross-client queue) are probed first: a 400, 404 or 405
//! answer reports the scenario as not available instead of measuring errors.

// Each benchmark uses part of the shared module.
#[allow(dead_code)]
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use regentra_core::ids::{OrgId, TicketId};
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::NewSlaPolicy;
use regentra_core::psa::ticket::{NewTicket, Ticket, TicketStatus};
use regentra_core::rbac::Role;
use regentra_core::store::{Entity, Store};
use regentra_core::tenancy::OrgKind;
use regentra_core::testing::counting::CountingStore;
use regentra_core::{Principal, Regentra};
use regentra_http::server::worker::{self, WorkerConfig};
use regentra_store_embedded::EmbeddedStore;
use regentra_store_postgres::PostgresStore;
use regentra_store_postgres::testing::{TEST_DATABASE_URL, TestDatabase, TestRole};
use serde_json::json;
use support::{
    OPERATOR_EMAIL, Outcome, Request, Server, Until, env_number, load, server_bin, success,
    unauthorized,
};

const ALL_FRAMEWORKS: [&str; 8] = [
    "hipaa",
    "soc2",
    "nist-csf",
    "iso27001",
    "cmmc",
    "pci-dss",
    "gdpr",
    "ftc-safeguards",
];

// ---------------------------------------------------------------------------
// Configuration

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Embedded,
    Postgres,
}

impl StoreKind {
    fn name(self) -> &'static str {
        match self {
            StoreKind::Embedded => "embedded",
            StoreKind::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
struct Config {
    /// `SCALE_CLIENTS`: client orgs under the MSP (at least 4).
    clients: usize,
    /// `SCALE_TICKETS`: tickets in the big client on the embedded store.
    tickets: usize,
    /// `SCALE_POSTGRES_TICKETS`: the same on Postgres (defaults to
    /// `SCALE_TICKETS`; seeding costs about 4 ms a ticket there today).
    postgres_tickets: usize,
    /// `SCALE_SECOND_TICKETS`: tickets in the second client (the "1k" queue).
    second_tickets: usize,
    /// `SCALE_SECONDS`: how long each timed scenario runs.
    seconds: u64,
    /// `SCALE_STORES`: `embedded`, `postgres` or both, comma-separated;
    /// default embedded, and Postgres too when `REGENTRA_TEST_DATABASE_URL`
    /// is set.
    stores: Vec<StoreKind>,
    /// `SCALE_SERVER_BIN`: the `regentra` binary; default
    /// `target/release/regentra` beside this benchmark.
    server: PathBuf,
}

impl Config {
    fn from_env() -> Self {
        let clients = env_number("SCALE_CLIENTS", 1000);
        assert!(
            clients >= 4,
            "SCALE_CLIENTS: at least 4 (big, second, compliance and intake clients)"
        );
        let tickets = env_number("SCALE_TICKETS", 100_000);
        let postgres_url = std::env::var(TEST_DATABASE_URL).is_ok_and(|u| !u.is_empty());
        let stores = match std::env::var("SCALE_STORES") {
            Ok(v) if !v.trim().is_empty() => v
                .split(',')
                .map(|s| match s.trim() {
                    "embedded" => StoreKind::Embedded,
                    "postgres" => StoreKind::Postgres,
                    other => panic!("SCALE_STORES: unknown store {other:?} (embedded, postgres)"),
                })
                .collect(),
            _ if postgres_url => vec![StoreKind::Embedded, StoreKind::Postgres],
            _ => vec![StoreKind::Embedded],
        };
        if stores.contains(&StoreKind::Postgres) {
            assert!(
                postgres_url,
                "SCALE_STORES names postgres: set {TEST_DATABASE_URL}"
            );
        }
        let server = server_bin();
        Self {
            clients,
            tickets,
            postgres_tickets: env_number("SCALE_POSTGRES_TICKETS", tickets),
            second_tickets: env_number("SCALE_SECOND_TICKETS", 1000),
            seconds: env_number("SCALE_SECONDS", 5) as u64,
            stores,
            server,
        }
    }

    fn tickets_on(&self, store: StoreKind) -> usize {
        match store {
            StoreKind::Embedded => self.tickets,
            StoreKind::Postgres => self.postgres_tickets,
        }
    }
}

// ---------------------------------------------------------------------------
// Seeding, through the library.

/// What the measurements need to know about the seeded data.
#[derive(Debug, Clone)]
struct Seeded {
    admin: Principal,
    admin_token: String,
    tech_token: String,
    /// An employee of the big client: one membership, the plainest caller.
    employee_token: String,
    /// The client with `tickets` tickets.
    big: OrgId,
    /// The client with `second_tickets` tickets.
    second: OrgId,
    /// The client with all eight frameworks adopted.
    compliance: OrgId,
    /// The client tickets are created in during the creation scenario.
    intake: OrgId,
    /// A ticket of the big client.
    ticket: TicketId,
    tickets_total: usize,
    seconds: f64,
}

/// The MSP's default policy: business hours in New York, long targets (the
/// earliest escalation is 7.5 business hours after a ticket opens) so that
/// nothing is due during a run, and three escalation rules.
fn sla_policy() -> NewSlaPolicy {
    let day = json!([["09:00", "17:00"]]);
    let targets = |response: u32, resolution: u32| json!({"first_response_minutes": response, "resolution_minutes": resolution});
    serde_json::from_value(json!({
        "name": "Scale standard",
        "calendar": {
            "timezone": "America/New_York",
            "weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}
        },
        "targets": {
            "critical": targets(600, 2400),
            "high": targets(900, 3000),
            "medium": targets(1200, 4800),
            "low": targets(2400, 9600)
        },
        "escalations": [
            {"clock": "response", "trigger": {"kind": "percent", "percent": 75},
             "action": {"kind": "notify_role", "role": "technician"}},
            {"clock": "resolution", "trigger": {"kind": "before_breach", "minutes": 60},
             "action": {"kind": "raise_priority"}},
            {"clock": "resolution", "trigger": {"kind": "at_breach"},
             "action": {"kind": "notify_role", "role": "msp_admin"}}
        ],
        "default": true
    }))
    .expect("the benchmark's SLA policy parses")
}

/// What happens to the i-th ticket of a client after it is opened.
#[derive(Debug, Clone, Copy)]
enum Then {
    Nothing,
    /// Assigned to the technician (which also opens it).
    Assign,
    Status(TicketStatus),
}

/// The mix: priorities in turn; 10% assigned to the technician (half of
/// those high: `open, high, mine` matches 5%), 10% opened, 10% pending,
/// 10% resolved, the rest new.
fn mix(i: usize) -> (Priority, Then) {
    let priority = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Critical,
    ][i % 4];
    let then = match i % 10 {
        0 => Then::Assign,
        3 => Then::Status(TicketStatus::Open),
        5 => Then::Status(TicketStatus::Pending),
        7 => Then::Status(TicketStatus::Resolved),
        _ => Then::Nothing,
    };
    (priority, then)
}

/// Opens `count` tickets in `org` one at a time (concurrent openings in one
/// org conflict on the ticket counter today), while two tasks apply the
/// follow-ups (assignment, status), which touch other records.
async fn seed_tickets(
    r: &Arc<Regentra>,
    tech: &Principal,
    org: OrgId,
    count: usize,
    progress: bool,
) -> Option<TicketId> {
    let (tx, rx) = tokio::sync::mpsc::channel::<(TicketId, Then)>(256);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let followers: Vec<_> = (0..2)
        .map(|_| {
            let (r, tech, rx) = (r.clone(), tech.clone(), rx.clone());
            tokio::spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some((id, then)) = next else { break };
                    match then {
                        Then::Nothing => {}
                        Then::Assign => {
                            r.assign_ticket(&tech, org, id, tech.user)
                                .await
                                .expect("assign");
                        }
                        Then::Status(status) => {
                            r.set_ticket_status(&tech, org, id, status)
                                .await
                                .expect("status");
                        }
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut first = None;
    for i in 0..count {
        let (priority, then) = mix(i);
        let t = r
            .create_ticket(
                tech,
                org,
                NewTicket {
                    subject: format!("Scale ticket {i}"),
                    description: "Seeded by the scale benchmark.".into(),
                    priority,
                    requester: None,
                },
            )
            .await
            .expect("create ticket");
        first.get_or_insert(t.id);
        if !matches!(then, Then::Nothing) {
            tx.send((t.id, then)).await.expect("followers run");
        }
        if progress && (i + 1) % 10_000 == 0 {
            eprintln!(
                "  {} tickets in {:.0} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    drop(tx);
    for f in followers {
        f.await.expect("follower");
    }
    first
}

async fn seed(r: &Arc<Regentra>, config: &Config, tickets: usize) -> Seeded {
    let started = Instant::now();
    let ops = r
        .bootstrap_platform_admin(OPERATOR_EMAIL, "Platform admin")
        .await
        .expect("bootstrap");
    let ops = Principal::new(ops.id);
    let msp = r
        .create_organization(&ops, "Scale MSP", OrgKind::Msp)
        .await
        .expect("msp")
        .id;
    let member = |email: &'static str, role| {
        let (r, ops) = (r.clone(), ops.clone());
        async move {
            let added = r
                .add_member(&ops, msp, email, email, role)
                .await
                .expect("member");
            Principal::new(added.membership().expect("shown to the operator").user)
        }
    };
    let admin = member("admin@scale.test", Role::MspAdmin).await;
    let tech = member("tech@scale.test", Role::Technician).await;
    r.create_sla_policy(&admin, msp, sla_policy())
        .await
        .expect("MSP default SLA policy");
    let mut clients = Vec::with_capacity(config.clients);
    for i in 0..config.clients {
        let client = r
            .create_client(&admin, msp, &format!("Client {i:04}"))
            .await
            .expect("client")
            .id;
        r.assign_staff(&admin, msp, client, tech.user, Role::Technician)
            .await
            .expect("technician assigned");
        clients.push(client);
        if (i + 1) % 250 == 0 {
            eprintln!(
                "  {} clients in {:.0} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let (big, second, compliance, intake) = (clients[0], clients[1], clients[2], clients[3]);
    for framework in ALL_FRAMEWORKS {
        r.adopt_framework(&admin, compliance, framework)
            .await
            .expect("adopt");
    }
    // The big client alone, the second and the rest side by side: numbers
    // are per org, so only openings in one org contend.
    let others = clients[2..].to_vec();
    let small =
        futures::stream::iter(others.iter().enumerate()).for_each_concurrent(4, |(i, org)| {
            let tech = &tech;
            async move {
                seed_tickets(r, tech, *org, 2 + i % 2, false).await;
            }
        });
    let (ticket, _, _) = tokio::join!(
        seed_tickets(r, &tech, big, tickets, true),
        seed_tickets(r, &tech, second, config.second_tickets, false),
        small,
    );
    let small_total: usize = (0..others.len()).map(|i| 2 + i % 2).sum();
    let (_, admin_token) = r.issue_token(&admin, "scale").await.expect("token");
    let (_, tech_token) = r.issue_token(&tech, "scale").await.expect("token");
    let employee = r
        .add_member(&ops, big, "employee@scale.test", "Employee", Role::Employee)
        .await
        .expect("employee");
    let employee = Principal::new(employee.membership().expect("shown to the operator").user);
    let (_, employee_token) = r.issue_token(&employee, "scale").await.expect("token");
    Seeded {
        admin,
        admin_token,
        tech_token,
        employee_token,
        big,
        second,
        compliance,
        intake,
        ticket: ticket.expect("at least one ticket in the big client"),
        tickets_total: tickets + config.second_tickets + small_total,
        seconds: started.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------
// Results (the server process and the load generator are in `support`).

/// One row of a results table: measured, or why not.
#[derive(Debug, Clone)]
enum Row {
    Measured(Outcome),
    NotAvailable(String),
}

impl Row {
    fn outcome(&self) -> Option<&Outcome> {
        match self {
            Row::Measured(o) => Some(o),
            Row::NotAvailable(_) => None,
        }
    }
}

/// One request first: an API the server does not have yet (400 for query
/// parameters it refuses, 404/405 for a route it lacks) is reported as
/// such instead of being measured.
async fn probe(client: &reqwest::Client, base: &str, request: &Request, missing: &str) -> bool {
    match request.send(client, base).await {
        Some(s) if success(s) => true,
        Some(s @ (400 | 404 | 405)) => {
            eprintln!("  {} answers {s}: {missing}", request.path);
            false
        }
        other => panic!("probe of {} answered {other:?}", request.path),
    }
}

// ---------------------------------------------------------------------------
// One store's run.

#[derive(Debug, Default)]
struct StoreReport {
    store: &'static str,
    clients: usize,
    big_tickets: usize,
    second_tickets: usize,
    tickets_total: usize,
    seed_seconds: f64,
    /// `Regentra::gap_analysis` in-process (all 8 frameworks and the
    /// cross-framework summary), median of 5, ms.
    gap_in_process_ms: f64,
    sweep_seconds: f64,
    sweep_reads: usize,
    sweep_tickets: usize,
    rows: Vec<(String, Row)>,
    rss_mib: Vec<f64>,
    /// Non-2xx answers in each memory round.
    round_failures: Vec<usize>,
    rss_after_start_mib: f64,
}

impl StoreReport {
    fn row(&self, name: &str) -> Option<&Outcome> {
        self.rows
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, r)| r.outcome())
    }
}

const ME_401: &str = "401 ceiling: GET /v1/me, no token";
const ME_EMPLOYEE: &str = "GET /v1/me, client employee (one membership)";
const ME_TECH: &str = "GET /v1/me, technician (1,000+ memberships)";
const ME_ADMIN: &str = "GET /v1/me, MSP admin";
const READ: &str = "ticket read, technician";
const Q_SMALL_TECH: &str = "queue first page, 1k tickets, technician";
const Q_SMALL_ONE: &str = "queue first page, 1k tickets, technician, one at a time";
const Q_SMALL_ADMIN: &str = "queue first page, 1k tickets, MSP admin (delegated)";
const Q_BIG_TECH: &str = "queue first page, big client, technician, one at a time";
const Q_BIG_ADMIN: &str = "queue first page, big client, MSP admin (delegated), one at a time";
const F_SMALL: &str = "filtered queue (open, high, mine, by due), 1k tickets, one at a time";
const F_BIG: &str = "filtered queue (open, high, mine, by due), big client, one at a time";
const CROSS: &str = "MSP cross-client queue GET /v1/tickets?sort=due, MSP admin";
const CREATE: &str = "ticket creation, 64 clients, one org";
const GAP: &str = "gap analysis (hipaa of 8 adopted), MSP admin";

async fn run_store(kind: StoreKind, config: &Config) -> StoreReport {
    let tickets = config.tickets_on(kind);
    eprintln!(
        "== {}: seeding {} clients, {tickets} + {} tickets",
        kind.name(),
        config.clients,
        config.second_tickets
    );
    // Declared before the database so that it is dropped after it.
    let mut app_role = None;
    let mut database = None;
    let dir = tempfile::tempdir().expect("temp dir");
    let inner: Arc<dyn Store> = match kind {
        StoreKind::Embedded => Arc::new(
            EmbeddedStore::open(dir.path().join("regentra.redb"))
                .await
                .expect("embedded store"),
        ),
        StoreKind::Postgres => {
            app_role = Some(
                TestRole::create("IN ROLE regentra_app")
                    .await
                    .expect("a Postgres server"),
            );
            let db = TestDatabase::create().await.expect("a Postgres server");
            let store = PostgresStore::connect_with(db.url(), 8)
                .await
                .expect("Postgres store");
            database = Some(db);
            Arc::new(store)
        }
    };
    // Counts the reads of the worker sweep below; the core's wrapper
    // follows the store contract as it grows.
    let counting = Arc::new(CountingStore::new(inner));
    let regentra = Arc::new(Regentra::new(counting.clone()));
    let seeded = seed(&regentra, config, tickets).await;
    eprintln!("  seeded in {:.0} s", seeded.seconds);

    let mut gap = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        regentra
            .gap_analysis(&seeded.admin, seeded.compliance)
            .await
            .expect("gap analysis");
        gap.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    gap.sort_by(f64::total_cmp);

    // One worker sweep over every org, nothing due: timed, reads counted.
    counting.reset();
    let started = Instant::now();
    worker::sweep_once(
        regentra.clone(),
        WorkerConfig {
            every: Duration::from_secs(60),
            webhooks: Vec::new(),
            secret: None,
            first_retry: worker::FIRST_RETRY,
            dns: None,
        },
    )
    .await
    .expect("worker sweep");
    let sweep_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "  worker sweep {sweep_seconds:.2} s: {} reads, {} ticket records",
        counting.reads(),
        counting.returned(Ticket::KIND)
    );
    let mut report = StoreReport {
        store: kind.name(),
        clients: config.clients,
        big_tickets: tickets,
        second_tickets: config.second_tickets,
        tickets_total: seeded.tickets_total,
        seed_seconds: seeded.seconds,
        gap_in_process_ms: gap[gap.len() / 2],
        sweep_seconds,
        sweep_reads: counting.reads(),
        sweep_tickets: counting.returned(Ticket::KIND),
        ..StoreReport::default()
    };
    // The embedded file belongs to one process: close it before the server opens it.
    drop(regentra);
    drop(counting);

    let log = dir.path().join("server.log");
    let mut server = match kind {
        StoreKind::Embedded => Server::start(
            &config.server,
            &[
                "--data-dir",
                dir.path().to_str().expect("utf-8 temp dir"),
                "--sweep-interval",
                "86400",
            ],
            log,
        ),
        StoreKind::Postgres => {
            let url = app_role
                .as_ref()
                .expect("role")
                .url(database.as_ref().expect("database").url());
            Server::start(
                &config.server,
                &["--database-url", &url, "--sweep-interval", "86400"],
                log,
            )
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("HTTP client");
    server.wait_ready(&client).await;
    server.wait_idle().await;
    report.rss_after_start_mib = server.rss_mib().unwrap_or(0.0);
    measure(&mut report, &server, &client, &seeded, config).await;

    drop(server);
    drop(database);
    drop(app_role);
    report
}

async fn measure(
    report: &mut StoreReport,
    server: &Server,
    client: &reqwest::Client,
    s: &Seeded,
    config: &Config,
) {
    let base = server.base.as_str();
    let timed = Until::Elapsed(Duration::from_secs(config.seconds));
    let (tech, admin) = (Some(s.tech_token.as_str()), Some(s.admin_token.as_str()));
    let queue = |org: OrgId, query: &str| format!("/v1/orgs/{org}/tickets?{query}");
    let filters = "status=open&priority=high&assignee=me&sort=due&limit=50";
    let gap = format!("/v1/orgs/{}/frameworks/hipaa/gap-analysis", s.compliance);

    let me = Request::get("/v1/me".into(), None);
    let me_employee = Request::get("/v1/me".into(), Some(s.employee_token.as_str()));
    let me_tech = Request::get("/v1/me".into(), tech);
    let me_admin = Request::get("/v1/me".into(), admin);
    let read = Request::get(format!("/v1/orgs/{}/tickets/{}", s.big, s.ticket), tech);
    let q_small_tech = Request::get(queue(s.second, "limit=50"), tech);
    let q_small_admin = Request::get(queue(s.second, "limit=50"), admin);
    let q_big_tech = Request::get(queue(s.big, "limit=50"), tech);
    let q_big_admin = Request::get(queue(s.big, "limit=50"), admin);
    let f_small = Request::get(queue(s.second, filters), tech);
    let f_big = Request::get(queue(s.big, filters), tech);
    let cross = Request::get("/v1/tickets?limit=50&sort=due".into(), admin);
    let create = Request::post(
        format!("/v1/orgs/{}/tickets", s.intake),
        &s.tech_token,
        json!({"subject": "Scale creation", "description": "From the load.", "priority": "medium"}),
    );
    let gap = Request::get(gap, admin);

    let filters_ok = probe(client, base, &f_small, "no queue filters").await;
    let cross_ok = probe(client, base, &cross, "no cross-client queue").await;
    let no_filters = (!filters_ok).then_some("n/a (no filters)");
    let no_cross = (!cross_ok).then_some("n/a (no such endpoint)");

    // The pages compared across sizes run one at a time: today a first
    // page at 100,000 tickets takes seconds, and a few at once exceed the
    // server's 30-second request timeout.
    type Step<'a> = (
        &'a str,
        &'a Request,
        usize,
        Option<&'a str>,
        fn(u16) -> bool,
    );
    let plan: Vec<Step<'_>> = vec![
        (ME_401, &me, 16, None, unauthorized),
        (ME_EMPLOYEE, &me_employee, 16, None, success),
        (ME_TECH, &me_tech, 16, None, success),
        (ME_ADMIN, &me_admin, 16, None, success),
        (READ, &read, 16, None, success),
        (Q_SMALL_TECH, &q_small_tech, 16, None, success),
        (Q_SMALL_ADMIN, &q_small_admin, 16, None, success),
        (Q_SMALL_ONE, &q_small_tech, 1, None, success),
        (Q_BIG_TECH, &q_big_tech, 1, None, success),
        (Q_BIG_ADMIN, &q_big_admin, 1, None, success),
        (F_SMALL, &f_small, 1, no_filters, success),
        (F_BIG, &f_big, 1, no_filters, success),
        (CROSS, &cross, 16, no_cross, success),
        (CREATE, &create, 64, None, success),
        (GAP, &gap, 16, None, success),
    ];
    for (name, request, concurrency, missing, expected) in plan {
        let row = match missing {
            Some(why) => Row::NotAvailable(why.to_owned()),
            None => {
                let o = load(client, base, request, concurrency, timed, expected).await;
                eprintln!(
                    "  {name}: {:.0}/s p50 {:.1} ms p99 {:.1} ms, unexpected {} {:?}",
                    o.rps(),
                    o.p50_ms,
                    o.p99_ms,
                    o.unexpected,
                    o.statuses
                );
                Row::Measured(o)
            }
        };
        report.rows.push((name.to_owned(), row));
    }

    // Memory: three identical rounds of a fixed number of requests of the
    // read mix (request, how many, how many at once); resident memory
    // after each. An answer other than 2xx (today: the big client's page
    // timing out) is counted, not fatal.
    let mut round: Vec<(&Request, usize, usize)> = vec![
        (&me_employee, 2000, 8),
        (&me_admin, 200, 8),
        (&me_tech, 50, 8),
        (&read, 2000, 8),
        (&q_small_tech, 200, 8),
        (&q_small_admin, 200, 8),
        (&q_big_tech, 2, 2),
        (&q_big_admin, 2, 2),
        (&gap, 100, 8),
    ];
    if filters_ok {
        round.extend([(&f_small, 200, 8), (&f_big, 200, 8)]);
    }
    for n in 1..=3 {
        let started = Instant::now();
        let mut failed = 0;
        for (request, count, concurrency) in &round {
            let o = load(
                client,
                base,
                request,
                *concurrency,
                Until::Count(*count),
                success,
            )
            .await;
            if o.unexpected > 0 {
                eprintln!(
                    "  memory round {n}: {} answered {:?}",
                    request.path, o.statuses
                );
            }
            failed += o.unexpected;
        }
        let rss = server.rss_mib().unwrap_or(0.0);
        eprintln!(
            "  memory round {n}: {:.0} s, RSS {rss:.0} MiB",
            started.elapsed().as_secs_f64()
        );
        report.rss_mib.push(rss);
        report.round_failures.push(failed);
    }
}

// ---------------------------------------------------------------------------
// Reporting.

fn print_store(r: &StoreReport) {
    println!(
        "\n### {} ({} clients; {} tickets in the big client, {} in the second, {} in all)\n",
        r.store, r.clients, r.big_tickets, r.second_tickets, r.tickets_total
    );
    println!("Seeded in {:.0} s.\n", r.seed_seconds);
    println!("| scenario | clients | requests | req/s | p50 ms | p99 ms | non-2xx |");
    println!("|---|---|---|---|---|---|---|");
    for (name, row) in &r.rows {
        match row {
            Row::Measured(o) => {
                let odd: Vec<String> = o
                    .statuses
                    .iter()
                    .filter(|(s, _)| !success(**s))
                    .map(|(s, n)| format!("{n}x{s}"))
                    .collect();
                let non2xx = if odd.is_empty() {
                    "0".to_owned()
                } else {
                    odd.join(", ")
                };
                println!(
                    "| {name} | {} | {} | {:.0} | {:.1} | {:.1} | {non2xx} |",
                    o.concurrency,
                    o.requests,
                    o.rps(),
                    o.p50_ms,
                    o.p99_ms
                );
            }
            Row::NotAvailable(why) => println!("| {name} | | | {why} | | | |"),
        }
    }
    println!(
        "| gap analysis in-process, all 8 + summary (`Regentra::gap_analysis`, median of 5) | 1 | 5 | | {:.1} | | |",
        r.gap_in_process_ms
    );
    println!(
        "\nWorker sweep over {} orgs, nothing due: {:.2} s; {} store reads, returning {} ticket records.",
        r.clients + 1,
        r.sweep_seconds,
        r.sweep_reads,
        r.sweep_tickets
    );
    let rounds: Vec<String> = r.rss_mib.iter().map(|m| format!("{m:.0}")).collect();
    let failures: Vec<String> = r.round_failures.iter().map(usize::to_string).collect();
    println!(
        "Server RSS: {:.0} MiB after start; after each of three identical load rounds: {} MiB (non-2xx answers in the rounds: {}).",
        r.rss_after_start_mib,
        rounds.join(" / "),
        failures.join(" / ")
    );
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.0}%", 100.0 * a / b),
        _ => "n/a".into(),
    }
}

fn times(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}x", a / b),
        _ => "n/a".into(),
    }
}

fn print_targets(reports: &[StoreReport]) {
    let by = |store: &str| reports.iter().find(|r| r.store == store);
    let (emb, pg) = (by("embedded"), by("postgres"));
    let rps = |r: Option<&StoreReport>, name: &str| r.and_then(|r| r.row(name)).map(Outcome::rps);
    let p50 = |r: Option<&StoreReport>, name: &str| r.and_then(|r| r.row(name)).map(|o| o.p50_ms);
    println!("\n### The issue's targets\n");
    println!("| target | embedded | postgres |");
    println!("|---|---|---|");
    let per_store = |label: &str, f: &dyn Fn(Option<&StoreReport>) -> String| {
        println!("| {label} | {} | {} |", f(emb), f(pg));
    };
    per_store(
        "filtered first page, big client / 1k (p50, one at a time; target within 2x)",
        &|r| times(p50(r, F_BIG), p50(r, F_SMALL)),
    );
    per_store(
        "unfiltered first page, big client / 1k (p50, one at a time, for reference)",
        &|r| times(p50(r, Q_BIG_TECH), p50(r, Q_SMALL_ONE)),
    );
    per_store(
        "GET /v1/me (employee) / 401 ceiling (req/s; target >= 30% on embedded)",
        &|r| ratio(rps(r, ME_EMPLOYEE), rps(r, ME_401)),
    );
    per_store("ticket read / 401 ceiling (req/s)", &|r| {
        ratio(rps(r, READ), rps(r, ME_401))
    });
    per_store("64 concurrent creations: failures (target 0)", &|r| match r
        .and_then(|r| r.row(CREATE))
    {
        Some(o) => format!("{} of {}", o.unexpected, o.requests),
        None => "n/a".into(),
    });
    per_store(
        "RSS after round 3 / after round 1 (target <= 110%)",
        &|r| match r.map(|r| r.rss_mib.as_slice()) {
            Some([first, .., last]) => ratio(Some(*last), Some(*first)),
            _ => "n/a".into(),
        },
    );
    per_store(
        "worker sweep, nothing due: ticket records read (target 0)",
        &|r| r.map_or("n/a".into(), |r| r.sweep_tickets.to_string()),
    );
    println!("\n| cross-store target (postgres / embedded, req/s) | value |");
    println!("|---|---|");
    println!(
        "| GET /v1/me, employee (target >= 40%) | {} |",
        ratio(rps(pg, ME_EMPLOYEE), rps(emb, ME_EMPLOYEE))
    );
    println!(
        "| GET /v1/me, MSP admin | {} |",
        ratio(rps(pg, ME_ADMIN), rps(emb, ME_ADMIN))
    );
    println!(
        "| ticket read (target >= 40%) | {} |",
        ratio(rps(pg, READ), rps(emb, READ))
    );
    println!(
        "| ticket creation, 64 concurrent (target >= 50%) | {} |",
        ratio(rps(pg, CREATE), rps(emb, CREATE))
    );
}

fn main() {
    let config = Config::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    println!(
        "\n## scale: {} (each timed scenario {} s)",
        config
            .stores
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(" + "),
        config.seconds
    );
    // Each store's table as soon as it is measured: a run cut short keeps them.
    let mut reports = Vec::new();
    for kind in &config.stores {
        let report = runtime.block_on(run_store(*kind, &config));
        print_store(&report);
        reports.push(report);
    }
    print_targets(&reports);
    println!("\nWhole run: {:.0} s.", started.elapsed().as_secs_f64());
}
