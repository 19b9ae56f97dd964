//! Dialled-number normalisation: what a user dialled (or a forward or transfer target) to an
//! E.164 number, an internal extension, or a feature code.
//!
//! Hostile input is refused before any pattern sees it: at most [`MAX_DIAL_STRING_LEN`] bytes,
//! digits, `+`, `*`, `#` and the visual separators of RFC 3966 §5.1.1 (`-`, `.`, `(`, `)`) plus
//! space and `/`; letters are refused (no vanity-number translation). The caller passes the
//! user part of a SIP or tel URI already percent-decoded and without URI parameters.
//!
//! ```text
//! visual-separator = "-" / "." / "(" / ")"          ; RFC 3966 §5.1.1
//! ```

use std::fmt;
use std::sync::Arc;

use crate::plan::{NumberPlan, Region};
use crate::{Country, E164, Error, MAX_E164_DIGITS};

/// Longest dial string accepted, in bytes (before separators are removed).
pub const MAX_DIAL_STRING_LEN: usize = 32;

/// What a dial string means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialled {
    /// An extension of the same tenant (digits as dialled).
    Extension(String),
    /// A feature code (`*97`, `#31#`): starts with `*` or `#`; digits, `*` and `#` only.
    FeatureCode(String),
    /// A number on the phone network.
    External(E164),
}

/// Which all-digit dial strings are the tenant's own extensions.
#[derive(Clone)]
pub enum ExtensionPattern {
    /// No extensions: every digit string is a phone number.
    None,
    /// Digit strings of `min..=max` digits that do not start with `0` (the usual national and
    /// outside-line prefix) are extensions.
    Lengths {
        /// Fewest digits.
        min: u8,
        /// Most digits.
        max: u8,
    },
    /// The driver decides, e.g. by looking the digits up in the tenant's extension list.
    Custom(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl ExtensionPattern {
    /// Extensions are `min..=max` digits not starting with `0`.
    pub fn lengths(min: u8, max: u8) -> Self {
        Self::Lengths { min, max }
    }

    /// Extensions are whatever `f` says.
    pub fn custom(f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(f))
    }

    fn matches(&self, digits: &str) -> bool {
        match self {
            Self::None => false,
            Self::Lengths { min, max } => {
                (usize::from(*min)..=usize::from(*max)).contains(&digits.len())
                    && !digits.starts_with('0')
            }
            Self::Custom(f) => f(digits),
        }
    }
}

impl fmt::Debug for ExtensionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Lengths { min, max } => write!(f, "Lengths({min}..={max})"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// A tenant's dial plan: its home country (for national numbers and the international prefix)
/// and how its extensions look.
#[derive(Clone, Debug)]
pub struct DialPlan {
    home: Country,
    region: &'static Region,
    extensions: ExtensionPattern,
}

impl DialPlan {
    /// A dial plan for `home`; fails if the country has no numbering-plan metadata.
    pub fn new(home: Country, extensions: ExtensionPattern) -> Result<Self, Error> {
        let region = NumberPlan::global()
            .by_country(home)
            .ok_or_else(|| Error::UnknownCountry(home.to_string()))?;
        Ok(Self { home, region, extensions })
    }

    /// The home country.
    pub fn home(&self) -> Country {
        self.home
    }

    /// The extension pattern.
    pub fn extensions(&self) -> &ExtensionPattern {
        &self.extensions
    }

    /// Normalises a dial string.
    ///
    /// - `+` and digits: international (E.164).
    /// - digits starting with the home country's international prefix (`00`, `011`, AU's
    ///   `0011`, ...): international.
    /// - digits matching the extension pattern: [`Dialled::Extension`].
    /// - other digits: national; the national (trunk) prefix (`0`, US `1`, ...) is removed
    ///   following the country's rules.
    /// - starting with `*` or `#`: [`Dialled::FeatureCode`].
    pub fn normalize(&self, input: &str) -> Result<Dialled, Error> {
        if input.len() > MAX_DIAL_STRING_LEN {
            return Err(Error::InputTooLong { len: input.len(), max: MAX_DIAL_STRING_LEN });
        }
        let mut buf = [0u8; MAX_DIAL_STRING_LEN];
        let mut n = 0usize;
        let mut plus = false;
        let mut feature = false;
        for (at, ch) in input.char_indices() {
            match ch {
                '0'..='9' | '*' | '#' => {
                    feature |= ch == '*' || ch == '#';
                    buf[n] = ch as u8;
                    n += 1;
                }
                '+' if n == 0 && !plus => plus = true,
                '+' => return Err(Error::MisplacedPlus { at }),
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                c if c.is_alphabetic() => return Err(Error::Letter { ch: c, at }),
                c => return Err(Error::InvalidCharacter { ch: c, at }),
            }
        }
        // ASCII by construction.
        let cleaned = std::str::from_utf8(&buf[..n]).unwrap_or("");
        if cleaned.is_empty() {
            return Err(if plus { Error::NoDigits } else { Error::Empty });
        }
        if feature {
            return if !plus && cleaned.starts_with(['*', '#']) {
                Ok(Dialled::FeatureCode(cleaned.to_owned()))
            } else {
                Err(Error::MisplacedFeatureCharacter)
            };
        }
        if plus {
            return international(cleaned, cleaned).map(Dialled::External);
        }
        if self.extensions.matches(cleaned) {
            return Ok(Dialled::Extension(cleaned.to_owned()));
        }
        // As in libphonenumber, digits after the international prefix that start with 0 are no
        // country code, so the prefix was part of a national number (IL dials 0-1800 ...).
        if let Some(m) = self.region.idd.as_ref().and_then(|idd| idd.find(cleaned))
            && !cleaned[m.end()..].starts_with('0')
        {
            return international(&cleaned[m.end()..], cleaned).map(Dialled::External);
        }
        national(self.region, cleaned).map(Dialled::External)
    }
}

/// Digits after `+` or the international prefix.
fn international(digits: &str, dialled: &str) -> Result<E164, Error> {
    let plan = NumberPlan::global();
    let too_short = || Error::TooShort { digits: dialled.to_owned() };
    if digits.is_empty() {
        return Err(too_short());
    }
    let Some((code, rest)) = plan.split_calling_code(digits) else {
        return Err(if digits.len() < 3 && !digits.starts_with('0') {
            too_short()
        } else {
            Error::UnknownCountryCode { digits: digits.to_owned() }
        });
    };
    let Some(region) = plan.main_region(code) else {
        return Err(Error::UnknownCountryCode { digits: digits.to_owned() });
    };
    let nsn = region.national_significant(rest);
    if nsn.len() < region.min_length().max(2) {
        return Err(too_short());
    }
    assemble(code, &nsn)
}

/// Digits dialled in national format in `region`.
fn national(region: &Region, digits: &str) -> Result<E164, Error> {
    let nsn = region.national_significant(digits);
    if nsn.len() < region.min_length().max(2) {
        return Err(Error::TooShort { digits: digits.to_owned() });
    }
    assemble(region.code, &nsn)
}

fn assemble(code: u16, nsn: &str) -> Result<E164, Error> {
    let mut cc = [0u8; 3];
    let mut cc_len = 0;
    for div in [100, 10, 1] {
        let d = (code / div % 10) as u8;
        if cc_len > 0 || d != 0 || div == 1 {
            cc[cc_len] = b'0' + d;
            cc_len += 1;
        }
    }
    let total = cc_len + nsn.len();
    if total > MAX_E164_DIGITS {
        return Err(Error::TooManyDigits { digits: total });
    }
    let mut buf = [0u8; MAX_E164_DIGITS];
    buf[..cc_len].copy_from_slice(&cc[..cc_len]);
    buf[cc_len..total].copy_from_slice(nsn.as_bytes());
    E164::from_digits(&buf[..total])
        .ok_or_else(|| Error::NotE164(String::from_utf8_lossy(&buf[..total]).into_owned()))
}
