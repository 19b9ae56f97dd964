//! The tenant's fraud webhook over HTTPS: set with a generated secret shown once, or with
//! the admin's own; rotated; removed; tenant admins only; bad input refused and changes
//! nothing; every change audited without the secret; on both backends.

use crate::common;

use common::*;
use ringfence_store::{TenantId, WebhookRepo as _};
use serde_json::json;

async fn webhook_set_rotated_and_removed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let a = tenant(&mut root.client, "Acme", "acme.example").await;
    let b = tenant(&mut root.client, "Beta", "beta.example").await;
    let aid = a["id"].as_str().unwrap().to_owned();
    let bid = b["id"].as_str().unwrap().to_owned();
    let mut admin =
        tenant_user(&server, &mut root.client, &aid, "admin@acme.example", "tenant_admin").await;
    let mut user = tenant_user(&server, &mut root.client, &aid, "user@acme.example", "user").await;
    let mut other =
        tenant_user(&server, &mut root.client, &bid, "admin@beta.example", "tenant_admin").await;
    let path = format!("/api/v1/tenants/{aid}/webhook");
    let store = server.store();
    let t = TenantId(aid.parse().unwrap());

    admin.client.get(&path).await.expect(404);
    // No secret given: one is generated and shown in this answer only.
    let url = "https://hooks.acme.example/ringfence";
    let set = admin.client.put(&path, json!({ "url": url })).await.expect(200).json();
    let secret = set["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    assert_eq!(store.get_webhook(t).await.unwrap().unwrap().secret.expose(), secret);
    let got = admin.client.get(&path).await.expect(200).json();
    assert_eq!(got["url"], url);
    assert!(got.get("secret").is_none(), "secret shown again: {got}");

    // A new URL keeps the secret (not shown); the admin's own secret replaces it.
    let moved = admin.client.put(&path, json!({ "url": "https://h2.acme.example/" })).await;
    assert!(moved.expect(200).json().get("secret").is_none());
    assert_eq!(store.get_webhook(t).await.unwrap().unwrap().secret.expose(), secret);
    let own = "acme-chosen-secret-0123456789";
    let r = admin.client.put(&path, json!({ "url": url, "secret": own })).await.expect(200);
    assert!(r.json().get("secret").is_none());
    assert_eq!(store.get_webhook(t).await.unwrap().unwrap().secret.expose(), own);

    // Rotation: a new generated secret, shown once.
    let rotated =
        admin.client.post(&format!("{path}/rotate-secret"), json!({})).await.expect(200).json();
    let new = rotated["secret"].as_str().unwrap();
    assert!(new.starts_with("whsec_") && new != secret);
    assert_eq!(store.get_webhook(t).await.unwrap().unwrap().secret.expose(), new);

    // Bad input is refused and changes nothing.
    for (body, field) in [
        (json!({ "url": "ftp://x.example/" }), "url"),
        (json!({ "url": "https://user:pw@x.example/" }), "url"),
        (json!({ "url": "https://x.example/", "secret": "short" }), "secret"),
        (json!({ "url": "https://x.example/", "secret": "has spaces in it 0123456" }), "secret"),
    ] {
        let field_got = admin.client.put(&path, body.clone()).await.expect(422).field();
        assert_eq!(field_got.as_deref(), Some(field), "{body}");
    }
    admin.client.put(&path, json!({ "url": url, "extra": 1 })).await.expect(422);
    assert_eq!(store.get_webhook(t).await.unwrap().unwrap().secret.expose(), new);

    // Tenant admins and super admins only; another tenant's admin sees nothing.
    user.client.get(&path).await.expect(403);
    user.client.put(&path, json!({ "url": url })).await.expect(403);
    other.client.get(&path).await.expect(404);
    other.client.delete(&path).await.expect(404);
    root.client.get(&path).await.expect(200);

    // Every change is audited, never with the secret.
    let audit = root.client.get(&format!("/api/v1/tenants/{aid}/audit")).await.expect(200).text();
    assert!(audit.contains("webhook.set"), "{audit}");
    assert!(!audit.contains(&secret) && !audit.contains(own) && !audit.contains(new));

    // Removed; then gone.
    admin.client.delete(&path).await.expect(204);
    admin.client.get(&path).await.expect(404);
    admin.client.delete(&path).await.expect(404);
    admin.client.post(&format!("{path}/rotate-secret"), json!({})).await.expect(404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_set_rotated_and_removed_sqlite() {
    webhook_set_rotated_and_removed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_set_rotated_and_removed_postgres() {
    webhook_set_rotated_and_removed(Backend::Postgres).await;
}
