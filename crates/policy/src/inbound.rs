//! Inbound caller-ID blocking: exact numbers, prefixes, and anonymous or withheld callers.
//!
//! Anonymous callers are recognised the ways RFC 3323 and RFC 3325 describe:
//!
//! ```text
//! From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=...   ; RFC 3323 §4.1.1.3
//! Privacy-hdr = "Privacy" HCOLON priv-value *(";" priv-value)  ; RFC 3323 §4.2
//! priv-value  = "header" / "session" / "user" / "none" / "critical" / token
//!                                                               ; RFC 3325 §9.3 adds "id"
//! ```
//! A call counts as withheld when its Privacy header asks for `id`, `header` or `user`
//! privacy, its identity URI is `anonymous@...` or `...@anonymous.invalid`, its display name
//! is `Anonymous` (or `Restricted`, `Withheld`, `Private`, `Unavailable`, `Unknown`, which
//! carriers send), or it carries no number at all.
//!
//! Numbers are compared in international form: the caller's number is normalised with the
//! tenant's home country (so `030 1234567` and `+49 30 1234567` are the same caller in DE), and
//! also compared as received (carriers often send `4930...` without `+`). Prefix rules written
//! with `+` or the home country's international prefix are international; a rule starting with
//! the national prefix is read as national (`0900` in DE is `+49900`); other digit strings are
//! taken as international digits.
//!
//! A blocked caller is answered without ringing anyone: [`BlockMatch::sip`] gives 433
//! Anonymity Disallowed (RFC 5079 §5) for anonymous callers and 603 Decline (RFC 3261
//! §21.6.2) for number rules.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::normalize::{DialPlan, Dialled, ExtensionPattern};
use crate::plan::NumberPlan;
use crate::prefix::{PrefixMap, prefix_digits};
use crate::{Country, Error, MAX_DIAL_STRING_LEN};

/// Most rules a block list takes.
pub const MAX_BLOCK_RULES: usize = 10_000;

/// What a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// The caller's number equals the rule's.
    Exact,
    /// The caller's number starts with the rule's.
    Prefix,
    /// The caller is anonymous or withheld (the rule has no value).
    Anonymous,
}

impl BlockKind {
    /// Stable name (metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Prefix => "prefix",
            Self::Anonymous => "anonymous",
        }
    }
}

/// One rule as the tenant's administrator wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRule {
    /// How `value` is matched.
    pub kind: BlockKind,
    /// Digits with an optional leading `+` (empty for [`BlockKind::Anonymous`]).
    #[serde(default)]
    pub value: String,
}

/// Why a caller counts as anonymous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnonymousReason {
    /// `Privacy: id`, `header` or `user` (RFC 3323 §4.2, RFC 3325 §9.3).
    PrivacyRequested,
    /// `anonymous@...` or `...@anonymous.invalid` (RFC 3323 §4.1.1.3).
    AnonymousUri,
    /// A display name such as `Anonymous` or `Restricted`.
    AnonymousDisplayName,
    /// No caller number at all (or a placeholder such as `unknown`).
    NoNumber,
}

/// The identity of an inbound caller, as the driver read it from the request: the
/// P-Asserted-Identity from a trusted trunk if present, else the From header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallerId<'a> {
    /// The percent-decoded user part of the identity URI (a number, ideally).
    pub number: Option<&'a str>,
    /// The host part of the identity URI.
    pub host: Option<&'a str>,
    /// The display name, unquoted.
    pub display_name: Option<&'a str>,
    /// The Privacy header value(s), e.g. `id;critical`.
    pub privacy: Option<&'a str>,
}

impl CallerId<'_> {
    /// Whether, and why, the caller is anonymous or withheld.
    pub fn anonymous(&self) -> Option<AnonymousReason> {
        if let Some(p) = self.privacy {
            let requested = p
                .split([';', ','])
                .map(str::trim)
                .any(|v| ["id", "header", "user"].iter().any(|w| v.eq_ignore_ascii_case(w)));
            if requested {
                return Some(AnonymousReason::PrivacyRequested);
            }
        }
        let user = self.number.map(str::trim).unwrap_or("");
        let host = self.host.map(str::trim).unwrap_or("");
        if user.eq_ignore_ascii_case("anonymous") || host.eq_ignore_ascii_case("anonymous.invalid")
        {
            return Some(AnonymousReason::AnonymousUri);
        }
        let withheld_names =
            ["anonymous", "restricted", "withheld", "private", "unavailable", "unknown"];
        if let Some(d) = self.display_name
            && withheld_names.iter().any(|w| d.trim().eq_ignore_ascii_case(w))
        {
            return Some(AnonymousReason::AnonymousDisplayName);
        }
        if user.is_empty() || withheld_names.iter().any(|w| user.eq_ignore_ascii_case(w)) {
            return Some(AnonymousReason::NoNumber);
        }
        None
    }
}

/// Which rule blocked a caller: copyable, for counters and call records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockMatch {
    /// Position of the rule in the list given to [`InboundBlockList::new`].
    pub rule: usize,
    /// Its kind.
    pub kind: BlockKind,
    /// For anonymous matches, why the caller counted as anonymous.
    pub anonymous: Option<AnonymousReason>,
}

impl BlockMatch {
    /// SIP status and reason phrase to answer the blocked caller with.
    pub fn sip(&self) -> (u16, &'static str) {
        match self.kind {
            BlockKind::Anonymous => (433, "Anonymity Disallowed"),
            BlockKind::Exact | BlockKind::Prefix => (603, "Decline"),
        }
    }
}

/// A tenant's inbound block list, compiled for lookup.
#[derive(Clone, Debug)]
pub struct InboundBlockList {
    dial_plan: DialPlan,
    rules: Vec<BlockRule>,
    anonymous: Option<usize>,
    exact: HashMap<String, usize>,
    prefixes: PrefixMap<usize>,
}

impl InboundBlockList {
    /// Compiles the rules for a tenant in `home`. Rules keep their positions for
    /// [`BlockMatch::rule`]; the first of duplicate rules wins.
    pub fn new(home: Country, rules: Vec<BlockRule>) -> Result<Self, Error> {
        if rules.len() > MAX_BLOCK_RULES {
            return Err(Error::BlockRule {
                index: MAX_BLOCK_RULES,
                reason: format!("too many rules (at most {MAX_BLOCK_RULES})"),
            });
        }
        let dial_plan = DialPlan::new(home, ExtensionPattern::None)?;
        let mut list = Self {
            dial_plan,
            rules: Vec::new(),
            anonymous: None,
            exact: HashMap::new(),
            prefixes: PrefixMap::new(),
        };
        for (index, rule) in rules.iter().enumerate() {
            let bad = |reason: &str| Error::BlockRule { index, reason: reason.to_owned() };
            match rule.kind {
                BlockKind::Anonymous if rule.value.is_empty() => {
                    list.anonymous.get_or_insert(index);
                }
                BlockKind::Anonymous => return Err(bad("an anonymous rule takes no value")),
                BlockKind::Exact => {
                    prefix_digits(&rule.value)
                        .map_err(|_| bad("value must be digits with an optional leading +"))?;
                    let key = list.canonical_number(&rule.value).unwrap_or_default();
                    list.exact.entry(key).or_insert(index);
                }
                BlockKind::Prefix => {
                    let key = list
                        .canonical_prefix(&rule.value)
                        .ok_or_else(|| bad("value must be digits with an optional leading +"))?;
                    if list.prefixes.longest_match(&key).is_none_or(|(l, _)| l != key.len()) {
                        list.prefixes.insert(&key, index)?;
                    }
                }
            }
        }
        list.rules = rules;
        Ok(list)
    }

    /// The rules as given.
    pub fn rules(&self) -> &[BlockRule] {
        &self.rules
    }

    /// The rule at a [`BlockMatch::rule`] position.
    pub fn rule(&self, index: usize) -> Option<&BlockRule> {
        self.rules.get(index)
    }

    /// Checks a caller. Anonymous rules first, then exact numbers, then the longest prefix.
    pub fn check(&self, caller: &CallerId<'_>) -> Option<BlockMatch> {
        if let Some(reason) = caller.anonymous() {
            return self.anonymous.map(|rule| BlockMatch {
                rule,
                kind: BlockKind::Anonymous,
                anonymous: Some(reason),
            });
        }
        let raw = caller.number?;
        if raw.len() > MAX_DIAL_STRING_LEN {
            return None;
        }
        let normalised = self.canonical_number(raw);
        let as_received = digits_only(raw);
        let keys = [normalised.as_deref(), as_received.as_deref()];
        for key in keys.iter().flatten() {
            if let Some(&rule) = self.exact.get(*key) {
                return Some(BlockMatch { rule, kind: BlockKind::Exact, anonymous: None });
            }
        }
        keys.iter()
            .flatten()
            .filter_map(|k| self.prefixes.longest_match(k))
            .max_by_key(|(len, _)| *len)
            .map(|(_, &rule)| BlockMatch { rule, kind: BlockKind::Prefix, anonymous: None })
    }

    /// International digits of a complete number, if it normalises.
    fn canonical_number(&self, raw: &str) -> Option<String> {
        match self.dial_plan.normalize(raw) {
            Ok(Dialled::External(n)) => Some(n.digits().to_owned()),
            _ => digits_only(raw),
        }
    }

    /// International digits of a prefix rule.
    fn canonical_prefix(&self, value: &str) -> Option<String> {
        let digits = prefix_digits(value).ok()?;
        if value.starts_with('+') {
            return Some(digits.to_owned());
        }
        let region = NumberPlan::global().by_country(self.dial_plan.home())?;
        if let Some(m) = region.idd.as_ref().and_then(|re| re.find(digits)) {
            let rest = &digits[m.end()..];
            return (!rest.is_empty()).then(|| rest.to_owned());
        }
        match region.national_prefix() {
            Some(np) if !np.is_empty() && digits.starts_with(np) => {
                Some(format!("{}{}", region.code, &digits[np.len()..]))
            }
            _ => Some(digits.to_owned()),
        }
    }
}

/// The digits of a caller number as received (`+` and separators dropped); `None` if anything
/// else is in it.
fn digits_only(raw: &str) -> Option<String> {
    let s: String = raw
        .trim()
        .trim_start_matches('+')
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
        .collect();
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}
