//! The Privacy header (RFC 3323 §4.2, RFC 3325 §9.3).
//!
//! ```text
//! Privacy-hdr  =  "Privacy" HCOLON priv-value *(";" priv-value)
//! priv-value   =   "header" / "session" / "user" / "none" / "critical"
//!                  / "id" / "history" / token
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::text;

/// The requested privacy types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Privacy(pub Vec<String>);

impl Privacy {
    /// True when `value` (e.g. `"id"`) is requested, case-insensitively.
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|v| v.eq_ignore_ascii_case(value))
    }

    /// Parses a Privacy header value.
    pub fn parse(value: &str) -> Result<Privacy, ParseError> {
        value
            .split(';')
            .map(|v| {
                let v = text::trim_lws(v);
                if text::is_token(v) {
                    Ok(v.to_owned())
                } else {
                    Err(ParseError::header("Privacy", "value is not a token"))
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Privacy)
    }
}

impl FromStr for Privacy {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Privacy::parse(s)
    }
}

impl fmt::Display for Privacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let p = Privacy::parse("id; header").unwrap();
        assert!(p.contains("ID") && p.contains("header") && !p.contains("user"));
        assert_eq!(p.to_string(), "id;header");
        assert!(Privacy::parse("").is_err());
        assert!(Privacy::parse("id;;").is_err());
    }
}
