//! The B2BUA's [`CallGate`] and [`CallObserver`] for calls that leave the system: the one
//! egress policy ([`ringfence_policy::EgressPolicy`]), then the fraud engine
//! ([`ringfence_fraud::FraudEngine`]), then a trunk. Decisions take microseconds under one
//! mutex; everything slow (storing events, mail) goes to the driver task
//! ([`super::EgressDriver`]) through a channel.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::SystemTime;

use ringfence_fraud::{
    BusinessHours, CallContext, EndCall, FraudEngine, FraudEvent, Limits, OpenPeriod, TenantConfig,
    Timestamp,
};
use ringfence_policy::{
    Country, EgressDecision, EgressOrigin, EgressPolicy, EgressRequest, ExtensionPattern,
    ExtensionRestrictions, LocalTarget, NumberClassifier, PlatformOverrides, TenantPolicy,
};
use ringfence_sip_proto::transaction::{Peer, Transport};
use ringfence_sip_types::{Host, SipUri, Uri};
use ringfence_store::{ExtensionNumber, NewCallRecord, Tenant, TenantId};
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc};

use super::config::{TrunkAuth, TrunkConfig, TrunkTransport};
use super::resolve::{SipResolver, TrunkTargets};
use crate::advertise::AdvertisedAddress;
use crate::b2bua::{
    CallAttempt, CallGate, CallInfo, CallObserver, CallOrigin, CallRef, Destination, ExternalRoute,
    GateDecision, TrunkCredentials,
};
use crate::transport::tls::{self, TlsPeer};

/// A trunk with its SIP servers located (RFC 3263; kept fresh by the driver).
#[derive(Debug, Clone)]
pub struct ResolvedTrunk {
    /// Its settings.
    pub config: TrunkConfig,
    /// Where INVITEs go: the current targets, first to try first.
    pub targets: Arc<TrunkTargets>,
    /// Who its servers reached over TLS must prove to be: a certificate for the trunk's
    /// host under its trust anchors (`None` when it has none to use: see
    /// [`trunk_tls`]).
    pub tls: Option<TlsPeer>,
    /// `config.advertised_address`, parsed.
    pub advertised: Option<AdvertisedAddress>,
    /// Where the carrier's registrar saw us (`received`/`rport` of its 2xx, RFC 3581)
    /// when that differs from the address we named: set by the registration client.
    pub seen_at: Arc<RwLock<Option<AdvertisedAddress>>>,
}

/// The identity a trunk's TLS servers must prove: a certificate valid for the trunk's
/// `host` (RFC 5922 §7.2: the domain we meant to reach, not an SRV target or address),
/// issued under the CA certificates of `tls_ca_file`, else under the system's trust
/// anchors.
///
/// # Errors
/// When `tls_ca_file` is unusable, or the trust store is empty while the trunk is
/// configured for TLS.
pub fn trunk_tls(config: &TrunkConfig) -> Result<Option<TlsPeer>, String> {
    let client = match &config.tls_ca_file {
        Some(path) => tls::client_config_from_file(path).map_err(|e| e.to_string())?,
        None => match tls::client_config_system() {
            Ok(c) => c,
            // Needed only when TLS is configured; NAPTR/SRV may still offer it otherwise.
            Err(e) if config.transport == Some(TrunkTransport::Tls) => {
                return Err(format!("{e}; set tls_ca_file"));
            }
            Err(_) => return Ok(None),
        },
    };
    TlsPeer::new(&config.host, client).map(Some).map_err(|e| e.to_string())
}

impl ResolvedTrunk {
    /// Locates `config.host` with `resolver`. A host without targets is kept (its calls are
    /// refused with the reason, and it is looked up again later); so is a trunk whose TLS
    /// settings are unusable (its TLS servers get no call: the transport refuses them).
    pub async fn resolve(config: TrunkConfig, resolver: &SipResolver) -> ResolvedTrunk {
        let tls = trunk_tls(&config).unwrap_or_else(|e| {
            tracing::error!(trunk = %config.name, error = %e, "trunk TLS settings unusable");
            None
        });
        ResolvedTrunk::located(config, tls, resolver).await
    }

    /// [`ResolvedTrunk::resolve`] with the TLS identity already made.
    pub(crate) async fn located(
        config: TrunkConfig,
        tls: Option<TlsPeer>,
        resolver: &SipResolver,
    ) -> ResolvedTrunk {
        let r = resolver.resolve(&config.host, config.port, config.transport).await;
        match &r {
            Ok(r) => tracing::info!(
                trunk = %config.name,
                via = r.via,
                targets = ?r.targets.iter().map(|t| t.addr).collect::<Vec<_>>(),
                "trunk located"
            ),
            Err(e) => tracing::warn!(trunk = %config.name, error = %e, "trunk not located"),
        }
        let advertised =
            config.advertised_address.as_deref().and_then(|a| AdvertisedAddress::parse(a).ok());
        ResolvedTrunk {
            config,
            targets: Arc::new(TrunkTargets::new(r)),
            advertised,
            seen_at: Arc::new(RwLock::new(None)),
            tls,
        }
    }

    /// The address to name in Via and Contact towards the carrier, when one is known
    /// beyond our listeners: configured, else learned from the registrar.
    pub fn advertise(&self) -> Option<AdvertisedAddress> {
        self.advertised
            .clone()
            .or_else(|| self.seen_at.read().unwrap_or_else(PoisonError::into_inner).clone())
    }

    fn serves(&self, tenant: &Tenant) -> bool {
        self.config.tenants.iter().any(|d| d.eq_ignore_ascii_case(tenant.domain.as_str()))
    }
}

/// The transaction layer's transport for a trunk target's.
pub(crate) fn proto_transport(t: TrunkTransport) -> Transport {
    match t {
        TrunkTransport::Udp => Transport::Udp,
        TrunkTransport::Tcp => Transport::Tcp,
        TrunkTransport::Tls => Transport::Tls,
    }
}

/// What a reload of the trunks changed, by trunk name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrunkChanges {
    /// New trunks.
    pub added: Vec<String>,
    /// Trunks no longer configured.
    pub removed: Vec<String>,
    /// Trunks whose settings changed (replaced).
    pub changed: Vec<String>,
    /// Trunks kept as they were.
    pub unchanged: Vec<String>,
}

impl std::fmt::Display for TrunkChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[String]| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
        write!(
            f,
            "added: {}; removed: {}; changed: {}; unchanged: {}",
            list(&self.added),
            list(&self.removed),
            list(&self.changed),
            list(&self.unchanged)
        )
    }
}

/// What the gate hands to the driver task.
#[derive(Debug)]
pub(crate) enum Work {
    /// Fraud events to store and, when they say so, to mail.
    Events(Vec<FraudEvent>),
    /// Calls to end now.
    End(Vec<EndCall>),
}

/// A tenant's compiled policy and engine configuration, rebuilt when its settings change.
struct TenantEntry {
    updated_at: OffsetDateTime,
    tenant: Arc<Tenant>,
    policy: Arc<EgressPolicy>,
}

pub(crate) struct Inner {
    pub(crate) engine: FraudEngine,
    tenants: HashMap<TenantId, TenantEntry>,
    /// Calls the engine allowed and tracks (until they end).
    tracked: HashSet<CallRef>,
}

/// The egress gate and call observer. Build it with [`super::build`], pass it to
/// [`crate::b2bua::B2buaBuilder::gate`] and [`crate::b2bua::B2buaBuilder::observer`], and
/// run [`super::EgressDriver::run`] beside it.
pub struct EgressGate {
    pub(crate) inner: Mutex<Inner>,
    classifier: Arc<NumberClassifier>,
    /// The trunks in configuration order; replaced whole by [`EgressGate::replace_trunks`].
    trunks: RwLock<Arc<Vec<ResolvedTrunk>>>,
    /// Locates the hosts of trunks added by a reload.
    pub(crate) resolver: SipResolver,
    /// Told when the trunks are replaced (the driver's refresher restarts).
    pub(crate) trunks_changed: Arc<Notify>,
    pub(crate) work: mpsc::UnboundedSender<Work>,
    /// Who owns the numbers that trunks call.
    pub(crate) directory: Option<Arc<dyn super::inbound::Directory>>,
    /// Callers refused by a caller-ID block.
    pub(crate) inbound_blocked: std::sync::atomic::AtomicU64,
    /// Wakes the driver when the engine's next deadline may have moved.
    pub(crate) wake: Arc<Notify>,
    /// Told when fraud control suspends an extension (to forget cached credentials).
    pub(crate) suspended: std::sync::OnceLock<Arc<dyn SuspensionListener>>,
}

/// Hears that fraud control suspended (disabled) an extension, so whatever caches its
/// credentials forgets them at once: the SIP authenticator
/// ([`crate::auth::Authenticator::invalidate_extension`]) must not let a cached credential
/// register or call again.
pub trait SuspensionListener: Send + Sync + 'static {
    /// Extension `number` of the tenant whose SIP domain is `domain` was suspended.
    fn extension_suspended(&self, domain: &str, number: &str);
}

impl SuspensionListener for crate::auth::Authenticator {
    fn extension_suspended(&self, domain: &str, number: &str) {
        self.invalidate_extension(domain, number);
    }
}

impl std::fmt::Debug for EgressGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressGate").field("trunks", &self.trunk_list()).finish_non_exhaustive()
    }
}

pub(crate) fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// The engine's id of a store id.
pub(crate) fn fraud_tenant(t: TenantId) -> ringfence_fraud::TenantId {
    ringfence_fraud::TenantId(t.0.as_u128())
}

fn fraud_extension(e: ringfence_store::ExtensionId) -> ringfence_fraud::ExtensionId {
    ringfence_fraud::ExtensionId(e.0.as_u128())
}

/// The engine's configuration from a tenant's stored settings.
pub fn fraud_config(tenant: &Tenant) -> TenantConfig {
    let l = &tenant.settings.fraud_limits;
    let mut c = TenantConfig {
        limits: Limits {
            max_concurrent_calls_per_extension: l.max_concurrent_calls_per_extension,
            max_concurrent_calls_per_tenant: l.max_concurrent_calls_per_tenant,
            max_calls_per_minute_per_extension: l.max_calls_per_minute_per_extension,
            max_calls_per_minute_per_tenant: l.max_calls_per_minute_per_tenant,
            international_minutes_per_day: l.international_minutes_per_day,
            spend_cap_cents_per_day: l.spend_cap_cents_per_day,
            ..Limits::default()
        },
        ..TenantConfig::default()
    };
    if let Some(h) = &tenant.settings.business_hours {
        c.utc_offset_minutes = h.utc_offset_minutes;
        c.business_hours = Some(BusinessHours {
            periods: h
                .periods
                .iter()
                .map(|p| OpenPeriod {
                    weekday: p.weekday,
                    start_minute: p.start_minute,
                    end_minute: p.end_minute,
                })
                .collect(),
        });
    }
    c
}

/// The tenant's egress policy from its stored settings.
fn egress_policy(
    tenant: &Tenant,
    classifier: &Arc<NumberClassifier>,
) -> Result<EgressPolicy, String> {
    let country = |c: &ringfence_store::CountryCode| {
        Country::parse(c.as_str()).map_err(|e| format!("country {}: {e}", c.as_str()))
    };
    let s = &tenant.settings;
    let policy = TenantPolicy {
        home_country: country(&s.home_country)?,
        international_calling: s.international_calling,
        allowed_countries: s.allowed_countries.iter().map(country).collect::<Result<_, _>>()?,
    };
    let o = &tenant.overrides;
    let overrides = PlatformOverrides {
        allow_premium_rate: o.allow_premium_rate,
        allow_shared_cost: o.allow_shared_cost,
        allow_high_risk: o.allow_high_risk,
        allow_non_geographic: o.allow_non_geographic,
    };
    EgressPolicy::new(
        policy,
        overrides,
        ExtensionPattern::custom(|s| ExtensionNumber::parse(s).is_ok()),
        classifier.clone(),
    )
    .map_err(|e| e.to_string())
}

/// The policy's form of an extension's stored restrictions (countries the policy cannot
/// read are dropped from `only_countries`, which only narrows further).
pub(crate) fn restrictions(r: &ringfence_store::CallingRestrictions) -> ExtensionRestrictions {
    use ringfence_store::CallPath;
    ExtensionRestrictions {
        domestic_only: r.domestic_only,
        only_countries: r
            .only_countries
            .as_ref()
            .map(|set| set.iter().filter_map(|c| Country::parse(c.as_str()).ok()).collect()),
        denied_origins: r
            .denied_paths
            .iter()
            .map(|p| match p {
                CallPath::DialledCall => EgressOrigin::DialledCall,
                CallPath::Forward => EgressOrigin::Forward,
                CallPath::Transfer => EgressOrigin::Transfer,
                CallPath::Callback => EgressOrigin::Callback,
            })
            .collect(),
    }
}

fn origin(o: CallOrigin) -> EgressOrigin {
    match o {
        CallOrigin::Forward => EgressOrigin::Forward,
        CallOrigin::Transfer => EgressOrigin::Transfer,
        CallOrigin::CallBack => EgressOrigin::Callback,
        _ => EgressOrigin::DialledCall,
    }
}

impl EgressGate {
    /// A gate over `engine` (restored from a snapshot by the caller, with its rate table)
    /// routing to `trunks`. Returns the receiving end for [`super::EgressDriver::run`].
    pub(crate) fn new(
        engine: FraudEngine,
        classifier: Arc<NumberClassifier>,
        trunks: Vec<ResolvedTrunk>,
        resolver: SipResolver,
    ) -> (EgressGate, mpsc::UnboundedReceiver<Work>) {
        let (work, rx) = mpsc::unbounded_channel();
        let gate = EgressGate {
            inner: Mutex::new(Inner { engine, tenants: HashMap::new(), tracked: HashSet::new() }),
            classifier,
            trunks: RwLock::new(Arc::new(trunks)),
            resolver,
            trunks_changed: Arc::new(Notify::new()),
            work,
            directory: None,
            inbound_blocked: std::sync::atomic::AtomicU64::new(0),
            wake: Arc::new(Notify::new()),
            suspended: std::sync::OnceLock::new(),
        };
        (gate, rx)
    }

    /// Sets who hears about suspensions (once; later calls are ignored). `ringfence serve`
    /// passes the SIP authenticator.
    pub fn on_suspension(&self, listener: Arc<dyn SuspensionListener>) {
        let _ = self.suspended.set(listener);
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tenant as last seen by the gate (for notifications).
    pub(crate) fn tenant(&self, id: ringfence_fraud::TenantId) -> Option<Arc<Tenant>> {
        let inner = self.lock();
        inner.tenants.values().find(|e| fraud_tenant(e.tenant.id) == id).map(|e| e.tenant.clone())
    }

    /// The trunks, in configuration order, with their current targets.
    pub fn trunk_list(&self) -> Arc<Vec<ResolvedTrunk>> {
        self.trunks.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The trunk for `tenant`: its own first, else a platform trunk.
    fn trunk_for(&self, tenant: &Tenant) -> Option<ResolvedTrunk> {
        let trunks = self.trunk_list();
        trunks
            .iter()
            .find(|t| t.serves(tenant))
            .or_else(|| trunks.iter().find(|t| t.config.tenants.is_empty()))
            .cloned()
    }

    /// Replaces the trunks with `configs` (checked by the caller): a trunk whose settings
    /// are unchanged keeps its located servers and learned address; new and changed ones
    /// are located now. Calls in progress keep the route they were given. Returns what
    /// changed (the registrations follow with [`super::Registrations::apply`]).
    pub async fn replace_trunks(&self, configs: Vec<TrunkConfig>) -> TrunkChanges {
        let old = self.trunk_list();
        let mut next = Vec::with_capacity(configs.len());
        let mut changes = TrunkChanges::default();
        for c in configs {
            match old.iter().find(|t| t.config.name == c.name) {
                Some(t) if t.config == c => {
                    changes.unchanged.push(c.name.clone());
                    next.push(t.clone());
                    continue;
                }
                Some(_) => changes.changed.push(c.name.clone()),
                None => changes.added.push(c.name.clone()),
            }
            next.push(ResolvedTrunk::resolve(c, &self.resolver).await);
        }
        for t in old.iter() {
            if !next.iter().any(|n| n.config.name == t.config.name) {
                changes.removed.push(t.config.name.clone());
            }
        }
        *self.trunks.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        self.trunks_changed.notify_one();
        changes
    }

    fn send(&self, events: Vec<FraudEvent>, end: Vec<EndCall>) {
        if !events.is_empty() {
            let _ = self.work.send(Work::Events(events));
        }
        if !end.is_empty() {
            let _ = self.work.send(Work::End(end));
        }
    }

    /// The route to `trunk`'s current targets, or why there is none.
    fn route(
        &self,
        trunk: &ResolvedTrunk,
        e164: &str,
        caller: &str,
    ) -> Result<ExternalRoute, String> {
        let now = trunk.targets.get();
        let mut peers = now.targets.iter().map(|t| Peer::new(t.addr, proto_transport(t.transport)));
        let Some(peer) = peers.next() else {
            let why = now.error.clone().unwrap_or_else(|| "no targets".into());
            return Err(format!("trunk {}: {why}", trunk.config.name));
        };
        let host = Host::parse(&trunk.config.host)
            .unwrap_or_else(|_| Host::Domain(trunk.config.host.clone()));
        let mut uri = SipUri::new(host).with_user(e164);
        if let Some(port) = trunk.config.port {
            uri = uri.with_port(port);
        }
        if trunk.config.transport == Some(TrunkTransport::Tcp) {
            uri = uri.with_param("transport", Some("tcp"));
        }
        Ok(ExternalRoute {
            trunk: trunk.config.name.clone(),
            target: Uri::Sip(uri),
            peer,
            alternates: peers.collect(),
            from_user: trunk.config.caller_id.clone().unwrap_or_else(|| caller.to_owned()),
            domain: trunk.config.host.clone(),
            to_user: e164.to_owned(),
            advertise: trunk.advertise(),
            credentials: match &trunk.config.auth {
                TrunkAuth::Ip => None,
                TrunkAuth::Digest { username, password } => Some(TrunkCredentials {
                    username: username.clone(),
                    password: password.clone(),
                }),
            },
            tls: trunk.tls.clone(),
        })
    }

    fn decide(&self, attempt: &CallAttempt<'_>, dialled: &str) -> GateDecision {
        let now = now();
        let tenant = attempt.tenant;
        let tid = fraud_tenant(tenant.id);
        let eid = fraud_extension(attempt.caller_id);
        let mut inner = self.lock();
        let stale = inner.tenants.get(&tenant.id).is_none_or(|e| e.updated_at != tenant.updated_at);
        if stale {
            let policy = match egress_policy(tenant, &self.classifier) {
                Ok(p) => Arc::new(p),
                Err(e) => {
                    tracing::error!(tenant = %tenant.id, error = %e, "no egress policy");
                    return GateDecision::Deny { status: 500, reason: format!("no policy: {e}") };
                }
            };
            if let Err(e) = inner.engine.set_tenant_config(tid, fraud_config(tenant)) {
                tracing::error!(tenant = %tenant.id, error = %e, "fraud configuration refused");
            }
            inner.tenants.insert(
                tenant.id,
                TenantEntry {
                    updated_at: tenant.updated_at,
                    tenant: Arc::new(tenant.clone()),
                    policy,
                },
            );
        }
        let policy = inner.tenants[&tenant.id].policy.clone();
        let home = policy.tenant().home_country;
        let narrowed = restrictions(attempt.restrictions);
        let request = EgressRequest::new(origin(attempt.origin), dialled).restricted_by(&narrowed);
        let destination = match policy.decide(&request) {
            EgressDecision::Allow { destination } => destination,
            EgressDecision::Internal(target) => {
                let what = match target {
                    LocalTarget::Extension(x) => format!("no extension {x}"),
                    LocalTarget::FeatureCode(c) => format!("feature code {c} not available"),
                };
                return GateDecision::Deny { status: 404, reason: what };
            }
            EgressDecision::Deny { reason, sip_status, sip_reason, explanation, destination } => {
                let out = inner.engine.policy_refusal(now, tid, eid, destination.as_ref());
                drop(inner);
                self.send(out.events, out.end_calls);
                return GateDecision::Refuse {
                    status: sip_status,
                    phrase: sip_reason.to_owned(),
                    reason: format!("policy {}: {explanation}", reason.as_str()),
                };
            }
        };
        let ctx = CallContext {
            call: ringfence_fraud::CallId(attempt.call.0),
            tenant: tid,
            extension: eid,
            destination,
            international: destination.is_international_from(home),
            source: Some(attempt.source.addr.ip()),
        };
        let decision = inner.engine.call_attempt(now, &ctx);
        if !decision.allow {
            drop(inner);
            let refusal = decision.refusal;
            let why = decision
                .events
                .iter()
                .find(|e| e.actions.contains(&ringfence_fraud::Action::BlockCall))
                .or(decision.events.first())
                .map(|e| e.explanation.clone())
                .unwrap_or_default();
            self.send(decision.events, decision.end_calls);
            let (status, phrase, kind) = refusal.map_or((403, "Forbidden", "fraud"), |r| {
                (r.sip_status, r.sip_reason, r.kind.as_str())
            });
            return GateDecision::Refuse {
                status,
                phrase: phrase.to_owned(),
                reason: format!("fraud {kind}: {why}"),
            };
        }
        let Some(trunk) = self.trunk_for(tenant) else {
            inner.engine.call_ended(now, ctx.call);
            drop(inner);
            self.send(decision.events, decision.end_calls);
            return GateDecision::Deny {
                status: 503,
                reason: "no trunk to the phone network".into(),
            };
        };
        let route = match self.route(&trunk, destination.e164.as_str(), attempt.caller) {
            Ok(r) => r,
            Err(reason) => {
                inner.engine.call_ended(now, ctx.call);
                drop(inner);
                self.send(decision.events, decision.end_calls);
                return GateDecision::Deny { status: 503, reason };
            }
        };
        inner.tracked.insert(attempt.call);
        drop(inner);
        self.send(decision.events, decision.end_calls);
        GateDecision::Route(route)
    }
}

impl CallGate for EgressGate {
    fn inbound<'a>(
        &'a self,
        invite: &'a ringfence_sip_types::Request,
        source: Peer,
    ) -> Option<crate::auth::BoxFuture<'a, crate::b2bua::InboundDecision>> {
        self.decide_inbound(invite, source)
    }

    fn check(&self, attempt: &CallAttempt<'_>) -> GateDecision {
        match attempt.destination {
            Destination::Extension { .. } => GateDecision::Allow,
            Destination::External { dialled } => self.decide(attempt, dialled),
        }
    }
}

impl CallObserver for EgressGate {
    fn call_answered(&self, info: &CallInfo) {
        let mut inner = self.lock();
        if inner.tracked.contains(&info.call) {
            inner.engine.call_answered(now(), ringfence_fraud::CallId(info.call.0));
            drop(inner);
            self.wake.notify_one();
        }
    }

    fn call_ended(&self, info: &CallInfo, _record: &NewCallRecord) {
        let mut inner = self.lock();
        if inner.tracked.remove(&info.call) {
            let summary = inner.engine.call_ended(now(), ringfence_fraud::CallId(info.call.0));
            drop(inner);
            if let Some(s) = summary {
                self.send(s.outcome.events, s.outcome.end_calls);
            }
            self.wake.notify_one();
        }
    }
}

impl crate::registrar::RegistrationObserver for EgressGate {
    fn registered(&self, _source: &Peer, _expires: std::time::Duration) {}

    /// Tells the fraud engine: a network (IPv4 /24, IPv6 /56) the extension never
    /// registered from makes its calls in the next minutes suspect ("new_network"); the
    /// networks are kept with the engine's saved state.
    fn extension_registered(
        &self,
        tenant: TenantId,
        extension: ringfence_store::ExtensionId,
        source: &Peer,
    ) {
        let mut inner = self.lock();
        inner.engine.registration(
            now(),
            fraud_tenant(tenant),
            fraud_extension(extension),
            source.addr.ip(),
        );
    }
}

/// Several observers heard in turn (the media relay and the egress gate both watch calls).
pub struct Observers(pub Vec<Arc<dyn CallObserver>>);

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers").field("len", &self.0.len()).finish()
    }
}

impl CallObserver for Observers {
    fn call_answered(&self, info: &CallInfo) {
        for o in &self.0 {
            o.call_answered(info);
        }
    }

    fn call_ended(&self, info: &CallInfo, record: &NewCallRecord) {
        for o in &self.0 {
            o.call_ended(info, record);
        }
    }
}
