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
        if b.len() > 24 {
            return None;
        }
        let mut lower = [0u8; 24];
        for (d, s) in lower.iter_mut().zip(b) {
            *d = s.to_ascii_lowercase();
        }
        Some(match &lower[..b.len()] {
            b"accept" => Accept,
            b"allow" => Allow,
            b"allow-events" => AllowEvents,
            b"authorization" => Authorization,
            b"call-id" => CallId,
            b"contact" => Contact,
            b"content-encoding" => ContentEncoding,
            b"content-length" => ContentLength,
            b"content-type" => ContentType,
            b"cseq" => CSeq,
            b"date" => Date,
            b"event" => Event,
            b"expires" => Expires,
            b"from" => From,
            b"identity" => Identity,
            b"max-forwards" => MaxForwards,
            b"min-expires" => MinExpires,
            b"p-asserted-identity" => PAssertedIdentity,
            b"privacy" => Privacy,
            b"proxy-authenticate" => ProxyAuthenticate,
            b"proxy-authorization" => ProxyAuthorization,
            b"proxy-require" => ProxyRequire,
            b"reason" => Reason,
            b"record-route" => RecordRoute,
            b"refer-to" => ReferTo,
            b"referred-by" => ReferredBy,
            b"require" => Require,
            b"retry-after" => RetryAfter,
            b"route" => Route,
            b"server" => Server,
            b"session-expires" => SessionExpires,
            b"subject" => Subject,
            b"supported" => Supported,
            b"to" => To,
            b"unsupported" => Unsupported,
            b"user-agent" => UserAgent,
            b"via" => Via,
            b"warning" => Warning,
            b"www-authenticate" => WwwAuthenticate,
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
