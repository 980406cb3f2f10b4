//! TLS for the servers: a rustls configuration around any certificate resolver, and telling a
//! TLS client apart from one that speaks plain HTTP to the TLS port.

use std::sync::Arc;

use rustls::server::ResolvesServerCert;
use rustls::ServerConfig;
use tokio::net::TcpStream;

/// ALPN protocols for a server speaking HTTP/2 and HTTP/1.1, preferred in that order.
pub const ALPN_H2_H1: &[&[u8]] = &[b"h2", b"http/1.1"];
/// ALPN for HTTP/1.1 only.
pub const ALPN_H1: &[&[u8]] = &[b"http/1.1"];

/// A TLS 1.2/1.3 server configuration (ring) taking certificates from `resolver`.
pub fn server_config(resolver: Arc<dyn ResolvesServerCert>, alpn: &[&[u8]]) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// What a new connection to a TLS port starts with.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstBytes {
    /// A TLS handshake record.
    Tls,
    /// Anything else: most likely a plain HTTP request.
    Other,
    /// The client closed without sending anything.
    Closed,
}

/// Peeks at the first byte without consuming it: TLS records of a handshake start with 0x16.
pub async fn sniff(stream: &TcpStream) -> std::io::Result<FirstBytes> {
    let mut byte = [0u8; 1];
    Ok(match stream.peek(&mut byte).await? {
        0 => FirstBytes::Closed,
        _ if byte[0] == 0x16 => FirstBytes::Tls,
        _ => FirstBytes::Other,
    })
}
