//! SIP transactions (RFC 3261 §17 with the RFC 6026 corrections), sans-IO.
//!
//! Place in the data flow: the driver (the server crate's socket tasks) parses bytes into
//! a `Message` and feeds it to [`TransactionLayer::handle_incoming`] with the [`Peer`]
//! it came from; the TU (registrar, B2BUA) reads [`Event`]s, answers with
//! [`TransactionLayer::respond`] and sends requests with
//! [`TransactionLayer::start_client_transaction`]; the driver writes every
//! [`Transmit`] and calls [`TransactionLayer::handle_timeout`] when
//! [`TransactionLayer::poll_timeout`] passes. Time is always an argument.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ringfence_sip_proto::transaction::{Config, Event, Peer, TransactionLayer, Transport};
//! use ringfence_sip_types::{Message, Response};
//!
//! let mut layer = TransactionLayer::new(Config::default());
//! let now = Instant::now();
//! let src = Peer::new("192.0.2.10:5060".parse().unwrap(), Transport::Udp);
//! let options = Message::parse(b"OPTIONS sip:pbx.example SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n\
//! To: <sip:pbx.example>\r\nFrom: <sip:alice@example.com>;tag=1928301774\r\n\
//! Call-ID: a84b4c76e66710\r\nCSeq: 63104 OPTIONS\r\nContent-Length: 0\r\n\r\n").unwrap();
//! layer.handle_incoming(now, options, src).unwrap();
//! let Some(Event::Request { tx, request, .. }) = layer.poll_event() else { panic!() };
//! layer.respond(now, tx, Response::from_request(&request, 200)).unwrap();
//! let out = layer.poll_transmit().unwrap();
//! assert_eq!(out.dest.addr, src.addr);
//! assert!(out.bytes.starts_with(b"SIP/2.0 200 OK\r\n"));
//! // Timer J keeps the transaction 64*T1 on UDP to absorb retransmissions.
//! assert_eq!(layer.poll_timeout(), Some(now + Duration::from_secs(32)));
//! layer.handle_timeout(now + Duration::from_secs(32));
//! assert!(layer.is_empty());
//! ```
//!
//! What the layer does on its own, so the TU need not:
//! - retransmissions and timeouts (Timers A–M, reliable transports skip A, E and G and
//!   zero D, I, J, K);
//! - `100 Trying` for an INVITE the TU has not answered within 200 ms;
//! - the ACK for a non-2xx final response to an INVITE, inside the transaction;
//! - `received`/`rport` on incoming requests and the response destination (§18.2.2);
//! - 200 to a CANCEL that matches an INVITE (the TU then answers the INVITE 487),
//!   481 to one that matches nothing, 482 to merged requests, 503 over the cap.
//!
//! What stays with the TU: Via branches of its requests ([`IdGenerator`]), the ACK for a
//! 2xx and 2xx retransmission until the ACK (see [`crate::dialog`]), and responses to
//! everything else.

mod build;
mod client;
mod ctx;
mod incoming;
mod key;
mod layer;
mod server;
mod timers;
mod types;

mod branch;

pub use branch::{IdGenerator, new_branch};
pub use build::{build_cancel, build_non_2xx_ack, response_destination};
pub use layer::{Config, IdSpace, TransactionLayer};
pub use timers::Timers;
pub use types::{
    Event, FlowId, OverloadPolicy, Peer, Stats, Transmit, Transport, TxId, TxKind, TxState,
};
