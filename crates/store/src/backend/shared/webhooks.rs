//! `WebhookRepo` over this backend. The secret is sealed with the tenant's data key, its
//! AAD naming the table, column and tenant.

use serde_json::json;

use super::common::{audit, get, get_id, get_ts};
use super::{Db, begin_write, ts};
use crate::backend::SqlStore;
use crate::crypto::Aad;
use crate::error::{Result, StoreError};
use crate::repo::WebhookRepo;
use crate::time_util::now;
use crate::types::*;

fn secret_aad(tenant: TenantId) -> Aad<'static> {
    Aad { tenant: Some(tenant), table: "tenant_webhooks", column: "secret", row: tenant.0 }
}

impl WebhookRepo for SqlStore<Db> {
    async fn set_webhook(
        &self,
        tenant: TenantId,
        url: &str,
        secret: &WebhookSecret,
        actor: &Actor,
    ) -> Result<Webhook> {
        validate_webhook_url(url)?;
        let mut tx = begin_write(&self.pool).await?;
        let cipher = self.cipher_for(&mut tx, Some(tenant)).await?;
        let sealed = cipher.seal(&secret_aad(tenant), secret.expose().as_bytes())?;
        let at = now();
        let row = sqlx::query(
            "INSERT INTO tenant_webhooks (tenant_id, url, secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, \
             updated_at = excluded.updated_at \
             RETURNING tenant_id, url, created_at, updated_at",
        )
        .bind(tenant.0)
        .bind(url)
        .bind(&sealed)
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await?;
        let stored = Webhook {
            tenant_id: get_id(&row, "tenant_id")?,
            url: get(&row, "url")?,
            secret: secret.clone(),
            created_at: get_ts(&row, "created_at")?,
            updated_at: get_ts(&row, "updated_at")?,
        };
        audit(
            &mut tx,
            Some(tenant),
            actor,
            "webhook.set",
            format!("tenant:{tenant}"),
            json!({ "url": url }),
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn get_webhook(&self, tenant: TenantId) -> Result<Option<Webhook>> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT tenant_id, url, secret, created_at, updated_at FROM tenant_webhooks \
             WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = get(&row, "secret")?;
        let cipher = self.cipher_for(&mut conn, Some(tenant)).await?;
        let plain = cipher.open(&secret_aad(tenant), &sealed)?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::corrupt("stored webhook secret is not text"))?;
        let secret = WebhookSecret::new(text)
            .map_err(|_| StoreError::corrupt("stored webhook secret is malformed"))?;
        Ok(Some(Webhook {
            tenant_id: get_id(&row, "tenant_id")?,
            url: get(&row, "url")?,
            secret,
            created_at: get_ts(&row, "created_at")?,
            updated_at: get_ts(&row, "updated_at")?,
        }))
    }

    async fn delete_webhook(&self, tenant: TenantId, actor: &Actor) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let done = sqlx::query("DELETE FROM tenant_webhooks WHERE tenant_id = $1")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "webhook" });
        }
        audit(
            &mut tx,
            Some(tenant),
            actor,
            "webhook.delete",
            format!("tenant:{tenant}"),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
