use super::*;
use proptest::prelude::*;

const RFC7616_SHA256_CHALLENGE: &str = r#"Digest
    realm="http-auth@example.org",
    qop="auth, auth-int",
    algorithm=SHA-256,
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

const RFC7616_SHA256_CREDENTIALS: &str = r#"Digest username="Mufasa",
    realm="http-auth@example.org",
    uri="/dir/index.html",
    algorithm=SHA-256,
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    nc=00000001,
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    qop=auth,
    response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

/// The RFC prints its examples folded; the message parser hands us unfolded values.
fn unfold(s: &str) -> String {
    s.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

fn digest_challenge(s: &str) -> DigestChallenge {
    match Challenge::parse(s) {
        Ok(Challenge::Digest(d)) => d,
        other => panic!("expected a digest challenge from {s:?}, got {other:?}"),
    }
}

fn digest_credentials(s: &str) -> DigestCredentials {
    match Credentials::parse(s) {
        Ok(Credentials::Digest(d)) => d,
        other => panic!("expected digest credentials from {s:?}, got {other:?}"),
    }
}

#[test]
fn rfc7616_3_9_1_sha256_challenge_parses() {
    let c = digest_challenge(&unfold(RFC7616_SHA256_CHALLENGE));
    assert_eq!(c.realm, "http-auth@example.org");
    assert_eq!(c.qop_options, vec![Qop::Auth, Qop::AuthInt]);
    assert_eq!(c.algorithm, Some(Algorithm::Sha256));
    assert_eq!(c.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
    assert_eq!(c.opaque.as_deref(), Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"));
    assert!(!c.stale && !c.userhash && c.params.is_empty());
    assert_eq!(
        c.to_string(),
        "Digest realm=\"http-auth@example.org\", \
         nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
         opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", \
         algorithm=SHA-256, qop=\"auth,auth-int\""
    );
}

#[test]
fn rfc7616_3_9_1_sha256_credentials_parse_and_print_canonically() {
    let c = digest_credentials(&unfold(RFC7616_SHA256_CREDENTIALS));
    assert_eq!(c.username, "Mufasa");
    assert_eq!(c.realm, "http-auth@example.org");
    assert_eq!(c.uri, "/dir/index.html");
    assert_eq!(c.algorithm, Some(Algorithm::Sha256));
    assert_eq!(c.nc, Some(1));
    assert_eq!(c.cnonce.as_deref(), Some("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"));
    assert_eq!(c.qop, Some(Qop::Auth));
    assert_eq!(c.response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    assert_eq!(
        c.to_string(),
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
         nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", uri=\"/dir/index.html\", \
         response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
         algorithm=SHA-256, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", \
         opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", qop=auth, nc=00000001"
    );
}

#[test]
fn rfc3261_20_44_www_authenticate_example() {
    let c = digest_challenge(
        "Digest realm=\"atlanta.com\", domain=\"sip:boxesbybob.com\", qop=\"auth\", \
         nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", opaque=\"\", stale=FALSE, algorithm=MD5",
    );
    assert_eq!(c.domain, vec!["sip:boxesbybob.com".to_owned()]);
    assert_eq!(c.opaque.as_deref(), Some(""));
    assert!(!c.stale);
    assert_eq!(c.algorithm, Some(Algorithm::Md5));
    assert_eq!(c.qop_options, vec![Qop::Auth]);
}

#[test]
fn rfc3261_20_7_authorization_example() {
    let c = digest_credentials(
        "Digest username=\"bob\", realm=\"biloxi.com\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@biloxi.com\", qop=auth, \
         nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", \
         opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    );
    assert_eq!(c.username, "bob");
    assert_eq!(c.uri, "sip:bob@biloxi.com");
    assert_eq!(c.algorithm, None);
    assert_eq!(c.algorithm_or_default(), &Algorithm::Md5);
    assert_eq!(c.nc, Some(1));
}

#[test]
fn rfc8760_algorithm_tokens_print_as_spelled() {
    for (token, alg) in [
        ("MD5", Algorithm::Md5),
        ("MD5-sess", Algorithm::Md5Sess),
        ("SHA-256", Algorithm::Sha256),
        ("SHA-256-sess", Algorithm::Sha256Sess),
        ("SHA-512-256", Algorithm::Sha512_256),
        ("SHA-512-256-sess", Algorithm::Sha512_256Sess),
    ] {
        assert_eq!(Algorithm::from_token(token), alg);
        assert_eq!(Algorithm::from_token(&token.to_ascii_lowercase()), alg);
        assert_eq!(alg.to_string(), token);
    }
    assert_eq!(Algorithm::from_token("SHA3-256"), Algorithm::Other("SHA3-256".into()));
    assert!(Algorithm::Sha256Sess.is_session() && !Algorithm::Sha256.is_session());
}

#[test]
fn stale_and_userhash_flags_print_bare() {
    let mut c = DigestChallenge::new("r", "n");
    c.stale = true;
    c.userhash = true;
    c.charset = Some("UTF-8".into());
    c.algorithm = Some(Algorithm::Sha256);
    c.qop_options = vec![Qop::Auth];
    let printed = c.to_string();
    assert_eq!(
        printed,
        "Digest realm=\"r\", nonce=\"n\", stale=true, algorithm=SHA-256, qop=\"auth\", \
         charset=UTF-8, userhash=true"
    );
    assert_eq!(digest_challenge(&printed), c);
}

#[test]
fn liberal_input_quoting_case_and_whitespace() {
    let c = digest_credentials(
        "digest USERNAME = \"alice\" ,Realm=example.com,\tnonce=abc ,uri=\"sip:example.com\", \
         response=\"00\", Algorithm=\"sha-256\", qop=\"auth\", NC=0000000a, cnonce=xyz",
    );
    assert_eq!(c.username, "alice");
    assert_eq!(c.realm, "example.com");
    assert_eq!(c.nonce, "abc");
    assert_eq!(c.algorithm, Some(Algorithm::Sha256));
    assert_eq!(c.qop, Some(Qop::Auth));
    assert_eq!(c.nc, Some(10));
    assert_eq!(c.cnonce.as_deref(), Some("xyz"));
}

#[test]
fn escapes_are_undone_and_redone() {
    let c = digest_credentials(
        r#"Digest username="a\"b\\c\d", realm="r", nonce="n", uri="u", response="x""#,
    );
    assert_eq!(c.username, "a\"b\\cd");
    let printed = c.to_string();
    assert!(printed.starts_with(r#"Digest username="a\"b\\cd", "#), "{printed}");
    assert_eq!(digest_credentials(&printed), c);
}

#[test]
fn non_ascii_in_quoted_strings_is_kept() {
    let c = digest_credentials(
        "Digest username=\"Jäsøn Doe\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"",
    );
    assert_eq!(c.username, "Jäsøn Doe");
    assert_eq!(digest_credentials(&c.to_string()), c);
}

#[test]
fn other_schemes_are_kept() {
    let c = Challenge::parse("Basic realm=\"WallyWorld\"").unwrap();
    assert_eq!(
        c,
        Challenge::Other {
            scheme: "Basic".into(),
            params: vec![AuthParam {
                name: "realm".into(),
                value: "WallyWorld".into(),
                quoted: true
            }],
        }
    );
    assert_eq!(c.to_string(), "Basic realm=\"WallyWorld\"");
    assert_eq!(c.as_digest(), None);
    let n = Credentials::parse("Negotiate").unwrap();
    assert_eq!(n, Credentials::Other { scheme: "Negotiate".into(), params: vec![] });
    assert_eq!(n.to_string(), "Negotiate");
}

#[test]
fn unknown_digest_params_round_trip_with_their_quoting() {
    let s = "Digest realm=\"r\", nonce=\"n\", x-token=abc, x-quoted=\"a b\"";
    let c = digest_challenge(s);
    assert_eq!(c.params.len(), 2);
    assert!(!c.params[0].quoted && c.params[1].quoted);
    assert_eq!(c.to_string(), s);
}

#[test]
fn printing_drops_characters_that_would_split_a_header() {
    let mut c = DigestChallenge::new("evil\r\nVia: x", "n\0");
    c.algorithm = Some(Algorithm::Other("SHA 1\r\n".into()));
    let printed = c.to_string();
    assert!(!printed.contains(['\r', '\n', '\0']), "{printed:?}");
    assert_eq!(printed, "Digest realm=\"evilVia: x\", nonce=\"n\", algorithm=SHA1");
    Challenge::parse(&printed).unwrap();
}

fn err(s: &str) -> AuthParseError {
    Credentials::parse(s).expect_err(s)
}

const OK_CREDS: &str = "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";

#[test]
fn errors_name_the_problem() {
    assert_eq!(err(""), AuthParseError::Empty);
    assert_eq!(err("   "), AuthParseError::Empty);
    assert!(matches!(err("Digest,"), AuthParseError::Expected { at: 6, .. }));
    assert!(matches!(err("\"Digest\" a=b"), AuthParseError::Expected { at: 0, .. }));
    assert!(matches!(err("Digest username"), AuthParseError::Expected { at: 15, .. }));
    assert!(matches!(err("Digest username="), AuthParseError::Expected { at: 16, .. }));
    assert!(matches!(err(&format!("{OK_CREDS},")), AuthParseError::Expected { .. }));
    assert!(matches!(err(&format!("{OK_CREDS} x")), AuthParseError::Expected { .. }));
    assert!(matches!(err("Digest a=b,,c=d"), AuthParseError::Expected { at: 11, .. }));
    assert_eq!(err("Digest a=\"open"), AuthParseError::UnterminatedQuote { at: 9 });
    assert_eq!(err("Digest a=\"open\\"), AuthParseError::UnterminatedQuote { at: 9 });
    assert_eq!(err("Digest a=\"x\\\"y"), AuthParseError::UnterminatedQuote { at: 9 });
    assert_eq!(err("Digest a=\"x\ry\""), AuthParseError::ForbiddenChar { at: 11 });
    assert_eq!(err("Digest a=\"x\\\ny\""), AuthParseError::ForbiddenChar { at: 12 });
    assert_eq!(err("Digest a=\"x\\\u{e9}\""), AuthParseError::ForbiddenChar { at: 12 });
    assert_eq!(err("Digest a=\"\u{85}\""), AuthParseError::ForbiddenChar { at: 10 });
    assert_eq!(
        err(&format!("{OK_CREDS}, Realm=\"s\"")),
        AuthParseError::DuplicateParam("Realm".into())
    );
    assert_eq!(err("Digest x=y, X=z"), AuthParseError::DuplicateParam("X".into()));
    assert_eq!(err("Digest realm=\"r\""), AuthParseError::MissingParam("username"));
    assert_eq!(
        err("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"u\""),
        AuthParseError::MissingParam("response")
    );
    for nc in ["0000001", "000000001", "0000000A", "0000000g", "\"0000 001\""] {
        assert!(
            matches!(
                err(&format!("{OK_CREDS}, nc={nc}")),
                AuthParseError::InvalidValue { param: "nc", .. }
            ),
            "{nc}"
        );
    }
    assert!(matches!(
        err(&format!("{OK_CREDS}, qop=\"auth,auth-int\"")),
        AuthParseError::InvalidValue { param: "qop", .. }
    ));
    assert!(matches!(
        err(&format!("{OK_CREDS}, algorithm=\"MD 5\"")),
        AuthParseError::InvalidValue { param: "algorithm", .. }
    ));
    assert!(matches!(
        err(&format!("{OK_CREDS}, userhash=yes")),
        AuthParseError::InvalidValue { param: "userhash", .. }
    ));
}

#[test]
fn challenge_errors() {
    let e = |s: &str| Challenge::parse(s).expect_err(s);
    assert_eq!(e("Digest nonce=\"n\""), AuthParseError::MissingParam("realm"));
    assert_eq!(e("Digest realm=\"r\""), AuthParseError::MissingParam("nonce"));
    assert!(matches!(
        e("Digest realm=\"r\", nonce=\"n\", stale=maybe"),
        AuthParseError::InvalidValue { param: "stale", .. }
    ));
    assert!(matches!(
        e("Digest realm=\"r\", nonce=\"n\", qop=\"auth,,auth-int\""),
        AuthParseError::InvalidValue { param: "qop", .. }
    ));
    assert!(matches!(e("Digest\u{a0}realm=\"r\""), AuthParseError::Expected { at: 6, .. }));
}

#[test]
fn limits_are_enforced() {
    let long = format!("Digest realm=\"{}\", nonce=\"n\"", "a".repeat(MAX_VALUE_LEN));
    assert!(matches!(Challenge::parse(&long), Err(AuthParseError::TooLong { .. })));
    let at_limit = format!("Digest realm=\"{}\", nonce=\"n\"", "a".repeat(MAX_VALUE_LEN - 26));
    assert_eq!(at_limit.len(), MAX_VALUE_LEN);
    Challenge::parse(&at_limit).unwrap();

    let params = |n: usize| {
        let list: Vec<String> = (0..n).map(|i| format!("p{i}=v")).collect();
        format!("Basic {}", list.join(", "))
    };
    Challenge::parse(&params(MAX_PARAMS)).unwrap();
    assert_eq!(
        Challenge::parse(&params(MAX_PARAMS + 1)),
        Err(AuthParseError::TooManyParams { max: MAX_PARAMS })
    );
}

// ---- property tests --------------------------------------------------------------------

const TOKEN: &str = "[A-Za-z0-9.!%*_+`'~-]{1,12}";
/// Printable text a quoted string can carry, including quotes, backslashes and non-ASCII.
const TEXT: &str = "[ -~\t\u{a0}-\u{24f}\u{4e00}-\u{4e0f}]{0,24}";
const NON_WS: &str = "[!-~\u{e0}-\u{ff}]{1,16}";

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Md5),
        Just(Algorithm::Md5Sess),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha256Sess),
        Just(Algorithm::Sha512_256),
        Just(Algorithm::Sha512_256Sess),
        TOKEN.prop_map(|t| Algorithm::from_token(&t)),
    ]
}

fn qop() -> impl Strategy<Value = Qop> {
    prop_oneof![Just(Qop::Auth), Just(Qop::AuthInt), TOKEN.prop_map(|t| Qop::from_token(&t))]
}

/// Extension params whose names avoid `known` and each other (case-insensitively).
fn extensions(known: &'static [&'static str]) -> impl Strategy<Value = Vec<AuthParam>> {
    let param = (TOKEN, any::<bool>(), TOKEN, TEXT).prop_map(|(name, quoted, tok, text)| {
        AuthParam { name: format!("x-{name}"), value: if quoted { text } else { tok }, quoted }
    });
    proptest::collection::vec(param, 0..4).prop_map(move |mut v| {
        let mut seen: Vec<String> = known.iter().map(|k| k.to_ascii_lowercase()).collect();
        v.retain(|p| {
            let lower = p.name.to_ascii_lowercase();
            let fresh = !seen.contains(&lower);
            seen.push(lower);
            fresh
        });
        v
    })
}

prop_compose! {
    fn digest_challenge_strategy()(
        realm in TEXT, nonce in TEXT, opaque in proptest::option::of(TEXT),
        domain in proptest::collection::vec(NON_WS, 0..3), stale in any::<bool>(),
        algorithm in proptest::option::of(algorithm()),
        qop_options in proptest::collection::vec(qop(), 0..3),
        charset in proptest::option::of(prop_oneof![TOKEN, TEXT]), userhash in any::<bool>(),
        params in extensions(&[]),
    ) -> DigestChallenge {
        DigestChallenge {
            realm, domain, nonce, opaque, stale, algorithm, qop_options, charset, userhash, params,
        }
    }
}

prop_compose! {
    fn digest_credentials_strategy()(
        username in TEXT, realm in TEXT, nonce in TEXT, uri in TEXT, response in TEXT,
        algorithm in proptest::option::of(algorithm()), cnonce in proptest::option::of(TEXT),
        opaque in proptest::option::of(TEXT), qop in proptest::option::of(qop()),
        nc in proptest::option::of(any::<u32>()), userhash in any::<bool>(),
        params in extensions(&[]),
    ) -> DigestCredentials {
        DigestCredentials {
            username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc, userhash,
            params,
        }
    }
}

fn other_scheme() -> impl Strategy<Value = (String, Vec<AuthParam>)> {
    (TOKEN, extensions(&[])).prop_filter_map("not digest", |(scheme, params)| {
        (!scheme.eq_ignore_ascii_case("digest")).then_some((scheme, params))
    })
}

proptest! {
    #[test]
    fn challenge_print_parse_round_trips(c in prop_oneof![
        digest_challenge_strategy().prop_map(Challenge::Digest),
        other_scheme().prop_map(|(scheme, params)| Challenge::Other { scheme, params }),
    ]) {
        let printed = c.to_string();
        prop_assert_eq!(Challenge::parse(&printed), Ok(c), "{}", printed);
    }

    #[test]
    fn credentials_print_parse_round_trips(c in prop_oneof![
        digest_credentials_strategy().prop_map(Credentials::Digest),
        other_scheme().prop_map(|(scheme, params)| Credentials::Other { scheme, params }),
    ]) {
        let printed = c.to_string();
        prop_assert_eq!(Credentials::parse(&printed), Ok(c), "{}", printed);
    }

    #[test]
    fn parse_never_panics_and_reparses_its_print(s in "\\PC{0,200}|(Digest|Basic) [a-z=\", \\\\]{0,80}") {
        if let Ok(c) = Challenge::parse(&s) {
            prop_assert_eq!(Challenge::parse(&c.to_string()), Ok(c));
        }
        if let Ok(c) = Credentials::parse(&s) {
            prop_assert_eq!(Credentials::parse(&c.to_string()), Ok(c));
        }
    }
}
