//! `host [":" port]` parse of arbitrary text (advertised addresses in the configuration);
//! a parsed value must print to text that parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringfence_sip_types::Host;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok((host, port)) = Host::parse_hostport(text) else { return };
    let printed = match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let again = Host::parse_hostport(&printed).expect("printed host:port must parse");
    assert_eq!(again, (host, port));
});
