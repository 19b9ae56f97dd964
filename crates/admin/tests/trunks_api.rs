//! GET /api/v1/trunks: super admins only; an admin API without running trunks lists none
//! (the running trunks and their registrations are shown by `ringfence serve`, tested in
//! the server's trunk_register test through the same status the endpoint reads).

use crate::common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunks_are_listed_to_super_admins_only() {
    let server = TestServer::start(Backend::Sqlite).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let a = tenant(&mut root.client, "Acme", "acme.example").await;
    let aid = a["id"].as_str().unwrap().to_owned();
    let mut admin =
        tenant_user(&server, &mut root.client, &aid, "admin@acme.example", "tenant_admin").await;
    let list = root.client.get("/api/v1/trunks").await.expect(200).json();
    assert_eq!(list, serde_json::json!([]));
    admin.client.get("/api/v1/trunks").await.expect(403);
    let doc = root.client.get("/api/v1/openapi.json").await.expect(200).json();
    assert!(doc["paths"]["/api/v1/trunks"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/tenants/{tenant_id}/webhook"]["put"].is_object());
    server.stop().await;
}
