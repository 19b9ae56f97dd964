//! `RegistrationRepo` over this backend.

use std::collections::HashSet;

use time::OffsetDateTime;

use super::common::{Row, get, get_id, get_parsed, get_ts, get_u64};
use super::{Db, begin_write, ts};
use crate::backend::{SqlStore, map_fk};
use crate::error::{Result, StoreError};
use crate::repo::RegistrationRepo;
use crate::time_util::now;
use crate::types::*;

macro_rules! cols {
    () => {
        "tenant_id, extension_id, contact_uri, source, transport, expires_at, call_id, cseq, \
         instance_id, reg_id, user_agent, path"
    };
}

fn binding_from_row(row: &Row) -> Result<RegistrationBinding> {
    let path: String = get(row, "path")?;
    let reg_id: Option<i64> = get(row, "reg_id")?;
    Ok(RegistrationBinding {
        tenant_id: get_id(row, "tenant_id")?,
        extension_id: get_id(row, "extension_id")?,
        contact_uri: get(row, "contact_uri")?,
        source: get_parsed(row, "source", |s| {
            s.parse().map_err(|_| StoreError::corrupt("source is not a socket address"))
        })?,
        transport: get_parsed(row, "transport", Transport::parse)?,
        expires_at: get_ts(row, "expires_at")?,
        call_id: get(row, "call_id")?,
        cseq: u32::try_from(get_u64(row, "cseq")?)
            .map_err(|_| StoreError::corrupt("cseq out of range"))?,
        instance_id: get(row, "instance_id")?,
        reg_id: reg_id
            .map(u32::try_from)
            .transpose()
            .map_err(|_| StoreError::corrupt("reg_id out of range"))?,
        user_agent: get(row, "user_agent")?,
        path: serde_json::from_str(&path)
            .map_err(|_| StoreError::corrupt("path is not a JSON string list"))?,
    })
}

/// Adds or refreshes a binding on `conn`; false when the extension is not in the binding's
/// tenant. The existence check is part of the statement (no foreign-key error), so inside a
/// batch transaction a vanished extension skips its change instead of aborting the batch.
async fn upsert_on(
    conn: &mut <Db as sqlx::Database>::Connection,
    b: &RegistrationBinding,
) -> Result<bool> {
    b.validate()?;
    let stored = upsert_many(conn, std::iter::once(b)).await.map_err(|e| match e {
        StoreError::Invalid { .. } => StoreError::NotFound { what: "extension" },
        other => other,
    })?;
    Ok(!stored.is_empty())
}

async fn remove_on(
    conn: &mut <Db as sqlx::Database>::Connection,
    tenant: TenantId,
    extension: ExtensionId,
    contact_uri: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM registration_bindings WHERE tenant_id = $1 AND extension_id = $2 AND contact_uri = $3",
    )
    .bind(tenant.0)
    .bind(extension.0)
    .bind(contact_uri)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

fn change_key(change: &BindingChange) -> (ExtensionId, &str) {
    match change {
        BindingChange::Upsert(b) => (b.extension_id, b.contact_uri.as_str()),
        BindingChange::Remove { extension, contact_uri, .. } => (*extension, contact_uri.as_str()),
    }
}

/// Applies the changes `run` indexes (no binding twice): upserts first, then removes.
/// An upsert whose extension is not in its tenant gets `NotFound` in `out`.
async fn apply_run(
    conn: &mut <Db as sqlx::Database>::Connection,
    changes: &[BindingChange],
    run: &[usize],
    out: &mut [Result<()>],
) -> Result<()> {
    let upserts: Vec<(usize, &RegistrationBinding)> = run
        .iter()
        .filter_map(|&i| match &changes[i] {
            BindingChange::Upsert(b) => Some((i, b)),
            BindingChange::Remove { .. } => None,
        })
        .collect();
    for chunk in crate::backend::row_chunks(&upserts) {
        let stored = upsert_many(conn, chunk.iter().map(|(_, b)| *b)).await?;
        for (i, b) in chunk {
            if !stored.contains(&(b.extension_id, b.contact_uri.clone())) {
                out[*i] = Err(StoreError::NotFound { what: "extension" });
            }
        }
    }
    let removes: Vec<(TenantId, ExtensionId, &str)> = run
        .iter()
        .filter_map(|&i| match &changes[i] {
            BindingChange::Remove { tenant, extension, contact_uri } => {
                Some((*tenant, *extension, contact_uri.as_str()))
            }
            BindingChange::Upsert(_) => None,
        })
        .collect();
    for chunk in crate::backend::row_chunks(&removes) {
        remove_many(conn, chunk).await?;
    }
    Ok(())
}

/// Adds or refreshes several distinct bindings in one statement; returns the keys stored
/// (a binding whose extension is not in its tenant is skipped, as in [`upsert_on`]).
async fn upsert_many<'a>(
    conn: &mut <Db as sqlx::Database>::Connection,
    bindings: impl ExactSizeIterator<Item = &'a RegistrationBinding> + Clone,
) -> Result<HashSet<(ExtensionId, String)>> {
    let rows = bindings.len();
    if rows == 0 {
        return Ok(HashSet::new());
    }
    let mut sql = String::with_capacity(400 + rows * 64);
    sql.push_str("WITH v (");
    sql.push_str(cols!());
    sql.push_str(", updated_at) AS (VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..13 {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * 13 + c + 1).to_string());
        }
        sql.push(')');
    }
    sql.push_str(concat!(
        ") INSERT INTO registration_bindings (",
        cols!(),
        ", updated_at) SELECT ",
        cols!(),
        ", updated_at FROM v ",
        "WHERE EXISTS (SELECT 1 FROM extensions e WHERE e.id = v.extension_id AND e.tenant_id = v.tenant_id) ",
        "ON CONFLICT (extension_id, contact_uri) DO UPDATE SET source = excluded.source, ",
        "transport = excluded.transport, expires_at = excluded.expires_at, call_id = excluded.call_id, ",
        "cseq = excluded.cseq, instance_id = excluded.instance_id, reg_id = excluded.reg_id, ",
        "user_agent = excluded.user_agent, path = excluded.path, updated_at = excluded.updated_at ",
        "WHERE registration_bindings.tenant_id = excluded.tenant_id ",
        "RETURNING extension_id, contact_uri"
    ));
    let updated = ts(now());
    let mut paths = Vec::with_capacity(rows);
    for b in bindings.clone() {
        paths.push(
            serde_json::to_string(&b.path)
                .map_err(|e| StoreError::invalid("path", e.to_string()))?,
        );
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (b, path) in bindings.zip(paths) {
        q = q
            .bind(b.tenant_id.0)
            .bind(b.extension_id.0)
            .bind(&b.contact_uri)
            .bind(b.source.to_string())
            .bind(b.transport.as_str())
            .bind(ts(b.expires_at))
            .bind(&b.call_id)
            .bind(i64::from(b.cseq))
            .bind(&b.instance_id)
            .bind(b.reg_id.map(i64::from))
            .bind(&b.user_agent)
            .bind(path)
            .bind(updated);
    }
    let stored = q
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| map_fk(e.into(), "extension_id", "no such extension in this tenant"))?;
    stored
        .iter()
        .map(|row| Ok((get_id(row, "extension_id")?, get::<String>(row, "contact_uri")?)))
        .collect()
}

/// Removes several bindings in one statement.
async fn remove_many(
    conn: &mut <Db as sqlx::Database>::Connection,
    keys: &[(TenantId, ExtensionId, &str)],
) -> Result<()> {
    let mut sql = String::from(
        "DELETE FROM registration_bindings WHERE (tenant_id, extension_id, contact_uri) IN (VALUES ",
    );
    for r in 0..keys.len() {
        if r > 0 {
            sql.push_str(", ");
        }
        let n = r * 3;
        sql.push_str(&format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
    }
    sql.push(')');
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (tenant, extension, contact_uri) in keys {
        q = q.bind(tenant.0).bind(extension.0).bind(*contact_uri);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

impl RegistrationRepo for SqlStore<Db> {
    async fn upsert_binding(&self, b: &RegistrationBinding) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        match upsert_on(&mut conn, b).await? {
            true => Ok(()),
            false => Err(StoreError::NotFound { what: "extension" }),
        }
    }

    async fn apply_binding_changes(&self, changes: &[BindingChange]) -> Result<Vec<Result<()>>> {
        // Validate first so a bad change never costs the batch its transaction.
        let mut out: Vec<Result<()>> = changes
            .iter()
            .map(|c| match c {
                BindingChange::Upsert(b) => b.validate(),
                BindingChange::Remove { .. } => Ok(()),
            })
            .collect();
        if changes.is_empty() {
            return Ok(out);
        }
        let mut tx = begin_write(&self.pool).await?;
        // Changes to distinct bindings commute, so each run of changes that touches no
        // binding twice is written as one multi-row upsert and one multi-row delete: a few
        // statements per batch instead of one per change.
        let mut run: Vec<usize> = Vec::new();
        let mut keys: HashSet<(ExtensionId, &str)> = HashSet::new();
        for (i, change) in changes.iter().enumerate() {
            if out[i].is_err() {
                continue;
            }
            if !keys.insert(change_key(change)) {
                apply_run(&mut tx, changes, &run, &mut out).await?;
                run.clear();
                keys.clear();
                keys.insert(change_key(change));
            }
            run.push(i);
        }
        apply_run(&mut tx, changes, &run, &mut out).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn remove_binding(
        &self,
        tenant: TenantId,
        extension: ExtensionId,
        contact_uri: &str,
    ) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        remove_on(&mut conn, tenant, extension, contact_uri).await
    }

    async fn remove_bindings(&self, tenant: TenantId, extension: ExtensionId) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM registration_bindings WHERE tenant_id = $1 AND extension_id = $2",
        )
        .bind(tenant.0)
        .bind(extension.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_bindings(
        &self,
        tenant: TenantId,
        extension: ExtensionId,
        now: OffsetDateTime,
    ) -> Result<Vec<RegistrationBinding>> {
        let sql = concat!(
            "SELECT ",
            cols!(),
            " FROM registration_bindings ",
            "WHERE tenant_id = $1 AND extension_id = $2 AND expires_at > $3 ORDER BY contact_uri"
        );
        let rows = sqlx::query(sql)
            .bind(tenant.0)
            .bind(extension.0)
            .bind(ts(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(binding_from_row).collect()
    }

    async fn active_bindings(&self, now: OffsetDateTime) -> Result<Vec<RegistrationBinding>> {
        let sql = concat!(
            "SELECT ",
            cols!(),
            " FROM registration_bindings WHERE expires_at > $1 ",
            "ORDER BY tenant_id, extension_id, contact_uri"
        );
        let rows = sqlx::query(sql).bind(ts(now)).fetch_all(&self.pool).await?;
        rows.iter().map(binding_from_row).collect()
    }

    async fn purge_expired_bindings(&self, now: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM registration_bindings WHERE expires_at <= $1")
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
