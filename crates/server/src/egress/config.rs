//! Egress settings: SIP trunks to the phone network, the rate table and where fraud alerts
//! are mailed from. Plain serde values (`deny_unknown_fields`) so `ringfence serve` can read
//! them from its TOML file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::advertise::AdvertisedAddress;

/// How we prove to a carrier that a call is ours.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TrunkAuth {
    /// The carrier recognises our address; nothing to answer.
    Ip,
    /// The carrier challenges our INVITEs (401/407) and we answer with digest (RFC 8760).
    Digest {
        /// Username the carrier gave us.
        username: String,
        /// Its password.
        password: String,
    },
}

impl std::fmt::Debug for TrunkAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrunkAuth::Ip => f.write_str("Ip"),
            TrunkAuth::Digest { username, .. } => {
                f.debug_struct("Digest").field("username", username).finish_non_exhaustive()
            }
        }
    }
}

/// Transport to a trunk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrunkTransport {
    /// UDP (the default).
    #[default]
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2; NAPTR service `SIPS+D2T`, SRV `_sips._tcp`, port
    /// 5061). The carrier's certificate must be valid for the trunk's `host` (see
    /// [`TrunkConfig::tls_ca_file`]).
    Tls,
}

impl TrunkTransport {
    /// Lower-case name (`udp`, `tcp`, `tls`), as in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            TrunkTransport::Udp => "udp",
            TrunkTransport::Tcp => "tcp",
            TrunkTransport::Tls => "tls",
        }
    }

    /// The port a target has when DNS gives none (RFC 3261 §19.1.2): 5060, 5061 for TLS.
    pub fn default_port(self) -> u16 {
        match self {
            TrunkTransport::Udp | TrunkTransport::Tcp => 5060,
            TrunkTransport::Tls => 5061,
        }
    }
}

/// One SIP trunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// Name, for logs and records.
    pub name: String,
    /// The carrier's host name or address, located as RFC 3263 §4 says: an address is
    /// used as is; with a port, A/AAAA; otherwise NAPTR, then SRV, then A/AAAA (port 5060).
    /// The Request-URI of calls keeps this host.
    pub host: String,
    /// Its port; given, no NAPTR/SRV lookup is made (default: from SRV, else 5060, or
    /// 5061 over TLS).
    #[serde(default)]
    pub port: Option<u16>,
    /// Transport; given, only its NAPTR/SRV records are used (default: the carrier's
    /// preference from NAPTR, else the first of `_sips._tcp`, `_sip._udp`, `_sip._tcp`
    /// SRV records found, else UDP).
    #[serde(default)]
    pub transport: Option<TrunkTransport>,
    /// Trust anchors (PEM CA certificates) the carrier's TLS certificate must chain to;
    /// default: the system's trust store. Over TLS the certificate must be valid for
    /// `host`, the carrier's domain (RFC 5922 §7.2: the domain we meant to reach, not the
    /// SRV target or the address DNS returned); a server whose certificate does not verify
    /// gets no call, and the next server is tried.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// How we authenticate.
    pub auth: TrunkAuth,
    /// SIP domains of the tenants that use it; empty: every tenant (a platform trunk). A
    /// tenant's own trunk is preferred over a platform trunk.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Caller ID presented to the carrier (E.164); default: the calling extension's number.
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Register with the carrier (REGISTER to `host`, answering its challenge with the
    /// digest credentials of `auth`); calls it sends to the registered Contact are routed
    /// by the number in their To header. Default false.
    #[serde(default)]
    pub register: bool,
    /// Registration lifetime asked for, in seconds (default 3600; refreshed before it runs
    /// out).
    #[serde(default)]
    pub register_expires_s: Option<u32>,
    /// The realm the carrier's challenges must name for us to answer them (default: any).
    #[serde(default)]
    pub realm: Option<String>,
    /// The address (`host` or `host:port`) written in the Via and Contact of this trunk's
    /// REGISTERs and INVITEs; default: `advertised_address` of `[sip.egress]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised_address: Option<String>,
}

/// SMTP relay for fraud alerts (plain SMTP to a local relay, e.g. the host's MTA).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay address.
    pub server: SocketAddr,
    /// The From address of alerts.
    pub from: String,
}

fn default_snapshot_interval() -> u64 {
    60
}

/// Everything about calls that leave the system.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressConfig {
    /// Trunks to the phone network.
    #[serde(default)]
    pub trunks: Vec<TrunkConfig>,
    /// Rate table (CSV `prefix,millicents_per_minute`); default: the fraud engine's sample.
    #[serde(default)]
    pub rates_file: Option<PathBuf>,
    /// How often the fraud engine's state is saved, in seconds (default 60; also at
    /// shutdown).
    #[serde(default = "default_snapshot_interval")]
    pub snapshot_interval_s: u64,
    /// DNS servers (address:port) for locating trunk hosts; empty: the system's
    /// (`/etc/resolv.conf`).
    #[serde(default)]
    pub dns_servers: Vec<SocketAddr>,
    /// Where alerts are mailed from; no mail without it.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    /// How fraud alerts are delivered to the tenants' signed webhooks.
    #[serde(default)]
    pub webhooks: super::webhook::WebhookConfig,
    /// The address (`host` or `host:port`, IPv6 in brackets) written in the Via sent-by and
    /// Contact of REGISTERs and INVITEs to every trunk: the host's public address when it
    /// sits behind NAT. Default: what the carrier's registrar saw us at (`received` and
    /// `rport` of its 2xx, RFC 3581), else the listener's address, else (listener on
    /// `0.0.0.0`/`[::]`) the local address of the route to the carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised_address: Option<String>,
}

impl EgressConfig {
    /// Checks the trunks: names present and unique, hosts and advertised addresses
    /// readable. The message names the trunk and the field.
    ///
    /// # Errors
    /// A description of the first bad value.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(a) = &self.advertised_address {
            AdvertisedAddress::parse(a).map_err(|e| format!("advertised_address: {e}"))?;
        }
        for (i, t) in self.trunks.iter().enumerate() {
            if t.name.trim().is_empty() {
                return Err(format!("trunks[{i}]: name must not be empty"));
            }
            if self.trunks[..i].iter().any(|o| o.name == t.name) {
                return Err(format!("trunks[{i}]: the name {:?} is used twice", t.name));
            }
            if t.host.trim().is_empty() {
                return Err(format!("trunk {}: host must not be empty", t.name));
            }
            if let Some(a) = &t.advertised_address {
                AdvertisedAddress::parse(a)
                    .map_err(|e| format!("trunk {}: advertised_address: {e}", t.name))?;
            }
        }
        Ok(())
    }

    /// The trunks as they run: each with its advertised address, its own or the
    /// `[sip.egress]` one.
    pub fn effective_trunks(&self) -> Vec<TrunkConfig> {
        self.trunks
            .iter()
            .map(|t| {
                let mut t = t.clone();
                if t.advertised_address.is_none() {
                    t.advertised_address.clone_from(&self.advertised_address);
                }
                t
            })
            .collect()
    }

    /// The snapshot interval (at least one second).
    pub fn snapshot_interval(&self) -> Duration {
        Duration::from_secs(self.snapshot_interval_s.max(1))
    }
}
