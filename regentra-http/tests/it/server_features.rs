//! The server's own features, end to end over HTTP against the app the
//! binary serves (in this process): evidence files, live chat over a
//! WebSocket, the worker's webhook delivery, login rate limits, CORS,
//! request ids, pagination, the OpenAPI document, the portal and the demo;
//! and against the binary itself, the demo seeded by `serve --demo` and
//! graceful shutdown on SIGTERM.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use regentra_http::cli::serve::AppConfig;
use regentra_http::server::HttpConfig;
use regentra_http::server::worker::WorkerConfig;
use serde_json::{Value, json};
use support::process::Process;
use support::{Backend, Endpoint, M, PASSWORD, Server, StatusCode, TestStore, id, items};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Polls until `check` holds (the worker runs on its own schedule).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_files_round_trip_with_their_hash() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    boss.post(
        &format!("/v1/orgs/{client}/frameworks"),
        json!({"framework": "hipaa"}),
    )
    .await;
    let file: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let uploaded = boss
        .raw(
            M::POST,
            &format!("/v1/orgs/{client}/evidence/files?title=Backups&name=backup%20log.bin&controls=RM-01"),
            "application/octet-stream",
            file.clone(),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let sha = uploaded.body["content"]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();
    let evidence = id(&uploaded.body);
    let download = reqwest::Client::new()
        .get(format!(
            "{}/v1/orgs/{client}/evidence/{evidence}/file",
            server.base
        ))
        .bearer_auth(boss.token.as_deref().expect("token"))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), StatusCode::OK);
    let header = |name: &str| {
        download
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(header("x-content-sha256"), sha);
    assert_eq!(header("content-type"), "application/octet-stream");
    assert!(header("content-disposition").contains("backup log.bin"));
    let bytes = download.bytes().await.expect("bytes");
    assert_eq!(bytes.as_ref(), file.as_slice(), "the same bytes come back");
    // A declared hash that does not match keeps nothing.
    let wrong = boss
        .raw(
            M::POST,
            &format!(
                "/v1/orgs/{client}/evidence/files?title=X&name=x&sha256={}",
                "ab".repeat(32)
            ),
            "text/plain",
            b"tampered".to_vec(),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.text
    );
    assert_eq!(wrong.body["errors"][0]["field"], "file");
    let listed = boss.get(&format!("/v1/orgs/{client}/evidence")).await;
    assert_eq!(items(&listed).len(), 1);
}

async fn socket(
    server: &Endpoint,
    path: &str,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    // The token as a query parameter, as a browser would send it.
    let url = format!(
        "{}{path}?access_token={token}",
        server.base.replacen("http://", "ws://", 1)
    );
    let (ws, _) = tokio_tungstenite::connect_async(url.into_client_request().expect("request"))
        .await
        .expect("the socket opens");
    ws
}

async fn next_frame(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("JSON frame");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_messages_flow_over_the_websocket_and_are_stored() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    boss.ok(
        M::POST,
        &format!("/v1/orgs/{client}/members"),
        Some(json!({"email": "emp@client.test", "name": "Emp", "password": PASSWORD, "role": "employee"})),
        StatusCode::ACCEPTED,
    )
    .await;
    let employee = server.login("emp@client.test", PASSWORD).await;
    let chat = id(&employee
        .post(
            &format!("/v1/orgs/{client}/chats"),
            json!({"message": "My screen is black"}),
        )
        .await);
    let path = format!("/v1/orgs/{client}/chats/{chat}/ws");
    let mut mine = socket(&server, &path, employee.token.as_deref().expect("token")).await;
    let mut staff = socket(&server, &path, boss.token.as_deref().expect("token")).await;
    // Each socket starts with the history.
    assert_eq!(next_frame(&mut mine).await["body"], "My screen is black");
    assert_eq!(next_frame(&mut staff).await["type"], "message");
    staff
        .send(Message::Text(
            json!({"body": "Is it plugged in?"}).to_string().into(),
        ))
        .await
        .expect("send");
    let heard = next_frame(&mut mine).await;
    assert_eq!(
        (heard["type"].as_str(), heard["body"].as_str()),
        (Some("message"), Some("Is it plugged in?"))
    );
    assert_eq!(
        next_frame(&mut staff).await["body"],
        "Is it plugged in?",
        "the sender sees it stored"
    );
    // A bad frame gets an error frame, and the socket stays open.
    mine.send(Message::Text("not json".into()))
        .await
        .expect("send");
    let error = next_frame(&mut mine).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["problem"]["status"], 400);
    mine.send(Message::Text(json!({"body": "It is!"}).to_string().into()))
        .await
        .expect("send");
    assert_eq!(next_frame(&mut staff).await["body"], "It is!");
    let stored = employee
        .get(&format!("{}/messages", path.trim_end_matches("/ws")))
        .await;
    let bodies: Vec<&str> = items(&stored)
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        ["My screen is black", "Is it plugged in?", "It is!"]
    );
    // No token, no socket.
    let url = format!("{}{path}", server.base.replacen("http://", "ws://", 1));
    let refused = tokio_tungstenite::connect_async(url).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 401),
        other => panic!("an anonymous socket: {other:?}"),
    }
}

/// A webhook receiver that refuses the first delivery and keeps the rest.
async fn receiver() -> (
    String,
    Arc<Mutex<Vec<(Value, String, String)>>>,
    Arc<Mutex<u32>>,
) {
    let got: Arc<Mutex<Vec<(Value, String, String)>>> = Arc::default();
    let calls: Arc<Mutex<u32>> = Arc::default();
    let (g, c) = (Arc::clone(&got), Arc::clone(&calls));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (g, c) = (Arc::clone(&g), Arc::clone(&c));
            async move {
                let n = {
                    let mut calls = c.lock().expect("calls");
                    *calls += 1;
                    *calls
                };
                if n == 1 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let signature = headers
                    .get("x-regentra-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let value = serde_json::from_str(&body).unwrap_or(Value::Null);
                g.lock().expect("got").push((value, signature, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), got, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_delivers_the_outbox_to_webhooks_at_least_once() {
    let (url, got, calls) = receiver().await;
    // As `--webhook-url <url> --webhook-secret s3cret`, with sweeps and
    // retries close together so the test does not wait on them.
    let config = AppConfig {
        worker: WorkerConfig {
            every: Duration::from_millis(200),
            webhooks: vec![url],
            secret: Some("s3cret".into()),
            first_retry: Duration::from_millis(200),
            dns: None,
        },
        ..support::config()
    };
    let store = TestStore::on(Backend::Embedded).await.expect("a store");
    let server = Server::start_on(store, config, true).await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    boss.ok(
        M::POST,
        &format!("/v1/orgs/{client}/members"),
        Some(json!({"email": "emp@client.test", "name": "Emp", "role": "employee"})),
        StatusCode::ACCEPTED,
    )
    .await;
    let policy = id(&boss
        .post(
            &format!("/v1/orgs/{client}/policies"),
            json!({"title": "Clean desk", "category": "physical", "body": "Keep it clean."}),
        )
        .await);
    for step in ["submit", "approve", "publish"] {
        boss.ok(
            M::POST,
            &format!("/v1/orgs/{client}/policies/{policy}/{step}"),
            None,
            StatusCode::OK,
        )
        .await;
    }
    boss.post(
        &format!("/v1/orgs/{client}/policies/{policy}/campaigns"),
        json!({"audience": {"kind": "roles", "of": ["employee"]}, "due": "2099-01-01T00:00:00Z"}),
    )
    .await;
    // The first delivery is refused (503); the retry after the backoff lands.
    let outbox = format!("/v1/orgs/{client}/notifications");
    eventually("delivery", || {
        let (boss, outbox) = (boss.clone(), outbox.clone());
        async move {
            let page = boss.get(&outbox).await;
            let all = items(&page);
            !all.is_empty() && all.iter().all(|n| !n["delivered_at"].is_null())
        }
    })
    .await;
    assert!(
        *calls.lock().expect("calls") >= 2,
        "a failed delivery was retried"
    );
    let delivered = got.lock().expect("got").clone();
    let (payload, signature, raw) = delivered
        .iter()
        .find(|(v, _, _)| v["kind"] == "campaign_invitation")
        .expect("the invitation arrived");
    assert_eq!(payload["org"], client.as_str());
    // The body is the notification as JSON; its signature checks out.
    let expected = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").expect("key");
        mac.update(raw.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    assert_eq!(signature, &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_rate_limited_per_account() {
    let server = Server::embedded().await;
    support::msp_with_client(&server).await;
    let anon = server.anonymous();
    let attempt = |password: &'static str| {
        let anon = anon.clone();
        async move {
            anon.call(
                M::POST,
                "/v1/auth/login",
                Some(json!({"email": "boss@msp.test", "password": password})),
            )
            .await
        }
    };
    // msp_with_client() logged in once already, which does not count; five wrong
    // guesses from this address use its budget.
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong password!!").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = attempt("wrong password!!").await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert!(limited.is_problem());
    let right = attempt(PASSWORD).await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits, from this address"
    );
    let raw = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", server.base))
        .json(&json!({"email": "BOSS@msp.test", "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        raw.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the email's case does not matter"
    );
    assert!(raw.headers().get("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_unless_origins_are_configured() {
    let preflight = |base: String, origin: &'static str| async move {
        reqwest::Client::new()
            .request(M::OPTIONS, format!("{base}/v1/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .expect("preflight")
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap_or("").to_owned())
    };
    let closed = Server::embedded().await;
    assert_eq!(
        preflight(closed.base.clone(), "https://app.example").await,
        None
    );
    // As `--cors-origin https://app.example`.
    let open = Server::embedded_with(AppConfig {
        http: HttpConfig {
            cors_origins: vec!["https://app.example".into()],
            ..HttpConfig::default()
        },
        ..support::config()
    })
    .await;
    assert_eq!(
        preflight(open.base.clone(), "https://app.example")
            .await
            .as_deref(),
        Some("https://app.example")
    );
    assert_eq!(
        preflight(open.base.clone(), "https://evil.example").await,
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_an_id_into_the_response_and_the_logs() {
    support::capture_logs();
    let server = Server::embedded().await;
    let http = reqwest::Client::new();
    let mine = http
        .get(format!("{}/v1/me", server.base))
        .bearer_auth(&server.token)
        .header("x-request-id", "req-from-the-client-42")
        .send()
        .await
        .expect("request");
    assert_eq!(mine.headers()["x-request-id"], "req-from-the-client-42");
    let fresh = http
        .get(format!("{}/v1/me", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("request");
    let generated = fresh.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    eventually("the request in the log", || {
        let log = support::logs();
        let seen = log.contains("req-from-the-client-42") && log.contains(&generated);
        async move { seen }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_an_opaque_cursor() {
    let server = Server::embedded().await;
    let (boss, msp, _) = support::msp_with_client(&server).await;
    for n in 0..4 {
        boss.post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": format!("Client {n}")}),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/orgs/{msp}/clients?limit=2&cursor={c}"),
            None => format!("/v1/orgs/{msp}/clients?limit=2"),
        };
        let page = boss.get(&path).await;
        pages += 1;
        names.extend(
            items(&page)
                .iter()
                .map(|o| o["name"].as_str().expect("name").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(pages >= 3);
    let bad = boss
        .call(
            M::GET,
            &format!("/v1/orgs/{msp}/clients?cursor=bogus"),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["errors"][0]["field"], "cursor");
    let capped = boss
        .get(&format!("/v1/orgs/{msp}/clients?limit=100000"))
        .await;
    assert_eq!(items(&capped).len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_is_the_generated_one() {
    let server = Server::embedded().await;
    let served = server.anonymous().get("/v1/openapi.json").await;
    let generated = serde_json::to_value(regentra_http::server::openapi::document()).expect("json");
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_once_and_its_portal_and_logins_work() {
    let count_orgs = |server: &Server| {
        let admin = server.admin();
        async move { items(&admin.get("/v1/orgs").await).len() }
    };
    // As `serve --demo` with REGENTRA_BOOTSTRAP_TOKEN set.
    let config = || AppConfig {
        demo: true,
        bootstrap_token: Some(format!("rgt_{}", "ab".repeat(32))),
        ..support::config()
    };
    let store = TestStore::on(Backend::Embedded).await.expect("a store");
    let first = Server::start_on(store.clone(), config(), false).await;
    assert!(first.notices.iter().any(|l| l.contains("demo logins")));
    let orgs = count_orgs(&first).await;
    assert_eq!(orgs, 3, "the MSP and its two clients");
    let erin = first
        .login("erin@acmedental.example", "regentra-demo-password")
        .await;
    let me = erin.get("/v1/me").await;
    let org = me["memberships"][0]["org_id"]
        .as_str()
        .expect("org")
        .to_owned();
    let tickets = erin.get(&format!("/v1/orgs/{org}/tickets")).await;
    assert_eq!(items(&tickets).len(), 2);
    assert!(
        !items(&tickets)[0]["sla"]["resolution_due"].is_null(),
        "demo tickets run under SLA"
    );
    // The portal has something to show: a public conversation (and a staff
    // note the employee never sees), and published articles.
    let xray = items(&tickets)
        .iter()
        .find(|t| {
            t["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("X-ray"))
        })
        .expect("the X-ray ticket")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let comments = erin
        .get(&format!("/v1/orgs/{org}/tickets/{xray}/comments"))
        .await;
    assert_eq!(items(&comments).len(), 2, "two public replies, no note");
    let articles = erin.get(&format!("/v1/orgs/{org}/kb/articles")).await;
    assert_eq!(items(&articles).len(), 3, "the published portal articles");
    let dashboard = erin.get(&format!("/v1/orgs/{org}/portal/dashboard")).await;
    assert_eq!(
        dashboard["frameworks"]
            .as_array()
            .expect("frameworks")
            .len(),
        2
    );
    let page = reqwest::get(format!("{}/portal/acme-dental/sign-in", first.base))
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("Acme Dental IT help") && html.contains("#0b5394"));
    let missing = reqwest::get(format!("{}/portal/nobody-here", first.base))
        .await
        .expect("page");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    drop(first);
    // A second start on the same data seeds nothing more.
    let second = Server::start_on(store, config(), false).await;
    assert_eq!(count_orgs(&second).await, orgs);
}

/// `serve --demo` itself: the binary seeds the demo in its data directory,
/// prints the logins, and seeds nothing more when started again on it (the
/// demo's content is checked in process, above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_seeds_its_data_directory_once() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().to_str().expect("path").to_owned();
    let count_orgs = |server: &Process| {
        let admin = server.admin();
        async move { items(&admin.get("/v1/orgs").await).len() }
    };
    let token = format!("rgt_{}", "ab".repeat(32));
    let env = [("REGENTRA_BOOTSTRAP_TOKEN", token.as_str())];
    let first = Process::embedded_at(&data, &["--demo"], &env);
    assert!(first.log_text().contains("demo logins"));
    let orgs = count_orgs(&first).await;
    assert_eq!(orgs, 3, "the MSP and its two clients");
    let erin = first
        .login("erin@acmedental.example", "regentra-demo-password")
        .await;
    assert_eq!(
        erin.get("/v1/me").await["memberships"][0]["org_name"],
        "Acme Dental"
    );
    drop(first);
    let second = Process::embedded_at(&data, &["--demo"], &env);
    assert_eq!(count_orgs(&second).await, orgs);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_cleanly() {
    let mut server = Process::embedded(&[], &[]);
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(server.log_text().contains("shutting down"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_time_arithmetic_is_served() {
    let server = Server::embedded().await;
    let api = server.admin();
    let calendar = json!({"timezone": "UTC", "weekly": {
        "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
        "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}});
    let due = api
        .ok(
            M::POST,
            "/v1/sla/due",
            Some(json!({"calendar": calendar, "start": "2026-11-27T16:00:00Z", "minutes": 120})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        due["due"], "2026-11-30T10:00:00Z",
        "Friday's last hour, then Monday's first"
    );
    let elapsed = api
        .ok(
            M::POST,
            "/v1/sla/elapsed",
            Some(json!({"calendar": calendar, "from": "2026-11-27T16:00:00Z", "to": "2026-11-30T10:00:00Z"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(elapsed["minutes"], 120);
    let bad = api
        .call(
            M::POST,
            "/v1/sla/due",
            Some(json!({"calendar": {"timezone": "Mars/Olympus"}, "start": "2026-11-27T16:00:00Z", "minutes": 1})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "calendar.timezone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_is_served_at_its_slug_and_its_own_host_name() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    let settings = boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{client}/portal"),
            Some(json!({
                "enabled": true, "slug": "client-co", "hostname": "help.client.test",
                "branding": {"display_name": "<Client> help", "primary_color": "#112233"}
            })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(settings["slug"], "client-co");
    let page = |host: &'static str| {
        let base = server.base.clone();
        async move {
            let r = reqwest::Client::new()
                .get(format!("{base}/"))
                .header("host", host)
                .send()
                .await
                .expect("page");
            (r.status(), r.text().await.expect("text"))
        }
    };
    // Not served at the host name until the claim is verified: here a
    // platform operator approves it (the DNS proof is in `portal_hostnames`).
    assert_eq!(page("help.client.test").await.0, StatusCode::NOT_FOUND);
    server
        .admin()
        .ok(
            M::POST,
            &format!("/v1/orgs/{client}/portal/hostname/approve"),
            None,
            StatusCode::OK,
        )
        .await;
    let (status, html) = page("help.client.test").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("&#60;Client&#62; help"),
        "branding, escaped: {html}"
    );
    assert!(html.contains("#112233"));
    let (status, _) = page("elsewhere.test").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let by_slug = reqwest::get(format!("{}/portal/client-co", server.base))
        .await
        .expect("page");
    assert_eq!(by_slug.status(), StatusCode::OK);
    let public = server
        .anonymous()
        .get("/portal/client-co/portal.json")
        .await;
    assert_eq!(public["org"], client.as_str());
}

/// A 9-to-5 SLA policy body with `escalations`.
fn sla_policy(name: &str, escalations: Value) -> Value {
    let t = json!({"first_response_minutes": 30, "resolution_minutes": 240});
    json!({
        "name": name,
        "calendar": {"timezone": "America/New_York", "weekly": {"mon": [["09:00", "17:00"]]}},
        "targets": {"critical": t, "high": t, "medium": t, "low": t},
        "escalations": escalations,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_escalations_cannot_name_another_tenants_users() {
    let server = Server::embedded().await;
    let (boss, msp, client) = support::msp_with_client(&server).await;
    // Another MSP's admin: the user an attacker would aim tickets at.
    let admin = server.admin();
    let other = id(&admin
        .post("/v1/orgs", json!({"name": "Other MSP", "kind": "msp"}))
        .await);
    admin
        .post(
            &format!("/v1/orgs/{other}/members"),
            json!({"email": "boss@other.test", "name": "Other", "password": PASSWORD, "role": "msp_admin"}),
        )
        .await;
    let victim = server
        .login("boss@other.test", PASSWORD)
        .await
        .get("/v1/me")
        .await["user_id"]
        .as_str()
        .expect("user id")
        .to_owned();
    for (org, action) in [
        (&client, json!({"kind": "reassign", "user": victim})),
        (&msp, json!({"kind": "notify_user", "user": victim})),
    ] {
        let rules = json!([
            {"clock": "response", "trigger": {"kind": "at_breach"}, "action": {"kind": "raise_priority"}},
            {"clock": "response", "trigger": {"kind": "at_breach"}, "action": action},
        ]);
        let refused = boss
            .call(
                M::POST,
                &format!("/v1/orgs/{org}/sla-policies"),
                Some(sla_policy("Hijack", rules)),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        assert!(refused.is_problem());
        assert_eq!(
            refused.body["errors"][0]["field"], "escalations[1].action.user",
            "{}",
            refused.text
        );
        assert!(items(&boss.get(&format!("/v1/orgs/{org}/sla-policies")).await).is_empty());
    }
    // The MSP's own admin is fine, on the MSP-wide policy and the client's.
    let me = boss.get("/v1/me").await["user_id"].clone();
    for org in [&msp, &client] {
        boss.post(
            &format!("/v1/orgs/{org}/sla-policies"),
            sla_policy(
                "Ours",
                json!([{"clock": "response", "trigger": {"kind": "at_breach"},
                        "action": {"kind": "reassign", "user": me}}]),
            ),
        )
        .await;
    }
}

/// `who` joins `org` with `role` (added by the platform operator) and logs in.
async fn joined(server: &Endpoint, org: &str, email: &str, role: &str) -> support::Api {
    server
        .admin()
        .post(
            &format!("/v1/orgs/{org}/members"),
            json!({"email": email, "name": email, "password": PASSWORD, "role": role}),
        )
        .await;
    server.login(email, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_knowledge_base_search_lists_what_the_caller_may_read() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    let articles = format!("/v1/orgs/{client}/kb/articles");
    for (title, visibility, published) in [
        ("Reset your VPN password", "portal", true),
        ("Firewall notes", "internal", true),
        ("Printer setup", "portal", true),
        ("Draft", "portal", false),
    ] {
        boss.post(
            &articles,
            json!({"title": title, "body": "Steps.", "visibility": visibility, "published": published}),
        )
        .await;
    }
    let employee = joined(&server, &client, "emp@client.test", "employee").await;
    let titles = |page: &Value| -> Vec<String> {
        items(page)
            .iter()
            .map(|a| a["title"].as_str().expect("title").to_owned())
            .collect()
    };
    // What the portal asks on load: an empty query, and no query at all.
    for path in [
        format!("{articles}?q="),
        articles.clone(),
        format!("{articles}?q=%20"),
    ] {
        let mut found = titles(&employee.get(&path).await);
        found.sort();
        assert_eq!(
            found,
            ["Printer setup", "Reset your VPN password"],
            "{path}"
        );
    }
    assert_eq!(
        titles(&boss.get(&format!("{articles}?q=")).await).len(),
        4,
        "staff read all"
    );
    // Paged like every list.
    let first = employee.get(&format!("{articles}?q=&limit=1")).await;
    assert_eq!(items(&first).len(), 1);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = employee
        .get(&format!("{articles}?q=&limit=1&cursor={cursor}"))
        .await;
    assert_eq!(items(&second).len(), 1);
    assert_ne!(titles(&first), titles(&second));
    assert!(second["next_cursor"].is_null());
    // A query with no word to look for names the query parameter.
    let bad = employee
        .call(M::GET, &format!("{articles}?q=a"), None)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.body["errors"][0]["field"], "q", "{}", bad.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_subject_errors_name_the_subject() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    let refused = boss
        .call(
            M::POST,
            &format!("/v1/orgs/{client}/tickets"),
            Some(json!({"subject": "  ", "priority": "low"})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["errors"][0]["field"], "subject",
        "{}",
        refused.text
    );
    // A chat turned into a ticket takes a subject too.
    let employee = joined(&server, &client, "emp@client.test", "employee").await;
    // (And a chat starts with a `message`.)
    let refused = employee
        .call(
            M::POST,
            &format!("/v1/orgs/{client}/chats"),
            Some(json!({"message": " "})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["errors"][0]["field"], "message",
        "{}",
        refused.text
    );
    let chat = id(&employee
        .post(
            &format!("/v1/orgs/{client}/chats"),
            json!({"message": "Help"}),
        )
        .await);
    let refused = boss
        .call(
            M::POST,
            &format!("/v1/orgs/{client}/chats/{chat}/ticket"),
            Some(json!({"subject": "", "priority": "low"})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["errors"][0]["field"], "subject",
        "{}",
        refused.text
    );
    assert!(items(&boss.get(&format!("/v1/orgs/{client}/tickets")).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_limit_is_refused_naming_limit() {
    let server = Server::embedded().await;
    let (boss, msp, client) = support::msp_with_client(&server).await;
    boss.post(
        &format!("/v1/orgs/{client}/kb/articles"),
        json!({"title": "Printer setup", "body": "Steps.", "visibility": "portal", "published": true}),
    )
    .await;
    for path in [
        format!("/v1/orgs/{msp}/clients?limit=0"),
        format!("/v1/orgs/{client}/members?limit=0"),
        format!("/v1/orgs/{client}/kb/articles?q=printer&limit=0"),
        format!("/v1/orgs/{client}/audit?limit=0"),
        "/v1/orgs?limit=0".to_owned(),
    ] {
        let caller = if path.starts_with("/v1/orgs?") {
            server.admin()
        } else {
            boss.clone()
        };
        let refused = caller.call(M::GET, &path, None).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            refused.text
        );
        assert!(refused.is_problem());
        assert_eq!(
            refused.body["errors"][0]["field"], "limit",
            "{path}: {}",
            refused.text
        );
    }
    assert_eq!(
        items(&boss.get(&format!("/v1/orgs/{msp}/clients?limit=1")).await).len(),
        1
    );
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads a socket until it closes: the close frame's code and reason, and
/// the bodies of the messages that came before it.
async fn closing(ws: &mut Socket) -> (u16, String, Vec<String>) {
    let mut heard = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .expect("a close frame before the end")
            .expect("a frame");
        match frame {
            Message::Text(text) => {
                let v: Value = serde_json::from_str(&text).expect("JSON frame");
                heard.push(v["body"].as_str().unwrap_or_default().to_owned());
            }
            Message::Close(Some(close)) => {
                return (u16::from(close.code), close.reason.to_string(), heard);
            }
            Message::Close(None) => panic!("closed without a code"),
            _ => {}
        }
    }
}

/// An MSP with a client, an employee's open chat there, and its socket path.
async fn chat_world(server: &Server) -> (support::Api, String, String, support::Api, String) {
    let (boss, msp, client) = support::msp_with_client(server).await;
    let employee = joined(server, &client, "emp@client.test", "employee").await;
    let chat = id(&employee
        .post(
            &format!("/v1/orgs/{client}/chats"),
            json!({"message": "My screen is black"}),
        )
        .await);
    let path = format!("/v1/orgs/{client}/chats/{chat}/ws");
    (boss, msp, client, employee, path)
}

async fn user_id(api: &support::Api) -> String {
    api.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_socket_closes_when_its_member_is_removed() {
    let server = Server::embedded().await;
    let (_, msp, client, employee, path) = chat_world(&server).await;
    let messages = path.replace("/ws", "/messages");
    // A technician of the client, and a second admin of the MSP (delegation).
    let tech = joined(&server, &client, "tech@client.test", "technician").await;
    let deputy = joined(&server, &msp, "deputy@msp.test", "msp_admin").await;
    let mut sockets = Vec::new();
    for (who, org) in [(&tech, &client), (&deputy, &msp)] {
        let mut ws = socket(&server, &path, who.token.as_deref().expect("token")).await;
        assert_eq!(next_frame(&mut ws).await["body"], "My screen is black");
        let gone = server
            .admin()
            .call(
                M::DELETE,
                &format!("/v1/orgs/{org}/members/{}", user_id(who).await),
                None,
            )
            .await;
        assert!(gone.status.is_success(), "{}", gone.text);
        sockets.push(ws);
    }
    employee
        .post(&messages, json!({"body": "Anyone there?"}))
        .await;
    for mut ws in sockets {
        let (code, reason, heard) = closing(&mut ws).await;
        assert!(heard.is_empty(), "nothing after the removal: {heard:?}");
        assert_eq!(
            (code, reason.as_str()),
            (4403, "access to this chat has ended")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_socket_closes_when_its_token_is_revoked() {
    let server = Server::embedded().await;
    let (boss, _, _, employee, path) = chat_world(&server).await;
    let messages = path.replace("/ws", "/messages");
    let issued = employee
        .post("/v1/me/tokens", json!({"name": "socket"}))
        .await;
    let mut revoked = socket(&server, &path, issued["secret"].as_str().expect("secret")).await;
    next_frame(&mut revoked).await;
    let revocation = employee
        .call(M::DELETE, &format!("/v1/me/tokens/{}", id(&issued)), None)
        .await;
    assert!(revocation.status.is_success(), "{}", revocation.text);
    // The account still has access: only the token ended.
    boss.post(&messages, json!({"body": "Is it plugged in?"}))
        .await;
    let (code, reason, heard) = closing(&mut revoked).await;
    assert!(heard.is_empty(), "nothing after the revocation: {heard:?}");
    assert_eq!(
        (code, reason.as_str()),
        (4401, "the token is no longer valid (revoked or expired)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_socket_closes_when_the_chat_is_closed() {
    let server = Server::embedded().await;
    let (boss, _, client, employee, path) = chat_world(&server).await;
    let mut mine = socket(&server, &path, employee.token.as_deref().expect("token")).await;
    next_frame(&mut mine).await;
    let chat = path
        .trim_end_matches("/ws")
        .rsplit('/')
        .next()
        .expect("chat id");
    boss.ok(
        M::POST,
        &format!("/v1/orgs/{client}/chats/{chat}/close"),
        None,
        StatusCode::OK,
    )
    .await;
    let (code, reason, heard) = closing(&mut mine).await;
    assert!(heard.is_empty(), "{heard:?}");
    assert_eq!((code, reason.as_str()), (1000, "the chat is closed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_lists_filter_sort_and_page_through_the_query_string() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    let tickets = format!("/v1/orgs/{client}/tickets");
    let me = boss.get("/v1/me").await["user_id"]
        .as_str()
        .expect("my id")
        .to_owned();
    let mut made = Vec::new();
    for (n, priority) in ["high", "low", "high", "critical", "high"]
        .iter()
        .enumerate()
    {
        let t = boss
            .post(
                &tickets,
                json!({"subject": format!("Ticket {n}"), "priority": priority}),
            )
            .await;
        made.push(id(&t));
    }
    for t in [&made[0], &made[2], &made[3]] {
        boss.ok(
            M::PATCH,
            &format!("{tickets}/{t}"),
            Some(json!({"assignee": me})),
            StatusCode::OK,
        )
        .await;
    }
    boss.ok(
        M::PATCH,
        &format!("{tickets}/{}", made[2]),
        Some(json!({"status": "resolved"})),
        StatusCode::OK,
    )
    .await;
    let ids = |page: &Value| -> Vec<String> { items(page).iter().map(id).collect() };
    // Open, high, mine: only the first (the third is resolved).
    let mine = boss
        .get(&format!(
            "{tickets}?status=active&priority=high&assignee=me&sort=due"
        ))
        .await;
    assert_eq!(ids(&mine), vec![made[0].clone()]);
    // Newest first, unassigned, two to a page, followed to the end.
    let mut seen = Vec::new();
    let mut path = format!("{tickets}?assignee=unassigned&sort=newest&limit=1");
    loop {
        let page = boss.get(&path).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => {
                path = format!("{tickets}?assignee=unassigned&sort=newest&limit=1&cursor={c}")
            }
            None => break,
        }
    }
    assert_eq!(seen, vec![made[4].clone(), made[1].clone()]);
    assert_eq!(
        ids(&boss.get(&format!("{tickets}?priority=critical,low")).await),
        vec![made[1].clone(), made[3].clone()],
        "several priorities, oldest first by default"
    );
    // Bad values name their field.
    for (query, field) in [
        ("status=sleeping", "status"),
        ("priority=urgent", "priority"),
        ("assignee=someone", "assignee"),
        ("requester=42", "requester"),
        ("sort=sideways", "sort"),
        ("sla=late", "sla"),
        ("colour=red", ""),
    ] {
        let bad = boss.call(M::GET, &format!("{tickets}?{query}"), None).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}: {}", bad.text);
        if !field.is_empty() {
            assert_eq!(bad.body["errors"][0]["field"], field, "{query}");
        }
    }
    // The queue across every org the caller reaches: the same filters.
    let across = boss
        .get("/v1/tickets?sort=newest&assignee=unassigned")
        .await;
    assert_eq!(ids(&across), vec![made[4].clone(), made[1].clone()]);
    assert!(
        items(&across)
            .iter()
            .all(|t| t["org_id"] == client.as_str())
    );
    let stranger = server.anonymous().call(M::GET, "/v1/tickets", None).await;
    assert_eq!(stranger.status, StatusCode::UNAUTHORIZED);
    let unordered = boss
        .call(M::GET, &format!("{tickets}?sla=breached"), None)
        .await;
    assert_eq!(unordered.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unordered.body["errors"][0]["field"], "sort");
}

#[tokio::test]
async fn a_merchant_only_org_has_pci_service_provider_requirements_out_of_scope() {
    let server = Server::embedded().await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    boss.post(
        &format!("/v1/orgs/{client}/frameworks"),
        json!({"framework": "pci-dss"}),
    )
    .await;
    let gap = format!("/v1/orgs/{client}/frameworks/pci-dss/gap-analysis");
    let status_of = |analysis: &Value, id: &str| -> (String, Option<String>) {
        let row = analysis["requirements"]
            .as_array()
            .expect("requirements")
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} is listed"))
            .clone();
        (
            row["status"].as_str().expect("status").to_owned(),
            row["justification"].as_str().map(str::to_owned),
        )
    };
    let before = boss.get(&gap).await;
    assert_ne!(status_of(&before, "8.3.10").0, "not_applicable");
    let adoption = boss
        .ok(
            M::PUT,
            &format!("/v1/orgs/{client}/pci-dss/entity"),
            Some(json!({"entity": "merchant_only"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(adoption["settings"]["pci_entity"], "merchant_only");
    let after = boss.get(&gap).await;
    let (status, why) = status_of(&after, "8.3.10");
    assert_eq!(status, "not_applicable");
    assert!(
        why.as_deref().is_some_and(|w| w.contains("merchant only")),
        "{why:?}"
    );
    assert_ne!(status_of(&after, "8.3.9").0, "not_applicable");
    assert_eq!(
        after["totals"]["not_applicable"].as_u64().expect("count")
            - before["totals"]["not_applicable"].as_u64().expect("count"),
        13,
        "the 13 service-provider requirements outside appendix A1 (out already)"
    );
}
