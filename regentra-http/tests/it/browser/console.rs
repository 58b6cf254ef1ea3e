//! The staff console in a real browser: a technician assigned to two
//! clients signs in, switches clients, narrows the queue across clients to
//! "mine, at risk", answers a ticket (the reply reaches the client's
//! portal), reads the SLA warning in the inbox, and opens the new-ticket
//! form; each page passes axe-core and fits a phone. A compliance
//! officer sees no service desk.

use std::time::Duration;

use chrono::Duration as Minutes;
use regentra_http::server::worker::{self, WorkerConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::console_pages::{desk, me, ticket};
use crate::support::chromium::Chromium;
use crate::support::{M, PASSWORD, server_with_clock};

#[tokio::test]
async fn a_technician_works_the_queue_across_clients_and_answers_on_the_portal() {
    let (server, clock) = server_with_clock().await;
    let d = desk(&server).await;
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/portal", d.acme),
            Some(json!({"enabled": true, "slug": "acme"})),
            StatusCode::OK,
        )
        .await;
    let tom_id = me(&server.login("tom@msp.test", PASSWORD).await).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let printer = crate::support::id(
        &ann.post(
            &format!("/v1/orgs/{}/tickets", d.acme),
            json!({"subject": "Printer offline", "description": "Nothing prints.", "priority": "high"}),
        )
        .await,
    );
    let line = ticket(&d.boss, &d.globex, "Line 3 stopped", "critical").await;
    for (org, t) in [(&d.acme, &printer), (&d.globex, &line)] {
        d.boss
            .ok(
                M::PATCH,
                &format!("/v1/orgs/{org}/tickets/{t}"),
                Some(json!({"assignee": tom_id})),
                StatusCode::OK,
            )
            .await;
    }
    clock.advance(Minutes::minutes(70));
    worker::sweep_once(
        server.regentra.clone(),
        WorkerConfig {
            every: Duration::from_secs(3600),
            webhooks: Vec::new(),
            secret: None,
            first_retry: worker::FIRST_RETRY,
            dns: None,
        },
    )
    .await
    .expect("a sweep");

    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("tom@msp.test", PASSWORD).await;
    browser.wait_for_text("Dashboard: 2 clients").await;
    browser.check_page().await;
    browser.click("Service desk").await;
    browser.wait_for_text("Service desk: all clients").await;
    browser.check_page().await;

    // Switch to Acme and back: the same section, another scope.
    browser.click(".switcher summary").await;
    browser.click("Acme Client").await;
    browser.wait_for_text("Service desk: Acme").await;
    assert_eq!(
        browser.current_path().await,
        format!("/app/{}/tickets", d.acme)
    );
    assert!(!browser.text().await.contains("Line 3 stopped"));
    browser.click(".switcher summary").await;
    browser.click("All clients").await;
    browser.wait_for_text("Service desk: all clients").await;

    // Mine, at risk: the printer (high, due within the hour), not the
    // breached line.
    // (Each quick filter carries its number: found by where it leads.)
    browser
        .click(".filter-tabs a[href$=\"assignee=me&sla=at_risk\"]")
        .await;
    browser.wait_for_text("Printer offline").await;
    let text = browser.text().await;
    assert!(!text.contains("Line 3 stopped"), "{text}");
    browser
        .click(".filter-tabs a[href$=\"?sla=breached\"]")
        .await;
    browser.wait_for_text("Line 3 stopped").await;

    // Answer the printer ticket.
    browser
        .goto(&format!("/app/{}/tickets/{printer}", d.acme))
        .await;
    browser.wait_for_text("Nothing prints.").await;
    browser.check_page().await;
    browser
        .fill("Message", "Restarted the print spooler; try again please.")
        .await;
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("spooler-log.txt");
    std::fs::write(&file, "spooler restarted 09:12").expect("a file");
    browser
        .field("attachments")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    browser.click("Send reply").await;
    browser
        .wait_for_text("Your reply was sent to the client.")
        .await;
    browser.wait_for_text("spooler-log.txt").await;
    // The history tells it, newest last.
    browser.wait_for_text("replied to the client").await;
    browser
        .wait_for_text("replied to the client, with 1 file")
        .await;
    assert_eq!(
        browser.focused_element_label().await,
        "Your reply was sent to the client.",
        "focus moves to the outcome"
    );
    browser
        .fill("Message", "Spooler crashed twice this week.")
        .await;
    browser.click("Add internal note").await;
    browser.wait_for_text("Your internal note was added.").await;

    // The inbox has the SLA warnings.
    browser.goto("/app/inbox").await;
    browser.wait_for_text("SLA breached").await;
    browser.check_page().await;
    browser.goto(&format!("/app/{}/tickets/new", d.acme)).await;
    browser.wait_for_text("New ticket for Acme").await;
    browser.check_page().await;
    // The knowledge base (a preview without script) and the assets pass too.
    browser.goto(&format!("/app/{}/kb/new", d.acme)).await;
    browser.fill("Title", "Printer tips").await;
    browser.fill("Text", "**Turn it off and on.**").await;
    browser.click("Preview").await;
    browser.wait_for_text("Turn it off and on.").await;
    browser.check_page().await;
    browser.click("Save article").await;
    browser.wait_for_text("The article was saved.").await;
    browser.check_page().await;
    browser.goto(&format!("/app/{}/kb", d.acme)).await;
    browser.wait_for_text("Printer tips").await;
    browser.check_page().await;
    browser.goto(&format!("/app/{}/assets", d.acme)).await;
    browser.wait_for_text("Record an asset").await;
    browser.check_page().await;
    browser.goto("/app/profile").await;
    browser.wait_for_text("Two-step sign-in").await;
    browser.check_page().await;

    // On the portal, Ann reads the reply, never the note.
    let Some(portal) = Chromium::open(&server).await else {
        return;
    };
    portal.goto("/portal/acme/sign-in").await;
    portal.fill("Email", "ann@acme.test").await;
    portal.fill("Password", PASSWORD).await;
    portal.click("Sign in").await;
    portal.wait_for_path("/portal/acme").await;
    portal
        .goto(&format!("/portal/acme/tickets/{printer}"))
        .await;
    portal
        .wait_for_text("Restarted the print spooler; try again please.")
        .await;
    portal.wait_for_text("spooler-log.txt").await;
    assert!(!portal.text().await.contains("Spooler crashed"));
}

#[tokio::test]
async fn a_compliance_officer_has_no_service_desk() {
    let server = crate::support::Server::embedded().await;
    let d = desk(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("carol@msp.test", PASSWORD).await;
    browser.goto(&format!("/app/{}/tickets", d.acme)).await;
    browser.wait_for_text("Page not found").await;
    let text = browser.text().await;
    assert!(!text.contains("Service desk"), "{text}");
    browser.check_page().await;
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

#[tokio::test]
async fn a_chat_started_on_the_portal_is_answered_live_in_the_console() {
    let server = crate::support::Server::embedded().await;
    let d = desk(&server).await;
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/portal", d.acme),
            Some(json!({"enabled": true, "slug": "acme"})),
            StatusCode::OK,
        )
        .await;
    // Tom works the queue; nobody waits yet.
    let Some(console) = Chromium::open(&server).await else {
        return;
    };
    console.sign_in("tom@msp.test", PASSWORD).await;
    console.goto("/app/all/tickets").await;
    console.wait_for_text("Service desk: all clients").await;
    assert!(!console.text().await.contains("waiting in a chat"));

    let Some(portal) = Chromium::open(&server).await else {
        return;
    };
    portal.goto("/portal/acme/sign-in").await;
    portal.fill("Email", "ann@acme.test").await;
    portal.fill("Password", PASSWORD).await;
    portal.click("Sign in").await;
    portal.wait_for_path("/portal/acme").await;
    portal.goto("/portal/acme/chat").await;
    portal.fill("How can we help?", "My screen is black").await;
    portal.click("Start the chat").await;
    portal.wait_for_text("Waiting for the service desk").await;
    until(&portal, LIVE, "the portal's chat is live").await;

    // The queue page says so by itself, and the Chats link counts it.
    console.wait_for_text("A client is waiting in a chat").await;
    until(
        &console,
        "return (document.querySelector('.console-nav a[href$=\"/chats\"] .count-badge') || {}).textContent === '1 waiting';",
        "the Chats link counts the waiting chat",
    )
    .await;
    console.check_page().await;
    // The chat list, and from there the chat.
    console.click(".console-nav a[href$=\"/chats\"]").await;
    console
        .wait_for_text("1 chat is waiting for an answer")
        .await;
    console.check_page().await;
    console.click("Answer Ann Example").await;
    console.wait_for_text("Chat with Ann Example").await;
    until(&console, LIVE, "the console's chat is live").await;
    console.check_page().await;
    console.fill("Your answer", "Is the power light on?").await;
    console.press_enter().await;
    portal.wait_for_text("Is the power light on?").await;
    portal.fill("Your message", "It is orange").await;
    portal.press_enter().await;
    console.wait_for_text("It is orange").await;
    assert_eq!(
        console.focused_element_label().await,
        "Your answer",
        "a message arriving leaves the focus where it was"
    );
}
