//! AES in counter mode as SRTP uses it: the keystream for packets (RFC 3711 §4.1.1)
//! and the pseudo-random function of the key derivation (RFC 3711 §4.3.1, §4.3.3).
//!
//! ```text
//! IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)        (RFC 3711 §4.1.1)
//! x  = key_id XOR master_salt, key_id = label || r           (RFC 3711 §4.3.1)
//! PRF_n(k_master, x) = first n bits of AES_CM(k_master, x * 2^16)
//! ```

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes256, Block};

/// An AES key schedule (128 or 256 bits).
#[derive(Clone)]
pub(crate) enum AesKey {
    A128(Box<Aes128>),
    A256(Box<Aes256>),
}

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AesKey::A128(_) => "AesKey::A128",
            AesKey::A256(_) => "AesKey::A256",
        })
    }
}

impl AesKey {
    /// A schedule for a 16- or 32-byte key (`None` for other lengths).
    pub(crate) fn new(key: &[u8]) -> Option<AesKey> {
        match key.len() {
            16 => Aes128::new_from_slice(key).ok().map(|k| AesKey::A128(Box::new(k))),
            32 => Aes256::new_from_slice(key).ok().map(|k| AesKey::A256(Box::new(k))),
            _ => None,
        }
    }

    fn encrypt_blocks(&self, blocks: &mut [Block]) {
        match self {
            AesKey::A128(k) => k.encrypt_blocks(blocks),
            AesKey::A256(k) => k.encrypt_blocks(blocks),
        }
    }

    /// XORs `data` with the keystream starting at counter block `iv`; the counter is
    /// the low 16 bits (a packet is shorter than 2^16 blocks).
    pub(crate) fn apply_keystream(&self, iv: &[u8; 16], data: &mut [u8]) {
        const BATCH: usize = 8;
        let mut counter: u16 = u16::from_be_bytes([iv[14], iv[15]]);
        let mut blocks = [Block::default(); BATCH];
        for chunk in data.chunks_mut(16 * BATCH) {
            let n = chunk.len().div_ceil(16);
            for b in &mut blocks[..n] {
                b.copy_from_slice(iv);
                b[14..].copy_from_slice(&counter.to_be_bytes());
                counter = counter.wrapping_add(1);
            }
            self.encrypt_blocks(&mut blocks[..n]);
            for (d, k) in chunk.iter_mut().zip(blocks.iter().flat_map(|b| b.iter())) {
                *d ^= k;
            }
        }
    }

    /// The key derivation PRF: `out.len()` bytes for `label` with key derivation rate 0
    /// (r = 0). `master_salt` is 14 bytes (AES-CM) or 12 (AES-GCM, RFC 7714 §11; it is
    /// left-aligned and zero-padded to 14 like libsrtp and every other implementation).
    pub(crate) fn derive(&self, label: u8, master_salt: &[u8], out: &mut [u8]) {
        let mut iv = [0u8; 16];
        iv[..master_salt.len().min(14)].copy_from_slice(&master_salt[..master_salt.len().min(14)]);
        iv[7] ^= label;
        out.fill(0);
        self.apply_keystream(&iv, out);
    }
}

/// The SRTP/SRTCP counter block: `salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16`.
pub(crate) fn packet_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (d, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *d ^= s;
    }
    for (d, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *d ^= s;
    }
    iv
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 3711 Appendix B.2: AES-CM keystream for SSRC 0, index 0.
    #[test]
    fn rfc3711_appendix_b2_keystream() {
        let key = AesKey::new(&hex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
        let salt: [u8; 14] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
        let iv = packet_iv(&salt, 0, 0);
        assert_eq!(iv.to_vec(), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
        let mut ks = vec![0u8; 0xff02 * 16];
        key.apply_keystream(&iv, &mut ks);
        assert_eq!(ks[..16], hex("E03EAD0935C95E80E166B16DD92B4EB4"));
        assert_eq!(ks[16..32], hex("D23513162B02D0F72A43A2FE4A5F97AB"));
        assert_eq!(ks[32..48], hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
        let at = |n: usize| &ks[n * 16..n * 16 + 16];
        assert_eq!(at(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
        assert_eq!(at(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
        assert_eq!(at(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
    }

    /// RFC 3711 Appendix B.3: key derivation (label 0 cipher key, 1 auth key, 2 salt).
    #[test]
    fn rfc3711_appendix_b3_key_derivation() {
        let master = AesKey::new(&hex("E1F97A0D3E018BE0D64FA32C06DE4139")).unwrap();
        let salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let mut k = [0u8; 16];
        master.derive(0, &salt, &mut k);
        assert_eq!(k.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut s = [0u8; 14];
        master.derive(2, &salt, &mut s);
        assert_eq!(s.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut a = [0u8; 94];
        master.derive(1, &salt, &mut a);
        let want = hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE
             E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25
             6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2");
        assert_eq!(a.to_vec(), want);
        // SRTCP labels 3 (key) and 5 (salt).
        master.derive(3, &salt, &mut k);
        assert_eq!(k.to_vec(), hex("4C1AA45A81F73D61C800BBB00FBB1EAA"));
        master.derive(5, &salt, &mut s);
        assert_eq!(s.to_vec(), hex("9581C7AD87B3E530BF3E4454A8B3"));
    }
}
