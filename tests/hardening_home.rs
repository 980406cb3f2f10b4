//! Issue 10, the CA home's part: each test runs the real binary against a situation the review
//! found (items 1, 2, 4, 5, 6, 7, 9 and the stale temp files of 16), and fails on the code before
//! the fix. Sudo is simulated as root with `SUDO_USER`/`SUDO_UID`/`SUDO_GID` set, as sudo sets them.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A folder owned by `uid` inside the test's temp folder (made traversable), or `None` after a
/// visible skip when a folder above it is closed to other users or we are not root.
fn user_folder(env: &Env, test: &str, uid: u32) -> Option<PathBuf> {
    if !is_root() {
        skip(test, "needs root to simulate sudo", true);
        return None;
    }
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    if let Some(closed) =
        env.tmp.path().ancestors().skip(1).find(|d| fs::metadata(d).unwrap().mode() & 0o001 == 0)
    {
        skip(test, &format!("{} is closed to other users", closed.display()), false);
        return None;
    }
    let dir = env.tmp.path().join(format!("user{uid}"));
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(uid), Some(uid)).unwrap();
    Some(dir)
}

/// `cmd` as sudo would run it for `nobody` (uid/gid 65534).
fn as_sudo_from_nobody(mut cmd: Command) -> Command {
    cmd.env("SUDO_USER", "nobody").env("SUDO_UID", "65534").env("SUDO_GID", "65534").env("HOME", "/root");
    cmd
}

fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    let meta = fs::symlink_metadata(path).unwrap();
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

/// Runs `cmd`, killing it after `limit`: `None` when it had to be killed.
fn run_with_deadline(mut cmd: Command, limit: Duration) -> Option<Run> {
    let tmp = tempfile::tempdir().unwrap();
    let (out, err) = (tmp.path().join("out"), tmp.path().join("err"));
    cmd.stdout(fs::File::create(&out).unwrap()).stderr(fs::File::create(&err).unwrap());
    let mut child = cmd.spawn().expect("start localca");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout_bytes = fs::read(&out).unwrap();
    Some(Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stderr: fs::read_to_string(&err).unwrap(),
        stdout_bytes,
    })
}

fn assert_one_error(run: &Run, what: &str, needle: &str) {
    assert_eq!(run.code, 1, "{what}: should fail with 1:\n{}{}", run.stdout, run.stderr);
    assert_eq!(run.error_lines().len(), 1, "{what}: one error line: {}", run.stderr);
    assert!(run.stderr.contains(needle), "{what}: the error should say {needle:?}: {}", run.stderr);
}

// Item 1: under sudo, a symlinked `.lock` handed its target to the user (the lock was opened as
// root, following the link, and fchowned to SUDO_UID).
#[test]
fn under_sudo_a_symlinked_lock_gives_the_user_nothing() {
    let test = "under_sudo_a_symlinked_lock_gives_the_user_nothing";
    let mut env = Env::new();
    let Some(user_home) = user_folder(&env, test, 65534) else { return };
    let victim = env.tmp.path().join("victim");
    write(&victim, "root's secret\n");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    let before = owner_and_mode(&victim);
    assert_eq!((before.0, before.1), (0, 0));

    env.home = user_home.join("ca");
    fs::create_dir(&env.home).unwrap();
    std::os::unix::fs::chown(&env.home, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::symlink(&victim, env.home.join(".lock")).unwrap();
    for args in [&["ca", "create"][..], &["cert", "a.test"], &["install", "--stores", "nss"]] {
        let run = run_command(as_sudo_from_nobody(env.command(args)));
        assert_eq!(owner_and_mode(&victim), before, "{args:?} changed the symlink target's owner or mode");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "root's secret\n");
        assert_one_error(&run, &format!("{args:?}"), ".lock");
    }

    // A planted hard link is refused by the kernel: the file is root's, we open it as the user.
    fs::remove_file(env.home.join(".lock")).unwrap();
    fs::hard_link(&victim, env.home.join(".lock")).unwrap();
    let run = run_command(as_sudo_from_nobody(env.command(&["cert", "a.test"])));
    assert_eq!(owner_and_mode(&victim), before, "a hard-linked lock changed owner");
    assert_eq!(run.code, 1, "{}", run.stderr);
}

// Item 1: under sudo, a Firefox/Chromium NSS folder symlinked to a root-owned database had its
// files chowned to the user after certutil wrote them as root.
#[test]
fn under_sudo_a_symlinked_nss_database_is_left_alone() {
    let test = "under_sudo_a_symlinked_nss_database_is_left_alone";
    if !have("certutil") || !have("unshare") {
        skip(test, "needs certutil (libnss3-tools) and unshare", true);
        return;
    }
    let env = Env::new();
    let Some(user_home) = user_folder(&env, test, 4322) else { return };
    let t = env.tmp.path();
    let root_db = t.join("rootdb");
    let script = r#"
        set -eu
        mkdir -m 700 "$T/rootdb"
        certutil -N --empty-password -d "sql:$T/rootdb"
        mkdir "$U/.pki" && chown 4322:4322 "$U/.pki"
        ln -s "$T/rootdb" "$U/.pki/nssdb"
        cp /etc/passwd "$T/passwd"
        echo "h1user:x:4322:4322::$U:/bin/sh" >> "$T/passwd"
        mount --bind "$T/passwd" /etc/passwd
        cd /
        env -u LOCALCA_HOME HOME=/root SUDO_USER=h1user SUDO_UID=4322 SUDO_GID=4322 \
            LOCALCA_HOME="$U/ca" LOCALCA_KEY_STORAGE=file "$B" install --stores nss || true
    "#;
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "bash", "-c", script])
        .env("T", t)
        .env("U", &user_home)
        .env("B", BIN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        skip(test, &format!("no private mount namespace here: {text}"), false);
        return;
    }
    assert!(root_db.join("cert9.db").exists(), "{text}");
    for name in ["cert9.db", "key4.db", "pkcs11.txt"] {
        let path = root_db.join(name);
        if path.exists() {
            let (uid, gid, _) = owner_and_mode(&path);
            assert_eq!((uid, gid), (0, 0), "{name} of a root-owned database was chowned:\n{text}");
        }
    }
    assert_eq!(owner_and_mode(&root_db).0, 0);
    let list = Command::new("certutil")
        .args(["-L", "-d"])
        .arg(format!("sql:{}", root_db.display()))
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains("localca"),
        "the root went into a database the user cannot write:\n{text}"
    );
    assert!(text.contains("nss") && text.contains("FAILED"), "the NSS line says it failed:\n{text}");
    // The CA itself was made as the user.
    assert_eq!(owner_and_mode(&user_home.join("ca/root.pem")).0, 4322, "{text}");
}

/// `uninstall --delete-ca` with HOME pointing at a folder without NSS databases.
fn delete_ca(env: &Env) -> Run {
    let mut cmd = env.command(&["uninstall", "--stores", "nss", "--delete-ca", "--yes"]);
    cmd.env("HOME", env.tmp.path().join("empty-home"));
    run_command(cmd)
}

// Item 2: `--delete-ca` was `rm -rf` of the CA home.
#[test]
fn delete_ca_removes_only_what_localca_made() {
    let mut env = Env::new();
    env.home = env.tmp.path().join("proj/certs");
    fs::create_dir_all(env.home.join("drafts")).unwrap();
    write(&env.home.join("notes.txt"), "mine\n");
    write(&env.home.join("drafts/plan.md"), "also mine\n");
    env.create_ca();
    write(&env.home.join(".root-key.pem.999999-3.tmp"), "left by a killed run");
    let run = delete_ca(&env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(file_names(&env.home), ["drafts", "notes.txt"], "only localca's files go");
    assert_eq!(fs::read_to_string(env.home.join("drafts/plan.md")).unwrap(), "also mine\n");
    assert!(run.stdout.contains("kept the folder"), "{}", run.stdout);
    assert!(
        run.stdout.contains("notes.txt") && run.stdout.contains("drafts"),
        "says what it left: {}",
        run.stdout
    );

    // A home holding only localca's files goes entirely.
    let env = Env::new();
    env.create_ca();
    let run = delete_ca(&env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!env.home.exists(), "{:?}", file_names(&env.home));
    assert!(run.stdout.contains("Deleted the CA in"), "{}", run.stdout);

    // A folder that is no CA home (LOCALCA_HOME=$HOME by mistake) is not touched.
    let mut env = Env::new();
    env.home = env.tmp.path().join("someone");
    fs::create_dir(&env.home).unwrap();
    write(&env.home.join("root-key.pem"), "not ours\n");
    let before = snapshot(&env.home);
    let run = delete_ca(&env);
    assert_eq!(snapshot(&env.home), before, "{}{}", run.stdout, run.stderr);
}

// Item 4: a CA home others can change was loaded and used blindly.
#[test]
fn a_ca_home_others_could_change_is_refused_with_the_fix() {
    let env = Env::new();
    env.create_ca();
    let check = |what: &str, path: &Path, change: &dyn Fn(&Path), fix: &str| {
        change(path);
        let run = env.run(&["cert", "a.test"]);
        assert_one_error(&run, what, "refusing the CA home");
        let hint =
            run.stderr.lines().find(|l| l.starts_with("hint:")).unwrap_or_else(|| panic!("{}", run.stderr));
        assert!(hint.contains(fix), "{what}: the hint gives `{fix}`: {hint}");
        // The command in the hint fixes it.
        let command = hint.split("run: ").nth(1).unwrap().split("; otherwise").next().unwrap();
        let status = Command::new("sh").arg("-c").arg(command).status().unwrap();
        assert!(status.success(), "{command}");
        env.ok(&["cert", "a.test"]);
    };
    let chmod = |mode: u32| move |p: &Path| fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    check("group-writable folder", &env.home, &chmod(0o775), "chmod go-w");
    check("world-writable root.pem", &env.root_pem_path(), &chmod(0o666), "chmod go-w");
    check("key readable by others", &env.root_key_path(), &chmod(0o644), "chmod 600");
    check("key readable by the group", &env.root_key_path(), &chmod(0o640), "chmod 600");
    if is_root() {
        let chown = |p: &Path| std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
        check("folder of another user", &env.home, &chown, "chown 0:0");
        check("key of another user", &env.root_key_path(), &chown, "chown 0:0");
    }
}

// Item 4: an unconstrained root that was not made here with --no-name-constraints gets a warning.
#[test]
fn install_warns_about_an_unconstrained_root_made_elsewhere() {
    let install = |env: &Env| {
        let mut cmd = env.command(&["install", "--stores", "nss"]);
        cmd.env("HOME", env.tmp.path().join("empty-home"));
        run_command(cmd)
    };
    let warning = "no name constraints and was not created here";
    let made_here = Env::new();
    made_here.ok(&["ca", "create", "--no-name-constraints"]);
    let run = install(&made_here);
    assert!(!run.stderr.contains(warning), "{}", run.stderr);

    let copied = Env::new();
    fs::create_dir(&copied.home).unwrap();
    fs::set_permissions(&copied.home, fs::Permissions::from_mode(0o700)).unwrap();
    for name in ["root.pem", "root-key.pem"] {
        fs::copy(made_here.home.join(name), copied.home.join(name)).unwrap();
    }
    let run = install(&copied);
    assert!(run.stderr.contains(warning), "{}", run.stderr);

    let constrained = Env::new();
    constrained.create_ca();
    assert!(!install(&constrained).stderr.contains(warning));
}

// Item 5: a second certificate appended to root.pem was exported and installed with the root.
#[test]
fn root_pem_must_hold_exactly_one_certificate() {
    let env = Env::new();
    env.create_ca();
    env.ok(&["cert", "--cert-file", "extra.pem", "--key-file", "extra-key.pem", "a.test"]);
    let mut pem = fs::read(env.root_pem_path()).unwrap();
    pem.extend(fs::read(env.file("extra.pem")).unwrap());
    write(&env.root_pem_path(), &pem);
    for args in [&["ca", "export"][..], &["ca", "show"], &["cert", "b.test"]] {
        let run = env.run(args);
        assert_one_error(&run, &format!("{args:?}"), "damaged CA");
        assert!(run.stderr.contains("exactly one"), "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?} printed: {}", run.stdout);
    }
}

/// Puts something at a path.
type MakeFile<'a> = Box<dyn Fn(&Path) + 'a>;

// Item 6: root.pem symlinked to /dev/zero was read until out of memory.
#[test]
fn ca_files_are_read_only_when_regular_and_small() {
    let env = Env::new();
    env.create_ca();
    let good = fs::read(env.root_pem_path()).unwrap();
    let cases: Vec<(&str, MakeFile)> = vec![
        ("a link to /dev/zero", Box::new(|p: &Path| std::os::unix::fs::symlink("/dev/zero", p).unwrap())),
        (
            "a FIFO",
            Box::new(|p: &Path| {
                assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
            }),
        ),
        (
            "a huge file",
            Box::new(|p: &Path| {
                let mut big = fs::read(env.file("good-root.pem")).unwrap();
                big.extend(vec![b'\n'; 2 << 20]);
                write(p, big);
            }),
        ),
    ];
    write(&env.file("good-root.pem"), &good);
    for (what, make) in cases {
        fs::remove_file(env.root_pem_path()).unwrap();
        make(&env.root_pem_path());
        for args in [&["ca", "show"][..], &["cert", "a.test"]] {
            let mut cmd = env.command(args);
            cmd.stdin(Stdio::null());
            let run = run_with_deadline(cmd, Duration::from_secs(20))
                .unwrap_or_else(|| panic!("{args:?} with root.pem as {what} did not finish"));
            assert_eq!(run.code, 1, "{what}: {}", run.stderr);
            assert_eq!(run.error_lines().len(), 1, "{what}: {}", run.stderr);
        }
        fs::remove_file(env.root_pem_path()).unwrap();
        write(&env.root_pem_path(), &good);
        env.ok(&["ca", "show"]);
    }
}

// Item 7: `--delete-ca` racing `cert` left homes whose key did not match the certificate.
#[test]
fn delete_ca_racing_cert_never_leaves_a_broken_ca() {
    let env = Env::new();
    let rounds = 120;
    for round in 0..rounds {
        let mut children = Vec::new();
        for i in 0..2 {
            let name = format!("c{i}.pem");
            let key = format!("c{i}-key.pem");
            let mut cmd = env.command(&["cert", "--cert-file", &name, "--key-file", &key, "a.test"]);
            children.push(cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap());
        }
        let mut cmd = env.command(&["uninstall", "--stores", "nss", "--delete-ca", "--yes"]);
        cmd.env("HOME", env.tmp.path().join("empty-home"));
        children.push(cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap());
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        }
        if env.root_pem_path().exists() {
            let run = env.run(&["ca", "show"]);
            assert_eq!(run.code, 0, "round {round}: the CA left behind is broken: {}", run.stderr);
        }
    }
}

// Item 9: `cert` during `ca move-key` failed ("the key is not in the keyring", "root key is missing").
#[test]
fn cert_during_move_key_never_fails() {
    let test = "cert_during_move_key_never_fails";
    let session = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keyring/session");
    let env = Env::new();
    let t = env.tmp.path();
    for dir in ["home", "data", "config", "cache", "runtime"] {
        fs::create_dir(t.join(dir)).unwrap();
    }
    fs::set_permissions(t.join("runtime"), fs::Permissions::from_mode(0o700)).unwrap();
    let script = r#"
        "$B" ca create --key-storage file >/dev/null || exit 3
        ( for i in $(seq 1 40); do
              "$B" ca move-key --to keyring >/dev/null 2>>"$T/move.err" || echo x >>"$T/move.fail"
              "$B" ca move-key --to file >/dev/null 2>>"$T/move.err" || echo x >>"$T/move.fail"
          done; touch "$T/done" ) &
        n=0; fails=0
        while [ ! -e "$T/done" ]; do
            n=$((n + 1))
            "$B" cert --cert-file "$T/c.pem" --key-file "$T/k.pem" a.test >/dev/null 2>>"$T/cert.err" ||
                fails=$((fails + 1))
        done
        wait
        echo "certs=$n fails=$fails"
    "#;
    let mut cmd = Command::new(session);
    cmd.args(["pw-h1", "bash", "-c", script]).current_dir(&env.cwd).stdin(Stdio::null());
    cmd.env_remove("SUDO_USER")
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .env_remove("LOCALCA_KEY_STORAGE");
    cmd.env("HOME", t.join("home"))
        .env("XDG_DATA_HOME", t.join("data"))
        .env("XDG_CONFIG_HOME", t.join("config"))
        .env("XDG_CACHE_HOME", t.join("cache"))
        .env("XDG_RUNTIME_DIR", t.join("runtime"))
        .env("LOCALCA_HOME", &env.home)
        .env("LOCALCA_SESSION_LOG", t.join("session.log"))
        .env("T", t)
        .env("B", BIN);
    let Some(run) = run_with_deadline(cmd, Duration::from_secs(300)) else {
        panic!("the move-key/cert race did not finish");
    };
    if run.code == 77 {
        skip(test, &format!("no keyring session here: {}", run.stderr.trim()), true);
        return;
    }
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let errors = |name: &str| fs::read_to_string(t.join(name)).unwrap_or_default();
    assert!(!t.join("move.fail").exists(), "a move failed: {}", errors("move.err"));
    let line = run.stdout.lines().find(|l| l.starts_with("certs=")).expect("summary line");
    assert!(line.ends_with(" fails=0"), "{line}; cert said:\n{}", errors("cert.err"));
}

// Item 16: temp files of killed runs stayed forever.
#[test]
fn stale_temp_files_of_killed_runs_are_removed_on_the_next_write() {
    let env = Env::new();
    fs::create_dir(&env.home).unwrap();
    fs::set_permissions(&env.home, fs::Permissions::from_mode(0o700)).unwrap();
    // A process that has exited: its pid names no one now.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let alive = std::process::id();
    let stale = [format!(".root-key.pem.{dead}-0.tmp"), format!(".root.pem.{dead}-1.tmp")];
    let kept =
        [format!(".root.pem.{alive}-0.tmp"), format!(".notes.txt.{dead}-0.tmp"), "notes.txt".to_string()];
    for name in stale.iter().chain(&kept) {
        write(&env.home.join(name), "x");
    }
    env.ok(&["cert", "a.test"]); // creates the CA: a write under the lock
    let names = file_names(&env.home);
    for name in &stale {
        assert!(!names.contains(name), "{name} should be gone: {names:?}");
    }
    for name in &kept {
        assert!(names.contains(name), "{name} is not a stale file of ours: {names:?}");
    }
}
