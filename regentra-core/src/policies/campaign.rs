//! Acknowledgment campaigns: launch to an audience resolved once, sign
//! (which records evidence in the same commit), remind on a cadence, close,
//! and report completion.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    Acknowledgment, AcknowledgmentStatus, Audience, Campaign, CampaignStatus, Policy, PolicyStatus,
    PolicyVersion, ReminderCadence, Signature,
};
use crate::audit::{Actor, Target};
use crate::compliance::{Evidence, EvidenceContent};
use crate::error::{Error, Result};
use crate::ids::{AcknowledgmentId, CampaignId, EvidenceId, OrgId, PolicyId, UserId};
use crate::mail::Sender;
use crate::notify::NotificationKind;
use crate::rbac::{Permission, Role, decide};
use crate::service::{Principal, Regentra};
use crate::spreadsheet::Sheet;
use crate::store::{self, ChangeSet, Entity, Listing, PageRequest, Scope, Versioned};
use crate::tenancy::{Membership, Organization, validate_name};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// Defaults to the policy's title.
    pub title: Option<String>,
    pub audience: Audience,
    pub due: DateTime<Utc>,
    #[serde(default)]
    pub cadence: ReminderCadence,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RoleCompletion {
    pub signed: usize,
    pub assigned: usize,
}

/// Signed against assigned, overall and per role, and who is still pending.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    pub campaign: CampaignId,
    pub status: CampaignStatus,
    pub signed: usize,
    pub assigned: usize,
    /// Signed as a percentage of assigned, to one decimal.
    pub percent: f64,
    pub by_role: BTreeMap<Role, RoleCompletion>,
    pub pending: Vec<UserId>,
    /// Pending past the due date.
    pub overdue: Vec<UserId>,
}

/// What a person sees of their own assignment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MyAcknowledgment {
    pub acknowledgment: Acknowledgment,
    pub campaign: Campaign,
    pub policy_title: String,
}

/// What a person is asked to sign: the exact version of the policy text
/// the campaign is about (the signature attests to its hash) and where
/// their own acknowledgment stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyToSign {
    /// The org's name: who asks.
    pub org_name: String,
    pub campaign: Campaign,
    pub policy_title: String,
    /// The version's text (markdown) and its hash.
    pub version: PolicyVersion,
    pub acknowledgment: Acknowledgment,
}

/// One row of a campaign export.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignRow {
    pub user: UserId,
    pub person: String,
    pub email: String,
    pub role: Role,
    pub status: AcknowledgmentStatus,
    pub signed_at: Option<DateTime<Utc>>,
    pub typed_name: Option<String>,
    pub version_hash: String,
    /// Still pending at or after the due date.
    pub overdue: bool,
    /// Reminders sent so far, cadence and manual alike.
    pub reminders: u32,
}

/// Whether a member with this role can sign an acknowledgment: everyone
/// but viewers, whose role is read-only. A campaign asks only those who
/// can sign, or its completion could never reach everyone.
fn can_sign(role: Role) -> bool {
    decide(role, Permission::AcknowledgmentsSign).is_allowed()
}

/// The members a campaign asks, resolved once at launch. "Everyone" means
/// every member who can sign; naming a role or a person who cannot sign
/// is an error on `audience`, since the launcher asked for something the
/// campaign could never complete.
fn resolve_audience<'m>(
    audience: &Audience,
    members: &'m [Membership],
) -> Result<Vec<&'m Membership>> {
    let chosen: Vec<&Membership> = match audience {
        Audience::Everyone => members.iter().filter(|m| can_sign(m.role)).collect(),
        Audience::Roles(roles) => {
            if roles.iter().any(|r| !can_sign(*r)) {
                return Err(Error::invalid(
                    "audience",
                    "viewers cannot acknowledge policies: leave the viewer role out",
                ));
            }
            members.iter().filter(|m| roles.contains(&m.role)).collect()
        }
        Audience::Users(users) => {
            for user in users {
                match members.iter().find(|m| m.user == *user) {
                    None => {
                        return Err(Error::invalid(
                            "audience",
                            format!("{user} is not a member of the organization"),
                        ));
                    }
                    Some(m) if !can_sign(m.role) => {
                        return Err(Error::invalid(
                            "audience",
                            format!("{user} is a viewer, and viewers cannot acknowledge policies"),
                        ));
                    }
                    Some(_) => {}
                }
            }
            members.iter().filter(|m| users.contains(&m.user)).collect()
        }
    };
    if chosen.is_empty() {
        return Err(Error::invalid(
            "audience",
            "resolves to nobody who can sign",
        ));
    }
    Ok(chosen)
}

impl Regentra {
    /// Launches a campaign for the policy's published version. The audience
    /// is resolved now and recorded: one pending acknowledgment and one
    /// invitation in the outbox per person, in one commit.
    pub async fn launch_campaign(
        &self,
        principal: &Principal,
        org: OrgId,
        policy: PolicyId,
        new: NewCampaign,
    ) -> Result<Campaign> {
        let grant = self
            .authorize_all(principal, org, Permission::CampaignsManage)
            .await?;
        let p = self.policy_record(org, policy).await?.value;
        let number = match (p.status, p.published_version) {
            (PolicyStatus::Retired, _) => {
                return Err(Error::invalid("policy", "the policy is retired"));
            }
            (_, Some(n)) => n,
            (_, None) => {
                return Err(Error::invalid(
                    "policy",
                    "publish a version of the policy before launching a campaign",
                ));
            }
        };
        let version = self.version_record(org, policy, number).await?.value;
        let now = self.now();
        if new.due <= now {
            return Err(Error::invalid("due", "must be in the future"));
        }
        let title = match &new.title {
            Some(t) => validate_name("title", t)?,
            None => p.title.clone(),
        };
        let members: Vec<Membership> =
            store::find_all::<Membership>(self.store(), Scope::Platform, "org", &org.to_string())
                .await?
                .into_iter()
                .map(|m| m.value)
                .collect();
        let audience = resolve_audience(&new.audience, &members)?;
        let campaign = Campaign {
            id: CampaignId(self.new_id()),
            org,
            title,
            policy,
            version: number,
            version_hash: version.sha256.clone(),
            audience: new.audience,
            due: new.due,
            cadence: new.cadence,
            status: CampaignStatus::Open,
            launched_at: now,
            launched_by: principal.user,
            closed_at: None,
        };
        let sender = self.sender(org).await?;
        let mail = self.campaign_mail(&campaign, p.title.clone()).await?;
        let mut changes = ChangeSet::new();
        changes.insert(&campaign)?;
        for m in &audience {
            self.assign(&mut changes, &sender, &mail, m.user, m.role)
                .await?;
        }
        changes.audit(self.event(
            principal,
            &grant,
            "campaign.launched",
            Target::new(Campaign::KIND, campaign.id),
            json!({ "policy": policy, "version": number, "version_hash": version.sha256, "assigned": audience.len() }),
        ));
        self.store().apply(changes).await?;
        Ok(campaign)
    }

    /// Adds a person who joined after launch (the audience is never
    /// re-resolved on its own).
    pub async fn add_to_campaign(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
        user: UserId,
    ) -> Result<Acknowledgment> {
        let grant = self
            .authorize_all(principal, org, Permission::CampaignsManage)
            .await?;
        let c = self.open_campaign(org, campaign).await?;
        let member = self
            .membership(org, user)
            .await?
            // Named as the API's body names it.
            .ok_or_else(|| Error::invalid("user_id", "must be a member of the organization"))?;
        if !can_sign(member.value.role) {
            return Err(Error::invalid(
                "user_id",
                "is a viewer, and viewers cannot acknowledge policies",
            ));
        }
        let policy_title = self.policy_record(org, c.value.policy).await?.value.title;
        let sender = self.sender(org).await?;
        let mail = self.campaign_mail(&c.value, policy_title).await?;
        let mut changes = ChangeSet::new();
        let ack = self
            .assign(&mut changes, &sender, &mail, user, member.value.role)
            .await?;
        changes.audit(self.event(
            principal,
            &grant,
            "campaign.person_added",
            Target::new(Campaign::KIND, campaign),
            json!({ "user": user }),
        ));
        self.store().apply(changes).await.map_err(|e| match e {
            Error::AlreadyExists { .. } => Error::AlreadyExists {
                what: Acknowledgment::NAME,
                field: "user_id".into(),
            },
            other => other,
        })?;
        Ok(ack)
    }

    /// The caller signs their own acknowledgment, once, while the campaign
    /// is open. In the same commit the signature becomes evidence for the
    /// policy's controls.
    pub async fn sign_acknowledgment(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
        typed_name: &str,
    ) -> Result<Acknowledgment> {
        let grant = self
            .authorize(principal, org, Permission::AcknowledgmentsSign)
            .await?;
        let c = store::require::<Campaign>(self.store(), Scope::Org(org), campaign.0)
            .await?
            .value;
        let mut ack = self
            .acknowledgment_of(org, campaign, principal.user)
            .await?
            .ok_or(Error::NotFound {
                what: Acknowledgment::NAME,
            })?;
        if c.status == CampaignStatus::Closed {
            return Err(Error::invalid(
                "campaign",
                "the campaign is closed and no longer accepts signatures",
            ));
        }
        if ack.value.status == AcknowledgmentStatus::Signed {
            return Err(Error::AlreadyExists {
                what: "signature",
                field: "acknowledgment".into(),
            });
        }
        let typed_name = validate_name("typed_name", typed_name)?;
        let policy = self.policy_record(org, c.policy).await?.value;
        let now = self.now();
        let evidence = Evidence {
            id: EvidenceId(self.new_id()),
            org,
            title: format!(
                "{} v{} acknowledged by {typed_name}",
                policy.title, c.version
            ),
            description: format!("Signed in campaign \"{}\"", c.title),
            content: EvidenceContent::PolicyAcknowledgment {
                policy: c.policy,
                campaign,
                version: c.version,
                version_hash: c.version_hash.clone(),
                signer: principal.user,
                typed_name: typed_name.clone(),
            },
            controls: policy.controls.clone(),
            collected_at: now,
            uploaded_at: now,
            uploaded_by: principal.user,
            valid_until: None,
        };
        ack.value.status = AcknowledgmentStatus::Signed;
        ack.value.signature = Some(Signature {
            signed_at: now,
            typed_name: typed_name.clone(),
            version_hash: c.version_hash.clone(),
            ip: principal.request.clone().bounded().ip,
            user_agent: principal.request.clone().bounded().user_agent,
            evidence: evidence.id,
        });
        let mut changes = ChangeSet::new();
        changes.update(&ack)?;
        changes.insert(&evidence)?;
        changes.audit(self.event(
            principal,
            &grant,
            "acknowledgment.signed",
            Target::new(Acknowledgment::KIND, ack.value.id),
            json!({ "campaign": campaign, "version": c.version, "version_hash": c.version_hash, "typed_name": typed_name, "evidence": evidence.id }),
        ));
        // A concurrent signature by the same person loses on the version
        // check: exactly one is recorded.
        self.store().apply(changes).await.map_err(|e| match e {
            Error::Conflict { .. } => Error::AlreadyExists {
                what: "signature",
                field: "acknowledgment".into(),
            },
            other => other,
        })?;
        Ok(ack.value)
    }

    /// Closes a campaign. Pending acknowledgments stay pending, on record.
    pub async fn close_campaign(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<Campaign> {
        let grant = self
            .authorize_all(principal, org, Permission::CampaignsManage)
            .await?;
        let mut c = self.open_campaign(org, campaign).await?;
        c.value.status = CampaignStatus::Closed;
        c.value.closed_at = Some(self.now());
        let mut changes = ChangeSet::new();
        changes.update(&c)?;
        changes.audit(self.event(
            principal,
            &grant,
            "campaign.closed",
            Target::new(Campaign::KIND, campaign),
            json!({}),
        ));
        self.store().apply(changes).await?;
        Ok(c.value)
    }

    /// A page of the org's campaigns, oldest first.
    pub async fn campaigns(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Listing<Campaign>> {
        self.authorize_all(principal, org, Permission::CampaignsRead)
            .await?;
        Ok(
            store::list_page::<Campaign>(self.store(), Scope::Org(org), page)
                .await?
                .map(|v| v.value),
        )
    }

    /// One campaign of the org, as those who read campaigns see it.
    pub async fn campaign(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<Campaign> {
        self.authorize_all(principal, org, Permission::CampaignsRead)
            .await?;
        Ok(
            store::require::<Campaign>(self.store(), Scope::Org(org), campaign.0)
                .await?
                .value,
        )
    }

    /// Signed against assigned, overall and per role, with who is pending
    /// and overdue.
    pub async fn campaign_completion(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<Completion> {
        self.authorize_all(principal, org, Permission::CampaignsRead)
            .await?;
        let c = store::require::<Campaign>(self.store(), Scope::Org(org), campaign.0)
            .await?
            .value;
        let acks = self.acknowledgments(org, campaign).await?;
        Ok(completion(&c, &acks, self.now()))
    }

    /// A page of the caller's own assignments in this org, oldest first:
    /// one walk of the `user` index, then the page's campaigns and their
    /// policies in one batched read each.
    pub async fn my_acknowledgments(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Listing<MyAcknowledgment>> {
        self.authorize(principal, org, Permission::AcknowledgmentsSign)
            .await?;
        let scope = Scope::Org(org);
        let mine = store::find_page::<Acknowledgment>(
            self.store(),
            scope,
            "user",
            &principal.user.to_string(),
            page,
        )
        .await?;
        let campaign_ids: Vec<Uuid> = mine
            .items
            .iter()
            .map(|a| a.value.campaign.0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let campaigns: BTreeMap<CampaignId, Campaign> =
            store::load_many::<Campaign>(self.store(), scope, &campaign_ids)
                .await?
                .into_iter()
                .flatten()
                .map(|c| (c.value.id, c.value))
                .collect();
        let policy_ids: Vec<Uuid> = campaigns
            .values()
            .map(|c| c.policy.0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let titles: BTreeMap<PolicyId, String> =
            store::load_many::<Policy>(self.store(), scope, &policy_ids)
                .await?
                .into_iter()
                .flatten()
                .map(|p| (p.value.id, p.value.title))
                .collect();
        let mut items = Vec::with_capacity(mine.items.len());
        for ack in mine.items {
            let campaign = campaigns
                .get(&ack.value.campaign)
                .cloned()
                .ok_or(Error::NotFound {
                    what: Campaign::NAME,
                })?;
            let policy_title = titles
                .get(&campaign.policy)
                .cloned()
                .ok_or(Error::NotFound { what: Policy::NAME })?;
            items.push(MyAcknowledgment {
                acknowledgment: ack.value,
                campaign,
                policy_title,
            });
        }
        Ok(Listing {
            items,
            next: mine.next,
        })
    }

    /// The policy text the caller is asked to sign in `campaign`, with their
    /// acknowledgment (pending or signed): what a signing page shows. Someone
    /// the campaign does not ask gets NotFound, as for another org's campaign.
    pub async fn policy_to_sign(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<PolicyToSign> {
        self.authorize(principal, org, Permission::AcknowledgmentsSign)
            .await?;
        let acknowledgment = self
            .acknowledgment_of(org, campaign, principal.user)
            .await?
            .ok_or(Error::NotFound {
                what: Campaign::NAME,
            })?
            .value;
        let campaign = store::require::<Campaign>(self.store(), Scope::Org(org), campaign.0)
            .await?
            .value;
        let policy_title = self.policy_record(org, campaign.policy).await?.value.title;
        let version = self
            .version_record(org, campaign.policy, campaign.version)
            .await?
            .value;
        let org_name = store::require::<Organization>(self.store(), Scope::Platform, org.0)
            .await?
            .value
            .name;
        Ok(PolicyToSign {
            org_name,
            campaign,
            policy_title,
            version,
            acknowledgment,
        })
    }

    /// Sends the reminders the cadence makes due at this instant across the
    /// org's open campaigns: at most one per pending person per cadence
    /// step, never twice for a step, never after a campaign closes, never
    /// more than the cadence's maximum. A system operation (the scheduler
    /// calls it); returns how many reminders went out.
    pub async fn send_due_reminders(&self, org: OrgId) -> Result<usize> {
        let now = self.now();
        let open =
            store::find_all::<Campaign>(self.store(), Scope::Org(org), "status", "open").await?;
        let mut sent = 0;
        let mut sender = None;
        for c in open {
            let Some(step) = c
                .value
                .cadence
                .step_at(c.value.launched_at, c.value.due, now)
            else {
                continue;
            };
            let due: Vec<Versioned<Acknowledgment>> = self
                .acknowledgments_versioned(org, c.value.id)
                .await?
                .into_iter()
                .filter(|a| {
                    a.value.status == AcknowledgmentStatus::Pending
                        && a.value.last_step.is_none_or(|last| last < step)
                        && a.value.reminders < c.value.cadence.max
                })
                .collect();
            if due.is_empty() {
                continue;
            }
            let sender = match &sender {
                Some(s) => s,
                None => sender.insert(self.sender(org).await?),
            };
            let policy_title = self.policy_record(org, c.value.policy).await?.value.title;
            let mail = self.campaign_mail(&c.value, policy_title).await?;
            let count = due.len();
            let mut changes = ChangeSet::new();
            for mut ack in due {
                ack.value.last_step = Some(step);
                ack.value.reminders += 1;
                changes.update(&ack)?;
                self.remind(&mut changes, sender, &mail, &ack.value, Some(step))
                    .await?;
                sent += 1;
            }
            changes.audit(self.event_in(
                org,
                Actor::system(),
                &Principal::system(),
                "campaign.reminders_sent",
                Target::new(Campaign::KIND, c.value.id),
                json!({ "step": step, "count": count }),
            ));
            self.store().apply(changes).await?;
        }
        Ok(sent)
    }

    /// A manager reminds everyone still pending, now; recorded like any
    /// other reminder (it counts toward the maximum).
    pub async fn remind_now(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<usize> {
        let grant = self
            .authorize_all(principal, org, Permission::CampaignsManage)
            .await?;
        let c = self.open_campaign(org, campaign).await?.value;
        let pending: Vec<Versioned<Acknowledgment>> = self
            .acknowledgments_versioned(org, campaign)
            .await?
            .into_iter()
            .filter(|a| a.value.status == AcknowledgmentStatus::Pending)
            .collect();
        let sender = self.sender(org).await?;
        let policy_title = self.policy_record(org, c.policy).await?.value.title;
        let mail = self.campaign_mail(&c, policy_title).await?;
        let mut changes = ChangeSet::new();
        for mut ack in pending.iter().cloned() {
            ack.value.reminders += 1;
            changes.update(&ack)?;
            self.remind(&mut changes, &sender, &mail, &ack.value, None)
                .await?;
        }
        changes.audit(self.event(
            principal,
            &grant,
            "campaign.reminded",
            Target::new(Campaign::KIND, campaign),
            json!({ "count": pending.len() }),
        ));
        self.store().apply(changes).await?;
        Ok(pending.len())
    }

    /// The campaign as rows (person, role, status, signed time, version
    /// hash), for the CSV and JSON exports.
    pub async fn campaign_rows(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<Vec<CampaignRow>> {
        self.authorize_all(principal, org, Permission::ReportsGenerate)
            .await?;
        let c = store::require::<Campaign>(self.store(), Scope::Org(org), campaign.0)
            .await?
            .value;
        let now = self.now();
        let mut rows = Vec::new();
        for ack in self.acknowledgments(org, campaign).await? {
            let user =
                store::require::<crate::tenancy::User>(self.store(), Scope::Platform, ack.user.0)
                    .await?
                    .value;
            rows.push(CampaignRow {
                user: ack.user,
                person: user.display_name,
                email: user.email,
                role: ack.role,
                status: ack.status,
                signed_at: ack.signature.as_ref().map(|s| s.signed_at),
                typed_name: ack.signature.as_ref().map(|s| s.typed_name.clone()),
                version_hash: ack
                    .signature
                    .as_ref()
                    .map(|s| s.version_hash.clone())
                    .unwrap_or_else(|| c.version_hash.clone()),
                overdue: ack.status == AcknowledgmentStatus::Pending && now >= c.due,
                reminders: ack.reminders,
            });
        }
        Ok(rows)
    }

    /// The campaign export as CSV.
    pub async fn campaign_csv(
        &self,
        principal: &Principal,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<String> {
        let rows = self.campaign_rows(principal, org, campaign).await?;
        let mut sheet = Sheet::new(&[
            "person",
            "email",
            "role",
            "status",
            "signed_at",
            "typed_name",
            "version_hash",
        ])?;
        for r in rows {
            let signed_at = r.signed_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            sheet.row([
                r.person.as_str(),
                &r.email,
                r.role.key(),
                match r.status {
                    AcknowledgmentStatus::Pending => "pending",
                    AcknowledgmentStatus::Signed => "signed",
                },
                &signed_at,
                r.typed_name.as_deref().unwrap_or(""),
                &r.version_hash,
            ])?;
        }
        sheet.finish()
    }

    /// The policies a person is (or was) asked to acknowledge in this org.
    pub(crate) async fn assigned_policies(
        &self,
        org: OrgId,
        user: UserId,
    ) -> Result<BTreeSet<PolicyId>> {
        let campaigns: Vec<Uuid> = store::find_all::<Acknowledgment>(
            self.store(),
            Scope::Org(org),
            "user",
            &user.to_string(),
        )
        .await?
        .into_iter()
        .map(|ack| ack.value.campaign.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
        Ok(
            store::load_many::<Campaign>(self.store(), Scope::Org(org), &campaigns)
                .await?
                .into_iter()
                .flatten()
                .map(|c| c.value.policy)
                .collect(),
        )
    }

    /// What a campaign's invitations and reminders say: the policy's title
    /// and the link. The link opens the campaign's page in the org's
    /// portal when it has an enabled one (where its people sign in and
    /// find their other policies), else the product's signing page, which
    /// sends a browser on to the portal if one is enabled later.
    async fn campaign_mail<'c>(
        &self,
        c: &'c Campaign,
        policy_title: String,
    ) -> Result<CampaignMail<'c>> {
        let link = match self.portal_path(c.org).await? {
            Some(portal) => portal_policy_path(&portal, c.id),
            None => signing_path(c),
        };
        Ok(CampaignMail {
            campaign: c,
            policy_title,
            link,
        })
    }

    /// A pending acknowledgment for `user`, with their invitation: in the
    /// inbox, and by email with the personal link to the signing page.
    async fn assign(
        &self,
        changes: &mut ChangeSet,
        sender: &Sender,
        mail: &CampaignMail<'_>,
        user: UserId,
        role: Role,
    ) -> Result<Acknowledgment> {
        let (c, policy_title) = (mail.campaign, &mail.policy_title);
        let ack = Acknowledgment {
            id: AcknowledgmentId(self.new_id()),
            org: c.org,
            campaign: c.id,
            user,
            role,
            status: AcknowledgmentStatus::Pending,
            assigned_at: self.now(),
            signature: None,
            last_step: None,
            reminders: 0,
        };
        changes.insert(&ack)?;
        self.notify_person(
            changes,
            sender,
            user,
            NotificationKind::CampaignInvitation,
            json!({ "campaign": c.id, "title": c.title, "policy": c.policy, "version": c.version, "due": c.due }),
            json!({
                "campaign_title": c.title,
                "policy_title": policy_title,
                "version": c.version,
                "due": c.due,
                "link": mail.link,
            }),
        )
        .await?;
        Ok(ack)
    }

    /// A reminder to sign: in the inbox, and by email with the link.
    async fn remind(
        &self,
        changes: &mut ChangeSet,
        sender: &Sender,
        mail: &CampaignMail<'_>,
        ack: &Acknowledgment,
        step: Option<u32>,
    ) -> Result<()> {
        let (c, policy_title) = (mail.campaign, &mail.policy_title);
        self.notify_person(
            changes,
            sender,
            ack.user,
            NotificationKind::CampaignReminder,
            json!({ "campaign": c.id, "title": c.title, "due": c.due, "step": step, "reminder": ack.reminders }),
            json!({
                "campaign_title": c.title,
                "policy_title": policy_title,
                "version": c.version,
                "due": c.due,
                "overdue": self.now() >= c.due,
                "reminder": ack.reminders,
                "link": mail.link,
            }),
        )
        .await
    }

    async fn open_campaign(&self, org: OrgId, campaign: CampaignId) -> Result<Versioned<Campaign>> {
        let c = store::require::<Campaign>(self.store(), Scope::Org(org), campaign.0).await?;
        if c.value.status == CampaignStatus::Closed {
            return Err(Error::invalid("campaign", "the campaign is closed"));
        }
        Ok(c)
    }

    async fn acknowledgment_of(
        &self,
        org: OrgId,
        campaign: CampaignId,
        user: UserId,
    ) -> Result<Option<Versioned<Acknowledgment>>> {
        store::find_unique::<Acknowledgment>(
            self.store(),
            Scope::Org(org),
            "campaign_user",
            &format!("{campaign}/{user}"),
        )
        .await
    }

    async fn acknowledgments_versioned(
        &self,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<Vec<Versioned<Acknowledgment>>> {
        store::find_all::<Acknowledgment>(
            self.store(),
            Scope::Org(org),
            "campaign",
            &campaign.to_string(),
        )
        .await
    }

    async fn acknowledgments(
        &self,
        org: OrgId,
        campaign: CampaignId,
    ) -> Result<Vec<Acknowledgment>> {
        Ok(self
            .acknowledgments_versioned(org, campaign)
            .await?
            .into_iter()
            .map(|a| a.value)
            .collect())
    }
}

/// The signing page of a campaign, a path on the server's public URL: the
/// person signs there as themselves (signing in first if they must), so
/// the link carries no secret.
pub fn signing_path(c: &Campaign) -> String {
    format!("/sign/{}/{}", c.org, c.id)
}

/// A campaign's page in the org's portal at `portal` (`/portal/{slug}`):
/// what campaign emails link to when the org has a portal.
pub fn portal_policy_path(portal: &str, campaign: CampaignId) -> String {
    format!("{portal}/policies/{campaign}")
}

/// What a campaign's emails say besides the person: see
/// [`Regentra::campaign_mail`].
struct CampaignMail<'c> {
    campaign: &'c Campaign,
    policy_title: String,
    link: String,
}

/// A reminder the cadence makes due.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DueReminder {
    pub acknowledgment: AcknowledgmentId,
    pub user: UserId,
    pub step: u32,
}

/// The reminders due at `now`: one per pending person whose last reminder
/// was for an earlier cadence step, while under the maximum; none for a
/// closed campaign. Pure, so a scheduler can ask without sending.
pub fn reminders_due(
    c: &Campaign,
    acks: &[Acknowledgment],
    now: DateTime<Utc>,
) -> Vec<DueReminder> {
    if c.status == CampaignStatus::Closed {
        return Vec::new();
    }
    let Some(step) = c.cadence.step_at(c.launched_at, c.due, now) else {
        return Vec::new();
    };
    acks.iter()
        .filter(|a| {
            a.status == AcknowledgmentStatus::Pending
                && a.last_step.is_none_or(|last| last < step)
                && a.reminders < c.cadence.max
        })
        .map(|a| DueReminder {
            acknowledgment: a.id,
            user: a.user,
            step,
        })
        .collect()
}

/// Completion figures of a campaign at `now`.
pub fn completion(c: &Campaign, acks: &[Acknowledgment], now: DateTime<Utc>) -> Completion {
    let mut by_role: BTreeMap<Role, RoleCompletion> = BTreeMap::new();
    let (mut pending, mut overdue) = (Vec::new(), Vec::new());
    let mut signed = 0;
    for a in acks {
        let entry = by_role.entry(a.role).or_default();
        entry.assigned += 1;
        if a.status == AcknowledgmentStatus::Signed {
            entry.signed += 1;
            signed += 1;
        } else {
            pending.push(a.user);
            if now >= c.due {
                overdue.push(a.user);
            }
        }
    }
    let assigned = acks.len();
    Completion {
        campaign: c.id,
        status: c.status,
        signed,
        assigned,
        percent: if assigned == 0 {
            0.0
        } else {
            (1000.0 * signed as f64 / assigned as f64).round() / 10.0
        },
        by_role,
        pending,
        overdue,
    }
}

impl Policy {
    /// Whether a campaign may go out for it.
    pub fn can_campaign(&self) -> bool {
        self.status != PolicyStatus::Retired && self.published_version.is_some()
    }
}

/// Whether a typed signature names the account's holder, loosely: case,
/// punctuation, spacing and common Latin accents aside, the same words, or
/// the same first and last word (a middle name added or left out). An
/// account whose name is not a person's (empty, or an email address, as
/// accounts created from an email alone are) matches any name that is not
/// blank: there is nothing to compare with. A rule for signing pages to
/// apply before [`Regentra::sign_acknowledgment`], which records whatever
/// non-blank name it is given (API clients sign on their own terms).
pub fn typed_name_matches(typed: &str, account_name: &str) -> bool {
    let typed = name_words(typed);
    if typed.is_empty() {
        return false;
    }
    let account = name_words(account_name);
    if account.is_empty() || account_name.contains('@') {
        return true;
    }
    match (account.as_slice(), typed.as_slice()) {
        _ if account == typed => true,
        ([only], words) => words.contains(only),
        ([first, .., last], [typed_first, .., typed_last]) => {
            first == typed_first && last == typed_last
        }
        _ => false,
    }
}

/// The words of a name, lowercase, with common Latin accents dropped.
fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .flat_map(char::to_lowercase)
                .map(unaccented)
                .collect()
        })
        .collect()
}

fn unaccented(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ł' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ř' => 'r',
        'ś' | 'š' => 's',
        'ť' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::typed_name_matches;

    #[test]
    fn a_typed_name_matches_the_account_loosely() {
        for (typed, account) in [
            ("Ann Example", "Ann Example"),
            ("  ann   EXAMPLE. ", "Ann Example"),
            ("Ann Marie Example", "Ann Example"),
            ("Ann Example", "Ann Marie Example"),
            ("Jose Nunez", "José Núñez"),
            ("O'Brien Kate", "Kate"),
            ("Anyone At All", "erin@acme.test"),
            ("Anyone", ""),
        ] {
            assert!(
                typed_name_matches(typed, account),
                "{typed:?} / {account:?}"
            );
        }
        for (typed, account) in [
            ("", "Ann Example"),
            ("  .  ", "erin@acme.test"),
            ("Bob Example", "Ann Example"),
            ("Ann", "Ann Example"),
            ("Example Ann", "Ann Example"),
            ("Ann Exampel", "Ann Example"),
            ("Katherine", "Kate"),
        ] {
            assert!(
                !typed_name_matches(typed, account),
                "{typed:?} / {account:?}"
            );
        }
    }
}
