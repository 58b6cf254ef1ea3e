//! The in-app inbox over HTTP: `GET /v1/me/notifications`, mark one read,
//! mark all read; another user's notification is 404; bad paging input is
//! a problem naming the parameter.

use crate::support;

use serde_json::Value;
use support::world::World;
use support::{Api, Backend, M, PASSWORD, Server, StatusCode, items};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_lists_pages_and_marks_read() {
    inbox(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_inbox_lists_pages_and_marks_read() {
    inbox(Backend::Postgres).await;
}

fn ids(page: &Value) -> Vec<String> {
    items(page)
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn read(api: &Api, id: &str) -> support::Reply {
    api.call(M::POST, &format!("/v1/me/notifications/{id}/read"), None)
        .await
}

async fn inbox(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let w = World::build(&server).await;
    let owner = &w.client_a_admin;
    let staff = server.login("staff@victim.test", PASSWORD).await;

    // The campaign to everyone invited both; a reminder follows.
    let first = owner.get("/v1/me/notifications").await;
    assert_eq!(ids(&first), std::slice::from_ref(&w.ids.notification));
    let invitation = &items(&first)[0];
    assert_eq!(invitation["kind"], "campaign_invitation");
    assert_eq!(invitation["org_id"], w.client_a.as_str());
    assert!(invitation["read_at"].is_null());
    assert_eq!(first["unread"], 1);
    owner
        .ok(
            M::POST,
            &format!(
                "/v1/orgs/{}/campaigns/{}/remind",
                w.client_a, w.ids.campaign
            ),
            None,
            StatusCode::OK,
        )
        .await;
    let all = owner.get("/v1/me/notifications").await;
    assert_eq!(all["unread"], 2);
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 2);
    assert_eq!(items(&all)[0]["kind"], "campaign_reminder", "newest first");
    assert_eq!(all_ids[1], w.ids.notification);
    // A page at a time.
    let page1 = owner.get("/v1/me/notifications?limit=1").await;
    assert_eq!(ids(&page1), all_ids[..1]);
    let cursor = page1["next_cursor"].as_str().expect("a next page");
    let page2 = owner
        .get(&format!("/v1/me/notifications?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(ids(&page2), all_ids[1..]);
    assert!(page2["next_cursor"].is_null());
    assert_eq!(page2["unread"], 2, "the count covers the whole inbox");

    // Someone else's notification is 404, exactly like a missing one, for
    // a colleague in the same org, the MSP admin who reaches the org, and
    // another MSP's admin; nothing is written.
    let events = w.victim_events().await;
    let missing = read(owner, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for (who, api) in [
        ("a colleague", &staff),
        ("the MSP admin", &w.msp_a_admin),
        ("another MSP's admin", &w.msp_b_admin),
    ] {
        let reply = read(api, &w.ids.notification).await;
        assert_eq!(
            (reply.status, &reply.text),
            (missing.status, &missing.text),
            "{who}"
        );
        assert!(reply.is_problem(), "{who}");
        let theirs = api.get("/v1/me/notifications").await;
        assert!(!ids(&theirs).contains(&w.ids.notification), "{who}");
    }
    assert_eq!(w.victim_events().await, events, "nothing was written");

    // Marking read: once, audited, the count follows.
    let marked = read(owner, &w.ids.notification).await;
    assert_eq!(marked.status, StatusCode::OK, "{}", marked.text);
    let read_at = marked.body["read_at"].as_str().expect("read_at").to_owned();
    assert_eq!(w.victim_events().await.0, events.0 + 1, "one audit event");
    let again = read(owner, &w.ids.notification).await;
    assert_eq!(
        again.body["read_at"],
        read_at.as_str(),
        "marking again changes nothing"
    );
    assert_eq!(w.victim_events().await.0, events.0 + 1);
    assert_eq!(owner.get("/v1/me/notifications").await["unread"], 1);
    let all_read = owner
        .ok(
            M::POST,
            "/v1/me/notifications/read-all",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(all_read["marked"], 1);
    let after = owner.get("/v1/me/notifications").await;
    assert_eq!(after["unread"], 0);
    assert!(items(&after).iter().all(|n| n["read_at"].is_string()));
    // The colleague's own stay unread.
    assert_eq!(staff.get("/v1/me/notifications").await["unread"], 2);

    // Bad input: a problem naming the parameter, or 404 for a bad id.
    for (query, field) in [("limit=0", "limit"), ("cursor=nonsense", "cursor")] {
        let reply = owner
            .call(M::GET, &format!("/v1/me/notifications?{query}"), None)
            .await;
        assert!(reply.status.is_client_error(), "{query}: {}", reply.text);
        assert!(reply.is_problem(), "{query}");
        assert!(reply.text.contains(field), "{query}: {}", reply.text);
    }
    let reply = owner
        .call(M::GET, "/v1/me/notifications?limit=many", None)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(reply.is_problem());
    let reply = read(owner, "not-an-id").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.is_problem());
    // Without a token: 401.
    let reply = server
        .anonymous()
        .call(M::GET, "/v1/me/notifications", None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
