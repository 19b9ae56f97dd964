//! TLS set-up shared by the HTTPS admin API and the SIP TLS listener: the self-signed
//! certificate made on first start, and rustls server configurations from PEM.
//!
//! Only the `ring` crypto provider is used, and only TLS 1.3 and 1.2.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// File name of the certificate chain inside the data directory.
pub const CERT_FILE: &str = "tls-cert.pem";
/// File name of the private key inside the data directory (mode 0600).
pub const KEY_FILE: &str = "tls-key.pem";

/// A certificate chain and its private key, PEM-encoded.
pub struct PemPair {
    /// Certificate chain, leaf first.
    pub cert_pem: String,
    /// PKCS#8 private key.
    pub key_pem: Zeroizing<String>,
}

impl std::fmt::Debug for PemPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemPair").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

/// A fresh self-signed certificate (ECDSA P-256, valid from yesterday for ten years) for
/// `names` (DNS names or IP addresses).
pub fn self_signed(names: &[String]) -> Result<PemPair> {
    let tls = |e: rcgen::Error| Error::Tls(format!("creating a certificate: {e}").into());
    let key = rcgen::KeyPair::generate().map_err(tls)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(tls)?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "Ringfence self-signed");
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let cert = params.self_signed(&key).map_err(tls)?;
    Ok(PemPair { cert_pem: cert.pem(), key_pem: Zeroizing::new(key.serialize_pem()) })
}

/// Paths of the certificate and key files in `dir`.
pub fn cert_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(CERT_FILE), dir.join(KEY_FILE))
}

/// Reads `dir/tls-cert.pem` and `dir/tls-key.pem`, or creates a self-signed pair for `names`
/// if neither exists (key written with mode 0600). Returns the pair and whether it was created.
/// One file without the other is an error (the operator should restore or remove it).
pub fn load_or_create_self_signed(dir: &Path, names: &[String]) -> Result<(PemPair, bool)> {
    let (cert_path, key_path) = cert_paths(dir);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => {
            let cert_pem = std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
            let key_pem =
                Zeroizing::new(std::fs::read_to_string(&key_path).map_err(io(&key_path))?);
            Ok((PemPair { cert_pem, key_pem }, false))
        }
        (false, false) => {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            let pair = self_signed(names)?;
            write_private(&key_path, pair.key_pem.as_bytes()).map_err(io(&key_path))?;
            std::fs::write(&cert_path, pair.cert_pem.as_bytes()).map_err(io(&cert_path))?;
            Ok((pair, true))
        }
        _ => Err(Error::Tls(
            format!(
                "only one of {} and {} exists; restore the other or remove both to get a new \
                 self-signed certificate",
                cert_path.display(),
                key_path.display()
            )
            .into(),
        )),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A rustls server configuration (ring provider, TLS 1.3 and 1.2, no client certificates)
/// from a PEM certificate chain and PEM private key, offering the ALPN protocols `alpn`.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8], alpn: &[&[u8]]) -> Result<Arc<ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Tls(format!("reading the certificate PEM: {e}").into()))?;
    if certs.is_empty() {
        return Err(Error::Tls("the certificate file holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| Error::Tls(format!("reading the private key PEM: {e}").into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls(format!("protocol versions: {e}").into()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(format!("certificate and key do not fit: {e}").into()))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// [`server_config`] for the HTTPS admin API (ALPN `http/1.1`).
pub fn https_server_config(pair: &PemPair) -> Result<Arc<ServerConfig>> {
    server_config(pair.cert_pem.as_bytes(), pair.key_pem.as_bytes(), &[b"http/1.1"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_pair_makes_a_server_config_and_is_stored_privately() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let (pair, created) = load_or_create_self_signed(dir.path(), &names).unwrap();
        assert!(created);
        https_server_config(&pair).unwrap();
        let (again, created) = load_or_create_self_signed(dir.path(), &names).unwrap();
        assert!(!created);
        assert_eq!(again.cert_pem, pair.cert_pem);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        assert!(load_or_create_self_signed(dir.path(), &names).is_err());
    }

    #[test]
    fn garbage_pem_is_refused() {
        assert!(server_config(b"nope", b"nope", &[]).is_err());
        let pair = self_signed(&["localhost".to_owned()]).unwrap();
        let other = self_signed(&["localhost".to_owned()]).unwrap();
        assert!(server_config(pair.cert_pem.as_bytes(), other.key_pem.as_bytes(), &[]).is_err());
    }
}
