//! An organization's own frameworks: the same data format as the built-in
//! catalogs, validated the same way, stored in the organization.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{Catalog, Control, Framework, validate, validate_controls};
use crate::audit::Target;
use crate::error::{Error, FieldError, Result};
use crate::ids::{CustomFrameworkId, OrgId, UserId};
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Scope};

/// What an organization submits: a framework, and any controls of its own
/// that the framework maps to (besides the built-in common controls).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFrameworkDef {
    pub framework: Framework,
    #[serde(default)]
    pub controls: Vec<Control>,
}

/// A custom framework as stored in its organization.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFramework {
    pub id: CustomFrameworkId,
    pub org: OrgId,
    pub framework: Framework,
    pub controls: Vec<Control>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

impl Entity for CustomFramework {
    const KIND: &'static str = "custom_framework";
    const NAME: &'static str = "custom framework";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::unique("key", &self.framework.key)]
    }
}

/// Checks a submitted framework against the catalog it joins: its own
/// controls are well formed and new, its key is new, and every requirement
/// maps to a control that exists. Every problem is reported, each named by
/// its path in the submission (`framework.requirements[3].controls`).
pub fn check_custom(base: &Catalog, def: &CustomFrameworkDef) -> Result<()> {
    let mut errors = Vec::new();
    if let Err(Error::Validation(found)) = validate_controls(&def.controls) {
        errors.extend(found);
    }
    for (i, c) in def.controls.iter().enumerate() {
        if base.control(&c.key).is_some() {
            errors.push(FieldError::new(
                format!("controls[{i}].key"),
                "is already a control of the catalog",
            ));
        }
    }
    if base.framework(&def.framework.key).is_some() {
        errors.push(FieldError::new(
            "framework.key",
            "is already a framework of the catalog",
        ));
    } else if let Some(other) = base.spelling_taken(&def.framework.key) {
        // Keys are accepted in other spellings (`SOC-2` for `soc2`); a key
        // that is one would make those spellings ambiguous.
        errors.push(FieldError::new(
            "framework.key",
            format!("is another spelling of framework {}", other.key),
        ));
    }
    let keys = base
        .controls()
        .iter()
        .chain(&def.controls)
        .map(|c| c.key.as_str())
        .collect();
    if let Err(Error::Validation(found)) = validate(&def.framework, &keys) {
        errors.extend(found.into_iter().map(|e| FieldError {
            field: format!("framework.{}", e.field),
            ..e
        }));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

impl Regentra {
    /// Adds an organization's own framework (and controls), after checking it
    /// exactly as the built-in catalogs are checked.
    pub async fn add_custom_framework(
        &self,
        principal: &Principal,
        org: OrgId,
        def: CustomFrameworkDef,
    ) -> Result<CustomFramework> {
        let grant = self
            .authorize_all(principal, org, Permission::FrameworksAdopt)
            .await?;
        let base = self.catalog_for(org).await?;
        check_custom(&base, &def)?;
        let custom = CustomFramework {
            id: CustomFrameworkId(self.new_id()),
            org,
            framework: def.framework,
            controls: def.controls,
            created_by: principal.user,
            created_at: self.now(),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&custom)?;
        changes.audit(self.event(
            principal,
            &grant,
            "framework.custom_added",
            Target::new(CustomFramework::KIND, &custom.framework.key),
            json!({
                "key": custom.framework.key,
                "version": custom.framework.version,
                "requirements": custom.framework.assessable().count(),
                "controls": custom.controls.len(),
            }),
        ));
        self.store().apply(changes).await.map_err(|e| match e {
            Error::AlreadyExists { .. } => Error::AlreadyExists {
                what: CustomFramework::NAME,
                field: "framework.key".into(),
            },
            other => other,
        })?;
        Ok(custom)
    }

    /// The organization's own frameworks, oldest first.
    pub async fn custom_frameworks(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<Vec<CustomFramework>> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        self.stored_custom(org).await
    }

    /// Removes a custom framework. Refused while another of the org's
    /// frameworks maps to a control it defines.
    pub async fn remove_custom_framework(
        &self,
        principal: &Principal,
        org: OrgId,
        key: &str,
    ) -> Result<()> {
        let grant = self
            .authorize_all(principal, org, Permission::FrameworksAdopt)
            .await?;
        let found =
            store::find_unique::<CustomFramework>(self.store(), Scope::Org(org), "key", key)
                .await?
                .ok_or(Error::NotFound {
                    what: CustomFramework::NAME,
                })?;
        let others = self.stored_custom(org).await?;
        let defined: Vec<&str> = found
            .value
            .controls
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        if let Some(user) = others.iter().find(|o| {
            o.id != found.value.id
                && o.framework
                    .assessable()
                    .any(|r| r.controls.iter().any(|c| defined.contains(&c.as_str())))
        }) {
            return Err(Error::invalid(
                "key",
                format!(
                    "framework {} maps to controls this framework defines",
                    user.framework.key
                ),
            ));
        }
        let mut changes = ChangeSet::new();
        changes.delete(&found);
        changes.audit(self.event(
            principal,
            &grant,
            "framework.custom_removed",
            Target::new(CustomFramework::KIND, key),
            json!({ "key": key }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// The catalog as the organization sees it: the built-in frameworks and
    /// controls plus its own.
    pub async fn org_catalog(&self, principal: &Principal, org: OrgId) -> Result<Catalog> {
        self.authorize_all(principal, org, Permission::FrameworksRead)
            .await?;
        Ok(self.catalog_for(org).await?.into_owned())
    }

    /// The org's catalog without authorization: borrowed from the built-in
    /// one unless the org has frameworks of its own.
    pub(crate) async fn catalog_for(&self, org: OrgId) -> Result<Cow<'static, Catalog>> {
        catalog_with(self.stored_custom(org).await?)
    }

    async fn stored_custom(&self, org: OrgId) -> Result<Vec<CustomFramework>> {
        Ok(store::all::<CustomFramework>(self.store(), Scope::Org(org))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }
}

/// The catalog of an org with these frameworks of its own: the built-in
/// one, borrowed, when it has none.
pub(crate) fn catalog_with(custom: Vec<CustomFramework>) -> Result<Cow<'static, Catalog>> {
    if custom.is_empty() {
        return Ok(Cow::Borrowed(Catalog::builtin()));
    }
    let (frameworks, controls): (Vec<_>, Vec<_>) = custom
        .into_iter()
        .map(|c| (c.framework, c.controls))
        .unzip();
    Catalog::builtin()
        .extended(frameworks, controls.into_iter().flatten().collect())
        .map(Cow::Owned)
}
