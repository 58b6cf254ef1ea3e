//! Portal host names (issue 14, item 7): saving another company's host
//! name claims nothing; the page is served there only once the owner's TXT
//! record is found (through a DNS server the test starts) or a platform
//! operator approves.

use crate::support;

use serde_json::json;
use support::dns::TestDns;
use support::{Api, M, PASSWORD, Server, StatusCode, TestStore, id};

/// The page served at `/` for `host`: its status and text.
async fn page(server: &Server, host: &str) -> (StatusCode, String) {
    let reply = reqwest::Client::new()
        .get(format!("{}/", server.base))
        .header("host", host)
        .send()
        .await
        .expect("page");
    (reply.status(), reply.text().await.expect("text"))
}

/// An MSP and two of its clients, each with its own admin logged in.
async fn two_clients(server: &Server) -> [(Api, String); 2] {
    let admin = server.admin();
    let msp = id(&admin
        .post("/v1/orgs", json!({"name": "MSP", "kind": "msp"}))
        .await);
    let mut out = Vec::new();
    for name in ["Owner Co", "Squatter Co"] {
        let client = id(&admin
            .post(&format!("/v1/orgs/{msp}/clients"), json!({"name": name}))
            .await);
        let email = format!("admin@{}.test", name.replace(' ', "-").to_lowercase());
        admin
            .post(
                &format!("/v1/orgs/{client}/members"),
                json!({"email": email, "name": name, "password": PASSWORD, "role": "org_admin"}),
            )
            .await;
        out.push((server.login(&email, PASSWORD).await, client));
    }
    let [owner, squatter]: [(Api, String); 2] = out.try_into().ok().expect("two");
    [owner, squatter]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_hostname_is_served_only_after_its_txt_record_is_found() {
    let dns = TestDns::start().await;
    let config = regentra_http::cli::serve::AppConfig {
        dns_server: Some(dns.addr),
        ..support::config()
    };
    let store = TestStore::on(support::Backend::Embedded)
        .await
        .expect("a store");
    let server = Server::start_on(store, config, false).await;
    let [(owner, owner_org), (squatter, squatter_org)] = two_clients(&server).await;
    let host = "help.owner.test";

    // The squatter claims the owner's host name first: nothing is served
    // there, and the owner can still claim it.
    squatter
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{squatter_org}/portal"),
            Some(json!({"enabled": true, "slug": "squat", "hostname": host})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(page(&server, host).await.0, StatusCode::NOT_FOUND);
    owner
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{owner_org}/portal"),
            Some(json!({"enabled": true, "slug": "owner", "hostname": host,
                        "branding": {"display_name": "The Real Owner"}})),
            StatusCode::OK,
        )
        .await;
    let challenge = owner
        .get(&format!("/v1/orgs/{owner_org}/portal/hostname"))
        .await;
    assert_eq!(challenge["claim"]["status"], "pending");
    assert_eq!(challenge["txt_name"], "_regentra-challenge.help.owner.test");
    let (txt_name, txt_value) = (
        challenge["txt_name"].as_str().expect("name").to_owned(),
        challenge["txt_value"].as_str().expect("value").to_owned(),
    );
    assert!(txt_value.starts_with("regentra-verify="));

    // Nothing published yet: 422 on `hostname`, saying what to publish.
    let verify = format!("/v1/orgs/{owner_org}/portal/hostname/verify");
    let early = owner.call(M::POST, &verify, None).await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.text
    );
    assert_eq!(early.body["errors"][0]["field"], "hostname");
    assert!(early.text.contains(&txt_value));
    // The squatter's own token published at the name proves nothing for
    // the owner, and the owner's proves nothing for the squatter.
    let squat = squatter
        .get(&format!("/v1/orgs/{squatter_org}/portal/hostname"))
        .await;
    dns.txt(&txt_name, "v=spf1 -all");
    let squatter_verify = format!("/v1/orgs/{squatter_org}/portal/hostname/verify");
    assert_eq!(
        squatter.call(M::POST, &squatter_verify, None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    dns.txt(&txt_name, &txt_value);
    assert_eq!(
        squatter.call(M::POST, &squatter_verify, None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(page(&server, host).await.0, StatusCode::NOT_FOUND);

    // The owner's record is there: verified, and served at the host name.
    let verified = owner.ok(M::POST, &verify, None, StatusCode::OK).await;
    assert_eq!(verified["claim"]["status"], "verified");
    assert_eq!(verified["claim"]["verified_by"], "dns");
    let (status, html) = page(&server, host).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The Real Owner"), "{html}");

    // Now even a proven squatter cannot take the name (409), nor have a
    // tenant approve it (403: only platform operators approve).
    dns.txt(
        &txt_name,
        squat["txt_value"].as_str().expect("the squatter's value"),
    );
    let late = squatter.call(M::POST, &squatter_verify, None).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    let approve = squatter
        .call(
            M::POST,
            &format!("/v1/orgs/{squatter_org}/portal/hostname/approve"),
            None,
        )
        .await;
    assert_eq!(approve.status, StatusCode::FORBIDDEN, "{}", approve.text);
    let (_, html) = page(&server, host).await;
    assert!(html.contains("The Real Owner"));
}
