//! The Route and Record-Route headers (RFC 3261 §20.30, §20.34).
//!
//! ```text
//! Route        =  "Route" HCOLON route-param *(COMMA route-param)
//! route-param  =  name-addr *( SEMI rr-param )
//! Record-Route  =  "Record-Route" HCOLON rec-route *(COMMA rec-route)
//! rec-route     =  name-addr *( SEMI rr-param )
//! ```
//! Both are lists of [`NameAddr`] that must use the `<...>` form.

use crate::error::ParseError;
use crate::header::name_addr::{Form, NameAddr};

/// Parses one Route value.
pub fn parse_route(value: &str) -> Result<NameAddr, ParseError> {
    NameAddr::parse_as(value, Form::NameAddrOnly).map_err(|r| ParseError::header("Route", r))
}

/// Parses one Record-Route value.
pub fn parse_record_route(value: &str) -> Result<NameAddr, ParseError> {
    NameAddr::parse_as(value, Form::NameAddrOnly).map_err(|r| ParseError::header("Record-Route", r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r =
            parse_route("\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>")
                .unwrap();
        assert!(r.uri.as_sip().unwrap().lr());
        assert!(parse_route("sip:services.example.com").is_err());
        let r = parse_record_route("<sip:UserB@example.com;maddr=ss1.example.com>").unwrap();
        assert_eq!(r.uri.as_sip().unwrap().param("maddr"), Some("ss1.example.com"));
    }
}
