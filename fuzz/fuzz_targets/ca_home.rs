//! Loading a CA: `RootCa::from_pem`, `RootCertificate::from_pem`, and `CaHome::load` on a folder
//! holding whatever bytes as `root.pem` and `root-key.pem`. Garbage, truncated or mismatched
//! files must give `Err`, never a panic and never a root whose key is not its certificate's.
//!
//! Input: a mode byte, a big-endian `u16` length, then the first part (that many bytes) and the
//! second part (the rest).
//! - mode 0: the first part as certificate, the second as key, through `RootCa::from_pem`;
//! - mode 1: the whole remainder as certificate, with a real root's key;
//! - mode 2: a real root's certificate, with the remainder as key;
//! - mode 3: both parts written as files into a CA home, then `load_certificate` and `load`.
//!
//! Oracle for any root that loads: a leaf it issues verifies against its certificate's public
//! key (so the key does belong to the certificate).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use localca::{
    CaHome, KeyStorageChoice, LeafProfile, NameConstraintSet, RootCa, RootCertificate, RootProfile,
    SubjectName,
};
use x509_parser::prelude::{FromDer, X509Certificate};

struct Fixture {
    cert_a: String,
    key_a: String,
    cert_b: String,
    key_b: String,
    home: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let profile = RootProfile {
            name_constraints: Some(NameConstraintSet::default()),
            user_at_host: "fuzz@localhost".into(),
            key_storage: KeyStorageChoice::File,
        };
        let (a, key_a) = RootCa::generate(&profile).expect("root a");
        let (b, key_b) = RootCa::generate(&profile).expect("root b");
        let dir = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
        let f = Fixture {
            cert_a: a.certificate_pem().into(),
            key_a,
            cert_b: b.certificate_pem().into(),
            key_b,
            home: dir.path().join("ca"),
        };
        // Mismatched pairs are refused (checked once; the fuzzer varies everything else).
        let p = Path::new("x");
        assert!(RootCa::from_pem(&f.cert_a, &f.key_b, p, p).is_err());
        assert!(RootCa::from_pem(&f.cert_b, &f.key_a, p, p).is_err());
        assert!(RootCa::from_pem(&f.cert_a, &f.key_a, p, p).is_ok());
        std::fs::create_dir_all(&f.home).expect("home");
        f
    })
}

/// A root that loaded must sign with the key of its certificate.
fn check_root(root: &RootCa) {
    let _ = (root.fingerprint_hex(), root.subject(), root.not_after(), format!("{root:?}"));
    if let Some(set) = root.name_constraints() {
        let _ = set.to_string();
    }
    let (_, cert) = X509Certificate::from_der(root.certificate_der()).expect("a loaded root parses");
    // BUG (known, tests/hostile.rs `a_root_with_an_invalid_oid_in_its_subject_is_an_error`): rcgen
    // panics writing an issuer name holding an attribute OID whose first subidentifier is 80 or
    // more (x509-parser reads 2.133 as 5.13; yasna: "Invalid OID"). Skipped here so the target
    // keeps looking for other problems; remove once src/root.rs refuses such a root when loading.
    let invalid_oid = |oid: &x509_parser::der_parser::oid::Oid<'_>| {
        let arcs: Option<Vec<u64>> = oid.iter().map(|i| i.collect());
        arcs.is_none_or(|a| a.len() < 2 || a[0] > 2 || (a[0] < 2 && a[1] >= 40))
    };
    if cert.subject().iter_attributes().any(|a| invalid_oid(a.attr_type())) {
        return;
    }
    let Ok(leaf) = root.issue(&[SubjectName::parse("localhost").unwrap()], &LeafProfile::default()) else {
        return;
    };
    let (_, leaf) = X509Certificate::from_der(&leaf.cert_der).expect("the leaf parses");
    match leaf.verify_signature(Some(cert.public_key())) {
        Ok(()) => {}
        // BUG (known, tests/hostile.rs `a_root_whose_certificate_was_changed_is_damaged`): the
        // key check compares the key bits only, so a certificate whose key algorithm or curve was
        // changed still loads. Tolerated here so the target keeps looking for other problems;
        // remove this arm once src/root.rs compares the whole SubjectPublicKeyInfo.
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => {}
        Err(e) => panic!("a loaded root's key is not its certificate's: {e}"),
    }
}

fn check_certificate(cert: &RootCertificate) {
    let _ = (cert.fingerprint_hex(), cert.subject(), cert.user_at_host(), cert.not_before());
    if let Some(set) = cert.name_constraints() {
        let _ = set.to_string();
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else { return };
    let (first, second) = match rest.split_first_chunk::<2>() {
        Some((n, rest)) => rest.split_at(usize::from(u16::from_be_bytes(*n)).min(rest.len())),
        None => (rest, &[][..]),
    };
    let (cp, kp) = (Path::new("root.pem"), Path::new("root-key.pem"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let loaded = match mode % 4 {
        0 => RootCa::from_pem(&text(first), &text(second), cp, kp),
        1 => RootCa::from_pem(&text(rest), &f.key_a, cp, kp),
        2 => RootCa::from_pem(&f.cert_a, &text(rest), cp, kp),
        _ => {
            std::fs::write(f.home.join("root.pem"), first).unwrap();
            std::fs::write(f.home.join("root-key.pem"), second).unwrap();
            // A key readable by others is refused before it is parsed: keep it private.
            use std::os::unix::fs::PermissionsExt;
            let private = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(f.home.join("root-key.pem"), private).unwrap();
            let home = CaHome::at(&f.home);
            if let Ok(cert) = home.load_certificate() {
                check_certificate(&cert);
            }
            home.load()
        }
    };
    if mode % 4 == 1 {
        if let Ok(cert) = RootCertificate::from_pem(&text(rest), cp) {
            check_certificate(&cert);
        }
    }
    match loaded {
        Ok(root) => check_root(&root),
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains("PRIVATE KEY"), "an error quotes the key: {message}");
            let _ = e.hint();
        }
    }
    let _ = &f.cert_b;
});
