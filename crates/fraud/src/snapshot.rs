//! What survives a restart: daily counters, baselines, containment. Short-term windows and
//! running calls do not (calls do not survive a restart either).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::meters;
use crate::state::{Containment, Daily, Profile, TenantState, is_default};
use crate::{ExtensionId, TenantConfig, TenantId, Timestamp};

/// Snapshot format version.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The engine's persistent state, for the driver to store (JSON, or any serde format that
/// supports 128-bit integers) and hand back to [`crate::FraudEngine::restore`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FraudState {
    /// Format version ([`SNAPSHOT_VERSION`]).
    pub version: u32,
    /// When it was taken.
    pub taken_at: Timestamp,
    /// Per tenant.
    pub tenants: Vec<TenantSnapshot>,
}

/// One tenant's persistent state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantSnapshot {
    /// The tenant.
    pub tenant: TenantId,
    /// Local day number the counters belong to.
    pub day: i64,
    #[serde(flatten)]
    pub(crate) state: Persisted,
    /// Its extensions.
    pub extensions: Vec<ExtensionSnapshot>,
}

/// One extension's persistent state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtensionSnapshot {
    /// The extension.
    pub extension: ExtensionId,
    /// Local day number the counters belong to.
    pub day: i64,
    /// Containment in force.
    #[serde(default, skip_serializing_if = "is_default")]
    pub containment: Containment,
    #[serde(flatten)]
    pub(crate) state: Persisted,
}

/// Counters and baselines (opaque to the driver).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Persisted {
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) daily: Daily,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) profile: Profile,
}

impl TenantSnapshot {
    /// International minutes used on the snapshot's day.
    pub fn international_minutes(&self) -> f64 {
        self.state.daily.used.intl_ms as f64 / 60_000.0
    }

    /// Estimated spend on the snapshot's day, in cents.
    pub fn spend_cents(&self) -> f64 {
        self.state.daily.used.spend_mc as f64 / 1000.0
    }
}

pub(crate) fn take(tenants: &HashMap<TenantId, TenantState>, now: Timestamp) -> FraudState {
    let now_ms = now.unix_millis();
    let mut out: Vec<TenantSnapshot> = tenants
        .iter()
        .map(|(&id, t)| {
            let mut daily = t.daily.clone();
            // Running calls have used something already; count it, since they will not end
            // normally if the process stops now.
            let (intl, spend) = meters::usage(&t.daily.used, &t.running, now_ms);
            daily.used = meters::Used { intl_ms: intl, spend_mc: spend.ceil() as u64 };
            let mut extensions: Vec<ExtensionSnapshot> = t
                .exts
                .iter()
                .map(|(&eid, e)| {
                    let mut daily = e.daily.clone();
                    let (intl, spend) = meters::usage(&e.daily.used, &e.running, now_ms);
                    daily.used = meters::Used { intl_ms: intl, spend_mc: spend.ceil() as u64 };
                    ExtensionSnapshot {
                        extension: eid,
                        day: e.day,
                        containment: e.containment,
                        state: Persisted { daily, profile: e.profile.clone() },
                    }
                })
                .collect();
            extensions.sort_by_key(|e| e.extension);
            TenantSnapshot {
                tenant: id,
                day: t.day,
                state: Persisted { daily, profile: t.profile.clone() },
                extensions,
            }
        })
        .collect();
    out.sort_by_key(|t| t.tenant);
    FraudState { version: SNAPSHOT_VERSION, taken_at: now, tenants: out }
}

pub(crate) fn apply(
    state: FraudState,
    tenants: &mut HashMap<TenantId, TenantState>,
    default: &TenantConfig,
) {
    for snap in state.tenants {
        let t = tenants.entry(snap.tenant).or_insert_with(|| TenantState::new(default.clone()));
        t.day = snap.day;
        t.daily = snap.state.daily;
        t.profile = snap.state.profile;
        for e in snap.extensions {
            let ext = t.exts.entry(e.extension).or_default();
            ext.day = e.day;
            ext.daily = e.state.daily;
            ext.profile = e.state.profile;
            ext.containment = e.containment;
            ext.last_seen = state.taken_at.unix_millis();
        }
    }
}
