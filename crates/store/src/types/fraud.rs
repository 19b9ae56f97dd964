//! Fraud events as stored: one decision of the fraud engine worth recording, with the
//! signals that led to it and its explanation. The store keeps them as plain values (names
//! and JSON) so it does not depend on the engine's types.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ExtensionId, FraudEventId, TenantId};
use crate::error::{Result, StoreError};

/// Longest explanation stored (bytes).
pub const MAX_FRAUD_EXPLANATION: usize = 4096;
/// Longest serialised signal list stored (bytes).
pub const MAX_FRAUD_SIGNALS: usize = 16 * 1024;

/// A fraud event as the engine's driver writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewFraudEvent {
    /// When the engine decided.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The extension concerned; `None` for tenant-wide events.
    pub extension_id: Option<ExtensionId>,
    /// SIP Call-ID of the call concerned, if any (at most 256 bytes).
    pub call_id: Option<String>,
    /// What happened (`call_rate`, `spend_cap`, `anomaly`, ...), at most 64 bytes.
    pub kind: String,
    /// `info`, `warning`, `high` or `critical`.
    pub severity: String,
    /// Anomaly score at the time (0 for pure limit events).
    pub score: u32,
    /// The destination in E.164, if a call was involved.
    pub destination: Option<String>,
    /// Actions taken (`log`, `alert`, `block_call`, ...).
    pub actions: Vec<String>,
    /// The signals and limits involved (name, value, threshold, weight), as JSON.
    pub signals: serde_json::Value,
    /// One paragraph for people: what happened, which values crossed which thresholds, what
    /// was done.
    pub explanation: String,
}

impl NewFraudEvent {
    /// Checks sizes and names; the store refuses an event that fails.
    pub fn validate(&self) -> Result<()> {
        let name_ok = |s: &str| {
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        };
        if !name_ok(&self.kind) {
            return Err(StoreError::invalid("kind", "must be 1 to 64 of a-z and _"));
        }
        if !["info", "warning", "high", "critical"].contains(&self.severity.as_str()) {
            return Err(StoreError::invalid("severity", "must be info, warning, high or critical"));
        }
        if self.actions.len() > 16 || !self.actions.iter().all(|a| name_ok(a)) {
            return Err(StoreError::invalid("actions", "at most 16 names of a-z and _"));
        }
        if self.call_id.as_ref().is_some_and(|c| c.len() > 256) {
            return Err(StoreError::invalid("call_id", "at most 256 bytes"));
        }
        if self.destination.as_ref().is_some_and(|d| d.len() > 32) {
            return Err(StoreError::invalid("destination", "at most 32 bytes"));
        }
        if self.explanation.len() > MAX_FRAUD_EXPLANATION {
            return Err(StoreError::invalid("explanation", "at most 4096 bytes"));
        }
        if self.signals.to_string().len() > MAX_FRAUD_SIGNALS {
            return Err(StoreError::invalid("signals", "at most 16 KiB of JSON"));
        }
        Ok(())
    }
}

/// A stored fraud event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FraudEventRecord {
    /// Record id.
    pub id: FraudEventId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Everything else, as written.
    #[serde(flatten)]
    pub event: NewFraudEvent,
}

/// The fraud engine's persistent state (daily counters, baselines, containment), as the
/// engine serialised it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FraudStateDoc {
    /// The serialised state (JSON).
    pub state: String,
    /// When it was saved.
    pub saved_at: OffsetDateTime,
}
