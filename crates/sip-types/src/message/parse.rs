//! Parsing of the message head (start line and headers) and validation of the headers
//! every transaction needs.
//!
//! Headers are split with `memchr` and stored as spans; only Via, From, To, Call-ID,
//! CSeq, Max-Forwards, Content-Length, Contact and Date are parsed here, to reject
//! malformed messages up front (RFC 4475 §3.1.2). Everything else is parsed on access.

use crate::error::{Limit, ParseError};
use crate::header::name_addr::{Form, NameAddrRef};
use crate::header::via::ViaRef;
use crate::header::{CSeq, ContentLength, MaxForwards, SipDate, call_id, contact};
use crate::headers::{Entry, HeaderName, Headers, split_list};
use crate::limits::Limits;
use crate::message::{Request, Response, Version};
use crate::method::Method;
use crate::status::StatusCode;
use crate::text;
use crate::uri::Uri;

/// The parsed head of a message, before the body is attached.
#[derive(Debug, Clone)]
pub(crate) enum Head {
    Request { method: Method, uri: Uri, headers: Headers },
    Response { status: StatusCode, reason: String, headers: Headers },
}

impl Head {
    #[cfg(test)]
    pub(crate) fn headers(&self) -> &Headers {
        match self {
            Head::Request { headers, .. } | Head::Response { headers, .. } => headers,
        }
    }

    pub(crate) fn into_message(self, body: Vec<u8>) -> crate::Message {
        match self {
            Head::Request { method, uri, headers } => crate::Message::Request(Request {
                method,
                uri,
                version: Version::Sip2,
                headers,
                body,
            }),
            Head::Response { status, reason, headers } => crate::Message::Response(Response {
                status,
                reason,
                version: Version::Sip2,
                headers,
                body,
            }),
        }
    }
}

/// Content-Length as found in the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyLength {
    Absent,
    Known(usize),
    Conflicting,
}

/// Parses `head`, which runs from the start line up to and including the CRLF that ends
/// the last header (the empty line is not included).
pub(crate) fn parse_head(head: &[u8], limits: &Limits) -> Result<(Head, BodyLength), ParseError> {
    let head = std::str::from_utf8(head).map_err(|_| ParseError::NotUtf8)?;
    let lf = memchr::memchr(b'\n', head.as_bytes()).ok_or(ParseError::UnterminatedHead)?;
    if lf == 0 || head.as_bytes()[lf - 1] != b'\r' {
        return Err(ParseError::InvalidRequestLine("bare LF in start line"));
    }
    let line_end = lf - 1;
    let start_line = &head[..line_end];
    if memchr::memchr(b'\r', start_line.as_bytes()).is_some() {
        return Err(ParseError::InvalidRequestLine("bare CR in start line"));
    }
    let rest = &head[line_end + 2..];
    let is_response =
        start_line.len() >= 4 && start_line.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/");
    if is_response {
        let (status, reason) = parse_status_line(start_line)?;
        let headers = parse_headers(rest, limits)?;
        let body_len = validate(&headers, None, limits)?;
        Ok((Head::Response { status, reason, headers }, body_len))
    } else {
        let method = parse_request_line_method(start_line)?;
        let uri = parse_request_uri(start_line, limits)?;
        let headers = parse_headers(rest, limits)?;
        let body_len = validate(&headers, Some(&method), limits)?;
        Ok((Head::Request { method, uri, headers }, body_len))
    }
}

fn parse_request_line_method(line: &str) -> Result<Method, ParseError> {
    let sp = memchr::memchr(b' ', line.as_bytes())
        .ok_or(ParseError::InvalidRequestLine("missing Request-URI"))?;
    if sp == 0 {
        return Err(ParseError::InvalidRequestLine("leading white space"));
    }
    Method::from_token(&line[..sp]).ok_or(ParseError::InvalidRequestLine("method is not a token"))
}

fn parse_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let well_formed = v.len() > 4
        && v.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/")
        && v[4..].split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    if well_formed {
        Err(ParseError::UnsupportedVersion)
    } else {
        Err(ParseError::InvalidRequestLine("malformed SIP version"))
    }
}

/// `Method SP Request-URI SP SIP-Version`: exactly one SP between elements.
fn parse_request_uri(line: &str, limits: &Limits) -> Result<Uri, ParseError> {
    if line.contains('\t') {
        return Err(ParseError::InvalidRequestLine("tab in request line"));
    }
    let sp1 = memchr::memchr(b' ', line.as_bytes()).unwrap_or(0);
    let rest = &line[sp1 + 1..];
    let sp2 = memchr::memrchr(b' ', rest.as_bytes())
        .ok_or(ParseError::InvalidRequestLine("missing SIP version"))?;
    let (uri, version) = (&rest[..sp2], &rest[sp2 + 1..]);
    if version.is_empty() {
        return Err(ParseError::InvalidRequestLine("white space at end of request line"));
    }
    if uri.is_empty() || uri.starts_with(' ') || uri.ends_with(' ') {
        return Err(ParseError::InvalidRequestLine(
            "more than one SP between request line elements",
        ));
    }
    if uri.contains(' ') {
        return Err(ParseError::InvalidRequestUri("white space inside the Request-URI"));
    }
    parse_version(version)?;
    if uri.len() > limits.max_uri_len {
        return Err(ParseError::LimitExceeded { limit: Limit::UriLength, max: limits.max_uri_len });
    }
    if uri.starts_with('<') {
        return Err(ParseError::InvalidRequestUri("Request-URI must not be enclosed in <>"));
    }
    let parsed = Uri::parse_inner(uri).map_err(ParseError::InvalidRequestUri)?;
    if let Uri::Sip(s) = &parsed
        && !s.headers.is_empty()
    {
        return Err(ParseError::InvalidRequestUri("header component not allowed in a Request-URI"));
    }
    Ok(parsed)
}

fn parse_status_line(line: &str) -> Result<(StatusCode, String), ParseError> {
    let sp = memchr::memchr(b' ', line.as_bytes())
        .ok_or(ParseError::InvalidStatusLine("missing status code"))?;
    parse_version(&line[..sp]).map_err(|e| match e {
        ParseError::InvalidRequestLine(_) => ParseError::InvalidStatusLine("malformed SIP version"),
        other => other,
    })?;
    let rest = &line[sp + 1..];
    let (code, reason) = match memchr::memchr(b' ', rest.as_bytes()) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::InvalidStatusLine("status code is not three digits"));
    }
    let status = StatusCode::new(code.parse().unwrap_or(0))?;
    Ok((status, reason.to_owned()))
}

/// Splits the header section into spans. `rest` ends with the CRLF of the last header
/// (or is empty).
fn parse_headers(rest: &str, limits: &Limits) -> Result<Headers, ParseError> {
    let b = rest.as_bytes();
    // Typical header lines are 20-60 bytes; reserving from the length avoids regrowing.
    let mut entries: Vec<Entry> = Vec::with_capacity((b.len() / 40 + 4).min(limits.max_headers));
    let mut canonical = true;
    let mut line_start = 0;
    let mut from = 0;
    let mut lfs = 0usize;
    // Every LF must end a CRLF; a CRLF followed by SP/HTAB folds the line.
    while let Some(off) = memchr::memchr(b'\n', &b[from..]) {
        let p = from + off;
        from = p + 1;
        lfs += 1;
        if p == 0 || b[p - 1] != b'\r' {
            return Err(ParseError::InvalidHeaderLine("bare LF in header"));
        }
        if matches!(b.get(p + 1), Some(b' ' | b'\t')) {
            continue;
        }
        let entry = header_line(b, line_start, p - 1, limits)?;
        // Canonical when the line is exactly `name: value` (so printing can copy `rest`).
        canonical &= entry.value.0 == entry.name.1 + 2
            && b[entry.name.1 as usize] == b':'
            && b[entry.name.1 as usize + 1] == b' '
            && entry.value.1 as usize == p - 1;
        if entries.len() >= limits.max_headers {
            return Err(ParseError::LimitExceeded {
                limit: Limit::HeaderCount,
                max: limits.max_headers,
            });
        }
        entries.push(entry);
        line_start = p + 1;
    }
    // Every LF follows a CR; equal counts rule out bare CRs.
    if memchr::memchr_iter(b'\r', b).count() != lfs {
        return Err(ParseError::InvalidHeaderLine("bare CR in header"));
    }
    if line_start != b.len() {
        return Err(ParseError::InvalidHeaderLine("header line without CRLF"));
    }
    Ok(Headers::from_raw(rest.to_owned(), entries, canonical))
}

/// Splits the logical header line `b[i..end]` into name and value spans.
#[inline]
fn header_line(b: &[u8], i: usize, end: usize, limits: &Limits) -> Result<Entry, ParseError> {
    if end - i > limits.max_header_len {
        return Err(ParseError::LimitExceeded {
            limit: Limit::HeaderLength,
            max: limits.max_header_len,
        });
    }
    // header-name HCOLON: token, then *(SP / HTAB) ":"
    let line = &b[i..end];
    let name_len = line.iter().position(|&c| !text::is_token_char(c)).unwrap_or(line.len());
    let name_end = i + name_len;
    let mut n = name_end;
    while n < end && (b[n] == b' ' || b[n] == b'\t') {
        n += 1;
    }
    if name_end == i || n == end || b[n] != b':' {
        return Err(ParseError::InvalidHeaderLine(if name_end == i {
            if i < end && matches!(b[i], b' ' | b'\t') {
                "continuation line without a header"
            } else {
                "header name is not a token"
            }
        } else {
            "missing colon after header name"
        }));
    }
    // Value: skip leading SWS (a fold right after the colon included), trim the end.
    let mut vs = n + 1;
    loop {
        while vs < end && (b[vs] == b' ' || b[vs] == b'\t') {
            vs += 1;
        }
        if b[vs..end].starts_with(b"\r\n") {
            vs += 2;
            continue;
        }
        break;
    }
    let mut ve = end;
    while ve > vs && matches!(b[ve - 1], b' ' | b'\t' | b'\r' | b'\n') {
        ve -= 1;
    }
    Ok(Entry {
        name: (i as u32, name_end as u32),
        value: (vs as u32, ve as u32),
        id: HeaderName::from_token(&b[i..name_end]),
    })
}

/// What validation learns across header lines: the request method (for CSeq), the
/// number of Via values so far, and the Content-Length.
#[derive(Debug)]
pub(crate) struct Checks<'m> {
    pub(crate) method: Option<&'m Method>,
    pub(crate) vias: usize,
    pub(crate) body_len: BodyLength,
}

impl<'m> Checks<'m> {
    pub(crate) fn new(method: Option<&'m Method>) -> Self {
        Checks { method, vias: 0, body_len: BodyLength::Absent }
    }

    /// Counts one Via value against the limit.
    #[inline]
    pub(crate) fn count_via(&mut self, limits: &Limits) -> Result<(), ParseError> {
        self.vias += 1;
        if self.vias > limits.max_vias {
            return Err(ParseError::LimitExceeded { limit: Limit::ViaCount, max: limits.max_vias });
        }
        Ok(())
    }

    /// Records a Content-Length value; differing values make it conflicting.
    #[inline]
    pub(crate) fn content_length(&mut self, n: usize) {
        self.body_len = match self.body_len {
            BodyLength::Absent => BodyLength::Known(n),
            BodyLength::Known(m) if m == n => BodyLength::Known(n),
            _ => BodyLength::Conflicting,
        };
    }
}

/// Validates the headers a server relies on before any typed access, and finds the
/// Content-Length.
fn validate(
    headers: &Headers,
    method: Option<&Method>,
    limits: &Limits,
) -> Result<BodyLength, ParseError> {
    let mut checks = Checks::new(method);
    for (id, value) in headers.raw_iter() {
        if let Some(id) = id {
            check_header(id, value, &mut checks, limits)?;
        }
    }
    Ok(checks.body_len)
}

/// Validates one header line of a known header (a no-op for headers not validated at
/// parse time).
pub(crate) fn check_header(
    id: HeaderName,
    value: &str,
    checks: &mut Checks<'_>,
    limits: &Limits,
) -> Result<(), ParseError> {
    match id {
        HeaderName::Via => {
            for item in split_list(value) {
                checks.count_via(limits)?;
                ViaRef::scan(item).map_err(|r| ParseError::header("Via", r))?;
            }
            if value.is_empty() {
                return Err(ParseError::header("Via", "empty value"));
            }
        }
        HeaderName::From => {
            NameAddrRef::scan_all(value, Form::Either)
                .map_err(|r| ParseError::header("From", r))?;
        }
        HeaderName::To => {
            NameAddrRef::scan_all(value, Form::Either).map_err(|r| ParseError::header("To", r))?;
        }
        HeaderName::CallId => {
            call_id::validate(value).map_err(|r| ParseError::header("Call-ID", r))?;
        }
        HeaderName::CSeq => {
            let c = CSeq::parse_inner(value).map_err(|r| ParseError::header("CSeq", r))?;
            if let Some(m) = checks.method
                && &c.method != m
            {
                return Err(ParseError::header("CSeq", "method does not match request method"));
            }
        }
        HeaderName::MaxForwards => {
            MaxForwards::parse(value)?;
        }
        HeaderName::ContentLength => {
            let n = ContentLength::parse(value)?.0 as usize;
            checks.content_length(n);
        }
        HeaderName::Contact => {
            for item in split_list(value) {
                contact::check(item).map_err(|r| ParseError::header("Contact", r))?;
            }
            if value.is_empty() {
                return Err(ParseError::header("Contact", "empty value"));
            }
        }
        HeaderName::Date => {
            SipDate::parse(value)?;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &str) -> Result<(Head, BodyLength), ParseError> {
        parse_head(s.as_bytes(), &Limits::DEFAULT)
    }

    #[test]
    fn request_line_errors() {
        let h = "\r\n";
        assert_eq!(
            head(&format!("INVITE  sip:a@b  SIP/2.0\r\n{h}")).unwrap_err(),
            ParseError::InvalidRequestLine("more than one SP between request line elements")
        );
        assert_eq!(
            head(&format!("OPTIONS sip:a@b SIP/2.0  \r\n{h}")).unwrap_err(),
            ParseError::InvalidRequestLine("white space at end of request line")
        );
        assert_eq!(
            head(&format!("INVITE sip:a@b; lr SIP/2.0\r\n{h}")).unwrap_err(),
            ParseError::InvalidRequestUri("white space inside the Request-URI")
        );
        assert_eq!(
            head(&format!("INVITE <sip:a@b> SIP/2.0\r\n{h}")).unwrap_err(),
            ParseError::InvalidRequestUri("Request-URI must not be enclosed in <>")
        );
        assert_eq!(
            head(&format!("OPTIONS sip:a@b SIP/7.0\r\n{h}")).unwrap_err(),
            ParseError::UnsupportedVersion
        );
        assert_eq!(
            head(&format!("OPTIONS sip:a@b HTTP/1.1\r\n{h}")).unwrap_err(),
            ParseError::InvalidRequestLine("malformed SIP version")
        );
        assert_eq!(
            head(&format!("SIP/2.0 4294967301 x\r\n{h}")).unwrap_err(),
            ParseError::InvalidStatusLine("status code is not three digits")
        );
        assert!(head("SIP/2.0 099 x\r\n").is_err());
    }

    #[test]
    fn header_lines() {
        let (h, bl) = head("OPTIONS sip:a@b SIP/2.0\r\nTO :\r\n sip:a@b ;   tag    = 1\r\ns :\r\nX: a\r\n b\r\nl: 5\r\n").unwrap();
        let hs = h.headers();
        assert_eq!(hs.get("to"), Some("sip:a@b ;   tag    = 1"));
        assert_eq!(hs.get("subject"), Some(""));
        assert_eq!(hs.get("x"), Some("a\r\n b"));
        assert_eq!(bl, BodyLength::Known(5));
        assert!(head("OPTIONS sip:a@b SIP/2.0\r\n folded\r\n").is_err());
        assert!(head("OPTIONS sip:a@b SIP/2.0\r\nNoColon\r\n").is_err());
        assert!(head("OPTIONS sip:a@b SIP/2.0\r\nA\rB: c\r\n").is_err());
        assert!(head("OPTIONS sip:a@b SIP/2.0\r\nA: b\rc\r\n").is_err());
    }

    #[test]
    fn cseq_method_must_match() {
        let e = head("OPTIONS sip:a@b SIP/2.0\r\nCSeq: 8 INVITE\r\n").unwrap_err();
        assert_eq!(e.to_string(), "invalid CSeq header: method does not match request method");
    }

    #[test]
    fn limits() {
        let l = Limits { max_headers: 2, ..Limits::DEFAULT };
        let e = parse_head(b"OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n", &l).unwrap_err();
        assert_eq!(e, ParseError::LimitExceeded { limit: Limit::HeaderCount, max: 2 });
        let l = Limits { max_vias: 1, ..Limits::DEFAULT };
        let e = parse_head(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a, SIP/2.0/UDP b\r\n", &l)
            .unwrap_err();
        assert_eq!(e, ParseError::LimitExceeded { limit: Limit::ViaCount, max: 1 });
        let l = Limits { max_uri_len: 5, ..Limits::DEFAULT };
        assert!(parse_head(b"OPTIONS sip:abcdef SIP/2.0\r\n", &l).is_err());
        let l = Limits { max_header_len: 5, ..Limits::DEFAULT };
        assert!(parse_head(b"OPTIONS sip:a@b SIP/2.0\r\nSubject: long\r\n", &l).is_err());
    }
}
