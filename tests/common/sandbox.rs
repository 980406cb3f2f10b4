//! Running a script inside tests/sandbox from a Rust test (included with `#[path]` by the test
//! files that need it, so tests/common/mod.rs stays as it is).

use std::path::Path;
use std::process::Command;

/// Runs `script` in tests/sandbox with the localca binary (`$LOCALCA_BIN`), the test-tools folder
/// (`$LOCALCA_TOOLS_DIR`) and a private `$TMPDIR`; prints its output; asserts success. Skips
/// visibly (`common::skip`) where the sandbox cannot run.
pub fn run_in_sandbox(test: &str, script: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2));
    if uid != Some("0") {
        return super::common::skip(test, "not root: the sandbox needs mount namespaces", false);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp =
        tempfile::Builder::new().prefix("localca-sandboxed").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
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
        return super::common::skip(test, stderr.lines().last().unwrap_or("the sandbox refused"), false);
    }
    assert!(out.status.success(), "{script} failed ({}); see the output above", out.status);
}
