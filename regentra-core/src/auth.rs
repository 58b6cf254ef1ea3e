//! Credentials: passwords and API tokens.
//!
//! Passwords are kept as argon2id PHC strings in a platform record apart
//! from the user (so no view of a user ever carries a hash). Verifying one
//! is deliberately slow: [`verify_password`] is a plain function for the
//! host to run off its async threads.
//!
//! API tokens are random (`rgt_` and 64 hex digits), shown once, and stored
//! only as their SHA-256; a presented token is looked up by its hash and
//! compared in constant time. Tokens are revocable, and their last use is
//! recorded (at most once a minute, so reads do not turn into writes).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::audit::Target;
use crate::clock::Entropy;
use crate::error::{Error, Result};
use crate::ids::{OrgId, TokenId, UserId};
use crate::portal::host_of_request;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Listing, PageRequest, Scope};
use crate::tenancy::{User, normalize_email, validate_name};

/// What every token starts with, so leaked tokens are easy to scan for.
pub const TOKEN_PREFIX: &str = "rgt_";

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// The lowest strength accepted, as zxcvbn scores it (0 to 4): 3 takes
/// about 10^10 guesses or more ("safely unguessable" against an online
/// attack, moderate protection against an offline one on a slow hash).
pub const MIN_PASSWORD_SCORE: u8 = 3;

/// A user's password, as an argon2id PHC string, and who chose it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub user: UserId,
    pub password_hash: String,
    pub updated_at: DateTime<Utc>,
    /// Who chose this password, and so who may know it.
    #[serde(default)]
    pub set_by: SetBy,
}

/// Who chose a password. An account's password is set by its owner or the
/// platform operator; a tenant admin only gives an initial password to an
/// account their own call creates, and such a password is removed (with
/// the account's tokens) when the platform operator attaches the account to
/// any other org, so that admin's knowledge of it reaches nothing else.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SetBy {
    /// The account's owner, signed in with a password nobody else chose.
    Owner,
    /// The platform operator.
    Operator,
    /// An admin of `org`, when their call created the account; or since
    /// changed by someone signed in with such a password, who may be that
    /// admin (nothing yet proves otherwise: that is the invitation flow's
    /// job), so it is still taken as known to `org`'s admins.
    TenantAdmin { org: OrgId },
    /// Stored before who-set-it was recorded: treated like a tenant admin's
    /// of an unknown org.
    #[default]
    Unrecorded,
}

impl SetBy {
    /// Whether a password of this origin must go when the platform operator
    /// attaches the account to `org`: it may be known to another tenant's
    /// admins.
    pub fn known_outside(self, org: OrgId) -> bool {
        match self {
            SetBy::Owner | SetBy::Operator => false,
            SetBy::TenantAdmin { org: by } => by != org,
            SetBy::Unrecorded => true,
        }
    }

    /// Who a password set by the signed-in account holder counts as set by,
    /// given who set the one it replaces (`None`: there was none).
    pub fn replacing(previous: Option<SetBy>) -> SetBy {
        match previous {
            Some(tainted @ (SetBy::TenantAdmin { .. } | SetBy::Unrecorded)) => tainted,
            Some(SetBy::Owner | SetBy::Operator) | None => SetBy::Owner,
        }
    }
}

/// Checks that `password_hash` is an argon2 PHC string, so a plain password
/// can never be stored by mistake.
pub fn check_password_hash(password_hash: &str) -> Result<()> {
    match PasswordHash::new(password_hash) {
        Ok(parsed) if parsed.algorithm.as_str().starts_with("argon2") => Ok(()),
        _ => Err(Error::invalid("password", "must be an argon2 PHC string")),
    }
}

impl Credential {
    /// A first credential from a PHC string hashed by the caller, chosen by
    /// `set_by`; anything that is not an argon2 PHC string is refused.
    pub fn initial(
        user: UserId,
        password_hash: String,
        now: DateTime<Utc>,
        set_by: SetBy,
    ) -> Result<Self> {
        check_password_hash(&password_hash)?;
        Ok(Self {
            user,
            password_hash,
            updated_at: now,
            set_by,
        })
    }
}

impl Entity for Credential {
    const KIND: &'static str = "credential";
    const NAME: &'static str = "credential";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.user.0
    }
}

/// What a token was issued for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Issued by a password login: expires after [`TokenLifetimes`]' idle
    /// time without use, and at its absolute expiry whatever its use.
    Login,
    /// Made by its user for a program: expires when its user said (or
    /// never). Tokens stored before kinds were recorded read as this.
    #[default]
    Api,
}

/// An API token as stored: never the secret itself.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user: UserId,
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    pub hint: String,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub kind: TokenKind,
    /// When the token stops working whatever its use (`None`: never; a
    /// login token also expires when idle, see [`Regentra::token_expiry`]).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The address the token was issued to (a sign-in's client), when known.
    #[serde(default)]
    pub issued_to_ip: Option<String>,
    /// The user agent the token was issued to, when known (bounded).
    #[serde(default)]
    pub issued_to_user_agent: Option<String>,
    /// The client portal host name the session was started on (a sign-in
    /// on a client's own verified host name), as [`host_of_request`]
    /// writes it: the token authenticates only on that host
    /// ([`Regentra::authenticate_at`]). The client controls that name's
    /// DNS, and perhaps a proxy that sees the cookie, so what is signed in
    /// there must not open the server's own address. `None`: the server's
    /// own address (every token made before this was recorded, every API
    /// token).
    #[serde(default)]
    pub portal_host: Option<String>,
}

/// What a new token is: its kind, how long it lives, and the portal host
/// name it is bound to ([`ApiToken::portal_host`]).
struct Terms {
    kind: TokenKind,
    expires_in: Option<Duration>,
    portal_host: Option<String>,
}

/// How long login tokens live: `idle` without use, and `absolute` after
/// they were issued whatever their use. Injected into [`Regentra`] like the
/// clock. A token's last use is written at most once a minute
/// (`LAST_USE_GRANULARITY`), so the idle expiry is exact to that minute
/// (early, never late), which is why `idle` is at least ten minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    idle: Duration,
    absolute: Duration,
}

impl TokenLifetimes {
    /// 12 hours idle, 7 days absolute.
    pub const DEFAULT: Self = Self {
        idle: Duration::hours(12),
        absolute: Duration::days(7),
    };

    /// A host's own lifetimes, refused naming the field when `idle` is
    /// under ten minutes or over `absolute`, or `absolute` over a year.
    pub fn new(idle: Duration, absolute: Duration) -> Result<Self> {
        if idle < Duration::minutes(10) {
            return Err(Error::invalid("login_idle", "must be at least 10 minutes"));
        }
        if absolute > Duration::days(366) {
            return Err(Error::invalid("login_absolute", "must be at most 366 days"));
        }
        if idle > absolute {
            return Err(Error::invalid(
                "login_idle",
                "must not be longer than the absolute lifetime",
            ));
        }
        Ok(Self { idle, absolute })
    }

    pub fn idle(&self) -> Duration {
        self.idle
    }

    pub fn absolute(&self) -> Duration {
        self.absolute
    }
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The longest expiry a user may give an API token, in days.
pub const MAX_TOKEN_DAYS: u32 = 3650;

impl Entity for ApiToken {
    const KIND: &'static str = "api_token";
    const NAME: &'static str = "token";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry::unique("hash", &self.hash),
            IndexEntry::multi("user", self.user.to_string()),
        ]
    }
}

/// How hard password hashing works: argon2id's memory (KiB), passes and
/// lanes. Injected into [`Regentra`] like the clock, so a host can raise the
/// cost and a test suite can lower it; a hash carries its own parameters,
/// so verifying needs none of this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

/// OWASP's minimum configurations for argon2id (memory in KiB, passes):
/// equally strong ways of trading memory for time. A configuration at or
/// above any one of them is accepted.
const OWASP_MINIMUMS: [(u32, u32); 5] = [
    (47_104, 1),
    (19_456, 2),
    (12_288, 3),
    (9_216, 4),
    (7_168, 5),
];

/// Salt length in bytes (the PHC recommendation).
const SALT_LEN: usize = 16;

impl PasswordHashing {
    /// OWASP's recommended argon2id cost (19 MiB, 2 passes, 1 lane): the
    /// default of [`Regentra`].
    pub const RECOMMENDED: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// A host's own cost, refused (naming the field) when it is weaker
    /// than every OWASP minimum or outside what argon2 can run.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self> {
        if !(1..=64).contains(&parallelism) {
            return Err(Error::invalid("parallelism", "must be between 1 and 64"));
        }
        if memory_kib > 4 * 1024 * 1024 {
            return Err(Error::invalid("memory_kib", "must be at most 4 GiB"));
        }
        if iterations > 100 {
            return Err(Error::invalid("iterations", "must be at most 100"));
        }
        let strong = OWASP_MINIMUMS
            .iter()
            .any(|&(m, t)| memory_kib >= m && iterations >= t);
        if !strong {
            let field = if iterations == 0 || memory_kib >= 47_104 {
                "iterations"
            } else {
                "memory_kib"
            };
            return Err(Error::invalid(
                field,
                "weaker than OWASP's minimum for argon2id (19456 KiB with 2 passes, \
                 or an equivalent such as 47104 KiB with 1 or 9216 KiB with 4)",
            ));
        }
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    /// The cheapest parameters argon2 accepts. For test suites only: a hash
    /// made with them protects nothing.
    pub const fn insecure_for_tests() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    /// Hashes a password with these parameters and the given salt (fresh
    /// from the host's entropy source: [`Regentra::hash_password`] draws it),
    /// once it passes [`check_password`] (with no account to compare it with;
    /// [`Regentra::hash_password_for`] passes the account's email and name).
    pub fn hash(&self, password: &str, salt: &[u8]) -> Result<String> {
        check_password(password, &[])?;
        self.hash_checked(password, salt)
    }

    /// [`PasswordHashing::hash`] for a password the caller has checked.
    fn hash_checked(&self, password: &str, salt: &[u8]) -> Result<String> {
        let params = argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| Error::invalid("password_hashing", e.to_string()))?;
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password_with_salt(password.as_bytes(), salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::storage(format!("password hashing failed: {e}")))
    }
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

/// The one password rule, which every password meets whoever chose it:
/// [`MIN_PASSWORD`] characters to 1024 bytes, and rated at least
/// [`MIN_PASSWORD_SCORE`] by the zxcvbn strength estimator, which also
/// counts `user_inputs` (the account's email and name, see
/// [`password_user_inputs`]) as words an attacker tries first. A refusal is
/// a validation error naming `password` that says why, in zxcvbn's words.
pub fn check_password(password: &str, user_inputs: &[&str]) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(Error::invalid("password", "must be at most 1024 bytes"));
    }
    // zxcvbn looks at the first 100 characters only, so this stays cheap.
    let estimate = zxcvbn::zxcvbn(password, user_inputs);
    let score = u8::from(estimate.score());
    if score >= MIN_PASSWORD_SCORE {
        return Ok(());
    }
    let mut why = format!(
        "is too easy to guess (strength {score} of 4, at least {MIN_PASSWORD_SCORE} needed)"
    );
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            why.push_str(&format!(": {warning}"));
        }
        for suggestion in feedback.suggestions() {
            why.push_str(&format!(" {suggestion}"));
        }
    }
    if !why.ends_with('.') {
        why.push_str(". Add another word or two; uncommon words are better.");
    }
    Err(Error::invalid("password", why))
}

/// What a password is compared with besides zxcvbn's dictionaries: an
/// account's email and name, whole and in their parts (`alice`, `acme`,
/// `test` for `alice@acme.test`), lowercased.
pub fn password_user_inputs(email: &str, name: &str) -> Vec<String> {
    let mut inputs: Vec<String> = Vec::new();
    let whole = [email, name];
    let parts = whole
        .iter()
        .flat_map(|s| s.split(|c: char| !c.is_alphanumeric()));
    for input in whole.iter().copied().chain(parts) {
        let input = input.trim().to_lowercase();
        if input.chars().count() >= 3 && !inputs.contains(&input) {
            inputs.push(input);
        }
    }
    inputs
}

/// Whether `password` matches a stored PHC string (whose own parameters
/// are used). Slow on purpose: run it off the async threads.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`check_password`] for `user`'s password, against their email and name.
fn check_password_of(user: &User, password: &str) -> Result<()> {
    let inputs = password_user_inputs(&user.email, &user.display_name);
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    check_password(password, &inputs)
}

/// A token secret made from 32 bytes of the given entropy.
fn token_secret_from(entropy: &dyn Entropy) -> Result<String> {
    let mut bytes = [0u8; 32];
    entropy.fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// The stored form of a token secret.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How often the last use of a token is written.
const LAST_USE_GRANULARITY: i64 = 60;

impl Regentra {
    /// Hashes a password with the injected [`PasswordHashing`] cost and a
    /// salt from the injected entropy source. Slow on purpose: hosts run it
    /// off their async threads.
    /// The password is checked by [`check_password`] with no account to
    /// compare it with: when the account's email and name are known, use
    /// [`Regentra::hash_password_for`].
    pub fn hash_password(&self, password: &str) -> Result<String> {
        self.hash_password_for(password, &[])
    }

    /// [`Regentra::hash_password`] for an account: `user_inputs` (its email
    /// and name, [`password_user_inputs`]) count against the password's
    /// strength.
    pub fn hash_password_for(&self, password: &str, user_inputs: &[&str]) -> Result<String> {
        check_password(password, user_inputs)?;
        self.hash_checked(password)
    }

    /// Hashes a password the caller has put through [`check_password`].
    fn hash_checked(&self, password: &str) -> Result<String> {
        let mut salt = [0u8; SALT_LEN];
        self.entropy().fill(&mut salt)?;
        self.password_hashing().hash_checked(password, &salt)
    }

    /// A new API token secret (`rgt_` and 64 hex digits) from the injected
    /// entropy source.
    pub fn new_token_secret(&self) -> Result<String> {
        token_secret_from(self.entropy())
    }

    /// Sets the caller's own password. It counts as the owner's
    /// ([`SetBy::Owner`]) unless it replaces one a tenant admin chose: whoever
    /// signed in with that may be the admin, so the new one keeps that origin
    /// ([`SetBy::replacing`]).
    pub async fn set_password(&self, principal: &Principal, password: &str) -> Result<()> {
        let user = store::require::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .value;
        check_password_of(&user, password)?;
        let hash = self.hash_checked(password)?;
        let existing = store::load::<Credential>(self.store(), Scope::Platform, user.id.0).await?;
        let credential = Credential {
            user: user.id,
            password_hash: hash,
            updated_at: self.now(),
            set_by: SetBy::replacing(existing.as_ref().map(|c| c.value.set_by)),
        };
        let set_by = credential.set_by;
        let mut changes = ChangeSet::new();
        match existing {
            Some(mut existing) => {
                existing.value = credential;
                changes.update(&existing)?;
            }
            None => {
                changes.insert(&credential)?;
            }
        }
        changes.audit(self.platform_event(
            Some(principal),
            "password.set",
            Target::new(User::KIND, user.id),
            json!({ "set_by": set_by }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// When the platform operator attaches `user` to `org`: a password that
    /// may be known to another tenant's admins ([`SetBy::known_outside`]) is
    /// removed, and every live token of the account (any of which may have
    /// come from signing in with it) revoked, in `changes`, with a
    /// `credential.removed` event in the platform chain. Whether it did.
    pub(crate) async fn forget_credential_known_outside(
        &self,
        principal: &Principal,
        user: UserId,
        org: OrgId,
        changes: &mut ChangeSet,
    ) -> Result<bool> {
        let Some(credential) =
            store::load::<Credential>(self.store(), Scope::Platform, user.0).await?
        else {
            return Ok(false);
        };
        if !credential.value.set_by.known_outside(org) {
            return Ok(false);
        }
        changes.delete(&credential);
        let now = self.now();
        let mut revoked = 0;
        for mut token in
            store::find_all::<ApiToken>(self.store(), Scope::Platform, "user", &user.to_string())
                .await?
        {
            if token.value.revoked_at.is_none() {
                token.value.revoked_at = Some(now);
                changes.update(&token)?;
                revoked += 1;
            }
        }
        changes.audit(self.platform_event(
            Some(principal),
            "credential.removed",
            Target::new(User::KIND, user),
            json!({
                "set_by": credential.value.set_by,
                "attached_to": org,
                "tokens_revoked": revoked,
            }),
        ));
        Ok(true)
    }

    /// The account and stored password hash for an email, for a login: the
    /// host verifies with [`verify_password`] off its async threads. `None`
    /// for an unknown email or an account without a password (the host
    /// should still spend the same time, to not reveal which).
    pub async fn login_material(&self, email: &str) -> Result<Option<(UserId, String)>> {
        let Ok(email) = normalize_email(email) else {
            return Ok(None);
        };
        let Some(user) =
            store::find_unique::<User>(self.store(), Scope::Platform, "email", &email).await?
        else {
            return Ok(None);
        };
        Ok(
            store::load::<Credential>(self.store(), Scope::Platform, user.value.id.0)
                .await?
                .map(|c| (user.value.id, c.value.password_hash)),
        )
    }

    /// Issues an API token for the caller, without an expiry. The secret is
    /// returned once, here.
    pub async fn issue_token(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<(ApiToken, String)> {
        self.issue_api_token(principal, name, None).await
    }

    /// Issues an API token for the caller that expires `expires_in_days`
    /// from now (1 to [`MAX_TOKEN_DAYS`]; `None`: never). The secret is
    /// returned once, here.
    pub async fn issue_api_token(
        &self,
        principal: &Principal,
        name: &str,
        expires_in_days: Option<u32>,
    ) -> Result<(ApiToken, String)> {
        let expires_in = match expires_in_days {
            None => None,
            Some(days) if (1..=MAX_TOKEN_DAYS).contains(&days) => {
                Some(Duration::days(i64::from(days)))
            }
            Some(_) => {
                return Err(Error::invalid(
                    "expires_in_days",
                    format!("must be between 1 and {MAX_TOKEN_DAYS}"),
                ));
            }
        };
        store::require::<User>(self.store(), Scope::Platform, principal.user.0).await?;
        let secret = self.new_token_secret()?;
        let token = self
            .store_token(
                principal,
                name,
                &secret,
                "token.issued",
                Terms {
                    kind: TokenKind::Api,
                    expires_in,
                    portal_host: None,
                },
            )
            .await?;
        Ok((token, secret))
    }

    /// Issues a login token (a sign-in session) for a user whose password
    /// the host verified: it expires after the injected [`TokenLifetimes`]'
    /// idle time without use and at the absolute lifetime, shortened by the
    /// session limit of every org the user belongs to
    /// ([`Regentra::session_limit`]). The secret is returned once, here.
    pub async fn issue_login_token(&self, principal: &Principal) -> Result<(ApiToken, String)> {
        self.issue_login_token_at(principal, None).await
    }

    /// [`Regentra::issue_login_token`] for a sign-in made on `portal_host`,
    /// a client portal's own host name (`None`: the server's own address),
    /// to which the session is then bound ([`ApiToken::portal_host`]). The
    /// host decides which of the two a request came to; the name must be
    /// written as [`host_of_request`] writes it (a validation error naming
    /// `host` otherwise).
    pub async fn issue_login_token_at(
        &self,
        principal: &Principal,
        portal_host: Option<&str>,
    ) -> Result<(ApiToken, String)> {
        if let Some(host) = portal_host
            && host_of_request(host).as_deref() != Some(host)
        {
            return Err(Error::invalid(
                "host",
                "must be a host name in lower case, without a port",
            ));
        }
        store::require::<User>(self.store(), Scope::Platform, principal.user.0).await?;
        let lifetime = self.session_limit(principal.user).await?;
        let secret = self.new_token_secret()?;
        let token = self
            .store_token(
                principal,
                "login",
                &secret,
                "token.issued",
                Terms {
                    kind: TokenKind::Login,
                    expires_in: Some(lifetime),
                    portal_host: portal_host.map(str::to_owned),
                },
            )
            .await?;
        Ok((token, secret))
    }

    /// When `token` stops working if it is not used again: the earlier of
    /// its absolute expiry and, for a login token, its last use (or issue)
    /// plus the idle lifetime. `None`: never.
    pub fn token_expiry(&self, token: &ApiToken) -> Option<DateTime<Utc>> {
        let idle = match token.kind {
            TokenKind::Login => {
                Some(token.last_used_at.unwrap_or(token.created_at) + self.token_lifetimes().idle())
            }
            TokenKind::Api => None,
        };
        match (token.expires_at, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The caller's own account (whether they are the platform operator,
    /// for one).
    pub async fn account(&self, principal: &Principal) -> Result<User> {
        Ok(
            store::require::<User>(self.store(), Scope::Platform, principal.user.0)
                .await?
                .value,
        )
    }

    /// Changes the caller's own password: `current` must be the password
    /// it replaces (a wrong or missing one is a validation error naming
    /// `current_password`, and nothing changes). In the same commit every
    /// other token of the caller is revoked: only the token of this request
    /// ([`Principal::token`]) stays valid. An account without a password
    /// yet (the platform operator, signed in with the bootstrap token, or an
    /// account added without one) sets its first one without `current`, as
    /// [`Regentra::set_password`] does: the owner's ([`SetBy::Owner`]).
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: Option<&str>,
        password: &str,
    ) -> Result<()> {
        let user = store::require::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .value;
        check_password_of(&user, password)?;
        let Some(mut credential) =
            store::load::<Credential>(self.store(), Scope::Platform, user.id.0).await?
        else {
            return self.set_password(principal, password).await;
        };
        let Some(current) = current else {
            return Err(Error::invalid(
                "current_password",
                "required: this account already has a password, so changing it needs the \
                 current one",
            ));
        };
        if !verify_password(current, &credential.value.password_hash) {
            return Err(Error::invalid("current_password", "does not match"));
        }
        let now = self.now();
        credential.value.password_hash = self.hash_checked(password)?;
        credential.value.updated_at = now;
        // Knowing the current password proves no more than signing in did:
        // one a tenant admin chose keeps its origin ([`SetBy::replacing`]).
        credential.value.set_by = SetBy::replacing(Some(credential.value.set_by));
        let mut changes = ChangeSet::new();
        changes.update(&credential)?;
        let mut revoked = 0;
        for mut token in
            store::find_all::<ApiToken>(self.store(), Scope::Platform, "user", &user.id.to_string())
                .await?
        {
            if token.value.revoked_at.is_none() && Some(token.value.id) != principal.token {
                token.value.revoked_at = Some(now);
                changes.update(&token)?;
                revoked += 1;
            }
        }
        // A sign-in begun with the old password and waiting for its code
        // cannot be finished.
        let challenges = self.end_pending_sign_ins(user.id, &mut changes).await?;
        changes.audit(self.platform_event(
            Some(principal),
            "password.changed",
            Target::new(User::KIND, user.id),
            json!({
                "tokens_revoked": revoked,
                "sign_ins_ended": challenges,
                "set_by": credential.value.set_by,
            }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// Registers a secret chosen by the operator (a bootstrap token from the
    /// environment) as a token of the caller. It must start with `rgt_` and
    /// carry at least 32 more letters, digits, `-` or `_`.
    pub async fn register_token(
        &self,
        principal: &Principal,
        name: &str,
        secret: &str,
    ) -> Result<ApiToken> {
        let body = secret.strip_prefix(TOKEN_PREFIX).unwrap_or("");
        if body.len() < 32
            || body.len() > 250
            || !body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::invalid(
                "token",
                "must be rgt_ followed by at least 32 letters, digits, - or _",
            ));
        }
        self.store_token(
            principal,
            name,
            secret,
            "token.registered",
            Terms {
                kind: TokenKind::Api,
                expires_in: None,
                portal_host: None,
            },
        )
        .await
    }

    /// Stores a token for `secret` (its hash and a hint only), audited.
    async fn store_token(
        &self,
        principal: &Principal,
        name: &str,
        secret: &str,
        action: &str,
        terms: Terms,
    ) -> Result<ApiToken> {
        let Terms {
            kind,
            expires_in,
            portal_host,
        } = terms;
        let now = self.now();
        let token = ApiToken {
            id: TokenId(self.new_id()),
            user: principal.user,
            name: validate_name("name", name)?,
            hint: secret[..TOKEN_PREFIX.len() + 6].to_owned(),
            hash: token_hash(secret),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
            kind,
            expires_at: expires_in.map(|d| now + d),
            issued_to_ip: principal.request.ip.clone(),
            issued_to_user_agent: principal.request.user_agent.clone(),
            portal_host,
        };
        let mut details = json!({
            "name": token.name,
            "hint": token.hint,
            "kind": token.kind,
            "expires_at": token.expires_at,
        });
        if let Some(host) = &token.portal_host {
            details["portal_host"] = json!(host);
        }
        let mut changes = ChangeSet::new();
        changes.insert(&token)?;
        changes.audit(self.platform_event(
            Some(principal),
            action,
            Target::new(ApiToken::KIND, token.id),
            details,
        ));
        self.store().apply(changes).await?;
        Ok(token)
    }

    /// The caller behind a token secret, on the server's own address;
    /// `Unauthenticated` for anything else (malformed, unknown, revoked,
    /// expired: see [`Regentra::token_expiry`]; a session started on a
    /// client portal's host name), without saying which.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal> {
        self.authenticate_at(secret, None).await
    }

    /// [`Regentra::authenticate`] for a request that came to `portal_host`,
    /// a client portal's own host name as [`host_of_request`] writes it
    /// (`None`: the server's own address). A token works only where it was
    /// issued ([`ApiToken::portal_host`]): a session started on a client's
    /// host name is `Unauthenticated` anywhere else, and the server's own
    /// tokens are on a client's host name.
    pub async fn authenticate_at(
        &self,
        secret: &str,
        portal_host: Option<&str>,
    ) -> Result<Principal> {
        if !secret.starts_with(TOKEN_PREFIX)
            || !(TOKEN_PREFIX.len() + 32..=TOKEN_PREFIX.len() + 250).contains(&secret.len())
        {
            return Err(Error::Unauthenticated);
        }
        let hash = token_hash(secret);
        let Some(mut token) =
            store::find_unique::<ApiToken>(self.store(), Scope::Platform, "hash", &hash).await?
        else {
            return Err(Error::Unauthenticated);
        };
        if !bool::from(token.value.hash.as_bytes().ct_eq(hash.as_bytes()))
            || token.value.revoked_at.is_some()
            || token.value.portal_host.as_deref() != portal_host
        {
            return Err(Error::Unauthenticated);
        }
        let now = self.now();
        if self.token_expiry(&token.value).is_some_and(|at| now >= at) {
            return Err(Error::Unauthenticated);
        }
        let stale = token
            .value
            .last_used_at
            .is_none_or(|at| now - at >= Duration::seconds(LAST_USE_GRANULARITY));
        if stale {
            token.value.last_used_at = Some(now);
            let mut changes = ChangeSet::new();
            changes.update(&token)?;
            // Two requests racing to record the same use: either write is fine.
            match self.store().apply(changes).await {
                Ok(_) | Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let mut principal = Principal::new(token.value.user);
        principal.token = Some(token.value.id);
        Ok(principal)
    }

    /// The caller's tokens, without their secrets.
    pub async fn tokens(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Listing<ApiToken>> {
        Ok(store::find_page::<ApiToken>(
            self.store(),
            Scope::Platform,
            "user",
            &principal.user.to_string(),
            page,
        )
        .await?
        .map(|t| t.value))
    }

    /// Every token of the caller (what the sessions page filters: one
    /// person's tokens, a short list).
    pub(crate) async fn all_tokens(&self, principal: &Principal) -> Result<Vec<ApiToken>> {
        Ok(store::find_all::<ApiToken>(
            self.store(),
            Scope::Platform,
            "user",
            &principal.user.to_string(),
        )
        .await?
        .into_iter()
        .map(|t| t.value)
        .collect())
    }

    /// Revokes one of the caller's tokens for good.
    pub async fn revoke_token(&self, principal: &Principal, token: TokenId) -> Result<ApiToken> {
        let mut found =
            match store::load::<ApiToken>(self.store(), Scope::Platform, token.0).await? {
                Some(t) if t.value.user == principal.user => t,
                _ => {
                    return Err(Error::NotFound {
                        what: ApiToken::NAME,
                    });
                }
            };
        if found.value.revoked_at.is_none() {
            found.value.revoked_at = Some(self.now());
            let mut changes = ChangeSet::new();
            changes.update(&found)?;
            changes.audit(self.platform_event(
                Some(principal),
                "token.revoked",
                Target::new(ApiToken::KIND, token),
                json!({ "hint": found.value.hint }),
            ));
            self.store().apply(changes).await?;
        }
        Ok(found.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededEntropy;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hashing = PasswordHashing::insecure_for_tests();
        let phc = hashing
            .hash("correct horse battery", &[1; SALT_LEN])
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_ne!(
            hashing
                .hash("correct horse battery", &[2; SALT_LEN])
                .expect("hash"),
            phc,
            "another salt, another hash"
        );
        match hashing.hash("short", &[1; SALT_LEN]) {
            Err(Error::Validation(e)) => assert_eq!(e[0].field, "password"),
            other => panic!("short passwords are refused, got {other:?}"),
        }
    }

    fn refusal(password: &str, inputs: &[&str]) -> Option<String> {
        match check_password(password, inputs) {
            Ok(()) => None,
            Err(Error::Validation(e)) => {
                assert_eq!(e[0].field, "password", "{password:?}");
                Some(e[0].message.clone())
            }
            Err(other) => panic!("{password:?}: not a validation error: {other:?}"),
        }
    }

    #[test]
    fn weak_passwords_are_refused_however_long() {
        let alice = password_user_inputs("alice@acme.test", "Alice Example");
        let alice: Vec<&str> = alice.iter().map(String::as_str).collect();
        for weak in [
            "aaaaaaaaaaaa",
            "            ",
            "password1234",
            "123456789012",
            "qwertyuiopas",
            "abcdefghijkl",
            "passwordpassword",
        ] {
            let why = refusal(weak, &[]).unwrap_or_else(|| panic!("{weak:?} is accepted"));
            assert!(why.starts_with("is too easy to guess"), "{weak:?}: {why}");
        }
        // zxcvbn says why, in plain words.
        let why = refusal("aaaaaaaaaaaa", &[]).expect("refused");
        assert!(
            why.contains("Repeats like \"aaa\" are easy to guess"),
            "{why}"
        );
        let why = refusal("password1234", &[]).expect("refused");
        assert!(why.contains("common password"), "{why}");
        // The account's own email and name count as guesses.
        assert!(refusal("alice@acme.test", &alice).is_some());
        let theirs = "alice-acme-2024!";
        let (with, without) = (zxcvbn::zxcvbn(theirs, &alice), zxcvbn::zxcvbn(theirs, &[]));
        assert!(
            with.guesses() < without.guesses() && with.score() <= without.score(),
            "built from the account's email, it rates weaker"
        );
        // Length still comes first, with its own message.
        assert_eq!(
            refusal("Tr0ub4dor&3", &[]).expect("short"),
            format!("must be at least {MIN_PASSWORD} characters")
        );
        assert!(refusal(&"x".repeat(1025), &[]).is_some());
    }

    #[test]
    fn strong_passphrases_are_accepted() {
        let alice = password_user_inputs("alice@acme.test", "Alice Example");
        let alice: Vec<&str> = alice.iter().map(String::as_str).collect();
        for strong in [
            "correct horse battery staple",
            "violet kettle marches sideways",
            "Tr0ub4dor&3-quietly-orbits",
            "granite owl whispers at dusk",
            &"long unusual passphrase ".repeat(40),
        ] {
            assert_eq!(refusal(strong, &[]), None, "{strong:?}");
            assert_eq!(refusal(strong, &alice), None, "{strong:?}");
        }
    }

    #[test]
    fn user_inputs_are_the_email_and_name_and_their_parts() {
        assert_eq!(
            password_user_inputs("alice@acme.test", "Alice Example"),
            [
                "alice@acme.test",
                "alice example",
                "alice",
                "acme",
                "test",
                "example"
            ]
        );
    }

    #[test]
    fn a_password_a_tenant_admin_chose_stays_theirs_until_removed() {
        let (a, b) = (OrgId(Uuid::now_v7()), OrgId(Uuid::now_v7()));
        let admins = SetBy::TenantAdmin { org: a };
        assert!(!admins.known_outside(a), "its own org may keep it");
        assert!(admins.known_outside(b));
        assert!(SetBy::Unrecorded.known_outside(a));
        assert!(!SetBy::Owner.known_outside(b));
        assert!(!SetBy::Operator.known_outside(b));
        assert_eq!(SetBy::replacing(None), SetBy::Owner);
        assert_eq!(SetBy::replacing(Some(SetBy::Operator)), SetBy::Owner);
        assert_eq!(SetBy::replacing(Some(SetBy::Owner)), SetBy::Owner);
        assert_eq!(
            SetBy::replacing(Some(admins)),
            admins,
            "signed in with the admin's password: maybe the admin"
        );
        // Stored before the origin was recorded: read as unrecorded.
        let old = json!({
            "user": UserId(Uuid::now_v7()),
            "password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            "updated_at": "2026-01-01T00:00:00Z",
        });
        let read: Credential = serde_json::from_value(old).expect("old record");
        assert_eq!(read.set_by, SetBy::Unrecorded);
        assert_eq!(
            serde_json::to_value(admins).expect("json"),
            json!({ "kind": "tenant_admin", "org": a })
        );
    }

    #[test]
    fn the_recommended_cost_is_owasps_and_is_what_hashes_carry() {
        assert_eq!(PasswordHashing::default(), PasswordHashing::RECOMMENDED);
        let phc = PasswordHashing::RECOMMENDED
            .hash("correct horse battery", &[3; SALT_LEN])
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
    }

    #[test]
    fn a_host_may_raise_the_cost_but_not_below_owasps_minimums() {
        for (m, t) in OWASP_MINIMUMS {
            assert!(PasswordHashing::new(m, t, 1).is_ok(), "m={m} t={t}");
        }
        assert!(PasswordHashing::new(65_536, 3, 4).is_ok());
        for (m, t, field) in [
            (19_455, 2, "memory_kib"),
            (19_456, 1, "memory_kib"),
            (47_104, 0, "iterations"),
            (8, 1, "memory_kib"),
        ] {
            match PasswordHashing::new(m, t, 1) {
                Err(Error::Validation(e)) => assert_eq!(e[0].field, field, "m={m} t={t}"),
                other => panic!("m={m} t={t} is weaker than OWASP's minimum, got {other:?}"),
            }
        }
        match PasswordHashing::new(19_456, 2, 0) {
            Err(Error::Validation(e)) => assert_eq!(e[0].field, "parallelism"),
            other => panic!("no lanes is refused, got {other:?}"),
        }
    }

    #[test]
    fn token_secrets_are_prefixed_hex_of_the_injected_entropy() {
        let entropy = SeededEntropy::new(9);
        let a = token_secret_from(&entropy).expect("secret");
        let b = token_secret_from(&entropy).expect("secret");
        assert!(a.starts_with("rgt_") && a.len() == 68);
        assert!(a[4..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(
            token_secret_from(&SeededEntropy::new(9)).expect("secret"),
            a,
            "the same seed, the same secrets"
        );
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        let os = token_secret_from(&crate::clock::OsEntropy).expect("secret");
        assert_ne!(
            os,
            token_secret_from(&crate::clock::OsEntropy).expect("secret")
        );
    }
}
