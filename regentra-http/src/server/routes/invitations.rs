//! Invitations: an org's admins invite, resend, revoke and list; the
//! holder of a link looks it up and accepts it. Tokens travel in request
//! bodies only, never in an API path (paths are logged); the email's link
//! carries the token in the query string of the web page at `/invite`.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use chrono::{DateTime, Utc};
use regentra_core::ids::{InvitationId, OrgId, UserId};
use regentra_core::rbac::Role;
use regentra_core::tenancy::{Invitation, InvitationStatus};
use regentra_core::{Error, Principal, RequestMeta};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, blocking};
use crate::server::AppState;
use crate::server::auth::{Caller, request_meta};
use crate::server::page::{Page, PageQuery, Paged, Position};
use crate::server::problem::{ApiError, Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite, list_invitations))
        .routes(routes!(resend_invitation))
        .routes(routes!(revoke_invitation))
        .routes(routes!(lookup_invitation))
        .routes(routes!(accept_invitation))
}

/// An invitation as its org's admins see it (never its token).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationBody {
    id: InvitationId,
    email: String,
    /// The name the inviter gave, if any.
    name: Option<String>,
    role: Role,
    /// `pending`, `accepted`, `revoked`, or `expired` (a pending invitation
    /// past `expires_at`).
    state: InvitationStatus,
    created_at: DateTime<Utc>,
    /// When the link was last sent.
    sent_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl InvitationBody {
    fn at(invitation: Invitation, now: DateTime<Utc>) -> Self {
        Self {
            state: invitation.status(now),
            id: invitation.id,
            email: invitation.email,
            name: invitation.name,
            role: invitation.role,
            created_at: invitation.created_at,
            sent_at: invitation.sent_at,
            expires_at: invitation.expires_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    email: String,
    /// The person's name, offered to them when they accept with a new
    /// account (they may change it).
    #[serde(default)]
    name: Option<String>,
    /// A role that fits the org's kind (`msp_admin` only in an MSP; never
    /// `super_admin`).
    role: Role,
}

/// Invites an email to the org with a role: the invitee gets an email with
/// a link that expires after 7 days. The answer (`202`) is the same whether
/// or not the email has an account; an email that is already a member is
/// refused (409 naming `email`). Inviting an email that has a pending
/// invitation replaces it (the old link stops working).
#[utoipa::path(post, path = "/v1/orgs/{org_id}/invitations", tag = "tenancy",
    params(("org_id" = Uuid, Path)), request_body = InviteRequest,
    responses((status = 202, body = InvitationBody),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn invite(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<InviteRequest>,
) -> ApiResult<(StatusCode, Json<InvitationBody>)> {
    let invitation = state
        .regentra
        .invite_named(&caller, org, &req.email, req.name.as_deref(), req.role)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(InvitationBody::at(invitation, state.regentra.now())),
    ))
}

/// The org's invitations with their state, oldest first.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/invitations", tag = "tenancy",
    params(("org_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<InvitationBody>),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_invitations(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<InvitationBody>>> {
    let invitations = state
        .regentra
        .list_invitations(&caller, org, page.request())
        .await?;
    let now = state.regentra.now();
    Ok(Json(
        page.from_store(invitations, |i| Position::AfterId(i.id.0))
            .map(|i| InvitationBody::at(i, now)),
    ))
}

/// Sends a pending (or expired) invitation again, with a new link and a new
/// expiry; the old link stops working. An accepted or revoked invitation is
/// refused (422 naming `invitation`).
#[utoipa::path(post, path = "/v1/orgs/{org_id}/invitations/{invitation_id}/resend", tag = "tenancy",
    params(("org_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 202, body = InvitationBody),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn resend_invitation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, invitation)): Id<(OrgId, InvitationId)>,
) -> ApiResult<(StatusCode, Json<InvitationBody>)> {
    let invitation = state
        .regentra
        .resend_invitation(&caller, org, invitation)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(InvitationBody::at(invitation, state.regentra.now())),
    ))
}

/// Revokes an invitation: its link stops working. Revoking it again
/// changes nothing; an accepted one is refused (422 naming `invitation`).
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/invitations/{invitation_id}", tag = "tenancy",
    params(("org_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 200, body = InvitationBody),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn revoke_invitation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, invitation)): Id<(OrgId, InvitationId)>,
) -> ApiResult<Json<InvitationBody>> {
    let invitation = state
        .regentra
        .revoke_invitation(&caller, org, invitation)
        .await?;
    Ok(Json(InvitationBody::at(invitation, state.regentra.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// The token of the invitation's link (`rgi_...`).
    token: String,
}

/// What the holder of an invitation's link may know.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPreviewBody {
    org_id: OrgId,
    org_name: String,
    email: String,
    /// The name the inviter gave, to offer a new account.
    name: Option<String>,
    role: Role,
    expires_at: DateTime<Utc>,
    /// Whether the invited email has an account: then its owner signs in
    /// and accepts; otherwise they choose a name and a password.
    has_account: bool,
}

/// Looks an invitation's link up, so the page can ask for the right thing.
/// An unknown, used, revoked or expired link is refused (422 naming
/// `token`, saying which).
#[utoipa::path(post, path = "/v1/invitations/lookup", tag = "tenancy",
    request_body = LookupRequest,
    responses((status = 200, body = InvitationPreviewBody),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(()))]
async fn lookup_invitation(
    State(state): State<AppState>,
    Body(req): Body<LookupRequest>,
) -> ApiResult<Json<InvitationPreviewBody>> {
    let preview = state.regentra.invitation_preview(&req.token).await?;
    Ok(Json(InvitationPreviewBody {
        org_id: preview.org,
        org_name: preview.org_name,
        email: preview.email,
        name: preview.name,
        role: preview.role,
        expires_at: preview.expires_at,
        has_account: preview.has_account,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The token of the invitation's link (`rgi_...`).
    token: String,
    /// The new account's name: required without a bearer token, refused
    /// with one.
    #[serde(default)]
    name: Option<String>,
    /// The new account's password (at least 12 characters and hard to
    /// guess, counting the email and name as easy guesses): required
    /// without a bearer token, refused with one.
    #[serde(default)]
    password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedInvitation {
    org_id: OrgId,
    role: Role,
    user_id: UserId,
    /// Whether this call made the account.
    new_account: bool,
    /// Whether the account's password was removed, with its tokens,
    /// because another organization's admin may know it: its owner sets a
    /// new one through a password reset.
    password_removed: bool,
}

/// The caller, when the request carries a bearer token (a wrong one is
/// refused, never taken as no caller).
#[derive(Debug)]
pub struct MaybeCaller(Option<Principal>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeCaller(None));
        }
        let Caller(caller) = Caller::from_request_parts(parts, state).await?;
        Ok(MaybeCaller(Some(caller)))
    }
}

/// Where a request came from, for the audit trail of callers without a token.
#[derive(Debug)]
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Meta(request_meta(parts)))
    }
}

/// Accepts an invitation. Signed in (bearer token) as the invited email's
/// account: only then does that account become a member (its consent);
/// signed in as another account, refused (422 naming `token`). Without a
/// token, for an email that has no account: `name` and `password` make the
/// account, whose password is the owner's. Used, revoked and expired links
/// are refused (422 naming `token`, saying which).
#[utoipa::path(post, path = "/v1/invitations/accept", tag = "tenancy",
    request_body = AcceptRequest,
    responses((status = 200, body = AcceptedInvitation),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security((), ("bearer" = [])))]
async fn accept_invitation(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Meta(meta): Meta,
    Body(req): Body<AcceptRequest>,
) -> ApiResult<Json<AcceptedInvitation>> {
    let (accepted, new_account) = match caller {
        Some(caller) => {
            for (field, given) in [
                ("name", req.name.is_some()),
                ("password", req.password.is_some()),
            ] {
                if given {
                    return Err(Error::invalid(
                        field,
                        "signed in: the account keeps its own name and password, leave it out",
                    )
                    .into());
                }
            }
            let accepted = state
                .regentra
                .accept_invitation(&caller, &req.token)
                .await?;
            (accepted, false)
        }
        None => {
            let name = req.name.ok_or_else(|| {
                Error::invalid(
                    "name",
                    "required to make your account (or sign in and accept)",
                )
            })?;
            let password = req.password.ok_or_else(|| {
                Error::invalid(
                    "password",
                    "required to make your account (or sign in and accept)",
                )
            })?;
            // The invited email, for the password rule (and to refuse a
            // bad link before spending a hash on it).
            let preview = state.regentra.invitation_preview(&req.token).await?;
            let regentra = std::sync::Arc::clone(&state.regentra);
            let inputs = regentra_core::auth::password_user_inputs(&preview.email, &name);
            let hash = blocking(move || {
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                regentra.hash_password_for(&password, &inputs)
            })
            .await??;
            let accepted = state
                .regentra
                .accept_invitation_with_new_account(&req.token, &name, hash, meta)
                .await?;
            (accepted, true)
        }
    };
    Ok(Json(AcceptedInvitation {
        org_id: accepted.membership.org,
        role: accepted.membership.role,
        user_id: accepted.user.id,
        new_account,
        password_removed: accepted.credential_removed,
    }))
}
