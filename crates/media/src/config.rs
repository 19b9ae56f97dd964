//! Relay settings, with documented defaults.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::MediaError;
use crate::srtp::SrtpSuite;

/// How the media relay runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Address the relay's sockets bind to (default `0.0.0.0`).
    pub bind_ip: IpAddr,
    /// Address written into SDP for devices to send media to (default `127.0.0.1`;
    /// set it to the host's public address).
    pub advertised_ip: IpAddr,
    /// Lowest RTP port (rounded up to even; default 30000). RTP uses even ports, RTCP
    /// the odd port above.
    pub port_min: u16,
    /// Highest port usable (RTCP included; default 39999).
    pub port_max: u16,
    /// How long a released port pair rests before reuse, so late packets of an ended
    /// call never reach a new one (default 10 s).
    pub port_quarantine: Duration,
    /// A call with no RTP in either direction for this long is reported as timed out
    /// (default 60 s).
    pub media_timeout: Duration,
    /// The same for a call on hold (either leg not `sendrecv`; default 1 h).
    pub hold_timeout: Duration,
    /// SRTP suites offered to devices, in preference order (default
    /// AES_CM_128_HMAC_SHA1_80, AEAD_AES_256_GCM, AES_CM_128_HMAC_SHA1_32).
    pub srtp_suites: Vec<SrtpSuite>,
    /// Most calls with media at once (default 10 000).
    pub max_sessions: usize,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            advertised_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_min: 30000,
            port_max: 39999,
            port_quarantine: Duration::from_secs(10),
            media_timeout: Duration::from_secs(60),
            hold_timeout: Duration::from_secs(3600),
            srtp_suites: vec![
                SrtpSuite::AesCm128HmacSha1_80,
                SrtpSuite::AeadAes256Gcm,
                SrtpSuite::AesCm128HmacSha1_32,
            ],
            max_sessions: 10_000,
        }
    }
}

impl MediaConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`MediaError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), MediaError> {
        let first = self.port_min.div_ceil(2) * 2;
        if first == 0 || u32::from(first) + 3 > u32::from(self.port_max) {
            return Err(MediaError::Config("port_min..port_max must hold two port pairs".into()));
        }
        if self.advertised_ip.is_unspecified() {
            return Err(MediaError::Config("advertised_ip must be a specific address".into()));
        }
        if self.media_timeout.is_zero() || self.hold_timeout.is_zero() {
            return Err(MediaError::Config("media_timeout and hold_timeout must be > 0".into()));
        }
        if self.srtp_suites.is_empty() {
            return Err(MediaError::Config("srtp_suites must name at least one suite".into()));
        }
        if self.max_sessions == 0 {
            return Err(MediaError::Config("max_sessions must be > 0".into()));
        }
        Ok(())
    }
}
