//! Encryption at rest: no secret in clear in the database, ciphertexts bound to their row and
//! tenant, crypto-shredding on tenant delete, and a wrong master key refused.

use ringfence_store::*;

use crate::harness::*;

async fn no_secret_is_stored_in_clear(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "acme.example.com").await;
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for number in ["100", "101", "102"] {
        let e = extension(s, &t, number).await;
        let c = s.get_sip_credentials(t.id, e.id).await.unwrap().unwrap();
        for (label, raw) in [("md5", c.md5_ha1().to_vec()), ("sha256", c.sha256_ha1().to_vec())] {
            needles.push((format!("{label} HA1 hex of {number}"), hex::encode(&raw).into_bytes()));
            needles.push((
                format!("{label} HA1 HEX of {number}"),
                hex::encode_upper(&raw).into_bytes(),
            ));
            needles.push((format!("{label} HA1 bytes of {number}"), raw));
        }
    }
    let tenant_user = user(s, Some(t.id), "admin@acme.example.com", Role::TenantAdmin).await;
    let root = user(s, None, "root@platform.example.com", Role::SuperAdmin).await;
    for (scope, u, seed) in [(Some(t.id), tenant_user.id, 0x11u8), (None, root.id, 0x5a)] {
        let raw: Vec<u8> = (0..20u8).map(|i| i.wrapping_mul(37) ^ seed).collect();
        let secret = TotpSecret::new(raw.clone()).unwrap();
        s.set_totp_secret(scope, u, &secret, &actor()).await.unwrap();
        assert!(s.confirm_totp(scope, u, 1, &actor()).await.unwrap());
        needles.push((format!("TOTP base32 of {u}"), base32(&raw).into_bytes()));
        needles.push((format!("TOTP bytes of {u}"), raw));
    }
    let dump = db.raw_contents().await;
    // The scan does see the data: non-secret values are there in clear.
    assert!(contains(&dump, b"acme.example.com"), "the raw scan should see the tenant domain");
    assert!(contains(&dump, b"admin@acme.example.com"));
    for (what, needle) in &needles {
        assert!(!contains(&dump, needle), "{what} found in clear in the {:?} database", db.kind);
    }
}

async fn moved_ciphertexts_do_not_open(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let a = extension(s, &t1, "100").await;
    let b = extension(s, &t1, "101").await;
    let c = extension(s, &t2, "100").await;
    let sealed_a =
        db.blob("SELECT sip_credentials FROM extensions WHERE id = $1", a.id.0).await.unwrap();

    // To another row of the same tenant.
    db.set_blob("UPDATE extensions SET sip_credentials = $1 WHERE id = $2", &sealed_a, b.id.0)
        .await;
    assert!(matches!(s.get_sip_credentials(t1.id, b.id).await, Err(StoreError::Crypto(_))));
    // To another tenant.
    db.set_blob("UPDATE extensions SET sip_credentials = $1 WHERE id = $2", &sealed_a, c.id.0)
        .await;
    assert!(matches!(s.get_sip_credentials(t2.id, c.id).await, Err(StoreError::Crypto(_))));
    assert!(matches!(s.find_sip_account(&t2.domain, &c.number).await, Err(StoreError::Crypto(_))));
    // The original still opens.
    assert_eq!(s.get_sip_credentials(t1.id, a.id).await.unwrap(), Some(creds(&t1.domain, "100")));

    // TOTP secrets between users, and from a tenant user to a super admin.
    let u1 = user(s, Some(t1.id), "u1@one.example.com", Role::User).await;
    let u2 = user(s, Some(t1.id), "u2@one.example.com", Role::User).await;
    let root = user(s, None, "root@platform.example.com", Role::SuperAdmin).await;
    s.set_totp_secret(Some(t1.id), u1.id, &TotpSecret::new(vec![3; 20]).unwrap(), &actor())
        .await
        .unwrap();
    s.set_totp_secret(Some(t1.id), u2.id, &TotpSecret::new(vec![4; 20]).unwrap(), &actor())
        .await
        .unwrap();
    s.set_totp_secret(None, root.id, &TotpSecret::new(vec![5; 20]).unwrap(), &actor())
        .await
        .unwrap();
    let sealed_u1 = db.blob("SELECT totp_secret FROM users WHERE id = $1", u1.id.0).await.unwrap();
    db.set_blob("UPDATE users SET totp_secret = $1 WHERE id = $2", &sealed_u1, u2.id.0).await;
    db.set_blob("UPDATE users SET totp_secret = $1 WHERE id = $2", &sealed_u1, root.id.0).await;
    assert!(matches!(s.get_totp_secret(Some(t1.id), u2.id).await, Err(StoreError::Crypto(_))));
    assert!(matches!(s.get_totp_secret(None, root.id).await, Err(StoreError::Crypto(_))));
    assert_eq!(
        s.get_totp_secret(Some(t1.id), u1.id).await.unwrap(),
        Some(TotpSecret::new(vec![3; 20]).unwrap())
    );

    // A tenant's wrapped data key moved to another tenant does not unwrap there.
    let wrapped_1 =
        db.blob("SELECT wrapped_key FROM tenants WHERE id = $1", t1.id.0).await.unwrap();
    db.set_blob("UPDATE tenants SET wrapped_key = $1 WHERE id = $2", &wrapped_1, t2.id.0).await;
    let d = extension_numbered(s, &t2).await;
    assert!(matches!(d, Err(StoreError::Crypto(_))), "{d:?}");
    assert!(matches!(s.tenant_cipher(t2.id).await, Err(StoreError::Crypto(_))));
}

async fn extension_numbered(s: &AnyStore, t: &Tenant) -> Result<Extension> {
    let new = NewExtension {
        number: ExtensionNumber::parse("555").unwrap(),
        display_name: String::new(),
        owner_user_id: None,
        enabled: true,
        sip_credentials: Some(creds(&t.domain, "555")),
        pin_hash: None,
    };
    s.create_extension(t.id, new, &actor()).await
}

async fn deleting_a_tenant_shreds_its_key(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "doomed.example.com").await;
    let keep = tenant(s, "kept.example.com").await;
    let e = extension(s, &t, "100").await;
    extension(s, &keep, "100").await;
    let sealed =
        db.blob("SELECT sip_credentials FROM extensions WHERE id = $1", e.id.0).await.unwrap();
    let wrapped = db.blob("SELECT wrapped_key FROM tenants WHERE id = $1", t.id.0).await.unwrap();
    let aad =
        Aad { tenant: Some(t.id), table: "extensions", column: "sip_credentials", row: e.id.0 };
    {
        let cipher = s.tenant_cipher(t.id).await.unwrap();
        assert_eq!(
            cipher.open(&aad, &sealed).unwrap().len(),
            49,
            "the copy opens while the tenant exists"
        );
    }
    s.delete_tenant(t.id, &actor()).await.unwrap();
    assert!(matches!(s.tenant_cipher(t.id).await, Err(StoreError::NotFound { what: "tenant" })));
    // The wrapped key is gone from the database (for SQLite: from the file and its WAL too),
    // so nothing can open the saved copy of the ciphertext any more.
    let dump = db.raw_contents().await;
    assert!(!contains(&dump, &wrapped), "wrapped key bytes survive in the {:?} database", db.kind);
    assert!(!contains(&dump, hex::encode(&wrapped).as_bytes()), "wrapped key hex survives");
    assert!(contains(&dump, b"kept.example.com"));
    // The other tenant is untouched.
    assert!(s.tenant_cipher(keep.id).await.is_ok());
}

async fn a_wrong_master_key_is_refused(db: TestDb) {
    tenant(&db.store, "one.example.com").await;
    let err = db.open_again(MasterKey::generate().unwrap()).await.unwrap_err();
    assert!(matches!(err, StoreError::Crypto(_)), "{err:?}");
    assert!(db.open_again(db.master.clone()).await.is_ok());
}

both_backends!(
    no_secret_is_stored_in_clear,
    moved_ciphertexts_do_not_open,
    deleting_a_tenant_shreds_its_key,
    a_wrong_master_key_is_refused,
);
