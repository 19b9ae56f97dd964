//! A customer's PBX on `ringfence serve`, set up through the admin API: a tenant with its
//! calling policy and extensions, the carrier behind a platform trunk (a SIPp UAS on its own
//! loopback address), and the extensions' phones (SIPp runs) registering and dialling.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{Server, eventually, free_udp_port, require, scenario, text};

/// The carrier's address: apart from the extensions' (127.0.0.1), as in production.
pub const CARRIER_IP: &str = "127.0.0.2";

/// A SIPp UAS playing the carrier: answers every INVITE (`trunk_carrier.xml`), keeps a
/// trace of what it received.
pub struct Carrier {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Carrier {
    pub fn start() -> Carrier {
        require("sipp", "sip-tester");
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port(CARRIER_IP);
        let child = Command::new("sipp")
            .current_dir(dir.path())
            .args(["-sf", scenario("trunk_carrier.xml").to_str().unwrap()])
            .args(["-i", CARRIER_IP, "-p", &port.to_string(), "-nostdin"])
            .args(["-timeout", "900s", "-trace_msg", "-message_file"])
            .arg(dir.path().join("messages.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Carrier { port, child, dir }
    }

    /// Server configuration: SIPp's digest (MD5 only, one digest uri per run), an
    /// IP-authenticated platform trunk to this carrier, and `egress` (lines of
    /// `[sip.egress]`, e.g. a rates file).
    pub fn config(&self, egress: &str) -> String {
        format!(
            "[sip.auth]\nalgorithms = [\"MD5\", \"SHA-256\"]\nuri_check = \"lenient\"\n\
             [sip.egress]\n{egress}\n\
             [[sip.egress.trunks]]\nname = \"carrier\"\nhost = \"{CARRIER_IP}\"\nport = {}\n\
             caller_id = \"+4930901820\"\nauth = {{ kind = \"ip\" }}\n",
            self.port
        )
    }

    /// Stops SIPp (SIGUSR1: it ends its calls and writes its trace out) and returns the
    /// INVITEs it received: (Request-URI, Call-ID), retransmissions counted once.
    pub fn stop(mut self) -> Vec<(String, String)> {
        let _ = Command::new("kill").args(["-USR1", &self.child.id().to_string()]).status();
        let stopped =
            eventually(Duration::from_secs(15), || self.child.try_wait().ok().flatten().is_some());
        if !stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let trace =
            std::fs::read_to_string(self.dir.path().join("messages.log")).unwrap_or_default();
        invites(&trace)
    }
}

impl Drop for Carrier {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The INVITEs received in a SIPp message trace: (Request-URI, Call-ID), each call once.
pub fn invites(trace: &str) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for block in trace.split("----------------------------------------------- ") {
        if !block.contains("message received") {
            continue;
        }
        let mut lines = block.lines().skip_while(|l| !l.trim_start().starts_with("INVITE "));
        let Some(request) = lines.next() else { continue };
        let uri = request.split_whitespace().nth(1).unwrap_or("").to_owned();
        let call_id = lines
            .find_map(|l| l.trim().strip_prefix("Call-ID:").map(|v| v.trim().to_owned()))
            .unwrap_or_default();
        if seen.insert(call_id.clone()) {
            out.push((uri, call_id));
        }
    }
    out
}

/// An extension created through the admin API, with its SIP password.
#[derive(Clone, Debug)]
pub struct Extension {
    pub id: String,
    pub number: String,
    pub password: String,
}

/// A tenant created through the admin API with the operator's (super admin) token.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: String,
    pub domain: String,
}

impl Tenant {
    /// Tenant `domain`, home country DE, encryption optional (the phones are SIPp on plain
    /// UDP), international calling on to `allowed` (off when empty).
    pub fn create(s: &mut Server, domain: &str, allowed: &[&str]) -> Tenant {
        let body = serde_json::json!({
            "name": format!("Office {domain}"),
            "domain": domain,
            "home_country": "DE",
            "encryption": "optional",
        });
        let t = s.api("POST", "/api/v1/tenants", Some(&body.to_string()), 201);
        let tenant = Tenant { id: t["id"].as_str().unwrap().to_owned(), domain: domain.to_owned() };
        let calling = serde_json::json!({
            "international_calling": !allowed.is_empty(),
            "allowed_countries": allowed,
        });
        s.api("PUT", &tenant.path("/settings/calling"), Some(&calling.to_string()), 200);
        tenant
    }

    /// `/api/v1/tenants/{id}` followed by `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/v1/tenants/{}{rest}", self.id)
    }

    pub fn extension(&self, s: &mut Server, number: &str) -> Extension {
        let body = format!(r#"{{"number": "{number}", "display_name": "Desk {number}"}}"#);
        let e = s.api("POST", &self.path("/extensions"), Some(&body), 201);
        Extension {
            id: e["extension"]["id"].as_str().unwrap().to_owned(),
            number: number.to_owned(),
            password: e["sip"]["password"].as_str().unwrap().to_owned(),
        }
    }

    /// The tenant's fraud events, newest first (at most 1000).
    pub fn fraud_events(&self, s: &mut Server) -> Vec<Value> {
        let v = s.api("GET", &self.path("/fraud-events?limit=1000"), None, 200);
        v.as_array().unwrap().clone()
    }

    /// The tenant's outbound call records (at most 1000), newest first.
    pub fn outbound_calls(&self, s: &mut Server) -> Vec<Value> {
        let v = s.api("GET", &self.path("/calls?direction=outbound&limit=1000"), None, 200);
        v["records"].as_array().unwrap().clone()
    }

    /// Waits until there are `n` outbound call records (they are written behind the calls).
    pub fn wait_outbound_calls(&self, s: &mut Server, n: usize) -> Vec<Value> {
        let mut calls = Vec::new();
        let done = eventually(Duration::from_secs(30), || {
            calls = self.outbound_calls(s);
            calls.len() >= n
        });
        assert!(done, "{} outbound call records, expected {n}: {calls:#?}", calls.len());
        calls
    }
}

/// A SIPp run and the messages it received (from its `-trace_msg` file).
pub struct Run {
    pub out: Output,
    pub trace: String,
}

impl Run {
    pub fn assert_success(&self, what: &str) {
        assert!(self.out.status.success(), "{what}: {}\n{}", text(&self.out), self.trace);
    }

    /// The status line of the first final response other than a challenge.
    pub fn status_line(&self) -> String {
        self.trace
            .split("----------------------------------------------- ")
            .filter(|b| b.contains("message received"))
            .filter_map(|b| b.lines().find(|l| l.trim_start().starts_with("SIP/2.0 ")))
            .map(str::trim)
            .find(|l| !l.starts_with("SIP/2.0 1") && !l.starts_with("SIP/2.0 407"))
            .unwrap_or_default()
            .to_owned()
    }
}

/// An extension's phone: SIPp runs from `ip` with its credentials.
pub struct Phone {
    pub sip: String,
    pub domain: String,
    pub ext: Extension,
    pub ip: String,
}

impl Phone {
    pub fn new(s: &Server, tenant: &Tenant, ext: &Extension) -> Phone {
        Phone::from_ip(s, tenant, ext, "127.0.0.1")
    }

    pub fn from_ip(s: &Server, tenant: &Tenant, ext: &Extension, ip: &str) -> Phone {
        require("sipp", "sip-tester");
        Phone { sip: s.udp(), domain: tenant.domain.clone(), ext: ext.clone(), ip: ip.to_owned() }
    }

    /// Runs `scenario` once (unless `args` say otherwise) from `port` (0: any).
    pub fn run(&self, scenario_name: &str, port: u16, args: &[&str]) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let trace = dir.path().join("messages.log");
        let mut c = Command::new("timeout");
        c.arg("180")
            .arg("sipp")
            .arg(&self.sip)
            .args(["-sf", scenario(scenario_name).to_str().unwrap()])
            .args(["-i", &self.ip, "-p", &port.to_string(), "-nostdin"])
            .args(["-timeout", "60s", "-timeout_error"])
            .args(["-s", &self.ext.number, "-au", &self.ext.number, "-ap", &self.ext.password])
            .args(["-auth_uri", &self.domain, "-key", "domain", &self.domain])
            .args(["-trace_msg", "-message_file"])
            .arg(&trace)
            .current_dir(dir.path());
        if !args.contains(&"-m") {
            c.args(["-m", "1"]);
        }
        let out = c.args(args).output().unwrap();
        Run { out, trace: std::fs::read_to_string(&trace).unwrap_or_default() }
    }

    /// REGISTER (challenged, answered) from `port`.
    pub fn register(&self, port: u16) -> Run {
        let run = self.run("call_register.xml", port, &[]);
        run.assert_success(&format!("{} registers from {}", self.ext.number, self.ip));
        run
    }

    /// Dials `number` once (`trunk_uac.xml`: answered, talk 1 s, BYE; or refused).
    pub fn dial(&self, number: &str) -> Run {
        let run = self.run("trunk_uac.xml", 0, &["-key", "callee", number]);
        run.assert_success(&format!("{} dials {number}", self.ext.number));
        run
    }

    /// Dials `number` `calls` times, `rate` a second, one at a time.
    pub fn pump(&self, number: &str, calls: u32, rate: u32) -> Run {
        let (m, r) = (calls.to_string(), rate.to_string());
        let run = self.run(
            "trunk_uac.xml",
            0,
            &["-key", "callee", number, "-m", &m, "-r", &r, "-l", "1"],
        );
        run.assert_success(&format!("{} pumps {number}", self.ext.number));
        run
    }
}

/// A file `name` in `dir` with `content`.
pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}
