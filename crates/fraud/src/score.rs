//! The behavioural anomaly score: each signal compares the attempt with the extension's or the
//! tenant's own baseline; a firing signal adds its weight.

use crate::event::{Measure, Signal};
use crate::state::{
    Daily, ExtensionState, Profile, TEN_MINUTES_MS, country_key, dest_key, network_key,
};
use crate::{CallContext, TenantConfig, Timestamp};

/// The tenant-wide state the score reads.
pub(crate) struct TenantView<'a> {
    pub(crate) config: &'a TenantConfig,
    pub(crate) profile: &'a Profile,
    pub(crate) daily: &'a Daily,
}

/// Score and the signals that fired.
#[derive(Debug, Default)]
pub(crate) struct Scored {
    pub(crate) score: u32,
    pub(crate) signals: Vec<Signal>,
}

impl Scored {
    fn fire(&mut self, name: Measure, value: f64, threshold: f64, weight: u32) {
        if weight > 0 {
            self.score += weight;
            self.signals.push(Signal { name, value, threshold, weight });
        }
    }
}

/// Scores an attempt that passed the hard limits. Reads state only.
pub(crate) fn score(
    tenant: &TenantView<'_>,
    ext: &ExtensionState,
    ctx: &CallContext,
    rate: u32,
    now: Timestamp,
) -> Scored {
    let cfg = tenant.config;
    let a = &cfg.anomaly;
    let w = &a.weights;
    let mut s = Scored::default();
    let now_ms = now.unix_millis();

    // Volume against the hourly baseline, after warm-up.
    for (profile, weight, floor, name) in [
        (&ext.profile, w.volume_spike, a.extension_hourly_floor, Measure::VolumeSpike),
        (tenant.profile, w.tenant_volume_spike, a.tenant_hourly_floor, Measure::TenantVolumeSpike),
    ] {
        if profile.hourly.samples >= a.warmup_hours {
            let value = f64::from(profile.hour_calls + 1);
            let threshold = f64::from(profile.hourly.threshold(a.spike_factor, floor));
            if value > threshold {
                s.fire(name, value, threshold, weight);
            }
        }
    }

    if ctx.international {
        let key = country_key(&ctx.destination);
        if !ext.profile.countries.contains(key) {
            s.fire(Measure::NewCountry, 1.0, 1.0, w.new_country);
        }
        if !tenant.profile.countries.contains(key) {
            s.fire(Measure::TenantNewCountry, 1.0, 1.0, w.tenant_new_country);
        }
        let dest = dest_key(&ctx.destination.e164);
        for (daily, profile, floor, weight, name) in [
            (
                &ext.daily,
                &ext.profile,
                a.extension_destinations_floor,
                w.many_destinations,
                Measure::ManyDestinations,
            ),
            (
                tenant.daily,
                tenant.profile,
                a.tenant_destinations_floor,
                w.tenant_many_destinations,
                Measure::TenantManyDestinations,
            ),
        ] {
            let new = !daily.destinations.contains(dest);
            let value = (daily.destinations.len() + usize::from(new)) as f64;
            let threshold = if profile.destinations.samples >= a.warmup_days {
                f64::from(profile.destinations.threshold(a.spike_factor, floor))
            } else {
                f64::from(floor)
            };
            if value > threshold {
                s.fire(name, value, threshold, weight);
            }
        }
    }

    // Office hours: configured, or learned per extension.
    let (weekday, minute) = now.local_weekday_minute(cfg.utc_offset_minutes);
    match &cfg.business_hours {
        Some(hours) if !hours.is_open(weekday, minute) => {
            s.fire(Measure::OutsideHours, f64::from(minute), 0.0, w.outside_hours);
        }
        Some(_) => {}
        None => {
            let total: u64 = ext.profile.hours.iter().map(|&x| u64::from(x)).sum();
            let here = ext.profile.hours[usize::from(minute / 60)];
            // After 50 calls, an hour with under 1% of them is unusual.
            if total >= 50 && u64::from(here) * 100 < total {
                s.fire(
                    Measure::OutsideHours,
                    f64::from(here),
                    total as f64 / 100.0,
                    w.outside_hours,
                );
            }
        }
    }

    let short = ext.short.as_deref();
    let window = u64::from(a.new_network_minutes) * 60_000;
    let since_new = short
        .and_then(|st| st.new_network_at)
        .filter(|&t| now_ms.saturating_sub(t) < window)
        .map(|t| now_ms.saturating_sub(t) as f64 / 60_000.0);
    let unknown_source = ctx.source.is_some_and(|ip| {
        !ext.profile.networks.is_empty() && !ext.profile.networks.contains(network_key(ip))
    });
    if let Some(minutes) = since_new {
        s.fire(Measure::NewNetwork, minutes, f64::from(a.new_network_minutes), w.new_network);
    } else if unknown_source {
        s.fire(Measure::NewNetwork, 0.0, f64::from(a.new_network_minutes), w.new_network);
    }

    if ctx.destination.high_risk.is_some() {
        s.fire(Measure::HighRiskDestination, 1.0, 1.0, w.high_risk_destination);
    }
    if matches!(
        ctx.destination.number_type,
        ringfence_policy::NumberType::PremiumRate | ringfence_policy::NumberType::SharedCost
    ) {
        s.fire(Measure::PremiumDestination, 1.0, 1.0, w.premium_destination);
    }
    let expensive = u64::from(a.expensive_cents_per_minute) * 1000;
    if u64::from(rate) >= expensive {
        s.fire(
            Measure::ExpensiveDestination,
            f64::from(rate) / 1000.0,
            f64::from(a.expensive_cents_per_minute),
            w.expensive_destination,
        );
    }
    if let Some(st) = short {
        let refusals = st.refusals.count_within(now_ms, TEN_MINUTES_MS);
        if refusals >= a.refusals_threshold as usize {
            s.fire(
                Measure::RecentRefusals,
                refusals as f64,
                f64::from(a.refusals_threshold),
                w.recent_refusals,
            );
        }
    }
    s
}
