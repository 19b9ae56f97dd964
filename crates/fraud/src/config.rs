//! Per-tenant fraud configuration: plain values with documented defaults. The limit names
//! mirror the tenant's stored fraud settings; the rest has defaults tuned so a normal office
//! week raises no alert (see `tests/office_week.rs`).

use serde::{Deserialize, Serialize};

use crate::{Action, Error, Severity};

/// Everything the engine needs to know about one tenant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantConfig {
    /// Hard limits: a call over one is refused whatever the actions say.
    pub limits: Limits,
    /// Offset of the tenant's local time from UTC in minutes (-720..=840): daily caps roll over
    /// at local midnight and business hours are local.
    pub utc_offset_minutes: i16,
    /// Office hours; calls outside them weigh in the anomaly score. `None`: the engine learns
    /// each extension's usual hours instead.
    pub business_hours: Option<BusinessHours>,
    /// Short-call burst detection.
    pub burst: BurstConfig,
    /// Sequential-number (scanning) detection.
    pub scan: ScanConfig,
    /// Anomaly scoring.
    pub anomaly: AnomalyConfig,
    /// What happens at each severity.
    pub actions: ActionPolicy,
}

/// Hard limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Concurrent calls one extension may have (default 4).
    pub max_concurrent_calls_per_extension: u32,
    /// Concurrent calls the whole tenant may have (default 20).
    pub max_concurrent_calls_per_tenant: u32,
    /// New outbound calls per minute per extension (default 10), enforced as a GCRA: a burst of
    /// this many, then one every `60 s / limit`.
    pub max_calls_per_minute_per_extension: u32,
    /// New outbound calls per minute for the tenant (default 60).
    pub max_calls_per_minute_per_tenant: u32,
    /// International minutes per local day for the tenant (default 120).
    pub international_minutes_per_day: u32,
    /// Estimated spend per local day for the tenant, in cents (default 5000).
    pub spend_cap_cents_per_day: u64,
    /// International minutes per local day for each extension (default: none).
    pub international_minutes_per_day_per_extension: Option<u32>,
    /// Estimated spend per local day for each extension, in cents (default: none).
    pub spend_cap_cents_per_day_per_extension: Option<u64>,
    /// Percentage of a daily cap at which a warning is raised once a day (default 80).
    pub warn_at_percent: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent_calls_per_extension: 4,
            max_concurrent_calls_per_tenant: 20,
            max_calls_per_minute_per_extension: 10,
            max_calls_per_minute_per_tenant: 60,
            international_minutes_per_day: 120,
            spend_cap_cents_per_day: 5000,
            international_minutes_per_day_per_extension: None,
            spend_cap_cents_per_day_per_extension: None,
            warn_at_percent: 80,
        }
    }
}

/// Office hours: open periods in the tenant's local time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Open periods; a weekday may appear more than once.
    pub periods: Vec<OpenPeriod>,
}

/// One open period, `start_minute < end_minute <= 1440`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenPeriod {
    /// ISO weekday, 1 = Monday ..= 7 = Sunday.
    pub weekday: u8,
    /// Opening minute after local midnight.
    pub start_minute: u16,
    /// Closing minute (exclusive).
    pub end_minute: u16,
}

impl BusinessHours {
    /// Monday to Friday, `open`..`close` local hours.
    pub fn weekdays(open: u8, close: u8) -> Self {
        let periods = (1..=5)
            .map(|weekday| OpenPeriod {
                weekday,
                start_minute: u16::from(open) * 60,
                end_minute: u16::from(close) * 60,
            })
            .collect();
        Self { periods }
    }

    /// Whether local `weekday`/`minute` is inside a period.
    pub fn is_open(&self, weekday: u8, minute: u16) -> bool {
        self.periods
            .iter()
            .any(|p| p.weekday == weekday && p.start_minute <= minute && minute < p.end_minute)
    }
}

/// Many answered calls shorter than `short_call_seconds` within a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BurstConfig {
    /// A call answered for less than this counts as short (default 6 s).
    pub short_call_seconds: u32,
    /// Window (default 600 s).
    pub window_seconds: u32,
    /// Short calls within the window that raise the event (default 8, at most 64).
    pub threshold: u32,
}

impl Default for BurstConfig {
    fn default() -> Self {
        Self { short_call_seconds: 6, window_seconds: 600, threshold: 8 }
    }
}

/// Number scanning: consecutive attempts to numbers of the same length that differ only in
/// the last `suffix_digits` digits, in increasing order, within a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// How many consecutive attempts make a run (default 5, 3..=16).
    pub min_run: u32,
    /// Digits at the end that may change (default 3, 1..=6).
    pub suffix_digits: u32,
    /// The whole run must fit in this window (default 600 s).
    pub window_seconds: u32,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self { min_run: 5, suffix_digits: 3, window_seconds: 600 }
    }
}

/// Anomaly scoring: each firing signal adds its weight; the total picks the severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Score at which an alert is raised (default 60).
    pub alert_score: u32,
    /// Score at which the call is refused (severity high; default 90).
    pub block_score: u32,
    /// Score at which the extension is contained (severity critical; default 130).
    pub contain_score: u32,
    /// Signal weights.
    pub weights: SignalWeights,
    /// Smoothing factor of the moving averages, 0 < alpha <= 1 (default 0.1).
    pub ewma_alpha: f32,
    /// Active hours an extension or tenant must have before volume spikes count (default 8).
    pub warmup_hours: u32,
    /// Days with calls before destination-count baselines count (default 3).
    pub warmup_days: u32,
    /// A spike is `factor` x the hourly mean plus three standard deviations (default 3.0).
    pub spike_factor: f32,
    /// Calls in one hour an extension may always make (default 15).
    pub extension_hourly_floor: u32,
    /// Calls in one hour the tenant may always make (default 150).
    pub tenant_hourly_floor: u32,
    /// Distinct international numbers per day an extension may always call (default 6).
    pub extension_destinations_floor: u32,
    /// Distinct international numbers per day the tenant may always call (default 30).
    pub tenant_destinations_floor: u32,
    /// Minutes after a registration from a new network during which calls are suspect
    /// (default 15).
    pub new_network_minutes: u32,
    /// A rate at or above this (cents per minute) makes a destination expensive (default 100).
    pub expensive_cents_per_minute: u32,
    /// Refused attempts within 10 minutes that count as a signal (default 3).
    pub refusals_threshold: u32,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            alert_score: 60,
            block_score: 90,
            contain_score: 130,
            weights: SignalWeights::default(),
            ewma_alpha: 0.1,
            warmup_hours: 8,
            warmup_days: 3,
            spike_factor: 3.0,
            extension_hourly_floor: 15,
            tenant_hourly_floor: 150,
            extension_destinations_floor: 6,
            tenant_destinations_floor: 30,
            new_network_minutes: 15,
            expensive_cents_per_minute: 100,
            refusals_threshold: 3,
        }
    }
}

/// Weight of each anomaly signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalWeights {
    /// The extension's calls this hour far above its baseline (default 30).
    pub volume_spike: u32,
    /// The tenant's calls this hour far above its baseline (default 20).
    pub tenant_volume_spike: u32,
    /// The extension's first call to this country (default 10).
    pub new_country: u32,
    /// The tenant's first call to this country (default 20).
    pub tenant_new_country: u32,
    /// Outside business hours, or outside the extension's usual hours (default 15).
    pub outside_hours: u32,
    /// Many distinct international numbers today for the extension (default 25).
    pub many_destinations: u32,
    /// Many distinct international numbers today for the tenant (default 20).
    pub tenant_many_destinations: u32,
    /// Shortly after a registration from a network the extension never used (default 25).
    pub new_network: u32,
    /// A destination on the high-risk table (allowed by a platform override) (default 30).
    pub high_risk_destination: u32,
    /// A premium-rate or shared-cost destination (allowed by a platform override) (default 25).
    pub premium_destination: u32,
    /// A destination whose rate is at least `expensive_cents_per_minute` (default 20).
    pub expensive_destination: u32,
    /// Several refused attempts in the last 10 minutes (default 30).
    pub recent_refusals: u32,
}

impl Default for SignalWeights {
    fn default() -> Self {
        Self {
            volume_spike: 30,
            tenant_volume_spike: 20,
            new_country: 10,
            tenant_new_country: 20,
            outside_hours: 15,
            many_destinations: 25,
            tenant_many_destinations: 20,
            new_network: 25,
            high_risk_destination: 30,
            premium_destination: 25,
            expensive_destination: 20,
            recent_refusals: 30,
        }
    }
}

/// Actions taken at each severity. Hard limits refuse the call whatever is configured here;
/// these lists add alerts and containment. Containment actions apply to events about an
/// extension; tenant-wide events only log, alert or block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionPolicy {
    /// Default: log.
    pub info: Vec<Action>,
    /// Default: log, alert.
    pub warning: Vec<Action>,
    /// Default: log, alert, block the call.
    pub high: Vec<Action>,
    /// Default: log, alert, block the call, suspend the extension.
    pub critical: Vec<Action>,
    /// Alerts of the same kind for the same extension (or tenant) within this many seconds are
    /// folded into one (default 900); refusals continue, the next event reports how many
    /// were suppressed.
    pub alert_cooldown_seconds: u32,
    /// Limit violations and blocks within 10 minutes after which the extension's abuse counts
    /// as sustained (a critical event; default 5).
    pub sustained_violations: u32,
}

impl Default for ActionPolicy {
    fn default() -> Self {
        use Action::*;
        Self {
            info: vec![Log],
            warning: vec![Log, Alert],
            high: vec![Log, Alert, BlockCall],
            critical: vec![Log, Alert, BlockCall, SuspendExtension],
            alert_cooldown_seconds: 900,
            sustained_violations: 5,
        }
    }
}

impl ActionPolicy {
    /// The actions for a severity.
    pub fn for_severity(&self, s: Severity) -> &[Action] {
        match s {
            Severity::Info => &self.info,
            Severity::Warning => &self.warning,
            Severity::High => &self.high,
            Severity::Critical => &self.critical,
        }
    }
}

impl TenantConfig {
    /// Checks ranges the types do not enforce; the error names the field.
    pub fn validate(&self) -> Result<(), Error> {
        let l = &self.limits;
        for (field, v) in [
            ("limits.max_concurrent_calls_per_extension", l.max_concurrent_calls_per_extension),
            ("limits.max_concurrent_calls_per_tenant", l.max_concurrent_calls_per_tenant),
            ("limits.max_calls_per_minute_per_extension", l.max_calls_per_minute_per_extension),
            ("limits.max_calls_per_minute_per_tenant", l.max_calls_per_minute_per_tenant),
        ] {
            if v == 0 {
                return Err(Error::config(field, "must be at least 1"));
            }
        }
        if !(1..=100).contains(&l.warn_at_percent) {
            return Err(Error::config("limits.warn_at_percent", "must be 1 to 100"));
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(Error::config("utc_offset_minutes", "must be -720 to 840"));
        }
        if let Some(h) = &self.business_hours {
            if h.periods.len() > 50 {
                return Err(Error::config("business_hours.periods", "at most 50 periods"));
            }
            if h.periods.iter().any(|p| {
                !(1..=7).contains(&p.weekday)
                    || p.start_minute >= p.end_minute
                    || p.end_minute > 1440
            }) {
                return Err(Error::config(
                    "business_hours.periods",
                    "weekday must be 1..=7 and 0 <= start < end <= 1440",
                ));
            }
        }
        if !(1..=64).contains(&self.burst.threshold) || self.burst.window_seconds == 0 {
            return Err(Error::config("burst", "threshold must be 1 to 64 and the window > 0"));
        }
        let s = &self.scan;
        if !(3..=16).contains(&s.min_run)
            || !(1..=6).contains(&s.suffix_digits)
            || s.window_seconds == 0
        {
            return Err(Error::config(
                "scan",
                "min_run must be 3 to 16, suffix_digits 1 to 6, the window > 0",
            ));
        }
        let a = &self.anomaly;
        if !(a.alert_score <= a.block_score
            && a.block_score <= a.contain_score
            && a.alert_score > 0)
        {
            return Err(Error::config(
                "anomaly",
                "scores must satisfy 0 < alert_score <= block_score <= contain_score",
            ));
        }
        if !(a.ewma_alpha > 0.0 && a.ewma_alpha <= 1.0) {
            return Err(Error::config("anomaly.ewma_alpha", "must be in (0, 1]"));
        }
        if !(1..=64).contains(&a.refusals_threshold) {
            return Err(Error::config("anomaly.refusals_threshold", "must be 1 to 64"));
        }
        if !(1..=64).contains(&self.actions.sustained_violations) {
            return Err(Error::config("actions.sustained_violations", "must be 1 to 64"));
        }
        Ok(())
    }
}
