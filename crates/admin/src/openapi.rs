//! The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`.
//!
//! Every operation lists its success response; the error responses every operation can give
//! (400, 401, 403, 404, 409, 413, 415, 422, each with the [`ErrorBody`](crate::ErrorBody)
//! schema) are added to all of them by [`ErrorResponses`], so the document and the server
//! cannot drift apart on errors.

use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
use utoipa::{Modify, OpenApi};

use crate::routes::*;

/// The API description (paths and schemas).
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Ringfence admin API", description = "Tenants, users, extensions, numbers, policies, call history, audit and the perimeter guard of a Ringfence PBX. Authenticate with a session (POST /api/v1/auth/login; send the returned csrf_token as X-CSRF-Token on writes) or an API token (Authorization: Bearer rft_...)."),
    paths(
        login, logout, change_password, totp_enroll, totp_confirm, me,
        list_tenants, create_tenant, get_tenant, rename_tenant, delete_tenant,
        get_settings, put_general, put_calling, put_inbound_blocks, put_device_networks,
        put_credential_policy, put_fraud_limits, put_notifications, get_overrides, put_overrides,
        list_users, create_user, get_user, delete_user, set_role, admin_set_password, reset_totp,
        list_super_admins, create_super_admin, delete_super_admin, super_admin_set_password,
        super_admin_reset_totp,
        list_extensions, create_extension, get_extension, update_extension, delete_extension,
        reset_sip_password, set_sip_password, set_pin, get_restrictions, put_restrictions,
        get_forwarding, put_forwarding,
        list_numbers, create_number, get_number, assign_number, delete_number,
        list_calls, export_calls, list_fraud_events,
        get_webhook, put_webhook, rotate_webhook_secret, delete_webhook,
        list_tenant_audit, list_audit, verify_audit,
        list_platform_tokens, create_platform_token, revoke_platform_token,
        list_tenant_tokens, create_tenant_token, revoke_tenant_token,
        expired_secrets,
        list_bans, lift_ban, list_global_rules, create_global_rule, delete_global_rule,
        list_tenant_bans, lift_tenant_ban, list_tenant_rules, create_tenant_rule,
        delete_tenant_rule, metrics, list_trunks, reload_trunks,
    ),
    components(schemas(crate::ErrorBody)),
    modifiers(&SecuritySchemes, &ErrorResponses),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "auth", description = "Login, sessions, TOTP, own password"),
        (name = "tenants", description = "Tenants (super admins)"),
        (name = "settings", description = "Tenant policies and limits"),
        (name = "users", description = "Users, roles, super admins"),
        (name = "extensions", description = "Extensions and their credentials"),
        (name = "numbers", description = "Phone numbers"),
        (name = "calls", description = "Call history"),
        (name = "fraud", description = "Fraud events: what the fraud engine decided and why; the signed webhook they are posted to"),
        (name = "audit", description = "Hash-chained audit log"),
        (name = "tokens", description = "API tokens"),
        (name = "reports", description = "Reports"),
        (name = "guard", description = "Perimeter guard: bans, permanent allow/deny entries, metrics"),
        (name = "trunks", description = "SIP trunks: where their calls go, their registration with the carrier"),
    )
)]
pub struct ApiDoc;

/// Declares the two ways to authenticate.
#[derive(Debug)]
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("API token `rft_...`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::principal::SESSION_COOKIE,
                "Session cookie from /api/v1/auth/login; writes also need X-CSRF-Token",
            ))),
        );
    }
}

/// Adds the common error responses to every operation.
#[derive(Debug)]
pub struct ErrorResponses;

const ERRORS: [(&str, &str); 8] = [
    ("400", "Malformed request (bad JSON, bad path parameter)"),
    ("401", "Not authenticated (or login refused)"),
    (
        "403",
        "Not allowed: `forbidden`, `csrf_token_invalid`, `totp_enrollment_required`, `password_change_required`",
    ),
    ("404", "Not found in the caller's scope (other tenants' records answer this too)"),
    ("409", "Conflict with existing data or state"),
    ("413", "Request body too large"),
    ("415", "Request body is not application/json"),
    ("422", "Invalid field value; `field` names it; nothing was changed"),
];

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                for (code, text) in ERRORS {
                    op.responses.responses.entry(code.to_owned()).or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(text)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(RefOr::Ref(
                                            utoipa::openapi::Ref::from_schema_name("ErrorBody"),
                                        )))
                                        .build(),
                                )
                                .build(),
                        )
                    });
                }
            }
        }
    }
}

/// The document as pretty JSON (built once).
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_documents_errors_and_schemas_resolve() {
        let doc: serde_json::Value = serde_json::from_str(document_json()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 40, "{} paths", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for code in ["400", "401", "404", "422"] {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                }
            }
        }
        let text = document_json();
        for r in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
            let name = r.split('"').next().unwrap();
            assert!(doc["components"]["schemas"].get(name).is_some(), "unresolved {name}");
        }
    }
}
