//! Hard limits applied while parsing, so hostile input costs bounded memory and time.

/// Configurable parse limits. Exceeding one yields [`crate::ParseError::LimitExceeded`].
///
/// | field | default | why |
/// | --- | --- | --- |
/// | `max_message_size` | 65 536 | largest UDP datagram; RFC 3261 §18.1.1 congestion rules keep real messages far smaller |
/// | `max_headers` | 128 | typical requests carry 10-20 header lines; RFC 4475 §3.1.1.7 has about 50 |
/// | `max_header_len` | 8 192 | one header field including folded continuation lines |
/// | `max_uri_len` | 4 096 | Request-URI length |
/// | `max_vias` | 64 | RFC 4475 §3.1.1.7 (a valid message) carries 34 Via values |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of a whole message (head and body) in bytes.
    pub max_message_size: usize,
    /// Maximum number of header lines.
    pub max_headers: usize,
    /// Maximum length of one header field (name, value and folded continuation lines).
    pub max_header_len: usize,
    /// Maximum length of the Request-URI.
    pub max_uri_len: usize,
    /// Maximum number of Via values (over all Via header lines).
    pub max_vias: usize,
}

impl Limits {
    /// The documented defaults.
    pub const DEFAULT: Limits = Limits {
        max_message_size: 65_536,
        max_headers: 128,
        max_header_len: 8_192,
        max_uri_len: 4_096,
        max_vias: 64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
