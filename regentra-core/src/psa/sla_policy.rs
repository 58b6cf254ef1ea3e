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
use crate::rbac::{Permission, Role};
use crate::service::{Principal, Regentra};
use crate::sla::{BusinessCalendar, CalendarSpec};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Scope, Versioned};
use crate::tenancy::{OrgKind, Organization, validate_name};

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
}

impl NewSlaPolicy {
    fn check(&self) -> Result<()> {
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
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }
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
        new.check()?;
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
        change.check()?;
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

    /// The org's policies.
    pub async fn sla_policies(&self, principal: &Principal, org: OrgId) -> Result<Vec<SlaPolicy>> {
        self.authorize_all(principal, org, Permission::SlaRead)
            .await?;
        Ok(store::all::<SlaPolicy>(self.store(), Scope::Org(org))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
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
