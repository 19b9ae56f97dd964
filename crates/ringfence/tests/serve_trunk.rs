//! `ringfence serve` with a SIP trunk configured in `[sip.egress]`: a compromised demo
//! extension (SIPp) pumps calls to a UK number; the carrier (a SIPp UAS on its own
//! address) sees only the calls the tenant's limit allows, the rest are refused before
//! they leave, and the admin API lists the call records and the fraud events. Bound to
//! `0.0.0.0`, the Contact and Via of REGISTERs and INVITEs to carriers name a reachable
//! address (the route's), never the wildcard. SIGHUP reads the trunks again: a removed
//! trunk unregisters, an added one registers, and a broken file changes nothing.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const CARRIER_IP: &str = "127.0.0.2";
const UK: &str = "+442079460958";

#[test]
fn serve_routes_outside_calls_through_the_trunk_and_stops_a_pump() {
    require("sipp", "sip-tester");
    let dir = tempfile::tempdir().unwrap();
    let carrier_port = free_udp_port(CARRIER_IP);
    let trace = dir.path().join("carrier.log");
    let mut carrier = Command::new("sipp")
        .args(["-sf", scenario("trunk_carrier.xml").to_str().unwrap()])
        .args(["-i", CARRIER_IP, "-p", &carrier_port.to_string(), "-nostdin"])
        .args(["-timeout", "120s", "-trace_msg", "-message_file"])
        .arg(&trace)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // SIPp answers only MD5 challenges, and only the first one.
    let config = format!(
        "[sip.auth]\nalgorithms = [\"MD5\", \"SHA-256\"]\nuri_check = \"lenient\"\n\
         [[sip.egress.trunks]]\nname = \"carrier\"\nhost = \"{CARRIER_IP}\"\nport = {carrier_port}\n\
         caller_id = \"+12025550100\"\nauth = {{ kind = \"ip\" }}\n"
    );
    let mut s = Server::start(&config);
    let password = s.password("1001");
    let tenants = s.api("GET", "/api/v1/tenants", None, 200);
    let tenant =
        tenants.as_array().unwrap().iter().find(|t| t["domain"] == "demo.ringfence.test").unwrap()
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let base = format!("/api/v1/tenants/{tenant}");
    s.api(
        "PUT",
        &format!("{base}/settings/calling"),
        Some(r#"{"international_calling": true, "allowed_countries": ["GB"]}"#),
        200,
    );
    s.api(
        "PUT",
        &format!("{base}/settings/fraud-limits"),
        Some(
            r#"{"max_concurrent_calls_per_extension": 4, "max_concurrent_calls_per_tenant": 20,
                "max_calls_per_minute_per_extension": 3, "max_calls_per_minute_per_tenant": 60,
                "international_minutes_per_day": 120, "spend_cap_cents_per_day": 5000}"#,
        ),
        200,
    );

    // Extension 1001 pumps 8 calls to the UK, back to back.
    let out = Command::new("sipp")
        .arg(s.udp())
        .args(["-sf", scenario("trunk_uac.xml").to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", &free_udp_port("127.0.0.1").to_string()])
        .args(["-m", "8", "-l", "1", "-r", "10", "-nostdin", "-timeout", "60s"])
        .args(["-s", "1001", "-au", "1001", "-ap", &password])
        .args(["-key", "domain", "demo.ringfence.test", "-key", "callee", UK])
        .args(["-auth_uri", &format!("{UK}@demo.ringfence.test")])
        .output()
        .unwrap();
    assert!(out.status.success(), "SIPp: {}", String::from_utf8_lossy(&out.stdout));

    // The call records: 3 answered through the trunk, 5 refused before they left.
    let mut calls = serde_json::Value::Null;
    let done = eventually(Duration::from_secs(15), || {
        calls = s.api("GET", &format!("{base}/calls?direction=outbound"), None, 200);
        calls["records"].as_array().unwrap().len() == 8
    });
    assert!(done, "{calls:#}");
    let records = calls["records"].as_array().unwrap();
    let answered: Vec<_> = records.iter().filter(|r| r["disposition"] == "answered").collect();
    let blocked: Vec<_> = records.iter().filter(|r| r["disposition"] == "blocked").collect();
    assert_eq!((answered.len(), blocked.len()), (3, 5), "{calls:#}");
    assert!(answered.iter().all(|r| r["callee"] == UK));
    assert!(
        blocked.iter().all(|r| r["reason"].as_str().unwrap().starts_with("fraud ")),
        "{calls:#}"
    );

    // The fraud events, with their explanation.
    let events = s.api("GET", &format!("{base}/fraud-events"), None, 200);
    let rate = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "call_rate")
        .unwrap_or_else(|| panic!("no call_rate event: {events:#}"));
    assert!(rate["explanation"].as_str().unwrap().contains("extension_calls_per_minute"));

    // The carrier saw only the three.
    let _ = Command::new("kill").args(["-USR1", &carrier.id().to_string()]).status();
    let stopped =
        eventually(Duration::from_secs(15), || carrier.try_wait().ok().flatten().is_some());
    if !stopped {
        let _ = carrier.kill();
        let _ = carrier.wait();
    }
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    let invites = log.matches(&format!("INVITE sip:{UK}@{CARRIER_IP}")).count();
    assert_eq!(invites, 3, "{log}");
    s.stop();
}

#[test]
fn serve_registers_the_trunk_shows_it_and_unregisters_at_shutdown() {
    require("sipp", "sip-tester");
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port(CARRIER_IP);
    let trace = dir.path().join("registrar.log");
    let mut registrar = Command::new("sipp")
        .args(["-sf", scenario("trunk_registrar.xml").to_str().unwrap()])
        .args(["-i", CARRIER_IP, "-p", &port.to_string(), "-nostdin"])
        .args(["-key", "trunk_user", "pbx-1", "-key", "trunk_pass", "carrier-secret"])
        .args(["-timeout", "120s", "-trace_msg", "-message_file"])
        .arg(&trace)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let config = format!(
        "[[sip.egress.trunks]]\nname = \"carrier\"\nhost = \"{CARRIER_IP}\"\nport = {port}\n\
         auth = {{ kind = \"digest\", username = \"pbx-1\", password = \"carrier-secret\" }}\n\
         register = true\nregister_expires_s = 300\nrealm = \"carrier.test\"\n"
    );
    let mut s = Server::start(&config);
    let mut trunks = serde_json::Value::Null;
    let registered = eventually(Duration::from_secs(15), || {
        trunks = s.api("GET", "/api/v1/trunks", None, 200);
        trunks[0]["registration"]["state"] == "registered"
    });
    assert!(registered, "{trunks:#}");
    assert_eq!(trunks[0]["name"], "carrier");
    assert_eq!(trunks[0]["targets"][0], format!("{CARRIER_IP}:{port}/udp"));
    assert_eq!(trunks[0]["registration"]["registrar"], format!("{CARRIER_IP}:{port}"));
    let out = s.stop();
    assert!(out.iter().any(|l| l.contains("trunk registered")), "{out:#?}");
    assert!(out.iter().any(|l| l.contains("trunk unregistered")), "{out:#?}");
    let stopped =
        eventually(Duration::from_secs(15), || registrar.try_wait().ok().flatten().is_some());
    if !stopped {
        let _ = Command::new("kill").args(["-USR1", &registrar.id().to_string()]).status();
        eventually(Duration::from_secs(15), || registrar.try_wait().ok().flatten().is_some());
    }
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    assert_eq!(log.matches("REGISTER sip:").count(), 3, "{log}");
    assert!(log.contains("Expires: 0"), "{log}");
}

/// A SIPp on `CARRIER_IP:port` playing `scenario`, tracing what it receives to `trace`.
fn sipp_peer(scenario_name: &str, port: u16, trace: &Path, keys: &[&str]) -> Child {
    Command::new("sipp")
        .args(["-sf", scenario(scenario_name).to_str().unwrap()])
        .args(["-i", CARRIER_IP, "-p", &port.to_string(), "-nostdin"])
        .args(keys)
        .args(["-timeout", "120s", "-trace_msg", "-message_file"])
        .arg(trace)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits for SIPp to end its scenario (else stops it: SIGUSR1 writes its trace out), and
/// returns the trace.
fn finish_sipp(mut p: Child, trace: &Path) -> String {
    if !eventually(Duration::from_secs(15), || p.try_wait().ok().flatten().is_some()) {
        let _ = Command::new("kill").args(["-USR1", &p.id().to_string()]).status();
        if !eventually(Duration::from_secs(15), || p.try_wait().ok().flatten().is_some()) {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
    std::fs::read_to_string(trace).unwrap_or_default()
}

/// The requests starting with `start` ("REGISTER ", "INVITE ") in a SIPp trace, each as
/// its lines up to the blank line.
fn requests(log: &str, start: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = log.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with(start) {
            let msg = lines[i..]
                .iter()
                .take_while(|l| !l.trim().is_empty())
                .map(|l| (*l).to_owned())
                .collect();
            out.push(msg);
        }
    }
    out
}

fn header(message: &[String], name: &str) -> Option<String> {
    message.iter().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// Two UDP ports on `CARRIER_IP` that were free a moment ago, not the same.
fn two_ports() -> (u16, u16) {
    let a = std::net::UdpSocket::bind((CARRIER_IP, 0)).unwrap();
    let b = std::net::UdpSocket::bind((CARRIER_IP, 0)).unwrap();
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

fn registering_trunk(name: &str, port: u16, tenants: &str) -> String {
    format!(
        "[[sip.egress.trunks]]\nname = \"{name}\"\nhost = \"{CARRIER_IP}\"\nport = {port}\n\
         auth = {{ kind = \"digest\", username = \"pbx-1\", password = \"carrier-secret\" }}\n\
         register = true\nregister_expires_s = 300\nrealm = \"carrier.test\"\ntenants = [{tenants}]\n"
    )
}

const REGISTRAR_KEYS: &[&str] =
    &["-key", "trunk_user", "pbx-1", "-key", "trunk_pass", "carrier-secret"];

#[test]
fn serve_on_a_wildcard_address_names_the_routes_address_to_carriers() {
    require("sipp", "sip-tester");
    let dir = tempfile::tempdir().unwrap();
    let (reg_port, carrier_port) = two_ports();
    let reg_trace = dir.path().join("registrar.log");
    let carrier_trace = dir.path().join("carrier.log");
    let registrar = sipp_peer("trunk_registrar.xml", reg_port, &reg_trace, REGISTRAR_KEYS);
    let carrier = sipp_peer("trunk_carrier.xml", carrier_port, &carrier_trace, &[]);
    // The registering trunk serves no tenant of this server, so calls take the other.
    let config = format!(
        "[sip.auth]\nalgorithms = [\"MD5\", \"SHA-256\"]\nuri_check = \"lenient\"\n{}\
         [[sip.egress.trunks]]\nname = \"carrier\"\nhost = \"{CARRIER_IP}\"\nport = {carrier_port}\n\
         caller_id = \"+12025550100\"\nauth = {{ kind = \"ip\" }}\n",
        registering_trunk("registrar", reg_port, "\"other.test\"")
    );
    let mut s = Server::start_with_env(&config, &[("RINGFENCE_SIP_UDP", "0.0.0.0:0")]);
    assert!(s.udp().starts_with("0.0.0.0:"), "{}", s.udp());
    let port = s.udp_port();
    let reachable = format!("127.0.0.1:{port}");
    let mut trunks = serde_json::Value::Null;
    let registered = eventually(Duration::from_secs(15), || {
        trunks = s.api("GET", "/api/v1/trunks", None, 200);
        trunks[0]["registration"]["state"] == "registered"
    });
    assert!(registered, "{trunks:#}");
    assert_eq!(trunks[0]["registration"]["contact"], format!("<sip:pbx-1@{reachable}>"));

    // A call through the other trunk names the same address.
    let password = s.password("1001");
    let tenants = s.api("GET", "/api/v1/tenants", None, 200);
    let tenant = tenants.as_array().unwrap().iter().find(|t| t["domain"] == DOMAIN).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.api(
        "PUT",
        &format!("/api/v1/tenants/{tenant}/settings/calling"),
        Some(r#"{"international_calling": true, "allowed_countries": ["GB"]}"#),
        200,
    );
    let out = Command::new("sipp")
        .arg(&reachable)
        .args(["-sf", scenario("trunk_uac.xml").to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", &free_udp_port("127.0.0.1").to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s"])
        .args(["-s", "1001", "-au", "1001", "-ap", &password])
        .args(["-key", "domain", DOMAIN, "-key", "callee", UK])
        .args(["-auth_uri", &format!("{UK}@{DOMAIN}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "SIPp: {}", String::from_utf8_lossy(&out.stdout));
    let _ = Command::new("kill").args(["-USR1", &carrier.id().to_string()]).status();
    let log = finish_sipp(carrier, &carrier_trace);
    let invites = requests(&log, "INVITE ");
    assert_eq!(invites.len(), 1, "{log}");
    let via = header(&invites[0], "Via").unwrap();
    assert!(via.starts_with(&format!("SIP/2.0/UDP {reachable};")), "{via}");
    let contact = header(&invites[0], "Contact").unwrap();
    assert!(contact.contains(&format!("sip:{reachable}")), "{contact}");
    for bye in requests(&log, "BYE ") {
        let via = header(&bye, "Via").unwrap();
        assert!(via.starts_with(&format!("SIP/2.0/UDP {reachable};")), "{via}");
    }

    let out = s.stop();
    assert!(out.iter().any(|l| l.contains("trunk unregistered")), "{out:#?}");
    let log = finish_sipp(registrar, &reg_trace);
    let registers = requests(&log, "REGISTER ");
    assert_eq!(registers.len(), 3, "{log}");
    for r in &registers {
        let contact = header(r, "Contact").unwrap();
        assert_eq!(contact, format!("<sip:pbx-1@{reachable}>"), "{log}");
        let via = header(r, "Via").unwrap();
        assert!(via.starts_with(&format!("SIP/2.0/UDP {reachable};")), "{via}");
    }
    assert!(!log.contains("0.0.0.0"), "{log}");
}

#[test]
fn sighup_reloads_the_trunks_and_a_broken_file_changes_nothing() {
    require("sipp", "sip-tester");
    let dir = tempfile::tempdir().unwrap();
    let (a_port, b_port) = two_ports();
    let a_trace = dir.path().join("a.log");
    let b_trace = dir.path().join("b.log");
    let a = sipp_peer("trunk_registrar.xml", a_port, &a_trace, REGISTRAR_KEYS);
    let b = sipp_peer("trunk_registrar.xml", b_port, &b_trace, REGISTRAR_KEYS);
    let mut s = Server::start(&registering_trunk("a", a_port, ""));
    let mut trunks = serde_json::Value::Null;
    let registered = eventually(Duration::from_secs(15), || {
        trunks = s.api("GET", "/api/v1/trunks", None, 200);
        trunks[0]["registration"]["state"] == "registered"
    });
    assert!(registered, "{trunks:#}");
    assert_eq!(trunks[0]["name"], "a");

    // Trunk b instead of a: a unregisters, b registers.
    std::fs::write(s.config_path(), registering_trunk("b", b_port, "")).unwrap();
    s.signal("HUP");
    s.wait_for("trunks reloaded");
    let line = s.seen.iter().find(|l| l.contains("trunks reloaded")).unwrap().clone();
    assert!(line.contains("added: b; removed: a; changed: none; unchanged: none"), "{line}");
    let log = finish_sipp(a, &a_trace);
    let registers = requests(&log, "REGISTER ");
    assert_eq!(registers.len(), 3, "{log}");
    assert_eq!(header(&registers[2], "Expires").as_deref(), Some("0"), "{log}");
    let registered = eventually(Duration::from_secs(15), || {
        trunks = s.api("GET", "/api/v1/trunks", None, 200);
        trunks.as_array().unwrap().len() == 1
            && trunks[0]["name"] == "b"
            && trunks[0]["registration"]["state"] == "registered"
    });
    assert!(registered, "{trunks:#}");
    assert_eq!(trunks[0]["registration"]["registrar"], format!("{CARRIER_IP}:{b_port}"));
    let running = trunks.clone();

    // A file that does not parse: refused, logged, nothing changes.
    std::fs::write(s.config_path(), "[[sip.egress.trunks]]\nname = \"c\"\nhost = \n").unwrap();
    s.signal("HUP");
    s.wait_for("trunks not reloaded");
    let line = s.seen.iter().find(|l| l.contains("trunks not reloaded")).unwrap().clone();
    assert!(line.contains("ringfence.toml"), "{line}");
    let now = s.api("GET", "/api/v1/trunks", None, 200);
    assert_eq!(now[0]["name"], "b");
    assert_eq!(now[0]["registration"], running[0]["registration"], "{now:#}");

    // A file that parses but names a trunk twice: refused through the admin API too.
    let twice =
        format!("{}{}", registering_trunk("b", b_port, ""), registering_trunk("b", a_port, ""));
    std::fs::write(s.config_path(), twice).unwrap();
    let (code, body) = s.curl("POST", "/api/v1/trunks/reload", None);
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("used twice"), "{body}");
    assert_eq!(s.api("GET", "/api/v1/trunks", None, 200), now);

    // A TLS trunk whose CA file cannot be read: refused as at start-up, nothing changes.
    let tls = registering_trunk("b", b_port, "").replace(
        "register = true",
        "transport = \"tls\"\ntls_ca_file = \"/nonexistent/carrier-ca.pem\"\nregister = true",
    );
    std::fs::write(s.config_path(), tls).unwrap();
    let (code, body) = s.curl("POST", "/api/v1/trunks/reload", None);
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("TLS"), "{body}");
    assert_eq!(s.api("GET", "/api/v1/trunks", None, 200), now);

    // The running file again: nothing to change.
    std::fs::write(s.config_path(), registering_trunk("b", b_port, "")).unwrap();
    let v = s.api("POST", "/api/v1/trunks/reload", None, 200);
    assert_eq!(v["unchanged"], serde_json::json!(["b"]), "{v:#}");
    assert_eq!(v["added"], serde_json::json!([]), "{v:#}");

    let out = s.stop();
    assert!(out.iter().any(|l| l.contains("trunk unregistered")), "{out:#?}");
    let log = finish_sipp(b, &b_trace);
    let registers = requests(&log, "REGISTER ");
    assert_eq!(registers.len(), 3, "{log}");
    assert_eq!(header(&registers[2], "Expires").as_deref(), Some("0"), "{log}");
}
