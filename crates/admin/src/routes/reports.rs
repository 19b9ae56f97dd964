//! Reports: extensions whose SIP secret or PIN is older than the tenant's rotation period.

use axum::extract::State;
use ringfence_store::ExtensionRepo as _;
use time::{Duration, OffsetDateTime};

use super::tenant_admin_of;
use crate::api::ExpiredSecret;
use crate::auth::Auth;
use crate::error::Result;
use crate::extract::ApiPath;
use crate::state::AdminState;

fn expired(set_at: Option<OffsetDateTime>, days: Option<u16>, now: OffsetDateTime) -> bool {
    match (set_at, days) {
        (Some(t), Some(d)) => t + Duration::days(i64::from(d)) <= now,
        _ => false,
    }
}

/// Extensions due for a new SIP secret or PIN under the tenant's rotation days.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/reports/expired-secrets", tag = "reports",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "Extensions with an expired secret or PIN", body = [ExpiredSecret])))]
pub(crate) async fn expired_secrets(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
) -> Result<axum::Json<Vec<ExpiredSecret>>> {
    let tenant = tenant_admin_of(&state, &p, path.id()).await?;
    let policy = &tenant.settings.credential_policy;
    let now = ringfence_store::now();
    let list = state.store().list_extensions(tenant.id).await?;
    let out = list
        .iter()
        .filter_map(|e| {
            let sip = expired(e.secret_set_at, policy.sip_secret_rotation_days, now);
            let pin = expired(e.pin_set_at, policy.pin_rotation_days, now);
            (sip || pin).then(|| ExpiredSecret {
                extension_id: e.id.0,
                number: e.number.to_string(),
                sip_secret_expired: sip,
                secret_set_at: e.secret_set_at,
                pin_expired: pin,
                pin_set_at: e.pin_set_at,
            })
        })
        .collect();
    Ok(axum::Json(out))
}
