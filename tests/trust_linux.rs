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
            .env("KNOWN_FAILURES", known);
    });
}

/// Missing certutil or keytool, no root and no sudo, an earlier root left installed,
/// `uninstall --delete-ca`: see tests/stores/degraded.
#[test]
fn trust_stores_degrade_one_at_a_time() {
    run_sandboxed("trust_stores_degrade_one_at_a_time", "tests/stores/degraded", |_| {});
}
