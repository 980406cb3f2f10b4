//! Rotation and team roots with real stores and clients (tests/rotate/scenario in tests/sandbox),
//! and adopting a CA made by Debian's `mkcert`.

mod common;

use std::fs;
use std::process::Command;

use common::Env;

/// See tests/rotate/scenario: an interrupted rotation that leaves the old root working, the
/// re-run that finishes it (only the new root in every store, every client accepting the
/// re-issued leaf and refusing the old one), and a team root made by openssl installed and
/// removed trust-only.
#[cfg(target_os = "linux")]
#[test]
fn rotation_and_team_roots_in_the_sandbox() {
    common::sandbox::run_sandboxed("rotation_and_team_roots_in_the_sandbox", "tests/rotate/scenario", |_| {});
}

#[test]
fn mkcert_import_issues_leaves_that_verify_against_mkcerts_root() {
    let test = "mkcert_import_issues_leaves_that_verify_against_mkcerts_root";
    if !common::sandbox::in_path("mkcert") {
        return common::skip(test, "mkcert is not installed (apt-get install mkcert)", true);
    }
    let env = Env::new();
    let caroot = env.tmp.path().join("mkcert");
    // mkcert makes its CA on first use; TRUST_STORES=none keeps it away from every store.
    let out = Command::new("mkcert")
        .env("CAROOT", &caroot)
        .env("TRUST_STORES", "none")
        .current_dir(&env.cwd)
        .args(["-cert-file", "m.pem", "-key-file", "m-key.pem", "made-by-mkcert.test"])
        .output()
        .unwrap();
    assert!(out.status.success(), "mkcert: {}", String::from_utf8_lossy(&out.stderr));
    let mkcert_root = caroot.join("rootCA.pem");

    // Nothing to import from an empty folder: one error line, no CA made.
    let empty = env.tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let run = env.fail(&["ca", "import", "--mkcert", empty.to_str().unwrap()]);
    assert!(run.stderr.contains("rootCA.pem"), "{}", run.stderr);
    assert!(!env.root_pem_path().exists());

    // The default location is $CAROOT, as `mkcert -CAROOT` says.
    let mut cmd = env.command(&["ca", "import", "--mkcert"]);
    cmd.env("CAROOT", &caroot);
    let run = common::run_command(cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("no name constraints") && run.stderr.contains("localca ca rotate"),
        "{}",
        run.stderr
    );
    assert_eq!(env.root_der(), common::cert_der_from_file(&mkcert_root), "the same root, byte for byte");
    assert_eq!(common::mode(&env.root_key_path()), 0o600);

    // Leaves issued now verify against mkcert's root (any name: mkcert's root is unconstrained).
    env.ok(&["cert", "--cert-file", "l.pem", "--key-file", "l-key.pem", "myapp.test", "api.example.com"]);
    common::assert_openssl_verifies(&mkcert_root, &env.file("l.pem"));
    let (accepted, _) = common::openssl_verify(&env.file("m.pem"), &env.file("l.pem"));
    assert!(!accepted, "a leaf is not a root: sanity check of the verifier");

    // A second import refuses: the CA is never replaced.
    let run = env.fail(&["ca", "import", "--mkcert", caroot.to_str().unwrap()]);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
}
