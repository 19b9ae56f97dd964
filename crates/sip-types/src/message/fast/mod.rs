//! The fast path of message parsing: one pass over the head of a typical message.
//!
//! The general parser ([`super::parse::parse_head`]) first splits the head into lines,
//! then validates the known headers value by value, each step a separate pass. Here the
//! head is walked once: each header line is split into name and value, and the values
//! of the headers validated at parse time (Via, From, To, Call-ID, CSeq, Contact,
//! Max-Forwards, Content-Length) are checked by byte-level scanners that also find where
//! the line ends, so those lines need no separate search for their CRLF.
//!
//! The scanners accept the common shapes only: a subset of what the grammar allows
//! (for example a single Via value with no white space around its separators). A value
//! they do not accept is checked by the general validator for that header
//! ([`check_header`]), and anything unusual about the message as a whole (a bare CR or
//! LF, a line folded right after the colon, a start line not in its usual form, any
//! error) makes [`parse_head`] return `None`: the caller then runs the general parser,
//! which produces the same message or the precise error. Debug builds cross-check every
//! message the fast path accepts against the general parser (see `framing.rs`).
//!
//! No bare CR or LF can hide in a head this path accepts: the start line is a token, a
//! validated URI and `SIP/2.0` (or a status line whose reason is checked for CR), the
//! scanned values consist of grammar characters that exclude CR and LF, and every
//! other line end is found with a search for the first CR or LF, which must be a CRLF.

pub(crate) mod uri;
pub(crate) mod values;

use crate::headers::{Entry, HeaderName, Headers};
use crate::limits::Limits;
use crate::message::parse::{BodyLength, Checks, Head, check_header};
use crate::method::Method;
use crate::status::StatusCode;
use crate::text::{self, run};
use crate::uri::{Uri, UriRef};
use values::{digits, skip_sp};

/// Parses the head at the start of `s` (which holds at least the head and its empty
/// line). Returns the head, the Content-Length found and the index just past the empty
/// line, or `None` when the general parser must decide.
pub(crate) fn parse_head(s: &str, limits: &Limits) -> Option<(Head, BodyLength, usize)> {
    let b = s.as_bytes();
    let is_response = b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"SIP/");
    let (start, hs) = if is_response {
        let lf0 = first_line_end(b)?;
        let (status, reason) = status_line(&s[..lf0 - 1])?;
        (Start::Response(status, reason), lf0 + 1)
    } else {
        let (method, uri, hs) = request_line(s, limits)?;
        (Start::Request(method, uri), hs)
    };
    let mut checks = Checks::new(match &start {
        Start::Request(m, _) => Some(m),
        Start::Response(..) => None,
    });
    let mut entries: Vec<Entry> = Vec::with_capacity(16.min(limits.max_headers));
    let (i, canonical) = header_lines(s, hs, &mut checks, limits, &mut entries)?;
    let body_len = checks.body_len;
    let headers = Headers::from_raw(s[hs..i].to_owned(), entries, canonical);
    let head = match start {
        Start::Request(method, uri) => Head::Request { method, uri, headers },
        Start::Response(status, reason) => Head::Response { status, reason, headers },
    };
    Some((head, body_len, i + 2))
}

/// The header lines from `hs` up to the empty line ending the head: their spans go to
/// `entries`, the values validated at parse time are checked on the way. Returns the
/// index of the empty line and whether every line is in the canonical `name: value`
/// form.
///
/// Kept out of line (as are the value scanners it calls) so that the loop's state
/// stays in registers.
#[inline(never)]
fn header_lines(
    s: &str,
    hs: usize,
    checks: &mut Checks<'_>,
    limits: &Limits,
    entries: &mut Vec<Entry>,
) -> Option<(usize, bool)> {
    let b = s.as_bytes();
    let mut canonical = true;
    let mut i = hs;
    loop {
        // `i` is at the start of a line: a header, or the empty line ending the head.
        if *b.get(i)? == b'\r' {
            if b.get(i + 1) == Some(&b'\n') {
                break;
            }
            return None;
        }
        let (id, name_end) = match HeaderName::match_known(&b[i..]) {
            Some((h, n)) => (Some(h), i + n),
            None => (None, run(b, i, text::is_token_char)),
        };
        debug_assert!(name_end == i || id == HeaderName::from_token(&b[i..name_end]));
        if name_end == i {
            return None;
        }
        // HCOLON; `plain` for the canonical `name: value` form.
        let (plain, vs) = if let Some([b':', b' ', c]) = b.get(name_end..name_end + 3)
            && *c != b' '
            && *c != b'\t'
        {
            (true, name_end + 2)
        } else {
            let colon = skip_sp(b, name_end);
            if b.get(colon) != Some(&b':') {
                return None;
            }
            (false, skip_sp(b, colon + 1))
        };
        let (cr, ve) = match id {
            Some(h) if is_validated(h) => known_value(h, s, vs, checks, limits)?,
            _ => other_value(b, vs)?,
        };
        if cr - i > limits.max_header_len || entries.len() >= limits.max_headers {
            return None;
        }
        canonical &= plain && ve == cr;
        let rel = |x: usize| (x - hs) as u32;
        entries.push(Entry { name: (rel(i), rel(name_end)), value: (rel(vs), rel(ve)), id });
        i = cr + 2;
    }
    Some((i, canonical))
}

enum Start {
    Request(Method, Uri),
    Response(StatusCode, String),
}

/// True when `b[i..]` starts with a CRLF that does not fold the line. (A head always
/// continues after a header's CRLF, with the next header or the empty line.)
#[inline(always)]
fn line_ends_at(b: &[u8], i: usize) -> bool {
    matches!(b.get(i..i + 3), Some([b'\r', b'\n', c]) if *c != b' ' && *c != b'\t')
}

/// True for the headers validated at parse time (see [`check_header`]).
#[inline(always)]
fn is_validated(h: HeaderName) -> bool {
    use HeaderName::*;
    matches!(h, Via | From | To | CallId | CSeq | MaxForwards | ContentLength | Contact | Date)
}

/// The value of a header validated at parse time, at `vs`: scanned in one pass when it
/// has a common shape, else checked by the general validator. Returns where the line's
/// CRLF starts and where the value ends, or `None` when the general parser must decide.
///
/// Kept out of line so that the loop over the header lines stays small (its state
/// fits in registers).
#[inline(never)]
fn known_value(
    h: HeaderName,
    s: &str,
    vs: usize,
    checks: &mut Checks<'_>,
    limits: &Limits,
) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    if let Some((e, n)) = scan_value(h, s, vs, checks)
        && line_ends_at(b, e)
    {
        match h {
            HeaderName::Via => checks.count_via(limits).ok()?,
            HeaderName::ContentLength => checks.content_length(n),
            _ => {}
        }
        return Some((e, e));
    }
    let (cr, ve) = other_value(b, vs)?;
    check_header(h, &s[vs..ve], checks, limits).ok()?;
    Some((cr, ve))
}

/// The value of a header not validated at parse time, at `vs`: where the line's CRLF
/// starts and where the value ends (trailing white space trimmed).
#[inline(always)]
fn other_value(b: &[u8], vs: usize) -> Option<(usize, usize)> {
    let cr = line_end(b, vs)?;
    let mut ve = cr;
    while ve > vs && matches!(b[ve - 1], b' ' | b'\t' | b'\r' | b'\n') {
        ve -= 1;
    }
    Some((cr, ve))
}

/// The CR ending the line whose value starts at `vs`, skipping folds. The first CR or
/// LF must start a CRLF; `None` also for a fold right after the colon (the general
/// parser strips it from the value).
#[inline(always)]
fn line_end(b: &[u8], vs: usize) -> Option<usize> {
    if b.get(vs) == Some(&b'\r') && matches!(b.get(vs + 2), Some(b' ' | b'\t')) {
        return None;
    }
    let mut from = vs;
    loop {
        let q = cr_or_lf(b, from)?;
        if b[q] != b'\r' || b.get(q + 1) != Some(&b'\n') {
            return None;
        }
        if !matches!(b.get(q + 2), Some(b' ' | b'\t')) {
            return Some(q);
        }
        from = q + 3;
    }
}

/// The first CR or LF at or after `i`.
///
/// Header values are mostly short: the first 32 bytes are searched a word at a time
/// (a byte below 0x0E flags a word; the flagged byte is then looked at), the rest of a
/// long value with `memchr2`.
#[inline(always)]
pub(crate) fn cr_or_lf(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let stop = b.len().min(i + 32);
    while let Some(w) = b.get(i..i + 8) {
        if i >= stop {
            break;
        }
        let w = u64::from_le_bytes(w.try_into().ok()?);
        // High bit set in the lowest byte below 0x0E, exactly (higher ones may be
        // flagged by the borrow, but only the lowest is used).
        let t = w.wrapping_sub(ONES * 0x0E) & !w & (ONES << 7);
        if t == 0 {
            i += 8;
            continue;
        }
        let k = i + t.trailing_zeros() as usize / 8;
        if b[k] == b'\r' || b[k] == b'\n' {
            return Some(k);
        }
        // Another control character (HTAB in a value): go on after it.
        i = k + 1;
    }
    memchr::memchr2(b'\r', b'\n', &b[i..]).map(|k| i + k)
}

/// The index of the LF ending the start line, which must follow a CR.
fn first_line_end(b: &[u8]) -> Option<usize> {
    let lf0 = memchr::memchr(b'\n', b)?;
    (lf0 > 0 && b[lf0 - 1] == b'\r').then_some(lf0)
}

/// `Method SP Request-URI SP "SIP/2.0" CRLF` with exactly one SP between the elements,
/// at the start of `s`. Returns the method, the URI and where the headers start.
///
/// A SIP URI in its common shape is scanned in place, and the line must go on with
/// ` SIP/2.0` CRLF right after it (no search for the line end: the URI and method
/// scanners accept no CR or LF). Other request lines are cut at their first LF.
fn request_line(s: &str, limits: &Limits) -> Option<(Method, Uri, usize)> {
    let b = s.as_bytes();
    let sp = run(b, 0, text::is_token_char);
    if sp == 0 || b.get(sp) != Some(&b' ') {
        return None;
    }
    if let Some((e, u)) = uri::sip_uri(s, sp + 1, true)
        && b.get(e..e + 10) == Some(b" SIP/2.0\r\n")
    {
        if e - (sp + 1) > limits.max_uri_len {
            return None;
        }
        let method = Method::from_token(&s[..sp])?;
        return Some((method, UriRef::Sip(u).into_owned(), e + 10));
    }
    let lf0 = first_line_end(b)?;
    let line = &s[..lf0 - 1];
    if !line.ends_with(" SIP/2.0") {
        return None;
    }
    let end = line.len().checked_sub(8)?;
    let uri = line.get(sp + 1..end)?;
    if uri.is_empty() || uri.len() > limits.max_uri_len {
        return None;
    }
    let scanned = match uri::sip_uri(line, sp + 1, true) {
        Some((e, u)) if e == end => UriRef::Sip(u),
        _ => match UriRef::scan(uri).ok()? {
            UriRef::Sip(u) if !u.headers.is_empty() => return None,
            other => other,
        },
    };
    let method = Method::from_token(&line[..sp])?;
    Some((method, scanned.into_owned(), lf0 + 1))
}

/// `"SIP/2.0" SP 3DIGIT [SP Reason-Phrase]`, with no CR in the reason.
fn status_line(line: &str) -> Option<(StatusCode, String)> {
    let b = line.as_bytes();
    if b.len() < 11 || &b[..8] != b"SIP/2.0 " || !b[8..11].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let reason = match b.get(11) {
        None => "",
        Some(b' ') => &line[12..],
        Some(_) => return None,
    };
    if memchr::memchr(b'\r', reason.as_bytes()).is_some() {
        return None;
    }
    let code = b[8..11].iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Some((StatusCode::new(code).ok()?, reason.to_owned()))
}

/// Scans the value of a validated header at `i`. Returns where the accepted text ends
/// (the caller checks that the line ends there) and, for Content-Length, its value.
#[inline]
fn scan_value(h: HeaderName, s: &str, i: usize, checks: &Checks<'_>) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    match h {
        HeaderName::Via => values::via(s, i).map(|(e, _)| (e, 0)),
        HeaderName::From | HeaderName::To => values::name_addr(s, i, false).map(|(e, _)| (e, 0)),
        HeaderName::Contact => values::name_addr(s, i, true).map(|(e, _)| (e, 0)),
        HeaderName::CallId => values::call_id(b, i).map(|e| (e, 0)),
        HeaderName::CSeq => values::cseq(b, i, checks.method).map(|e| (e, 0)),
        HeaderName::MaxForwards => {
            let (e, n) = digits(b, i, 3)?;
            (n <= 255).then_some((e, 0))
        }
        HeaderName::ContentLength => digits(b, i, 9).map(|(e, n)| (e, n as usize)),
        _ => None,
    }
}
