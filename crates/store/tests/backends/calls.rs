//! Call history: insert, scoping, filters and keyset pagination.

use std::collections::HashSet;

use ringfence_store::*;
use time::{Duration, OffsetDateTime};

use crate::harness::*;

/// A call record with the given essentials.
pub fn record(
    started_at: OffsetDateTime,
    direction: CallDirection,
    disposition: Disposition,
    from: Option<ExtensionId>,
) -> NewCallRecord {
    let answered = disposition == Disposition::Answered;
    NewCallRecord {
        call_id: format!("call-{}", started_at.unix_timestamp_nanos()),
        caller: "1001".into(),
        callee: "+4930123456".into(),
        direction,
        started_at,
        answered_at: answered.then(|| started_at + Duration::seconds(3)),
        ended_at: Some(started_at + Duration::seconds(63)),
        duration_s: if answered { 60 } else { 0 },
        disposition,
        sip_status: Some(if answered { 200 } else { 486 }),
        reason: (!answered).then(|| "Busy Here".to_owned()),
        transport: Transport::Tls,
        encrypted: true,
        from_extension_id: from,
        to_extension_id: None,
        forwarded_by: None,
        forwarded_by_extension_id: None,
        forward_reason: None,
    }
}

async fn collect_pages(
    s: &AnyStore,
    t: TenantId,
    filter: &CallFilter,
    limit: u32,
) -> Vec<CallRecord> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = s.list_call_records(t, filter, limit, after).await.unwrap();
        assert!(page.records.len() <= limit as usize);
        all.extend(page.records);
        match page.next {
            // Go through the opaque token, as an API client would.
            Some(c) => after = Some(CallCursor::from_token(&c.to_token()).unwrap()),
            None => break,
        }
    }
    all
}

async fn call_history_filters_and_pagination(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "one.example.com").await;
    let other = tenant(s, "two.example.com").await;
    let a = extension(s, &t, "100").await;
    let b = extension(s, &t, "101").await;
    let base = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
    let dirs = CallDirection::ALL;
    let disps =
        [Disposition::Answered, Disposition::Busy, Disposition::NoAnswer, Disposition::Blocked];
    let mut inserted = Vec::new();
    for i in 0..30i64 {
        // Every third call shares its start time with the previous one: ties break on id.
        let at = base + Duration::minutes(i - i / 3) + Duration::microseconds(7);
        let mut r = record(
            at,
            dirs[i as usize % 3],
            disps[i as usize % 4],
            Some(if i % 2 == 0 { a.id } else { b.id }),
        );
        if i % 5 == 0 {
            r.to_extension_id = Some(a.id);
        }
        if i % 7 == 0 {
            // A call of a's forwarded on by b: b's history shows it.
            r.forwarded_by = Some("101".into());
            r.forwarded_by_extension_id = Some(b.id);
            r.forward_reason = Some(ForwardReason::ALL[i as usize % 4]);
        }
        let stored = s.insert_call_record(t.id, r.clone()).await.unwrap();
        assert_eq!(stored.call, r);
        assert_eq!(stored.tenant_id, t.id);
        inserted.push(stored);
    }
    s.insert_call_record(
        other.id,
        record(base, CallDirection::Inbound, Disposition::Answered, None),
    )
    .await
    .unwrap();

    let mut expected = inserted.clone();
    expected.sort_by_key(|r| std::cmp::Reverse((r.call.started_at, r.id)));

    // All pages, several page sizes: same order, no gaps, no duplicates.
    for limit in [1, 7, 30, 1000] {
        let got = collect_pages(s, t.id, &CallFilter::default(), limit).await;
        assert_eq!(got, expected, "limit {limit}");
    }
    let first = s.list_call_records(t.id, &CallFilter::default(), 30, None).await.unwrap();
    assert_eq!(first.next, None);

    let check = |filter: CallFilter, keep: &dyn Fn(&CallRecord) -> bool| {
        let want: Vec<_> = expected.iter().filter(|r| keep(r)).cloned().collect();
        assert!(!want.is_empty(), "the fixture should match {filter:?}");
        (filter, want)
    };
    let since = base + Duration::minutes(5);
    let until = base + Duration::minutes(12);
    let cases = vec![
        check(CallFilter { since: Some(since), ..Default::default() }, &|r| {
            r.call.started_at >= since
        }),
        check(CallFilter { until: Some(until), ..Default::default() }, &|r| {
            r.call.started_at < until
        }),
        check(CallFilter { since: Some(since), until: Some(until), ..Default::default() }, &|r| {
            r.call.started_at >= since && r.call.started_at < until
        }),
        check(
            CallFilter { direction: Some(CallDirection::Outbound), ..Default::default() },
            &|r| r.call.direction == CallDirection::Outbound,
        ),
        check(CallFilter { disposition: Some(Disposition::Busy), ..Default::default() }, &|r| {
            r.call.disposition == Disposition::Busy
        }),
        check(CallFilter { extension_ids: vec![b.id], ..Default::default() }, &|r| {
            r.call.from_extension_id == Some(b.id)
                || r.call.to_extension_id == Some(b.id)
                || r.call.forwarded_by_extension_id == Some(b.id)
        }),
        check(CallFilter { extension_ids: vec![a.id, b.id], ..Default::default() }, &|_| true),
        check(
            CallFilter {
                extension_ids: vec![a.id],
                direction: Some(CallDirection::Inbound),
                disposition: Some(Disposition::Answered),
                since: Some(base),
                until: None,
            },
            &|r| {
                (r.call.from_extension_id == Some(a.id)
                    || r.call.to_extension_id == Some(a.id)
                    || r.call.forwarded_by_extension_id == Some(a.id))
                    && r.call.direction == CallDirection::Inbound
                    && r.call.disposition == Disposition::Answered
            },
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(collect_pages(s, t.id, &filter, 4).await, want, "{filter:?}");
    }
    let none = CallFilter { extension_ids: vec![ExtensionId::random()], ..Default::default() };
    assert!(s.list_call_records(t.id, &none, 10, None).await.unwrap().records.is_empty());

    // Scoping.
    let ids: HashSet<_> = inserted.iter().map(|r| r.id).collect();
    let theirs = s.list_call_records(other.id, &CallFilter::default(), 100, None).await.unwrap();
    assert_eq!(theirs.records.len(), 1);
    assert!(!ids.contains(&theirs.records[0].id));
    assert_eq!(s.get_call_record(other.id, inserted[0].id).await.unwrap(), None);
    assert_eq!(s.get_call_record(t.id, inserted[0].id).await.unwrap(), Some(inserted[0].clone()));

    // Invalid input.
    let err = s.list_call_records(t.id, &CallFilter::default(), 0, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "limit", .. }));
    let err = s
        .list_call_records(t.id, &CallFilter::default(), MAX_PAGE_SIZE + 1, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "limit", .. }));
    let many = CallFilter {
        extension_ids: (0..101).map(|_| ExtensionId::random()).collect(),
        ..Default::default()
    };
    assert!(matches!(
        s.list_call_records(t.id, &many, 10, None).await,
        Err(StoreError::Invalid { .. })
    ));
    let foreign_ext = extension(s, &other, "100").await;
    let err = s
        .insert_call_record(
            t.id,
            record(base, CallDirection::Internal, Disposition::Answered, Some(foreign_ext.id)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "from_extension_id", .. }), "{err:?}");
    let mut backwards = record(base, CallDirection::Internal, Disposition::Answered, None);
    backwards.ended_at = Some(base - Duration::seconds(1));
    assert!(matches!(
        s.insert_call_record(t.id, backwards).await,
        Err(StoreError::Invalid { field: "ended_at", .. })
    ));
    let err = s
        .insert_call_record(
            TenantId::random(),
            record(base, CallDirection::Inbound, Disposition::Busy, None),
        )
        .await;
    assert!(matches!(err, Err(StoreError::NotFound { what: "tenant" })), "{err:?}");
    let total =
        s.list_call_records(t.id, &CallFilter::default(), 1000, None).await.unwrap().records.len();
    assert_eq!(total, 30);
}

/// The record writer's group commit: many records in one transaction across statement
/// boundaries; an invalid record, one of a vanished tenant and one naming another tenant's
/// extension are refused alone and the rest are stored.
async fn call_record_batches_store_the_valid_ones(mut db: TestDb) {
    let s = db.store.clone();
    let t = tenant(&s, "batch.example.com").await;
    let other = tenant(&s, "else.example.com").await;
    let e = extension(&s, &t, "100").await;
    let foreign = extension(&s, &other, "100").await;
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::hours(1);
    let mut batch = Vec::new();
    for i in 0..250 {
        let mut r = record(
            base + Duration::seconds(i),
            CallDirection::Outbound,
            Disposition::Answered,
            Some(e.id),
        );
        r.forwarded_by = (i % 7 == 0).then(|| "100".to_owned());
        r.forwarded_by_extension_id = (i % 7 == 0).then_some(e.id);
        r.forward_reason = (i % 7 == 0).then_some(ForwardReason::NoAnswer);
        batch.push((t.id, r));
    }
    let mut backwards = record(base, CallDirection::Internal, Disposition::Answered, None);
    backwards.ended_at = Some(base - Duration::seconds(1));
    batch.insert(10, (t.id, backwards));
    batch.insert(
        120,
        (TenantId::random(), record(base, CallDirection::Inbound, Disposition::Busy, None)),
    );
    batch.insert(
        130,
        (t.id, record(base, CallDirection::Internal, Disposition::Answered, Some(foreign.id))),
    );
    let results = s.insert_call_records(&batch).await.unwrap();
    assert_eq!(results.len(), 253);
    for (i, r) in results.iter().enumerate() {
        match i {
            10 => assert!(matches!(r, Err(StoreError::Invalid { field: "ended_at", .. })), "{r:?}"),
            120 | 130 => assert!(matches!(r, Err(StoreError::Invalid { .. })), "{i}: {r:?}"),
            _ => assert!(r.is_ok(), "{i}: {r:?}"),
        }
    }
    assert!(s.insert_call_records(&[]).await.unwrap().is_empty());
    db.reopen().await;
    let s = db.store.clone();
    let page = s.list_call_records(t.id, &CallFilter::default(), 1000, None).await.unwrap();
    assert_eq!(page.records.len(), 250);
    assert_eq!(page.records.iter().filter(|r| r.call.forwarded_by.is_some()).count(), 36);
    assert!(
        s.list_call_records(other.id, &CallFilter::default(), 10, None)
            .await
            .unwrap()
            .records
            .is_empty()
    );
}

both_backends!(call_history_filters_and_pagination, call_record_batches_store_the_valid_ones);
