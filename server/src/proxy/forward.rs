//! The proxy's request handler: find the route, pass the request on with streaming bodies,
//! switch protocols for WebSockets, and log one line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::TokioIo;

use super::client::Upstreams;
use super::headers;
use super::pages;
use super::routes::{Route, RouteTable, Scheme};
use crate::listen::is_loopback;
use crate::log::{self, RequestLine};
use crate::serve::{ConnInfo, Handler};
use crate::Body;

/// The reverse proxy as a [`Handler`].
pub struct Proxy {
    /// The routes in force; replaced whole when the config file changes.
    pub table: Arc<RwLock<Arc<RouteTable>>>,
    /// The upstream clients.
    pub upstreams: Upstreams,
    /// Send the upstream's `host:port` as `Host` instead of the client's.
    pub change_host: bool,
    /// How long an upstream may take to start its response.
    pub upstream_timeout: Duration,
    /// Upgraded connections (WebSockets), drained at shutdown.
    pub tunnels: crate::tunnels::Tunnels,
}

impl Handler for Proxy {
    async fn handle(&self, req: Request<Incoming>, conn: Arc<ConnInfo>) -> Response<Body> {
        let host = request_host(&req).unwrap_or_default();
        if !log::requests_enabled() {
            // `--quiet`: nothing to note down, so skip copying the request line.
            return self.route(req, &conn, &host).await.0;
        }
        let started = Instant::now();
        let method = req.method().clone();
        let version = version_name(req.version());
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
        let (response, route) = self.route(req, &conn, &host).await;
        let upstream = match &route {
            Ok(route) => route.upstream.to_string(),
            Err(what) => what.to_string(),
        };
        log::request(&RequestLine {
            method: method.as_str(),
            version,
            host: &host,
            path: &path,
            status: response.status().as_u16(),
            duration: started.elapsed(),
            upstream: &upstream,
        });
        response
    }
}

/// How the log line names an HTTP version.
fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/?",
    }
}

/// The host a request is for: HTTP/2's `:authority`, else the `Host` header.
fn request_host(req: &Request<Incoming>) -> Option<String> {
    req.uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| req.headers().get(HOST).and_then(|h| h.to_str().ok()).map(str::to_string))
}

/// `host[:port]` without the port, lower case, no brackets.
fn host_name(host: &str) -> String {
    let without_port = match host.parse::<hyper::http::uri::Authority>() {
        Ok(a) => a.host().to_string(),
        Err(_) => host.to_string(),
    };
    without_port.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

impl Proxy {
    /// Answers through the route for `host`; also returns the route, or what answered instead.
    async fn route(
        &self,
        req: Request<Incoming>,
        conn: &ConnInfo,
        host: &str,
    ) -> (Response<Body>, Result<Arc<Route>, &'static str>) {
        if host.is_empty() {
            return (pages::bad_request("the request names no host"), Err("-"));
        }
        let table = self.table.read().expect("routes lock").clone();
        let Some(route) = table.find(&host_name(host)).cloned() else {
            return (pages::no_route(host, &table, is_loopback(&conn.local)), Err("no route"));
        };
        (self.forward(req, conn, host, &route).await, Ok(route))
    }

    async fn forward(
        &self,
        mut req: Request<Incoming>,
        conn: &ConnInfo,
        host: &str,
        route: &Route,
    ) -> Response<Body> {
        let upstream = &route.upstream;
        // WebSocket and other upgrades: HTTP/1.1 only (browsers open an HTTP/1.1 connection for
        // them, since this server does not offer RFC 8441 extended CONNECT over HTTP/2).
        let upgrade =
            (req.version() == Version::HTTP_11).then(|| headers::upgrade_protocol(req.headers())).flatten();
        let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
        let (mut parts, body) = req.into_parts();
        headers::remove_hop_by_hop(&mut parts.headers, upgrade.clone());
        headers::add_forwarded(&mut parts.headers, conn.peer, host, conn.local);
        let host_value = if self.change_host { upstream.authority.as_str() } else { host };
        if let Ok(value) = HeaderValue::from_str(host_value) {
            parts.headers.insert(HOST, value);
        }
        let scheme = if upstream.scheme == Scheme::Https { "https" } else { "http" };
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        // HTTP/1.1 upstreams get the host in `Host` and are dialled by the URI's authority;
        // an h2c upstream reads the host from `:authority`, which hyper takes from the URI
        // (its client dials the route's upstream whatever the URI says).
        let authority = if upstream.scheme == Scheme::H2c { host_value } else { upstream.authority.as_str() };
        parts.uri = match format!("{scheme}://{authority}{path}").parse::<Uri>() {
            Ok(uri) => uri,
            Err(_) => return pages::bad_request("the request path is not valid"),
        };
        parts.version = if upstream.scheme == Scheme::H2c { Version::HTTP_2 } else { Version::HTTP_11 };
        // The timeout counts from the last request-body bytes sent: a big upload is progress.
        let last_activity = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let activity = last_activity.clone();
        let body = body.map_frame(move |frame| {
            activity.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            frame
        });
        let outgoing = Request::from_parts(parts, body.map_err(|e| e.into()).boxed());
        let send = self.upstreams.send(upstream, outgoing);
        let sent = wait_with_idle_timeout(send, self.upstream_timeout, started, &last_activity).await;
        let mut response = match sent {
            Err(_) => return pages::gateway_timeout(&route.name, upstream, self.upstream_timeout),
            Ok(Err(e)) => {
                let why = super::h2c::explain(upstream, e.is_connect(), describe(&e)).await;
                log::warn(&format!(
                    "{}: {upstream}: {why}; is your dev server running on {}?",
                    route.name, upstream.authority
                ));
                return pages::bad_gateway(&route.name, upstream, &why);
            }
            Ok(Ok(response)) => response,
        };
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_upgrade) = client_upgrade {
                let upstream_upgrade = hyper::upgrade::on(&mut response);
                self.tunnels.spawn(async move {
                    if let (Ok(client), Ok(upstream)) = tokio::join!(client_upgrade, upstream_upgrade) {
                        let mut client = TokioIo::new(client);
                        let mut upstream = TokioIo::new(upstream);
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                let (parts, _) = response.into_parts();
                return Response::from_parts(parts, crate::full(""));
            }
        }
        let (mut parts, body) = response.into_parts();
        headers::remove_hop_by_hop(&mut parts.headers, None);
        Response::from_parts(parts, body.map_err(|e| e.into()).boxed())
    }
}

/// Waits for `future` unless `timeout` passes with no activity (milliseconds after `started`
/// in `last_activity`). `Err(())` on timeout.
async fn wait_with_idle_timeout<F: std::future::Future>(
    future: F,
    timeout: Duration,
    started: Instant,
    last_activity: &AtomicU64,
) -> Result<F::Output, ()> {
    let mut future = std::pin::pin!(future);
    let mut deadline = started + timeout;
    loop {
        tokio::select! {
            output = future.as_mut() => return Ok(output),
            _ = tokio::time::sleep_until(deadline.into()) => {
                let last = started + Duration::from_millis(last_activity.load(Ordering::Relaxed));
                if last + timeout <= Instant::now() {
                    return Err(());
                }
                deadline = last + timeout;
            }
        }
    }
}

/// The cause of an upstream failure, in a few words.
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut deepest = e.to_string();
    while let Some(s) = source {
        deepest = s.to_string();
        source = s.source();
    }
    if e.is_connect() {
        format!("connection failed ({deepest})")
    } else {
        deepest
    }
}
