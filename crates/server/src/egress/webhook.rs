//! Fraud notifications by signed webhook: each fraud event that alerts is POSTed as JSON to
//! the tenant's webhook URL (set through the admin API, stored with its secret sealed),
//! signed so the receiver can tell it came from us and was not replayed:
//!
//! ```text
//! Ringfence-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//! ```
//!
//! Deliveries run in their own task (never on the call path), with a timeout per attempt
//! and a few attempts with doubling pauses; a 2xx ends them, a 4xx other than 408/429 too
//! (the receiver refuses it, repeating would not help). HTTPS verifies the receiver's
//! certificate against the host's trust anchors (plus `ca_file`). Addresses that are not
//! public (loopback, private, link-local, CGNAT, multicast, ...) are refused after
//! resolution, and the connection goes to the address that was checked, so a URL cannot
//! reach into the platform's own network (SSRF) unless `allow_private_addresses` is set.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use ring::hmac;
use ringfence_fraud::FraudEvent;
use ringfence_store::{FraudEventId, Tenant};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject as _;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Ringfence-Signature";

fn default_timeout() -> u64 {
    10
}

fn default_attempts() -> u32 {
    4
}

/// How fraud webhooks are delivered (`[sip.egress.webhooks]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Allow URLs whose host resolves to a loopback, private, link-local or otherwise
    /// non-public address (default false: such URLs are refused, against SSRF).
    #[serde(default)]
    pub allow_private_addresses: bool,
    /// Seconds one attempt may take, connection included (default 10).
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    /// Attempts per event (default 4; pauses of 1, 2, 4 ... seconds between them).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Extra trust anchors (PEM) for HTTPS receivers, besides the host's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow_private_addresses: false,
            timeout_s: default_timeout(),
            attempts: default_attempts(),
            ca_file: None,
        }
    }
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The URL is unusable or its address is not allowed (not retried).
    #[error("refused: {0}")]
    Refused(String),
    /// The receiver answered with a status that repeating would not change.
    #[error("receiver answered {0}")]
    Rejected(u16),
    /// Every attempt failed; the last reason.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

/// The signature header's value for `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: u64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(t.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("t={t},v1={}", hex::encode(ctx.sign().as_ref()))
}

/// The JSON body for `event` of `tenant` (stored as `id`, when it was).
pub fn payload(tenant: &Tenant, id: Option<FraudEventId>, event: &FraudEvent) -> Vec<u8> {
    let stored = super::driver::stored_event(event);
    let body = serde_json::json!({
        "type": "fraud_event",
        "id": id.map(|i| i.0),
        "tenant": { "id": tenant.id.0, "domain": tenant.domain.as_str(), "name": tenant.name },
        "event": stored,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Whether `ip` is an address on the public internet (what a webhook may reach by default).
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, shared (CGNAT)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, protocol assignments
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
                || o[0] >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b)) // NAT64: an IPv4 address in disguise
        }
    }
}

/// Sends signed webhooks.
#[derive(Clone)]
pub struct WebhookSender {
    tls: tokio_rustls::TlsConnector,
    allow_private: bool,
    timeout: Duration,
    attempts: u32,
    first_pause: Duration,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("allow_private", &self.allow_private)
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// One attempt's failure: retry or not.
enum Failure {
    Retry(String),
    Stop(WebhookError),
}

struct Target {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse(url: &str) -> Result<Target, WebhookError> {
    let refused = |m: &str| WebhookError::Refused(m.to_owned());
    let uri: Uri = url.parse().map_err(|_| refused("not a URL"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(refused("not an http(s) URL")),
    };
    let authority = uri.authority().ok_or_else(|| refused("no host"))?;
    if authority.as_str().contains('@') {
        return Err(refused("credentials in the URL"));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
    if host.is_empty() {
        return Err(refused("no host"));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok(Target { https, host, port, path })
}

impl WebhookSender {
    /// A sender as `config` says, trusting the host's anchors plus `config.ca_file`.
    ///
    /// # Errors
    /// When `ca_file` cannot be read or holds no certificate.
    pub fn new(config: &WebhookConfig) -> Result<WebhookSender, String> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!(error = %e, "a system trust anchor was not loaded");
        }
        let (added, _) = roots.add_parsable_certificates(native.certs);
        let mut extra = 0;
        if let Some(path) = &config.ca_file {
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("webhooks.ca_file {}: {e}", path.display()))?;
            for c in certs {
                let c = c.map_err(|e| format!("webhooks.ca_file {}: {e}", path.display()))?;
                roots.add(c).map_err(|e| format!("webhooks.ca_file {}: {e}", path.display()))?;
                extra += 1;
            }
            if extra == 0 {
                return Err(format!("webhooks.ca_file {}: no certificate", path.display()));
            }
        }
        tracing::debug!(system = added, extra, "webhook trust anchors");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(WebhookSender {
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            allow_private: config.allow_private_addresses,
            timeout: Duration::from_secs(config.timeout_s.max(1)),
            attempts: config.attempts.clamp(1, 10),
            first_pause: Duration::from_secs(1),
        })
    }

    /// Delivers `body` to `url` signed with `secret`, retrying as configured; returns the
    /// receiver's status.
    ///
    /// # Errors
    /// [`WebhookError`] when it was not delivered.
    pub async fn deliver(&self, url: &str, secret: &str, body: Bytes) -> Result<u16, WebhookError> {
        let target = parse(url)?;
        let mut pause = self.first_pause;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let once = self.attempt(&target, secret, body.clone());
            let outcome = match tokio::time::timeout(self.timeout, once).await {
                Ok(r) => r,
                Err(_) => Err(Failure::Retry("timed out".into())),
            };
            match outcome {
                Ok(status) => return Ok(status),
                Err(Failure::Stop(e)) => return Err(e),
                Err(Failure::Retry(why)) => {
                    tracing::debug!(attempt, error = %why, "webhook attempt failed");
                    last = why;
                }
            }
            if attempt < self.attempts {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
        Err(WebhookError::GaveUp { attempts: self.attempts, last })
    }

    /// The addresses of `target` that may be reached.
    async fn addresses(&self, target: &Target) -> Result<Vec<SocketAddr>, Failure> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| Failure::Retry(format!("{} does not resolve: {e}", target.host)))?
            .collect();
        if addrs.is_empty() {
            return Err(Failure::Retry(format!("{} has no address", target.host)));
        }
        if !self.allow_private
            && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip()))
        {
            return Err(Failure::Stop(WebhookError::Refused(format!(
                "{} resolves to {}, which is not a public address",
                target.host,
                bad.ip()
            ))));
        }
        Ok(addrs)
    }

    async fn attempt(&self, target: &Target, secret: &str, body: Bytes) -> Result<u16, Failure> {
        let addrs = self.addresses(target).await?;
        let mut stream = None;
        let mut why = String::new();
        for a in &addrs {
            match TcpStream::connect(a).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => why = format!("connect {a}: {e}"),
            }
        }
        let stream = stream.ok_or(Failure::Retry(why))?;
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let host_header = match (target.https, target.port) {
            (true, 443) | (false, 80) => target.host.clone(),
            _ if target.host.contains(':') => format!("[{}]:{}", target.host, target.port),
            _ => format!("{}:{}", target.host, target.port),
        };
        let request = hyper::Request::post(target.path.as_str())
            .header(hyper::header::HOST, host_header)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "Ringfence-Webhook/1")
            .header(SIGNATURE_HEADER, signature(secret, t, &body))
            .body(Full::new(body))
            .map_err(|e| Failure::Stop(WebhookError::Refused(e.to_string())))?;
        let status = if target.https {
            let name = ServerName::try_from(target.host.clone())
                .map_err(|e| Failure::Stop(WebhookError::Refused(format!("host name: {e}"))))?;
            let tls = self
                .tls
                .connect(name, stream)
                .await
                .map_err(|e| Failure::Retry(format!("TLS: {e}")))?;
            exchange(tls, request).await?
        } else {
            exchange(stream, request).await?
        };
        match status {
            200..=299 => Ok(status),
            408 | 429 => Err(Failure::Retry(format!("receiver answered {status}"))),
            300..=499 => Err(Failure::Stop(WebhookError::Rejected(status))),
            _ => Err(Failure::Retry(format!("receiver answered {status}"))),
        }
    }
}

async fn exchange<S>(io: S, request: hyper::Request<Full<Bytes>>) -> Result<u16, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| Failure::Retry(format!("HTTP: {e}")))?;
    let conn = tokio::spawn(conn);
    let response =
        sender.send_request(request).await.map_err(|e| Failure::Retry(format!("HTTP: {e}")))?;
    let status = response.status().as_u16();
    // Read (and drop) a bounded body so the connection ends cleanly.
    let _ = tokio::time::timeout(Duration::from_secs(2), response.into_body().collect()).await;
    drop(sender);
    conn.abort();
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 does not cover this framing; the value was computed with Python's
        // hmac.new(b"whsec_test", b"1700000000.{}", hashlib.sha256).hexdigest().
        let s = signature("whsec_test", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }

    #[test]
    fn only_public_addresses_are_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "198.18.0.1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn urls_are_parsed_or_refused() {
        let t = parse("https://hooks.example.com/a?b=c").unwrap();
        assert!(t.https && t.host == "hooks.example.com" && t.port == 443 && t.path == "/a?b=c");
        let t = parse("http://[::1]:8080").unwrap();
        assert!(!t.https && t.host == "::1" && t.port == 8080 && t.path == "/");
        for bad in ["ftp://x/", "https://u:p@x/", "x", "/path"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
