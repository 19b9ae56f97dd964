//! A real DNS server for the RFC 3263 tests: dnsmasq (Debian `dnsmasq-base`), unprivileged
//! on an ephemeral port of 127.0.0.1, authoritative for `.test` (unknown names there are
//! NXDOMAIN), serving the NAPTR, SRV and A records a test gives it.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Dnsmasq {
    pub addr: SocketAddr,
    child: Child,
}

fn binary() -> String {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin"] {
        let p = Path::new(dir).join("dnsmasq");
        if p.is_file() {
            return p.to_string_lossy().into_owned();
        }
    }
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join("dnsmasq").is_file()))
        .unwrap_or(false);
    assert!(found, "`dnsmasq` is not installed: apt-get install dnsmasq-base");
    "dnsmasq".into()
}

impl Dnsmasq {
    /// Starts dnsmasq with `records` (its options, e.g. `--srv-host=...`).
    pub fn start(records: &[String]) -> Dnsmasq {
        let bin = binary();
        for _ in 0..5 {
            let port = {
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                s.local_addr().unwrap().port()
            };
            // A name only this instance serves: the readiness probe must reach this dnsmasq,
            // not another test's that happens to hold the same port (two tests can be handed
            // the same ephemeral port; the later dnsmasq then fails to bind and exits).
            let marker = format!(
                "probe-{}-{}.test",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            );
            let mut child = Command::new(&bin)
                .args(["-k", "--conf-file=/dev/null", "--pid-file=", "--no-resolv", "--no-hosts"])
                .args(["--listen-address=127.0.0.1", "--bind-interfaces", "--local=/test/"])
                .args(["--local-ttl=30", "--user=root"])
                .arg(format!("--port={port}"))
                .arg(format!("--host-record={marker},127.0.0.9"))
                .args(records)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start dnsmasq");
            // Ready when it answers; gone if the port was taken meanwhile.
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            for _ in 0..50 {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if answers(addr, &marker) {
                    return Dnsmasq { addr, child };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start");
    }
}

/// Whether the DNS server at `addr` has an A record for `name` (another server on that
/// port answers NXDOMAIN, without an answer record).
fn answers(addr: SocketAddr, name: &str) -> bool {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    // Query id 1, RD, one question: `name` A IN.
    let mut q = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let _ = s.send_to(&q, addr);
    let mut buf = [0u8; 512];
    // ANCOUNT (bytes 6-7) of the reply to query id 1.
    matches!(s.recv_from(&mut buf), Ok((n, _)) if n >= 12 && buf[..2] == [0, 1] && (buf[6], buf[7]) != (0, 0))
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
