//! Calling rules: a tenant's platform overrides, an extension's restrictions and call
//! forwarding; stored, audited, scoped to the tenant, validated before anything is written.

use ringfence_store::*;

use crate::harness::*;

async fn calling_rules_stored_and_scoped(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "one.example.com").await;
    let other = tenant(s, "two.example.com").await;
    assert_eq!(t.overrides, PlatformOverrides::default());

    // Overrides: stored, audited, and updated_at moves (the gate recompiles its policy).
    let before = audit_len(s).await;
    let o = PlatformOverrides { allow_premium_rate: true, ..Default::default() };
    let changed = s.set_platform_overrides(t.id, o, &actor()).await.unwrap();
    assert!(changed.overrides.allow_premium_rate);
    assert!(changed.updated_at >= t.updated_at);
    assert_eq!(s.get_tenant(t.id).await.unwrap().unwrap().overrides, o);
    assert_eq!(
        s.get_tenant(other.id).await.unwrap().unwrap().overrides,
        PlatformOverrides::default()
    );
    assert_eq!(audit_len(s).await, before + 1);
    // Settings changes keep them.
    let kept = s.update_tenant_settings(t.id, changed.settings.clone(), &actor()).await.unwrap();
    assert_eq!(kept.overrides, o);

    // Restrictions and forwarding.
    let e = extension(s, &t, "1001").await;
    assert!(e.restrictions.is_unrestricted() && e.forwarding.is_off());
    let r = CallingRestrictions {
        domestic_only: true,
        only_countries: Some([CountryCode::parse("GB").unwrap()].into_iter().collect()),
        denied_paths: [CallPath::Forward, CallPath::Transfer].into_iter().collect(),
    };
    let x = s.set_calling_restrictions(t.id, e.id, &r, &actor()).await.unwrap();
    assert_eq!(x.restrictions, r);
    let f = CallForwarding {
        busy: Some("+442079460958".into()),
        no_answer: Some("1002".into()),
        no_answer_seconds: 15,
        ..Default::default()
    };
    let x = s.set_call_forwarding(t.id, e.id, &f, &actor()).await.unwrap();
    assert_eq!((x.restrictions.clone(), x.forwarding.clone()), (r.clone(), f.clone()));
    let read = s.get_extension(t.id, e.id).await.unwrap().unwrap();
    assert_eq!((read.restrictions, read.forwarding), (r.clone(), f.clone()));
    let by_number = s.get_extension_by_number(t.id, &e.number).await.unwrap().unwrap();
    assert_eq!(by_number.forwarding, f);

    // Another tenant's id changes nothing; bad input is refused and changes nothing.
    let err = s.set_call_forwarding(other.id, e.id, &CallForwarding::default(), &actor()).await;
    assert!(matches!(err, Err(StoreError::NotFound { .. })), "{err:?}");
    let err =
        s.set_calling_restrictions(other.id, e.id, &CallingRestrictions::default(), &actor()).await;
    assert!(matches!(err, Err(StoreError::NotFound { .. })), "{err:?}");
    let bad = CallForwarding { always: Some("sip:x@y".into()), ..Default::default() };
    let err = s.set_call_forwarding(t.id, e.id, &bad, &actor()).await;
    assert!(matches!(err, Err(StoreError::Invalid { field: "always", .. })), "{err:?}");
    assert_eq!(s.get_extension(t.id, e.id).await.unwrap().unwrap().forwarding, f);
    let err =
        s.set_platform_overrides(TenantId::random(), PlatformOverrides::default(), &actor()).await;
    assert!(matches!(err, Err(StoreError::NotFound { .. })), "{err:?}");
}

both_backends!(calling_rules_stored_and_scoped);
