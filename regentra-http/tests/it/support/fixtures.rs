//! Small worlds the page tests start from: an org with its admin, an org
//! with a policy campaign waiting for an employee's signature.

use serde_json::json;

use super::{Api, M, PASSWORD, Server, StatusCode, id};

/// An org (`Acme`) made by the operator, with `alice` its admin.
pub async fn acme(server: &Server) -> (Api, String) {
    let operator = server.admin();
    let org = id(&operator
        .post("/v1/orgs", json!({"name": "Acme", "kind": "standalone"}))
        .await);
    operator
        .post(
            &format!("/v1/orgs/{org}/members"),
            json!({"email": "alice@acme.test", "name": "Alice", "password": PASSWORD, "role": "org_admin"}),
        )
        .await;
    (server.login("alice@acme.test", PASSWORD).await, org)
}

/// An org with a published policy and a campaign asking its employees,
/// one of whom is `erin@bolt.test`: the org and the campaign.
pub async fn campaign_for_erin(server: &Server) -> (String, String) {
    let operator = server.admin();
    let org = id(&operator
        .post("/v1/orgs", json!({"name": "Bolt", "kind": "standalone"}))
        .await);
    for (email, name, role) in [
        ("carol@bolt.test", "Carol", "compliance_officer"),
        ("alice@bolt.test", "Alice", "org_admin"),
        ("erin@bolt.test", "Erin Example", "employee"),
    ] {
        operator
            .post(
                &format!("/v1/orgs/{org}/members"),
                json!({"email": email, "name": name, "password": PASSWORD, "role": role}),
            )
            .await;
    }
    let carol = server.login("carol@bolt.test", PASSWORD).await;
    let alice = server.login("alice@bolt.test", PASSWORD).await;
    let policy = id(&carol
        .post(
            &format!("/v1/orgs/{org}/policies"),
            json!({
                "title": "Acceptable Use",
                "category": "people",
                "body": "# Purpose\n\nStaff **must** lock screens.\n\n<script>alert(1)</script>\n",
            }),
        )
        .await);
    carol
        .ok(
            M::POST,
            &format!("/v1/orgs/{org}/policies/{policy}/submit"),
            None,
            StatusCode::OK,
        )
        .await;
    for step in ["approve", "publish"] {
        alice
            .ok(
                M::POST,
                &format!("/v1/orgs/{org}/policies/{policy}/{step}"),
                None,
                StatusCode::OK,
            )
            .await;
    }
    let campaign = id(&carol
        .post(
            &format!("/v1/orgs/{org}/policies/{policy}/campaigns"),
            json!({"audience": {"kind": "roles", "of": ["employee"]}, "due": "2099-01-01T00:00:00Z"}),
        )
        .await);
    (org, campaign)
}
