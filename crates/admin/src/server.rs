//! The HTTPS accept loop: TCP -> TLS (rustls) -> HTTP/1.1 (hyper) -> the axum router.
//!
//! Limits: at most [`MAX_CONNECTIONS`] connections at once (further ones wait in the kernel's
//! backlog), a TLS handshake must finish within [`HANDSHAKE_TIMEOUT`], request headers within
//! [`HEADER_TIMEOUT`]. On shutdown the listener closes at once, open connections finish their
//! current request and close, and whatever is still open after [`DRAIN_TIMEOUT`] is dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::IntoResponse as _;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::state::AdminState;

/// Most simultaneous connections.
pub const MAX_CONNECTIONS: usize = 1024;
/// Largest request body read into memory before routing (the router's own limit, 64 KiB by
/// default, is lower; this one bounds what a request can make the server buffer).
pub const MAX_BUFFERED_BODY: usize = 1024 * 1024;
/// Time allowed for the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a request's headers to arrive (also the idle time of a kept-alive
/// connection: clients reuse idle connections, so it must not be short).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(60);
/// Time open connections get to finish after shutdown was asked for.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the admin API on `listener` over TLS until `shutdown` completes, then drains.
///
/// `tls` should offer ALPN `http/1.1` (see [`crate::tls::https_server_config`]). Returns when
/// every connection has closed or the drain timeout passed.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = crate::router(state);
    serve_router(listener, tls, router, shutdown).await
}

/// [`serve`] for an already built router (e.g. with extra routes of the web portal).
pub async fn serve_router(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %e, "admin API accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let router = router.clone();
                async move {
                    let (mut parts, body) = req.into_parts();
                    parts.extensions.insert(ConnectInfo::<SocketAddr>(peer));
                    // Read the whole body first, so a response sent before a handler reads
                    // it (401, 404, 400 for a bad path) does not leave unread bytes that
                    // force the connection closed under a client still sending.
                    let body = match Limited::new(body, MAX_BUFFERED_BODY).collect().await {
                        Ok(b) => axum::body::Body::from(b.to_bytes()),
                        Err(_) => {
                            return Ok(crate::Error::PayloadTooLarge.into_response());
                        }
                    };
                    router.oneshot(Request::from_parts(parts, body)).await
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024);
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, error = %e, "admin API connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("admin API connections still open after the drain timeout; dropping them");
        }
    }
    Ok(())
}
