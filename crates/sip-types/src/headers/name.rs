//! Known header names, their canonical spelling and compact forms (RFC 3261 §7.3.3,
//! §20; IANA "Header Fields" registry).

/// Headers this crate recognises by name. Lookup is case-insensitive and accepts the
/// compact form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderName {
    /// Accept
    Accept,
    /// Allow
    Allow,
    /// Allow-Events (`u`)
    AllowEvents,
    /// Authorization
    Authorization,
    /// Call-ID (`i`)
    CallId,
    /// Contact (`m`)
    Contact,
    /// Content-Encoding (`e`)
    ContentEncoding,
    /// Content-Length (`l`)
    ContentLength,
    /// Content-Type (`c`)
    ContentType,
    /// CSeq
    CSeq,
    /// Date
    Date,
    /// Event (`o`)
    Event,
    /// Expires
    Expires,
    /// From (`f`)
    From,
    /// Identity (`y`)
    Identity,
    /// Max-Forwards
    MaxForwards,
    /// Min-Expires
    MinExpires,
    /// P-Asserted-Identity
    PAssertedIdentity,
    /// Privacy
    Privacy,
    /// Proxy-Authenticate
    ProxyAuthenticate,
    /// Proxy-Authorization
    ProxyAuthorization,
    /// Proxy-Require
    ProxyRequire,
    /// Reason
    Reason,
    /// Record-Route
    RecordRoute,
    /// Refer-To (`r`)
    ReferTo,
    /// Referred-By (`b`)
    ReferredBy,
    /// Require
    Require,
    /// Retry-After
    RetryAfter,
    /// Route
    Route,
    /// Server
    Server,
    /// Session-Expires (`x`)
    SessionExpires,
    /// Subject (`s`)
    Subject,
    /// Supported (`k`)
    Supported,
    /// To (`t`)
    To,
    /// Unsupported
    Unsupported,
    /// User-Agent
    UserAgent,
    /// Via (`v`)
    Via,
    /// Warning
    Warning,
    /// WWW-Authenticate
    WwwAuthenticate,
}

impl HeaderName {
    /// The canonical spelling, e.g. `"Call-ID"`.
    pub const fn as_str(self) -> &'static str {
        use HeaderName::*;
        match self {
            Accept => "Accept",
            Allow => "Allow",
            AllowEvents => "Allow-Events",
            Authorization => "Authorization",
            CallId => "Call-ID",
            Contact => "Contact",
            ContentEncoding => "Content-Encoding",
            ContentLength => "Content-Length",
            ContentType => "Content-Type",
            CSeq => "CSeq",
            Date => "Date",
            Event => "Event",
            Expires => "Expires",
            From => "From",
            Identity => "Identity",
            MaxForwards => "Max-Forwards",
            MinExpires => "Min-Expires",
            PAssertedIdentity => "P-Asserted-Identity",
            Privacy => "Privacy",
            ProxyAuthenticate => "Proxy-Authenticate",
            ProxyAuthorization => "Proxy-Authorization",
            ProxyRequire => "Proxy-Require",
            Reason => "Reason",
            RecordRoute => "Record-Route",
            ReferTo => "Refer-To",
            ReferredBy => "Referred-By",
            Require => "Require",
            RetryAfter => "Retry-After",
            Route => "Route",
            Server => "Server",
            SessionExpires => "Session-Expires",
            Subject => "Subject",
            Supported => "Supported",
            To => "To",
            Unsupported => "Unsupported",
            UserAgent => "User-Agent",
            Via => "Via",
            Warning => "Warning",
            WwwAuthenticate => "WWW-Authenticate",
        }
    }

    /// The compact form (RFC 3261 §7.3.3 and extensions), if the header has one.
    pub const fn compact(self) -> Option<char> {
        use HeaderName::*;
        Some(match self {
            CallId => 'i',
            Contact => 'm',
            ContentEncoding => 'e',
            ContentLength => 'l',
            ContentType => 'c',
            From => 'f',
            Subject => 's',
            Supported => 'k',
            To => 't',
            Via => 'v',
            Event => 'o',
            AllowEvents => 'u',
            ReferTo => 'r',
            ReferredBy => 'b',
            SessionExpires => 'x',
            Identity => 'y',
            _ => return None,
        })
    }

    /// Recognises a header name, case-insensitively, in full or compact form.
    pub fn from_name(name: &str) -> Option<HeaderName> {
        use HeaderName::*;
        let b = name.as_bytes();
        if b.len() == 1 {
            return Some(match b[0].to_ascii_lowercase() {
                b'i' => CallId,
                b'm' => Contact,
                b'e' => ContentEncoding,
                b'l' => ContentLength,
                b'c' => ContentType,
                b'f' => From,
                b's' => Subject,
                b'k' => Supported,
                b't' => To,
                b'v' => Via,
                b'o' => Event,
                b'u' => AllowEvents,
                b'r' => ReferTo,
                b'b' => ReferredBy,
                b'x' => SessionExpires,
                b'y' => Identity,
                _ => return None,
            });
        }
        let is = |lit: &[u8]| b.eq_ignore_ascii_case(lit);
        let first = b[0].to_ascii_lowercase();
        Some(match (b.len(), first) {
            (2, b't') if is(b"to") => To,
            (3, b'v') if is(b"via") => Via,
            (4, b'c') if is(b"cseq") => CSeq,
            (4, b'd') if is(b"date") => Date,
            (4, b'f') if is(b"from") => From,
            (5, b'a') if is(b"allow") => Allow,
            (5, b'e') if is(b"event") => Event,
            (5, b'r') if is(b"route") => Route,
            (6, b'a') if is(b"accept") => Accept,
            (6, b'r') if is(b"reason") => Reason,
            (6, b's') if is(b"server") => Server,
            (7, b'c') if is(b"call-id") => CallId,
            (7, b'c') if is(b"contact") => Contact,
            (7, b'e') if is(b"expires") => Expires,
            (7, b'p') if is(b"privacy") => Privacy,
            (7, b'r') if is(b"require") => Require,
            (7, b's') if is(b"subject") => Subject,
            (7, b'w') if is(b"warning") => Warning,
            (8, b'i') if is(b"identity") => Identity,
            (8, b'r') if is(b"refer-to") => ReferTo,
            (9, b's') if is(b"supported") => Supported,
            (10, b'u') if is(b"user-agent") => UserAgent,
            (11, b'm') if is(b"min-expires") => MinExpires,
            (11, b'r') if is(b"referred-by") => ReferredBy,
            (11, b'r') if is(b"retry-after") => RetryAfter,
            (11, b'u') if is(b"unsupported") => Unsupported,
            (12, b'a') if is(b"allow-events") => AllowEvents,
            (12, b'c') if is(b"content-type") => ContentType,
            (12, b'm') if is(b"max-forwards") => MaxForwards,
            (12, b'r') if is(b"record-route") => RecordRoute,
            (13, b'a') if is(b"authorization") => Authorization,
            (13, b'p') if is(b"proxy-require") => ProxyRequire,
            (14, b'c') if is(b"content-length") => ContentLength,
            (15, b's') if is(b"session-expires") => SessionExpires,
            (16, b'c') if is(b"content-encoding") => ContentEncoding,
            (16, b'w') if is(b"www-authenticate") => WwwAuthenticate,
            (18, b'p') if is(b"proxy-authenticate") => ProxyAuthenticate,
            (19, b'p') if is(b"p-asserted-identity") => PAssertedIdentity,
            (19, b'p') if is(b"proxy-authorization") => ProxyAuthorization,
            _ => return None,
        })
    }
}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup() {
        assert_eq!(HeaderName::from_name("CALL-id"), Some(HeaderName::CallId));
        assert_eq!(HeaderName::from_name("I"), Some(HeaderName::CallId));
        assert_eq!(HeaderName::from_name("MaX-fOrWaRdS"), Some(HeaderName::MaxForwards));
        assert_eq!(HeaderName::from_name("C%6Fntact"), None);
        assert_eq!(HeaderName::from_name("Unknown-LongLongLongLongLongLong"), None);
        for c in "imelcfsktvourbxy".chars() {
            let h = HeaderName::from_name(&c.to_string()).unwrap();
            assert_eq!(h.compact(), Some(c));
            assert_eq!(HeaderName::from_name(h.as_str()), Some(h));
        }
    }
}
