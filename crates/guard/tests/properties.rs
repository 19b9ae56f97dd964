//! Property tests: bounded state under random spoofed floods, known devices surviving bans
//! their address earned elsewhere, the escalation ladder, and floods banned within the
//! window.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use ringfence_guard::{AuthCheck, Guard, GuardConfig, GuardEvent, RequestInfo, Transport, Verdict};

#[derive(Debug, Clone)]
enum Op {
    /// `n` datagrams from a (spoofed) source.
    Packet {
        v6: bool,
        addr: u32,
        port: u16,
        n: u8,
    },
    /// A failed authentication.
    Fail {
        addr: u32,
        port: u16,
        user: u8,
    },
    /// An accepted registration.
    Register {
        addr: u32,
        port: u16,
    },
    /// A request without credentials about a user (enumeration, scanner signals).
    Request {
        addr: u32,
        port: u16,
        user: u16,
        scanner: bool,
    },
    /// Virtual time passes.
    Advance {
        ms: u32,
    },
    Housekeeping,
}

fn source(v6: bool, addr: u32, port: u16) -> SocketAddr {
    let ip = if v6 {
        // Spread over /64s and inside them.
        let bits = (0x2001_0db8u128 << 96) | (u128::from(addr % 97) << 64) | u128::from(addr);
        IpAddr::V6(Ipv6Addr::from(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from(addr))
    };
    SocketAddr::new(ip, port)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (any::<bool>(), any::<u32>(), any::<u16>(), 1u8..20)
            .prop_map(|(v6, addr, port, n)| Op::Packet { v6, addr, port, n }),
        3 => (0u32..200, any::<u16>(), any::<u8>()).prop_map(|(addr, port, user)| Op::Fail { addr, port, user }),
        1 => (any::<u32>(), any::<u16>()).prop_map(|(addr, port)| Op::Register { addr, port }),
        2 => (0u32..200, 0u16..4, any::<u16>(), any::<bool>())
            .prop_map(|(addr, port, user, scanner)| Op::Request { addr, port, user, scanner }),
        2 => (0u32..120_000).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Housekeeping),
    ]
}

fn small_config() -> GuardConfig {
    GuardConfig {
        flood_limit: 3,
        flood_window: Duration::from_secs(1),
        prefix_v6_limit: 6,
        prefix_v4_limit: Some(20),
        device_limit: 5,
        max_ips: 64,
        max_prefixes: 32,
        max_auth: 32,
        max_ports_per_ip: 4,
        max_events: 64,
        ..GuardConfig::default()
    }
}

struct Run {
    guard: Guard,
    now: Instant,
}

impl Run {
    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Packet { v6, addr, port, n } => {
                for _ in 0..n {
                    let _ =
                        self.guard.check_packet(self.now, source(v6, addr, port), Transport::Udp);
                }
            }
            Op::Fail { addr, port, user } => {
                let src = source(false, addr, port);
                let user = user.to_string();
                if self.guard.check_auth(self.now, "t.example", &user, src) == AuthCheck::Proceed {
                    self.guard.auth_failed(self.now, "t.example", &user, src);
                }
            }
            Op::Register { addr, port } => {
                self.guard.registration_ok(
                    self.now,
                    source(false, addr, port),
                    None,
                    Duration::from_secs(120),
                );
            }
            Op::Request { addr, port, user, scanner } => {
                let user = user.to_string();
                let mut info =
                    RequestInfo::new(source(false, addr, port), Transport::Udp, "REGISTER");
                info.target_user = Some(&user);
                if scanner {
                    info.user_agent = Some("sipcli/v1.8");
                }
                let _ = self.guard.observe_request(self.now, &info);
            }
            Op::Advance { ms } => self.now += Duration::from_millis(u64::from(ms)),
            Op::Housekeeping => self.guard.housekeeping(self.now),
        }
        while self.guard.poll_event().is_some() {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever is sent, the tables stay within their caps.
    #[test]
    fn state_never_exceeds_the_caps(ops in prop::collection::vec(op(), 1..1500)) {
        let config = small_config();
        let now = Instant::now();
        let mut run = Run { guard: Guard::with_seed(config.clone(), now, 3).unwrap(), now };
        for op in &ops {
            run.apply(op);
            let s = run.guard.stats();
            prop_assert!(s.tracked_ips <= config.max_ips as u64, "{s:?}");
            prop_assert!(s.tracked_prefixes <= config.max_prefixes as u64, "{s:?}");
            prop_assert!(s.tracked_auth <= config.max_auth as u64, "{s:?}");
        }
        let bans = run.guard.list_bans(run.now).len();
        let bound = config.max_ips * (1 + config.max_ports_per_ip) + config.max_prefixes + config.max_auth;
        prop_assert!(bans <= bound, "{bans} bans");
    }

    /// Registered devices keep passing through a spoofed flood that fills every table and
    /// bans thousands of sources.
    #[test]
    fn known_devices_survive_spoofed_floods(
        flood in prop::collection::vec((any::<bool>(), any::<u32>(), any::<u16>(), 1u8..10), 100..3000),
    ) {
        let config = small_config();
        let mut now = Instant::now();
        let guard = Guard::with_seed(config, now, 5).unwrap();
        let phones: Vec<SocketAddr> = (0..4).map(|i| source(false, 0x0a00_0001 + i, 5060)).collect();
        for p in &phones {
            guard.registration_ok(now, *p, None, Duration::from_secs(3600));
        }
        for (i, (v6, addr, port, n)) in flood.iter().enumerate() {
            for _ in 0..*n {
                let _ = guard.check_packet(now, source(*v6, *addr, *port), Transport::Udp);
            }
            if i % 100 == 0 {
                now += Duration::from_secs(1);
                for p in &phones {
                    prop_assert_eq!(guard.check_packet(now, *p, Transport::Udp), Verdict::Allow);
                }
            }
            while guard.poll_event().is_some() {}
        }
        for p in &phones {
            prop_assert!(guard.is_known_device(now, *p));
        }
    }

    /// Whichever way another port of its address offends, a known device keeps passing and
    /// the offender is dropped.
    #[test]
    fn a_known_device_passes_while_another_port_is_punished(
        addr in any::<u32>(),
        device_port in 1024u16..30_000,
        attacker_port in 30_000u16..65_535,
        offence in 0u8..4,
    ) {
        let now = Instant::now();
        let guard = Guard::with_seed(GuardConfig::default(), now, 9).unwrap();
        let device = source(false, addr, device_port);
        let attacker = source(false, addr, attacker_port);
        guard.registration_ok(now, device, None, Duration::from_secs(600));
        match offence {
            0 => while guard.check_packet(now, attacker, Transport::Udp) == Verdict::Allow {},
            1 => for _ in 0..5 {
                guard.auth_failed(now, "t.example", "100", attacker);
            },
            2 => for u in 0..4 {
                guard.auth_failed(now, "t.example", &u.to_string(), attacker);
            },
            _ => {
                let mut info = RequestInfo::new(attacker, Transport::Udp, "OPTIONS");
                info.user_agent = Some("friendly-scanner");
                prop_assert_eq!(guard.observe_request(now, &info), Verdict::Drop);
            }
        }
        let later = now + Duration::from_secs(1);
        prop_assert_eq!(guard.check_packet(later, attacker, Transport::Udp), Verdict::Drop);
        prop_assert_eq!(guard.check_packet(later, device, Transport::Udp), Verdict::Allow);
        prop_assert_eq!(guard.check_auth(later, "t.example", "100", device), AuthCheck::Proceed);
    }

    /// Ban lengths follow the ladder: doubling per offence up to the cap, back to the base
    /// once an offence is older than the memory.
    #[test]
    fn ban_lengths_follow_the_ladder(gaps in prop::collection::vec(0u64..120_000, 1..20)) {
        let config = GuardConfig {
            ban_base: Duration::from_secs(60),
            ban_max: Duration::from_secs(3600),
            offence_memory: Duration::from_secs(86_400),
            ..GuardConfig::default()
        };
        let mut now = Instant::now();
        let guard = Guard::with_seed(config, now, 1).unwrap();
        let src = source(false, 0xc633_6407, 5060);
        let mut expected_offence = 0u32;
        let mut last_end: Option<u64> = None;
        let mut clock = 0u64;
        for gap in gaps {
            while guard.check_packet(now, src, Transport::Udp) == Verdict::Allow {}
            let Some(GuardEvent::BanStarted { duration_secs, offences, .. }) = guard.poll_event() else {
                return Err(TestCaseError::fail("no ban"));
            };
            // The model.
            expected_offence = match last_end {
                Some(end) if clock < end + 86_400 => expected_offence + 1,
                _ => 1,
            };
            let expected = (60u64 << (expected_offence - 1).min(20)).min(3600);
            prop_assert_eq!(offences, expected_offence);
            prop_assert_eq!(duration_secs, expected);
            last_end = Some(clock + duration_secs);
            // Wait out the ban and then `gap` more seconds.
            clock += duration_secs + gap;
            now += Duration::from_secs(duration_secs + gap);
        }
    }

    /// A flood from one source at any rate from 600 to 20 000 requests per second is
    /// banned within the first flood window.
    #[test]
    fn floods_are_banned_within_the_window(rate in 600u64..20_000) {
        let start = Instant::now();
        let guard = Guard::with_seed(GuardConfig::default(), start, 2).unwrap();
        let src = source(false, 0xcb00_7163, 5060);
        let interval = Duration::from_nanos(1_000_000_000 / rate);
        let mut now = start;
        let mut banned_at = None;
        for _ in 0..rate * 10 {
            if guard.check_packet(now, src, Transport::Udp) == Verdict::Drop {
                banned_at = Some(now - start);
                break;
            }
            now += interval;
        }
        let at = banned_at.expect("never banned");
        prop_assert!(at < Duration::from_secs(10), "banned after {at:?}");
        // And at 600/s it takes under 5 s: 500 / (600 - 50).
        prop_assert!(at <= Duration::from_millis(500_000 / (rate - 50) + 1), "banned after {at:?}");
    }
}
