//! A tenant that requires encryption: REGISTER over UDP or TCP is refused exactly like a
//! bad password (SIPp and raw clients), over TLS it succeeds.

use crate::common;

use common::client::{Req, StreamClient, UdpClient};
use common::tools::Sipp;
use common::{TestEnv, test_config};
use ringfence_sip_proto::transaction::Transport;
use ringfence_store::{EncryptionRequirement, ExtensionRepo};

const DOMAIN: &str = "secure.test";
const PW: &str = "tls only please";

#[tokio::test]
async fn encryption_required_refuses_plain_transports_like_a_bad_password() {
    let env = TestEnv::new().await;
    let tenant = env.tenant(DOMAIN, EncryptionRequirement::Required).await;
    env.extension(&tenant, "200", PW, true).await;
    let server = env.start(test_config()).await;

    // UDP, right password: the same answer as a wrong password.
    let c = UdpClient::new(server.udp).await;
    let mut shapes = Vec::new();
    for pw in [PW, "wrong"] {
        let r = Req::register("200", DOMAIN, &format!("<sip:200@{}>", c.local()));
        let challenge = c.call(&r).await;
        let mut again = r.next();
        again.authorize(&challenge, "200", pw, false);
        shapes.push(c.call_normalized(&again, "200", DOMAIN).await);
    }
    assert!(shapes[0].starts_with("SIP/2.0 401 Unauthorized\r\n"), "{}", shapes[0]);
    assert_eq!(shapes[0], shapes[1]);

    // SIPp over UDP with the right password is refused too.
    let run = Sipp::new("register_refused.xml", server.udp).account("200", PW, DOMAIN).run().await;
    run.assert_success();

    // TCP is not encrypted either.
    let mut tcp = StreamClient::tcp(server.tcp).await;
    let r = Req::register("200", DOMAIN, &format!("<sip:200@{};transport=tcp>", tcp.local));
    let (resp, _) = tcp.call_auth(&r, "200", PW).await;
    assert_eq!(resp.status.code(), 401);

    // TLS: registered.
    let mut tls = StreamClient::tls(server.tls, &server.cert_pem).await;
    let r = Req::register("200", DOMAIN, &format!("<sips:200@{}>", tls.local));
    let (resp, _) = tls.call_auth(&r, "200", PW).await;
    assert_eq!(resp.status.code(), 200);
    let ext = env.store.list_extensions(tenant.id).await.unwrap()[0].id;
    let loc = server.service().registrar().locate(tenant.id, ext);
    assert_eq!(loc.len(), 1);
    assert_eq!(loc[0].peer.transport, Transport::Tls);
    assert!(loc[0].peer.flow.is_some(), "requests to the phone reuse its TLS connection");
    assert!(loc[0].contact.is_sips());
    server.stop().await;
}
