//! The proxy's side towards upstreams: pooled HTTP/1.1 (plain or TLS) and h2c clients.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;

use super::routes::Scheme;
use crate::Body;

/// How long connecting to an upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Clients for every upstream scheme, sharing their connection pools across requests.
#[derive(Clone)]
pub struct Upstreams {
    h1: Client<HttpsConnector<HttpConnector>, Body>,
    h2c: Client<HttpConnector, Body>,
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
        let h2c = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http2_only(true)
            .set_host(false)
            .build(http);
        Upstreams { h1, h2c }
    }

    /// Sends a request (absolute URI) to the client for `scheme`.
    pub async fn send(
        &self,
        scheme: Scheme,
        req: hyper::Request<Body>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        match scheme {
            Scheme::Http | Scheme::Https => self.h1.request(req).await,
            Scheme::H2c => self.h2c.request(req).await,
        }
    }
}
