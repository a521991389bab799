//! The accept loop: HTTP/1.1 with keep-alive, optionally over TLS, with graceful
//! shutdown. It is hand-rolled rather than `axum::serve` for two reasons: TLS, and
//! the dropped-connection fault, which needs a connection closed without an answer.
//!
//! It is also the one place that decides how much of the server one client can hold,
//! and for how long ([`ServerLimits`]), since the emulator is left running on a port.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::handover::{BodyPause, DropConnection};

/// How long in-flight requests get to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How much of the server one client can hold, and for how long, so that slow or
/// idle clients cannot lock everyone else out.
///
/// The header timeout and the body pause are HTTP's own: a connection upgraded away
/// from HTTP (a WebSocket) leaves both behind, and is bounded only by the connection
/// limit and the write stall, which never fires on a connection with nothing to send.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Connections served at once (default 256). Further callers wait in the listen
    /// backlog until a connection closes, rather than taking file descriptors.
    pub max_connections: usize,
    /// How long a client has to send a complete request head, counted from when the
    /// connection is ready for one (default 10 s): after connecting, and after each
    /// answer, so this is also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// The longest the server waits on a client in the middle of a request (default
    /// 30 s): for the next piece of a request body (then it answers 408), or for the
    /// client to take an answer it has stopped reading (then it closes).
    pub idle_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedByFault {}

/// Serves a connection until it ends, or finishes it gracefully once `stop` turns.
macro_rules! serve_until {
    ($connection:expr, $stop:ident) => {{
        let connection = $connection;
        tokio::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => result,
            _ = async { let _ = $stop.wait_for(|stop| *stop).await; } => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        }
    }};
}

pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: ServerLimits,
    mut shutdown: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    // Connections that may upgrade (the push feed) are told to stop through this
    // rather than the graceful watcher, which knows only plain HTTP connections.
    let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // A free slot first, then the next connection: past the limit, callers wait
        // in the listen backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(target: "emcee::sim", "accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        // Held until the connection ends, so that shutdown waits for it.
        let watcher = graceful.watcher();
        let mut stop = stop_receiver.clone();
        let tls = tls.clone();
        let stream = StallGuard::new(stream, limits.idle_timeout);
        let pause = BodyPause(limits.idle_timeout);
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            let _watcher = watcher;
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                let router = router.clone();
                request.extensions_mut().insert(pause);
                async move {
                    let response = router
                        .oneshot(request)
                        .await
                        .unwrap_or_else(|never: Infallible| match never {});
                    if response.extensions().get::<DropConnection>().is_some() {
                        // An error from the service makes hyper close the connection
                        // without writing a response.
                        Err(DroppedByFault)
                    } else {
                        Ok(response)
                    }
                }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.keep_alive(true)
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let result = match tls {
                None => {
                    serve_until!(
                        http.serve_connection(TokioIo::new(stream), service)
                            .with_upgrades(),
                        stop
                    )
                }
                // The handshake comes before any header, so the header timeout
                // bounds it too.
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_until!(
                                http.serve_connection(TokioIo::new(stream), service)
                                    .with_upgrades(),
                                stop
                            )
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(target: "emcee::sim", "TLS handshake failed: {error}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(target: "emcee::sim", "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(error) = result {
                tracing::debug!(target: "emcee::sim", "connection closed: {error}");
            }
        });
    }
    drop(listener);
    let _ = stop_sender.send(true);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!(target: "emcee::sim", "connections still open after {SHUTDOWN_GRACE:?}; closing them");
        }
    }
}

/// A connection's stream whose writes fail once the client has taken nothing for the
/// idle timeout: a client that stops reading its answers would otherwise hold its
/// connection for ever. Reads are left alone — the server also reads while a request
/// is being handled, to notice a client leaving, and that wait is no stall.
struct StallGuard<S> {
    inner: S,
    limit: Duration,
    /// Running while a write waits on the client.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> StallGuard<S> {
    fn new(inner: S, limit: Duration) -> Self {
        StallGuard {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Passes a write's outcome on, timing how long it has waited.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client took no data for {limit:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, poll)
    }
}
