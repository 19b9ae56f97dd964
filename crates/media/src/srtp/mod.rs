//! SRTP and SRTCP (RFC 3711) with SDES keys (RFC 4568), terminated per leg: the relay
//! unprotects with the sending device's key and protects with the key it gave the
//! receiving device, so no key ever crosses between parties.
//!
//! Suites: `AES_CM_128_HMAC_SHA1_80` (mandatory), `AES_CM_128_HMAC_SHA1_32`,
//! `AEAD_AES_128_GCM` and `AEAD_AES_256_GCM` (RFC 7714). Key derivation rate 0, no MKI.
//! Replay protection is always on (a 128-packet window per SSRC).
//!
//! Why our own transform rather than `rtc-srtp`: that crate allocates a buffer per
//! packet, parses every header through `rtc-rtp`, and pulls `rtc-crypto` (with `ccm`,
//! `ctr`, `md-5`, `hmac`, `sha1`), `rtc-rtcp` and `rtc-shared` into the build; the
//! whole transform is a few hundred lines on primitives we already have. Here AES-GCM
//! and HMAC-SHA1 come from `ring` (already the project's crypto provider) and the AES
//! block cipher for counter mode from RustCrypto's `aes` (ring exposes no raw AES).
//! Everything works in place on the packet buffer. Correctness is pinned by the
//! RFC 3711 Appendix B (keystream, key derivation) and RFC 7714 §16-17 (GCM RTP and
//! RTCP) vectors in the tests.

mod aes_cm;
mod context;
mod replay;

pub use context::SrtpContext;

use ring::rand::{SecureRandom, SystemRandom};
use ringfence_sdp::CryptoSuite;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::MediaError;

/// An SRTP protection suite the relay implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SrtpSuite {
    /// AES-128 counter mode, HMAC-SHA1 tag of 80 bits (RFC 4568 §6.2.1).
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 tag of 32 bits on SRTP, 80 on SRTCP (§6.2.2).
    AesCm128HmacSha1_32,
    /// AES-128-GCM, 16-byte tag (RFC 7714).
    AeadAes128Gcm,
    /// AES-256-GCM, 16-byte tag (RFC 7714).
    AeadAes256Gcm,
}

impl SrtpSuite {
    /// Every suite, strongest last.
    pub const ALL: [SrtpSuite; 4] = [
        SrtpSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32,
        SrtpSuite::AeadAes128Gcm,
        SrtpSuite::AeadAes256Gcm,
    ];

    /// The suite for an SDP crypto-suite name, if implemented.
    pub fn from_sdp(s: &CryptoSuite) -> Option<SrtpSuite> {
        Some(match s {
            CryptoSuite::AesCm128HmacSha1_80 => SrtpSuite::AesCm128HmacSha1_80,
            CryptoSuite::AesCm128HmacSha1_32 => SrtpSuite::AesCm128HmacSha1_32,
            CryptoSuite::AeadAes128Gcm => SrtpSuite::AeadAes128Gcm,
            CryptoSuite::AeadAes256Gcm => SrtpSuite::AeadAes256Gcm,
            _ => return None,
        })
    }

    /// The SDP name.
    pub fn to_sdp(self) -> CryptoSuite {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => CryptoSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32 => CryptoSuite::AesCm128HmacSha1_32,
            SrtpSuite::AeadAes128Gcm => CryptoSuite::AeadAes128Gcm,
            SrtpSuite::AeadAes256Gcm => CryptoSuite::AeadAes256Gcm,
        }
    }

    /// Master key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            SrtpSuite::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes.
    pub fn salt_len(self) -> usize {
        if self.is_gcm() { 12 } else { 14 }
    }

    /// An AEAD (GCM) suite.
    pub fn is_gcm(self) -> bool {
        matches!(self, SrtpSuite::AeadAes128Gcm | SrtpSuite::AeadAes256Gcm)
    }

    /// Bytes SRTP adds to an RTP packet.
    pub fn rtp_overhead(self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => 10,
            SrtpSuite::AesCm128HmacSha1_32 => 4,
            _ => 16,
        }
    }
}

/// A master key and salt (zeroed on drop).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    #[zeroize(skip)]
    suite: SrtpSuite,
    key_salt: Vec<u8>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("suite", &self.suite).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A fresh random key for `suite` from the system's secure generator.
    ///
    /// # Errors
    /// [`MediaError::Random`] if the generator fails.
    pub fn generate(suite: SrtpSuite, rng: &SystemRandom) -> Result<MasterKey, MediaError> {
        let mut key_salt = vec![0u8; suite.key_len() + suite.salt_len()];
        rng.fill(&mut key_salt).map_err(|_| MediaError::Random)?;
        Ok(MasterKey { suite, key_salt })
    }

    /// A key from the concatenated key and salt (as carried in `a=crypto inline:`).
    ///
    /// # Errors
    /// [`MediaError::NotAcceptable`] when the length does not fit the suite.
    pub fn from_bytes(suite: SrtpSuite, key_salt: &[u8]) -> Result<MasterKey, MediaError> {
        if key_salt.len() != suite.key_len() + suite.salt_len() {
            return Err(MediaError::not_acceptable("SRTP key length does not match its suite"));
        }
        Ok(MasterKey { suite, key_salt: key_salt.to_vec() })
    }

    /// The suite.
    pub fn suite(&self) -> SrtpSuite {
        self.suite
    }

    /// Key then salt, concatenated.
    pub fn key_salt(&self) -> &[u8] {
        &self.key_salt
    }

    fn key(&self) -> &[u8] {
        &self.key_salt[..self.suite.key_len()]
    }

    fn salt(&self) -> &[u8] {
        &self.key_salt[self.suite.key_len()..]
    }
}
