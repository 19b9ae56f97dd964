//! The perimeter guard ([`ringfence_guard`]) wired into the server: hostile traffic is
//! dropped before it costs anything, and registered phones keep working during an attack.
//!
//! ```text
//! socket ──> TransportHook::allow (Guard::check_packet) ──drop──> nothing, no answer
//!   parse ──> TransportHook::observe (Guard::observe_request) ──drop──> nothing; a
//!             connection is closed
//!   digest auth ──> Perimeter::admit (Guard::check_auth) ──refuse──> the same challenge as
//!             a wrong password, credentials not checked
//!           ──> Perimeter::auth_failed / auth_succeeded (Guard::auth_failed / _succeeded)
//!   registrar ──> Perimeter::registered (Guard::registration_ok): a known device
//!   connection closed ──> TransportHook::connection_closed (Guard::forget_device)
//! every second: Guard::housekeeping, then every event -> counters, log and audit log
//!               ([`driver`], actor `system:guard`)
//! admin API: Perimeter::list_bans / lift_ban / set_static_rules; metrics in Prometheus
//!            text ([`Perimeter::render_metrics`])
//! ```
//!
//! One [`Perimeter`] is shared (in an `Arc`) by every receive task, the authenticator, the
//! registrar and the once-a-second driver. [`crate::core::SipServiceBuilder::perimeter`]
//! does all the wiring.
//!
//! The guard names a tenant by its SIP domain, the digest realm: the authenticator has it
//! whether or not the tenant exists, so guesses against unknown tenants count too.

mod counters;
pub mod driver;
mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringfence_guard::{
    AuthCheck, BanInfo, BanKey, Guard, GuardConfig, GuardError, GuardStats, RequestInfo,
    StaticRules, Transport, Verdict,
};
use ringfence_sip_proto::transaction::Peer;
use ringfence_sip_types::{HeaderName, Message, Method, Request};

use crate::auth::{AuthEvent, AuthObserver, FailureReason};
use crate::core::convert::to_kind;
use crate::registrar::RegistrationObserver;
use crate::transport::{self, FlowId, Inbound, TransportKind};

pub use counters::PerimeterCounters;
pub use driver::{SecurityLog, StoreSecurityLog};
pub use metrics::{METRICS_CONTENT_TYPE, process_usage, render_metrics};

/// The guard and its counters. See the module documentation.
#[derive(Debug)]
pub struct Perimeter {
    guard: Guard,
    counters: counters::Counters,
}

impl Perimeter {
    /// A perimeter guard with `config` (the `[guard]` table), its clock starting now.
    ///
    /// # Errors
    /// [`GuardError::InvalidConfig`] naming the bad value.
    pub fn new(config: GuardConfig) -> Result<Perimeter, GuardError> {
        Ok(Perimeter { guard: Guard::new(config, Instant::now())?, counters: Default::default() })
    }

    /// The guard itself.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The guard's counters and gauges.
    pub fn stats(&self) -> GuardStats {
        self.guard.stats()
    }

    /// What the server counted around the guard (authentication outcomes, events, audit).
    pub fn counters(&self) -> PerimeterCounters {
        self.counters.snapshot()
    }

    /// Every running ban and static deny entry, sorted by key.
    pub fn list_bans(&self) -> Vec<BanInfo> {
        self.guard.list_bans(Instant::now())
    }

    /// Lifts a running ban (an administrator's decision; the caller writes the audit event).
    ///
    /// # Errors
    /// [`GuardError::NotBanned`], or [`GuardError::StaticRule`] for a static deny entry.
    pub fn lift_ban(&self, key: &BanKey) -> Result<(), GuardError> {
        self.guard.lift_ban(Instant::now(), key)
    }

    /// Replaces every permanent allow and deny entry; on error nothing changes.
    ///
    /// # Errors
    /// Too many entries, or a tenant allow entry that is too wide.
    pub fn set_static_rules(&self, rules: StaticRules) -> Result<(), GuardError> {
        self.guard.set_static_rules(rules)
    }

    /// The hook for the transports ([`crate::transport::TransportsBuilder::guard`]).
    pub fn transport_hook(self: &Arc<Self>) -> TransportHook {
        TransportHook(self.clone())
    }
}

/// The guard's name for a transport kind.
fn guard_transport(kind: TransportKind) -> Transport {
    match kind {
        TransportKind::Udp => Transport::Udp,
        TransportKind::Tcp => Transport::Tcp,
        TransportKind::Tls => Transport::Tls,
        TransportKind::Ws => Transport::Ws,
        TransportKind::Wss => Transport::Wss,
    }
}

/// The connection a message came over, as the guard tracks it: the flow of a connection;
/// none for UDP (all datagrams share the socket's flow).
fn guard_flow(kind: TransportKind, flow: FlowId) -> Option<u64> {
    kind.is_reliable().then(|| flow.get())
}

/// True when the top Via's branch has the RFC 3261 §8.1.1.7 magic cookie.
fn branch_cookie(req: &Request) -> bool {
    req.via_top().ok().and_then(|v| v.branch().map(|b| b.starts_with("z9hG4bK"))).unwrap_or(false)
}

/// Looks at one parsed request (fills [`RequestInfo`] from the message).
fn observe(guard: &Guard, inbound: &Inbound, req: &Request) -> Verdict {
    let from = req.from().ok();
    let to = req.to().ok();
    let user = |n: &Option<ringfence_sip_types::header::NameAddr>| {
        n.as_ref().and_then(|n| n.uri.as_sip()).and_then(|u| u.user.clone())
    };
    let (from_user, to_user) = (user(&from), user(&to));
    let mut info =
        RequestInfo::new(inbound.source, guard_transport(inbound.kind), req.method.as_str());
    info.flow = guard_flow(inbound.kind, inbound.flow);
    info.user_agent = req.headers.get(HeaderName::UserAgent);
    info.from_display = from.as_ref().and_then(|f| f.display_name.as_deref());
    info.from_user = from_user.as_deref();
    info.to_user = to_user.as_deref();
    info.target_user = if req.method == Method::Register {
        to_user.as_deref()
    } else {
        req.uri.as_sip().and_then(|u| u.user.as_deref())
    };
    info.branch_cookie = branch_cookie(req);
    info.has_credentials = req.headers.contains(HeaderName::Authorization)
        || req.headers.contains(HeaderName::ProxyAuthorization);
    guard.observe_request(Instant::now(), &info)
}

/// The transports' side of the perimeter: every datagram and accepted connection, every
/// parsed request, every closed connection.
#[derive(Debug, Clone)]
pub struct TransportHook(Arc<Perimeter>);

impl transport::Guard for TransportHook {
    fn allow(&self, source: SocketAddr, kind: TransportKind) -> bool {
        self.0.guard.check_packet(Instant::now(), source, guard_transport(kind)) == Verdict::Allow
    }

    fn observe(&self, inbound: &Inbound) -> bool {
        let Message::Request(req) = &inbound.message else { return true };
        let allowed = observe(&self.0.guard, inbound, req) == Verdict::Allow;
        if !allowed {
            self.0.counters.request_refused();
        }
        allowed
    }

    fn connection_closed(&self, _kind: TransportKind, remote: SocketAddr, _flow: FlowId) {
        self.0.guard.forget_device(Instant::now(), remote);
    }
}

impl AuthObserver for Perimeter {
    fn admit(&self, realm: &str, username: &str, source: &Peer) -> bool {
        let check = self.guard.check_auth(Instant::now(), realm, username, source.addr);
        if check == AuthCheck::Refuse {
            self.counters.auth_refused();
            return false;
        }
        true
    }

    fn auth_failed(&self, event: &AuthEvent<'_>, reason: FailureReason) {
        self.counters.auth_failed(reason);
        self.guard.auth_failed(Instant::now(), event.realm, event.username, event.source.addr);
    }

    fn auth_succeeded(&self, event: &AuthEvent<'_>) {
        self.counters.auth_succeeded();
        self.guard.auth_succeeded(Instant::now(), event.realm, event.username, event.source.addr);
    }
}

impl RegistrationObserver for Perimeter {
    fn registered(&self, source: &Peer, expires: Duration) {
        let kind = to_kind(source.transport);
        let flow = source.flow.map(|f| f.0).filter(|_| kind.is_reliable());
        self.guard.registration_ok(Instant::now(), source.addr, flow, expires);
    }
}

#[cfg(test)]
mod tests;

/// The guard's permanent entries from the stored allow/deny entries
/// ([`ringfence_store::GuardRuleRepo::all_guard_rules`]): global entries by action, tenant
/// entries under the tenant's SIP domain.
pub fn static_rules(
    entries: Vec<(ringfence_store::GuardRule, Option<ringfence_store::SipDomain>)>,
) -> ringfence_guard::StaticRules {
    use ringfence_store::GuardAction;
    let mut rules = ringfence_guard::StaticRules::default();
    for (rule, domain) in entries {
        match (domain, rule.action) {
            (None, GuardAction::Allow) => rules.global_allow.push(rule.network),
            (None, GuardAction::Deny) => rules.global_deny.push(rule.network),
            (Some(d), action) => {
                let pos = match rules.tenants.iter().position(|t| t.tenant == d.as_str()) {
                    Some(i) => i,
                    None => {
                        rules.tenants.push(ringfence_guard::TenantRules {
                            tenant: d.as_str().to_owned(),
                            ..Default::default()
                        });
                        rules.tenants.len() - 1
                    }
                };
                let t = &mut rules.tenants[pos];
                match action {
                    GuardAction::Allow => t.allow.push(rule.network),
                    GuardAction::Deny => t.deny.push(rule.network),
                }
            }
        }
    }
    rules
}
