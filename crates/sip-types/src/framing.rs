//! Message framing for datagram (UDP) and stream (TCP/TLS) transports (RFC 3261 §18.3,
//! RFC 5626 §3.5.1 keep-alives).
//!
//! * Datagrams: one message per datagram. Content-Length is optional; without it the
//!   body is the rest of the datagram. With it, extra octets are discarded (RFC 4475
//!   §3.1.1.8) and a datagram shorter than announced is an error (§3.1.2.2).
//! * Streams: Content-Length is mandatory and delimits messages. A double CRLF between
//!   messages is a keep-alive ping, answered with a single CRLF (pong). Partial input is
//!   [`Framed::Incomplete`], never an error. Any error leaves the stream out of sync:
//!   the transport must close the connection.

use crate::error::{Limit, ParseError};
use crate::limits::Limits;
use crate::message::Message;
use crate::message::fast;
use crate::message::parse::{BodyLength, Head, parse_head};

/// Returns the index just past the empty line ending the head (the first `CRLF CRLF`),
/// if present.
///
/// Walks the line ends: every `CRLF CRLF` has its first LF at a line end, so checking
/// each LF in order finds the first one. SIP text has a line end every few dozen bytes,
/// where a substring search for `CRLF CRLF` stops at every `CRLF` as a candidate. After
/// [`LINE_WALK`] line ends (far more than a normal head has) the rest is searched with
/// `memmem`, which bounds the cost of input made of short lines.
fn head_end(buf: &[u8]) -> Option<usize> {
    const LINE_WALK: usize = 160;
    let mut from = 0;
    for _ in 0..LINE_WALK {
        let p = from + memchr::memchr(b'\n', &buf[from..])?;
        if p >= 1 && buf[p - 1] == b'\r' && buf.get(p + 1..p + 3) == Some(b"\r\n") {
            return Some(p + 3);
        }
        from = p + 1;
    }
    // Occurrences starting before `from - 1` had their first LF checked above.
    let base = from - 1;
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    FINDER.find(&buf[base..]).map(|i| base + i + 4)
}

fn skip_leading_crlf(buf: &[u8]) -> usize {
    let mut i = 0;
    while i + 1 < buf.len() && buf[i] == b'\r' && buf[i + 1] == b'\n' {
        i += 2;
    }
    i
}

/// True when a datagram holds only CRLFs (a keep-alive, RFC 5626 §3.5.1 / §4.4.1).
pub fn is_keepalive(datagram: &[u8]) -> bool {
    !datagram.is_empty()
        && datagram.len().is_multiple_of(2)
        && datagram.chunks(2).all(|c| c == b"\r\n")
}

/// Parses one datagram. Leading CRLFs are ignored (RFC 3261 §7.5).
pub fn parse_datagram(buf: &[u8], limits: &Limits) -> Result<Message, ParseError> {
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
    // The one-pass parser takes typical messages; it needs the head as text, and a body
    // need not be text, so a datagram that is not UTF-8 as a whole offers its valid part.
    let text = match std::str::from_utf8(buf) {
        Ok(s) => Some(s),
        Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).ok(),
    };
    if let Some((head, body_len, end)) = text.and_then(|s| fast::parse_head(s, limits)) {
        let parsed = attach_body(head, body_len, &buf[end..]);
        #[cfg(debug_assertions)]
        cross_check(buf, limits, &parsed);
        return parsed;
    }
    parse_datagram_general(buf, limits)
}

/// The general datagram parser: finds the head, parses it, attaches the body.
fn parse_datagram_general(buf: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    let end = head_end(buf).ok_or(ParseError::UnterminatedHead)?;
    let (head, body_len) = parse_head(&buf[..end - 2], limits)?;
    attach_body(head, body_len, &buf[end..])
}

/// Takes the body from the bytes after the head: up to Content-Length, or all of them.
fn attach_body(head: Head, body_len: BodyLength, available: &[u8]) -> Result<Message, ParseError> {
    let body = match body_len {
        BodyLength::Absent | BodyLength::Conflicting => available,
        BodyLength::Known(n) if n <= available.len() => &available[..n],
        BodyLength::Known(n) => {
            return Err(ParseError::BodyTooShort { declared: n, available: available.len() });
        }
    };
    Ok(head.into_message(body.to_vec()))
}

/// Debug builds (tests, fuzzing) check every message the one-pass parser accepts
/// against the general parser: same message, same printed bytes, or the same error.
#[cfg(debug_assertions)]
fn cross_check(buf: &[u8], limits: &Limits, fast: &Result<Message, ParseError>) {
    let general = parse_datagram_general(buf, limits);
    let same = match (fast, &general) {
        (Ok(a), Ok(b)) => a == b && a.to_bytes() == b.to_bytes(),
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    assert!(
        same,
        "one-pass and general parsers disagree on {:?}:\n{fast:?}\n{general:?}",
        String::from_utf8_lossy(buf)
    );
}

/// What [`StreamFramer::next`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// More bytes are needed.
    Incomplete,
    /// A complete message.
    Message(Message),
    /// A keep-alive ping (`CRLF CRLF`); answer with a single `CRLF`.
    Ping,
    /// A keep-alive pong (a single `CRLF`) on a client-side framer.
    Pong,
}

/// Splits a byte stream into messages and keep-alives with bounded buffering.
///
/// ```
/// use ringfence_sip_types::{Limits, framing::{Framed, StreamFramer}};
/// let mut f = StreamFramer::new(Limits::default());
/// f.feed(b"\r\n\r\nOPTIONS sip:a@example.com SIP/2.0\r\nContent-Length: 0\r\n").unwrap();
/// assert_eq!(f.next().unwrap(), Framed::Ping);
/// assert_eq!(f.next().unwrap(), Framed::Incomplete);
/// f.feed(b"\r\n").unwrap();
/// assert!(matches!(f.next().unwrap(), Framed::Message(_)));
/// ```
#[derive(Debug)]
pub struct StreamFramer {
    limits: Limits,
    buf: Vec<u8>,
    start: usize,
    client: bool,
    pending: Option<(Head, usize, usize)>,
}

impl StreamFramer {
    /// A framer for the server side of a connection: a lone CRLF is ignored (RFC 3261 §7.5).
    pub fn new(limits: Limits) -> Self {
        StreamFramer { limits, buf: Vec::new(), start: 0, client: false, pending: None }
    }

    /// A framer for the client side: a lone CRLF is reported as [`Framed::Pong`].
    pub fn client(limits: Limits) -> Self {
        StreamFramer { client: true, ..StreamFramer::new(limits) }
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Appends received bytes. Fails when more than twice `max_message_size` would be
    /// buffered (call [`StreamFramer::next`] until `Incomplete` between feeds).
    pub fn feed(&mut self, data: &[u8]) -> Result<(), ParseError> {
        let max = self.limits.max_message_size.saturating_mul(2);
        if self.buffered() + data.len() > max {
            return Err(ParseError::LimitExceeded {
                limit: Limit::MessageSize,
                max: self.limits.max_message_size,
            });
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Returns the next complete frame, or `Incomplete`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Framed, ParseError> {
        let max = self.limits.max_message_size;
        if let Some((head, head_len, body_len)) = self.pending.take() {
            return Ok(self.finish(head, head_len, body_len));
        }
        // Keep-alives and stray CRLFs between messages (RFC 3261 §7.5, RFC 5626 §3.5.1).
        loop {
            let data = &self.buf[self.start..];
            if !data.starts_with(b"\r\n") {
                break;
            }
            if data.starts_with(b"\r\n\r\n") {
                self.start += 4;
                return Ok(Framed::Ping);
            }
            if data.len() < 4 && b"\r\n\r\n".starts_with(data) {
                if self.client && data.len() == 2 {
                    self.start += 2;
                    return Ok(Framed::Pong);
                }
                return Ok(Framed::Incomplete);
            }
            self.start += 2;
            if self.client {
                return Ok(Framed::Pong);
            }
        }
        let data = &self.buf[self.start..];
        let Some(end) = head_end(data) else {
            if data.len() > max {
                return Err(ParseError::LimitExceeded { limit: Limit::MessageSize, max });
            }
            return Ok(Framed::Incomplete);
        };
        if end > max {
            return Err(ParseError::LimitExceeded { limit: Limit::MessageSize, max });
        }
        let fast = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| fast::parse_head(s, &self.limits))
            .map(|(head, body_len, fast_end)| {
                debug_assert_eq!(fast_end, end, "one-pass parser found another head end");
                #[cfg(debug_assertions)]
                {
                    let general = parse_head(&data[..end - 2], &self.limits)
                        .map(|(h, l)| (h.into_message(Vec::new()), l));
                    let mine = (head.clone().into_message(Vec::new()), body_len);
                    assert!(
                        general
                            .as_ref()
                            .is_ok_and(|g| *g == mine && g.0.to_bytes() == mine.0.to_bytes()),
                        "one-pass and general parsers disagree: {mine:?} vs {general:?}"
                    );
                }
                (head, body_len)
            });
        let (head, body_len) = match fast {
            Some(parsed) => parsed,
            None => parse_head(&data[..end - 2], &self.limits)?,
        };
        let body_len = match body_len {
            BodyLength::Known(n) => n,
            BodyLength::Absent => return Err(ParseError::MissingContentLength),
            BodyLength::Conflicting => {
                return Err(ParseError::header("Content-Length", "conflicting values"));
            }
        };
        if end + body_len > max {
            return Err(ParseError::LimitExceeded { limit: Limit::MessageSize, max });
        }
        Ok(self.finish(head, end, body_len))
    }

    fn finish(&mut self, head: Head, head_len: usize, body_len: usize) -> Framed {
        let data = &self.buf[self.start..];
        if data.len() < head_len + body_len {
            self.pending = Some((head, head_len, body_len));
            return Framed::Incomplete;
        }
        let body = data[head_len..head_len + body_len].to_vec();
        self.start += head_len + body_len;
        Framed::Message(head.into_message(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@example.com SIP/2.0\r\nContent-Length: 4\r\n\r\nbody";

    #[test]
    fn datagram_rules() {
        let l = Limits::DEFAULT;
        let m = parse_datagram(b"\r\nOPTIONS sip:a@b.example SIP/2.0\r\nl: 2\r\n\r\nabcdef", &l)
            .unwrap();
        assert_eq!(m.body(), b"ab");
        let m = parse_datagram(b"OPTIONS sip:a@b.example SIP/2.0\r\n\r\nabcdef", &l).unwrap();
        assert_eq!(m.body(), b"abcdef");
        assert_eq!(
            parse_datagram(b"OPTIONS sip:a@b.example SIP/2.0\r\nl: 9\r\n\r\nab", &l),
            Err(ParseError::BodyTooShort { declared: 9, available: 2 })
        );
        assert_eq!(parse_datagram(b"\r\n\r\n", &l), Err(ParseError::Empty));
        assert_eq!(
            parse_datagram(b"OPTIONS sip:a@b.example SIP/2.0\r\n", &l),
            Err(ParseError::UnterminatedHead)
        );
        let small = Limits { max_message_size: 10, ..l };
        assert!(matches!(parse_datagram(MSG, &small), Err(ParseError::LimitExceeded { .. })));
        assert!(
            is_keepalive(b"\r\n\r\n")
                && is_keepalive(b"\r\n")
                && !is_keepalive(b"\r\nx")
                && !is_keepalive(b"")
        );
    }

    #[test]
    fn canonical_input_prints_byte_exact_and_edits_still_print() {
        let input: &[u8] = b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Fold: a\r\n b\r\nContent-Length: 0\r\n\r\n";
        let mut m = parse_datagram(input, &Limits::DEFAULT).unwrap();
        assert_eq!(m.to_bytes(), input);
        m.headers_mut().push("Subject", "hi");
        let printed = m.to_bytes();
        assert!(
            printed.ends_with(b"Content-Length: 0\r\nSubject: hi\r\n\r\n"),
            "{}",
            String::from_utf8_lossy(&printed)
        );
        let spaced = b"OPTIONS sip:a@example.com SIP/2.0\r\nVia :SIP/2.0/UDP h\r\nl:0\r\n\r\n";
        let m = parse_datagram(spaced, &Limits::DEFAULT).unwrap();
        assert_eq!(
            m.to_bytes(),
            b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nl: 0\r\n\r\n"
        );
    }

    /// The line walk finds the same head end as a plain substring search, also past
    /// the point where it hands over to `memmem`.
    #[test]
    fn head_end_is_first_crlf_crlf() {
        let reference = |b: &[u8]| b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"\r\n\r\n".to_vec(),
            b"\n\r\n".to_vec(),
            b"a\r\n\r\nb".to_vec(),
            b"a\n\r\n\r\n".to_vec(),
            b"a\r\n\r\r\n\r\n".to_vec(),
            b"a\r\n\r\n\r\n".to_vec(),
            b"a\r\n\r".to_vec(),
        ];
        for n in [150, 159, 160, 161, 162, 400] {
            for tail in [&b"\r\n\r\n"[..], b"\r\n", b"\n\r\n\r\n", b"x\r\n\r\nx"] {
                let mut v = b"x\n".repeat(n);
                v.extend_from_slice(tail);
                cases.push(v);
                let mut v = b"ab\r\n".repeat(n);
                v.extend_from_slice(tail);
                cases.push(v);
                let mut v = b"\n".repeat(n);
                v.extend_from_slice(tail);
                cases.push(v);
            }
        }
        for c in &cases {
            assert_eq!(head_end(c), reference(c), "{:?}", String::from_utf8_lossy(c));
        }
    }

    #[test]
    fn stream_byte_by_byte() {
        let mut f = StreamFramer::new(Limits::DEFAULT);
        let mut input = Vec::new();
        input.extend_from_slice(MSG);
        input.extend_from_slice(b"\r\n\r\n");
        input.extend_from_slice(MSG);
        let mut frames = Vec::new();
        for b in &input {
            f.feed(std::slice::from_ref(b)).unwrap();
            loop {
                match f.next().unwrap() {
                    Framed::Incomplete => break,
                    other => frames.push(other),
                }
            }
        }
        assert_eq!(frames.len(), 3);
        assert!(matches!(&frames[0], Framed::Message(m) if m.body() == b"body"));
        assert_eq!(frames[1], Framed::Ping);
        assert!(matches!(&frames[2], Framed::Message(_)));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn stream_errors_and_bounds() {
        let mut f = StreamFramer::new(Limits::DEFAULT);
        f.feed(b"OPTIONS sip:a@example.com SIP/2.0\r\n\r\n").unwrap();
        assert_eq!(f.next(), Err(ParseError::MissingContentLength));
        let small = Limits { max_message_size: 64, ..Limits::DEFAULT };
        let mut f = StreamFramer::new(small);
        f.feed(&[b'A'; 100]).unwrap();
        assert!(matches!(f.next(), Err(ParseError::LimitExceeded { .. })));
        assert!(f.feed(&[b'A'; 100]).is_err());
        let mut f = StreamFramer::new(small);
        f.feed(b"OPTIONS sip:a@example.com SIP/2.0\r\nl: 1000\r\n\r\n").unwrap();
        assert!(matches!(f.next(), Err(ParseError::LimitExceeded { .. })));
    }

    #[test]
    fn client_pong() {
        let mut f = StreamFramer::client(Limits::DEFAULT);
        f.feed(b"\r\n").unwrap();
        assert_eq!(f.next().unwrap(), Framed::Pong);
        assert_eq!(f.next().unwrap(), Framed::Incomplete);
        let mut s = StreamFramer::new(Limits::DEFAULT);
        s.feed(b"\r\n").unwrap();
        assert_eq!(s.next().unwrap(), Framed::Incomplete);
        s.feed(b"\r\n").unwrap();
        assert_eq!(s.next().unwrap(), Framed::Ping);
    }
}
