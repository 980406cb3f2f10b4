//! `localca hosts` on a hosts file given by LOCALCA_HOSTS_FILE (the sandboxed /etc/hosts case
//! is in tests/proxy/scenario): the block is added, listed and removed, the file keeps its mode,
//! and after removal every byte is as before; bad names change nothing.
#![cfg(unix)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

const ORIGINAL: &str =
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n# a comment the user wrote\n10.0.0.5 nas";

fn run(env: &common::Env, hosts: &std::path::Path, args: &[&str]) -> common::Run {
    let mut cmd = env.command(args);
    cmd.env("LOCALCA_HOSTS_FILE", hosts);
    common::run_command(cmd)
}

#[test]
fn add_list_remove_leaves_the_file_byte_identical() {
    let env = common::Env::new();
    let hosts = env.tmp.path().join("hosts");
    fs::write(&hosts, ORIGINAL).unwrap();
    fs::set_permissions(&hosts, fs::Permissions::from_mode(0o640)).unwrap();

    let add = run(&env, &hosts, &["hosts", "add", "MyApp.test", "api.myapp.test"]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    let text = fs::read_to_string(&hosts).unwrap();
    assert!(text.starts_with(ORIGINAL), "bytes before the block unchanged: {text:?}");
    assert!(text.contains("127.0.0.1\tmyapp.test\n::1\tmyapp.test\n"), "{text}");
    assert_eq!(common::mode(&hosts) & 0o777, 0o640, "mode kept");
    assert_eq!(run(&env, &hosts, &["hosts", "list"]).stdout, "api.myapp.test\nmyapp.test\n");

    // Adding again changes nothing; removing one keeps the other.
    let before = fs::read(&hosts).unwrap();
    assert_eq!(run(&env, &hosts, &["hosts", "add", "myapp.test"]).code, 0);
    assert_eq!(fs::read(&hosts).unwrap(), before);
    assert_eq!(run(&env, &hosts, &["hosts", "remove", "api.myapp.test"]).code, 0);
    assert_eq!(run(&env, &hosts, &["hosts", "list"]).stdout, "myapp.test\n");

    assert_eq!(run(&env, &hosts, &["hosts", "remove", "--all"]).code, 0);
    assert_eq!(fs::read_to_string(&hosts).unwrap(), ORIGINAL, "byte-identical after removal");
    assert_eq!(common::mode(&hosts) & 0o777, 0o640);
}

#[test]
fn wildcards_and_bad_names_are_refused_without_a_change() {
    let env = common::Env::new();
    let hosts = env.tmp.path().join("hosts");
    fs::write(&hosts, ORIGINAL).unwrap();
    for bad in ["*.myapp.test", "bad..name", "127.0.0.1"] {
        let r = run(&env, &hosts, &["hosts", "add", "ok.test", bad]);
        assert_eq!(r.code, 1, "{bad}: {}", r.stderr);
        assert_eq!(r.error_lines().len(), 1, "{bad}: {}", r.stderr);
        assert_eq!(fs::read_to_string(&hosts).unwrap(), ORIGINAL, "{bad}: file unchanged");
    }
    let r = run(&env, &hosts, &["hosts", "add", "*.myapp.test"]);
    assert!(r.stderr.contains("wildcard"), "{}", r.stderr);
}
