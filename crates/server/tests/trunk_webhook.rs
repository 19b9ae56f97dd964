//! Fraud notifications by signed webhook, received by a real HTTP server (Python's
//! http.server, which checks the signature with Python's hmac): a SIPp pump that gets the
//! extension suspended produces signed POSTs carrying the events' explanations, retried
//! after a 503; URLs to non-public addresses are refused unless allowed; HTTPS receivers
//! must present a certificate the server trusts.

use crate::trunk_support;

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use ringfence_server::egress::{WebhookConfig, WebhookError, WebhookSender};
use ringfence_store::{Actor, WebhookRepo as _, WebhookSecret};
use serde_json::Value;
use trunk_support::*;

use crate::common::require_binary;
use crate::common::tools::eventually;

const UK: &str = "+442079460958";

/// The Python receiver, its port and the file it records requests in.
struct Receiver {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start(secret: &str, fail_first: u32, tls: Option<(&Path, &Path)>) -> Receiver {
        require_binary("python3", "python3");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("requests.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhook/receiver.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg(secret).arg(&out).arg(fail_first.to_string());
        if let Some((cert, key)) = tls {
            cmd.arg(cert).arg(key);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().parse().expect("receiver port");
        Receiver { child, port, out, _dir: dir }
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sender(config: WebhookConfig) -> WebhookSender {
    WebhookSender::new(&config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pump_that_suspends_the_extension_is_posted_signed_to_the_tenants_webhook() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut config = egress_config(carrier.addr(), None, smtp);
    config.webhooks.allow_private_addresses = true;
    let mut t = TrunkEnv::start(config, |s| {
        s.fraud_limits.max_calls_per_minute_per_extension = 4;
    })
    .await;
    let secret = WebhookSecret::generate().unwrap();
    // The first request is answered 503: the delivery is retried.
    let receiver = Receiver::start(secret.expose(), 1, None);
    let url = format!("http://127.0.0.1:{}/ringfence/fraud", receiver.port);
    t.env.store.set_webhook(t.tenant.id, &url, &secret, &Actor::system("test")).await.unwrap();

    t.dial(UK, 12, 10).await;
    let _ = t.records().await;
    carrier.stop().await;

    let suspended = |r: &Value| {
        r["status"] == 200
            && r["body"]["event"]["kind"] == "sustained_abuse"
            && r["body"]["event"]["actions"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "suspend_extension"))
    };
    let rx = &receiver;
    assert!(
        eventually(Duration::from_secs(30), || rx.requests().iter().any(suspended)).await,
        "no webhook for the suspension: {:#?}",
        receiver.requests()
    );
    assert!(
        eventually(Duration::from_secs(30), || rx
            .requests()
            .iter()
            .any(|r| r["status"] == 200 && r["body"]["event"]["kind"] == "call_rate"))
        .await,
        "no webhook for the rate limit: {:#?}",
        receiver.requests()
    );
    let requests = receiver.requests();
    // Every request is signed with the tenant's secret, over the exact body.
    for r in &requests {
        assert_eq!(r["valid"], true, "signature does not verify: {r:#}");
        assert_eq!(r["path"], "/ringfence/fraud");
        assert_eq!(r["content_type"], "application/json");
        assert_eq!(r["body"]["type"], "fraud_event");
        assert_eq!(r["body"]["tenant"]["id"], t.tenant.id.0.to_string());
    }
    // The first was refused with 503 and its event came again.
    let first = requests.iter().find(|r| r["n"] == 1).unwrap();
    assert_eq!(first["status"], 503);
    let again = requests
        .iter()
        .filter(|r| r["body"]["id"] == first["body"]["id"] && r["status"] == 200)
        .count();
    assert_eq!(again, 1, "the refused event was not delivered again: {requests:#?}");
    // The bodies carry the explanations (the stored events' ids too).
    let rate = requests.iter().find(|r| r["body"]["event"]["kind"] == "call_rate").unwrap();
    let explanation = rate["body"]["event"]["explanation"].as_str().unwrap();
    assert!(explanation.contains("extension_calls_per_minute"), "{explanation}");
    let abuse = requests.iter().find(|r| suspended(r)).unwrap();
    assert!(!abuse["body"]["event"]["explanation"].as_str().unwrap().is_empty());
    let stored = t.fraud_events(2).await;
    assert!(
        stored.iter().any(|e| e.id.0.to_string() == abuse["body"]["id"].as_str().unwrap()),
        "posted id is not a stored event"
    );
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_to_non_public_addresses_are_refused_unless_allowed() {
    let receiver = Receiver::start("a-test-secret-0123456789", 0, None);
    let body = Bytes::from_static(br#"{"type":"fraud_event"}"#);
    let secret = "a-test-secret-0123456789";
    for url in [
        format!("http://127.0.0.1:{}/h", receiver.port),
        format!("http://localhost:{}/h", receiver.port),
        format!("http://[::ffff:127.0.0.1]:{}/h", receiver.port),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://10.0.0.1/h".to_owned(),
    ] {
        let r = sender(WebhookConfig::default()).deliver(&url, secret, body.clone()).await;
        assert!(matches!(r, Err(WebhookError::Refused(_))), "{url}: {r:?}");
    }
    assert!(receiver.requests().is_empty(), "a refused URL was reached");
    let allowed = WebhookConfig { allow_private_addresses: true, ..WebhookConfig::default() };
    let url = format!("http://localhost:{}/h", receiver.port);
    assert_eq!(sender(allowed).deliver(&url, secret, body).await.unwrap(), 200);
    let got = receiver.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["valid"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_receivers_must_present_a_trusted_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_pem, key_pem) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let secret = "a-test-secret-0123456789";
    let receiver = Receiver::start(secret, 0, Some((&cert_pem, &key_pem)));
    let url = format!("https://localhost:{}/h", receiver.port);
    let body = Bytes::from_static(br#"{"type":"fraud_event"}"#);

    // Not trusted: every attempt fails in the handshake, nothing is posted.
    let untrusted =
        WebhookConfig { allow_private_addresses: true, attempts: 1, ..WebhookConfig::default() };
    let r = sender(untrusted.clone()).deliver(&url, secret, body.clone()).await;
    match r {
        Err(WebhookError::GaveUp { last, .. }) => assert!(last.contains("TLS"), "{last}"),
        other => panic!("untrusted certificate accepted: {other:?}"),
    }
    assert!(receiver.requests().is_empty());

    // Trusted through ca_file: delivered.
    let trusted = WebhookConfig { ca_file: Some(cert_pem.clone()), ..untrusted };
    assert_eq!(sender(trusted).deliver(&url, secret, body).await.unwrap(), 200);
    assert_eq!(receiver.requests()[0]["valid"], true);
}
