//! Portal operations: reading and changing an org's portal settings, the
//! public lookup by slug the unauthenticated portal page starts from, and
//! the compliance dashboard portal users see.

use serde::{Deserialize, Serialize};

use serde_json::json;
use sha2::Digest;

use super::{
    Branding, HostnameClaim, LogoFile, PortalRoute, PortalSettings, PortalUpdate, VerifiedBy,
    host_of_request, slug_problem,
};
use crate::audit::Target;
use crate::compliance::evaluate::last_change;
use crate::compliance::gap::FrameworkScore;
use crate::compliance::{evaluate, gap_analysis};
use crate::error::{Error, FieldError, Result};
use crate::ids::OrgId;
use crate::rbac::Grant;
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, Scope, Versioned};
use crate::tenancy::{Organization, User};

/// What the unauthenticated portal page may show about a tenant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPortal {
    pub org: OrgId,
    pub slug: String,
    /// `display_name` is always set: the organization's name unless the
    /// branding names the portal itself.
    pub branding: Branding,
    pub show_compliance_dashboard: bool,
    /// Whether the portal shows each person the assets assigned to them.
    pub show_assets: bool,
}

/// The compliance scores the portal shows, one entry per adopted framework.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalDashboard {
    pub org: OrgId,
    pub at: chrono::DateTime<chrono::Utc>,
    /// In catalog order, like the gap analysis.
    pub frameworks: Vec<DashboardFramework>,
}

/// One adopted framework's standing, as the gap analysis computes it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardFramework {
    /// The framework key (`hipaa`, `soc2`, ...).
    pub framework: String,
    pub name: String,
    /// The gap analysis score: satisfied requirements as a percentage of
    /// those in scope, to one decimal.
    pub score: f64,
    /// Requirements satisfied.
    pub implemented: usize,
    /// Requirements in scope (scoped-out ones are not counted), so that
    /// `implemented / total` is the score.
    pub total: usize,
    /// When something last moved this standing: the adoption, a change to
    /// a control its requirements map, or evidence of one added or expired.
    pub last_change: Option<chrono::DateTime<chrono::Utc>>,
}

impl DashboardFramework {
    fn of(f: FrameworkScore, last_change: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        Self {
            implemented: f.totals.satisfied,
            total: f.totals.total - f.totals.not_applicable,
            framework: f.framework,
            name: f.name,
            score: f.score,
            last_change,
        }
    }
}

impl Regentra {
    /// The org's portal settings, or the defaults if it never saved any.
    pub async fn portal_settings(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<PortalSettings> {
        self.authorize_all(principal, org, Permission::OrgRead)
            .await?;
        match self.portal_record(org).await? {
            Some(stored) => Ok(stored.value),
            None => self.default_portal(org).await,
        }
    }

    /// Changes some of the org's portal settings (see [`PortalUpdate`] for
    /// the PATCH convention). Every invalid field is reported at once and
    /// nothing is written; a slug another org holds is `AlreadyExists`
    /// naming it. A new host name is only claimed (a pending
    /// [`HostnameClaim`] with a fresh token, in the same commit): it blocks
    /// nobody and is not served until verified. An update that changes
    /// nothing writes nothing, not even an audit event.
    pub async fn update_portal_settings(
        &self,
        principal: &Principal,
        org: OrgId,
        update: PortalUpdate,
    ) -> Result<PortalSettings> {
        let grant = self
            .authorize_all(principal, org, Permission::OrgManage)
            .await?;
        let stored = self.portal_record(org).await?;
        let before = match &stored {
            Some(s) => s.value.clone(),
            None => self.default_portal(org).await?,
        };
        let (mut after, changed) = before.updated(update)?;
        if changed.is_empty() {
            return Ok(before);
        }
        after.updated_at = self.now();
        let mut changes = ChangeSet::new();
        let claim = self.claim_record(org).await?;
        let hostname_verified = if after.hostname == before.hostname {
            claim.as_ref().is_some_and(|c| {
                c.value.is_verified() && Some(&c.value.hostname) == after.hostname.as_ref()
            })
        } else {
            // A new name (or none): the old claim goes, a new one starts.
            match (claim, &after.hostname) {
                (Some(old), Some(name)) => {
                    changes.update(&Versioned {
                        version: old.version,
                        value: self.new_claim(org, name)?,
                    })?;
                }
                (None, Some(name)) => {
                    changes.insert(&self.new_claim(org, name)?)?;
                }
                (Some(old), None) => {
                    changes.delete(&old);
                }
                (None, None) => {}
            }
            false
        };
        match stored {
            Some(mut s) => {
                s.value = after.clone();
                changes.update(&s)?;
            }
            None => {
                changes.insert(&after)?;
            }
        }
        self.route_change(&mut changes, &after, hostname_verified)
            .await?;
        changes.audit(self.event(
            principal,
            &grant,
            "portal.updated",
            Target::new(PortalSettings::KIND, org),
            after.change_details(&changed),
        ));
        self.store().apply(changes).await.map_err(address_taken)?;
        Ok(after)
    }

    /// The portal served at `/portal/{slug}`, for the unauthenticated portal
    /// page: `None` for an unknown slug, a disabled portal and the portal of
    /// an archived (offboarded) client alike, so the page cannot tell which
    /// tenants have one switched off. Every public door of a portal (its
    /// pages and logo, sign-in, password reset, its host name) starts here,
    /// so an archived client's portal is shut until it is restored.
    pub async fn portal_by_slug(&self, slug: &str) -> Result<Option<PublicPortal>> {
        // No saved slug can fail the rules; skip the store for such paths.
        if slug_problem(slug).is_some() {
            return Ok(None);
        }
        let Some(route) =
            store::find_unique::<PortalRoute>(self.store(), Scope::Platform, "slug", slug).await?
        else {
            return Ok(None);
        };
        let org = route.value.org;
        let Some(settings) = self.portal_record(org).await? else {
            return Ok(None);
        };
        let settings = settings.value;
        if !settings.enabled || settings.slug.as_deref() != Some(slug) {
            return Ok(None);
        }
        let Some(organization) =
            store::load::<Organization>(self.store(), Scope::Platform, org.0).await?
        else {
            return Ok(None);
        };
        // Nobody acts in an archived client, so its portal is no one's door.
        if organization.value.is_archived() {
            return Ok(None);
        }
        let mut branding = settings.branding;
        branding.display_name = branding.display_name.or(Some(organization.value.name));
        // An uploaded logo is served by the portal itself, under an address
        // that changes with its bytes.
        if let Some(file) = branding.logo_file.take() {
            branding.logo_url = Some(format!(
                "/portal/{slug}/logo?v={}",
                &file.sha256[..12.min(file.sha256.len())]
            ));
        }
        Ok(Some(PublicPortal {
            org,
            slug: slug.to_owned(),
            branding,
            show_compliance_dashboard: settings.show_compliance_dashboard,
            show_assets: settings.show_assets,
        }))
    }

    /// Uploads the portal's logo (replacing any earlier upload; an https
    /// logo address stays saved but the upload is shown). The image type
    /// comes from the bytes; anything but PNG, JPEG, GIF or WebP up to
    /// [`super::LOGO_MAX_BYTES`] is refused naming `logo`.
    pub async fn set_portal_logo(
        &self,
        principal: &Principal,
        org: OrgId,
        bytes: Vec<u8>,
    ) -> Result<PortalSettings> {
        let grant = self
            .authorize_all(principal, org, Permission::OrgManage)
            .await?;
        let content_type = super::logo_type(&bytes)
            .map_err(|message| Error::Validation(vec![FieldError::new("logo", message)]))?;
        let file = LogoFile {
            blob: self.new_id(),
            content_type: content_type.to_owned(),
            size: bytes.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
        };
        // The bytes first: a record never points at a blob that is not
        // there. A failed commit leaves an unreachable blob, removed below.
        self.store()
            .put_blob_chunk(org, file.blob, 0, bytes)
            .await?;
        let result = self
            .change_logo(principal, &grant, org, Some(file.clone()))
            .await;
        match result {
            Ok((settings, old)) => {
                if let Some(old) = old {
                    let _ = self.store().delete_blob(org, old.blob).await;
                }
                Ok(settings)
            }
            Err(e) => {
                let _ = self.store().delete_blob(org, file.blob).await;
                Err(e)
            }
        }
    }

    /// Removes the uploaded logo (the https logo address, if any, shows again).
    pub async fn remove_portal_logo(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<PortalSettings> {
        let grant = self
            .authorize_all(principal, org, Permission::OrgManage)
            .await?;
        let (settings, old) = self.change_logo(principal, &grant, org, None).await?;
        if let Some(old) = old {
            let _ = self.store().delete_blob(org, old.blob).await;
        }
        Ok(settings)
    }

    /// Sets or clears the logo file of the settings, audited in the same
    /// commit; answers the settings and the file it replaced.
    async fn change_logo(
        &self,
        principal: &Principal,
        grant: &Grant,
        org: OrgId,
        file: Option<LogoFile>,
    ) -> Result<(PortalSettings, Option<LogoFile>)> {
        let stored = self.portal_record(org).await?;
        let mut after = match &stored {
            Some(s) => s.value.clone(),
            None => self.default_portal(org).await?,
        };
        let old = std::mem::replace(&mut after.branding.logo_file, file.clone());
        if old.is_none() && file.is_none() {
            return Ok((after, None));
        }
        after.updated_at = self.now();
        let mut changes = ChangeSet::new();
        match stored {
            Some(mut s) => {
                s.value = after.clone();
                changes.update(&s)?;
            }
            None => {
                changes.insert(&after)?;
            }
        }
        changes.audit(self.event(
            principal,
            grant,
            if file.is_some() {
                "portal.logo_uploaded"
            } else {
                "portal.logo_removed"
            },
            Target::new(PortalSettings::KIND, org),
            json!({
                "content_type": file.as_ref().map(|f| f.content_type.clone()),
                "size": file.as_ref().map(|f| f.size),
                "sha256": file.as_ref().map(|f| f.sha256.clone()),
            }),
        ));
        self.store().apply(changes).await?;
        Ok((after, old))
    }

    /// The uploaded logo of the enabled portal at `slug`: its type and
    /// bytes, for the public portal pages. `None` when there is none.
    pub async fn portal_logo(&self, slug: &str) -> Result<Option<(String, Vec<u8>)>> {
        let Some(public) = self.portal_by_slug(slug).await? else {
            return Ok(None);
        };
        let Some(settings) = self.portal_record(public.org).await? else {
            return Ok(None);
        };
        let Some(file) = settings.value.branding.logo_file else {
            return Ok(None);
        };
        let bytes = self
            .store()
            .blob_chunk(public.org, file.blob, 0)
            .await?
            .ok_or_else(|| Error::storage(format!("portal logo {} lost its bytes", file.blob)))?;
        Ok(Some((file.content_type, bytes)))
    }

    /// The org's uploaded portal logo, its type and bytes, for those who
    /// read its portal settings: the console shows it before the portal is
    /// enabled, when the portal's own address serves nothing. `None` when
    /// none is uploaded.
    pub async fn portal_logo_of(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<Option<(String, Vec<u8>)>> {
        self.authorize_all(principal, org, Permission::OrgRead)
            .await?;
        let Some(file) = self
            .portal_record(org)
            .await?
            .and_then(|s| s.value.branding.logo_file)
        else {
            return Ok(None);
        };
        let bytes = self
            .store()
            .blob_chunk(org, file.blob, 0)
            .await?
            .ok_or_else(|| Error::storage(format!("portal logo {} lost its bytes", file.blob)))?;
        Ok(Some((file.content_type, bytes)))
    }

    /// The public portal served at its own host name (a request's `Host`,
    /// with or without a port, read by [`host_of_request`]): `None` unless
    /// a portal is enabled with that host name and a slug, and its claim
    /// on the name is verified.
    pub async fn portal_by_hostname(&self, host: &str) -> Result<Option<PublicPortal>> {
        let Some(host) = host_of_request(host) else {
            return Ok(None);
        };
        let host = host.as_str();
        let Some(route) =
            store::find_unique::<PortalRoute>(self.store(), Scope::Platform, "hostname", host)
                .await?
        else {
            return Ok(None);
        };
        let org = route.value.org;
        let verified = self
            .claim_record(org)
            .await?
            .is_some_and(|c| c.value.is_verified() && c.value.hostname == host);
        if !verified {
            return Ok(None);
        }
        let Some(settings) = self.portal_record(org).await? else {
            return Ok(None);
        };
        match (settings.value.hostname.as_deref(), settings.value.slug) {
            (Some(own), Some(slug)) if own == host => self.portal_by_slug(&slug).await,
            _ => Ok(None),
        }
    }

    /// Whether `host` is a portal's verified host name, whatever the
    /// portal's state now (disabled, or its org archived): such a name is
    /// the client's (its DNS, its proxy) and must never serve the product
    /// itself, even when no portal is served there.
    pub async fn is_portal_hostname(&self, host: &str) -> Result<bool> {
        let Some(host) = host_of_request(host) else {
            return Ok(false);
        };
        let Some(route) =
            store::find_unique::<PortalRoute>(self.store(), Scope::Platform, "hostname", &host)
                .await?
        else {
            return Ok(false);
        };
        Ok(self
            .claim_record(route.value.org)
            .await?
            .is_some_and(|c| c.value.is_verified() && c.value.hostname == host))
    }

    /// The compliance dashboard of the org's portal: every adopted
    /// framework's score and requirement counts. `NotFound` unless the
    /// portal is enabled and shows the dashboard.
    ///
    /// Portal users (employees) hold `dashboard.portal` but not `gap.read`,
    /// so the scores are derived here without the gap analysis's own
    /// authorization, by the same pure functions, so the numbers match.
    pub async fn portal_dashboard(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<PortalDashboard> {
        self.authorize_all(principal, org, Permission::DashboardPortal)
            .await?;
        let shown = self
            .portal_record(org)
            .await?
            .is_some_and(|s| s.value.enabled && s.value.show_compliance_dashboard);
        if !shown {
            return Err(Error::NotFound {
                what: "portal dashboard",
            });
        }
        let (catalog, state) = (self.catalog_for(org).await?, self.org_state(org).await?);
        let now = self.now();
        let gaps = gap_analysis(&catalog, &evaluate(&catalog, &state, now));
        Ok(PortalDashboard {
            org,
            at: gaps.at,
            frameworks: gaps
                .summary
                .frameworks
                .into_iter()
                .map(|f| {
                    let changed = last_change(&catalog, &state, &f.framework, now);
                    DashboardFramework::of(f, changed)
                })
                .collect(),
        })
    }

    /// Whether the org's portal is enabled and shows people their assets.
    pub(crate) async fn portal_shows_assets(&self, org: OrgId) -> Result<bool> {
        Ok(self
            .portal_record(org)
            .await?
            .is_some_and(|s| s.value.enabled && s.value.show_assets))
    }

    /// The org's claim on its portal host name, with the TXT record that
    /// would prove it. `NotFound` when the settings name no host.
    pub async fn hostname_claim(&self, principal: &Principal, org: OrgId) -> Result<HostnameClaim> {
        self.authorize_all(principal, org, Permission::OrgManage)
            .await?;
        Ok(self.require_claim(org).await?.value)
    }

    /// Checks the org's host name claim against the TXT values the host
    /// observed at [`HostnameClaim::record_name`] (the core does no DNS).
    /// Proven, the claim is verified and the name joins the org's platform
    /// route, in one commit with the audit event; a name another org has
    /// verified first is `AlreadyExists` on `hostname`, and nothing is
    /// written. Not proven: a validation error on `hostname` saying which
    /// record to publish. A verified claim stays verified.
    pub async fn verify_hostname(
        &self,
        principal: &Principal,
        org: OrgId,
        observed_txt_values: &[String],
    ) -> Result<HostnameClaim> {
        let grant = self
            .authorize_all(principal, org, Permission::OrgManage)
            .await?;
        let claim = self.require_claim(org).await?;
        if claim.value.is_verified() {
            return Ok(claim.value);
        }
        if !claim.value.proven_by(observed_txt_values) {
            return Err(Error::Validation(vec![FieldError::new(
                "hostname",
                format!(
                    "not verified: publish a TXT record {} with the value {}",
                    claim.value.record_name(),
                    claim.value.record_value()
                ),
            )]));
        }
        self.mark_verified(principal, &grant, claim, VerifiedBy::Dns)
            .await
    }

    /// A platform operator verifies the org's host name claim without the
    /// DNS proof (the owner showed control some other way). Anyone else is
    /// `PermissionDenied`; the rest is as [`Self::verify_hostname`].
    pub async fn approve_hostname(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> Result<HostnameClaim> {
        let grant = self
            .authorize_all(principal, org, Permission::OrgManage)
            .await?;
        let operator = store::load::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .is_some_and(|u| u.value.super_admin);
        if !operator {
            return Err(Error::PermissionDenied {
                permission: "platform.operator",
            });
        }
        let claim = self.require_claim(org).await?;
        if claim.value.is_verified() {
            return Ok(claim.value);
        }
        self.mark_verified(principal, &grant, claim, VerifiedBy::Operator)
            .await
    }

    async fn mark_verified(
        &self,
        principal: &Principal,
        grant: &Grant,
        claim: Versioned<HostnameClaim>,
        by: VerifiedBy,
    ) -> Result<HostnameClaim> {
        let org = claim.value.org;
        let verified = claim.value.verified(by, self.now());
        let settings = self.portal_record(org).await?.ok_or(Error::NotFound {
            what: "hostname claim",
        })?;
        let mut changes = ChangeSet::new();
        changes.update(&Versioned {
            version: claim.version,
            value: verified.clone(),
        })?;
        // The settings are written back unchanged so that a concurrent
        // change of the host name makes this commit conflict instead of
        // routing a name the settings no longer hold.
        changes.update(&settings)?;
        self.route_change(&mut changes, &settings.value, true)
            .await?;
        changes.audit(self.event(
            principal,
            grant,
            "portal.hostname_verified",
            Target::new(HostnameClaim::KIND, org),
            json!({ "hostname": verified.hostname, "by": by }),
        ));
        self.store().apply(changes).await.map_err(address_taken)?;
        Ok(verified)
    }

    async fn claim_record(&self, org: OrgId) -> Result<Option<Versioned<HostnameClaim>>> {
        store::load::<HostnameClaim>(self.store(), Scope::Org(org), org.0).await
    }

    async fn require_claim(&self, org: OrgId) -> Result<Versioned<HostnameClaim>> {
        self.claim_record(org).await?.ok_or(Error::NotFound {
            what: "hostname claim",
        })
    }

    /// A pending claim on `hostname` with a fresh token from the injected
    /// entropy.
    fn new_claim(&self, org: OrgId, hostname: &str) -> Result<HostnameClaim> {
        let mut bytes = [0u8; 32];
        self.entropy().fill(&mut bytes)?;
        Ok(HostnameClaim::new(
            org,
            hostname.to_owned(),
            hex::encode(bytes),
            self.now(),
        ))
    }

    async fn portal_record(&self, org: OrgId) -> Result<Option<Versioned<PortalSettings>>> {
        store::load::<PortalSettings>(self.store(), Scope::Org(org), org.0).await
    }

    /// The settings of an org that never saved any, dated from the org's
    /// creation (they have been its settings since then).
    async fn default_portal(&self, org: OrgId) -> Result<PortalSettings> {
        let organization =
            store::require::<Organization>(self.store(), Scope::Platform, org.0).await?;
        Ok(PortalSettings::defaults(org, organization.value.created_at))
    }

    /// Brings the org's platform route in line with `settings`, in the same
    /// change set: the address is claimed, moved or released atomically
    /// with the settings that name it.
    async fn route_change(
        &self,
        changes: &mut ChangeSet,
        settings: &PortalSettings,
        hostname_verified: bool,
    ) -> Result<()> {
        let current =
            store::load::<PortalRoute>(self.store(), Scope::Platform, settings.org.0).await?;
        match (current, settings.route(hostname_verified)) {
            (None, None) => {}
            (None, Some(route)) => {
                changes.insert(&route)?;
            }
            (Some(current), Some(route)) if current.value != route => {
                changes.update(&Versioned {
                    version: current.version,
                    value: route,
                })?;
            }
            (Some(_), Some(_)) => {}
            (Some(current), None) => {
                changes.delete(&current);
            }
        }
        Ok(())
    }
}

/// A taken `slug` or `hostname` entry is another org's address. Any other
/// `AlreadyExists` here is a concurrent first save of this org's own
/// records (same ids): the caller should reload and retry.
fn address_taken(error: Error) -> Error {
    match error {
        Error::AlreadyExists { field, .. } if field == "slug" || field == "hostname" => {
            Error::AlreadyExists {
                what: "portal",
                field,
            }
        }
        Error::AlreadyExists { .. } => Error::Conflict {
            what: PortalSettings::NAME.to_owned(),
        },
        other => other,
    }
}
