//! Hostile conditions: symlinked outputs, unwritable/full/read-only folders, HOME unset, non-UTF-8
//! paths, oversized inputs, secrets in output, CSRs asking for more than a leaf, and regressions
//! found by fuzzing (`fuzz/`). Tests that need root (mount namespaces, another uid) say why they
//! skip without it.

mod common;

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use x509_parser::prelude::{FromDer, X509Certificate};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A failed run: exit code 1, exactly one `error:` line, no panic, no usage text.
fn assert_one_line_error(run: &Run, what: &str) {
    assert_eq!(run.code, 1, "{what}: exit code\n{}{}", run.stdout, run.stderr);
    assert_eq!(run.error_lines().len(), 1, "{what}: one error line: {:?}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{what}: panic: {}", run.stderr);
    for line in run.stderr.lines() {
        assert!(
            ["error: ", "hint: ", "note: ", "Created a new local CA", "  "]
                .iter()
                .any(|p| line.starts_with(p)),
            "{what}: unexpected stderr line {line:?}"
        );
    }
}

/// The files in `dir` that are neither `allowed` nor a temp file left by a kill (none are expected
/// after a clean failure: a failing write removes its temp file).
fn leftovers(dir: &Path, allowed: &[&str]) -> Vec<String> {
    file_names(dir).into_iter().filter(|n| !allowed.contains(&n.as_str())).collect()
}

/// Key and certificate agree (openssl): the public key of `key` is the one in `cert`.
fn key_matches_cert(cert: &Path, key: &Path) -> bool {
    let a = openssl(Path::new("/"), &["x509", "-in", path_str(cert), "-noout", "-pubkey"]);
    let b = openssl(Path::new("/"), &["pkey", "-in", path_str(key), "-pubout"]);
    a.0 && b.0 && a.1 == b.1
}

/// `cmd` with the environment `env.command` would give localca (its CA home, file key storage, no
/// sudo variables), and stdin closed.
fn with_env_of(mut cmd: Command, env: &Env) -> Command {
    for (k, v) in env.command(&[]).get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.stdin(Stdio::null());
    cmd
}

// ------------------------------------------------------------------------------------------------
// A private mount namespace kept alive by a sleeping process: commands run inside it with nsenter,
// and the test reads its files through /proc/PID/root. Everything mounted disappears with it.

struct Ns {
    child: Child,
}

impl Ns {
    /// `None` (after printing why) when not root or namespaces are unavailable.
    fn new(test: &str) -> Option<Ns> {
        if !is_root() {
            skip(test, "needs root (mount namespaces, tmpfs, read-only mounts)", false);
            return None;
        }
        if !have("unshare") || !have("nsenter") {
            skip(test, "unshare/nsenter (util-linux) not installed", true);
            return None;
        }
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "--propagation", "private", "--", "sleep", "300"]).stdin(Stdio::null());
        // SAFETY: prctl is async-signal-safe; the sleeper dies with the test.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().ok()?;
        let ns = Ns { child };
        // Wait until the sleeper is in its own namespace.
        let start = Instant::now();
        while fs::read_link(format!("/proc/{}/ns/mnt", ns.pid())).ok()
            == fs::read_link("/proc/self/ns/mnt").ok()
        {
            if start.elapsed() > Duration::from_secs(5) {
                skip(test, "unshare -m did not make a namespace", false);
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Some(ns)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs a shell script inside the namespace; panics when it fails.
    fn sh(&self, script: &str) -> Output {
        let out = Command::new("nsenter")
            .args(["-t", &self.pid().to_string(), "-m", "--", "sh", "-ec", script])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Runs localca inside the namespace, in `cwd`, with `env`'s settings.
    fn run(&self, env: &Env, cwd: &Path, args: &[&str]) -> Run {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.pid().to_string(), "-m", "--", "sh", "-c", "cd \"$0\" && exec \"$@\""])
            .arg(cwd)
            .arg(BIN)
            .args(args);
        run_command(with_env_of(cmd, env))
    }

    /// A path inside the namespace, as seen from outside it.
    fn path(&self, p: &Path) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.pid())).join(p.strip_prefix("/").unwrap())
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------
// Files

/// Symlinks at every output path point at files standing in for `~/.ssh/authorized_keys` and
/// friends: each link is replaced by a regular file, the targets are untouched, and keys are 0600
/// from the first byte even under umask 000.
#[test]
fn symlinked_outputs_are_replaced_never_followed() {
    let env = Env::new();
    env.create_ca();
    let victims = env.tmp.path().join("victims");
    fs::create_dir(&victims).unwrap();
    let outputs = ["key.pem", "cert.pem", "app.p12", "both.pem", "k2.pem"];
    for name in outputs {
        let target = victims.join(format!("{name}.target"));
        write(&target, format!("ssh-ed25519 AAAA... {name}\n"));
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&target, env.file(name)).unwrap();
    }
    // A dangling link must not create its target either.
    std::os::unix::fs::symlink(victims.join("created-through-link"), env.file("dangling.pem")).unwrap();

    let umask000 = |args: &[&str]| {
        let mut sh = Command::new("sh");
        sh.arg("-c").arg("umask 000; exec \"$0\" \"$@\"").arg(BIN).args(args).current_dir(&env.cwd);
        run_command(with_env_of(sh, &env))
    };
    for args in [
        &["cert", "--key-file", "key.pem", "--cert-file", "cert.pem", "a.test"][..],
        &["cert", "--p12-file", "app.p12", "b.test"],
        &["cert", "--key-file", "both.pem", "--cert-file", "both.pem", "c.test"],
        &["cert", "--key-file", "k2.pem", "--cert-file", "dangling.pem", "d.test"],
    ] {
        let run = umask000(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    for name in outputs {
        let target = victims.join(format!("{name}.target"));
        assert_eq!(
            fs::read_to_string(&target).unwrap(),
            format!("ssh-ed25519 AAAA... {name}\n"),
            "{name}: the symlink target was written"
        );
        let meta = fs::symlink_metadata(env.file(name)).unwrap();
        assert!(meta.file_type().is_file(), "{name} is still a symlink");
    }
    assert!(!victims.join("created-through-link").exists(), "a dangling symlink was followed");
    assert!(fs::symlink_metadata(env.file("dangling.pem")).unwrap().file_type().is_file());
    for secret in ["key.pem", "app.p12", "both.pem", "k2.pem"] {
        assert_eq!(mode(&env.file(secret)), 0o600, "{secret}");
    }
    assert_eq!(mode(&env.file("cert.pem")), 0o644);
    assert!(key_matches_cert(&env.file("both.pem"), &env.file("both.pem")));
    assert!(key_matches_cert(&env.file("cert.pem"), &env.file("key.pem")));
    assert!(file_names(&env.cwd).iter().all(|n| !n.ends_with(".tmp")), "{:?}", file_names(&env.cwd));

    // "From the first byte": the temp file of a key is created 0600 (O_CREAT|O_EXCL), never
    // chmod-ed afterwards.
    if !have("strace") {
        skip("symlinked_outputs_are_replaced_never_followed (first-byte mode)", "strace not installed", true);
        return;
    }
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=openat,chmod,fchmod,fchmodat", "--", BIN])
        .args(["cert", "--key-file", "key.pem", "--cert-file", "cert.pem", "--p12-file", "x.p12", "e.test"])
        .current_dir(&env.cwd)
        .stdin(Stdio::null());
    let out = with_env_of(cmd, &env).output().unwrap();
    let trace = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && trace.contains("PTRACE") {
        skip(
            "symlinked_outputs_are_replaced_never_followed (first-byte mode)",
            "ptrace not permitted",
            false,
        );
        return;
    }
    assert!(out.status.success(), "{trace}");
    for secret in [".key.pem.", ".x.p12."] {
        let line = trace.lines().find(|l| l.contains(secret) && l.contains("O_CREAT"));
        let line = line.unwrap_or_else(|| panic!("no open of {secret}*.tmp in:\n{trace}"));
        assert!(line.contains("O_EXCL") && line.contains(", 0600)"), "{line}");
    }
    assert!(!trace.contains("chmod("), "a file was chmod-ed after creation:\n{trace}");
}

/// A CA home that cannot be written: one error line, nothing written anywhere.
#[test]
fn unwritable_ca_home() {
    let mut env = Env::new();
    let parent = env.tmp.path().join("ro");
    fs::create_dir(&parent).unwrap();
    let home = parent.join("ca");
    env.home = home.clone();
    let ns = Ns::new("unwritable_ca_home (falls back to chmod 0500)");
    let run = |args: &[&str]| match &ns {
        Some(ns) => ns.run(&env, &env.cwd, args),
        None => env.run(args),
    };
    match &ns {
        // As root permissions do not stop us: a read-only bind mount does.
        Some(ns) => {
            ns.sh(&format!("mount --bind '{0}' '{0}' && mount -o remount,bind,ro '{0}'", parent.display()));
        }
        None => fs::set_permissions(&parent, fs::Permissions::from_mode(0o500)).unwrap(),
    }
    for args in [&["cert", "a.test"][..], &["ca", "create"], &["install", "--stores", "nss"]] {
        let r = run(args);
        assert_one_line_error(&r, &format!("{args:?}"));
        assert!(r.stderr.contains(&parent.display().to_string()), "names the folder: {}", r.stderr);
    }
    assert!(file_names(&env.cwd).is_empty(), "{:?}", file_names(&env.cwd));
    assert!(!home.exists());
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o700)).unwrap();
}

/// A full disk under the CA home: nothing half-written; a key without a certificate (the disk
/// filled up between the two) is no CA, and the next run once there is room makes a whole one.
#[test]
fn full_ca_home() {
    let Some(ns) = Ns::new("full_ca_home") else { return };
    let mut env = Env::new();
    let mnt = env.tmp.path().join("full");
    fs::create_dir(&mnt).unwrap();
    let home = mnt.join("ca");
    env.home = home.clone();
    let m = mnt.display();
    ns.sh(&format!("mount -t tmpfs -o size=64k,mode=0700 tmpfs '{m}'"));
    ns.sh(&format!("cat /dev/zero > '{m}/fill' 2>/dev/null || true"));

    // Completely full.
    let r = ns.run(&env, &env.cwd, &["cert", "a.test"]);
    assert_one_line_error(&r, "cert on a full CA home");
    assert!(r.stderr.contains("No space left"), "{}", r.stderr);
    assert_eq!(leftovers(&ns.path(&mnt), &["fill"]), Vec::<String>::new());
    assert!(file_names(&env.cwd).is_empty());

    // One page free: the key fits, the certificate does not.
    ns.sh(&format!("rm '{m}/fill' && dd if=/dev/zero of='{m}/fill' bs=4096 count=15 2>/dev/null"));
    let r = ns.run(&env, &env.cwd, &["cert", "a.test"]);
    assert_one_line_error(&r, "cert on a CA home with one free page");
    let files = leftovers(&ns.path(&home), &["root-key.pem"]);
    assert!(files.is_empty(), "only a key may be left: {files:?}");
    let r = ns.run(&env, &env.cwd, &["ca", "show"]);
    assert_one_line_error(&r, "ca show after a failed creation");
    assert!(r.stderr.starts_with("error: no CA in"), "a lone key is no CA: {}", r.stderr);

    // Room again: the next run succeeds and its CA is whole.
    ns.sh(&format!("rm '{m}/fill'"));
    let r = ns.run(&env, &env.cwd, &["cert", "--cert-file", "a.pem", "--key-file", "a-key.pem", "a.test"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let h = ns.path(&home);
    assert!(key_matches_cert(&h.join("root.pem"), &h.join("root-key.pem")));
    assert_openssl_verifies(&h.join("root.pem"), &env.file("a.pem"));
}

/// A full output folder: the command fails with one line, files already there are untouched, and
/// no temp file is left behind.
#[test]
fn full_output_folder() {
    let Some(ns) = Ns::new("full_output_folder") else { return };
    let env = Env::new();
    env.create_ca();
    let out = env.tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    let o = out.display();
    ns.sh(&format!("mount -t tmpfs -o size=64k tmpfs '{o}'"));
    ns.sh(&format!("echo OLD > '{o}/a.pem' && echo OLDKEY > '{o}/a-key.pem'"));
    ns.sh(&format!("cat /dev/zero > '{o}/fill' 2>/dev/null || true"));
    for args in [
        &["cert", "--cert-file", "a.pem", "--key-file", "a-key.pem", "a.test"][..],
        &["cert", "--p12-file", "a.p12", "a.test"],
        &["ca", "export", "--out", "a.pem"],
    ] {
        let r = ns.run(&env, &out, args);
        assert_one_line_error(&r, &format!("{args:?} into a full folder"));
    }
    let p = ns.path(&out);
    assert_eq!(fs::read_to_string(p.join("a.pem")).unwrap(), "OLD\n");
    assert_eq!(fs::read_to_string(p.join("a-key.pem")).unwrap(), "OLDKEY\n");
    assert_eq!(leftovers(&p, &["a.pem", "a-key.pem", "fill"]), Vec::<String>::new());
    assert!(key_matches_cert(&env.root_pem_path(), &env.root_key_path()), "the CA is untouched");
}

/// A disk that fills up between a leaf's key and its certificate leaves the old pair: every
/// temp file is written and synced before anything is renamed (src/atomic_file.rs `write_many`,
/// since d20a8c1; before it, the new key was renamed beside the old certificate).
#[test]
fn a_failed_write_keeps_the_old_pair() {
    let Some(ns) = Ns::new("a_failed_write_keeps_the_old_pair") else { return };
    let env = Env::new();
    env.create_ca();
    let out = env.tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    let o = out.display();
    ns.sh(&format!("mount -t tmpfs -o size=64k tmpfs '{o}'"));
    let r = ns.run(&env, &out, &["cert", "--cert-file", "a.pem", "--key-file", "a-key.pem", "a.test"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Now leave room for exactly one more page (the key), not two. Backup hard links keep the
    // replaced files' pages in use, as a full disk does not give them back either.
    ns.sh(&format!("ln '{o}/a.pem' '{o}/a.pem.bak' && ln '{o}/a-key.pem' '{o}/a-key.pem.bak'"));
    ns.sh(&format!(
        "avail=$(df -k --output=avail '{o}' | tail -1); \
         dd if=/dev/zero of='{o}/fill' bs=1024 count=$((avail - 4)) 2>/dev/null"
    ));
    let r = ns.run(&env, &out, &["cert", "--cert-file", "a.pem", "--key-file", "a-key.pem", "a.test"]);
    assert_one_line_error(&r, "cert with room for the key only");
    let p = ns.path(&out);
    assert!(key_matches_cert(&p.join("a.pem"), &p.join("a-key.pem")), "old certificate, new key");
}

/// A read-only output folder: one error line; the CA (created first) is whole.
#[test]
fn read_only_output_folder() {
    let env = Env::new();
    let out = env.tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    write(&out.join("a.test.pem"), "OLD\n");
    let ns = Ns::new("read_only_output_folder (falls back to chmod 0500)");
    let r = match &ns {
        Some(ns) => {
            let o = out.display();
            ns.sh(&format!("mount --bind '{o}' '{o}' && mount -o remount,bind,ro '{o}'"));
            ns.run(&env, &out, &["cert", "a.test"])
        }
        None => {
            fs::set_permissions(&out, fs::Permissions::from_mode(0o500)).unwrap();
            env.run_in(&out, &["cert", "a.test"])
        }
    };
    assert_one_line_error(&r, "cert into a read-only folder");
    assert!(
        r.stderr.contains("Read-only file system") || r.stderr.contains("Permission denied"),
        "{}",
        r.stderr
    );
    fs::set_permissions(&out, fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(file_names(&out), ["a.test.pem"]);
    assert_eq!(fs::read_to_string(out.join("a.test.pem")).unwrap(), "OLD\n");
    // The folder is checked before anything is created (issue 11, item 4): no CA either.
    assert_eq!(snapshot(&env.home), None);
}

/// HOME unset: localca falls back to the user database; for a user whose home cannot be written
/// (nobody's is /nonexistent) that is one error line and nothing written.
#[test]
fn home_unset() {
    let env = Env::new();
    // With LOCALCA_HOME, HOME is not needed at all.
    let mut cmd = env.command(&["cert", "a.test"]);
    cmd.env_remove("HOME").env_remove("XDG_DATA_HOME");
    assert_eq!(run_command(cmd).code, 0);

    if !is_root() {
        skip("home_unset (HOME-less default home)", "needs root to run as nobody", false);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["cert", "a.test"]).current_dir(tmp.path()).stdin(Stdio::null()).env_clear();
    cmd.env("PATH", "/usr/bin:/bin").env("LOCALCA_KEY_STORAGE", "file");
    // SAFETY: setgroups/setgid/setuid are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let r = run_command(cmd);
    assert_one_line_error(&r, "cert as nobody without HOME");
    assert!(file_names(tmp.path()).is_empty(), "{:?}", file_names(tmp.path()));
}

/// Non-UTF-8 paths work as paths (printed lossily); a non-UTF-8 name is a usage error, not a panic.
#[test]
fn non_utf8_paths() {
    use std::ffi::OsStr;
    let env = Env::new();
    let home = env.tmp.path().join(OsStr::from_bytes(b"ca-\xff"));
    let mut cmd = env.command(&[]);
    cmd.env("LOCALCA_HOME", &home)
        .arg("cert")
        .arg("--cert-file")
        .arg(OsStr::from_bytes(b"\xfe.pem"))
        .arg("--key-file")
        .arg(OsStr::from_bytes(b"\xfe-key.pem"))
        .arg("a.test");
    let r = run_command(cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cert = env.cwd.join(OsStr::from_bytes(b"\xfe.pem"));
    let key = env.cwd.join(OsStr::from_bytes(b"\xfe-key.pem"));
    assert_eq!(mode(&key), 0o600);
    let der = cert_der_from_file(&cert);
    assert_eq!(sans(&der), ["DNS:a.test"]);
    let (_, leaf) = X509Certificate::from_der(&der).unwrap();
    let root_der = cert_der_from_file(&home.join("root.pem"));
    let (_, root) = X509Certificate::from_der(&root_der).unwrap();
    leaf.verify_signature(Some(root.public_key())).expect("signed by the root in the non-UTF-8 home");
    let mut cmd = env.command(&["ca", "show"]);
    cmd.env("LOCALCA_HOME", &home);
    let r = run_command(cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A missing non-UTF-8 CSR path: one error line.
    let mut cmd = env.command(&["cert", "--csr"]);
    cmd.env("LOCALCA_HOME", &home).arg(OsStr::from_bytes(b"\xff.csr"));
    assert_one_line_error(&run_command(cmd), "missing non-UTF-8 CSR");

    // A non-UTF-8 name: clap's usage error (exit 2), no panic, nothing written.
    let before = file_names(&env.cwd);
    let mut cmd = env.command(&["cert"]);
    cmd.env("LOCALCA_HOME", &home).arg(OsStr::from_bytes(b"\xff.test"));
    let r = run_command(cmd);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
    assert_eq!(file_names(&env.cwd), before);
}

// ------------------------------------------------------------------------------------------------
// Input limits

/// A 60 MB garbage CSR is refused at once with bounded memory; so are endless inputs.
#[test]
fn oversized_csr_is_refused_with_bounded_memory() {
    let env = Env::new();
    env.create_ca();
    let big = env.file("big.csr");
    {
        use std::io::Write;
        let mut f = fs::File::create(&big).unwrap();
        let chunk: Vec<u8> =
            (0..1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for _ in 0..60 {
            f.write_all(&chunk).unwrap();
        }
    }
    if Path::new("/usr/bin/time").exists() {
        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "maxrss_kb=%M", BIN, "cert", "--csr", "big.csr"]).current_dir(&env.cwd);
        let r = run_command(with_env_of(cmd, &env));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("larger than 65536 bytes"), "{}", r.stderr);
        let kb: u64 = r
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("maxrss_kb="))
            .and_then(|v| v.trim().parse().ok())
            .expect("time's output");
        assert!(kb < 50 * 1024, "peak RSS {kb} kB for a 60 MB CSR");
    } else {
        skip(
            "oversized_csr_is_refused_with_bounded_memory (RSS)",
            "/usr/bin/time (package time) not installed",
            true,
        );
        assert_one_line_error(&env.run(&["cert", "--csr", "big.csr"]), "60 MB CSR");
    }
    // Endless inputs end promptly too.
    for endless in ["/dev/zero", "/dev/urandom"] {
        let start = Instant::now();
        let r = env.run(&["cert", "--csr", endless]);
        assert_one_line_error(&r, endless);
        assert!(start.elapsed() < Duration::from_secs(10), "{endless} took {:?}", start.elapsed());
    }
    // And a CSR piped through stdin by a writer that never stops.
    let mut cmd = env.command(&["cert", "--csr", "/dev/stdin"]);
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = vec![b'A'; 65536];
        while stdin.write_all(&chunk).is_ok() {}
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(file_names(&env.cwd), ["big.csr"]);
}

// ------------------------------------------------------------------------------------------------
// Secrets

/// Strings that give away a private key: its PEM body, its DER in hex, and its private scalar /
/// exponent (as `openssl pkey -text` prints it) in hex and in base64 at every alignment, in
/// 16-character windows (public parts of the key are in the certificates, so they are not
/// searched for).
fn key_fingerprints(key_pem_path: &Path) -> Vec<String> {
    let text = fs::read_to_string(key_pem_path).unwrap();
    let block = pem::parse(&text).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let hex: String = block.contents().iter().map(|b| format!("{b:02x}")).collect();
    let mut needles = vec![body, hex.to_uppercase(), hex];
    let (ok, dump) = openssl(Path::new("/"), &["pkey", "-in", path_str(key_pem_path), "-noout", "-text"]);
    assert!(ok, "{dump}");
    let mut lines =
        dump.lines().skip_while(|l| !(l.starts_with("priv:") || l.starts_with("privateExponent:")));
    lines.next();
    let private: String = lines
        .take_while(|l| l.starts_with(' '))
        .flat_map(|l| l.trim().split(':'))
        .filter(|s| !s.is_empty())
        .collect();
    let private = private.trim_start_matches("00").to_string();
    assert!(private.len() >= 60, "no private part in:\n{dump}");
    let bytes: Vec<u8> =
        (0..private.len() / 2).map(|i| u8::from_str_radix(&private[2 * i..2 * i + 2], 16).unwrap()).collect();
    needles.push(private[..48].to_string());
    needles.push(private[..48].to_uppercase());
    for start in 0..bytes.len().min(40) - 12 {
        // Base64 through the pem crate (a direct dependency): the one body line of a 12-byte block.
        let encoded = pem::encode(&pem::Pem::new("X", bytes[start..start + 12].to_vec()));
        needles.push(encoded.lines().nth(1).unwrap().to_string());
    }
    needles
}

/// Every command, succeeding and failing, with its output captured: no private key in any of it.
#[test]
fn no_key_material_in_any_output() {
    let env = Env::new();
    let fake_home = env.tmp.path().join("user-home");
    fs::create_dir(&fake_home).unwrap();
    let mut transcript = String::new();
    let mut record = |args: &[&str], expect_ok: Option<bool>| {
        let mut cmd = env.command(args);
        // A private HOME, so store commands see no real NSS database; backtraces on.
        cmd.env("HOME", &fake_home)
            .env("XDG_DATA_HOME", fake_home.join(".local/share"))
            .env("XDG_CONFIG_HOME", fake_home.join(".config"))
            .env("RUST_BACKTRACE", "1");
        let r = run_command(cmd);
        if let Some(ok) = expect_ok {
            assert_eq!(r.code == 0, ok, "{args:?}: {}{}", r.stdout, r.stderr);
        }
        assert!(!r.stderr.contains("panicked"), "{args:?} panicked: {}", r.stderr);
        transcript.push_str(&format!("$ localca {}\n{}{}", args.join(" "), r.stdout, r.stderr));
        // DER output is binary: keep its hex too, so a key inside it would show.
        transcript.extend(r.stdout_bytes.iter().map(|b| format!("{b:02x}")));
        transcript.push('\n');
    };

    record(&["--help"], Some(true));
    for sub in
        ["cert", "install", "uninstall", "status", "ca", "ca show", "ca export", "ca create", "ca move-key"]
    {
        let mut args: Vec<&str> = sub.split(' ').collect();
        args.push("--help");
        record(&args, Some(true));
    }
    record(&["ca", "show"], Some(false));
    record(&["ca", "create"], Some(true));
    record(&["ca", "create"], Some(false));
    record(&["ca", "show"], Some(true));
    record(&["ca", "show", "--json"], Some(true));
    record(&["ca", "path"], Some(true));
    record(&["ca", "export"], Some(true));
    record(&["ca", "export", "--der", "--out", "root.cer"], Some(true));
    record(&["ca", "export", "--der"], Some(true));
    record(&["ca", "move-key", "--to", "file"], Some(true));
    record(&["ca", "move-key", "--to", "keyring"], None);
    record(&["cert", "myapp.test", "localhost", "127.0.0.1"], Some(true));
    record(&["cert", "--client", "alice@myapp.test"], Some(true));
    record(
        &["cert", "--key-type", "rsa-2048", "--cert-file", "rsa.pem", "--key-file", "rsa-key.pem", "r.test"],
        Some(true),
    );
    record(&["cert", "--p12-file", "app.p12", "--p12-password", "s3cret", "p12.test"], Some(true));
    record(&["cert", "--pkcs12", "p.test"], Some(true));
    record(&["cert", "--cert-file", "both.pem", "--key-file", "both.pem", "both.test"], Some(true));
    openssl_ok(
        &env.cwd,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=csr.test",
            "-keyout",
            "csr-key.pem",
            "-out",
            "req.csr",
        ],
    );
    record(&["cert", "--csr", "req.csr"], Some(true));
    // Failures, including ones fed with key files where a CSR or a name is expected.
    let root_key = env.root_key_path();
    let root_key_str = path_str(&root_key).to_string();
    record(&["cert", "--csr", &root_key_str], Some(false));
    record(&["cert", "--csr", "myapp.test+2-key.pem"], Some(false));
    openssl_ok(&env.cwd, &["pkey", "-in", "myapp.test+2-key.pem", "-outform", "DER", "-out", "leaf-key.der"]);
    record(&["cert", "--csr", "leaf-key.der"], Some(false));
    record(&["cert", "evil.com"], Some(false));
    record(&["cert", "https://myapp.test:8443/"], Some(false));
    record(&["cert", "--days", "9999", "a.test"], Some(false));
    record(&["cert", "--cert-file", "/nonexistent/dir/c.pem", "a.test"], Some(false));
    record(&["status"], None);
    record(&["status", "--json"], None);
    record(&["uninstall", "--stores", "nss"], Some(true));
    // A damaged CA: the key file garbled, then a key that is not the certificate's.
    let key_backup = fs::read(&root_key).unwrap();
    let mut garbled = key_backup.clone();
    let mid = garbled.len() / 2;
    garbled[mid] = if garbled[mid] == b'A' { b'B' } else { b'A' };
    fs::write(&root_key, &garbled).unwrap();
    record(&["ca", "show"], Some(false));
    record(&["cert", "x.test"], Some(false));
    fs::copy(env.file("myapp.test+2-key.pem"), &root_key).unwrap();
    record(&["ca", "show"], Some(false));
    record(&["cert", "x.test"], Some(false));
    fs::write(&root_key, &key_backup).unwrap();
    record(&["ca", "show"], Some(true));

    let saved_root_key = env.tmp.path().join("root-key-saved.pem");
    fs::copy(&root_key, &saved_root_key).unwrap();
    record(&["uninstall", "--stores", "nss", "--delete-ca", "--yes"], Some(true));
    assert!(!env.home.exists(), "--delete-ca removed the CA home");

    let mut keys = vec![saved_root_key];
    for leaf_key in ["myapp.test+2-key.pem", "alice@myapp.test-client-key.pem", "rsa-key.pem", "csr-key.pem"]
    {
        keys.push(env.file(leaf_key));
    }
    let leak = |needle: &str| {
        // The command whose output holds it, for the failure message.
        transcript.find(needle).map(|at| {
            let start = transcript[..at].rfind("$ localca").unwrap_or(0);
            transcript[start..(at + needle.len() + 200).min(transcript.len())].to_string()
        })
    };
    assert_eq!(leak("PRIVATE KEY"), None, "PRIVATE KEY in output");
    for key in &keys {
        for needle in key_fingerprints(key) {
            assert_eq!(leak(&needle), None, "{} leaked: {needle}", key.display());
        }
    }
}

// ------------------------------------------------------------------------------------------------
// CSR signing

/// Makes a CSR with openssl: `keyspec` is `ec`, `rsa` or `ed25519`; returns its path.
fn csr(dir: &Path, stem: &str, keyspec: &str, subject: &str, extensions: &[&str]) -> PathBuf {
    let key = format!("{stem}-key.pem");
    let out = format!("{stem}.csr");
    let mut args = vec!["req", "-new", "-nodes", "-subj", subject, "-keyout", &key, "-out", &out];
    match keyspec {
        "ec" => args.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        "rsa" => args.extend(["-newkey", "rsa:2048"]),
        other => args.extend(["-newkey", other]),
    }
    for e in extensions {
        args.extend(["-addext", e]);
    }
    openssl_ok(dir, &args);
    dir.join(out)
}

const KU_DIGITAL_SIGNATURE: u16 = 1;
const KU_KEY_ENCIPHERMENT: u16 = 1 << 2;

/// Whatever a CSR asks for — CA:TRUE, keyCertSign, name constraints, codeSigning, a private
/// extension, must-staple — the leaf gets our profile only.
#[test]
fn csr_signing_never_grants_more_than_a_leaf() {
    let env = Env::new();
    env.create_ca();
    let asks: &[(&str, &[&str])] = &[
        ("ca", &["basicConstraints=critical,CA:TRUE,pathlen:5"]),
        ("ku", &["keyUsage=critical,keyCertSign,cRLSign,digitalSignature,nonRepudiation"]),
        ("nc", &["nameConstraints=critical,permitted;DNS:com,excluded;DNS:test"]),
        ("eku", &["extendedKeyUsage=critical,codeSigning,OCSPSigning,timeStamping,anyExtendedKeyUsage"]),
        ("oid", &["1.3.6.1.4.1.55555.1=critical,DER:0500"]),
        ("staple", &["tlsfeature=status_request"]),
        ("ski", &["subjectKeyIdentifier=0102030405060708090a0b0c0d0e0f1011121314"]),
        ("policy", &["certificatePolicies=2.23.140.1.2.1"]),
        ("aia", &["authorityInfoAccess=OCSP;URI:http://evil.com/ocsp,caIssuers;URI:http://evil.com/ca"]),
        (
            "all",
            &[
                "basicConstraints=critical,CA:TRUE",
                "keyUsage=critical,keyCertSign,cRLSign",
                "nameConstraints=critical,permitted;DNS:com",
                "extendedKeyUsage=codeSigning",
                "1.3.6.1.4.1.55555.2=ASN1:UTF8String:hello",
            ],
        ),
    ];
    for keyspec in ["ec", "rsa"] {
        for (label, exts) in asks {
            let stem = format!("{label}-{keyspec}");
            let san = format!("subjectAltName=DNS:{stem}.test");
            let mut all: Vec<&str> = exts.to_vec();
            all.push(&san);
            let path = csr(&env.cwd, &stem, keyspec, "/CN=ignored.test", &all);
            let out = format!("{stem}.pem");
            let r = env.run(&["cert", "--csr", path_str(&path), "--cert-file", &out]);
            assert_eq!(r.code, 0, "{stem}: {}", r.stderr);
            let der = cert_der_from_file(&env.file(&out));
            let leaf = parse(&der);
            let mut oids: Vec<String> = leaf.extensions().iter().map(|e| e.oid.to_id_string()).collect();
            oids.sort();
            // KU, SAN, AKI, EKU: nothing the request brought (not even its key identifier).
            assert_eq!(oids, ["2.5.29.15", "2.5.29.17", "2.5.29.35", "2.5.29.37"], "{stem}");
            assert!(leaf.basic_constraints().unwrap().is_none_or(|bc| !bc.value.ca), "{stem}: CA");
            let ku = leaf.key_usage().unwrap().expect("key usage").value;
            let want = if keyspec == "rsa" {
                KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT
            } else {
                KU_DIGITAL_SIGNATURE
            };
            assert_eq!(ku.flags, want, "{stem}: key usage");
            let eku = leaf.extended_key_usage().unwrap().expect("EKU").value;
            assert!(
                eku.server_auth && !eku.code_signing && !eku.ocsp_signing && !eku.time_stamping && !eku.any
            );
            assert!(eku.other.is_empty() && !eku.client_auth, "{stem}: EKU {eku:?}");
            assert!(leaf.name_constraints().unwrap().is_none(), "{stem}: name constraints");
            assert_eq!(sans(&der), [format!("DNS:{stem}.test")], "{stem}: only the request's names");
            assert_openssl_verifies(&env.root_pem_path(), &env.file(&out));
            // And OpenSSL agrees it cannot act as a CA.
            let (_, purpose) = openssl(&env.cwd, &["x509", "-in", &out, "-noout", "-purpose"]);
            assert!(purpose.contains("SSL server CA : No"), "{stem}:\n{purpose}");
        }
    }
}

/// Requests for names outside the constraints, or with a bad signature, are refused and write
/// nothing.
#[test]
fn csr_outside_constraints_or_badly_signed_is_refused() {
    let env = Env::new();
    env.create_ca();
    let cases: &[(&str, &str, &[&str], &str)] = &[
        ("evil", "/CN=x", &["subjectAltName=DNS:evil.com"], "evil.com is outside"),
        ("mixed", "/CN=x", &["subjectAltName=DNS:ok.test,DNS:www.bank.com"], "www.bank.com is outside"),
        ("cn-evil", "/CN=evil.com", &[], "evil.com is outside"),
        ("ip", "/CN=x", &["subjectAltName=IP:8.8.8.8"], "8.8.8.8 is outside"),
        ("ip6", "/CN=x", &["subjectAltName=IP:2001:db8::1"], "2001:db8::1 is outside"),
        ("mail", "/CN=x", &["subjectAltName=email:ceo@bank.com"], "ceo@bank.com is outside"),
        ("uri", "/CN=x", &["subjectAltName=URI:https://bank.com/"], "is outside"),
        ("idn", "/CN=x", &["subjectAltName=DNS:xn--bnk-sna.com"], "is outside"),
        ("trailing", "/CN=x", &["subjectAltName=DNS:evil.com."], "evil.com is outside"),
        ("lookalike", "/CN=x", &["subjectAltName=DNS:test.evil.com"], "test.evil.com is outside"),
        ("suffix", "/CN=x", &["subjectAltName=DNS:eviltest"], "eviltest is outside"),
        ("wild", "/CN=x", &["subjectAltName=DNS:*.com"], "invalid name"),
        ("dirname", "/CN=x", &["subjectAltName=RID:1.2.3.4"], "does not issue"),
    ];
    for (stem, subject, exts, message) in cases {
        let path = csr(&env.cwd, stem, "ec", subject, exts);
        let r = env.run(&["cert", "--csr", path_str(&path), "--cert-file", "out.pem"]);
        assert_one_line_error(&r, stem);
        assert!(r.error_lines()[0].contains(message), "{stem}: {}", r.stderr);
    }
    // A bad signature: a good request with one bit of its signature flipped, PEM and DER.
    let good = csr(&env.cwd, "good", "ec", "/CN=x", &["subjectAltName=DNS:good.test"]);
    let mut der = pem::parse(fs::read(&good).unwrap()).unwrap().into_contents();
    let n = der.len();
    der[n - 3] ^= 0x01;
    write(&env.file("bad.der"), &der);
    write(&env.file("bad.pem"), pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", der.clone())));
    // And a request whose signed part was changed after signing (the name swapped).
    let mut swapped = pem::parse(fs::read(&good).unwrap()).unwrap().into_contents();
    let at = swapped.windows(4).position(|w| w == b"good").unwrap();
    swapped[at..at + 4].copy_from_slice(b"evil");
    write(&env.file("swapped.der"), &swapped);
    for file in ["bad.der", "bad.pem", "swapped.der"] {
        let r = env.run(&["cert", "--csr", file, "--cert-file", "out.pem"]);
        assert_one_line_error(&r, file);
        assert!(r.stderr.contains("signature does not verify"), "{file}: {}", r.stderr);
    }
    assert!(!env.file("out.pem").exists());
    // The good one still signs (so the refusals above were about what they changed).
    env.ok(&["cert", "--csr", path_str(&good), "--cert-file", "out.pem"]);
}

/// Was a bug (fixed): `--uri` (and URI names in CSRs) are checked against the constraints through
/// `SubjectName::uri_host` (src/names.rs), which reads `https://evil.com\@myapp.test/` as host
/// `myapp.test` and `https:evil.com` as having no host (always permitted), while WHATWG URL parsers
/// (browsers, Node's `URL`, Python's `urllib` for the backslash case) read both as host `evil.com`.
/// The root then vouches for a URI naming a real domain, which the README says it never does.
/// Clients do not constrain URI names, so this matters to software that authorises peers by URI
/// SAN. Fix: in `SubjectName::uri` (or `uri_host`), refuse `\` anywhere in a URI and, for the
/// special schemes (http, https, ws, wss, ftp), require `://`; refuse any URI whose host cannot be
/// determined unless its scheme is known to have none (`urn:`).
#[test]

fn uri_names_are_constrained_like_browsers_parse_them() {
    let env = Env::new();
    env.create_ca();
    for uri in ["https://evil.com\\@myapp.test/", "https:evil.com", "https:/evil.com/", "wss:\\\\evil.com\\x"]
    {
        let r = env.run(&["cert", "--uri", uri, "--cert-file", "u.pem", "--key-file", "u-key.pem"]);
        assert_eq!(r.code, 1, "{uri} was accepted: {}", r.stdout);
    }
}

// ------------------------------------------------------------------------------------------------
// Regressions found by fuzzing (fuzz/): inputs that once crashed or broke an oracle, replayed
// through the library.

/// Replays every file under fuzz/regressions/<target>/ through the same checks as the targets,
/// minus libFuzzer: the CSR parser and signer, the name parser, and CA loading.
#[test]
fn fuzz_regressions_replay() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let root = test_root();
    let mut count = 0;
    for entry in fs::read_dir(base.join("csr")).into_iter().flatten() {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        if let Ok(request) = localca::CertificateRequest::from_bytes(&bytes, &path) {
            let _ = root.sign_request(&request, &localca::LeafProfile::default());
        }
        count += 1;
    }
    for entry in fs::read_dir(base.join("names")).into_iter().flatten() {
        let text = String::from_utf8_lossy(&fs::read(entry.unwrap().path()).unwrap()).into_owned();
        let mut set = localca::NameConstraintSet::default();
        for line in text.split('\n') {
            if let Ok(name) = localca::SubjectName::parse(line) {
                assert_eq!(
                    localca::SubjectName::parse(&name.to_string()).ok(),
                    Some(name.clone()),
                    "{line:?}"
                );
                let _ = set.permits(&name);
            }
            let _ = localca::SubjectName::uri(line);
            let _ = set.permit(line);
        }
        count += 1;
    }
    for entry in fs::read_dir(base.join("ca_home")).into_iter().flatten() {
        // Mode byte, u16 length, certificate, key (as the ca_home target reads them).
        let data = fs::read(entry.unwrap().path()).unwrap();
        let Some((_, rest)) = data.split_first() else { continue };
        let (cert, key) = match rest.split_first_chunk::<2>() {
            Some((n, rest)) => rest.split_at(usize::from(u16::from_be_bytes(*n)).min(rest.len())),
            None => (rest, &[][..]),
        };
        let (cert, key) = (String::from_utf8_lossy(cert), String::from_utf8_lossy(key));
        let _ = localca::RootCa::from_pem(&cert, &key, Path::new("root.pem"), Path::new("root-key.pem"));
        let _ = localca::RootCertificate::from_pem(&cert, Path::new("root.pem"));
        count += 1;
    }
    eprintln!("replayed {count} fuzz regression inputs");
}

fn test_root() -> localca::RootCa {
    let dir = tempfile::tempdir().unwrap();
    let profile = localca::RootProfile {
        name_constraints: Some(localca::NameConstraintSet::default()),
        user_at_host: "test@localhost".into(),
        key_storage: localca::KeyStorageChoice::File,
    };
    localca::CaHome::at(dir.path().join("ca")).load_or_create(&profile).unwrap().0
}

/// Garbage, truncated and mismatched CA files are errors naming the file, never a panic.
#[test]
fn garbage_ca_files_are_errors() {
    use localca::RootCa;
    let env = Env::new();
    env.create_ca();
    let other = Env::new();
    other.create_ca();
    let cert = fs::read_to_string(env.root_pem_path()).unwrap();
    let key = fs::read_to_string(env.root_key_path()).unwrap();
    let other_key = fs::read_to_string(other.root_key_path()).unwrap();
    let (cp, kp) = (Path::new("root.pem"), Path::new("root-key.pem"));
    assert!(RootCa::from_pem(&cert, &key, cp, kp).is_ok());
    let garbage: Vec<(String, String)> = vec![
        (cert.clone(), other_key.clone()),
        (fs::read_to_string(other.root_pem_path()).unwrap(), key.clone()),
        (key.clone(), cert.clone()),
        (cert[..cert.len() / 2].into(), key.clone()),
        (cert.clone(), key[..key.len() / 2].into()),
        (String::new(), String::new()),
        (cert.replace('M', "N"), key.clone()),
        ("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n".into(), key.clone()),
        ("\u{0}\u{ff}".into(), "\u{0}".into()),
    ];
    for (i, (c, k)) in garbage.iter().enumerate() {
        match RootCa::from_pem(c, k, cp, kp) {
            Ok(_) => panic!("garbage pair {i} loaded"),
            Err(e) => {
                let m = e.to_string();
                assert!(m.contains("root.pem") || m.contains("root-key.pem"), "{i}: {m}");
                assert!(!m.contains("PRIVATE KEY"), "{i}: {m}");
            }
        }
    }
    // Binary files in the CA home, through the command.
    fs::write(env.root_key_path(), b"\xff\xfe\x00\x01").unwrap();
    assert_one_line_error(&env.run(&["cert", "a.test"]), "binary key file");
    fs::write(env.root_key_path(), key.as_bytes()).unwrap();
    fs::write(env.root_pem_path(), b"\x30\x82\xff\xff").unwrap();
    assert_one_line_error(&env.run(&["cert", "a.test"]), "binary certificate");
    assert_eq!(fs::read(env.root_pem_path()).unwrap(), b"\x30\x82\xff\xff", "never replaced");
}

/// Was a bug (fixed; found by fuzz/ca_home): `RootCa::from_parts` (src/root.rs) compares only the key bits of
/// the certificate's SubjectPublicKeyInfo with the key, and nothing checks the root's
/// self-signature. A root.pem whose curve OID was changed (the fuzzer's find), or whose name
/// constraints were edited, still loads as a whole CA: `ca show` shows the edited constraints,
/// `install` would install the edited certificate, and the leaves it issues do not verify against
/// it. Fix, in src/root.rs: in `RootCertificate::from_pem`, check
/// `x509.verify_signature(None)` (the certificate must be signed by its own key; x509-parser's
/// `verify` feature is already on) and fail with `Error::damaged(path, "its self-signature does
/// not verify (the file was changed)")`; and in `from_parts`, compare the whole SPKI
/// (`x509.public_key().raw` kept as `spki_der`, against rcgen's `key.subject_public_key_info()`).
#[test]

fn a_root_whose_certificate_was_changed_is_damaged() {
    let env = Env::new();
    env.create_ca();
    let cert_der = env.root_der();
    let key = fs::read_to_string(env.root_key_path()).unwrap();
    let (cp, kp) = (Path::new("root.pem"), Path::new("root-key.pem"));
    let edit = |from: &[u8], to: &[u8]| {
        let mut der = cert_der.clone();
        let at = der.windows(from.len()).position(|w| w == from).expect("bytes to edit");
        der[at..at + to.len()].copy_from_slice(to);
        pem::encode(&pem::Pem::new("CERTIFICATE", der))
    };
    // prime256v1 (1.2.840.10045.3.1.7) in the SPKI parameters, first byte changed as the fuzzer did.
    let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let curve = edit(&p256, &[0x06, 0x08, 0xea]);
    // The permitted subtree `test` (dNSName [2], length 4) made `bank`.
    let constraints = edit(b"\x82\x04test", b"\x82\x04bank");
    for (what, pem) in [("curve", curve), ("name constraints", constraints)] {
        let loaded = localca::RootCa::from_pem(&pem, &key, cp, kp);
        assert!(loaded.is_err(), "a root.pem with its {what} changed loads as a whole CA");
    }
}

/// The fuzzer's input itself, through `CaHome::load` (mode 3: both files written to a CA home).
#[test]
fn fuzz_ca_home_regression_does_not_panic() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/ca_home/spki-curve-oid-changed");
    let data = fs::read(&base).unwrap();
    let n = usize::from(u16::from_be_bytes([data[1], data[2]]));
    let (cert, key) = data[3..].split_at(n);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("root.pem"), cert).unwrap();
    fs::write(dir.path().join("root-key.pem"), key).unwrap();
    let home = localca::CaHome::at(dir.path());
    let _ = home.load_certificate().map(|c| c.fingerprint_hex());
    if let Ok(root) = home.load() {
        // Loads today (the bug above); issuing must still not panic.
        let _ = root.issue(&[localca::SubjectName::parse("localhost").unwrap()], &Default::default());
    }
}

/// Was a bug (fixed; found by fuzz/ca_home): a root.pem whose subject holds an attribute OID whose first
/// subidentifier is 80 or more (a one-byte change of organizationName `06 03 55 04 0a` to
/// `06 03 d5 04 0a`, which is 2.133.4.10 but which x509-parser's `Oid::iter` reads as 5.13.4.10)
/// loads (`ca show` succeeds: the self-signature is never checked and the key still matches), then
/// `cert` panics inside rcgen (yasna `write_oid`: "Invalid OID {5 13 ...}") when writing the issuer
/// name: exit 101, or SIGABRT in the release build (panic = "abort"). Fix, in src/root.rs
/// `RootCertificate::from_pem`: verify the self-signature (see
/// `a_root_whose_certificate_was_changed_is_damaged`), which refuses this file as damaged; and,
/// as a belt to those braces, refuse subject attribute OIDs whose first subidentifier is 80 or
/// more before they reach `Issuer::from_ca_cert_der` (upstream bugs worth reporting: rcgen should
/// return an error rather than panic, and asn1-rs should decode 0xd5 as 2.133).
#[test]

fn a_root_with_an_invalid_oid_in_its_subject_is_an_error() {
    let env = Env::new();
    env.create_ca();
    let mut der = env.root_der();
    // organizationName (2.5.4.10 = 06 03 55 04 0a) in the subject, its first subidentifier made
    // 0xd5, as the fuzzer did; the issuer name (the same bytes, first) is left as it is.
    let o = [0x06, 0x03, 0x55, 0x04, 0x0a];
    let first = der.windows(5).position(|w| w == o).unwrap();
    let at = first + 5 + der[first + 5..].windows(5).position(|w| w == o).unwrap();
    der[at + 2] = 0xd5;
    write(&env.root_pem_path(), pem::encode(&pem::Pem::new("CERTIFICATE", der)));
    for args in [&["cert", "a.test"][..], &["ca", "show"]] {
        let r = env.run(args);
        assert!(!r.stderr.contains("panicked"), "{args:?} panicked: {}", r.stderr);
        assert_one_line_error(&r, &format!("{args:?} with a root.pem whose subject has an invalid OID"));
    }
}
