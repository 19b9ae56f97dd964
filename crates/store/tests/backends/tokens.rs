//! API tokens: hashed storage, lookup, scoping, revocation.

use ringfence_store::*;

use crate::harness::*;

async fn tokens_lifecycle_and_scoping(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let (secret, hash) = generate_token().unwrap();
    let tok = s
        .create_token(
            NewApiToken {
                tenant_id: Some(t1.id),
                role: Role::TenantAdmin,
                name: "ci".into(),
                token_hash: hash,
            },
            &actor(),
        )
        .await
        .unwrap();
    assert!(!tok.is_revoked() && tok.last_used_at.is_none());
    assert_eq!(s.find_token(&token_hash(&secret)).await.unwrap(), Some(tok.clone()));
    assert_eq!(s.find_token(&token_hash("rft_wrong")).await.unwrap(), None);
    // Only the hash is stored.
    assert!(!contains(&db.raw_contents().await, secret.as_bytes()));

    let at = now();
    s.touch_token(tok.id, at).await.unwrap();
    assert_eq!(s.find_token(&hash).await.unwrap().unwrap().last_used_at, Some(at));
    assert!(matches!(s.touch_token(TokenId::random(), at).await, Err(StoreError::NotFound { .. })));

    let (_, root_hash) = generate_token().unwrap();
    let root = s
        .create_token(
            NewApiToken {
                tenant_id: None,
                role: Role::SuperAdmin,
                name: "ops".into(),
                token_hash: root_hash,
            },
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(
        s.list_tokens(Some(t1.id)).await.unwrap(),
        vec![s.find_token(&hash).await.unwrap().unwrap()]
    );
    assert_eq!(s.list_tokens(None).await.unwrap(), vec![root.clone()]);
    assert!(s.list_tokens(Some(t2.id)).await.unwrap().is_empty());

    // Scope and role must fit; hashes are unique.
    let bad = NewApiToken {
        tenant_id: Some(t1.id),
        role: Role::SuperAdmin,
        name: "x".into(),
        token_hash: [9; 32],
    };
    assert!(matches!(
        s.create_token(bad, &actor()).await,
        Err(StoreError::Invalid { field: "role", .. })
    ));
    let dup = NewApiToken {
        tenant_id: Some(t2.id),
        role: Role::TenantAdmin,
        name: "x".into(),
        token_hash: hash,
    };
    assert!(matches!(
        s.create_token(dup, &actor()).await,
        Err(StoreError::Conflict { what: "token" })
    ));
    let unnamed = NewApiToken {
        tenant_id: Some(t2.id),
        role: Role::User,
        name: String::new(),
        token_hash: [8; 32],
    };
    assert!(matches!(
        s.create_token(unnamed, &actor()).await,
        Err(StoreError::Invalid { field: "name", .. })
    ));

    // Another tenant cannot revoke it.
    assert!(matches!(
        s.revoke_token(Some(t2.id), tok.id, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.revoke_token(None, tok.id, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(!s.find_token(&hash).await.unwrap().unwrap().is_revoked());
    let revoked = s.revoke_token(Some(t1.id), tok.id, &actor()).await.unwrap();
    assert!(revoked.is_revoked());
    let again = s.revoke_token(Some(t1.id), tok.id, &actor()).await.unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at, "revocation time is kept");
    assert!(s.find_token(&hash).await.unwrap().unwrap().is_revoked());
}

both_backends!(tokens_lifecycle_and_scoping);
