//! Two MSPs with a client each, the first client holding one of every kind
//! of record, and a table of every API route taking an id, with a valid
//! body for each write: what the cross-tenant and bad-input suites walk.

use serde_json::{Value, json};

use super::{Api, M, PASSWORD, Server, id, items};

/// The tenants, their admins, and the records in the victim client.
pub struct World {
    /// MSP A and its client A1 (the victim).
    pub msp_a: String,
    pub client_a: String,
    /// MSP A's admin (a direct member of the MSP).
    pub msp_a_admin: Api,
    /// A1's own org admin (a direct member: reads record no delegation).
    pub client_a_admin: Api,
    /// MSP B, its admin, and its client B1 with B1's own org admin.
    pub msp_b: String,
    pub client_b: String,
    pub msp_b_admin: Api,
    pub client_b_admin: Api,
    /// Record ids in A1 (and A1's member, token and names).
    pub ids: Ids,
}

#[derive(Debug, Clone)]
pub struct Ids {
    pub member: String,
    pub token: String,
    pub ticket: String,
    /// A file of the ticket.
    pub attachment: String,
    pub evidence: String,
    pub policy: String,
    pub draft_policy: String,
    pub campaign: String,
    pub sla_policy: String,
    pub agreement: String,
    pub asset: String,
    pub article: String,
    pub chat: String,
    /// A1's admin's campaign invitation (an inbox notification).
    pub notification: String,
    /// An email of A1 (a campaign invitation's).
    pub email: String,
    /// A pending invitation to join A1.
    pub invitation: String,
}

const SLA: &str = r#"{
    "name": "Hours",
    "calendar": {"timezone": "Europe/Paris", "weekly": {"mon": [["09:00", "17:00"]]}},
    "targets": {
        "critical": {"first_response_minutes": 30, "resolution_minutes": 240},
        "high": {"first_response_minutes": 60, "resolution_minutes": 480},
        "medium": {"first_response_minutes": 240, "resolution_minutes": 960},
        "low": {"first_response_minutes": 480, "resolution_minutes": 2400}}
}"#;

pub fn sla_body() -> Value {
    serde_json::from_str(SLA).expect("valid JSON")
}

/// Adds a new person to `org` and returns their user id. The platform
/// operator's answer names the account; a tenant admin's (202) does not, so
/// the id is the one member the org's list gained.
async fn member(admin: &Api, org: &str, email: &str, role: &str) -> String {
    let path = format!("/v1/orgs/{org}/members");
    let ids = |list: Value| -> Vec<String> {
        items(&list)
            .iter()
            .map(|m| m["user_id"].as_str().expect("user").to_owned())
            .collect()
    };
    let before = ids(admin.get(&path).await);
    let reply = admin
        .call(
            M::POST,
            &path,
            Some(json!({"email": email, "name": email, "password": PASSWORD, "role": role})),
        )
        .await;
    match reply.status {
        super::StatusCode::CREATED => reply.body["user_id"].as_str().expect("user").to_owned(),
        super::StatusCode::ACCEPTED => {
            let mut new: Vec<String> = ids(admin.get(&path).await)
                .into_iter()
                .filter(|id| !before.contains(id))
                .collect();
            assert_eq!(new.len(), 1, "{email} joined {org}");
            new.remove(0)
        }
        other => panic!("adding {email}: {other} {}", reply.text),
    }
}

impl World {
    pub async fn build(server: &Server) -> World {
        let admin = server.admin();
        let msp_a = id(&admin
            .post("/v1/orgs", json!({"name": "Alpha MSP", "kind": "msp"}))
            .await);
        let msp_b = id(&admin
            .post("/v1/orgs", json!({"name": "Beta MSP", "kind": "msp"}))
            .await);
        member(&admin, &msp_a, "admin@alpha.test", "msp_admin").await;
        member(&admin, &msp_b, "admin@beta.test", "msp_admin").await;
        let msp_a_admin = server.login("admin@alpha.test", PASSWORD).await;
        let msp_b_admin = server.login("admin@beta.test", PASSWORD).await;
        let client_a = id(&msp_a_admin
            .post(
                &format!("/v1/orgs/{msp_a}/clients"),
                json!({"name": "Victim Dental"}),
            )
            .await);
        let client_b = id(&msp_b_admin
            .post(
                &format!("/v1/orgs/{msp_b}/clients"),
                json!({"name": "Beta Client"}),
            )
            .await);
        member(&msp_a_admin, &client_a, "owner@victim.test", "org_admin").await;
        member(
            &msp_b_admin,
            &client_b,
            "owner@betaclient.test",
            "org_admin",
        )
        .await;
        let client_a_admin = server.login("owner@victim.test", PASSWORD).await;
        let client_b_admin = server.login("owner@betaclient.test", PASSWORD).await;
        let ids = seed(&client_a_admin, &client_a).await;
        // The other client looks the same, so ids are what tells them apart.
        for framework in ["hipaa", "soc2"] {
            client_b_admin
                .post(
                    &format!("/v1/orgs/{client_b}/frameworks"),
                    json!({"framework": framework}),
                )
                .await;
        }
        World {
            msp_a,
            client_a,
            msp_a_admin,
            client_a_admin,
            msp_b,
            client_b,
            msp_b_admin,
            client_b_admin,
            ids,
        }
    }

    /// The audit events of A1 and MSP A, counted by their own admins.
    pub async fn victim_events(&self) -> (u64, u64) {
        let count = |api: &Api, org: &str| {
            let (api, path) = (api.clone(), format!("/v1/orgs/{org}/audit/verify"));
            async move {
                let v = api.get(&path).await;
                assert_eq!(v["ok"], true);
                v["events"].as_u64().expect("events")
            }
        };
        (
            count(&self.client_a_admin, &self.client_a).await,
            count(&self.msp_a_admin, &self.msp_a).await,
        )
    }

    /// Every id and name of the victim that must never show in another
    /// tenant's answers.
    pub fn secrets(&self) -> Vec<String> {
        let i = &self.ids;
        let mut all = vec![
            self.client_a.clone(),
            "Victim Dental".to_owned(),
            "owner@victim.test".to_owned(),
        ];
        all.extend(
            [
                &i.member,
                &i.ticket,
                &i.attachment,
                &i.evidence,
                &i.policy,
                &i.campaign,
                &i.sla_policy,
                &i.agreement,
                &i.asset,
                &i.article,
                &i.chat,
                &i.notification,
                &i.invitation,
            ]
            .into_iter()
            .cloned(),
        );
        all
    }
}

/// One of everything in the victim client.
async fn seed(api: &Api, org: &str) -> Ids {
    let o = |p: &str| format!("/v1/orgs/{org}{p}");
    let member = member(api, org, "staff@victim.test", "employee").await;
    let token = items(&api.get("/v1/me/tokens").await)[0]["id"]
        .as_str()
        .expect("token id")
        .to_owned();
    api.post(&o("/frameworks"), json!({"framework": "hipaa"}))
        .await;
    api.post(&o("/frameworks"), json!({"framework": "soc2"}))
        .await;
    api.post(&o("/sla-policies"), {
        let mut b = sla_body();
        b["default"] = json!(true);
        b
    })
    .await;
    let sla_policy = id(&items(&api.get(&o("/sla-policies")).await)[0]);
    let ticket = id(&api
        .post(
            &o("/tickets"),
            json!({"subject": "Printer", "priority": "low"}),
        )
        .await);
    let attachment = id(&api
        .raw(
            M::POST,
            &o(&format!("/tickets/{ticket}/attachments?name=printer.txt")),
            "text/plain",
            b"toner low".to_vec(),
        )
        .await
        .body);
    let evidence = id(&api
        .post(
            &o("/evidence/links"),
            json!({"title": "Backup dashboard", "url": "https://backup.victim.test", "controls": ["RM-01"]}),
        )
        .await);
    let draft_policy = id(&api
        .post(
            &o("/policies"),
            json!({"title": "Secret policy", "category": "security", "body": "Be careful."}),
        )
        .await);
    let policy = id(&api
        .post(
            &o("/policies/from-template"),
            json!({"template": "acceptable-use", "owner_role": "Owner"}),
        )
        .await);
    for step in ["submit", "approve", "publish"] {
        api.ok(
            M::POST,
            &o(&format!("/policies/{policy}/{step}")),
            None,
            super::StatusCode::OK,
        )
        .await;
    }
    let campaign = id(&api
        .post(
            &o(&format!("/policies/{policy}/campaigns")),
            json!({"audience": {"kind": "everyone"}, "due": "2099-01-01T00:00:00Z"}),
        )
        .await);
    let agreement = id(&api
        .post(
            &o("/hipaa/baas"),
            json!({"vendor": "Cloud Backup Co", "services": "backup", "phi_access": "full", "status": "signed", "signed_on": "2026-01-05"}),
        )
        .await);
    let asset = id(&api
        .post(
            &o("/assets"),
            json!({"name": "Front desk PC", "kind": "laptop"}),
        )
        .await);
    let article = id(&api
        .post(
            &o("/kb/articles"),
            json!({"title": "Resetting the front desk PC", "body": "Hold the button.", "visibility": "portal", "published": true}),
        )
        .await);
    let chat = id(&api.post(&o("/chats"), json!({"message": "Hello?"})).await);
    // The campaign (to everyone) invited the admin too.
    let notification = id(&items(&api.get("/v1/me/notifications").await)[0]);
    let email = id(&items(&api.get(&o("/emails")).await)[0]);
    let invitation = id(&api
        .ok(
            M::POST,
            &o("/invitations"),
            Some(json!({"email": "invitee@victim.test", "role": "viewer"})),
            super::StatusCode::ACCEPTED,
        )
        .await);
    Ids {
        notification,
        email,
        invitation,
        member,
        token,
        ticket,
        attachment,
        evidence,
        policy,
        draft_policy,
        campaign,
        sla_policy,
        agreement,
        asset,
        article,
        chat,
    }
}

/// A route of the table: the OpenAPI path template and a valid body.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: M,
    pub template: &'static str,
    pub body: Option<Value>,
}

fn r(method: M, template: &'static str, body: Option<Value>) -> Route {
    Route {
        method,
        template,
        body,
    }
}

/// Every route that takes an org or record id. `user` is a user the bodies
/// name (a member of the caller's MSP, for staff assignment).
pub fn routes(user: &str) -> Vec<Route> {
    let sla = sla_body();
    vec![
        r(M::GET, "/v1/orgs/{org_id}", None),
        r(
            M::PATCH,
            "/v1/orgs/{org_id}",
            Some(json!({"name": "Renamed"})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/clients", None),
        r(M::GET, "/v1/orgs/{org_id}/overview", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/clients",
            Some(json!({"name": "New client"})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/clients/{client_id}/staff",
            Some(json!({"user_id": user, "role": "technician"})),
        ),
        r(
            M::DELETE,
            "/v1/orgs/{org_id}/clients/{client_id}/staff/{user_id}",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/clients/{client_id}/archive",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/clients/{client_id}/restore",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/directory", None),
        r(M::GET, "/v1/orgs/{org_id}/staff-grid", None),
        r(M::GET, "/v1/orgs/{org_id}/members", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/members",
            Some(json!({"email": "new@x.test", "name": "New", "role": "employee"})),
        ),
        r(
            M::PATCH,
            "/v1/orgs/{org_id}/members/{user_id}",
            Some(json!({"role": "viewer"})),
        ),
        r(M::DELETE, "/v1/orgs/{org_id}/members/{user_id}", None),
        r(M::GET, "/v1/orgs/{org_id}/invitations", None),
        r(M::DELETE, "/v1/orgs/{org_id}/members/{user_id}/mfa", None),
        r(
            M::GET,
            "/v1/orgs/{org_id}/campaigns/{campaign_id}/sign",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/invitations",
            Some(json!({"email": "new@x.test", "role": "viewer"})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/invitations/{invitation_id}/resend",
            None,
        ),
        r(
            M::DELETE,
            "/v1/orgs/{org_id}/invitations/{invitation_id}",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/frameworks", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/frameworks",
            Some(json!({"framework": "gdpr"})),
        ),
        r(M::DELETE, "/v1/orgs/{org_id}/frameworks/{framework}", None),
        r(
            M::GET,
            "/v1/orgs/{org_id}/frameworks/{framework}/gap-analysis",
            None,
        ),
        r(
            M::GET,
            "/v1/orgs/{org_id}/frameworks/{framework}/report",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/frameworks/{framework}/scope",
            Some(json!({"requirement": "164.308(a)(1)(ii)(A)", "justification": "n/a"})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/frameworks/{framework}/assessments",
            None,
        ),
        r(
            M::GET,
            "/v1/orgs/{org_id}/frameworks/{framework}/assessments",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/controls", None),
        r(M::GET, "/v1/orgs/{org_id}/controls/{control}", None),
        r(M::GET, "/v1/orgs/{org_id}/controls/{control}/history", None),
        r(M::GET, "/v1/orgs/{org_id}/control-owners", None),
        r(
            M::PATCH,
            "/v1/orgs/{org_id}/controls/{control}",
            Some(json!({"status": "in_progress"})),
        ),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/soc2/categories",
            Some(json!({"categories": ["security", "availability"]})),
        ),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/pci-dss/appendices",
            Some(json!({"appendices": ["A1"]})),
        ),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/pci-dss/entity",
            Some(json!({"entity": "merchant_only"})),
        ),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/cmmc/profile",
            Some(json!({"target_level": "L2"})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/cmmc/sprs", None),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/ftc-safeguards/profile",
            Some(json!({"qualified_individual": null})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/iso27001/soa", None),
        r(M::GET, "/v1/orgs/{org_id}/hipaa/baas", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/hipaa/baas",
            Some(
                json!({"vendor": "V", "services": "s", "phi_access": "none", "status": "pending"}),
            ),
        ),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/hipaa/baas/{agreement_id}",
            Some(
                json!({"vendor": "V", "services": "s", "phi_access": "none", "status": "terminated"}),
            ),
        ),
        r(M::GET, "/v1/orgs/{org_id}/evidence", None),
        r(M::POST, "/v1/orgs/{org_id}/evidence/files", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/evidence/links",
            Some(json!({"title": "t", "url": "https://x.test"})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/evidence/attestations",
            Some(json!({"title": "t", "statement": "I attest"})),
        ),
        r(
            M::GET,
            "/v1/orgs/{org_id}/evidence/{evidence_id}/file",
            None,
        ),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/evidence/{evidence_id}/controls/{control}",
            None,
        ),
        r(
            M::DELETE,
            "/v1/orgs/{org_id}/evidence/{evidence_id}/controls/{control}",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/policies", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/policies",
            Some(json!({"title": "t", "category": "c", "body": "b"})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/policies/from-template",
            Some(json!({"template": "backup", "owner_role": "IT"})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/policies/{policy_id}", None),
        r(M::GET, "/v1/orgs/{org_id}/policy-people", None),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/policies/{policy_id}/draft",
            Some(json!({"body": "changed"})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/policies/{policy_id}/submit",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/policies/{policy_id}/approve",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/policies/{policy_id}/publish",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/policies/{policy_id}/retire",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/policies/{policy_id}/campaigns",
            Some(json!({"audience": {"kind": "everyone"}, "due": "2099-01-01T00:00:00Z"})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/campaigns", None),
        r(M::GET, "/v1/orgs/{org_id}/campaigns/{campaign_id}", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/campaigns/{campaign_id}/audience",
            Some(json!({"user_id": user})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/campaigns/{campaign_id}/sign",
            Some(json!({"typed_name": "Me"})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/campaigns/{campaign_id}/close",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/campaigns/{campaign_id}/remind",
            None,
        ),
        r(
            M::GET,
            "/v1/orgs/{org_id}/campaigns/{campaign_id}/report",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/me/acknowledgments", None),
        r(M::GET, "/v1/orgs/{org_id}/sla-policies", None),
        r(M::POST, "/v1/orgs/{org_id}/sla-policies", Some(sla.clone())),
        r(
            M::POST,
            "/v1/orgs/{org_id}/sla-policies/preview",
            Some(sla.clone()),
        ),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/sla-policies/{policy_id}",
            Some(sla),
        ),
        r(M::GET, "/v1/orgs/{org_id}/tickets", None),
        r(M::GET, "/v1/orgs/{org_id}/tickets/counts", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/tickets",
            Some(json!({"subject": "s", "priority": "low"})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/tickets/{ticket_id}", None),
        r(
            M::PATCH,
            "/v1/orgs/{org_id}/tickets/{ticket_id}",
            Some(json!({"status": "open"})),
        ),
        r(
            M::GET,
            "/v1/orgs/{org_id}/tickets/{ticket_id}/comments",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/tickets/{ticket_id}/comments",
            Some(json!({"body": "hi"})),
        ),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/tickets/{ticket_id}/assets/{asset_id}",
            None,
        ),
        r(
            M::DELETE,
            "/v1/orgs/{org_id}/tickets/{ticket_id}/assets/{asset_id}",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/tickets/{ticket_id}/assets", None),
        r(M::GET, "/v1/orgs/{org_id}/tickets/{ticket_id}/audit", None),
        r(
            M::GET,
            "/v1/orgs/{org_id}/tickets/{ticket_id}/attachments",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/tickets/{ticket_id}/attachments",
            None,
        ),
        r(
            M::GET,
            "/v1/orgs/{org_id}/tickets/{ticket_id}/attachments/{attachment_id}",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/tickets/{ticket_id}/reopen",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/time-entries", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/time-entries",
            Some(json!({"minutes": 15, "billable": true, "date": "2026-11-02"})),
        ),
        r(
            M::GET,
            "/v1/orgs/{org_id}/time-entries/totals?from=2026-11-01&to=2026-11-30",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/assets", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/assets",
            Some(json!({"name": "n", "kind": "laptop"})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/assets/{asset_id}", None),
        r(
            M::PATCH,
            "/v1/orgs/{org_id}/assets/{asset_id}",
            Some(json!({"name": "Renamed PC", "status": "in_repair"})),
        ),
        r(M::DELETE, "/v1/orgs/{org_id}/assets/{asset_id}", None),
        r(M::GET, "/v1/orgs/{org_id}/kb/articles", None),
        r(M::GET, "/v1/orgs/{org_id}/kb/articles/{article_id}", None),
        r(
            M::PATCH,
            "/v1/orgs/{org_id}/kb/articles/{article_id}",
            Some(json!({"title": "Renamed article"})),
        ),
        r(
            M::DELETE,
            "/v1/orgs/{org_id}/kb/articles/{article_id}",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/kb/articles/{article_id}/publish",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/kb/articles/{article_id}/unpublish",
            None,
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/kb/articles/{article_id}/feedback",
            Some(json!({"helpful": true})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/kb/articles",
            Some(json!({"title": "t", "body": "b", "visibility": "internal", "published": true})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/chats",
            Some(json!({"message": "hi"})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/chats", None),
        r(M::GET, "/v1/orgs/{org_id}/me/chats", None),
        r(M::GET, "/v1/orgs/{org_id}/chat-settings", None),
        r(M::GET, "/v1/orgs/{org_id}/chats/{chat_id}", None),
        r(M::GET, "/v1/orgs/{org_id}/chats/{chat_id}/messages", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/chats/{chat_id}/messages",
            Some(json!({"body": "hi"})),
        ),
        r(M::POST, "/v1/orgs/{org_id}/chats/{chat_id}/close", None),
        r(
            M::POST,
            "/v1/orgs/{org_id}/chats/{chat_id}/ticket",
            Some(json!({"subject": "s", "priority": "low"})),
        ),
        r(
            M::POST,
            "/v1/orgs/{org_id}/chats/{chat_id}/leave-as-ticket",
            None,
        ),
        r(M::GET, "/v1/orgs/{org_id}/chats/{chat_id}/ws", None),
        r(M::GET, "/v1/orgs/{org_id}/portal", None),
        r(M::PUT, "/v1/orgs/{org_id}/portal/logo", None),
        r(M::DELETE, "/v1/orgs/{org_id}/portal/logo", None),
        r(
            M::PATCH,
            "/v1/orgs/{org_id}/portal",
            Some(json!({"show_compliance_dashboard": true})),
        ),
        r(M::GET, "/v1/orgs/{org_id}/portal/dashboard", None),
        r(M::GET, "/v1/orgs/{org_id}/portal/hostname", None),
        r(M::POST, "/v1/orgs/{org_id}/portal/hostname/verify", None),
        r(M::POST, "/v1/orgs/{org_id}/portal/hostname/approve", None),
        r(M::GET, "/v1/orgs/{org_id}/audit", None),
        r(M::GET, "/v1/orgs/{org_id}/audit/verify", None),
        r(M::GET, "/v1/orgs/{org_id}/notifications", None),
        r(M::GET, "/v1/orgs/{org_id}/emails", None),
        r(M::POST, "/v1/orgs/{org_id}/emails/{email_id}/retry", None),
        r(M::POST, "/v1/platform/emails/{email_id}/retry", None),
        r(M::DELETE, "/v1/me/tokens/{token_id}", None),
        r(M::GET, "/v1/orgs/{org_id}/security", None),
        r(
            M::PUT,
            "/v1/orgs/{org_id}/security",
            Some(json!({"session_hours": 8, "mfa_required": false, "mfa_grace_days": 0})),
        ),
        r(M::DELETE, "/v1/me/sessions/{session_id}", None),
        r(M::POST, "/v1/me/notifications/{notification_id}/read", None),
    ]
}

/// Whether a template's `{org_id}` is an MSP (the client routes, the
/// overview).
pub fn takes_msp(template: &str) -> bool {
    template.contains("/clients") || template.ends_with("/overview")
}

/// Fills a template: `org` for `{org_id}`, `client` for `{client_id}`, and
/// the record ids of `ids` for the rest.
pub fn fill(template: &str, org: &str, client: &str, ids: &Ids) -> String {
    let policy = if template.contains("/sla-policies/") {
        &ids.sla_policy
    } else if template.ends_with("/draft") || template.ends_with("/submit") {
        &ids.draft_policy
    } else {
        &ids.policy
    };
    template
        .replace("{org_id}", org)
        .replace("{client_id}", client)
        .replace("{user_id}", &ids.member)
        .replace("{framework}", "hipaa")
        .replace("{control}", "RM-01")
        .replace("{agreement_id}", &ids.agreement)
        .replace("{evidence_id}", &ids.evidence)
        .replace("{policy_id}", policy)
        .replace("{campaign_id}", &ids.campaign)
        .replace("{ticket_id}", &ids.ticket)
        .replace("{attachment_id}", &ids.attachment)
        .replace("{asset_id}", &ids.asset)
        .replace("{article_id}", &ids.article)
        .replace("{chat_id}", &ids.chat)
        .replace("{token_id}", &ids.token)
        // The victim's first token is the session they signed in with.
        .replace("{session_id}", &ids.token)
        .replace("{notification_id}", &ids.notification)
        .replace("{email_id}", &ids.email)
        .replace("{invitation_id}", &ids.invitation)
}

/// The same ids, all fresh: records that exist nowhere.
pub fn missing_ids() -> Ids {
    let fresh = || uuid::Uuid::now_v7().to_string();
    Ids {
        member: fresh(),
        token: fresh(),
        ticket: fresh(),
        attachment: fresh(),
        evidence: fresh(),
        policy: fresh(),
        draft_policy: fresh(),
        campaign: fresh(),
        sla_policy: fresh(),
        agreement: fresh(),
        asset: fresh(),
        article: fresh(),
        chat: fresh(),
        notification: fresh(),
        email: fresh(),
        invitation: fresh(),
    }
}

/// (method, template) of every route in the OpenAPI document.
pub async fn documented_routes(api: &Api) -> Vec<(String, String)> {
    let doc = api.get("/v1/openapi.json").await;
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            out.push((method.to_uppercase(), path.clone()));
        }
    }
    out
}
