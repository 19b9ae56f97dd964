//! An office behind one NAT address: 50 phones register, refresh, keep alive, place and
//! receive calls for an hour of virtual time, through a network outage that makes them
//! retransmit and come back on new NAT ports. Meanwhile one attacker behind the same
//! address guesses an extension's password, and later a scanner probes from it.
//!
//! Required: no phone datagram is ever dropped and no phone authentication is refused,
//! while the guesser is stopped within five failures and the scanner on its first request.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ringfence_guard::{
    AuthCheck, BanKey, BanReason, Guard, GuardConfig, GuardEvent, RequestInfo, Transport, Verdict,
};

const TENANT: &str = "office.example";
const PHONES: usize = 50;
const AGENT: &str = "Yealink SIP-T46S 66.86.0.15";
const HOUR_MS: u64 = 3_600_000;

/// xorshift64*: deterministic jitter.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// Phone sends REGISTER without credentials (first of a registration).
    Register(usize),
    /// Phone answers the 401 with credentials.
    RegisterAuth(usize),
    /// A lost request retransmitted (RFC 3261 timer A).
    Retransmit(usize),
    KeepAlive(usize),
    /// Outgoing call: INVITE, 407, INVITE with credentials, ACKs.
    Call(usize),
    Bye(usize),
    /// All phones ring and answer or are cancelled.
    RingGroup,
    /// The office link fails for 10 s: every phone retransmits, then the NAT has new ports.
    Outage,
    /// The password guesser's next attempt.
    Guess,
    /// The scanner's probe.
    Scan,
    Housekeeping,
}

struct Phone {
    user: String,
    port: u16,
    expires: u64,
}

struct Office {
    guard: Guard,
    t0: Instant,
    ip: IpAddr,
    phones: Vec<Phone>,
    rng: Rng,
    queue: BinaryHeap<Reverse<(u64, u64, Action)>>,
    seq: u64,
    phone_datagrams: u64,
    phone_drops: Vec<(u64, usize, &'static str)>,
    guesses: u32,
    failures: u32,
    guesser_stopped_after: Option<u32>,
    guesser_got_through_after_stop: bool,
    scanner_dropped: Option<bool>,
}

impl Office {
    fn new(config: GuardConfig) -> Office {
        let t0 = Instant::now();
        let phones = (0..PHONES)
            .map(|i| Phone {
                user: (201 + i).to_string(),
                port: 10_000 + i as u16,
                expires: [60, 120, 300][i % 3],
            })
            .collect();
        Office {
            guard: Guard::with_seed(config, t0, 11).unwrap(),
            t0,
            ip: "203.0.113.10".parse().unwrap(),
            phones,
            rng: Rng(0x9E37_79B9_7F4A_7C15),
            queue: BinaryHeap::new(),
            seq: 0,
            phone_datagrams: 0,
            phone_drops: Vec::new(),
            guesses: 0,
            failures: 0,
            guesser_stopped_after: None,
            guesser_got_through_after_stop: false,
            scanner_dropped: None,
        }
    }

    fn at(&mut self, ms: u64, a: Action) {
        self.seq += 1;
        self.queue.push(Reverse((ms, self.seq, a)));
    }

    fn now(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn phone_addr(&self, p: usize) -> SocketAddr {
        SocketAddr::new(self.ip, self.phones[p].port)
    }

    /// One datagram from phone `p`; the request it carries, if any, is observed too.
    fn phone_send(
        &mut self,
        ms: u64,
        p: usize,
        what: &'static str,
        req: Option<(&str, bool, &str)>,
    ) {
        let now = self.now(ms);
        let src = self.phone_addr(p);
        self.phone_datagrams += 1;
        if self.guard.check_packet(now, src, Transport::Udp) == Verdict::Drop {
            self.phone_drops.push((ms, p, what));
            return;
        }
        if let Some((method, creds, target)) = req {
            let user = self.phones[p].user.clone();
            let mut info = RequestInfo::new(src, Transport::Udp, method);
            info.user_agent = Some(AGENT);
            info.from_display = Some("Office phone");
            info.from_user = Some(&user);
            info.to_user = Some(if method == "REGISTER" { &user } else { target });
            info.target_user = info.to_user;
            info.has_credentials = creds;
            if self.guard.observe_request(now, &info) == Verdict::Drop {
                self.phone_drops.push((ms, p, what));
                return;
            }
            if creds {
                if self.guard.check_auth(now, TENANT, &user, src) == AuthCheck::Refuse {
                    self.phone_drops.push((ms, p, "auth refused"));
                    return;
                }
                self.guard.auth_succeeded(now, TENANT, &user, src);
                if method == "REGISTER" {
                    let expires = Duration::from_secs(self.phones[p].expires);
                    self.guard.registration_ok(now, src, None, expires);
                }
            }
        }
    }

    fn run(&mut self) {
        for p in 0..PHONES {
            let boot = self.rng.range(0, 5000);
            self.at(boot, Action::Register(p));
            let d = self.rng.range(1000, 30_000);
            self.at(boot + d, Action::KeepAlive(p));
            let d = self.rng.range(60_000, 900_000);
            self.at(boot + d, Action::Call(p));
        }
        for k in 1..=3 {
            self.at(k * 1_200_000 - 600_000, Action::RingGroup);
        }
        self.at(1_800_000, Action::Outage);
        self.at(600_000, Action::Guess);
        self.at(2_400_000, Action::Scan);
        for s in 1..=3600 {
            self.at(s * 1000, Action::Housekeeping);
        }
        while let Some(Reverse((ms, _, action))) = self.queue.pop() {
            if ms > HOUR_MS {
                break;
            }
            self.step(ms, action);
        }
    }

    fn step(&mut self, ms: u64, action: Action) {
        match action {
            Action::Register(p) => {
                self.phone_send(ms, p, "REGISTER", Some(("REGISTER", false, "")));
                // One in ten first REGISTERs is lost and retransmitted after 500 ms.
                if self.rng.range(0, 10) == 0 {
                    self.at(ms + 500, Action::Retransmit(p));
                }
                let d = self.rng.range(20, 80);
                self.at(ms + d, Action::RegisterAuth(p));
            }
            Action::Retransmit(p) => {
                self.phone_send(ms, p, "retransmission", Some(("REGISTER", false, "")));
            }
            Action::RegisterAuth(p) => {
                self.phone_send(ms, p, "REGISTER+auth", Some(("REGISTER", true, "")));
                // SUBSCRIBE for voicemail, challenged once.
                self.phone_send(ms + 5, p, "SUBSCRIBE", Some(("SUBSCRIBE", false, "")));
                self.phone_send(ms + 30, p, "SUBSCRIBE+auth", Some(("SUBSCRIBE", true, "")));
                let e = self.phones[p].expires * 1000;
                let refresh = e / 2 + self.rng.range(0, e * 2 / 5);
                self.at(ms + refresh, Action::Register(p));
            }
            Action::KeepAlive(p) => {
                self.phone_send(ms, p, "keep-alive", None);
                self.at(ms + 30_000, Action::KeepAlive(p));
            }
            Action::Call(p) => {
                let callee = (201 + (p + 7) % PHONES).to_string();
                self.phone_send(ms, p, "INVITE", Some(("INVITE", false, &callee)));
                self.phone_send(ms + 40, p, "ACK 407", None);
                self.phone_send(ms + 60, p, "INVITE+auth", Some(("INVITE", true, &callee)));
                self.phone_send(ms + 3000, p, "ACK 200", None);
                let d = self.rng.range(30_000, 600_000);
                self.at(ms + d, Action::Bye(p));
                let d = self.rng.range(300_000, 900_000);
                self.at(ms + d, Action::Call(p));
            }
            Action::Bye(p) => self.phone_send(ms, p, "BYE", None),
            Action::RingGroup => {
                for p in 0..PHONES {
                    let d = self.rng.range(0, 200);
                    self.phone_send(ms + d, p, "100 Trying", None);
                    self.phone_send(ms + d + 50, p, "180 Ringing", None);
                    self.phone_send(ms + d + 900, p, "200 or 487", None);
                }
            }
            Action::Outage => {
                // Every phone retransmits a pending request 7 times (timer A doubling,
                // capped at T2 = 4 s) into the dead link; the datagrams reach us late, in a
                // burst, when the link comes back after 10 s.
                for p in 0..PHONES {
                    for r in 0..7 {
                        self.phone_send(ms + 10_000 + r * 10, p, "outage retransmission", None);
                    }
                }
                // The NAT lost its mappings: every phone is on a new port and registers again.
                for p in 0..PHONES {
                    self.phones[p].port += 1000;
                    let d = self.rng.range(0, 3000);
                    self.at(ms + 10_000 + d, Action::Register(p));
                }
            }
            Action::Guess => {
                // The guesser: another port of the office address, one guess every 200 ms
                // at extension 201's password, for five minutes.
                let src = SocketAddr::new(self.ip, 40_000);
                let now = self.now(ms);
                self.guesses += 1;
                let stopped = if self.guard.check_packet(now, src, Transport::Udp) == Verdict::Drop
                {
                    true
                } else {
                    let mut info = RequestInfo::new(src, Transport::Udp, "REGISTER");
                    info.user_agent = Some("Z 5.6.4 v2.10.19.9");
                    info.from_user = Some("201");
                    info.to_user = Some("201");
                    info.target_user = Some("201");
                    info.has_credentials = true;
                    self.guard.observe_request(now, &info) == Verdict::Drop
                        || self.guard.check_auth(now, TENANT, "201", src) == AuthCheck::Refuse
                };
                if stopped {
                    self.guesser_stopped_after.get_or_insert(self.failures);
                } else {
                    if self.guesser_stopped_after.is_some() {
                        self.guesser_got_through_after_stop = true;
                    }
                    self.failures += 1;
                    self.guard.auth_failed(now, TENANT, "201", src);
                }
                if self.guesses < 1500 {
                    self.at(ms + 200, Action::Guess);
                }
            }
            Action::Scan => {
                let src = SocketAddr::new(self.ip, 40_001);
                let now = self.now(ms);
                assert_eq!(self.guard.check_packet(now, src, Transport::Udp), Verdict::Allow);
                let mut info = RequestInfo::new(src, Transport::Udp, "OPTIONS");
                info.user_agent = Some("friendly-scanner");
                info.from_display = Some("sipvicious");
                info.from_user = Some("100");
                info.to_user = Some("100");
                self.scanner_dropped =
                    Some(self.guard.observe_request(now, &info) == Verdict::Drop);
            }
            Action::Housekeeping => self.guard.housekeeping(self.now(ms)),
        }
    }
}

#[test]
fn office_phones_keep_working_while_attackers_behind_the_same_nat_are_stopped() {
    let mut office = Office::new(GuardConfig::default());
    office.run();
    eprintln!(
        "phone datagrams {}, guesser stopped after {:?} failures, {} guesses",
        office.phone_datagrams, office.guesser_stopped_after, office.guesses
    );

    assert!(office.phone_datagrams > 20_000, "{} phone datagrams", office.phone_datagrams);
    assert!(
        office.phone_drops.is_empty(),
        "phones hurt: {:?}",
        &office.phone_drops[..office.phone_drops.len().min(10)]
    );

    let stopped_after = office.guesser_stopped_after.expect("the guesser was never stopped");
    assert!(stopped_after <= 5, "the guesser made {stopped_after} failed attempts");
    assert!(!office.guesser_got_through_after_stop);
    assert_eq!(office.failures, stopped_after, "no guess was verified after the block");
    assert_eq!(office.scanner_dropped, Some(true));

    // Events: the guesser's user block and port ban (renewed as they run out), the
    // scanner's address ban; nothing else.
    let ip = office.ip;
    let mut keys = Vec::new();
    while let Some(e) = office.guard.poll_event() {
        if let GuardEvent::BanStarted { key, reason, .. } = e {
            match (&key, reason) {
                (BanKey::User { user, .. }, BanReason::AuthFailures { .. }) => {
                    assert_eq!(user, "201")
                }
                (BanKey::Source { addr }, BanReason::AuthFailures { .. }) => {
                    assert_eq!(addr.port(), 40_000)
                }
                (BanKey::Ip { ip: i }, BanReason::Scanner { .. }) => assert_eq!(*i, ip),
                other => panic!("unexpected ban {other:?}"),
            }
            keys.push(key);
        }
    }
    assert!(keys.contains(&BanKey::Ip { ip }));
    assert!(keys.contains(&BanKey::Source { addr: SocketAddr::new(ip, 40_000) }));
}

/// The same hour with Kamailio pike's budget (16 requests per 2 s per address, and per
/// device) hurts the office: the defaults are not arbitrary.
#[test]
fn pike_sized_budgets_would_hurt_the_office() {
    let config = GuardConfig {
        flood_limit: 16,
        flood_window: Duration::from_secs(2),
        device_limit: 16,
        ..GuardConfig::default()
    };
    let mut office = Office::new(config);
    office.run();
    assert!(office.phone_drops.len() > 100, "{} phone drops", office.phone_drops.len());
}
