//! PostgreSQL flavour: a URL from config. Appends to the audit log lock the chain-head row
//! (`SELECT ... FOR UPDATE`), which serializes them across connections and nodes.

use std::sync::Arc;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Transaction};
use time::OffsetDateTime;

use super::SqlStore;
use crate::crypto::MasterKey;
use crate::error::Result;
use crate::time_util;

pub(crate) type Db = sqlx::Postgres;
/// Timestamps: `timestamptz`.
pub(crate) type Ts = OffsetDateTime;

pub(crate) fn ts(t: OffsetDateTime) -> Ts {
    time_util::truncate(t)
}

pub(crate) fn from_ts(v: Ts) -> Result<OffsetDateTime> {
    Ok(time_util::truncate(v))
}

/// Reads and locks the chain head until the transaction ends.
pub(crate) const SELECT_HEAD_FOR_UPDATE: &str =
    "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";

pub(crate) async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>> {
    Ok(pool.begin().await?)
}

/// Nothing to do: deleted tuples are invisible at once and reclaimed by autovacuum.
pub(crate) async fn after_shred(_pool: &Pool<Db>) {}

#[path = "shared/audit.rs"]
mod audit;
#[path = "shared/calls.rs"]
mod calls;
#[path = "shared/common.rs"]
mod common;
#[path = "shared/extensions.rs"]
mod extensions;
#[path = "shared/fraud.rs"]
mod fraud;
#[path = "shared/guard_rules.rs"]
mod guard_rules;
#[path = "shared/numbers.rs"]
mod numbers;
#[path = "shared/registrations.rs"]
mod registrations;
#[path = "shared/tenants.rs"]
mod tenants;
#[path = "shared/tokens.rs"]
mod tokens;
#[path = "shared/users.rs"]
mod users;
#[path = "shared/webhooks.rs"]
mod webhooks;

impl SqlStore<Db> {
    /// Connects to `url` (e.g. `postgres://ringfence@db.example/ringfence`) with a pool of up
    /// to 16 connections, applies migrations and checks the master key.
    pub async fn connect(url: &str, master: MasterKey) -> Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
        Self::from_pool(pool, master).await
    }

    /// Uses an existing pool (custom pool options), applies migrations and checks the master
    /// key.
    pub async fn from_pool(pool: Pool<Db>, master: MasterKey) -> Result<Self> {
        super::migrations::migrator(super::migrations::POSTGRES).run(&pool).await?;
        let platform = common::platform_cipher(&pool, &master).await?;
        Ok(Self { pool, master: Arc::new(master), platform: Arc::new(platform) })
    }
}
