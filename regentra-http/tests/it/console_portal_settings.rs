//! The client portal's settings in the staff console without JavaScript
//! (issue 20): branding saved and seen on the real portal, errors next to
//! their fields with what was typed kept (a slug another org holds, a bad
//! color, a logo that is no image), a logo uploaded and removed, a host
//! name claimed, checked against a DNS server the test starts and
//! verified; the doors that stay shut (a technician or viewer who sees the
//! settings but no form, a forged post, another MSP's admin). And an
//! archived client's portal: its page, logo, host name, sign-in, password
//! reset and a pending invitation answer as unknown until it is restored.

use regentra_core::mail::{EmailKind, OutgoingEmail};
use regentra_core::store::{self, Scope};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_pages::{Desk, desk, signed_in};
use crate::support::browser::{Browser, Page, Part};
use crate::support::dns::TestDns;
use crate::support::{self, M, PASSWORD, Server, TestStore};

/// The first bytes of a PNG file: enough for the core to call it one.
fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    bytes.extend_from_slice(b"\0\0\0\rIHDR not a real picture, but a PNG by its signature");
    bytes
}

fn token(page: &Page) -> String {
    page.input("csrf_token")
        .unwrap_or_else(|| panic!("no CSRF token on the page: {}", page.html))
}

fn page_path(org: &str) -> String {
    format!("/app/{org}/settings/portal")
}

/// The main form's fields, with `changes` over a full set of values.
fn fields<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("csrf_token", csrf),
        ("enabled", "on"),
        ("slug", "acme-help"),
        ("show_compliance_dashboard", "on"),
        ("display_name", "Acme Help Desk"),
        ("primary_color", "#123456"),
        ("accent_color", "#0b5d3b"),
        ("welcome_text", "Welcome to the Acme help desk."),
        ("logo_url", ""),
    ];
    for (name, value) in changes {
        match all.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => all.push((name, value)),
        }
    }
    all
}

/// The org's portal settings as the API shows them to the MSP's admin.
async fn settings(d: &Desk, org: &str) -> Value {
    d.boss.get(&format!("/v1/orgs/{org}/portal")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branding_saved_in_the_console_shows_on_the_real_portal() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let path = page_path(&d.acme);

    let index = boss.get(&format!("/app/{}/settings", d.acme)).await;
    assert!(
        index.html.contains(&format!("href=\"{path}\"")),
        "the index links the portal page: {}",
        index.html
    );
    let shown = boss.get(&path).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(shown.shows("The portal is off"), "{}", shown.html);
    assert!(shown.html.contains("data-portal-preview"), "a preview");
    let csrf = token(&shown);

    // Bad colors and a malformed slug: each error by its field, what was
    // typed kept, nothing saved.
    let bad = boss
        .post(
            &path,
            &fields(
                &csrf,
                &[
                    ("slug", "Acme Help"),
                    ("primary_color", "#fff"),
                    ("accent_color", "#ffd700"),
                ],
            ),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    assert!(bad.field_error("slug").is_some(), "{}", bad.html);
    assert!(
        bad.field_error("primary_color")
            .is_some_and(|e| e.contains("#rrggbb")),
        "{}",
        bad.html
    );
    let contrast = bad.field_error("accent_color").expect("a contrast error");
    assert!(contrast.contains(":1"), "the ratio is said: {contrast}");
    assert_eq!(bad.input("slug").as_deref(), Some("Acme Help"));
    assert_eq!(bad.input("display_name").as_deref(), Some("Acme Help Desk"));
    assert_eq!(settings(&d, &d.acme).await["enabled"], false);

    let saved = boss.post(&path, &fields(&csrf, &[])).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let after = boss.get(saved.location()).await;
    assert!(after.shows("Portal settings saved."));
    // The full address (the server's public URL, here the default).
    let address = "http://127.0.0.1:8080/portal/acme-help";
    assert!(
        after
            .html
            .contains(&format!("<a href=\"{address}\">{address}</a>")),
        "the portal's full address, as a link: {}",
        after.html
    );
    // The preview (without the script) shows the saved branding.
    assert!(after.html.contains("--brand: #123456; --accent: #0b5d3b"));
    assert!(after.shows("Acme Help Desk"));

    // The real portal wears it.
    let visitor = Browser::new(&server.base);
    let portal = visitor.get("/portal/acme-help/sign-in").await;
    assert_eq!(portal.status, StatusCode::OK, "{}", portal.html);
    assert!(portal.shows("Sign in to Acme Help Desk"), "{}", portal.html);
    assert!(portal.shows("Welcome to the Acme help desk."));
    assert!(portal.html.contains("--brand: #123456"));
    assert!(portal.html.contains("--accent: #0b5d3b"));
    visitor
        .post(
            "/portal/acme-help/sign-in",
            &[("email", "ann@acme.test"), ("password", PASSWORD)],
        )
        .await;
    let home = visitor.get("/portal/acme-help").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.shows("Compliance status"), "the dashboard is shown");
    assert!(!home.shows("Your assets"), "the assets are not");

    // Another client cannot take the address: the error by the slug.
    let globex = page_path(&d.globex);
    let csrf_globex = token(&boss.get(&globex).await);
    let taken = boss
        .post(
            &globex,
            &fields(
                &csrf_globex,
                &[("display_name", "Globex"), ("slug", "acme-help")],
            ),
        )
        .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        taken.html
    );
    assert!(
        taken
            .field_error("slug")
            .is_some_and(|e| e.contains("another")),
        "{}",
        taken.html
    );
    assert_eq!(taken.input("slug").as_deref(), Some("acme-help"));
    assert_eq!(settings(&d, &d.globex).await["slug"], Value::Null);

    // Switched off: the portal is gone, the address kept.
    let off = boss
        .post(
            &path,
            &fields(&csrf, &[])
                .into_iter()
                .filter(|(n, _)| *n != "enabled")
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.html);
    assert_eq!(
        visitor.get("/portal/acme-help/sign-in").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(settings(&d, &d.acme).await["slug"], "acme-help");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logo_uploaded_in_the_console_shows_on_the_portal_and_a_non_image_is_refused() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let path = page_path(&d.acme);
    let csrf = token(&boss.get(&path).await);
    boss.post(&path, &fields(&csrf, &[])).await;

    // Not an image, and an SVG: refused by the field, nothing stored.
    for (name, kind, bytes) in [
        ("notes.txt", "text/plain", b"hello".to_vec()),
        (
            "logo.svg",
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
        ),
    ] {
        let refused = boss
            .post_multipart(
                &format!("{path}/logo"),
                &[
                    Part::Text("csrf_token", &csrf),
                    Part::File("logo", name, kind, bytes),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            refused.html
        );
        assert!(
            refused
                .field_error("logo")
                .is_some_and(|e| e.contains("PNG, JPEG, GIF or WebP")),
            "{name}: {}",
            refused.html
        );
    }
    // Too large: the core's limit, by the field.
    let mut huge = png();
    huge.resize(600 * 1024, 0);
    let too_big = boss
        .post_multipart(
            &format!("{path}/logo"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::File("logo", "big.png", "image/png", huge),
            ],
        )
        .await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_big
            .field_error("logo")
            .is_some_and(|e| e.contains("512 KiB")),
        "{}",
        too_big.html
    );
    assert!(
        settings(&d, &d.acme).await["branding"]["logo_file"].is_null(),
        "nothing stored"
    );
    // A form without the token first is refused before the file is read.
    let forged = boss
        .post_multipart(
            &format!("{path}/logo"),
            &[Part::File("logo", "logo.png", "image/png", png())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let uploaded = boss
        .post_multipart(
            &format!("{path}/logo"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::File("logo", "logo.png", "image/png", png()),
            ],
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.html);
    let after = boss.get(uploaded.location()).await;
    assert!(after.shows("Logo uploaded"), "{}", after.html);
    let own_copy = format!("{path}/logo?v=");
    assert!(after.html.contains(&own_copy), "{}", after.html);

    // The portal shows it, at its own address, with the same bytes.
    let visitor = Browser::new(&server.base);
    let portal = visitor.get("/portal/acme-help/sign-in").await;
    let at = portal
        .html
        .find("/portal/acme-help/logo?v=")
        .unwrap_or_else(|| panic!("the portal shows the logo: {}", portal.html));
    let src = &portal.html[at..at + portal.html[at..].find('"').expect("end")];
    let image = reqwest::get(format!("{}{src}", server.base))
        .await
        .expect("the logo");
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.bytes().await.expect("bytes").to_vec(), png());

    // Removed: neither the console nor the portal shows it.
    let removed = boss
        .post(&format!("{path}/logo/remove"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.html);
    assert!(!boss.get(&path).await.html.contains(&own_copy));
    assert!(
        !visitor
            .get("/portal/acme-help/sign-in")
            .await
            .html
            .contains("/logo?v=")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_set_in_the_console_shows_its_record_and_is_checked_in_dns() {
    let dns = TestDns::start().await;
    let config = regentra_http::cli::serve::AppConfig {
        dns_server: Some(dns.addr),
        ..support::config()
    };
    let store = TestStore::on(support::Backend::Embedded)
        .await
        .expect("a store");
    let server = Server::start_on(store, config, false).await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let path = page_path(&d.acme);
    let csrf = token(&boss.get(&path).await);
    boss.post(&path, &fields(&csrf, &[])).await;

    let bad = boss
        .post(
            &format!("{path}/hostname"),
            &[("csrf_token", &csrf), ("hostname", "not a host")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    assert!(bad.field_error("hostname").is_some(), "{}", bad.html);
    assert_eq!(bad.input("hostname").as_deref(), Some("not a host"));

    let set = boss
        .post(
            &format!("{path}/hostname"),
            &[("csrf_token", &csrf), ("hostname", "help.acme.test")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.html);
    let pending = boss.get(set.location()).await;
    assert!(pending.shows("Pending"), "{}", pending.html);
    let record = "_regentra-challenge.help.acme.test";
    assert_eq!(pending.input("txt-name").as_deref(), None);
    assert!(pending.html.contains(&format!("value=\"{record}\"")));
    let value_at = pending
        .html
        .find("value=\"regentra-verify=")
        .expect("the TXT value to publish");
    let value = &pending.html[value_at + 7..];
    let value = value[..value.find('"').expect("end")].to_owned();
    assert!(pending.shows("Once the name is verified"));
    assert!(pending.html.contains("/hostname/check\""));
    assert!(
        !pending.html.contains("/hostname/approve\""),
        "approving is a platform operator's"
    );

    // Nothing published yet: the reason by the host name.
    let early = boss
        .post(&format!("{path}/hostname/check"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.html
    );
    let why = early.field_error("hostname").expect("an inline error");
    assert!(why.contains(record) && why.contains(&value), "{why}");
    // An MSP admin cannot approve without the record either.
    let approve = boss
        .post(
            &format!("{path}/hostname/approve"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(approve.status, StatusCode::NOT_FOUND);

    dns.txt(record, &value);
    let checked = boss
        .post(&format!("{path}/hostname/check"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.html);
    let verified = boss.get(checked.location()).await;
    assert!(
        verified.shows("Verified by its DNS record"),
        "{}",
        verified.html
    );
    assert!(verified.html.contains("href=\"http://help.acme.test/\""));
    let claim = d
        .boss
        .get(&format!("/v1/orgs/{}/portal/hostname", d.acme))
        .await;
    assert_eq!(claim["claim"]["status"], "verified");

    // Globex claims the same name and even proves it: taken, by the field.
    let globex = page_path(&d.globex);
    boss.post(
        &format!("{globex}/hostname"),
        &[("csrf_token", &csrf), ("hostname", "help.acme.test")],
    )
    .await;
    let squat = boss.get(&globex).await;
    assert!(squat.shows("Pending"), "{}", squat.html);
    let at = squat
        .html
        .find("value=\"regentra-verify=")
        .expect("Globex's own TXT value");
    let squat_value = &squat.html[at + 7..];
    dns.txt(record, &squat_value[..squat_value.find('"').expect("end")]);
    let taken = boss
        .post(
            &format!("{globex}/hostname/check"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        taken.html
    );
    assert!(
        taken
            .field_error("hostname")
            .is_some_and(|e| e.contains("another organization")),
        "{}",
        taken.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn technicians_and_viewers_see_no_form_and_their_forged_posts_change_nothing() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let path = page_path(&d.acme);
    let csrf = token(&boss.get(&path).await);
    boss.post(&path, &fields(&csrf, &[])).await;
    boss.post(
        &format!("{path}/hostname"),
        &[("csrf_token", &csrf), ("hostname", "help.acme.test")],
    )
    .await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", d.acme),
            json!({"email": "vera@acme.test", "name": "Vera Viewer", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let before = settings(&d, &d.acme).await;

    for email in ["tom@msp.test", "vera@acme.test"] {
        let person = signed_in(&server, email).await;
        let shown = person.get(&path).await;
        assert_eq!(shown.status, StatusCode::OK, "{email}: {}", shown.html);
        assert!(shown.shows("Acme Help Desk"), "{email} reads the settings");
        assert!(shown.shows("help.acme.test"));
        assert!(
            !shown.html.contains(&format!("action=\"{path}")),
            "{email} gets no form: {}",
            shown.html
        );
        let own = token(&shown);
        for (to, body) in [
            (path.clone(), fields(&own, &[("display_name", "Forged")])),
            (
                format!("{path}/hostname"),
                vec![("csrf_token", own.as_str()), ("hostname", "forged.test")],
            ),
            (
                format!("{path}/hostname/check"),
                vec![("csrf_token", own.as_str())],
            ),
            (
                format!("{path}/hostname/approve"),
                vec![("csrf_token", own.as_str())],
            ),
            (
                format!("{path}/logo/remove"),
                vec![("csrf_token", own.as_str())],
            ),
        ] {
            let forged = person.post(&to, &body).await;
            assert_eq!(forged.status, StatusCode::NOT_FOUND, "{email} {to}");
        }
        let upload = person
            .post_multipart(
                &format!("{path}/logo"),
                &[
                    Part::Text("csrf_token", &own),
                    Part::File("logo", "logo.png", "image/png", png()),
                ],
            )
            .await;
        assert_eq!(upload.status, StatusCode::NOT_FOUND, "{email} upload");
    }
    assert_eq!(settings(&d, &d.acme).await, before, "nothing changed");

    // Another MSP's admin: the page and its forms are the 404 page.
    let rival = signed_in(&server, "rival@other.test").await;
    let other = rival.get(&path).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert!(!other.shows("Acme Help Desk"));
    let own = token(&rival.get(&page_path(&d.other_client)).await);
    let forged = rival
        .post(&path, &fields(&own, &[("display_name", "Rival")]))
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    assert_eq!(
        rival.get(&format!("{path}/logo")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(settings(&d, &d.acme).await, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_msp_sets_up_its_own_portal() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let path = page_path(&d.msp);
    let csrf = token(&boss.get(&path).await);
    let saved = boss
        .post(
            &path,
            &fields(&csrf, &[("slug", "msp-help"), ("display_name", "MSP Desk")]),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let portal = Browser::new(&server.base)
        .get("/portal/msp-help/sign-in")
        .await;
    assert!(portal.shows("Sign in to MSP Desk"), "{}", portal.html);
}

/// The token in the link of the last email of `kind` queued to `to`.
async fn link_token(server: &Server, to: &str, kind: EmailKind) -> String {
    let emails = store::find_all::<OutgoingEmail>(
        server.store.store.as_ref(),
        Scope::Platform,
        "state",
        "pending",
    )
    .await
    .expect("emails");
    let email = emails
        .into_iter()
        .map(|e| e.value)
        .rfind(|e| e.to == to && e.kind == kind)
        .unwrap_or_else(|| panic!("an email to {to}"));
    let link = email.content["link"].as_str().expect("a link");
    link.split_once("token=").expect("a token").1.to_owned()
}

/// How many emails of `kind` to `to` are queued.
async fn queued(server: &Server, to: &str, kind: EmailKind) -> usize {
    store::find_all::<OutgoingEmail>(
        server.store.store.as_ref(),
        Scope::Platform,
        "state",
        "pending",
    )
    .await
    .expect("emails")
    .into_iter()
    .filter(|e| e.value.to == to && e.value.kind == kind)
    .count()
}

/// A request to `path` with `Host: host`, no redirect followed.
async fn on_host(server: &Server, host: &str, path: &str) -> StatusCode {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}{path}", server.base))
        .header("host", host)
        .send()
        .await
        .expect("an answer")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_clients_portal_answers_as_unknown_until_it_is_restored() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let path = page_path(&d.acme);
    let csrf = token(&boss.get(&path).await);
    boss.post(&path, &fields(&csrf, &[])).await;
    boss.post_multipart(
        &format!("{path}/logo"),
        &[
            Part::Text("csrf_token", &csrf),
            Part::File("logo", "logo.png", "image/png", png()),
        ],
    )
    .await;
    boss.post(
        &format!("{path}/hostname"),
        &[("csrf_token", &csrf), ("hostname", "help.acme.test")],
    )
    .await;
    server
        .admin()
        .ok(
            M::POST,
            &format!("/v1/orgs/{}/portal/hostname/approve", d.acme),
            None,
            StatusCode::OK,
        )
        .await;
    let logo = {
        let page = Browser::new(&server.base)
            .get("/portal/acme-help/sign-in")
            .await;
        let at = page.html.find("/portal/acme-help/logo?v=").expect("a logo");
        page.html[at..at + page.html[at..].find('"').expect("end")].to_owned()
    };

    // Every public door of the portal, open while the client is active.
    let doors = |expected: StatusCode| {
        let server = &server;
        let logo = logo.clone();
        async move {
            let visitor = Browser::new(&server.base);
            for door in [
                "/portal/acme-help/sign-in",
                "/portal/acme-help/forgot-password",
                "/portal/acme-help/portal.json",
                logo.as_str(),
            ] {
                assert_eq!(visitor.get(door).await.status, expected, "{door}");
            }
            // Its root leads to the portal; archived, the name is no
            // portal's and a program asking there is told nothing is here.
            let root = on_host(server, "help.acme.test", "/").await;
            if expected == StatusCode::OK {
                assert_eq!(root, StatusCode::SEE_OTHER);
            } else {
                assert_eq!(root, StatusCode::NOT_FOUND);
            }
            assert_eq!(
                on_host(server, "help.acme.test", "/portal/acme-help/sign-in").await,
                expected,
                "the portal at its own host name"
            );
            // The product itself is never served at the client's name,
            // whether its portal is open or not.
            for product in ["/sign-in", "/app", "/v1/me", "/forgot-password"] {
                assert_eq!(
                    on_host(server, "help.acme.test", product).await,
                    StatusCode::NOT_FOUND,
                    "{product} at the client's host name"
                );
            }
        }
    };
    doors(StatusCode::OK).await;

    let archived = boss
        .post(
            &format!("/app/{}/settings/clients/{}/archive", d.msp, d.acme),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(archived.status, StatusCode::SEE_OTHER, "{}", archived.html);
    doors(StatusCode::NOT_FOUND).await;

    // Signing in there: the 404 page, no session (the password is right).
    let visitor = Browser::new(&server.base);
    let sign_in = visitor
        .post(
            "/portal/acme-help/sign-in",
            &[("email", "ann@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(sign_in.status, StatusCode::NOT_FOUND, "{}", sign_in.html);
    assert!(visitor.cookie().is_none(), "no session");
    // A password reset asked there: the 404 page, and no email is queued.
    let reset = visitor
        .post(
            "/portal/acme-help/forgot-password",
            &[("email", "ann@acme.test")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::NOT_FOUND, "{}", reset.html);
    assert_eq!(
        queued(&server, "ann@acme.test", EmailKind::PasswordReset).await,
        0,
        "no reset email"
    );

    // Restored: every door opens again.
    let restored = boss
        .post(
            &format!("/app/{}/settings/clients/{}/restore", d.msp, d.acme),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER, "{}", restored.html);
    doors(StatusCode::OK).await;
    let ann = Browser::new(&server.base);
    let page = ann
        .post(
            "/portal/acme-help/sign-in",
            &[("email", "ann@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_to_an_archived_client_makes_nobody_a_member_until_it_is_restored() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    // Sent before the offboarding: to a new person, and to Ivy, who has an
    // account (in Initech).
    for email in ["nia@acme.test", "ivy@initech.test"] {
        d.boss
            .ok(
                M::POST,
                &format!("/v1/orgs/{}/invitations", d.acme),
                Some(json!({"email": email, "role": "employee"})),
                StatusCode::ACCEPTED,
            )
            .await;
    }
    let nia = link_token(&server, "nia@acme.test", EmailKind::Invitation).await;
    let ivy_link = link_token(&server, "ivy@initech.test", EmailKind::Invitation).await;
    let ivy = server.login("ivy@initech.test", PASSWORD).await;
    d.boss
        .ok(
            M::POST,
            &format!("/v1/orgs/{}/clients/{}/archive", d.msp, d.acme),
            None,
            StatusCode::OK,
        )
        .await;

    // The links answer as unknown ones, on the page and over the API, and
    // accepting makes no account and no membership.
    let visitor = Browser::new(&server.base);
    let invite = visitor.get(&format!("/invite?token={nia}")).await;
    assert_eq!(invite.status, StatusCode::GONE, "{}", invite.html);
    assert!(
        invite.shows("Is not a valid invitation link"),
        "{}",
        invite.html
    );
    let lookup = server
        .anonymous()
        .call(
            M::POST,
            "/v1/invitations/lookup",
            Some(json!({"token": nia})),
        )
        .await;
    assert_eq!(
        lookup.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        lookup.text
    );
    let accept = |token: String| {
        let server = &server;
        async move {
            server
                .anonymous()
                .call(
                    M::POST,
                    "/v1/invitations/accept",
                    Some(json!({"token": token, "name": "Nia", "password": PASSWORD})),
                )
                .await
        }
    };
    let refused = accept(nia.clone()).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.body["errors"][0]["field"], "token");
    let login = server
        .anonymous()
        .call(
            M::POST,
            "/v1/auth/login",
            Some(json!({"email": "nia@acme.test", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        login.status,
        StatusCode::UNAUTHORIZED,
        "no account was made"
    );
    let consent = ivy
        .call(
            M::POST,
            "/v1/invitations/accept",
            Some(json!({"token": ivy_link})),
        )
        .await;
    assert_eq!(
        consent.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        consent.text
    );
    let members = |org: &str| {
        let boss = &d.boss;
        let path = format!("/v1/orgs/{org}/directory");
        async move { boss.get(&path).await }
    };

    // Restored: both links work again (they have not expired).
    d.boss
        .ok(
            M::POST,
            &format!("/v1/orgs/{}/clients/{}/restore", d.msp, d.acme),
            None,
            StatusCode::OK,
        )
        .await;
    let before = members(&d.acme).await;
    assert!(
        !before.to_string().contains("ivy@initech.test")
            && !before.to_string().contains("nia@acme.test"),
        "nobody joined while it was archived: {before}"
    );
    let accepted = accept(nia).await;
    assert!(accepted.status.is_success(), "{}", accepted.text);
    let consent = ivy
        .call(
            M::POST,
            "/v1/invitations/accept",
            Some(json!({"token": ivy_link})),
        )
        .await;
    assert!(consent.status.is_success(), "{}", consent.text);
    let after = members(&d.acme).await.to_string();
    assert!(
        after.contains("ivy@initech.test") && after.contains("nia@acme.test"),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_operator_approves_a_host_name_without_its_record() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    // The platform's operator, given a password and a seat in Acme so the
    // console reaches it.
    let operator = server.admin();
    let email = regentra_http::cli::serve::DEFAULT_ADMIN_EMAIL;
    operator
        .ok(
            M::PUT,
            "/v1/me/password",
            Some(json!({"password": PASSWORD})),
            StatusCode::NO_CONTENT,
        )
        .await;
    operator
        .post(
            &format!("/v1/orgs/{}/members", d.acme),
            json!({"email": email, "name": "Platform operator", "role": "org_admin"}),
        )
        .await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let path = page_path(&d.acme);
    let csrf = token(&boss.get(&path).await);
    boss.post(&path, &fields(&csrf, &[])).await;
    boss.post(
        &format!("{path}/hostname"),
        &[("csrf_token", &csrf), ("hostname", "help.acme.test")],
    )
    .await;

    let op = signed_in(&server, email).await;
    let shown = op.get(&path).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(
        shown
            .html
            .contains(&format!("action=\"{path}/hostname/approve\"")),
        "{}",
        shown.html
    );
    let approved = op
        .post(
            &format!("{path}/hostname/approve"),
            &[("csrf_token", &token(&shown))],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
    let verified = boss.get(&path).await;
    assert!(
        verified.shows("Verified by a platform operator"),
        "{}",
        verified.html
    );
    assert!(
        !verified.html.contains("/hostname/check\""),
        "nothing left to check"
    );
}
