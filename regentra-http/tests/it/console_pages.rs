//! The staff console (`/app`) as a staff member's browser meets it without
//! JavaScript: who gets in, the client switcher and what each role's
//! navigation shows, the queue across clients and its filters, a ticket's
//! page and what staff do there (reply, note, status, assignee, time, a new
//! ticket for a client's person), the inbox; and the doors that must stay
//! shut (another MSP's client, a client the technician is not assigned to,
//! a form without its CSRF token).

use std::time::Duration;

use chrono::Duration as Minutes;
use regentra_http::server::worker::{self, WorkerConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::browser::{Browser, Part};
use crate::support::{self, Api, M, PASSWORD, Server, id, items};

/// An MSP with three clients: Acme and Globex, where the technician Tom
/// works (assigned to both), and Initech, where he does not; Acme's
/// employee Ann; Carol, a compliance officer assigned to Acme; and another
/// MSP with its own client. Acme and Globex run a round-the-clock SLA.
pub(crate) struct Desk {
    pub boss: Api,
    pub msp: String,
    pub acme: String,
    pub globex: String,
    pub initech: String,
    pub other_client: String,
}

pub(crate) async fn desk(server: &Server) -> Desk {
    let (boss, msp, acme) = support::msp_with_client(server).await;
    boss.ok(
        M::PATCH,
        &format!("/v1/orgs/{acme}"),
        Some(json!({"name": "Acme"})),
        StatusCode::OK,
    )
    .await;
    let client = |name: &'static str| {
        let boss = &boss;
        let msp = &msp;
        async move {
            id(&boss
                .post(&format!("/v1/orgs/{msp}/clients"), json!({"name": name}))
                .await)
        }
    };
    let globex = client("Globex").await;
    let initech = client("Initech").await;
    let admin = server.admin();
    for (org, email, name, role) in [
        (&msp, "tom@msp.test", "Tom Technician", "technician"),
        (
            &msp,
            "carol@msp.test",
            "Carol Compliance",
            "compliance_officer",
        ),
        (&acme, "ann@acme.test", "Ann Example", "employee"),
        (&initech, "ivy@initech.test", "Ivy Initech", "employee"),
    ] {
        admin
            .post(
                &format!("/v1/orgs/{org}/members"),
                json!({"email": email, "name": name, "password": PASSWORD, "role": role}),
            )
            .await;
    }
    let tom = server.login("tom@msp.test", PASSWORD).await;
    let carol = server.login("carol@msp.test", PASSWORD).await;
    for (client, user, role) in [
        (&acme, me(&tom).await, "technician"),
        (&globex, me(&tom).await, "technician"),
        (&acme, me(&carol).await, "compliance_officer"),
    ] {
        boss.post(
            &format!("/v1/orgs/{msp}/clients/{client}/staff"),
            json!({"user_id": user, "role": role}),
        )
        .await;
    }
    let day = json!([["00:00", "24:00"]]);
    for org in [&acme, &globex] {
        boss.post(
            &format!("/v1/orgs/{org}/sla-policies"),
            json!({
                "name": "Around the clock",
                "default": true,
                "calendar": {"timezone": "UTC", "weekly": {
                    "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}},
                "targets": {
                    "critical": {"first_response_minutes": 30, "resolution_minutes": 240},
                    "high": {"first_response_minutes": 120, "resolution_minutes": 480},
                    "medium": {"first_response_minutes": 240, "resolution_minutes": 960},
                    "low": {"first_response_minutes": 480, "resolution_minutes": 2400}},
                "escalations": [
                    {"clock": "response", "trigger": {"kind": "percent", "percent": 50},
                     "action": {"kind": "notify_role", "role": "technician"}}]
            }),
        )
        .await;
    }
    let admin = server.admin();
    let other_msp = id(&admin
        .post("/v1/orgs", json!({"name": "Other MSP", "kind": "msp"}))
        .await);
    admin
        .post(
            &format!("/v1/orgs/{other_msp}/members"),
            json!({"email": "rival@other.test", "name": "Rival", "password": PASSWORD, "role": "msp_admin"}),
        )
        .await;
    let rival = server.login("rival@other.test", PASSWORD).await;
    let other_client = id(&rival
        .post(
            &format!("/v1/orgs/{other_msp}/clients"),
            json!({"name": "Other client"}),
        )
        .await);
    Desk {
        boss,
        msp,
        acme,
        globex,
        initech,
        other_client,
    }
}

pub(crate) async fn me(api: &Api) -> String {
    api.get("/v1/me").await["user_id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no user id in /v1/me"))
}

pub(crate) async fn signed_in(server: &Server, email: &str) -> Browser {
    let browser = Browser::new(&server.base);
    browser.get("/sign-in").await;
    browser.sign_in(email, PASSWORD).await;
    browser
}

/// A ticket opened by the MSP admin for Ann (in Acme) or for nobody in
/// particular (elsewhere): its id.
pub(crate) async fn ticket(boss: &Api, org: &str, subject: &str, priority: &str) -> String {
    id(&boss
        .post(
            &format!("/v1/orgs/{org}/tickets"),
            json!({"subject": subject, "description": "", "priority": priority}),
        )
        .await)
}

/// The link of each ticket row of a queue page, by subject.
fn listed(page: &crate::support::browser::Page, subject: &str) -> bool {
    page.shows(subject)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lets_in_staff_only_and_sends_the_rest_away() {
    let server = Server::embedded().await;
    let d = desk(&server).await;

    // Signed out: to the sign-in page, coming back.
    let anonymous = Browser::new(&server.base);
    let page = anonymous.get("/app").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        page.location().starts_with("/sign-in?next=%2Fapp"),
        "{}",
        page.location()
    );

    // A client's employee: not staff.
    let ann = signed_in(&server, "ann@acme.test").await;
    let page = ann.get("/app").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/account");
    let page = ann.get("/app/inbox").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.shows("This console is for staff"), "{}", page.html);

    // The technician starts in the all-clients view.
    let tom = signed_in(&server, "tom@msp.test").await;
    let page = tom.get("/app").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/app/all/dashboard");
    let dashboard = tom.get("/app/all/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.html);
    // His two clients, never Initech; the technician sees ticket figures.
    assert!(dashboard.shows("Acme") && dashboard.shows("Globex"));
    assert!(!dashboard.shows("Initech"));
    assert!(dashboard.shows("Open tickets"));
    let page = tom.get("/app/all/tickets").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    // The switcher: his clients and his MSP, never the client he is not
    // assigned to or another MSP's.
    for shown in ["All clients", "Acme", "Globex", "MSP"] {
        assert!(page.shows(shown), "{shown} missing");
    }
    assert!(!page.shows("Initech"));
    assert!(!page.shows("Other client"));
    // Switching keeps the section: Acme's queue.
    assert!(
        page.html
            .contains(&format!("href=\"/app/{}/tickets\"", d.acme))
    );
    // Doors that stay shut: 404, the same as an org that does not exist.
    for org in [
        &d.initech,
        &d.other_client,
        &"0190a0a0-0000-7000-8000-000000000000".to_owned(),
    ] {
        let page = tom.get(&format!("/app/{org}/tickets")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{org}");
        assert!(page.shows("Page not found"));
    }
    // The compliance officer sees no service desk in Acme, and its URL is
    // a 404 for her.
    let carol = signed_in(&server, "carol@msp.test").await;
    let page = carol.get(&format!("/app/{}/tickets", d.acme)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.html.contains(">Service desk<"), "{}", page.html);
    let _ = (&d.boss, &d.msp, &d.globex);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_queue_across_clients_filters_by_assignee_and_sla_state() {
    let (server, clock) = support::server_with_clock().await;
    let d = desk(&server).await;
    let tom_api = server.login("tom@msp.test", PASSWORD).await;
    let tom_id = me(&tom_api).await;
    let breached = ticket(&d.boss, &d.globex, "Line 3 stopped", "critical").await;
    let at_risk = ticket(&d.boss, &d.acme, "Printer offline", "high").await;
    let calm = ticket(&d.boss, &d.acme, "New laptop", "low").await;
    let elsewhere = ticket(&d.boss, &d.initech, "Initech secret", "critical").await;
    for (org, t) in [(&d.globex, &breached), (&d.acme, &at_risk)] {
        d.boss
            .ok(
                M::PATCH,
                &format!("/v1/orgs/{org}/tickets/{t}"),
                Some(json!({"assignee": tom_id})),
                StatusCode::OK,
            )
            .await;
    }
    // 70 minutes on: the critical one's 30-minute response is past, the
    // high one's 120-minute response is within the hour.
    clock.advance(Minutes::minutes(70));

    let tom = signed_in(&server, "tom@msp.test").await;
    let all = tom.get("/app/all/tickets").await;
    assert_eq!(all.status, StatusCode::OK);
    for subject in ["Line 3 stopped", "Printer offline", "New laptop"] {
        assert!(listed(&all, subject), "{subject} not in the queue");
    }
    assert!(!all.shows("Initech secret"));
    // The default order is the next due time: the breached one first.
    let first = all.html.find("Line 3 stopped").expect("listed");
    let second = all.html.find("Printer offline").expect("listed");
    let third = all.html.find("New laptop").expect("listed");
    assert!(first < second && second < third, "not in due order");

    let mine_at_risk = tom.get("/app/all/tickets?assignee=me&sla=at_risk").await;
    assert!(mine_at_risk.shows("Printer offline"));
    assert!(!mine_at_risk.shows("Line 3 stopped"));
    assert!(!mine_at_risk.shows("New laptop"));
    let breached_page = tom.get("/app/all/tickets?sla=breached").await;
    assert!(breached_page.shows("Line 3 stopped"));
    assert!(breached_page.shows("Breached"));
    assert!(!breached_page.shows("Printer offline"));
    let unassigned = tom.get("/app/all/tickets?assignee=unassigned").await;
    assert!(unassigned.shows("New laptop"));
    assert!(!unassigned.shows("Printer offline"));
    // Choosing a client in the all-clients view switches to it, filters kept.
    let page = tom
        .get(&format!("/app/all/tickets?client={}&assignee=me", d.acme))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        format!("/app/{}/tickets?assignee=me", d.acme)
    );
    let acme_only = tom.get(page.location()).await;
    assert!(acme_only.shows("Printer offline"));
    assert!(!acme_only.shows("Line 3 stopped"));
    // Another org's ticket under an org he reaches is a 404, not a leak.
    let page = tom
        .get(&format!("/app/{}/tickets/{elsewhere}", d.acme))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = tom
        .get(&format!("/app/{}/tickets/{elsewhere}", d.initech))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let _ = calm;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_answer_a_ticket_the_client_sees_the_reply_and_never_the_note() {
    let (server, clock) = support::server_with_clock().await;
    let d = desk(&server).await;
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/portal", d.acme),
            Some(json!({"enabled": true, "slug": "acme"})),
            StatusCode::OK,
        )
        .await;
    let ann_api = server.login("ann@acme.test", PASSWORD).await;
    let t = id(&ann_api
        .post(
            &format!("/v1/orgs/{}/tickets", d.acme),
            json!({"subject": "Cannot print", "description": "Tray 2 jams.", "priority": "medium"}),
        )
        .await);
    d.boss
        .post(
            &format!("/v1/orgs/{}/assets", d.acme),
            json!({"name": "Front desk printer", "kind": "printer"}),
        )
        .await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let base = format!("/app/{}/tickets/{t}", d.acme);
    let page = tom.get(&base).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Cannot print") && page.shows("Tray 2 jams."));
    assert!(page.shows("Ann Example"), "the requester is named");
    let csrf = page.input("csrf_token").expect("a CSRF field");

    // A reply and a note.
    let sent = tom
        .post_multipart(
            &format!("{base}/reply"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("body", "Please try tray 1 meanwhile."),
                Part::Text("visibility", "public"),
                Part::File("attachments", "", "application/octet-stream", Vec::new()),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    assert_eq!(sent.location(), format!("{base}?done=reply"));
    let noted = tom
        .post_multipart(
            &format!("{base}/reply"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("body", "Fuser is worn; order part 4711."),
                Part::Text("visibility", "internal"),
                Part::File("attachments", "", "application/octet-stream", Vec::new()),
            ],
        )
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER);
    let page = tom.get(&format!("{base}?done=note")).await;
    assert!(page.shows("Your internal note was added."));
    assert!(page.shows("Internal note") && page.shows("order part 4711"));
    assert!(page.shows("Please try tray 1 meanwhile."));
    // The client's portal shows the reply and not the note.
    let conversation = ann_api
        .get(&format!("/v1/orgs/{}/tickets/{t}/comments", d.acme))
        .await;
    let bodies: Vec<&str> = items(&conversation)
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert!(
        bodies.contains(&"Please try tray 1 meanwhile."),
        "{bodies:?}"
    );
    assert!(!bodies.iter().any(|b| b.contains("4711")), "{bodies:?}");

    // An empty reply: the error next to the message, nothing written.
    let empty = tom
        .post_multipart(
            &format!("{base}/reply"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("body", "  "),
                Part::Text("visibility", "public"),
                Part::File("attachments", "", "application/octet-stream", Vec::new()),
            ],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.html
    );
    assert!(empty.field_error("body").is_some(), "{}", empty.html);

    // Status, priority, assignee.
    for (path, field, value, done) in [
        ("status", "status", "pending", "status"),
        ("priority", "priority", "high", "priority"),
        ("assignee", "assignee", "me", "assignee"),
    ] {
        let page = tom
            .post(
                &format!("{base}/{path}"),
                &[("csrf_token", &csrf), (field, value)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}: {}", page.html);
        assert_eq!(page.location(), format!("{base}?done={done}"));
    }
    let page = tom.get(&base).await;
    assert!(page.shows("Waiting on client") && page.shows("High"));
    assert!(page.shows("assigned to You"), "{}", page.html);
    // An employee cannot be given a ticket: said next to the field.
    let ann_id = me(&ann_api).await;
    let refused = tom
        .post(
            &format!("{base}/assignee"),
            &[("csrf_token", &csrf), ("assignee", &ann_id)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.field_error("assignee").is_some(),
        "{}",
        refused.html
    );

    // Time: a bad number is named; a good entry is listed.
    let bad = tom
        .post(
            &format!("{base}/time"),
            &[
                ("csrf_token", &csrf),
                ("minutes", "lots"),
                ("date", "2026-03-02"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.field_error("minutes").is_some());
    assert_eq!(bad.input("note").as_deref(), Some(""));
    let logged = tom
        .post(
            &format!("{base}/time"),
            &[
                ("csrf_token", &csrf),
                ("minutes", "95"),
                ("date", "2026-03-02"),
                ("note", "Cleaned the fuser"),
                ("billable", "yes"),
            ],
        )
        .await;
    assert_eq!(logged.status, StatusCode::SEE_OTHER, "{}", logged.html);
    let page = tom.get(&base).await;
    assert!(page.shows("1 h 35 min") && page.shows("Cleaned the fuser"));

    // Link the printer.
    let asset = page
        .html
        .split("<option value=\"")
        .find_map(|chunk| {
            chunk
                .contains("Front desk printer")
                .then(|| chunk.split('"').next().unwrap_or_default().to_owned())
        })
        .expect("the printer is offered");
    let linked = tom
        .post(
            &format!("{base}/assets"),
            &[("csrf_token", &csrf), ("asset", &asset)],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER);
    let page = tom.get(&base).await;
    assert!(page.html.contains("class=\"asset-list\""));

    // A form without the session's token changes nothing.
    let forged = tom
        .post(&format!("{base}/status"), &[("status", "closed")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let ticket = d
        .boss
        .get(&format!("/v1/orgs/{}/tickets/{t}", d.acme))
        .await;
    assert_eq!(ticket["status"], "pending");
    let _ = clock;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_open_a_ticket_for_a_clients_person() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let form = tom.get(&format!("/app/{}/tickets/new", d.acme)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.shows("Ann Example (ann@acme.test)"));
    // Initech's people are not offered in Acme.
    assert!(!form.shows("ivy@initech.test"));
    let csrf = form.input("csrf_token").expect("csrf");
    let missing = tom
        .post(
            &format!("/app/{}/tickets/new", d.acme),
            &[
                ("csrf_token", &csrf),
                ("requester", ""),
                ("subject", ""),
                ("description", ""),
                ("priority", "medium"),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.field_error("requester").is_some(),
        "{}",
        missing.html
    );
    let ann_api = server.login("ann@acme.test", PASSWORD).await;
    let ann_id = me(&ann_api).await;
    let made = tom
        .post(
            &format!("/app/{}/tickets/new", d.acme),
            &[
                ("csrf_token", &csrf),
                ("requester", &ann_id),
                ("subject", "Phone rings twice"),
                ("description", "Called in by Ann."),
                ("priority", "low"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.html);
    assert!(made.location().ends_with("?done=created"));
    // Ann sees it as hers.
    let hers = ann_api.get(&format!("/v1/orgs/{}/tickets", d.acme)).await;
    assert!(
        items(&hers)
            .iter()
            .any(|t| t["subject"] == "Phone rings twice"),
        "{hers}"
    );
    // Someone of another client cannot be named as requester.
    let ivy = server.login("ivy@initech.test", PASSWORD).await;
    let ivy_id = me(&ivy).await;
    let refused = tom
        .post(
            &format!("/app/{}/tickets/new", d.acme),
            &[
                ("csrf_token", &csrf),
                ("requester", &ivy_id),
                ("subject", "Sneaky"),
                ("description", ""),
                ("priority", "low"),
            ],
        )
        .await;
    assert_ne!(refused.status, StatusCode::SEE_OTHER, "{}", refused.html);
    let all = d.boss.get(&format!("/v1/orgs/{}/tickets", d.acme)).await;
    assert!(!all.to_string().contains("Sneaky"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_warning_reaches_the_technicians_inbox() {
    let (server, clock) = support::server_with_clock().await;
    let d = desk(&server).await;
    let tom_api = server.login("tom@msp.test", PASSWORD).await;
    let tom_id = me(&tom_api).await;
    let t = ticket(&d.boss, &d.globex, "Line 3 stopped", "critical").await;
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/tickets/{t}", d.globex),
            Some(json!({"assignee": tom_id})),
            StatusCode::OK,
        )
        .await;
    clock.advance(Minutes::minutes(20));
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
    let tom = signed_in(&server, "tom@msp.test").await;
    let page = tom.get("/app/all/tickets").await;
    assert!(
        page.html.contains("class=\"count-badge\">1<"),
        "the unread badge: {}",
        page.html
    );
    let inbox = tom.get("/app/inbox").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(
        inbox.shows("SLA at risk") && inbox.shows("#1 Line 3 stopped"),
        "{}",
        inbox.html
    );
    assert!(inbox.shows("Globex"));
    assert!(
        inbox
            .html
            .contains(&format!("href=\"/app/{}/tickets/{t}\"", d.globex))
    );
    let csrf = inbox.input("csrf_token").expect("csrf");
    let done = tom
        .post("/app/inbox/read-all", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let inbox = tom.get("/app/inbox?done=all").await;
    assert!(!inbox.html.contains("count-badge"), "{}", inbox.html);
    assert!(inbox.shows("Every notification is marked read."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_changes_the_password_mfa_tokens_and_emails() {
    let (server, clock) = support::server_with_clock().await;
    desk(&server).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let page = tom.get("/app/profile").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Tom Technician") && page.shows("technician"));
    let csrf = page.input("csrf_token").expect("csrf");

    // Password: each mistake named at its field; then changed.
    let differ = tom
        .post(
            "/app/profile/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", PASSWORD),
                ("password", "a new long passphrase here"),
                ("confirm", "something else"),
            ],
        )
        .await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(differ.field_error("confirm").is_some(), "{}", differ.html);
    let wrong = tom
        .post(
            "/app/profile/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", "not it at all"),
                ("password", "maple otter lantern quarry"),
                ("confirm", "maple otter lantern quarry"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.field_error("current_password").is_some(),
        "{}",
        wrong.html
    );
    let changed = tom
        .post(
            "/app/profile/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", PASSWORD),
                ("password", "maple otter lantern quarry"),
                ("confirm", "maple otter lantern quarry"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.html);
    // This session stays; the new password signs in.
    assert_eq!(
        tom.get("/app/profile?done=password").await.status,
        StatusCode::OK
    );
    server
        .login("tom@msp.test", "maple otter lantern quarry")
        .await;

    // An API token: the secret shown once, and it works until revoked.
    let made = tom
        .post(
            "/app/profile/tokens",
            &[
                ("csrf_token", &csrf),
                ("name", "backup script"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.html);
    let secret = made
        .html
        .split("<code>")
        .find_map(|c| {
            c.strip_prefix("rgt_")
                .map(|rest| format!("rgt_{}", &rest[..rest.find('<').unwrap_or(0)]))
        })
        .expect("the secret is shown");
    let api = server.with_token(&secret);
    assert_eq!(
        api.call(M::GET, "/v1/me", None).await.status,
        StatusCode::OK
    );
    let listed = tom.get("/app/profile").await;
    assert!(listed.shows("backup script"));
    assert!(
        !listed.html.contains(&secret),
        "the secret is never shown again"
    );
    let token_id = listed.input("token").expect("a revoke form");
    let revoked = tom
        .post(
            "/app/profile/tokens/revoke",
            &[("csrf_token", &csrf), ("token", &token_id)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        api.call(M::GET, "/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let bad = tom
        .post(
            "/app/profile/tokens",
            &[
                ("csrf_token", &csrf),
                ("name", "x"),
                ("expires_in_days", "forever"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.field_error("expires_in_days").is_some(), "{}", bad.html);

    // Emails: untick SLA warnings.
    let saved = tom
        .post(
            "/app/profile/emails",
            &[
                ("csrf_token", &csrf),
                ("on", "sla_breach"),
                ("on", "chat_waiting"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let prefs = server
        .login("tom@msp.test", "maple otter lantern quarry")
        .await
        .get("/v1/me/email-preferences")
        .await;
    let off = prefs["off"].to_string();
    assert!(
        off.contains("sla_warning") && !off.contains("sla_breach"),
        "{off}"
    );

    // Two-step sign-in: set up with the app's code, recovery codes shown.
    let started = tom
        .post("/app/profile/mfa/enroll", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.html);
    assert!(started.html.contains("<svg"), "a QR code");
    let key = started
        .html
        .split("Key: <code>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the key as text")
        .to_owned();
    let wrong_code = tom
        .post(
            "/app/profile/mfa/confirm",
            &[("csrf_token", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_code.field_error("code").is_some(),
        "{}",
        wrong_code.html
    );
    let code = crate::mfa::code_at(&key, server.regentra.now());
    let on = tom
        .post(
            "/app/profile/mfa/confirm",
            &[("csrf_token", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.html);
    assert!(on.shows("Your recovery codes."));
    assert!(tom.get("/app/profile").await.shows("recovery codes left"));
    let _ = clock;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_answers_a_chat_from_the_inbox_and_turns_it_into_a_ticket() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let chat = id(&ann
        .post(
            &format!("/v1/orgs/{}/chats", d.acme),
            json!({"message": "My screen is black."}),
        )
        .await);
    let tom = signed_in(&server, "tom@msp.test").await;
    // The inbox says a client waits, and links the chat.
    let inbox = tom.get("/app/inbox").await;
    assert!(
        inbox.shows("A client is waiting in a chat"),
        "{}",
        inbox.html
    );
    let path = format!("/app/{}/chats/{chat}", d.acme);
    assert!(inbox.html.contains(&format!("href=\"{path}\"")));
    let page = tom.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Chat with Ann Example") && page.shows("My screen is black."));
    let csrf = page.input("csrf_token").expect("csrf");
    let empty = tom
        .post(
            &format!("{path}/messages"),
            &[("csrf_token", &csrf), ("body", " ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.field_error("chat-body").is_some(), "{}", empty.html);
    let sent = tom
        .post(
            &format!("{path}/messages"),
            &[("csrf_token", &csrf), ("body", "Is the power light on?")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let messages = ann
        .get(&format!("/v1/orgs/{}/chats/{chat}/messages", d.acme))
        .await;
    assert!(messages.to_string().contains("Is the power light on?"));
    // Not his chat to open elsewhere: another client's path is a 404.
    let elsewhere = tom.get(&format!("/app/{}/chats/{chat}", d.globex)).await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    // A compliance officer of Acme does not answer chats.
    let carol = signed_in(&server, "carol@msp.test").await;
    assert_eq!(carol.get(&path).await.status, StatusCode::NOT_FOUND);
    // Into a ticket: the page goes there.
    let made = tom
        .post(
            &format!("{path}/ticket"),
            &[
                ("csrf_token", &csrf),
                ("subject", "Black screen"),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.html);
    assert!(made.location().contains("/tickets/"), "{}", made.location());
    let ticket = tom.get(made.location()).await;
    assert!(
        ticket.shows("Black screen") && ticket.shows("My screen is black."),
        "{}",
        ticket.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_record_a_clients_assets() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    // On all clients: the clients to choose from, his two only.
    let choose = tom.get("/app/all/assets").await;
    assert_eq!(choose.status, StatusCode::OK);
    assert!(
        choose
            .html
            .contains(&format!("href=\"/app/{}/assets\"", d.acme))
    );
    assert!(!choose.html.contains(&d.initech));
    let page = tom.get(&format!("/app/{}/assets", d.acme)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("No assets recorded yet"));
    let csrf = page.input("csrf_token").expect("csrf");
    let path = format!("/app/{}/assets", d.acme);
    let missing = tom
        .post(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", ""),
                ("kind", "laptop"),
                ("serial", "SN-1"),
                ("status", "in_use"),
                ("assigned_user", ""),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.field_error("name").is_some(), "{}", missing.html);
    assert_eq!(
        missing.input("serial").as_deref(),
        Some("SN-1"),
        "what was typed stays"
    );
    let ann_id = me(&server.login("ann@acme.test", PASSWORD).await).await;
    let ivy_id = me(&server.login("ivy@initech.test", PASSWORD).await).await;
    // Someone of another client cannot be given Acme's laptop.
    let foreign = tom
        .post(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", "ThinkPad"),
                ("kind", "laptop"),
                ("serial", ""),
                ("status", "in_use"),
                ("assigned_user", &ivy_id),
            ],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        foreign.field_error("assigned_user").is_some(),
        "{}",
        foreign.html
    );
    let added = tom
        .post(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", "ThinkPad"),
                ("kind", "laptop"),
                ("serial", "PF-1"),
                ("status", "in_repair"),
                ("assigned_user", &ann_id),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let page = tom.get(&format!("{path}?done=added")).await;
    assert!(page.shows("The asset was recorded."));
    assert!(page.shows("ThinkPad") && page.shows("In repair") && page.shows("Ann Example"));
    // The compliance officer has no asset pages in Acme? She reads them.
    let _ = d.globex;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_that_requires_two_step_sign_in_sends_staff_to_set_it_up() {
    let (server, clock) = support::server_with_clock().await;
    let d = desk(&server).await;
    d.boss
        .ok(
            M::PUT,
            &format!("/v1/orgs/{}/security", d.acme),
            Some(json!({"session_hours": null, "mfa_required": true, "mfa_grace_days": 1})),
            StatusCode::OK,
        )
        .await;
    clock.advance(Minutes::days(2));
    let tom = signed_in(&server, "tom@msp.test").await;
    let page = tom.get(&format!("/app/{}/tickets", d.acme)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert!(page.shows("Set up two-step sign-in to continue"));
    assert!(page.html.contains("href=\"/app/profile\""));
    // Globex does not require it: his work there goes on.
    assert_eq!(
        tom.get(&format!("/app/{}/tickets", d.globex)).await.status,
        StatusCode::OK
    );
    // A wrong code keeps the setup waiting for the right one.
    let profile = tom.get("/app/profile").await;
    let csrf = profile.input("csrf_token").expect("csrf");
    tom.post("/app/profile/mfa/enroll", &[("csrf_token", &csrf)])
        .await;
    let wrong = tom
        .post(
            "/app/profile/mfa/confirm",
            &[("csrf_token", &csrf), ("code", "123456")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.field_error("code").is_some(), "{}", wrong.html);
    assert!(wrong.shows("Start again with a new key"), "{}", wrong.html);
    // Nonsense ids are pages, not bare errors.
    assert_eq!(
        tom.get("/app/inbox?before=nonsense").await.status,
        StatusCode::OK
    );
    let bad = tom
        .post("/app/inbox/nonsense/read", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    assert!(bad.shows("Page not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_write_knowledge_base_articles_with_a_safe_preview() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let path = format!("/app/{}/kb", d.acme);
    let empty = tom.get(&path).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.html);
    assert!(empty.shows("No articles yet"));
    let form = tom.get(&format!("{path}/new")).await;
    let csrf = form.input("csrf_token").expect("csrf");
    let body = "# Resetting your VPN\n\n**Restart** the client.\n\n<script>alert(1)</script>";
    let preview = tom
        .post(
            &format!("{path}/new"),
            &[
                ("csrf_token", &csrf),
                ("title", "VPN"),
                ("body", body),
                ("tags", "vpn, remote"),
                ("visibility", "portal"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(
        preview.html.contains("<h1>Resetting your VPN</h1>"),
        "{}",
        preview.html
    );
    assert!(preview.html.contains("<strong>Restart</strong>"));
    assert!(
        !preview.html.contains("<script>alert(1)</script>"),
        "raw HTML is text"
    );
    assert_eq!(
        preview.input("title").as_deref(),
        Some("VPN"),
        "the form is kept"
    );
    let missing = tom
        .post(
            &format!("{path}/new"),
            &[
                ("csrf_token", &csrf),
                ("title", ""),
                ("body", body),
                ("visibility", "portal"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.field_error("title").is_some(), "{}", missing.html);
    let saved = tom
        .post(
            &format!("{path}/new"),
            &[
                ("csrf_token", &csrf),
                ("title", "Resetting the VPN"),
                ("body", body),
                ("tags", "vpn"),
                ("visibility", "portal"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let article = tom.get(saved.location()).await;
    assert!(
        article.shows("Resetting the VPN")
            && article.shows("Draft")
            && article.shows("On the portal")
    );
    let list = tom.get(&format!("{path}?q=vpn")).await;
    assert!(list.shows("Resetting the VPN"));
    // Globex's knowledge base does not have it; the compliance officer has none.
    let globex = tom.get(&format!("/app/{}/kb", d.globex)).await;
    assert!(!globex.shows("Resetting the VPN"));
    let carol = signed_in(&server, "carol@msp.test").await;
    assert_eq!(carol.get(&path).await.status, StatusCode::NOT_FOUND);
    // Acme's article under Globex's path is not found.
    let id = saved
        .location()
        .split("/kb/")
        .nth(1)
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        tom.get(&format!("/app/{}/kb/{id}", d.globex)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_msp_admins_dashboard_shows_each_clients_figures() {
    let (server, clock) = support::server_with_clock().await;
    let d = desk(&server).await;
    ticket(&d.boss, &d.globex, "Line 3 stopped", "critical").await;
    ticket(&d.boss, &d.acme, "Printer offline", "low").await;
    ticket(&d.boss, &d.acme, "New laptop", "low").await;
    clock.advance(Minutes::minutes(45));
    let boss = signed_in(&server, "boss@msp.test").await;
    let start = boss.get("/app").await;
    assert_eq!(start.location(), "/app/all/dashboard");
    let page = boss.get("/app/all/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Dashboard: 3 clients"), "{}", page.html);
    for client in ["Acme", "Globex", "Initech"] {
        assert!(
            page.html
                .contains(&format!("<th scope=\"row\">{client}</th>")),
            "{client}"
        );
    }
    // Acme's open tickets link to its queue.
    assert!(
        page.html
            .contains(&format!("<a href=\"/app/{}/tickets\">2</a>", d.acme)),
        "{}",
        page.html
    );
    assert!(page.html.contains("SLA breaches per week"));
    // Sorting by open tickets puts Acme first.
    let sorted = boss.get("/app/all/dashboard?sort=open").await;
    let acme = sorted
        .html
        .find("<th scope=\"row\">Acme</th>")
        .expect("Acme");
    let globex = sorted
        .html
        .find("<th scope=\"row\">Globex</th>")
        .expect("Globex");
    assert!(acme < globex);
    // A client's org has no dashboard of its own.
    assert_eq!(
        boss.get(&format!("/app/{}/dashboard", d.acme)).await.status,
        StatusCode::NOT_FOUND
    );
}
