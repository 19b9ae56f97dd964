//! Real audio through the relay: two softphones (Debian `baresip`) register over TLS to a
//! tenant that requires encryption and call each other through Ringfence with mandatory
//! SRTP, media anchored at the relay (SRTP terminated per leg). Each plays its own tone
//! from a WAV file and records what it receives; the recordings must carry the other
//! side's tone. A tshark capture on loopback during the call must show no clear RTP on
//! either leg.

mod b2bua_support;
mod common;
mod media_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use b2bua_support::{DOMAIN, PW};
use common::require_binary;
use common::test_config;
use common::tools::eventually;
use media_support::{MediaEnv, assert_tone, media_config, read_wav, tonality, tone_wav};
use ringfence_media::g711::ulaw_to_linear;
use ringfence_server::config::DigestAlgorithm;
use ringfence_store::{Disposition, EncryptionRequirement};

const CALLER_TONE: f64 = 440.0;
const CALLEE_TONE: f64 = 1000.0;
/// Relay ports; the phones use the ranges above it, so one capture filter covers all.
const RELAY_BASE: u16 = 43_000;

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A baresip user agent for extension `ext` over TLS, playing `tone` Hz and recording
/// what it receives (module sndfile).
struct Phone {
    dir: PathBuf,
    child: Child,
    /// Held open: baresip's console reads it.
    _stdin: Option<std::process::ChildStdin>,
}

impl Phone {
    fn start(
        root: &Path,
        ext: &str,
        tls_port: u16,
        cert: &Path,
        rtp: u16,
        tone: f64,
        extra: &[&str],
    ) -> Phone {
        let dir = root.join(ext);
        let rec = dir.join("rec");
        std::fs::create_dir_all(&rec).unwrap();
        let wav = dir.join("tone.wav");
        tone_wav(&wav, tone, 60);
        // The listen port was free a moment ago; a test running beside this one may take it
        // first, so a baresip that could not bind is started again on another port.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let listen = free_tcp_port();
            let config = format!(
                "poll_method epoll\nsip_listen 127.0.0.1:{listen}\nsip_cafile {cert}\n\
             audio_source aufile,{wav}\naudio_player aufile,/dev/null\n\
             audio_alert aufile,/dev/null\naudio_channels 1\naudio_srate 8000\n\
             rtp_ports {rtp}-{rtp_end}\nmodule_path /usr/lib/baresip/modules\n\
             module stdio.so\nmodule g711.so\nmodule aufile.so\nmodule srtp.so\n\
             module sndfile.so\nsnd_path {rec}\n\
             module_app account.so\nmodule_app menu.so\n",
                cert = cert.display(),
                wav = wav.display(),
                rtp_end = rtp + 99,
                rec = rec.display(),
            );
            std::fs::write(dir.join("config"), config).unwrap();
            let account = format!(
                "<sip:{ext}@{DOMAIN};transport=tls>;auth_pass=\"{PW}\";\
             outbound=\"sip:127.0.0.1:{tls_port};transport=tls\";regint=600;\
             mediaenc=srtp-mand;answermode=auto;audio_codecs=PCMU\n"
            );
            std::fs::write(dir.join("accounts"), account).unwrap();
            std::fs::write(dir.join("contacts"), "").unwrap();
            let log = std::fs::File::create(dir.join("log.txt")).unwrap();
            let mut child = Command::new("baresip")
                .arg("-f")
                .arg(&dir)
                .arg("-s")
                .args(extra)
                .stdin(Stdio::piped())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start baresip");
            let stdin = child.stdin.take();
            let mut phone = Phone { dir: dir.clone(), child, _stdin: stdin };
            if attempt < 5 && phone.lost_port_race() {
                continue;
            }
            break phone;
        }
    }

    /// Waits until baresip is ready; true when it quit because its SIP port was taken.
    fn lost_port_race(&mut self) -> bool {
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < end {
            let log = self.log();
            if log.contains("baresip is ready") {
                return false;
            }
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return self.log().contains("Address already in use");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default()
    }

    /// The recording of what the phone received (sndfile's `*-dec.wav`).
    fn received(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.dir.join("rec"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
    }

    /// Waits for the process to end (it quits by itself after `-t`), else kills it.
    async fn wait(&mut self, limit: Duration) -> String {
        let end = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < end {
            if self.child.try_wait().unwrap().is_some() {
                return self.log();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log()
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let mut callee =
        Phone::start(tmp.path(), "101", tls, &cert, RELAY_BASE + 200, CALLEE_TONE, &["-t", "25"]);
    let registrar = c.server.service().registrar().clone();
    let (tenant, ext) = (c.tenant.id, c.extensions["101"]);
    let registered =
        eventually(Duration::from_secs(15), || !registrar.locate(tenant, ext).is_empty()).await;
    assert!(registered, "baresip 101 did not register:\n{}", callee.log());

    // The caller (440 Hz) dials and hangs up when it quits.
    let dial = format!("/dial sip:101@{DOMAIN}");
    let mut caller = Phone::start(
        tmp.path(),
        "100",
        tls,
        &cert,
        RELAY_BASE + 300,
        CALLER_TONE,
        &["-e", &dial, "-t", "12"],
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
