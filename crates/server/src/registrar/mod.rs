//! The registrar (RFC 3261 §10.3) and the location service the B2BUA reads.
//!
//! Place in the data flow: the core hands every REGISTER to [`Registrar`] (through
//! [`crate::core::RequestHandler`]); a task per request authenticates it
//! ([`crate::auth`], 401 challenge), checks that the authenticated extension is the
//! address of record in `To`, applies the bindings to the in-memory
//! [`LocationService`] under the extension's lock, queues the store changes to the
//! group-commit writer, and answers `200 OK` with every current binding once they are
//! stored. The B2BUA asks [`Registrar::locate`] where an extension can be reached.
//!
//! Rules:
//! - Tenant: the Request-URI's domain (the realm). The `To` AOR must be in the same
//!   domain and its user part is the extension number, which must be the digest
//!   username: an extension registers only itself (otherwise `403`, after
//!   authentication, so unauthenticated peers learn nothing).
//! - Bindings: add, refresh, remove (`expires=0`), `Contact: *` with `Expires: 0`, up to
//!   `max_contacts` per extension; intervals below `min_expires` get `423` with
//!   `Min-Expires`, above `max_expires` are shortened; the same Call-ID with a CSeq not
//!   higher than a binding's aborts the request (`500`).
//! - NAT: each binding keeps the address, transport and flow the REGISTER came from, so
//!   requests reach the device through its NAT binding or connection. RFC 5626: with
//!   `Supported: outbound` and `+sip.instance` + `reg-id`, bindings are keyed by instance
//!   and reg-id (a device coming back on a new port replaces its binding) and the answer
//!   carries `Require: outbound`. RFC 3327: Path is stored and echoed when supported.
//! - Persistence: bindings are written to the store (see [`writer`]) and loaded at
//!   startup; lapsed ones are swept from memory and store every `sweep_interval`.
//! - Encryption requirement and device networks: enforced by the authenticator after the
//!   credentials verify, answered like a bad password (see [`crate::auth`]).
//! - Known devices: a [`RegistrationObserver`] (the perimeter guard) hears which sources
//!   hold a registration and for how long.

mod location;
mod observer;
mod update;
pub mod writer;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ringfence_sip_proto::transaction::{Peer, Transport, TxId};
use ringfence_sip_types::header::SipDate;
use ringfence_sip_types::{HeaderName, Request, Response};
use ringfence_store::{ExtensionId, TenantId};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use location::{Binding, Location, LocationService};
pub use observer::{
    NoRegistrationObserver, Observers as RegistrationObservers, RegistrationObserver,
};
pub use writer::{BindingOp, BindingStore, StoreBindings};

use crate::auth::{AuthOutcome, Authenticator, ChallengeKind, realm_of};
use crate::config::RegistrarConfig;
use crate::core::{CoreError, CoreHandle, RequestHandler};
use update::{Change, Contacts, Register, Reject};
use writer::Writer;

#[derive(Debug)]
struct Inner {
    config: RegistrarConfig,
    auth: Arc<Authenticator>,
    core: CoreHandle,
    location: Arc<LocationService>,
    store: Arc<dyn BindingStore>,
    writer: Writer,
    observer: Arc<dyn RegistrationObserver>,
}

impl std::fmt::Debug for dyn BindingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BindingStore")
    }
}

impl std::fmt::Debug for dyn RegistrationObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistrationObserver")
    }
}

/// The registrar. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Registrar {
    inner: Arc<Inner>,
}

impl Registrar {
    /// Loads the stored bindings that have not lapsed and starts the writer and the
    /// expiry sweeper on `tracker`; both stop when `shutdown` fires (the writer after
    /// storing what was queued). `observer` hears about every source that holds a
    /// registration: the loaded UDP bindings now (connections do not survive a restart),
    /// then each REGISTER that changes bindings.
    ///
    /// # Errors
    /// [`CoreError::Store`] when the bindings cannot be loaded.
    pub async fn start(
        config: RegistrarConfig,
        store: Arc<dyn BindingStore>,
        auth: Arc<Authenticator>,
        core: CoreHandle,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
        observer: Arc<dyn RegistrationObserver>,
    ) -> Result<Registrar, CoreError> {
        let location = Arc::new(LocationService::new());
        let records = store.load(ringfence_store::now()).await?;
        let mut by_aor: HashMap<(TenantId, ExtensionId), Vec<Binding>> = HashMap::new();
        let mut skipped = 0usize;
        for r in &records {
            match Binding::from_record(r) {
                Some(b) => by_aor.entry((r.tenant_id, r.extension_id)).or_default().push(b),
                None => skipped += 1,
            }
        }
        if skipped > 0 {
            tracing::warn!(skipped, "stored bindings with unparseable contacts were not loaded");
        }
        let loaded = records.len() - skipped;
        for ((t, e), bs) in by_aor {
            location.replace(t, e, bs);
        }
        tracing::info!(bindings = loaded, "registrar loaded stored bindings");
        for (peer, secs) in location.sources(SystemTime::now()) {
            if peer.transport == Transport::Udp {
                observer.registered(&peer, Duration::from_secs(u64::from(secs)));
            }
        }
        let writer = Writer::spawn(store.clone(), config.write_batch, tracker, shutdown.clone());
        tracker.spawn(sweep(location.clone(), store.clone(), config.sweep_interval, shutdown));
        let inner = Inner { config, auth, core, location, store, writer, observer };
        Ok(Registrar { inner: Arc::new(inner) })
    }

    /// Where extension `extension` of `tenant` can be reached: its live contacts, most
    /// preferred first (empty when it is not registered).
    pub fn locate(&self, tenant: TenantId, extension: ExtensionId) -> Vec<Location> {
        self.inner.location.locate(tenant, extension)
    }

    /// The location service (shared; reads never touch the store).
    pub fn location(&self) -> &Arc<LocationService> {
        &self.inner.location
    }

    /// Processes one REGISTER and returns the response to send. [`RequestHandler::handle`]
    /// runs this on a task and sends the result.
    pub async fn process(&self, request: &Request, source: &Peer) -> Response {
        let me = &self.inner;
        let Some(realm) = realm_of(&request.uri) else {
            return simple(request, 416, None);
        };
        let identity = match me.auth.authenticate(request, source, &realm, ChallengeKind::Www).await
        {
            AuthOutcome::Authenticated(i) => i,
            AuthOutcome::Challenge(r) | AuthOutcome::Unavailable(r) => return r,
        };
        // §10.3 steps 3-5: the AOR is the authenticated extension in this domain.
        let aor_ok = request.to().ok().is_some_and(|to| {
            realm_of(&to.uri).as_deref() == Some(realm.as_str())
                && to.uri.as_sip().and_then(|u| u.user_unescaped()).as_deref()
                    == Some(identity.number.as_bytes())
        });
        if !aor_ok {
            return simple(request, 403, Some("Not Your Address Of Record"));
        }
        let reg = match update::parse(request, *source, &me.config) {
            Ok(r) => r,
            Err(rej) => return rejection(request, &rej),
        };
        let (tenant, ext) = (identity.tenant.id, identity.extension_id);
        let now = SystemTime::now();
        let applied = me.location.with_aor(tenant, ext, |bindings| {
            let changes = update::apply(bindings, &reg, now, me.config.max_contacts)?;
            // Queued under the extension's lock, so the store sees changes in order.
            let stored =
                (!changes.is_empty()).then(|| me.writer.submit(to_ops(tenant, ext, changes)));
            // What the answer and the observer need, not a copy of every binding: many
            // REGISTERs may wait for the store at once.
            Ok::<_, Reject>((Answer::new(bindings, source, now), stored))
        });
        let (answer, stored) = match applied {
            Ok(x) => x,
            Err(rej) => return rejection(request, &rej),
        };
        if let Some(stored) = stored
            && !stored.await.unwrap_or(false)
        {
            self.resync(tenant, ext).await;
            let mut r = simple(request, 500, Some("Binding Not Stored"));
            r.headers.push(HeaderName::RetryAfter, "5");
            return r;
        }
        if !matches!(reg.contacts, Contacts::Fetch) {
            self.tell_observer(source, answer.source_remaining, now);
            if answer.source_remaining.is_some_and(|secs| secs > 0) {
                self.inner.observer.extension_registered(tenant, ext, source);
            }
        }
        ok_response(request, &reg, &answer)
    }

    /// Tells the observer how long `source` stays registered after a REGISTER from it
    /// changed an extension's bindings: the longest of its bindings of this extension
    /// (`here`) or, when none is left, of any other extension (a phone with several lines
    /// on one port); zero when it holds none at all.
    fn tell_observer(&self, source: &Peer, here: Option<u32>, now: SystemTime) {
        let secs = match here {
            Some(secs) => secs,
            None => self.inner.location.remaining_from(source.addr, now).unwrap_or(0),
        };
        self.inner.observer.registered(source, Duration::from_secs(u64::from(secs)));
    }

    /// After a failed write, makes memory agree with the store again.
    async fn resync(&self, tenant: TenantId, ext: ExtensionId) {
        let me = &self.inner;
        match me.store.list(tenant, ext, ringfence_store::now()).await {
            Ok(records) => {
                let bs = records.iter().filter_map(Binding::from_record).collect();
                me.location.replace(tenant, ext, bs);
            }
            Err(e) => tracing::error!(error = %e, "reloading an extension's bindings failed"),
        }
    }
}

impl RequestHandler for Registrar {
    fn handle(&self, tx: TxId, request: Request, source: Peer) {
        let this = self.clone();
        tokio::spawn(async move {
            let response = this.process(&request, &source).await;
            if let Err(e) = this.inner.core.respond(tx, response) {
                tracing::debug!(error = %e, "REGISTER answered after the core stopped");
            }
        });
    }
}

fn to_ops(tenant: TenantId, ext: ExtensionId, changes: Vec<Change>) -> Vec<BindingOp> {
    changes
        .into_iter()
        .map(|c| match c {
            Change::Upsert(b) => BindingOp::Upsert(b.to_record(tenant, ext)),
            Change::Remove(key) => BindingOp::Remove { tenant, extension: ext, contact_uri: key },
        })
        .collect()
}

/// A response with a To tag and optionally another reason phrase.
fn simple(request: &Request, code: u16, reason: Option<&str>) -> Response {
    let mut r = Response::from_request(request, code);
    let _ = r.set_to_tag(&crate::auth::random_tag());
    if let Some(reason) = reason {
        reason.clone_into(&mut r.reason);
    }
    r
}

fn rejection(request: &Request, rej: &Reject) -> Response {
    let (code, reason) = rej.status();
    let mut r = simple(request, code, Some(reason));
    if let Reject::TooBrief(min) = rej {
        r.headers.remove(HeaderName::ContentLength);
        r.headers.push(HeaderName::MinExpires, &min.to_string());
        r.headers.set_content_length(0);
    }
    r
}

/// What the answer to a REGISTER needs from the bindings, read under the extension's
/// lock.
struct Answer {
    /// Every current binding as a Contact value with its remaining time (§10.3 step 8).
    contacts: Vec<String>,
    /// The longest remaining time of the bindings registered from the request's source.
    source_remaining: Option<u32>,
    /// When it was read (the Date header).
    now: SystemTime,
}

impl Answer {
    fn new(bindings: &[Binding], source: &Peer, now: SystemTime) -> Answer {
        let contacts = bindings
            .iter()
            // The stored contact has no `expires` parameter: appending one is setting it.
            .map(|b| format!("{};expires={}", b.contact_text(), b.remaining(now)))
            .collect();
        let source_remaining =
            bindings.iter().filter(|b| b.peer.addr == source.addr).map(|b| b.remaining(now)).max();
        Answer { contacts, source_remaining, now }
    }
}

/// §10.3 step 8: 200 with every current binding and its remaining time, and Date.
fn ok_response(request: &Request, reg: &Register, answer: &Answer) -> Response {
    let mut r = simple(request, 200, None);
    r.headers.remove(HeaderName::ContentLength);
    for c in &answer.contacts {
        r.headers.push(HeaderName::Contact, c);
    }
    if reg.path_supported {
        for p in &reg.path {
            r.headers.push("Path", p);
        }
    }
    if reg.any_outbound() && matches!(reg.contacts, Contacts::List(_)) {
        r.headers.push(HeaderName::Require, "outbound");
    }
    r.headers.push(HeaderName::Date, &sip_date(answer.now).to_string());
    r.headers.set_content_length(0);
    r
}

/// The Date header value for `t` (RFC 3261 §20.17, GMT).
pub(crate) fn sip_date(t: SystemTime) -> SipDate {
    let t = OffsetDateTime::from(t);
    SipDate {
        weekday: t.weekday().number_days_from_monday(),
        day: t.day(),
        month: u8::from(t.month()),
        year: u16::try_from(t.year()).unwrap_or(0),
        hour: t.hour(),
        minute: t.minute(),
        second: t.second(),
    }
}

async fn sweep(
    location: Arc<LocationService>,
    store: Arc<dyn BindingStore>,
    every: std::time::Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let dropped = location.sweep(SystemTime::now());
        match store.purge(ringfence_store::now()).await {
            Ok(purged) if dropped > 0 || purged > 0 => {
                tracing::debug!(dropped, purged, "lapsed bindings removed");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purging lapsed bindings failed"),
        }
    }
}
