//! SIP over UDP (RFC 3261 §18.1.1, §18.2.1): one message per datagram.
//!
//! Each configured address gets `udp_sockets_per_addr` sockets bound with
//! `SO_REUSEPORT` (when more than one), each drained by its own task; the kernel spreads
//! peers across them by address hash. Sending uses the first socket of the group.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};

use ringfence_sip_types::framing::{is_keepalive, parse_datagram};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::UdpSocket;

use super::error::TransportError;
use super::ingress::{self, Origin, Outcome};
use super::kind::{FlowId, TransportKind};
use super::sink::{InboundSink, NotQueued};
use super::stats::Stats;
use super::{Outbound, Shared};

/// The largest UDP payload (65535 minus the 8-byte UDP header).
const MAX_DATAGRAM: usize = 65_527;

/// Sends a datagram with one non-blocking system call. (The tokio `try_send_to` would
/// report `WouldBlock` until the runtime has seen the socket become writable.) A full
/// send buffer is reported as `WouldBlock`: the datagram is dropped, as UDP may.
fn send_now(socket: &UdpSocket, data: &[u8], dest: SocketAddr) -> io::Result<usize> {
    SockRef::from(socket).send_to(data, &dest.into())
}

/// Binds `count` sockets to `addr` (the first one picks the port when `addr` has port 0).
/// IPv6 sockets are IPv6-only, so `0.0.0.0:p` and `[::]:p` can both be bound. Each asks
/// for `buffer` bytes of receive and send buffer (0: the system default).
pub(crate) fn bind(addr: SocketAddr, count: usize, buffer: usize) -> io::Result<Vec<UdpSocket>> {
    let mut sockets = Vec::with_capacity(count);
    let mut bind_to = addr;
    for _ in 0..count {
        let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            s.set_only_v6(true)?;
        }
        if count > 1 {
            reuse_port(&s)?;
        }
        if buffer > 0 {
            let granted = set_recv_send_buffers(&s, buffer);
            // Said once per address: the other sockets of the group get the same.
            if sockets.is_empty() {
                report_buffer(addr, buffer, granted);
            }
        }
        s.set_nonblocking(true)?;
        s.bind(&bind_to.into())?;
        let socket = UdpSocket::from_std(s.into())?;
        bind_to = socket.local_addr()?;
        sockets.push(socket);
    }
    Ok(sockets)
}

/// Asks for `bytes` of receive and send buffer and returns the receive buffer granted.
/// Linux caps the request at `net.core.rmem_max` / `wmem_max` and reports twice what it
/// grants, its bookkeeping included; BSDs refuse a size above their limit. A refused send
/// size is not an error: sends leave at once, only the receive side queues.
fn set_recv_send_buffers(s: &Socket, bytes: usize) -> io::Result<usize> {
    s.set_recv_buffer_size(bytes)?;
    let _ = s.set_send_buffer_size(bytes);
    let recv = s.recv_buffer_size()?;
    Ok(if cfg!(target_os = "linux") { recv / 2 } else { recv })
}

/// Warns when the receive buffer is smaller than configured: datagrams that arrive while
/// the receiving task waits pile up there.
fn report_buffer(addr: SocketAddr, asked: usize, granted: io::Result<usize>) {
    match granted {
        Ok(receive) if receive < asked => tracing::warn!(
            %addr,
            asked,
            receive,
            "UDP receive buffer is smaller than configured: raise net.core.rmem_max (sysctl) \
             to at least [sip.transport] udp_buffer_bytes, or a burst of traffic is dropped \
             and has to be retransmitted"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(
            %addr,
            asked,
            error = %e,
            "UDP socket buffers refused (some systems reject sizes above their limit): the \
             system default is kept; lower [sip.transport] udp_buffer_bytes or raise the \
             system limit"
        ),
    }
}

#[cfg(unix)]
fn reuse_port(s: &Socket) -> io::Result<()> {
    s.set_reuse_port(true)
}

#[cfg(not(unix))]
fn reuse_port(_: &Socket) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "SO_REUSEPORT is not available"))
}

/// Receives datagrams until shutdown.
pub(crate) async fn recv_loop(
    shared: Arc<Shared>,
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    flow: FlowId,
    tx: InboundSink,
) {
    let limits = shared.config.limits;
    // Room for the largest datagram, so that an oversized message is seen whole and can
    // still be answered with 513.
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let stats = &shared.stats;
    loop {
        let received = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => break,
            r = socket.recv_from(&mut buf) => r,
        };
        let (n, source) = match received {
            Ok(v) => v,
            Err(e) => {
                tracing::trace!("udp receive on {local}: {e}");
                continue;
            }
        };
        if !shared.guard.0.allow(source, TransportKind::Udp) {
            Stats::inc(&stats.guard_dropped);
            continue;
        }
        let data = &buf[..n];
        if is_keepalive(data) {
            Stats::inc(&stats.keepalives);
            continue;
        }
        let origin = Origin { kind: TransportKind::Udp, source, local, flow };
        let outcome = match parse_datagram(data, &limits) {
            Ok(m) => ingress::on_message(&shared, &origin, m),
            Err(e) => ingress::on_error(&shared, &origin, data, &e),
        };
        match outcome {
            Outcome::Deliver(inbound) => match tx.try_send(inbound) {
                Ok(()) => Stats::inc(&stats.received),
                Err(NotQueued::Full) => Stats::inc(&stats.queue_full_dropped),
                Err(NotQueued::Closed) => break,
            },
            // Malformed: the source address is all we can trust (symmetric, RFC 3581).
            Outcome::Answer(resp) => {
                if send_now(&socket, &resp, source).is_err() {
                    Stats::inc(&stats.send_failures);
                }
            }
            Outcome::Dropped | Outcome::Refused => {}
        }
    }
    tracing::debug!("udp receiver on {local} stopped");
}

/// Sends one datagram from the flow's socket, or from the first socket of the
/// destination's address family.
pub(crate) fn send(shared: &Shared, out: Outbound) -> Result<FlowId, TransportError> {
    let groups = shared.udp.read().unwrap_or_else(PoisonError::into_inner);
    let group = match out.flow {
        Some(flow) => match groups.iter().find(|g| g.flow == flow) {
            Some(g) => g,
            None => return Err(flow_error(shared, flow)),
        },
        None => groups
            .iter()
            .find(|g| g.local.is_ipv4() == out.dest.is_ipv4())
            .ok_or(TransportError::NoSocket { kind: TransportKind::Udp, dest: out.dest })?,
    };
    match send_now(&group.sockets[0], &out.bytes, out.dest) {
        Ok(_) => Ok(group.flow),
        Err(source) => Err(TransportError::Io { dest: out.dest, source }),
    }
}

/// The error for a UDP send naming a flow that is not a UDP socket.
fn flow_error(shared: &Shared, flow: FlowId) -> TransportError {
    match shared.table().by_flow(flow) {
        super::table::Lookup::Found(_, super::table::ConnInfo { kind: actual, .. }) => {
            TransportError::FlowKindMismatch { flow, actual, requested: TransportKind::Udp }
        }
        super::table::Lookup::Missing => TransportError::FlowGone(flow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `net.core` setting (`None` off Linux).
    fn net_core(name: &str) -> Option<usize> {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}")).ok()?.trim().parse().ok()
    }

    /// Regression: the sockets kept the system's 208 KiB receive buffer, which the SIP load
    /// benchmark overflowed at 10000 REGISTERs per second (retransmissions, then failures).
    #[tokio::test]
    async fn sockets_get_the_configured_buffers_up_to_the_kernel_limit() {
        let asked = 1 << 20;
        let sockets = bind("127.0.0.1:0".parse().unwrap(), 2, asked).unwrap();
        for s in &sockets {
            let s = SockRef::from(s);
            let (recv, send) = (s.recv_buffer_size().unwrap(), s.send_buffer_size().unwrap());
            if let (Some(rmax), Some(wmax)) = (net_core("rmem_max"), net_core("wmem_max")) {
                // Linux reports twice what it grants.
                assert_eq!(recv / 2, asked.min(rmax), "receive buffer");
                assert_eq!(send / 2, asked.min(wmax), "send buffer");
            } else {
                assert!(recv > 0 && send > 0);
            }
        }
        // 0 leaves the system default alone (reported as it is, not doubled).
        let plain = bind("127.0.0.1:0".parse().unwrap(), 1, 0).unwrap();
        if let Some(default) = net_core("rmem_default") {
            assert_eq!(SockRef::from(&plain[0]).recv_buffer_size().unwrap(), default);
        }
    }
}
