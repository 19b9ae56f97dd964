//! The crate's error type.
//!
//! Every [`ParseError`] is the sending peer's fault: the bytes on the wire do not form a
//! SIP message this crate accepts. A server answers a request that fails to parse with
//! `400 Bad Request` (using [`ParseError::reason_phrase`] as the reason), `505` for
//! [`ParseError::UnsupportedVersion`], `513` for [`ParseError::LimitExceeded`] with
//! [`Limit::MessageSize`]; a response that fails to parse is dropped.

use std::fmt;

/// Which configurable limit of [`crate::Limits`] was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// Whole message (head and body) in bytes.
    MessageSize,
    /// Number of header lines.
    HeaderCount,
    /// Length of one header field, folded continuation lines included.
    HeaderLength,
    /// Length of the Request-URI.
    UriLength,
    /// Number of Via values.
    ViaCount,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::MessageSize => "message size",
            Limit::HeaderCount => "header count",
            Limit::HeaderLength => "header length",
            Limit::UriLength => "URI length",
            Limit::ViaCount => "Via count",
        })
    }
}

/// Why bytes could not be parsed as a SIP message, URI or header value.
///
/// The `&'static str` details never echo peer input, so the text is safe to put in a
/// reason phrase or a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A configured limit was exceeded.
    #[error("{limit} limit of {max} exceeded")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// The configured maximum.
        max: usize,
    },
    /// Nothing but white space or line ends was received.
    #[error("empty message")]
    Empty,
    /// The header section does not end with an empty line.
    #[error("message head is not terminated by an empty line")]
    UnterminatedHead,
    /// The start line or a header is not valid UTF-8.
    #[error("message head is not valid UTF-8")]
    NotUtf8,
    /// The request line is malformed.
    #[error("invalid request line: {0}")]
    InvalidRequestLine(&'static str),
    /// The status line is malformed.
    #[error("invalid status line: {0}")]
    InvalidStatusLine(&'static str),
    /// The message is well-formed but not SIP/2.0 (answer 505).
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// The Request-URI is malformed.
    #[error("invalid Request-URI: {0}")]
    InvalidRequestUri(&'static str),
    /// A URI parsed on its own is malformed.
    #[error("invalid URI: {0}")]
    InvalidUri(&'static str),
    /// A header line cannot be split into name and value.
    #[error("malformed header line: {0}")]
    InvalidHeaderLine(&'static str),
    /// The value of a known header does not follow its grammar.
    #[error("invalid {header} header: {reason}")]
    InvalidHeader {
        /// Canonical header name, e.g. `"CSeq"`.
        header: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A header the operation needs is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A WWW-Authenticate, Authorization, Proxy-Authenticate or Proxy-Authorization
    /// value does not follow its grammar.
    #[error("invalid {header} header: {source}")]
    InvalidAuth {
        /// Canonical header name.
        header: &'static str,
        /// What is wrong.
        #[source]
        source: crate::auth::AuthParseError,
    },
    /// A header that may appear once appears more than once.
    #[error("more than one {0} header")]
    DuplicateHeader(&'static str),
    /// The Content-Length announces more bytes than the datagram holds.
    #[error("Content-Length {declared} exceeds the {available} body bytes received")]
    BodyTooShort {
        /// Value of Content-Length.
        declared: usize,
        /// Body bytes actually present.
        available: usize,
    },
    /// A stream transport message without Content-Length (RFC 3261 §18.3).
    #[error("missing Content-Length header (mandatory on stream transports)")]
    MissingContentLength,
}

impl ParseError {
    pub(crate) fn header(header: &'static str, reason: &'static str) -> Self {
        ParseError::InvalidHeader { header, reason }
    }

    /// The canonical name of the header the error is about, if any.
    pub fn header_name(&self) -> Option<&'static str> {
        match self {
            ParseError::InvalidHeader { header, .. } | ParseError::InvalidAuth { header, .. } => {
                Some(header)
            }
            ParseError::MissingHeader(h) | ParseError::DuplicateHeader(h) => Some(h),
            ParseError::BodyTooShort { .. } | ParseError::MissingContentLength => {
                Some("Content-Length")
            }
            _ => None,
        }
    }

    /// A short, single-line text suitable as the reason phrase of a `400 Bad Request`,
    /// e.g. `Invalid CSeq header: method does not match request method`.
    ///
    /// Contains only printable ASCII (no CR/LF) and is at most 120 bytes long.
    pub fn reason_phrase(&self) -> String {
        let text = self.to_string();
        let mut out = String::with_capacity(text.len());
        for (i, c) in text.chars().enumerate() {
            let c = if c.is_ascii_graphic() || c == ' ' { c } else { ' ' };
            if i == 0 {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            if out.len() >= 120 {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrase_is_single_line_and_capitalised() {
        let e = ParseError::header("CSeq", "method does not match request method");
        assert_eq!(e.reason_phrase(), "Invalid CSeq header: method does not match request method");
        assert_eq!(e.header_name(), Some("CSeq"));
        let e = ParseError::LimitExceeded { limit: Limit::MessageSize, max: 65536 };
        assert_eq!(e.reason_phrase(), "Message size limit of 65536 exceeded");
    }
}
