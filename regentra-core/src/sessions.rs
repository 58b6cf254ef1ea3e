//! Sign-in sessions: the login tokens a password sign-in issues
//! ([`Regentra::issue_login_token`]), seen from their user. A user lists
//! their live sessions, signs out (ends the session of the request), and
//! ends another session (a browser left signed in elsewhere). API tokens
//! are not sessions: they are managed as tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::Target;
use crate::auth::{ApiToken, TokenKind};
use crate::error::{Error, Result};
use crate::ids::TokenId;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, Scope, Versioned};

/// One live sign-in session of the caller.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: TokenId,
    pub created_at: DateTime<Utc>,
    /// Written at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When the session ends unless used before (its idle expiry moves
    /// with use; its absolute end does not).
    pub expires_at: DateTime<Utc>,
    /// The address it was started from, when known.
    pub ip: Option<String>,
    /// The user agent it was started from, when known.
    pub user_agent: Option<String>,
    /// Whether this is the session of the request that asked.
    pub current: bool,
}

impl Regentra {
    /// The caller's live sign-in sessions (not revoked, not expired), the
    /// oldest first.
    pub async fn sessions(&self, principal: &Principal) -> Result<Vec<SessionView>> {
        let now = self.now();
        Ok(self
            .all_tokens(principal)
            .await?
            .into_iter()
            .filter(|t| t.kind == TokenKind::Login && t.revoked_at.is_none())
            .filter_map(|t| {
                let expires_at = self.token_expiry(&t)?;
                (now < expires_at).then(|| SessionView {
                    id: t.id,
                    created_at: t.created_at,
                    last_used_at: t.last_used_at,
                    expires_at,
                    ip: t.issued_to_ip,
                    user_agent: t.issued_to_user_agent,
                    current: principal.token == Some(t.id),
                })
            })
            .collect())
    }

    /// Signs out: ends the session the request authenticated with. A
    /// request made with an API token is refused (naming `token`): an API
    /// token is revoked as a token, not signed out of.
    pub async fn end_session(&self, principal: &Principal) -> Result<()> {
        let Some(id) = principal.token else {
            return Err(Error::Unauthenticated);
        };
        let token = store::require::<ApiToken>(self.store(), Scope::Platform, id.0).await?;
        if token.value.kind != TokenKind::Login {
            return Err(Error::invalid(
                "token",
                "is an API token, not a sign-in session: revoke it with DELETE /v1/me/tokens/{id}",
            ));
        }
        self.revoke_session(principal, token, "session.signed_out")
            .await
    }

    /// Ends one of the caller's sessions (any but an API token: those are
    /// revoked as tokens). Another user's session, an API token or an id
    /// that names nothing are all `NotFound`; an ended session stays ended.
    pub async fn end_other_session(&self, principal: &Principal, session: TokenId) -> Result<()> {
        let token = match store::load::<ApiToken>(self.store(), Scope::Platform, session.0).await? {
            Some(t) if t.value.user == principal.user && t.value.kind == TokenKind::Login => t,
            _ => {
                return Err(Error::NotFound { what: "session" });
            }
        };
        if token.value.revoked_at.is_some() {
            return Ok(());
        }
        self.revoke_session(principal, token, "session.ended").await
    }

    async fn revoke_session(
        &self,
        principal: &Principal,
        mut token: Versioned<ApiToken>,
        action: &str,
    ) -> Result<()> {
        token.value.revoked_at = Some(self.now());
        let mut changes = ChangeSet::new();
        changes.update(&token)?;
        changes.audit(self.platform_event(
            Some(principal),
            action,
            Target::new(ApiToken::KIND, token.value.id),
            json!({ "hint": token.value.hint }),
        ));
        self.store().apply(changes).await?;
        Ok(())
    }
}
