//! An org's security settings: its members' session duration and whether
//! they must use MFA.

use axum::Json;
use axum::extract::State;
use regentra_core::ids::OrgId;
use regentra_core::tenancy::{OrgSecurity, SecuritySettings};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(org_security, set_org_security))
}

/// The settings, whole: a `PUT` replaces them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityRequest {
    /// The longest a member's sign-in session lasts, in hours (1 to 720:
    /// one hour to 30 days); `null` or left out: the server's lifetime.
    /// Applies to sessions started after the change.
    #[serde(default)]
    session_hours: Option<u32>,
    /// Whether members must sign in with a second factor.
    mfa_required: bool,
    /// Days a member without MFA may still sign in once it becomes
    /// required (0 to 90).
    mfa_grace_days: u32,
}

/// The org's security settings (defaults until first saved: no session
/// limit of its own, no MFA requirement). Readable by members who may
/// read the org.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/security", tag = "tenancy",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = OrgSecurity), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn org_security(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<OrgSecurity>> {
    Ok(Json(state.regentra.org_security(&caller, org).await?))
}

/// Replaces the org's security settings (org admins; audited as
/// `org.security_updated`). Every field out of range is named at once and
/// nothing is saved.
#[utoipa::path(put, path = "/v1/orgs/{org_id}/security", tag = "tenancy",
    params(("org_id" = Uuid, Path)), request_body = SecurityRequest,
    responses((status = 200, body = OrgSecurity),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn set_org_security(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<SecurityRequest>,
) -> ApiResult<Json<OrgSecurity>> {
    let settings = SecuritySettings {
        session_hours: req.session_hours,
        mfa_required: req.mfa_required,
        mfa_grace_days: req.mfa_grace_days,
    };
    Ok(Json(
        state
            .regentra
            .set_org_security(&caller, org, settings)
            .await?,
    ))
}
