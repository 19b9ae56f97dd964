//! The once-a-second task: [`ringfence_guard::Guard::housekeeping`], then every security
//! event to the counters, the log and the audit log.
//!
//! Audit events (actor `system:guard`, hash-chained like every other event):
//!
//! | guard event | action | target | tenant |
//! |---|---|---|---|
//! | ban started | `guard.ban_start` | `ban:<key>` | the user's tenant for a per-user block |
//! | ban ran out | `guard.ban_expire` | `ban:<key>` | as above |
//! | ban evicted (tables full) | `guard.ban_evict` | `ban:<key>` | as above |
//! | scanner signals | `guard.scanner_detected` | `source:<ip:port>` | none |
//!
//! The detail holds the key, reason, duration and offence count (or the signals and the
//! User-Agent) as JSON. A lifted ban is written by the admin API, which knows who lifted it
//! (`guard.ban_lift`, the administrator as actor); here it is only counted.
//!
//! At most [`AUDIT_PER_TICK`] events are written one by one each second; beyond that (a
//! flood of spoofed sources, each earning a ban or showing a fingerprint) the rest of the
//! second's events are folded into one `guard.events_summarised` event with a count per
//! action, so an attack cannot turn the audit log into its amplifier. The counters and the
//! log see every event.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringfence_guard::{BanKey, GuardEvent};
use ringfence_store::{Actor, AuditEntry, AuditRepo, StoreError, TenantId, TenantRepo};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Perimeter;
use crate::auth::BoxFuture;

/// Security events written to the audit log one by one per second at most.
pub const AUDIT_PER_TICK: usize = 200;

/// Where security events go: the audit log, and the tenant of a SIP domain (per-user blocks
/// are the tenant's business too).
pub trait SecurityLog: Send + Sync + 'static {
    /// Appends one event.
    fn append(&self, entry: AuditEntry) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The tenant whose SIP domain is `domain`.
    fn tenant_of<'a>(
        &'a self,
        domain: &'a str,
    ) -> BoxFuture<'a, Result<Option<TenantId>, StoreError>>;
}

/// [`SecurityLog`] over any store.
#[derive(Debug, Clone)]
pub struct StoreSecurityLog<S>(pub S);

impl<S> SecurityLog for StoreSecurityLog<S>
where
    S: AuditRepo + TenantRepo + Send + Sync + 'static,
{
    fn append(&self, entry: AuditEntry) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.0.append_audit(entry).await.map(|_| ()) })
    }

    fn tenant_of<'a>(
        &'a self,
        domain: &'a str,
    ) -> BoxFuture<'a, Result<Option<TenantId>, StoreError>> {
        Box::pin(async move {
            let Ok(domain) = ringfence_store::SipDomain::parse(domain) else { return Ok(None) };
            Ok(self.0.get_tenant_by_domain(&domain).await?.map(|t| t.id))
        })
    }
}

/// Runs until `shutdown` fires, then does one last round (events queued at the end are
/// written too).
pub async fn run(
    perimeter: Arc<Perimeter>,
    log: Option<Arc<dyn SecurityLog>>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stop = tokio::select! {
            () = shutdown.cancelled() => true,
            _ = tick.tick() => false,
        };
        perimeter.tick(log.as_deref()).await;
        if stop {
            return;
        }
    }
}

/// The action and target of an event's audit entry; `None` for events not written here.
fn describe(e: &GuardEvent) -> Option<(&'static str, String, Option<&str>)> {
    fn ban<'a>(
        action: &'static str,
        key: &'a BanKey,
    ) -> Option<(&'static str, String, Option<&'a str>)> {
        let tenant = match key {
            BanKey::User { tenant, .. } => Some(tenant.as_str()),
            _ => None,
        };
        Some((action, format!("ban:{key}"), tenant))
    }
    match e {
        GuardEvent::BanStarted { key, .. } => ban("guard.ban_start", key),
        GuardEvent::BanExpired { key } => ban("guard.ban_expire", key),
        GuardEvent::BanEvicted { key } => ban("guard.ban_evict", key),
        GuardEvent::ScannerDetected { source, .. } => {
            Some(("guard.scanner_detected", format!("source:{source}"), None))
        }
        GuardEvent::BanLifted { .. } => None,
        _ => Some(("guard.event", "guard".to_owned(), None)),
    }
}

/// At most 200 bytes without control characters (usernames in keys are the sender's text;
/// the whole key is in the detail, JSON-escaped).
pub(super) fn clean_target(t: &str) -> String {
    let mut out = String::with_capacity(t.len().min(200));
    for c in t.chars() {
        let c = if c.is_control() { '?' } else { c };
        if out.len() + c.len_utf8() > 200 {
            break;
        }
        out.push(c);
    }
    out
}

impl Perimeter {
    /// One round of the driver: housekeeping, then every queued event.
    pub async fn tick(&self, log: Option<&dyn SecurityLog>) {
        let started = Instant::now();
        self.guard.housekeeping(started);
        let mut events = Vec::new();
        while let Some(e) = self.guard.poll_event() {
            self.counters.event(&e);
            trace_event(&e);
            events.push(e);
        }
        let Some(log) = log else { return };
        let (mut written, mut summarised, mut failed) = (0u64, 0u64, 0u64);
        let mut tenants: HashMap<String, Option<TenantId>> = HashMap::new();
        let mut folded: BTreeMap<&'static str, u64> = BTreeMap::new();
        for e in &events {
            let Some((action, target, tenant_domain)) = describe(e) else { continue };
            if written + failed >= AUDIT_PER_TICK as u64 {
                *folded.entry(action).or_default() += 1;
                summarised += 1;
                continue;
            }
            let tenant_id = match tenant_domain {
                None => None,
                Some(d) => match tenants.get(d) {
                    Some(t) => *t,
                    None => {
                        let t = log.tenant_of(d).await.unwrap_or(None);
                        tenants.insert(d.to_owned(), t);
                        t
                    }
                },
            };
            let entry = AuditEntry {
                tenant_id,
                actor: Actor::system("guard"),
                action: action.to_owned(),
                target: clean_target(&target),
                detail: serde_json::to_value(e).unwrap_or_else(|_| json!({})),
            };
            match log.append(entry).await {
                Ok(()) => written += 1,
                Err(err) => {
                    failed += 1;
                    tracing::warn!(error = %err, action, "security event not written to the audit log");
                }
            }
        }
        if !folded.is_empty() {
            let entry = AuditEntry {
                tenant_id: None,
                actor: Actor::system("guard"),
                action: "guard.events_summarised".to_owned(),
                target: "guard".to_owned(),
                detail: json!({ "counts": folded, "written_one_by_one": written }),
            };
            if let Err(err) = log.append(entry).await {
                failed += 1;
                tracing::warn!(error = %err, "security event summary not written to the audit log");
            }
        }
        self.counters.audit(written, summarised, failed);
    }
}

/// Logs an event (keys and User-Agents are the sender's text: Debug-escaped).
fn trace_event(e: &GuardEvent) {
    match e {
        GuardEvent::BanStarted { key, reason, duration_secs, offences } => tracing::info!(
            key = ?key.to_string(),
            reason = %reason,
            duration_secs,
            offences,
            "guard: ban started"
        ),
        GuardEvent::BanLifted { key } => {
            tracing::info!(key = ?key.to_string(), "guard: ban lifted")
        }
        GuardEvent::BanExpired { key } => {
            tracing::debug!(key = ?key.to_string(), "guard: ban expired");
        }
        GuardEvent::BanEvicted { key } => {
            tracing::info!(key = ?key.to_string(), "guard: ban evicted (tables full)");
        }
        GuardEvent::ScannerDetected { source, signals, user_agent } => tracing::info!(
            %source,
            %signals,
            user_agent = ?user_agent,
            "guard: scanner signals"
        ),
        other => tracing::debug!(event = ?other, "guard event"),
    }
}
