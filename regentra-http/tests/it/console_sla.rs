//! SLA policies in the console, as a browser without JavaScript meets
//! them: which policy a client's tickets run on, a new policy previewed
//! ("a ticket opened now would be due at ...") and saved, errors next to
//! their fields with nothing saved, escalation targets that must qualify,
//! and those who may only read a policy (or not even that).

use reqwest::StatusCode;

use crate::console_pages::{desk, signed_in};
use crate::support::browser::Page;
use crate::support::{PASSWORD, Server, items};

/// A valid editor form for `name`: office hours Monday to Friday in
/// `zone`, with `rules` escalation rows (each its own fields).
fn form<'a>(csrf: &'a str, name: &'a str, zone: &'a str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = vec![
        ("csrf_token".into(), csrf.into()),
        ("name".into(), name.into()),
        ("default".into(), "yes".into()),
        ("chat_minutes".into(), "5".into()),
        ("timezone".into(), zone.into()),
        ("holidays".into(), "2026-12-25\n2026-12-26".into()),
        ("rules".into(), "0".into()),
    ];
    for (p, response, resolution) in [
        ("critical", "30", "240"),
        ("high", "60", "480"),
        ("medium", "240", "960"),
        ("low", "480", "2400"),
    ] {
        fields.push((format!("{p}_response"), response.into()));
        fields.push((format!("{p}_resolution"), resolution.into()));
    }
    for day in ["mon", "tue", "wed", "thu", "fri"] {
        fields.push((format!("{day}_open"), "yes".into()));
        fields.push((format!("{day}_from1"), "09:00".into()));
        fields.push((format!("{day}_to1"), "17:00".into()));
    }
    fields
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_owned(), value.to_owned()));
}

async fn post(
    browser: &crate::support::browser::Browser,
    path: &str,
    fields: &[(String, String)],
) -> Page {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    browser.post(path, &pairs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_previews_and_saves_a_clients_own_policy() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let list = boss.get(&format!("/app/{}/settings/sla", d.initech)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(list.shows("its tickets run on its MSP"), "{}", list.html);
    let new_path = format!("/app/{}/settings/sla/new", d.initech);
    let editor = boss.get(&new_path).await;
    assert_eq!(editor.status, StatusCode::OK, "{}", editor.html);
    let csrf = editor.input("csrf_token").expect("csrf");

    // Preview: due times of a ticket opened now, nothing saved.
    let mut fields = form(&csrf, "Initech office hours", "Europe/Berlin");
    fields.push(("intent".into(), "preview".into()));
    let preview = post(&boss, &new_path, &fields).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert!(preview.shows("A ticket opened now would be due"));
    assert!(
        preview.shows("CET") || preview.shows("CEST"),
        "times in the policy's zone: {}",
        preview.html
    );
    let stored = d
        .boss
        .get(&format!("/v1/orgs/{}/sla-policies", d.initech))
        .await;
    assert!(
        items(&stored).is_empty(),
        "a preview saves nothing: {stored}"
    );

    // Errors next to their fields, nothing saved.
    let mut bad = form(&csrf, "", "Mars/Olympus");
    set(&mut bad, "high_response", "soon");
    set(&mut bad, "mon_to1", "08:00");
    set(&mut bad, "mon_from2", "07:00");
    set(&mut bad, "mon_to2", "10:00");
    let refused = post(&boss, &new_path, &bad).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(refused.field_error("high").is_some(), "{}", refused.html);
    let mut bad = form(&csrf, "", "Mars/Olympus");
    set(&mut bad, "mon_from2", "12:00");
    set(&mut bad, "mon_to2", "18:00");
    let refused = post(&boss, &new_path, &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.field_error("name").is_some(), "{}", refused.html);
    assert!(
        refused.field_error("timezone").is_some(),
        "{}",
        refused.html
    );
    assert!(
        refused.field_error("mon").is_some(),
        "overlapping hours on Monday: {}",
        refused.html
    );
    assert!(
        refused.html.contains("Mars/Olympus"),
        "what was typed is kept"
    );
    let stored = d
        .boss
        .get(&format!("/v1/orgs/{}/sla-policies", d.initech))
        .await;
    assert!(items(&stored).is_empty(), "{stored}");

    // Saved, the default: the list says so; the API has it.
    let mut fields = form(&csrf, "Initech office hours", "Europe/Berlin");
    fields.push(("intent".into(), "save".into()));
    let saved = post(&boss, &new_path, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let list = boss.get(saved.location()).await;
    assert!(list.shows("The policy was saved.") && list.shows("Initech office hours"));
    assert!(list.shows("tickets run on its own default policy"));
    let stored = d
        .boss
        .get(&format!("/v1/orgs/{}/sla-policies", d.initech))
        .await;
    let policy = &items(&stored)[0];
    assert_eq!(policy["calendar"]["timezone"], "Europe/Berlin");
    assert_eq!(policy["calendar"]["holidays"][1], "2026-12-26");
    assert_eq!(policy["targets"]["high"]["first_response_minutes"], 60);
    assert_eq!(policy["chat_answer_minutes"], 5);
    assert_eq!(policy["default"], true);
    let id = policy["id"].as_str().expect("id").to_owned();

    // Edited: a new revision with the new target; the editor shows it.
    let edit_path = format!("/app/{}/settings/sla/{id}", d.initech);
    let editor = boss.get(&edit_path).await;
    assert_eq!(editor.input("high_response").as_deref(), Some("60"));
    let mut fields = form(&csrf, "Initech office hours", "Europe/Berlin");
    set(&mut fields, "high_response", "90");
    fields.push(("intent".into(), "save".into()));
    let saved = post(&boss, &edit_path, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let stored = d
        .boss
        .get(&format!("/v1/orgs/{}/sla-policies", d.initech))
        .await;
    assert_eq!(items(&stored)[0]["revision"], 2);
    assert_eq!(
        items(&stored)[0]["targets"]["high"]["first_response_minutes"],
        90
    );

    // Another client's address for this policy: 404.
    let elsewhere = boss
        .get(&format!("/app/{}/settings/sla/{id}", d.globex))
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_offer_only_targets_that_qualify() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let boss = signed_in(&server, "boss@msp.test").await;
    let new_path = format!("/app/{}/settings/sla/new", d.acme);
    let editor = boss.get(&new_path).await;
    assert!(
        editor.html.contains("value=\"technician\""),
        "technicians read every ticket"
    );
    assert!(
        !editor.html.contains("<option value=\"employee\""),
        "employees read only their own tickets: {}",
        editor.html
    );
    assert!(
        editor.shows("Tom Technician"),
        "the people who work Acme's tickets"
    );
    assert!(
        !editor.shows("Ann Example ("),
        "a client's employee is no target"
    );
    let csrf = editor.input("csrf_token").expect("csrf");
    // A forged person (Ann, who works no tickets) is refused beside the rule.
    let ann = crate::console_pages::me(&server.login("ann@acme.test", PASSWORD).await).await;
    let mut fields = form(&csrf, "Acme second policy", "UTC");
    set(&mut fields, "default", "");
    set(&mut fields, "rules", "1");
    for (k, v) in [
        ("rule0_action", "reassign"),
        ("rule0_clock", "response"),
        ("rule0_trigger", "percent"),
        ("rule0_value", "50"),
        ("rule0_user", ann.as_str()),
        ("intent", "save"),
    ] {
        set(&mut fields, k, v);
    }
    let refused = post(&boss, &new_path, &fields).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(refused.field_error("rule0").is_some(), "{}", refused.html);
    // A rule half chosen (a role rule without its role) is said there too.
    set(&mut fields, "rule0_action", "notify_role");
    let refused = post(&boss, &new_path, &fields).await;
    assert_eq!(
        refused.field_error("rule0").as_deref(),
        Some("choose the role to notify"),
        "{}",
        refused.html
    );
    // With the technicians as the role: saved, with the rule.
    set(&mut fields, "rule0_role", "technician");
    let saved = post(&boss, &new_path, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let stored = d
        .boss
        .get(&format!("/v1/orgs/{}/sla-policies", d.acme))
        .await;
    let mine = items(&stored)
        .iter()
        .find(|p| p["name"] == "Acme second policy")
        .cloned()
        .expect("saved");
    assert_eq!(mine["escalations"][0]["action"]["role"], "technician");
    assert_eq!(mine["escalations"][0]["trigger"]["percent"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_reads_policies_and_cannot_change_them() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let stored = d
        .boss
        .get(&format!("/v1/orgs/{}/sla-policies", d.acme))
        .await;
    let id = items(&stored)[0]["id"].as_str().expect("id").to_owned();
    let tom = signed_in(&server, "tom@msp.test").await;
    let path = format!("/app/{}/settings/sla/{id}", d.acme);
    let page = tom.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Around the clock"));
    assert!(
        !page.html.contains("<form method=\"post\" action=\"/app/"),
        "no form: {}",
        page.html
    );
    assert!(page.shows("You can read this policy"));
    let list = tom.get(&format!("/app/{}/settings/sla", d.acme)).await;
    assert!(!list.shows("New policy"));
    assert_eq!(
        tom.get(&format!("/app/{}/settings/sla/new", d.acme))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A forged post with his own valid token: refused, nothing changed.
    // (The read-only page has no form; the sign-out form carries the
    // session's token.)
    let csrf = page.input("csrf_token").expect("the session's token");
    let mut fields = form(&csrf, "Hijacked", "UTC");
    fields.push(("intent".into(), "save".into()));
    let forged = post(&tom, &path, &fields).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.html);
    let stored = d
        .boss
        .get(&format!("/v1/orgs/{}/sla-policies", d.acme))
        .await;
    assert_eq!(items(&stored)[0]["name"], "Around the clock");
    assert_eq!(items(&stored)[0]["revision"], 1);
    // Carol, a compliance officer, reads no SLA policies: 404.
    let carol = signed_in(&server, "carol@msp.test").await;
    assert_eq!(
        carol
            .get(&format!("/app/{}/settings/sla", d.acme))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
