//! Credential rules checked on every write, and generators for the secrets shown once.
//!
//! - Login passwords: at least 12 characters (or the tenant's higher minimum), at most 128,
//!   zxcvbn score >= 3, and not containing the local part of the email or the tenant name
//!   (case-insensitive; parts shorter than 3 characters are ignored).
//! - User-chosen SIP passwords: the same rules, with the extension number and the tenant's
//!   domain as the names they must not contain, and printable ASCII only (digest
//!   implementations disagree about the encoding of anything else).
//! - Voicemail PINs: digits only, at least 6 (or the tenant's higher minimum), at most 16, not
//!   the extension number, not one digit repeated, not an ascending or descending run (with
//!   wrap-around, so `890123` counts as a run).
//! - Generated secrets: 24 characters from a 54-letter alphabet without look-alikes
//!   (about 138 bits), from the operating system's random generator.

use ring::rand::{SecureRandom as _, SystemRandom};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Longest accepted password (zxcvbn's cost grows with the length).
pub const MAX_PASSWORD_LEN: usize = 128;
/// Platform minimum password length.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Platform minimum PIN length.
pub const MIN_PIN_LEN: usize = 6;
/// Longest accepted PIN.
pub const MAX_PIN_LEN: usize = 16;
/// Length of generated SIP secrets and one-time passwords.
pub const GENERATED_SECRET_LEN: usize = 24;

/// Letters and digits without the look-alikes `0 O o 1 l I`.
const SAFE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Checks a login password. `field` names the request field for the error; `names` are the
/// words it must not contain (email local part, tenant name).
pub fn check_password(field: &str, password: &str, min_len: usize, names: &[&str]) -> Result<()> {
    let min_len = min_len.max(MIN_PASSWORD_LEN);
    let len = password.chars().count();
    if len < min_len {
        return Err(Error::invalid(field, format!("must be at least {min_len} characters")));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    let lower = password.to_lowercase();
    for name in names {
        let name = name.trim().to_lowercase();
        if name.chars().count() >= 3 && lower.contains(&name) {
            return Err(Error::invalid(
                field,
                "must not contain your email name, extension or organisation name",
            ));
        }
    }
    let score = zxcvbn::zxcvbn(password, names).score();
    if (score as u8) < 3 {
        return Err(Error::invalid(
            field,
            "too easy to guess (strength score below 3 of 4); use a longer passphrase",
        ));
    }
    Ok(())
}

/// Checks a login password for `email` in a tenant named `tenant_name` (none for super admins).
pub fn check_login_password(
    field: &str,
    password: &str,
    min_len: usize,
    email: &str,
    tenant_name: Option<&str>,
) -> Result<()> {
    let local = email.split('@').next().unwrap_or("");
    let mut names = vec![local];
    names.extend(tenant_name);
    check_password(field, password, min_len, &names)
}

/// Checks a user-chosen SIP password for extension `number` in `domain` (tenant `tenant_name`).
pub fn check_sip_password(
    field: &str,
    password: &str,
    min_len: usize,
    number: &str,
    domain: &str,
    tenant_name: &str,
) -> Result<()> {
    if !password.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Error::invalid(field, "must be printable ASCII characters only"));
    }
    let first_label = domain.split('.').next().unwrap_or("");
    check_password(field, password, min_len, &[number, domain, first_label, tenant_name])
}

/// Checks a voicemail PIN for extension `number`.
pub fn check_pin(field: &str, pin: &str, min_len: usize, number: &str) -> Result<()> {
    let min_len = min_len.max(MIN_PIN_LEN);
    if !pin.bytes().all(|b| b.is_ascii_digit()) || pin.is_empty() {
        return Err(Error::invalid(field, "must be digits only"));
    }
    if pin.len() < min_len {
        return Err(Error::invalid(field, format!("must be at least {min_len} digits")));
    }
    if pin.len() > MAX_PIN_LEN {
        return Err(Error::invalid(field, format!("must be at most {MAX_PIN_LEN} digits")));
    }
    if pin == number {
        return Err(Error::invalid(field, "must not be the extension number"));
    }
    let d: Vec<u8> = pin.bytes().map(|b| b - b'0').collect();
    if d.iter().all(|&x| x == d[0]) {
        return Err(Error::invalid(field, "must not be one digit repeated"));
    }
    let run = |step: u8| d.windows(2).all(|w| w[1] == (w[0] + step) % 10);
    if run(1) || run(9) {
        return Err(Error::invalid(field, "must not be an ascending or descending sequence"));
    }
    Ok(())
}

/// A fresh secret of `len` characters from the safe alphabet (rejection sampling, so every
/// letter is equally likely).
pub fn generate_secret(len: usize) -> Result<Zeroizing<String>> {
    let rng = SystemRandom::new();
    let limit = 256 - (256 % SAFE_ALPHABET.len());
    let mut out = Zeroizing::new(String::with_capacity(len));
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        rng.fill(buf.as_mut()).map_err(|_| Error::internal("system random generator failed"))?;
        for &b in buf.iter() {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut out = Zeroizing::new([0u8; N]);
    SystemRandom::new()
        .fill(out.as_mut())
        .map_err(|_| Error::internal("system random generator failed"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<()>) -> Option<String> {
        r.err().and_then(|e| e.body().field)
    }

    #[test]
    fn passwords_need_length_strength_and_no_names() {
        let ok = "correct horse battery staple";
        check_login_password("password", ok, 12, "alice@example.com", Some("Acme")).unwrap();
        assert_eq!(
            field(check_login_password("pw", "Short1!", 12, "a@b.cd", None)),
            Some("pw".into())
        );
        // Long enough but weak.
        assert!(check_login_password("p", "passwordpassword", 12, "a@b.cd", None).is_err());
        assert!(check_login_password("p", "aaaaaaaaaaaaaaaa", 12, "a@b.cd", None).is_err());
        // Contains the email name or the tenant name.
        let with_name = "alice-correct-horse-battery";
        assert!(check_login_password("p", with_name, 12, "alice@example.com", None).is_err());
        let with_tenant = "ACME correct horse battery";
        assert!(check_login_password("p", with_tenant, 12, "bob@x.org", Some("Acme")).is_err());
        // Tenant minimum above the platform's.
        assert!(check_login_password("p", ok, 40, "bob@x.org", None).is_err());
        assert!(check_login_password("p", &"xK9!".repeat(40), 12, "bob@x.org", None).is_err());
    }

    #[test]
    fn sip_passwords_are_ascii_and_free_of_the_account_names() {
        let ok = "Tr0mbone-Harbour-Quilt";
        check_sip_password("password", ok, 12, "1001", "pbx.acme.example", "Acme").unwrap();
        assert!(check_sip_password("p", "Tr0mbone-Harbour-1001", 12, "1001", "a.b", "X").is_err());
        assert!(check_sip_password("p", "Tr0mbone-Harbour-ärger", 12, "1001", "a.b", "X").is_err());
        assert!(
            check_sip_password("p", "pbx Tr0mbone-Harbour", 12, "1001", "pbx.b.c", "X").is_err()
        );
    }

    #[test]
    fn pins_follow_the_rules() {
        check_pin("pin", "482915", 6, "1001").unwrap();
        for bad in ["12345", "123456", "654321", "890123", "111111", "48a915", "", "100100"] {
            assert!(check_pin("pin", bad, 6, "100100").is_err(), "{bad} accepted");
        }
        assert!(check_pin("pin", "4829150", 8, "1001").is_err());
        assert!(check_pin("pin", &"48".repeat(9), 6, "1001").is_err());
    }

    #[test]
    fn generated_secrets_use_the_alphabet_and_pass_the_policy() {
        let a = generate_secret(GENERATED_SECRET_LEN).unwrap();
        let b = generate_secret(GENERATED_SECRET_LEN).unwrap();
        assert_ne!(*a, *b);
        assert_eq!(a.len(), GENERATED_SECRET_LEN);
        assert!(a.bytes().all(|c| SAFE_ALPHABET.contains(&c)));
        check_sip_password("p", &a, 12, "1001", "pbx.example.com", "Acme").unwrap();
    }
}
