//! SIP digest authentication for the registrar and the call handler.
//!
//! Place in the data flow: a REGISTER (or an out-of-dialog INVITE, MESSAGE, ...) comes
//! from the core; the TU asks [`Authenticator::authenticate`], which either names the
//! extension that signed the request ([`Identity`]) or hands back the 401/407 challenge
//! to send. Credentials come from the store through a short-lived cache.
//!
//! # Nothing can be enumerated
//!
//! Unknown domain, unknown extension, disabled extension, extension without credentials,
//! wrong password, replayed nonce count, the policy refusals below, and attempts the
//! perimeter guard refuses ([`AuthObserver::admit`]: a user blocked after repeated failures
//! from that address, a tenant's deny entry) all get the **same answer**: the status (401 for REGISTER, 407 otherwise), the reason phrase, the header
//! set and order, and the realm (always the domain the request named, whether or not a
//! tenant has it) are identical; only the nonce and the To tag differ, and they are fresh
//! random values every time. The work is the same too:
//! - the realm and username of the credentials are always looked up, in the cache or,
//!   on a miss, with the same two store queries (tenant by domain, account by domain and
//!   number); misses are cached as well, so the next lookup of an unknown name costs a
//!   cache hit like a known one;
//! - the digest is always computed, against a dummy secret when there is no account,
//!   and compared in constant time ([`ringfence_sip_proto::digest::DigestServer`]).
//!
//! Only names that cannot exist at all (not a host name, not 2-8 digits) skip the store;
//! their format is public.
//!
//! # Policy refusals look like a bad password
//!
//! A tenant may require TLS (`encryption = required`) and may restrict devices to
//! address ranges. These rules are checked only **after** the credentials verify, and a
//! refusal is answered with the same fresh challenge as a wrong password. Answering 403
//! or 488 instead would tell a scanner that it had guessed a valid extension and password
//! (or at least a valid extension), which is exactly what it must not learn. The
//! legitimate user sees a registration that keeps failing, and the admin sees the reason
//! in the logs and the guard's counters ([`AuthObserver`]).
//!
//! One exception is deliberate: an expired nonce with the right password is answered
//! `stale=true` (RFC 7616 §3.3), which tells only a party that already knows the password
//! something it knows.

pub(crate) mod cache;
mod observer;
mod policy;
mod source;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rand::RngCore as _;
use ringfence_sip_proto::digest::{
    AuthFailure, AuthRequest, DigestConfig, DigestServer, Ha1, HashAlgorithm, UriCheck,
};
use ringfence_sip_proto::transaction::Peer;
use ringfence_sip_types::auth::{Algorithm, Challenge, Credentials};
use ringfence_sip_types::{HeaderName, Host, Request, Response, Uri};
use ringfence_store::{ExtensionId, Tenant};

pub use observer::{AuthEvent, AuthObserver, FailureReason, NoObserver};
pub use source::{AccountSource, BoxFuture, StoreAccounts};

use crate::config::{AuthConfig, DigestAlgorithm, UriCheckMode};
use cache::TtlMap;

/// Which challenge a request gets (RFC 3261 §22.2, §22.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// `401 Unauthorized` with `WWW-Authenticate`; credentials in `Authorization`. For
    /// REGISTER: the registrar is the user agent server.
    Www,
    /// `407 Proxy Authentication Required` with `Proxy-Authenticate`; credentials in
    /// `Proxy-Authorization`. For requests the server relays (INVITE, MESSAGE, ...).
    Proxy,
}

impl ChallengeKind {
    /// The status code of the challenge.
    pub fn status(self) -> u16 {
        match self {
            ChallengeKind::Www => 401,
            ChallengeKind::Proxy => 407,
        }
    }

    fn challenge_header(self) -> HeaderName {
        match self {
            ChallengeKind::Www => HeaderName::WwwAuthenticate,
            ChallengeKind::Proxy => HeaderName::ProxyAuthenticate,
        }
    }
}

/// The extension that signed a request.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Its tenant, with the settings as cached (encryption, networks, calling policy, ...).
    pub tenant: Arc<Tenant>,
    /// The extension.
    pub extension_id: ExtensionId,
    /// The extension number (= digest username).
    pub number: String,
    /// The digest algorithm the client used.
    pub algorithm: Algorithm,
}

/// The result of [`Authenticator::authenticate`].
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthOutcome {
    /// The request is signed by a valid, enabled extension whose tenant's rules allow this
    /// source.
    Authenticated(Identity),
    /// Send this response (the 401/407 challenge; identical for every kind of failure).
    Challenge(Response),
    /// The store failed; send this `500` (with `Retry-After`) and try again later.
    Unavailable(Response),
}

/// What the cache remembers about an account.
struct Account {
    tenant: Arc<Tenant>,
    extension_id: ExtensionId,
    number: String,
    enabled: bool,
    md5: Option<Ha1>,
    sha256: Option<Ha1>,
}

impl Account {
    fn ha1(&self, alg: HashAlgorithm) -> Option<Ha1> {
        if !self.enabled {
            return None;
        }
        match alg {
            HashAlgorithm::Md5 => self.md5.clone(),
            HashAlgorithm::Sha256 => self.sha256.clone(),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("tenant", &self.tenant.id)
            .field("number", &self.number)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Digest authentication with a credential cache. `Sync`; share it in an `Arc`.
pub struct Authenticator {
    digest: DigestServer,
    algorithms: Vec<Algorithm>,
    tenants: TtlMap<String, Option<Arc<Tenant>>>,
    accounts: TtlMap<(String, String), Option<Arc<Account>>>,
    source: Arc<dyn AccountSource>,
    observer: Arc<dyn AuthObserver>,
    /// Bumped by every invalidation (see [`Authenticator::cache_generation`]).
    generation: std::sync::atomic::AtomicU64,
    cache_ttl: std::time::Duration,
    cache_capacity: usize,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("algorithms", &self.algorithms)
            .field("cached_accounts", &self.accounts.len())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator over `source`. `nonce_key` (32 secret random bytes) signs the
    /// nonces: keep it across restarts, and share it between nodes that should accept each
    /// other's nonces.
    pub fn new(
        config: &AuthConfig,
        nonce_key: &[u8; 32],
        source: Arc<dyn AccountSource>,
        observer: Arc<dyn AuthObserver>,
    ) -> Authenticator {
        let mut dc = DigestConfig::default();
        dc.nonce_lifetime = config.nonce_lifetime;
        dc.replay_capacity = config.replay_capacity;
        dc.offer_md5 = config.algorithms.contains(&DigestAlgorithm::Md5);
        dc.uri_check = match config.uri_check {
            UriCheckMode::Strict => UriCheck::Strict,
            UriCheckMode::Lenient => UriCheck::Lenient,
        };
        let algorithms = config
            .algorithms
            .iter()
            .map(|a| match a {
                DigestAlgorithm::Sha256 => Algorithm::Sha256,
                DigestAlgorithm::Md5 => Algorithm::Md5,
            })
            .collect();
        Authenticator {
            digest: DigestServer::new(nonce_key, dc, SystemTime::now()),
            algorithms,
            tenants: TtlMap::new(config.cache_capacity / 4 + 16, config.cache_ttl),
            accounts: TtlMap::new(config.cache_capacity, config.cache_ttl),
            source,
            observer,
            generation: std::sync::atomic::AtomicU64::new(0),
            cache_ttl: config.cache_ttl,
            cache_capacity: config.cache_capacity,
        }
    }

    /// Checks the credentials `request` carries for `realm` (see [`realm_of`]). REGISTER
    /// uses [`ChallengeKind::Www`], everything else [`ChallengeKind::Proxy`].
    pub async fn authenticate(
        &self,
        request: &Request,
        source: &Peer,
        realm: &str,
        kind: ChallengeKind,
    ) -> AuthOutcome {
        let all = match kind {
            ChallengeKind::Www => request.authorization(),
            ChallengeKind::Proxy => request.proxy_authorization(),
        };
        // Unparseable credentials are no credentials: challenge.
        let all = all.unwrap_or_default();
        let Some(credentials) = all.iter().find(|c| match c {
            Credentials::Digest(d) => d.realm == realm,
            _ => false,
        }) else {
            return AuthOutcome::Challenge(self.challenge(request, source, realm, kind, false));
        };
        let Some(digest) = credentials.as_digest() else {
            return AuthOutcome::Challenge(self.challenge(request, source, realm, kind, false));
        };
        let username = digest.username.as_str();
        let account = match self.lookup(realm, username).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "credential lookup failed");
                let mut r = Response::from_request(request, 500);
                r.headers.push(HeaderName::RetryAfter, "5");
                return AuthOutcome::Unavailable(r);
            }
        };
        // The perimeter guard's word comes after the lookup (a cache hit for any name tried
        // before), so a refusal costs about what a wrong password costs.
        if !self.observer.admit(realm, username, source) {
            return AuthOutcome::Challenge(self.challenge(request, source, realm, kind, false));
        }
        let event = AuthEvent {
            realm,
            tenant: account.as_ref().map(|a| a.tenant.id),
            username,
            source: *source,
            method: &request.method,
        };
        let uri = request.uri.to_string();
        let auth_request = AuthRequest {
            method: request.method.as_str(),
            request_uri: &uri,
            realm,
            source: source.addr.ip(),
            now: SystemTime::now(),
        };
        let verified = self
            .digest
            .verify(credentials, &auth_request, |_, alg| account.as_ref().and_then(|a| a.ha1(alg)));
        let failure = match verified {
            Ok(v) => match account {
                Some(a) => match policy::check(&a.tenant, source) {
                    Ok(()) => {
                        self.observer.auth_succeeded(&event);
                        return AuthOutcome::Authenticated(Identity {
                            tenant: a.tenant.clone(),
                            extension_id: a.extension_id,
                            number: a.number.clone(),
                            algorithm: v.algorithm,
                        });
                    }
                    Err(reason) => reason,
                },
                // verify never succeeds without a secret; be safe regardless.
                None => FailureReason::BadCredentials,
            },
            Err(AuthFailure::Stale) => {
                return AuthOutcome::Challenge(self.challenge(request, source, realm, kind, true));
            }
            Err(AuthFailure::Replay) => FailureReason::Replay,
            Err(AuthFailure::Invalid) => FailureReason::BadCredentials,
            Err(AuthFailure::InvalidSecret { .. }) => {
                tracing::error!(realm, "a stored SIP secret has the wrong length");
                FailureReason::BadCredentials
            }
            Err(_) => FailureReason::Malformed,
        };
        tracing::debug!(realm, source = %source.addr, ?failure, "authentication failed");
        self.observer.auth_failed(&event, failure);
        AuthOutcome::Challenge(self.challenge(request, source, realm, kind, false))
    }

    /// The challenge response to `request`: status 401 or 407, a fresh To tag, one
    /// challenge per configured algorithm (in the configured order) sharing a fresh nonce
    /// bound to `realm` and the source address.
    pub fn challenge(
        &self,
        request: &Request,
        source: &Peer,
        realm: &str,
        kind: ChallengeKind,
        stale: bool,
    ) -> Response {
        let mut resp = Response::from_request(request, kind.status());
        // A tag the request's own To tag would keep (in-dialog requests have one).
        let _ = resp.set_to_tag(&random_tag());
        resp.headers.remove(HeaderName::ContentLength);
        let challenges = self.digest.challenge(realm, source.addr.ip(), SystemTime::now(), stale);
        for alg in &self.algorithms {
            let found = challenges.iter().find(|c| match c {
                Challenge::Digest(d) => d.algorithm.as_ref() == Some(alg),
                _ => false,
            });
            if let Some(c) = found {
                resp.headers.push(kind.challenge_header(), &c.to_string());
            }
        }
        resp.headers.set_content_length(0);
        resp
    }

    async fn tenant(
        &self,
        realm: &str,
    ) -> Result<Option<Arc<Tenant>>, ringfence_store::StoreError> {
        let key = realm.to_owned();
        if let Some(hit) = self.tenants.get(&key, Instant::now()) {
            return Ok(hit);
        }
        let found = self.source.tenant(realm).await?.map(Arc::new);
        self.tenants.insert(key, found.clone(), Instant::now());
        Ok(found)
    }

    /// The account for (`realm`, `username`), cached. Both store queries run on every
    /// miss, whatever the first one found (see the module documentation).
    async fn lookup(
        &self,
        realm: &str,
        username: &str,
    ) -> Result<Option<Arc<Account>>, ringfence_store::StoreError> {
        let key = (realm.to_owned(), username.to_owned());
        if let Some(hit) = self.accounts.get(&key, Instant::now()) {
            return Ok(hit);
        }
        let tenant = self.tenant(realm).await?;
        let found = self.source.account(realm, username).await?;
        let account = match (tenant, found) {
            (Some(tenant), Some(sip)) if sip.extension.tenant_id == tenant.id => {
                let (md5, sha256) = match &sip.credentials {
                    Some(c) if c.realm() == realm => (
                        Ha1::from_bytes(HashAlgorithm::Md5, c.md5_ha1()).ok(),
                        Ha1::from_bytes(HashAlgorithm::Sha256, c.sha256_ha1()).ok(),
                    ),
                    _ => (None, None),
                };
                Some(Arc::new(Account {
                    tenant,
                    extension_id: sip.extension.id,
                    number: sip.extension.number.as_str().to_owned(),
                    enabled: sip.extension.enabled,
                    md5,
                    sha256,
                }))
            }
            _ => None,
        };
        self.accounts.insert(key, account.clone(), Instant::now());
        Ok(account)
    }

    /// Forgets what is cached about extension `number` of `domain` (after its password,
    /// enabled flag or deletion changed). The admin API calls this.
    pub fn invalidate_extension(&self, domain: &str, number: &str) {
        self.bump_generation();
        self.accounts.remove(&(domain.to_ascii_lowercase(), number.to_owned()));
    }

    /// Forgets what is cached about `domain` and all its extensions (after the tenant's
    /// settings changed, or it was created or deleted).
    pub fn invalidate_tenant(&self, domain: &str) {
        self.bump_generation();
        let domain = domain.to_ascii_lowercase();
        self.tenants.remove(&domain);
        self.accounts.retain(|(d, _)| *d != domain);
    }

    /// Forgets everything cached.
    pub fn invalidate_all(&self) {
        self.bump_generation();
        self.tenants.retain(|_| false);
        self.accounts.retain(|_| false);
    }

    /// Counts the invalidations so far. Other caches of what the store says about
    /// extensions and tenants (the B2BUA's extension cache) follow the same invalidations
    /// without a list of their own: they note this value before a store read, tag what
    /// they cache with it, and use an entry only while the value has not moved on.
    pub fn cache_generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// How long a cached lookup lives (`auth.cache_ttl`), for caches that follow this one.
    pub fn cache_ttl(&self) -> std::time::Duration {
        self.cache_ttl
    }

    /// How many lookups the cache holds at most (`auth.cache_capacity`).
    pub fn cache_capacity(&self) -> usize {
        self.cache_capacity
    }

    /// Bumped before the entries go, so a lookup that read the store before the change
    /// cannot cache what it read under the new value.
    fn bump_generation(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The realm for a request addressed to `uri`: its host in lower case, without a trailing
/// dot (a tenant's SIP domain is stored that way), or the address for an IP literal. A
/// URI without a SIP host (tel:, other schemes) has none.
pub fn realm_of(uri: &Uri) -> Option<String> {
    let sip = uri.as_sip()?;
    Some(match &sip.host {
        Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(a) => a.to_string(),
        Host::Ipv6(a) => IpAddr::V6(*a).to_string(),
    })
}

/// 64 random bits in hex: To tags of challenges.
pub(crate) fn random_tag() -> String {
    let mut b = [0u8; 8];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
