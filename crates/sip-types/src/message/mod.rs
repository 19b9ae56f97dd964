//! Requests and responses (RFC 3261 §7).
//!
//! ```text
//! SIP-message    =  Request / Response
//! Request        =  Request-Line *( message-header ) CRLF [ message-body ]
//! Request-Line   =  Method SP Request-URI SP SIP-Version CRLF
//! Response       =  Status-Line *( message-header ) CRLF [ message-body ]
//! Status-Line    =  SIP-Version SP Status-Code SP Reason-Phrase CRLF
//! SIP-Version    =  "SIP" "/" 1*DIGIT "." 1*DIGIT
//! ```

mod builder;
pub(crate) mod fast;
pub(crate) mod parse;

use std::fmt;

pub use builder::{RequestBuilder, ResponseBuilder};

use crate::error::ParseError;
use crate::headers::Headers;
use crate::limits::Limits;
use crate::method::Method;
use crate::status::StatusCode;
use crate::uri::Uri;

/// The protocol version. Only SIP/2.0 is accepted (others get
/// [`ParseError::UnsupportedVersion`], answered with 505).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Version {
    /// SIP/2.0
    #[default]
    Sip2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SIP/2.0")
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Protocol version.
    pub version: Version,
    /// Headers in order.
    pub headers: Headers,
    /// Body bytes (empty when none).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase as received, or the canonical one for built responses.
    pub reason: String,
    /// Protocol version.
    pub version: Version,
    /// Headers in order.
    pub headers: Headers,
    /// Body bytes (empty when none).
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Parses one datagram (UDP) with the default [`Limits`]; see
    /// [`crate::framing::parse_datagram`] for the framing rules.
    pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
        crate::framing::parse_datagram(buf, &Limits::DEFAULT)
    }

    /// Parses one datagram with the given limits.
    pub fn parse_with(buf: &[u8], limits: &Limits) -> Result<Message, ParseError> {
        crate::framing::parse_datagram(buf, limits)
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The headers, mutable.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }

    /// Checks that the headers every request or response needs are present and parse:
    /// Via, From, To, Call-ID, CSeq, and for requests Max-Forwards is optional here
    /// (RFC 2543 peers omit it; treat absence as 70). The error names the first problem.
    pub fn check_required_headers(&self) -> Result<(), ParseError> {
        let h = self.headers();
        h.via_top()?;
        h.from()?;
        h.to()?;
        h.call_id()?;
        h.cseq()?;
        h.max_forwards()?;
        h.content_length()?;
        Ok(())
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

impl Request {
    /// A request with no headers and no body; see [`Request::builder`] for a complete one.
    pub fn new(method: Method, uri: Uri) -> Self {
        Request { method, uri, version: Version::Sip2, headers: Headers::new(), body: Vec::new() }
    }

    /// Parses a datagram that must hold a request.
    pub fn parse(buf: &[u8]) -> Result<Request, ParseError> {
        match Message::parse(buf)? {
            Message::Request(r) => Ok(r),
            Message::Response(_) => {
                Err(ParseError::InvalidRequestLine("expected a request, got a response"))
            }
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Sets the body and its Content-Type, and updates Content-Length.
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) {
        set_body(&mut self.headers, &mut self.body, content_type, body);
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(64 + self.headers.printed_len() + self.body.len());
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        crate::print::write_uri(&self.uri, out);
        out.extend_from_slice(b" SIP/2.0\r\n");
        self.headers.write_to(out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

impl Response {
    /// A response with the canonical reason phrase, no headers and no body.
    pub fn new(status: StatusCode) -> Self {
        Response {
            status,
            reason: status.canonical_reason().to_owned(),
            version: Version::Sip2,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Parses a datagram that must hold a response.
    pub fn parse(buf: &[u8]) -> Result<Response, ParseError> {
        match Message::parse(buf)? {
            Message::Response(r) => Ok(r),
            Message::Request(_) => {
                Err(ParseError::InvalidStatusLine("expected a response, got a request"))
            }
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Sets the body and its Content-Type, and updates Content-Length.
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) {
        set_body(&mut self.headers, &mut self.body, content_type, body);
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(64 + self.headers.printed_len() + self.body.len());
        out.extend_from_slice(b"SIP/2.0 ");
        let c = self.status.code();
        out.extend_from_slice(&[
            b'0' + (c / 100) as u8,
            b'0' + (c / 10 % 10) as u8,
            b'0' + (c % 10) as u8,
            b' ',
        ]);
        for &b in self.reason.as_bytes() {
            out.push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        out.extend_from_slice(b"\r\n");
        self.headers.write_to(out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

fn set_body(headers: &mut Headers, slot: &mut Vec<u8>, content_type: &str, body: Vec<u8>) {
    if body.is_empty() {
        headers.remove(crate::HeaderName::ContentType);
    } else {
        headers.set(crate::HeaderName::ContentType, content_type);
    }
    headers.set_content_length(body.len());
    *slot = body;
}

macro_rules! display_via_bytes {
    ($t:ty) => {
        impl fmt::Display for $t {
            /// The wire form; a body that is not UTF-8 is shown lossily.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
            }
        }
    };
}
display_via_bytes!(Request);
display_via_bytes!(Response);
display_via_bytes!(Message);

macro_rules! typed_accessors {
    ($t:ty) => {
        impl $t {
            /// The headers.
            pub fn headers(&self) -> &Headers {
                &self.headers
            }
            /// The headers, mutable.
            pub fn headers_mut(&mut self) -> &mut Headers {
                &mut self.headers
            }
            /// The body.
            pub fn body(&self) -> &[u8] {
                &self.body
            }
            /// The first value of header `name` (any spelling or compact form).
            pub fn header_str(&self, name: impl crate::headers::AsHeaderName) -> Option<&str> {
                self.headers.get(name)
            }
            /// Every Via value, topmost first.
            pub fn via(&self) -> Result<Vec<crate::header::Via>, ParseError> {
                self.headers.via()
            }
            /// The topmost Via value.
            pub fn via_top(&self) -> Result<crate::header::Via, ParseError> {
                self.headers.via_top()
            }
            /// The From address.
            pub fn from(&self) -> Result<crate::header::NameAddr, ParseError> {
                self.headers.from()
            }
            /// The To address.
            pub fn to(&self) -> Result<crate::header::NameAddr, ParseError> {
                self.headers.to()
            }
            /// The Call-ID.
            pub fn call_id(&self) -> Result<&str, ParseError> {
                self.headers.call_id()
            }
            /// The From tag, borrowed (see [`Headers::from_tag`]).
            pub fn from_tag(&self) -> Result<Option<&str>, ParseError> {
                self.headers.from_tag()
            }
            /// The To tag, borrowed (see [`Headers::to_tag`]).
            pub fn to_tag(&self) -> Result<Option<&str>, ParseError> {
                self.headers.to_tag()
            }
            /// The branch of the topmost Via, borrowed (see [`Headers::via_branch`]).
            pub fn via_branch(&self) -> Result<Option<&str>, ParseError> {
                self.headers.via_branch()
            }
            /// The CSeq.
            pub fn cseq(&self) -> Result<crate::header::CSeq, ParseError> {
                self.headers.cseq()
            }
            /// Max-Forwards, if present.
            pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
                self.headers.max_forwards()
            }
            /// Every Contact value.
            pub fn contacts(&self) -> Result<Vec<crate::header::Contact>, ParseError> {
                self.headers.contacts()
            }
            /// Every Route value.
            pub fn routes(&self) -> Result<Vec<crate::header::NameAddr>, ParseError> {
                self.headers.routes()
            }
            /// Every Record-Route value.
            pub fn record_routes(&self) -> Result<Vec<crate::header::NameAddr>, ParseError> {
                self.headers.record_routes()
            }
            /// Content-Length, if present.
            pub fn content_length(&self) -> Result<Option<u32>, ParseError> {
                self.headers.content_length()
            }
            /// Content-Type, if present.
            pub fn content_type(&self) -> Result<Option<crate::header::ContentType>, ParseError> {
                self.headers.content_type()
            }
            /// Expires, if present.
            pub fn expires(&self) -> Result<Option<u32>, ParseError> {
                self.headers.expires()
            }
            /// Every Authorization value.
            pub fn authorization(&self) -> Result<Vec<crate::auth::Credentials>, ParseError> {
                self.headers.authorization()
            }
            /// Every Proxy-Authorization value.
            pub fn proxy_authorization(&self) -> Result<Vec<crate::auth::Credentials>, ParseError> {
                self.headers.proxy_authorization()
            }
            /// Every WWW-Authenticate challenge.
            pub fn www_authenticate(&self) -> Result<Vec<crate::auth::Challenge>, ParseError> {
                self.headers.www_authenticate()
            }
            /// Every Proxy-Authenticate challenge.
            pub fn proxy_authenticate(&self) -> Result<Vec<crate::auth::Challenge>, ParseError> {
                self.headers.proxy_authenticate()
            }
        }
    };
}
typed_accessors!(Request);
typed_accessors!(Response);
