//! Ringfence's media relay: every call's RTP and RTCP is anchored here, so devices never
//! learn each other's addresses, NAT traversal is symmetric latching, and encryption is
//! enforced per leg with SRTP terminated at the relay.
//!
//! # Place in the data flow
//! ```text
//! B2BUA offer/answer ──> MediaEngine::offer / answer (anchor: SDP rewriting, policy,
//!                         keys) ──> MediaSession::configure (per leg)
//!
//! device A ──RTP/SRTP──> [leg A socket] latch ─ unprotect(A's key) ─┐
//!                                                                   │ relay task
//! device B <──RTP/SRTP── [leg B socket] ── protect(our key for B) <─┘ (one per call)
//!
//! relay task ──MediaEvent::Timeout──> B2BUA ends the call (disposition media_timeout)
//! B2BUA call end ──> MediaEngine::release ──> ports rest, then back to the pool
//! ```
//!
//! - [`sdp`-level anchoring](MediaEngine::offer): addresses, ports, RTCP mux, codecs,
//!   `a=crypto` per RFC 4568, policy per [`Encryption`] and signalling transport.
//! - [`srtp`]: SRTP/SRTCP (RFC 3711, RFC 7714) on `ring` and `aes`.
//! - [`Latch`]: symmetric RTP; [`PortPool`]: even ports with quarantine.
//! - [`g711`] and [`tone`]: codec and tone analysis for tests and voicemail.

mod anchor;
mod config;
mod engine;
mod error;
pub mod g711;
mod latch;
mod pool;
pub mod rtp;
mod session;
pub mod srtp;
mod stats;
pub mod tone;

pub use anchor::{Encryption, Route};
pub use config::MediaConfig;
pub use engine::{EngineStats, MediaEngine, MediaEvent};
pub use error::MediaError;
pub use latch::{Latch, Verdict};
pub use pool::PortPool;
pub use session::{LegSetup, MediaSession, Side};
pub use stats::Counters;
