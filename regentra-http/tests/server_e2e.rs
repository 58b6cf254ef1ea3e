//! The real server, started as `regentra serve` on a free port with an
//! embedded store in a temporary directory, driven over HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
    token: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary and reads the bound address and the bootstrap token
/// from its stderr.
fn start() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_regentra"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("REGENTRA_BOOTSTRAP_TOKEN")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("server starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let (mut base, mut token) = (None, None);
    while base.is_none() {
        let line = lines
            .next()
            .expect("the server reports its address")
            .expect("utf-8");
        if let Some(t) = line.strip_prefix("bootstrap token: ") {
            token = Some(t.to_owned());
        }
        if let Some(addr) = line.strip_prefix("listening on ") {
            base = Some(format!("http://{addr}"));
        }
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base: base.expect("address"),
        token: token.expect("a fresh store prints a bootstrap token"),
        _dir: dir,
    }
}

struct Client<'a> {
    http: reqwest::Client,
    server: &'a Server,
}

impl Client<'_> {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, String) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.server.base))
            .bearer_auth(&self.server.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            content_type,
        )
    }

    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Value {
        let (status, value, _) = self.call(method, path, body).await;
        assert_eq!(status, expected, "{path}: {value}");
        value
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_msp_onboards_a_client_and_works_its_compliance_and_helpdesk() {
    let server = start();
    let c = Client {
        http: reqwest::Client::new(),
        server: &server,
    };
    use reqwest::Method as M;

    let msp = c
        .ok(
            M::POST,
            "/v1/orgs",
            Some(json!({"name": "Northwind IT", "kind": "msp"})),
            StatusCode::CREATED,
        )
        .await;
    let msp = msp["id"].as_str().expect("id").to_owned();
    let added = c
        .ok(
            M::POST,
            &format!("/v1/orgs/{msp}/members"),
            Some(json!({"email": "alice@northwind.test", "name": "Alice", "role": "msp_admin"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(added["role"], "msp_admin");
    let mut clients = Vec::new();
    for name in ["Acme Dental", "Bolt Legal"] {
        let client = c
            .ok(
                M::POST,
                &format!("/v1/orgs/{msp}/clients"),
                Some(json!({ "name": name })),
                StatusCode::CREATED,
            )
            .await;
        clients.push(client["id"].as_str().expect("id").to_owned());
    }
    let listed = c
        .ok(
            M::GET,
            &format!("/v1/orgs/{msp}/clients"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 2);

    // Compliance: HIPAA and SOC 2 share the risk-assessment control.
    let acme = &clients[0];
    for framework in ["hipaa", "soc2"] {
        c.ok(
            M::POST,
            &format!("/v1/orgs/{acme}/frameworks"),
            Some(json!({ "framework": framework })),
            StatusCode::CREATED,
        )
        .await;
    }
    let gap = |f: &'static str| format!("/v1/orgs/{acme}/frameworks/{f}/gap-analysis");
    let hipaa_before = c.ok(M::GET, &gap("hipaa"), None, StatusCode::OK).await;
    let soc2_before = c.ok(M::GET, &gap("soc2"), None, StatusCode::OK).await;
    let controls = c
        .ok(
            M::GET,
            &format!("/v1/orgs/{acme}/controls"),
            None,
            StatusCode::OK,
        )
        .await;
    let rm01 = controls["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["control"] == "RM-01")
        .expect("RM-01")
        .clone();
    let frameworks: Vec<&str> = rm01["requirements"]
        .as_array()
        .expect("refs")
        .iter()
        .filter_map(|r| r["framework"].as_str())
        .collect();
    assert!(frameworks.contains(&"hipaa") && frameworks.contains(&"soc2"));
    c.ok(
        M::PATCH,
        &format!("/v1/orgs/{acme}/controls/RM-01"),
        Some(json!({"status": "not_applicable", "justification": "Covered by the parent company's program", "version": rm01["version"]})),
        StatusCode::OK,
    )
    .await;
    let hipaa_after = c.ok(M::GET, &gap("hipaa"), None, StatusCode::OK).await;
    let soc2_after = c.ok(M::GET, &gap("soc2"), None, StatusCode::OK).await;
    let satisfied = |v: &Value| v["totals"]["satisfied"].as_u64().expect("count");
    assert!(
        satisfied(&hipaa_after) > satisfied(&hipaa_before),
        "one control update moves HIPAA"
    );
    assert!(satisfied(&soc2_after) >= satisfied(&soc2_before));
    let stale = c
        .call(
            M::PATCH,
            &format!("/v1/orgs/{acme}/controls/RM-01"),
            Some(json!({"notes": "x", "version": rm01["version"]})),
        )
        .await;
    assert_eq!(
        stale.0,
        StatusCode::CONFLICT,
        "a stale version is a conflict"
    );

    // Helpdesk: a ticket with a per-org number.
    let ticket = c
        .ok(
            M::POST,
            &format!("/v1/orgs/{acme}/tickets"),
            Some(json!({"subject": "VPN down", "description": "since 9am", "priority": "high"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(ticket["number"], 1);
    let id = ticket["id"].as_str().expect("id");
    let fetched = c
        .ok(
            M::GET,
            &format!("/v1/orgs/{acme}/tickets/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(fetched["subject"], "VPN down");

    // The audit chain verifies.
    let verify = c
        .ok(
            M::GET,
            &format!("/v1/orgs/{acme}/audit/verify"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(verify["ok"], true);
    assert!(verify["events"].as_u64().expect("events") > 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_problem_json_and_write_nothing() {
    let server = start();
    let c = Client {
        http: reqwest::Client::new(),
        server: &server,
    };
    use reqwest::Method as M;
    let (status, body, content_type) = c
        .call(
            M::POST,
            "/v1/orgs",
            Some(json!({"name": "X", "kind": "msp", "extra": 1})),
        )
        .await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json")
    );
    assert!(body["detail"].as_str().expect("detail").contains("extra"));
    let (status, body, _) = c
        .call(
            M::POST,
            "/v1/orgs",
            Some(json!({"name": "X", "kind": "galaxy"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body, _) = c
        .call(
            M::POST,
            "/v1/orgs",
            Some(json!({"name": "   ", "kind": "msp"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "name");
    let raw = reqwest::Client::new()
        .post(format!("{}/v1/orgs", server.base))
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let wrong_type = reqwest::Client::new()
        .post(format!("{}/v1/orgs", server.base))
        .bearer_auth(&server.token)
        .body("name=X")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = "x".repeat(2 * 1024 * 1024);
    let (status, _, _) = c
        .call(
            M::POST,
            "/v1/orgs",
            Some(json!({"name": huge, "kind": "msp"})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let missing = uuid_like();
    let (status, body, content_type) = c
        .call(M::GET, &format!("/v1/orgs/{missing}/clients"), None)
        .await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json"),
        "{body}"
    );
    let (status, _, _) = c.call(M::GET, "/v1/orgs/not-an-id/clients", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let anonymous = reqwest::Client::new()
        .get(format!("{}/v1/me", server.base))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // None of the refused requests created anything.
    let me = c.ok(M::GET, "/v1/me", None, StatusCode::OK).await;
    assert!(me["memberships"].as_array().expect("list").is_empty());
}

fn uuid_like() -> String {
    "01900000-0000-7000-8000-000000000001".to_owned()
}
