//! Real audio through the relay: two softphones (Debian `baresip`) register over TLS to a
//! tenant that requires encryption and call each other through Ringfence with mandatory
//! SRTP, media anchored at the relay (SRTP terminated per leg). Each plays its own tone
//! from a WAV file and records what it receives; the recordings must carry the other
//! side's tone. A tshark capture on loopback during the call must show no clear RTP on
//! either leg.

use crate::b2bua_support;
use crate::common;
use crate::media_support;
use crate::phone_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use b2bua_support::DOMAIN;
use common::require_binary;
use common::test_config;
use common::tools::eventually;
use media_support::{MediaEnv, assert_tone, media_config, read_wav, tonality};
use phone_support::{Phone, PhoneConfig};
use ringfence_media::g711::ulaw_to_linear;
use ringfence_server::config::DigestAlgorithm;
use ringfence_store::{Disposition, EncryptionRequirement};

const CALLER_TONE: f64 = 440.0;
const CALLEE_TONE: f64 = 1000.0;
/// Relay ports; the phones use the ranges above it, so one capture filter covers all.
const RELAY_BASE: u16 = 43_000;

/// tshark capturing UDP on loopback in a port range, to a file.
struct Capture {
    child: Child,
    file: PathBuf,
    log: PathBuf,
}

impl Capture {
    async fn start(dir: &Path, low: u16, high: u16) -> Capture {
        let file = dir.join("media.pcapng");
        let log = dir.join("tshark.log");
        let child = Command::new("tshark")
            .args(["-i", "lo", "-q", "-f", &format!("udp portrange {low}-{high}"), "-w"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start tshark");
        let l = log.clone();
        let ready = eventually(Duration::from_secs(20), || {
            std::fs::read_to_string(&l).unwrap_or_default().contains("Capturing on")
        })
        .await;
        assert!(
            ready,
            "tshark did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Capture { child, file, log }
    }

    /// Stops the capture (SIGINT, so the file is complete) and returns its path.
    async fn stop(mut self) -> PathBuf {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        for _ in 0..100 {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        assert!(
            self.file.exists(),
            "no capture file: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        self.file.clone()
    }
}

/// Every RTP packet to or from the relay's ports `relay` in `file`, decoded by tshark as
/// RTP: (source port, destination port, payload type, payload).
fn rtp_packets(file: &Path, relay: [SocketAddr; 2]) -> Vec<(u16, u16, u8, Vec<u8>)> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file);
    for a in relay {
        cmd.args(["-d", &format!("udp.port=={},rtp", a.port())]);
    }
    let out = cmd
        .args(["-Y", "rtp", "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport"])
        .args(["-e", "rtp.p_type", "-e", "rtp.payload"])
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark -r: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let hex: String = f.get(3)?.chars().filter(char::is_ascii_hexdigit).collect();
            let payload = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            Some((f[0].parse().ok()?, f[1].parse().ok()?, f[2].parse().ok()?, payload))
        })
        .collect()
}

#[tokio::test]
async fn srtp_call_through_the_relay_carries_both_tones_and_nothing_in_clear() {
    require_binary("baresip", "baresip-core");
    require_binary("tshark", "tshark");
    // baresip 1.0 answers only an MD5-only challenge (see calls_baresip.rs).
    let mut server_config = test_config();
    server_config.auth.algorithms = vec![DigestAlgorithm::Md5];
    let media = media_config(RELAY_BASE, Duration::from_secs(60));
    let m = MediaEnv::start(EncryptionRequirement::Required, media, server_config, &["100", "101"])
        .await;
    let c = &m.calls;
    let tmp = tempfile::tempdir().unwrap();
    let cert = tmp.path().join("server.pem");
    std::fs::write(&cert, &c.server.cert_pem).unwrap();
    let tls = c.server.tls.port();
    let capture = Capture::start(tmp.path(), RELAY_BASE, RELAY_BASE + 499).await;

    // The callee (1000 Hz) registers over TLS and answers automatically.
    let phone = |ext, rtp, tone, extra| PhoneConfig {
        ext,
        tls_port: tls,
        cert: &cert,
        rtp,
        tone,
        record: true,
        extra,
    };
    let mut callee =
        Phone::start(tmp.path(), &phone("101", RELAY_BASE + 200, CALLEE_TONE, &["-t", "25"]));
    let registrar = c.server.service().registrar().clone();
    let (tenant, ext) = (c.tenant.id, c.extensions["101"]);
    let registered =
        eventually(Duration::from_secs(15), || !registrar.locate(tenant, ext).is_empty()).await;
    assert!(registered, "baresip 101 did not register:\n{}", callee.log());

    // The caller (440 Hz) dials and hangs up when it quits.
    let dial = format!("/dial sip:101@{DOMAIN}");
    let mut caller = Phone::start(
        tmp.path(),
        &phone("100", RELAY_BASE + 300, CALLER_TONE, &["-e", &dial, "-t", "12"]),
    );
    let b = c.b2bua.clone();
    let answered = eventually(Duration::from_secs(15), || b.stats().answered == 1).await;
    assert!(answered, "not answered:\ncaller:\n{}\ncallee:\n{}", caller.log(), callee.log());
    let relay = m.relay_addresses().await;
    let engine = m.anchor.engine().clone();
    let flowing = eventually(Duration::from_secs(15), || {
        (1..64).filter_map(|k| engine.counters(k)).any(|n| n.packets[0] > 100 && n.packets[1] > 100)
    })
    .await;
    let caller_log = caller.wait(Duration::from_secs(30)).await;
    assert!(flowing, "media did not flow both ways through the relay:\n{caller_log}");
    assert!(caller_log.contains("SRTP is Enabled"), "caller leg SRTP:\n{caller_log}");
    let callee_log = callee.wait(Duration::from_secs(30)).await;
    assert!(callee_log.contains("SRTP is Enabled"), "callee leg SRTP:\n{callee_log}");

    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered, "{r:#?}");
    assert!(r.call.encrypted);
    assert_eq!(m.anchor.engine().stats().calls, 0, "the call's media state is released");
    let file = capture.stop().await;

    // Each side heard the other's tone.
    let heard_by_callee = callee.received().expect("callee recording");
    let (s, rate) = read_wav(&heard_by_callee);
    assert_tone(&s, rate, CALLER_TONE, CALLEE_TONE, "callee heard the caller");
    let heard_by_caller = caller.received().expect("caller recording");
    let (s, rate) = read_wav(&heard_by_caller);
    assert_tone(&s, rate, CALLEE_TONE, CALLER_TONE, "caller heard the callee");

    // On the wire: the four flows (each phone to the relay and back) are SRTP: a PCMU
    // frame (160 bytes) plus the 80-bit tag, and no packet's payload decodes to either
    // tone, as clear G.711 of these tones would.
    let packets = rtp_packets(&file, relay);
    let relay_ports = [relay[0].port(), relay[1].port()];
    let mut flows: HashMap<(u16, u16), usize> = HashMap::new();
    let mut tonal = 0;
    for (src, dst, pt, payload) in &packets {
        if !relay_ports.contains(src) && !relay_ports.contains(dst) {
            continue;
        }
        *flows.entry((*src, *dst)).or_default() += 1;
        assert_eq!(*pt, 0, "PCMU");
        assert_eq!(payload.len(), 170, "{src}->{dst}: not SRTP (PCMU + 10-byte tag)");
        let pcm: Vec<i16> = payload[..160].iter().map(|&b| ulaw_to_linear(b)).collect();
        if [CALLER_TONE, CALLEE_TONE].iter().any(|&f| tonality(&pcm, f, 8000) > 0.1) {
            tonal += 1;
        }
    }
    let busy = flows.values().filter(|&&n| n >= 100).count();
    assert_eq!(busy, 4, "four SRTP flows of 100+ packets through the relay: {flows:?}");
    assert_eq!(tonal, 0, "{tonal} of {} packets carry a tone in clear", packets.len());
    m.calls.assert_clean();
    m.stop().await;
}

/// The last `secs` seconds of `samples` before its final half second.
fn tail(samples: &[i16], rate: u32, secs: f64) -> &[i16] {
    let end = samples.len().saturating_sub(rate as usize / 2);
    let start = end.saturating_sub((secs * f64::from(rate)) as usize);
    &samples[start..end]
}

/// The call (relay session id) with media, and its counters.
fn session(engine: &ringfence_media::MediaEngine) -> Option<(u64, ringfence_media::Counters)> {
    (1..64).find_map(|k| engine.counters(k).map(|c| (k, c)))
}

#[tokio::test]
async fn blind_transfer_by_a_baresip_phone_connects_the_caller_to_the_target_through_the_relay() {
    require_binary("baresip", "baresip-core");
    const TARGET_TONE: f64 = 1500.0;
    const BASE: u16 = 44_000;
    let mut server_config = test_config();
    server_config.auth.algorithms = vec![DigestAlgorithm::Md5];
    let media = media_config(BASE, Duration::from_secs(60));
    let m = MediaEnv::start(
        EncryptionRequirement::Required,
        media,
        server_config,
        &["100", "101", "102"],
    )
    .await;
    let c = &m.calls;
    let tmp = tempfile::tempdir().unwrap();
    let cert = tmp.path().join("server.pem");
    std::fs::write(&cert, &c.server.cert_pem).unwrap();
    let tls = c.server.tls.port();
    let phone = |ext, rtp, tone, extra| PhoneConfig {
        ext,
        tls_port: tls,
        cert: &cert,
        rtp,
        tone,
        record: true,
        extra,
    };
    let registrar = c.server.service().registrar().clone();
    let registered = |ext: &str| {
        let (r, t, e) = (registrar.clone(), c.tenant.id, c.extensions[ext]);
        eventually(Duration::from_secs(15), move || !r.locate(t, e).is_empty())
    };

    // B (101, 1000 Hz) and C (102, 1500 Hz) register over TLS and answer automatically.
    let mut b = Phone::start(tmp.path(), &phone("101", BASE + 200, CALLEE_TONE, &["-t", "60"]));
    assert!(registered("101").await, "baresip 101 did not register:\n{}", b.log());
    let mut target =
        Phone::start(tmp.path(), &phone("102", BASE + 300, TARGET_TONE, &["-t", "60"]));
    assert!(registered("102").await, "baresip 102 did not register:\n{}", target.log());

    // A (100, 440 Hz) calls B; media flows both ways through the relay.
    let dial = format!("/dial sip:101@{DOMAIN}");
    let mut a = Phone::start(
        tmp.path(),
        &phone("100", BASE + 400, CALLER_TONE, &["-e", &dial, "-t", "60"]),
    );
    let bh = c.b2bua.clone();
    let answered = eventually(Duration::from_secs(15), || bh.stats().answered == 1).await;
    assert!(answered, "not answered:\nA:\n{}\nB:\n{}", a.log(), b.log());
    let engine = m.anchor.engine().clone();
    let flowing = eventually(Duration::from_secs(15), || {
        session(&engine).is_some_and(|(_, n)| n.packets[0] > 50 && n.packets[1] > 50)
    })
    .await;
    assert!(flowing, "media A<->B did not flow:\nA:\n{}\nB:\n{}", a.log(), b.log());

    // B blind-transfers A to C (REFER from baresip's own /transfer command).
    b.command("/transfer sip:102@calls.test");
    let t_log = target.dir.join("log.txt");
    let established = eventually(Duration::from_secs(20), || {
        std::fs::read_to_string(&t_log).unwrap_or_default().contains("Call established")
    })
    .await;
    assert!(
        established,
        "C was not connected:\nA:\n{}\nB:\n{}\nC:\n{}",
        a.log(),
        b.log(),
        target.log()
    );
    // B is out of the call (the B2BUA hung up its leg after the final NOTIFY).
    let b_log = b.dir.join("log.txt");
    let b_left = eventually(Duration::from_secs(10), || {
        std::fs::read_to_string(&b_log).unwrap_or_default().contains("terminated (duration")
    })
    .await;
    assert!(b_left, "B still in the call:\n{}", b.log());
    let b_log = b.wait(Duration::from_millis(100)).await;

    // Media A<->C flows through the same relay session from now on: both directions grow
    // by 3 s of packets after B left.
    let (call, before) = session(&engine).expect("the call's media session");
    let grew = eventually(Duration::from_secs(15), || {
        engine.counters(call).is_some_and(|n| {
            n.packets[0] > before.packets[0] + 150 && n.packets[1] > before.packets[1] + 150
        })
    })
    .await;
    let after = engine.counters(call).unwrap_or_default();
    assert!(grew, "media A<->C did not flow through the relay: {before:?} -> {after:?}");
    // At most a packet or two at the switch (sent with the keys of the leg before the
    // re-INVITE) fail authentication.
    assert!(after.srtp_auth_failures <= 5, "{after:?}");

    // A hangs up; the call ends everywhere.
    a.command("/hangup");
    let bh = c.b2bua.clone();
    assert!(eventually(Duration::from_secs(15), || bh.stats().calls == 0).await);
    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered, "{r:#?}");
    assert_eq!((r.call.caller.as_str(), r.call.callee.as_str()), ("100", "102"), "{r:#?}");
    assert!(r.call.encrypted);

    // What each heard: C heard A's tone; A heard C's tone at the end of its recording.
    let a_log = a.wait(Duration::from_secs(2)).await;
    let c_log = target.wait(Duration::from_secs(2)).await;
    let heard_by_target = target.received().expect("C's recording");
    let (s, rate) = read_wav(&heard_by_target);
    assert_tone(&s, rate, CALLER_TONE, TARGET_TONE, "C heard A");
    let heard_by_a = a.recordings();
    let last = heard_by_a.last().expect("A's recording");
    let (s, rate) = read_wav(last);
    let end = tail(&s, rate, 2.0);
    let (t, o) = (tonality(end, TARGET_TONE, rate), tonality(end, CALLEE_TONE, rate));
    assert!(
        t > 0.2 && t > 20.0 * o,
        "A did not hear C at the end (tonality {t:.4} at {TARGET_TONE} Hz, {o:.4} at \
         {CALLEE_TONE} Hz):\nA:\n{a_log}\nB:\n{b_log}\nC:\n{c_log}"
    );
    m.calls.assert_clean();
    m.stop().await;
}
