//! Settings in a real browser: an MSP admin provisions a client with its
//! first admin and assigns a technician to it in the staff grid; the
//! technician then finds the client in the switcher. A viewer sees the
//! members and no form. Each settings page passes axe-core and fits a
//! phone.

use serde_json::{Value, json};

use crate::console_pages::{desk, me};
use crate::support::chromium::Chromium;
use crate::support::{PASSWORD, Server, items};

#[tokio::test]
async fn an_msp_admin_provisions_a_client_and_assigns_a_technician_in_the_grid() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let tom = me(&server.login("tom@msp.test", PASSWORD).await).await;

    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("boss@msp.test", PASSWORD).await;
    browser.goto(&format!("/app/{}/settings", d.msp)).await;
    browser.wait_for_text("Settings: MSP").await;
    browser.check_page().await;
    browser.click("Clients").await;
    browser.wait_for_text("Provision a client").await;
    browser.check_page().await;

    // A missing email: the error by its field.
    browser.fill("Client name", "Hooli").await;
    browser.click("Provision client").await;
    let error = browser.wait_for_field_error("First admin's email").await;
    assert!(!error.is_empty());
    browser.check_page().await;
    assert_eq!(browser.field_value("Client name").await, "Hooli");
    browser
        .fill("First admin's email", "gavin@hooli.test")
        .await;
    browser.fill("First admin's name (optional)", "Gavin").await;
    browser.click("Provision client").await;
    browser.wait_for_text("Client provisioned.").await;
    browser.check_page().await;
    let clients = d.boss.get(&format!("/v1/orgs/{}/clients", d.msp)).await;
    let hooli = items(&clients)
        .iter()
        .find(|c| c["name"] == "Hooli")
        .and_then(|c| c["id"].as_str())
        .expect("Hooli was provisioned")
        .to_owned();

    // The grid: Tom to Hooli, as a technician.
    browser
        .goto(&format!("/app/{}/settings/staff", d.msp))
        .await;
    browser.wait_for_text("Staff assignment").await;
    browser.check_page().await;
    let cell = format!("cell.{tom}.{hooli}");
    browser
        .script(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![Value::from(cell.clone()), json!("technician")],
        )
        .await;
    browser.click("Save assignments").await;
    browser.wait_for_text("Saved: 1 assignment changed.").await;
    browser.check_page().await;
    assert_eq!(browser.field_value(&cell).await, "technician");

    // The members page and the audit log, as the admin sees them.
    browser
        .goto(&format!("/app/{}/settings/members", d.msp))
        .await;
    browser.wait_for_text("Invite someone").await;
    browser.check_page().await;
    browser
        .goto(&format!("/app/{}/settings/audit", d.msp))
        .await;
    browser.wait_for_text("Chain intact").await;
    browser.check_page().await;

    // Tom finds Hooli in the switcher.
    let Some(tom_browser) = Chromium::open(&server).await else {
        return;
    };
    tom_browser.sign_in("tom@msp.test", PASSWORD).await;
    tom_browser.click(".switcher summary").await;
    tom_browser.click("Hooli Client").await;
    tom_browser.wait_for_text("Service desk: Hooli").await;
    assert_eq!(
        tom_browser.current_path().await,
        format!("/app/{hooli}/tickets")
    );
}

#[tokio::test]
async fn a_viewer_sees_the_members_and_no_form() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", d.msp),
            json!({"email": "vera@msp.test", "name": "Vera Viewer", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("vera@msp.test", PASSWORD).await;
    browser
        .goto(&format!("/app/{}/settings/members", d.msp))
        .await;
    browser.wait_for_text("Tom Technician").await;
    browser.check_page().await;
    let text = browser.text().await;
    assert!(!text.contains("Invite someone"), "{text}");
    assert!(!text.contains("Pending invitations"));
}
