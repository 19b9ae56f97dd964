//! The rate table: estimated cost per minute by destination prefix (longest prefix wins),
//! loaded from the operator's configuration.
//!
//! ```text
//! line   = prefix "," cents-per-minute [ "," description ]   ; '#' starts a comment
//! prefix = "*" / ["+"] 1*15DIGIT
//! cents-per-minute = 1*DIGIT [ "." 1*3DIGIT ]
//! ```

use ringfence_policy::{E164, PrefixMap};

use crate::Error;

/// The sample table shipped with the crate (`data/sample_rates.csv`; illustrative rates).
pub const SAMPLE_RATE_TABLE: &str = include_str!("../data/sample_rates.csv");

/// Rate for destinations no line matches when the table has no `*` line: 100 cents a minute,
/// so unknown destinations reach spend caps quickly.
pub const DEFAULT_UNKNOWN_RATE_MILLICENTS: u32 = 100_000;

/// Most lines a table may have.
pub const MAX_RATE_ENTRIES: usize = 200_000;

/// Per-minute rates in millicents (1/1000 cent) by destination prefix.
#[derive(Clone, Debug)]
pub struct RateTable {
    map: PrefixMap<u32>,
    unknown: u32,
}

impl Default for RateTable {
    /// An empty table: every destination costs [`DEFAULT_UNKNOWN_RATE_MILLICENTS`].
    fn default() -> Self {
        Self { map: PrefixMap::new(), unknown: DEFAULT_UNKNOWN_RATE_MILLICENTS }
    }
}

impl RateTable {
    /// The sample table shipped with the crate.
    pub fn sample() -> Self {
        let parsed = Self::parse(SAMPLE_RATE_TABLE);
        debug_assert!(parsed.is_ok(), "sample rate table: {parsed:?}");
        parsed.unwrap_or_default()
    }

    /// Parses the CSV format above. Duplicate prefixes are an error.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut table = Self::default();
        let mut seen_unknown = false;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |reason: String| Error::RateTable { line: i + 1, reason };
            let mut fields = line.splitn(3, ',').map(str::trim);
            let prefix = fields.next().unwrap_or("");
            let rate = fields.next().ok_or_else(|| err("missing rate".into()))?;
            let rate = parse_cents(rate).ok_or_else(|| {
                err(format!(
                    "rate {rate:?} is not a decimal number of cents with at most 3 decimals"
                ))
            })?;
            if prefix == "*" {
                if seen_unknown {
                    return Err(err("second \"*\" line".into()));
                }
                seen_unknown = true;
                table.unknown = rate;
                continue;
            }
            if table.map.len() >= MAX_RATE_ENTRIES {
                return Err(err(format!("more than {MAX_RATE_ENTRIES} lines")));
            }
            let digits = prefix.strip_prefix('+').unwrap_or(prefix);
            if table.map.longest_match(digits).is_some_and(|(l, _)| l == digits.len()) {
                return Err(err(format!("duplicate prefix {prefix}")));
            }
            table
                .map
                .insert(prefix, rate)
                .map_err(|_| err(format!("prefix {prefix:?} is not + and 1 to 15 digits")))?;
        }
        Ok(table)
    }

    /// Rate for a number, millicents per minute.
    pub fn rate_millicents_per_minute(&self, number: &E164) -> u32 {
        self.map.longest_match(number.digits()).map_or(self.unknown, |(_, &r)| r)
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether only the unknown-destination rate is set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// `"1.25"` cents -> 1250 millicents.
fn parse_cents(s: &str) -> Option<u32> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 7 || frac.len() > 3 || (s.contains('.') && frac.is_empty())
    {
        return None;
    }
    if !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let mut frac_v: u32 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    for _ in frac.len()..3 {
        frac_v *= 10;
    }
    whole.checked_mul(1000)?.checked_add(frac_v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> E164 {
        E164::parse(s).unwrap()
    }

    #[test]
    fn sample_parses_and_longest_prefix_wins() {
        let t = RateTable::parse(SAMPLE_RATE_TABLE).unwrap();
        assert!(t.len() > 20);
        assert_eq!(t.rate_millicents_per_minute(&n("+442079460958")), 1_200);
        assert_eq!(t.rate_millicents_per_minute(&n("+447400123456")), 4_500);
        assert_eq!(t.rate_millicents_per_minute(&n("+449098790000")), 150_000);
        assert_eq!(t.rate_millicents_per_minute(&n("+882160000000")), 450_000);
        assert_eq!(t.rate_millicents_per_minute(&n("+8613800000000")), 100_000);
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_cents("1"), Some(1000));
        assert_eq!(parse_cents("0.125"), Some(125));
        assert_eq!(parse_cents("2.5"), Some(2500));
        for bad in ["", ".5", "1.", "1.2345", "-1", "1e3", "abc", "99999999"] {
            assert_eq!(parse_cents(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line, needle) in [
            ("+44,1\n+44x,2", 2, "not + and 1 to 15 digits"),
            ("+44", 1, "missing rate"),
            ("+44,abc", 1, "not a decimal"),
            ("+44,1\n44,2", 2, "duplicate prefix"),
            ("*,1\n*,2", 2, "second"),
        ] {
            match RateTable::parse(text) {
                Err(Error::RateTable { line: l, reason }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(reason.contains(needle), "{reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_rate() {
        let t = RateTable::parse("*,7\n+44,1").unwrap();
        assert_eq!(t.rate_millicents_per_minute(&n("+33123456789")), 7000);
        assert_eq!(RateTable::default().rate_millicents_per_minute(&n("+33123456789")), 100_000);
    }
}
