//! Who may call what, beyond the tenant's own settings: the exceptions a super admin grants a
//! tenant ([`PlatformOverrides`]), the narrowing of one extension ([`CallingRestrictions`])
//! and an extension's call forwarding ([`CallForwarding`]). The egress gate reads them on
//! every call; the admin API sets them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::CountryCode;
use crate::error::{Result, StoreError};

/// Exceptions only a super admin may grant a tenant: destination classes that stay blocked
/// otherwise, even with international calling on. All off by default. Kept apart from
/// [`super::TenantSettings`] so a tenant administrator's settings can never reach them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformOverrides {
    /// Premium-rate numbers (any country, the home country too) may be called.
    pub allow_premium_rate: bool,
    /// Shared-cost numbers may be called.
    pub allow_shared_cost: bool,
    /// Numbers on the high-risk table may be called.
    pub allow_high_risk: bool,
    /// Non-geographic numbers (+800, +881, ...) may be called when international calling is on.
    pub allow_non_geographic: bool,
}

/// A path by which a call can leave the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPath {
    /// The extension dialled the number.
    DialledCall,
    /// Call forwarding to an external number.
    Forward,
    /// A transfer (REFER) to an external number.
    Transfer,
    /// A call-back placed by the system.
    Callback,
}

/// Most countries in [`CallingRestrictions::only_countries`].
pub const MAX_RESTRICTED_COUNTRIES: usize = 250;

/// Per-extension restrictions: each field can only take something away from what the tenant
/// allows. The admin API refuses a value that names something the tenant does not allow (so
/// a restriction never looks wider than it is).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallingRestrictions {
    /// Only domestic destinations, whatever the tenant allows.
    pub domestic_only: bool,
    /// If set, international calls only to these countries (a subset of the tenant's).
    pub only_countries: Option<BTreeSet<CountryCode>>,
    /// Paths this extension may not use to reach the phone network.
    pub denied_paths: BTreeSet<CallPath>,
}

impl CallingRestrictions {
    /// Checks the sizes the type does not bound.
    pub fn validate(&self) -> Result<()> {
        if self.only_countries.as_ref().is_some_and(|c| c.len() > MAX_RESTRICTED_COUNTRIES) {
            return Err(StoreError::invalid("only_countries", "too many countries (max 250)"));
        }
        Ok(())
    }

    /// True when nothing is restricted.
    pub fn is_unrestricted(&self) -> bool {
        *self == Self::default()
    }
}

/// Longest forwarding target.
pub const MAX_FORWARD_TARGET: usize = 32;
/// Shortest and longest ring time before forwarding on no answer, seconds.
pub const FORWARD_NO_ANSWER_SECONDS: std::ops::RangeInclusive<u16> = 5..=120;

/// An extension's call forwarding. Each target is another extension's number or a number
/// of the phone network (as it would be dialled: national, or `+` and E.164); a forward to
/// the phone network leaves through the egress policy and fraud engine like a dialled call,
/// on behalf of the forwarding extension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallForwarding {
    /// Forward every call at once, without ringing the extension.
    pub always: Option<String>,
    /// Forward when every device of the extension is busy (486/600).
    pub busy: Option<String>,
    /// Forward when the extension rang and nobody answered: the ring time
    /// (`no_answer_seconds`) is over, or the ringing devices gave up themselves (480/408).
    pub no_answer: Option<String>,
    /// Ring time before the no-answer forward, seconds (5..=120, default 20).
    pub no_answer_seconds: u16,
    /// Forward when the extension cannot ring at all: no device registered, or every
    /// device unreachable (no response, transport error, 503). A separate condition from
    /// no answer, as "forward unregistered/unavailable" is on other PBXs.
    pub unavailable: Option<String>,
}

impl Default for CallForwarding {
    fn default() -> Self {
        Self { always: None, busy: None, no_answer: None, no_answer_seconds: 20, unavailable: None }
    }
}

impl CallForwarding {
    /// Checks targets (digits with an optional leading `+`, 2..=32 characters) and the
    /// ring time.
    pub fn validate(&self) -> Result<()> {
        for (field, target) in [
            ("always", &self.always),
            ("busy", &self.busy),
            ("no_answer", &self.no_answer),
            ("unavailable", &self.unavailable),
        ] {
            if let Some(t) = target {
                let digits = t.strip_prefix('+').unwrap_or(t);
                let ok = (2..=MAX_FORWARD_TARGET).contains(&t.len())
                    && !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    return Err(StoreError::invalid(
                        field,
                        "must be an extension number or a phone number: digits with an \
                         optional leading +, 2 to 32 characters",
                    ));
                }
            }
        }
        if !FORWARD_NO_ANSWER_SECONDS.contains(&self.no_answer_seconds) {
            return Err(StoreError::invalid("no_answer_seconds", "must be between 5 and 120"));
        }
        Ok(())
    }

    /// True when no forward is set.
    pub fn is_off(&self) -> bool {
        self.always.is_none()
            && self.busy.is_none()
            && self.no_answer.is_none()
            && self.unavailable.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_targets_are_numbers() {
        let mut f = CallForwarding { busy: Some("+442079460958".into()), ..Default::default() };
        assert!(f.validate().is_ok());
        f.always = Some("101".into());
        assert!(f.validate().is_ok());
        for bad in ["", "+", "1", "12a", "sip:x@y", "+1234567890123456789012345678901234"] {
            f.always = Some(bad.into());
            assert!(f.validate().is_err(), "{bad}");
        }
        f.always = None;
        f.unavailable = Some("sip:x@y".into());
        assert!(f.validate().is_err());
        f.unavailable = Some("+4930901820".into());
        assert!(f.validate().is_ok());
        f.no_answer_seconds = 4;
        assert!(f.validate().is_err());
        f.no_answer_seconds = 121;
        assert!(f.validate().is_err());
    }

    #[test]
    fn defaults_restrict_nothing() {
        assert!(CallingRestrictions::default().is_unrestricted());
        assert!(CallForwarding::default().is_off());
        let r: CallingRestrictions = serde_json::from_str(r#"{"domestic_only":true}"#).unwrap();
        assert!(!r.is_unrestricted());
        assert!(serde_json::from_str::<CallingRestrictions>(r#"{"widen":true}"#).is_err());
    }
}
