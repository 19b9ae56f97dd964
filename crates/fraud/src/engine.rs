//! The engine: tenants, the index of running calls, timers, snapshots, memory bounds.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use ringfence_policy::ClassifiedNumber;
use serde::{Deserialize, Serialize};

use crate::event::{
    CallSummary, Decision, EventKind, FraudEvent, Measure, Outcome, Severity, Signal,
};
use crate::snapshot::FraudState;
use crate::state::{
    Containment, EXT_NETWORKS, ExtensionState, TEN_MINUTES_MS, TenantState, network_key,
};
use crate::{Error, RateTable, TenantConfig, Timestamp};

/// A tenant, as the driver identifies it (the store's UUID as a `u128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(pub u128);

/// An extension (the store's UUID as a `u128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExtensionId(pub u128);

/// A call, numbered by the driver; unique among running calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

/// What the engine needs to know about an outbound call before it is placed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallContext {
    /// The driver's number for the call.
    pub call: CallId,
    /// The calling tenant.
    pub tenant: TenantId,
    /// The calling extension (for forwards and transfers, the one on whose behalf it leaves).
    pub extension: ExtensionId,
    /// The destination as the egress policy classified it.
    pub destination: ClassifiedNumber,
    /// Whether it leaves the tenant's home country
    /// ([`ClassifiedNumber::is_international_from`]).
    pub international: bool,
    /// Address the request came from (the caller's device), if known.
    pub source: Option<IpAddr>,
}

/// Memory held by the engine, estimated from type sizes and container capacities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryReport {
    /// Tenants tracked.
    pub tenants: usize,
    /// Extensions tracked.
    pub extensions: usize,
    /// Extensions with short-term windows (active in the last hour).
    pub extensions_with_short_term: usize,
    /// Running calls.
    pub calls: usize,
    /// Estimated bytes in extension state, including hash-table slots.
    pub extension_bytes: usize,
    /// Estimated bytes in total.
    pub total_bytes: usize,
}

/// Short-term state of an extension idle this long is dropped.
const SHORT_TERM_TTL_MS: u64 = 3_600_000;
/// An extension idle this long, not contained and without calls, is forgotten entirely.
const EXTENSION_TTL_MS: u64 = 60 * 86_400_000;
/// How often `poll_actions` runs maintenance.
const MAINTENANCE_EVERY_MS: u64 = 600_000;

/// The fraud engine. Sans-IO: the driver calls it with the current time and acts on what it
/// returns; it never blocks, spawns or reads a clock. One engine serves all tenants; share it
/// behind a mutex (decisions take microseconds) or shard it by tenant.
#[derive(Debug)]
pub struct FraudEngine {
    rates: Arc<RateTable>,
    default_config: TenantConfig,
    tenants: HashMap<TenantId, TenantState>,
    call_tenant: HashMap<CallId, TenantId>,
    timers: BTreeSet<(u64, TenantId)>,
    last_maintenance: u64,
}

impl FraudEngine {
    /// An engine using `rates` for spend estimates and [`TenantConfig::default`] for tenants
    /// without their own configuration.
    pub fn new(rates: Arc<RateTable>) -> Self {
        Self {
            rates,
            default_config: TenantConfig::default(),
            tenants: HashMap::new(),
            call_tenant: HashMap::new(),
            timers: BTreeSet::new(),
            last_maintenance: 0,
        }
    }

    /// Replaces the rate table (running calls keep the rate they started with).
    pub fn set_rates(&mut self, rates: Arc<RateTable>) {
        self.rates = rates;
    }

    /// Sets the configuration used for tenants that have none of their own.
    pub fn set_default_config(&mut self, config: TenantConfig) -> Result<(), Error> {
        config.validate()?;
        self.default_config = config;
        Ok(())
    }

    /// Sets a tenant's configuration (at start-up and whenever its settings change). Counters
    /// and baselines are kept.
    pub fn set_tenant_config(
        &mut self,
        tenant: TenantId,
        config: TenantConfig,
    ) -> Result<(), Error> {
        config.validate()?;
        match self.tenants.get_mut(&tenant) {
            Some(t) => t.config = config,
            None => {
                self.tenants.insert(tenant, TenantState::new(config));
            }
        }
        Ok(())
    }

    /// Forgets a tenant (deleted). Its running calls are forgotten too.
    pub fn remove_tenant(&mut self, tenant: TenantId) {
        if let Some(t) = self.tenants.remove(&tenant) {
            for id in t.calls.keys() {
                self.call_tenant.remove(id);
            }
            if let Some(at) = t.timer {
                self.timers.remove(&(at, tenant));
            }
        }
    }

    fn tenant(&mut self, id: TenantId) -> &mut TenantState {
        let default = &self.default_config;
        self.tenants.entry(id).or_insert_with(|| TenantState::new(default.clone()))
    }

    /// Decides whether a call the egress policy allowed may be placed. If allowed, the call is
    /// running from now on: report [`call_answered`](Self::call_answered) and
    /// [`call_ended`](Self::call_ended) (also for calls that fail before answer). Reusing the
    /// id of a running call ends that call first.
    pub fn call_attempt(&mut self, now: Timestamp, ctx: &CallContext) -> Decision {
        let rate = self.rates.rate_millicents_per_minute(&ctx.destination.e164);
        if self.call_tenant.contains_key(&ctx.call) {
            // A reused id ends the call that had it, so counters stay consistent.
            self.call_ended(now, ctx.call);
        }
        let t = self.tenant(ctx.tenant);
        let mut d = t.attempt(ctx.tenant, now, ctx, rate);
        d.end_calls = t.end_contained(ctx.tenant, ctx.extension, now.unix_millis());
        if d.allow {
            d.events.extend(t.cap_warnings(ctx.tenant, now, Some(ctx.extension)));
            self.call_tenant.insert(ctx.call, ctx.tenant);
        }
        self.rearm(ctx.tenant, now);
        d
    }

    /// The call was answered: from now on it uses international minutes and spend.
    pub fn call_answered(&mut self, now: Timestamp, call: CallId) {
        let Some(&tid) = self.call_tenant.get(&call) else { return };
        if let Some(t) = self.tenants.get_mut(&tid) {
            t.answered(now, call);
        }
        self.rearm(tid, now);
    }

    /// The call ended (hung up, failed, or ended on the engine's request). Returns its billable
    /// duration, estimated cost and any events; `None` for an unknown call.
    pub fn call_ended(&mut self, now: Timestamp, call: CallId) -> Option<CallSummary> {
        let tid = self.call_tenant.remove(&call)?;
        let t = self.tenants.get_mut(&tid)?;
        let (ext, mut summary) = t.ended(tid, now, call)?;
        summary.outcome.events.extend(t.cap_warnings(tid, now, Some(ext)));
        summary.outcome.end_calls = t.end_contained(tid, ext, now.unix_millis());
        self.rearm(tid, now);
        Some(summary)
    }

    /// When the driver must next call [`poll_actions`](Self::poll_actions): the exact instant
    /// running calls will cross a daily cap (or a tenant's midnight while calls run).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.first().map(|&(at, _)| Timestamp::from_unix_millis(at))
    }

    /// Calls to end because a running limit was crossed, with their events. Call at
    /// [`poll_timeout`](Self::poll_timeout) (calling more often is harmless). Also drops the
    /// short-term state of idle extensions every ten minutes.
    pub fn poll_actions(&mut self, now: Timestamp) -> Outcome {
        let now_ms = now.unix_millis();
        let mut out = Outcome::default();
        while let Some(&(at, tid)) = self.timers.first() {
            if at > now_ms {
                break;
            }
            self.timers.pop_first();
            if let Some(t) = self.tenants.get_mut(&tid) {
                t.timer = None;
                let o = t.on_timer(tid, now);
                out.events.extend(o.events);
                out.end_calls.extend(o.end_calls);
            }
            self.rearm(tid, now);
        }
        if now_ms.saturating_sub(self.last_maintenance) >= MAINTENANCE_EVERY_MS {
            self.maintain(now);
        }
        out
    }

    fn rearm(&mut self, tid: TenantId, now: Timestamp) {
        let Some(t) = self.tenants.get_mut(&tid) else { return };
        let next = t.next_deadline(now);
        if next == t.timer {
            return;
        }
        if let Some(old) = t.timer.take() {
            self.timers.remove(&(old, tid));
        }
        if let Some(at) = next {
            self.timers.insert((at, tid));
            t.timer = Some(at);
        }
    }

    /// An extension registered from `source`. A network (IPv4 /24, IPv6 /56) it never used
    /// before makes its next calls suspect for a while.
    pub fn registration(
        &mut self,
        now: Timestamp,
        tenant: TenantId,
        extension: ExtensionId,
        source: IpAddr,
    ) {
        let now_ms = now.unix_millis();
        let t = self.tenant(tenant);
        let ext = t.exts.entry(extension).or_default();
        let key = network_key(source);
        let known = ext.profile.networks.contains(key);
        let first = ext.profile.networks.is_empty();
        ext.profile.networks.insert(key, EXT_NETWORKS);
        ext.last_seen = now_ms;
        if !known && !first {
            ext.short().new_network_at = Some(now_ms);
        }
    }

    /// The egress policy refused an attempt of this extension. Several refusals in ten
    /// minutes raise a warning and make its next allowed calls suspect (an attacker probing
    /// destinations).
    pub fn policy_refusal(
        &mut self,
        now: Timestamp,
        tenant: TenantId,
        extension: ExtensionId,
        destination: Option<&ClassifiedNumber>,
    ) -> Outcome {
        let now_ms = now.unix_millis();
        let t = self.tenant(tenant);
        let threshold = t.config.anomaly.refusals_threshold as usize;
        let cooldown_ms = u64::from(t.config.actions.alert_cooldown_seconds) * 1000;
        let actions = t.config.actions.for_severity(Severity::Warning).to_vec();
        let ext = t.exts.entry(extension).or_default();
        ext.last_seen = now_ms;
        let st = ext.short();
        st.refusals.push(now_ms, 64);
        let n = st.refusals.count_within(now_ms, TEN_MINUTES_MS);
        let mut out = Outcome::default();
        if n >= threshold
            && let Some(sup) =
                st.cooldown.admit(EventKind::PolicyRefusals.index(), now_ms, cooldown_ms, false)
        {
            let mut e = FraudEvent {
                at: now,
                tenant,
                extension: Some(extension),
                call: None,
                kind: EventKind::PolicyRefusals,
                severity: Severity::Warning,
                score: 0,
                signals: vec![Signal {
                    name: Measure::Refusals,
                    value: n as f64,
                    threshold: threshold as f64,
                    weight: 0,
                }],
                destination: destination.map(|d| d.e164),
                actions,
                suppressed: sup,
                explanation: String::new(),
            };
            e.explain("Several calls refused by the calling policy within 10 minutes");
            out.events.push(e);
        }
        out
    }

    /// The extension's containment.
    pub fn containment(&self, tenant: TenantId, extension: ExtensionId) -> Containment {
        self.tenants
            .get(&tenant)
            .and_then(|t| t.exts.get(&extension))
            .map_or(Containment::None, |e| e.containment)
    }

    /// An administrator cleared the extension: its calls are allowed again and its recent
    /// violations forgotten. Returns whether it was contained.
    pub fn clear_containment(&mut self, tenant: TenantId, extension: ExtensionId) -> bool {
        let Some(ext) = self.tenants.get_mut(&tenant).and_then(|t| t.exts.get_mut(&extension))
        else {
            return false;
        };
        let was = ext.containment != Containment::None;
        ext.containment = Containment::None;
        if let Some(st) = ext.short.as_deref_mut() {
            st.violations.clear();
            st.refusals.clear();
            st.dialled.clear();
        }
        was
    }

    /// Drops the short-term windows of extensions idle for an hour, and forgets extensions
    /// idle for 60 days that are neither contained nor calling. `poll_actions` runs this
    /// every ten minutes.
    pub fn maintain(&mut self, now: Timestamp) {
        let now_ms = now.unix_millis();
        self.last_maintenance = now_ms;
        for t in self.tenants.values_mut() {
            t.exts.retain(|_, e| {
                let idle = now_ms.saturating_sub(e.last_seen);
                idle < EXTENSION_TTL_MS || e.live > 0 || e.containment != Containment::None
            });
            for e in t.exts.values_mut() {
                if e.live == 0 && now_ms.saturating_sub(e.last_seen) >= SHORT_TERM_TTL_MS {
                    e.short = None;
                }
            }
        }
    }

    /// A snapshot of what must survive a restart: daily counters (including what running calls
    /// used up to `now`), baselines, containment. Persist it periodically and at shutdown.
    pub fn snapshot(&self, now: Timestamp) -> FraudState {
        crate::snapshot::take(&self.tenants, now)
    }

    /// Restores a snapshot into this engine (at start-up, before calls). Tenant
    /// configurations are not part of it: set them as usual.
    pub fn restore(&mut self, state: FraudState) {
        crate::snapshot::apply(state, &mut self.tenants, &self.default_config);
    }

    /// Estimated memory held.
    pub fn memory(&self) -> MemoryReport {
        let slot = |k: usize, v: usize| k + v + 1;
        let mut r = MemoryReport {
            tenants: self.tenants.len(),
            calls: self.call_tenant.len(),
            ..Default::default()
        };
        let mut total = self.tenants.capacity() * slot(16, std::mem::size_of::<TenantState>())
            + self.call_tenant.capacity() * slot(8, 16)
            + self.timers.len() * 48;
        for t in self.tenants.values() {
            r.extensions += t.exts.len();
            let ext_bytes = t.exts.capacity() * slot(16, std::mem::size_of::<ExtensionState>())
                + t.exts.values().map(ExtensionState::heap_bytes).sum::<usize>();
            r.extensions_with_short_term += t.exts.values().filter(|e| e.short.is_some()).count();
            r.extension_bytes += ext_bytes;
            total += ext_bytes
                + t.calls.capacity() * slot(8, std::mem::size_of::<crate::state::LiveCall>())
                + t.profile.heap_bytes()
                + t.daily.destinations.heap_bytes();
        }
        r.total_bytes = total;
        r
    }
}
