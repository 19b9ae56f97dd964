//! The authenticator against an in-memory account source.

use std::sync::atomic::Ordering;

use ringfence_sip_proto::digest::{Secret, respond};
use ringfence_sip_proto::transaction::Transport;
use ringfence_sip_types::auth::DigestChallenge;
use ringfence_store::EncryptionRequirement;

use super::testing::{Fake, PW, REALM};
use super::*;
use crate::config::AuthConfig;

fn authenticator(fake: Arc<Fake>) -> Authenticator {
    Authenticator::new(&AuthConfig::default(), &[9; 32], fake, Arc::new(NoObserver))
}

fn register(realm: &str, user: &str) -> Request {
    let text = format!(
        "REGISTER sip:{realm} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n\
         From: <sip:{user}@{realm}>;tag=1\r\nTo: <sip:{user}@{realm}>\r\nCall-ID: c\r\n\
         CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
    );
    Request::parse(text.as_bytes()).unwrap()
}

fn peer(t: Transport) -> Peer {
    Peer::new("192.0.2.10:5060".parse().unwrap(), t)
}

/// `req` with an Authorization answering the first challenge of `challenge`.
fn answered(req: &Request, challenge: &Response, user: &str, pw: &str, nc: u32) -> Request {
    let ch: DigestChallenge = challenge.www_authenticate().unwrap()[0].as_digest().unwrap().clone();
    let creds =
        respond(&ch, "REGISTER", &req.uri.to_string(), user, &Secret::password(pw), "cn", nc)
            .unwrap();
    let mut r = req.clone();
    r.headers.push(HeaderName::Authorization, &creds.to_string());
    r
}

async fn challenge(a: &Authenticator, req: &Request, realm: &str) -> Response {
    match a.authenticate(req, &peer(Transport::Udp), realm, ChallengeKind::Www).await {
        AuthOutcome::Challenge(r) => r,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

#[tokio::test]
async fn rfc8760_challenge_offers_sha256_then_md5_with_one_nonce() {
    let a = authenticator(Arc::new(Fake::new(EncryptionRequirement::Optional)));
    let r = challenge(&a, &register(REALM, "100"), REALM).await;
    assert_eq!(r.status.code(), 401);
    let ch = r.www_authenticate().unwrap();
    let algs: Vec<_> =
        ch.iter().map(|c| c.as_digest().unwrap().algorithm.clone().unwrap()).collect();
    assert_eq!(algs, [Algorithm::Sha256, Algorithm::Md5]);
    assert_eq!(ch[0].as_digest().unwrap().nonce, ch[1].as_digest().unwrap().nonce);
    assert!(r.to().unwrap().tag().is_some());
}

#[tokio::test]
async fn right_password_authenticates_and_is_cached() {
    let fake = Arc::new(Fake::new(EncryptionRequirement::Optional));
    let a = authenticator(fake.clone());
    let req = register(REALM, "100");
    let ch = challenge(&a, &req, REALM).await;
    assert_eq!(fake.queries.load(Ordering::SeqCst), 0, "no lookup without credentials");
    let signed = answered(&req, &ch, "100", PW, 1);
    let AuthOutcome::Authenticated(id) =
        a.authenticate(&signed, &peer(Transport::Udp), REALM, ChallengeKind::Www).await
    else {
        panic!("not authenticated");
    };
    assert_eq!(id.number, "100");
    assert_eq!(id.algorithm, Algorithm::Sha256);
    assert_eq!(fake.queries.load(Ordering::SeqCst), 2, "tenant and account");
    // Again with the next nonce count: served from the cache.
    let signed = answered(&req, &ch, "100", PW, 2);
    let out = a.authenticate(&signed, &peer(Transport::Udp), REALM, ChallengeKind::Www).await;
    assert!(matches!(out, AuthOutcome::Authenticated(_)));
    assert_eq!(fake.queries.load(Ordering::SeqCst), 2);
    // The same nonce count again is a replay.
    let out = a.authenticate(&signed, &peer(Transport::Udp), REALM, ChallengeKind::Www).await;
    assert!(matches!(out, AuthOutcome::Challenge(_)));
}

#[tokio::test]
async fn unknown_names_cost_the_same_queries_and_are_cached_too() {
    let fake = Arc::new(Fake::new(EncryptionRequirement::Optional));
    let a = authenticator(fake.clone());
    // Misses cost a tenant query and an account query; the tenant answer for REALM is
    // cached by the first round.
    for (realm, user, misses) in [(REALM, "199", 2), ("other.example", "100", 2), (REALM, "100", 1)]
    {
        let req = register(realm, user);
        let ch = challenge(&a, &req, realm).await;
        let before = fake.queries.load(Ordering::SeqCst);
        let signed = answered(&req, &ch, user, "wrong", 1);
        let r = challenge(&a, &signed, realm).await;
        assert_eq!(r.status.code(), 401);
        let used = fake.queries.load(Ordering::SeqCst) - before;
        assert_eq!(used, misses, "{realm} {user}");
        // The second attempt is a cache hit whatever the name.
        let ch = challenge(&a, &req, realm).await;
        let signed = answered(&req, &ch, user, "wrong", 1);
        let before = fake.queries.load(Ordering::SeqCst);
        challenge(&a, &signed, realm).await;
        assert_eq!(fake.queries.load(Ordering::SeqCst), before, "{realm} {user}: cached");
    }
}

#[tokio::test]
async fn plain_transport_for_an_encrypted_tenant_is_a_bad_password() {
    let a = authenticator(Arc::new(Fake::new(EncryptionRequirement::Required)));
    let req = register(REALM, "100");
    let ch = challenge(&a, &req, REALM).await;
    let signed = answered(&req, &ch, "100", PW, 1);
    let out = a.authenticate(&signed, &peer(Transport::Tcp), REALM, ChallengeKind::Www).await;
    let AuthOutcome::Challenge(r) = out else { panic!("TCP must be refused") };
    assert_eq!(r.status.code(), 401);
    assert!(!r.www_authenticate().unwrap()[0].as_digest().unwrap().stale);
    let signed = answered(&req, &ch, "100", PW, 2);
    let out = a.authenticate(&signed, &peer(Transport::Tls), REALM, ChallengeKind::Www).await;
    assert!(matches!(out, AuthOutcome::Authenticated(_)));
}

#[tokio::test]
async fn store_failure_is_a_500_not_a_bad_password() {
    let fake = Arc::new(Fake::new(EncryptionRequirement::Optional));
    let a = authenticator(fake.clone());
    let req = register(REALM, "100");
    let ch = challenge(&a, &req, REALM).await;
    *fake.fail.lock().unwrap() = true;
    let signed = answered(&req, &ch, "100", PW, 1);
    let out = a.authenticate(&signed, &peer(Transport::Udp), REALM, ChallengeKind::Www).await;
    let AuthOutcome::Unavailable(r) = out else { panic!("expected 500") };
    assert_eq!(r.status.code(), 500);
    // Failures are not cached: once the store is back, the same request works.
    *fake.fail.lock().unwrap() = false;
    let signed = answered(&req, &ch, "100", PW, 2);
    let out = a.authenticate(&signed, &peer(Transport::Udp), REALM, ChallengeKind::Www).await;
    assert!(matches!(out, AuthOutcome::Authenticated(_)));
}

#[tokio::test]
async fn invalidation_forgets_cached_answers() {
    let fake = Arc::new(Fake::new(EncryptionRequirement::Optional));
    let a = authenticator(fake.clone());
    let req = register(REALM, "100");
    let ch = challenge(&a, &req, REALM).await;
    let signed = answered(&req, &ch, "100", PW, 1);
    a.authenticate(&signed, &peer(Transport::Udp), REALM, ChallengeKind::Www).await;
    let n = fake.queries.load(Ordering::SeqCst);
    a.invalidate_extension("PBX.example", "100");
    let signed = answered(&req, &ch, "100", PW, 2);
    a.authenticate(&signed, &peer(Transport::Udp), REALM, ChallengeKind::Www).await;
    assert_eq!(fake.queries.load(Ordering::SeqCst), n + 1, "account looked up again");
    a.invalidate_tenant(REALM);
    let signed = answered(&req, &ch, "100", PW, 3);
    a.authenticate(&signed, &peer(Transport::Udp), REALM, ChallengeKind::Www).await;
    assert_eq!(fake.queries.load(Ordering::SeqCst), n + 3, "tenant and account again");
}

#[test]
fn realms_are_lower_case_hosts() {
    assert_eq!(realm_of(&Uri::parse("sip:PBX.Example.").unwrap()).as_deref(), Some("pbx.example"));
    assert_eq!(
        realm_of(&Uri::parse("sips:100@[2001:db8::1]").unwrap()).as_deref(),
        Some("2001:db8::1")
    );
    assert_eq!(realm_of(&Uri::parse("tel:+15551234").unwrap()), None);
}
