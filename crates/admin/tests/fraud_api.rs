//! Fraud events over HTTPS: listed newest first with their explanation and signals, to the
//! tenant's admins only, paged with `before`; on both backends.

use crate::common;

use common::*;
use ringfence_store::{FraudRepo as _, NewFraudEvent, TenantId, now, truncate_time};
use serde_json::json;

fn event(kind: &str, secs: i64, explanation: &str) -> NewFraudEvent {
    NewFraudEvent {
        at: truncate_time(now() + time::Duration::seconds(secs)),
        extension_id: None,
        call_id: Some("call7".into()),
        kind: kind.into(),
        severity: "high".into(),
        score: 0,
        destination: Some("+442079460958".into()),
        actions: vec!["log".into(), "alert".into(), "block_call".into()],
        signals: json!([{"name": "extension_calls_per_minute", "value": 5.0, "threshold": 4.0, "weight": 0}]),
        explanation: explanation.into(),
    }
}

async fn fraud_events_listed_to_tenant_admins(backend: Backend) {
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

    let store = server.store();
    let t = TenantId(aid.parse().unwrap());
    store
        .insert_fraud_event(t, event("call_rate", 0, "Calls per minute limit reached."))
        .await
        .unwrap();
    store.insert_fraud_event(t, event("spend_cap", 1, "Daily spend cap reached.")).await.unwrap();
    store
        .insert_fraud_event(TenantId(bid.parse().unwrap()), event("anomaly", 0, "Beta's."))
        .await
        .unwrap();

    let path = format!("/api/v1/tenants/{aid}/fraud-events");
    let list = admin.client.get(&path).await.expect(200).json();
    let kinds: Vec<&str> =
        list.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["spend_cap", "call_rate"]);
    assert_eq!(list[1]["explanation"], "Calls per minute limit reached.");
    assert_eq!(list[1]["signals"][0]["threshold"], 4.0);
    assert_eq!(list[1]["actions"], json!(["log", "alert", "block_call"]));
    assert_eq!(list[1]["destination"], "+442079460958");

    // Paging: before the newest one's time.
    let at = list[0]["at"].as_str().unwrap().replace('+', "%2B");
    let older = admin.client.get(&format!("{path}?before={at}&limit=10")).await.expect(200).json();
    assert_eq!(older.as_array().unwrap().len(), 1);
    assert_eq!(older[0]["kind"], "call_rate");

    // Super admins see them; plain users do not; another tenant's admin gets 404.
    root.client.get(&path).await.expect(200);
    user.client.get(&path).await.expect(403);
    other.client.get(&path).await.expect(404);
    let own =
        other.client.get(&format!("/api/v1/tenants/{bid}/fraud-events")).await.expect(200).json();
    assert_eq!(own.as_array().unwrap().len(), 1);
    // Bad paging is refused.
    assert_eq!(
        admin.client.get(&format!("{path}?limit=0")).await.expect(422).field().as_deref(),
        Some("limit")
    );
    assert_eq!(
        admin.client.get(&format!("{path}?before=yesterday")).await.expect(422).field().as_deref(),
        Some("before")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fraud_events_listed_to_tenant_admins_sqlite() {
    fraud_events_listed_to_tenant_admins(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fraud_events_listed_to_tenant_admins_postgres() {
    fraud_events_listed_to_tenant_admins(Backend::Postgres).await;
}
