//! The portal's ticket pages as an employee's browser meets them (without
//! JavaScript, plus the JSON the page's script polls): a new ticket with a
//! file, the list with its filters and pages, the ticket's page with the
//! public conversation (never an internal note), replying with a file,
//! reopening, downloads, another person's or org's ticket, and files the
//! server refuses, each named next to its field.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::browser::{Browser, Page, Part};
use crate::support::{self, Api, M, PASSWORD, Server, id, items};

/// Acme's portal with an SLA in Paris time around the clock, its employees
/// Ann and Bob, and Globex's portal with Gus; the MSP's admin (staff of
/// both) answers through the API.
struct Desk {
    staff: Api,
    acme: String,
    ann: Api,
}

async fn desk(server: &Server) -> Desk {
    let (staff, msp, acme) = support::msp_with_client(server).await;
    let globex = id(&staff
        .post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": "Globex"}),
        )
        .await);
    for (org, slug, name) in [
        (&acme, "acme", "Acme help desk"),
        (&globex, "globex", "Globex support"),
    ] {
        staff
            .ok(
                M::PATCH,
                &format!("/v1/orgs/{org}/portal"),
                Some(json!({"enabled": true, "slug": slug, "branding": {"display_name": name}})),
                StatusCode::OK,
            )
            .await;
    }
    for (org, email, name) in [
        (&acme, "ann@acme.test", "Ann Example"),
        (&acme, "bob@acme.test", "Bob Example"),
        (&globex, "gus@globex.test", "Gus Example"),
    ] {
        server
            .admin()
            .post(
                &format!("/v1/orgs/{org}/members"),
                json!({"email": email, "name": name, "password": PASSWORD, "role": "employee"}),
            )
            .await;
    }
    let day = json!([["00:00", "24:00"]]);
    staff
        .post(
            &format!("/v1/orgs/{acme}/sla-policies"),
            json!({
                "name": "Around the clock",
                "default": true,
                "calendar": {"timezone": "Europe/Paris", "weekly": {
                    "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}},
                "targets": {
                    "critical": {"first_response_minutes": 30, "resolution_minutes": 240},
                    "high": {"first_response_minutes": 60, "resolution_minutes": 480},
                    "medium": {"first_response_minutes": 240, "resolution_minutes": 960},
                    "low": {"first_response_minutes": 480, "resolution_minutes": 2400}}
            }),
        )
        .await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    Desk { staff, acme, ann }
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

fn token(page: &Page) -> String {
    page.input("csrf_token").expect("the form's CSRF token")
}

/// The ticket id of a redirect to a ticket's page.
fn ticket_of(location: &str) -> String {
    location
        .split("/tickets/")
        .nth(1)
        .and_then(|rest| rest.split(['?', '#', '/']).next())
        .expect("a ticket's page")
        .to_owned()
}

/// The first link on the page whose address contains `part`.
fn link_with(page: &Page, part: &str) -> Option<String> {
    page.html
        .split("href=\"")
        .skip(1)
        .map(|rest| {
            rest.split('"')
                .next()
                .unwrap_or_default()
                .replace("&#38;", "&")
                .replace("&amp;", "&")
        })
        .find(|href| href.contains(part))
}

#[tokio::test]
async fn an_employee_opens_a_ticket_with_a_file_and_finds_it_in_their_list() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;

    // Nothing yet: the empty state says what to do.
    let empty = ann.get("/portal/acme/tickets").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.shows("You have no open tickets"));
    assert!(empty.html.contains(r#"href="/portal/acme/tickets/new""#));
    let all = ann.get("/portal/acme/tickets?show=all").await;
    assert!(all.shows("You have not opened any tickets yet"));

    let form = ann.get("/portal/acme/tickets/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.shows("up to 10 files, 10 MiB each"));
    assert!(form.html.contains(r#"src="/assets/portal-tickets.js?v="#));
    let png = b"PNG-like pixels".to_vec();
    let sent = ann
        .post_multipart(
            "/portal/acme/tickets/new",
            &[
                Part::Text("csrf_token", &token(&form)),
                Part::Text("subject", "Printer <b>jams</b>"),
                Part::Text("description", "Since Monday.\nEvery page."),
                Part::Text("priority", "high"),
                Part::File(
                    "attachments",
                    "C:\\fakepath\\jam.png",
                    "image/png",
                    png.clone(),
                ),
                Part::File("attachments", "notes.txt", "text/plain", b"tray 2".to_vec()),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    assert!(
        sent.location().ends_with("?done=created"),
        "{}",
        sent.location()
    );
    let ticket = ticket_of(sent.location());
    let page = ann.get(sent.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("Your ticket was sent."));
    assert!(page.shows("Printer <b>jams</b>"), "escaped, as typed");
    assert!(!page.html.contains("<b>jams</b>"));
    assert!(page.shows("Since Monday.\nEvery page."));
    assert!(page.shows("High priority") && page.shows("New"));
    assert!(page.shows("First response") && page.shows("Resolution"));
    assert!(
        page.html.contains(" CET<") || page.html.contains(" CEST<"),
        "times in the org's zone (Paris)"
    );
    assert!(page.shows("No replies yet."));

    // The file downloads as an attachment, to Ann.
    let href = link_with(&page, "/attachments/").expect("a file link");
    assert!(page.shows("jam.png") && page.shows("notes.txt"));
    let file = ann.get(&href).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.header("content-type"), "image/png");
    assert!(
        file.header("content-disposition")
            .starts_with("attachment; filename=\"jam.png\"")
    );
    assert_eq!(file.header("x-content-type-options"), "nosniff");
    assert_eq!(file.html.as_bytes(), png.as_slice());

    // The list shows it, with its words.
    let list = ann.get("/portal/acme/tickets").await;
    assert!(list.shows("Printer <b>jams</b>"));
    assert!(list.shows("#1"));
    assert!(list.shows("High priority"));
    assert!(
        list.shows("SLA: At risk"),
        "a 60-minute response is due within the hour"
    );
    assert!(list.shows("Next due"));
    assert!(
        list.html
            .contains(&format!("/portal/acme/tickets/{ticket}"))
    );
    // The same ticket over the API: Ann's, with its two files.
    let files = d
        .ann
        .get(&format!("/v1/orgs/{}/tickets/{ticket}/attachments", d.acme))
        .await;
    let names: Vec<&Value> = items(&files).iter().map(|f| &f["name"]).collect();
    assert_eq!(names, [&json!("jam.png"), &json!("notes.txt")]);
}

#[tokio::test]
async fn the_list_pages_newest_first_and_filters_open_and_closed() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let mut ids = Vec::new();
    for i in 1..=23 {
        ids.push(id(&d
            .ann
            .post(
                &format!("/v1/orgs/{}/tickets", d.acme),
                json!({"subject": format!("Request {i:02}"), "priority": "low"}),
            )
            .await));
    }
    // Bob's ticket is never in Ann's list.
    let bob = server.login("bob@acme.test", PASSWORD).await;
    bob.post(
        &format!("/v1/orgs/{}/tickets", d.acme),
        json!({"subject": "Bob's own", "priority": "low"}),
    )
    .await;
    d.staff
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/tickets/{}", d.acme, ids[0]),
            Some(json!({"status": "resolved"})),
            StatusCode::OK,
        )
        .await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let first = ann.get("/portal/acme/tickets").await;
    assert!(first.shows("Request 23") && first.shows("Request 04"));
    assert!(!first.shows("Request 03"), "20 a page");
    assert!(!first.shows("Bob's own"));
    assert!(
        first.html.find("Request 23") < first.html.find("Request 22"),
        "newest first"
    );
    let older = link_with(&first, "after=").expect("an Older tickets link");
    assert!(first.shows("Older tickets"));
    let second = ann.get(&older).await;
    assert!(second.shows("Request 03") && second.shows("Request 02"));
    assert!(!second.shows("Request 01"), "resolved: not an open ticket");
    assert!(!second.shows("Request 04"));
    assert!(!second.shows("Older tickets"), "the last page");
    let closed = ann.get("/portal/acme/tickets?show=closed").await;
    assert!(closed.shows("Request 01") && closed.shows("Resolved"));
    assert!(!closed.shows("Request 02"));
    assert!(
        closed
            .html
            .contains(r#"href="/portal/acme/tickets?show=closed" aria-current="page""#)
    );
    let all = ann.get("/portal/acme/tickets?show=all").await;
    assert!(all.shows("Request 23"));
    let rest = ann.get(&link_with(&all, "after=").expect("older")).await;
    assert!(rest.shows("Request 01"));
    // A cursor that is not one starts at the beginning rather than failing.
    let odd = ann.get("/portal/acme/tickets?after=zz").await;
    assert_eq!(odd.status, StatusCode::OK);
    assert!(odd.shows("Request 23"));
}

#[tokio::test]
async fn the_ticket_page_shows_public_replies_never_internal_notes_and_takes_a_reply() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ticket = id(&d
        .ann
        .post(
            &format!("/v1/orgs/{}/tickets", d.acme),
            json!({"subject": "VPN drops", "priority": "medium"}),
        )
        .await);
    let comments = format!("/v1/orgs/{}/tickets/{ticket}/comments", d.acme);
    let reply = d
        .staff
        .post(
            &comments,
            json!({"body": "Please restart the router.", "public": true}),
        )
        .await;
    let note = d
        .staff
        .post(
            &comments,
            json!({"body": "Vendor password is hunter2", "public": false}),
        )
        .await;
    // Files: one on the reply, one on the note.
    let files = format!("/v1/orgs/{}/tickets/{ticket}/attachments", d.acme);
    let public_file = d
        .staff
        .raw(
            M::POST,
            &format!("{files}?name=howto.pdf&comment={}", id(&reply)),
            "application/pdf",
            b"%PDF how to".to_vec(),
        )
        .await;
    assert_eq!(
        public_file.status,
        StatusCode::CREATED,
        "{}",
        public_file.text
    );
    let secret_file = d
        .staff
        .raw(
            M::POST,
            &format!("{files}?name=vendor.txt&comment={}", id(&note)),
            "text/plain",
            b"hunter2".to_vec(),
        )
        .await;
    assert_eq!(
        secret_file.status,
        StatusCode::CREATED,
        "{}",
        secret_file.text
    );
    assert_eq!(secret_file.body["public"], false);
    // Over the API too, Ann sees only the public file.
    let listed = d.ann.get(&files).await;
    assert_eq!(items(&listed).len(), 1);
    assert_eq!(items(&listed)[0]["name"], "howto.pdf");

    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let page = ann.get(&format!("/portal/acme/tickets/{ticket}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("Please restart the router."));
    assert!(page.shows("Boss") && page.shows("Service desk"));
    assert!(page.shows("howto.pdf"));
    assert!(
        !page.html.contains("hunter2"),
        "an internal note never shows"
    );
    assert!(!page.html.contains("vendor.txt"));
    assert!(page.html.contains(r#"aria-live="polite""#));
    // Nor can its file be fetched by address.
    let secret = format!(
        "/portal/acme/tickets/{ticket}/attachments/{}",
        id(&secret_file.body)
    );
    let refused = ann.get(&secret).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(!refused.html.contains("hunter2"));

    // The script's poll: the public reply's HTML, never the note.
    let updates = ann
        .get(&format!("/portal/acme/tickets/{ticket}/updates"))
        .await;
    assert_eq!(updates.status, StatusCode::OK);
    assert!(
        updates
            .header("content-type")
            .starts_with("application/json")
    );
    let json: Value = serde_json::from_str(&updates.html).expect("JSON");
    assert_eq!(json["entries"].as_array().map(Vec::len), Some(1));
    assert!(
        json["entries"][0]["html"]
            .as_str()
            .unwrap_or("")
            .contains("Please restart")
    );
    assert!(!updates.html.contains("hunter2"));
    let none_newer = ann
        .get(&format!(
            "/portal/acme/tickets/{ticket}/updates?after={}",
            id(&reply)
        ))
        .await;
    let json: Value = serde_json::from_str(&none_newer.html).expect("JSON");
    assert_eq!(
        json["entries"],
        json!([]),
        "the note after the reply is skipped"
    );

    // Ann replies with a file.
    let sent = ann
        .post_multipart(
            &format!("/portal/acme/tickets/{ticket}/reply"),
            &[
                Part::Text("csrf_token", &token(&page)),
                Part::Text("body", "Restarted, still drops."),
                Part::File(
                    "attachments",
                    "trace.txt",
                    "text/plain",
                    b"ping timeout".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    // Back to the ticket at its notice, which takes the focus.
    assert!(
        sent.location().ends_with("?done=replied"),
        "{}",
        sent.location()
    );
    let after = ann.get(sent.location()).await;
    assert!(after.shows("Your reply was sent."));
    assert!(after.shows("Restarted, still drops.") && after.shows("trace.txt"));
    assert!(after.shows("You"));
    let staff_view = d.staff.get(&format!("{comments}?limit=50")).await;
    assert!(
        items(&staff_view)
            .iter()
            .any(|c| c["body"] == "Restarted, still drops." && c["public"] == true)
    );
    // An empty reply: the error by the field, nothing sent.
    let empty = ann
        .post_multipart(
            &format!("/portal/acme/tickets/{ticket}/reply"),
            &[
                Part::Text("csrf_token", &token(&after)),
                Part::Text("body", "   "),
                Part::File("attachments", "", "application/octet-stream", Vec::new()),
            ],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        empty.field_error("body").as_deref(),
        Some("Write your reply before sending it.")
    );
    assert!(empty.html.contains(r#"aria-describedby="body-error""#));
    // A form without the session's token writes nothing.
    let forged = ann
        .post_multipart(
            &format!("/portal/acme/tickets/{ticket}/reply"),
            &[Part::Text("body", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let count = items(&d.staff.get(&format!("{comments}?limit=50")).await).len();
    assert_eq!(count, 3, "the reply, the note and Ann's reply");
}

#[tokio::test]
async fn a_requester_reopens_a_resolved_ticket_and_not_a_closed_one() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ticket = id(&d
        .ann
        .post(
            &format!("/v1/orgs/{}/tickets", d.acme),
            json!({"subject": "Scanner", "priority": "low"}),
        )
        .await);
    let path = format!("/v1/orgs/{}/tickets/{ticket}", d.acme);
    d.staff
        .ok(
            M::PATCH,
            &path,
            Some(json!({"status": "resolved"})),
            StatusCode::OK,
        )
        .await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let page = ann.get(&format!("/portal/acme/tickets/{ticket}")).await;
    assert!(page.shows("Resolved") && page.shows("Reopen ticket"));
    assert!(
        !page.shows("Send reply"),
        "no reply form on a resolved ticket"
    );
    let reopened = ann
        .post(
            &format!("/portal/acme/tickets/{ticket}/reopen"),
            &[("csrf_token", &token(&page))],
        )
        .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER, "{}", reopened.html);
    let page = ann.get(reopened.location()).await;
    assert!(page.shows("The ticket is open again."));
    assert!(page.shows("Reopened") && page.shows("Send reply"));
    assert_eq!(d.staff.get(&path).await["status"], "reopened");
    // Audited as the requester's reopening.
    let audit = d
        .staff
        .get(&format!("/v1/orgs/{}/audit?limit=500", d.acme))
        .await;
    assert!(
        items(&audit)
            .iter()
            .any(|e| e["action"] == "ticket.reopened"),
        "{audit}"
    );
    // Closed: the page says to open a new ticket, and reopening is refused.
    d.staff
        .ok(
            M::PATCH,
            &path,
            Some(json!({"status": "closed"})),
            StatusCode::OK,
        )
        .await;
    let closed = ann.get(&format!("/portal/acme/tickets/{ticket}")).await;
    assert!(closed.shows("This ticket is closed."));
    assert!(!closed.shows("Reopen ticket"));
    let refused = ann
        .post(
            &format!("/portal/acme/tickets/{ticket}/reopen"),
            &[("csrf_token", &token(&closed))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.shows("The ticket could not be reopened: this ticket is closed"));
    assert_eq!(d.staff.get(&path).await["status"], "closed");
    // The API's reopen follows the same rule.
    let api = d.ann.call(M::POST, &format!("{path}/reopen"), None).await;
    assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn another_persons_or_another_orgs_ticket_is_a_404() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ticket = id(&d
        .ann
        .post(
            &format!("/v1/orgs/{}/tickets", d.acme),
            json!({"subject": "Ann's secret", "priority": "low"}),
        )
        .await);
    let file = id(&d
        .ann
        .raw(
            M::POST,
            &format!(
                "/v1/orgs/{}/tickets/{ticket}/attachments?name=a.txt",
                d.acme
            ),
            "text/plain",
            b"private".to_vec(),
        )
        .await
        .body);
    let paths = [
        format!("tickets/{ticket}"),
        format!("tickets/{ticket}/attachments/{file}"),
        format!("tickets/{}", uuid::Uuid::now_v7()),
        "tickets/not-an-id".to_owned(),
    ];
    // Bob, of the same org.
    let bob = signed_in(&server, "acme", "bob@acme.test").await;
    for path in &paths {
        let page = bob.get(&format!("/portal/acme/{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.html.contains("Ann's secret") && !page.html.contains("private"));
    }
    let updates = bob
        .get(&format!("/portal/acme/tickets/{ticket}/updates"))
        .await;
    assert_eq!(updates.status, StatusCode::NOT_FOUND);
    let page = bob.get("/portal/acme/tickets/new").await;
    let reopen = bob
        .post(
            &format!("/portal/acme/tickets/{ticket}/reopen"),
            &[("csrf_token", &token(&page))],
        )
        .await;
    assert_eq!(reopen.status, StatusCode::NOT_FOUND);
    // Gus, of another client, on his own portal with Ann's ids.
    let gus = signed_in(&server, "globex", "gus@globex.test").await;
    for path in &paths {
        let page = gus.get(&format!("/portal/globex/{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.html.contains("Ann's secret"));
    }
    // And on Acme's portal he is told it is not his.
    let wrong = gus.get(&format!("/portal/acme/tickets/{ticket}")).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(!wrong.html.contains("Ann's secret"));
    // Signed out: the sign-in page, coming back here.
    let anonymous = Browser::new(&server.base);
    let to_sign_in = anonymous
        .get(&format!("/portal/acme/tickets/{ticket}"))
        .await;
    assert_eq!(to_sign_in.status, StatusCode::SEE_OTHER);
    assert!(
        to_sign_in
            .location()
            .starts_with("/portal/acme/sign-in?next=%2Fportal%2Facme%2Ftickets%2F")
    );
}

#[tokio::test]
async fn files_the_server_refuses_are_named_next_to_the_field() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let form = ann.get("/portal/acme/tickets/new").await;
    let limit = usize::try_from(regentra_core::psa::attachments::ATTACHMENT_LIMIT).expect("fits");
    let big = ann
        .post_multipart(
            "/portal/acme/tickets/new",
            &[
                Part::Text("csrf_token", &token(&form)),
                Part::Text("subject", "Big scan"),
                Part::Text("description", ""),
                Part::Text("priority", "low"),
                Part::File(
                    "attachments",
                    "scan.pdf",
                    "application/pdf",
                    vec![b'x'; limit + 1],
                ),
                Part::File(
                    "attachments",
                    "after.txt",
                    "text/plain",
                    b"also sent".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(big.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", big.html);
    let error = big
        .field_error("attachments")
        .expect("an error by the field");
    assert!(
        error.contains("scan.pdf is larger than the limit of 10 MiB"),
        "{error}"
    );
    assert!(big.html.contains(r#"aria-invalid="true""#));
    assert_eq!(
        big.input("subject").as_deref(),
        Some("Big scan"),
        "what was typed stays"
    );
    let program = ann
        .post_multipart(
            "/portal/acme/tickets/new",
            &[
                Part::Text("csrf_token", &token(&form)),
                Part::Text("subject", "Tool"),
                Part::Text("priority", "low"),
                Part::File(
                    "attachments",
                    "fix.exe",
                    "application/octet-stream",
                    b"MZ".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(program.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        program
            .field_error("attachments")
            .is_some_and(|e| e.contains("fix.exe is a program or script")),
        "{:?}",
        program.field_error("attachments")
    );
    // A missing subject is named too.
    let nameless = ann
        .post_multipart(
            "/portal/acme/tickets/new",
            &[
                Part::Text("csrf_token", &token(&form)),
                Part::Text("subject", " "),
                Part::Text("priority", "low"),
            ],
        )
        .await;
    assert_eq!(nameless.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        nameless.field_error("subject").as_deref(),
        Some("Subject must not be empty.")
    );
    // Nothing was created.
    let mine = d.ann.get(&format!("/v1/orgs/{}/tickets", d.acme)).await;
    assert!(items(&mine).is_empty(), "{mine}");
}

#[tokio::test]
async fn junk_fields_are_read_past_and_an_over_long_text_is_refused_not_cut() {
    let server = Server::embedded().await;
    desk(&server).await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let form = ann.get("/portal/acme/tickets/new").await;
    let junk = "j".repeat(60 * 1024);
    let long = "x".repeat(65 * 1024);
    let csrf = token(&form);
    let mut parts = vec![Part::Text("csrf_token", &csrf)];
    for _ in 0..20 {
        parts.push(Part::Text("junk", &junk));
    }
    parts.push(Part::Text("subject", "Too much"));
    parts.push(Part::Text("description", &long));
    let refused = ann.post_multipart("/portal/acme/tickets/new", &parts).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(refused.shows("Your message is too long"));
    let list = ann.get("/portal/acme/tickets?show=all").await;
    assert!(!list.shows("Too much"), "nothing was opened");
}

#[tokio::test]
async fn a_viewer_who_sends_a_file_is_told_their_role_does_not_allow_it() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", d.acme),
            json!({"email": "vic@acme.test", "name": "Vic Viewer", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let vic = signed_in(&server, "acme", "vic@acme.test").await;
    let form = vic.get("/portal/acme/tickets/new").await;
    let csrf = token(&form);
    let refused = vic
        .post_multipart(
            "/portal/acme/tickets/new",
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("subject", "Can I?"),
                Part::File("attachments", "a.txt", "text/plain", b"hello".to_vec()),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(refused.shows("Your role in this organization does not allow it."));
}

/// Posts a portal form with `text` fields and `files` (text files).
async fn send_with_files(
    browser: &Browser,
    path: &str,
    token: &str,
    text: &[(&str, &str)],
    files: &[(String, Vec<u8>)],
) -> Page {
    let mut parts = vec![Part::Text("csrf_token", token)];
    parts.extend(text.iter().map(|(name, value)| Part::Text(name, value)));
    parts.extend(
        files
            .iter()
            .map(|(name, bytes)| Part::File("attachments", name, "text/plain", bytes.clone())),
    );
    browser.post_multipart(path, &parts).await
}

#[tokio::test]
async fn a_ticket_full_of_files_refuses_more_by_the_field_and_over_the_api() {
    use regentra_core::psa::attachments::{MAX_ATTACHMENTS, MAX_TICKET_ATTACHMENTS};
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = signed_in(&server, "acme", "ann@acme.test").await;
    let files = |from: usize| -> Vec<(String, Vec<u8>)> {
        (from..from + MAX_ATTACHMENTS)
            .map(|i| (format!("log-{i}.txt"), format!("line {i}").into_bytes()))
            .collect()
    };

    // A ticket with a message's worth of files, and replies with as many
    // until it holds all it may.
    let form = ann.get("/portal/acme/tickets/new").await;
    let sent = send_with_files(
        &ann,
        "/portal/acme/tickets/new",
        &token(&form),
        &[("subject", "Logs"), ("priority", "low")],
        &files(0),
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    let ticket = ticket_of(sent.location());
    let path = format!("/portal/acme/tickets/{ticket}");
    for round in 1..MAX_TICKET_ATTACHMENTS / MAX_ATTACHMENTS {
        let page = ann.get(&path).await;
        let sent = send_with_files(
            &ann,
            &format!("{path}/reply"),
            &token(&page),
            &[("body", "More logs")],
            &files(round * MAX_ATTACHMENTS),
        )
        .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    }
    let attachments = format!("/v1/orgs/{}/tickets/{ticket}/attachments?limit=100", d.acme);
    assert_eq!(
        items(&d.ann.get(&attachments).await).len(),
        MAX_TICKET_ATTACHMENTS
    );

    // One more from the portal: the reason next to the field, the text
    // kept, nothing sent.
    let page = ann.get(&path).await;
    let refused = send_with_files(
        &ann,
        &format!("{path}/reply"),
        &token(&page),
        &[("body", "And one more")],
        &[("last.txt".to_owned(), b"last".to_vec())],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert_eq!(
        refused.field_error("attachments").as_deref(),
        Some("This ticket already has 50 files; at most 50. Nothing was sent.")
    );
    assert!(refused.html.contains(r#"aria-invalid="true""#));
    assert!(refused.shows("And one more"), "the reply's text stays");
    let comments = d
        .staff
        .get(&format!(
            "/v1/orgs/{}/tickets/{ticket}/comments?limit=50",
            d.acme
        ))
        .await;
    assert!(
        !items(&comments).iter().any(|c| c["body"] == "And one more"),
        "{comments}"
    );

    // And over the API, a problem naming the field.
    let api = d
        .ann
        .raw(
            M::POST,
            &format!(
                "/v1/orgs/{}/tickets/{ticket}/attachments?name=late.txt",
                d.acme
            ),
            "text/plain",
            b"late".to_vec(),
        )
        .await;
    assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", api.text);
    assert!(api.is_problem());
    assert_eq!(api.body["errors"][0]["field"], "attachments");
    assert_eq!(
        api.body["errors"][0]["message"],
        "this ticket already has 50 files; at most 50"
    );
    assert_eq!(
        items(&d.ann.get(&attachments).await).len(),
        MAX_TICKET_ATTACHMENTS
    );
}
