//! The public HTTP listener: accepts connections up to a cap and serves each with HTTP/1 or
//! HTTP/2 under the edge's limits, closing connections that stall before a request (headers never
//! finished, an idle keep-alive). Upload bodies that stall are cut by the upload itself.

use std::{
    convert::Infallible,
    future::Future,
    io,
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::Request, response::Response};
use http_body_util::BodyExt;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, Semaphore},
    task::JoinSet,
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceExt};

use crate::config::EdgeLimits;

/// Serves `router` on `listener` until `shutdown` is cancelled; then stops accepting, lets every
/// connection finish its requests (HTTP/2 gets a GOAWAY) and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: EdgeLimits,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let builder = Arc::new(builder(&limits));
    let mut connections = JoinSet::new();
    loop {
        // Taken before accepting: at the cap, new connections wait in the listen backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = shutdown.cancelled() => break,
        };
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "cannot accept an HTTP connection; retrying in 50 ms");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        // Nagle off: a response's last segment must not wait for the client's delayed ACK.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
        while connections.try_join_next().is_some() {}
        let connection = Connection {
            builder: builder.clone(),
            router: router.clone(),
            limits: limits.clone(),
            shutdown: shutdown.clone(),
        };
        connections.spawn(async move {
            let _slot = slot;
            metrics::gauge!("assetd_http_connections").increment(1.0);
            connection.run(tcp).await;
            metrics::gauge!("assetd_http_connections").decrement(1.0);
        });
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

fn builder(limits: &EdgeLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        // The watchdog below owns the header and idle timeouts, with their own meanings.
        .header_read_timeout(None)
        .max_headers(limits.max_headers);
    builder
        .http2()
        .max_concurrent_streams(limits.http2_max_streams)
        .max_header_list_size(limits.max_header_bytes)
        // A client resetting streams as fast as it opens them ("rapid reset") is cut off.
        .max_pending_accept_reset_streams(Some(limits.http2_max_streams as usize));
    builder
}

/// Why the edge closed a connection on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stall {
    /// A request's headers started but did not finish in time.
    Headers,
    /// No request for the idle timeout after the previous one ended.
    Idle,
}

impl Stall {
    fn reason(self) -> &'static str {
        match self {
            Self::Headers => "header_timeout",
            Self::Idle => "idle_timeout",
        }
    }
}

struct Connection {
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    limits: EdgeLimits,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(self, tcp: TcpStream) {
        let watch = Arc::new(Watch::new());
        let io = TokioIo::new(Watched {
            inner: tcp,
            watch: watch.clone(),
        });
        let service = TowerToHyperService::new(Track {
            router: self.router,
            watch: watch.clone(),
        });
        let mut conn = pin!(self.builder.serve_connection(io, service));
        let mut draining = false;
        loop {
            let deadline = watch.deadline(&self.limits);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(error = %err, "HTTP connection ended with an error");
                    }
                    return;
                }
                () = sleep_until(deadline) => {
                    if let Some(stall) = watch.stalled(&self.limits) {
                        metrics::counter!("assetd_http_connections_closed_total", "reason" => stall.reason())
                            .increment(1);
                        tracing::debug!(reason = stall.reason(), "closing a stalled HTTP connection");
                        // No request is in flight: dropping the connection only closes the socket.
                        return;
                    }
                }
                () = watch.head_started.notified() => {}
                () = self.shutdown.cancelled(), if !draining => {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What the watchdog knows of one connection: requests in flight (until their response body is
/// done), when the last one ended, and whether bytes of the next one have arrived.
struct Watch {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `opened` when the connection last became idle.
    idle_since: AtomicU64,
    /// Milliseconds since `opened` (plus one, so zero means "no") of the first byte read while
    /// idle. A new connection starts as if its head had started: its first request must arrive
    /// within the header timeout, bytes or not.
    head_since: AtomicU64,
    /// HTTP/2 reads frames (PING, SETTINGS) between requests: only its first request is held to
    /// the header timeout.
    http2: AtomicBool,
    head_started: Notify,
}

impl Watch {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(1),
            http2: AtomicBool::new(false),
            head_started: Notify::new(),
        }
    }

    fn now_millis(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, millis: u64) -> Instant {
        self.opened + Duration::from_millis(millis)
    }

    /// Bytes arrived: when idle, they are the start of the next request's head.
    fn read_some(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && !self.http2.load(Ordering::Relaxed)
            && self.head_since.load(Ordering::Acquire) == 0
        {
            self.head_since
                .store(self.now_millis() + 1, Ordering::Release);
            self.head_started.notify_one();
        }
    }

    fn request_started(&self, http2: bool) {
        if http2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(0, Ordering::Release);
    }

    fn request_ended(&self) {
        self.idle_since.store(self.now_millis(), Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// When to look again: the end of the header or idle allowance, or never while a request runs.
    fn deadline(&self, limits: &EdgeLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        match self.head_since.load(Ordering::Acquire) {
            0 => Some(self.at(self.idle_since.load(Ordering::Acquire)) + limits.idle_timeout),
            since => Some(self.at(since - 1) + limits.header_timeout),
        }
    }

    fn stalled(&self, limits: &EdgeLimits) -> Option<Stall> {
        let deadline = self.deadline(limits)?;
        if Instant::now() < deadline {
            return None;
        }
        Some(if self.head_since.load(Ordering::Acquire) == 0 {
            Stall::Idle
        } else {
            Stall::Headers
        })
    }
}

/// The socket, telling the watchdog when bytes arrive.
struct Watched {
    inner: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router, counting each request in flight until its response body is done (or dropped).
#[derive(Clone)]
struct Track {
    router: Router,
    watch: Arc<Watch>,
}

/// Ends a request's time in flight when dropped.
struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

impl Service<Request<hyper::body::Incoming>> for Track {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<hyper::body::Incoming>) -> Self::Future {
        self.watch
            .request_started(request.version() == http::Version::HTTP_2);
        let in_flight = InFlight(self.watch.clone());
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request.map(Body::new)).await?;
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _held = &in_flight;
                    frame
                }))
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> EdgeLimits {
        EdgeLimits {
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            ..EdgeLimits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_then_headers_then_in_flight() {
        let limits = limits();
        let watch = Watch::new();
        let opened = watch.opened;
        // A new connection owes its first request's headers within the header timeout.
        assert_eq!(
            watch.deadline(&limits),
            Some(opened + limits.header_timeout)
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        watch.read_some();
        assert_eq!(
            watch.deadline(&limits),
            Some(opened + limits.header_timeout)
        );
        assert_eq!(watch.stalled(&limits), None);
        tokio::time::advance(limits.header_timeout).await;
        assert_eq!(watch.stalled(&limits), Some(Stall::Headers));

        watch.request_started(false);
        assert_eq!(watch.deadline(&limits), None);
        assert_eq!(watch.stalled(&limits), None);
        tokio::time::advance(Duration::from_secs(600)).await;
        assert_eq!(
            watch.stalled(&limits),
            None,
            "a running request is never a stall"
        );

        watch.request_ended();
        let ended = Instant::now();
        assert_eq!(watch.deadline(&limits), Some(ended + limits.idle_timeout));
        tokio::time::advance(limits.idle_timeout - Duration::from_secs(1)).await;
        assert_eq!(watch.stalled(&limits), None);
        // The next request's first bytes switch to the header allowance, from their arrival.
        watch.read_some();
        let head = Instant::now();
        assert_eq!(watch.deadline(&limits), Some(head + limits.header_timeout));
        tokio::time::advance(limits.header_timeout).await;
        assert_eq!(watch.stalled(&limits), Some(Stall::Headers));

        watch.request_started(false);
        watch.request_ended();
        tokio::time::advance(limits.idle_timeout).await;
        assert_eq!(watch.stalled(&limits), Some(Stall::Idle));
    }

    #[tokio::test(start_paused = true)]
    async fn http2_frames_between_requests_are_not_a_head() {
        let limits = limits();
        let watch = Watch::new();
        watch.request_started(true);
        watch.request_ended();
        let ended = Instant::now();
        watch.read_some();
        assert_eq!(watch.deadline(&limits), Some(ended + limits.idle_timeout));
    }
}
