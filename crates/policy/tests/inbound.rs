//! Inbound caller-ID blocking (RFC 3323, RFC 3325 anonymity; exact and prefix rules).

use ringfence_policy::{
    AnonymousReason, BlockKind, BlockMatch, BlockRule, CallerId, Country, Error, InboundBlockList,
};

fn rule(kind: BlockKind, value: &str) -> BlockRule {
    BlockRule { kind, value: value.into() }
}

fn list(home: &str, rules: Vec<BlockRule>) -> InboundBlockList {
    InboundBlockList::new(Country::parse(home).unwrap(), rules).unwrap()
}

fn from(number: &str) -> CallerId<'_> {
    CallerId { number: Some(number), host: Some("carrier.example"), ..Default::default() }
}

#[test]
fn rfc3323_4_1_1_3_anonymous_from_is_anonymous() {
    let c = CallerId {
        number: Some("anonymous"),
        host: Some("anonymous.invalid"),
        display_name: Some("Anonymous"),
        privacy: None,
    };
    assert_eq!(c.anonymous(), Some(AnonymousReason::AnonymousUri));
    let host_only = CallerId {
        number: Some("+442079460958"),
        host: Some("Anonymous.Invalid"),
        ..Default::default()
    };
    assert_eq!(host_only.anonymous(), Some(AnonymousReason::AnonymousUri));
}

#[test]
fn rfc3323_4_2_and_rfc3325_9_3_privacy_values() {
    for (privacy, anonymous) in [
        ("id", true),
        ("id;critical", true),
        ("header", true),
        ("user; session", true),
        ("ID", true),
        ("none", false),
        ("session", false),
        ("critical", false),
    ] {
        let c = CallerId { privacy: Some(privacy), ..from("+442079460958") };
        assert_eq!(c.anonymous().is_some(), anonymous, "{privacy}");
        if anonymous {
            assert_eq!(c.anonymous(), Some(AnonymousReason::PrivacyRequested));
        }
    }
}

#[test]
fn withheld_display_names_and_missing_numbers() {
    for name in ["Anonymous", "restricted", "Withheld", "PRIVATE", "Unavailable"] {
        let c = CallerId { display_name: Some(name), ..from("+442079460958") };
        assert_eq!(c.anonymous(), Some(AnonymousReason::AnonymousDisplayName), "{name}");
    }
    assert_eq!(CallerId::default().anonymous(), Some(AnonymousReason::NoNumber));
    assert_eq!(from("").anonymous(), Some(AnonymousReason::NoNumber));
    assert_eq!(from("unknown").anonymous(), Some(AnonymousReason::NoNumber));
    assert_eq!(from("+442079460958").anonymous(), None);
    let named = CallerId { display_name: Some("Alice"), ..from("alice") };
    assert_eq!(named.anonymous(), None);
}

#[test]
fn anonymous_rule_blocks_with_433() {
    let l =
        list("GB", vec![rule(BlockKind::Exact, "+441234567890"), rule(BlockKind::Anonymous, "")]);
    let m = l.check(&CallerId { privacy: Some("id"), ..from("+442079460958") }).unwrap();
    assert_eq!(
        m,
        BlockMatch {
            rule: 1,
            kind: BlockKind::Anonymous,
            anonymous: Some(AnonymousReason::PrivacyRequested)
        }
    );
    assert_eq!(m.sip(), (433, "Anonymity Disallowed"));
    assert_eq!(l.rule(m.rule).unwrap().kind, BlockKind::Anonymous);
    // Without an anonymous rule, anonymous callers pass.
    let l = list("GB", vec![rule(BlockKind::Prefix, "+44")]);
    assert_eq!(l.check(&CallerId::default()), None);
}

#[test]
fn exact_rules_match_every_format_of_the_number() {
    let l = list("DE", vec![rule(BlockKind::Exact, "030 1234567".replace(' ', "").as_str())]);
    for caller in
        ["+49301234567", "030 1234567", "0049301234567", "49301234567", "+49 (0)30 1234567"]
    {
        let m = l.check(&from(caller)).unwrap_or_else(|| panic!("{caller} not blocked"));
        assert_eq!((m.rule, m.kind), (0, BlockKind::Exact));
        assert_eq!(m.sip(), (603, "Decline"));
    }
    for caller in ["+49301234568", "+4930123456", "+44301234567"] {
        assert_eq!(l.check(&from(caller)), None, "{caller}");
    }
}

#[test]
fn prefix_rules_in_international_and_national_form() {
    let l = list(
        "DE",
        vec![
            rule(BlockKind::Prefix, "0900"),  // national premium range: +49900
            rule(BlockKind::Prefix, "+882"),  // international networks
            rule(BlockKind::Prefix, "00371"), // Latvia via the international prefix
            rule(BlockKind::Prefix, "+8821"), // longer: wins over +882
        ],
    );
    let check = |n: &str| l.check(&from(n)).map(|m| m.rule);
    assert_eq!(check("+49 900 1234567"), Some(0));
    assert_eq!(check("0900 1234567"), Some(0));
    assert_eq!(check("+882 2 1234567"), Some(1));
    assert_eq!(check("+882 1 6123456"), Some(3));
    assert_eq!(check("+371 2 1234567"), Some(2));
    assert_eq!(check("+49 30 1234567"), None);
    assert_eq!(check("+44 20 7946 0958"), None);
}

#[test]
fn hostile_caller_numbers_do_not_match_or_panic() {
    let l =
        list("GB", vec![rule(BlockKind::Prefix, "+44"), rule(BlockKind::Exact, "+442079460958")]);
    for n in ["+44\u{0}20", "4420 7946 0958 ; drop table", &"4".repeat(200), "+", "٤٤٢٠"] {
        assert_eq!(l.check(&from(n)), None, "{n:?}");
    }
}

#[test]
fn malformed_rules_are_refused_with_their_position() {
    for (rules, index) in [
        (vec![rule(BlockKind::Exact, "+44"), rule(BlockKind::Exact, "+44a")], 1),
        (vec![rule(BlockKind::Prefix, "")], 0),
        (vec![rule(BlockKind::Anonymous, "123")], 0),
        (vec![rule(BlockKind::Prefix, "+1234567890123456")], 0),
    ] {
        match InboundBlockList::new(Country::parse("GB").unwrap(), rules) {
            Err(Error::BlockRule { index: i, .. }) => assert_eq!(i, index),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn first_of_duplicate_rules_is_reported() {
    let l = list("GB", vec![rule(BlockKind::Prefix, "+4420"), rule(BlockKind::Prefix, "004420")]);
    assert_eq!(l.check(&from("+442079460958")).unwrap().rule, 0);
    assert_eq!(l.rules().len(), 2);
}
