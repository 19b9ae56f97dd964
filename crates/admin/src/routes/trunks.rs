//! The SIP trunks: where their calls go and their registration with the carrier. Super
//! admins only.

use axum::extract::State;

use crate::auth::Auth;
use crate::error::Error;
use crate::error::Result;
use crate::state::AdminState;
use crate::trunks::{TrunkReloadView, TrunkView};

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

/// Reads the trunks (`[sip.egress]`) again from the config file, as SIGHUP does: added
/// trunks are used and register, removed ones unregister, changed ones are replaced;
/// calls in progress are unaffected. An unreadable or invalid file changes nothing (409).
#[utoipa::path(post, path = "/api/v1/trunks/reload", tag = "trunks",
    responses(
        (status = 200, description = "What changed", body = TrunkReloadView),
        (status = 409, description = "The config file was refused; nothing changed", body = crate::ErrorBody)))]
pub(crate) async fn reload_trunks(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<TrunkReloadView>> {
    p.require_super()?;
    let Some(trunks) = state.trunks() else {
        return Err(Error::conflict("not_available", "this server has no trunks to reload"));
    };
    match trunks.reload().await {
        Ok(v) => Ok(axum::Json(v)),
        Err(e) => Err(Error::conflict("config_refused", format!("trunks not reloaded: {e}"))),
    }
}
