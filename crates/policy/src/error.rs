//! The crate's error type.
//!
//! Normalisation errors are the caller's fault (what was dialled, forwarded to, or transferred
//! to); table and settings errors are the operator's or the administrator's fault. Egress
//! decisions never return an error: they turn a normalisation error into a refusal with a SIP
//! status (see [`crate::DenyReason`]).

/// Everything that can go wrong in this crate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing was dialled (empty, or only visual separators).
    #[error("dialled number is empty")]
    Empty,
    /// The dial string is longer than [`crate::MAX_DIAL_STRING_LEN`] bytes; it was not parsed.
    #[error("dialled number is {len} bytes long; at most {max} are accepted")]
    InputTooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A letter in the dial string (vanity numbers such as `1-800-FLOWERS` are not translated).
    #[error(
        "dialled number contains the letter {ch:?} at byte {at}; only digits, +, * and # are accepted"
    )]
    Letter {
        /// The letter.
        ch: char,
        /// Byte offset in the input.
        at: usize,
    },
    /// A character that is neither a digit, `+`, `*`, `#` nor a visual separator.
    #[error("dialled number contains {ch:?} at byte {at}; only digits, +, * and # are accepted")]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// Byte offset in the input.
        at: usize,
    },
    /// `+` somewhere other than in front of the first digit, or more than once.
    #[error("'+' is only allowed once, in front of the number (byte {at})")]
    MisplacedPlus {
        /// Byte offset of the offending `+`.
        at: usize,
    },
    /// `*` or `#` in a number that is not a feature code (feature codes start with `*` or `#`
    /// and have no `+`).
    #[error("'*' and '#' are only allowed in feature codes that start with '*' or '#'")]
    MisplacedFeatureCharacter,
    /// Only `+` (and separators) was dialled.
    #[error("dialled number is only '+' without digits")]
    NoDigits,
    /// Fewer digits than any number of the destination can have (overlap dialling is not
    /// supported, so this is final).
    #[error("dialled number {digits:?} is too short to be a complete number")]
    TooShort {
        /// The digits that were dialled (after separators were removed).
        digits: String,
    },
    /// More than the 15 digits ITU-T E.164 §6 allows after the country code was resolved.
    #[error("number has {digits} digits; E.164 allows at most 15")]
    TooManyDigits {
        /// Digit count of the would-be E.164 number.
        digits: usize,
    },
    /// The international number starts with no assigned country calling code.
    #[error("no country calling code starts the international number {digits:?}")]
    UnknownCountryCode {
        /// The digits after `+` or the international prefix.
        digits: String,
    },
    /// A two-letter country code that is malformed or has no numbering-plan metadata.
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code with a known numbering plan")]
    UnknownCountry(String),
    /// A string that should be E.164 (`+` and 2 to 15 digits, first digit not 0) is not.
    #[error("{0:?} is not an E.164 number (+ followed by 3 to 15 digits, the first not 0)")]
    NotE164(String),
    /// A number prefix in a table or rule is not `+` followed by 1 to 15 digits.
    #[error("{0:?} is not a number prefix (optional + followed by 1 to 15 digits)")]
    InvalidPrefix(String),
    /// A line of a high-risk prefix table could not be read.
    #[error("high-risk table line {line}: {reason}")]
    RiskTable {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An inbound block rule is malformed (the administrator's input).
    #[error("inbound block rule {index}: {reason}")]
    BlockRule {
        /// 0-based position of the rule in the list.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// Whether the dialled number itself is at fault (as opposed to configuration).
    pub fn is_dialled_number_fault(&self) -> bool {
        !matches!(
            self,
            Error::UnknownCountry(_)
                | Error::InvalidPrefix(_)
                | Error::RiskTable { .. }
                | Error::BlockRule { .. }
        )
    }

    /// Whether more digits could have made the number complete (maps to SIP 484).
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Error::Empty | Error::NoDigits | Error::TooShort { .. })
    }
}
