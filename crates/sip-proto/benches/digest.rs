//! Digest server costs: issuing a challenge pair and verifying credentials (SHA-256, MD5).
//!
//! Run: `cargo bench -p ringfence-sip-proto --bench digest`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use ringfence_sip_proto::digest::{
    AuthRequest, DigestClient, DigestConfig, DigestServer, Ha1, HashAlgorithm, Secret,
};
use ringfence_sip_types::auth::{Challenge, Credentials};

const REALM: &str = "example.com";
const URI: &str = "sip:example.com";
const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));

fn bench(c: &mut Criterion) {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let server = DigestServer::new(&[9; 32], DigestConfig::default(), start);
    let now = start + Duration::from_secs(1);

    c.bench_function("digest/challenge (SHA-256 + MD5 pair, printed)", |b| {
        b.iter(|| {
            let challenges = server.challenge(black_box(REALM), SOURCE, now, false);
            let printed: Vec<String> = challenges.iter().map(ToString::to_string).collect();
            black_box(printed)
        });
    });

    for (name, alg) in [("SHA-256", HashAlgorithm::Sha256), ("MD5", HashAlgorithm::Md5)] {
        let challenges = server.challenge(REALM, SOURCE, now, false);
        let only: Vec<Challenge> = challenges
            .into_iter()
            .filter(|c| c.as_digest().is_some_and(|d| d.algorithm_or_default().as_str() == name))
            .collect();
        let mut client = DigestClient::new("alice", Secret::password("correct horse battery"));
        client.respond(&only, "REGISTER", URI, "cnonce0").unwrap();
        let ha1 = Ha1::compute(alg, "alice", REALM, "correct horse battery");
        let request =
            AuthRequest { method: "REGISTER", request_uri: URI, realm: REALM, source: SOURCE, now };
        // Each verification needs a fresh nonce count; the printed header is parsed too, as
        // a registrar would.
        c.bench_function(&format!("digest/verify {name} (parse + verify)"), |b| {
            b.iter_batched(
                || client.authorize("REGISTER", URI, "cnonce1").unwrap().to_string(),
                |header| {
                    let creds = Credentials::parse(&header).unwrap();
                    server.verify(&creds, &request, |_, _| Some(ha1.clone())).unwrap()
                },
                criterion::BatchSize::SmallInput,
            );
        });
        c.bench_function(&format!("digest/verify {name} (verify only)"), |b| {
            b.iter_batched(
                || client.authorize("REGISTER", URI, "cnonce1").unwrap(),
                |creds| server.verify(&creds, &request, |_, _| Some(ha1.clone())).unwrap(),
                criterion::BatchSize::SmallInput,
            );
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
