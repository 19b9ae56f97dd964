//! What the B2BUA reads from and writes to the store, behind a narrow object-safe trait
//! so the call tasks do not carry the store's type around.

use ringfence_store::{
    CallRecordRepo, Extension, ExtensionId, ExtensionNumber, ExtensionRepo, NewCallRecord,
    StoreError, TenantId,
};

use std::sync::Arc;
use std::time::Instant;

use crate::auth::cache::TtlMap;
use crate::auth::{Authenticator, BoxFuture};

/// Extensions by number and id, and the call history.
pub trait CallStore: Send + Sync + 'static {
    /// Extension `number` of `tenant`; `Ok(None)` when there is none (or the number
    /// cannot be one).
    fn extension_by_number<'a>(
        &'a self,
        tenant: TenantId,
        number: &'a str,
    ) -> BoxFuture<'a, Result<Option<Extension>, StoreError>>;

    /// Extension `id` of `tenant`.
    fn extension(
        &self,
        tenant: TenantId,
        id: ExtensionId,
    ) -> BoxFuture<'_, Result<Option<Extension>, StoreError>>;

    /// Stores a finished call.
    fn insert_call_record(
        &self,
        tenant: TenantId,
        record: NewCallRecord,
    ) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Stores finished calls in one transaction where the store can; one result per
    /// record, `Err` when none was stored. By default, one at a time.
    fn insert_call_records<'a>(
        &'a self,
        records: &'a [(TenantId, NewCallRecord)],
    ) -> BoxFuture<'a, Result<Vec<Result<(), StoreError>>, StoreError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(records.len());
            for (tenant, record) in records {
                out.push(self.insert_call_record(*tenant, record.clone()).await);
            }
            Ok(out)
        })
    }
}

/// [`CallStore`] over any store.
#[derive(Debug, Clone)]
pub struct StoreCalls<S>(pub S);

impl<S> CallStore for StoreCalls<S>
where
    S: ExtensionRepo + CallRecordRepo + Send + Sync + 'static,
{
    fn extension_by_number<'a>(
        &'a self,
        tenant: TenantId,
        number: &'a str,
    ) -> BoxFuture<'a, Result<Option<Extension>, StoreError>> {
        Box::pin(async move {
            let Ok(number) = ExtensionNumber::parse(number) else { return Ok(None) };
            self.0.get_extension_by_number(tenant, &number).await
        })
    }

    fn extension(
        &self,
        tenant: TenantId,
        id: ExtensionId,
    ) -> BoxFuture<'_, Result<Option<Extension>, StoreError>> {
        Box::pin(self.0.get_extension(tenant, id))
    }

    fn insert_call_record(
        &self,
        tenant: TenantId,
        record: NewCallRecord,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.0.insert_call_record(tenant, record).await.map(|_| ()) })
    }

    fn insert_call_records<'a>(
        &'a self,
        records: &'a [(TenantId, NewCallRecord)],
    ) -> BoxFuture<'a, Result<Vec<Result<(), StoreError>>, StoreError>> {
        Box::pin(self.0.insert_call_records(records))
    }
}

/// A [`CallStore`] that keeps extensions read from `inner` for a while: every call reads
/// its caller and callee, and a store read is a round trip to a database thread or
/// server. It follows the authenticator's credential cache ([`Authenticator`]): the same
/// time to live and capacity, and whatever invalidates that cache (the admin API's
/// changes, a fraud-control suspension) makes every entry here stale at once, since an
/// entry is used only while [`Authenticator::cache_generation`] has not moved on from
/// the value read before its store read. Changes made to the store behind the server's
/// back (another process) are seen within the time to live, as for credentials.
/// Call records go straight through.
pub(crate) struct CachedExtensions {
    inner: Arc<dyn CallStore>,
    auth: Arc<Authenticator>,
    by_number: TtlMap<(TenantId, String), (u64, Option<Extension>)>,
    by_id: TtlMap<(TenantId, ExtensionId), (u64, Option<Extension>)>,
}

impl CachedExtensions {
    pub(crate) fn new(inner: Arc<dyn CallStore>, auth: Arc<Authenticator>) -> CachedExtensions {
        let (capacity, ttl) = (auth.cache_capacity().max(16), auth.cache_ttl());
        CachedExtensions {
            inner,
            auth,
            by_number: TtlMap::new(capacity, ttl),
            by_id: TtlMap::new(capacity, ttl),
        }
    }

    /// The cached answer for `key` if it is still current.
    fn hit<K: std::hash::Hash + Eq>(
        map: &TtlMap<K, (u64, Option<Extension>)>,
        key: &K,
        generation: u64,
    ) -> Option<Option<Extension>> {
        map.get(key, Instant::now()).filter(|(g, _)| *g == generation).map(|(_, e)| e)
    }

    /// Caches `found` by id (when there is one), tagged with the generation read before
    /// the lookup.
    fn keep_by_id(&self, tenant: TenantId, generation: u64, found: &Option<Extension>) {
        if let Some(e) = found {
            self.by_id.insert((tenant, e.id), (generation, found.clone()), Instant::now());
        }
    }
}

impl CallStore for CachedExtensions {
    fn extension_by_number<'a>(
        &'a self,
        tenant: TenantId,
        number: &'a str,
    ) -> BoxFuture<'a, Result<Option<Extension>, StoreError>> {
        Box::pin(async move {
            let generation = self.auth.cache_generation();
            let key = (tenant, number.to_owned());
            if let Some(hit) = Self::hit(&self.by_number, &key, generation) {
                return Ok(hit);
            }
            let found = self.inner.extension_by_number(tenant, number).await?;
            // Unknown numbers are kept too.
            self.by_number.insert(key, (generation, found.clone()), Instant::now());
            self.keep_by_id(tenant, generation, &found);
            Ok(found)
        })
    }

    fn extension(
        &self,
        tenant: TenantId,
        id: ExtensionId,
    ) -> BoxFuture<'_, Result<Option<Extension>, StoreError>> {
        Box::pin(async move {
            let generation = self.auth.cache_generation();
            if let Some(hit) = Self::hit(&self.by_id, &(tenant, id), generation) {
                return Ok(hit);
            }
            let found = self.inner.extension(tenant, id).await?;
            self.by_id.insert((tenant, id), (generation, found.clone()), Instant::now());
            if let Some(e) = &found {
                let key = (tenant, e.number.as_str().to_owned());
                self.by_number.insert(key, (generation, found.clone()), Instant::now());
            }
            Ok(found)
        })
    }

    fn insert_call_record(
        &self,
        tenant: TenantId,
        record: NewCallRecord,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.insert_call_record(tenant, record)
    }

    fn insert_call_records<'a>(
        &'a self,
        records: &'a [(TenantId, NewCallRecord)],
    ) -> BoxFuture<'a, Result<Vec<Result<(), StoreError>>, StoreError>> {
        self.inner.insert_call_records(records)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ringfence_store::EncryptionRequirement;

    use super::*;
    use crate::auth::testing::{Fake, REALM};
    use crate::config::AuthConfig;

    /// One extension (100) that the test edits behind the cache's back; counts reads.
    struct Extensions {
        ext: Mutex<Extension>,
        reads: AtomicUsize,
    }

    impl CallStore for Extensions {
        fn extension_by_number<'a>(
            &'a self,
            _: TenantId,
            number: &'a str,
        ) -> BoxFuture<'a, Result<Option<Extension>, StoreError>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let e = self.ext.lock().unwrap().clone();
            Box::pin(async move { Ok((e.number.as_str() == number).then_some(e)) })
        }

        fn extension(
            &self,
            _: TenantId,
            id: ExtensionId,
        ) -> BoxFuture<'_, Result<Option<Extension>, StoreError>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let e = self.ext.lock().unwrap().clone();
            Box::pin(async move { Ok((e.id == id).then_some(e)) })
        }

        fn insert_call_record(
            &self,
            _: TenantId,
            _: NewCallRecord,
        ) -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn extensions_are_reused_until_the_authenticator_invalidates() {
        let fake = Arc::new(Fake::new(EncryptionRequirement::Optional));
        let (tenant, ext) = (fake.tenant.id, fake.extension.clone());
        let auth = Arc::new(Authenticator::new(
            &AuthConfig::default(),
            &[7; 32],
            fake,
            Arc::new(crate::auth::NoObserver),
        ));
        let inner =
            Arc::new(Extensions { ext: Mutex::new(ext.clone()), reads: AtomicUsize::new(0) });
        let cache = CachedExtensions::new(inner.clone(), auth.clone());
        let reads = || inner.reads.load(Ordering::SeqCst);

        // By number, then by id and by number again: one store read.
        assert_eq!(cache.extension_by_number(tenant, "100").await.unwrap(), Some(ext.clone()));
        assert_eq!(cache.extension(tenant, ext.id).await.unwrap(), Some(ext.clone()));
        assert_eq!(cache.extension_by_number(tenant, "100").await.unwrap(), Some(ext.clone()));
        assert_eq!(reads(), 1);
        // Unknown numbers are remembered too.
        assert_eq!(cache.extension_by_number(tenant, "101").await.unwrap(), None);
        assert_eq!(cache.extension_by_number(tenant, "101").await.unwrap(), None);
        assert_eq!(reads(), 2);

        // A change the server was not told about is not seen within the time to live...
        inner.ext.lock().unwrap().enabled = false;
        assert!(cache.extension(tenant, ext.id).await.unwrap().unwrap().enabled);
        // ...and one it was told about (the admin API, a suspension) is seen at once,
        // under both keys, for every extension.
        auth.invalidate_extension(REALM, "100");
        assert!(!cache.extension(tenant, ext.id).await.unwrap().unwrap().enabled);
        assert!(!cache.extension_by_number(tenant, "100").await.unwrap().unwrap().enabled);
        assert_eq!(reads(), 3);
        auth.invalidate_tenant(REALM);
        assert_eq!(cache.extension_by_number(tenant, "101").await.unwrap(), None);
        assert_eq!(reads(), 4);
    }
}
