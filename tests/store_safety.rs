//! What the outside review of the stores and the command line found (issue 10), through the real
//! binary: output into a closed pipe, URI names outside the root's names, and a PKCS#12 password
//! that need not be on the command line. The trust-store cases (foreign roots with localca labels,
//! concurrent installs, sudo and PATH, advice naming a stable file) run in tests/sandbox: see
//! tests/stores/{foreign-roots,concurrent-installs,sudo-path} and tests/trust_linux.rs.

mod common;

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

use common::{openssl, Env};

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: pipe() fills two fresh descriptors, which we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe()");
    // SAFETY: both descriptors were just created and are owned here alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

/// Runs localca with stdout (and stderr, when `both`) writing into a closed pipe; returns its
/// exit code (`None`: killed by a signal) and what it wrote to stderr otherwise.
fn run_into_closed_pipe(env: &Env, args: &[&str], both: bool) -> (Option<i32>, String) {
    let mut cmd = env.command(args);
    cmd.stdout(Stdio::from(closed_pipe()));
    cmd.stderr(if both { Stdio::from(closed_pipe()) } else { Stdio::piped() });
    let out = cmd.output().expect("run localca");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_closed_pipe_ends_the_output_not_the_command() {
    let env = Env::new();
    env.create_ca();
    // `localca ca show --json | head -c1`: was a panic (exit 101/134).
    for args in [&["ca", "show", "--json"][..], &["ca", "show"], &["ca", "export"], &["ca", "path"]] {
        let (code, stderr) = run_into_closed_pipe(&env, args, false);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} printed: {stderr}");
    }
}

#[test]
fn a_closed_pipe_on_both_streams_still_does_the_work() {
    // `localca cert x 2>&1 | head -1` aborted after the first line, before writing anything.
    let env = Env::new();
    let (code, _) = run_into_closed_pipe(&env, &["cert", "myapp.test"], true);
    assert_eq!(code, Some(0));
    assert!(env.root_pem_path().exists(), "the CA was created");
    assert!(env.file("myapp.test.pem").exists() && env.file("myapp.test-key.pem").exists());
    // A failing command keeps its own exit code.
    let (code, _) = run_into_closed_pipe(&env, &["cert", "evil.com"], true);
    assert_eq!(code, Some(1));
}

#[test]
fn a_full_disk_on_stdout_is_an_error() {
    if !std::path::Path::new("/dev/full").exists() {
        return common::skip("a_full_disk_on_stdout_is_an_error", "no /dev/full here", false);
    }
    let env = Env::new();
    env.create_ca();
    let mut cmd = env.command(&["ca", "show", "--json"]);
    cmd.stdout(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap());
    let run = common::run_command(cmd);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: writing to standard output:"), "{}", run.stderr);
}

#[test]
fn uri_names_are_held_to_the_permitted_names() {
    let env = Env::new();
    env.create_ca();
    for uri in ["mailto:a@evil.com", "MAILTO:a%40evil.com", "mailto:a@myapp.test,b@evil.com"] {
        let r = env.fail(&["cert", "--uri", uri, "--cert-file", "u.pem", "--key-file", "k.pem"]);
        assert!(r.stderr.contains("outside this CA's name constraints"), "{uri}: {}", r.stderr);
    }
    for uri in ["urn:uuid:1234", "tag:evil.com,2024:x"] {
        let r = env.fail(&["cert", "--uri", uri, "--cert-file", "u.pem", "--key-file", "k.pem"]);
        assert!(r.stderr.contains("a URI without a host"), "{uri}: {}", r.stderr);
    }
    assert!(!env.file("u.pem").exists() && !env.file("k.pem").exists());
    for uri in ["mailto:a@myapp.test", "spiffe://myapp.test/api", "https://127.0.0.1:8443/"] {
        env.ok(&["cert", "--uri", uri, "--cert-file", "u.pem", "--key-file", "k.pem"]);
        assert_eq!(common::sans(&common::cert_der_from_file(&env.file("u.pem"))), [format!("URI:{uri}")]);
    }
    // An unconstrained root vouches for anything, hostless URIs included.
    let open = Env::new();
    open.ok(&["ca", "create", "--no-name-constraints"]);
    open.ok(&["cert", "--uri", "urn:uuid:1234", "--cert-file", "u.pem", "--key-file", "k.pem"]);
}

fn p12_opens_with(env: &Env, file: &str, password: &str) -> bool {
    let pass = format!("pass:{password}");
    let (ok, _) = openssl(&env.cwd, &["pkcs12", "-in", file, "-passin", &pass, "-nokeys"]);
    ok
}

#[test]
fn the_p12_password_need_not_be_on_the_command_line() {
    let env = Env::new();
    env.create_ca();
    common::write(&env.file("pw"), "s3cret pass\n");
    env.ok(&["cert", "--p12-file", "a.p12", "--p12-password-file", "pw", "myapp.test"]);
    assert!(p12_opens_with(&env, "a.p12", "s3cret pass"));
    assert!(!p12_opens_with(&env, "a.p12", "changeit"));

    let mut cmd = env.command(&["cert", "--p12-file", "b.p12", "myapp.test"]);
    cmd.env("LOCALCA_P12_PASSWORD", "from-env");
    assert_eq!(common::run_command(cmd).code, 0);
    assert!(p12_opens_with(&env, "b.p12", "from-env"));
    // The file wins over the variable (a shell exporting one still can use the other).
    let mut cmd = env.command(&["cert", "--p12-file", "e.p12", "--p12-password-file", "pw", "myapp.test"]);
    cmd.env("LOCALCA_P12_PASSWORD", "from-env");
    assert_eq!(common::run_command(cmd).code, 0);
    assert!(p12_opens_with(&env, "e.p12", "s3cret pass"));

    env.ok(&["cert", "--p12-file", "c.p12", "myapp.test"]);
    assert!(p12_opens_with(&env, "c.p12", "changeit"), "the default stays changeit");

    common::write(&env.file("empty"), "\n");
    let r = env.fail(&["cert", "--p12-file", "d.p12", "--p12-password-file", "empty", "myapp.test"]);
    assert!(r.stderr.contains("no password on its first line"), "{}", r.stderr);
    let r = env.fail(&["cert", "--p12-file", "d.p12", "--p12-password-file", "missing", "myapp.test"]);
    assert!(r.stderr.contains("--p12-password-file missing"), "{}", r.stderr);
    assert!(!env.file("d.p12").exists());
    let r = env.run(&["cert", "--p12-password", "x", "--p12-password-file", "pw", "myapp.test"]);
    assert_eq!(r.code, 2, "both at once is a usage error");

    let help = env.ok(&["cert", "--help"]).stdout;
    for needle in ["--p12-password-file", "LOCALCA_P12_PASSWORD", "process list"] {
        assert!(help.contains(needle), "--help must mention {needle}:\n{help}");
    }
}

/// The measurement behind keeping the root's constraints to DNS and IP (README, "Security model"):
/// with permitted rfc822Name or URI subtrees for the development names added, rustls-webpki 0.103
/// still accepts ordinary TLS server leaves, but refuses a client certificate for
/// `alice@myapp.test` (`localca cert --client`) and a leaf with `spiffe://myapp.test/x`
/// (`--uri`) with NameConstraintViolation, though both names are inside the subtrees (OpenSSL
/// accepts them). The same leaves under a DNS-only root pass. If this test fails, webpki changed:
/// reconsider the subtrees.
#[test]
fn email_and_uri_subtrees_on_the_root_break_rustls_for_such_leaves() {
    use rcgen::{BasicConstraints, CertificateParams, CustomExtension, IsCa, KeyPair, SanType};
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        [&[tag, content.len() as u8][..], content].concat()
    }
    let root_key = KeyPair::generate().unwrap();
    // (root DER, leaf DER) for a root permitting DNS `test` plus `extra` subtrees (tag, value).
    let pair = |extra: &[(u8, &str)], leaf_names: Vec<SanType>| {
        let mut names = vec![(0x82u8, "test")];
        names.extend_from_slice(extra);
        let subtrees: Vec<u8> =
            names.iter().flat_map(|(tag, v)| tlv(0x30, &tlv(*tag, v.as_bytes()))).collect();
        let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 30], tlv(0x30, &tlv(0xA0, &subtrees)));
        ext.set_criticality(true);
        let mut params = CertificateParams::default();
        params.distinguished_name.push(rcgen::DnType::CommonName, "probe root");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.custom_extensions = vec![ext];
        let root = params.self_signed(&root_key).unwrap().der().to_vec();
        let issuer = rcgen::Issuer::from_params(&params, &root_key);
        let mut leaf = CertificateParams::default();
        leaf.subject_alt_names = leaf_names;
        leaf.extended_key_usages =
            vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        (root, leaf.signed_by(&KeyPair::generate().unwrap(), &issuer).unwrap().der().to_vec())
    };
    let server = || vec![SanType::DnsName("myapp.test".try_into().unwrap())];
    let email = || vec![SanType::Rfc822Name("alice@myapp.test".try_into().unwrap())];
    let uri = || {
        vec![
            SanType::DnsName("myapp.test".try_into().unwrap()),
            SanType::URI("spiffe://myapp.test/x".try_into().unwrap()),
        ]
    };
    let email_subtrees: &[(u8, &str)] = &[(0x81, "test"), (0x81, ".test")];
    let uri_subtrees: &[(u8, &str)] = &[(0x86, "test"), (0x86, ".test")];
    let client = webpki::KeyUsage::client_auth();

    let (root, leaf) = pair(email_subtrees, server());
    assert_eq!(common::webpki_verify(&root, &leaf, webpki::KeyUsage::server_auth(), &["myapp.test"]), Ok(()));
    let (root, leaf) = pair(&[], email());
    assert_eq!(common::webpki_verify(&root, &leaf, client, &[]), Ok(()), "DNS-only root");
    let (root, leaf) = pair(email_subtrees, email());
    assert_eq!(
        common::webpki_verify(&root, &leaf, client, &[]),
        Err(webpki::Error::NameConstraintViolation),
        "webpki now accepts email leaves under email subtrees: reconsider adding them"
    );
    let server = webpki::KeyUsage::server_auth();
    let (root, leaf) = pair(uri_subtrees, vec![SanType::DnsName("myapp.test".try_into().unwrap())]);
    assert_eq!(common::webpki_verify(&root, &leaf, server, &["myapp.test"]), Ok(()));
    let (root, leaf) = pair(&[], uri());
    assert_eq!(common::webpki_verify(&root, &leaf, server, &["myapp.test"]), Ok(()), "DNS-only root");
    let (root, leaf) = pair(uri_subtrees, uri());
    assert_eq!(
        common::webpki_verify(&root, &leaf, server, &["myapp.test"]),
        Err(webpki::Error::NameConstraintViolation),
        "webpki now accepts URI leaves under URI subtrees: reconsider adding them"
    );
}
