//! `localca acme serve --install-service` / `--uninstall-service` on Linux: the systemd user
//! unit is written with the same options and the CA home, and the command it runs really
//! serves. Run without a session bus, so `systemctl --user` cannot touch the machine running the
//! tests: the command says what to run instead.

mod acme_support;
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::Env;

fn service_command(env: &Env, args: &[&str]) -> Command {
    let mut cmd = env.command(args);
    cmd.env("HOME", env.tmp.path())
        .env("XDG_CONFIG_HOME", env.tmp.path().join("config"))
        .env("XDG_RUNTIME_DIR", env.tmp.path().join("no-runtime"));
    cmd
}

#[test]
fn install_service_writes_a_unit_that_serves_and_uninstall_removes_it() {
    let env = Env::new();
    env.ok(&["ca", "create"]);
    let port = acme_support::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let install = ["acme", "serve", "--install-service", "--listen", &listen, "--http-01-port", "5002"];
    let run = common::run_command(service_command(&env, &install));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let unit = env.tmp.path().join("config/systemd/user/localca-acme.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(text.contains("--http-01-port\" \"5002\""), "{text}");
    assert!(text.contains(&format!("LOCALCA_HOME={}", env.home.display())), "{text}");
    assert!(run.stderr.contains("systemctl --user enable --now localca-acme.service"), "{}", run.stderr);

    // The ExecStart line, run as systemd would, serves the directory.
    let exec = text.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    let argv: Vec<&str> = exec.split('"').skip(1).step_by(2).collect();
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .env("LOCALCA_HOME", &env.home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.contains(&format!("https://localhost:{port}/directory")), "{first}");

    let run = common::run_command(service_command(&env, &["acme", "serve", "--uninstall-service"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!unit.exists());
}

#[test]
fn bad_days_are_refused_before_anything_is_written() {
    let env = Env::new();
    env.ok(&["ca", "create"]);
    let run =
        common::run_command(service_command(&env, &["acme", "serve", "--install-service", "--days", "900"]));
    // A usage error (exit 2), as `cert --days 900` is.
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--days 900"), "{}", run.stderr);
    assert!(!env.tmp.path().join("config/systemd").exists());
    // Without a CA there is nothing to serve: the usual advice.
    let bare = Env::new();
    let run = bare.run(&["acme", "serve"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no CA") && run.stderr.contains("localca install"), "{}", run.stderr);
}
