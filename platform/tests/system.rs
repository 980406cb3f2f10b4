//! The system store for real: runs `update-ca-certificates` inside a private mount namespace
//! where `/etc/ssl`, `/usr/local/share/ca-certificates` and `/etc/ca-certificates*` are
//! temporary copies. The machine's real trust store is never touched.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{have, make_root, running_as_root};
use localca_platform::java::Keystore;
use localca_platform::pem::pem_certificates;
use localca_platform::runner::find_tool;
use localca_platform::{Detection, JavaStore, SystemStore, TrustStore};

const IN_NS: &str = "LOCALCA_TEST_IN_PRIVATE_NS";
const MARKER: &str = ".localca-test-namespace-marker";
const TEST: &str = "system_store_in_private_namespace";

/// Folders (and files) replaced by temporary copies inside the namespace.
const ISOLATED: &[&str] = &[
    "/etc/ssl",
    "/usr/local/share/ca-certificates",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    // Debian's Java hook queues work here; keep it out of the real one.
    "/var/lib/ca-certificates-java",
];

#[test]
fn system_store_in_private_namespace() {
    if std::env::var_os(IN_NS).is_some() {
        inside_namespace();
        return;
    }
    if !running_as_root() {
        eprintln!("SKIPPED {TEST}: needs root (mount namespaces)");
        return;
    }
    if !have("unshare") || !have("openssl") {
        return;
    }
    if find_tool("update-ca-certificates").is_none() {
        eprintln!("SKIPPED {TEST}: update-ca-certificates not found (not a Debian-family system)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut script = String::from("set -e\n");
    let mut args: Vec<PathBuf> = Vec::new();
    for (i, path) in ISOLATED.iter().enumerate() {
        let path = Path::new(path);
        if !path.exists() {
            continue;
        }
        let copy = tmp.path().join(format!("copy{i}"));
        let ok = Command::new("cp").arg("-a").arg(path).arg(&copy).status().unwrap();
        assert!(ok.success(), "copying {}", path.display());
        args.push(copy);
        args.push(path.to_path_buf());
        let n = args.len();
        script.push_str(&format!("mount --bind \"${{{}}}\" \"${{{}}}\"\n", n - 1, n));
    }
    std::fs::write(tmp.path().join("copy0").join(MARKER), b"").unwrap();
    script.push_str(&format!("exec \"$0\" --exact {TEST} --nocapture --test-threads=1\n"));
    let probe = Command::new("unshare").args(["-m", "--propagation", "private", "true"]).status();
    if !matches!(probe, Ok(s) if s.success()) {
        eprintln!("SKIPPED {TEST}: unshare -m does not work here");
        return;
    }
    let status = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(std::env::current_exe().unwrap())
        .args(&args)
        .env(IN_NS, "1")
        .status()
        .unwrap();
    assert!(status.success(), "the test inside the namespace failed");
}

fn bundle_has(der: &[u8]) -> bool {
    let text = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap();
    pem_certificates(&text).iter().any(|c| c == der)
}

fn anchors() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir("/usr/local/share/ca-certificates")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

fn inside_namespace() {
    // Refuse to run against the real system store.
    assert!(
        Path::new("/etc/ssl").join(MARKER).exists(),
        "not inside the private namespace: refusing to touch /etc/ssl"
    );
    let tmp = tempfile::tempdir().unwrap();
    let ours = make_root(tmp.path(), "localca-test");
    let store = SystemStore::detect_here(true);
    assert_eq!(store.detect(), Detection::Present);
    assert!(store.location().starts_with("/usr/local/share/ca-certificates"));
    let others = anchors();

    assert!(!bundle_has(&ours.root.der));
    assert!(!store.is_installed(&ours.root).unwrap());
    store.install(&ours.root).unwrap();
    assert!(bundle_has(&ours.root.der), "bundle lacks the root after install");
    assert!(store.is_installed(&ours.root).unwrap());
    store.install(&ours.root).unwrap();

    let file = store.anchor_path(&ours.root).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(name, format!("localca-test_host-{}.crt", &ours.root.sha256_hex[..8]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    let roots = store.localca_roots().unwrap();
    assert!(roots.iter().any(|r| r.label == name && r.der == ours.root.der));

    // Debian's hook added the root to Java's keystore (in our copy of /etc/ssl).
    let java_ks = Path::new("/etc/ssl/certs/java/cacerts");
    let java = (java_ks.exists() && find_tool("keytool").is_some()).then(|| {
        JavaStore::new(Keystore { path: java_ks.to_path_buf(), keytool: find_tool("keytool") }, true)
    });
    if let Some(java) = &java {
        let labels: Vec<String> = java.localca_roots().unwrap().into_iter().map(|r| r.label).collect();
        eprintln!("java aliases after system install: {labels:?}");
        assert!(java.is_installed(&ours.root).unwrap());
    }

    store.uninstall(&ours.root).unwrap();
    assert!(!bundle_has(&ours.root.der), "bundle still has the root after uninstall");
    assert!(!store.is_installed(&ours.root).unwrap());
    assert!(!file.exists());
    assert_eq!(anchors(), others, "other anchors changed");
    store.uninstall(&ours.root).unwrap();

    if let Some(java) = &java {
        let stale = java.is_installed(&ours.root).unwrap();
        eprintln!("java still trusts the root after the system uninstall: {stale}");
        java.uninstall(&ours.root).unwrap();
        assert!(!java.is_installed(&ours.root).unwrap());
    } else {
        eprintln!("no Java keystore in the namespace: Java part not checked");
    }
}
