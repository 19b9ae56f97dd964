//! One TCP or TLS connection: a reader that frames messages (RFC 3261 §18.3, RFC 5626
//! §3.5.1 keep-alives) and a writer that drains the connection's write queue.

use std::sync::Arc;

use bytes::Bytes;
use ringfence_sip_types::framing::{Framed, StreamFramer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::ingress::{self, Origin, Outcome};
use super::sink::InboundSink;
use super::stats::Stats;
use super::table::{WriteQueue, WriteRx};

/// Bytes read from the socket at a time. Small, because every open connection keeps
/// one such buffer; larger messages take several reads.
const READ_CHUNK: usize = 4 * 1024;

/// The pong answering a CRLF CRLF ping (RFC 5626 §3.5.1).
const PONG: &[u8] = b"\r\n";

/// The pieces of a registered connection.
#[derive(Debug)]
pub(crate) struct ConnParts {
    pub(crate) queue: WriteQueue,
    pub(crate) rx: WriteRx,
    pub(crate) kill: CancellationToken,
}

/// Why a connection's reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// The peer closed its side.
    Eof,
    /// Nothing received for `idle_timeout`.
    Idle,
    /// A framing error: the stream is out of sync.
    Malformed,
    /// Killed: write queue overflow or write error.
    Killed,
    /// Shutdown began.
    Shutdown,
    /// A read error.
    Io,
    /// The core dropped its receiver.
    CoreGone,
    /// The guard refused a request on it.
    Refused,
}

/// Runs a connection until it closes. The caller keeps the connection's slot (and so
/// its place in the table) until this returns.
pub(crate) async fn run<S>(
    shared: Arc<Shared>,
    stream: S,
    origin: Origin,
    parts: ConnParts,
    tx: InboundSink,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (reader, writer) = tokio::io::split(stream);
    let ConnParts { queue, rx, kill } = parts;
    let mut writer = shared.tracker.spawn_on(write_loop(writer, rx, kill.clone()), &shared.runtime);
    let close = read_loop(&shared, reader, &origin, &queue, &kill, &tx).await;

    // No new messages for this flow; what is queued is still written.
    shared.table().remove(origin.flow);
    drop(queue);
    shared.guard.0.connection_closed(origin.kind, origin.source, origin.flow);
    let stats = &shared.stats;
    match close {
        Close::Idle => Stats::inc(&stats.connections_idle_closed),
        Close::Malformed => Stats::inc(&stats.connections_malformed_closed),
        _ => {}
    }
    tracing::debug!(
        "{} connection {} from {} closed: {close:?}",
        origin.kind,
        origin.flow,
        origin.source
    );
    let flush = shared.config.shutdown_flush_timeout;
    if tokio::time::timeout(flush, &mut writer).await.is_err() {
        kill.cancel();
        let _ = writer.await;
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    shared: &Shared,
    mut reader: R,
    origin: &Origin,
    queue: &WriteQueue,
    kill: &CancellationToken,
    tx: &InboundSink,
) -> Close {
    let stats = &shared.stats;
    let mut framer = StreamFramer::new(shared.config.limits);
    let mut mirror = Mirror::default();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let read = tokio::select! {
            biased;
            () = kill.cancelled() => return Close::Killed,
            () = shared.shutdown.cancelled() => return Close::Shutdown,
            r = tokio::time::timeout(shared.config.idle_timeout, reader.read(&mut buf)) => r,
        };
        let n = match read {
            Err(_) => return Close::Idle,
            Ok(Ok(0)) => return Close::Eof,
            Ok(Ok(n)) => n,
            Ok(Err(_)) => return Close::Io,
        };
        mirror.extend(&buf[..n]);
        if let Err(e) = framer.feed(&buf[..n]) {
            answer(queue, ingress::on_error(shared, origin, mirror.pending(), &e));
            return Close::Malformed;
        }
        loop {
            let frame = framer.next();
            if frame.is_ok() {
                mirror.keep_last(framer.buffered());
            }
            match frame {
                Ok(Framed::Incomplete) => break,
                Ok(Framed::Ping) => {
                    Stats::inc(&stats.keepalives);
                    let _ = queue.push(Bytes::from_static(PONG));
                }
                Ok(Framed::Pong) => {}
                Ok(Framed::Message(m)) => match ingress::on_message(shared, origin, m) {
                    Outcome::Deliver(inbound) => {
                        // Backpressure: while the core is busy, this peer is not read.
                        let sent = tokio::select! {
                            biased;
                            () = kill.cancelled() => return Close::Killed,
                            () = shared.shutdown.cancelled() => return Close::Shutdown,
                            r = tx.send(inbound) => r,
                        };
                        if sent.is_err() {
                            return Close::CoreGone;
                        }
                        Stats::inc(&stats.received);
                    }
                    Outcome::Refused => return Close::Refused,
                    outcome => answer(queue, outcome),
                },
                Err(e) => {
                    answer(queue, ingress::on_error(shared, origin, mirror.pending(), &e));
                    return Close::Malformed;
                }
            }
        }
    }
}

fn answer(queue: &WriteQueue, outcome: Outcome) {
    if let Outcome::Answer(resp) = outcome {
        let _ = queue.push(Bytes::from(resp));
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: WriteRx,
    kill: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            biased;
            () = kill.cancelled() => return,
            m = rx.recv() => m,
        };
        let Some(first) = next else { break };
        // Write this message and whatever else is already queued, then flush once.
        let batch = async {
            let mut msg = Some(first);
            while let Some(m) = msg {
                writer.write_all(&m).await?;
                rx.written(m.len());
                msg = rx.try_recv();
            }
            writer.flush().await
        };
        let result = tokio::select! {
            biased;
            () = kill.cancelled() => return,
            r = batch => r,
        };
        if result.is_err() {
            kill.cancel();
            return;
        }
    }
    // Every sender is gone and the queue is empty: close our side (TLS close_notify).
    tokio::select! {
        biased;
        () = kill.cancelled() => {}
        _ = writer.shutdown() => {}
    }
}

/// A copy of the bytes the framer has not consumed yet, so that a message that fails
/// to frame can still be scanned for the headers of an error response.
#[derive(Debug, Default)]
struct Mirror {
    buf: Vec<u8>,
    start: usize,
}

impl Mirror {
    fn extend(&mut self, data: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Keeps only the last `n` bytes (what the framer still holds).
    fn keep_last(&mut self, n: usize) {
        self.start = self.buf.len() - n.min(self.buf.len());
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringfence_sip_types::Limits;

    #[test]
    fn mirror_tracks_the_framer() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        let mut framer = StreamFramer::new(Limits::DEFAULT);
        let mut mirror = Mirror::default();
        let mut input = msg.to_vec();
        input.extend_from_slice(b"\r\n\r\nBROKEN");
        for chunk in input.chunks(7) {
            mirror.extend(chunk);
            framer.feed(chunk).unwrap();
            while !matches!(framer.next().unwrap(), Framed::Incomplete) {
                mirror.keep_last(framer.buffered());
            }
        }
        assert_eq!(mirror.pending(), b"BROKEN");
        assert_eq!(framer.buffered(), 6);
    }
}
