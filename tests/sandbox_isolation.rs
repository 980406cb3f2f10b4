//! tests/sandbox keeps the machine as it was: a real `localca install` and `uninstall` of the system
//! and Java stores inside it (which runs `update-ca-certificates`, Debian's Java hook and the
//! `dpkg --triggers-only` that hook starts) leaves the host's dpkg state, the Java hook's pending
//! list, the logs, `/etc/hosts`, the trust stores and `/tmp` byte-identical. Inside, the same run
//! must have happened for real: the hook's work shows in the sandbox's own dpkg log.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{sha256_hex, skip, BIN};

const TEST: &str = "sandboxed_install_leaves_the_host_byte_identical";

/// Host files whose bytes must not change (a missing one is recorded as missing).
const FILES: &[&str] = &[
    "/var/lib/dpkg/status",
    "/var/log/dpkg.log",
    "/var/log/alternatives.log",
    "/etc/hosts",
    "/etc/ca-certificates.conf",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/certs/java/cacerts",
];

/// Host folders whose entries (names and file bytes, one level) must not change.
const DIRS: &[&str] = &[
    "/var/lib/ca-certificates-java",
    "/var/lib/dpkg/triggers",
    "/var/lib/dpkg/updates",
    "/usr/local/share/ca-certificates",
    "/etc/ssl/certs",
    "/run/lock",
];

/// What the sandboxed run does: a real install and uninstall, plus writes to the places that
/// must be private (/tmp, /var/tmp, /run/lock, /etc/hosts). Checks inside that the hook ran here.
const SCRIPT: &str = r#"
set -eu
[ /tmp -ef "$SANDBOX_ROOT/tmp" ] || { echo "/tmp is not the sandbox's own" >&2; exit 1; }
probe=localca-isolation-probe.$$
log_before=$(wc -l < /var/log/dpkg.log 2>/dev/null || echo 0)
"$BIN" install --stores system,java
"$BIN" status --stores system,java
"$BIN" uninstall --stores system,java
: > "/tmp/$probe"; : > "/var/tmp/$probe"; : > "/run/lock/$probe"
echo "127.0.0.1 $probe.test" >> /etc/hosts
mkdir -p /var/lib/ca-certificates-java && echo "+/nonexistent/$probe.pem" >> /var/lib/ca-certificates-java/pending
if [ -x /etc/ca-certificates/update.d/jks-keystore ] && command -v dpkg >/dev/null; then
    log_after=$(wc -l < /var/log/dpkg.log)
    [ "$log_after" -gt "$log_before" ] || { echo "the Java hook did not run dpkg inside the sandbox" >&2; exit 1; }
    echo "dpkg log inside the sandbox: $log_before -> $log_after lines"
    tail -n +"$((log_before + 1))" /var/log/dpkg.log | sed 's/^/dpkg: /'
fi
echo "$probe"
"#;

/// Contents of everything the sandbox must leave alone.
fn snapshot() -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let digest = |p: &Path| match fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => format!("-> {:?}", fs::read_link(p).ok()),
        Ok(m) if m.is_file() => {
            fs::read(p).map(|b| sha256_hex(&b)).unwrap_or_else(|e| format!("unreadable: {e}"))
        }
        Ok(_) => "<dir>".to_string(),
        Err(_) => "<absent>".to_string(),
    };
    for f in FILES {
        out.insert(PathBuf::from(f), digest(Path::new(f)));
    }
    for d in DIRS {
        out.insert(PathBuf::from(d), digest(Path::new(d)));
        for entry in fs::read_dir(d).into_iter().flatten().flatten() {
            out.insert(entry.path(), digest(&entry.path()));
        }
    }
    out
}

/// The changes between two snapshots, or only those touching our packages' state when other
/// processes on the machine changed dpkg at the same time (apt of a shared machine).
fn changes(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("{} ({:?} -> {:?})", k.display(), before.get(k), after.get(k)))
        .collect()
}

/// Lines added to the host's dpkg log since it was `before_len` bytes long.
fn new_host_dpkg_log_lines(before_len: u64) -> Vec<String> {
    let text = fs::read("/var/log/dpkg.log").unwrap_or_default();
    let start = usize::try_from(before_len).unwrap_or(0).min(text.len());
    String::from_utf8_lossy(&text[start..]).lines().map(str::to_string).collect()
}

#[test]
fn sandboxed_install_leaves_the_host_byte_identical() {
    if !fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0")))
    {
        return skip(TEST, "not root: the sandbox needs mount namespaces", false);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let before = snapshot();
    let log_len = fs::metadata("/var/log/dpkg.log").map(|m| m.len()).unwrap_or(0);

    let out = Command::new(repo.join("tests/sandbox"))
        .args(["bash", "-c", SCRIPT])
        .env("BIN", BIN)
        .env("LOCALCA_KEY_STORAGE", "file")
        .env_remove("LOCALCA_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("run tests/sandbox");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    if out.status.code() == Some(77) {
        return skip(TEST, stderr.lines().last().unwrap_or("sandbox refused"), false);
    }
    assert!(out.status.success(), "the sandboxed install failed ({})", out.status);
    let probe = stdout.lines().last().unwrap_or_default().to_string();
    assert!(probe.starts_with("localca-isolation-probe."), "no probe name in {stdout:?}");

    let after = snapshot();
    let changed = changes(&before, &after);
    if !changed.is_empty() {
        // dpkg state is the machine's: apt, or a run of some other test that is not sandboxed,
        // changes it too meanwhile. Then what must hold is that none of what dpkg logged inside
        // the sandbox (time-stamped lines) reached the host's log, and nothing else changed.
        let inside: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("dpkg: ")).collect();
        let host_new = new_host_dpkg_log_lines(log_len);
        let leaked: Vec<&String> = host_new.iter().filter(|l| inside.contains(&l.as_str())).collect();
        let elsewhere: Vec<&String> = changed
            .iter()
            .filter(|c| !c.starts_with("/var/lib/dpkg/") && !c.starts_with("/var/log/"))
            .collect();
        assert!(
            !inside.is_empty() && leaked.is_empty() && elsewhere.is_empty(),
            "the sandboxed run changed the host: {changed:#?}\nits dpkg log lines on the host: {leaked:#?}"
        );
        eprintln!("note: dpkg state changed meanwhile, not by this run: {changed:?}\n{host_new:#?}");
    }
    // Everything written to /tmp inside (update-ca-certificates' temp files too) went to the
    // sandbox's own /tmp. (Other processes on a shared machine come and go in the host's /tmp, so
    // the probe, not a listing, is what proves it.)
    for place in ["/tmp", "/var/tmp", "/run/lock"] {
        assert!(!Path::new(place).join(&probe).exists(), "{place}/{probe} reached the host");
    }
    let hosts = fs::read_to_string("/etc/hosts").unwrap_or_default();
    assert!(!hosts.contains(&probe), "/etc/hosts of the host changed");
}
