//! Helpers shared by the integration tests: real test roots made with openssl.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

use localca_platform::RootCert;

/// A test root: its files and the `RootCert` the stores are given.
pub struct TestRoot {
    pub root: RootCert,
    pub pem_path: PathBuf,
}

/// Runs a command, panicking with its stderr if it fails; returns stdout.
pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Makes a fresh P-256 CA certificate with `cn` in `dir`, with its fingerprint from openssl.
pub fn make_root(dir: &Path, cn: &str) -> TestRoot {
    let stem = cn.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let pem_path = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}.key"));
    let der_path = dir.join(format!("{stem}.der"));
    let subj = format!("/CN={cn}");
    sh(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &subj,
            "-days",
            "1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            pem_path.to_str().unwrap(),
        ],
    );
    sh(
        "openssl",
        &["x509", "-in", pem_path.to_str().unwrap(), "-outform", "DER", "-out", der_path.to_str().unwrap()],
    );
    let fp = sh("openssl", &["x509", "-noout", "-fingerprint", "-sha256", "-in", pem_path.to_str().unwrap()]);
    let hex: String = fp
        .split('=')
        .nth(1)
        .unwrap()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    assert_eq!(hex.len(), 64);
    let root = RootCert {
        der: std::fs::read(&der_path).unwrap(),
        nickname: format!("localca test@host {}", &hex[..8]),
        sha256_hex: hex,
        pem_file: None,
    };
    TestRoot { root, pem_path }
}

/// Whether the tests run as root (uid 0).
pub fn running_as_root() -> bool {
    sh("id", &["-u"]).trim() == "0"
}

/// Whether `tool` is on PATH; prints why a test is skipped when not.
pub fn have(tool: &str) -> bool {
    let ok = which::which(tool).is_ok();
    if !ok {
        // libtest runs each test on a thread named after it. tests/run installs every tool asked for.
        let test = std::thread::current().name().unwrap_or("a localca-platform test").to_string();
        skip(&test, &format!("{tool} not found on PATH"), true);
    }
    ok
}

// `skip(test, reason, fixable)`: the same as the main crate's tests use.
include!("../../../tests/lib/skip.rs");
