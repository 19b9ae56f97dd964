//! Typed accessors on [`Headers`]: each parses the raw value on call.
//!
//! Required single-valued headers (`From`, `To`, `Call-ID`, `CSeq`) return
//! [`ParseError::MissingHeader`] when absent and [`ParseError::DuplicateHeader`] when
//! present more than once (RFC 4475 §3.3.8); optional ones return `Ok(None)` when absent.
//! List headers return every element of every line, in order.

use crate::auth::{Challenge, Credentials};
use crate::error::ParseError;
use crate::header::name_addr::NameAddrRef;
use crate::header::via::ViaRef;
use crate::header::{
    CSeq, Contact, ContentLength, ContentType, Expires, MaxForwards, MinExpires, NameAddr, Privacy,
    Reason, Server, SipDate, UserAgent, Via, call_id, name_addr::Form, p_asserted_identity, route,
    token_list,
};
use crate::headers::{HeaderName, Headers};
use crate::method::Method;

impl Headers {
    /// The single value of `name`: `Ok(None)` if absent, an error if repeated.
    pub fn single(&self, name: HeaderName) -> Result<Option<&str>, ParseError> {
        match self.first_known(name) {
            (_, true) => Err(ParseError::DuplicateHeader(name.as_str())),
            (first, false) => Ok(first),
        }
    }

    fn required(&self, name: HeaderName) -> Result<&str, ParseError> {
        self.single(name)?.ok_or(ParseError::MissingHeader(name.as_str()))
    }

    /// Every Via value, topmost first.
    pub fn via(&self) -> Result<Vec<Via>, ParseError> {
        self.values(HeaderName::Via).map(Via::parse).collect()
    }

    /// The topmost Via value (the one this hop's transaction matches on).
    pub fn via_top(&self) -> Result<Via, ParseError> {
        let v = self.values(HeaderName::Via).next().ok_or(ParseError::MissingHeader("Via"))?;
        Via::parse(v)
    }

    /// The From address.
    pub fn from(&self) -> Result<NameAddr, ParseError> {
        let v = self.required(HeaderName::From)?;
        NameAddr::parse_as(v, Form::Either).map_err(|r| ParseError::header("From", r))
    }

    /// The To address.
    pub fn to(&self) -> Result<NameAddr, ParseError> {
        let v = self.required(HeaderName::To)?;
        NameAddr::parse_as(v, Form::Either).map_err(|r| ParseError::header("To", r))
    }

    /// The Call-ID text (validated as `word [ "@" word ]`).
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let v = self.required(HeaderName::CallId)?;
        call_id::validate(v).map_err(|r| ParseError::header("Call-ID", r))
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(self.required(HeaderName::CSeq)?)
    }

    /// Max-Forwards, if present.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.single(HeaderName::MaxForwards)?
            .map(|v| MaxForwards::parse(v).map(|m| m.0))
            .transpose()
    }

    /// The `tag` parameter of From, borrowed: what `from()?.tag()` gives, without
    /// building the address (no allocation). Fails like [`Headers::from`].
    pub fn from_tag(&self) -> Result<Option<&str>, ParseError> {
        self.address_tag(HeaderName::From, "From")
    }

    /// The `tag` parameter of To, borrowed: what `to()?.tag()` gives, without building
    /// the address (no allocation). Fails like [`Headers::to`].
    pub fn to_tag(&self) -> Result<Option<&str>, ParseError> {
        self.address_tag(HeaderName::To, "To")
    }

    fn address_tag(&self, name: HeaderName, h: &'static str) -> Result<Option<&str>, ParseError> {
        let v = self.required(name)?;
        // The one-pass parser's scanner takes the common shapes (and accepts only what
        // the general one does, with the same parameter text); the rest goes the long way.
        Ok(match crate::message::fast::values::name_addr(v, 0, false) {
            Some((end, params)) if end == v.len() => first_plain_param(&v[params..], b"tag"),
            _ => {
                let a =
                    NameAddrRef::scan_all(v, Form::Either).map_err(|r| ParseError::header(h, r))?;
                first_param(a.params, "tag")
            }
        })
    }

    /// The `branch` parameter of the topmost Via, borrowed: what
    /// `via_top()?.branch()` gives, without building the Via (no allocation). Fails
    /// like [`Headers::via_top`].
    pub fn via_branch(&self) -> Result<Option<&str>, ParseError> {
        let v = self.values(HeaderName::Via).next().ok_or(ParseError::MissingHeader("Via"))?;
        Ok(match crate::message::fast::values::via(v, 0) {
            Some((end, params)) if end == v.len() => first_plain_param(&v[params..], b"branch"),
            _ => first_param(
                ViaRef::scan(v).map_err(|r| ParseError::header("Via", r))?.params,
                "branch",
            ),
        })
    }

    /// Every Contact value (`[Contact::Wildcard]` for `Contact: *`; empty if absent).
    pub fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        self.values(HeaderName::Contact).map(Contact::parse).collect()
    }

    /// Every Route value, topmost first.
    pub fn routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.values(HeaderName::Route).map(route::parse_route).collect()
    }

    /// Every Record-Route value, topmost first.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.values(HeaderName::RecordRoute).map(route::parse_record_route).collect()
    }

    /// Content-Length, if present.
    pub fn content_length(&self) -> Result<Option<u32>, ParseError> {
        self.single(HeaderName::ContentLength)?
            .map(|v| ContentLength::parse(v).map(|c| c.0))
            .transpose()
    }

    /// Content-Type, if present.
    pub fn content_type(&self) -> Result<Option<ContentType>, ParseError> {
        self.single(HeaderName::ContentType)?.map(ContentType::parse).transpose()
    }

    /// Expires in seconds, if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.single(HeaderName::Expires)?.map(|v| Expires::parse(v).map(|e| e.0)).transpose()
    }

    /// Min-Expires in seconds, if present.
    pub fn min_expires(&self) -> Result<Option<u32>, ParseError> {
        self.single(HeaderName::MinExpires)?.map(|v| MinExpires::parse(v).map(|e| e.0)).transpose()
    }

    /// Methods listed in every Allow header.
    pub fn allow(&self) -> Result<Vec<Method>, ParseError> {
        self.get_all(HeaderName::Allow).try_fold(Vec::new(), |mut acc, v| {
            acc.extend(token_list::parse_allow(v)?);
            Ok(acc)
        })
    }

    fn option_tags(&self, name: HeaderName) -> Result<Vec<String>, ParseError> {
        self.get_all(name).try_fold(Vec::new(), |mut acc, v| {
            acc.extend(token_list::parse_tokens(name.as_str(), v)?);
            Ok(acc)
        })
    }

    /// Option tags listed in every Supported header.
    pub fn supported(&self) -> Result<Vec<String>, ParseError> {
        self.option_tags(HeaderName::Supported)
    }

    /// Option tags listed in every Require header.
    pub fn require(&self) -> Result<Vec<String>, ParseError> {
        self.option_tags(HeaderName::Require)
    }

    /// Option tags listed in every Proxy-Require header.
    pub fn proxy_require(&self) -> Result<Vec<String>, ParseError> {
        self.option_tags(HeaderName::ProxyRequire)
    }

    /// Option tags listed in every Unsupported header.
    pub fn unsupported(&self) -> Result<Vec<String>, ParseError> {
        self.option_tags(HeaderName::Unsupported)
    }

    /// The User-Agent text, if present.
    pub fn user_agent(&self) -> Option<UserAgent> {
        self.get(HeaderName::UserAgent).map(UserAgent::parse)
    }

    /// The Server text, if present.
    pub fn server(&self) -> Option<Server> {
        self.get(HeaderName::Server).map(Server::parse)
    }

    /// Every Reason value.
    pub fn reasons(&self) -> Result<Vec<Reason>, ParseError> {
        self.values(HeaderName::Reason).map(Reason::parse).collect()
    }

    /// Every P-Asserted-Identity value.
    pub fn p_asserted_identity(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.values(HeaderName::PAssertedIdentity)
            .map(p_asserted_identity::parse_p_asserted_identity)
            .collect()
    }

    /// Privacy, if present.
    pub fn privacy(&self) -> Result<Option<Privacy>, ParseError> {
        self.single(HeaderName::Privacy)?.map(Privacy::parse).transpose()
    }

    fn credentials(&self, name: HeaderName) -> Result<Vec<Credentials>, ParseError> {
        self.get_all(name)
            .map(|v| {
                Credentials::parse(v)
                    .map_err(|source| ParseError::InvalidAuth { header: name.as_str(), source })
            })
            .collect()
    }

    fn challenges(&self, name: HeaderName) -> Result<Vec<Challenge>, ParseError> {
        self.get_all(name)
            .map(|v| {
                Challenge::parse(v)
                    .map_err(|source| ParseError::InvalidAuth { header: name.as_str(), source })
            })
            .collect()
    }

    /// Every Authorization value (one per header line, RFC 3261 §20.7).
    pub fn authorization(&self) -> Result<Vec<Credentials>, ParseError> {
        self.credentials(HeaderName::Authorization)
    }

    /// Every Proxy-Authorization value.
    pub fn proxy_authorization(&self) -> Result<Vec<Credentials>, ParseError> {
        self.credentials(HeaderName::ProxyAuthorization)
    }

    /// Every WWW-Authenticate challenge.
    pub fn www_authenticate(&self) -> Result<Vec<Challenge>, ParseError> {
        self.challenges(HeaderName::WwwAuthenticate)
    }

    /// Every Proxy-Authenticate challenge.
    pub fn proxy_authenticate(&self) -> Result<Vec<Challenge>, ParseError> {
        self.challenges(HeaderName::ProxyAuthenticate)
    }

    /// Parses every header line this crate has a typed form for, one line at a time
    /// (repetition of single-valued headers is not checked here), and returns the first
    /// error. Useful for strict checking and for tests; normal code uses the accessors.
    pub fn check_known(&self) -> Result<(), ParseError> {
        use crate::header::{CallId, Reason};
        for f in self.iter() {
            let Some(id) = f.known() else { continue };
            let v = f.value;
            let one = |form: Form, h: &'static str| -> Result<(), ParseError> {
                for item in crate::headers::split_list(v) {
                    NameAddr::parse_as(item, form).map_err(|r| ParseError::header(h, r))?;
                }
                Ok(())
            };
            match id {
                HeaderName::Via => {
                    Via::parse_list(v)?;
                }
                HeaderName::From => {
                    NameAddr::parse_as(v, Form::Either)
                        .map_err(|r| ParseError::header("From", r))?;
                }
                HeaderName::To => {
                    NameAddr::parse_as(v, Form::Either).map_err(|r| ParseError::header("To", r))?;
                }
                HeaderName::CallId => {
                    CallId::parse(v)?;
                }
                HeaderName::CSeq => {
                    CSeq::parse(v)?;
                }
                HeaderName::MaxForwards => {
                    MaxForwards::parse(v)?;
                }
                HeaderName::ContentLength => {
                    ContentLength::parse(v)?;
                }
                HeaderName::ContentType => {
                    ContentType::parse(v)?;
                }
                HeaderName::Expires => {
                    Expires::parse(v)?;
                }
                HeaderName::MinExpires => {
                    MinExpires::parse(v)?;
                }
                HeaderName::Contact => {
                    Contact::parse_list(v)?;
                }
                HeaderName::Route => one(Form::NameAddrOnly, "Route")?,
                HeaderName::RecordRoute => one(Form::NameAddrOnly, "Record-Route")?,
                HeaderName::PAssertedIdentity => one(Form::Either, "P-Asserted-Identity")?,
                HeaderName::Allow => {
                    token_list::parse_allow(v)?;
                }
                HeaderName::Supported
                | HeaderName::Require
                | HeaderName::ProxyRequire
                | HeaderName::Unsupported => {
                    token_list::parse_tokens(id.as_str(), v)?;
                }
                HeaderName::Reason => {
                    Reason::parse_list(v)?;
                }
                HeaderName::Privacy => {
                    Privacy::parse(v)?;
                }
                HeaderName::Date => {
                    SipDate::parse(v)?;
                }
                HeaderName::Authorization | HeaderName::ProxyAuthorization => {
                    Credentials::parse(v).map_err(|source| ParseError::InvalidAuth {
                        header: id.as_str(),
                        source,
                    })?;
                }
                HeaderName::WwwAuthenticate | HeaderName::ProxyAuthenticate => {
                    Challenge::parse(v).map_err(|source| ParseError::InvalidAuth {
                        header: id.as_str(),
                        source,
                    })?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Date, if present.
    pub fn date(&self) -> Result<Option<SipDate>, ParseError> {
        self.single(HeaderName::Date)?.map(SipDate::parse).transpose()
    }
}

/// The value of the first parameter called `name` in validated parameter text, as
/// [`crate::Params::get`] finds it in the built list; `None` when absent or empty.
fn first_param<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    crate::params::iter_raw(raw)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.unwrap_or(""))
        .filter(|v| !v.is_empty())
}

/// [`first_param`] for parameter text the one-pass scanners accepted: `;name[=value]`
/// items with token names and values and no white space, so splitting at `;` and `=`
/// finds the same items. `name` is lower case.
fn first_plain_param<'a>(raw: &'a str, name: &[u8]) -> Option<&'a str> {
    let b = raw.as_bytes();
    let mut i = 0;
    // `b[i]` is the ';' starting an item.
    while i < b.len() {
        let n = i
            + 1
            + b[i + 1..].iter().position(|&c| c == b';' || c == b'=').unwrap_or(b.len() - i - 1);
        let (v, end) = if b.get(n) == Some(&b'=') {
            let end = n + 1 + b[n + 1..].iter().position(|&c| c == b';').unwrap_or(b.len() - n - 1);
            (n + 1, end)
        } else {
            (n, n)
        };
        if crate::text::eq_ignore_letter_case(&b[i + 1..n], name) {
            return (end > v).then(|| &raw[v..end]);
        }
        i = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_accessors() {
        let mut h = Headers::new();
        h.push("v", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b");
        h.push("f", "<sip:a@example.com>;tag=1");
        h.push("To", "sip:b@example.com");
        h.push("i", "id@host");
        h.push("CSeq", "7 OPTIONS");
        h.push("Allow", "INVITE, ACK");
        h.push("Allow", "BYE");
        h.push("Supported", "path, outbound");
        h.push("m", "*");
        h.push("Expires", "0");
        assert_eq!(h.via().unwrap().len(), 2);
        assert_eq!(h.via_top().unwrap().branch(), Some("z9hG4bK1"));
        assert_eq!(h.from().unwrap().tag(), Some("1"));
        assert_eq!(h.to().unwrap().tag(), None);
        assert_eq!(h.call_id().unwrap(), "id@host");
        assert_eq!(h.cseq().unwrap().seq, 7);
        assert_eq!(h.allow().unwrap().len(), 3);
        assert_eq!(h.supported().unwrap(), ["path", "outbound"]);
        assert_eq!(h.contacts().unwrap(), [Contact::Wildcard]);
        assert_eq!(h.expires().unwrap(), Some(0));
        assert_eq!(h.max_forwards().unwrap(), None);
        assert_eq!(h.routes().unwrap(), []);
        assert_eq!(h.via_branch().unwrap(), Some("z9hG4bK1"));
        assert_eq!(h.from_tag().unwrap(), Some("1"));
        assert_eq!(h.to_tag().unwrap(), None);
        h.push("CSeq", "8 OPTIONS");
        assert_eq!(h.cseq(), Err(ParseError::DuplicateHeader("CSeq")));
        h.remove("i");
        assert_eq!(h.call_id(), Err(ParseError::MissingHeader("Call-ID")));
    }

    /// The borrowed accessors give exactly what the building accessors give, errors
    /// included, for addresses and Vias in many shapes.
    #[test]
    fn borrowed_accessors_agree_with_building_ones() {
        let addresses = [
            "<sip:a@example.com>;tag=1",
            "\"A\" <sip:a@example.com>;TAG=x;tag=y",
            "sip:a@example.com;tag=",
            "sip:a@example.com;tag;x=1",
            "sip:a@example.com ; tag = \"q\"",
            "A B <sips:[2001:db8::1]:5061;lr>;x;tag=z9",
            "<tel:+1-201-555-0123>",
            "bad <",
            "",
        ];
        for a in addresses {
            let mut h = Headers::new();
            h.push("f", a);
            h.push("To", a);
            let from = h.from().map(|n| n.tag().map(str::to_owned));
            assert_eq!(h.from_tag().map(|t| t.map(str::to_owned)), from, "{a}");
            let to = h.to().map(|n| n.tag().map(str::to_owned));
            assert_eq!(h.to_tag().map(|t| t.map(str::to_owned)), to, "{a}");
            h.push("From", a);
            assert_eq!(h.from_tag(), Err(ParseError::DuplicateHeader("From")));
        }
        let vias = [
            "SIP/2.0/UDP a;branch=z9hG4bK1;branch=2",
            "SIP/2.0/UDP a;BRANCH=b, SIP/2.0/TCP c;branch=d",
            "SIP/2.0/UDP a;branch=",
            "SIP/2.0/UDP a;rport;received=192.0.2.1",
            "SIP / 2.0 / UDP a ; branch = x",
            "SIP/2.0/UDP a;branch",
            "junk",
        ];
        for v in vias {
            let mut h = Headers::new();
            h.push("Via", v);
            let built = h.via_top().map(|via| via.branch().map(str::to_owned));
            assert_eq!(h.via_branch().map(|b| b.map(str::to_owned)), built, "{v}");
        }
        assert_eq!(Headers::new().via_branch(), Err(ParseError::MissingHeader("Via")));
        assert_eq!(Headers::new().from_tag(), Err(ParseError::MissingHeader("From")));
    }
}
