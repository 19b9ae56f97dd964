//! Tenant webhooks: one per tenant, replaced in place, the secret sealed at rest and bound to
//! its tenant, URL validation, audit, cascade with the tenant.

use ringfence_store::*;

use crate::harness::*;

async fn webhook_is_set_replaced_and_removed_per_tenant(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    assert!(s.get_webhook(t1.id).await.unwrap().is_none());

    let secret = WebhookSecret::generate().unwrap();
    assert!(secret.expose().starts_with("whsec_") && secret.expose().len() == 70);
    let audit_before = audit_len(s).await;
    let w =
        s.set_webhook(t1.id, "https://hooks.example.com/fraud", &secret, &actor()).await.unwrap();
    assert_eq!(w.url, "https://hooks.example.com/fraud");
    assert_eq!(audit_len(s).await, audit_before + 1);
    let back = s.get_webhook(t1.id).await.unwrap().unwrap();
    assert_eq!(back.secret.expose(), secret.expose());
    assert_eq!(back.url, w.url);
    assert!(s.get_webhook(t2.id).await.unwrap().is_none(), "another tenant sees nothing");

    // The secret is sealed: its text is nowhere in the database.
    let sealed =
        db.blob("SELECT secret FROM tenant_webhooks WHERE tenant_id = $1", t1.id.0).await.unwrap();
    assert!(!contains(&sealed, secret.expose().as_bytes()));
    let dump = db.raw_contents().await;
    assert!(!contains(&dump, secret.expose().as_bytes()), "secret found in the raw database");

    // Replaced in place: one row, the new secret, created_at kept.
    let chosen = WebhookSecret::new("an-admin-chosen-secret-1234").unwrap();
    let w2 = s.set_webhook(t1.id, "http://hooks.example.com/v2", &chosen, &actor()).await.unwrap();
    assert_eq!(w2.created_at, w.created_at);
    let back = s.get_webhook(t1.id).await.unwrap().unwrap();
    assert_eq!((back.url.as_str(), back.secret.expose()), (w2.url.as_str(), chosen.expose()));
    assert_eq!(
        db.count("SELECT count(*) FROM tenant_webhooks WHERE tenant_id = $1", t1.id.0).await,
        1
    );

    // A sealed secret copied to another tenant's row does not open there.
    s.set_webhook(t2.id, "https://two.example.com/h", &secret, &actor()).await.unwrap();
    let sealed_t1 =
        db.blob("SELECT secret FROM tenant_webhooks WHERE tenant_id = $1", t1.id.0).await.unwrap();
    db.set_blob("UPDATE tenant_webhooks SET secret = $1 WHERE tenant_id = $2", &sealed_t1, t2.id.0)
        .await;
    assert!(s.get_webhook(t2.id).await.is_err());

    // Bad input changes nothing.
    for bad in
        ["ftp://x.example.com/", "https://", "https://user:pw@x.example.com/", "https://a b/"]
    {
        assert!(
            matches!(
                s.set_webhook(t1.id, bad, &chosen, &actor()).await,
                Err(StoreError::Invalid { field: "url", .. })
            ),
            "{bad}"
        );
    }
    let long = format!("https://x.example.com/{}", "a".repeat(MAX_WEBHOOK_URL));
    assert!(s.set_webhook(t1.id, &long, &chosen, &actor()).await.is_err());
    assert!(WebhookSecret::new("short").is_err());
    assert!(WebhookSecret::new("has a space in it, sixteen+").is_err());
    assert_eq!(s.get_webhook(t1.id).await.unwrap().unwrap().url, w2.url);
    let unknown = TenantId(uuid::Uuid::new_v4());
    assert!(matches!(
        s.set_webhook(unknown, "https://x.example.com/", &chosen, &actor()).await,
        Err(StoreError::NotFound { what: "tenant" })
    ));

    // Removed; a second removal is not found; the tenant's deletion removes the other.
    s.delete_webhook(t1.id, &actor()).await.unwrap();
    assert!(s.get_webhook(t1.id).await.unwrap().is_none());
    assert!(matches!(
        s.delete_webhook(t1.id, &actor()).await,
        Err(StoreError::NotFound { what: "webhook" })
    ));
    s.delete_tenant(t2.id, &actor()).await.unwrap();
    assert_eq!(
        db.count("SELECT count(*) FROM tenant_webhooks WHERE tenant_id = $1", t2.id.0).await,
        0
    );
}

both_backends!(webhook_is_set_replaced_and_removed_per_tenant);
