//! Fraud events of a tenant: every decision of the fraud engine worth recording, with the
//! signals and the explanation, newest first. Tenant admins (and super admins) only.

use axum::extract::State;
use ringfence_store::{FraudEventRecord, FraudRepo as _};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::tenant_admin_of;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AdminState;

/// Paging of the fraud events.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FraudQuery {
    /// Page size, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only events before this instant (RFC 3339): the `at` of the last event of the
    /// previous page.
    #[param(value_type = Option<String>, format = DateTime)]
    before: Option<String>,
}

/// One fraud event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FraudEventView {
    /// Id.
    pub id: Uuid,
    /// When the engine decided.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The extension concerned (absent for tenant-wide events).
    pub extension_id: Option<Uuid>,
    /// The call concerned, if any.
    pub call_id: Option<String>,
    /// What happened: `call_rate`, `concurrent_calls`, `spend_cap`,
    /// `international_minutes_cap`, `cap_approaching`, `short_call_burst`,
    /// `sequential_dialling`, `policy_refusals`, `anomaly`, `sustained_abuse`, `contained`.
    pub kind: String,
    /// `info`, `warning`, `high` or `critical`.
    pub severity: String,
    /// Anomaly score (0 for pure limit events).
    pub score: u32,
    /// The destination (E.164), if a call was involved.
    pub destination: Option<String>,
    /// Actions taken: `log`, `alert`, `block_call`, `block_international_for_extension`,
    /// `suspend_extension`.
    pub actions: Vec<String>,
    /// The signals: name, value, threshold, weight.
    #[schema(value_type = Object)]
    pub signals: serde_json::Value,
    /// What happened, which values crossed which thresholds, what was done.
    pub explanation: String,
}

impl From<FraudEventRecord> for FraudEventView {
    fn from(r: FraudEventRecord) -> Self {
        let e = r.event;
        Self {
            id: r.id.0,
            at: e.at,
            extension_id: e.extension_id.map(|x| x.0),
            call_id: e.call_id,
            kind: e.kind,
            severity: e.severity,
            score: e.score,
            destination: e.destination,
            actions: e.actions,
            signals: e.signals,
            explanation: e.explanation,
        }
    }
}

/// The tenant's fraud events, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/fraud-events", tag = "fraud",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), FraudQuery),
    responses((status = 200, description = "Fraud events, newest first", body = [FraudEventView])))]
pub(crate) async fn list_fraud_events(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiQuery(q): ApiQuery<FraudQuery>,
) -> Result<axum::Json<Vec<FraudEventView>>> {
    let tenant = tenant_admin_of(&state, &p, path.id()).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1 to 1000"));
    }
    let before = q
        .before
        .as_deref()
        .map(|s| {
            OffsetDateTime::parse(s, &Rfc3339)
                .map_err(|_| Error::invalid("before", "must be an RFC 3339 date-time"))
        })
        .transpose()?;
    let events = state.store().list_fraud_events(tenant.id, limit, before).await?;
    Ok(axum::Json(events.into_iter().map(FraudEventView::from).collect()))
}
