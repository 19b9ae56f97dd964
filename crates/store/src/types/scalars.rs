//! Validated scalar values: SIP domain, country code, email, extension number, E.164 number.
//!
//! Each type can only be built through `parse`, so a value that reaches the database has
//! passed validation. Serde goes through the same `parse`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

macro_rules! string_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = StoreError;
            fn try_from(s: String) -> Result<Self> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }
    };
}

string_type!(
    /// A tenant's SIP domain, which is also its digest realm: a lowercase DNS hostname
    /// (RFC 1123 labels: `[a-z0-9]([a-z0-9-]*[a-z0-9])?`, 1..=63 bytes each, 253 bytes in all).
    /// Input is lowercased; a trailing dot is removed.
    SipDomain
);

impl SipDomain {
    /// Validates and lowercases a hostname.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
        if s.is_empty() || s.len() > 253 {
            return Err(StoreError::invalid("domain", "must be 1 to 253 characters"));
        }
        for label in s.split('.') {
            let ok_len = (1..=63).contains(&label.len());
            let ok_chars =
                label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            let ok_ends = !label.starts_with('-') && !label.ends_with('-');
            if !(ok_len && ok_chars && ok_ends) {
                return Err(StoreError::invalid(
                    "domain",
                    format!("label {label:?} is not a valid hostname label"),
                ));
            }
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(StoreError::invalid("domain", "must be a hostname, not an IP address"));
        }
        Ok(Self(s))
    }
}

/// Officially assigned ISO 3166-1 alpha-2 codes, plus `XK` (Kosovo, used by the ITU and by
/// number-plan data for +383).
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

string_type!(
    /// An ISO 3166-1 alpha-2 country code, uppercase (`"DE"`, `"US"`). Input is uppercased and
    /// checked against the list of assigned codes.
    CountryCode
);

impl CountryCode {
    /// Validates a country code.
    pub fn parse(s: &str) -> Result<Self> {
        let up = s.trim().to_ascii_uppercase();
        let known = up.len() == 2
            && up.bytes().all(|b| b.is_ascii_uppercase())
            && ISO_3166_ALPHA2.split(' ').any(|c| c == up);
        if known {
            Ok(Self(up))
        } else {
            Err(StoreError::invalid("country", format!("{s:?} is not an ISO 3166-1 alpha-2 code")))
        }
    }
}

string_type!(
    /// A login email address, lowercased. Checked for shape only (`local@domain`, no spaces or
    /// control characters, at most 254 bytes, the domain a hostname); delivery is not checked.
    Email
);

impl Email {
    /// Validates and lowercases an email address.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().to_lowercase();
        let bad = || StoreError::invalid("email", "must look like name@example.com");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        SipDomain::parse(domain).map_err(|_| bad())?;
        Ok(Self(s))
    }
}

string_type!(
    /// An extension number inside a tenant: 2 to 8 ASCII digits, not starting with `0`
    /// (a leading `0` is the usual outside-line or national prefix). It is also the digest
    /// username of the extension.
    ExtensionNumber
);

impl ExtensionNumber {
    /// Validates an extension number.
    pub fn parse(s: &str) -> Result<Self> {
        let ok = (2..=8).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_digit())
            && !s.starts_with('0');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(StoreError::invalid("number", "must be 2 to 8 digits, not starting with 0"))
        }
    }
}

string_type!(
    /// A phone number in E.164 form: `+`, a country code digit 1-9, then up to 14 more digits
    /// (ITU-T E.164 §6: at most 15 digits). Checked for shape only; number-plan checks belong to
    /// the policy crate.
    E164
);

impl E164 {
    /// Validates an E.164 number (`+` and 6 to 15 digits).
    pub fn parse(s: &str) -> Result<Self> {
        let digits = s.strip_prefix('+').unwrap_or("");
        let ok = (6..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(StoreError::invalid("e164", "must be + followed by 6 to 15 digits, first not 0"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_lowercased_and_validated() {
        assert_eq!(SipDomain::parse("PBX.Example.COM.").unwrap().as_str(), "pbx.example.com");
        for bad in ["", "-a.com", "a-.com", "a..com", "a_b.com", "10.0.0.1", "ex ample.com"] {
            assert!(SipDomain::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(SipDomain::parse(&"a".repeat(64)).is_err());
        assert!(SipDomain::parse("localhost").is_ok());
    }

    #[test]
    fn country_codes_are_checked_against_the_iso_list() {
        assert_eq!(ISO_3166_ALPHA2.split(' ').count(), 250);
        assert_eq!(CountryCode::parse("de").unwrap().as_str(), "DE");
        for bad in ["", "D", "DEU", "ZZ", "UK", "1A", "EU"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn email_shape() {
        assert_eq!(Email::parse(" Alice@Example.ORG ").unwrap().as_str(), "alice@example.org");
        for bad in ["alice", "@example.org", "alice@", "alice@localhost", "a b@example.org"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn extension_numbers_and_e164() {
        assert!(ExtensionNumber::parse("1001").is_ok());
        for bad in ["1", "0100", "123456789", "10a1", ""] {
            assert!(ExtensionNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(E164::parse("+4930123456").is_ok());
        for bad in ["4930123456", "+0301234567", "+12345", "+1234567890123456", "+49 30 1234"] {
            assert!(E164::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serde_goes_through_validation() {
        let c: CountryCode = serde_json::from_str("\"fr\"").unwrap();
        assert_eq!(c.as_str(), "FR");
        assert!(serde_json::from_str::<CountryCode>("\"XX\"").is_err());
    }
}
