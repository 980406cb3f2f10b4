//! CSR parsing and signing: `CertificateRequest::from_bytes`, then `RootCa::sign_request` with a
//! name-constrained root made once in a temporary CA home.
//!
//! Two kinds of input:
//! - a CSR file as is (PEM or DER: anything not starting with byte 0x01). Mutations mostly break
//!   the signature, so this mode mainly exercises the parsers in front of the signature check;
//! - 0x01, then a structured request that the harness signs with its own key, so that the fuzzed
//!   parts get past the signature check: `u16` CN length, the CN, then extensions, each
//!   `[selector, critical, u16 length, content]` (selector picks the OID: SAN, BasicConstraints,
//!   KeyUsage, NameConstraints, EKU, a private OID…).
//!
//! Oracles for every leaf signed: it verifies against the root; it is not a CA, has no keyCertSign
//! or cRLSign, no name constraints and no extension beyond our profile's; its SANs are the
//! request's names, each within the root's constraints; and its key is the request's key.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use localca::{
    CaHome, CertificateRequest, KeyStorageChoice, LeafProfile, NameConstraintSet, RootCa, RootProfile,
};
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair};
use x509_parser::prelude::{FromDer, X509Certificate};

fn root() -> &'static RootCa {
    static ROOT: OnceLock<RootCa> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
        let profile = RootProfile {
            name_constraints: Some(NameConstraintSet::default()),
            user_at_host: "fuzz@localhost".into(),
            key_storage: KeyStorageChoice::File,
        };
        CaHome::at(dir.path().join("ca")).load_or_create(&profile).expect("root").0
    })
}

fn signer() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key"))
}

const OIDS: &[&[u64]] = &[
    &[2, 5, 29, 17],               // subjectAltName
    &[2, 5, 29, 19],               // basicConstraints
    &[2, 5, 29, 15],               // keyUsage
    &[2, 5, 29, 30],               // nameConstraints
    &[2, 5, 29, 37],               // extKeyUsage
    &[1, 3, 6, 1, 4, 1, 55555, 1], // a private extension
    &[2, 5, 29, 14],               // subjectKeyIdentifier
    &[1, 3, 6, 1, 5, 5, 7, 1, 24], // TLS feature (must-staple)
];

/// Builds and signs a request from the structured input; `None` when rcgen refuses it.
fn structured(mut data: &[u8]) -> Option<Vec<u8>> {
    fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = data.split_at_checked(n)?;
        *data = rest;
        Some(head)
    }
    fn len(data: &mut &[u8]) -> Option<usize> {
        take(data, 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    let n = len(&mut data)?;
    let cn = take(&mut data, n)?;
    if !cn.is_empty() {
        dn.push(DnType::CommonName, String::from_utf8_lossy(cn).into_owned());
    }
    params.distinguished_name = dn;
    while let (Some(head), true) = (take(&mut data, 2), params.custom_extensions.len() < 8) {
        let oid = OIDS[usize::from(head[0]) % OIDS.len()];
        let n = len(&mut data)?;
        let content = take(&mut data, n)?;
        let mut ext = CustomExtension::from_oid_content(oid, content.to_vec());
        ext.set_criticality(head[1] & 1 == 1);
        params.custom_extensions.push(ext);
    }
    params.serialize_request(signer()).ok().map(|csr| csr.der().to_vec())
}

const ALLOWED_EXTENSIONS: &[&str] = &[
    "2.5.29.14", // SKI
    "2.5.29.15", // KU
    "2.5.29.17", // SAN
    "2.5.29.19", // BC (CA:FALSE at most)
    "2.5.29.35", // AKI
    "2.5.29.37", // EKU
];

fn check_leaf(root: &RootCa, request: &CertificateRequest, csr_der: &[u8], leaf_der: &[u8]) {
    let (rest, leaf) = X509Certificate::from_der(leaf_der).expect("the leaf parses");
    assert!(rest.is_empty());
    let (_, root_cert) = X509Certificate::from_der(root.certificate_der()).expect("root parses");
    leaf.verify_signature(Some(root_cert.public_key())).expect("the leaf verifies against the root");
    for ext in leaf.extensions() {
        let oid = ext.oid.to_id_string();
        assert!(ALLOWED_EXTENSIONS.contains(&oid.as_str()), "the leaf carries extension {oid}");
    }
    if let Ok(Some(bc)) = leaf.basic_constraints() {
        assert!(!bc.value.ca, "the leaf is a CA");
    }
    if let Ok(Some(ku)) = leaf.key_usage() {
        assert!(!ku.value.key_cert_sign() && !ku.value.crl_sign(), "the leaf can sign certificates");
    }
    assert!(matches!(leaf.name_constraints(), Ok(None)), "the leaf has name constraints");
    let constraints = root.name_constraints().expect("a constrained root");
    for name in request.names() {
        assert!(constraints.permits(name), "{name} signed outside the constraints");
    }
    let sans = leaf.subject_alternative_name().expect("one SAN").expect("a SAN");
    assert_eq!(sans.value.general_names.len(), request.names().len(), "SANs are the request's names");
    if let Ok((_, csr)) = x509_parser::certification_request::X509CertificationRequest::from_der(csr_der) {
        assert_eq!(
            csr.certification_request_info.subject_pki.raw,
            leaf.public_key().raw,
            "the leaf's key is the request's"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let root = root();
    let csr = match data.split_first() {
        Some((1, rest)) => match structured(rest) {
            Some(der) => der,
            None => return,
        },
        _ => data.to_vec(),
    };
    let Ok(request) = CertificateRequest::from_bytes(&csr, Path::new("fuzz.csr")) else {
        return;
    };
    assert!(!request.names().is_empty(), "a request without names was accepted");
    for profile in [LeafProfile::default(), LeafProfile { client: true, days: 1, ..LeafProfile::default() }] {
        match root.sign_request(&request, &profile) {
            Ok(leaf) => {
                assert!(leaf.key_pkcs8_der.is_none(), "a CSR leaf came with a key");
                // The key comparison needs the DER; PEM input may hold several blocks: skipped.
                let der: &[u8] = if csr.first() == Some(&0x30) { &csr } else { &[] };
                check_leaf(root, &request, der, &leaf.cert_der);
            }
            Err(e) => {
                let _ = (e.to_string(), e.hint());
            }
        }
    }
});
