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
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::audit::Target;
use crate::error::{Error, Result};
use crate::ids::{TokenId, UserId};
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Scope};
use crate::tenancy::{User, normalize_email, validate_name};

/// What every token starts with, so leaked tokens are easy to scan for.
pub const TOKEN_PREFIX: &str = "rgt_";

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// A user's password, as an argon2id PHC string.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub user: UserId,
    pub password_hash: String,
    pub updated_at: DateTime<Utc>,
}

impl Credential {
    /// A first credential from a PHC string hashed by the caller; anything
    /// that is not an argon2 PHC string is refused, so a plain password can
    /// never be stored by mistake.
    pub fn initial(user: UserId, password_hash: String, now: DateTime<Utc>) -> Result<Self> {
        match PasswordHash::new(&password_hash) {
            Ok(parsed) if parsed.algorithm.as_str().starts_with("argon2") => Ok(Self {
                user,
                password_hash,
                updated_at: now,
            }),
            _ => Err(Error::invalid("password", "must be an argon2 PHC string")),
        }
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
}

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

/// Hashes a password with argon2id and a fresh random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(Error::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(Error::invalid("password", "must be at most 1024 bytes"));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::storage(format!("password hashing failed: {e}")))
}

/// Whether `password` matches a stored PHC string. Slow on purpose: run it
/// off the async threads.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A new token secret from the operating system's random source.
pub fn new_token_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::storage(format!("no randomness: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// The stored form of a token secret.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How often the last use of a token is written.
const LAST_USE_GRANULARITY: i64 = 60;

impl Regentra {
    /// Sets the caller's own password.
    pub async fn set_password(&self, principal: &Principal, password: &str) -> Result<()> {
        let user = store::require::<User>(self.store(), Scope::Platform, principal.user.0)
            .await?
            .value;
        let hash = hash_password(password)?;
        let credential = Credential {
            user: user.id,
            password_hash: hash,
            updated_at: self.now(),
        };
        let mut changes = ChangeSet::new();
        match store::load::<Credential>(self.store(), Scope::Platform, user.id.0).await? {
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
            json!({}),
        ));
        self.store().apply(changes).await?;
        Ok(())
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

    /// Issues a token for the caller. The secret is returned once, here.
    pub async fn issue_token(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<(ApiToken, String)> {
        store::require::<User>(self.store(), Scope::Platform, principal.user.0).await?;
        let secret = new_token_secret()?;
        let token = self
            .store_token(principal, name, &secret, "token.issued")
            .await?;
        Ok((token, secret))
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
        self.store_token(principal, name, secret, "token.registered")
            .await
    }

    /// Stores a token for `secret` (its hash and a hint only), audited.
    async fn store_token(
        &self,
        principal: &Principal,
        name: &str,
        secret: &str,
        action: &str,
    ) -> Result<ApiToken> {
        let token = ApiToken {
            id: TokenId(self.new_id()),
            user: principal.user,
            name: validate_name("name", name)?,
            hint: secret[..TOKEN_PREFIX.len() + 6].to_owned(),
            hash: token_hash(secret),
            created_at: self.now(),
            last_used_at: None,
            revoked_at: None,
        };
        let mut changes = ChangeSet::new();
        changes.insert(&token)?;
        changes.audit(self.platform_event(
            Some(principal),
            action,
            Target::new(ApiToken::KIND, token.id),
            json!({ "name": token.name, "hint": token.hint }),
        ));
        self.store().apply(changes).await?;
        Ok(token)
    }

    /// The caller behind a token secret; `Unauthenticated` for anything
    /// else (malformed, unknown, revoked), without saying which.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal> {
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
        {
            return Err(Error::Unauthenticated);
        }
        let now = self.now();
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
        Ok(Principal::new(token.value.user))
    }

    /// The caller's tokens, without their secrets.
    pub async fn tokens(&self, principal: &Principal) -> Result<Vec<ApiToken>> {
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

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_ne!(
            hash_password("correct horse battery").expect("hash"),
            phc,
            "a fresh salt each time"
        );
        match hash_password("short") {
            Err(Error::Validation(e)) => assert_eq!(e[0].field, "password"),
            other => panic!("short passwords are refused, got {other:?}"),
        }
    }

    #[test]
    fn token_secrets_are_random_prefixed_and_hashed() {
        let a = new_token_secret().expect("secret");
        let b = new_token_secret().expect("secret");
        assert!(a.starts_with("rgt_") && a.len() == 68);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
