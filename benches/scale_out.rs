//! The scale-out benchmark (issue 21): one Postgres database served by 1,
//! then 2, then 3 `regentra serve` processes (the release binary, each a
//! separate process on its own port), driven by one mixed workload sent
//! round-robin over the processes by a fixed number of concurrent
//! keep-alive clients. Not Criterion: a plain program that prints Markdown
//! tables, with the facts that explain the scaling (where the machine's CPU
//! went, what Postgres's sessions were doing).
//!
//! ```text
//! cargo build --release -p regentra-http --bin regentra
//! REGENTRA_TEST_DATABASE_URL=postgres://... cargo bench --bench scale_out
//! ```
//!
//! Without `REGENTRA_TEST_DATABASE_URL` it says so and exits. Durations and
//! sizes come from the environment (see [`Config::from_env`]);
//! benches/README.md describes the workload and records the figures.

// Each benchmark uses part of the shared module.
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use regentra_core::ids::{ChatId, OrgId, TicketId};
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::NewSlaPolicy;
use regentra_core::psa::ticket::NewTicket;
use regentra_core::rbac::Role;
use regentra_core::tenancy::OrgKind;
use regentra_core::{ManualClock, Principal, Regentra};
use regentra_store_postgres::PostgresStore;
use regentra_store_postgres::testing::{TEST_DATABASE_URL, TestDatabase, TestRole, server_url};
use reqwest::Method;
use serde_json::json;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use support::{
    OPERATOR_EMAIL, Outcome, Request, Samples, Server, Until, drive, env_number, process_cpu_ticks,
    server_bin, success,
};

// ---------------------------------------------------------------------------
// Configuration

#[derive(Debug, Clone)]
struct Config {
    /// `SCALE_OUT_PROCESSES`: runs with 1, 2, ... up to this many processes.
    processes: usize,
    /// `SCALE_OUT_SECONDS`: how long each measured run lasts.
    seconds: u64,
    /// `SCALE_OUT_WARMUP`: seconds of the same load, not measured, before
    /// each run (connections opened, pools filled).
    warmup: u64,
    /// `SCALE_OUT_CONCURRENCY`: concurrent clients, whatever the processes.
    concurrency: usize,
    /// `SCALE_OUT_ORGS`: client orgs under the MSP.
    orgs: usize,
    /// `SCALE_OUT_TICKETS`: tickets seeded in each client.
    tickets: usize,
    /// `SCALE_OUT_SWEEP`: seconds between each process's worker sweeps.
    sweep: u64,
    /// `SCALE_SERVER_BIN`: the `regentra` binary.
    server: PathBuf,
}

impl Config {
    fn from_env() -> Self {
        let config = Self {
            processes: env_number("SCALE_OUT_PROCESSES", 3),
            seconds: env_number("SCALE_OUT_SECONDS", 20) as u64,
            warmup: env_number("SCALE_OUT_WARMUP", 3) as u64,
            concurrency: env_number("SCALE_OUT_CONCURRENCY", 32),
            orgs: env_number("SCALE_OUT_ORGS", 20),
            tickets: env_number("SCALE_OUT_TICKETS", 25),
            sweep: env_number("SCALE_OUT_SWEEP", 5) as u64,
            server: server_bin(),
        };
        assert!(config.processes >= 1, "SCALE_OUT_PROCESSES: at least 1");
        assert!(config.orgs >= 1, "SCALE_OUT_ORGS: at least 1");
        assert!(config.tickets >= 1, "SCALE_OUT_TICKETS: at least 1");
        assert!(config.concurrency >= 1, "SCALE_OUT_CONCURRENCY: at least 1");
        config
    }
}

// ---------------------------------------------------------------------------
// Seeding, through the library.

/// What the workload needs to know about the seeded data.
#[derive(Debug)]
struct Seeded {
    tech_token: String,
    clients: Vec<Client>,
    seconds: f64,
}

/// One client org: its tickets and its open chat.
#[derive(Debug)]
struct Client {
    org: OrgId,
    tickets: Vec<TicketId>,
    chat: ChatId,
}

/// 75% of the first-response target below: when a ticket's first
/// escalation comes due after it opened.
const FIRST_ESCALATION: Duration = Duration::from_secs(45);

/// The MSP's default policy: around the clock (so the clocks run whenever
/// the benchmark does), a first response due within a minute, so that the
/// workers find escalations due (notify the technicians at 75%, 45 s after
/// a ticket opens), and the scale benchmark's other two rules, which do not
/// come due during a run.
fn sla_policy() -> NewSlaPolicy {
    let day = json!([["00:00", "24:00"]]);
    let targets = json!({"first_response_minutes": 1, "resolution_minutes": 600});
    serde_json::from_value(json!({
        "name": "Scale-out around the clock",
        "calendar": {
            "timezone": "UTC",
            "weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}
        },
        "targets": {"critical": targets, "high": targets, "medium": targets, "low": targets},
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

/// The platform operator, an MSP with an admin and a technician, the SLA
/// policy, `orgs` clients with the technician assigned to each, and in
/// each client `tickets` tickets and an employee's open chat.
///
/// The tickets are opened in the past, on a clock of their own, so that
/// their first escalations come due one after another over the next
/// `due_over`: the workers of the run that follows have a steady stream of
/// escalations to fire (the ones opened during the run come due only after
/// it).
async fn seed(store: &Arc<PostgresStore>, config: &Config, due_over: Duration) -> Seeded {
    let started = Instant::now();
    let r = &Arc::new(Regentra::new(store.clone()));
    let total = config.orgs * config.tickets;
    let delta = |d: Duration| chrono::TimeDelta::from_std(d).expect("a short duration");
    let opened = |k: usize| {
        chrono::Utc::now() + delta(due_over.mul_f64(k as f64 / total as f64))
            - delta(FIRST_ESCALATION)
    };
    let ops = r
        .bootstrap_platform_admin(OPERATOR_EMAIL, "Platform admin")
        .await
        .expect("bootstrap");
    let ops = Principal::new(ops.id);
    let msp = r
        .create_organization(&ops, "Scale-out MSP", OrgKind::Msp)
        .await
        .expect("msp")
        .id;
    let member = |org: OrgId, email: String, role| {
        let (r, ops) = (r.clone(), ops.clone());
        async move {
            let added = r
                .add_member(&ops, org, &email, &email, role)
                .await
                .expect("member");
            Principal::new(added.membership().expect("shown to the operator").user)
        }
    };
    let admin = member(msp, "admin@scale-out.test".into(), Role::MspAdmin).await;
    let tech = member(msp, "tech@scale-out.test".into(), Role::Technician).await;
    r.create_sla_policy(&admin, msp, sla_policy())
        .await
        .expect("MSP default SLA policy");
    // One at a time: each assignment changes the technician's records.
    let mut orgs = Vec::with_capacity(config.orgs);
    for i in 0..config.orgs {
        let org = r
            .create_client(&admin, msp, &format!("Client {i:02}"))
            .await
            .expect("client")
            .id;
        r.assign_staff(&admin, msp, org, tech.user, Role::Technician)
            .await
            .expect("technician assigned");
        orgs.push(org);
    }
    // Then the clients side by side: each one's writes touch only its own
    // records and audit chain.
    let clients: Vec<Client> = futures::stream::iter(orgs.into_iter().enumerate())
        .map(|(i, org)| {
            let (tech, member) = (&tech, &member);
            async move {
                let employee =
                    member(org, format!("employee{i}@scale-out.test"), Role::Employee).await;
                let chat = r
                    .start_chat(&employee, org, "Is anyone there?")
                    .await
                    .expect("chat")
                    .id;
                let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
                let past = Regentra::new(store.clone()).with_clock(clock.clone());
                let mut tickets = Vec::with_capacity(config.tickets);
                for n in 0..config.tickets {
                    // Interleaved: every client has tickets coming due
                    // throughout.
                    clock.set(opened(n * config.orgs + i));
                    let ticket = past
                        .create_ticket(
                            tech,
                            org,
                            NewTicket {
                                subject: format!("Seeded ticket {n}"),
                                description: "Seeded by the scale-out benchmark.".into(),
                                priority: [Priority::Low, Priority::Medium, Priority::High][n % 3],
                                requester: None,
                            },
                        )
                        .await
                        .expect("ticket");
                    tickets.push(ticket.id);
                }
                Client { org, tickets, chat }
            }
        })
        .buffered(4)
        .collect()
        .await;
    let (_, tech_token) = r.issue_token(&tech, "scale-out").await.expect("token");
    Seeded {
        tech_token,
        clients,
        seconds: started.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------
// The workload.

/// The kinds of request in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    TicketRead,
    TicketPage,
    Me,
    TicketCreate,
    Comment,
    Priority,
    Chat,
}

const READS: &str = "reads";
const WRITES: &str = "writes";
const CHATS: &str = "chat";

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::TicketRead,
        Kind::TicketPage,
        Kind::Me,
        Kind::TicketCreate,
        Kind::Comment,
        Kind::Priority,
        Kind::Chat,
    ];

    /// What it is sent as; also its samples' class.
    fn label(self) -> &'static str {
        match self {
            Kind::TicketRead => "GET /v1/orgs/{org}/tickets/{id}",
            Kind::TicketPage => "GET /v1/orgs/{org}/tickets?limit=25",
            Kind::Me => "GET /v1/me",
            Kind::TicketCreate => "POST /v1/orgs/{org}/tickets",
            Kind::Comment => "POST /v1/orgs/{org}/tickets/{id}/comments (internal note)",
            Kind::Priority => "PATCH /v1/orgs/{org}/tickets/{id} (priority)",
            Kind::Chat => "POST /v1/orgs/{org}/chats/{chat}/messages",
        }
    }

    fn group(self) -> &'static str {
        match self {
            Kind::TicketRead | Kind::TicketPage | Kind::Me => READS,
            Kind::TicketCreate | Kind::Comment | Kind::Priority => WRITES,
            Kind::Chat => CHATS,
        }
    }

    /// Its share of the mix, in percent: 60% reads, 30% writes, 10% chat.
    fn share(self) -> usize {
        match self {
            Kind::TicketRead | Kind::TicketPage | Kind::Me => 20,
            Kind::TicketCreate | Kind::Comment | Kind::Priority | Kind::Chat => 10,
        }
    }

    fn of_label(label: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.label() == label)
    }
}

/// A small deterministic generator (splitmix64): the same deck every run.
#[derive(Debug)]
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A shuffled deck of 1,000 requests in the mix's proportions, each on a
/// random client and ticket, all as the technician (assigned to every
/// client). The load sends it in order, round-robin over the processes.
fn deck(s: &Seeded) -> Vec<Request> {
    let token = s.tech_token.as_str();
    let mut mix = Mix(21);
    let mut deck = Vec::with_capacity(1000);
    for kind in Kind::ALL {
        for n in 0..kind.share() * 10 {
            let client = &s.clients[mix.below(s.clients.len())];
            let (org, ticket) = (client.org, client.tickets[mix.below(client.tickets.len())]);
            let request = match kind {
                Kind::TicketRead => {
                    Request::get(format!("/v1/orgs/{org}/tickets/{ticket}"), Some(token))
                }
                Kind::TicketPage => {
                    Request::get(format!("/v1/orgs/{org}/tickets?limit=25"), Some(token))
                }
                Kind::Me => Request::get("/v1/me".into(), Some(token)),
                Kind::TicketCreate => Request::post(
                    format!("/v1/orgs/{org}/tickets"),
                    token,
                    json!({"subject": "Printer offline", "description": "From the scale-out load.", "priority": "medium"}),
                ),
                Kind::Comment => Request::post(
                    format!("/v1/orgs/{org}/tickets/{ticket}/comments"),
                    token,
                    json!({"body": "Looked into it; rebooting the spooler.", "public": false}),
                ),
                Kind::Priority => {
                    let priority = ["low", "medium", "high"][n % 3];
                    Request::with_body(
                        Method::PATCH,
                        format!("/v1/orgs/{org}/tickets/{ticket}"),
                        token,
                        json!({ "priority": priority }),
                    )
                }
                Kind::Chat => Request::post(
                    format!("/v1/orgs/{org}/chats/{}/messages", client.chat),
                    token,
                    json!({"body": "Checking now, one moment."}),
                ),
            };
            deck.push(request.class(kind.label()));
        }
    }
    // Fisher-Yates.
    for i in (1..deck.len()).rev() {
        let j = mix.below(i + 1);
        deck.swap(i, j);
    }
    deck
}

fn group_of(label: &str) -> &'static str {
    Kind::of_label(label).map_or("", Kind::group)
}

// ---------------------------------------------------------------------------
// Where the CPU went: /proc, in clock ticks (1/100 s).

/// The machine's busy and total ticks over all CPUs, from /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    // idle and iowait are the 4th and 5th.
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// Every Postgres process's CPU ticks so far, by pid (the postmaster, its
/// background processes and the backends all run as `postgres`).
fn postgres_ticks() -> BTreeMap<u32, u64> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| Some((pid, process_cpu_ticks(pid)?)))
        .collect()
}

#[derive(Debug, Clone)]
struct CpuMark {
    machine_busy: u64,
    machine_total: u64,
    servers: Vec<u64>,
    postgres: BTreeMap<u32, u64>,
    this: u64,
}

impl CpuMark {
    fn now(servers: &[Server]) -> Self {
        let (machine_busy, machine_total) = machine_ticks();
        Self {
            machine_busy,
            machine_total,
            servers: servers.iter().map(Server::cpu_ticks).collect(),
            postgres: postgres_ticks(),
            this: process_cpu_ticks(std::process::id()).unwrap_or(0),
        }
    }
}

/// CPU used over a run, in cores (1.0 = one core busy throughout).
#[derive(Debug, Clone, Default)]
struct CpuUse {
    cores: f64,
    busy: f64,
    servers: f64,
    postgres: f64,
    load_generator: f64,
}

impl CpuUse {
    fn between(a: &CpuMark, b: &CpuMark, seconds: f64) -> Self {
        let cores = |ticks: u64| ticks as f64 / 100.0 / seconds;
        let servers: u64 = b
            .servers
            .iter()
            .zip(&a.servers)
            .map(|(b, a)| b.saturating_sub(*a))
            .sum();
        // A backend that started during the run counts from zero; one that
        // ended during it is missed (connections are pooled: rare).
        let postgres: u64 = b
            .postgres
            .iter()
            .map(|(pid, t)| t.saturating_sub(a.postgres.get(pid).copied().unwrap_or(0)))
            .sum();
        let machine_total = b.machine_total.saturating_sub(a.machine_total) as f64;
        let machine_busy = b.machine_busy.saturating_sub(a.machine_busy) as f64;
        Self {
            // /proc/stat counts every CPU's ticks.
            cores: machine_total / 100.0 / seconds,
            busy: machine_busy / 100.0 / seconds,
            servers: cores(servers),
            postgres: cores(postgres),
            load_generator: cores(b.this.saturating_sub(a.this)),
        }
    }

    fn other(&self) -> f64 {
        (self.busy - self.servers - self.postgres - self.load_generator).max(0.0)
    }
}

// ---------------------------------------------------------------------------
// What Postgres saw, as the server's superuser.

/// Counters of the benchmark's database.
#[derive(Debug, Clone, Copy, Default)]
struct PgCounters {
    commits: i64,
    rollbacks: i64,
    deadlocks: i64,
    audit_events: i64,
    escalations: i64,
}

async fn pg_counters(conn: &mut PgConnection, database: &str) -> PgCounters {
    // Backends report their statistics at most once a second, so the
    // transaction counts lag by up to a second at both ends of a run. A
    // read ends in a rollback (the store's reads have nothing to commit).
    let (commits, rollbacks, deadlocks): (i64, i64, i64) = sqlx::query_as(
        "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = $1",
    )
    .bind(database)
    .fetch_one(&mut *conn)
    .await
    .expect("pg_stat_database");
    // Exact: every committed change appends its audit events.
    let (audit_events, escalations): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE event->>'action' = 'ticket.escalated') FROM audit_events",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("audit events");
    PgCounters {
        commits,
        rollbacks,
        deadlocks,
        audit_events,
        escalations,
    }
}

/// Samples of pg_stat_activity on the benchmark's database: sessions by
/// state, and what the active ones were doing (on CPU, or waiting on
/// what).
#[derive(Debug, Clone, Default)]
struct Activity {
    samples: usize,
    max_sessions: i64,
    /// Sum over the samples of the sessions in each state.
    states: BTreeMap<String, i64>,
    /// Sum over the samples of the active sessions by wait event type
    /// ("CPU" when not waiting).
    waits: BTreeMap<String, i64>,
}

impl Activity {
    fn mean_state(&self, state: &str) -> f64 {
        self.states.get(state).copied().unwrap_or(0) as f64 / self.samples.max(1) as f64
    }

    fn mean_sessions(&self) -> f64 {
        self.states.values().sum::<i64>() as f64 / self.samples.max(1) as f64
    }
}

/// Samples pg_stat_activity every 100 ms until `stop`.
async fn sample_activity(url: String, database: String, stop: Arc<AtomicBool>) -> Activity {
    let mut conn = PgConnection::connect(&url)
        .await
        .expect("monitor connection");
    let mut activity = Activity::default();
    while !stop.load(Ordering::Relaxed) {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT coalesce(state, ''), coalesce(wait_event_type, 'CPU') FROM pg_stat_activity \
             WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )
        .bind(&database)
        .fetch_all(&mut conn)
        .await
        .expect("pg_stat_activity");
        activity.samples += 1;
        activity.max_sessions = activity.max_sessions.max(rows.len() as i64);
        for (state, wait) in rows {
            if state == "active" {
                *activity.waits.entry(wait).or_insert(0) += 1;
            }
            *activity.states.entry(state).or_insert(0) += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = conn.close().await;
    activity
}

// ---------------------------------------------------------------------------
// One run: N processes, the load, and what it cost.

#[derive(Debug)]
struct RunReport {
    processes: usize,
    samples: Samples,
    cpu: CpuUse,
    activity: Activity,
    before: PgCounters,
    after: PgCounters,
    rss_mib: Vec<f64>,
    /// How long the processes took to drain and exit after SIGTERM, and
    /// whether each exited cleanly.
    stops: Vec<(bool, Duration)>,
    load_average: String,
}

impl RunReport {
    fn all(&self) -> Outcome {
        self.samples.outcome(|_| true, success)
    }

    fn kind(&self, kind: Kind) -> Outcome {
        self.samples.outcome(|s| s.class == kind.label(), success)
    }

    fn group(&self, group: &str) -> Outcome {
        self.samples
            .outcome(|s| group_of(s.class) == group, success)
    }

    fn per_second(&self, n: i64) -> f64 {
        n as f64 / self.samples.seconds
    }
}

async fn run(
    processes: usize,
    config: &Config,
    server_url: &str,
    database_url: &str,
    app_url: &str,
    seeded: &Seeded,
    dir: &std::path::Path,
) -> RunReport {
    let database = database_url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .expect("database URL")
        .get_database()
        .expect("a database name")
        .to_owned();
    let sweep = config.sweep.to_string();
    let mut servers: Vec<Server> = (0..processes)
        .map(|i| {
            Server::start(
                &config.server,
                &["--database-url", app_url, "--sweep-interval", &sweep],
                dir.join(format!("server-{processes}-{i}.log")),
            )
        })
        .collect();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client");
    for server in &mut servers {
        server.wait_readyz(&client).await;
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let deck = deck(seeded);
    eprintln!(
        "  {processes} process(es) ready; warming up {} s",
        config.warmup
    );
    if config.warmup > 0 {
        drive(
            &client,
            &bases,
            &deck,
            config.concurrency,
            Until::Elapsed(Duration::from_secs(config.warmup)),
        )
        .await;
    }

    // As the superuser on the benchmark's database: it sees every org's
    // audit events (row-level security binds the runtime role only).
    let mut monitor = PgConnection::connect(database_url)
        .await
        .expect("monitor connection");
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample_activity(
        server_url.to_owned(),
        database.clone(),
        stop.clone(),
    ));
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let before = pg_counters(&mut monitor, &database).await;
    let cpu_before = CpuMark::now(&servers);
    let started = Instant::now();
    let samples = drive(
        &client,
        &bases,
        &deck,
        config.concurrency,
        Until::Elapsed(Duration::from_secs(config.seconds)),
    )
    .await;
    let cpu_after = CpuMark::now(&servers);
    let cpu = CpuUse::between(&cpu_before, &cpu_after, started.elapsed().as_secs_f64());
    let after = pg_counters(&mut monitor, &database).await;
    stop.store(true, Ordering::Relaxed);
    let activity = sampler.await.expect("activity sampler");
    let _ = monitor.close().await;
    let rss_mib = servers.iter().map(|s| s.rss_mib().unwrap_or(0.0)).collect();

    // All at once, as a rolling deploy would not, but as a test of the
    // drain: each must finish its requests and sweeps and exit 0.
    let stops =
        futures::future::join_all(servers.into_iter().map(|s| s.stop(Duration::from_secs(60))))
            .await
            .into_iter()
            .map(|(status, took)| (status.is_some_and(|s| s.success()), took))
            .collect();

    let report = RunReport {
        processes,
        samples,
        cpu,
        activity,
        before,
        after,
        rss_mib,
        stops,
        load_average,
    };
    let all = report.all();
    eprintln!(
        "  {processes} process(es): {:.0} 2xx/s, p50 {:.1} ms, p99 {:.1} ms, errors {} {:?}",
        all.expected_rps(),
        all.p50_ms,
        all.p99_ms,
        all.unexpected,
        all.statuses
    );
    report
}

// ---------------------------------------------------------------------------
// Reporting.

fn errors(o: &Outcome) -> String {
    let odd: Vec<String> = o
        .statuses
        .iter()
        .filter(|(s, _)| !success(**s))
        .map(|(s, n)| {
            if *s == 0 {
                format!("{n} failed connections")
            } else {
                format!("{n}x{s}")
            }
        })
        .collect();
    if odd.is_empty() {
        "0".into()
    } else {
        odd.join(", ")
    }
}

fn print_reports(reports: &[RunReport], config: &Config) {
    println!("\n### Throughput\n");
    println!(
        "| processes | completed (2xx) req/s | p50 ms | p99 ms | errors (of all answers) | reads/s | writes/s | chat/s | requests per process |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in reports {
        let all = r.all();
        let per_process: Vec<String> = (0..r.processes)
            .map(|i| {
                r.samples
                    .samples
                    .iter()
                    .filter(|s| s.server == i)
                    .count()
                    .to_string()
            })
            .collect();
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {} of {} | {:.0} | {:.0} | {:.0} | {} |",
            r.processes,
            all.expected_rps(),
            all.p50_ms,
            all.p99_ms,
            errors(&all),
            all.requests,
            r.group(READS).expected_rps(),
            r.group(WRITES).expected_rps(),
            r.group(CHATS).expected_rps(),
            per_process.join(" / ")
        );
    }

    println!("\n### Latency by request (p50 / p99 ms; errors)\n");
    let header: Vec<String> = reports
        .iter()
        .map(|r| format!("{} process(es)", r.processes))
        .collect();
    println!("| request | share | {} |", header.join(" | "));
    println!("|---|---|{}", "---|".repeat(reports.len()));
    for kind in Kind::ALL {
        let cells: Vec<String> = reports
            .iter()
            .map(|r| {
                let o = r.kind(kind);
                let e = if o.unexpected == 0 {
                    String::new()
                } else {
                    format!("; {}", errors(&o))
                };
                format!("{:.1} / {:.1}{e}", o.p50_ms, o.p99_ms)
            })
            .collect();
        println!(
            "| `{}` | {}% | {} |",
            kind.label(),
            kind.share(),
            cells.join(" | ")
        );
    }

    println!("\n### Where the time went\n");
    println!(
        "| processes | CPU busy, cores (of {:.0}) | `regentra serve` (all) | Postgres | load generator | other | load average at start |",
        reports.first().map_or(2.0, |r| r.cpu.cores)
    );
    println!("|---|---|---|---|---|---|---|");
    for r in reports {
        let c = &r.cpu;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            r.processes,
            c.busy,
            c.servers,
            c.postgres,
            c.load_generator,
            c.other(),
            r.load_average
        );
    }
    println!();
    println!(
        "| processes | Postgres sessions: max / mean | mean active / idle / idle in transaction | active sessions by wait (mean) | transactions/s: commits + rollbacks | deadlocks | audit events/s | escalations fired |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in reports {
        let a = &r.activity;
        let waits: Vec<String> = a
            .waits
            .iter()
            .map(|(w, n)| format!("{w} {:.2}", *n as f64 / a.samples.max(1) as f64))
            .collect();
        let d = |f: fn(&PgCounters) -> i64| f(&r.after) - f(&r.before);
        println!(
            "| {} | {} / {:.1} | {:.1} / {:.1} / {:.1} | {} | {:.0} + {:.0} | {} | {:.0} | {} |",
            r.processes,
            a.max_sessions,
            a.mean_sessions(),
            a.mean_state("active"),
            a.mean_state("idle"),
            a.mean_state("idle in transaction"),
            waits.join(", "),
            r.per_second(d(|c| c.commits)),
            r.per_second(d(|c| c.rollbacks)),
            d(|c| c.deadlocks),
            r.per_second(d(|c| c.audit_events)),
            d(|c| c.escalations),
        );
    }
    println!();
    for r in reports {
        let rss: Vec<String> = r.rss_mib.iter().map(|m| format!("{m:.0}")).collect();
        let stops: Vec<String> = r
            .stops
            .iter()
            .map(|(clean, took)| {
                format!(
                    "{} in {:.1} s",
                    if *clean { "exit 0" } else { "NOT clean" },
                    took.as_secs_f64()
                )
            })
            .collect();
        println!(
            "- {} process(es): RSS after the run {} MiB; SIGTERM: {}.",
            r.processes,
            rss.join(" / "),
            stops.join(", ")
        );
    }
    println!(
        "\nEach run: {} s warm-up, then {} s measured; {} concurrent clients; worker sweep every {} s in each process.",
        config.warmup, config.seconds, config.concurrency, config.sweep
    );
}

async fn bench(config: &Config, server: &str) {
    // Declared before the databases so that it is dropped after them.
    let app_role = TestRole::create("IN ROLE regentra_app")
        .await
        .expect("a Postgres server");
    println!(
        "\n## scale_out: 1 to {} `regentra serve` processes on one Postgres database\n",
        config.processes
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mut reports = Vec::new();
    let mut seeding = Vec::new();
    for processes in 1..=config.processes {
        // A fresh database, seeded alike, for each run: every run starts
        // from the same data and the same escalations coming due, instead
        // of inheriting the tickets (and their escalations) of the last.
        let database = TestDatabase::create().await.expect("a Postgres server");
        eprintln!(
            "== {processes} process(es): seeding {} clients, {} tickets each",
            config.orgs, config.tickets
        );
        let store = Arc::new(
            PostgresStore::connect_with(database.url(), 8)
                .await
                .expect("Postgres store"),
        );
        // Due from now to a little after the run ends (start-up, warm-up,
        // the run).
        let due_over = Duration::from_secs(config.warmup + config.seconds + 10);
        let seeded = seed(&store, config, due_over).await;
        // Its sessions would otherwise sit idle among the servers' ones.
        store.pool().close().await;
        seeding.push(format!("{:.1}", seeded.seconds));
        let app_url = app_role.url(database.url());
        reports.push(
            run(
                processes,
                config,
                server,
                database.url(),
                &app_url,
                &seeded,
                dir.path(),
            )
            .await,
        );
        drop(database);
    }
    println!(
        "Each run on a fresh database: {} clients with {} tickets and an open chat each (seeded in {} s); \
         the seeded tickets' first escalations come due one after another from the end of seeding to 10 s after the run.",
        config.orgs,
        config.tickets,
        seeding.join(" / ")
    );
    print_reports(&reports, config);
    drop(app_role);
}

fn main() {
    let Some(server) = server_url() else {
        eprintln!(
            "scale_out measures processes sharing one Postgres database: set {TEST_DATABASE_URL} to run it"
        );
        return;
    };
    let config = Config::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    runtime.block_on(bench(&config, &server));
    println!("\nWhole run: {:.0} s.", started.elapsed().as_secs_f64());
}
