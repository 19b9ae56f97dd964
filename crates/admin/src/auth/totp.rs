//! TOTP (RFC 6238) as authenticator apps expect it: HMAC-SHA1, 6 digits, 30-second steps, a
//! 160-bit secret, one step of clock skew either way. A code is accepted once: the store keeps
//! the last used time step and refuses that step and earlier ones.

use ringfence_store::TotpSecret;
use totp_rs::{Algorithm, Builder, Totp};

use crate::error::{Error, Result};
use crate::policy::random_bytes;

/// Issuer shown in authenticator apps.
pub const ISSUER: &str = "Ringfence";
/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;

/// A fresh 160-bit secret.
pub fn new_secret() -> Result<TotpSecret> {
    let raw = random_bytes::<20>()?;
    TotpSecret::new(raw.to_vec()).map_err(Error::from)
}

fn build(secret: &TotpSecret, account: &str) -> Result<Totp> {
    // `:` separates issuer and account in the label; emails have none, but be safe.
    let account = account.replace(':', "_");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.expose().to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| Error::internal(format!("TOTP set-up: {e}")))
}

/// The secret in base32 (no padding), for manual entry.
pub fn base32(secret: &TotpSecret, account: &str) -> Result<String> {
    Ok(build(secret, account)?.secret().to_base32())
}

/// The `otpauth://totp/...` URL for QR codes.
pub fn otpauth_url(secret: &TotpSecret, account: &str) -> Result<String> {
    build(secret, account)?.to_url().map_err(|e| Error::internal(format!("TOTP URL: {e}")))
}

/// The time step a code is valid for at `unix_time`, if it is valid at all (current step or
/// one either side). The caller must still consume the step in the store.
pub fn matching_step(secret: &TotpSecret, code: &str, unix_time: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    build(secret, "x").ok()?.check(code, unix_time)
}

/// Current Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The code for `unix_time` (for tests and tooling).
pub fn code_at(secret: &TotpSecret, unix_time: u64) -> Result<String> {
    Ok(build(secret, "x")?.generate(unix_time).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 Appendix B: secret "12345678901234567890", T = 59 -> 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let s = TotpSecret::new(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(code_at(&s, 59).unwrap(), "287082");
        assert_eq!(matching_step(&s, "287082", 59), Some(1));
        assert_eq!(matching_step(&s, "287082", 59 + 30), Some(1));
        assert_eq!(matching_step(&s, "287082", 59 + 90), None);
        assert_eq!(matching_step(&s, "28708", 59), None);
    }

    #[test]
    fn url_and_base32() {
        let s = new_secret().unwrap();
        let url = otpauth_url(&s, "alice@example.com").unwrap();
        let b32 = base32(&s, "alice@example.com").unwrap();
        assert!(url.starts_with("otpauth://totp/Ringfence:alice%40example.com?secret="));
        assert!(url.contains(&b32));
        assert_eq!(b32.len(), 32);
    }
}
