//! The Ringfence SIP server: the tokio side of the system.
//!
//! Data flow: sockets ([`transport`]) turn bytes into parsed [`ringfence_sip_types::Message`]s
//! and hand them to the core as [`transport::Inbound`] values; the core (transactions,
//! registrar, B2BUA) answers with [`transport::Outbound`] values that the transports write
//! back over the right socket or connection. The [`perimeter`] guard sits in front of all of
//! it (before parsing, after parsing, around digest authentication and in the registrar).
//! Protocol logic lives in the sans-IO crates;
//! this crate owns the I/O, the tasks and their graceful shutdown.

pub mod advertise;
pub mod auth;
pub mod b2bua;
pub mod config;
pub mod core;
pub mod egress;
pub mod media_anchor;
pub mod options;
pub mod perimeter;
pub mod registrar;
pub mod transport;
