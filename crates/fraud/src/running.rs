//! Running calls against daily caps: settling calls, the instant running calls cross a cap,
//! ending them there, and the once-a-day warnings before a cap is reached.

use crate::event::{Action, EndCall, EventKind, FraudEvent, Measure, Outcome, Severity, Signal};
use crate::meters::{self, Caps};
use crate::state::{Containment, LiveCall, TenantState};
use crate::tenant::About;
use crate::{CallId, ExtensionId, TenantId, Timestamp};

impl TenantState {
    pub(crate) fn caps(&self) -> Caps {
        let l = &self.config.limits;
        Caps {
            intl_ms: Some(u64::from(l.international_minutes_per_day) * 60_000),
            spend_mc: Some(l.spend_cap_cents_per_day.saturating_mul(1000)),
        }
    }

    pub(crate) fn ext_caps(&self) -> Caps {
        let l = &self.config.limits;
        Caps {
            intl_ms: l.international_minutes_per_day_per_extension.map(|m| u64::from(m) * 60_000),
            spend_mc: l.spend_cap_cents_per_day_per_extension.map(|c| c.saturating_mul(1000)),
        }
    }

    /// Brings the tenant's day and hour up to `now`. At local midnight, running calls commit
    /// what they used to the old day and accrue against the new one from midnight.
    /// Ends (settles) the running calls of a contained extension.
    pub(crate) fn end_contained(
        &mut self,
        tid: TenantId,
        ext: ExtensionId,
        now: u64,
    ) -> Vec<EndCall> {
        let Some(state) = self.exts.get(&ext) else { return Vec::new() };
        let intl_only = match state.containment {
            Containment::None => return Vec::new(),
            Containment::International { .. } => true,
            Containment::Suspended { .. } => false,
        };
        let ids: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.extension == ext && !c.settled && (c.international || !intl_only))
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter().filter_map(|id| self.settle(tid, id, now, EventKind::Contained)).collect()
    }

    /// Stops a running call's accrual at `now`, committing what it used; it stays counted as
    /// live until the driver reports its end.
    pub(crate) fn settle(
        &mut self,
        tid: TenantId,
        id: CallId,
        now: u64,
        kind: EventKind,
    ) -> Option<EndCall> {
        let c = self.calls.get_mut(&id)?;
        if c.settled {
            return None;
        }
        if c.accrues() {
            let ms = now.saturating_sub(c.billed_from);
            let mc = meters::cost_mc(c.rate, ms);
            self.daily.used.intl_ms += if c.international { ms } else { 0 };
            self.daily.used.spend_mc += mc;
            self.running.remove(c.international, c.rate, c.billed_from);
            if let Some(ext) = self.exts.get_mut(&c.extension) {
                ext.daily.used.intl_ms += if c.international { ms } else { 0 };
                ext.daily.used.spend_mc += mc;
                ext.running.remove(c.international, c.rate, c.billed_from);
            }
            c.committed_ms += ms;
            c.committed_mc += mc;
            c.billed_from = now;
        }
        c.settled = true;
        Some(EndCall {
            call: id,
            tenant: tid,
            extension: c.extension,
            kind,
            reason: kind.sip_reason(),
        })
    }

    /// The call was answered.
    /// Daily-cap warnings (once a day each); `about` names the extension whose call caused it.
    pub(crate) fn cap_warnings(
        &mut self,
        tid: TenantId,
        now: Timestamp,
        extension: Option<ExtensionId>,
    ) -> Vec<FraudEvent> {
        let now_ms = now.unix_millis();
        let l = self.config.limits;
        let pct = f64::from(l.warn_at_percent) / 100.0;
        let (intl_ms, spend_mc) = meters::usage(&self.daily.used, &self.running, now_ms);
        let intl_cap = f64::from(l.international_minutes_per_day);
        let spend_cap = l.spend_cap_cents_per_day as f64;
        let about = About { now, tenant: tid, extension, call: None, destination: None };
        let actions = self.config.actions.for_severity(Severity::Warning);
        let mut out = Vec::new();
        let intl_min = intl_ms as f64 / 60_000.0;
        if !self.daily.warned_intl && intl_cap > 0.0 && intl_min >= intl_cap * pct {
            self.daily.warned_intl = true;
            let s = Signal {
                name: Measure::TenantInternationalMinutes,
                value: intl_min,
                threshold: intl_cap,
                weight: 0,
            };
            out.push(about.event(
                EventKind::CapApproaching,
                Severity::Warning,
                0,
                vec![s],
                actions,
                0,
                "The tenant's daily international minutes are nearly used up",
            ));
        }
        let spend_c = spend_mc / 1000.0;
        if !self.daily.warned_spend && spend_cap > 0.0 && spend_c >= spend_cap * pct {
            self.daily.warned_spend = true;
            let s = Signal {
                name: Measure::TenantSpendCents,
                value: spend_c,
                threshold: spend_cap,
                weight: 0,
            };
            out.push(about.event(
                EventKind::CapApproaching,
                Severity::Warning,
                0,
                vec![s],
                actions,
                0,
                "The tenant's daily estimated spend is nearly used up",
            ));
        }
        out
    }

    /// The next instant this tenant needs attention: a cap crossed by running calls, or local
    /// midnight while calls accrue.
    pub(crate) fn next_deadline(&self, now: Timestamp) -> Option<u64> {
        if self.running.is_idle() && self.calls.values().all(|c| !c.accrues()) {
            return None;
        }
        let mut t = meters::crossing(&self.daily.used, &self.running, &self.caps());
        let ext_caps = self.ext_caps();
        if ext_caps.intl_ms.is_some() || ext_caps.spend_mc.is_some() {
            for c in self.calls.values().filter(|c| c.accrues()) {
                if let Some(ext) = self.exts.get(&c.extension) {
                    let e = meters::crossing(&ext.daily.used, &ext.running, &ext_caps);
                    t = min_opt(t, e);
                }
            }
        }
        let midnight = now.next_local_midnight(self.config.utc_offset_minutes).unix_millis();
        min_opt(t, Some(midnight))
    }

    /// Ends the calls that crossed a cap at `now`.
    pub(crate) fn on_timer(&mut self, tid: TenantId, now: Timestamp) -> Outcome {
        self.roll(now);
        let now_ms = now.unix_millis();
        let mut out = Outcome::default();
        let caps = self.caps();
        let l = self.config.limits;
        let actions: Vec<Action> = self.config.actions.for_severity(Severity::High).to_vec();
        let usage = meters::usage(&self.daily.used, &self.running, now_ms);
        let tenant_about =
            About { now, tenant: tid, extension: None, call: None, destination: None };
        if meters::intl_reached(&self.daily.used, &self.running, &caps, now_ms) {
            let s = Signal {
                name: Measure::TenantInternationalMinutes,
                value: usage.0 as f64 / 60_000.0,
                threshold: f64::from(l.international_minutes_per_day),
                weight: 0,
            };
            self.end_where(
                tid,
                now_ms,
                EventKind::InternationalMinutesCap,
                |c| c.international,
                None,
                &mut out,
            );
            out.events.push(tenant_about.event(
                EventKind::InternationalMinutesCap,
                Severity::High,
                0,
                vec![s],
                &actions,
                0,
                "International calls ended: the tenant's daily international minutes are used up",
            ));
        }
        if meters::spend_reached(&self.daily.used, &self.running, &caps, now_ms) {
            let s = Signal {
                name: Measure::TenantSpendCents,
                value: usage.1 / 1000.0,
                threshold: l.spend_cap_cents_per_day as f64,
                weight: 0,
            };
            self.daily.capped_spend = true;
            self.end_where(tid, now_ms, EventKind::SpendCap, |c| c.rate > 0, None, &mut out);
            out.events.push(tenant_about.event(
                EventKind::SpendCap,
                Severity::High,
                0,
                vec![s],
                &actions,
                0,
                "Calls ended: the tenant's daily estimated spend reached its cap",
            ));
        }
        let ext_caps = self.ext_caps();
        if ext_caps.intl_ms.is_some() || ext_caps.spend_mc.is_some() {
            let mut exts: Vec<ExtensionId> =
                self.calls.values().filter(|c| c.accrues()).map(|c| c.extension).collect();
            exts.sort();
            exts.dedup();
            for id in exts {
                let Some(ext) = self.exts.get(&id) else { continue };
                let about = About { extension: Some(id), ..tenant_about };
                let usage = meters::usage(&ext.daily.used, &ext.running, now_ms);
                let intl = meters::intl_reached(&ext.daily.used, &ext.running, &ext_caps, now_ms);
                let spend = meters::spend_reached(&ext.daily.used, &ext.running, &ext_caps, now_ms);
                if intl {
                    let s = Signal {
                        name: Measure::ExtensionInternationalMinutes,
                        value: usage.0 as f64 / 60_000.0,
                        threshold: ext_caps.intl_ms.unwrap_or(0) as f64 / 60_000.0,
                        weight: 0,
                    };
                    self.end_where(
                        tid,
                        now_ms,
                        EventKind::InternationalMinutesCap,
                        |c| c.international,
                        Some(id),
                        &mut out,
                    );
                    out.events.push(about.event(
                        EventKind::InternationalMinutesCap,
                        Severity::High,
                        0,
                        vec![s],
                        &actions,
                        0,
                        "International calls ended: the extension's daily international minutes \
                         are used up",
                    ));
                    if let Some(e) = self.exts.get_mut(&id) {
                        e.daily.capped_intl = true;
                    }
                }
                if spend {
                    let s = Signal {
                        name: Measure::ExtensionSpendCents,
                        value: usage.1 / 1000.0,
                        threshold: ext_caps.spend_mc.unwrap_or(0) as f64 / 1000.0,
                        weight: 0,
                    };
                    self.end_where(
                        tid,
                        now_ms,
                        EventKind::SpendCap,
                        |c| c.rate > 0,
                        Some(id),
                        &mut out,
                    );
                    out.events.push(about.event(
                        EventKind::SpendCap,
                        Severity::High,
                        0,
                        vec![s],
                        &actions,
                        0,
                        "Calls ended: the extension's daily estimated spend reached its cap",
                    ));
                    if let Some(e) = self.exts.get_mut(&id) {
                        e.daily.capped_spend = true;
                    }
                }
            }
        }
        out
    }

    fn end_where(
        &mut self,
        tid: TenantId,
        now: u64,
        kind: EventKind,
        pred: impl Fn(&LiveCall) -> bool,
        ext: Option<ExtensionId>,
        out: &mut Outcome,
    ) {
        let ids: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.accrues() && pred(c) && ext.is_none_or(|e| e == c.extension))
            .map(|(id, _)| *id)
            .collect();
        out.end_calls.extend(ids.into_iter().filter_map(|id| self.settle(tid, id, now, kind)));
    }
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}
