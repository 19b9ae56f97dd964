//! Media anchoring for the B2BUA: the [`SdpRewriter`] and [`CallObserver`] backed by the
//! RTP/SRTP relay of `ringfence-media`.
//!
//! Place in the data flow:
//! ```text
//! B2BUA offer/answer ──SdpRewriter::rewrite──> MediaAnchor ──> MediaEngine::offer/answer
//!                                                              (relay ports, codecs,
//!                                                               per-leg SRTP keys, policy)
//! B2BUA call answered ──CallObserver──> MediaEngine::answered (media timeout counts)
//! B2BUA call ended ──SdpRewriter::release──> MediaEngine::release (ports rest, then reuse)
//! relay: no RTP for media_timeout ──MediaEvent::Timeout──> [`spawn_timeouts`]
//!        ──> B2buaHandle::end_call_as(.., Disposition::MediaTimeout, ..) (BYE both legs)
//! ```
//!
//! Every body between the legs is rewritten so each device sees only the relay's address
//! and ports; codecs are intersected; SDES keys (`a=crypto`, RFC 4568) are terminated per
//! leg: the relay makes its own key for each leg, and a key is only ever written into SDP
//! going to a TLS leg. The tenant's requirement applies per leg: `required` means SRTP on
//! both legs (an offer without a usable `a=crypto`, or a callee leg that is not TLS, gets
//! 488); `preferred` and `optional` mean SRTP on each leg whose device offers (or accepts)
//! it over TLS, plain RTP elsewhere.
//!
//! The `[sip.media]` table ([`MediaSettings`]) configures it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ringfence_media::srtp::SrtpSuite;
use ringfence_media::{Encryption, MediaError, MediaEvent, Route};
pub use ringfence_media::{MediaConfig, MediaEngine};
use ringfence_sdp::CryptoSuite;
use ringfence_store::{Disposition, EncryptionRequirement};
use serde::{Deserialize, Deserializer};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::b2bua::{
    B2buaHandle, CallInfo, CallObserver, CallRef, SdpContext, SdpKind, SdpRefusal, SdpRewriter,
    Side,
};

/// The `[sip.media]` table: the media relay.
///
/// | field | default | why |
/// | --- | --- | --- |
/// | `anchor` | true | relay every call's media through Ringfence (false: SDP passes unchanged and devices send media to each other, with SRTP negotiated end to end) |
/// | `bind_ip` | `0.0.0.0` | address the relay's UDP sockets bind to |
/// | `advertised_ip` | `bind_ip`, or 127.0.0.1 when that is a wildcard | address written into SDP for devices to send media to: set it to the host's public address |
/// | `port_min` | 30000 | lowest RTP port (even; RTCP uses the odd port above) |
/// | `port_max` | 39999 | highest port used; each call takes two pairs (one per leg) |
/// | `port_quarantine` | 10 | seconds a released port pair rests, so late packets of an ended call never reach the next one |
/// | `media_timeout` | 60 | seconds without RTP in either direction after which an answered call is ended (record disposition `media_timeout`) |
/// | `hold_timeout` | 3600 | the same while a leg is on hold (not `sendrecv`) |
/// | `srtp_suites` | `["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_256_GCM", "AES_CM_128_HMAC_SHA1_32"]` | SRTP suites offered to devices, in order of preference (also `AEAD_AES_128_GCM`) |
/// | `max_sessions` | 10000 | calls with media at once |
///
/// ```
/// use ringfence_server::media_anchor::MediaSettings;
/// let m: MediaSettings =
///     toml::from_str("port_min = 20000\nport_max = 20999\nmedia_timeout = 30\n").unwrap();
/// let c = m.media_config().unwrap();
/// assert_eq!((c.port_min, c.media_timeout.as_secs()), (20000, 30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSettings {
    /// Anchor media at all.
    pub anchor: bool,
    /// Bind address of the relay's sockets.
    pub bind_ip: IpAddr,
    /// Address written into SDP.
    pub advertised_ip: Option<IpAddr>,
    /// Lowest RTP port.
    pub port_min: u16,
    /// Highest port.
    pub port_max: u16,
    /// Rest of a released port pair.
    #[serde(deserialize_with = "seconds")]
    pub port_quarantine: Duration,
    /// Silence after which an answered call is ended.
    #[serde(deserialize_with = "seconds")]
    pub media_timeout: Duration,
    /// The same on hold.
    #[serde(deserialize_with = "seconds")]
    pub hold_timeout: Duration,
    /// SRTP suites offered, by their SDP names.
    pub srtp_suites: Vec<String>,
    /// Calls with media at once.
    pub max_sessions: usize,
}

impl Default for MediaSettings {
    fn default() -> Self {
        let d = MediaConfig::default();
        MediaSettings {
            anchor: true,
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            advertised_ip: None,
            port_min: d.port_min,
            port_max: d.port_max,
            port_quarantine: d.port_quarantine,
            media_timeout: d.media_timeout,
            hold_timeout: d.hold_timeout,
            srtp_suites: d.srtp_suites.iter().map(|s| s.to_sdp().to_string()).collect(),
            max_sessions: d.max_sessions,
        }
    }
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    Ok(Duration::from_secs(u64::deserialize(d)?))
}

impl MediaSettings {
    /// The relay's configuration, checked.
    ///
    /// # Errors
    /// A message naming the field: an unknown or unimplemented SRTP suite, a port range
    /// too small, a zero timeout, an unspecified advertised address.
    pub fn media_config(&self) -> Result<MediaConfig, String> {
        let mut suites = Vec::with_capacity(self.srtp_suites.len());
        for name in &self.srtp_suites {
            let suite = SrtpSuite::from_sdp(&CryptoSuite::parse(name))
                .ok_or_else(|| format!("srtp_suites: {name:?} is not an implemented suite"))?;
            suites.push(suite);
        }
        let advertised = self.advertised_ip.unwrap_or(if self.bind_ip.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.bind_ip
        });
        let c = MediaConfig {
            bind_ip: self.bind_ip,
            advertised_ip: advertised,
            port_min: self.port_min,
            port_max: self.port_max,
            port_quarantine: self.port_quarantine,
            media_timeout: self.media_timeout,
            hold_timeout: self.hold_timeout,
            srtp_suites: suites,
            max_sessions: self.max_sessions,
        };
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }
}

/// The B2BUA's media anchor: rewrites SDP through the relay, arms media timeouts when a
/// call is answered, releases the ports when it ends. Give the same `Arc` to
/// [`crate::b2bua::B2buaBuilder::sdp_rewriter`] and
/// [`crate::b2bua::B2buaBuilder::observer`].
#[derive(Debug)]
pub struct MediaAnchor {
    engine: MediaEngine,
    /// Per call: the callee fork last seen in an offer or answer (the answering device
    /// once the call is answered), used for in-dialog bodies, which carry no fork.
    forks: Mutex<HashMap<CallRef, (usize, bool)>>,
}

fn route_side(side: Side) -> ringfence_media::Side {
    match side {
        Side::Caller => ringfence_media::Side::A,
        Side::Callee => ringfence_media::Side::B,
    }
}

fn encryption(e: EncryptionRequirement) -> Encryption {
    match e {
        EncryptionRequirement::Required => Encryption::Required,
        EncryptionRequirement::Preferred => Encryption::Preferred,
        EncryptionRequirement::Optional => Encryption::Optional,
    }
}

/// The status and Warning text for the party that sent an SDP body the relay refused.
fn refusal(e: MediaError) -> SdpRefusal {
    let (status, warning) = match e {
        MediaError::NotAcceptable { status, reason } => (status, reason),
        MediaError::Sdp(e) => (488, format!("unusable SDP: {e}")),
        MediaError::NoPorts => (503, "no media port available".to_owned()),
        MediaError::ShuttingDown => (503, "media relay shutting down".to_owned()),
        other => (500, format!("media relay: {other}")),
    };
    SdpRefusal { status, warning }
}

impl MediaAnchor {
    /// An anchor over `engine`.
    pub fn new(engine: MediaEngine) -> Arc<MediaAnchor> {
        Arc::new(MediaAnchor { engine, forks: Mutex::new(HashMap::new()) })
    }

    /// A relay with `config` and its anchor; give the events to [`spawn_timeouts`] once
    /// the B2BUA is built. Call it inside the tokio runtime the relay runs on.
    ///
    /// # Errors
    /// [`MediaError::Config`] for an invalid configuration.
    pub fn start(
        config: MediaConfig,
    ) -> Result<(Arc<MediaAnchor>, mpsc::UnboundedReceiver<MediaEvent>), MediaError> {
        if config.advertised_ip.is_loopback() && !config.bind_ip.is_loopback() {
            tracing::warn!(
                advertised_ip = %config.advertised_ip,
                "media relay advertises a loopback address: devices on other hosts cannot \
                 send media to it (set advertised_ip in [sip.media])"
            );
        }
        let (engine, events) = MediaEngine::new(config)?;
        tracing::info!(
            ports = ?(engine.config().port_min, engine.config().port_max),
            advertised_ip = %engine.config().advertised_ip,
            "media relay ready"
        );
        Ok((MediaAnchor::new(engine), events))
    }

    /// The relay.
    pub fn engine(&self) -> &MediaEngine {
        &self.engine
    }

    fn fork_of(&self, ctx: &SdpContext) -> usize {
        let mut forks = self.forks.lock().unwrap_or_else(PoisonError::into_inner);
        match ctx.fork {
            Some(i) => {
                let e = forks.entry(ctx.call).or_insert((i, false));
                if !e.1 {
                    e.0 = i;
                }
                i
            }
            None => forks.get(&ctx.call).map_or(0, |e| e.0),
        }
    }
}

impl SdpRewriter for MediaAnchor {
    fn rewrite(&self, ctx: &SdpContext, sdp: &[u8]) -> Result<Vec<u8>, SdpRefusal> {
        let route = Route {
            from: route_side(ctx.from),
            encryption: encryption(ctx.encryption),
            from_tls: ctx.from_transport.is_secure(),
            to_tls: ctx.to_transport.is_secure(),
            fork: self.fork_of(ctx),
        };
        let out = match ctx.kind {
            SdpKind::Offer => self.engine.offer(ctx.call.0, &route, sdp),
            SdpKind::Answer => self.engine.answer(ctx.call.0, &route, sdp),
        };
        out.map_err(|e| {
            tracing::debug!(call = %ctx.call, error = %e, kind = ?ctx.kind, "SDP refused by the media relay");
            refusal(e)
        })
    }

    fn release(&self, call: CallRef) {
        self.forks.lock().unwrap_or_else(PoisonError::into_inner).remove(&call);
        self.engine.release(call.0);
    }

    fn terminates_keys(&self) -> bool {
        true
    }
}

impl CallObserver for MediaAnchor {
    fn call_answered(&self, info: &CallInfo) {
        if let Some(e) =
            self.forks.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&info.call)
        {
            e.1 = true;
        }
        self.engine.answered(info.call.0);
    }
}

/// Ends every call the relay reports as silent (BYE on both legs), recorded with
/// disposition `media_timeout`. Runs until the engine and its sessions are gone.
pub fn spawn_timeouts(
    mut events: mpsc::UnboundedReceiver<MediaEvent>,
    b2bua: B2buaHandle,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let MediaEvent::Timeout { call, idle } = event {
                let reason = format!("media timeout: no RTP for {} s", idle.as_secs());
                let ended =
                    b2bua.end_call_as(CallRef(call), 408, Disposition::MediaTimeout, &reason);
                tracing::info!(call = %CallRef(call), ended, "{reason}");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_defaults_and_checks() {
        let c = MediaSettings::default().media_config().unwrap();
        assert_eq!(c, MediaConfig::default());
        let m: MediaSettings = toml::from_str(
            "bind_ip = \"192.0.2.10\"\nsrtp_suites = [\"AEAD_AES_128_GCM\"]\nhold_timeout = 60\n",
        )
        .unwrap();
        let c = m.media_config().unwrap();
        assert_eq!(c.advertised_ip, "192.0.2.10".parse::<IpAddr>().unwrap(), "bind address");
        assert_eq!(c.srtp_suites, vec![SrtpSuite::AeadAes128Gcm]);
        assert_eq!(c.hold_timeout, Duration::from_secs(60));
        let bad: MediaSettings = toml::from_str("srtp_suites = [\"F8_128_HMAC_SHA1_80\"]").unwrap();
        assert!(bad.media_config().unwrap_err().contains("srtp_suites"));
        let bad: MediaSettings = toml::from_str("port_min = 5000\nport_max = 5002").unwrap();
        assert!(bad.media_config().is_err());
        assert!(toml::from_str::<MediaSettings>("media_timeout_s = 3").is_err());
    }

    #[test]
    fn refusals_name_a_status_for_the_sender() {
        assert_eq!(refusal(MediaError::NoPorts).status, 503);
        let r = refusal(MediaError::NotAcceptable { status: 488, reason: "x".into() });
        assert_eq!((r.status, r.warning.as_str()), (488, "x"));
        assert_eq!(route_side(Side::Callee), ringfence_media::Side::B);
        assert_eq!(encryption(EncryptionRequirement::Preferred), Encryption::Preferred);
    }
}
