//! Challenges, validated for real (RFC 8555 §8.3 http-01, RFC 8737 tls-alpn-01, RFC 8738 for
//! IP addresses): the server connects to the client on the configured port. Names under
//! `localhost` go to loopback without asking DNS (RFC 6761); other names go through the system
//! resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;

use super::objects::{self, authz_status, CHALLENGES};
use super::orders::own_authz;
use super::problem::{Kind, Problem};
use super::request::Post;
use super::store::Attempt;
use super::{now, AcmeServer, Base, Identifier, Issuer, Reply};

/// How long one validation may take in all.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest http-01 response body read.
const MAX_HTTP01_BODY: usize = 4096;
/// The ALPN protocol of tls-alpn-01.
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
/// id-pe-acmeIdentifier.
const ACME_IDENTIFIER_OID: &str = "1.3.6.1.5.5.7.1.31";

pub(crate) async fn respond<I: Issuer>(
    server: &Arc<AcmeServer<I>>,
    post: Post,
    base: &Base,
    id: &str,
    kind: &str,
) -> Result<Reply, Problem> {
    if !CHALLENGES.contains(&kind) {
        return Err(Problem::not_found("challenge"));
    }
    let authz = own_authz(server, &post, id)?;
    let up = objects::authz_url(base, id);
    let reply = |authz: &super::store::Authz, processing: bool| {
        Reply::json(StatusCode::OK, &objects::challenge(base, authz, kind, processing)).link(&up, "up")
    };
    if post.is_get() || authz_status(&authz) != "pending" {
        let processing = server.validating.lock().expect("lock").contains(id);
        return Ok(reply(&authz, processing));
    }
    let _: serde_json::Map<String, serde_json::Value> = post.json()?;
    if !server.validating.lock().expect("lock").insert(id.to_string()) {
        return Ok(reply(&authz, true)); // a validation is already running
    }
    let _running = Running { server: server.clone(), id: id.to_string() };
    let key_authorization = format!("{}.{}", authz.token, post.account_key()?.thumbprint());
    let validation = async {
        match kind {
            "http-01" => {
                http01(&authz.identifier, server.config.http01_port, &authz.token, &key_authorization).await
            }
            _ => tls_alpn01(&authz.identifier, server.config.tlsalpn01_port, &key_authorization).await,
        }
    };
    let outcome = match tokio::time::timeout(VALIDATION_TIMEOUT, validation).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Problem::new(
            Kind::Connection,
            format!(
                "{kind} validation of {} took longer than {VALIDATION_TIMEOUT:?}",
                authz.identifier.value
            ),
        )),
    };
    let attempt = Attempt {
        challenge: kind.to_string(),
        status: if outcome.is_ok() { "valid" } else { "invalid" }.into(),
        validated: now(),
        error: outcome.err().map(|p| serde_json::to_value(&p).expect("a problem serialises")),
    };
    let settled = server
        .store
        .settle_authz(id, &attempt.status, Some(&attempt))?
        .ok_or_else(|| Problem::not_found("authorization"))?;
    Ok(reply(&settled, false))
}

/// Clears the "validation running" mark of an authorization, however the validation ends.
struct Running<I: Issuer> {
    server: Arc<AcmeServer<I>>,
    id: String,
}

impl<I: Issuer> Drop for Running<I> {
    fn drop(&mut self) {
        self.server.validating.lock().expect("lock").remove(&self.id);
    }
}

/// Where to connect for an identifier.
async fn addresses(id: &Identifier, port: u16) -> Result<Vec<SocketAddr>, Problem> {
    if id.kind == "ip" {
        let ip: IpAddr =
            id.value.parse().map_err(|_| Problem::malformed(format!("{} is not an IP address", id.value)))?;
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = id.value.trim_end_matches('.');
    if name == "localhost" || name.ends_with(".localhost") {
        // RFC 6761 §6.3: localhost names are loopback, whatever DNS says.
        return Ok(vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ]);
    }
    match tokio::net::lookup_host((name, port)).await {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                return Err(unresolved(name, "no addresses"));
            }
            Ok(addrs)
        }
        Err(e) => Err(unresolved(name, &e.to_string())),
    }
}

fn unresolved(name: &str, why: &str) -> Problem {
    Problem::new(
        Kind::Dns,
        format!(
            "{name} does not resolve on the server's machine ({why}); names under .localhost always reach \
             this machine, other names need an entry in /etc/hosts"
        ),
    )
}

/// Connects to the first address that answers.
async fn connect(id: &Identifier, port: u16, kind: &str, flag: &str) -> Result<TcpStream, Problem> {
    let mut failures = Vec::new();
    for addr in addresses(id, port).await? {
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => failures.push(format!("{addr}: {e}")),
            Err(_) => failures.push(format!("{addr}: timed out")),
        }
    }
    Err(Problem::new(
        Kind::Connection,
        format!(
            "{kind} validation could not connect to {} ({}); is the client's {kind} server listening on port \
             {port}? (the ACME server's {flag} sets the port)",
            id.value,
            failures.join("; ")
        ),
    ))
}

/// http-01: GET the token over plain HTTP and compare the key authorization.
async fn http01(id: &Identifier, port: u16, token: &str, key_authorization: &str) -> Result<(), Problem> {
    let stream = connect(id, port, "http-01", "--http-01-port").await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Problem::new(Kind::Connection, format!("http-01 to {}: {e}", id.value)))?;
    let host = match id.value.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => id.value.clone(),
    };
    let host_header = if port == 80 { host } else { format!("{host}:{port}") };
    let request = hyper::Request::get(format!("/.well-known/acme-challenge/{token}"))
        .header(hyper::header::HOST, host_header)
        .header(hyper::header::USER_AGENT, "localca-acme")
        .body(Empty::<Bytes>::new())
        .expect("valid request");
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| Problem::new(Kind::Connection, format!("http-01 request to {}: {e}", id.value)))?;
        check_http01_response(id, token, key_authorization, response).await
    };
    // The connection is driven here rather than in a task of its own, and dropped (closed
    // without a separate shutdown) as soon as the answer is read.
    let conn = async move {
        let _ = conn.await;
    };
    let mut exchange = std::pin::pin!(exchange);
    tokio::select! {
        outcome = &mut exchange => outcome,
        () = conn => exchange.await,
    }
}

async fn check_http01_response(
    id: &Identifier,
    token: &str,
    key_authorization: &str,
    response: hyper::Response<hyper::body::Incoming>,
) -> Result<(), Problem> {
    let status = response.status();
    if status.is_redirection() {
        return Err(Problem::new(
            Kind::IncorrectResponse,
            format!("http-01 for {} answered a redirect ({status}); serve the token directly", id.value),
        ));
    }
    if status != StatusCode::OK {
        return Err(Problem::new(
            Kind::IncorrectResponse,
            format!("http-01 for {} answered {status} for /.well-known/acme-challenge/{token}", id.value),
        ));
    }
    let body = Limited::new(response.into_body(), MAX_HTTP01_BODY)
        .collect()
        .await
        .map_err(|e| {
            Problem::new(Kind::IncorrectResponse, format!("http-01 for {}: reading the body: {e}", id.value))
        })?
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    if text.trim_end() != key_authorization {
        return Err(Problem::new(
            Kind::IncorrectResponse,
            format!("http-01 for {}: the response is not the key authorization", id.value),
        ));
    }
    Ok(())
}

/// tls-alpn-01: a TLS handshake with ALPN acme-tls/1 whose certificate names the identifier
/// and carries the SHA-256 of the key authorization in a critical acmeIdentifier extension.
async fn tls_alpn01(id: &Identifier, port: u16, key_authorization: &str) -> Result<(), Problem> {
    let stream = connect(id, port, "tls-alpn-01", "--tls-alpn-01-port").await?;
    let sni = match id.value.parse::<IpAddr>() {
        Ok(ip) => reverse_dns(ip), // RFC 8738 §6
        Err(_) => id.value.clone(),
    };
    let server_name = ServerName::try_from(sni.clone())
        .map_err(|_| Problem::malformed(format!("{sni} cannot be sent as a TLS server name")))?;
    let tls_problem = |what: String| Problem::new(Kind::Tls, format!("tls-alpn-01 for {}: {what}", id.value));
    let connector = tokio_rustls::TlsConnector::from(alpn_client_config());
    let tls = connector
        .connect(server_name, stream)
        .await
        .map_err(|e| tls_problem(format!("handshake failed: {e}")))?;
    let (_, session) = tls.get_ref();
    if session.alpn_protocol() != Some(ACME_TLS_ALPN) {
        return Err(tls_problem("the server did not negotiate ALPN acme-tls/1".into()));
    }
    let leaf = session
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| tls_problem("no certificate was presented".into()))?;
    check_alpn_certificate(id, leaf.as_ref(), key_authorization)
        .map_err(|why| Problem::new(Kind::IncorrectResponse, format!("tls-alpn-01 for {}: {why}", id.value)))
}

fn check_alpn_certificate(id: &Identifier, der: &[u8], key_authorization: &str) -> Result<(), String> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("unparsable certificate ({e})"))?;
    let mut names = Vec::new();
    let mut digest_ok = false;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => names.extend(san.general_names.iter().cloned()),
            _ if ext.oid.to_id_string() == ACME_IDENTIFIER_OID => {
                if !ext.critical {
                    return Err("the acmeIdentifier extension must be critical".into());
                }
                let hash = ring::digest::digest(&ring::digest::SHA256, key_authorization.as_bytes());
                let expected = [&[0x04, 0x20][..], hash.as_ref()].concat();
                digest_ok = ext.value == expected.as_slice();
            }
            _ => {}
        }
    }
    let named = match (names.as_slice(), id.value.parse::<IpAddr>()) {
        ([GeneralName::DNSName(d)], Err(_)) => d.eq_ignore_ascii_case(&id.value),
        ([GeneralName::IPAddress(b)], Ok(IpAddr::V4(ip))) => *b == ip.octets().as_slice(),
        ([GeneralName::IPAddress(b)], Ok(IpAddr::V6(ip))) => *b == ip.octets().as_slice(),
        _ => false,
    };
    if !named {
        return Err(format!("the certificate must name exactly {} in its subjectAltName", id.value));
    }
    if !digest_ok {
        return Err("the certificate's acmeIdentifier is not the SHA-256 of the key authorization".into());
    }
    Ok(())
}

fn reverse_dns(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .rev()
                .flat_map(|b| [format!("{:x}", b & 0xf), format!("{:x}", b >> 4)])
                .collect();
            format!("{}.ip6.arpa", nibbles.join("."))
        }
    }
}

/// The TLS client for tls-alpn-01: its certificate is self-signed by design, so it is judged by
/// its contents, not by a chain; handshake signatures are still checked.
fn alpn_client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            // TLS 1.3 only: its handshake signature is checked against the certificate's raw
            // key (webpki refuses to parse a certificate with the critical acmeIdentifier).
            let mut config = ClientConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&[&rustls::version::TLS13])
                .expect("ring supports TLS 1.3")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ContentsOnly(provider)))
                .with_no_client_auth();
            config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
            Arc::new(config)
        })
        .clone()
}

#[derive(Debug)]
struct ContentsOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for ContentsOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("tls-alpn-01 validation speaks TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, parsed) = X509Certificate::from_der(cert.as_ref())
            .map_err(|_| rustls::Error::General("unparsable certificate".into()))?;
        let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(parsed.tbs_certificate.subject_pki.raw);
        rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &spki,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
