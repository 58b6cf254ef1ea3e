//! The portal's chat as a person's browser meets it without JavaScript:
//! starting a chat, messages both ways (the staff's socket hears what the
//! page posts), the offer to leave an unanswered chat as a ticket (shown
//! only after the wait, withdrawn by an answer), leaving it, another
//! organization's chat, and the chat's socket opened with the session
//! cookie, refused from another origin.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::browser::{Browser, Page};
use crate::support::{self, Api, M, PASSWORD, Server, id, items};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An MSP (its admin answers chats) with two clients, each with a portal
/// (`acme`, `globex`) and an employee (`ann@acme.test`, `gus@globex.test`);
/// acme has a second employee, `bob@acme.test`.
struct Portals {
    boss: Api,
    acme: String,
    globex: String,
}

async fn portals(server: &Server) -> Portals {
    let (boss, msp, acme) = support::msp_with_client(server).await;
    let globex = id(&boss
        .post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": "Globex"}),
        )
        .await);
    for (org, slug, name, email, person) in [
        (
            &acme,
            "acme",
            "Acme help desk",
            "ann@acme.test",
            "Ann Example",
        ),
        (
            &acme,
            "acme",
            "Acme help desk",
            "bob@acme.test",
            "Bob Example",
        ),
        (
            &globex,
            "globex",
            "Globex support",
            "gus@globex.test",
            "Gus Example",
        ),
    ] {
        boss.ok(
            M::PATCH,
            &format!("/v1/orgs/{org}/portal"),
            Some(json!({"enabled": true, "slug": slug, "branding": {"display_name": name}})),
            StatusCode::OK,
        )
        .await;
        server
            .admin()
            .post(
                &format!("/v1/orgs/{org}/members"),
                json!({"email": email, "name": person, "password": PASSWORD, "role": "employee"}),
            )
            .await;
    }
    Portals { boss, acme, globex }
}

/// A browser signed in on `slug`'s portal as `email`.
async fn signed_in(server: &Server, slug: &str, email: &str) -> Browser {
    let browser = Browser::new(&server.base);
    let page = browser
        .post(
            &format!("/portal/{slug}/sign-in"),
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    browser
}

/// Starts a chat from the portal's page; the conversation's path.
async fn start(browser: &Browser, slug: &str, message: &str) -> String {
    let form = browser.get(&format!("/portal/{slug}/chat")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    let token = form.input("csrf_token").expect("the form's token");
    let started = browser
        .post(
            &format!("/portal/{slug}/chat"),
            &[("csrf_token", &token), ("message", message)],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.html);
    // Opened at its form, to write the next message.
    let path = started
        .location()
        .strip_suffix("#chat-form")
        .unwrap_or_else(|| panic!("the chat opened at its form: {}", started.location()))
        .to_owned();
    assert!(path.starts_with(&format!("/portal/{slug}/chat/")), "{path}");
    path
}

fn chat_id(path: &str) -> &str {
    path.rsplit('/').next().expect("an id")
}

/// The staff's socket on a chat, with their bearer token.
async fn staff_socket(server: &Server, staff: &Api, org: &str, chat: &str) -> Socket {
    let url = format!(
        "{}/v1/orgs/{org}/chats/{chat}/ws",
        server.base.replacen("http://", "ws://", 1)
    );
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

async fn next_message(ws: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            let v: Value = serde_json::from_str(&text).expect("JSON frame");
            assert_eq!(v["type"], "message", "{v}");
            return v;
        }
    }
}

fn offers_a_ticket(page: &Page) -> bool {
    page.html.contains("id=\"chat-offer\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_chats_with_the_service_desk_without_javascript() {
    // The server's clock stands still, so the wait shown is exact.
    let (server, _clock) = support::server_with_clock().await;
    let p = portals(&server).await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;

    // The portal's navigation leads to the chat, which starts empty.
    let home = ann.get("/portal/acme").await;
    assert!(home.html.contains(r#"href="/portal/acme/chat""#));
    let first = ann.get("/portal/acme/chat").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.shows("Chat with us"));
    assert!(
        first
            .html
            .contains(r#"<a href="/portal/acme/chat" aria-current="page">Chat with us</a>"#),
        "{}",
        first.html
    );
    assert!(first.shows("No conversations yet"));
    assert!(first.shows("If nobody has answered after 3 minutes"));
    // Our own scripts only (the chat's and every portal page's), nothing
    // inline.
    assert!(first.html.contains(r#"<script src="/assets/chat.js?v="#));
    assert!(
        first
            .html
            .contains(r#"<script src="/assets/portal-forms.js?v="#)
    );
    assert_eq!(first.html.matches("<script").count(), 2);
    let script = reqwest::get(format!("{}/assets/chat.js", server.base))
        .await
        .expect("the script");
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );

    // An empty first message is refused next to the field.
    let token = first.input("csrf_token").expect("token");
    let empty = ann
        .post(
            "/portal/acme/chat",
            &[("csrf_token", &token), ("message", "  ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        empty.field_error("message").as_deref(),
        Some("Your message must not be empty.")
    );
    assert!(
        empty
            .html
            .contains(r#"aria-describedby="message-hint message-error""#)
    );
    // Without the session's token, nothing starts.
    let forged = ann.post("/portal/acme/chat", &[("message", "Hello")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let path = start(&ann, "acme", "My printer jams <again>").await;
    let chat = chat_id(&path).to_owned();
    let page = ann.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("My printer jams &#60;again&#62;"),
        "escaped: {}",
        page.html
    );
    assert!(!page.html.contains("<again>"));
    assert!(page.shows("Waiting for the service desk"));
    assert!(page.html.contains(r#"<span class="chat-who">You</span>"#));
    assert!(!offers_a_ticket(&page), "no offer before the wait");
    assert!(page.html.contains(r#"data-offer-in="180""#));
    assert!(page.html.contains(&format!(
        r#"data-socket-url="/v1/orgs/{}/chats/{chat}/ws""#,
        p.acme
    )));

    // A message posted by the page reaches the staff's socket.
    let mut staff = staff_socket(&server, &p.boss, &p.acme, &chat).await;
    assert_eq!(
        next_message(&mut staff).await["body"],
        "My printer jams <again>"
    );
    let token = page.input("csrf_token").expect("token");
    let sent = ann
        .post(
            &format!("{path}/messages"),
            &[
                ("csrf_token", &token),
                ("body", "It says paper jam\nin tray 2"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    assert_eq!(sent.location(), format!("{path}#chat-form"));
    let heard = next_message(&mut staff).await;
    assert_eq!(heard["body"], "It says paper jam\nin tray 2");
    assert_eq!(heard["author_name"], "Ann Example");

    // The staff's answer shows on the page, with who wrote it.
    p.boss
        .post(
            &format!("/v1/orgs/{}/chats/{chat}/messages", p.acme),
            json!({"body": "Open tray 2 and pull the sheet out."}),
        )
        .await;
    let page = ann.get(&path).await;
    assert!(page.shows("It says paper jam\nin tray 2"));
    assert!(page.shows("Open tray 2 and pull the sheet out."));
    assert!(page.html.contains(r#"<span class="chat-who">Boss</span>"#));
    assert!(!page.shows("Waiting for the service desk"));
    assert!(page.shows("In progress"));
    assert!(
        !page.html.contains("data-offer-in"),
        "answered: no offer to come"
    );

    // An empty message: the error by the field, the conversation still there.
    let empty = ann
        .post(
            &format!("{path}/messages"),
            &[("csrf_token", &token), ("body", "")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        empty.field_error("chat-body").as_deref(),
        Some("Your message must not be empty.")
    );
    assert!(empty.shows("Open tray 2 and pull the sheet out."));

    // The chat page lists it as open, to continue rather than start again.
    let list = ann.get("/portal/acme/chat").await;
    assert!(list.shows("Your conversation is still open"));
    assert!(list.html.contains(&format!(r#"href="{path}""#)));
    assert!(!list.html.contains(r#"name="message""#), "no second chat");

    // Ending the chat: said so, and no more messages from the page.
    let ended = ann
        .post(&format!("{path}/close"), &[("csrf_token", &token)])
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert_eq!(ended.location(), format!("{path}?done=closed"));
    let page = ann.get(ended.location()).await;
    assert!(page.shows("You ended the chat."));
    assert!(page.shows("This chat has ended."));
    assert!(!page.html.contains("id=\"chat-form\""));
    let list = ann.get("/portal/acme/chat").await;
    assert!(list.shows("Start a conversation"));
    assert!(list.shows("Ended"));

    // Signed out, a post goes to the portal's sign-in page and back.
    let stranger = Browser::new(&server.base);
    let out = stranger
        .post(&format!("{path}/messages"), &[("body", "hi")])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.location()
            .starts_with("/portal/acme/sign-in?next=%2Fportal%2Facme%2Fchat%2F"),
        "{}",
        out.location()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_chat_is_offered_as_a_ticket_after_the_wait() {
    let (server, clock) = support::server_with_clock().await;
    let p = portals(&server).await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let path = start(&ann, "acme", "The VPN drops every hour").await;
    let chat = chat_id(&path).to_owned();

    clock.advance(chrono::Duration::seconds(179));
    let page = ann.get(&path).await;
    assert!(!offers_a_ticket(&page), "a second before the wait ends");
    assert!(page.html.contains(r#"data-offer-in="1""#));
    let token = page.input("csrf_token").expect("token");
    let early = ann
        .post(&format!("{path}/ticket"), &[("csrf_token", &token)])
        .await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(early.shows("This chat cannot be left as a ticket now"));

    clock.advance(chrono::Duration::seconds(1));
    let page = ann.get(&path).await;
    assert!(offers_a_ticket(&page), "{}", page.html);
    assert!(page.shows("Nobody has answered yet"));
    assert!(page.html.contains(&format!(r#"action="{path}/ticket""#)));
    // The API tells the script the same.
    let employee = server.login("ann@acme.test", PASSWORD).await;
    let view = employee
        .get(&format!("/v1/orgs/{}/chats/{chat}", p.acme))
        .await;
    assert_eq!(view["wait"]["ticket_offered"], true, "{view}");
    assert_eq!(view["wait"]["answer_within_minutes"], 3);

    // Another chat, answered late: the answer withdraws the offer.
    let bob = signed_in(&server, "acme", "bob@acme.test").await;
    let answered = start(&bob, "acme", "Where is the wiki?").await;
    clock.advance(chrono::Duration::minutes(4));
    assert!(offers_a_ticket(&bob.get(&answered).await));
    p.boss
        .post(
            &format!("/v1/orgs/{}/chats/{}/messages", p.acme, chat_id(&answered)),
            json!({"body": "Sorry for the wait: it is at wiki.acme.test."}),
        )
        .await;
    let page = bob.get(&answered).await;
    assert!(!offers_a_ticket(&page));
    let token_bob = page.input("csrf_token").expect("token");
    let refused = bob
        .post(&format!("{answered}/ticket"), &[("csrf_token", &token_bob)])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        items(&p.boss.get(&format!("/v1/orgs/{}/tickets", p.acme)).await).is_empty(),
        "no ticket from a refused offer"
    );

    // One click: a ticket with the transcript, and the ticket's page.
    let left = ann
        .post(&format!("{path}/ticket"), &[("csrf_token", &token)])
        .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.html);
    let tickets = p.boss.get(&format!("/v1/orgs/{}/tickets", p.acme)).await;
    let ticket = &items(&tickets)[0];
    assert_eq!(
        left.location(),
        format!("/portal/acme/tickets/{}?done=from-chat", id(ticket))
    );
    assert_eq!(ticket["subject"], "Chat: The VPN drops every hour");
    assert_eq!(ticket["requester"], employee.get("/v1/me").await["user_id"]);
    assert!(
        ticket["description"]
            .as_str()
            .expect("description")
            .contains("Ann Example: The VPN drops every hour"),
        "{ticket}"
    );
    // The conversation says where it went; it takes no more messages.
    let page = ann.get(&path).await;
    assert!(page.shows("This conversation continues as ticket #1"));
    assert!(
        page.html
            .contains(&format!(r#"href="/portal/acme/tickets/{}""#, id(ticket)))
    );
    assert!(page.shows("Continued as a ticket"));
    assert!(!offers_a_ticket(&page));
    assert!(!page.html.contains("id=\"chat-form\""));
    let again = ann
        .post(&format!("{path}/ticket"), &[("csrf_token", &token)])
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        items(&p.boss.get(&format!("/v1/orgs/{}/tickets", p.acme)).await).len(),
        1,
        "one ticket per chat"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_persons_or_organizations_chat_is_not_found() {
    let server = Server::embedded().await;
    let p = portals(&server).await;
    let gus = signed_in(&server, "globex", "gus@globex.test").await;
    let theirs = start(&gus, "globex", "Globex secret plans").await;
    let bob = signed_in(&server, "acme", "bob@acme.test").await;
    let bobs = start(&bob, "acme", "Bob's own question").await;

    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let token = ann
        .get("/portal/acme/chat")
        .await
        .input("csrf_token")
        .expect("token");
    for other in [chat_id(&theirs), chat_id(&bobs), "not-a-chat"] {
        let path = format!("/portal/acme/chat/{other}");
        let page = ann.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.shows("Conversation not found"));
        assert!(!page.shows("Globex secret plans") && !page.shows("Bob's own question"));
        for (action, fields) in [
            (
                "messages",
                vec![("csrf_token", token.as_str()), ("body", "hi")],
            ),
            ("ticket", vec![("csrf_token", token.as_str())]),
            ("close", vec![("csrf_token", token.as_str())]),
        ] {
            let refused = ann.post(&format!("{path}/{action}"), &fields).await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}/{action}");
        }
    }
    // Nothing changed in either.
    for (api, org, chat) in [
        (
            server.login("gus@globex.test", PASSWORD).await,
            &p.globex,
            chat_id(&theirs),
        ),
        (
            server.login("bob@acme.test", PASSWORD).await,
            &p.acme,
            chat_id(&bobs),
        ),
    ] {
        let view = api.get(&format!("/v1/orgs/{org}/chats/{chat}")).await;
        assert_eq!(view["chat"]["status"], "open");
        let messages = api
            .get(&format!("/v1/orgs/{org}/chats/{chat}/messages"))
            .await;
        assert_eq!(items(&messages).len(), 1);
    }
    // Ann's own list does not show them either.
    let list = ann.get("/portal/acme/chat").await;
    assert!(list.shows("No conversations yet"));
    // And on another organization's portal she is told it is not hers.
    let elsewhere = ann.get(&theirs).await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    assert!(!elsewhere.shows("Globex secret plans"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_socket_opens_with_the_session_cookie_only_from_our_own_origin() {
    let server = Server::embedded().await;
    let p = portals(&server).await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let path = start(&ann, "acme", "Can you hear me?").await;
    let socket_path = format!("/v1/orgs/{}/chats/{}/ws", p.acme, chat_id(&path));
    let cookie = ann.cookie().expect("the session cookie");
    let open = |origin: Option<String>| {
        let url = format!(
            "{}{socket_path}",
            server.base.replacen("http://", "ws://", 1)
        );
        let mut request = url.into_client_request().expect("a ws url");
        request
            .headers_mut()
            .insert("cookie", cookie.parse().expect("header"));
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().expect("header"));
        }
        tokio_tungstenite::connect_async(request)
    };
    for origin in [Some("https://evil.test".to_owned()), None] {
        match open(origin.clone()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 403, "{origin:?}");
            }
            Ok(_) => panic!("a socket opened from {origin:?}"),
            Err(e) => panic!("{origin:?}: {e}"),
        }
    }
    // From our own page it opens, replays the conversation and takes
    // messages.
    let (mut ws, _) = open(Some(server.base.clone()))
        .await
        .expect("our own page's socket opens");
    assert_eq!(next_message(&mut ws).await["body"], "Can you hear me?");
    ws.send(Message::Text(json!({"body": "Hello?"}).to_string().into()))
        .await
        .expect("send");
    assert_eq!(next_message(&mut ws).await["body"], "Hello?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earlier_conversations_are_listed_newest_first_ten_at_a_time() {
    let server = Server::embedded().await;
    let p = portals(&server).await;
    let employee = server.login("ann@acme.test", PASSWORD).await;
    let mut chats = Vec::new();
    for n in 1..=11 {
        let chat = id(&employee
            .post(
                &format!("/v1/orgs/{}/chats", p.acme),
                json!({"message": format!("Question {n}")}),
            )
            .await);
        employee
            .ok(
                M::POST,
                &format!("/v1/orgs/{}/chats/{chat}/close", p.acme),
                None,
                StatusCode::OK,
            )
            .await;
        chats.push(chat);
    }
    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let links = |page: &Page| -> Vec<String> {
        chats
            .iter()
            .filter(|c| page.html.contains(&format!("/portal/acme/chat/{c}\"")))
            .cloned()
            .collect()
    };
    let first = ann.get("/portal/acme/chat").await;
    assert!(first.shows("Start a conversation"), "all ended");
    let shown = links(&first);
    assert_eq!(shown.len(), 10);
    assert!(!shown.contains(&chats[0]), "the oldest is on the next page");
    let newest = first
        .html
        .find(&format!("/portal/acme/chat/{}\"", chats[10]))
        .expect("the newest");
    let older = first
        .html
        .find(&format!("/portal/acme/chat/{}\"", chats[9]))
        .expect("the one before");
    assert!(newest < older, "newest first");
    let next = first
        .html
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with("/portal/acme/chat?cursor="))
        .expect("a link to older conversations")
        .replace("&amp;", "&");
    let second = ann.get(&next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(links(&second), [chats[0].clone()]);
    assert!(second.shows("Older conversations"));
    assert!(!second.shows("Start a conversation"), "only listed");
    // A cursor the server did not make is the first page.
    let forged = ann.get("/portal/acme/chat?cursor=zz").await;
    assert_eq!(forged.status, StatusCode::OK);
    assert_eq!(links(&forged), links(&first));
}
