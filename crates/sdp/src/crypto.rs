//! SDES `a=crypto` (RFC 4568): the SRTP master key and salt of the sender, in the clear
//! inside SDP, which is why it may only travel over TLS signalling.
//!
//! ```text
//! a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]
//! tag              = 1*9DIGIT
//! crypto-suite     = 1*(ALPHA / DIGIT / "_")
//! key-params       = key-param *(";" key-param)
//! key-param        = key-method ":" key-info
//! key-method       = "inline" / key-method-ext
//! srtp-key-info    = key-salt ["|" lifetime] ["|" mki]
//! key-salt         = 1*(base64)   ; binary key and salt values concatenated
//! lifetime         = ["2^"] 1*(DIGIT)
//! mki              = mki-value ":" mki-length
//! mki-value        = 1*DIGIT
//! mki-length       = 1*3DIGIT     ; range 1..128
//! session-param    = srtp-session-param / srtp-session-extension
//!                                                      (RFC 4568 §9.1, §9.2)
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use crate::{Media, Sdp, SdpError};

/// Base64 (RFC 4648 §4) that accepts a key with or without padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An SRTP crypto suite name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CryptoSuite {
    /// `AES_CM_128_HMAC_SHA1_80` (RFC 4568 §6.2.1), mandatory to implement.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32` (RFC 4568 §6.2.2).
    AesCm128HmacSha1_32,
    /// `F8_128_HMAC_SHA1_80` (RFC 4568 §6.2.3).
    F8_128HmacSha1_80,
    /// `AES_192_CM_HMAC_SHA1_80` (RFC 6188).
    AesCm192HmacSha1_80,
    /// `AES_192_CM_HMAC_SHA1_32` (RFC 6188).
    AesCm192HmacSha1_32,
    /// `AES_256_CM_HMAC_SHA1_80` (RFC 6188).
    AesCm256HmacSha1_80,
    /// `AES_256_CM_HMAC_SHA1_32` (RFC 6188).
    AesCm256HmacSha1_32,
    /// `AEAD_AES_128_GCM` (RFC 7714 §12).
    AeadAes128Gcm,
    /// `AEAD_AES_256_GCM` (RFC 7714 §12).
    AeadAes256Gcm,
    /// Any other suite, kept as written.
    Other(String),
}

const SUITES: [(&str, CryptoSuite, usize, usize); 9] = [
    ("AES_CM_128_HMAC_SHA1_80", CryptoSuite::AesCm128HmacSha1_80, 16, 14),
    ("AES_CM_128_HMAC_SHA1_32", CryptoSuite::AesCm128HmacSha1_32, 16, 14),
    ("F8_128_HMAC_SHA1_80", CryptoSuite::F8_128HmacSha1_80, 16, 14),
    ("AES_192_CM_HMAC_SHA1_80", CryptoSuite::AesCm192HmacSha1_80, 24, 14),
    ("AES_192_CM_HMAC_SHA1_32", CryptoSuite::AesCm192HmacSha1_32, 24, 14),
    ("AES_256_CM_HMAC_SHA1_80", CryptoSuite::AesCm256HmacSha1_80, 32, 14),
    ("AES_256_CM_HMAC_SHA1_32", CryptoSuite::AesCm256HmacSha1_32, 32, 14),
    ("AEAD_AES_128_GCM", CryptoSuite::AeadAes128Gcm, 16, 12),
    ("AEAD_AES_256_GCM", CryptoSuite::AeadAes256Gcm, 32, 12),
];

impl CryptoSuite {
    /// Parses a suite name (case-sensitive, as registered).
    pub fn parse(s: &str) -> CryptoSuite {
        SUITES
            .into_iter()
            .find(|(n, ..)| *n == s)
            .map_or_else(|| CryptoSuite::Other(s.to_owned()), |(_, c, ..)| c)
    }

    /// The registered name.
    pub fn as_str(&self) -> &str {
        match self {
            CryptoSuite::Other(s) => s,
            known => SUITES.iter().find(|(_, c, ..)| c == known).map_or("", |(n, ..)| n),
        }
    }

    /// Master key and master salt lengths in bytes, for a known suite.
    pub fn key_salt_len(&self) -> Option<(usize, usize)> {
        SUITES.iter().find(|(_, c, ..)| c == self).map(|(_, _, k, s)| (*k, *s))
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Key lifetime: the number of packets the master key may protect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Written as `2^n`.
    pub power_of_two: bool,
    /// `n` (or the plain number).
    pub value: u64,
}

impl Lifetime {
    /// The lifetime in packets (saturating at `u64::MAX`).
    pub fn packets(&self) -> u64 {
        if self.power_of_two {
            1u64.checked_shl(u32::try_from(self.value).unwrap_or(u32::MAX)).unwrap_or(u64::MAX)
        } else {
            self.value
        }
    }
}

/// Master key identifier carried in every packet (RFC 3711 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mki {
    /// Its value.
    pub value: u64,
    /// Its length on the wire in bytes (1..=128).
    pub length: u8,
}

/// An `inline:` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineKey {
    /// The key and salt, base64 as written.
    pub key_salt_b64: String,
    /// Optional lifetime.
    pub lifetime: Option<Lifetime>,
    /// Optional MKI.
    pub mki: Option<Mki>,
}

impl InlineKey {
    /// A key with neither lifetime nor MKI, base64 encoded with padding.
    pub fn new(key_salt: &[u8]) -> InlineKey {
        InlineKey {
            key_salt_b64: general_purpose::STANDARD.encode(key_salt),
            lifetime: None,
            mki: None,
        }
    }

    /// The concatenated master key and salt.
    pub fn key_salt(&self) -> Vec<u8> {
        LENIENT.decode(&self.key_salt_b64).unwrap_or_default()
    }

    fn parse(info: &str, whole: &str) -> Result<InlineKey, SdpError> {
        let bad = |reason| SdpError::field("a=crypto", whole, reason);
        let mut parts = info.split('|');
        let b64 = parts.next().unwrap_or("");
        if b64.is_empty() || LENIENT.decode(b64).is_err() {
            return Err(bad("key-salt is not base64"));
        }
        let mut key = InlineKey { key_salt_b64: b64.to_owned(), lifetime: None, mki: None };
        for p in parts {
            if let Some((v, l)) = p.split_once(':') {
                if key.mki.is_some() {
                    return Err(bad("more than one MKI"));
                }
                let digits = |s: &str, n| {
                    !s.is_empty() && s.len() <= n && s.bytes().all(|b| b.is_ascii_digit())
                };
                if !digits(v, 20) || !digits(l, 3) {
                    return Err(bad("MKI is not mki-value \":\" mki-length"));
                }
                let value = v.parse().map_err(|_| bad("MKI value too large"))?;
                let length: u8 = l.parse().map_err(|_| bad("MKI length out of 1..128"))?;
                if !(1..=128).contains(&length) {
                    return Err(bad("MKI length out of 1..128"));
                }
                key.mki = Some(Mki { value, length });
            } else {
                if key.lifetime.is_some() || key.mki.is_some() {
                    return Err(bad("lifetime after MKI or twice"));
                }
                let (pow, n) = match p.strip_prefix("2^") {
                    Some(n) => (true, n),
                    None => (false, p),
                };
                if n.is_empty() || n.len() > 20 || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("lifetime is not [\"2^\"] 1*DIGIT"));
                }
                let value = n.parse().map_err(|_| bad("lifetime too large"))?;
                key.lifetime = Some(Lifetime { power_of_two: pow, value });
            }
        }
        Ok(key)
    }
}

impl fmt::Display for InlineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key_salt_b64)?;
        if let Some(l) = self.lifetime {
            f.write_str(if l.power_of_two { "|2^" } else { "|" })?;
            write!(f, "{}", l.value)?;
        }
        if let Some(m) = self.mki {
            write!(f, "|{}:{}", m.value, m.length)?;
        }
        Ok(())
    }
}

/// One key-param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParam {
    /// `inline:<key-info>`.
    Inline(InlineKey),
    /// Another key method, kept as written.
    Other {
        /// The method.
        method: String,
        /// Its info.
        info: String,
    },
}

impl fmt::Display for KeyParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyParam::Inline(k) => write!(f, "inline:{k}"),
            KeyParam::Other { method, info } => write!(f, "{method}:{info}"),
        }
    }
}

/// A typed `a=crypto` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    /// Tag identifying this line among the offer's alternatives.
    pub tag: u32,
    /// The suite.
    pub suite: CryptoSuite,
    /// One or more keys.
    pub keys: Vec<KeyParam>,
    /// Session parameters (`KDR=`, `UNENCRYPTED_SRTP`, `WSH=`, ...), as written.
    pub session_params: Vec<String>,
}

impl Crypto {
    /// A line with one inline key and no session parameters.
    pub fn inline(tag: u32, suite: CryptoSuite, key_salt: &[u8]) -> Crypto {
        Crypto {
            tag,
            suite,
            keys: vec![KeyParam::Inline(InlineKey::new(key_salt))],
            session_params: vec![],
        }
    }

    /// Parses the value after `a=crypto:`. The key of a known suite must decode to its
    /// key + salt length.
    ///
    /// # Errors
    /// [`SdpError::BadField`] naming the problem.
    pub fn parse(value: &str) -> Result<Crypto, SdpError> {
        let bad = |reason| SdpError::field("a=crypto", value, reason);
        let mut f = value.split([' ', '\t']).filter(|s| !s.is_empty());
        let tag = f.next().unwrap_or("");
        if tag.is_empty() || tag.len() > 9 || !tag.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("tag is not 1*9DIGIT"));
        }
        let suite = f.next().ok_or_else(|| bad("no crypto-suite"))?;
        if !suite.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad("crypto-suite is not 1*(ALPHA / DIGIT / \"_\")"));
        }
        let suite = CryptoSuite::parse(suite);
        let key_params = f.next().ok_or_else(|| bad("no key-params"))?;
        let mut keys = Vec::new();
        for kp in key_params.split(';') {
            let (method, info) =
                kp.split_once(':').ok_or_else(|| bad("key-param is not method:info"))?;
            if method.is_empty() || info.is_empty() {
                return Err(bad("key-param is not method:info"));
            }
            if method == "inline" {
                let key = InlineKey::parse(info, value)?;
                if let Some((k, s)) = suite.key_salt_len()
                    && key.key_salt().len() != k + s
                {
                    return Err(bad("key-salt length does not match the suite"));
                }
                keys.push(KeyParam::Inline(key));
            } else {
                keys.push(KeyParam::Other { method: method.into(), info: info.into() });
            }
        }
        let tag = tag.parse().map_err(|_| bad("tag is not 1*9DIGIT"))?;
        Ok(Crypto { tag, suite, keys, session_params: f.map(str::to_owned).collect() })
    }

    /// The first inline key.
    pub fn inline_key(&self) -> Option<&InlineKey> {
        self.keys.iter().find_map(|k| match k {
            KeyParam::Inline(k) => Some(k),
            KeyParam::Other { .. } => None,
        })
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.tag, self.suite)?;
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{k}")?;
        }
        for p in &self.session_params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

impl Media {
    /// The well-formed `a=crypto` lines of this section, in order; malformed ones are
    /// skipped (they offer nothing usable).
    pub fn cryptos(&self) -> Vec<Crypto> {
        self.attributes("crypto")
            .filter_map(|l| l.attribute().and_then(|(_, v)| Crypto::parse(v?).ok()))
            .collect()
    }

    /// Replaces every `a=crypto` line with `cryptos`.
    pub fn set_cryptos(&mut self, cryptos: &[Crypto]) {
        self.remove_attribute("crypto");
        for c in cryptos {
            self.push_attribute(format!("crypto:{c}"));
        }
    }
}

impl Sdp {
    /// Session-level `a=crypto` lines (allowed by RFC 4568 §9.1 grammar, rare).
    pub fn session_cryptos(&self) -> Vec<Crypto> {
        self.session_attributes("crypto")
            .filter_map(|l| l.attribute().and_then(|(_, v)| Crypto::parse(v?).ok()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4568_section_4_example_round_trips() {
        let text = "1 AES_CM_128_HMAC_SHA1_80 \
                    inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";
        let c = Crypto::parse(text).unwrap();
        assert_eq!((c.tag, &c.suite), (1, &CryptoSuite::AesCm128HmacSha1_80));
        let k = c.inline_key().unwrap();
        assert_eq!(k.key_salt().len(), 30);
        assert_eq!(k.lifetime, Some(Lifetime { power_of_two: true, value: 20 }));
        assert_eq!(k.lifetime.unwrap().packets(), 1 << 20);
        assert_eq!(k.mki, Some(Mki { value: 1, length: 4 }));
        assert_eq!(c.to_string(), text);
    }

    #[test]
    fn rfc4568_section_9_2_session_params_and_several_keys() {
        let text = "2 F8_128_HMAC_SHA1_80 \
                    inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;\
                    inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP";
        let c = Crypto::parse(text).unwrap();
        assert_eq!(c.keys.len(), 2);
        assert_eq!(c.session_params, ["FEC_ORDER=FEC_SRTP"]);
        assert_eq!(c.to_string(), text);
        let other = Crypto::parse("3 FUTURE_SUITE foo:bar KDR=8 WSH=128").unwrap();
        assert_eq!(other.suite, CryptoSuite::Other("FUTURE_SUITE".into()));
        assert_eq!(other.to_string(), "3 FUTURE_SUITE foo:bar KDR=8 WSH=128");
    }

    #[test]
    fn rfc7714_gcm_suite_key_lengths() {
        let key = [7u8; 44];
        let c = Crypto::inline(1, CryptoSuite::AeadAes256Gcm, &key);
        let printed = c.to_string();
        assert!(printed.starts_with("1 AEAD_AES_256_GCM inline:"));
        let back = Crypto::parse(&printed).unwrap();
        assert_eq!(back.inline_key().unwrap().key_salt(), key);
        assert_eq!(CryptoSuite::AeadAes128Gcm.key_salt_len(), Some((16, 12)));
        let unpadded = printed.trim_end_matches('=');
        assert_eq!(Crypto::parse(unpadded).unwrap().inline_key().unwrap().key_salt(), key);
    }

    #[test]
    fn malformed_crypto_lines_are_refused() {
        let k = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        for bad in [
            String::new(),
            "1".into(),
            format!("x AES_CM_128_HMAC_SHA1_80 {k}"),
            format!("1234567890 AES_CM_128_HMAC_SHA1_80 {k}"),
            "1 AES_CM_128_HMAC_SHA1_80".into(),
            "1 AES-CM AES_CM_128_HMAC_SHA1_80 x".into(),
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!".into(),
            "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD".into(),
            format!("1 AES_CM_128_HMAC_SHA1_80 {k}|1:0"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {k}|1:129"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {k}|1:4|2^20"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {k}|2^x"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {k};"),
            "1 AES_CM_128_HMAC_SHA1_80 inline".into(),
        ] {
            assert!(Crypto::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn media_crypto_lines_are_replaced() {
        let body = "v=0\r\nm=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 \
                    inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\na=crypto:2 BAD\r\n";
        let mut sdp = Sdp::parse(body.as_bytes()).unwrap();
        assert_eq!(sdp.media[0].cryptos().len(), 1, "the malformed line is skipped");
        let ours = Crypto::inline(5, CryptoSuite::AesCm128HmacSha1_32, &[1; 30]);
        sdp.media[0].set_cryptos(std::slice::from_ref(&ours));
        assert_eq!(sdp.media[0].cryptos(), [ours]);
        assert_eq!(sdp.media[0].attributes("crypto").count(), 1);
    }
}
