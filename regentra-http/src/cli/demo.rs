//! `regentra serve --demo`: seeds, once, a demo MSP with two clients, staff,
//! adopted frameworks, a policy campaign, tickets and a portal, all through
//! the core's own operations (so the demo's audit chains verify too).

use chrono::Duration;
use regentra_core::compliance::{ControlStatus, ControlUpdate, NewEvidence};
use regentra_core::policies::campaign::NewCampaign;
use regentra_core::policies::{Audience, ReminderCadence};
use regentra_core::portal::{BrandingUpdate, PortalUpdate};
use regentra_core::psa::Priority;
use regentra_core::psa::records::{AssetStatus, NewArticle, NewAsset, Visibility};
use regentra_core::psa::sla_policy::NewSlaPolicy;
use regentra_core::psa::ticket::NewTicket;
use regentra_core::rbac::Role;
use regentra_core::store::PageRequest;
use regentra_core::tenancy::OrgKind;
use regentra_core::{Principal, Regentra, UserId};
use serde_json::json;

/// The demo MSP's name: its presence means the demo was seeded.
const DEMO_MSP: &str = "Northwind IT (demo)";
/// Its name while seeding: renamed to [`DEMO_MSP`] as the last step, so an
/// interrupted seeding is told apart from a finished one.
const SEEDING: &str = "Northwind IT (demo, seeding)";
/// Every demo user's password; printed at start. Demo data only.
pub const DEMO_PASSWORD: &str = "regentra-demo-password";

/// Who can log in to the demo, printed once seeded.
#[derive(Debug)]
pub struct DemoLogins {
    pub lines: Vec<String>,
}

/// How long ago the demo's story starts: its records are dated from then
/// (in order, as if the MSP had been at work), so that an SLA clock has
/// run out on one ticket and is running out on another when the console
/// first opens.
const STORY_STARTED: Duration = Duration::hours(2);

/// The clock the demo is seeded on: the server's, [`STORY_STARTED`] ago.
struct StoryClock {
    server: Regentra,
}

impl regentra_core::Clock for StoryClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.server.now() - STORY_STARTED
    }
}

/// The server's services on the demo's clock, [`STORY_STARTED`] behind
/// the server's. Only for a store with nothing in it yet (the host
/// bootstraps and seeds with it): every audit chain then starts in the
/// story's past and goes on at the server's time, in order.
pub fn story(server: &Regentra) -> Regentra {
    server.clone().with_clock(std::sync::Arc::new(StoryClock {
        server: server.clone(),
    }))
}

/// Seeds the demo unless it is there already, with `regentra` (on a fresh
/// store, [`story`]; else the server itself, when the SLA clocks of the
/// demo's tickets start now), then the waiting chat with `server` (the
/// server's own time). `admin` is the platform admin.
pub async fn seed(
    regentra: &Regentra,
    server: &Regentra,
    admin: &Principal,
) -> Result<DemoLogins, String> {
    let fail = |step: &str| {
        let step = step.to_owned();
        move |e: regentra_core::Error| format!("demo seeding failed at {step}: {e}")
    };
    let logins = logins();
    let orgs = regentra
        .list_organizations(admin, PageRequest::first(500))
        .await
        .map_err(fail("listing organizations"))?;
    if orgs.iter().any(|o| o.name == DEMO_MSP) {
        return Ok(logins);
    }
    if orgs.iter().any(|o| o.name == SEEDING) {
        return Err(
            "--demo: an earlier demo seeding was interrupted; start on an empty --data-dir".into(),
        );
    }
    let hash = regentra
        .hash_password(DEMO_PASSWORD)
        .map_err(fail("hashing"))?;
    let msp = regentra
        .create_organization(admin, SEEDING, OrgKind::Msp)
        .await
        .map_err(fail("the MSP"))?;
    let member = |org, email: &'static str, name: &'static str, role| {
        let hash = hash.clone();
        async move {
            // The one hash serves every demo user: the password must pass
            // the rule against each one's own email and name too.
            let inputs = regentra_core::auth::password_user_inputs(email, name);
            let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            regentra_core::auth::check_password(DEMO_PASSWORD, &inputs)?;
            // Run as the platform operator, who is shown the membership.
            regentra
                .add_member_with_password(admin, org, email, name, role, Some(hash))
                .await?
                .membership()
                .map(|m| m.user)
                .ok_or_else(|| {
                    regentra_core::Error::invalid(
                        "admin",
                        "the demo is seeded by a platform operator",
                    )
                })
        }
    };
    let alice = member(
        msp.id,
        "alice@northwind.example",
        "Alice Admin",
        Role::MspAdmin,
    )
    .await
    .map_err(fail("the MSP admin"))?;
    let tom = member(
        msp.id,
        "tom@northwind.example",
        "Tom Technician",
        Role::Technician,
    )
    .await
    .map_err(fail("the technician"))?;
    let carol = member(
        msp.id,
        "carol@northwind.example",
        "Carol Compliance",
        Role::ComplianceOfficer,
    )
    .await
    .map_err(fail("the compliance officer"))?;
    let alice_p = Principal::new(alice);

    let dental = regentra
        .create_client(&alice_p, msp.id, "Acme Dental")
        .await
        .map_err(fail("the first client"))?;
    let globex = regentra
        .create_client(&alice_p, msp.id, "Globex Manufacturing")
        .await
        .map_err(fail("the second client"))?;
    for (client, user, role) in [
        (dental.id, tom, Role::Technician),
        (globex.id, tom, Role::Technician),
        (dental.id, carol, Role::ComplianceOfficer),
    ] {
        regentra
            .assign_staff(&alice_p, msp.id, client, user, role)
            .await
            .map_err(fail("staff assignment"))?;
    }
    let erin = member(
        dental.id,
        "erin@acmedental.example",
        "Erin Employee",
        Role::Employee,
    )
    .await
    .map_err(fail("an employee"))?;
    member(
        dental.id,
        "dan@acmedental.example",
        "Dan Dentist",
        Role::Employee,
    )
    .await
    .map_err(fail("an employee"))?;

    compliance(regentra, &alice_p, dental.id, globex.id)
        .await
        .map_err(fail("compliance"))?;
    helpdesk(regentra, &alice_p, msp.id, dental.id, erin, tom)
        .await
        .map_err(fail("the helpdesk"))?;
    let gail = member(
        globex.id,
        "gail@globex.example",
        "Gail Plant Manager",
        Role::Employee,
    )
    .await
    .map_err(fail("an employee"))?;
    plant_floor(regentra, &alice_p, globex.id, gail, tom)
        .await
        .map_err(fail("the second client's helpdesk"))?;
    // After the portal is on, so that the campaign's emails link to it.
    campaign(regentra, &alice_p, dental.id, carol)
        .await
        .map_err(fail("the campaign"))?;
    // A client waiting in a chat, now (the technicians' inbox says so).
    server
        .start_chat(
            &Principal::new(erin),
            dental.id,
            "Hi, the front desk label printer is jammed again and we have patients checking in.",
        )
        .await
        .map_err(fail("the chat"))?;
    server
        .rename_organization(admin, msp.id, DEMO_MSP)
        .await
        .map_err(fail("finishing"))?;
    Ok(logins)
}

/// Published articles for the portal's knowledge base, and a staff-only one
/// it never shows.
async fn knowledge_base(
    regentra: &Regentra,
    author: &Principal,
    dental: regentra_core::OrgId,
) -> regentra_core::Result<()> {
    let articles = [
        (
            "How to reset your password",
            "Go to the sign-in page and choose **Forgot your password?**. Enter your work email; \
             a link arrives within a few minutes and works for one hour.\n\nIf no email arrives, \
             check your junk folder, then open a ticket.",
            Visibility::Portal,
            true,
        ),
        (
            "Connecting to the office Wi-Fi",
            "Choose the network **AcmeDental-Staff** and sign in with your work email and \
             password. Guests use **AcmeDental-Guest**; the password is at the front desk.",
            Visibility::Portal,
            true,
        ),
        (
            "Reporting a suspicious email",
            "Do not click links or open attachments. Forward the email as an attachment to the \
             service desk, or open a ticket with the subject line, then delete it.",
            Visibility::Portal,
            true,
        ),
        (
            "Imaging server VLAN layout",
            "Staff only: the imaging server and the operatory workstations share VLAN 40.",
            Visibility::Internal,
            true,
        ),
    ];
    for (title, body, visibility, published) in articles {
        regentra
            .add_article(
                author,
                dental,
                NewArticle {
                    title: title.into(),
                    body: body.into(),
                    tags: Default::default(),
                    visibility,
                    published,
                },
            )
            .await?;
    }
    Ok(())
}

/// How to see the demo's emails (the campaign's invitations, SLA
/// warnings, replies): where `--mail-dir` writes them, or how to ask it to.
pub fn email_hint(mail_dir: Option<&std::path::Path>, smtp: bool) -> String {
    match (mail_dir, smtp) {
        (Some(dir), _) => format!(
            "demo emails: each message is written to {} as an .eml file (open it in a mail client)",
            dir.display()
        ),
        (None, true) => "demo emails: sent over --smtp-url".into(),
        (None, false) => "demo emails: start with --mail-dir ./regentra-mail to see every message \
             as an .eml file (email is off otherwise; they wait as pending)"
            .into(),
    }
}

fn logins() -> DemoLogins {
    DemoLogins {
        lines: vec![
            format!("demo logins (password {DEMO_PASSWORD}):"),
            "  alice@northwind.example   MSP admin of Northwind IT (demo)".into(),
            "  tom@northwind.example     technician, assigned to both clients".into(),
            "  carol@northwind.example   compliance officer, assigned to Acme Dental".into(),
            "  erin@acmedental.example   employee of Acme Dental (portal: /portal/acme-dental)"
                .into(),
        ],
    }
}

async fn compliance(
    regentra: &Regentra,
    admin: &Principal,
    dental: regentra_core::OrgId,
    globex: regentra_core::OrgId,
) -> regentra_core::Result<()> {
    regentra.adopt_framework(admin, dental, "hipaa").await?;
    regentra.adopt_framework(admin, dental, "soc2").await?;
    regentra.adopt_framework(admin, globex, "cmmc").await?;
    // A few controls done, with evidence, to make the gap analyses tell a story.
    for control in regentra
        .controls(admin, dental, regentra_core::store::PageRequest::first(12))
        .await?
        .items
    {
        let key = control.implementation.control.clone();
        regentra
            .add_attestation(
                admin,
                dental,
                NewEvidence {
                    title: format!("{key} in place"),
                    controls: [key.clone()].into(),
                    ..Default::default()
                },
                "Reviewed with the practice manager during onboarding.",
            )
            .await?;
        let update = ControlUpdate {
            status: Some(ControlStatus::Implemented),
            ..Default::default()
        };
        regentra
            .update_control(admin, dental, &control.implementation.control, None, update)
            .await?;
    }
    Ok(())
}

async fn campaign(
    regentra: &Regentra,
    admin: &Principal,
    dental: regentra_core::OrgId,
    owner: UserId,
) -> regentra_core::Result<()> {
    let policy = regentra
        .create_policy_from_template(
            admin,
            dental,
            "acceptable-use",
            Some(owner),
            "Practice Manager",
        )
        .await?;
    regentra.submit_policy(admin, dental, policy.id).await?;
    regentra.approve_policy(admin, dental, policy.id).await?;
    regentra.publish_policy(admin, dental, policy.id).await?;
    regentra
        .launch_campaign(
            admin,
            dental,
            policy.id,
            NewCampaign {
                title: Some("Annual acceptable use acknowledgment".into()),
                audience: Audience::Roles([Role::Employee].into()),
                due: regentra.now() + Duration::days(14),
                cadence: ReminderCadence::default(),
            },
        )
        .await?;
    Ok(())
}

async fn helpdesk(
    regentra: &Regentra,
    admin: &Principal,
    msp: regentra_core::OrgId,
    dental: regentra_core::OrgId,
    employee: UserId,
    technician: UserId,
) -> regentra_core::Result<()> {
    let policy: NewSlaPolicy = serde_json::from_value(json!({
        "name": "Standard business hours",
        "calendar": {
            "timezone": "America/New_York",
            "weekly": {
                "mon": [["08:00", "18:00"]], "tue": [["08:00", "18:00"]],
                "wed": [["08:00", "18:00"]], "thu": [["08:00", "18:00"]],
                "fri": [["08:00", "18:00"]]
            },
            "holidays": ["2026-12-25", "2027-01-01"]
        },
        "targets": {
            "critical": { "first_response_minutes": 30, "resolution_minutes": 240 },
            "high": { "first_response_minutes": 60, "resolution_minutes": 480 },
            "medium": { "first_response_minutes": 240, "resolution_minutes": 1440 },
            "low": { "first_response_minutes": 480, "resolution_minutes": 2880 }
        },
        "escalations": [
            { "clock": "resolution", "trigger": { "kind": "percent", "percent": 75 },
              "action": { "kind": "notify_role", "role": "msp_admin" } }
        ],
        "default": true
    }))
    .map_err(|e| regentra_core::Error::invalid("sla_policy", e.to_string()))?;
    regentra.create_sla_policy(admin, msp, policy).await?;
    let xray = regentra
        .create_ticket(
            admin,
            dental,
            NewTicket {
                subject: "X-ray workstation cannot reach the imaging server".into(),
                description: "Since this morning, operatory 2.".into(),
                priority: Priority::High,
                requester: Some(employee),
            },
        )
        .await?;
    // A conversation the portal shows: the technician's public reply and
    // the employee's answer, and a staff note the portal never shows.
    let (tom, erin) = (Principal::new(technician), Principal::new(employee));
    regentra
        .add_comment(
            &tom,
            dental,
            xray.id,
            "Thanks, Erin. I can see the workstation dropped off the imaging VLAN after last \
             night's switch update. Could you tell me whether operatory 3 can still open images?",
            true,
        )
        .await?;
    regentra
        .add_comment(
            &erin,
            dental,
            xray.id,
            "Operatory 3 works fine, only operatory 2 is affected.",
            true,
        )
        .await?;
    regentra
        .add_comment(
            &tom,
            dental,
            xray.id,
            "Internal: port 14 on the closet switch lost its VLAN tag; re-tag after 6 pm.",
            false,
        )
        .await?;
    knowledge_base(regentra, &tom, dental).await?;
    regentra
        .create_ticket(
            admin,
            dental,
            NewTicket {
                subject: "New hire laptop".into(),
                description: "Starts Monday.".into(),
                priority: Priority::Low,
                requester: Some(employee),
            },
        )
        .await?;
    // Erin's equipment, which the portal shows her.
    for (name, kind, serial, status) in [
        (
            "ThinkPad X1 Carbon",
            "laptop",
            Some("PF-3X9K2L"),
            AssetStatus::InUse,
        ),
        ("iPhone 15", "phone", None, AssetStatus::InRepair),
    ] {
        regentra
            .add_asset(
                admin,
                dental,
                NewAsset {
                    name: name.into(),
                    kind: kind.into(),
                    serial: serial.map(str::to_owned),
                    assigned_user: Some(employee),
                    status,
                    attributes: Default::default(),
                },
            )
            .await?;
    }
    regentra
        .update_portal_settings(
            admin,
            dental,
            PortalUpdate {
                enabled: Some(true),
                slug: Some(Some("acme-dental".into())),
                branding: BrandingUpdate {
                    display_name: Some(Some("Acme Dental IT help".into())),
                    primary_color: Some(Some("#0b5394".into())),
                    welcome_text: Some(Some(
                        "Report an IT problem or find an answer in our knowledge base.".into(),
                    )),
                    ..Default::default()
                },
                show_compliance_dashboard: Some(true),
                show_assets: Some(true),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

/// The second client's service desk: round-the-clock targets (a plant runs
/// nights), a line-down ticket whose first response is overdue and one
/// whose response is due within the hour, both with the technician; the
/// time he logged and the equipment concerned.
async fn plant_floor(
    regentra: &Regentra,
    admin: &Principal,
    globex: regentra_core::OrgId,
    employee: UserId,
    technician: UserId,
) -> regentra_core::Result<()> {
    let every_day: Vec<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (*d).to_owned())
        .collect();
    let weekly: serde_json::Map<String, serde_json::Value> = every_day
        .into_iter()
        .map(|d| (d, json!([["00:00", "24:00"]])))
        .collect();
    let policy: NewSlaPolicy = serde_json::from_value(json!({
        "name": "Plant floor, around the clock",
        "calendar": { "timezone": "America/Chicago", "weekly": weekly, "holidays": [] },
        "targets": {
            "critical": { "first_response_minutes": 30, "resolution_minutes": 240 },
            "high": { "first_response_minutes": 150, "resolution_minutes": 480 },
            "medium": { "first_response_minutes": 240, "resolution_minutes": 1440 },
            "low": { "first_response_minutes": 480, "resolution_minutes": 2880 }
        },
        "escalations": [
            { "clock": "response", "trigger": { "kind": "percent", "percent": 75 },
              "action": { "kind": "notify_role", "role": "technician" } }
        ],
        "default": true
    }))
    .map_err(|e| regentra_core::Error::invalid("sla_policy", e.to_string()))?;
    regentra.create_sla_policy(admin, globex, policy).await?;
    let gateway = regentra
        .add_asset(
            admin,
            globex,
            NewAsset {
                name: "Line 3 PLC gateway".into(),
                kind: "network device".into(),
                serial: Some("GW-7731-03".into()),
                assigned_user: None,
                status: AssetStatus::InUse,
                attributes: Default::default(),
            },
        )
        .await?;
    let line_down = regentra
        .create_ticket(
            admin,
            globex,
            NewTicket {
                subject: "Line 3 stopped: PLC gateway offline".into(),
                description: "The HMI on line 3 shows \"gateway lost\" and the line is stopped."
                    .into(),
                priority: Priority::Critical,
                requester: Some(employee),
            },
        )
        .await?;
    let tablets = regentra
        .create_ticket(
            admin,
            globex,
            NewTicket {
                subject: "Shop-floor tablets do not sync work orders".into(),
                description: "Since the night shift, the tablets show yesterday's orders.".into(),
                priority: Priority::High,
                requester: Some(employee),
            },
        )
        .await?;
    for ticket in [line_down.id, tablets.id] {
        regentra
            .assign_ticket(admin, globex, ticket, technician)
            .await?;
    }
    regentra
        .link_asset(admin, globex, line_down.id, gateway.id)
        .await?;
    regentra
        .log_time(
            &Principal::new(technician),
            globex,
            regentra_core::psa::records::NewTimeEntry {
                ticket: Some(line_down.id),
                minutes: 45,
                billable: true,
                note: "Remote diagnosis of the gateway; power supply suspected.".into(),
                date: regentra.now().date_naive(),
            },
        )
        .await?;
    Ok(())
}
