//! Email over a real SMTP conversation ([`support::smtp::SmtpSink`]): each
//! kind of notification email arrives with its recipients, subject, the
//! org's name and branding, and its link on the public URL; a server that
//! refuses a message leaves the attempts, the backoff and the dead state in
//! the record, a new delivery loop on the same store does not retry
//! everything at once, one failing message does not hold up the others,
//! and an admin sees and retries the dead letter. Preferences and the
//! admin lists over HTTP.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use regentra_core::ids::{OrgId, UserId};
use regentra_core::mail::{MAX_ATTEMPTS, retry_delay};
use regentra_core::policies::Audience;
use regentra_core::policies::campaign::NewCampaign;
use regentra_core::policies::service::NewPolicy;
use regentra_core::portal::{BrandingUpdate, PortalUpdate};
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::{
    Action, ClockKind, DEFAULT_CHAT_ANSWER_MINUTES, EscalationRule, NewSlaPolicy, Targets, Trigger,
};
use regentra_core::psa::ticket::NewTicket;
use regentra_core::rbac::Role;
use regentra_core::tenancy::OrgKind;
use regentra_core::{ManualClock, Principal, Regentra};
use regentra_http::cli::serve::{AppClock, AppConfig, DEFAULT_ADMIN_EMAIL};
use regentra_http::server::mail::{MailConfig, Mailer};
use serde_json::{Value, json};

use crate::support::smtp::SmtpSink;
use crate::support::{self, Api, M, Server, StatusCode, items};

/// Monday 2026-11-02 09:00 UTC: every test's start.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .expect("instant")
}

/// The people of a client: its MSP's admin and technician, two employees.
struct Shop {
    r: Arc<Regentra>,
    msp: OrgId,
    client: OrgId,
    boss: Principal,
    tom: Principal,
    erin: Principal,
    frank: Principal,
}

impl Shop {
    async fn api(&self, server: &Server, who: &Principal) -> Api {
        let (_, token) = self.r.issue_token(who, "test").await.expect("a token");
        server.with_token(&token)
    }
}

async fn joined(
    r: &Regentra,
    ops: &Principal,
    org: OrgId,
    email: &str,
    name: &str,
    role: Role,
) -> Principal {
    let added = r
        .add_member(ops, org, email, name, role)
        .await
        .expect("the operator adds a member");
    Principal::new(added.membership().expect("the operator sees it").user)
}

/// Northwind IT (MSP) runs Acme Dental: Bea (MSP admin), Tom (technician
/// assigned to Acme), Erin and Frank (Acme's employees).
async fn shop(server: &Server) -> Shop {
    let r = Arc::clone(&server.regentra);
    let ops = Principal::new(
        r.platform_admin(DEFAULT_ADMIN_EMAIL)
            .await
            .expect("lookup")
            .expect("the platform admin"),
    );
    let msp = r
        .create_organization(&ops, "Northwind IT", OrgKind::Msp)
        .await
        .expect("MSP")
        .id;
    let boss = joined(
        &r,
        &ops,
        msp,
        "bea@northwind.test",
        "Bea Boss",
        Role::MspAdmin,
    )
    .await;
    let tom = joined(
        &r,
        &ops,
        msp,
        "tom@northwind.test",
        "Tom Tech",
        Role::Technician,
    )
    .await;
    let client = r
        .create_client(&boss, msp, "Acme Dental")
        .await
        .expect("client")
        .id;
    r.assign_staff(&boss, msp, client, tom.user, Role::Technician)
        .await
        .expect("Tom works Acme");
    let erin = joined(
        &r,
        &ops,
        client,
        "erin@acme.test",
        "Erin Example",
        Role::Employee,
    )
    .await;
    let frank = joined(
        &r,
        &ops,
        client,
        "frank@acme.test",
        "Frank Field",
        Role::Employee,
    )
    .await;
    Shop {
        r,
        msp,
        client,
        boss,
        tom,
        erin,
        frank,
    }
}

/// A published policy of Acme's, launched to `people`, due in two weeks.
async fn campaign(s: &Shop, people: &[UserId]) -> regentra_core::policies::Campaign {
    let r = &s.r;
    let policy = r
        .create_policy(
            &s.boss,
            s.client,
            NewPolicy {
                title: "Acceptable Use Policy".into(),
                category: "people".into(),
                owner: None,
                controls: BTreeSet::from(["AT-01".to_owned()]),
                body: "# Acceptable use\n\nBe careful.\n".into(),
            },
        )
        .await
        .expect("policy");
    r.submit_policy(&s.boss, s.client, policy.id)
        .await
        .expect("submitted");
    r.approve_policy(&s.boss, s.client, policy.id)
        .await
        .expect("approved");
    r.publish_policy(&s.boss, s.client, policy.id)
        .await
        .expect("published");
    r.launch_campaign(
        &s.boss,
        s.client,
        policy.id,
        NewCampaign {
            title: None,
            audience: Audience::Users(people.iter().copied().collect()),
            due: t0() + chrono::Duration::days(14),
            cadence: Default::default(),
        },
    )
    .await
    .expect("launched")
}

fn mail_config(sink: &SmtpSink, every: Duration) -> MailConfig {
    MailConfig {
        smtp_url: Some(sink.url()),
        from: Some("Regentra <noreply@regentra.test>".into()),
        every,
        ..MailConfig::default()
    }
}

fn config_with(clock: &Arc<ManualClock>, mail: MailConfig) -> AppConfig {
    AppConfig {
        clock: AppClock(clock.clone()),
        mail,
        public_url: Some("https://help.northwind.test".into()),
        ..support::config()
    }
}

const PUBLIC: &str = "https://help.northwind.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_notification_email_arrives_over_smtp_with_names_branding_and_links() {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let server = Server::embedded_with(config_with(
        &clock,
        mail_config(&sink, Duration::from_millis(50)),
    ))
    .await;
    assert!(
        server
            .notices
            .iter()
            .any(|n| n.starts_with("email is on: over SMTP")),
        "{:?}",
        server.notices
    );
    let s = shop(&server).await;
    let r = &s.r;
    r.update_portal_settings(
        &s.boss,
        s.client,
        PortalUpdate {
            enabled: Some(true),
            slug: Some(Some("acme".into())),
            branding: BrandingUpdate {
                display_name: Some(Some("Acme Dental Care".into())),
                primary_color: Some(Some("#0a7d5a".into())),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .expect("branded portal");

    // A campaign invitation, with the personal link to the signing page.
    let c = campaign(&s, &[s.erin.user]).await;
    let invitation = sink.wait_for(1).await.remove(0);
    assert_eq!(invitation.recipients, ["erin@acme.test"]);
    assert_eq!(invitation.envelope_from, "noreply@regentra.test");
    assert_eq!(
        invitation.from(),
        (
            "Northwind IT on behalf of Acme Dental Care".to_owned(),
            "noreply@regentra.test".to_owned()
        ),
        "the sending org named, with its MSP"
    );
    assert_eq!(
        invitation.subject(),
        "Please read and acknowledge: Acceptable Use Policy"
    );
    assert!(
        invitation.text().contains("Hello Erin Example,"),
        "{}",
        invitation.text()
    );
    assert!(
        invitation.text().contains("Monday 16 November 2026"),
        "the due date"
    );
    assert_eq!(
        invitation.link_path(PUBLIC),
        Some(format!("/portal/acme/policies/{}", c.id)),
        "the org has a portal: the campaign's page there"
    );
    assert!(invitation.html().contains("#0a7d5a"), "the org's color");
    // Followed without a session, the link leads to the sign-in page.
    let followed = server
        .anonymous()
        .call(M::GET, &invitation.link_path(PUBLIC).expect("a link"), None)
        .await;
    assert_eq!(followed.status, StatusCode::OK, "{}", followed.text);
    assert!(followed.content_type.starts_with("text/html"));
    assert!(
        invitation
            .text()
            .contains("turn off policy acknowledgment emails")
    );

    // Erin turns reminders off over the API (not invitations or resets).
    let erin = s.api(&server, &s.erin).await;
    let prefs = erin.get("/v1/me/email-preferences").await;
    assert_eq!(prefs["off"], json!([]));
    assert!(
        !prefs["optional"]
            .as_array()
            .expect("kinds")
            .contains(&json!("password_reset"))
    );
    let refused = erin
        .call(
            M::PUT,
            "/v1/me/email-preferences",
            Some(json!({"off": ["campaign_reminder", "password_reset"]})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.is_problem());
    assert_eq!(refused.body["errors"][0]["field"], "off");
    let unknown = erin
        .call(
            M::PUT,
            "/v1/me/email-preferences",
            Some(json!({"off": [], "spam": true})),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    let set = erin
        .ok(
            M::PUT,
            "/v1/me/email-preferences",
            Some(json!({"off": ["campaign_reminder"]})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(set["off"], json!(["campaign_reminder"]));
    r.remind_now(&s.boss, s.client, c.id)
        .await
        .expect("reminded");
    let inbox = erin.get("/v1/me/notifications").await;
    assert_eq!(
        items(&inbox)[0]["kind"],
        "campaign_reminder",
        "in the app all the same"
    );

    // An SLA warning and a breach, to the assignee and the rule's targets.
    let calendar: regentra_core::sla::CalendarSpec = serde_json::from_value(json!({
        "timezone": "UTC",
        "weekly": {"mon":[["00:00","24:00"]],"tue":[["00:00","24:00"]],"wed":[["00:00","24:00"]],
                   "thu":[["00:00","24:00"]],"fri":[["00:00","24:00"]],"sat":[["00:00","24:00"]],"sun":[["00:00","24:00"]]}
    }))
    .expect("calendar");
    let targets = Targets {
        first_response_minutes: 60,
        resolution_minutes: 480,
    };
    r.create_sla_policy(
        &s.boss,
        s.msp,
        NewSlaPolicy {
            name: "Around the clock".into(),
            calendar,
            targets: [
                (Priority::Critical, targets),
                (Priority::High, targets),
                (Priority::Medium, targets),
                (Priority::Low, targets),
            ]
            .into(),
            escalations: vec![EscalationRule {
                clock: ClockKind::Response,
                trigger: Trigger::Percent { percent: 50 },
                action: Action::NotifyRole {
                    role: Role::Technician,
                },
            }],
            default: true,
            chat_answer_minutes: DEFAULT_CHAT_ANSWER_MINUTES,
        },
    )
    .await
    .expect("SLA policy");
    let ticket = r
        .create_ticket(
            &s.erin,
            s.client,
            NewTicket {
                subject: "Printer on fire".into(),
                description: String::new(),
                priority: Priority::High,
                requester: None,
            },
        )
        .await
        .expect("ticket");
    r.assign_ticket(&s.boss, s.client, ticket.id, s.tom.user)
        .await
        .expect("assigned");
    clock.set(t0() + chrono::Duration::minutes(30));
    r.run_escalations(s.client).await.expect("sweep");
    let warning = sink.wait_for(2).await.remove(1);
    assert_eq!(warning.recipients, ["tom@northwind.test"]);
    assert_eq!(
        warning.subject(),
        format!("SLA warning on ticket #{}: Printer on fire", ticket.number)
    );
    assert!(
        warning
            .text()
            .contains("The response target is due Monday 2 November 2026, 10:00 UTC"),
        "{}",
        warning.text()
    );
    assert_eq!(
        warning.link_path(PUBLIC),
        Some(format!("/app/{}/tickets/{}", s.client, ticket.id))
    );
    clock.set(t0() + chrono::Duration::minutes(61));
    r.run_escalations(s.client).await.expect("sweep");
    let breach = sink.wait_for(3).await.remove(2);
    assert_eq!(breach.recipients, ["tom@northwind.test"]);
    assert_eq!(
        breach.subject(),
        format!("SLA breached on ticket #{}: Printer on fire", ticket.number)
    );

    // A public reply reaches the requester, with the portal link; a note never.
    r.add_comment(
        &s.tom,
        s.client,
        ticket.id,
        "Internal: call the fire brigade",
        false,
    )
    .await
    .expect("note");
    r.add_comment(
        &s.tom,
        s.client,
        ticket.id,
        "We are on our way.\nStay calm.",
        true,
    )
    .await
    .expect("reply");
    let reply = sink.wait_for(4).await.remove(3);
    assert_eq!(reply.recipients, ["erin@acme.test"]);
    assert_eq!(
        reply.subject(),
        format!("Re: [#{}] Printer on fire", ticket.number)
    );
    assert!(
        reply.text().contains("Tom Tech replied"),
        "{}",
        reply.text()
    );
    assert!(
        reply.text().contains("> We are on our way.\n> Stay calm."),
        "{}",
        reply.text()
    );
    assert!(!reply.text().contains("fire brigade"));
    assert_eq!(
        reply.link_path(PUBLIC),
        Some(format!("/portal/acme/tickets/{}", ticket.id))
    );
    // Followed, the link opens the ticket in the client's portal once Erin
    // has signed in there (the sign-in page comes back to it): the reply,
    // never the note.
    let browser = crate::support::browser::Browser::new(&server.base);
    let ticket_path = format!("/portal/acme/tickets/{}", ticket.id);
    let followed = browser.get(&ticket_path).await;
    assert_eq!(followed.status, StatusCode::SEE_OTHER);
    let sign_in = browser.get(followed.location()).await;
    assert_eq!(sign_in.input("next").as_deref(), Some(ticket_path.as_str()));
    // Signed in (this server's public address is https, so its cookie is
    // the secure one, which the test holds as the browser would).
    let (_, secret) = r.issue_login_token(&s.erin).await.expect("a session");
    browser.hold_cookie(&format!("__Host-regentra_session={secret}"));
    let page = browser.get(&ticket_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("We are on our way.") && page.shows("Printer on fire"));
    assert!(!page.html.contains("fire brigade"));

    // A new chat waits for the client's technicians.
    let chat = r
        .start_chat(&s.frank, s.client, "Is anyone there? <b>help</b>")
        .await
        .expect("chat");
    let waiting = sink.wait_for(5).await.remove(4);
    assert_eq!(waiting.recipients, ["tom@northwind.test"]);
    assert_eq!(
        waiting.subject(),
        "Frank Field is waiting in a chat (Acme Dental Care)"
    );
    assert!(
        waiting.html().contains("&lt;b&gt;help&lt;/b&gt;")
            || waiting.html().contains("&#60;b&#62;help"),
        "escaped in HTML"
    );
    assert_eq!(
        waiting.link_path(PUBLIC),
        Some(format!("/app/{}/chats/{}", s.client, chat.id))
    );

    // Erin's reminder was never queued: five messages in all, each once.
    let all = sink.messages();
    assert_eq!(
        all.len(),
        5,
        "{:?}",
        all.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    assert!(
        sink.to("erin@acme.test")
            .iter()
            .all(|m| !m.subject().starts_with("Reminder"))
    );
}

/// The org's emails as its admin sees them.
async fn org_emails(api: &Api, org: OrgId, query: &str) -> Vec<Value> {
    items(&api.get(&format!("/v1/orgs/{org}/emails{query}")).await).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_backs_off_in_its_record_dies_and_is_retried_by_an_admin() {
    let sink = SmtpSink::start().await;
    sink.refuse("frank@acme.test");
    let clock = Arc::new(ManualClock::new(t0()));
    // Email off on the server itself: the test drives delivery loops of its
    // own over the same store, pass by pass.
    let server = Server::embedded_with(config_with(&clock, MailConfig::default())).await;
    assert!(
        server.notices.iter().any(|n| n.starts_with("email is off")),
        "{:?}",
        server.notices
    );
    let s = shop(&server).await;
    let gina = joined(
        &s.r,
        &Principal::new(
            s.r.platform_admin(DEFAULT_ADMIN_EMAIL)
                .await
                .expect("ops")
                .expect("ops"),
        ),
        s.client,
        "gina@acme.test",
        "Gina Green",
        Role::Employee,
    )
    .await;
    campaign(&s, &[s.erin.user, s.frank.user, gina.user]).await;
    let config = mail_config(&sink, Duration::from_secs(3600));
    let first = Mailer::from_config(&config, PUBLIC)
        .expect("mailer")
        .expect("email on");
    assert_eq!(
        first.deliver_due(&s.r).await,
        2,
        "Frank's failure holds no one up"
    );
    assert_eq!(
        sink.messages()
            .iter()
            .flat_map(|m| m.recipients.clone())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["erin@acme.test".to_owned(), "gina@acme.test".to_owned()])
    );
    let boss = s.api(&server, &s.boss).await;
    let pending = org_emails(&boss, s.client, "?state=pending").await;
    assert_eq!(pending.len(), 1);
    let frank = &pending[0];
    assert_eq!(frank["to"], "frank@acme.test");
    assert_eq!(frank["attempts"], 1);
    assert!(
        frank["last_error"].as_str().expect("why").contains("550"),
        "{frank}"
    );
    assert_eq!(
        frank["next_attempt_at"]
            .as_str()
            .map(|t| t.parse::<DateTime<Utc>>().expect("time")),
        Some(t0() + retry_delay(1))
    );
    assert!(frank["content"].get("link").is_none(), "never the link");
    let frank_id = frank["id"].as_str().expect("id").to_owned();

    // A restart: a new loop on the same store waits out the stored backoff.
    let restarted = Mailer::from_config(&config, PUBLIC)
        .expect("mailer")
        .expect("email on");
    assert_eq!(restarted.deliver_due(&s.r).await, 0);
    assert_eq!(
        org_emails(&boss, s.client, "?state=pending").await[0]["attempts"],
        1,
        "not retried at once"
    );
    // Each wait over, one more attempt, until the email is dead.
    let mut now = t0();
    for attempt in 1..MAX_ATTEMPTS {
        now += retry_delay(attempt);
        clock.set(now);
        restarted.deliver_due(&s.r).await;
    }
    let dead = org_emails(&boss, s.client, "").await;
    assert_eq!(dead[0]["id"], frank_id.as_str(), "dead letters first");
    assert_eq!(dead[0]["state"], "dead");
    assert_eq!(dead[0]["attempts"], MAX_ATTEMPTS);
    assert_eq!(dead.iter().filter(|e| e["state"] == "sent").count(), 2);
    clock.set(now + chrono::Duration::days(1));
    restarted.deliver_due(&s.r).await;
    assert_eq!(sink.messages().len(), 2, "a dead letter waits for a person");

    // Not for an employee, nor the platform's list for the MSP admin.
    let erin = s.api(&server, &s.erin).await;
    let denied = erin
        .call(M::GET, &format!("/v1/orgs/{}/emails", s.client), None)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.text);
    let denied = boss.call(M::GET, "/v1/platform/emails", None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.text);
    let all = server.admin().get("/v1/platform/emails?state=dead").await;
    assert_eq!(items(&all).len(), 1);
    let bad = boss
        .call(
            M::GET,
            &format!("/v1/orgs/{}/emails?state=lost", s.client),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.is_problem());

    // Frank's mailbox is fixed; the admin retries and the message goes.
    sink.accept("frank@acme.test");
    let retried = boss
        .ok(
            M::POST,
            &format!("/v1/orgs/{}/emails/{frank_id}/retry", s.client),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(retried["state"], "pending");
    assert_eq!(retried["attempts"], 0);
    let again = boss
        .call(
            M::POST,
            &format!("/v1/orgs/{}/emails/{frank_id}/retry", s.client),
            None,
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only a dead one"
    );
    assert_eq!(restarted.deliver_due(&s.r).await, 1);
    let to_frank = sink.to("frank@acme.test");
    assert_eq!(to_frank.len(), 1);
    assert!(
        to_frank[0]
            .link_path(PUBLIC)
            .is_some_and(|p| p.starts_with(&format!("/sign/{}/", s.client))),
        "the link survived in the dead letter"
    );
    let sent = org_emails(&boss, s.client, "?state=sent").await;
    assert_eq!(sent.len(), 3);
    let audit = boss
        .get(&format!("/v1/orgs/{}/audit?limit=500", s.client))
        .await;
    let actions: Vec<&str> = items(&audit)
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["email.failed", "email.dead", "email.retried", "email.sent"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_and_password_reset_emails_arrive_and_their_links_work() {
    let sink = SmtpSink::start().await;
    let config = AppConfig {
        mail: mail_config(&sink, Duration::from_millis(50)),
        public_url: Some(PUBLIC.into()),
        ..support::config()
    };
    let server = Server::embedded_with(config).await;
    let (boss, _, client) = support::msp_with_client(&server).await;
    boss.ok(
        M::POST,
        &format!("/v1/orgs/{client}/invitations"),
        Some(json!({"email": "nina@client.test", "role": "employee"})),
        StatusCode::ACCEPTED,
    )
    .await;
    let invitation = sink.wait_for(1).await.remove(0);
    assert_eq!(invitation.recipients, ["nina@client.test"]);
    assert_eq!(invitation.subject(), "Boss invited you to Client");
    assert_eq!(invitation.from().0, "Client", "the inviting org named");
    assert!(
        invitation.text().contains("as employee"),
        "{}",
        invitation.text()
    );
    let path = invitation.link_path(PUBLIC).expect("the invitation link");
    let token = path
        .strip_prefix("/invite?token=")
        .expect("an invitation link")
        .to_owned();
    // The link opens the page, and its token accepts with a new account.
    let page = server.anonymous().call(M::GET, &path, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.content_type.starts_with("text/html"));
    server
        .anonymous()
        .ok(
            M::POST,
            "/v1/invitations/accept",
            Some(json!({"token": token, "name": "Nina New", "password": support::PASSWORD})),
            StatusCode::OK,
        )
        .await;
    let nina = server.login("nina@client.test", support::PASSWORD).await;
    assert_eq!(
        nina.get("/v1/me").await["memberships"][0]["org_name"],
        "Client",
        "a member now"
    );
    // Delivered, the link is no longer in the record.
    let sent = server.admin().get("/v1/platform/emails?state=sent").await;
    assert_eq!(items(&sent).len(), 1);
    let stored: Vec<regentra_core::mail::OutgoingEmail> = regentra_core::store::all(
        server.regentra.store(),
        regentra_core::store::Scope::Platform,
    )
    .await
    .expect("emails")
    .into_iter()
    .map(|e| e.value)
    .collect();
    assert!(
        !serde_json::to_string(&stored)
            .expect("json")
            .contains(&token),
        "the secret is kept only as its hash once sent"
    );

    // A reset link, sent by email, sets a new password.
    server
        .anonymous()
        .ok(
            M::POST,
            "/v1/auth/password-reset",
            Some(json!({"email": "nina@client.test"})),
            StatusCode::ACCEPTED,
        )
        .await;
    let reset = sink.wait_for(2).await.remove(1);
    assert_eq!(reset.recipients, ["nina@client.test"]);
    assert_eq!(reset.subject(), "Reset your password");
    assert!(
        reset.text().contains("The link works once, until"),
        "{}",
        reset.text()
    );
    let path = reset.link_path(PUBLIC).expect("the reset link");
    let token = path
        .strip_prefix("/reset-password?token=")
        .expect("a reset link")
        .to_owned();
    let page = server.anonymous().call(M::GET, &path, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let fresh = "another quite long passphrase for nina";
    let confirmed = server
        .anonymous()
        .call(
            M::POST,
            "/v1/auth/password-reset/confirm",
            Some(json!({"token": token, "password": fresh})),
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::NO_CONTENT,
        "{}",
        confirmed.text
    );
    server.login("nina@client.test", fresh).await;
}

/// Two processes with email on, on one Postgres database: their delivery
/// loops run at once over the same due emails, each writing into a mail
/// directory of its own, and every email is written once in all (the
/// outbox's claim lets one loop at a time take a batch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_send_each_email_once() {
    const PEOPLE: usize = 120;
    let clock = Arc::new(ManualClock::new(t0()));
    let Some(server) = Server::start(
        support::Backend::Postgres,
        config_with(&clock, MailConfig::default()),
    )
    .await
    else {
        return;
    };
    let s = shop(&server).await;
    let ops = Principal::new(
        s.r.platform_admin(DEFAULT_ADMIN_EMAIL)
            .await
            .expect("ops")
            .expect("ops"),
    );
    let mut people = Vec::new();
    for n in 0..PEOPLE {
        let email = format!("person{n}@acme.test");
        let person = joined(&s.r, &ops, s.client, &email, "Person", Role::Employee).await;
        people.push(person.user);
    }
    // One invitation email each, all due now.
    campaign(&s, &people).await;
    let due: BTreeSet<String> =
        s.r.emails_due(regentra_core::store::MAX_PAGE)
            .await
            .expect("due")
            .into_iter()
            .map(|e| e.id.0.to_string())
            .collect();
    assert_eq!(due.len(), PEOPLE);

    let other = server
        .store
        .another_process()
        .await
        .expect("a second store");
    let processes = [
        Arc::clone(&s.r),
        Arc::new(Regentra::new(Arc::clone(&other.store)).with_clock(clock.clone())),
    ];
    let dirs = [
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    ];
    let mut loops = Vec::new();
    for (r, dir) in processes.iter().zip(&dirs) {
        let config = MailConfig {
            mail_dir: Some(dir.path().to_path_buf()),
            ..MailConfig::default()
        };
        let mailer = Mailer::from_config(&config, PUBLIC)
            .expect("mailer")
            .expect("email on");
        let r = Arc::clone(r);
        loops.push(tokio::spawn(async move {
            // Pass after pass until nothing is due (a generous bound).
            for _ in 0..10_000 {
                mailer.deliver_due(&r).await;
                if r.emails_due(1).await.expect("due").is_empty() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the outbox never emptied");
        }));
    }
    for l in loops {
        l.await.expect("a delivery loop ends");
    }

    // Each file is named `<created>-<kind>-<id>.eml`.
    let mut written: Vec<String> = Vec::new();
    for dir in &dirs {
        for file in std::fs::read_dir(dir.path()).expect("mail dir") {
            let name = file.expect("entry").file_name();
            let name = name.to_str().expect("utf-8").to_owned();
            let id = name
                .strip_suffix(".eml")
                .and_then(|n| n.splitn(3, '-').nth(2).map(str::to_owned))
                .unwrap_or_else(|| panic!("{name} is a message file"));
            written.push(id);
        }
    }
    let once: BTreeSet<String> = written.iter().cloned().collect();
    assert_eq!(
        written.len(),
        once.len(),
        "an email was written by both processes"
    );
    assert_eq!(once, due, "every due email was written");
}
