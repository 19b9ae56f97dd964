//! The numbering plans of the world, compiled once from the `phonenumber` crate's metadata
//! (Google libphonenumber's `PhoneNumberMetadata.xml`).
//!
//! `phonenumber` keeps its patterns in a process-wide LRU cache of 100 compiled regexes behind
//! one mutex; a platform serving many countries would recompile regexes on the call path and
//! serialise every lookup. Here each region's patterns are compiled once, on first use, into
//! regexes owned by a process-wide [`NumberPlan`]; later lookups take no lock.
//!
//! The matching rules follow libphonenumber (`PhoneNumberUtil.getNumberTypeHelper`,
//! `getRegionCodeForNumberFromRegionList`, `maybeStripNationalPrefixAndCarrierCode`).

use std::borrow::Cow;
use std::sync::OnceLock;

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};

use crate::{Country, NumberType};

const NO_REGION: u16 = u16::MAX;

/// One number-type pattern: possible national lengths and a whole-string regex.
#[derive(Debug)]
pub(crate) struct Desc {
    re: Regex,
    /// Bit `n` set: length `n` is possible; 0 means "not restricted by length".
    lengths: u32,
}

impl Desc {
    fn compile(d: &Descriptor) -> Option<Self> {
        let re = anchored(d.national_number().as_str(), true)?;
        Some(Self { re, lengths: mask(d.possible_length()) })
    }

    pub(crate) fn matches(&self, nsn: &str) -> bool {
        let len_ok = self.lengths == 0 || (nsn.len() < 32 && self.lengths & (1 << nsn.len()) != 0);
        len_ok && self.re.is_match(nsn)
    }
}

fn mask(lengths: &[u16]) -> u32 {
    lengths.iter().filter(|&&l| l < 32).fold(0, |m, &l| m | 1 << l)
}

/// Compiles a metadata pattern anchored at the start, and also at the end if `whole`.
fn anchored(pattern: &str, whole: bool) -> Option<Regex> {
    let src = if whole { format!("^(?:{pattern})$") } else { format!("^(?:{pattern})") };
    RegexBuilder::new(&src).ignore_whitespace(true).build().ok()
}

/// A region's compiled numbering plan.
#[derive(Debug)]
pub(crate) struct Region {
    pub(crate) country: Option<Country>,
    pub(crate) code: u16,
    /// International call prefix (`00`, `011`, ...), anchored at the start.
    pub(crate) idd: Option<Regex>,
    national_prefix: Option<String>,
    /// National prefix for parsing, anchored at the start.
    npp: Option<Regex>,
    npp_transform: Option<String>,
    leading: Option<Regex>,
    /// `None` only if the pattern failed to compile: then no number is in the plan.
    general: Option<Desc>,
    /// Union of the possible national lengths of all number types.
    possible: u32,
    /// Lengths only diallable locally (without area code).
    local_only: u32,
    /// Checked in this order; the first match decides.
    ordered: Vec<(NumberType, Desc)>,
    fixed: Option<Desc>,
    mobile: Option<Desc>,
    same_fixed_mobile: bool,
    /// Whether every pattern compiled.
    pub(crate) complete: bool,
}

impl Region {
    fn compile(meta: &Metadata, country: Option<Country>) -> Self {
        let d = meta.descriptors();
        let mut complete = true;
        let mut desc = |x: Option<&Descriptor>| {
            let c = x.and_then(Desc::compile);
            complete &= x.is_none() || c.is_some();
            c
        };
        let ordered: Vec<(NumberType, Desc)> = [
            (NumberType::PremiumRate, d.premium_rate()),
            (NumberType::TollFree, d.toll_free()),
            (NumberType::SharedCost, d.shared_cost()),
            (NumberType::Voip, d.voip()),
            (NumberType::PersonalNumber, d.personal_number()),
            (NumberType::Pager, d.pager()),
            (NumberType::Uan, d.uan()),
            (NumberType::Voicemail, d.voicemail()),
        ]
        .into_iter()
        .filter_map(|(t, x)| desc(x).map(|c| (t, c)))
        .collect();
        let fixed = desc(d.fixed_line());
        let mobile = desc(d.mobile());
        let general = desc(Some(d.general()));
        let same_fixed_mobile = match (d.fixed_line(), d.mobile()) {
            (Some(f), Some(m)) => f.national_number().as_str() == m.national_number().as_str(),
            _ => false,
        };
        let typed = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        let possible = typed
            .iter()
            .flatten()
            .fold(mask(d.general().possible_length()), |m, x| m | mask(x.possible_length()));
        let local_only =
            typed.iter().flatten().fold(0, |m, x| m | mask(x.possible_local_length())) & !possible;
        let general = general.map(|mut g| {
            if g.lengths == 0 {
                g.lengths = possible;
            }
            g
        });
        let mut regex = |p: Option<&str>| {
            let c = p.and_then(|p| anchored(p, false));
            complete &= p.is_none() || c.is_some();
            c
        };
        let idd = regex(meta.international_prefix().map(|r| r.as_str()));
        let npp = regex(meta.national_prefix_for_parsing().map(|r| r.as_str()));
        let leading = regex(meta.leading_digits().map(|r| r.as_str()));
        Self {
            country,
            code: meta.country_code(),
            idd,
            national_prefix: meta.national_prefix().map(str::to_owned),
            npp,
            npp_transform: meta.national_prefix_transform_rule().map(str::to_owned),
            leading,
            general,
            possible,
            local_only,
            ordered,
            fixed,
            mobile,
            same_fixed_mobile,
            complete,
        }
    }

    /// The number type of a national significant number, or `Unknown` when the number is not
    /// in this region's plan.
    pub(crate) fn number_type(&self, nsn: &str) -> NumberType {
        if !self.general_matches(nsn) {
            return NumberType::Unknown;
        }
        for (t, d) in &self.ordered {
            if d.matches(nsn) {
                return *t;
            }
        }
        let is_mobile = || self.mobile.as_ref().is_some_and(|m| m.matches(nsn));
        if self.fixed.as_ref().is_some_and(|f| f.matches(nsn)) {
            if self.same_fixed_mobile || is_mobile() {
                return NumberType::FixedLineOrMobile;
            }
            return NumberType::FixedLine;
        }
        if !self.same_fixed_mobile && is_mobile() {
            return NumberType::Mobile;
        }
        NumberType::Unknown
    }

    /// The national (trunk) prefix as dialled (`0`, US `1`), if the country has one.
    pub(crate) fn national_prefix(&self) -> Option<&str> {
        self.national_prefix.as_deref()
    }

    fn general_matches(&self, nsn: &str) -> bool {
        self.general.as_ref().is_some_and(|g| g.matches(nsn))
    }

    /// Fewest digits a national significant number of this region can have.
    pub(crate) fn min_length(&self) -> usize {
        if self.possible == 0 { 2 } else { self.possible.trailing_zeros() as usize }
    }

    fn length_possible(&self, nsn: &str) -> bool {
        let bit = if nsn.len() < 32 { 1u32 << nsn.len() } else { 0 };
        self.possible == 0 || (bit & self.possible != 0 && bit & self.local_only == 0)
    }

    /// Removes the national (trunk) prefix from a nationally dialled number, applying the
    /// region's transform rule where it has one; leaves the digits alone when removing the
    /// prefix would not leave a possible number.
    pub(crate) fn national_significant<'a>(&self, digits: &'a str) -> Cow<'a, str> {
        let candidate: Cow<'a, str> = match &self.npp {
            None => match &self.national_prefix {
                Some(p) if !p.is_empty() && digits.starts_with(p.as_str()) => {
                    Cow::Borrowed(&digits[p.len()..])
                }
                _ => return Cow::Borrowed(digits),
            },
            Some(npp) => {
                let Some(caps) = npp.captures(digits) else {
                    return Cow::Borrowed(digits);
                };
                let end = caps.get(0).map_or(0, |m| m.end());
                let last_group = caps.len() - 1;
                match &self.npp_transform {
                    Some(rule) if last_group > 0 && caps.get(last_group).is_some() => {
                        let mut s = String::with_capacity(digits.len() + 2);
                        caps.expand(rule, &mut s);
                        s.push_str(&digits[end..]);
                        Cow::Owned(s)
                    }
                    _ => Cow::Borrowed(&digits[end..]),
                }
            }
        };
        if candidate.len() == digits.len() && candidate == digits {
            return Cow::Borrowed(digits);
        }
        let viable = self.general_matches(digits);
        if (viable && !self.general_matches(&candidate)) || !self.length_possible(&candidate) {
            return Cow::Borrowed(digits);
        }
        candidate
    }
}

#[derive(Debug)]
struct Slot {
    meta: &'static Metadata,
    country: Option<Country>,
    compiled: OnceLock<Region>,
}

/// All regions, indexed by country and by calling code.
#[derive(Debug)]
pub(crate) struct NumberPlan {
    slots: Vec<Slot>,
    /// Regions per calling code 0..1000, main country first.
    by_code: Vec<Vec<u16>>,
    /// Region per [`Country::index`].
    by_country: Vec<u16>,
}

static PLAN: OnceLock<NumberPlan> = OnceLock::new();

impl NumberPlan {
    /// The process-wide plan. The first call loads `phonenumber`'s metadata (a few ms); regions
    /// compile on first use or in [`NumberPlan::compile`].
    pub(crate) fn global() -> &'static NumberPlan {
        PLAN.get_or_init(Self::load)
    }

    fn load() -> Self {
        let db = &*DATABASE;
        let mut slots = Vec::new();
        let mut by_code = vec![Vec::new(); 1000];
        let mut by_country = vec![NO_REGION; 26 * 26];
        for code in 1u16..1000 {
            for meta in db.by_code(&code).unwrap_or_default() {
                let country = Country::parse(meta.id()).ok();
                let idx = slots.len() as u16;
                if let Some(c) = country {
                    by_country[c.index()] = idx;
                }
                by_code[usize::from(code)].push(idx);
                slots.push(Slot { meta, country, compiled: OnceLock::new() });
            }
        }
        Self { slots, by_code, by_country }
    }

    fn region(&self, idx: u16) -> &Region {
        let slot = &self.slots[usize::from(idx)];
        slot.compiled.get_or_init(|| Region::compile(slot.meta, slot.country))
    }

    /// The region of a country, if it has a numbering plan.
    pub(crate) fn by_country(&self, c: Country) -> Option<&Region> {
        match self.by_country[c.index()] {
            NO_REGION => None,
            idx => Some(self.region(idx)),
        }
    }

    /// Whether `code` is an assigned country calling code.
    pub(crate) fn is_calling_code(&self, code: u16) -> bool {
        self.by_code.get(usize::from(code)).is_some_and(|v| !v.is_empty())
    }

    /// The main region of a calling code (the first listed; `US` for +1, `GB` for +44).
    pub(crate) fn main_region(&self, code: u16) -> Option<&Region> {
        let first = *self.by_code.get(usize::from(code))?.first()?;
        Some(self.region(first))
    }

    /// Splits international digits (after `+`) into calling code and national number.
    pub(crate) fn split_calling_code<'a>(&self, digits: &'a str) -> Option<(u16, &'a str)> {
        if digits.starts_with('0') {
            return None;
        }
        (1..=3.min(digits.len())).find_map(|n| {
            let code: u16 = digits[..n].parse().ok()?;
            self.is_calling_code(code).then(|| (code, &digits[n..]))
        })
    }

    /// The region a number belongs to: for shared calling codes (`+1`, `+7`, `+44`, ...) the
    /// first region whose leading digits or number patterns match.
    pub(crate) fn region_for(&self, code: u16, nsn: &str) -> Option<&Region> {
        let ids = self.by_code.get(usize::from(code))?;
        match ids.as_slice() {
            [] => None,
            [only] => Some(self.region(*only)),
            many => many.iter().map(|&i| self.region(i)).find(|r| match &r.leading {
                Some(ld) => ld.is_match(nsn),
                None => r.number_type(nsn) != NumberType::Unknown,
            }),
        }
    }

    /// Compiles the given regions now (all of them for `None`), so that the first call to a
    /// country does not pay for it. Returns how many regions had a pattern that failed to
    /// compile (0 with the shipped metadata).
    pub(crate) fn compile(&self, countries: Option<&[Country]>) -> usize {
        let idx: Vec<u16> = match countries {
            Some(list) => list
                .iter()
                .filter_map(|c| match self.by_country[c.index()] {
                    NO_REGION => None,
                    i => Some(i),
                })
                .collect(),
            None => (0..self.slots.len() as u16).collect(),
        };
        idx.into_iter().filter(|&i| !self.region(i).complete).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Country {
        Country::parse(s).unwrap()
    }

    #[test]
    fn every_region_compiles() {
        assert_eq!(NumberPlan::global().compile(None), 0);
    }

    #[test]
    fn types_follow_the_metadata() {
        let plan = NumberPlan::global();
        let gb = plan.by_country(c("GB")).unwrap();
        assert_eq!(gb.code, 44);
        assert_eq!(gb.number_type("2079460958"), NumberType::FixedLine);
        assert_eq!(gb.number_type("7400123456"), NumberType::Mobile);
        assert_eq!(gb.number_type("8001234567"), NumberType::TollFree);
        assert_eq!(gb.number_type("9098790000"), NumberType::PremiumRate);
        assert_eq!(gb.number_type("12"), NumberType::Unknown);
        assert_eq!(gb.min_length(), 7);
    }

    #[test]
    fn shared_calling_codes_pick_the_region() {
        let plan = NumberPlan::global();
        assert_eq!(plan.region_for(1, "2125550123").and_then(|r| r.country), Some(c("US")));
        assert_eq!(plan.region_for(1, "6135550123").and_then(|r| r.country), Some(c("CA")));
        assert_eq!(plan.region_for(1, "8765550123").and_then(|r| r.country), Some(c("JM")));
        assert_eq!(plan.region_for(882, "1234567890").map(|r| r.country), Some(None));
        assert_eq!(plan.split_calling_code("4420"), Some((44, "20")));
        assert_eq!(plan.split_calling_code("8821"), Some((882, "1")));
        assert_eq!(plan.split_calling_code("0"), None);
        assert_eq!(plan.split_calling_code("0123"), None);
    }

    #[test]
    fn national_prefix_is_stripped_only_when_sensible() {
        let plan = NumberPlan::global();
        let gb = plan.by_country(c("GB")).unwrap();
        assert_eq!(gb.national_significant("02079460958"), "2079460958");
        assert_eq!(gb.national_significant("2079460958"), "2079460958");
        let us = plan.by_country(c("US")).unwrap();
        assert_eq!(us.national_significant("12125550123"), "2125550123");
        let it = plan.by_country(c("IT")).unwrap();
        assert_eq!(it.national_significant("0612345678"), "0612345678");
    }
}
