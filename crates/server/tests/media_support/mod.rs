//! Harness for the media tests: the call harness ([`CallEnv`]) with the B2BUA's media
//! anchored at the relay (`MediaAnchor` as SDP rewriter and observer, media timeouts
//! ending calls), plus tone files, WAV reading and tone detection.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ringfence_media::MediaConfig;
use ringfence_media::tone::goertzel;
use ringfence_server::b2bua::B2buaBuilder;
use ringfence_server::config::ServerConfig;
use ringfence_server::media_anchor::{MediaAnchor, spawn_timeouts};
use ringfence_store::EncryptionRequirement;
use tokio::task::JoinHandle;

use crate::b2bua_support::{CallEnv, DOMAIN, b2bua_config};

/// A call environment whose media goes through the relay.
pub struct MediaEnv {
    pub calls: CallEnv,
    pub anchor: Arc<MediaAnchor>,
    pump: JoinHandle<()>,
}

/// A relay on 127.0.0.1 with ports `base..base+99`, `timeout` of media silence, a short
/// quarantine.
pub fn media_config(base: u16, timeout: Duration) -> MediaConfig {
    MediaConfig {
        bind_ip: "127.0.0.1".parse().unwrap(),
        advertised_ip: "127.0.0.1".parse().unwrap(),
        port_min: base,
        port_max: base + 99,
        port_quarantine: Duration::from_millis(500),
        media_timeout: timeout,
        ..MediaConfig::default()
    }
}

impl MediaEnv {
    /// A tenant [`DOMAIN`] with `encryption` and `numbers`, the B2BUA anchoring media
    /// with `media`.
    pub async fn start(
        encryption: EncryptionRequirement,
        media: MediaConfig,
        server_config: ServerConfig,
        numbers: &[&str],
    ) -> MediaEnv {
        let env = crate::common::TestEnv::new().await;
        let tenant = env.tenant(DOMAIN, encryption).await;
        let mut extensions = std::collections::HashMap::new();
        for n in numbers {
            let e = env.extension(&tenant, n, crate::b2bua_support::PW, true).await;
            extensions.insert((*n).to_owned(), e.id);
        }
        let (engine, events) = ringfence_media::MediaEngine::new(media).unwrap();
        let anchor = MediaAnchor::new(engine);
        let (factory, b2bua) = B2buaBuilder::new(b2bua_config(), env.store.clone())
            .sdp_rewriter(anchor.clone())
            .observer(anchor.clone())
            .build()
            .unwrap();
        let pump = spawn_timeouts(events, b2bua.clone());
        let server = env.start_with(server_config, Some(factory)).await;
        let calls = CallEnv { env, tenant, server, b2bua, extensions };
        MediaEnv { calls, anchor, pump }
    }

    /// The relay's two RTP addresses of the one call with media, once it has them.
    pub async fn relay_addresses(&self) -> [SocketAddr; 2] {
        let engine = self.anchor.engine();
        for _ in 0..200 {
            for call in 1..64 {
                if let Some(a) = engine.local_addresses(call) {
                    return a;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no media session")
    }

    pub async fn stop(self) {
        self.calls.stop().await;
        self.anchor.engine().shutdown().await;
        self.pump.abort();
    }
}

/// The samples and rate of a 16-bit PCM WAV file (mono, or the first channel), read to
/// the end of the file whatever the header says (a recorder may not have finished it).
pub fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let b = std::fs::read(path).unwrap();
    assert!(b.len() > 44 && &b[..4] == b"RIFF" && &b[8..12] == b"WAVE", "{}", path.display());
    let (mut pos, mut rate, mut channels) = (12usize, 0u32, 1usize);
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            channels = usize::from(u16::from_le_bytes([b[body + 2], b[body + 3]])).max(1);
            rate = u32::from_le_bytes(b[body + 4..body + 8].try_into().unwrap());
            let bits = u16::from_le_bytes([b[body + 14], b[body + 15]]);
            assert_eq!(bits, 16, "16-bit PCM expected: {}", path.display());
        } else if id == b"data" {
            let samples = b[body..]
                .chunks_exact(2 * channels)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return (samples, rate);
        }
        pos = body + len + (len & 1);
    }
    panic!("no data chunk in {}", path.display());
}

/// How much of the signal's energy is at `freq`: about 0.5 for a pure tone at `freq`,
/// about 1/len for noise.
pub fn tonality(samples: &[i16], freq: f64, rate: u32) -> f64 {
    let n = samples.len().max(1) as f64;
    let mean_square = samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / n;
    if mean_square < 1.0 {
        return 0.0;
    }
    goertzel(samples, freq, rate) / mean_square
}

/// Checks that `samples` carry `expected` Hz (and not `other` Hz), skipping the first
/// second, over the next `secs` seconds.
pub fn assert_tone(samples: &[i16], rate: u32, expected: f64, other: f64, what: &str) {
    let start = rate as usize;
    let end = (start + 3 * rate as usize).min(samples.len());
    assert!(
        end > start + rate as usize / 2,
        "{what}: recording too short ({} samples)",
        samples.len()
    );
    let window = &samples[start..end];
    let (t, o) = (tonality(window, expected, rate), tonality(window, other, rate));
    assert!(
        t > 0.2 && t > 20.0 * o,
        "{what}: tone {expected} Hz not found (tonality {t:.4}, at {other} Hz {o:.4})"
    );
}
