//! The parser's hot paths as they were before they were tuned for speed, kept (for
//! tests only) as the reference the tuned code must agree with: same accepted inputs,
//! same results, same errors. See `tests.rs` for the differential tests.

#![allow(dead_code)]

mod tests;

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Limit, ParseError};
use crate::header::name_addr::{Form, NameAddrRef};
use crate::header::via::ViaRef;
use crate::header::{CSeq, ContentLength, MaxForwards, SipDate, call_id, contact};
use crate::headers::{Entry, HeaderName, Headers, split_list};
use crate::host::HostKind;
use crate::limits::Limits;
use crate::message::Message;
use crate::message::parse::{BodyLength, Head};
use crate::method::Method;
use crate::status::StatusCode;
use crate::text;
use crate::uri::{SipUriRef, TelUri, Uri, UriRef};

// ---- text.rs: SWS handling and quoted strings -------------------------------------

/// A cursor over header-value text implementing the separators of RFC 3261 §25.1.
#[derive(Debug, Clone)]
pub(crate) struct OldScanner<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> OldScanner<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        OldScanner { s, pos: 0 }
    }

    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    #[inline]
    pub(crate) fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    #[inline]
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a str {
        &self.s[from..to]
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.s.len()
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Skips `SWS` (which includes a folded line end). Returns true if anything was skipped.
    #[inline]
    pub(crate) fn skip_sws(&mut self) -> bool {
        let b = self.s.as_bytes();
        let start = self.pos;
        loop {
            while self.pos < b.len() && (b[self.pos] == b' ' || b[self.pos] == b'\t') {
                self.pos += 1;
            }
            if self.pos + 2 < b.len()
                && b[self.pos] == b'\r'
                && b[self.pos + 1] == b'\n'
                && (b[self.pos + 2] == b' ' || b[self.pos + 2] == b'\t')
            {
                self.pos += 3;
                continue;
            }
            break;
        }
        self.pos != start
    }

    /// Consumes one byte if it is `c`.
    #[inline]
    pub(crate) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `SWS c SWS` (e.g. `SEMI`, `EQUAL`, `SLASH`, `COMMA`, `COLON`); on failure
    /// the position is unchanged.
    #[inline]
    pub(crate) fn eat_sep(&mut self, c: u8) -> bool {
        let save = self.pos;
        self.skip_sws();
        if self.eat(c) {
            self.skip_sws();
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Consumes bytes while `pred` holds; returns the slice (possibly empty).
    #[inline]
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let b = self.s.as_bytes();
        let start = self.pos;
        while self.pos < b.len() && pred(b[self.pos]) {
            self.pos += 1;
        }
        // The predicates only accept ASCII bytes, or stop at ASCII bytes, so the
        // boundary is a char boundary; fall back to the full check otherwise.
        &self.s[start..self.pos]
    }

    /// Consumes a `token`.
    #[inline]
    pub(crate) fn token(&mut self) -> Option<&'a str> {
        let t = self.take_while(text::is_token_char);
        if t.is_empty() { None } else { Some(t) }
    }

    /// Consumes a `quoted-string` (without leading SWS) and returns it raw, quotes included.
    pub(crate) fn quoted_string(&mut self) -> Result<&'a str, &'static str> {
        let b = self.s.as_bytes();
        let start = self.pos;
        if b.get(self.pos) != Some(&b'"') {
            return Err("expected a quoted string");
        }
        let mut i = self.pos + 1;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(&self.s[start..self.pos]);
                }
                b'\\' => {
                    match b.get(i + 1) {
                        Some(b'\r') | Some(b'\n') | None => {
                            return Err("invalid escape in quoted string");
                        }
                        Some(c) if *c >= 0x80 => return Err("invalid escape in quoted string"),
                        _ => {}
                    }
                    i += 2;
                }
                b'\r' => {
                    // Only a folded line (CRLF WSP) may appear inside.
                    if b.get(i + 1) == Some(&b'\n') && matches!(b.get(i + 2), Some(b' ' | b'\t')) {
                        i += 3;
                    } else {
                        return Err("line break in quoted string");
                    }
                }
                b'\n' => return Err("line break in quoted string"),
                c if c < 0x20 && c != b'\t' => return Err("control character in quoted string"),
                0x7f => return Err("control character in quoted string"),
                _ => i += 1,
            }
        }
        Err("unterminated quoted string")
    }
}

/// Trims SP, HTAB, CR and LF on both ends (header values may end in folded white space).
pub(crate) fn old_trim_lws(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n')
}

// ---- host.rs ---------------------------------------------------------------------

/// Validates `host` without allocating.
pub(crate) fn old_host_check(s: &str) -> Result<HostKind, &'static str> {
    let b = s.as_bytes();
    match b.first() {
        None => Err("empty host"),
        Some(b'[') => {
            if b.len() < 3 || b[b.len() - 1] != b']' {
                return Err("unterminated IPv6 reference");
            }
            s[1..s.len() - 1]
                .parse::<Ipv6Addr>()
                .map(HostKind::Ipv6)
                .map_err(|_| "invalid IPv6 address")
        }
        Some(c) if c.is_ascii_digit() && b.iter().all(|c| c.is_ascii_digit() || *c == b'.') => {
            parse_ipv4(b).map(HostKind::Ipv4).ok_or("invalid host name")
        }
        Some(_) => {
            if valid_hostname(b) {
                Ok(HostKind::Domain)
            } else {
                Err("invalid host name")
            }
        }
    }
}

/// `IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT`, each at most 255.
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    let mut val: u16 = 0;
    let mut digits = 0;
    for &c in b {
        if c == b'.' {
            if digits == 0 || n == 3 {
                return None;
            }
            octets[n] = val as u8;
            n += 1;
            val = 0;
            digits = 0;
        } else {
            digits += 1;
            val = val * 10 + u16::from(c - b'0');
            if digits > 3 || val > 255 {
                return None;
            }
        }
    }
    if n != 3 || digits == 0 {
        return None;
    }
    octets[3] = val as u8;
    Some(Ipv4Addr::from(octets))
}

/// `hostname = *( domainlabel "." ) toplabel [ "." ]` in one pass.
fn valid_hostname(b: &[u8]) -> bool {
    let b = b.strip_suffix(b".").unwrap_or(b);
    let mut label_start = 0;
    let mut prev = b'.';
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' {
            if prev == b'.' || prev == b'-' || i - label_start > 63 {
                return false;
            }
            label_start = i + 1;
        } else if c == b'-' {
            if prev == b'.' {
                return false;
            }
        } else if !c.is_ascii_alphanumeric() {
            return false;
        }
        prev = c;
    }
    // The last label (toplabel) must start with ALPHA and not end with '-'.
    prev != b'.'
        && prev != b'-'
        && b.len() - label_start <= 63
        && b[label_start].is_ascii_alphabetic()
}

// ---- uri/sip.rs --------------------------------------------------------------------

/// Scans the text after `sip:`/`sips:` in one pass over the bytes.
pub(crate) fn old_sip_uri_scan<'a>(
    secure: bool,
    s: &'a str,
) -> Result<SipUriRef<'a>, &'static str> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("empty SIP URI");
    }
    let mut i = 0;
    let (mut user, mut password) = (None, None);
    // '@' cannot appear unescaped after the userinfo (hostport, params and headers
    // exclude it), so the first one ends the userinfo.
    if let Some(at) = memchr::memchr(b'@', b) {
        let mut colon = None;
        while i < at {
            let c = b[i];
            if c == b':' && colon.is_none() {
                colon = Some(i);
            } else if c == b'%' {
                if !escape_at(b, i) {
                    return Err(if colon.is_some() {
                        "invalid character in password"
                    } else {
                        "invalid character in user part"
                    });
                }
                i += 2;
            } else if colon.is_none() && !text::is_user_char(c) {
                return Err("invalid character in user part");
            } else if colon.is_some() && !text::is_password_char(c) {
                return Err("invalid character in password");
            }
            i += 1;
        }
        let user_end = colon.unwrap_or(at);
        if user_end == 0 {
            return Err("empty user part");
        }
        user = Some(&s[..user_end]);
        password = colon.map(|c| &s[c + 1..at]);
        i = at + 1;
    }
    let host_start = i;
    if b.get(i) == Some(&b'[') {
        while i < b.len() && b[i] != b']' {
            i += 1;
        }
        if i == b.len() {
            return Err("unterminated IPv6 reference");
        }
        i += 1;
    } else {
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'.') {
            i += 1;
        }
    }
    let host = &s[host_start..i];
    let host_kind = old_host_check(host)?;
    let mut port = None;
    if b.get(i) == Some(&b':') {
        let p0 = i + 1;
        i = p0;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        port = Some(crate::host::parse_port(&s[p0..i])?);
    }
    let params_start = i;
    while b.get(i) == Some(&b';') {
        i += 1;
        let n0 = i;
        i = scan_chars(b, i, text::is_param_char).ok_or("invalid URI parameter name")?;
        if i == n0 {
            return Err("invalid URI parameter name");
        }
        if b.get(i) == Some(&b'=') {
            i += 1;
            let v0 = i;
            i = scan_chars(b, i, text::is_param_char).ok_or("invalid URI parameter value")?;
            if i == v0 {
                return Err("invalid URI parameter value");
            }
        }
    }
    let params = &s[params_start..i];
    let mut headers = "";
    if b.get(i) == Some(&b'?') {
        let h0 = i + 1;
        loop {
            i += 1;
            let n0 = i;
            i = scan_chars(b, i, text::is_hnv_char).ok_or("invalid URI header")?;
            if i == n0 {
                return Err("invalid URI header");
            }
            if b.get(i) != Some(&b'=') {
                return Err("URI header without '='");
            }
            i = scan_chars(b, i + 1, text::is_hnv_char).ok_or("invalid URI header")?;
            if b.get(i) != Some(&b'&') {
                break;
            }
        }
        headers = &s[h0..i];
    }
    if i != b.len() {
        return Err(match b[i] {
            b':' => "invalid port",
            b'?' | b';' | b'&' | b'=' => "invalid URI parameter or header",
            _ => "invalid character after host",
        });
    }
    Ok(SipUriRef { secure, user, password, host, host_kind, port, params, headers })
}

/// True when `b[i]` is `%` followed by two hex digits.
fn escape_at(b: &[u8], i: usize) -> bool {
    i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()
}

/// Advances over characters accepted by `class` (and valid `%HH` escapes, which the
/// classes also accept); `None` on a malformed escape.
#[inline(always)]
fn scan_chars(b: &[u8], mut i: usize, class: impl Fn(u8) -> bool) -> Option<usize> {
    while i < b.len() && class(b[i]) {
        if b[i] == b'%' {
            if !escape_at(b, i) {
                return None;
            }
            i += 2;
        }
        i += 1;
    }
    Some(i)
}

// ---- uri/mod.rs --------------------------------------------------------------------

pub(crate) fn old_uri_scan<'a>(s: &'a str) -> Result<UriRef<'a>, &'static str> {
    let colon = memchr::memchr(b':', s.as_bytes()).ok_or("missing scheme")?;
    let scheme = &s[..colon];
    let rest = &s[colon + 1..];
    let sb = scheme.as_bytes();
    if sb.is_empty()
        || !sb[0].is_ascii_alphabetic()
        || !sb.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return Err("invalid scheme");
    }
    if scheme.eq_ignore_ascii_case("sip") {
        old_sip_uri_scan(false, rest).map(UriRef::Sip)
    } else if scheme.eq_ignore_ascii_case("sips") {
        old_sip_uri_scan(true, rest).map(UriRef::Sip)
    } else if scheme.eq_ignore_ascii_case("tel") {
        TelUri::parse_after_scheme(rest)?;
        Ok(UriRef::Tel(rest))
    } else {
        if rest.is_empty() || !rest.bytes().all(text::is_uric) || !text::escapes_valid(rest) {
            return Err("invalid absolute URI");
        }
        Ok(UriRef::Absolute(s))
    }
}

// ---- framing.rs and message/parse.rs ---------------------------------------------

/// Returns the index just past the empty line ending the head, if present.
fn old_head_end(buf: &[u8]) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    FINDER.find(buf).map(|i| i + 4)
}

fn skip_leading_crlf(buf: &[u8]) -> usize {
    let mut i = 0;
    while i + 1 < buf.len() && buf[i] == b'\r' && buf[i + 1] == b'\n' {
        i += 2;
    }
    i
}

/// Parses one datagram. Leading CRLFs are ignored (RFC 3261 §7.5).
pub(crate) fn old_parse_datagram(buf: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    if buf.len() > limits.max_message_size {
        return Err(ParseError::LimitExceeded {
            limit: Limit::MessageSize,
            max: limits.max_message_size,
        });
    }
    let buf = &buf[skip_leading_crlf(buf)..];
    if buf.iter().all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t')) {
        return Err(ParseError::Empty);
    }
    let end = old_head_end(buf).ok_or(ParseError::UnterminatedHead)?;
    let (head, body_len) = old_parse_head(&buf[..end - 2], limits)?;
    let available = &buf[end..];
    let body = match body_len {
        BodyLength::Absent | BodyLength::Conflicting => available,
        BodyLength::Known(n) if n <= available.len() => &available[..n],
        BodyLength::Known(n) => {
            return Err(ParseError::BodyTooShort { declared: n, available: available.len() });
        }
    };
    Ok(head.into_message(body.to_vec()))
}

/// Parses `head`, which runs from the start line up to and including the CRLF that ends
/// the last header (the empty line is not included).
pub(crate) fn old_parse_head(
    head: &[u8],
    limits: &Limits,
) -> Result<(Head, BodyLength), ParseError> {
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
    let parsed =
        old_uri_scan(uri).map(UriRef::into_owned).map_err(ParseError::InvalidRequestUri)?;
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
    let mut entries: Vec<Entry> = Vec::with_capacity(16);
    let mut canonical = true;
    let mut line_start = 0;
    // Every LF must end a CRLF; a CRLF followed by SP/HTAB folds the line.
    for p in memchr::memchr_iter(b'\n', b) {
        if p == 0 || b[p - 1] != b'\r' {
            return Err(ParseError::InvalidHeaderLine("bare LF in header"));
        }
        if matches!(b.get(p + 1), Some(b' ' | b'\t')) {
            continue;
        }
        let entry = header_line(rest, line_start, p - 1, limits)?;
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
    if memchr::memchr_iter(b'\r', b).count() != memchr::memchr_iter(b'\n', b).count() {
        return Err(ParseError::InvalidHeaderLine("bare CR in header"));
    }
    if line_start != b.len() {
        return Err(ParseError::InvalidHeaderLine("header line without CRLF"));
    }
    Ok(Headers::from_raw(rest.to_owned(), entries, canonical))
}

/// Splits the logical header line `rest[i..end]` into name and value spans.
#[inline]
fn header_line(rest: &str, i: usize, end: usize, limits: &Limits) -> Result<Entry, ParseError> {
    let b = rest.as_bytes();
    if end - i > limits.max_header_len {
        return Err(ParseError::LimitExceeded {
            limit: Limit::HeaderLength,
            max: limits.max_header_len,
        });
    }
    // header-name HCOLON: token, then *(SP / HTAB) ":"
    let mut n = i;
    while n < end && text::is_token_char(b[n]) {
        n += 1;
    }
    let name_end = n;
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
        id: HeaderName::from_name(&rest[i..name_end]),
    })
}

/// Validates the headers a server relies on before any typed access, and finds the
/// Content-Length.
fn validate(
    headers: &Headers,
    method: Option<&Method>,
    limits: &Limits,
) -> Result<BodyLength, ParseError> {
    let mut vias = 0usize;
    let mut body_len = BodyLength::Absent;
    for (id, value) in headers.raw_iter() {
        let Some(id) = id else { continue };
        match id {
            HeaderName::Via => {
                for item in split_list(value) {
                    vias += 1;
                    if vias > limits.max_vias {
                        return Err(ParseError::LimitExceeded {
                            limit: Limit::ViaCount,
                            max: limits.max_vias,
                        });
                    }
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
                NameAddrRef::scan_all(value, Form::Either)
                    .map_err(|r| ParseError::header("To", r))?;
            }
            HeaderName::CallId => {
                call_id::validate(value).map_err(|r| ParseError::header("Call-ID", r))?;
            }
            HeaderName::CSeq => {
                let c = CSeq::parse_inner(value).map_err(|r| ParseError::header("CSeq", r))?;
                if let Some(m) = method
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
                body_len = match body_len {
                    BodyLength::Absent => BodyLength::Known(n),
                    BodyLength::Known(m) if m == n => BodyLength::Known(n),
                    _ => BodyLength::Conflicting,
                };
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
    }
    Ok(body_len)
}
