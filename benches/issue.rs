//! In-process issuance per key type, each beside its crypto floor (rcgen key generation + signing +
//! DER encoding, same four names, no checks and no I/O), and loading the CA.
//!
//! Run with `cargo bench --bench issue`. Nothing here asserts a timing.
//!
//! Groups:
//! - `issue/<key type>/floor` and `issue/<key type>/localca`: the floor, and `RootCa::issue` for
//!   `localhost 127.0.0.1 ::1 myapp.test` (name checks, serial, profile, sign, PEM + PKCS#8 encoding).
//! - `parts/…`: pieces of `issue` that the floor does not pay.
//! - `issue+write/ecdsa-p256`: `issue` and `write_leaf` (key and certificate: temp file, fsync,
//!   rename, folder fsync each) into a temporary folder: what durability costs in process.
//! - `load/…`: the CA from its files (certificate + key), the certificate alone (what `install` and
//!   `status` read), and — only with `LOCALCA_BENCH_KEYRING=1` and a session bus — the CA whose key is
//!   in the Secret Service keyring. That one writes one keyring item (a new root's key, under service
//!   `localca`) and deletes it at the end; run it against a throw-away keyring:
//!
//!   ```sh
//!   HOME=$(mktemp -d) LOCALCA_BENCH_KEYRING=1 dbus-run-session -- sh -c \
//!     'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//!      cargo bench --bench issue -- load/'
//!   ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use localca::{CaHome, KeyStorageChoice, KeyType, LeafProfile, OutputPaths, RootProfile, SubjectName};

const NAMES: [&str; 4] = ["localhost", "127.0.0.1", "::1", "myapp.test"];

fn names() -> Vec<SubjectName> {
    NAMES.iter().map(|n| SubjectName::parse(n).unwrap()).collect()
}

fn profile(key_storage: KeyStorageChoice) -> RootProfile {
    RootProfile {
        name_constraints: Some(Default::default()),
        user_at_host: "bench@localhost".into(),
        key_storage,
    }
}

/// A floor issuer: a P-256 CA made with rcgen alone, like localca's root.
fn floor_issuer() -> rcgen::Issuer<'static, rcgen::KeyPair> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = ca.self_signed(&key).unwrap();
    rcgen::Issuer::from_ca_cert_der(cert.der(), key).unwrap()
}

/// The floor's leaf key: what the key type costs to generate with the same crates localca uses
/// (ring for ECDSA; the RustCrypto `rsa` crate for RSA, which ring cannot generate).
fn floor_key(key_type: KeyType) -> rcgen::KeyPair {
    match key_type {
        KeyType::EcdsaP256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        KeyType::EcdsaP384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap(),
        KeyType::Rsa2048 | KeyType::Rsa3072 => {
            use rsa::pkcs8::EncodePrivateKey;
            let bits = if key_type == KeyType::Rsa2048 { 2048 } else { 3072 };
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).unwrap();
            let der = key.to_pkcs8_der().unwrap();
            let pkcs8 = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256).unwrap()
        }
    }
}

fn bench_issue(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let home = CaHome::at(dir.path());
    let (root, _) = home.load_or_create(&profile(KeyStorageChoice::File)).unwrap();
    let names = names();
    let floor_issuer = floor_issuer();
    let floor_names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();

    let mut group = c.benchmark_group("issue");
    for key_type in [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048] {
        if key_type == KeyType::Rsa2048 {
            group.sample_size(10); // key generation: ~0.1-0.5 s each, widely spread
        }
        group.bench_function(BenchmarkId::new(key_type.to_string(), "floor"), |b| {
            b.iter(|| {
                let key = floor_key(key_type);
                let params = rcgen::CertificateParams::new(floor_names.clone()).unwrap();
                params.signed_by(&key, &floor_issuer).unwrap().der().len()
            })
        });
        let leaf = LeafProfile { key_type, ..LeafProfile::default() };
        group.bench_function(BenchmarkId::new(key_type.to_string(), "localca"), |b| {
            b.iter(|| root.issue(&names, &leaf).unwrap().cert_der.len())
        });
    }
    group.finish();

    // One part of `issue` the floor does not pay: rcgen's Issuer is rebuilt from the root's DER
    // (an x509-parser parse) for every leaf.
    let root_der = rustls_pki_types::CertificateDer::from(root.certificate_der().to_vec());
    let some_key = rcgen::KeyPair::generate().unwrap();
    c.bench_function("parts/rcgen Issuer from the root's DER", |b| {
        b.iter(|| rcgen::Issuer::from_ca_cert_der(&root_der, &some_key).is_ok())
    });

    let out = tempfile::tempdir().unwrap();
    let paths = OutputPaths {
        cert: Some(out.path().join("localhost+3.pem")),
        key: Some(out.path().join("localhost+3-key.pem")),
        p12: None,
    };
    c.bench_function("issue+write/ecdsa-p256", |b| {
        b.iter(|| {
            let leaf = root.issue(&names, &LeafProfile::default()).unwrap();
            localca::write_leaf(&leaf, &root, &paths, localca::DEFAULT_P12_PASSWORD, None).unwrap();
        })
    });
}

fn bench_load(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let home = CaHome::at(dir.path());
    home.load_or_create(&profile(KeyStorageChoice::File)).unwrap();
    c.bench_function("load/CA from files", |b| b.iter(|| home.load().unwrap().fingerprint()));
    c.bench_function("load/certificate only", |b| b.iter(|| home.load_certificate().unwrap().fingerprint()));

    let wanted = std::env::var("LOCALCA_BENCH_KEYRING").is_ok_and(|v| v == "1");
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
    if !wanted {
        eprintln!("load/CA from keyring: skipped (set LOCALCA_BENCH_KEYRING=1, with a throw-away keyring)");
        return;
    }
    if !bus {
        eprintln!("load/CA from keyring: skipped (no session bus: DBUS_SESSION_BUS_ADDRESS is unset)");
        return;
    }
    let kdir = tempfile::tempdir().unwrap();
    let khome = CaHome::at(kdir.path());
    if let Err(e) = khome.create(&profile(KeyStorageChoice::Keyring)) {
        eprintln!("load/CA from keyring: skipped (could not store a key in the keyring: {e})");
        return;
    }
    c.bench_function("load/CA from keyring", |b| b.iter(|| khome.load().unwrap().fingerprint()));
    // Removes the keyring item this bench created.
    khome.delete().unwrap();
}

criterion_group!(benches, bench_issue, bench_load);
criterion_main!(benches);
