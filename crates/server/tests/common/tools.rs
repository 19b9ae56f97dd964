//! Runners for the real SIP tools: SIPp (Debian `sip-tester`) and svwar (`sipvicious`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::require_binary;

/// The directory of the SIPp scenarios.
pub fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("sipp")
}

/// A free UDP port on 127.0.0.1 (bound and released; SIPp binds it right after).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One SIPp client run.
#[derive(Debug, Clone)]
pub struct Sipp {
    scenario: String,
    server: SocketAddr,
    args: Vec<String>,
}

/// What a SIPp run did.
#[derive(Debug)]
pub struct SippRun {
    /// SIPp's exit status: 0 when every call succeeded.
    pub status: i32,
    /// Every message sent and received (`-trace_msg`).
    pub messages: String,
    /// Unexpected-message and other errors (`-trace_err`).
    pub errors: String,
    pub stdout: String,
}

impl SippRun {
    /// The messages SIPp received, in order (each as the text on the wire).
    pub fn received(&self) -> Vec<String> {
        split_trace(&self.messages, "message received")
    }

    /// The messages SIPp sent.
    pub fn sent(&self) -> Vec<String> {
        split_trace(&self.messages, "message sent")
    }

    /// Panics with SIPp's diagnostics unless every call succeeded.
    pub fn assert_success(&self) {
        assert_eq!(
            self.status, 0,
            "SIPp failed (exit {}):\nerrors:\n{}\nmessages:\n{}\nstdout:\n{}",
            self.status, self.errors, self.messages, self.stdout
        );
    }
}

/// Splits a `-trace_msg` file into the messages whose heading contains `kind`.
fn split_trace(trace: &str, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    for block in trace.split("----------------------------------------------- ") {
        let Some((heading, body)) = block.split_once('\n') else { continue };
        if !heading.contains(kind) && !body.lines().next().unwrap_or("").contains(kind) {
            continue;
        }
        // The heading is followed by a line naming the transport and size, then a blank
        // line, then the message as received (CRLF line ends).
        if let Some(i) = body.find("\n\n") {
            out.push(body[i + 2..].trim_end().to_owned());
        }
    }
    out
}

impl Sipp {
    /// Scenario `name` (a file in [`scenario_dir`]) against `server`.
    pub fn new(name: &str, server: SocketAddr) -> Sipp {
        Sipp { scenario: name.to_owned(), server, args: Vec::new() }
    }

    /// Extra command-line arguments.
    pub fn arg(mut self, a: impl Into<String>) -> Sipp {
        self.args.push(a.into());
        self
    }

    /// Authenticates as `user`/`password` in `domain`: `-s`, `-au`, `-ap`, `-auth_uri` and
    /// `-key domain`.
    pub fn account(self, user: &str, password: &str, domain: &str) -> Sipp {
        self.arg("-s")
            .arg(user)
            .arg("-au")
            .arg(user)
            .arg("-ap")
            .arg(password)
            .arg("-auth_uri")
            .arg(domain)
            .arg("-key")
            .arg("domain")
            .arg(domain)
    }

    /// Sets scenario variable `[name]` (`-key`).
    pub fn key(self, name: &str, value: &str) -> Sipp {
        self.arg("-key").arg(name).arg(value)
    }

    /// Runs one call of the scenario to completion (at most 60 s) on a blocking thread.
    pub async fn run(self) -> SippRun {
        require_binary("sipp", "sip-tester");
        tokio::task::spawn_blocking(move || self.run_blocking()).await.unwrap()
    }

    fn run_blocking(self) -> SippRun {
        let dir = tempfile::tempdir().unwrap();
        let msg = dir.path().join("messages.log");
        let err = dir.path().join("errors.log");
        let scenario = scenario_dir().join(&self.scenario);
        assert!(scenario.is_file(), "missing scenario {}", scenario.display());
        let mut cmd = Command::new("sipp");
        cmd.current_dir(dir.path())
            .arg(self.server.to_string())
            .arg("-sf")
            .arg(&scenario)
            .args(["-m", "1", "-l", "1", "-nostdin", "-timeout", "60s", "-timeout_error"])
            .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
            .args(["-trace_msg", "-message_file"])
            .arg(&msg)
            .args(["-trace_err", "-error_file"])
            .arg(&err)
            .args(&self.args);
        let out: Output = cmd.output().expect("run sipp");
        SippRun {
            status: out.status.code().unwrap_or(-1),
            messages: std::fs::read_to_string(&msg).unwrap_or_default(),
            errors: std::fs::read_to_string(&err).unwrap_or_default(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        }
    }
}

/// What svwar reported.
#[derive(Debug)]
pub struct SvwarRun {
    /// Extensions it claims to have found.
    pub found: Vec<String>,
    /// Its whole output (stdout and stderr).
    pub output: String,
}

/// Runs `svwar` with `method` (REGISTER, OPTIONS, INVITE) over `extensions` (e.g.
/// `"100-120"`) in `domain` against `server`, forcing the scan past its initial sanity
/// check (which gives up at once when an unknown extension is challenged).
pub async fn svwar(server: SocketAddr, domain: &str, method: &str, extensions: &str) -> SvwarRun {
    require_binary("svwar", "sipvicious");
    let (server, domain, method, extensions) =
        (server, domain.to_owned(), method.to_owned(), extensions.to_owned());
    tokio::task::spawn_blocking(move || {
        let out = Command::new("timeout")
            .arg("120")
            .arg("svwar")
            .args(["-m", &method, "-e", &extensions, "--force", "--domain", &domain])
            .args(["-p", &server.port().to_string(), "-P", &free_udp_port().to_string()])
            .args(["-b", "127.0.0.1", "--maximumtime", "3"])
            .arg(server.ip().to_string())
            .output()
            .expect("run svwar");
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "svwar failed ({}):\n{output}", out.status);
        SvwarRun { found: parse_svwar(&output), output }
    })
    .await
    .unwrap()
}

/// The extensions in svwar's result table (`| 100 | reqauth |`) and its log lines
/// (`extension '100' exists ...`).
fn parse_svwar(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.split("extension '").nth(1)
            && let Some(ext) = rest.split('\'').next()
        {
            found.push(ext.to_owned());
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        if cells.len() == 2 && cells[0].bytes().all(|b| b.is_ascii_digit()) && !cells[0].is_empty()
        {
            found.push(cells[0].to_owned());
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Waits until `f` is true, polling every 20 ms, for at most `limit`.
pub async fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svwar_output_parsing() {
        let out = "WARNING:root:found nothing\n";
        assert!(parse_svwar(out).is_empty());
        let out = "INFO:TakeASip:extension '101' exists - requires authentication\n\
                   +-----------+----------------+\n| Extension | Authentication |\n\
                   +===========+================+\n| 101       | reqauth        |\n";
        assert_eq!(parse_svwar(out), ["101"]);
    }
}
