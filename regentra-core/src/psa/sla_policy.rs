//! SLA policies: per priority a first-response and a resolution target in
//! business minutes, a business-hours calendar, and escalation rules.
//!
//! Assignment: a standalone org or a client uses its own default policy; a
//! client without one uses its MSP's default for clients. A ticket copies
//! the policy (with its revision) when it is created, so later edits never
//! move old deadlines.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::Priority;
use crate::audit::Target;
use crate::error::{Error, FieldError, Result};
use crate::ids::{OrgId, SlaPolicyId, UserId};
use crate::rbac::{self, Access, Permission, Role, Via};
use crate::service::{Principal, Regentra};
use crate::sla::{BusinessCalendar, CalendarSpec};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Listing, PageRequest, Scope, Versioned};
use crate::tenancy::{self, OrgKind, Organization, User, validate_name};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
}

/// Which clock an escalation watches.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    Response,
    Resolution,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// When this share of the target is used.
    Percent {
        percent: u8,
    },
    /// This many business minutes before the breach.
    BeforeBreach {
        minutes: u32,
    },
    AtBreach,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    NotifyRole { role: Role },
    NotifyUser { user: UserId },
    Reassign { user: UserId },
    RaisePriority,
    Webhook { url: String },
}

impl Action {
    /// The action's kind as the API spells it (`reassign`, `notify_user`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::NotifyRole { .. } => "notify_role",
            Action::NotifyUser { .. } => "notify_user",
            Action::Reassign { .. } => "reassign",
            Action::RaisePriority => "raise_priority",
            Action::Webhook { .. } => "webhook",
        }
    }

    /// What whoever the action names must hold over every ticket of the
    /// org it fires in: `tickets.manage` to be given a ticket,
    /// `tickets.read` to be told about one (a notification carries the
    /// ticket's number and title). `None` for actions that name nobody.
    pub fn target_permission(&self) -> Option<Permission> {
        match self {
            Action::Reassign { .. } => Some(Permission::TicketsManage),
            Action::NotifyUser { .. } | Action::NotifyRole { .. } => Some(Permission::TicketsRead),
            Action::RaisePriority | Action::Webhook { .. } => None,
        }
    }
}

/// Whether someone holding `roles` in an org (as
/// [`tenancy::candidate_roles`] lists them) may be the target of an
/// escalation needing `permission` there: one of the roles must grant it
/// over every ticket, and come from the org's own membership (an MSP's
/// assignment is one) or from the MSP delegation. A platform operator's
/// role does not count: a tenant cannot aim escalations at the platform's
/// operators.
pub fn qualifies_as_escalation_target(roles: &[(Role, Via)], permission: Permission) -> bool {
    roles
        .iter()
        .any(|(role, via)| *via != Via::Platform && rbac::decide(*role, permission) == Access::All)
}

/// Why an escalation naming `user` (or, with `role`, members of that role)
/// cannot name them, in words for a field error and an audit event.
fn target_problem_text(permission: Permission, role: bool) -> String {
    match (permission, role) {
        (_, true) => format!("must be a role that holds {permission} over every ticket"),
        (Permission::TicketsManage, false) => format!(
            "must be someone who works this organization's tickets: a member whose role \
             holds {permission}, or an admin of its MSP"
        ),
        _ => format!(
            "must be someone who reads this organization's tickets: a member whose role \
             holds {permission}, or an admin of its MSP"
        ),
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    pub clock: ClockKind,
    pub trigger: Trigger,
    pub action: Action,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub id: SlaPolicyId,
    pub org: OrgId,
    pub name: String,
    pub calendar: CalendarSpec,
    pub targets: BTreeMap<Priority, Targets>,
    pub escalations: Vec<EscalationRule>,
    /// For an MSP: the policy its clients use unless they have their own.
    /// For any other org: the org's own default.
    pub default: bool,
    /// Bumped on every edit; tickets record the revision they run on.
    pub revision: u32,
    pub updated_at: DateTime<Utc>,
    /// How long, in minutes of wall-clock time, a chat of the org may wait
    /// for the service desk's first answer before its requester is offered
    /// to leave it as a ticket ([`crate::psa::chat::chat_wait`]). Policies
    /// saved before the setting existed read as the default.
    #[serde(default = "default_chat_answer_minutes")]
    pub chat_answer_minutes: u32,
}

/// The chat wait of an org whose policy does not say, or that has none: a
/// live chat is meant to be answered in minutes, and three is long enough
/// for a technician to finish a sentence elsewhere, short enough that
/// nobody sits in front of an unanswered chat for long.
pub const DEFAULT_CHAT_ANSWER_MINUTES: u32 = 3;

/// The longest chat wait a policy may set: a day. Beyond it the offer
/// would come after the person has long gone.
pub const MAX_CHAT_ANSWER_MINUTES: u32 = 1440;

fn default_chat_answer_minutes() -> u32 {
    DEFAULT_CHAT_ANSWER_MINUTES
}

impl Entity for SlaPolicy {
    const KIND: &'static str = "sla_policy";
    const NAME: &'static str = "SLA policy";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        if self.default {
            vec![IndexEntry::unique("default", "yes")]
        } else {
            Vec::new()
        }
    }
}

/// A policy as the user writes it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSlaPolicy {
    pub name: String,
    pub calendar: CalendarSpec,
    pub targets: BTreeMap<Priority, Targets>,
    #[serde(default)]
    pub escalations: Vec<EscalationRule>,
    #[serde(default)]
    pub default: bool,
    /// Minutes a chat waits for its first answer before the requester is
    /// offered to leave it as a ticket (1 to 1440; 3 when left out).
    #[serde(default = "default_chat_answer_minutes")]
    pub chat_answer_minutes: u32,
}

impl NewSlaPolicy {
    /// The checks that need nothing but the policy itself.
    fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Err(Error::Validation(e)) = validate_name("name", &self.name) {
            errors.extend(e);
        }
        if let Err(Error::Validation(e)) = BusinessCalendar::new(self.calendar.clone()) {
            errors.extend(e.into_iter().map(|f| FieldError {
                field: format!("calendar.{}", f.field),
                ..f
            }));
        }
        for p in Priority::ALL {
            match self.targets.get(&p) {
                None => errors.push(FieldError::new(
                    format!("targets.{}", key(p)),
                    "every priority needs targets",
                )),
                Some(t) if t.first_response_minutes == 0 || t.resolution_minutes == 0 => errors
                    .push(FieldError::new(
                        format!("targets.{}", key(p)),
                        "targets must be at least one minute",
                    )),
                Some(t) if t.first_response_minutes > t.resolution_minutes => {
                    errors.push(FieldError::new(
                        format!("targets.{}", key(p)),
                        "the first response cannot be due after the resolution",
                    ))
                }
                _ => {}
            }
        }
        if !(1..=MAX_CHAT_ANSWER_MINUTES).contains(&self.chat_answer_minutes) {
            errors.push(FieldError::new(
                "chat_answer_minutes",
                format!("must be 1-{MAX_CHAT_ANSWER_MINUTES} minutes"),
            ));
        }
        for (i, rule) in self.escalations.iter().enumerate() {
            if let Trigger::Percent { percent } = rule.trigger
                && !(1..=100).contains(&percent)
            {
                errors.push(FieldError::new(
                    format!("escalations[{i}].trigger.percent"),
                    "must be 1-100",
                ));
            }
            if let Action::Webhook { url } = &rule.action
                && let Some(problem) = crate::notify::webhook_url_problem(url)
            {
                errors.push(FieldError::new(
                    format!("escalations[{i}].action.url"),
                    problem,
                ));
            }
        }
        errors
    }
}

/// When a ticket of one priority, opened at an instant, would be due under
/// a policy: what an SLA editor shows before the policy is saved.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuePreview {
    pub priority: Priority,
    /// `None` when the calendar never opens again (no due time).
    pub first_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
}

/// The due times of a ticket opened at `opened` under `policy`, per
/// priority with a target, most urgent first: its clocks started at
/// `opened` and run on the policy's business calendar, as a new ticket's
/// are. The policy's own problems (an unknown zone, overlapping hours, a
/// target of zero ...) are a validation error naming their fields.
pub fn due_preview(policy: &NewSlaPolicy, opened: DateTime<Utc>) -> Result<Vec<DuePreview>> {
    let errors = policy.problems();
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let calendar = BusinessCalendar::shared(&policy.calendar)?;
    let due = |minutes: u32| {
        crate::sla::Clock::start(chrono::Duration::minutes(i64::from(minutes)), opened)
            .due(&calendar)
    };
    Ok(Priority::ALL
        .into_iter()
        .filter_map(|priority| {
            policy.targets.get(&priority).map(|t| DuePreview {
                priority,
                first_response_due: due(t.first_response_minutes),
                resolution_due: due(t.resolution_minutes),
            })
        })
        .collect())
}

fn key(p: Priority) -> &'static str {
    match p {
        Priority::Critical => "critical",
        Priority::High => "high",
        Priority::Medium => "medium",
        Priority::Low => "low",
    }
}

impl Regentra {
    /// Creates an SLA policy (an MSP's default for its clients, or an org's own).
    pub async fn create_sla_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewSlaPolicy,
    ) -> Result<SlaPolicy> {
        let grant = self
            .authorize_all(principal, org, Permission::SlaManage)
            .await?;
        self.check_sla_policy(org, &new).await?;
        let policy = SlaPolicy {
            id: SlaPolicyId(self.new_id()),
            org,
            name: new.name.trim().to_owned(),
            calendar: new.calendar,
            targets: new.targets,
            escalations: new.escalations,
            default: new.default,
            revision: 1,
            updated_at: self.now(),
            chat_answer_minutes: new.chat_answer_minutes,
        };
        let mut changes = ChangeSet::new();
        changes.insert(&policy)?;
        changes.audit(self.event(
            principal,
            &grant,
            "sla_policy.created",
            Target::new(SlaPolicy::KIND, policy.id),
            json!({ "name": policy.name, "default": policy.default }),
        ));
        self.store().apply(changes).await.map_err(|e| match e {
            Error::AlreadyExists { .. } => Error::AlreadyExists {
                what: "default SLA policy",
                field: "default".into(),
            },
            other => other,
        })?;
        Ok(policy)
    }

    /// Replaces a policy's terms; open tickets keep the revision they started on.
    pub async fn update_sla_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        id: SlaPolicyId,
        change: NewSlaPolicy,
    ) -> Result<SlaPolicy> {
        let grant = self
            .authorize_all(principal, org, Permission::SlaManage)
            .await?;
        self.check_sla_policy(org, &change).await?;
        let mut current: Versioned<SlaPolicy> =
            store::require(self.store(), Scope::Org(org), id.0).await?;
        current.value = SlaPolicy {
            name: change.name.trim().to_owned(),
            calendar: change.calendar,
            targets: change.targets,
            escalations: change.escalations,
            default: change.default,
            revision: current.value.revision + 1,
            updated_at: self.now(),
            chat_answer_minutes: change.chat_answer_minutes,
            ..current.value
        };
        let mut changes = ChangeSet::new();
        changes.update(&current)?;
        changes.audit(self.event(
            principal,
            &grant,
            "sla_policy.updated",
            Target::new(SlaPolicy::KIND, id),
            json!({ "revision": current.value.revision }),
        ));
        self.store().apply(changes).await?;
        Ok(current.value)
    }

    /// Every problem of a policy about to be saved in `org`: its own fields,
    /// and each escalation's target, which must qualify in `org` itself (see
    /// [`Regentra::escalation_target_problem`]). For a client's or a
    /// standalone org's own policy, that is its members (the MSP's assigned
    /// staff included) and, for a client, its MSP's admins; for an MSP's
    /// policy, the MSP's own staff, since an MSP-wide policy runs on the
    /// tickets of its clients and only its staff can reach them (each
    /// firing checks the target again in the ticket's org).
    async fn check_sla_policy(&self, org: OrgId, new: &NewSlaPolicy) -> Result<()> {
        let mut errors = new.problems();
        for (i, rule) in new.escalations.iter().enumerate() {
            if let Some((field, problem)) =
                self.escalation_target_problem(org, &rule.action).await?
            {
                errors.push(FieldError::new(
                    format!("escalations[{i}].action.{field}"),
                    problem,
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }

    /// Why `action` cannot fire on tickets of `org` as written, if it
    /// cannot: the action's field (`user`, `role`) and the reason. A
    /// `reassign` target must hold `tickets.manage` over every ticket of
    /// `org`, a `notify_user` target `tickets.read`, through a membership
    /// of `org` or its MSP's delegation
    /// ([`qualifies_as_escalation_target`]); a `notify_role` role must hold
    /// `tickets.read` over every ticket. A user who does not exist gets the
    /// same answer as one of another tenant, so the answer tells nothing
    /// about other tenants.
    pub(crate) async fn escalation_target_problem(
        &self,
        org: OrgId,
        action: &Action,
    ) -> Result<Option<(&'static str, String)>> {
        let Some(permission) = action.target_permission() else {
            return Ok(None);
        };
        match action {
            Action::NotifyRole { role } => Ok((rbac::decide(*role, permission) != Access::All)
                .then(|| ("role", target_problem_text(permission, true)))),
            Action::NotifyUser { user } | Action::Reassign { user } => {
                let roles = self.tenant_roles(org, *user).await?;
                Ok((!qualifies_as_escalation_target(&roles, permission))
                    .then(|| ("user", target_problem_text(permission, false))))
            }
            Action::RaisePriority | Action::Webhook { .. } => Ok(None),
        }
    }

    /// The roles `user` could act with in `org` (membership, MSP delegation,
    /// platform), as [`Regentra::authorize`] resolves them, without
    /// authorizing anything or writing to the audit chain.
    async fn tenant_roles(&self, org: OrgId, user: UserId) -> Result<Vec<(Role, Via)>> {
        let Some(account) = store::load::<User>(self.store(), Scope::Platform, user.0).await?
        else {
            return Ok(Vec::new());
        };
        let Some(organization) =
            store::load::<Organization>(self.store(), Scope::Platform, org.0).await?
        else {
            return Ok(Vec::new());
        };
        let membership = self.membership(org, user).await?;
        let parent_membership = match organization.value.parent {
            Some(msp) => self.membership(msp, user).await?,
            None => None,
        };
        Ok(tenancy::candidate_roles(
            &account.value,
            &organization.value,
            membership.as_ref().map(|m| &m.value),
            parent_membership.as_ref().map(|m| &m.value),
        ))
    }

    /// A page of the org's policies, in id order. An org keeps a handful
    /// (a default and a few for its contracts), so this is short by nature;
    /// the store pages it all the same.
    pub async fn sla_policies(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Listing<SlaPolicy>> {
        self.authorize_all(principal, org, Permission::SlaRead)
            .await?;
        Ok(
            store::list_page::<SlaPolicy>(self.store(), Scope::Org(org), page)
                .await?
                .map(|v| v.value),
        )
    }

    /// [`due_preview`] for a ticket opened now in `org`, for anyone who
    /// reads its SLA policies: what an editor shows before saving.
    pub async fn preview_sla_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        policy: &NewSlaPolicy,
    ) -> Result<Vec<DuePreview>> {
        self.authorize_all(principal, org, Permission::SlaRead)
            .await?;
        due_preview(policy, self.now())
    }

    /// Whether `org` has a default policy of its own (else, for a client,
    /// its tickets run on its MSP's default for clients), for those who
    /// read its policies.
    pub async fn has_own_default_sla_policy(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<bool> {
        self.authorize_all(principal, org, Permission::SlaRead)
            .await?;
        Ok(
            store::find_unique::<SlaPolicy>(self.store(), Scope::Org(org), "default", "yes")
                .await?
                .is_some(),
        )
    }

    /// The time zone `org` works in, for showing its people times: the
    /// zone of the business calendar its tickets run on (its SLA policy,
    /// else its MSP's default for clients), UTC when it has none. A system
    /// operation for the host's pages; it tells nothing but a zone.
    pub async fn time_zone(&self, org: OrgId) -> Result<crate::sla::Tz> {
        Ok(zone_of_policy(
            self.effective_sla_policy(org).await?.as_ref(),
        ))
    }

    /// The policy tickets of `org` run on: its own default, else (for a
    /// client) its MSP's default for clients.
    pub(crate) async fn effective_sla_policy(&self, org: OrgId) -> Result<Option<SlaPolicy>> {
        if let Some(own) =
            store::find_unique::<SlaPolicy>(self.store(), Scope::Org(org), "default", "yes").await?
        {
            return Ok(Some(own.value));
        }
        let organization = store::require::<Organization>(self.store(), Scope::Platform, org.0)
            .await?
            .value;
        match (organization.kind, organization.parent) {
            (OrgKind::Client, Some(msp)) => Ok(store::find_unique::<SlaPolicy>(
                self.store(),
                Scope::Org(msp),
                "default",
                "yes",
            )
            .await?
            .map(|v| v.value)),
            _ => Ok(None),
        }
    }
}

/// The zone an org's people see times in, given the policy its tickets run
/// on: the policy calendar's, UTC without one.
pub(crate) fn zone_of_policy(policy: Option<&SlaPolicy>) -> crate::sla::Tz {
    policy
        .and_then(|p| p.calendar.timezone.parse().ok())
        .unwrap_or(crate::sla::Tz::UTC)
}

#[cfg(test)]
mod preview_tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("an instant")
    }

    fn office_hours() -> NewSlaPolicy {
        let day = vec![("09:00".to_owned(), "17:00".to_owned())];
        NewSlaPolicy {
            name: "Office hours".to_owned(),
            calendar: CalendarSpec {
                timezone: "America/New_York".to_owned(),
                weekly: crate::sla::WeeklySpec {
                    mon: day.clone(),
                    tue: day.clone(),
                    wed: day.clone(),
                    thu: day.clone(),
                    fri: day,
                    ..Default::default()
                },
                holidays: vec!["2025-06-16".to_owned()],
            },
            targets: Priority::ALL
                .into_iter()
                .map(|p| {
                    (
                        p,
                        Targets {
                            first_response_minutes: 60,
                            resolution_minutes: 480,
                        },
                    )
                })
                .collect(),
            escalations: Vec::new(),
            default: true,
            chat_answer_minutes: DEFAULT_CHAT_ANSWER_MINUTES,
        }
    }

    #[test]
    fn a_preview_runs_the_clocks_over_closed_hours_and_holidays() {
        // Friday 16:30 EDT: half an hour left that day; Monday is a holiday.
        let due = due_preview(&office_hours(), at("2025-06-13T20:30:00Z")).expect("a preview");
        assert_eq!(due.len(), 4);
        assert_eq!(due[0].priority, Priority::Critical);
        assert_eq!(
            due[0].first_response_due,
            Some(at("2025-06-17T13:30:00Z")),
            "30 min on Friday, 30 on Tuesday from 09:00 EDT"
        );
        assert_eq!(
            due[0].resolution_due,
            Some(at("2025-06-17T20:30:00Z")),
            "8 business hours: 30 min on Friday, 7 h 30 min on Tuesday"
        );
    }

    #[test]
    fn a_preview_of_a_bad_policy_names_the_fields() {
        let mut policy = office_hours();
        policy.calendar.timezone = "Mars/Olympus".to_owned();
        policy.targets.remove(&Priority::Low);
        let Err(Error::Validation(fields)) = due_preview(&policy, at("2025-06-13T20:30:00Z"))
        else {
            panic!("a bad policy is refused");
        };
        let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert!(named.contains(&"calendar.timezone"), "{named:?}");
        assert!(named.contains(&"targets.low"), "{named:?}");
    }
}
