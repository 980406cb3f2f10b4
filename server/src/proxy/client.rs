//! The proxy's side towards upstreams: pooled HTTP/1.1 (plain or TLS) and h2c clients.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;

use super::routes::{Scheme, Upstream};
use crate::{Body, BoxError};

/// How long connecting to an upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Clients for every upstream scheme, sharing their connection pools across requests.
pub struct Upstreams {
    h1: Client<HttpsConnector<HttpConnector>, Body>,
    /// One client per h2c upstream: its requests carry the client's host as `:authority`
    /// (HTTP/2 servers read the host from it), so the URI cannot also say where to connect.
    h2c: Mutex<HashMap<String, Client<FixedTarget, Body>>>,
    http: HttpConnector,
}

/// The TLS settings for https upstreams: the OS store plus `extra_roots` (the local root).
/// Built once: reading the OS store takes milliseconds.
pub fn tls_config(extra_roots: &[Vec<u8>]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable OS certificates are skipped: the local root alone still works.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    roots.add_parsable_certificates(extra_roots.iter().map(|der| CertificateDer::from(der.clone())));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

impl Upstreams {
    /// Clients using `tls` (from [`tls_config`]) for https upstreams. Connections are spawned
    /// on the runtime that opens them: make one `Upstreams` per worker thread.
    pub fn new(tls: rustls::ClientConfig) -> Upstreams {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http.clone());
        let h1 = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .set_host(false)
            .build(https);
        Upstreams { h1, h2c: Mutex::new(HashMap::new()), http }
    }

    /// The h2c client for `upstream`, made on first use.
    fn h2c(&self, upstream: &Upstream) -> Client<FixedTarget, Body> {
        let mut clients = self.h2c.lock().expect("h2c clients lock");
        let client = clients.entry(upstream.authority.clone()).or_insert_with(|| {
            let target = format!("http://{}", upstream.authority).parse().expect("checked when parsed");
            Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .timer(TokioTimer::new())
                .http2_only(true)
                .set_host(false)
                .build(FixedTarget { http: self.http.clone(), target })
        });
        client.clone()
    }

    /// Sends a request (absolute URI) to `upstream`. For h2c the URI's authority is the
    /// client's host; the connection goes to `upstream` all the same.
    pub async fn send(
        &self,
        upstream: &Upstream,
        req: hyper::Request<Body>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        match upstream.scheme {
            Scheme::Http | Scheme::Https => self.h1.request(req).await,
            Scheme::H2c => self.h2c(upstream).request(req).await,
        }
    }
}

/// A connector that dials one fixed upstream whatever URI it is asked for.
#[derive(Clone)]
pub struct FixedTarget {
    http: HttpConnector,
    target: hyper::Uri,
}

impl tower_service::Service<hyper::Uri> for FixedTarget {
    type Response = <HttpConnector as tower_service::Service<hyper::Uri>>::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, _asked: hyper::Uri) -> Self::Future {
        let connecting = self.http.call(self.target.clone());
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}
