//! Multi-factor authentication: TOTP (RFC 6238) and recovery codes.
//!
//! A second factor is a secret shared with the user's authenticator app.
//! Enrolment draws a fresh 160-bit secret from the injected entropy and
//! keeps it pending until the user proves their app has it by confirming a
//! valid code; only then is it active, and the user gets ten recovery codes,
//! shown once and stored as SHA-256 (they are random and long, so a fast
//! hash is enough). Codes are checked against the injected clock: SHA-1, six
//! digits, 30-second steps, one step of skew either way, and a step once
//! accepted is never accepted again (the last one is stored), so a code seen
//! over a shoulder cannot be replayed.
//!
//! The TOTP secret itself has to be kept as it is (the server computes the
//! codes from it), in a platform record apart from the user: no view of a
//! user carries it.
//!
//! Signing in with a second factor takes two steps: a right password for an
//! enrolled account gives a short-lived, single-use challenge
//! ([`Regentra::begin_mfa_challenge`]) instead of a session, and the code
//! (or a recovery code) completes it ([`Regentra::complete_mfa_challenge`]).
//! A challenge dies after [`CHALLENGE_ATTEMPTS`] wrong codes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, Totp};
use uuid::Uuid;

use crate::audit::Target;
use crate::auth::{Credential, verify_password};
use crate::error::{Error, Result};
use crate::ids::{OrgId, UserId};
use crate::notify::NotificationKind;
use crate::rbac::{Permission, Via};
use crate::service::{Principal, Regentra};
use crate::store::{self, Answers, ChangeSet, Entity, IndexEntry, Read, Scope, Versioned};
use crate::tenancy::security::OrgSecurity;
use crate::tenancy::service::{OrgAccess, Reach};
use crate::tenancy::{Membership, User};

/// The issuer authenticator apps show next to the account.
pub const ISSUER: &str = "Regentra";

/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// How long a sign-in challenge lives.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);

/// Wrong codes a challenge takes before it dies (the password step must
/// then be passed again, under the host's login limits).
pub const CHALLENGE_ATTEMPTS: u32 = 3;

/// What every challenge secret starts with.
pub const CHALLENGE_PREFIX: &str = "rgc_";

/// RFC 6238's parameters, as every authenticator app reads them.
const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
const SKEW_STEPS: u64 = 1;
/// RFC 4226's recommended secret length (160 bits).
const SECRET_BYTES: usize = 20;

/// Recovery codes: four groups of four from a 32-letter alphabet without
/// `l` and `o` (80 bits), grouped for reading aloud.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
const RECOVERY_GROUPS: usize = 4;
const RECOVERY_GROUP_LEN: usize = 4;

/// A user's second factor: pending until confirmed with a valid code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaEnrollment {
    pub user: UserId,
    /// The shared secret, base32 (as authenticator apps take it).
    pub secret: String,
    pub started_at: DateTime<Utc>,
    /// `None` while pending: the secret is not yet a factor.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last TOTP step accepted: no step at or before it is accepted again.
    pub last_step: Option<u64>,
    /// Hex SHA-256 of each unused recovery code (normalized).
    pub recovery_codes: Vec<String>,
}

impl MfaEnrollment {
    pub fn is_active(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

impl Entity for MfaEnrollment {
    const KIND: &'static str = "mfa_enrollment";
    const NAME: &'static str = "mfa";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.user.0
    }
}

/// The second step of a sign-in: issued after the password, single use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaChallenge {
    pub id: Uuid,
    pub user: UserId,
    /// Hex SHA-256 of the secret handed to the client.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Wrong codes so far.
    pub failures: u32,
}

impl Entity for MfaChallenge {
    const KIND: &'static str = "mfa_challenge";
    const NAME: &'static str = "challenge";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry::unique("hash", &self.hash),
            IndexEntry::multi("user", self.user.to_string()),
        ]
    }
}

/// What a user sees of their own second factor.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MfaStatus {
    /// Whether a confirmed second factor protects the account.
    pub enabled: bool,
    /// Whether an enrolment was started and awaits its confirming code.
    pub pending: bool,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Unused recovery codes.
    pub recovery_codes_left: usize,
}

/// A started enrolment: what the user's authenticator app needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaSetup {
    /// Base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://totp/Regentra:<email>?secret=...&issuer=Regentra`, for a QR code.
    pub uri: String,
}

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    Totp,
    RecoveryCode,
}

/// The TOTP generator for a base32 secret.
fn totp(secret: &str, account: &str) -> Result<Totp> {
    let bytes = Secret::try_from_base32(secret)
        .map_err(|_| Error::storage("a stored MFA secret is not base32"))?;
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECONDS)
        .with_skew(SKEW_STEPS as u16)
        .with_secret(bytes)
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| Error::storage(format!("TOTP setup failed: {e}")))
}

/// The time step `now` falls in.
pub fn time_step(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0) / STEP_SECONDS
}

/// Whether `code` is six digits (spaces ignored): a TOTP code rather than a
/// recovery code.
fn totp_shaped(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// The step a TOTP `code` is valid for at `now` (this step or one either
/// side), newer than `last_step`; `None` when it is wrong, from another
/// time, or a replay. Compared in constant time.
pub fn matching_step(
    secret: &str,
    code: &str,
    now: DateTime<Utc>,
    last_step: Option<u64>,
) -> Result<Option<u64>> {
    let Some(code) = totp_shaped(code) else {
        return Ok(None);
    };
    let generator = totp(secret, "")?;
    let current = time_step(now);
    let mut found = None;
    for step in current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS {
        if last_step.is_some_and(|last| step <= last) {
            continue;
        }
        let expected = generator.generate(step * STEP_SECONDS).to_string();
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    Ok(found)
}

/// A recovery code as stored: lowercase, without separators or spaces.
fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The stored form of a recovery code or challenge secret.
fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn recovery_code_hash(code: &str) -> String {
    digest(&normalize_recovery_code(code))
}

/// The index in `hashes` of the recovery code `code`, compared in constant time.
fn recovery_code_index(hashes: &[String], code: &str) -> Option<usize> {
    let normalized = normalize_recovery_code(code);
    if normalized.len() != RECOVERY_GROUPS * RECOVERY_GROUP_LEN {
        return None;
    }
    let hash = digest(&normalized);
    let mut found = None;
    for (i, stored) in hashes.iter().enumerate() {
        if bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) && found.is_none() {
            found = Some(i);
        }
    }
    found
}

/// Until when a member who joined at `joined` may work in an org with
/// `security` without a second factor: the org's grace period, counted from
/// when MFA became required or from when the member joined, whichever is
/// later (someone who joins later gets the whole grace period too). `None`
/// when the org does not require MFA.
pub fn member_mfa_deadline(security: &OrgSecurity, joined: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !security.mfa_required {
        return None;
    }
    let since = security.mfa_required_since.or(security.updated_at)?;
    Some(since.max(joined) + Duration::days(i64::from(security.mfa_grace_days)))
}

/// An org that requires the caller to use MFA, and by when.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MfaRequirement {
    pub org_id: OrgId,
    pub org_name: String,
    /// When the caller's grace period ends (or ended): from then on the
    /// org refuses them until they enrol.
    pub deadline: DateTime<Utc>,
}

impl Regentra {
    /// The orgs the caller can act in that require MFA, with the end of
    /// the caller's grace period in each, soonest first (whether or not
    /// the caller has MFA: enrolled, they are not refused). The platform
    /// operator's reach is not a membership: it is not counted. Three
    /// reads, however many orgs.
    pub async fn mfa_requirements(&self, principal: &Principal) -> Result<Vec<MfaRequirement>> {
        let reach = self.reach(principal.user).await?;
        self.requirements_in(&reach).await
    }

    /// [`Regentra::mfa_requirements`] over what the caller reaches: the
    /// security settings of every org they joined (directly, or through
    /// the MSP of a client) in one batch.
    pub(crate) async fn requirements_in(&self, reach: &Reach) -> Result<Vec<MfaRequirement>> {
        let joined_at = |org: OrgId| reach.membership(org).map(|m| m.created_at);
        let joined: Vec<(OrgAccess, DateTime<Utc>)> = reach
            .organizations()
            .into_iter()
            .filter_map(|access| {
                let joined = access
                    .roles
                    .iter()
                    .filter_map(|grant| match grant.via {
                        Via::Membership => joined_at(access.org.id),
                        Via::MspDelegation { .. } => access.org.parent.and_then(joined_at),
                        Via::Platform => None,
                    })
                    .min()?;
                Some((access, joined))
            })
            .collect();
        if joined.is_empty() {
            return Ok(Vec::new());
        }
        let reads = joined
            .iter()
            .map(|(access, _)| Read::Get {
                scope: Scope::Org(access.org.id),
                kind: OrgSecurity::KIND.to_owned(),
                id: access.org.id.0,
            })
            .collect();
        let mut found = Answers::new(self.store().read(reads).await?);
        let mut required = Vec::new();
        for (access, joined) in joined {
            let security = found
                .next()?
                .one::<OrgSecurity>()?
                .map_or_else(|| OrgSecurity::defaults(access.org.id), |s| s.value);
            if let Some(deadline) = member_mfa_deadline(&security, joined) {
                required.push(MfaRequirement {
                    org_id: access.org.id,
                    org_name: access.org.name,
                    deadline,
                });
            }
        }
        required.sort_by_key(|r| r.deadline);
        Ok(required)
    }

    /// Ten fresh recovery codes (`abcd-efgh-jkmn-pqrs`) and their stored hashes.
    fn new_recovery_codes(&self) -> Result<(Vec<String>, Vec<String>)> {
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let mut bytes = [0u8; RECOVERY_GROUPS * RECOVERY_GROUP_LEN];
            self.entropy().fill(&mut bytes)?;
            let letters: Vec<char> = bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 32)]))
                .collect();
            let code = letters
                .chunks(RECOVERY_GROUP_LEN)
                .map(|group| group.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-");
            codes.push(code);
        }
        let hashes = codes.iter().map(|c| recovery_code_hash(c)).collect();
        Ok((codes, hashes))
    }

    async fn enrollment(&self, user: UserId) -> Result<Option<Versioned<MfaEnrollment>>> {
        store::load::<MfaEnrollment>(self.store(), Scope::Platform, user.0).await
    }

    async fn active_enrollment(
        &self,
        user: UserId,
        field: &str,
    ) -> Result<Versioned<MfaEnrollment>> {
        match self.enrollment(user).await? {
            Some(e) if e.value.is_active() => Ok(e),
            _ => Err(Error::invalid(
                field,
                "multi-factor authentication is not enabled",
            )),
        }
    }

    /// The caller's second factor: enabled, pending, recovery codes left.
    pub async fn mfa_status(&self, principal: &Principal) -> Result<MfaStatus> {
        store::require::<User>(self.store(), Scope::Platform, principal.user.0).await?;
        let enrollment = self.enrollment(principal.user).await?.map(|e| e.value);
        Ok(MfaStatus {
            enabled: enrollment.as_ref().is_some_and(MfaEnrollment::is_active),
            pending: enrollment.as_ref().is_some_and(|e| !e.is_active()),
            confirmed_at: enrollment.as_ref().and_then(|e| e.confirmed_at),
            recovery_codes_left: enrollment.map_or(0, |e| e.recovery_codes.len()),
        })
    }

    /// Starts enrolling the caller: a fresh secret, pending until
    /// [`Regentra::confirm_mfa`] sees a valid code from it. Starting again
    /// replaces a pending secret; an active factor must be disabled first
    /// (refused naming `mfa`).
    pub async fn start_mfa_enrollment(&self, principal: &Principal) -> Result<MfaSetup> {
        let user = store::require::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .value;
        let existing = self.enrollment(user.id).await?;
        if existing.as_ref().is_some_and(|e| e.value.is_active()) {
            return Err(Error::invalid(
                "mfa",
                "already enabled: disable it first to enrol a new authenticator",
            ));
        }
        let mut bytes = [0u8; SECRET_BYTES];
        self.entropy().fill(&mut bytes)?;
        let secret = Secret::new_stack(bytes).to_base32();
        let uri = totp(&secret, &user.email)?
            .to_url()
            .map_err(|e| Error::invalid("email", format!("cannot name a TOTP account: {e}")))?;
        let enrollment = MfaEnrollment {
            user: user.id,
            secret: secret.clone(),
            started_at: self.now(),
            confirmed_at: None,
            last_step: None,
            recovery_codes: Vec::new(),
        };
        let mut changes = ChangeSet::new();
        match existing {
            Some(mut pending) => {
                pending.value = enrollment;
                changes.update(&pending)?;
            }
            None => {
                changes.insert(&enrollment)?;
            }
        }
        changes.audit(self.platform_event(
            Some(principal),
            "mfa.enrollment_started",
            Target::new(User::KIND, user.id),
            json!({}),
        ));
        self.store().apply(changes).await?;
        Ok(MfaSetup { secret, uri })
    }

    /// Confirms the caller's pending enrolment with a current code from
    /// their app: the factor is active from now on. Returns the recovery
    /// codes, shown this once. A wrong code is refused naming `code`.
    pub async fn confirm_mfa(&self, principal: &Principal, code: &str) -> Result<Vec<String>> {
        let mut user =
            store::require::<User>(self.store(), Scope::Platform, principal.user.0).await?;
        let Some(mut enrollment) = self.enrollment(user.value.id).await? else {
            return Err(Error::invalid("code", "start an enrolment first"));
        };
        if enrollment.value.is_active() {
            return Err(Error::invalid(
                "code",
                "multi-factor authentication is already enabled",
            ));
        }
        let now = self.now();
        let Some(step) = matching_step(&enrollment.value.secret, code, now, None)? else {
            return Err(Error::invalid(
                "code",
                "does not match: enter the current 6-digit code from your authenticator app",
            ));
        };
        let (codes, hashes) = self.new_recovery_codes()?;
        enrollment.value.confirmed_at = Some(now);
        enrollment.value.last_step = Some(step);
        enrollment.value.recovery_codes = hashes;
        user.value.mfa = true;
        let mut changes = ChangeSet::new();
        changes.update(&enrollment)?.update(&user)?;
        // Sessions and tokens made with the password alone (one of them
        // may be an intruder's) would otherwise pass every MFA check from
        // now on: all but this request's end here.
        let mut revoked = 0;
        for mut token in store::find_all::<crate::auth::ApiToken>(
            self.store(),
            Scope::Platform,
            "user",
            &user.value.id.to_string(),
        )
        .await?
        {
            if token.value.revoked_at.is_none() && Some(token.value.id) != principal.token {
                token.value.revoked_at = Some(now);
                changes.update(&token)?;
                revoked += 1;
            }
        }
        changes.audit(self.platform_event(
            Some(principal),
            "mfa.enabled",
            Target::new(User::KIND, user.value.id),
            json!({ "recovery_codes": codes.len(), "tokens_revoked": revoked }),
        ));
        self.store().apply(changes).await?;
        Ok(codes)
    }

    /// Checks a TOTP code (or, when `recovery` allows, a recovery code)
    /// against an active enrolment, and records its use in `enrollment`:
    /// the step, or the recovery code gone. `None`: wrong.
    fn prove(
        &self,
        enrollment: &mut MfaEnrollment,
        code: &str,
        recovery: bool,
    ) -> Result<Option<Proof>> {
        if let Some(step) =
            matching_step(&enrollment.secret, code, self.now(), enrollment.last_step)?
        {
            enrollment.last_step = Some(step);
            return Ok(Some(Proof::Totp));
        }
        if recovery && let Some(i) = recovery_code_index(&enrollment.recovery_codes, code) {
            enrollment.recovery_codes.remove(i);
            return Ok(Some(Proof::RecoveryCode));
        }
        Ok(None)
    }

    /// Turns off the caller's second factor, given a current code (or a
    /// recovery code) or the account's password: a stolen session alone
    /// cannot weaken the account. A wrong proof is refused naming the
    /// field given (`code` or `password`); neither given names `code`.
    pub async fn disable_mfa(
        &self,
        principal: &Principal,
        code: Option<&str>,
        password: Option<&str>,
    ) -> Result<()> {
        let mut user =
            store::require::<User>(self.store(), Scope::Platform, principal.user.0).await?;
        let field = if code.is_some() { "code" } else { "password" };
        let mut enrollment = self.active_enrollment(user.value.id, field).await?;
        let proof = match (code, password) {
            (Some(code), _) => match self.prove(&mut enrollment.value, code, true)? {
                Some(Proof::Totp) => "code",
                Some(Proof::RecoveryCode) => "recovery_code",
                None => return Err(Error::invalid("code", "does not match")),
            },
            (None, Some(password)) => {
                let credential =
                    store::load::<Credential>(self.store(), Scope::Platform, user.value.id.0)
                        .await?;
                if !credential.is_some_and(|c| verify_password(password, &c.value.password_hash)) {
                    return Err(Error::invalid("password", "does not match"));
                }
                "password"
            }
            (None, None) => {
                return Err(Error::invalid(
                    "code",
                    "required: a current code (or the password) proves it is you",
                ));
            }
        };
        user.value.mfa = false;
        let mut changes = ChangeSet::new();
        changes.delete(&enrollment).update(&user)?;
        changes.audit(self.platform_event(
            Some(principal),
            "mfa.disabled",
            Target::new(User::KIND, user.value.id),
            json!({ "proof": proof }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// New recovery codes for the caller, replacing every unused one, given
    /// a current TOTP code (refused naming `code`). Shown this once.
    pub async fn regenerate_recovery_codes(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<Vec<String>> {
        let mut enrollment = self.active_enrollment(principal.user, "code").await?;
        if self.prove(&mut enrollment.value, code, false)?.is_none() {
            return Err(Error::invalid("code", "does not match"));
        }
        let (codes, hashes) = self.new_recovery_codes()?;
        enrollment.value.recovery_codes = hashes;
        let mut changes = ChangeSet::new();
        changes.update(&enrollment)?;
        changes.audit(self.platform_event(
            Some(principal),
            "mfa.recovery_codes_regenerated",
            Target::new(User::KIND, principal.user),
            json!({ "recovery_codes": codes.len() }),
        ));
        self.store().apply(changes).await?;
        Ok(codes)
    }

    /// An admin of `org` (`members.manage`) removes a member's second
    /// factor, for a member who lost their device. Recorded in the org's
    /// chain, and the member is told in their inbox.
    ///
    /// The factor protects the account everywhere, so an admin of one
    /// tenant may not remove it from a person who is also a member of an
    /// org they do not administer (refused naming `user_id`), nor from a
    /// platform operator; the platform operator may always.
    pub async fn reset_member_mfa(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
    ) -> Result<()> {
        let grant = self
            .authorize_all(principal, org, Permission::MembersManage)
            .await?;
        if self.membership(org, user).await?.is_none() {
            return Err(Error::NotFound {
                what: Membership::NAME,
            });
        }
        let mut member = store::require::<User>(self.store(), Scope::Platform, user.0).await?;
        let operator = store::load::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .is_some_and(|u| u.value.super_admin);
        if !operator {
            if member.value.super_admin {
                return Err(Error::invalid(
                    "user_id",
                    "is a platform operator: only the platform operator can reset their MFA",
                ));
            }
            let memberships = store::find_all::<Membership>(
                self.store(),
                Scope::Platform,
                "user",
                &user.to_string(),
            )
            .await?;
            for other in memberships.iter().filter(|m| m.value.org != org) {
                let administers = self
                    .authorize_all(principal, other.value.org, Permission::MembersManage)
                    .await
                    .is_ok();
                if !administers {
                    return Err(Error::invalid(
                        "user_id",
                        "is also a member of an organization you do not administer: ask the \
                         platform operator to reset their MFA",
                    ));
                }
            }
        }
        let Some(enrollment) = self.enrollment(user).await? else {
            return Err(Error::invalid(
                "user_id",
                "has no multi-factor authentication to reset",
            ));
        };
        let was_active = enrollment.value.is_active();
        member.value.mfa = false;
        let mut changes = ChangeSet::new();
        changes.delete(&enrollment).update(&member)?;
        changes.insert(&self.notification(
            org,
            Some(user),
            NotificationKind::MfaReset,
            json!({ "org": org, "by": principal.user }),
        ))?;
        changes.audit(self.event(
            principal,
            &grant,
            "mfa.reset",
            Target::new(User::KIND, user),
            json!({ "was_active": was_active }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// After a right password: when the account has an active second
    /// factor, a challenge secret (`rgc_...`, valid [`CHALLENGE_LIFETIME`],
    /// single use) for [`Regentra::complete_mfa_challenge`], and no session
    /// yet; `None` when the password is all the account needs. The user's
    /// expired challenges are cleared in the same commit.
    pub async fn begin_mfa_challenge(&self, user: UserId) -> Result<Option<String>> {
        let account = store::require::<User>(self.store(), Scope::Platform, user.0).await?;
        if !account.value.mfa {
            return Ok(None);
        }
        let now = self.now();
        let mut bytes = [0u8; 32];
        self.entropy().fill(&mut bytes)?;
        let secret = format!("{CHALLENGE_PREFIX}{}", hex::encode(bytes));
        let challenge = MfaChallenge {
            id: self.new_id(),
            user,
            hash: digest(&secret),
            created_at: now,
            expires_at: now + CHALLENGE_LIFETIME,
            failures: 0,
        };
        let mut changes = ChangeSet::new();
        for stale in store::find_all::<MfaChallenge>(
            self.store(),
            Scope::Platform,
            "user",
            &user.to_string(),
        )
        .await?
        {
            if stale.value.expires_at <= now {
                changes.delete(&stale);
            }
        }
        changes.insert(&challenge)?;
        changes.audit(self.platform_event(
            Some(&Principal::new(user)),
            "mfa.challenge_issued",
            Target::new(User::KIND, user),
            json!({ "expires_at": challenge.expires_at }),
        ));
        self.store().apply(changes).await?;
        Ok(Some(secret))
    }

    /// The account a live challenge belongs to (`None`: unknown, expired or
    /// dead), so the host can apply its per-account limits before the code
    /// is checked. Changes nothing.
    pub async fn mfa_challenge_user(&self, secret: &str) -> Result<Option<UserId>> {
        Ok(self.live_challenge(secret).await?.map(|c| c.value.user))
    }

    /// Ends, in `changes`, every sign-in of `user` still waiting for its
    /// second factor: when the password changes, one begun with the old
    /// password must not be finished. How many there were.
    pub(crate) async fn end_pending_sign_ins(
        &self,
        user: UserId,
        changes: &mut ChangeSet,
    ) -> Result<usize> {
        let pending = store::find_all::<MfaChallenge>(
            self.store(),
            Scope::Platform,
            "user",
            &user.to_string(),
        )
        .await?;
        for challenge in &pending {
            changes.delete(challenge);
        }
        Ok(pending.len())
    }

    async fn live_challenge(&self, secret: &str) -> Result<Option<Versioned<MfaChallenge>>> {
        if !secret.starts_with(CHALLENGE_PREFIX) || secret.len() > 100 {
            return Ok(None);
        }
        let hash = digest(secret);
        let found =
            store::find_unique::<MfaChallenge>(self.store(), Scope::Platform, "hash", &hash)
                .await?;
        Ok(found.filter(|c| {
            bool::from(c.value.hash.as_bytes().ct_eq(hash.as_bytes()))
                && c.value.expires_at > self.now()
                && c.value.failures < CHALLENGE_ATTEMPTS
        }))
    }

    /// The second step of a sign-in: `code` (a current TOTP code or an
    /// unused recovery code) for the challenge `secret`. On success the
    /// challenge is spent and the user returned, for the host to issue the
    /// session. An unknown, expired, spent or dead challenge is
    /// `Unauthenticated` (sign in again); a wrong code is refused naming
    /// `code` and counts against the challenge, which dies at
    /// [`CHALLENGE_ATTEMPTS`].
    pub async fn complete_mfa_challenge(&self, secret: &str, code: &str) -> Result<UserId> {
        let Some(mut challenge) = self.live_challenge(secret).await? else {
            return Err(Error::Unauthenticated);
        };
        let user = challenge.value.user;
        let who = Principal::new(user);
        let mut changes = ChangeSet::new();
        let Ok(mut enrollment) = self.active_enrollment(user, "code").await else {
            // The factor was removed meanwhile: the challenge is moot.
            changes.delete(&challenge);
            self.store().apply(changes).await?;
            return Err(Error::Unauthenticated);
        };
        let Some(proof) = self.prove(&mut enrollment.value, code, true)? else {
            challenge.value.failures += 1;
            let left = CHALLENGE_ATTEMPTS.saturating_sub(challenge.value.failures);
            if left == 0 {
                changes.delete(&challenge);
            } else {
                changes.update(&challenge)?;
            }
            changes.audit(self.platform_event(
                Some(&who),
                "mfa.code_refused",
                Target::new(User::KIND, user),
                json!({ "attempts_left": left }),
            ));
            self.store().apply(changes).await?;
            return Err(Error::invalid(
                "code",
                if left == 0 {
                    "does not match; too many wrong codes: sign in again".to_owned()
                } else {
                    format!("does not match ({left} attempts left)")
                },
            ));
        };
        changes.delete(&challenge).update(&enrollment)?;
        let action = match proof {
            Proof::Totp => "mfa.verified",
            Proof::RecoveryCode => "mfa.recovery_code_used",
        };
        changes.audit(self.platform_event(
            Some(&who),
            action,
            Target::new(User::KIND, user),
            json!({ "proof": proof, "recovery_codes_left": enrollment.value.recovery_codes.len() }),
        ));
        self.store().apply(changes).await?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("a time")
    }

    /// RFC 6238's SHA-1 test secret, "12345678901234567890", in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_follow_rfc_6238s_sha1_vectors() {
        // RFC 6238 appendix B, the last six of the eight digits.
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let step = matching_step(RFC_SECRET, code, at(time), None).expect("check");
            assert_eq!(step, Some(time as u64 / 30), "{time}");
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let now = at(1_234_567_890);
        let code = "005924";
        assert!(
            matching_step(RFC_SECRET, code, now + Duration::seconds(30), None)
                .expect("check")
                .is_some()
        );
        assert!(
            matching_step(RFC_SECRET, code, now - Duration::seconds(30), None)
                .expect("check")
                .is_some()
        );
        assert_eq!(
            matching_step(RFC_SECRET, code, now + Duration::seconds(90), None).expect("check"),
            None
        );
        assert_eq!(
            matching_step(RFC_SECRET, code, now - Duration::seconds(90), None).expect("check"),
            None
        );
    }

    #[test]
    fn a_used_step_is_never_accepted_again() {
        let now = at(1_234_567_890);
        let step = time_step(now);
        assert_eq!(
            matching_step(RFC_SECRET, "005924", now, Some(step)).expect("check"),
            None
        );
        assert_eq!(
            matching_step(RFC_SECRET, "005924", now, Some(step - 1)).expect("check"),
            Some(step)
        );
    }

    #[test]
    fn malformed_codes_are_wrong_not_errors() {
        for bad in ["", "00592", "0059244", "00592a", "+05924", "005 924x"] {
            assert_eq!(
                matching_step(RFC_SECRET, bad, at(1_234_567_890), None).expect("check"),
                None,
                "{bad:?}"
            );
        }
        assert!(
            matching_step(RFC_SECRET, " 005 924 ", at(1_234_567_890), None)
                .expect("check")
                .is_some(),
            "spaces are ignored"
        );
    }

    #[test]
    fn recovery_codes_match_however_typed() {
        let hashes = vec![recovery_code_hash("abcd-efgh-jkmn-pqrs")];
        assert_eq!(recovery_code_index(&hashes, "ABCD EFGH JKMN PQRS"), Some(0));
        assert_eq!(recovery_code_index(&hashes, "abcdefghjkmnpqrs"), Some(0));
        assert_eq!(recovery_code_index(&hashes, "abcd-efgh-jkmn-pqrt"), None);
        assert_eq!(recovery_code_index(&hashes, ""), None);
    }
}
