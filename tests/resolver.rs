//! `CertResolver`: leaves issued in memory per SNI name, cached, short-lived, inside the root's
//! constraints, and accepted by a real rustls client in a full handshake.
#![cfg(feature = "resolver")]

mod common;

use std::sync::Arc;

use localca::{CaHome, CertResolver, KeyStorageChoice, NameConstraintSet, RootProfile, RESOLVER_LEAF_DAYS};
use rustls_pki_types::{CertificateDer, ServerName};

fn root() -> (tempfile::TempDir, CaHome, Arc<localca::RootCa>) {
    let tmp = tempfile::tempdir().unwrap();
    let home = CaHome::at(tmp.path().join("ca"));
    let profile = RootProfile {
        name_constraints: Some(NameConstraintSet::default()),
        user_at_host: "test@resolver".into(),
        key_storage: KeyStorageChoice::File,
    };
    let (root, _) = home.create(&profile).unwrap();
    (tmp, home, Arc::new(root))
}

#[test]
fn issues_cached_short_lived_leaves_that_verify() {
    let (_tmp, home, root) = root();
    let before = common::snapshot(home.path());
    let resolver = CertResolver::new(root.clone());
    let a = resolver.certificate_for("MyApp.test").unwrap();
    let leaf = a.cert[0].as_ref().to_vec();
    common::webpki_verify(root.certificate_der(), &leaf, webpki::KeyUsage::server_auth(), &["myapp.test"])
        .unwrap();
    assert!(common::webpki_verify(
        root.certificate_der(),
        &leaf,
        webpki::KeyUsage::server_auth(),
        &["other.test"]
    )
    .is_err());
    let secs = common::validity_seconds(&leaf);
    assert!(secs <= i64::from(RESOLVER_LEAF_DAYS) * 86400, "valid {secs}s");
    assert!(Arc::ptr_eq(&a, &resolver.certificate_for("myapp.test").unwrap()), "second call is cached");
    assert!(!Arc::ptr_eq(&a, &resolver.certificate_for("api.myapp.test").unwrap()));
    assert_eq!(before, common::snapshot(home.path()), "nothing written to the CA home");
}

#[test]
fn names_outside_the_constraints_get_nothing() {
    let (_tmp, _home, root) = root();
    let resolver = CertResolver::new(root.clone());
    let err = resolver.certificate_for("evil.com").unwrap_err();
    assert!(matches!(err, localca::Error::NameNotPermitted { .. }), "{err}");
    assert!(resolver.certificate_for("bad..name.test").is_err());
    assert!(CertResolver::new(root).with_days(0).is_err());
}

/// A full TLS handshake between rustls client and server in memory, the client trusting only
/// the root: accepted for a name inside the constraints, refused (no certificate) outside.
#[test]
fn real_handshake() {
    let (_tmp, _home, root) = root();
    let resolver = Arc::new(CertResolver::new(root.clone()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(resolver),
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(root.certificate_der().to_vec())).unwrap();
    let client_config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let handshake = |name: &'static str| -> Result<(), String> {
        let mut client =
            rustls::ClientConnection::new(client_config.clone(), ServerName::try_from(name).unwrap())
                .unwrap();
        let mut server = rustls::ServerConnection::new(server_config.clone()).unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets().map_err(|e| format!("server: {e}"))?;
            let mut buf = Vec::new();
            server.write_tls(&mut buf).unwrap();
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets().map_err(|e| format!("client: {e}"))?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
        }
        Err("handshake did not finish".into())
    };
    handshake("app.localhost").unwrap();
    let err = handshake("evil.com").unwrap_err();
    assert!(err.starts_with("server:"), "the server refuses, having no certificate: {err}");
}

/// Renewal in memory, on a scale of seconds: a leaf with a 3 s lifetime, renewed once less
/// than 2 s is left, is replaced by one with a new serial and a later notAfter while the old
/// one is still valid, and the old one is never served again. No handshake ever gets a leaf
/// with less than the margin left.
#[test]
fn renews_in_memory_before_expiry() {
    use std::time::{Duration, Instant};
    let (_tmp, home, root) = root();
    let before = common::snapshot(home.path());
    let resolver = CertResolver::new(root.clone())
        .with_lifetime(Duration::from_secs(3), Duration::from_secs(2))
        .unwrap();
    let serial = |key: &rustls::sign::CertifiedKey| common::parse(key.cert[0].as_ref()).raw_serial().to_vec();
    let not_after = |key: &rustls::sign::CertifiedKey| {
        common::parse(key.cert[0].as_ref()).validity().not_after.timestamp()
    };
    let now = || time::OffsetDateTime::now_utc().unix_timestamp();
    let first = resolver.certificate_for("renew.test").unwrap();
    let first_not_after = not_after(&first);
    assert!(first_not_after - now() <= 3, "valid at most 3 s from now");
    let leaf = first.cert[0].as_ref().to_vec();
    common::webpki_verify(root.certificate_der(), &leaf, webpki::KeyUsage::server_auth(), &["renew.test"])
        .unwrap();
    // Until the renewal point, the same leaf; after it, a new one, before the first expires.
    let started = Instant::now();
    let mut renewed = None;
    while started.elapsed() < Duration::from_secs(3) {
        let current = resolver.certificate_for("renew.test").unwrap();
        assert!(not_after(&current) - now() >= 1, "a leaf served with less than the margin left");
        if !Arc::ptr_eq(&current, &first) {
            renewed = Some((current, started.elapsed()));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (second, at) = renewed.expect("renewed within the first leaf's lifetime");
    assert!(at >= Duration::from_millis(900), "renewed too early, after {at:?}");
    assert!(now() < first_not_after, "renewed before the old leaf expired");
    assert_ne!(serial(&first), serial(&second), "a new serial");
    assert!(not_after(&second) > first_not_after, "a later notAfter");
    for _ in 0..3 {
        let again = resolver.certificate_for("renew.test").unwrap();
        assert!(Arc::ptr_eq(&again, &second), "the old leaf is no longer served");
    }
    assert_eq!(before, common::snapshot(home.path()), "nothing written to the CA home");
}

#[test]
fn lifetimes_that_cannot_work_are_refused() {
    use std::time::Duration;
    let (_tmp, _home, root) = root();
    let secs = Duration::from_secs;
    for (life, margin) in
        [(secs(0), secs(0)), (secs(10), secs(0)), (secs(10), secs(10)), (secs(900 * 86400), secs(1))]
    {
        let err = CertResolver::new(root.clone()).with_lifetime(life, margin).unwrap_err();
        assert!(matches!(err, localca::Error::InvalidLifetime { .. }), "{life:?}/{margin:?}: {err}");
    }
    assert!(CertResolver::new(root).with_lifetime(secs(60), secs(20)).is_ok());
}
