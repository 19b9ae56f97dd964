//! Test harness: the whole SIP server in-process on 127.0.0.1 ephemeral ports, over a
//! SQLite store in a temporary directory, plus clients that speak raw SIP and runners for
//! the real tools (SIPp, svwar).
//!
//! ```ignore
//! let env = TestEnv::new().await;
//! let demo = env.tenant("demo.test", EncryptionRequirement::Optional).await;
//! env.extension(&demo, "100", "secret-100", true).await;
//! let server = env.start(test_config()).await;
//! // ... drive server.udp / server.tcp / server.tls ...
//! server.stop().await;
//! ```
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod client;
pub mod tools;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ringfence_server::config::{DigestAlgorithm, ServerConfig};
use ringfence_server::core::{CallFactory, SipService};
use ringfence_server::transport::{TransportConfig, TransportKind, tls};
use ringfence_sip_proto::digest::Ha1;
use ringfence_store::{
    Actor, AnyStore, CountryCode, EncryptionRequirement, Extension, ExtensionNumber, ExtensionRepo,
    MasterKey, NewExtension, NewTenant, SipCredentials, SipDomain, Tenant, TenantRepo,
    TenantSettings,
};
use tokio_util::sync::CancellationToken;

/// A store in a temporary directory, kept across server restarts.
pub struct TestEnv {
    dir: tempfile::TempDir,
    master: MasterKey,
    pub store: AnyStore,
    /// Kept across restarts, like a production data directory would.
    pub nonce_key: [u8; 32],
}

/// The configuration tests run with: defaults, except that MD5 is offered first (SIPp and
/// svwar answer only the first challenge, and only MD5) and lapsed bindings are swept
/// every second.
pub fn test_config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.auth.algorithms = vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256];
    c.registrar.sweep_interval = Duration::from_secs(1);
    c.core.shutdown_grace = Duration::from_secs(2);
    c
}

impl TestEnv {
    /// A fresh SQLite store.
    pub async fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("temporary directory");
        let master = MasterKey::generate().expect("master key");
        let store = AnyStore::open_sqlite(dir.path(), master.clone()).await.expect("open store");
        TestEnv { dir, master, store, nonce_key: [7; 32] }
    }

    /// The SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join(ringfence_store::SqliteStore::FILE_NAME)
    }

    /// Closes the store and opens the same file again (what a process restart does).
    pub async fn reopen(&mut self) {
        self.store.close().await;
        self.store = AnyStore::open_sqlite(self.dir.path(), self.master.clone())
            .await
            .expect("reopen store");
    }

    /// Creates a tenant with SIP domain `domain` and the given encryption requirement.
    pub async fn tenant(&self, domain: &str, encryption: EncryptionRequirement) -> Tenant {
        let mut settings = TenantSettings::new(CountryCode::parse("DE").unwrap());
        settings.encryption = encryption;
        self.store
            .create_tenant(
                NewTenant {
                    name: format!("Tenant {domain}"),
                    domain: SipDomain::parse(domain).unwrap(),
                    settings,
                },
                &Actor::system("test"),
            )
            .await
            .expect("create tenant")
    }

    /// Creates extension `number` with SIP password `password` (stored as MD5 and SHA-256
    /// HA1s for the tenant's realm).
    pub async fn extension(
        &self,
        tenant: &Tenant,
        number: &str,
        password: &str,
        enabled: bool,
    ) -> Extension {
        let realm = tenant.domain.as_str();
        let md5: [u8; 16] = Ha1::md5(number, realm, password).as_bytes().try_into().unwrap();
        let sha: [u8; 32] = Ha1::sha256(number, realm, password).as_bytes().try_into().unwrap();
        self.store
            .create_extension(
                tenant.id,
                NewExtension {
                    number: ExtensionNumber::parse(number).unwrap(),
                    display_name: format!("Extension {number}"),
                    owner_user_id: None,
                    enabled,
                    sip_credentials: Some(SipCredentials::new(&tenant.domain, md5, sha)),
                    pin_hash: None,
                },
                &Actor::system("test"),
            )
            .await
            .expect("create extension")
    }

    /// Starts the server with UDP, TCP and TLS listeners on 127.0.0.1 ephemeral ports and
    /// the stand-in call handler.
    pub async fn start(&self, config: ServerConfig) -> TestServer {
        self.start_with(config, None).await
    }

    /// As [`TestEnv::start`] with a call handler built by `calls` (the B2BUA).
    pub async fn start_with(&self, config: ServerConfig, calls: Option<CallFactory>) -> TestServer {
        let (cert, key) = tls::self_signed(&["127.0.0.1", "localhost"]).unwrap();
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut tc = TransportConfig::without_listeners();
        tc.udp = vec![lo];
        tc.tcp = vec![lo];
        tc.tls = vec![lo];
        let shutdown = CancellationToken::new();
        let mut b = SipService::builder(config, tc)
            .nonce_key(self.nonce_key)
            .tls_server(tls::server_config(cert.as_bytes(), key.as_bytes()).unwrap());
        if let Some(f) = calls {
            b = b.call_handler(f);
        }
        let service = b.start(self.store.clone(), shutdown.clone()).await.expect("start server");
        let t = service.transports();
        let addr = |k| t.local_addr(k).expect("listener bound");
        TestServer {
            udp: addr(TransportKind::Udp),
            tcp: addr(TransportKind::Tcp),
            tls: addr(TransportKind::Tls),
            cert_pem: cert,
            shutdown,
            service: Some(service),
        }
    }
}

/// A running server.
pub struct TestServer {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub tls: SocketAddr,
    /// The server's self-signed certificate (trust it in TLS clients).
    pub cert_pem: String,
    shutdown: CancellationToken,
    service: Option<SipService>,
}

impl TestServer {
    /// The running service (registrar, authenticator, core handle).
    pub fn service(&self) -> &SipService {
        self.service.as_ref().expect("running")
    }

    /// Starts the shutdown without waiting for it.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Shuts down and waits until everything has stopped (bindings stored, sockets
    /// closed).
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(s) = self.service.take() {
            tokio::time::timeout(Duration::from_secs(20), s.stopped())
                .await
                .expect("server stops within 20 s");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Fails the test with the install hint when a peer binary is missing.
pub fn require_binary(binary: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(binary).is_file()))
        .unwrap_or(false);
    assert!(found, "`{binary}` is not installed: apt-get install {package}");
}
