//! Per-tenant and per-extension state: daily counters, long-term baselines (both survive a
//! restart through snapshots), and short-term windows (dropped when an extension is idle).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use ringfence_policy::{ClassifiedNumber, E164};
use serde::{Deserialize, Serialize};

use crate::event::EVENT_KINDS;
use crate::meters::{CappedSet, Ewma, Gcra, Recent, Running, Used};
use crate::{CallId, ExtensionId, TenantConfig, Timestamp};

/// Most countries remembered per extension.
pub(crate) const EXT_COUNTRIES: usize = 32;
/// Most countries remembered per tenant (more than there are numbering plans).
pub(crate) const TENANT_COUNTRIES: usize = 300;
/// Most networks remembered per extension.
pub(crate) const EXT_NETWORKS: usize = 8;
/// Distinct international destinations counted per day before the count saturates.
pub(crate) const EXT_DESTINATIONS: usize = 64;
/// The same for a tenant.
pub(crate) const TENANT_DESTINATIONS: usize = 512;
/// Attempts remembered for sequential-number detection (the largest `scan.min_run`).
pub(crate) const DIALLED_RING: usize = 16;
/// Window for refusals and violations.
pub(crate) const TEN_MINUTES_MS: u64 = 600_000;

/// Whether a snapshot field holds its default value: such fields are left out of the saved
/// state (most extensions have registered but never called, and the state of every one
/// is saved each time) and come back as their default when it is read.
pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Whether an extension's calls are held back until an administrator clears it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Containment {
    /// Not contained.
    #[default]
    None,
    /// International calls refused since `since`.
    International {
        /// When it started.
        since: Timestamp,
    },
    /// All calls refused since `since`.
    Suspended {
        /// When it started.
        since: Timestamp,
    },
}

/// Counters of the current local day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Daily {
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) calls: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) used: Used,
    /// Distinct international destinations (as [`dest_key`]).
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) destinations: CappedSet<u64>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) warned_intl: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) warned_spend: bool,
    /// A cap was reported today: later refusals for it are only logged.
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) capped_intl: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) capped_spend: bool,
}

/// Long-term behaviour: the baselines.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Profile {
    /// Hour number of `hour_calls`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) hour: i64,
    /// Calls placed in that hour so far.
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) hour_calls: u32,
    /// Calls per active hour.
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) hourly: Ewma,
    /// Distinct international destinations per active day.
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) destinations: Ewma,
    /// Countries called (as [`country_key`]).
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) countries: CappedSet<u16>,
    /// Networks registered from (as [`network_key`]); extensions only.
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) networks: CappedSet<u64>,
    /// Calls per local hour of day (halved when one nears the maximum).
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) hours: [u16; 24],
}

impl Profile {
    /// Folds finished hours into the hourly baseline (active hours only).
    pub(crate) fn roll_hour(&mut self, hour: i64, alpha: f32) {
        if hour != self.hour {
            if self.hour_calls > 0 {
                self.hourly.add(self.hour_calls as f32, alpha);
            }
            self.hour = hour;
            self.hour_calls = 0;
        }
    }

    /// Folds a finished day's destination count into its baseline (days with calls only).
    pub(crate) fn fold_day(&mut self, daily: &Daily, alpha: f32) {
        if daily.calls > 0 {
            self.destinations.add(daily.destinations.len() as f32, alpha);
        }
    }

    /// Records a placed call at local hour `h`.
    pub(crate) fn record_call(&mut self, local_hour: usize) {
        self.hour_calls = self.hour_calls.saturating_add(1);
        let slot = &mut self.hours[local_hour.min(23)];
        *slot = slot.saturating_add(1);
        if *slot >= u16::MAX / 2 {
            self.hours.iter_mut().for_each(|x| *x /= 2);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.countries.heap_bytes() + self.networks.heap_bytes()
    }
}

/// Short-term windows of one extension; dropped after an hour without activity.
#[derive(Clone, Debug, Default)]
pub(crate) struct ShortTerm {
    pub(crate) gcra: Gcra,
    /// Recent attempts: (number as integer, digit count, instant).
    pub(crate) dialled: VecDeque<(u64, u8, u64)>,
    pub(crate) short_calls: Recent,
    pub(crate) violations: Recent,
    pub(crate) refusals: Recent,
    /// Last registration from a network not seen before.
    pub(crate) new_network_at: Option<u64>,
    pub(crate) cooldown: Cooldown,
}

impl ShortTerm {
    pub(crate) fn heap_bytes(&self) -> usize {
        self.dialled.capacity() * std::mem::size_of::<(u64, u8, u64)>()
            + self.short_calls.heap_bytes()
            + self.violations.heap_bytes()
            + self.refusals.heap_bytes()
    }
}

/// Per-kind alert folding.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cooldown {
    last: [u64; EVENT_KINDS],
    suppressed: [u32; EVENT_KINDS],
}

impl Cooldown {
    /// Whether an event of `kind` may be reported now; if so, returns how many were folded
    /// since the last report and restarts the cooldown.
    pub(crate) fn admit(
        &mut self,
        kind: usize,
        now: u64,
        cooldown_ms: u64,
        force: bool,
    ) -> Option<u32> {
        let fresh = self.last[kind] == 0 || now.saturating_sub(self.last[kind]) >= cooldown_ms;
        if fresh || force {
            self.last[kind] = now.max(1);
            Some(std::mem::take(&mut self.suppressed[kind]))
        } else {
            self.suppressed[kind] = self.suppressed[kind].saturating_add(1);
            None
        }
    }
}

/// One extension.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExtensionState {
    pub(crate) day: i64,
    pub(crate) daily: Daily,
    pub(crate) profile: Profile,
    pub(crate) containment: Containment,
    pub(crate) live: u32,
    pub(crate) running: Running,
    pub(crate) last_seen: u64,
    pub(crate) short: Option<Box<ShortTerm>>,
}

impl ExtensionState {
    /// Brings day and hour up to `now`.
    pub(crate) fn roll(&mut self, day: i64, hour: i64, alpha: f32) {
        if day != self.day {
            self.profile.fold_day(&self.daily, alpha);
            self.daily = Daily::default();
            self.day = day;
        }
        self.profile.roll_hour(hour, alpha);
    }

    /// The short-term windows, created on first use.
    pub(crate) fn short(&mut self) -> &mut ShortTerm {
        self.short.get_or_insert_with(Box::default)
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.daily.destinations.heap_bytes()
            + self.profile.heap_bytes()
            + self.short.as_ref().map_or(0, |s| std::mem::size_of::<ShortTerm>() + s.heap_bytes())
    }
}

/// A call between attempt and end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LiveCall {
    pub(crate) extension: ExtensionId,
    pub(crate) destination: E164,
    pub(crate) international: bool,
    /// Millicents per minute.
    pub(crate) rate: u32,
    pub(crate) answered_at: Option<u64>,
    /// Accrual start for today's counters (answer time, or local midnight for calls across it).
    pub(crate) billed_from: u64,
    /// Already committed to daily counters (before midnight, or at settlement).
    pub(crate) committed_ms: u64,
    pub(crate) committed_mc: u64,
    /// Ended by the engine (cap crossed or containment): no further accrual.
    pub(crate) settled: bool,
}

impl LiveCall {
    /// Whether it accrues against caps.
    pub(crate) fn accrues(&self) -> bool {
        self.answered_at.is_some() && !self.settled && (self.international || self.rate > 0)
    }
}

/// One tenant.
#[derive(Debug)]
pub(crate) struct TenantState {
    pub(crate) config: TenantConfig,
    pub(crate) day: i64,
    pub(crate) daily: Daily,
    pub(crate) profile: Profile,
    pub(crate) live: u32,
    pub(crate) running: Running,
    pub(crate) gcra: Gcra,
    /// The instant this tenant next needs `poll_actions`.
    pub(crate) timer: Option<u64>,
    pub(crate) exts: HashMap<ExtensionId, ExtensionState>,
    pub(crate) calls: HashMap<CallId, LiveCall>,
}

impl TenantState {
    pub(crate) fn new(config: TenantConfig) -> Self {
        Self {
            config,
            day: i64::MIN,
            daily: Daily::default(),
            profile: Profile::default(),
            live: 0,
            running: Running::default(),
            gcra: Gcra::default(),
            timer: None,
            exts: HashMap::new(),
            calls: HashMap::new(),
        }
    }
}

/// Key of a destination's country: the ISO code, or 1000 + calling code for non-geographic.
pub(crate) fn country_key(d: &ClassifiedNumber) -> u16 {
    match d.country {
        Some(c) => {
            let [a, b] = c.as_bytes();
            u16::from(a.saturating_sub(b'A')) * 26 + u16::from(b.saturating_sub(b'A'))
        }
        None => 1000 + d.calling_code,
    }
}

/// Key of a destination number.
pub(crate) fn dest_key(n: &E164) -> u64 {
    n.as_u64() * 16 + n.digit_count() as u64
}

/// Key of a source network: IPv4 /24, IPv6 /56.
pub(crate) fn network_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => (1 << 62) | u64::from(u32::from(v4) >> 8),
        IpAddr::V6(v6) => (2 << 62) | ((u128::from(v6) >> 72) as u64 & ((1 << 56) - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_keys_group_by_prefix() {
        let a = network_key("192.0.2.10".parse().unwrap());
        assert_eq!(a, network_key("192.0.2.200".parse().unwrap()));
        assert_ne!(a, network_key("192.0.3.10".parse().unwrap()));
        let b = network_key("2001:db8:0:1::1".parse().unwrap());
        assert_eq!(b, network_key("2001:db8:0:ff::2".parse().unwrap()));
        assert_ne!(b, network_key("2001:db8:1::1".parse().unwrap()));
        assert_ne!(a, b);
    }

    #[test]
    fn cooldown_folds_repeats() {
        let mut c = Cooldown::default();
        assert_eq!(c.admit(0, 1_000, 900_000, false), Some(0));
        assert_eq!(c.admit(0, 2_000, 900_000, false), None);
        assert_eq!(c.admit(0, 3_000, 900_000, false), None);
        assert_eq!(c.admit(1, 3_000, 900_000, false), Some(0));
        assert_eq!(c.admit(0, 901_000, 900_000, false), Some(2));
        assert_eq!(c.admit(0, 901_001, 900_000, true), Some(0));
    }

    #[test]
    fn profile_folds_active_hours_and_days() {
        let mut p = Profile::default();
        p.roll_hour(10, 0.5);
        p.record_call(9);
        p.record_call(9);
        p.roll_hour(11, 0.5);
        p.roll_hour(12, 0.5); // hour 11 had no calls: not folded
        assert_eq!(p.hourly.samples, 1);
        assert_eq!(p.hourly.mean, 2.0);
        assert_eq!(p.hours[9], 2);
        let mut d = Daily { calls: 3, ..Default::default() };
        d.destinations.insert(1, 8);
        p.fold_day(&d, 0.5);
        p.fold_day(&Daily::default(), 0.5);
        assert_eq!(p.destinations.samples, 1);
    }
}
