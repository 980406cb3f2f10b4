//! Real TLS handshakes over TCP on the loopback interface: a rustls server with a certificate and
//! key written by `localca cert`, and a rustls client that trusts only the root in the CA home.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, ClientConfig, RootCertStore, ServerConfig};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(root_pem: &Path) -> Arc<RootCertStore> {
    let mut store = RootCertStore::empty();
    store.add(CertificateDer::from_pem_file(root_pem).expect("root PEM")).expect("usable root");
    Arc::new(store)
}

fn versions(tls12_only: bool) -> &'static [&'static rustls::SupportedProtocolVersion] {
    static TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
    static TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    if tls12_only {
        TLS12_ONLY
    } else {
        TLS13
    }
}

/// A server configuration with the leaf and key in PEM files; when `client_roots` is given,
/// clients must present a certificate from that root.
fn server_config(
    cert: &Path,
    key: &Path,
    client_roots: Option<&Path>,
    tls12_only: bool,
) -> Arc<ServerConfig> {
    let chain = vec![CertificateDer::from_pem_file(cert).expect("leaf PEM")];
    let key = PrivateKeyDer::from_pem_file(key).expect("key PEM");
    let builder =
        ServerConfig::builder_with_provider(provider()).with_protocol_versions(versions(tls12_only)).unwrap();
    let builder = match client_roots {
        Some(root) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(roots(root), provider()).build().unwrap(),
        ),
        None => builder.with_no_client_auth(),
    };
    Arc::new(builder.with_single_cert(chain, key).expect("the key matches the certificate"))
}

/// A client configuration trusting only the root at `root_pem`, optionally with a client cert.
fn client_config(
    root_pem: &Path,
    client_cert: Option<(&Path, &Path)>,
    tls12_only: bool,
) -> Arc<ClientConfig> {
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(root_pem), provider()).build().unwrap();
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions(tls12_only))
        .unwrap()
        .with_webpki_verifier(verifier);
    Arc::new(match client_cert {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(cert).unwrap()],
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// Connects to a fresh one-shot server over TCP and exchanges a message, with `server_name` as
/// the name the client checks. Returns the client's error, if any.
fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    server_name: &str,
) -> Result<(), rustls::Error> {
    let name = ServerName::try_from(server_name.to_string()).expect("a valid server name");
    // Connect over IPv6 loopback when the name is an IPv6 address, else over 127.0.0.1.
    let bind: SocketAddr = match server_name.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => "[::1]:0".parse().unwrap(),
        _ => "127.0.0.1:0".parse().unwrap(),
    };
    let listener = TcpListener::bind(bind).expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    let server_thread = thread::spawn(move || -> Result<Vec<u8>, String> {
        let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = rustls::ServerConnection::new(server).map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut request = [0u8; 5];
        tls.read_exact(&mut request).map_err(|e| e.to_string())?;
        tls.write_all(b"pong\n").map_err(|e| e.to_string())?;
        tls.flush().map_err(|e| e.to_string())?;
        tls.conn.send_close_notify();
        let _ = tls.flush();
        Ok(request.to_vec())
    });

    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let conn = rustls::ClientConnection::new(client, name).expect("client connection");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let result = (|| -> std::io::Result<Vec<u8>> {
        tls.write_all(b"ping\n")?;
        tls.flush()?;
        let mut reply = [0u8; 5];
        tls.read_exact(&mut reply)?;
        Ok(reply.to_vec())
    })();
    drop(tls);
    let server_result = server_thread.join().expect("server thread");
    match result {
        Ok(reply) => {
            assert_eq!(reply, b"pong\n");
            assert_eq!(server_result, Ok(b"ping\n".to_vec()), "the server got the request");
            Ok(())
        }
        Err(e) => {
            assert!(server_result.is_err(), "the server must not have served a refused client");
            let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()).cloned();
            Err(inner.unwrap_or_else(|| panic!("not a TLS error: {e}")))
        }
    }
}

fn is_not_valid_for_name(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

#[test]
fn handshake_succeeds_for_every_name_in_the_certificate() {
    let env = Env::new();
    env.ok(&[
        "cert",
        "--cert-file",
        "cert.pem",
        "--key-file",
        "key.pem",
        "myapp.test",
        "*.myapp.test",
        "localhost",
        "127.0.0.1",
        "::1",
    ]);
    let server = server_config(&env.file("cert.pem"), &env.file("key.pem"), None, false);
    let client = client_config(&env.root_pem_path(), None, false);
    for name in ["myapp.test", "sub.myapp.test", "localhost", "127.0.0.1", "::1"] {
        assert_eq!(handshake(server.clone(), client.clone(), name), Ok(()), "{name}");
    }
    // TLS 1.2 too.
    let server12 = server_config(&env.file("cert.pem"), &env.file("key.pem"), None, true);
    let client12 = client_config(&env.root_pem_path(), None, true);
    assert_eq!(handshake(server12, client12.clone(), "myapp.test"), Ok(()));

    // Names the certificate does not hold.
    for name in ["other.test", "a.b.myapp.test", "myapp.test.evil.com", "127.0.0.2", "::2"] {
        let err = handshake(server.clone(), client.clone(), name).expect_err(name);
        assert!(is_not_valid_for_name(&err), "{name}: {err:?}");
    }
}

#[test]
fn handshake_fails_when_the_client_trusts_another_root() {
    let env = Env::new();
    env.ok(&["cert", "--cert-file", "cert.pem", "--key-file", "key.pem", "myapp.test"]);
    let other = Env::new();
    other.create_ca();
    let server = server_config(&env.file("cert.pem"), &env.file("key.pem"), None, false);
    let client = client_config(&other.root_pem_path(), None, false);
    let err = handshake(server.clone(), client, "myapp.test").unwrap_err();
    // Both localca roots of one user carry the same subject, so webpki tries the other root and
    // finds the signature wrong.
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(
                CertificateError::BadSignature | CertificateError::UnknownIssuer
            )
        ),
        "{err:?}"
    );

    // A root with another subject: the issuer is unknown.
    openssl_ok(
        &other.cwd,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=Another root",
            "-days",
            "1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            "another-key.pem",
            "-out",
            "another.pem",
        ],
    );
    let client = client_config(&other.file("another.pem"), None, false);
    let err = handshake(server, client, "myapp.test").unwrap_err();
    assert_eq!(err, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
}

#[test]
fn mutual_tls_with_a_client_certificate() {
    let env = Env::new();
    env.ok(&["cert", "--cert-file", "server.pem", "--key-file", "server-key.pem", "myapp.test"]);
    env.ok(&[
        "cert",
        "--client",
        "--cert-file",
        "client.pem",
        "--key-file",
        "client-key.pem",
        "alice@myapp.test",
    ]);
    let server = server_config(
        &env.file("server.pem"),
        &env.file("server-key.pem"),
        Some(&env.root_pem_path()),
        false,
    );
    let client = client_config(
        &env.root_pem_path(),
        Some((&env.file("client.pem"), &env.file("client-key.pem"))),
        false,
    );
    assert_eq!(handshake(server.clone(), client, "myapp.test"), Ok(()));

    // A certificate without clientAuth is refused by the server: the client sees the alert.
    let not_client = client_config(
        &env.root_pem_path(),
        Some((&env.file("server.pem"), &env.file("server-key.pem"))),
        false,
    );
    let err = handshake(server, not_client, "myapp.test").unwrap_err();
    assert!(matches!(err, rustls::Error::AlertReceived(_)), "{err:?}");
}
