//! The crate's error type. Every SDP error is the fault of the party that sent the body
//! (a peer device or trunk): a B2BUA answers it with 488 Not Acceptable Here (or 400).

/// What is wrong with an SDP body, or with a value given to a builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is larger than [`crate::Limits::max_size`].
    #[error("SDP body of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the body.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More lines than [`crate::Limits::max_lines`].
    #[error("SDP body has more than {max} lines")]
    TooManyLines {
        /// The limit.
        max: usize,
    },
    /// More `m=` sections than [`crate::Limits::max_media`].
    #[error("SDP body has more than {max} media descriptions")]
    TooManyMedia {
        /// The limit.
        max: usize,
    },
    /// A line longer than [`crate::Limits::max_line_len`].
    #[error("SDP line {line} is longer than {max} bytes")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// The limit.
        max: usize,
    },
    /// The body is not UTF-8 (RFC 8866 §5: text is UTF-8 or a declared charset; we take
    /// UTF-8 only).
    #[error("SDP body is not valid UTF-8")]
    NotUtf8,
    /// A line is not `<type>=<value>` with a lower-case letter as type.
    #[error("SDP line {line} is not `<type>=<value>`")]
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// The body does not start with `v=0`.
    #[error("SDP body does not start with v=0")]
    BadVersion,
    /// A field is malformed (`field` is `m`, `c`, `o`, `a=rtpmap`, `a=crypto`, ...).
    #[error("malformed SDP {field} field `{value}`: {reason}")]
    BadField {
        /// The field or attribute.
        field: &'static str,
        /// Its value as received (truncated to 80 bytes).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl SdpError {
    pub(crate) fn field(field: &'static str, value: &str, reason: &'static str) -> SdpError {
        let mut end = value.len().min(80);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        SdpError::BadField { field, value: value[..end].to_owned(), reason }
    }
}
