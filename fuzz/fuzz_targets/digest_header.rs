//! `WWW-Authenticate` / `Authorization` values: parsing arbitrary text never panics, and a
//! parsed challenge or credentials value prints to text that parses back to an equal value
//! (when the canonical print still fits the size limit: printing adds quotes and spacing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringfence_sip_types::auth::{Challenge, Credentials, MAX_VALUE_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(challenge) = Challenge::parse(text) {
        let printed = challenge.to_string();
        assert!(!printed.contains(['\r', '\n']), "printed challenge must stay on one line");
        if printed.len() <= MAX_VALUE_LEN {
            let again = Challenge::parse(&printed).expect("printed challenge must parse");
            assert_eq!(again, challenge);
        }
    }
    if let Ok(credentials) = Credentials::parse(text) {
        let printed = credentials.to_string();
        assert!(!printed.contains(['\r', '\n']), "printed credentials must stay on one line");
        if printed.len() <= MAX_VALUE_LEN {
            let again = Credentials::parse(&printed).expect("printed credentials must parse");
            assert_eq!(again, credentials);
        }
    }
});
