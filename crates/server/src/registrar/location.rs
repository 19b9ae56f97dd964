//! The location service: every extension's current bindings, in memory (the read path
//! for the B2BUA), sharded so registrations of different extensions do not contend.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use ringfence_sip_proto::transaction::Peer;
use ringfence_sip_types::header::NameAddr;
use ringfence_sip_types::{Param, Uri};
use ringfence_store::{ExtensionId, RegistrationBinding, TenantId};
use time::OffsetDateTime;

use crate::core::convert::{from_store, to_store};

const SHARDS: usize = 64;

/// One binding of an extension (its address of record) to a contact address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact as registered, without its `expires` parameter, printed (`<uri>` and
    /// parameters). Kept as text: a binding lives for hours, and the parsed form takes
    /// several times the memory (100000 contacts must fit in well under 200 MB);
    /// [`Binding::contact`] parses it.
    contact: Box<str>,
    /// The contact URI as printed: the binding's key in the store.
    pub key: String,
    /// Where the REGISTER came from: the address to send to (behind NAT: the public
    /// address and port), its transport and flow (connection).
    pub peer: Peer,
    /// When the binding lapses.
    pub expires_at: SystemTime,
    /// Call-ID of the REGISTER that made or last refreshed it (RFC 3261 §10.3 step 7).
    pub call_id: String,
    /// Its CSeq number.
    pub cseq: u32,
    /// `+sip.instance` as written (RFC 5626), if given.
    pub instance: Option<String>,
    /// `reg-id` (RFC 5626), if given with an instance.
    pub reg_id: Option<u32>,
    /// The registering device's User-Agent (truncated).
    pub user_agent: Option<String>,
    /// Path header values (RFC 3327), in order.
    pub path: Vec<String>,
}

impl Binding {
    /// A binding of `contact` (the Contact as registered, without `expires`), with the
    /// store key `key` (its URI as printed).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        contact: &NameAddr,
        key: &str,
        peer: Peer,
        expires_at: SystemTime,
        call_id: &str,
        cseq: u32,
        instance: Option<String>,
        reg_id: Option<u32>,
        user_agent: Option<String>,
        path: Vec<String>,
    ) -> Binding {
        Binding {
            contact: contact.to_string().into_boxed_str(),
            key: key.to_owned(),
            peer,
            expires_at,
            call_id: call_id.to_owned(),
            cseq,
            instance,
            reg_id,
            user_agent,
            path,
        }
    }

    /// The Contact as registered, without its `expires` parameter (`None` never happens
    /// in practice: the text was printed from a parsed value).
    pub fn contact(&self) -> Option<NameAddr> {
        NameAddr::parse(&self.contact).ok()
    }

    /// The Contact as registered, printed, without its `expires` parameter.
    pub fn contact_text(&self) -> &str {
        &self.contact
    }

    /// Seconds left at `now`, rounded up (0 once lapsed).
    pub fn remaining(&self, now: SystemTime) -> u32 {
        let left = self.expires_at.duration_since(now).unwrap_or(Duration::ZERO);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    /// The store's record of this binding.
    pub fn to_record(&self, tenant: TenantId, extension: ExtensionId) -> RegistrationBinding {
        RegistrationBinding {
            tenant_id: tenant,
            extension_id: extension,
            contact_uri: self.key.clone(),
            source: self.peer.addr,
            transport: to_store(self.peer.transport),
            expires_at: ringfence_store::truncate_time(OffsetDateTime::from(self.expires_at)),
            call_id: self.call_id.clone(),
            cseq: self.cseq,
            instance_id: self.instance.clone(),
            reg_id: self.reg_id,
            user_agent: self.user_agent.clone(),
            path: self.path.clone(),
        }
    }

    /// A binding loaded from the store (after a restart: no flow is known any more).
    /// `None` when the stored contact URI no longer parses.
    pub fn from_record(r: &RegistrationBinding) -> Option<Binding> {
        let uri = Uri::parse(&r.contact_uri).ok()?;
        let mut contact = NameAddr::new(uri);
        if let Some(i) = &r.instance_id {
            contact.params.push(Param::new("+sip.instance", i.clone()));
            if let Some(reg) = r.reg_id {
                contact.params.push(Param::new("reg-id", reg.to_string()));
            }
        }
        Some(Binding::new(
            &contact,
            &r.contact_uri,
            Peer::new(r.source, from_store(r.transport)),
            SystemTime::from(r.expires_at),
            &r.call_id,
            r.cseq,
            r.instance_id.clone(),
            r.instance_id.as_ref().and(r.reg_id),
            r.user_agent.clone(),
            r.path.clone(),
        ))
    }
}

/// Where an extension can be reached: what the B2BUA needs to send it a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The registered contact URI: the Request-URI of a request to this device.
    pub contact: Uri,
    /// Where to send it: the address the registration came from (its public address
    /// behind NAT), transport, and the flow (connection) to reuse; `flow` is `None` after a
    /// restart or when unknown, and a closed flow is reported as a transport error.
    pub peer: Peer,
    /// When the binding lapses.
    pub expires_at: SystemTime,
    /// `+sip.instance` (RFC 5626), as written.
    pub instance: Option<String>,
    /// `reg-id` (RFC 5626).
    pub reg_id: Option<u32>,
    /// The Path to route through (RFC 3327), as a route set, topmost first.
    pub path: Vec<String>,
    /// The Contact `q` preference in thousandths (1000 when absent).
    pub q: u16,
}

type AorKey = (TenantId, ExtensionId);
type Shard = HashMap<AorKey, Vec<Binding>>;

/// Every extension's bindings. Reads never touch the store.
#[derive(Debug)]
pub struct LocationService {
    shards: Vec<Mutex<Shard>>,
}

impl Default for LocationService {
    fn default() -> Self {
        LocationService { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }
}

impl LocationService {
    /// An empty service.
    pub fn new() -> Self {
        Self::default()
    }

    fn shard(&self, ext: ExtensionId) -> MutexGuard<'_, Shard> {
        // Extension ids are random UUIDs: their last byte spreads evenly.
        let i = usize::from(ext.0.as_bytes()[15]) % SHARDS;
        self.shards[i].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live contacts of an extension, most preferred (`q`) first.
    pub fn locate(&self, tenant: TenantId, extension: ExtensionId) -> Vec<Location> {
        let now = SystemTime::now();
        let shard = self.shard(extension);
        let mut out: Vec<Location> = shard
            .get(&(tenant, extension))
            .map(|bs| {
                bs.iter()
                    .filter(|b| b.expires_at > now)
                    .filter_map(|b| {
                        let contact = b.contact()?;
                        Some(Location {
                            q: contact.q_millis().unwrap_or(1000),
                            contact: contact.uri,
                            peer: b.peer,
                            expires_at: b.expires_at,
                            instance: b.instance.clone(),
                            reg_id: b.reg_id,
                            path: b.path.clone(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by_key(|l| std::cmp::Reverse(l.q));
        out
    }

    /// The live bindings of an extension, as registered.
    pub fn bindings(&self, tenant: TenantId, extension: ExtensionId) -> Vec<Binding> {
        let now = SystemTime::now();
        self.shard(extension)
            .get(&(tenant, extension))
            .map(|bs| bs.iter().filter(|b| b.expires_at > now).cloned().collect())
            .unwrap_or_default()
    }

    /// Runs `f` on the bindings of one extension with its shard locked (so updates of one
    /// extension are serialised); an extension left without bindings is dropped.
    pub(crate) fn with_aor<R>(
        &self,
        tenant: TenantId,
        extension: ExtensionId,
        f: impl FnOnce(&mut Vec<Binding>) -> R,
    ) -> R {
        let mut shard = self.shard(extension);
        let entry = shard.entry((tenant, extension)).or_default();
        let r = f(entry);
        if entry.is_empty() {
            shard.remove(&(tenant, extension));
        } else {
            // Bindings live for hours; a vector grown by doubling would keep up to half
            // its slots empty (16 for 10 contacts).
            entry.shrink_to_fit();
        }
        r
    }

    /// Replaces an extension's bindings (startup load, resynchronisation).
    pub(crate) fn replace(&self, tenant: TenantId, extension: ExtensionId, bindings: Vec<Binding>) {
        let mut shard = self.shard(extension);
        if bindings.is_empty() {
            shard.remove(&(tenant, extension));
        } else {
            shard.insert((tenant, extension), bindings);
        }
    }

    /// Drops bindings lapsed at `now`; returns how many.
    pub fn sweep(&self, now: SystemTime) -> usize {
        let mut dropped = 0;
        for s in &self.shards {
            let mut shard = s.lock().unwrap_or_else(PoisonError::into_inner);
            shard.retain(|_, bs| {
                let before = bs.len();
                bs.retain(|b| b.expires_at > now);
                dropped += before - bs.len();
                !bs.is_empty()
            });
        }
        dropped
    }

    /// Every source (address, transport, flow) that holds a live binding at `now`, with the
    /// seconds its longest binding has left. Visits every binding: for start-up.
    pub fn sources(&self, now: SystemTime) -> Vec<(Peer, u32)> {
        let mut longest: HashMap<Peer, u32> = HashMap::new();
        for s in &self.shards {
            let shard = s.lock().unwrap_or_else(PoisonError::into_inner);
            for b in shard.values().flatten().filter(|b| b.expires_at > now) {
                let e = longest.entry(b.peer).or_default();
                *e = (*e).max(b.remaining(now));
            }
        }
        longest.into_iter().collect()
    }

    /// The seconds left of the longest live binding registered from `addr`, of any
    /// extension. Visits every binding: for the rare unregistration only.
    pub fn remaining_from(&self, addr: SocketAddr, now: SystemTime) -> Option<u32> {
        let mut best = None;
        for s in &self.shards {
            let shard = s.lock().unwrap_or_else(PoisonError::into_inner);
            for b in shard.values().flatten() {
                if b.peer.addr == addr && b.expires_at > now {
                    best = best.max(Some(b.remaining(now)));
                }
            }
        }
        best
    }

    /// Bindings held (lapsed ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .values()
                    .map(Vec::len)
                    .sum::<usize>()
            })
            .sum()
    }

    /// True when no binding is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringfence_sip_proto::transaction::Transport;

    fn binding(uri: &str, secs: u64, q: Option<&str>) -> Binding {
        let mut contact = NameAddr::new(Uri::parse(uri).unwrap());
        if let Some(q) = q {
            contact.params.push(Param::new("q", q));
        }
        Binding::new(
            &contact,
            uri,
            Peer::new("192.0.2.1:5060".parse().unwrap(), Transport::Udp),
            SystemTime::now() + Duration::from_secs(secs),
            "c",
            1,
            None,
            None,
            None,
            Vec::new(),
        )
    }

    #[test]
    fn locate_orders_by_q_and_skips_lapsed() {
        let ls = LocationService::new();
        let (t, e) = (TenantId::random(), ExtensionId::random());
        ls.with_aor(t, e, |bs| {
            bs.push(binding("sip:a@192.0.2.1", 100, Some("0.5")));
            bs.push(binding("sip:b@192.0.2.1", 100, None));
            let mut gone = binding("sip:c@192.0.2.1", 0, None);
            gone.expires_at = SystemTime::now() - Duration::from_secs(1);
            bs.push(gone);
        });
        let found = ls.locate(t, e);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].contact.to_string(), "sip:b@192.0.2.1");
        assert_eq!(found[1].q, 500);
        assert!(ls.locate(TenantId::random(), e).is_empty(), "another tenant sees nothing");
        assert_eq!(ls.sweep(SystemTime::now()), 1);
        assert_eq!(ls.len(), 2);
    }

    #[test]
    fn record_round_trip() {
        let uri = "sip:100@192.0.2.1:5070;transport=tcp";
        let instance = "\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\"";
        let mut contact = NameAddr::new(Uri::parse(uri).unwrap());
        contact.params.push(Param::new("+sip.instance", instance));
        contact.params.push(Param::new("reg-id", "1"));
        let mut b = binding(uri, 60, None);
        b.contact = contact.to_string().into_boxed_str();
        b.instance = Some(instance.into());
        b.reg_id = Some(1);
        b.path = vec!["<sip:edge.example;lr>".into()];
        let (t, e) = (TenantId::random(), ExtensionId::random());
        let r = b.to_record(t, e);
        let back = Binding::from_record(&r).unwrap();
        assert_eq!(back.contact(), b.contact());
        assert_eq!(back.contact(), Some(contact));
        assert_eq!(back.key, b.key);
        assert_eq!(back.instance, b.instance);
        assert_eq!(back.reg_id, Some(1));
        assert_eq!(back.path, b.path);
        assert_eq!(back.peer.flow, None);
        assert_eq!(back.remaining(SystemTime::now()), b.remaining(SystemTime::now()));
    }

    #[test]
    fn empty_aors_are_dropped() {
        let ls = LocationService::new();
        let (t, e) = (TenantId::random(), ExtensionId::random());
        ls.with_aor(t, e, |bs| bs.push(binding("sip:a@192.0.2.1", 100, None)));
        assert!(!ls.is_empty());
        ls.with_aor(t, e, Vec::clear);
        assert!(ls.is_empty());
    }
}
