//! Phone numbers (DIDs in E.164) and where they ring.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ringfence_store::{
    E164, ExtensionId, ExtensionRepo as _, NumberRepo as _, PhoneNumberId, TenantId,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{created, tenant_admin_of};
use crate::api::{AssignNumber, CreateNumber, NumberView};
use crate::auth::{Auth, Principal};
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AdminState;

/// Path of a number.
#[derive(Debug, Deserialize)]
pub(crate) struct NumberPath {
    tenant_id: Uuid,
    number_id: Uuid,
}

async fn check_extension(state: &AdminState, tenant: TenantId, ext: Option<Uuid>) -> Result<()> {
    if let Some(e) = ext
        && state.store().get_extension(tenant, ExtensionId(e)).await?.is_none()
    {
        return Err(Error::invalid("extension_id", "no such extension in this tenant"));
    }
    Ok(())
}

async fn number_in(state: &AdminState, p: &Principal, path: &NumberPath) -> Result<TenantId> {
    let t = TenantId(path.tenant_id);
    tenant_admin_of(state, p, t).await?;
    state
        .store()
        .get_number(t, PhoneNumberId(path.number_id))
        .await?
        .ok_or_else(|| Error::not_found("phone number"))?;
    Ok(t)
}

/// Numbers of the tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/numbers", tag = "numbers",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "Numbers", body = [NumberView])))]
pub(crate) async fn list_numbers(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
) -> Result<axum::Json<Vec<NumberView>>> {
    tenant_admin_of(&state, &p, path.id()).await?;
    let list = state.store().list_numbers(path.id()).await?;
    Ok(axum::Json(list.iter().map(NumberView::from).collect()))
}

/// Adds a number, optionally routed to an extension.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/numbers", tag = "numbers",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = CreateNumber,
    responses((status = 201, description = "Added", body = NumberView)))]
pub(crate) async fn create_number(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiJson(req): ApiJson<CreateNumber>,
) -> Result<Response> {
    tenant_admin_of(&state, &p, path.id()).await?;
    let e164 = E164::parse(&req.e164).map_err(|e| Error::from(e).with_field("e164"))?;
    check_extension(&state, path.id(), req.extension_id).await?;
    let n = state
        .store()
        .create_number(path.id(), &e164, req.extension_id.map(ExtensionId), &p.actor)
        .await?;
    Ok(created(NumberView::from(&n)))
}

/// One number.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/numbers/{number_id}", tag = "numbers",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("number_id" = Uuid, Path, description = "Number id")),
    responses((status = 200, description = "The number", body = NumberView)))]
pub(crate) async fn get_number(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<NumberPath>,
) -> Result<axum::Json<NumberView>> {
    let t = number_in(&state, &p, &path).await?;
    let n = state.store().get_number(t, PhoneNumberId(path.number_id)).await?;
    let n = n.ok_or_else(|| Error::not_found("phone number"))?;
    Ok(axum::Json(NumberView::from(&n)))
}

/// Routes the number to an extension, or unassigns it.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/numbers/{number_id}", tag = "numbers",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("number_id" = Uuid, Path, description = "Number id")),
    request_body = AssignNumber,
    responses((status = 200, description = "Updated", body = NumberView)))]
pub(crate) async fn assign_number(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<NumberPath>,
    ApiJson(req): ApiJson<AssignNumber>,
) -> Result<axum::Json<NumberView>> {
    let t = number_in(&state, &p, &path).await?;
    check_extension(&state, t, req.extension_id).await?;
    let n = state
        .store()
        .assign_number(
            t,
            PhoneNumberId(path.number_id),
            req.extension_id.map(ExtensionId),
            &p.actor,
        )
        .await?;
    Ok(axum::Json(NumberView::from(&n)))
}

/// Removes a number.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/numbers/{number_id}", tag = "numbers",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("number_id" = Uuid, Path, description = "Number id")),
    responses((status = 204, description = "Removed")))]
pub(crate) async fn delete_number(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<NumberPath>,
) -> Result<StatusCode> {
    let t = number_in(&state, &p, &path).await?;
    state.store().delete_number(t, PhoneNumberId(path.number_id), &p.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
