//! Calling rules beyond the tenant's settings: the platform overrides of a tenant (super
//! admins set them; the tenant's admins may read them), an extension's restrictions (tenant
//! admins) and its call forwarding (tenant admins, or the user who owns the extension).
//! Changes take effect on the next call.

use axum::extract::State;
use ringfence_store::{ExtensionNumber, ExtensionRepo as _, TenantRepo as _};

use super::extensions::{ExtensionPath, extension_for, require_admin};
use super::tenant_admin_of;
use super::tenants::TenantPath;
use crate::api::{Forwarding, Overrides, Restrictions};
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AdminState;

/// The exceptions the platform grants the tenant (premium rate, shared cost, high risk,
/// non-geographic).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/overrides", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "Overrides", body = Overrides)))]
pub(crate) async fn get_overrides(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
) -> Result<axum::Json<Overrides>> {
    let t = tenant_admin_of(&state, &p, path.id()).await?;
    Ok(axum::Json((&t.overrides).into()))
}

/// Grants or withdraws the platform's exceptions for the tenant. Super admins only: a
/// tenant admin gets 403.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/overrides", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = Overrides,
    responses((status = 200, description = "Updated overrides", body = Overrides)))]
pub(crate) async fn put_overrides(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<Overrides>,
) -> Result<axum::Json<Overrides>> {
    tenant_admin_of(&state, &p, path.id()).await?;
    p.require_super()?;
    let t = state.store().set_platform_overrides(path.id(), req.into(), &p.actor).await?;
    state.listener().tenant_changed(t.domain.as_str());
    Ok(axum::Json((&t.overrides).into()))
}

/// What the extension may not call, within the tenant's policy.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/restrictions", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    responses((status = 200, description = "Restrictions", body = Restrictions)))]
pub(crate) async fn get_restrictions(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
) -> Result<axum::Json<Restrictions>> {
    let (_, ext) = extension_for(&state, &p, &path).await?;
    Ok(axum::Json((&ext.restrictions).into()))
}

/// Narrows what the extension may call (tenant admins). A restriction that names something
/// the tenant does not allow (e.g. a country off the tenant's list) is refused with 422.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/restrictions", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    request_body = Restrictions,
    responses((status = 200, description = "Updated restrictions", body = Restrictions)))]
pub(crate) async fn put_restrictions(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
    ApiJson(req): ApiJson<Restrictions>,
) -> Result<axum::Json<Restrictions>> {
    let (tenant, ext) = extension_for(&state, &p, &path).await?;
    require_admin(&p)?;
    let restrictions = req.into_store(&tenant.settings)?;
    let ext =
        state.store().set_calling_restrictions(tenant.id, ext.id, &restrictions, &p.actor).await?;
    state.listener().extension_changed(tenant.domain.as_str(), ext.number.as_str());
    Ok(axum::Json((&ext.restrictions).into()))
}

/// The extension's call forwarding.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/forwarding", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    responses((status = 200, description = "Forwarding", body = Forwarding)))]
pub(crate) async fn get_forwarding(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
) -> Result<axum::Json<Forwarding>> {
    let (_, ext) = extension_for(&state, &p, &path).await?;
    Ok(axum::Json((&ext.forwarding).into()))
}

/// Sets the extension's call forwarding (tenant admins, or the user who owns the
/// extension). A target of 2 to 8 digits must be another extension of the tenant; anything
/// longer is a phone number, decided by the calling policy when a call is forwarded.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/forwarding", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    request_body = Forwarding,
    responses((status = 200, description = "Updated forwarding", body = Forwarding)))]
pub(crate) async fn put_forwarding(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
    ApiJson(req): ApiJson<Forwarding>,
) -> Result<axum::Json<Forwarding>> {
    let (tenant, ext) = extension_for(&state, &p, &path).await?;
    let forwarding: ringfence_store::CallForwarding = req.into();
    forwarding.validate()?;
    for (field, target) in [
        ("always", &forwarding.always),
        ("busy", &forwarding.busy),
        ("no_answer", &forwarding.no_answer),
        ("unavailable", &forwarding.unavailable),
    ] {
        let Some(target) = target else { continue };
        let Ok(number) = ExtensionNumber::parse(target) else { continue };
        if number == ext.number {
            return Err(Error::invalid(field, "an extension cannot forward to itself"));
        }
        if state.store().get_extension_by_number(tenant.id, &number).await?.is_none() {
            return Err(Error::invalid(field, format!("no extension {target} in this tenant")));
        }
    }
    let ext = state.store().set_call_forwarding(tenant.id, ext.id, &forwarding, &p.actor).await?;
    state.listener().extension_changed(tenant.domain.as_str(), ext.number.as_str());
    Ok(axum::Json((&ext.forwarding).into()))
}
