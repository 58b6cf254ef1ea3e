//! Password reset by email: whoever can read an account's mailbox may set
//! its password.
//!
//! A request names an email and always gets the same answer; when the email
//! has an account, a [`PasswordReset`] (the SHA-256 of a single-use token,
//! expiring after [`RESET_LIFETIME`]) and an email with the link
//! (`/reset-password?token=rgr_...`) are committed together, and any
//! earlier pending reset of the account is superseded. A request made on a
//! client's portal names that portal: a member of the portal's org gets the
//! portal's link (`/portal/{slug}/reset-password?token=rgr_...`) in an
//! email sent in the org's name, so they never leave their portal; anyone
//! else gets the product's link, as if they had asked there. Confirming sets the
//! password as the owner's ([`SetBy::Owner`]), uses the token up and
//! revokes every token of the account, in one commit audited in the
//! platform chain.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::audit::{self, Actor, RequestMeta, Target};
use crate::auth::{ApiToken, Credential, SetBy, check_password_hash, password_user_inputs};
use crate::error::{Error, Result};
use crate::ids::{PasswordResetId, UserId};
use crate::mail::{EmailDraft, EmailKind};
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Scope, Versioned};
use crate::tenancy::invitations::{link_hash, link_secret};
use crate::tenancy::{User, normalize_email};

/// What every reset token starts with.
pub const RESET_PREFIX: &str = "rgr_";

/// How long a reset link works.
pub const RESET_LIFETIME: Duration = Duration::hours(1);

/// Where a reset is in its life; expiry is derived from the clock.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetState {
    /// Its link may be used (until it expires).
    Pending,
    /// Its link set a password.
    Used,
    /// A newer request for the same account replaced it.
    Superseded,
}

/// A password reset as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub id: PasswordResetId,
    pub user: UserId,
    /// Hex SHA-256 of the link's token.
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: ResetState,
    /// When it was used or superseded.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Entity for PasswordReset {
    const KIND: &'static str = "password_reset";
    const NAME: &'static str = "password reset";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut entries = vec![IndexEntry::unique("token", &self.token_hash)];
        if self.state == ResetState::Pending {
            entries.push(IndexEntry::multi("pending", self.user.to_string()));
        }
        entries
    }
}

impl PasswordReset {
    /// Whether its link may be used at `now`; a refusal names `token` and
    /// says which of used, superseded or expired it is.
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<()> {
        let why = match self.state {
            ResetState::Used => "this password reset link has already been used",
            ResetState::Superseded => {
                "this password reset link was replaced by a newer request: use the latest email"
            }
            ResetState::Pending if now >= self.expires_at => {
                "this password reset link has expired: request a new one"
            }
            ResetState::Pending => return Ok(()),
        };
        Err(Error::invalid("token", why))
    }
}

/// The path of the web page that sets a new password, with its token.
pub fn reset_link(secret: &str) -> String {
    format!("/reset-password?token={secret}")
}

/// The path of a portal's page that sets a new password, with its token.
pub fn portal_reset_link(slug: &str, secret: &str) -> String {
    format!("/portal/{slug}/reset-password?token={secret}")
}

impl Regentra {
    /// Someone asks to reset the password of `email`, on the product's page
    /// or, when `portal` names one (its slug), on that client portal. Nothing
    /// in the answer, or the time the call's store work takes, tells whether
    /// the email has an account: either way one change set with one
    /// `password_reset.requested` event (in the platform chain, which only
    /// operators read) is committed; with an account it also holds the
    /// reset, its email and the supersession of earlier pending resets.
    /// The email links to the portal's reset page, sent in the portal org's
    /// name, only when the account is a member of the portal's org; any
    /// other account gets the product's link. A malformed email is refused
    /// naming `email`; an unknown or disabled portal is `NotFound`.
    pub async fn request_password_reset(
        &self,
        email: &str,
        portal: Option<&str>,
        request: RequestMeta,
    ) -> Result<()> {
        let email = normalize_email(email)?;
        let portal = match portal {
            Some(slug) => Some(
                self.portal_by_slug(slug)
                    .await?
                    .ok_or(Error::NotFound { what: "portal" })?,
            ),
            None => None,
        };
        let now = self.now();
        let caller = Principal::system().with_request(request);
        let mut changes = ChangeSet::new();
        let target = match self.account_by_email(&email).await? {
            Some(user) => {
                for mut earlier in store::find_all::<PasswordReset>(
                    self.store(),
                    Scope::Platform,
                    "pending",
                    &user.id.to_string(),
                )
                .await?
                {
                    earlier.value.state = ResetState::Superseded;
                    earlier.value.closed_at = Some(now);
                    changes.update(&earlier)?;
                }
                let secret = link_secret(self.entropy(), RESET_PREFIX)?;
                let reset = PasswordReset {
                    id: PasswordResetId(self.new_id()),
                    user: user.id,
                    token_hash: crate::auth::token_hash(&secret),
                    created_at: now,
                    expires_at: now + RESET_LIFETIME,
                    state: ResetState::Pending,
                    closed_at: None,
                };
                changes.insert(&reset)?;
                let mut content = json!({
                    "link": reset_link(&secret),
                    "expires_at": reset.expires_at,
                    // The key every email template greets by.
                    "recipient_name": user.display_name,
                });
                // Only the portal's own people are sent to it: anyone else
                // asking there would land on a portal that refuses them.
                let mut org = None;
                if let Some(portal) = &portal
                    && self.membership(portal.org, user.id).await?.is_some()
                {
                    let sender = self.sender(portal.org).await?;
                    content["link"] = json!(portal_reset_link(&portal.slug, &secret));
                    content["org_name"] = json!(sender.org_name);
                    if let Some(msp) = sender.msp_name {
                        content["msp_name"] = json!(msp);
                    }
                    org = Some(portal.org);
                }
                self.queue_email(
                    &mut changes,
                    EmailDraft {
                        org,
                        to: user.email.clone(),
                        recipient: Some(user.id),
                        kind: EmailKind::PasswordReset,
                        content,
                    },
                )?;
                Target::new(User::KIND, user.id)
            }
            None => Target::new("email", &email),
        };
        let mut details = json!({ "email": email });
        if let Some(portal) = &portal {
            details["portal"] = json!(portal.slug);
        }
        changes.audit(self.event_in(
            audit::PLATFORM_CHAIN,
            Actor::system(),
            &caller,
            "password_reset.requested",
            target,
            details,
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// What a new password is weighed against for the account a reset link
    /// names (its email and name, [`password_user_inputs`]), for the host
    /// to hash the password with [`Regentra::hash_password_for`] off its
    /// async threads. Refused naming `token` like
    /// [`Regentra::confirm_password_reset`].
    pub async fn password_reset_inputs(&self, secret: &str) -> Result<Vec<String>> {
        let reset = self.usable_reset(secret).await?;
        let user = store::require::<User>(self.store(), Scope::Platform, reset.value.user.0)
            .await?
            .value;
        Ok(password_user_inputs(&user.email, &user.display_name))
    }

    /// Sets the password a reset link's holder chose (an argon2id PHC
    /// string hashed by the host against [`Regentra::password_reset_inputs`]),
    /// as the owner's; uses the link up, revokes every token of the account
    /// and ends its sign-ins awaiting a second factor, in one commit with a `password.reset` event in the platform
    /// chain. An unknown, used, superseded or expired link is refused naming
    /// `token`; two confirmations of one link cannot both commit.
    pub async fn confirm_password_reset(
        &self,
        secret: &str,
        password_hash: String,
        request: RequestMeta,
    ) -> Result<()> {
        let mut reset = self.usable_reset(secret).await?;
        check_password_hash(&password_hash)?;
        let user = reset.value.user;
        let now = self.now();
        let mut changes = ChangeSet::new();
        let credential = Credential::initial(user, password_hash, now, SetBy::Owner)?;
        match store::load::<Credential>(self.store(), Scope::Platform, user.0).await? {
            Some(mut existing) => {
                existing.value = credential;
                changes.update(&existing)?;
            }
            None => {
                changes.insert(&credential)?;
            }
        }
        reset.value.state = ResetState::Used;
        reset.value.closed_at = Some(now);
        changes.update(&reset)?;
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
        // A sign-in half done with the old password (awaiting its second
        // factor) ends too.
        let challenges = self.end_pending_sign_ins(user, &mut changes).await?;
        let caller = Principal::new(user).with_request(request);
        changes.audit(self.event_in(
            audit::PLATFORM_CHAIN,
            Actor {
                user: Some(user),
                role: None,
                via: None,
            },
            &caller,
            "password.reset",
            Target::new(User::KIND, user),
            json!({
                "reset": reset.value.id,
                "tokens_revoked": revoked,
                "mfa_challenges_ended": challenges,
                "set_by": SetBy::Owner,
            }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }

    /// The reset a link names, if it may still be used; refusals name `token`.
    async fn usable_reset(&self, secret: &str) -> Result<Versioned<PasswordReset>> {
        let unknown = || Error::invalid("token", "is not a valid password reset link");
        let hash = link_hash(secret, RESET_PREFIX).ok_or_else(unknown)?;
        let found =
            store::find_unique::<PasswordReset>(self.store(), Scope::Platform, "token", &hash)
                .await?
                .filter(|r| bool::from(r.value.token_hash.as_bytes().ct_eq(hash.as_bytes())))
                .ok_or_else(unknown)?;
        found.value.check_usable(self.now())?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_link_is_refused_naming_the_token_and_saying_why() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let reset = |state| PasswordReset {
            id: PasswordResetId(Uuid::now_v7()),
            user: UserId(Uuid::now_v7()),
            token_hash: "h".into(),
            created_at: at,
            expires_at: at + RESET_LIFETIME,
            state,
            closed_at: None,
        };
        let why = |r: &PasswordReset, now| match r.check_usable(now) {
            Err(Error::Validation(e)) => {
                assert_eq!(e[0].field, "token");
                e[0].message.clone()
            }
            other => panic!("expected a refusal, got {other:?}"),
        };
        let pending = reset(ResetState::Pending);
        assert!(pending.check_usable(at + Duration::minutes(59)).is_ok());
        assert!(why(&pending, at + RESET_LIFETIME).contains("expired"));
        assert!(why(&reset(ResetState::Used), at).contains("already been used"));
        assert!(why(&reset(ResetState::Superseded), at).contains("newer request"));
        assert_eq!(
            reset_link("rgr_x"),
            "/reset-password?token=rgr_x".to_owned()
        );
        assert_eq!(
            portal_reset_link("acme", "rgr_x"),
            "/portal/acme/reset-password?token=rgr_x".to_owned()
        );
    }
}
