//! Running a shell scenario in `tests/sandbox` (a private mount namespace with temporary copies
//! of the trust stores) with the real `localca` binary, and proving the real stores outside did
//! not change.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub fn is_root() -> bool {
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

pub fn in_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// Contents of the real (outside-the-sandbox) trust stores, to prove the test
/// left them alone: (path, symlink target or file bytes).
pub fn real_stores() -> Vec<(PathBuf, Vec<u8>)> {
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
pub fn run_sandboxed(test: &str, script: &str, configure: impl FnOnce(&mut Command)) {
    if std::env::var("LOCALCA_SKIP_TRUST_TEST").as_deref() == Ok("1") {
        return super::skip(test, "LOCALCA_SKIP_TRUST_TEST=1", false);
    }
    if !is_root() {
        return super::skip(
            test,
            "not root: the sandbox needs mount namespaces (run the tests as root)",
            false,
        );
    }
    if !in_path("unshare") {
        return super::skip(test, "`unshare` not found (util-linux)", true);
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
    println!("{test}: {script} took {secs}s, {}", out.status);

    if out.status.code() == Some(77) {
        let reason = stderr.lines().last().unwrap_or("sandbox refused").to_string();
        return super::skip(test, &reason, false);
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

/// [`run_sandboxed`] for scenarios that use the npm/PyPI test tools (`$LOCALCA_TOOLS_DIR`, shared
/// between runs under target/) and a private `$TMPDIR` under target/.
pub fn run_with_tools(test: &str, script: &str) {
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let tmp = tempfile::Builder::new().prefix("localca-sandboxed").tempdir_in(target_tmp).unwrap();
    run_sandboxed(test, script, |c| {
        c.env("LOCALCA_TOOLS_DIR", target_tmp.join("test-tools")).env("TMPDIR", tmp.path());
    });
}
