//! The P-Asserted-Identity header (RFC 3325 §9.1).
//!
//! ```text
//! PAssertedID = "P-Asserted-Identity" HCOLON PAssertedID-value
//!                 *(COMMA PAssertedID-value)
//! PAssertedID-value = name-addr / addr-spec
//! ```

use crate::error::ParseError;
use crate::header::name_addr::{Form, NameAddr};

/// Parses one P-Asserted-Identity value (a SIP/SIPS or TEL address).
pub fn parse_p_asserted_identity(value: &str) -> Result<NameAddr, ParseError> {
    NameAddr::parse_as(value, Form::Either)
        .map_err(|r| ParseError::header("P-Asserted-Identity", r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let a = parse_p_asserted_identity("\"Cullen Jennings\" <sip:fluffy@cisco.com>").unwrap();
        assert_eq!(a.display_name.as_deref(), Some("Cullen Jennings"));
        let t = parse_p_asserted_identity("tel:+14085264000").unwrap();
        assert_eq!(t.uri.scheme(), "tel");
    }
}
