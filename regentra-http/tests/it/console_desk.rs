//! The service desk's working parts in the console, as a staff member's
//! browser meets them without JavaScript: the chat list across clients
//! with the chats waiting for an answer called out, the queue's numbers
//! per quick filter, a ticket's history in words, and replies and notes
//! with files (a note's files staff-only, a forged or refused upload
//! keeping nothing).

use reqwest::StatusCode;
use serde_json::json;

use crate::console_pages::{desk, me, ticket};
use crate::support::browser::{Browser, Page, Part};
use crate::support::{M, PASSWORD, Server, id, items};

async fn signed_in(server: &Server, email: &str) -> Browser {
    let browser = Browser::new(&server.base);
    browser.get("/sign-in").await;
    browser.sign_in(email, PASSWORD).await;
    browser
}

/// The text of the quick filter tab labelled `label`, with its number.
fn tab(page: &Page, label: &str) -> Option<String> {
    let start = page
        .html
        .find(&format!(">{label} <span class=\"tab-count\">"))?;
    let rest = &page.html[start..];
    let count = rest.split("tab-count\">").nth(1)?.split('<').next()?;
    Some(count.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_list_shows_every_clients_chats_and_calls_out_the_waiting_ones() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let chat = id(&ann
        .post(
            &format!("/v1/orgs/{}/chats", d.acme),
            json!({"message": "The printer is on fire (not really)."}),
        )
        .await);
    let tom = signed_in(&server, "tom@msp.test").await;
    let chat_path = format!("/app/{}/chats/{chat}", d.acme);

    // All clients: the chat is listed, and called out as waiting.
    let all = tom.get("/app/all/chats").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.html);
    assert!(all.shows("1 chat is waiting for an answer"), "{}", all.html);
    assert!(all.html.contains(&format!("href=\"{chat_path}\"")));
    assert!(all.shows("Answer Ann Example") && all.shows("Acme"));
    assert!(all.shows("Waiting for an answer"));
    // The navigation has the chats now, on every scope that answers them.
    assert!(all.html.contains("href=\"/app/all/chats\""), "{}", all.html);

    // Every other page carries the alert, which asks who is waiting.
    let queue = tom.get("/app/all/tickets").await;
    assert!(
        queue
            .html
            .contains("data-chat-alert=\"/app/chats/waiting\"")
    );
    assert!(
        !all.html.contains("data-chat-alert="),
        "the chat list shows the waiting chats itself"
    );
    let waiting: serde_json::Value =
        serde_json::from_str(&tom.get("/app/chats/waiting").await.html).expect("JSON");
    assert_eq!(waiting["count"], 1, "{waiting}");
    assert_eq!(waiting["chats"][0]["requester"], "Ann Example");
    assert_eq!(waiting["chats"][0]["client"], "Acme");
    assert_eq!(waiting["chats"][0]["href"], chat_path.as_str());
    // Nobody else's: another MSP's admin waits on nothing of Acme's, and
    // without a session there is nothing to read.
    let rival = signed_in(&server, "rival@other.test").await;
    let theirs: serde_json::Value =
        serde_json::from_str(&rival.get("/app/chats/waiting").await.html).expect("JSON");
    assert_eq!(theirs["count"], 0, "{theirs}");
    let nobody = Browser::new(&server.base).get("/app/chats/waiting").await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);

    // Globex's own list: Acme's chat is not there.
    let globex = tom.get(&format!("/app/{}/chats", d.globex)).await;
    assert_eq!(globex.status, StatusCode::OK);
    assert!(!globex.shows("Ann Example"), "{}", globex.html);
    assert!(globex.shows("No open chats"));

    // Answered, it is in progress and no longer waiting.
    let page = tom.get(&chat_path).await;
    let csrf = page.input("csrf_token").expect("csrf");
    assert!(
        page.html
            .contains(&format!("href=\"/app/{}/chats\"", d.acme)),
        "the breadcrumb leads to the client's chats"
    );
    let sent = tom
        .post(
            &format!("{chat_path}/messages"),
            &[("csrf_token", &csrf), ("body", "On my way.")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let acme = tom.get(&format!("/app/{}/chats", d.acme)).await;
    assert!(!acme.shows("waiting for an answer"), "{}", acme.html);
    assert!(acme.shows("In progress") && acme.shows("You"));

    // Ended: gone from the open chats, listed under "Ended".
    let closed = tom
        .post(&format!("{chat_path}/close"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let open = tom.get("/app/all/chats").await;
    assert!(!open.shows("Ann Example"), "{}", open.html);
    let ended = tom.get("/app/all/chats?show=closed").await;
    assert!(ended.shows("Ann Example") && ended.shows("Ended"));

    // A compliance officer answers no chats: no section, a 404 page.
    let carol = signed_in(&server, "carol@msp.test").await;
    let acme_chats = carol.get(&format!("/app/{}/chats", d.acme)).await;
    assert_eq!(acme_chats.status, StatusCode::NOT_FOUND);
    let carols = carol.get("/app/inbox").await;
    assert_eq!(carols.status, StatusCode::OK);
    assert!(!carols.html.contains("/chats\""), "{}", carols.html);
    assert!(!carols.html.contains("data-chat-alert="), "{}", carols.html);
    // Another MSP's client, and a client Tom is not assigned to: 404.
    for org in [&d.other_client, &d.initech] {
        assert_eq!(
            tom.get(&format!("/app/{org}/chats")).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_counts_each_quick_filter_and_the_tickets_matching() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let tom_api = server.login("tom@msp.test", PASSWORD).await;
    let tom_id = me(&tom_api).await;
    let a = ticket(&d.boss, &d.acme, "Printer", "low").await;
    ticket(&d.boss, &d.acme, "Scanner", "medium").await;
    ticket(&d.boss, &d.globex, "VPN", "high").await;
    let done = ticket(&d.boss, &d.globex, "Old thing", "low").await;
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/tickets/{a}", d.acme),
            Some(json!({"assignee": tom_id})),
            StatusCode::OK,
        )
        .await;
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/tickets/{done}", d.globex),
            Some(json!({"status": "resolved"})),
            StatusCode::OK,
        )
        .await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let queue = tom.get("/app/all/tickets").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.html);
    assert_eq!(tab(&queue, "Open").as_deref(), Some("3"), "{}", queue.html);
    assert_eq!(tab(&queue, "Mine").as_deref(), Some("1"));
    assert_eq!(tab(&queue, "Unassigned").as_deref(), Some("2"));
    assert_eq!(tab(&queue, "Breached").as_deref(), Some("0"));
    assert!(queue.shows("3 tickets"), "{}", queue.html);
    // One client: its own numbers.
    let acme = tom.get(&format!("/app/{}/tickets", d.acme)).await;
    assert_eq!(tab(&acme, "Open").as_deref(), Some("2"), "{}", acme.html);
    // A filter's total: the resolved ones.
    let resolved = tom.get("/app/all/tickets?status=resolved").await;
    assert!(
        resolved.shows("1 ticket match these filters"),
        "{}",
        resolved.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tickets_history_tells_who_did_what() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let t = ticket(&d.boss, &d.acme, "Email bounces", "medium").await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let base = format!("/app/{}/tickets/{t}", d.acme);
    let page = tom.get(&base).await;
    let csrf = page.input("csrf_token").expect("csrf");
    for (path, field, value) in [
        ("status", "status", "pending"),
        ("priority", "priority", "high"),
        ("assignee", "assignee", "me"),
    ] {
        let done = tom
            .post(
                &format!("{base}/{path}"),
                &[("csrf_token", &csrf), (field, value)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    }
    let logged = tom
        .post(
            &format!("{base}/time"),
            &[
                ("csrf_token", &csrf),
                ("minutes", "30"),
                ("date", "2026-01-05"),
                ("billable", "on"),
                ("note", "Checked the MX records"),
            ],
        )
        .await;
    assert_eq!(logged.status, StatusCode::SEE_OTHER, "{}", logged.html);
    let page = tom.get(&base).await;
    for line in [
        "opened the ticket at medium priority",
        "changed the status from new to waiting on client",
        "changed the priority from medium to high",
        "assigned it to you",
        "logged 30 min (billable)",
    ] {
        assert!(page.shows(line), "missing {line:?} in {}", page.html);
    }
    // Tom's own changes are "You"; the MSP admin who opened it is named.
    assert!(
        page.html
            .contains("<strong>You</strong> changed the status")
    );
    assert!(!page.shows("recorded ticket."), "every action has words");

    // Carol, a compliance officer, works no tickets in Acme: neither the
    // page nor its history is hers.
    let carol = signed_in(&server, "carol@msp.test").await;
    assert_eq!(carol.get(&base).await.status, StatusCode::NOT_FOUND);
    let trail = server
        .login("carol@msp.test", PASSWORD)
        .await
        .call(
            M::GET,
            &format!("/v1/orgs/{}/tickets/{t}/audit", d.acme),
            None,
        )
        .await;
    assert_eq!(trail.status, StatusCode::FORBIDDEN, "{}", trail.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_reply_with_files_and_a_notes_files_stay_with_staff() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let t = id(&ann
        .post(
            &format!("/v1/orgs/{}/tickets", d.acme),
            json!({"subject": "Need the manual", "description": "", "priority": "low"}),
        )
        .await);
    let tom = signed_in(&server, "tom@msp.test").await;
    let base = format!("/app/{}/tickets/{t}", d.acme);
    let page = tom.get(&base).await;
    assert!(page.html.contains("enctype=\"multipart/form-data\""));
    let csrf = page.input("csrf_token").expect("csrf");

    // A reply with a file: the client gets both.
    let sent = tom
        .post_multipart(
            &format!("{base}/reply"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("body", "Here is the manual."),
                Part::Text("visibility", "public"),
                Part::File(
                    "attachments",
                    "manual.pdf",
                    "application/pdf",
                    b"%PDF-1.4 the manual".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    // A note with a file: staff only.
    let noted = tom
        .post_multipart(
            &format!("{base}/reply"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("body", "Our internal price list."),
                Part::Text("visibility", "internal"),
                Part::File(
                    "attachments",
                    "prices.txt",
                    "text/plain",
                    b"cost plus 40%".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER, "{}", noted.html);
    let page = tom.get(&base).await;
    assert!(page.shows("manual.pdf") && page.shows("prices.txt"));
    // Staff download it from the console.
    let link = page
        .html
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|href| href.contains("/attachments/"))
        .expect("a file link")
        .to_owned();
    let file = tom.get(&link).await;
    assert_eq!(file.status, StatusCode::OK);
    // The client sees the reply's file and never the note's.
    let files = ann
        .get(&format!("/v1/orgs/{}/tickets/{t}/attachments", d.acme))
        .await;
    let names: Vec<&str> = items(&files)
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["manual.pdf"], "{files}");

    // A refused file (a program): nothing sent, the error by the field,
    // the message kept.
    let refused = tom
        .post_multipart(
            &format!("{base}/reply"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("body", "Run this fixer."),
                Part::Text("visibility", "public"),
                Part::File(
                    "attachments",
                    "fixer.exe",
                    "application/octet-stream",
                    b"MZ\x90\x00 a program".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused.field_error("attachments").is_some(),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("Run this fixer."),
        "the message is kept"
    );
    let comments = ann
        .get(&format!("/v1/orgs/{}/tickets/{t}/comments", d.acme))
        .await;
    assert!(!comments.to_string().contains("Run this fixer."));

    // A forged upload (no CSRF token first): refused, nothing kept.
    let forged = tom
        .post_multipart(
            &format!("{base}/reply"),
            &[
                Part::Text("body", "Forged reply"),
                Part::Text("visibility", "public"),
                Part::File("attachments", "x.txt", "text/plain", b"x".to_vec()),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let comments = ann
        .get(&format!("/v1/orgs/{}/tickets/{t}/comments", d.acme))
        .await;
    assert!(!comments.to_string().contains("Forged reply"));
    let files = ann
        .get(&format!("/v1/orgs/{}/tickets/{t}/attachments", d.acme))
        .await;
    assert_eq!(items(&files).len(), 1, "{files}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tickets_live_refresh_answers_304_until_the_ticket_changes() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let t = ticket(&d.boss, &d.acme, "Slow laptop", "low").await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let path = format!("/app/{}/tickets/{t}", d.acme);
    let refresh = [("x-regentra-refresh", "1")];
    let first = tom.get_with(&path, &refresh).await;
    assert_eq!(first.status, StatusCode::OK);
    let tag = first.header("etag").to_owned();
    assert!(!tag.is_empty(), "a refresh answer carries its tag");
    let again = tom
        .get_with(
            &path,
            &[("x-regentra-refresh", "1"), ("if-none-match", &tag)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.html.is_empty());
    // A reply changes the ticket: the whole page again, with a new tag.
    d.boss
        .post(
            &format!("/v1/orgs/{}/tickets/{t}/comments", d.acme),
            json!({"body": "Restarted it.", "public": true}),
        )
        .await;
    let changed = tom
        .get_with(
            &path,
            &[("x-regentra-refresh", "1"), ("if-none-match", &tag)],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert!(changed.shows("Restarted it."));
    assert_ne!(changed.header("etag"), tag);
    // Another person's tag means nothing to a page they cannot open.
    let carol = signed_in(&server, "carol@msp.test").await;
    let hers = carol
        .get_with(
            &path,
            &[("x-regentra-refresh", "1"), ("if-none-match", &tag)],
        )
        .await;
    assert_eq!(hers.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_with_files_from_someone_who_does_not_work_the_ticket_is_refused() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let t = ticket(&d.boss, &d.acme, "Printer", "low").await;
    // Carol may open tickets in Acme but works none: her reply with a file
    // is the 404 page, and the ticket holds no file.
    let carol = signed_in(&server, "carol@msp.test").await;
    let csrf = carol
        .get("/app/inbox")
        .await
        .input("csrf_token")
        .expect("csrf");
    let base = format!("/app/{}/tickets/{t}", d.acme);
    let refused = carol
        .post_multipart(
            &format!("{base}/reply"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("body", "Sneaky"),
                Part::Text("visibility", "internal"),
                Part::File(
                    "attachments",
                    "big.bin",
                    "application/pdf",
                    vec![b'%'; 4096],
                ),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let files = d
        .boss
        .get(&format!("/v1/orgs/{}/tickets/{t}/attachments", d.acme))
        .await;
    assert!(items(&files).is_empty(), "{files}");
    // Nor a ticket id that names nothing, for Tom who works Acme.
    let tom = signed_in(&server, "tom@msp.test").await;
    let csrf = tom
        .get("/app/inbox")
        .await
        .input("csrf_token")
        .expect("csrf");
    let nothing = tom
        .post_multipart(
            &format!("/app/{}/tickets/{}/reply", d.acme, uuid::Uuid::now_v7()),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("body", "Hello"),
                Part::File("attachments", "a.txt", "text/plain", b"a".to_vec()),
            ],
        )
        .await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);
    // Carol's console has no Assets section: her assets are her own, on
    // the portal.
    let inbox = carol.get("/app/inbox").await;
    assert!(!inbox.html.contains("/assets\""), "{}", inbox.html);
}
