//! Building requests and responses in canonical form.

use std::fmt::Display;

use crate::error::ParseError;
use crate::header::{CSeq, NameAddr, Via};
use crate::headers::{AsHeaderName, HeaderName, Headers};
use crate::message::{Request, Response};
use crate::method::Method;
use crate::status::StatusCode;
use crate::text;
use crate::uri::Uri;

/// Builds a [`Request`]; headers appear in the order they are added, and
/// [`RequestBuilder::build`] adds Content-Length.
///
/// ```
/// use ringfence_sip_types::{Method, Request, Uri, header::{NameAddr, Via}, Host};
/// let uri = Uri::parse("sip:alice@example.com").unwrap();
/// let req = Request::builder(Method::Options, uri.clone())
///     .via(&Via::new("UDP", Host::parse("192.0.2.1").unwrap(), Some(5060), "z9hG4bK74bf9"))
///     .max_forwards(70)
///     .from(&NameAddr::new(uri.clone()).with_tag("9fxced76sl"))
///     .to(&NameAddr::new(uri))
///     .call_id("3848276298220188511@192.0.2.1")
///     .cseq(1)
///     .build();
/// assert!(req.to_bytes().ends_with(b"Content-Length: 0\r\n\r\n"));
/// ```
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    req: Request,
}

impl Request {
    /// Starts a request.
    pub fn builder(method: Method, uri: Uri) -> RequestBuilder {
        RequestBuilder {
            req: Request { headers: Headers::with_capacity(12), ..Request::new(method, uri) },
        }
    }
}

impl RequestBuilder {
    /// Appends a header with any printable value.
    pub fn header(mut self, name: impl AsHeaderName, value: impl Display) -> Self {
        self.req.headers.push(name, &value.to_string());
        self
    }

    /// Appends a Via.
    pub fn via(self, via: &Via) -> Self {
        self.header(HeaderName::Via, via)
    }

    /// Sets Max-Forwards.
    pub fn max_forwards(self, hops: u8) -> Self {
        self.header(HeaderName::MaxForwards, hops)
    }

    /// Sets From.
    pub fn from(self, from: &NameAddr) -> Self {
        self.header(HeaderName::From, from)
    }

    /// Sets To.
    pub fn to(self, to: &NameAddr) -> Self {
        self.header(HeaderName::To, to)
    }

    /// Sets Call-ID.
    pub fn call_id(self, call_id: &str) -> Self {
        self.header(HeaderName::CallId, call_id)
    }

    /// Sets CSeq with the request's method.
    pub fn cseq(self, seq: u32) -> Self {
        let c = CSeq::new(seq, self.req.method.clone());
        self.header(HeaderName::CSeq, c)
    }

    /// Appends a Contact.
    pub fn contact(self, contact: &NameAddr) -> Self {
        self.header(HeaderName::Contact, contact)
    }

    /// Appends a Route.
    pub fn route(self, route: &NameAddr) -> Self {
        self.header(HeaderName::Route, route)
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.req.headers.set(HeaderName::ContentType, content_type);
        self.req.body = body;
        self
    }

    /// Finishes the request, setting Content-Length to the body length.
    pub fn build(mut self) -> Request {
        self.req.headers.set_content_length(self.req.body.len());
        self.req
    }
}

/// Builds a [`Response`]; see also [`Response::from_request`].
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    resp: Response,
}

impl Response {
    /// Starts a response with the canonical reason phrase.
    pub fn builder(status: StatusCode) -> ResponseBuilder {
        ResponseBuilder { resp: Response::new(status) }
    }

    /// A response to `req` per RFC 3261 §8.2.6.2: Via (all values, in order), From, To,
    /// Call-ID and CSeq are copied byte-exactly; for 100 the Timestamp is copied too
    /// (§8.2.6.1); `Content-Length: 0` is added. Add a To tag with
    /// [`Response::set_to_tag`] for responses that create or belong to a dialog.
    ///
    /// # Panics
    /// If `code` is outside 100..=699 (a programming error).
    pub fn from_request(req: &Request, code: u16) -> Response {
        let status = StatusCode::new(code).expect("status code must be in 100..=699");
        let mut resp = Response::new(status);
        let mut h = Headers::with_capacity(8);
        for f in req.headers.iter() {
            let copy = match f.known() {
                Some(
                    HeaderName::Via
                    | HeaderName::From
                    | HeaderName::To
                    | HeaderName::CallId
                    | HeaderName::CSeq,
                ) => true,
                None => code == 100 && f.name.eq_ignore_ascii_case("Timestamp"),
                _ => false,
            };
            if copy {
                h.push(f.name, f.value);
            }
        }
        h.set_content_length(0);
        resp.headers = h;
        resp
    }

    /// Adds `;tag=` to the To header unless it already has a tag. Characters that are not
    /// allowed in a tag (`token`) are dropped from `tag`.
    pub fn set_to_tag(&mut self, tag: &str) -> Result<(), ParseError> {
        let to = self.headers.to()?;
        if to.tag().is_some() {
            return Ok(());
        }
        let tag: String =
            tag.chars().filter(|c| c.is_ascii() && text::is_token_char(*c as u8)).collect();
        let raw = self.headers.get(HeaderName::To).unwrap_or_default();
        let value = format!("{raw};tag={tag}");
        self.headers.set(HeaderName::To, &value);
        Ok(())
    }

    /// Builder-style [`Response::set_to_tag`].
    pub fn with_to_tag(mut self, tag: &str) -> Result<Response, ParseError> {
        self.set_to_tag(tag)?;
        Ok(self)
    }
}

impl ResponseBuilder {
    /// Replaces the reason phrase (CR and LF are printed as spaces).
    pub fn reason(mut self, reason: &str) -> Self {
        self.resp.reason = reason.to_owned();
        self
    }

    /// Appends a header with any printable value.
    pub fn header(mut self, name: impl AsHeaderName, value: impl Display) -> Self {
        self.resp.headers.push(name, &value.to_string());
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.resp.headers.set(HeaderName::ContentType, content_type);
        self.resp.body = body;
        self
    }

    /// Finishes the response, setting Content-Length to the body length.
    pub fn build(mut self) -> Response {
        self.resp.headers.set_content_length(self.resp.body.len());
        self.resp
    }
}

#[cfg(test)]
mod tests {
    use crate::{Message, Method, Response};

    const REQ: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Timestamp: 54\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn response_from_request() {
        let Message::Request(req) = Message::parse(REQ).unwrap() else { panic!() };
        let mut resp = Response::from_request(&req, 180);
        resp.set_to_tag("a6c85cf").unwrap();
        assert_eq!(resp.to().unwrap().tag(), Some("a6c85cf"));
        assert_eq!(resp.via().unwrap().len(), 2);
        assert_eq!(resp.cseq().unwrap().method, Method::Invite);
        assert!(resp.header_str("Contact").is_none());
        assert!(resp.header_str("Timestamp").is_none());
        let bytes = resp.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP pc33"), "{text}");
        assert!(text.contains("To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"));
        let again = Response::parse(&bytes).unwrap();
        assert_eq!(again, resp);
        resp.set_to_tag("other").unwrap();
        assert_eq!(resp.to().unwrap().tag(), Some("a6c85cf"));
        let trying = Response::from_request(&req, 100);
        assert_eq!(trying.header_str("timestamp"), Some("54"));
    }

    #[test]
    fn response_builder_body() {
        let r = Response::builder(crate::StatusCode::OK)
            .reason("Fine\r\nX: y")
            .body("application/sdp", b"v=0\r\n".to_vec())
            .build();
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(text.starts_with("SIP/2.0 200 Fine  X: y\r\n"));
        assert!(text.contains("Content-Length: 5\r\n\r\nv=0\r\n"));
    }
}
