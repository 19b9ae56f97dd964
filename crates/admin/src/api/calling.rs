//! Calling rules beyond the tenant's settings, as the API shows and accepts them: the
//! exceptions a super admin grants a tenant, an extension's restrictions (which may only
//! narrow the tenant's policy) and its call forwarding.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ringfence_store as store;

use crate::error::{Error, Result};

/// Destination classes that stay blocked for every tenant unless a super admin allows them
/// here, even with international calling on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Premium-rate numbers (any country, the home country too).
    pub allow_premium_rate: bool,
    /// Shared-cost numbers.
    pub allow_shared_cost: bool,
    /// Numbers on the high-risk destination table.
    pub allow_high_risk: bool,
    /// Non-geographic numbers (+800, +881, ...), when international calling is on.
    pub allow_non_geographic: bool,
}

impl From<&store::PlatformOverrides> for Overrides {
    fn from(o: &store::PlatformOverrides) -> Self {
        Self {
            allow_premium_rate: o.allow_premium_rate,
            allow_shared_cost: o.allow_shared_cost,
            allow_high_risk: o.allow_high_risk,
            allow_non_geographic: o.allow_non_geographic,
        }
    }
}

impl From<Overrides> for store::PlatformOverrides {
    fn from(o: Overrides) -> Self {
        Self {
            allow_premium_rate: o.allow_premium_rate,
            allow_shared_cost: o.allow_shared_cost,
            allow_high_risk: o.allow_high_risk,
            allow_non_geographic: o.allow_non_geographic,
        }
    }
}

/// A path by which a call can leave the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
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

impl From<CallPath> for store::CallPath {
    fn from(p: CallPath) -> Self {
        match p {
            CallPath::DialledCall => Self::DialledCall,
            CallPath::Forward => Self::Forward,
            CallPath::Transfer => Self::Transfer,
            CallPath::Callback => Self::Callback,
        }
    }
}

impl From<store::CallPath> for CallPath {
    fn from(p: store::CallPath) -> Self {
        match p {
            store::CallPath::DialledCall => Self::DialledCall,
            store::CallPath::Forward => Self::Forward,
            store::CallPath::Transfer => Self::Transfer,
            store::CallPath::Callback => Self::Callback,
        }
    }
}

/// What one extension may not call, within the tenant's calling policy. Every field can
/// only narrow that policy: a country the tenant does not allow is refused (422) rather
/// than silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restrictions {
    /// Only domestic destinations, whatever the tenant allows.
    #[serde(default)]
    pub domestic_only: bool,
    /// If set, international calls only to these countries (each must be one the tenant
    /// allows); `null`: the tenant's list.
    #[serde(default)]
    #[schema(example = json!(["GB"]))]
    pub only_countries: Option<Vec<String>>,
    /// Paths this extension may not use to reach the phone network.
    #[serde(default)]
    pub denied_paths: Vec<CallPath>,
}

impl From<&store::CallingRestrictions> for Restrictions {
    fn from(r: &store::CallingRestrictions) -> Self {
        Self {
            domestic_only: r.domestic_only,
            only_countries: r
                .only_countries
                .as_ref()
                .map(|c| c.iter().map(ToString::to_string).collect()),
            denied_paths: r.denied_paths.iter().map(|p| CallPath::from(*p)).collect(),
        }
    }
}

impl Restrictions {
    /// The store's form, refusing anything that would reach beyond `tenant`'s policy.
    pub fn into_store(self, tenant: &store::TenantSettings) -> Result<store::CallingRestrictions> {
        let only_countries = match self.only_countries {
            None => None,
            Some(list) => {
                if list.len() > store::MAX_RESTRICTED_COUNTRIES {
                    return Err(Error::invalid("only_countries", "at most 250 countries"));
                }
                let mut set = BTreeSet::new();
                for (i, c) in list.iter().enumerate() {
                    let field = format!("only_countries[{i}]");
                    let code = store::CountryCode::parse(c)
                        .map_err(|e| Error::from(e).with_field(&field))?;
                    let allowed = code == tenant.home_country
                        || (tenant.international_calling
                            && tenant.allowed_countries.contains(&code));
                    if !allowed {
                        return Err(Error::invalid(
                            field,
                            format!(
                                "{code} is not allowed by the tenant's calling policy; an \
                                 extension's restrictions can only narrow it"
                            ),
                        ));
                    }
                    set.insert(code);
                }
                Some(set)
            }
        };
        Ok(store::CallingRestrictions {
            domestic_only: self.domestic_only,
            only_countries,
            denied_paths: self.denied_paths.into_iter().map(store::CallPath::from).collect(),
        })
    }
}

/// An extension's call forwarding. Targets are another extension's number or a number of
/// the phone network (national, or `+` and E.164); a forward to the phone network leaves
/// through the tenant's calling policy and the fraud engine on behalf of this extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Forwarding {
    /// Forward every call at once, without ringing the extension.
    #[serde(default)]
    #[schema(example = "+442079460958", min_length = 2, max_length = 32)]
    pub always: Option<String>,
    /// Forward when every device is busy.
    #[serde(default)]
    #[schema(min_length = 2, max_length = 32)]
    pub busy: Option<String>,
    /// Forward when the extension rang and nobody answered in `no_answer_seconds` (or
    /// the ringing devices gave up themselves).
    #[serde(default)]
    #[schema(min_length = 2, max_length = 32)]
    pub no_answer: Option<String>,
    /// Ring time before the no-answer forward, seconds (default 20).
    #[serde(default = "default_ring_seconds")]
    #[schema(minimum = 5, maximum = 120, default = 20)]
    pub no_answer_seconds: u16,
    /// Forward when the extension cannot ring: no device registered, or every device
    /// unreachable.
    #[serde(default)]
    #[schema(min_length = 2, max_length = 32)]
    pub unavailable: Option<String>,
}

fn default_ring_seconds() -> u16 {
    20
}

impl From<&store::CallForwarding> for Forwarding {
    fn from(f: &store::CallForwarding) -> Self {
        Self {
            always: f.always.clone(),
            busy: f.busy.clone(),
            no_answer: f.no_answer.clone(),
            no_answer_seconds: f.no_answer_seconds,
            unavailable: f.unavailable.clone(),
        }
    }
}

impl From<Forwarding> for store::CallForwarding {
    fn from(f: Forwarding) -> Self {
        Self {
            always: f.always,
            busy: f.busy,
            no_answer: f.no_answer,
            no_answer_seconds: f.no_answer_seconds,
            unavailable: f.unavailable,
        }
    }
}
