//! `TokenRepo` over this backend.

use serde_json::json;
use time::OffsetDateTime;

use super::common::{Row, audit, get, get_id, get_opt_id, get_opt_ts, get_parsed, get_ts};
use super::{Db, begin_write, ts};
use crate::backend::{SqlStore, map_fk, map_unique};
use crate::error::{Result, StoreError};
use crate::repo::TokenRepo;
use crate::time_util::now;
use crate::types::*;

macro_rules! cols {
    () => {
        "id, tenant_id, role, name, created_at, last_used_at, revoked_at"
    };
}

const NOT_FOUND: StoreError = StoreError::NotFound { what: "token" };

fn token_from_row(row: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: get_id(row, "id")?,
        tenant_id: get_opt_id(row, "tenant_id")?,
        role: get_parsed(row, "role", Role::parse)?,
        name: get(row, "name")?,
        created_at: get_ts(row, "created_at")?,
        last_used_at: get_opt_ts(row, "last_used_at")?,
        revoked_at: get_opt_ts(row, "revoked_at")?,
    })
}

impl TokenRepo for SqlStore<Db> {
    async fn create_token(&self, new: NewApiToken, actor: &Actor) -> Result<ApiToken> {
        new.role.check_scope(new.tenant_id)?;
        validate_token_name(&new.name)?;
        let id = TokenId::random();
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "INSERT INTO api_tokens (id, tenant_id, role, name, token_hash, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(new.tenant_id.map(|t| t.0))
            .bind(new.role.as_str())
            .bind(&new.name)
            .bind(&new.token_hash[..])
            .bind(ts(now()))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "token"))
            .map_err(|e| match map_fk(e, "tenant_id", "no such tenant") {
                StoreError::Invalid { .. } => StoreError::NotFound { what: "tenant" },
                other => other,
            })?;
        let token = token_from_row(&row)?;
        let extra = json!({ "name": new.name, "role": new.role.as_str() });
        audit(&mut tx, new.tenant_id, actor, "token.create", format!("token:{id}"), extra).await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<ApiToken>> {
        let sql = concat!("SELECT ", cols!(), " FROM api_tokens WHERE token_hash = $1");
        let row = sqlx::query(sql).bind(&hash[..]).fetch_optional(&self.pool).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn touch_token(&self, id: TokenId, at: OffsetDateTime) -> Result<()> {
        let done = sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(ts(at))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(NOT_FOUND) } else { Ok(()) }
    }

    async fn list_tokens(&self, scope: Option<TenantId>) -> Result<Vec<ApiToken>> {
        let sql = concat!(
            "SELECT ",
            cols!(),
            " FROM api_tokens WHERE tenant_id IS NOT DISTINCT FROM $1 ",
            "ORDER BY created_at DESC, id"
        );
        let rows = sqlx::query(sql).bind(scope.map(|t| t.0)).fetch_all(&self.pool).await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(
        &self,
        scope: Option<TenantId>,
        id: TokenId,
        actor: &Actor,
    ) -> Result<ApiToken> {
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) ",
            "WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(scope.map(|t| t.0))
            .bind(ts(now()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NOT_FOUND)?;
        let token = token_from_row(&row)?;
        audit(
            &mut tx,
            scope,
            actor,
            "token.revoke",
            format!("token:{id}"),
            json!({ "name": token.name }),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }
}
