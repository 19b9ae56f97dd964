//! Two real softphones (Debian `baresip`) register over TLS to a tenant that requires
//! encryption and call each other through Ringfence with SRTP (negotiated end to end
//! while SDP passes through unchanged): answered, hung up, checked from the call record.

use crate::b2bua_support;
use crate::common;
use crate::phone_support;

use std::time::Duration;

use b2bua_support::{CallEnv, DOMAIN, b2bua_config};
use common::require_binary;
use common::test_config;
use common::tools::eventually;
use phone_support::{Phone, PhoneConfig};
use ringfence_server::config::DigestAlgorithm;
use ringfence_store::{Disposition, EncryptionRequirement, Transport};

#[tokio::test]
async fn two_baresips_over_tls_and_srtp_call_each_other() {
    require_binary("baresip", "baresip-core");
    // baresip 1.0 (libre) gives up on a 401/407 that also offers SHA-256 (ENOSYS) instead
    // of answering the MD5 challenge next to it: offer MD5 only.
    let mut server_config = test_config();
    server_config.auth.algorithms = vec![DigestAlgorithm::Md5];
    let c = CallEnv::start_with(
        EncryptionRequirement::Required,
        b2bua_config(),
        server_config,
        &["100", "101"],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let cert = tmp.path().join("server.pem");
    std::fs::write(&cert, &c.server.cert_pem).unwrap();
    let tls = c.server.tls.port();

    // The callee registers (over TLS) and answers automatically.
    let phone = |ext, rtp, extra| PhoneConfig {
        ext,
        tls_port: tls,
        cert: &cert,
        rtp,
        tone: 440.0,
        record: false,
        extra,
    };
    let callee = Phone::start(tmp.path(), &phone("101", 42_000, &["-t", "20"]));
    let registrar = c.server.service().registrar().clone();
    let (tenant, ext) = (c.tenant.id, c.extensions["101"]);
    let registered =
        eventually(Duration::from_secs(10), || !registrar.locate(tenant, ext).is_empty()).await;
    assert!(registered, "baresip 101 did not register:\n{}", callee.log());
    let loc = registrar.locate(tenant, ext);
    assert_eq!(loc[0].peer.transport, ringfence_sip_proto::transaction::Transport::Tls);

    // The caller dials and hangs up when it quits after a few seconds of talk.
    let dial = format!("/dial sip:101@{DOMAIN}");
    let mut caller = Phone::start(tmp.path(), &phone("100", 42_200, &["-e", &dial, "-t", "6"]));
    let b = c.b2bua.clone();
    let answered = eventually(Duration::from_secs(10), || b.stats().answered == 1).await;
    let caller_log = caller.wait(Duration::from_secs(15)).await;
    assert!(
        answered,
        "the call was not answered:\ncaller:\n{caller_log}\ncallee:\n{}",
        callee.log()
    );
    assert!(caller_log.contains("Call established"), "{caller_log}");
    assert!(caller_log.contains("SRTP is Enabled"), "SRTP end to end:\n{caller_log}");
    let callee_log = callee.log();

    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered, "{r:#?}\n{caller_log}\n{callee_log}");
    assert_eq!((r.call.caller.as_str(), r.call.callee.as_str()), ("100", "101"));
    assert_eq!(r.call.transport, Transport::Tls);
    assert!(r.call.encrypted, "TLS on both legs and SRTP offered and answered");
    assert!(r.call.duration_s > 0);
    assert_eq!(
        r.call.reason.as_deref(),
        Some("caller hung up"),
        "caller:\n{caller_log}\ncallee:\n{callee_log}"
    );
    drop(callee);
    c.assert_clean();
    c.stop().await;
}
