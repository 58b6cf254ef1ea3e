//! Several `regentra serve` processes on one Postgres database, as behind
//! a load balancer ([`Fleet`]), and the shared work the tests of several
//! workers give them: an MSP whose clients have SLA escalations due
//! ([`seed`]), and a webhook receiver that counts what it gets
//! ([`receiver`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regentra_core::ids::OrgId;
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::NewSlaPolicy;
use regentra_core::psa::ticket::NewTicket;
use regentra_core::rbac::Role;
use regentra_core::tenancy::OrgKind;
use regentra_core::{ManualClock, Principal, Regentra};
use regentra_store_postgres::testing::{TestDatabase, TestRole};
use serde_json::{Value, json};

use super::StatusCode;
use super::process::Process;

/// `regentra serve` processes on one database, each on a port of its own.
/// Dropping it kills them.
pub struct Fleet {
    /// The processes, in the order they were started.
    pub processes: Vec<Process>,
    /// The login role they connect as; dropped after them (fields drop in
    /// order).
    _role: TestRole,
}

impl Fleet {
    /// `n` processes on `db`, started at once, each connected as a login
    /// role that is only a member of `regentra_app` (as in production; the
    /// database is migrated), with `args` besides. The database should
    /// already hold what they are to work on: none of them bootstraps the
    /// platform admin of an empty store while another does.
    pub async fn start(db: &TestDatabase, n: usize, args: &[&str]) -> Fleet {
        let role = TestRole::create("IN ROLE regentra_app")
            .await
            .expect("the test database's server");
        let mut all = vec!["--database-url".to_owned(), role.url(db.url())];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let starting: Vec<_> = (0..n)
            .map(|_| {
                let all = all.clone();
                // Starting blocks until the process says where it listens.
                tokio::task::spawn_blocking(move || {
                    let args: Vec<&str> = all.iter().map(String::as_str).collect();
                    Process::with(&args, &[])
                })
            })
            .collect();
        let mut processes = Vec::new();
        for process in starting {
            processes.push(process.await.expect("a process starts"));
        }
        Fleet {
            processes,
            _role: role,
        }
    }

    /// Each process's base URL, in order.
    pub fn bases(&self) -> Vec<String> {
        self.processes.iter().map(|p| p.base.clone()).collect()
    }
}

/// Posts received, by path and notification id.
pub type Received = Arc<Mutex<HashMap<(String, String), u32>>>;

/// A webhook receiver at `/ok` (always 204) and `/flaky` (503 to the first
/// post of each notification, 204 after): its base URL and what it got.
pub async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let keep = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/{which}",
        axum::routing::post(
            move |axum::extract::Path(which): axum::extract::Path<String>, body: String| {
                let got = Arc::clone(&keep);
                async move {
                    let entry: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    let id = entry["id"].as_str().unwrap_or_default().to_owned();
                    let n = {
                        let mut got = got.lock().expect("received");
                        let n = got.entry((which.clone(), id)).or_default();
                        *n += 1;
                        *n
                    };
                    if which == "flaky" && n == 1 {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), got)
}

/// An MSP with `clients` clients, each with one technician and `tickets`
/// high-priority tickets whose response-time warning (at 50% of an hour)
/// is due once the clock has moved on 31 minutes, which it has when this
/// returns: one outbox entry each once the escalations fire.
pub async fn seed(
    r: &Arc<Regentra>,
    clock: &ManualClock,
    clients: usize,
    tickets: usize,
) -> Vec<OrgId> {
    let ops = r
        .bootstrap_platform_admin("ops@coordination.test", "Ops")
        .await
        .expect("bootstrap");
    let ops = Principal::new(ops.id);
    let msp = r
        .create_organization(&ops, "Coordination MSP", OrgKind::Msp)
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
    let admin = member("admin@coordination.test", Role::MspAdmin).await;
    let tech = member("tech@coordination.test", Role::Technician).await;
    let day = json!([["00:00", "24:00"]]);
    let targets = json!({"first_response_minutes": 60, "resolution_minutes": 480});
    let policy: NewSlaPolicy = serde_json::from_value(json!({
        "name": "Around the clock",
        "calendar": {"timezone": "UTC", "weekly": {
            "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}},
        "targets": {"critical": targets, "high": targets, "medium": targets, "low": targets},
        "escalations": [{"clock": "response", "trigger": {"kind": "percent", "percent": 50},
                         "action": {"kind": "notify_role", "role": "technician"}}],
        "default": true
    }))
    .expect("policy");
    r.create_sla_policy(&admin, msp, policy)
        .await
        .expect("policy");
    let mut orgs = Vec::new();
    for n in 0..clients {
        let client = r
            .create_client(&admin, msp, &format!("Client {n}"))
            .await
            .expect("client")
            .id;
        r.assign_staff(&admin, msp, client, tech.user, Role::Technician)
            .await
            .expect("assigned");
        for t in 0..tickets {
            r.create_ticket(
                &tech,
                client,
                NewTicket {
                    subject: format!("Printer {t}"),
                    description: String::new(),
                    priority: Priority::High,
                    requester: None,
                },
            )
            .await
            .expect("ticket");
        }
        orgs.push(client);
    }
    clock.advance(chrono::Duration::minutes(31));
    orgs
}
