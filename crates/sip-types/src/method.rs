//! Request methods (RFC 3261 §7.1, §27.4).
//!
//! ```text
//! Method            =  INVITEm / ACKm / OPTIONSm / BYEm
//!                      / CANCELm / REGISTERm
//!                      / extension-method
//! extension-method  =  token
//! ```
//! Methods are case-sensitive. Unknown methods parse as [`Method::Other`] so a server
//! can answer `405`/`501`.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::text;

/// A SIP request method; open-ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261)
    Invite,
    /// ACK (RFC 3261)
    Ack,
    /// BYE (RFC 3261)
    Bye,
    /// CANCEL (RFC 3261)
    Cancel,
    /// REGISTER (RFC 3261)
    Register,
    /// OPTIONS (RFC 3261)
    Options,
    /// INFO (RFC 6086)
    Info,
    /// PRACK (RFC 3262)
    Prack,
    /// UPDATE (RFC 3311)
    Update,
    /// SUBSCRIBE (RFC 6665)
    Subscribe,
    /// NOTIFY (RFC 6665)
    Notify,
    /// REFER (RFC 3515)
    Refer,
    /// MESSAGE (RFC 3428)
    Message,
    /// PUBLISH (RFC 3903)
    Publish,
    /// Any other `token`.
    Other(String),
}

impl Method {
    /// Parses a method token. Errors if `s` is not a `token`.
    pub fn parse(s: &str) -> Result<Method, ParseError> {
        Method::from_token(s).ok_or(ParseError::InvalidRequestLine("method is not a token"))
    }

    pub(crate) fn from_token(s: &str) -> Option<Method> {
        Some(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other if text::is_token(other) => Method::Other(other.to_owned()),
            _ => return None,
        })
    }

    /// The method name as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl FromStr for Method {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::parse(s)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_other() {
        assert_eq!(Method::parse("INVITE").unwrap(), Method::Invite);
        assert_eq!(Method::parse("invite").unwrap(), Method::Other("invite".into()));
        let m = Method::parse("!interesting-Method0123456789_*+`.%indeed'~").unwrap();
        assert_eq!(m.as_str(), "!interesting-Method0123456789_*+`.%indeed'~");
        assert!(Method::parse("BAD METHOD").is_err());
        assert!(Method::parse("").is_err());
    }
}
