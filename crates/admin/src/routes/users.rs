//! Users and roles of a tenant, and the platform's super admins.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ringfence_store::{Email, NewUser, Role, Tenant, TenantId, User, UserId, UserRepo as _};
use serde::Deserialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{created, tenant_admin_of};
use crate::api::{
    AdminSetPassword, CreateSuperAdmin, CreateUser, CreatedUser, PasswordReset, SetRole, UserView,
};
use crate::auth::{Auth, Principal, password};
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};
use crate::policy;
use crate::state::AdminState;

/// Path of a tenant's user.
#[derive(Debug, Deserialize)]
pub(crate) struct UserPath {
    tenant_id: Uuid,
    user_id: Uuid,
}

/// Path of a super admin.
#[derive(Debug, Deserialize)]
pub(crate) struct SuperAdminPath {
    user_id: Uuid,
}

/// Checks or generates a password; returns its hash and, if generated, the one-time password.
async fn new_password(
    given: Option<String>,
    email: &str,
    tenant: Option<&Tenant>,
) -> Result<(String, Option<Zeroizing<String>>)> {
    match given {
        Some(pw) => {
            let pw = Zeroizing::new(pw);
            let min = tenant
                .map_or(12, |t| usize::from(t.settings.credential_policy.min_password_length));
            policy::check_login_password(
                "password",
                &pw,
                min,
                email,
                tenant.map(|t| t.name.as_str()),
            )?;
            Ok((password::hash(pw).await?, None))
        }
        None => {
            let pw = policy::generate_secret(policy::GENERATED_SECRET_LEN)?;
            Ok((password::hash(pw.clone()).await?, Some(pw)))
        }
    }
}

async fn user_in(state: &AdminState, scope: Option<TenantId>, id: Uuid) -> Result<User> {
    state.store().get_user(scope, UserId(id)).await?.ok_or_else(|| Error::not_found("user"))
}

fn not_self(p: &Principal, id: Uuid) -> Result<()> {
    if p.user.as_ref().is_some_and(|u| u.id.0 == id) {
        return Err(Error::conflict(
            "cannot_modify_self",
            "you cannot do this to your own account; ask another admin",
        ));
    }
    Ok(())
}

/// Users of the tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/users", tag = "users",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "Users", body = [UserView])))]
pub(crate) async fn list_users(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
) -> Result<axum::Json<Vec<UserView>>> {
    tenant_admin_of(&state, &p, path.id()).await?;
    let users = state.store().list_users(Some(path.id())).await?;
    Ok(axum::Json(users.iter().map(UserView::from).collect()))
}

/// Creates a user (tenant admin or user). Without a password a one-time password is
/// generated and returned once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/users", tag = "users",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = CreateUser,
    responses((status = 201, description = "Created", body = CreatedUser)))]
pub(crate) async fn create_user(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<Response> {
    let tenant = tenant_admin_of(&state, &p, path.id()).await?;
    let role: Role = req.role.into();
    if role == Role::SuperAdmin {
        if !p.is_super() {
            return Err(Error::forbidden("tenant admins cannot create super admins"));
        }
        return Err(Error::invalid(
            "role",
            "super admins belong to no tenant; create them under /api/v1/super-admins",
        ));
    }
    let email = Email::parse(&req.email).map_err(|e| Error::from(e).with_field("email"))?;
    let generated = req.password.is_none();
    let (hash, one_time) = new_password(req.password, email.as_str(), Some(&tenant)).await?;
    let user = state
        .store()
        .create_user(
            NewUser {
                tenant_id: Some(tenant.id),
                email,
                role,
                password_hash: hash,
                must_change_password: generated || req.must_change_password.unwrap_or(true),
            },
            &p.actor,
        )
        .await?;
    Ok(created(CreatedUser {
        user: UserView::from(&user),
        one_time_password: one_time.map(|s| s.to_string()),
    }))
}

/// One user of the tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/users/{user_id}", tag = "users",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user", body = UserView)))]
pub(crate) async fn get_user(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<axum::Json<UserView>> {
    let t = TenantId(path.tenant_id);
    tenant_admin_of(&state, &p, t).await?;
    Ok(axum::Json(UserView::from(&user_in(&state, Some(t), path.user_id).await?)))
}

/// Deletes a user; their sessions end and their extensions lose their owner.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/users/{user_id}", tag = "users",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_user(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<StatusCode> {
    let t = TenantId(path.tenant_id);
    tenant_admin_of(&state, &p, t).await?;
    user_in(&state, Some(t), path.user_id).await?;
    not_self(&p, path.user_id)?;
    state.store().delete_user(Some(t), UserId(path.user_id), &p.actor).await?;
    state.sessions().remove_user(UserId(path.user_id), None);
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a user's role (`tenant_admin` or `user`).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/users/{user_id}/role", tag = "users",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    request_body = SetRole,
    responses((status = 200, description = "Updated", body = UserView)))]
pub(crate) async fn set_role(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(req): ApiJson<SetRole>,
) -> Result<axum::Json<UserView>> {
    let t = TenantId(path.tenant_id);
    tenant_admin_of(&state, &p, t).await?;
    user_in(&state, Some(t), path.user_id).await?;
    let role: Role = req.role.into();
    if role == Role::SuperAdmin {
        if !p.is_super() {
            return Err(Error::forbidden("tenant admins cannot make super admins"));
        }
        return Err(Error::invalid("role", "a tenant user cannot become a super admin"));
    }
    not_self(&p, path.user_id)?;
    let u = state.store().set_user_role(Some(t), UserId(path.user_id), role, &p.actor).await?;
    Ok(axum::Json(UserView::from(&u)))
}

/// Sets a new password for a user (generated if none is given); the user must change it at
/// next login and their sessions end.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/users/{user_id}/password", tag = "users",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    request_body = AdminSetPassword,
    responses((status = 200, description = "Password set", body = PasswordReset)))]
pub(crate) async fn admin_set_password(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(req): ApiJson<AdminSetPassword>,
) -> Result<axum::Json<PasswordReset>> {
    let t = TenantId(path.tenant_id);
    let tenant = tenant_admin_of(&state, &p, t).await?;
    let user = user_in(&state, Some(t), path.user_id).await?;
    set_password_of(&state, &p, &user, Some(&tenant), req.password).await
}

async fn set_password_of(
    state: &AdminState,
    p: &Principal,
    user: &User,
    tenant: Option<&Tenant>,
    given: Option<String>,
) -> Result<axum::Json<PasswordReset>> {
    not_self(p, user.id.0)?;
    let (hash, one_time) = new_password(given, user.email.as_str(), tenant).await?;
    state.store().set_user_password(user.tenant_id, user.id, &hash, true, &p.actor).await?;
    state.sessions().remove_user(user.id, None);
    Ok(axum::Json(PasswordReset { one_time_password: one_time.map(|s| s.to_string()) }))
}

/// Removes a user's TOTP enrollment (lost device); they enroll again at next login.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/users/{user_id}/totp", tag = "users",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "TOTP removed")))]
pub(crate) async fn reset_totp(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<StatusCode> {
    let t = TenantId(path.tenant_id);
    tenant_admin_of(&state, &p, t).await?;
    user_in(&state, Some(t), path.user_id).await?;
    not_self(&p, path.user_id)?;
    state.store().clear_totp(Some(t), UserId(path.user_id), &p.actor).await?;
    state.sessions().remove_user(UserId(path.user_id), None);
    Ok(StatusCode::NO_CONTENT)
}

/// The platform's super admins.
#[utoipa::path(get, path = "/api/v1/super-admins", tag = "users",
    responses((status = 200, description = "Super admins", body = [UserView])))]
pub(crate) async fn list_super_admins(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<Vec<UserView>>> {
    p.require_super()?;
    let users = state.store().list_users(None).await?;
    Ok(axum::Json(users.iter().map(UserView::from).collect()))
}

/// Creates a super admin (generated one-time password unless one is given).
#[utoipa::path(post, path = "/api/v1/super-admins", tag = "users", request_body = CreateSuperAdmin,
    responses((status = 201, description = "Created", body = CreatedUser)))]
pub(crate) async fn create_super_admin(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiJson(req): ApiJson<CreateSuperAdmin>,
) -> Result<Response> {
    p.require_super()?;
    let email = Email::parse(&req.email).map_err(|e| Error::from(e).with_field("email"))?;
    let (hash, one_time) = new_password(req.password, email.as_str(), None).await?;
    let user = state
        .store()
        .create_user(
            NewUser {
                tenant_id: None,
                email,
                role: Role::SuperAdmin,
                password_hash: hash,
                must_change_password: true,
            },
            &p.actor,
        )
        .await?;
    Ok(created(CreatedUser {
        user: UserView::from(&user),
        one_time_password: one_time.map(|s| s.to_string()),
    }))
}

/// Deletes another super admin.
#[utoipa::path(delete, path = "/api/v1/super-admins/{user_id}", tag = "users",
    params(("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_super_admin(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<SuperAdminPath>,
) -> Result<StatusCode> {
    p.require_super()?;
    user_in(&state, None, path.user_id).await?;
    not_self(&p, path.user_id)?;
    state.store().delete_user(None, UserId(path.user_id), &p.actor).await?;
    state.sessions().remove_user(UserId(path.user_id), None);
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password for another super admin (must be changed at next login).
#[utoipa::path(post, path = "/api/v1/super-admins/{user_id}/password", tag = "users",
    params(("user_id" = Uuid, Path, description = "User id")),
    request_body = AdminSetPassword,
    responses((status = 200, description = "Password set", body = PasswordReset)))]
pub(crate) async fn super_admin_set_password(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<SuperAdminPath>,
    ApiJson(req): ApiJson<AdminSetPassword>,
) -> Result<axum::Json<PasswordReset>> {
    p.require_super()?;
    let user = user_in(&state, None, path.user_id).await?;
    set_password_of(&state, &p, &user, None, req.password).await
}

/// Removes another super admin's TOTP enrollment.
#[utoipa::path(delete, path = "/api/v1/super-admins/{user_id}/totp", tag = "users",
    params(("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "TOTP removed")))]
pub(crate) async fn super_admin_reset_totp(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<SuperAdminPath>,
) -> Result<StatusCode> {
    p.require_super()?;
    user_in(&state, None, path.user_id).await?;
    not_self(&p, path.user_id)?;
    state.store().clear_totp(None, UserId(path.user_id), &p.actor).await?;
    state.sessions().remove_user(UserId(path.user_id), None);
    Ok(StatusCode::NO_CONTENT)
}
