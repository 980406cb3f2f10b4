//! End-to-end trust-store tests on Linux.
//!
//! Runs `tests/sandbox tests/clients/scenario` with the real `localca` binary:
//! inside a private mount namespace (temporary copies of /etc/ssl,
//! /usr/local/share/ca-certificates, ... and a fresh HOME) it issues a leaf,
//! checks that curl, openssl, python, node, Java, Chromium and Firefox reject it,
//! runs `localca install`, checks they all accept it, that a second install
//! changes nothing, runs `localca uninstall`, checks they all reject it again and
//! that every other entry of every store is as before.
//!
//! Passes with a printed reason (skipped) when not root, when `unshare` is
//! missing or namespaces are not allowed, or when `LOCALCA_SKIP_TRUST_TEST=1`.
//! Clients that are not installed are skipped by the scenario itself.
//! `LOCALCA_TRUST_KNOWN_FAILURES` (space-separated check ids) is passed to the
//! scenario as `KNOWN_FAILURES`; it is empty by default.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;

use common::sandbox::run_sandboxed;

#[test]
fn trust_stores_install_uninstall_end_to_end() {
    let known = std::env::var("LOCALCA_TRUST_KNOWN_FAILURES").unwrap_or_default();
    run_sandboxed("trust_stores_install_uninstall_end_to_end", "tests/clients/scenario", |command| {
        command
            .env("TOOL_NAME", "localca")
            .env("TOOL_INSTALL", r#""$LOCALCA_BIN" install"#)
            .env("TOOL_UNINSTALL", r#""$LOCALCA_BIN" uninstall"#)
            .env("TOOL_CERT", r#""$LOCALCA_BIN" cert --cert-file "$1" --key-file "$2" "${@:3}""#)
            .env("TOOL_EXPORT", r#""$LOCALCA_BIN" ca export --out "$1""#)
            .env("TOOL_STATUS", r#""$LOCALCA_BIN" status"#)
            .env("PREPARE_PKI_NSSDB", "0")
            // examples/tls_probe (the rustls-platform-verifier client), built beside the binary
            .env(
                "PROBE_RUST_CLIENT",
                Path::new(env!("CARGO_BIN_EXE_localca")).with_file_name("examples").join("tls_probe"),
            )
            .env("KNOWN_FAILURES", known);
    });
}

/// Missing certutil or keytool, no root and no sudo, an earlier root left installed,
/// `uninstall --delete-ca`: see tests/stores/degraded.
#[test]
fn trust_stores_degrade_one_at_a_time() {
    run_sandboxed("trust_stores_degrade_one_at_a_time", "tests/stores/degraded", |_| {});
}

/// A corporate root filed as `localca.crt` and under a Java alias `localca-corp` is not ours:
/// `status` does not list it, `uninstall --fingerprint` refuses it. See tests/stores/foreign-roots.
#[test]
fn trust_stores_foreign_roots_are_never_ours() {
    run_sandboxed("trust_stores_foreign_roots_are_never_ours", "tests/stores/foreign-roots", |_| {});
}

/// Installs at the same moment take turns: the system bundle gains exactly one copy of each root.
/// See tests/stores/concurrent-installs.
#[test]
fn trust_stores_concurrent_installs_take_turns() {
    run_sandboxed("trust_stores_concurrent_installs_take_turns", "tests/stores/concurrent-installs", |_| {});
}

/// Without root: no tool from the user's PATH runs as root, and the printed commands copy the CA
/// home's root.pem with system tools. See tests/stores/sudo-path.
#[test]
fn trust_stores_advice_uses_system_tools_and_a_stable_file() {
    run_sandboxed(
        "trust_stores_advice_uses_system_tools_and_a_stable_file",
        "tests/stores/sudo-path",
        |_| {},
    );
}
