//! `UserRepo` over this backend. Scope `None` is the platform (super admins): the SQL
//! condition `tenant_id IS NOT DISTINCT FROM $n` matches exactly the scope's users.

use serde_json::json;
use sqlx::Row as _;
use time::OffsetDateTime;

use super::common::{
    Query, Row, audit, get, get_id, get_opt_id, get_opt_ts, get_opt_u64, get_parsed, get_ts,
    get_u64, to_i64,
};
use super::{Db, begin_write, ts};
use crate::backend::{SqlStore, map_fk, map_unique};
use crate::crypto::Aad;
use crate::error::{Result, StoreError};
use crate::repo::UserRepo;
use crate::time_util::now;
use crate::types::*;

macro_rules! cols {
    () => {
        "id, tenant_id, email, role, password_hash, password_set_at, must_change_password, \
         totp_secret IS NOT NULL AS has_totp_secret, totp_enrolled, totp_last_step, failed_logins, \
         locked_until, last_login_at, created_at"
    };
}

const NOT_FOUND: StoreError = StoreError::NotFound { what: "user" };

fn user_from_row(row: &Row) -> Result<User> {
    let failed = get_u64(row, "failed_logins")?;
    Ok(User {
        id: get_id(row, "id")?,
        tenant_id: get_opt_id(row, "tenant_id")?,
        email: get_parsed(row, "email", Email::parse)?,
        role: get_parsed(row, "role", Role::parse)?,
        password_hash: get(row, "password_hash")?,
        password_set_at: get_ts(row, "password_set_at")?,
        must_change_password: get(row, "must_change_password")?,
        has_totp_secret: get(row, "has_totp_secret")?,
        totp_enrolled: get(row, "totp_enrolled")?,
        totp_last_step: get_opt_u64(row, "totp_last_step")?,
        failed_logins: u32::try_from(failed).unwrap_or(u32::MAX),
        locked_until: get_opt_ts(row, "locked_until")?,
        last_login_at: get_opt_ts(row, "last_login_at")?,
        created_at: get_ts(row, "created_at")?,
    })
}

fn totp_aad(scope: Option<TenantId>, id: UserId) -> Aad<'static> {
    Aad { tenant: scope, table: "users", column: "totp_secret", row: id.0 }
}

impl SqlStore<Db> {
    async fn user_exists(&self, scope: Option<TenantId>, id: UserId) -> Result<bool> {
        let row =
            sqlx::query("SELECT 1 FROM users WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2")
                .bind(id.0)
                .bind(scope.map(|t| t.0))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// Runs a one-row `UPDATE ... RETURNING` of a user in scope, with its audit event.
    async fn update_user_audited(
        &self,
        sql: &'static str,
        scope: Option<TenantId>,
        id: UserId,
        bind: impl FnOnce(Query) -> Query,
        (actor, action, extra): (&Actor, &str, serde_json::Value),
    ) -> Result<User> {
        let mut tx = begin_write(&self.pool).await?;
        let q = sqlx::query(sql).bind(id.0).bind(scope.map(|t| t.0));
        let row = bind(q).fetch_optional(&mut *tx).await?.ok_or(NOT_FOUND)?;
        let user = user_from_row(&row)?;
        audit(&mut tx, scope, actor, action, format!("user:{id}"), extra).await?;
        tx.commit().await?;
        Ok(user)
    }
}

impl UserRepo for SqlStore<Db> {
    async fn create_user(&self, new: NewUser, actor: &Actor) -> Result<User> {
        new.role.check_scope(new.tenant_id)?;
        validate_password_hash("password_hash", &new.password_hash)?;
        let id = UserId::random();
        let at = ts(now());
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "INSERT INTO users (id, tenant_id, email, role, password_hash, password_set_at, ",
            "must_change_password, totp_enrolled, failed_logins, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $6) RETURNING ",
            cols!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(new.tenant_id.map(|t| t.0))
            .bind(new.email.as_str())
            .bind(new.role.as_str())
            .bind(&new.password_hash)
            .bind(at)
            .bind(new.must_change_password)
            .bind(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "user email"))
            .map_err(|e| match map_fk(e, "tenant_id", "no such tenant") {
                StoreError::Invalid { .. } => StoreError::NotFound { what: "tenant" },
                other => other,
            })?;
        let user = user_from_row(&row)?;
        let extra = json!({ "email": new.email.as_str(), "role": new.role.as_str() });
        audit(&mut tx, new.tenant_id, actor, "user.create", format!("user:{id}"), extra).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn get_user(&self, scope: Option<TenantId>, id: UserId) -> Result<Option<User>> {
        let sql = concat!(
            "SELECT ",
            cols!(),
            " FROM users WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2"
        );
        let row =
            sqlx::query(sql).bind(id.0).bind(scope.map(|t| t.0)).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let sql = concat!("SELECT ", cols!(), " FROM users WHERE email = $1");
        let row = sqlx::query(sql).bind(email.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(&self, scope: Option<TenantId>) -> Result<Vec<User>> {
        let sql = concat!(
            "SELECT ",
            cols!(),
            " FROM users WHERE tenant_id IS NOT DISTINCT FROM $1 ORDER BY email"
        );
        let rows = sqlx::query(sql).bind(scope.map(|t| t.0)).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_user_role(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        role: Role,
        actor: &Actor,
    ) -> Result<User> {
        role.check_scope(scope)?;
        let sql = concat!(
            "UPDATE users SET role = $3 WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 RETURNING ",
            cols!()
        );
        let extra = json!({ "role": role.as_str() });
        self.update_user_audited(
            sql,
            scope,
            id,
            |q| q.bind(role.as_str()),
            (actor, "user.set_role", extra),
        )
        .await
    }

    async fn set_user_password(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        password_hash: &str,
        must_change_password: bool,
        actor: &Actor,
    ) -> Result<User> {
        validate_password_hash("password_hash", password_hash)?;
        let sql = concat!(
            "UPDATE users SET password_hash = $3, password_set_at = $4, must_change_password = $5 ",
            "WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 RETURNING ",
            cols!()
        );
        let extra = json!({ "must_change_password": must_change_password });
        let bind =
            |q: Query| q.bind(password_hash.to_owned()).bind(ts(now())).bind(must_change_password);
        self.update_user_audited(sql, scope, id, bind, (actor, "user.set_password", extra)).await
    }

    async fn delete_user(&self, scope: Option<TenantId>, id: UserId, actor: &Actor) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("UPDATE extensions SET owner_user_id = NULL WHERE owner_user_id = $1 AND tenant_id IS NOT DISTINCT FROM $2")
            .bind(id.0)
            .bind(scope.map(|t| t.0))
            .execute(&mut *tx)
            .await?;
        let email: Option<String> = sqlx::query_scalar(
            "DELETE FROM users WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 RETURNING email",
        )
        .bind(id.0)
        .bind(scope.map(|t| t.0))
        .fetch_optional(&mut *tx)
        .await?;
        let email = email.ok_or(NOT_FOUND)?;
        audit(
            &mut tx,
            scope,
            actor,
            "user.delete",
            format!("user:{id}"),
            json!({ "email": email }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_totp_secret(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        secret: &TotpSecret,
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let cipher = self.cipher_for(&mut tx, scope).await.map_err(|e| match e {
            StoreError::NotFound { .. } => NOT_FOUND,
            other => other,
        })?;
        let sealed = cipher.seal(&totp_aad(scope, id), secret.expose())?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = $3, totp_enrolled = $4, totp_last_step = NULL \
             WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2",
        )
        .bind(id.0)
        .bind(scope.map(|t| t.0))
        .bind(&sealed)
        .bind(false)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(NOT_FOUND);
        }
        audit(&mut tx, scope, actor, "user.totp_set", format!("user:{id}"), json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_totp_secret(
        &self,
        scope: Option<TenantId>,
        id: UserId,
    ) -> Result<Option<TotpSecret>> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT totp_secret FROM users WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2",
        )
        .bind(id.0)
        .bind(scope.map(|t| t.0))
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(NOT_FOUND)?;
        let Some(sealed) = row.try_get::<Option<Vec<u8>>, _>("totp_secret")? else {
            return Ok(None);
        };
        let cipher = self.cipher_for(&mut conn, scope).await?;
        let plain = cipher.open(&totp_aad(scope, id), &sealed)?;
        TotpSecret::new(plain.to_vec())
            .map(Some)
            .map_err(|_| StoreError::corrupt("stored TOTP secret has a wrong length"))
    }

    async fn confirm_totp(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        step: u64,
        actor: &Actor,
    ) -> Result<bool> {
        let step = to_i64(step, "step")?;
        let mut tx = begin_write(&self.pool).await?;
        let done = sqlx::query(
            "UPDATE users SET totp_enrolled = $4, totp_last_step = $3 \
             WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 AND totp_secret IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(id.0)
        .bind(scope.map(|t| t.0))
        .bind(step)
        .bind(true)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            return if self.user_exists(scope, id).await? { Ok(false) } else { Err(NOT_FOUND) };
        }
        audit(&mut tx, scope, actor, "user.totp_enrolled", format!("user:{id}"), json!({})).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn clear_totp(&self, scope: Option<TenantId>, id: UserId, actor: &Actor) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_enrolled = $3, totp_last_step = NULL \
             WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2",
        )
        .bind(id.0)
        .bind(scope.map(|t| t.0))
        .bind(false)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(NOT_FOUND);
        }
        audit(&mut tx, scope, actor, "user.totp_cleared", format!("user:{id}"), json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_totp_step(&self, scope: Option<TenantId>, id: UserId, step: u64) -> Result<bool> {
        let step = to_i64(step, "step")?;
        // One statement: of two concurrent logins with the same code, exactly one wins.
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $3 \
             WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 AND totp_enrolled = $4 \
             AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(id.0)
        .bind(scope.map(|t| t.0))
        .bind(step)
        .bind(true)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            Ok(true)
        } else if self.user_exists(scope, id).await? {
            Ok(false)
        } else {
            Err(NOT_FOUND)
        }
    }

    async fn record_login_failure(&self, scope: Option<TenantId>, id: UserId) -> Result<u32> {
        let count: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET failed_logins = failed_logins + 1 \
             WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 RETURNING failed_logins",
        )
        .bind(id.0)
        .bind(scope.map(|t| t.0))
        .fetch_optional(&self.pool)
        .await?;
        let count = count.ok_or(NOT_FOUND)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn set_user_lock(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        until: Option<OffsetDateTime>,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE users SET locked_until = $3 WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2")
            .bind(id.0)
            .bind(scope.map(|t| t.0))
            .bind(until.map(ts))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(NOT_FOUND) } else { Ok(()) }
    }

    async fn record_login_success(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        at: OffsetDateTime,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $3 \
             WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2",
        )
        .bind(id.0)
        .bind(scope.map(|t| t.0))
        .bind(ts(at))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 { Err(NOT_FOUND) } else { Ok(()) }
    }
}
