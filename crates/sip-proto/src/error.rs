//! The crate's error type.
//!
//! Whose fault each variant is: [`Error::Malformed`] is the peer's when it comes from
//! [`crate::transaction::TransactionLayer::handle_incoming`] and the TU's when it comes
//! from a send; the dialog variants that carry a status ([`Error::status_code`]) are the
//! peer's and map to that response; the rest are programming errors of the TU.

use ringfence_sip_types::ParseError;

use crate::digest::AuthFailure;
use crate::transaction::{TxId, TxKind, TxState};

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A header the operation needs is missing or does not parse.
    #[error("malformed message: {0}")]
    Malformed(#[from] ParseError),
    /// A request to send has no Via branch starting with `z9hG4bK` (TU fault).
    #[error("request has no Via branch with the RFC 3261 magic cookie")]
    MissingBranch,
    /// ACK is never sent through a client transaction (RFC 3261 §17.1.1.3): the ACK for
    /// a non-2xx is the transaction's, the ACK for a 2xx goes out statelessly.
    #[error("ACK is not a transaction; send the ACK for a 2xx statelessly")]
    AckIsNotATransaction,
    /// The CSeq method of a request to send differs from its method (TU fault).
    #[error("CSeq method differs from the request method")]
    CSeqMethodMismatch,
    /// A client transaction with the same branch and method is live (TU fault: branches
    /// must be unique).
    #[error("a client transaction with this branch and method already exists")]
    DuplicateTransaction,
    /// The configured number of client transactions is live.
    #[error("too many live client transactions")]
    TooManyTransactions,
    /// No live transaction has this id (it may have ended).
    #[error("no live transaction {0}")]
    UnknownTransaction(TxId),
    /// The operation does not apply to this kind of transaction (TU fault).
    #[error("{operation} does not apply to {tx}, a {kind} transaction")]
    WrongTransactionKind {
        /// The transaction.
        tx: TxId,
        /// Its kind.
        kind: TxKind,
        /// What was attempted.
        operation: &'static str,
    },
    /// The transaction's state does not allow this response (for example a second final
    /// response; TU fault).
    #[error("{tx} in state {state:?} cannot send a {status} response")]
    ResponseNotAllowed {
        /// The transaction.
        tx: TxId,
        /// Its state.
        state: TxState,
        /// The status of the refused response.
        status: u16,
    },
    /// An in-dialog request has a lower CSeq than the last one (RFC 3261 §12.2.2; the
    /// peer's fault, answer 500).
    #[error("CSeq {got} is lower than the dialog's remote sequence number {last}")]
    CSeqOutOfOrder {
        /// The request's CSeq number.
        got: u32,
        /// The dialog's remote sequence number.
        last: u32,
    },
    /// The message does not belong to this dialog (Call-ID or tags differ).
    #[error("message does not belong to this dialog")]
    NotThisDialog,
    /// The message cannot create a dialog: a To tag is missing, or it is not a
    /// dialog-creating response.
    #[error("message cannot create a dialog: {0}")]
    CannotCreateDialog(&'static str),
    /// A dialog-creating or target refresh message lacks a usable Contact (RFC 3261
    /// §12.1.1; the peer's fault, answer 400).
    #[error("missing or unusable Contact")]
    MissingContact,
    /// The dialog is terminated; no request can be sent in it.
    #[error("the dialog is terminated")]
    DialogTerminated,
    /// ACK and CANCEL are not built with `Dialog::create_request` (use `create_ack`, or
    /// the transaction layer's `cancel`).
    #[error("{0} cannot be created as a new in-dialog request")]
    NotAnInDialogMethod(&'static str),
    /// Digest authentication failed.
    #[error(transparent)]
    Auth(#[from] AuthFailure),
}

impl Error {
    /// The response a UAS sends when a received request caused this error, if the peer
    /// is at fault.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Malformed(_) | Error::MissingContact => Some(400),
            Error::CSeqOutOfOrder { .. } => Some(500),
            Error::NotThisDialog => Some(481),
            _ => None,
        }
    }
}
