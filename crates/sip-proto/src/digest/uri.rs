//! The `uri` parameter check (RFC 3261 §22.4 / RFC 7616 §3.4.6: the server should check
//! that the digest `uri` names the request's target).

use std::net::IpAddr;

/// How strictly the digest `uri` must match the request-URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UriCheck {
    /// The digest `uri` must equal the request-URI byte for byte (what conforming phones
    /// send: they copy the request-URI).
    #[default]
    Strict,
    /// Also accept any `sip:`/`sips:` URI whose host is the realm (ASCII case-insensitive)
    /// or an IP address literal. Some user agents sign another form of the target (SIPp
    /// signs `sip:<remote-ip>:<port>` unless given `-auth_uri`). Replay protection does not
    /// rest on this check (nonces are bound to realm and source, counts are tracked), so
    /// relaxing it costs little; it is still off by default.
    Lenient,
}

/// Whether `digest_uri` is acceptable for a request to `request_uri` in `realm`.
pub(crate) fn uri_matches(
    check: UriCheck,
    digest_uri: &str,
    request_uri: &str,
    realm: &str,
) -> bool {
    if digest_uri == request_uri {
        return true;
    }
    match check {
        UriCheck::Strict => false,
        UriCheck::Lenient => sip_host(digest_uri)
            .is_some_and(|host| host.eq_ignore_ascii_case(realm) || host.parse::<IpAddr>().is_ok()),
    }
}

/// The host of a `sip:`/`sips:` URI (without brackets for IPv6), or `None`.
///
/// ```text
/// SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]
/// ```
/// Parameters and headers cannot contain `@` but the user part can contain `;` and `?`,
/// so the user part ends at the last `@`.
fn sip_host(uri: &str) -> Option<&str> {
    let rest = strip_prefix_ci(uri, "sips:").or_else(|| strip_prefix_ci(uri, "sip:"))?;
    let hostport = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
    let hostport = hostport.split([';', '?']).next().unwrap_or_default();
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => hostport.split(':').next().unwrap_or_default(),
    };
    (!host.is_empty()).then_some(host)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_wants_the_request_uri() {
        assert!(uri_matches(UriCheck::Strict, "sip:example.com", "sip:example.com", "example.com"));
        assert!(!uri_matches(
            UriCheck::Strict,
            "sip:127.0.0.1:5060",
            "sip:example.com",
            "example.com"
        ));
    }

    #[test]
    fn lenient_accepts_realm_host_or_address() {
        let ok = |u: &str| uri_matches(UriCheck::Lenient, u, "sip:example.com", "example.com");
        assert!(ok("sip:127.0.0.1:5060"));
        assert!(ok("SIP:Example.COM"));
        assert!(ok("sips:alice@example.com:5061;transport=tls"));
        assert!(ok("sip:a;b?c@example.com?subject=x"));
        assert!(ok("sip:[2001:db8::1]:5060"));
        assert!(ok("sip:bob@192.0.2.1"));
        assert!(!ok("sip:evil.example.net"));
        assert!(!ok("sip:example.com.evil.net"));
        assert!(!ok("tel:+15551234567"));
        assert!(!ok("http://example.com/"));
        assert!(!ok("sip:[2001:db8::1"));
        assert!(!ok("sip:"));
        assert!(!ok("sip:é"));
    }

    #[test]
    fn host_extraction() {
        assert_eq!(sip_host("sip:u@h:5060;lr"), Some("h"));
        assert_eq!(sip_host("sip:[::1]"), Some("::1"));
        assert_eq!(sip_host("sip:@"), None);
    }
}
