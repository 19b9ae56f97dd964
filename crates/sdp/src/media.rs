//! The `m=` line.
//!
//! ```text
//! media-field = %s"m" "=" media SP port ["/" integer] SP proto 1*(SP fmt) CRLF
//! media       = token
//! port        = 1*5DIGIT
//! proto       = token *("/" token)
//! fmt         = token                                      (RFC 8866 §5.14, §9)
//! ```

use std::fmt;

use crate::SdpError;

/// Transport protocol of a media description.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Proto {
    /// `RTP/AVP` (RFC 3551).
    RtpAvp,
    /// `RTP/SAVP` (RFC 3711).
    RtpSavp,
    /// `RTP/AVPF` (RFC 4585).
    RtpAvpf,
    /// `RTP/SAVPF` (RFC 5124).
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP` (DTLS-SRTP, RFC 5764).
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF` (DTLS-SRTP with feedback, RFC 5764).
    UdpTlsRtpSavpf,
    /// Anything else (`udp`, `TCP/MSRP`, ...), kept as written.
    Other(String),
}

impl Proto {
    /// Parses a proto token (RTP profiles are matched case-insensitively).
    pub fn parse(s: &str) -> Proto {
        const KNOWN: [(&str, Proto); 6] = [
            ("RTP/AVP", Proto::RtpAvp),
            ("RTP/SAVP", Proto::RtpSavp),
            ("RTP/AVPF", Proto::RtpAvpf),
            ("RTP/SAVPF", Proto::RtpSavpf),
            ("UDP/TLS/RTP/SAVP", Proto::UdpTlsRtpSavp),
            ("UDP/TLS/RTP/SAVPF", Proto::UdpTlsRtpSavpf),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map_or_else(|| Proto::Other(s.to_owned()), |(_, p)| p)
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        match self {
            Proto::RtpAvp => "RTP/AVP",
            Proto::RtpSavp => "RTP/SAVP",
            Proto::RtpAvpf => "RTP/AVPF",
            Proto::RtpSavpf => "RTP/SAVPF",
            Proto::UdpTlsRtpSavp => "UDP/TLS/RTP/SAVP",
            Proto::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Proto::Other(s) => s,
        }
    }

    /// An RTP profile (any of the six above).
    pub fn is_rtp(&self) -> bool {
        !matches!(self, Proto::Other(_))
    }

    /// SRTP keyed by SDES (`RTP/SAVP`, `RTP/SAVPF`).
    pub fn is_sdes_srtp(&self) -> bool {
        matches!(self, Proto::RtpSavp | Proto::RtpSavpf)
    }

    /// SRTP keyed by DTLS (`UDP/TLS/RTP/SAVP(F)`).
    pub fn is_dtls_srtp(&self) -> bool {
        matches!(self, Proto::UdpTlsRtpSavp | Proto::UdpTlsRtpSavpf)
    }

    /// With RTCP feedback (`...F`).
    pub fn has_feedback(&self) -> bool {
        matches!(self, Proto::RtpAvpf | Proto::RtpSavpf | Proto::UdpTlsRtpSavpf)
    }

    /// The SDES profile of the same family: secure or plain, with or without feedback.
    /// `None` for non-RTP protocols.
    pub fn with_security(&self, secure: bool) -> Option<Proto> {
        if !self.is_rtp() {
            return None;
        }
        Some(match (secure, self.has_feedback()) {
            (false, false) => Proto::RtpAvp,
            (false, true) => Proto::RtpAvpf,
            (true, false) => Proto::RtpSavp,
            (true, true) => Proto::RtpSavpf,
        })
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed `m=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    /// `audio`, `video`, `application`, ...
    pub media: String,
    /// Transport port; 0 disables the stream (RFC 3264 §5.1).
    pub port: u16,
    /// Number of ports (`/integer`), if given.
    pub port_count: Option<u16>,
    /// Transport protocol.
    pub proto: Proto,
    /// Formats (RTP payload types for RTP profiles), in preference order.
    pub formats: Vec<String>,
}

fn is_token(s: &str) -> bool {
    // token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E
    !s.is_empty()
        && s.bytes().all(|b| {
            matches!(b, 0x21 | 0x23..=0x27 | 0x2A..=0x2B | 0x2D..=0x2E | 0x30..=0x39 | 0x41..=0x5A | 0x5E..=0x7E)
        })
}

fn parse_port(s: &str, field: &'static str, whole: &str) -> Result<u16, SdpError> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdpError::field(field, whole, "port is not 1*5DIGIT"));
    }
    s.parse().map_err(|_| SdpError::field(field, whole, "port above 65535"))
}

impl MediaLine {
    /// Parses the value of an `m=` line.
    ///
    /// # Errors
    /// [`SdpError::BadField`] when it does not follow the grammar above.
    pub fn parse(value: &str) -> Result<MediaLine, SdpError> {
        let mut parts = value.split(' ');
        let media = parts.next().unwrap_or("");
        if !is_token(media) {
            return Err(SdpError::field("m", value, "media is not a token"));
        }
        let port_field = parts.next().ok_or_else(|| SdpError::field("m", value, "no port"))?;
        let (port, port_count) = match port_field.split_once('/') {
            Some((p, n)) => (parse_port(p, "m", value)?, Some(parse_port(n, "m", value)?)),
            None => (parse_port(port_field, "m", value)?, None),
        };
        let proto = parts.next().ok_or_else(|| SdpError::field("m", value, "no proto"))?;
        if !proto.split('/').all(is_token) {
            return Err(SdpError::field("m", value, "proto is not token *(\"/\" token)"));
        }
        let formats: Vec<String> = parts.map(str::to_owned).collect();
        if formats.is_empty() || !formats.iter().all(|f| is_token(f)) {
            return Err(SdpError::field("m", value, "formats are not 1*(SP token)"));
        }
        Ok(MediaLine {
            media: media.to_owned(),
            port,
            port_count,
            proto: Proto::parse(proto),
            formats,
        })
    }

    /// True when the stream is disabled (port 0).
    pub fn is_disabled(&self) -> bool {
        self.port == 0
    }
}

impl fmt::Display for MediaLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.media, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8866_section_5_14_media_lines() {
        let m = MediaLine::parse("audio 49170 RTP/AVP 0 8 97").unwrap();
        assert_eq!((m.media.as_str(), m.port, m.proto.clone()), ("audio", 49170, Proto::RtpAvp));
        assert_eq!(m.formats, ["0", "8", "97"]);
        assert_eq!(m.to_string(), "audio 49170 RTP/AVP 0 8 97");
        let v = MediaLine::parse("video 49170/2 RTP/AVP 31").unwrap();
        assert_eq!(v.port_count, Some(2));
        assert_eq!(v.to_string(), "video 49170/2 RTP/AVP 31");
        let a = MediaLine::parse("application 9 UDP/TLS/RTP/SAVPF 100").unwrap();
        assert!(a.proto.is_dtls_srtp() && a.proto.has_feedback());
        let o = MediaLine::parse("message 7394 TCP/MSRP *").unwrap();
        assert_eq!(o.proto, Proto::Other("TCP/MSRP".into()));
        assert_eq!(o.to_string(), "message 7394 TCP/MSRP *");
    }

    #[test]
    fn malformed_media_lines_are_refused() {
        for bad in [
            "",
            "audio",
            "audio 1",
            "audio 1 RTP/AVP",
            "audio 65536 RTP/AVP 0",
            "audio -1 RTP/AVP 0",
            "audio 123456 RTP/AVP 0",
            "audio 1 RTP//AVP 0",
            "audio  1 RTP/AVP 0",
            "audio 1 RTP/AVP 0 ",
            "aud\"io 1 RTP/AVP 0",
        ] {
            assert!(MediaLine::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn profiles_switch_security_keeping_feedback() {
        assert_eq!(Proto::parse("rtp/savp"), Proto::RtpSavp);
        assert_eq!(Proto::RtpAvp.with_security(true), Some(Proto::RtpSavp));
        assert_eq!(Proto::RtpSavpf.with_security(false), Some(Proto::RtpAvpf));
        assert_eq!(Proto::UdpTlsRtpSavpf.with_security(true), Some(Proto::RtpSavpf));
        assert_eq!(Proto::Other("udp".into()).with_security(true), None);
        assert!(Proto::RtpSavp.is_sdes_srtp() && !Proto::RtpAvp.is_sdes_srtp());
    }
}
