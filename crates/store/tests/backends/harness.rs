//! Test databases: a fresh SQLite file in a temp dir, or a fresh PostgreSQL database that is
//! dropped when the test ends (also when it panics).

use std::path::PathBuf;
use std::str::FromStr as _;

use ringfence_store::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _};
use uuid::Uuid;

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub const PG_URL_ENV: &str = "RINGFENCE_TEST_DATABASE_URL";
pub const PG_DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn pg_admin_url() -> String {
    std::env::var(PG_URL_ENV).unwrap_or_else(|_| PG_DEFAULT_URL.to_owned())
}

/// Drops the per-test PostgreSQL database on drop, from a helper thread with its own runtime.
struct PgGuard {
    name: String,
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let opts = PgConnectOptions::from_str(&pg_admin_url()).unwrap();
                if let Ok(mut conn) = opts.connect().await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

pub struct TestDb {
    pub kind: Kind,
    pub store: AnyStore,
    pub master: MasterKey,
    dir: Option<tempfile::TempDir>,
    pg: Option<(PgGuard, PgConnectOptions)>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::generate().unwrap();
        let store = AnyStore::open_sqlite(dir.path(), master.clone()).await.unwrap();
        Self { kind: Kind::Sqlite, store, master, dir: Some(dir), pg: None }
    }

    pub async fn postgres() -> Self {
        let url = pg_admin_url();
        let admin = PgConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("bad {PG_URL_ENV} {url:?}: {e}"));
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {url}: {e}\n\
                 The store tests need it. Start one (Debian: `apt-get install postgresql && \
                 pg_ctlcluster 15 main start`, trust auth for 127.0.0.1) or point \
                 {PG_URL_ENV} at a server where this user may CREATE DATABASE."
            )
        });
        let name = format!("rf_test_{}", Uuid::new_v4().simple());
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let guard = PgGuard { name: name.clone() };
        let opts = admin.database(&name);
        let master = MasterKey::generate().unwrap();
        let store = Self::pg_store(&opts, master.clone()).await;
        Self { kind: Kind::Postgres, store, master, dir: None, pg: Some((guard, opts)) }
    }

    async fn pg_store(opts: &PgConnectOptions, master: MasterKey) -> AnyStore {
        let pool =
            PgPoolOptions::new().max_connections(4).connect_with(opts.clone()).await.unwrap();
        AnyStore::Postgres(PgStore::from_pool(pool, master).await.unwrap())
    }

    /// Opens a second store on the same database with `master`.
    pub async fn open_again(&self, master: MasterKey) -> Result<AnyStore> {
        match (&self.dir, &self.pg) {
            (Some(dir), _) => AnyStore::open_sqlite(dir.path(), master).await,
            (_, Some((_, opts))) => {
                let pool =
                    PgPoolOptions::new().max_connections(4).connect_with(opts.clone()).await?;
                PgStore::from_pool(pool, master).await.map(AnyStore::Postgres)
            }
            _ => unreachable!("a test database is either SQLite or PostgreSQL"),
        }
    }

    /// Closes the store and opens it again (a restart).
    pub async fn reopen(&mut self) {
        self.store.close().await;
        self.store = self.open_again(self.master.clone()).await.unwrap();
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().join(SqliteStore::FILE_NAME))
    }

    /// Runs raw SQL as an operator with full rights would (bypassing the store).
    pub async fn exec(
        &self,
        sqlite_sql: &str,
        pg_sql: &str,
    ) -> std::result::Result<(), sqlx::Error> {
        match &self.store {
            AnyStore::Sqlite(s) => sqlx::raw_sql(AssertSqlSafe(sqlite_sql.to_owned()))
                .execute(s.pool())
                .await
                .map(|_| ()),
            AnyStore::Postgres(s) => {
                sqlx::raw_sql(AssertSqlSafe(pg_sql.to_owned())).execute(s.pool()).await.map(|_| ())
            }
        }
    }

    /// Same SQL on both backends.
    pub async fn exec_both(&self, sql: &str) -> std::result::Result<(), sqlx::Error> {
        self.exec(sql, sql).await
    }

    /// A count query with one UUID bind (`$1`).
    pub async fn count(&self, sql: &str, id: Uuid) -> i64 {
        let sql = AssertSqlSafe(sql.to_owned());
        match &self.store {
            AnyStore::Sqlite(s) => {
                sqlx::query_scalar(sql).bind(id).fetch_one(s.pool()).await.unwrap()
            }
            AnyStore::Postgres(s) => {
                sqlx::query_scalar(sql).bind(id).fetch_one(s.pool()).await.unwrap()
            }
        }
    }

    /// A nullable blob by one UUID bind.
    pub async fn blob(&self, sql: &str, id: Uuid) -> Option<Vec<u8>> {
        let sql = AssertSqlSafe(sql.to_owned());
        match &self.store {
            AnyStore::Sqlite(s) => {
                sqlx::query_scalar(sql).bind(id).fetch_one(s.pool()).await.unwrap()
            }
            AnyStore::Postgres(s) => {
                sqlx::query_scalar(sql).bind(id).fetch_one(s.pool()).await.unwrap()
            }
        }
    }

    /// `UPDATE ... SET col = $1 WHERE id = $2` with a blob.
    pub async fn set_blob(&self, sql: &str, value: &[u8], id: Uuid) {
        let sql = AssertSqlSafe(sql.to_owned());
        match &self.store {
            AnyStore::Sqlite(s) => {
                sqlx::query(sql).bind(value).bind(id).execute(s.pool()).await.unwrap();
            }
            AnyStore::Postgres(s) => {
                sqlx::query(sql).bind(value).bind(id).execute(s.pool()).await.unwrap();
            }
        }
    }

    /// Everything the database holds, as bytes: the SQLite file and its WAL, or every row of
    /// every table of the PostgreSQL database as JSON text (bytea shows as hex).
    pub async fn raw_contents(&self) -> Vec<u8> {
        match &self.store {
            AnyStore::Sqlite(_) => {
                let path = self.sqlite_path().unwrap();
                let mut all = std::fs::read(&path).unwrap();
                for suffix in ["-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    if let Ok(bytes) = std::fs::read(&p) {
                        all.extend_from_slice(&bytes);
                    }
                }
                all
            }
            AnyStore::Postgres(s) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                )
                .fetch_all(s.pool())
                .await
                .unwrap();
                assert!(tables.len() >= 10, "expected the store's tables, got {tables:?}");
                let mut all = Vec::new();
                for t in tables {
                    let sql = format!(
                        "SELECT COALESCE(string_agg(row_to_json(x)::text, '\n'), '') FROM \"{t}\" x"
                    );
                    let text: String =
                        sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(s.pool()).await.unwrap();
                    all.extend_from_slice(text.as_bytes());
                }
                all
            }
        }
    }
}

/// The actor of test mutations.
pub fn actor() -> Actor {
    Actor::system("test")
}

/// A syntactically valid Argon2id PHC string (the store never verifies it).
pub fn phc(tag: &str) -> String {
    format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ${tag}")
}

pub async fn tenant(store: &AnyStore, domain: &str) -> Tenant {
    let new = NewTenant {
        name: format!("Tenant {domain}"),
        domain: SipDomain::parse(domain).unwrap(),
        settings: TenantSettings::new(CountryCode::parse("DE").unwrap()),
    };
    store.create_tenant(new, &actor()).await.unwrap()
}

pub async fn user(store: &AnyStore, tenant: Option<TenantId>, email: &str, role: Role) -> User {
    let new = NewUser {
        tenant_id: tenant,
        email: Email::parse(email).unwrap(),
        role,
        password_hash: phc("aGFzaA"),
        must_change_password: false,
    };
    store.create_user(new, &actor()).await.unwrap()
}

/// Deterministic HA1-like bytes for an extension.
pub fn creds(domain: &SipDomain, seed: &str) -> SipCredentials {
    let d = ring::digest::digest(&ring::digest::SHA256, format!("{seed}:{domain}:pw").as_bytes());
    let mut sha = [0u8; 32];
    sha.copy_from_slice(d.as_ref());
    let mut md5 = [0u8; 16];
    md5.copy_from_slice(&sha[..16]);
    md5.reverse();
    SipCredentials::new(domain, md5, sha)
}

pub async fn extension(store: &AnyStore, t: &Tenant, number: &str) -> Extension {
    let new = NewExtension {
        number: ExtensionNumber::parse(number).unwrap(),
        display_name: format!("Ext {number}"),
        owner_user_id: None,
        enabled: true,
        sip_credentials: Some(creds(&t.domain, number)),
        pin_hash: Some(phc("cGlu")),
    };
    store.create_extension(t.id, new, &actor()).await.unwrap()
}

/// Number of audit events (all tenants).
pub async fn audit_len(store: &AnyStore) -> u64 {
    store.list_audit(None, None, 1).await.unwrap().first().map_or(0, |e| e.seq)
}

/// RFC 4648 base32 without padding (how TOTP secrets are shown to users).
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
