//! Settings in the staff console without JavaScript: an org's members and
//! invitations (errors next to the field, resend, revoke, a role changed,
//! a member removed after a confirmation page), the MSP's staff grid, its
//! clients (provisioned with their first admin, renamed, offboarded and
//! restored, a technician of an offboarded client shut out), the audit
//! log with its filters and chain badge; and the doors that stay shut (a
//! viewer who sees the members but whose forged posts are refused).

use std::time::Duration;

use chrono::Duration as Minutes;
use regentra_http::server::worker::{self, WorkerConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::console_pages::{Desk, desk, me, signed_in, ticket};
use crate::support::browser::Page;
use crate::support::{self, M, PASSWORD, Server, items};

fn token(page: &Page) -> String {
    page.input("csrf_token")
        .unwrap_or_else(|| panic!("no CSRF token on the page: {}", page.html))
}

/// The MSP's pending invitations, as the API lists them for its admin.
async fn invitations(d: &Desk) -> Vec<serde_json::Value> {
    items(&d.boss.get(&format!("/v1/orgs/{}/invitations", d.msp)).await)
        .iter()
        .filter(|i| i["state"] == "pending")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_invites_with_errors_next_to_the_field_changes_a_role_and_removes_a_member() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let page = format!("/app/{}/settings/members", d.msp);

    let index = boss.get(&format!("/app/{}/settings", d.msp)).await;
    assert_eq!(index.status, StatusCode::OK, "{}", index.html);
    for href in ["members", "staff", "clients", "audit"] {
        assert!(
            index
                .html
                .contains(&format!("href=\"/app/{}/settings/{href}\"", d.msp)),
            "the index links {href}"
        );
    }

    let shown = boss.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    for name in ["Boss", "Tom Technician", "Carol Compliance"] {
        assert!(shown.shows(name), "{name} is listed");
    }
    assert!(shown.shows("carol@msp.test"));
    let csrf = token(&shown);

    // A bad email: the error by the field, what was typed kept, nothing sent.
    let bad = boss
        .post(
            &format!("{page}/invite"),
            &[
                ("csrf_token", &csrf),
                ("email", "not-an-email"),
                ("name", "Nia"),
                ("role", "technician"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    assert!(bad.field_error("invite-email").is_some(), "{}", bad.html);
    assert_eq!(bad.input("name").as_deref(), Some("Nia"));
    assert!(invitations(&d).await.is_empty());

    let sent = boss
        .post(
            &format!("{page}/invite"),
            &[
                ("csrf_token", &csrf),
                ("email", "nia@msp.test"),
                ("name", "Nia Newcomer"),
                ("role", "technician"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    let pending = invitations(&d).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["name"], "Nia Newcomer");
    let invitation = pending[0]["id"].as_str().expect("id").to_owned();
    let listed = boss.get(sent.location()).await;
    assert!(listed.shows("Invitation sent."));
    assert!(listed.shows("nia@msp.test"));
    let resend = format!("/app/{}/settings/invitations/{invitation}/resend", d.msp);
    assert!(listed.html.contains(&format!("action=\"{resend}\"")));
    let resent = boss.post(&resend, &[("csrf_token", &csrf)]).await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER);
    let revoked = boss
        .post(
            &format!("/app/{}/settings/invitations/{invitation}/revoke", d.msp),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(invitations(&d).await.is_empty(), "revoked");

    // Carol becomes a viewer; the last MSP admin cannot step down.
    let carol = me(&server.login("carol@msp.test", PASSWORD).await).await;
    let changed = boss
        .post(
            &format!("{page}/{carol}/role"),
            &[("csrf_token", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.html);
    let members = d.boss.get(&format!("/v1/orgs/{}/directory", d.msp)).await;
    let role_of = |email: &str| {
        members
            .as_array()
            .expect("a list")
            .iter()
            .find(|m| m["email"] == email)
            .map(|m| m["role"].clone())
    };
    assert_eq!(role_of("carol@msp.test"), Some(json!("viewer")));
    let boss_id = me(&d.boss).await;
    let refused = boss
        .post(
            &format!("{page}/{boss_id}/role"),
            &[("csrf_token", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.shows("The role was not changed"),
        "{}",
        refused.html
    );

    // Removing asks first, then removes.
    let confirm = boss.get(&format!("{page}/{carol}/remove")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.html);
    assert!(confirm.shows("Remove Carol Compliance?"));
    let removed = boss
        .post(&format!("{page}/{carol}/remove"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.html);
    let after = boss.get(removed.location()).await;
    assert!(after.shows("Member removed."));
    assert!(!after.shows("Carol Compliance"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_the_members_but_no_form_and_a_forged_post_changes_nothing() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", d.msp),
            json!({"email": "vera@msp.test", "name": "Vera Viewer", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let vera = signed_in(&server, "vera@msp.test").await;
    let page = format!("/app/{}/settings/members", d.msp);
    let shown = vera.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(shown.shows("Tom Technician"));
    assert!(!shown.html.contains("/invite\""), "no invitation form");
    assert!(!shown.html.contains("/role\""), "no role chooser");
    assert!(!shown.html.contains("/remove\""), "no remove link");
    let index = vera.get(&format!("/app/{}/settings", d.msp)).await;
    assert!(!index.html.contains("settings/clients"), "{}", index.html);
    assert!(!index.html.contains("settings/staff"));
    let csrf = token(&shown);

    let tom = me(&server.login("tom@msp.test", PASSWORD).await).await;
    for (path, fields) in [
        (
            format!("{page}/invite"),
            vec![("email", "x@msp.test"), ("role", "viewer")],
        ),
        (format!("{page}/{tom}/role"), vec![("role", "viewer")]),
        (format!("{page}/{tom}/remove"), vec![]),
        (
            format!("/app/{}/settings/clients/new", d.msp),
            vec![("name", "Forged"), ("admin_email", "f@forged.test")],
        ),
        (
            format!("/app/{}/settings/clients/{}/archive", d.msp, d.acme),
            vec![],
        ),
        (format!("/app/{}/settings/staff", d.msp), vec![]),
    ] {
        let mut with_token = vec![("csrf_token", csrf.as_str())];
        with_token.extend(fields);
        let forged = vera.post(&path, &with_token).await;
        assert_eq!(
            forged.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            forged.html
        );
    }
    assert!(invitations(&d).await.is_empty());
    let members = d.boss.get(&format!("/v1/orgs/{}/directory", d.msp)).await;
    assert!(
        members
            .as_array()
            .expect("a list")
            .iter()
            .any(|m| m["email"] == "tom@msp.test" && m["role"] == "technician"),
        "Tom is still a technician"
    );
    let clients = d.boss.get(&format!("/v1/orgs/{}/clients", d.msp)).await;
    let clients = items(&clients);
    assert_eq!(clients.len(), 3, "nothing provisioned");
    assert!(clients.iter().all(|c| c["archived_at"].is_null()));
    // The viewer's settings pages that need more than reading: 404.
    for path in ["staff", "clients"] {
        let page = vera.get(&format!("/app/{}/settings/{path}", d.msp)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_msp_admin_provisions_assigns_in_the_grid_offboards_and_restores_a_client() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let clients = format!("/app/{}/settings/clients", d.msp);
    let shown = boss.get(&clients).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    let csrf = token(&shown);

    let bad = boss
        .post(
            &format!("{clients}/new"),
            &[
                ("csrf_token", &csrf),
                ("name", " "),
                ("admin_email", "nobody"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.field_error("client-name").is_some(), "{}", bad.html);
    assert!(bad.field_error("client-admin_email").is_some());
    let made = boss
        .post(
            &format!("{clients}/new"),
            &[
                ("csrf_token", &csrf),
                ("name", "Hooli"),
                ("admin_email", "gavin@hooli.test"),
                ("admin_name", "Gavin"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.html);
    let listed = d.boss.get(&format!("/v1/orgs/{}/clients", d.msp)).await;
    let listed = items(&listed);
    let hooli = listed
        .iter()
        .find(|c| c["name"] == "Hooli")
        .and_then(|c| c["id"].as_str())
        .expect("Hooli is a client")
        .to_owned();
    let invited = d.boss.get(&format!("/v1/orgs/{hooli}/invitations")).await;
    let invited = items(&invited);
    assert_eq!(invited[0]["email"], "gavin@hooli.test");
    assert_eq!(invited[0]["role"], "org_admin");

    // The grid: Tom to Hooli as technician; the rest as it was.
    let tom_api = server.login("tom@msp.test", PASSWORD).await;
    let tom_id = me(&tom_api).await;
    let grid = boss.get(&format!("/app/{}/settings/staff", d.msp)).await;
    assert_eq!(grid.status, StatusCode::OK, "{}", grid.html);
    let cell = format!("cell.{tom_id}.{hooli}");
    assert!(
        grid.html.contains(&format!("name=\"{cell}\"")),
        "{}",
        grid.html
    );
    let acme_cell = format!("cell.{tom_id}.{}", d.acme);
    let saved = boss
        .post(
            &format!("/app/{}/settings/staff", d.msp),
            &[
                ("csrf_token", &csrf),
                (&cell, "technician"),
                (&acme_cell, "technician"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert!(
        boss.get(saved.location())
            .await
            .shows("Saved: 1 assignment changed.")
    );
    assert!(tom_orgs(&tom_api).await.contains(&hooli));

    // Renamed with an error next to the field first.
    let empty = boss
        .post(
            &format!("{clients}/{hooli}/rename"),
            &[("csrf_token", &csrf), ("name", "")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty.field_error(&format!("name-{hooli}")).is_some(),
        "{}",
        empty.html
    );
    let renamed = boss
        .post(
            &format!("{clients}/{hooli}/rename"),
            &[("csrf_token", &csrf), ("name", "Hooli XYZ")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);

    // Offboarded after a confirmation: Tom is shut out, the data stays.
    let confirm = boss.get(&format!("{clients}/{hooli}/archive")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.html);
    assert!(confirm.shows("Offboard Hooli XYZ?"));
    let archived = boss
        .post(
            &format!("{clients}/{hooli}/archive"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(archived.status, StatusCode::SEE_OTHER);
    assert!(!tom_orgs(&tom_api).await.contains(&hooli));
    tom_api
        .ok(
            M::GET,
            &format!("/v1/orgs/{hooli}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    let tom = signed_in(&server, "tom@msp.test").await;
    let shut = tom.get(&format!("/app/{hooli}/tickets")).await;
    assert_eq!(shut.status, StatusCode::NOT_FOUND);
    let page = boss.get(&clients).await;
    assert!(page.shows("Offboarded"));
    assert!(
        page.html
            .contains(&format!("action=\"{clients}/{hooli}/restore\""))
    );
    let grid = boss.get(&format!("/app/{}/settings/staff", d.msp)).await;
    assert!(
        !grid.html.contains(&cell),
        "an offboarded client leaves the grid"
    );

    let restored = boss
        .post(
            &format!("{clients}/{hooli}/restore"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    assert!(tom_orgs(&tom_api).await.contains(&hooli));
    // Another MSP's client is nobody's to offboard here.
    let foreign = boss
        .post(
            &format!("{clients}/{}/archive", d.other_client),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

/// The orgs Tom's `/v1/me` lists.
async fn tom_orgs(api: &crate::support::Api) -> Vec<String> {
    api.get("/v1/me").await["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .filter_map(|o| o["org_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_filters_by_person_and_kind_and_shows_the_chain_badge() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let page = format!("/app/{}/settings/audit", d.msp);
    let all = boss.get(&page).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.html);
    assert!(all.shows("Chain intact"), "{}", all.html);
    assert!(all.shows("staff.assigned"));
    let clients = boss.get(&format!("{page}?kind=client.")).await;
    assert!(clients.shows("client.created"));
    assert!(!clients.shows("staff.assigned"));
    let boss_id = me(&d.boss).await;
    let by_boss = boss.get(&format!("{page}?actor={boss_id}")).await;
    assert!(by_boss.shows("client.created"));
    assert!(by_boss.shows("You"));
    // Nonsense filters filter nothing, and never fail.
    let odd = boss
        .get(&format!("{page}?actor=x&kind=%3Cb%3E&after=zz"))
        .await;
    assert!(odd.status == StatusCode::OK || odd.status == StatusCode::BAD_REQUEST);
    // A technician does not read the MSP's log.
    let tom = signed_in(&server, "tom@msp.test").await;
    assert_eq!(tom.get(&page).await.status, StatusCode::NOT_FOUND);
}

/// The worker passes an offboarded client by: an escalation due in it
/// does not fire while it is archived, and does once it is restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_skips_an_offboarded_client_until_it_is_restored() {
    let (server, clock) = support::server_with_clock().await;
    let d = desk(&server).await;
    let tom_api = server.login("tom@msp.test", PASSWORD).await;
    let tom_id = me(&tom_api).await;
    let t = ticket(&d.boss, &d.globex, "Line 3 stopped", "critical").await;
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/tickets/{t}", d.globex),
            Some(json!({"assignee": tom_id})),
            StatusCode::OK,
        )
        .await;
    d.boss
        .ok(
            M::POST,
            &format!("/v1/orgs/{}/clients/{}/archive", d.msp, d.globex),
            None,
            StatusCode::OK,
        )
        .await;
    clock.advance(Minutes::minutes(20));
    let sweep = || {
        worker::sweep_once(
            server.regentra.clone(),
            WorkerConfig {
                every: Duration::from_secs(3600),
                webhooks: Vec::new(),
                secret: None,
                first_retry: worker::FIRST_RETRY,
                dns: None,
            },
        )
    };
    sweep().await.expect("a sweep");
    let unread = |api: &crate::support::Api| {
        let api = api.clone();
        async move {
            api.get("/v1/me/notifications").await["unread"]
                .as_u64()
                .expect("an unread count")
        }
    };
    assert_eq!(
        unread(&tom_api).await,
        0,
        "no escalation in an archived client"
    );

    d.boss
        .ok(
            M::POST,
            &format!("/v1/orgs/{}/clients/{}/restore", d.msp, d.globex),
            None,
            StatusCode::OK,
        )
        .await;
    sweep().await.expect("a sweep");
    assert_eq!(
        unread(&tom_api).await,
        1,
        "the escalation fires once restored"
    );
}

/// A grid saved from a page drawn before someone else's change saves
/// nothing and says so, rather than undoing that change; an assignment
/// the client has since made its admin is shown, not offered, and a
/// forged post cannot end it.
#[tokio::test]
async fn a_stale_grid_saves_nothing_and_a_role_the_client_changed_is_not_offered() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let tom_api = server.login("tom@msp.test", PASSWORD).await;
    let tom = me(&tom_api).await;
    let grid_path = format!("/app/{}/settings/staff", d.msp);
    let acme = format!("cell.{tom}.{}", d.acme);
    let globex = format!("cell.{tom}.{}", d.globex);

    // Two tabs drawn alike: Tom works both clients as a technician.
    let first = boss.get(&grid_path).await;
    let csrf = token(&first);
    assert_eq!(
        first.input(&format!("was.{globex}")).as_deref(),
        Some("technician")
    );
    // The second tab takes Tom off Globex.
    let second = boss
        .post(
            &grid_path,
            &[
                ("csrf_token", csrf.as_str()),
                (&globex, "none"),
                (&format!("was.{globex}"), "technician"),
            ],
        )
        .await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.html);
    // The first tab, still showing Tom on Globex, moves him at Acme.
    let stale = boss
        .post(
            &grid_path,
            &[
                ("csrf_token", csrf.as_str()),
                (&acme, "compliance_officer"),
                (&format!("was.{acme}"), "technician"),
                (&globex, "technician"),
                (&format!("was.{globex}"), "technician"),
            ],
        )
        .await;
    assert!(
        stale.shows("Nothing was saved: someone changed these assignments meanwhile"),
        "{}",
        stale.html
    );
    let members = d.boss.get(&format!("/v1/orgs/{}/members", d.acme)).await;
    let tom_at_acme = items(&members)
        .iter()
        .find(|m| m["user_id"] == tom.as_str())
        .map(|m| m["role"].clone());
    assert_eq!(tom_at_acme, Some(json!("technician")), "Acme unchanged");
    assert!(
        !tom_orgs(&tom_api).await.contains(&d.globex),
        "the other tab's change stands"
    );

    // Acme makes Tom its admin: the grid shows it and offers no chooser.
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/members/{tom}", d.acme),
            Some(json!({"role": "org_admin"})),
            StatusCode::OK,
        )
        .await;
    let grid = boss.get(&grid_path).await;
    assert!(grid.shows("Role changed by the client"), "{}", grid.html);
    assert!(!grid.html.contains(&format!("name=\"{acme}\"")));
    let forged = boss
        .post(
            &grid_path,
            &[("csrf_token", csrf.as_str()), (&acme, "none")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER, "{}", forged.html);
    assert!(
        tom_orgs(&tom_api).await.contains(&d.acme),
        "a forged cell cannot end what the client made its admin"
    );
}
