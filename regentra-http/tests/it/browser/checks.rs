//! The harness's own checks can fail: axe-core runs despite the pages'
//! Content-Security-Policy and reports what is wrong, and the overflow
//! check sees a page wider than the phone.

use serde_json::json;

use crate::support::Server;
use crate::support::chromium::{Chromium, PHONE};

#[tokio::test]
async fn axe_runs_under_the_pages_csp_and_reports_serious_violations() {
    let server = Server::embedded().await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/sign-in").await;
    // The page forbids inline and foreign scripts; WebDriver's scripts
    // (axe among them) are not the page's.
    let csp = reqwest::get(format!("{}/sign-in", server.base))
        .await
        .expect("the page")
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(browser.axe_violations().await.is_empty());

    // A field that loses its label and text nobody can read.
    browser
        .script(
            "document.querySelector('label[for=email]').remove(); \
             const p = document.createElement('p'); \
             p.textContent = 'pale'; p.style.color = '#aaa'; p.style.background = '#fff'; \
             document.querySelector('main').append(p);",
            vec![],
        )
        .await;
    let found: Vec<(String, String)> = browser
        .axe_violations()
        .await
        .into_iter()
        .map(|v| (v.id, v.impact))
        .collect();
    for expected in [("label", "critical"), ("color-contrast", "serious")] {
        assert!(
            found.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {found:?}"
        );
    }
    let refused = tokio::spawn(async move { browser.axe().await });
    let panic = refused.await.expect_err("axe() fails the test");
    let message = panic
        .into_panic()
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(
        message.contains("label") && message.contains("#email"),
        "{message}"
    );
}

#[tokio::test]
async fn the_overflow_check_sees_a_page_wider_than_the_phone() {
    let server = Server::embedded().await;
    let Some(browser) = Chromium::open(&server).await else {
        return;
    };
    browser.goto("/sign-in").await;
    browser.set_viewport(PHONE.0, PHONE.1).await;
    assert_eq!(
        browser
            .script("return document.documentElement.clientWidth;", vec![])
            .await,
        json!(PHONE.0)
    );
    assert_eq!(browser.horizontal_overflow().await, None);
    browser
        .script(
            "const wide = document.createElement('div'); \
             wide.id = 'wide'; wide.style.width = '600px'; wide.textContent = 'x'; \
             document.querySelector('main').append(wide);",
            vec![],
        )
        .await;
    let overflow = browser
        .horizontal_overflow()
        .await
        .expect("a 600 px element sticks out of a 390 px phone");
    assert!(overflow.contains("div#wide"), "{overflow}");
}
