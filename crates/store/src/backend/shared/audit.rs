//! `AuditRepo` over this backend: append, list and verify the hash chain.

use super::common::{Row, append_event, detail, get, get_opt_id, get_ts, get_u64, to_i64};
use super::{Db, begin_write};
use crate::backend::{SqlStore, check_limit};
use crate::error::{Result, StoreError};
use crate::repo::AuditRepo;
use crate::types::*;

macro_rules! cols {
    () => {
        "seq, at, tenant_id, actor, action, target, detail, prev_hash, hash"
    };
}

/// Events read per round trip while verifying.
const VERIFY_BATCH: i64 = 256;

fn hash_col(row: &Row, col: &str) -> Result<ChainHash> {
    let v: Vec<u8> = get(row, col)?;
    v.try_into().map(ChainHash).map_err(|_| StoreError::corrupt(format!("{col} is not 32 bytes")))
}

/// The event as stored, plus its detail text exactly as hashed.
fn event_from_row(row: &Row) -> Result<(AuditEvent, String)> {
    let detail_json: String = get(row, "detail")?;
    let detail = serde_json::from_str(&detail_json).unwrap_or(serde_json::Value::Null);
    let event = AuditEvent {
        seq: get_u64(row, "seq")?,
        at: get_ts(row, "at")?,
        tenant_id: get_opt_id(row, "tenant_id")?,
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        target: get(row, "target")?,
        detail,
        prev_hash: hash_col(row, "prev_hash")?,
        hash: hash_col(row, "hash")?,
    };
    Ok((event, detail_json))
}

impl AuditRepo for SqlStore<Db> {
    async fn append_audit(&self, entry: AuditEntry) -> Result<AuditEvent> {
        entry.validate()?;
        let detail = detail(&entry.actor, entry.detail);
        let mut tx = begin_write(&self.pool).await?;
        let event = append_event(
            &mut tx,
            entry.tenant_id,
            &entry.actor.id,
            &entry.action,
            &entry.target,
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn list_audit(
        &self,
        scope: Option<TenantId>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>> {
        let limit = check_limit(limit, 1000)?;
        let before = before.map_or(Ok(i64::MAX), |b| to_i64(b, "before"))?;
        let rows = match scope {
            Some(t) => {
                let sql = concat!(
                    "SELECT ",
                    cols!(),
                    " FROM audit_events WHERE tenant_id = $1 AND seq < $2 ",
                    "ORDER BY seq DESC LIMIT $3"
                );
                sqlx::query(sql).bind(t.0).bind(before).bind(limit).fetch_all(&self.pool).await?
            }
            None => {
                let sql = concat!(
                    "SELECT ",
                    cols!(),
                    " FROM audit_events WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
                );
                sqlx::query(sql).bind(before).bind(limit).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(|r| event_from_row(r).map(|(e, _)| e)).collect()
    }

    async fn verify_audit_chain(&self) -> Result<ChainReport> {
        // The head is read first and bounds the walk: events appended while we verify are
        // past it and are left for the next run, so concurrent appends never look like damage.
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let head_seq = get_u64(&head, "seq")?;
        let head_hash = hash_col(&head, "hash")?;
        let mut expected: u64 = 1;
        let mut prev = ChainHash::default();
        let mut checked = 0u64;
        let broken = |checked, seq, kind| {
            Ok(ChainReport { events_checked: checked, first_break: Some(ChainBreak { seq, kind }) })
        };
        loop {
            let sql = concat!(
                "SELECT ",
                cols!(),
                " FROM audit_events WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3"
            );
            let rows = sqlx::query(sql)
                .bind(to_i64(expected, "seq")?)
                .bind(to_i64(head_seq, "seq")?)
                .bind(VERIFY_BATCH)
                .fetch_all(&self.pool)
                .await?;
            let batch = rows.len();
            for row in &rows {
                let (e, detail_json) = event_from_row(row)?;
                if e.seq != expected {
                    return broken(checked, expected, BreakKind::Missing);
                }
                if e.prev_hash != prev {
                    return broken(checked, e.seq, BreakKind::LinkBroken);
                }
                let canonical = AuditEvent::canonical_bytes(
                    e.seq,
                    e.at,
                    e.tenant_id,
                    &e.actor,
                    &e.action,
                    &e.target,
                    &detail_json,
                );
                if AuditEvent::chain_hash(&prev, &canonical) != e.hash {
                    return broken(checked, e.seq, BreakKind::ContentChanged);
                }
                prev = e.hash;
                expected += 1;
                checked += 1;
            }
            if (batch as i64) < VERIFY_BATCH {
                break;
            }
        }
        if head_seq != expected - 1 || head_hash != prev {
            return broken(checked, head_seq, BreakKind::HeadMismatch);
        }
        Ok(ChainReport { events_checked: checked, first_break: None })
    }
}
