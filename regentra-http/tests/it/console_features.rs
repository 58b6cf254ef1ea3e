//! The pages four frameworks bring to a client's compliance workspace,
//! without JavaScript: HIPAA's business associate agreement register (add,
//! renew, terminate, errors next to the field, renewals due first), ISO
//! 27001's Statement of Applicability and its CSV, CMMC's SPRS score
//! following a control, the FTC Safeguards qualified individual kept when
//! the frameworks page changes the exemption; and the doors that stay
//! shut (a viewer's or an officer's forged post, a technician, another
//! MSP's staff).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_pages::{Desk, desk, signed_in};
use crate::support::browser::{Browser, Page};
use crate::support::{M, PASSWORD, Server, server_with_clock};

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

/// Mia adopts `framework` on the frameworks page.
async fn adopt(mia: &Browser, base: &str, framework: &str) {
    let csrf = token(&mia.get(&format!("{base}/frameworks")).await);
    let adopted = mia
        .post(
            &format!("{base}/frameworks/{framework}/adopt"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(adopted.status, StatusCode::SEE_OTHER, "{}", adopted.html);
}

/// The API's register of Acme: `(vendor, status, signed_on, renewal_due)`.
async fn register(d: &Desk) -> Vec<(String, String, Value, Value)> {
    let listed = d.boss.get(&format!("/v1/orgs/{}/hipaa/baas", d.acme)).await;
    listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["vendor"].as_str().unwrap_or_default().to_owned(),
                a["status"].as_str().unwrap_or_default().to_owned(),
                a["signed_on"].clone(),
                a["renewal_due"].clone(),
            )
        })
        .collect()
}

/// The id of the agreement with `vendor`, from the API.
async fn agreement_id(d: &Desk, vendor: &str) -> String {
    let listed = d.boss.get(&format!("/v1/orgs/{}/hipaa/baas", d.acme)).await;
    listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["vendor"] == vendor)
        .and_then(|a| a["id"].as_str())
        .unwrap_or_else(|| panic!("no agreement with {vendor}"))
        .to_owned()
}

/// Acme's FTC Safeguards settings, from the API's adoptions.
async fn ftc_settings(d: &Desk) -> Value {
    let listed = d.boss.get(&format!("/v1/orgs/{}/frameworks", d.acme)).await;
    listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["framework"] == "ftc-safeguards")
        .map(|a| a["settings"]["ftc"].clone())
        .unwrap_or(Value::Null)
}

fn agreement_form<'a>(
    csrf: &'a str,
    vendor: &'a str,
    status: &'a str,
    signed_on: &'a str,
    renewal_due: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("vendor", vendor),
        ("services", "Cloud backup of the EHR"),
        ("phi_access", "Stores encrypted ePHI"),
        ("status", status),
        ("signed_on", signed_on),
        ("renewal_due", renewal_due),
        ("document", ""),
        ("notes", ""),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baa_register_adds_renews_and_terminates_with_errors_by_the_field() {
    // The server's day is Monday 2026-03-02.
    let (server, _clock) = server_with_clock().await;
    let d = desk(&server).await;
    let (mia, _) = acme_people(&server, &d).await;
    let base = format!("/app/{}/compliance", d.acme);

    // Before HIPAA: the page says so, with the way to adopt it; a post is
    // the 404 page.
    let off = mia.get(&format!("{base}/baa")).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.html);
    assert!(off.shows("HIPAA is not adopted"), "{}", off.html);
    assert!(
        off.html
            .contains(&format!("href=\"{base}/frameworks#hipaa\""))
    );
    let csrf = token(&off);
    let refused = mia
        .post(
            &format!("{base}/baa"),
            &agreement_form(&csrf, "Backblaze", "pending", "", ""),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    adopt(&mia, &base, "hipaa").await;
    let empty = mia.get(&format!("{base}/baa")).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.html);
    assert!(empty.shows("No business associate agreement yet"));
    assert!(empty.shows("requires a signed agreement with each one"));
    // Reached from the framework's card, its gap analysis and the overview.
    for page in [
        format!("{base}/frameworks"),
        format!("{base}/frameworks/hipaa"),
        base.clone(),
    ] {
        let shown = mia.get(&page).await;
        assert!(
            shown.html.contains(&format!("href=\"{base}/baa\"")),
            "{page} links the register"
        );
    }

    // An empty vendor and a date that does not read: each error next to
    // its field, what was typed kept, nothing added.
    let no_vendor = mia
        .post(
            &format!("{base}/baa"),
            &agreement_form(&csrf, " ", "signed", "2025-01-10", "2026-02-20"),
        )
        .await;
    assert_eq!(no_vendor.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_vendor.field_error("vendor").is_some(),
        "{}",
        no_vendor.html
    );
    assert!(no_vendor.html.contains("value=\"2026-02-20\""));
    let bad_date = mia
        .post(
            &format!("{base}/baa"),
            &agreement_form(&csrf, "Backblaze", "signed", "10/01/2025", ""),
        )
        .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_date.field_error("signed_on").is_some(),
        "{}",
        bad_date.html
    );
    assert!(bad_date.html.contains("value=\"Backblaze\""));
    // The core's own checks: a renewal before the signature.
    let backwards = mia
        .post(
            &format!("{base}/baa"),
            &agreement_form(&csrf, "Backblaze", "signed", "2025-01-10", "2024-01-10"),
        )
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(backwards.field_error("renewal_due").is_some());
    assert!(register(&d).await.is_empty());

    // Three agreements: one pending, one due in 18 days, one overdue.
    for (vendor, status, signed, renewal) in [
        ("Datto", "pending", "", ""),
        ("Carbonite", "signed", "2025-03-20", "2026-03-20"),
        ("Backblaze", "signed", "2025-01-10", "2026-02-20"),
    ] {
        let added = mia
            .post(
                &format!("{base}/baa"),
                &agreement_form(&csrf, vendor, status, signed, renewal),
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
        assert_eq!(added.location(), format!("{base}/baa?done=added"));
    }
    let taken = mia
        .post(
            &format!("{base}/baa"),
            &agreement_form(&csrf, "datto", "pending", "", ""),
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.field_error("vendor").is_some(), "one per vendor");

    // The renewals the core finds due lead, the overdue one first.
    let page = mia.get(&format!("{base}/baa?done=added")).await;
    assert!(page.shows("The agreement was added to the register."));
    assert!(page.shows("Needs attention"));
    let at = |text: &str| {
        page.html
            .find(text)
            .unwrap_or_else(|| panic!("{text} missing: {}", page.html))
    };
    assert!(at(">Backblaze<") < at(">Carbonite<"));
    assert!(at(">Carbonite<") < at(">Datto<"));
    assert!(page.shows("Renewal overdue"));
    assert!(page.shows("Overdue by 10 days"));
    assert!(page.shows("Due in 18 days"));
    assert!(
        page.html
            .contains("<time datetime=\"2026-02-20\">20 Feb 2026</time>")
    );

    // Renewing: an error by the field, then the new dates, signed.
    let backblaze = agreement_id(&d, "Backblaze").await;
    let edit = format!("{base}/baa/{backblaze}");
    let form = mia.get(&edit).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.html.contains("value=\"Stores encrypted ePHI\""));
    let too_early = mia
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("intent", "renew"),
                ("signed_on", "2026-02-25"),
                ("renewal_due", "2026-01-01"),
            ],
        )
        .await;
    assert_eq!(too_early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_early.field_error("renew-renewal_due").is_some(),
        "{}",
        too_early.html
    );
    let renewed = mia
        .post(
            &edit,
            &[
                ("csrf_token", &csrf),
                ("intent", "renew"),
                ("signed_on", "2026-02-25"),
                ("renewal_due", "2027-02-25"),
            ],
        )
        .await;
    assert_eq!(renewed.status, StatusCode::SEE_OTHER, "{}", renewed.html);
    // Editing the details with the vendor emptied: nothing changes.
    let emptied = mia
        .post(
            &edit,
            &agreement_form(&csrf, "", "signed", "2026-02-25", "2027-02-25"),
        )
        .await;
    assert_eq!(emptied.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(emptied.field_error("vendor").is_some());
    // Terminating Carbonite.
    let carbonite = agreement_id(&d, "Carbonite").await;
    let terminated = mia
        .post(
            &format!("{base}/baa/{carbonite}"),
            &[("csrf_token", &csrf), ("intent", "terminate")],
        )
        .await;
    assert_eq!(
        terminated.status,
        StatusCode::SEE_OTHER,
        "{}",
        terminated.html
    );
    assert_eq!(terminated.location(), format!("{base}/baa?done=terminated"));

    let mut now = register(&d).await;
    now.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        now,
        [
            (
                "Backblaze".to_owned(),
                "signed".to_owned(),
                json!("2026-02-25"),
                json!("2027-02-25")
            ),
            (
                "Carbonite".to_owned(),
                "terminated".to_owned(),
                json!("2025-03-20"),
                json!("2026-03-20")
            ),
            (
                "Datto".to_owned(),
                "pending".to_owned(),
                Value::Null,
                Value::Null
            ),
        ]
    );
    let after = mia.get(&format!("{base}/baa")).await;
    assert!(!after.shows("Needs attention"), "nothing due any more");
    assert!(after.shows("Terminated"));

    // An agreement that does not exist is the 404 page.
    let missing = mia
        .get(&format!("{base}/baa/00000000-0000-0000-0000-000000000007"))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_of_applicability_shows_exclusions_and_downloads_the_cores_csv() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let (mia, _) = acme_people(&server, &d).await;
    let base = format!("/app/{}/compliance", d.acme);

    let off = mia.get(&format!("{base}/soa")).await;
    assert!(off.shows("ISO/IEC 27001 is not adopted"), "{}", off.html);
    assert_eq!(
        mia.get(&format!("{base}/soa/export")).await.status,
        StatusCode::NOT_FOUND
    );

    adopt(&mia, &base, "iso27001").await;
    let csrf = token(&mia.get(&format!("{base}/frameworks")).await);
    let excluded = mia
        .post(
            &format!("{base}/frameworks/iso27001/scope"),
            &[
                ("csrf_token", &csrf),
                ("requirement", "A.7.4"),
                ("justification", "No premises of our own: fully remote"),
                ("action", "out"),
            ],
        )
        .await;
    assert_eq!(excluded.status, StatusCode::SEE_OTHER, "{}", excluded.html);

    let soa = mia.get(&format!("{base}/soa")).await;
    assert_eq!(soa.status, StatusCode::OK, "{}", soa.html);
    let api = d
        .boss
        .get(&format!("/v1/orgs/{}/iso27001/soa", d.acme))
        .await;
    let entries = api["items"].as_array().expect("items");
    let applicable = entries.iter().filter(|e| e["applicable"] == true).count();
    assert_eq!(applicable + 1, entries.len(), "one exclusion");
    assert!(
        soa.shows(&format!("{applicable} of {}", entries.len())),
        "{}",
        soa.html
    );
    assert!(soa.shows("No premises of our own: fully remote"));
    assert!(soa.shows("Excluded"));
    for e in entries {
        let control = e["control"].as_str().expect("control");
        assert!(soa.shows(control), "{control} listed");
    }
    // Each control's common controls link to their pages.
    let first_control = entries
        .iter()
        .find_map(|e| e["common_controls"][0]["key"].as_str())
        .expect("a mapped control");
    assert!(
        soa.html
            .contains(&format!("href=\"{base}/controls/{first_control}\""))
    );
    assert!(
        soa.html
            .contains(&format!("href=\"{base}/frameworks#iso27001-scoping\"")),
        "where exclusions are set"
    );

    // The CSV is the core's, as a named download.
    let file = mia.get(&format!("{base}/soa/export")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.header("content-type").starts_with("text/csv"));
    assert_eq!(
        file.header("content-disposition"),
        "attachment; filename=\"statement-of-applicability.csv\""
    );
    let core_csv = d
        .boss
        .call(
            M::GET,
            &format!("/v1/orgs/{}/iso27001/soa?format=csv", d.acme),
            None,
        )
        .await;
    assert_eq!(file.html, core_csv.text);
    assert!(file.html.starts_with("control,title,theme,applicable"));
    assert!(
        file.html
            .lines()
            .any(|l| l.starts_with("A.7.4,") && l.contains(",no,No premises of our own")),
        "{}",
        file.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sprs_score_rises_by_a_practices_points_when_its_controls_are_done() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let (mia, _) = acme_people(&server, &d).await;
    let base = format!("/app/{}/compliance", d.acme);

    let off = mia.get(&format!("{base}/sprs")).await;
    assert!(off.shows("CMMC is not adopted"), "{}", off.html);
    adopt(&mia, &base, "cmmc").await;
    let csrf = token(&mia.get(&format!("{base}/frameworks")).await);
    mia.post(
        &format!("{base}/frameworks/cmmc/settings"),
        &[("csrf_token", &csrf), ("level", "L2")],
    )
    .await;

    let sprs = format!("/v1/orgs/{}/cmmc/sprs", d.acme);
    let before = d.boss.get(&sprs).await;
    let page = mia.get(&format!("{base}/sprs")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let score = before["score"].as_i64().expect("score");
    assert!(
        page.html.contains(&format!(
            "<span class=\"big\" id=\"sprs-score\">{score}</span> of 110"
        )),
        "{}",
        page.html
    );
    assert!(page.shows("Level 2 (Advanced)"));
    assert!(page.shows("down to -203"));
    // The plan of action in the core's order, each practice's controls
    // linked.
    let plan = before["plan_of_action"].as_array().expect("plan");
    assert!(!plan.is_empty());
    let mut last = 0;
    for item in plan.iter().take(5) {
        let id = item["requirement"].as_str().expect("requirement");
        let at = page
            .html
            .find(&format!("<strong>{id}</strong>"))
            .unwrap_or_else(|| panic!("{id} on the plan"));
        assert!(at > last, "{id} in the core's order");
        last = at;
    }
    let practice = plan
        .iter()
        .find(|p| !p["controls"].as_array().expect("controls").is_empty())
        .expect("a practice with controls to complete");
    let points = practice["points"].as_i64().expect("points");
    let controls: Vec<&str> = practice["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    for c in &controls {
        assert!(page.html.contains(&format!("href=\"{base}/controls/{c}\"")));
    }

    // Its controls done (settled as not applicable, which counts).
    for c in &controls {
        d.boss
            .ok(
                M::PATCH,
                &format!("/v1/orgs/{}/controls/{c}", d.acme),
                Some(json!({"status": "not_applicable", "justification": "The MSP runs it"})),
                StatusCode::OK,
            )
            .await;
    }
    let after = d.boss.get(&sprs).await;
    let risen = after["score"].as_i64().expect("score");
    assert!(
        risen >= score + points,
        "{score} + {points} for the practice, got {risen}"
    );
    let page = mia.get(&format!("{base}/sprs")).await;
    assert!(
        page.html.contains(&format!(
            "<span class=\"big\" id=\"sprs-score\">{risen}</span>"
        )),
        "{}",
        page.html
    );
    let closed = practice["requirement"].as_str().expect("requirement");
    assert!(!page.html.contains(&format!("<strong>{closed}</strong>")));
}

/// The user id the qualified individual form offers for `name`.
fn account_option(page: &Page, name: &str) -> String {
    let at = page
        .html
        .find(&format!(">{name} ("))
        .unwrap_or_else(|| panic!("{name} not offered: {}", page.html));
    let start = page.html[..at].rfind("value=\"").expect("an option value") + 7;
    page.html[start..start + page.html[start..].find('"').expect("end")].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qualified_individual_is_set_and_kept_when_the_exemption_changes() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let (mia, _) = acme_people(&server, &d).await;
    let base = format!("/app/{}/compliance", d.acme);
    let ftc = format!("{base}/ftc");

    let off = mia.get(&ftc).await;
    assert!(
        off.shows("FTC Safeguards Rule is not adopted"),
        "{}",
        off.html
    );
    let csrf = token(&off);
    let early = mia
        .post(
            &ftc,
            &[
                ("csrf_token", &csrf),
                ("name", "Mia Manager"),
                ("title", "CISO"),
                ("designated_on", "2026-01-15"),
            ],
        )
        .await;
    assert_eq!(early.status, StatusCode::NOT_FOUND);

    adopt(&mia, &base, "ftc-safeguards").await;
    let page = mia.get(&ftc).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("No qualified individual is designated yet."));
    let mia_id = account_option(&page, "Mia Manager");

    let blank = mia
        .post(
            &ftc,
            &[
                ("csrf_token", &csrf),
                ("name", " "),
                ("title", "CISO"),
                ("designated_on", "15 January"),
            ],
        )
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.field_error("name").is_some(), "{}", blank.html);
    assert!(blank.field_error("designated_on").is_some());
    assert_eq!(ftc_settings(&d).await, Value::Null, "nothing saved");

    let saved = mia
        .post(
            &ftc,
            &[
                ("csrf_token", &csrf),
                ("name", "Mia Manager"),
                ("title", "Virtual CISO"),
                ("employer", "Northwind IT"),
                ("user", &mia_id),
                ("designated_on", "2026-01-15"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let shown = mia.get(saved.location()).await;
    assert!(shown.shows("The qualified individual was saved."));
    assert!(shown.shows("Virtual CISO"));
    assert!(shown.shows("Northwind IT (a service provider or affiliate)"));
    assert!(
        shown
            .html
            .contains("<time datetime=\"2026-01-15\">15 Jan 2026</time>")
    );
    let expected = json!({
        "name": "Mia Manager",
        "title": "Virtual CISO",
        "user": mia_id,
        "employer": "Northwind IT",
        "designated_on": "2026-01-15",
    });
    assert_eq!(
        ftc_settings(&d).await,
        json!({"qualified_individual": expected, "small_institution": false})
    );

    // The exemption changed on the frameworks page: the individual stays.
    let exempt = mia
        .post(
            &format!("{base}/frameworks/ftc-safeguards/settings"),
            &[("csrf_token", &csrf), ("small_institution", "on")],
        )
        .await;
    assert_eq!(exempt.status, StatusCode::SEE_OTHER, "{}", exempt.html);
    assert_eq!(
        ftc_settings(&d).await,
        json!({"qualified_individual": expected, "small_institution": true})
    );
    let frameworks = mia.get(&format!("{base}/frameworks")).await;
    assert!(frameworks.shows("Mia Manager, Virtual CISO"));
    // And setting the individual again keeps the exemption.
    mia.post(
        &ftc,
        &[
            ("csrf_token", &csrf),
            ("name", "Mia Manager"),
            ("title", "CISO"),
            ("designated_on", "2026-02-01"),
        ],
    )
    .await;
    let now = ftc_settings(&d).await;
    assert_eq!(now["small_institution"], true);
    assert_eq!(now["qualified_individual"]["title"], "CISO");
    assert!(
        mia.get(&ftc)
            .await
            .shows("Small institution exemption (16 CFR 314.6): claimed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_and_officers_get_no_form_they_may_not_use_and_strangers_no_page() {
    let server = Server::embedded().await;
    let d = desk(&server).await;
    let (mia, vic) = acme_people(&server, &d).await;
    let base = format!("/app/{}/compliance", d.acme);
    for framework in ["hipaa", "iso27001", "cmmc", "ftc-safeguards"] {
        adopt(&mia, &base, framework).await;
    }
    let csrf = token(&mia.get(&format!("{base}/baa")).await);
    let added = mia
        .post(
            &format!("{base}/baa"),
            &agreement_form(&csrf, "Backblaze", "pending", "", ""),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let backblaze = agreement_id(&d, "Backblaze").await;

    // The viewer reads every page, with no form on any.
    let pages = ["baa", "soa", "sprs", "ftc"].map(|p| format!("{base}/{p}"));
    for page in &pages {
        let shown = vic.get(page).await;
        assert_eq!(shown.status, StatusCode::OK, "{page}: {}", shown.html);
        assert!(
            !shown.html.contains(&format!("action=\"{page}")),
            "{page}: no form for the viewer"
        );
    }
    assert!(vic.get(&pages[0]).await.shows("Backblaze"));
    assert_eq!(
        vic.get(&format!("{base}/baa/{backblaze}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Forged posts with the viewer's own token: 404, nothing changed.
    let vic_csrf = token(&vic.get(&pages[0]).await);
    for (path, fields) in [
        (
            format!("{base}/baa"),
            agreement_form(&vic_csrf, "Datto", "pending", "", ""),
        ),
        (
            format!("{base}/baa/{backblaze}"),
            vec![("csrf_token", vic_csrf.as_str()), ("intent", "terminate")],
        ),
        (
            format!("{base}/ftc"),
            vec![
                ("csrf_token", vic_csrf.as_str()),
                ("name", "Vic Viewer"),
                ("title", "CISO"),
                ("designated_on", "2026-01-15"),
            ],
        ),
    ] {
        let refused = vic.post(&path, &fields).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        register(&d).await,
        [(
            "Backblaze".to_owned(),
            "pending".to_owned(),
            Value::Null,
            Value::Null
        )]
    );
    assert_eq!(ftc_settings(&d).await, Value::Null);

    // Carol, a compliance officer: she keeps the register, but the
    // qualified individual is the managers' (the frameworks' setting).
    let carol = signed_in(&server, "carol@msp.test").await;
    let register_page = carol.get(&pages[0]).await;
    assert!(
        register_page
            .html
            .contains(&format!("action=\"{base}/baa\""))
    );
    let ftc_page = carol.get(&pages[3]).await;
    assert_eq!(ftc_page.status, StatusCode::OK);
    assert!(!ftc_page.html.contains(&format!("action=\"{base}/ftc\"")));
    let forged = carol
        .post(
            &pages[3],
            &[
                ("csrf_token", &token(&ftc_page)),
                ("name", "Carol Compliance"),
                ("title", "CISO"),
                ("designated_on", "2026-01-15"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    assert_eq!(ftc_settings(&d).await, Value::Null);

    // The technician and another MSP's staff: 404 on every page.
    let tom = signed_in(&server, "tom@msp.test").await;
    let rival = signed_in(&server, "rival@other.test").await;
    for page in pages.iter().chain([&format!("{base}/baa/{backblaze}")]) {
        assert_eq!(tom.get(page).await.status, StatusCode::NOT_FOUND, "{page}");
        assert_eq!(
            rival.get(page).await.status,
            StatusCode::NOT_FOUND,
            "{page}"
        );
    }
    // Nor does Mia reach another MSP's client.
    let other = mia
        .get(&format!("/app/{}/compliance/baa", d.other_client))
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}
