//! `NumberRepo` over this backend.

use serde_json::json;

use super::common::{Row, audit, get_id, get_opt_id, get_parsed, get_ts};
use super::{Db, begin_write, ts};
use crate::backend::{SqlStore, map_unique};
use crate::error::{Result, StoreError};
use crate::repo::NumberRepo;
use crate::time_util::now;
use crate::types::*;

macro_rules! cols {
    () => {
        "id, tenant_id, e164, extension_id, created_at"
    };
}

const NOT_FOUND: StoreError = StoreError::NotFound { what: "phone number" };

fn number_from_row(row: &Row) -> Result<PhoneNumber> {
    Ok(PhoneNumber {
        id: get_id(row, "id")?,
        tenant_id: get_id(row, "tenant_id")?,
        e164: get_parsed(row, "e164", E164::parse)?,
        extension_id: get_opt_id(row, "extension_id")?,
        created_at: get_ts(row, "created_at")?,
    })
}

impl SqlStore<Db> {
    async fn check_extension(
        conn: &mut <Db as sqlx::Database>::Connection,
        tenant: TenantId,
        extension: Option<ExtensionId>,
        field: &'static str,
    ) -> Result<()> {
        let Some(ext) = extension else { return Ok(()) };
        let found = sqlx::query("SELECT 1 FROM extensions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(ext.0)
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_none() {
            return Err(StoreError::invalid(field, "no such extension in this tenant"));
        }
        Ok(())
    }
}

impl NumberRepo for SqlStore<Db> {
    async fn create_number(
        &self,
        tenant: TenantId,
        e164: &E164,
        extension_id: Option<ExtensionId>,
        actor: &Actor,
    ) -> Result<PhoneNumber> {
        let id = PhoneNumberId::random();
        let mut tx = begin_write(&self.pool).await?;
        let exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound { what: "tenant" });
        }
        Self::check_extension(&mut tx, tenant, extension_id, "extension_id").await?;
        let sql = concat!(
            "INSERT INTO phone_numbers (id, tenant_id, e164, extension_id, created_at) ",
            "VALUES ($1, $2, $3, $4, $5) RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(tenant.0)
            .bind(e164.as_str())
            .bind(extension_id.map(|e| e.0))
            .bind(ts(now()))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "phone number"))?;
        let number = number_from_row(&row)?;
        let extra =
            json!({ "e164": e164.as_str(), "extension_id": extension_id.map(|e| e.to_string()) });
        audit(&mut tx, Some(tenant), actor, "number.create", format!("number:{id}"), extra).await?;
        tx.commit().await?;
        Ok(number)
    }

    async fn get_number(&self, tenant: TenantId, id: PhoneNumberId) -> Result<Option<PhoneNumber>> {
        let sql =
            concat!("SELECT ", cols!(), " FROM phone_numbers WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sql).bind(tenant.0).bind(id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(number_from_row).transpose()
    }

    async fn list_numbers(&self, tenant: TenantId) -> Result<Vec<PhoneNumber>> {
        let sql =
            concat!("SELECT ", cols!(), " FROM phone_numbers WHERE tenant_id = $1 ORDER BY e164");
        let rows = sqlx::query(sql).bind(tenant.0).fetch_all(&self.pool).await?;
        rows.iter().map(number_from_row).collect()
    }

    async fn assign_number(
        &self,
        tenant: TenantId,
        id: PhoneNumberId,
        extension_id: Option<ExtensionId>,
        actor: &Actor,
    ) -> Result<PhoneNumber> {
        let mut tx = begin_write(&self.pool).await?;
        Self::check_extension(&mut tx, tenant, extension_id, "extension_id").await?;
        let sql = concat!(
            "UPDATE phone_numbers SET extension_id = $3 WHERE tenant_id = $1 AND id = $2 RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(tenant.0)
            .bind(id.0)
            .bind(extension_id.map(|e| e.0))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NOT_FOUND)?;
        let number = number_from_row(&row)?;
        let extra = json!({ "extension_id": extension_id.map(|e| e.to_string()) });
        audit(&mut tx, Some(tenant), actor, "number.assign", format!("number:{id}"), extra).await?;
        tx.commit().await?;
        Ok(number)
    }

    async fn delete_number(
        &self,
        tenant: TenantId,
        id: PhoneNumberId,
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let e164: Option<String> = sqlx::query_scalar(
            "DELETE FROM phone_numbers WHERE tenant_id = $1 AND id = $2 RETURNING e164",
        )
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let e164 = e164.ok_or(NOT_FOUND)?;
        audit(
            &mut tx,
            Some(tenant),
            actor,
            "number.delete",
            format!("number:{id}"),
            json!({ "e164": e164 }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn route_number(&self, e164: &E164) -> Result<Option<PhoneNumber>> {
        let sql = concat!("SELECT ", cols!(), " FROM phone_numbers WHERE e164 = $1");
        let row = sqlx::query(sql).bind(e164.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(number_from_row).transpose()
    }
}
