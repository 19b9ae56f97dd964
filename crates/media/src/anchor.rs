//! SDP offer/answer through the relay (RFC 3264, RFC 4568): every offer and answer
//! between the legs is rewritten so each device sees only the relay's address, ports
//! and SRTP keys, and the relay's session is set up from what each device said.
//!
//! Per leg: the device's address and ports from SDP (then latched), RTCP muxing as that
//! device negotiated it with the relay, and SRTP as the leg's policy allows:
//!
//! | requirement | offering leg                                   | leg offered to (TLS) |
//! |-------------|------------------------------------------------|----------------------|
//! | `Required`  | TLS and a usable `a=crypto`, else 488          | `RTP/SAVP` + our keys |
//! | `Preferred` / `Optional` | SRTP iff it offered a usable `a=crypto` over TLS | `RTP/AVP` + our keys (SDES best effort) |
//!
//! A leg whose signalling is not TLS never receives an `a=crypto` line (it gets
//! `RTP/AVP`), and an `RTP/SAVP` offer arriving over plain signalling is refused: its
//! key has already travelled in clear. Codecs are not transcoded: the answer to the
//! offerer keeps only formats it offered, in its order of preference (telephone-event
//! included when both sides have it). One audio stream per call is anchored; other
//! streams are declined (port 0). DTLS-SRTP (`UDP/TLS/RTP/SAVP(F)`) is refused.

use std::net::SocketAddr;

use ringfence_sdp::{Crypto, Direction, KeyParam, Media, Sdp, intersect_formats};

use crate::session::{LegSetup, MediaSession, Side};
use crate::srtp::{MasterKey, SrtpSuite};
use crate::{MediaEngine, MediaError};

/// A tenant's encryption requirement, applied per leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encryption {
    /// TLS signalling and SRTP media on every leg.
    Required,
    /// SRTP wherever the device offers (or accepts) it over TLS.
    Preferred,
    /// Like `Preferred`; nothing is required.
    Optional,
}

/// Where an SDP body comes from and goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The leg the body came from.
    pub from: Side,
    /// The tenant's requirement.
    pub encryption: Encryption,
    /// The sending leg's signalling is TLS.
    pub from_tls: bool,
    /// The receiving leg's signalling is TLS.
    pub to_tls: bool,
    /// Which of the callee's devices (forks) the callee leg is (0 without forking).
    pub fork: usize,
}

#[derive(Debug)]
struct OurKey {
    fork: usize,
    tag: u32,
    key: MasterKey,
}

#[derive(Debug, Default)]
struct LegState {
    /// Keys offered to this leg's device(s), per fork and suite (tag = position + 1).
    offered: Vec<OurKey>,
    /// The key we answered this leg's offer with (its tag and suite).
    answered: Option<OurKey>,
}

#[derive(Debug)]
struct Pending {
    from: Side,
    index: usize,
    offer: Media,
    from_secure: Option<(u32, SrtpSuite)>,
    to_savp: bool,
    to_keys: bool,
}

/// A call's media state.
#[derive(Debug, Default)]
pub(crate) struct CallMedia {
    pub(crate) session: Option<MediaSession>,
    legs: [LegState; 2],
    setups: [LegSetup; 2],
    pending: Option<Pending>,
}

/// The first active RTP audio stream.
fn audio_index(sdp: &Sdp) -> Result<usize, MediaError> {
    let dtls_audio = |m: &&Media| {
        m.line.proto.is_dtls_srtp() && !m.line.is_disabled() && m.line.media == "audio"
    };
    if sdp.media.iter().any(|m| dtls_audio(&m)) {
        return Err(MediaError::not_acceptable("DTLS-SRTP is not supported: use SDES (a=crypto)"));
    }
    sdp.media
        .iter()
        .position(|m| m.line.media == "audio" && !m.line.is_disabled() && m.line.proto.is_rtp())
        .ok_or_else(|| MediaError::not_acceptable("no active RTP audio stream"))
}

/// The device's addresses and direction for stream `index`.
fn peer_of(sdp: &Sdp, index: usize) -> LegSetup {
    let m = &sdp.media[index];
    let ip = sdp.media_connection(index).and_then(|c| c.ip()).filter(|ip| !ip.is_unspecified());
    let rtp = ip.map(|ip| SocketAddr::new(ip, m.line.port));
    let rtcp = m.rtcp().and_then(|r| r.ip().or(ip).map(|ip| SocketAddr::new(ip, r.port)));
    let hold = sdp.media_direction(index) != Direction::SendRecv || rtp.is_none();
    LegSetup { rtp, rtcp, mux: m.rtcp_mux(), recv_key: None, send_key: None, hold }
}

/// A crypto line the relay can use: an implemented suite, one inline key of the right
/// length, no MKI, no session parameters (KDR, UNENCRYPTED_*, FEC, WSH).
fn usable(c: &Crypto) -> Option<(SrtpSuite, MasterKey)> {
    let suite = SrtpSuite::from_sdp(&c.suite)?;
    if c.keys.len() != 1 || !c.session_params.is_empty() {
        return None;
    }
    let KeyParam::Inline(k) = &c.keys[0] else { return None };
    if k.mki.is_some() {
        return None;
    }
    MasterKey::from_bytes(suite, &k.key_salt()).ok().map(|key| (suite, key))
}

fn cryptos_of(sdp: &Sdp, m: &Media) -> Vec<Crypto> {
    let own = m.cryptos();
    if own.is_empty() { sdp.session_cryptos() } else { own }
}

impl CallMedia {
    fn session(&mut self, engine: &MediaEngine, call: u64) -> Result<&MediaSession, MediaError> {
        if self.session.is_none() {
            self.session = Some(engine.allocate(call)?);
        }
        Ok(self.session.as_ref().expect("allocated above"))
    }

    fn configure(&mut self, side: Side, setup: LegSetup) {
        if let Some(s) = &self.session {
            s.configure(side, setup.clone());
        }
        self.setups[side.index()] = setup;
    }

    fn offer(
        &mut self,
        engine: &MediaEngine,
        call: u64,
        route: &Route,
        body: &[u8],
    ) -> Result<Vec<u8>, MediaError> {
        let sdp = Sdp::parse(body)?;
        let index = audio_index(&sdp)?;
        let m = &sdp.media[index];
        let (x, y) = (route.from, route.from.other());
        let savp = m.line.proto.is_sdes_srtp();
        let choice = cryptos_of(&sdp, m).into_iter().find_map(|c| usable(&c).map(|u| (c.tag, u)));
        let from_secure = match (&choice, route.from_tls) {
            (Some(_), true) => true,
            (Some(_), false) if savp => {
                return Err(MediaError::not_acceptable(
                    "SRTP keys (a=crypto) over unencrypted signalling: use TLS",
                ));
            }
            (None, _) if savp => {
                return Err(MediaError::not_acceptable("no supported SRTP crypto suite offered"));
            }
            _ => false,
        };
        if route.encryption == Encryption::Required && !from_secure {
            return Err(MediaError::not_acceptable(
                "encryption required: offer SRTP (RTP/SAVP with a=crypto) over TLS",
            ));
        }
        if route.encryption == Encryption::Required && !route.to_tls {
            return Err(MediaError::not_acceptable(
                "encryption required: the callee leg is not TLS",
            ));
        }
        let to_keys = route.to_tls;
        let to_savp = route.encryption == Encryption::Required;

        let local_y = self.session(engine, call)?.local(y);
        let rng = &engine.inner.rng;
        // Leg X: the device's key in, ours (kept across re-offers of the same suite) out.
        let mut setup = peer_of(&sdp, index);
        let mut from_choice = None;
        if let (true, Some((tag, (suite, theirs)))) = (from_secure, choice) {
            let ours = match self.legs[x.index()].answered.take() {
                Some(k) if k.key.suite() == suite => OurKey { tag, ..k },
                _ => OurKey { fork: 0, tag, key: MasterKey::generate(suite, rng)? },
            };
            setup.recv_key = Some(theirs);
            setup.send_key = Some(ours.key.clone());
            self.legs[x.index()].answered = Some(ours);
            from_choice = Some((tag, suite));
        }
        self.configure(x, setup);

        // Leg Y: our keys for this fork, one per configured suite. A leg whose offer we
        // answered earlier keeps the key it already decrypts with (a re-offer towards it,
        // e.g. after a transfer, changes the far side, not this leg's SRTP context).
        let mut lines = Vec::new();
        if to_keys {
            for (i, suite) in engine.config().srtp_suites.iter().enumerate() {
                let tag = u32::try_from(i + 1).unwrap_or(u32::MAX);
                let in_use = self.legs[y.index()]
                    .answered
                    .as_ref()
                    .filter(|k| k.key.suite() == *suite)
                    .map(|k| k.key.clone());
                let offered = &mut self.legs[y.index()].offered;
                let pos = offered
                    .iter()
                    .position(|k| k.fork == route.fork && k.tag == tag && k.key.suite() == *suite);
                let key = match pos {
                    Some(p) => &offered[p].key,
                    None => {
                        let key = match in_use {
                            Some(k) => k,
                            None => MasterKey::generate(*suite, rng)?,
                        };
                        offered.push(OurKey { fork: route.fork, tag, key });
                        &offered.last().expect("pushed").key
                    }
                };
                lines.push(Crypto::inline(tag, suite.to_sdp(), key.key_salt()));
            }
        }
        self.pending = Some(Pending {
            from: x,
            index,
            offer: m.clone(),
            from_secure: from_choice,
            to_savp,
            to_keys,
        });

        let mut out = sdp.clone();
        out.anchor_address(engine.config().advertised_ip);
        out.strip_end_to_end();
        for (i, mm) in out.media.iter_mut().enumerate() {
            if i != index {
                mm.set_port(0);
                mm.set_cryptos(&[]);
                continue;
            }
            mm.set_port(local_y.port());
            mm.set_rtcp(None);
            mm.set_rtcp_mux(true);
            mm.set_secure(to_savp);
            mm.set_cryptos(&lines);
        }
        Ok(out.to_bytes())
    }

    fn answer(
        &mut self,
        engine: &MediaEngine,
        route: &Route,
        body: &[u8],
    ) -> Result<Vec<u8>, MediaError> {
        let (y, x) = (route.from, route.from.other());
        let Some(p) = self.pending.as_ref().filter(|p| p.from == x) else {
            return Err(MediaError::NotAcceptable {
                status: 500,
                reason: "answer without an offer".into(),
            });
        };
        let sdp = Sdp::parse(body)?;
        let Some(m) = sdp.media.get(p.index) else {
            return Err(MediaError::not_acceptable("the answer lacks the offered stream"));
        };
        let local_x = self.session.as_ref().map(|s| s.local(x)).ok_or(MediaError::ShuttingDown)?;
        let mut out = sdp.clone();
        out.anchor_address(engine.config().advertised_ip);
        out.strip_end_to_end();
        if m.line.is_disabled() {
            // The callee declined the stream: decline it towards the offerer too.
            for mm in &mut out.media {
                mm.set_port(0);
                mm.set_cryptos(&[]);
            }
            return Ok(out.to_bytes());
        }
        let common = intersect_formats(&p.offer, m);
        if common.is_empty() {
            return Err(MediaError::not_acceptable("no codec in common with the offer"));
        }
        // Leg Y: its key in, the key of ours it picked out.
        let mut setup = peer_of(&sdp, p.index);
        let picked = m.cryptos().into_iter().next().filter(|_| p.to_keys && route.from_tls);
        match picked {
            Some(c) => {
                let (suite, theirs) = usable(&c).ok_or_else(|| {
                    MediaError::not_acceptable("the answer's a=crypto is not usable")
                })?;
                let ours = self.legs[y.index()]
                    .offered
                    .iter()
                    .find(|k| k.fork == route.fork && k.tag == c.tag && k.key.suite() == suite)
                    .ok_or_else(|| {
                        MediaError::not_acceptable("the answer picked a crypto tag not offered")
                    })?;
                setup.recv_key = Some(theirs);
                setup.send_key = Some(ours.key.clone());
            }
            None if p.to_savp => {
                return Err(MediaError::not_acceptable(
                    "SRTP required but the answer has no a=crypto",
                ));
            }
            None => {}
        }
        let offer_proto = p.offer.line.proto.clone();
        let from_secure = p.from_secure;
        let index = p.index;
        let offer_mux = p.offer.rtcp_mux();
        self.configure(y, setup);

        for (i, mm) in out.media.iter_mut().enumerate() {
            if i != index {
                mm.set_port(0);
                mm.set_cryptos(&[]);
                continue;
            }
            mm.set_port(local_x.port());
            mm.set_rtcp(None);
            mm.set_rtcp_mux(offer_mux);
            mm.retain_formats(&common);
            mm.line.proto = offer_proto.clone();
            let ours = self.legs[x.index()].answered.as_ref();
            match (from_secure, ours) {
                (Some((tag, suite)), Some(k)) => {
                    mm.set_cryptos(&[Crypto::inline(tag, suite.to_sdp(), k.key.key_salt())]);
                }
                _ => mm.set_cryptos(&[]),
            }
        }
        Ok(out.to_bytes())
    }
}

impl MediaEngine {
    /// Rewrites an offer from `route.from` for the other leg; sets up the session (on
    /// the first offer of `call`) and the offering leg.
    ///
    /// # Errors
    /// [`MediaError::NotAcceptable`] (488) for an offer the policy refuses,
    /// [`MediaError::Sdp`] for a malformed body, [`MediaError::NoPorts`] (also when
    /// `max_sessions` calls already have media).
    pub fn offer(&self, call: u64, route: &Route, sdp: &[u8]) -> Result<Vec<u8>, MediaError> {
        let mut calls = self.calls();
        let cap = self.config().max_sessions;
        if !calls.contains_key(&call) && calls.len() >= cap {
            tracing::warn!(
                call,
                max_sessions = cap,
                "media refused: max_sessions calls have media"
            );
            return Err(MediaError::NoPorts);
        }
        let entry = calls.entry(call).or_default();
        let r = entry.offer(self, call, route, sdp);
        if r.is_err() && entry.session.is_none() {
            calls.remove(&call);
        }
        r
    }

    /// Rewrites an answer from `route.from` (to the last offer from the other leg) for
    /// the other leg, and sets up the answering leg.
    ///
    /// # Errors
    /// [`MediaError::NotAcceptable`] for an answer the relay cannot use,
    /// [`MediaError::Sdp`] for a malformed body.
    pub fn answer(&self, call: u64, route: &Route, sdp: &[u8]) -> Result<Vec<u8>, MediaError> {
        let mut calls = self.calls();
        let Some(entry) = calls.get_mut(&call) else {
            return Err(MediaError::NotAcceptable {
                status: 500,
                reason: "answer for an unknown call".into(),
            });
        };
        entry.answer(self, route, sdp)
    }
}
