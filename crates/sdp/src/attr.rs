//! Typed attributes: `rtpmap`, `fmtp`, direction, `rtcp`, `rtcp-mux`, `ptime`.
//!
//! ```text
//! a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
//! a=fmtp:<format> <format specific parameters>                    (RFC 8866 §6.6, §6.15)
//! a=sendrecv / a=sendonly / a=recvonly / a=inactive               (RFC 8866 §6.7)
//! a=ptime:<packet time>                                           (RFC 8866 §6.4)
//! rtcp-attribute = "a=rtcp:" port [nettype space addrtype space
//!                  connection-address] CRLF                       (RFC 3605 §2.1)
//! a=rtcp-mux                                                      (RFC 5761 §5.1.1)
//! ```

use std::fmt;
use std::net::IpAddr;

use crate::{Connection, Media, SdpError};

/// A typed `a=rtpmap` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtpmap {
    /// RTP payload type (0..=127).
    pub payload_type: u8,
    /// Encoding name (`PCMU`, `telephone-event`, ...).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters (channels for audio).
    pub params: Option<String>,
}

impl Rtpmap {
    /// Parses the value after `a=rtpmap:`.
    ///
    /// # Errors
    /// [`SdpError::BadField`] when it does not follow the grammar above.
    pub fn parse(value: &str) -> Result<Rtpmap, SdpError> {
        let bad = |reason| SdpError::field("a=rtpmap", value, reason);
        let (pt, rest) = value.split_once(' ').ok_or_else(|| bad("no encoding"))?;
        let payload_type: u8 = parse_pt(pt).ok_or_else(|| bad("payload type is not 0..=127"))?;
        let mut parts = rest.trim_end().splitn(3, '/');
        let encoding = parts.next().filter(|e| !e.is_empty() && !e.contains(' '));
        let encoding = encoding.ok_or_else(|| bad("no encoding name"))?;
        let clock_rate = parts
            .next()
            .and_then(|r| (r.bytes().all(|b| b.is_ascii_digit())).then(|| r.parse().ok()).flatten())
            .ok_or_else(|| bad("clock rate is not a number"))?;
        let params = parts.next().map(str::to_owned);
        Ok(Rtpmap { payload_type, encoding: encoding.to_owned(), clock_rate, params })
    }

    /// The static payload type's mapping from RFC 3551 Table 4 (audio), if it is one
    /// the relay needs to match by name (PCMU, GSM, G723, PCMA, G722, G729, ...).
    pub fn static_audio(payload_type: u8) -> Option<Rtpmap> {
        let (enc, rate) = match payload_type {
            0 => ("PCMU", 8000),
            3 => ("GSM", 8000),
            4 => ("G723", 8000),
            5 => ("DVI4", 8000),
            6 => ("DVI4", 16000),
            7 => ("LPC", 8000),
            8 => ("PCMA", 8000),
            9 => ("G722", 8000),
            10 | 11 => ("L16", 44100),
            12 => ("QCELP", 8000),
            13 => ("CN", 8000),
            14 => ("MPA", 90000),
            15 => ("G728", 8000),
            16 => ("DVI4", 11025),
            17 => ("DVI4", 22050),
            18 => ("G729", 8000),
            _ => return None,
        };
        let params = (payload_type == 10).then(|| "2".to_owned());
        Some(Rtpmap { payload_type, encoding: enc.into(), clock_rate: rate, params })
    }

    /// Same codec: encoding name (case-insensitive), clock rate and parameters (absent
    /// channel count means 1).
    pub fn same_codec(&self, other: &Rtpmap) -> bool {
        let p = |r: &Rtpmap| r.params.clone().unwrap_or_else(|| "1".into());
        self.encoding.eq_ignore_ascii_case(&other.encoding)
            && self.clock_rate == other.clock_rate
            && p(self) == p(other)
    }

    /// RFC 4733 telephone events (DTMF).
    pub fn is_telephone_event(&self) -> bool {
        self.encoding.eq_ignore_ascii_case("telephone-event")
    }
}

impl fmt::Display for Rtpmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.payload_type, self.encoding, self.clock_rate)?;
        if let Some(p) = &self.params {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

fn parse_pt(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|pt| *pt <= 127)
}

/// A typed `a=fmtp` value: the format and its parameters as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (payload type for RTP).
    pub format: String,
    /// Format-specific parameters, as written.
    pub params: String,
}

impl Fmtp {
    /// Parses the value after `a=fmtp:`.
    ///
    /// # Errors
    /// [`SdpError::BadField`] when there is no format.
    pub fn parse(value: &str) -> Result<Fmtp, SdpError> {
        let (format, params) = value.split_once(' ').unwrap_or((value, ""));
        if format.is_empty() {
            return Err(SdpError::field("a=fmtp", value, "no format"));
        }
        Ok(Fmtp { format: format.into(), params: params.into() })
    }
}

/// Media direction (RFC 8866 §6.7, RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Send and receive (the default).
    #[default]
    SendRecv,
    /// Send only (the sender puts the other on hold).
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction attribute named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Direction> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// The direction an answerer mirrors to this offer (RFC 3264 §6.1).
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Anything but `sendrecv`: a hold in some direction.
    pub fn is_hold(self) -> bool {
        self != Direction::SendRecv
    }
}

/// A typed `a=rtcp` value (RFC 3605).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtcp {
    /// RTCP port.
    pub port: u16,
    /// Its address, when it differs from the `c=` line's.
    pub connection: Option<Connection>,
}

impl Rtcp {
    /// Parses the value after `a=rtcp:`.
    ///
    /// # Errors
    /// [`SdpError::BadField`] when it does not follow the grammar above.
    pub fn parse(value: &str) -> Result<Rtcp, SdpError> {
        let (port, addr) = match value.split_once(' ') {
            Some((p, a)) => (p, Some(a)),
            None => (value, None),
        };
        let ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        let port = ok
            .then(|| port.parse::<u16>().ok())
            .flatten()
            .ok_or_else(|| SdpError::field("a=rtcp", value, "port is not 0..=65535"))?;
        let connection = addr.map(Connection::parse).transpose()?;
        Ok(Rtcp { port, connection })
    }

    /// The address, when given as a literal IP.
    pub fn ip(&self) -> Option<IpAddr> {
        self.connection.as_ref().and_then(Connection::ip)
    }
}

impl fmt::Display for Rtcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(c) = &self.connection {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

impl Media {
    /// The `rtpmap` of every format that has one (malformed ones are skipped), plus the
    /// RFC 3551 static audio mapping for static formats without an `rtpmap`.
    pub fn rtpmaps(&self) -> Vec<Rtpmap> {
        let explicit: Vec<Rtpmap> = self
            .attributes("rtpmap")
            .filter_map(|l| l.attribute().and_then(|(_, v)| Rtpmap::parse(v?).ok()))
            .collect();
        let mut out = Vec::new();
        for f in &self.line.formats {
            let Some(pt) = parse_pt(f) else { continue };
            if let Some(r) = explicit.iter().find(|r| r.payload_type == pt) {
                out.push(r.clone());
            } else if let Some(r) = Rtpmap::static_audio(pt) {
                out.push(r);
            }
        }
        out
    }

    /// The `rtpmap` for format `format`.
    pub fn rtpmap(&self, format: &str) -> Option<Rtpmap> {
        let pt = parse_pt(format)?;
        self.rtpmaps().into_iter().find(|r| r.payload_type == pt)
    }

    /// The `fmtp` of format `format`.
    pub fn fmtp(&self, format: &str) -> Option<Fmtp> {
        self.attributes("fmtp")
            .filter_map(|l| l.attribute().and_then(|(_, v)| Fmtp::parse(v?).ok()))
            .find(|f| f.format == format)
    }

    /// The direction attribute of this section, if any.
    pub fn own_direction(&self) -> Option<Direction> {
        self.lines
            .iter()
            .filter_map(|l| l.attribute())
            .find_map(|(n, v)| if v.is_none() { Direction::from_name(n) } else { None })
    }

    /// Replaces the direction attribute with `dir` (always written explicitly).
    pub fn set_direction(&mut self, dir: Direction) {
        self.lines.retain(|l| {
            !l.attribute().is_some_and(|(n, v)| v.is_none() && Direction::from_name(n).is_some())
        });
        self.push_attribute(dir.as_str());
    }

    /// The `a=rtcp` attribute, if present and well-formed.
    pub fn rtcp(&self) -> Option<Rtcp> {
        self.attribute("rtcp").and_then(|v| Rtcp::parse(v).ok())
    }

    /// Replaces (or with `None` removes) the `a=rtcp` attribute.
    pub fn set_rtcp(&mut self, rtcp: Option<&Rtcp>) {
        self.remove_attribute("rtcp");
        if let Some(r) = rtcp {
            self.push_attribute(format!("rtcp:{r}"));
        }
    }

    /// `a=rtcp-mux` is present (RFC 5761).
    pub fn rtcp_mux(&self) -> bool {
        self.has_attribute("rtcp-mux")
    }

    /// Adds or removes `a=rtcp-mux`.
    pub fn set_rtcp_mux(&mut self, on: bool) {
        self.remove_attribute("rtcp-mux");
        if on {
            self.push_attribute("rtcp-mux");
        }
    }

    /// `a=ptime` in milliseconds (fractional values are rounded down), if present.
    pub fn ptime(&self) -> Option<u32> {
        let v = self.attribute("ptime")?;
        let int = v.split('.').next()?;
        int.parse().ok()
    }

    /// The section's own `c=` line, if any (well-formed: checked at parse time).
    pub fn connection(&self) -> Option<Connection> {
        self.lines.iter().find(|l| l.kind == b'c').and_then(|l| Connection::parse(&l.value).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sdp;

    fn media(lines: &str) -> Media {
        let body = format!("v=0\r\nm=audio 4000 RTP/AVP 0 8 101\r\n{lines}");
        Sdp::parse(body.as_bytes()).unwrap().media.remove(0)
    }

    #[test]
    fn rfc8866_section_6_6_rtpmap() {
        let r = Rtpmap::parse("98 L16/16000/2").unwrap();
        assert_eq!((r.payload_type, r.encoding.as_str(), r.clock_rate), (98, "L16", 16000));
        assert_eq!(r.params.as_deref(), Some("2"));
        assert_eq!(r.to_string(), "98 L16/16000/2");
        assert_eq!(
            Rtpmap::parse("101 telephone-event/8000").unwrap().to_string(),
            "101 telephone-event/8000"
        );
        for bad in ["", "98", "128 X/8000", "98 /8000", "98 X", "98 X/abc", "x X/8000"] {
            assert!(Rtpmap::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            Rtpmap::parse("0 pcmu/8000").unwrap().same_codec(&Rtpmap::static_audio(0).unwrap())
        );
        assert!(
            !Rtpmap::parse("9 G722/8000/2").unwrap().same_codec(&Rtpmap::static_audio(9).unwrap())
        );
    }

    #[test]
    fn rtpmaps_fill_in_static_payload_types() {
        let m = media("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n");
        let names: Vec<_> = m.rtpmaps().into_iter().map(|r| r.encoding).collect();
        assert_eq!(names, ["PCMU", "PCMA", "telephone-event"]);
        assert!(m.rtpmap("101").unwrap().is_telephone_event());
        assert_eq!(m.fmtp("101").unwrap().params, "0-16");
        assert_eq!(m.ptime(), Some(20));
        assert_eq!(media("a=ptime:22.5\r\n").ptime(), Some(22));
    }

    #[test]
    fn rfc3264_section_5_1_direction() {
        let mut m = media("a=sendonly\r\n");
        assert_eq!(m.own_direction(), Some(Direction::SendOnly));
        assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
        m.set_direction(Direction::Inactive);
        assert_eq!(m.own_direction(), Some(Direction::Inactive));
        assert_eq!(m.attributes("sendonly").count(), 0);
        assert_eq!(media("").own_direction(), None);
    }

    #[test]
    fn rfc3605_rtcp_attribute() {
        let r = Rtcp::parse("53020 IN IP4 126.16.64.4").unwrap();
        assert_eq!((r.port, r.ip()), (53020, Some("126.16.64.4".parse().unwrap())));
        assert_eq!(r.to_string(), "53020 IN IP4 126.16.64.4");
        assert_eq!(Rtcp::parse("53020").unwrap().to_string(), "53020");
        assert!(Rtcp::parse("x").is_err() && Rtcp::parse("70000").is_err());
        let mut m = media("a=rtcp:4001\r\n");
        assert_eq!(m.rtcp().unwrap().port, 4001);
        m.set_rtcp(Some(&Rtcp { port: 5001, connection: None }));
        assert_eq!(m.attribute("rtcp"), Some("5001"));
        m.set_rtcp(None);
        assert!(m.rtcp().is_none());
    }

    #[test]
    fn rfc5761_rtcp_mux() {
        let mut m = media("a=rtcp-mux\r\n");
        assert!(m.rtcp_mux());
        m.set_rtcp_mux(false);
        assert!(!m.rtcp_mux());
        m.set_rtcp_mux(true);
        m.set_rtcp_mux(true);
        assert_eq!(m.attributes("rtcp-mux").count(), 1);
    }
}
