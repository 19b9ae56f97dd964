//! Unit tests of the wiring (the guard's own rules are tested in its crate).

use std::net::SocketAddr;
use std::sync::Mutex;

use ringfence_guard::{BanKey, GuardConfig};
use ringfence_sip_proto::transaction::{FlowId, Peer, Transport as ProtoTransport};
use ringfence_sip_types::Method;
use ringfence_store::{AuditEntry, StoreError, TenantId};

use super::driver::AUDIT_PER_TICK;
use super::*;
use crate::transport::Guard as _;

fn perimeter() -> Arc<Perimeter> {
    Arc::new(Perimeter::new(GuardConfig::default()).unwrap())
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn event<'a>(realm: &'a str, user: &'a str, source: Peer, method: &'a Method) -> AuthEvent<'a> {
    AuthEvent { realm, tenant: None, username: user, source, method }
}

/// A log that keeps what it is given; `a.example` is its tenant.
struct Recorder(Mutex<Vec<AuditEntry>>, TenantId);

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder(Mutex::new(Vec::new()), TenantId::random())
    }
}

impl SecurityLog for Recorder {
    fn append(&self, entry: AuditEntry) -> crate::auth::BoxFuture<'_, Result<(), StoreError>> {
        self.0.lock().unwrap().push(entry);
        Box::pin(async { Ok(()) })
    }

    fn tenant_of<'a>(
        &'a self,
        domain: &'a str,
    ) -> crate::auth::BoxFuture<'a, Result<Option<TenantId>, StoreError>> {
        Box::pin(async move { Ok((domain == "a.example").then_some(self.1)) })
    }
}

#[test]
fn a_guesser_is_refused_like_a_bad_password_but_the_known_phone_is_not() {
    let p = perimeter();
    let method = Method::Register;
    let guesser = Peer::new(addr("203.0.113.5:40000"), ProtoTransport::Udp);
    let phone = Peer::new(addr("203.0.113.5:5060"), ProtoTransport::Udp);
    p.registered(&phone, Duration::from_secs(300));
    for _ in 0..5 {
        assert!(p.admit("a.example", "100", &guesser));
        p.auth_failed(&event("a.example", "100", guesser, &method), FailureReason::BadCredentials);
    }
    // Blocked for this user from this address, and its port is banned.
    let other_port = Peer::new(addr("203.0.113.5:40001"), ProtoTransport::Udp);
    assert!(!p.admit("a.example", "100", &other_port));
    let hook = p.transport_hook();
    assert!(!hook.allow(guesser.addr, TransportKind::Udp));
    // The phone on the same address keeps working, for the same user too.
    assert!(p.admit("a.example", "100", &phone));
    assert!(hook.allow(phone.addr, TransportKind::Udp));
    // Other users from the address are not blocked.
    assert!(p.admit("a.example", "101", &other_port));
    let c = p.counters();
    assert_eq!((c.auth_failures[0], c.auth_refused), (5, 1));
    assert_eq!(c.auth_failures_total(), 5);
    // Unregistering ends the exemption.
    p.registered(&phone, Duration::ZERO);
    assert!(!p.guard().is_known_device(Instant::now(), phone.addr));
}

#[test]
fn registrations_over_connections_name_their_flow() {
    let p = perimeter();
    let tls = Peer::new(addr("198.51.100.9:50000"), ProtoTransport::Tls).with_flow(FlowId(42));
    p.registered(&tls, Duration::from_secs(60));
    assert!(p.guard().is_known_device(Instant::now(), tls.addr));
    // The connection closes: no longer known.
    p.transport_hook().connection_closed(
        TransportKind::Tls,
        tls.addr,
        crate::transport::FlowId(42),
    );
    assert!(!p.guard().is_known_device(Instant::now(), tls.addr));
}

#[tokio::test]
async fn events_reach_the_audit_log_with_the_tenant_of_a_user_block() {
    let p = perimeter();
    let src = Peer::new(addr("192.0.2.44:5070"), ProtoTransport::Udp);
    let method = Method::Invite;
    for _ in 0..5 {
        p.auth_failed(&event("a.example", "100", src, &method), FailureReason::Replay);
    }
    let log = Recorder::default();
    p.tick(Some(&log)).await;
    let entries = log.0.lock().unwrap().clone();
    let actions: Vec<(&str, &str, Option<TenantId>)> =
        entries.iter().map(|e| (e.action.as_str(), e.target.as_str(), e.tenant_id)).collect();
    assert_eq!(
        actions,
        [
            ("guard.ban_start", "ban:100@a.example@192.0.2.44", Some(log.1)),
            ("guard.ban_start", "ban:192.0.2.44:5070", None),
        ]
    );
    assert!(entries.iter().all(|e| e.actor.id == "system:guard"));
    assert_eq!(entries[0].detail["reason"]["kind"], "auth_failures");
    assert_eq!(entries[0].detail["duration_secs"], 300);
    let c = p.counters();
    assert_eq!(c.bans_started[1][3], 1, "auth failures, user scope");
    assert_eq!(c.bans_started[1][2], 1, "auth failures, source scope");
    assert_eq!(c.audit_written, 2);
    // Lifting is counted; its audit event is the admin API's to write.
    p.lift_ban(&BanKey::Source { addr: src.addr }).unwrap();
    let log = Recorder::default();
    p.tick(Some(&log)).await;
    assert!(log.0.lock().unwrap().is_empty());
    assert_eq!(p.counters().bans_lifted, 1);
}

#[tokio::test]
async fn a_storm_of_events_is_summarised_in_the_audit_log() {
    let p = perimeter();
    let hook = p.transport_hook();
    // Many sources, each flooding until banned.
    for i in 0..(AUDIT_PER_TICK as u32 + 50) {
        let src = SocketAddr::from(([10, 1, (i / 250) as u8, (i % 250) as u8], 5060));
        while hook.allow(src, TransportKind::Udp) {}
    }
    let log = Recorder::default();
    p.tick(Some(&log)).await;
    let entries = log.0.lock().unwrap();
    assert_eq!(entries.len(), AUDIT_PER_TICK + 1);
    let summary = entries.last().unwrap();
    assert_eq!(summary.action, "guard.events_summarised");
    assert_eq!(summary.detail["counts"]["guard.ban_start"], 50);
    let c = p.counters();
    assert_eq!((c.audit_written, c.audit_summarised), (AUDIT_PER_TICK as u64, 50));
    assert_eq!(c.bans_started_total(), AUDIT_PER_TICK as u64 + 50);
}

#[test]
fn audit_targets_have_no_control_characters_and_fit() {
    assert_eq!(driver::clean_target("ban:a\nb"), "ban:a?b");
    assert_eq!(driver::clean_target(&"é".repeat(150)).len(), 200);
}

/// Every sample line belongs to a family announced with HELP and TYPE, names are valid, and
/// the families the operators' dashboards rely on are there.
#[tokio::test]
async fn metrics_are_valid_prometheus_text() {
    let p = perimeter();
    let hook = p.transport_hook();
    let src = addr("192.0.2.1:5060");
    while hook.allow(src, TransportKind::Udp) {}
    // Bans are counted by reason and scope as the driver polls their events.
    p.tick(None).await;
    let text = p.render_metrics(Some(&crate::transport::TransportStats::default()));
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            assert!(typed.insert(name.to_owned()), "family {name} twice");
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = series.split('{').next().unwrap();
        assert!(typed.contains(name), "sample before its TYPE: {line}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert!(text.contains("ringfence_guard_bans_started_total{reason=\"flood\",scope=\"ip\"} 1\n"));
    assert!(text.contains("ringfence_guard_dropped_total{cause=\"banned\"} 1\n"));
    assert!(text.contains("ringfence_sip_transport_guard_dropped_total 0\n"));
    assert!(text.contains("ringfence_sip_auth_failures_total{reason=\"replay\"} 0\n"));
    if cfg!(target_os = "linux") {
        assert!(text.contains("\nprocess_resident_memory_bytes "));
        let (cpu, rss) = process_usage().unwrap();
        assert!(cpu >= 0.0 && rss > 1024 * 1024, "{cpu} {rss}");
    }
}
