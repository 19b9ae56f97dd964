//! Processing a REGISTER's bindings, RFC 3261 §10.3 steps 6-7, with RFC 5626 (outbound)
//! and RFC 3327 (Path) basics. Pure: the caller supplies the current bindings and the
//! time, and gets the new bindings and the store operations back.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use ringfence_sip_proto::transaction::Peer;
use ringfence_sip_types::header::{Contact, NameAddr};
use ringfence_sip_types::{HeaderName, Request};

use super::location::Binding;
use crate::config::RegistrarConfig;

/// Longest Call-ID, contact URI, instance id and User-Agent the store keeps.
const MAX_CALL_ID: usize = 256;
const MAX_CONTACT_URI: usize = 1024;
const MAX_INSTANCE: usize = 256;
const MAX_USER_AGENT: usize = 256;
const MAX_PATH: usize = 8;
const MAX_PATH_LEN: usize = 1024;

/// Why a REGISTER is refused after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reject {
    /// 400 with this reason.
    Bad(&'static str),
    /// 423 Interval Too Brief with `Min-Expires` (RFC 3261 §10.3 step 7).
    TooBrief(u32),
    /// The same Call-ID with a CSeq not higher than the binding's: the update is aborted
    /// (§10.3 step 7); answered 500.
    OutOfOrder,
    /// More contacts in one request than an extension may have: 403.
    TooManyContacts,
}

impl Reject {
    /// Status and reason phrase.
    pub(crate) fn status(&self) -> (u16, &'static str) {
        match self {
            Reject::Bad(reason) => (400, reason),
            Reject::TooBrief(_) => (423, "Interval Too Brief"),
            Reject::OutOfOrder => (500, "Out Of Order Request"),
            Reject::TooManyContacts => (403, "Too Many Contacts"),
        }
    }
}

/// One Contact of the request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requested {
    /// The contact without `expires`.
    pub(crate) contact: NameAddr,
    /// The URI as printed (store key).
    pub(crate) key: String,
    /// Granted interval in seconds (0: remove).
    pub(crate) expires: u32,
    /// `+sip.instance`, as written.
    pub(crate) instance: Option<String>,
    /// `reg-id`, with an instance.
    pub(crate) reg_id: Option<u32>,
}

/// What the request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Contacts {
    /// No Contact: return the current bindings (§10.2.3).
    Fetch,
    /// `Contact: *` with `Expires: 0`: remove every binding.
    Wildcard,
    /// Add, refresh or remove these.
    List(Vec<Requested>),
}

/// A REGISTER after the checks of §10.3 step 6 and 7 (intervals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Register {
    pub(crate) call_id: String,
    pub(crate) cseq: u32,
    pub(crate) contacts: Contacts,
    pub(crate) peer: Peer,
    pub(crate) user_agent: Option<String>,
    pub(crate) path: Vec<String>,
    /// The UA listed `outbound` in Supported (RFC 5626 §6).
    pub(crate) outbound: bool,
    /// The UA listed `path` in Supported (RFC 3327 §5.3: echo Path only then).
    pub(crate) path_supported: bool,
}

fn has_tag(tags: &[String], tag: &str) -> bool {
    tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
}

/// Validates a REGISTER's contacts and intervals (§10.3 step 6 and the first part of 7).
pub(crate) fn parse(req: &Request, peer: Peer, cfg: &RegistrarConfig) -> Result<Register, Reject> {
    let call_id = req.call_id().map_err(|_| Reject::Bad("Bad Call-ID"))?;
    if call_id.len() > MAX_CALL_ID {
        return Err(Reject::Bad("Call-ID Too Long"));
    }
    let cseq = req.cseq().map_err(|_| Reject::Bad("Bad CSeq"))?.seq;
    let header_expires = req.expires().map_err(|_| Reject::Bad("Bad Expires"))?;
    let contacts = req.contacts().map_err(|_| Reject::Bad("Bad Contact"))?;
    let supported = req.headers.supported().unwrap_or_default();
    let outbound = has_tag(&supported, "outbound");
    let path: Vec<String> = req.headers.values("Path").map(str::to_owned).collect();
    if path.len() > MAX_PATH || path.iter().any(|p| p.len() > MAX_PATH_LEN || p.is_empty()) {
        return Err(Reject::Bad("Bad Path"));
    }
    let contacts = if contacts.is_empty() {
        Contacts::Fetch
    } else if contacts.contains(&Contact::Wildcard) {
        // §10.3 step 6: `*` only alone and only with `Expires: 0`.
        if contacts.len() != 1 || header_expires != Some(0) {
            return Err(Reject::Bad("Wildcard Contact Needs Expires 0 And No Other Contact"));
        }
        Contacts::Wildcard
    } else {
        let mut list = Vec::with_capacity(contacts.len());
        for c in contacts {
            let Contact::Address(mut contact) = c else { continue };
            let requested = contact.expires().or(header_expires).unwrap_or(cfg.default_expires);
            // §10.3 step 7: refuse only a non-zero interval below the minimum (and below
            // an hour); shorten one above the maximum.
            if requested > 0 && requested < cfg.min_expires && requested < 3600 {
                return Err(Reject::TooBrief(cfg.min_expires));
            }
            let expires = requested.min(cfg.max_expires);
            contact.params.remove("expires");
            if contact.uri.as_sip().is_none() {
                return Err(Reject::Bad("Contact Must Be A SIP URI"));
            }
            let key = contact.uri.to_string();
            if key.len() > MAX_CONTACT_URI {
                return Err(Reject::Bad("Contact Too Long"));
            }
            let instance = contact.param("+sip.instance").map(str::to_owned);
            if instance.as_ref().is_some_and(|i| i.is_empty() || i.len() > MAX_INSTANCE) {
                return Err(Reject::Bad("Bad +sip.instance"));
            }
            let reg_id = match contact.param("reg-id") {
                None => None,
                Some(v) => Some(v.parse::<u32>().map_err(|_| Reject::Bad("Bad reg-id"))?),
            };
            // RFC 5626 §6: a reg-id only means something with an instance id.
            let reg_id = if instance.is_some() { reg_id } else { None };
            list.push(Requested { contact, key, expires, instance, reg_id });
        }
        Contacts::List(list)
    };
    Ok(Register {
        call_id: call_id.to_owned(),
        cseq,
        contacts,
        peer,
        user_agent: req.headers.get(HeaderName::UserAgent).map(clean_user_agent),
        path,
        outbound,
        path_supported: has_tag(&supported, "path"),
    })
}

/// At most [`MAX_USER_AGENT`] bytes, control characters replaced.
fn clean_user_agent(ua: &str) -> String {
    let mut out = String::with_capacity(ua.len().min(MAX_USER_AGENT));
    for c in ua.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > MAX_USER_AGENT {
            break;
        }
        out.push(c);
    }
    out
}

/// A change to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Store this binding (new or refreshed).
    Upsert(Binding),
    /// Remove the binding with this key.
    Remove(String),
}

impl Register {
    fn binding(&self, q: &Requested, now: SystemTime) -> Binding {
        Binding::new(
            &q.contact,
            &q.key,
            self.peer,
            now + Duration::from_secs(u64::from(q.expires)),
            &self.call_id,
            self.cseq,
            q.instance.clone(),
            q.reg_id,
            self.user_agent.clone(),
            self.path.clone(),
        )
    }

    /// True when `q` is an outbound registration (RFC 5626 §6): keyed by instance and
    /// reg-id rather than by contact URI.
    pub(crate) fn is_outbound(&self, q: &Requested) -> bool {
        self.outbound && q.instance.is_some() && q.reg_id.is_some()
    }

    /// True when any contact was registered as an outbound flow.
    pub(crate) fn any_outbound(&self) -> bool {
        match &self.contacts {
            Contacts::List(l) => l.iter().any(|q| self.is_outbound(q) && q.expires > 0),
            _ => false,
        }
    }
}

/// §10.3 step 7 for one extension: applies `reg` to `bindings` (lapsed ones are dropped
/// first) all or nothing, keeping at most `max_contacts`; returns what to persist.
pub(crate) fn apply(
    bindings: &mut Vec<Binding>,
    reg: &Register,
    now: SystemTime,
    max_contacts: usize,
) -> Result<Vec<Change>, Reject> {
    bindings.retain(|b| b.expires_at > now);
    let out_of_order = |b: &Binding| b.call_id == reg.call_id && reg.cseq <= b.cseq;
    match &reg.contacts {
        Contacts::Fetch => Ok(Vec::new()),
        Contacts::Wildcard => {
            if bindings.iter().any(out_of_order) {
                return Err(Reject::OutOfOrder);
            }
            Ok(bindings.drain(..).map(|b| Change::Remove(b.key)).collect())
        }
        Contacts::List(list) => {
            let mut next = bindings.clone();
            let mut changes = Vec::new();
            // Bindings written by this request: a contact repeated in it overwrites its
            // own earlier value rather than failing the CSeq check against itself.
            let mut mine: HashSet<String> = HashSet::new();
            for q in list {
                let outbound = reg.is_outbound(q);
                let found = next.iter().position(|b| {
                    (outbound && b.instance == q.instance && b.reg_id == q.reg_id)
                        // The same printed URI is the common case (a refresh); only
                        // other spellings need the stored contact parsed (§19.1.4).
                        || b.key == q.key
                        || b.contact().is_some_and(|c| c.uri.equivalent(&q.contact.uri))
                });
                match found {
                    Some(i) => {
                        if !mine.contains(&next[i].key) && out_of_order(&next[i]) {
                            return Err(Reject::OutOfOrder);
                        }
                        let old_key = next[i].key.clone();
                        if q.expires == 0 {
                            next.remove(i);
                            mine.remove(&old_key);
                            changes.push(Change::Remove(old_key));
                        } else {
                            if old_key != q.key {
                                changes.push(Change::Remove(old_key));
                            }
                            next[i] = reg.binding(q, now);
                            mine.insert(q.key.clone());
                            changes.push(Change::Upsert(next[i].clone()));
                        }
                    }
                    None if q.expires > 0 => {
                        next.push(reg.binding(q, now));
                        mine.insert(q.key.clone());
                        changes.push(Change::Upsert(reg.binding(q, now)));
                    }
                    None => {}
                }
            }
            // Over the cap: the binding closest to expiry that this request did not write
            // makes room (a phone that rebooted onto a new port replaces its old binding).
            while next.len() > max_contacts {
                let victim = next
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| !mine.contains(&b.key))
                    .min_by_key(|(_, b)| b.expires_at)
                    .map(|(i, _)| i);
                let Some(i) = victim else { return Err(Reject::TooManyContacts) };
                changes.push(Change::Remove(next.remove(i).key));
            }
            *bindings = next;
            Ok(changes)
        }
    }
}

#[cfg(test)]
mod tests;
