//! URI parse of arbitrary text; a parsed URI must print to text that parses back to an
//! equal URI that is equivalent to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringfence_sip_types::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(uri) = Uri::parse(text) else { return };
    let printed = uri.to_string();
    let again = Uri::parse(&printed).expect("printed URI must parse");
    assert_eq!(again, uri);
    assert!(uri.equivalent(&again));
    if let Some(s) = uri.as_sip() {
        let _ = s.user_unescaped();
    }
});
