//! Organizations, clients of an MSP, members and staff assignment.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use regentra_core::ids::{OrgId, UserId};
use regentra_core::rbac::Role;
use regentra_core::tenancy::overview::MspOverview;
use regentra_core::tenancy::{Member, Membership, OrgKind, Organization, StaffGrid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Id, blocking};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::page::{Page, PageQuery, Paged, Position};
use crate::server::problem::{Body, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_org, list_orgs))
        .routes(routes!(get_org, rename_org))
        .routes(routes!(create_client, list_clients))
        .routes(routes!(archive_client))
        .routes(routes!(restore_client))
        .routes(routes!(member_directory))
        .routes(routes!(staff_grid))
        .routes(routes!(msp_overview))
        .routes(routes!(add_member, list_members))
        .routes(routes!(change_member_role, remove_member))
        .routes(routes!(assign_staff))
        .routes(routes!(unassign_staff))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgBody {
    id: OrgId,
    name: String,
    kind: OrgKind,
    /// The MSP of a client org.
    parent: Option<OrgId>,
    created_at: DateTime<Utc>,
    /// When its MSP archived (offboarded) the client; `null` while active.
    archived_at: Option<DateTime<Utc>>,
}

impl From<Organization> for OrgBody {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            kind: o.kind,
            parent: o.parent,
            created_at: o.created_at,
            archived_at: o.archived_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberBody {
    user_id: UserId,
    org_id: OrgId,
    role: Role,
    /// The MSP that assigned this member, for staff assigned to a client.
    assigned_by: Option<OrgId>,
    created_at: DateTime<Utc>,
}

impl From<Membership> for MemberBody {
    fn from(m: Membership) -> Self {
        Self {
            user_id: m.user,
            org_id: m.org,
            role: m.role,
            assigned_by: m.assigned_by,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    name: String,
    /// `msp` or `standalone`; clients are created under their MSP.
    kind: OrgKind,
}

/// Creates an MSP or standalone organization (platform admins).
#[utoipa::path(post, path = "/v1/orgs", tag = "tenancy",
    request_body = CreateOrg,
    responses((status = 201, body = OrgBody), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(req): Body<CreateOrg>,
) -> ApiResult<(StatusCode, Json<OrgBody>)> {
    let org = state
        .regentra
        .create_organization(&caller, &req.name, req.kind)
        .await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// Every organization on the platform (platform admins).
#[utoipa::path(get, path = "/v1/orgs", tag = "tenancy", params(PageQuery),
    responses((status = 200, body = Paged<OrgBody>)),
    security(("bearer" = [])))]
async fn list_orgs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    page: Page,
) -> ApiResult<Json<Paged<OrgBody>>> {
    let orgs = state
        .regentra
        .list_organizations(&caller, page.request())
        .await?;
    Ok(Json(
        page.from_store(orgs, |o| Position::AfterId(o.id.0))
            .map(OrgBody::from),
    ))
}

/// One organization's profile.
#[utoipa::path(get, path = "/v1/orgs/{org_id}", tag = "tenancy",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = OrgBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<OrgBody>> {
    Ok(Json(
        state.regentra.get_organization(&caller, org).await?.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameOrg {
    name: String,
}

/// Renames an organization.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}", tag = "tenancy",
    params(("org_id" = Uuid, Path)), request_body = RenameOrg,
    responses((status = 200, body = OrgBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn rename_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<RenameOrg>,
) -> ApiResult<Json<OrgBody>> {
    Ok(Json(
        state
            .regentra
            .rename_organization(&caller, org, &req.name)
            .await?
            .into(),
    ))
}

/// An MSP's clients side by side, for its staff console: per client the
/// compliance score of each adopted framework, open tickets, SLA at risk
/// and breached in the last 30 days, completion of its open campaigns,
/// evidence expiring within 30 days and expired, and last activity; their
/// totals; and the series of scores and of breaches per ISO week (UTC).
/// Those who manage the MSP's tenants see every client, other staff the
/// clients they are assigned to; in each client a figure the caller's role
/// there may not see is `null`. A client read through the MSP's delegation
/// records one `access.delegated` event per overview.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/overview", tag = "tenancy",
    params(("org_id" = Uuid, Path, description = "the MSP")),
    responses((status = 200, body = MspOverview),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "the org is not an MSP")),
    security(("bearer" = [])))]
async fn msp_overview(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(msp): Id<OrgId>,
) -> ApiResult<Json<MspOverview>> {
    Ok(Json(state.regentra.msp_overview(&caller, msp).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    name: String,
    /// The email of the client's first admin, invited as `org_admin` in
    /// the same commit as the client is made (nothing is made when either
    /// is refused).
    #[serde(default)]
    admin_email: Option<String>,
    /// The first admin's name, offered when they accept (with
    /// `admin_email` only).
    #[serde(default)]
    admin_name: Option<String>,
}

/// An MSP creates a client tenant, and with `admin_email` invites its
/// first admin in the same commit.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/clients", tag = "tenancy",
    params(("org_id" = Uuid, Path, description = "the MSP")), request_body = CreateClient,
    responses((status = 201, body = OrgBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_client(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(msp): Id<OrgId>,
    Body(req): Body<CreateClient>,
) -> ApiResult<(StatusCode, Json<OrgBody>)> {
    let org = match (&req.admin_email, &req.admin_name) {
        (Some(email), name) => {
            state
                .regentra
                .provision_client(&caller, msp, &req.name, email, name.as_deref())
                .await?
                .0
        }
        (None, Some(_)) => {
            return Err(regentra_core::Error::invalid(
                "admin_name",
                "is the name of the first admin: give admin_email too",
            )
            .into());
        }
        (None, None) => {
            state
                .regentra
                .create_client(&caller, msp, &req.name)
                .await?
        }
    };
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// An MSP's client tenants.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/clients", tag = "tenancy",
    params(("org_id" = Uuid, Path, description = "the MSP"), PageQuery),
    responses((status = 200, body = Paged<OrgBody>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_clients(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(msp): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<OrgBody>>> {
    let clients = state
        .regentra
        .list_clients(&caller, msp, page.request())
        .await?;
    Ok(Json(
        page.from_store(clients, |o| Position::AfterId(o.id.0))
            .map(OrgBody::from),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    email: String,
    name: String,
    /// An initial password (at least 12 characters and hard to guess,
    /// counting the email and name as easy guesses) for an account this
    /// call creates. Never applied to an existing account: the platform
    /// operator is refused (422 naming `password`), anyone else is answered
    /// as for a new email and nothing is attached.
    password: Option<String>,
    role: Role,
}

/// What adding a member did, as far as the caller may know.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddStatus {
    /// The membership exists (platform operators, `201`).
    Added,
    /// Accepted (`202`): the same answer whether the email was new (the
    /// account and membership were made) or had an account (nothing was
    /// attached: joining needs the person's consent, so they were sent an
    /// invitation to accept signed in).
    Accepted,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddedMember {
    email: String,
    role: Role,
    status: AddStatus,
    /// The account's id, shown to platform operators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
}

/// Adds a member. A new email gets an account and the membership. For an
/// email that already has an account, only a platform operator attaches it
/// (`201` with the user id); anyone else gets `202`, the very answer a new
/// email gets, nothing is attached and the account's owner is invited
/// instead (see `/v1/orgs/{org_id}/invitations`), so the answer never
/// reveals whether an account exists.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/members", tag = "tenancy",
    params(("org_id" = Uuid, Path)), request_body = AddMember,
    responses((status = 201, body = AddedMember, description = "added (platform operators)"),
        (status = 202, body = AddedMember, description = "accepted (anyone else)"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    Body(req): Body<AddMember>,
) -> ApiResult<(StatusCode, Json<AddedMember>)> {
    // Hash before the call (argon2 is slow, so off the async threads),
    // whether or not the email has an account, so the time taken does not
    // tell either; the core applies it only to an account the call creates.
    let hash = match req.password {
        Some(password) => {
            let regentra = std::sync::Arc::clone(&state.regentra);
            // Weighed against the new account's email and name.
            let inputs = regentra_core::auth::password_user_inputs(&req.email, &req.name);
            Some(
                blocking(move || {
                    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                    regentra.hash_password_for(&password, &inputs)
                })
                .await??,
            )
        }
        None => None,
    };
    let added = state
        .regentra
        .add_member_with_password(&caller, org, &req.email, &req.name, req.role, hash)
        .await?;
    let (status, code, user_id) = match added.membership() {
        Some(m) => (AddStatus::Added, StatusCode::CREATED, Some(m.user)),
        None => (AddStatus::Accepted, StatusCode::ACCEPTED, None),
    };
    Ok((
        code,
        Json(AddedMember {
            email: added.email().to_owned(),
            role: added.role(),
            status,
            user_id,
        }),
    ))
}

/// An org's members.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/members", tag = "tenancy",
    params(("org_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<MemberBody>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn list_members(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
    page: Page,
) -> ApiResult<Json<Paged<MemberBody>>> {
    let members = state
        .regentra
        .list_members(&caller, org, page.request())
        .await?;
    Ok(Json(
        page.from_store(members, |m| Position::AfterId(m.id.0))
            .map(MemberBody::from),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    role: Role,
}

/// Changes a member's role. The last admin of an org cannot be demoted
/// (422 naming `role`); in an MSP, a role that cannot be assigned to
/// clients ends the member's assignments to the MSP's clients.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/members/{user_id}", tag = "tenancy",
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = ChangeRole,
    responses((status = 200, body = MemberBody), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn change_member_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, user)): Id<(OrgId, UserId)>,
    Body(req): Body<ChangeRole>,
) -> ApiResult<Json<MemberBody>> {
    Ok(Json(
        state
            .regentra
            .change_member_role(&caller, org, user, req.role)
            .await?
            .into(),
    ))
}

/// Removes a member from the org (the user stays on the platform). The
/// last admin of an org cannot be removed (422 naming `user`); removal
/// from an MSP ends the member's assignments to the MSP's clients.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/members/{user_id}", tag = "tenancy",
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((org, user)): Id<(OrgId, UserId)>,
) -> ApiResult<StatusCode> {
    state.regentra.remove_member(&caller, org, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignStaff {
    /// A member of the MSP.
    user_id: UserId,
    /// `technician` or `compliance_officer`.
    role: Role,
}

/// Assigns one of the MSP's staff to one of its clients.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/clients/{client_id}/staff", tag = "tenancy",
    params(("org_id" = Uuid, Path, description = "the MSP"), ("client_id" = Uuid, Path)),
    request_body = AssignStaff,
    responses((status = 201, body = MemberBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn assign_staff(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((msp, client)): Id<(OrgId, OrgId)>,
    Body(req): Body<AssignStaff>,
) -> ApiResult<(StatusCode, Json<MemberBody>)> {
    let m = state
        .regentra
        .assign_staff(&caller, msp, client, req.user_id, req.role)
        .await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// Ends a staff assignment.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/clients/{client_id}/staff/{user_id}", tag = "tenancy",
    params(("org_id" = Uuid, Path, description = "the MSP"), ("client_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn unassign_staff(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((msp, client, user)): Id<(OrgId, OrgId, UserId)>,
) -> ApiResult<StatusCode> {
    state
        .regentra
        .unassign_staff(&caller, msp, client, user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Offboards a client: it is archived. Its records are kept, but nobody
/// acts in it (its routes answer 404 to everyone), it leaves every org
/// list and the worker passes it by, until it is restored. Archiving an
/// archived client changes nothing.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/clients/{client_id}/archive", tag = "tenancy",
    params(("org_id" = Uuid, Path, description = "the MSP"), ("client_id" = Uuid, Path)),
    responses((status = 200, body = OrgBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn archive_client(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((msp, client)): Id<(OrgId, OrgId)>,
) -> ApiResult<Json<OrgBody>> {
    Ok(Json(
        state
            .regentra
            .archive_client(&caller, msp, client)
            .await
            // Its portal (and host name) opens or shuts with it.
            .inspect(|_| state.sites.forget())?
            .into(),
    ))
}

/// Restores an archived client: everyone who could act in it before can
/// again. Restoring an active client changes nothing.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/clients/{client_id}/restore", tag = "tenancy",
    params(("org_id" = Uuid, Path, description = "the MSP"), ("client_id" = Uuid, Path)),
    responses((status = 200, body = OrgBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn restore_client(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id((msp, client)): Id<(OrgId, OrgId)>,
) -> ApiResult<Json<OrgBody>> {
    Ok(Json(
        state
            .regentra
            .restore_client(&caller, msp, client)
            .await
            // Its portal (and host name) opens or shuts with it.
            .inspect(|_| state.sites.forget())?
            .into(),
    ))
}

/// A member with their name and email.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedMemberBody {
    #[serde(flatten)]
    member: MemberBody,
    name: String,
    email: String,
}

impl From<Member> for NamedMemberBody {
    fn from(m: Member) -> Self {
        Self {
            member: m.membership.into(),
            name: m.name,
            email: m.email,
        }
    }
}

/// The org's members with their names and emails, by name (everyone who
/// may read the org).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/directory", tag = "tenancy",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = Vec<NamedMemberBody>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn member_directory(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(org): Id<OrgId>,
) -> ApiResult<Json<Vec<NamedMemberBody>>> {
    let members = state.regentra.member_directory(&caller, org).await?;
    Ok(Json(members.into_iter().map(Into::into).collect()))
}

/// Who of an MSP's staff works in which of its clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffGridBody {
    /// The MSP's technicians and compliance officers, by name.
    staff: Vec<NamedMemberBody>,
    /// The MSP's active clients, by name.
    clients: Vec<OrgBody>,
    /// Those staff's memberships in those clients (`assigned_by` is the
    /// MSP for its assignments).
    memberships: Vec<MemberBody>,
}

impl From<StaffGrid> for StaffGridBody {
    fn from(g: StaffGrid) -> Self {
        Self {
            staff: g.staff.into_iter().map(Into::into).collect(),
            clients: g.clients.into_iter().map(Into::into).collect(),
            memberships: g.memberships.into_iter().map(Into::into).collect(),
        }
    }
}

/// The MSP's staff assignment grid: its assignable staff, its active
/// clients and who works where (those who assign staff).
#[utoipa::path(get, path = "/v1/orgs/{org_id}/staff-grid", tag = "tenancy",
    params(("org_id" = Uuid, Path, description = "the MSP")),
    responses((status = 200, body = StaffGridBody), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn staff_grid(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Id(msp): Id<OrgId>,
) -> ApiResult<Json<StaffGridBody>> {
    Ok(Json(state.regentra.staff_grid(&caller, msp).await?.into()))
}
