//! Shared helpers: a virtual clock, the full policy + fraud pipeline, a seeded PRNG.

#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use ringfence_fraud::{
    BusinessHours, CallContext, CallId, Decision, ExtensionId, FraudEngine, Outcome, RateTable,
    TenantConfig, TenantId, Timestamp,
};
use ringfence_policy::{
    ClassifiedNumber, Country, EgressDecision, EgressOrigin, EgressPolicy, EgressRequest,
    ExtensionPattern, NumberClassifier, PlatformOverrides, TenantPolicy,
};

/// Monday 2024-01-08 00:00 UTC.
pub const MONDAY: u64 = 1_704_672_000_000;
pub const MINUTE: u64 = 60_000;
pub const HOUR: u64 = 3_600_000;
pub const DAY: u64 = 86_400_000;

pub fn at(ms: u64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

pub fn classifier() -> Arc<NumberClassifier> {
    static C: OnceLock<Arc<NumberClassifier>> = OnceLock::new();
    C.get_or_init(|| Arc::new(NumberClassifier::builtin())).clone()
}

/// An office tenant in GB (UTC+0), open Monday to Friday 08:00-18:00.
pub fn office_config() -> TenantConfig {
    TenantConfig { business_hours: Some(BusinessHours::weekdays(8, 18)), ..TenantConfig::default() }
}

/// A tenant: its egress policy and its id in the engine.
pub struct Tenant {
    pub id: TenantId,
    pub policy: EgressPolicy,
}

impl Tenant {
    pub fn new(id: u128, allowed: &[&str], overrides: PlatformOverrides) -> Self {
        let gb = Country::parse("GB").unwrap();
        let tenant = TenantPolicy {
            home_country: gb,
            international_calling: !allowed.is_empty(),
            allowed_countries: allowed.iter().map(|c| Country::parse(c).unwrap()).collect(),
        };
        let policy =
            EgressPolicy::new(tenant, overrides, ExtensionPattern::lengths(3, 4), classifier())
                .unwrap();
        Self { id: TenantId(id), policy }
    }

    pub fn classify(&self, target: &str) -> ClassifiedNumber {
        match self.policy.decide(&EgressRequest::new(EgressOrigin::DialledCall, target)) {
            EgressDecision::Allow { destination } => destination,
            other => panic!("policy refused {target}: {other:?}"),
        }
    }
}

/// Drives one engine with a call counter.
pub struct Harness {
    pub engine: FraudEngine,
    next_call: u64,
}

/// The result of one attempt through policy and fraud engine.
pub struct Attempt {
    pub call: CallId,
    pub policy: EgressDecision,
    pub fraud: Option<Decision>,
    /// What the engine said about a policy refusal.
    pub refusal: Option<Outcome>,
}

impl Attempt {
    pub fn placed(&self) -> bool {
        self.fraud.as_ref().is_some_and(|d| d.allow)
    }
}

impl Harness {
    pub fn new(rates: RateTable) -> Self {
        Self { engine: FraudEngine::new(Arc::new(rates)), next_call: 1 }
    }

    /// Asks the policy, then (if it allows) the fraud engine, as the driver would.
    pub fn attempt(
        &mut self,
        now: u64,
        tenant: &Tenant,
        ext: u128,
        target: &str,
        source: Option<IpAddr>,
    ) -> Attempt {
        let call = CallId(self.next_call);
        self.next_call += 1;
        let policy = tenant.policy.decide(&EgressRequest::new(EgressOrigin::DialledCall, target));
        let mut refusal = None;
        let fraud = match &policy {
            EgressDecision::Allow { destination } => {
                let ctx = CallContext {
                    call,
                    tenant: tenant.id,
                    extension: ExtensionId(ext),
                    destination: *destination,
                    international: destination
                        .is_international_from(tenant.policy.tenant().home_country),
                    source,
                };
                Some(self.engine.call_attempt(at(now), &ctx))
            }
            EgressDecision::Deny { destination, .. } => {
                refusal = Some(self.engine.policy_refusal(
                    at(now),
                    tenant.id,
                    ExtensionId(ext),
                    destination.as_ref(),
                ));
                None
            }
            EgressDecision::Internal(_) => None,
        };
        Attempt { call, policy, fraud, refusal }
    }
}

/// SplitMix64: a small seeded PRNG for generated traffic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Exponential with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A GB mobile number from a scrambled sequence: consecutive values are neither sequential nor
/// in one block.
pub fn scattered_mobile(i: u64) -> String {
    format!("07400 {:06}", (i * 611_953 + 104_729) % 1_000_000)
}
