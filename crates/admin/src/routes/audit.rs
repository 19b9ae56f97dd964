//! The audit log: list (tenant admins see their tenant's events, super admins all) and verify
//! the hash chain (super admins).

use axum::extract::State;
use ringfence_store::{AuditRepo as _, TenantId};
use serde::Deserialize;
use utoipa::IntoParams;

use super::tenant_admin_of;
use crate::api::{AuditEventView, AuditPage, ChainReportView};
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AdminState;

/// Paging of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only events with a smaller sequence number (from `next_before` of the previous page).
    #[param(minimum = 1)]
    before: Option<u64>,
    /// Page size, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

async fn page(state: &AdminState, scope: Option<TenantId>, q: AuditQuery) -> Result<AuditPage> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1 to 1000"));
    }
    if q.before == Some(0) {
        return Err(Error::invalid("before", "must be at least 1"));
    }
    let events = state.store().list_audit(scope, q.before, limit).await?;
    let next_before = if events.len() == limit as usize {
        events.last().map(|e| e.seq).filter(|&s| s > 1)
    } else {
        None
    };
    Ok(AuditPage { events: events.into_iter().map(AuditEventView::from).collect(), next_before })
}

/// Audit events of one tenant, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/audit", tag = "audit",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), AuditQuery),
    responses((status = 200, description = "A page of events", body = AuditPage)))]
pub(crate) async fn list_tenant_audit(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<axum::Json<AuditPage>> {
    tenant_admin_of(&state, &p, path.id()).await?;
    Ok(axum::Json(page(&state, Some(path.id()), q).await?))
}

/// Every audit event of the platform, newest first (super admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of events", body = AuditPage)))]
pub(crate) async fn list_audit(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<axum::Json<AuditPage>> {
    p.require_super()?;
    Ok(axum::Json(page(&state, None, q).await?))
}

/// Walks the whole hash chain and reports the first changed, missing or cut-off event.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, description = "Chain report", body = ChainReportView)))]
pub(crate) async fn verify_audit(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<ChainReportView>> {
    p.require_super()?;
    let r = state.store().verify_audit_chain().await?;
    Ok(axum::Json(ChainReportView {
        intact: r.is_intact(),
        events_checked: r.events_checked,
        first_break_seq: r.first_break.as_ref().map(|b| b.seq),
        first_break_kind: r.first_break.as_ref().and_then(|b| {
            serde_json::to_value(b.kind).ok().and_then(|v| v.as_str().map(str::to_owned))
        }),
    }))
}
