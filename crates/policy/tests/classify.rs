//! Number classification: country, type (premium rate, toll free, ...) and the high-risk table;
//! checked against the example numbers libphonenumber's metadata gives for every region.

use phonenumber::metadata::DATABASE;
use ringfence_policy::{
    Country, DialPlan, Dialled, E164, ExtensionPattern, HighRiskTable, NumberClassifier,
    NumberType, RiskCategory,
};

fn classify(n: &str) -> ringfence_policy::ClassifiedNumber {
    NumberClassifier::builtin().classify(E164::parse(n).unwrap())
}

fn c(s: &str) -> Option<Country> {
    Some(Country::parse(s).unwrap())
}

#[test]
fn premium_rate_and_toll_free_ranges() {
    let cases = [
        // GB 09x premium rate, 0800/0808 free, 03 non-geographic (UAN). libphonenumber files
        // the "service charge" ranges 084/087 under premium rate.
        ("+449098790000", "GB", NumberType::PremiumRate),
        ("+448451234567", "GB", NumberType::PremiumRate),
        ("+448001234567", "GB", NumberType::TollFree),
        ("+448081570000", "GB", NumberType::TollFree),
        ("+443001234567", "GB", NumberType::Uan),
        ("+447400123456", "GB", NumberType::Mobile),
        ("+442079460958", "GB", NumberType::FixedLine),
        // US 900 premium, 1-800 free.
        ("+19002001234", "US", NumberType::PremiumRate),
        ("+18007233456", "US", NumberType::TollFree),
        ("+12125550123", "US", NumberType::FixedLineOrMobile),
        // DE 0900 premium, 0800 free.
        ("+499001234567", "DE", NumberType::PremiumRate),
        ("+498001234567", "DE", NumberType::TollFree),
        // FR 089 premium, 080 free.
        ("+33891123456", "FR", NumberType::PremiumRate),
        ("+33801234567", "FR", NumberType::TollFree),
        ("+33612345678", "FR", NumberType::Mobile),
        // AU 190 premium, 1800 free.
        ("+611900123456", "AU", NumberType::PremiumRate),
        ("+611800123456", "AU", NumberType::TollFree),
        ("+61412345678", "AU", NumberType::Mobile),
    ];
    for (n, country, ty) in cases {
        let got = classify(n);
        assert_eq!((got.country, got.number_type), (c(country), ty), "{n}");
        assert!(got.is_valid());
    }
}

#[test]
fn shared_calling_codes_resolve_to_their_own_countries() {
    let jm = classify("+18765550123");
    assert_eq!(jm.country, c("JM"));
    assert!(jm.is_international_from(Country::parse("US").unwrap()));
    let je = classify("+447797123456");
    assert_eq!(je.country, c("JE"));
    assert!(je.is_international_from(Country::parse("GB").unwrap()));
    assert_eq!(classify("+16135550123").country, c("CA"));
}

#[test]
fn high_risk_prefixes_match_and_carry_their_category() {
    let sat = classify("+8816123456789");
    assert_eq!(sat.country, None);
    assert_eq!(sat.high_risk.unwrap().category, RiskCategory::Satellite);
    assert_eq!(sat.high_risk_prefix(), Some("+881"));
    let net = classify("+882160000000");
    assert_eq!(net.high_risk.unwrap().category, RiskCategory::InternationalNetwork);
    let cuba = classify("+5352123456");
    assert_eq!(cuba.country, c("CU"));
    assert_eq!(cuba.high_risk_prefix(), Some("+53"));
    assert_eq!(classify("+442079460958").high_risk, None);
    // A table without +53 does not flag Cuba.
    let custom = NumberClassifier::with_high_risk(
        HighRiskTable::parse("+882 international_network\n").unwrap(),
    );
    assert_eq!(custom.classify(E164::parse("+5352123456").unwrap()).high_risk, None);
}

#[test]
fn numbers_outside_every_plan_are_unknown() {
    for n in ["+4412345", "+15550100999", "+999123456"] {
        let got = classify(n);
        assert_eq!(got.number_type, NumberType::Unknown, "{n}");
        assert!(!got.is_valid());
    }
    assert_eq!(classify("+999123456").calling_code, 0);
    assert_eq!(classify("+442079460958").national_number(), "2079460958");
}

/// Every example number in the metadata, dialled in international and in national format from
/// its own country, normalises to the same E.164 number and classifies as its own country and
/// type. This checks normalisation and classification against libphonenumber's own data.
#[test]
fn metadata_examples_round_trip_for_every_region() {
    let classifier = NumberClassifier::builtin();
    let mut checked = 0;
    let mut failures = Vec::new();
    for code in 1u16..1000 {
        for meta in DATABASE.by_code(&code).unwrap_or_default() {
            let country = Country::parse(meta.id()).ok();
            let d = meta.descriptors();
            let typed = [
                (d.fixed_line(), [NumberType::FixedLine, NumberType::FixedLineOrMobile]),
                (d.mobile(), [NumberType::Mobile, NumberType::FixedLineOrMobile]),
                (d.toll_free(), [NumberType::TollFree; 2]),
                (d.premium_rate(), [NumberType::PremiumRate; 2]),
                (d.shared_cost(), [NumberType::SharedCost; 2]),
                (d.personal_number(), [NumberType::PersonalNumber; 2]),
                (d.voip(), [NumberType::Voip; 2]),
                (d.pager(), [NumberType::Pager; 2]),
                (d.uan(), [NumberType::Uan; 2]),
                (d.voicemail(), [NumberType::Voicemail; 2]),
            ];
            for (desc, want) in typed {
                let Some(example) = desc.and_then(|x| x.example()) else { continue };
                checked += 1;
                let intl = format!("+{code}{example}");
                let Ok(e164) = E164::parse(&intl) else {
                    failures.push(format!("{intl}: not E.164"));
                    continue;
                };
                let got = classifier.classify(e164);
                // Ranges shared by several regions of one calling code (NANP 800/900, GB 0800
                // in GG/IM/JE, ...) belong to the main region, as in libphonenumber.
                let same_code = got.calling_code == code;
                if !(got.country == country || same_code) || !want.contains(&got.number_type) {
                    failures.push(format!(
                        "{intl} ({}): got {:?} {:?}, want {want:?}",
                        meta.id(),
                        got.country,
                        got.number_type
                    ));
                }
                let Some(home) = country else { continue };
                let Ok(plan) = DialPlan::new(home, ExtensionPattern::None) else { continue };
                // Some ranges are dialled with the trunk prefix, some without (IL 1-800,
                // CO mobiles); one of the two national forms must work.
                let with_prefix = format!("{}{example}", meta.national_prefix().unwrap_or(""));
                let ok = [with_prefix.as_str(), example].iter().any(|national| {
                    matches!(plan.normalize(national), Ok(Dialled::External(n)) if n == e164)
                });
                if !ok {
                    failures.push(format!("{} national {with_prefix}", meta.id()));
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} examples");
    // libphonenumber's own examples are consistent with its patterns, so any mismatch is ours.
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
