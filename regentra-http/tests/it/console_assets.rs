//! A client's assets in the staff console, as a browser without
//! JavaScript meets them: recording one, its page, editing it (the person
//! it is given to chosen by name), a bad field shown beside it with
//! nothing saved, retiring it after a confirmation page (it leaves its
//! holder and the list's default view); and the doors that stay shut: an
//! asset of another client or another MSP's is the 404 page, and a viewer
//! (who reads the inventory) is offered no form and has a forged one
//! refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_pages::{Desk, desk, me, ticket};
use crate::support::browser::Browser;
use crate::support::{PASSWORD, Server, id, items};

async fn signed_in(server: &Server, email: &str) -> Browser {
    let browser = Browser::new(&server.base);
    browser.get("/sign-in").await;
    browser.sign_in(email, PASSWORD).await;
    browser
}

/// An asset recorded through the API: its id.
async fn asset(d: &Desk, org: &str, name: &str, holder: Option<&str>) -> String {
    id(&d
        .boss
        .post(
            &format!("/v1/orgs/{org}/assets"),
            json!({"name": name, "kind": "laptop", "serial": "PF-1", "assigned_user": holder}),
        )
        .await)
}

/// The asset as the API has it now.
async fn stored(d: &Desk, org: &str, asset: &str) -> Value {
    d.boss.get(&format!("/v1/orgs/{org}/assets/{asset}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_record_an_asset_then_edit_it_choosing_the_holder_by_name() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann_id = me(&server.login("ann@acme.test", PASSWORD).await).await;
    let tom_id = me(&server.login("tom@msp.test", PASSWORD).await).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let list = format!("/app/{}/assets", d.acme);

    // Recorded from the list's form, details and all.
    let page = tom.get(&list).await;
    let csrf = page.input("csrf_token").expect("csrf");
    let added = tom
        .post(
            &list,
            &[
                ("csrf_token", &csrf),
                ("name", "ThinkPad"),
                ("kind", "laptop"),
                ("serial", "PF-1"),
                ("status", "in_use"),
                ("assigned_user", &ann_id),
                ("details", "Warranty: until 2027"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let all = d.boss.get(&format!("/v1/orgs/{}/assets", d.acme)).await;
    let recorded = items(&all);
    assert_eq!(recorded.len(), 1);
    let laptop = recorded[0]["id"].as_str().expect("an id").to_owned();
    assert_eq!(recorded[0]["attributes"]["Warranty"], "until 2027");
    let own = format!("{list}/{laptop}");
    let page = tom.get(&list).await;
    assert!(
        page.html.contains(&format!("href=\"{own}\"")),
        "the list links the asset's page: {}",
        page.html
    );

    // Its page: what it is, who has it (by name), a way to edit and retire.
    let page = tom.get(&own).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    for shown in ["ThinkPad", "laptop", "PF-1", "In use", "Ann Example"] {
        assert!(page.shows(shown), "{shown} missing: {}", page.html);
    }
    assert!(page.shows("until 2027"));
    assert!(page.html.contains(&format!("href=\"{own}/edit\"")));
    assert!(page.html.contains(&format!("href=\"{own}/retire\"")));

    // The form holds the asset as it is; people are offered by name.
    let form = tom.get(&format!("{own}/edit")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert_eq!(form.input("name").as_deref(), Some("ThinkPad"));
    assert_eq!(form.input("serial").as_deref(), Some("PF-1"));
    assert!(
        form.html.contains(&format!(
            "<option value=\"{ann_id}\" selected>Ann Example (ann@acme.test)"
        )),
        "{}",
        form.html
    );
    assert!(form.shows("Tom Technician (tom@msp.test)"));
    assert!(form.shows("Warranty: until 2027"));
    // Retiring is its own step: an asset in service is not offered it here.
    assert!(!form.html.contains("value=\"retired\""));

    let csrf = form.input("csrf_token").expect("csrf");
    let saved = tom
        .post(
            &format!("{own}/edit"),
            &[
                ("csrf_token", &csrf),
                ("name", "ThinkPad X1"),
                ("kind", "Laptop"),
                ("serial", ""),
                ("status", "in_repair"),
                ("assigned_user", &tom_id),
                ("details", "Warranty: until 2028\nRAM: 32 GB"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), format!("{own}?done=saved"));
    let page = tom.get(saved.location()).await;
    assert!(page.shows("The changes were saved."));
    for shown in ["ThinkPad X1", "In repair", "Tom Technician", "32 GB"] {
        assert!(page.shows(shown), "{shown} missing: {}", page.html);
    }
    let now = stored(&d, &d.acme, &laptop).await;
    assert_eq!(now["name"], "ThinkPad X1");
    assert_eq!(now["kind"], "Laptop");
    assert_eq!(now["serial"], Value::Null, "an emptied serial is cleared");
    assert_eq!(now["status"], "in_repair");
    assert_eq!(now["assigned_user"], tom_id);
    assert_eq!(
        now["attributes"],
        json!({"Warranty": "until 2028", "RAM": "32 GB"})
    );

    // Linked from a ticket's page (where linking is), the ticket leads to
    // the asset's page.
    let fan = ticket(&d.boss, &d.acme, "Laptop fan loud", "low").await;
    let ticket_page = format!("/app/{}/tickets/{fan}", d.acme);
    let csrf = tom
        .get(&ticket_page)
        .await
        .input("csrf_token")
        .expect("csrf");
    let linked = tom
        .post(
            &format!("{ticket_page}/assets"),
            &[("csrf_token", &csrf), ("asset", &laptop)],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.html);
    let page = tom.get(&ticket_page).await;
    assert!(
        page.html
            .contains(&format!("<a href=\"{own}\">ThinkPad X1</a>")),
        "{}",
        page.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_with_a_bad_field_shows_why_beside_it_and_saves_nothing() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann_id = me(&server.login("ann@acme.test", PASSWORD).await).await;
    let ivy_id = me(&server.login("ivy@initech.test", PASSWORD).await).await;
    let laptop = asset(&d, &d.acme, "ThinkPad", Some(&ann_id)).await;
    let before = stored(&d, &d.acme, &laptop).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let edit = format!("/app/{}/assets/{laptop}/edit", d.acme);
    let csrf = tom.get(&edit).await.input("csrf_token").expect("csrf");
    // The form as Tom fills it in, `field` set to `value` (the token only
    // when given).
    let filled = |field: &str, value: &str, token: Option<&str>| -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = [
            ("name", "ThinkPad"),
            ("kind", "laptop"),
            ("serial", "CHANGED-1"),
            ("status", "in_stock"),
            ("assigned_user", ""),
            ("details", "Warranty: until 2027"),
        ]
        .into_iter()
        .map(|(f, v)| (f.to_owned(), if f == field { value } else { v }.to_owned()))
        .collect();
        if let Some(token) = token {
            fields.push(("csrf_token".to_owned(), token.to_owned()));
        }
        fields
    };
    let post = |fields: Vec<(String, String)>| {
        let tom = &tom;
        let edit = &edit;
        async move {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(f, v)| (f.as_str(), v.as_str()))
                .collect();
            tom.post(edit, &pairs).await
        }
    };
    for (field, value) in [
        ("name", "   "),
        ("kind", ""),
        ("details", "Warranty: until 2027\njust words"),
        ("status", "retired"),
        ("status", "lost"),
        ("assigned_user", "not-an-id"),
        // The core's own check: someone of another client cannot have it.
        ("assigned_user", ivy_id.as_str()),
    ] {
        let refused = post(filled(field, value, Some(&csrf))).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value:?}: {}",
            refused.html
        );
        assert!(
            refused.field_error(field).is_some(),
            "{field}={value:?}: no error beside the field: {}",
            refused.html
        );
        assert!(refused.shows("The changes were not saved."));
        assert_eq!(
            refused.input("serial").as_deref(),
            Some("CHANGED-1"),
            "what was typed stays"
        );
        assert_eq!(
            stored(&d, &d.acme, &laptop).await,
            before,
            "{field}={value:?} changed the asset"
        );
    }
    // A form without the session's token is refused outright.
    let forged = post(filled("name", "Forged", None)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&d, &d.acme, &laptop).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retiring_asks_first_then_takes_the_asset_from_its_holder_and_the_list() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann_id = me(&server.login("ann@acme.test", PASSWORD).await).await;
    let laptop = asset(&d, &d.acme, "ThinkPad", Some(&ann_id)).await;
    asset(&d, &d.acme, "Spare router", None).await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let list = format!("/app/{}/assets", d.acme);
    let own = format!("{list}/{laptop}");

    // The confirmation says what retiring does, to whom.
    let confirm = tom.get(&format!("{own}/retire")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.html);
    assert!(confirm.shows("Retire ThinkPad?"));
    assert!(confirm.shows("Ann Example"));
    assert_eq!(
        stored(&d, &d.acme, &laptop).await["status"],
        "in_use",
        "asking retires nothing"
    );
    let csrf = confirm.input("csrf_token").expect("csrf");
    let retired = tom
        .post(&format!("{own}/retire"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(retired.status, StatusCode::SEE_OTHER, "{}", retired.html);
    assert_eq!(retired.location(), format!("{own}?done=retired"));
    let now = stored(&d, &d.acme, &laptop).await;
    assert_eq!(now["status"], "retired");
    assert_eq!(now["assigned_user"], Value::Null);

    let page = tom.get(retired.location()).await;
    assert!(page.shows("The asset was retired."));
    assert!(
        page.html.contains("badge-muted\">Retired<"),
        "{}",
        page.html
    );
    assert!(
        !page.html.contains(&format!("href=\"{own}/retire\"")),
        "a retired asset is not offered retiring again"
    );
    // A second confirmation leads back to the page.
    let again = tom.get(&format!("{own}/retire")).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);

    // The list opens on the assets in service; the retired ones a filter
    // away.
    let page = tom.get(&list).await;
    assert!(page.shows("Spare router"));
    assert!(!page.shows("ThinkPad"), "{}", page.html);
    assert!(page.shows("Retired (1)"));
    let page = tom.get(&format!("{list}?show=retired")).await;
    assert!(page.shows("ThinkPad") && !page.shows("Spare router"));
    let page = tom.get(&format!("{list}?show=all")).await;
    assert!(page.shows("ThinkPad") && page.shows("Spare router"));
    // Edited after, it may come back into service.
    let form = tom.get(&format!("{own}/edit")).await;
    assert!(form.html.contains("<option value=\"retired\" selected>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_asset_is_not_found() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let globex_pc = asset(&d, &d.globex, "Globex PC", None).await;
    let initech_pc = asset(&d, &d.initech, "Initech PC", None).await;
    let rival = server.login("rival@other.test", PASSWORD).await;
    let rivals_pc = id(&rival
        .post(
            &format!("/v1/orgs/{}/assets", d.other_client),
            json!({"name": "Rival PC", "kind": "desktop"}),
        )
        .await);
    let tom = signed_in(&server, "tom@msp.test").await;
    let csrf = tom
        .get(&format!("/app/{}/assets", d.acme))
        .await
        .input("csrf_token")
        .expect("csrf");
    // Globex's asset under Acme's address (Tom works in both), and the
    // assets of orgs he does not reach, under theirs or Acme's.
    let doors = [
        format!("/app/{}/assets/{globex_pc}", d.acme),
        format!("/app/{}/assets/{initech_pc}", d.initech),
        format!("/app/{}/assets/{initech_pc}", d.acme),
        format!("/app/{}/assets/{rivals_pc}", d.other_client),
        format!("/app/{}/assets/{rivals_pc}", d.acme),
        format!("/app/{}/assets/not-an-id", d.acme),
    ];
    for door in &doors {
        for path in [
            door.clone(),
            format!("{door}/edit"),
            format!("{door}/retire"),
        ] {
            let page = tom.get(&path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "GET {path}");
            assert!(page.shows("Page not found"));
        }
        let edited = tom
            .post(
                &format!("{door}/edit"),
                &[
                    ("csrf_token", &csrf),
                    ("name", "Taken"),
                    ("kind", "laptop"),
                    ("status", "in_use"),
                ],
            )
            .await;
        assert_eq!(edited.status, StatusCode::NOT_FOUND, "edit {door}");
        let retired = tom
            .post(&format!("{door}/retire"), &[("csrf_token", &csrf)])
            .await;
        assert_eq!(retired.status, StatusCode::NOT_FOUND, "retire {door}");
    }
    let globex = stored(&d, &d.globex, &globex_pc).await;
    assert_eq!(globex["name"], "Globex PC");
    assert_eq!(globex["status"], "in_use");
    let initech = stored(&d, &d.initech, &initech_pc).await;
    assert_eq!(initech["name"], "Initech PC");
    assert_eq!(initech["status"], "in_use");
    let rivals = rival
        .get(&format!("/v1/orgs/{}/assets/{rivals_pc}", d.other_client))
        .await;
    assert_eq!(rivals["name"], "Rival PC");
    assert_eq!(rivals["status"], "in_use");
    // Under its own client's address it opens.
    let page = tom
        .get(&format!("/app/{}/assets/{globex_pc}", d.globex))
        .await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_the_assets_is_offered_no_form_and_a_forged_one_is_refused() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", d.acme),
            json!({"email": "vera@acme.test", "name": "Vera Viewer", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let laptop = asset(&d, &d.acme, "ThinkPad", None).await;
    let before = stored(&d, &d.acme, &laptop).await;
    let vera = signed_in(&server, "vera@acme.test").await;
    let list = format!("/app/{}/assets", d.acme);
    let own = format!("{list}/{laptop}");

    let page = vera.get(&list).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("ThinkPad"));
    assert!(!page.shows("Record an asset"), "{}", page.html);
    let page = vera.get(&own).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("ThinkPad"));
    assert!(!page.html.contains(&format!("{own}/edit")), "{}", page.html);
    assert!(!page.html.contains(&format!("{own}/retire")));
    for form in [format!("{own}/edit"), format!("{own}/retire")] {
        assert_eq!(
            vera.get(&form).await.status,
            StatusCode::NOT_FOUND,
            "{form}"
        );
    }

    // Her session's own token, on forms she was never shown.
    let csrf = page.input("csrf_token").expect("the sign-out form's token");
    let recorded = vera
        .post(
            &list,
            &[
                ("csrf_token", &csrf),
                ("name", "Forged"),
                ("kind", "laptop"),
                ("status", "in_use"),
            ],
        )
        .await;
    assert_eq!(recorded.status, StatusCode::NOT_FOUND, "{}", recorded.html);
    let edited = vera
        .post(
            &format!("{own}/edit"),
            &[
                ("csrf_token", &csrf),
                ("name", "Forged"),
                ("kind", "laptop"),
                ("status", "in_use"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::NOT_FOUND, "{}", edited.html);
    // Nor does a form that does not read show her the form again.
    let unread = vera
        .post(
            &format!("{own}/edit"),
            &[("csrf_token", &csrf), ("details", "no colon here")],
        )
        .await;
    assert_eq!(unread.status, StatusCode::NOT_FOUND, "{}", unread.html);
    assert!(!unread.shows("Save changes"));
    let retired = vera
        .post(&format!("{own}/retire"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(retired.status, StatusCode::NOT_FOUND, "{}", retired.html);
    assert_eq!(stored(&d, &d.acme, &laptop).await, before);
    let all = d.boss.get(&format!("/v1/orgs/{}/assets", d.acme)).await;
    assert_eq!(items(&all).len(), 1, "nothing was recorded");
}
