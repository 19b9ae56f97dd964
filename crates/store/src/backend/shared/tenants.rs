//! `TenantRepo` over this backend.

use serde_json::json;
use sqlx::types::Json;

use super::common::{Row, audit, get, get_id, get_parsed, get_ts};
use super::{Db, after_shred, begin_write, ts};
use crate::backend::{SqlStore, map_unique};
use crate::crypto::{DataKey, KeyOwner};
use crate::error::{Result, StoreError};
use crate::repo::TenantRepo;
use crate::time_util::now;
use crate::types::*;

macro_rules! cols {
    () => {
        "id, name, domain, settings, overrides, created_at, updated_at"
    };
}

fn tenant_from_row(row: &Row) -> Result<Tenant> {
    let settings: Json<TenantSettings> = get(row, "settings")?;
    let overrides: Json<PlatformOverrides> = get(row, "overrides")?;
    Ok(Tenant {
        id: get_id(row, "id")?,
        name: get(row, "name")?,
        domain: get_parsed(row, "domain", SipDomain::parse)?,
        settings: settings.0,
        overrides: overrides.0,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

impl TenantRepo for SqlStore<Db> {
    async fn create_tenant(&self, new: NewTenant, actor: &Actor) -> Result<Tenant> {
        validate_tenant_name(&new.name)?;
        new.settings.validate()?;
        let id = TenantId::random();
        let wrapped = self.master.wrap(KeyOwner::Tenant(id), &DataKey::generate()?)?;
        let at = now();
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "INSERT INTO tenants (id, name, domain, settings, wrapped_key, created_at, updated_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(&new.name)
            .bind(new.domain.as_str())
            .bind(Json(&new.settings))
            .bind(&wrapped)
            .bind(ts(at))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "tenant domain"))?;
        let tenant = tenant_from_row(&row)?;
        let extra = json!({ "name": new.name, "domain": new.domain.as_str() });
        audit(&mut tx, Some(id), actor, "tenant.create", format!("tenant:{id}"), extra).await?;
        tx.commit().await?;
        Ok(tenant)
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        let sql = concat!("SELECT ", cols!(), " FROM tenants WHERE id = $1");
        let row = sqlx::query(sql).bind(id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn get_tenant_by_domain(&self, domain: &SipDomain) -> Result<Option<Tenant>> {
        let sql = concat!("SELECT ", cols!(), " FROM tenants WHERE domain = $1");
        let row = sqlx::query(sql).bind(domain.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let sql = concat!("SELECT ", cols!(), " FROM tenants ORDER BY name, id");
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(tenant_from_row).collect()
    }

    async fn rename_tenant(&self, id: TenantId, name: &str, actor: &Actor) -> Result<Tenant> {
        validate_tenant_name(name)?;
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "UPDATE tenants SET name = $2, updated_at = $3 WHERE id = $1 RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(name)
            .bind(ts(now()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "tenant" })?;
        let tenant = tenant_from_row(&row)?;
        audit(
            &mut tx,
            Some(id),
            actor,
            "tenant.rename",
            format!("tenant:{id}"),
            json!({ "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(tenant)
    }

    async fn update_tenant_settings(
        &self,
        id: TenantId,
        settings: TenantSettings,
        actor: &Actor,
    ) -> Result<Tenant> {
        settings.validate()?;
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "UPDATE tenants SET settings = $2, updated_at = $3 WHERE id = $1 RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(Json(&settings))
            .bind(ts(now()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "tenant" })?;
        let tenant = tenant_from_row(&row)?;
        let mut logged = serde_json::to_value(&settings).unwrap_or_default();
        // A webhook URL often carries a bearer secret in its path: log only that it is set.
        if settings.notifications.webhook_url.is_some() {
            logged["notifications"]["webhook_url"] = json!("(set)");
        }
        let extra = json!({ "settings": logged });
        audit(&mut tx, Some(id), actor, "tenant.update_settings", format!("tenant:{id}"), extra)
            .await?;
        tx.commit().await?;
        Ok(tenant)
    }

    async fn set_platform_overrides(
        &self,
        id: TenantId,
        overrides: PlatformOverrides,
        actor: &Actor,
    ) -> Result<Tenant> {
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "UPDATE tenants SET overrides = $2, updated_at = $3 WHERE id = $1 RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(Json(&overrides))
            .bind(ts(now()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "tenant" })?;
        let tenant = tenant_from_row(&row)?;
        let extra = json!({ "overrides": overrides });
        audit(&mut tx, Some(id), actor, "tenant.set_overrides", format!("tenant:{id}"), extra)
            .await?;
        tx.commit().await?;
        Ok(tenant)
    }

    async fn delete_tenant(&self, id: TenantId, actor: &Actor) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        // One statement: the foreign keys cascade to every row of the tenant, and the wrapped
        // data key goes with the tenant row.
        let domain: Option<String> =
            sqlx::query_scalar("DELETE FROM tenants WHERE id = $1 RETURNING domain")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
        let domain = domain.ok_or(StoreError::NotFound { what: "tenant" })?;
        let extra = json!({ "domain": domain, "data_key": "destroyed" });
        audit(&mut tx, Some(id), actor, "tenant.delete", format!("tenant:{id}"), extra).await?;
        tx.commit().await?;
        after_shred(&self.pool).await;
        Ok(())
    }
}
