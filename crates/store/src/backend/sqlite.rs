//! SQLite flavour: one file in the data directory, WAL journal, foreign keys on, a busy
//! timeout, `secure_delete` (deleted rows are overwritten, so a shredded tenant key does not
//! linger in free pages). Write transactions start with `BEGIN IMMEDIATE`, which serializes
//! writers up front (no lock upgrades that could fail under contention).

use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Pool, Transaction};
use time::OffsetDateTime;

use super::SqlStore;
use crate::crypto::MasterKey;
use crate::error::{Result, StoreError};
use crate::time_util;

pub(crate) type Db = sqlx::Sqlite;
/// Timestamps: microseconds since the epoch.
pub(crate) type Ts = i64;

pub(crate) fn ts(t: OffsetDateTime) -> Ts {
    time_util::to_micros(time_util::truncate(t))
}

pub(crate) fn from_ts(v: Ts) -> Result<OffsetDateTime> {
    time_util::from_micros(v)
}

/// Reads the chain head inside a write transaction (already exclusive in SQLite).
pub(crate) const SELECT_HEAD_FOR_UPDATE: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";

pub(crate) async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// After a tenant is deleted: checkpoint the WAL so the deleted pages' old images (which
/// still hold the wrapped key) are overwritten in the main file and the WAL is reset.
pub(crate) async fn after_shred(pool: &Pool<Db>) {
    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await {
        tracing::warn!(error = %e, "WAL checkpoint after tenant deletion failed");
    }
}

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
    /// Database file name inside the data directory.
    pub const FILE_NAME: &'static str = "ringfence.db";

    /// Opens (creating if needed) `data_dir/ringfence.db`, applies migrations and checks the
    /// master key against the stored platform key.
    pub async fn open(data_dir: &Path, master: MasterKey) -> Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::Io { path: data_dir.to_path_buf(), source })?;
        Self::open_file(&data_dir.join(Self::FILE_NAME), master).await
    }

    /// Opens (creating if needed) the database file at `path`. A new file is created with
    /// mode 0600 (SQLite gives its `-wal` and `-shm` files the same mode).
    pub async fn open_file(path: &Path, master: MasterKey) -> Result<Self> {
        create_private_file(path)?;
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("secure_delete", "ON");
        // SQLite takes one writer at a time, and the server caches what it reads most; each
        // connection is a thread (with its own malloc arena), so a few are enough.
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        super::migrations::migrator(super::migrations::SQLITE).run(&pool).await?;
        let platform = common::platform_cipher(&pool, &master).await?;
        Ok(Self { pool, master: Arc::new(master), platform: Arc::new(platform) })
    }
}

fn create_private_file(path: &Path) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Io { path: path.to_path_buf(), source }),
    }
}
