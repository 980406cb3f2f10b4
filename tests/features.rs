//! The library stays free of the async stack: without default features `localca` pulls in no
//! tokio or hyper (rustls, a blocking TLS library, is there for `check` and the resolver); the
//! default (`server`, for the CLI's proxy) adds localca-server.

use std::process::Command;

fn tree(features: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-p", "localca", "-e", "normal", "--prefix", "none"])
        .args(features)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has(tree: &str, krate: &str) -> bool {
    tree.lines().any(|l| l.split_whitespace().next() == Some(krate))
}

#[test]
fn library_without_default_features_has_no_async_stack() {
    let plain = tree(&["--no-default-features"]);
    for krate in ["tokio", "hyper", "hyper-util", "localca-server"] {
        assert!(!has(&plain, krate), "{krate} in the library's tree:\n{plain}");
    }
    let resolver = tree(&["--no-default-features", "--features", "resolver"]);
    assert!(has(&resolver, "rustls"));
    for krate in ["tokio", "hyper", "localca-server"] {
        assert!(!has(&resolver, krate), "{krate} with only `resolver`:\n{resolver}");
    }
    assert!(has(&tree(&[]), "localca-server"), "the default build (the CLI) has the proxy");
}
