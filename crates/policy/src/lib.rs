//! Ringfence's call policy: pure functions and small immutable tables, no I/O, no async.
//!
//! Place in the data flow of a call:
//!
//! ```text
//! B2BUA dialog (authenticated caller)
//!   -> EgressPolicy::decide (this crate)  -- normalise, classify, tenant rules, extension limits
//!   -> fraud engine call_attempt          -- ringfence-fraud, takes the ClassifiedNumber
//!   -> route to trunk
//! trunk INVITE -> InboundBlockList::check (this crate) -> ring the extension or refuse
//! ```
//!
//! # Outbound: one egress policy
//! Every way a call can leave the system (a dialled call, call forwarding to an external
//! number, a transfer, a call-back) goes through [`EgressPolicy::decide`], named by its
//! [`EgressOrigin`]. The policy is built per tenant from plain values that mirror the stored
//! tenant settings:
//!
//! - [`TenantPolicy`]: home country, international calling on/off, allowed countries (the
//!   tenant administrator's settings);
//! - [`PlatformOverrides`]: premium-rate, shared-cost, high-risk and non-geographic
//!   destinations, which only a super admin can allow;
//! - [`ExtensionPattern`]: how the tenant's extension numbers look, so `1001` is an extension
//!   and `0207...` a national number;
//! - per request, [`ExtensionRestrictions`]: per-extension limits that can only narrow.
//!
//! ```
//! use std::sync::Arc;
//! use ringfence_policy::*;
//!
//! let gb = Country::parse("GB").unwrap();
//! let policy = EgressPolicy::new(
//!     TenantPolicy::domestic_only(gb),
//!     PlatformOverrides::default(),
//!     ExtensionPattern::lengths(3, 4),
//!     Arc::new(NumberClassifier::builtin()),
//! )
//! .unwrap();
//! match policy.decide(&EgressRequest::new(EgressOrigin::DialledCall, "020 7946 0958")) {
//!     EgressDecision::Allow { destination } => {
//!         assert_eq!(destination.e164.as_str(), "+442079460958");
//!     }
//!     other => panic!("{other:?}"),
//! }
//! let denied = policy.decide(&EgressRequest::new(EgressOrigin::Forward, "+33 1 23 45 67 89"));
//! let EgressDecision::Deny { reason, sip_status, .. } = denied else { panic!() };
//! assert_eq!((reason, sip_status), (DenyReason::InternationalDisabled, 403));
//! ```
//!
//! The driver answers a [`EgressDecision::Deny`] with its `sip_status` and `sip_reason` and
//! writes a call record with `reason.as_str()` and the `explanation`; on
//! [`EgressDecision::Allow`] it passes the [`ClassifiedNumber`] to the fraud engine.
//!
//! # Numbers
//! [`DialPlan::normalize`] turns a dial string into an [`E164`] number (national format with
//! the country's trunk prefix, the country's international prefix, or `+`), an extension, or a
//! feature code, refusing hostile input before any pattern sees it.
//! [`NumberClassifier::classify`] gives the country, the [`NumberType`] and any match on the
//! operator-tunable [`HighRiskTable`] (default: `data/high_risk_prefixes.txt`). Numbering-plan
//! data comes from the `phonenumber` crate's copy of libphonenumber's metadata; its patterns
//! are compiled once per region into regexes this crate owns (see `plan.rs` for why), so a
//! decision takes a few microseconds and no lock. Call [`warm_up`] at start-up with the
//! countries in use to compile them before the first call.
//!
//! # Inbound
//! [`InboundBlockList::check`] matches a [`CallerId`] against the tenant's exact, prefix and
//! anonymous rules and names the rule that matched, for counters and call records.
//!
//! Emergency and other short service numbers are not handled here: short codes have their own
//! metadata (not shipped by `phonenumber`), and the driver must route them before egress.

mod classify;
mod country;
mod e164;
mod egress;
mod error;
mod highrisk;
mod inbound;
mod normalize;
mod plan;
mod prefix;

pub use classify::{ClassifiedNumber, NumberClassifier, NumberType, warm_up};
pub use country::Country;
pub use e164::{E164, MAX_E164_DIGITS, MIN_E164_DIGITS};
pub use egress::{
    DenyReason, EgressDecision, EgressOrigin, EgressPolicy, EgressRequest, ExtensionRestrictions,
    LocalTarget, PlatformOverrides, TenantPolicy, UNRESTRICTED,
};
pub use error::Error;
pub use highrisk::{
    DEFAULT_HIGH_RISK_TABLE, HighRiskTable, MAX_HIGH_RISK_ENTRIES, RiskCategory, RiskEntry,
    RiskMatch,
};
pub use inbound::{
    AnonymousReason, BlockKind, BlockMatch, BlockRule, CallerId, InboundBlockList, MAX_BLOCK_RULES,
};
pub use normalize::{DialPlan, Dialled, ExtensionPattern, MAX_DIAL_STRING_LEN};
pub use prefix::PrefixMap;
