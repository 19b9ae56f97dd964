//! The crate's error type. Variants say whose fault it is: the peer's (a malformed or
//! unauthenticated packet, an unacceptable offer), the configuration's, or the host's
//! (no free port, a socket error).

use ringfence_sdp::SdpError;

/// What went wrong in the media relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// Peer: a packet too short or not RTP/RTCP version 2.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// Peer (or an attacker): the SRTP/SRTCP authentication tag does not verify.
    #[error("SRTP authentication failed")]
    AuthFailed,
    /// Peer (or an attacker): an SRTP/SRTCP packet index seen before or too old.
    #[error("SRTP replayed or too old packet")]
    Replayed,
    /// Peer: more SSRCs on one leg than the relay tracks.
    #[error("too many SSRCs on one SRTP context")]
    TooManySsrcs,
    /// Peer: an SDP body that cannot be parsed.
    #[error("SDP: {0}")]
    Sdp(#[from] SdpError),
    /// Peer: an offer or answer the relay cannot accept; the B2BUA answers `status`
    /// (488 typically) with `reason` as Warning text.
    #[error("media not acceptable ({status}): {reason}")]
    NotAcceptable {
        /// SIP status for the sender of the body.
        status: u16,
        /// Why.
        reason: String,
    },
    /// Configuration: a value out of range (the message names the field).
    #[error("media configuration: {0}")]
    Config(String),
    /// Host: every port pair of the pool is in use or quarantined.
    #[error("no free media port in the pool")]
    NoPorts,
    /// Host: the engine is shutting down.
    #[error("media engine is shutting down")]
    ShuttingDown,
    /// Host: a socket operation failed.
    #[error("media socket: {0}")]
    Io(#[from] std::io::Error),
    /// Internal: the system random generator failed.
    #[error("random generator failed")]
    Random,
}

impl MediaError {
    pub(crate) fn not_acceptable(reason: impl Into<String>) -> MediaError {
        MediaError::NotAcceptable { status: 488, reason: reason.into() }
    }
}
