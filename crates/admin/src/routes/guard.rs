//! The perimeter guard: running bans (list, lift: all of them for super admins, the
//! per-user blocks of their users for tenant admins), permanent allow/deny entries (global
//! for super admins, per tenant for the tenant's admins) and the metrics endpoint.
//!
//! Lifting a ban writes a `guard.ban_lift` audit event with the administrator as actor
//! (the ban's start and end are written by the SIP service as `system:guard`); the
//! running guard counts it in `ringfence_guard_bans_lifted_total`. An allow/deny entry is
//! stored with its audit event in one write, then the running guard reloads every entry.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ringfence_guard::{BanInfo, BanKey, GuardError};
use ringfence_store::{
    Actor, AuditEntry, AuditRepo as _, GuardRuleId, GuardRuleRepo as _, SipDomain, TenantId,
    TenantRepo as _,
};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{created, tenant_admin_of};
use crate::api::{BanCause, BanScope, BanView, CreateGuardRule, GuardRuleView};
use crate::auth::{Auth, Principal};
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AdminState;

/// The content type of the metrics endpoint (Prometheus text exposition 0.0.4).
pub(crate) const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Path of a ban.
#[derive(Debug, Deserialize)]
pub(crate) struct BanPath {
    key: String,
}

/// Path of a global entry.
#[derive(Debug, Deserialize)]
pub(crate) struct GlobalRulePath {
    rule_id: Uuid,
}

/// Path of a tenant's entry.
#[derive(Debug, Deserialize)]
pub(crate) struct TenantRulePath {
    tenant_id: Uuid,
    rule_id: Uuid,
}

/// Every running ban and global deny entry (super admins).
#[utoipa::path(get, path = "/api/v1/guard/bans", tag = "guard",
    responses((status = 200, description = "Bans, sorted by key", body = [BanView])))]
pub(crate) async fn list_bans(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<Vec<BanView>>> {
    p.require_super()?;
    let now = OffsetDateTime::now_utc();
    Ok(axum::Json(state.guard().list_bans().iter().map(|b| BanView::new(b, now)).collect()))
}

/// At most 200 bytes without control characters (a username in a key is the sender's text).
fn audit_target(key: &BanKey) -> String {
    let mut out = String::from("ban:");
    for c in key.to_string().chars() {
        let c = if c.is_control() { '?' } else { c };
        if out.len() + c.len_utf8() > 200 {
            break;
        }
        out.push(c);
    }
    out
}

/// Lifts a running ban (super admins): the source may send again at once, and its next
/// offence counts as a first one. A permanent deny entry is not lifted here (409): delete
/// the entry.
#[utoipa::path(delete, path = "/api/v1/guard/bans/{key}", tag = "guard",
    params(("key" = String, Path, description = "The ban's key as listed, percent-encoded (`/` as `%2F`, `@` may stay)")),
    responses((status = 200, description = "Lifted", body = BanView)))]
pub(crate) async fn lift_ban(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<BanPath>,
) -> Result<axum::Json<BanView>> {
    p.require_super()?;
    let key = parse_key(&path.key)?;
    lift(&state, &p, key).await.map(axum::Json)
}

/// Path of a tenant's ban.
#[derive(Debug, Deserialize)]
pub(crate) struct TenantBanPath {
    tenant_id: Uuid,
    key: String,
}

/// True for a per-user block of the tenant with SIP domain `domain`.
fn is_tenant_ban(key: &BanKey, domain: &str) -> bool {
    matches!(key, BanKey::User { tenant, .. } if tenant.eq_ignore_ascii_case(domain))
}

/// The running per-user blocks of the tenant's users (an extension that failed to
/// authenticate too often from one address): tenant admins may see and lift these.
/// Address bans are the platform's (super admins, `/api/v1/guard/bans`).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/guard/bans", tag = "guard",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant's user blocks, sorted by key", body = [BanView])))]
pub(crate) async fn list_tenant_bans(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
) -> Result<axum::Json<Vec<BanView>>> {
    let t = tenant_admin_of(&state, &p, path.id()).await?;
    let now = OffsetDateTime::now_utc();
    let list = state.guard().list_bans();
    Ok(axum::Json(
        list.iter()
            .filter(|b| is_tenant_ban(&b.key, t.domain.as_str()))
            .map(|b| BanView::new(b, now))
            .collect(),
    ))
}

/// Lifts a per-user block of the tenant (a user who mistyped their password too often).
/// Any other key answers 404.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/guard/bans/{key}", tag = "guard",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("key" = String, Path, description = "The block's key as listed (`user@domain@address`), percent-encoded")),
    responses((status = 200, description = "Lifted", body = BanView)))]
pub(crate) async fn lift_tenant_ban(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantBanPath>,
) -> Result<axum::Json<BanView>> {
    let t = tenant_admin_of(&state, &p, TenantId(path.tenant_id)).await?;
    let key = parse_key(&path.key)?;
    if !is_tenant_ban(&key, t.domain.as_str()) {
        return Err(Error::not_found("ban"));
    }
    lift(&state, &p, key).await.map(axum::Json)
}

fn parse_key(key: &str) -> Result<BanKey> {
    key.parse().map_err(|_| Error::BadRequest {
        message: "not a ban key (an address, address:port, network or user@domain@address)".into(),
        field: Some("key".into()),
    })
}

/// Lifts `key` in the running guard and writes the `guard.ban_lift` audit event.
async fn lift(state: &AdminState, p: &Principal, key: BanKey) -> Result<BanView> {
    let now = OffsetDateTime::now_utc();
    let guard = state.guard();
    let before: Option<BanInfo> = guard.list_bans().into_iter().find(|b| b.key == key);
    match guard.lift_ban(&key) {
        Ok(()) => {}
        Err(GuardError::StaticRule(_)) => {
            return Err(Error::conflict(
                "static_rule",
                "a permanent deny entry covers this address; delete the entry instead",
            ));
        }
        Err(GuardError::NotBanned(_)) => return Err(Error::not_found("ban")),
        Err(e) => return Err(Error::internal(format!("lifting a ban: {e}"))),
    }
    let view = match &before {
        Some(b) => BanView::new(b, now),
        None => BanView {
            key: key.to_string(),
            scope: match key {
                BanKey::Ip { .. } => BanScope::Ip,
                BanKey::Prefix { .. } => BanScope::Prefix,
                BanKey::Source { .. } => BanScope::Source,
                BanKey::User { .. } => BanScope::User,
            },
            cause: BanCause::Other,
            reason: "started while being lifted".into(),
            offences: 0,
            started_at: None,
            expires_at: None,
            expires_in_secs: None,
            tenant_domain: None,
            username: None,
        },
    };
    let tenant_id = match &key {
        BanKey::User { tenant, .. } => tenant_of(state, tenant).await,
        _ => None,
    };
    let entry = AuditEntry {
        tenant_id,
        actor: p.actor.clone(),
        action: "guard.ban_lift".into(),
        target: audit_target(&key),
        detail: json!({
            "key": key,
            "reason": view.reason,
            "offences": view.offences,
            "expires_in_secs": view.expires_in_secs,
        }),
    };
    state.store().append_audit(entry).await?;
    tracing::info!(key = ?key.to_string(), actor = ?p.actor, "guard: ban lifted by an administrator");
    Ok(view)
}

/// The tenant whose SIP domain is `domain`, if any.
async fn tenant_of(state: &AdminState, domain: &str) -> Option<TenantId> {
    let domain = SipDomain::parse(domain).ok()?;
    state.store().get_tenant_by_domain(&domain).await.ok().flatten().map(|t| t.id)
}

/// Tells the running guard that the stored entries changed.
async fn reload(state: &AdminState, actor: &Actor) -> Result<()> {
    state.guard().rules_changed().await.map_err(|e| {
        tracing::error!(error = %e, ?actor, "the running guard did not take the allow/deny entries");
        Error::internal("the entry was stored, but the running guard did not load it")
    })
}

/// Global allow/deny entries (super admins), oldest first.
#[utoipa::path(get, path = "/api/v1/guard/rules", tag = "guard",
    responses((status = 200, description = "Entries, oldest first", body = [GuardRuleView])))]
pub(crate) async fn list_global_rules(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<Vec<GuardRuleView>>> {
    p.require_super()?;
    let list = state.store().list_guard_rules(None).await?;
    Ok(axum::Json(list.iter().map(GuardRuleView::from).collect()))
}

/// Adds a global entry (super admins): `deny` drops every packet from the network, `allow`
/// exempts it from flood meters and address bans.
#[utoipa::path(post, path = "/api/v1/guard/rules", tag = "guard", request_body = CreateGuardRule,
    responses((status = 201, description = "Created and in force", body = GuardRuleView)))]
pub(crate) async fn create_global_rule(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiJson(req): ApiJson<CreateGuardRule>,
) -> Result<Response> {
    p.require_super()?;
    let new = req.into_store(None)?;
    let rule = state.store().create_guard_rule(new, &p.actor).await?;
    reload(&state, &p.actor).await?;
    Ok(created(GuardRuleView::from(&rule)))
}

/// Removes a global entry (super admins).
#[utoipa::path(delete, path = "/api/v1/guard/rules/{rule_id}", tag = "guard",
    params(("rule_id" = Uuid, Path, description = "Entry id")),
    responses((status = 204, description = "Removed")))]
pub(crate) async fn delete_global_rule(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<GlobalRulePath>,
) -> Result<Response> {
    p.require_super()?;
    state.store().delete_guard_rule(None, GuardRuleId(path.rule_id), &p.actor).await?;
    reload(&state, &p.actor).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// The tenant's allow/deny entries, oldest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/guard/rules", tag = "guard",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "Entries, oldest first", body = [GuardRuleView])))]
pub(crate) async fn list_tenant_rules(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
) -> Result<axum::Json<Vec<GuardRuleView>>> {
    tenant_admin_of(&state, &p, path.id()).await?;
    let list = state.store().list_guard_rules(Some(path.id())).await?;
    Ok(axum::Json(list.iter().map(GuardRuleView::from).collect()))
}

/// Adds an entry for the tenant: `deny` refuses the tenant's registrations and calls from
/// the network (answered like a wrong password), `allow` raises the flood budget of the
/// office network (at most an IPv4 /16 or an IPv6 /32).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/guard/rules", tag = "guard",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    request_body = CreateGuardRule,
    responses((status = 201, description = "Created and in force", body = GuardRuleView)))]
pub(crate) async fn create_tenant_rule(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiJson(req): ApiJson<CreateGuardRule>,
) -> Result<Response> {
    tenant_admin_of(&state, &p, path.id()).await?;
    let new = req.into_store(Some(path.id()))?;
    let rule = state.store().create_guard_rule(new, &p.actor).await?;
    reload(&state, &p.actor).await?;
    Ok(created(GuardRuleView::from(&rule)))
}

/// Removes an entry of the tenant.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/guard/rules/{rule_id}", tag = "guard",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("rule_id" = Uuid, Path, description = "Entry id")),
    responses((status = 204, description = "Removed")))]
pub(crate) async fn delete_tenant_rule(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<TenantRulePath>,
) -> Result<Response> {
    let t = TenantId(path.tenant_id);
    tenant_admin_of(&state, &p, t).await?;
    state.store().delete_guard_rule(Some(t), GuardRuleId(path.rule_id), &p.actor).await?;
    reload(&state, &p.actor).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// The guard's, the SIP transports' and the process's metrics in the Prometheus text
/// format (super admins: a session or a super-admin API token as bearer token).
#[utoipa::path(get, path = "/api/v1/metrics", tag = "guard",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AdminState>, Auth(p): Auth) -> Result<Response> {
    p.require_super()?;
    let text = state.guard().render_metrics();
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response())
}
