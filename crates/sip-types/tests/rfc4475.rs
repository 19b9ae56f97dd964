//! RFC 4475 "SIP Torture Test Messages": every message checked by its class.
//!
//! * §3.1.1 valid: parses, and every header this crate types parses too.
//! * §3.1.2 invalid: rejected with the specific error naming the problem.
//! * §3.2-3.4 (transaction, application, compat): parses; the application-level
//!   verdict (416, 420, 483, ...) belongs to the layers above, but the facts they need
//!   are checked here.
//!
//! One test per message, named by RFC section. The corpus is read from
//! `RINGFENCE_TESTDATA` (default `../shared/testdata` beside the workspace).

use crate::common;

use ringfence_sip_types::header::Contact;
use ringfence_sip_types::{Limit, Message, Method, ParseError, Uri};

fn load(file: &str) -> Option<Vec<u8>> {
    common::corpus("rfc4475").map(|d| common::read(&d, file))
}

fn report(section: &str, file: &str, verdict: &str) {
    eprintln!("rfc4475 {section} {file}: {verdict}");
}

/// Parses a `valid` or other must-parse message; for `valid`, also typed-parses every
/// known header.
fn must_parse(section: &str, file: &str, strict: bool) -> Option<Message> {
    let bytes = load(&format!("{file}.dat"))?;
    let msg = Message::parse(&bytes)
        .unwrap_or_else(|e| panic!("rfc4475 {section} {file}: expected to parse, got: {e}"));
    if strict {
        msg.headers()
            .check_known()
            .unwrap_or_else(|e| panic!("rfc4475 {section} {file}: typed header failed: {e}"));
        msg.check_required_headers()
            .unwrap_or_else(|e| panic!("rfc4475 {section} {file}: required header failed: {e}"));
    }
    // Printing gives an equivalent message.
    let again = Message::parse(&msg.to_bytes())
        .unwrap_or_else(|e| panic!("rfc4475 {section} {file}: reprint does not parse: {e}"));
    assert_eq!(again, msg, "rfc4475 {section} {file}: reprint differs");
    report(section, file, if strict { "valid ok" } else { "parses ok" });
    Some(msg)
}

fn must_reject(section: &str, file: &str, expected: ParseError) {
    let Some(bytes) = load(&format!("{file}.dat")) else { return };
    match Message::parse(&bytes) {
        Ok(_) => panic!("rfc4475 {section} {file}: expected rejection ({expected}), but it parsed"),
        Err(e) => {
            assert_eq!(e, expected, "rfc4475 {section} {file}: wrong error");
            report(section, file, &format!("invalid ok ({})", e.reason_phrase()));
        }
    }
}

macro_rules! valid {
    ($($name:ident => $section:literal $file:literal $(, |$m:ident| $check:block)?;)*) => {$(
        #[test]
        fn $name() {
            #[allow(unused_variables)]
            let Some(msg) = must_parse($section, $file, true) else { return };
            $( let $m = msg; $check )?
        }
    )*};
}

macro_rules! invalid {
    ($($name:ident => $section:literal $file:literal: $err:expr;)*) => {$(
        #[test]
        fn $name() {
            must_reject($section, $file, $err);
        }
    )*};
}

macro_rules! parses {
    ($($name:ident => $section:literal $file:literal $(, |$m:ident| $check:block)?;)*) => {$(
        #[test]
        fn $name() {
            #[allow(unused_variables)]
            let Some(msg) = must_parse($section, $file, false) else { return };
            $( let $m = msg; $check )?
        }
    )*};
}

fn req(m: &Message) -> &ringfence_sip_types::Request {
    m.as_request().expect("a request")
}

valid! {
    rfc4475_3_1_1_1_wsinv => "3.1.1.1" "wsinv", |m| {
        let r = req(&m);
        assert_eq!(r.max_forwards().unwrap(), Some(68));
        assert_eq!(r.cseq().unwrap().seq, 9);
        assert_eq!(r.via().unwrap().len(), 3);
        assert_eq!(r.from().unwrap().display_name.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(r.to().unwrap().tag(), Some("1918181833n"));
        assert_eq!(r.header_str("NewFangledHeader"), Some("newfangled value\r\n continued newfangled value"));
        assert_eq!(r.header_str("UnknownHeaderWithUnusualValue"), Some(";;,,;;,;"));
        let c = r.contacts().unwrap();
        assert_eq!(c[0].address().unwrap().q_millis(), Some(330));
        assert_eq!(r.body.len(), 150);
    };
    rfc4475_3_1_1_2_intmeth => "3.1.1.2" "intmeth", |m| {
        let r = req(&m);
        assert_eq!(r.method, Method::Other("!interesting-Method0123456789_*+`.%indeed'~".into()));
        assert_eq!(r.to().unwrap().display_name.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
        assert_eq!(r.header_str("extensionHeader-!.%*+_`'~"), Some("\u{feff}\u{5927}\u{505c}\u{96fb}"));
    };
    rfc4475_3_1_1_3_esc01 => "3.1.1.3" "esc01", |m| {
        let r = req(&m);
        let to = r.to().unwrap();
        assert_eq!(to.uri.as_sip().unwrap().user_unescaped().unwrap(), b"user");
        assert!(r.uri.as_sip().unwrap().user.as_deref() == Some("sips%3Auser%40example.com"));
    };
    rfc4475_3_1_1_4_escnull => "3.1.1.4" "escnull", |m| {
        let c = req(&m).contacts().unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].address().unwrap().uri.as_sip().unwrap().user_unescaped().unwrap(), b"\0\0");
    };
    rfc4475_3_1_1_5_esc02 => "3.1.1.5" "esc02", |m| {
        let r = req(&m);
        assert_eq!(r.method.as_str(), "RE%47IST%45R");
        assert_eq!(r.contacts().unwrap().len(), 2);
        assert_eq!(r.header_str("C%6Fntact"), Some("<sip:alias2@host2.example.com>"));
    };
    rfc4475_3_1_1_6_lwsdisp => "3.1.1.6" "lwsdisp", |m| {
        assert_eq!(req(&m).from().unwrap().display_name.as_deref(), Some("caller"));
    };
    rfc4475_3_1_1_7_longreq => "3.1.1.7" "longreq", |m| {
        assert_eq!(req(&m).via().unwrap().len(), 34);
    };
    rfc4475_3_1_1_8_dblreq => "3.1.1.8" "dblreq", |m| {
        let r = req(&m);
        assert_eq!(r.method, Method::Register);
        assert!(r.body.is_empty());
    };
    rfc4475_3_1_1_9_semiuri => "3.1.1.9" "semiuri", |m| {
        let u = req(&m).uri.as_sip().unwrap().clone();
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert!(u.params.is_empty());
    };
    rfc4475_3_1_1_10_transports => "3.1.1.10" "transports", |m| {
        let t: Vec<String> = req(&m).via().unwrap().into_iter().map(|v| v.transport).collect();
        assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    };
    rfc4475_3_1_1_11_mpart01 => "3.1.1.11" "mpart01", |m| {
        let r = req(&m);
        assert!(r.content_type().unwrap().unwrap().is("multipart", "mixed"));
        assert_eq!(r.body.len(), 553);
        assert_eq!(r.via_top().unwrap().rport(), Some(None));
    };
    rfc4475_3_1_1_12_unreason => "3.1.1.12" "unreason", |m| {
        let r = m.as_response().unwrap();
        assert_eq!(r.status.code(), 200);
        assert!(r.reason.starts_with("= 2**3 * 5**2 "));
    };
    rfc4475_3_1_1_13_noreason => "3.1.1.13" "noreason", |m| {
        let r = m.as_response().unwrap();
        assert_eq!(r.status.code(), 100);
        assert_eq!(r.reason, "");
    };
}

invalid! {
    rfc4475_3_1_2_1_badinv01 => "3.1.2.1" "badinv01": ParseError::InvalidHeader { header: "Via", reason: "empty or malformed parameter" };
    rfc4475_3_1_2_2_clerr => "3.1.2.2" "clerr": ParseError::BodyTooShort { declared: 9999, available: 154 };
    rfc4475_3_1_2_3_ncl => "3.1.2.3" "ncl": ParseError::InvalidHeader { header: "Content-Length", reason: "not a non-negative number" };
    rfc4475_3_1_2_4_scalar02 => "3.1.2.4" "scalar02": ParseError::InvalidHeader { header: "CSeq", reason: "sequence number out of range (above 2^32-1)" };
    rfc4475_3_1_2_5_scalarlg => "3.1.2.5" "scalarlg": ParseError::InvalidHeader { header: "CSeq", reason: "sequence number out of range (above 2^32-1)" };
    rfc4475_3_1_2_6_quotbal => "3.1.2.6" "quotbal": ParseError::InvalidHeader { header: "To", reason: "unterminated quoted string" };
    rfc4475_3_1_2_7_ltgtruri => "3.1.2.7" "ltgtruri": ParseError::InvalidRequestUri("Request-URI must not be enclosed in <>");
    rfc4475_3_1_2_8_lwsruri => "3.1.2.8" "lwsruri": ParseError::InvalidRequestUri("white space inside the Request-URI");
    rfc4475_3_1_2_9_lwsstart => "3.1.2.9" "lwsstart": ParseError::InvalidRequestLine("more than one SP between request line elements");
    rfc4475_3_1_2_10_trws => "3.1.2.10" "trws": ParseError::InvalidRequestLine("white space at end of request line");
    rfc4475_3_1_2_11_escruri => "3.1.2.11" "escruri": ParseError::InvalidRequestUri("header component not allowed in a Request-URI");
    rfc4475_3_1_2_12_baddate => "3.1.2.12" "baddate": ParseError::InvalidHeader { header: "Date", reason: "time zone must be GMT" };
    rfc4475_3_1_2_13_regbadct => "3.1.2.13" "regbadct": ParseError::InvalidHeader { header: "Contact", reason: "URI with headers must be enclosed in <>" };
    rfc4475_3_1_2_14_badaspec => "3.1.2.14" "badaspec": ParseError::InvalidHeader { header: "To", reason: "white space inside <> around the URI" };
    rfc4475_3_1_2_15_baddn => "3.1.2.15" "baddn": ParseError::InvalidHeader { header: "From", reason: "display name with special characters must be quoted" };
    rfc4475_3_1_2_16_badvers => "3.1.2.16" "badvers": ParseError::UnsupportedVersion;
    rfc4475_3_1_2_17_mismatch01 => "3.1.2.17" "mismatch01": ParseError::InvalidHeader { header: "CSeq", reason: "method does not match request method" };
    rfc4475_3_1_2_18_mismatch02 => "3.1.2.18" "mismatch02": ParseError::InvalidHeader { header: "CSeq", reason: "method does not match request method" };
    rfc4475_3_1_2_19_bigcode => "3.1.2.19" "bigcode": ParseError::InvalidStatusLine("status code is not three digits");
}

parses! {
    // §3.2.1: no magic cookie, so the transaction layer uses RFC 2543 matching.
    rfc4475_3_2_1_badbranch => "3.2.1" "badbranch", |m| {
        let v = req(&m).via_top().unwrap();
        assert_eq!(v.branch(), Some("z9hG4bK"));
    };
    // §3.3.1: To, From, Call-ID and Max-Forwards are missing: answer 400 naming one.
    rfc4475_3_3_1_insuf => "3.3.1" "insuf", |m| {
        assert!(matches!(m.check_required_headers(), Err(ParseError::MissingHeader(_))));
    };
    // §3.3.2: unknown scheme in the Request-URI: 416.
    rfc4475_3_3_2_unkscm => "3.3.2" "unkscm", |m| {
        assert!(matches!(&req(&m).uri, Uri::Absolute(s) if s == "nobodyKnowsThisScheme:totallyopaquecontent"));
    };
    rfc4475_3_3_3_novelsc => "3.3.3" "novelsc", |m| {
        assert_eq!(req(&m).uri.scheme(), "soap.beep");
    };
    // §3.3.4: unknown schemes in To/From/Contact are legal.
    rfc4475_3_3_4_unksm2 => "3.3.4" "unksm2", |m| {
        let r = req(&m);
        assert_eq!(r.to().unwrap().uri.scheme(), "isbn");
        assert_eq!(r.from().unwrap().uri.scheme(), "http");
        assert!(matches!(&r.contacts().unwrap()[0], Contact::Address(a) if a.uri.scheme() == "name"));
        r.headers.check_known().unwrap();
    };
    // §3.3.5: 420 listing the Require tags.
    rfc4475_3_3_5_bext01 => "3.3.5" "bext01", |m| {
        let r = req(&m);
        assert_eq!(r.headers.require().unwrap(), ["nothingSupportsThis", "nothingSupportsThisEither"]);
        assert_eq!(r.headers.proxy_require().unwrap().len(), 2);
    };
    // §3.3.6: 415 for the unknown body type.
    rfc4475_3_3_6_invut => "3.3.6" "invut", |m| {
        assert!(req(&m).content_type().unwrap().unwrap().is("application", "unknownformat"));
    };
    // §3.3.7: unknown Authorization scheme.
    rfc4475_3_3_7_regaut01 => "3.3.7" "regaut01", |m| {
        let creds = req(&m).authorization().unwrap();
        assert_eq!(creds.len(), 1);
        assert!(creds[0].as_digest().is_none());
    };
    // §3.3.8: repeated single-valued headers: 400.
    rfc4475_3_3_8_multi01 => "3.3.8" "multi01", |m| {
        let r = req(&m);
        assert_eq!(r.cseq(), Err(ParseError::DuplicateHeader("CSeq")));
        assert_eq!(r.call_id(), Err(ParseError::DuplicateHeader("Call-ID")));
        assert_eq!(r.to(), Err(ParseError::DuplicateHeader("To")));
    };
    // §3.3.9: conflicting Content-Length values: 400.
    rfc4475_3_3_9_mcl01 => "3.3.9" "mcl01", |m| {
        assert_eq!(req(&m).content_length(), Err(ParseError::DuplicateHeader("Content-Length")));
    };
    // §3.3.10: a broadcast address in the second Via of a response.
    rfc4475_3_3_10_bcast => "3.3.10" "bcast", |m| {
        let v = m.as_response().unwrap().via().unwrap();
        assert_eq!(v[1].host.to_string(), "255.255.255.255");
    };
    // §3.3.11: Max-Forwards 0: 483 if the request would be forwarded.
    rfc4475_3_3_11_zeromf => "3.3.11" "zeromf", |m| {
        assert_eq!(req(&m).max_forwards().unwrap(), Some(0));
    };
    // §3.3.12: the parameter belongs to the Contact header, not the URI.
    rfc4475_3_3_12_cparam01 => "3.3.12" "cparam01", |m| {
        let c = req(&m).contacts().unwrap();
        let a = c[0].address().unwrap();
        assert!(a.params.contains("unknownparam"));
        assert!(a.uri.as_sip().unwrap().params.is_empty());
    };
    rfc4475_3_3_13_cparam02 => "3.3.13" "cparam02", |m| {
        let c = req(&m).contacts().unwrap();
        let a = c[0].address().unwrap();
        assert!(a.params.is_empty());
        assert!(a.uri.as_sip().unwrap().params.contains("unknownparam"));
    };
    rfc4475_3_3_14_regescrt => "3.3.14" "regescrt", |m| {
        let c = req(&m).contacts().unwrap();
        assert_eq!(c[0].address().unwrap().uri.as_sip().unwrap().headers[0].0, "Route");
    };
    rfc4475_3_3_15_sdp01 => "3.3.15" "sdp01", |m| {
        assert_eq!(req(&m).header_str("accept"), Some("text/nobodyKnowsThis"));
    };
    // §3.4.1: RFC 2543 syntax: no branch, no Max-Forwards, no Content-Length.
    rfc4475_3_4_1_inv2543 => "3.4.1" "inv2543", |m| {
        let r = req(&m);
        assert_eq!(r.via_top().unwrap().branch(), None);
        assert_eq!(r.max_forwards().unwrap(), None);
        assert!(!r.body.is_empty());
    };
}

/// Every file listed in INDEX.tsv has a test above with the same class.
#[test]
fn rfc4475_index_is_covered() {
    let Some(dir) = common::corpus("rfc4475") else { return };
    let index = String::from_utf8(common::read(&dir, "INDEX.tsv")).unwrap();
    let source = include_str!("rfc4475.rs");
    let mut rows = 0;
    for line in index.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, section, class) = (cols[0].trim_end_matches(".dat"), cols[1], cols[2]);
        let test =
            format!("rfc4475_{}_{file} => \"{section}\" \"{file}\"", section.replace('.', "_"));
        assert!(source.contains(&test), "no test for {file} ({section})");
        rows += 1;
        // The class decides which macro the test sits in.
        let pos = source.find(&test).unwrap();
        let macro_start = ["\nvalid! {", "\ninvalid! {", "\nparses! {"]
            .iter()
            .filter_map(|m| source[..pos].rfind(m).map(|p| (p, *m)))
            .max()
            .unwrap()
            .1;
        let expected = match class {
            "valid" => "\nvalid! {",
            "invalid" => "\ninvalid! {",
            _ => "\nparses! {",
        };
        assert_eq!(macro_start, expected, "{file} is {class} in INDEX.tsv");
    }
    assert_eq!(rows, 49);
}

/// Message-size limit applies to the corpus too: a small limit rejects longreq.
#[test]
fn rfc4475_3_1_1_7_longreq_respects_limits() {
    let Some(bytes) = load("longreq.dat") else { return };
    let limits = ringfence_sip_types::Limits { max_vias: 10, ..Default::default() };
    assert_eq!(
        Message::parse_with(&bytes, &limits),
        Err(ParseError::LimitExceeded { limit: Limit::ViaCount, max: 10 })
    );
}
