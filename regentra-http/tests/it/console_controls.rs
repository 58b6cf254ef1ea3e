//! A client's controls and evidence in the staff console without
//! JavaScript: the list with its filters, a shared control's page naming
//! the requirements of both adopted frameworks, changing its status and
//! owner (errors next to the field, nothing saved), a file uploaded as
//! evidence moving both frameworks' gap analyses, a link and an
//! attestation, unlinking, the evidence library; and the doors that stay
//! shut (a viewer reads without a form and a forged post changes nothing;
//! a technician and another tenant's people meet the 404 page).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_pages::{Desk, desk, me, signed_in};
use crate::support::browser::{Page, Part};
use crate::support::{M, PASSWORD, Server};

/// The control shared by HIPAA and SOC 2 the tests implement.
pub(crate) const SHARED: &str = "AC-01";

/// Acme adopts HIPAA and SOC 2 over the API.
pub(crate) async fn adopt_both(d: &Desk) {
    for framework in ["hipaa", "soc2"] {
        d.boss
            .ok(
                M::POST,
                &format!("/v1/orgs/{}/frameworks", d.acme),
                Some(json!({ "framework": framework })),
                StatusCode::CREATED,
            )
            .await;
    }
}

/// The requirements of `framework` that `SHARED` serves, with their status.
pub(crate) async fn statuses(d: &Desk, framework: &str) -> Vec<(String, String)> {
    let gaps: Value = d
        .boss
        .get(&format!(
            "/v1/orgs/{}/frameworks/{framework}/gap-analysis",
            d.acme
        ))
        .await;
    let mut found = Vec::new();
    for r in gaps["requirements"].as_array().expect("requirements") {
        if r["controls"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["key"] == SHARED))
        {
            found.push((
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    found
}

fn token(page: &Page) -> String {
    page.input("csrf_token")
        .unwrap_or_else(|| panic!("no CSRF token on the page: {}", page.html))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliance_officer_works_a_shared_control_and_its_evidence() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    adopt_both(&d).await;
    let carol_id = me(&server.login("carol@msp.test", PASSWORD).await).await;
    let carol = signed_in(&server, "carol@msp.test").await;
    let list = format!("/app/{}/compliance/controls", d.acme);
    let page = format!("{list}/{SHARED}");

    let listed = carol.get(&list).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.html);
    assert!(listed.html.contains(&format!("href=\"{page}\"")));
    assert!(listed.shows("HIPAA, SOC 2"), "{}", listed.html);
    let filtered = carol
        .get(&format!("{list}?status=implemented&evidence=current"))
        .await;
    assert!(filtered.shows("No control matches"));
    let searched = carol.get(&format!("{list}?q={SHARED}")).await;
    assert!(searched.shows("1 of"), "{}", searched.html);

    let shown = carol.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(shown.shows("164.308(a)(3)") && shown.shows("CC6.1"));
    assert!(shown.shows("No evidence"));
    let csrf = token(&shown);
    let version = shown.input("version").expect("a version field");

    // Not applicable without a justification: the error by the field.
    let refused = carol
        .post(
            &page,
            &[
                ("csrf_token", &csrf),
                ("version", &version),
                ("status", "not_applicable"),
                ("justification", ""),
                ("owner", ""),
                ("notes", "Kept"),
                ("last_reviewed", ""),
                ("next_review", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.field_error("justification").is_some(),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("Kept</textarea>"),
        "the form keeps what was typed"
    );

    let saved = carol
        .post(
            &page,
            &[
                ("csrf_token", &csrf),
                ("version", &version),
                ("status", "implemented"),
                ("justification", ""),
                ("owner", &carol_id),
                ("notes", "Access reviewed quarterly."),
                ("last_reviewed", "2026-01-15"),
                ("next_review", "2026-04-15"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let after = carol.get(&page).await;
    assert!(after.shows("Carol Compliance"), "the owner by name");
    assert!(
        after.shows("Status Not started → Implemented"),
        "{}",
        after.html
    );
    // Implemented without evidence still does not count.
    assert!(
        statuses(&d, "hipaa")
            .await
            .iter()
            .all(|(_, s)| s != "satisfied")
    );

    // A file as evidence: both frameworks move.
    let before_soc2 = statuses(&d, "soc2").await;
    let uploaded = carol
        .post_multipart(
            &format!("{page}/evidence/file"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("title", "Access review Q1"),
                Part::Text("valid_until", "2099-12-31"),
                Part::File(
                    "file",
                    "review.pdf",
                    "application/pdf",
                    b"%PDF-1.4 review".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.html);
    let with_file = carol.get(&page).await;
    assert!(with_file.shows("Access review Q1") && with_file.shows("Current"));
    let after_soc2 = statuses(&d, "soc2").await;
    assert_ne!(before_soc2, after_soc2, "SOC 2's gap analysis changed");
    assert!(
        after_soc2
            .iter()
            .any(|(_, s)| s == "satisfied" || s == "partial")
    );
    assert!(
        statuses(&d, "hipaa")
            .await
            .iter()
            .any(|(_, s)| s == "satisfied" || s == "partial")
    );

    // A file form without a file: the error by the field.
    let no_file = carol
        .post_multipart(
            &format!("{page}/evidence/file"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("title", "Nothing"),
                Part::File("file", "", "application/octet-stream", Vec::new()),
            ],
        )
        .await;
    assert_eq!(no_file.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_file.field_error("file").is_some(), "{}", no_file.html);

    // A link with a bad address, then a good one; an attestation.
    let bad = carol
        .post(
            &format!("{page}/evidence/link"),
            &[
                ("csrf_token", &csrf),
                ("title", "Dashboard"),
                ("url", "ftp://x"),
                ("valid_until", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.field_error("link-url").is_some(), "{}", bad.html);
    assert_eq!(
        bad.input("title").as_deref(),
        Some(""),
        "the file form's title is its own"
    );
    for (path, fields) in [
        (
            "link",
            vec![
                ("title", "Dashboard"),
                ("url", "https://idp.acme.test/reviews"),
                ("valid_until", ""),
            ],
        ),
        (
            "attestation",
            vec![
                ("title", "Quarterly review"),
                ("statement", "We reviewed every account."),
                ("valid_until", "2099-01-01"),
            ],
        ),
    ] {
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend(fields);
        let added = carol.post(&format!("{page}/evidence/{path}"), &form).await;
        assert_eq!(
            added.status,
            StatusCode::SEE_OTHER,
            "{path}: {}",
            added.html
        );
    }
    let full = carol.get(&page).await;
    assert!(full.shows("We reviewed every account."));

    // The library lists every piece with the control it supports.
    let library = carol
        .get(&format!("/app/{}/compliance/evidence", d.acme))
        .await;
    assert_eq!(library.status, StatusCode::OK, "{}", library.html);
    for title in ["Access review Q1", "Dashboard", "Quarterly review"] {
        assert!(library.shows(title), "{title}");
    }
    let file_href = library
        .html
        .split("href=\"")
        .find_map(|s| s.split('"').next().filter(|h| h.ends_with("/file")))
        .expect("a file link")
        .to_owned();
    let file = carol.get(&file_href).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.html, "%PDF-1.4 review");

    // Unlinking: the link no longer supports the control.
    let evidence: Value = d
        .boss
        .get(&format!("/v1/orgs/{}/evidence?control={SHARED}", d.acme))
        .await;
    let link_id = evidence["items"]
        .as_array()
        .and_then(|items| items.iter().find(|e| e["title"] == "Dashboard"))
        .and_then(|e| e["id"].as_str())
        .expect("the link")
        .to_owned();
    let unlinked = carol
        .post(
            &format!("{page}/evidence/{link_id}/unlink"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(unlinked.status, StatusCode::SEE_OTHER, "{}", unlinked.html);
    assert!(!carol.get(&page).await.shows("Dashboard"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_without_forms_and_others_meet_the_404_page() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    adopt_both(&d).await;
    server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", d.acme),
            json!({"email": "vic@acme.test", "name": "Vic Viewer", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let vic = signed_in(&server, "vic@acme.test").await;
    let page = format!("/app/{}/compliance/controls/{SHARED}", d.acme);
    let shown = vic.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(shown.shows("164.308(a)(3)"));
    for form in [
        "name=\"status\"",
        "/evidence/file",
        "/evidence/link",
        "/evidence/attestation",
    ] {
        assert!(!shown.html.contains(form), "a viewer gets no {form} form");
    }
    assert_eq!(
        vic.get(&format!("/app/{}/compliance/evidence", d.acme))
            .await
            .status,
        StatusCode::OK
    );
    // Forged posts with the viewer's own token: refused, nothing changed.
    let csrf = token(&shown);
    let forged = vic
        .post(
            &page,
            &[
                ("csrf_token", &csrf),
                ("status", "implemented"),
                ("owner", ""),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let link = vic
        .post(
            &format!("{page}/evidence/link"),
            &[
                ("csrf_token", &csrf),
                ("title", "x"),
                ("url", "https://x.test"),
            ],
        )
        .await;
    assert_eq!(link.status, StatusCode::NOT_FOUND);
    let file = vic
        .post_multipart(
            &format!("{page}/evidence/file"),
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("title", "x"),
                Part::File("file", "x.txt", "text/plain", b"x".to_vec()),
            ],
        )
        .await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
    let control: Value = d
        .boss
        .get(&format!("/v1/orgs/{}/controls/{SHARED}", d.acme))
        .await;
    assert_eq!(control["status"], "not_started");
    assert_eq!(control["evidence_state"], "none", "no evidence was added");

    // A form without its token is refused before anything.
    let carol = signed_in(&server, "carol@msp.test").await;
    let tokenless = carol.post(&page, &[("status", "implemented")]).await;
    assert_eq!(tokenless.status, StatusCode::FORBIDDEN);

    // A technician has no compliance; another tenant's client is nobody's here.
    let tom = signed_in(&server, "tom@msp.test").await;
    assert_eq!(tom.get(&page).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        carol
            .get(&format!("/app/{}/compliance/controls", d.other_client))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        carol
            .get(&format!("/app/{}/compliance/controls/ZZ-99", d.acme))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
