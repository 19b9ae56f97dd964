//! `GuardRuleRepo` over this backend.

use serde_json::json;

use super::common::{Row, audit, get, get_id, get_opt_id, get_parsed, get_ts};
use super::{Db, begin_write, ts};
use crate::backend::{SqlStore, map_fk, map_unique};
use crate::error::{Result, StoreError};
use crate::repo::GuardRuleRepo;
use crate::time_util::now;
use crate::types::*;

macro_rules! cols {
    () => {
        "id, tenant_id, action, network, note, created_at"
    };
}

/// The same columns of `guard_rules g` in a join.
macro_rules! g_cols {
    () => {
        "g.id, g.tenant_id, g.action, g.network, g.note, g.created_at"
    };
}

const NOT_FOUND: StoreError = StoreError::NotFound { what: "guard rule" };

fn rule_from_row(row: &Row) -> Result<GuardRule> {
    Ok(GuardRule {
        id: get_id(row, "id")?,
        tenant_id: get_opt_id(row, "tenant_id")?,
        action: get_parsed(row, "action", GuardAction::parse)?,
        network: get_parsed(row, "network", |s| {
            s.parse().map_err(|_| StoreError::invalid("network", "not a network"))
        })?,
        note: get(row, "note")?,
        created_at: get_ts(row, "created_at")?,
    })
}

impl GuardRuleRepo for SqlStore<Db> {
    async fn create_guard_rule(&self, new: NewGuardRule, actor: &Actor) -> Result<GuardRule> {
        let new = new.validated()?;
        let id = GuardRuleId::random();
        let mut tx = begin_write(&self.pool).await?;
        let (in_scope, total): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM guard_rules WHERE tenant_id IS NOT DISTINCT FROM $1), \
             (SELECT COUNT(*) FROM guard_rules)",
        )
        .bind(new.tenant_id.map(|t| t.0))
        .fetch_one(&mut *tx)
        .await?;
        let scope_cap =
            if new.tenant_id.is_some() { MAX_TENANT_GUARD_RULES } else { MAX_GUARD_RULES };
        if in_scope >= scope_cap as i64 || total >= MAX_GUARD_RULES as i64 {
            return Err(StoreError::invalid(
                "network",
                format!(
                    "too many guard rules (at most {MAX_TENANT_GUARD_RULES} per tenant and \
                     {MAX_GUARD_RULES} in all)"
                ),
            ));
        }
        let sql = concat!(
            "INSERT INTO guard_rules (id, tenant_id, action, network, note, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(new.tenant_id.map(|t| t.0))
            .bind(new.action.as_str())
            .bind(new.network.to_string())
            .bind(&new.note)
            .bind(ts(now()))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "guard rule"))
            .map_err(|e| match map_fk(e, "tenant_id", "no such tenant") {
                StoreError::Invalid { .. } => StoreError::NotFound { what: "tenant" },
                other => other,
            })?;
        let rule = rule_from_row(&row)?;
        let extra = json!({
            "action": rule.action.as_str(),
            "network": rule.network.to_string(),
            "note": rule.note,
        });
        audit(
            &mut tx,
            rule.tenant_id,
            actor,
            "guard_rule.create",
            format!("guard_rule:{id}"),
            extra,
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }

    async fn list_guard_rules(&self, scope: Option<TenantId>) -> Result<Vec<GuardRule>> {
        let sql = concat!(
            "SELECT ",
            cols!(),
            " FROM guard_rules WHERE tenant_id IS NOT DISTINCT FROM $1 ",
            "ORDER BY created_at, id"
        );
        let rows = sqlx::query(sql).bind(scope.map(|t| t.0)).fetch_all(&self.pool).await?;
        rows.iter().map(rule_from_row).collect()
    }

    async fn all_guard_rules(&self) -> Result<Vec<(GuardRule, Option<SipDomain>)>> {
        let sql = concat!(
            "SELECT ",
            g_cols!(),
            ", t.domain FROM guard_rules g LEFT JOIN tenants t ON t.id = g.tenant_id ",
            "ORDER BY t.domain IS NOT NULL, t.domain, g.created_at, g.id"
        );
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let rule = rule_from_row(row)?;
                let domain: Option<String> = get(row, "domain")?;
                let domain = domain
                    .map(|d| {
                        SipDomain::parse(&d)
                            .map_err(|e| StoreError::corrupt(format!("column domain: {e}")))
                    })
                    .transpose()?;
                Ok((rule, domain))
            })
            .collect()
    }

    async fn delete_guard_rule(
        &self,
        scope: Option<TenantId>,
        id: GuardRuleId,
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "DELETE FROM guard_rules WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 ",
            "RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(scope.map(|t| t.0))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NOT_FOUND)?;
        let rule = rule_from_row(&row)?;
        let extra = json!({ "action": rule.action.as_str(), "network": rule.network.to_string() });
        audit(&mut tx, scope, actor, "guard_rule.delete", format!("guard_rule:{id}"), extra)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
