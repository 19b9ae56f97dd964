//! Real softphones for the call tests: baresip (Debian `baresip-core`, 1.0) user agents
//! registered over TLS with mandatory SRTP, answering automatically, playing a tone from a
//! WAV file and (optionally) recording what they receive (module sndfile). Commands are
//! typed on baresip's console (its stdin), e.g. `/transfer sip:102@calls.test`.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::b2bua_support::{DOMAIN, PW};

/// A free TCP port on 127.0.0.1 (free a moment ago).
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `secs` seconds of a `freq` Hz tone, 8 kHz mono 16-bit PCM WAV (baresip's audio source
/// module aufile; baresip ends the call when the file ends, so it must outlast the call).
pub fn tone_wav(path: &Path, freq: f64, secs: u32) {
    let rate = 8000u32;
    let samples = ringfence_media::tone::sine(freq, rate, (rate * secs) as usize, 8000.0);
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

/// How to start a [`Phone`].
#[derive(Debug, Clone)]
pub struct PhoneConfig<'a> {
    /// Extension number (password [`PW`], domain [`DOMAIN`]).
    pub ext: &'a str,
    /// The server's TLS port on 127.0.0.1.
    pub tls_port: u16,
    /// The server's certificate (PEM file) baresip verifies.
    pub cert: &'a Path,
    /// First of the 100 RTP ports the phone may use.
    pub rtp: u16,
    /// Tone it plays, Hz.
    pub tone: f64,
    /// Record what it receives (`rec/*-dec.wav`).
    pub record: bool,
    /// Extra command-line arguments (`-e "/dial ..."`, `-t SECONDS`).
    pub extra: &'a [&'a str],
}

/// A baresip user agent, killed when dropped.
pub struct Phone {
    pub dir: PathBuf,
    child: Child,
    /// baresip's console: held open (a closed or null stdin cannot be polled) and used to
    /// type commands.
    stdin: Option<std::process::ChildStdin>,
}

impl Phone {
    /// Starts baresip for `c.ext` in `root/<ext>` (fails with an install hint when baresip
    /// is missing).
    pub fn start(root: &Path, c: &PhoneConfig<'_>) -> Phone {
        crate::common::require_binary("baresip", "baresip-core");
        let dir = root.join(c.ext);
        let rec = dir.join("rec");
        std::fs::create_dir_all(&rec).unwrap();
        let wav = dir.join("tone.wav");
        tone_wav(&wav, c.tone, 60);
        let recording = if c.record {
            format!("module sndfile.so\nsnd_path {}\n", rec.display())
        } else {
            String::new()
        };
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
                 {recording}module_app account.so\nmodule_app menu.so\n",
                cert = c.cert.display(),
                wav = wav.display(),
                rtp = c.rtp,
                rtp_end = c.rtp + 99,
            );
            std::fs::write(dir.join("config"), config).unwrap();
            let account = format!(
                "<sip:{ext}@{DOMAIN};transport=tls>;auth_pass=\"{PW}\";\
                 outbound=\"sip:127.0.0.1:{tls_port};transport=tls\";regint=600;\
                 mediaenc=srtp-mand;answermode=auto;audio_codecs=PCMU\n",
                ext = c.ext,
                tls_port = c.tls_port,
            );
            std::fs::write(dir.join("accounts"), account).unwrap();
            std::fs::write(dir.join("contacts"), "").unwrap();
            let log = std::fs::File::create(dir.join("log.txt")).unwrap();
            let mut child = Command::new("baresip")
                .arg("-f")
                .arg(&dir)
                .arg("-s")
                .args(c.extra)
                .stdin(Stdio::piped())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start baresip");
            let stdin = child.stdin.take();
            let mut phone = Phone { dir: dir.clone(), child, stdin };
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

    /// Everything baresip printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default()
    }

    /// Types `command` (e.g. `/transfer sip:102@calls.test`) on baresip's console.
    pub fn command(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("baresip's console");
        stdin.write_all(format!("{command}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// The recording of what the phone received (sndfile's `*-dec.wav`).
    pub fn received(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.dir.join("rec"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
    }

    /// Every recording of what the phone received, oldest first (one per call or media
    /// change).
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = std::fs::read_dir(self.dir.join("rec"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        all.retain(|p| p.to_string_lossy().ends_with("-dec.wav"));
        all.sort();
        all
    }

    /// Waits for the process to end (it quits by itself after `-t`), else kills it.
    pub async fn wait(&mut self, limit: Duration) -> String {
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
