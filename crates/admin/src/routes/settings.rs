//! Tenant settings: read all, replace one section at a time (tenant admins and super admins).

use axum::extract::State;
use ringfence_store::{Tenant, TenantRepo as _, TenantSettings};

use super::tenant_admin_of;
use super::tenants::{TenantPath, settings_error};
use crate::api::{
    BlockRules, CallingPolicy, CredentialPolicy, DeviceNetworks, FraudLimits, GeneralSettings,
    Notifications, TenantSettingsView,
};
use crate::auth::{Auth, Principal};
use crate::error::Result;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AdminState;

/// Every setting of the tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/settings", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "Settings", body = TenantSettingsView)))]
pub(crate) async fn get_settings(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
) -> Result<axum::Json<TenantSettingsView>> {
    let t = tenant_admin_of(&state, &p, path.id()).await?;
    Ok(axum::Json((&t.settings).into()))
}

/// Reads the settings, lets `change` edit them, validates and stores them in one write.
async fn update(
    state: &AdminState,
    p: &Principal,
    path: &TenantPath,
    first_field: &str,
    change: impl FnOnce(&mut TenantSettings) -> Result<()>,
) -> Result<axum::Json<TenantSettingsView>> {
    let tenant: Tenant = tenant_admin_of(state, p, path.id()).await?;
    let mut settings = tenant.settings.clone();
    change(&mut settings)?;
    settings.validate().map_err(|e| settings_error(e, first_field))?;
    let t = state
        .store()
        .update_tenant_settings(path.id(), settings, &p.actor)
        .await
        .map_err(|e| settings_error(e, first_field))?;
    state.listener().tenant_changed(t.domain.as_str());
    Ok(axum::Json((&t.settings).into()))
}

/// Home country, encryption requirement, business hours.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/settings/general", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = GeneralSettings,
    responses((status = 200, description = "Updated settings", body = TenantSettingsView)))]
pub(crate) async fn put_general(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<GeneralSettings>,
) -> Result<axum::Json<TenantSettingsView>> {
    update(&state, &p, &path, "business_hours", |s| req.apply(s)).await
}

/// International calling on/off and allowed destination countries.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/settings/calling", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = CallingPolicy,
    responses((status = 200, description = "Updated settings", body = TenantSettingsView)))]
pub(crate) async fn put_calling(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<CallingPolicy>,
) -> Result<axum::Json<TenantSettingsView>> {
    update(&state, &p, &path, "allowed_countries", |s| req.apply(s)).await
}

/// The inbound caller-ID block list (exact number, prefix, anonymous).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/settings/inbound-blocks", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = BlockRules,
    responses((status = 200, description = "Updated settings", body = TenantSettingsView)))]
pub(crate) async fn put_inbound_blocks(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<BlockRules>,
) -> Result<axum::Json<TenantSettingsView>> {
    update(&state, &p, &path, "rules", |s| req.apply(s)).await
}

/// Networks devices may register and call from.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/settings/device-networks", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = DeviceNetworks,
    responses((status = 200, description = "Updated settings", body = TenantSettingsView)))]
pub(crate) async fn put_device_networks(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<DeviceNetworks>,
) -> Result<axum::Json<TenantSettingsView>> {
    update(&state, &p, &path, "networks", |s| req.apply(s)).await
}

/// Password, SIP secret and PIN policy, including rotation periods.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/settings/credential-policy", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = CredentialPolicy,
    responses((status = 200, description = "Updated settings", body = TenantSettingsView)))]
pub(crate) async fn put_credential_policy(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<CredentialPolicy>,
) -> Result<axum::Json<TenantSettingsView>> {
    update(&state, &p, &path, "min_password_length", |s| {
        s.credential_policy = req.into();
        Ok(())
    })
    .await
}

/// Fraud limits.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/settings/fraud-limits", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = FraudLimits,
    responses((status = 200, description = "Updated settings", body = TenantSettingsView)))]
pub(crate) async fn put_fraud_limits(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<FraudLimits>,
) -> Result<axum::Json<TenantSettingsView>> {
    update(&state, &p, &path, "max_concurrent_calls_per_extension", |s| {
        s.fraud_limits = req.into();
        Ok(())
    })
    .await
}

/// Notification contacts for fraud alerts and lockouts.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/settings/notifications", tag = "settings",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = Notifications,
    responses((status = 200, description = "Updated settings", body = TenantSettingsView)))]
pub(crate) async fn put_notifications(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(req): ApiJson<Notifications>,
) -> Result<axum::Json<TenantSettingsView>> {
    update(&state, &p, &path, "webhook_url", |s| {
        s.notifications = req.into_store()?;
        Ok(())
    })
    .await
}
