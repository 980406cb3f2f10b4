//! The root key in the OS keyring, against a real Secret Service: gnome-keyring-daemon on a private
//! D-Bus session bus (`tests/keyring/session`), never the runner's own keyring. Each test has its
//! own HOME, XDG_DATA_HOME (where the keyring file lives, so a key stored in one session is read in
//! the next one unlocked with the same password), XDG_RUNTIME_DIR, LOCALCA_HOME and working folder.
//! "No bus" runs have no DBUS_SESSION_BUS_ADDRESS and an empty XDG_RUNTIME_DIR, so zbus finds nothing.
//!
//! Skips (passes, saying why) when dbus-run-session, gnome-keyring-daemon, secret-tool or openssl
//! is missing; `tests/run` installs them when run as root.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_localca");
const SESSION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keyring/session");
const PASSWORD: &str = "correct horse battery staple";
const KEYRING: &str = "the Secret Service keyring";
/// Longer than any healthy run here (about 0.3 s); a run that hangs on a prompt fails the test.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Variables of the runner that would reach its own keyring, desktop or CA.
const REMOVED_ENV: &[&str] = &[
    "DBUS_SESSION_BUS_ADDRESS",
    "DBUS_STARTER_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "GNOME_KEYRING_CONTROL",
    "SSH_AUTH_SOCK",
    "LOCALCA_KEY_STORAGE",
    "LOCALCA_STORES",
    "SUDO_USER",
    "SUDO_UID",
    "SUDO_GID",
];

/// How a command reaches the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bus {
    /// No session bus at all.
    None,
    /// A session bus with gnome-keyring unlocked with [`PASSWORD`].
    Unlocked,
    /// A session bus with gnome-keyring running but not unlocked: the `login` collection is locked,
    /// or (before anything unlocked it once) does not exist.
    Locked,
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    stdout_bytes: Vec<u8>,
}

impl Out {
    fn error_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("error:")).collect()
    }
}

/// One test's private world, removed when dropped.
struct World {
    tmp: tempfile::TempDir,
    ca: PathBuf,
    cwd: PathBuf,
    runs: AtomicUsize,
}

/// Why these tests cannot run here, if they cannot (checked once per test binary).
fn skip_reason() -> Option<&'static str> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON
        .get_or_init(|| {
            for tool in ["dbus-run-session", "dbus-send", "gnome-keyring-daemon", "secret-tool", "openssl"] {
                let found = Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !found {
                    return Some(format!(
                        "{tool} is not installed (packages dbus, gnome-keyring, libsecret-tools)"
                    ));
                }
            }
            let probe = World::new();
            let out = probe.run_program(Bus::Unlocked, "true", &[]);
            match out.code {
                0 => None,
                77 => Some(format!("the keyring session cannot start here: {}", out.stderr.trim())),
                code => panic!("tests/keyring/session failed ({code}): {}", out.stderr),
            }
        })
        .as_deref()
}

macro_rules! require_keyring {
    () => {
        if let Some(reason) = skip_reason() {
            println!("skipped: {reason}");
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

impl World {
    fn new() -> World {
        let tmp = tempfile::Builder::new().prefix("localca-keyring").tempdir().expect("temp dir");
        for dir in ["home", "data", "config", "cache", "runtime", "cwd", "logs"] {
            fs::create_dir(tmp.path().join(dir)).unwrap();
        }
        fs::set_permissions(tmp.path().join("runtime"), fs::Permissions::from_mode(0o700)).unwrap();
        World { ca: tmp.path().join("ca"), cwd: tmp.path().join("cwd"), tmp, runs: AtomicUsize::new(0) }
    }

    fn command(&self, bus: Bus, program: &str, args: &[&str]) -> Command {
        let mut cmd = match bus {
            Bus::None => Command::new(program),
            Bus::Unlocked | Bus::Locked => {
                let mut cmd = Command::new(SESSION);
                cmd.arg(if bus == Bus::Locked { "--locked" } else { PASSWORD }).arg(program);
                cmd
            }
        };
        cmd.args(args).current_dir(&self.cwd);
        for var in REMOVED_ENV {
            cmd.env_remove(var);
        }
        let t = self.tmp.path();
        cmd.env("HOME", t.join("home"))
            .env("XDG_DATA_HOME", t.join("data"))
            .env("XDG_CONFIG_HOME", t.join("config"))
            .env("XDG_CACHE_HOME", t.join("cache"))
            .env("XDG_RUNTIME_DIR", t.join("runtime"))
            .env("LOCALCA_HOME", &self.ca)
            .env("LOCALCA_SESSION_LOG", t.join("logs").join("session.log"));
        cmd
    }

    /// Runs `program` with a deadline; output goes through files, so a daemon that outlives the
    /// command cannot hold a pipe open.
    fn run_command(&self, mut cmd: Command) -> Out {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        let logs = self.tmp.path().join("logs");
        let (out_path, err_path) = (logs.join(format!("{n}.out")), logs.join(format!("{n}.err")));
        cmd.stdin(Stdio::null())
            .stdout(fs::File::create(&out_path).unwrap())
            .stderr(fs::File::create(&err_path).unwrap());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} did not finish in {TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let stdout_bytes = fs::read(&out_path).unwrap();
        Out {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
            stderr: fs::read_to_string(&err_path).unwrap(),
            stdout_bytes,
        }
    }

    fn run_program(&self, bus: Bus, program: &str, args: &[&str]) -> Out {
        let out = self.run_command(self.command(bus, program, args));
        assert_ne!(out.code, 77, "the keyring session could not start: {}", out.stderr);
        out
    }

    /// Runs localca.
    fn run(&self, bus: Bus, args: &[&str]) -> Out {
        self.run_program(bus, BIN, args)
    }

    /// Runs localca and requires success.
    fn ok(&self, bus: Bus, args: &[&str]) -> Out {
        let out = self.run(bus, args);
        assert_eq!(out.code, 0, "localca {args:?} ({bus:?}) failed:\n{}{}", out.stdout, out.stderr);
        out
    }

    /// Runs localca and requires exit 1 with exactly one `error:` line naming the keyring and
    /// containing `reason`, and a `hint:` line. Returns the error line.
    fn keyring_failure(&self, bus: Bus, args: &[&str], reason: &str) -> String {
        let out = self.run(bus, args);
        assert_eq!(out.code, 1, "localca {args:?} ({bus:?}) should fail:\n{}{}", out.stdout, out.stderr);
        let errors = out.error_lines();
        assert_eq!(errors.len(), 1, "one error line expected:\n{}", out.stderr);
        let line = errors[0];
        assert!(line.starts_with(&format!("error: {KEYRING}")), "the error should name the keyring: {line}");
        assert!(line.contains("is unavailable: "), "{line}");
        assert!(line.contains(reason), "the error should say {reason:?}: {line}");
        assert!(out.stderr.lines().any(|l| l.starts_with("hint:")), "a hint expected:\n{}", out.stderr);
        line.to_string()
    }

    fn cert_path(&self) -> PathBuf {
        self.ca.join("root.pem")
    }

    fn key_path(&self) -> PathBuf {
        self.ca.join("root-key.pem")
    }

    fn marker(&self) -> Option<String> {
        fs::read_to_string(self.ca.join("key-storage")).ok()
    }

    /// The root's SHA-256 fingerprint, lower-case hex, computed by OpenSSL from root.pem.
    fn fingerprint(&self) -> String {
        let out =
            self.openssl(&["x509", "-in", path_str(&self.cert_path()), "-noout", "-fingerprint", "-sha256"]);
        let hex = out.stdout.trim().rsplit('=').next().unwrap().replace(':', "").to_ascii_lowercase();
        assert_eq!(hex.len(), 64, "{}", out.stdout);
        hex
    }

    fn openssl(&self, args: &[&str]) -> Out {
        let out = self.run_program(Bus::None, "openssl", args);
        assert_eq!(out.code, 0, "openssl {args:?}: {}", out.stderr);
        out
    }

    /// The accounts of the `service localca` items, as secret-tool sees them in a new session. To
    /// make "none" mean something, the same session stores and reads back a canary item first.
    fn keyring_accounts(&self) -> Vec<String> {
        let script =
            "printf canary | secret-tool store --label=canary service localca-test-canary username c \
                      && [ \"$(secret-tool lookup service localca-test-canary username c)\" = canary ] \
                      && echo CANARY-OK && secret-tool search --all service localca";
        let out = self.run_program(Bus::Unlocked, "sh", &["-c", script]);
        assert!(out.stdout.contains("CANARY-OK"), "the keyring did not work:\n{}{}", out.stdout, out.stderr);
        // secret-tool prints the attributes on stderr.
        out.stderr
            .lines()
            .filter_map(|l| l.trim().strip_prefix("attribute.username = "))
            .map(String::from)
            .collect()
    }

    /// The secret of the item for this account (its stdout), read in a new session.
    fn keyring_secret(&self, account: &str) -> String {
        let out = self.run_program(
            Bus::Unlocked,
            "secret-tool",
            &["lookup", "service", "localca", "username", account],
        );
        assert_eq!(out.code, 0, "no keyring item for {account}: {}", out.stderr);
        out.stdout
    }

    /// Issues a leaf for `name` and checks it with OpenSSL against root.pem.
    fn cert_verifies(&self, bus: Bus, name: &str) {
        self.ok(bus, &["cert", name]);
        let leaf = self.cwd.join(format!("{name}.pem"));
        assert!(self.cwd.join(format!("{name}-key.pem")).is_file());
        let out = self.run_program(
            Bus::None,
            "openssl",
            &["verify", "-CAfile", path_str(&self.cert_path()), path_str(&leaf)],
        );
        assert_eq!(out.code, 0, "openssl verify: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(": OK"), "{}", out.stdout);
    }

    /// The public key (PEM) of the certificate root.pem.
    fn cert_public_key(&self) -> String {
        self.openssl(&["x509", "-in", path_str(&self.cert_path()), "-noout", "-pubkey"]).stdout
    }

    /// The public key (PEM) of a private key given as PEM.
    fn public_key_of(&self, key_pem: &str) -> String {
        let file = self.tmp.path().join("logs").join("key-to-check.pem");
        fs::write(&file, key_pem).unwrap();
        let out = self.openssl(&["pkey", "-in", path_str(&file), "-pubout"]);
        fs::remove_file(&file).unwrap();
        out.stdout
    }

    fn ca_show_json(&self, bus: Bus) -> serde_json::Value {
        let out = self.ok(bus, &["ca", "show", "--json"]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Dir { mode: u32 },
    File { mode: u32, bytes: Vec<u8> },
}

/// Every entry under `dir` with its mode and bytes; `None` when `dir` does not exist.
fn snapshot(dir: &Path) -> Option<BTreeMap<PathBuf, Entry>> {
    fn walk(base: &Path, dir: &Path, map: &mut BTreeMap<PathBuf, Entry>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let rel = path.strip_prefix(base).unwrap().to_path_buf();
            if meta.is_dir() {
                map.insert(rel, Entry::Dir { mode });
                walk(base, &path, map);
            } else {
                map.insert(rel, Entry::File { mode, bytes: fs::read(&path).unwrap() });
            }
        }
    }
    if !dir.exists() {
        return None;
    }
    let mut map = BTreeMap::new();
    walk(dir, dir, &mut map);
    Some(map)
}

fn names(snapshot: &BTreeMap<PathBuf, Entry>) -> Vec<String> {
    snapshot.keys().map(|p| p.display().to_string()).collect()
}

/// Requires that no file in the CA home holds a private key.
fn assert_no_private_key_file(world: &World) {
    for (path, entry) in snapshot(&world.ca).expect("a CA home") {
        if let Entry::File { bytes, .. } = entry {
            assert!(
                !bytes.windows(b"PRIVATE KEY".len()).any(|w| w == b"PRIVATE KEY"),
                "{} in the CA home holds a private key",
                path.display()
            );
        }
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

// 1. The key lives in the keyring only, and a later session (same HOME and password) reads it.
#[test]
fn keyring_holds_the_key_and_a_new_session_reads_it() {
    require_keyring!();
    let world = World::new();
    let out = world.ok(Bus::Unlocked, &["ca", "create", "--key-storage", "keyring"]);
    let fp = world.fingerprint();
    assert_eq!(out.stdout.trim(), fp);

    let home = snapshot(&world.ca).unwrap();
    assert_eq!(names(&home), [".lock", "key-storage", "root.pem"]);
    assert_no_private_key_file(&world);
    assert_eq!(world.marker().as_deref(), Some("keyring\n"));

    assert_eq!(world.keyring_accounts(), [fp.as_str()]);
    // The item holds the root's own key.
    let secret = world.keyring_secret(&fp);
    assert!(secret.contains("PRIVATE KEY"), "{secret}");
    assert_eq!(world.public_key_of(&secret), world.cert_public_key());

    let show = world.ca_show_json(Bus::Unlocked);
    assert_eq!(show["sha256"], fp.as_str());
    assert_eq!(show["key"], serde_json::json!({"storage": "keyring", "service": "localca", "account": fp}));

    world.cert_verifies(Bus::Unlocked, "myapp.test");
    // A new session: a new bus and daemon, the same keyring file unlocked with the same password.
    let root_before = fs::read(world.cert_path()).unwrap();
    world.cert_verifies(Bus::Unlocked, "other.test");
    assert_eq!(fs::read(world.cert_path()).unwrap(), root_before, "the root changed");
    assert_eq!(world.fingerprint(), fp);
    // Issuing records the leaf in inventory.json and changes nothing else.
    let mut after = snapshot(&world.ca).unwrap();
    assert!(after.remove(std::path::Path::new("inventory.json")).is_some(), "the leaf was not recorded");
    assert_eq!(after, home, "issuing changed the CA home");
}

// 2a. `auto` (the default, and LOCALCA_KEY_STORAGE=auto) picks the keyring when it answers.
#[test]
fn auto_puts_the_key_in_the_keyring_when_one_answers() {
    require_keyring!();
    let world = World::new();
    let out = world.ok(Bus::Unlocked, &["ca", "create"]);
    let fp = world.fingerprint();
    let line = out.stderr.lines().find(|l| l.contains("Its key is in")).expect(&out.stderr).to_string();
    assert!(line.contains(KEYRING) && line.contains(&fp), "{line}");
    assert!(!world.key_path().exists());
    assert_no_private_key_file(&world);
    assert_eq!(world.marker().as_deref(), Some("keyring\n"));
    assert_eq!(world.keyring_accounts(), [fp]);

    // The variable says the same.
    let world = World::new();
    let mut cmd = world.command(Bus::Unlocked, BIN, &["cert", "myapp.test"]);
    cmd.env("LOCALCA_KEY_STORAGE", "auto");
    let out = world.run_command(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains(KEYRING), "{}", out.stderr);
    assert_eq!(world.keyring_accounts(), [world.fingerprint()]);
}

// 2b. `auto` with no keyring answering: a 0600 file, and one line on stderr saying why.
#[test]
fn auto_without_a_keyring_falls_back_to_a_0600_file_and_says_why() {
    require_keyring!();
    // No session bus at all.
    let world = World::new();
    let out = world.ok(Bus::None, &["ca", "create"]);
    let why: Vec<&str> = out.stderr.lines().filter(|l| l.contains("no OS keyring answered")).collect();
    assert_eq!(why.len(), 1, "one line saying why:\n{}", out.stderr);
    assert!(why[0].contains("root-key.pem") && why[0].contains("0600"), "{}", why[0]);
    assert!(why[0].contains("no session bus"), "the reason should be given: {}", why[0]);
    assert_eq!(mode(&world.key_path()), 0o600);
    assert!(fs::read_to_string(world.key_path()).unwrap().contains("PRIVATE KEY"));
    assert_eq!(world.marker(), None);
    let show = world.ca_show_json(Bus::None);
    assert_eq!(show["key"]["storage"], "file");
    assert_eq!(show["key"]["path"], path_str(&world.key_path()));
    world.cert_verifies(Bus::None, "myapp.test");

    // A bus and a daemon, but no unlocked collection (a fresh, never unlocked keyring).
    let world = World::new();
    let out = world.ok(Bus::Locked, &["cert", "myapp.test"]);
    let why: Vec<&str> = out.stderr.lines().filter(|l| l.contains("no OS keyring answered")).collect();
    assert_eq!(why.len(), 1, "one line saying why:\n{}", out.stderr);
    assert!(why[0].contains("no unlocked default collection"), "{}", why[0]);
    assert_eq!(mode(&world.key_path()), 0o600);
    assert_eq!(world.marker(), None);
}

// 2c. `--key-storage keyring` without a keyring fails and leaves nothing behind.
#[test]
fn keyring_storage_without_a_keyring_fails_and_creates_nothing() {
    require_keyring!();
    let world = World::new();
    world.keyring_failure(Bus::None, &["ca", "create", "--key-storage", "keyring"], "no session bus");
    assert!(!world.ca.exists(), "the CA home was left behind: {:?}", snapshot(&world.ca));

    world.keyring_failure(Bus::None, &["cert", "--key-storage", "keyring", "myapp.test"], "no session bus");
    assert!(!world.ca.exists(), "the CA home was left behind: {:?}", snapshot(&world.ca));
    assert_eq!(names(&snapshot(&world.cwd).unwrap()), Vec::<String>::new(), "cert wrote files");

    let mut cmd = world.command(Bus::None, BIN, &["ca", "create"]);
    cmd.env("LOCALCA_KEY_STORAGE", "keyring");
    let out = world.run_command(cmd);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(KEYRING), "{}", out.stderr);
    assert!(!world.ca.exists());

    // A bus, but a never unlocked keyring.
    world.keyring_failure(Bus::Locked, &["ca", "create", "--key-storage", "keyring"], "collection");
    assert!(!world.ca.exists(), "the CA home was left behind: {:?}", snapshot(&world.ca));
}

// 3. A keyring-held CA with the keyring out of reach: `cert` fails, never makes a new root or a file.
#[test]
fn cert_fails_cleanly_when_the_keyring_is_out_of_reach() {
    require_keyring!();
    let world = World::new();
    world.ok(Bus::Unlocked, &["ca", "create", "--key-storage", "keyring"]);
    let fp = world.fingerprint();
    let home = snapshot(&world.ca).unwrap();

    let cases: [(Bus, &[&str], &str); 4] = [
        (Bus::None, &["cert", "myapp.test"], "no session bus"),
        // Asking for a file only matters when a root is created: no fallback here.
        (Bus::None, &["cert", "--key-storage", "file", "myapp.test"], "no session bus"),
        // The login keyring exists (created by the first session) but nothing unlocks it.
        (Bus::Locked, &["cert", "myapp.test"], "locked"),
        (Bus::Locked, &["cert", "--key-storage", "auto", "myapp.test"], "locked"),
    ];
    for (bus, args, reason) in cases {
        world.keyring_failure(bus, args, reason);
        assert_eq!(snapshot(&world.ca).unwrap(), home, "the CA home changed ({bus:?}, {args:?})");
        assert_eq!(names(&snapshot(&world.cwd).unwrap()), Vec::<String>::new(), "cert wrote files");
    }

    // The item is gone (deleted behind localca's back): still no new root.
    let out =
        world.run_program(Bus::Unlocked, "secret-tool", &["clear", "service", "localca", "username", &fp]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    world.keyring_failure(Bus::Unlocked, &["cert", "myapp.test"], "not in the keyring");
    assert_eq!(snapshot(&world.ca).unwrap(), home, "the CA home changed");
    assert_eq!(names(&snapshot(&world.cwd).unwrap()), Vec::<String>::new(), "cert wrote files");
    assert_eq!(world.keyring_accounts(), Vec::<String>::new(), "a new key was stored");
}

// 4. move-key both ways, and "already".
#[test]
fn move_key_between_file_and_keyring() {
    require_keyring!();
    let world = World::new();
    world.ok(Bus::None, &["ca", "create", "--key-storage", "file"]);
    let fp = world.fingerprint();
    let root = fs::read(world.cert_path()).unwrap();
    let public_key = world.cert_public_key();
    assert_eq!(world.public_key_of(&fs::read_to_string(world.key_path()).unwrap()), public_key);

    let out = world.ok(Bus::None, &["ca", "move-key", "--to", "file"]);
    assert!(out.stdout.contains("already"), "{}", out.stdout);

    // file -> keyring
    let out = world.ok(Bus::Unlocked, &["ca", "move-key", "--to", "keyring"]);
    assert!(out.stdout.starts_with(&format!("Moved the root key to {KEYRING}")), "{}", out.stdout);
    assert!(out.stdout.contains(&fp), "{}", out.stdout);
    assert!(!world.key_path().exists(), "root-key.pem is still there");
    assert_no_private_key_file(&world);
    assert_eq!(world.marker().as_deref(), Some("keyring\n"));
    assert_eq!(world.keyring_accounts(), [fp.as_str()]);
    assert_eq!(world.public_key_of(&world.keyring_secret(&fp)), public_key);
    world.cert_verifies(Bus::Unlocked, "myapp.test");
    // The key really is taken from the keyring now.
    world.keyring_failure(Bus::None, &["cert", "nobus.test"], "no session bus");

    let out = world.ok(Bus::Unlocked, &["ca", "move-key", "--to", "keyring"]);
    assert!(out.stdout.contains("already"), "{}", out.stdout);
    assert_eq!(world.keyring_accounts(), [fp.as_str()]);

    // keyring -> file
    let out = world.ok(Bus::Unlocked, &["ca", "move-key", "--to", "file"]);
    assert!(out.stdout.starts_with("Moved the root key to a 0600 file"), "{}", out.stdout);
    assert_eq!(world.keyring_accounts(), Vec::<String>::new(), "the keyring item is still there");
    assert_eq!(mode(&world.key_path()), 0o600);
    assert_eq!(world.public_key_of(&fs::read_to_string(world.key_path()).unwrap()), public_key);
    assert_eq!(world.marker(), None);
    world.cert_verifies(Bus::None, "other.test");
    assert_eq!(world.ca_show_json(Bus::None)["key"]["storage"], "file");

    assert_eq!(fs::read(world.cert_path()).unwrap(), root, "the root changed");
}

// 4a. file -> keyring with the keyring out of reach: the file stays, in use.
#[test]
fn move_key_to_an_unreachable_keyring_keeps_the_file() {
    require_keyring!();
    let world = World::new();
    world.ok(Bus::None, &["ca", "create", "--key-storage", "file"]);
    let home = snapshot(&world.ca).unwrap();

    world.keyring_failure(Bus::None, &["ca", "move-key", "--to", "keyring"], "no session bus");
    assert_eq!(snapshot(&world.ca).unwrap(), home, "the CA home changed");
    world.keyring_failure(Bus::Locked, &["ca", "move-key", "--to", "keyring"], "collection");
    assert_eq!(snapshot(&world.ca).unwrap(), home, "the CA home changed");

    world.cert_verifies(Bus::None, "myapp.test");
    assert_eq!(world.ca_show_json(Bus::None)["key"]["storage"], "file");
}

// 4b. keyring -> file when the file cannot be written: the keyring copy stays, in use.
#[test]
fn move_key_to_an_unwritable_file_keeps_the_keyring_copy() {
    require_keyring!();
    let world = World::new();
    world.ok(Bus::Unlocked, &["ca", "create", "--key-storage", "keyring"]);
    let fp = world.fingerprint();
    // A folder where the key file would go: the final rename fails.
    fs::create_dir(world.key_path()).unwrap();
    let home = snapshot(&world.ca).unwrap();

    let out = world.run(Bus::Unlocked, &["ca", "move-key", "--to", "file"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(errors[0].contains("root-key.pem"), "the error should name the file: {}", errors[0]);
    assert!(!out.stdout.contains("Moved"), "{}", out.stdout);

    assert_eq!(snapshot(&world.ca).unwrap(), home, "the CA home changed (temp file left, marker changed?)");
    assert_eq!(world.marker().as_deref(), Some("keyring\n"));
    assert_eq!(world.keyring_accounts(), [fp]);
    world.cert_verifies(Bus::Unlocked, "myapp.test");
}

// 4c. A failure after the new keyring copy was stored must not leave that copy behind: the key
// would stay in the keyring after the CA is gone, and nothing would ever delete it.
#[test]
fn a_failed_move_or_creation_leaves_no_key_in_the_keyring() {
    require_keyring!();
    // move-key --to keyring: the item is stored and read back, then recording the new place fails
    // (a folder where the `key-storage` marker goes).
    let world = World::new();
    world.ok(Bus::None, &["ca", "create", "--key-storage", "file"]);
    fs::create_dir(world.ca.join("key-storage")).unwrap();
    let home = snapshot(&world.ca).unwrap();
    let out = world.run(Bus::Unlocked, &["ca", "move-key", "--to", "keyring"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(snapshot(&world.ca).unwrap(), home, "the CA home changed");
    world.cert_verifies(Bus::None, "myapp.test");
    // BUG: src/home.rs move_key (KeyStorage::Keyring branch) returns on the failed
    // set_key_storage without deleting the item keyring_store just wrote, and delete() only
    // deletes an item when the marker says keyring, so even `uninstall --delete-ca` keeps this
    // copy of the root key. Fix: on any error after keyring_store, call keyring_delete (best
    // effort) before returning it.
    assert_eq!(world.keyring_accounts(), Vec::<String>::new(), "the failed move left the key in the keyring");

    // ca create --key-storage keyring: the item is stored, then writing the marker fails.
    let world = World::new();
    fs::create_dir_all(world.ca.join("key-storage")).unwrap();
    let out = world.run(Bus::Unlocked, &["ca", "create", "--key-storage", "keyring"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(!world.cert_path().exists(), "a CA was created");
    // BUG: src/home.rs create_locked (KeyStorageChoice::Keyring and Auto) returns on the failed
    // set_key_storage / certificate write without deleting the item it stored: a root key for a
    // root that never existed stays in the keyring. Fix: delete it (best effort) on those errors.
    assert_eq!(
        world.keyring_accounts(),
        Vec::<String>::new(),
        "the failed creation left a key in the keyring"
    );
}

// 5. uninstall --delete-ca deletes the keyring item too (and, without the keyring, deletes nothing).
#[test]
fn uninstall_delete_ca_deletes_the_keyring_item() {
    require_keyring!();
    let world = World::new();
    world.ok(Bus::Unlocked, &["ca", "create", "--key-storage", "keyring"]);
    let fp = world.fingerprint();
    // The NSS store of this test's empty HOME: nothing installed, nothing to change.
    let uninstall: &[&str] = &["uninstall", "--stores", "nss", "--delete-ca", "--yes"];

    // Without the keyring the CA is kept whole, not left without its key or with an orphan item.
    let home = snapshot(&world.ca).unwrap();
    world.keyring_failure(Bus::None, uninstall, "no session bus");
    assert_eq!(snapshot(&world.ca).unwrap(), home, "the CA home changed");
    assert_eq!(world.keyring_accounts(), [fp]);

    let out = world.ok(Bus::Unlocked, uninstall);
    assert!(out.stdout.contains("Deleted the CA"), "{}", out.stdout);
    assert!(!world.ca.exists(), "the CA home is still there: {:?}", snapshot(&world.ca));
    assert_eq!(world.keyring_accounts(), Vec::<String>::new(), "the keyring item is still there");
}

// 6. show and export read only the certificate: they work with no keyring at all.
#[test]
fn show_and_export_work_without_the_keyring() {
    require_keyring!();
    let world = World::new();
    world.ok(Bus::Unlocked, &["ca", "create", "--key-storage", "keyring"]);
    let fp = world.fingerprint();
    let root = fs::read(world.cert_path()).unwrap();

    for bus in [Bus::None, Bus::Locked] {
        let out = world.ok(bus, &["ca", "show"]);
        let key_line = out.stdout.lines().find(|l| l.starts_with("Key:")).expect(&out.stdout);
        assert!(key_line.contains(KEYRING) && key_line.contains(&fp), "{key_line}");
        let show = world.ca_show_json(bus);
        assert_eq!(
            show["key"],
            serde_json::json!({"storage": "keyring", "service": "localca", "account": fp})
        );

        let out = world.ok(bus, &["ca", "export"]);
        assert_eq!(out.stdout_bytes, root);
        let der = world.tmp.path().join("root.cer");
        world.ok(bus, &["ca", "export", "--der", "--out", path_str(&der)]);
        let from_openssl = world.tmp.path().join("root-openssl.cer");
        world.openssl(&[
            "x509",
            "-in",
            path_str(&world.cert_path()),
            "-outform",
            "DER",
            "-out",
            path_str(&from_openssl),
        ]);
        assert_eq!(fs::read(&der).unwrap(), fs::read(&from_openssl).unwrap());
        world.ok(bus, &["ca", "path"]);
    }
}

// The cost of `cert` with the key in the keyring against a key file (printed, not asserted). Each
// run is timed inside one shell, so the session's start is not counted.
#[test]
fn cert_cost_keyring_against_file() {
    require_keyring!();
    const RUNS: usize = 10;
    let script = format!(
        "for i in $(seq {RUNS}); do s=$(date +%s%N); \"$0\" cert t$i.test >/dev/null 2>&1 || exit 1; \
         e=$(date +%s%N); echo $(( (e - s) / 1000 )); done"
    );
    let measure = |bus: Bus, storage: &str| -> f64 {
        let world = World::new();
        world.ok(bus, &["ca", "create", "--key-storage", storage]);
        let out = world.run_program(bus, "sh", &["-c", &script, BIN]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let micros: Vec<f64> =
            out.stdout.lines().map(|l| l.trim().parse::<f64>().unwrap() / 1000.0).collect();
        assert_eq!(micros.len(), RUNS, "{}", out.stdout);
        median(micros)
    };
    let file = measure(Bus::None, "file");
    let file_in_session = measure(Bus::Unlocked, "file");
    let keyring = measure(Bus::Unlocked, "keyring");
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!(
        "cert, median of {RUNS} runs ({profile} binary): key file {file:.1} ms, key file inside a keyring \
         session {file_in_session:.1} ms, key in gnome-keyring {keyring:.1} ms"
    );
}
