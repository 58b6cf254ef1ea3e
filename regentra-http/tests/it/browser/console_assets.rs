//! A client's asset in the console, in a real browser: a technician opens
//! it from the list, edits it (a bad name is marked beside the field,
//! then fixed; the holder chosen by name), and retires it through its
//! confirmation page; the asset page, the edit form (with and without an
//! error) and the confirmation pass axe-core and fit a phone.

use serde_json::json;

use crate::console_pages::{desk, me};
use crate::support::chromium::Chromium;
use crate::support::{PASSWORD, Server, id};

#[tokio::test]
async fn a_technician_edits_and_retires_an_asset() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let ann_id = me(&server.login("ann@acme.test", PASSWORD).await).await;
    let laptop = id(&d
        .boss
        .post(
            &format!("/v1/orgs/{}/assets", d.acme),
            json!({"name": "ThinkPad", "kind": "laptop", "serial": "PF-1",
                   "assigned_user": ann_id, "attributes": {"Warranty": "until 2027"}}),
        )
        .await);
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("tom@msp.test", PASSWORD).await;
    browser.goto(&format!("/app/{}/assets", d.acme)).await;
    browser.wait_for_text("Assets: Acme").await;
    browser.check_page().await;
    browser.click("ThinkPad").await;
    browser.wait_for_text("About this asset").await;
    assert_eq!(
        browser.current_path().await,
        format!("/app/{}/assets/{laptop}", d.acme)
    );
    let text = browser.text().await;
    assert!(
        text.contains("Ann Example") && text.contains("until 2027"),
        "{text}"
    );
    browser.check_page().await;

    // Edit: a name left empty is marked beside the field.
    browser.click("Edit").await;
    browser.wait_for_text("Edit ThinkPad").await;
    assert_eq!(browser.field_value("Name").await, "ThinkPad");
    browser.check_page().await;
    browser.fill("Name", "").await;
    browser.click("Save changes").await;
    let reason = browser.wait_for_field_error("Name").await;
    assert!(reason.contains("must not be empty"), "{reason}");
    browser.check_page().await;
    browser.fill("Name", "ThinkPad X1").await;
    browser
        .field("Assigned to")
        .await
        .select_by_label("Tom Technician (tom@msp.test)")
        .await
        .expect("Tom is offered by name");
    browser.click("Save changes").await;
    browser.wait_for_text("The changes were saved.").await;
    let text = browser.text().await;
    assert!(
        text.contains("ThinkPad X1") && text.contains("Tom Technician"),
        "{text}"
    );

    // Retire: a page that says what it does, then the button.
    browser.click("Retire").await;
    browser.wait_for_text("Retire ThinkPad X1?").await;
    browser.check_page().await;
    browser.click("Retire asset").await;
    browser.wait_for_text("The asset was retired.").await;
    let text = browser.text().await;
    assert!(
        text.contains("Retired") && text.contains("Nobody"),
        "{text}"
    );
    browser.check_page().await;

    // The list opens on the assets in service; the retired one a tab away.
    browser.click("Assets").await;
    browser.wait_for_text("No assets in service").await;
    browser.click("Retired (1)").await;
    browser.wait_for_text("ThinkPad X1").await;
    browser.check_page().await;
}
