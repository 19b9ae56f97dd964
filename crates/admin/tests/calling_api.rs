//! Calling rules over HTTPS, on both backends: the platform overrides of a tenant (super
//! admins set them, the tenant's admin gets 403), an extension's restrictions (tenant admins;
//! a restriction that would widen the tenant's policy is refused with 422 and changes
//! nothing) and call forwarding (tenant admins for any extension, a user for their own).

use crate::common;

use common::*;
use ringfence_store::{ExtensionId, ExtensionRepo as _, TenantId, TenantRepo as _};
use serde_json::json;

async fn calling_rules(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let a = tenant(&mut root.client, "Acme", "acme.example").await;
    let aid = a["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/tenants/{aid}");
    let mut admin =
        tenant_user(&server, &mut root.client, &aid, "admin@acme.example", "tenant_admin").await;
    let mut user = tenant_user(&server, &mut root.client, &aid, "user@acme.example", "user").await;
    admin
        .client
        .put(
            &format!("{base}/settings/calling"),
            json!({"international_calling": true, "allowed_countries": ["GB", "FR"]}),
        )
        .await
        .expect(200);

    // Overrides: off by default, readable by the tenant admin, settable by super admins only.
    let path = format!("{base}/overrides");
    let off = admin.client.get(&path).await.expect(200).json();
    assert_eq!(off["allow_premium_rate"], false);
    let premium = json!({"allow_premium_rate": true, "allow_shared_cost": false,
        "allow_high_risk": false, "allow_non_geographic": false});
    assert_eq!(admin.client.put(&path, premium.clone()).await.expect(403).code(), "forbidden");
    user.client.put(&path, premium.clone()).await.expect(403);
    let tid = TenantId(aid.parse().unwrap());
    assert!(!server.store().get_tenant(tid).await.unwrap().unwrap().overrides.allow_premium_rate);
    let set = root.client.put(&path, premium.clone()).await.expect(200).json();
    assert_eq!(set, premium);
    assert!(server.store().get_tenant(tid).await.unwrap().unwrap().overrides.allow_premium_rate);
    assert_eq!(admin.client.get(&path).await.expect(200).json(), premium);
    root.client.put(&path, json!({"allow_premium_rate": true, "widen": 1})).await.expect(422);

    // Extension restrictions: tenant admins; narrowing only.
    let ext = admin
        .client
        .post(
            &format!("{base}/extensions"),
            json!({"number": "101", "owner_user_id": user.user["id"]}),
        )
        .await
        .expect(201)
        .json()["extension"]
        .clone();
    let eid = ext["id"].as_str().unwrap().to_owned();
    let rpath = format!("{base}/extensions/{eid}/restrictions");
    let none = admin.client.get(&rpath).await.expect(200).json();
    assert_eq!(none, json!({"domestic_only": false, "only_countries": null, "denied_paths": []}));
    let narrowed = admin
        .client
        .put(&rpath, json!({"only_countries": ["GB"], "denied_paths": ["forward"]}))
        .await
        .expect(200)
        .json();
    assert_eq!(narrowed["only_countries"], json!(["GB"]));
    assert_eq!(narrowed["denied_paths"], json!(["forward"]));
    // A country the tenant does not allow would look like a widening: refused, unchanged.
    let wide = admin.client.put(&rpath, json!({"only_countries": ["GB", "US"]})).await.expect(422);
    assert_eq!(wide.field().as_deref(), Some("only_countries[1]"));
    assert!(wide.text().contains("can only narrow"), "{}", wide.text());
    admin.client.put(&rpath, json!({"only_countries": ["XX"]})).await.expect(422);
    let stored = server
        .store()
        .get_extension(tid, ExtensionId(eid.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.restrictions.only_countries.unwrap().len(), 1);
    // The owning user may read but not change them.
    user.client.get(&rpath).await.expect(200);
    user.client.put(&rpath, json!({"domestic_only": true})).await.expect(403);
    admin.client.put(&rpath, json!({"domestic_only": true})).await.expect(200);

    // Forwarding: the admin for any extension, the user for their own.
    let fpath = format!("{base}/extensions/{eid}/forwarding");
    let f = admin.client.get(&fpath).await.expect(200).json();
    assert_eq!(
        f,
        json!({
            "always": null,
            "busy": null,
            "no_answer": null,
            "no_answer_seconds": 20,
            "unavailable": null
        })
    );
    let mine = user
        .client
        .put(
            &fpath,
            json!({"busy": "+442079460958", "no_answer": "+442079460958", "no_answer_seconds": 10}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(mine["no_answer_seconds"], 10);
    admin.client.put(&fpath, json!({"always": "+33142685300"})).await.expect(200);
    for bad in [
        json!({"always": "sip:evil@example.com"}),
        json!({"always": "12ab"}),
        json!({"no_answer_seconds": 2}),
        json!({"always": "101"}),
        json!({"busy": "555"}),
    ] {
        admin.client.put(&fpath, bad.clone()).await.expect(422);
    }
    let stored = server
        .store()
        .get_extension(tid, ExtensionId(eid.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.forwarding.always.as_deref(), Some("+33142685300"));
    // Another user's extension answers 404 to a user.
    let other = admin
        .client
        .post(&format!("{base}/extensions"), json!({"number": "102"}))
        .await
        .expect(201)
        .json()["extension"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    user.client
        .put(&format!("{base}/extensions/{other}/forwarding"), json!({"always": "101"}))
        .await
        .expect(404);
    admin
        .client
        .put(&format!("{base}/extensions/{other}/forwarding"), json!({"always": "101"}))
        .await
        .expect(200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_rules_sqlite() {
    calling_rules(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_rules_postgres() {
    calling_rules(Backend::Postgres).await;
}
