//! TLS material for SIP over TLS: a self-signed certificate for first start and tests,
//! rustls configurations restricted to TLS 1.2 and 1.3 with the `ring` provider, and the
//! identity ([`TlsPeer`]) an outgoing connection to a given server must prove.
//!
//! rustls implements neither SSL 3.0 nor TLS 1.0/1.1, so a peer offering only those
//! fails the handshake (`protocol_version` alert).

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::error::TransportError;

/// The protocol versions offered and accepted: TLS 1.3 and TLS 1.2.
pub const PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The one crypto provider used everywhere (`ring`).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate and its private key, both PEM-encoded.
///
/// `names` become subject alternative names: entries that parse as IP addresses become
/// IP address SANs, the rest DNS names. The key is ECDSA P-256.
pub fn self_signed<S: AsRef<str>>(names: &[S]) -> Result<(String, String), TransportError> {
    let names: Vec<String> = names.iter().map(|n| n.as_ref().to_owned()).collect();
    if names.is_empty() {
        return Err(TransportError::Tls("a certificate needs at least one name".into()));
    }
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| TransportError::Tls(format!("cannot generate certificate: {e}")))?;
    Ok((ck.cert.pem(), ck.signing_key.serialize_pem()))
}

fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::Tls(format!("cannot read certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TransportError::Tls("no certificate in PEM input".into()));
    }
    Ok(certs)
}

/// A TLS server configuration (TLS 1.2+, no client certificates) from a PEM certificate
/// chain (leaf first) and a PEM private key (PKCS#8, SEC1 or PKCS#1).
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, TransportError> {
    let certs = certs_from_pem(cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| TransportError::Tls(format!("cannot read private key PEM: {e}")))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TransportError::Tls(format!("certificate and key do not match: {e}")))?;
    Ok(Arc::new(config))
}

/// A TLS client configuration (TLS 1.2+) trusting exactly the certificates in
/// `roots_pem` (a CA bundle, or a peer's self-signed certificate).
pub fn client_config(roots_pem: &[u8]) -> Result<Arc<ClientConfig>, TransportError> {
    let mut roots = RootCertStore::empty();
    for cert in certs_from_pem(roots_pem)? {
        roots.add(cert).map_err(|e| TransportError::Tls(format!("unusable root: {e}")))?;
    }
    client_config_with_roots(roots)
}

/// A TLS client configuration (TLS 1.2+) trusting the certificates of the PEM file at
/// `path` (a CA bundle).
pub fn client_config_from_file(path: &Path) -> Result<Arc<ClientConfig>, TransportError> {
    let pem =
        std::fs::read(path).map_err(|e| TransportError::Tls(format!("{}: {e}", path.display())))?;
    client_config(&pem).map_err(|e| TransportError::Tls(format!("{}: {e}", path.display())))
}

/// A TLS client configuration (TLS 1.2+) trusting the host's trust anchors (the system
/// store, as `rustls-native-certs` finds it; `SSL_CERT_FILE` overrides it).
pub fn client_config_system() -> Result<Arc<ClientConfig>, TransportError> {
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "a system trust anchor was not loaded");
    }
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        return Err(TransportError::Tls("no system trust anchors found".into()));
    }
    client_config_with_roots(roots)
}

fn client_config_with_roots(roots: RootCertStore) -> Result<Arc<ClientConfig>, TransportError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Who the server at some address must prove to be when we open a TLS connection to it:
/// the name its certificate must be valid for (RFC 5922 §7.2: the domain we meant to
/// reach, not the address DNS gave us) and the trust anchors its chain must lead to.
#[derive(Clone)]
pub struct TlsPeer {
    name: ServerName<'static>,
    config: Arc<ClientConfig>,
}

impl TlsPeer {
    /// The server must hold a certificate for `name` (a DNS name or an IP address) issued
    /// under the roots of `config`.
    pub fn new(name: &str, config: Arc<ClientConfig>) -> Result<TlsPeer, TransportError> {
        let name = ServerName::try_from(name.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|e| TransportError::Tls(format!("{name} is not a server name: {e}")))?
            .to_owned();
        Ok(TlsPeer { name, config })
    }

    /// The name the certificate is verified for.
    pub fn name(&self) -> &ServerName<'static> {
        &self.name
    }

    pub(crate) fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

impl PartialEq for TlsPeer {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.config, &other.config)
    }
}

impl Eq for TlsPeer {}

impl std::fmt::Debug for TlsPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPeer").field("name", &self.name).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_round_trips_into_configs() {
        let (cert, key) = self_signed(&["127.0.0.1", "sip.example.com"]).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY-----"));
        server_config(cert.as_bytes(), key.as_bytes()).unwrap();
        client_config(cert.as_bytes()).unwrap();
    }

    #[test]
    fn bad_material_is_reported() {
        let (cert, _) = self_signed(&["a.example"]).unwrap();
        let (_, other_key) = self_signed(&["b.example"]).unwrap();
        let e = server_config(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("do not match"), "{e}");
        assert!(server_config(b"nothing", b"nothing").is_err());
        assert!(client_config(b"").is_err());
        assert!(self_signed::<&str>(&[]).is_err());
        let config = client_config(cert.as_bytes()).unwrap();
        assert!(TlsPeer::new("carrier.example", config.clone()).is_ok());
        assert!(TlsPeer::new("[::1]", config.clone()).is_ok());
        assert!(TlsPeer::new("not a name", config).is_err());
        assert!(client_config_from_file(Path::new("/nonexistent/ca.pem")).is_err());
    }
}
