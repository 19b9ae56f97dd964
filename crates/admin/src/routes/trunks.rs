//! The SIP trunks: where their calls go and their registration with the carrier. Super
//! admins only.

use axum::extract::State;

use crate::auth::Auth;
use crate::error::Result;
use crate::state::AdminState;
use crate::trunks::TrunkView;

/// The trunks, their targets and registration state.
#[utoipa::path(get, path = "/api/v1/trunks", tag = "trunks",
    responses((status = 200, description = "Trunks, in configuration order", body = [TrunkView])))]
pub(crate) async fn list_trunks(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<Vec<TrunkView>>> {
    p.require_super()?;
    Ok(axum::Json(state.trunks().map(|t| t.trunks()).unwrap_or_default()))
}
