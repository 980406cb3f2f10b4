//! The README's server sections (Express, nginx, Caddy, Vite, Python http.server), each run as
//! written with the real server and fetched by curl trusting only the localca root: see
//! tests/servers/run. No trust store changes, so no sandbox is needed.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn readme_server_snippets_serve_localca_certificates() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp =
        tempfile::Builder::new().prefix("localca-servers").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = Command::new(repo.join("tests/servers/run"))
        .current_dir(repo)
        .env("LOCALCA_BIN", common::BIN)
        .env("LOCALCA_TOOLS_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-tools"))
        .env("TMPDIR", tmp.path())
        .env_remove("LOCALCA_HOME")
        .output()
        .expect("run tests/servers/run");
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tests/servers/run failed ({}); see the output above", out.status);
}
