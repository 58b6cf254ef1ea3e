//! Live chat across servers: three servers (three `App`s, each with its
//! own pools, as three processes behind a load balancer) on one Postgres
//! database. A message stored through any of them reaches the chat's
//! sockets on every one, and so does the chat's closing; the sockets read
//! what is new from the store, so none hears more than its caller may read.
//! And on one server, a reply sent from the console without JavaScript
//! reaches the requester's open chat window like one sent over the socket.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::console_pages::{desk, signed_in};
use crate::support::{self, Backend, Endpoint, M, PASSWORD, Server, StatusCode, TestStore, id};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn socket(server: &Endpoint, org: &str, chat: &str, token: &str) -> Socket {
    let url = format!(
        "{}/v1/orgs/{org}/chats/{chat}/ws?access_token={token}",
        server.base.replacen("http://", "ws://", 1)
    );
    let (ws, _) = tokio_tungstenite::connect_async(url.into_client_request().expect("request"))
        .await
        .expect("the socket opens");
    ws
}

/// What the socket hears next: a JSON frame, or its close code.
#[derive(Debug)]
enum Heard {
    Frame(Value),
    Closed(u16),
}

async fn hear(ws: &mut Socket) -> Heard {
    loop {
        // Generous: a signal crosses a database; nothing here is timed.
        let frame = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("heard within 20 s");
        match frame {
            Some(Ok(Message::Text(text))) => {
                return Heard::Frame(serde_json::from_str(&text).expect("JSON frame"));
            }
            Some(Ok(Message::Close(frame))) => {
                return Heard::Closed(frame.map(|f| u16::from(f.code)).unwrap_or_default());
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

/// The close code the socket closes with next (no message before it).
pub(crate) async fn closed(ws: &mut Socket) -> u16 {
    match hear(ws).await {
        Heard::Closed(code) => code,
        other => panic!("the socket closes, not {other:?}"),
    }
}

pub(crate) async fn message(ws: &mut Socket) -> String {
    match hear(ws).await {
        Heard::Frame(frame) if frame["type"] == "message" => {
            frame["body"].as_str().expect("a body").to_owned()
        }
        other => panic!("a message, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_message_stored_on_one_server_reaches_sockets_on_the_others() {
    let Some(store) = TestStore::on(Backend::Postgres).await else {
        return;
    };
    let (second, third) = (
        store.another_process().await.expect("Postgres"),
        store.another_process().await.expect("Postgres"),
    );
    let a = Server::start_on(store, support::config(), false).await;
    let (boss, _, client) = support::msp_with_client(&a).await;
    boss.ok(
        M::POST,
        &format!("/v1/orgs/{client}/members"),
        Some(json!({"email": "emp@client.test", "name": "Emp", "password": PASSWORD, "role": "employee"})),
        StatusCode::ACCEPTED,
    )
    .await;
    let b = Server::start_on(second, support::config(), false).await;
    let c = Server::start_on(third, support::config(), false).await;
    let employee = b.login("emp@client.test", PASSWORD).await;
    let staff = c.login("boss@msp.test", PASSWORD).await;
    let chat = id(&employee
        .post(
            &format!("/v1/orgs/{client}/chats"),
            json!({"message": "My screen is black"}),
        )
        .await);
    let token = |api: &support::Api| api.token.clone().expect("a token");
    let mut on_b = socket(&b, &client, &chat, &token(&employee)).await;
    let mut on_c = socket(&c, &client, &chat, &token(&staff)).await;
    assert_eq!(message(&mut on_b).await, "My screen is black");
    assert_eq!(message(&mut on_c).await, "My screen is black");

    // Posted over REST on A, where no socket is: B's and C's hear it.
    boss.post(
        &format!("/v1/orgs/{client}/chats/{chat}/messages"),
        json!({"body": "Is it plugged in?"}),
    )
    .await;
    assert_eq!(message(&mut on_b).await, "Is it plugged in?");
    assert_eq!(message(&mut on_c).await, "Is it plugged in?");

    // Over B's socket: C's hears it (and B's own, as stored).
    on_b.send(Message::Text(json!({"body": "It is!"}).to_string().into()))
        .await
        .expect("send");
    assert_eq!(message(&mut on_c).await, "It is!");
    assert_eq!(message(&mut on_b).await, "It is!");

    // A burst from all three servers at once: every socket hears each
    // message once, whatever order the servers stored them in.
    let sent: Vec<String> = (0..9).map(|n| format!("burst {n}")).collect();
    let path = format!("/v1/orgs/{client}/chats/{chat}/messages");
    let posts = sent.iter().enumerate().map(|(n, body)| {
        let server = [&a, &b, &c][n % 3];
        let (boss, path) = (&boss, &path);
        async move {
            let api = server.with_token(boss.token.as_deref().expect("token"));
            api.post(path, json!({"body": body})).await;
        }
    });
    futures::future::join_all(posts).await;
    for ws in [&mut on_b, &mut on_c] {
        let mut heard = Vec::new();
        for _ in 0..sent.len() {
            heard.push(message(ws).await);
        }
        heard.sort();
        assert_eq!(heard, sent, "each message once");
    }

    // Closed on A: the sockets on B and C say so and close.
    boss.ok(
        M::POST,
        &format!("/v1/orgs/{client}/chats/{chat}/close"),
        None,
        StatusCode::OK,
    )
    .await;
    for ws in [&mut on_b, &mut on_c] {
        assert_eq!(closed(ws).await, 1000, "closed because the chat is");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_from_the_console_without_javascript_reaches_the_requesters_window() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let chat = id(&ann
        .post(
            &format!("/v1/orgs/{}/chats", d.acme),
            json!({"message": "The printer jams."}),
        )
        .await);
    let mut window = socket(
        &server,
        &d.acme,
        &chat,
        ann.token.as_deref().expect("token"),
    )
    .await;
    assert_eq!(message(&mut window).await, "The printer jams.");

    let tom = signed_in(&server, "tom@msp.test").await;
    let chat_path = format!("/app/{}/chats/{chat}", d.acme);
    let csrf = tom.get(&chat_path).await.input("csrf_token").expect("csrf");
    let sent = tom
        .post(
            &format!("{chat_path}/messages"),
            &[("csrf_token", &csrf), ("body", "On my way.")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    assert_eq!(message(&mut window).await, "On my way.");

    let ended = tom
        .post(&format!("{chat_path}/close"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.html);
    assert_eq!(
        closed(&mut window).await,
        1000,
        "the window's socket closes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_chat_started_while_one_is_open_reaches_the_open_ones_windows() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let start = format!("/v1/orgs/{}/chats", d.acme);
    let chat = id(&ann.post(&start, json!({"message": "Email is down."})).await);
    let tom = server.login("tom@msp.test", PASSWORD).await;
    let mut desk_window = socket(
        &server,
        &d.acme,
        &chat,
        tom.token.as_deref().expect("token"),
    )
    .await;
    assert_eq!(message(&mut desk_window).await, "Email is down.");

    // Starting again with a chat open goes on in that chat (the core's
    // rule): the service desk's window shows it at once.
    let again = id(&ann.post(&start, json!({"message": "Still down."})).await);
    assert_eq!(again, chat, "the open chat goes on");
    assert_eq!(message(&mut desk_window).await, "Still down.");

    // The last words before a closing arrive before the closing does.
    ann.post(
        &format!("{start}/{chat}/messages"),
        json!({"body": "Thanks, bye"}),
    )
    .await;
    ann.ok(
        M::POST,
        &format!("{start}/{chat}/close"),
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(message(&mut desk_window).await, "Thanks, bye");
    assert_eq!(closed(&mut desk_window).await, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shutting_down_sends_its_chat_sockets_elsewhere() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let token = ann.token.clone().expect("token");
    let chat = id(&ann
        .post(
            &format!("/v1/orgs/{}/chats", d.acme),
            json!({"message": "Printer offline."}),
        )
        .await);
    let mut window = socket(&server, &d.acme, &chat, &token).await;
    assert_eq!(message(&mut window).await, "Printer offline.");

    // SIGTERM starts the drain: the socket closes saying to connect again
    // (1012), and a new one is refused until the load balancer stops
    // sending here.
    server.drain.start();
    assert_eq!(closed(&mut window).await, 1012);
    let refused = support::websocket_refusal(
        &server.base,
        &format!("/v1/orgs/{}/chats/{chat}/ws", d.acme),
        &token,
    )
    .await
    .expect("refused while draining");
    assert_eq!(refused.0, 503, "{}", refused.1);
}
