//! Server-level SIP settings: the transaction core, digest authentication and the
//! registrar (the `[sip.core]`, `[sip.auth]` and `[sip.registrar]` tables of the config
//! file; the listeners are [`crate::transport::TransportConfig`]).
//!
//! Every field is optional in the file; durations are whole seconds. Unknown fields are
//! refused, so a typo never silently falls back to a default.
//!
//! ```
//! use ringfence_server::config::ServerConfig;
//! let c: ServerConfig = toml::from_str(r#"
//!     [registrar]
//!     min_expires = 120
//!     [auth]
//!     algorithms = ["MD5", "SHA-256"]
//! "#).unwrap();
//! assert_eq!(c.registrar.min_expires, 120);
//! c.validate().unwrap();
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Everything the SIP core, the authenticator and the registrar read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The transaction core.
    pub core: CoreConfig,
    /// Digest authentication.
    pub auth: AuthConfig,
    /// The registrar.
    pub registrar: RegistrarConfig,
}

impl ServerConfig {
    /// Checks the values that would make the server misbehave; the message names the field.
    ///
    /// # Errors
    /// A description of the first bad value.
    pub fn validate(&self) -> Result<(), String> {
        self.core.validate()?;
        self.auth.validate()?;
        self.registrar.validate()
    }
}

/// The transaction core.
///
/// | field | default | why |
/// | --- | --- | --- |
/// | `server_header` | none | the `Server` header of our responses; none at all by default, so a scanner learns no product or version (topology hiding) |
/// | `shutdown_grace` | 5 | seconds live transactions may take to finish after shutdown begins; new requests get 503 meanwhile |
/// | `max_server_transactions` | 524288 | beyond it new requests get 503 with Retry-After. Over UDP a finished non-INVITE transaction is kept for Timer J (64 × T1 = 32 s) to answer retransmissions, and an answered INVITE for Timer L (RFC 6026, also 32 s), so the cap also bounds the sustained rate: a challenge ends its transaction at once (RFC 3261 §8.2.7), so a REGISTER with its challenge keeps one transaction, 524288 / 32 s = 16384 registrations per second; a call keeps two (INVITE and BYE), 8192 calls per second. 65536 capped registrations at 1024/s when the challenge was kept too, and 262144 at 8192/s: both found by the SIP load benchmark, whose 10-second steps at 12000/s then met 503s from the transactions the earlier steps left. A finished transaction takes about 0.7 KB with a one-contact 200, so about 350 MiB when full; a 200 to REGISTER lists every binding of the extension, so with ten each about 1.5 KB and 750 MiB. The memory is given back to the system once the load passes; lower the cap where memory matters more than peak rate |
/// | `max_client_transactions` | 262144 | requests the server may have outstanding at once. An INVITE it sent that was answered 2xx is kept for Timer M (RFC 6026, 64 × T1 = 32 s over UDP, to pass on retransmitted 2xx) and a BYE for Timer K (5 s), so a call between extensions keeps its callee leg's transactions 37 s: 262144 sustains about 7000 calls per second. 65536 capped calls at about 1770 per second (found by the SIP load benchmark: `480` to the callers beyond it) |
/// | `shards` | 0 | core shards: tasks that each own the transactions of some Call-IDs, so matching and dispatch use every CPU; 0 means one per CPU (at most 64). The transaction caps are split among them |
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoreConfig {
    /// Value of the `Server` header on responses; `None` sends no such header.
    pub server_header: Option<String>,
    /// How long shutdown waits for live transactions.
    #[serde(deserialize_with = "seconds")]
    pub shutdown_grace: Duration,
    /// Live server transactions allowed.
    pub max_server_transactions: usize,
    /// Live client transactions allowed.
    pub max_client_transactions: usize,
    /// Core shards; 0 means one per CPU.
    pub shards: usize,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            server_header: None,
            shutdown_grace: Duration::from_secs(5),
            max_server_transactions: 524_288,
            max_client_transactions: 262_144,
            shards: 0,
        }
    }
}

/// The most core shards.
const MAX_SHARDS: usize = 64;

impl CoreConfig {
    /// The number of core shards: `shards`, or one per CPU when 0.
    pub fn shard_count(&self) -> usize {
        let n = if self.shards == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            self.shards
        };
        n.clamp(1, MAX_SHARDS)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(s) = &self.server_header
            && (s.is_empty() || s.len() > 128 || s.chars().any(char::is_control))
        {
            return Err("core.server_header must be 1 to 128 characters without control \
                        characters (leave it out to send none)"
                .into());
        }
        if self.max_server_transactions == 0 || self.max_client_transactions == 0 {
            return Err("core.max_server_transactions and max_client_transactions must be at \
                        least 1"
                .into());
        }
        if self.shards > MAX_SHARDS {
            return Err(format!("core.shards must be at most {MAX_SHARDS} (0: one per CPU)"));
        }
        Ok(())
    }
}

/// A digest algorithm offered in challenges (RFC 8760).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum DigestAlgorithm {
    /// `SHA-256` (RFC 7616, RFC 8760).
    #[serde(rename = "SHA-256")]
    Sha256,
    /// `MD5` (RFC 2617): what most deployed phones speak.
    #[serde(rename = "MD5")]
    Md5,
}

/// How strictly the digest `uri` must match the Request-URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UriCheckMode {
    /// Byte-exact (what conforming phones send).
    #[default]
    Strict,
    /// Also any SIP URI whose host is the realm or an IP address.
    Lenient,
}

/// Digest authentication (RFC 7616, RFC 8760) and the credential cache.
///
/// | field | default | why |
/// | --- | --- | --- |
/// | `algorithms` | `["SHA-256", "MD5"]` | challenges offered, in this order (RFC 8760 §2.4: preferred first). Many phones and SIPp only read the first challenge: put `"MD5"` first for them |
/// | `nonce_lifetime` | 300 | seconds a nonce is good for; older ones are answered `stale=true` |
/// | `replay_capacity` | 65536 | nonces whose counts are remembered (replay protection) |
/// | `uri_check` | `strict` | `lenient` also accepts a digest `uri` naming the realm or an IP address |
/// | `cache_ttl` | 30 | seconds a credential lookup (found or not) is reused; changes made through the admin API invalidate at once |
/// | `cache_capacity` | 100000 | credential lookups cached at most (unknown names included) |
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Challenges offered, in order.
    pub algorithms: Vec<DigestAlgorithm>,
    /// Nonce lifetime.
    #[serde(deserialize_with = "seconds")]
    pub nonce_lifetime: Duration,
    /// Nonces tracked for replay protection.
    pub replay_capacity: usize,
    /// Digest `uri` check.
    pub uri_check: UriCheckMode,
    /// Credential cache time to live.
    #[serde(deserialize_with = "seconds")]
    pub cache_ttl: Duration,
    /// Credential cache capacity.
    pub cache_capacity: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            nonce_lifetime: Duration::from_secs(300),
            replay_capacity: 65_536,
            uri_check: UriCheckMode::Strict,
            cache_ttl: Duration::from_secs(30),
            cache_capacity: 100_000,
        }
    }
}

impl AuthConfig {
    fn validate(&self) -> Result<(), String> {
        if self.algorithms.is_empty() {
            return Err("auth.algorithms must name at least one algorithm".into());
        }
        for (i, a) in self.algorithms.iter().enumerate() {
            if self.algorithms[..i].contains(a) {
                return Err("auth.algorithms lists an algorithm twice".into());
            }
        }
        if self.nonce_lifetime < Duration::from_secs(10) {
            return Err("auth.nonce_lifetime must be at least 10 seconds".into());
        }
        if self.replay_capacity < 1024 {
            return Err("auth.replay_capacity must be at least 1024".into());
        }
        if self.cache_capacity < 16 {
            return Err("auth.cache_capacity must be at least 16".into());
        }
        Ok(())
    }
}

/// The registrar (RFC 3261 §10.3).
///
/// | field | default | why |
/// | --- | --- | --- |
/// | `min_expires` | 60 | shorter requested intervals get `423 Interval Too Brief` with `Min-Expires` |
/// | `max_expires` | 3600 | longer requested intervals are shortened to this |
/// | `default_expires` | 3600 | when neither the Contact nor the request says |
/// | `max_contacts` | 10 | bindings per extension; a new one beyond it replaces the one closest to expiry |
/// | `write_batch` | 256 | binding changes committed to the store together at most |
/// | `sweep_interval` | 30 | seconds between removals of expired bindings from memory and store |
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrarConfig {
    /// Shortest binding interval accepted, seconds.
    pub min_expires: u32,
    /// Longest binding interval granted, seconds.
    pub max_expires: u32,
    /// Interval when the request names none, seconds.
    pub default_expires: u32,
    /// Bindings per extension.
    pub max_contacts: usize,
    /// Binding changes per store batch.
    pub write_batch: usize,
    /// Time between expiry sweeps.
    #[serde(deserialize_with = "seconds")]
    pub sweep_interval: Duration,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 10,
            write_batch: 256,
            sweep_interval: Duration::from_secs(30),
        }
    }
}

impl RegistrarConfig {
    fn validate(&self) -> Result<(), String> {
        if self.min_expires == 0
            || self.min_expires > self.default_expires
            || self.default_expires > self.max_expires
        {
            return Err("registrar: need 0 < min_expires <= default_expires <= max_expires".into());
        }
        if !(1..=100).contains(&self.max_contacts) {
            return Err("registrar.max_contacts must be between 1 and 100".into());
        }
        if !(1..=10_000).contains(&self.write_batch) {
            return Err("registrar.write_batch must be between 1 and 10000".into());
        }
        if self.sweep_interval.is_zero() {
            return Err("registrar.sweep_interval must be at least one second".into());
        }
        Ok(())
    }
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_secure() {
        let c = ServerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.core.server_header, None);
        assert_eq!(c.auth.algorithms[0], DigestAlgorithm::Sha256);
    }

    /// Regression: with 65536 server transactions, each kept 32 s after its final
    /// response over UDP (Timer J), registrations with a challenge were capped at
    /// 1024/s sustained and the SIP load benchmark saw 503s at 2000/s; with 262144, at
    /// 8192/s, and its ramp saw 503s at 12000/s. A challenged REGISTER keeps one
    /// transaction (the challenge's ends at once), a call two (INVITE and BYE).
    #[test]
    fn default_transaction_cap_sustains_16384_registrations_or_8192_calls_per_second() {
        let timer_j_secs = 64 * 500 / 1000;
        let per_second = ServerConfig::default().core.max_server_transactions / timer_j_secs;
        assert!(per_second >= 16384, "{per_second}");
        assert!(per_second / 2 >= 8192, "{per_second}");
    }

    /// Regression: with 65536 client transactions, the callee leg of every call (its
    /// INVITE kept 32 s for Timer M, its BYE 5 s for Timer K) capped calls at about 1770
    /// per second, and the SIP load benchmark's callers got 480 beyond it.
    #[test]
    fn default_client_transaction_cap_sustains_4096_calls_per_second() {
        let per_call_secs = 64 * 500 / 1000 + 5;
        let per_second = ServerConfig::default().core.max_client_transactions / per_call_secs;
        assert!(per_second >= 4096, "{per_second}");
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c: ServerConfig = toml::from_str("").unwrap();
        assert_eq!(c, ServerConfig::default());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = toml::from_str::<ServerConfig>("[registrar]\nmin_expire = 5\n").unwrap_err();
        assert!(e.to_string().contains("min_expire"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let mut c = ServerConfig::default();
        c.registrar.min_expires = 7200;
        assert!(c.validate().unwrap_err().contains("min_expires"));
        let mut c = ServerConfig::default();
        c.auth.algorithms = vec![DigestAlgorithm::Md5, DigestAlgorithm::Md5];
        assert!(c.validate().unwrap_err().contains("twice"));
        let mut c = ServerConfig::default();
        c.core.server_header = Some("x\r\ny".into());
        assert!(c.validate().unwrap_err().contains("server_header"));
    }

    #[test]
    fn durations_are_seconds() {
        let c: ServerConfig =
            toml::from_str("[core]\nshutdown_grace = 9\n[auth]\ncache_ttl = 2\n").unwrap();
        assert_eq!(c.core.shutdown_grace, Duration::from_secs(9));
        assert_eq!(c.auth.cache_ttl, Duration::from_secs(2));
    }
}
