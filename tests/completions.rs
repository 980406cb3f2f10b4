//! `localca completions SHELL` and `localca man`: generated scripts that real shells load and
//! complete with, and a manual page that `man` renders without warnings.

mod common;

use std::process::{Command, Stdio};

use common::*;

/// Runs `shell -c script` with the localca binary in `$LOCALCA`; returns stdout, asserting success.
fn shell(shell: &str, script: &str) -> String {
    let out =
        Command::new(shell).args(["-c", script]).env("LOCALCA", BIN).stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{shell} -c {script}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn every_shell_gets_a_script() {
    let env = Env::new();
    for sh in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = env.ok(&["completions", sh]);
        assert!(run.stdout.contains("localca") && run.stdout.len() > 500, "{sh}: {}", run.stdout);
    }
    let run = env.run(&["completions", "tcsh"]);
    assert_eq!(run.code, 2, "an unknown shell is a usage error: {}", run.stderr);
}

#[test]
fn bash_completes_commands_and_options() {
    let words = shell(
        "bash",
        r#"source <("$LOCALCA" completions bash)
           COMP_WORDS=(localca ch); COMP_CWORD=1; _localca localca ch localca; echo "${COMPREPLY[@]}"
           COMP_WORDS=(localca check --); COMP_CWORD=2; _localca localca -- check; echo "${COMPREPLY[@]}""#,
    );
    let lines: Vec<&str> = words.lines().collect();
    assert!(lines[0].split(' ').any(|w| w == "check"), "{words}");
    assert!(lines[1].contains("--connect") && lines[1].contains("--json"), "{words}");
}

#[test]
fn fish_and_zsh_load_their_scripts() {
    if have("fish") {
        let out = shell("fish", r#""$LOCALCA" completions fish | source; complete -C "localca en""#);
        assert!(out.lines().any(|l| l.starts_with("env")), "{out}");
    } else {
        skip("completions::fish", "fish is not installed", true);
    }
    if have("zsh") {
        shell("zsh", r#"zsh -n <("$LOCALCA" completions zsh)"#);
    } else {
        skip("completions::zsh", "zsh is not installed (tests/run installs it)", true);
    }
}

#[test]
fn the_man_page_renders_and_covers_every_command() {
    let env = Env::new();
    let run = env.ok(&["man"]);
    assert!(run.stdout.starts_with(".ie") || run.stdout.contains(".TH localca 1"), "{}", &run.stdout[..200]);
    for command in ["CERT", "INSTALL", "UNINSTALL", "STATUS", "CA", "CHECK", "ENV", "COMPLETIONS"] {
        assert!(run.stdout.contains(&format!(".SH \"LOCALCA {command}\"")), "no section for {command}");
    }
    if !have("man") {
        return skip("completions::man", "man is not installed", false);
    }
    let page = env.file("localca.1");
    write(&page, &run.stdout_bytes);
    let out = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(&page)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("--connect"), "{text}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "man warns about the page");
}
