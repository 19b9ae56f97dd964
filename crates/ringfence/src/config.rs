//! Settings: one struct read from three places, merged field by field with the precedence
//! command-line flag > `RINGFENCE_*` environment variable > config file > built-in default.
//!
//! [`Settings`] is both the clap argument group (each field a `--flag` with an `env`) and the
//! TOML schema of the config file (`deny_unknown_fields`), so every setting exists in every
//! form under the same name: `https` in the file is `--https` and `RINGFENCE_HTTPS`.
//! `ringfence.example.toml` at the repository root lists them all with their defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./ringfence-data";
/// Default HTTPS listen address of the admin API.
pub const DEFAULT_HTTPS: &str = "0.0.0.0:8443";

/// The `[sip]` table of the config file: everything the SIP side reads beyond the listen
/// addresses (which are the `sip_udp`, `sip_tcp` and `sip_tls` settings). Each sub-table
/// is documented where it is defined in `ringfence-server`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipSection {
    /// `[sip.core]`: the transaction core (Server header, shutdown grace, caps).
    pub core: ringfence_server::config::CoreConfig,
    /// `[sip.auth]`: digest authentication (algorithms and their order, nonce lifetime,
    /// URI check, credential cache).
    pub auth: ringfence_server::config::AuthConfig,
    /// `[sip.registrar]`: expiry bounds, contacts per extension, group commit batch.
    pub registrar: ringfence_server::config::RegistrarConfig,
    /// `[sip.transport]`: listeners, connection limits, timeouts, queues and message size
    /// limits. Its `udp`/`tcp`/`tls` lists give way to the `sip_udp`/`sip_tcp`/`sip_tls`
    /// settings (flag, environment or top-level key) when those are given.
    pub transport: ringfence_server::transport::TransportConfig,
    /// `[sip.calls]`: the B2BUA (ring timeout, maximum call duration, calls at once,
    /// advertised host).
    pub calls: ringfence_server::b2bua::B2buaConfig,
    /// `[sip.guard]`: the perimeter guard (flood meters, bans, authentication failure
    /// limits, memory caps).
    pub guard: ringfence_guard::GuardConfig,
    /// `[sip.media]`: the media relay (anchoring on or off, port range, advertised
    /// address, media and hold timeouts, SRTP suites).
    pub media: ringfence_server::media_anchor::MediaSettings,
    /// `[sip.egress]`: calls to and from the phone network (trunks, rate table, SMTP relay
    /// for fraud alerts, fraud state snapshot interval).
    pub egress: ringfence_server::egress::EgressConfig,
}

/// Every setting. `None` means "not given here".
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Data directory: SQLite database, master key, TLS certificate [default: ./ringfence-data]
    #[arg(long, env = "RINGFENCE_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL; when set, the database lives there instead of in the data directory
    #[arg(long, env = "RINGFENCE_DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// HTTPS listen address of the admin API [default: 0.0.0.0:8443]
    #[arg(long, env = "RINGFENCE_HTTPS", global = true, value_name = "HOST:PORT")]
    pub https: Option<String>,
    /// TLS certificate chain (PEM) for HTTPS and SIP over TLS [default: self-signed in the data dir]
    #[arg(long, env = "RINGFENCE_TLS_CERT", global = true, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) belonging to --tls-cert
    #[arg(long, env = "RINGFENCE_TLS_KEY", global = true, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Names the self-signed certificate is made for, comma-separated [default: localhost,127.0.0.1,::1]
    #[arg(
        long,
        env = "RINGFENCE_TLS_NAMES",
        global = true,
        value_name = "NAMES",
        value_delimiter = ','
    )]
    pub tls_names: Option<Vec<String>>,
    /// Log filter (tracing env-filter syntax) [default: info for serve, warn otherwise]
    #[arg(long, env = "RINGFENCE_LOG", global = true, value_name = "FILTER")]
    pub log: Option<String>,
    /// Minutes of inactivity after which an admin session ends [default: 30]
    #[arg(long, env = "RINGFENCE_SESSION_IDLE_MINUTES", global = true, value_name = "N")]
    pub session_idle_minutes: Option<u32>,
    /// Hours after login at which an admin session ends [default: 12]
    #[arg(long, env = "RINGFENCE_SESSION_MAX_HOURS", global = true, value_name = "N")]
    pub session_max_hours: Option<u32>,
    /// Most admin sessions held in memory [default: 100000]
    #[arg(long, env = "RINGFENCE_MAX_SESSIONS", global = true, value_name = "N")]
    pub max_sessions: Option<u32>,
    /// Failed logins before an account is locked [default: 5]
    #[arg(long, env = "RINGFENCE_ACCOUNT_LOCKOUT_THRESHOLD", global = true, value_name = "N")]
    pub account_lockout_threshold: Option<u32>,
    /// Failed logins from one IP before the IP is locked [default: 20]
    #[arg(long, env = "RINGFENCE_IP_LOCKOUT_THRESHOLD", global = true, value_name = "N")]
    pub ip_lockout_threshold: Option<u32>,
    /// First lockout in seconds; doubles with each further failure [default: 60]
    #[arg(long, env = "RINGFENCE_LOCKOUT_SECONDS", global = true, value_name = "N")]
    pub lockout_seconds: Option<u32>,
    /// Longest lockout in seconds [default: 3600]
    #[arg(long, env = "RINGFENCE_LOCKOUT_MAX_SECONDS", global = true, value_name = "N")]
    pub lockout_max_seconds: Option<u32>,
    /// Home country (ISO 3166-1 alpha-2) of tenants created without one [default: US]
    #[arg(long, env = "RINGFENCE_DEFAULT_COUNTRY", global = true, value_name = "CC")]
    pub default_country: Option<String>,
    /// Email of the super admin created on first start [default: admin@ringfence.invalid]
    #[arg(long, env = "RINGFENCE_ADMIN_EMAIL", global = true, value_name = "EMAIL")]
    pub admin_email: Option<String>,
    /// SIP over UDP listen addresses, comma-separated; empty for none [default: 0.0.0.0:5060]
    #[arg(long, env = "RINGFENCE_SIP_UDP", global = true, value_name = "HOST:PORT,...")]
    pub sip_udp: Option<String>,
    /// SIP over TCP listen addresses, comma-separated; empty for none [default: 0.0.0.0:5060]
    #[arg(long, env = "RINGFENCE_SIP_TCP", global = true, value_name = "HOST:PORT,...")]
    pub sip_tcp: Option<String>,
    /// SIP over TLS listen addresses, comma-separated; empty for none [default: 0.0.0.0:5061]
    #[arg(long, env = "RINGFENCE_SIP_TLS", global = true, value_name = "HOST:PORT,...")]
    pub sip_tls: Option<String>,
    /// The `[sip]` table (config file only): core, auth, registrar and transport tuning
    #[arg(skip)]
    pub sip: Option<SipSection>,
}

macro_rules! merge_fields {
    ($a:expr, $b:expr; $($f:ident),+ $(,)?) => {
        Settings { $($f: $a.$f.or($b.$f)),+ }
    };
}

impl Settings {
    /// Field by field: `self` where given, else `lower`.
    pub fn or(self, lower: Settings) -> Settings {
        merge_fields!(self, lower; data_dir, database_url, https, tls_cert, tls_key, tls_names,
            log, session_idle_minutes, session_max_hours, max_sessions, account_lockout_threshold,
            ip_lockout_threshold, lockout_seconds, lockout_max_seconds, default_country,
            admin_email, sip_udp, sip_tcp, sip_tls, sip)
    }

    /// Parses a config file's text.
    pub fn from_toml(text: &str) -> anyhow::Result<Settings> {
        Ok(toml::from_str(text)?)
    }

    /// Reads a config file.
    pub fn from_file(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config file {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in the config file {}", path.display()))
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
    }

    /// The HTTPS listen address.
    pub fn https_addr(&self) -> anyhow::Result<SocketAddr> {
        let s = self.https.as_deref().unwrap_or(DEFAULT_HTTPS);
        s.parse().with_context(|| {
            format!("https = {s:?} is not a HOST:PORT address (e.g. 0.0.0.0:8443)")
        })
    }

    /// The SIP settings: the `[sip]` table, with the listener lists of `[sip.transport]`
    /// replaced by `sip_udp`, `sip_tcp` and `sip_tls` where those are given.
    ///
    /// # Errors
    /// An address that is not `HOST:PORT`, or a value the server refuses; the message names
    /// the setting.
    pub fn sip_config(
        &self,
    ) -> anyhow::Result<(
        ringfence_server::config::ServerConfig,
        ringfence_server::transport::TransportConfig,
    )> {
        let section = self.sip.clone().unwrap_or_default();
        let server = ringfence_server::config::ServerConfig {
            core: section.core,
            auth: section.auth,
            registrar: section.registrar,
        };
        server.validate().map_err(|e| anyhow::anyhow!("[sip]: {e}"))?;
        let mut transport = section.transport;
        if let Some(v) = &self.sip_udp {
            transport.udp = listen_list("sip_udp", v)?;
        }
        if let Some(v) = &self.sip_tcp {
            transport.tcp = listen_list("sip_tcp", v)?;
        }
        if let Some(v) = &self.sip_tls {
            transport.tls = listen_list("sip_tls", v)?;
        }
        transport.validate().map_err(|e| anyhow::anyhow!("[sip.transport]: {e}"))?;
        Ok((server, transport))
    }

    /// The `[sip.calls]` table, checked.
    ///
    /// # Errors
    /// A value the B2BUA refuses; the message names it.
    pub fn calls_config(&self) -> anyhow::Result<ringfence_server::b2bua::B2buaConfig> {
        let calls = self.sip.as_ref().map(|s| s.calls.clone()).unwrap_or_default();
        calls.validate().map_err(|e| anyhow::anyhow!("[sip.calls]: {e}"))?;
        Ok(calls)
    }

    /// The `[sip.guard]` table (checked when the guard is built).
    pub fn guard_config(&self) -> ringfence_guard::GuardConfig {
        self.sip.as_ref().map(|s| s.guard.clone()).unwrap_or_default()
    }

    /// The `[sip.media]` table, checked: the relay's configuration, or `None` when media
    /// is not anchored (`anchor = false`).
    ///
    /// # Errors
    /// A value the relay refuses; the message names it.
    pub fn media_config(
        &self,
    ) -> anyhow::Result<Option<ringfence_server::media_anchor::MediaConfig>> {
        let media = self.sip.as_ref().map(|s| s.media.clone()).unwrap_or_default();
        if !media.anchor {
            return Ok(None);
        }
        media.media_config().map(Some).map_err(|e| anyhow::anyhow!("[sip.media]: {e}"))
    }

    /// The `[sip.egress]` table (trunks are resolved when the gate is built).
    pub fn egress_config(&self) -> ringfence_server::egress::EgressConfig {
        self.sip.as_ref().map(|s| s.egress.clone()).unwrap_or_default()
    }

    /// Names for the self-signed certificate.
    pub fn tls_names(&self) -> Vec<String> {
        self.tls_names.clone().unwrap_or_else(|| {
            vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()]
        })
    }

    /// Admin API settings.
    pub fn admin_config(&self) -> anyhow::Result<ringfence_admin::AdminConfig> {
        use ringfence_admin::auth::throttle::LockoutPolicy;
        let mut c = ringfence_admin::AdminConfig::default();
        if let Some(m) = self.session_idle_minutes {
            c.sessions.idle_timeout = Duration::from_secs(u64::from(m.max(1)) * 60);
        }
        if let Some(h) = self.session_max_hours {
            c.sessions.absolute_timeout = Duration::from_secs(u64::from(h.max(1)) * 3600);
        }
        if let Some(n) = self.max_sessions {
            c.sessions.max_total = n.max(1) as usize;
        }
        let base = Duration::from_secs(u64::from(self.lockout_seconds.unwrap_or(60).max(1)));
        let max = Duration::from_secs(u64::from(self.lockout_max_seconds.unwrap_or(3600)));
        if max < base {
            bail!("lockout_max_seconds must be at least lockout_seconds");
        }
        c.account_lockout = LockoutPolicy {
            threshold: self.account_lockout_threshold.unwrap_or(5).max(1),
            base,
            max,
        };
        c.ip_lockout =
            LockoutPolicy { threshold: self.ip_lockout_threshold.unwrap_or(20).max(1), base, max };
        if let Some(cc) = &self.default_country {
            c.default_home_country = ringfence_store::CountryCode::parse(cc)
                .map_err(|e| anyhow::anyhow!("default_country: {e}"))?;
        }
        Ok(c)
    }
}

/// Parses a comma-separated list of `HOST:PORT` addresses (empty: none).
fn listen_list(name: &str, text: &str) -> anyhow::Result<Vec<SocketAddr>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().with_context(|| {
                format!(
                    "{name} = {s:?} is not a HOST:PORT address (e.g. 0.0.0.0:5060 or [::]:5060)"
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_field_by_field() {
        let cli = Settings { https: Some("127.0.0.1:1".into()), ..Settings::default() };
        let file = Settings {
            https: Some("127.0.0.1:2".into()),
            data_dir: Some("/x".into()),
            ..Settings::default()
        };
        let s = cli.or(file);
        assert_eq!(s.https.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(s.data_dir(), PathBuf::from("/x"));
        assert_eq!(Settings::default().data_dir(), PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Settings::from_toml("htps = \"0.0.0.0:1\"").is_err());
        assert!(Settings::from_toml("https = \"0.0.0.0:1\"").is_ok());
    }

    #[test]
    fn sip_listeners_and_tables() {
        let s = Settings::from_toml(
            "sip_udp = \"127.0.0.1:5070, [::1]:5070\"\nsip_tcp = \"\"\n[sip.auth]\nuri_check = \"lenient\"\n[sip.registrar]\nmin_expires = 120\n",
        )
        .unwrap();
        let (server, transport) = s.sip_config().unwrap();
        assert_eq!(server.registrar.min_expires, 120);
        assert_eq!(transport.udp.len(), 2);
        assert!(transport.tcp.is_empty());
        assert_eq!(transport.tls, vec!["0.0.0.0:5061".parse().unwrap()]);
        let bad = Settings { sip_tls: Some("localhost".into()), ..Settings::default() };
        let err = bad.sip_config().unwrap_err().to_string();
        assert!(err.contains("sip_tls"), "{err}");
        assert!(Settings::from_toml("[sip.registrar]\nmin_expirez = 1\n").is_err());
    }

    #[test]
    fn admin_config_checks_values() {
        let s = Settings { default_country: Some("ZZ".into()), ..Settings::default() };
        assert!(s.admin_config().is_err());
        let s = Settings {
            lockout_seconds: Some(100),
            lockout_max_seconds: Some(10),
            ..Settings::default()
        };
        assert!(s.admin_config().is_err());
        Settings::default().admin_config().unwrap();
    }
}
