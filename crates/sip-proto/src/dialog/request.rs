//! Requests within a dialog (RFC 3261 §12.2.1.1, §13.2.2.4).

use ringfence_sip_types::header::{NameAddr, Via};
use ringfence_sip_types::{HeaderName, Method, Request, Uri};

use super::{Dialog, DialogState, is_target_refresh};
use crate::error::Error;

/// A route set entry used as Request-URI under strict routing: parameters not allowed
/// in a Request-URI (`method`, §19.1.1 table 1) and URI headers are stripped.
fn as_request_uri(uri: &Uri) -> Uri {
    match uri {
        Uri::Sip(s) => {
            let mut s = s.clone();
            s.params.remove("method");
            s.headers.clear();
            Uri::Sip(s)
        }
        other => other.clone(),
    }
}

fn is_loose(route: &NameAddr) -> bool {
    match &route.uri {
        Uri::Sip(s) => s.lr(),
        _ => true,
    }
}

impl Dialog {
    /// Request-URI and Route header values for the next request (§12.2.1.1):
    /// - empty route set: the remote target, no Route;
    /// - first route loose (`lr`): the remote target, Route = the route set;
    /// - first route strict: the first route as Request-URI, Route = the rest of the
    ///   route set followed by the remote target.
    pub fn request_target(&self) -> (Uri, Vec<NameAddr>) {
        match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if is_loose(first) => (self.remote_target.clone(), self.route_set.clone()),
            Some(first) => {
                let mut routes: Vec<NameAddr> = self.route_set[1..].to_vec();
                routes.push(NameAddr::new(self.remote_target.clone()));
                (as_request_uri(&first.uri), routes)
            }
        }
    }

    /// The URI to resolve (RFC 3263, or a registration lookup) for where the next
    /// request goes: the first route, or the remote target when there is none (§8.1.2).
    pub fn next_hop(&self) -> &Uri {
        self.route_set.first().map_or(&self.remote_target, |r| &r.uri)
    }

    fn build(&self, method: Method, seq: u32, via: &Via) -> Request {
        let (uri, routes) = self.request_target();
        let mut b = Request::builder(method.clone(), uri).via(via);
        for r in &routes {
            b = b.route(r);
        }
        b = b
            .max_forwards(70)
            .from(&self.local_uri.clone().with_tag(&self.id.local_tag))
            .to(&self.remote_uri.clone().with_tag(&self.id.remote_tag))
            .call_id(&self.id.call_id)
            .cseq(seq);
        if let Some(c) = &self.local_contact
            && is_target_refresh(&method)
        {
            b = b.header(HeaderName::Contact, c);
        }
        b.build()
    }

    /// A new request in this dialog (§12.2.1.1) with the next local CSeq number (1 for
    /// a UAS that has sent nothing yet), To/From with the dialog's URIs and tags, the
    /// Call-ID, Request-URI and Route per the route set, `Max-Forwards: 70`, the given
    /// Via (carrying a fresh branch) and, for target refresh methods, our Contact.
    /// Add a body or more headers to the result as needed.
    pub fn create_request(&mut self, method: Method, via: &Via) -> Result<Request, Error> {
        if self.state == DialogState::Terminated {
            return Err(Error::DialogTerminated);
        }
        match method {
            Method::Ack => return Err(Error::NotAnInDialogMethod("ACK")),
            Method::Cancel => return Err(Error::NotAnInDialogMethod("CANCEL")),
            _ => {}
        }
        let seq = self.local_seq.map_or(1, |s| s.wrapping_add(1));
        self.local_seq = Some(seq);
        Ok(self.build(method, seq, via))
    }

    /// The ACK for a 2xx to the INVITE with CSeq number `invite_seq` (§13.2.2.4): built
    /// like an in-dialog request but with that CSeq number and method ACK; the local
    /// sequence number does not change. `via` needs a new branch (the ACK for a 2xx is
    /// its own transaction). Add the answer body if the 2xx carried the offer.
    pub fn create_ack(&self, invite_seq: u32, via: &Via) -> Request {
        self.build(Method::Ack, invite_seq, via)
    }
}
