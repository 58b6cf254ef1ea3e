//! Every route taking an id, called with the token of another MSP's admin
//! and of another MSP's client: 404, the very answer a missing org or id
//! gets, with nothing of the other tenant in the body, and nothing changed.

use crate::support;

use support::world::{Ids, Route, World, documented_routes, fill, missing_ids, routes, takes_msp};
use support::{Api, Backend, M, Reply, Server, websocket_refusal};

/// Calls a route of the table as `api` with the given org, client and ids.
async fn call(
    server: &Server,
    api: &Api,
    route: &Route,
    org: &str,
    client: &str,
    ids: &Ids,
) -> (u16, String, bool) {
    let (method, template, body) = (&route.method, route.template, &route.body);
    let path = fill(template, org, client, ids);
    if template.ends_with("/ws") {
        let token = api.token.clone().expect("token");
        let (status, body) = websocket_refusal(&server.base, &path, &token)
            .await
            .unwrap_or_else(|| panic!("{path}: the socket opened for another tenant"));
        return (status, body, true);
    }
    let reply: Reply = if template.ends_with("/attachments") && *method == M::POST {
        api.raw(
            method.clone(),
            &format!("{path}?name=n.txt"),
            "text/plain",
            b"data".to_vec(),
        )
        .await
    } else if template.ends_with("/evidence/files") {
        api.raw(
            method.clone(),
            &format!("{path}?title=t&name=n.txt"),
            "text/plain",
            b"data".to_vec(),
        )
        .await
    } else {
        api.call(method.clone(), &path, body.clone()).await
    };
    (
        reply.status.as_u16(),
        reply.text.clone(),
        reply.is_problem(),
    )
}

/// Whether a template names a record (beyond the org and catalog keys).
fn names_a_record(template: &str) -> bool {
    let stripped = template
        .replace("{org_id}", "")
        .replace("{framework}", "")
        .replace("{control}", "");
    stripped.contains('{')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_gets_404_exactly_like_a_missing_id_and_changes_nothing() {
    cross_tenant(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_another_tenant_gets_404_exactly_like_a_missing_id_and_changes_nothing() {
    cross_tenant(Backend::Postgres).await;
}

async fn cross_tenant(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let w = World::build(&server).await;
    let before = w.victim_events().await;
    let secrets = w.secrets();
    let attacker_user = w.msp_b_admin.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user")
        .to_owned();
    let table = routes(&attacker_user);

    // The table covers every documented route that takes an id.
    let documented = documented_routes(&server.admin()).await;
    for (method, path) in &documented {
        // The built-in catalog is the same for everyone.
        let public = path.starts_with("/portal/") || path.starts_with("/v1/frameworks/{framework}");
        if !path.contains('{') || public {
            continue;
        }
        assert!(
            table.iter().any(|r| r.method.as_str() == method
                && r.template.split('?').next() == Some(path.as_str())),
            "{method} {path} is not in the cross-tenant table"
        );
    }

    let missing = missing_ids();
    let nowhere = uuid::Uuid::now_v7().to_string();
    let attackers = [
        ("another MSP's admin", &w.msp_b_admin),
        ("another MSP's client's admin", &w.client_b_admin),
    ];
    for (who, api) in attackers {
        for route in &table {
            let victim_org = if takes_msp(route.template) {
                &w.msp_a
            } else {
                &w.client_a
            };
            let (status, body, problem) =
                call(&server, api, route, victim_org, &w.client_a, &w.ids).await;
            let what = format!("{who}: {} {}", route.method, route.template);
            assert_eq!(status, 404, "{what}: {body}");
            assert!(problem, "{what}: not problem+json");
            for secret in &secrets {
                assert!(
                    !body.contains(secret.as_str()),
                    "{what}: the body shows {secret}"
                );
            }
            // The same answer as for an org and ids that do not exist.
            let (status2, body2, _) = call(&server, api, route, &nowhere, &nowhere, &missing).await;
            assert_eq!(
                (status2, &body2),
                (status, &body),
                "{what}: differs from a missing org"
            );
            // The victim's record ids inside the attacker's own org: as
            // unknown there as ids that exist nowhere.
            if names_a_record(route.template) {
                let own = if takes_msp(route.template) {
                    &w.msp_b
                } else {
                    &w.client_b
                };
                let (s1, b1, _) = call(&server, api, route, own, &w.client_a, &w.ids).await;
                let (s2, b2, _) = call(&server, api, route, own, &nowhere, &missing).await;
                assert_eq!(s1, 404, "{what} in its own org: {b1}");
                assert_eq!(
                    (s1, &b1),
                    (s2, &b2),
                    "{what}: a victim id is told from a missing one"
                );
                for secret in &secrets {
                    assert!(
                        !b1.contains(secret.as_str()),
                        "{what}: the body shows {secret}"
                    );
                }
            }
        }
    }
    assert_eq!(
        w.victim_events().await,
        before,
        "the victim's chains did not move"
    );
    // And the victim's records are as they were.
    let ticket = w
        .client_a_admin
        .get(&format!("/v1/orgs/{}/tickets/{}", w.client_a, w.ids.ticket))
        .await;
    assert_eq!(ticket["status"], "new");
    let org = w
        .client_a_admin
        .get(&format!("/v1/orgs/{}", w.client_a))
        .await;
    assert_eq!(org["name"], "Victim Dental");
}
