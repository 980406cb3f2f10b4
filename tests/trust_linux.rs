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

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Prints the skip and records it for tests/run's summary (tests/common::skip).
fn skip(reason: &str) {
    println!("trust_linux: SKIPPED: {reason}");
    common::skip("trust_linux", reason, false);
}

fn is_root() -> bool {
    // Only std: read the effective uid from /proc.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn in_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// Contents of the real (outside-the-sandbox) trust stores, to prove the test
/// left them alone: (path, symlink target or file bytes).
fn real_stores() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |p: &Path| {
        let v = match fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::read_link(p).map(|t| t.into_os_string().into_encoded_bytes()).unwrap_or_default()
            }
            Ok(m) if m.is_file() => fs::read(p).unwrap_or_default(),
            Ok(_) => b"<other>".to_vec(),
            Err(_) => b"<absent>".to_vec(),
        };
        out.push((p.to_path_buf(), v));
    };
    for f in
        ["/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/java/cacerts", "/etc/ca-certificates.conf"]
    {
        add(Path::new(f));
    }
    for dir in ["/usr/local/share/ca-certificates", "/etc/ssl/certs"] {
        if let Ok(rd) = fs::read_dir(dir) {
            let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for e in entries {
                if e.is_dir() && !e.is_symlink() {
                    continue;
                }
                add(&e);
            }
        }
    }
    out
}

/// Runs `script` in tests/sandbox with the localca binary as `$LOCALCA_BIN`, prints its output,
/// and asserts that it succeeded and that the real stores outside did not change. Skips (passing,
/// with a printed reason) where the sandbox cannot run.
fn run_sandboxed(script: &str, configure: impl FnOnce(&mut Command)) {
    if std::env::var("LOCALCA_SKIP_TRUST_TEST").as_deref() == Ok("1") {
        return skip("LOCALCA_SKIP_TRUST_TEST=1");
    }
    if !is_root() {
        return skip(
            "not root: the sandbox needs mount namespaces (run `sudo -E cargo test --test trust_linux`)",
        );
    }
    if !in_path("unshare") {
        return skip("`unshare` not found (util-linux)");
    }

    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(repo.join("tests/sandbox"));
    command
        .arg(repo.join(script))
        .current_dir(repo)
        .env("LOCALCA_BIN", env!("CARGO_BIN_EXE_localca"))
        .env_remove("LOCALCA_HOME")
        .env_remove("CAROOT");
    configure(&mut command);

    let before = real_stores();
    let started = Instant::now();
    let out = command.output().expect("failed to run tests/sandbox");
    let secs = started.elapsed().as_secs();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    if !stderr.trim().is_empty() {
        println!("--- stderr ---\n{stderr}");
    }
    println!("trust_linux: {script} took {secs}s, {}", out.status);

    if out.status.code() == Some(77) {
        let reason = stderr.lines().last().unwrap_or("sandbox refused").to_string();
        return skip(&reason);
    }

    let after = real_stores();
    let changed: Vec<String> = before
        .iter()
        .zip(after.iter())
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.display().to_string())
        .collect();
    assert!(
        before.len() == after.len() && changed.is_empty(),
        "the REAL trust stores changed during the sandboxed test: {changed:?} (entries {} -> {})",
        before.len(),
        after.len()
    );
    assert!(out.status.success(), "{script} failed ({}); see the output above", out.status);
}

#[test]
fn trust_stores_install_uninstall_end_to_end() {
    let known = std::env::var("LOCALCA_TRUST_KNOWN_FAILURES").unwrap_or_default();
    run_sandboxed("tests/clients/scenario", |command| {
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
    run_sandboxed("tests/stores/degraded", |_| {});
}

/// A corporate root filed as `localca.crt` and under a Java alias `localca-corp` is not ours:
/// `status` does not list it, `uninstall --fingerprint` refuses it. See tests/stores/foreign-roots.
#[test]
fn trust_stores_foreign_roots_are_never_ours() {
    run_sandboxed("tests/stores/foreign-roots", |_| {});
}

/// Installs at the same moment take turns: the system bundle gains exactly one copy of each root.
/// See tests/stores/concurrent-installs.
#[test]
fn trust_stores_concurrent_installs_take_turns() {
    run_sandboxed("tests/stores/concurrent-installs", |_| {});
}

/// Without root: no tool from the user's PATH runs as root, and the printed commands copy the CA
/// home's root.pem with system tools. See tests/stores/sudo-path.
#[test]
fn trust_stores_advice_uses_system_tools_and_a_stable_file() {
    run_sandboxed("tests/stores/sudo-path", |_| {});
}
