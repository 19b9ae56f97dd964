//! Audit log: events per mutation, scoping, concurrency, tamper evidence, append-only
//! enforcement, and all-or-nothing transactions.

use std::sync::Arc;

use ringfence_store::*;
use serde_json::json;

use crate::harness::*;

fn entry(tenant: Option<TenantId>, n: usize) -> AuditEntry {
    AuditEntry {
        tenant_id: tenant,
        actor: Actor::user(UserId::random(), Some("192.0.2.55".parse().unwrap())),
        action: "login.failed".into(),
        target: format!("user:{n}"),
        detail: json!({ "attempt": n }),
    }
}

async fn audit_events_scoping_and_concurrent_appends(db: TestDb) {
    let s = &db.store;
    assert!(s.verify_audit_chain().await.unwrap().is_intact());
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let e = extension(s, &t1, "100").await;
    let ev = s.append_audit(entry(Some(t1.id), 0)).await.unwrap();
    assert_eq!(ev.detail, json!({ "attempt": 0, "source_ip": "192.0.2.55" }));

    let t1_events = s.list_audit(Some(t1.id), None, 100).await.unwrap();
    let actions: Vec<_> = t1_events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["login.failed", "extension.create", "tenant.create"]);
    assert_eq!(t1_events[1].target, format!("extension:{}", e.id));
    assert_eq!(t1_events[1].actor, "system:test");
    assert!(
        s.list_audit(Some(t2.id), None, 100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.tenant_id == Some(t2.id))
    );
    let all = s.list_audit(None, None, 100).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].seq == w[1].seq + 1 && w[0].prev_hash == w[1].hash));
    // Paging backwards.
    let older = s.list_audit(None, Some(all[1].seq), 100).await.unwrap();
    assert_eq!(older, all[2..].to_vec());

    // Concurrent appends from many tasks, mixed with audited mutations, stay one chain.
    let store = Arc::new(s.clone());
    let mut tasks = Vec::new();
    for n in 0..24 {
        let store = store.clone();
        let t = t1.clone();
        tasks.push(tokio::spawn(async move {
            if n % 4 == 0 {
                extension(&store, &t, &format!("{}", 200 + n)).await;
            } else {
                store.append_audit(entry(Some(t.id), n)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let report = s.verify_audit_chain().await.unwrap();
    assert_eq!(report, ChainReport { events_checked: 28, first_break: None });

    // Invalid entries are refused and leave no trace.
    let mut bad = entry(None, 1);
    bad.detail = json!([1, 2]);
    assert!(matches!(s.append_audit(bad).await, Err(StoreError::Invalid { field: "detail", .. })));
    let mut bad = entry(None, 1);
    bad.action = String::new();
    assert!(matches!(s.append_audit(bad).await, Err(StoreError::Invalid { field: "action", .. })));
    assert_eq!(audit_len(s).await, 28);
}

async fn verify_runs_alongside_appends_and_across_batches(db: TestDb) {
    let s = &db.store;
    let writer = {
        let store = s.clone();
        tokio::spawn(async move {
            for n in 0..300 {
                store.append_audit(entry(None, n)).await.unwrap();
            }
        })
    };
    // Verifying while events are appended never reports damage.
    let mut runs = 0;
    while !writer.is_finished() {
        let report = s.verify_audit_chain().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        runs += 1;
    }
    writer.await.unwrap();
    assert!(runs >= 1);
    // 300 events span several read batches.
    assert_eq!(
        s.verify_audit_chain().await.unwrap(),
        ChainReport { events_checked: 300, first_break: None }
    );
}

/// Bypasses the append-only trigger the way a database superuser could.
async fn disable_guard(db: &TestDb) {
    db.exec(
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;",
    )
    .await
    .unwrap();
}

async fn seed_events(s: &AnyStore, n: usize) {
    for i in 0..n {
        s.append_audit(entry(None, i)).await.unwrap();
    }
}

async fn audit_log_is_append_only(db: TestDb) {
    let s = &db.store;
    seed_events(s, 3).await;
    assert!(db.exec_both("UPDATE audit_events SET detail = '{}' WHERE seq = 2").await.is_err());
    assert!(db.exec_both("DELETE FROM audit_events WHERE seq = 2").await.is_err());
    assert!(db.exec_both("UPDATE audit_head SET seq = 1").await.is_err());
    assert!(db.exec_both("DELETE FROM audit_head").await.is_err());
    if db.kind == Kind::Postgres {
        assert!(db.exec_both("TRUNCATE audit_events").await.is_err());
    }
    assert_eq!(
        s.verify_audit_chain().await.unwrap(),
        ChainReport { events_checked: 3, first_break: None }
    );
}

async fn audit_verify_detects_a_changed_row(db: TestDb) {
    let s = &db.store;
    seed_events(s, 5).await;
    disable_guard(&db).await;
    db.exec_both(r#"UPDATE audit_events SET detail = '{"attempt":99}' WHERE seq = 3"#)
        .await
        .unwrap();
    let report = s.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_break, Some(ChainBreak { seq: 3, kind: BreakKind::ContentChanged }));
    assert_eq!(report.events_checked, 2);
}

async fn audit_verify_detects_a_deleted_row(db: TestDb) {
    let s = &db.store;
    seed_events(s, 5).await;
    disable_guard(&db).await;
    db.exec_both("DELETE FROM audit_events WHERE seq = 2").await.unwrap();
    let report = s.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_break, Some(ChainBreak { seq: 2, kind: BreakKind::Missing }));
}

async fn audit_verify_detects_a_cut_tail(db: TestDb) {
    let s = &db.store;
    seed_events(s, 5).await;
    disable_guard(&db).await;
    db.exec_both("DELETE FROM audit_events WHERE seq = 5").await.unwrap();
    let report = s.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_break, Some(ChainBreak { seq: 5, kind: BreakKind::HeadMismatch }));
    assert_eq!(report.events_checked, 4);
}

async fn audit_verify_detects_a_rehashed_row(db: TestDb) {
    let s = &db.store;
    seed_events(s, 5).await;
    // The forger changes row 3 and recomputes its own hash; row 4 no longer links to it.
    let ev = s.list_audit(None, Some(4), 1).await.unwrap().remove(0);
    assert_eq!(ev.seq, 3);
    let forged = r#"{"attempt":1000}"#;
    let canonical = AuditEvent::canonical_bytes(
        ev.seq,
        ev.at,
        ev.tenant_id,
        &ev.actor,
        &ev.action,
        &ev.target,
        forged,
    );
    let hash = AuditEvent::chain_hash(&ev.prev_hash, &canonical);
    disable_guard(&db).await;
    let sql = format!(
        "UPDATE audit_events SET detail = '{forged}', hash = {} WHERE seq = 3",
        hex_literal(&db, &hash.0)
    );
    db.exec_both(&sql).await.unwrap();
    let report = s.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_break, Some(ChainBreak { seq: 4, kind: BreakKind::LinkBroken }));
}

fn hex_literal(db: &TestDb, bytes: &[u8]) -> String {
    match db.kind {
        Kind::Sqlite => format!("X'{}'", hex::encode(bytes)),
        Kind::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

async fn failed_audit_rolls_back_the_change(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "one.example.com").await;
    let e = extension(s, &t, "100").await;
    db.exec(
        "CREATE TRIGGER test_fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END;",
        "CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'audit unavailable'; END; $$; \
         CREATE TRIGGER test_fail BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_fail();",
    )
    .await
    .unwrap();
    let new_tenant = NewTenant {
        name: "X".into(),
        domain: SipDomain::parse("x.example.com").unwrap(),
        settings: TenantSettings::new(CountryCode::parse("DE").unwrap()),
    };
    assert!(matches!(s.create_tenant(new_tenant, &actor()).await, Err(StoreError::Database(_))));
    assert_eq!(s.list_tenants().await.unwrap().len(), 1);
    let new_ext = NewExtension {
        number: ExtensionNumber::parse("101").unwrap(),
        display_name: String::new(),
        owner_user_id: None,
        enabled: true,
        sip_credentials: Some(creds(&t.domain, "101")),
        pin_hash: None,
    };
    assert!(s.create_extension(t.id, new_ext, &actor()).await.is_err());
    assert_eq!(s.list_extensions(t.id).await.unwrap(), vec![e.clone()]);
    assert!(s.set_sip_credentials(t.id, e.id, &creds(&t.domain, "new"), &actor()).await.is_err());
    assert_eq!(s.get_sip_credentials(t.id, e.id).await.unwrap(), Some(creds(&t.domain, "100")));
    assert!(s.delete_tenant(t.id, &actor()).await.is_err());
    assert_eq!(s.list_extensions(t.id).await.unwrap(), vec![e.clone()]);
    assert!(s.get_tenant(t.id).await.unwrap().is_some());
    db.exec("DROP TRIGGER test_fail;", "DROP TRIGGER test_fail ON audit_events;").await.unwrap();
    s.delete_tenant(t.id, &actor()).await.unwrap();
    assert_eq!(
        s.verify_audit_chain().await.unwrap(),
        ChainReport { events_checked: 3, first_break: None }
    );
}

both_backends!(
    audit_events_scoping_and_concurrent_appends,
    audit_log_is_append_only,
    verify_runs_alongside_appends_and_across_batches,
    audit_verify_detects_a_changed_row,
    audit_verify_detects_a_deleted_row,
    audit_verify_detects_a_cut_tail,
    audit_verify_detects_a_rehashed_row,
    failed_audit_rolls_back_the_change,
);
