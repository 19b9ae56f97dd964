//! Number classification: country, number type, and high-risk table match.

use serde::{Deserialize, Serialize};

use crate::highrisk::{HighRiskTable, RiskMatch};
use crate::plan::NumberPlan;
use crate::{Country, E164};

/// What kind of line a number reaches, from the numbering-plan metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NumberType {
    /// Geographic fixed line.
    FixedLine,
    /// Mobile.
    Mobile,
    /// Either (plans such as the US do not tell them apart).
    FixedLineOrMobile,
    /// Free for the caller (0800, 1-800).
    TollFree,
    /// Premium rate (GB 09, US 900): the caller pays a surcharge to the callee.
    PremiumRate,
    /// Shared cost (GB 084/087, FR 08 1x): the callee earns part of the charge.
    SharedCost,
    /// Personal numbers that follow a person (GB 070).
    PersonalNumber,
    /// VoIP ranges.
    Voip,
    /// Pagers.
    Pager,
    /// Universal access numbers (company numbers routed anywhere).
    Uan,
    /// Direct voicemail access.
    Voicemail,
    /// Not a number in its country's plan (unallocated or malformed).
    Unknown,
}

impl NumberType {
    /// Stable name for logs, call records and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FixedLine => "fixed_line",
            Self::Mobile => "mobile",
            Self::FixedLineOrMobile => "fixed_line_or_mobile",
            Self::TollFree => "toll_free",
            Self::PremiumRate => "premium_rate",
            Self::SharedCost => "shared_cost",
            Self::PersonalNumber => "personal_number",
            Self::Voip => "voip",
            Self::Pager => "pager",
            Self::Uan => "uan",
            Self::Voicemail => "voicemail",
            Self::Unknown => "unknown",
        }
    }
}

/// A destination number with everything the egress policy and the fraud engine need to know.
/// `Copy` (about 40 bytes): it is passed by value from the policy to the fraud engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassifiedNumber {
    /// The number.
    pub e164: E164,
    /// Its country calling code (`44`), 0 if none matched.
    pub calling_code: u16,
    /// Its country; `None` for non-geographic codes (+800, +870, +881, +882, +883, +979) and
    /// for numbers that fit no region of a shared calling code.
    pub country: Option<Country>,
    /// Its type; [`NumberType::Unknown`] means the number is not in the plan.
    pub number_type: NumberType,
    /// The high-risk table entry it falls in, if any.
    pub high_risk: Option<RiskMatch>,
}

impl ClassifiedNumber {
    /// Whether the number exists in its country's numbering plan.
    pub fn is_valid(&self) -> bool {
        self.number_type != NumberType::Unknown
    }

    /// Whether a call to it from `home` leaves the country. Non-geographic numbers are always
    /// international; territories with their own ISO code (JE, GG, IM under +44; JM, DO, ...
    /// under +1) count as other countries.
    pub fn is_international_from(&self, home: Country) -> bool {
        self.country != Some(home)
    }

    /// The national significant number (digits after the calling code).
    pub fn national_number(&self) -> &str {
        let cc_len = match self.calling_code {
            0 => 0,
            1..=9 => 1,
            10..=99 => 2,
            _ => 3,
        };
        &self.e164.digits()[cc_len..]
    }

    /// The matching high-risk prefix in `+` form, if any.
    pub fn high_risk_prefix(&self) -> Option<&str> {
        self.high_risk.map(|m| &self.e164.as_str()[..=usize::from(m.prefix_len)])
    }
}

/// Classifies E.164 numbers: country and type from the numbering-plan metadata, plus a
/// configurable [`HighRiskTable`]. Build one per process (or per table) and share it.
#[derive(Clone, Debug)]
pub struct NumberClassifier {
    high_risk: HighRiskTable,
}

impl Default for NumberClassifier {
    fn default() -> Self {
        Self::builtin()
    }
}

impl NumberClassifier {
    /// A classifier with the built-in high-risk table.
    pub fn builtin() -> Self {
        Self::with_high_risk(HighRiskTable::builtin())
    }

    /// A classifier with the operator's high-risk table.
    pub fn with_high_risk(high_risk: HighRiskTable) -> Self {
        Self { high_risk }
    }

    /// The high-risk table in use.
    pub fn high_risk(&self) -> &HighRiskTable {
        &self.high_risk
    }

    /// Classifies a number. Never fails: a number outside every plan comes back with
    /// [`NumberType::Unknown`].
    pub fn classify(&self, e164: E164) -> ClassifiedNumber {
        let high_risk = self.high_risk.lookup(&e164);
        let plan = NumberPlan::global();
        let Some((code, nsn)) = plan.split_calling_code(e164.digits()) else {
            return ClassifiedNumber {
                e164,
                calling_code: 0,
                country: None,
                number_type: NumberType::Unknown,
                high_risk,
            };
        };
        let region = plan.region_for(code, nsn);
        ClassifiedNumber {
            e164,
            calling_code: code,
            country: region.and_then(|r| r.country),
            number_type: region.map_or(NumberType::Unknown, |r| r.number_type(nsn)),
            high_risk,
        }
    }
}

/// Compiles the numbering plans of `countries` now (every region for `None`; about 250), so
/// the first call to them does not pay for it. Returns the number of regions with a pattern
/// that failed to compile (0 with the shipped metadata). Call it at start-up with the home
/// countries and allowed destinations of the tenants.
pub fn warm_up(countries: Option<&[Country]>) -> usize {
    NumberPlan::global().compile(countries)
}
