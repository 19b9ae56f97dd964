//! SIP wire types: messages, URIs and typed headers (RFC 3261 §7, §19, §20, §25).
//!
//! First stop after the perimeter guard in the data flow: bytes from a socket become a
//! [`Message`] here, and every outgoing message is printed from one. No I/O, no tokio.

pub mod auth;
