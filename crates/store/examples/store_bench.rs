//! Rough throughput of the store's hot paths, for capacity planning (not a test):
//! SIP account lookup (every REGISTER/INVITE), binding upsert (every REGISTER), call record
//! insert (every call) and audited extension creation.
//!
//! ```text
//! cargo run --release -p ringfence-store --example store_bench            # SQLite in a temp dir
//! cargo run --release -p ringfence-store --example store_bench -- postgres://postgres@127.0.0.1/rf_bench
//! ```
//! The PostgreSQL database must exist and be disposable (tables are created in it).
#![allow(clippy::print_stdout)] // printing the figures is the point of this example

use std::time::Instant;

use ringfence_store::*;

const EXTENSIONS: usize = 200;
const LOOKUPS: usize = 20_000;
const UPSERTS: usize = 5_000;
const CALLS: usize = 5_000;

fn rate(label: &str, n: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{label:<28} {n:>6} ops  {:>9.0} ops/s  {:>8.1} us/op",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let dir =
        tempfile::tempdir().map_err(|source| StoreError::Io { path: "tmp".into(), source })?;
    let master = MasterKey::generate()?;
    let store = match std::env::args().nth(1) {
        Some(url) => AnyStore::connect_postgres(&url, master).await?,
        None => AnyStore::open_sqlite(dir.path(), master).await?,
    };
    println!("backend: {}", store.backend_name());
    let actor = Actor::system("bench");
    let domain = SipDomain::parse(&format!("bench-{}.example.com", TenantId::random().0.simple()))?;
    let settings = TenantSettings::new(CountryCode::parse("DE")?);
    let tenant = store
        .create_tenant(NewTenant { name: "Bench".into(), domain: domain.clone(), settings }, &actor)
        .await?;

    let start = Instant::now();
    let mut exts = Vec::new();
    for i in 0..EXTENSIONS {
        let new = NewExtension {
            number: ExtensionNumber::parse(&format!("{}", 1000 + i))?,
            display_name: String::new(),
            owner_user_id: None,
            enabled: true,
            sip_credentials: Some(SipCredentials::new(&domain, [i as u8; 16], [i as u8; 32])),
            pin_hash: None,
        };
        exts.push(store.create_extension(tenant.id, new, &actor).await?);
    }
    rate("create_extension (audited)", EXTENSIONS, start);

    let start = Instant::now();
    for i in 0..LOOKUPS {
        let e = &exts[i % EXTENSIONS];
        let acct = store.find_sip_account(&domain, &e.number).await?;
        assert!(acct.and_then(|a| a.credentials).is_some());
    }
    rate("find_sip_account", LOOKUPS, start);

    let start = Instant::now();
    for i in 0..UPSERTS {
        let e = &exts[i % EXTENSIONS];
        let b = RegistrationBinding {
            tenant_id: tenant.id,
            extension_id: e.id,
            contact_uri: format!("sip:{}@192.0.2.1:5061;transport=tls", e.number),
            source: "192.0.2.1:5061".parse().map_err(|_| StoreError::invalid("source", "bad"))?,
            transport: Transport::Tls,
            expires_at: now() + time::Duration::hours(1),
            call_id: format!("reg-{i}"),
            cseq: i as u32,
            instance_id: None,
            reg_id: None,
            user_agent: Some("bench".into()),
            path: vec![],
        };
        store.upsert_binding(&b).await?;
    }
    rate("upsert_binding", UPSERTS, start);

    let start = Instant::now();
    for i in 0..CALLS {
        let at = now();
        let rec = NewCallRecord {
            call_id: format!("call-{i}"),
            caller: "1000".into(),
            callee: "1001".into(),
            direction: CallDirection::Internal,
            started_at: at,
            answered_at: Some(at),
            ended_at: Some(at),
            duration_s: 0,
            disposition: Disposition::Answered,
            sip_status: Some(200),
            reason: None,
            transport: Transport::Tls,
            encrypted: true,
            from_extension_id: Some(exts[i % EXTENSIONS].id),
            to_extension_id: None,
            forwarded_by: None,
            forwarded_by_extension_id: None,
            forward_reason: None,
        };
        store.insert_call_record(tenant.id, rec).await?;
    }
    rate("insert_call_record", CALLS, start);

    let start = Instant::now();
    let report = store.verify_audit_chain().await?;
    rate("verify_audit_chain (events)", report.events_checked as usize, start);
    store.delete_tenant(tenant.id, &actor).await?;
    store.close().await;
    Ok(())
}
