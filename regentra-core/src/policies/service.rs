//! Policy operations: create (blank or from a template), edit drafts, move a
//! version through review, approval and publication, retire.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::templates::template;
use super::{Policy, PolicyStatus, PolicyVersion, VersionStatus, body_hash};
use crate::audit::Target;
use crate::error::{Error, FieldError, Result};
use crate::ids::{OrgId, PolicyId, PolicyVersionId, UserId};
use crate::rbac::{Access, Grant, Permission};
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, Listing, PageRequest, Scope, Versioned};
use crate::tenancy::validate_name;

/// The largest policy text accepted (markdown), in bytes.
pub const MAX_BODY: usize = 512 * 1024;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    pub title: String,
    pub category: String,
    pub owner: Option<UserId>,
    #[serde(default)]
    pub controls: BTreeSet<String>,
    pub body: String,
}

/// A policy with its versions, newest last.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyView {
    pub policy: Policy,
    pub versions: Vec<PolicyVersion>,
}

/// A member of the org as the policy pages name them: a policy's owner,
/// who wrote or approved a version, whom a campaign may ask.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyPerson {
    pub user: UserId,
    pub name: String,
    pub email: String,
    pub role: crate::rbac::Role,
}

impl Regentra {
    /// The org's members by name with their roles, sorted by name: whom a
    /// policy may be owned by and a campaign may ask, and the names of
    /// those its versions record. Needs `policies.read` on every policy
    /// (staff; an employee's own view names nobody). Reads: the org's
    /// memberships and their accounts, in one batch.
    pub async fn policy_people(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<Vec<PolicyPerson>> {
        self.authorize_all(principal, org, Permission::PoliciesRead)
            .await?;
        let members: Vec<crate::tenancy::Membership> =
            store::find_all::<crate::tenancy::Membership>(
                self.store(),
                Scope::Platform,
                "org",
                &org.to_string(),
            )
            .await?
            .into_iter()
            .map(|m| m.value)
            .collect();
        let ids: Vec<Uuid> = members.iter().map(|m| m.user.0).collect();
        let accounts =
            store::load_many::<crate::tenancy::User>(self.store(), Scope::Platform, &ids).await?;
        let mut people: Vec<PolicyPerson> = members
            .iter()
            .zip(accounts)
            // A membership whose account is gone names nobody: left out.
            .filter_map(|(m, account)| {
                account.map(|u| PolicyPerson {
                    user: m.user,
                    name: u.value.display_name,
                    email: u.value.email,
                    role: m.role,
                })
            })
            .collect();
        people.sort_by_cached_key(|p| (p.name.to_lowercase(), p.email.clone()));
        Ok(people)
    }

    /// Creates a policy with its first draft version.
    pub async fn create_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewPolicy,
    ) -> Result<Policy> {
        let grant = self
            .authorize_all(principal, org, Permission::PoliciesManage)
            .await?;
        self.insert_policy(principal, &grant, new, None).await
    }

    /// Creates a policy from a built-in template: the body is filled in with
    /// the org's name and the owner's role, the control links with the
    /// template's.
    pub async fn create_policy_from_template(
        &self,
        principal: &Principal,
        org: OrgId,
        template_key: &str,
        owner: Option<UserId>,
        owner_role: &str,
    ) -> Result<Policy> {
        let grant = self
            .authorize_all(principal, org, Permission::PoliciesManage)
            .await?;
        let t = template(template_key).ok_or_else(|| {
            Error::invalid("template", format!("no policy template `{template_key}`"))
        })?;
        let organization = self.get_organization_unchecked(org).await?;
        let new = NewPolicy {
            title: t.title.clone(),
            category: t.category.clone(),
            owner,
            controls: t.controls.iter().cloned().collect(),
            body: t.render(&organization, owner_role),
        };
        self.insert_policy(principal, &grant, new, Some(t.key.clone()))
            .await
    }

    /// Replaces the text of the newest version if it is still a draft (or in
    /// review, which sends it back to draft); otherwise starts a new draft
    /// version, leaving published text untouched.
    pub async fn edit_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        policy: PolicyId,
        title: Option<&str>,
        body: &str,
    ) -> Result<PolicyVersion> {
        let grant = self
            .authorize_all(principal, org, Permission::PoliciesManage)
            .await?;
        let mut p = self.policy_record(org, policy).await?;
        if p.value.status == PolicyStatus::Retired {
            return Err(Error::invalid(
                "policy",
                "a retired policy cannot be edited",
            ));
        }
        check_body(body)?;
        let title = match title {
            Some(t) => validate_name("title", t)?,
            None => p.value.title.clone(),
        };
        let mut latest = self
            .version_record(org, policy, p.value.latest_version)
            .await?;
        let now = self.now();
        let mut changes = ChangeSet::new();
        let version = if matches!(
            latest.value.status,
            VersionStatus::Draft | VersionStatus::InReview
        ) {
            latest.value.body = body.to_owned();
            latest.value.sha256 = body_hash(body);
            latest.value.title = title.clone();
            latest.value.status = VersionStatus::Draft;
            latest.value.edited_by = Some(principal.user);
            latest.value.edited_at = Some(now);
            changes.update(&latest)?;
            latest.value
        } else {
            let v = PolicyVersion {
                id: PolicyVersionId(self.new_id()),
                org,
                policy,
                number: p.value.latest_version + 1,
                title: title.clone(),
                body: body.to_owned(),
                sha256: body_hash(body),
                status: VersionStatus::Draft,
                created_by: principal.user,
                created_at: now,
                edited_by: None,
                edited_at: None,
                approved_by: None,
                approved_at: None,
                published_by: None,
                published_at: None,
            };
            changes.insert(&v)?;
            p.value.latest_version = v.number;
            v
        };
        p.value.title = title;
        p.value.status = PolicyStatus::Draft;
        p.value.updated_at = now;
        changes.update(&p)?;
        changes.audit(self.event(
            principal,
            &grant,
            "policy.edited",
            Target::new(Policy::KIND, policy),
            json!({ "version": version.number, "sha256": version.sha256 }),
        ));
        self.store().apply(changes).await?;
        Ok(version)
    }

    /// Sends the newest draft for review.
    pub async fn submit_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        policy: PolicyId,
    ) -> Result<PolicyVersion> {
        let grant = self
            .authorize_all(principal, org, Permission::PoliciesManage)
            .await?;
        self.advance(
            principal,
            &grant,
            policy,
            VersionStatus::Draft,
            VersionStatus::InReview,
            PolicyStatus::InReview,
            "policy.submitted",
        )
        .await
    }

    /// Approves the version in review.
    pub async fn approve_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        policy: PolicyId,
    ) -> Result<PolicyVersion> {
        let grant = self
            .authorize_all(principal, org, Permission::PoliciesApprove)
            .await?;
        self.advance(
            principal,
            &grant,
            policy,
            VersionStatus::InReview,
            VersionStatus::Approved,
            PolicyStatus::Approved,
            "policy.approved",
        )
        .await
    }

    /// Publishes the approved version; it becomes immutable and the version
    /// in force, and the previously published one is superseded.
    pub async fn publish_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        policy: PolicyId,
    ) -> Result<PolicyVersion> {
        let grant = self
            .authorize_all(principal, org, Permission::PoliciesApprove)
            .await?;
        self.advance(
            principal,
            &grant,
            policy,
            VersionStatus::Approved,
            VersionStatus::Published,
            PolicyStatus::Published,
            "policy.published",
        )
        .await
    }

    /// Retires a policy: it stays, with its versions and signatures, but
    /// no longer changes or goes out in campaigns.
    pub async fn retire_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        policy: PolicyId,
    ) -> Result<Policy> {
        let grant = self
            .authorize_all(principal, org, Permission::PoliciesApprove)
            .await?;
        let mut p = self.policy_record(org, policy).await?;
        p.value.status = PolicyStatus::Retired;
        p.value.updated_at = self.now();
        let mut changes = ChangeSet::new();
        changes.update(&p)?;
        changes.audit(self.event(
            principal,
            &grant,
            "policy.retired",
            Target::new(Policy::KIND, policy),
            json!({}),
        ));
        self.store().apply(changes).await?;
        Ok(p.value)
    }

    /// The org's policies. People whose access is limited to their own
    /// policies (employees) see those they are asked to acknowledge.
    ///
    /// A page in id order: the store's page for staff; for the others, the
    /// page of the ids they were asked about (their acknowledgments, a
    /// short list), read in one batch.
    pub async fn policies(
        &self,
        principal: &Principal,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Listing<Policy>> {
        let grant = self
            .authorize(principal, org, Permission::PoliciesRead)
            .await?;
        let scope = Scope::Org(org);
        if grant.access == Access::All {
            return Ok(store::list_page::<Policy>(self.store(), scope, page)
                .await?
                .map(|v| v.value));
        }
        let limit = page.effective_limit();
        let mut ids: Vec<Uuid> = self
            .assigned_policies(org, principal.user)
            .await?
            .into_iter()
            .map(|p| p.0)
            .filter(|id| page.after.is_none_or(|after| *id > after))
            .take(limit + 1)
            .collect();
        let more = ids.len() > limit;
        ids.truncate(limit);
        let items: Vec<Policy> = store::load_many::<Policy>(self.store(), scope, &ids)
            .await?
            .into_iter()
            .flatten()
            .map(|v| v.value)
            .collect();
        let next = more.then(|| ids.last().copied()).flatten();
        Ok(Listing { items, next })
    }

    /// A policy and its versions. Employees may open the policies they are
    /// asked to acknowledge, and see only their published text.
    pub async fn policy(
        &self,
        principal: &Principal,
        org: OrgId,
        policy: PolicyId,
    ) -> Result<PolicyView> {
        let grant = self
            .authorize(principal, org, Permission::PoliciesRead)
            .await?;
        let p = self.policy_record(org, policy).await?.value;
        let mut versions: Vec<PolicyVersion> = store::find_all::<PolicyVersion>(
            self.store(),
            Scope::Org(org),
            "policy",
            &policy.to_string(),
        )
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
        versions.sort_by_key(|v| v.number);
        if grant.access != Access::All {
            if !self
                .assigned_policies(org, principal.user)
                .await?
                .contains(&policy)
            {
                return Err(Error::NotFound { what: Policy::NAME });
            }
            versions.retain(|v| {
                matches!(
                    v.status,
                    VersionStatus::Published | VersionStatus::Superseded
                )
            });
        }
        Ok(PolicyView {
            policy: p,
            versions,
        })
    }

    async fn insert_policy(
        &self,
        principal: &Principal,
        grant: &Grant,
        new: NewPolicy,
        template: Option<String>,
    ) -> Result<Policy> {
        let org = grant.org;
        let mut errors = Vec::new();
        let title = validate_name("title", &new.title)
            .map_err(|e| errors.push(e))
            .ok();
        let category = validate_name("category", &new.category)
            .map_err(|e| errors.push(e))
            .ok();
        if let Err(e) = check_body(&new.body) {
            errors.push(e);
        }
        let catalog = self.catalog_for(org).await?;
        for c in &new.controls {
            if catalog.control(c).is_none() {
                errors.push(Error::invalid("controls", format!("unknown control {c}")));
            }
        }
        if let Some(owner) = new.owner
            && self.membership(org, owner).await?.is_none()
        {
            errors.push(Error::invalid(
                "owner",
                "must be a member of the organization",
            ));
        }
        let (Some(title), Some(category)) = (title, category) else {
            return Err(merge(errors));
        };
        if !errors.is_empty() {
            return Err(merge(errors));
        }
        let now = self.now();
        let policy = Policy {
            id: PolicyId(self.new_id()),
            org,
            title: title.clone(),
            category,
            owner: new.owner,
            controls: new.controls,
            status: PolicyStatus::Draft,
            latest_version: 1,
            published_version: None,
            template,
            created_at: now,
            updated_at: now,
        };
        let version = PolicyVersion {
            id: PolicyVersionId(self.new_id()),
            org,
            policy: policy.id,
            number: 1,
            title,
            sha256: body_hash(&new.body),
            body: new.body,
            status: VersionStatus::Draft,
            created_by: principal.user,
            created_at: now,
            edited_by: None,
            edited_at: None,
            approved_by: None,
            approved_at: None,
            published_by: None,
            published_at: None,
        };
        let mut changes = ChangeSet::new();
        changes.insert(&policy)?;
        changes.insert(&version)?;
        changes.audit(self.event(
            principal,
            grant,
            "policy.created",
            Target::new(Policy::KIND, policy.id),
            json!({ "title": policy.title, "template": policy.template, "controls": policy.controls }),
        ));
        self.store().apply(changes).await?;
        Ok(policy)
    }

    /// Moves the newest version from one status to the next.
    #[allow(clippy::too_many_arguments)]
    async fn advance(
        &self,
        principal: &Principal,
        grant: &Grant,
        policy: PolicyId,
        from: VersionStatus,
        to: VersionStatus,
        policy_status: PolicyStatus,
        action: &str,
    ) -> Result<PolicyVersion> {
        let org = grant.org;
        let mut p = self.policy_record(org, policy).await?;
        if p.value.status == PolicyStatus::Retired {
            return Err(Error::invalid("policy", "the policy is retired"));
        }
        let mut latest = self
            .version_record(org, policy, p.value.latest_version)
            .await?;
        if latest.value.status != from {
            return Err(Error::invalid(
                "policy",
                format!(
                    "version {} is {:?}; this step needs a version that is {:?}",
                    latest.value.number, latest.value.status, from
                )
                .to_lowercase(),
            ));
        }
        let now = self.now();
        let mut changes = ChangeSet::new();
        latest.value.status = to;
        match to {
            VersionStatus::Approved => {
                latest.value.approved_by = Some(principal.user);
                latest.value.approved_at = Some(now);
            }
            VersionStatus::Published => {
                latest.value.published_by = Some(principal.user);
                latest.value.published_at = Some(now);
                if let Some(previous) = p.value.published_version {
                    let mut old = self.version_record(org, policy, previous).await?;
                    old.value.status = VersionStatus::Superseded;
                    changes.update(&old)?;
                }
                p.value.published_version = Some(latest.value.number);
            }
            _ => {}
        }
        p.value.status = policy_status;
        p.value.updated_at = now;
        changes.update(&latest)?;
        changes.update(&p)?;
        changes.audit(self.event(
            principal,
            grant,
            action,
            Target::new(Policy::KIND, policy),
            json!({ "version": latest.value.number, "sha256": latest.value.sha256 }),
        ));
        self.store().apply(changes).await?;
        Ok(latest.value)
    }

    pub(crate) async fn policy_record(
        &self,
        org: OrgId,
        policy: PolicyId,
    ) -> Result<Versioned<Policy>> {
        store::require::<Policy>(self.store(), Scope::Org(org), policy.0).await
    }

    pub(crate) async fn version_record(
        &self,
        org: OrgId,
        policy: PolicyId,
        number: u32,
    ) -> Result<Versioned<PolicyVersion>> {
        store::find_unique::<PolicyVersion>(
            self.store(),
            Scope::Org(org),
            "policy_number",
            &format!("{policy}/{number}"),
        )
        .await?
        .ok_or(Error::NotFound {
            what: PolicyVersion::NAME,
        })
    }

    async fn get_organization_unchecked(&self, org: OrgId) -> Result<String> {
        Ok(
            store::require::<crate::tenancy::Organization>(self.store(), Scope::Platform, org.0)
                .await?
                .value
                .name,
        )
    }
}

fn check_body(body: &str) -> Result<()> {
    if body.trim().is_empty() {
        return Err(Error::invalid("body", "must not be empty"));
    }
    if body.len() > MAX_BODY {
        return Err(Error::invalid(
            "body",
            format!("must be at most {MAX_BODY} bytes"),
        ));
    }
    Ok(())
}

/// Several validation errors as one.
fn merge(errors: Vec<Error>) -> Error {
    let mut fields: Vec<FieldError> = Vec::new();
    for e in errors {
        match e {
            Error::Validation(f) => fields.extend(f),
            other => return other,
        }
    }
    Error::Validation(fields)
}
