//! `FraudRepo` over this backend.

use time::OffsetDateTime;

use super::common::{Row, get, get_id, get_opt_id, get_ts, get_u64};
use super::{Db, begin_write, ts};
use crate::backend::{SqlStore, check_limit, map_fk};
use crate::error::{Result, StoreError};
use crate::repo::FraudRepo;
use crate::time_util::now;
use crate::types::*;

macro_rules! cols {
    () => {
        "id, tenant_id, at, extension_id, call_id, kind, severity, score, destination, actions, \
         signals, explanation"
    };
}

fn event_from_row(row: &Row) -> Result<FraudEventRecord> {
    let actions: String = get(row, "actions")?;
    let signals: String = get(row, "signals")?;
    let corrupt = |c: &str, e: serde_json::Error| StoreError::corrupt(format!("column {c}: {e}"));
    Ok(FraudEventRecord {
        id: get_id(row, "id")?,
        tenant_id: get_id(row, "tenant_id")?,
        event: NewFraudEvent {
            at: get_ts(row, "at")?,
            extension_id: get_opt_id(row, "extension_id")?,
            call_id: get(row, "call_id")?,
            kind: get(row, "kind")?,
            severity: get(row, "severity")?,
            score: u32::try_from(get_u64(row, "score")?)
                .map_err(|_| StoreError::corrupt("column score out of range"))?,
            destination: get(row, "destination")?,
            actions: serde_json::from_str(&actions).map_err(|e| corrupt("actions", e))?,
            signals: serde_json::from_str(&signals).map_err(|e| corrupt("signals", e))?,
            explanation: get(row, "explanation")?,
        },
    })
}

impl FraudRepo for SqlStore<Db> {
    async fn insert_fraud_event(
        &self,
        tenant: TenantId,
        event: NewFraudEvent,
    ) -> Result<FraudEventRecord> {
        event.validate()?;
        let id = FraudEventId::random();
        let mut tx = begin_write(&self.pool).await?;
        if let Some(ext) = event.extension_id {
            let found: Option<(uuid::Uuid,)> =
                sqlx::query_as("SELECT id FROM extensions WHERE id = $1 AND tenant_id = $2")
                    .bind(ext.0)
                    .bind(tenant.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            if found.is_none() {
                return Err(StoreError::NotFound { what: "extension" });
            }
        }
        let sql = concat!(
            "INSERT INTO fraud_events (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ",
            cols!()
        );
        let actions = serde_json::to_string(&event.actions)
            .map_err(|e| StoreError::invalid("actions", e.to_string()))?;
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(tenant.0)
            .bind(ts(event.at))
            .bind(event.extension_id.map(|e| e.0))
            .bind(&event.call_id)
            .bind(&event.kind)
            .bind(&event.severity)
            .bind(i64::from(event.score))
            .bind(&event.destination)
            .bind(actions)
            .bind(event.signals.to_string())
            .bind(&event.explanation)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)
            .map_err(|e| match map_fk(e, "tenant_id", "no such tenant") {
                StoreError::Invalid { .. } => StoreError::NotFound { what: "tenant" },
                other => other,
            })?;
        let stored = event_from_row(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn list_fraud_events(
        &self,
        tenant: TenantId,
        limit: u32,
        before: Option<OffsetDateTime>,
    ) -> Result<Vec<FraudEventRecord>> {
        let limit = check_limit(limit, MAX_PAGE_SIZE)?;
        let rows = match before {
            Some(b) => {
                let sql = concat!(
                    "SELECT ",
                    cols!(),
                    " FROM fraud_events WHERE tenant_id = $1 AND at < $2 ",
                    "ORDER BY at DESC, id DESC LIMIT $3"
                );
                sqlx::query(sql)
                    .bind(tenant.0)
                    .bind(ts(b))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = concat!(
                    "SELECT ",
                    cols!(),
                    " FROM fraud_events WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2"
                );
                sqlx::query(sql).bind(tenant.0).bind(limit).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(event_from_row).collect()
    }

    async fn save_fraud_state(&self, state: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO fraud_state (id, state, saved_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at",
        )
        .bind(state)
        .bind(ts(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn load_fraud_state(&self) -> Result<Option<FraudStateDoc>> {
        let row = sqlx::query("SELECT state, saved_at FROM fraud_state WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(FraudStateDoc { state: get(&r, "state")?, saved_at: get_ts(&r, "saved_at")? })
        })
        .transpose()
    }
}
