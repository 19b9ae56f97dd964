//! Bans: what is banned ([`BanKey`]), why ([`BanReason`]), for how long (the escalation
//! ladder), and how the admin side sees them ([`BanInfo`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::GuardError;
use crate::meter::micros;
use crate::scanner::ScannerSignals;

/// What a ban applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BanKey {
    /// Every port of one address, except its known devices.
    Ip {
        /// The address.
        ip: IpAddr,
    },
    /// A network: an IPv6 /64 (or an IPv4 /24 when that meter is on), except the known
    /// devices inside it.
    Prefix {
        /// The network.
        net: IpNet,
    },
    /// One source address and port (the socket an offender used).
    Source {
        /// Address and port.
        addr: SocketAddr,
    },
    /// Digest authentication for one user of one tenant from one address (requests are
    /// refused without checking the password).
    User {
        /// The tenant (its SIP domain, the digest realm).
        tenant: String,
        /// The digest username.
        user: String,
        /// The address; for IPv6 the first address of its /64 (the block covers the /64).
        ip: IpAddr,
    },
}

impl fmt::Display for BanKey {
    /// `192.0.2.7`, `2001:db8:1:2::/64`, `192.0.2.7:5060`, `100@example.com@192.0.2.7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BanKey::Ip { ip } => write!(f, "{ip}"),
            BanKey::Prefix { net } => write!(f, "{net}"),
            BanKey::Source { addr } => write!(f, "{addr}"),
            BanKey::User { tenant, user, ip } => write!(f, "{user}@{tenant}@{ip}"),
        }
    }
}

impl FromStr for BanKey {
    type Err = GuardError;

    /// Parses the [`Display`](fmt::Display) form. A username may itself contain `@`; the
    /// tenant (a domain) and the address cannot, so the last two `@` separate them.
    fn from_str(s: &str) -> Result<BanKey, GuardError> {
        let bad = || GuardError::InvalidBanKey(s.chars().take(80).collect());
        if s.contains('@') {
            let mut parts = s.rsplitn(3, '@');
            let (Some(ip), Some(tenant), Some(user)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let ip: IpAddr = ip.parse().map_err(|_| bad())?;
            if tenant.is_empty() || user.is_empty() {
                return Err(bad());
            }
            return Ok(BanKey::User {
                tenant: tenant.to_owned(),
                user: user.to_owned(),
                ip: ip.to_canonical(),
            });
        }
        if s.contains('/') {
            return s
                .parse::<IpNet>()
                .map(|net| BanKey::Prefix { net: net.trunc() })
                .map_err(|_| bad());
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(BanKey::Ip { ip: ip.to_canonical() });
        }
        s.parse::<SocketAddr>()
            .map(|a| BanKey::Source { addr: SocketAddr::new(a.ip().to_canonical(), a.port()) })
            .map_err(|_| bad())
    }
}

/// Why a ban started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BanReason {
    /// More than `limit` requests (or connections) within `window_secs`.
    Flood {
        /// The limit that was exceeded.
        limit: u32,
        /// Its window in seconds.
        window_secs: u32,
    },
    /// Failed authentications: `count` recent failures, spanning about `users` distinct
    /// usernames.
    AuthFailures {
        /// Recent failures (the leaky count when the ban started).
        count: u32,
        /// Distinct usernames among them (an estimate; 1 for a per-user block).
        users: u32,
    },
    /// The scanner score crossed its threshold; `signals` were seen.
    Scanner {
        /// Which signals contributed.
        signals: ScannerSignals,
    },
    /// A permanent deny entry.
    Static,
}

impl fmt::Display for BanReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BanReason::Flood { limit, window_secs } => {
                write!(f, "flood: more than {limit} requests in {window_secs} s")
            }
            BanReason::AuthFailures { count, users } => {
                write!(f, "authentication failures: {count} for {users} user(s)")
            }
            BanReason::Scanner { signals } => write!(f, "scanner: {signals}"),
            BanReason::Static => f.write_str("static deny entry"),
        }
    }
}

/// One current ban, for the admin side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanInfo {
    /// What is banned.
    pub key: BanKey,
    /// Why.
    pub reason: BanReason,
    /// How many times this key was banned within the offence memory, this ban included
    /// (0 for static entries).
    pub offences: u32,
    /// Seconds since the ban started (0 for static entries).
    pub started_secs_ago: u64,
    /// Seconds until it ends by itself; `None` for a permanent (static) entry.
    pub expires_in_secs: Option<u64>,
}

/// The escalation ladder: the first ban lasts `base`, each further offence within the
/// memory doubles it, up to `max`. An offence is forgotten once `memory` has passed since
/// the end of the last ban.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ladder {
    pub(crate) base: u64,
    pub(crate) max: u64,
    pub(crate) memory: u64,
}

impl Ladder {
    pub(crate) fn new(base: Duration, max: Duration, memory: Duration) -> Ladder {
        Ladder { base: micros(base), max: micros(max), memory: micros(memory) }
    }

    /// The length of the `offence`-th (1-based) ban.
    pub(crate) fn duration(self, offence: u32) -> u64 {
        let doublings = offence.saturating_sub(1).min(63);
        self.base
            .checked_shl(doublings)
            .filter(|d| d >> doublings == self.base)
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// The ban state of one key (microsecond clock; `until == 0`: never banned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Ban {
    pub(crate) until: u64,
    pub(crate) since: u64,
    pub(crate) offences: u32,
    pub(crate) reason: BanReason,
    /// Started and its end not yet reported (see [`crate::Guard::housekeeping`]).
    pub(crate) open: bool,
}

impl Default for Ban {
    fn default() -> Ban {
        Ban { until: 0, since: 0, offences: 0, reason: BanReason::Static, open: false }
    }
}

impl Ban {
    /// True while the ban runs.
    #[inline]
    pub(crate) fn active(&self, now: u64) -> bool {
        self.until > now
    }

    /// True while an ended ban still counts towards the next one's length (or it runs).
    pub(crate) fn remembered(&self, now: u64, ladder: Ladder) -> bool {
        self.offences > 0 && now < self.until.saturating_add(ladder.memory)
    }

    /// Starts (or restarts) the ban at `now`; returns its length in microseconds.
    pub(crate) fn start(&mut self, now: u64, reason: BanReason, ladder: Ladder) -> u64 {
        if !self.remembered(now, ladder) {
            self.offences = 0;
        }
        self.offences = self.offences.saturating_add(1);
        let len = ladder.duration(self.offences);
        self.since = now;
        self.until = now.saturating_add(len);
        self.reason = reason;
        self.open = true;
        len
    }

    /// True once, when a started ban has ended by itself: the caller reports the expiry.
    pub(crate) fn take_expired(&mut self, now: u64) -> bool {
        if self.open && !self.active(now) {
            self.open = false;
            return true;
        }
        false
    }

    /// Ends the ban and forgets the offences (an administrator lifted it).
    pub(crate) fn lift(&mut self) {
        *self = Ban::default();
    }

    /// The admin view of the running ban.
    pub(crate) fn info(&self, key: BanKey, now: u64) -> BanInfo {
        BanInfo {
            key,
            reason: self.reason,
            offences: self.offences,
            started_secs_ago: now.saturating_sub(self.since) / 1_000_000,
            expires_in_secs: Some(crate::meter::secs_ceil(self.until.saturating_sub(now))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    fn ladder() -> Ladder {
        Ladder::new(
            Duration::from_secs(300),
            Duration::from_secs(86_400),
            Duration::from_secs(86_400),
        )
    }

    #[test]
    fn ladder_doubles_up_to_the_cap() {
        let l = ladder();
        let secs: Vec<u64> = (1..=11).map(|n| l.duration(n) / S).collect();
        assert_eq!(secs, [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 76800, 86400, 86400]);
        assert_eq!(l.duration(1000) / S, 86_400);
        assert_eq!(l.duration(0) / S, 300);
    }

    #[test]
    fn offences_escalate_and_are_forgotten() {
        let l = ladder();
        let mut b = Ban::default();
        assert!(!b.active(0));
        let r = BanReason::Flood { limit: 10, window_secs: 1 };
        assert_eq!(b.start(10 * S, r, l), 300 * S);
        assert!(b.active(10 * S) && b.active(309 * S) && !b.active(310 * S));
        assert_eq!(b.start(400 * S, r, l), 600 * S);
        assert_eq!(b.offences, 2);
        // Just inside the memory after the end of the second ban.
        let end = b.until;
        assert_eq!(b.start(end + 86_399 * S, r, l), 1200 * S);
        // Past the memory: back to the first rung.
        let end = b.until;
        assert_eq!(b.start(end + 86_400 * S, r, l), 300 * S);
        assert_eq!(b.offences, 1);
        b.lift();
        assert_eq!(b, Ban::default());
    }

    #[test]
    fn keys_print_and_parse() {
        let cases = [
            "192.0.2.7",
            "2001:db8::1",
            "2001:db8:1:2::/64",
            "192.0.2.0/24",
            "192.0.2.7:5060",
            "[2001:db8::1]:5061",
            "100@example.com@192.0.2.7",
            "alice@corp@example.com@2001:db8::5",
        ];
        for s in cases {
            let k: BanKey = s.parse().unwrap();
            assert_eq!(k.to_string(), s);
        }
        let k: BanKey = "alice@corp@example.com@2001:db8::5".parse().unwrap();
        assert_eq!(
            k,
            BanKey::User {
                tenant: "example.com".into(),
                user: "alice@corp".into(),
                ip: "2001:db8::5".parse().unwrap()
            }
        );
        assert_eq!("::ffff:192.0.2.7".parse::<BanKey>().unwrap().to_string(), "192.0.2.7");
        for bad in ["", "nonsense", "@@", "u@t@notanip", "192.0.2.1/99", "@t@192.0.2.1"] {
            assert!(bad.parse::<BanKey>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_and_reasons_serialise_to_json() {
        let info = BanInfo {
            key: BanKey::Source { addr: "192.0.2.7:5060".parse().unwrap() },
            reason: BanReason::AuthFailures { count: 5, users: 1 },
            offences: 1,
            started_secs_ago: 3,
            expires_in_secs: Some(297),
        };
        let json = serde_json::to_string(&info).unwrap();
        assert_eq!(
            json,
            r#"{"key":{"kind":"source","addr":"192.0.2.7:5060"},"reason":{"kind":"auth_failures","count":5,"users":1},"offences":1,"started_secs_ago":3,"expires_in_secs":297}"#
        );
        let back: BanInfo = serde_json::from_str(&json).unwrap();
        assert_eq!(back, info);
        assert_eq!(info.reason.to_string(), "authentication failures: 5 for 1 user(s)");
    }
}
