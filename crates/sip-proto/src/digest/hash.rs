//! The digest arithmetic of RFC 7616 §3.4.1-§3.4.3: HA1 secrets and the `response` value.
//!
//! ```text
//! A1       = unq(username) ":" unq(realm) ":" passwd
//! A1-sess  = H( unq(username) ":" unq(realm) ":" passwd ) ":" unq(nonce) ":" unq(cnonce)
//! A2       = Method ":" request-uri
//! response = KD( H(A1), unq(nonce) ":" nc ":" unq(cnonce) ":" unq(qop) ":" H(A2) )
//!            (RFC 2069 mode, no qop: KD( H(A1), unq(nonce) ":" H(A2) ))
//! KD(secret, data) = H( secret ":" data )
//! ```
//! `H` yields lowercase hex; HA1 is stored as raw bytes and hexed only on the stack.

use std::fmt;

use md5::Digest as _;
use ringfence_sip_types::auth::{Algorithm, DigestCredentials, Qop};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::AuthFailure;

/// The hash function behind a digest algorithm (the `-sess` variants share it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// MD5 (RFC 2617 compatibility; still what most SIP phones speak).
    Md5,
    /// SHA-256 (RFC 7616, RFC 8760).
    Sha256,
    /// SHA-512/256 (RFC 7616, RFC 8760).
    Sha512_256,
}

impl HashAlgorithm {
    /// The hash and whether it is a `-sess` variant, for the algorithms this module knows.
    #[must_use]
    pub fn of(algorithm: &Algorithm) -> Option<(HashAlgorithm, bool)> {
        Some(match algorithm {
            Algorithm::Md5 => (HashAlgorithm::Md5, false),
            Algorithm::Md5Sess => (HashAlgorithm::Md5, true),
            Algorithm::Sha256 => (HashAlgorithm::Sha256, false),
            Algorithm::Sha256Sess => (HashAlgorithm::Sha256, true),
            Algorithm::Sha512_256 => (HashAlgorithm::Sha512_256, false),
            Algorithm::Sha512_256Sess => (HashAlgorithm::Sha512_256, true),
            Algorithm::Other(_) => return None,
        })
    }

    /// The plain (non-`-sess`) algorithm token for this hash.
    #[must_use]
    pub fn algorithm(self) -> Algorithm {
        match self {
            HashAlgorithm::Md5 => Algorithm::Md5,
            HashAlgorithm::Sha256 => Algorithm::Sha256,
            HashAlgorithm::Sha512_256 => Algorithm::Sha512_256,
        }
    }

    /// Output size in bytes (the `response` carries twice as many hex digits).
    #[must_use]
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 16,
            HashAlgorithm::Sha256 | HashAlgorithm::Sha512_256 => 32,
        }
    }

    /// Relative strength, for a client choosing among challenges.
    pub(crate) fn strength(self) -> u8 {
        match self {
            HashAlgorithm::Md5 => 1,
            HashAlgorithm::Sha256 => 2,
            HashAlgorithm::Sha512_256 => 3,
        }
    }

    pub(crate) fn index(self) -> usize {
        self.strength() as usize - 1
    }
}

/// A hash computation in progress.
enum Hasher {
    Md5(md5::Md5),
    Ring(ring::digest::Context),
}

impl Hasher {
    fn new(alg: HashAlgorithm) -> Self {
        match alg {
            HashAlgorithm::Md5 => Hasher::Md5(md5::Md5::new()),
            HashAlgorithm::Sha256 => {
                Hasher::Ring(ring::digest::Context::new(&ring::digest::SHA256))
            }
            HashAlgorithm::Sha512_256 => {
                Hasher::Ring(ring::digest::Context::new(&ring::digest::SHA512_256))
            }
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Ring(h) => h.update(data),
        }
    }

    /// Feeds `parts` joined by `:`.
    fn colon_joined(mut self, parts: &[&[u8]]) -> Output {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.update(b":");
            }
            self.update(part);
        }
        self.finish()
    }

    fn finish(self) -> Output {
        let mut out = Output { bytes: [0; 32], len: 0 };
        match self {
            Hasher::Md5(h) => {
                out.bytes[..16].copy_from_slice(&h.finalize());
                out.len = 16;
            }
            Hasher::Ring(h) => {
                let d = h.finish();
                out.bytes[..d.as_ref().len()].copy_from_slice(d.as_ref());
                out.len = d.as_ref().len();
            }
        }
        out
    }
}

/// A hash output (16 or 32 bytes), wiped on drop since it may be a secret.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Output {
    bytes: [u8; 32],
    len: usize,
}

impl Output {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn hex(&self) -> Hex {
        Hex::of(self.as_bytes())
    }

    pub(crate) fn to_hex_string(&self) -> String {
        self.hex().to_hex_string()
    }
}

/// Lowercase hex of up to 32 bytes, on the stack, wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Hex {
    buf: [u8; 64],
    len: usize,
}

impl Hex {
    fn of(bytes: &[u8]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = Hex { buf: [0; 64], len: bytes.len() * 2 };
        for (i, b) in bytes.iter().enumerate() {
            hex.buf[2 * i] = DIGITS[usize::from(b >> 4)];
            hex.buf[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        hex
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn to_hex_string(&self) -> String {
        // Only ASCII hex digits are ever written.
        self.as_bytes().iter().map(|&b| char::from(b)).collect()
    }
}

/// Decodes hex digits (either case) into `out`; `false` unless exactly `2 * out.len()` digits.
pub(crate) fn decode_hex(hex: &str, out: &mut [u8]) -> bool {
    let h = hex.as_bytes();
    if h.len() != out.len() * 2 {
        return false;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    for (o, pair) in out.iter_mut().zip(h.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => *o = hi << 4 | lo,
            _ => return false,
        }
    }
    true
}

/// `H(username ":" realm ":" password)`: the per-realm secret a registrar stores instead of
/// the password. Wiped from memory on drop; `Debug` does not show it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Ha1 {
    #[zeroize(skip)]
    alg: HashAlgorithm,
    bytes: [u8; 32],
}

impl Ha1 {
    /// HA1 for `alg`. The password is hashed in pieces, never copied.
    #[must_use]
    pub fn compute(alg: HashAlgorithm, username: &str, realm: &str, password: &str) -> Self {
        let out = Hasher::new(alg).colon_joined(&[
            username.as_bytes(),
            realm.as_bytes(),
            password.as_bytes(),
        ]);
        let mut bytes = [0; 32];
        bytes[..out.len].copy_from_slice(out.as_bytes());
        Ha1 { alg, bytes }
    }

    /// MD5 HA1.
    #[must_use]
    pub fn md5(username: &str, realm: &str, password: &str) -> Self {
        Self::compute(HashAlgorithm::Md5, username, realm, password)
    }

    /// SHA-256 HA1.
    #[must_use]
    pub fn sha256(username: &str, realm: &str, password: &str) -> Self {
        Self::compute(HashAlgorithm::Sha256, username, realm, password)
    }

    /// SHA-512/256 HA1.
    #[must_use]
    pub fn sha512_256(username: &str, realm: &str, password: &str) -> Self {
        Self::compute(HashAlgorithm::Sha512_256, username, realm, password)
    }

    /// Rebuilds an HA1 from its raw bytes (as the store keeps them).
    ///
    /// # Errors
    /// [`AuthFailure::InvalidSecret`] when the length does not fit `alg`.
    pub fn from_bytes(alg: HashAlgorithm, raw: &[u8]) -> Result<Self, AuthFailure> {
        if raw.len() != alg.output_len() {
            return Err(AuthFailure::InvalidSecret { expected: alg.output_len(), got: raw.len() });
        }
        let mut bytes = [0; 32];
        bytes[..raw.len()].copy_from_slice(raw);
        Ok(Ha1 { alg, bytes })
    }

    /// The hash this secret belongs to.
    #[must_use]
    pub fn algorithm(&self) -> HashAlgorithm {
        self.alg
    }

    /// The raw secret bytes (16 for MD5, 32 otherwise), for encrypted storage.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.alg.output_len()]
    }
}

impl fmt::Debug for Ha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ha1({:?}, <redacted>)", self.alg)
    }
}

/// Inputs of one `response` computation, all as the client sent them (unquoted).
pub(crate) struct ResponseInput<'a> {
    pub(crate) sess: bool,
    pub(crate) nonce: &'a str,
    pub(crate) cnonce: Option<&'a str>,
    /// `Some((nc, qop))` with qop; `None` in RFC 2069 mode.
    pub(crate) qop: Option<(u32, &'a str)>,
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
}

/// The `response` value for `ha1` (RFC 7616 §3.4.1).
pub(crate) fn response(ha1: &Ha1, input: &ResponseInput<'_>) -> Output {
    let alg = ha1.alg;
    let mut secret = Hex::of(ha1.as_bytes());
    if input.sess {
        let cnonce = input.cnonce.unwrap_or_default();
        secret = Hasher::new(alg)
            .colon_joined(&[secret.as_bytes(), input.nonce.as_bytes(), cnonce.as_bytes()])
            .hex();
    }
    let ha2 = Hasher::new(alg).colon_joined(&[input.method.as_bytes(), input.uri.as_bytes()]).hex();
    match input.qop {
        Some((nc, qop)) => {
            let nc = Hex::of(&nc.to_be_bytes());
            Hasher::new(alg).colon_joined(&[
                secret.as_bytes(),
                input.nonce.as_bytes(),
                nc.as_bytes(),
                input.cnonce.unwrap_or_default().as_bytes(),
                qop.as_bytes(),
                ha2.as_bytes(),
            ])
        }
        None => Hasher::new(alg).colon_joined(&[
            secret.as_bytes(),
            input.nonce.as_bytes(),
            ha2.as_bytes(),
        ]),
    }
}

/// The `response` that `credentials` should carry for `method` and the secret `ha1`, in
/// lowercase hex: what a server compares against and a client sends.
///
/// # Errors
/// [`AuthFailure::UnsupportedAlgorithm`] if the credentials name another hash than `ha1`'s
/// or an unknown algorithm; [`AuthFailure::Malformed`] if `qop` is present without `nc`.
pub fn compute_response(
    credentials: &DigestCredentials,
    method: &str,
    ha1: &Ha1,
) -> Result<String, AuthFailure> {
    let (alg, sess) = HashAlgorithm::of(credentials.algorithm_or_default())
        .ok_or(AuthFailure::UnsupportedAlgorithm)?;
    if alg != ha1.alg {
        return Err(AuthFailure::UnsupportedAlgorithm);
    }
    let qop = match (&credentials.qop, credentials.nc) {
        (Some(q), Some(nc)) => Some((nc, q.as_str())),
        (Some(_), None) => return Err(AuthFailure::Malformed("qop without nc")),
        (None, _) => None,
    };
    let input = ResponseInput {
        sess,
        nonce: &credentials.nonce,
        cnonce: credentials.cnonce.as_deref(),
        qop,
        method,
        uri: &credentials.uri,
    };
    Ok(response(ha1, &input).hex().to_hex_string())
}

/// Whether `qop` is the one mode this module computes (`auth`).
pub(crate) fn is_auth(qop: &Qop) -> bool {
    matches!(qop, Qop::Auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7616_3_9_1_ha1_values() {
        // H("Mufasa:http-auth@example.org:Circle of Life"), from an independent implementation.
        let hex = |h: Ha1| Hex::of(h.as_bytes()).to_hex_string();
        let (u, r, p) = ("Mufasa", "http-auth@example.org", "Circle of Life");
        assert_eq!(hex(Ha1::md5(u, r, p)), "3d78807defe7de2157e2b0b6573a855f");
        assert_eq!(
            hex(Ha1::sha256(u, r, p)),
            "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"
        );
        assert_eq!(
            hex(Ha1::sha512_256(u, r, p)),
            "fb174f5c3c7802721517cae13b98e2b8dae2e0118cb705d94ee29946319204ce"
        );
    }

    #[test]
    fn known_digests() {
        // RFC 1321 and FIPS 180-4 test vectors, through the colon joiner with one part.
        let hex = |alg, s: &str| Hasher::new(alg).colon_joined(&[s.as_bytes()]).hex();
        assert_eq!(
            hex(HashAlgorithm::Md5, "abc").to_hex_string(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex(HashAlgorithm::Sha256, "abc").to_hex_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(HashAlgorithm::Sha512_256, "abc").to_hex_string(),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
        assert_eq!(
            Hasher::new(HashAlgorithm::Md5).colon_joined(&[b"a", b"b"]).hex().to_hex_string(),
            hex(HashAlgorithm::Md5, "a:b").to_hex_string()
        );
    }

    #[test]
    fn ha1_bytes_round_trip_and_length_is_checked() {
        let h = Ha1::sha256("u", "r", "p");
        let back = Ha1::from_bytes(HashAlgorithm::Sha256, h.as_bytes()).unwrap();
        assert_eq!(back.as_bytes(), h.as_bytes());
        assert_eq!(
            Ha1::from_bytes(HashAlgorithm::Md5, h.as_bytes()).unwrap_err(),
            AuthFailure::InvalidSecret { expected: 16, got: 32 }
        );
        assert_eq!(format!("{h:?}"), "Ha1(Sha256, <redacted>)");
    }

    #[test]
    fn hex_decoding() {
        let mut out = [0u8; 2];
        assert!(decode_hex("0aFf", &mut out));
        assert_eq!(out, [0x0a, 0xff]);
        assert!(!decode_hex("0aF", &mut out));
        assert!(!decode_hex("0aFg", &mut out));
        assert!(!decode_hex("0aFf00", &mut out));
        assert!(!decode_hex("é0a", &mut out));
    }
}
