//! The guard's, the transports' and the process's numbers in the Prometheus text
//! exposition format (version 0.0.4): `# HELP` and `# TYPE` lines, then one sample per
//! line. Plain formatting, no metrics library.

use std::fmt::Write as _;

use super::Perimeter;
use super::counters::{BAN_REASONS, BAN_SCOPES, FAILURES};
use crate::transport::TransportStats;

/// The content type of [`Perimeter::render_metrics`]'s output.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Builds the exposition text.
#[derive(Debug, Default)]
struct Out(String);

impl Out {
    /// One metric family: its help, its type and its samples (`labels` may be empty).
    fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(self.0, "{name} {value}");
            } else {
                let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
            }
        }
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: u64) {
        self.family(name, kind, help, &[(String::new(), value)]);
    }
}

/// Seconds of CPU time (user + system) and resident bytes of this process, from
/// `/proc/self` (Linux; `None` elsewhere). `/proc` reports CPU time in clock ticks of
/// 1/100 s (`USER_HZ`, fixed at 100 by the Linux ABI).
pub fn process_usage() -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((ticks as f64 / 100.0, kb * 1024))
}

impl Perimeter {
    /// Every counter and gauge of the guard (and of the transports, when given, and of the
    /// process) in the Prometheus text format ([`METRICS_CONTENT_TYPE`]).
    pub fn render_metrics(&self, transport: Option<&TransportStats>) -> String {
        render_metrics(Some(self), transport)
    }
}

/// The metrics of the guard (when given), the transports (when given) and the process in
/// the Prometheus text format ([`METRICS_CONTENT_TYPE`]).
pub fn render_metrics(perimeter: Option<&Perimeter>, transport: Option<&TransportStats>) -> String {
    let mut o = Out::default();
    if let Some(p) = perimeter {
        guard_metrics(&mut o, p);
    }
    if let Some(t) = transport {
        transport_metrics(&mut o, t);
    }
    if let Some((cpu, rss)) = process_usage() {
        let _ = writeln!(o.0, "# HELP process_cpu_seconds_total CPU time used by the process.");
        let _ = writeln!(o.0, "# TYPE process_cpu_seconds_total counter");
        let _ = writeln!(o.0, "process_cpu_seconds_total {cpu:.2}");
        o.one("process_resident_memory_bytes", "gauge", "Resident memory of the process.", rss);
    }
    o.0
}

fn guard_metrics(o: &mut Out, p: &Perimeter) {
    let g = p.stats();
    let c = p.counters();
    o.one(
        "ringfence_guard_packets_allowed_total",
        "counter",
        "Datagrams and connections the guard let through.",
        g.packets_allowed,
    );
    o.family(
        "ringfence_guard_dropped_total",
        "counter",
        "Datagrams, connections and requests the guard dropped without an answer.",
        &[
            ("cause=\"banned\"".into(), g.dropped_banned),
            ("cause=\"static\"".into(), g.dropped_static),
        ],
    );
    o.one(
        "ringfence_guard_requests_refused_total",
        "counter",
        "Parsed requests dropped by the guard (banned, flood on a connection, scanner).",
        c.requests_refused,
    );
    let mut bans = Vec::new();
    for (r, reason) in BAN_REASONS.iter().enumerate() {
        for (s, scope) in BAN_SCOPES.iter().enumerate() {
            bans.push((format!("reason=\"{reason}\",scope=\"{scope}\""), c.bans_started[r][s]));
        }
    }
    o.family("ringfence_guard_bans_started_total", "counter", "Bans started.", &bans);
    o.one(
        "ringfence_guard_bans_lifted_total",
        "counter",
        "Bans lifted by an administrator.",
        c.bans_lifted,
    );
    o.one("ringfence_guard_bans_expired_total", "counter", "Bans that ran out.", c.bans_expired);
    o.one(
        "ringfence_guard_bans_evicted_total",
        "counter",
        "Bans forgotten early because the guard's tables were full.",
        g.bans_evicted,
    );
    o.one(
        "ringfence_guard_scanners_detected_total",
        "counter",
        "Sources that showed new scanner signals.",
        c.scanners_detected,
    );
    o.one("ringfence_guard_active_bans", "gauge", "Running bans.", g.active_bans);
    o.one(
        "ringfence_guard_known_devices",
        "gauge",
        "Sources holding a current registration.",
        g.known_devices,
    );
    o.family(
        "ringfence_guard_tracked_entries",
        "gauge",
        "Entries in the guard's bounded tables.",
        &[
            ("table=\"addresses\"".into(), g.tracked_ips),
            ("table=\"prefixes\"".into(), g.tracked_prefixes),
            ("table=\"users\"".into(), g.tracked_auth),
        ],
    );
    o.one(
        "ringfence_guard_entries_evicted_total",
        "counter",
        "Entries evicted from full tables.",
        g.entries_evicted,
    );
    o.one(
        "ringfence_guard_devices_demoted_total",
        "counter",
        "Known devices that exceeded their own budget.",
        g.devices_demoted,
    );
    o.one(
        "ringfence_guard_events_dropped_total",
        "counter",
        "Security events lost because the queue was full.",
        g.events_dropped,
    );
    let failures: Vec<(String, u64)> =
        FAILURES.iter().zip(c.auth_failures).map(|(r, v)| (format!("reason=\"{r}\""), v)).collect();
    o.family(
        "ringfence_sip_auth_failures_total",
        "counter",
        "Digest authentications that failed (every reason answers alike on the wire).",
        &failures,
    );
    o.one(
        "ringfence_sip_auth_successes_total",
        "counter",
        "Digest authentications that succeeded.",
        c.auth_successes,
    );
    o.one(
        "ringfence_sip_auth_refused_total",
        "counter",
        "Authentication attempts the guard refused without checking the credentials.",
        c.auth_refused,
    );
    o.family(
        "ringfence_guard_audit_events_total",
        "counter",
        "Security events and the audit log: written one by one, folded into a summary \
             (over the rate cap), failed.",
        &[
            ("outcome=\"written\"".into(), c.audit_written),
            ("outcome=\"summarised\"".into(), c.audit_summarised),
            ("outcome=\"failed\"".into(), c.audit_failed),
        ],
    );
}

fn transport_metrics(o: &mut Out, t: &TransportStats) {
    let TransportStats {
        received,
        keepalives,
        parse_errors,
        bad_requests_answered,
        malformed_dropped,
        guard_dropped,
        queue_full_dropped,
        connections_open,
        connections_accepted,
        connections_refused,
        connections_idle_closed,
        connections_slow_closed,
        connections_malformed_closed,
        tls_handshake_failures,
        connect_failures,
        sent,
        send_failures,
    } = *t;
    let counters = [
        ("received", "Messages delivered to the core.", received),
        ("keepalives", "CRLF keep-alives received.", keepalives),
        ("parse_errors", "Messages that failed to parse.", parse_errors),
        (
            "bad_requests_answered",
            "Error responses sent for malformed requests.",
            bad_requests_answered,
        ),
        ("malformed_dropped", "Malformed messages dropped without an answer.", malformed_dropped),
        (
            "guard_dropped",
            "Datagrams, connections and requests refused by the guard.",
            guard_dropped,
        ),
        (
            "queue_full_dropped",
            "Datagrams dropped because the core's queue was full.",
            queue_full_dropped,
        ),
        ("connections_accepted", "Connections accepted.", connections_accepted),
        ("connections_refused", "Connections refused by a connection limit.", connections_refused),
        ("connections_idle_closed", "Connections closed when idle.", connections_idle_closed),
        ("connections_slow_closed", "Connections closed for not reading.", connections_slow_closed),
        (
            "connections_malformed_closed",
            "Connections closed after a framing error.",
            connections_malformed_closed,
        ),
        (
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out.",
            tls_handshake_failures,
        ),
        ("connect_failures", "Outgoing connections that could not be opened.", connect_failures),
        ("sent", "Messages handed to a socket or connection.", sent),
        ("send_failures", "Messages that could not be sent.", send_failures),
    ];
    for (name, help, value) in counters {
        o.one(&format!("ringfence_sip_transport_{name}_total"), "counter", help, value);
    }
    o.one(
        "ringfence_sip_connections_open",
        "gauge",
        "TCP/TLS connections open now.",
        connections_open,
    );
}
