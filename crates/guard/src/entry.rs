//! What the guard remembers per address, per prefix, and per (tenant, user, address).

use crate::ban::{Ban, Ladder};
use crate::meter::{Leaky, Rate, gcra};
use crate::rules::Class;
use crate::scanner::{ScannerSignals, Sweep};
use crate::table::Evict;

/// Eviction tiers (see [`crate::table`]).
const TIER_PLAIN: u8 = 1;
const TIER_BANNED: u8 = 2;
const TIER_DEVICE: u8 = 3;

/// One source port of an address that is a known device or is banned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortSlot {
    pub(crate) port: u16,
    /// The flow the registration came over (a TLS connection), if any.
    pub(crate) flow: Option<u64>,
    /// Known device until then (0: not known).
    pub(crate) known_until: u64,
    /// The device's own flood meter.
    pub(crate) meter: u64,
    pub(crate) ban: Ban,
}

impl PortSlot {
    pub(crate) fn new(port: u16) -> PortSlot {
        PortSlot { port, flow: None, known_until: 0, meter: 0, ban: Ban::default() }
    }

    #[inline]
    pub(crate) fn known(&self, now: u64, flow: Option<u64>) -> bool {
        self.known_until > now && !matches!((self.flow, flow), (Some(a), Some(b)) if a != b)
    }

    /// True while the slot has something to remember.
    pub(crate) fn keep(&self, now: u64, ladder: Ladder) -> bool {
        self.known_until > now || self.ban.open || self.ban.remembered(now, ladder)
    }
}

/// What a packet's source port is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortState {
    /// Not a known device, not banned.
    Unknown,
    /// A known device within its budget.
    Known,
    /// This port is banned.
    Banned,
    /// A known device that just exceeded its budget and lost its known status.
    Demoted,
}

/// What an address rarely needs: authentication and scanner state, allocated on first use
/// so that the entries a flood creates stay small.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extra {
    /// Authentication failures from this address.
    pub(crate) auth: Leaky,
    /// One bit per failing (tenant, user) hash: distinct users among those failures.
    pub(crate) auth_users: u64,
    pub(crate) score: Leaky,
    /// Scanner signals seen since the score was last empty.
    pub(crate) signals: ScannerSignals,
    pub(crate) sweep: Sweep,
}

/// One source address. The fields the packet path and the eviction scan read come first
/// (`repr(C)` keeps them in one cache line).
#[derive(Debug, Clone)]
#[repr(C)]
pub(crate) struct IpEntry {
    pub(crate) last_seen: u64,
    /// The latest end of a known device's registration on this address (kept exact by
    /// housekeeping; between runs it may be later than the truth, never earlier).
    pub(crate) device_until: u64,
    /// The latest end of a port ban on this address (same caveat).
    pub(crate) port_ban_until: u64,
    pub(crate) ban: Ban,
    /// Flood meter (GCRA theoretical arrival time).
    pub(crate) flood: u64,
    /// The static-rule generation `class` was computed for.
    pub(crate) rules_gen: u32,
    pub(crate) class: Class,
    /// Known devices and banned ports, sorted by port.
    pub(crate) ports: Vec<PortSlot>,
    pub(crate) extra: Option<Box<Extra>>,
}

impl IpEntry {
    pub(crate) fn new(now: u64, rules_gen: u32, class: Class) -> IpEntry {
        IpEntry {
            last_seen: now,
            device_until: 0,
            port_ban_until: 0,
            ban: Ban::default(),
            flood: 0,
            rules_gen,
            class,
            ports: Vec::new(),
            extra: None,
        }
    }

    /// The rarely used state, created on first use.
    pub(crate) fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Recomputes the port summaries from the ports.
    pub(crate) fn summarise_ports(&mut self, now: u64) {
        self.device_until =
            self.ports.iter().map(|p| p.known_until).filter(|&u| u > now).max().unwrap_or(0);
        self.port_ban_until =
            self.ports.iter().map(|p| p.ban.until).filter(|&u| u > now).max().unwrap_or(0);
    }

    /// The slot of `port`, if any.
    #[inline]
    pub(crate) fn slot(&mut self, port: u16) -> Option<&mut PortSlot> {
        if self.ports.is_empty() {
            return None;
        }
        let i = self.ports.binary_search_by_key(&port, |p| p.port).ok()?;
        Some(&mut self.ports[i])
    }

    /// The slot of `port`, created if absent. When the address already has `max` slots,
    /// the one with least to lose goes first: a slot that is neither known nor banned, else
    /// the known device whose registration ends first, never the slot asked for.
    pub(crate) fn slot_or_insert(&mut self, port: u16, now: u64, max: usize) -> &mut PortSlot {
        let i = match self.ports.binary_search_by_key(&port, |p| p.port) {
            Ok(i) => i,
            Err(mut i) => {
                if self.ports.len() >= max {
                    let victim = self
                        .ports
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, p)| (p.ban.active(now), p.known_until))
                        .map(|(j, _)| j);
                    if let Some(j) = victim {
                        self.ports.remove(j);
                        if j < i {
                            i -= 1;
                        }
                    }
                }
                self.ports.insert(i, PortSlot::new(port));
                i
            }
        };
        &mut self.ports[i]
    }

    /// Classifies a packet from `port` (on `flow`), charging a known device's meter when
    /// `meter` is set.
    #[inline]
    pub(crate) fn port_state(
        &mut self,
        now: u64,
        port: u16,
        flow: Option<u64>,
        meter: Option<Rate>,
    ) -> PortState {
        let Some(slot) = self.slot(port) else { return PortState::Unknown };
        if slot.ban.active(now) {
            return PortState::Banned;
        }
        if !slot.known(now, flow) {
            return PortState::Unknown;
        }
        if let Some(rate) = meter
            && !gcra(&mut slot.meter, now, rate)
        {
            slot.known_until = 0;
            return PortState::Demoted;
        }
        PortState::Known
    }

    /// True if `port` (on `flow`) is a known device now.
    pub(crate) fn is_known(&mut self, now: u64, port: u16, flow: Option<u64>) -> bool {
        self.slot(port).is_some_and(|s| s.known(now, flow) && !s.ban.active(now))
    }

    /// Drops port slots with nothing left to remember.
    pub(crate) fn prune_ports(&mut self, now: u64, ladder: Ladder) {
        self.ports.retain(|p| p.keep(now, ladder));
        if self.ports.is_empty() {
            self.ports = Vec::new();
        }
    }
}

impl Evict for IpEntry {
    #[inline]
    fn rank(&self, now: u64) -> (u8, u64) {
        let tier = if self.device_until > now {
            TIER_DEVICE
        } else if self.ban.until > now || self.port_ban_until > now {
            TIER_BANNED
        } else {
            TIER_PLAIN
        };
        (tier, self.last_seen)
    }
}

/// One /64 (or /24). For IPv6 it is also where address-wide authentication failures are
/// counted and address-wide bans placed: an IPv6 host picks any address of its /64 at will.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PrefixEntry {
    pub(crate) last_seen: u64,
    pub(crate) flood: u64,
    pub(crate) ban: Ban,
    pub(crate) auth: Leaky,
    pub(crate) auth_users: u64,
}

impl PrefixEntry {
    pub(crate) fn new(now: u64) -> PrefixEntry {
        PrefixEntry {
            last_seen: now,
            flood: 0,
            ban: Ban::default(),
            auth: Leaky::default(),
            auth_users: 0,
        }
    }
}

impl Evict for PrefixEntry {
    fn rank(&self, now: u64) -> (u8, u64) {
        (if self.ban.active(now) { TIER_BANNED } else { TIER_PLAIN }, self.last_seen)
    }
}

/// Key of a (tenant, user, address) counter: a seeded hash of tenant and user, and the
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AuthKey {
    pub(crate) id: u64,
    pub(crate) ip: u128,
}

/// Longest tenant or user name kept (longer ones are cut at a character boundary; the
/// hash in the key covers the whole name).
const MAX_NAME: usize = 64;

/// Failures of one (tenant, user, address).
#[derive(Debug, Clone)]
pub(crate) struct AuthEntry {
    pub(crate) tenant: Box<str>,
    pub(crate) user: Box<str>,
    pub(crate) last_seen: u64,
    pub(crate) failures: Leaky,
    pub(crate) block: Ban,
}

impl AuthEntry {
    pub(crate) fn new(tenant: &str, user: &str, now: u64) -> AuthEntry {
        AuthEntry {
            tenant: truncate(tenant).into(),
            user: truncate(user).into(),
            last_seen: now,
            failures: Leaky::default(),
            block: Ban::default(),
        }
    }
}

impl Evict for AuthEntry {
    fn rank(&self, now: u64) -> (u8, u64) {
        (if self.block.active(now) { TIER_BANNED } else { TIER_PLAIN }, self.last_seen)
    }
}

/// `s` cut to at most [`MAX_NAME`] bytes at a character boundary.
pub(crate) fn truncate(s: &str) -> &str {
    if s.len() <= MAX_NAME {
        return s;
    }
    let mut end = MAX_NAME;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ban::BanReason;
    use std::time::Duration;

    fn ladder() -> Ladder {
        Ladder::new(
            Duration::from_secs(300),
            Duration::from_secs(86_400),
            Duration::from_secs(86_400),
        )
    }

    #[test]
    fn ports_stay_sorted_and_bounded() {
        let mut e = IpEntry::new(0, 0, Class::None);
        for (n, port) in [5060u16, 10, 40000, 7, 5061].into_iter().enumerate() {
            e.slot_or_insert(port, 0, 4).known_until = 100 + n as u64;
        }
        let ports: Vec<u16> = e.ports.iter().map(|p| p.port).collect();
        // Four slots; the first one registered (5060, ending soonest) made room.
        assert_eq!(ports, [7, 10, 5061, 40000]);
        assert!(e.is_known(50, 7, None));
        assert!(!e.is_known(50, 5060, None));
        // A banned port is kept over a known one.
        e.slot_or_insert(10, 0, 4).ban.start(0, BanReason::Static, ladder());
        e.slot_or_insert(1, 0, 4);
        assert!(e.slot(10).is_some());
    }

    #[test]
    fn port_state_and_flows() {
        let mut e = IpEntry::new(0, 0, Class::None);
        assert_eq!(e.port_state(0, 5060, None, None), PortState::Unknown);
        let s = e.slot_or_insert(5060, 0, 8);
        s.known_until = 1000;
        s.flow = Some(7);
        assert_eq!(e.port_state(10, 5060, None, None), PortState::Known);
        assert_eq!(e.port_state(10, 5060, Some(7), None), PortState::Known);
        assert_eq!(e.port_state(10, 5060, Some(8), None), PortState::Unknown);
        assert_eq!(e.port_state(1000, 5060, None, None), PortState::Unknown);
        // Over its own meter: demoted.
        let rate = Rate::new(2, 1_000_000);
        let s = e.slot(5060).unwrap();
        s.known_until = 10_000;
        assert_eq!(e.port_state(20, 5060, None, Some(rate)), PortState::Known);
        assert_eq!(e.port_state(20, 5060, None, Some(rate)), PortState::Known);
        assert_eq!(e.port_state(20, 5060, None, Some(rate)), PortState::Demoted);
        assert_eq!(e.port_state(20, 5060, None, Some(rate)), PortState::Unknown);
        e.slot(5060).unwrap().ban.start(30, BanReason::Static, ladder());
        assert_eq!(e.port_state(40, 5060, None, None), PortState::Banned);
    }

    #[test]
    fn eviction_tiers() {
        let mut e = IpEntry::new(5, 0, Class::None);
        assert_eq!(e.rank(10), (TIER_PLAIN, 5));
        e.ban.start(10, BanReason::Static, ladder());
        assert_eq!(e.rank(10).0, TIER_BANNED);
        e.slot_or_insert(1, 10, 8).known_until = 20;
        e.summarise_ports(10);
        assert_eq!(e.rank(10).0, TIER_DEVICE);
        e.prune_ports(30, ladder());
        e.summarise_ports(30);
        assert!(e.ports.is_empty());
        assert_eq!(e.device_until, 0);
        assert_eq!(e.rank(30).0, TIER_BANNED, "its own ban still runs");
    }

    #[test]
    fn names_are_cut_at_char_boundaries() {
        assert_eq!(truncate("100"), "100");
        let long = "é".repeat(40);
        let cut = truncate(&long);
        assert!(cut.len() <= 64 && cut.chars().all(|c| c == 'é'));
        assert_eq!(AuthEntry::new(&long, "u", 0).tenant.len(), 64);
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// The memory figures in the configuration documentation rest on these sizes.
    #[test]
    fn entries_stay_small() {
        let ip = std::mem::size_of::<IpEntry>();
        let prefix = std::mem::size_of::<PrefixEntry>();
        let auth = std::mem::size_of::<AuthEntry>();
        eprintln!(
            "IpEntry {ip} B, PrefixEntry {prefix} B, AuthEntry {auth} B, Extra {} B",
            std::mem::size_of::<Extra>()
        );
        assert!(ip <= 128, "IpEntry is {ip} bytes");
        assert!(prefix <= 96, "PrefixEntry is {prefix} bytes");
        assert!(auth <= 112, "AuthEntry is {auth} bytes");
    }
}
