//! Keeping the knowledge base in a real browser: a technician edits a
//! client's draft, previews it, saves it, publishes it to the client's
//! portal (where its people can then read it) and deletes another article
//! after the confirmation page; the editor, the article, the confirmation
//! and the list each pass axe-core and fit a phone.

use reqwest::StatusCode;
use serde_json::json;

use crate::console_pages::desk;
use crate::support::chromium::Chromium;
use crate::support::{M, PASSWORD, Server, id};

#[tokio::test]
async fn a_technician_edits_previews_saves_and_publishes_an_article() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let write = |title: &'static str| {
        let boss = &d.boss;
        let acme = &d.acme;
        async move {
            id(&boss
                .post(
                    &format!("/v1/orgs/{acme}/kb/articles"),
                    json!({"title": title, "body": "Turn it off.", "visibility": "portal", "published": false}),
                )
                .await)
        }
    };
    let printer = write("Printer tips").await;
    write("Fax machine").await;
    let ann = server.login("ann@acme.test", PASSWORD).await;
    let for_ann = format!("/v1/orgs/{}/kb/articles/{printer}", d.acme);
    assert_eq!(
        ann.call(M::GET, &for_ann, None).await.status,
        StatusCode::NOT_FOUND,
        "a draft is not the portal's"
    );

    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.sign_in("tom@msp.test", PASSWORD).await;
    browser.goto(&format!("/app/{}/kb/{printer}", d.acme)).await;
    browser.wait_for_text("Printer tips").await;
    browser.click("Edit").await;
    browser.wait_for_text("Edit article").await;
    browser.check_page().await;
    assert_eq!(browser.field_value("Title").await, "Printer tips");

    browser.fill("Title", "Printer tips for everyone").await;
    browser
        .fill("Text", "**Hold the power button for ten seconds.**")
        .await;
    browser.click("Preview").await;
    browser
        .wait_for_text("Hold the power button for ten seconds.")
        .await;
    browser.check_page().await;
    assert_eq!(
        browser.field_value("Title").await,
        "Printer tips for everyone",
        "the preview keeps the form"
    );

    // An empty title: the error by the field.
    browser.fill("Title", "").await;
    browser.click("Save changes").await;
    let error = browser.wait_for_field_error("Title").await;
    assert!(!error.is_empty());
    browser.check_page().await;
    browser.fill("Title", "Printer tips for everyone").await;
    browser.click("Save changes").await;
    browser.wait_for_text("Saved.").await;
    browser.check_page().await;
    assert!(browser.text().await.contains("Printer tips for everyone"));

    browser.click("Publish").await;
    browser
        .wait_for_text("Published: the client's people can read it on the portal.")
        .await;
    browser.check_page().await;
    let read = ann.get(&for_ann).await;
    assert_eq!(read["title"], "Printer tips for everyone");
    assert_eq!(read["published"], true);

    // The other article: deleted after the confirmation page.
    browser.goto(&format!("/app/{}/kb", d.acme)).await;
    browser.click("Fax machine").await;
    browser.wait_for_text("Turn it off.").await;
    browser.click("Delete").await;
    browser.wait_for_text("Delete this article?").await;
    browser.check_page().await;
    browser.click("Delete for good").await;
    browser.wait_for_text("The article was deleted.").await;
    browser.check_page().await;
    assert!(!browser.text().await.contains("Fax machine"));
}
