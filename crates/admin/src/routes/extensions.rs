//! Extensions: admins manage them; a user sees and manages the credentials of the
//! extensions they own (another user's extension answers 404).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ringfence_store::{
    Extension, ExtensionId, ExtensionRepo as _, ExtensionUpdate, Role, Tenant, TenantId, UserId,
    UserRepo as _,
};
use serde::Deserialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{created, tenant_admin_of, tenant_in_scope};
use crate::api::{
    CreateExtension, CreatedExtension, ExtensionView, SetPin, SetSipPassword, SipSecret,
    UpdateExtension,
};
use crate::auth::{Auth, Principal, password};
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};
use crate::provision::{self, ExtensionInput};
use crate::{policy, state::AdminState};

/// Path of an extension.
#[derive(Debug, Deserialize)]
pub(crate) struct ExtensionPath {
    tenant_id: Uuid,
    extension_id: Uuid,
}

/// The extension if the caller may act on it: admins of the tenant, or the owning user.
pub(super) async fn extension_for(
    state: &AdminState,
    p: &Principal,
    path: &ExtensionPath,
) -> Result<(Tenant, Extension)> {
    let tenant = tenant_in_scope(state, p, TenantId(path.tenant_id)).await?;
    let ext = state
        .store()
        .get_extension(tenant.id, ExtensionId(path.extension_id))
        .await?
        .ok_or_else(|| Error::not_found("extension"))?;
    if p.role == Role::User && ext.owner_user_id != p.user.as_ref().map(|u| u.id) {
        return Err(Error::not_found("extension"));
    }
    Ok((tenant, ext))
}

pub(super) fn require_admin(p: &Principal) -> Result<()> {
    if p.role == Role::User {
        return Err(Error::forbidden("only admins of this tenant may do this"));
    }
    Ok(())
}

/// Extensions of the tenant (users: the ones they own).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/extensions", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "Extensions", body = [ExtensionView])))]
pub(crate) async fn list_extensions(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
) -> Result<axum::Json<Vec<ExtensionView>>> {
    let tenant = tenant_in_scope(&state, &p, path.id()).await?;
    let mine = p.user.as_ref().map(|u| u.id);
    let list = state.store().list_extensions(tenant.id).await?;
    Ok(axum::Json(
        list.iter()
            .filter(|e| p.role != Role::User || e.owner_user_id == mine)
            .map(ExtensionView::from)
            .collect(),
    ))
}

/// Creates an extension with a generated SIP password, returned once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/extensions", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = CreateExtension,
    responses((status = 201, description = "Created; the SIP password is shown only here", body = CreatedExtension)))]
pub(crate) async fn create_extension(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiJson(req): ApiJson<CreateExtension>,
) -> Result<Response> {
    let tenant = tenant_admin_of(&state, &p, path.id()).await?;
    let (ext, secret) = provision::create_extension(
        state.store(),
        &tenant,
        ExtensionInput {
            number: req.number,
            display_name: req.display_name.unwrap_or_default(),
            owner: req.owner_user_id.map(UserId),
            enabled: req.enabled.unwrap_or(true),
            pin: req.pin.map(Zeroizing::new),
        },
        &p.actor,
    )
    .await?;
    // A lookup of this number made before it existed may be cached as "no such extension".
    state.listener().extension_changed(tenant.domain.as_str(), ext.number.as_str());
    Ok(created(CreatedExtension {
        sip: SipSecret {
            username: ext.number.to_string(),
            realm: tenant.domain.to_string(),
            password: secret.to_string(),
        },
        extension: ExtensionView::from(&ext),
    }))
}

/// One extension.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    responses((status = 200, description = "The extension", body = ExtensionView)))]
pub(crate) async fn get_extension(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
) -> Result<axum::Json<ExtensionView>> {
    let (_, ext) = extension_for(&state, &p, &path).await?;
    Ok(axum::Json(ExtensionView::from(&ext)))
}

/// Changes display name, owner or enabled flag (disable an extension here).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    request_body = UpdateExtension,
    responses((status = 200, description = "Updated", body = ExtensionView)))]
pub(crate) async fn update_extension(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
    ApiJson(req): ApiJson<UpdateExtension>,
) -> Result<axum::Json<ExtensionView>> {
    let (tenant, ext) = extension_for(&state, &p, &path).await?;
    require_admin(&p)?;
    if let Some(name) = &req.display_name
        && (name.chars().count() > 100 || name.chars().any(char::is_control))
    {
        return Err(Error::invalid(
            "display_name",
            "at most 100 characters, no control characters",
        ));
    }
    if let Some(Some(owner)) = req.owner_user_id
        && state.store().get_user(Some(tenant.id), UserId(owner)).await?.is_none()
    {
        return Err(Error::invalid("owner_user_id", "no such user in this tenant"));
    }
    let update = ExtensionUpdate {
        display_name: req.display_name,
        owner_user_id: req.owner_user_id.map(|o| o.map(UserId)),
        enabled: req.enabled,
    };
    let ext = state.store().update_extension(tenant.id, ext.id, update, &p.actor).await?;
    state.listener().extension_changed(tenant.domain.as_str(), ext.number.as_str());
    Ok(axum::Json(ExtensionView::from(&ext)))
}

/// Deletes an extension with its registrations; its numbers become unassigned.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_extension(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
) -> Result<StatusCode> {
    let (tenant, ext) = extension_for(&state, &p, &path).await?;
    require_admin(&p)?;
    state.store().delete_extension(tenant.id, ext.id, &p.actor).await?;
    state.listener().extension_changed(tenant.domain.as_str(), ext.number.as_str());
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the SIP password with a strong generated one, returned once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/sip-password/reset", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    responses((status = 200, description = "New credentials (shown only here)", body = SipSecret)))]
pub(crate) async fn reset_sip_password(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
) -> Result<axum::Json<SipSecret>> {
    let (tenant, ext) = extension_for(&state, &p, &path).await?;
    let secret = policy::generate_secret(policy::GENERATED_SECRET_LEN)?;
    let creds = provision::sip_credentials(&tenant, &ext.number, &secret);
    state.store().set_sip_credentials(tenant.id, ext.id, &creds, &p.actor).await?;
    state.listener().extension_changed(tenant.domain.as_str(), ext.number.as_str());
    Ok(axum::Json(SipSecret {
        username: ext.number.to_string(),
        realm: tenant.domain.to_string(),
        password: secret.to_string(),
    }))
}

/// Sets a SIP password chosen by the user (as strong as a login password).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/sip-password", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    request_body = SetSipPassword,
    responses((status = 204, description = "Set")))]
pub(crate) async fn set_sip_password(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
    ApiJson(req): ApiJson<SetSipPassword>,
) -> Result<StatusCode> {
    let (tenant, ext) = extension_for(&state, &p, &path).await?;
    let pw = Zeroizing::new(req.password);
    policy::check_sip_password(
        "password",
        &pw,
        usize::from(tenant.settings.credential_policy.min_password_length),
        ext.number.as_str(),
        tenant.domain.as_str(),
        &tenant.name,
    )?;
    let creds = provision::sip_credentials(&tenant, &ext.number, &pw);
    state.store().set_sip_credentials(tenant.id, ext.id, &creds, &p.actor).await?;
    state.listener().extension_changed(tenant.domain.as_str(), ext.number.as_str());
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the voicemail PIN (PIN rules apply).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/pin", tag = "extensions",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("extension_id" = Uuid, Path, description = "Extension id")),
    request_body = SetPin,
    responses((status = 204, description = "Set")))]
pub(crate) async fn set_pin(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<ExtensionPath>,
    ApiJson(req): ApiJson<SetPin>,
) -> Result<StatusCode> {
    let (tenant, ext) = extension_for(&state, &p, &path).await?;
    let pin = Zeroizing::new(req.pin);
    policy::check_pin(
        "pin",
        &pin,
        usize::from(tenant.settings.credential_policy.pin_min_length),
        ext.number.as_str(),
    )?;
    let hash = password::hash(pin).await?;
    state.store().set_voicemail_pin(tenant.id, ext.id, &hash, &p.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
