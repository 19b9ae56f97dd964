//! The REST endpoints under `/api/v1`, one module per resource.
//!
//! Every handler: authenticates ([`Auth`](crate::auth::Auth)), checks the tenant scope first
//! (another tenant's ids answer 404) and the role second (403), validates all input before
//! the one store call that writes (the store writes the audit event in the same
//! transaction), and answers JSON.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use ringfence_store::{Tenant, TenantId, TenantRepo as _};

use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::state::AdminState;

mod audit;
mod auth;
mod calling;
mod calls;
mod extensions;
mod fraud;
mod guard;
mod numbers;
mod reports;
mod settings;
mod tenants;
mod tokens;
mod trunks;
mod users;
mod webhooks;

pub(crate) use audit::*;
pub(crate) use auth::*;
pub(crate) use calling::*;
pub(crate) use calls::*;
pub(crate) use extensions::*;
pub(crate) use fraud::*;
pub(crate) use guard::*;
pub(crate) use numbers::*;
pub(crate) use reports::*;
pub(crate) use settings::*;
pub(crate) use tenants::*;
pub(crate) use tokens::*;
pub(crate) use trunks::*;
pub(crate) use users::*;
pub(crate) use webhooks::*;

/// The admin API router: every endpoint, the OpenAPI document, JSON 404/405 answers, a body
/// size limit and security headers on every response.
pub fn router(state: AdminState) -> Router {
    let limit = state.config().max_body_bytes;
    let t = "/api/v1/tenants/{tenant_id}";
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/password", post(change_password))
        .route("/api/v1/auth/totp/enroll", post(totp_enroll))
        .route("/api/v1/auth/totp/confirm", post(totp_confirm))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tenants", get(list_tenants).post(create_tenant))
        .route(t, get(get_tenant).patch(rename_tenant).delete(delete_tenant))
        .route(&format!("{t}/settings"), get(get_settings))
        .route(&format!("{t}/settings/general"), put(put_general))
        .route(&format!("{t}/settings/calling"), put(put_calling))
        .route(&format!("{t}/settings/inbound-blocks"), put(put_inbound_blocks))
        .route(&format!("{t}/settings/device-networks"), put(put_device_networks))
        .route(&format!("{t}/settings/credential-policy"), put(put_credential_policy))
        .route(&format!("{t}/settings/fraud-limits"), put(put_fraud_limits))
        .route(&format!("{t}/settings/notifications"), put(put_notifications))
        .route(&format!("{t}/overrides"), get(get_overrides).put(put_overrides))
        .route(&format!("{t}/users"), get(list_users).post(create_user))
        .route(&format!("{t}/users/{{user_id}}"), get(get_user).delete(delete_user))
        .route(&format!("{t}/users/{{user_id}}/role"), put(set_role))
        .route(&format!("{t}/users/{{user_id}}/password"), post(admin_set_password))
        .route(&format!("{t}/users/{{user_id}}/totp"), delete(reset_totp))
        .route("/api/v1/super-admins", get(list_super_admins).post(create_super_admin))
        .route("/api/v1/super-admins/{user_id}", delete(delete_super_admin))
        .route("/api/v1/super-admins/{user_id}/password", post(super_admin_set_password))
        .route("/api/v1/super-admins/{user_id}/totp", delete(super_admin_reset_totp))
        .route(&format!("{t}/extensions"), get(list_extensions).post(create_extension))
        .route(
            &format!("{t}/extensions/{{extension_id}}"),
            get(get_extension).patch(update_extension).delete(delete_extension),
        )
        .route(&format!("{t}/extensions/{{extension_id}}/sip-password"), put(set_sip_password))
        .route(
            &format!("{t}/extensions/{{extension_id}}/sip-password/reset"),
            post(reset_sip_password),
        )
        .route(&format!("{t}/extensions/{{extension_id}}/pin"), put(set_pin))
        .route(
            &format!("{t}/extensions/{{extension_id}}/restrictions"),
            get(get_restrictions).put(put_restrictions),
        )
        .route(
            &format!("{t}/extensions/{{extension_id}}/forwarding"),
            get(get_forwarding).put(put_forwarding),
        )
        .route(&format!("{t}/numbers"), get(list_numbers).post(create_number))
        .route(
            &format!("{t}/numbers/{{number_id}}"),
            get(get_number).put(assign_number).delete(delete_number),
        )
        .route(&format!("{t}/calls"), get(list_calls))
        .route(&format!("{t}/calls/export.csv"), get(export_calls))
        .route(&format!("{t}/fraud-events"), get(list_fraud_events))
        .route(&format!("{t}/webhook"), get(get_webhook).put(put_webhook).delete(delete_webhook))
        .route(&format!("{t}/webhook/rotate-secret"), post(rotate_webhook_secret))
        .route(&format!("{t}/audit"), get(list_tenant_audit))
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/audit/verify", get(verify_audit))
        .route("/api/v1/tokens", get(list_platform_tokens).post(create_platform_token))
        .route("/api/v1/tokens/{token_id}", delete(revoke_platform_token))
        .route(&format!("{t}/tokens"), get(list_tenant_tokens).post(create_tenant_token))
        .route(&format!("{t}/tokens/{{token_id}}"), delete(revoke_tenant_token))
        .route(&format!("{t}/reports/expired-secrets"), get(expired_secrets))
        .route("/api/v1/guard/bans", get(list_bans))
        .route("/api/v1/guard/bans/{key}", delete(lift_ban))
        .route("/api/v1/guard/rules", get(list_global_rules).post(create_global_rule))
        .route("/api/v1/guard/rules/{rule_id}", delete(delete_global_rule))
        .route(&format!("{t}/guard/bans"), get(list_tenant_bans))
        .route(&format!("{t}/guard/bans/{{key}}"), delete(lift_tenant_ban))
        .route(&format!("{t}/guard/rules"), get(list_tenant_rules).post(create_tenant_rule))
        .route(&format!("{t}/guard/rules/{{rule_id}}"), delete(delete_tenant_rule))
        .route("/api/v1/metrics", get(metrics))
        .route("/api/v1/trunks", get(list_trunks))
        .route("/api/v1/trunks/reload", post(reload_trunks))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

async fn openapi_json() -> Response {
    let doc = crate::openapi::document_json();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

async fn no_route() -> Error {
    Error::not_found("route")
}

async fn method_not_allowed() -> Response {
    let body = crate::ErrorBody {
        code: "method_not_allowed".into(),
        message: "this method is not allowed on this path".into(),
        field: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    res
}

/// The tenant `id` if the caller may see it (404 otherwise, also for other tenants).
pub(crate) async fn tenant_in_scope(
    state: &AdminState,
    p: &Principal,
    id: TenantId,
) -> Result<Tenant> {
    p.require_tenant(id)?;
    state.store().get_tenant(id).await?.ok_or_else(|| Error::not_found("tenant"))
}

/// The tenant `id` if the caller administers it (404 for other tenants, 403 for users).
pub(crate) async fn tenant_admin_of(
    state: &AdminState,
    p: &Principal,
    id: TenantId,
) -> Result<Tenant> {
    p.require_admin_of(id)?;
    state.store().get_tenant(id).await?.ok_or_else(|| Error::not_found("tenant"))
}

/// 201 Created with a JSON body.
pub(crate) fn created<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::CREATED, axum::Json(body)).into_response()
}
