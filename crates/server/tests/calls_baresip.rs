//! Two real softphones (Debian `baresip`) register over TLS to a tenant that requires
//! encryption and call each other through Ringfence with SRTP (negotiated end to end
//! while SDP passes through unchanged): answered, hung up, checked from the call record.

mod b2bua_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use b2bua_support::{CallEnv, DOMAIN, PW, b2bua_config};
use common::require_binary;
use common::test_config;
use common::tools::eventually;
use ringfence_server::config::DigestAlgorithm;
use ringfence_store::{Disposition, EncryptionRequirement, Transport};

/// 30 seconds of a 440 Hz tone, 8 kHz mono 16-bit PCM WAV (baresip's audio source; it
/// ends the call when the file ends, so it outlasts the call).
fn tone_wav(path: &Path) {
    let rate = 8000u32;
    let samples: Vec<i16> = (0..rate * 30)
        .map(|n| {
            let t = f64::from(n) / f64::from(rate);
            (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
        })
        .collect();
    let data_len = u32::try_from(samples.len() * 2).unwrap();
    let mut w = Vec::with_capacity(44 + data_len as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * 2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        w.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, w).unwrap();
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A baresip user agent for extension `ext`, registered over TLS to `tls_port`.
struct Phone {
    dir: PathBuf,
    child: Child,
    /// Held open: baresip's console reads it (a closed or null stdin cannot be polled).
    _stdin: Option<std::process::ChildStdin>,
}

impl Phone {
    fn start(
        root: &Path,
        ext: &str,
        tls_port: u16,
        cert: &Path,
        rtp: u16,
        extra: &[&str],
    ) -> Phone {
        let dir = root.join(ext);
        std::fs::create_dir_all(&dir).unwrap();
        let wav = dir.join("tone.wav");
        tone_wav(&wav);
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
             module_app account.so\nmodule_app menu.so\n",
                cert = cert.display(),
                wav = wav.display(),
                rtp_end = rtp + 99,
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

    /// Waits for the process to end (it quits by itself after `-t`).
    async fn wait(mut self, limit: Duration) -> String {
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

#[tokio::test]
async fn two_baresips_over_tls_and_srtp_call_each_other() {
    require_binary("baresip", "baresip-core");
    // baresip 1.0 (libre) gives up on a 401/407 that also offers SHA-256 (ENOSYS) instead
    // of answering the MD5 challenge next to it: offer MD5 only.
    let mut server_config = test_config();
    server_config.auth.algorithms = vec![DigestAlgorithm::Md5];
    let c = CallEnv::start_with(
        EncryptionRequirement::Required,
        b2bua_config(),
        server_config,
        &["100", "101"],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let cert = tmp.path().join("server.pem");
    std::fs::write(&cert, &c.server.cert_pem).unwrap();
    let tls = c.server.tls.port();

    // The callee registers (over TLS) and answers automatically.
    let callee = Phone::start(tmp.path(), "101", tls, &cert, 42_000, &["-t", "20"]);
    let registrar = c.server.service().registrar().clone();
    let (tenant, ext) = (c.tenant.id, c.extensions["101"]);
    let registered =
        eventually(Duration::from_secs(10), || !registrar.locate(tenant, ext).is_empty()).await;
    assert!(registered, "baresip 101 did not register:\n{}", callee.log());
    let loc = registrar.locate(tenant, ext);
    assert_eq!(loc[0].peer.transport, ringfence_sip_proto::transaction::Transport::Tls);

    // The caller dials and hangs up when it quits after a few seconds of talk.
    let dial = format!("/dial sip:101@{DOMAIN}");
    let caller = Phone::start(tmp.path(), "100", tls, &cert, 42_200, &["-e", &dial, "-t", "6"]);
    let b = c.b2bua.clone();
    let answered = eventually(Duration::from_secs(10), || b.stats().answered == 1).await;
    let caller_log = caller.wait(Duration::from_secs(15)).await;
    assert!(
        answered,
        "the call was not answered:\ncaller:\n{caller_log}\ncallee:\n{}",
        callee.log()
    );
    assert!(caller_log.contains("Call established"), "{caller_log}");
    assert!(caller_log.contains("SRTP is Enabled"), "SRTP end to end:\n{caller_log}");
    let callee_log = callee.log();

    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered, "{r:#?}\n{caller_log}\n{callee_log}");
    assert_eq!((r.call.caller.as_str(), r.call.callee.as_str()), ("100", "101"));
    assert_eq!(r.call.transport, Transport::Tls);
    assert!(r.call.encrypted, "TLS on both legs and SRTP offered and answered");
    assert!(r.call.duration_s > 0);
    assert_eq!(
        r.call.reason.as_deref(),
        Some("caller hung up"),
        "caller:\n{caller_log}\ncallee:\n{callee_log}"
    );
    drop(callee);
    c.assert_clean();
    c.stop().await;
}
