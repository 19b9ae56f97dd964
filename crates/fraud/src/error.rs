//! The crate's error type. Engine operations do not fail (unknown calls and tenants are
//! handled); errors come from loading configuration: the rate table and tenant settings, both
//! the operator's or the tenant administrator's input.

/// Everything that can go wrong in this crate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rate-table line could not be read.
    #[error("rate table line {line}: {reason}")]
    RateTable {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A tenant configuration value is out of range.
    #[error("fraud configuration: {field}: {reason}")]
    Config {
        /// The offending field, dotted (`burst.threshold`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Config { field, reason: reason.into() }
    }
}
