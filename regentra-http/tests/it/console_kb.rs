//! Keeping a client's knowledge base in the staff console without
//! JavaScript: the list by status with its counts and pages, editing an
//! article (preview without saving, errors next to the field with nothing
//! saved), publishing it to the client's portal and taking it back,
//! deleting it after a confirmation page; and the doors that stay shut (a
//! viewer who only reads, a technician on a client he does not serve, a
//! compliance officer, another tenant's article, a form without its token).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_pages::{Desk, desk, signed_in};
use crate::support::browser::{Browser, Page};
use crate::support::{M, PASSWORD, Server, id};

/// An article written over the API by the MSP admin: its id.
async fn article(d: &Desk, org: &str, title: &str, visibility: &str, published: bool) -> String {
    id(&d
        .boss
        .post(
            &format!("/v1/orgs/{org}/kb/articles"),
            json!({
                "title": title,
                "body": format!("About {title}."),
                "tags": ["howto"],
                "visibility": visibility,
                "published": published,
            }),
        )
        .await)
}

/// The article as the API has it for the MSP admin.
async fn stored(d: &Desk, org: &str, article: &str) -> Value {
    d.boss
        .get(&format!("/v1/orgs/{org}/kb/articles/{article}"))
        .await
}

/// The CSRF token of a console page (its sign-out form carries one).
fn token(page: &Page) -> String {
    page.input("csrf_token")
        .unwrap_or_else(|| panic!("no CSRF token on the page: {}", page.html))
}

/// Ann, Acme's employee, signed in on Acme's portal (`/portal/acme`).
async fn ann_on_the_portal(server: &Server, d: &Desk) -> Browser {
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/portal", d.acme),
            Some(json!({"enabled": true, "slug": "acme"})),
            StatusCode::OK,
        )
        .await;
    let ann = Browser::new(&server.base);
    ann.get("/portal/acme/sign-in").await;
    let signed = ann
        .post(
            "/portal/acme/sign-in",
            &[
                ("email", "ann@acme.test"),
                ("password", PASSWORD),
                ("next", "/portal/acme"),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.html);
    ann
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_edit_an_article_with_a_preview_and_errors_next_to_the_field() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let vpn = article(&d, &d.acme, "VPN basics", "internal", false).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let page = format!("/app/{}/kb/{vpn}", d.acme);
    let edit = format!("{page}/edit");

    let shown = tom.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(
        shown.html.contains(&format!("href=\"{edit}\"")),
        "an Edit button"
    );
    assert!(shown.html.contains(&format!("action=\"{page}/publish\"")));
    assert!(shown.html.contains(&format!("href=\"{page}/delete\"")));

    // The editor, filled with the article as it is.
    let form = tom.get(&edit).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.shows("Edit article"));
    assert_eq!(form.input("title").as_deref(), Some("VPN basics"));
    assert_eq!(form.input("tags").as_deref(), Some("howto"));
    assert!(form.html.contains("About VPN basics.</textarea>"));
    assert!(
        !form.html.contains("name=\"published\""),
        "publishing is the article page's own button, not the editor's"
    );
    let csrf = token(&form);

    // A preview renders the text and saves nothing.
    let body = "# Connecting\n\n**Open** the client first.\n\n<script>alert(1)</script>";
    let preview = tom
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("title", "Connecting to the VPN"),
                ("body", body),
                ("tags", "vpn, remote"),
                ("visibility", "portal"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert!(
        preview.html.contains("<h1>Connecting</h1>"),
        "{}",
        preview.html
    );
    assert!(preview.html.contains("<strong>Open</strong>"));
    assert!(!preview.html.contains("<script>alert(1)</script>"));
    assert_eq!(
        preview.input("title").as_deref(),
        Some("Connecting to the VPN"),
        "the form keeps what was typed"
    );
    assert_eq!(stored(&d, &d.acme, &vpn).await["title"], "VPN basics");

    // An empty title: the error by the title field, nothing saved.
    let missing = tom
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("title", "  "),
                ("body", body),
                ("tags", "vpn"),
                ("visibility", "portal"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.field_error("title").is_some(), "{}", missing.html);
    assert!(missing.field_error("body").is_none());
    assert!(
        missing.html.contains("<a href=\"#title\">Title</a>: "),
        "the summary names the field and leads to it"
    );
    assert!(
        missing
            .html
            .contains("aria-invalid=\"true\" aria-describedby=\"title-error\"")
    );
    assert_eq!(
        missing.input("tags").as_deref(),
        Some("vpn"),
        "the rest of the form is kept"
    );
    // An empty text: its error by the text.
    let blank = tom
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("title", "Connecting to the VPN"),
                ("body", " \n "),
                ("visibility", "portal"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.field_error("body").is_some(), "{}", blank.html);
    let unchanged = stored(&d, &d.acme, &vpn).await;
    assert_eq!(unchanged["title"], "VPN basics");
    assert_eq!(unchanged["body"], "About VPN basics.");
    assert_eq!(unchanged["visibility"], "internal");

    // Saved: back to the article, which says so and shows the new text.
    let saved = tom
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("title", "Connecting to the VPN"),
                ("body", body),
                ("tags", "vpn, Remote"),
                ("visibility", "portal"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), format!("{page}?done=saved"));
    let after = tom.get(saved.location()).await;
    assert!(after.shows("Saved."), "{}", after.html);
    assert!(after.shows("Connecting to the VPN"));
    assert!(after.html.contains("<strong>Open</strong>"));
    assert!(after.shows("On the portal") && after.shows("Draft"));
    let edited = stored(&d, &d.acme, &vpn).await;
    assert_eq!(edited["title"], "Connecting to the VPN");
    assert_eq!(edited["body"], body);
    assert_eq!(edited["tags"], json!(["remote", "vpn"]));
    assert_eq!(edited["visibility"], "portal");
    assert_eq!(
        edited["published"], false,
        "an edit leaves publishing alone"
    );
    // The editor of a draft says saving keeps it one.
    let again = tom.get(&edit).await;
    assert!(again.shows("This article is a draft"), "{}", again.html);
    assert_eq!(again.input("tags").as_deref(), Some("remote, vpn"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_puts_an_article_on_the_portal_and_unpublishing_takes_it_off() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = ann_on_the_portal(&server, &d).await;
    let printer = article(&d, &d.acme, "Printer tips", "portal", false).await;
    let portal_page = format!("/portal/acme/kb/{printer}");
    assert!(!ann.get("/portal/acme/kb").await.shows("Printer tips"));
    assert_eq!(ann.get(&portal_page).await.status, StatusCode::NOT_FOUND);

    let tom = signed_in(&server, "tom@msp.test").await;
    let list = format!("/app/{}/kb", d.acme);
    let nothing_published = tom.get(&format!("{list}?status=published")).await;
    assert!(
        nothing_published.shows("Nothing published yet"),
        "{}",
        nothing_published.html
    );
    let page = format!("/app/{}/kb/{printer}", d.acme);
    let shown = tom.get(&page).await;
    // (Template text: its apostrophe is as written, not escaped.)
    assert!(
        shown
            .html
            .contains("Publishing shows it on the client's portal.")
    );
    let published = tom
        .post(
            &format!("{page}/publish"),
            &[("csrf_token", &token(&shown))],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.html
    );
    assert_eq!(published.location(), format!("{page}?done=published"));
    let shown = tom.get(published.location()).await;
    assert!(
        shown.shows("Published: the client's people can read it on the portal."),
        "{}",
        shown.html
    );
    assert!(shown.html.contains(&format!("action=\"{page}/unpublish\"")));
    assert!(shown.html.contains(">Unpublish</button>"));
    assert_eq!(stored(&d, &d.acme, &printer).await["published"], true);

    // Ann reads it on the portal now.
    assert!(ann.get("/portal/acme/kb").await.shows("Printer tips"));
    let read = ann.get(&portal_page).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.shows("About Printer tips."));

    // The console's list by status, with its counts.
    let only_published = tom.get(&format!("{list}?status=published")).await;
    assert!(only_published.shows("Printer tips"));
    assert!(only_published.shows("Published (1)") && only_published.shows("Drafts (0)"));
    let drafts = tom.get(&format!("{list}?status=draft")).await;
    assert!(!drafts.shows("Printer tips"), "{}", drafts.html);
    assert!(drafts.shows("No drafts"));

    // Back to draft: gone from the portal at once.
    let unpublished = tom
        .post(
            &format!("{page}/unpublish"),
            &[("csrf_token", &token(&shown))],
        )
        .await;
    assert_eq!(unpublished.status, StatusCode::SEE_OTHER);
    let shown = tom.get(unpublished.location()).await;
    assert!(shown.shows("Back to draft: the portal no longer shows it."));
    assert!(shown.html.contains(">Publish</button>"));
    assert!(!ann.get("/portal/acme/kb").await.shows("Printer tips"));
    assert_eq!(ann.get(&portal_page).await.status, StatusCode::NOT_FOUND);
    let drafts = tom.get(&format!("{list}?status=draft")).await;
    assert!(drafts.shows("Printer tips") && drafts.shows("Drafts (1)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_article_asks_first_then_it_is_gone_everywhere() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann = ann_on_the_portal(&server, &d).await;
    let old = article(&d, &d.acme, "Old fax setup", "portal", true).await;
    let kept = article(&d, &d.acme, "New phone setup", "portal", true).await;
    assert!(ann.get("/portal/acme/kb").await.shows("Old fax setup"));
    let tom = signed_in(&server, "tom@msp.test").await;
    let page = format!("/app/{}/kb/{old}", d.acme);

    // The confirmation page says what deleting does; it deletes nothing.
    let confirm = tom.get(&format!("{page}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.html);
    assert!(confirm.shows("Delete this article?"));
    assert!(confirm.html.contains("the client’s portal"));
    assert!(confirm.shows("unpublish it on its page instead"));
    assert!(confirm.html.contains(&format!("action=\"{page}/delete\"")));
    assert!(
        confirm
            .html
            .contains(&format!("href=\"{page}\">Cancel</a>"))
    );
    stored(&d, &d.acme, &old).await;

    let deleted = tom
        .post(
            &format!("{page}/delete"),
            &[("csrf_token", &token(&confirm))],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.html);
    assert_eq!(
        deleted.location(),
        format!("/app/{}/kb?done=deleted", d.acme)
    );
    let list = tom.get(deleted.location()).await;
    assert!(list.shows("The article was deleted."), "{}", list.html);
    assert!(!list.shows("Old fax setup"));
    assert!(list.shows("New phone setup") && list.shows("All (1)"));
    assert_eq!(tom.get(&page).await.status, StatusCode::NOT_FOUND);
    let gone = d
        .boss
        .call(
            M::GET,
            &format!("/v1/orgs/{}/kb/articles/{old}", d.acme),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(!ann.get("/portal/acme/kb").await.shows("Old fax setup"));
    // Deleting it again: nothing there.
    let twice = tom
        .post(&format!("{page}/delete"), &[("csrf_token", &token(&list))])
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    stored(&d, &d.acme, &kept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_by_status_and_pages_within_the_filter() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    for n in 1..=27 {
        article(&d, &d.acme, &format!("Draft {n:02}"), "internal", false).await;
    }
    article(&d, &d.acme, "The published one", "portal", true).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let list = format!("/app/{}/kb", d.acme);

    let all = tom.get(&list).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.html);
    assert!(all.shows("All (28)") && all.shows("Published (1)") && all.shows("Drafts (27)"));
    assert!(
        all.html
            .contains(&format!("href=\"{list}\" aria-current=\"page\""))
    );

    let drafts = tom.get(&format!("{list}?status=draft")).await;
    assert!(drafts.html.contains(&format!(
        "href=\"{list}?status=draft\" aria-current=\"page\""
    )));
    assert!(!drafts.shows("The published one"));
    let titles = |page: &Page| -> Vec<String> {
        (1..=27)
            .map(|n| format!("Draft {n:02}"))
            .filter(|t| page.html.contains(&format!(">{t}</a>")))
            .collect()
    };
    let first = titles(&drafts);
    assert_eq!(first.len(), 25, "a page of 25");
    // The next page stays within the filter and holds the other two.
    let more = drafts
        .html
        .split("class=\"pager\"><a href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&").replace("&#38;", "&"))
        .unwrap_or_else(|| panic!("no next page: {}", drafts.html));
    assert!(more.contains("status=draft"), "{more}");
    let second = tom.get(&more).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.html);
    let rest = titles(&second);
    assert_eq!(rest.len(), 2, "{}", second.html);
    assert!(rest.iter().all(|t| !first.contains(t)));
    assert!(!second.shows("The published one"));
    assert!(!second.html.contains("class=\"pager\""));

    // Words search every article, whatever the filter.
    let found = tom.get(&format!("{list}?q=published&status=draft")).await;
    assert!(found.shows("The published one"), "{}", found.html);
    assert!(found.shows("Searching every article, drafts included."));
    assert!(!found.html.contains("aria-current=\"page\">All"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_no_buttons_and_forged_forms_change_nothing() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", d.acme),
            json!({"email": "vera@acme.test", "name": "Vera Viewer", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let guide = article(&d, &d.acme, "Onboarding guide", "portal", false).await;
    let initech = article(&d, &d.initech, "Initech runbook", "internal", false).await;
    let page = format!("/app/{}/kb/{guide}", d.acme);

    // A viewer reads, and is offered nothing to change.
    let vera = signed_in(&server, "vera@acme.test").await;
    let list = vera.get(&format!("/app/{}/kb", d.acme)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(list.shows("Onboarding guide"));
    assert!(!list.shows("New article"));
    let shown = vera.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(shown.shows("Onboarding guide"));
    for absent in ["/edit\"", "/publish\"", "/delete\"", ">Publish</button>"] {
        assert!(!shown.html.contains(absent), "{absent} on a viewer's page");
    }
    for path in [format!("{page}/edit"), format!("{page}/delete")] {
        let refused = vera.get(&path).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
        assert!(refused.shows("Page not found"));
    }
    // Her forged forms, with her own valid token: refused.
    let csrf = token(&shown);
    let edit_fields = [
        ("csrf_token", csrf.as_str()),
        ("title", "Vera was here"),
        ("body", "Changed."),
        ("visibility", "portal"),
        ("action", "save"),
    ];
    for (path, fields) in [
        (
            format!("{page}/publish"),
            &[("csrf_token", csrf.as_str())][..],
        ),
        (
            format!("{page}/unpublish"),
            &[("csrf_token", csrf.as_str())][..],
        ),
        (
            format!("{page}/delete"),
            &[("csrf_token", csrf.as_str())][..],
        ),
        (format!("{page}/edit"), &edit_fields[..]),
        (format!("/app/{}/kb/new", d.acme), &edit_fields[..]),
    ] {
        let refused = vera.post(&path, fields).await;
        assert_eq!(
            refused.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            refused.html
        );
    }

    // A compliance officer of Acme has no knowledge base at all.
    let carol = signed_in(&server, "carol@msp.test").await;
    assert_eq!(carol.get(&page).await.status, StatusCode::NOT_FOUND);
    let carol_page = carol.get("/app/inbox").await;
    let refused = carol
        .post(
            &format!("{page}/publish"),
            &[("csrf_token", &token(&carol_page))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    // The technician: not on Initech, which he does not serve, and never
    // with Acme's article under Globex's path (another tenant's id).
    let tom = signed_in(&server, "tom@msp.test").await;
    let tom_csrf = token(&tom.get(&page).await);
    let initech_page = format!("/app/{}/kb/{initech}", d.initech);
    let under_globex = format!("/app/{}/kb/{guide}", d.globex);
    for base in [&initech_page, &under_globex] {
        assert_eq!(
            tom.get(&format!("{base}/edit")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(tom.get(base).await.status, StatusCode::NOT_FOUND);
        for action in ["publish", "delete"] {
            let refused = tom
                .post(&format!("{base}/{action}"), &[("csrf_token", &tom_csrf)])
                .await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND, "{base}/{action}");
        }
        let refused = tom
            .post(
                &format!("{base}/edit"),
                &[
                    ("csrf_token", &tom_csrf),
                    ("title", "Taken over"),
                    ("body", "Changed."),
                    ("visibility", "portal"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{base}/edit");
    }
    // A form without the session's token: forbidden.
    let forged = tom.post(&format!("{page}/publish"), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Nothing changed.
    let kept = stored(&d, &d.acme, &guide).await;
    assert_eq!(kept["title"], "Onboarding guide");
    assert_eq!(kept["published"], false);
    let other = stored(&d, &d.initech, &initech).await;
    assert_eq!(other["title"], "Initech runbook");
    assert_eq!(other["published"], false);
}
