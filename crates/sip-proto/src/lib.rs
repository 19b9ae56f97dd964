//! Sans-IO SIP protocol machinery: transactions (RFC 3261 §17, RFC 6026), dialogs and
//! digest authentication (RFC 7616, RFC 8760). Time is passed in; nothing spawns.

pub mod dialog;
pub mod digest;
mod error;
#[cfg(feature = "sim")]
pub mod sim;
pub mod transaction;

pub use error::Error;
