//! A Rust TLS client that trusts what the operating system trusts, through
//! rustls-platform-verifier (what reqwest and many Rust tools use), for tests/clients/probe.
//!
//! `tls_probe HOST PORT PATH TOKEN` connects to 127.0.0.1:PORT with HOST as the TLS server name,
//! sends `GET PATH`, and prints one line: `accept` (the response holds TOKEN), `reject: WHY` (the
//! certificate was refused) or `error: WHY` (no verdict).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls_platform_verifier::BuilderVerifierExt;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, path, token] = args.as_slice() else {
        println!("error: usage: tls_probe HOST PORT PATH TOKEN");
        return;
    };
    println!("{}", probe(host, port, path, token));
}

fn probe(host: &str, port: &str, path: &str, token: &str) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
    {
        Ok(builder) => builder.with_no_client_auth(),
        Err(e) => return format!("error: building the client: {e}"),
    };
    let Ok(name) = ServerName::try_from(host.to_string()) else {
        return format!("error: bad server name {host}");
    };
    let connection = match rustls::ClientConnection::new(Arc::new(config), name) {
        Ok(c) => c,
        Err(e) => return format!("error: {e}"),
    };
    let socket = match TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap_or(0))) {
        Ok(s) => s,
        Err(e) => return format!("error: connect: {e}"),
    };
    let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
    let mut tls = rustls::StreamOwned::new(connection, socket);
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n");
    let mut response = Vec::new();
    let result = tls.write_all(request.as_bytes()).and_then(|()| tls.read_to_end(&mut response));
    // The test server closes without close_notify: what it sent before counts.
    if String::from_utf8_lossy(&response).contains(token) {
        return "accept".into();
    }
    match result {
        Ok(_) => format!("error: handshake ok but token missing ({} bytes)", response.len()),
        Err(e) => match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(why)) => format!("reject: {why:?}"),
            _ => format!("error: {e}"),
        },
    }
}
