//! Crash and concurrency safety: `localca` killed with SIGKILL at random moments (first-run CA
//! creation, issuance; install/uninstall in tests/sandbox through tests/hostile/kill-install), 32
//! mixed commands in parallel on one home, and a lock left by a killed process.
//!
//! The random delays come from a seed printed at the start; `LOCALCA_CRASH_SEED=N` replays a run.

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// xorshift64*: enough randomness for delays, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn from_env(test: &str) -> Rng {
        let seed =
            std::env::var("LOCALCA_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
            });
        eprintln!("{test}: LOCALCA_CRASH_SEED={seed}");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [lo, hi).
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = (hi.saturating_sub(lo)).as_micros().max(1) as u64;
        lo + Duration::from_micros(self.next() % span)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Runs `cmd` and kills it with SIGKILL after `delay` if it is still running. Returns `None` when
/// the kill landed, or how long the command took when it finished first.
fn run_and_kill(mut cmd: Command, delay: Duration) -> Option<Duration> {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn localca");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the command failed on its own: {cmd:?}");
            return Some(start.elapsed());
        }
        let left = delay.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_micros(500)));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

/// After a run that finished before its kill: the duration estimate moves towards what it took,
/// so that the random delays keep landing inside the runs.
fn adapt(estimate: &mut Duration, took: Option<Duration>) -> bool {
    match took {
        None => true,
        Some(took) => {
            *estimate = (*estimate * 3 + took) / 4;
            false
        }
    }
}

/// Median wall time of `n` runs of `make()` (each on a fresh state `prepare()` makes).
fn typical(n: usize, mut prepare: impl FnMut(), mut make: impl FnMut() -> Command) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            prepare();
            let start = Instant::now();
            let out = make().output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

/// `.NAME.PID-N.tmp`: the temp files of an interrupted atomic write of NAME.
fn is_temp_of(file: &str, names: &[&str]) -> bool {
    let Some(inner) = file.strip_prefix('.').and_then(|f| f.strip_suffix(".tmp")) else { return false };
    let Some((name, pid_n)) = inner.rsplit_once('.') else { return false };
    let Some((pid, n)) = pid_n.split_once('-') else { return false };
    names.contains(&name)
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
}

const HOME_FILES: &[&str] =
    &["root.pem", "root-key.pem", ".lock", "key-storage", "installed", "inventory.json"];

/// The public key of a PEM certificate and of a PEM key, as openssl prints them.
fn openssl_pubkeys(cert: &Path, key: &Path) -> (String, String) {
    let c = openssl_ok(Path::new("/"), &["x509", "-in", path_str(cert), "-noout", "-pubkey"]);
    let k = openssl_ok(Path::new("/"), &["pkey", "-in", path_str(key), "-pubout"]);
    (c, k)
}

/// After a kill: the CA is absent or whole (`ca show` agrees with the files, and openssl finds the
/// key to be the certificate's), and the home holds nothing but its files and temp files. Returns
/// whether a CA exists.
fn check_home(env: &Env, context: &str) -> bool {
    for file in file_names(&env.home) {
        assert!(
            HOME_FILES.contains(&file.as_str()) || is_temp_of(&file, HOME_FILES),
            "{context}: unexpected file {file} in the CA home"
        );
    }
    let show = env.run(&["ca", "show"]);
    if show.code == 0 {
        let (c, k) = openssl_pubkeys(&env.root_pem_path(), &env.root_key_path());
        assert_eq!(c, k, "{context}: the root key is not the certificate's");
        true
    } else {
        assert!(show.stderr.starts_with("error: no CA in "), "{context}: ca show says: {}", show.stderr);
        assert!(!env.root_pem_path().exists(), "{context}: root.pem exists but ca show says no CA");
        false
    }
}

/// After a kill during issuance: each output present is whole (a certificate that verifies
/// against the root, a key openssl reads), and the only other files are temp files. Returns
/// whether the certificate and key present (if both) are a pair.
fn check_outputs(env: &Env, cert: &str, key: &str, p12: Option<&str>, context: &str) -> bool {
    let mut names = vec![cert, key];
    names.extend(p12);
    for file in file_names(&env.cwd) {
        assert!(
            names.contains(&file.as_str()) || is_temp_of(&file, &names),
            "{context}: unexpected file {file} among the outputs"
        );
    }
    let (c, k) = (env.file(cert), env.file(key));
    if c.exists() {
        assert_openssl_verifies(&env.root_pem_path(), &c);
    }
    if k.exists() {
        openssl_ok(Path::new("/"), &["pkey", "-in", path_str(&k), "-noout"]);
    }
    if let Some(p) = p12.map(|p| env.file(p)).filter(|p| p.exists()) {
        openssl_ok(Path::new("/"), &["pkcs12", "-in", path_str(&p), "-passin", "pass:changeit", "-noout"]);
    }
    !(c.exists() && k.exists()) || {
        let (a, b) = openssl_pubkeys(&c, &k);
        a == b
    }
}

/// Removes the contents of `dir` (not the folder).
fn empty(dir: &Path) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
}

/// At least 200 SIGKILLs at random moments of first-run CA creation and of issuance, each followed
/// by checks of what is left and by a run that must succeed.
#[test]
fn sigkill_at_random_moments() {
    let started = Instant::now();
    let mut rng = Rng::from_env("sigkill_at_random_moments");
    let env = Env::new();

    // Typical durations (debug binary), on fresh homes and an existing one.
    let fresh = || empty(&env.home);
    let mut t_create = typical(5, fresh, || env.command(&["ca", "create"]));
    let mut t_first_cert =
        typical(5, fresh, || env.command(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "a.test"]));
    empty(&env.home);
    env.create_ca();
    let rsa_args = [
        "cert",
        "--key-type",
        "rsa-2048",
        "--cert-file",
        "c.pem",
        "--key-file",
        "k.pem",
        "--p12-file",
        "x.p12",
        "b.test",
    ];
    let mut t_rsa = typical(3, || {}, || env.command(&rsa_args));
    let mut t_cert =
        typical(5, || {}, || env.command(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "b.test"]));
    eprintln!(
        "typical: ca create {t_create:?}, first cert {t_first_cert:?}, cert {t_cert:?}, \
         rsa-2048 cert {t_rsa:?}"
    );

    let (mut kills, mut finished, mut mismatched) = (0, 0, 0);
    let (mut iteration, mut rsa_runs) = (0, 0);
    while kills < 200 {
        iteration += 1;
        assert!(iteration < 1000, "could not land 200 kills in 1000 tries");
        let scenario = rng.below(10);
        let context = format!("iteration {iteration} scenario {scenario}");
        let landed = match scenario {
            // First run: the CA is created (alone, or by `cert`), killed anywhere in it.
            0..=2 => {
                empty(&env.home);
                empty(&env.cwd);
                fs::create_dir(&env.cwd).unwrap();
                let (cmd, t) = if scenario == 0 {
                    (env.command(&["ca", "create"]), &mut t_create)
                } else {
                    (
                        env.command(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "a.test"]),
                        &mut t_first_cert,
                    )
                };
                let landed = adapt(t, run_and_kill(cmd, rng.between(Duration::ZERO, *t)));
                let had_ca = check_home(&env, &context);
                if !had_ca && scenario != 0 {
                    assert!(!env.file("c.pem").exists(), "{context}: a leaf without a CA");
                }
                if env.root_pem_path().exists() {
                    mismatched +=
                        usize::from(!check_outputs(&env, "c.pem", "k.pem", Some("x.p12"), &context));
                }
                // The next run succeeds, and its leaf verifies.
                env.ok(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "a.test"]);
                assert!(check_home(&env, &context));
                assert!(check_outputs(&env, "c.pem", "k.pem", Some("x.p12"), &context));
                landed
            }
            // Issuance on an existing CA: ECDSA (fast) and RSA-2048 with a PKCS#12 file (slow,
            // killed in its second half, where the files are written).
            _ => {
                if !env.root_pem_path().exists() {
                    env.create_ca();
                }
                let before = fs::read(env.root_pem_path()).unwrap();
                // RSA runs are slow: ten of them is enough to hit their write phase.
                let rsa = scenario == 9 && rsa_runs < 10;
                rsa_runs += usize::from(rsa);
                let landed = if rsa {
                    let delay = rng.between(t_rsa / 2, t_rsa);
                    adapt(&mut t_rsa, run_and_kill(env.command(&rsa_args), delay))
                } else {
                    let args = ["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "b.test"];
                    let delay = rng.between(Duration::ZERO, t_cert);
                    adapt(&mut t_cert, run_and_kill(env.command(&args), delay))
                };
                assert!(check_home(&env, &context));
                assert_eq!(fs::read(env.root_pem_path()).unwrap(), before, "{context}: the root changed");
                let p12 = Some("x.p12");
                mismatched += usize::from(!check_outputs(&env, "c.pem", "k.pem", p12, &context));
                let r = env.ok(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "b.test"]);
                assert!(r.stderr.is_empty() || r.stderr.starts_with("note:"), "{context}: {}", r.stderr);
                assert!(check_outputs(&env, "c.pem", "k.pem", p12, &context));
                landed
            }
        };
        if landed {
            kills += 1;
        } else {
            finished += 1;
        }
    }
    eprintln!(
        "{kills} kills landed, {finished} runs finished before their kill, {mismatched} times a \
         certificate and key left by a kill were not a pair; {:?}",
        started.elapsed()
    );
}

/// 32 mixed commands in parallel on one new home: one root at the end, and every leaf verifies
/// against it; readers saw either no CA or that root.
#[test]
fn thirty_two_parallel_commands() {
    let env = Env::new();
    let user_home = env.tmp.path().join("user-home");
    fs::create_dir(&user_home).unwrap();
    let mut children: Vec<(Vec<String>, Child)> = Vec::new();
    for i in 0..32 {
        let cert = format!("c{i}.pem");
        let key = format!("k{i}.pem");
        let args: Vec<String> = match i % 8 {
            1 => vec!["ca".into(), "show".into()],
            3 => vec!["ca".into(), "export".into()],
            5 if i < 16 => vec!["status".into()],
            5 => vec!["status".into(), "--stores".into(), "system".into()],
            7 => vec!["ca".into(), "show".into(), "--json".into()],
            _ => {
                let kt = ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ecdsa-p256"][i % 4];
                let name = format!("n{i}.test");
                ["cert", "--key-type", kt, "--cert-file", &cert, "--key-file", &key, &name, "127.0.0.1"]
                    .map(String::from)
                    .to_vec()
            }
        };
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = env.command(&argv);
        cmd.env("HOME", &user_home).stdout(Stdio::piped()).stderr(Stdio::piped());
        children.push((args, cmd.spawn().unwrap()));
    }
    let mut outputs = Vec::new();
    for (args, child) in children {
        let out = child.wait_with_output().unwrap();
        outputs.push((args, out));
    }
    let root_pem = fs::read_to_string(env.root_pem_path()).expect("a root at the end");
    let fingerprint = sha256_hex(&env.root_der());
    assert_eq!(file_names(&env.home).iter().filter(|f| f.ends_with(".pem")).count(), 2, "one root");
    let mut leaves = 0;
    for (args, out) in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        match args[0].as_str() {
            "cert" => {
                assert!(out.status.success(), "{args:?}: {stderr}");
                assert_openssl_verifies(&env.root_pem_path(), &env.file(&args[4]));
                leaves += 1;
            }
            "status" => {
                // Not installed anywhere: exit 1 with the fix, or no CA yet.
                assert!(
                    stdout.contains(&fingerprint[..16]) || stderr.starts_with("error: no CA"),
                    "{args:?}: {stdout}{stderr}"
                );
            }
            _ if out.status.success() => match args[1].as_str() {
                "export" => assert_eq!(stdout, root_pem, "export printed another root"),
                _ => assert!(stdout.contains(&fingerprint), "{args:?} saw another root: {stdout}"),
            },
            _ => assert!(stderr.starts_with("error: no CA in "), "{args:?}: {stderr}"),
        }
    }
    assert_eq!(leaves, 16);
    let temps: Vec<String> = file_names(&env.cwd).into_iter().filter(|f| f.ends_with(".tmp")).collect();
    assert!(temps.is_empty(), "{temps:?}");
}

/// A process killed while it holds the CA home's lock does not block the next run: the lock is
/// the kernel's (flock), released when its holder dies, whatever file it leaves behind.
#[test]
fn a_lock_left_by_a_killed_process_never_blocks() {
    let env = Env::new();
    let lock_path = env.home.join(".lock");
    // Catch a first-run `cert` while it holds the lock (during CA creation), and freeze it there.
    let mut holder = None;
    for attempt in 0..200 {
        empty(&env.home);
        let mut child = env
            .command(&["cert", "--key-type", "rsa-3072", "a.test"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as libc::pid_t;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut caught = false;
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            let Ok(file) = fs::OpenOptions::new().write(true).open(&lock_path) else { continue };
            if let Err(fs::TryLockError::WouldBlock) = file.try_lock() {
                // SAFETY: signalling our own child.
                unsafe { libc::kill(pid, libc::SIGSTOP) };
                // Still held once stopped? Then we froze it inside the lock.
                let again = fs::OpenOptions::new().write(true).open(&lock_path).unwrap();
                caught = matches!(again.try_lock(), Err(fs::TryLockError::WouldBlock));
                if !caught {
                    unsafe { libc::kill(pid, libc::SIGCONT) };
                }
                break;
            }
        }
        if caught {
            eprintln!("froze a `cert` holding the lock after {} attempts", attempt + 1);
            holder = Some(child);
            break;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut holder = holder.expect("could not catch a process holding the lock in 200 attempts");

    // While the holder is frozen, another first run waits for the lock…
    let mut waiter = env
        .command(&["cert", "--cert-file", "w.pem", "--key-file", "w-key.pem", "b.test"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(matches!(waiter.try_wait(), Ok(None)), "the lock did not hold another process back");
    // …and once the holder is killed it goes on at once.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let killed_at = Instant::now();
    let status = loop {
        if let Some(status) = waiter.try_wait().unwrap() {
            break status;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(20), "still blocked 20 s after the holder died");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    waiter.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    eprintln!("the waiter finished {:?} after the holder was killed", killed_at.elapsed());
    assert!(lock_path.exists(), "the lock file stays (it is not what locks)");
    assert_openssl_verifies(&env.root_pem_path(), &env.file("w.pem"));

    // The lock file left behind by a killed process blocks nothing either.
    let start = Instant::now();
    env.ok(&["cert", "c.test"]);
    env.ok(&["ca", "move-key", "--to", "file"]);
    assert!(start.elapsed() < Duration::from_secs(20));
}

/// SIGKILL during `install` and `uninstall` (about 20 times), inside tests/sandbox: see
/// tests/hostile/kill-install. Skipped, with the reason, when not root.
#[test]
fn sigkill_during_install_and_uninstall_in_the_sandbox() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(repo.join("tests/sandbox"))
        .arg(repo.join("tests/hostile/kill-install"))
        .arg(BIN)
        .env_remove("LOCALCA_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    match out.status.code() {
        Some(0) => eprintln!("{text}"),
        Some(77) => skip("sigkill_during_install_and_uninstall_in_the_sandbox", text.trim(), false),
        other => panic!("kill-install failed ({other:?}):\n{text}"),
    }
}

/// Was a bug (fixed): src/home.rs `with_creation_lock` removes `.lock` (and the folder, when empty) after a
/// failed first creation, while other processes may be blocked on that very lock file. A waiter
/// then holds a lock on an unlinked file, a newcomer creates and locks a fresh `.lock`, and both
/// create a root: a leaf is issued by a root that is replaced a moment later (it never verifies),
/// the home can end with `root-key.pem` of one root beside `root.pem` of the other (a damaged CA
/// that localca never repairs), and a creator whose folder was removed under it fails with ENOENT.
/// Reproduced below with first runs of which some fail (keyring storage with no session bus).
/// Fix: keep `.lock` (and the folder) after a failed creation — an empty 0700 folder is harmless —
/// or, if it must go, make `CaHome::lock` check after `file.lock()` that the path still names the
/// locked file (compare `fstat` and `stat` dev/inode; retry from `create_private_dir` if not).
#[test]

fn a_failing_first_run_never_lets_two_roots_be_made() {
    let mut problems = Vec::new();
    for round in 0..20 {
        let env = Env::new();
        let children: Vec<(bool, Child)> = (0..12)
            .map(|i| {
                let file = i % 3 == 0;
                let (cert, key) = (format!("c{i}.pem"), format!("k{i}.pem"));
                let mut cmd = env.command(&["cert", "--cert-file", &cert, "--key-file", &key, "a.test"]);
                // Keyring storage fails at once without a session bus: a creation that fails.
                cmd.env("LOCALCA_KEY_STORAGE", if file { "file" } else { "keyring" });
                (file, cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
            })
            .collect();
        for (i, (file, child)) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            if file && !out.status.success() {
                problems
                    .push(format!("round {round}: run {i} failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
        }
        if !env.root_pem_path().exists() {
            continue;
        }
        let (c, k) = openssl_pubkeys(&env.root_pem_path(), &env.root_key_path());
        if c != k {
            problems.push(format!("round {round}: root-key.pem is not root.pem's key"));
        }
        for leaf in file_names(&env.cwd).iter().filter(|f| f.starts_with('c')) {
            if !openssl_verify(&env.root_pem_path(), &env.file(leaf)).0 {
                problems.push(format!("round {round}: {leaf} was issued by a root that was replaced"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
