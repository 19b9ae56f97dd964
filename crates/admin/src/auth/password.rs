//! Argon2id hashing of login passwords and PINs (m = 19 MiB, t = 2, p = 1: the OWASP
//! recommendation), run on the blocking pool so the hashing does not stall the async workers.
//!
//! Unknown accounts are checked against a dummy hash made once at start-up, so that a login
//! for an unknown email costs the same as one with a wrong password.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::policy::random_bytes;

fn hasher() -> Argon2<'static> {
    // The constants are valid; `Params::new` only fails for out-of-range values.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `secret` with a fresh 16-byte salt; returns the PHC string (`$argon2id$...`).
pub fn hash_blocking(secret: &str) -> Result<String> {
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(salt_bytes.as_ref())
        .map_err(|e| Error::internal(format!("argon2 salt: {e}")))?;
    let hash = hasher()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| Error::internal(format!("argon2: {e}")))?;
    Ok(hash.to_string())
}

/// Checks `secret` against a PHC string; a malformed stored hash counts as a mismatch.
pub fn verify_blocking(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher().verify_password(secret.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random secret, for equal-cost checks of unknown accounts.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let secret = random_bytes::<16>().map(|b| hex::encode(*b)).unwrap_or_default();
        hash_blocking(&secret).unwrap_or_default()
    })
}

/// Makes the dummy hash now (at start-up), so the first unknown-email login is not faster.
pub fn warm_up() {
    let _ = dummy_hash();
}

/// [`hash_blocking`] on the blocking pool.
pub async fn hash(secret: Zeroizing<String>) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&secret))
        .await
        .map_err(|e| Error::internal(format!("hashing task: {e}")))?
}

/// [`verify_blocking`] on the blocking pool; `phc = None` checks against the dummy hash and
/// returns false.
pub async fn verify(secret: Zeroizing<String>, phc: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(&secret, &phc),
        None => {
            let _ = verify_blocking(&secret, dummy_hash());
            false
        }
    })
    .await
    .map_err(|e| Error::internal(format!("hashing task: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_blocking("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking("correct horse battery staple", &h));
        assert!(!verify_blocking("correct horse battery stapler", &h));
        assert!(!verify_blocking("x", "not a hash"));
        assert!(dummy_hash().starts_with("$argon2id$"));
    }
}
