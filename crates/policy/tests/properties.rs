//! Property tests: normalisation and decisions never panic, and extension restrictions never
//! widen the tenant's policy.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use ringfence_policy::{
    BlockKind, BlockRule, CallerId, Country, DialPlan, Dialled, EgressOrigin, EgressPolicy,
    EgressRequest, ExtensionPattern, ExtensionRestrictions, InboundBlockList, NumberClassifier,
    PlatformOverrides, TenantPolicy,
};

const HOMES: [&str; 6] = ["GB", "US", "DE", "FR", "AU", "IL"];
const COUNTRIES: [&str; 10] = ["GB", "US", "DE", "FR", "AU", "CU", "JM", "JE", "CA", "IT"];

/// Targets across countries and number types (valid, premium, high-risk, broken, internal).
const TARGETS: [&str; 24] = [
    "020 7946 0958",
    "+44 7400 123456",
    "0909 879 0000",
    "+44 800 123 4567",
    "+33 1 23 45 67 89",
    "+33 8 91 12 34 56",
    "+49 30 1234567",
    "+49 900 1234567",
    "+1 212 555 0123",
    "+1 900 200 1234",
    "+1 876 555 0123",
    "+61 2 9876 5432",
    "+61 1900 123 456",
    "+53 5 212 3456",
    "+882 16 0000 0000",
    "+881 6 1234 5678",
    "+800 1234 5678",
    "+44 7797 123456",
    "+39 06 1234 5678",
    "+1 613 555 0123",
    "1001",
    "*97",
    "0207",
    "1-800-FLOWERS",
];

fn classifier() -> Arc<NumberClassifier> {
    static C: OnceLock<Arc<NumberClassifier>> = OnceLock::new();
    C.get_or_init(|| Arc::new(NumberClassifier::builtin())).clone()
}

fn country_set() -> impl Strategy<Value = BTreeSet<Country>> {
    proptest::sample::subsequence(COUNTRIES.to_vec(), 0..=COUNTRIES.len())
        .prop_map(|v| v.into_iter().map(|s| Country::parse(s).unwrap()).collect())
}

fn origin() -> impl Strategy<Value = EgressOrigin> {
    proptest::sample::select(EgressOrigin::ALL.to_vec())
}

fn plan(home: usize) -> DialPlan {
    DialPlan::new(Country::parse(HOMES[home]).unwrap(), ExtensionPattern::lengths(2, 5)).unwrap()
}

fn check_dial_alphabet(input: &str, home: usize) -> Result<(), TestCaseError> {
    if let Ok(Dialled::External(n)) = plan(home).normalize(input) {
        // Whatever comes out is well-formed E.164 and classifies without panicking.
        prop_assert!((3..=15).contains(&n.digit_count()));
        let _ = classifier().classify(n);
    }
    Ok(())
}

fn check_inbound(number: &str, privacy: Option<&str>) {
    let list = InboundBlockList::new(
        Country::parse("GB").unwrap(),
        vec![
            BlockRule { kind: BlockKind::Prefix, value: "+44".into() },
            BlockRule { kind: BlockKind::Exact, value: "+33123456789".into() },
        ],
    )
    .unwrap();
    let _ = list.check(&CallerId { number: Some(number), privacy, ..Default::default() });
}

/// A random tenant policy with platform overrides, and a random narrowing of it.
#[derive(Debug)]
struct Case {
    tenant: TenantPolicy,
    overrides: PlatformOverrides,
    narrowing: ExtensionRestrictions,
    origin: EgressOrigin,
    target: &'static str,
}

fn case() -> impl Strategy<Value = Case> {
    let tenant =
        (0..5usize, any::<bool>(), country_set()).prop_map(|(home, intl, allowed)| TenantPolicy {
            home_country: Country::parse(HOMES[home]).unwrap(),
            international_calling: intl,
            allowed_countries: allowed,
        });
    let overrides = any::<[bool; 4]>().prop_map(|o| PlatformOverrides {
        allow_premium_rate: o[0],
        allow_shared_cost: o[1],
        allow_high_risk: o[2],
        allow_non_geographic: o[3],
    });
    let narrowing = (
        any::<bool>(),
        proptest::option::of(country_set()),
        proptest::sample::subsequence(EgressOrigin::ALL.to_vec(), 0..=4),
    )
        .prop_map(|(domestic_only, only_countries, denied)| ExtensionRestrictions {
            domestic_only,
            only_countries,
            denied_origins: denied.into_iter().collect(),
        });
    (tenant, overrides, narrowing, origin(), proptest::sample::select(TARGETS.to_vec())).prop_map(
        |(tenant, overrides, narrowing, origin, target)| Case {
            tenant,
            overrides,
            narrowing,
            origin,
            target,
        },
    )
}

fn check_narrowing(c: Case) -> Result<(), TestCaseError> {
    let policy =
        EgressPolicy::new(c.tenant, c.overrides, ExtensionPattern::lengths(3, 4), classifier())
            .unwrap();
    let wide = policy.decide(&EgressRequest::new(c.origin, c.target));
    let narrow = policy.decide(&EgressRequest::new(c.origin, c.target).restricted_by(&c.narrowing));
    if narrow.is_allowed() {
        prop_assert_eq!(&narrow, &wide);
    }
    if !wide.is_allowed() {
        prop_assert!(!narrow.is_allowed());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn normalise_never_panics_on_arbitrary_strings(input in any::<String>(), home in 0..6usize) {
        let _ = plan(home).normalize(&input);
    }

    #[test]
    fn normalise_never_panics_on_dial_alphabet(input in "[0-9+*# ().-]{0,40}", home in 0..6usize) {
        check_dial_alphabet(&input, home)?;
    }

    #[test]
    fn inbound_check_never_panics(number in any::<String>(), privacy in any::<Option<String>>()) {
        check_inbound(&number, privacy.as_deref());
    }

    /// For random tenant policies and random narrowings: whatever the narrowed policy allows,
    /// the tenant policy allows too, with the same destination.
    #[test]
    fn extension_restrictions_never_widen(c in case()) {
        check_narrowing(c)?;
    }
}
