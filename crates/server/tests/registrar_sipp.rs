//! The registrar driven by the real tools: SIPp scenarios (tests/sipp/register*.xml) and
//! the svwar extension scanner, against the whole server on 127.0.0.1.

use crate::common;

use common::client::normalize;
use common::tools::{Sipp, svwar};
use common::{TestEnv, test_config};
use ringfence_store::{EncryptionRequirement, ExtensionRepo, RegistrationRepo};

const DOMAIN: &str = "demo.test";
const PW: &str = "correct horse battery staple";

async fn demo() -> (TestEnv, ringfence_store::Tenant) {
    let env = TestEnv::new().await;
    let t = env.tenant(DOMAIN, EncryptionRequirement::Optional).await;
    for n in ["100", "101", "102"] {
        env.extension(&t, n, PW, true).await;
    }
    env.extension(&t, "103", PW, false).await;
    (env, t)
}

#[tokio::test]
async fn rfc3261_10_2_register_refresh_unregister_with_sipp() {
    let (env, tenant) = demo().await;
    let server = env.start(test_config()).await;
    let run =
        Sipp::new("register_lifecycle.xml", server.udp).account("100", PW, DOMAIN).run().await;
    run.assert_success();
    // Six requests, three challenges, three 200s.
    let received = run.received();
    let codes: Vec<&str> = received.iter().map(|m| &m[8..11]).filter(|c| *c != "100").collect();
    assert_eq!(codes, ["401", "200", "401", "200", "401", "200"], "{}", run.messages);
    let ext = env.store.list_extensions(tenant.id).await.unwrap()[0].id;
    assert!(server.service().registrar().locate(tenant.id, ext).is_empty());
    assert!(
        env.store.list_bindings(tenant.id, ext, ringfence_store::now()).await.unwrap().is_empty()
    );
    server.stop().await;
}

#[tokio::test]
async fn rfc3261_10_3_several_contacts_and_wildcard_removal_with_sipp() {
    let (env, tenant) = demo().await;
    let server = env.start(test_config()).await;
    let run = Sipp::new("register_wildcard.xml", server.udp).account("101", PW, DOMAIN).run().await;
    run.assert_success();
    let ext = env.store.list_extensions(tenant.id).await.unwrap()[1].id;
    assert!(server.service().registrar().locate(tenant.id, ext).is_empty());
    server.stop().await;
}

#[tokio::test]
async fn rfc3261_10_3_423_interval_too_brief_with_sipp() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let run =
        Sipp::new("register_too_brief.xml", server.udp).account("102", PW, DOMAIN).run().await;
    run.assert_success();
    server.stop().await;
}

/// The last message SIPp received, normalised for comparison.
fn last_received(run: &common::tools::SippRun, user: &str, domain: &str) -> String {
    let last = run.received().pop().expect("SIPp received something");
    let call_id =
        last.lines().find_map(|l| l.strip_prefix("Call-ID: ")).expect("Call-ID").trim().to_owned();
    normalize(
        last.as_bytes(),
        &[(&format!("sip:{user}@"), "sip:USER@"), (domain, "DOMAIN"), (&call_id, "CALLID")],
    )
}

#[tokio::test]
async fn wrong_password_unknown_extension_and_unknown_domain_look_the_same_to_sipp() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    let cases = [
        ("wrong password", "100", "guess", DOMAIN),
        ("unknown extension", "150", PW, DOMAIN),
        ("disabled extension", "103", PW, DOMAIN),
        ("unknown domain", "100", PW, "elsewhere.test"),
    ];
    let mut seen = Vec::new();
    for (case, user, pw, domain) in cases {
        let run =
            Sipp::new("register_refused.xml", server.udp).account(user, pw, domain).run().await;
        run.assert_success();
        // SIPp chooses its own port per run: drop the Via line, compare the rest.
        let text = last_received(&run, user, domain);
        let without_via: Vec<&str> = text.lines().filter(|l| !l.starts_with("Via:")).collect();
        seen.push((case, without_via.join("\n")));
    }
    for (case, text) in &seen[1..] {
        assert_eq!(&seen[0].1, text, "{case} differs from a wrong password");
    }
    assert!(seen[0].1.starts_with("SIP/2.0 401 Unauthorized"), "{}", seen[0].1);
    server.stop().await;
}

/// svwar first asks about a random extension to learn the "no such user" answer, then
/// compares. With REGISTER and INVITE every answer is the same challenge, which svwar cannot
/// classify: it stops after the first real extension ("unknown response"). With OPTIONS
/// every answer is the same 200, which it reads as "no such user" for the whole range.
#[tokio::test]
async fn svwar_finds_no_extension_with_register_options_or_invite() {
    let (env, _) = demo().await;
    let server = env.start(test_config()).await;
    for (method, probes) in [("REGISTER", 2), ("OPTIONS", 17), ("INVITE", 2)] {
        let before = server.service().transports().stats();
        let run = svwar(server.udp, DOMAIN, method, "95-110").await;
        let after = server.service().transports().stats();
        // It really asked, in requests we could parse.
        assert!(
            after.received - before.received >= probes,
            "svwar -m {method} sent too little:\n{}",
            run.output
        );
        assert_eq!(after.parse_errors, before.parse_errors, "svwar -m {method}: parse errors");
        assert!(run.found.is_empty(), "svwar -m {method} found {:?}:\n{}", run.found, run.output);
        assert!(run.output.contains("found nothing"), "svwar -m {method}:\n{}", run.output);
    }
    server.stop().await;
}
