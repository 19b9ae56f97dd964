//! SDP (RFC 8866) for Ringfence's media relay: parse and print with hard limits, typed
//! views of the fields a relay works with, and the offer/answer rewriting that anchors
//! a call's media at the relay (RFC 3264). No I/O.
//!
//! # Place in the data flow
//! ```text
//! INVITE/200/UPDATE body ──> Sdp::parse (limits) ──> media relay reads c=, m=, rtpmap,
//!    direction, rtcp, rtcp-mux, a=crypto; allocates ports, picks keys
//!                        ──> anchor_address / set_port / set_secure / set_cryptos /
//!                            intersect_formats ──> Sdp::to_bytes ──> the other leg
//! ```
//!
//! The body is kept as lines: unknown lines and attributes print back exactly as they
//! came (with CRLF line ends), and typed views parse a line when asked. The `m=`, `c=`
//! and `o=` lines are validated at parse time; a malformed attribute is skipped by its
//! typed accessor (it offers nothing usable) rather than failing the body.
//!
//! ```
//! use ringfence_sdp::{CryptoSuite, Sdp};
//! let body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
//!             m=audio 4000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
//!             a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
//! let mut sdp = Sdp::parse(body.as_bytes())?;
//! assert_eq!(sdp.media[0].cryptos()[0].suite, CryptoSuite::AesCm128HmacSha1_80);
//! sdp.anchor_address("203.0.113.1".parse().unwrap());
//! sdp.media[0].set_port(30000);
//! sdp.media[0].set_secure(false);
//! sdp.media[0].set_cryptos(&[]);
//! assert!(sdp.to_string().contains("m=audio 30000 RTP/AVP 0 101\r\n"));
//! # Ok::<(), ringfence_sdp::SdpError>(())
//! ```

mod attr;
mod body;
mod connection;
mod crypto;
mod error;
mod media;
mod rewrite;

pub use attr::{Direction, Fmtp, Rtcp, Rtpmap};
pub use body::{Limits, Line, Media, Sdp};
pub use connection::{Connection, Origin};
pub use crypto::{Crypto, CryptoSuite, InlineKey, KeyParam, Lifetime, Mki};
pub use error::SdpError;
pub use media::{MediaLine, Proto};
pub use rewrite::{END_TO_END_ATTRIBUTES, intersect_formats};
