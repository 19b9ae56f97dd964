//! The perimeter guard of the built `ringfence serve --demo` binary against real attack
//! tools on loopback (sipvicious `svcrack`, `svwar`, `svmap`; SIPp floods; a replayed
//! REGISTER), while real SIPp phones keep registering; bans listed and lifted through the
//! HTTPS admin API with `curl`.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// SIPp answers only MD5 and signs one fixed digest uri.
const SIPP_AUTH: &str =
    "[sip.auth]\nalgorithms = [\"MD5\", \"SHA-256\"]\nuri_check = \"lenient\"\n";

/// The scanner signal switched off, so the password-guessing and enumeration defences are
/// shown on their own (a scanner that hides its fingerprint).
fn scanner_off() -> String {
    format!("{SIPP_AUTH}[sip.guard]\nscanner_threshold = 1000000\n")
}

/// A dictionary of `wrong` wrong guesses, then `right`, then a few more.
fn dictionary(dir: &Path, name: &str, wrong: usize, right: &str) -> std::path::PathBuf {
    let mut s = String::new();
    for i in 0..wrong {
        s.push_str(&format!("Guess-{i:03}-password\n"));
    }
    s.push_str(right);
    s.push('\n');
    for i in 0..3 {
        s.push_str(&format!("After-{i}\n"));
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

/// svcrack against extension 1001 from `ip:port`; its output.
fn svcrack(server_udp: &str, dict: &Path, ip: &str, port: u16) -> String {
    require("svcrack", "sipvicious");
    let args: Vec<String> = [
        "-u",
        "1001",
        "-d",
        dict.to_str().unwrap(),
        "-P",
        &port.to_string(),
        "-b",
        ip,
        "--domain",
        DOMAIN,
        "--maximumtime",
        "5",
        &format!("udp://{server_udp}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = run("svcrack", &args);
    let t = text(&out);
    assert!(out.status.success(), "svcrack failed ({}):\n{t}", out.status);
    t
}

/// The passwords in svcrack's result table (`| 1001 | secret |`).
fn cracked(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
            (cells.len() == 2 && cells[0] == "1001").then(|| cells[1].to_owned())
        })
        .collect()
}

/// A phone that registered once from `ip:port` and now re-registers `count` times at
/// `rate` per second in the background (SIPp, `register_auth.xml`).
struct Phone {
    child: std::process::Child,
    stat: std::path::PathBuf,
    count: u64,
}

impl Phone {
    fn start(s: &Server, ext: &str, ip: &str, count: u64, rate: &str) -> Phone {
        require("sipp", "sip-tester");
        let port = free_udp_port(ip);
        let csv =
            credentials_csv(s.dir.path(), &format!("{ext}-{port}.csv"), &[(ext, &s.password(ext))]);
        let base = sipp_register_args(&s.udp(), &csv, ip, port);
        let mut once = base.clone();
        once.extend(["-m", "1"].map(String::from));
        let out = run("sipp", &once);
        assert!(out.status.success(), "phone {ext} did not register:\n{}", text(&out));
        let stat = s.dir.path().join(format!("phone-{ext}-{port}.csv"));
        let mut args = base;
        args.extend(
            ["-m", &count.to_string(), "-r", rate, "-trace_stat", "-stf", stat.to_str().unwrap()]
                .map(String::from),
        );
        args.extend(["-fd", "1"].map(String::from));
        let child = Command::new("sipp")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Phone { child, stat, count }
    }

    /// Waits for the end; (successful, failed) registrations.
    fn finish(mut self) -> (u64, u64) {
        let _ = self.child.wait().unwrap();
        let (ok, failed) = sipp_counts(&self.stat);
        assert_eq!(ok + failed, self.count, "SIPp ran every registration");
        (ok, failed)
    }
}

/// The demo tenant's id, from the admin API.
fn demo_tenant_id(s: &mut Server) -> String {
    let tenants = s.api("GET", "/api/v1/tenants", None, 200);
    let t = tenants.as_array().unwrap().iter().find(|t| t["domain"] == DOMAIN).unwrap();
    t["id"].as_str().unwrap().to_owned()
}

fn find<'a>(bans: &'a Value, key: &str) -> &'a Value {
    bans.as_array()
        .unwrap()
        .iter()
        .find(|b| b["key"] == key)
        .unwrap_or_else(|| panic!("no ban {key} in {bans:#}"))
}

const FAILURES: &str = "ringfence_sip_auth_failures_total{reason=\"bad_credentials\"}";

/// A password guesser that hides its fingerprint: svcrack works against this server (a
/// control run cracks the password when it is third in the list), but with the right
/// password 41st it cracks nothing: after 5 wrong guesses the user is blocked from that
/// address and the guessing port is banned, and the guesses after that are never checked.
/// Meanwhile extension 1002 on another port of the same address registers every time.
/// The bans are listed with reason and expiry through the admin API (curl), lifted there,
/// and 1001 registers from the guesser's port again; the audit log has both.
#[test]
fn svcrack_is_blocked_within_a_handful_of_guesses_while_another_extension_registers() {
    let mut s = Server::start(&scanner_off());
    let udp = s.udp();
    let password = s.password("1001");
    let dir = s.dir.path().to_owned();

    // Control from another address: three guesses, the third right.
    let out = svcrack(
        &udp,
        &dictionary(&dir, "short.txt", 2, &password),
        "127.0.0.3",
        free_udp_port("127.0.0.3"),
    );
    assert_eq!(cracked(&out), std::slice::from_ref(&password), "control crack failed:\n{out}");
    let control_failures = s.metric(FAILURES);
    assert_eq!(control_failures, 2.0);

    let phone = Phone::start(&s, "1002", "127.0.0.1", 40, "2");
    let attack_port = free_udp_port("127.0.0.1");
    let out = svcrack(&udp, &dictionary(&dir, "long.txt", 40, &password), "127.0.0.1", attack_port);
    assert!(cracked(&out).is_empty(), "svcrack cracked 1001:\n{out}");
    assert!(!out.contains(&password), "{out}");
    assert!(out.contains("found nothing"), "{out}");
    let checked = s.metric(FAILURES) - control_failures;
    assert!((1.0..=5.0).contains(&checked), "{checked} wrong guesses were checked");
    let (ok, failed) = phone.finish();
    assert_eq!((ok, failed), (40, 0), "extension 1002 on another port stopped registering");

    // The admin API lists the user block and the port ban, with reason and expiry.
    let bans = s.api("GET", "/api/v1/guard/bans", None, 200);
    let user_key = format!("1001@{DOMAIN}@127.0.0.1");
    let source_key = format!("127.0.0.1:{attack_port}");
    for key in [&user_key, &source_key] {
        let b = find(&bans, key);
        assert_eq!(b["cause"], "auth_failures", "{b}");
        let left = b["expires_in_secs"].as_u64().unwrap();
        assert!(left > 0 && left <= 300, "{b}");
        assert!(b["expires_at"].is_string() && b["started_at"].is_string(), "{b}");
        assert_eq!(b["offences"], 1);
    }
    assert_eq!(find(&bans, &user_key)["username"], "1001");
    assert!(bans.as_array().unwrap().iter().all(|b| b["key"] != "127.0.0.1"), "{bans:#}");

    // While banned, even the right password from the guesser's port gets no answer.
    let csv = credentials_csv(&dir, "1001.csv", &[("1001", &password)]);
    let mut once = sipp_register_args(&udp, &csv, "127.0.0.1", attack_port);
    once.extend(["-m", "1", "-timeout", "6s"].map(String::from));
    assert!(!run("sipp", &once).status.success(), "a banned port registered");

    // Lift both; lifting again finds nothing.
    let lifted = s.api("DELETE", &format!("/api/v1/guard/bans/{source_key}"), None, 200);
    assert_eq!(lifted["key"], source_key.as_str());
    // The user block is the tenant's too: listed and lifted under the tenant.
    let tid = demo_tenant_id(&mut s);
    let tenant_bans = s.api("GET", &format!("/api/v1/tenants/{tid}/guard/bans"), None, 200);
    assert_eq!(tenant_bans.as_array().unwrap().len(), 1, "{tenant_bans:#}");
    assert_eq!(tenant_bans[0]["key"], user_key.as_str());
    s.api("DELETE", &format!("/api/v1/tenants/{tid}/guard/bans/{user_key}"), None, 200);
    s.api("DELETE", &format!("/api/v1/guard/bans/{source_key}"), None, 404);
    s.api("DELETE", "/api/v1/guard/bans/not-a-key", None, 400);
    let out = run("sipp", &once);
    assert!(out.status.success(), "1001 did not register after the lift:\n{}", text(&out));

    // Audit: the guard's ban starts and the administrator's lifts; metrics count the lifts.
    assert!(eventually(Duration::from_secs(10), || s.metric("ringfence_guard_bans_lifted_total")
        == 2.0));
    let audit = s.api("GET", "/api/v1/audit?limit=1000", None, 200);
    let events = audit["events"].as_array().unwrap();
    let has = |action: &str, target: &str| {
        events.iter().any(|e| e["action"] == action && e["target"] == format!("ban:{target}"))
    };
    for key in [&user_key, &source_key] {
        assert!(has("guard.ban_start", key), "no ban_start for {key}");
        assert!(has("guard.ban_lift", key), "no ban_lift for {key}");
    }
    s.stop();
}

/// With the default settings a scanner's fingerprint bans its address at its first
/// request: svmap learns nothing, svcrack checks no password at all, svwar finds nothing;
/// the phone registered on another port of the same address is a known device and keeps
/// registering through the address ban.
#[test]
fn fingerprinted_scanners_are_dropped_while_a_known_device_keeps_registering() {
    require("svmap", "sipvicious");
    let mut s = Server::start(SIPP_AUTH);
    let udp = s.udp();
    let port = s.udp_port().to_string();
    let password = s.password("1001");
    let dir = s.dir.path().to_owned();
    let phone = Phone::start(&s, "1002", "127.0.0.1", 30, "2");

    let svmap_port = free_udp_port("127.0.0.1").to_string();
    let out = run(
        "svmap",
        &["-P", &svmap_port, "-b", "127.0.0.1", "-p", &port, "127.0.0.1"].map(String::from),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(!t.to_lowercase().contains("ringfence"), "svmap learned the product:\n{t}");
    assert!(!t.contains(&format!("127.0.0.1:{port} |")), "svmap found the server:\n{t}");

    let out = svcrack(
        &udp,
        &dictionary(&dir, "d.txt", 3, &password),
        "127.0.0.1",
        free_udp_port("127.0.0.1"),
    );
    assert!(cracked(&out).is_empty(), "{out}");
    assert_eq!(s.metric(FAILURES), 0.0, "a fingerprinted scanner's guesses were checked");

    let bans = s.api("GET", "/api/v1/guard/bans", None, 200);
    assert_eq!(find(&bans, "127.0.0.1")["cause"], "scanner");
    let (ok, failed) = phone.finish();
    assert_eq!((ok, failed), (30, 0), "the known device was cut off by the address ban");
    s.stop();
}

/// svwar's answers from the server's output: extensions it reports.
fn svwar_found(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.split("extension '").nth(1)
            && let Some(ext) = rest.split('\'').next()
        {
            found.push(ext.to_owned());
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        if cells.len() == 2 && !cells[0].is_empty() && cells[0].bytes().all(|b| b.is_ascii_digit())
        {
            found.push(cells[0].to_owned());
        }
    }
    found
}

/// A scanner without its fingerprint is answered, and learns nothing: svwar with REGISTER,
/// INVITE and OPTIONS over a range holding both demo extensions finds none, and svmap sees
/// no product name or version.
#[test]
fn svwar_and_svmap_learn_nothing_from_the_answers() {
    require("svwar", "sipvicious");
    let s = Server::start(&scanner_off());
    let port = s.udp_port().to_string();
    for method in ["REGISTER", "INVITE", "OPTIONS"] {
        let local = free_udp_port("127.0.0.1").to_string();
        let out = run(
            "svwar",
            &[
                "-m",
                method,
                "-e",
                "995-1010",
                "--force",
                "--domain",
                DOMAIN,
                "-p",
                &port,
                "-P",
                &local,
                "-b",
                "127.0.0.1",
                "--maximumtime",
                "3",
                "127.0.0.1",
            ]
            .map(String::from),
        );
        let t = text(&out);
        assert!(out.status.success(), "svwar -m {method}:\n{t}");
        assert!(svwar_found(&t).is_empty(), "svwar -m {method} found extensions:\n{t}");
        assert!(t.contains("found nothing"), "svwar -m {method}:\n{t}");
    }
    let local = free_udp_port("127.0.0.1").to_string();
    let out = run(
        "svmap",
        &["-P", &local, "-b", "127.0.0.1", "-p", &port, "127.0.0.1"].map(String::from),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    // The server answered (svmap lists it) but told nothing about itself.
    let row = t
        .lines()
        .find(|l| l.contains(&format!("127.0.0.1:{port}")) && l.contains('|'))
        .unwrap_or_else(|| panic!("svmap got no answer:\n{t}"));
    let agent = row.split('|').map(str::trim).filter(|c| !c.is_empty()).nth(1).unwrap();
    assert_eq!(agent, "unknown", "svmap learned {agent:?}:\n{t}");
    s.stop();
}

/// A flood of thousands of OPTIONS per second from 127.0.0.1 (SIPp) is banned and dropped
/// before parsing, while 2 phones on 127.0.0.2 registering 10 times a second in all stay at
/// least 99% successful. Prints the server's CPU time and memory.
#[test]
fn a_flood_is_banned_while_legitimate_registrations_from_another_address_succeed() {
    require("sipp", "sip-tester");
    let mut s = Server::start(SIPP_AUTH);
    let udp = s.udp();
    let (p1, p2) = (s.password("1001"), s.password("1002"));
    let csv = credentials_csv(s.dir.path(), "office.csv", &[("1001", &p1), ("1002", &p2)]);
    let legit_port = free_udp_port("127.0.0.2");
    let mut once = sipp_register_args(&udp, &csv, "127.0.0.2", legit_port);
    once.extend(["-m", "2"].map(String::from));
    let out = run("sipp", &once);
    assert!(out.status.success(), "{}", text(&out));

    let before = s.usage();
    let started = Instant::now();
    let stat = s.dir.path().join("legit.csv");
    let mut legit = sipp_register_args(&udp, &csv, "127.0.0.2", legit_port);
    legit.extend(
        ["-m", "300", "-r", "10", "-trace_stat", "-stf", stat.to_str().unwrap(), "-fd", "1"]
            .map(String::from),
    );
    let mut legit = Command::new("sipp")
        .args(&legit)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let flood_port = free_udp_port("127.0.0.1").to_string();
    // 15 s at 4000 requests/s; RINGFENCE_TEST_FLOOD_RATE sets another rate (to measure).
    let flood_rate: u64 = std::env::var("RINGFENCE_TEST_FLOOD_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(4000);
    let flood_args: Vec<String> = [
        &udp,
        "-sf",
        scenario("flood_options.xml").to_str().unwrap(),
        "-s",
        "probe",
        "-i",
        "127.0.0.1",
        "-p",
        &flood_port,
        "-r",
        &flood_rate.to_string(),
        "-m",
        &(flood_rate * 15).to_string(),
        "-nostdin",
        "-timeout",
        "60s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let flood_started = Instant::now();
    let flood = run("sipp", &flood_args);
    assert!(flood.status.success(), "the flood did not run:\n{}", text(&flood));
    let flood_secs = flood_started.elapsed().as_secs_f64();
    let after_flood = s.usage();
    let _ = legit.wait().unwrap();
    let (ok, failed) = sipp_counts(&stat);
    let after = s.usage();
    let wall = started.elapsed().as_secs_f64();

    let bans = s.api("GET", "/api/v1/guard/bans", None, 200);
    s.drain();
    let ban = find(&bans, "127.0.0.1");
    assert_eq!(ban["cause"], "flood", "{ban}\n{}", s.seen.join("\n"));
    assert!(
        bans.as_array()
            .unwrap()
            .iter()
            .all(|b| !b["key"].as_str().unwrap().starts_with("127.0.0.2"))
    );
    let dropped = s.metric("ringfence_guard_dropped_total{cause=\"banned\"}");
    let received = s.metric("ringfence_sip_transport_received_total");
    eprintln!(
        "flood: {} OPTIONS from 127.0.0.1 in {flood_secs:.1} s ({:.0}/s); guard dropped {dropped} \
         as banned, the core received {received} messages in all",
        flood_rate * 15,
        (flood_rate * 15) as f64 / flood_secs
    );
    eprintln!(
        "legitimate: {ok} registrations succeeded, {failed} failed ({:.2}%)",
        100.0 * ok as f64 / (ok + failed) as f64
    );
    eprintln!(
        "server: CPU {:.2} s during the {flood_secs:.1} s flood ({:.0}% of one core), {:.2} s over the \
         whole {wall:.1} s run; RSS {} -> {} KiB (peak {} KiB)",
        after_flood.cpu_secs - before.cpu_secs,
        100.0 * (after_flood.cpu_secs - before.cpu_secs) / flood_secs,
        after.cpu_secs - before.cpu_secs,
        before.rss_bytes / 1024,
        after.rss_bytes / 1024,
        after.peak_rss_bytes / 1024
    );
    assert_eq!(ok + failed, 300);
    assert!(ok * 100 >= 99 * 300, "only {ok} of 300 legitimate registrations succeeded");
    assert!(
        dropped >= (flood_rate * 15) as f64 * 0.5,
        "only {dropped} flood datagrams dropped as banned"
    );
    assert!(received < 20_000.0, "the core parsed {received} messages: the flood got through");
    assert!(
        after.rss_bytes < before.rss_bytes + 64 * 1024 * 1024,
        "memory grew from {} to {} bytes",
        before.rss_bytes,
        after.rss_bytes
    );
    s.stop();
}

/// SIPp registers 1001 and logs what it sent; the REGISTER carrying the Authorization
/// header is sent again from the same address and port, as a new transaction (new Via
/// branch and CSeq, the credentials untouched), and again with a new Call-ID as well:
/// both are refused with a fresh challenge, and counted as replays.
#[test]
fn a_replayed_register_is_refused() {
    require("sipp", "sip-tester");
    let mut s = Server::start(SIPP_AUTH);
    let udp = s.udp();
    let csv = credentials_csv(s.dir.path(), "1001.csv", &[("1001", &s.password("1001"))]);
    let port = free_udp_port("127.0.0.1");
    let log = s.dir.path().join("messages.log");
    let mut args = sipp_register_args(&udp, &csv, "127.0.0.1", port);
    args.extend(
        ["-m", "1", "-trace_msg", "-message_file", log.to_str().unwrap()].map(String::from),
    );
    let out = run("sipp", &args);
    assert!(out.status.success(), "{}", text(&out));
    let trace = std::fs::read_to_string(&log).unwrap();
    let captured = trace
        .split("UDP message sent")
        .filter_map(|chunk| {
            let body = chunk.split_once("\n\n")?.1;
            let msg: Vec<&str> = body.lines().map(|l| l.trim_end_matches('\r')).collect();
            let end = msg.iter().position(|l| l.starts_with("-----------------"))?;
            let msg = &msg[..end];
            (msg.first()?.starts_with("REGISTER ")
                && msg.iter().any(|l| l.starts_with("Authorization:")))
            .then(|| msg.to_vec())
        })
        .next()
        .unwrap_or_else(|| panic!("no REGISTER with Authorization in the trace:\n{trace}"));
    let head: Vec<String> =
        captured.iter().map(|l| l.to_string()).take_while(|l| !l.is_empty()).collect();
    let build = |branch: &str, cseq: u32, call_id: Option<&str>| -> Vec<u8> {
        let mut out = String::new();
        for l in &head {
            let line = if l.starts_with("Via:") {
                let (a, b) = l.split_once("branch=").unwrap();
                let rest = b.split_once(';').map(|(_, r)| format!(";{r}")).unwrap_or_default();
                format!("{a}branch={branch}{rest}")
            } else if l.starts_with("CSeq:") {
                format!("CSeq: {cseq} REGISTER")
            } else if let Some(id) = call_id.filter(|_| l.starts_with("Call-ID:")) {
                format!("Call-ID: {id}")
            } else {
                l.clone()
            };
            out.push_str(&line);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    };
    let sock = std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let replays = [
        build("z9hG4bK-replay-1", 7, None),
        build("z9hG4bK-replay-2", 8, Some("replayed-call-id@127.0.0.1")),
    ];
    for (i, msg) in replays.iter().enumerate() {
        sock.send_to(msg, &udp).unwrap();
        let mut buf = [0u8; 4096];
        let status = loop {
            let (n, _) = sock.recv_from(&mut buf).expect("no answer to the replayed REGISTER");
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let status = text.lines().next().unwrap_or("").to_owned();
            if !status.starts_with("SIP/2.0 1") {
                break text;
            }
        };
        assert!(
            status.starts_with("SIP/2.0 401"),
            "replay {i} was not refused:\n{status}\nsent:\n{}",
            String::from_utf8_lossy(msg)
        );
    }
    let replays_counted = s.metric("ringfence_sip_auth_failures_total{reason=\"replay\"}");
    assert_eq!(replays_counted, 2.0);
    s.stop();
}

/// Allow/deny entries made through the admin API (curl) apply to the running server at
/// once: a global deny entry drops every packet of its network (listed as a permanent ban
/// that cannot be lifted), a tenant's deny entry refuses that tenant's registrations from
/// its network like a wrong password; deleting either lets the phone register again. The
/// tenant's allowed device networks (a setting) refuse registrations from elsewhere.
#[test]
fn allow_and_deny_entries_apply_at_once() {
    require("sipp", "sip-tester");
    let mut s = Server::start(SIPP_AUTH);
    let udp = s.udp();
    let csv = credentials_csv(s.dir.path(), "1001.csv", &[("1001", &s.password("1001"))]);
    let register = |ip: &str| -> bool {
        let mut args = sipp_register_args(&udp, &csv, ip, free_udp_port(ip));
        args.extend(["-m", "1", "-timeout", "6s"].map(String::from));
        run("sipp", &args).status.success()
    };
    assert!(register("127.0.0.4") && register("127.0.0.5"), "control registrations failed");

    let global = s.api(
        "POST",
        "/api/v1/guard/rules",
        Some(r#"{"action": "deny", "network": "127.0.0.4/32", "note": "test"}"#),
        201,
    );
    assert!(!register("127.0.0.4"), "a globally denied address registered");
    let bans = s.api("GET", "/api/v1/guard/bans", None, 200);
    assert_eq!(find(&bans, "127.0.0.4")["cause"], "static");
    let (code, body) = s.curl("DELETE", "/api/v1/guard/bans/127.0.0.4", None);
    assert_eq!(code, 409, "{body}");

    let tid = demo_tenant_id(&mut s);
    let tenant_rule = s.api(
        "POST",
        &format!("/api/v1/tenants/{tid}/guard/rules"),
        Some(r#"{"action": "deny", "network": "127.0.0.5/32"}"#),
        201,
    );
    assert!(!register("127.0.0.5"), "the tenant's denied network registered");
    assert!(register("127.0.0.6"), "another address of the tenant was refused");
    let refused = s.metric("ringfence_sip_auth_refused_total");
    assert!(refused >= 1.0, "the tenant deny entry refused nothing");

    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    s.api("DELETE", &format!("/api/v1/guard/rules/{}", id(&global)), None, 204);
    s.api("DELETE", &format!("/api/v1/tenants/{tid}/guard/rules/{}", id(&tenant_rule)), None, 204);
    assert!(register("127.0.0.4"), "still dropped after the global entry was deleted");
    assert!(register("127.0.0.5"), "still refused after the tenant entry was deleted");

    // The tenant's allowed device networks (a tenant setting): registrations from
    // elsewhere are refused like a wrong password.
    s.api(
        "PUT",
        &format!("/api/v1/tenants/{tid}/settings/device-networks"),
        Some(r#"{"networks": ["127.0.0.7/32"]}"#),
        200,
    );
    assert!(register("127.0.0.7"), "the allowed device network was refused");
    assert!(!register("127.0.0.8"), "a device outside the allowed networks registered");
    let outside = s.metric("ringfence_sip_auth_failures_total{reason=\"source_network\"}");
    assert!(outside >= 1.0, "no failure counted for the outside network");
    s.stop();
}
