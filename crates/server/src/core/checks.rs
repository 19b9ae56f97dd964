//! What the core checks before a request reaches a TU (RFC 3261 §8.2.1, §8.2.2, §16.3),
//! in the RFC's order: method, URI scheme, `Require`, then `Max-Forwards` for what the
//! B2BUA relays.

use ringfence_sip_types::{HeaderName, Method, Request, Response, Uri};

use crate::options::ALLOWED_METHODS;

/// Option tags the registrar supports (RFC 3327 Path, RFC 5626 outbound).
pub const REGISTRAR_SUPPORTED: &[&str] = &["path", "outbound"];

/// Who handles a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Register,
    Options,
    Call,
}

/// A response to `request` from the core itself, with a To tag (§8.2.6.2).
pub(crate) fn local_response(request: &Request, code: u16) -> Response {
    let mut r = Response::from_request(request, code);
    let _ = r.set_to_tag(&crate::auth::random_tag());
    r
}

fn with_header(mut r: Response, name: HeaderName, value: &str) -> Response {
    r.headers.remove(HeaderName::ContentLength);
    r.headers.push(name, value);
    r.headers.set_content_length(0);
    r
}

/// Where `request` goes, or the response refusing it.
pub(crate) fn classify(request: &Request, call_supported: &[&str]) -> Result<Target, Response> {
    // §8.2.1: a method we know but do not offer gets 405, one we do not know 501; both
    // list what is allowed.
    let target = match &request.method {
        Method::Register => Target::Register,
        Method::Options => Target::Options,
        Method::Invite
        | Method::Ack
        | Method::Bye
        | Method::Cancel
        | Method::Update
        | Method::Info
        | Method::Prack
        | Method::Refer
        | Method::Message
        | Method::Notify => Target::Call,
        Method::Other(_) => {
            return Err(with_header(
                local_response(request, 501),
                HeaderName::Allow,
                ALLOWED_METHODS,
            ));
        }
        _ => {
            return Err(with_header(
                local_response(request, 405),
                HeaderName::Allow,
                ALLOWED_METHODS,
            ));
        }
    };
    // §8.2.2.1: 416 for a scheme we do not serve.
    if let Uri::Absolute(_) = request.uri {
        return Err(local_response(request, 416));
    }
    // §8.2.2.3: every option tag in Require must be supported.
    let Ok(required) = request.headers.require() else {
        let mut r = local_response(request, 400);
        "Bad Require".clone_into(&mut r.reason);
        return Err(r);
    };
    let supported = |tag: &str| {
        let ours = match target {
            Target::Register => REGISTRAR_SUPPORTED,
            Target::Options => &[][..],
            Target::Call => call_supported,
        };
        ours.iter().any(|s| s.eq_ignore_ascii_case(tag))
    };
    let unsupported: Vec<&str> =
        required.iter().map(String::as_str).filter(|t| !supported(t)).collect();
    if !unsupported.is_empty() {
        let r = local_response(request, 420);
        return Err(with_header(r, HeaderName::Unsupported, &unsupported.join(", ")));
    }
    // §16.3 step 2: what the B2BUA would relay needs a hop left.
    if target == Target::Call && matches!(request.max_forwards(), Ok(Some(0))) {
        return Err(local_response(request, 483));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, uri: &str, extra: &str) -> Request {
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             From: <sip:x@example.com>;tag=1\r\nTo: <sip:y@example.com>\r\nCall-ID: c\r\n\
             CSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Request::parse(text.as_bytes()).unwrap()
    }

    fn refused(r: Result<Target, Response>) -> Response {
        r.expect_err("should be refused")
    }

    #[test]
    fn rfc3261_8_2_1_unknown_and_unsupported_methods() {
        let r = refused(classify(&req("FROBNICATE", "sip:example.com", ""), &[]));
        assert_eq!(r.status.code(), 501);
        assert_eq!(r.header_str("Allow"), Some(ALLOWED_METHODS));
        assert!(r.to().unwrap().tag().is_some());
        let r = refused(classify(&req("SUBSCRIBE", "sip:example.com", ""), &[]));
        assert_eq!(r.status.code(), 405);
        assert_eq!(r.header_str("Allow"), Some(ALLOWED_METHODS));
    }

    #[test]
    fn rfc3261_8_2_2_1_unsupported_uri_scheme() {
        let r = refused(classify(&req("INVITE", "http://example.com", ""), &[]));
        assert_eq!(r.status.code(), 416);
        assert_eq!(classify(&req("INVITE", "tel:+15551234567", ""), &[]), Ok(Target::Call));
    }

    #[test]
    fn rfc3261_8_2_2_3_require() {
        let r = refused(classify(
            &req("INVITE", "sip:a@example.com", "Require: 100rel, foo\r\n"),
            &["100rel"],
        ));
        assert_eq!(r.status.code(), 420);
        assert_eq!(r.header_str("Unsupported"), Some("foo"));
        let ok = classify(&req("REGISTER", "sip:example.com", "Require: path\r\n"), &[]);
        assert_eq!(ok, Ok(Target::Register));
        let r = refused(classify(&req("OPTIONS", "sip:example.com", "Require: path\r\n"), &[]));
        assert_eq!(r.status.code(), 420);
    }

    #[test]
    fn rfc3261_16_3_max_forwards_zero() {
        let r = refused(classify(&req("INVITE", "sip:a@example.com", "Max-Forwards: 0\r\n"), &[]));
        assert_eq!(r.status.code(), 483);
        // The server is the target of REGISTER and OPTIONS: they are answered.
        let ok = classify(&req("OPTIONS", "sip:example.com", "Max-Forwards: 0\r\n"), &[]);
        assert_eq!(ok, Ok(Target::Options));
        let ok = classify(&req("REGISTER", "sip:example.com", "Max-Forwards: 0\r\n"), &[]);
        assert_eq!(ok, Ok(Target::Register));
    }
}
