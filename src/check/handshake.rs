//! One TLS handshake that accepts whatever certificate the server sends and keeps it, so that the
//! chain can be judged afterwards against several sets of roots. The handshake signatures are
//! still verified: the server has to prove it holds the key of the certificate it sent.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use super::{CheckError, Target};

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the handshake negotiated and the certificates the server sent, leaf first.
pub struct Handshake {
    /// The address connected to.
    pub address: SocketAddr,
    /// `TLSv1_3`, `TLSv1_2`.
    pub protocol: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The application protocol the server picked, if any.
    pub alpn: Option<String>,
    /// The certificates as sent.
    pub chain: Vec<CertificateDer<'static>>,
}

#[derive(Debug)]
struct Capture {
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().expect("not poisoned");
        chain.clear();
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The addresses to try: `connect` when given, else what the host name resolves to.
fn addresses(target: &Target, connect: Option<std::net::IpAddr>) -> Result<Vec<SocketAddr>, CheckError> {
    if let Some(ip) = connect {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    if let Some(ip) = target.ip() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map(|a| a.collect())
        .map_err(|e| CheckError::Resolve { host: target.host.clone(), why: e.to_string() })
}

/// Connects and completes a handshake with SNI for the target's host.
pub fn run(target: &Target, connect: Option<std::net::IpAddr>) -> Result<Handshake, CheckError> {
    let mut last = None;
    let mut tcp = None;
    for address in addresses(target, connect)? {
        match TcpStream::connect_timeout(&address, TIMEOUT) {
            Ok(stream) => {
                tcp = Some((address, stream));
                break;
            }
            Err(e) => last = Some((address, e)),
        }
    }
    let (address, mut tcp) = match (tcp, last) {
        (Some(found), _) => found,
        (None, Some((address, e))) => return Err(CheckError::Connect { address, why: e.to_string() }),
        (None, None) => {
            return Err(CheckError::Resolve { host: target.host.clone(), why: "no address".into() })
        }
    };
    let io = |e: std::io::Error| CheckError::Handshake { address, why: e.to_string() };
    tcp.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    tcp.set_write_timeout(Some(TIMEOUT)).map_err(io)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let capture = Arc::new(Capture { provider: provider.clone(), chain: Mutex::new(Vec::new()) });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = target.server_name().expect("checked when parsed");
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| CheckError::Handshake { address, why: e.to_string() })?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(io)?;
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);

    let chain = std::mem::take(&mut *capture.chain.lock().expect("not poisoned"));
    Ok(Handshake {
        address,
        protocol: conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default(),
        cipher_suite: conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default(),
        alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
        chain,
    })
}
