//! Bad input on every write route: malformed JSON, a wrong content type,
//! wrong types, unknown fields, oversize bodies and invalid enum values are
//! problem+json 4xx answers, never 5xx, and nothing is written.

use crate::support;

use serde_json::{Value, json};
use support::world::{World, documented_routes, fill, routes, takes_msp};
use support::{Api, Backend, M, Server};

/// The enum-valued fields of the bodies, and a value none of them takes.
const ENUM_FIELDS: [&str; 9] = [
    "role",
    "kind",
    "status",
    "priority",
    "visibility",
    "target_level",
    "categories",
    "appendices",
    "entity",
];

/// A value of another JSON type than `v`.
fn wrong_type(v: &Value) -> Value {
    match v {
        Value::String(_) => json!(12345),
        Value::Number(_) | Value::Bool(_) | Value::Null => json!("not the right type"),
        Value::Array(_) => json!({"an": "object"}),
        Value::Object(_) => json!(["an", "array"]),
    }
}

/// Every way to spoil a valid body, named.
fn spoiled(
    valid: &Value,
    free_text: &[&str],
) -> Vec<(String, Option<Value>, Option<&'static str>)> {
    let mut out: Vec<(String, Option<Value>, Option<&'static str>)> = vec![
        ("malformed JSON".into(), None, Some("{\"name\": ")),
        (
            "an array instead of an object".into(),
            Some(json!([1, 2])),
            None,
        ),
    ];
    let mut unknown = valid.clone();
    unknown["surely_not_a_field"] = json!(1);
    out.push(("an unknown field".into(), Some(unknown), None));
    // Just over the 1 MiB limit: the server refuses after reading almost
    // all of it, so no unread bytes make its close reset the connection
    // before the client reads the 413 (a far larger body races that way).
    let mut huge = valid.clone();
    huge["surely_not_a_field"] = json!("x".repeat(regentra_http::server::BODY_LIMIT));
    out.push(("an oversize body".into(), Some(huge), None));
    for (field, value) in valid.as_object().expect("an object body") {
        let mut wrong = valid.clone();
        wrong[field] = wrong_type(value);
        out.push((format!("a wrong type for {field}"), Some(wrong), None));
        if ENUM_FIELDS.contains(&field.as_str()) && !free_text.contains(&field.as_str()) {
            let mut bogus = valid.clone();
            bogus[field] = if value.is_array() {
                json!(["bogus"])
            } else {
                json!("bogus")
            };
            out.push((format!("an invalid {field}"), Some(bogus), None));
        }
    }
    out
}

/// The write routes that name no org, with a valid body each.
fn platform_routes() -> Vec<(M, &'static str, Value)> {
    let calendar = json!({"timezone": "UTC", "weekly": {"mon": [["09:00", "17:00"]]}});
    vec![
        (
            M::POST,
            "/v1/auth/login",
            json!({"email": "nobody@x.test", "password": "whatever password"}),
        ),
        (
            M::POST,
            "/v1/orgs",
            json!({"name": "New MSP", "kind": "msp"}),
        ),
        (
            M::PUT,
            "/v1/me/password",
            json!({"password": "a new long password"}),
        ),
        (M::POST, "/v1/me/tokens", json!({"name": "ci"})),
        (
            M::PUT,
            "/v1/me/email-preferences",
            json!({"off": ["sla_warning"]}),
        ),
        (
            M::POST,
            "/v1/sla/due",
            json!({"calendar": calendar, "start": "2026-11-27T16:00:00Z", "minutes": 60}),
        ),
        (
            M::POST,
            "/v1/sla/elapsed",
            json!({"calendar": calendar, "from": "2026-11-27T16:00:00Z", "to": "2026-11-28T16:00:00Z"}),
        ),
        (
            M::POST,
            "/v1/auth/login/mfa",
            json!({"challenge": "unknown", "code": "123456"}),
        ),
        (M::DELETE, "/v1/me/mfa", json!({"code": "123456"})),
        (M::POST, "/v1/me/mfa/confirm", json!({"code": "123456"})),
        (
            M::POST,
            "/v1/me/mfa/recovery-codes",
            json!({"code": "123456"}),
        ),
        (
            M::POST,
            "/v1/auth/password-reset",
            json!({"email": "nobody@x.test"}),
        ),
        (
            M::POST,
            "/v1/auth/password-reset/confirm",
            json!({"token": "rgr_unknown", "password": "a new long password"}),
        ),
        (
            M::POST,
            "/v1/invitations/lookup",
            json!({"token": "rgi_unknown"}),
        ),
        (
            M::POST,
            "/v1/invitations/accept",
            json!({"token": "rgi_unknown"}),
        ),
    ]
}

/// A refusal as the API promises it: a 4xx problem document.
fn assert_refused(reply: &support::Reply, label: &str) {
    assert!(
        reply.status.is_client_error(),
        "{label}: {} {}",
        reply.status,
        reply.text
    );
    assert!(reply.is_problem(), "{label}: {}", reply.content_type);
    for key in ["type", "title", "status", "detail"] {
        assert!(
            !reply.body[key].is_null(),
            "{label}: no {key} in {}",
            reply.text
        );
    }
}

async fn send(
    api: &Api,
    method: &M,
    path: &str,
    body: &Option<Value>,
    raw: Option<&str>,
) -> support::Reply {
    match raw {
        Some(text) => {
            api.raw(
                method.clone(),
                path,
                "application/json",
                text.as_bytes().to_vec(),
            )
            .await
        }
        None => api.call(method.clone(), path, body.clone()).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_route_refuses_bad_input_with_a_problem_and_writes_nothing() {
    bad_input(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_write_route_refuses_bad_input_with_a_problem_and_writes_nothing() {
    bad_input(Backend::Postgres).await;
}

async fn bad_input(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let w = World::build(&server).await;
    let staff = w.msp_a_admin.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    let table = routes(&staff);

    // Every documented route with a JSON body is in the table with one.
    let doc = server.admin().get("/v1/openapi.json").await;
    for (method, path) in documented_routes(&server.admin()).await {
        let op = &doc["paths"][&path][method.to_lowercase()];
        let json_body = !op["requestBody"]["content"]["application/json"].is_null();
        if !json_body {
            continue;
        }
        let in_table = table
            .iter()
            .any(|r| r.method.as_str() == method && r.template == path && r.body.is_some());
        let outside = platform_routes()
            .iter()
            .any(|(m, p, _)| m.as_str() == method && *p == path);
        assert!(
            in_table || outside,
            "{method} {path} takes JSON but is not in the bad-input table"
        );
    }

    let before = w.victim_events().await;
    let orgs_before = server.admin().get("/v1/orgs?limit=500").await;
    // Token ids only: a token's last use moves as it is used.
    let token_ids = |page: Value| -> Vec<Value> {
        support::items(&page)
            .iter()
            .map(|t| t["id"].clone())
            .collect()
    };
    let tokens_before = token_ids(server.admin().get("/v1/me/tokens").await);
    let mut refused = 0;
    // The routes outside any org, as the platform admin.
    for (method, path, valid) in platform_routes() {
        let api = server.admin();
        for (what, body, raw) in spoiled(&valid, &[]) {
            let reply = send(&api, &method, path, &body, raw).await;
            assert_refused(&reply, &format!("{method} {path} with {what}"));
            refused += 1;
        }
    }
    assert_eq!(server.admin().get("/v1/orgs?limit=500").await, orgs_before);
    assert_eq!(
        token_ids(server.admin().get("/v1/me/tokens").await),
        tokens_before
    );
    for route in table.iter().filter(|r| r.body.is_some()) {
        let (api, org) = if takes_msp(route.template) {
            (&w.msp_a_admin, &w.msp_a)
        } else {
            (&w.client_a_admin, &w.client_a)
        };
        let path = fill(route.template, org, &w.client_a, &w.ids);
        let valid = route.body.clone().expect("a body");
        // An asset's kind is free text (laptop, license, ...), not an enum.
        let free_text: &[&str] = if route.template.ends_with("/assets") {
            &["kind"]
        } else {
            &[]
        };
        let mut cases = spoiled(&valid, free_text);
        cases.push(("a wrong content type".into(), None, None));
        for (what, body, raw) in cases {
            let reply = if what == "a wrong content type" {
                api.raw(
                    route.method.clone(),
                    &path,
                    "text/plain",
                    valid.to_string().into_bytes(),
                )
                .await
            } else {
                send(api, &route.method, &path, &body, raw).await
            };
            assert_refused(
                &reply,
                &format!("{} {} with {what}", route.method, route.template),
            );
            refused += 1;
        }
    }
    assert!(refused > 200, "{refused} bad requests");
    assert_eq!(w.victim_events().await, before, "nothing was written");

    // The evidence upload takes the file as its body: its own bad inputs.
    let upload = format!("/v1/orgs/{}/evidence/files", w.client_a);
    let api = &w.client_a_admin;
    for (query, body) in [
        ("", b"data".to_vec()),
        ("?title=t", b"data".to_vec()),
        ("?title=t&name=n&valid_until=yesterday", b"data".to_vec()),
        ("?title=t&name=n&sha256=xyz", b"data".to_vec()),
        (
            "?title=t&name=n&sha256=0000000000000000000000000000000000000000000000000000000000000000",
            b"data".to_vec(),
        ),
        ("?title=t&name=n", Vec::new()),
    ] {
        let reply = api
            .raw(M::POST, &format!("{upload}{query}"), "text/plain", body)
            .await;
        assert_refused(&reply, &format!("upload {query}"));
        if query.is_empty() {
            let detail = reply.body["detail"].as_str().unwrap_or("");
            assert!(
                detail.contains("title"),
                "the missing parameter is named: {detail}"
            );
        }
    }
    // A ticket's file upload likewise.
    let files = format!(
        "/v1/orgs/{}/tickets/{}/attachments",
        w.client_a, w.ids.ticket
    );
    for (query, content_type, body) in [
        ("", "text/plain", b"data".to_vec()),
        ("?name=", "text/plain", b"data".to_vec()),
        ("?name=n.txt", "text/plain", Vec::new()),
        (
            "?name=setup.exe",
            "application/octet-stream",
            b"MZ".to_vec(),
        ),
        (
            "?name=n.txt&comment=not-a-comment",
            "text/plain",
            b"data".to_vec(),
        ),
        ("?name=n.txt&surely_not=1", "text/plain", b"data".to_vec()),
    ] {
        let reply = api
            .raw(M::POST, &format!("{files}{query}"), content_type, body)
            .await;
        assert_refused(&reply, &format!("attachment upload {query}"));
    }
    assert_eq!(w.victim_events().await, before, "no upload was kept");
    let evidence = api.get(&format!("/v1/orgs/{}/evidence", w.client_a)).await;
    assert_eq!(support::items(&evidence).len(), 1, "only the seeded link");
}
