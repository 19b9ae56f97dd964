//! The one error type of the admin crate, and how it is shown to API clients.
//!
//! Every failed request answers with a JSON body `{"code": ..., "message": ..., "field": ...}`
//! ([`ErrorBody`]). `code` is a stable machine-readable word, `message` a sentence for people,
//! `field` (only for input errors) names the offending request field, e.g. `number` or
//! `allowed_countries[2]`. Internal failures answer 500 with a generic message; the details go
//! to the log, never to the client.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ringfence_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Everything that can go wrong in the admin API and its set-up.
///
/// Whose fault: the variants up to [`Error::PayloadTooLarge`] are the client's (4xx);
/// [`Error::Store`] depends on the store error; [`Error::Tls`], [`Error::Io`] and
/// [`Error::Internal`] are the operator's or ours (500, or a start-up failure).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request body or a parameter could not be read at all (bad JSON syntax): 400.
    #[error("malformed request: {message}")]
    BadRequest {
        /// What could not be read.
        message: Cow<'static, str>,
        /// Which parameter or field, if known.
        field: Option<String>,
    },
    /// A field has an invalid value; nothing was changed: 422.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The request field, e.g. `pin` or `allowed_countries[1]`.
        field: String,
        /// What is wrong with it.
        message: Cow<'static, str>,
    },
    /// No valid session cookie or API token: 401.
    #[error("authentication required")]
    Unauthenticated,
    /// Login refused. Unknown email, wrong password and locked account all answer this, with
    /// the same body: 401.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The password was right but the account needs a TOTP code and none was given: 401.
    #[error("a TOTP code is required")]
    TotpRequired,
    /// The TOTP code was wrong or already used: 401.
    #[error("invalid TOTP code")]
    InvalidTotp,
    /// Authenticated, but not allowed to do this: 403. `code` says why, e.g.
    /// `forbidden`, `csrf_token_invalid`, `totp_enrollment_required`,
    /// `password_change_required`.
    #[error("{message}")]
    Forbidden {
        /// Stable reason word.
        code: &'static str,
        /// Explanation.
        message: Cow<'static, str>,
    },
    /// No such record in the caller's scope (records of other tenants answer this too): 404.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: Cow<'static, str>,
    },
    /// A uniqueness rule or the current state forbids the change: 409.
    #[error("{message}")]
    Conflict {
        /// Stable reason word, e.g. `already_exists`.
        code: &'static str,
        /// Explanation.
        message: Cow<'static, str>,
    },
    /// The request body is not `application/json`: 415.
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    /// The request body is larger than allowed: 413.
    #[error("request body too large")]
    PayloadTooLarge,
    /// A store failure; client errors (not found, conflict, invalid) keep their meaning.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// TLS set-up failed (bad certificate or key): the operator's configuration.
    #[error("TLS: {0}")]
    Tls(Cow<'static, str>),
    /// Reading or writing a file (certificate, key) failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A bug or an unexpected failure inside the admin API.
    #[error("internal error: {0}")]
    Internal(Cow<'static, str>),
}

/// Result alias of the admin crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable reason, e.g. `invalid`, `not_found`, `invalid_credentials`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, for input errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    /// Shorthand for a plain 403 `forbidden`.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Forbidden { code: "forbidden", message: message.into() }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: impl Into<Cow<'static, str>>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// Shorthand for [`Error::Conflict`].
    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    /// Shorthand for [`Error::Internal`].
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Internal(message.into())
    }

    /// Renames the field of an input error (store errors name store fields; the API may call
    /// them differently).
    pub fn with_field(self, field: &str) -> Self {
        match self {
            Self::Invalid { message, .. }
            | Self::Store(StoreError::Invalid { message, .. })
            | Self::BadRequest { message, .. } => Self::Invalid { field: field.into(), message },
            other => other,
        }
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::TotpRequired
            | Self::InvalidTotp => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Store(e) => match e {
                StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
                StoreError::Conflict { .. } => StatusCode::CONFLICT,
                StoreError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Tls(_) | Self::Io { .. } | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body shown to the client.
    pub fn body(&self) -> ErrorBody {
        let (code, field): (&str, Option<String>) = match self {
            Self::BadRequest { field, .. } => ("bad_request", field.clone()),
            Self::Invalid { field, .. } => ("invalid", Some(field.clone())),
            Self::Unauthenticated => ("unauthenticated", None),
            Self::InvalidCredentials => ("invalid_credentials", None),
            Self::TotpRequired => ("totp_required", None),
            Self::InvalidTotp => ("invalid_totp", None),
            Self::Forbidden { code, .. } => (code, None),
            Self::NotFound { .. } => ("not_found", None),
            Self::Conflict { code, .. } => (code, None),
            Self::UnsupportedMediaType => ("unsupported_media_type", None),
            Self::PayloadTooLarge => ("payload_too_large", None),
            Self::Store(StoreError::NotFound { .. }) => ("not_found", None),
            Self::Store(StoreError::Conflict { .. }) => ("already_exists", None),
            Self::Store(StoreError::Invalid { field, .. }) => ("invalid", Some((*field).into())),
            Self::Store(_) | Self::Tls(_) | Self::Io { .. } | Self::Internal(_) => {
                ("internal", None)
            }
        };
        let message = if self.status().is_server_error() {
            "internal error; the details are in the server log".to_owned()
        } else {
            self.to_string()
        };
        ErrorBody { code: code.to_owned(), message, field }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "admin API request failed");
        }
        (status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_meaning_and_hide_internals() {
        let e = Error::from(StoreError::invalid("email", "bad"));
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body().field.as_deref(), Some("email"));
        let e = Error::from(StoreError::NotFound { what: "extension" });
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        let e = Error::from(StoreError::Crypto("key mismatch".into()));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.body().message.contains("key"));
    }

    #[test]
    fn with_field_renames_input_errors_only() {
        let e = Error::from(StoreError::invalid("country", "no")).with_field("allowed_countries");
        assert_eq!(e.body().field.as_deref(), Some("allowed_countries"));
        assert_eq!(Error::Unauthenticated.with_field("x").body().field, None);
    }
}
