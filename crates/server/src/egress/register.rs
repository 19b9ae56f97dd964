//! Registering trunks with their carrier (RFC 3261 §10, client side).
//!
//! A trunk with `register = true` sends REGISTER to its host (located as RFC 3263 says,
//! moving to the next server on a transport error, timeout or 503), answers the
//! registrar's digest challenge with the trunk's credentials (once per attempt: a second
//! challenge means they are wrong), refreshes before the granted expiry, retries a failure
//! after 30 s, doubling up to 30 min (no tight loop), and unregisters (Expires: 0) at
//! shutdown. Calls the carrier then sends to the registered Contact come from the trunk's
//! address and are routed as calls to the number in their To header.
//!
//! The state of each registration is logged when it changes and kept in a
//! [`RegistrationStatus`] for the admin API.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ringfence_sip_proto::digest::{DigestClient, Secret};
use ringfence_sip_proto::transaction::{Peer, Transport};
use ringfence_sip_types::header::{NameAddr, Via};
use ringfence_sip_types::{Host, Method, Param, Request, Response, SipUri, Uri};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::{TrunkAuth, TrunkTransport};
use super::gate::{EgressGate, ResolvedTrunk};
use crate::advertise::AdvertisedAddress;
use crate::core::{ClientEvent, CoreHandle};

/// Default registration lifetime asked for, in seconds.
pub const DEFAULT_EXPIRES: u32 = 3600;
const FIRST_RETRY: Duration = Duration::from_secs(30);
const LONGEST_RETRY: Duration = Duration::from_secs(1800);

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationState {
    /// Not yet tried.
    Starting,
    /// The registrar accepted us; refreshed before it expires.
    Registered,
    /// The last attempt failed; tried again later.
    Failed,
    /// Unregistered at shutdown.
    Unregistered,
}

/// One trunk's registration, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationStatus {
    /// The trunk.
    pub trunk: String,
    /// Its state.
    pub state: RegistrationState,
    /// The registrar that answered last (address:port).
    pub registrar: Option<String>,
    /// The Contact registered.
    pub contact: Option<String>,
    /// Until when (unix seconds) the registration holds.
    pub expires_at: Option<u64>,
    /// The last final status from the registrar.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    pub failures: u32,
}

/// One trunk's running registration.
#[derive(Debug)]
struct Running {
    /// The trunk's settings it was started with.
    config: super::config::TrunkConfig,
    status: Arc<Mutex<RegistrationStatus>>,
    task: JoinHandle<()>,
    stop: CancellationToken,
}

impl Running {
    /// Unregisters (Expires: 0 when registered) and waits for the task to end.
    async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// The running registrations: start with [`Registrations::start`], follow a reload of the
/// trunks with [`Registrations::apply`], stop (unregistering) with [`Registrations::stop`].
#[derive(Debug)]
pub struct Registrations {
    core: CoreHandle,
    running: Vec<Running>,
    view: RegistrationsView,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// When to refresh a registration granted for `granted` seconds: ahead of the expiry by a
/// tenth (at least 5 s), and never later than half of it for short ones.
pub fn refresh_after(granted: u32) -> Duration {
    let g = u64::from(granted.max(2));
    let early = (g / 10).max(5);
    Duration::from_secs(if g > 2 * early { g - early } else { g / 2 })
}

/// The pause after `failures` failed attempts in a row: 30 s, doubling, at most 30 min.
pub fn retry_after(failures: u32) -> Duration {
    let d = FIRST_RETRY.saturating_mul(1 << failures.saturating_sub(1).min(10));
    d.min(LONGEST_RETRY)
}

impl Registrations {
    /// Starts a registration task for each trunk of `gate` with `register = true`.
    pub fn start(core: CoreHandle, gate: &EgressGate) -> Registrations {
        let mut r = Registrations {
            core,
            running: Vec::new(),
            view: RegistrationsView(Arc::new(RwLock::new(Vec::new()))),
        };
        for t in gate.trunk_list().iter().filter(|t| t.config.register) {
            let run = r.launch(t);
            r.running.push(run);
        }
        r.publish();
        r
    }

    fn launch(&self, t: &ResolvedTrunk) -> Running {
        let status = Arc::new(Mutex::new(RegistrationStatus {
            trunk: t.config.name.clone(),
            state: RegistrationState::Starting,
            registrar: None,
            contact: None,
            expires_at: None,
            last_status: None,
            last_error: None,
            failures: 0,
        }));
        let stop = CancellationToken::new();
        let client = Registrar::new(self.core.clone(), t.clone(), status.clone());
        let task = tokio::spawn(client.run(stop.clone()));
        Running { config: t.config.clone(), status, task, stop }
    }

    fn publish(&self) {
        let list = self.running.iter().map(|r| r.status.clone()).collect();
        *self.view.0.write().unwrap_or_else(PoisonError::into_inner) = list;
    }

    /// Follows the gate's trunks after [`EgressGate::replace_trunks`]: a registration whose
    /// trunk is gone, no longer registers or changed is ended (unregistered, Expires: 0)
    /// before the changed one registers again; trunks that now register start.
    pub async fn apply(&mut self, gate: &EgressGate) {
        let trunks = gate.trunk_list();
        let wanted: Vec<&ResolvedTrunk> = trunks.iter().filter(|t| t.config.register).collect();
        let (keep, end): (Vec<Running>, Vec<Running>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|r| wanted.iter().any(|t| t.config == r.config));
        self.running = keep;
        self.publish();
        for r in end {
            r.stop().await;
        }
        let mut next = Vec::with_capacity(wanted.len());
        for t in wanted {
            match self.running.iter().position(|r| r.config == t.config) {
                Some(i) => next.push(self.running.swap_remove(i)),
                None => next.push(self.launch(t)),
            }
        }
        self.running = next;
        self.publish();
    }

    /// Every registration's state.
    pub fn status(&self) -> Vec<RegistrationStatus> {
        self.view.status()
    }

    /// A shared view of the states (for the admin API); it follows [`Registrations::apply`].
    pub fn watch(&self) -> RegistrationsView {
        self.view.clone()
    }

    /// Unregisters every trunk and ends the tasks.
    pub async fn stop(self) {
        for r in &self.running {
            r.stop.cancel();
        }
        for r in self.running {
            let _ = tokio::time::timeout(Duration::from_secs(10), r.task).await;
        }
    }
}

/// The registrations' states, readable after the tasks have been handed off.
#[derive(Debug, Clone)]
pub struct RegistrationsView(Arc<RwLock<Vec<Arc<Mutex<RegistrationStatus>>>>>);

impl RegistrationsView {
    /// Every registration's state.
    pub fn status(&self) -> Vec<RegistrationStatus> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }
}

/// One trunk's registration client.
struct Registrar {
    core: CoreHandle,
    trunk: ResolvedTrunk,
    status: Arc<Mutex<RegistrationStatus>>,
    digest: Option<DigestClient>,
    call_id: String,
    tag: String,
    cseq: u32,
}

/// An attempt's failure.
struct Failed {
    status: Option<u16>,
    why: String,
}

impl Registrar {
    fn new(core: CoreHandle, trunk: ResolvedTrunk, status: Arc<Mutex<RegistrationStatus>>) -> Self {
        let digest = match &trunk.config.auth {
            TrunkAuth::Digest { username, password } => {
                Some(DigestClient::new(username.clone(), Secret::password(password.clone())))
            }
            TrunkAuth::Ip => None,
        };
        let call_id = core.new_call_id(None);
        let tag = core.new_tag();
        Registrar { core, trunk, status, digest, call_id, tag, cseq: 0 }
    }

    fn update(&self, f: impl FnOnce(&mut RegistrationStatus)) {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    async fn run(mut self, stop: CancellationToken) {
        let expires = self.trunk.config.register_expires_s.unwrap_or(DEFAULT_EXPIRES);
        let name = self.trunk.config.name.clone();
        let mut registered = false;
        loop {
            let wait = match self.register(expires).await {
                Ok((granted, registrar, contact)) => {
                    if !registered {
                        tracing::info!(trunk = %name, %registrar, granted, "trunk registered");
                    }
                    registered = true;
                    self.update(|s| {
                        s.state = RegistrationState::Registered;
                        s.registrar = Some(registrar);
                        s.contact = Some(contact);
                        s.expires_at = Some(unix_now() + u64::from(granted));
                        s.last_status = Some(200);
                        s.last_error = None;
                        s.failures = 0;
                    });
                    refresh_after(granted)
                }
                Err(f) => {
                    registered = false;
                    let mut failures = 0;
                    self.update(|s| {
                        s.state = RegistrationState::Failed;
                        s.expires_at = None;
                        s.last_status = f.status;
                        s.last_error = Some(f.why.clone());
                        s.failures += 1;
                        failures = s.failures;
                    });
                    let wait = retry_after(failures);
                    tracing::warn!(
                        trunk = %name,
                        error = %f.why,
                        failures,
                        retry_in_s = wait.as_secs(),
                        "trunk registration failed"
                    );
                    wait
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        if registered {
            let done = tokio::time::timeout(Duration::from_secs(5), self.register(0)).await;
            match done {
                Ok(Ok(_)) => tracing::info!(trunk = %name, "trunk unregistered"),
                Ok(Err(f)) => {
                    tracing::warn!(trunk = %name, error = %f.why, "trunk not unregistered")
                }
                Err(_) => tracing::warn!(trunk = %name, "trunk not unregistered: no answer"),
            }
            self.update(|s| {
                s.state = RegistrationState::Unregistered;
                s.expires_at = None;
            });
        }
    }

    /// One registration (or, with `expires` 0, unregistration) through the trunk's
    /// servers in order; the granted lifetime, the registrar and the Contact.
    async fn register(&mut self, expires: u32) -> Result<(u32, String, String), Failed> {
        let now = self.trunk.targets.get();
        if now.targets.is_empty() {
            let why = now.error.clone().unwrap_or_else(|| "no targets".into());
            return Err(Failed { status: None, why });
        }
        let mut last = Failed { status: None, why: "no server answered".into() };
        for t in &now.targets {
            let peer = Peer::new(t.addr, super::gate::proto_transport(t.transport));
            if t.transport == TrunkTransport::Tls
                && let Some(tls) = &self.trunk.tls
            {
                // The registrar must prove to be the trunk's host (RFC 5922).
                self.core.set_tls_peer(t.addr, tls.clone());
            }
            match self.at(peer, expires).await {
                Ok((_, _, true)) => {
                    // The registrar saw us at another address (NAT): register that one.
                    let (granted, contact, _) = self.at(peer, expires).await?;
                    return Ok((granted, t.addr.to_string(), contact));
                }
                Ok((granted, contact, false)) => return Ok((granted, t.addr.to_string(), contact)),
                // RFC 3263 §4.3: the next server on a transport error, timeout or 503.
                Err(f) if f.status.is_none_or(|s| s == 503 || s == 408) => last = f,
                Err(f) => return Err(f),
            }
        }
        Err(last)
    }

    /// Our host and port towards `peer` (see [`crate::advertise`]).
    fn local(&self, peer: Peer) -> (Host, u16) {
        crate::advertise::local_for(
            &self.core,
            self.trunk.advertise().as_ref(),
            peer.transport,
            peer.addr,
        )
    }

    fn request(&mut self, peer: Peer, expires: u32, contact: &NameAddr) -> Request {
        let config = &self.trunk.config;
        let host = Host::parse(&config.host).unwrap_or_else(|_| Host::Domain(config.host.clone()));
        // Over TLS a SIPS Request-URI (RFC 5630 §3.2.2 deprecates transport=tls), and so a
        // SIPS Contact (RFC 3261 §8.1.1.8), as for calls.
        let mut uri = SipUri::new(host.clone()).with_secure(peer.transport == Transport::Tls);
        if let Some(p) = config.port {
            uri = uri.with_port(p);
        }
        let user = match &config.auth {
            TrunkAuth::Digest { username, .. } => username.clone(),
            TrunkAuth::Ip => config.name.clone(),
        };
        let aor = NameAddr::new(Uri::Sip(SipUri::new(host).with_user(&user)));
        let (lhost, lport) = self.local(peer);
        let mut via =
            Via::new(peer.transport.as_via_str(), lhost, Some(lport), &self.core.new_branch());
        // RFC 3581: the registrar tells us the address and port it saw us at.
        via.params.push(Param::flag("rport"));
        self.cseq += 1;
        Request::builder(Method::Register, Uri::Sip(uri))
            .via(&via)
            .max_forwards(70)
            .from(&aor.clone().with_tag(&self.tag))
            .to(&aor)
            .call_id(&self.call_id)
            .cseq(self.cseq)
            .contact(contact)
            .header("Expires", expires)
            .build()
    }

    fn contact(&self, peer: Peer) -> NameAddr {
        let user = match &self.trunk.config.auth {
            TrunkAuth::Digest { username, .. } => username.clone(),
            TrunkAuth::Ip => self.trunk.config.name.clone(),
        };
        let (host, port) = self.local(peer);
        let mut uri = SipUri::new(host).with_user(&user).with_port(port);
        match peer.transport {
            Transport::Tcp => uri = uri.with_param("transport", Some("tcp")),
            Transport::Tls => uri = uri.with_secure(true),
            _ => {}
        }
        NameAddr::new(Uri::Sip(uri))
    }

    /// After a 2xx to a REGISTER: when no address is configured and the registrar saw us
    /// elsewhere than our Via names (`received`/`rport`, RFC 3581: we are behind NAT),
    /// remembers that address for the Contact and Via of later requests (REGISTERs and
    /// the trunk's INVITEs). True when it changed (register again with it).
    fn learn(&self, r: &Response, peer: Peer) -> bool {
        if self.trunk.advertised.is_some() || peer.transport != Transport::Udp {
            return false;
        }
        let Ok(via) = r.via_top() else { return false };
        let received = via.received();
        let rport = via.rport().flatten();
        if received.is_none() && rport.is_none() {
            return false;
        }
        let seen = AdvertisedAddress {
            host: received.map_or_else(|| via.host.clone(), |ip| Host::from(ip.to_canonical())),
            port: rport.or(via.port),
        };
        let (host, port) = self.local(peer);
        if seen.host == host && seen.port == Some(port) {
            return false;
        }
        if seen.host.ip().is_some_and(|ip| ip.is_unspecified()) || seen.port == Some(0) {
            return false;
        }
        tracing::info!(
            trunk = %self.trunk.config.name,
            sent = %AdvertisedAddress { host, port: Some(port) },
            seen = %seen,
            "the registrar saw us at another address (NAT): registering that one"
        );
        *self.trunk.seen_at.write().unwrap_or_else(PoisonError::into_inner) = Some(seen);
        true
    }

    /// REGISTER at one server, answering one challenge.
    /// The granted lifetime, the Contact, and whether the registrar saw us at another
    /// address (see [`Registrar::learn`]).
    async fn at(&mut self, peer: Peer, expires: u32) -> Result<(u32, String, bool), Failed> {
        let contact = self.contact(peer);
        let mut request = self.request(peer, expires, &contact);
        let mut answered = false;
        loop {
            let r = self.exchange(request.clone(), peer).await?;
            let code = r.status.code();
            if (200..300).contains(&code) {
                let granted = granted(&r, &contact, expires);
                let moved = expires > 0 && self.learn(&r, peer);
                return Ok((granted, contact.to_string(), moved));
            }
            if matches!(code, 401 | 407) && !answered {
                let Some(digest) = self.digest.as_mut() else {
                    return Err(Failed {
                        status: Some(code),
                        why: format!("registrar answered {code} and the trunk has no credentials"),
                    });
                };
                let challenges =
                    if code == 407 { r.proxy_authenticate() } else { r.www_authenticate() };
                let challenges = challenges.map_err(|e| Failed {
                    status: Some(code),
                    why: format!("unreadable challenge: {e}"),
                })?;
                if let Some(realm) = &self.trunk.config.realm {
                    let offered = challenges
                        .iter()
                        .filter_map(|c| c.as_digest())
                        .any(|c| c.realm.eq_ignore_ascii_case(realm));
                    if !offered {
                        return Err(Failed {
                            status: Some(code),
                            why: format!("registrar did not challenge for realm {realm}"),
                        });
                    }
                }
                let uri = request.uri.to_string();
                let cnonce = crate::auth::random_tag();
                let creds =
                    digest.respond(&challenges, "REGISTER", &uri, &cnonce).map_err(|e| Failed {
                        status: Some(code),
                        why: format!("challenge not answered: {e}"),
                    })?;
                answered = true;
                let header = if code == 407 { "Proxy-Authorization" } else { "Authorization" };
                let contact = contact.clone();
                request = self.request(peer, expires, &contact);
                request.headers.push(header, &creds.to_string());
                continue;
            }
            let why = if matches!(code, 401 | 407) {
                format!("registrar refused the credentials ({code})")
            } else {
                format!("registrar answered {code} {}", r.reason)
            };
            return Err(Failed { status: Some(code), why });
        }
    }

    /// Sends `request` to `peer`; its final response.
    async fn exchange(&self, request: Request, peer: Peer) -> Result<Response, Failed> {
        let mut tx = self.core.start_request(request, peer).await.map_err(|e| Failed {
            status: None,
            why: format!("REGISTER not sent to {}: {e}", peer.addr),
        })?;
        while let Some(ev) = tx.next().await {
            match ev {
                ClientEvent::Response(r) if r.status.code() >= 200 => return Ok(r),
                ClientEvent::Response(_) => {}
                ClientEvent::Timeout => {
                    return Err(Failed {
                        status: None,
                        why: format!("{} did not answer", peer.addr),
                    });
                }
                ClientEvent::TransportError(why) => {
                    return Err(Failed {
                        status: None,
                        why: format!("{} unreachable: {why}", peer.addr),
                    });
                }
            }
        }
        Err(Failed { status: None, why: format!("{} did not answer", peer.addr) })
    }
}

/// The lifetime the registrar granted our `contact`: its `expires` parameter in the 2xx,
/// else the Expires header, else what we asked for.
fn granted(r: &Response, contact: &NameAddr, asked: u32) -> u32 {
    let ours = contact.uri.to_string();
    if let Ok(contacts) = r.contacts() {
        for c in contacts.iter().filter_map(|c| c.address()) {
            if let Some(e) = c.expires()
                && c.uri.to_string() == ours
            {
                return e;
            }
        }
    }
    r.expires().ok().flatten().unwrap_or(asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_the_expiry_and_retries_back_off() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3240));
        assert_eq!(refresh_after(60), Duration::from_secs(54));
        assert_eq!(refresh_after(8), Duration::from_secs(4));
        assert_eq!(retry_after(1), Duration::from_secs(30));
        assert_eq!(retry_after(2), Duration::from_secs(60));
        assert_eq!(retry_after(3), Duration::from_secs(120));
        assert_eq!(retry_after(40), Duration::from_secs(1800));
    }
}
