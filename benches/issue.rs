//! In-process issuance per key type, beside the crypto floor (rcgen key generation + signing +
//! DER encoding with no checks and no I/O), and loading the CA from its files.
//!
//! Run with `cargo bench --bench issue`. Nothing here asserts a timing.

use criterion::{criterion_group, criterion_main, Criterion};
use localca::{CaHome, KeyType, LeafProfile, RootProfile, SubjectName};

fn names() -> Vec<SubjectName> {
    ["localhost", "127.0.0.1", "::1", "myapp.test"].iter().map(|n| SubjectName::parse(n).unwrap()).collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let home = CaHome::at(dir.path());
    let profile = RootProfile {
        name_constraints: Some(Default::default()),
        user_at_host: "bench@localhost".into(),
        key_storage: localca::KeyStorageChoice::File,
    };
    let (root, _) = home.load_or_create(&profile).unwrap();
    let names = names();

    // The floor: what rcgen + ring cost with nothing of ours around them.
    let floor_issuer_key = rcgen::KeyPair::generate().unwrap();
    let mut floor_ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    floor_ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let floor_ca_cert = floor_ca.self_signed(&floor_issuer_key).unwrap();
    let floor_issuer = rcgen::Issuer::from_ca_cert_der(floor_ca_cert.der(), &floor_issuer_key).unwrap();
    c.bench_function("floor: rcgen P-256 keygen + sign", |b| {
        b.iter(|| {
            let key = rcgen::KeyPair::generate().unwrap();
            let params =
                rcgen::CertificateParams::new(vec!["localhost".to_string(), "myapp.test".into()]).unwrap();
            params.signed_by(&key, &floor_issuer).unwrap().der().len()
        })
    });

    let mut group = c.benchmark_group("issue");
    for key_type in [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048] {
        if matches!(key_type, KeyType::Rsa2048) {
            group.sample_size(10);
        }
        let leaf = LeafProfile { key_type, ..LeafProfile::default() };
        group.bench_function(key_type.to_string(), |b| {
            b.iter(|| root.issue(&names, &leaf).unwrap().cert_der.len())
        });
    }
    group.finish();

    c.bench_function("load CA from files", |b| b.iter(|| home.load().unwrap().fingerprint()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
