//! Harness for the trunk tests: the server with the B2BUA and the egress gate (policy +
//! fraud engine + trunks), a SIPp UAS playing the carrier, and an SMTP sink that keeps the
//! alert mails it receives.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringfence_server::b2bua::{B2buaBuilder, B2buaHandle};
use ringfence_server::egress::{
    self, EgressConfig, EgressGate, SmtpConfig, TrunkAuth, TrunkConfig,
};
use ringfence_store::{
    Actor, CallDirection, CallFilter, CallRecord, CallRecordRepo, CountryCode, Disposition, Email,
    EncryptionRequirement, ExtensionId, FraudEventRecord, FraudRepo, Tenant, TenantRepo,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::b2bua_support::{DOMAIN, PW, b2bua_config};
use crate::common::tools::{Sipp, eventually, free_udp_port, scenario_dir};
use crate::common::{TestEnv, TestServer, require_binary, test_config};

pub const ALERTS_TO: &str = "soc@calls.test";
/// The carrier's address: apart from the extensions' (127.0.0.1), as in production.
pub const CARRIER_IP: &str = "127.0.0.2";

/// A SIPp UAS on 127.0.0.1 playing the carrier; stopped with SIGUSR1 so it writes its
/// message trace out before it exits.
pub struct Carrier {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Carrier {
    pub fn start(scenario: &str, extra: &[&str]) -> Carrier {
        require_binary("sipp", "sip-tester");
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        let child = Command::new("sipp")
            .current_dir(dir.path())
            .arg("-sf")
            .arg(scenario_dir().join(scenario))
            .args(["-i", CARRIER_IP, "-p", &port.to_string(), "-nostdin"])
            .args(["-timeout", "120s", "-trace_msg", "-message_file"])
            .arg(dir.path().join("messages.log"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sipp");
        Carrier { port, child, dir }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(CARRIER_IP.parse().unwrap(), self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("messages.log")
    }

    /// Stops SIPp (SIGUSR1: it ends its calls and writes its trace out) and returns
    /// every message it received.
    pub async fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-USR1", &pid]).status();
        let mut exited = false;
        for _ in 0..300 {
            if self.child.try_wait().ok().flatten().is_some() {
                exited = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let trace = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        split(&trace, "message received")
    }
}

fn split(trace: &str, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    for block in trace.split("----------------------------------------------- ") {
        let Some((heading, body)) = block.split_once('\n') else { continue };
        if !heading.contains(kind) && !body.lines().next().unwrap_or("").contains(kind) {
            continue;
        }
        if let Some(i) = body.find("\n\n") {
            out.push(body[i + 2..].trim_end().to_owned());
        }
    }
    out
}

/// INVITEs among `messages` (retransmissions counted once, by Call-ID and CSeq).
pub fn invites(messages: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    messages
        .iter()
        .filter(|m| m.starts_with("INVITE "))
        .filter(|m| {
            let key = (header(m, "Call-ID"), header(m, "CSeq"));
            seen.insert(format!("{key:?}"))
        })
        .cloned()
        .collect()
}

pub fn header(message: &str, name: &str) -> Option<String> {
    message.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// A minimal SMTP server (RFC 5321 commands the client needs) keeping each message's
/// data.
#[derive(Clone, Default)]
pub struct SmtpSink {
    pub mails: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> (SmtpSink, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = SmtpSink::default();
        let mails = sink.mails.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let mails = mails.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("DATA") {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(&line);
                            }
                            mails.lock().unwrap().push(data);
                            b"250 queued\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        (sink, addr)
    }

    pub fn all(&self) -> Vec<String> {
        self.mails.lock().unwrap().clone()
    }
}

/// A server with the B2BUA whose gate is the egress gate, its driver running.
pub struct TrunkEnv {
    pub env: TestEnv,
    pub tenant: Tenant,
    pub server: Option<TestServer>,
    pub b2bua: B2buaHandle,
    pub gate: Arc<EgressGate>,
    pub caller: ExtensionId,
    pub config: EgressConfig,
    /// The trunks' registrations with their carrier.
    pub registrations: Option<egress::Registrations>,
    stop: CancellationToken,
    driver: Option<JoinHandle<()>>,
}

/// An egress configuration with one IP-authenticated platform trunk to `carrier`, the
/// rates in `rates` (CSV), and alerts mailed through `smtp`.
pub fn egress_config(carrier: SocketAddr, rates: Option<&str>, smtp: SocketAddr) -> EgressConfig {
    let rates_file = rates.map(|r| {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), r).unwrap();
        f.into_temp_path().keep().unwrap()
    });
    EgressConfig {
        trunks: vec![TrunkConfig {
            name: "carrier".into(),
            host: carrier.ip().to_string(),
            port: Some(carrier.port()),
            transport: Default::default(),
            auth: TrunkAuth::Ip,
            tenants: vec![],
            caller_id: Some("+4930901820".into()),
            register: false,
            register_expires_s: None,
            realm: None,
            tls_ca_file: None,
            advertised_address: None,
        }],
        rates_file,
        snapshot_interval_s: 60,
        smtp: Some(SmtpConfig { server: smtp, from: "ringfence@platform.test".into() }),
        ..EgressConfig::default()
    }
}

impl TrunkEnv {
    /// Tenant `DOMAIN` (home DE, international on to GB, encryption optional, alerts to
    /// [`ALERTS_TO`]) changed by `settings`, extension 100, and the server.
    pub async fn start(
        config: EgressConfig,
        settings: impl FnOnce(&mut ringfence_store::TenantSettings),
    ) -> TrunkEnv {
        let env = TestEnv::new().await;
        let tenant = env.tenant(DOMAIN, EncryptionRequirement::Optional).await;
        let mut s = tenant.settings.clone();
        s.international_calling = true;
        s.allowed_countries.insert(CountryCode::parse("GB").unwrap());
        s.notifications.emails = vec![Email::parse(ALERTS_TO).unwrap()];
        settings(&mut s);
        let tenant =
            env.store.update_tenant_settings(tenant.id, s, &Actor::system("test")).await.unwrap();
        let caller = env.extension(&tenant, "100", PW, true).await.id;
        let (server, b2bua, gate, stop, driver) = boot(&env, &config).await;
        let registrations =
            Some(egress::Registrations::start(server.service().core().clone(), &gate));
        TrunkEnv {
            env,
            tenant,
            server: Some(server),
            b2bua,
            gate,
            caller,
            config,
            registrations,
            stop,
            driver: Some(driver),
        }
    }

    /// Starts everything again (the fraud state restored from the store).
    pub async fn boot(&mut self) {
        let (server, b2bua, gate, stop, driver) = boot(&self.env, &self.config).await;
        self.server = Some(server);
        self.b2bua = b2bua;
        self.gate = gate;
        self.stop = stop;
        self.driver = Some(driver);
    }

    /// Stops the server and the driver (which saves the fraud state).
    pub async fn halt(&mut self) {
        if let Some(r) = self.registrations.take() {
            r.stop().await;
        }
        self.b2bua.shutdown().await;
        self.stop.cancel();
        if let Some(d) = self.driver.take() {
            tokio::time::timeout(Duration::from_secs(20), d).await.unwrap().unwrap();
        }
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    pub fn sip(&self) -> SocketAddr {
        self.server.as_ref().unwrap().udp
    }

    /// Extension 100 dials `number` `calls` times in a row with [`trunk_uac.xml`].
    pub async fn dial(
        &self,
        number: &str,
        calls: u32,
        rate_per_s: u32,
    ) -> crate::common::tools::SippRun {
        Sipp::new("trunk_uac.xml", self.sip())
            .account("100", PW, DOMAIN)
            .arg("-auth_uri")
            .arg(format!("{number}@{DOMAIN}"))
            .key("callee", number)
            .arg("-m")
            .arg(calls.to_string())
            .arg("-r")
            .arg(rate_per_s.to_string())
            .run()
            .await
    }

    /// Extension 100 dials `number` once with [`trunk_uac.xml`], SIPp given `extra`
    /// arguments.
    pub async fn dial_with(&self, number: &str, extra: &[&str]) -> crate::common::tools::SippRun {
        let mut sipp = Sipp::new("trunk_uac.xml", self.sip())
            .account("100", PW, DOMAIN)
            .arg("-auth_uri")
            .arg(format!("{number}@{DOMAIN}"))
            .key("callee", number)
            .arg("-m")
            .arg("1");
        for a in extra {
            sipp = sipp.arg(*a);
        }
        sipp.run().await
    }

    /// Every call ended; the records, oldest first.
    pub async fn records(&self) -> Vec<CallRecord> {
        let b = self.b2bua.clone();
        assert!(
            eventually(Duration::from_secs(20), || b.stats().calls == 0).await,
            "calls still running"
        );
        self.b2bua.flush_records().await;
        let mut page = self
            .env
            .store
            .list_call_records(self.tenant.id, &CallFilter::default(), 1000, None)
            .await
            .unwrap();
        page.records.reverse();
        page.records
    }

    /// Fraud events, newest first, once at least `n` are stored.
    pub async fn fraud_events(&self, n: usize) -> Vec<FraudEventRecord> {
        let end = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let list = self.env.store.list_fraud_events(self.tenant.id, 1000, None).await.unwrap();
            if list.len() >= n || tokio::time::Instant::now() > end {
                return list;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The server, the gate and its driver (restoring the fraud state).
async fn boot(
    env: &TestEnv,
    config: &EgressConfig,
) -> (TestServer, B2buaHandle, Arc<EgressGate>, CancellationToken, JoinHandle<()>) {
    let (gate, driver) = egress::build(config, env.store.clone()).await.unwrap();
    let (factory, b2bua) = B2buaBuilder::new(b2bua_config(), env.store.clone())
        .gate(gate.clone())
        .observer(gate.clone())
        .build()
        .unwrap();
    let server = env.start_with(test_config(), Some(factory)).await;
    let stop = CancellationToken::new();
    let driver = tokio::spawn(driver.run(b2bua.clone(), stop.clone().cancelled_owned()));
    (server, b2bua, gate, stop, driver)
}

pub fn outbound(records: &[CallRecord], d: Disposition) -> Vec<&CallRecord> {
    records
        .iter()
        .filter(|r| r.call.direction == CallDirection::Outbound && r.call.disposition == d)
        .collect()
}

/// Waits for a mail at the sink containing `needle`.
pub async fn mail_with(sink: &SmtpSink, needle: &str) -> Option<String> {
    let s = sink.clone();
    let n = needle.to_owned();
    eventually(Duration::from_secs(15), move || s.all().iter().any(|m| m.contains(&n))).await;
    sink.all().into_iter().find(|m| m.contains(needle))
}

/// A test certificate authority, and server certificates it issues (rcgen), as PEM files
/// in a temporary directory.
pub struct TestCa {
    pub dir: tempfile::TempDir,
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::CertifiedIssuer::self_signed(params, key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), issuer.pem()).unwrap();
        TestCa { dir, issuer }
    }

    /// The CA certificate (PEM file), for `tls_ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A server certificate for `names` and its key, as PEM files named after `tag`.
    pub fn issue(&self, tag: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = rcgen::CertificateParams::new(names).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_path = self.dir.path().join(format!("{tag}.pem"));
        let key_path = self.dir.path().join(format!("{tag}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}

/// A carrier over TLS: a SIPp UAS over TCP behind a TLS server that holds `cert`/`key`
/// (socat with OpenSSL: the Debian SIPp is built without TLS). Every TLS connection to
/// [`TlsCarrier::addr`] is one TCP connection to SIPp, so responses and requests go back
/// over the TLS connection they belong to.
pub struct TlsCarrier {
    pub sipp: Carrier,
    pub port: u16,
    socat: Child,
}

impl TlsCarrier {
    pub async fn start(scenario: &str, extra: &[&str], cert: &Path, key: &Path) -> TlsCarrier {
        require_binary("socat", "socat");
        let mut args = vec!["-t", "t1"];
        args.extend_from_slice(extra);
        let sipp = Carrier::start(scenario, &args);
        let port = free_udp_port();
        let socat = Command::new("socat")
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind={CARRIER_IP},reuseaddr,fork,cert={},key={},verify=0",
                cert.display(),
                key.display()
            ))
            .arg(format!("TCP:{}", sipp.addr()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start socat");
        let carrier = TlsCarrier { sipp, port, socat };
        let (plain, tls) = (carrier.sipp.addr(), carrier.addr());
        assert!(
            eventually(Duration::from_secs(10), || std::net::TcpStream::connect(plain).is_ok())
                .await,
            "the carrier's SIPp does not listen on TCP {plain}"
        );
        assert!(
            eventually(Duration::from_secs(10), || std::net::TcpStream::connect(tls).is_ok()).await,
            "socat does not listen on {tls}"
        );
        carrier
    }

    /// The TLS address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(CARRIER_IP.parse().unwrap(), self.port)
    }

    /// Stops the TLS server and SIPp; every message SIPp received.
    pub async fn stop(mut self) -> Vec<String> {
        let _ = self.socat.kill();
        let _ = self.socat.wait();
        self.sipp.stop().await
    }
}
