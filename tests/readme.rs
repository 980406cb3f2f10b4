//! README's ```console blocks, run with the real binary, so the README cannot drift from it.
//!
//! Format (like trycmd's): a line `$ COMMAND` runs COMMAND with `sh -c` (stderr merged into
//! stdout) in a scratch folder `~/work`, with a private HOME and `localca` on PATH. The lines after it, up
//! to the next `$ ` line, are the expected output: `...` alone matches any number of lines, `[..]`
//! inside a line matches any text, and the HOME folder prints as `~`. A last line `? N` is the
//! expected exit code (0 when absent). All blocks share one scratch folder and HOME, in order.
//! The CA key goes to a file (`LOCALCA_KEY_STORAGE=file`); no block may touch a trust store.

use std::path::Path;
use std::process::Command;

/// One command of a block and what it must print.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    expected: Vec<String>,
    code: i32,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    for (i, line) in readme.lines().enumerate() {
        if !in_console {
            in_console = line.trim_end() == "```console";
            continue;
        }
        if line.starts_with("```") {
            in_console = false;
        } else if let Some(command) = line.strip_prefix("$ ") {
            out.push(Example { line: i + 1, command: command.into(), expected: Vec::new(), code: 0 });
        } else if let Some(example) = out.last_mut() {
            match line.strip_prefix("? ").and_then(|c| c.trim().parse().ok()) {
                Some(code) => example.code = code,
                None => example.expected.push(line.into()),
            }
        } else {
            panic!("README.md:{}: output before any `$ ` line", i + 1);
        }
    }
    out
}

/// Whether `actual` matches `pattern`, where `[..]` matches any text.
fn line_matches(pattern: &str, actual: &str) -> bool {
    let mut parts = pattern.split("[..]");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = actual.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether the lines match, `...` matching any number of lines.
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => {
            actual.split_first().is_some_and(|(a, more)| line_matches(first, a) && lines_match(rest, more))
        }
    }
}

fn run(example: &Example, home: &Path, work: &Path) -> (i32, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_localca")).parent().unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!("exec 2>&1; {}", example.command)).current_dir(work).env_clear();
    cmd.env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()))
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("LOCALCA_KEY_STORAGE", "file");
    let out = cmd.output().expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout).replace(&home.display().to_string(), "~");
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn readme_console_examples_run_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let all = examples(&readme);
    assert!(all.len() >= 10, "README has only {} console examples", all.len());
    let tmp = tempfile::Builder::new().prefix("localca-readme").tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = home.join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let mut failures = Vec::new();
    for example in &all {
        let (code, text) = run(example, &home, &work);
        let actual: Vec<&str> = text.lines().collect();
        if code != example.code || !lines_match(&example.expected, &actual) {
            failures.push(format!(
                "README.md:{}: $ {}\n  exit {code} (expected {})\n  expected:\n    {}\n  got:\n    {}",
                example.line,
                example.command,
                example.code,
                example.expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} README examples differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn matcher() {
    assert!(line_matches("a [..] c", "a b c") && line_matches("[..]", "") && !line_matches("a[..]", "b"));
    assert!(line_matches("x [..] y [..]", "x 1 y 2") && !line_matches("a", "ab"));
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&e(&["a", "...", "d"]), &["a", "b", "c", "d"]));
    assert!(lines_match(&e(&["..."]), &[]));
    assert!(!lines_match(&e(&["a"]), &["a", "b"]));
}
