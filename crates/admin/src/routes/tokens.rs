//! API tokens: platform tokens (role super_admin, super admins only) and tenant tokens (role
//! tenant_admin, admins of the tenant). The secret is returned once at creation; only its
//! SHA-256 is stored. Revoking is idempotent.

use axum::extract::State;
use axum::response::Response;
use ringfence_store::{Role, TenantId, TokenId, TokenRepo as _};
use serde::Deserialize;
use uuid::Uuid;

use super::{created, tenant_admin_of};
use crate::api::{CreateToken, CreatedToken, TokenView};
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};
use crate::provision;
use crate::state::AdminState;

/// Path of a platform token.
#[derive(Debug, Deserialize)]
pub(crate) struct PlatformTokenPath {
    token_id: Uuid,
}

/// Path of a tenant token.
#[derive(Debug, Deserialize)]
pub(crate) struct TenantTokenPath {
    tenant_id: Uuid,
    token_id: Uuid,
}

fn check_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if n == 0 || n > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be 1 to 100 characters"));
    }
    Ok(())
}

/// Super-admin tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, description = "Tokens, newest first", body = [TokenView])))]
pub(crate) async fn list_platform_tokens(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<Vec<TokenView>>> {
    p.require_super()?;
    let list = state.store().list_tokens(None).await?;
    Ok(axum::Json(list.iter().map(TokenView::from).collect()))
}

/// Creates a super-admin token (the secret is shown only in this response).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, description = "Created", body = CreatedToken)))]
pub(crate) async fn create_platform_token(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<Response> {
    p.require_super()?;
    check_name(&req.name)?;
    let (t, secret) =
        provision::create_token(state.store(), None, Role::SuperAdmin, &req.name, &p.actor).await?;
    Ok(created(CreatedToken { token: secret.to_string(), info: TokenView::from(&t) }))
}

/// Revokes a super-admin token.
#[utoipa::path(delete, path = "/api/v1/tokens/{token_id}", tag = "tokens",
    params(("token_id" = Uuid, Path, description = "Token id")),
    responses((status = 200, description = "Revoked", body = TokenView)))]
pub(crate) async fn revoke_platform_token(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<PlatformTokenPath>,
) -> Result<axum::Json<TokenView>> {
    p.require_super()?;
    let t = state.store().revoke_token(None, TokenId(path.token_id), &p.actor).await?;
    Ok(axum::Json(TokenView::from(&t)))
}

/// Tokens of the tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/tokens", tag = "tokens",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "Tokens, newest first", body = [TokenView])))]
pub(crate) async fn list_tenant_tokens(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
) -> Result<axum::Json<Vec<TokenView>>> {
    tenant_admin_of(&state, &p, path.id()).await?;
    let list = state.store().list_tokens(Some(path.id())).await?;
    Ok(axum::Json(list.iter().map(TokenView::from).collect()))
}

/// Creates a tenant-admin token for the tenant (the secret is shown only in this response).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/tokens", tag = "tokens",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = CreateToken,
    responses((status = 201, description = "Created", body = CreatedToken)))]
pub(crate) async fn create_tenant_token(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<Response> {
    tenant_admin_of(&state, &p, path.id()).await?;
    check_name(&req.name)?;
    let (t, secret) = provision::create_token(
        state.store(),
        Some(path.id()),
        Role::TenantAdmin,
        &req.name,
        &p.actor,
    )
    .await?;
    Ok(created(CreatedToken { token: secret.to_string(), info: TokenView::from(&t) }))
}

/// Revokes a token of the tenant.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/tokens/{token_id}", tag = "tokens",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("token_id" = Uuid, Path, description = "Token id")),
    responses((status = 200, description = "Revoked", body = TokenView)))]
pub(crate) async fn revoke_tenant_token(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantTokenPath>,
) -> Result<axum::Json<TokenView>> {
    let t = TenantId(path.tenant_id);
    tenant_admin_of(&state, &p, t).await?;
    let tok = state.store().revoke_token(Some(t), TokenId(path.token_id), &p.actor).await?;
    Ok(axum::Json(TokenView::from(&tok)))
}
