//! The real server for end-to-end tests: `regentra serve` started as a
//! child process on a free port, on the embedded store in a temporary
//! directory or on a fresh Postgres database, driven over HTTP.
#![allow(dead_code, unreachable_pub)] // each test file uses its own share of these helpers

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use regentra_store_postgres::testing::TestDatabase;
pub use reqwest::Method as M;
pub use reqwest::StatusCode;
use serde_json::{Value, json};

/// Which store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Postgres,
}

pub struct Server {
    child: Child,
    pub base: String,
    /// The platform admin's bootstrap token.
    pub token: String,
    /// Everything the server printed on stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
    _db: Option<Arc<TestDatabase>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server on the embedded store.
    pub fn embedded(args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().to_str().expect("utf-8 path").to_owned();
        let mut all = vec!["--data-dir", data.as_str()];
        all.extend_from_slice(args);
        spawn(&all, env, dir, None)
    }

    /// The server on the embedded store in a directory the test owns.
    pub fn embedded_at(data: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut all = vec!["--data-dir", data];
        all.extend_from_slice(args);
        spawn(&all, env, dir, None)
    }

    /// The server on a fresh Postgres database; `None` (skipped, said on
    /// stderr) when no test database server is configured.
    pub async fn postgres(args: &[&str], env: &[(&str, &str)]) -> Option<Server> {
        let db = TestDatabase::create_empty().await?;
        let dir = tempfile::tempdir().expect("temp dir");
        let url = db.url().to_owned();
        let mut all = vec!["--database-url", url.as_str()];
        all.extend_from_slice(args);
        Some(spawn(&all, env, dir, Some(db)))
    }

    pub async fn on(backend: Backend) -> Option<Server> {
        match backend {
            Backend::Embedded => Some(Server::embedded(&[], &[])),
            Backend::Postgres => Server::postgres(&[], &[]).await,
        }
    }

    /// A client acting with the platform admin's token.
    pub fn admin(&self) -> Api {
        self.with_token(&self.token)
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: self.base.clone(),
            token: Some(token.to_owned()),
        }
    }

    pub fn anonymous(&self) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: self.base.clone(),
            token: None,
        }
    }

    /// Logs in with a password and returns a client with the new token.
    pub async fn login(&self, email: &str, password: &str) -> Api {
        let body = self
            .anonymous()
            .ok(
                M::POST,
                "/v1/auth/login",
                Some(json!({ "email": email, "password": password })),
                StatusCode::OK,
            )
            .await;
        self.with_token(body["token"].as_str().expect("token"))
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = self.child.wait().expect("the server ends");
        // Let the stderr reader catch the last lines.
        std::thread::sleep(std::time::Duration::from_millis(200));
        status
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }
}

fn spawn(
    args: &[&str],
    env: &[(&str, &str)],
    dir: tempfile::TempDir,
    db: Option<Arc<TestDatabase>>,
) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regentra"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REGENTRA_BOOTSTRAP_TOKEN")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("server starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (mut base, mut token) = (None, None);
    while base.is_none() {
        let line = match lines.next() {
            Some(Ok(line)) => line,
            _ => panic!(
                "the server exited before listening:\n{}",
                log.lock().expect("log").join("\n")
            ),
        };
        if let Some(t) = line.strip_prefix("bootstrap token: ") {
            token = Some(t.to_owned());
        }
        if let Some(addr) = line.strip_prefix("listening on ") {
            base = Some(format!("http://{addr}"));
        }
        log.lock().expect("log").push(line);
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().expect("log").push(line);
        }
    });
    let token = token
        .or_else(|| {
            env.iter()
                .find(|(k, _)| *k == "REGENTRA_BOOTSTRAP_TOKEN")
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap_or_default();
    Server {
        child,
        base: base.expect("address"),
        token,
        log,
        _dir: dir,
        _db: db,
    }
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub content_type: String,
}

impl Reply {
    pub fn is_problem(&self) -> bool {
        self.content_type.starts_with("application/problem+json")
    }
}

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Api {
    pub async fn call(&self, method: M, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        reply(req.send().await.expect("request")).await
    }

    /// A request with a raw body and content type.
    pub async fn raw(&self, method: M, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        reply(req.send().await.expect("request")).await
    }

    /// Asserts the status and returns the JSON body.
    pub async fn ok(
        &self,
        method: M,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Value {
        let r = self.call(method.clone(), path, body).await;
        assert_eq!(r.status, expected, "{method} {path}: {}", r.text);
        r.body
    }

    pub async fn get(&self, path: &str) -> Value {
        self.ok(M::GET, path, None, StatusCode::OK).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.ok(M::POST, path, Some(body), StatusCode::CREATED)
            .await
    }
}

async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = res.text().await.expect("body");
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        content_type,
    }
}

/// The `id` of a JSON body.
pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The items of a page.
pub fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().expect("items")
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

pub mod world;

/// Opens a WebSocket; the HTTP status and body when the server refuses it.
pub async fn websocket_refusal(base: &str, path: &str, token: &str) -> Option<(u16, String)> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}{path}", base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("a ws url");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => None,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Some((response.status().as_u16(), body))
        }
        Err(e) => panic!("websocket to {path}: {e}"),
    }
}
