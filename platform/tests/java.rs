//! The Java store against real keytool keystores: a fresh PKCS12 one and a copy of Debian's JKS
//! `cacerts`. Other entries must come out byte-identical.

mod common;

use std::path::Path;

use common::{have, make_root, sh, skip};
use localca_platform::java::{parse_list_rfc, Keystore, KeystoreEntry};
use localca_platform::runner::find_tool;
use localca_platform::{Detection, JavaStore, TrustStore};

fn keytool(ks: &Path, args: &[&str]) -> String {
    // -UsePerfData: no /tmp/hsperfdata_root left by the test's own JVMs.
    let mut all = vec!["-J-XX:-UsePerfData", "-storepass", "changeit", "-keystore", ks.to_str().unwrap()];
    all.extend_from_slice(args);
    sh("keytool", &all)
}

fn entries(ks: &Path) -> Vec<KeystoreEntry> {
    parse_list_rfc(&keytool(ks, &["-list", "-rfc"]))
}

fn store(ks: &Path) -> JavaStore {
    JavaStore::new(Keystore { path: ks.to_path_buf(), keytool: find_tool("keytool") }, true)
}

/// Installs, checks and removes a root in `ks`; everything else must be unchanged.
fn round_trip(ks: &Path, tmp: &Path) {
    let before = entries(ks);
    assert!(!before.is_empty());
    let ours = make_root(tmp, "localca-test");
    let s = store(ks);
    assert_eq!(s.detect(), Detection::Present);
    assert!(!s.is_installed(&ours.root).unwrap());
    s.install(&ours.root).unwrap();
    assert!(s.is_installed(&ours.root).unwrap());
    s.install(&ours.root).unwrap();
    let roots = s.localca_roots().unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].label, ours.root.nickname);
    assert_eq!(roots[0].der, ours.root.der);

    // A second alias for the same root, as Debian's hook adds: uninstall removes both.
    keytool(
        ks,
        &[
            "-importcert",
            "-noprompt",
            "-alias",
            "debian:localca-test.pem",
            "-file",
            ours.pem_path.to_str().unwrap(),
        ],
    );
    assert_eq!(s.localca_roots().unwrap().len(), 2);
    s.uninstall(&ours.root).unwrap();
    assert!(!s.is_installed(&ours.root).unwrap());
    s.uninstall(&ours.root).unwrap();
    assert_eq!(entries(ks), before);
}

#[test]
fn fresh_pkcs12_keystore() {
    if !have("keytool") || !have("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("with space");
    std::fs::create_dir(&dir).unwrap();
    let ks = dir.join("cacerts");
    let other = make_root(tmp.path(), "Other Test CA");
    keytool(&ks, &["-importcert", "-noprompt", "-alias", "other", "-file", other.pem_path.to_str().unwrap()]);
    round_trip(&ks, tmp.path());
}

#[test]
fn copy_of_debian_cacerts() {
    let system = Path::new("/etc/ssl/certs/java/cacerts");
    if !system.exists() {
        return skip(
            "copy_of_debian_cacerts",
            &format!("no {} (package ca-certificates-java)", system.display()),
            true,
        );
    }
    if !have("keytool") || !have("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ks = tmp.path().join("cacerts");
    std::fs::copy(system, &ks).unwrap();
    round_trip(&ks, tmp.path());
}

#[test]
fn discovery_dedupes_symlinked_keystores() {
    let found = localca_platform::java::discover(None);
    let mut paths: Vec<_> = found.iter().map(|k| k.path.clone()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), found.len());
    for k in &found {
        assert_eq!(k.path, k.path.canonicalize().unwrap());
    }
    eprintln!("keystores here: {found:?}");
}

#[test]
fn broken_jdk_is_absent_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let s =
        JavaStore::new(Keystore { path: tmp.path().join("missing"), keytool: find_tool("keytool") }, true);
    assert!(matches!(s.detect(), Detection::Absent { .. }));
    let s = JavaStore::new(Keystore { path: tmp.path().join("missing"), keytool: None }, true);
    assert!(matches!(s.detect(), Detection::Absent { .. }));
    assert!(s.localca_roots().is_err());
}
