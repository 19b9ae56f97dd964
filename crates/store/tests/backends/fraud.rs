//! Fraud events (scoping, order, paging, validation, cascade) and the fraud engine's state.

use ringfence_store::*;
use serde_json::json;
use time::Duration;

use crate::harness::*;

fn event(at: time::OffsetDateTime, ext: Option<ExtensionId>, kind: &str) -> NewFraudEvent {
    NewFraudEvent {
        at: truncate_time(at),
        extension_id: ext,
        call_id: Some("abc@host".into()),
        kind: kind.into(),
        severity: "high".into(),
        score: 0,
        destination: Some("+88213".into()),
        actions: vec!["log".into(), "alert".into(), "block_call".into()],
        signals: json!([{ "name": "calls_per_minute", "value": 11.0, "threshold": 10.0, "weight": 0 }]),
        explanation:
            "Calls per minute limit reached. Signals: calls_per_minute = 11 (threshold 10).".into(),
    }
}

async fn fraud_events_are_tenant_scoped_and_newest_first(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let x1 = extension(s, &t1, "1001").await;
    let x2 = extension(s, &t2, "2001").await;
    let base = now();
    let a = s.insert_fraud_event(t1.id, event(base, Some(x1.id), "call_rate")).await.unwrap();
    let b = s
        .insert_fraud_event(t1.id, event(base + Duration::seconds(1), None, "spend_cap"))
        .await
        .unwrap();
    s.insert_fraud_event(t2.id, event(base, Some(x2.id), "anomaly")).await.unwrap();
    assert_eq!(a.event.signals[0]["threshold"], json!(10.0));
    assert_eq!(a.event.actions, vec!["log", "alert", "block_call"]);

    let list = s.list_fraud_events(t1.id, 10, None).await.unwrap();
    assert_eq!(list.iter().map(|e| e.id).collect::<Vec<_>>(), vec![b.id, a.id]);
    assert_eq!(list[1], a);
    let older = s.list_fraud_events(t1.id, 10, Some(b.event.at)).await.unwrap();
    assert_eq!(older.iter().map(|e| e.id).collect::<Vec<_>>(), vec![a.id]);
    assert_eq!(s.list_fraud_events(t2.id, 10, None).await.unwrap().len(), 1);

    // Another tenant's extension is not found; nothing is written.
    assert!(matches!(
        s.insert_fraud_event(t1.id, event(base, Some(x2.id), "call_rate")).await,
        Err(StoreError::NotFound { what: "extension" })
    ));
    // Bad names are refused.
    assert!(matches!(
        s.insert_fraud_event(t1.id, event(base, None, "Call Rate")).await,
        Err(StoreError::Invalid { field: "kind", .. })
    ));
    let mut bad = event(base, None, "call_rate");
    bad.severity = "urgent".into();
    assert!(matches!(
        s.insert_fraud_event(t1.id, bad).await,
        Err(StoreError::Invalid { field: "severity", .. })
    ));
    assert!(matches!(
        s.list_fraud_events(t1.id, 0, None).await,
        Err(StoreError::Invalid { field: "limit", .. })
    ));
    assert_eq!(s.list_fraud_events(t1.id, 10, None).await.unwrap().len(), 2);

    // Deleting the extension keeps the event without it; deleting the tenant removes them.
    s.delete_extension(t1.id, x1.id, &actor()).await.unwrap();
    let list = s.list_fraud_events(t1.id, 10, None).await.unwrap();
    assert_eq!(list[1].event.extension_id, None);
    s.delete_tenant(t1.id, &actor()).await.unwrap();
    assert!(s.list_fraud_events(t1.id, 10, None).await.unwrap().is_empty());
}

async fn fraud_state_is_replaced_and_survives_reopen(mut db: TestDb) {
    assert_eq!(db.store.load_fraud_state().await.unwrap(), None);
    db.store.save_fraud_state(r#"{"version":1,"n":1}"#).await.unwrap();
    db.store.save_fraud_state(r#"{"version":1,"n":2}"#).await.unwrap();
    db.reopen().await;
    let doc = db.store.load_fraud_state().await.unwrap().unwrap();
    assert_eq!(doc.state, r#"{"version":1,"n":2}"#);
}

both_backends!(
    fraud_events_are_tenant_scoped_and_newest_first,
    fraud_state_is_replaced_and_survives_reopen
);
