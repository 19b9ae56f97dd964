//! Transport configuration (the `[sip]` part of the config file).

use std::net::SocketAddr;
use std::time::Duration;

use ringfence_sip_types::Limits;
use serde::{Deserialize, Deserializer};

use super::error::TransportError;

/// Listener addresses and the limits that keep hostile peers cheap.
///
/// In the config file every field is optional; durations are whole seconds.
///
/// | field | default | why |
/// | --- | --- | --- |
/// | `udp` | `["0.0.0.0:5060"]` | RFC 3261 §18.1.1; add `"[::]:5060"` for IPv6 |
/// | `tcp` | `["0.0.0.0:5060"]` | |
/// | `tls` | `["0.0.0.0:5061"]` | RFC 3261 §26.2; needs a certificate |
/// | `udp_sockets_per_addr` | 1 | sockets bound per UDP address with `SO_REUSEPORT`, one receive task each; the kernel spreads peers over them |
/// | `udp_buffer_bytes` | 4194304 | receive and send buffer asked for each UDP socket; the kernel caps it at `net.core.rmem_max` / `wmem_max` (the server warns when the receive buffer is capped; some systems refuse too large a size, and the default is kept with a warning); 0 keeps the system default. The system default (208 KiB on Linux) holds about 10 ms of a busy server's datagrams: a short pause of the receiving task then drops requests, which come back as retransmissions |
/// | `limits` | [`Limits::DEFAULT`] | message size 64 KiB, 128 headers, ... |
/// | `max_connections` | 4096 | open TCP/TLS connections in total (accepted and outgoing) |
/// | `max_connections_per_ip` | 128 | accepted connections from one address; raise for large offices behind one NAT address |
/// | `idle_timeout` | 300 | seconds without any received byte before a connection is closed; RFC 5626 §4.4.1 clients ping every 95-120 s |
/// | `tls_handshake_timeout` | 10 | seconds for a TLS handshake |
/// | `connect_timeout` | 5 | seconds to open an outgoing connection (TLS handshake included) |
/// | `inbound_queue` | 4096 | messages waiting for the core; UDP drops when full, streams wait |
/// | `write_queue_bytes` | 262144 | bytes queued per connection before a slow reader is disconnected |
/// | `shutdown_flush_timeout` | 2 | seconds each connection may spend flushing queued writes at shutdown |
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportConfig {
    /// UDP listen addresses.
    pub udp: Vec<SocketAddr>,
    /// TCP listen addresses.
    pub tcp: Vec<SocketAddr>,
    /// TLS listen addresses.
    pub tls: Vec<SocketAddr>,
    /// Sockets bound per UDP address (`SO_REUSEPORT`), each with its own receive task.
    pub udp_sockets_per_addr: usize,
    /// `SO_RCVBUF` and `SO_SNDBUF` asked for each UDP socket, in bytes (0: the system's).
    pub udp_buffer_bytes: usize,
    /// Parse limits for every message received.
    #[serde(deserialize_with = "limits")]
    pub limits: Limits,
    /// Maximum open connections (accepted and outgoing).
    pub max_connections: usize,
    /// Maximum accepted connections per source IP address.
    pub max_connections_per_ip: usize,
    /// A connection that receives nothing (not even a CRLF keep-alive) for this long is closed.
    #[serde(deserialize_with = "seconds")]
    pub idle_timeout: Duration,
    /// Time allowed for a TLS handshake.
    #[serde(deserialize_with = "seconds")]
    pub tls_handshake_timeout: Duration,
    /// Time allowed to open an outgoing connection, TLS handshake included.
    #[serde(deserialize_with = "seconds")]
    pub connect_timeout: Duration,
    /// Capacity of the queue of messages waiting for the core.
    pub inbound_queue: usize,
    /// Bytes that may wait in one connection's write queue.
    pub write_queue_bytes: usize,
    /// Time each connection may spend flushing its write queue at shutdown.
    #[serde(deserialize_with = "seconds")]
    pub shutdown_flush_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        let any4 = |port| SocketAddr::from(([0, 0, 0, 0], port));
        TransportConfig {
            udp: vec![any4(5060)],
            tcp: vec![any4(5060)],
            tls: vec![any4(5061)],
            udp_sockets_per_addr: 1,
            udp_buffer_bytes: 4 * 1024 * 1024,
            limits: Limits::DEFAULT,
            max_connections: 4096,
            max_connections_per_ip: 128,
            idle_timeout: Duration::from_secs(300),
            tls_handshake_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            inbound_queue: 4096,
            write_queue_bytes: 256 * 1024,
            shutdown_flush_timeout: Duration::from_secs(2),
        }
    }
}

impl TransportConfig {
    /// A configuration without listeners (add the ones wanted), other fields default.
    pub fn without_listeners() -> Self {
        TransportConfig { udp: Vec::new(), tcp: Vec::new(), tls: Vec::new(), ..Default::default() }
    }

    /// Checks the values that would make the transports unusable.
    pub fn validate(&self) -> Result<(), TransportError> {
        let err = |m| Err(TransportError::Config(m));
        if !(1..=64).contains(&self.udp_sockets_per_addr) {
            return err("udp_sockets_per_addr must be between 1 and 64");
        }
        if self.udp_buffer_bytes != 0 && !(65_536..=268_435_456).contains(&self.udp_buffer_bytes) {
            return err(
                "udp_buffer_bytes must be 0 (the system default) or between 65536 and 268435456",
            );
        }
        if self.max_connections == 0 || self.max_connections_per_ip == 0 {
            return err("connection limits must be at least 1");
        }
        if self.inbound_queue == 0 {
            return err("inbound_queue must be at least 1");
        }
        if self.limits.max_message_size < 512 || self.limits.max_message_size > 65_536 {
            return err("limits.max_message_size must be between 512 and 65536");
        }
        if self.write_queue_bytes < self.limits.max_message_size {
            return err("write_queue_bytes must hold at least one message of max_message_size");
        }
        let zero = Duration::ZERO;
        if self.idle_timeout == zero
            || self.tls_handshake_timeout == zero
            || self.connect_timeout == zero
        {
            return err("timeouts must be at least one second");
        }
        Ok(())
    }
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

/// The config-file form of [`Limits`] (which has no serde support of its own).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LimitsDef {
    max_message_size: usize,
    max_headers: usize,
    max_header_len: usize,
    max_uri_len: usize,
    max_vias: usize,
}

impl Default for LimitsDef {
    fn default() -> Self {
        let l = Limits::DEFAULT;
        LimitsDef {
            max_message_size: l.max_message_size,
            max_headers: l.max_headers,
            max_header_len: l.max_header_len,
            max_uri_len: l.max_uri_len,
            max_vias: l.max_vias,
        }
    }
}

fn limits<'de, D: Deserializer<'de>>(d: D) -> Result<Limits, D::Error> {
    let l = LimitsDef::deserialize(d)?;
    Ok(Limits {
        max_message_size: l.max_message_size,
        max_headers: l.max_headers,
        max_header_len: l.max_header_len,
        max_uri_len: l.max_uri_len,
        max_vias: l.max_vias,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        TransportConfig::default().validate().unwrap();
        TransportConfig::without_listeners().validate().unwrap();
    }

    #[test]
    fn parses_from_toml_with_documented_names() {
        let text = r#"
            udp = ["0.0.0.0:5060", "[::]:5060"]
            tcp = []
            tls = ["127.0.0.1:5061"]
            udp_sockets_per_addr = 2
            udp_buffer_bytes = 1048576
            max_connections = 100
            max_connections_per_ip = 10
            idle_timeout = 120
            tls_handshake_timeout = 5
            connect_timeout = 3
            inbound_queue = 64
            write_queue_bytes = 131072
            shutdown_flush_timeout = 1
            [limits]
            max_message_size = 8192
        "#;
        let c: TransportConfig = toml::from_str(text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.udp.len(), 2);
        assert!(c.udp[1].is_ipv6() && c.tcp.is_empty());
        assert_eq!(c.idle_timeout, Duration::from_secs(120));
        assert_eq!(c.limits.max_message_size, 8192);
        assert_eq!(c.udp_buffer_bytes, 1 << 20);
        assert_eq!(c.limits.max_headers, Limits::DEFAULT.max_headers, "unset limits default");
        let empty: TransportConfig = toml::from_str("").unwrap();
        assert_eq!(empty, TransportConfig::default());
        let unknown = toml::from_str::<TransportConfig>("udp_port = 5060");
        assert!(unknown.unwrap_err().to_string().contains("unknown field"));
        let unknown_limit = toml::from_str::<TransportConfig>("[limits]\nmax_body = 1");
        assert!(unknown_limit.is_err());
    }

    #[test]
    fn invalid_values_are_named() {
        let c = TransportConfig { inbound_queue: 0, ..Default::default() };
        assert!(c.validate().unwrap_err().to_string().contains("inbound_queue"));
        let c = TransportConfig { write_queue_bytes: 100, ..Default::default() };
        assert!(c.validate().unwrap_err().to_string().contains("write_queue_bytes"));
        let c = TransportConfig { udp_sockets_per_addr: 0, ..Default::default() };
        assert!(c.validate().is_err());
        let c = TransportConfig { udp_buffer_bytes: 1000, ..Default::default() };
        assert!(c.validate().unwrap_err().to_string().contains("udp_buffer_bytes"));
        TransportConfig { udp_buffer_bytes: 0, ..Default::default() }.validate().unwrap();
    }
}
