//! Comma-separated token lists: Allow (RFC 3261 §20.5) and the option-tag headers
//! Supported, Require, Proxy-Require, Unsupported (§20.37, §20.32, §20.29, §20.40).
//!
//! ```text
//! Allow          =  "Allow" HCOLON [Method *(COMMA Method)]
//! Supported      =  ( "Supported" / "k" ) HCOLON [option-tag *(COMMA option-tag)]
//! Require        =  "Require" HCOLON option-tag *(COMMA option-tag)
//! Proxy-Require  =  "Proxy-Require" HCOLON option-tag *(COMMA option-tag)
//! Unsupported    =  "Unsupported" HCOLON option-tag *(COMMA option-tag)
//! option-tag     =  token
//! ```

use crate::error::ParseError;
use crate::method::Method;
use crate::text;

/// Parses a comma-separated list of tokens; an empty value gives an empty list.
pub fn parse_tokens(header: &'static str, value: &str) -> Result<Vec<String>, ParseError> {
    crate::headers::split_list(value)
        .map(|t| {
            if text::is_token(t) {
                Ok(t.to_owned())
            } else {
                Err(ParseError::header(header, "list element is not a token"))
            }
        })
        .collect()
}

/// Parses an Allow header value.
pub fn parse_allow(value: &str) -> Result<Vec<Method>, ParseError> {
    crate::headers::split_list(value)
        .map(|t| Method::from_token(t).ok_or(ParseError::header("Allow", "method is not a token")))
        .collect()
}

/// Prints a list as `a, b, c`.
pub fn format_list<T: std::fmt::Display>(items: &[T]) -> String {
    let mut out = String::new();
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&t.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(
            parse_tokens("Require", "nothingSupportsThis, nothingSupportsThisEither").unwrap(),
            ["nothingSupportsThis", "nothingSupportsThisEither"]
        );
        assert!(parse_tokens("Supported", "").unwrap().is_empty());
        assert!(parse_tokens("Supported", "a,,b").is_err());
        assert!(parse_tokens("Supported", "a b").is_err());
        let m = parse_allow("INVITE, ACK,OPTIONS , FOO").unwrap();
        assert_eq!(m[3], Method::Other("FOO".into()));
        assert_eq!(format_list(&m), "INVITE, ACK, OPTIONS, FOO");
    }
}
