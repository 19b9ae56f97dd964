//! The Date header (RFC 3261 §20.17), which must use GMT.
//!
//! ```text
//! Date          =  "Date" HCOLON SIP-date
//! SIP-date      =  rfc1123-date
//! rfc1123-date  =  wkday "," SP date1 SP time SP "GMT"
//! date1         =  2DIGIT SP month SP 4DIGIT
//! time          =  2DIGIT ":" 2DIGIT ":" 2DIGIT
//! wkday         =  "Mon" / "Tue" / "Wed" / "Thu" / "Fri" / "Sat" / "Sun"
//! month         =  "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun"
//!                  / "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::text;

const WKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A Date header value (always GMT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SipDate {
    /// 0 = Monday .. 6 = Sunday, as written (not checked against the date).
    pub weekday: u8,
    /// Day of month, 1-31.
    pub day: u8,
    /// Month, 1-12.
    pub month: u8,
    /// Year.
    pub year: u16,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-60 (leap second).
    pub second: u8,
}

impl SipDate {
    /// Parses a Date header value.
    pub fn parse(value: &str) -> Result<SipDate, ParseError> {
        SipDate::parse_inner(text::trim_lws(value)).map_err(|r| ParseError::header("Date", r))
    }

    fn parse_inner(v: &str) -> Result<SipDate, &'static str> {
        const ERR: &str = "not an RFC 1123 date";
        let b = v.as_bytes();
        if b.len() != 29
            || &b[3..5] != b", "
            || b[7] != b' '
            || b[11] != b' '
            || b[16] != b' '
            || b[19] != b':'
            || b[22] != b':'
            || b[25] != b' '
        {
            return Err(if b.len() > 25 && !v.ends_with("GMT") {
                "time zone must be GMT"
            } else {
                ERR
            });
        }
        if &v[26..] != "GMT" {
            return Err("time zone must be GMT");
        }
        let weekday = WKDAYS.iter().position(|d| *d == &v[0..3]).ok_or(ERR)? as u8;
        let month = MONTHS.iter().position(|m| *m == &v[8..11]).ok_or(ERR)? as u8 + 1;
        let num = |s: &str| -> Result<u16, &'static str> {
            if s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().map_err(|_| ERR)
            } else {
                Err(ERR)
            }
        };
        let day = num(&v[5..7])? as u8;
        let year = num(&v[12..16])?;
        let hour = num(&v[17..19])? as u8;
        let minute = num(&v[20..22])? as u8;
        let second = num(&v[23..25])? as u8;
        if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
            return Err("date field out of range");
        }
        Ok(SipDate { weekday, day, month, year, hour, minute, second })
    }
}

impl FromStr for SipDate {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SipDate::parse(s)
    }
}

impl fmt::Display for SipDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            WKDAYS[usize::from(self.weekday % 7)],
            self.day,
            MONTHS[usize::from((self.month.clamp(1, 12)) - 1)],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let d = SipDate::parse("Sat, 15 Oct 2005 04:44:56 GMT").unwrap();
        assert_eq!((d.day, d.month, d.year, d.hour), (15, 10, 2005, 4));
        assert_eq!(d.to_string(), "Sat, 15 Oct 2005 04:44:56 GMT");
        assert_eq!(
            SipDate::parse("Fri, 01 Jan 2010 16:00:00 EST"),
            Err(ParseError::header("Date", "time zone must be GMT"))
        );
        assert!(SipDate::parse("Fri, 32 Jan 2010 16:00:00 GMT").is_err());
        assert!(SipDate::parse("yesterday").is_err());
    }
}
