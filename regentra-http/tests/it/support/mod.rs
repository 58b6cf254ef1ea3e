//! The server for end-to-end tests, built in the test's own process by the
//! same code `regentra serve` runs ([`regentra_http::cli::serve::App`]) and
//! listening on `127.0.0.1:0`, on the embedded store in memory or on a fresh
//! Postgres database, driven over real HTTP. [`process`] starts the binary
//! itself, for the tests where the process is the point.
#![allow(dead_code, unreachable_pub)] // each test module uses its own share of these helpers

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use regentra_core::store::Store;
use regentra_core::{PasswordHashing, Regentra};
use regentra_http::cli::serve::{App, AppConfig};
use regentra_store_embedded::EmbeddedStore;
use regentra_store_postgres::testing::TestDatabase;
pub use reqwest::Method as M;
pub use reqwest::StatusCode;
use serde_json::{Value, json};

pub mod browser;
pub mod chromium;
pub mod dns;
pub mod fixtures;
pub mod fleet;
pub mod process;
pub mod smtp;
pub mod world;

/// Which store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Postgres,
}

/// A store for one test: the embedded store in memory, or a fresh Postgres
/// database that lives as long as this value.
#[derive(Clone)]
pub struct TestStore {
    pub store: Arc<dyn Store>,
    _db: Option<Arc<TestDatabase>>,
}

impl TestStore {
    /// `None` (skipped, said on stderr) for Postgres when no test database
    /// server is configured.
    pub async fn on(backend: Backend) -> Option<TestStore> {
        match backend {
            Backend::Embedded => Some(TestStore {
                store: Arc::new(EmbeddedStore::in_memory().await.expect("in-memory store")),
                _db: None,
            }),
            Backend::Postgres => {
                let db = TestDatabase::create().await?;
                Some(TestStore {
                    store: Arc::new(db.store().await),
                    _db: Some(db),
                })
            }
        }
    }

    /// The Postgres database under the store, when it is one.
    pub fn database(&self) -> Option<Arc<TestDatabase>> {
        self._db.clone()
    }

    /// Another store on this one's Postgres database, with a pool of its
    /// own: what a second server process behind a load balancer opens.
    /// `None` for the embedded store (one process by construction).
    pub async fn another_process(&self) -> Option<TestStore> {
        let db = Arc::clone(self._db.as_ref()?);
        Some(TestStore {
            store: Arc::new(db.store().await),
            _db: Some(db),
        })
    }
}

/// `regentra serve`'s configuration with no flags and no environment, but
/// cheap password hashing: argon2 at production cost would dominate.
pub fn config() -> AppConfig {
    AppConfig {
        password_hashing: PasswordHashing::insecure_for_tests(),
        ..AppConfig::default()
    }
}

/// [`config`] with the core on `clock`, which the test moves.
pub fn config_on(clock: &Arc<regentra_core::ManualClock>) -> AppConfig {
    AppConfig {
        clock: regentra_http::cli::serve::AppClock(clock.clone()),
        ..config()
    }
}

/// A server on the embedded store whose clock (from Monday 2026-03-02
/// 09:00 UTC) the test moves.
pub async fn server_with_clock() -> (Server, Arc<regentra_core::ManualClock>) {
    use chrono::TimeZone as _;
    let clock = Arc::new(regentra_core::ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .expect("a time"),
    ));
    (Server::embedded_with(config_on(&clock)).await, clock)
}

/// A base URL and the platform admin's token: what clients are made from.
pub struct Endpoint {
    pub base: String,
    /// The platform admin's bootstrap token.
    pub token: String,
}

impl Endpoint {
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
}

/// The app `regentra serve` builds, served on a free port of this process
/// in the test's runtime. Dropping it stops the server (and the worker).
pub struct Server {
    endpoint: Endpoint,
    /// The services the server runs on.
    pub regentra: Arc<Regentra>,
    /// What the app told the operator while it was built (the bootstrap,
    /// the demo's logins).
    pub notices: Vec<String>,
    /// The store, to start another server on the same data.
    pub store: TestStore,
    /// The server's drain, which a shutdown starts.
    pub drain: regentra_http::server::Drain,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::ops::Deref for Server {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Server {
    /// The server with the test configuration on `backend`; `None` for
    /// Postgres when no test database server is configured.
    pub async fn on(backend: Backend) -> Option<Server> {
        Server::start(backend, config()).await
    }

    /// The server with the test configuration on the embedded store.
    pub async fn embedded() -> Server {
        Server::embedded_with(config()).await
    }

    /// The server with `config` on the embedded store.
    pub async fn embedded_with(config: AppConfig) -> Server {
        Server::start(Backend::Embedded, config)
            .await
            .expect("the embedded store is always there")
    }

    pub async fn start(backend: Backend, config: AppConfig) -> Option<Server> {
        Some(Server::start_on(TestStore::on(backend).await?, config, false).await)
    }

    /// The server with `config` on `store`, with the background worker
    /// beside it when `worker` is set (the binary always runs it).
    pub async fn start_on(store: TestStore, config: AppConfig, worker: bool) -> Server {
        let configured_token = config.bootstrap_token.clone();
        let mut notices = Vec::new();
        let app = App::build(Arc::clone(&store.store), config, &mut |line: &str| {
            notices.push(line.to_owned())
        })
        .await
        .unwrap_or_else(|e| panic!("the app builds: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let mut tasks = Vec::new();
        if worker {
            tasks.push(app.spawn_worker());
        }
        // Email delivery runs whenever the configuration turns it on.
        tasks.extend(app.spawn_mailer());
        let service = app
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, service).await;
        }));
        Server {
            endpoint: Endpoint {
                base,
                token: app.bootstrap_token.or(configured_token).unwrap_or_default(),
            },
            regentra: app.regentra,
            notices,
            store,
            drain: app.drain,
            tasks,
        }
    }
}

/// Everything logged (by the `tracing` events of every server of this test
/// process) since [`capture_logs`] was first called.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// From now on, the process's logs are kept (at `info`, as the binary logs
/// by default) for [`logs`] to read. A test process has one global logger:
/// the logs of servers other tests run at the same time are in there too.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,tower_http=info"))
            .with_writer(move || LogSink(Arc::clone(&sink)))
            .with_ansi(false)
            .try_init()
            .expect("no other logger in the test process");
        buffer
    });
}

/// The logs kept since [`capture_logs`].
pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().expect("logs")).into_owned())
        .unwrap_or_default()
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

pub async fn reply(res: reqwest::Response) -> Reply {
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

/// An MSP (created by the platform admin) with one client, its admin
/// `boss@msp.test` logged in: the MSP admin, the MSP's id and the client's.
pub async fn msp_with_client(server: &Endpoint) -> (Api, String, String) {
    let admin = server.admin();
    let msp = id(&admin
        .post("/v1/orgs", json!({"name": "MSP", "kind": "msp"}))
        .await);
    admin
        .post(
            &format!("/v1/orgs/{msp}/members"),
            json!({"email": "boss@msp.test", "name": "Boss", "password": PASSWORD, "role": "msp_admin"}),
        )
        .await;
    let boss = server.login("boss@msp.test", PASSWORD).await;
    let client = id(&boss
        .post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": "Client"}),
        )
        .await);
    (boss, msp, client)
}
