//! `CallRecordRepo` over this backend: inserts and keyset-paginated, filtered listing.

use std::fmt::Write as _;

use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::common::{Row, get, get_id, get_opt_id, get_opt_ts, get_parsed, get_ts, get_u64};
use super::{Db, Ts, begin_write, ts};
use crate::backend::{SqlStore, check_limit, map_fk};
use crate::error::{Result, StoreError};
use crate::repo::CallRecordRepo;
use crate::types::*;

macro_rules! cols {
    () => {
        "id, tenant_id, call_id, caller, callee, direction, started_at, answered_at, ended_at, \
         duration_s, disposition, sip_status, reason, transport, encrypted, from_extension_id, \
         to_extension_id, forwarded_by, forwarded_by_extension_id, forward_reason"
    };
}

/// Most extensions one history query may filter on.
const MAX_FILTER_EXTENSIONS: usize = 100;

fn record_from_row(row: &Row) -> Result<CallRecord> {
    let status: Option<i64> = get(row, "sip_status")?;
    let forward_reason: Option<String> = get(row, "forward_reason")?;
    Ok(CallRecord {
        id: get_id(row, "id")?,
        tenant_id: get_id(row, "tenant_id")?,
        call: NewCallRecord {
            call_id: get(row, "call_id")?,
            caller: get(row, "caller")?,
            callee: get(row, "callee")?,
            direction: get_parsed(row, "direction", CallDirection::parse)?,
            started_at: get_ts(row, "started_at")?,
            answered_at: get_opt_ts(row, "answered_at")?,
            ended_at: get_opt_ts(row, "ended_at")?,
            duration_s: u32::try_from(get_u64(row, "duration_s")?)
                .map_err(|_| StoreError::corrupt("duration_s out of range"))?,
            disposition: get_parsed(row, "disposition", Disposition::parse)?,
            sip_status: status
                .map(u16::try_from)
                .transpose()
                .map_err(|_| StoreError::corrupt("sip_status out of range"))?,
            reason: get(row, "reason")?,
            transport: get_parsed(row, "transport", Transport::parse)?,
            encrypted: get(row, "encrypted")?,
            from_extension_id: get_opt_id(row, "from_extension_id")?,
            to_extension_id: get_opt_id(row, "to_extension_id")?,
            forwarded_by: get(row, "forwarded_by")?,
            forwarded_by_extension_id: get_opt_id(row, "forwarded_by_extension_id")?,
            forward_reason: forward_reason
                .as_deref()
                .map(ForwardReason::parse)
                .transpose()
                .map_err(|_| StoreError::corrupt("forward_reason unknown"))?,
        },
    })
}

/// A bind value of a dynamically built query.
enum Arg {
    Uuid(Uuid),
    Ts(Ts),
    Text(&'static str),
    Int(i64),
}

type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

/// Binds a record's columns, in `cols!()` order.
fn bind_record<'q>(
    q: Query<'q>,
    id: CallRecordId,
    tenant: TenantId,
    r: &'q NewCallRecord,
) -> Query<'q> {
    q.bind(id.0)
        .bind(tenant.0)
        .bind(&r.call_id)
        .bind(&r.caller)
        .bind(&r.callee)
        .bind(r.direction.as_str())
        .bind(ts(r.started_at))
        .bind(r.answered_at.map(ts))
        .bind(r.ended_at.map(ts))
        .bind(i64::from(r.duration_s))
        .bind(r.disposition.as_str())
        .bind(r.sip_status.map(i64::from))
        .bind(&r.reason)
        .bind(r.transport.as_str())
        .bind(r.encrypted)
        .bind(r.from_extension_id.map(|e| e.0))
        .bind(r.to_extension_id.map(|e| e.0))
        .bind(&r.forwarded_by)
        .bind(r.forwarded_by_extension_id.map(|e| e.0))
        .bind(r.forward_reason.map(ForwardReason::as_str))
}

/// Inserts several records in one statement on `conn`; returns the ids inserted. A record
/// whose tenant is gone or one of whose extensions is not in its tenant is skipped (the
/// checks are part of the statement, so no constraint error aborts the others).
async fn insert_many(
    conn: &mut <Db as sqlx::Database>::Connection,
    records: &[(CallRecordId, TenantId, &NewCallRecord)],
) -> Result<std::collections::HashSet<Uuid>> {
    const COLS: usize = 20;
    let mut sql = String::with_capacity(1000 + records.len() * 120);
    sql.push_str(concat!("WITH v (", cols!(), ") AS (VALUES "));
    for r in 0..records.len() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..COLS {
            if c > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}", r * COLS + c + 1);
        }
        sql.push(')');
    }
    sql.push_str(concat!(
        ") INSERT INTO call_records (",
        cols!(),
        ") SELECT ",
        cols!(),
        " FROM v WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = v.tenant_id)",
        " AND (v.from_extension_id IS NULL OR EXISTS (SELECT 1 FROM extensions e",
        " WHERE e.id = v.from_extension_id AND e.tenant_id = v.tenant_id))",
        " AND (v.to_extension_id IS NULL OR EXISTS (SELECT 1 FROM extensions e",
        " WHERE e.id = v.to_extension_id AND e.tenant_id = v.tenant_id))",
        " AND (v.forwarded_by_extension_id IS NULL OR EXISTS (SELECT 1 FROM extensions e",
        " WHERE e.id = v.forwarded_by_extension_id AND e.tenant_id = v.tenant_id))",
        " RETURNING id"
    ));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (id, tenant, r) in records {
        q = bind_record(q, *id, *tenant, r);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter().map(|row| get::<Uuid>(row, "id")).collect()
}

impl CallRecordRepo for SqlStore<Db> {
    async fn insert_call_record(
        &self,
        tenant: TenantId,
        record: NewCallRecord,
    ) -> Result<CallRecord> {
        record.validate()?;
        for (field, ext) in [
            ("from_extension_id", record.from_extension_id),
            ("to_extension_id", record.to_extension_id),
            ("forwarded_by_extension_id", record.forwarded_by_extension_id),
        ] {
            if let Some(ext) = ext {
                let found =
                    sqlx::query("SELECT 1 FROM extensions WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.0)
                        .bind(ext.0)
                        .fetch_optional(&self.pool)
                        .await?;
                if found.is_none() {
                    return Err(StoreError::invalid(field, "no such extension in this tenant"));
                }
            }
        }
        let id = CallRecordId::random();
        let sql = concat!(
            "INSERT INTO call_records (",
            cols!(),
            ") ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING ",
            cols!()
        );
        let row = bind_record(sqlx::query(sql), id, tenant, &record)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| match map_fk(e.into(), "tenant_id", "no such tenant") {
                StoreError::Invalid { .. } => StoreError::NotFound { what: "tenant" },
                other => other,
            })?;
        record_from_row(&row)
    }

    async fn insert_call_records(
        &self,
        records: &[(TenantId, NewCallRecord)],
    ) -> Result<Vec<Result<()>>> {
        let mut out: Vec<Result<()>> = records.iter().map(|(_, r)| r.validate()).collect();
        let valid: Vec<(CallRecordId, TenantId, &NewCallRecord)> = records
            .iter()
            .zip(&out)
            .filter(|(_, v)| v.is_ok())
            .map(|((t, r), _)| (CallRecordId::random(), *t, r))
            .collect();
        if valid.is_empty() {
            return Ok(out);
        }
        let mut tx = begin_write(&self.pool).await?;
        let mut stored = std::collections::HashSet::new();
        for chunk in crate::backend::row_chunks(&valid) {
            stored.extend(insert_many(&mut tx, chunk).await?);
        }
        tx.commit().await?;
        let mut ids = valid.iter().map(|(id, _, _)| id.0);
        for r in out.iter_mut().filter(|r| r.is_ok()) {
            let id = ids.next().expect("one id per valid record");
            if !stored.contains(&id) {
                *r = Err(StoreError::invalid(
                    "tenant_id",
                    "no such tenant, or an extension of the record is not in this tenant",
                ));
            }
        }
        Ok(out)
    }

    async fn get_call_record(
        &self,
        tenant: TenantId,
        id: CallRecordId,
    ) -> Result<Option<CallRecord>> {
        let sql =
            concat!("SELECT ", cols!(), " FROM call_records WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sql).bind(tenant.0).bind(id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn list_call_records(
        &self,
        tenant: TenantId,
        filter: &CallFilter,
        limit: u32,
        after: Option<CallCursor>,
    ) -> Result<CallPage> {
        let limit = check_limit(limit, MAX_PAGE_SIZE)?;
        if filter.extension_ids.len() > MAX_FILTER_EXTENSIONS {
            return Err(StoreError::invalid("extension_ids", "at most 100 extensions per query"));
        }
        // Only placeholders and fixed text go into the SQL; every value is bound.
        let mut sql =
            String::from(concat!("SELECT ", cols!(), " FROM call_records WHERE tenant_id = $1"));
        let mut args = vec![Arg::Uuid(tenant.0)];
        let mut push = |sql: &mut String, fragment: &str, arg: Arg| {
            args.push(arg);
            let n = args.len();
            let _ = write!(sql, "{}", fragment.replace("$?", &format!("${n}")));
            n
        };
        if let Some(since) = filter.since {
            push(&mut sql, " AND started_at >= $?", Arg::Ts(ts(since)));
        }
        if let Some(until) = filter.until {
            push(&mut sql, " AND started_at < $?", Arg::Ts(ts(until)));
        }
        if let Some(d) = filter.direction {
            push(&mut sql, " AND direction = $?", Arg::Text(d.as_str()));
        }
        if let Some(d) = filter.disposition {
            push(&mut sql, " AND disposition = $?", Arg::Text(d.as_str()));
        }
        if !filter.extension_ids.is_empty() {
            let mut list = String::new();
            for (i, ext) in filter.extension_ids.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let n = push(&mut list, "", Arg::Uuid(ext.0));
                let _ = write!(list, "{sep}${n}");
            }
            let _ = write!(
                sql,
                " AND (from_extension_id IN ({list}) OR to_extension_id IN ({list}) \
                 OR forwarded_by_extension_id IN ({list}))"
            );
        }
        if let Some(c) = after {
            let t = push(&mut sql, "", Arg::Ts(ts(c.started_at)));
            let i = push(&mut sql, "", Arg::Uuid(c.id.0));
            let _ = write!(sql, " AND (started_at < ${t} OR (started_at = ${t} AND id < ${i}))");
        }
        let n = push(&mut sql, " ORDER BY started_at DESC, id DESC LIMIT $?", Arg::Int(limit + 1));
        debug_assert_eq!(n, args.len());
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for arg in args {
            q = match arg {
                Arg::Uuid(u) => q.bind(u),
                Arg::Ts(t) => q.bind(t),
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut records = rows.iter().map(record_from_row).collect::<Result<Vec<_>>>()?;
        let next = if records.len() as i64 > limit {
            records.truncate(limit as usize);
            records.last().map(|r| CallCursor { started_at: r.call.started_at, id: r.id })
        } else {
            None
        };
        Ok(CallPage { records, next })
    }
}
