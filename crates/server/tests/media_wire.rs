//! Media anchoring seen from raw SIP and RTP: the devices are played by raw SIP endpoints
//! and UDP sockets on 127.0.0.1, so every byte of SDP and RTP can be checked. Anchored
//! addresses and intersected codecs, media relayed both ways, injected RTP from another
//! source dropped, a silent call ended after the media timeout and recorded as such, ports
//! released; SRTP terminated per leg with keys only on the TLS leg.

use crate::b2bua_support;
use crate::common;
use crate::media_support;

use std::net::SocketAddr;
use std::time::Duration;

use b2bua_support::{Endpoint, PW};
use common::test_config;
use common::tools::eventually;
use media_support::{MediaEnv, media_config};
use ringfence_media::srtp::{MasterKey, SrtpContext, SrtpSuite};
use ringfence_sdp::Sdp;
use ringfence_sip_types::Method;
use ringfence_store::{Disposition, EncryptionRequirement};
use tokio::net::UdpSocket;
use tokio::time::timeout;

/// An SDP body for a device with RTP on `port`, formats `fmts`, and (SRTP) a key.
fn device_sdp(port: u16, fmts: &str, key: Option<&str>) -> String {
    let proto = if key.is_some() { "RTP/SAVP" } else { "RTP/AVP" };
    let mut s = format!(
        "v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} {proto} {fmts}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    );
    if let Some(k) = key {
        s.push_str(&format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{k}\r\n"));
    }
    s
}

/// The `m=audio` line and the connection address of a body.
fn media_line(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    let m = text.lines().find(|l| l.starts_with("m=audio")).expect("m=audio").to_owned();
    let c = text.lines().rfind(|l| l.starts_with("c=")).expect("c=").to_owned();
    (m, c)
}

fn port_of(m_line: &str) -> u16 {
    m_line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The first inline SDES key of a body.
fn sdes_key(body: &[u8]) -> MasterKey {
    let sdp = Sdp::parse(body).unwrap();
    let c = sdp.media[0].cryptos().into_iter().next().expect("a=crypto");
    let suite = SrtpSuite::from_sdp(&c.suite).unwrap();
    MasterKey::from_bytes(suite, &c.inline_key().unwrap().key_salt()).unwrap()
}

fn rtp(seq: u16, ssrc: u32, fill: u8) -> Vec<u8> {
    let mut p = vec![0x80, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend(std::iter::repeat_n(fill, 160));
    p
}

async fn recv(s: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 2048];
    match timeout(Duration::from_secs(5), s.recv_from(&mut buf)).await {
        Ok(Ok((n, from))) => {
            buf.truncate(n);
            Some((buf, from))
        }
        _ => None,
    }
}

/// Nothing arrives on `s` for a while.
async fn silent(s: &UdpSocket) -> bool {
    let mut buf = vec![0u8; 2048];
    timeout(Duration::from_millis(700), s.recv_from(&mut buf)).await.is_err()
}

async fn udp() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

#[tokio::test]
async fn plain_call_is_anchored_injection_is_dropped_and_silence_ends_it() {
    let media = media_config(44_100, Duration::from_secs(2));
    let m = MediaEnv::start(EncryptionRequirement::Optional, media, test_config(), &["100", "101"])
        .await;
    let server = m.calls.server.udp;
    let (dev_a, dev_b, attacker) = (udp().await, udp().await, udp().await);
    let a_port = dev_a.local_addr().unwrap().port();
    let b_port = dev_b.local_addr().unwrap().port();
    let mut callee = Endpoint::udp(server).await;
    callee.register("101").await;
    let mut caller = Endpoint::udp(server).await;
    caller.call("100", "101", PW, &device_sdp(a_port, "0 8 101", None)).await;

    // The callee is offered the relay, not the caller's address.
    let offer = callee.request().await;
    let (m_b, c_b) = media_line(&offer.body);
    assert_eq!(c_b, "c=IN IP4 127.0.0.1");
    let relay_b = port_of(&m_b);
    assert!((44_100..44_200).contains(&relay_b), "{m_b}");
    assert!(m_b.contains("RTP/AVP 0 8 101"), "{m_b}");
    assert!(!String::from_utf8_lossy(&offer.body).contains("a=crypto"));
    callee.answer(&offer, 200, Some(&device_sdp(b_port, "8 101", None))).await;

    // The caller gets the relay too, with the codecs both sides have.
    let ok = caller.response(200).await;
    assert_eq!(ok.status.code(), 200);
    let (m_a, _) = media_line(&ok.body);
    let relay_a = port_of(&m_a);
    assert!((44_100..44_200).contains(&relay_a) && relay_a != relay_b, "{m_a}");
    assert!(m_a.ends_with("RTP/AVP 8 101"), "{m_a}");
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    assert_eq!(callee.request().await.method, Method::Ack);

    // Media both ways through the relay; each device sees only the relay.
    let to_a: SocketAddr = ([127, 0, 0, 1], relay_a).into();
    let to_b: SocketAddr = ([127, 0, 0, 1], relay_b).into();
    for seq in 0..5u16 {
        dev_a.send_to(&rtp(seq, 0xA, 0x11), to_a).await.unwrap();
        let (p, from) = recv(&dev_b).await.expect("A->B relayed");
        assert_eq!((p, from), (rtp(seq, 0xA, 0x11), to_b));
        dev_b.send_to(&rtp(seq, 0xB, 0x22), to_b).await.unwrap();
        let (p, from) = recv(&dev_a).await.expect("B->A relayed");
        assert_eq!((p, from), (rtp(seq, 0xB, 0x22), to_a));
    }

    // RTP injected from another source port towards the caller's relay port goes nowhere.
    for seq in 5..25u16 {
        attacker.send_to(&rtp(seq, 0xA, 0xEE), to_a).await.unwrap();
    }
    assert!(silent(&dev_b).await, "injected RTP reached the callee");
    let engine = m.anchor.engine().clone();
    let call = (1..64).find(|k| engine.counters(*k).is_some()).expect("a media session");
    assert!(engine.counters(call).unwrap().dropped_injected >= 20);
    // The real device still gets through.
    dev_a.send_to(&rtp(25, 0xA, 0x11), to_a).await.unwrap();
    assert_eq!(recv(&dev_b).await.expect("A->B after injection").0, rtp(25, 0xA, 0x11));

    // Media stops: the call is ended after the timeout, BYE to both, recorded as such.
    let bye = caller.request().await;
    assert_eq!(bye.method, Method::Bye);
    caller.ok(&bye).await;
    let bye = callee.request().await;
    assert_eq!(bye.method, Method::Bye);
    callee.ok(&bye).await;
    let r = m.calls.record().await;
    assert_eq!(r.call.disposition, Disposition::MediaTimeout, "{r:#?}");
    assert!(r.call.reason.as_deref().is_some_and(|s| s.starts_with("media timeout")), "{r:#?}");
    assert!(r.call.answered_at.is_some());

    // The ports go back to the pool after the quarantine.
    let e = engine.clone();
    let back = eventually(Duration::from_secs(10), || {
        let s = e.stats();
        s.calls == 0 && s.ports_free == s.ports_total
    })
    .await;
    assert!(back, "ports not released: {:?}", engine.stats());
    m.calls.assert_clean();
    m.stop().await;
}

#[tokio::test]
async fn srtp_is_terminated_per_leg_and_keys_stay_on_tls() {
    let media = media_config(44_300, Duration::from_secs(60));
    let m =
        MediaEnv::start(EncryptionRequirement::Preferred, media, test_config(), &["100", "101"])
            .await;
    let (dev_a, dev_b) = (udp().await, udp().await);
    let a_port = dev_a.local_addr().unwrap().port();
    let b_port = dev_b.local_addr().unwrap().port();
    // The callee is registered over UDP, the caller calls over TLS with SRTP.
    let mut callee = Endpoint::udp(m.calls.server.udp).await;
    callee.register("101").await;
    let mut caller = Endpoint::tls(m.calls.server.tls, &m.calls.server.cert_pem).await;
    let a_key_text = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
    let offer_a = device_sdp(a_port, "0", Some(a_key_text));
    let a_key = sdes_key(offer_a.as_bytes());
    caller.call("100", "101", PW, &offer_a).await;

    // No key travels to the plain leg: it is offered plain RTP.
    let offer = callee.request().await;
    let body = String::from_utf8_lossy(&offer.body).into_owned();
    assert!(!body.contains("a=crypto") && !body.contains(a_key_text), "{body}");
    assert!(media_line(&offer.body).0.contains("RTP/AVP"), "{body}");
    let relay_b = port_of(&media_line(&offer.body).0);
    callee.answer(&offer, 200, Some(&device_sdp(b_port, "0", None))).await;

    // The caller gets SRTP with the relay's own key (not its own, not shared).
    let ok = caller.response(200).await;
    assert_eq!(ok.status.code(), 200);
    let (m_a, _) = media_line(&ok.body);
    assert!(m_a.contains("RTP/SAVP 0"), "{m_a}");
    let relay_key = sdes_key(&ok.body);
    assert_ne!(relay_key.key_salt(), a_key.key_salt());
    let relay_a = port_of(&m_a);
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    assert_eq!(callee.request().await.method, Method::Ack);

    // SRTP from the caller arrives in clear on the plain leg; clear RTP from the callee
    // arrives protected with the relay's key; a forged SRTP packet goes nowhere.
    let to_a: SocketAddr = ([127, 0, 0, 1], relay_a).into();
    let to_b: SocketAddr = ([127, 0, 0, 1], relay_b).into();
    let mut a_tx = SrtpContext::new(&a_key).unwrap();
    let mut a_rx = SrtpContext::new(&relay_key).unwrap();
    for seq in 0..5u16 {
        let mut p = rtp(seq, 0xA, 0x33);
        a_tx.protect_rtp(&mut p).unwrap();
        assert_ne!(p[12..172], rtp(seq, 0xA, 0x33)[12..], "encrypted");
        dev_a.send_to(&p, to_a).await.unwrap();
        let (got, _) = recv(&dev_b).await.expect("A->B");
        assert_eq!(got, rtp(seq, 0xA, 0x33), "decrypted by the relay");
        dev_b.send_to(&rtp(seq, 0xB, 0x44), to_b).await.unwrap();
        let (mut got, _) = recv(&dev_a).await.expect("B->A");
        assert_ne!(got, rtp(seq, 0xB, 0x44), "protected towards the SRTP leg");
        a_rx.unprotect_rtp(&mut got).unwrap();
        assert_eq!(got, rtp(seq, 0xB, 0x44));
    }
    let mut forged = rtp(9, 0xA, 0x55);
    forged.extend_from_slice(&[0u8; 10]);
    dev_a.send_to(&forged, to_a).await.unwrap();
    assert!(silent(&dev_b).await, "a packet failing SRTP authentication was relayed");
    let engine = m.anchor.engine().clone();
    let call = (1..64).find(|k| engine.counters(*k).is_some()).expect("a media session");
    assert_eq!(engine.counters(call).unwrap().srtp_auth_failures, 1);

    // The caller hangs up.
    caller.send(&caller.in_dialog("BYE", &ok, 3)).await;
    let bye = callee.request().await;
    assert_eq!(bye.method, Method::Bye);
    callee.ok(&bye).await;
    let r = m.calls.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered);
    assert!(!r.call.encrypted, "the callee leg is plain");
    assert!(eventually(Duration::from_secs(5), || engine.stats().calls == 0).await);
    m.stop().await;
}

#[tokio::test]
async fn required_tenant_refuses_an_offer_without_crypto_and_a_plain_callee_leg() {
    let media = media_config(44_500, Duration::from_secs(60));
    let m = MediaEnv::start(EncryptionRequirement::Required, media, test_config(), &["100", "101"])
        .await;
    let dev = udp().await;
    let port = dev.local_addr().unwrap().port();
    let mut callee = Endpoint::tls(m.calls.server.tls, &m.calls.server.cert_pem).await;
    callee.register("101").await;
    let mut caller = Endpoint::tls(m.calls.server.tls, &m.calls.server.cert_pem).await;

    // RTP/AVP without a=crypto over TLS: 488.
    let inv = caller.call("100", "101", PW, &device_sdp(port, "0", None)).await;
    let r = caller.response(200).await;
    caller.send(&b2bua_support::ack_for(&inv, &r)).await;
    assert_eq!(r.status.code(), 488);

    // With a key, the callee (TLS) is offered SRTP with the relay's key, not the caller's.
    let key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
    let inv = caller.call("100", "101", PW, &device_sdp(port, "0", Some(key))).await;
    let offer = callee.request().await;
    let body = String::from_utf8_lossy(&offer.body).into_owned();
    assert!(media_line(&offer.body).0.contains("RTP/SAVP"), "{body}");
    assert!(body.contains("a=crypto:") && !body.contains(key), "{body}");
    // The callee answers without SRTP: refused, the caller gets an error, no media state.
    callee.answer(&offer, 200, Some(&device_sdp(port, "0", None))).await;
    let r = caller.response(300).await;
    caller.send(&b2bua_support::ack_for(&inv, &r)).await;
    assert_eq!(r.status.code(), 488);
    let ack = callee.request().await;
    assert_eq!(ack.method, Method::Ack);
    let bye = callee.request().await;
    assert_eq!(bye.method, Method::Bye, "the refused answer's dialog is ended");
    callee.ok(&bye).await;
    let recs = m.calls.records().await;
    assert_eq!(recs.len(), 2);
    assert_eq!(m.anchor.engine().stats().calls, 0);
    m.stop().await;
}

/// An RTCP receiver report without report blocks (RFC 3550 §6.4.2).
fn rtcp_rr(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 201, 0, 1];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p
}

#[tokio::test]
async fn rtcp_mux_and_separate_rtcp_and_hold_with_a_new_address() {
    let media = media_config(44_700, Duration::from_secs(60));
    let m = MediaEnv::start(EncryptionRequirement::Optional, media, test_config(), &["100", "101"])
        .await;
    let server = m.calls.server.udp;
    let (a_rtp, a_rtcp, b_rtp, a_moved) = (udp().await, udp().await, udp().await, udp().await);
    let port = |s: &UdpSocket| s.local_addr().unwrap().port();
    let mut callee = Endpoint::udp(server).await;
    callee.register("101").await;
    let mut caller = Endpoint::udp(server).await;
    // The caller uses a separate RTCP port (a=rtcp), the callee muxes.
    let offer_a = format!("{}a=rtcp:{}\r\n", device_sdp(port(&a_rtp), "0", None), port(&a_rtcp));
    caller.call("100", "101", PW, &offer_a).await;
    let offer = callee.request().await;
    let text = String::from_utf8_lossy(&offer.body).into_owned();
    assert!(text.contains("a=rtcp-mux") && !text.contains("a=rtcp:"), "{text}");
    let relay_b = port_of(&media_line(&offer.body).0);
    let answer_b = format!("{}a=rtcp-mux\r\n", device_sdp(port(&b_rtp), "0", None));
    callee.answer(&offer, 200, Some(&answer_b)).await;
    let ok = caller.response(200).await;
    let text = String::from_utf8_lossy(&ok.body).into_owned();
    assert!(!text.contains("a=rtcp-mux"), "the caller did not offer mux: {text}");
    let relay_a = port_of(&media_line(&ok.body).0);
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    assert_eq!(callee.request().await.method, Method::Ack);

    let to_a: SocketAddr = ([127, 0, 0, 1], relay_a).into();
    let to_a_rtcp: SocketAddr = ([127, 0, 0, 1], relay_a + 1).into();
    let to_b: SocketAddr = ([127, 0, 0, 1], relay_b).into();
    a_rtp.send_to(&rtp(1, 0xA, 0x11), to_a).await.unwrap();
    assert_eq!(recv(&b_rtp).await.expect("RTP A->B").0, rtp(1, 0xA, 0x11));
    b_rtp.send_to(&rtp(1, 0xB, 0x22), to_b).await.unwrap();
    assert_eq!(recv(&a_rtp).await.expect("RTP B->A").0, rtp(1, 0xB, 0x22));
    // RTCP from the caller's RTCP port to the relay's RTCP port reaches the callee's
    // muxed RTP port, and the callee's muxed RTCP reaches the caller's RTCP port.
    a_rtcp.send_to(&rtcp_rr(0xA), to_a_rtcp).await.unwrap();
    assert_eq!(recv(&b_rtp).await.expect("RTCP A->B").0, rtcp_rr(0xA));
    b_rtp.send_to(&rtcp_rr(0xB), to_b).await.unwrap();
    let (p, from) = recv(&a_rtcp).await.expect("RTCP B->A");
    assert_eq!((p, from), (rtcp_rr(0xB), to_a_rtcp));

    // Hold from the caller, from a new address: the callee sees sendonly and the same
    // relay port; the caller sees the callee's recvonly and the same relay port; the new
    // address is latched and its media still flows.
    let hold = device_sdp(port(&a_moved), "0", None).replace("a=sendrecv", "a=sendonly");
    caller.send(&caller.in_dialog_with("INVITE", &ok, 3, Some(&hold))).await;
    let reinvite = callee.request().await;
    assert_eq!(reinvite.method, Method::Invite);
    let text = String::from_utf8_lossy(&reinvite.body).into_owned();
    assert!(text.contains("a=sendonly"), "{text}");
    assert_eq!(port_of(&media_line(&reinvite.body).0), relay_b, "{text}");
    let held = device_sdp(port(&b_rtp), "0", None).replace("a=sendrecv", "a=recvonly");
    callee.answer(&reinvite, 200, Some(&format!("{held}a=rtcp-mux\r\n"))).await;
    let ok2 = caller.response(200).await;
    let text = String::from_utf8_lossy(&ok2.body).into_owned();
    assert!(text.contains("a=recvonly"), "{text}");
    assert_eq!(port_of(&media_line(&ok2.body).0), relay_a, "{text}");
    caller.send(&caller.in_dialog("ACK", &ok2, 3)).await;
    assert_eq!(callee.request().await.method, Method::Ack);
    a_moved.send_to(&rtp(2, 0xA, 0x33), to_a).await.unwrap();
    assert_eq!(recv(&b_rtp).await.expect("RTP from the new address").0, rtp(2, 0xA, 0x33));
    a_rtp.send_to(&rtp(3, 0xA, 0x44), to_a).await.unwrap();
    assert!(silent(&b_rtp).await, "the old address is no longer accepted");

    caller.send(&caller.in_dialog("BYE", &ok, 4)).await;
    let bye = callee.request().await;
    assert_eq!(bye.method, Method::Bye);
    callee.ok(&bye).await;
    let r = m.calls.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered);
    let engine = m.anchor.engine().clone();
    assert!(eventually(Duration::from_secs(5), || engine.stats().calls == 0).await);
    m.stop().await;
}
