//! `tel:` URIs (RFC 3966), as they appear in Request-URIs and P-Asserted-Identity.
//!
//! ```text
//! telephone-uri        = "tel:" telephone-subscriber
//! telephone-subscriber = global-number / local-number
//! global-number        = global-number-digits *par
//! local-number         = local-number-digits *par context *par
//! global-number-digits = "+" *phonedigit DIGIT *phonedigit
//! local-number-digits  = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex
//! phonedigit           = DIGIT / [ visual-separator ]
//! visual-separator     = "-" / "." / "(" / ")"
//! par                  = parameter / extension / isdn-subaddress
//! parameter            = ";" pname ["=" pvalue ]
//! ```

use std::fmt;

use crate::params::{Param, Params};
use crate::text;

/// A `tel:` URI: a number and parameters (e.g. `phone-context`), both as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelUri {
    /// The number as written, visual separators included (`+1-201-555-0123`).
    pub number: String,
    /// Parameters (`;phone-context=example.com`).
    pub params: Params,
}

impl TelUri {
    /// A `tel:` URI for `number` with no parameters.
    pub fn new(number: impl Into<String>) -> Self {
        TelUri { number: number.into(), params: Params::new() }
    }

    /// True for a global number (`+` followed by the E.164 digits).
    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    /// The number without visual separators (`-`, `.`, `(`, `)`).
    pub fn digits(&self) -> String {
        self.number.chars().filter(|c| !matches!(c, '-' | '.' | '(' | ')')).collect()
    }

    pub(crate) fn parse_after_scheme(s: &str) -> Result<TelUri, &'static str> {
        let end = s.find(';').unwrap_or(s.len());
        let number = &s[..end];
        let body = number.strip_prefix('+').unwrap_or(number);
        let ok = !body.is_empty()
            && body.bytes().all(|b| {
                b.is_ascii_hexdigit() || matches!(b, b'*' | b'#' | b'-' | b'.' | b'(' | b')')
            })
            && body.bytes().any(|b| b.is_ascii_hexdigit() || b == b'*' || b == b'#');
        if !ok || (number.starts_with('+') && !body.bytes().any(|b| b.is_ascii_digit())) {
            return Err("invalid telephone number");
        }
        let mut params = Params::new();
        let mut tail = &s[end..];
        while let Some(t) = tail.strip_prefix(';') {
            let end = t.find(';').unwrap_or(t.len());
            let item = &t[..end];
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (item, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err("invalid tel URI parameter name");
            }
            if let Some(v) = value
                && (v.is_empty() || !v.bytes().all(text::is_param_char) || !text::escapes_valid(v))
            {
                return Err("invalid tel URI parameter value");
            }
            params.push(Param { name: name.to_owned(), value: value.map(str::to_owned) });
            tail = &t[end..];
        }
        Ok(TelUri { number: number.to_owned(), params })
    }
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tel:{}", self.number)?;
        self.params.write(f)
    }
}

#[cfg(test)]
mod tests {
    use crate::Uri;

    #[test]
    fn tel() {
        let Uri::Tel(t) = Uri::parse("tel:+1-201-555-0123;ext=12").unwrap() else { panic!() };
        assert!(t.is_global());
        assert_eq!(t.digits(), "+12015550123");
        assert_eq!(t.params.get("ext"), Some("12"));
        assert_eq!(t.to_string(), "tel:+1-201-555-0123;ext=12");
        let Uri::Tel(t) = Uri::parse("tel:7042;phone-context=example.com").unwrap() else {
            panic!()
        };
        assert!(!t.is_global());
        assert!(Uri::parse("tel:").is_err());
        assert!(Uri::parse("tel:+").is_err());
        assert!(Uri::parse("tel:12 3").is_err());
    }
}
