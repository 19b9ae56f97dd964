//! Real peers against the transports: `sipsak` (SIP over UDP and TCP) and the `openssl`
//! command-line client (TLS protocol versions).

use crate::transport_support;

use std::net::SocketAddr;
use std::process::{Command, Output};

use ringfence_server::transport::TransportKind;
use ringfence_sip_types::Message;
use transport_support::*;

fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "`{tool}` is not installed: apt-get install {package}");
}

async fn run(cmd: &str, args: Vec<String>) -> Output {
    let cmd = cmd.to_owned();
    tokio::task::spawn_blocking(move || Command::new(&cmd).args(&args).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {e}"))
}

async fn sipsak_options(transport: &str, server: SocketAddr) -> Output {
    let uri = format!("sip:tu@{server}");
    let args = ["-vv", "-s", &uri, "-H", "127.0.0.1", "-E", transport, "-D", "8"];
    run("sipsak", args.iter().map(|s| s.to_string()).collect()).await
}

#[tokio::test]
async fn sipsak_options_over_udp_and_tcp() {
    require("sipsak", "sipsak");
    let mut h = start(loopback_config()).await;
    for (transport, kind) in [("udp", TransportKind::Udp), ("tcp", TransportKind::Tcp)] {
        let out = sipsak_options(transport, h.addr(kind, false)).await;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "sipsak over {transport} got no 200: {text}");
        assert!(text.contains("200 OK"), "{text}");
        let seen = h.next_seen().await;
        assert_eq!(seen.kind, kind);
        match &seen.message {
            Message::Request(r) => assert_eq!(r.method.as_str(), "OPTIONS"),
            Message::Response(_) => panic!("expected sipsak's request"),
        }
    }
    h.stop().await;
}

async fn s_client(server: SocketAddr, ca: &std::path::Path, version_flag: &str) -> Output {
    let args = vec![
        "s_client".to_owned(),
        "-connect".to_owned(),
        server.to_string(),
        version_flag.to_owned(),
        // Let the client offer old versions at all (distribution defaults forbid them),
        // so that the refusal seen is the server's.
        "-cipher".to_owned(),
        "DEFAULT@SECLEVEL=0".to_owned(),
        "-CAfile".to_owned(),
        ca.display().to_string(),
        "-verify_return_error".to_owned(),
        "-brief".to_owned(),
    ];
    run("sh", vec!["-c".into(), format!("openssl {} </dev/null", args.join(" "))]).await
}

#[tokio::test]
async fn tls_1_0_and_1_1_refused_tls_1_2_and_1_3_accepted() {
    require("openssl", "openssl");
    let h = start(loopback_config()).await;
    let server = h.addr(TransportKind::Tls, false);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &h.cert_pem).unwrap();

    for (flag, expected) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let out = s_client(server, &ca, flag).await;
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{flag} handshake failed: {text}");
        assert!(text.contains(&format!("Protocol version: {expected}")), "{text}");
    }
    let failures_before = h.transports.stats().tls_handshake_failures;
    for flag in ["-tls1", "-tls1_1"] {
        let out = s_client(server, &ca, flag).await;
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{flag} must be refused: {text}");
        // rustls answers with a protocol_version (70) or handshake_failure (40) alert.
        assert!(
            text.contains("alert protocol version") || text.contains("alert handshake failure"),
            "refused by the server's alert: {text}"
        );
    }
    // The server saw both attempts (they were not stopped by the client's own policy).
    let failed = h.transports.stats().tls_handshake_failures - failures_before;
    assert_eq!(failed, 2);
    h.stop().await;
}
