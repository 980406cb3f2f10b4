//! `localca proxy` and `localca hosts` end to end: tests/proxy/scenario inside tests/sandbox
//! (root, private copies of the trust stores and of /etc/hosts), with curl (HTTP/1.1 and
//! HTTP/2), Python, Node and Java through the proxy: rejected before the root is installed,
//! accepted after. Also forwarded headers, 421/502/504/400, redirects, server-sent events, a
//! WebSocket upgrade, config reload, a big upload and download under 64 MiB of RSS, drain on
//! SIGTERM, and `hosts` leaving /etc/hosts byte-identical. Skips visibly where the sandbox
//! cannot run. `LOCALCA_PROXY_BIG_MB` sets the upload/download size (default 2048).
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn proxy_with_real_clients_in_the_sandbox() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unshare_works = Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success());
    if !unshare_works {
        return common::skip(
            "proxy_with_real_clients",
            "needs root and mount namespaces (tests/sandbox)",
            false,
        );
    }
    let big = std::env::var("LOCALCA_PROXY_BIG_MB").unwrap_or_else(|_| "2048".into());
    let out = Command::new(repo.join("tests/sandbox"))
        .arg(repo.join("tests/proxy/scenario"))
        .current_dir(repo)
        .env("LOCALCA_BIN", env!("CARGO_BIN_EXE_localca"))
        .env("BIG_MB", big)
        .env_remove("LOCALCA_HOME")
        .output()
        .expect("run tests/sandbox");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n--- stderr ---\n{stderr}");
    if out.status.code() == Some(77) {
        let reason = stderr.lines().last().unwrap_or("sandbox refused").to_string();
        return common::skip("proxy_with_real_clients", &reason, false);
    }
    assert!(
        out.status.success(),
        "tests/proxy/scenario failed: {}",
        stdout.lines().filter(|l| l.starts_with("FAIL")).collect::<Vec<_>>().join("; ")
    );
}
