//! The async HTTPS layer of localca: one shared server stack for its servers (the reverse proxy
//! now, the ACME server next).
//!
//! - [`listen`]: binding listeners, with the fallback from a privileged port to a free one.
//! - [`tls`]: the rustls server configuration around any certificate resolver, and telling a
//!   TLS client from one that speaks plain HTTP to the TLS port.
//! - [`serve`]: the accept loop, HTTP/1.1 and HTTP/2 (ALPN) with upgrades, and graceful
//!   shutdown that drains in-flight requests.
//! - [`shutdown`]: SIGINT/SIGTERM (Ctrl-C on Windows) as one shutdown signal.
//! - [`log`]: one line per request on stderr, `--quiet` aware.
//! - [`tunnels`]: upgraded connections (WebSockets), kept through the drain and then closed.
//! - [`workers`]: thread-per-core serving, one single-threaded runtime per worker thread.
//! - [`acme`]: the ACME server (RFC 8555), its CA given through [`acme::Issuer`].
//!
//! This crate does not depend on the `localca` library: it takes any rustls
//! `ResolvesServerCert` (in practice `localca::CertResolver`), so the library stays free of
//! tokio and hyper while the `localca` binary links both.

#![warn(missing_docs)]

pub mod acme;
pub mod listen;
pub mod log;
pub mod proxy;
pub mod serve;
pub mod shutdown;
pub mod tls;
pub mod tunnels;
pub mod workers;

/// The response body every handler returns: boxed, so handlers can stream, proxy or answer
/// from memory through one type.
pub type Body = http_body_util::combinators::BoxBody<bytes::Bytes, BoxError>;

/// Errors inside a body stream.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body from bytes in memory.
pub fn full(data: impl Into<bytes::Bytes>) -> Body {
    use http_body_util::BodyExt;
    http_body_util::Full::new(data.into()).map_err(|never| match never {}).boxed()
}

/// A runtime on the calling thread alone. Both servers use it: the proxy runs one per worker
/// thread (see [`workers`]), and the ACME server one in all, since its requests are short and
/// mostly CPU (signatures, SQLite) and on two cores one thread spent less CPU per order than two
/// workers waking each other (measured with benches/acme-compare).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}
