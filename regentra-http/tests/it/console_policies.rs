//! Policies and campaigns in the staff console without JavaScript: a
//! compliance manager starts a policy from a template (errors next to the
//! field), edits it with a preview, takes it through review, approval and
//! publication, reads the version history with names and a diff, launches
//! a campaign (errors next to the field), watches its completion rise when
//! an employee signs, reminds, exports and closes it; and the doors that
//! stay shut (a compliance officer cannot approve, a viewer changes
//! nothing even with a forged form, a technician has no policies, another
//! tenant's ids name nothing).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_pages::{Desk, desk, signed_in};
use crate::support::browser::{Browser, Page};
use crate::support::{M, PASSWORD, Server};

/// The CSRF token of a console page (its sign-out form carries one).
fn token(page: &Page) -> String {
    page.input("csrf_token")
        .unwrap_or_else(|| panic!("no CSRF token on the page: {}", page.html))
}

/// Acme's compliance manager (Mia) and viewer (Vic), besides the desk's people.
async fn acme_compliance(server: &Server, d: &Desk) {
    for (email, name, role) in [
        ("mia@acme.test", "Mia Manager", "compliance_manager"),
        ("vic@acme.test", "Vic Viewer", "viewer"),
    ] {
        server
            .admin()
            .post(
                &format!("/v1/orgs/{}/members", d.acme),
                json!({"email": email, "name": name, "password": PASSWORD, "role": role}),
            )
            .await;
    }
}

/// The policy as the API has it for the MSP admin.
async fn stored(d: &Desk, policy: &str) -> Value {
    d.boss
        .get(&format!("/v1/orgs/{}/policies/{policy}", d.acme))
        .await
}

/// The id at the end of a redirect's path (before its query).
fn id_in(location: &str) -> String {
    location
        .split('?')
        .next()
        .and_then(|path| path.rsplit('/').next())
        .unwrap_or_default()
        .to_owned()
}

/// Mia creates a policy from the backup template and publishes it: its id.
async fn published_backup_policy(mia: &Browser, d: &Desk) -> String {
    let new = format!("/app/{}/policies/new", d.acme);
    let form = mia.get(&new).await;
    let created = mia
        .post(
            &new,
            &[
                ("csrf_token", &token(&form)),
                ("start", "template"),
                ("template", "backup"),
                ("owner_role", "IT Lead"),
                ("owner", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let policy = id_in(created.location());
    let page = format!("/app/{}/policies/{policy}", d.acme);
    for step in ["submit", "approve", "publish"] {
        let done = mia
            .post(
                &format!("{page}/steps/{step}"),
                &[("csrf_token", &token(&form))],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{step}: {}", done.html);
    }
    policy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_takes_a_template_to_a_published_policy_with_its_history() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    acme_compliance(&server, &d).await;
    let mia = signed_in(&server, "mia@acme.test").await;
    let list = format!("/app/{}/policies", d.acme);

    let empty = mia.get(&list).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.html);
    assert!(empty.shows("No policies yet"));
    assert!(empty.html.contains(&format!("href=\"{list}/new\"")));
    assert!(
        empty.html.contains(&format!("href=\"{list}\"")),
        "the navigation names the section"
    );

    // The catalog: every template is offered.
    let new = format!("{list}/new");
    let form = mia.get(&new).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    for title in [
        "Backup Policy",
        "Acceptable Use Policy",
        "Incident Response",
    ] {
        assert!(form.html.contains(title), "{title} in the catalog");
    }
    let csrf = token(&form);
    // No template chosen: the error by the catalog, nothing created.
    let unchosen = mia
        .post(
            &new,
            &[
                ("csrf_token", &csrf),
                ("start", "template"),
                ("owner_role", "IT Lead"),
            ],
        )
        .await;
    assert_eq!(unchosen.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unchosen.field_error("template").is_some(),
        "{}",
        unchosen.html
    );
    // A blank one without a title: the error by the title, the text kept.
    let untitled = mia
        .post(
            &new,
            &[
                ("csrf_token", &csrf),
                ("start", "blank"),
                ("title", " "),
                ("category", "people"),
                ("body", "Be kind."),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(untitled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(untitled.field_error("title").is_some(), "{}", untitled.html);
    assert!(untitled.html.contains("Be kind.</textarea>"));
    assert!(
        d.boss.get(&format!("/v1/orgs/{}/policies", d.acme)).await["items"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "nothing was created"
    );

    // From the template, owned by Mia.
    let mia_id = crate::console_pages::me(&server.login("mia@acme.test", PASSWORD).await).await;
    let created = mia
        .post(
            &new,
            &[
                ("csrf_token", &csrf),
                ("start", "template"),
                ("template", "backup"),
                ("owner_role", "IT Lead"),
                ("owner", &mia_id),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let policy = id_in(created.location());
    let page = format!("{list}/{policy}");
    let shown = mia.get(created.location()).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(shown.shows("The policy was created as a draft."));
    assert!(
        shown.html.contains("Acme"),
        "filled in with the client's name"
    );
    assert!(shown.html.contains("IT Lead"));
    assert!(shown.shows("You"), "the owner, named");
    assert!(
        shown
            .html
            .contains(&format!("action=\"{page}/steps/submit\""))
    );
    assert!(!shown.html.contains("/steps/publish\""));

    // The editor: a preview saves nothing; a save changes the draft.
    let edit = format!("{page}/edit");
    let editor = mia.get(&edit).await;
    assert_eq!(editor.status, StatusCode::OK, "{}", editor.html);
    let original = stored(&d, &policy).await["versions"][0]["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let revised =
        format!("{original}\nRestores are tested **every quarter**.\n<script>alert(1)</script>\n");
    let preview = mia
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("title", "Backup Policy"),
                ("body", &revised),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.html.contains("<strong>every quarter</strong>"));
    assert!(!preview.html.contains("<script>alert(1)</script>"));
    assert_eq!(stored(&d, &policy).await["versions"][0]["body"], original);
    let blank = mia
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("title", "Backup Policy"),
                ("body", "  "),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.field_error("body").is_some(), "{}", blank.html);
    let saved = mia
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("title", "Backup Policy"),
                ("body", &revised),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);

    // Submit, approve, publish: each step the next one's button.
    for (step, next, notice) in [
        ("submit", Some("approve"), "Submitted for review."),
        (
            "approve",
            Some("publish"),
            "Approved. It can be published now.",
        ),
        ("publish", None, "Published: this version is in force"),
    ] {
        let done = mia
            .post(&format!("{page}/steps/{step}"), &[("csrf_token", &csrf)])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{step}: {}", done.html);
        let after = mia.get(done.location()).await;
        assert!(after.shows(notice), "{step}: {}", after.html);
        if let Some(next) = next {
            assert!(
                after.html.contains(&format!("/steps/{next}\"")),
                "{next} offered after {step}"
            );
        }
    }
    let published = stored(&d, &policy).await;
    assert_eq!(published["policy"]["status"], "published");
    assert_eq!(published["versions"][0]["body"], revised.as_str());

    // Editing the published text starts version 2; the history names who.
    let saved = mia
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("title", "Backup and Restore Policy"),
                ("body", &revised.replace("every quarter", "every month")),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let boss_view = d
        .boss
        .get(&format!("/v1/orgs/{}/policies/{policy}", d.acme))
        .await;
    assert_eq!(boss_view["versions"].as_array().map(Vec::len), Some(2));
    let carol = signed_in(&server, "carol@msp.test").await;
    let history = carol.get(&page).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.html);
    assert!(history.shows("Version history"));
    assert!(
        history.shows("Mia Manager"),
        "names, not ids: {}",
        history.html
    );
    assert!(!history.html.contains(&mia_id), "no ids shown");
    assert!(history.shows("Superseded") || history.shows("Published"));
    // A compliance officer submits but never approves: no approve button.
    assert!(history.html.contains("/steps/submit\""));
    assert!(!history.html.contains("/steps/retire\""));

    // The diff between the versions: words, not color alone.
    let diff = carol.get(&format!("{page}/diff?from=1&to=2")).await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.html);
    assert!(diff.shows("Changes from version 1 to version 2"));
    assert!(diff.shows("1 line added, 1 line removed."), "{}", diff.html);
    assert!(
        diff.html
            .contains("<del>Restores are tested **every quarter**.</del>")
    );
    assert!(
        diff.html
            .contains("<ins>Restores are tested **every month**.</ins>")
    );
    assert!(diff.shows("Added") && diff.shows("Removed"));
    assert!(
        diff.html.contains("&#60;script&#62;alert(1)"),
        "escaped: {}",
        diff.html
    );
    assert!(!diff.html.contains("<script>alert(1)"));
    assert!(
        diff.html
            .contains("<del>Backup Policy</del> became <ins>Backup and Restore Policy</ins>")
    );
    // Nonsense versions show the first and the newest.
    let fallback = carol.get(&format!("{page}/diff?from=x&to=99")).await;
    assert_eq!(fallback.status, StatusCode::OK);
    assert!(fallback.shows("Changes from version 1 to version 2"));

    // The list: status, owner, version.
    let listed = mia.get(&list).await;
    assert!(listed.shows("Backup and Restore Policy"), "{}", listed.html);
    assert!(listed.shows("v1 in force, v2 in the works"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_goes_out_and_its_completion_rises_as_people_sign() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    acme_compliance(&server, &d).await;
    let mia = signed_in(&server, "mia@acme.test").await;
    let policy = published_backup_policy(&mia, &d).await;
    let page = format!("/app/{}/policies/{policy}", d.acme);
    let shown = mia.get(&page).await;
    assert!(shown.html.contains(&format!("href=\"{page}/launch\"")));
    let launch = format!("{page}/launch");
    let form = mia.get(&launch).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.shows("Ann Example (Employee)"), "people by name");
    let csrf = token(&form);

    // Problems next to their fields, nothing launched.
    let wrong = mia
        .post(
            &launch,
            &[
                ("csrf_token", &csrf),
                ("audience", "roles"),
                ("due", "next week"),
                ("every_days", "0"),
                ("overdue_every_days", "1"),
                ("max", "3"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.field_error("audience").is_some(), "{}", wrong.html);
    assert!(wrong.field_error("due").is_some());
    assert!(wrong.field_error("every_days").is_some());
    assert!(wrong.field_error("max").is_none());
    let past = mia
        .post(
            &launch,
            &[
                ("csrf_token", &csrf),
                ("audience", "roles"),
                ("roles", "employee"),
                ("due", "2001-01-01"),
                ("every_days", "3"),
                ("overdue_every_days", "1"),
                ("max", "3"),
            ],
        )
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        past.field_error("due").is_some(),
        "the core's rule: {}",
        past.html
    );
    assert!(
        d.boss.get(&format!("/v1/orgs/{}/campaigns", d.acme)).await["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );

    assert!(
        !form.html.contains("value=\"viewer\"") && !form.shows("Vic Viewer"),
        "a viewer, who cannot sign, is not offered"
    );
    // To the employees, due next year.
    let due = format!(
        "{}-06-30",
        chrono::Utc::now()
            .format("%Y")
            .to_string()
            .parse::<i32>()
            .unwrap_or(2030)
            + 1
    );
    let launched = mia
        .post(
            &launch,
            &[
                ("csrf_token", &csrf),
                ("title", "Backup policy 2026"),
                ("audience", "roles"),
                ("roles", "employee"),
                ("due", &due),
                ("every_days", "3"),
                ("overdue_every_days", "1"),
                ("max", "3"),
            ],
        )
        .await;
    assert_eq!(launched.status, StatusCode::SEE_OTHER, "{}", launched.html);
    let campaign_page = launched
        .location()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let campaign = id_in(&campaign_page);
    let before = mia.get(launched.location()).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.html);
    assert!(
        before.shows("The campaign was launched: 1 person was asked to sign."),
        "{}",
        before.html
    );
    assert!(before.shows("0 of 1 signed (0%)"));
    assert!(before.shows("Ann Example"));
    assert!(before.shows("Pending"));

    // Ann signs (on the portal's operation, over the API here).
    let ann = server.login("ann@acme.test", PASSWORD).await;
    ann.ok(
        M::POST,
        &format!("/v1/orgs/{}/campaigns/{campaign}/sign", d.acme),
        Some(json!({"typed_name": "Ann Example"})),
        StatusCode::OK,
    )
    .await;
    let after = mia.get(&campaign_page).await;
    assert!(after.shows("1 of 1 signed (100%)"), "{}", after.html);
    assert!(after.shows("Signed"));
    assert!(after.html.contains("typed “Ann Example”"));

    // The lists show it too.
    let campaigns = mia
        .get(&format!("/app/{}/policies/campaigns", d.acme))
        .await;
    assert!(campaigns.shows("Backup policy 2026"), "{}", campaigns.html);
    assert!(campaigns.shows("1 of 1 signed (100%)"));
    assert!(mia.get(&page).await.shows("1 of 1 signed (100%)"));

    // Remind (nobody pending), export, close.
    let reminded = mia
        .post(&format!("{campaign_page}/remind"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(reminded.status, StatusCode::SEE_OTHER);
    assert!(
        mia.get(reminded.location())
            .await
            .shows("Nobody is pending: no reminder was sent.")
    );
    let csv = mia.get(&format!("{campaign_page}/export.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(
        csv.html.starts_with("person,email,role,status"),
        "{}",
        csv.html
    );
    assert!(
        csv.html
            .contains("Ann Example,ann@acme.test,employee,signed")
    );
    let closed = mia
        .post(&format!("{campaign_page}/close"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let closed_page = mia.get(closed.location()).await;
    assert!(closed_page.shows("The campaign was closed."));
    assert!(
        !closed_page.html.contains("/remind\""),
        "a closed campaign offers no reminder"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_policies_without_forms_and_forged_posts_change_nothing() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    acme_compliance(&server, &d).await;
    let mia = signed_in(&server, "mia@acme.test").await;
    let policy = published_backup_policy(&mia, &d).await;
    let page = format!("/app/{}/policies/{policy}", d.acme);
    let launch_form = mia.get(&format!("{page}/launch")).await;
    let launched = mia
        .post(
            &format!("{page}/launch"),
            &[
                ("csrf_token", &token(&launch_form)),
                ("audience", "everyone"),
                ("due", "2099-01-01"),
                ("every_days", "3"),
                ("overdue_every_days", "1"),
                ("max", "3"),
            ],
        )
        .await;
    assert_eq!(launched.status, StatusCode::SEE_OTHER, "{}", launched.html);
    let campaign_page = launched
        .location()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();

    // The viewer reads everything and is offered nothing to change.
    let vic = signed_in(&server, "vic@acme.test").await;
    let list = vic.get(&format!("/app/{}/policies", d.acme)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(list.shows("Backup Policy"));
    assert!(!list.shows("New policy"));
    let shown = vic.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    for absent in ["/edit\"", "/steps/", "/launch\""] {
        assert!(!shown.html.contains(absent), "{absent} on a viewer's page");
    }
    let campaign = vic.get(&campaign_page).await;
    assert_eq!(campaign.status, StatusCode::OK, "{}", campaign.html);
    assert!(campaign.shows("0 of"), "{}", campaign.html);
    assert!(!campaign.html.contains("/remind\"") && !campaign.html.contains("/close\""));
    for path in [
        format!("{page}/edit"),
        format!("{page}/launch"),
        format!("/app/{}/policies/new", d.acme),
    ] {
        assert_eq!(vic.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    // Forged forms with her own valid token: the 404 page.
    let csrf = token(&shown);
    let confirm = [("csrf_token", csrf.as_str())];
    let edit = [
        ("csrf_token", csrf.as_str()),
        ("title", "Vic was here"),
        ("body", "Changed."),
        ("action", "save"),
    ];
    let new = [
        ("csrf_token", csrf.as_str()),
        ("start", "template"),
        ("template", "backup"),
        ("owner_role", "Vic"),
    ];
    let launch = [
        ("csrf_token", csrf.as_str()),
        ("audience", "everyone"),
        ("due", "2099-01-01"),
        ("every_days", "3"),
        ("overdue_every_days", "1"),
        ("max", "3"),
    ];
    for (path, fields) in [
        (format!("{page}/edit"), &edit[..]),
        (format!("{page}/steps/retire"), &confirm[..]),
        (format!("{page}/steps/submit"), &confirm[..]),
        (format!("{page}/launch"), &launch[..]),
        (format!("/app/{}/policies/new", d.acme), &new[..]),
        (format!("{campaign_page}/remind"), &confirm[..]),
        (format!("{campaign_page}/close"), &confirm[..]),
    ] {
        let refused = vic.post(&path, fields).await;
        assert_eq!(
            refused.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            refused.html
        );
    }
    // A compliance officer may not retire (an approver's step).
    let carol = signed_in(&server, "carol@msp.test").await;
    let carol_csrf = token(&carol.get(&page).await);
    let refused = carol
        .post(
            &format!("{page}/steps/retire"),
            &[("csrf_token", &carol_csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    // Nothing changed.
    let kept = stored(&d, &policy).await;
    assert_eq!(kept["policy"]["status"], "published");
    assert_eq!(kept["policy"]["title"], "Backup Policy");
    assert_eq!(kept["versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        d.boss.get(&format!("/v1/orgs/{}/policies", d.acme)).await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let campaigns = d.boss.get(&format!("/v1/orgs/{}/campaigns", d.acme)).await;
    assert_eq!(campaigns["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(campaigns["items"][0]["status"], "open");

    // The technician: no policies in his navigation, none at their address.
    let tom = signed_in(&server, "tom@msp.test").await;
    let home = tom.get(&format!("/app/{}/tickets", d.acme)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.html.contains(&format!("/app/{}/policies\"", d.acme)));
    assert!(!home.html.contains(">Policies<"));
    for path in [
        format!("/app/{}/policies", d.acme),
        page.clone(),
        campaign_page.clone(),
    ] {
        assert_eq!(tom.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    // The MSP admin reaches Acme and Globex: Acme's policy and campaign
    // under Globex's path name nothing.
    let boss = signed_in(&server, "boss@msp.test").await;
    assert_eq!(boss.get(&page).await.status, StatusCode::OK);
    let boss_csrf = token(&boss.get(&page).await);
    let foreign_policy = page.replace(&d.acme, &d.globex);
    let foreign_campaign = campaign_page.replace(&d.acme, &d.globex);
    for path in [&foreign_policy, &foreign_campaign] {
        assert_eq!(boss.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    for path in [
        format!("{foreign_policy}/steps/retire"),
        format!("{foreign_campaign}/close"),
    ] {
        let refused = boss.post(&path, &[("csrf_token", &boss_csrf)]).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(stored(&d, &policy).await["policy"]["status"], "published");
}
