//! Transaction matching keys (RFC 3261 §17.1.3, §17.2.3, §8.2.2.2).

use ringfence_sip_types::header::{CSeq, Via};
use ringfence_sip_types::{Host, Method, ParseError, Request, Response};

/// The header values matching needs, parsed once per incoming request.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub(crate) via: Via,
    pub(crate) cseq: CSeq,
    pub(crate) call_id: String,
    pub(crate) from_tag: Option<String>,
    pub(crate) to_tag: Option<String>,
}

impl RequestInfo {
    /// Parses From, To, Call-ID and CSeq of `req` whose (stamped) top Via is `via`.
    /// Fails when one is missing or malformed, or the CSeq method differs from the
    /// request's (RFC 3261 §8.1.1.5).
    pub(crate) fn parse(req: &Request, via: Via) -> Result<RequestInfo, ParseError> {
        let from_tag = req.from()?.tag().map(str::to_owned);
        let to_tag = req.to()?.tag().map(str::to_owned);
        let call_id = req.call_id()?.to_owned();
        let cseq = req.cseq()?;
        if cseq.method != req.method {
            return Err(ParseError::InvalidHeader {
                header: "CSeq",
                reason: "method does not match the request method",
            });
        }
        Ok(RequestInfo { via, cseq, call_id, from_tag, to_tag })
    }
}

/// Client transaction key (§17.1.3): the top Via branch and the CSeq method. A CANCEL
/// has the branch of the INVITE it cancels but its own method, so it is its own key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    pub(crate) branch: String,
    pub(crate) method: Method,
}

impl ClientKey {
    pub(crate) fn for_response(resp: &Response) -> Result<ClientKey, ParseError> {
        let via = resp.via_top()?;
        let branch = via
            .branch()
            .ok_or(ParseError::InvalidHeader { header: "Via", reason: "response without branch" })?
            .to_owned();
        Ok(ClientKey { branch, method: resp.cseq()?.method })
    }
}

/// Server transaction key (§17.2.3). The method is the request's, except that an ACK
/// looks for the INVITE it acknowledges.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    /// Branch with the magic cookie: branch, sent-by and method.
    Rfc3261 { branch: String, host: Host, port: Option<u16>, method: Method },
    /// RFC 2543 peers (boxed: rare, and four times the size of the other variant).
    Rfc2543(Box<Rfc2543Key>),
}

/// The RFC 2543 key: Request-URI, From tag, Call-ID, CSeq number, top Via and method;
/// the To tag is checked after lookup (it differs between INVITE and ACK).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Rfc2543Key {
    uri: String,
    from_tag: String,
    call_id: String,
    cseq: u32,
    via: String,
    method: Method,
}

fn key_method(m: &Method) -> Method {
    if *m == Method::Ack { Method::Invite } else { m.clone() }
}

impl ServerKey {
    /// The key of `req` as it matches existing transactions (ACK maps to INVITE).
    pub(crate) fn for_request(req: &Request, info: &RequestInfo) -> ServerKey {
        let top_via = &info.via;
        let method = key_method(&req.method);
        if top_via.has_rfc3261_branch() {
            let branch = top_via.branch().unwrap_or_default().to_owned();
            // Host names compare case-insensitively (RFC 3261 §19.1.4).
            let host = match &top_via.host {
                Host::Domain(d) => Host::Domain(d.to_ascii_lowercase()),
                ip => ip.clone(),
            };
            return ServerKey::Rfc3261 { branch, host, port: top_via.port, method };
        }
        // The Via as it was received: `received`/`rport` added by this layer are not part
        // of what the peer sent, so compare without them.
        let mut via = top_via.clone();
        via.params.remove("received");
        if via.rport().is_some() {
            via.params.set("rport", None);
        }
        ServerKey::Rfc2543(Box::new(Rfc2543Key {
            uri: req.uri.to_string(),
            from_tag: info.from_tag.clone().unwrap_or_default(),
            call_id: info.call_id.clone(),
            cseq: info.cseq.seq,
            via: via.to_string(),
            method,
        }))
    }

    /// The same key with another method (CANCEL looking for its INVITE).
    pub(crate) fn with_method(&self, m: Method) -> ServerKey {
        let mut k = self.clone();
        match &mut k {
            ServerKey::Rfc3261 { method, .. } => *method = m,
            ServerKey::Rfc2543(k) => k.method = m,
        }
        k
    }

    pub(crate) fn is_rfc2543(&self) -> bool {
        matches!(self, ServerKey::Rfc2543(_))
    }
}

/// Merged-request key (§8.2.2.2): From tag, Call-ID and CSeq of a request without To tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MergeKey {
    from_tag: String,
    call_id: String,
    cseq: u32,
    method: Method,
}

impl MergeKey {
    /// `None` when the request has a To tag (in-dialog requests are never merged).
    pub(crate) fn for_request(info: &RequestInfo) -> Option<MergeKey> {
        if info.to_tag.is_some() {
            return None;
        }
        Some(MergeKey {
            from_tag: info.from_tag.clone().unwrap_or_default(),
            call_id: info.call_id.clone(),
            cseq: info.cseq.seq,
            method: info.cseq.method.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(r: &Request, via: &Via) -> ServerKey {
        ServerKey::for_request(r, &RequestInfo::parse(r, via.clone()).unwrap())
    }

    fn req(via: &str, method: &str) -> Request {
        let text = format!(
            "{method} sip:bob@example.com SIP/2.0\r\nVia: {via}\r\nTo: <sip:bob@example.com>\r\n\
             From: <sip:alice@example.com>;tag=f1\r\nCall-ID: c1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        Request::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn rfc3261_17_2_3_ack_matches_invite_key() {
        let inv = req("SIP/2.0/UDP Host.Example:5060;branch=z9hG4bKab", "INVITE");
        let ack = req("SIP/2.0/UDP host.example:5060;branch=z9hG4bKab", "ACK");
        let k1 = key(&inv, &inv.via_top().unwrap());
        let k2 = key(&ack, &ack.via_top().unwrap());
        assert_eq!(k1, k2);
        let other_port = req("SIP/2.0/UDP host.example:5070;branch=z9hG4bKab", "INVITE");
        assert_ne!(k1, key(&other_port, &other_port.via_top().unwrap()));
        let cancel = req("SIP/2.0/UDP host.example:5060;branch=z9hG4bKab", "CANCEL");
        let kc = key(&cancel, &cancel.via_top().unwrap());
        assert_ne!(kc, k1);
        assert_eq!(kc.with_method(Method::Invite), k1);
    }

    #[test]
    fn rfc3261_17_2_3_rfc2543_fallback() {
        let inv = req("SIP/2.0/UDP host.example;branch=old1", "INVITE");
        let mut ack = req("SIP/2.0/UDP host.example;branch=old1", "ACK");
        let k1 = key(&inv, &inv.via_top().unwrap());
        assert!(k1.is_rfc2543());
        let mut stamped = ack.via_top().unwrap();
        stamped.set_received("192.0.2.1".parse().unwrap());
        ack.headers.set("Via", &stamped.to_string());
        assert_eq!(key(&ack, &stamped), k1);
        let other = req("SIP/2.0/UDP host.example;branch=old2", "INVITE");
        assert_ne!(key(&other, &other.via_top().unwrap()), k1);
    }

    #[test]
    fn client_key_uses_cseq_method() {
        let r = req("SIP/2.0/UDP h;branch=z9hG4bK1", "CANCEL");
        let resp = Response::from_request(&r, 200);
        let k = ClientKey::for_response(&resp).unwrap();
        assert_eq!(k, ClientKey { branch: "z9hG4bK1".into(), method: Method::Cancel });
        let info = RequestInfo::parse(&r, r.via_top().unwrap()).unwrap();
        assert!(MergeKey::for_request(&info).is_some());
    }
}
