//! Tenants: list, create, show, rename, delete (super admins; tenant admins see their own).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ringfence_store::{EncryptionRequirement, TenantId, TenantRepo as _};
use serde::Deserialize;
use uuid::Uuid;

use super::{created, tenant_admin_of};
use crate::api::{CreateTenant, TenantView, UpdateTenant};
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};
use crate::provision;
use crate::state::AdminState;

/// Path of a tenant.
#[derive(Debug, Deserialize)]
pub(crate) struct TenantPath {
    pub(crate) tenant_id: Uuid,
}

impl TenantPath {
    pub(crate) fn id(&self) -> TenantId {
        TenantId(self.tenant_id)
    }
}

/// Tenants the caller administers: all for super admins, their own for tenant admins.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, description = "Tenants", body = [TenantView])))]
pub(crate) async fn list_tenants(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<Vec<TenantView>>> {
    if p.is_super() {
        let all = state.store().list_tenants().await?;
        return Ok(axum::Json(all.into_iter().map(TenantView::from).collect()));
    }
    let Some(t) = p.tenant_id else { return Ok(axum::Json(Vec::new())) };
    let tenant = tenant_admin_of(&state, &p, t).await?;
    Ok(axum::Json(vec![tenant.into()]))
}

/// Creates a tenant with secure defaults (encryption required, international calling off).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, description = "Created", body = TenantView)))]
pub(crate) async fn create_tenant(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiJson(req): ApiJson<CreateTenant>,
) -> Result<Response> {
    p.require_super()?;
    let country =
        req.home_country.clone().unwrap_or_else(|| state.config().default_home_country.to_string());
    let encryption = req.encryption.map_or(EncryptionRequirement::Required, Into::into);
    let tenant = provision::create_tenant(
        state.store(),
        &req.name,
        &req.domain,
        &country,
        encryption,
        &p.actor,
    )
    .await?;
    Ok(created(TenantView::from(tenant)))
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant", body = TenantView)))]
pub(crate) async fn get_tenant(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
) -> Result<axum::Json<TenantView>> {
    Ok(axum::Json(tenant_admin_of(&state, &p, path.id()).await?.into()))
}

/// Renames a tenant (super admins). The domain cannot change: the stored HA1s depend on it.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = UpdateTenant,
    responses((status = 200, description = "Renamed", body = TenantView)))]
pub(crate) async fn rename_tenant(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<UpdateTenant>,
) -> Result<axum::Json<TenantView>> {
    tenant_admin_of(&state, &p, path.id()).await?;
    p.require_super()?;
    let t = state.store().rename_tenant(path.id(), &req.name, &p.actor).await?;
    Ok(axum::Json(t.into()))
}

/// Deletes a tenant with all its data, and destroys its data key (super admins).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_tenant(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
) -> Result<StatusCode> {
    let tenant = tenant_admin_of(&state, &p, path.id()).await?;
    p.require_super()?;
    state.store().delete_tenant(path.id(), &p.actor).await?;
    state.sessions().remove_tenant(path.id());
    state.listener().tenant_changed(tenant.domain.as_str());
    // Its guard allow/deny entries went with it: the running guard must not apply them to a
    // later tenant of the same domain.
    if let Err(e) = state.guard().rules_changed().await {
        tracing::error!(error = %e, "the running guard did not reload its allow/deny entries");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Maps store validation of whole settings to the field of the section being written.
pub(crate) fn settings_error(e: ringfence_store::StoreError, section_field: &str) -> Error {
    match e {
        ringfence_store::StoreError::Invalid { field, message } => {
            let f = field.rsplit('.').next().unwrap_or(field);
            let f = if f == "fraud_limits" { section_field } else { f };
            Error::invalid(f, message)
        }
        other => other.into(),
    }
}
