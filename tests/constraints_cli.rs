//! What the root permits, as the command says it: the RFC 2606 names by default, a refusal that
//! names the command which would permit the name, root options never silently ignored, and a
//! root without IP constraints for Bun. Each test runs the real binary.

mod common;

use common::*;

fn hint(run: &Run) -> String {
    run.stderr.lines().find_map(|l| l.strip_prefix("hint: ")).unwrap_or_default().to_string()
}

// Was refused (issue 10): example.com/.net/.org are reserved by RFC 2606 and the names tutorials use.
#[test]
fn rfc2606_example_names_are_permitted_by_default() {
    let env = Env::new();
    env.ok(&["cert", "example.com", "www.example.org", "*.example.net"]);
    let (_, subtrees) = permitted_subtrees(&env.root_der()).unwrap();
    for name in ["DNS:example.com", "DNS:example.net", "DNS:example.org"] {
        assert!(subtrees.contains(&name.to_string()), "{subtrees:?}");
    }
    assert_verifies(
        &env.root_pem_path(),
        &env.file("example.com+2.pem"),
        &["example.com", "www.example.org"],
    );
    env.fail(&["cert", "myexample.com"]);
}

// Was a bug (issue 11, item 3): with no CA the refusal spoke of "this CA's" constraints and never
// said how to permit the name.
#[test]
fn refusal_without_a_ca_names_the_defaults_and_the_permit_option() {
    let env = Env::new();
    let run = env.fail(&["cert", "api.mycorp.dev"]);
    assert!(run.stderr.contains("api.mycorp.dev is outside the default name constraints"), "{}", run.stderr);
    assert!(run.stderr.contains("permitted: localhost, test,"), "{}", run.stderr);
    assert!(hint(&run).contains("--permit api.mycorp.dev"), "{}", run.stderr);
    assert_eq!(snapshot(&env.home), None, "no CA is created");
    // The hint is right: the command with that option succeeds.
    env.ok(&["cert", "--permit", "api.mycorp.dev", "api.mycorp.dev"]);
}

// Was a bug (issue 11, item 3): on an existing CA the hint never gave the command that widens it.
#[test]
fn refusal_with_a_ca_gives_the_rotate_command() {
    let env = Env::new();
    env.create_ca();
    let run = env.fail(&["cert", "*.evil.com"]);
    assert!(run.stderr.contains("*.evil.com is outside this CA's name constraints"), "{}", run.stderr);
    assert!(hint(&run).contains("`localca ca rotate --permit evil.com`"), "{}", run.stderr);
    let run = env.fail(&["cert", "alice@bank.com"]);
    assert!(hint(&run).contains("--permit bank.com"), "{}", run.stderr);
}

// Was a bug (issue 11, item 3): `--permit` on an existing root was only a note, and the name then
// failed (or worse, the user believed the root had changed).
#[test]
fn root_options_on_an_existing_root_are_refused_unless_already_true() {
    let env = Env::new();
    let root = env.create_ca();
    let home = snapshot(&env.home);
    for args in [
        &["cert", "--permit", "mycorp.dev", "myapp.test"][..],
        &["cert", "--permit", "203.0.113.0/24", "myapp.test"],
        &["cert", "--no-name-constraints", "myapp.test"],
        &["cert", "--no-ip-constraints", "myapp.test"],
        &["install", "--stores", "nss", "--permit", "mycorp.dev"],
    ] {
        let run = env.fail(args);
        assert!(run.stderr.contains("only applies when a root is created"), "{args:?}: {}", run.stderr);
        assert!(hint(&run).contains("localca ca rotate --"), "{args:?}: {}", run.stderr);
        assert!(env.cwd_files().is_empty(), "{args:?}");
        assert_eq!(snapshot(&env.home), home, "{args:?}");
    }
    // What the root already permits is no contradiction: scripts that always pass it keep working.
    env.ok(&["cert", "--permit", "test", "--permit", "10.1.0.0/16", "myapp.test"]);
    assert_eq!(env.root_der(), root);
}

// Issue 10: Bun's verifier rejects IP names under a root with IP constraints. A root made with
// --no-ip-constraints keeps the DNS constraints and drops the IP subtrees.
#[test]
fn no_ip_constraints_keeps_dns_constraints_only() {
    let env = Env::new();
    let run = env.ok(&["ca", "create", "--no-ip-constraints"]);
    assert!(run.stderr.contains("any IP address"), "{}", run.stderr);
    let root = env.root_der();
    let (critical, subtrees) = permitted_subtrees(&root).unwrap();
    assert!(critical);
    assert!(subtrees.iter().all(|s| s.starts_with("DNS:")), "{subtrees:?}");
    assert_eq!(subtrees.len(), DEFAULT_SUBTREES.iter().filter(|s| s.starts_with("DNS:")).count());
    // Any IP address is issued now, and verifies; DNS names stay constrained.
    let run = env.ok(&["cert", "localhost", "127.0.0.1", "203.0.113.9"]);
    assert!(!run.stderr.contains("Bun"), "no Bun note without IP constraints: {}", run.stderr);
    assert_verifies(&env.root_pem_path(), &env.file("localhost+2.pem"), &["localhost", "127.0.0.1"]);
    env.fail(&["cert", "evil.com"]);
    assert!(env.ok(&["ca", "show"]).stdout.contains("any IP address"));
    // Asking for an IP range with it is a contradiction.
    let other = Env::new();
    assert_eq!(other.run(&["ca", "create", "--no-ip-constraints", "--permit", "10.0.0.0/8"]).code, 2);
    assert_eq!(snapshot(&other.home), None);
}

// Issue 10: under the default root, `cert` says in one line what a Bun user should do when the
// certificate has an IP address in it (and says nothing when it has none).
#[test]
fn ip_names_under_ip_constraints_get_the_bun_note() {
    let env = Env::new();
    let run = env.ok(&["cert", "localhost", "127.0.0.1"]);
    let notes: Vec<&str> = run.stderr.lines().filter(|l| l.contains("Bun")).collect();
    assert_eq!(notes.len(), 1, "{}", run.stderr);
    assert!(notes[0].contains("--no-ip-constraints"), "{}", notes[0]);
    let run = env.ok(&["cert", "localhost"]);
    assert!(!run.stderr.contains("Bun"), "{}", run.stderr);
}

// Was a bug (issue 11, item 8): README says usage errors exit 2, but these exited 1.
#[test]
fn missing_names_and_bad_days_are_usage_errors() {
    let env = Env::new();
    for args in [&["cert"][..], &["cert", "--days", "1000", "a.test"], &["cert", "--days", "0", "a.test"]] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }
    assert_eq!(snapshot(&env.home), None);
}

/// Bun's binary: `$LOCALCA_BUN`, else the one tests/clients/install-clients put under target/
/// (tests/run calls it), else `bun` on PATH.
fn bun() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("LOCALCA_BUN").filter(|v| !v.is_empty()) {
        return Some(path.into());
    }
    let installed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/clients/bun/bin/bun");
    if installed.is_file() {
        return Some(installed);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("bun")).find(|p| p.is_file())
}

/// Serves `cert`/`key` on 127.0.0.1 with `openssl s_server` and asks Bun's fetch, trusting only
/// `root`, for the page: "accepted" or "rejected CODE".
fn bun_fetch(bun: &std::path::Path, dir: &std::path::Path, root: &str, cert: &str, key: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            cert,
            "-key",
            key,
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ready = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let probe = "const ca = await Bun.file(process.argv[2]).text();\n\
                 try { await fetch(process.argv[3], { tls: { ca } }); console.log('accepted'); }\n\
                 catch (e) { console.log('rejected ' + (e.code || e.message)); }\n";
    write(&dir.join("probe.js"), probe);
    let out = std::process::Command::new(bun)
        .args(["probe.js", root, &format!("https://127.0.0.1:{port}/")])
        .current_dir(dir)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(ready, "openssl s_server did not start");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// Issue 10: Bun rejects every IP leaf under a root with IP constraints (UNSUPPORTED_CONSTRAINT_TYPE);
// under a --no-ip-constraints root it accepts it, and still enforces the DNS constraints.
#[test]
fn bun_accepts_ip_leaves_only_from_a_root_without_ip_constraints() {
    let test = "bun_accepts_ip_leaves_only_from_a_root_without_ip_constraints";
    let Some(bun) = bun() else {
        return skip(test, "bun is not installed (npm i -g bun, or set LOCALCA_BUN)", true);
    };
    let default = Env::new();
    default.ok(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "localhost", "127.0.0.1"]);
    let root = default.root_pem_path();
    let seen = bun_fetch(&bun, &default.cwd, root.to_str().unwrap(), "c.pem", "k.pem");
    assert_eq!(seen, "rejected UNSUPPORTED_CONSTRAINT_TYPE", "Bun under the default root");

    let no_ip = Env::new();
    no_ip.ok(&["ca", "create", "--no-ip-constraints"]);
    no_ip.ok(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "localhost", "127.0.0.1"]);
    let root = no_ip.root_pem_path();
    let seen = bun_fetch(&bun, &no_ip.cwd, root.to_str().unwrap(), "c.pem", "k.pem");
    assert_eq!(seen, "accepted", "Bun under a --no-ip-constraints root");

    // A leaf for evil.com (forged with the root key: localca refuses to issue it) is still refused.
    let sh = format!(
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ek.pem -subj /CN=evil.com \
         -out e.csr 2>/dev/null && printf 'subjectAltName=DNS:evil.com,IP:127.0.0.1\\n' > ext && \
         openssl x509 -req -in e.csr -CA '{}' -CAkey '{}' -days 2 -extfile ext -out e.pem 2>/dev/null",
        root.display(),
        no_ip.root_key_path().display()
    );
    assert!(std::process::Command::new("sh")
        .args(["-c", &sh])
        .current_dir(&no_ip.cwd)
        .status()
        .unwrap()
        .success());
    let seen = bun_fetch(&bun, &no_ip.cwd, root.to_str().unwrap(), "e.pem", "ek.pem");
    assert!(seen.starts_with("rejected"), "Bun accepted evil.com: {seen}");
}
