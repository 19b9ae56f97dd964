//! Dialled-number normalisation across countries: national, international-prefix and `+`
//! forms, separators, and hostile input.

use ringfence_policy::{Country, DialPlan, Dialled, Error, ExtensionPattern, MAX_DIAL_STRING_LEN};

fn plan(home: &str) -> DialPlan {
    DialPlan::new(Country::parse(home).unwrap(), ExtensionPattern::lengths(3, 4)).unwrap()
}

fn e164(home: &str, input: &str) -> String {
    match plan(home).normalize(input) {
        Ok(Dialled::External(n)) => n.to_string(),
        other => panic!("{home} {input:?}: {other:?}"),
    }
}

#[test]
fn national_international_prefix_and_plus_forms_agree() {
    let table: &[(&str, &str, &[&str])] = &[
        (
            "GB",
            "+442079460958",
            &[
                "020 7946 0958",
                "02079460958",
                "(020) 7946-0958",
                "+44 20 7946 0958",
                "+44 (0)20 7946 0958",
                "0044 20 7946 0958",
                "+44.20.7946.0958",
            ],
        ),
        ("GB", "+447400123456", &["07400 123456", "+44 7400 123456", "00447400123456"]),
        ("GB", "+12125550123", &["00 1 212 555 0123", "+1 (212) 555-0123"]),
        (
            "US",
            "+12125550123",
            &["(212) 555-0123", "1-212-555-0123", "212.555.0123", "+1 212 555 0123", "2125550123"],
        ),
        ("US", "+442079460958", &["011 44 20 7946 0958", "+44 20 7946 0958"]),
        ("US", "+18007233456", &["1-800-723-3456", "800 723 3456"]),
        (
            "DE",
            "+49301234567",
            &[
                "030 1234567",
                "030/1234567",
                "0049 30 1234567",
                "+49 (0)30 1234567",
                "+49-30-1234567",
            ],
        ),
        ("DE", "+4915123456789", &["0151 23456789", "+49 151 23456789"]),
        ("FR", "+33123456789", &["01 23 45 67 89", "00 33 1 23 45 67 89", "+33 1 23 45 67 89"]),
        ("FR", "+33612345678", &["06.12.34.56.78", "+33 6 12 34 56 78"]),
        ("AU", "+61298765432", &["(02) 9876 5432", "0011 61 2 9876 5432", "+61 2 9876 5432"]),
        ("AU", "+61412345678", &["0412 345 678", "+61 412 345 678"]),
        ("AU", "+442079460958", &["0011 44 20 7946 0958"]),
    ];
    for (home, want, inputs) in table {
        for input in *inputs {
            assert_eq!(e164(home, input), *want, "{home} {input:?}");
        }
    }
}

#[test]
fn extensions_and_feature_codes_stay_internal() {
    let gb = plan("GB");
    assert_eq!(gb.normalize("1001").unwrap(), Dialled::Extension("1001".into()));
    assert_eq!(gb.normalize("100").unwrap(), Dialled::Extension("100".into()));
    assert_eq!(gb.normalize("*97").unwrap(), Dialled::FeatureCode("*97".into()));
    assert_eq!(gb.normalize("#31#").unwrap(), Dialled::FeatureCode("#31#".into()));
    // A leading 0 is never an extension with the length pattern.
    assert!(matches!(gb.normalize("0100"), Err(Error::TooShort { .. })));
    let custom = DialPlan::new(
        Country::parse("DE").unwrap(),
        ExtensionPattern::custom(|d| d == "20" || d == "21"),
    )
    .unwrap();
    assert_eq!(custom.normalize("21").unwrap(), Dialled::Extension("21".into()));
    assert!(matches!(custom.normalize("22"), Err(Error::TooShort { .. })));
    let none = DialPlan::new(Country::parse("GB").unwrap(), ExtensionPattern::None).unwrap();
    assert!(matches!(none.normalize("1001"), Err(Error::TooShort { .. })));
}

#[test]
fn hostile_and_broken_input_is_refused_with_a_named_error() {
    let gb = plan("GB");
    let long = "0".repeat(MAX_DIAL_STRING_LEN + 1);
    type Check = fn(&Error) -> bool;
    let cases: Vec<(&str, Check)> = vec![
        ("", |e| matches!(e, Error::Empty)),
        ("  - ", |e| matches!(e, Error::Empty)),
        ("+", |e| matches!(e, Error::NoDigits)),
        (" + ", |e| matches!(e, Error::NoDigits)),
        (&long, |e| matches!(e, Error::InputTooLong { len: 33, max: 32 })),
        ("1-800-FLOWERS", |e| matches!(e, Error::Letter { ch: 'F', at: 6 })),
        ("sip:alice", |e| matches!(e, Error::Letter { ch: 's', at: 0 })),
        ("0207946é", |e| matches!(e, Error::Letter { ch: 'é', .. })),
        ("020;phone-context=+44", |e| matches!(e, Error::InvalidCharacter { ch: ';', at: 3 })),
        ("020\u{0}7946", |e| matches!(e, Error::InvalidCharacter { ch: '\u{0}', .. })),
        ("020%207946", |e| matches!(e, Error::InvalidCharacter { ch: '%', .. })),
        ("+44+20", |e| matches!(e, Error::MisplacedPlus { at: 3 })),
        ("44+", |e| matches!(e, Error::MisplacedPlus { .. })),
        ("++44", |e| matches!(e, Error::MisplacedPlus { at: 1 })),
        ("020*7946", |e| matches!(e, Error::MisplacedFeatureCharacter)),
        ("+*97", |e| matches!(e, Error::MisplacedFeatureCharacter)),
        ("0207", |e| matches!(e, Error::TooShort { .. })),
        ("00", |e| matches!(e, Error::TooShort { .. })),
        ("+4", |e| matches!(e, Error::TooShort { .. })),
        ("+44 20", |e| matches!(e, Error::TooShort { .. })),
        ("+0123456789", |e| matches!(e, Error::UnknownCountryCode { .. })),
        ("+999 123 4567", |e| matches!(e, Error::UnknownCountryCode { .. })),
        ("00 999 123 4567", |e| matches!(e, Error::UnknownCountryCode { .. })),
        ("+44 20 7946 0958 1234 5", |e| matches!(e, Error::TooManyDigits { digits: 17 })),
    ];
    for (input, check) in cases {
        match gb.normalize(input) {
            Err(e) => {
                assert!(check(&e), "{input:?} gave {e:?}");
                assert!(e.is_dialled_number_fault());
                assert!(!e.to_string().is_empty());
            }
            Ok(d) => panic!("{input:?} accepted as {d:?}"),
        }
    }
}

#[test]
fn error_messages_name_the_problem() {
    let gb = plan("GB");
    let msg = |s: &str| gb.normalize(s).unwrap_err().to_string();
    assert!(msg("1-800-FLOWERS").contains("letter 'F'"));
    assert!(msg(&"1".repeat(40)).contains("40 bytes"));
    assert!(msg("+").contains("only '+'"));
    assert!(msg("0207").contains("too short"));
    assert!(msg("+999 1234567").contains("country calling code"));
}

#[test]
fn unknown_home_country_is_refused() {
    // AQ (Antarctica) has no numbering plan of its own.
    let err = DialPlan::new(Country::parse("AQ").unwrap(), ExtensionPattern::None).unwrap_err();
    assert!(matches!(err, Error::UnknownCountry(_)));
    assert!(!err.is_dialled_number_fault());
}
