//! An organization's security settings: how long its members' sign-in
//! sessions may last, and whether they must use MFA (with a grace period).
//!
//! One [`OrgSecurity`] record per org (id = the org's uuid, like the portal
//! settings); an org that never saved any has [`OrgSecurity::defaults`]:
//! no session limit of its own (the server's lifetimes apply) and no MFA
//! requirement. Members who may read the org read them; changing them needs
//! [`Permission::OrgManage`] and is audited in the org's chain.
//!
//! The session limit is applied when a user signs in
//! ([`Regentra::session_limit`]): the shortest `session_hours` of every org
//! the user is a member of bounds the session's absolute lifetime. An MSP's
//! setting so binds its staff wherever they act, since their membership is
//! in the MSP. The MFA fields are stored and validated here and enforced by
//! the sign-in's MFA step.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::audit::Target;
use crate::error::{Error, FieldError, Result};
use crate::ids::{OrgId, UserId};
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::store::{self, Answers, ChangeSet, Entity, Read, Scope};
use crate::tenancy::{Membership, Organization};

/// The range of `session_hours`: one hour to thirty days.
pub const SESSION_HOURS: std::ops::RangeInclusive<u32> = 1..=720;

/// The range of `mfa_grace_days`.
pub const MFA_GRACE_DAYS: std::ops::RangeInclusive<u32> = 0..=90;

/// One org's security settings, as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSecurity {
    pub org: OrgId,
    /// The longest a member's sign-in session lasts, in hours (1 to 720);
    /// `None`: the server's lifetimes.
    pub session_hours: Option<u32>,
    /// Whether members must sign in with a second factor.
    pub mfa_required: bool,
    /// Days a member without MFA may still sign in once it is required
    /// (0 to 90), counted from `mfa_required_since`.
    pub mfa_grace_days: u32,
    /// When MFA last became required (`None` while it is not): where the
    /// grace period starts.
    pub mfa_required_since: Option<DateTime<Utc>>,
    /// When the settings were last changed (`None`: never saved).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Entity for OrgSecurity {
    const KIND: &'static str = "org_security";
    const NAME: &'static str = "security settings";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    /// One record per org: the org's own id names it, so two first writes
    /// collide instead of making two records.
    fn id(&self) -> Uuid {
        self.org.0
    }
}

/// The settings an admin saves, whole (a `PUT`): what is left out takes
/// its default.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuritySettings {
    pub session_hours: Option<u32>,
    pub mfa_required: bool,
    pub mfa_grace_days: u32,
}

impl SecuritySettings {
    /// Every field out of range, at once.
    pub fn check(&self) -> Result<()> {
        let mut errors = Vec::new();
        if let Some(hours) = self.session_hours
            && !SESSION_HOURS.contains(&hours)
        {
            errors.push(FieldError::new(
                "session_hours",
                "must be between 1 and 720 (1 hour to 30 days), or null for the server's lifetime",
            ));
        }
        if !MFA_GRACE_DAYS.contains(&self.mfa_grace_days) {
            errors.push(FieldError::new(
                "mfa_grace_days",
                "must be between 0 and 90",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }
}

impl OrgSecurity {
    /// What an org that never saved its settings has.
    pub fn defaults(org: OrgId) -> Self {
        Self {
            org,
            session_hours: None,
            mfa_required: false,
            mfa_grace_days: 0,
            mfa_required_since: None,
            updated_at: None,
        }
    }

    /// The settings as an admin would save them.
    pub fn settings(&self) -> SecuritySettings {
        SecuritySettings {
            session_hours: self.session_hours,
            mfa_required: self.mfa_required,
            mfa_grace_days: self.mfa_grace_days,
        }
    }

    /// These settings changed to `to` at `now`: the grace period starts
    /// when MFA becomes required, and is forgotten when it no longer is.
    fn changed(&self, to: SecuritySettings, now: DateTime<Utc>) -> Self {
        let mfa_required_since = match (self.mfa_required, to.mfa_required) {
            (_, false) => None,
            (false, true) => Some(now),
            (true, true) => self.mfa_required_since,
        };
        Self {
            org: self.org,
            session_hours: to.session_hours,
            mfa_required: to.mfa_required,
            mfa_grace_days: to.mfa_grace_days,
            mfa_required_since,
            updated_at: Some(now),
        }
    }

    /// The longest session this org allows, if it sets one.
    pub fn session_limit(&self) -> Option<Duration> {
        self.session_hours.map(|h| Duration::hours(i64::from(h)))
    }

    /// Until when a member without MFA may still sign in: `None` when MFA
    /// is not required.
    pub fn mfa_deadline(&self) -> Option<DateTime<Utc>> {
        if !self.mfa_required {
            return None;
        }
        let since = self.mfa_required_since.or(self.updated_at)?;
        Some(since + Duration::days(i64::from(self.mfa_grace_days)))
    }
}

impl Regentra {
    /// The org's security settings, or the defaults if it never saved any.
    /// Any member who may read the org may read them.
    pub async fn org_security(&self, principal: &Principal, org: OrgId) -> Result<OrgSecurity> {
        self.authorize(principal, org, Permission::OrgRead).await?;
        self.security_of(org).await
    }

    /// Saves the org's security settings whole. Every field out of range
    /// is reported at once and nothing is written; saving what is already
    /// there writes nothing, not even an audit event. Needs
    /// [`Permission::OrgManage`]; the change is audited
    /// (`org.security_updated`, with the settings before and after).
    pub async fn set_org_security(
        &self,
        principal: &Principal,
        org: OrgId,
        settings: SecuritySettings,
    ) -> Result<OrgSecurity> {
        let grant = self
            .authorize_all(principal, org, Permission::OrgManage)
            .await?;
        settings.check()?;
        let stored = store::load::<OrgSecurity>(self.store(), Scope::Org(org), org.0).await?;
        let before = stored
            .as_ref()
            .map_or_else(|| OrgSecurity::defaults(org), |s| s.value.clone());
        if before.settings() == settings {
            return Ok(before);
        }
        let after = before.changed(settings, self.now());
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
            &grant,
            "org.security_updated",
            Target::new(Organization::KIND, org),
            json!({ "before": before.settings(), "after": settings }),
        ));
        self.store().apply(changes).await?;
        Ok(after)
    }

    /// An org's security settings for the host (the sign-in and its MFA
    /// step), with no caller to authorize: the defaults if it never saved
    /// any.
    pub async fn security_of(&self, org: OrgId) -> Result<OrgSecurity> {
        Ok(
            store::load::<OrgSecurity>(self.store(), Scope::Org(org), org.0)
                .await?
                .map_or_else(|| OrgSecurity::defaults(org), |s| s.value),
        )
    }

    /// The security settings of every org `user` is a member of (an MSP's
    /// staff: the MSP's, which also bind them in its clients), for the
    /// sign-in. Two reads: the memberships, then every org's settings in
    /// one batch.
    pub async fn member_security(&self, user: UserId) -> Result<Vec<OrgSecurity>> {
        let memberships =
            store::find_all::<Membership>(self.store(), Scope::Platform, "user", &user.to_string())
                .await?;
        if memberships.is_empty() {
            return Ok(Vec::new());
        }
        let reads = memberships
            .iter()
            .map(|m| Read::Get {
                scope: Scope::Org(m.value.org),
                kind: OrgSecurity::KIND.to_owned(),
                id: m.value.org.0,
            })
            .collect();
        let mut found = Answers::new(self.store().read(reads).await?);
        let mut settings = Vec::with_capacity(memberships.len());
        for membership in memberships {
            let org = membership.value.org;
            settings.push(
                found
                    .next()?
                    .one::<OrgSecurity>()?
                    .map_or_else(|| OrgSecurity::defaults(org), |s| s.value),
            );
        }
        Ok(settings)
    }

    /// How long a sign-in session of `user` may last at most: the server's
    /// absolute lifetime, shortened by the `session_hours` of every org the
    /// user belongs to.
    pub async fn session_limit(&self, user: UserId) -> Result<Duration> {
        let orgs = self.member_security(user).await?;
        Ok(shortest_session(self.token_lifetimes().absolute(), &orgs))
    }
}

/// The shortest of the server's `absolute` lifetime and every org's
/// session limit.
pub fn shortest_session(absolute: Duration, orgs: &[OrgSecurity]) -> Duration {
    orgs.iter()
        .filter_map(OrgSecurity::session_limit)
        .fold(absolute, Duration::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrgId {
        OrgId(Uuid::now_v7())
    }

    fn fields(result: Result<()>) -> Vec<String> {
        match result {
            Ok(()) => Vec::new(),
            Err(Error::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let ok = |hours, grace| SecuritySettings {
            session_hours: hours,
            mfa_required: true,
            mfa_grace_days: grace,
        };
        for good in [ok(None, 0), ok(Some(1), 90), ok(Some(720), 14)] {
            assert_eq!(fields(good.check()), Vec::<String>::new(), "{good:?}");
        }
        assert_eq!(fields(ok(Some(0), 0).check()), ["session_hours"]);
        assert_eq!(fields(ok(Some(721), 0).check()), ["session_hours"]);
        assert_eq!(fields(ok(None, 91).check()), ["mfa_grace_days"]);
        assert_eq!(
            fields(ok(Some(0), 91).check()),
            ["session_hours", "mfa_grace_days"],
            "every field at once"
        );
    }

    #[test]
    fn the_shortest_session_wins() {
        let week = Duration::days(7);
        let with = |hours| OrgSecurity {
            session_hours: hours,
            ..OrgSecurity::defaults(org())
        };
        assert_eq!(shortest_session(week, &[]), week);
        assert_eq!(shortest_session(week, &[with(None)]), week);
        assert_eq!(
            shortest_session(week, &[with(Some(720)), with(None)]),
            week,
            "an org may not lengthen the server's lifetime"
        );
        assert_eq!(
            shortest_session(week, &[with(Some(48)), with(Some(8)), with(None)]),
            Duration::hours(8)
        );
    }

    #[test]
    fn the_grace_period_starts_when_mfa_becomes_required() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let later = t0 + Duration::days(3);
        let off = OrgSecurity::defaults(org());
        assert_eq!(off.mfa_deadline(), None);
        let required = SecuritySettings {
            session_hours: None,
            mfa_required: true,
            mfa_grace_days: 14,
        };
        let on = off.changed(required, t0);
        assert_eq!(on.mfa_required_since, Some(t0));
        assert_eq!(on.mfa_deadline(), Some(t0 + Duration::days(14)));
        // Changing the grace days keeps the start.
        let shorter = on.changed(
            SecuritySettings {
                mfa_grace_days: 7,
                ..required
            },
            later,
        );
        assert_eq!(shorter.mfa_deadline(), Some(t0 + Duration::days(7)));
        // Turned off and on again, it starts over.
        let again = shorter
            .changed(SecuritySettings::default(), later)
            .changed(required, later);
        assert_eq!(again.mfa_deadline(), Some(later + Duration::days(14)));
    }
}
