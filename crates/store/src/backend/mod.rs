//! The SQL stores. The repository code is written once, in `shared/`, and compiled twice:
//! once inside [`sqlite`] and once inside [`postgres`], each of which supplies the backend's
//! database type, timestamp representation and the few statements that differ. Both backends
//! accept the same SQL text (`$n` placeholders, `RETURNING`, `ON CONFLICT`,
//! `IS NOT DISTINCT FROM`), so the queries themselves are shared too.

use std::sync::Arc;

use sqlx::{Database, Pool};

use crate::crypto::{MasterKey, TenantCipher};
use crate::error::StoreError;

mod migrations;

/// Most rows one multi-row statement takes (see [`row_chunks`]).
pub(crate) const MAX_ROWS_PER_STATEMENT: usize = 16;

/// Splits `rows` for multi-row statements: each piece is the largest power of two of rows
/// left, up to [`MAX_ROWS_PER_STATEMENT`]. So a batch of any size uses at most five
/// statement texts, each prepared once per connection and then reused from its cache, and
/// no statement has many parameters: SQLite looks up each `$n` parameter by a linear scan
/// when it prepares and binds a statement, so one statement's cost grows with the square
/// of its parameter count (a 200-row statement spent most of its time there).
pub(crate) fn row_chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let take = rest.len().min(MAX_ROWS_PER_STATEMENT);
        let take = 1 << take.ilog2();
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        Some(chunk)
    })
}

// Each backend module includes the same `shared/*.rs` files on purpose (see above).
#[allow(clippy::duplicate_mod)]
pub(crate) mod postgres;
#[allow(clippy::duplicate_mod)]
pub(crate) mod sqlite;

/// A store over a native sqlx pool. Cheap to clone (the pool and keys are shared).
pub struct SqlStore<DB: Database> {
    pub(crate) pool: Pool<DB>,
    pub(crate) master: Arc<MasterKey>,
    pub(crate) platform: Arc<TenantCipher>,
}

impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            master: self.master.clone(),
            platform: self.platform.clone(),
        }
    }
}

impl<DB: Database> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("backend", &DB::NAME).finish_non_exhaustive()
    }
}

impl<DB: Database> SqlStore<DB> {
    /// The underlying pool (for health checks and tests; bypasses every rule of the store).
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The SQLite store: one file in the data directory.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;
/// The PostgreSQL store.
pub type PgStore = SqlStore<sqlx::Postgres>;

/// Maps a unique violation to [`StoreError::Conflict`] naming `what`; other errors pass.
pub(crate) fn map_unique(err: sqlx::Error, what: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.kind() == sqlx::error::ErrorKind::UniqueViolation
    {
        return StoreError::Conflict { what };
    }
    err.into()
}

/// Maps a foreign-key violation to [`StoreError::Invalid`] on `field`; other errors pass.
pub(crate) fn map_fk(err: StoreError, field: &'static str, message: &'static str) -> StoreError {
    if let StoreError::Database(sqlx::Error::Database(db)) = &err
        && db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation
    {
        return StoreError::invalid(field, message);
    }
    err
}

/// Page size check shared by the list methods.
pub(crate) fn check_limit(limit: u32, max: u32) -> Result<i64, StoreError> {
    if limit == 0 || limit > max {
        return Err(StoreError::invalid("limit", format!("must be 1 to {max}")));
    }
    Ok(i64::from(limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_chunks_are_powers_of_two_up_to_the_maximum() {
        let sizes = |n: usize| row_chunks(&vec![0u8; n]).map(<[u8]>::len).collect::<Vec<_>>();
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(7), [4, 2, 1]);
        assert_eq!(sizes(16), [16]);
        assert_eq!(sizes(37), [16, 16, 4, 1]);
        for n in 0..100 {
            let s = sizes(n);
            assert_eq!(s.iter().sum::<usize>(), n);
            assert!(s.iter().all(|k| k.is_power_of_two() && *k <= MAX_ROWS_PER_STATEMENT));
        }
    }
}
