//! One direction's SRTP/SRTCP cryptographic context: session keys derived from a master
//! key, and per-SSRC state (rollover counter, replay window, SRTCP index).
//!
//! ```text
//! SRTP:  | RTP header | encrypted payload | [MKI] | auth tag |      (RFC 3711 §3.1)
//! SRTCP: | RTCP header (8) | encrypted rest |E| SRTCP index | auth tag |   (§3.4)
//! GCM SRTP:  | RTP header (AAD) | ciphertext | 16-byte tag |           (RFC 7714 §8)
//! GCM SRTCP: | header (AAD) | ciphertext | tag |E| SRTCP index |      (RFC 7714 §9)
//! ```

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use subtle::ConstantTimeEq;

use super::aes_cm::{AesKey, packet_iv};
use super::replay::ReplayWindow;
use super::{MasterKey, SrtpSuite};
use crate::MediaError;
use crate::rtp::{RTCP_HEADER, check_rtcp, rtcp_ssrc, rtp_header_len, rtp_seq, rtp_ssrc};

/// SSRCs tracked per context (a call has one or two per direction).
const MAX_SSRCS: usize = 16;
const GCM_TAG: usize = 16;
const SRTCP_TRAILER: usize = 4;
const E_FLAG: u32 = 0x8000_0000;

// Key derivation labels (RFC 3711 §4.3.2).
const LABEL_RTP_ENC: u8 = 0;
const LABEL_RTP_AUTH: u8 = 1;
const LABEL_RTP_SALT: u8 = 2;
const LABEL_RTCP_ENC: u8 = 3;
const LABEL_RTCP_AUTH: u8 = 4;
const LABEL_RTCP_SALT: u8 = 5;

enum Transform {
    Cm { cipher: AesKey, salt: [u8; 14], auth: hmac::Key, tag_len: usize },
    Gcm { key: LessSafeKey, salt: [u8; 12] },
}

impl Transform {
    fn derive(suite: SrtpSuite, master: &MasterKey, rtcp: bool) -> Result<Transform, MediaError> {
        let prf = AesKey::new(master.key()).ok_or(MediaError::Config("SRTP key length".into()))?;
        let (enc, auth, salt) = if rtcp {
            (LABEL_RTCP_ENC, LABEL_RTCP_AUTH, LABEL_RTCP_SALT)
        } else {
            (LABEL_RTP_ENC, LABEL_RTP_AUTH, LABEL_RTP_SALT)
        };
        let mut key = zeroize::Zeroizing::new(vec![0u8; suite.key_len()]);
        prf.derive(enc, master.salt(), &mut key);
        if suite.is_gcm() {
            let mut s = [0u8; 12];
            prf.derive(salt, master.salt(), &mut s);
            return Transform::gcm(suite, &key, s);
        }
        let mut s = [0u8; 14];
        prf.derive(salt, master.salt(), &mut s);
        let mut a = zeroize::Zeroizing::new([0u8; 20]);
        prf.derive(auth, master.salt(), &mut a[..]);
        let tag_len = if suite == SrtpSuite::AesCm128HmacSha1_32 && !rtcp { 4 } else { 10 };
        Ok(Transform::cm(&key, s, &a[..], tag_len))
    }

    fn cm(key: &[u8], salt: [u8; 14], auth: &[u8], tag_len: usize) -> Transform {
        let cipher = AesKey::new(key).expect("16-byte AES-CM session key");
        let auth = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth);
        Transform::Cm { cipher, salt, auth, tag_len }
    }

    fn gcm(suite: SrtpSuite, key: &[u8], salt: [u8; 12]) -> Result<Transform, MediaError> {
        let alg =
            if suite == SrtpSuite::AeadAes256Gcm { &aead::AES_256_GCM } else { &aead::AES_128_GCM };
        let unbound =
            UnboundKey::new(alg, key).map_err(|_| MediaError::Config("GCM key".into()))?;
        Ok(Transform::Gcm { key: LessSafeKey::new(unbound), salt })
    }
}

fn hmac_tag(key: &hmac::Key, data: &[u8], roc: Option<u32>) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(data);
    if let Some(roc) = roc {
        ctx.update(&roc.to_be_bytes());
    }
    ctx.sign()
}

/// RFC 7714 §8.1 / §9.1 IV: `00 00 || SSRC || ROC (or 00 00 || SRTCP index) || SEQ`
/// XOR the 12-byte session salt.
fn gcm_nonce(salt: &[u8; 12], ssrc: u32, tail: [u8; 6]) -> Nonce {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..].copy_from_slice(&tail);
    for (d, s) in iv.iter_mut().zip(salt) {
        *d ^= s;
    }
    Nonce::assume_unique_for_key(iv)
}

fn rtp_tail(roc: u32, seq: u16) -> [u8; 6] {
    let mut t = [0u8; 6];
    t[..4].copy_from_slice(&roc.to_be_bytes());
    t[4..].copy_from_slice(&seq.to_be_bytes());
    t
}

fn rtcp_tail(index: u32) -> [u8; 6] {
    let mut t = [0u8; 6];
    t[2..].copy_from_slice(&index.to_be_bytes());
    t
}

#[derive(Debug, Clone)]
struct RtpStream {
    ssrc: u32,
    s_l: u16,
    roc: u32,
    replay: ReplayWindow,
}

impl RtpStream {
    fn new(ssrc: u32, seq: u16) -> RtpStream {
        RtpStream { ssrc, s_l: seq, roc: 0, replay: ReplayWindow::default() }
    }

    /// The rollover counter guess `v` and the packet index for `seq`
    /// (RFC 3711 §3.3.1, Appendix A).
    fn estimate(&self, seq: u16) -> (u32, u64) {
        let (s_l, seq32) = (i32::from(self.s_l), i32::from(seq));
        let v = if s_l < 32768 {
            if seq32 - s_l > 32768 { self.roc.saturating_sub(1) } else { self.roc }
        } else if s_l - 32768 > seq32 {
            self.roc.wrapping_add(1)
        } else {
            self.roc
        };
        (v, (u64::from(v) << 16) | u64::from(seq))
    }

    fn update(&mut self, v: u32, seq: u16, index: u64) {
        if index > (u64::from(self.roc) << 16) | u64::from(self.s_l) {
            self.roc = v;
            self.s_l = seq;
        }
    }
}

#[derive(Debug, Clone)]
struct RtcpStream {
    ssrc: u32,
    next_index: u32,
    replay: ReplayWindow,
}

/// One direction's SRTP context: either only protects (towards a device) or only
/// unprotects (from a device).
pub struct SrtpContext {
    suite: SrtpSuite,
    rtp: Transform,
    rtcp: Transform,
    rtp_streams: Vec<RtpStream>,
    rtcp_streams: Vec<RtcpStream>,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("suite", &self.suite)
            .field("ssrcs", &self.rtp_streams.len())
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// Derives the session keys of `master` (key derivation rate 0).
    ///
    /// # Errors
    /// [`MediaError::Config`] if the key does not fit its suite (not reachable through
    /// [`MasterKey`]'s constructors).
    pub fn new(master: &MasterKey) -> Result<SrtpContext, MediaError> {
        let suite = master.suite();
        Ok(SrtpContext {
            suite,
            rtp: Transform::derive(suite, master, false)?,
            rtcp: Transform::derive(suite, master, true)?,
            rtp_streams: Vec::new(),
            rtcp_streams: Vec::new(),
        })
    }

    /// The suite.
    pub fn suite(&self) -> SrtpSuite {
        self.suite
    }

    fn rtp_slot(&self, ssrc: u32) -> Option<usize> {
        self.rtp_streams.iter().position(|s| s.ssrc == ssrc)
    }

    /// Encrypts and authenticates the RTP packet in `pkt` (the tag is appended).
    ///
    /// # Errors
    /// [`MediaError::Malformed`] for a packet that is not RTP; [`MediaError::TooManySsrcs`].
    pub fn protect_rtp(&mut self, pkt: &mut Vec<u8>) -> Result<(), MediaError> {
        let hlen = rtp_header_len(pkt)?;
        let (ssrc, seq) = (rtp_ssrc(pkt), rtp_seq(pkt));
        let slot = match self.rtp_slot(ssrc) {
            Some(i) => i,
            None if self.rtp_streams.len() < MAX_SSRCS => {
                self.rtp_streams.push(RtpStream::new(ssrc, seq));
                self.rtp_streams.len() - 1
            }
            None => return Err(MediaError::TooManySsrcs),
        };
        let st = &mut self.rtp_streams[slot];
        let (roc, index) = st.estimate(seq);
        st.update(roc, seq, index);
        match &self.rtp {
            Transform::Cm { cipher, salt, auth, tag_len } => {
                cipher.apply_keystream(&packet_iv(salt, ssrc, index), &mut pkt[hlen..]);
                let tag = hmac_tag(auth, pkt, Some(roc));
                pkt.extend_from_slice(&tag.as_ref()[..*tag_len]);
            }
            Transform::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, ssrc, rtp_tail(roc, seq));
                let (header, body) = pkt.split_at_mut(hlen);
                let tag = key
                    .seal_in_place_separate_tag(nonce, Aad::from(&*header), body)
                    .map_err(|_| MediaError::Malformed("packet too large for AES-GCM"))?;
                pkt.extend_from_slice(tag.as_ref());
            }
        }
        Ok(())
    }

    /// Verifies and decrypts the SRTP packet in `pkt` (the tag is removed).
    ///
    /// # Errors
    /// [`MediaError::Malformed`], [`MediaError::Replayed`], [`MediaError::AuthFailed`],
    /// [`MediaError::TooManySsrcs`].
    pub fn unprotect_rtp(&mut self, pkt: &mut Vec<u8>) -> Result<(), MediaError> {
        let hlen = rtp_header_len(pkt)?;
        let (ssrc, seq) = (rtp_ssrc(pkt), rtp_seq(pkt));
        let slot = self.rtp_slot(ssrc);
        if slot.is_none() && self.rtp_streams.len() >= MAX_SSRCS {
            return Err(MediaError::TooManySsrcs);
        }
        let (roc, index) = match slot {
            Some(i) => self.rtp_streams[i].estimate(seq),
            None => (0, u64::from(seq)),
        };
        if let Some(i) = slot
            && !self.rtp_streams[i].replay.check(index)
        {
            return Err(MediaError::Replayed);
        }
        match &self.rtp {
            Transform::Cm { cipher, salt, auth, tag_len } => {
                if pkt.len() < hlen + tag_len {
                    return Err(MediaError::Malformed("SRTP packet shorter than its tag"));
                }
                let end = pkt.len() - tag_len;
                let tag = hmac_tag(auth, &pkt[..end], Some(roc));
                if !bool::from(tag.as_ref()[..*tag_len].ct_eq(&pkt[end..])) {
                    return Err(MediaError::AuthFailed);
                }
                cipher.apply_keystream(&packet_iv(salt, ssrc, index), &mut pkt[hlen..end]);
                pkt.truncate(end);
            }
            Transform::Gcm { key, salt } => {
                if pkt.len() < hlen + GCM_TAG {
                    return Err(MediaError::Malformed("SRTP packet shorter than its tag"));
                }
                let nonce = gcm_nonce(salt, ssrc, rtp_tail(roc, seq));
                let (header, body) = pkt.split_at_mut(hlen);
                key.open_in_place(nonce, Aad::from(&*header), body)
                    .map_err(|_| MediaError::AuthFailed)?;
                let end = pkt.len() - GCM_TAG;
                pkt.truncate(end);
            }
        }
        let i = slot.unwrap_or_else(|| {
            self.rtp_streams.push(RtpStream::new(ssrc, seq));
            self.rtp_streams.len() - 1
        });
        let st = &mut self.rtp_streams[i];
        st.replay.accept(index);
        st.update(roc, seq, index);
        Ok(())
    }

    fn rtcp_slot(&mut self, ssrc: u32, create: bool) -> Result<Option<usize>, MediaError> {
        if let Some(i) = self.rtcp_streams.iter().position(|s| s.ssrc == ssrc) {
            return Ok(Some(i));
        }
        if self.rtcp_streams.len() >= MAX_SSRCS {
            return Err(MediaError::TooManySsrcs);
        }
        if !create {
            return Ok(None);
        }
        self.rtcp_streams.push(RtcpStream { ssrc, next_index: 0, replay: ReplayWindow::default() });
        Ok(Some(self.rtcp_streams.len() - 1))
    }

    /// Encrypts and authenticates the RTCP compound packet in `pkt` (E flag set, SRTCP
    /// index and tag appended).
    ///
    /// # Errors
    /// [`MediaError::Malformed`], [`MediaError::TooManySsrcs`].
    pub fn protect_rtcp(&mut self, pkt: &mut Vec<u8>) -> Result<(), MediaError> {
        check_rtcp(pkt)?;
        let ssrc = rtcp_ssrc(pkt);
        let slot = self.rtcp_slot(ssrc, true)?.unwrap_or_default();
        let st = &mut self.rtcp_streams[slot];
        let index = st.next_index;
        st.next_index = (index + 1) & !E_FLAG;
        let trailer = (E_FLAG | index).to_be_bytes();
        match &self.rtcp {
            Transform::Cm { cipher, salt, auth, tag_len } => {
                cipher.apply_keystream(
                    &packet_iv(salt, ssrc, u64::from(index)),
                    &mut pkt[RTCP_HEADER..],
                );
                pkt.extend_from_slice(&trailer);
                let tag = hmac_tag(auth, pkt, None);
                pkt.extend_from_slice(&tag.as_ref()[..*tag_len]);
            }
            Transform::Gcm { key, salt } => {
                let mut aad = [0u8; RTCP_HEADER + SRTCP_TRAILER];
                aad[..RTCP_HEADER].copy_from_slice(&pkt[..RTCP_HEADER]);
                aad[RTCP_HEADER..].copy_from_slice(&trailer);
                let nonce = gcm_nonce(salt, ssrc, rtcp_tail(index));
                let tag = key
                    .seal_in_place_separate_tag(nonce, Aad::from(&aad), &mut pkt[RTCP_HEADER..])
                    .map_err(|_| MediaError::Malformed("packet too large for AES-GCM"))?;
                pkt.extend_from_slice(tag.as_ref());
                pkt.extend_from_slice(&trailer);
            }
        }
        Ok(())
    }

    /// Verifies and (when the E flag is set) decrypts the SRTCP packet in `pkt`.
    ///
    /// # Errors
    /// [`MediaError::Malformed`], [`MediaError::Replayed`], [`MediaError::AuthFailed`],
    /// [`MediaError::TooManySsrcs`].
    pub fn unprotect_rtcp(&mut self, pkt: &mut Vec<u8>) -> Result<(), MediaError> {
        check_rtcp(pkt)?;
        let ssrc = rtcp_ssrc(pkt);
        let slot = self.rtcp_slot(ssrc, false)?;
        let tag_len = match &self.rtcp {
            Transform::Cm { tag_len, .. } => *tag_len,
            Transform::Gcm { .. } => GCM_TAG,
        };
        if pkt.len() < RTCP_HEADER + SRTCP_TRAILER + tag_len {
            return Err(MediaError::Malformed("SRTCP packet too short"));
        }
        let len = pkt.len();
        let trailer_at = match &self.rtcp {
            Transform::Cm { .. } => len - tag_len - SRTCP_TRAILER,
            Transform::Gcm { .. } => len - SRTCP_TRAILER,
        };
        let mut trailer = [0u8; SRTCP_TRAILER];
        trailer.copy_from_slice(&pkt[trailer_at..trailer_at + SRTCP_TRAILER]);
        let word = u32::from_be_bytes(trailer);
        let (encrypted, index) = (word & E_FLAG != 0, word & !E_FLAG);
        if let Some(i) = slot
            && !self.rtcp_streams[i].replay.check(u64::from(index))
        {
            return Err(MediaError::Replayed);
        }
        let end = match &self.rtcp {
            Transform::Cm { cipher, salt, auth, .. } => {
                let tag = hmac_tag(auth, &pkt[..len - tag_len], None);
                if !bool::from(tag.as_ref()[..tag_len].ct_eq(&pkt[len - tag_len..])) {
                    return Err(MediaError::AuthFailed);
                }
                if encrypted {
                    let iv = packet_iv(salt, ssrc, u64::from(index));
                    cipher.apply_keystream(&iv, &mut pkt[RTCP_HEADER..trailer_at]);
                }
                trailer_at
            }
            Transform::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, ssrc, rtcp_tail(index));
                let body_end = trailer_at - GCM_TAG;
                if encrypted {
                    let mut aad = [0u8; RTCP_HEADER + SRTCP_TRAILER];
                    aad[..RTCP_HEADER].copy_from_slice(&pkt[..RTCP_HEADER]);
                    aad[RTCP_HEADER..].copy_from_slice(&trailer);
                    key.open_in_place(nonce, Aad::from(&aad), &mut pkt[RTCP_HEADER..trailer_at])
                        .map_err(|_| MediaError::AuthFailed)?;
                } else {
                    let mut aad = pkt[..body_end].to_vec();
                    aad.extend_from_slice(&trailer);
                    key.open_in_place(nonce, Aad::from(&aad), &mut pkt[body_end..trailer_at])
                        .map_err(|_| MediaError::AuthFailed)?;
                }
                body_end
            }
        };
        pkt.truncate(end);
        let i = match slot {
            Some(i) => i,
            None => self.rtcp_slot(ssrc, true)?.unwrap_or_default(),
        };
        self.rtcp_streams[i].replay.accept(u64::from(index));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::aes_cm::tests::hex;
    use super::*;

    fn gcm_ctx(suite: SrtpSuite, key: &[u8]) -> SrtpContext {
        let salt: [u8; 12] = hex("517569642070726f2071756f").try_into().unwrap();
        SrtpContext {
            suite,
            rtp: Transform::gcm(suite, key, salt).unwrap(),
            rtcp: Transform::gcm(suite, key, salt).unwrap(),
            rtp_streams: vec![],
            rtcp_streams: vec![],
        }
    }

    const GCM_PLAIN: &str = "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573";

    /// RFC 7714 §16.1.1 and §16.2.1: AEAD_AES_128_GCM / AEAD_AES_256_GCM RTP.
    #[test]
    fn rfc7714_section_16_gcm_rtp_vectors() {
        let cases = [
            (
                SrtpSuite::AeadAes128Gcm,
                "000102030405060708090a0b0c0d0e0f",
                "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce",
            ),
            (
                SrtpSuite::AeadAes256Gcm,
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
            ),
        ];
        for (suite, key, want) in cases {
            let mut p = hex(GCM_PLAIN);
            gcm_ctx(suite, &hex(key)).protect_rtp(&mut p).unwrap();
            assert_eq!(p, hex(want), "{suite:?}");
            gcm_ctx(suite, &hex(key)).unprotect_rtp(&mut p).unwrap();
            assert_eq!(p, hex(GCM_PLAIN));
        }
    }

    /// RFC 7714 §17.2: AEAD_AES_256_GCM SRTCP with SRTCP index 0x5d4.
    #[test]
    fn rfc7714_section_17_gcm_rtcp_vector() {
        let key = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let plain = hex(
            "81c8000d4d6172734e5450314e54503252545020 0000042a0000e9304c756e61 deadbeefdeadbeefdeadbeefdeadbeefdeadbeef",
        );
        let want = hex(
            "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4",
        );
        let mut ctx = gcm_ctx(SrtpSuite::AeadAes256Gcm, &key);
        ctx.rtcp_streams.push(RtcpStream {
            ssrc: 0x4d61_7273,
            next_index: 0x5d4,
            replay: ReplayWindow::default(),
        });
        let mut p = plain.clone();
        ctx.protect_rtcp(&mut p).unwrap();
        assert_eq!(p, want);
        let mut rx = gcm_ctx(SrtpSuite::AeadAes256Gcm, &key);
        rx.unprotect_rtcp(&mut p).unwrap();
        assert_eq!(p, plain);
        // The same packet authenticated only (E = 0).
        let auth_only = hex(
            "81c8000d4d6172734e5450314e54503252545020 0000042a0000e9304c756e61 deadbeefdeadbeefdeadbeefdeadbeefdeadbeef 91db4afbfeee5a978fab4393ed2615fe000005d4",
        );
        let mut p = auth_only;
        gcm_ctx(SrtpSuite::AeadAes256Gcm, &key).unprotect_rtcp(&mut p).unwrap();
        assert_eq!(p, plain);
    }

    fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 160, 0, 0, 0, 0];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p[8..12].copy_from_slice(&ssrc.to_be_bytes());
        p.extend((0..160u32).map(|i| (i * 7) as u8));
        p
    }

    fn pair(suite: SrtpSuite) -> (SrtpContext, SrtpContext) {
        let key = MasterKey::generate(suite, &ring::rand::SystemRandom::new()).unwrap();
        (SrtpContext::new(&key).unwrap(), SrtpContext::new(&key).unwrap())
    }

    #[test]
    fn rfc3711_section_3_3_1_rollover_and_replay_for_every_suite() {
        for suite in SrtpSuite::ALL {
            let (mut tx, mut rx) = pair(suite);
            for seq in [65533u16, 65534, 65535, 0, 1, 2] {
                let plain = rtp(seq, 0xcafe);
                let mut p = plain.clone();
                tx.protect_rtp(&mut p).unwrap();
                assert_eq!(p.len(), plain.len() + suite.rtp_overhead());
                assert_ne!(p[12..172], plain[12..], "{suite:?} payload encrypted");
                let copy = p.clone();
                rx.unprotect_rtp(&mut p).unwrap();
                assert_eq!(p, plain, "{suite:?} seq {seq}");
                assert!(matches!(rx.unprotect_rtp(&mut copy.clone()), Err(MediaError::Replayed)));
            }
            assert_eq!(rx.rtp_streams[0].roc, 1, "{suite:?} rolled over");
        }
    }

    #[test]
    fn reordered_packets_inside_the_window_are_accepted() {
        let (mut tx, mut rx) = pair(SrtpSuite::AesCm128HmacSha1_80);
        let mut pkts: Vec<Vec<u8>> = (100..110)
            .map(|s| {
                let mut p = rtp(s, 9);
                tx.protect_rtp(&mut p).unwrap();
                p
            })
            .collect();
        pkts.swap(2, 7);
        for p in &mut pkts {
            rx.unprotect_rtp(p).unwrap();
        }
    }

    #[test]
    fn tampering_and_wrong_keys_fail_authentication() {
        for suite in SrtpSuite::ALL {
            let (mut tx, mut rx) = pair(suite);
            let mut p = rtp(10, 1);
            tx.protect_rtp(&mut p).unwrap();
            let mut bad = p.clone();
            bad[20] ^= 1;
            assert!(matches!(rx.unprotect_rtp(&mut bad), Err(MediaError::AuthFailed)), "{suite:?}");
            let (_, mut stranger) = pair(suite);
            assert!(matches!(stranger.unprotect_rtp(&mut p.clone()), Err(MediaError::AuthFailed)));
            rx.unprotect_rtp(&mut p).unwrap();
            let mut plain = rtp(11, 1);
            assert!(rx.unprotect_rtp(&mut plain).is_err(), "plain RTP is refused");
        }
    }

    #[test]
    fn srtcp_round_trip_replay_and_tamper_for_every_suite() {
        for suite in SrtpSuite::ALL {
            let (mut tx, mut rx) = pair(suite);
            let plain = hex("80c80006 00000007 0000000100000002 00000003 00000004 00000005");
            let mut p = plain.clone();
            tx.protect_rtcp(&mut p).unwrap();
            assert_ne!(p[8..28], plain[8..]);
            let copy = p.clone();
            let mut bad = p.clone();
            bad[10] ^= 0x40;
            assert!(matches!(rx.unprotect_rtcp(&mut bad), Err(MediaError::AuthFailed)));
            rx.unprotect_rtcp(&mut p).unwrap();
            assert_eq!(p, plain, "{suite:?}");
            assert!(matches!(rx.unprotect_rtcp(&mut copy.clone()), Err(MediaError::Replayed)));
        }
    }

    #[test]
    fn ssrc_count_is_bounded() {
        let (mut tx, _) = pair(SrtpSuite::AesCm128HmacSha1_80);
        for ssrc in 0..MAX_SSRCS as u32 {
            tx.protect_rtp(&mut rtp(1, ssrc)).unwrap();
        }
        assert!(matches!(tx.protect_rtp(&mut rtp(1, 999)), Err(MediaError::TooManySsrcs)));
    }
}
