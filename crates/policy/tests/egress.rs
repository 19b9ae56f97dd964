//! The egress policy: each rule, its SIP status and reason, every origin going through the same
//! decision, and per-extension restrictions that only narrow.

use std::collections::BTreeSet;
use std::sync::Arc;

use phonenumber::metadata::DATABASE;
use ringfence_policy::{
    Country, DenyReason, EgressDecision, EgressOrigin, EgressPolicy, EgressRequest,
    ExtensionPattern, ExtensionRestrictions, LocalTarget, NumberClassifier, PlatformOverrides,
    TenantPolicy,
};

fn c(s: &str) -> Country {
    Country::parse(s).unwrap()
}

fn policy(home: &str, intl: bool, allowed: &[&str], ov: PlatformOverrides) -> EgressPolicy {
    let tenant = TenantPolicy {
        home_country: c(home),
        international_calling: intl,
        allowed_countries: allowed.iter().map(|s| c(s)).collect(),
    };
    EgressPolicy::new(
        tenant,
        ov,
        ExtensionPattern::lengths(3, 4),
        Arc::new(NumberClassifier::builtin()),
    )
    .unwrap()
}

fn dial(p: &EgressPolicy, target: &str) -> EgressDecision {
    p.decide(&EgressRequest::new(EgressOrigin::DialledCall, target))
}

fn allowed_e164(d: &EgressDecision) -> String {
    match d {
        EgressDecision::Allow { destination } => destination.e164.to_string(),
        other => panic!("expected Allow, got {other:?}"),
    }
}

/// Asserts a refusal and returns its explanation.
#[track_caller]
fn denied(d: &EgressDecision, want: DenyReason, status: u16, phrase: &str) -> String {
    match d {
        EgressDecision::Deny { reason, sip_status, sip_reason, explanation, .. } => {
            assert_eq!(
                (*reason, *sip_status, *sip_reason),
                (want, status, phrase),
                "{explanation}"
            );
            explanation.clone()
        }
        other => panic!("expected Deny({want:?}), got {other:?}"),
    }
}

fn example(
    region: &str,
    pick: fn(&phonenumber::metadata::Descriptors) -> Option<&phonenumber::metadata::Descriptor>,
) -> String {
    let meta = DATABASE.by_id(region).unwrap();
    format!("+{}{}", meta.country_code(), pick(meta.descriptors()).unwrap().example().unwrap())
}

#[test]
fn domestic_calls_pass_with_international_off() {
    let p = policy("GB", false, &[], PlatformOverrides::default());
    assert_eq!(allowed_e164(&dial(&p, "020 7946 0958")), "+442079460958");
    assert_eq!(allowed_e164(&dial(&p, "+44 7400 123456")), "+447400123456");
    assert_eq!(allowed_e164(&dial(&p, "0800 123 4567")), "+448001234567");
}

#[test]
fn international_off_allows_only_domestic() {
    let p = policy("GB", false, &["FR"], PlatformOverrides::default());
    let why = denied(
        &dial(&p, "+33 1 23 45 67 89"),
        DenyReason::InternationalDisabled,
        403,
        "International Calls Disabled",
    );
    assert!(why.contains("+33123456789") && why.contains("international calling is off"), "{why}");
    // Jersey shares +44 but is another country.
    denied(
        &dial(&p, "07797 123456"),
        DenyReason::InternationalDisabled,
        403,
        "International Calls Disabled",
    );
}

#[test]
fn international_on_allows_only_listed_countries() {
    let p = policy("GB", true, &["FR", "US"], PlatformOverrides::default());
    assert_eq!(allowed_e164(&dial(&p, "0033 1 23 45 67 89")), "+33123456789");
    assert_eq!(allowed_e164(&dial(&p, "+1 212 555 0123")), "+12125550123");
    let why = denied(
        &dial(&p, "+49 30 1234567"),
        DenyReason::CountryNotAllowed,
        403,
        "Destination Country Not Allowed",
    );
    assert!(why.contains("DE is not on this tenant's list"), "{why}");
    // NANP Caribbean numbers are their own countries, not the US.
    denied(
        &dial(&p, "+1 876 555 0123"),
        DenyReason::CountryNotAllowed,
        403,
        "Destination Country Not Allowed",
    );
}

#[test]
fn premium_rate_is_blocked_even_domestic_unless_the_platform_allows_it() {
    let p = policy("GB", true, &["US", "DE"], PlatformOverrides::default());
    let why =
        denied(&dial(&p, "0909 879 0000"), DenyReason::PremiumRate, 403, "Premium Rate Blocked");
    assert!(why.contains("super admin"), "{why}");
    denied(&dial(&p, "+1 900 200 1234"), DenyReason::PremiumRate, 403, "Premium Rate Blocked");
    denied(
        &dial(&p, &example("DE", |d| d.premium_rate())),
        DenyReason::PremiumRate,
        403,
        "Premium Rate Blocked",
    );
    let ov = PlatformOverrides { allow_premium_rate: true, ..Default::default() };
    let p = policy("GB", true, &["US"], ov);
    assert_eq!(allowed_e164(&dial(&p, "0909 879 0000")), "+449098790000");
    assert_eq!(allowed_e164(&dial(&p, "+1 900 200 1234")), "+19002001234");
}

#[test]
fn shared_cost_is_blocked_unless_the_platform_allows_it() {
    let number = example("FR", |d| d.shared_cost());
    let p = policy("FR", false, &[], PlatformOverrides::default());
    denied(&dial(&p, &number), DenyReason::SharedCost, 403, "Shared Cost Blocked");
    let ov = PlatformOverrides { allow_shared_cost: true, ..Default::default() };
    let p = policy("FR", false, &[], ov);
    assert_eq!(allowed_e164(&dial(&p, &number)), number);
}

#[test]
fn high_risk_is_blocked_even_in_an_allowed_country() {
    let p = policy("GB", true, &["CU"], PlatformOverrides::default());
    let why = denied(
        &dial(&p, "+53 5 212 3456"),
        DenyReason::HighRisk,
        403,
        "High Risk Destination Blocked",
    );
    assert!(why.contains("+53") && why.contains("irsf_destination"), "{why}");
    // High-risk is checked before the international switch: the reason names the real risk.
    let p = policy("GB", false, &[], PlatformOverrides::default());
    denied(
        &dial(&p, "+882 16 0000 0000"),
        DenyReason::HighRisk,
        403,
        "High Risk Destination Blocked",
    );
    let ov = PlatformOverrides { allow_high_risk: true, ..Default::default() };
    let p = policy("GB", true, &["CU"], ov);
    assert_eq!(allowed_e164(&dial(&p, "+53 5 212 3456")), "+5352123456");
}

#[test]
fn non_geographic_numbers_need_the_platform() {
    // +800: international freephone (UIFN), not on the high-risk table.
    let uifn = "+800 1234 5678";
    let p = policy("GB", false, &[], PlatformOverrides::default());
    denied(&dial(&p, uifn), DenyReason::InternationalDisabled, 403, "International Calls Disabled");
    let p = policy("GB", true, &["FR"], PlatformOverrides::default());
    let why = denied(
        &dial(&p, uifn),
        DenyReason::NonGeographic,
        403,
        "Non-Geographic Destination Blocked",
    );
    assert!(why.contains("+800"), "{why}");
    let ov = PlatformOverrides { allow_non_geographic: true, ..Default::default() };
    let p = policy("GB", true, &["FR"], ov);
    assert_eq!(allowed_e164(&dial(&p, uifn)), "+80012345678");
    // Satellite needs both exceptions.
    let sat = "+881 6 1234 5678";
    denied(&dial(&p, sat), DenyReason::HighRisk, 403, "High Risk Destination Blocked");
    let ov = PlatformOverrides { allow_high_risk: true, ..Default::default() };
    let p = policy("GB", true, &["FR"], ov);
    denied(&dial(&p, sat), DenyReason::NonGeographic, 403, "Non-Geographic Destination Blocked");
    let ov = PlatformOverrides {
        allow_high_risk: true,
        allow_non_geographic: true,
        ..Default::default()
    };
    let p = policy("GB", true, &["FR"], ov);
    assert_eq!(allowed_e164(&dial(&p, sat)), "+881612345678");
}

#[test]
fn unreadable_and_incomplete_numbers() {
    let p = policy("GB", true, &["US"], PlatformOverrides::default());
    let why = denied(&dial(&p, "1-800-FLOWERS"), DenyReason::InvalidNumber, 404, "Invalid Number");
    assert!(why.contains("letter 'F'"), "{why}");
    denied(&dial(&p, &"9".repeat(40)), DenyReason::InvalidNumber, 404, "Invalid Number");
    denied(&dial(&p, "+999 1234 5678"), DenyReason::InvalidNumber, 404, "Invalid Number");
    denied(&dial(&p, "0207"), DenyReason::IncompleteNumber, 484, "Address Incomplete");
    denied(&dial(&p, "+"), DenyReason::IncompleteNumber, 484, "Address Incomplete");
    denied(&dial(&p, ""), DenyReason::IncompleteNumber, 484, "Address Incomplete");
    let why = denied(
        &dial(&p, "+1 555 0100 999"),
        DenyReason::NotInNumberingPlan,
        404,
        "Unallocated Number",
    );
    assert!(why.contains("not a number in the numbering plan"), "{why}");
}

#[test]
fn internal_targets_do_not_leave() {
    let p = policy("GB", false, &[], PlatformOverrides::default());
    assert_eq!(dial(&p, "1001"), EgressDecision::Internal(LocalTarget::Extension("1001".into())));
    assert_eq!(dial(&p, "*97"), EgressDecision::Internal(LocalTarget::FeatureCode("*97".into())));
    assert!(dial(&p, "1001").is_allowed());
}

#[test]
fn every_origin_goes_through_the_same_rules() {
    let p = policy("GB", true, &["FR"], PlatformOverrides::default());
    for origin in EgressOrigin::ALL {
        let ask = |t: &str| p.decide(&EgressRequest::new(origin, t));
        assert_eq!(allowed_e164(&ask("+33 1 23 45 67 89")), "+33123456789", "{origin:?}");
        assert_eq!(allowed_e164(&ask("020 7946 0958")), "+442079460958", "{origin:?}");
        denied(
            &ask("+49 30 1234567"),
            DenyReason::CountryNotAllowed,
            403,
            "Destination Country Not Allowed",
        );
        denied(&ask("0909 879 0000"), DenyReason::PremiumRate, 403, "Premium Rate Blocked");
        denied(
            &ask("+882 16 0000 0000"),
            DenyReason::HighRisk,
            403,
            "High Risk Destination Blocked",
        );
        denied(&ask("letters"), DenyReason::InvalidNumber, 404, "Invalid Number");
        let why = denied(&ask("0207"), DenyReason::IncompleteNumber, 484, "Address Incomplete");
        let word = match origin {
            EgressOrigin::DialledCall => "call",
            EgressOrigin::Forward => "forward",
            EgressOrigin::Transfer => "transfer",
            _ => "call-back",
        };
        assert!(why.starts_with(word), "{why}");
    }
}

#[test]
fn extension_restrictions_narrow() {
    let p = policy("GB", true, &["FR", "DE"], PlatformOverrides::default());
    let domestic = ExtensionRestrictions { domestic_only: true, ..Default::default() };
    let ask = |r: &ExtensionRestrictions, o: EgressOrigin, t: &str| {
        p.decide(&EgressRequest::new(o, t).restricted_by(r))
    };
    let why = denied(
        &ask(&domestic, EgressOrigin::DialledCall, "+33 1 23 45 67 89"),
        DenyReason::ExtensionRestricted,
        403,
        "Restricted For This Extension",
    );
    assert!(why.contains("only call domestic"), "{why}");
    assert_eq!(
        allowed_e164(&ask(&domestic, EgressOrigin::DialledCall, "020 7946 0958")),
        "+442079460958"
    );

    let only_fr =
        ExtensionRestrictions { only_countries: Some([c("FR")].into()), ..Default::default() };
    assert_eq!(
        allowed_e164(&ask(&only_fr, EgressOrigin::Transfer, "+33 1 23 45 67 89")),
        "+33123456789"
    );
    denied(
        &ask(&only_fr, EgressOrigin::Transfer, "+49 30 1234567"),
        DenyReason::ExtensionRestricted,
        403,
        "Restricted For This Extension",
    );
    // The home country stays reachable.
    assert_eq!(
        allowed_e164(&ask(&only_fr, EgressOrigin::DialledCall, "020 7946 0958")),
        "+442079460958"
    );

    // Listing a country the tenant does not allow grants nothing.
    let widen = ExtensionRestrictions {
        only_countries: Some([c("US"), c("FR")].into()),
        ..Default::default()
    };
    denied(
        &ask(&widen, EgressOrigin::DialledCall, "+1 212 555 0123"),
        DenyReason::CountryNotAllowed,
        403,
        "Destination Country Not Allowed",
    );

    let no_forward = ExtensionRestrictions {
        denied_origins: BTreeSet::from([EgressOrigin::Forward]),
        ..Default::default()
    };
    let why = denied(
        &ask(&no_forward, EgressOrigin::Forward, "020 7946 0958"),
        DenyReason::ExtensionRestricted,
        403,
        "Restricted For This Extension",
    );
    assert!(why.contains("by forward"), "{why}");
    assert!(ask(&no_forward, EgressOrigin::DialledCall, "020 7946 0958").is_allowed());
    // Forwarding to another extension does not leave the system.
    assert!(matches!(ask(&no_forward, EgressOrigin::Forward, "1002"), EgressDecision::Internal(_)));
}

#[test]
fn settings_deserialize_strictly() {
    let t: TenantPolicy = serde_json::from_str(
        r#"{"home_country":"gb","international_calling":true,"allowed_countries":["fr","DE"]}"#,
    )
    .unwrap();
    assert_eq!(t.allowed_countries.len(), 2);
    assert!(
        serde_json::from_str::<TenantPolicy>(r#"{"home_country":"GB","allow_premium_rate":true}"#)
            .is_err()
    );
    let o: PlatformOverrides = serde_json::from_str("{}").unwrap();
    assert_eq!(o, PlatformOverrides::default());
    let r: ExtensionRestrictions =
        serde_json::from_str(r#"{"domestic_only":true,"denied_origins":["forward"]}"#).unwrap();
    assert!(r.domestic_only && r.denied_origins.contains(&EgressOrigin::Forward));
}
