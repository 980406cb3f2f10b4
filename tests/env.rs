//! `localca env` with each variable's real client (node, Python requests, httpx, pip, Deno from
//! npm), in the tests/sandbox harness: refused before `eval "$(localca env)"`, accepted after,
//! refused after `localca uninstall` in the same environment. See tests/env/scenario.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::Command;

/// Runs `script` in tests/sandbox with the localca binary and the test-tools folder; prints its
/// output; skips visibly where the sandbox cannot run.
pub fn run_in_sandbox(test: &str, script: &str) {
    let uid = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let is_root =
        uid.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2)) == Some("0");
    if !is_root {
        return common::skip(test, "not root: the sandbox needs mount namespaces", false);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::Builder::new().prefix("localca-env").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = Command::new(repo.join("tests/sandbox"))
        .arg(repo.join(script))
        .current_dir(repo)
        .env("LOCALCA_BIN", env!("CARGO_BIN_EXE_localca"))
        .env("LOCALCA_TOOLS_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-tools"))
        .env("TMPDIR", tmp.path())
        .env_remove("LOCALCA_HOME")
        .output()
        .expect("run tests/sandbox");
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{}\n--- stderr ---\n{stderr}", String::from_utf8_lossy(&out.stdout));
    if out.status.code() == Some(77) {
        return common::skip(test, stderr.lines().last().unwrap_or("the sandbox refused"), false);
    }
    assert!(out.status.success(), "{script} failed ({}); see the output above", out.status);
}

#[test]
fn each_env_variable_works_with_its_client_until_uninstall() {
    run_in_sandbox("env::each_env_variable_works_with_its_client_until_uninstall", "tests/env/scenario");
}
