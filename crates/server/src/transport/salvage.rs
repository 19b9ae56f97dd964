//! Answering requests that fail to parse (RFC 3261 §8.2.6, §21.4.1).
//!
//! A request the parser rejects still gets an error response when the header lines a
//! response needs can be recovered from the raw bytes: every `Via` line, and `From`,
//! `To`, `Call-ID` and `CSeq` (RFC 3261 §8.2.6.2). Anything else (responses, garbage,
//! an ACK, a request missing one of those lines) is dropped: no response is possible.
//!
//! The raw scan is deliberately forgiving and bounded by the same [`Limits`] as the
//! parser: compact header names (`v`, `f`, `t`, `i`) are recognised, folded lines are
//! joined, values are copied as text (control characters become spaces).

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use ringfence_sip_types::{HeaderName, Limit, Limits, ParseError, Response, StatusCode};

/// Longest reason phrase sent back.
const MAX_REASON: usize = 120;

/// The status code a parse error is answered with: 505 for a SIP version other than 2.0
/// (§8.2.2 / §21.5.7), 513 for a message over the size limit (§21.4.24), else 400.
pub(crate) fn status_for(err: &ParseError) -> u16 {
    match err {
        ParseError::UnsupportedVersion => 505,
        ParseError::LimitExceeded { limit: Limit::MessageSize, .. } => 513,
        _ => 400,
    }
}

/// The reason phrase for `err`: printable ASCII only, at most 120 bytes.
pub(crate) fn reason_for(err: &ParseError) -> String {
    let mut r: String = err
        .reason_phrase()
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { ' ' })
        .collect();
    r.truncate(MAX_REASON);
    let t = r.trim_end().len();
    r.truncate(t);
    if r.is_empty() { "Bad Request".to_owned() } else { r }
}

#[derive(Default)]
struct Found {
    vias: Vec<String>,
    from: Option<String>,
    to: Option<String>,
    call_id: Option<String>,
    cseq: Option<String>,
}

#[derive(Clone, Copy)]
enum Field {
    Via,
    From,
    To,
    CallId,
    CSeq,
}

impl Field {
    fn from_name(name: &[u8]) -> Option<Field> {
        let eq = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        if eq("via") || eq("v") {
            Some(Field::Via)
        } else if eq("from") || eq("f") {
            Some(Field::From)
        } else if eq("to") || eq("t") {
            Some(Field::To)
        } else if eq("call-id") || eq("i") {
            Some(Field::CallId)
        } else if eq("cseq") {
            Some(Field::CSeq)
        } else {
            None
        }
    }
}

impl Found {
    fn store(&mut self, field: Field, raw: &[u8], limits: &Limits) {
        let Ok(text) = std::str::from_utf8(raw) else { return };
        let value: String =
            text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        if value.is_empty() {
            return;
        }
        let slot = match field {
            Field::Via => {
                if self.vias.len() < limits.max_vias {
                    self.vias.push(value);
                }
                return;
            }
            Field::From => &mut self.from,
            Field::To => &mut self.to,
            Field::CallId => &mut self.call_id,
            Field::CSeq => &mut self.cseq,
        };
        slot.get_or_insert(value);
    }
}

fn split_line(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = memchr_crlf(buf)?;
    Some((&buf[..i], &buf[i + 2..]))
}

fn memchr_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Builds the error response for the malformed message in `raw`, or `None` when no
/// response is possible or allowed.
pub(crate) fn error_response(raw: &[u8], err: &ParseError, limits: &Limits) -> Option<Vec<u8>> {
    // `raw` is bounded by the caller (one datagram, or a connection's framing buffer).
    let mut rest = raw;
    while rest.starts_with(b"\r\n") {
        rest = &rest[2..];
    }
    let (start, mut rest) = split_line(rest)?;
    if start.len() > limits.max_uri_len + 64 || start.len() < 4 {
        return None;
    }
    if start[..4].eq_ignore_ascii_case(b"SIP/") {
        return None; // a response: never answered
    }
    let method_end = start.iter().position(|&b| b == b' ')?;
    let method = &start[..method_end];
    if method.is_empty() || !method.iter().all(|&b| is_token_char(b)) || method == b"ACK" {
        return None;
    }

    let mut found = Found::default();
    let mut current: Option<(Field, Vec<u8>)> = None;
    let mut lines = 0usize;
    while let Some((line, next)) = split_line(rest) {
        rest = next;
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, value)) = current.as_mut() {
                if value.len() + line.len() > limits.max_header_len {
                    current = None;
                } else {
                    value.push(b' ');
                    value.extend_from_slice(line.trim_ascii());
                }
            }
            continue;
        }
        if let Some((field, value)) = current.take() {
            found.store(field, &value, limits);
        }
        lines += 1;
        if lines > limits.max_headers {
            break;
        }
        if line.len() > limits.max_header_len {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        if let Some(field) = Field::from_name(line[..colon].trim_ascii()) {
            current = Some((field, line[colon + 1..].to_vec()));
        }
    }
    if let Some((field, value)) = current.take() {
        found.store(field, &value, limits);
    }

    let (Some(from), Some(to), Some(call_id), Some(cseq)) =
        (found.from, found.to, found.call_id, found.cseq)
    else {
        return None;
    };
    if found.vias.is_empty() {
        return None;
    }
    let mut resp = Response::new(StatusCode::new(status_for(err)).ok()?);
    resp.reason = reason_for(err);
    let h = &mut resp.headers;
    for via in &found.vias {
        h.push(HeaderName::Via, via);
    }
    h.push(HeaderName::From, &from);
    if has_tag(&to) {
        h.push(HeaderName::To, &to);
    } else {
        h.push(HeaderName::To, &format!("{to};tag={}", random_tag()));
    }
    h.push(HeaderName::CallId, &call_id);
    h.push(HeaderName::CSeq, &cseq);
    h.set_content_length(0);
    Some(resp.to_bytes())
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// True when a To value carries a `tag` parameter (looked for after the `>` of a
/// name-addr, or anywhere in an addr-spec, whose parameters are header parameters).
fn has_tag(to: &str) -> bool {
    let params = match to.rfind('>') {
        Some(p) => &to[p + 1..],
        None => to,
    };
    params.split(';').skip(1).any(|p| {
        let name = p.split('=').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("tag")
    })
}

/// A To tag for a response that belongs to no dialog: unique, not secret (§19.3).
fn random_tag() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", RandomState::new().hash_one(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits::DEFAULT;

    fn answer(raw: &str) -> Option<String> {
        let err = ParseError::InvalidHeader { header: "CSeq", reason: "bad" };
        error_response(raw.as_bytes(), &err, &L).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn rfc3261_8_2_6_copies_headers_and_adds_tag() {
        let raw = "\r\nINVITE sip:bob@example.com SIP/2.0\r\n\
            v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
            Via: SIP/2.0/TCP\r\n proxy.example;branch=z9hG4bK0\r\n\
            f: <sip:alice@example.com>;tag=88\r\n\
            t: <sip:bob@example.com>\r\n\
            i: abc@192.0.2.1\r\n\
            CSeq: 1 INVITE garbage\r\n\
            Max-Forwards: 70\r\n\r\nbody";
        let text = answer(raw).unwrap();
        assert!(text.starts_with("SIP/2.0 400 Invalid CSeq header: bad\r\n"), "{text}");
        assert!(text.contains("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"));
        assert!(text.contains("Via: SIP/2.0/TCP proxy.example;branch=z9hG4bK0\r\n"));
        assert!(text.contains("From: <sip:alice@example.com>;tag=88\r\n"));
        assert!(text.contains("To: <sip:bob@example.com>;tag="));
        assert!(text.contains("Call-ID: abc@192.0.2.1\r\n"));
        assert!(text.contains("CSeq: 1 INVITE garbage\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
        assert!(!text.contains("Max-Forwards"));
    }

    #[test]
    fn existing_to_tag_is_kept() {
        let raw = "BYE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@h>;tag=1\r\n\
            To: sip:b@h;tag=2\r\nCall-ID: x\r\nCSeq: 2 BYE\r\n";
        let text = answer(raw).unwrap();
        assert!(text.contains("To: sip:b@h;tag=2\r\n"), "{text}");
        let parsed = ringfence_sip_types::Response::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.status.code(), 400);
        assert_eq!(text.matches("tag=").count(), 2);
    }

    #[test]
    fn unanswerable_messages_are_dropped() {
        let full = "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\n\
            Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
        assert!(answer(&format!("OPTIONS sip:b@h SIP/2.0\r\n{full}")).is_some());
        assert!(answer(&format!("SIP/2.0 200 OK\r\n{full}")).is_none(), "response");
        assert!(answer(&format!("ACK sip:b@h SIP/2.0\r\n{full}")).is_none(), "ACK");
        assert!(answer(&format!("\u{1}\u{2} sip:b@h SIP/2.0\r\n{full}")).is_none(), "method");
        let tls_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";
        assert!(error_response(tls_hello, &ParseError::Empty, &L).is_none(), "garbage");
        assert!(answer("").is_none());
        let no_call_id = full.replace("Call-ID: x\r\n", "");
        assert!(answer(&format!("OPTIONS sip:b@h SIP/2.0\r\n{no_call_id}")).is_none());
        let no_via = full.replace("Via: SIP/2.0/UDP h\r\n", "");
        assert!(answer(&format!("OPTIONS sip:b@h SIP/2.0\r\n{no_via}")).is_none());
    }

    #[test]
    fn status_and_reason_follow_the_error() {
        assert_eq!(status_for(&ParseError::UnsupportedVersion), 505);
        let big = ParseError::LimitExceeded { limit: Limit::MessageSize, max: 10 };
        assert_eq!(status_for(&big), 513);
        assert_eq!(status_for(&ParseError::MissingContentLength), 400);
        let r = reason_for(&ParseError::InvalidRequestLine("x"));
        assert!(r.len() <= MAX_REASON && !r.contains(['\r', '\n']));
        assert_eq!(r, "Invalid request line: x");
    }

    #[test]
    fn head_cut_short_still_salvaged_when_lines_are_complete() {
        let raw = "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@h>;tag=1\r\n\
            To: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nX-Long: aaaa";
        assert!(answer(raw).is_some());
    }
}
