//! The relay against raw UDP sockets on 127.0.0.1: two fake devices exchange RTP
//! through a session; latching, injection, SRTP on one leg, media timeout, port release
//! and shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use ringfence_media::srtp::{MasterKey, SrtpContext, SrtpSuite};
use ringfence_media::{
    Encryption, LegSetup, MediaConfig, MediaEngine, MediaError, MediaEvent, Route, Side,
};
use ringfence_sdp::Sdp;
use tokio::net::UdpSocket;
use tokio::time::timeout;

fn config(base: u16) -> MediaConfig {
    MediaConfig {
        bind_ip: "127.0.0.1".parse().unwrap(),
        advertised_ip: "127.0.0.1".parse().unwrap(),
        port_min: base,
        port_max: base + 99,
        port_quarantine: Duration::from_millis(200),
        ..MediaConfig::default()
    }
}

fn rtp(seq: u16, ssrc: u32, fill: u8) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend(std::iter::repeat_n(fill, 160));
    p
}

async fn socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

async fn recv(s: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 2048];
    match timeout(Duration::from_secs(2), s.recv_from(&mut buf)).await {
        Ok(Ok((n, from))) => {
            buf.truncate(n);
            Some((buf, from))
        }
        _ => None,
    }
}

/// Nothing arrives within a short grace period.
async fn silent(s: &UdpSocket) -> bool {
    let mut buf = vec![0u8; 2048];
    timeout(Duration::from_millis(300), s.recv_from(&mut buf)).await.is_err()
}

async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn plain_rtp_is_relayed_both_ways_and_injection_is_dropped() {
    let (engine, _events) = MediaEngine::new(config(41000)).unwrap();
    let session = engine.allocate(1).unwrap();
    let (a, b, attacker) = (socket().await, socket().await, socket().await);
    let plain = |addr| LegSetup { rtp: Some(addr), ..LegSetup::default() };
    session.configure(Side::A, plain(a.local_addr().unwrap()));
    session.configure(Side::B, plain(b.local_addr().unwrap()));
    let (ra, rb) = (session.local(Side::A), session.local(Side::B));
    assert_eq!((ra.port() % 2, rb.port() % 2), (0, 0), "even RTP ports");

    a.send_to(&rtp(1, 0xa, 0x11), ra).await.unwrap();
    let (got, from) = recv(&b).await.expect("A's packet reaches B");
    assert_eq!(got, rtp(1, 0xa, 0x11));
    assert_eq!(from, rb, "B sees only the relay");
    b.send_to(&rtp(7, 0xb, 0x22), rb).await.unwrap();
    assert_eq!(recv(&a).await.expect("B's packet reaches A").0, rtp(7, 0xb, 0x22));

    // A third party sends to the relay's A port after A latched: not forwarded.
    for seq in 2..12 {
        attacker.send_to(&rtp(seq, 0xa, 0x66), ra).await.unwrap();
    }
    assert!(silent(&b).await, "injected RTP must not reach B");
    assert!(
        eventually(|| session.counters().dropped_injected == 10).await,
        "{:?}",
        session.counters()
    );
    a.send_to(&rtp(2, 0xa, 0x11), ra).await.unwrap();
    assert_eq!(recv(&b).await.expect("A still gets through").0, rtp(2, 0xa, 0x11));
    let c = session.counters();
    assert_eq!(c.packets, [2, 1]);
    assert_eq!(c.bytes, [344, 172]);
}

#[tokio::test]
async fn a_device_behind_nat_is_latched_from_its_first_packets() {
    let (engine, _events) = MediaEngine::new(config(41100)).unwrap();
    let session = engine.allocate(2).unwrap();
    let (a, b) = (socket().await, socket().await);
    // A's SDP names a private address nobody listens on; it really sends from `a`.
    session.configure(
        Side::A,
        LegSetup { rtp: Some("127.0.0.1:9".parse().unwrap()), ..LegSetup::default() },
    );
    session
        .configure(Side::B, LegSetup { rtp: Some(b.local_addr().unwrap()), ..LegSetup::default() });
    a.send_to(&rtp(1, 1, 1), session.local(Side::A)).await.unwrap();
    recv(&b).await.expect("relayed to B");
    b.send_to(&rtp(1, 2, 2), session.local(Side::B)).await.unwrap();
    let (got, _) = recv(&a).await.expect("B's media goes to where A really is");
    assert_eq!(got, rtp(1, 2, 2));
    // A re-INVITE with a new address re-latches.
    let a2 = socket().await;
    session.configure(
        Side::A,
        LegSetup { rtp: Some(a2.local_addr().unwrap()), ..LegSetup::default() },
    );
    a2.send_to(&rtp(5, 1, 3), session.local(Side::A)).await.unwrap();
    assert_eq!(recv(&b).await.expect("new source accepted").0, rtp(5, 1, 3));
    b.send_to(&rtp(2, 2, 4), session.local(Side::B)).await.unwrap();
    assert_eq!(recv(&a2).await.expect("sent to the new address").0, rtp(2, 2, 4));
}

fn sdp_offer(port: u16, proto: &str, crypto: Option<&str>, mux: bool) -> String {
    let mut s = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} {proto} 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n\
         a=ptime:20\r\na=sendrecv\r\n"
    );
    if let Some(c) = crypto {
        s.push_str(&format!("a=crypto:{c}\r\n"));
    }
    if mux {
        s.push_str("a=rtcp-mux\r\n");
    }
    s
}

fn key_line(tag: u32, key: &MasterKey) -> String {
    let c = ringfence_sdp::Crypto::inline(tag, key.suite().to_sdp(), key.key_salt());
    c.to_string()
}

fn route(from: Side, encryption: Encryption, from_tls: bool, to_tls: bool) -> Route {
    Route { from, encryption, from_tls, to_tls, fork: 0 }
}

fn media_port(sdp: &Sdp) -> u16 {
    sdp.media[0].line.port
}

/// The key the relay put in `sdp` for the device that receives it.
fn relay_key(sdp: &Sdp) -> MasterKey {
    let c = &sdp.media[0].cryptos()[0];
    let suite = SrtpSuite::from_sdp(&c.suite).unwrap();
    MasterKey::from_bytes(suite, &c.inline_key().unwrap().key_salt()).unwrap()
}

#[tokio::test]
async fn srtp_on_the_caller_leg_and_plain_rtp_on_the_callee_leg() {
    for suite in
        [SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AeadAes256Gcm, SrtpSuite::AesCm128HmacSha1_32]
    {
        let (engine, _events) = MediaEngine::new(config(41200)).unwrap();
        let rng = ring::rand::SystemRandom::new();
        let (a, b) = (socket().await, socket().await);
        let ka = MasterKey::generate(suite, &rng).unwrap();
        let offer =
            sdp_offer(a.local_addr().unwrap().port(), "RTP/SAVP", Some(&key_line(3, &ka)), true);
        // A over TLS, B over UDP, tenant "preferred": B gets plain RTP and no key.
        let to_b = engine
            .offer(9, &route(Side::A, Encryption::Preferred, true, false), offer.as_bytes())
            .unwrap();
        let to_b = Sdp::parse(&to_b).unwrap();
        assert_eq!(to_b.media[0].line.proto.as_str(), "RTP/AVP");
        assert!(to_b.media[0].cryptos().is_empty(), "no SDES key towards a plain leg");
        let answer = sdp_offer(b.local_addr().unwrap().port(), "RTP/AVP", None, false);
        let to_a = engine
            .answer(9, &route(Side::B, Encryption::Preferred, false, true), answer.as_bytes())
            .unwrap();
        let to_a = Sdp::parse(&to_a).unwrap();
        assert_eq!(to_a.media[0].line.proto.as_str(), "RTP/SAVP");
        assert!(to_a.media[0].rtcp_mux(), "A offered rtcp-mux, the relay accepts it on A's leg");
        assert_eq!(to_a.media[0].cryptos()[0].tag, 3, "answers A's tag");
        let ours_for_a = relay_key(&to_a);
        assert_ne!(ours_for_a.key_salt(), ka.key_salt(), "the relay's own key, not A's");
        let (ra, rb) = (media_port(&to_a), media_port(&to_b));
        let ra: SocketAddr = format!("127.0.0.1:{ra}").parse().unwrap();
        let rb: SocketAddr = format!("127.0.0.1:{rb}").parse().unwrap();

        // A encrypts with its key; B receives plain RTP.
        let mut tx_a = SrtpContext::new(&ka).unwrap();
        for seq in 100..105 {
            let mut p = rtp(seq, 0xaaaa, seq as u8);
            tx_a.protect_rtp(&mut p).unwrap();
            a.send_to(&p, ra).await.unwrap();
            let (got, _) = recv(&b).await.expect("decrypted packet reaches B");
            assert_eq!(got, rtp(seq, 0xaaaa, seq as u8), "{suite:?}");
        }
        // B sends plain RTP; A decrypts it with the key the relay gave A.
        let mut rx_a = SrtpContext::new(&ours_for_a).unwrap();
        b.send_to(&rtp(1, 0xbbbb, 0x5a), rb).await.unwrap();
        let (mut got, _) = recv(&a).await.expect("B's packet reaches A");
        assert_ne!(got[12..], rtp(1, 0xbbbb, 0x5a)[12..], "encrypted on A's leg");
        rx_a.unprotect_rtp(&mut got).unwrap();
        assert_eq!(got, rtp(1, 0xbbbb, 0x5a));

        // A forged packet (wrong key) from A's own address is refused.
        let mut forged = rtp(106, 0xaaaa, 0x77);
        SrtpContext::new(&MasterKey::generate(suite, &rng).unwrap())
            .unwrap()
            .protect_rtp(&mut forged)
            .unwrap();
        a.send_to(&forged, ra).await.unwrap();
        assert!(silent(&b).await);
        let c = engine.counters(9).unwrap();
        assert_eq!(c.srtp_auth_failures, 1, "{c:?}");
        assert_eq!(c.packets, [5, 1]);
        engine.shutdown().await;
    }
}

#[tokio::test]
async fn srtp_on_both_legs_uses_different_keys_per_leg() {
    let (engine, _events) = MediaEngine::new(config(41300)).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let (a, b) = (socket().await, socket().await);
    let ka = MasterKey::generate(SrtpSuite::AesCm128HmacSha1_80, &rng).unwrap();
    let offer =
        sdp_offer(a.local_addr().unwrap().port(), "RTP/SAVP", Some(&key_line(1, &ka)), false);
    let r = route(Side::A, Encryption::Required, true, true);
    let to_b = Sdp::parse(&engine.offer(5, &r, offer.as_bytes()).unwrap()).unwrap();
    assert_eq!(to_b.media[0].line.proto.as_str(), "RTP/SAVP");
    let offered = to_b.media[0].cryptos();
    assert_eq!(offered.len(), 3, "one line per configured suite");
    // B picks AEAD_AES_256_GCM (tag 2) with its own key.
    let picked =
        offered.iter().find(|c| c.suite == ringfence_sdp::CryptoSuite::AeadAes256Gcm).unwrap();
    let kb = MasterKey::generate(SrtpSuite::AeadAes256Gcm, &rng).unwrap();
    let answer = sdp_offer(
        b.local_addr().unwrap().port(),
        "RTP/SAVP",
        Some(&key_line(picked.tag, &kb)),
        false,
    );
    let to_a = Sdp::parse(
        &engine
            .answer(5, &route(Side::B, Encryption::Required, true, true), answer.as_bytes())
            .unwrap(),
    )
    .unwrap();
    let ours_for_b =
        MasterKey::from_bytes(SrtpSuite::AeadAes256Gcm, &picked.inline_key().unwrap().key_salt())
            .unwrap();
    let [ra, rb] = engine.local_addresses(5).unwrap();
    assert_eq!((ra.port(), rb.port()), (media_port(&to_a), media_port(&to_b)));

    let mut tx_a = SrtpContext::new(&ka).unwrap();
    let mut rx_b = SrtpContext::new(&ours_for_b).unwrap();
    let mut p = rtp(1, 0x1, 0x42);
    tx_a.protect_rtp(&mut p).unwrap();
    let on_a_leg = p.clone();
    a.send_to(&p, ra).await.unwrap();
    let (mut got, _) = recv(&b).await.expect("relayed");
    assert_ne!(got, on_a_leg, "re-encrypted, not forwarded as is");
    assert_eq!(got.len(), 12 + 160 + 16, "GCM tag on B's leg");
    rx_b.unprotect_rtp(&mut got).unwrap();
    assert_eq!(got, rtp(1, 0x1, 0x42));
    // A's packet replayed is refused.
    a.send_to(&on_a_leg, ra).await.unwrap();
    assert!(silent(&b).await);
    assert!(eventually(|| engine.counters(5).unwrap().srtp_replayed == 1).await);
}

#[tokio::test]
async fn policy_refusals_rfc4568_keys_only_over_tls() {
    let (engine, _events) = MediaEngine::new(config(41400)).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let key = MasterKey::generate(SrtpSuite::AesCm128HmacSha1_80, &rng).unwrap();
    let savp = sdp_offer(4000, "RTP/SAVP", Some(&key_line(1, &key)), false);
    let plain = sdp_offer(4000, "RTP/AVP", None, false);
    let status = |r: Result<Vec<u8>, MediaError>| match r {
        Err(MediaError::NotAcceptable { status, .. }) => status,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Required: a plain offer, or SRTP over UDP, gets 488.
    assert_eq!(
        status(engine.offer(
            1,
            &route(Side::A, Encryption::Required, true, true),
            plain.as_bytes()
        )),
        488
    );
    assert_eq!(
        status(engine.offer(
            2,
            &route(Side::A, Encryption::Required, false, true),
            savp.as_bytes()
        )),
        488
    );
    // Preferred: RTP/SAVP over UDP is refused (its key travelled in clear).
    assert_eq!(
        status(engine.offer(
            3,
            &route(Side::A, Encryption::Preferred, false, true),
            savp.as_bytes()
        )),
        488
    );
    // A suite we do not implement only: 488.
    let f8 = sdp_offer(
        4000,
        "RTP/SAVP",
        Some("1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
        false,
    );
    assert_eq!(
        status(engine.offer(4, &route(Side::A, Encryption::Preferred, true, true), f8.as_bytes())),
        488
    );
    let dtls = plain.replace("RTP/AVP", "UDP/TLS/RTP/SAVPF");
    assert_eq!(
        status(engine.offer(5, &route(Side::A, Encryption::Optional, true, true), dtls.as_bytes())),
        488
    );
    assert_eq!(engine.stats().calls, 0, "refused offers leave nothing behind");
    assert!(matches!(
        engine.offer(6, &route(Side::A, Encryption::Optional, true, true), b"garbage"),
        Err(MediaError::Sdp(_))
    ));

    // Preferred, plain offer from A over UDP to B over TLS: B gets best-effort SDES.
    let to_b = engine
        .offer(7, &route(Side::A, Encryption::Preferred, false, true), plain.as_bytes())
        .unwrap();
    let to_b = Sdp::parse(&to_b).unwrap();
    assert_eq!(to_b.media[0].line.proto.as_str(), "RTP/AVP");
    assert_eq!(to_b.media[0].cryptos().len(), 3);
    // ...and the other way round B (over UDP) gets no key at all.
    let to_b = engine
        .offer(8, &route(Side::A, Encryption::Optional, true, false), savp.as_bytes())
        .unwrap();
    let text = String::from_utf8(to_b).unwrap();
    assert!(!text.contains("a=crypto"), "{text}");
    assert!(!text.contains("4000"), "the device's port is not leaked: {text}");
    engine.release(7);
    engine.release(8);
}

#[tokio::test]
async fn rfc3264_answer_keeps_the_offerers_codec_order_and_dtmf() {
    let (engine, _events) = MediaEngine::new(config(41500)).unwrap();
    let offer = sdp_offer(4000, "RTP/AVP", None, false);
    engine.offer(1, &route(Side::A, Encryption::Optional, false, false), offer.as_bytes()).unwrap();
    let answer = "v=0\r\no=- 2 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                  m=audio 5000 RTP/AVP 8 0 9 96\r\na=rtpmap:96 telephone-event/8000\r\na=rtpmap:9 G722/8000\r\n";
    let to_a = engine
        .answer(1, &route(Side::B, Encryption::Optional, false, false), answer.as_bytes())
        .unwrap();
    let to_a = Sdp::parse(&to_a).unwrap();
    assert_eq!(to_a.media[0].line.formats, ["0", "8", "96"]);
    assert_eq!(to_a.connection().unwrap().address, "127.0.0.1", "relay address, not 127.0.0.2");
    assert!(matches!(
        engine.answer(2, &route(Side::B, Encryption::Optional, false, false), answer.as_bytes()),
        Err(MediaError::NotAcceptable { status: 500, .. })
    ));
}

#[tokio::test]
async fn a_silent_call_times_out_and_ports_are_released() {
    let cfg = MediaConfig { media_timeout: Duration::from_millis(400), ..config(41600) };
    let (engine, mut events) = MediaEngine::new(cfg).unwrap();
    let total = engine.stats().ports_total;
    let (a, b) = (socket().await, socket().await);
    let offer = sdp_offer(a.local_addr().unwrap().port(), "RTP/AVP", None, false);
    let r = route(Side::A, Encryption::Optional, false, false);
    engine.offer(77, &r, offer.as_bytes()).unwrap();
    let answer = sdp_offer(b.local_addr().unwrap().port(), "RTP/AVP", None, false);
    engine
        .answer(77, &route(Side::B, Encryption::Optional, false, false), answer.as_bytes())
        .unwrap();
    assert_eq!(engine.stats().ports_free, total - 2);
    engine.answered(77);
    let [ra, _] = engine.local_addresses(77).unwrap();
    a.send_to(&rtp(1, 1, 1), ra).await.unwrap();
    recv(&b).await.expect("media flows first");
    let ev =
        timeout(Duration::from_secs(10), events.recv()).await.expect("timeout reported").unwrap();
    let MediaEvent::Timeout { call, idle } = ev else { panic!("unexpected {ev:?}") };
    assert_eq!(call, 77);
    assert!(idle >= Duration::from_millis(400));
    engine.release(77);
    assert!(eventually(|| engine.stats().ports_free == total).await, "{:?}", engine.stats());
    assert_eq!(engine.stats().calls, 0);
}

#[tokio::test]
async fn shutdown_stops_sessions_and_refuses_new_ones() {
    let (engine, _events) = MediaEngine::new(config(41700)).unwrap();
    let s = engine.allocate(1).unwrap();
    engine
        .offer(
            2,
            &route(Side::A, Encryption::Optional, false, false),
            sdp_offer(4000, "RTP/AVP", None, false).as_bytes(),
        )
        .unwrap();
    timeout(Duration::from_secs(5), engine.shutdown()).await.expect("shutdown completes");
    assert!(s.is_closed());
    assert!(matches!(engine.allocate(3), Err(MediaError::ShuttingDown)));
    assert_eq!(engine.stats().calls, 0);
}

#[tokio::test]
async fn pool_exhaustion_is_reported() {
    let cfg = MediaConfig { port_min: 41800, port_max: 41803, ..config(41800) };
    let (engine, _events) = MediaEngine::new(cfg).unwrap();
    let _s = engine.allocate(1).unwrap();
    assert!(matches!(engine.allocate(2), Err(MediaError::NoPorts)));
}

#[tokio::test]
async fn max_sessions_caps_calls_with_media() {
    let cfg = MediaConfig { max_sessions: 1, ..config(41900) };
    let (engine, _events) = MediaEngine::new(cfg).unwrap();
    let r = route(Side::A, Encryption::Optional, false, false);
    let offer = sdp_offer(4000, "RTP/AVP", None, false);
    engine.offer(1, &r, offer.as_bytes()).unwrap();
    engine.offer(1, &r, offer.as_bytes()).expect("a re-offer of a call with media");
    assert!(matches!(engine.offer(2, &r, offer.as_bytes()), Err(MediaError::NoPorts)));
    engine.release(1);
    engine.offer(2, &r, offer.as_bytes()).expect("room again");
}
