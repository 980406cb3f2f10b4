//! The CA home: one root however many first runs race, the same root on every later run, damaged
//! files reported and never replaced, read-only commands that create nothing, permissions, and
//! running under sudo.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const DAMAGED_HINT: &str = "hint: localca never replaces a CA on its own";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn concurrent_first_runs_create_exactly_one_root() {
    let env = Env::new();
    let children: Vec<(std::path::PathBuf, String, std::process::Child)> = (0..16)
        .map(|i| {
            let cwd = env.tmp.path().join(format!("cwd{i}"));
            fs::create_dir(&cwd).unwrap();
            let name = format!("n{i}.test");
            let mut cmd = env.command_in(&cwd, &["cert", &name]);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            (cwd, name, cmd.spawn().expect("spawn localca"))
        })
        .collect();
    let mut created = 0;
    let mut outcomes = Vec::new();
    for (cwd, name, child) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{name}: {stderr}");
        created += stderr.matches("Created a new local CA").count();
        outcomes.push((cwd, name));
    }
    assert_eq!(created, 1, "exactly one process creates the root");
    assert_eq!(
        file_names(&env.home),
        [".lock", "inventory.json", "root-key.pem", "root.pem"],
        "no second root, no temp files"
    );
    let root = env.root_der();
    for (cwd, name) in &outcomes {
        assert_eq!(file_names(cwd), [format!("{name}-key.pem"), format!("{name}.pem")]);
        let leaf = cwd.join(format!("{name}.pem"));
        assert_openssl_verifies(&env.root_pem_path(), &leaf);
        assert_eq!(aki(&cert_der_from_file(&leaf)), ski(&root), "{name} is signed by the one root");
    }
    // And the root on disk is whole: its key belongs to it.
    env.ok(&["ca", "show"]);
}

fn show_json(env: &Env) -> serde_json::Value {
    let run = env.ok(&["ca", "show", "--json"]);
    serde_json::from_str(&run.stdout).expect("JSON")
}

#[test]
fn later_runs_reuse_the_root() {
    let env = Env::new();
    let first = env.ok(&["cert", "a.test"]);
    assert!(first.stderr.contains("Created a new local CA"));
    let root_pem = fs::read(env.root_pem_path()).unwrap();
    let root_key = fs::read(env.root_key_path()).unwrap();
    let json = show_json(&env);
    let fingerprint = json["sha256"].as_str().unwrap().to_string();
    assert_eq!(fingerprint, sha256_hex(&env.root_der()));

    let second = env.ok(&["cert", "b.test"]);
    assert!(!second.stderr.contains("Created"), "{}", second.stderr);
    assert_eq!(show_json(&env)["sha256"].as_str().unwrap(), fingerprint);
    assert_eq!(fs::read(env.root_pem_path()).unwrap(), root_pem);
    assert_eq!(fs::read(env.root_key_path()).unwrap(), root_key);
    for leaf in ["a.test.pem", "b.test.pem"] {
        assert_openssl_verifies(&env.root_pem_path(), &env.file(leaf));
    }

    // What `ca show --json` says.
    let home = env.home.to_str().unwrap();
    assert_eq!(json["home"], home);
    assert_eq!(json["certificate"], env.root_pem_path().to_str().unwrap());
    assert_eq!(json["key"]["storage"], "file");
    assert_eq!(json["key"]["path"], env.root_key_path().to_str().unwrap());
    assert_eq!(json["name_constraints"]["dns"], serde_json::json!(localca::DEFAULT_DNS));
    assert_eq!(json["name_constraints"]["ip"], serde_json::json!(localca::DEFAULT_IP));
    let text = env.ok(&["ca", "show"]).stdout;
    assert!(text.contains(&format!("SHA-256:          {fingerprint}\n")), "{text}");
}

/// One way to damage a CA: what to do to the home, and what the error line must say.
struct Damage {
    label: &'static str,
    apply: fn(&Env, &Env),
    file: &'static str,
    problem: &'static str,
}

const DAMAGES: &[Damage] = &[
    Damage {
        label: "truncated root.pem",
        apply: |env, _| {
            let pem = fs::read(env.root_pem_path()).unwrap();
            write(&env.root_pem_path(), &pem[..pem.len() / 2]);
        },
        file: "root.pem",
        problem: "not a PEM certificate",
    },
    Damage {
        label: "empty root.pem",
        apply: |env, _| write(&env.root_pem_path(), b""),
        file: "root.pem",
        problem: "not a PEM certificate",
    },
    Damage {
        label: "binary root.pem",
        apply: |env, _| write(&env.root_pem_path(), [0xff, 0xfe, 0x00, 0x80, 0x30]),
        file: "root.pem",
        problem: "not a PEM certificate",
    },
    Damage {
        label: "garbage root-key.pem",
        apply: |env, _| {
            write(&env.root_key_path(), b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
        },
        file: "root-key.pem",
        problem: "not a PEM private key",
    },
    Damage {
        label: "key of another CA",
        apply: |env, other| fs::copy(other.root_key_path(), env.root_key_path()).map(drop).unwrap(),
        file: "root.pem",
        problem: "the private key does not belong to this certificate",
    },
    Damage {
        label: "leaf copied over root.pem",
        apply: |env, other| fs::copy(other.file("leaf.test.pem"), env.root_pem_path()).map(drop).unwrap(),
        file: "root.pem",
        problem: "the certificate is not a CA",
    },
    Damage {
        label: "missing root-key.pem",
        apply: |env, _| fs::remove_file(env.root_key_path()).unwrap(),
        file: "root-key.pem",
        problem: "the root key is missing",
    },
];

#[test]
fn a_damaged_ca_is_reported_and_never_replaced() {
    let other = Env::new();
    other.ok(&["cert", "leaf.test"]);
    for damage in DAMAGES {
        let env = Env::new();
        env.create_ca();
        (damage.apply)(&env, &other);
        let before = snapshot(&env.home).unwrap();
        let path = env.home.join(damage.file);
        let expected = format!("error: damaged CA: {}: {}", path.display(), damage.problem);
        for args in [
            &["cert", "myapp.test"][..],
            &["ca", "show"],
            &["ca", "export"],
            &["cert", "--permit", "x.dev", "myapp.test"],
        ] {
            let run = env.run(args);
            assert_eq!(run.code, 1, "{}, {args:?}: {}", damage.label, run.stderr);
            let errors = run.error_lines();
            assert_eq!(errors.len(), 1, "{}, {args:?}: {}", damage.label, run.stderr);
            assert!(
                errors[0].starts_with(&expected),
                "{}, {args:?}: expected {expected:?}, got {:?}",
                damage.label,
                errors[0]
            );
            assert!(run.stderr.contains(DAMAGED_HINT), "{}: {}", damage.label, run.stderr);
            assert!(run.stdout.is_empty(), "{}: {args:?} printed {:?}", damage.label, run.stdout);
            assert_eq!(
                snapshot(&env.home).unwrap(),
                before,
                "{}: {args:?} changed the CA home",
                damage.label
            );
            assert!(env.cwd_files().is_empty(), "{}: {args:?} wrote files", damage.label);
        }
        // `ca create` does not replace it either.
        let run = env.fail(&["ca", "create"]);
        assert!(
            run.stderr.starts_with(&format!("error: a CA already exists in {}", env.home.display())),
            "{}",
            run.stderr
        );
        assert_eq!(snapshot(&env.home).unwrap(), before, "{}: ca create changed the CA home", damage.label);
    }
}

#[test]
fn read_only_commands_never_create_a_ca() {
    let env = Env::new();
    let no_ca = format!("error: no CA in {}\n", env.home.display());
    for args in [
        &["ca", "show"][..],
        &["ca", "show", "--json"],
        &["ca", "export"],
        &["ca", "export", "--der"],
        &["ca", "export", "--out", "root.pem"],
        &["ca", "path"],
    ] {
        let run = env.fail(args);
        assert!(run.stderr.starts_with(&no_ca), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("hint: create one with `localca ca create`"), "{args:?}: {}", run.stderr);
        if args == ["ca", "path"] {
            assert_eq!(run.stdout, format!("{}\n", env.home.display()), "ca path prints the folder anyway");
        } else {
            assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        }
        assert_eq!(snapshot(&env.home), None, "{args:?} created the CA home");
        assert!(env.cwd_files().is_empty(), "{args:?} wrote files");
    }
    assert_eq!(file_names(env.tmp.path()), ["cwd"]);

    // A nested home is not created either, nor its parents.
    let nested = env.tmp.path().join("a/b/localca");
    let run = run_command({
        let mut cmd = env.command(&["ca", "show"]);
        cmd.env("LOCALCA_HOME", &nested);
        cmd
    });
    assert_eq!(run.code, 1);
    assert!(!env.tmp.path().join("a").exists());

    // Once created, `ca path` succeeds.
    env.create_ca();
    let run = env.ok(&["ca", "path"]);
    assert_eq!(run.stdout, format!("{}\n", env.home.display()));
}

#[test]
fn ca_create_never_replaces_a_root() {
    let env = Env::new();
    let run = env.ok(&["ca", "create", "--permit", "mycorp.dev"]);
    assert!(
        run.stderr.starts_with(&format!("Created a new local CA in {}\n", env.home.display())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("It can only vouch for: localhost, test, example, invalid, local, internal, home.arpa, example.com, example.net, example.org, mycorp.dev, 127.0.0.0/8"));
    assert_eq!(run.stdout, format!("{}\n", sha256_hex(&env.root_der())));
    let before = snapshot(&env.home).unwrap();
    for args in [&["ca", "create"][..], &["ca", "create", "--no-name-constraints"]] {
        let run = env.fail(args);
        assert!(
            run.stderr.starts_with(&format!("error: a CA already exists in {}\n", env.home.display())),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("hint: `localca ca show` describes it"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
        assert_eq!(snapshot(&env.home).unwrap(), before);
    }
}

#[test]
fn ca_export_prints_exactly_the_root() {
    let env = Env::new();
    env.create_ca();
    let pem = fs::read(env.root_pem_path()).unwrap();
    let run = env.ok(&["ca", "export"]);
    assert_eq!(run.stdout_bytes, pem);
    assert!(run.stderr.is_empty());

    let run = env.ok(&["ca", "export", "--der"]);
    openssl_ok(
        &env.cwd,
        &["x509", "-in", path_str(&env.root_pem_path()), "-outform", "der", "-out", "openssl.der"],
    );
    let from_openssl = fs::read(env.file("openssl.der")).unwrap();
    assert_eq!(run.stdout_bytes, from_openssl);
    assert_eq!(run.stdout_bytes, env.root_der());

    env.ok(&["ca", "export", "--der", "--out", "root.cer"]);
    assert_eq!(fs::read(env.file("root.cer")).unwrap(), from_openssl);
    assert_eq!(mode(&env.file("root.cer")), 0o644);
    let run = env.ok(&["ca", "export", "--out", "root-copy.pem"]);
    assert_eq!(run.stderr, "Wrote the root certificate to root-copy.pem\n");
    assert!(run.stdout.is_empty());
    assert_eq!(fs::read(env.file("root-copy.pem")).unwrap(), pem);
}

/// Runs localca with umask 000.
fn run_with_umask_000(env: &Env, args: &[&str]) -> Run {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .current_dir(&env.cwd)
        .stdin(Stdio::null());
    cmd.env("LOCALCA_HOME", &env.home)
        .env("LOCALCA_KEY_STORAGE", "file")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    for var in ["SUDO_USER", "SUDO_UID", "SUDO_GID"] {
        cmd.env_remove(var);
    }
    run_command(cmd)
}

#[test]
fn private_files_stay_private_even_with_umask_000() {
    let env = Env::new();
    // Check that the shell really applies the umask to what the child creates.
    let probe =
        Command::new("sh").arg("-c").arg("umask 000; touch probe").current_dir(&env.cwd).status().unwrap();
    assert!(probe.success());
    assert_eq!(mode(&env.file("probe")), 0o666);
    fs::remove_file(env.file("probe")).unwrap();

    for args in [
        &["cert", "myapp.test"][..],
        &["cert", "--key-file", "k.pem", "--cert-file", "c.pem", "localhost"],
        &["cert", "--p12-file", "a.p12", "a.test"],
    ] {
        let run = run_with_umask_000(&env, args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    assert_eq!(mode(&env.home), 0o700);
    assert_eq!(mode(&env.root_key_path()), 0o600);
    assert_eq!(mode(&env.home.join(".lock")), 0o600);
    assert_eq!(mode(&env.root_pem_path()), 0o644);
    assert_eq!(mode(&env.file("myapp.test-key.pem")), 0o600);
    assert_eq!(mode(&env.file("k.pem")), 0o600);
    assert_eq!(mode(&env.file("a.p12")), 0o600);
    assert_eq!(mode(&env.file("myapp.test.pem")), 0o644);
    assert_eq!(mode(&env.file("c.pem")), 0o644);
}

/// A command with the environment sudo sets for the user `nobody` (uid/gid 65534).
fn as_sudo_from_nobody(mut cmd: Command) -> Command {
    cmd.env("SUDO_USER", "nobody").env("SUDO_UID", "65534").env("SUDO_GID", "65534").env("HOME", "/root");
    cmd
}

#[test]
fn under_sudo_the_default_home_is_the_invoking_users() {
    if !is_root() {
        skip("under_sudo_the_default_home_is_the_invoking_users", "needs root", false);
        return;
    }
    let env = Env::new();
    let nobody_home =
        String::from_utf8(Command::new("getent").args(["passwd", "nobody"]).output().expect("getent").stdout)
            .unwrap();
    let nobody_home = nobody_home.trim().split(':').nth(5).expect("home field").to_string();
    let mut cmd = as_sudo_from_nobody(env.command(&["ca", "path"]));
    cmd.env_remove("LOCALCA_HOME").env_remove("XDG_DATA_HOME");
    let run = run_command(cmd);
    assert_eq!(run.stdout, format!("{nobody_home}/.local/share/localca\n"), "{}", run.stderr);
    assert_eq!(run.code, 1, "no CA there");
    if nobody_home == "/nonexistent" {
        assert!(!Path::new("/nonexistent").exists());
    }

    // Not under sudo: the home of $HOME.
    let fake_home = env.tmp.path().join("h");
    let mut cmd = env.command(&["ca", "path"]);
    cmd.env_remove("LOCALCA_HOME").env_remove("XDG_DATA_HOME").env("HOME", &fake_home);
    assert_eq!(run_command(cmd).stdout, format!("{}/.local/share/localca\n", fake_home.display()));
    // SUDO_USER=root is not a sudo from another user.
    let mut cmd = env.command(&["ca", "path"]);
    cmd.env_remove("LOCALCA_HOME").env_remove("XDG_DATA_HOME").env("HOME", &fake_home);
    cmd.env("SUDO_USER", "root").env("SUDO_UID", "0").env("SUDO_GID", "0");
    assert_eq!(run_command(cmd).stdout, format!("{}/.local/share/localca\n", fake_home.display()));
    assert!(!fake_home.exists());
}

/// A home folder for `nobody` inside the test's temp folder (which is made traversable), for
/// commands run as if under sudo: localca then works in it as `nobody`. `None` (after a visible skip)
/// when a folder above the temp folder is closed to other users.
fn nobody_home(env: &Env, test: &str) -> Option<std::path::PathBuf> {
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    if let Some(closed) =
        env.tmp.path().ancestors().skip(1).find(|d| fs::metadata(d).unwrap().mode() & 0o001 == 0)
    {
        skip(
            test,
            &format!(
                "{} is closed to other users, so `nobody` cannot reach the test folder",
                closed.display()
            ),
            false,
        );
        return None;
    }
    let home = env.tmp.path().join("nobody");
    fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    Some(home)
}

fn owner(path: &Path) -> (u32, u32) {
    let meta = fs::symlink_metadata(path).unwrap();
    (meta.uid(), meta.gid())
}

#[test]
fn under_sudo_created_files_belong_to_the_invoking_user() {
    if !is_root() {
        skip("under_sudo_created_files_belong_to_the_invoking_user", "needs root", false);
        return;
    }
    let mut env = Env::new();
    let Some(user_home) = nobody_home(&env, "under_sudo_created_files_belong_to_the_invoking_user") else {
        return;
    };
    env.home = user_home.join("ca");
    let run = run_command(as_sudo_from_nobody(env.command(&[
        "cert",
        "--p12-file",
        "a.p12",
        "--cert-file",
        "c.pem",
        "--key-file",
        "k.pem",
        "myapp.test",
    ])));
    assert_eq!(run.code, 0, "{}", run.stderr);
    for path in [
        env.home.clone(),
        env.root_pem_path(),
        env.root_key_path(),
        env.home.join(".lock"),
        env.file("c.pem"),
        env.file("k.pem"),
        env.file("a.p12"),
    ] {
        assert_eq!(owner(&path), (65534, 65534), "{}", path.display());
    }
    assert_eq!(mode(&env.home), 0o700);
    assert_eq!(mode(&env.root_key_path()), 0o600);
    let subject = parse(&env.root_der()).subject().to_string();
    assert!(subject.contains("OU=nobody@"), "the root names the invoking user: {subject}");
    assert_openssl_verifies(&env.root_pem_path(), &env.file("c.pem"));

    // ca export --out too.
    let run = run_command(as_sudo_from_nobody(env.command(&["ca", "export", "--out", "r.pem"])));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(owner(&env.file("r.pem")), (65534, 65534));
}

// Was a bug (fixed): under sudo, the folders created above the CA home (e.g. ~/.local and ~/.local/share
// when they do not exist yet) stay owned by root with mode 0700, locking the user out of their
// own ~/.local. src/atomic_file.rs `create_private_dir` chowns only the last folder.
#[test]
fn under_sudo_created_parent_folders_belong_to_the_invoking_user() {
    if !is_root() {
        skip("under_sudo_created_parent_folders_belong_to_the_invoking_user", "needs root", false);
        return;
    }
    let env = Env::new();
    let Some(user_home) = nobody_home(&env, "under_sudo_created_parent_folders_belong_to_the_invoking_user")
    else {
        return;
    };
    let ca_home = user_home.join(".local/share/localca");
    let mut cmd = as_sudo_from_nobody(env.command(&["ca", "create"]));
    cmd.env("LOCALCA_HOME", &ca_home);
    let run = run_command(cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(owner(&ca_home), (65534, 65534));
    for dir in [user_home.join(".local"), user_home.join(".local/share")] {
        assert_eq!(owner(&dir), (65534, 65534), "{} must belong to the user", dir.display());
    }
}
