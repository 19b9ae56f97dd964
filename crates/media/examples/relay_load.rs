//! Load generator for the media relay (see bench/media/README.md): relays RTP between
//! fake devices on 127.0.0.1 through Ringfence's relay (in-process, on one dedicated
//! thread) or through rtpengine (driven over its ng control protocol), and reports
//! packets relayed per second and the relay's CPU time.
//!
//! ```text
//! relay_load [--target ringfence|rtpengine] [--ng 127.0.0.1:2223] [--rtpengine-pid PID]
//!            [--mode plain|srtp80|gcm] [--calls N] [--pps P] [--secs S] [--flood]
//! ```
//! `--flood`: every call sends A->B as fast as the generator can (throughput per core);
//! otherwise every call sends `--pps` packets per second each way (cost per call).
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ring::rand::SystemRandom;
use ringfence_media::srtp::{MasterKey, SrtpContext, SrtpSuite};
use ringfence_media::{LegSetup, MediaConfig, MediaEngine, Side};
use ringfence_sdp::{Crypto, Sdp};

struct Args {
    target: String,
    ng: String,
    pid: Option<u32>,
    suite: Option<SrtpSuite>,
    calls: usize,
    pps: u32,
    secs: u64,
    flood: bool,
}

fn args() -> Args {
    let mut a = Args {
        target: "ringfence".into(),
        ng: "127.0.0.1:2223".into(),
        pid: None,
        suite: None,
        calls: 200,
        pps: 50,
        secs: 20,
        flood: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().expect("value after flag");
        match k.as_str() {
            "--target" => a.target = v(),
            "--ng" => a.ng = v(),
            "--rtpengine-pid" => a.pid = Some(v().parse().expect("pid")),
            "--mode" => {
                a.suite = match v().as_str() {
                    "plain" => None,
                    "srtp80" => Some(SrtpSuite::AesCm128HmacSha1_80),
                    "gcm" => Some(SrtpSuite::AeadAes256Gcm),
                    m => panic!("unknown mode {m}"),
                }
            }
            "--calls" => a.calls = v().parse().expect("calls"),
            "--pps" => a.pps = v().parse().expect("pps"),
            "--secs" => a.secs = v().parse().expect("secs"),
            "--flood" => a.flood = true,
            _ => panic!("unknown argument {k}"),
        }
    }
    a
}

/// A fake device: its socket, where it sends, its sending context and the context
/// that opens what it receives.
struct Device {
    sock: UdpSocket,
    relay: SocketAddr,
    tx: Option<SrtpContext>,
    rx: Option<SrtpContext>,
    seq: u16,
    ssrc: u32,
}

impl Device {
    fn send(&mut self, buf: &mut Vec<u8>) {
        buf.clear();
        buf.extend_from_slice(&[0x80, 0]);
        buf.extend_from_slice(&self.seq.to_be_bytes());
        buf.extend_from_slice(&(u32::from(self.seq) * 160).to_be_bytes());
        buf.extend_from_slice(&self.ssrc.to_be_bytes());
        buf.resize(12 + 160, 0xd5);
        self.seq = self.seq.wrapping_add(1);
        if let Some(tx) = &mut self.tx {
            tx.protect_rtp(buf).expect("protect");
        }
        let _ = self.sock.send_to(buf, self.relay);
    }

    /// Reads what is waiting; returns (received, opened fine).
    fn drain(&mut self, buf: &mut Vec<u8>, open: bool) -> (u64, u64) {
        let (mut n, mut ok) = (0, 0);
        loop {
            buf.resize(2048, 0);
            match self.sock.recv(buf) {
                Ok(len) => {
                    n += 1;
                    buf.truncate(len);
                    match (&mut self.rx, open) {
                        (Some(rx), true) => ok += u64::from(rx.unprotect_rtp(buf).is_ok()),
                        _ => ok += u64::from(buf.len() == 172),
                    }
                }
                Err(_) => return (n, ok),
            }
        }
    }
}

fn device() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_nonblocking(true).expect("nonblocking");
    s
}

fn key(suite: Option<SrtpSuite>, rng: &SystemRandom) -> Option<MasterKey> {
    suite.map(|s| MasterKey::generate(s, rng).expect("random"))
}

fn ctx(k: &Option<MasterKey>) -> Option<SrtpContext> {
    k.as_ref().map(|k| SrtpContext::new(k).expect("context"))
}

/// CPU time (ns) of a thread, from /proc/<pid>/task/<tid>/schedstat.
fn thread_cpu(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// CPU time (ns) of every thread of `pid`.
fn process_cpu(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    dir.filter_map(Result::ok)
        .map(|e| thread_cpu(&format!("{}/schedstat", e.path().display())))
        .sum()
}

/// Starts Ringfence's relay on its own thread (a current-thread runtime: one core);
/// returns the devices' pairs, the schedstat path of the relay thread and a stopper.
fn ringfence(a: &Args, rng: &SystemRandom) -> (Vec<(Device, Device)>, String, mpsc::Sender<()>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let calls = a.calls;
    let mut plan = Vec::new();
    for _ in 0..calls {
        let (da, db) = (device(), device());
        // Keys: A's, ours for A, B's, ours for B.
        let keys = [key(a.suite, rng), key(a.suite, rng), key(a.suite, rng), key(a.suite, rng)];
        plan.push((da, db, keys));
    }
    let setups: Vec<(LegSetup, LegSetup)> = plan
        .iter()
        .map(|(da, db, k)| {
            let leg =
                |s: &UdpSocket, recv: &Option<MasterKey>, send: &Option<MasterKey>| LegSetup {
                    rtp: Some(s.local_addr().expect("addr")),
                    recv_key: recv.clone(),
                    send_key: send.clone(),
                    ..LegSetup::default()
                };
            (leg(da, &k[0], &k[1]), leg(db, &k[2], &k[3]))
        })
        .collect();
    std::thread::spawn(move || {
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let cfg = MediaConfig {
                bind_ip: "127.0.0.1".parse().expect("ip"),
                port_min: 44000,
                port_max: 44000 + 8 * u16::try_from(calls).expect("calls") + 64,
                ..MediaConfig::default()
            };
            let (engine, _events) = MediaEngine::new(cfg).expect("engine");
            let mut sessions = Vec::new();
            let mut addrs = Vec::new();
            for (i, (sa, sb)) in setups.into_iter().enumerate() {
                let s = engine.allocate(i as u64).expect("allocate");
                s.configure(Side::A, sa);
                s.configure(Side::B, sb);
                addrs.push((s.local(Side::A), s.local(Side::B)));
                sessions.push(s);
            }
            let path = format!(
                "/proc/self/task/{}/schedstat",
                std::fs::read_link("/proc/thread-self")
                    .ok()
                    .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
                    .expect("thread id")
            );
            let path = path.replace("/proc/self/", &format!("/proc/{}/", std::process::id()));
            ready_tx.send((addrs, path)).expect("ready");
            tokio::task::spawn_blocking(move || stop_rx.recv()).await.ok();
            let total: u64 =
                sessions.iter().map(|s| s.counters().packets.iter().sum::<u64>()).sum();
            println!("relay counters: {total} packets relayed");
            engine.shutdown().await;
        });
    });
    let (addrs, path) = ready_rx.recv().expect("relay started");
    let devices = plan
        .into_iter()
        .zip(addrs)
        .enumerate()
        .map(|(i, ((da, db, k), (ra, rb)))| {
            let a_dev = Device {
                sock: da,
                relay: ra,
                tx: ctx(&k[0]),
                rx: ctx(&k[1]),
                seq: 1,
                ssrc: 2 * i as u32 + 1,
            };
            let b_dev = Device {
                sock: db,
                relay: rb,
                tx: ctx(&k[2]),
                rx: ctx(&k[3]),
                seq: 1,
                ssrc: 2 * i as u32 + 2,
            };
            (a_dev, b_dev)
        })
        .collect();
    (devices, path, stop_tx)
}

// --- rtpengine over the ng protocol (bencode over UDP) ---

fn bstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(format!("{}:", s.len()).as_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn ng(sock: &UdpSocket, cookie: &str, pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut msg = format!("{cookie} d").into_bytes();
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in sorted {
        bstr(&mut msg, k);
        bstr(&mut msg, v);
    }
    msg.push(b'e');
    sock.send(&msg).expect("ng send");
    let mut buf = vec![0u8; 65536];
    let n = sock.recv(&mut buf).expect("ng reply");
    let text = &buf[..n];
    let start = text.iter().position(|b| *b == b' ').expect("cookie") + 1;
    parse_dict(&text[start..])
}

/// The top-level string values of a bencoded dictionary (enough for `result`, `sdp`).
fn parse_dict(b: &[u8]) -> HashMap<String, String> {
    fn item(b: &[u8], i: &mut usize) -> Option<String> {
        match b.get(*i)? {
            b'i' => {
                let end = b[*i..].iter().position(|c| *c == b'e')? + *i;
                let v = String::from_utf8_lossy(&b[*i + 1..end]).into_owned();
                *i = end + 1;
                Some(v)
            }
            b'l' | b'd' => {
                *i += 1;
                while *b.get(*i)? != b'e' {
                    item(b, i)?;
                }
                *i += 1;
                Some(String::new())
            }
            _ => {
                let colon = b[*i..].iter().position(|c| *c == b':')? + *i;
                let len: usize = std::str::from_utf8(&b[*i..colon]).ok()?.parse().ok()?;
                let v = String::from_utf8_lossy(&b[colon + 1..colon + 1 + len]).into_owned();
                *i = colon + 1 + len;
                Some(v)
            }
        }
    }
    let mut out = HashMap::new();
    let mut i = 1;
    while b.get(i).is_some_and(|c| *c != b'e') {
        let (Some(k), Some(v)) = (item(b, &mut i), item(b, &mut i)) else { break };
        out.insert(k, v);
    }
    out
}

fn device_sdp(sock: &UdpSocket, crypto: Option<&Crypto>) -> String {
    let port = sock.local_addr().expect("addr").port();
    let proto = if crypto.is_some() { "RTP/SAVP" } else { "RTP/AVP" };
    let mut s = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} {proto} 0\r\na=sendrecv\r\n"
    );
    if let Some(c) = crypto {
        s.push_str(&format!("a=crypto:{c}\r\n"));
    }
    s
}

/// The relay's address in `sdp`, and a crypto line of it (not carrying `avoid`'s key):
/// of suite `prefer` if there is one, else the first usable one.
fn relay_side(
    sdp: &str,
    avoid: Option<&MasterKey>,
    prefer: SrtpSuite,
) -> (SocketAddr, Option<(u32, MasterKey)>) {
    let sdp = Sdp::parse(sdp.as_bytes()).expect("rtpengine SDP");
    let ip = sdp.media_connection(0).and_then(|c| c.ip()).expect("c=");
    let keys: Vec<(u32, MasterKey)> = sdp.media[0]
        .cryptos()
        .into_iter()
        .filter_map(|c| {
            let suite = SrtpSuite::from_sdp(&c.suite)?;
            let k = MasterKey::from_bytes(suite, &c.inline_key()?.key_salt()).ok()?;
            Some((c.tag, k))
        })
        .filter(|(_, k)| avoid.is_none_or(|a| a.key_salt() != k.key_salt()))
        .collect();
    let pick = keys.iter().position(|(_, k)| k.suite() == prefer).unwrap_or(0);
    let key = (!keys.is_empty()).then(|| keys.into_iter().nth(pick).expect("index"));
    (SocketAddr::new(ip, sdp.media[0].line.port), key)
}

fn rtpengine(a: &Args, rng: &SystemRandom) -> Vec<(Device, Device)> {
    let ctl = UdpSocket::bind("127.0.0.1:0").expect("bind");
    ctl.connect(&a.ng).expect("ng address");
    ctl.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut out = Vec::new();
    for i in 0..a.calls {
        let (da, db) = (device(), device());
        let ka = key(a.suite, rng);
        let ca = ka.as_ref().map(|k| Crypto::inline(1, k.suite().to_sdp(), k.key_salt()));
        let call_id = format!("bench-{i}-{}", std::process::id());
        let offer = ng(
            &ctl,
            &format!("o{i}-{}", std::process::id()),
            &[
                ("command", "offer"),
                ("call-id", &call_id),
                ("from-tag", "a"),
                ("sdp", &device_sdp(&da, ca.as_ref())),
            ],
        );
        assert_eq!(offer.get("result").map(String::as_str), Some("ok"), "offer: {offer:?}");
        // rtpengine offers B A's own crypto line (SDES pass-through: no SRTP work, and
        // A's key reaches B) beside lines with its own keys. B skips A's line and picks
        // rtpengine's AES_CM_128_HMAC_SHA1_32 (AES_CM_128_HMAC_SHA1_80 on SRTCP), so
        // rtpengine decrypts and re-encrypts every packet like Ringfence does; in GCM
        // mode it picks rtpengine's AEAD_AES_256_GCM line.
        let prefer = match a.suite {
            Some(SrtpSuite::AeadAes256Gcm) => SrtpSuite::AeadAes256Gcm,
            _ => SrtpSuite::AesCm128HmacSha1_32,
        };
        let (rb, offered) = relay_side(&offer["sdp"], ka.as_ref(), prefer);
        let kb =
            offered.as_ref().map(|(_, k)| MasterKey::generate(k.suite(), rng).expect("random"));
        if let (Some((_, theirs)), Some(ka)) = (&offered, &ka) {
            assert_ne!(theirs.key_salt(), ka.key_salt(), "rtpengine passed A's key through");
        }
        let cb = offered
            .as_ref()
            .zip(kb.as_ref())
            .map(|((tag, _), k)| Crypto::inline(*tag, k.suite().to_sdp(), k.key_salt()));
        let answer = ng(
            &ctl,
            &format!("a{i}-{}", std::process::id()),
            &[
                ("command", "answer"),
                ("call-id", &call_id),
                ("from-tag", "a"),
                ("to-tag", "b"),
                ("sdp", &device_sdp(&db, cb.as_ref())),
            ],
        );
        assert_eq!(answer.get("result").map(String::as_str), Some("ok"), "answer: {answer:?}");
        let (ra, for_a) = relay_side(&answer["sdp"], None, prefer);
        let a_dev = Device {
            sock: da,
            relay: ra,
            tx: ctx(&ka),
            rx: ctx(&for_a.map(|(_, k)| k)),
            seq: 1,
            ssrc: 2 * i as u32 + 1,
        };
        let b_dev = Device {
            sock: db,
            relay: rb,
            tx: ctx(&kb),
            rx: ctx(&offered.map(|(_, k)| k)),
            seq: 1,
            ssrc: 2 * i as u32 + 2,
        };
        out.push((a_dev, b_dev));
    }
    out
}

/// Reads the CPU time (in clock ticks) the measured relay has used so far.
type CpuReader = Box<dyn Fn() -> u64>;

fn main() {
    let a = args();
    let rng = SystemRandom::new();
    let (mut devices, cpu): (Vec<(Device, Device)>, CpuReader) = match a.target.as_str() {
        "ringfence" => {
            let (d, path, stop) = ringfence(&a, &rng);
            std::mem::forget(stop);
            (d, Box::new(move || thread_cpu(&path)))
        }
        "rtpengine" => {
            let pid = a.pid.expect("--rtpengine-pid");
            (rtpengine(&a, &rng), Box::new(move || process_cpu(pid)))
        }
        t => panic!("unknown target {t}"),
    };
    // Latch both legs before measuring.
    let mut buf = Vec::with_capacity(2048);
    for (da, db) in &mut devices {
        da.send(&mut buf);
        db.send(&mut buf);
    }
    std::thread::sleep(Duration::from_millis(300));
    for (da, db) in &mut devices {
        da.drain(&mut buf, true);
        db.drain(&mut buf, true);
    }
    let cpu0 = cpu();
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(a.secs);
    let (mut sent, mut received, mut opened) = (0u64, 0u64, 0u64);
    if a.flood {
        while Instant::now() < end {
            for (da, db) in &mut devices {
                for _ in 0..16 {
                    da.send(&mut buf);
                }
                sent += 16;
                let (n, ok) = db.drain(&mut buf, false);
                received += n;
                opened += ok;
            }
        }
    } else {
        let period = Duration::from_secs(1) / a.pps;
        let mut next = t0;
        while Instant::now() < end {
            for (da, db) in &mut devices {
                da.send(&mut buf);
                db.send(&mut buf);
                sent += 2;
            }
            next += period;
            for (da, db) in &mut devices {
                for d in [da, db] {
                    let (n, ok) = d.drain(&mut buf, true);
                    received += n;
                    opened += ok;
                }
            }
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    for (da, db) in &mut devices {
        for d in [da, db] {
            let (n, ok) = d.drain(&mut buf, !a.flood);
            received += n;
            opened += ok;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu_s = (cpu() - cpu0) as f64 / 1e9;
    let mode = a.suite.map_or("plain".to_owned(), |s| format!("{s:?}"));
    println!(
        "target={} mode={mode} calls={} {}: sent {sent}, received {received} ({} verified), {:.1} s",
        a.target,
        a.calls,
        if a.flood { "flood".to_owned() } else { format!("{} pps each way", a.pps) },
        opened,
        secs
    );
    println!(
        "relayed {:.0} packets/s; relay CPU {:.2} s = {:.1}% of one core; {:.0} packets per CPU-second; {:.3}% of a core per call",
        received as f64 / secs,
        cpu_s,
        100.0 * cpu_s / secs,
        received as f64 / cpu_s.max(1e-9),
        100.0 * cpu_s / secs / a.calls as f64,
    );
}
