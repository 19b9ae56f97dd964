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

impl HeaderName {
    /// [`HeaderName::from_name`] for a name already known to be a non-empty `token`
    /// (the message parser's case): one table lookup by length and first letter, then
    /// a word-wise comparison.
    #[inline]
    pub(crate) fn from_token(b: &[u8]) -> Option<HeaderName> {
        use HeaderName::*;
        debug_assert!(!b.is_empty() && b.iter().all(|&c| crate::text::is_token_char(c)));
        if b.len() == 1 {
            return COMPACT[usize::from(b[0] | 0x20)];
        }
        let first = b[0] | 0x20;
        let (lit, id): (&[u8], HeaderName) = match (b.len(), first) {
            (2, b't') => (b"to", To),
            (3, b'v') => (b"via", Via),
            (4, b'c') => (b"cseq", CSeq),
            (4, b'd') => (b"date", Date),
            (4, b'f') => (b"from", From),
            (5, b'a') => (b"allow", Allow),
            (5, b'e') => (b"event", Event),
            (5, b'r') => (b"route", Route),
            (6, b'a') => (b"accept", Accept),
            (6, b'r') => (b"reason", Reason),
            (6, b's') => (b"server", Server),
            (7, b'c') if b[2] | 0x20 == b'l' => (b"call-id", CallId),
            (7, b'c') => (b"contact", Contact),
            (7, b'e') => (b"expires", Expires),
            (7, b'p') => (b"privacy", Privacy),
            (7, b'r') => (b"require", Require),
            (7, b's') => (b"subject", Subject),
            (7, b'w') => (b"warning", Warning),
            (8, b'i') => (b"identity", Identity),
            (8, b'r') => (b"refer-to", ReferTo),
            (9, b's') => (b"supported", Supported),
            (10, b'u') => (b"user-agent", UserAgent),
            (11, b'm') => (b"min-expires", MinExpires),
            (11, b'r') if b[2] | 0x20 == b'f' => (b"referred-by", ReferredBy),
            (11, b'r') => (b"retry-after", RetryAfter),
            (11, b'u') => (b"unsupported", Unsupported),
            (12, b'a') => (b"allow-events", AllowEvents),
            (12, b'c') => (b"content-type", ContentType),
            (12, b'm') => (b"max-forwards", MaxForwards),
            (12, b'r') => (b"record-route", RecordRoute),
            (13, b'a') => (b"authorization", Authorization),
            (13, b'p') => (b"proxy-require", ProxyRequire),
            (14, b'c') => (b"content-length", ContentLength),
            (15, b's') => (b"session-expires", SessionExpires),
            (16, b'c') => (b"content-encoding", ContentEncoding),
            (16, b'w') => (b"www-authenticate", WwwAuthenticate),
            (18, b'p') => (b"proxy-authenticate", ProxyAuthenticate),
            (19, b'p') if b[1] | 0x20 == b'-' => (b"p-asserted-identity", PAssertedIdentity),
            (19, b'p') => (b"proxy-authorization", ProxyAuthorization),
            _ => return None,
        };
        if crate::text::eq_ignore_letter_case(b, lit) { Some(id) } else { None }
    }
}

impl HeaderName {
    /// Recognises a known header name at the start of a header line `b`: the header and
    /// the length of its name when `b` starts with a known name (any case, compact forms
    /// included) followed by a byte that cannot continue a token, or by nothing. `None` when the
    /// line's name, whatever it is, is not a known one. Equivalent to scanning the
    /// token and calling [`HeaderName::from_token`], without the byte-by-byte scan.
    #[inline]
    pub(crate) fn match_known(b: &[u8]) -> Option<(HeaderName, usize)> {
        use HeaderName::*;
        // Each candidate is compared with its literal's length known at compile time,
        // so a comparison is a few word operations (no loop over a candidate table).
        macro_rules! first_of {
            ($($lit:literal => $id:ident),+ $(,)?) => {{
                $(if name_at(b, $lit) {
                    return Some(($id, $lit.len()));
                })+
                None
            }};
        }
        match *b.first()? | 0x20 {
            b'a' => first_of!(
                b"authorization" => Authorization,
                b"allow" => Allow,
                b"accept" => Accept,
                b"allow-events" => AllowEvents,
            ),
            b'b' => first_of!(b"b" => ReferredBy),
            b'c' => first_of!(
                b"call-id" => CallId,
                b"cseq" => CSeq,
                b"contact" => Contact,
                b"content-length" => ContentLength,
                b"content-type" => ContentType,
                b"content-encoding" => ContentEncoding,
                b"c" => ContentType,
            ),
            b'd' => first_of!(b"date" => Date),
            b'e' => first_of!(b"expires" => Expires, b"event" => Event, b"e" => ContentEncoding),
            b'f' => first_of!(b"from" => From, b"f" => From),
            b'i' => first_of!(b"i" => CallId, b"identity" => Identity),
            b'k' => first_of!(b"k" => Supported),
            b'l' => first_of!(b"l" => ContentLength),
            b'm' => first_of!(
                b"max-forwards" => MaxForwards,
                b"m" => Contact,
                b"min-expires" => MinExpires,
            ),
            b'o' => first_of!(b"o" => Event),
            b'p' => first_of!(
                b"proxy-authorization" => ProxyAuthorization,
                b"proxy-authenticate" => ProxyAuthenticate,
                b"proxy-require" => ProxyRequire,
                b"p-asserted-identity" => PAssertedIdentity,
                b"privacy" => Privacy,
            ),
            b'r' => first_of!(
                b"route" => Route,
                b"record-route" => RecordRoute,
                b"require" => Require,
                b"reason" => Reason,
                b"refer-to" => ReferTo,
                b"referred-by" => ReferredBy,
                b"retry-after" => RetryAfter,
                b"r" => ReferTo,
            ),
            b's' => first_of!(
                b"supported" => Supported,
                b"server" => Server,
                b"subject" => Subject,
                b"session-expires" => SessionExpires,
                b"s" => Subject,
            ),
            b't' => first_of!(b"to" => To, b"t" => To),
            b'u' => first_of!(
                b"user-agent" => UserAgent,
                b"unsupported" => Unsupported,
                b"u" => AllowEvents,
            ),
            b'v' => first_of!(b"via" => Via, b"v" => Via),
            b'w' => first_of!(b"www-authenticate" => WwwAuthenticate, b"warning" => Warning),
            b'x' => first_of!(b"x" => SessionExpires),
            b'y' => first_of!(b"y" => Identity),
            _ => None,
        }
    }
}

/// True when `b` starts with the name `lit` (lower case; letters match in any case)
/// followed by a byte that cannot continue a token, or by nothing.
#[inline(always)]
fn name_at<const N: usize>(b: &[u8], lit: &[u8; N]) -> bool {
    b.len() >= N
        && b.get(N).is_none_or(|&c| !crate::text::is_token_char(c))
        && crate::text::eq_ignore_letter_case(&b[..N], lit)
}

/// Compact forms indexed by the lower-cased byte.
static COMPACT: [Option<HeaderName>; 256] = {
    let mut t = [None; 256];
    let pairs = [
        (b'i', HeaderName::CallId),
        (b'm', HeaderName::Contact),
        (b'e', HeaderName::ContentEncoding),
        (b'l', HeaderName::ContentLength),
        (b'c', HeaderName::ContentType),
        (b'f', HeaderName::From),
        (b's', HeaderName::Subject),
        (b'k', HeaderName::Supported),
        (b't', HeaderName::To),
        (b'v', HeaderName::Via),
        (b'o', HeaderName::Event),
        (b'u', HeaderName::AllowEvents),
        (b'r', HeaderName::ReferTo),
        (b'b', HeaderName::ReferredBy),
        (b'x', HeaderName::SessionExpires),
        (b'y', HeaderName::Identity),
    ];
    let mut i = 0;
    while i < pairs.len() {
        t[pairs[i].0 as usize] = Some(pairs[i].1);
        i += 1;
    }
    t
};

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

    /// `from_token` agrees with `from_name` on every token: all known names in mixed
    /// case, near misses, and every short string over an alphabet of token characters.
    #[test]
    fn from_token_agrees_with_from_name() {
        let known = [
            "Accept",
            "Allow",
            "Allow-Events",
            "Authorization",
            "Call-ID",
            "Contact",
            "Content-Encoding",
            "Content-Length",
            "Content-Type",
            "CSeq",
            "Date",
            "Event",
            "Expires",
            "From",
            "Identity",
            "Max-Forwards",
            "Min-Expires",
            "P-Asserted-Identity",
            "Privacy",
            "Proxy-Authenticate",
            "Proxy-Authorization",
            "Proxy-Require",
            "Reason",
            "Record-Route",
            "Refer-To",
            "Referred-By",
            "Require",
            "Retry-After",
            "Route",
            "Server",
            "Session-Expires",
            "Subject",
            "Supported",
            "To",
            "Unsupported",
            "User-Agent",
            "Via",
            "Warning",
            "WWW-Authenticate",
        ];
        let mut cases: Vec<String> = Vec::new();
        for k in known {
            cases.push(k.to_owned());
            cases.push(k.to_ascii_uppercase());
            cases.push(k.to_ascii_lowercase());
            for i in 0..k.len() {
                // Flip one byte to each neighbour and to every token punctuation mark.
                for c in "-.!%*_+`'~0aZ".bytes() {
                    let mut b = k.as_bytes().to_vec();
                    b[i] = c;
                    cases.push(String::from_utf8(b).unwrap());
                }
            }
            cases.push(format!("{k}x"));
            cases.push(k[1..].to_owned());
        }
        let alphabet = b"aCz-_.~`";
        for len in 1..=3 {
            let mut idx = vec![0usize; len];
            loop {
                cases.push(idx.iter().map(|&i| alphabet[i] as char).collect());
                let mut d = 0;
                while d < len && idx[d] == alphabet.len() - 1 {
                    idx[d] = 0;
                    d += 1;
                }
                if d == len {
                    break;
                }
                idx[d] += 1;
            }
        }
        for c in 0u8..=255 {
            if crate::text::is_token_char(c) {
                cases.push((c as char).to_string());
            }
        }
        for case in &cases {
            // match_known on the name followed by each kind of terminator.
            for end in [":", " ", "\t", "\r", "", "x", "-"] {
                let line = format!("{case}{end}");
                let n = line.bytes().position(|c| !crate::text::is_token_char(c));
                let n = n.unwrap_or(line.len());
                let expected = HeaderName::from_name(&line[..n]).map(|h| (h, n));
                assert_eq!(HeaderName::match_known(line.as_bytes()), expected, "{line:?}");
            }
            assert!(crate::text::is_token(case), "{case}");
            assert_eq!(
                HeaderName::from_token(case.as_bytes()),
                HeaderName::from_name(case),
                "{case}"
            );
        }
    }
}
