//! Perimeter guard entries: scoping, uniqueness, caps, validation, audit, cascade.

use ringfence_store::*;

use crate::harness::*;

fn rule(tenant: Option<TenantId>, action: GuardAction, net: &str) -> NewGuardRule {
    NewGuardRule { tenant_id: tenant, action, network: net.parse().unwrap(), note: "n".into() }
}

async fn guard_rules_scoping_and_audit(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let global = s
        .create_guard_rule(rule(None, GuardAction::Deny, "198.51.100.77/24"), &actor())
        .await
        .unwrap();
    assert_eq!(global.network.to_string(), "198.51.100.0/24", "host bits cleared");
    assert_eq!(global.tenant_id, None);
    let office = s
        .create_guard_rule(rule(Some(t1.id), GuardAction::Allow, "203.0.113.0/24"), &actor())
        .await
        .unwrap();
    let deny = s
        .create_guard_rule(rule(Some(t1.id), GuardAction::Deny, "2001:db8::/32"), &actor())
        .await
        .unwrap();
    // The same network in another scope is another entry; in the same scope a conflict,
    // whatever the action.
    s.create_guard_rule(rule(Some(t2.id), GuardAction::Allow, "203.0.113.0/24"), &actor())
        .await
        .unwrap();
    assert!(matches!(
        s.create_guard_rule(rule(Some(t1.id), GuardAction::Deny, "203.0.113.0/24"), &actor()).await,
        Err(StoreError::Conflict { what: "guard rule" })
    ));
    assert!(matches!(
        s.create_guard_rule(rule(None, GuardAction::Allow, "198.51.100.0/24"), &actor()).await,
        Err(StoreError::Conflict { what: "guard rule" })
    ));
    assert!(matches!(
        s.create_guard_rule(rule(Some(t1.id), GuardAction::Allow, "10.0.0.0/8"), &actor()).await,
        Err(StoreError::Invalid { field: "network", .. })
    ));
    assert!(matches!(
        s.create_guard_rule(
            rule(Some(TenantId::random()), GuardAction::Deny, "10.0.0.0/8"),
            &actor()
        )
        .await,
        Err(StoreError::NotFound { what: "tenant" })
    ));

    assert_eq!(s.list_guard_rules(None).await.unwrap(), vec![global.clone()]);
    assert_eq!(s.list_guard_rules(Some(t1.id)).await.unwrap(), vec![office.clone(), deny.clone()]);
    let all = s.all_guard_rules().await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0], (global.clone(), None), "global entries first");
    assert_eq!(all[1].1.as_ref().map(SipDomain::as_str), Some("one.example.com"));
    assert_eq!(all[3].1.as_ref().map(SipDomain::as_str), Some("two.example.com"));

    // Audit events in the tenant's scope.
    let events = s.list_audit(Some(t1.id), None, 10).await.unwrap();
    assert_eq!(events[0].action, "guard_rule.create");
    assert_eq!(events[0].target, format!("guard_rule:{}", deny.id));
    assert_eq!(events[0].detail["network"], "2001:db8::/32");

    // Another scope cannot delete it.
    assert!(matches!(
        s.delete_guard_rule(Some(t2.id), deny.id, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_guard_rule(None, deny.id, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));
    s.delete_guard_rule(Some(t1.id), deny.id, &actor()).await.unwrap();
    assert_eq!(s.list_guard_rules(Some(t1.id)).await.unwrap(), vec![office]);
    assert_eq!(s.list_audit(Some(t1.id), None, 1).await.unwrap()[0].action, "guard_rule.delete");
    assert!(s.verify_audit_chain().await.unwrap().is_intact());

    // Deleting a tenant takes its entries along.
    s.delete_tenant(t1.id, &actor()).await.unwrap();
    let all = s.all_guard_rules().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|(r, _)| r.tenant_id != Some(t1.id)));
}

async fn guard_rules_per_tenant_cap(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "cap.example.com").await;
    for i in 0..MAX_TENANT_GUARD_RULES {
        let net = format!("10.{}.{}.0/24", i / 256, i % 256);
        s.create_guard_rule(rule(Some(t.id), GuardAction::Deny, &net), &actor()).await.unwrap();
    }
    let before = audit_len(s).await;
    assert!(matches!(
        s.create_guard_rule(rule(Some(t.id), GuardAction::Deny, "192.0.2.0/24"), &actor()).await,
        Err(StoreError::Invalid { field: "network", .. })
    ));
    assert_eq!(audit_len(s).await, before, "a refused entry writes no audit event");
    // Global entries have their own room.
    s.create_guard_rule(rule(None, GuardAction::Deny, "192.0.2.0/24"), &actor()).await.unwrap();
}

both_backends!(guard_rules_scoping_and_audit, guard_rules_per_tenant_cap);
