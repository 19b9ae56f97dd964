//! Helpers shared by the repository code of one backend: row decoding, key access and the
//! in-transaction audit append.

use serde_json::json;
use sqlx::{Pool, Row as _, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Db, Ts, from_ts, ts};
use crate::backend::SqlStore;
use crate::crypto::{DataKey, KeyOwner, MasterKey, TenantCipher};
use crate::error::{Result, StoreError};
use crate::time_util::now;
use crate::types::{Actor, AuditEvent, ChainHash, TenantId};

pub(super) type Row = <Db as sqlx::Database>::Row;
/// A query over a static SQL string, with owned binds.
pub(super) type Query = sqlx::query::Query<'static, Db, <Db as sqlx::Database>::Arguments>;

/// Column `col` decoded as `T`.
pub(super) fn get<'r, T>(row: &'r Row, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    Ok(row.try_get(col)?)
}

/// A timestamp column.
pub(super) fn get_ts(row: &Row, col: &str) -> Result<OffsetDateTime> {
    from_ts(row.try_get::<Ts, _>(col)?)
}

/// A nullable timestamp column.
pub(super) fn get_opt_ts(row: &Row, col: &str) -> Result<Option<OffsetDateTime>> {
    row.try_get::<Option<Ts>, _>(col)?.map(from_ts).transpose()
}

/// A UUID column as a typed id.
pub(super) fn get_id<T: From<Uuid>>(row: &Row, col: &str) -> Result<T> {
    Ok(T::from(row.try_get::<Uuid, _>(col)?))
}

/// A nullable UUID column as a typed id.
pub(super) fn get_opt_id<T: From<Uuid>>(row: &Row, col: &str) -> Result<Option<T>> {
    Ok(row.try_get::<Option<Uuid>, _>(col)?.map(T::from))
}

/// A text column parsed into a validated type; a failure means the row is corrupt.
pub(super) fn get_parsed<T>(
    row: &Row,
    col: &str,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Result<T> {
    let s: String = row.try_get(col)?;
    parse(&s).map_err(|e| StoreError::corrupt(format!("column {col}: {e}")))
}

/// A non-negative integer column.
pub(super) fn get_u64(row: &Row, col: &str) -> Result<u64> {
    let v: i64 = row.try_get(col)?;
    u64::try_from(v).map_err(|_| StoreError::corrupt(format!("column {col} is negative")))
}

/// A nullable non-negative integer column.
pub(super) fn get_opt_u64(row: &Row, col: &str) -> Result<Option<u64>> {
    let v: Option<i64> = row.try_get(col)?;
    v.map(|v| {
        u64::try_from(v).map_err(|_| StoreError::corrupt(format!("column {col} is negative")))
    })
    .transpose()
}

/// `u64` to the `bigint` the databases store.
pub(super) fn to_i64(v: u64, field: &'static str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::invalid(field, "too large"))
}

/// Loads (creating on first start) the platform data key and checks that the master key
/// opens it.
pub(super) async fn platform_cipher(pool: &Pool<Db>, master: &MasterKey) -> Result<TenantCipher> {
    const SELECT: &str = "SELECT wrapped_key FROM platform_keys WHERE name = 'platform'";
    let existing: Option<Vec<u8>> = sqlx::query_scalar(SELECT).fetch_optional(pool).await?;
    let wrapped = match existing {
        Some(w) => w,
        None => {
            let wrapped = master.wrap(KeyOwner::Platform, &DataKey::generate()?)?;
            sqlx::query(
                "INSERT INTO platform_keys (name, wrapped_key, created_at) VALUES ('platform', $1, $2) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(&wrapped)
            .bind(ts(now()))
            .execute(pool)
            .await?;
            // Another node may have won the race; use whatever is stored.
            sqlx::query_scalar(SELECT).fetch_one(pool).await?
        }
    };
    Ok(TenantCipher::new(None, master.unwrap(KeyOwner::Platform, &wrapped)?))
}

impl SqlStore<Db> {
    /// The cipher of `tenant`'s data key, for sealing per-tenant data kept outside the
    /// database (e.g. voicemail audio). `NotFound` once the tenant is deleted: its key is gone.
    pub async fn tenant_cipher(&self, tenant: TenantId) -> Result<TenantCipher> {
        let mut conn = self.pool.acquire().await?;
        self.cipher_for(&mut conn, Some(tenant)).await
    }

    /// The platform's cipher (super-admin secrets).
    pub fn platform_cipher(&self) -> &TenantCipher {
        &self.platform
    }

    /// The cipher for `scope`: a tenant's key, or the platform key for `None`.
    pub(super) async fn cipher_for(
        &self,
        conn: &mut <Db as sqlx::Database>::Connection,
        scope: Option<TenantId>,
    ) -> Result<TenantCipher> {
        let Some(tenant) = scope else {
            return Ok((*self.platform).clone());
        };
        let wrapped: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT wrapped_key FROM tenants WHERE id = $1")
                .bind(tenant.0)
                .fetch_optional(&mut *conn)
                .await?;
        let wrapped = wrapped.ok_or(StoreError::NotFound { what: "tenant" })?;
        self.unwrap_tenant_key(tenant, &wrapped)
    }

    pub(super) fn unwrap_tenant_key(
        &self,
        tenant: TenantId,
        wrapped: &[u8],
    ) -> Result<TenantCipher> {
        Ok(TenantCipher::new(Some(tenant), self.master.unwrap(KeyOwner::Tenant(tenant), wrapped)?))
    }
}

/// The detail object of a mutation's audit event: the caller's source address plus `extra`.
pub(super) fn detail(actor: &Actor, extra: serde_json::Value) -> serde_json::Value {
    let mut obj = match extra {
        serde_json::Value::Object(m) => m,
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), other);
            m
        }
    };
    if let Some(ip) = actor.source_ip {
        obj.insert("source_ip".into(), json!(ip.to_string()));
    }
    serde_json::Value::Object(obj)
}

/// Appends one event to the chain inside `tx`. The chain head is read with the backend's
/// locking statement, so concurrent appends are serialized.
pub(super) async fn append_event(
    tx: &mut Transaction<'_, Db>,
    tenant: Option<TenantId>,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<AuditEvent> {
    let head = sqlx::query(super::SELECT_HEAD_FOR_UPDATE).fetch_one(&mut **tx).await?;
    let last = get_u64(&head, "seq")?;
    let prev: Vec<u8> = get(&head, "hash")?;
    let prev = ChainHash(
        prev.try_into().map_err(|_| StoreError::corrupt("audit head hash is not 32 bytes"))?,
    );
    let seq = last + 1;
    let at = now();
    let detail_json =
        serde_json::to_string(&detail).map_err(|e| StoreError::invalid("detail", e.to_string()))?;
    if detail_json.len() > 16 * 1024 {
        return Err(StoreError::invalid("detail", "at most 16 KiB"));
    }
    let canonical =
        AuditEvent::canonical_bytes(seq, at, tenant, actor, action, target, &detail_json);
    let hash = AuditEvent::chain_hash(&prev, &canonical);
    sqlx::query(
        "INSERT INTO audit_events (seq, at, tenant_id, actor, action, target, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(to_i64(seq, "seq")?)
    .bind(ts(at))
    .bind(tenant.map(|t| t.0))
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(&detail_json)
    .bind(&prev.0[..])
    .bind(&hash.0[..])
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(to_i64(seq, "seq")?)
        .bind(&hash.0[..])
        .execute(&mut **tx)
        .await?;
    Ok(AuditEvent {
        seq,
        at,
        tenant_id: tenant,
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
        prev_hash: prev,
        hash,
    })
}

/// Appends the audit event of a mutation made by `actor`.
pub(super) async fn audit(
    tx: &mut Transaction<'_, Db>,
    tenant: Option<TenantId>,
    actor: &Actor,
    action: &str,
    target: String,
    extra: serde_json::Value,
) -> Result<()> {
    append_event(tx, tenant, &actor.id, action, &target, detail(actor, extra)).await.map(|_| ())
}
