//! The filters of the lists the store computes, as query parameters:
//! evidence by control and expiry, time entries by date range, the audit
//! log by time range and actor; each bad value is a problem naming its
//! parameter.

use crate::support;

use serde_json::{Value, json};
use support::{Backend, M, PASSWORD, Server, StatusCode, items};

fn titles(page: &Value, field: &str) -> Vec<String> {
    items(page)
        .iter()
        .map(|v| v[field].as_str().expect(field).to_owned())
        .collect()
}

/// Every item of a list, following `next_cursor` with pages of one.
async fn walk(api: &support::Api, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=1&cursor={c}"),
            None => format!("{path}{sep}limit=1"),
        };
        let page = api.get(&url).await;
        assert!(items(&page).len() <= 1);
        out.extend(items(&page).iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// `path` answers `status` with a problem naming `field`.
async fn refused(api: &support::Api, path: &str, status: StatusCode, field: &str) {
    let reply = api.call(M::GET, path, None).await;
    assert_eq!(reply.status, status, "{path}: {}", reply.text);
    assert!(reply.is_problem(), "{path}: {}", reply.text);
    assert!(
        reply.text.contains(field),
        "{path}: the problem names {field}: {}",
        reply.text
    );
}

async fn filters_are_query_parameters(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let (boss, _, client) = support::msp_with_client(&server).await;
    boss.post(
        &format!("/v1/orgs/{client}/frameworks"),
        json!({"framework": "hipaa"}),
    )
    .await;

    // Evidence: by control, by expiry.
    let evidence = format!("/v1/orgs/{client}/evidence");
    for (title, valid_until, controls) in [
        ("late", Some("2030-03-10T00:00:00Z"), json!(["RM-01"])),
        ("never", None, json!(["RM-01"])),
        ("soon", Some("2030-01-10T00:00:00Z"), json!([])),
    ] {
        boss.post(
            &format!("{evidence}/attestations"),
            json!({"title": title, "statement": "we do", "valid_until": valid_until, "controls": controls}),
        )
        .await;
    }
    let all: Vec<String> = walk(&boss, &evidence)
        .await
        .iter()
        .map(|e| e["title"].as_str().expect("title").to_owned())
        .collect();
    assert_eq!(all, ["late", "never", "soon"], "in the order added");
    assert_eq!(
        titles(
            &boss.get(&format!("{evidence}?control=RM-01")).await,
            "title"
        ),
        ["late", "never"]
    );
    assert_eq!(
        titles(&boss.get(&format!("{evidence}?sort=expiry")).await, "title"),
        ["soon", "late", "never"],
        "soonest first, never last"
    );
    assert_eq!(
        titles(
            &boss
                .get(&format!("{evidence}?expiring_before=2030-06-01"))
                .await,
            "title"
        ),
        ["soon", "late"],
        "evidence that never expires is left out"
    );
    assert_eq!(
        titles(
            &boss
                .get(&format!(
                    "{evidence}?expiring_before=2030-06-01&control=RM-01"
                ))
                .await,
            "title"
        ),
        ["late"]
    );
    let walked: Vec<Value> = walk(&boss, &format!("{evidence}?sort=expiry")).await;
    assert_eq!(walked.len(), 3, "expiry pages walk the list once");
    refused(
        &boss,
        &format!("{evidence}?control=NOPE-99"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "control",
    )
    .await;
    refused(
        &boss,
        &format!("{evidence}?sort=size"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "sort",
    )
    .await;
    refused(
        &boss,
        &format!("{evidence}?expiring_before=soon"),
        StatusCode::BAD_REQUEST,
        "expiring_before",
    )
    .await;

    // Time entries: by date range, the org's and a ticket's.
    let time = format!("/v1/orgs/{client}/time-entries");
    let ticket = support::id(
        &boss
            .post(
                &format!("/v1/orgs/{client}/tickets"),
                json!({"subject": "Printer", "description": "Jammed.", "priority": "low"}),
            )
            .await,
    );
    for (date, on_ticket) in [
        ("2026-11-20", true),
        ("2026-11-02", false),
        ("2026-11-10", true),
    ] {
        let mut body = json!({"minutes": 15, "billable": true, "date": date, "note": date});
        if on_ticket {
            body["ticket"] = json!(ticket);
        }
        boss.post(&time, body).await;
    }
    assert_eq!(
        titles(&boss.get(&time).await, "date"),
        ["2026-11-02", "2026-11-10", "2026-11-20"],
        "by date"
    );
    assert_eq!(
        titles(
            &boss
                .get(&format!("{time}?from=2026-11-05&to=2026-11-20"))
                .await,
            "date"
        ),
        ["2026-11-10", "2026-11-20"]
    );
    assert_eq!(
        titles(
            &boss
                .get(&format!("{time}?ticket={ticket}&to=2026-11-15"))
                .await,
            "date"
        ),
        ["2026-11-10"]
    );
    assert_eq!(walk(&boss, &time).await.len(), 3);
    refused(
        &boss,
        &format!("{time}?from=yesterday"),
        StatusCode::BAD_REQUEST,
        "from",
    )
    .await;
    refused(
        &boss,
        &format!("{time}?from=2026-11-05&to=2026-11-01"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "to",
    )
    .await;

    // The audit log: by actor and time range. The platform operator acts
    // in the client too.
    server
        .admin()
        .post(
            &format!("/v1/orgs/{client}/members"),
            json!({"email": "erin@client.test", "name": "Erin", "password": PASSWORD, "role": "employee"}),
        )
        .await;
    let audit = format!("/v1/orgs/{client}/audit");
    let boss_id = boss.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user id")
        .to_owned();
    let by_boss = boss
        .get(&format!("{audit}?actor={boss_id}&limit=500"))
        .await;
    assert!(!items(&by_boss).is_empty());
    assert!(
        items(&by_boss)
            .iter()
            .all(|e| e["actor"]["user"] == json!(boss_id))
    );
    let everything = boss.get(&format!("{audit}?limit=500")).await;
    assert!(
        items(&everything).len() > items(&by_boss).len(),
        "others acted too"
    );
    assert!(
        items(
            &boss
                .get(&format!("{audit}?from=2999-01-01T00:00:00Z"))
                .await
        )
        .is_empty(),
        "nothing after the far future"
    );
    assert!(
        items(&boss.get(&format!("{audit}?to=2000-01-01T00:00:00Z")).await).is_empty(),
        "nothing before 2000"
    );
    refused(
        &boss,
        &format!("{audit}?actor=someone"),
        StatusCode::BAD_REQUEST,
        "actor",
    )
    .await;
    refused(
        &boss,
        &format!("{audit}?from=monday"),
        StatusCode::BAD_REQUEST,
        "from",
    )
    .await;
    refused(
        &boss,
        &format!("{audit}?from=2026-11-05T00:00:00Z&to=2026-11-01T00:00:00Z"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "to",
    )
    .await;
    // A cursor of another list is not one of this list.
    let evidence_cursor = boss.get(&format!("{evidence}?sort=expiry&limit=1")).await["next_cursor"]
        .as_str()
        .expect("more evidence")
        .to_owned();
    refused(
        &boss,
        &format!("{audit}?cursor={evidence_cursor}"),
        StatusCode::BAD_REQUEST,
        "cursor",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_are_query_parameters_on_the_embedded_store() {
    filters_are_query_parameters(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_list_filters_are_query_parameters() {
    filters_are_query_parameters(Backend::Postgres).await;
}

/// A cursor is opaque, but a client can still send any bytes as one: a
/// forged scan cursor whose key holds a NUL (which no index value holds,
/// and which Postgres text cannot) is refused naming `cursor`, on every
/// list that resumes a store walk, not answered with a server error.
async fn forged_cursors_are_refused(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let (boss, _, client) = support::msp_with_client(&server).await;
    let forged = hex::encode(format!("k{}\u{0}", uuid::Uuid::nil()));
    for path in [
        format!("/v1/orgs/{client}/tickets?sort=due&cursor={forged}"),
        format!("/v1/orgs/{client}/tickets?cursor={forged}"),
        format!("/v1/tickets?sort=due&cursor={forged}"),
        format!("/v1/orgs/{client}/evidence?sort=expiry&cursor={forged}"),
        format!("/v1/orgs/{client}/time-entries?cursor={forged}"),
        format!("/v1/orgs/{client}/kb/articles?cursor={forged}"),
    ] {
        refused(&boss, &path, StatusCode::BAD_REQUEST, "cursor").await;
    }
    // The last possible audit sequence: nothing after it.
    let last = hex::encode(format!("s{}", u64::MAX));
    let page = boss
        .get(&format!("/v1/orgs/{client}/audit?cursor={last}"))
        .await;
    assert!(items(&page).is_empty(), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_cursors_are_refused_on_the_embedded_store() {
    forged_cursors_are_refused(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_forged_cursors_are_refused() {
    forged_cursors_are_refused(Backend::Postgres).await;
}
