//! Phone numbers: CRUD, routing, scoping, conflicts.

use ringfence_store::*;

use crate::harness::*;

async fn numbers_crud_scoping_and_routing(db: TestDb) {
    let s = &db.store;
    let t1 = tenant(s, "one.example.com").await;
    let t2 = tenant(s, "two.example.com").await;
    let e1 = extension(s, &t1, "100").await;
    let e2 = extension(s, &t2, "100").await;
    let did = E164::parse("+4930555000").unwrap();
    let n = s.create_number(t1.id, &did, None, &actor()).await.unwrap();
    assert_eq!(n.extension_id, None);
    assert_eq!(s.get_number(t1.id, n.id).await.unwrap(), Some(n.clone()));
    assert_eq!(s.route_number(&did).await.unwrap(), Some(n.clone()));
    let n2 = s
        .create_number(t1.id, &E164::parse("+4930555001").unwrap(), Some(e1.id), &actor())
        .await
        .unwrap();
    let list: Vec<_> = s.list_numbers(t1.id).await.unwrap().into_iter().map(|n| n.id).collect();
    assert_eq!(list, vec![n.id, n2.id]);

    // A number belongs to one tenant only.
    let err = s.create_number(t2.id, &did, None, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { what: "phone number" }), "{err:?}");
    // It can only route to its own tenant's extensions.
    let err = s.assign_number(t1.id, n.id, Some(e2.id), &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "extension_id", .. }), "{err:?}");
    let err = s
        .create_number(t1.id, &E164::parse("+4930555002").unwrap(), Some(e2.id), &actor())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "extension_id", .. }), "{err:?}");
    // Another tenant's ids: not found, nothing changes.
    assert_eq!(s.get_number(t2.id, n.id).await.unwrap(), None);
    assert!(s.list_numbers(t2.id).await.unwrap().is_empty());
    assert!(matches!(
        s.assign_number(t2.id, n.id, Some(e2.id), &actor()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_number(t2.id, n.id, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));

    let routed = s.assign_number(t1.id, n.id, Some(e1.id), &actor()).await.unwrap();
    assert_eq!(routed.extension_id, Some(e1.id));
    assert_eq!(s.route_number(&did).await.unwrap().unwrap().extension_id, Some(e1.id));
    let unrouted = s.assign_number(t1.id, n.id, None, &actor()).await.unwrap();
    assert_eq!(unrouted.extension_id, None);
    s.delete_number(t1.id, n.id, &actor()).await.unwrap();
    assert_eq!(s.route_number(&did).await.unwrap(), None);
    assert_eq!(s.list_numbers(t1.id).await.unwrap().len(), 1);
    let err = s.create_number(TenantId::random(), &did, None, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "tenant" }), "{err:?}");
}

both_backends!(numbers_crud_scoping_and_routing);
