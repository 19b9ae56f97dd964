//! The operator CLI, run as the built binary: JSON output shapes, the generated SIP secret
//! authenticates (its HA1s are what the store holds), errors exit non-zero with a message
//! saying what to do and change nothing, `--help` lists the environment variables, and
//! `serve` starts, sets up the data directory and stops on SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ringfence_sip_proto::digest::Ha1;
use ringfence_store::{
    AnyStore, ExtensionNumber, ExtensionRepo as _, MasterKey, Role, SipDomain, TenantRepo as _,
    TokenRepo as _, UserRepo as _,
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ringfence");

fn run(dir: &Path, db_url: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("RINGFENCE_DATA_DIR", dir)
        .env_remove("RINGFENCE_DATABASE_URL")
        .env_remove("RINGFENCE_MASTER_KEY")
        .env_remove("RINGFENCE_CONFIG")
        .stdin(Stdio::null());
    if let Some(u) = db_url {
        c.env("RINGFENCE_DATABASE_URL", u);
    }
    c.output().unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[track_caller]
fn fails_with(out: &Output, needle: &str) {
    assert!(!out.status.success(), "should have failed: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(out.stdout.is_empty(), "printed on failure: {}", String::from_utf8_lossy(&out.stdout));
}

async fn open(dir: &Path, db_url: Option<&str>) -> AnyStore {
    let master = MasterKey::load_or_create(dir).unwrap();
    match db_url {
        Some(u) => AnyStore::connect_postgres(u, master).await.unwrap(),
        None => AnyStore::open_sqlite(dir, master).await.unwrap(),
    }
}

async fn provisioning(db_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = ok_json(&run(
        d,
        db_url,
        &["tenant", "create", "--name", "Acme", "--domain", "ACME.example", "--json"],
    ));
    assert_eq!(keys(&t), ["domain", "id", "name"]);
    assert_eq!(t["name"], "Acme");
    assert_eq!(t["domain"], "acme.example");
    let e = ok_json(&run(
        d,
        db_url,
        &[
            "extension",
            "create",
            "--tenant",
            "acme.example",
            "--number",
            "1001",
            "--display-name",
            "Desk",
            "--json",
        ],
    ));
    assert_eq!(keys(&e), ["number", "password", "tenant", "username"]);
    assert_eq!(e["tenant"], "acme.example");
    assert_eq!(e["number"], "1001");
    assert_eq!(e["username"], "1001");
    let password = e["password"].as_str().unwrap().to_owned();
    assert_eq!(password.len(), 24);
    let tok = ok_json(&run(d, db_url, &["token", "create", "--role", "super_admin", "--json"]));
    assert_eq!(keys(&tok), ["token"]);
    let ttok = ok_json(&run(
        d,
        db_url,
        &["token", "create", "--role", "tenant_admin", "--tenant", "acme.example", "--json"],
    ));
    let admin =
        ok_json(&run(d, db_url, &["admin", "bootstrap", "--email", "root@example.com", "--json"]));
    assert_eq!(keys(&admin), ["email", "id", "password"]);

    // Human-readable forms.
    let human =
        run(d, db_url, &["extension", "create", "--tenant", "acme.example", "--number", "1002"]);
    assert!(human.status.success());
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("password:") && text.contains("shown only now"), "{text}");

    // What the store holds.
    let store = open(d, db_url).await;
    let domain = SipDomain::parse("acme.example").unwrap();
    let acct = store
        .find_sip_account(&domain, &ExtensionNumber::parse("1001").unwrap())
        .await
        .unwrap()
        .unwrap();
    let creds = acct.credentials.unwrap();
    assert_eq!(creds.realm(), "acme.example");
    assert_eq!(creds.md5_ha1().as_slice(), Ha1::md5("1001", "acme.example", &password).as_bytes());
    assert_eq!(
        creds.sha256_ha1().as_slice(),
        Ha1::sha256("1001", "acme.example", &password).as_bytes()
    );
    assert_ne!(creds.md5_ha1().as_slice(), Ha1::md5("1001", "acme.example", "wrong").as_bytes());
    assert_eq!(acct.extension.display_name, "Desk");
    assert!(acct.extension.enabled);
    let found = store
        .find_token(&ringfence_store::token_hash(tok["token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.role, Role::SuperAdmin);
    assert_eq!(found.tenant_id, None);
    let found = store
        .find_token(&ringfence_store::token_hash(ttok["token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.role, Role::TenantAdmin);
    assert_eq!(found.tenant_id, Some(acct.extension.tenant_id));
    let root =
        store.find_user_by_email(&"root@example.com".parse().unwrap()).await.unwrap().unwrap();
    assert!(root.must_change_password);
    assert!(!root.totp_enrolled);
    let tenants_before = store.list_tenants().await.unwrap().len();
    let exts_before = store.list_extensions(acct.extension.tenant_id).await.unwrap().len();
    let tokens_before = store.list_tokens(None).await.unwrap().len();
    store.close().await;

    // Errors: non-zero exit, a message that says what to do, nothing changed.
    fails_with(
        &run(d, db_url, &["tenant", "create", "--name", "X", "--domain", "bad_domain", "--json"]),
        "--domain",
    );
    fails_with(
        &run(d, db_url, &["tenant", "create", "--name", "X", "--domain", "acme.example"]),
        "already exists",
    );
    fails_with(
        &run(d, db_url, &["tenant", "create", "--name", " X", "--domain", "x.example"]),
        "--name",
    );
    fails_with(
        &run(
            d,
            db_url,
            &["tenant", "create", "--name", "X", "--domain", "x.example", "--country", "ZZ"],
        ),
        "--country",
    );
    fails_with(
        &run(
            d,
            db_url,
            &["tenant", "create", "--name", "X", "--domain", "x.example", "--encryption", "maybe"],
        ),
        "--encryption",
    );
    fails_with(
        &run(d, db_url, &["extension", "create", "--tenant", "nope.example", "--number", "1003"]),
        "ringfence tenant create",
    );
    fails_with(
        &run(d, db_url, &["extension", "create", "--tenant", "acme.example", "--number", "01"]),
        "--number",
    );
    fails_with(
        &run(d, db_url, &["extension", "create", "--tenant", "acme.example", "--number", "1001"]),
        "already exists",
    );
    fails_with(
        &run(d, db_url, &["token", "create", "--role", "tenant_admin", "--json"]),
        "--tenant",
    );
    fails_with(
        &run(d, db_url, &["token", "create", "--role", "super_admin", "--tenant", "acme.example"]),
        "leave out --tenant",
    );
    fails_with(&run(d, db_url, &["token", "create", "--role", "user"]), "--role");
    fails_with(&run(d, db_url, &["admin", "bootstrap"]), "already exists");
    fails_with(
        &run(d, db_url, &["admin", "bootstrap", "--force-new", "--email", "nope"]),
        "--email",
    );

    let store = open(d, db_url).await;
    assert_eq!(store.list_tenants().await.unwrap().len(), tenants_before);
    assert_eq!(store.list_extensions(acct.extension.tenant_id).await.unwrap().len(), exts_before);
    assert_eq!(store.list_tokens(None).await.unwrap().len(), tokens_before);
    assert_eq!(store.list_users(None).await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_commands_sqlite() {
    provisioning(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_commands_postgres() {
    let admin_url = std::env::var("RINGFENCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let pool = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {admin_url} is unreachable ({e}); start it or set RINGFENCE_TEST_DATABASE_URL")
    });
    let name = format!("rf_cli_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let result = tokio::spawn({
        let url = url.clone();
        async move { provisioning(Some(&url)).await }
    })
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&pool)
        .await
        .unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[test]
fn help_lists_every_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "RINGFENCE_CONFIG",
        "RINGFENCE_DATA_DIR",
        "RINGFENCE_DATABASE_URL",
        "RINGFENCE_HTTPS",
        "RINGFENCE_TLS_CERT",
        "RINGFENCE_TLS_KEY",
        "RINGFENCE_TLS_NAMES",
        "RINGFENCE_LOG",
        "RINGFENCE_SESSION_IDLE_MINUTES",
        "RINGFENCE_SESSION_MAX_HOURS",
        "RINGFENCE_MAX_SESSIONS",
        "RINGFENCE_ACCOUNT_LOCKOUT_THRESHOLD",
        "RINGFENCE_IP_LOCKOUT_THRESHOLD",
        "RINGFENCE_LOCKOUT_SECONDS",
        "RINGFENCE_LOCKOUT_MAX_SECONDS",
        "RINGFENCE_DEFAULT_COUNTRY",
        "RINGFENCE_ADMIN_EMAIL",
    ] {
        assert!(help.contains(var), "--help lacks {var}");
    }
}

#[test]
fn precedence_flag_over_env_over_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ringfence.toml");
    // The file names a data directory and a country; env and flags override them.
    let file_dir = dir.path().join("from-file");
    let env_dir = dir.path().join("from-env");
    std::fs::write(&cfg, format!("data_dir = {:?}\ndefault_country = \"FR\"\n", file_dir)).unwrap();
    let create = |extra: &[&str], env_dir: Option<&Path>| {
        let mut c = Command::new(BIN);
        c.arg("--config").arg(&cfg);
        c.args(["tenant", "create", "--name", "P", "--domain"]);
        c.args(extra);
        c.env_remove("RINGFENCE_DATA_DIR").env_remove("RINGFENCE_DATABASE_URL");
        if let Some(d) = env_dir {
            c.env("RINGFENCE_DATA_DIR", d);
        }
        c.output().unwrap()
    };
    assert!(create(&["p1.example"], None).status.success());
    assert!(file_dir.join("ringfence.db").exists(), "config file's data_dir used");
    assert!(create(&["p2.example"], Some(&env_dir)).status.success());
    assert!(env_dir.join("ringfence.db").exists(), "env beats the file");
    let flag_dir = dir.path().join("from-flag");
    let flag = flag_dir.to_str().unwrap();
    assert!(create(&["p3.example", "--data-dir", flag], Some(&env_dir)).status.success());
    assert!(flag_dir.join("ringfence.db").exists(), "flag beats env");
    // A typo in the config file is an error naming the key.
    std::fs::write(&cfg, "data_dri = \"x\"\n").unwrap();
    let out = create(&["p4.example"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("data_dri"));
}

#[test]
fn serve_first_start_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let start = || {
        Command::new(BIN)
            .arg("serve")
            .env("RINGFENCE_DATA_DIR", &data)
            .env("RINGFENCE_HTTPS", format!("127.0.0.1:{port}"))
            .env("RINGFENCE_SIP_UDP", "127.0.0.1:0")
            .env("RINGFENCE_SIP_TCP", "127.0.0.1:0")
            .env("RINGFENCE_SIP_TLS", "127.0.0.1:0")
            .env("RINGFENCE_LOG", "info")
            .env_remove("RINGFENCE_DATABASE_URL")
            .env_remove("RINGFENCE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for first in [true, false] {
        let mut child = start();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut ready = false;
        while Instant::now() < deadline {
            match lines.next() {
                Some(Ok(l)) if l.contains("admin API ready") => {
                    ready = true;
                    break;
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        assert!(ready, "serve did not report ready");
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}");
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        if first {
            assert!(out.contains("one-time password"), "first start prints the password: {out}");
        } else {
            assert!(out.is_empty(), "later starts print nothing: {out}");
        }
    }
    for f in ["ringfence.db", "master.key", "tls-cert.pem", "tls-key.pem"] {
        assert!(data.join(f).exists(), "{f} missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for f in ["master.key", "tls-key.pem"] {
            let mode = std::fs::metadata(data.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f} mode {mode:o}");
        }
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
