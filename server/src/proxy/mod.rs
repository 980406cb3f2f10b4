//! `localca proxy`: trusted HTTPS in front of development servers.
//!
//! [`run`] binds the listeners (loopback 443 by default, falling back to a free port from 8443),
//! serves HTTP/1.1 and HTTP/2 with certificates from the caller's resolver, forwards each
//! request to the route's upstream, reloads the config file when it changes, optionally
//! redirects plain HTTP, and drains on SIGINT/SIGTERM (requests in flight and WebSockets alike).

mod client;
pub mod config;
mod forward;
mod h2c;
mod headers;
mod pages;
mod redirect;
pub mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::server::ResolvesServerCert;

use crate::listen::{self, is_loopback, Bound};
use crate::serve::Server;
use crate::shutdown::Shutdown;
use crate::workers::{self, Workers};
use crate::{log, tls};
pub use routes::{NameCheck, Route, RouteTable, Scheme, Upstream};

/// Everything `localca proxy` was asked to do.
pub struct ProxyOptions {
    /// Routes from the command line.
    pub routes: Vec<Route>,
    /// The config file with more routes, watched for changes.
    pub config: Option<PathBuf>,
    /// Checks route names (also those of a reloaded config file).
    pub name_check: NameCheck,
    /// Addresses to listen on; empty means port 443 of 127.0.0.1 and ::1 (with fallback).
    pub listen: Vec<SocketAddr>,
    /// Where to answer plain HTTP with redirects to https, if anywhere.
    pub redirect_http: Option<SocketAddr>,
    /// Send the upstream's address as `Host`.
    pub change_host: bool,
    /// How long an upstream may take to start a response before the client gets a 504.
    pub upstream_timeout: Duration,
    /// How long in-flight requests may take to finish at shutdown.
    pub drain: Duration,
    /// Where certificates come from (in practice `localca::CertResolver`).
    pub resolver: Arc<dyn ResolvesServerCert>,
    /// Extra roots to trust for https upstreams (the local root), DER.
    pub upstream_roots: Vec<Vec<u8>>,
}

/// A failure to start. One line, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The routes are not valid.
    #[error("{0}")]
    Routes(String),
    /// The runtime could not start.
    #[error("cannot start: {0}")]
    Runtime(std::io::Error),
}

/// The routes at start: the command line's and the config file's.
pub fn initial_routes(options: &ProxyOptions) -> Result<RouteTable, ProxyError> {
    let mut routes = options.routes.clone();
    if let Some(path) = &options.config {
        routes.extend(config::load(path, &options.name_check).map_err(ProxyError::Routes)?);
    }
    if routes.is_empty() {
        return Err(ProxyError::Routes(
            "no routes: give NAME=UPSTREAM (e.g. myapp.test=3000) or --config FILE".to_string(),
        ));
    }
    RouteTable::new(routes).map_err(ProxyError::Routes)
}

/// Runs the proxy until SIGINT/SIGTERM, then drains and returns. Blocks the calling thread.
pub fn run(options: ProxyOptions) -> Result<(), ProxyError> {
    let table = initial_routes(&options)?;
    let bound = bind(&options.listen)?;
    let redirect = match options.redirect_http {
        Some(addr) => {
            Some(listen::bind(addr).map_err(|source| ProxyError::Listen { addr: addr.to_string(), source })?)
        }
        None => None,
    };
    announce(&bound, &table, redirect.as_ref());
    // The main thread's runtime handles signals, the config watcher and the redirect server;
    // the requests go to the worker threads (see `crate::workers` for why).
    let runtime = crate::runtime().map_err(ProxyError::Runtime)?;
    runtime.block_on(async move {
        let shutdown = Shutdown::on_signals().map_err(ProxyError::Runtime)?;
        let table = Arc::new(RwLock::new(Arc::new(table)));
        if let Some(path) = options.config.clone() {
            let watch = config::watch(
                path,
                options.routes.clone(),
                options.name_check.clone(),
                table.clone(),
                shutdown.clone(),
            );
            tokio::spawn(watch);
        }
        if let Some(listener) = redirect {
            let handler = Arc::new(redirect::Redirect { https_port: bound.port() });
            tokio::spawn(
                Server::new(vec![listener], None, handler).drain(Duration::ZERO).run(shutdown.clone()),
            );
        }
        let upstream_tls = client::tls_config(&options.upstream_roots);
        let server_tls = tls::server_config(options.resolver.clone(), tls::ALPN_H2_H1);
        let (change_host, upstream_timeout, drain) =
            (options.change_host, options.upstream_timeout, options.drain);
        let worker_shutdown = shutdown.clone();
        let serve = move |feed| {
            // Each worker keeps its own upstream connections, so a request and the upstream
            // connection it uses live on the same thread; its WebSockets live there too.
            let tunnels = crate::tunnels::Tunnels::new();
            let proxy = forward::Proxy {
                table: table.clone(),
                upstreams: client::Upstreams::new(upstream_tls.clone()),
                change_host,
                upstream_timeout,
                tunnels: tunnels.clone(),
            };
            let server = Server::fed(feed, Some(server_tls.clone()), Arc::new(proxy)).drain(drain);
            let shutdown = worker_shutdown.clone();
            // WebSockets keep working through the same drain period as requests, then close.
            async move {
                let (served, ()) =
                    tokio::join!(server.run(shutdown.clone()), tunnels.drain(&shutdown, drain));
                served
            }
        };
        let workers = Workers::spawn(workers::count(), serve).map_err(ProxyError::Runtime)?;
        // Closes the listeners at shutdown (new connections are refused), then waits for the
        // workers to drain.
        workers.accept(bound.listeners, shutdown).await.map_err(ProxyError::Runtime)?;
        log::info("localca proxy stopped");
        Ok(())
    })
}

fn bind(listen: &[SocketAddr]) -> Result<Bound, ProxyError> {
    if listen.is_empty() {
        return listen::bind_loopback(443)
            .map_err(|source| ProxyError::Listen { addr: "127.0.0.1:443 and [::1]:443".into(), source });
    }
    for addr in listen.iter().filter(|a| !is_loopback(a)) {
        log::warn(&format!(
            "listening on {addr}, which other machines can reach: anyone who can connect gets to your dev servers"
        ));
    }
    let listeners = listen
        .iter()
        .map(|addr| {
            listen::bind(*addr).map_err(|source| ProxyError::Listen { addr: addr.to_string(), source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Bound { listeners, fallback_note: None })
}

fn announce(bound: &Bound, table: &RouteTable, redirect: Option<&std::net::TcpListener>) {
    if let Some(note) = &bound.fallback_note {
        log::warn(note);
    }
    let port = bound.port();
    let addrs: Vec<String> = bound.addrs().iter().map(SocketAddr::to_string).collect();
    log::info(&format!("localca proxy listening on {}", addrs.join(" and ")));
    let suffix = if port == 443 { String::new() } else { format!(":{port}") };
    for route in table.routes() {
        log::info(&format!("  https://{}{suffix}/ -> {}", route.name, route.upstream));
    }
    if let Some(addr) = redirect.and_then(|l| l.local_addr().ok()) {
        log::info(&format!("  plain HTTP on {addr} redirects to https"));
    }
}
