//! The one error type of the store.

use std::borrow::Cow;

/// Everything that can go wrong in the store.
///
/// Whose fault: [`StoreError::NotFound`], [`StoreError::Conflict`] and [`StoreError::Invalid`]
/// are the caller's (map them to 404, 409 and 422/400); [`StoreError::Crypto`],
/// [`StoreError::Corrupt`], [`StoreError::Database`], [`StoreError::Migration`] and
/// [`StoreError::Io`] are the operator's or ours (map them to 500 and log them).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such record in the caller's scope. Records of another tenant answer this too, so a
    /// caller cannot tell "exists elsewhere" from "does not exist".
    #[error("{what} not found")]
    NotFound {
        /// What was looked up, e.g. `"extension"`.
        what: &'static str,
    },
    /// A uniqueness rule would be broken, e.g. a second tenant with the same SIP domain.
    #[error("{what} already exists")]
    Conflict {
        /// What is taken, e.g. `"tenant domain"`.
        what: &'static str,
    },
    /// Input failed validation; nothing was changed.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The offending input field, e.g. `"email"`.
        field: &'static str,
        /// What is wrong with it.
        message: Cow<'static, str>,
    },
    /// Encryption or key handling failed: wrong master key, a ciphertext that does not belong
    /// to this record, or a destroyed tenant key. The message never contains key material.
    #[error("crypto: {0}")]
    Crypto(Cow<'static, str>),
    /// A stored value could not be decoded (tampered with or written by a newer version).
    #[error("corrupt stored data: {0}")]
    Corrupt(Cow<'static, str>),
    /// The database failed or refused the operation.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Reading or writing a file in the data directory (e.g. `master.key`) failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Shorthand for [`StoreError::Invalid`].
    pub fn invalid(field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid { field, message: message.into() }
    }

    /// Shorthand for [`StoreError::Corrupt`].
    pub(crate) fn corrupt(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Corrupt(message.into())
    }

    /// True for errors caused by the caller's input or scope (4xx), false for internal ones.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Self::NotFound { .. } | Self::Conflict { .. } | Self::Invalid { .. })
    }
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
