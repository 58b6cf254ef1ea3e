//! The error pages a browser can land on.

use crate::support::Server;
use crate::support::chromium::Chromium;

#[tokio::test]
async fn an_address_that_names_nothing_shows_the_not_found_page() {
    let server = Server::embedded().await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/no/such/page").await;
    browser.wait_for_text("Page not found").await;
    browser.check_page().await;
    browser.click("Go to the start page").await;
    // The start page of a signed-out browser is the sign-in page.
    browser.wait_for_path("/sign-in").await;
}
