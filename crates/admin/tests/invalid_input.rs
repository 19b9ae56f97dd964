//! Invalid input on every write endpoint answers 4xx naming the field and leaves no row
//! changed (the whole database is dumped and compared), on both backends.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

struct Case {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    status: u16,
    field: &'static str,
}

fn c(
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    status: u16,
    field: &'static str,
) -> Case {
    Case { method, path, body, status, field }
}

fn cases() -> Vec<Case> {
    vec![
        c("POST", "/api/v1/auth/login", Some(json!({"email": "a@b.example"})), 422, "password"),
        c("POST", "/api/v1/auth/logout", Some(json!({"x": 1})), 0, ""),
        c(
            "POST",
            "/api/v1/auth/password",
            Some(json!({"current_password": "{password}", "new_password": "short"})),
            422,
            "new_password",
        ),
        c(
            "POST",
            "/api/v1/auth/password",
            Some(
                json!({"current_password": "{password}", "new_password": "Root-Quasar-Lantern-Mosaic"}),
            ),
            422,
            "new_password",
        ),
        c("POST", "/api/v1/auth/totp/enroll", Some(json!({})), 409, ""),
        c("POST", "/api/v1/auth/totp/confirm", Some(json!({"code": 123456})), 422, "code"),
        c(
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "X", "domain": "bad_domain"})),
            422,
            "domain",
        ),
        c(
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "", "domain": "ok.example"})),
            422,
            "name",
        ),
        c(
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "X", "domain": "ok.example", "home_country": "ZZ"})),
            422,
            "home_country",
        ),
        c(
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "X", "domain": "ok.example", "encryption": "maybe"})),
            422,
            "encryption",
        ),
        c(
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "X", "domain": "ok.example", "colour": "red"})),
            422,
            "colour",
        ),
        c(
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "Dup", "domain": "acme.example"})),
            409,
            "",
        ),
        c("PATCH", "/api/v1/tenants/{tenant_id}", Some(json!({"name": " padded"})), 422, "name"),
        c("DELETE", "/api/v1/tenants/not-a-uuid", None, 400, "tenant_id"),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/overrides",
            Some(
                json!({"allow_premium_rate": "yes", "allow_shared_cost": false, "allow_high_risk": false, "allow_non_geographic": false}),
            ),
            422,
            "allow_premium_rate",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/restrictions",
            Some(json!({"only_countries": ["JP"]})),
            422,
            "only_countries[0]",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/restrictions",
            Some(json!({"only_countries": ["Narnia"]})),
            422,
            "only_countries[0]",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/forwarding",
            Some(json!({"always": "call-me"})),
            422,
            "always",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/forwarding",
            Some(json!({"no_answer": "+442071838750", "no_answer_seconds": 500})),
            422,
            "no_answer_seconds",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/webhook",
            Some(json!({"url": "ftp://hooks.example.com/x"})),
            422,
            "url",
        ),
        c("DELETE", "/api/v1/tenants/not-a-uuid/webhook", None, 400, "tenant_id"),
        c(
            "POST",
            "/api/v1/tenants/not-a-uuid/webhook/rotate-secret",
            Some(json!({})),
            400,
            "tenant_id",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/general",
            Some(json!({"home_country": "XX", "encryption": "required"})),
            422,
            "home_country",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/general",
            Some(
                json!({"home_country": "DE", "encryption": "required", "business_hours": {"utc_offset_minutes": 0, "periods": [{"weekday": 8, "start_minute": 0, "end_minute": 60}]}}),
            ),
            422,
            "periods",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/calling",
            Some(json!({"international_calling": true, "allowed_countries": ["FR", "UK"]})),
            422,
            "allowed_countries[1]",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/calling",
            Some(json!({"international_calling": "yes", "allowed_countries": []})),
            422,
            "international_calling",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/inbound-blocks",
            Some(
                json!({"rules": [{"kind": "exact", "value": "+49"}, {"kind": "prefix", "value": "12a"}]}),
            ),
            422,
            "rules[1].value",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/inbound-blocks",
            Some(json!({"rules": [{"kind": "regex", "value": "1"}]})),
            422,
            "rules[0].kind",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/device-networks",
            Some(json!({"networks": ["10.0.0.0/8", "10.0.0.0/33"]})),
            422,
            "networks[1]",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/credential-policy",
            Some(
                json!({"min_password_length": 8, "password_rotation_days": null, "sip_secret_rotation_days": null, "pin_min_length": 6, "pin_rotation_days": null, "require_user_totp": false}),
            ),
            422,
            "min_password_length",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/credential-policy",
            Some(
                json!({"min_password_length": 12, "password_rotation_days": 0, "sip_secret_rotation_days": null, "pin_min_length": 6, "pin_rotation_days": null, "require_user_totp": false}),
            ),
            422,
            "password_rotation_days",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/fraud-limits",
            Some(
                json!({"max_concurrent_calls_per_extension": 9, "max_concurrent_calls_per_tenant": 2, "max_calls_per_minute_per_extension": 1, "max_calls_per_minute_per_tenant": 1, "international_minutes_per_day": 1, "spend_cap_cents_per_day": 1}),
            ),
            422,
            "max_concurrent_calls_per_extension",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/fraud-limits",
            Some(json!({"max_concurrent_calls_per_extension": -1})),
            422,
            "max_concurrent_calls_per_extension",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/notifications",
            Some(json!({"emails": ["ok@a.example", "nope"]})),
            422,
            "emails[1]",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/settings/notifications",
            Some(json!({"emails": [], "webhook_url": "http://plain.example/x"})),
            422,
            "webhook_url",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/users",
            Some(json!({"email": "not-an-email", "role": "user"})),
            422,
            "email",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/users",
            Some(
                json!({"email": "zed@acme.example", "role": "user", "password": "zed-password-12345"}),
            ),
            422,
            "password",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/users",
            Some(
                json!({"email": "zed@acme.example", "role": "user", "password": "Acme-Quasar-Lantern-77"}),
            ),
            422,
            "password",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/users",
            Some(json!({"email": "zed@acme.example", "role": "owner"})),
            422,
            "role",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/users",
            Some(json!({"email": "zed@acme.example", "role": "super_admin"})),
            422,
            "role",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/users",
            Some(json!({"email": "user@acme.example", "role": "user"})),
            409,
            "",
        ),
        c("DELETE", "/api/v1/tenants/{tenant_id}/users/123", None, 400, "user_id"),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/users/{user_id}/role",
            Some(json!({"role": "king"})),
            422,
            "role",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/users/{user_id}/password",
            Some(json!({"password": "aaaaaaaaaaaaaaaa"})),
            422,
            "password",
        ),
        c("DELETE", "/api/v1/tenants/{tenant_id}/users/x/totp", None, 400, "user_id"),
        c("POST", "/api/v1/super-admins", Some(json!({"email": "bad"})), 422, "email"),
        c(
            "POST",
            "/api/v1/super-admins",
            Some(json!({"email": "boss@x.example", "password": "boss-boss-boss-boss"})),
            422,
            "password",
        ),
        c("DELETE", "/api/v1/super-admins/nope", None, 400, "user_id"),
        c(
            "POST",
            "/api/v1/super-admins/{super_admin_id}/password",
            Some(json!({"password": "123456789012"})),
            422,
            "password",
        ),
        c("DELETE", "/api/v1/super-admins/zz/totp", None, 400, "user_id"),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions",
            Some(json!({"number": "0123"})),
            422,
            "number",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions",
            Some(json!({"number": "2001", "pin": "123456"})),
            422,
            "pin",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions",
            Some(json!({"number": "2001", "pin": "200120"})),
            0,
            "",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions",
            Some(json!({"number": "2001", "display_name": "a\u{7}b"})),
            422,
            "display_name",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions",
            Some(
                json!({"number": "2001", "owner_user_id": "00000000-0000-4000-8000-000000000000"}),
            ),
            422,
            "owner_user_id",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions",
            Some(json!({"number": "1001"})),
            409,
            "",
        ),
        c(
            "PATCH",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}",
            Some(json!({"display_name": "x".repeat(101)})),
            422,
            "display_name",
        ),
        c(
            "PATCH",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}",
            Some(json!({"enabled": "no"})),
            422,
            "enabled",
        ),
        c("DELETE", "/api/v1/tenants/{tenant_id}/extensions/1001", None, 400, "extension_id"),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/extensions/abc/sip-password/reset",
            Some(json!({})),
            400,
            "extension_id",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/sip-password",
            Some(json!({"password": "1001-Quasar-Lantern-9"})),
            422,
            "password",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/sip-password",
            Some(json!({"password": "short"})),
            422,
            "password",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/pin",
            Some(json!({"pin": "111111"})),
            422,
            "pin",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/pin",
            Some(json!({"pin": "987654"})),
            422,
            "pin",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/pin",
            Some(json!({"pin": "12a456"})),
            422,
            "pin",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/extensions/{extension_id}/pin",
            Some(json!({"pin": "12345"})),
            422,
            "pin",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/numbers",
            Some(json!({"e164": "030123456"})),
            422,
            "e164",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/numbers",
            Some(
                json!({"e164": "+4930999999", "extension_id": "00000000-0000-4000-8000-000000000000"}),
            ),
            422,
            "extension_id",
        ),
        c(
            "PUT",
            "/api/v1/tenants/{tenant_id}/numbers/{number_id}",
            Some(json!({"extension_id": "nope"})),
            422,
            "extension_id",
        ),
        c("DELETE", "/api/v1/tenants/{tenant_id}/numbers/7", None, 400, "number_id"),
        c("POST", "/api/v1/tokens", Some(json!({"name": ""})), 422, "name"),
        c("DELETE", "/api/v1/tokens/x", None, 400, "token_id"),
        c("POST", "/api/v1/tenants/{tenant_id}/tokens", Some(json!({"name": "a\nb"})), 422, "name"),
        c("DELETE", "/api/v1/tenants/{tenant_id}/tokens/x", None, 400, "token_id"),
        c(
            "POST",
            "/api/v1/guard/rules",
            Some(json!({"action": "deny", "network": "300.1.2.3/8"})),
            422,
            "network",
        ),
        c(
            "POST",
            "/api/v1/guard/rules",
            Some(json!({"action": "block", "network": "192.0.2.0/24"})),
            422,
            "action",
        ),
        c(
            "POST",
            "/api/v1/guard/rules",
            Some(json!({"action": "deny", "network": "::ffff:192.0.2.0/120"})),
            422,
            "network",
        ),
        c(
            "POST",
            "/api/v1/guard/rules",
            Some(json!({"action": "deny", "network": "192.0.2.0/24", "note": "a\nb"})),
            422,
            "note",
        ),
        c("DELETE", "/api/v1/guard/rules/x", None, 400, "rule_id"),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/guard/rules",
            Some(json!({"action": "allow", "network": "10.0.0.0/8"})),
            422,
            "network",
        ),
        c(
            "POST",
            "/api/v1/tenants/{tenant_id}/guard/rules",
            Some(json!({"action": "deny", "network": "10.0.0.0/8", "scope": "global"})),
            422,
            "scope",
        ),
        c("DELETE", "/api/v1/tenants/{tenant_id}/guard/rules/x", None, 400, "rule_id"),
        c("DELETE", "/api/v1/guard/bans/not-a-key", None, 400, "key"),
        c("DELETE", "/api/v1/guard/bans/192.0.2.1", None, 404, ""),
        c("DELETE", "/api/v1/tenants/{tenant_id}/guard/bans/1001@x@", None, 400, "key"),
        c("DELETE", "/api/v1/tenants/{tenant_id}/guard/bans/192.0.2.1", None, 404, ""),
        // Takes no input; without running trunks (no config file to read) it changes
        // nothing and says why.
        c("POST", "/api/v1/trunks/reload", None, 409, ""),
        // Not JSON at all, and JSON with a syntax error.
        c("POST", "/api/v1/tenants", None, 415, ""),
    ]
}

async fn invalid_input(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let other = root
        .client
        .post("/api/v1/super-admins", json!({"email": "root2@example.com"}))
        .await
        .expect(201)
        .json();
    let t = tenant(&mut root.client, "Acme", "acme.example").await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let user = tenant_user(&server, &mut root.client, &tid, "user@acme.example", "user").await;
    let e = root
        .client
        .post(&format!("/api/v1/tenants/{tid}/extensions"), json!({"number": "1001"}))
        .await
        .expect(201)
        .json();
    let n = root
        .client
        .post(&format!("/api/v1/tenants/{tid}/numbers"), json!({"e164": "+4930123456"}))
        .await
        .expect(201)
        .json();
    let fill = |p: &str| {
        p.replace("{tenant_id}", &tid)
            .replace("{user_id}", user.user["id"].as_str().unwrap())
            .replace("{extension_id}", e["extension"]["id"].as_str().unwrap())
            .replace("{number_id}", n["id"].as_str().unwrap())
            .replace("{super_admin_id}", other["user"]["id"].as_str().unwrap())
    };

    // Every documented write operation has at least one case.
    let doc = root.client.get("/api/v1/openapi.json").await.expect(200).json();
    let mut writes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method != "get" {
                writes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let cases = cases();
    let mut covered = BTreeSet::new();
    for case in &cases {
        let path = case.path.to_owned();
        // Map a concrete malformed id back to its template.
        for (m, p) in &writes {
            let pattern: Vec<&str> = p.split('/').collect();
            let actual: Vec<&str> = path.split('/').collect();
            let same = m == case.method
                && pattern.len() == actual.len()
                && pattern.iter().zip(&actual).all(|(a, b)| a.starts_with('{') || a == b);
            if same {
                covered.insert((m.clone(), p.clone()));
            }
        }
    }
    let missing: Vec<_> = writes.difference(&covered).collect();
    assert!(missing.is_empty(), "write operations without an invalid-input case: {missing:?}");

    let baseline = server.db.dump().await;
    for case in &cases {
        if case.status == 0 {
            continue;
        }
        let path = fill(case.path);
        let body = case.body.as_ref().map(|b| {
            serde_json::from_str::<Value>(&b.to_string().replace("{password}", &root.password))
                .unwrap()
        });
        let res = match (&body, case.status) {
            (None, 415) => {
                let form = Some(b"name=x".to_vec());
                root.client
                    .send_typed(
                        case.method,
                        &path,
                        form,
                        Some("application/x-www-form-urlencoded"),
                        true,
                    )
                    .await
            }
            _ => root.client.send(case.method, &path, body.as_ref()).await,
        };
        assert_eq!(res.status, case.status, "{} {path} {body:?}: {}", case.method, res.text());
        if !case.field.is_empty() {
            assert_eq!(
                res.field().as_deref(),
                Some(case.field),
                "{} {path}: {}",
                case.method,
                res.text()
            );
        }
        assert!(!res.json()["message"].as_str().unwrap_or_default().is_empty());
        assert_eq!(server.db.dump().await, baseline, "{} {path} changed the database", case.method);
    }
    // Malformed JSON: 400.
    let r =
        root.client.send_raw("POST", "/api/v1/tenants", Some(b"{\"name\":".to_vec()), true).await;
    assert_eq!(r.status, 400);
    // Too large: 413.
    let big = json!({"name": "x".repeat(70_000), "domain": "big.example"});
    assert_eq!(root.client.post("/api/v1/tenants", big).await.status, 413);
    assert_eq!(server.db.dump().await, baseline);
    // The PIN case above (extension number 2001, PIN 200120) is valid: a control that the
    // table's PIN failures are about the PIN, and that the extension row appears only then.
    root.client
        .post(
            &format!("/api/v1/tenants/{tid}/extensions"),
            json!({"number": "2001", "pin": "200120"}),
        )
        .await
        .expect(201);
    assert_ne!(server.db.dump().await, baseline);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_names_the_field_and_changes_nothing_sqlite() {
    invalid_input(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_names_the_field_and_changes_nothing_postgres() {
    invalid_input(Backend::Postgres).await;
}
