//! The portal's ticket pages in a real browser: opening a ticket with a
//! file, a staff reply arriving without a reload (announced to screen
//! readers, an internal note never), replying, the list, reopening a
//! resolved ticket, and a refused file named by its field; each page
//! passes axe-core and fits a phone.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::chromium::Chromium;
use crate::support::{Api, M, PASSWORD, Server, id, msp_with_client};

/// Acme's portal and its employee Ann; the MSP's admin as staff, and
/// Acme's id.
async fn acme(server: &Server) -> (Api, String) {
    let (staff, _, client) = msp_with_client(server).await;
    staff
        .ok(
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
    (staff, client)
}

async fn portal_sign_in(browser: &Chromium) {
    browser.goto("/portal/acme").await;
    browser.wait_for_path("/portal/acme/sign-in").await;
    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_path("/portal/acme").await;
}

#[tokio::test]
async fn an_employee_opens_a_ticket_with_a_file_and_sees_the_reply_arrive() {
    let server = Server::embedded().await;
    let (staff, client) = acme(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    portal_sign_in(&browser).await;
    browser.click("Your tickets").await;
    browser.wait_for_text("You have no open tickets").await;
    browser.check_page().await;

    browser.click("New ticket").await;
    browser.wait_for_path("/portal/acme/tickets/new").await;
    browser.check_page().await;
    browser.fill("Subject", "Printer jams").await;
    browser
        .fill("Description", "Every page, since Monday.")
        .await;
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("jam.txt");
    std::fs::write(&file, "tray 2").expect("a file");
    browser
        .field("attachments")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    browser.click("Send ticket").await;
    browser.wait_for_text("Your ticket was sent.").await;
    browser.wait_for_text("jam.txt").await;
    browser.check_page().await;

    // Staff answer: a note, then a reply; the reply appears by itself.
    let path = browser.current_path().await;
    let ticket = path.rsplit('/').next().expect("the ticket id").to_owned();
    let comments = format!("/v1/orgs/{client}/tickets/{ticket}/comments");
    staff
        .post(
            &comments,
            json!({"body": "Internal: vendor case 4411", "public": false}),
        )
        .await;
    let reply = staff
        .post(
            &comments,
            json!({"body": "Please open tray 2 and remove the paper.", "public": true}),
        )
        .await;
    assert!(!id(&reply).is_empty());
    browser
        .wait_for_text("Please open tray 2 and remove the paper.")
        .await;
    assert_eq!(
        browser.current_path().await,
        path,
        "shown without leaving the page"
    );
    // Announced politely to screen readers (the live region is filled a
    // moment after the reply is shown).
    let mut announced = json!("");
    for _ in 0..100 {
        announced = browser
            .script(
                "return document.getElementById('live-status').textContent;",
                vec![],
            )
            .await;
        if announced != json!("") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(announced, json!("New reply from Boss."));
    assert!(
        !browser.text().await.contains("vendor case"),
        "never the note"
    );
    browser.check_page().await;

    // Ann answers with the keyboard-free way a person would: type, send.
    browser.fill("Your reply", "Done, it prints again.").await;
    browser.click("Send reply").await;
    browser.wait_for_text("Your reply was sent.").await;
    browser.wait_for_text("Done, it prints again.").await;
    browser.check_page().await;
}

#[tokio::test]
async fn the_list_a_refused_file_and_reopening_in_a_browser() {
    let server = Server::embedded().await;
    let (staff, client) = acme(&server).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let ticket = id(&ann
        .post(
            &format!("/v1/orgs/{client}/tickets"),
            json!({"subject": "Scanner offline", "priority": "high"}),
        )
        .await);
    staff
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{client}/tickets/{ticket}"),
            Some(json!({"status": "resolved"})),
            StatusCode::OK,
        )
        .await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    portal_sign_in(&browser).await;
    browser.goto("/portal/acme/tickets?show=all").await;
    browser.wait_for_text("Scanner offline").await;
    browser.wait_for_text("Resolved").await;
    browser.check_page().await;

    browser.click("Scanner offline").await;
    browser.wait_for_text("Not solved after all?").await;
    browser.check_page().await;
    browser.click("Reopen ticket").await;
    browser.wait_for_text("The ticket is open again.").await;
    browser.wait_for_text("Reopened").await;
    browser.check_page().await;

    // A program is refused, the reason by the field, what was typed kept.
    browser.goto("/portal/acme/tickets/new").await;
    browser.fill("Subject", "A tool").await;
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("fix.exe");
    std::fs::write(&file, "MZ").expect("a file");
    browser
        .field("attachments")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    browser.click("Send ticket").await;
    let reason = browser.wait_for_field_error("attachments").await;
    assert!(
        reason.contains("fix.exe is a program or script"),
        "{reason}"
    );
    assert_eq!(browser.field_value("Subject").await, "A tool");
    browser.check_page().await;
}
