//! Guard micro-benchmarks: the per-packet check on the allow path, the drop path for a
//! banned source, a known device behind a banned address, IPv6 (two tables), and a request
//! observation. Tables are pre-filled with 10 000 and 100 000 tracked addresses.
//! Run with `cargo bench -p ringfence-guard`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ringfence_guard::{Guard, GuardConfig, RequestInfo, Transport, Verdict};

/// The `i`-th tracked IPv4 source (10.x.y.z).
fn v4(i: u32) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)), 5060)
}

/// The `i`-th tracked IPv6 source, each in its own /64.
fn v6(i: u32) -> SocketAddr {
    let bits = (0x2001_0db8u128 << 96) | (u128::from(i) << 64) | 1;
    SocketAddr::new(IpAddr::V6(Ipv6Addr::from(bits)), 5060)
}

fn guard(tracked: usize, t0: Instant) -> Guard {
    let config =
        GuardConfig { max_ips: tracked * 2, max_prefixes: tracked * 2, ..Default::default() };
    Guard::with_seed(config, t0, 42).unwrap()
}

fn benches(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut g = c.benchmark_group("guard");
    for tracked in [10_000u32, 100_000] {
        let guard4 = guard(tracked as usize, t0);
        for i in 0..tracked {
            let _ = guard4.check_packet(t0, v4(i), Transport::Udp);
        }
        // Round-robin over all tracked sources with virtual time advancing 100 µs per
        // packet: each source sends one packet per tracked/10 000 seconds, far below its
        // flood limit, so every call takes the allow path (meter increment).
        let mut i = 0u32;
        let mut now = t0;
        g.bench_function(format!("allow_v4_{tracked}_tracked"), |b| {
            b.iter(|| {
                i = (i + 1) % tracked;
                now += Duration::from_micros(100);
                let v = guard4.check_packet(now, black_box(v4(i)), Transport::Udp);
                debug_assert_eq!(v, Verdict::Allow);
                v
            })
        });

        // One busy source at 40 packets/s (under its 50/s refill): the same path with the
        // entry in cache.
        let busy = v4(tracked / 2);
        let mut now1 = now;
        g.bench_function(format!("allow_v4_one_source_{tracked}_tracked"), |b| {
            b.iter(|| {
                now1 += Duration::from_millis(25);
                guard4.check_packet(now1, black_box(busy), Transport::Udp)
            })
        });
        let now = now1;

        // A flooding source, banned: every further packet takes the drop path.
        let attacker = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 66)), 40000);
        let t1 = now;
        while guard4.check_packet(t1, attacker, Transport::Udp) == Verdict::Allow {}
        g.bench_function(format!("drop_banned_v4_{tracked}_tracked"), |b| {
            b.iter(|| guard4.check_packet(t1, black_box(attacker), Transport::Udp))
        });
        g.bench_function(format!("drop_banned_v4_with_instant_now_{tracked}_tracked"), |b| {
            b.iter(|| {
                guard4.check_packet(Instant::now().max(t1), black_box(attacker), Transport::Udp)
            })
        });

        // A known device behind the banned address.
        let phone = SocketAddr::new(attacker.ip(), 5062);
        guard4.registration_ok(t1, phone, None, Duration::from_secs(3600));
        let mut now = t1;
        g.bench_function(format!("known_device_behind_ban_{tracked}_tracked"), |b| {
            b.iter(|| {
                now += Duration::from_millis(100);
                guard4.check_packet(now, black_box(phone), Transport::Udp)
            })
        });

        // Two threads dropping the same banned source (one shard lock, contended).
        g.bench_function(format!("drop_banned_v4_2_threads_{tracked}_tracked"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..2 {
                        s.spawn(|| {
                            for _ in 0..iters / 2 {
                                let _ = black_box(guard4.check_packet(
                                    t1,
                                    black_box(attacker),
                                    Transport::Udp,
                                ));
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });

        let guard6 = guard(tracked as usize, t0);
        for i in 0..tracked {
            let _ = guard6.check_packet(t0, v6(i), Transport::Udp);
        }
        let mut i = 0u32;
        let mut now = t0;
        g.bench_function(format!("allow_v6_{tracked}_tracked"), |b| {
            b.iter(|| {
                i = (i + 1) % tracked;
                now += Duration::from_micros(100);
                guard6.check_packet(now, black_box(v6(i)), Transport::Udp)
            })
        });
    }

    // A spoofed flood: every packet from a source never seen before, into a full table
    // (each insert evicts).
    let full =
        Guard::with_seed(GuardConfig { max_ips: 100_000, ..Default::default() }, t0, 42).unwrap();
    for i in 0..100_000 {
        let _ = full.check_packet(t0, v4(i), Transport::Udp);
    }
    let mut next = 100_000u32;
    let t2 = t0 + Duration::from_secs(1);
    g.bench_function("spoofed_new_source_full_table_100000", |b| {
        b.iter(|| {
            next = next.wrapping_add(1);
            full.check_packet(t2, black_box(v4(next)), Transport::Udp)
        })
    });

    // Housekeeping over a full table of 100 000 addresses (nothing to remove).
    let t3 = t2 + Duration::from_secs(1);
    g.bench_function("housekeeping_100000", |b| b.iter(|| full.housekeeping(black_box(t3))));

    // A REGISTER without credentials from an unknown source, with a real User-Agent.
    let guard = guard(10_000, t0);
    let mut now = t0;
    let mut i = 0u32;
    g.bench_function("observe_register", |b| {
        b.iter(|| {
            i = (i + 1) % 10_000;
            now += Duration::from_micros(100);
            let mut info = RequestInfo::new(v4(i), Transport::Udp, "REGISTER");
            info.user_agent = Some("Yealink SIP-T46S 66.86.0.15");
            info.from_user = Some("201");
            info.to_user = Some("201");
            info.target_user = Some("201");
            guard.observe_request(now, black_box(&info))
        })
    });
    g.finish();
}

criterion_group!(guard_benches, benches);
criterion_main!(guard_benches);
