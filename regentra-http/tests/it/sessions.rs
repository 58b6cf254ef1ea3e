//! Sessions over HTTP (issue 15): an org's security settings and the
//! session duration they impose, sign-out, browser cookies with CSRF, and
//! the sign-in page.

use chrono::Duration;
use serde_json::json;

use crate::support::{self, M, PASSWORD, Server, StatusCode, id};

/// The fields a problem names.
fn fields(reply: &support::Reply) -> Vec<&str> {
    reply.body["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default()
}

/// The admin of a standalone org of their own, signed in.
async fn standalone_admin(server: &Server, email: &str) -> support::Api {
    let admin = server.admin();
    let org = id(&admin
        .post("/v1/orgs", json!({"name": email, "kind": "standalone"}))
        .await);
    admin
        .post(
            &format!("/v1/orgs/{org}/members"),
            json!({"email": email, "name": "Other", "password": PASSWORD, "role": "org_admin"}),
        )
        .await;
    server.login(email, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_security_settings_are_validated_and_bound_the_sessions_of_members() {
    let (server, clock) = support::server_with_clock().await;
    let (boss, msp, client) = support::msp_with_client(&server).await;
    let security = format!("/v1/orgs/{msp}/security");

    let defaults = boss.get(&security).await;
    assert_eq!(defaults["session_hours"], json!(null));
    assert_eq!(defaults["mfa_required"], json!(false));

    // Out of range: every field named, nothing saved.
    let bad = boss
        .call(
            M::PUT,
            &security,
            Some(json!({"session_hours": 721, "mfa_required": true, "mfa_grace_days": 91})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.is_problem());
    assert_eq!(fields(&bad), ["session_hours", "mfa_grace_days"]);
    let unknown = boss
        .call(
            M::PUT,
            &security,
            Some(
                json!({"session_hours": 2, "mfa_required": false, "mfa_grace_days": 0, "idle": 1}),
            ),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert_eq!(boss.get(&security).await, defaults);

    // Another tenant sees nothing.
    let stranger = standalone_admin(&server, "stranger@other.test").await;
    let hidden = stranger.call(M::GET, &security, None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let hidden = stranger
        .call(
            M::PUT,
            &security,
            Some(json!({"session_hours": 1, "mfa_required": false, "mfa_grace_days": 0})),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    // A two-hour limit on the MSP binds its staff's next sign-in, even
    // while they keep using it.
    let saved = boss
        .ok(
            M::PUT,
            &security,
            Some(json!({"session_hours": 2, "mfa_required": true, "mfa_grace_days": 14})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(saved["session_hours"], json!(2));
    assert_eq!(saved["mfa_grace_days"], json!(14));
    assert!(saved["mfa_required_since"].is_string());
    let audit = boss.get(&format!("/v1/orgs/{msp}/audit")).await;
    assert!(
        audit.to_string().contains("org.security_updated"),
        "audited: {audit}"
    );
    let session = server.login("boss@msp.test", PASSWORD).await;
    let tokens = session.get("/v1/me/tokens").await;
    let login = support::items(&tokens)
        .iter()
        .rfind(|t| t["kind"] == "login")
        .expect("a login token")
        .clone();
    assert_eq!(
        login["expires_at"],
        json!("2026-03-02T11:00:00Z"),
        "two hours after sign-in"
    );
    for _ in 0..3 {
        clock.advance(Duration::minutes(39));
        session.get("/v1/me").await;
    }
    clock.advance(Duration::minutes(3));
    let expired = session.call(M::GET, "/v1/me", None).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    // A client's members are not bound by its MSP's setting.
    let client_security = boss.get(&format!("/v1/orgs/{client}/security")).await;
    assert_eq!(client_security["session_hours"], json!(null));
}

/// A browser: no redirects followed, cookies sent by hand.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// One answer as a browser sees it.
struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Page {
    async fn of(response: reqwest::Response) -> Page {
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn problem_type(&self) -> String {
        let body: serde_json::Value = serde_json::from_str(&self.text).unwrap_or_default();
        body["type"].as_str().unwrap_or("").to_owned()
    }
}

/// Posts the sign-in form; `origin` as a browser would send it.
async fn sign_in_form(base: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Page {
    let mut request = browser()
        .post(format!("{base}/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded_body(fields));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    Page::of(request.send().await.expect("sign-in")).await
}

fn serde_urlencoded_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.bytes()
                    .map(|b| match b {
                        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The session cookie (`name=value`) a response sets.
fn session_cookie(page: &Page) -> String {
    page.header("set-cookie")
        .split(';')
        .next()
        .expect("a cookie")
        .to_owned()
}

/// A request of a browser holding `cookie`.
fn with_cookie(method: reqwest::Method, url: String, cookie: &str) -> reqwest::RequestBuilder {
    browser().request(method, url).header("cookie", cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_signs_in_with_a_cookie_and_refuses_csrf() {
    let (server, _clock) = support::server_with_clock().await;
    let base = server.base.clone();
    let (_, msp, _) = support::msp_with_client(&server).await;
    let own_origin = base.clone();

    // The page: a form with labelled fields, under the page headers.
    let form = Page::of(
        browser()
            .get(format!("{base}/sign-in?next=https://evil.test/"))
            .send()
            .await
            .expect("page"),
    )
    .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.header("content-type").starts_with("text/html"));
    assert!(
        form.text.contains(r#"<label for="email">"#),
        "{}",
        form.text
    );
    assert!(form.text.contains(r#"<label for="password">"#));
    assert!(
        form.text.contains(r#"name="next" value="/""#),
        "another host is never a next step: {}",
        form.text
    );
    assert!(form.text.contains("/assets/app.css?v="));
    let csp = form.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(form.header("referrer-policy"), "same-origin");

    // A wrong password and an unknown email: the same words, next to the
    // password field, the email kept.
    let wrong = sign_in_form(
        &base,
        &[
            ("email", "boss@msp.test"),
            ("password", "not the password"),
            ("next", "/"),
        ],
        Some(&own_origin),
    )
    .await;
    let unknown = sign_in_form(
        &base,
        &[
            ("email", "nobody@msp.test"),
            ("password", "not the password"),
            ("next", "/"),
        ],
        None,
    )
    .await;
    for page in [&wrong, &unknown] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.header("set-cookie").is_empty());
        assert!(
            page.text.contains(
                r#"<p class="field-error" id="password-error">The email or the password is not right.</p>"#
            ),
            "{}",
            page.text
        );
    }
    assert!(wrong.text.contains(r#"value="boss@msp.test""#));
    let empty = sign_in_form(&base, &[("email", ""), ("password", "")], None).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .text
            .contains(r#"id="email-error">Enter your email address."#)
    );
    assert!(
        empty
            .text
            .contains(r#"id="password-error">Enter your password."#)
    );
    // Posted from another site (signing the victim in as someone else).
    let cross = sign_in_form(
        &base,
        &[("email", "boss@msp.test"), ("password", PASSWORD)],
        Some("https://evil.test"),
    )
    .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert!(cross.header("set-cookie").is_empty());

    // Success: the cookie and a redirect to `next`, a local path only.
    let evil_next = sign_in_form(
        &base,
        &[
            ("email", "boss@msp.test"),
            ("password", PASSWORD),
            ("next", "//evil.test/x"),
        ],
        Some(&own_origin),
    )
    .await;
    assert_eq!(evil_next.status, StatusCode::SEE_OTHER);
    assert_eq!(evil_next.header("location"), "/");
    let signed_in = sign_in_form(
        &base,
        &[
            ("email", "boss@msp.test"),
            ("password", PASSWORD),
            ("next", &format!("/orgs/{msp}?tab=members")),
        ],
        Some(&own_origin),
    )
    .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(
        signed_in.header("location"),
        format!("/orgs/{msp}?tab=members")
    );
    let set_cookie = signed_in.header("set-cookie");
    assert!(
        set_cookie.starts_with("regentra_session=rgt_"),
        "{set_cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    let cookie = session_cookie(&signed_in);

    // The cookie authenticates reads.
    let me = Page::of(
        with_cookie(M::GET, format!("{base}/v1/me"), &cookie)
            .send()
            .await
            .expect("me"),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let csrf: serde_json::Value = serde_json::from_str(
        &Page::of(
            with_cookie(M::GET, format!("{base}/v1/auth/csrf"), &cookie)
                .send()
                .await
                .expect("csrf"),
        )
        .await
        .text,
    )
    .expect("json");
    let token = csrf["csrf_token"].as_str().expect("a token").to_owned();

    // A change with the cookie: refused without the token, with a wrong
    // one, and from another origin; done with the right one.
    let create = |token: Option<&str>, origin: Option<&str>| {
        let mut request = with_cookie(M::POST, format!("{base}/v1/me/tokens"), &cookie)
            .json(&json!({"name": "from the browser"}));
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { Page::of(request.send().await.expect("create")).await }
    };
    let wrong_token = "0".repeat(64);
    for (token, origin, problem) in [
        (None, None, "urn:regentra:problem:csrf"),
        (
            None,
            Some("https://evil.test"),
            "urn:regentra:problem:cross-origin",
        ),
        (
            Some(wrong_token.as_str()),
            None,
            "urn:regentra:problem:csrf",
        ),
        (
            Some(token.as_str()),
            Some("https://evil.test"),
            "urn:regentra:problem:cross-origin",
        ),
        (
            Some(token.as_str()),
            Some("null"),
            "urn:regentra:problem:cross-origin",
        ),
    ] {
        let refused = create(token, origin).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{token:?} {origin:?}"
        );
        assert!(
            refused
                .header("content-type")
                .starts_with("application/problem+json")
        );
        assert_eq!(refused.problem_type(), problem);
    }
    assert_eq!(create(Some(&token), None).await.status, StatusCode::CREATED);
    assert_eq!(
        create(Some(&token), Some(&own_origin)).await.status,
        StatusCode::CREATED
    );

    // A cross-site HTML form post to sign out: refused without the token.
    let sign_out = |fields: Vec<(&'static str, String)>, origin: Option<&str>| {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = with_cookie(M::POST, format!("{base}/sign-out"), &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { Page::of(request.send().await.expect("sign out")).await }
    };
    let forged = sign_out(vec![], Some("https://evil.test")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = sign_out(vec![("csrf_token", wrong_token.clone())], None).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = sign_out(
        vec![("csrf_token", token.clone())],
        Some("https://evil.test"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        Page::of(
            with_cookie(M::GET, format!("{base}/v1/me"), &cookie)
                .send()
                .await
                .expect("me")
        )
        .await
        .status,
        StatusCode::OK,
        "still signed in"
    );

    // A WebSocket opened with the cookie must come from our own pages.
    let socket = |origin: Option<&str>| {
        let mut request = with_cookie(
            M::GET,
            format!("{base}/v1/orgs/{msp}/chats/{msp}/ws"),
            &cookie,
        );
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { Page::of(request.send().await.expect("ws")).await }
    };
    assert_eq!(
        socket(Some("https://evil.test")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(socket(None).await.status, StatusCode::FORBIDDEN);
    let ours = socket(Some(&own_origin)).await.status;
    assert!(
        ours != StatusCode::FORBIDDEN && ours != StatusCode::UNAUTHORIZED,
        "from our own page it gets past the caller check: {ours}"
    );

    // Signing out with the form: the session ends and the cookie goes.
    let out = sign_out(vec![("csrf_token", token.clone())], Some(&own_origin)).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header("location"), "/sign-in?signed_out=1");
    assert!(out.header("set-cookie").starts_with("regentra_session=;"));
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    let after = Page::of(
        with_cookie(M::GET, format!("{base}/v1/me"), &cookie)
            .send()
            .await
            .expect("me"),
    )
    .await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the cookie's session is over"
    );
    // Posting the form again just goes to the sign-in page.
    let again = sign_out(vec![("csrf_token", token)], None).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(again.header("location").starts_with("/sign-in?next="));

    // Too many wrong passwords: the limit, said next to the field.
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            sign_in_form(
                &base,
                &[("email", "boss@msp.test"), ("password", "wrong again")],
                None,
            )
            .await,
        );
    }
    let limited = last.expect("a page");
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited
            .text
            .contains(r#"id="password-error">Too many attempts."#),
        "{}",
        limited.text
    );
    assert!(!limited.header("retry-after").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_clients_sign_out_and_manage_their_sessions() {
    let server = Server::embedded().await;
    support::msp_with_client(&server).await;
    let laptop = server.login("boss@msp.test", PASSWORD).await;
    let phone = server.login("boss@msp.test", PASSWORD).await;

    // Bearer clients need no CSRF token, whatever Origin they send.
    let created = laptop
        .http
        .post(format!("{}/v1/me/tokens", server.base))
        .bearer_auth(laptop.token.as_deref().expect("token"))
        .header("origin", "https://elsewhere.test")
        .json(&json!({"name": "CI"}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let api_secret = created.json::<serde_json::Value>().await.expect("json")["secret"]
        .as_str()
        .expect("secret")
        .to_owned();

    let sessions = laptop.get("/v1/me/sessions").await;
    let sessions = sessions.as_array().expect("a list");
    assert_eq!(
        sessions.len(),
        3,
        "msp_with_client's, the laptop's, the phone's: {sessions:?}"
    );
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert!(current[0]["expires_at"].is_string());
    assert_eq!(current[0]["ip"], "127.0.0.1");
    let phone_id = phone
        .get("/v1/me/sessions")
        .await
        .as_array()
        .expect("a list")
        .iter()
        .find(|s| s["current"] == true)
        .map(id)
        .expect("the phone's");

    // Ending the phone's session from the laptop.
    laptop
        .ok(
            M::DELETE,
            &format!("/v1/me/sessions/{phone_id}"),
            None,
            StatusCode::NO_CONTENT,
        )
        .await;
    assert_eq!(
        phone.call(M::GET, "/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let stranger = standalone_admin(&server, "stranger@other.test").await;
    let laptop_id = laptop
        .get("/v1/me/sessions")
        .await
        .as_array()
        .expect("a list")
        .iter()
        .find(|s| s["current"] == true)
        .map(id)
        .expect("the laptop's");
    let hidden = stranger
        .call(M::DELETE, &format!("/v1/me/sessions/{laptop_id}"), None)
        .await;
    assert_eq!(
        hidden.status,
        StatusCode::NOT_FOUND,
        "another user's session"
    );

    // An API token is not signed out of.
    let api = server.with_token(&api_secret);
    let refused = api.call(M::POST, "/v1/auth/logout", None).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["errors"][0]["field"], "token");

    // Signing out ends the laptop's session, and only it.
    let out = laptop.call(M::POST, "/v1/auth/logout", None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert_eq!(
        laptop.call(M::GET, "/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.call(M::GET, "/v1/me", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        laptop.call(M::POST, "/v1/auth/logout", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_have_a_stylesheet_and_a_branded_not_found() {
    let server = Server::embedded().await;
    let base = &server.base;
    let css = Page::of(
        browser()
            .get(format!("{base}/assets/app.css"))
            .send()
            .await
            .expect("css"),
    )
    .await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.header("cache-control").contains("max-age"));
    assert!(css.text.contains("--brand") && css.text.contains(":focus-visible"));
    let etag = css.header("etag").to_owned();
    let cached = browser()
        .get(format!("{base}/assets/app.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("css");
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    let missing = Page::of(
        browser()
            .get(format!("{base}/no/such/page"))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("404"),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.header("content-type").starts_with("text/html"));
    assert!(missing.text.contains("Page not found") && missing.text.contains("Regentra"));
    let api = Page::of(
        browser()
            .get(format!("{base}/v1/no/such/route"))
            .header("accept", "text/html")
            .send()
            .await
            .expect("404"),
    )
    .await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(
        api.header("content-type")
            .starts_with("application/problem+json")
    );
}

/// The value of the hidden field `name` in a page.
fn hidden_field(page: &Page, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.text.find(&marker).expect("the field") + marker.len();
    page.text[start..]
        .split('"')
        .next()
        .expect("a value")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_asks_for_the_code_of_an_account_with_mfa() {
    use regentra_core::Clock as _;
    let (server, clock) = support::server_with_clock().await;
    let base = server.base.clone();
    let (boss, _, _) = support::msp_with_client(&server).await;
    let setup = boss.post("/v1/me/mfa/enroll", json!({})).await;
    let secret = setup["secret"].as_str().expect("secret").to_owned();
    boss.ok(
        M::POST,
        "/v1/me/mfa/confirm",
        Some(json!({ "code": crate::mfa::code_at(&secret, clock.now()) })),
        StatusCode::OK,
    )
    .await;

    // The password: no session yet, the code form.
    let step = sign_in_form(
        &base,
        &[
            ("email", "boss@msp.test"),
            ("password", PASSWORD),
            ("next", "/after"),
        ],
        None,
    )
    .await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.text);
    assert!(
        step.header("set-cookie").is_empty(),
        "no session before the code"
    );
    assert_eq!(step.header("cache-control"), "no-store");
    assert!(step.text.contains(r#"<label for="code">"#));
    let challenge = hidden_field(&step, "challenge");
    assert!(challenge.starts_with("rgc_"), "{challenge}");
    assert_eq!(hidden_field(&step, "next"), "/after");

    let post_code = |code: String, origin: Option<String>| {
        let body = format!("challenge={challenge}&next=%2Fafter&code={code}");
        let mut request = browser()
            .post(format!("{base}/sign-in/code"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { Page::of(request.send().await.expect("code")).await }
    };
    // From another site, or a wrong code: no session.
    clock.advance(Duration::seconds(30));
    let right = crate::mfa::code_at(&secret, clock.now());
    let cross = post_code(right.clone(), Some("https://evil.test".to_owned())).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let refused = post_code(wrong.to_owned(), None).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text
            .contains(r#"id="code-error">That code is not right."#),
        "{}",
        refused.text
    );
    assert!(refused.header("set-cookie").is_empty());
    // The right code: the cookie, and on to `next`.
    let done = post_code(right, Some(base.clone())).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(done.header("location"), "/after");
    let cookie = session_cookie(&done);
    assert!(cookie.starts_with("regentra_session=rgt_"));
    let me = Page::of(
        with_cookie(M::GET, format!("{base}/v1/me"), &cookie)
            .send()
            .await
            .expect("me"),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);
    // The challenge is spent.
    clock.advance(Duration::seconds(30));
    let again = post_code(crate::mfa::code_at(&secret, clock.now()), None).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.text.contains("Sign in again"), "{}", again.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_cookie_is_secure_and_host_prefixed() {
    use regentra_http::server::{AppState, HttpConfig};
    // The app as `serve` builds it, with the state a server behind https
    // has: `--public-url https://...` sets `cookie_secure`.
    let https = AppState::new(std::sync::Arc::new(regentra_core::Regentra::new(
        support::TestStore::on(support::Backend::Embedded)
            .await
            .expect("embedded")
            .store,
    )));
    assert!(!https.cookie_secure, "plain http by default");
    assert!(
        https
            .with_public_url("https://desk.example.com/")
            .cookie_secure
    );
    let store = support::TestStore::on(support::Backend::Embedded)
        .await
        .expect("embedded");
    let app =
        regentra_http::cli::serve::App::build(store.store.clone(), support::config(), &mut |_| {})
            .await
            .expect("app");
    let state = AppState {
        cookie_secure: true,
        ..AppState::new(app.regentra.clone())
    };
    let router = regentra_http::server::router(state, &HttpConfig::default()).expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let host = listener.local_addr().expect("address").to_string();
    let base = format!("http://{host}");
    let served = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    let operator = support::Endpoint {
        base: base.clone(),
        token: app.bootstrap_token.clone().expect("a bootstrap token"),
    };
    operator
        .admin()
        .ok(
            M::PUT,
            "/v1/me/password",
            Some(json!({ "password": PASSWORD })),
            StatusCode::NO_CONTENT,
        )
        .await;
    let fields = [("email", "admin@localhost"), ("password", PASSWORD)];

    // The page is served over https, so an http origin is another site's.
    let plain = sign_in_form(&base, &fields, Some(&format!("http://{host}"))).await;
    assert_eq!(plain.status, StatusCode::FORBIDDEN);
    let signed_in = sign_in_form(&base, &fields, Some(&format!("https://{host}"))).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    let set_cookie = signed_in.header("set-cookie");
    assert!(
        set_cookie.starts_with("__Host-regentra_session=rgt_"),
        "{set_cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "; Secure"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let cookie = session_cookie(&signed_in);
    let me = |cookie: String| {
        let url = format!("{base}/v1/me");
        async move {
            Page::of(with_cookie(M::GET, url, &cookie).send().await.expect("me"))
                .await
                .status
        }
    };
    assert_eq!(me(cookie.clone()).await, StatusCode::OK);
    // The same secret under the plain name (which any http page of the
    // domain could have planted) is not the session cookie here.
    let unprefixed = cookie.replacen("__Host-", "", 1);
    assert_eq!(me(unprefixed).await, StatusCode::UNAUTHORIZED);

    // Signing out through the API with the cookie: the CSRF token, then
    // the session ends and the cookie is cleared.
    let logout = |token: Option<String>| {
        let mut request = with_cookie(M::POST, format!("{base}/v1/auth/logout"), &cookie);
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        async move { Page::of(request.send().await.expect("logout")).await }
    };
    assert_eq!(logout(None).await.status, StatusCode::FORBIDDEN);
    let csrf = Page::of(
        with_cookie(M::GET, format!("{base}/v1/auth/csrf"), &cookie)
            .send()
            .await
            .expect("csrf"),
    )
    .await;
    let token: serde_json::Value = serde_json::from_str(&csrf.text).expect("json");
    let out = logout(token["csrf_token"].as_str().map(str::to_owned)).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    let cleared = out.header("set-cookie");
    assert!(
        cleared.starts_with("__Host-regentra_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(me(cookie.clone()).await, StatusCode::UNAUTHORIZED);
    served.abort();
}
