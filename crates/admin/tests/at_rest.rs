//! At rest: after extensions are created and TOTP enrolled through the API, no secret (SIP
//! password, HA1 in hex or raw, TOTP secret in base32 or raw) appears in clear in the SQLite
//! file (and its WAL) or in any PostgreSQL table.

use crate::common;

use common::*;
use ringfence_sip_proto::digest::Ha1;
use ringfence_store::AnyStore;
use serde_json::json;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

async fn database_bytes(db: &TestDb) -> Vec<u8> {
    match &db.store {
        AnyStore::Sqlite(_) => {
            let mut all = Vec::new();
            for name in ["ringfence.db", "ringfence.db-wal"] {
                if let Ok(b) = std::fs::read(db.dir.path().join(name)) {
                    all.extend(b);
                }
            }
            assert!(all.len() > 4096, "database file not found");
            all
        }
        AnyStore::Postgres(_) => db.dump().await.join("\n").into_bytes(),
    }
}

async fn no_secret_in_clear(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut root = super_admin(&server, "root@example.com").await;
    let t = tenant(&mut root.client, "Acme", "acme.example").await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let admin =
        tenant_user(&server, &mut root.client, &tid, "ann@acme.example", "tenant_admin").await;
    let mut secrets: Vec<(String, Vec<u8>)> = Vec::new();
    for totp in [&root.totp, &admin.totp] {
        let raw = totp.secret_bytes();
        secrets.push(("TOTP raw".into(), raw.clone()));
        secrets.push(("TOTP hex".into(), hex::encode(&raw).into_bytes()));
        let b32 = totp_rs::Secret::from(raw.clone()).to_base32();
        secrets.push(("TOTP base32".into(), b32.trim_end_matches('=').as_bytes().to_vec()));
    }
    for number in ["1001", "1002", "1003"] {
        let e = root
            .client
            .post(&format!("/api/v1/tenants/{tid}/extensions"), json!({"number": number}))
            .await
            .expect(201)
            .json();
        let pw = e["sip"]["password"].as_str().unwrap().to_owned();
        for ha1 in [Ha1::md5(number, "acme.example", &pw), Ha1::sha256(number, "acme.example", &pw)]
        {
            secrets.push((format!("HA1 raw {number}"), ha1.as_bytes().to_vec()));
            secrets.push((format!("HA1 hex {number}"), hex::encode(ha1.as_bytes()).into_bytes()));
        }
        secrets.push((format!("SIP password {number}"), pw.into_bytes()));
    }
    // Make sure SQLite has written everything it holds.
    let bytes = database_bytes(&server.db).await;
    for (what, s) in &secrets {
        assert!(!contains(&bytes, s), "{what} found in clear in the database");
    }
    // Control: something that is stored in clear is found, so the scan itself works.
    assert!(contains(&bytes, b"acme.example"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_clear_sqlite() {
    no_secret_in_clear(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_clear_postgres() {
    no_secret_in_clear(Backend::Postgres).await;
}
