//! Locating a trunk's SIP servers (RFC 3263 §4, client side), with hickory-resolver.
//!
//! ```text
//! host is an IP address          -> that address, the port given or the transport's
//!                                   default (5060, 5061 for TLS), UDP unless set
//! a port is given                -> A/AAAA of the host, that port, UDP unless set
//! otherwise NAPTR of the host    -> records with flag "s" and service SIP+D2U / SIP+D2T /
//!                                   SIPS+D2T (only the configured transport's, when one
//!                                   is set), by order then preference; each one's
//!                                   replacement is an SRV name
//! no usable NAPTR                -> SRV _sips._tcp.<host>, _sip._udp.<host>,
//!                                   _sip._tcp.<host> (the configured transport's only,
//!                                   when set)
//! SRV records                    -> by priority, weighted at random within a priority
//!                                   (RFC 2782); each target's A/AAAA with the SRV port
//! no SRV either                  -> A/AAAA of the host, the transport's default port
//! ```
//!
//! The result is an ordered list of targets: the B2BUA sends to the first and moves to the
//! next on a transport error (a refused connection, a failed TLS handshake: reported at
//! once), a timeout or a 503 (RFC 3263 §4.3). Answers are cached by the resolver for their
//! TTL; [`TrunkTargets`] holds the current list of a trunk and is resolved again when the
//! shortest TTL of the chain runs out.
//!
//! TLS targets (`SIPS+D2T`, `_sips._tcp`) must present a certificate for the trunk's host,
//! the domain we meant to reach (RFC 5922 §7.2), not for the SRV target: DNS is not
//! trusted to name who the carrier is.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{RData, RecordType};

use super::config::TrunkTransport;

/// Resolve again at most this often, and at least this often.
const MIN_REFRESH: Duration = Duration::from_secs(5);
const MAX_REFRESH: Duration = Duration::from_secs(3600);
/// After a failure, try again this soon.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// One place to send a trunk's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipTarget {
    /// Address and port.
    pub addr: SocketAddr,
    /// Transport.
    pub transport: TrunkTransport,
}

/// A resolution: the targets in the order to try them, and how long they hold.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Targets, first to try first (never empty).
    pub targets: Vec<SipTarget>,
    /// Which step found them: `address`, `A/AAAA`, `SRV` or `NAPTR`.
    pub via: &'static str,
    /// When to look again (the shortest TTL of the answers used).
    pub valid_until: Instant,
}

/// Why a host gave no targets.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The DNS answered, with nothing usable.
    #[error("{0} has no SIP targets (no NAPTR, SRV or A/AAAA records)")]
    NoRecords(String),
    /// The DNS failed (timeout, refusal, ...).
    #[error("{host}: DNS lookup failed: {reason}")]
    Dns {
        /// The name looked up.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

/// A DNS client for trunk hosts.
#[derive(Clone)]
pub struct SipResolver {
    dns: TokioResolver,
}

impl std::fmt::Debug for SipResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipResolver").finish_non_exhaustive()
    }
}

fn service_transport(service: &[u8]) -> Option<TrunkTransport> {
    if service.eq_ignore_ascii_case(b"SIP+D2U") {
        Some(TrunkTransport::Udp)
    } else if service.eq_ignore_ascii_case(b"SIP+D2T") {
        Some(TrunkTransport::Tcp)
    } else if service.eq_ignore_ascii_case(b"SIPS+D2T") {
        Some(TrunkTransport::Tls)
    } else {
        None
    }
}

fn srv_prefix(t: TrunkTransport) -> &'static str {
    match t {
        TrunkTransport::Udp => "_sip._udp.",
        TrunkTransport::Tcp => "_sip._tcp.",
        TrunkTransport::Tls => "_sips._tcp.",
    }
}

fn absolute(name: &str) -> String {
    if name.ends_with('.') { name.to_owned() } else { format!("{name}.") }
}

fn no_records(e: &NetError) -> bool {
    matches!(e, NetError::Dns(DnsError::NoRecordsFound(_)))
}

/// Orders SRV records as RFC 2782 says: by priority, then within a priority by a weighted
/// random draw (weight-0 records first in the running sum, so they are rarely first).
pub fn order_srv<T: Clone>(records: &[(u16, u16, T)], rng: &mut impl rand::Rng) -> Vec<T> {
    let mut sorted: Vec<&(u16, u16, T)> = records.iter().collect();
    sorted.sort_by_key(|r| (r.0, r.1 != 0));
    let mut out = Vec::with_capacity(records.len());
    let mut i = 0;
    while i < sorted.len() {
        let prio = sorted[i].0;
        let mut group: Vec<&(u16, u16, T)> =
            sorted[i..].iter().take_while(|r| r.0 == prio).copied().collect();
        i += group.len();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.1)).sum();
            let pick = rng.random_range(0..=total);
            let mut running = 0;
            let at = group
                .iter()
                .position(|r| {
                    running += u32::from(r.1);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(at).2.clone());
        }
    }
    out
}

impl SipResolver {
    /// A resolver asking `servers` (address and port), or the system's (`/etc/resolv.conf`)
    /// when the list is empty.
    ///
    /// # Errors
    /// When the system configuration cannot be read.
    pub fn new(servers: &[SocketAddr]) -> Result<SipResolver, String> {
        let provider = TokioRuntimeProvider::default();
        let builder = if servers.is_empty() {
            TokioResolver::builder(provider)
                .map_err(|e| format!("system DNS configuration: {e}"))?
        } else {
            let mut config = ResolverConfig::from_name_servers(Vec::new());
            for s in servers {
                let mut udp = ConnectionConfig::udp();
                udp.port = s.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = s.port();
                config.add_name_server(NameServerConfig::new(s.ip(), true, vec![udp, tcp]));
            }
            TokioResolver::builder_with_config(config, provider)
        };
        let dns = builder.build().map_err(|e| format!("DNS resolver: {e}"))?;
        Ok(SipResolver { dns })
    }

    /// The targets for `host` as RFC 3263 §4 says (see the module docs).
    ///
    /// # Errors
    /// [`ResolveError`] when there is no target.
    pub async fn resolve(
        &self,
        host: &str,
        port: Option<u16>,
        transport: Option<TrunkTransport>,
    ) -> Result<Resolution, ResolveError> {
        let now = Instant::now();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            let t = transport.unwrap_or_default();
            let addr = SocketAddr::new(ip, port.unwrap_or(t.default_port()));
            return Ok(Resolution {
                targets: vec![SipTarget { addr, transport: t }],
                via: "address",
                valid_until: now + MAX_REFRESH,
            });
        }
        let mut until = now + MAX_REFRESH;
        let mut failure: Option<String> = None;
        if let Some(port) = port {
            let t = transport.unwrap_or_default();
            let targets = self.addresses(host, port, t, &mut until, &mut failure).await;
            return self.finish(host, targets, "A/AAAA", until, failure);
        }
        // NAPTR
        let mut srv_names: Vec<(String, TrunkTransport)> = Vec::new();
        match self.dns.lookup(absolute(host), RecordType::NAPTR).await {
            Ok(l) => {
                until = until.min(l.valid_until());
                let mut naptrs: Vec<_> = l
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::NAPTR(n) => Some(n.clone()),
                        _ => None,
                    })
                    .filter(|n| n.flags.eq_ignore_ascii_case(b"s"))
                    .filter_map(|n| service_transport(&n.services).map(|t| (n, t)))
                    .filter(|(_, t)| transport.is_none_or(|want| want == *t))
                    .collect();
                naptrs.sort_by_key(|(n, _)| (n.order, n.preference));
                for (n, t) in naptrs {
                    srv_names.push((n.replacement.to_ascii(), t));
                }
            }
            Err(e) if no_records(&e) => {}
            Err(e) => failure = Some(e.to_string()),
        }
        let via = if srv_names.is_empty() {
            let wanted = match transport {
                Some(t) => vec![t],
                // Our preference (RFC 3263 §4.1 leaves it to the client): TLS first.
                None => vec![TrunkTransport::Tls, TrunkTransport::Udp, TrunkTransport::Tcp],
            };
            for t in wanted {
                srv_names.push((format!("{}{}", srv_prefix(t), absolute(host)), t));
            }
            "SRV"
        } else {
            "NAPTR"
        };
        let mut targets = Vec::new();
        for (name, t) in &srv_names {
            for target in self.srv(name, *t, &mut until, &mut failure).await {
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
        }
        if !targets.is_empty() {
            return self.finish(host, targets, via, until, failure);
        }
        let t = transport.unwrap_or_default();
        let targets = self.addresses(host, t.default_port(), t, &mut until, &mut failure).await;
        self.finish(host, targets, "A/AAAA", until, failure)
    }

    fn finish(
        &self,
        host: &str,
        targets: Vec<SipTarget>,
        via: &'static str,
        until: Instant,
        failure: Option<String>,
    ) -> Result<Resolution, ResolveError> {
        if targets.is_empty() {
            return Err(match failure {
                Some(reason) => ResolveError::Dns { host: host.to_owned(), reason },
                None => ResolveError::NoRecords(host.to_owned()),
            });
        }
        Ok(Resolution { targets, via, valid_until: until })
    }

    async fn srv(
        &self,
        name: &str,
        transport: TrunkTransport,
        until: &mut Instant,
        failure: &mut Option<String>,
    ) -> Vec<SipTarget> {
        let lookup: Lookup = match self.dns.lookup(absolute(name), RecordType::SRV).await {
            Ok(l) => l,
            Err(e) => {
                if !no_records(&e) {
                    *failure = Some(e.to_string());
                }
                return Vec::new();
            }
        };
        *until = (*until).min(lookup.valid_until());
        let records: Vec<(u16, u16, (String, u16))> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(s) => Some((s.priority, s.weight, (s.target.to_ascii(), s.port))),
                _ => None,
            })
            // "." as the target: the service is decidedly not available (RFC 2782).
            .filter(|(_, _, (t, _))| t != ".")
            .collect();
        let ordered = order_srv(&records, &mut rand::rng());
        let mut out = Vec::new();
        for (target, port) in ordered {
            out.extend(self.addresses(&target, port, transport, until, failure).await);
        }
        out
    }

    async fn addresses(
        &self,
        host: &str,
        port: u16,
        transport: TrunkTransport,
        until: &mut Instant,
        failure: &mut Option<String>,
    ) -> Vec<SipTarget> {
        match self.dns.lookup_ip(absolute(host)).await {
            Ok(ips) => {
                *until = (*until).min(Lookup::from(ips.clone()).valid_until());
                ips.iter()
                    .map(|ip| SipTarget { addr: SocketAddr::new(ip, port), transport })
                    .collect()
            }
            Err(e) => {
                if !no_records(&e) {
                    *failure = Some(e.to_string());
                }
                Vec::new()
            }
        }
    }
}

/// What a trunk resolves to now.
#[derive(Debug, Clone)]
pub struct TargetsNow {
    /// The targets, first to try first; empty when the last resolution failed.
    pub targets: Vec<SipTarget>,
    /// Why there are none (when there are none).
    pub error: Option<String>,
    /// When to resolve again.
    pub refresh_at: Instant,
}

/// A trunk's current targets, shared by the gate (which reads them for every call) and the
/// refresher (which replaces them when their TTL runs out).
#[derive(Debug)]
pub struct TrunkTargets {
    now: RwLock<Arc<TargetsNow>>,
}

impl TrunkTargets {
    /// Targets from one resolution (or its failure).
    pub fn new(first: Result<Resolution, ResolveError>) -> TrunkTargets {
        let t = TrunkTargets {
            now: RwLock::new(Arc::new(TargetsNow {
                targets: Vec::new(),
                error: None,
                refresh_at: Instant::now(),
            })),
        };
        t.set(first);
        t
    }

    /// The current targets.
    pub fn get(&self) -> Arc<TargetsNow> {
        self.now.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the targets with a new resolution's; a failure keeps nothing (the trunk
    /// refuses calls with the reason until a resolution succeeds).
    pub fn set(&self, r: Result<Resolution, ResolveError>) {
        let now = Instant::now();
        let next = match r {
            Ok(r) => TargetsNow {
                targets: r.targets,
                error: None,
                refresh_at: r.valid_until.clamp(now + MIN_REFRESH, now + MAX_REFRESH),
            },
            Err(e) => TargetsNow {
                targets: Vec::new(),
                error: Some(e.to_string()),
                refresh_at: now + RETRY_AFTER_FAILURE,
            },
        };
        *self.now.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
    }

    /// Whether `ip` is one of the targets' addresses.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.get().targets.iter().any(|t| t.addr.ip().to_canonical() == ip)
    }
}

/// Locates each trunk again when its targets' TTL runs out (30 s after a failure), until
/// `shutdown` completes.
pub async fn keep_fresh(
    resolver: SipResolver,
    trunks: Vec<(super::config::TrunkConfig, Arc<TrunkTargets>)>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    if trunks.is_empty() {
        return shutdown.await;
    }
    loop {
        let next =
            trunks.iter().map(|(_, t)| t.get().refresh_at).min().unwrap_or_else(Instant::now);
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep_until(next.into()) => {}
        }
        let now = Instant::now();
        for (config, targets) in &trunks {
            if targets.get().refresh_at > now {
                continue;
            }
            let r = resolver.resolve(&config.host, config.port, config.transport).await;
            if let Err(e) = &r {
                tracing::warn!(trunk = %config.name, error = %e, "trunk not located");
            }
            targets.set(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    #[test]
    fn naptr_services_and_srv_names_of_each_transport() {
        assert_eq!(service_transport(b"SIP+D2U"), Some(TrunkTransport::Udp));
        assert_eq!(service_transport(b"sip+d2t"), Some(TrunkTransport::Tcp));
        assert_eq!(service_transport(b"SIPS+D2T"), Some(TrunkTransport::Tls));
        assert_eq!(service_transport(b"SIPS+D2U"), None);
        assert_eq!(service_transport(b"SIP+D2S"), None);
        assert_eq!(srv_prefix(TrunkTransport::Tls), "_sips._tcp.");
        assert_eq!(TrunkTransport::Tls.default_port(), 5061);
        assert_eq!(TrunkTransport::Udp.default_port(), 5060);
    }

    #[tokio::test]
    async fn an_address_host_over_tls_defaults_to_port_5061() {
        let r = SipResolver::new(&["127.0.0.1:9".parse().unwrap()]).unwrap();
        let got = r.resolve("192.0.2.7", None, Some(TrunkTransport::Tls)).await.unwrap();
        assert_eq!(got.targets[0].addr, "192.0.2.7:5061".parse().unwrap());
        assert_eq!(got.targets[0].transport, TrunkTransport::Tls);
        let got = r.resolve("192.0.2.7", None, None).await.unwrap();
        assert_eq!(got.targets[0].addr, "192.0.2.7:5060".parse().unwrap());
    }

    #[test]
    fn srv_records_are_ordered_by_priority_then_weight() {
        let records = [(20, 0, "c"), (10, 0, "b"), (10, 100, "a"), (30, 5, "d")];
        let mut first_a = 0;
        for seed in 0..200 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let order = order_srv(&records, &mut rng);
            assert_eq!(&order[2..], &["c", "d"], "priorities come in order");
            if order[0] == "a" {
                first_a += 1;
            }
        }
        // Weight 100 against weight 0: "a" comes first nearly always.
        assert!(first_a > 190, "{first_a}");
        // Equal weights share the first place.
        let even = [(10, 50, "x"), (10, 50, "y")];
        let xs = (0..400)
            .filter(|s| order_srv(&even, &mut rand::rngs::StdRng::seed_from_u64(*s))[0] == "x")
            .count();
        assert!((120..280).contains(&xs), "{xs}");
    }
}
