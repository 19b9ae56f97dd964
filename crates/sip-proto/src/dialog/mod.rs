//! Dialogs (RFC 3261 §12): the state a UA keeps for a call leg, enough for a B2BUA to
//! run two of them per call.
//!
//! Place in the data flow: the B2BUA creates a UAS [`Dialog`] when it answers an
//! incoming INVITE with a tagged 1xx or 2xx and a UAC [`Dialog`] when a tagged 1xx or
//! 2xx arrives for the INVITE it sent. In-dialog requests it receives pass
//! [`Dialog::handle_request`] (CSeq order, target refresh) and requests it sends come
//! from [`Dialog::create_request`] (loose and strict routing, §12.2.1.1). The UAS side
//! retransmits its 2xx with [`AnswerRetransmit`] until the ACK arrives.
//!
//! The dialog never sends anything: it builds requests, and the TU hands them to the
//! transaction layer with a destination resolved from [`Dialog::next_hop`].

mod id;
mod request;
mod retransmit;

use ringfence_sip_types::header::NameAddr;
use ringfence_sip_types::{Method, Request, Response, Uri};

pub use id::DialogId;
pub use retransmit::{AnswerRetransmit, RetransmitAction};

use crate::error::Error;
use crate::transaction::Transport;

/// Dialog states (§12: early after a tagged provisional response, confirmed after a 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a tagged 101-199 response.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended (BYE, a non-2xx final to the initial INVITE, a 481/408 in-dialog).
    Terminated,
}

/// Which side of the dialog-creating INVITE this UA was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the INVITE.
    Uac,
    /// We received it.
    Uas,
}

/// Methods whose requests (and 2xx responses) replace the remote target: INVITE
/// (§12.2), UPDATE (RFC 3311 §5.2), SUBSCRIBE and NOTIFY (RFC 6665).
pub fn is_target_refresh(method: &Method) -> bool {
    matches!(method, Method::Invite | Method::Update | Method::Subscribe | Method::Notify)
}

/// Dialog state (§12.1): id, URIs, sequence numbers, remote target, route set, secure flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    id: DialogId,
    role: Role,
    state: DialogState,
    local_uri: NameAddr,
    remote_uri: NameAddr,
    local_seq: Option<u32>,
    remote_seq: Option<u32>,
    remote_target: Uri,
    route_set: Vec<NameAddr>,
    secure: bool,
    local_contact: Option<NameAddr>,
    /// CSeq number of the INVITE that created the dialog.
    invite_seq: u32,
}

fn without_tag(mut a: NameAddr) -> NameAddr {
    a.params.remove("tag");
    a
}

/// The first Contact's URI; `*` or absence is `None`.
fn contact_uri(
    contacts: Result<Vec<ringfence_sip_types::header::Contact>, ringfence_sip_types::ParseError>,
) -> Result<Option<NameAddr>, Error> {
    Ok(contacts?.into_iter().next().and_then(|c| c.address().cloned()))
}

impl Dialog {
    /// The UAC's dialog from its INVITE (as sent) and a 101-299 response carrying a To
    /// tag (§12.1.2): route set = Record-Route reversed, remote target = the response's
    /// Contact, local sequence number = the INVITE's CSeq. `transport` is the one the
    /// INVITE went out on (the dialog is secure when it is TLS and the Request-URI is
    /// SIPS). A 1xx without Contact keeps the Request-URI as remote target until the 2xx.
    pub fn new_uac(
        request: &Request,
        response: &Response,
        transport: Transport,
    ) -> Result<Dialog, Error> {
        let code = response.status.code();
        let state = match code {
            101..=199 => DialogState::Early,
            200..=299 => DialogState::Confirmed,
            _ => return Err(Error::CannotCreateDialog("only 101-299 responses create dialogs")),
        };
        let id = DialogId::for_incoming_response(response)?
            .ok_or(Error::CannotCreateDialog("response has no To tag"))?;
        let remote_target = match contact_uri(response.contacts())? {
            Some(c) => c.uri,
            None if state == DialogState::Early => request.uri.clone(),
            None => return Err(Error::MissingContact),
        };
        let mut route_set = response.record_routes()?;
        route_set.reverse();
        Ok(Dialog {
            id,
            role: Role::Uac,
            state,
            local_uri: without_tag(request.from()?),
            remote_uri: without_tag(response.to()?),
            local_seq: Some(request.cseq()?.seq),
            remote_seq: None,
            remote_target,
            route_set,
            secure: transport.is_secure() && request.uri.is_sips(),
            local_contact: contact_uri(request.contacts())?,
            invite_seq: request.cseq()?.seq,
        })
    }

    /// The UAS's dialog from the INVITE it received and its own 101-299 response with a
    /// To tag (§12.1.1): route set = Record-Route in order, remote target = the
    /// request's Contact, remote sequence number = the request's CSeq, local sequence
    /// number empty. `transport` is the one the INVITE arrived on.
    pub fn new_uas(
        request: &Request,
        response: &Response,
        transport: Transport,
    ) -> Result<Dialog, Error> {
        let state = match response.status.code() {
            101..=199 => DialogState::Early,
            200..=299 => DialogState::Confirmed,
            _ => return Err(Error::CannotCreateDialog("only 101-299 responses create dialogs")),
        };
        let id = DialogId::for_outgoing_response(response)?
            .ok_or(Error::CannotCreateDialog("response has no To tag"))?;
        let remote_target = contact_uri(request.contacts())?.ok_or(Error::MissingContact)?.uri;
        Ok(Dialog {
            id,
            role: Role::Uas,
            state,
            local_uri: without_tag(request.to()?),
            remote_uri: without_tag(request.from()?),
            local_seq: None,
            remote_seq: Some(request.cseq()?.seq),
            remote_target,
            route_set: request.record_routes()?,
            secure: transport.is_secure() && request.uri.is_sips(),
            local_contact: contact_uri(response.contacts())?,
            invite_seq: request.cseq()?.seq,
        })
    }

    /// The dialog id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// UAC or UAS.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Early, confirmed or terminated.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// The local URI (From of our requests), without tag.
    pub fn local_uri(&self) -> &NameAddr {
        &self.local_uri
    }

    /// The remote URI (To of our requests), without tag.
    pub fn remote_uri(&self) -> &NameAddr {
        &self.remote_uri
    }

    /// The last CSeq number we used, if any.
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }

    /// The highest CSeq number the peer used, if any.
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    /// Where in-dialog requests are addressed (the peer's Contact).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// The route set, in the order of Route header fields of our requests.
    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }

    /// True when the dialog was set up over TLS with a SIPS Request-URI (§12.1).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The CSeq number of the INVITE that created the dialog.
    pub fn invite_seq(&self) -> u32 {
        self.invite_seq
    }

    /// Our Contact, put in target refresh requests this dialog builds.
    pub fn local_contact(&self) -> Option<&NameAddr> {
        self.local_contact.as_ref()
    }

    /// Replaces our Contact (for example after a re-registration behind NAT).
    pub fn set_local_contact(&mut self, contact: Option<NameAddr>) {
        self.local_contact = contact;
    }

    /// Ends the dialog (BYE sent or received, or the session given up).
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// Checks a request received in this dialog (§12.2.2): it must carry this dialog's
    /// id; its CSeq must not be lower than the remote sequence number (else
    /// [`Error::CSeqOutOfOrder`], answer 500), which it then raises; a target refresh
    /// request with a Contact replaces the remote target; BYE terminates the dialog.
    /// ACK is exempt from the CSeq rule (it repeats its INVITE's number) and changes
    /// nothing; CANCEL belongs to the INVITE transaction and is not passed here.
    pub fn handle_request(&mut self, req: &Request) -> Result<(), Error> {
        if DialogId::for_incoming_request(req)?.as_ref() != Some(&self.id) {
            return Err(Error::NotThisDialog);
        }
        if req.method == Method::Ack {
            return Ok(());
        }
        let seq = req.cseq()?.seq;
        if let Some(last) = self.remote_seq
            && seq < last
        {
            return Err(Error::CSeqOutOfOrder { got: seq, last });
        }
        if is_target_refresh(&req.method)
            && let Some(c) = contact_uri(req.contacts())?
        {
            self.remote_target = c.uri;
        }
        self.remote_seq = Some(seq);
        if req.method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// Applies a response the UA received for a request it sent in (or to create) this
    /// dialog (§12.1.2, §12.2.1.2, §13.2.2.4):
    /// - for the initial INVITE of an early UAC dialog: a 2xx confirms it and recomputes
    ///   route set and remote target; a 1xx with Contact updates the remote target; a
    ///   300-699 terminates it;
    /// - a 2xx to a target refresh request replaces the remote target from its Contact;
    /// - 481 or 408 terminates the dialog.
    pub fn handle_response(&mut self, resp: &Response) -> Result<(), Error> {
        if DialogId::for_incoming_response(resp)?.as_ref() != Some(&self.id) {
            return Err(Error::NotThisDialog);
        }
        let cseq = resp.cseq()?;
        let code = resp.status.code();
        let initial =
            self.role == Role::Uac && cseq.method == Method::Invite && cseq.seq == self.invite_seq;
        if initial && self.state == DialogState::Early {
            match code {
                101..=199 => {
                    if let Some(c) = contact_uri(resp.contacts())? {
                        self.remote_target = c.uri;
                    }
                }
                200..=299 => {
                    let mut routes = resp.record_routes()?;
                    routes.reverse();
                    self.route_set = routes;
                    self.remote_target =
                        contact_uri(resp.contacts())?.ok_or(Error::MissingContact)?.uri;
                    self.state = DialogState::Confirmed;
                }
                300.. => self.state = DialogState::Terminated,
                _ => {}
            }
            return Ok(());
        }
        if (200..300).contains(&code)
            && is_target_refresh(&cseq.method)
            && let Some(c) = contact_uri(resp.contacts())?
        {
            self.remote_target = c.uri;
        }
        if code == 481 || code == 408 {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// Applies a final response the UAS sent to the INVITE that created the dialog:
    /// a 2xx confirms an early dialog, a 300-699 terminates it (§12.1.1, §12.3).
    pub fn handle_sent_response(&mut self, resp: &Response) -> Result<(), Error> {
        let cseq = resp.cseq()?;
        if self.role != Role::Uas || cseq.method != Method::Invite || cseq.seq != self.invite_seq {
            return Ok(());
        }
        match resp.status.code() {
            200..=299 if self.state == DialogState::Early => self.state = DialogState::Confirmed,
            300.. if self.state == DialogState::Early => self.state = DialogState::Terminated,
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
