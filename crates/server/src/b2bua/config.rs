//! B2BUA settings: ring timeout, call limits, shutdown and the address we advertise.
//!
//! Every field is optional in the file; durations are whole seconds. Unknown fields are
//! refused, so a typo never silently falls back to a default.
//!
//! ```
//! use ringfence_server::b2bua::B2buaConfig;
//! let c: B2buaConfig = toml::from_str("ring_timeout = 30\nmax_calls = 500\n").unwrap();
//! assert_eq!(c.ring_timeout.as_secs(), 30);
//! c.validate().unwrap();
//! ```

use std::time::Duration;

use ringfence_sip_types::Host;
use serde::{Deserialize, Deserializer};

/// How calls between extensions are run.
///
/// | field | default | why |
/// | --- | --- | --- |
/// | `ring_timeout` | 60 | seconds the callee's devices ring before the caller gets `480` (no answer) |
/// | `max_call_duration` | 43200 | seconds (12 h) after which an answered call is ended with BYE on both legs, so a call whose parties vanished never stays in memory |
/// | `max_calls` | 10000 | calls in progress at once (ringing or answered); beyond it new calls get `503` with Retry-After |
/// | `shutdown_grace` | 5 | seconds shutdown waits for calls to end (BYE sent on both legs) and their records to be stored |
/// | `advertised_host` | none | host (name or address) put in our Via and Contact headers; by default the listener's address, or the tenant's SIP domain when the listener is bound to a wildcard address |
/// | `record_queue` | 65536 | call records waiting to be stored; when full, further records are dropped and logged (call handling never waits for the store) |
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct B2buaConfig {
    /// How long the callee rings.
    #[serde(deserialize_with = "seconds")]
    pub ring_timeout: Duration,
    /// Longest answered call.
    #[serde(deserialize_with = "seconds")]
    pub max_call_duration: Duration,
    /// Concurrent calls.
    pub max_calls: usize,
    /// How long shutdown waits for calls to end.
    #[serde(deserialize_with = "seconds")]
    pub shutdown_grace: Duration,
    /// Host for Via and Contact.
    pub advertised_host: Option<String>,
    /// Call records queued for the store.
    pub record_queue: usize,
}

impl Default for B2buaConfig {
    fn default() -> Self {
        B2buaConfig {
            ring_timeout: Duration::from_secs(60),
            max_call_duration: Duration::from_secs(12 * 3600),
            max_calls: 10_000,
            shutdown_grace: Duration::from_secs(5),
            advertised_host: None,
            record_queue: 65_536,
        }
    }
}

impl B2buaConfig {
    /// Checks the values that would make calls misbehave; the message names the field.
    ///
    /// # Errors
    /// A description of the first bad value.
    pub fn validate(&self) -> Result<(), String> {
        if self.ring_timeout.is_zero() || self.ring_timeout > Duration::from_secs(600) {
            return Err("calls.ring_timeout must be 1 to 600 seconds".into());
        }
        if self.max_call_duration.is_zero() {
            return Err("calls.max_call_duration must be at least one second".into());
        }
        if self.max_calls == 0 {
            return Err("calls.max_calls must be at least 1".into());
        }
        if self.record_queue < 16 {
            return Err("calls.record_queue must be at least 16".into());
        }
        if let Some(h) = &self.advertised_host
            && Host::parse(h).is_err()
        {
            return Err(format!(
                "calls.advertised_host {h:?} is not a host name or address (IPv6 in brackets)"
            ));
        }
        Ok(())
    }

    /// The advertised host, parsed (after [`B2buaConfig::validate`]).
    pub(crate) fn advertised(&self) -> Option<Host> {
        self.advertised_host.as_deref().and_then(|h| Host::parse(h).ok())
    }
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = B2buaConfig::default();
        c.validate().unwrap();
        assert_eq!(c.ring_timeout, Duration::from_secs(60));
        assert_eq!(c.max_call_duration, Duration::from_secs(43_200));
        assert_eq!(toml::from_str::<B2buaConfig>("").unwrap(), c);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        let e = toml::from_str::<B2buaConfig>("ring_timout = 5\n").unwrap_err();
        assert!(e.to_string().contains("ring_timout"), "{e}");
        let mut c = B2buaConfig { ring_timeout: Duration::ZERO, ..B2buaConfig::default() };
        assert!(c.validate().unwrap_err().contains("ring_timeout"));
        c = B2buaConfig { max_calls: 0, ..B2buaConfig::default() };
        assert!(c.validate().unwrap_err().contains("max_calls"));
        c = B2buaConfig { advertised_host: Some("not a host".into()), ..B2buaConfig::default() };
        assert!(c.validate().unwrap_err().contains("advertised_host"));
        c = B2buaConfig { advertised_host: Some("pbx.example.com".into()), ..Default::default() };
        c.validate().unwrap();
        assert_eq!(c.advertised(), Some(Host::Domain("pbx.example.com".into())));
    }
}
