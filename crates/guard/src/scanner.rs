//! Scanner detection: an extra signal, not the defence.
//!
//! The flood meter and the authentication counters stop attacks whatever tool sends them;
//! this module only recognises the common tools early, so a scan is banned on its first
//! requests instead of after its first flood window. Each request from a source that is not
//! a known device is scored; the score of the source address decays over time, and when it
//! reaches the threshold the address (for IPv6, its /64) is banned
//! ([`crate::BanReason::Scanner`]). The score and the enumeration count are kept per
//! address, so an IPv6 scanner that changes address with every request escapes the weak
//! signals (not the fingerprints, nor the /64 flood meter).
//!
//! | signal | points | why |
//! |---|---|---|
//! | [`ScannerSignals::USER_AGENT`] | 100 | User-Agent names an attack tool (list below) |
//! | [`ScannerSignals::DISPLAY_NAME`] | 100 | From display name names one (`svmap` sends `"sipvicious"`) |
//! | [`ScannerSignals::SUSPECT_AGENT`] | 40 | User-Agent names an SDK that scanners often impersonate |
//! | [`ScannerSignals::SELF_ADDRESSED`] | 25 | an OPTIONS/INVITE/... whose From user equals its To user (`svmap`, `svwar -m INVITE`); exempt are the methods where that is normal: REGISTER (To and From are both the address of record), SUBSCRIBE and PUBLISH (a phone subscribes to its own voicemail box and publishes its own presence), NOTIFY, and CANCEL and ACK (they copy the From and To of the request they belong to, which was scored itself) |
//! | [`ScannerSignals::ENUMERATION`] | 10 per user | one source address (IP and port) asks, without credentials, about more than 16 distinct users within a minute (`svwar`); a phone asks about its own lines only |
//! | [`ScannerSignals::NO_BRANCH_COOKIE`] | 10 | top Via branch without the RFC 3261 `z9hG4bK` cookie (hand-made requests; some very old devices) |
//!
//! # Fingerprints
//! Attack tools (matched case-insensitively at the start of a word of the User-Agent or
//! From display name): `friendly-scanner` (SIPVicious' default User-Agent, also used by
//! many botnets), `sipvicious`, `sipcli` (a brute-force tool seen as `sipcli/v1.8`),
//! `sip-scan`, `sipscan`, `sundayddr`, `iWar`, `SIVuS`, `smap`, `pplsip`, `sipptk` and
//! `sippts` (the SIPPTS suite), `siparmyknife`.
//! Suspect SDKs: `VaxSIPUserAgent`, `SimpleSIP` (field reports of INVITE scans; also
//! shipped in real softphones, hence the lower score).
//!
//! Left out on purpose: `Asterisk PBX`, `FPBX`, `Cisco-SIPGateway` and similar strings are
//! impersonated by scanners but also sent by real PBXs and trunks; Max-Forwards 70 is what
//! every user agent sends. Such signals would ban customers and are not used.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::Transport;

/// Attack-tool names (lower case).
const TOOLS: &[&str] = &[
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sipscan",
    "sundayddr",
    "iwar",
    "sivus",
    "smap",
    "pplsip",
    "sipptk",
    "sippts",
    "siparmyknife",
];

/// SDK names that scanners often impersonate (lower case).
const SUSPECT: &[&str] = &["vaxsipuseragent", "simplesip"];

/// Only the first bytes of a header are examined.
const MAX_SCAN: usize = 256;

/// Points per signal (see the module documentation).
pub(crate) const TOOL_POINTS: u32 = 100;
pub(crate) const SUSPECT_POINTS: u32 = 40;
pub(crate) const SELF_ADDRESSED_POINTS: u32 = 25;
pub(crate) const ENUMERATION_POINTS: u32 = 10;
pub(crate) const NO_COOKIE_POINTS: u32 = 10;

/// The set of scanner signals seen for a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScannerSignals(u16);

impl ScannerSignals {
    /// No signal.
    pub const NONE: ScannerSignals = ScannerSignals(0);
    /// The User-Agent names an attack tool.
    pub const USER_AGENT: ScannerSignals = ScannerSignals(1);
    /// The From display name names an attack tool.
    pub const DISPLAY_NAME: ScannerSignals = ScannerSignals(1 << 1);
    /// The User-Agent names an SDK that scanners often impersonate.
    pub const SUSPECT_AGENT: ScannerSignals = ScannerSignals(1 << 2);
    /// A request other than REGISTER whose From user equals its To user.
    pub const SELF_ADDRESSED: ScannerSignals = ScannerSignals(1 << 3);
    /// One source address asking about many users without credentials.
    pub const ENUMERATION: ScannerSignals = ScannerSignals(1 << 4);
    /// A top Via branch without the RFC 3261 magic cookie.
    pub const NO_BRANCH_COOKIE: ScannerSignals = ScannerSignals(1 << 5);

    const NAMES: [(ScannerSignals, &'static str); 6] = [
        (ScannerSignals::USER_AGENT, "user_agent"),
        (ScannerSignals::DISPLAY_NAME, "display_name"),
        (ScannerSignals::SUSPECT_AGENT, "suspect_agent"),
        (ScannerSignals::SELF_ADDRESSED, "self_addressed"),
        (ScannerSignals::ENUMERATION, "enumeration"),
        (ScannerSignals::NO_BRANCH_COOKIE, "no_branch_cookie"),
    ];

    /// True if every signal of `other` is in `self`.
    pub fn contains(self, other: ScannerSignals) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if no signal is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The union.
    pub fn union(self, other: ScannerSignals) -> ScannerSignals {
        ScannerSignals(self.0 | other.0)
    }

    /// The signals of `self` that are not in `other`.
    pub fn difference(self, other: ScannerSignals) -> ScannerSignals {
        ScannerSignals(self.0 & !other.0)
    }

    /// The names of the signals set (`user_agent`, `enumeration`, ...).
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        ScannerSignals::NAMES.into_iter().filter(move |(s, _)| self.contains(*s)).map(|(_, n)| n)
    }

    fn from_name(name: &str) -> Option<ScannerSignals> {
        ScannerSignals::NAMES.into_iter().find(|(_, n)| *n == name).map(|(s, _)| s)
    }
}

impl fmt::Display for ScannerSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.names().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(n)?;
        }
        Ok(())
    }
}

impl Serialize for ScannerSignals {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

impl<'de> Deserialize<'de> for ScannerSignals {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ScannerSignals, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names.iter().try_fold(ScannerSignals::NONE, |acc, n| {
            ScannerSignals::from_name(n)
                .map(|s| acc.union(s))
                .ok_or_else(|| serde::de::Error::custom(format!("unknown scanner signal {n:?}")))
        })
    }
}

/// What the guard needs to know about one parsed request (fill it from the message; all
/// text is borrowed, nothing is kept).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestInfo<'a> {
    /// Where the request came from (address and port).
    pub source: SocketAddr,
    /// The transport it arrived on.
    pub transport: Transport,
    /// The connection (or local socket) it arrived on, if the transport tracks one.
    pub flow: Option<u64>,
    /// The method (`REGISTER`, `INVITE`, `OPTIONS`, ...).
    pub method: &'a str,
    /// The User-Agent header value.
    pub user_agent: Option<&'a str>,
    /// The From header's display name.
    pub from_display: Option<&'a str>,
    /// The From URI's user part.
    pub from_user: Option<&'a str>,
    /// The To URI's user part.
    pub to_user: Option<&'a str>,
    /// The user the request is about: the To user for REGISTER, the Request-URI user
    /// otherwise.
    pub target_user: Option<&'a str>,
    /// True if the top Via branch starts with `z9hG4bK` (RFC 3261 §8.1.1.7).
    pub branch_cookie: bool,
    /// True if the request carries Authorization or Proxy-Authorization credentials.
    pub has_credentials: bool,
}

impl<'a> RequestInfo<'a> {
    /// A request with the given source, transport and method and nothing else known (a
    /// compliant branch cookie assumed); set the other fields as the message allows.
    pub fn new(source: SocketAddr, transport: Transport, method: &'a str) -> RequestInfo<'a> {
        RequestInfo {
            source,
            transport,
            flow: None,
            method,
            user_agent: None,
            from_display: None,
            from_user: None,
            to_user: None,
            target_user: None,
            branch_cookie: true,
            has_credentials: false,
        }
    }
}

/// The first name of `names` (lower case ASCII) that starts a word of `text`,
/// case-insensitively. One pass over the word starts, comparing first bytes before whole
/// names.
fn find_word(text: &str, names: &[&'static str]) -> Option<&'static str> {
    let hay = &text.as_bytes()[..text.len().min(MAX_SCAN)];
    let mut prev_alnum = false;
    for (i, &c) in hay.iter().enumerate() {
        let alnum = c.is_ascii_alphanumeric();
        if alnum && !prev_alnum {
            let lower = c.to_ascii_lowercase();
            let rest = &hay[i..];
            let found = names.iter().find(|n| {
                let n = n.as_bytes();
                n[0] == lower && rest.len() >= n.len() && rest[..n.len()].eq_ignore_ascii_case(n)
            });
            if found.is_some() {
                return found.copied();
            }
        }
        prev_alnum = alnum;
    }
    None
}

/// Methods whose From user normally equals their To user (see the module table).
const SELF_ADDRESSED_NORMAL: [&str; 6] =
    ["REGISTER", "SUBSCRIBE", "PUBLISH", "NOTIFY", "CANCEL", "ACK"];

/// The attack tool `text` names, if any.
pub(crate) fn tool_in(text: &str) -> Option<&'static str> {
    find_word(text, TOOLS)
}

fn suspect_in(text: &str) -> bool {
    find_word(text, SUSPECT).is_some()
}

/// The signals a single request shows by itself (enumeration needs the source's history and
/// is added by [`Sweep`]), and their points.
pub(crate) fn request_signals(info: &RequestInfo<'_>) -> (ScannerSignals, u32) {
    let mut s = ScannerSignals::NONE;
    let mut points = 0u32;
    if let Some(ua) = info.user_agent {
        if tool_in(ua).is_some() {
            s = s.union(ScannerSignals::USER_AGENT);
            points += TOOL_POINTS;
        } else if suspect_in(ua) {
            s = s.union(ScannerSignals::SUSPECT_AGENT);
            points += SUSPECT_POINTS;
        }
    }
    if info.from_display.is_some_and(|d| tool_in(d).is_some()) {
        s = s.union(ScannerSignals::DISPLAY_NAME);
        points += TOOL_POINTS;
    }
    if !SELF_ADDRESSED_NORMAL.iter().any(|m| info.method.eq_ignore_ascii_case(m))
        && let (Some(f), Some(t)) = (info.from_user, info.to_user)
        && !f.is_empty()
        && f == t
    {
        s = s.union(ScannerSignals::SELF_ADDRESSED);
        points += SELF_ADDRESSED_POINTS;
    }
    if !info.branch_cookie {
        s = s.union(ScannerSignals::NO_BRANCH_COOKIE);
        points += NO_COOKIE_POINTS;
    }
    (s, points)
}

/// Tracks how many distinct users one source port of an address asks about without
/// credentials. One port per address is tracked at a time; the tracker moves to another
/// port only when it has seen fewer than two users or its window is over, so office phones
/// interleaving their first REGISTERs do not hide a scanner on another port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sweep {
    port: u16,
    /// One bit per user-name hash (mod 128): a lower bound of the distinct users.
    users: u128,
    since: u64,
}

impl Sweep {
    /// Notes that `port` asked about the user hashing to `user_hash` at `now`. Returns the
    /// distinct-user count if this user is new for the tracked port, else `None`.
    pub(crate) fn note(&mut self, now: u64, port: u16, user_hash: u64, window: u64) -> Option<u32> {
        let expired = now.saturating_sub(self.since) >= window;
        if port != self.port || self.users == 0 {
            if self.users.count_ones() >= 2 && !expired {
                return None;
            }
            *self = Sweep { port, users: 0, since: now };
        } else if expired {
            *self = Sweep { port, users: 0, since: now };
        }
        let bit = 1u128 << (user_hash % 128);
        if self.users & bit != 0 {
            return None;
        }
        self.users |= bit;
        Some(self.users.count_ones())
    }

    /// Forgets the tracked port if it is `port` (it became a known device).
    pub(crate) fn forget(&mut self, port: u16) {
        if self.port == port {
            *self = Sweep::default();
        }
    }

    /// True if nothing is tracked (or the window is over).
    pub(crate) fn is_idle(&self, now: u64, window: u64) -> bool {
        self.users == 0 || now.saturating_sub(self.since) >= window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(method: &'a str) -> RequestInfo<'a> {
        RequestInfo::new("192.0.2.1:5060".parse().unwrap(), Transport::Udp, method)
    }

    #[test]
    fn tool_fingerprints_match_at_word_starts() {
        for ua in [
            "friendly-scanner",
            "Friendly-Scanner 1.0",
            "sipcli/v1.8",
            "SIPVicious/0.3.4",
            "smap 0.6.0",
            "pplsip",
            "iWar",
            "x sundayddr",
            "(SIVuS)",
            "sipptk",
        ] {
            assert!(tool_in(ua).is_some(), "{ua}");
        }
        for ua in [
            "Yealink SIP-T46S 66.86.0.15",
            "Linphone/5.2.0 (belle-sip/5.2.0)",
            "baresip v3.10.1 (x86_64/linux)",
            "Grandstream GXP2170 1.0.11.3",
            "Asmap phone",
            "Zoiper rv2.10",
            "Asterisk PBX 20.5.0",
            "",
        ] {
            assert!(tool_in(ua).is_none(), "{ua}");
        }
        // Only the first 256 bytes are looked at.
        let long = format!("{}friendly-scanner", "x ".repeat(200));
        assert!(tool_in(&long).is_none());
    }

    #[test]
    fn signals_of_svmap_options() {
        let mut r = req("OPTIONS");
        r.user_agent = Some("friendly-scanner");
        r.from_display = Some("sipvicious");
        r.from_user = Some("100");
        r.to_user = Some("100");
        let (s, p) = request_signals(&r);
        assert!(s.contains(ScannerSignals::USER_AGENT));
        assert!(s.contains(ScannerSignals::DISPLAY_NAME));
        assert!(s.contains(ScannerSignals::SELF_ADDRESSED));
        assert_eq!(p, 2 * TOOL_POINTS + SELF_ADDRESSED_POINTS);
        assert_eq!(s.to_string(), "user_agent,display_name,self_addressed");
    }

    /// Regression: a CANCEL of a REGISTER (SIPp sends one for a registration it gives up
    /// on) and a phone's SUBSCRIBE to its own voicemail box (From = To = its address of
    /// record) scored as self-addressed, so four of them banned a whole office address.
    #[test]
    fn self_addressed_only_where_it_is_abnormal() {
        for method in ["REGISTER", "SUBSCRIBE", "PUBLISH", "NOTIFY", "CANCEL", "ACK", "cancel"] {
            let mut r = req(method);
            r.from_user = Some("201");
            r.to_user = Some("201");
            assert_eq!(request_signals(&r), (ScannerSignals::NONE, 0), "{method}");
        }
        for method in ["OPTIONS", "INVITE", "MESSAGE", "INFO"] {
            let mut r = req(method);
            r.from_user = Some("201");
            r.to_user = Some("201");
            assert_eq!(
                request_signals(&r),
                (ScannerSignals::SELF_ADDRESSED, SELF_ADDRESSED_POINTS),
                "{method}"
            );
        }
    }

    #[test]
    fn a_normal_register_has_no_signal() {
        let mut r = req("REGISTER");
        r.user_agent = Some("Yealink SIP-T46S 66.86.0.15");
        r.from_user = Some("201");
        r.to_user = Some("201");
        r.from_display = Some("Reception");
        assert_eq!(request_signals(&r), (ScannerSignals::NONE, 0));
    }

    #[test]
    fn weak_signals() {
        let mut r = req("INVITE");
        r.user_agent = Some("VaxSIPUserAgent/3.1");
        r.branch_cookie = false;
        let (s, p) = request_signals(&r);
        assert_eq!(s, ScannerSignals::SUSPECT_AGENT.union(ScannerSignals::NO_BRANCH_COOKIE));
        assert_eq!(p, SUSPECT_POINTS + NO_COOKIE_POINTS);
        // Empty users are not "equal".
        let mut r = req("OPTIONS");
        r.from_user = Some("");
        r.to_user = Some("");
        assert_eq!(request_signals(&r).0, ScannerSignals::NONE);
    }

    #[test]
    fn sweep_counts_distinct_users_of_one_port() {
        let w = 60_000_000;
        let mut s = Sweep::default();
        assert_eq!(s.note(0, 4000, 1, w), Some(1));
        assert_eq!(s.note(1, 4000, 1, w), None);
        assert_eq!(s.note(2, 4000, 2, w), Some(2));
        // Another port cannot take over a tracker that has seen two users.
        assert_eq!(s.note(3, 5000, 9, w), None);
        assert_eq!(s.note(4, 4000, 3, w), Some(3));
        // After the window, the other port can.
        assert_eq!(s.note(w + 4, 5000, 9, w), Some(1));
        assert!(!s.is_idle(w + 5, w));
        s.forget(5000);
        assert!(s.is_idle(w + 5, w));
    }

    #[test]
    fn interleaved_phones_do_not_lock_the_tracker() {
        let w = 60_000_000;
        let mut s = Sweep::default();
        // Phones on ports 1..=50 each ask about their own user once.
        for p in 1..=50u16 {
            assert_eq!(s.note(u64::from(p), p, u64::from(p) * 7, w), Some(1));
        }
    }

    #[test]
    fn signals_serialise_as_names() {
        let s = ScannerSignals::USER_AGENT.union(ScannerSignals::ENUMERATION);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"["user_agent","enumeration"]"#);
        assert_eq!(serde_json::from_str::<ScannerSignals>(&json).unwrap(), s);
        assert!(serde_json::from_str::<ScannerSignals>(r#"["bogus"]"#).is_err());
        assert!(ScannerSignals::NONE.is_empty());
    }
}
