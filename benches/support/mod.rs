//! What the whole-server benchmarks (`scale`, `scale_out`) share: the
//! `regentra serve` binary started as a child process and watched through
//! /proc, and the load generator (concurrent keep-alive reqwest clients over
//! loopback). Each benchmark includes this module with `mod support;` and
//! uses part of it, hence the `dead_code` allowance where it is included.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

/// The platform operator's email: the server's default, so `serve` finds
/// the seeded operator instead of creating another.
pub(crate) const OPERATOR_EMAIL: &str = "admin@localhost";

// ---------------------------------------------------------------------------
// Configuration

/// A whole number from the environment (`_` allowed as a separator), or
/// `default` when unset or empty.
pub(crate) fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}: {v:?} is not a whole number")),
        _ => default,
    }
}

/// The `regentra` binary the benchmarks start: `SCALE_SERVER_BIN`, or
/// `target/release/regentra` beside the running benchmark.
pub(crate) fn server_bin() -> PathBuf {
    match std::env::var("SCALE_SERVER_BIN") {
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        // target/release/deps/<bench>-<hash> -> target/release/regentra
        _ => std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("regentra")))
            .unwrap_or_else(|| PathBuf::from("target/release/regentra")),
    }
}

// ---------------------------------------------------------------------------
// The server process.

/// `regentra serve` as a child process; killed when dropped unless
/// [`Server::stop`] stopped it first.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    log: PathBuf,
}

impl Server {
    /// Starts `bin serve --listen 127.0.0.1:<free port> <args>`, its output
    /// in `log`, with `RUST_LOG=warn`.
    pub(crate) fn start(bin: &Path, args: &[&str], log: PathBuf) -> Server {
        assert!(
            bin.exists(),
            "{} is missing: build it first with `cargo build --release -p regentra-http --bin regentra` (or set SCALE_SERVER_BIN)",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let out = std::fs::File::create(&log).expect("server log");
        let child = Command::new(bin)
            .arg("serve")
            .args(["--listen", &listen])
            .args(args)
            .env("REGENTRA_ADMIN_EMAIL", OPERATOR_EMAIL)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start regentra serve");
        Server {
            child,
            base: format!("http://{listen}"),
            log,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory, from /proc (Linux).
    pub(crate) fn rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }

    /// User + system CPU time so far, in clock ticks.
    pub(crate) fn cpu_ticks(&self) -> u64 {
        process_cpu_ticks(self.pid()).unwrap_or(0)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the server answers (401 to `GET /v1/me` without a
    /// token), at most 2 minutes.
    pub(crate) async fn wait_ready(&mut self, client: &reqwest::Client) {
        self.wait_for(client, "/v1/me", 401).await;
    }

    /// Waits until `GET /readyz` answers 200 (the database answers and its
    /// schema is current), at most 2 minutes.
    pub(crate) async fn wait_readyz(&mut self, client: &reqwest::Client) {
        self.wait_for(client, "/readyz", 200).await;
    }

    async fn wait_for(&mut self, client: &reqwest::Client, path: &str, status: u16) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("regentra serve exited ({exit}):\n{}", self.log_text());
            }
            if let Ok(r) = client.get(format!("{}{path}", self.base)).send().await
                && r.status().as_u16() == status
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "regentra serve did not answer {path} with {status} within 2 minutes:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the server uses under 5% of a core over a second (its
    /// start-up worker sweep done), at most a few minutes.
    pub(crate) async fn wait_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let before = self.cpu_ticks();
            tokio::time::sleep(Duration::from_secs(1)).await;
            // Clock ticks are 1/100 s on Linux: 5 ticks a second is 5%.
            if self.cpu_ticks() - before < 5 || Instant::now() > deadline {
                return;
            }
        }
    }

    /// Stops the server as an orchestrator would: SIGTERM, then the
    /// server drains (finishes its requests and the orgs it is sweeping)
    /// and exits. Returns its exit status and how long it took; killed if
    /// it has not exited after `patience`.
    pub(crate) async fn stop(mut self, patience: Duration) -> (Option<ExitStatus>, Duration) {
        let started = Instant::now();
        // std has no signal but SIGKILL; kill(1) sends SIGTERM without a
        // dependency on libc.
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if sent {
            while started.elapsed() < patience {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return (Some(status), started.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        // Drop kills it.
        (None, started.elapsed())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// User + system CPU time of a process so far, in clock ticks (1/100 s on
/// Linux), from /proc/<pid>/stat.
pub(crate) fn process_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (in parentheses): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(field(11)? + field(12)?)
}

// ---------------------------------------------------------------------------
// The load generator.

/// One request of a load, labelled with the class it is reported under.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) token: Option<String>,
    pub(crate) body: Option<Value>,
    pub(crate) class: &'static str,
}

impl Request {
    pub(crate) fn get(path: String, token: Option<&str>) -> Self {
        Self {
            method: Method::GET,
            path,
            token: token.map(str::to_owned),
            body: None,
            class: "",
        }
    }

    pub(crate) fn post(path: String, token: &str, body: Value) -> Self {
        Self::with_body(Method::POST, path, token, body)
    }

    pub(crate) fn with_body(method: Method, path: String, token: &str, body: Value) -> Self {
        Self {
            method,
            path,
            token: Some(token.to_owned()),
            body: Some(body),
            class: "",
        }
    }

    /// The same request, reported under `class`.
    pub(crate) fn class(self, class: &'static str) -> Self {
        Self { class, ..self }
    }

    /// Sends the request and reads the whole answer: its status, or `None`
    /// when the connection failed.
    pub(crate) async fn send(&self, client: &reqwest::Client, base: &str) -> Option<u16> {
        let mut req = client.request(self.method.clone(), format!("{base}{}", self.path));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = &self.body {
            req = req.json(body);
        }
        let response = req.send().await.ok()?;
        let status = response.status().as_u16();
        response.bytes().await.ok()?;
        Some(status)
    }
}

/// When a load ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Until {
    /// After this long (requests in flight finish).
    Elapsed(Duration),
    /// After this many requests in all.
    Count(usize),
}

/// One answered (or failed) request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) class: &'static str,
    /// Which of the load's servers it went to.
    pub(crate) server: usize,
    pub(crate) micros: u64,
    /// 0 when the connection failed.
    pub(crate) status: u16,
}

/// A load's samples and how long it ran.
#[derive(Debug, Clone, Default)]
pub(crate) struct Samples {
    pub(crate) concurrency: usize,
    pub(crate) seconds: f64,
    pub(crate) samples: Vec<Sample>,
}

impl Samples {
    /// The outcome of the samples `keep` selects (all requests, one class).
    pub(crate) fn outcome(
        &self,
        keep: impl Fn(&Sample) -> bool,
        expected: fn(u16) -> bool,
    ) -> Outcome {
        let mut latencies = Vec::new();
        let mut statuses = BTreeMap::new();
        let mut unexpected = 0;
        for s in self.samples.iter().filter(|s| keep(s)) {
            latencies.push(s.micros);
            *statuses.entry(s.status).or_insert(0) += 1;
            if !expected(s.status) {
                unexpected += 1;
            }
        }
        latencies.sort_unstable();
        let pct = |p: usize| {
            latencies
                .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
                .map_or(0.0, |us| *us as f64 / 1000.0)
        };
        Outcome {
            concurrency: self.concurrency,
            requests: latencies.len(),
            seconds: self.seconds,
            p50_ms: pct(50),
            p99_ms: pct(99),
            unexpected,
            statuses,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) concurrency: usize,
    pub(crate) requests: usize,
    pub(crate) seconds: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// Answers other than the expected status, and failed connections.
    pub(crate) unexpected: usize,
    pub(crate) statuses: BTreeMap<u16, usize>,
}

impl Outcome {
    /// Requests answered a second, whatever the answer.
    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// Requests answered as expected a second.
    pub(crate) fn expected_rps(&self) -> f64 {
        (self.requests - self.unexpected) as f64 / self.seconds
    }
}

/// `concurrency` tasks on one client, each sending one request after
/// another until `until`: the n-th request of the load (counted across the
/// tasks) is `deck[n % deck.len()]` sent to `bases[n % bases.len()]`, so a
/// shuffled deck is a mix and several bases are served round-robin.
pub(crate) async fn drive(
    client: &reqwest::Client,
    bases: &[String],
    deck: &[Request],
    concurrency: usize,
    until: Until,
) -> Samples {
    assert!(!bases.is_empty() && !deck.is_empty(), "something to send");
    let started = Instant::now();
    let taken = Arc::new(AtomicUsize::new(0));
    let bases: Arc<[String]> = bases.into();
    let deck: Arc<[Request]> = deck.into();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, bases, deck, taken) =
                (client.clone(), bases.clone(), deck.clone(), taken.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                loop {
                    let n = taken.fetch_add(1, Ordering::Relaxed);
                    let go = match until {
                        Until::Elapsed(d) => started.elapsed() < d,
                        Until::Count(count) => n < count,
                    };
                    if !go {
                        break;
                    }
                    let (request, server) = (&deck[n % deck.len()], n % bases.len());
                    let sent = Instant::now();
                    let status = request.send(&client, &bases[server]).await;
                    samples.push(Sample {
                        class: request.class,
                        server,
                        micros: sent.elapsed().as_micros() as u64,
                        status: status.unwrap_or(0),
                    });
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.expect("load task"));
    }
    Samples {
        concurrency,
        seconds: started.elapsed().as_secs_f64(),
        samples,
    }
}

/// One request, repeated by `concurrency` tasks against one server.
pub(crate) async fn load(
    client: &reqwest::Client,
    base: &str,
    request: &Request,
    concurrency: usize,
    until: Until,
    expected: fn(u16) -> bool,
) -> Outcome {
    drive(
        client,
        &[base.to_owned()],
        std::slice::from_ref(request),
        concurrency,
        until,
    )
    .await
    .outcome(|_| true, expected)
}

pub(crate) fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

pub(crate) fn unauthorized(status: u16) -> bool {
    status == 401
}
