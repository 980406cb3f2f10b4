//! The system store for real: runs `update-ca-certificates` inside `tests/sandbox` (a private
//! mount namespace where `/etc/ssl`, `/usr/local/share/ca-certificates`, `/etc/ca-certificates*`,
//! `/var` — dpkg's state, the Java hook's pending list, the logs — and `/tmp` are temporary
//! copies). The machine's real trust stores and package state are never touched.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{make_root, running_as_root, skip};
use localca_platform::java::Keystore;
use localca_platform::pem::pem_certificates;
use localca_platform::runner::find_tool;
use localca_platform::{Detection, JavaStore, RootCert, SystemStore, TrustStore};

const IN_SANDBOX: &str = "LOCALCA_TEST_IN_SANDBOX";
const TEST: &str = "system_store_in_private_namespace";
/// Debian's Java hook queues its work here, then asks dpkg to run ca-certificates-java's trigger.
const JAVA_PENDING: &str = "/var/lib/ca-certificates-java/pending";
/// What that trigger runs on the queued lines.
const JAVA_UPDATER: &str = "/usr/share/ca-certificates-java/ca-certificates-java.jar";

#[test]
fn system_store_in_private_namespace() {
    if std::env::var_os(IN_SANDBOX).is_some() {
        inside_sandbox();
        return;
    }
    if !running_as_root() {
        return skip(TEST, "needs root (mount namespaces)", false);
    }
    if find_tool("update-ca-certificates").is_none() {
        return skip(TEST, "update-ca-certificates not found (not a Debian-family system)", false);
    }
    let sandbox = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sandbox");
    let out = Command::new(sandbox)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(IN_SANDBOX, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    if out.status.code() == Some(77) {
        return skip(TEST, stderr.lines().last().unwrap_or("tests/sandbox refused"), false);
    }
    assert!(out.status.success(), "the test inside tests/sandbox failed ({})", out.status);
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

fn inside_sandbox() {
    // Refuse to run against the real system store.
    let root = std::env::var_os("SANDBOX_ROOT").map(PathBuf::from);
    assert!(
        std::env::var("LOCALCA_SANDBOX").as_deref() == Ok("1")
            && root.is_some_and(|r| same_file(Path::new("/etc/ssl"), &r.join("copy/etc/ssl"))),
        "not inside tests/sandbox: refusing to touch /etc/ssl"
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

    // Debian's hook feeds Java's keystore (our copy of /etc/ssl) through dpkg (our copy of /var).
    let java_ks = Path::new("/etc/ssl/certs/java/cacerts");
    let java = (java_ks.exists() && find_tool("keytool").is_some()).then(|| {
        JavaStore::new(Keystore { path: java_ks.to_path_buf(), keytool: find_tool("keytool") }, true)
    });
    if let Some(java) = &java {
        if !java.is_installed(&ours.root).unwrap() {
            run_pending_java_update(&ours.root);
        }
        let labels: Vec<String> = java.localca_roots().unwrap().into_iter().map(|r| r.label).collect();
        eprintln!("java aliases after system install: {labels:?}");
        assert!(java.is_installed(&ours.root).unwrap(), "Debian's Java hook did not add the root");
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

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The root is not in Java's keystore after the system install. That is fine only when Debian's
/// hook queued it (it ran, here in the sandbox) and dpkg did not run ca-certificates-java's trigger:
/// dpkg does not run triggers of a package it finds half-configured, which the package state copied
/// from the machine may say. Then run what the trigger runs, on the queue, here in the sandbox.
fn run_pending_java_update(root: &RootCert) {
    let queued = std::fs::read_to_string(JAVA_PENDING).unwrap_or_default();
    let ours = format!("{}.pem", &root.sha256_hex[..8]);
    assert!(
        queued.lines().any(|l| l.starts_with('+') && l.ends_with(&ours)),
        "the root is not in Java's keystore and Debian's hook did not queue it in {JAVA_PENDING}: {queued:?}"
    );
    eprintln!("note: dpkg did not run ca-certificates-java's trigger (its state copied from the machine); running the queue here");
    let java = find_tool("java").expect("java for ca-certificates-java's updater");
    let status = Command::new(java)
        .args(["-Xmx64m", "-jar", JAVA_UPDATER, "-storepass", "changeit"])
        .stdin(std::fs::File::open(JAVA_PENDING).unwrap())
        .status()
        .unwrap();
    assert!(status.success(), "{JAVA_UPDATER} failed");
    std::fs::remove_file(JAVA_PENDING).unwrap();
}
