//! OPTIONS (RFC 3261 §11): the same answer for every target.
//!
//! Phones send OPTIONS to their registrar as a keep-alive and to learn what it supports;
//! scanners (svwar `-m OPTIONS`) send them to `user@domain` to find out which extensions
//! exist. Ringfence answers every OPTIONS itself, whatever the Request-URI names (the
//! server, a domain it hosts or not, an extension that exists or not), with the same
//! `200 OK` listing Allow, Accept and Supported, and nothing else: no Contact, no
//! product name, no per-user information. The answer never depends on the store, so
//! its content and its timing say nothing about who exists.
//!
//! Asking a device whether it is reachable is not offered: relaying OPTIONS to a
//! registered contact would reveal which extensions are registered.

use ringfence_sip_types::{HeaderName, Request, Response};

/// The methods the server accepts (RFC 3261 §20.5), in the order they are listed.
pub const ALLOWED_METHODS: &str =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, UPDATE, INFO, PRACK, REFER, MESSAGE, NOTIFY";

/// Builds the answer to OPTIONS.
#[derive(Debug, Clone)]
pub struct OptionsResponder {
    supported: String,
}

impl OptionsResponder {
    /// A responder advertising `supported` option tags (RFC 3261 §20.37).
    pub fn new(supported: &[&str]) -> OptionsResponder {
        OptionsResponder { supported: supported.join(", ") }
    }

    /// The `200 OK` for `request`: Allow, Accept (`application/sdp`), Supported, a fresh To
    /// tag. Identical for every Request-URI.
    pub fn respond(&self, request: &Request) -> Response {
        let mut r = Response::from_request(request, 200);
        let _ = r.set_to_tag(&crate::auth::random_tag());
        r.headers.remove(HeaderName::ContentLength);
        r.headers.push(HeaderName::Allow, ALLOWED_METHODS);
        r.headers.push(HeaderName::Accept, "application/sdp");
        if !self.supported.is_empty() {
            r.headers.push(HeaderName::Supported, &self.supported);
        }
        r.headers.set_content_length(0);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(target: &str) -> Request {
        let text = format!(
            "OPTIONS {target} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             From: <sip:x@example.com>;tag=1\r\nTo: <{target}>\r\nCall-ID: c\r\n\
             CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        Request::parse(text.as_bytes()).unwrap()
    }

    /// The response with the To tag removed.
    fn shape(r: &Response) -> Vec<(String, String)> {
        r.headers
            .iter()
            .filter(|h| !h.name.eq_ignore_ascii_case("To"))
            .map(|h| (h.name.to_owned(), h.value.to_owned()))
            .collect()
    }

    #[test]
    fn rfc3261_11_2_same_answer_for_every_target() {
        let o = OptionsResponder::new(&["path", "outbound"]);
        let a = o.respond(&options("sip:pbx.example"));
        assert_eq!(a.status.code(), 200);
        assert_eq!(a.header_str("Allow"), Some(ALLOWED_METHODS));
        assert_eq!(a.header_str("Supported"), Some("path, outbound"));
        assert!(a.header_str("Contact").is_none() && a.header_str("Server").is_none());
        for t in ["sip:100@pbx.example", "sip:99999@unknown.example", "sip:100@192.0.2.1"] {
            let b = o.respond(&options(t));
            assert_eq!(shape(&a), shape(&b), "{t}");
            assert_eq!(a.reason, b.reason);
        }
    }
}
