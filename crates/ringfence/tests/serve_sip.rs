//! `ringfence serve --demo` end to end, as the built binary: it listens for SIP on UDP, TCP
//! and TLS (ephemeral ports here), creates the demo tenant once and prints its credentials,
//! a real SIPp registers one of the demo extensions with them (register, refresh,
//! unregister); 1001 calls 1002 (a SIPp UAS) through the B2BUA and the call appears in the
//! call history; an extension disabled through the admin API stops registering at once (the
//! SIP credential cache is invalidated, not left to age out); a second start reuses
//! everything and prints no password.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, require, scenario};

#[test]
fn serve_demo_registers_a_real_phone_and_restarts() {
    require("sipp", "sip-tester");
    // SIPp answers only the first challenge and only MD5, and signs one fixed digest uri.
    let mut server =
        Server::start("[sip.auth]\nalgorithms = [\"MD5\", \"SHA-256\"]\nuri_check = \"lenient\"\n");
    for kind in ["udp", "tcp", "tls"] {
        let addr = server.sip_addr(kind);
        assert!(!addr.ends_with(":0"), "{kind} bound to a real port: {addr}");
    }
    let udp = server.sip_addr("udp");
    let password = server.password("1001");
    assert!(server.seen.iter().any(|l| l.contains("SIP domain / realm: demo.ringfence.test")));

    let out = Command::new("sipp")
        .arg(&udp)
        .args(["-sf", scenario("register_lifecycle.xml").to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin", "-timeout", "30s"])
        .args(["-s", "1001", "-au", "1001", "-ap", &password])
        .args(["-auth_uri", "demo.ringfence.test", "-key", "domain", "demo.ringfence.test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "SIPp registration with the demo credentials failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A call from 1001 to 1002 through the B2BUA: 1002 registers from a port where a SIPp
    // UAS then answers; 1001 calls with digest credentials and hangs up.
    let password_1002 = server.password("1002");
    let uas_port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sipp = |scenario_name: &str, user: &str, pw: &str, port: u16, extra: &[&str]| {
        let mut c = Command::new("sipp");
        c.arg(&udp)
            .args(["-sf", scenario(scenario_name).to_str().unwrap()])
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-m", "1", "-nostdin"])
            .args(["-timeout", "60s", "-timeout_error"])
            .args(["-s", user, "-au", user, "-ap", pw])
            .args(["-key", "domain", "demo.ringfence.test"])
            .args(extra);
        c
    };
    let out = sipp(
        "call_register.xml",
        "1002",
        &password_1002,
        uas_port,
        &["-auth_uri", "demo.ringfence.test"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "1002 registers: {}", String::from_utf8_lossy(&out.stderr));
    let uas = sipp("call_uas_answer.xml", "1002", &password_1002, uas_port, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // SIPp binds its port before reading the scenario's first message; give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    let out = sipp(
        "call_uac.xml",
        "1001",
        &password,
        0,
        &["-auth_uri", "1002@demo.ringfence.test", "-key", "callee", "1002"],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "1001 calls 1002:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let uas = uas.wait_with_output().unwrap();
    assert!(uas.status.success(), "1002 answered: {}", String::from_utf8_lossy(&uas.stderr));

    // Disable 1001 through the HTTPS admin API with an operator token: its next REGISTER
    // must fail right away, well inside the credential cache's 30 s lifetime.
    let mut api = |method: &str, path: &str, body: Option<&str>| -> serde_json::Value {
        server.api(method, path, body, 200)
    };
    let tenants = api("GET", "/api/v1/tenants", None);
    let tenant_id =
        find(&tenants, "domain", "demo.ringfence.test")["id"].as_str().unwrap().to_owned();
    let exts = api("GET", &format!("/api/v1/tenants/{tenant_id}/extensions"), None);
    let ext_id = find(&exts, "number", "1001")["id"].as_str().unwrap().to_owned();
    // The call is in the tenant's call history (records are written behind the call).
    let deadline = Instant::now() + Duration::from_secs(30);
    let call = loop {
        let calls = api("GET", &format!("/api/v1/tenants/{tenant_id}/calls"), None);
        let hit = calls["records"].as_array().and_then(|a| {
            a.iter().find(|c| c["caller"] == "1001" && c["callee"] == "1002").cloned()
        });
        match hit {
            Some(c) => break c,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(300)),
            None => panic!("no call record for 1001 -> 1002: {calls}"),
        }
    };
    assert_eq!(call["disposition"], "answered", "{call}");
    assert!(call["answered_at"].is_string(), "{call}");

    let updated = api(
        "PATCH",
        &format!("/api/v1/tenants/{tenant_id}/extensions/{ext_id}"),
        Some(r#"{"enabled": false}"#),
    );
    assert_eq!(updated["enabled"], serde_json::Value::Bool(false));
    let out = Command::new("sipp")
        .arg(&udp)
        .args(["-sf", scenario("register_lifecycle.xml").to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin", "-timeout", "15s"])
        .args(["-s", "1001", "-au", "1001", "-ap", &password])
        .args(["-auth_uri", "demo.ringfence.test", "-key", "domain", "demo.ringfence.test"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a disabled extension must not register");

    // Second start: same data directory, the demo tenant exists, no password printed.
    let (first, server) = server.restart();
    assert!(first.iter().any(|l| l.contains("SIP stopped")), "{}", first.join("\n"));
    let second = server.stop();
    assert!(
        second.iter().any(|l| l.contains("created on an earlier start")),
        "{}",
        second.join("\n")
    );
    assert!(!second.iter().any(|l| l.contains("password ") && l.contains("extension 1001:")));
    assert!(!second.iter().any(|l| l.contains("one-time password")));
}

/// The first object in `v` (an array, or an object holding one) whose `key` is `value`.
fn find<'a>(v: &'a serde_json::Value, key: &str, value: &str) -> &'a serde_json::Value {
    let items = match v {
        serde_json::Value::Array(a) => a.iter().collect::<Vec<_>>(),
        serde_json::Value::Object(o) => {
            o.values().filter_map(|x| x.as_array()).flat_map(|a| a.iter()).collect()
        }
        _ => Vec::new(),
    };
    items
        .into_iter()
        .find(|x| x[key] == serde_json::Value::String(value.to_owned()))
        .unwrap_or_else(|| panic!("no {key} = {value} in {v}"))
}
