//! One call's relay: two legs, each an RTP socket and an RTCP socket, driven by one
//! task. A packet from a leg is checked against the leg's latch, unprotected with the
//! device's SRTP key (if the leg is SRTP), protected with the key the relay gave the
//! other device (if that leg is SRTP), and sent to the other device's latched (or SDP)
//! address. Nothing in the packet path waits: sends that would block are dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::latch::{Latch, Verdict};
use crate::pool::PortPool;
use crate::rtp::{check_rtcp, is_rtcp, rtp_header_len};
use crate::srtp::{MasterKey, SrtpContext};
use crate::stats::{Counters, SessionStats, bump};
use crate::{MediaError, MediaEvent};

/// A leg of a session: the caller's side (A) or the callee's (B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The leg whose device sent the first offer (the caller).
    A,
    /// The other leg (the callee).
    B,
}

impl Side {
    /// 0 for A, 1 for B.
    pub fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }

    /// The other leg.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// How a leg's device is reached and keyed, from its SDP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegSetup {
    /// The device's RTP address from SDP (`None` when unknown or on hold at 0.0.0.0).
    pub rtp: Option<SocketAddr>,
    /// Its RTCP address (`a=rtcp`, else the RTP port + 1); unused with `mux`.
    pub rtcp: Option<SocketAddr>,
    /// RTP and RTCP share the RTP port on this leg (RFC 5761).
    pub mux: bool,
    /// The device's SRTP key: what it sends is unprotected with it. `None`: plain RTP.
    pub recv_key: Option<MasterKey>,
    /// The key the relay gave the device: what is sent to it is protected with it.
    pub send_key: Option<MasterKey>,
    /// The leg's stream is not `sendrecv` (on hold one way or both).
    pub hold: bool,
}

pub(crate) enum Control {
    Leg(Side, Box<LegSetup>),
    Answered,
    Stop,
}

/// The handle of a running session. Dropping it stops the session and returns its
/// ports to the pool (after the quarantine).
#[derive(Debug)]
pub struct MediaSession {
    key: u64,
    local: [SocketAddr; 2],
    control: mpsc::UnboundedSender<Control>,
    stats: Arc<SessionStats>,
}

impl MediaSession {
    /// The caller's key for this session (a call id).
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The relay's RTP address on `side` (RTCP is on the port above).
    pub fn local(&self, side: Side) -> SocketAddr {
        self.local[side.index()]
    }

    /// Sets up (or changes) a leg from its device's SDP.
    pub fn configure(&self, side: Side, setup: LegSetup) {
        let _ = self.control.send(Control::Leg(side, Box::new(setup)));
    }

    /// The call was answered: the media timeout starts counting.
    pub fn answered(&self) {
        let _ = self.control.send(Control::Answered);
    }

    /// The counters so far.
    pub fn counters(&self) -> Counters {
        self.stats.snapshot()
    }

    /// True once the relay task has ended.
    pub fn is_closed(&self) -> bool {
        self.control.is_closed()
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
    }
}

struct Leg {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    configured: bool,
    rtp_latch: Latch,
    rtcp_latch: Latch,
    mux: bool,
    hold: bool,
    rx: Option<SrtpContext>,
    tx: Option<SrtpContext>,
    rx_key: Option<MasterKey>,
    tx_key: Option<MasterKey>,
}

impl Leg {
    fn new(rtp: UdpSocket, rtcp: UdpSocket) -> Leg {
        Leg {
            rtp,
            rtcp,
            configured: false,
            rtp_latch: Latch::new(None),
            rtcp_latch: Latch::new(None),
            mux: false,
            hold: false,
            rx: None,
            tx: None,
            rx_key: None,
            tx_key: None,
        }
    }

    fn apply(&mut self, s: LegSetup) {
        let resumed = self.hold && !s.hold;
        self.rtp_latch.update(s.rtp);
        let rtcp =
            s.rtcp.or_else(|| s.rtp.map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1))));
        self.rtcp_latch.update(rtcp);
        if resumed {
            self.rtp_latch.relatch();
            self.rtcp_latch.relatch();
        }
        if s.recv_key != self.rx_key {
            self.rx = s.recv_key.as_ref().and_then(|k| SrtpContext::new(k).ok());
            self.rx_key = s.recv_key;
        }
        if s.send_key != self.tx_key {
            self.tx = s.send_key.as_ref().and_then(|k| SrtpContext::new(k).ok());
            self.tx_key = s.send_key;
        }
        self.mux = s.mux;
        self.hold = s.hold;
        self.configured = true;
    }
}

pub(crate) struct SessionTask {
    pub(crate) key: u64,
    legs: [Leg; 2],
    ports: [u16; 2],
    control: mpsc::UnboundedReceiver<Control>,
    events: mpsc::UnboundedSender<MediaEvent>,
    stats: Arc<SessionStats>,
    cancel: CancellationToken,
    pool: Arc<PortPool>,
    timeout: Duration,
    hold_timeout: Duration,
    armed: bool,
    timed_out: bool,
    last_media: Instant,
}

/// Most packets handled per wake-up before the task checks its control channel again.
const BUDGET: usize = 256;
/// Largest datagram handled (larger ones are cut and fail their checks).
const MAX_PACKET: usize = 2048;

enum Wake {
    Stop,
    Control(Control),
    Tick,
    Io,
}

pub(crate) struct Spawned {
    pub(crate) handle: MediaSession,
    pub(crate) task: SessionTask,
}

pub(crate) struct SessionParams {
    pub(crate) key: u64,
    pub(crate) sockets: [(UdpSocket, UdpSocket); 2],
    pub(crate) ports: [u16; 2],
    pub(crate) advertised: std::net::IpAddr,
    pub(crate) events: mpsc::UnboundedSender<MediaEvent>,
    pub(crate) cancel: CancellationToken,
    pub(crate) pool: Arc<PortPool>,
    pub(crate) timeout: Duration,
    pub(crate) hold_timeout: Duration,
}

impl SessionTask {
    pub(crate) fn create(p: SessionParams) -> Spawned {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(SessionStats::default());
        let local =
            [SocketAddr::new(p.advertised, p.ports[0]), SocketAddr::new(p.advertised, p.ports[1])];
        let [(a_rtp, a_rtcp), (b_rtp, b_rtcp)] = p.sockets;
        let handle = MediaSession { key: p.key, local, control: tx, stats: stats.clone() };
        let task = SessionTask {
            key: p.key,
            legs: [Leg::new(a_rtp, a_rtcp), Leg::new(b_rtp, b_rtcp)],
            ports: p.ports,
            control: rx,
            events: p.events,
            stats,
            cancel: p.cancel,
            pool: p.pool,
            timeout: p.timeout,
            hold_timeout: p.hold_timeout,
            armed: false,
            timed_out: false,
            last_media: Instant::now(),
        };
        Spawned { handle, task }
    }

    pub(crate) async fn run(mut self) {
        let period = (self.timeout.min(self.hold_timeout) / 4)
            .clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut pkt: Vec<u8> = Vec::with_capacity(MAX_PACKET + 64);
        loop {
            let [a, b] = &self.legs;
            let wake = tokio::select! {
                biased;
                () = self.cancel.cancelled() => Wake::Stop,
                c = self.control.recv() => match c {
                    None | Some(Control::Stop) => Wake::Stop,
                    Some(c) => Wake::Control(c),
                },
                _ = tick.tick() => Wake::Tick,
                _ = a.rtp.readable() => Wake::Io,
                _ = b.rtp.readable() => Wake::Io,
                _ = a.rtcp.readable() => Wake::Io,
                _ = b.rtcp.readable() => Wake::Io,
            };
            match wake {
                Wake::Stop => break,
                Wake::Control(Control::Leg(side, setup)) => self.legs[side.index()].apply(*setup),
                Wake::Control(Control::Answered) => {
                    self.armed = true;
                    self.last_media = Instant::now();
                }
                Wake::Control(Control::Stop) => break,
                Wake::Tick => self.check_timeout(),
                Wake::Io => self.drain(&mut pkt),
            }
        }
        for p in self.ports {
            self.pool.release(p);
        }
        tracing::debug!(session = self.key, counters = ?self.stats.snapshot(), "media session ended");
    }

    fn check_timeout(&mut self) {
        if !self.armed || self.timed_out {
            return;
        }
        let hold = self.legs.iter().any(|l| l.hold || l.rtp_latch.expected().is_none());
        let limit = if hold { self.hold_timeout } else { self.timeout };
        let idle = self.last_media.elapsed();
        if idle >= limit {
            self.timed_out = true;
            tracing::info!(session = self.key, ?idle, hold, "media timeout");
            let _ = self.events.send(MediaEvent::Timeout { call: self.key, idle });
        }
    }

    /// Reads every socket until none has data (or the budget is spent).
    fn drain(&mut self, pkt: &mut Vec<u8>) {
        let mut handled = 0;
        loop {
            let mut any = false;
            for (side, rtcp_socket) in [(0, false), (1, false), (0, true), (1, true)] {
                pkt.resize(MAX_PACKET, 0);
                let leg = &self.legs[side];
                let sock = if rtcp_socket { &leg.rtcp } else { &leg.rtp };
                match sock.try_recv_from(pkt) {
                    Ok((n, src)) => {
                        pkt.truncate(n);
                        self.handle(side, rtcp_socket, src, pkt);
                        any = true;
                        handled += 1;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        // ICMP errors surface here on some systems; the socket stays usable.
                        tracing::trace!(session = self.key, error = %e, "media receive error");
                    }
                }
            }
            if !any || handled >= BUDGET {
                return;
            }
        }
    }

    fn handle(&mut self, side: usize, rtcp_socket: bool, src: SocketAddr, pkt: &mut Vec<u8>) {
        let st = &*self.stats;
        let [l0, l1] = &mut self.legs;
        let (from, to) = if side == 0 { (l0, l1) } else { (l1, l0) };
        if !from.configured {
            bump(&st.dropped_other, 1);
            return;
        }
        let rtcp = rtcp_socket || is_rtcp(pkt);
        let latch = if rtcp_socket { &mut from.rtcp_latch } else { &mut from.rtp_latch };
        if latch.rejects(src) {
            bump(&st.dropped_injected, 1);
            return;
        }
        let checked = match (&mut from.rx, rtcp) {
            (Some(ctx), true) => ctx.unprotect_rtcp(pkt),
            (Some(ctx), false) => ctx.unprotect_rtp(pkt),
            (None, true) => check_rtcp(pkt),
            (None, false) => rtp_header_len(pkt).map(|_| ()),
        };
        match checked {
            Ok(()) => {}
            Err(MediaError::AuthFailed) => return bump(&st.srtp_auth_failures, 1),
            Err(MediaError::Replayed) => return bump(&st.srtp_replayed, 1),
            Err(_) => return bump(&st.dropped_other, 1),
        }
        if latch.offer(src) == Verdict::Drop {
            return bump(&st.dropped_injected, 1);
        }
        let received = pkt.len() as u64;
        if !rtcp {
            self.last_media = Instant::now();
        }
        if !to.configured {
            return bump(&st.dropped_other, 1);
        }
        let (sock, dest) = if rtcp && !to.mux {
            (&to.rtcp, to.rtcp_latch.destination())
        } else {
            (&to.rtp, to.rtp_latch.destination())
        };
        let Some(dest) = dest else { return bump(&st.dropped_other, 1) };
        if let Some(ctx) = &mut to.tx {
            let protected = if rtcp { ctx.protect_rtcp(pkt) } else { ctx.protect_rtp(pkt) };
            if protected.is_err() {
                return bump(&st.dropped_other, 1);
            }
        }
        match sock.try_send_to(pkt, dest) {
            Ok(_) if rtcp => bump(&st.rtcp, 1),
            Ok(_) => {
                bump(&st.packets[side], 1);
                bump(&st.bytes[side], received);
            }
            Err(_) => bump(&st.dropped_other, 1),
        }
    }
}
