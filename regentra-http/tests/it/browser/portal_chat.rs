//! The portal's chat in a real browser, with its script: messages both ways
//! live (the staff's, sent through the API, appear without a reload; the
//! person's reach the staff's socket), the keyboard (Enter sends,
//! Shift+Enter starts a new line, the focus stays in the box), a lost
//! connection that comes back with what was said meanwhile and nothing
//! twice, and the offer to leave an unanswered chat as a ticket.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use futures::StreamExt as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::chromium::Chromium;
use crate::support::{Api, Endpoint, M, PASSWORD, Server, id, items, msp_with_client};

/// A client with its portal at `/portal/acme` and an employee,
/// `ann@acme.test`; the MSP's admin (who answers chats) and the client's id.
async fn acme_portal(server: &Server) -> (Api, String) {
    let (boss, _, client) = msp_with_client(server).await;
    boss.ok(
        M::PATCH,
        &format!("/v1/orgs/{client}/portal"),
        Some(json!({"enabled": true, "slug": "acme",
            "branding": {"display_name": "Acme help desk", "primary_color": "#0b5394"}})),
        StatusCode::OK,
    )
    .await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{client}/members"),
            json!({"email": "ann@acme.test", "name": "Ann Example", "password": PASSWORD, "role": "employee"}),
        )
        .await;
    (boss, client)
}

/// Signs Ann in on the portal's own page.
async fn sign_in_ann(browser: &Chromium) {
    browser.goto("/portal/acme").await;
    browser.wait_for_path("/portal/acme/sign-in").await;
    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_path("/portal/acme").await;
}

/// Starts a chat from the chat page; the chat's id.
async fn start_chat(browser: &Chromium, first: &str) -> String {
    browser.goto("/portal/acme/chat").await;
    browser.wait_for_text("Start a conversation").await;
    browser.check_page().await;
    browser.fill("How can we help?", first).await;
    browser.click("Start the chat").await;
    browser.wait_for_text("Waiting for the service desk").await;
    let path = browser.current_path().await;
    path.strip_prefix("/portal/acme/chat/")
        .unwrap_or_else(|| panic!("on the conversation, not {path}"))
        .to_owned()
}

/// Waits until `condition` (a script's body returning a boolean) holds.
async fn until(browser: &Chromium, condition: &str, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if browser.script(condition, vec![]).await == json!(true) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const LIVE: &str = "return document.getElementById('chat').dataset.live === 'true';";

/// How many lines of the conversation read `text`.
async fn shown(browser: &Chromium, text: &str) -> usize {
    browser
        .script(
            "return Array.from(document.querySelectorAll('#chat-log .chat-text'))\
             .filter((p) => p.textContent === arguments[0]).length;",
            vec![json!(text)],
        )
        .await
        .as_u64()
        .unwrap_or_default() as usize
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn staff_socket(base: &str, staff: &Api, path: &str) -> Socket {
    let url = format!("{}{path}", base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("a ws url");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", staff.token.as_deref().expect("token"))
            .parse()
            .expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the staff's socket opens")
        .0
}

async fn next_body(ws: &mut Socket) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            let v: Value = serde_json::from_str(&text).expect("JSON frame");
            return v["body"].as_str().unwrap_or_default().to_owned();
        }
    }
}

/// A TCP relay in front of the server that the test can cut, as a network
/// would: while it is down, open connections are dropped and new ones are
/// closed at once.
struct Relay {
    base: String,
    down: Arc<Mutex<bool>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    async fn before(server: &str) -> Relay {
        let target = server.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let down: Arc<Mutex<bool>> = Arc::default();
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (is_down, open) = (Arc::clone(&down), Arc::clone(&connections));
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *is_down.lock().expect("state") {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                open.lock()
                    .expect("connections")
                    .push(tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(&target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }));
            }
        });
        Relay {
            base,
            down,
            connections,
            accept,
        }
    }

    fn cut(&self) {
        *self.down.lock().expect("state") = true;
        for connection in self.connections.lock().expect("connections").drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        *self.down.lock().expect("state") = false;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        for connection in self.connections.lock().expect("connections").drain(..) {
            connection.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_messages_arrive_live_both_ways_and_survive_a_lost_connection() {
    let server = Server::embedded().await;
    let (boss, client) = acme_portal(&server).await;
    // The browser reaches the server through a relay the test can cut.
    let relay = Relay::before(&server.base).await;
    let through_relay = Endpoint {
        base: relay.base.clone(),
        token: server.token.clone(),
    };
    let Some(browser) = Chromium::open(&through_relay).await else {
        return;
    };
    sign_in_ann(&browser).await;
    let chat = start_chat(&browser, "My screen flickers").await;
    until(&browser, LIVE, "the page's socket is open").await;
    browser.check_page().await;
    let path = format!("/v1/orgs/{client}/chats/{chat}");
    let mut staff = staff_socket(&server.base, &boss, &format!("{path}/ws")).await;
    assert_eq!(next_body(&mut staff).await, "My screen flickers");

    // The staff's answer, sent through the API, appears live and is
    // announced to screen readers.
    boss.post(
        &format!("{path}/messages"),
        json!({"body": "Which screen, the laptop's or the external one?"}),
    )
    .await;
    browser
        .wait_for_text("Which screen, the laptop's or the external one?")
        .await;
    until(
        &browser,
        "return document.getElementById('chat-announcer').textContent\
         .includes('Boss: Which screen');",
        "the answer is announced",
    )
    .await;
    assert_eq!(
        next_body(&mut staff).await,
        "Which screen, the laptop's or the external one?"
    );
    // The page no longer says it waits (the server says it was answered).
    browser.wait_for_text("In progress").await;
    let text = browser.text().await;
    assert!(!text.contains("Waiting for the service desk"), "{text}");
    assert!(!text.contains("Someone will be with you shortly"), "{text}");

    // Typing: Shift+Enter starts a new line, Enter sends, and the focus
    // stays in the box, empty again.
    browser.click_field("Your message").await;
    browser.type_text("The external one.").await;
    browser
        .client()
        .perform_actions(
            KeyActions::new("keyboard".into())
                .then(KeyAction::Down {
                    value: Key::Shift.into(),
                })
                .then(KeyAction::Down {
                    value: Key::Enter.into(),
                })
                .then(KeyAction::Up {
                    value: Key::Enter.into(),
                })
                .then(KeyAction::Up {
                    value: Key::Shift.into(),
                }),
        )
        .await
        .expect("shift+enter");
    browser.type_text("Since this morning.").await;
    browser.press_enter().await;
    let sent = "The external one.\nSince this morning.";
    assert_eq!(next_body(&mut staff).await, sent, "the staff hear it live");
    until(
        &browser,
        "return document.getElementById('chat-body').value === '';",
        "the box is emptied",
    )
    .await;
    assert_eq!(browser.focused_element_label().await, "Your message");
    assert_eq!(
        shown(&browser, sent).await,
        1,
        "shown once, not echoed twice"
    );

    // The connection drops; what the staff write meanwhile arrives once it
    // is back, and nothing shows twice.
    relay.cut();
    browser
        .wait_for_text("Connection lost. Reconnecting…")
        .await;
    boss.post(
        &format!("{path}/messages"),
        json!({"body": "Try another cable, please."}),
    )
    .await;
    relay.restore();
    browser.wait_for_text("Try another cable, please.").await;
    until(&browser, LIVE, "the socket is open again").await;
    for text in [
        "My screen flickers",
        "Which screen, the laptop's or the external one?",
        sent,
        "Try another cable, please.",
    ] {
        assert_eq!(shown(&browser, text).await, 1, "{text:?} once");
    }
    assert!(!browser.text().await.contains("Reconnecting"));
    browser.check_page().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_chat_is_left_as_a_ticket_in_one_click() {
    let (server, clock) = crate::support::server_with_clock().await;
    let (boss, client) = acme_portal(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    sign_in_ann(&browser).await;
    start_chat(&browser, "The VPN drops every hour").await;
    assert!(!browser.text().await.contains("Nobody has answered yet"));

    clock.advance(chrono::Duration::minutes(3));
    let path = browser.current_path().await;
    browser.goto(&path).await;
    browser.wait_for_text("Nobody has answered yet").await;
    browser.check_page().await;
    browser.click("Leave it as a ticket").await;
    until(
        &browser,
        "return !window.location.pathname.startsWith('/portal/acme/chat/');",
        "the browser leaves the chat for the ticket",
    )
    .await;
    let tickets = boss.get(&format!("/v1/orgs/{client}/tickets")).await;
    assert_eq!(items(&tickets).len(), 1);
    assert_eq!(
        items(&tickets)[0]["subject"],
        "Chat: The VPN drops every hour"
    );
    assert!(!id(&items(&tickets)[0]).is_empty());
}
