//! Call records: what a call collects while it runs ([`CallLog`]) and the writer task
//! that stores finished records without ever making a call wait for the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ringfence_store::{
    CallDirection, Disposition, ExtensionId, ForwardReason, NewCallRecord, TenantId, Transport,
};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::store::CallStore;

/// Longest Call-ID, caller, callee and reason stored (the store's limits).
const MAX_CALL_ID: usize = 256;
const MAX_PARTY: usize = 128;
const MAX_REASON: usize = 512;

/// `s` without control characters, cut to at most `max` bytes on a character boundary.
fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for c in s.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// What a call knows about itself for its record.
#[derive(Debug, Clone)]
pub(crate) struct CallLog {
    pub call_id: String,
    pub caller: String,
    pub callee: String,
    pub started: OffsetDateTime,
    pub answered: Option<OffsetDateTime>,
    pub transport: Transport,
    pub encrypted: bool,
    pub from_extension: Option<ExtensionId>,
    pub to_extension: Option<ExtensionId>,
    /// Internal until the destination is known to be outside the tenant.
    pub direction: CallDirection,
    /// The extension whose forwarding sent the call on last (id, number) and which forward.
    pub forwarded: Option<(ExtensionId, String, ForwardReason)>,
}

impl CallLog {
    /// The record of the call ending at `ended`.
    pub fn finish(
        &self,
        ended: OffsetDateTime,
        disposition: Disposition,
        sip_status: Option<u16>,
        reason: Option<&str>,
    ) -> NewCallRecord {
        let ended = ended.max(self.started);
        let duration_s = self.answered.map_or(0, |a| {
            // Talk time in whole seconds, rounded up: a call that was answered lasted.
            let d = (ended - a).whole_microseconds().max(0);
            u32::try_from((d + 999_999) / 1_000_000).unwrap_or(u32::MAX)
        });
        NewCallRecord {
            call_id: clean(&self.call_id, MAX_CALL_ID),
            caller: clean(&self.caller, MAX_PARTY),
            callee: clean(&self.callee, MAX_PARTY),
            direction: self.direction,
            started_at: ringfence_store::truncate_time(self.started),
            answered_at: self.answered.map(ringfence_store::truncate_time),
            ended_at: Some(ringfence_store::truncate_time(ended)),
            duration_s,
            disposition,
            sip_status,
            reason: reason.map(|r| clean(r, MAX_REASON)),
            transport: self.transport,
            encrypted: self.encrypted,
            from_extension_id: self.from_extension,
            to_extension_id: self.to_extension,
            forwarded_by: self.forwarded.as_ref().map(|(_, n, _)| clean(n, MAX_PARTY)),
            forwarded_by_extension_id: self.forwarded.as_ref().map(|(id, _, _)| *id),
            forward_reason: self.forwarded.as_ref().map(|(_, _, r)| *r),
        }
    }
}

enum Msg {
    Record(TenantId, Box<NewCallRecord>),
    Flush(oneshot::Sender<()>),
}

/// Counters of the record writer.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    pub written: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

/// Queues records for the writer task. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct RecordWriter {
    tx: mpsc::Sender<Msg>,
    counters: Arc<WriterCounters>,
}

impl RecordWriter {
    /// Starts the writer task; it ends when every [`RecordWriter`] is dropped, after
    /// storing what was queued.
    pub fn spawn(store: Arc<dyn CallStore>, capacity: usize) -> (RecordWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let counters = Arc::new(WriterCounters::default());
        let task = tokio::spawn(run(store, rx, counters.clone()));
        (RecordWriter { tx, counters }, task)
    }

    /// Queues `record`; never waits. A full queue drops it (and says so in the log).
    pub fn submit(&self, tenant: TenantId, record: NewCallRecord) {
        if let Err(e) = self.tx.try_send(Msg::Record(tenant, Box::new(record))) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            let call_id = match &e {
                mpsc::error::TrySendError::Full(Msg::Record(_, r))
                | mpsc::error::TrySendError::Closed(Msg::Record(_, r)) => r.call_id.clone(),
                _ => String::new(),
            };
            tracing::error!(%tenant, call_id, "call record dropped: the record queue is full");
        }
    }

    /// Waits until every record queued before this call has been written (or failed).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub fn counters(&self) -> &WriterCounters {
        &self.counters
    }
}

/// Most records stored in one transaction.
const MAX_BATCH: usize = 256;

/// Stores records as they come; what queued up while the last batch was written is stored
/// as one batch (one transaction), so under load many calls share one commit and an idle
/// writer adds no delay. A flush is answered once everything queued before it is stored.
async fn run(store: Arc<dyn CallStore>, mut rx: mpsc::Receiver<Msg>, c: Arc<WriterCounters>) {
    let mut batch: Vec<(TenantId, NewCallRecord)> = Vec::new();
    while let Some(msg) = rx.recv().await {
        let mut flush = None;
        match msg {
            Msg::Record(tenant, record) => batch.push((tenant, *record)),
            Msg::Flush(done) => flush = Some(done),
        }
        while flush.is_none() && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Record(tenant, record)) => batch.push((tenant, *record)),
                Ok(Msg::Flush(done)) => flush = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            write_batch(&*store, &mut batch, &c).await;
        }
        if let Some(done) = flush {
            let _ = done.send(());
        }
    }
}

async fn write_batch(
    store: &dyn CallStore,
    batch: &mut Vec<(TenantId, NewCallRecord)>,
    c: &WriterCounters,
) {
    match store.insert_call_records(batch).await {
        Ok(results) => {
            for ((tenant, record), result) in batch.iter().zip(results) {
                match result {
                    Ok(()) => {
                        c.written.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(%tenant, call_id = record.call_id, error = %e, "call record not stored");
                    }
                }
            }
        }
        Err(e) => {
            c.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
            tracing::error!(records = batch.len(), error = %e, "a batch of call records was not stored");
        }
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use time::Duration;

    use crate::auth::BoxFuture;
    use ringfence_store::{Extension, StoreError};

    fn log() -> CallLog {
        CallLog {
            call_id: "abc@host".into(),
            caller: "100".into(),
            callee: "101".into(),
            started: OffsetDateTime::now_utc(),
            answered: None,
            transport: Transport::Udp,
            encrypted: false,
            from_extension: Some(ExtensionId::random()),
            to_extension: None,
            direction: CallDirection::Internal,
            forwarded: None,
        }
    }

    #[test]
    fn duration_rounds_up_and_only_counts_talk_time() {
        let mut l = log();
        let r = l.finish(l.started + Duration::seconds(30), Disposition::NoAnswer, Some(480), None);
        assert_eq!((r.duration_s, r.answered_at), (0, None));
        l.answered = Some(l.started + Duration::seconds(5));
        let end = l.started + Duration::milliseconds(7_200);
        let r = l.finish(end, Disposition::Answered, Some(200), None);
        assert_eq!(r.duration_s, 3);
        assert_eq!(r.direction, CallDirection::Internal);
        assert!(r.ended_at.unwrap() >= r.answered_at.unwrap());
    }

    #[test]
    fn fields_are_cut_to_the_store_limits() {
        let mut l = log();
        l.callee = format!("{}\r\nX", "é".repeat(100));
        let reason = "r".repeat(600);
        let r = l.finish(l.started, Disposition::Failed, None, Some(&reason));
        assert!(r.callee.len() <= 128 && !r.callee.contains('\r'));
        assert_eq!(r.reason.unwrap().len(), 512);
        // An end before the start (clock step) is clamped.
        let r = l.finish(l.started - Duration::seconds(1), Disposition::Failed, None, None);
        assert_eq!(r.ended_at.unwrap(), r.started_at);
    }

    /// Keeps the records it is given and the size of each batch.
    #[derive(Default)]
    struct Sink(Mutex<Vec<NewCallRecord>>, Mutex<Vec<usize>>);

    impl CallStore for Sink {
        fn extension_by_number<'a>(
            &'a self,
            _: TenantId,
            _: &'a str,
        ) -> BoxFuture<'a, Result<Option<Extension>, StoreError>> {
            Box::pin(async { Ok(None) })
        }
        fn extension(
            &self,
            _: TenantId,
            _: ExtensionId,
        ) -> BoxFuture<'_, Result<Option<Extension>, StoreError>> {
            Box::pin(async { Ok(None) })
        }
        fn insert_call_record(
            &self,
            _: TenantId,
            record: NewCallRecord,
        ) -> BoxFuture<'_, Result<(), StoreError>> {
            self.0.lock().unwrap().push(record);
            Box::pin(async { Ok(()) })
        }
        fn insert_call_records<'a>(
            &'a self,
            records: &'a [(TenantId, NewCallRecord)],
        ) -> BoxFuture<'a, Result<Vec<Result<(), StoreError>>, StoreError>> {
            self.1.lock().unwrap().push(records.len());
            self.0.lock().unwrap().extend(records.iter().map(|(_, r)| r.clone()));
            Box::pin(async move { Ok(records.iter().map(|_| Ok(())).collect()) })
        }
    }

    #[tokio::test]
    async fn writer_stores_in_order_and_flush_waits() {
        let sink = Arc::new(Sink::default());
        let (w, task) = RecordWriter::spawn(sink.clone(), 16);
        let l = log();
        for status in [486, 480, 200] {
            w.submit(
                TenantId::random(),
                l.finish(l.started, Disposition::Busy, Some(status), None),
            );
        }
        w.flush().await;
        let got: Vec<_> = sink.0.lock().unwrap().iter().map(|r| r.sip_status).collect();
        assert_eq!(got, [Some(486), Some(480), Some(200)]);
        assert_eq!(w.counters().written.load(Ordering::Relaxed), 3);
        // Queued before the writer ran: one batch, one transaction.
        assert_eq!(*sink.1.lock().unwrap(), [3]);
        // Records queued after a flush form a batch of their own.
        w.submit(TenantId::random(), l.finish(l.started, Disposition::Busy, Some(603), None));
        w.flush().await;
        assert_eq!(*sink.1.lock().unwrap(), [3, 1]);
        drop(w);
        task.await.unwrap();
    }
}
