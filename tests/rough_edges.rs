//! The rough edges a new user hit trying every README command (issue 11), and the output-path
//! traps of issue 10 (special files, one file spelled two ways). Each test runs the real binary
//! and failed on the code before its fix.

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::Stdio;

use common::*;

// Item 4: `--cert-file nodir/x.pem` said `nodir/.x.pem.68-1.tmp: No such file or directory`, after
// creating the CA. Now: the user's path, and nothing created.
#[test]
fn a_missing_output_folder_is_reported_by_the_users_path_before_anything_is_created() {
    let env = Env::new();
    let run = env.fail(&["cert", "--cert-file", "nodir/x.pem", "a.test"]);
    assert!(run.stderr.contains("error: nodir/x.pem: the folder nodir does not exist"), "{}", run.stderr);
    assert!(!run.stderr.contains(".tmp"), "{}", run.stderr);
    assert_eq!(snapshot(&env.home), None, "no CA may be created");
    assert!(env.cwd_files().is_empty());
}

// Item 4, second half: in an unwritable folder the CA was created before the error.
#[test]
fn an_unwritable_output_folder_creates_no_ca() {
    if unsafe { libc::geteuid() } == 0 {
        // Root writes anywhere: drop to nobody for this run.
        let env = Env::new();
        let locked = env.tmp.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
        fs::set_permissions(env.tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let mut cmd = env.command_in(&locked, &["cert", "a.test"]);
        std::os::unix::process::CommandExt::uid(&mut cmd, 65534);
        std::os::unix::process::CommandExt::gid(&mut cmd, 65534);
        let run = run_command(cmd);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("cannot write in the folder"), "{}", run.stderr);
        assert_eq!(snapshot(&env.home), None, "no CA may be created: {}", run.stderr);
        return;
    }
    let env = Env::new();
    let locked = env.tmp.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let run = env.run_in(&locked, &["cert", "a.test"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot write in the folder"), "{}", run.stderr);
    assert_eq!(snapshot(&env.home), None);
}

// Item 5: a valid 252-character name created the CA, then failed with `File name too long`.
#[test]
fn the_longest_valid_name_gets_files_with_a_shortened_stem() {
    let env = Env::new();
    let label = |c: char, n: usize| c.to_string().repeat(n);
    let name = format!("{}.{}.{}.{}.test", label('a', 63), label('b', 63), label('c', 63), label('d', 55));
    assert!(name.len() > 250);
    let other = format!("{}.{}.{}.{}.test", label('a', 63), label('b', 63), label('c', 63), label('e', 55));
    env.ok(&["cert", &name]);
    env.ok(&["cert", &other]);
    let files = env.cwd_files();
    assert_eq!(files.len(), 4, "two distinct pairs: {files:?}");
    for f in &files {
        assert!(f.len() < 200 && f.starts_with(&label('a', 63)) && f.contains('~'), "{f}");
    }
    let cert = files.iter().find(|f| !f.ends_with("-key.pem")).unwrap();
    assert_verifies(&env.root_pem_path(), &env.file(cert), &[]);
}

// Issue 10, item 12: as root `--cert-file /dev/null` replaced the device with a regular file. A
// device, FIFO or `-` is written into as a stream; never replaced or chmod-ed.
#[test]
fn special_files_are_written_as_streams() {
    let env = Env::new();
    let null = fs::metadata("/dev/null").unwrap();
    env.ok(&["cert", "--cert-file", "/dev/null", "--key-file", "/dev/null", "a.test"]);
    let after = fs::metadata("/dev/null").unwrap();
    assert!(after.file_type().is_char_device());
    assert_eq!((after.ino(), after.mode()), (null.ino(), null.mode()));

    // `-`: standard output gets the PEM, the report goes to stderr.
    let run = env.ok(&["cert", "--cert-file", "-", "--key-file", "-", "b.test"]);
    assert!(run.stdout.starts_with("-----BEGIN CERTIFICATE-----"), "{}", run.stdout);
    assert!(run.stdout.contains("PRIVATE KEY-----"));
    assert!(run.stderr.contains("went to standard output"), "{}", run.stderr);
    assert_eq!(sans(&cert_der_from_pem(run.stdout.as_bytes())), ["DNS:b.test"]);

    // `--csr -` reads the request from standard input.
    let csr = std::process::Command::new("openssl")
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
        .args(["-keyout", "/dev/null", "-subj", "/CN=stdin.test", "-outform", "DER"])
        .output()
        .unwrap();
    assert!(csr.status.success());
    let mut cmd = env.command(&["cert", "--csr", "-", "--cert-file", "-"]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &csr.stdout).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sans(&cert_der_from_pem(&out.stdout)), ["DNS:stdin.test"]);

    // A FIFO is read by whoever listens on it.
    let fifo = env.tmp.path().join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = std::process::Command::new("cat").arg(&fifo).stdout(Stdio::piped()).spawn().unwrap();
    env.ok(&["cert", "--cert-file", fifo.to_str().unwrap(), "--key-file", "c-key.pem", "c.test"]);
    let out = reader.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

    // `ca export --out /dev/stdout` writes through the system's link instead of replacing it.
    let run = env.ok(&["ca", "export", "--out", "/dev/stdout"]);
    assert!(run.stdout.starts_with("-----BEGIN CERTIFICATE-----"), "{}", run.stdout);
    assert!(fs::symlink_metadata("/dev/stdout").unwrap().file_type().is_symlink());
}

// Issue 10, item 12: a folder given as a file is a clear error, and nothing is created.
#[test]
fn a_folder_given_as_a_file_is_a_clear_error() {
    let env = Env::new();
    fs::create_dir(env.file("out")).unwrap();
    let run = env.fail(&["cert", "--key-file", "out", "a.test"]);
    assert!(run.stderr.contains("out: is a folder"), "{}", run.stderr);
    assert_eq!(snapshot(&env.home), None);
}

// Issue 10, item 13: `--cert-file ./both.pem --key-file both.pem` wrote a 0644 file without the key
// while saying "the key is at both.pem".
#[test]
fn one_file_spelled_two_ways_holds_both_and_is_private() {
    let env = Env::new();
    fs::create_dir(env.file("sub")).unwrap();
    for (cert, key) in [("./both.pem", "both.pem"), ("sub/../two.pem", "./two.pem")] {
        let run = env.ok(&["cert", "--cert-file", cert, "--key-file", key, "a.test"]);
        let path = env.file(key.trim_start_matches("./"));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("BEGIN CERTIFICATE") && text.contains("PRIVATE KEY"), "{cert} {key}");
        assert_eq!(mode(&path), 0o600, "{cert} {key}");
        assert!(run.stdout.contains("The certificate and its key are at"), "{}", run.stdout);
    }
    // The PKCS#12 file cannot be the certificate too.
    let run = env.fail(&["cert", "--cert-file", "./x.p12", "--p12-file", "x.p12", "a.test"]);
    assert!(run.stderr.contains("cannot also be"), "{}", run.stderr);
}

/// An env whose HOME holds an empty NSS database (the only store a test can use without root
/// or a sandbox), or `None` (after recording a skip) when certutil is missing.
fn nss_env(test: &str) -> Option<(Env, std::path::PathBuf)> {
    let env = Env::new();
    let home = env.tmp.path().join("userhome");
    let db = home.join(".pki/nssdb");
    fs::create_dir_all(&db).unwrap();
    let made = std::process::Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", db.display()))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        skip(test, "certutil is not installed (libnss3-tools)", true);
        return None;
    }
    Some((env, home))
}

fn run_as(env: &Env, home: &std::path::Path, args: &[&str]) -> Run {
    let mut cmd = env.command(args);
    cmd.env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env("LOCALCA_STORES", "nss");
    run_command(cmd)
}

fn nss_has_root(home: &std::path::Path) -> bool {
    let out = std::process::Command::new("certutil")
        .args(["-L", "-d"])
        .arg(format!("sql:{}", home.join(".pki/nssdb").display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("localca")
}

// Item 2: `uninstall --fingerprint` rejected the 16-digit prefix localca itself prints, and exited
// 0 while the root stayed installed. Now any unambiguous prefix of 8+ hex digits works.
#[test]
fn uninstall_accepts_the_fingerprint_prefix_localca_prints() {
    let Some((env, home)) = nss_env("uninstall_accepts_the_fingerprint_prefix_localca_prints") else {
        return;
    };
    let run = run_as(&env, &home, &["install"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let printed = run.stdout.split('(').nth(1).unwrap().split('…').next().unwrap().to_string();
    assert_eq!(printed.len(), 16, "{}", run.stdout);
    assert!(nss_has_root(&home));

    for (typed, code) in [("1234", 2), ("c0ffee", 2), ("zzzzzzzz", 2), ("00000000", 1), ("ffffffff", 1)] {
        if printed.starts_with(&typed[..typed.len().min(8)]) {
            continue;
        }
        let run = run_as(&env, &home, &["uninstall", "--fingerprint", typed]);
        assert_eq!(run.code, code, "{typed}: {}", run.stderr);
        assert!(nss_has_root(&home), "{typed} removed the root");
    }
    // Upper case with colons, as some tools print it.
    let colons: Vec<String> =
        printed.as_bytes()[..8].chunks(2).map(|c| String::from_utf8_lossy(c).to_uppercase()).collect();
    let run = run_as(&env, &home, &["uninstall", "--fingerprint", &format!("{}…", colons.join(":"))]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("removed"), "{}", run.stdout);
    assert!(!nss_has_root(&home));
    let run = run_as(&env, &home, &["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = run_as(&env, &home, &["uninstall", "--fingerprint", &printed]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!nss_has_root(&home));
}

// Item 10: `uninstall --delete-ca` off a terminal without --yes removed the root from every store and
// only then failed with "add --yes". Now it fails before touching anything.
#[test]
fn delete_ca_without_confirmation_touches_no_store() {
    let Some((env, home)) = nss_env("delete_ca_without_confirmation_touches_no_store") else { return };
    assert_eq!(run_as(&env, &home, &["install"]).code, 0);
    let ca = snapshot(&env.home);
    let run = run_as(&env, &home, &["uninstall", "--delete-ca"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("add --yes"), "{}", run.stderr);
    assert!(!run.stdout.contains("removed"), "{}", run.stdout);
    assert!(nss_has_root(&home), "the root must still be trusted");
    assert_eq!(snapshot(&env.home), ca);
    let run = run_as(&env, &home, &["uninstall", "--delete-ca", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!nss_has_root(&home));
}

// Item 7: `localca cert -cert-file a.pem` said "unexpected argument '-c'". Now: the double-dash flag.
#[test]
fn mkcert_single_dash_flags_get_the_double_dash_spelling() {
    let env = Env::new();
    for (args, says) in [
        (&["cert", "-cert-file", "a.pem", "a.test"][..], "localca's is --cert-file"),
        (&["cert", "-key-file=k.pem", "a.test"], "localca's is --key-file"),
        (&["cert", "-client", "a.test"], "--client"),
        (&["-install"], "`localca install`"),
        (&["-CAROOT"], "`localca ca path`"),
        (&["cert", "-ecdsa", "a.test"], "ECDSA P-256 by default"),
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("error: -"), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    assert_eq!(snapshot(&env.home), None);
    assert!(env.cwd_files().is_empty());
    // After `--` a leading dash is a (refused) name, not a flag.
    let run = env.fail(&["cert", "--", "-client"]);
    assert!(run.stderr.contains("invalid name"), "{}", run.stderr);
}

// Item 7: CAROOT was silently ignored. One line says where localca's CA is instead.
#[test]
fn caroot_gets_one_line_naming_localcas_home() {
    let env = Env::new();
    let mut cmd = env.command(&["cert", "a.test"]);
    cmd.env("CAROOT", env.tmp.path().join("mkcert"));
    let run = run_command(cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let notes: Vec<&str> = run.stderr.lines().filter(|l| l.contains("CAROOT")).collect();
    assert_eq!(notes.len(), 1, "{}", run.stderr);
    assert!(notes[0].contains(&env.home.display().to_string()), "{}", notes[0]);
    assert!(!env.tmp.path().join("mkcert").exists());
    // Without CAROOT: no such line.
    assert!(!env.ok(&["cert", "b.test"]).stderr.contains("CAROOT"));
}

// Item 7: TRUST_STORES was silently ignored. Values that are localca stores are used as --stores.
#[test]
fn trust_stores_is_honoured_with_one_line() {
    let Some((env, home)) = nss_env("trust_stores_is_honoured_with_one_line") else { return };
    let mut cmd = env.command(&["install"]);
    cmd.env("HOME", &home).env_remove("LOCALCA_STORES").env("TRUST_STORES", "nss,bogus");
    let run = run_command(cmd);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("note: using mkcert's TRUST_STORES as --stores nss (ignored: bogus)"),
        "{}",
        run.stderr
    );
    // Store lines are indented by two spaces, their details by ten.
    let stores: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(!stores.is_empty() && stores.iter().all(|s| *s == "nss"), "only NSS stores: {}", run.stdout);
    assert!(nss_has_root(&home));
}

// Item 9: a relative LOCALCA_HOME or HOME was used as it was, and printed relative.
#[test]
fn relative_homes_become_absolute() {
    let env = Env::new();
    let mut cmd = env.command(&["ca", "create"]);
    cmd.env("LOCALCA_HOME", "relca");
    let run = run_command(cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = env.cwd.join("relca");
    assert!(
        run.stderr.contains(&format!("Created a new local CA in {}", expected.display())),
        "{}",
        run.stderr
    );
    assert!(expected.join("root.pem").is_file());
    // A relative HOME (no LOCALCA_HOME, no XDG_DATA_HOME): the default home under it, absolute.
    let mut cmd = env.command(&["ca", "path"]);
    cmd.env_remove("LOCALCA_HOME").env("HOME", "relhome");
    let run = run_command(cmd);
    assert_eq!(run.stdout.trim(), env.cwd.join("relhome/.local/share/localca").display().to_string());
}

// Item 6: with Firefox installed but never run (no profile yet), `install` and `status` said
// nothing about Firefox, though README says absent stores are "skipped".
#[test]
fn firefox_without_a_profile_is_reported_as_skipped() {
    let test = "firefox_without_a_profile_is_reported_as_skipped";
    if ["firefox", "firefox-esr"]
        .iter()
        .all(|f| std::process::Command::new("which").arg(f).output().map_or(true, |o| !o.status.success()))
    {
        skip(test, "Firefox is not installed (firefox-esr)", true);
        return;
    }
    let Some((env, home)) = nss_env(test) else { return };
    let run = run_as(&env, &home, &["install"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("skipped           Firefox"), "{}", run.stdout);
    assert!(
        run.stdout.contains("no Firefox profile yet; to use it: run Firefox once, then `localca install`"),
        "{}",
        run.stdout
    );
    let run = run_as(&env, &home, &["status"]);
    assert_eq!(run.code, 0, "an absent store does not fail status: {}", run.stdout);
    assert!(
        run.stdout.contains("Firefox (no Firefox profile yet) — fix: run Firefox once"),
        "{}",
        run.stdout
    );
    // Once a profile with a database exists, the line goes and the profile is installed into.
    let profile = home.join(".mozilla/firefox/abc.default-release");
    fs::create_dir_all(&profile).unwrap();
    assert!(std::process::Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", profile.display()))
        .status()
        .unwrap()
        .success());
    let run = run_as(&env, &home, &["install"]);
    assert!(!run.stdout.contains("no Firefox profile yet"), "{}", run.stdout);
    assert!(run.stdout.contains("Firefox profile abc.default-release"), "{}", run.stdout);
}
