//! A client's compliance workspace in the staff console without
//! JavaScript: adopting frameworks, their scope settings with errors next
//! to the field, each framework's gap analysis following a control's
//! status and its exports, the home page's charts, unadopting after a page
//! saying the data is kept, assessments taken and compared; and the doors
//! that stay shut (a viewer's forged post, a technician, another tenant).

use reqwest::StatusCode;
use serde_json::json;

use crate::console_pages::{Desk, desk, signed_in};
use crate::support::browser::{Browser, Page};
use crate::support::{M, PASSWORD, Server};

fn token(page: &Page) -> String {
    page.input("csrf_token")
        .unwrap_or_else(|| panic!("no CSRF token on the page: {}", page.html))
}

/// Acme's compliance manager Mia and its viewer Vic, signed in.
async fn acme_people(server: &Server, d: &Desk) -> (Browser, Browser) {
    let admin = server.admin();
    for (email, name, role) in [
        ("mia@acme.test", "Mia Manager", "compliance_manager"),
        ("vic@acme.test", "Vic Viewer", "viewer"),
    ] {
        admin
            .post(
                &format!("/v1/orgs/{}/members", d.acme),
                json!({"email": email, "name": name, "password": PASSWORD, "role": role}),
            )
            .await;
    }
    (
        signed_in(server, "mia@acme.test").await,
        signed_in(server, "vic@acme.test").await,
    )
}

/// The API's adoptions of Acme: `(framework, active)`.
async fn adoptions(d: &Desk) -> Vec<(String, bool)> {
    let listed = d.boss.get(&format!("/v1/orgs/{}/frameworks", d.acme)).await;
    listed["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|a| {
                    (
                        a["framework"].as_str().unwrap_or_default().to_owned(),
                        a["active"].as_bool().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The score a gap page shows in its heading line.
fn score(page: &Page) -> String {
    let start = page
        .html
        .find("<span class=\"big\">")
        .unwrap_or_else(|| panic!("no score: {}", page.html))
        + "<span class=\"big\">".len();
    page.html[start..start + page.html[start..].find('<').unwrap_or(0)].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliance_manager_adopts_frameworks_and_follows_the_gaps() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let (mia, _) = acme_people(&server, &d).await;
    let base = format!("/app/{}/compliance", d.acme);

    // Nothing adopted: the home page says where to start.
    let home = mia.get(&base).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.shows("No framework adopted yet"));
    assert!(home.html.contains(&format!("href=\"{base}\"")), "nav link");

    // All eight frameworks, none adopted, each with its Adopt button.
    let list = mia.get(&format!("{base}/frameworks")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    for key in [
        "hipaa",
        "soc2",
        "pci-dss",
        "cmmc",
        "ftc-safeguards",
        "iso27001",
        "nist-csf",
        "gdpr",
    ] {
        assert!(
            list.html
                .contains(&format!("action=\"{base}/frameworks/{key}/adopt\"")),
            "{key} adoptable"
        );
    }
    let csrf = token(&list);
    for key in ["hipaa", "soc2"] {
        let adopted = mia
            .post(
                &format!("{base}/frameworks/{key}/adopt"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(adopted.status, StatusCode::SEE_OTHER, "{}", adopted.html);
        assert_eq!(
            adopted.location(),
            format!("{base}/frameworks?done=adopted")
        );
    }
    let mut active = adoptions(&d).await;
    active.sort();
    assert_eq!(
        active,
        [("hipaa".to_owned(), true), ("soc2".to_owned(), true)]
    );

    // SOC 2's scope settings: the categories saved; the API has them.
    let settings = mia
        .post(
            &format!("{base}/frameworks/soc2/settings"),
            &[("csrf_token", &csrf), ("availability", "on")],
        )
        .await;
    assert_eq!(settings.status, StatusCode::SEE_OTHER, "{}", settings.html);
    let page = mia.get(settings.location()).await;
    assert!(page.shows("The scope settings were saved."));
    assert!(
        page.html
            .contains("name=\"availability\" type=\"checkbox\" value=\"on\" checked")
    );

    // A requirement scoped out without a justification: the error next to
    // the field, the requirement typed kept, nothing changed.
    let unjustified = mia
        .post(
            &format!("{base}/frameworks/hipaa/scope"),
            &[
                ("csrf_token", &csrf),
                ("requirement", "164.308(a)(1)(ii)(A)"),
                ("justification", " "),
                ("action", "out"),
            ],
        )
        .await;
    assert_eq!(unjustified.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unjustified.field_error("hipaa-justification").is_some(),
        "{}",
        unjustified.html
    );
    assert!(
        unjustified.html.contains("value=\"164.308(a)(1)(ii)(A)\""),
        "what was typed is kept"
    );
    let unknown = mia
        .post(
            &format!("{base}/frameworks/hipaa/scope"),
            &[
                ("csrf_token", &csrf),
                ("requirement", "no-such-thing"),
                ("justification", "We do not"),
                ("action", "out"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.field_error("hipaa-requirement").is_some());

    // Both gap analyses, with the controls behind each requirement linked
    // to the control's page, and the exports as downloads.
    let hipaa = mia.get(&format!("{base}/frameworks/hipaa")).await;
    assert_eq!(hipaa.status, StatusCode::OK, "{}", hipaa.html);
    assert!(hipaa.shows("HIPAA gap analysis"));
    let soc2 = mia.get(&format!("{base}/frameworks/soc2")).await;
    assert_eq!(soc2.status, StatusCode::OK, "{}", soc2.html);
    let api = d
        .boss
        .get(&format!(
            "/v1/orgs/{}/frameworks/hipaa/gap-analysis",
            d.acme
        ))
        .await;
    let shared = api["priorities"][0]["control"]
        .as_str()
        .expect("a control to work on")
        .to_owned();
    assert!(
        hipaa
            .html
            .contains(&format!("href=\"{base}/controls/{shared}\""))
    );
    for (format, kind, ext) in [
        ("json", "application/json", "json"),
        ("csv", "text/csv", "csv"),
        ("markdown", "text/markdown", "md"),
    ] {
        let file = mia
            .get(&format!("{base}/frameworks/hipaa/export?format={format}"))
            .await;
        assert_eq!(file.status, StatusCode::OK, "{format}");
        assert!(file.header("content-type").starts_with(kind), "{format}");
        assert_eq!(
            file.header("content-disposition"),
            format!("attachment; filename=\"hipaa-gap-analysis.{ext}\"")
        );
    }

    // An assessment now, the shared control settled over the API, another
    // assessment: the gap page and the comparison show the change.
    let assessments = mia.get(&format!("{base}/assessments")).await;
    assert_eq!(assessments.status, StatusCode::OK, "{}", assessments.html);
    let first = mia
        .post(
            &format!("{base}/assessments"),
            &[("csrf_token", &csrf), ("framework", "all")],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.html);
    assert!(
        mia.get(first.location())
            .await
            .shows("2 assessments were recorded.")
    );
    let before = score(&hipaa);
    d.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/controls/{shared}", d.acme),
            Some(json!({"status": "not_applicable", "justification": "Handled by the MSP"})),
            StatusCode::OK,
        )
        .await;
    let after = mia.get(&format!("{base}/frameworks/hipaa")).await;
    assert_ne!(score(&after), before, "the score follows the control");
    mia.post(
        &format!("{base}/assessments"),
        &[("csrf_token", &csrf), ("framework", "hipaa")],
    )
    .await;
    let listed = mia.get(&format!("{base}/assessments")).await;
    assert!(
        listed
            .html
            .contains(&format!("action=\"{base}/assessments/compare\""))
    );
    let history = d
        .boss
        .get(&format!("/v1/orgs/{}/frameworks/hipaa/assessments", d.acme))
        .await;
    let ids: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    let compared = mia
        .get(&format!(
            "{base}/assessments/compare?framework=hipaa&from={}&to={}",
            ids[0], ids[1]
        ))
        .await;
    assert_eq!(compared.status, StatusCode::OK, "{}", compared.html);
    assert!(compared.shows("Improved"), "{}", compared.html);
    assert!(!compared.shows("No requirement changed status"));

    // The home page: a bar per framework, where to start, progress.
    let home = mia.get(&base).await;
    assert!(
        home.html
            .contains("aria-label=\"Score per adopted framework: HIPAA")
    );
    assert!(home.shows("Where to start"));
    assert!(home.shows("HIPAA: score per assessment"));

    // Unadopting asks first and says the data is kept.
    let confirm = mia.get(&format!("{base}/frameworks/soc2/unadopt")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.html);
    assert!(confirm.shows("Nothing is deleted."));
    let gone = mia
        .post(
            &format!("{base}/frameworks/soc2/unadopt"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.html);
    let after = mia.get(gone.location()).await;
    assert!(after.shows("Unadopted, data kept"));
    assert!(after.shows("Adopt again"));
    // Re-adopting brings the settings back.
    mia.post(
        &format!("{base}/frameworks/soc2/adopt"),
        &[("csrf_token", &csrf)],
    )
    .await;
    let back = mia.get(&format!("{base}/frameworks")).await;
    assert!(
        back.html
            .contains("name=\"availability\" type=\"checkbox\" value=\"on\" checked")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_the_workspace_and_changes_nothing_a_technician_sees_none() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let (mia, vic) = acme_people(&server, &d).await;
    let base = format!("/app/{}/compliance", d.acme);
    let csrf = token(&mia.get(&format!("{base}/frameworks")).await);
    mia.post(
        &format!("{base}/frameworks/hipaa/adopt"),
        &[("csrf_token", &csrf)],
    )
    .await;

    // The viewer reads everything, with no form to change anything.
    let list = vic.get(&format!("{base}/frameworks")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(list.shows("Adopted"));
    assert!(!list.html.contains("/adopt\""), "no adopt button");
    assert!(!list.html.contains("/unadopt\""), "no unadopt link");
    assert!(!list.html.contains("/scope\""), "no scoping form");
    let gap = vic.get(&format!("{base}/frameworks/hipaa")).await;
    assert_eq!(gap.status, StatusCode::OK);
    let assessments = vic.get(&format!("{base}/assessments")).await;
    assert_eq!(assessments.status, StatusCode::OK);
    assert!(!assessments.shows("Take assessment"));
    // Forged posts with the viewer's own valid token: the 404 page, and
    // nothing changed.
    let vic_csrf = token(&list);
    for (path, fields) in [
        (format!("{base}/frameworks/soc2/adopt"), vec![]),
        (format!("{base}/frameworks/hipaa/unadopt"), vec![]),
        (
            format!("{base}/frameworks/hipaa/scope"),
            vec![
                ("requirement", "164.308(a)(1)(ii)(A)"),
                ("justification", "no"),
            ],
        ),
        (format!("{base}/assessments"), vec![("framework", "hipaa")]),
    ] {
        let mut form = vec![("csrf_token", vic_csrf.as_str())];
        form.extend(fields);
        let refused = vic.post(&path, &form).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(adoptions(&d).await, [("hipaa".to_owned(), true)]);
    let history = d
        .boss
        .get(&format!("/v1/orgs/{}/frameworks/hipaa/assessments", d.acme))
        .await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(0));
    let unadopt_page = vic.get(&format!("{base}/frameworks/hipaa/unadopt")).await;
    assert_eq!(unadopt_page.status, StatusCode::NOT_FOUND);

    // The technician: no Compliance in the navigation, 404 on the pages.
    let tom = signed_in(&server, "tom@msp.test").await;
    let tickets = tom.get(&format!("/app/{}/tickets", d.acme)).await;
    assert!(!tickets.html.contains(&format!("href=\"{base}\"")));
    for path in [base.clone(), format!("{base}/frameworks/hipaa")] {
        assert_eq!(tom.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }

    // Another tenant's client is 404 for the manager too; a framework
    // that does not exist is 404.
    let other = mia
        .get(&format!("/app/{}/compliance", d.other_client))
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let nothing = mia.get(&format!("{base}/frameworks/no-such")).await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);
    let not_adopted = mia.get(&format!("{base}/frameworks/gdpr")).await;
    assert_eq!(not_adopted.status, StatusCode::NOT_FOUND);
}
