//! Dialog identifiers (RFC 3261 §12).

use std::fmt;

use ringfence_sip_types::{Request, Response};

use crate::error::Error;

/// A dialog id: Call-ID, local tag and remote tag (RFC 3261 §12). Compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The id as seen by the UA that received `req`: local tag = To tag, remote tag =
    /// From tag (§12.2.2). `Ok(None)` when the request has no To tag (not in a dialog).
    pub fn for_incoming_request(req: &Request) -> Result<Option<DialogId>, Error> {
        let to = req.to()?;
        let Some(local) = to.tag() else { return Ok(None) };
        Ok(Some(DialogId {
            call_id: req.call_id()?.to_owned(),
            local_tag: local.to_owned(),
            remote_tag: req.from()?.tag().unwrap_or_default().to_owned(),
        }))
    }

    /// The id as seen by the UA that sent the request `resp` answers: local tag = From
    /// tag, remote tag = To tag (§12.1.2). `Ok(None)` when the response has no To tag.
    pub fn for_incoming_response(resp: &Response) -> Result<Option<DialogId>, Error> {
        let to = resp.to()?;
        let Some(remote) = to.tag() else { return Ok(None) };
        Ok(Some(DialogId {
            call_id: resp.call_id()?.to_owned(),
            local_tag: resp.from()?.tag().unwrap_or_default().to_owned(),
            remote_tag: remote.to_owned(),
        }))
    }

    /// The id as seen by the UA that sends the response `resp` (a UAS): local tag = To
    /// tag, remote tag = From tag.
    pub fn for_outgoing_response(resp: &Response) -> Result<Option<DialogId>, Error> {
        let to = resp.to()?;
        let Some(local) = to.tag() else { return Ok(None) };
        Ok(Some(DialogId {
            call_id: resp.call_id()?.to_owned(),
            local_tag: local.to_owned(),
            remote_tag: resp.from()?.tag().unwrap_or_default().to_owned(),
        }))
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};local-tag={};remote-tag={}", self.call_id, self.local_tag, self.remote_tag)
    }
}
