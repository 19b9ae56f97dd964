//! Write-behind persistence of bindings with group commit.
//!
//! Registrations change memory first (under the extension's lock) and queue their store
//! changes here in the same order; the REGISTER is answered once the batch holding its
//! changes is stored, so a `200 OK` means the binding survives a restart.
//!
//! The writer takes whatever is queued (up to `write_batch` requests) as one batch: when
//! idle a batch is one request and adds no delay; under load batches grow by themselves.
//! Within a batch only the last change per binding is written (a device refreshing twice
//! costs one write), and every request in the batch learns whether all its changes were
//! stored.

use std::collections::HashMap;
use std::sync::Arc;

use ringfence_store::{
    BindingChange, ExtensionId, RegistrationBinding, RegistrationRepo, StoreError, TenantId,
};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::auth::BoxFuture;

/// One change to the stored bindings (the store's type: a batch of them is one transaction).
pub type BindingOp = BindingChange;

fn op_key(op: &BindingOp) -> (ExtensionId, &str) {
    match op {
        BindingChange::Upsert(b) => (b.extension_id, &b.contact_uri),
        BindingChange::Remove { extension, contact_uri, .. } => (*extension, contact_uri),
    }
}

/// What the registrar needs from the store, object-safe.
pub trait BindingStore: Send + Sync + 'static {
    /// Applies `ops` in order as one unit; one result per op, or `Err` when nothing was
    /// stored.
    fn apply<'a>(
        &'a self,
        ops: &'a [BindingOp],
    ) -> BoxFuture<'a, Result<Vec<Result<(), StoreError>>, StoreError>>;
    /// Every binding not lapsed at `now` (startup).
    fn load(
        &self,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, Result<Vec<RegistrationBinding>, StoreError>>;
    /// An extension's bindings not lapsed at `now` (resynchronisation after a failure).
    fn list(
        &self,
        tenant: TenantId,
        extension: ExtensionId,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, Result<Vec<RegistrationBinding>, StoreError>>;
    /// Deletes bindings lapsed at `now`.
    fn purge(&self, now: OffsetDateTime) -> BoxFuture<'_, Result<u64, StoreError>>;
}

/// [`BindingStore`] over any store: a batch is one store transaction (one sync to disk),
/// so under load many REGISTERs share one commit.
#[derive(Debug, Clone)]
pub struct StoreBindings<S>(pub S);

impl<S: RegistrationRepo + Send + Sync + 'static> BindingStore for StoreBindings<S> {
    fn apply<'a>(
        &'a self,
        ops: &'a [BindingOp],
    ) -> BoxFuture<'a, Result<Vec<Result<(), StoreError>>, StoreError>> {
        Box::pin(self.0.apply_binding_changes(ops))
    }

    fn load(
        &self,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, Result<Vec<RegistrationBinding>, StoreError>> {
        Box::pin(self.0.active_bindings(now))
    }

    fn list(
        &self,
        tenant: TenantId,
        extension: ExtensionId,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, Result<Vec<RegistrationBinding>, StoreError>> {
        Box::pin(self.0.list_bindings(tenant, extension, now))
    }

    fn purge(&self, now: OffsetDateTime) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.0.purge_expired_bindings(now))
    }
}

struct Job {
    ops: Vec<BindingOp>,
    done: oneshot::Sender<bool>,
}

/// Queues changes for the writer task.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    queue: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("ops", &self.ops.len()).finish()
    }
}

impl Writer {
    /// Starts the writer task; it ends when `shutdown` fires (or every [`Writer`] is
    /// dropped), after writing what was queued.
    pub(crate) fn spawn(
        store: Arc<dyn BindingStore>,
        max_batch: usize,
        tracker: &tokio_util::task::TaskTracker,
        shutdown: CancellationToken,
    ) -> Writer {
        let (queue, rx) = mpsc::unbounded_channel();
        tracker.spawn(run(store, rx, max_batch.max(1), shutdown));
        Writer { queue }
    }

    /// Queues `ops`; the receiver says whether all of them were stored (`false` also when
    /// the writer has stopped).
    pub(crate) fn submit(&self, ops: Vec<BindingOp>) -> oneshot::Receiver<bool> {
        let (done, rx) = oneshot::channel();
        // A stopped writer drops the job, and with it `done`: the receiver sees an error.
        let _ = self.queue.send(Job { ops, done });
        rx
    }
}

async fn run(
    store: Arc<dyn BindingStore>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    max_batch: usize,
    shutdown: CancellationToken,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    loop {
        let first = tokio::select! {
            biased;
            job = rx.recv() => match job {
                Some(job) => job,
                None => return,
            },
            () = shutdown.cancelled() => {
                // Refuse new work, store what is queued, stop.
                rx.close();
                while let Ok(job) = rx.try_recv() {
                    batch.push(job);
                    if batch.len() == max_batch {
                        write_batch(&*store, &mut batch).await;
                    }
                }
                if !batch.is_empty() {
                    write_batch(&*store, &mut batch).await;
                }
                return;
            }
        };
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        write_batch(&*store, &mut batch).await;
    }
}

async fn write_batch(store: &dyn BindingStore, batch: &mut Vec<Job>) {
    // Last change per binding wins; each job remembers which final ops carry its changes.
    let mut finals: Vec<BindingOp> = Vec::new();
    let mut index: HashMap<(ExtensionId, String), usize> = HashMap::new();
    let mut deps: Vec<(oneshot::Sender<bool>, Vec<usize>)> = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        let mut mine = Vec::with_capacity(job.ops.len());
        for op in job.ops {
            let (ext, uri) = op_key(&op);
            let key = (ext, uri.to_owned());
            let i = match index.get(&key) {
                Some(&i) => {
                    finals[i] = op;
                    i
                }
                None => {
                    index.insert(key, finals.len());
                    finals.push(op);
                    finals.len() - 1
                }
            };
            mine.push(i);
        }
        deps.push((job.done, mine));
    }
    let results = match store.apply(&finals).await {
        Ok(results) => results,
        Err(e) => {
            tracing::error!(error = %e, changes = finals.len(), "storing a batch of bindings failed");
            Vec::new()
        }
    };
    for (i, r) in results.iter().enumerate() {
        if let Err(e) = r {
            tracing::error!(error = %e, op = ?finals.get(i).map(op_key), "storing a binding failed");
        }
    }
    for (done, mine) in deps {
        let ok = mine.iter().all(|i| results.get(*i).is_some_and(Result::is_ok));
        let _ = done.send(ok);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Records every batch it is given; fails ops whose contact URI contains "fail".
    #[derive(Default)]
    struct Recorder {
        batches: Mutex<Vec<Vec<BindingOp>>>,
    }

    impl BindingStore for Recorder {
        fn apply<'a>(
            &'a self,
            ops: &'a [BindingOp],
        ) -> BoxFuture<'a, Result<Vec<Result<(), StoreError>>, StoreError>> {
            self.batches.lock().unwrap().push(ops.to_vec());
            let out = ops
                .iter()
                .map(|op| {
                    if op_key(op).1.contains("fail") {
                        Err(StoreError::NotFound { what: "extension" })
                    } else {
                        Ok(())
                    }
                })
                .collect();
            Box::pin(async move { Ok(out) })
        }
        fn load(
            &self,
            _: OffsetDateTime,
        ) -> BoxFuture<'_, Result<Vec<RegistrationBinding>, StoreError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn list(
            &self,
            _: TenantId,
            _: ExtensionId,
            _: OffsetDateTime,
        ) -> BoxFuture<'_, Result<Vec<RegistrationBinding>, StoreError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn purge(&self, _: OffsetDateTime) -> BoxFuture<'_, Result<u64, StoreError>> {
            Box::pin(async { Ok(0) })
        }
    }

    fn remove(ext: ExtensionId, uri: &str) -> BindingOp {
        BindingOp::Remove { tenant: TenantId::random(), extension: ext, contact_uri: uri.into() }
    }

    #[tokio::test]
    async fn queued_changes_are_coalesced_into_one_batch() {
        let rec = Arc::new(Recorder::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let ext = ExtensionId::random();
        let mut waits = Vec::new();
        // Queued before the writer runs, so they form one batch.
        for uri in ["sip:a@h", "sip:b@h", "sip:a@h", "sip:fail@h"] {
            let (done, r) = oneshot::channel();
            tx.send(Job { ops: vec![remove(ext, uri)], done }).unwrap();
            waits.push(r);
        }
        drop(tx);
        tokio::time::timeout(
            Duration::from_secs(5),
            run(rec.clone(), rx, 100, CancellationToken::new()),
        )
        .await
        .unwrap();
        let batches = rec.batches.lock().unwrap().clone();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].len(), 3, "sip:a@h written once");
        let mut results = Vec::new();
        for w in waits {
            results.push(w.await.unwrap());
        }
        assert_eq!(results, [true, true, true, false]);
    }

    #[tokio::test]
    async fn batches_are_capped() {
        let rec = Arc::new(Recorder::default());
        let (tx, rx) = mpsc::unbounded_channel();
        for i in 0..5 {
            let (done, _r) = oneshot::channel();
            tx.send(Job { ops: vec![remove(ExtensionId::random(), &format!("sip:{i}@h"))], done })
                .unwrap();
        }
        drop(tx);
        run(rec.clone(), rx, 2, CancellationToken::new()).await;
        let sizes: Vec<usize> = rec.batches.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 1]);
    }

    #[tokio::test]
    async fn shutdown_stores_what_is_queued_then_refuses() {
        let rec = Arc::new(Recorder::default());
        let tracker = tokio_util::task::TaskTracker::new();
        let token = CancellationToken::new();
        let w = Writer::spawn(rec.clone(), 10, &tracker, token.clone());
        let queued = w.submit(vec![remove(ExtensionId::random(), "sip:q@h")]);
        token.cancel();
        tracker.close();
        tracker.wait().await;
        // Stored whether the writer saw it before or after the cancellation.
        assert!(queued.await.unwrap());
        assert!(
            !w.submit(vec![remove(ExtensionId::random(), "sip:late@h")]).await.unwrap_or(false)
        );
        assert_eq!(rec.batches.lock().unwrap().len(), 1);
    }
}
