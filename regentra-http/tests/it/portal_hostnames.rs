//! Portal host names (issue 14, item 7): saving another company's host
//! name claims nothing; the page is served there only once the owner's TXT
//! record is found (through a DNS server the test starts) or a platform
//! operator approves. A verified host name then serves that portal and
//! nothing else (`server::sites`), and a session started there works only
//! there.

use crate::portal_pages::two_portals;
use crate::support;

use serde_json::json;
use support::browser::{Browser, Page};
use support::dns::TestDns;
use support::{Api, M, PASSWORD, Reply, Server, StatusCode, TestStore, id};

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

/// Acme's and Globex's portals ([`two_portals`]), Acme's at its own host
/// name `help.acme.test` (approved by the platform operator), Globex's
/// host name `help.globex.test` claimed but never verified.
async fn acme_at_its_own_host(server: &Server) -> (Api, String, String) {
    let (boss, acme, globex) = two_portals(server).await;
    for (org, host) in [(&acme, "help.acme.test"), (&globex, "help.globex.test")] {
        boss.ok(
            M::PATCH,
            &format!("/v1/orgs/{org}/portal"),
            Some(json!({"hostname": host})),
            StatusCode::OK,
        )
        .await;
    }
    server
        .admin()
        .ok(
            M::POST,
            &format!("/v1/orgs/{acme}/portal/hostname/approve"),
            None,
            StatusCode::OK,
        )
        .await;
    (boss, acme, globex)
}

/// Signs `email` in on the portal `slug` through `browser`.
async fn portal_sign_in(browser: &Browser, slug: &str, email: &str) -> Page {
    let page = browser
        .post(
            &format!("/portal/{slug}/sign-in"),
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    page
}

/// A request to `path` on `host` (with `token` as bearer, if any).
async fn on_host(server: &Server, host: &str, method: M, path: &str, token: Option<&str>) -> Reply {
    let mut request = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .request(method, format!("{}{path}", server.base))
        .header("host", host);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    support::reply(request.send().await.expect("an answer")).await
}

#[tokio::test]
async fn a_portals_own_host_name_serves_that_portal_and_nothing_else() {
    let server = Server::embedded().await;
    let (boss, acme, _) = acme_at_its_own_host(&server).await;
    let host = "help.acme.test";
    let ann = Browser::on_host(&server.base, host);

    // The portal works there: its root, its sign-in, its pages, the files
    // its pages load, and a session that is the host's alone.
    let root = ann.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.location(), "/portal/acme");
    let sign_in = ann.get("/portal/acme/sign-in").await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert!(sign_in.shows("Sign in to Acme help desk"));
    let signed_in = portal_sign_in(&ann, "acme", "ann@acme.test").await;
    let cookie = signed_in.header("set-cookie");
    assert!(cookie.starts_with("regentra_session="), "{cookie}");
    assert!(
        !cookie.to_ascii_lowercase().contains("domain"),
        "host-only: {cookie}"
    );
    for page in [
        "/portal/acme",
        "/portal/acme/tickets",
        "/portal/acme/kb",
        "/portal/acme/forgot-password",
    ] {
        let shown = ann.get(page).await;
        assert_eq!(shown.status, StatusCode::OK, "{page}: {}", shown.html);
    }
    assert!(ann.get("/portal/acme").await.shows("Hello, Ann"));
    for asset in [
        "/assets/app.css",
        "/assets/chat.js",
        "/portal/acme/favicon.svg",
    ] {
        assert_eq!(ann.get(asset).await.status, StatusCode::OK, "{asset}");
    }
    // The chat's page, and the API paths its script uses for it.
    let form = ann.get("/portal/acme/chat").await;
    let started = ann
        .post(
            "/portal/acme/chat",
            &[
                ("csrf_token", &form.input("csrf_token").expect("token")),
                ("message", "Hello from our own domain"),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.html);
    let chat = started
        .location()
        .split(['?', '#'])
        .next()
        .and_then(|path| path.rsplit('/').next())
        .expect("the chat's page")
        .to_owned();
    let view = ann.get(&format!("/v1/orgs/{acme}/chats/{chat}")).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.html);
    let messages = ann
        .get(&format!("/v1/orgs/{acme}/chats/{chat}/messages"))
        .await;
    assert_eq!(messages.status, StatusCode::OK, "{}", messages.html);
    assert!(
        messages.html.contains("Hello from our own domain"),
        "{}",
        messages.html
    );

    // Nothing else: the product's pages, its API (even with a valid
    // token), other portals: the portal's own 404 page, or a problem.
    for path in [
        "/sign-in",
        "/account",
        "/forgot-password",
        "/invite?token=x",
        "/app",
        "/healthz",
        "/portal/globex",
        "/portal/globex/sign-in",
        "/portal/acme-other",
    ] {
        let refused = ann.get(path).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            refused.header("content-type").starts_with("text/html"),
            "{path}"
        );
        assert!(refused.shows("Page not found"), "{path}");
        assert!(refused.shows("Acme help desk"), "branded: {path}");
        assert!(!refused.shows("Globex"), "{path}");
    }
    let operator = server.admin().token.clone();
    for (method, path) in [
        (M::GET, "/v1/orgs".to_owned()),
        (M::GET, "/v1/me".to_owned()),
        (M::GET, "/v1/openapi.json".to_owned()),
        (M::POST, "/v1/auth/login".to_owned()),
        (M::GET, format!("/v1/orgs/{acme}/portal")),
        (M::GET, format!("/v1/orgs/{acme}/tickets")),
        (M::GET, format!("/v1/orgs/{acme}/chats")),
    ] {
        let refused = on_host(&server, host, method.clone(), &path, operator.as_deref()).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert!(refused.is_problem(), "{method} {path}: {}", refused.text);
        assert_eq!(refused.body["detail"], "no such route", "{path}");
    }
    // Ann's session reaches the product's API nowhere on this host.
    assert_eq!(ann.get("/v1/me").await.status, StatusCode::NOT_FOUND);

    // The server's own address still serves everything.
    assert_eq!(
        boss.call(M::GET, "/v1/me", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        server.admin().call(M::GET, "/v1/orgs", None).await.status,
        StatusCode::OK
    );
    let main = Browser::new(&server.base);
    for page in [
        "/sign-in",
        "/portal/acme/sign-in",
        "/portal/globex/sign-in",
        "/assets/app.css",
    ] {
        assert_eq!(main.get(page).await.status, StatusCode::OK, "{page}");
    }
    assert_eq!(
        on_host(
            &server,
            "localhost",
            M::GET,
            "/v1/orgs",
            operator.as_deref()
        )
        .await
        .status,
        StatusCode::OK,
        "any host that is no portal's is the server's own"
    );
}

#[tokio::test]
async fn an_unverified_host_name_is_no_portals_and_stays_as_it_was() {
    let server = Server::embedded().await;
    acme_at_its_own_host(&server).await;
    let pending = "help.globex.test";
    let operator = server.admin().token.clone();
    // No portal is served at its root, and nothing is held to Globex's
    // portal: it is any host, as before a claim.
    let root = on_host(&server, pending, M::GET, "/", None).await;
    assert_eq!(root.status, StatusCode::NOT_FOUND);
    let browser = Browser::on_host(&server.base, pending);
    let root = browser.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.location(), "/app");
    assert_eq!(
        on_host(&server, pending, M::GET, "/v1/orgs", operator.as_deref())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        browser.get("/portal/acme/sign-in").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_session_started_on_a_portal_host_works_only_there() {
    let server = Server::embedded().await;
    let (boss, acme, _) = acme_at_its_own_host(&server).await;
    let host = "help.acme.test";
    let on_portal_host = Browser::on_host(&server.base, host);
    portal_sign_in(&on_portal_host, "acme", "ann@acme.test").await;
    let bound = on_portal_host.cookie().expect("a session");
    let secret = bound.split_once('=').expect("name=value").1.to_owned();
    assert_eq!(
        on_portal_host.get("/portal/acme").await.status,
        StatusCode::OK
    );

    // The same cookie sent to the server's own address is no session:
    // not on the portal's pages there, not on the API, not as a bearer.
    let main = Browser::new(&server.base);
    main.hold_cookie(&bound);
    let page = main.get("/portal/acme").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        page.location().contains("reason=expired"),
        "{}",
        page.location()
    );
    main.hold_cookie(&bound);
    assert_eq!(main.get("/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(main.get("/account").await.status, StatusCode::SEE_OTHER);
    let bearer = server.with_token(&secret);
    assert_eq!(
        bearer.call(M::GET, "/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bearer
            .call(M::GET, &format!("/v1/orgs/{acme}/tickets"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Nor the other way: a session of the server's own address is none
    // on the portal's host.
    let elsewhere = Browser::new(&server.base);
    portal_sign_in(&elsewhere, "acme", "ann@acme.test").await;
    let own = elsewhere.cookie().expect("a session");
    let carried = Browser::on_host(&server.base, host);
    carried.hold_cookie(&own);
    let page = carried.get("/portal/acme").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().contains("reason=expired"));
    assert_eq!(elsewhere.get("/portal/acme").await.status, StatusCode::OK);

    // Once the host name is no longer the portal's, what was signed in
    // there works nowhere, and the host is any host again.
    boss.ok(
        M::PATCH,
        &format!("/v1/orgs/{acme}/portal"),
        Some(json!({"hostname": "support.acme.test"})),
        StatusCode::OK,
    )
    .await;
    let after = on_portal_host.get("/portal/acme").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().contains("reason=expired"));
    let operator = server.admin().token.clone();
    assert_eq!(
        on_host(&server, host, M::GET, "/v1/orgs", operator.as_deref())
            .await
            .status,
        StatusCode::OK
    );
}
