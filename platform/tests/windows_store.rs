//! The Windows `CurrentUser\Root` store for real (run under wine by `tests/wine/run`, or on
//! Windows): add our root, find it by its bytes from a fresh process, build a chain for a leaf
//! it signed and see it trusted, remove it, and see it gone from a fresh process.
//!
//! The certificates come from outside (openssl, before wine starts): `LOCALCA_TEST_ROOT_DER` and
//! `LOCALCA_TEST_LEAF_DER` name DER files. Without them the test skips with a reason.
//! Under wine, `CertVerifyCertificateChainPolicy` reports success even for an untrusted root, so
//! the checks read the chain's `TrustStatus.dwErrorStatus` instead.

#![cfg(windows)]

use std::process::Command;
use std::ptr;

use localca_platform::{RootCert, Scope, TrustStore, WindowsStore};
use windows_sys::Win32::Security::Cryptography::{
    CertCreateCertificateContext, CertFreeCertificateChain, CertFreeCertificateContext,
    CertGetCertificateChain, CERT_CHAIN_CONTEXT, CERT_CHAIN_PARA, PKCS_7_ASN_ENCODING, X509_ASN_ENCODING,
};

/// Set in a child process: which state to check (`present` or `absent`).
const CHECK_VAR: &str = "LOCALCA_WINDOWS_STORE_CHECK";

/// The test root and leaf, or `None` (skip) when the files are not given.
fn certs() -> Option<(RootCert, Vec<u8>)> {
    let root_path = std::env::var_os("LOCALCA_TEST_ROOT_DER")?;
    let leaf_path = std::env::var_os("LOCALCA_TEST_LEAF_DER")?;
    let der = std::fs::read(&root_path).unwrap_or_else(|e| panic!("{root_path:?}: {e}"));
    let leaf = std::fs::read(&leaf_path).unwrap_or_else(|e| panic!("{leaf_path:?}: {e}"));
    // The store identifies the root by its bytes; the fingerprint is not used here.
    let root = RootCert {
        der,
        sha256_hex: "0".repeat(64),
        nickname: "localca wine@test 00000000".into(),
        pem_file: None,
    };
    Some((root, leaf))
}

/// The chain engine's error status for `leaf` (0 when the chain is trusted).
fn chain_error_status(leaf: &[u8]) -> u32 {
    // SAFETY: plain crypt32 calls; every context created here is freed here.
    unsafe {
        let ctx = CertCreateCertificateContext(
            X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
            leaf.as_ptr(),
            leaf.len() as u32,
        );
        assert!(!ctx.is_null(), "CertCreateCertificateContext: {}", std::io::Error::last_os_error());
        let mut para: CERT_CHAIN_PARA = std::mem::zeroed();
        para.cbSize = std::mem::size_of::<CERT_CHAIN_PARA>() as u32;
        let mut chain: *mut CERT_CHAIN_CONTEXT = ptr::null_mut();
        let ok = CertGetCertificateChain(
            ptr::null_mut(),
            ctx,
            ptr::null(),
            ptr::null_mut(),
            &para,
            0,
            ptr::null(),
            &mut chain,
        );
        assert!(ok != 0, "CertGetCertificateChain: {}", std::io::Error::last_os_error());
        let status = (*chain).TrustStatus.dwErrorStatus;
        CertFreeCertificateChain(chain);
        CertFreeCertificateContext(ctx);
        status
    }
}

/// Runs this test binary again, in a fresh process, to check `state` there.
fn check_in_fresh_process(state: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["child_check", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHECK_VAR, state)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "fresh-process check `{state}` failed:\n{text}");
    assert!(text.contains(&format!("checked {state}")), "the child did not run the check:\n{text}");
}

/// The check a child process runs: by bytes in the store, and by building a chain for the leaf.
#[test]
fn child_check() {
    let Ok(state) = std::env::var(CHECK_VAR) else {
        return; // only meaningful as a child of the main test
    };
    let (root, leaf) = certs().expect("the parent passes the certificate files");
    let store = WindowsStore::new(Scope::User);
    let status = chain_error_status(&leaf);
    match state.as_str() {
        "present" => {
            assert!(store.is_installed(&root).unwrap(), "root not found by its bytes");
            assert!(
                store.localca_roots().unwrap().iter().any(|f| f.der == root.der),
                "not listed as localca"
            );
            assert_eq!(status, 0, "chain not trusted: dwErrorStatus {status:#x}");
        }
        "absent" => {
            assert!(!store.is_installed(&root).unwrap(), "root still found by its bytes");
            // Untrusted root, or a partial chain (the root is in no store at all).
            assert_ne!(status, 0, "chain trusted without the root");
        }
        other => panic!("unknown check {other}"),
    }
    println!("checked {state} (dwErrorStatus {status:#x})");
}

#[test]
fn user_root_store_round_trip() {
    if std::env::var_os(CHECK_VAR).is_some() {
        return;
    }
    let Some((root, leaf)) = certs() else {
        eprintln!("SKIPPED: set LOCALCA_TEST_ROOT_DER and LOCALCA_TEST_LEAF_DER (tests/wine/run does)");
        return;
    };
    let store = WindowsStore::new(Scope::User);
    assert_eq!(store.detect(), localca_platform::Detection::Present);
    // Nothing installed: uninstall succeeds, the chain is not trusted.
    store.uninstall(&root).unwrap();
    assert!(!store.is_installed(&root).unwrap());
    let before = chain_error_status(&leaf);
    assert_ne!(before, 0, "trusted before install");
    check_in_fresh_process("absent");

    store.install(&root).unwrap();
    store.install(&root).unwrap(); // idempotent
    assert!(store.is_installed(&root).unwrap());
    check_in_fresh_process("present");

    store.uninstall(&root).unwrap();
    store.uninstall(&root).unwrap(); // idempotent
    assert!(!store.is_installed(&root).unwrap());
    check_in_fresh_process("absent");

    // A delete from a process that did not add the certificate must persist too.
    store.install(&root).unwrap();
    check_in_fresh_process("present");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["child_uninstall", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHECK_VAR, "uninstall")
        .output()
        .unwrap();
    assert!(out.status.success(), "child uninstall failed: {}", String::from_utf8_lossy(&out.stderr));
    check_in_fresh_process("absent");
    println!("windows store round trip: checked");
}

/// Removes the root in a child process (see the end of the main test).
#[test]
fn child_uninstall() {
    if std::env::var(CHECK_VAR).as_deref() != Ok("uninstall") {
        return;
    }
    let (root, _) = certs().expect("the parent passes the certificate files");
    WindowsStore::new(Scope::User).uninstall(&root).unwrap();
    println!("checked uninstall");
}
