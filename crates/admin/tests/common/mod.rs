//! Test harness: a store on either backend, the admin API served over real HTTPS on
//! 127.0.0.1:0, and a small HTTPS client (hyper + tokio-rustls, ring provider) with a cookie,
//! CSRF token and bearer token of its own.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use ringfence_admin::{AdminConfig, AdminState};
use ringfence_store::{
    Actor, AnyStore, MasterKey, TenantSettings, TotpSecret, User, UserRepo as _,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio_rustls::TlsConnector;

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database that is removed at the end.
pub struct TestDb {
    pub store: AnyStore,
    pub dir: tempfile::TempDir,
    pg: Option<PgDrop>,
}

struct PgDrop {
    admin_url: String,
    name: String,
}

impl Drop for PgDrop {
    fn drop(&mut self) {
        let url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

pub fn pg_url() -> String {
    std::env::var("RINGFENCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::generate().unwrap();
        match backend {
            Backend::Sqlite => {
                let store = AnyStore::open_sqlite(dir.path(), master).await.unwrap();
                TestDb { store, dir, pg: None }
            }
            Backend::Postgres => {
                let admin_url = pg_url();
                let pool = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL at {admin_url} is unreachable ({e}); start it or set \
                         RINGFENCE_TEST_DATABASE_URL"
                    )
                });
                let name = format!("rf_admin_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                let guard = PgDrop { admin_url: admin_url.clone(), name: name.clone() };
                let store = AnyStore::connect_postgres(&with_database(&admin_url, &name), master)
                    .await
                    .unwrap();
                TestDb { store, dir, pg: Some(guard) }
            }
        }
    }

    /// Moves an extension's `secret_set_at` `days` into the past (to test rotation reports).
    pub async fn age_secret(&self, extension_id: &str, days: i64) {
        let id: uuid::Uuid = extension_id.parse().unwrap();
        match &self.store {
            AnyStore::Sqlite(s) => {
                sqlx::query(
                    "UPDATE extensions SET secret_set_at = secret_set_at - $1 WHERE id = $2",
                )
                .bind(days * 86_400_000_000)
                .bind(id)
                .execute(s.pool())
                .await
                .unwrap();
            }
            AnyStore::Postgres(s) => {
                sqlx::query(
                    "UPDATE extensions SET secret_set_at = secret_set_at - make_interval(days => $1) WHERE id = $2",
                )
                .bind(days as i32)
                .bind(id)
                .execute(s.pool())
                .await
                .unwrap();
            }
        }
    }

    /// Moves a user's `password_set_at` `days` into the past (to test password rotation).
    pub async fn age_password(&self, user_id: &str, days: i64) {
        let id: uuid::Uuid = user_id.parse().unwrap();
        match &self.store {
            AnyStore::Sqlite(s) => {
                sqlx::query(
                    "UPDATE users SET password_set_at = password_set_at - $1 WHERE id = $2",
                )
                .bind(days * 86_400_000_000)
                .bind(id)
                .execute(s.pool())
                .await
                .unwrap();
            }
            AnyStore::Postgres(s) => {
                sqlx::query(
                    "UPDATE users SET password_set_at = password_set_at - make_interval(days => $1) \
                     WHERE id = $2",
                )
                .bind(days as i32)
                .bind(id)
                .execute(s.pool())
                .await
                .unwrap();
            }
        }
    }

    /// Every row of every table, as text, sorted: compare before/after to prove "no change".
    pub async fn dump(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.store {
            AnyStore::Sqlite(s) => {
                let pool = s.pool();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
                )
                .fetch_all(pool)
                .await
                .unwrap();
                for t in tables {
                    let cols: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT name FROM pragma_table_info('{t}')"
                    )))
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    let expr = cols
                        .iter()
                        .map(|c| format!("quote(\"{c}\")"))
                        .collect::<Vec<_>>()
                        .join(" || ',' || ");
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT '{t}:' || {expr} FROM \"{t}\""
                    )))
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    out.extend(rows);
                }
            }
            AnyStore::Postgres(s) => {
                let pool = s.pool();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
                     AND tablename NOT LIKE '_sqlx%' ORDER BY tablename",
                )
                .fetch_all(pool)
                .await
                .unwrap();
                for t in tables {
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT '{t}:' || row_to_json(x)::text FROM \"{t}\" x"
                    )))
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    out.extend(rows);
                }
            }
        }
        out.sort();
        out
    }
}

/// The admin API served over HTTPS on 127.0.0.1:0.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AdminState,
    pub db: TestDb,
    cert: CertificateDer<'static>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, AdminConfig::default()).await
    }

    pub async fn start_with(backend: Backend, config: AdminConfig) -> TestServer {
        let db = TestDb::new(backend).await;
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let pair = ringfence_admin::tls::self_signed(&names).unwrap();
        let cert = CertificateDer::from_pem_slice(pair.cert_pem.as_bytes()).unwrap();
        let tls = ringfence_admin::tls::https_server_config(&pair).unwrap();
        let state = AdminState::new(db.store.clone(), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(ringfence_admin::serve(listener, tls, state.clone(), async {
            let _ = rx.await;
        }));
        TestServer { addr, state, db, cert, stop: Some(tx), task: Some(task) }
    }

    pub fn client(&self) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert.clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        Client {
            addr: self.addr,
            tls: TlsConnector::from(Arc::new(config)),
            cookie: None,
            csrf: None,
            bearer: None,
        }
    }

    pub fn store(&self) -> &AnyStore {
        &self.db.store
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn field(&self) -> Option<String> {
        self.json()["field"].as_str().map(str::to_owned)
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }
}

/// An HTTPS client with one session (cookie + CSRF token) or bearer token.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    tls: TlsConnector,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn with_bearer(&self, token: &str) -> Client {
        Client { cookie: None, csrf: None, bearer: Some(token.to_owned()), ..self.clone() }
    }

    /// Sends a request; JSON body if given. Sends the CSRF header when `csrf` is set.
    pub async fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.send_raw(method, path, body.map(|b| b.to_string().into_bytes()), true).await
    }

    pub async fn send_raw(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        with_csrf: bool,
    ) -> Resp {
        let ct = body.as_ref().map(|_| "application/json");
        self.send_typed(method, path, body, ct, with_csrf).await
    }

    pub async fn send_typed(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
        with_csrf: bool,
    ) -> Resp {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let tls = self.tls.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("localhost:{}", self.addr.port()));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c.as_str());
        }
        if with_csrf && let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t.as_str());
        }
        if let Some(b) = &self.bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).unwrap();
        let res = tokio::time::timeout(Duration::from_secs(60), sender.send_request(req))
            .await
            .expect("request timed out")
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        if let Some(sc) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            let pair = sc.split(';').next().unwrap_or("");
            if pair.ends_with('=') {
                self.cookie = None;
            } else {
                self.cookie = Some(pair.to_owned());
            }
        }
        Resp { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(&body)).await
    }

    pub async fn put(&mut self, path: &str, body: Value) -> Resp {
        self.send("PUT", path, Some(&body)).await
    }

    pub async fn patch(&mut self, path: &str, body: Value) -> Resp {
        self.send("PATCH", path, Some(&body)).await
    }

    pub async fn delete(&mut self, path: &str) -> Resp {
        self.send("DELETE", path, None).await
    }

    /// Logs in; keeps the cookie and CSRF token on success.
    pub async fn login(&mut self, email: &str, password: &str, totp: Option<&str>) -> Resp {
        let mut body = json!({"email": email, "password": password});
        if let Some(c) = totp {
            body["totp_code"] = json!(c);
        }
        let r = self.send("POST", "/api/v1/auth/login", Some(&body)).await;
        if r.status == 200 {
            self.csrf = r.json()["csrf_token"].as_str().map(str::to_owned);
        }
        r
    }
}

/// A strong password for tests (zxcvbn 4, no names in it).
pub const STRONG: &str = "Quasar-Lantern-Mosaic-917";
/// Another one.
pub const STRONG2: &str = "Velvet-Harbor-Cactus-384";

/// TOTP helper: hands out codes for successive time steps inside the server's window
/// (current step +-1), sleeping to the next step when the window is used up, and away from
/// step boundaries so a code cannot expire between computing and checking it.
pub struct Totp {
    secret: TotpSecret,
    next_step: u64,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

impl Totp {
    pub fn from_base32(b32: &str) -> Totp {
        let bytes = totp_rs::Secret::try_from_base32(b32).unwrap().as_ref().to_vec();
        Totp { secret: TotpSecret::new(bytes).unwrap(), next_step: 0 }
    }

    pub fn secret_bytes(&self) -> Vec<u8> {
        self.secret.expose().to_vec()
    }

    /// A code not used before.
    pub async fn next_code(&mut self) -> String {
        loop {
            let now = now_secs();
            let into_step = now % 30;
            if into_step >= 27 {
                tokio::time::sleep(Duration::from_secs(30 - into_step + 1)).await;
                continue;
            }
            let current = now / 30;
            let step = self.next_step.max(current - 1);
            if step <= current + 1 {
                self.next_step = step + 1;
                return ringfence_admin::auth::totp::code_at(&self.secret, step * 30).unwrap();
            }
            tokio::time::sleep(Duration::from_secs(30 - into_step + 1)).await;
        }
    }

    /// The code of a step that was already used.
    pub fn used_code(&self) -> String {
        ringfence_admin::auth::totp::code_at(&self.secret, (self.next_step - 1) * 30).unwrap()
    }
}

/// A logged-in admin with TOTP enrolled.
pub struct Admin {
    pub client: Client,
    pub email: String,
    pub password: String,
    pub totp: Totp,
    pub user: Value,
}

/// Enrolls TOTP in the client's current session.
pub async fn enroll(client: &mut Client) -> Totp {
    let e = client.post("/api/v1/auth/totp/enroll", json!({})).await.expect(200).json();
    let mut totp = Totp::from_base32(e["secret_base32"].as_str().unwrap());
    assert!(e["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/"));
    let code = totp.next_code().await;
    client.post("/api/v1/auth/totp/confirm", json!({"code": code})).await.expect(204);
    totp
}

/// Bootstraps a super admin, logs in, changes the one-time password and enrolls TOTP.
pub async fn super_admin(server: &TestServer, email: &str) -> Admin {
    let (_, one_time) = ringfence_admin::provision::bootstrap_super_admin(
        server.store(),
        email,
        true,
        &Actor::system("test"),
    )
    .await
    .unwrap();
    let mut c = server.client();
    c.login(email, &one_time, None).await.expect(200);
    c.post(
        "/api/v1/auth/password",
        json!({"current_password": one_time.as_str(), "new_password": STRONG}),
    )
    .await
    .expect(204);
    let totp = enroll(&mut c).await;
    let user = c.get("/api/v1/me").await.expect(200).json()["user"].clone();
    Admin { client: c, email: email.to_owned(), password: STRONG.to_owned(), totp, user }
}

/// Creates a tenant through the API and returns its JSON.
pub async fn tenant(admin: &mut Client, name: &str, domain: &str) -> Value {
    admin
        .post("/api/v1/tenants", json!({"name": name, "domain": domain, "home_country": "DE"}))
        .await
        .expect(201)
        .json()
}

/// Creates a user in a tenant with a known password (no change required), logs them in and,
/// for admins, enrolls TOTP.
pub async fn tenant_user(
    server: &TestServer,
    creator: &mut Client,
    tenant_id: &str,
    email: &str,
    role: &str,
) -> Admin {
    let created = creator
        .post(
            &format!("/api/v1/tenants/{tenant_id}/users"),
            json!({"email": email, "role": role, "password": STRONG2, "must_change_password": false}),
        )
        .await
        .expect(201)
        .json();
    let mut c = server.client();
    c.login(email, STRONG2, None).await.expect(200);
    let totp = if role == "tenant_admin" {
        enroll(&mut c).await
    } else {
        Totp::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    };
    Admin {
        client: c,
        email: email.to_owned(),
        password: STRONG2.to_owned(),
        totp,
        user: created["user"].clone(),
    }
}

/// The user record in the store.
pub async fn stored_user(server: &TestServer, email: &str) -> User {
    let e = ringfence_store::Email::parse(email).unwrap();
    server.store().find_user_by_email(&e).await.unwrap().unwrap()
}

pub fn default_settings() -> TenantSettings {
    TenantSettings::new(ringfence_store::CountryCode::parse("DE").unwrap())
}
