//! Datagram parse of arbitrary bytes; a parsed message must print to bytes that parse
//! back to an equal message, and every typed accessor must return without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringfence_sip_types::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::parse(data) else { return };
    let h = msg.headers();
    let _ = h.check_known();
    let _ = msg.check_required_headers();
    let _ = (h.via(), h.from(), h.to(), h.call_id(), h.cseq(), h.contacts(), h.routes());
    let _ = (h.reasons(), h.p_asserted_identity(), h.privacy(), h.allow(), h.supported());
    let _ = (h.authorization(), h.www_authenticate(), h.content_type(), h.expires());
    let printed = msg.to_bytes();
    let again = Message::parse(&printed).expect("printed message must parse");
    assert_eq!(again, msg, "print(parse(x)) must parse to the same message");
});
