//! SIP wire types: messages, URIs and typed headers (RFC 3261 §7, §19, §20, §25).
//!
//! First stop after the perimeter guard in the data flow: bytes from a socket become a
//! [`Message`] here (with hard [`Limits`]), the transaction layer, registrar and B2BUA
//! read it through typed accessors, and every outgoing message is printed from one.
//! No I/O, no tokio.
//!
//! ```
//! use ringfence_sip_types::{Message, Response};
//! let bytes = b"REGISTER sip:example.com SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7\r\n\
//! Max-Forwards: 70\r\n\
//! To: Bob <sip:bob@example.com>\r\n\
//! From: Bob <sip:bob@example.com>;tag=456248\r\n\
//! Call-ID: 843817637684230@998sdasdh09\r\n\
//! CSeq: 1826 REGISTER\r\n\
//! Contact: <sip:bob@192.0.2.10>\r\n\
//! Expires: 7200\r\n\
//! Content-Length: 0\r\n\r\n";
//! let Message::Request(req) = Message::parse(bytes)? else { unreachable!() };
//! assert_eq!(req.via_top()?.branch(), Some("z9hG4bKnashds7"));
//! assert_eq!(req.cseq()?.seq, 1826);
//! assert_eq!(req.header_str("call-id"), Some("843817637684230@998sdasdh09"));
//! let mut resp = Response::from_request(&req, 401);
//! resp.set_to_tag("37GkEhwl6")?;
//! assert!(resp.to_bytes().starts_with(b"SIP/2.0 401 Unauthorized\r\n"));
//! # Ok::<(), ringfence_sip_types::ParseError>(())
//! ```
//!
//! Design: parsing validates the start line and the headers every element relies on
//! (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact, Date), so
//! the RFC 4475 malformed messages are rejected with an error naming the problem; all
//! other headers are kept as text spans and parsed when accessed. Unknown headers are
//! preserved byte-exact.

pub mod auth;
mod error;
pub mod framing;
pub mod header;
mod headers;
mod host;
mod limits;
mod message;
mod method;
mod params;
mod print;
#[cfg(test)]
mod reference;
mod status;
mod text;
mod uri;

pub use error::{Limit, ParseError};
pub use framing::{Framed, StreamFramer};
pub use headers::{AsHeaderName, HeaderField, HeaderName, Headers, split_list};
pub use host::Host;
pub use limits::Limits;
pub use message::{Message, Request, RequestBuilder, Response, ResponseBuilder, Version};
pub use method::Method;
pub use params::{Param, Params};
pub use status::StatusCode;
pub use text::unescape;
pub use uri::{SipUri, TelUri, Uri};
