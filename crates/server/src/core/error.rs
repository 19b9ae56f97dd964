//! The error type of the core, authenticator and registrar.

use crate::transport::TransportError;

/// What can go wrong in the SIP core and the services around it, and whose fault it is.
///
/// * Caller (a TU asked for something impossible): [`CoreError::Transaction`].
/// * Ours or the operator's: [`CoreError::Stopped`], [`CoreError::Store`],
///   [`CoreError::Transport`], [`CoreError::Config`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The core task has stopped (shutdown finished); nothing more can be sent.
    #[error("the SIP core has stopped")]
    Stopped,
    /// The transaction layer refused the operation (unknown transaction, missing Via
    /// branch, too many client transactions, ...).
    #[error("transaction layer: {0}")]
    Transaction(#[from] ringfence_sip_proto::Error),
    /// The store failed (loading bindings at startup, credential lookups).
    #[error("store: {0}")]
    Store(#[from] ringfence_store::StoreError),
    /// The transports could not start.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// A configuration value is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}
