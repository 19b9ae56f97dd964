//! Harness for tests that drive the built `ringfence serve --demo` binary with real SIP
//! tools on loopback: start and stop the server, read its log, the demo credentials, an
//! operator token and `curl` against the admin API, SIPp runs, process CPU and memory.
#![allow(dead_code)]

pub mod pbx;

use std::io::{BufRead as _, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ringfence");

/// The binary to serve with: `RINGFENCE_TEST_SERVE_BIN` when set (a release build, to
/// measure), else the one cargo built for the tests.
pub fn serve_bin() -> String {
    std::env::var("RINGFENCE_TEST_SERVE_BIN").unwrap_or_else(|_| BIN.to_owned())
}
pub const DOMAIN: &str = "demo.ringfence.test";

/// Fails with an install hint when a peer is missing (never a silent skip).
pub fn require(binary: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(binary).is_file()));
    assert!(found, "`{binary}` is not installed: apt-get install -y {package}");
}

/// A SIPp scenario of the server's tests or of the load benchmark.
pub fn scenario(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = root.join("tests/sipp").join(name);
    if own.exists() {
        return own;
    }
    let bench = root.join("../../bench/sip-load/scenarios").join(name);
    if bench.exists() {
        return bench;
    }
    root.join("../server/tests/sipp").join(name)
}

/// A UDP port on `ip` that was free a moment ago.
pub fn free_udp_port(ip: &str) -> u16 {
    UdpSocket::bind((ip, 0)).unwrap().local_addr().unwrap().port()
}

/// A running `ringfence serve --demo`.
pub struct Server {
    pub child: Child,
    pub data: PathBuf,
    pub dir: tempfile::TempDir,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
    token: Option<String>,
}

impl Server {
    /// Starts the binary with `config` (TOML text) in a fresh data directory and waits
    /// until it is ready and has printed the demo credentials.
    pub fn start(config: &str) -> Server {
        Server::start_with_env(config, &[])
    }

    /// [`Server::start`] with environment variables set (over the harness's own).
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ringfence.toml"), config).unwrap();
        Server::launch(dir, env)
    }

    /// The config file the server reads (rewrite it, then [`Server::signal`] `HUP`).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("ringfence.toml")
    }

    /// Sends `signal` (e.g. `HUP`) to the server.
    pub fn signal(&self, signal: &str) {
        let s = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(s.success());
    }

    /// Starts the binary on the data directory and config file in `dir`.
    fn launch(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Server {
        let data = dir.path().join("data");
        let config_path = dir.path().join("ringfence.toml");
        let mut child = Command::new(serve_bin())
            .args(["serve", "--demo"])
            .env("RINGFENCE_DATA_DIR", &data)
            .env("RINGFENCE_CONFIG", &config_path)
            .env("RINGFENCE_HTTPS", "127.0.0.1:0")
            .env("RINGFENCE_SIP_UDP", "127.0.0.1:0")
            .env("RINGFENCE_SIP_TCP", "127.0.0.1:0")
            .env("RINGFENCE_SIP_TLS", "127.0.0.1:0")
            .env("RINGFENCE_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("RINGFENCE_DATABASE_URL")
            .env_remove("RINGFENCE_MASTER_KEY")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut s = Server { child, data, dir, lines, seen: Vec::new(), token: None };
        s.wait_for("serve: ready");
        s.wait_for("then dial the other extension");
        s
    }

    /// Collects output until a line containing `needle` appears (60 s at most).
    pub fn wait_for(&mut self, needle: &str) {
        if self.seen.iter().any(|l| l.contains(needle)) {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    self.seen.push(l);
                    if hit {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("serve never logged {needle:?}; output so far:\n{}", self.seen.join("\n"));
    }

    /// Takes the output that arrived so far.
    pub fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
    }

    /// The SIP UDP address ("127.0.0.1:PORT").
    pub fn udp(&self) -> String {
        self.sip_addr("udp")
    }

    /// The address a SIP listener logged ("SIP listening on udp 127.0.0.1:PORT").
    pub fn sip_addr(&self, kind: &str) -> String {
        let marker = format!("SIP listening on {kind} ");
        self.seen
            .iter()
            .find_map(|l| l.split(marker.as_str()).nth(1))
            .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {kind} listener logged:\n{}", self.seen.join("\n")))
    }

    pub fn udp_port(&self) -> u16 {
        self.udp().rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The demo password of `extension`.
    pub fn password(&self, extension: &str) -> String {
        let prefix = format!("extension {extension}: username {extension}, password ");
        self.seen
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no credentials for {extension}:\n{}", self.seen.join("\n")))
            .to_owned()
    }

    /// The admin API's base URL (`https://127.0.0.1:PORT`).
    pub fn https(&self) -> String {
        self.seen
            .iter()
            .find_map(|l| l.split("admin API ready on ").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .map(|u| u.trim_end_matches("/api/v1").to_owned())
            .unwrap()
    }

    /// A super-admin API token, created once with the operator CLI.
    pub fn token(&mut self) -> String {
        if let Some(t) = &self.token {
            return t.clone();
        }
        let out = Command::new(BIN)
            .args(["token", "create", "--role", "super_admin", "--json"])
            .env("RINGFENCE_DATA_DIR", &self.data)
            .env_remove("RINGFENCE_DATABASE_URL")
            .env_remove("RINGFENCE_MASTER_KEY")
            .env_remove("RINGFENCE_CONFIG")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let t = v["token"].as_str().unwrap().to_owned();
        self.token = Some(t.clone());
        t
    }

    /// `curl` against the admin API with the operator token: (HTTP status, body).
    pub fn curl(&mut self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let token = self.token();
        self.curl_as(&token, method, path, body)
    }

    /// `curl` against the admin API with `token`: (HTTP status, body).
    pub fn curl_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        require("curl", "curl");
        let mut c = Command::new("curl");
        c.args(["-sk", "-X", method, "-w", "\n%{http_code}"])
            .arg(format!("{}{path}", self.https()))
            .args(["-H", &format!("Authorization: Bearer {token}")]);
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data", b]);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "curl {method} {path} failed");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.trim().parse().unwrap(), body.to_owned())
    }

    /// `curl` expecting `status`, the body as JSON (Null when empty or not JSON).
    pub fn api(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        status: u16,
    ) -> serde_json::Value {
        let (code, text) = self.curl(method, path, body);
        assert_eq!(code, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// One sample of the metrics endpoint: the value of the first line starting with
    /// `series` (name and labels as printed), 0 when absent.
    pub fn metric(&mut self, series: &str) -> f64 {
        let (code, text) = self.curl("GET", "/api/v1/metrics", None);
        assert_eq!(code, 200, "{text}");
        metric_value(&text, series)
    }

    /// CPU seconds (user + system) and resident/peak-resident bytes of the server process.
    pub fn usage(&self) -> Usage {
        usage_of(self.child.id())
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) -> Vec<String> {
        let kill =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(kill.success());
        let status = self.child.wait().unwrap();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(l);
        }
        assert!(status.success(), "serve exited with {status}:\n{}", self.seen.join("\n"));
        std::mem::take(&mut self.seen)
    }

    /// Stops the server (as [`Server::stop`]) and starts it again on the same data
    /// directory and config: the first run's output, and the new server.
    pub fn restart(mut self) -> (Vec<String>, Server) {
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let first = self.stop();
        (first, Server::launch(dir, &[]))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The value of the first sample line that starts with `series` followed by a space.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// A process's CPU time and memory.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub cpu_secs: f64,
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}

pub fn usage_of(pid: u32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap())
            .unwrap_or(0)
            * 1024
    };
    Usage { cpu_secs: ticks as f64 / 100.0, rss_bytes: kb("VmRSS:"), peak_rss_bytes: kb("VmHWM:") }
}

/// Runs a command to its end (with `timeout` as a guard) and returns its output.
pub fn run(program: &str, args: &[String]) -> Output {
    Command::new("timeout").arg("180").arg(program).args(args).output().unwrap()
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// SIPp arguments for `register_auth.xml` (benchmark scenario) registering the users of
/// `csv` from `ip:port` to the server.
pub fn sipp_register_args(server: &str, csv: &Path, ip: &str, port: u16) -> Vec<String> {
    [
        server,
        "-sf",
        scenario("register_auth.xml").to_str().unwrap(),
        "-inf",
        csv.to_str().unwrap(),
        "-i",
        ip,
        "-p",
        &port.to_string(),
        "-key",
        "domain",
        DOMAIN,
        "-key",
        "contact_port",
        &port.to_string(),
        "-auth_uri",
        DOMAIN,
        "-nostdin",
        "-timeout",
        "120s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Writes a SIPp CSV with `(user, password)` rows for `register_auth.xml`.
pub fn credentials_csv(dir: &Path, name: &str, users: &[(&str, &str)]) -> PathBuf {
    let mut s = String::from("SEQUENTIAL\n");
    for (u, p) in users {
        s.push_str(&format!("{u};[authentication username={u} password={p}]\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, s).unwrap();
    path
}

/// Successful and failed calls from a SIPp `-trace_stat` CSV (the last row's cumulative
/// counts).
pub fn sipp_counts(stat_file: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(stat_file).unwrap();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let last: Vec<&str> = lines.next_back().unwrap().split(';').collect();
    let col = |name: &str| -> u64 {
        let i = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name}"));
        last[i].trim().parse().unwrap()
    };
    (col("SuccessfulCall(C)"), col("FailedCall(C)"))
}

/// Polls `f` every 200 ms for up to `limit`.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    f()
}
