//! Serving connections: our own accept loop on hyper, because a server that
//! is left running on a shared box must not be held by one slow client.
//!
//! - at most [`Limits::max_connections`] connections per port are served at
//!   once; more wait in the operating system's backlog until one ends;
//! - a request's line and headers must arrive within
//!   [`Limits::header_read_timeout`] (hyper's timer; it also ends idle
//!   keep-alive connections), and the head may be at most
//!   [`MAX_REQUEST_HEAD_BYTES`];
//! - a request body that pauses longer than [`Limits::idle_timeout`] ends with
//!   an error the handler answers ([`IdleBody`]), and a client that stops
//!   reading our answer for that long is dropped ([`WriteIdle`]).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use bytes::Bytes;
use futures_util::Stream;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Sleep;

use crate::Limits;

/// Largest request line plus headers (hyper answers 431 above it). OSS
/// documents no figure; 64 KiB holds any browser's request many times over.
pub const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;
/// Largest read of a connection's socket. hyper grows its read buffer up to
/// ~400 KiB by default; a body chunk of that size is then held, outside the
/// upload memory budget, by every upload waiting for that budget (64 such
/// uploads held ~55 MiB). The request head must fit in it too, so it is the
/// head's limit.
const READ_BUFFER_BYTES: usize = MAX_REQUEST_HEAD_BYTES;
/// How long a stopping server lets running requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Pause after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `stopped` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stop_signal(&mut stopped) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            () = stop_signal(&mut stopped) => break,
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(WriteIdle::new(stream, limits.idle_timeout));
        let service = ConnService {
            app: app.clone(),
            peer,
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_header_size(MAX_REQUEST_HEAD_BYTES)
            .max_buf_size(READ_BUFFER_BYTES)
            .keep_alive(true);
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Resolves once the server is told to stop.
async fn stop_signal(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The router for one connection, with the peer address that handlers read
/// through axum's `ConnectInfo`.
#[derive(Clone)]
struct ConnService {
    app: Router,
    peer: SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let mut app = self.app.clone();
        Box::pin(
            async move { tower_service::Service::call(&mut app, request.map(Body::new)).await },
        )
    }
}

/// A socket whose writes fail after `idle` without progress: a client that
/// stops reading the answer does not keep its connection.
pub(crate) struct WriteIdle<T> {
    inner: T,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteIdle<T> {
    fn new(inner: T, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: None,
        }
    }

    /// Called when a write made no progress: arms the timer, and fails once
    /// it has run out.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        let idle = self.idle;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading the answer",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteIdle<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteIdle<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.poll_stalled(cx).map(Err),
            ready => {
                self.timer = None;
                ready
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.poll_stalled(cx).map(Err),
            ready => {
                self.timer = None;
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.poll_stalled(cx).map(Err),
            ready => {
                self.timer = None;
                ready
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why a request body ended early: it paused longer than the idle timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body paused for more than {0:?}")]
pub(crate) struct BodyIdle(Duration);

/// A request body that ends with [`BodyIdle`] when no bytes arrive for
/// `idle`; `timed_out` tells the handler that this is why it ended.
pub(crate) struct IdleBody<S> {
    inner: S,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl<S> IdleBody<S> {
    pub(crate) fn new(inner: S, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: None,
            timed_out: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Set once the body has timed out.
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.timed_out)
    }
}

impl<S, E> Stream for IdleBody<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(item) => {
                self.timer = None;
                Poll::Ready(item.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = self.idle;
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.timed_out.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(Box::new(BodyIdle(idle)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// Middleware for routers whose handlers read bodies through axum: every
/// request body gets the idle timeout.
pub(crate) async fn idle_bodies(
    axum::extract::State(idle): axum::extract::State<Duration>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = Body::from_stream(IdleBody::new(body.into_data_stream(), idle));
    next.run(Request::from_parts(parts, body)).await
}
