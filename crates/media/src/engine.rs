//! The media engine: the port pool, the running sessions (one task each), the calls'
//! SDP state, events for the B2BUA, and graceful shutdown.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ring::rand::SystemRandom;
use tokio::net::UdpSocket;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::anchor::CallMedia;
use crate::config::MediaConfig;
use crate::pool::PortPool;
use crate::session::{MediaSession, SessionParams, SessionTask};
use crate::{Counters, MediaError};

/// Something the B2BUA must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// No RTP in either direction for the configured time: end the call (and record it
    /// with disposition `media_timeout`).
    Timeout {
        /// The call's key.
        call: u64,
        /// How long media had been silent.
        idle: Duration,
    },
}

/// Engine-wide figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    /// Calls with media state.
    pub calls: usize,
    /// Port pairs free now.
    pub ports_free: usize,
    /// Port pairs resting in quarantine.
    pub ports_resting: usize,
    /// Port pairs in the pool.
    pub ports_total: usize,
}

pub(crate) struct Inner {
    pub(crate) config: MediaConfig,
    pool: Arc<PortPool>,
    events: mpsc::UnboundedSender<MediaEvent>,
    pub(crate) calls: Mutex<HashMap<u64, CallMedia>>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    runtime: Handle,
    pub(crate) rng: SystemRandom,
    draining: AtomicBool,
}

/// The media relay. Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct MediaEngine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for MediaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaEngine").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

fn bind_pair(ip: IpAddr, port: u16) -> std::io::Result<(UdpSocket, UdpSocket)> {
    let open = |p: u16| -> std::io::Result<UdpSocket> {
        let s = StdUdpSocket::bind(SocketAddr::new(ip, p))?;
        s.set_nonblocking(true)?;
        UdpSocket::from_std(s)
    };
    Ok((open(port)?, open(port + 1)?))
}

impl MediaEngine {
    /// An engine with `config`, and the receiver of its events. Call it inside a tokio
    /// runtime (sessions run on it).
    ///
    /// # Errors
    /// [`MediaError::Config`] for an invalid configuration.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(
        config: MediaConfig,
    ) -> Result<(MediaEngine, mpsc::UnboundedReceiver<MediaEvent>), MediaError> {
        config.validate()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let pool =
            Arc::new(PortPool::new(config.port_min, config.port_max, config.port_quarantine));
        let inner = Inner {
            config,
            pool,
            events: tx,
            calls: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            runtime: Handle::current(),
            rng: SystemRandom::new(),
            draining: AtomicBool::new(false),
        };
        Ok((MediaEngine { inner: Arc::new(inner) }, rx))
    }

    /// The configuration.
    pub fn config(&self) -> &MediaConfig {
        &self.inner.config
    }

    pub(crate) fn calls(&self) -> MutexGuard<'_, HashMap<u64, CallMedia>> {
        self.inner.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session of two legs for `key` (two port pairs from the pool).
    ///
    /// # Errors
    /// [`MediaError::NoPorts`] when the pool is exhausted (or every free port is taken
    /// by another program); [`MediaError::ShuttingDown`].
    pub fn allocate(&self, key: u64) -> Result<MediaSession, MediaError> {
        let i = &self.inner;
        if i.draining.load(Ordering::SeqCst) {
            return Err(MediaError::ShuttingDown);
        }
        let _rt = i.runtime.enter();
        let mut got: Vec<(u16, (UdpSocket, UdpSocket))> = Vec::with_capacity(2);
        let mut tries = 0;
        while got.len() < 2 && tries < i.pool.total() {
            tries += 1;
            let Some(port) = i.pool.take() else { break };
            match bind_pair(i.config.bind_ip, port) {
                Ok(pair) => got.push((port, pair)),
                Err(e) => {
                    tracing::debug!(port, error = %e, "media port busy, trying the next");
                    i.pool.release(port);
                }
            }
        }
        if got.len() < 2 {
            for (p, _) in got {
                i.pool.release(p);
            }
            tracing::warn!(key, "no free media port pair");
            return Err(MediaError::NoPorts);
        }
        let (pb, sb) = got.pop().expect("two pairs");
        let (pa, sa) = got.pop().expect("two pairs");
        let spawned = SessionTask::create(SessionParams {
            key,
            sockets: [sa, sb],
            ports: [pa, pb],
            advertised: i.config.advertised_ip,
            events: i.events.clone(),
            cancel: i.cancel.child_token(),
            pool: i.pool.clone(),
            timeout: i.config.media_timeout,
            hold_timeout: i.config.hold_timeout,
        });
        i.tracker.spawn_on(spawned.task.run(), &i.runtime);
        Ok(spawned.handle)
    }

    /// Engine-wide figures.
    pub fn stats(&self) -> EngineStats {
        let p = &self.inner.pool;
        EngineStats {
            calls: self.calls().len(),
            ports_free: p.free(),
            ports_resting: p.resting(),
            ports_total: p.total(),
        }
    }

    /// The counters of `call`'s session, if it has one.
    pub fn counters(&self, call: u64) -> Option<Counters> {
        self.calls().get(&call).and_then(|c| c.session.as_ref().map(MediaSession::counters))
    }

    /// The relay's RTP addresses of `call` (`[A, B]`), if it has a session.
    pub fn local_addresses(&self, call: u64) -> Option<[SocketAddr; 2]> {
        use crate::Side;
        self.calls()
            .get(&call)
            .and_then(|c| c.session.as_ref().map(|s| [s.local(Side::A), s.local(Side::B)]))
    }

    /// `call` was answered: its media timeout starts counting.
    pub fn answered(&self, call: u64) {
        if let Some(s) = self.calls().get(&call).and_then(|c| c.session.as_ref()) {
            s.answered();
        }
    }

    /// `call` ended: its session stops and its ports go back to the pool after the
    /// quarantine.
    pub fn release(&self, call: u64) {
        let removed = self.calls().remove(&call);
        drop(removed);
    }

    /// Stops every session and waits for them to end (their ports are released).
    /// New calls are refused from now on.
    pub async fn shutdown(&self) {
        let i = &self.inner;
        i.draining.store(true, Ordering::SeqCst);
        let calls: Vec<CallMedia> = self.calls().drain().map(|(_, c)| c).collect();
        drop(calls);
        i.cancel.cancel();
        i.tracker.close();
        i.tracker.wait().await;
    }
}
