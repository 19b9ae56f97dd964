//! What the B2BUA reads from and writes to the store, behind a narrow object-safe trait
//! so the call tasks do not carry the store's type around.

use ringfence_store::{
    CallRecordRepo, Extension, ExtensionId, ExtensionNumber, ExtensionRepo, NewCallRecord,
    StoreError, TenantId,
};

use crate::auth::BoxFuture;

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
