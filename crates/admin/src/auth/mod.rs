//! Authentication: password hashing, login sessions, TOTP, throttling, and the extractors
//! that tell handlers who is calling.

pub mod password;
pub mod principal;
pub mod session;
pub mod throttle;
pub mod totp;

pub use principal::{Auth, AuthAny, Principal, Via};
