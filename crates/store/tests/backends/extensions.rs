//! Extensions: CRUD, SIP credentials, scoping, conflicts.

use ringfence_store::*;

use crate::harness::*;

async fn extension_crud_and_credentials(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "one.example.com").await;
    let owner = user(s, Some(t.id), "owner@one.example.com", Role::User).await;
    let e = extension(s, &t, "1001").await;
    assert!(e.enabled && e.has_sip_credentials);
    assert!(e.secret_set_at.is_some() && e.pin_set_at.is_some());
    assert_eq!(e.pin_hash.as_deref(), Some(phc("cGlu").as_str()));
    assert_eq!(s.get_extension(t.id, e.id).await.unwrap(), Some(e.clone()));
    assert_eq!(s.get_extension_by_number(t.id, &e.number).await.unwrap(), Some(e.clone()));
    assert_eq!(s.get_sip_credentials(t.id, e.id).await.unwrap(), Some(creds(&t.domain, "1001")));

    // Without credentials.
    let bare = NewExtension {
        number: ExtensionNumber::parse("99").unwrap(),
        display_name: String::new(),
        owner_user_id: Some(owner.id),
        enabled: false,
        sip_credentials: None,
        pin_hash: None,
    };
    let b = s.create_extension(t.id, bare, &actor()).await.unwrap();
    assert!(!b.has_sip_credentials && b.secret_set_at.is_none() && b.pin_hash.is_none());
    assert_eq!(b.owner_user_id, Some(owner.id));
    assert_eq!(s.get_sip_credentials(t.id, b.id).await.unwrap(), None);
    let list: Vec<_> =
        s.list_extensions(t.id).await.unwrap().into_iter().map(|e| e.number.to_string()).collect();
    assert_eq!(list, ["99", "1001"]);

    // Partial updates.
    let upd = ExtensionUpdate {
        display_name: Some("Reception".into()),
        enabled: Some(false),
        owner_user_id: Some(Some(owner.id)),
    };
    let u = s.update_extension(t.id, e.id, upd, &actor()).await.unwrap();
    assert_eq!(
        (u.display_name.as_str(), u.enabled, u.owner_user_id),
        ("Reception", false, Some(owner.id))
    );
    let u = s
        .update_extension(
            t.id,
            e.id,
            ExtensionUpdate { enabled: Some(true), ..Default::default() },
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.display_name.as_str(), u.enabled, u.owner_user_id),
        ("Reception", true, Some(owner.id))
    );
    let u = s
        .update_extension(
            t.id,
            e.id,
            ExtensionUpdate { owner_user_id: Some(None), ..Default::default() },
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(u.owner_user_id, None);

    // New credentials and PIN.
    let new_creds = creds(&t.domain, "rotated");
    let rotated = s.set_sip_credentials(t.id, e.id, &new_creds, &actor()).await.unwrap();
    assert!(rotated.secret_set_at >= e.secret_set_at);
    assert_eq!(s.get_sip_credentials(t.id, e.id).await.unwrap(), Some(new_creds.clone()));
    let pinned = s.set_voicemail_pin(t.id, b.id, &phc("bmV3cGlu"), &actor()).await.unwrap();
    assert_eq!(pinned.pin_hash, Some(phc("bmV3cGlu")));
    assert!(pinned.pin_set_at.is_some());

    // The registrar's lookup.
    let acct = s.find_sip_account(&t.domain, &e.number).await.unwrap().unwrap();
    assert_eq!(acct.extension.id, e.id);
    assert_eq!(acct.credentials, Some(new_creds));
    let other_domain = SipDomain::parse("two.example.com").unwrap();
    assert_eq!(s.find_sip_account(&other_domain, &e.number).await.unwrap(), None);
    let missing = ExtensionNumber::parse("4242").unwrap();
    assert_eq!(s.find_sip_account(&t.domain, &missing).await.unwrap(), None);

    // Delete: numbers routed to it become unassigned.
    let n = s
        .create_number(t.id, &E164::parse("+4930123456").unwrap(), Some(e.id), &actor())
        .await
        .unwrap();
    s.delete_extension(t.id, e.id, &actor()).await.unwrap();
    assert_eq!(s.get_extension(t.id, e.id).await.unwrap(), None);
    assert_eq!(s.get_number(t.id, n.id).await.unwrap().unwrap().extension_id, None);
    assert!(matches!(
        s.delete_extension(t.id, e.id, &actor()).await,
        Err(StoreError::NotFound { what: "extension" })
    ));
}

async fn extension_scoping(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let e = extension(s, &t1, "1001").await;
    let before = audit_len(s).await;
    let nf = |r: Result<Extension>| matches!(r, Err(StoreError::NotFound { what: "extension" }));
    assert_eq!(s.get_extension(t2.id, e.id).await.unwrap(), None);
    assert_eq!(s.get_extension_by_number(t2.id, &e.number).await.unwrap(), None);
    assert!(s.list_extensions(t2.id).await.unwrap().is_empty());
    assert!(nf(s
        .update_extension(
            t2.id,
            e.id,
            ExtensionUpdate { enabled: Some(false), ..Default::default() },
            &actor()
        )
        .await));
    assert!(nf(s.set_sip_credentials(t2.id, e.id, &creds(&t2.domain, "x"), &actor()).await));
    assert!(nf(s.set_voicemail_pin(t2.id, e.id, &phc("eA"), &actor()).await));
    assert!(matches!(s.get_sip_credentials(t2.id, e.id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(
        s.delete_extension(t2.id, e.id, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(s.get_extension(t1.id, e.id).await.unwrap(), Some(e.clone()));
    assert_eq!(s.get_sip_credentials(t1.id, e.id).await.unwrap(), Some(creds(&t1.domain, "1001")));
    assert_eq!(audit_len(s).await, before);
}

async fn extension_conflicts_and_invalid_input(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let e = extension(s, &t1, "1001").await;
    // Same number in another tenant is fine; in the same tenant it conflicts.
    extension(s, &t2, "1001").await;
    let new = |owner, realm_of: &Tenant, pin: Option<String>| NewExtension {
        number: ExtensionNumber::parse("1002").unwrap(),
        display_name: "x".into(),
        owner_user_id: owner,
        enabled: true,
        sip_credentials: Some(creds(&realm_of.domain, "1002")),
        pin_hash: pin,
    };
    let dup = NewExtension { number: e.number.clone(), ..new(None, &t1, None) };
    let err = s.create_extension(t1.id, dup, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { what: "extension number" }), "{err:?}");

    let before = audit_len(s).await;
    let foreign = user(s, Some(t2.id), "u@two.example.com", Role::User).await;
    let after_user = audit_len(s).await;
    assert_eq!(after_user, before + 1);
    let err =
        s.create_extension(t1.id, new(Some(foreign.id), &t1, None), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "owner_user_id", .. }), "{err:?}");
    let err = s.create_extension(t1.id, new(None, &t2, None), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "realm", .. }), "{err:?}");
    let err = s
        .create_extension(t1.id, new(None, &t1, Some("123456".into())), &actor())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "pin_hash", .. }), "{err:?}");
    let err =
        s.create_extension(TenantId::random(), new(None, &t1, None), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "tenant" }), "{err:?}");
    let upd = ExtensionUpdate { owner_user_id: Some(Some(foreign.id)), ..Default::default() };
    let err = s.update_extension(t1.id, e.id, upd, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "owner_user_id", .. }), "{err:?}");
    let err =
        s.set_sip_credentials(t1.id, e.id, &creds(&t2.domain, "x"), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "realm", .. }), "{err:?}");

    // Nothing of the failed calls was stored.
    assert_eq!(s.list_extensions(t1.id).await.unwrap(), vec![e.clone()]);
    assert_eq!(s.get_sip_credentials(t1.id, e.id).await.unwrap(), Some(creds(&t1.domain, "1001")));
    assert_eq!(audit_len(s).await, after_user);
}

both_backends!(
    extension_crud_and_credentials,
    extension_scoping,
    extension_conflicts_and_invalid_input
);
