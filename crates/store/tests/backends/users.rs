//! Users: CRUD, tenant scoping, login state and TOTP.

use std::sync::Arc;

use ringfence_store::*;

use crate::harness::*;

async fn user_crud_and_scoping(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let admin = user(s, Some(t1.id), "Admin@One.Example.com", Role::TenantAdmin).await;
    assert_eq!(admin.email.as_str(), "admin@one.example.com");
    let plain = user(s, Some(t2.id), "user@two.example.com", Role::User).await;
    let root = user(s, None, "root@platform.example.com", Role::SuperAdmin).await;

    assert_eq!(s.get_user(Some(t1.id), admin.id).await.unwrap(), Some(admin.clone()));
    assert_eq!(s.get_user(Some(t2.id), admin.id).await.unwrap(), None);
    assert_eq!(s.get_user(None, admin.id).await.unwrap(), None);
    assert_eq!(s.get_user(None, root.id).await.unwrap(), Some(root.clone()));
    assert_eq!(s.get_user(Some(t1.id), root.id).await.unwrap(), None);
    assert_eq!(
        s.find_user_by_email(&Email::parse("ADMIN@one.example.com").unwrap()).await.unwrap(),
        Some(admin.clone())
    );
    let list: Vec<_> = s.list_users(Some(t1.id)).await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(list, vec![admin.id]);
    let list: Vec<_> = s.list_users(None).await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(list, vec![root.id]);

    // Another tenant's id: NotFound, nothing changes.
    let before = audit_len(s).await;
    let nf = |r: Result<User>| matches!(r, Err(StoreError::NotFound { what: "user" }));
    assert!(nf(s.set_user_role(Some(t2.id), admin.id, Role::User, &actor()).await));
    assert!(nf(s.set_user_password(Some(t2.id), admin.id, &phc("bmV3"), true, &actor()).await));
    assert!(matches!(
        s.delete_user(Some(t2.id), admin.id, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.record_login_failure(Some(t2.id), admin.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_totp_secret(Some(t2.id), admin.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(s.get_user(Some(t1.id), admin.id).await.unwrap(), Some(admin.clone()));
    assert_eq!(audit_len(s).await, before);

    // Updates in scope.
    let changed = s.set_user_role(Some(t1.id), admin.id, Role::User, &actor()).await.unwrap();
    assert_eq!(changed.role, Role::User);
    let changed =
        s.set_user_password(Some(t1.id), admin.id, &phc("bmV3"), true, &actor()).await.unwrap();
    assert_eq!(changed.password_hash, phc("bmV3"));
    assert!(changed.must_change_password);
    assert!(changed.password_set_at >= admin.password_set_at);

    // Role and scope must fit.
    let err = s.set_user_role(Some(t1.id), admin.id, Role::SuperAdmin, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "role", .. }), "{err:?}");
    let err = s.set_user_role(None, root.id, Role::TenantAdmin, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "tenant_id", .. }), "{err:?}");
    let bad = NewUser {
        tenant_id: Some(t1.id),
        email: Email::parse("x@one.example.com").unwrap(),
        role: Role::SuperAdmin,
        password_hash: phc("aA"),
        must_change_password: false,
    };
    assert!(matches!(s.create_user(bad.clone(), &actor()).await, Err(StoreError::Invalid { .. })));
    let weak = NewUser { role: Role::User, password_hash: "plaintext".into(), ..bad.clone() };
    assert!(matches!(
        s.create_user(weak, &actor()).await,
        Err(StoreError::Invalid { field: "password_hash", .. })
    ));
    let orphan = NewUser { role: Role::User, tenant_id: Some(TenantId::random()), ..bad.clone() };
    assert!(matches!(
        s.create_user(orphan, &actor()).await,
        Err(StoreError::NotFound { what: "tenant" })
    ));

    // Emails are unique across tenants.
    let dup = NewUser {
        role: Role::User,
        tenant_id: Some(t2.id),
        email: Email::parse("ADMIN@one.example.com").unwrap(),
        ..bad
    };
    let err = s.create_user(dup, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { what: "user email" }), "{err:?}");
    assert_eq!(s.list_users(Some(t2.id)).await.unwrap().len(), 1);

    // Deleting a user frees the extensions they owned.
    let ext = extension(s, &t2, "200").await;
    let upd = ExtensionUpdate { owner_user_id: Some(Some(plain.id)), ..Default::default() };
    s.update_extension(t2.id, ext.id, upd, &actor()).await.unwrap();
    s.delete_user(Some(t2.id), plain.id, &actor()).await.unwrap();
    assert_eq!(s.get_user(Some(t2.id), plain.id).await.unwrap(), None);
    assert_eq!(s.get_extension(t2.id, ext.id).await.unwrap().unwrap().owner_user_id, None);
}

async fn login_failures_and_lockout(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "one.example.com").await;
    let u = user(s, Some(t.id), "a@one.example.com", Role::User).await;
    let scope = Some(t.id);
    for expected in 1..=3 {
        assert_eq!(s.record_login_failure(scope, u.id).await.unwrap(), expected);
    }
    let until = now() + time::Duration::minutes(15);
    s.set_user_lock(scope, u.id, Some(until)).await.unwrap();
    let locked = s.get_user(scope, u.id).await.unwrap().unwrap();
    assert_eq!((locked.failed_logins, locked.locked_until), (3, Some(until)));
    let at = now();
    s.record_login_success(scope, u.id, at).await.unwrap();
    let ok = s.get_user(scope, u.id).await.unwrap().unwrap();
    assert_eq!((ok.failed_logins, ok.locked_until, ok.last_login_at), (0, None, Some(at)));
}

async fn totp_secret_enrollment_and_single_use(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "one.example.com").await;
    let u = user(s, Some(t.id), "a@one.example.com", Role::TenantAdmin).await;
    let scope = Some(t.id);
    assert_eq!(s.get_totp_secret(scope, u.id).await.unwrap(), None);
    let secret = TotpSecret::new((1..=20).collect()).unwrap();
    s.set_totp_secret(scope, u.id, &secret, &actor()).await.unwrap();
    assert_eq!(s.get_totp_secret(scope, u.id).await.unwrap(), Some(secret.clone()));
    let pending = s.get_user(scope, u.id).await.unwrap().unwrap();
    assert!(pending.has_totp_secret && !pending.totp_enrolled);

    // Not enrolled yet: codes are not accepted for login.
    assert!(!s.use_totp_step(scope, u.id, 100).await.unwrap());
    assert!(s.confirm_totp(scope, u.id, 100, &actor()).await.unwrap());
    let enrolled = s.get_user(scope, u.id).await.unwrap().unwrap();
    assert!(enrolled.totp_enrolled);
    assert_eq!(enrolled.totp_last_step, Some(100));
    // A code works once: the confirmation step, earlier steps and a reused step are refused.
    assert!(!s.use_totp_step(scope, u.id, 100).await.unwrap());
    assert!(!s.use_totp_step(scope, u.id, 99).await.unwrap());
    assert!(s.use_totp_step(scope, u.id, 101).await.unwrap());
    assert!(!s.use_totp_step(scope, u.id, 101).await.unwrap());

    // Concurrent logins with the same code: exactly one wins.
    let store = Arc::new(s.clone());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.use_totp_step(scope, u.id, 102).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);

    // Other scopes see nothing.
    let t2 = tenant(s, "two.example.com").await;
    assert!(matches!(
        s.use_totp_step(Some(t2.id), u.id, 500).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.confirm_totp(None, u.id, 500, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.set_totp_secret(Some(t2.id), u.id, &secret, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));

    s.clear_totp(scope, u.id, &actor()).await.unwrap();
    let cleared = s.get_user(scope, u.id).await.unwrap().unwrap();
    assert!(!cleared.has_totp_secret && !cleared.totp_enrolled && cleared.totp_last_step.is_none());
    assert_eq!(s.get_totp_secret(scope, u.id).await.unwrap(), None);

    // Super admins' secrets use the platform key.
    let root = user(s, None, "root@platform.example.com", Role::SuperAdmin).await;
    let root_secret = TotpSecret::new(vec![7; 32]).unwrap();
    s.set_totp_secret(None, root.id, &root_secret, &actor()).await.unwrap();
    assert_eq!(s.get_totp_secret(None, root.id).await.unwrap(), Some(root_secret));
    assert!(s.confirm_totp(None, root.id, 5, &actor()).await.unwrap());
    assert!(!s.confirm_totp(None, root.id, 5, &actor()).await.unwrap());
}

both_backends!(
    user_crud_and_scoping,
    login_failures_and_lockout,
    totp_secret_enrollment_and_single_use
);
