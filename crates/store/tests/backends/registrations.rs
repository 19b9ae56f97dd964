//! Registration bindings: refresh, removal, expiry, scoping, and surviving a restart.

use ringfence_store::*;
use time::Duration;

use crate::harness::*;

fn binding(t: &Tenant, e: &Extension, contact: &str, expires_in: Duration) -> RegistrationBinding {
    RegistrationBinding {
        tenant_id: t.id,
        extension_id: e.id,
        contact_uri: contact.to_owned(),
        source: "[2001:db8::7]:40123".parse().unwrap(),
        transport: Transport::Tls,
        expires_at: now() + expires_in,
        call_id: "a84b4c76e66710".into(),
        cseq: 314159,
        instance_id: Some("<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>".into()),
        reg_id: Some(1),
        user_agent: Some("baresip".into()),
        path: vec!["<sip:edge.example.com;lr>".into()],
    }
}

async fn bindings_refresh_remove_expire_and_survive_reopen(mut db: TestDb) {
    let s = db.store.clone();
    let t = tenant(&s, "one.example.com").await;
    let t2 = tenant(&s, "two.example.com").await;
    let e = extension(&s, &t, "100").await;
    let e2 = extension(&s, &t, "101").await;
    let first = binding(&t, &e, "sip:100@192.0.2.1:5061;transport=tls", Duration::hours(1));
    s.upsert_binding(&first).await.unwrap();
    assert_eq!(s.list_bindings(t.id, e.id, now()).await.unwrap(), vec![first.clone()]);

    // Refresh: same contact replaces the binding.
    let mut refreshed = first.clone();
    refreshed.cseq += 1;
    refreshed.expires_at = now() + Duration::hours(2);
    refreshed.source = "198.51.100.4:5061".parse().unwrap();
    refreshed.path = vec![];
    refreshed.instance_id = None;
    refreshed.reg_id = None;
    s.upsert_binding(&refreshed).await.unwrap();
    assert_eq!(s.list_bindings(t.id, e.id, now()).await.unwrap(), vec![refreshed.clone()]);

    // A second contact, an expired one, and one for another extension.
    let second = binding(&t, &e, "sip:100@192.0.2.2:5061;transport=tls", Duration::minutes(30));
    let expired = binding(&t, &e, "sip:100@192.0.2.3:5061;transport=tls", Duration::seconds(-5));
    let other = binding(&t, &e2, "sip:101@192.0.2.9:5061;transport=tls", Duration::hours(1));
    for b in [&second, &expired, &other] {
        s.upsert_binding(b).await.unwrap();
    }
    let live = s.list_bindings(t.id, e.id, now()).await.unwrap();
    assert_eq!(live, vec![refreshed.clone(), second.clone()]);

    // Restart: every binding is still there.
    db.reopen().await;
    let s = db.store.clone();
    assert_eq!(s.list_bindings(t.id, e.id, now()).await.unwrap(), live);
    assert_eq!(s.active_bindings(now()).await.unwrap().len(), 3);

    // Scoping: another tenant can neither see, add nor remove these.
    assert!(s.list_bindings(t2.id, e.id, now()).await.unwrap().is_empty());
    assert!(!s.remove_binding(t2.id, e.id, &second.contact_uri).await.unwrap());
    assert_eq!(s.remove_bindings(t2.id, e.id).await.unwrap(), 0);
    let mut hijack = second.clone();
    hijack.tenant_id = t2.id;
    hijack.expires_at = now() + Duration::days(1);
    assert!(matches!(
        s.upsert_binding(&hijack).await,
        Err(StoreError::NotFound { what: "extension" })
    ));
    let mut new_hijack = hijack.clone();
    new_hijack.contact_uri = "sip:evil@203.0.113.1".into();
    assert!(matches!(
        s.upsert_binding(&new_hijack).await,
        Err(StoreError::NotFound { what: "extension" })
    ));
    assert_eq!(s.list_bindings(t.id, e.id, now()).await.unwrap(), live);

    // Invalid input.
    let mut bad = second.clone();
    bad.contact_uri = "sip:x\r\nVia: evil".into();
    assert!(matches!(
        s.upsert_binding(&bad).await,
        Err(StoreError::Invalid { field: "contact_uri", .. })
    ));

    // Removal and purge.
    assert!(s.remove_binding(t.id, e.id, &second.contact_uri).await.unwrap());
    assert!(!s.remove_binding(t.id, e.id, &second.contact_uri).await.unwrap());
    assert_eq!(s.purge_expired_bindings(now()).await.unwrap(), 1);
    assert_eq!(s.remove_bindings(t.id, e.id).await.unwrap(), 1);
    assert!(s.list_bindings(t.id, e.id, now()).await.unwrap().is_empty());
    // Deleting the extension removes its bindings.
    s.delete_extension(t.id, e2.id, &actor()).await.unwrap();
    assert!(s.active_bindings(now()).await.unwrap().is_empty());
}

/// The registrar's group commit: many changes in one transaction, a change for a foreign or
/// vanished extension skipped alone, an invalid one refused alone, order kept.
async fn binding_batches_apply_in_one_transaction(mut db: TestDb) {
    let s = db.store.clone();
    let t = tenant(&s, "one.example.com").await;
    let t2 = tenant(&s, "two.example.com").await;
    let e = extension(&s, &t, "100").await;
    let gone = extension(&s, &t, "102").await;
    s.delete_extension(t.id, gone.id, &actor()).await.unwrap();

    let a = binding(&t, &e, "sip:100@192.0.2.1:5061;transport=tls", Duration::hours(1));
    let mut a2 = a.clone();
    a2.cseq += 1;
    let b = binding(&t, &e, "sip:100@192.0.2.2:5061;transport=tls", Duration::hours(1));
    let mut foreign = b.clone();
    foreign.tenant_id = t2.id;
    foreign.contact_uri = "sip:evil@203.0.113.1".into();
    let vanished = binding(&t, &gone, "sip:102@192.0.2.5", Duration::hours(1));
    let mut bad = b.clone();
    bad.contact_uri = String::new();
    let c = binding(&t, &e, "sip:100@192.0.2.3:5061;transport=tls", Duration::hours(1));

    let changes = vec![
        BindingChange::Upsert(a.clone()),
        BindingChange::Upsert(b.clone()),
        BindingChange::Upsert(foreign),
        BindingChange::Upsert(vanished),
        BindingChange::Upsert(bad),
        BindingChange::Upsert(a2.clone()),
        BindingChange::Upsert(c.clone()),
        BindingChange::Remove { tenant: t.id, extension: e.id, contact_uri: c.contact_uri.clone() },
        BindingChange::Remove {
            tenant: t.id,
            extension: e.id,
            contact_uri: "sip:never@192.0.2.99".into(),
        },
    ];
    let results = s.apply_binding_changes(&changes).await.unwrap();
    assert_eq!(results.len(), changes.len());
    assert!(results[0].is_ok() && results[1].is_ok());
    assert!(matches!(results[2], Err(StoreError::NotFound { what: "extension" })));
    assert!(matches!(results[3], Err(StoreError::NotFound { what: "extension" })));
    assert!(matches!(results[4], Err(StoreError::Invalid { field: "contact_uri", .. })));
    assert!(results[5..].iter().all(Result::is_ok));

    // Order kept: the refresh replaced the first, the last contact was added then removed.
    db.reopen().await;
    let s = db.store.clone();
    assert_eq!(s.list_bindings(t.id, e.id, now()).await.unwrap(), vec![a2, b]);
    assert_eq!(s.active_bindings(now()).await.unwrap().len(), 2);
    assert!(s.apply_binding_changes(&[]).await.unwrap().is_empty());
}

/// A batch larger than one multi-row statement: every change applied, per-change results
/// kept in place across statement boundaries, removes after upserts of the same binding.
async fn large_binding_batches_span_statements(mut db: TestDb) {
    let s = db.store.clone();
    let t = tenant(&s, "big.example.com").await;
    let t2 = tenant(&s, "other.example.com").await;
    let e = extension(&s, &t, "100").await;
    let f = extension(&s, &t2, "200").await;
    let mut changes = Vec::new();
    for i in 0..450 {
        let contact = format!("sip:100@192.0.2.{}:{}", i % 250, 5000 + i);
        changes.push(BindingChange::Upsert(binding(&t, &e, &contact, Duration::hours(1))));
    }
    // Index 450: another tenant's extension claimed by this tenant: refused alone.
    let mut foreign = binding(&t2, &f, "sip:200@198.51.100.1", Duration::hours(1));
    foreign.tenant_id = t.id;
    changes.push(BindingChange::Upsert(foreign));
    // Remove every third one added above, then re-add the first (order kept).
    for i in (0..450).step_by(3) {
        let contact = format!("sip:100@192.0.2.{}:{}", i % 250, 5000 + i);
        changes.push(BindingChange::Remove { tenant: t.id, extension: e.id, contact_uri: contact });
    }
    changes.push(BindingChange::Upsert(binding(
        &t,
        &e,
        "sip:100@192.0.2.0:5000",
        Duration::hours(1),
    )));
    let results = s.apply_binding_changes(&changes).await.unwrap();
    assert_eq!(results.len(), changes.len());
    for (i, r) in results.iter().enumerate() {
        if i == 450 {
            assert!(matches!(r, Err(StoreError::NotFound { what: "extension" })), "{r:?}");
        } else {
            assert!(r.is_ok(), "change {i}: {r:?}");
        }
    }
    db.reopen().await;
    let s = db.store.clone();
    let kept = s.list_bindings(t.id, e.id, now()).await.unwrap();
    assert_eq!(kept.len(), 450 - 150 + 1);
    assert!(kept.iter().any(|b| b.contact_uri == "sip:100@192.0.2.0:5000"));
    assert!(!kept.iter().any(|b| b.contact_uri == "sip:100@192.0.2.3:5003"));
    assert!(s.list_bindings(t2.id, f.id, now()).await.unwrap().is_empty());
}

both_backends!(
    bindings_refresh_remove_expire_and_survive_reopen,
    binding_batches_apply_in_one_transaction,
    large_binding_batches_span_statements
);
