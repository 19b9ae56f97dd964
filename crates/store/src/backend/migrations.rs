//! The schema migrations, embedded in the binary at compile time.
//!
//! The files are listed here once, by name (both backends have the same names). Version, description and checksum are
//! derived exactly as sqlx derives them from a migrations directory (the same code the
//! `migrate!` macro ran at compile time), so a database migrated by any earlier build
//! validates. Building the migrator here rather than with the macro keeps sqlx's
//! procedural macros, and the second copy of sqlx they compile for the host, out of the
//! build. The tests below fail when a file in `migrations/` is missing from these lists
//! or differs from what sqlx would read.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(file name, contents)` of each migration of one backend, oldest first.
pub(crate) type Files = &'static [(&'static str, &'static str)];

/// Both backends have one file of each name (in `migrations/sqlite` and
/// `migrations/postgres`): the list is written once.
macro_rules! embed {
    ($($file:literal),+ $(,)?) => {
        /// SQLite's migrations.
        pub(crate) const SQLITE: Files =
            &[$(($file, include_str!(concat!("../../migrations/sqlite/", $file)))),+];
        /// PostgreSQL's migrations.
        pub(crate) const POSTGRES: Files =
            &[$(($file, include_str!(concat!("../../migrations/postgres/", $file)))),+];
    };
}

embed!(
    "0001_initial.sql",
    "0002_guard_rules.sql",
    "0003_fraud.sql",
    "0004_calling_rules.sql",
    "0005_webhooks.sql",
    "0006_call_forwarded_by.sql",
);

/// The migrator for `files`, with sqlx's defaults (its `_sqlx_migrations` table, each
/// migration in a transaction unless its first line opts out, an advisory lock where the
/// database has one).
pub(crate) fn migrator(files: Files) -> Migrator {
    let migrations = files
        .iter()
        .map(|&(file, sql)| {
            // `<version>_<description>.sql`, as sqlx reads a directory.
            let (version, rest) = file.split_once('_').expect("migration file name");
            let kind = MigrationType::from_filename(rest);
            let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
            Migration::new(
                version.parse().expect("migration version"),
                Cow::Owned(description),
                kind,
                SqlStr::from_static(sql),
                sql.starts_with("-- no-transaction"),
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ignore_missing: false,
        locking: true,
        no_tx: false,
        table_name: Cow::Borrowed("_sqlx_migrations"),
        create_schemas: Cow::Borrowed(&[]),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The embedded list against sqlx's own reading of the directory: same files, same
    /// versions, descriptions, kinds, checksums and transaction flags.
    async fn same_as_directory(files: Files, dir: &str) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        let from_dir = Migrator::new(path.as_path()).await.expect("read the migrations directory");
        let embedded = migrator(files);
        let key = |m: &Migration| {
            (m.version, m.description.to_string(), m.migration_type, m.checksum.to_vec(), m.no_tx)
        };
        let want: Vec<_> = from_dir.iter().map(key).collect();
        let got: Vec<_> = embedded.iter().map(key).collect();
        assert_eq!(
            got, want,
            "migrations/{dir} and the list in backend/migrations.rs differ: add the new file there"
        );
    }

    #[tokio::test]
    async fn sqlite_migrations_match_the_directory() {
        same_as_directory(SQLITE, "sqlite").await;
    }

    #[tokio::test]
    async fn postgres_migrations_match_the_directory() {
        same_as_directory(POSTGRES, "postgres").await;
    }
}
