//! Digest authentication conformance (RFC 7616, RFC 8760) and server round trips.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use ringfence_sip_proto::digest::{
    AuthFailure, AuthRequest, DigestClient, DigestConfig, DigestServer, Ha1, HashAlgorithm, Secret,
    UriCheck, compute_response, respond,
};
use ringfence_sip_types::auth::{Algorithm, Challenge, Credentials, DigestCredentials, Qop};

// ---- RFC 7616 §3.9.1 ---------------------------------------------------------------------

const RFC_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const RFC_MD5_RESPONSE: &str = "8ca523f5e9506fed4657c9700eebdbec";
const RFC_SHA256_RESPONSE: &str =
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

fn rfc_challenge(algorithm: &str) -> Challenge {
    Challenge::parse(&format!(
        "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
         algorithm={algorithm}, nonce=\"{RFC_NONCE}\", opaque=\"{RFC_OPAQUE}\""
    ))
    .unwrap()
}

fn rfc_credentials(algorithm: &str, response: &str) -> DigestCredentials {
    let creds = Credentials::parse(&format!(
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
         uri=\"/dir/index.html\", algorithm={algorithm}, nonce=\"{RFC_NONCE}\", nc=00000001, \
         cnonce=\"{RFC_CNONCE}\", qop=auth, response=\"{response}\", opaque=\"{RFC_OPAQUE}\""
    ))
    .unwrap();
    creds.as_digest().unwrap().clone()
}

fn rfc_client_answer(algorithm: &str) -> DigestCredentials {
    let challenge = rfc_challenge(algorithm);
    let secret = Secret::password("Circle of Life");
    let creds = respond(
        challenge.as_digest().unwrap(),
        "GET",
        "/dir/index.html",
        "Mufasa",
        &secret,
        RFC_CNONCE,
        1,
    )
    .unwrap();
    creds.as_digest().unwrap().clone()
}

#[test]
fn rfc7616_3_9_1_md5_client_reproduces_the_response() {
    let answer = rfc_client_answer("MD5");
    assert_eq!(answer.response, RFC_MD5_RESPONSE);
    assert_eq!(answer, rfc_credentials("MD5", RFC_MD5_RESPONSE), "every field as in the RFC");
}

#[test]
fn rfc7616_3_9_1_sha256_client_reproduces_the_response() {
    let answer = rfc_client_answer("SHA-256");
    assert_eq!(answer.response, RFC_SHA256_RESPONSE);
    assert_eq!(answer, rfc_credentials("SHA-256", RFC_SHA256_RESPONSE));
}

#[test]
fn rfc7616_3_9_1_server_arithmetic_from_stored_ha1() {
    let (u, r, p) = ("Mufasa", "http-auth@example.org", "Circle of Life");
    let md5 = rfc_credentials("MD5", RFC_MD5_RESPONSE);
    assert_eq!(compute_response(&md5, "GET", &Ha1::md5(u, r, p)).unwrap(), RFC_MD5_RESPONSE);
    let sha = rfc_credentials("SHA-256", RFC_SHA256_RESPONSE);
    assert_eq!(compute_response(&sha, "GET", &Ha1::sha256(u, r, p)).unwrap(), RFC_SHA256_RESPONSE);
    // An HA1 restored from storage bytes gives the same answer.
    let stored = Ha1::sha256(u, r, p).as_bytes().to_vec();
    let restored = Ha1::from_bytes(HashAlgorithm::Sha256, &stored).unwrap();
    assert_eq!(compute_response(&sha, "GET", &restored).unwrap(), RFC_SHA256_RESPONSE);
    // Wrong method, password or hash do not.
    assert_ne!(compute_response(&sha, "POST", &restored).unwrap(), RFC_SHA256_RESPONSE);
    let wrong = Ha1::sha256(u, r, "circle of life");
    assert_ne!(compute_response(&sha, "GET", &wrong).unwrap(), RFC_SHA256_RESPONSE);
    assert_eq!(
        compute_response(&sha, "GET", &Ha1::md5(u, r, p)),
        Err(AuthFailure::UnsupportedAlgorithm)
    );
}

#[test]
fn rfc8760_2_4_client_picks_the_strongest_offered() {
    // RFC 7616 §3.9.1 sends MD5 then SHA-256; the client must answer SHA-256 regardless.
    let offered = [rfc_challenge("MD5"), rfc_challenge("SHA-256")];
    let mut client = DigestClient::new("Mufasa", Secret::password("Circle of Life"));
    let creds = client.respond(&offered, "GET", "/dir/index.html", RFC_CNONCE).unwrap();
    assert_eq!(creds.as_digest().unwrap().response, RFC_SHA256_RESPONSE);

    let md5_only = DigestClient::new("Mufasa", Secret::Ha1(vec![Ha1::md5("Mufasa", "x", "y")]));
    assert_eq!(md5_only.choose(&offered).unwrap().algorithm, Some(Algorithm::Md5));

    let unknown = [Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA3").unwrap()];
    assert_eq!(client.choose(&unknown), Err(AuthFailure::UnsupportedAlgorithm));
    let auth_int = [Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"").unwrap()];
    assert_eq!(client.choose(&auth_int), Err(AuthFailure::UnsupportedQop));
    let basic = [Challenge::parse("Basic realm=\"r\"").unwrap()];
    assert_eq!(client.choose(&basic), Err(AuthFailure::UnsupportedScheme));
}

#[test]
fn rfc2069_challenge_without_qop_is_answered_without_cnonce() {
    let challenge = Challenge::parse("Digest realm=\"r\", nonce=\"abc\"").unwrap();
    let creds = respond(
        challenge.as_digest().unwrap(),
        "REGISTER",
        "sip:r",
        "u",
        &Secret::password("p"),
        "cn",
        1,
    )
    .unwrap();
    let d = creds.as_digest().unwrap();
    assert_eq!(
        (d.qop.as_ref(), d.nc, d.cnonce.as_ref(), d.algorithm.as_ref()),
        (None, None, None, None)
    );
    // MD5(MD5("u:r:p") ":" "abc" ":" MD5("REGISTER:sip:r")), from an independent implementation.
    assert_eq!(d.response, "bd5e82936619a3f91bc3f1aad14707dd");
}

// ---- server round trips ------------------------------------------------------------------

const REALM: &str = "pbx.example.com";
const URI: &str = "sip:pbx.example.com";
const PASSWORD: &str = "tr0ub4dor&3-extension";
const KEY: [u8; 32] = [0x5a; 32];
const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20));

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn server_with(config: DigestConfig) -> DigestServer {
    DigestServer::new(&KEY, config, t0())
}

fn server() -> DigestServer {
    server_with(DigestConfig::default())
}

fn request(now: SystemTime) -> AuthRequest<'static> {
    AuthRequest { method: "REGISTER", request_uri: URI, realm: REALM, source: SOURCE, now }
}

/// The store: one user, `1001`, with HA1s for both hashes.
fn lookup(user: &str, alg: HashAlgorithm) -> Option<Ha1> {
    (user == "1001").then(|| Ha1::compute(alg, user, REALM, PASSWORD))
}

fn only(challenges: &[Challenge], alg: &str) -> Vec<Challenge> {
    challenges
        .iter()
        .filter(|c| c.as_digest().is_some_and(|d| d.algorithm_or_default().as_str() == alg))
        .cloned()
        .collect()
}

/// Challenge at `t0 + 1s`, answered by a client as `user`/`password` with `alg`.
fn answer(
    server: &DigestServer,
    alg: &str,
    user: &str,
    password: &str,
) -> (DigestClient, Credentials) {
    let challenges = server.challenge(REALM, SOURCE, t0() + Duration::from_secs(1), false);
    let mut client = DigestClient::new(user, Secret::password(password));
    let creds = client.respond(&only(&challenges, alg), "REGISTER", URI, "c1").unwrap();
    (client, creds)
}

fn at(secs: u64) -> AuthRequest<'static> {
    request(t0() + Duration::from_secs(secs))
}

#[test]
fn rfc8760_challenges_offer_sha256_then_md5_with_qop_auth() {
    let s = server();
    let challenges = s.challenge(REALM, SOURCE, t0(), false);
    assert_eq!(challenges.len(), 2);
    let printed: Vec<String> = challenges.iter().map(ToString::to_string).collect();
    assert!(printed[0].contains(", algorithm=SHA-256, qop=\"auth\""), "{}", printed[0]);
    assert!(printed[1].contains(", algorithm=MD5, qop=\"auth\""), "{}", printed[1]);
    assert!(printed[0].starts_with("Digest realm=\"pbx.example.com\", nonce=\""));
    assert!(!printed[0].contains("stale"));
    let (a, b) = (challenges[0].as_digest().unwrap(), challenges[1].as_digest().unwrap());
    assert_eq!(a.nonce, b.nonce, "one nonce for both");
    for p in &printed {
        assert_eq!(&Challenge::parse(p).unwrap().to_string(), p);
    }
    let stale = s.challenge(REALM, SOURCE, t0(), true);
    assert!(stale.iter().all(|c| c.to_string().contains("stale=true")));

    let mut no_md5 = DigestConfig::default();
    no_md5.offer_md5 = false;
    let only_sha = server_with(no_md5).challenge(REALM, SOURCE, t0(), false);
    assert_eq!(only_sha.len(), 1);
    assert_eq!(only_sha[0].as_digest().unwrap().algorithm, Some(Algorithm::Sha256));
}

#[test]
fn round_trip_verifies_with_both_algorithms() {
    let s = server();
    for alg in ["SHA-256", "MD5"] {
        let (_, creds) = answer(&s, alg, "1001", PASSWORD);
        let verified = s.verify(&creds, &at(2), lookup).unwrap();
        assert_eq!(verified.username, "1001");
        assert_eq!(verified.algorithm.as_str(), alg);
        assert_eq!(verified.nc, 1);
        assert_eq!(verified.nonce_issued, t0() + Duration::from_secs(1));
    }
}

#[test]
fn replayed_credentials_fail_and_increasing_nc_succeeds() {
    let s = server();
    let (mut client, creds) = answer(&s, "SHA-256", "1001", PASSWORD);
    s.verify(&creds, &at(2), lookup).unwrap();
    assert_eq!(s.verify(&creds, &at(3), lookup), Err(AuthFailure::Replay));

    let second = client.authorize("REGISTER", URI, "c2").unwrap();
    assert_eq!(second.as_digest().unwrap().nc, Some(2));
    assert_eq!(s.verify(&second, &at(4), lookup).unwrap().nc, 2);
    assert_eq!(s.verify(&second, &at(4), lookup), Err(AuthFailure::Replay));
    // A count lower than the highest seen is a replay too, even if never used itself.
    let third = client.authorize("REGISTER", URI, "c3").unwrap();
    let fourth = client.authorize("REGISTER", URI, "c4").unwrap();
    s.verify(&fourth, &at(5), lookup).unwrap();
    assert_eq!(s.verify(&third, &at(5), lookup), Err(AuthFailure::Replay));
}

#[test]
fn expired_nonce_is_stale_only_with_the_right_password() {
    let s = server();
    let (_, good) = answer(&s, "MD5", "1001", PASSWORD);
    let (_, bad) = answer(&s, "MD5", "1001", "guess");
    let late = at(1 + 300 + 1);
    assert_eq!(s.verify(&good, &late, lookup), Err(AuthFailure::Stale));
    assert!(AuthFailure::Stale.is_stale());
    assert_eq!(s.verify(&bad, &late, lookup), Err(AuthFailure::Invalid));
    // Right at the end of the lifetime it is still good.
    assert!(s.verify(&good, &at(1 + 300), lookup).is_ok());
}

#[test]
fn nonce_from_the_future_or_an_earlier_run_is_stale() {
    let s = server();
    let future = s.challenge(REALM, SOURCE, t0() + Duration::from_secs(60), false);
    let mut client = DigestClient::new("1001", Secret::password(PASSWORD));
    let creds = client.respond(&future, "REGISTER", URI, "c").unwrap();
    assert_eq!(s.verify(&creds, &at(10), lookup), Err(AuthFailure::Stale));

    // Issued by a server with the same key before this one started: its counts are unknown.
    let earlier = DigestServer::new(&KEY, DigestConfig::default(), t0() - Duration::from_secs(10));
    let old = earlier.challenge(REALM, SOURCE, t0() - Duration::from_secs(5), false);
    let creds = client.respond(&old, "REGISTER", URI, "c").unwrap();
    assert!(earlier.verify(&creds, &at(1), lookup).is_ok());
    assert_eq!(s.verify(&creds, &at(1), lookup), Err(AuthFailure::Stale));
}

#[test]
fn nonce_bound_to_source_ip_and_realm() {
    let s = server();
    let (_, creds) = answer(&s, "SHA-256", "1001", PASSWORD);
    let mut elsewhere = at(2);
    elsewhere.source = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
    assert_eq!(s.verify(&creds, &elsewhere, lookup), Err(AuthFailure::Invalid));
    let mut other_realm = at(2);
    other_realm.realm = "other.example.com";
    assert_eq!(s.verify(&creds, &other_realm, lookup), Err(AuthFailure::RealmMismatch));
    // A server with another key does not know the nonce.
    let stranger = DigestServer::new(&[1; 32], DigestConfig::default(), t0());
    assert_eq!(stranger.verify(&creds, &at(2), lookup), Err(AuthFailure::Invalid));
}

fn with_digest(creds: &Credentials, f: impl FnOnce(&mut DigestCredentials)) -> Credentials {
    let mut d = creds.as_digest().unwrap().clone();
    f(&mut d);
    Credentials::Digest(d)
}

#[test]
fn tampered_nonce_is_invalid_and_never_looks_up_the_user() {
    let s = server();
    let (_, creds) = answer(&s, "SHA-256", "1001", PASSWORD);
    let nonce = creds.as_digest().unwrap().nonce.clone();
    let mut flipped = nonce.clone().into_bytes();
    flipped[10] = if flipped[10] == b'x' { b'y' } else { b'x' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [flipped.as_str(), "", "garbage", &nonce[..40]] {
        let tampered = with_digest(&creds, |d| d.nonce = bad.to_owned());
        let result = s.verify(&tampered, &at(2), |_, _| panic!("lookup for a forged nonce"));
        assert_eq!(result, Err(AuthFailure::Invalid), "{bad}");
    }
}

#[test]
fn unknown_user_and_wrong_password_are_indistinguishable() {
    let s = server();
    let (_, wrong_password) = answer(&s, "SHA-256", "1001", "not-the-password");
    let (_, unknown_user) = answer(&s, "SHA-256", "1002", PASSWORD);
    let mut lookups = Vec::new();
    let mut counted = |u: &str, a| {
        lookups.push(u.to_owned());
        lookup(u, a)
    };
    let a = s.verify(&wrong_password, &at(2), &mut counted);
    let b = s.verify(&unknown_user, &at(2), &mut counted);
    assert_eq!(a, Err(AuthFailure::Invalid));
    assert_eq!(a, b);
    assert_eq!(lookups, ["1001", "1002"], "both paths consult the store once");
    // An HA1 of the wrong hash from the store is not accepted either.
    let (_, good) = answer(&s, "SHA-256", "1001", PASSWORD);
    let wrong_kind = s.verify(&good, &at(2), |u, _| lookup(u, HashAlgorithm::Md5));
    assert_eq!(wrong_kind, Err(AuthFailure::Invalid));
}

#[test]
fn eviction_under_the_cap_turns_old_nonces_stale_never_fresh() {
    let mut config = DigestConfig::default();
    config.replay_capacity = 16;
    let s = server_with(config);
    let mut clients = Vec::new();
    for i in 0..200 {
        let issued = t0() + Duration::from_millis(1000 + i);
        let challenges = s.challenge(REALM, SOURCE, issued, false);
        let mut client = DigestClient::new("1001", Secret::password(PASSWORD));
        let creds = client.respond(&challenges, "REGISTER", URI, "c1").unwrap();
        s.verify(&creds, &at(2), lookup).unwrap();
        clients.push(client);
    }
    assert!(s.tracked_nonces() <= 16, "{}", s.tracked_nonces());
    let second: Vec<Credentials> =
        clients.iter_mut().map(|c| c.authorize("REGISTER", URI, "c2").unwrap()).collect();
    let outcomes: Vec<_> = second.iter().map(|c| s.verify(c, &at(3), lookup)).collect();
    let ok = outcomes.iter().filter(|r| r.is_ok()).count();
    let stale = outcomes.iter().filter(|r| **r == Err(AuthFailure::Stale)).count();
    assert!(ok <= 16, "only remembered nonces may continue: {ok}");
    assert_eq!(ok + stale, 200, "{outcomes:?}");
    // Whatever was accepted or forgotten, the same credentials never pass again.
    for c in &second {
        let again = s.verify(c, &at(3), lookup);
        assert!(matches!(again, Err(AuthFailure::Replay | AuthFailure::Stale)), "{again:?}");
    }
}

#[test]
fn rfc2069_responses_are_refused_by_default_and_single_use_when_allowed() {
    let challenge_2069 = |s: &DigestServer| {
        let mut c = s.challenge(REALM, SOURCE, t0() + Duration::from_secs(1), false);
        c.truncate(1);
        if let Challenge::Digest(d) = &mut c[0] {
            d.qop_options.clear();
        }
        c
    };
    let s = server();
    let mut client = DigestClient::new("1001", Secret::password(PASSWORD));
    let creds = client.respond(&challenge_2069(&s), "REGISTER", URI, "c").unwrap();
    assert!(creds.as_digest().unwrap().qop.is_none());
    assert!(matches!(s.verify(&creds, &at(2), lookup), Err(AuthFailure::Malformed(_))));

    let mut config = DigestConfig::default();
    config.allow_rfc2069 = true;
    let s = server_with(config);
    let creds = client.respond(&challenge_2069(&s), "REGISTER", URI, "c").unwrap();
    assert_eq!(s.verify(&creds, &at(2), lookup).unwrap().nc, 1);
    assert_eq!(s.verify(&creds, &at(2), lookup), Err(AuthFailure::Replay));
}

#[test]
fn sess_algorithms_verify_from_the_stored_ha1() {
    let s = server();
    for (alg, sess) in [("SHA-256", Algorithm::Sha256Sess), ("MD5", Algorithm::Md5Sess)] {
        let mut challenges = only(&s.challenge(REALM, SOURCE, t0(), false), alg);
        if let Challenge::Digest(d) = &mut challenges[0] {
            d.algorithm = Some(sess.clone());
        }
        let mut client = DigestClient::new("1001", Secret::password(PASSWORD));
        let creds = client.respond(&challenges, "REGISTER", URI, "sess-cnonce").unwrap();
        assert_eq!(s.verify(&creds, &at(1), lookup).unwrap().algorithm, sess);
        let (_, wrong) = {
            let mut c = DigestClient::new("1001", Secret::password("nope"));
            let creds = c.respond(&challenges, "REGISTER", URI, "x").unwrap();
            (c, creds)
        };
        assert_eq!(s.verify(&wrong, &at(1), lookup), Err(AuthFailure::Invalid));
    }
}

#[test]
fn policy_and_shape_checks() {
    let s = server();
    let (_, creds) = answer(&s, "SHA-256", "1001", PASSWORD);
    let check = |c: &Credentials| s.verify(c, &at(2), lookup);

    let auth_int = with_digest(&creds, |d| d.qop = Some(Qop::AuthInt));
    assert_eq!(check(&auth_int), Err(AuthFailure::UnsupportedQop));
    let sha512 = with_digest(&creds, |d| d.algorithm = Some(Algorithm::Sha512_256));
    assert_eq!(check(&sha512), Err(AuthFailure::UnsupportedAlgorithm));
    let other = with_digest(&creds, |d| d.algorithm = Some(Algorithm::Other("SHA3".into())));
    assert_eq!(check(&other), Err(AuthFailure::UnsupportedAlgorithm));
    let basic = Credentials::parse("Basic realm=\"x\"").unwrap();
    assert_eq!(check(&basic), Err(AuthFailure::UnsupportedScheme));
    let short = with_digest(&creds, |d| d.response.truncate(32));
    assert!(matches!(check(&short), Err(AuthFailure::Malformed(_))));
    let not_hex = with_digest(&creds, |d| d.response.replace_range(0..1, "g"));
    assert!(matches!(check(&not_hex), Err(AuthFailure::Malformed(_))));
    let upper = with_digest(&creds, |d| d.response = d.response.to_ascii_uppercase());
    let no_nc = with_digest(&creds, |d| d.nc = None);
    assert!(matches!(check(&no_nc), Err(AuthFailure::Malformed(_))));
    let no_cnonce = with_digest(&creds, |d| d.cnonce = None);
    assert!(matches!(check(&no_cnonce), Err(AuthFailure::Malformed(_))));
    let hashed = with_digest(&creds, |d| d.userhash = true);
    assert!(matches!(check(&hashed), Err(AuthFailure::Malformed(_))));
    let other_uri = with_digest(&creds, |d| d.uri = "sip:198.51.100.1:5060".into());
    assert_eq!(check(&other_uri), Err(AuthFailure::UriMismatch));
    // None of the refusals consumed the nonce count: the genuine credentials still pass,
    // and hex case does not matter.
    assert!(check(&upper).is_ok());
}

#[test]
fn lenient_uri_check_accepts_sipp_style_uri() {
    let mut config = DigestConfig::default();
    config.uri_check = UriCheck::Lenient;
    let s = server_with(config);
    let challenges = s.challenge(REALM, SOURCE, t0(), false);
    let mut client = DigestClient::new("1001", Secret::password(PASSWORD));
    let sipp =
        client.respond(&only(&challenges, "MD5"), "REGISTER", "sip:127.0.0.1:5060", "c").unwrap();
    assert!(s.verify(&sipp, &at(1), lookup).is_ok());
    let foreign = client.respond(&challenges, "REGISTER", "sip:evil.example.net", "c").unwrap();
    assert_eq!(s.verify(&foreign, &at(1), lookup), Err(AuthFailure::UriMismatch));
}

#[test]
fn opaque_must_be_echoed_when_configured() {
    let mut config = DigestConfig::default();
    config.opaque = Some("op1".into());
    let s = server_with(config);
    let challenges = s.challenge(REALM, SOURCE, t0(), false);
    assert!(challenges[0].to_string().contains("opaque=\"op1\""));
    let mut client = DigestClient::new("1001", Secret::password(PASSWORD));
    let creds = client.respond(&challenges, "REGISTER", URI, "c").unwrap();
    let dropped = with_digest(&creds, |d| d.opaque = None);
    assert!(matches!(s.verify(&dropped, &at(1), lookup), Err(AuthFailure::Malformed(_))));
    assert!(s.verify(&creds, &at(1), lookup).is_ok());
}

#[test]
fn md5_refused_when_switched_off() {
    let (_, creds) = answer(&server(), "MD5", "1001", PASSWORD);
    let mut config = DigestConfig::default();
    config.offer_md5 = false;
    let s = server_with(config);
    assert_eq!(s.verify(&creds, &at(2), lookup), Err(AuthFailure::UnsupportedAlgorithm));
}

#[test]
fn client_continues_the_count_for_a_repeated_nonce() {
    let s = server();
    let challenges = s.challenge(REALM, SOURCE, t0(), false);
    let mut client = DigestClient::new("1001", Secret::password(PASSWORD));
    assert_eq!(client.authorize("REGISTER", URI, "c"), None, "nothing to reuse yet");
    let first = client.respond(&challenges, "REGISTER", URI, "c").unwrap();
    let again = client.respond(&challenges, "REGISTER", URI, "c").unwrap();
    assert_eq!(first.as_digest().unwrap().nc, Some(1));
    assert_eq!(again.as_digest().unwrap().nc, Some(2));
    let fresh = s.challenge(REALM, SOURCE, t0(), false);
    let renewed = client.respond(&fresh, "REGISTER", URI, "c").unwrap();
    assert_eq!(renewed.as_digest().unwrap().nc, Some(1));
    client.reset();
    assert_eq!(client.authorize("REGISTER", URI, "c"), None);
}

#[test]
fn server_is_shareable_across_threads() {
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<DigestServer>();
    let s = server();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let (_, creds) = answer(&s, "SHA-256", "1001", PASSWORD);
                assert!(s.verify(&creds, &at(2), lookup).is_ok());
            });
        }
    });
}

// ---- robustness --------------------------------------------------------------------------

fn arbitrary_credentials() -> impl Strategy<Value = DigestCredentials> {
    let text = "\\PC{0,80}";
    (
        (text, prop_oneof![Just(REALM.to_owned()), text.prop_map(String::from)], text, text),
        (text, proptest::option::of("[A-Za-z0-9-]{1,20}"), proptest::option::of(text)),
        (proptest::option::of(prop_oneof![Just("auth"), Just("auth-int"), Just("x")])),
        (proptest::option::of(any::<u32>()), any::<bool>(), proptest::option::of(text)),
    )
        .prop_map(
            |(
                (username, realm, nonce, uri),
                (response, alg, cnonce),
                qop,
                (nc, userhash, opaque),
            )| {
                DigestCredentials {
                    username,
                    realm,
                    nonce,
                    uri,
                    response,
                    algorithm: alg.map(|a| Algorithm::from_token(&a)),
                    cnonce,
                    opaque,
                    qop: qop.map(Qop::from_token),
                    nc,
                    userhash,
                    params: Vec::new(),
                }
            },
        )
}

proptest! {
    #[test]
    fn verify_never_panics_on_arbitrary_credentials(
        creds in arbitrary_credentials(),
        use_real_nonce in any::<bool>(),
        hex_response in any::<bool>(),
        secs in 0u64..1000,
    ) {
        let s = server();
        let mut creds = creds;
        if use_real_nonce {
            let c = s.challenge(REALM, SOURCE, t0(), false);
            creds.nonce = c[0].as_digest().unwrap().nonce.clone();
        }
        if hex_response {
            creds.response = "ab".repeat(creds.response.len() % 40);
        }
        let result = s.verify(&Credentials::Digest(creds), &at(secs), lookup);
        prop_assert!(result.is_err(), "random credentials must not verify: {:?}", result);
    }
}
