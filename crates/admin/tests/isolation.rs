//! Tenant isolation and role checks, driven by a table that covers every operation of the
//! OpenAPI document: another tenant's ids answer 404, a role without the power answers 403,
//! and neither changes a single row (the whole database is dumped and compared).

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The caller's own account (login, logout, password, TOTP, me): no foreign ids.
    Own,
    /// Super admins only, no tenant in the path.
    Platform,
    /// Admins of the tenant in the path.
    TenantAdmin,
    /// Super admins only, tenant in the path (rename, delete).
    TenantSuper,
    /// Users too, on extensions they own.
    UserExtension,
    /// Users too, filtered to what they own (lists).
    UserList,
}

struct Route {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    scope: Scope,
}

fn r(method: &'static str, path: &'static str, body: Option<Value>, scope: Scope) -> Route {
    Route { method, path, body, scope }
}

fn table() -> Vec<Route> {
    use Scope::*;
    let t = |p: &'static str| p;
    vec![
        r(
            "POST",
            "/api/v1/auth/login",
            Some(json!({"email": "x@y.example", "password": "p"})),
            Own,
        ),
        r("POST", "/api/v1/auth/logout", Some(json!({})), Own),
        r(
            "POST",
            "/api/v1/auth/password",
            Some(json!({"current_password": "a", "new_password": "b"})),
            Own,
        ),
        r("POST", "/api/v1/auth/totp/enroll", Some(json!({})), Own),
        r("POST", "/api/v1/auth/totp/confirm", Some(json!({"code": "123456"})), Own),
        r("GET", "/api/v1/me", None, Own),
        r("GET", "/api/v1/tenants", None, TenantAdmin),
        r(
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "New", "domain": "new.example"})),
            Platform,
        ),
        r("GET", t("/api/v1/tenants/{tenant_id}"), None, TenantAdmin),
        r("PATCH", "/api/v1/tenants/{tenant_id}", Some(json!({"name": "Renamed"})), TenantSuper),
        r("DELETE", "/api/v1/tenants/{tenant_id}", None, TenantSuper),
        r("GET", "/api/v1/tenants/{tenant_id}/settings", None, TenantAdmin),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/general",
            Some(json!({"home_country": "FR", "encryption": "optional"})),
            TenantAdmin,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/calling",
            Some(json!({"international_calling": true, "allowed_countries": ["US"]})),
            TenantAdmin,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/inbound-blocks",
            Some(json!({"rules": [{"kind": "anonymous"}]})),
            TenantAdmin,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/device-networks",
            Some(json!({"networks": ["10.0.0.0/8"]})),
            TenantAdmin,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/credential-policy",
            Some(
                json!({"min_password_length": 20, "password_rotation_days": 1, "sip_secret_rotation_days": null, "pin_min_length": 8, "pin_rotation_days": null, "require_user_totp": true}),
            ),
            TenantAdmin,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/fraud-limits",
            Some(
                json!({"max_concurrent_calls_per_extension": 1, "max_concurrent_calls_per_tenant": 1, "max_calls_per_minute_per_extension": 1, "max_calls_per_minute_per_tenant": 1, "international_minutes_per_day": 1, "spend_cap_cents_per_day": 1}),
            ),
            TenantAdmin,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/notifications",
            Some(json!({"emails": ["a@b.example"]})),
            TenantAdmin,
        ),
        r("GET", "/api/v1/tenants/{tenant_id}/users", None, TenantAdmin),
        r(
            "POST",
            "/api/v1/tenants/{tenant_id}/users",
            Some(json!({"email": "new@new.example", "role": "tenant_admin"})),
            TenantAdmin,
        ),
        r("GET", "/api/v1/tenants/{tenant_id}/users/{user_id}", None, TenantAdmin),
        r("DELETE", "/api/v1/tenants/{tenant_id}/users/{user_id}", None, TenantAdmin),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/users/{user_id}/role",
            Some(json!({"role": "tenant_admin"})),
            TenantAdmin,
        ),
        r(
            "POST",
            "/api/v1/tenants/{tenant_id}/users/{user_id}/password",
            Some(json!({})),
            TenantAdmin,
        ),
        r("DELETE", "/api/v1/tenants/{tenant_id}/users/{user_id}/totp", None, TenantAdmin),
        r("GET", "/api/v1/super-admins", None, Platform),
        r("POST", "/api/v1/super-admins", Some(json!({"email": "boss@new.example"})), Platform),
        r("DELETE", "/api/v1/super-admins/{super_admin_id}", None, Platform),
        r("POST", "/api/v1/super-admins/{super_admin_id}/password", Some(json!({})), Platform),
        r("DELETE", "/api/v1/super-admins/{super_admin_id}/totp", None, Platform),
        r("GET", "/api/v1/tenants/{tenant_id}/extensions", None, UserList),
        r(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions",
            Some(json!({"number": "4444"})),
            TenantAdmin,
        ),
        r("GET", "/api/v1/tenants/{tenant_id}/extensions/{extension_id}", None, UserExtension),
        r(
            "PATCH",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}",
            Some(json!({"enabled": false})),
            TenantAdmin,
        ),
        r("DELETE", "/api/v1/tenants/{tenant_id}/extensions/{extension_id}", None, TenantAdmin),
        r(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/sip-password/reset",
            Some(json!({})),
            UserExtension,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/sip-password",
            Some(json!({"password": "Trombone-Harbour-Quilt-58"})),
            UserExtension,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/pin",
            Some(json!({"pin": "730196"})),
            UserExtension,
        ),
        r("GET", "/api/v1/tenants/{tenant_id}/numbers", None, TenantAdmin),
        r(
            "POST",
            "/api/v1/tenants/{tenant_id}/numbers",
            Some(json!({"e164": "+15551230000"})),
            TenantAdmin,
        ),
        r("GET", "/api/v1/tenants/{tenant_id}/numbers/{number_id}", None, TenantAdmin),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/numbers/{number_id}",
            Some(json!({"extension_id": null})),
            TenantAdmin,
        ),
        r("DELETE", "/api/v1/tenants/{tenant_id}/numbers/{number_id}", None, TenantAdmin),
        r("GET", "/api/v1/tenants/{tenant_id}/calls", None, UserList),
        r("GET", "/api/v1/tenants/{tenant_id}/calls/export.csv", None, UserList),
        r("GET", "/api/v1/tenants/{tenant_id}/fraud-events", None, TenantAdmin),
        r("GET", "/api/v1/tenants/{tenant_id}/audit", None, TenantAdmin),
        r("GET", "/api/v1/audit", None, Platform),
        r("GET", "/api/v1/audit/verify", None, Platform),
        r("GET", "/api/v1/tokens", None, Platform),
        r("POST", "/api/v1/tokens", Some(json!({"name": "x"})), Platform),
        r("DELETE", "/api/v1/tokens/{platform_token_id}", None, Platform),
        r("GET", "/api/v1/tenants/{tenant_id}/tokens", None, TenantAdmin),
        r("POST", "/api/v1/tenants/{tenant_id}/tokens", Some(json!({"name": "x"})), TenantAdmin),
        r("DELETE", "/api/v1/tenants/{tenant_id}/tokens/{token_id}", None, TenantAdmin),
        r("GET", "/api/v1/tenants/{tenant_id}/reports/expired-secrets", None, TenantAdmin),
        r("GET", "/api/v1/guard/bans", None, Platform),
        r("DELETE", "/api/v1/guard/bans/{key}", None, Platform),
        r("GET", "/api/v1/guard/rules", None, Platform),
        r(
            "POST",
            "/api/v1/guard/rules",
            Some(json!({"action": "deny", "network": "203.0.113.0/24"})),
            Platform,
        ),
        r("DELETE", "/api/v1/guard/rules/{global_rule_id}", None, Platform),
        r("GET", "/api/v1/tenants/{tenant_id}/guard/bans", None, TenantAdmin),
        r("DELETE", "/api/v1/tenants/{tenant_id}/guard/bans/{key}", None, TenantAdmin),
        r("GET", "/api/v1/tenants/{tenant_id}/guard/rules", None, TenantAdmin),
        r(
            "POST",
            "/api/v1/tenants/{tenant_id}/guard/rules",
            Some(json!({"action": "deny", "network": "203.0.113.0/24"})),
            TenantAdmin,
        ),
        r("DELETE", "/api/v1/tenants/{tenant_id}/guard/rules/{rule_id}", None, TenantAdmin),
        r("GET", "/api/v1/metrics", None, Platform),
        r("GET", "/api/v1/trunks", None, Platform),
        r("POST", "/api/v1/trunks/reload", None, Platform),
        r("GET", "/api/v1/tenants/{tenant_id}/overrides", None, TenantAdmin),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/overrides",
            Some(
                json!({"allow_premium_rate": true, "allow_shared_cost": false, "allow_high_risk": false, "allow_non_geographic": false}),
            ),
            TenantSuper,
        ),
        r(
            "GET",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/restrictions",
            None,
            UserExtension,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/restrictions",
            Some(json!({"domestic_only": true})),
            TenantAdmin,
        ),
        r(
            "GET",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/forwarding",
            None,
            UserExtension,
        ),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/forwarding",
            Some(json!({"always": "+442071838750"})),
            UserExtension,
        ),
        r("GET", "/api/v1/tenants/{tenant_id}/webhook", None, TenantAdmin),
        r(
            "PUT",
            "/api/v1/tenants/{tenant_id}/webhook",
            Some(json!({"url": "https://hooks.example.com/ringfence"})),
            TenantAdmin,
        ),
        r("DELETE", "/api/v1/tenants/{tenant_id}/webhook", None, TenantAdmin),
        r(
            "POST",
            "/api/v1/tenants/{tenant_id}/webhook/rotate-secret",
            Some(json!({})),
            TenantAdmin,
        ),
    ]
}

/// Ids of one tenant's fixtures.
#[derive(Clone)]
struct Ids {
    tenant: String,
    user: String,
    extension: String,
    number: String,
    token: String,
    rule: String,
}

fn fill(path: &str, ids: &Ids, super_admin: &str, platform_token: &str) -> String {
    path.replace("{global_rule_id}", platform_token_rule(platform_token))
        .replace("{key}", "192.0.2.1")
        .replace("{rule_id}", &ids.rule)
        .replace("{tenant_id}", &ids.tenant)
        .replace("{user_id}", &ids.user)
        .replace("{extension_id}", &ids.extension)
        .replace("{number_id}", &ids.number)
        .replace("{token_id}", &ids.token)
        .replace("{super_admin_id}", super_admin)
        .replace("{platform_token_id}", platform_token.split('|').next().unwrap())
}

/// The global rule id carried after the platform token id (`token|rule`).
fn platform_token_rule(platform: &str) -> &str {
    platform.split_once('|').map_or("", |(_, r)| r)
}

fn id(v: &Value, path: &[&str]) -> String {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_str().unwrap_or_else(|| panic!("no {path:?}")).to_owned()
}

/// Sets up a tenant with an admin, a user owning one extension, an unowned extension, a
/// number and a token. Returns (admin, user, ids for the user's extension, unowned ext id).
async fn fixture(
    server: &TestServer,
    root: &mut Client,
    name: &str,
) -> (Admin, Admin, Ids, String) {
    let t = tenant(root, name, &format!("{}.example", name.to_lowercase())).await;
    let tid = id(&t, &["id"]);
    let mut admin = tenant_user(
        server,
        root,
        &tid,
        &format!("admin@{}.example", name.to_lowercase()),
        "tenant_admin",
    )
    .await;
    let user = tenant_user(
        server,
        &mut admin.client,
        &tid,
        &format!("user@{}.example", name.to_lowercase()),
        "user",
    )
    .await;
    let base = format!("/api/v1/tenants/{tid}");
    let e = admin
        .client
        .post(
            &format!("{base}/extensions"),
            json!({"number": "1001", "owner_user_id": user.user["id"]}),
        )
        .await
        .expect(201)
        .json();
    let e2 = admin
        .client
        .post(&format!("{base}/extensions"), json!({"number": "1002"}))
        .await
        .expect(201)
        .json();
    let n = admin
        .client
        .post(
            &format!("{base}/numbers"),
            json!({"e164": format!("+1555{:07}", name.len() * 1000 + 1)}),
        )
        .await
        .expect(201)
        .json();
    let tok = admin
        .client
        .post(&format!("{base}/tokens"), json!({"name": "auto"}))
        .await
        .expect(201)
        .json();
    let rule = admin
        .client
        .post(
            &format!("{base}/guard/rules"),
            json!({"action": "deny", "network": "198.51.100.0/24", "note": "fixture"}),
        )
        .await
        .expect(201)
        .json();
    let ids = Ids {
        rule: id(&rule, &["id"]),
        tenant: tid,
        user: id(&user.user, &["id"]),
        extension: id(&e, &["extension", "id"]),
        number: id(&n, &["id"]),
        token: id(&tok, &["info", "id"]),
    };
    (admin, user, ids, id(&e2, &["extension", "id"]))
}

async fn isolation(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let other_root = root
        .client
        .post("/api/v1/super-admins", json!({"email": "root2@example.com"}))
        .await
        .expect(201)
        .json();
    let super_admin_id = id(&other_root, &["user", "id"]);
    let pt =
        root.client.post("/api/v1/tokens", json!({"name": "platform"})).await.expect(201).json();
    let global_rule = root
        .client
        .post("/api/v1/guard/rules", json!({"action": "allow", "network": "192.0.2.0/24"}))
        .await
        .expect(201)
        .json();
    let platform_token = format!("{}|{}", id(&pt, &["info", "id"]), id(&global_rule, &["id"]));
    let (mut a_admin, mut a_user, a_ids, a_unowned) =
        fixture(&server, &mut root.client, "Alpha").await;
    let (_b_admin, _b_user, b_ids, _) = fixture(&server, &mut root.client, "Beta").await;
    let tok = a_admin
        .client
        .post(&format!("/api/v1/tenants/{}/tokens", a_ids.tenant), json!({"name": "a"}))
        .await
        .expect(201)
        .json();
    let mut a_token = a_admin.client.with_bearer(tok["token"].as_str().unwrap());
    // First use records last_used_at; later uses within a minute write nothing.
    a_token.get("/api/v1/me").await.expect(200);

    // The table covers every operation of the OpenAPI document.
    let doc = root.client.get("/api/v1/openapi.json").await.expect(200).json();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routes = table();
    let normalise = |p: &str| {
        p.replace("{super_admin_id}", "{user_id}")
            .replace("{platform_token_id}", "{token_id}")
            .replace("{global_rule_id}", "{rule_id}")
    };
    let tabled: BTreeSet<(String, String)> =
        routes.iter().map(|r| (r.method.to_owned(), normalise(r.path))).collect();
    assert_eq!(documented, tabled, "isolation table and OpenAPI document differ");

    // Positive controls: the fixtures are reachable by their owners.
    let a = &a_ids;
    a_admin
        .client
        .get(&format!("/api/v1/tenants/{}/extensions/{}", a.tenant, a.extension))
        .await
        .expect(200);
    a_user
        .client
        .get(&format!("/api/v1/tenants/{}/extensions/{}", a.tenant, a.extension))
        .await
        .expect(200);
    a_admin
        .client
        .get(&format!("/api/v1/tenants/{}/numbers/{}", a.tenant, a.number))
        .await
        .expect(200);

    let baseline = server.db.dump().await;
    // A mix of own tenant id with another tenant's record ids.
    let mixed = Ids { tenant: a.tenant.clone(), ..b_ids.clone() };
    let a_unowned_ids = Ids { extension: a_unowned.clone(), ..a.clone() };
    let mut checked = 0;
    for route in &routes {
        if route.scope == Scope::Own {
            continue;
        }
        #[allow(clippy::type_complexity)]
        let mut cases: Vec<(&str, &mut Client, &Ids, u16)> = Vec::new();
        let platform = matches!(route.scope, Scope::Platform);
        // Tenant admin, user and tenant token of A against tenant B's ids.
        let cross = if platform { 403 } else { 404 };
        if route.path.contains('{') {
            cases.push(("A admin -> B", &mut a_admin.client, &b_ids, cross));
            cases.push(("A user -> B", &mut a_user.client, &b_ids, cross));
            cases.push(("A token -> B", &mut a_token, &b_ids, cross));
        }
        for (who, client, ids, want) in cases {
            let path = fill(route.path, ids, &super_admin_id, &platform_token);
            let res = client.send(route.method, &path, route.body.as_ref()).await;
            assert_eq!(res.status, want, "{who}: {} {path}: {}", route.method, res.text());
            assert_eq!(
                server.db.dump().await,
                baseline,
                "{who}: {} {path} changed the database",
                route.method
            );
            checked += 1;
        }
        // Own tenant path, another tenant's record ids.
        if route.path.contains("{tenant_id}/") && !platform {
            let has_record =
                ["{user_id}", "{extension_id}", "{number_id}", "{token_id}", "{rule_id}"]
                    .iter()
                    .any(|p| route.path.contains(p));
            if has_record {
                let path = fill(route.path, &mixed, &super_admin_id, &platform_token);
                let res = a_admin.client.send(route.method, &path, route.body.as_ref()).await;
                assert_eq!(
                    res.status,
                    404,
                    "A admin, mixed ids: {} {path}: {}",
                    route.method,
                    res.text()
                );
                assert_eq!(server.db.dump().await, baseline);
                checked += 1;
            }
        }
        // Roles without the power, in their own tenant.
        let role_cases: Vec<(&str, &mut Client, &Ids, u16)> = match route.scope {
            Scope::Platform | Scope::TenantSuper => vec![
                ("A admin, own tenant", &mut a_admin.client, a, 403),
                ("A user, own tenant", &mut a_user.client, a, 403),
                ("A token, own tenant", &mut a_token, a, 403),
            ],
            Scope::TenantAdmin => vec![("A user, own tenant", &mut a_user.client, a, 403)],
            // A user may act on own extensions only: an unowned one is not in their scope.
            Scope::UserExtension => {
                vec![("A user, unowned ext", &mut a_user.client, &a_unowned_ids, 404)]
            }
            Scope::UserList | Scope::Own => vec![],
        };
        for (who, client, ids, want) in role_cases {
            let path = fill(route.path, ids, &super_admin_id, &platform_token);
            let res = client.send(route.method, &path, route.body.as_ref()).await;
            assert_eq!(res.status, want, "{who}: {} {path}: {}", route.method, res.text());
            if want == 403 {
                assert_eq!(res.code(), "forbidden", "{who}: {} {path}", route.method);
            }
            assert_eq!(
                server.db.dump().await,
                baseline,
                "{who}: {} {path} changed the database",
                route.method
            );
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} checks ran");

    // Lists are filtered, not refused: A's user sees only their own extension and A's admin
    // sees only tenant A.
    let list = a_user
        .client
        .get(&format!("/api/v1/tenants/{}/extensions", a.tenant))
        .await
        .expect(200)
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let list = a_admin.client.get("/api/v1/tenants").await.expect(200).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], json!(a.tenant));
    assert_eq!(server.db.dump().await, baseline);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_isolation_every_endpoint_sqlite() {
    isolation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_isolation_every_endpoint_postgres() {
    isolation(Backend::Postgres).await;
}
