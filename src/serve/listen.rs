//! The accept loop and each connection's life, with the limits that
//! `axum::serve` does not have (issue 10, items 5 and 11):
//!
//! - a cap on open connections: 20,000 idle sockets used to exhaust the
//!   file descriptors and new clients got no answer. At the cap the
//!   connection idle the longest is closed to make room, so `/healthz`
//!   and real clients still get in; only when every connection is busy
//!   does accepting wait;
//! - hyper's header-read timeout (slow or absent request heads) and an
//!   idle timeout between requests;
//! - a lingering close: when an answer goes out before the request body
//!   was read (401, 403, 413 on an upload), closing at once makes the
//!   kernel reset the connection, and the client loses the answer it had
//!   not read yet (10 of 360 in the probe). The rest of the body is read
//!   and dropped, within a time and byte budget, before closing.
//!
//! HTTP/1 only: `poll_without_shutdown`, which gives the socket back for
//! the lingering close, is HTTP/1's, and browsers speak HTTP/2 only over
//! TLS, which this server does not do.

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::Service;

#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Connections open at once. Below the usual soft limit of 1,024 file
    /// descriptors, with room for the database and the GPU driver.
    pub max_connections: usize,
    /// From the first byte of a request head to its end.
    pub header_read_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout: Duration,
    /// Reading and dropping an unread body after an early answer: at most
    /// this long and this many bytes.
    pub linger_time: Duration,
    pub linger_bytes: u64,
}

impl Default for ConnLimits {
    fn default() -> ConnLimits {
        ConnLimits {
            max_connections: 768,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            linger_time: Duration::from_secs(10),
            linger_bytes: 256 << 20,
        }
    }
}

/// The open connections, for the cap and for `/api/stats`.
pub struct Connections {
    pub limits: ConnLimits,
    start: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Signalled whenever a connection ends.
    freed: Notify,
    /// Connections closed to make room or for idling, for `/api/stats`.
    pub closed_idle: AtomicU64,
}

struct Conn {
    /// Requests being answered (their handlers have not returned yet).
    in_flight: AtomicUsize,
    /// Milliseconds since `Connections::start` of the last request start
    /// or end (or the accept).
    last_active: AtomicU64,
    closing: AtomicBool,
    close: Notify,
}

impl Connections {
    pub fn new(limits: ConnLimits) -> Connections {
        Connections {
            limits,
            start: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            freed: Notify::new(),
            closed_idle: AtomicU64::new(0),
        }
    }

    pub fn open(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn add(&self) -> (u64, Arc<Conn>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            last_active: AtomicU64::new(self.now_ms()),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        });
        self.lock().insert(id, conn.clone());
        (id, conn)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
        self.freed.notify_one();
    }

    /// Asks the connection idle the longest to close. False when every
    /// connection is busy (or already closing).
    fn close_idlest(&self) -> bool {
        let open = self.lock();
        let idlest = open
            .values()
            .filter(|c| {
                c.in_flight.load(Ordering::Acquire) == 0 && !c.closing.load(Ordering::Relaxed)
            })
            .min_by_key(|c| c.last_active.load(Ordering::Relaxed));
        match idlest {
            Some(c) => {
                c.closing.store(true, Ordering::Relaxed);
                c.close.notify_one();
                self.closed_idle.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

/// Counts a request in flight on its connection for as long as it lives,
/// also when hyper drops it because the client went away.
struct InFlight {
    conn: Arc<Conn>,
    conns: Arc<Connections>,
}

impl InFlight {
    fn new(conn: Arc<Conn>, conns: Arc<Connections>) -> InFlight {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.last_active.store(conns.now_ms(), Ordering::Relaxed);
        InFlight { conn, conns }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn
            .last_active
            .store(self.conns.now_ms(), Ordering::Relaxed);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Accepts connections until `shutdown` completes, then lets the requests
/// in flight finish (for up to 30 seconds).
pub async fn run(
    listener: TcpListener,
    router: Router,
    conns: Arc<Connections>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    'accept: loop {
        while conns.open() >= conns.limits.max_connections {
            conns.close_idlest();
            tokio::select! {
                _ = conns.freed.notified() => {}
                _ = &mut shutdown => break 'accept,
            }
        }
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let (id, conn) = conns.add();
                let (router, conns, stop) = (router.clone(), conns.clone(), stop_rx.clone());
                tokio::spawn(async move {
                    serve_connection(stream, router, conn, conns.clone(), stop).await;
                    conns.remove(id);
                });
            }
            // Out of descriptors or a connection reset before accept: wait
            // a little rather than spin.
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while conns.open() > 0 {
        if tokio::time::timeout_at(deadline, conns.freed.notified())
            .await
            .is_err()
        {
            break;
        }
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    conn: Arc<Conn>,
    conns: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
) {
    let limits = conns.limits.clone();
    let service = {
        let (conn, conns) = (conn.clone(), conns.clone());
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let guard = InFlight::new(conn.clone(), conns.clone());
            let mut router = router.clone();
            Box::pin(async move {
                let res = router.call(req.map(Body::new)).await;
                drop(guard);
                res
            })
        })
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut connection = http.serve_connection(TokioIo::new(stream), service);
    let mut stopping = false;
    let finished = loop {
        tokio::select! {
            r = std::future::poll_fn(|cx| connection.poll_without_shutdown(cx)) => break r.is_ok(),
            _ = conn.close.notified() => {
                if conn.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                std::pin::Pin::new(&mut connection).graceful_shutdown();
            }
            _ = idle(&conn, &conns, limits.idle_timeout) => {
                conns.closed_idle.fetch_add(1, Ordering::Relaxed);
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                std::pin::Pin::new(&mut connection).graceful_shutdown();
            }
        }
    };
    if finished {
        let stream = connection.into_parts().io.into_inner();
        linger(stream, &limits).await;
    }
}

/// Completes once the connection has had no request in progress for
/// `timeout`.
async fn idle(conn: &Conn, conns: &Connections, timeout: Duration) {
    let timeout_ms = timeout.as_millis() as u64;
    loop {
        let busy = conn.in_flight.load(Ordering::Acquire) > 0;
        let quiet_for = conns
            .now_ms()
            .saturating_sub(conn.last_active.load(Ordering::Relaxed));
        if !busy && quiet_for >= timeout_ms {
            return;
        }
        let wait = if busy {
            timeout_ms
        } else {
            timeout_ms - quiet_for
        };
        tokio::time::sleep(Duration::from_millis(wait.max(1))).await;
    }
}

/// Half-closes, then reads and drops what the client still sends (an
/// unread request body), so that closing does not reset the connection
/// under the answer just written. Usually the client has closed already
/// and the first read returns 0.
async fn linger(mut stream: TcpStream, limits: &ConnLimits) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 64 << 10];
    let mut left = limits.linger_bytes;
    let drain = async {
        while left > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n as u64),
            }
        }
    };
    let _ = tokio::time::timeout(limits.linger_time, drain).await;
}
