//! The registrar, the authenticator and the core on the wire: raw SIP over UDP and TCP
//! against the whole server running in-process on 127.0.0.1.

use crate::common;

use std::time::Duration;

use common::client::{Req, StreamClient, UdpClient};
use common::{TestEnv, test_config};
use ringfence_sip_proto::transaction::Transport;
use ringfence_store::{
    Actor, EncryptionRequirement, ExtensionRepo, ExtensionUpdate, RegistrationRepo, TenantRepo,
};

const DOMAIN: &str = "demo.test";
const PW: &str = "correct horse battery staple";

/// A store with tenant `demo.test` (encryption optional): 100 and 101 enabled, 102
/// disabled, all with password [`PW`].
async fn demo() -> (TestEnv, ringfence_store::Tenant) {
    let env = TestEnv::new().await;
    let t = env.tenant(DOMAIN, EncryptionRequirement::Optional).await;
    for n in ["100", "101"] {
        env.extension(&t, n, PW, true).await;
    }
    env.extension(&t, "102", PW, false).await;
    (env, t)
}

/// One refused authenticated REGISTER: returns the final response to the authenticated
/// request, normalised (see [`UdpClient::call_normalized`]).
async fn refused(c: &UdpClient, user: &str, domain: &str, password: &str) -> String {
    let r = Req::register(user, domain, &format!("<sip:{user}@{}>", c.local()));
    let challenge = c.call(&r).await;
    assert_eq!(challenge.status.code(), 401);
    let mut again = r.next();
    again.authorize(&challenge, user, password, false);
    c.call_normalized(&again, user, domain).await
}

#[tokio::test]
async fn unknown_domain_unknown_or_disabled_extension_and_wrong_password_look_the_same() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let wrong_password = refused(&c, "100", DOMAIN, "not the password").await;
    let unknown_ext = refused(&c, "199", DOMAIN, PW).await;
    let disabled_ext = refused(&c, "102", DOMAIN, PW).await;
    let unknown_domain = refused(&c, "100", "nowhere.test", PW).await;
    let not_an_ext = refused(&c, "admin", DOMAIN, PW).await;
    assert!(wrong_password.starts_with("SIP/2.0 401 Unauthorized\r\n"), "{wrong_password}");
    assert!(wrong_password.contains("realm=\"DOMAIN\""), "{wrong_password}");
    for (case, other) in [
        ("unknown extension", &unknown_ext),
        ("disabled extension", &disabled_ext),
        ("unknown domain", &unknown_domain),
        ("malformed extension", &not_an_ext),
    ] {
        assert_eq!(&wrong_password, other, "{case} differs from a wrong password");
    }
    // The first challenge (no credentials yet) has the same shape as the refusal.
    let r = Req::register("100", DOMAIN, "<sip:100@127.0.0.1>");
    let first = c.call_normalized(&r, "100", DOMAIN).await;
    assert_eq!(first.replace("CSeq: 1 ", "CSeq: 2 "), wrong_password);
    server.stop().await;
}

#[tokio::test]
async fn rfc3261_10_3_register_fetch_and_unregister_over_udp() {
    let (env, tenant) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let contact = format!("<sip:100@{}>", c.local());
    let (ok, sent) = c.call_auth(&Req::register("100", DOMAIN, &contact), "100", PW).await;
    assert_eq!(ok.status.code(), 200);
    let contacts = ok.contacts().unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].address().unwrap().expires(), Some(300));
    assert!(ok.headers.date().unwrap().is_some(), "200 carries Date");
    assert!(ok.to().unwrap().tag().is_some());
    // The location service knows where the phone is: its address, transport and flow.
    let ext = env.store.list_extensions(tenant.id).await.unwrap()[0].id;
    let loc = server.service().registrar().locate(tenant.id, ext);
    assert_eq!(loc.len(), 1);
    assert_eq!(loc[0].peer.addr, c.local());
    assert_eq!(loc[0].peer.transport, Transport::Udp);
    assert!(loc[0].peer.flow.is_some());
    assert_eq!(loc[0].contact.to_string(), format!("sip:100@{}", c.local()));
    // The binding is stored, not only in memory.
    let stored = env.store.list_bindings(tenant.id, ext, ringfence_store::now()).await.unwrap();
    assert_eq!(stored.len(), 1);
    // A REGISTER without Contact fetches the bindings (§10.2.3); it needs credentials too.
    let mut fetch = sent.next();
    fetch.contacts.clear();
    fetch.expires = None;
    let (ok, sent) = c.call_auth(&fetch, "100", PW).await;
    assert_eq!(ok.status.code(), 200);
    assert_eq!(ok.contacts().unwrap().len(), 1);
    // Unregister.
    let mut gone = sent.next();
    gone.contacts = vec![contact];
    gone.expires = Some(0);
    let (ok, _) = c.call_auth(&gone, "100", PW).await;
    assert_eq!(ok.status.code(), 200);
    assert!(ok.contacts().unwrap().is_empty());
    assert!(server.service().registrar().locate(tenant.id, ext).is_empty());
    assert!(
        env.store.list_bindings(tenant.id, ext, ringfence_store::now()).await.unwrap().is_empty()
    );
    server.stop().await;
}

#[tokio::test]
async fn rfc3261_10_3_an_extension_registers_only_itself() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    // Credentials of 100, To of 101.
    let mut r = Req::register("101", DOMAIN, "<sip:101@127.0.0.1>");
    let first = c.call(&r).await;
    r = r.next();
    r.authorize(&first, "100", PW, false);
    let resp = c.call(&r).await;
    assert_eq!(resp.status.code(), 403);
    server.stop().await;
}

#[tokio::test]
async fn rfc7616_sha256_credentials_are_accepted() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let r = Req::register("100", DOMAIN, "<sip:100@127.0.0.1:5999>");
    let first = c.call(&r).await;
    let mut again = r.next();
    again.authorize(&first, "100", PW, true);
    assert_eq!(c.call(&again).await.status.code(), 200);
    server.stop().await;
}

#[tokio::test]
async fn a_replayed_authorization_is_refused() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let (ok, sent) =
        c.call_auth(&Req::register("100", DOMAIN, "<sip:100@127.0.0.1:5998>"), "100", PW).await;
    assert_eq!(ok.status.code(), 200);
    // The captured request sent again as a new transaction (new branch and From tag, so
    // neither retransmission matching nor merged-request detection catches it): the same
    // Authorization with the same nonce count must not work twice.
    let mut replay = sent.clone();
    replay.branch = format!("z9hG4bK{}", common::client::rand_hex());
    replay.from_tag = common::client::rand_hex();
    let resp = c.call(&replay).await;
    assert_eq!(resp.status.code(), 401);
    // From another address too (nonces are bound to the source address).
    let other = UdpClient::new(server.udp).await;
    replay.branch = format!("z9hG4bK{}", common::client::rand_hex());
    replay.from_tag = common::client::rand_hex();
    assert_eq!(other.call(&replay).await.status.code(), 401);
    server.stop().await;
}

#[tokio::test]
async fn bindings_survive_a_restart() {
    let (mut env, tenant) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let contact = format!("<sip:100@{}>", c.local());
    let (ok, _) = c.call_auth(&Req::register("100", DOMAIN, &contact), "100", PW).await;
    assert_eq!(ok.status.code(), 200);
    server.stop().await;
    env.reopen().await;
    let server = env.start(test_config()).await;
    let ext = env.store.list_extensions(tenant.id).await.unwrap()[0].id;
    let loc = server.service().registrar().locate(tenant.id, ext);
    assert_eq!(loc.len(), 1, "the binding was loaded at startup");
    assert_eq!(loc[0].peer.addr, c.local());
    assert_eq!(loc[0].peer.flow, None, "flows do not survive a restart");
    // And the phone's next fetch sees it.
    let c2 = UdpClient::new(server.udp).await;
    let mut fetch = Req::register("100", DOMAIN, "");
    fetch.contacts.clear();
    let (ok, _) = c2.call_auth(&fetch, "100", PW).await;
    assert_eq!(ok.contacts().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn rfc5626_a_binding_over_tcp_keeps_its_connection() {
    let (env, tenant) = demo().await;
    let server = env.start(test_config()).await;
    let mut c = StreamClient::tcp(server.tcp).await;
    let inst = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1";
    let mut r =
        Req::register("101", DOMAIN, &format!("<sip:101@{};transport=tcp>;{inst}", c.local));
    r.extra.push("Supported: outbound, path".into());
    let (ok, _) = c.call_auth(&r, "101", PW).await;
    assert_eq!(ok.status.code(), 200);
    assert_eq!(ok.header_str("Require"), Some("outbound"));
    let ext = env.store.list_extensions(tenant.id).await.unwrap()[1].id;
    let loc = server.service().registrar().locate(tenant.id, ext);
    assert_eq!(loc.len(), 1);
    assert_eq!(loc[0].peer.transport, Transport::Tcp);
    assert_eq!(loc[0].peer.addr, c.local);
    assert!(loc[0].peer.flow.is_some());
    assert_eq!(loc[0].reg_id, Some(1));
    server.stop().await;
}

#[tokio::test]
async fn device_networks_refuse_other_sources_like_a_bad_password() {
    let (env, tenant) = demo().await;
    let mut settings = tenant.settings.clone();
    settings.device_networks = vec!["10.0.0.0/8".parse().unwrap()];
    env.store.update_tenant_settings(tenant.id, settings, &Actor::system("test")).await.unwrap();
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let from_loopback = refused(&c, "100", DOMAIN, PW).await;
    let wrong_password = refused(&c, "100", DOMAIN, "nope").await;
    assert_eq!(from_loopback, wrong_password);
    server.stop().await;
}

#[tokio::test]
async fn disabling_an_extension_takes_effect_after_invalidation() {
    let (env, tenant) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let (ok, _) =
        c.call_auth(&Req::register("100", DOMAIN, "<sip:100@127.0.0.1:5997>"), "100", PW).await;
    assert_eq!(ok.status.code(), 200);
    let ext = env.store.list_extensions(tenant.id).await.unwrap()[0].id;
    let update = ExtensionUpdate { enabled: Some(false), ..ExtensionUpdate::default() };
    env.store.update_extension(tenant.id, ext, update, &Actor::system("test")).await.unwrap();
    server.service().auth().invalidate_extension(DOMAIN, "100");
    let (resp, _) =
        c.call_auth(&Req::register("100", DOMAIN, "<sip:100@127.0.0.1:5997>"), "100", PW).await;
    assert_eq!(resp.status.code(), 401);
    server.stop().await;
}

#[tokio::test]
async fn rfc3261_11_options_get_the_same_answer_for_every_target() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let mut shapes = Vec::new();
    for (user, domain) in [("100", DOMAIN), ("199", DOMAIN), ("100", "nowhere.test")] {
        let mut r = Req::register(user, domain, "");
        r.method = "OPTIONS";
        r.uri = format!("sip:{user}@{domain}");
        r.contacts.clear();
        r.expires = None;
        shapes.push(c.call_normalized(&r, user, domain).await);
    }
    assert!(shapes[0].starts_with("SIP/2.0 200 OK\r\n"), "{}", shapes[0]);
    assert!(shapes[0].contains("\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER"));
    assert!(!shapes[0].contains("Server:") && !shapes[0].contains("Contact:"));
    assert_eq!(shapes[0], shapes[1]);
    assert_eq!(shapes[0], shapes[2]);
    server.stop().await;
}

#[tokio::test]
async fn rfc3261_8_2_core_refusals_on_the_wire() {
    let (env, _) = demo().await;
    let mut config = test_config();
    config.core.server_header = Some("Ringfence".into());
    let server = env.start(config).await;
    let c = UdpClient::new(server.udp).await;
    let base = |method: &'static str, uri: &str| {
        let mut r = Req::register("100", DOMAIN, "");
        r.method = method;
        r.uri = uri.to_owned();
        r.contacts.clear();
        r.expires = None;
        r
    };
    let resp = c.call(&base("SUBSCRIBE", "sip:100@demo.test")).await;
    assert_eq!(resp.status.code(), 405);
    assert!(resp.header_str("Allow").is_some());
    assert_eq!(resp.header_str("Server"), Some("Ringfence"), "configured Server header");
    assert_eq!(c.call(&base("FOO", "sip:100@demo.test")).await.status.code(), 501);
    assert_eq!(c.call(&base("INVITE", "http://demo.test/")).await.status.code(), 416);
    let mut r = base("REGISTER", "sip:demo.test");
    r.extra.push("Require: teleportation".into());
    let resp = c.call(&r).await;
    assert_eq!(resp.status.code(), 420);
    assert_eq!(resp.header_str("Unsupported"), Some("teleportation"));
    let r = base("INVITE", "sip:101@demo.test");
    let bytes = String::from_utf8(r.to_bytes(c.local(), "UDP"))
        .unwrap()
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    c.send(bytes.as_bytes()).await;
    let resp = ringfence_sip_types::Response::parse(&c.final_for(&r).await).unwrap();
    assert_eq!(resp.status.code(), 483);
    server.stop().await;
}

#[tokio::test]
async fn invite_goes_through_the_same_authentication_then_480() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let c = UdpClient::new(server.udp).await;
    let invite = |user: &str, domain: &str| {
        let mut r = Req::register(user, domain, &format!("<sip:{user}@127.0.0.1>"));
        r.method = "INVITE";
        r.uri = format!("sip:101@{DOMAIN}");
        r.expires = None;
        r
    };
    // Unknown caller and known caller with a wrong password: the same 407.
    let mut shapes = Vec::new();
    for (user, domain, pw) in
        [("100", DOMAIN, "wrong"), ("177", DOMAIN, PW), ("100", "nowhere.test", PW)]
    {
        let r = invite(user, domain);
        let first = c.call(&r).await;
        assert_eq!(first.status.code(), 407);
        let mut again = r.next();
        again.authorize(&first, user, pw, false);
        shapes.push(c.call_normalized(&again, user, domain).await);
    }
    assert!(
        shapes[0].starts_with("SIP/2.0 407 Proxy Authentication Required\r\n"),
        "{}",
        shapes[0]
    );
    assert!(shapes[0].contains("Proxy-Authenticate: Digest"));
    assert_eq!(shapes[0], shapes[1]);
    assert_eq!(shapes[0], shapes[2]);
    // The right password: the stand-in call handler answers 480.
    let (resp, _) = c.call_auth(&invite("100", DOMAIN), "100", PW).await;
    assert_eq!(resp.status.code(), 480);
    server.stop().await;
}

#[tokio::test]
async fn core_handle_client_transactions_deliver_responses_to_their_owner() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let core = server.service().core().clone();
    let local = core.local_addr(Transport::Udp).unwrap();
    let branch = core.new_branch();
    let text = format!(
        "OPTIONS sip:{dest} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:ringfence@{local}>;tag={tag}\r\nTo: <sip:{dest}>\r\n\
         Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        dest = peer.local_addr().unwrap(),
        tag = core.new_tag(),
        cid = core.new_call_id(None),
    );
    let request = ringfence_sip_types::Request::parse(text.as_bytes()).unwrap();
    let dest =
        ringfence_sip_proto::transaction::Peer::new(peer.local_addr().unwrap(), Transport::Udp);
    let mut tx = core.start_request(request, dest).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, server.udp);
    let got = ringfence_sip_types::Request::parse(&buf[..n]).unwrap();
    let mut answer = ringfence_sip_types::Response::from_request(&got, 200);
    answer.set_to_tag("t1").unwrap();
    peer.send_to(&answer.to_bytes(), from).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), tx.next()).await.unwrap();
    match ev {
        Some(ringfence_server::core::ClientEvent::Response(r)) => assert_eq!(r.status.code(), 200),
        other => panic!("expected the 200, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn shutdown_answers_new_requests_503_while_transactions_drain() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    // A client transaction nobody answers keeps the core draining for the grace period.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let core = server.service().core().clone();
    let local = core.local_addr(Transport::Udp).unwrap();
    let text = format!(
        "OPTIONS sip:{dest} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:ringfence@{local}>;tag=1\r\nTo: <sip:{dest}>\r\n\
         Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        dest = silent.local_addr().unwrap(),
        branch = core.new_branch(),
        cid = core.new_call_id(None),
    );
    let request = ringfence_sip_types::Request::parse(text.as_bytes()).unwrap();
    let dest =
        ringfence_sip_proto::transaction::Peer::new(silent.local_addr().unwrap(), Transport::Udp);
    let _pending = core.start_request(request, dest).await.unwrap();
    let c = UdpClient::new(server.udp).await;
    server.begin_shutdown();
    let resp = c.call(&Req::register("100", DOMAIN, "<sip:100@127.0.0.1:5996>")).await;
    assert_eq!(resp.status.code(), 503);
    assert_eq!(resp.header_str("Retry-After"), Some("5"));
    server.stop().await;
}
