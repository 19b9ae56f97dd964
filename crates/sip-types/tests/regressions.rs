//! One test per bug found by fuzzing or property testing, named after the bug.

use ringfence_sip_types::Uri;

fn self_equivalent_after_reprint(text: &str) {
    let uri = Uri::parse(text).unwrap();
    let again = Uri::parse(&uri.to_string()).unwrap();
    assert_eq!(again, uri);
    assert!(uri.equivalent(&uri), "{text} is not equivalent to itself");
    assert!(uri.equivalent(&again), "{text} is not equivalent to its reprint");
    assert!(again.equivalent(&uri));
}

/// fuzz `uri`, crash-b9ec6386: a TEL URI whose parameter name repeats with different
/// values compared each occurrence against the first one of the other URI, so it was
/// not equivalent to itself.
#[test]
fn fuzz_uri_tel_repeated_param_not_self_equivalent() {
    self_equivalent_after_reprint("tel:15;30023;ext=e.15;30023;ext=e.cc");
    let a = Uri::parse("tel:15;ext=1;ext=2").unwrap();
    let b = Uri::parse("tel:15;ext=2;ext=1").unwrap();
    assert!(a.equivalent(&b), "parameter order is not significant (RFC 3966 §4)");
    assert!(!a.equivalent(&Uri::parse("tel:15;ext=1;ext=3").unwrap()));
}

/// Same defect in SIP URIs: repeated URI parameter names, and repeated URI headers
/// compared one-sidedly (`?a=1&a=1` matched `?a=1&b=2`).
#[test]
fn fuzz_uri_sip_repeated_params_and_headers() {
    self_equivalent_after_reprint("sip:h.example;x=1;x=2");
    self_equivalent_after_reprint("sip:h.example?a=1&a=2");
    let a = Uri::parse("sip:h.example?a=1&a=1").unwrap();
    let b = Uri::parse("sip:h.example?a=1&b=2").unwrap();
    assert!(!a.equivalent(&b));
    assert!(!b.equivalent(&a));
}
