//! The one egress policy: every way a call can leave the system (dialled calls, forwards,
//! transfers, call-backs) is decided by [`EgressPolicy::decide`].
//!
//! Rules, in the order they are checked:
//!
//! | check | refusal | SIP |
//! |---|---|---|
//! | the target cannot be read (letters, bad characters, too long, unknown country code) | [`DenyReason::InvalidNumber`] | 404 Invalid Number |
//! | the target is empty or too short | [`DenyReason::IncompleteNumber`] | 484 Address Incomplete |
//! | the number is not in its country's numbering plan | [`DenyReason::NotInNumberingPlan`] | 404 Unallocated Number |
//! | premium rate (any country, the home country too), unless the platform allows it | [`DenyReason::PremiumRate`] | 403 Premium Rate Blocked |
//! | shared cost, unless the platform allows it | [`DenyReason::SharedCost`] | 403 Shared Cost Blocked |
//! | on the high-risk table, unless the platform allows it | [`DenyReason::HighRisk`] | 403 High Risk Destination Blocked |
//! | international while the tenant has international calling off | [`DenyReason::InternationalDisabled`] | 403 International Calls Disabled |
//! | non-geographic (+800, +881, ...) unless the platform allows it | [`DenyReason::NonGeographic`] | 403 Non-Geographic Destination Blocked |
//! | international to a country not on the tenant's list | [`DenyReason::CountryNotAllowed`] | 403 Destination Country Not Allowed |
//! | the extension's own restrictions | [`DenyReason::ExtensionRestricted`] | 403 Restricted For This Extension |
//!
//! 404 and 484 follow RFC 3398 §7.2.4.1 (ISUP cause 1 "unallocated number" -> 404, cause 28
//! "invalid number format" -> 484 for incomplete input); 403 is RFC 3261 §21.4.4 ("the server
//! understood the request, but is refusing to fulfill it"), with a reason phrase that names the
//! rule (RFC 3261 §21: the reason phrase is for the human user).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::normalize::{DialPlan, Dialled, ExtensionPattern};
use crate::{ClassifiedNumber, Country, Error, NumberClassifier, NumberType};

/// The path by which a call would leave the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EgressOrigin {
    /// A user dialled the number.
    DialledCall,
    /// Call forwarding (unconditional, busy, no answer) to an external number.
    Forward,
    /// A blind or attended transfer (REFER) to an external number.
    Transfer,
    /// A call-back placed by the system (voicemail call-back and the like).
    Callback,
}

impl EgressOrigin {
    /// Every origin.
    pub const ALL: [EgressOrigin; 4] =
        [Self::DialledCall, Self::Forward, Self::Transfer, Self::Callback];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DialledCall => "dialled_call",
            Self::Forward => "forward",
            Self::Transfer => "transfer",
            Self::Callback => "callback",
        }
    }
}

/// The tenant's calling policy, as its administrators set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPolicy {
    /// Country whose national numbers the tenant dials, and what "domestic" means.
    pub home_country: Country,
    /// Whether calls may leave the home country at all (off for new tenants).
    #[serde(default)]
    pub international_calling: bool,
    /// Destination countries allowed when international calling is on.
    #[serde(default)]
    pub allowed_countries: BTreeSet<Country>,
}

impl TenantPolicy {
    /// The secure default: domestic calls only.
    pub fn domestic_only(home_country: Country) -> Self {
        Self { home_country, international_calling: false, allowed_countries: BTreeSet::new() }
    }
}

/// Exceptions only a super admin may grant to a tenant. Kept apart from [`TenantPolicy`] so a
/// tenant administrator's settings can never reach them. All off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformOverrides {
    /// Premium-rate numbers (any country) may be called.
    pub allow_premium_rate: bool,
    /// Shared-cost numbers may be called.
    pub allow_shared_cost: bool,
    /// Numbers on the high-risk table may be called.
    pub allow_high_risk: bool,
    /// Non-geographic numbers (+800, +870, +881, ...) may be called when international calling
    /// is on.
    pub allow_non_geographic: bool,
}

/// Per-extension restrictions. Every field can only take something away from what the tenant
/// policy allows: they are checked after the tenant rules and can only refuse, so no value of
/// this type widens the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtensionRestrictions {
    /// Only domestic destinations, whatever the tenant allows.
    pub domestic_only: bool,
    /// If set, international destinations must also be in this set (so the extension gets the
    /// intersection with the tenant's allowed countries; the home country stays allowed).
    pub only_countries: Option<BTreeSet<Country>>,
    /// Paths this extension may not use to reach the phone network (e.g. `forward`).
    pub denied_origins: BTreeSet<EgressOrigin>,
}

/// No restriction beyond the tenant's policy.
pub static UNRESTRICTED: ExtensionRestrictions = ExtensionRestrictions {
    domestic_only: false,
    only_countries: None,
    denied_origins: BTreeSet::new(),
};

/// One question to the egress policy.
#[derive(Clone, Copy, Debug)]
pub struct EgressRequest<'a> {
    /// How the call would leave.
    pub origin: EgressOrigin,
    /// The target as dialled, forwarded to or transferred to: the percent-decoded user part of
    /// the Request-URI / Refer-To / forwarding setting, without URI parameters.
    pub target: &'a str,
    /// Restrictions of the extension on whose behalf the call leaves (the caller for dialled
    /// calls and call-backs, the forwarding extension for forwards, the transferring one for
    /// transfers).
    pub restrictions: &'a ExtensionRestrictions,
}

impl<'a> EgressRequest<'a> {
    /// A request with no extension restrictions.
    pub fn new(origin: EgressOrigin, target: &'a str) -> Self {
        Self { origin, target, restrictions: &UNRESTRICTED }
    }

    /// The same request, restricted by an extension's settings.
    pub fn restricted_by(self, restrictions: &'a ExtensionRestrictions) -> Self {
        Self { restrictions, ..self }
    }
}

/// A target inside the tenant: the call does not leave the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalTarget {
    /// One of the tenant's extensions.
    Extension(String),
    /// A feature code for the PBX itself.
    FeatureCode(String),
}

/// Why a call may not leave. The `as_str` names are stable (call records, metrics labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DenyReason {
    /// The target cannot be read as a number.
    InvalidNumber,
    /// The target is empty or too short.
    IncompleteNumber,
    /// Well formed, but not a number of its country's plan.
    NotInNumberingPlan,
    /// Premium rate.
    PremiumRate,
    /// Shared cost.
    SharedCost,
    /// On the high-risk table.
    HighRisk,
    /// International while the tenant's international calling is off.
    InternationalDisabled,
    /// A non-geographic number (no country).
    NonGeographic,
    /// International to a country the tenant did not allow.
    CountryNotAllowed,
    /// The extension's own restrictions.
    ExtensionRestricted,
}

impl DenyReason {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidNumber => "invalid_number",
            Self::IncompleteNumber => "incomplete_number",
            Self::NotInNumberingPlan => "not_in_numbering_plan",
            Self::PremiumRate => "premium_rate",
            Self::SharedCost => "shared_cost",
            Self::HighRisk => "high_risk",
            Self::InternationalDisabled => "international_disabled",
            Self::NonGeographic => "non_geographic",
            Self::CountryNotAllowed => "country_not_allowed",
            Self::ExtensionRestricted => "extension_restricted",
        }
    }

    /// SIP status and reason phrase for the refusal.
    pub fn sip(self) -> (u16, &'static str) {
        match self {
            Self::InvalidNumber => (404, "Invalid Number"),
            Self::IncompleteNumber => (484, "Address Incomplete"),
            Self::NotInNumberingPlan => (404, "Unallocated Number"),
            Self::PremiumRate => (403, "Premium Rate Blocked"),
            Self::SharedCost => (403, "Shared Cost Blocked"),
            Self::HighRisk => (403, "High Risk Destination Blocked"),
            Self::InternationalDisabled => (403, "International Calls Disabled"),
            Self::NonGeographic => (403, "Non-Geographic Destination Blocked"),
            Self::CountryNotAllowed => (403, "Destination Country Not Allowed"),
            Self::ExtensionRestricted => (403, "Restricted For This Extension"),
        }
    }
}

/// The answer of the egress policy. Deliberately exhaustive: a caller must handle all three.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EgressDecision {
    /// The target is inside the tenant; route it internally (no egress rules apply).
    Internal(LocalTarget),
    /// The call may leave to `destination` (hand it to the fraud engine next).
    Allow {
        /// The classified destination.
        destination: ClassifiedNumber,
    },
    /// The call must not leave: answer with `sip_status`/`sip_reason` and record `reason`.
    Deny {
        /// The rule that refused it.
        reason: DenyReason,
        /// SIP status code for the response.
        sip_status: u16,
        /// SIP reason phrase for the response.
        sip_reason: &'static str,
        /// One sentence for the call record and the user, naming the rule and the number.
        explanation: String,
        /// The destination when it could be read.
        destination: Option<ClassifiedNumber>,
    },
}

impl EgressDecision {
    fn deny(
        reason: DenyReason,
        explanation: String,
        destination: Option<ClassifiedNumber>,
    ) -> Self {
        let (sip_status, sip_reason) = reason.sip();
        Self::Deny { reason, sip_status, sip_reason, explanation, destination }
    }

    /// Whether the call may proceed (internally or out).
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Self::Deny { .. })
    }
}

/// A tenant's egress policy: build it when the tenant's settings load or change, keep it, and
/// call [`decide`](Self::decide) for every call that could leave the system.
#[derive(Clone, Debug)]
pub struct EgressPolicy {
    dial_plan: DialPlan,
    tenant: TenantPolicy,
    overrides: PlatformOverrides,
    classifier: Arc<NumberClassifier>,
}

impl EgressPolicy {
    /// Builds the policy; fails if the home country has no numbering plan.
    pub fn new(
        tenant: TenantPolicy,
        overrides: PlatformOverrides,
        extensions: ExtensionPattern,
        classifier: Arc<NumberClassifier>,
    ) -> Result<Self, Error> {
        let dial_plan = DialPlan::new(tenant.home_country, extensions)?;
        Ok(Self { dial_plan, tenant, overrides, classifier })
    }

    /// The dial plan (home country, extensions).
    pub fn dial_plan(&self) -> &DialPlan {
        &self.dial_plan
    }

    /// The tenant's settings.
    pub fn tenant(&self) -> &TenantPolicy {
        &self.tenant
    }

    /// The platform's exceptions for this tenant.
    pub fn overrides(&self) -> &PlatformOverrides {
        &self.overrides
    }

    /// Decides one request. Pure and allocation-free on the allow path.
    pub fn decide(&self, request: &EgressRequest<'_>) -> EgressDecision {
        let e164 = match self.dial_plan.normalize(request.target) {
            Ok(Dialled::Extension(x)) => {
                return EgressDecision::Internal(LocalTarget::Extension(x));
            }
            Ok(Dialled::FeatureCode(x)) => {
                return EgressDecision::Internal(LocalTarget::FeatureCode(x));
            }
            Ok(Dialled::External(n)) => n,
            Err(e) => {
                let reason = if e.is_incomplete() {
                    DenyReason::IncompleteNumber
                } else {
                    DenyReason::InvalidNumber
                };
                return EgressDecision::deny(reason, format!("{}: {e}", origin(request)), None);
            }
        };
        let dest = self.classifier.classify(e164);
        match self.tenant_rules(request, &dest) {
            Some((reason, why)) => EgressDecision::deny(reason, why, Some(dest)),
            None => match restriction(request, &dest, self.tenant.home_country) {
                Some(why) => EgressDecision::deny(DenyReason::ExtensionRestricted, why, Some(dest)),
                None => EgressDecision::Allow { destination: dest },
            },
        }
    }

    fn tenant_rules(
        &self,
        request: &EgressRequest<'_>,
        dest: &ClassifiedNumber,
    ) -> Option<(DenyReason, String)> {
        let n = dest.e164;
        let o = origin(request);
        let where_ = Place(dest.country);
        if !dest.is_valid() {
            return Some((
                DenyReason::NotInNumberingPlan,
                format!("{o} to {n} ({where_}): not a number in the numbering plan"),
            ));
        }
        let ov = &self.overrides;
        if dest.number_type == NumberType::PremiumRate && !ov.allow_premium_rate {
            return Some((
                DenyReason::PremiumRate,
                format!(
                    "{o} to {n} ({where_}): premium-rate numbers are blocked unless a super \
                     admin allows them for this tenant"
                ),
            ));
        }
        if dest.number_type == NumberType::SharedCost && !ov.allow_shared_cost {
            return Some((
                DenyReason::SharedCost,
                format!(
                    "{o} to {n} ({where_}): shared-cost numbers are blocked unless a super admin \
                     allows them for this tenant"
                ),
            ));
        }
        if let (Some(m), false) = (dest.high_risk, ov.allow_high_risk) {
            return Some((
                DenyReason::HighRisk,
                format!(
                    "{o} to {n} ({where_}): prefix {} is on the high-risk list ({}); a super \
                     admin can allow high-risk destinations for this tenant",
                    dest.high_risk_prefix().unwrap_or(""),
                    m.category.as_str()
                ),
            ));
        }
        if !dest.is_international_from(self.tenant.home_country) {
            return None;
        }
        if !self.tenant.international_calling {
            return Some((
                DenyReason::InternationalDisabled,
                format!(
                    "{o} to {n} ({where_}): international calling is off for this tenant \
                     (home country {})",
                    self.tenant.home_country
                ),
            ));
        }
        match dest.country {
            None if !ov.allow_non_geographic => Some((
                DenyReason::NonGeographic,
                format!(
                    "{o} to {n}: non-geographic numbers (+{}) are blocked unless a super admin \
                     allows them for this tenant",
                    dest.calling_code
                ),
            )),
            None => None,
            Some(c) if !self.tenant.allowed_countries.contains(&c) => Some((
                DenyReason::CountryNotAllowed,
                format!("{o} to {n}: {c} is not on this tenant's list of allowed countries"),
            )),
            Some(_) => None,
        }
    }
}

/// The extension's restrictions; only ever refuses.
fn restriction(
    request: &EgressRequest<'_>,
    dest: &ClassifiedNumber,
    home: Country,
) -> Option<String> {
    let r = request.restrictions;
    let o = origin(request);
    let n = dest.e164;
    if r.denied_origins.contains(&request.origin) {
        return Some(format!(
            "{o} to {n}: this extension may not reach external numbers by {}",
            request.origin.as_str()
        ));
    }
    if !dest.is_international_from(home) {
        return None;
    }
    if r.domestic_only {
        return Some(format!("{o} to {n}: this extension may only call domestic numbers"));
    }
    match (&r.only_countries, dest.country) {
        (Some(set), Some(c)) if !set.contains(&c) => {
            Some(format!("{o} to {n}: {c} is not among this extension's allowed countries"))
        }
        (Some(_), None) => {
            Some(format!("{o} to {n}: this extension may only call the countries listed for it"))
        }
        _ => None,
    }
}

/// Formats a destination's country without allocating unless used.
struct Place(Option<Country>);

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(c) => f.write_str(c.as_str()),
            None => f.write_str("no country"),
        }
    }
}

fn origin(request: &EgressRequest<'_>) -> &'static str {
    match request.origin {
        EgressOrigin::DialledCall => "call",
        EgressOrigin::Forward => "forward",
        EgressOrigin::Transfer => "transfer",
        EgressOrigin::Callback => "call-back",
    }
}
