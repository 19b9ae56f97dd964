//! `ExtensionRepo` over this backend. SIP credentials are sealed under the tenant's data key
//! with AAD (tenant, `extensions`, `sip_credentials`, extension id).

use serde_json::json;
use sqlx::Row as _;

use super::common::{Row, audit, get, get_id, get_opt_id, get_opt_ts, get_parsed, get_ts};
use super::{Db, begin_write, ts};
use crate::backend::{SqlStore, map_unique};
use crate::crypto::{Aad, TenantCipher};
use crate::error::{Result, StoreError};
use crate::repo::ExtensionRepo;
use crate::time_util::now;
use crate::types::*;

macro_rules! cols {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "tenant_id, ",
            $p,
            "number, ",
            $p,
            "display_name, ",
            $p,
            "owner_user_id, ",
            $p,
            "enabled, ",
            $p,
            "sip_credentials IS NOT NULL AS has_sip_credentials, ",
            $p,
            "secret_set_at, ",
            $p,
            "pin_hash, ",
            $p,
            "pin_set_at, ",
            $p,
            "created_at, ",
            $p,
            "restrictions, ",
            $p,
            "forwarding"
        )
    };
}

const NOT_FOUND: StoreError = StoreError::NotFound { what: "extension" };

fn extension_from_row(row: &Row) -> Result<Extension> {
    Ok(Extension {
        id: get_id(row, "id")?,
        tenant_id: get_id(row, "tenant_id")?,
        number: get_parsed(row, "number", ExtensionNumber::parse)?,
        display_name: get(row, "display_name")?,
        owner_user_id: get_opt_id(row, "owner_user_id")?,
        enabled: get(row, "enabled")?,
        has_sip_credentials: get(row, "has_sip_credentials")?,
        secret_set_at: get_opt_ts(row, "secret_set_at")?,
        pin_hash: get(row, "pin_hash")?,
        pin_set_at: get_opt_ts(row, "pin_set_at")?,
        created_at: get_ts(row, "created_at")?,
        restrictions: get::<sqlx::types::Json<CallingRestrictions>>(row, "restrictions")?.0,
        forwarding: get::<sqlx::types::Json<CallForwarding>>(row, "forwarding")?.0,
    })
}

fn creds_aad(tenant: TenantId, id: ExtensionId) -> Aad<'static> {
    Aad { tenant: Some(tenant), table: "extensions", column: "sip_credentials", row: id.0 }
}

/// Opens the stored credentials of a row that has `sip_realm` and `sip_credentials` columns.
fn open_credentials(
    cipher: &TenantCipher,
    row: &Row,
    tenant: TenantId,
    id: ExtensionId,
) -> Result<Option<SipCredentials>> {
    let Some(sealed) = row.try_get::<Option<Vec<u8>>, _>("sip_credentials")? else {
        return Ok(None);
    };
    let realm: String = row
        .try_get::<Option<String>, _>("sip_realm")?
        .ok_or_else(|| StoreError::corrupt("SIP credentials without a realm"))?;
    let plain = cipher.open(&creds_aad(tenant, id), &sealed)?;
    SipCredentials::from_plaintext(&realm, &plain).map(Some)
}

impl SqlStore<Db> {
    /// The tenant's domain and cipher inside `conn`; `missing` if there is no such tenant.
    async fn tenant_domain_cipher(
        &self,
        conn: &mut <Db as sqlx::Database>::Connection,
        tenant: TenantId,
        missing: StoreError,
    ) -> Result<(String, TenantCipher)> {
        let row = sqlx::query("SELECT domain, wrapped_key FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(missing)?;
        let wrapped: Vec<u8> = get(&row, "wrapped_key")?;
        Ok((get(&row, "domain")?, self.unwrap_tenant_key(tenant, &wrapped)?))
    }

    async fn check_owner(
        conn: &mut <Db as sqlx::Database>::Connection,
        tenant: TenantId,
        owner: Option<UserId>,
    ) -> Result<()> {
        let Some(owner) = owner else { return Ok(()) };
        let found = sqlx::query("SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(owner.0)
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_none() {
            return Err(StoreError::invalid("owner_user_id", "no such user in this tenant"));
        }
        Ok(())
    }
}

fn check_realm(creds: &SipCredentials, domain: &str) -> Result<()> {
    if creds.realm() == domain {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "realm",
            "SIP credentials must be computed for the tenant's domain",
        ))
    }
}

impl ExtensionRepo for SqlStore<Db> {
    async fn create_extension(
        &self,
        tenant: TenantId,
        new: NewExtension,
        actor: &Actor,
    ) -> Result<Extension> {
        validate_display_name(&new.display_name)?;
        if let Some(h) = &new.pin_hash {
            validate_password_hash("pin_hash", h)?;
        }
        let id = ExtensionId::random();
        let at = ts(now());
        let mut tx = begin_write(&self.pool).await?;
        let (domain, cipher) = self
            .tenant_domain_cipher(&mut tx, tenant, StoreError::NotFound { what: "tenant" })
            .await?;
        Self::check_owner(&mut tx, tenant, new.owner_user_id).await?;
        let (realm, sealed, secret_at) = match &new.sip_credentials {
            Some(c) => {
                check_realm(c, &domain)?;
                (
                    Some(domain.clone()),
                    Some(cipher.seal(&creds_aad(tenant, id), &c.to_plaintext())?),
                    Some(at),
                )
            }
            None => (None, None, None),
        };
        let pin_at = new.pin_hash.as_ref().map(|_| at);
        let sql = concat!(
            "INSERT INTO extensions (id, tenant_id, number, display_name, owner_user_id, enabled, ",
            "sip_realm, sip_credentials, secret_set_at, pin_hash, pin_set_at, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ",
            cols!("")
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(tenant.0)
            .bind(new.number.as_str())
            .bind(&new.display_name)
            .bind(new.owner_user_id.map(|u| u.0))
            .bind(new.enabled)
            .bind(realm)
            .bind(sealed)
            .bind(secret_at)
            .bind(&new.pin_hash)
            .bind(pin_at)
            .bind(at)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "extension number"))?;
        let ext = extension_from_row(&row)?;
        let extra = json!({ "number": new.number.as_str(), "enabled": new.enabled });
        audit(&mut tx, Some(tenant), actor, "extension.create", format!("extension:{id}"), extra)
            .await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn get_extension(&self, tenant: TenantId, id: ExtensionId) -> Result<Option<Extension>> {
        let sql =
            concat!("SELECT ", cols!(""), " FROM extensions WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sql).bind(tenant.0).bind(id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(extension_from_row).transpose()
    }

    async fn get_extension_by_number(
        &self,
        tenant: TenantId,
        number: &ExtensionNumber,
    ) -> Result<Option<Extension>> {
        let sql =
            concat!("SELECT ", cols!(""), " FROM extensions WHERE tenant_id = $1 AND number = $2");
        let row = sqlx::query(sql)
            .bind(tenant.0)
            .bind(number.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(extension_from_row).transpose()
    }

    async fn list_extensions(&self, tenant: TenantId) -> Result<Vec<Extension>> {
        // Numbers sort by length first, so 99 comes before 100.
        let sql = concat!(
            "SELECT ",
            cols!(""),
            " FROM extensions WHERE tenant_id = $1 ORDER BY length(number), number"
        );
        let rows = sqlx::query(sql).bind(tenant.0).fetch_all(&self.pool).await?;
        rows.iter().map(extension_from_row).collect()
    }

    async fn update_extension(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        update: ExtensionUpdate,
        actor: &Actor,
    ) -> Result<Extension> {
        if let Some(name) = &update.display_name {
            validate_display_name(name)?;
        }
        let mut tx = begin_write(&self.pool).await?;
        if let Some(owner) = update.owner_user_id {
            Self::check_owner(&mut tx, tenant, owner).await?;
        }
        let sql = concat!(
            "UPDATE extensions SET display_name = COALESCE($3, display_name), ",
            "enabled = COALESCE($4, enabled), ",
            "owner_user_id = CASE WHEN $5 THEN $6 ELSE owner_user_id END ",
            "WHERE tenant_id = $1 AND id = $2 RETURNING ",
            cols!("")
        );
        let row = sqlx::query(sql)
            .bind(tenant.0)
            .bind(id.0)
            .bind(&update.display_name)
            .bind(update.enabled)
            .bind(update.owner_user_id.is_some())
            .bind(update.owner_user_id.flatten().map(|u| u.0))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NOT_FOUND)?;
        let ext = extension_from_row(&row)?;
        let extra = json!({
            "display_name": update.display_name,
            "enabled": update.enabled,
            "owner_user_id": update.owner_user_id.map(|o| o.map(|u| u.to_string())),
        });
        audit(&mut tx, Some(tenant), actor, "extension.update", format!("extension:{id}"), extra)
            .await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn set_calling_restrictions(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        restrictions: &CallingRestrictions,
        actor: &Actor,
    ) -> Result<Extension> {
        restrictions.validate()?;
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "UPDATE extensions SET restrictions = $3 WHERE tenant_id = $1 AND id = $2 RETURNING ",
            cols!("")
        );
        let row = sqlx::query(sql)
            .bind(tenant.0)
            .bind(id.0)
            .bind(sqlx::types::Json(restrictions))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NOT_FOUND)?;
        let ext = extension_from_row(&row)?;
        let extra = json!({ "restrictions": restrictions });
        audit(
            &mut tx,
            Some(tenant),
            actor,
            "extension.set_restrictions",
            format!("extension:{id}"),
            extra,
        )
        .await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn set_call_forwarding(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        forwarding: &CallForwarding,
        actor: &Actor,
    ) -> Result<Extension> {
        forwarding.validate()?;
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "UPDATE extensions SET forwarding = $3 WHERE tenant_id = $1 AND id = $2 RETURNING ",
            cols!("")
        );
        let row = sqlx::query(sql)
            .bind(tenant.0)
            .bind(id.0)
            .bind(sqlx::types::Json(forwarding))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NOT_FOUND)?;
        let ext = extension_from_row(&row)?;
        let extra = json!({ "forwarding": forwarding });
        audit(
            &mut tx,
            Some(tenant),
            actor,
            "extension.set_forwarding",
            format!("extension:{id}"),
            extra,
        )
        .await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn set_sip_credentials(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        credentials: &SipCredentials,
        actor: &Actor,
    ) -> Result<Extension> {
        let mut tx = begin_write(&self.pool).await?;
        let (domain, cipher) = self.tenant_domain_cipher(&mut tx, tenant, NOT_FOUND).await?;
        check_realm(credentials, &domain)?;
        let sealed = cipher.seal(&creds_aad(tenant, id), &credentials.to_plaintext())?;
        let sql = concat!(
            "UPDATE extensions SET sip_realm = $3, sip_credentials = $4, secret_set_at = $5 ",
            "WHERE tenant_id = $1 AND id = $2 RETURNING ",
            cols!("")
        );
        let row = sqlx::query(sql)
            .bind(tenant.0)
            .bind(id.0)
            .bind(&domain)
            .bind(&sealed)
            .bind(ts(now()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NOT_FOUND)?;
        let ext = extension_from_row(&row)?;
        audit(
            &mut tx,
            Some(tenant),
            actor,
            "extension.set_sip_secret",
            format!("extension:{id}"),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn set_voicemail_pin(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        pin_hash: &str,
        actor: &Actor,
    ) -> Result<Extension> {
        validate_password_hash("pin_hash", pin_hash)?;
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "UPDATE extensions SET pin_hash = $3, pin_set_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING ",
            cols!("")
        );
        let row = sqlx::query(sql)
            .bind(tenant.0)
            .bind(id.0)
            .bind(pin_hash)
            .bind(ts(now()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NOT_FOUND)?;
        let ext = extension_from_row(&row)?;
        audit(
            &mut tx,
            Some(tenant),
            actor,
            "extension.set_pin",
            format!("extension:{id}"),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn get_sip_credentials(
        &self,
        tenant: TenantId,
        id: ExtensionId,
    ) -> Result<Option<SipCredentials>> {
        let row = sqlx::query(
            "SELECT e.sip_realm, e.sip_credentials, t.wrapped_key FROM extensions e \
             JOIN tenants t ON t.id = e.tenant_id WHERE e.tenant_id = $1 AND e.id = $2",
        )
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(NOT_FOUND)?;
        let wrapped: Vec<u8> = get(&row, "wrapped_key")?;
        open_credentials(&self.unwrap_tenant_key(tenant, &wrapped)?, &row, tenant, id)
    }

    async fn find_sip_account(
        &self,
        domain: &SipDomain,
        number: &ExtensionNumber,
    ) -> Result<Option<SipAccount>> {
        let sql = concat!(
            "SELECT ",
            cols!("e."),
            ", e.sip_realm, e.sip_credentials, t.wrapped_key ",
            "FROM extensions e JOIN tenants t ON t.id = e.tenant_id WHERE t.domain = $1 AND e.number = $2"
        );
        let Some(row) = sqlx::query(sql)
            .bind(domain.as_str())
            .bind(number.as_str())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let extension = extension_from_row(&row)?;
        let wrapped: Vec<u8> = get(&row, "wrapped_key")?;
        let cipher = self.unwrap_tenant_key(extension.tenant_id, &wrapped)?;
        let credentials = open_credentials(&cipher, &row, extension.tenant_id, extension.id)?;
        Ok(Some(SipAccount { extension, credentials }))
    }

    async fn delete_extension(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("UPDATE phone_numbers SET extension_id = NULL WHERE tenant_id = $1 AND extension_id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        let number: Option<String> = sqlx::query_scalar(
            "DELETE FROM extensions WHERE tenant_id = $1 AND id = $2 RETURNING number",
        )
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let number = number.ok_or(NOT_FOUND)?;
        audit(
            &mut tx,
            Some(tenant),
            actor,
            "extension.delete",
            format!("extension:{id}"),
            json!({ "number": number }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
