//! Typed header values, one module per header. Each type parses from the header value
//! text (`parse`) and prints in canonical form (`Display`). The grammar each implements
//! is quoted in its module documentation.
//!
//! Typed values are produced on demand by the accessors of [`crate::Headers`],
//! [`crate::Request`] and [`crate::Response`] (e.g. `req.cseq()?`).

pub mod call_id;
pub mod contact;
pub mod content_length;
pub mod content_type;
pub mod cseq;
pub mod date;
pub mod expires;
pub mod max_forwards;
pub mod name_addr;
pub mod p_asserted_identity;
pub mod privacy;
pub mod product;
pub mod reason;
pub mod route;
pub mod token_list;
pub mod via;

pub use call_id::CallId;
pub use contact::Contact;
pub use content_length::ContentLength;
pub use content_type::ContentType;
pub use cseq::CSeq;
pub use date::SipDate;
pub use expires::{Expires, MinExpires};
pub use max_forwards::MaxForwards;
pub use name_addr::NameAddr;
pub use privacy::Privacy;
pub use product::{Server, UserAgent};
pub use reason::Reason;
pub use via::{BRANCH_MAGIC_COOKIE, Via};
