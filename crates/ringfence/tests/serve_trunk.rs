//! `ringfence serve` with a SIP trunk configured in `[sip.egress]`: a compromised demo
//! extension (SIPp) pumps calls to a UK number; the carrier (a SIPp UAS on its own
//! address) sees only the calls the tenant's limit allows, the rest are refused before
//! they leave, and the admin API lists the call records and the fraud events.

mod common;

use std::process::{Command, Stdio};
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
