//! What the staff console reads and writes through the API, end to end
//! against the real router: the service desk's chat lists and who hears of
//! a new chat.

use serde_json::{Value, json};

use crate::support::{self, Api, Backend, M, PASSWORD, Server, StatusCode, id, items};

/// An MSP with two clients: its admin (`boss`), a technician assigned to
/// the first client (`tom`), and an employee in each client (`ann` in
/// `acme`, `gus` in `globex`).
struct Desk {
    boss: Api,
    tom: Api,
    ann: Api,
    gus: Api,
    acme: String,
    globex: String,
}

async fn desk(server: &Server) -> Desk {
    let (boss, msp, acme) = support::msp_with_client(server).await;
    let globex = id(&boss
        .post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": "Globex"}),
        )
        .await);
    let admin = server.admin();
    let tom = admin
        .post(
            &format!("/v1/orgs/{msp}/members"),
            json!({"email": "tom@msp.test", "name": "Tom Tech", "password": PASSWORD, "role": "technician"}),
        )
        .await["user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    boss.post(
        &format!("/v1/orgs/{msp}/clients/{acme}/staff"),
        json!({"user_id": tom, "role": "technician"}),
    )
    .await;
    for (org, email, name) in [
        (&acme, "ann@acme.test", "Ann Example"),
        (&globex, "gus@globex.test", "Gus Example"),
    ] {
        admin
            .post(
                &format!("/v1/orgs/{org}/members"),
                json!({"email": email, "name": name, "password": PASSWORD, "role": "employee"}),
            )
            .await;
    }
    Desk {
        tom: server.login("tom@msp.test", PASSWORD).await,
        ann: server.login("ann@acme.test", PASSWORD).await,
        gus: server.login("gus@globex.test", PASSWORD).await,
        boss,
        acme,
        globex,
    }
}

fn ids(page: &Value) -> Vec<String> {
    items(page).iter().map(id).collect()
}

/// Every page of a list, followed by its cursors.
async fn walk(api: &Api, path: &str) -> Vec<String> {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            Some(c) => api.get(&format!("{path}{join}cursor={c}")).await,
            None => api.get(path).await,
        };
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_lists_chats_and_hears_of_new_ones() {
    chats(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_desk_lists_chats_and_hears_of_new_ones() {
    chats(Backend::Postgres).await;
}

async fn chats(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let d = desk(&server).await;
    let first = id(&d
        .ann
        .post(
            &format!("/v1/orgs/{}/chats", d.acme),
            json!({"message": "Printer jam"}),
        )
        .await);
    let second = id(&d
        .gus
        .post(
            &format!("/v1/orgs/{}/chats", d.globex),
            json!({"message": "VPN down"}),
        )
        .await);

    // Tom answers Acme's chats: his inbox says who asked, and where.
    let inbox = d.tom.get("/v1/me/notifications").await;
    let waiting: Vec<&Value> = items(&inbox)
        .iter()
        .filter(|n| n["kind"] == "chat_waiting")
        .collect();
    assert_eq!(waiting.len(), 1, "{inbox}");
    assert_eq!(
        waiting[0]["payload"]["summary"],
        "New chat from Ann Example at Client"
    );
    assert_eq!(waiting[0]["payload"]["chat"], first.as_str());
    // Ann goes on in the same chat: nobody is told again.
    let again = d
        .ann
        .post(
            &format!("/v1/orgs/{}/chats", d.acme),
            json!({"message": "Still jammed"}),
        )
        .await;
    assert_eq!(id(&again), first);
    let inbox = d.tom.get("/v1/me/notifications").await;
    assert_eq!(
        items(&inbox)
            .iter()
            .filter(|n| n["kind"] == "chat_waiting")
            .count(),
        1
    );

    // The org's list, for those who answer its chats.
    let acme_chats = format!("/v1/orgs/{}/chats", d.acme);
    let listed = d.tom.get(&format!("{acme_chats}?state=open")).await;
    assert_eq!(ids(&listed), std::slice::from_ref(&first));
    assert_eq!(items(&listed)[0]["requester_name"], "Ann Example");
    assert!(!items(&listed)[0]["last_activity_at"].is_null());
    assert!(items(&d.tom.get(&format!("{acme_chats}?state=closed")).await).is_empty());
    let refused = d.ann.call(M::GET, &acme_chats, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let bad = d
        .tom
        .call(M::GET, &format!("{acme_chats}?state=waiting"), None)
        .await;
    assert!(
        bad.status.is_client_error() && bad.is_problem(),
        "{}",
        bad.text
    );
    assert!(
        bad.text.contains("state"),
        "names the parameter: {}",
        bad.text
    );

    // Across orgs: the MSP admin sees both clients, newest activity first,
    // a page at a time; Tom his client; Ann nothing.
    assert_eq!(
        walk(&d.boss, "/v1/chats?limit=1").await,
        [first.clone(), second.clone()],
        "Ann's message made her chat the newest"
    );
    assert_eq!(
        walk(&d.tom, "/v1/chats").await,
        std::slice::from_ref(&first)
    );
    assert!(walk(&d.ann, "/v1/chats").await.is_empty());
    d.boss
        .ok(
            M::POST,
            &format!("/v1/orgs/{}/chats/{second}/close", d.globex),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        walk(&d.boss, "/v1/chats?state=open").await,
        std::slice::from_ref(&first)
    );
    assert_eq!(
        walk(&d.boss, "/v1/chats?state=closed").await,
        std::slice::from_ref(&second)
    );
    assert_eq!(
        walk(&d.boss, "/v1/chats?state=any&limit=1").await,
        [second, first]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_keep_the_knowledge_base() {
    knowledge_base(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_staff_keep_the_knowledge_base() {
    knowledge_base(Backend::Postgres).await;
}

async fn knowledge_base(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let d = desk(&server).await;
    let articles = format!("/v1/orgs/{}/kb/articles", d.acme);
    let draft = id(&d
        .tom
        .post(
            &articles,
            json!({"title": "Printer setup", "body": "Plug it in.", "visibility": "portal", "published": false}),
        )
        .await);
    let one = format!("{articles}/{draft}");
    assert_eq!(
        ids(&d.tom.get(&format!("{articles}?status=draft")).await),
        std::slice::from_ref(&draft)
    );
    assert!(items(&d.tom.get(&format!("{articles}?status=published")).await).is_empty());
    let refused = d
        .ann
        .call(M::GET, &format!("{articles}?status=any"), None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let mixed = d
        .tom
        .call(M::GET, &format!("{articles}?status=draft&q=printer"), None)
        .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST, "{}", mixed.text);
    assert!(mixed.is_problem());
    assert!(mixed.text.contains("status"), "{}", mixed.text);

    // Edited, then published: the portal's people read it.
    let edited = d
        .tom
        .ok(
            M::PATCH,
            &one,
            Some(json!({"title": "Label printer setup", "tags": ["printers"]})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(edited["title"], "Label printer setup");
    assert_eq!(edited["body"], "Plug it in.", "what was not sent stays");
    assert_eq!(edited["published"], false);
    let blank = d
        .tom
        .call(M::PATCH, &one, Some(json!({"title": " "})))
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.text.contains("title"), "{}", blank.text);
    assert_eq!(
        d.ann.call(M::GET, &one, None).await.status,
        StatusCode::NOT_FOUND
    );
    let published = d
        .tom
        .ok(M::POST, &format!("{one}/publish"), None, StatusCode::OK)
        .await;
    assert_eq!(published["published"], true);
    assert_eq!(d.ann.get(&one).await["title"], "Label printer setup");
    let denied = d.ann.call(M::POST, &format!("{one}/unpublish"), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    d.tom
        .ok(M::POST, &format!("{one}/unpublish"), None, StatusCode::OK)
        .await;
    assert_eq!(
        d.ann.call(M::GET, &one, None).await.status,
        StatusCode::NOT_FOUND
    );

    // Deleted: gone, for staff too.
    let deleted = d.tom.call(M::DELETE, &one, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(
        d.tom.call(M::GET, &one, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(items(&d.tom.get(&format!("{articles}?status=any")).await).is_empty());
    let audit = d.boss.get(&format!("/v1/orgs/{}/audit", d.acme)).await;
    let kb: Vec<&str> = items(&audit)
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("kb."))
        .collect();
    assert_eq!(
        kb,
        [
            "kb.article_added",
            "kb.article_updated",
            "kb.article_published",
            "kb.article_unpublished",
            "kb.article_deleted"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_keep_the_inventory_and_a_tickets_assets() {
    inventory(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_staff_keep_the_inventory_and_a_tickets_assets() {
    inventory(Backend::Postgres).await;
}

async fn inventory(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let d = desk(&server).await;
    let o = |p: &str| format!("/v1/orgs/{}{p}", d.acme);
    let ann_id = d.ann.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    let pc = id(&d
        .tom
        .post(
            &o("/assets"),
            json!({"name": "Front desk PC", "kind": "laptop", "serial": "SN-1", "assigned_user": ann_id, "attributes": {"recovery_key": "k"}}),
        )
        .await);
    let one = o(&format!("/assets/{pc}"));
    assert_eq!(d.tom.get(&one).await["name"], "Front desk PC");
    // No portal shows Ann her assets: hers is as unknown as any.
    assert_eq!(
        d.ann.call(M::GET, &one, None).await.status,
        StatusCode::NOT_FOUND
    );

    let edited = d
        .tom
        .ok(
            M::PATCH,
            &one,
            Some(json!({"name": "Reception PC", "serial": null, "status": "in_repair"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(edited["name"], "Reception PC");
    assert!(edited["serial"].is_null(), "null clears it");
    assert_eq!(edited["status"], "in_repair");
    assert_eq!(edited["assigned_user"], ann_id.as_str(), "absent keeps it");
    assert_eq!(edited["attributes"]["recovery_key"], "k");
    let stranger = d
        .tom
        .call(
            M::PATCH,
            &one,
            Some(json!({"assigned_user": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stranger.text.contains("assigned_user"), "{}", stranger.text);
    let refused = d
        .ann
        .call(M::PATCH, &one, Some(json!({"name": "Mine"})))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    // A ticket's assets: linked, listed, one taken off.
    let ticket = id(&d
        .ann
        .post(
            &o("/tickets"),
            json!({"subject": "Screen flickers", "priority": "low"}),
        )
        .await);
    let screen = id(&d
        .tom
        .post(&o("/assets"), json!({"name": "Screen", "kind": "monitor"}))
        .await);
    for asset in [&pc, &screen] {
        d.tom
            .ok(
                M::PUT,
                &o(&format!("/tickets/{ticket}/assets/{asset}")),
                None,
                StatusCode::OK,
            )
            .await;
    }
    let linked = o(&format!("/tickets/{ticket}/assets"));
    assert_eq!(ids(&d.tom.get(&linked).await), [pc.clone(), screen.clone()]);
    assert_eq!(
        d.ann.call(M::GET, &linked, None).await.status,
        StatusCode::FORBIDDEN,
        "the inventory is staff's, even on one's own ticket"
    );
    let unlinked = d
        .tom
        .ok(
            M::DELETE,
            &o(&format!("/tickets/{ticket}/assets/{screen}")),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(unlinked["assets"], json!([pc]));
    assert_eq!(ids(&d.tom.get(&linked).await), std::slice::from_ref(&pc));
    let again = d
        .tom
        .call(
            M::DELETE,
            &o(&format!("/tickets/{ticket}/assets/{screen}")),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // Deleting an asset retires it: on record, with nobody.
    let retired = d.tom.ok(M::DELETE, &one, None, StatusCode::OK).await;
    assert_eq!(retired["status"], "retired");
    assert!(retired["assigned_user"].is_null());
    assert_eq!(d.tom.get(&one).await["status"], "retired");
    assert_eq!(ids(&d.tom.get(&linked).await), [pc], "still linked");
    // Another MSP's client's asset is not there for this desk.
    let gus_asset = d.gus.call(M::GET, &one, None).await;
    assert_eq!(gus_asset.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_filter_bar_counts() {
    counts(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_queue_filter_bar_counts() {
    counts(Backend::Postgres).await;
}

async fn counts(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let d = desk(&server).await;
    let tom_id = d.tom.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    let mut acme_tickets = Vec::new();
    for priority in ["low", "high"] {
        acme_tickets.push(id(&d
            .ann
            .post(
                &format!("/v1/orgs/{}/tickets", d.acme),
                json!({"subject": "Help", "priority": priority}),
            )
            .await));
    }
    d.gus
        .post(
            &format!("/v1/orgs/{}/tickets", d.globex),
            json!({"subject": "Help", "priority": "low"}),
        )
        .await;
    d.tom
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/tickets/{}", d.acme, acme_tickets[1]),
            Some(json!({"assignee": tom_id})),
            StatusCode::OK,
        )
        .await;

    let acme = d
        .tom
        .get(&format!("/v1/orgs/{}/tickets/counts", d.acme))
        .await;
    assert_eq!(acme["total"], 2, "{acme}");
    assert_eq!(acme["by_status"]["new"], 1);
    assert_eq!(acme["by_status"]["open"], 1, "assigning opened it");
    assert_eq!(acme["by_status"]["closed"], 0);
    assert_eq!(
        (acme["mine"].clone(), acme["unassigned"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        acme["by_sla"]["on_track"].as_u64().unwrap_or(0)
            + acme["by_sla"]["at_risk"].as_u64().unwrap_or(0)
            + acme["by_sla"]["breached"].as_u64().unwrap_or(0),
        0,
        "no SLA policy here: no clock runs"
    );
    // Across clients, with the list's filters: each number ignores its own.
    let all = d.boss.get("/v1/tickets/counts").await;
    assert_eq!(all["total"], 3, "{all}");
    let open = d.boss.get("/v1/tickets/counts?status=open").await;
    assert_eq!(open["total"], 1);
    assert_eq!(
        open["by_status"]["new"], 2,
        "what choosing `new` would list"
    );
    assert_eq!(open["unassigned"], 0, "among the open ones");
    let low = d.boss.get("/v1/tickets/counts?priority=low").await;
    assert_eq!(low["total"], 2);
    assert_eq!(d.tom.get("/v1/tickets/counts").await["total"], 2);
    // A requester counts their own; another client's staff nothing here.
    assert_eq!(
        d.ann
            .get(&format!("/v1/orgs/{}/tickets/counts", d.acme))
            .await["total"],
        2
    );
    let stranger = d
        .gus
        .call(M::GET, &format!("/v1/orgs/{}/tickets/counts", d.acme), None)
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    let bad = d
        .boss
        .call(M::GET, "/v1/tickets/counts?status=lost", None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("status"), "{}", bad.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tickets_audit_trail() {
    ticket_trail(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_tickets_audit_trail() {
    ticket_trail(Backend::Postgres).await;
}

async fn ticket_trail(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let d = desk(&server).await;
    let o = |p: &str| format!("/v1/orgs/{}{p}", d.acme);
    let tom_id = d.tom.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    let ticket = id(&d
        .ann
        .post(
            &o("/tickets"),
            json!({"subject": "Printer jam", "priority": "high"}),
        )
        .await);
    let other = id(&d
        .ann
        .post(&o("/tickets"), json!({"subject": "VPN", "priority": "low"}))
        .await);
    d.tom
        .ok(
            M::PATCH,
            &o(&format!("/tickets/{ticket}")),
            Some(json!({"assignee": tom_id})),
            StatusCode::OK,
        )
        .await;
    d.tom
        .post(
            &o(&format!("/tickets/{other}/comments")),
            json!({"body": "Elsewhere"}),
        )
        .await;
    d.tom
        .post(
            &o(&format!("/tickets/{ticket}/comments")),
            json!({"body": "Toner is out", "public": false}),
        )
        .await;
    d.tom
        .post(
            &o("/time-entries"),
            json!({"ticket": ticket, "minutes": 20, "billable": true, "date": "2026-11-02"}),
        )
        .await;

    let trail = o(&format!("/tickets/{ticket}/audit"));
    let actions = |page: &Value| -> Vec<String> {
        items(page)
            .iter()
            .map(|e| e["action"].as_str().expect("action").to_owned())
            .collect()
    };
    let all = d.tom.get(&trail).await;
    assert_eq!(
        actions(&all),
        [
            "ticket.created",
            "ticket.assigned",
            "ticket.noted",
            "time.logged"
        ],
        "{all}"
    );
    assert!(all["next_cursor"].is_null());
    let first = d.tom.get(&format!("{trail}?limit=3")).await;
    assert_eq!(actions(&first), actions(&all)[..3]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let rest = d.tom.get(&format!("{trail}?limit=3&cursor={cursor}")).await;
    assert_eq!(actions(&rest), ["time.logged"]);
    assert_eq!(
        d.boss.get(&trail).await,
        all,
        "the MSP's admin reads it too"
    );
    let requester = d.ann.call(M::GET, &trail, None).await;
    assert_eq!(
        requester.status,
        StatusCode::FORBIDDEN,
        "{}",
        requester.text
    );
    let stranger = d.gus.call(M::GET, &trail, None).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
}
