//! The session description as a list of lines: session-level lines, then one section
//! per `m=` line. Lines keep their text, so unknown lines and attributes print back
//! exactly as received; typed views ([`crate::MediaLine`], [`crate::Connection`],
//! [`crate::Crypto`], ...) parse a line when asked and are written back through setters.
//!
//! ```text
//! session-description = version-field origin-field session-name-field
//!                       [information-field] [uri-field] *email-field *phone-field
//!                       [connection-field] *bandwidth-field 1*time-description
//!                       [key-field] *attribute-field *media-description
//! media-description   = media-field [information-field] *connection-field
//!                       *bandwidth-field [key-field] *attribute-field
//!                                                             (RFC 8866 §9)
//! ```

use std::fmt;

use crate::SdpError;
use crate::media::MediaLine;

/// Hard limits applied while parsing (a body over any of them is refused whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body in bytes (default 16 KiB: a SIP message over UDP is smaller).
    pub max_size: usize,
    /// Most lines (default 512).
    pub max_lines: usize,
    /// Longest line in bytes (default 2048).
    pub max_line_len: usize,
    /// Most `m=` sections (default 16).
    pub max_media: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_size: 16 * 1024, max_lines: 512, max_line_len: 2048, max_media: 16 }
    }
}

/// One `<type>=<value>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The type letter (`v`, `o`, `c`, `a`, ...).
    pub kind: u8,
    /// Everything after `=`, without the line end.
    pub value: String,
}

impl Line {
    /// A line of `kind` with `value`.
    pub fn new(kind: u8, value: impl Into<String>) -> Line {
        Line { kind, value: value.into() }
    }

    /// For an `a=` line: the attribute name and its value (`None` for a property
    /// attribute such as `a=rtcp-mux`).
    ///
    /// ```text
    /// attribute = (attribute-name ":" attribute-value) / attribute-name
    /// ```
    pub fn attribute(&self) -> Option<(&str, Option<&str>)> {
        if self.kind != b'a' {
            return None;
        }
        Some(match self.value.split_once(':') {
            Some((name, value)) => (name, Some(value)),
            None => (self.value.as_str(), None),
        })
    }

    /// True for an `a=` line named `name` (case-sensitive, as RFC 8866 §6 has it).
    pub fn is_attribute(&self, name: &str) -> bool {
        self.attribute().is_some_and(|(n, _)| n == name)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind as char, self.value)
    }
}

/// One media description: its `m=` line (typed) and the lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The `m=` line.
    pub line: MediaLine,
    /// The lines of the section after `m=`, in order.
    pub lines: Vec<Line>,
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    /// Session-level lines from `v=` up to the first `m=`.
    pub session: Vec<Line>,
    /// Media descriptions in order.
    pub media: Vec<Media>,
}

impl Sdp {
    /// Parses `body` with the default [`Limits`].
    ///
    /// # Errors
    /// [`SdpError`] naming the first problem (the sender's fault).
    pub fn parse(body: &[u8]) -> Result<Sdp, SdpError> {
        Sdp::parse_with(body, &Limits::default())
    }

    /// Parses `body` under `limits`. Lines may end in CRLF or LF; a trailing line
    /// without an end is accepted; empty lines are skipped. The `m=`, `c=` and `o=`
    /// lines are validated here (a relay depends on them); attributes are parsed when
    /// accessed.
    ///
    /// # Errors
    /// [`SdpError`] naming the first problem.
    pub fn parse_with(body: &[u8], limits: &Limits) -> Result<Sdp, SdpError> {
        if body.len() > limits.max_size {
            return Err(SdpError::TooLarge { size: body.len(), max: limits.max_size });
        }
        let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
        let mut sdp = Sdp { session: Vec::new(), media: Vec::new() };
        let mut count = 0usize;
        for (i, raw) in text.split('\n').enumerate() {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.is_empty() {
                continue;
            }
            count += 1;
            if count > limits.max_lines {
                return Err(SdpError::TooManyLines { max: limits.max_lines });
            }
            if raw.len() > limits.max_line_len {
                return Err(SdpError::LineTooLong { line: i + 1, max: limits.max_line_len });
            }
            let b = raw.as_bytes();
            if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
                return Err(SdpError::BadLine { line: i + 1 });
            }
            if raw.contains(['\r', '\0']) {
                return Err(SdpError::BadLine { line: i + 1 });
            }
            let line = Line::new(b[0], &raw[2..]);
            if count == 1 && (line.kind != b'v' || line.value != "0") {
                return Err(SdpError::BadVersion);
            }
            match line.kind {
                b'm' => {
                    if sdp.media.len() == limits.max_media {
                        return Err(SdpError::TooManyMedia { max: limits.max_media });
                    }
                    sdp.media.push(Media { line: MediaLine::parse(&line.value)?, lines: vec![] });
                }
                b'c' => {
                    crate::Connection::parse(&line.value)?;
                    sdp.push(line);
                }
                b'o' => {
                    crate::Origin::parse(&line.value)?;
                    sdp.push(line);
                }
                _ => sdp.push(line),
            }
        }
        if count == 0 {
            return Err(SdpError::BadVersion);
        }
        Ok(sdp)
    }

    fn push(&mut self, line: Line) {
        match self.media.last_mut() {
            Some(m) => m.lines.push(line),
            None => self.session.push(line),
        }
    }

    /// The body as bytes (CRLF line ends, RFC 8866 §5).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// The first session-level line of `kind`.
    pub fn session_line(&self, kind: u8) -> Option<&Line> {
        self.session.iter().find(|l| l.kind == kind)
    }

    /// Session-level attribute lines named `name`.
    pub fn session_attributes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Line> {
        self.session.iter().filter(move |l| l.is_attribute(name))
    }
}

impl fmt::Display for Sdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.session {
            write!(f, "{l}\r\n")?;
        }
        for m in &self.media {
            write!(f, "m={}\r\n", m.line)?;
            for l in &m.lines {
                write!(f, "{l}\r\n")?;
            }
        }
        Ok(())
    }
}

impl Media {
    /// Attribute lines of this section named `name`.
    pub fn attributes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Line> {
        self.lines.iter().filter(move |l| l.is_attribute(name))
    }

    /// The value of the first attribute named `name` (`Some("")` for a property).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.lines
            .iter()
            .filter_map(Line::attribute)
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.unwrap_or(""))
    }

    /// True when the section has an attribute named `name`.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes(name).next().is_some()
    }

    /// Removes every attribute named `name`.
    pub fn remove_attribute(&mut self, name: &str) {
        self.lines.retain(|l| !l.is_attribute(name));
    }

    /// Adds `a=<value>` after the last attribute line (or at the end).
    pub fn push_attribute(&mut self, value: impl Into<String>) {
        self.lines.push(Line::new(b'a', value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n\
        s=\r\nc=IN IP4 host.atlanta.example.com\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 97\r\n\
        a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:97 iLBC/8000\r\n\
        m=video 51372 RTP/AVP 31 32\r\na=rtpmap:31 H261/90000\r\na=rtpmap:32 MPV/90000\r\n\
        a=x-unknown: keep  me \r\n";

    #[test]
    fn rfc3264_section_10_1_offer_round_trips_exactly() {
        let sdp = Sdp::parse(OFFER.as_bytes()).unwrap();
        assert_eq!(sdp.session.len(), 5);
        assert_eq!(sdp.media.len(), 2);
        assert_eq!(sdp.media[1].attribute("x-unknown"), Some(" keep  me "));
        assert_eq!(sdp.to_string(), OFFER);
    }

    #[test]
    fn lf_line_ends_are_accepted_and_printed_as_crlf() {
        let lf = OFFER.replace("\r\n", "\n");
        assert_eq!(Sdp::parse(lf.as_bytes()).unwrap().to_string(), OFFER);
        let no_end = OFFER.trim_end_matches("\r\n");
        assert_eq!(Sdp::parse(no_end.as_bytes()).unwrap().to_string(), OFFER);
    }

    #[test]
    fn limits_are_enforced() {
        let small = Limits { max_size: 20, ..Limits::default() };
        assert!(matches!(
            Sdp::parse_with(OFFER.as_bytes(), &small),
            Err(SdpError::TooLarge { .. })
        ));
        let few = Limits { max_lines: 3, ..Limits::default() };
        assert_eq!(Sdp::parse_with(OFFER.as_bytes(), &few), Err(SdpError::TooManyLines { max: 3 }));
        let one = Limits { max_media: 1, ..Limits::default() };
        assert_eq!(Sdp::parse_with(OFFER.as_bytes(), &one), Err(SdpError::TooManyMedia { max: 1 }));
        let short = Limits { max_line_len: 30, ..Limits::default() };
        assert!(matches!(
            Sdp::parse_with(OFFER.as_bytes(), &short),
            Err(SdpError::LineTooLong { line: 2, .. })
        ));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert_eq!(Sdp::parse(b""), Err(SdpError::BadVersion));
        assert_eq!(Sdp::parse(b"v=1\r\n"), Err(SdpError::BadVersion));
        assert_eq!(Sdp::parse(b"o=x\r\nv=0\r\n"), Err(SdpError::BadVersion));
        assert_eq!(Sdp::parse(b"v=0\r\nnonsense\r\n"), Err(SdpError::BadLine { line: 2 }));
        assert_eq!(Sdp::parse(b"v=0\r\nX=1\r\n"), Err(SdpError::BadLine { line: 2 }));
        assert_eq!(Sdp::parse(b"v=0\r\na=x\rb\r\n"), Err(SdpError::BadLine { line: 2 }));
        assert_eq!(Sdp::parse(b"v=0\r\n\xff=1\r\n"), Err(SdpError::NotUtf8));
        assert!(matches!(
            Sdp::parse(b"v=0\r\nm=audio x RTP/AVP 0\r\n"),
            Err(SdpError::BadField { .. })
        ));
        assert!(matches!(Sdp::parse(b"v=0\r\nc=IN IP4\r\n"), Err(SdpError::BadField { .. })));
    }

    #[test]
    fn attributes_are_found_and_edited() {
        let mut sdp = Sdp::parse(OFFER.as_bytes()).unwrap();
        let m = &mut sdp.media[0];
        assert_eq!(m.attributes("rtpmap").count(), 3);
        assert!(!m.has_attribute("rtcp-mux"));
        m.push_attribute("rtcp-mux");
        assert_eq!(m.attribute("rtcp-mux"), Some(""));
        m.remove_attribute("rtpmap");
        assert_eq!(m.attributes("rtpmap").count(), 0);
        assert_eq!(Line::new(b'a', "rtcp-mux").attribute(), Some(("rtcp-mux", None)));
        assert_eq!(Line::new(b'c', "x").attribute(), None);
    }
}
