//! Where the focus lands after each action of the client portal, in a
//! real browser, by the rule written at the top of `portal/forms.js`: a
//! form sent back with errors puts it on its first invalid field (whose
//! error `aria-describedby` ties to it); an action that succeeded puts it
//! on the message that says so (`role="status"`); content that arrives
//! live (a staff reply, a chat message) never moves it and is announced
//! politely instead. The flows the issue asks to work with the keyboard
//! alone (signing in, opening a ticket, replying, signing a policy) are
//! driven by Tab and Enter only. Every page passes `check_page`.

use std::time::Duration;

use regentra_core::Clock as _;
use regentra_http::web::sign_in::WRONG_CREDENTIALS;
use reqwest::StatusCode;
use serde_json::json;

use super::portal::tab_to;
use crate::portal_self_service::{article, launch, portals};
use crate::support::chromium::Chromium;
use crate::support::{Api, M, PASSWORD, Server, msp_with_client};

/// What has the focus: its role (else its tag), its accessible name
/// (roughly, see [`Chromium::focused_element_label`]) and whether it is
/// marked invalid.
#[derive(Debug)]
struct Focus {
    role: String,
    name: String,
    invalid: bool,
}

async fn focus(browser: &Chromium) -> Focus {
    let found = browser
        .script(
            "const e = document.activeElement; \
             if (!e || e === document.body) return ['', false]; \
             return [e.getAttribute('role') || e.tagName.toLowerCase(), \
                     e.getAttribute('aria-invalid') === 'true'];",
            vec![],
        )
        .await;
    Focus {
        role: found[0].as_str().unwrap_or_default().to_owned(),
        name: browser.focused_element_label().await,
        invalid: found[1] == json!(true),
    }
}

/// Waits until the focus is on the `role` (or tag) element whose name
/// starts with `name`, marked invalid or not as `invalid` says (the page's
/// script moves it once the page is parsed, a moment after it shows).
pub(crate) async fn wait_for_focus(browser: &Chromium, role: &str, name: &str, invalid: bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = focus(browser).await;
        if now.role == role && now.name.starts_with(name) && now.invalid == invalid {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the focus never went to the {role} {name:?} (invalid: {invalid}); it is on {now:?} at {}",
            browser.current_url().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The focus is on the field labelled `label`, marked invalid, and the
/// error read with it says `error`.
async fn focus_on_invalid_field(browser: &Chromium, tag: &str, label: &str, error: &str) {
    let reason = browser.wait_for_field_error(label).await;
    assert!(reason.contains(error), "{label:?} says {reason:?}");
    wait_for_focus(browser, tag, label, true).await;
}

/// Acme's portal at `/portal/acme` and its employee Ann; the MSP's admin
/// (staff, named Boss) and Acme's id.
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

/// The text of the ticket page's polite live region, once it has some.
async fn announced(browser: &Chromium, region: &str) -> String {
    for _ in 0..200 {
        let text = browser
            .script(
                "return document.getElementById(arguments[0]).textContent;",
                vec![json!(region)],
            )
            .await;
        let text = text.as_str().unwrap_or_default().trim().to_owned();
        if !text.is_empty() {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing was announced in #{region}");
}

#[tokio::test]
async fn signing_in_opening_replying_reopening_and_signing_out_with_the_keyboard() {
    let server = Server::embedded().await;
    let (staff, client) = acme(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };

    // Sign-in: nothing typed, then a wrong password; each time the focus
    // is on the field to fix, its error read with it.
    browser.goto("/portal/acme/sign-in").await;
    tab_to(&browser, "Sign in").await;
    browser.press_enter().await;
    focus_on_invalid_field(&browser, "input", "Email", "Enter your email address").await;
    browser.check_page().await;
    browser.type_text("ann@acme.test").await;
    tab_to(&browser, "Password").await;
    browser.type_text("not the password at all").await;
    browser.press_enter().await;
    focus_on_invalid_field(&browser, "input", "Password", WRONG_CREDENTIALS).await;
    assert_eq!(browser.field_value("Email").await, "ann@acme.test");
    browser.check_page().await;
    browser.type_text(PASSWORD).await;
    browser.press_enter().await;
    browser.wait_for_text("Hello, Ann").await;

    // A new ticket without a subject: the focus on the subject.
    tab_to(&browser, "Ask for help").await;
    browser.press_enter().await;
    browser.wait_for_path("/portal/acme/tickets/new").await;
    tab_to(&browser, "Send ticket").await;
    browser.press_enter().await;
    focus_on_invalid_field(&browser, "input", "Subject", "").await;
    browser.check_page().await;
    browser.type_text("Printer jams on every page").await;
    tab_to(&browser, "Send ticket").await;
    browser.press_enter().await;
    // Sent: the focus on the message that says so.
    wait_for_focus(&browser, "status", "Your ticket was sent.", false).await;
    browser.check_page().await;
    let ticket = browser.current_path().await;

    // An empty reply: the focus on the reply box, its error read with it.
    tab_to(&browser, "Send reply").await;
    browser.press_enter().await;
    focus_on_invalid_field(&browser, "textarea", "Your reply", "Write your reply").await;
    browser.check_page().await;
    browser.type_text("Only with tray 2.").await;
    tab_to(&browser, "Send reply").await;
    browser.press_enter().await;
    wait_for_focus(&browser, "status", "Your reply was sent.", false).await;
    browser.wait_for_text("Only with tray 2.").await;
    browser.check_page().await;

    // A staff reply arrives while Ann writes: shown and announced
    // politely, and her focus and her draft stay where they were.
    tab_to(&browser, "Your reply").await;
    browser.type_text("Half a sentence").await;
    let id = ticket.rsplit('/').next().expect("the ticket's id");
    staff
        .post(
            &format!("/v1/orgs/{client}/tickets/{id}/comments"),
            json!({"body": "Please open tray 2 and remove the paper.", "public": true}),
        )
        .await;
    browser
        .wait_for_text("Please open tray 2 and remove the paper.")
        .await;
    assert_eq!(
        announced(&browser, "live-status").await,
        "New reply from Boss."
    );
    let live = browser
        .script(
            "return document.getElementById('live-status').getAttribute('aria-live');",
            vec![],
        )
        .await;
    assert_eq!(live, json!("polite"));
    let now = focus(&browser).await;
    assert_eq!(
        (now.role.as_str(), now.name.as_str()),
        ("textarea", "Your reply"),
        "the focus stayed in the box"
    );
    assert_eq!(browser.field_value("Your reply").await, "Half a sentence");

    // Resolved by the staff, reopened by Ann: the focus on the message.
    staff
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{client}/tickets/{id}"),
            Some(json!({"status": "resolved"})),
            StatusCode::OK,
        )
        .await;
    browser.goto(&ticket).await;
    browser.wait_for_text("Not solved after all?").await;
    tab_to(&browser, "Reopen ticket").await;
    browser.press_enter().await;
    wait_for_focus(&browser, "status", "The ticket is open again.", false).await;
    browser.check_page().await;

    // Signed out: the sign-in page, the focus on the message.
    browser.goto(&ticket).await;
    browser.wait_for_text("Printer jams on every page").await;
    tab_to(&browser, "Sign out").await;
    browser.press_enter().await;
    browser.wait_for_path("/portal/acme/sign-in").await;
    wait_for_focus(&browser, "status", "You are signed out.", false).await;
    browser.check_page().await;
}

#[tokio::test]
async fn an_error_of_the_whole_form_takes_the_focus() {
    let server = Server::embedded().await;
    acme(&server).await;
    let globex = server
        .admin()
        .post("/v1/orgs", json!({"name": "Globex", "kind": "standalone"}))
        .await;
    let globex = crate::support::id(&globex);
    server
        .admin()
        .post(
            &format!("/v1/orgs/{globex}/members"),
            json!({"email": "gus@globex.test", "name": "Gus", "password": PASSWORD, "role": "employee"}),
        )
        .await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    // The right password of another client's account: no field is wrong,
    // so the alert that says what is takes the focus.
    browser.goto("/portal/acme/sign-in").await;
    browser.fill("Email", "gus@globex.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.press_enter().await;
    wait_for_focus(
        &browser,
        "alert",
        "This account is not part of Acme help desk.",
        false,
    )
    .await;
    browser.check_page().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_of_two_step_sign_in_keeps_the_focus_on_its_field() {
    let (server, clock) = crate::support::server_with_clock().await;
    acme(&server).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let setup = ann.post("/v1/me/mfa/enroll", json!({})).await;
    let secret = setup["secret"].as_str().expect("secret").to_owned();
    ann.ok(
        M::POST,
        "/v1/me/mfa/confirm",
        Some(json!({ "code": crate::mfa::code_at(&secret, clock.now()) })),
        StatusCode::OK,
    )
    .await;
    // The next step's code: a code is accepted once.
    clock.advance(chrono::Duration::seconds(30));
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/portal/acme/sign-in").await;
    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_text("Enter your code").await;
    wait_for_focus(&browser, "input", "Code from your authenticator app", false).await;
    browser.check_page().await;
    browser.press_enter().await;
    focus_on_invalid_field(
        &browser,
        "input",
        "Code from your authenticator app",
        "Enter the code your app shows.",
    )
    .await;
    browser.check_page().await;
    browser
        .type_text(&crate::mfa::code_at(&secret, clock.now()))
        .await;
    browser.press_enter().await;
    browser.wait_for_text("Hello, Ann").await;
}

#[tokio::test]
async fn searching_rating_and_signing_put_the_focus_on_the_outcome() {
    let p = portals().await;
    let vpn = article(&p.boss, &p.acme, "Reset your VPN password", "portal", true).await;
    let (_, campaign) = launch(&p, &p.acme, "2026-03-16T12:00:00Z").await;
    let Some(browser) = Chromium::open(&p.server).await else {
        return;
    };
    browser.goto("/portal/acme/sign-in").await;
    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_path("/portal/acme").await;

    // A search too short: the focus back in the search box.
    browser.goto("/portal/acme/kb").await;
    browser.click_field("Search the articles").await;
    browser.type_text("x").await;
    browser.press_enter().await;
    focus_on_invalid_field(&browser, "input", "Search the articles", "two letters").await;
    browser.check_page().await;

    // "Was this article helpful?": the focus on the thanks.
    browser.goto(&format!("/portal/acme/kb/{vpn}")).await;
    browser.wait_for_text("Was this article helpful?").await;
    tab_to(&browser, "Yes").await;
    browser.press_enter().await;
    wait_for_focus(&browser, "status", "Thanks for your feedback.", false).await;
    browser.check_page().await;

    // Signing with the keyboard: nothing filled in puts the focus on the
    // box; ticked but a wrong name, on the name (the box stays ticked);
    // then the receipt, the focus on its thanks.
    browser
        .goto(&format!("/portal/acme/policies/{campaign}"))
        .await;
    browser.wait_for_text("Waiting for your signature").await;
    tab_to(&browser, "Sign the policy").await;
    browser.press_enter().await;
    let agree = "I have read and understood this policy, and I will follow it.";
    focus_on_invalid_field(&browser, "input", agree, "Tick the box").await;
    browser.check_page().await;
    browser.type_text(" ").await;
    tab_to(&browser, "Your full name").await;
    browser.type_text("Somebody Else").await;
    browser.press_enter().await;
    focus_on_invalid_field(&browser, "input", "Your full name", "Ann Example").await;
    let ticked = browser
        .script("return document.getElementById('agree').checked;", vec![])
        .await;
    assert_eq!(ticked, json!(true), "the box stays ticked");
    browser.check_page().await;
    browser.fill("Your full name", "Ann Example").await;
    browser.press_enter().await;
    browser
        .wait_for_path(&format!("/portal/acme/policies/{campaign}/receipt"))
        .await;
    wait_for_focus(
        &browser,
        "status",
        "Thank you. Your acknowledgment is recorded.",
        false,
    )
    .await;
    browser.check_page().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_keeps_the_focus_in_its_box_and_announces_what_arrives() {
    let (server, clock) = crate::support::server_with_clock().await;
    let (boss, client) = acme(&server).await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/portal/acme/sign-in").await;
    browser.fill("Email", "ann@acme.test").await;
    browser.fill("Password", PASSWORD).await;
    browser.click("Sign in").await;
    browser.wait_for_path("/portal/acme").await;

    // Starting with nothing written: the focus on the question.
    browser.goto("/portal/acme/chat").await;
    tab_to(&browser, "Start the chat").await;
    browser.press_enter().await;
    focus_on_invalid_field(&browser, "textarea", "How can we help?", "").await;
    browser.check_page().await;
    browser.type_text("My screen flickers").await;
    tab_to(&browser, "Start the chat").await;
    browser.press_enter().await;
    // Started: the focus in the box, to write the next message.
    browser.wait_for_text("Waiting for the service desk").await;
    wait_for_focus(&browser, "textarea", "Your message", false).await;
    let live = "return document.getElementById('chat').dataset.live === 'true';";
    for _ in 0..600 {
        if browser.script(live, vec![]).await == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.check_page().await;

    // Enter on an empty box: the error, the focus still there.
    browser.press_enter().await;
    focus_on_invalid_field(
        &browser,
        "textarea",
        "Your message",
        "Write a message first",
    )
    .await;
    // Sent: the box empty again, the error gone, the focus still there.
    browser.type_text("Since this morning.").await;
    browser.press_enter().await;
    browser.wait_for_text("Since this morning.").await;
    assert_eq!(browser.field_value("Your message").await, "");
    wait_for_focus(&browser, "textarea", "Your message", false).await;

    // The staff's answer arrives while Ann types: announced, and neither
    // her focus nor her draft moves.
    browser.type_text("And").await;
    let chat = browser.current_path().await;
    let chat = chat.rsplit('/').next().expect("the chat's id").to_owned();
    boss.post(
        &format!("/v1/orgs/{client}/chats/{chat}/messages"),
        json!({"body": "Which screen?"}),
    )
    .await;
    browser.wait_for_text("Which screen?").await;
    assert!(
        announced(&browser, "chat-announcer")
            .await
            .contains("Boss: Which screen?")
    );
    let now = focus(&browser).await;
    assert_eq!(
        (now.role.as_str(), now.name.as_str()),
        ("textarea", "Your message")
    );
    assert_eq!(browser.field_value("Your message").await, "And");

    // Ending the chat: the focus on the message that says so.
    tab_to(&browser, "End the chat").await;
    browser.press_enter().await;
    wait_for_focus(&browser, "status", "You ended the chat.", false).await;
    browser.check_page().await;

    // Another chat, unanswered, left as a ticket: the ticket's page with
    // the focus on the message that says so.
    browser.goto("/portal/acme/chat").await;
    browser
        .fill("How can we help?", "The VPN drops every hour")
        .await;
    browser.click("Start the chat").await;
    browser.wait_for_text("Waiting for the service desk").await;
    clock.advance(chrono::Duration::minutes(3));
    let path = browser.current_path().await;
    browser.goto(&path).await;
    browser.wait_for_text("Nobody has answered yet").await;
    tab_to(&browser, "Leave it as a ticket").await;
    browser.press_enter().await;
    wait_for_focus(&browser, "status", "Your chat is now this ticket.", false).await;
    assert!(
        browser
            .current_path()
            .await
            .starts_with("/portal/acme/tickets/")
    );
    browser.check_page().await;
}
