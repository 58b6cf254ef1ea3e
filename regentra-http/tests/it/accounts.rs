//! Accounts and memberships over HTTP (issue 14, items 1, 2, 13, 14): an
//! org admin cannot pre-register an account for another tenant, adding a
//! member answers the same whether the email has an account, an MSP's
//! removed staff lose their clients, and an org keeps its last admin.

use serde_json::{Value, json};

use crate::support::{self, M, PASSWORD, Server, StatusCode, id};

/// The first field a problem names.
fn field(reply: &support::Reply) -> &str {
    reply.body["errors"][0]["field"].as_str().unwrap_or("")
}

async fn user_id(api: &support::Api) -> String {
    api.get("/v1/me").await["user_id"]
        .as_str()
        .expect("user id")
        .to_owned()
}

/// An MSP with an admin (added by the operator, with a password) and one
/// client: the admin, the MSP and the client.
async fn msp(server: &Server, name: &str) -> (support::Api, String, String) {
    let admin = server.admin();
    let msp = id(&admin
        .post("/v1/orgs", json!({"name": name, "kind": "msp"}))
        .await);
    let email = format!("boss@{}.test", name.to_lowercase());
    let added = admin
        .post(
            &format!("/v1/orgs/{msp}/members"),
            json!({"email": email, "name": "Boss", "password": PASSWORD, "role": "msp_admin"}),
        )
        .await;
    assert_eq!(added["status"], "added", "the operator's answer: {added}");
    assert!(added["user_id"].is_string(), "names the account: {added}");
    let boss = server.login(&email, PASSWORD).await;
    let client = id(&boss
        .post(
            &format!("/v1/orgs/{msp}/clients"),
            json!({"name": format!("{name} client")}),
        )
        .await);
    (boss, msp, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_cannot_pre_register_an_account_for_another_tenant() {
    let server = Server::embedded().await;
    let (attacker, _, attackers_client) = msp(&server, "Evil").await;
    let (victim_admin, _, victims_client) = msp(&server, "Good").await;
    let email = "ceo@good-client.test";
    let chosen = "attacker chosen secret";

    // The attacker plants the account with a password of their own, signs
    // in as it, and removes the membership (the account stays).
    attacker
        .ok(
            M::POST,
            &format!("/v1/orgs/{attackers_client}/members"),
            Some(
                json!({"email": email, "name": "Planted", "password": chosen, "role": "employee"}),
            ),
            StatusCode::ACCEPTED,
        )
        .await;
    let planted = server.login(email, chosen).await;
    let planted_id = user_id(&planted).await;
    attacker
        .ok(
            M::DELETE,
            &format!("/v1/orgs/{attackers_client}/members/{planted_id}"),
            None,
            StatusCode::NO_CONTENT,
        )
        .await;

    // The victim's admin adds that email as an org admin, with a password,
    // and a new email the same way: the same status and body, no user id.
    let add = |email: &str| {
        let (api, path) = (
            victim_admin.clone(),
            format!("/v1/orgs/{victims_client}/members"),
        );
        let body = json!({"email": email, "name": "Someone", "password": "the victim's password", "role": "org_admin"});
        async move { api.call(M::POST, &path, Some(body)).await }
    };
    let existing = add(email).await;
    let new = add("cfo@good-client.test").await;
    assert_eq!(existing.status, StatusCode::ACCEPTED, "{}", existing.text);
    assert_eq!(new.status, existing.status);
    assert_eq!(
        existing.body,
        json!({"email": email, "role": "org_admin", "status": "accepted"})
    );
    assert_eq!(
        new.body,
        json!({"email": "cfo@good-client.test", "role": "org_admin", "status": "accepted"})
    );
    assert!(!existing.text.contains(&planted_id));

    // The attacker's session reaches nothing of the victim's client, and
    // the victim's password was not applied.
    let r = planted
        .call(M::GET, &format!("/v1/orgs/{victims_client}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let login = |password: &'static str| {
        let anon = server.anonymous();
        async move {
            anon.call(
                M::POST,
                "/v1/auth/login",
                Some(json!({"email": email, "password": password})),
            )
            .await
            .status
        }
    };
    assert_eq!(
        login("the victim's password").await,
        StatusCode::UNAUTHORIZED
    );
    // The operator sees the refused attach; tenants cannot read that chain.
    let events = server.admin().get("/v1/platform/audit").await;
    let refused = support::items(&events)
        .iter()
        .find(|e| e["action"] == "membership.attach_refused")
        .cloned()
        .expect("the refused attach is in the platform chain");
    assert_eq!(refused["details"]["email"], email);
    assert_eq!(
        refused["details"]["org"],
        Value::String(victims_client.clone())
    );
    let r = victim_admin.call(M::GET, "/v1/platform/audit", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // The operator attaches the existing account: with a password it is
    // refused naming `password`; without, the attacker's password and
    // session stop working.
    let operator = server.admin();
    let path = format!("/v1/orgs/{victims_client}/members");
    let refused = operator
        .call(
            M::POST,
            &path,
            Some(json!({"email": email, "name": "CEO", "password": "operator's choice!", "role": "org_admin"})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(field(&refused), "password");
    let attached = operator
        .ok(
            M::POST,
            &path,
            Some(json!({"email": email, "name": "CEO", "role": "org_admin"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(attached["user_id"], Value::String(planted_id.clone()));
    assert_eq!(login(chosen).await, StatusCode::UNAUTHORIZED);
    let r = planted.call(M::GET, "/v1/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msp_staff_and_last_admins_over_http() {
    let server = Server::embedded().await;
    let (boss, msp, client) = msp(&server, "Northwind").await;
    let operator = server.admin();
    let tech = operator
        .post(
            &format!("/v1/orgs/{msp}/members"),
            json!({"email": "tech@northwind.test", "name": "Tech", "password": PASSWORD, "role": "technician"}),
        )
        .await["user_id"]
        .as_str()
        .expect("user id")
        .to_owned();
    boss.post(
        &format!("/v1/orgs/{msp}/clients/{client}/staff"),
        json!({"user_id": tech, "role": "technician"}),
    )
    .await;
    let tech_api = server.login("tech@northwind.test", PASSWORD).await;
    tech_api.get(&format!("/v1/orgs/{client}")).await;

    // Removed from the MSP: the client assignment goes with it.
    boss.ok(
        M::DELETE,
        &format!("/v1/orgs/{msp}/members/{tech}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let r = tech_api
        .call(M::GET, &format!("/v1/orgs/{client}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // The MSP's only admin can neither leave nor step down.
    let me = user_id(&boss).await;
    let r = boss
        .call(M::DELETE, &format!("/v1/orgs/{msp}/members/{me}"), None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(field(&r), "user_id");
    let r = operator
        .call(
            M::PATCH,
            &format!("/v1/orgs/{msp}/members/{me}"),
            Some(json!({"role": "technician"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(field(&r), "role");
}

/// Issue 15: the platform operator, who starts with the bootstrap token
/// only, sets a first password without a current one and signs in with it;
/// `/v1/me` says who is the operator. On both stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_operator_sets_a_password_with_the_bootstrap_token_and_signs_in() {
    for backend in [support::Backend::Embedded, support::Backend::Postgres] {
        let Some(server) = Server::on(backend).await else {
            continue;
        };
        let email = regentra_http::cli::serve::DEFAULT_ADMIN_EMAIL;
        let bootstrap = server.admin();
        let me = bootstrap.get("/v1/me").await;
        assert_eq!(me["platform_operator"], true, "{me}");
        let login = |password: &'static str| {
            let anonymous = server.anonymous();
            async move {
                anonymous
                    .call(
                        M::POST,
                        "/v1/auth/login",
                        Some(json!({"email": email, "password": password})),
                    )
                    .await
                    .status
            }
        };
        let passphrase = "sturdy violet lanterns hum at noon";
        assert_eq!(
            login(passphrase).await,
            StatusCode::UNAUTHORIZED,
            "no password yet"
        );
        // Weak first passwords are refused, naming the field and why.
        for weak in ["aaaaaaaaaaaa", "            ", "password1234", email] {
            let reply = bootstrap
                .call(M::PUT, "/v1/me/password", Some(json!({"password": weak})))
                .await;
            assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}");
            assert_eq!(field(&reply), "password", "{}", reply.text);
            assert!(reply.text.contains("too easy to guess"), "{}", reply.text);
        }
        // The first one needs no current password.
        bootstrap
            .ok(
                M::PUT,
                "/v1/me/password",
                Some(json!({"password": passphrase})),
                StatusCode::NO_CONTENT,
            )
            .await;
        let operator = server.login(email, passphrase).await;
        let me_again = operator.get("/v1/me").await;
        assert_eq!(me_again["platform_operator"], true, "{me_again}");
        assert_eq!(me_again["user_id"], me["user_id"]);
        // Now the current one is needed, even with the bootstrap token.
        let reply = bootstrap
            .call(
                M::PUT,
                "/v1/me/password",
                Some(json!({"password": "another granite lantern story"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field(&reply), "current_password", "{}", reply.text);
        assert_eq!(login(passphrase).await, StatusCode::OK, "unchanged");
        // Anyone else is not the operator.
        let (boss, _, _) = msp(&server, "Plain").await;
        assert_eq!(boss.get("/v1/me").await["platform_operator"], false);
    }
}
