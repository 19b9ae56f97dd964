//! End-to-end API tests over real HTTPS, on SQLite and PostgreSQL: login with TOTP, code
//! reuse, CSRF, API tokens, throttling and lockout, and the main resources.

use crate::common;

use common::*;
use ringfence_admin::AdminConfig;
use ringfence_admin::auth::throttle::LockoutPolicy;
use ringfence_store::{
    CallDirection, CallRecordRepo as _, Disposition, ExtensionId, ExtensionRepo as _,
    NewCallRecord, TenantId, Transport,
};
use serde_json::json;

async fn login_flow_with_totp(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, one_time) = ringfence_admin::provision::bootstrap_super_admin(
        server.store(),
        "root@example.com",
        false,
        &ringfence_store::Actor::system("test"),
    )
    .await
    .unwrap();
    let mut c = server.client();
    // Nothing without a session.
    assert_eq!(c.get("/api/v1/me").await.expect(401).code(), "unauthenticated");
    let r = c.login("root@example.com", &one_time, None).await.expect(200);
    let body = r.json();
    assert_eq!(body["password_change_required"], true);
    assert_eq!(body["totp_enrollment_required"], true);
    let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap().to_owned();
    for attr in ["__Host-rf_session=", "Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "cookie {cookie} lacks {attr}");
    }
    let sid = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
    assert_eq!(sid.len(), 43, "256-bit session id in base64url");
    // Gated until the password is changed, then until TOTP is enrolled.
    assert_eq!(c.get("/api/v1/me").await.expect(403).code(), "password_change_required");
    assert_eq!(c.get("/api/v1/tenants").await.expect(403).code(), "password_change_required");
    let weak = c
        .post(
            "/api/v1/auth/password",
            json!({"current_password": one_time.as_str(), "new_password": "password123456"}),
        )
        .await
        .expect(422);
    assert_eq!(weak.field().as_deref(), Some("new_password"));
    let wrong = c
        .post("/api/v1/auth/password", json!({"current_password": "nope", "new_password": STRONG}))
        .await
        .expect(422);
    assert_eq!(wrong.field().as_deref(), Some("current_password"));
    c.post(
        "/api/v1/auth/password",
        json!({"current_password": one_time.as_str(), "new_password": STRONG}),
    )
    .await
    .expect(204);
    assert_eq!(c.get("/api/v1/me").await.expect(403).code(), "totp_enrollment_required");
    let e = c.post("/api/v1/auth/totp/enroll", json!({})).await.expect(200).json();
    let url = e["otpauth_url"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/Ringfence:root%40example.com?secret="), "{url}");
    let mut totp = Totp::from_base32(e["secret_base32"].as_str().unwrap());
    let bad = c.post("/api/v1/auth/totp/confirm", json!({"code": "000000x"})).await.expect(422);
    assert_eq!(bad.field().as_deref(), Some("code"));
    let code = totp.next_code().await;
    c.post("/api/v1/auth/totp/confirm", json!({"code": code})).await.expect(204);
    // Confirming again (or enrolling again) is refused.
    assert_eq!(
        c.post("/api/v1/auth/totp/enroll", json!({})).await.expect(409).code(),
        "totp_already_enrolled"
    );
    let me = c.get("/api/v1/me").await.expect(200).json();
    assert_eq!(me["role"], "super_admin");
    assert_eq!(me["via"], "session");
    c.post("/api/v1/auth/logout", json!({})).await.expect(204);
    assert!(c.cookie.is_none());
    assert_eq!(c.get("/api/v1/me").await.expect(401).code(), "unauthenticated");

    // Now login needs the TOTP code; a used code is refused.
    let mut c = server.client();
    assert_eq!(c.login("root@example.com", STRONG, None).await.expect(401).code(), "totp_required");
    let used = totp.used_code();
    assert_eq!(
        c.login("root@example.com", STRONG, Some(&used)).await.expect(401).code(),
        "invalid_totp"
    );
    assert_eq!(
        c.login("root@example.com", STRONG, Some("123")).await.expect(401).code(),
        "invalid_totp"
    );
    let code = totp.next_code().await;
    let r = c.login("root@example.com", STRONG, Some(&code)).await.expect(200).json();
    assert_eq!(r["password_change_required"], false);
    assert_eq!(r["totp_enrollment_required"], false);
    // The same code again: replay.
    let mut c2 = server.client();
    assert_eq!(
        c2.login("root@example.com", STRONG, Some(&code)).await.expect(401).code(),
        "invalid_totp"
    );
    c.get("/api/v1/me").await.expect(200);

    // CSRF: a cookie-authenticated write without (or with a wrong) token is refused and
    // changes nothing; with the token it works.
    let before = server.db.dump().await;
    let body = json!({"name": "Acme", "domain": "acme.example"});
    let r = c.send_raw("POST", "/api/v1/tenants", Some(body.to_string().into_bytes()), false).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "csrf_token_invalid");
    let saved = c.csrf.replace("wrong".into());
    assert_eq!(
        c.post("/api/v1/tenants", body.clone()).await.expect(403).code(),
        "csrf_token_invalid"
    );
    c.csrf = saved;
    assert_eq!(server.db.dump().await, before);
    let t = c.post("/api/v1/tenants", body).await.expect(201).json();
    assert_eq!(t["settings"]["general"]["encryption"], "required");
    assert_eq!(t["settings"]["calling"]["international_calling"], false);
    // Reads need no CSRF token.
    c.send_raw("GET", "/api/v1/tenants", None, false).await.expect(200);

    // API tokens: shown once, hashed, not subject to CSRF, revocable.
    let created = c.post("/api/v1/tokens", json!({"name": "ci"})).await.expect(201).json();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rft_") && token.len() == 47);
    let mut tc = c.with_bearer(&token);
    let me = tc.get("/api/v1/me").await.expect(200).json();
    assert_eq!(me["via"], "token");
    assert_eq!(me["role"], "super_admin");
    tc.post("/api/v1/tenants", json!({"name": "Beta", "domain": "beta.example"})).await.expect(201);
    let list = c.get("/api/v1/tokens").await.expect(200).text();
    assert!(!list.contains(&token), "token secret listed");
    let mut bad = c.with_bearer("rft_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    bad.get("/api/v1/me").await.expect(401);
    let id = created["info"]["id"].as_str().unwrap();
    let revoked = c.delete(&format!("/api/v1/tokens/{id}")).await.expect(200).json();
    assert!(revoked["revoked_at"].is_string());
    tc.get("/api/v1/me").await.expect(401);

    // A tenant admin token acts in its tenant only.
    let tid = t["id"].as_str().unwrap();
    let tt = c
        .post(&format!("/api/v1/tenants/{tid}/tokens"), json!({"name": "t"}))
        .await
        .expect(201)
        .json();
    let mut ttc = c.with_bearer(tt["token"].as_str().unwrap());
    assert_eq!(ttc.get("/api/v1/tenants").await.expect(200).json().as_array().unwrap().len(), 1);
    ttc.post("/api/v1/tenants", json!({"name": "Gamma", "domain": "gamma.example"}))
        .await
        .expect(403);

    // Audit: the chain verifies and records the logins.
    let v = c.get("/api/v1/audit/verify").await.expect(200).json();
    assert_eq!(v["intact"], true);
    let audit = c.get("/api/v1/audit?limit=1000").await.expect(200).text();
    for action in ["login.succeeded", "login.failed", "tenant.create"] {
        assert!(audit.contains(action), "audit lacks {action}");
    }
    assert!(!audit.contains(STRONG), "audit holds a password");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_flow_with_totp_sqlite() {
    login_flow_with_totp(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_flow_with_totp_postgres() {
    login_flow_with_totp(Backend::Postgres).await;
}

async fn throttling_and_lockout(backend: Backend) {
    let config = AdminConfig {
        account_lockout: LockoutPolicy { threshold: 3, ..LockoutPolicy::account_default() },
        ip_lockout: LockoutPolicy { threshold: 1000, ..LockoutPolicy::ip_default() },
        ..AdminConfig::default()
    };
    let server = TestServer::start_with(backend, config).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let t = tenant(&mut root.client, "Acme", "acme.example").await;
    let tid = t["id"].as_str().unwrap();
    let user = tenant_user(&server, &mut root.client, tid, "bob@acme.example", "user").await;

    let mut c = server.client();
    let wrong = c.login("bob@acme.example", "Wrong-Password-123", None).await.expect(401);
    let unknown = c.login("nobody@acme.example", "Wrong-Password-123", None).await.expect(401);
    let malformed = c.login("not an email", "x", None).await.expect(401);
    assert_eq!(wrong.body, unknown.body, "unknown email and wrong password look the same");
    assert_eq!(wrong.body, malformed.body);
    c.login("bob@acme.example", "Wrong-Password-123", None).await.expect(401);
    c.login("bob@acme.example", "Wrong-Password-123", None).await.expect(401);
    // Locked after 3 failures: the right password answers exactly like a wrong one.
    let locked = c.login("bob@acme.example", &user.password, None).await.expect(401);
    assert_eq!(locked.body, wrong.body);
    let stored = stored_user(&server, "bob@acme.example").await;
    assert!(stored.locked_until.is_some());
    assert_eq!(stored.failed_logins, 3);
    let audit = root.client.get(&format!("/api/v1/tenants/{tid}/audit")).await.expect(200).text();
    assert!(audit.contains("login.failed"));
    assert!(audit.contains("login.account_locked"));
    assert!(audit.contains("login.refused_locked"));
    // The other session of the user is unaffected; the admin can see the lock.
    let u = root
        .client
        .get(&format!("/api/v1/tenants/{tid}/users/{}", stored.id))
        .await
        .expect(200)
        .json();
    assert!(u["locked_until"].is_string());
    server.stop().await;

    // Per source IP: after the threshold even a correct login from that IP is refused.
    let config = AdminConfig {
        account_lockout: LockoutPolicy { threshold: 1000, ..LockoutPolicy::account_default() },
        ip_lockout: LockoutPolicy { threshold: 3, ..LockoutPolicy::ip_default() },
        ..AdminConfig::default()
    };
    let server = TestServer::start_with(backend, config).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let t = tenant(&mut root.client, "Acme", "acme.example").await;
    let tid = t["id"].as_str().unwrap();
    let user = tenant_user(&server, &mut root.client, tid, "bob@acme.example", "user").await;
    let mut c = server.client();
    for i in 0..3 {
        c.login(&format!("scan{i}@acme.example"), "guess-guess-guess", None).await.expect(401);
    }
    let refused = c.login("bob@acme.example", &user.password, None).await.expect(401);
    assert_eq!(refused.code(), "invalid_credentials");
    let audit = root.client.get("/api/v1/audit?limit=1000").await.expect(200).text();
    assert!(audit.contains("login.ip_locked"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_lockout_sqlite() {
    throttling_and_lockout(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_lockout_postgres() {
    throttling_and_lockout(Backend::Postgres).await;
}

async fn resources(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let t = tenant(&mut root.client, "Acme", "acme.example").await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let mut admin =
        tenant_user(&server, &mut root.client, &tid, "ann@acme.example", "tenant_admin").await;
    let mut bob = tenant_user(&server, &mut admin.client, &tid, "bob@acme.example", "user").await;
    let a = &mut admin.client;
    let base = format!("/api/v1/tenants/{tid}");

    // Extension with a generated secret whose HA1s the store holds.
    let e = a
        .post(
            &format!("{base}/extensions"),
            json!({"number": "1001", "display_name": "Bob", "owner_user_id": bob.user["id"], "pin": "482915"}),
        )
        .await
        .expect(201)
        .json();
    let eid = e["extension"]["id"].as_str().unwrap().to_owned();
    let pw = e["sip"]["password"].as_str().unwrap().to_owned();
    assert_eq!(e["sip"]["username"], "1001");
    assert_eq!(e["sip"]["realm"], "acme.example");
    assert_eq!(pw.len(), 24);
    assert_eq!(e["extension"]["has_pin"], true);
    let tenant_id = TenantId(tid.parse().unwrap());
    let ext_id = ExtensionId(eid.parse().unwrap());
    let creds = server.store().get_sip_credentials(tenant_id, ext_id).await.unwrap().unwrap();
    let md5 = ringfence_sip_proto::digest::Ha1::md5("1001", "acme.example", &pw);
    let sha = ringfence_sip_proto::digest::Ha1::sha256("1001", "acme.example", &pw);
    assert_eq!(creds.md5_ha1().as_slice(), md5.as_bytes());
    assert_eq!(creds.sha256_ha1().as_slice(), sha.as_bytes());
    let other =
        a.post(&format!("{base}/extensions"), json!({"number": "1002"})).await.expect(201).json();
    let other_id = other["extension"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a.post(&format!("{base}/extensions"), json!({"number": "1002"})).await.expect(409).code(),
        "already_exists"
    );

    // The user sees and manages only their own extension.
    let mine = bob.client.get(&format!("{base}/extensions")).await.expect(200).json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    bob.client.get(&format!("{base}/extensions/{other_id}")).await.expect(404);
    bob.client
        .put(&format!("{base}/extensions/{eid}/pin"), json!({"pin": "730196"}))
        .await
        .expect(204);
    bob.client
        .put(
            &format!("{base}/extensions/{eid}/sip-password"),
            json!({"password": "Trombone-Harbour-Quilt-58"}),
        )
        .await
        .expect(204);
    let creds = server.store().get_sip_credentials(tenant_id, ext_id).await.unwrap().unwrap();
    let md5 =
        ringfence_sip_proto::digest::Ha1::md5("1001", "acme.example", "Trombone-Harbour-Quilt-58");
    assert_eq!(creds.md5_ha1().as_slice(), md5.as_bytes());
    let reset = bob
        .client
        .post(&format!("{base}/extensions/{eid}/sip-password/reset"), json!({}))
        .await
        .expect(200)
        .json();
    assert_ne!(reset["password"], json!(pw));
    bob.client
        .patch(&format!("{base}/extensions/{eid}"), json!({"enabled": false}))
        .await
        .expect(403);
    let me = bob.client.get("/api/v1/me").await.expect(200).json();
    assert_eq!(me["extensions"].as_array().unwrap().len(), 1);

    // Disable, rename, unassign owner.
    let up = a
        .patch(
            &format!("{base}/extensions/{eid}"),
            json!({"enabled": false, "display_name": "Desk", "owner_user_id": null}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(up["enabled"], false);
    assert_eq!(up["owner_user_id"], json!(null));

    // Numbers.
    let n = a
        .post(&format!("{base}/numbers"), json!({"e164": "+4930123456", "extension_id": eid}))
        .await
        .expect(201)
        .json();
    let nid = n["id"].as_str().unwrap();
    let n2 = a
        .put(&format!("{base}/numbers/{nid}"), json!({"extension_id": null}))
        .await
        .expect(200)
        .json();
    assert_eq!(n2["extension_id"], json!(null));
    assert_eq!(
        a.get(&format!("{base}/numbers")).await.expect(200).json().as_array().unwrap().len(),
        1
    );

    // Settings sections.
    let s = a
        .put(
            &format!("{base}/settings/calling"),
            json!({"international_calling": true, "allowed_countries": ["fr", "AT"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(s["calling"]["allowed_countries"], json!(["AT", "FR"]));
    a.put(
        &format!("{base}/settings/inbound-blocks"),
        json!({"rules": [{"kind": "exact", "value": "+4912345"}, {"kind": "prefix", "value": "+882"}, {"kind": "anonymous"}]}),
    )
    .await
    .expect(200);
    let s = a
        .put(
            &format!("{base}/settings/device-networks"),
            json!({"networks": ["192.0.2.7/24", "2001:db8::1"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(s["device_networks"]["networks"], json!(["192.0.2.0/24", "2001:db8::1/128"]));
    // A webhook is its own signed resource; the old settings field refuses a value.
    let refused = a
        .put(
            &format!("{base}/settings/notifications"),
            json!({"emails": ["noc@acme.example"], "webhook_url": "https://hooks.acme.example/rf"}),
        )
        .await
        .expect(422);
    assert_eq!(refused.field().as_deref(), Some("webhook_url"));
    assert!(refused.text().contains("/webhook"), "{}", refused.text());
    a.put(&format!("{base}/settings/notifications"), json!({"emails": ["noc@acme.example"]}))
        .await
        .expect(200);
    a.put(
        &format!("{base}/settings/fraud-limits"),
        json!({"max_concurrent_calls_per_extension": 2, "max_concurrent_calls_per_tenant": 10,
               "max_calls_per_minute_per_extension": 5, "max_calls_per_minute_per_tenant": 30,
               "international_minutes_per_day": 60, "spend_cap_cents_per_day": 1000}),
    )
    .await
    .expect(200);
    a.put(
        &format!("{base}/settings/general"),
        json!({"home_country": "de", "encryption": "preferred",
               "business_hours": {"utc_offset_minutes": 60, "periods": [{"weekday": 1, "start_minute": 480, "end_minute": 1020}]}}),
    )
    .await
    .expect(200);
    let s = a
        .put(
            &format!("{base}/settings/credential-policy"),
            json!({"min_password_length": 14, "password_rotation_days": 90, "sip_secret_rotation_days": 1,
                   "pin_min_length": 6, "pin_rotation_days": 1, "require_user_totp": false}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(s["credential_policy"]["min_password_length"], 14);
    let all = a.get(&format!("{base}/settings")).await.expect(200).json();
    assert_eq!(all["general"]["encryption"], "preferred");

    // Call history: filters, pagination, CSV.
    let now = ringfence_store::now();
    for i in 0..5i64 {
        server
            .store()
            .insert_call_record(
                tenant_id,
                NewCallRecord {
                    call_id: format!("call-{i}@acme"),
                    caller: if i == 0 { "=HYPERLINK(\"x\")".into() } else { "1001".into() },
                    callee: "+33 1, \"quoted\"".into(),
                    direction: if i % 2 == 0 {
                        CallDirection::Outbound
                    } else {
                        CallDirection::Internal
                    },
                    started_at: now - time::Duration::minutes(10 - i),
                    answered_at: None,
                    ended_at: Some(now - time::Duration::minutes(9 - i)),
                    duration_s: 0,
                    disposition: if i == 4 { Disposition::Busy } else { Disposition::Answered },
                    sip_status: Some(200),
                    reason: Some("line1\nline2".into()),
                    transport: Transport::Tls,
                    encrypted: true,
                    from_extension_id: Some(ext_id),
                    to_extension_id: None,
                    // One outbound call left because 1001 forwarded it.
                    forwarded_by: (i == 2).then(|| "1001".into()),
                    forwarded_by_extension_id: (i == 2).then_some(ext_id),
                    forward_reason: (i == 2).then_some(ringfence_store::ForwardReason::NoAnswer),
                },
            )
            .await
            .unwrap();
    }
    let p1 = a.get(&format!("{base}/calls?limit=2")).await.expect(200).json();
    assert_eq!(p1["records"].as_array().unwrap().len(), 2);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2 = a.get(&format!("{base}/calls?limit=2&cursor={cursor}")).await.expect(200).json();
    assert_ne!(p1["records"][0]["id"], p2["records"][0]["id"]);
    let out = a.get(&format!("{base}/calls?direction=outbound")).await.expect(200).json();
    assert_eq!(out["records"].as_array().unwrap().len(), 3);
    // The forwarded call names the forwarding extension and why.
    let fwd = out["records"].as_array().unwrap().iter().find(|r| r["call_id"] == "call-2@acme");
    let fwd = fwd.expect("call-2");
    assert_eq!(fwd["forwarded_by"], "1001");
    assert_eq!(fwd["forwarded_by_extension_id"], eid.as_str());
    assert_eq!(fwd["forward_reason"], "no_answer");
    let plain = &out["records"].as_array().unwrap().iter().find(|r| r["call_id"] == "call-0@acme");
    assert!(plain.unwrap()["forwarded_by"].is_null());
    let busy = a
        .get(&format!("{base}/calls?disposition=busy&extension_id={eid}"))
        .await
        .expect(200)
        .json();
    assert_eq!(busy["records"].as_array().unwrap().len(), 1);
    let since = (now - time::Duration::minutes(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let recent = a
        .get(&format!("{base}/calls?since={}", since.replace('+', "%2B")))
        .await
        .expect(200)
        .json();
    assert_eq!(recent["records"].as_array().unwrap().len(), 2);
    assert_eq!(
        a.get(&format!("{base}/calls?direction=sideways")).await.expect(422).field().as_deref(),
        Some("direction")
    );
    assert_eq!(
        a.get(&format!("{base}/calls?since=yesterday")).await.expect(422).field().as_deref(),
        Some("since")
    );
    let csv = a.get(&format!("{base}/calls/export.csv")).await.expect(200);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text();
    assert!(text.starts_with("id,call_id,caller,callee,direction,"));
    assert_eq!(text.matches(",call-").count(), 5);
    // Quoted per RFC 4180, and guarded against spreadsheet formulas.
    assert!(text.contains("\"'+33 1, \"\"quoted\"\"\""), "{text}");
    assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{text}");
    assert!(text.contains("\"line1\nline2\""));
    assert!(text.contains(&format!(",1001,{eid},no_answer\r\n")), "{text}");
    // Bob no longer owns the extension: he sees no calls.
    let none = bob.client.get(&format!("{base}/calls")).await.expect(200).json();
    assert_eq!(none["records"].as_array().unwrap().len(), 0);

    // Expired secrets report (rotation 1 day): nothing is due yet; after the secret's
    // timestamp is moved two days back, the extension is listed.
    let rep = a.get(&format!("{base}/reports/expired-secrets")).await.expect(200).json();
    assert!(rep.as_array().unwrap().is_empty());
    server.db.age_secret(&eid, 2).await;
    let rep = a.get(&format!("{base}/reports/expired-secrets")).await.expect(200).json();
    assert_eq!(rep.as_array().unwrap().len(), 1);
    assert_eq!(rep[0]["number"], "1001");
    assert_eq!(rep[0]["sip_secret_expired"], true);
    assert_eq!(rep[0]["pin_expired"], false);

    // Password rotation (90 days, set above): a password older than that must be changed
    // before anything else; the user can still change it.
    let bob_id = bob.user["id"].as_str().unwrap().to_owned();
    bob.client.get("/api/v1/me").await.expect(200);
    server.db.age_password(&bob_id, 91).await;
    assert_eq!(bob.client.get("/api/v1/me").await.expect(403).code(), "password_change_required");
    bob.client
        .post(
            "/api/v1/auth/password",
            json!({"current_password": bob.password, "new_password": "Saffron-Glacier-Tundra-452"}),
        )
        .await
        .expect(204);
    bob.client.get("/api/v1/me").await.expect(200);
    // A tenant may require TOTP for plain users too.
    let a = &mut admin.client;
    a.put(
        &format!("{base}/settings/credential-policy"),
        json!({"min_password_length": 14, "password_rotation_days": 90, "sip_secret_rotation_days": 1,
               "pin_min_length": 6, "pin_rotation_days": 1, "require_user_totp": true}),
    )
    .await
    .expect(200);
    assert_eq!(bob.client.get("/api/v1/me").await.expect(403).code(), "totp_enrollment_required");
    let mut bob_totp = enroll(&mut bob.client).await;
    bob.client.get("/api/v1/me").await.expect(200);

    // Users: roles, password reset, TOTP reset, deletion; self-modification is refused.
    let bob_id = bob.user["id"].as_str().unwrap().to_owned();
    let r = a
        .put(&format!("{base}/users/{bob_id}/role"), json!({"role": "tenant_admin"}))
        .await
        .expect(200)
        .json();
    assert_eq!(r["role"], "tenant_admin");
    a.put(&format!("{base}/users/{bob_id}/role"), json!({"role": "super_admin"})).await.expect(403);
    let ann_id = admin.user["id"].as_str().unwrap().to_owned();
    let a = &mut admin.client;
    assert_eq!(
        a.delete(&format!("{base}/users/{ann_id}")).await.expect(409).code(),
        "cannot_modify_self"
    );
    let reset =
        a.post(&format!("{base}/users/{bob_id}/password"), json!({})).await.expect(200).json();
    let otp = reset["one_time_password"].as_str().unwrap().to_owned();
    bob.client.get("/api/v1/me").await.expect(401);
    let mut b2 = server.client();
    let code = bob_totp.next_code().await;
    b2.login("bob@acme.example", &otp, Some(&code)).await.expect(200);
    assert_eq!(b2.get("/api/v1/me").await.expect(403).code(), "password_change_required");
    a.delete(&format!("{base}/users/{bob_id}")).await.expect(204);
    b2.get("/api/v1/me").await.expect(401);
    let created = a
        .post(&format!("{base}/users"), json!({"email": "cy@acme.example", "role": "user"}))
        .await
        .expect(201)
        .json();
    assert_eq!(created["one_time_password"].as_str().unwrap().len(), 24);
    assert_eq!(created["user"]["must_change_password"], true);

    // Deletion of extension and numbers.
    a.delete(&format!("{base}/numbers/{nid}")).await.expect(204);
    a.delete(&format!("{base}/extensions/{other_id}")).await.expect(204);
    a.get(&format!("{base}/extensions/{other_id}")).await.expect(404);

    // Unknown routes and methods answer JSON.
    assert_eq!(a.get("/api/v1/nope").await.expect(404).code(), "not_found");
    assert_eq!(
        a.send("PATCH", "/api/v1/me", Some(&json!({}))).await.expect(405).code(),
        "method_not_allowed"
    );
    // The OpenAPI document is served.
    let doc = a.get("/api/v1/openapi.json").await.expect(200).json();
    assert_eq!(doc["openapi"], "3.1.0");

    // Super admin deletes the tenant: its admin's session ends.
    root.client.delete(&format!("/api/v1/tenants/{tid}")).await.expect(204);
    admin.client.get("/api/v1/me").await.expect(401);
    let v = root.client.get("/api/v1/audit/verify").await.expect(200).json();
    assert_eq!(v["intact"], true);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_sqlite() {
    resources(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_postgres() {
    resources(Backend::Postgres).await;
}
