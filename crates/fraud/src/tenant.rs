//! The decisions for one tenant: attempts, answers, ends, cap crossings, day rollover.

use crate::event::{
    Action, Decision, EventKind, FraudEvent, Measure, Outcome, Refusal, Severity, Signal,
};
use crate::meters::{self, Running};
use crate::score::{TenantView, score};
use crate::state::{
    Containment, DIALLED_RING, EXT_COUNTRIES, EXT_DESTINATIONS, ExtensionState, LiveCall,
    ShortTerm, TEN_MINUTES_MS, TENANT_COUNTRIES, TENANT_DESTINATIONS, TenantState, country_key,
    dest_key,
};
use crate::{CallContext, CallId, ExtensionId, TenantId, Timestamp};

/// Who an event is about, and the call and destination involved.
#[derive(Clone, Copy)]
pub(crate) struct About {
    pub(crate) now: Timestamp,
    pub(crate) tenant: TenantId,
    pub(crate) extension: Option<ExtensionId>,
    pub(crate) call: Option<CallId>,
    pub(crate) destination: Option<ringfence_policy::E164>,
}

impl About {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn event(
        &self,
        kind: EventKind,
        severity: Severity,
        score: u32,
        signals: Vec<Signal>,
        actions: &[Action],
        suppressed: u32,
        headline: &str,
    ) -> FraudEvent {
        let mut actions: Vec<Action> = actions
            .iter()
            .copied()
            .filter(|a| {
                self.extension.is_some()
                    || !matches!(
                        a,
                        Action::BlockInternationalForExtension | Action::SuspendExtension
                    )
            })
            .collect();
        actions.sort();
        actions.dedup();
        let mut e = FraudEvent {
            at: self.now,
            tenant: self.tenant,
            extension: self.extension,
            call: self.call,
            kind,
            severity,
            score,
            signals,
            destination: self.destination,
            actions,
            suppressed,
            explanation: String::new(),
        };
        e.explain(headline);
        e
    }
}

/// The containment an action list asks for, if any.
fn containment_of(actions: &[Action], now: Timestamp) -> Option<Containment> {
    if actions.contains(&Action::SuspendExtension) {
        Some(Containment::Suspended { since: now })
    } else if actions.contains(&Action::BlockInternationalForExtension) {
        Some(Containment::International { since: now })
    } else {
        None
    }
}

/// Applies a containment unless the extension is already at least as contained; returns
/// whether it changed.
fn contain(ext: &mut ExtensionState, c: Containment) -> bool {
    let rank = |c: &Containment| match c {
        Containment::None => 0,
        Containment::International { .. } => 1,
        Containment::Suspended { .. } => 2,
    };
    if rank(&c) > rank(&ext.containment) {
        ext.containment = c;
        true
    } else {
        false
    }
}

/// Records the attempt for scanning detection; returns the length of the run of sequential
/// numbers it ends.
fn sequential_run(
    st: &mut ShortTerm,
    n: &ringfence_policy::E164,
    now: u64,
    cfg: &crate::ScanConfig,
) -> usize {
    let value = n.as_u64();
    let len = n.digit_count() as u8;
    while st.dialled.len() >= DIALLED_RING {
        st.dialled.pop_front();
    }
    st.dialled.push_back((value, len, now));
    let modulus = 10u64.pow(cfg.suffix_digits);
    let window = u64::from(cfg.window_seconds) * 1000;
    let mut run = 1;
    let mut next = (value, len);
    for &(v, l, t) in st.dialled.iter().rev().skip(1) {
        let same_block = l == next.1 && v / modulus == next.0 / modulus;
        if !same_block || v >= next.0 || now.saturating_sub(t) >= window {
            break;
        }
        run += 1;
        next = (v, l);
    }
    run
}

impl TenantState {
    pub(crate) fn roll(&mut self, now: Timestamp) {
        let off = self.config.utc_offset_minutes;
        let alpha = self.config.anomaly.ewma_alpha;
        let day = now.local_day(off);
        if day != self.day {
            if self.day != i64::MIN && !self.calls.is_empty() {
                let midnight = now.start_of_local_day(off).unix_millis();
                self.running = Running::default();
                let hour = now.hour();
                for c in self.calls.values_mut() {
                    let ext = self.exts.entry(c.extension).or_default();
                    ext.roll(day, hour, alpha);
                    ext.running = Running::default();
                    if c.accrues() && c.billed_from < midnight {
                        let ms = midnight - c.billed_from;
                        c.committed_ms += ms;
                        c.committed_mc += meters::cost_mc(c.rate, ms);
                        c.billed_from = midnight;
                    }
                }
                for c in self.calls.values().filter(|c| c.accrues()) {
                    self.running.add(c.international, c.rate, c.billed_from);
                    if let Some(ext) = self.exts.get_mut(&c.extension) {
                        ext.running.add(c.international, c.rate, c.billed_from);
                    }
                }
            }
            self.profile.fold_day(&self.daily, alpha);
            self.daily = Default::default();
            self.day = day;
        }
        self.profile.roll_hour(now.hour(), alpha);
    }

    /// Decides an attempt. Containment ordered by the decision is applied to the extension;
    /// its running calls are ended by the caller via [`TenantState::end_contained`].
    pub(crate) fn attempt(
        &mut self,
        tid: TenantId,
        now: Timestamp,
        ctx: &CallContext,
        rate: u32,
    ) -> Decision {
        let now_ms = now.unix_millis();
        self.roll(now);
        let day = self.day;
        let off = self.config.utc_offset_minutes;
        let alpha = self.config.anomaly.ewma_alpha;
        let lim = self.config.limits;
        let cooldown_ms = u64::from(self.config.actions.alert_cooldown_seconds) * 1000;
        let sustained = self.config.actions.sustained_violations as usize;
        let about = About {
            now,
            tenant: tid,
            extension: Some(ctx.extension),
            call: Some(ctx.call),
            destination: Some(ctx.destination.e164),
        };
        let caps = self.caps();
        let ext_caps = self.ext_caps();
        let tenant_intl = ctx.international
            && meters::intl_reached(&self.daily.used, &self.running, &caps, now_ms);
        let tenant_spend =
            rate > 0 && meters::spend_reached(&self.daily.used, &self.running, &caps, now_ms);
        let tenant_rate_ok = self.gcra.conforms(now_ms, lim.max_calls_per_minute_per_tenant);
        let tenant_in_flight = self.gcra.in_flight(now_ms, lim.max_calls_per_minute_per_tenant) + 1;
        let tenant_usage = meters::usage(&self.daily.used, &self.running, now_ms);

        let ext = self.exts.entry(ctx.extension).or_default();
        ext.roll(day, now.hour(), alpha);
        ext.last_seen = now_ms;
        let run = sequential_run(ext.short(), &ctx.destination.e164, now_ms, &self.config.scan);
        let mut d = Decision::default();

        // 1. A contained extension stays contained until an administrator clears it.
        let contained = match ext.containment {
            Containment::Suspended { .. } => true,
            Containment::International { .. } => ctx.international,
            Containment::None => false,
        };
        if contained {
            let st = ext.short();
            if let Some(sup) =
                st.cooldown.admit(EventKind::Contained.index(), now_ms, cooldown_ms, false)
            {
                let actions = self.config.actions.for_severity(Severity::Info);
                d.events.push(about.event(
                    EventKind::Contained,
                    Severity::Info,
                    0,
                    Vec::new(),
                    actions,
                    sup,
                    "Call refused: the extension is contained until an administrator clears it",
                ));
            }
            let mut d = finish(d, Some(EventKind::Contained), 0);
            if let (Containment::International { .. }, Some(r)) = (ext.containment, &mut d.refusal)
            {
                r.sip_reason = "International Calls Suspended By Fraud Control";
            }
            return d;
        }

        // 2. Hard limits.
        let st = ext.short.get_or_insert_with(Box::default);
        let ext_usage = meters::usage(&ext.daily.used, &ext.running, now_ms);
        let limit = |m: Measure, value: f64, limit: f64| Signal {
            name: m,
            value,
            threshold: limit,
            weight: 0,
        };
        let violation: Option<(EventKind, Severity, Signal, &str)> =
            if ext.live >= lim.max_concurrent_calls_per_extension {
                Some((
                    EventKind::ConcurrentCalls,
                    Severity::Warning,
                    limit(
                        Measure::ExtensionConcurrentCalls,
                        f64::from(ext.live + 1),
                        f64::from(lim.max_concurrent_calls_per_extension),
                    ),
                    "Call refused: the extension's concurrent-call limit is reached",
                ))
            } else if self.live >= lim.max_concurrent_calls_per_tenant {
                Some((
                    EventKind::ConcurrentCalls,
                    Severity::Warning,
                    limit(
                        Measure::TenantConcurrentCalls,
                        f64::from(self.live + 1),
                        f64::from(lim.max_concurrent_calls_per_tenant),
                    ),
                    "Call refused: the tenant's concurrent-call limit is reached",
                ))
            } else if !st.gcra.conforms(now_ms, lim.max_calls_per_minute_per_extension) {
                let n = st.gcra.in_flight(now_ms, lim.max_calls_per_minute_per_extension) + 1;
                Some((
                    EventKind::CallRate,
                    Severity::High,
                    limit(
                        Measure::ExtensionCallsPerMinute,
                        n as f64,
                        f64::from(lim.max_calls_per_minute_per_extension),
                    ),
                    "Call refused: the extension exceeds its calls-per-minute limit",
                ))
            } else if !tenant_rate_ok {
                Some((
                    EventKind::CallRate,
                    Severity::High,
                    limit(
                        Measure::TenantCallsPerMinute,
                        tenant_in_flight as f64,
                        f64::from(lim.max_calls_per_minute_per_tenant),
                    ),
                    "Call refused: the tenant exceeds its calls-per-minute limit",
                ))
            } else if tenant_intl {
                Some((
                    EventKind::InternationalMinutesCap,
                    Severity::High,
                    limit(
                        Measure::TenantInternationalMinutes,
                        tenant_usage.0 as f64 / 60_000.0,
                        f64::from(lim.international_minutes_per_day),
                    ),
                    "Call refused: the tenant's international minutes for today are used up",
                ))
            } else if ctx.international
                && meters::intl_reached(&ext.daily.used, &ext.running, &ext_caps, now_ms)
            {
                Some((
                    EventKind::InternationalMinutesCap,
                    Severity::High,
                    limit(
                        Measure::ExtensionInternationalMinutes,
                        ext_usage.0 as f64 / 60_000.0,
                        ext_caps.intl_ms.unwrap_or(0) as f64 / 60_000.0,
                    ),
                    "Call refused: the extension's international minutes for today are used up",
                ))
            } else if tenant_spend {
                Some((
                    EventKind::SpendCap,
                    Severity::High,
                    limit(
                        Measure::TenantSpendCents,
                        tenant_usage.1 / 1000.0,
                        lim.spend_cap_cents_per_day as f64,
                    ),
                    "Call refused: the tenant's estimated spend for today reached its cap",
                ))
            } else if rate > 0
                && meters::spend_reached(&ext.daily.used, &ext.running, &ext_caps, now_ms)
            {
                Some((
                    EventKind::SpendCap,
                    Severity::High,
                    limit(
                        Measure::ExtensionSpendCents,
                        ext_usage.1 / 1000.0,
                        ext_caps.spend_mc.unwrap_or(0) as f64 / 1000.0,
                    ),
                    "Call refused: the extension's estimated spend for today reached its cap",
                ))
            } else {
                None
            };
        if let Some((kind, mut severity, signal, headline)) = violation {
            // A cap is reported once a day; later refusals for it are only logged.
            let flag = match signal.name {
                Measure::TenantInternationalMinutes => Some(&mut self.daily.capped_intl),
                Measure::TenantSpendCents => Some(&mut self.daily.capped_spend),
                Measure::ExtensionInternationalMinutes => Some(&mut ext.daily.capped_intl),
                Measure::ExtensionSpendCents => Some(&mut ext.daily.capped_spend),
                _ => None,
            };
            if let Some(flag) = flag {
                if *flag {
                    severity = Severity::Info;
                }
                *flag = true;
            }
            let actions = self.config.actions.for_severity(severity);
            if let Some(sup) = st.cooldown.admit(kind.index(), now_ms, cooldown_ms, false) {
                d.events.push(about.event(kind, severity, 0, vec![signal], actions, sup, headline));
            }
            // Only the extension's own limits count towards its escalation: a tenant-wide limit
            // reached by everyone's calls is no sign that this extension is compromised.
            let tenant_wide = matches!(
                signal.name,
                Measure::TenantConcurrentCalls
                    | Measure::TenantCallsPerMinute
                    | Measure::TenantInternationalMinutes
                    | Measure::TenantSpendCents
            );
            if !tenant_wide {
                escalate(ext, &about, &self.config.actions, sustained, now, &mut d);
            }
            return finish(d, Some(kind), 0);
        }

        // 3. Number scanning.
        let min_run = self.config.scan.min_run as usize;
        if run >= min_run {
            let actions = self.config.actions.for_severity(Severity::Critical);
            let signal = Signal {
                name: Measure::SequentialRun,
                value: run as f64,
                threshold: min_run as f64,
                weight: 0,
            };
            if let Some(c) = containment_of(actions, now) {
                contain(ext, c);
            }
            let st = ext.short();
            let sup = st
                .cooldown
                .admit(EventKind::SequentialDialling.index(), now_ms, cooldown_ms, true)
                .unwrap_or(0);
            st.violations.push(now_ms, sustained);
            d.events.push(about.event(
                EventKind::SequentialDialling,
                Severity::Critical,
                0,
                vec![signal],
                actions,
                sup,
                "Sequential numbers dialled (number scanning)",
            ));
            return finish(d, Some(EventKind::SequentialDialling), 0);
        }

        // 4. Behavioural anomaly score.
        let view = TenantView { config: &self.config, profile: &self.profile, daily: &self.daily };
        let scored = score(&view, ext, ctx, rate, now);
        let a = &self.config.anomaly;
        let severity = if scored.score >= a.contain_score {
            Some(Severity::Critical)
        } else if scored.score >= a.block_score {
            Some(Severity::High)
        } else if scored.score >= a.alert_score {
            Some(Severity::Warning)
        } else {
            None
        };
        if let Some(sev) = severity {
            let actions = self.config.actions.for_severity(sev);
            let newly_contained = containment_of(actions, now).is_some_and(|c| contain(ext, c));
            let block = actions.contains(&Action::BlockCall)
                || match ext.containment {
                    Containment::Suspended { .. } => true,
                    Containment::International { .. } => ctx.international,
                    Containment::None => false,
                };
            let st = ext.short();
            let force = newly_contained || sev == Severity::Critical;
            if let Some(sup) =
                st.cooldown.admit(EventKind::Anomaly.index(), now_ms, cooldown_ms, force)
            {
                let headline = if block {
                    "Call refused: behaviour far from the extension's baseline"
                } else {
                    "Unusual call allowed: behaviour differs from the extension's baseline"
                };
                d.events.push(about.event(
                    EventKind::Anomaly,
                    sev,
                    scored.score,
                    scored.signals.clone(),
                    actions,
                    sup,
                    headline,
                ));
            }
            if block {
                escalate(ext, &about, &self.config.actions, sustained, now, &mut d);
                return finish(d, Some(EventKind::Anomaly), scored.score);
            }
        }

        // 5. Allowed: commit.
        let local_hour = now.local_hour(off);
        let st = ext.short();
        st.gcra.record(now_ms, lim.max_calls_per_minute_per_extension);
        ext.live += 1;
        ext.daily.calls += 1;
        ext.profile.record_call(local_hour);
        self.gcra.record(now_ms, lim.max_calls_per_minute_per_tenant);
        self.live += 1;
        self.daily.calls += 1;
        self.profile.record_call(local_hour);
        if ctx.international {
            let key = country_key(&ctx.destination);
            let dest = dest_key(&ctx.destination.e164);
            ext.profile.countries.insert(key, EXT_COUNTRIES);
            ext.daily.destinations.insert_saturating(dest, EXT_DESTINATIONS);
            self.profile.countries.insert(key, TENANT_COUNTRIES);
            self.daily.destinations.insert_saturating(dest, TENANT_DESTINATIONS);
        }
        self.calls.insert(
            ctx.call,
            LiveCall {
                extension: ctx.extension,
                destination: ctx.destination.e164,
                international: ctx.international,
                rate,
                answered_at: None,
                billed_from: now_ms,
                committed_ms: 0,
                committed_mc: 0,
                settled: false,
            },
        );
        finish(d, None, scored.score)
    }

    pub(crate) fn answered(&mut self, now: Timestamp, id: CallId) {
        self.roll(now);
        let now_ms = now.unix_millis();
        let Some(c) = self.calls.get_mut(&id) else { return };
        if c.answered_at.is_some() || c.settled {
            return;
        }
        c.answered_at = Some(now_ms);
        c.billed_from = now_ms;
        if c.accrues() {
            self.running.add(c.international, c.rate, now_ms);
            if let Some(ext) = self.exts.get_mut(&c.extension) {
                ext.running.add(c.international, c.rate, now_ms);
            }
        }
    }

    /// The call ended; commits its usage and checks for bursts of short calls.
    pub(crate) fn ended(
        &mut self,
        tid: TenantId,
        now: Timestamp,
        id: CallId,
    ) -> Option<(ExtensionId, crate::CallSummary)> {
        self.roll(now);
        let now_ms = now.unix_millis();
        self.settle(tid, id, now_ms, EventKind::Contained);
        let c = self.calls.remove(&id)?;
        self.live = self.live.saturating_sub(1);
        let burst = self.config.burst.clone();
        let cooldown_ms = u64::from(self.config.actions.alert_cooldown_seconds) * 1000;
        let sustained = self.config.actions.sustained_violations as usize;
        let mut summary = crate::CallSummary {
            duration: std::time::Duration::from_millis(c.committed_ms),
            international: c.international,
            estimated_cost_millicents: c.committed_mc,
            outcome: Outcome::default(),
        };
        let about = About {
            now,
            tenant: tid,
            extension: Some(c.extension),
            call: Some(id),
            destination: Some(c.destination),
        };
        if let Some(ext) = self.exts.get_mut(&c.extension) {
            ext.live = ext.live.saturating_sub(1);
            ext.last_seen = now_ms;
            let talk = c.answered_at.map(|a| now_ms.saturating_sub(a));
            if talk.is_some_and(|t| t < u64::from(burst.short_call_seconds) * 1000) {
                let st = ext.short();
                st.short_calls.push(now_ms, burst.threshold as usize);
                let n = st.short_calls.count_within(now_ms, u64::from(burst.window_seconds) * 1000);
                if n >= burst.threshold as usize {
                    st.short_calls.clear();
                    let actions = self.config.actions.for_severity(Severity::High);
                    let sup = st.cooldown.admit(
                        EventKind::ShortCallBurst.index(),
                        now_ms,
                        cooldown_ms,
                        false,
                    );
                    if let Some(sup) = sup {
                        let signal = Signal {
                            name: Measure::ShortCalls,
                            value: n as f64,
                            threshold: f64::from(burst.threshold),
                            weight: 0,
                        };
                        summary.outcome.events.push(about.event(
                            EventKind::ShortCallBurst,
                            Severity::High,
                            0,
                            vec![signal],
                            actions,
                            sup,
                            "Burst of very short answered calls",
                        ));
                    }
                    let mut d = Decision::default();
                    escalate(ext, &about, &self.config.actions, sustained, now, &mut d);
                    summary.outcome.events.append(&mut d.events);
                }
            }
        }
        Some((c.extension, summary))
    }
}

/// Counts a violation; at the sustained threshold, raises a critical event and contains.
fn escalate(
    ext: &mut ExtensionState,
    about: &About,
    policy: &crate::ActionPolicy,
    threshold: usize,
    now: Timestamp,
    d: &mut Decision,
) {
    let now_ms = now.unix_millis();
    let st = ext.short();
    st.violations.push(now_ms, threshold);
    st.refusals.push(now_ms, 64);
    let n = st.violations.count_within(now_ms, TEN_MINUTES_MS);
    if n < threshold {
        return;
    }
    st.violations.clear();
    let actions = policy.for_severity(Severity::Critical);
    if let Some(c) = containment_of(actions, now) {
        contain(ext, c);
    }
    let signal = Signal {
        name: Measure::Violations,
        value: n as f64,
        threshold: threshold as f64,
        weight: 0,
    };
    d.events.push(about.event(
        EventKind::SustainedAbuse,
        Severity::Critical,
        0,
        vec![signal],
        actions,
        0,
        "Repeated limit violations within 10 minutes: the extension is probably compromised",
    ));
}

/// Completes a decision: refusal status and the union of the events' actions.
fn finish(mut d: Decision, refused: Option<EventKind>, score: u32) -> Decision {
    d.allow = refused.is_none();
    d.score = score;
    d.refusal =
        refused.map(|kind| Refusal { sip_status: 403, sip_reason: kind.sip_reason(), kind });
    let mut actions: Vec<Action> =
        d.events.iter().flat_map(|e| e.actions.iter().copied()).collect();
    if !d.allow {
        actions.push(Action::BlockCall);
    }
    actions.sort();
    actions.dedup();
    d.actions = actions;
    d
}
