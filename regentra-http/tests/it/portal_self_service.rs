//! The portal's self-service pages as a client's employee meets them
//! (without JavaScript): the knowledge base (browse, search, read), the
//! policies to acknowledge (sign with a ticked box and one's name, the
//! receipt), the compliance status and one's own assets, each only where
//! it belongs: the portal's org, what the portal shows, what the person
//! may see.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::portal_pages::two_portals;
use crate::support::browser::{Browser, Page};
use crate::support::world::sla_body;
use crate::support::{Api, M, PASSWORD, Server, id, items, server_with_clock};

/// The two portals of `portal_pages` (`acme` with Ann, `globex` with Gus),
/// on a server whose clock the test moves (from 2 March 2026 09:00 UTC),
/// with the MSP's default SLA calendar in Paris: the clients' time zone.
pub(crate) struct Portals {
    pub(crate) server: Server,
    pub(crate) clock: std::sync::Arc<regentra_core::ManualClock>,
    pub(crate) boss: Api,
    pub(crate) acme: String,
    pub(crate) globex: String,
}

pub(crate) async fn portals() -> Portals {
    let (server, clock) = server_with_clock().await;
    let (boss, acme, globex) = two_portals(&server).await;
    let msp = boss.get(&format!("/v1/orgs/{acme}")).await["parent"]
        .as_str()
        .expect("the client's MSP")
        .to_owned();
    let mut policy = sla_body();
    policy["default"] = json!(true);
    boss.post(&format!("/v1/orgs/{msp}/sla-policies"), policy)
        .await;
    Portals {
        server,
        clock,
        boss,
        acme,
        globex,
    }
}

/// A browser signed in on the portal at `slug`.
async fn signed_in(server: &Server, slug: &str, email: &str) -> Browser {
    let browser = Browser::new(&server.base);
    let page = browser
        .post(
            &format!("/portal/{slug}/sign-in"),
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    browser
}

pub(crate) async fn article(
    api: &Api,
    org: &str,
    title: &str,
    visibility: &str,
    published: bool,
) -> String {
    id(&api
        .post(
            &format!("/v1/orgs/{org}/kb/articles"),
            json!({"title": title, "body": format!("To **{title}**, follow these steps.\n\n1. Open it.\n2. Do it."),
                   "tags": ["howto"], "visibility": visibility, "published": published}),
        )
        .await)
}

/// The menu's links on a page.
fn nav(page: &Page) -> String {
    let start = page.html.find("aria-label=\"Portal\"").expect("the menu");
    let end = start + page.html[start..].find("</nav>").expect("its end");
    page.html[start..end].to_owned()
}

#[tokio::test]
async fn the_knowledge_base_lists_searches_and_reads_the_portals_articles_only() {
    let p = portals().await;
    let (boss, acme) = (&p.boss, &p.acme);
    let public = article(boss, acme, "Reset your VPN password", "portal", true).await;
    let internal = article(boss, acme, "VPN appliance admin notes", "internal", true).await;
    let draft = article(boss, acme, "VPN draft", "portal", false).await;
    let elsewhere = article(boss, &p.globex, "Globex VPN guide", "portal", true).await;
    let ann = signed_in(&p.server, "acme", "ann@acme.test").await;

    // The list, on load, without a search.
    let list = ann.get("/portal/acme/kb").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.shows("Reset your VPN password"), "{}", list.html);
    assert!(list.html.contains(&format!("/portal/acme/kb/{public}")));
    assert!(
        list.shows("The articles readers found most helpful first."),
        "most useful first by default"
    );
    assert!(list.shows("Updated 2 March 2026"));
    assert!(
        list.shows("To Reset your VPN password, follow these steps."),
        "an excerpt"
    );
    for hidden in ["VPN appliance admin notes", "VPN draft", "Globex VPN guide"] {
        assert!(!list.shows(hidden), "{hidden} is not the portal's");
    }
    assert!(nav(&list).contains("aria-current=\"page\">Knowledge base"));

    // Search: the core's, over the portal's articles.
    let found = ann.get("/portal/acme/kb?q=vpn+password").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.shows("Articles matching “vpn password”"));
    assert!(found.shows("Reset your VPN password"));
    assert_eq!(found.input("q").as_deref(), Some("vpn password"));
    let nothing = ann.get("/portal/acme/kb?q=appliance").await;
    assert!(
        nothing.shows("No articles match “appliance”"),
        "{}",
        nothing.html
    );
    assert!(!nothing.shows("VPN appliance admin notes"));
    let short = ann.get("/portal/acme/kb?q=a").await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.field_error("q").is_some(), "{}", short.html);
    assert!(short.html.contains("aria-invalid=\"true\""));

    // Reading one: the markdown rendered, the date in the org's zone.
    let read = ann.get(&format!("/portal/acme/kb/{public}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        read.html
            .contains("<h1 id=\"article-title\">Reset your VPN password</h1>")
    );
    assert!(
        read.html
            .contains("<strong>Reset your VPN password</strong>")
    );
    assert!(read.html.contains("<li>Open it.</li>"));
    assert!(read.shows("Updated 2 March 2026"));
    // An internal article, a draft, another org's or no article at all:
    // the portal's 404 page, which shows nothing of it.
    for (what, path) in [
        ("internal", format!("/portal/acme/kb/{internal}")),
        ("draft", format!("/portal/acme/kb/{draft}")),
        ("another org's", format!("/portal/acme/kb/{elsewhere}")),
        ("not an id", "/portal/acme/kb/nope".to_owned()),
    ] {
        let page = ann.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{what}");
        assert!(page.shows("Page not found"), "{what}");
        assert!(!page.shows("VPN"), "{what}: {}", page.html);
    }

    // Staff looking at the client's portal see what its people see.
    let staff = Browser::new(&p.server.base);
    staff.sign_in("boss@msp.test", PASSWORD).await;
    let list = staff.get("/portal/acme/kb").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(list.shows("Reset your VPN password"));
    assert!(!list.shows("VPN appliance admin notes") && !list.shows("VPN draft"));
    assert_eq!(
        staff
            .get(&format!("/portal/acme/kb/{internal}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_empty_knowledge_base_says_so_and_a_long_one_pages() {
    let p = portals().await;
    let ann = signed_in(&p.server, "acme", "ann@acme.test").await;
    let empty = ann.get("/portal/acme/kb").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.shows("No articles yet"), "{}", empty.html);
    assert!(empty.html.contains("/portal/acme/tickets/new"));

    for n in 0..21 {
        p.clock.advance(Duration::minutes(1));
        article(
            &p.boss,
            &p.acme,
            &format!("Guide number {n:02}"),
            "portal",
            true,
        )
        .await;
    }
    let first = ann.get("/portal/acme/kb?sort=newest").await;
    assert!(first.shows("Most recently updated first."));
    assert!(first.shows("Guide number 20"), "newest first");
    assert!(!first.shows("Guide number 00"), "a page holds 20");
    let more = first
        .html
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|href| href.contains("cursor="))
        .expect("a link to the older articles")
        // The page escapes `&` in attributes (askama writes `&#38;`).
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(first.shows("Older articles"));
    let second = ann.get(&more).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.shows("Guide number 00"), "{more}: {}", second.html);
    assert!(!second.shows("Guide number 20"));
    assert!(!second.html.contains("cursor="), "the last page");
}

/// "Was this article helpful?": a small form on the article (no script),
/// a thanks notice after the redirect, one vote per person that a later
/// one replaces, and the list most useful first by default, with a link to
/// the newest first.
#[tokio::test]
async fn readers_say_whether_an_article_helped_and_the_list_puts_the_most_useful_first() {
    let p = portals().await;
    let (boss, acme) = (&p.boss, &p.acme);
    let older = article(boss, acme, "Set up the printer", "portal", true).await;
    p.clock.advance(Duration::minutes(1));
    let newer = article(boss, acme, "Connect to the VPN", "portal", true).await;
    let internal = article(boss, acme, "Printer admin notes", "internal", true).await;
    let elsewhere = article(boss, &p.globex, "Globex printer guide", "portal", true).await;
    let ann = signed_in(&p.server, "acme", "ann@acme.test").await;

    let order = |page: &Page| {
        let printer = page.html.find("Set up the printer").expect("printer");
        let vpn = page.html.find("Connect to the VPN").expect("vpn");
        printer < vpn
    };
    let list = ann.get("/portal/acme/kb").await;
    assert!(!order(&list), "no votes yet: the newest first");
    assert!(
        list.html
            .contains("<span aria-current=\"page\">Most useful</span>")
    );
    assert!(
        list.html
            .contains("href=\"/portal/acme/kb?sort=newest\">Newest</a>")
    );

    let read = ann.get(&format!("/portal/acme/kb/{older}")).await;
    assert!(read.shows("Was this article helpful?"), "{}", read.html);
    assert!(!read.shows("Thanks for your feedback"));
    assert!(read.html.contains("name=\"csrf_token\""));
    let action = format!("/portal/acme/kb/{older}/feedback");
    assert!(read.html.contains(&format!("action=\"{action}\"")));
    let csrf = read.input("csrf_token").expect("the form's token");
    let without = ann.post(&action, &[("helpful", "yes")]).await;
    assert_eq!(without.status, StatusCode::FORBIDDEN, "no CSRF token");
    let voted = ann
        .post(&action, &[("csrf_token", &csrf), ("helpful", "yes")])
        .await;
    assert_eq!(voted.status, StatusCode::SEE_OTHER, "{}", voted.html);
    let thanked = ann.get(&format!("/portal/acme/kb/{older}?rated=1")).await;
    assert!(
        thanked.shows("Thanks for your feedback."),
        "{}",
        thanked.html
    );
    assert!(thanked.shows("1 of 1 person found this helpful."));

    let list = ann.get("/portal/acme/kb").await;
    assert!(order(&list), "the helpful article first: {}", list.html);
    let newest = ann.get("/portal/acme/kb?sort=newest").await;
    assert!(!order(&newest), "newest first on request");
    assert!(
        newest
            .html
            .contains("<span aria-current=\"page\">Newest</span>")
    );

    // Ann changes her mind: her vote is replaced, not added to.
    ann.post(&action, &[("csrf_token", &csrf), ("helpful", "no")])
        .await;
    let read = ann.get(&format!("/portal/acme/kb/{older}")).await;
    assert!(
        read.shows("0 of 1 person found this helpful."),
        "{}",
        read.html
    );
    let api = boss
        .get(&format!("/v1/orgs/{acme}/kb/articles/{older}"))
        .await;
    assert_eq!(
        (api["helpful"].as_u64(), api["not_helpful"].as_u64()),
        (Some(0), Some(1))
    );
    let useful = boss
        .get(&format!("/v1/orgs/{acme}/kb/articles?sort=useful"))
        .await;
    assert_eq!(
        items(&useful)
            .iter()
            .map(|a| a["id"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>(),
        [newer.clone(), older.clone()],
        "the API's most useful first: the unhelpful one last"
    );

    // An internal article, another org's, a forged answer, a missing token.
    for (what, id) in [("internal", &internal), ("another org's", &elsewhere)] {
        let page = ann
            .post(
                &format!("/portal/acme/kb/{id}/feedback"),
                &[("csrf_token", &csrf), ("helpful", "yes")],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{what}");
    }
    let odd = ann
        .post(&action, &[("csrf_token", &csrf), ("helpful", "maybe")])
        .await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    let read = ann.get(&format!("/portal/acme/kb/{older}")).await;
    assert!(read.shows("0 of 1 person found this helpful."), "unchanged");
}

/// A published policy of Acme and its campaign to Ann, due in two weeks:
/// (policy, campaign).
pub(crate) async fn launch(p: &Portals, org: &str, due: &str) -> (String, String) {
    let policy = id(&p
        .boss
        .post(
            &format!("/v1/orgs/{org}/policies"),
            json!({"title": "Acceptable Use", "category": "people",
                   "body": "# Purpose\n\nStaff **must** lock screens.\n\n<script>alert(1)</script>\n"}),
        )
        .await);
    for step in ["submit", "approve", "publish"] {
        p.boss
            .ok(
                M::POST,
                &format!("/v1/orgs/{org}/policies/{policy}/{step}"),
                None,
                StatusCode::OK,
            )
            .await;
    }
    let campaign = id(&p
        .boss
        .post(
            &format!("/v1/orgs/{org}/policies/{policy}/campaigns"),
            json!({"title": "Spring acknowledgment", "audience": {"kind": "roles", "of": ["employee"]}, "due": due}),
        )
        .await);
    (policy, campaign)
}

async fn completion(p: &Portals, campaign: &str) -> Value {
    p.boss
        .get(&format!("/v1/orgs/{}/campaigns/{campaign}", p.acme))
        .await
}

#[tokio::test]
async fn an_employee_signs_a_policy_in_the_portal_and_gets_a_receipt() {
    let mut p = portals().await;
    let (_, campaign) = launch(&p, &p.acme, "2026-03-16T12:00:00Z").await;
    let (_, overdue) = launch(&p, &p.acme, "2026-03-03T09:00:00Z").await;
    let (_, theirs) = launch(&p, &p.globex, "2026-03-16T12:00:00Z").await;
    p.clock.advance(Duration::days(2));
    // Two days on, the morning's login has expired: a new one.
    p.boss = p.server.login("boss@msp.test", PASSWORD).await;
    let ann = signed_in(&p.server, "acme", "ann@acme.test").await;

    // What is waiting: title, version, due date, the overdue one marked.
    let list = ann.get("/portal/acme/policies").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.shows("Waiting for you (2)"), "{}", list.html);
    assert!(list.shows("Version 1 · due 16 March 2026"));
    assert!(list.shows("Version 1 · due 3 March 2026"));
    assert_eq!(list.html.matches(">Overdue</span>").count(), 1);
    assert_eq!(list.html.matches(">To sign</span>").count(), 1);
    let first = list
        .html
        .find(&format!("/policies/{overdue}"))
        .expect("overdue");
    let second = list
        .html
        .find(&format!("/policies/{campaign}"))
        .expect("pending");
    assert!(first < second, "the most pressing first");

    // The policy: its text (markdown, written HTML as text) and the form.
    let path = format!("/portal/acme/policies/{campaign}");
    let page = ann.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("<strong>must</strong>"));
    assert!(!page.html.contains("<script>alert"), "written HTML is text");
    assert!(page.shows("Waiting for your signature"));
    assert_eq!(
        page.input("typed_name").as_deref(),
        Some(""),
        "the person types it"
    );
    let csrf = page.input("csrf_token").expect("the form's token");

    // Neither ticked nor the right name: both said, next to their fields.
    let wrong = ann
        .post(&path, &[("csrf_token", &csrf), ("typed_name", "Bob Other")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.field_error("agree").is_some(), "{}", wrong.html);
    assert_eq!(
        wrong.field_error("typed_name").as_deref(),
        Some("Type your name as it is on your account: Ann Example.")
    );
    assert_eq!(
        wrong.input("typed_name").as_deref(),
        Some("Bob Other"),
        "kept"
    );
    let blank = ann
        .post(
            &path,
            &[
                ("csrf_token", &csrf),
                ("agree", "yes"),
                ("typed_name", "  "),
            ],
        )
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.field_error("agree").is_none());
    assert_eq!(
        blank.field_error("typed_name").as_deref(),
        Some("Type your full name to sign.")
    );
    assert_eq!(
        completion(&p, &campaign).await["signed"],
        0,
        "nothing signed yet"
    );

    // Signed (the name loosely as the account has it): the receipt.
    let signed = ann
        .post(
            &path,
            &[
                ("csrf_token", &csrf),
                ("agree", "yes"),
                ("typed_name", "ann  example"),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.html);
    assert_eq!(signed.location(), format!("{path}/receipt?done=signed"));
    let receipt = ann.get(signed.location()).await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert!(receipt.shows("Thank you. Your acknowledgment is recorded."));
    assert!(receipt.shows("ann example"), "the name as typed");
    // Signed at 4 March 2026 09:00 UTC: 10:00 in Paris.
    assert!(receipt.shows("4 March 2026, 10:00 CET"), "{}", receipt.html);
    let hash = items(&p.boss.get(&format!("/v1/orgs/{}/campaigns", p.acme)).await)
        .iter()
        .find(|c| c["id"] == campaign.as_str())
        .expect("the campaign")["version_hash"]
        .as_str()
        .expect("a hash")
        .to_owned();
    assert!(receipt.html.contains(&hash), "the version's hash");

    // The campaign's completion rises, and the signature is evidence.
    let done = completion(&p, &campaign).await;
    assert_eq!(
        (done["signed"].as_u64(), done["percent"].as_f64()),
        (Some(1), Some(100.0))
    );
    let evidence = p.boss.get(&format!("/v1/orgs/{}/evidence", p.acme)).await;
    assert!(
        items(&evidence)
            .iter()
            .any(|e| e["title"] == "Acceptable Use v1 acknowledged by ann example"),
        "{evidence}"
    );

    // Listed as acknowledged, with the receipt; the page says it is signed.
    let list = ann.get("/portal/acme/policies").await;
    assert!(list.shows("Waiting for you (1)"));
    assert!(list.shows("Version 1 · signed 4 March 2026"));
    assert!(list.html.contains(&format!("{path}/receipt")));
    let page = ann.get(&path).await;
    assert!(page.shows("You signed this version on 4 March 2026, 10:00 CET."));
    assert!(page.input("typed_name").is_none(), "no form any more");
    // Signing again changes nothing: back to the receipt.
    let again = ann
        .post(
            &path,
            &[
                ("csrf_token", &csrf),
                ("agree", "yes"),
                ("typed_name", "Ann Example"),
            ],
        )
        .await;
    assert_eq!(again.location(), format!("{path}/receipt"));
    assert_eq!(completion(&p, &campaign).await["signed"], 1);

    // Another org's campaign is not found here; an unsigned one has no
    // receipt yet.
    for other in [
        format!("/portal/acme/policies/{theirs}"),
        format!("/portal/acme/policies/{theirs}/receipt"),
    ] {
        assert_eq!(
            ann.get(&other).await.status,
            StatusCode::NOT_FOUND,
            "{other}"
        );
    }
    let early = ann
        .get(&format!("/portal/acme/policies/{overdue}/receipt"))
        .await;
    assert_eq!(early.status, StatusCode::SEE_OTHER);
    assert_eq!(early.location(), format!("/portal/acme/policies/{overdue}"));
}

#[tokio::test]
async fn campaign_links_lead_to_the_portal_and_a_dead_session_to_its_sign_in() {
    let p = portals().await;
    let (_, campaign) = launch(&p, &p.acme, "2026-03-16T12:00:00Z").await;
    let browser = Browser::new(&p.server.base);
    // The product's signing link of an org with a portal goes on to it.
    let old = browser.get(&format!("/sign/{}/{campaign}", p.acme)).await;
    assert_eq!(old.status, StatusCode::SEE_OTHER);
    assert_eq!(old.location(), format!("/portal/acme/policies/{campaign}"));
    // Signed out, the portal's page leads to the portal's sign-in.
    let page = browser.get(old.location()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/portal/acme/sign-in?next="));

    // A form posted after the session ended: the portal's sign-in, back
    // to the policy.
    let ann = signed_in(&p.server, "acme", "ann@acme.test").await;
    let path = format!("/portal/acme/policies/{campaign}");
    let csrf = ann.get(&path).await.input("csrf_token").expect("token");
    let secret = ann.cookie().expect("a session");
    let api = Api {
        http: reqwest::Client::new(),
        base: p.server.base.clone(),
        token: Some(secret.split_once('=').expect("name=value").1.to_owned()),
    };
    api.ok(M::POST, "/v1/auth/logout", None, StatusCode::NO_CONTENT)
        .await;
    let late = ann
        .post(
            &path,
            &[
                ("csrf_token", &csrf),
                ("agree", "yes"),
                ("typed_name", "Ann Example"),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::SEE_OTHER);
    let expected = serde_urlencoded::to_string([("next", path.as_str()), ("reason", "expired")])
        .expect("query");
    assert_eq!(late.location(), format!("/portal/acme/sign-in?{expected}"));
    assert_eq!(completion(&p, &campaign).await["signed"], 0);
}

#[tokio::test]
async fn the_compliance_status_shows_only_when_the_portal_enables_it() {
    let p = portals().await;
    p.boss
        .post(
            &format!("/v1/orgs/{}/frameworks", p.acme),
            json!({"framework": "hipaa"}),
        )
        .await;
    let ann = signed_in(&p.server, "acme", "ann@acme.test").await;
    let home = ann.get("/portal/acme").await;
    assert!(!nav(&home).contains("Compliance"), "no menu entry");
    let hidden = ann.get("/portal/acme/compliance").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(!hidden.shows("HIPAA"));

    p.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{}/portal", p.acme),
            Some(json!({"show_compliance_dashboard": true})),
            StatusCode::OK,
        )
        .await;
    let dashboard = p
        .boss
        .get(&format!("/v1/orgs/{}/portal/dashboard", p.acme))
        .await;
    let hipaa = &dashboard["frameworks"][0];
    let home = ann.get("/portal/acme").await;
    assert!(nav(&home).contains("/portal/acme/compliance"));
    let page = ann.get("/portal/acme/compliance").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows(hipaa["name"].as_str().expect("name")));
    assert!(page.shows(&format!(
        "{} of {} requirements met · last change 2 March 2026",
        hipaa["implemented"], hipaa["total"]
    )));
    assert!(page.shows(&format!("{:.1}%", hipaa["score"].as_f64().expect("score"))));
    assert!(page.html.contains("class=\"score-fill\""), "the bar");
    assert!(nav(&page).contains("aria-current=\"page\">Compliance"));
}

#[tokio::test]
async fn assets_show_only_when_enabled_and_only_the_persons_own() {
    let p = portals().await;
    let acme = &p.acme;
    let ann_id = p
        .server
        .login("ann@acme.test", PASSWORD)
        .await
        .get("/v1/me")
        .await["user_id"]
        .as_str()
        .expect("id")
        .to_owned();
    p.server
        .admin()
        .post(
            &format!("/v1/orgs/{acme}/members"),
            json!({"email": "fred@acme.test", "name": "Fred Example", "password": PASSWORD, "role": "employee"}),
        )
        .await;
    let fred_id = p
        .server
        .login("fred@acme.test", PASSWORD)
        .await
        .get("/v1/me")
        .await["user_id"]
        .as_str()
        .expect("id")
        .to_owned();
    for (name, kind, serial, to, status) in [
        (
            "ThinkPad T14",
            "laptop",
            Some("PF-123"),
            Some(&ann_id),
            "in_use",
        ),
        ("iPhone 15", "phone", None, Some(&ann_id), "in_repair"),
        (
            "Fred's laptop",
            "laptop",
            Some("PF-999"),
            Some(&fred_id),
            "in_use",
        ),
        ("Spare monitor", "monitor", None, None, "in_stock"),
    ] {
        p.boss
            .post(
                &format!("/v1/orgs/{acme}/assets"),
                json!({"name": name, "kind": kind, "serial": serial, "assigned_user": to, "status": status}),
            )
            .await;
    }
    let ann = signed_in(&p.server, "acme", "ann@acme.test").await;
    assert!(!nav(&ann.get("/portal/acme").await).contains("Your assets"));
    assert_eq!(
        ann.get("/portal/acme/assets").await.status,
        StatusCode::NOT_FOUND
    );

    p.boss
        .ok(
            M::PATCH,
            &format!("/v1/orgs/{acme}/portal"),
            Some(json!({"show_assets": true})),
            StatusCode::OK,
        )
        .await;
    let home = ann.get("/portal/acme").await;
    assert!(nav(&home).contains("/portal/acme/assets"));
    let page = ann.get("/portal/acme/assets").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    for shown in [
        "ThinkPad T14",
        "laptop",
        "PF-123",
        "In use",
        "iPhone 15",
        "In repair",
    ] {
        assert!(page.shows(shown), "{shown}: {}", page.html);
    }
    for other in ["Fred's laptop", "PF-999", "Spare monitor"] {
        assert!(!page.shows(other), "{other} is not Ann's");
    }
    let fred = signed_in(&p.server, "acme", "fred@acme.test").await;
    let freds = fred.get("/portal/acme/assets").await;
    assert!(freds.shows("Fred's laptop") && !freds.shows("ThinkPad"));
    // Someone with nothing assigned is told what to do.
    p.server
        .admin()
        .post(
            &format!("/v1/orgs/{acme}/members"),
            json!({"email": "gil@acme.test", "name": "Gil Example", "password": PASSWORD, "role": "employee"}),
        )
        .await;
    let gil = signed_in(&p.server, "acme", "gil@acme.test").await;
    let empty = gil.get("/portal/acme/assets").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.shows("No assets assigned to you"), "{}", empty.html);
    assert!(empty.html.contains("/portal/acme/tickets/new"));

    // Over the API too: one's own, where the portal shows them; not another's.
    let ann_api = p.server.login("ann@acme.test", PASSWORD).await;
    let own = ann_api
        .get(&format!("/v1/orgs/{acme}/assets?assigned_to={ann_id}"))
        .await;
    assert_eq!(items(&own).len(), 2);
    ann_api
        .ok(
            M::GET,
            &format!("/v1/orgs/{acme}/assets?assigned_to={fred_id}"),
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
}

#[tokio::test]
async fn someone_who_signs_nothing_sees_nothing_to_sign() {
    let p = portals().await;
    launch(&p, &p.acme, "2026-03-16T12:00:00Z").await;
    p.server
        .admin()
        .post(
            &format!("/v1/orgs/{}/members", p.acme),
            json!({"email": "vera@acme.test", "name": "Vera Viewer", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    let vera = signed_in(&p.server, "acme", "vera@acme.test").await;
    let page = vera.get("/portal/acme/policies").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Nothing to sign"));
}
