//! The table of high-risk destination prefixes (international revenue share fraud targets,
//! satellite and shared country codes).

use serde::{Deserialize, Serialize};

use crate::prefix::{PrefixMap, prefix_digits};
use crate::{E164, Error};

/// The default table shipped with the crate (`data/high_risk_prefixes.txt`; its header says
/// where such lists come from and that operators should tune them).
pub const DEFAULT_HIGH_RISK_TABLE: &str = include_str!("../data/high_risk_prefixes.txt");

/// Most entries a table may hold.
pub const MAX_HIGH_RISK_ENTRIES: usize = 10_000;

/// Why a prefix is on the high-risk table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RiskCategory {
    /// Satellite networks (+870, +881): expensive, hard to trace.
    Satellite,
    /// Shared "international networks" codes (+882, +883): many revenue-share ranges.
    InternationalNetwork,
    /// International premium-rate or shared-cost services (+979, +808).
    PremiumService,
    /// A destination commonly used to terminate revenue-share fraud.
    IrsfDestination,
}

impl RiskCategory {
    /// The name used in the table file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Satellite => "satellite",
            Self::InternationalNetwork => "international_network",
            Self::PremiumService => "premium_service",
            Self::IrsfDestination => "irsf_destination",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Satellite, Self::InternationalNetwork, Self::PremiumService, Self::IrsfDestination]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// One table entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskEntry {
    /// The prefix in `+` form.
    pub prefix: String,
    /// Why it is listed.
    pub category: RiskCategory,
    /// Free text for administrators.
    pub description: String,
}

/// Which table entry a number matched: copyable, so it travels inside
/// [`crate::ClassifiedNumber`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RiskMatch {
    /// Digits of the matching prefix (the number's first `prefix_len` digits).
    pub prefix_len: u8,
    /// Why it is listed.
    pub category: RiskCategory,
}

/// A set of high-risk prefixes with longest-prefix lookup.
#[derive(Clone, Debug, Default)]
pub struct HighRiskTable {
    map: PrefixMap<usize>,
    entries: Vec<RiskEntry>,
}

impl HighRiskTable {
    /// An empty table (nothing is high-risk).
    pub fn empty() -> Self {
        Self::default()
    }

    /// The table shipped with the crate.
    pub fn builtin() -> Self {
        // The shipped file is checked by a unit test; an error here would be a build defect,
        // and an empty table is the only alternative, so fall back to it loudly in debug.
        let parsed = Self::parse(DEFAULT_HIGH_RISK_TABLE);
        debug_assert!(parsed.is_ok(), "built-in high-risk table: {parsed:?}");
        parsed.unwrap_or_default()
    }

    /// Parses the text format: one `<prefix> <category> <description...>` per line, `#`
    /// comments, blank lines ignored. Duplicate prefixes are an error.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut table = Self::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |reason: String| Error::RiskTable { line: i + 1, reason };
            let mut words = line.split_whitespace();
            let prefix = words.next().unwrap_or("");
            let category = words.next().ok_or_else(|| err("missing category".into()))?;
            let category = RiskCategory::parse(category).ok_or_else(|| {
                err(format!(
                    "unknown category {category:?} (satellite, international_network, \
                     premium_service, irsf_destination)"
                ))
            })?;
            let description = words.collect::<Vec<_>>().join(" ");
            table
                .insert_inner(RiskEntry { prefix: prefix.to_owned(), category, description })
                .map_err(err)?;
        }
        Ok(table)
    }

    /// Adds an entry; the prefix is normalised to `+` form. Errors report the entry's position
    /// as the line.
    pub fn insert(&mut self, entry: RiskEntry) -> Result<(), Error> {
        let line = self.entries.len() + 1;
        self.insert_inner(entry).map_err(|reason| Error::RiskTable { line, reason })
    }

    fn insert_inner(&mut self, mut entry: RiskEntry) -> Result<(), String> {
        let digits = prefix_digits(&entry.prefix)
            .map_err(|_| format!("{:?} is not + and 1 to 15 digits", entry.prefix))?
            .to_owned();
        if self.entries.len() >= MAX_HIGH_RISK_ENTRIES {
            return Err(format!("more than {MAX_HIGH_RISK_ENTRIES} entries"));
        }
        entry.prefix = format!("+{digits}");
        if self.map.longest_match(&digits).is_some_and(|(len, _)| len == digits.len()) {
            return Err(format!("duplicate prefix {}", entry.prefix));
        }
        self.map.insert(&digits, self.entries.len()).map_err(|e| e.to_string())?;
        self.entries.push(entry);
        Ok(())
    }

    /// The longest listed prefix of `number`, if any.
    pub fn lookup(&self, number: &E164) -> Option<RiskMatch> {
        self.map.longest_match(number.digits()).map(|(len, &idx)| RiskMatch {
            prefix_len: len as u8,
            category: self.entries[idx].category,
        })
    }

    /// The entry for a prefix as matched by [`lookup`](Self::lookup).
    pub fn entry_for(&self, number: &E164) -> Option<&RiskEntry> {
        self.map.longest_match(number.digits()).map(|(_, &idx)| &self.entries[idx])
    }

    /// All entries, in table order.
    pub fn entries(&self) -> &[RiskEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_matches() {
        let t = HighRiskTable::parse(DEFAULT_HIGH_RISK_TABLE).unwrap();
        assert!(t.entries().len() >= 30);
        let m = t.lookup(&E164::parse("+88216000000").unwrap()).unwrap();
        assert_eq!((m.prefix_len, m.category), (3, RiskCategory::InternationalNetwork));
        let m = t.lookup(&E164::parse("+8816123456789").unwrap()).unwrap();
        assert_eq!(m.category, RiskCategory::Satellite);
        assert_eq!(t.lookup(&E164::parse("+442079460958").unwrap()), None);
        assert_eq!(t.lookup(&E164::parse("+5355512345").unwrap()).unwrap().prefix_len, 2);
        let e = t.entry_for(&E164::parse("+6834001").unwrap()).unwrap();
        assert_eq!(e.description, "Niue");
    }

    #[test]
    fn parse_errors_name_the_line() {
        for (text, line, needle) in [
            ("+882 satellite x\n+12a satellite", 2, "not + and 1 to 15 digits"),
            ("\n\n+882", 3, "missing category"),
            ("+882 bogus", 1, "unknown category"),
            ("+882 satellite\n882 satellite", 2, "duplicate prefix +882"),
        ] {
            match HighRiskTable::parse(text) {
                Err(Error::RiskTable { line: l, reason }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(reason.contains(needle), "{reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn comments_and_blank_lines_are_ignored() {
        let t = HighRiskTable::parse("# c\n\n  +979 premium_service  IPRS # trailing\n").unwrap();
        assert_eq!(t.entries()[0].description, "IPRS");
        assert_eq!(t.entries()[0].prefix, "+979");
    }
}
