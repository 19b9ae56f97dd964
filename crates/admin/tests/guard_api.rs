//! The perimeter guard endpoints over HTTPS with a real `ringfence_guard::Guard` attached
//! (the running SIP service's guard in production): bans listed with reason and expiry,
//! lifted with an audit event naming the administrator; allow/deny entries per scope, each
//! change reloaded into the guard at once; the metrics endpoint; on both backends.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use ringfence_admin::guard::{BanInfo, BanKey, BoxFuture, GuardControl, GuardError};
use ringfence_guard::{Guard, GuardConfig, StaticRules, TenantRules, Transport, Verdict};
use ringfence_store::{AnyStore, GuardAction, GuardRuleRepo as _};
use serde_json::json;

/// The guard as the binary wires it: reloads every stored entry after a change.
struct Control {
    guard: Guard,
    store: AnyStore,
}

impl GuardControl for Control {
    fn list_bans(&self) -> Vec<BanInfo> {
        self.guard.list_bans(Instant::now())
    }

    fn lift_ban(&self, key: &BanKey) -> Result<(), GuardError> {
        self.guard.lift_ban(Instant::now(), key)
    }

    fn rules_changed(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut rules = StaticRules::default();
            for (rule, domain) in self.store.all_guard_rules().await.map_err(|e| e.to_string())? {
                match (domain, rule.action) {
                    (None, GuardAction::Allow) => rules.global_allow.push(rule.network),
                    (None, GuardAction::Deny) => rules.global_deny.push(rule.network),
                    (Some(d), action) => {
                        let mut t =
                            TenantRules { tenant: d.as_str().to_owned(), ..Default::default() };
                        match action {
                            GuardAction::Allow => t.allow.push(rule.network),
                            GuardAction::Deny => t.deny.push(rule.network),
                        }
                        rules.tenants.push(t);
                    }
                }
            }
            self.guard.set_static_rules(rules).map_err(|e| e.to_string())
        })
    }

    fn render_metrics(&self) -> String {
        let s = self.guard.stats();
        format!(
            "# TYPE ringfence_guard_active_bans gauge\nringfence_guard_active_bans {}\n",
            s.active_bans
        )
    }
}

fn flood(guard: &Guard, src: SocketAddr) {
    let now = Instant::now();
    let mut n = 0;
    while guard.check_packet(now, src, Transport::Udp) == Verdict::Allow {
        n += 1;
        assert!(n < 100_000, "no flood ban");
    }
}

/// The id of the tenant `acme.example`.
async fn acme2_id(root: &mut Client) -> String {
    let list = root.get("/api/v1/tenants").await.expect(200).json();
    let t = list.as_array().unwrap().iter().find(|t| t["domain"] == "acme.example").unwrap();
    t["id"].as_str().unwrap().to_owned()
}

async fn guard_endpoints(backend: Backend) {
    let server = TestServer::start(backend).await;
    let control = Arc::new(Control {
        guard: Guard::new(GuardConfig::default(), Instant::now()).unwrap(),
        store: server.store().clone(),
    });
    assert!(server.state.set_guard(control.clone()));
    let mut root = super_admin(&server, "root@example.com").await;
    let t = tenant(&mut root.client, "Acme", "acme.example").await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let mut admin =
        tenant_user(&server, &mut root.client, &tid, "admin@acme.example", "tenant_admin").await;

    // Bans: a flood ban and a user block, listed with reason and expiry.
    let attacker: SocketAddr = "198.51.100.7:5060".parse().unwrap();
    flood(&control.guard, attacker);
    for _ in 0..5 {
        control.guard.auth_failed(
            Instant::now(),
            "acme.example",
            "1001",
            "203.0.113.9:5070".parse().unwrap(),
        );
    }
    let bans = root.client.get("/api/v1/guard/bans").await.expect(200).json();
    let keys: Vec<&str> =
        bans.as_array().unwrap().iter().map(|b| b["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["198.51.100.7", "203.0.113.9:5070", "1001@acme.example@203.0.113.9"]);
    let b = &bans[0];
    assert_eq!((b["scope"].as_str(), b["cause"].as_str()), (Some("ip"), Some("flood")));
    assert_eq!(b["reason"], "flood: more than 500 requests in 10 s");
    assert!(b["expires_in_secs"].as_u64().unwrap() <= 300);
    assert!(b["expires_at"].is_string());
    assert_eq!(bans[2]["tenant_domain"], "acme.example");
    assert_eq!(bans[2]["username"], "1001");
    // Tenant admins do not see or lift platform bans.
    admin.client.get("/api/v1/guard/bans").await.expect(403);
    admin.client.delete("/api/v1/guard/bans/198.51.100.7").await.expect(403);
    assert_eq!(control.guard.check_packet(Instant::now(), attacker, Transport::Udp), Verdict::Drop);

    // Lift: the source is let through again, the audit log names the administrator.
    let lifted = root.client.delete("/api/v1/guard/bans/198.51.100.7").await.expect(200).json();
    assert_eq!(lifted["cause"], "flood");
    assert_eq!(
        control.guard.check_packet(Instant::now(), attacker, Transport::Udp),
        Verdict::Allow
    );
    root.client.delete("/api/v1/guard/bans/198.51.100.7").await.expect(404);
    // The tenant's admin sees and lifts the block of their user, and nothing else.
    let user_key = "1001@acme.example@203.0.113.9";
    let tenant_bans = format!("/api/v1/tenants/{tid}/guard/bans");
    let own = admin.client.get(&tenant_bans).await.expect(200).json();
    let keys: Vec<&str> =
        own.as_array().unwrap().iter().map(|b| b["key"].as_str().unwrap()).collect();
    assert_eq!(keys, [user_key]);
    admin.client.delete(&format!("{tenant_bans}/203.0.113.9:5070")).await.expect(404);
    admin.client.delete(&format!("{tenant_bans}/1001@other.example@203.0.113.9")).await.expect(404);
    admin.client.delete(&format!("{tenant_bans}/{user_key}")).await.expect(200);
    admin.client.delete(&format!("{tenant_bans}/{user_key}")).await.expect(404);
    assert_eq!(
        control.guard.check_auth(
            Instant::now(),
            "acme.example",
            "1001",
            "203.0.113.9:5071".parse().unwrap()
        ),
        ringfence_guard::AuthCheck::Proceed
    );
    let audit = root.client.get("/api/v1/audit").await.expect(200).json();
    let lifts: Vec<&serde_json::Value> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "guard.ban_lift")
        .collect();
    assert_eq!(lifts.len(), 2, "{audit:#}");
    assert_eq!(lifts[1]["target"], "ban:198.51.100.7");
    assert_eq!(lifts[0]["target"], format!("ban:{user_key}"));
    assert!(
        lifts[0]["actor"].to_string().contains(admin.user["id"].as_str().unwrap()),
        "{}",
        lifts[0]
    );
    assert!(
        lifts[1]["actor"].to_string().contains(root.user["id"].as_str().unwrap()),
        "{}",
        lifts[1]
    );
    // The user block belongs to the tenant: its admins see the lift in their audit log.
    let own = admin.client.get(&format!("/api/v1/tenants/{tid}/audit")).await.expect(200).json();
    assert!(own["events"].as_array().unwrap().iter().any(|e| e["action"] == "guard.ban_lift"));

    // A global deny entry drops the network at once; it is listed as a permanent ban that
    // cannot be lifted (409), and removing the entry lets the network in again.
    let deny = root
        .client
        .post(
            "/api/v1/guard/rules",
            json!({"action": "deny", "network": "192.0.2.0/24", "note": "abuse"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(deny["network"], "192.0.2.0/24");
    assert_eq!(deny["tenant_id"], serde_json::Value::Null);
    let inside: SocketAddr = "192.0.2.44:5060".parse().unwrap();
    assert_eq!(control.guard.check_packet(Instant::now(), inside, Transport::Udp), Verdict::Drop);
    let bans = root.client.get("/api/v1/guard/bans").await.expect(200).json();
    let stat = bans.as_array().unwrap().iter().find(|b| b["key"] == "192.0.2.0/24").unwrap();
    assert_eq!((stat["cause"].as_str(), stat["expires_at"].is_null()), (Some("static"), true));
    let r = root.client.delete("/api/v1/guard/bans/192.0.2.0%2F24").await.expect(409);
    assert_eq!(r.code(), "static_rule");
    root.client
        .post("/api/v1/guard/rules", json!({"action": "deny", "network": "192.0.2.9/24"}))
        .await
        .expect(409);
    let list = root.client.get("/api/v1/guard/rules").await.expect(200).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    root.client
        .delete(&format!("/api/v1/guard/rules/{}", deny["id"].as_str().unwrap()))
        .await
        .expect(204);
    assert_eq!(control.guard.check_packet(Instant::now(), inside, Transport::Udp), Verdict::Allow);

    // A tenant's deny entry refuses that tenant's users from the network (and no other's).
    let rule = admin
        .client
        .post(
            &format!("/api/v1/tenants/{tid}/guard/rules"),
            json!({"action": "deny", "network": "2001:db8:9::/48"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(rule["tenant_id"], tid.as_str());
    let v6: SocketAddr = "[2001:db8:9::5]:5060".parse().unwrap();
    let now = Instant::now();
    assert_eq!(
        control.guard.check_auth(now, "acme.example", "1001", v6),
        ringfence_guard::AuthCheck::Refuse
    );
    assert_eq!(
        control.guard.check_auth(now, "other.example", "1001", v6),
        ringfence_guard::AuthCheck::Proceed
    );
    let own =
        admin.client.get(&format!("/api/v1/tenants/{tid}/guard/rules")).await.expect(200).json();
    assert_eq!(own.as_array().unwrap().len(), 1);
    admin.client.get("/api/v1/guard/rules").await.expect(403);
    admin
        .client
        .delete(&format!("/api/v1/tenants/{tid}/guard/rules/{}", rule["id"].as_str().unwrap()))
        .await
        .expect(204);
    assert_eq!(
        control.guard.check_auth(Instant::now(), "acme.example", "1001", v6),
        ringfence_guard::AuthCheck::Proceed
    );
    let audit = root.client.get("/api/v1/audit").await.expect(200).json();
    let actions: Vec<&str> =
        audit["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("guard_rule.create")).count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("guard_rule.delete")).count(),
        2,
        "{actions:?}"
    );

    // Deleting the tenant takes its entries out of the running guard too: a new tenant of
    // the same domain does not inherit them.
    admin
        .client
        .post(
            &format!("/api/v1/tenants/{tid}/guard/rules"),
            json!({"action": "deny", "network": "2001:db8:a::/48"}),
        )
        .await
        .expect(201);
    let v6a: SocketAddr = "[2001:db8:a::5]:5060".parse().unwrap();
    let refused = ringfence_guard::AuthCheck::Refuse;
    assert_eq!(control.guard.check_auth(Instant::now(), "acme.example", "1001", v6a), refused);
    root.client.delete(&format!("/api/v1/tenants/{tid}")).await.expect(204);
    tenant(&mut root.client, "Acme again", "acme.example").await;
    assert_eq!(
        control.guard.check_auth(Instant::now(), "acme.example", "1001", v6a),
        ringfence_guard::AuthCheck::Proceed
    );

    // Metrics: Prometheus text for super admins (session or platform token), not others.
    let m = root.client.get("/api/v1/metrics").await.expect(200);
    assert!(m.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    assert!(m.text().contains("ringfence_guard_active_bans "), "{}", m.text());
    let tok =
        root.client.post("/api/v1/tokens", json!({"name": "prometheus"})).await.expect(201).json();
    let mut scraper = root.client.with_bearer(tok["token"].as_str().unwrap());
    scraper.get("/api/v1/metrics").await.expect(200);
    let acme2 = acme2_id(&mut root.client).await;
    let other_admin =
        tenant_user(&server, &mut root.client, &acme2, "admin2@acme.example", "tenant_admin").await;
    let mut stranger = other_admin.client;
    stranger.get("/api/v1/metrics").await.expect(403);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_endpoints_sqlite() {
    guard_endpoints(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_endpoints_postgres() {
    guard_endpoints(Backend::Postgres).await;
}
