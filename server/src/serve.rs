//! The accept loop shared by localca's servers: TLS (or plain) connections served as HTTP/1.1
//! or HTTP/2 with upgrades, each request handed to a [`Handler`], and a graceful shutdown that
//! stops accepting and drains in-flight requests for a bounded time.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::shutdown::Shutdown;
use crate::tls::{sniff, FirstBytes};
use crate::{full, log, Body};

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// What a handler knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The address the client connected to.
    pub local: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The SNI name the client sent, if any.
    pub sni: Option<String>,
}

/// Answers requests. Implemented by the proxy and the ACME server.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request. Errors are responses too: the handler decides what the client sees.
    fn handle(
        &self,
        req: Request<Incoming>,
        conn: Arc<ConnInfo>,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// Connections accepted by another thread, with the client's address (see [`crate::workers`]).
pub type Feed = tokio::sync::mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>;

/// A server: its listeners (or a feed of accepted connections), TLS (or none, for plain
/// HTTP), and its handler.
pub struct Server<H> {
    listeners: Vec<std::net::TcpListener>,
    feed: Option<Feed>,
    tls: Option<Arc<ServerConfig>>,
    handler: Arc<H>,
    drain: Duration,
}

impl<H: Handler> Server<H> {
    /// A server on `listeners` (from [`crate::listen`]); `tls` none serves plain HTTP.
    pub fn new(
        listeners: Vec<std::net::TcpListener>,
        tls: Option<Arc<ServerConfig>>,
        handler: Arc<H>,
    ) -> Self {
        Server { listeners, feed: None, tls, handler, drain: Duration::from_secs(5) }
    }

    /// A server for the connections that arrive on `feed`.
    pub fn fed(feed: Feed, tls: Option<Arc<ServerConfig>>, handler: Arc<H>) -> Self {
        Server { listeners: Vec::new(), feed: Some(feed), tls, handler, drain: Duration::from_secs(5) }
    }

    /// How long in-flight requests may take to finish after shutdown (default 5 s).
    pub fn drain(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// Serves until `shutdown` fires, then drains. Must run inside a tokio runtime.
    pub async fn run(self, shutdown: Shutdown) -> std::io::Result<()> {
        // Every connection holds a sender; when the last is gone, `receiver` says so.
        let (alive, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
        let acceptor = self.tls.map(TlsAcceptor::from);
        let ctx = Arc::new(Accepting {
            acceptor,
            handler: self.handler.clone(),
            alive: alive.clone(),
            shutdown: shutdown.clone(),
        });
        let mut loops = Vec::new();
        for listener in self.listeners {
            let listener = TcpListener::from_std(listener)?;
            loops.push(tokio::spawn(ctx.clone().run(listener)));
        }
        if let Some(feed) = self.feed {
            loops.push(tokio::spawn(ctx.clone().run_fed(feed)));
        }
        drop(ctx);
        shutdown.wait().await;
        for task in &loops {
            task.abort();
        }
        drop(alive);
        if tokio::time::timeout(self.drain, all_closed.recv()).await.is_err() {
            log::warn(&format!("requests still running after {:?}: closing them", self.drain));
        }
        Ok(())
    }
}

struct Accepting<H> {
    acceptor: Option<TlsAcceptor>,
    handler: Arc<H>,
    alive: tokio::sync::mpsc::Sender<()>,
    shutdown: Shutdown,
}

impl<H: Handler> Accepting<H> {
    async fn run(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    log::warn(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if self.shutdown.is_triggered() {
                return;
            }
            self.start(stream, peer);
        }
    }

    async fn run_fed(self: Arc<Self>, mut feed: Feed) {
        while let Some((stream, peer)) = feed.recv().await {
            if self.shutdown.is_triggered() {
                return;
            }
            if let Ok(stream) = TcpStream::from_std(stream) {
                self.start(stream, peer);
            }
        }
    }

    /// Serves one connection in its own task, which keeps the drain waiting while it runs.
    fn start(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        let ctx = self.clone();
        tokio::spawn(async move {
            let _alive = ctx.alive.clone();
            ctx.connection(stream, peer).await
        });
    }

    async fn connection(&self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let Ok(local) = stream.local_addr() else { return };
        let mut info = ConnInfo { peer, local, tls: false, sni: None };
        let Some(acceptor) = &self.acceptor else {
            return self.serve_http(TokioIo::new(stream), info, None).await;
        };
        match sniff(&stream).await {
            Ok(FirstBytes::Tls) => {}
            Ok(FirstBytes::Other) => return plain_http_on_tls_port(stream, local).await,
            _ => return,
        }
        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return log::info(&format!("TLS handshake with {peer} failed: {e}")),
            Err(_) => return,
        };
        info.tls = true;
        info.sni = tls.get_ref().1.server_name().map(str::to_string);
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        self.serve_http(TokioIo::new(tls), info, Some(h2)).await
    }

    /// Serves HTTP on `io`: HTTP/2 or HTTP/1.1 as ALPN said (`h2`), else whichever the client
    /// starts with.
    async fn serve_http<IO>(&self, io: TokioIo<IO>, info: ConnInfo, h2: Option<bool>)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let info = Arc::new(info);
        let handler = self.handler.clone();
        let service = hyper::service::service_fn(move |req| {
            let handler = handler.clone();
            let info = info.clone();
            async move { Ok::<_, Infallible>(handler.handle(req, info).await) }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
        builder.http2().timer(TokioTimer::new());
        // With ALPN's answer there is nothing to sniff: skip reading the preface first.
        let builder = match h2 {
            Some(true) => builder.http2_only(),
            Some(false) => builder.http1_only(),
            None => builder,
        };
        let conn = builder.serve_connection_with_upgrades(io, service);
        let mut conn = std::pin::pin!(conn);
        // Errors here are clients going away mid-request: nothing to report.
        tokio::select! {
            _ = conn.as_mut() => {}
            _ = self.shutdown.wait() => {
                // Finish the requests in flight, accept no new ones on this connection.
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
    }
}

/// Answers a plain HTTP request on the TLS port with a 400 that says to use https.
async fn plain_http_on_tls_port(stream: TcpStream, local: SocketAddr) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| async move {
        let host = req.headers().get(hyper::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
        let url = match host {
            Some(host) => format!("https://{host}{}", req.uri().path()),
            None => format!("https://localhost:{}/", local.port()),
        };
        let text = format!("This port speaks HTTPS: use {url}\n");
        let response = Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(hyper::header::CONNECTION, "close")
            .body(full(text))
            .expect("valid response");
        Ok::<_, Infallible>(response)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = conn.await;
}
