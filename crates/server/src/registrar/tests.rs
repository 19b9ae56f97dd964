//! The registrar with an in-memory account source and binding store: startup load,
//! what reaches the store, and a store that fails.

use std::sync::Mutex;

use ringfence_sip_proto::digest::{Secret, respond};
use ringfence_sip_proto::transaction::{IdGenerator, Transport};
use ringfence_store::{EncryptionRequirement, RegistrationBinding, StoreError};
use tokio::sync::mpsc;

use super::*;
use crate::auth::testing::{Fake, PW, REALM};
use crate::auth::{BoxFuture, NoObserver};
use crate::config::AuthConfig;

/// Records applied ops; serves `stored` at load and list; fails every op when `fail`.
#[derive(Default)]
struct Bindings {
    stored: Mutex<Vec<RegistrationBinding>>,
    applied: Mutex<Vec<BindingOp>>,
    fail: Mutex<bool>,
}

impl BindingStore for Bindings {
    fn apply<'a>(
        &'a self,
        ops: &'a [BindingOp],
    ) -> BoxFuture<'a, Result<Vec<Result<(), StoreError>>, StoreError>> {
        let fail = *self.fail.lock().unwrap();
        self.applied.lock().unwrap().extend(ops.iter().cloned());
        let out = ops
            .iter()
            .map(|_| if fail { Err(StoreError::NotFound { what: "extension" }) } else { Ok(()) })
            .collect();
        Box::pin(async move { Ok(out) })
    }
    fn load(
        &self,
        _: OffsetDateTime,
    ) -> BoxFuture<'_, Result<Vec<RegistrationBinding>, StoreError>> {
        let v = self.stored.lock().unwrap().clone();
        Box::pin(async move { Ok(v) })
    }
    fn list(
        &self,
        _: TenantId,
        _: ExtensionId,
        _: OffsetDateTime,
    ) -> BoxFuture<'_, Result<Vec<RegistrationBinding>, StoreError>> {
        let v = self.stored.lock().unwrap().clone();
        Box::pin(async move { Ok(v) })
    }
    fn purge(&self, _: OffsetDateTime) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async { Ok(0) })
    }
}

struct Setup {
    registrar: Registrar,
    fake: Arc<Fake>,
    store: Arc<Bindings>,
    _tracker: TaskTracker,
    _commands: mpsc::UnboundedReceiver<crate::core::handle::Command>,
}

async fn setup(store: Bindings) -> Setup {
    let fake = Arc::new(Fake::new(EncryptionRequirement::Optional));
    let auth = Arc::new(Authenticator::new(
        &AuthConfig::default(),
        &[3; 32],
        fake.clone(),
        Arc::new(NoObserver),
    ));
    let (tx, commands) = mpsc::unbounded_channel();
    let core = CoreHandle::new(tx, IdGenerator::new([1; 32]), Vec::new());
    let store = Arc::new(store);
    let tracker = TaskTracker::new();
    let registrar = Registrar::start(
        RegistrarConfig::default(),
        store.clone(),
        auth,
        core,
        &tracker,
        CancellationToken::new(),
        Arc::new(crate::registrar::NoRegistrationObserver),
    )
    .await
    .unwrap();
    Setup { registrar, fake, store, _tracker: tracker, _commands: commands }
}

fn peer() -> Peer {
    Peer::new("192.0.2.10:5060".parse().unwrap(), Transport::Udp)
}

/// An authenticated REGISTER of 100 with one contact.
async fn register(r: &Registrar, cseq: u32) -> Response {
    let text = format!(
        "REGISTER sip:{REALM} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK{cseq}\r\n\
         From: <sip:100@{REALM}>;tag=1\r\nTo: <sip:100@{REALM}>\r\nCall-ID: reg-1\r\n\
         CSeq: {cseq} REGISTER\r\nContact: <sip:100@192.0.2.10:5060>\r\nContent-Length: 0\r\n\r\n"
    );
    let req = Request::parse(text.as_bytes()).unwrap();
    let challenge = r.process(&req, &peer()).await;
    assert_eq!(challenge.status.code(), 401);
    let ch = challenge.www_authenticate().unwrap()[0].as_digest().unwrap().clone();
    let creds =
        respond(&ch, "REGISTER", &format!("sip:{REALM}"), "100", &Secret::password(PW), "c", 1)
            .unwrap();
    let mut signed = req;
    signed.headers.push(HeaderName::Authorization, &creds.to_string());
    r.process(&signed, &peer()).await
}

#[tokio::test]
async fn a_200_means_the_binding_reached_the_store() {
    let s = setup(Bindings::default()).await;
    let resp = register(&s.registrar, 1).await;
    assert_eq!(resp.status.code(), 200);
    let applied = s.store.applied.lock().unwrap().clone();
    let [BindingOp::Upsert(b)] = applied.as_slice() else { panic!("{applied:?}") };
    assert_eq!(b.contact_uri, "sip:100@192.0.2.10:5060");
    assert_eq!(b.tenant_id, s.fake.tenant.id);
    assert_eq!(b.extension_id, s.fake.extension.id);
    assert_eq!(b.source, peer().addr);
    assert_eq!(b.call_id, "reg-1");
    let loc = s.registrar.locate(s.fake.tenant.id, s.fake.extension.id);
    assert_eq!(loc.len(), 1);
    assert_eq!(s.fake.queries(), 2);
}

#[tokio::test]
async fn a_failed_write_is_a_500_and_memory_follows_the_store() {
    let s = setup(Bindings::default()).await;
    *s.store.fail.lock().unwrap() = true;
    let resp = register(&s.registrar, 1).await;
    assert_eq!(resp.status.code(), 500);
    assert_eq!(resp.reason, "Binding Not Stored");
    assert!(s.registrar.locate(s.fake.tenant.id, s.fake.extension.id).is_empty());
}

#[tokio::test]
async fn startup_loads_stored_bindings() {
    let fake = Fake::new(EncryptionRequirement::Optional);
    let record = RegistrationBinding {
        tenant_id: fake.tenant.id,
        extension_id: fake.extension.id,
        contact_uri: "sip:100@198.51.100.7:5062".into(),
        source: "198.51.100.7:40000".parse().unwrap(),
        transport: ringfence_store::Transport::Tcp,
        expires_at: ringfence_store::now() + time::Duration::minutes(5),
        call_id: "x".into(),
        cseq: 4,
        instance_id: None,
        reg_id: None,
        user_agent: None,
        path: vec!["<sip:edge.example;lr>".into()],
    };
    let store = Bindings { stored: Mutex::new(vec![record]), ..Bindings::default() };
    let s = setup(store).await;
    // The fake account source has its own random ids: look the record's ids up.
    let stored = s.store.stored.lock().unwrap()[0].clone();
    let loc = s.registrar.locate(stored.tenant_id, stored.extension_id);
    assert_eq!(loc.len(), 1);
    assert_eq!(loc[0].peer.addr, stored.source);
    assert_eq!(loc[0].peer.transport, Transport::Tcp);
    assert_eq!(loc[0].path, ["<sip:edge.example;lr>"]);
}

#[test]
fn date_header_is_rfc1123_gmt() {
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_129_351_496);
    assert_eq!(sip_date(t).to_string(), "Sat, 15 Oct 2005 04:44:56 GMT");
}
