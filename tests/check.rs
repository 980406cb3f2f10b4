//! `localca check` against live TLS servers on 127.0.0.1 (rustls servers in this process, each
//! sending a chain made for the case): a localca leaf is accepted; a self-signed certificate, a
//! wrong name, an expired certificate, a chain from an intermediate the server does not send and a
//! leaf from an earlier root are each refused with their own problem code and a fix.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::thread;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};
use serde_json::Value;

/// Serves `chain` with `key` on 127.0.0.1 until the test process ends; returns the port.
fn serve(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("key matches");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut conn = ServerConnection::new(config.clone()).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut stream).is_err() {
                    break;
                }
            }
            conn.send_close_notify();
            let _ = conn.complete_io(&mut stream);
        }
    });
    port
}

fn serve_files(cert: &Path, key: &Path) -> u16 {
    let chain = CertificateDer::pem_file_iter(cert).unwrap().map(|c| c.unwrap()).collect();
    serve(chain, PrivateKeyDer::from_pem_file(key).unwrap())
}

/// Runs `localca check --json ARGS` with a private HOME; returns the run and the parsed JSON.
fn check(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> (Run, Value) {
    let mut full = vec!["check", "--json"];
    full.extend_from_slice(args);
    let mut cmd = env.command(&full);
    cmd.env("HOME", env.tmp.path()).env("NO_COLOR", "1");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let run = run_command(cmd);
    let json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("JSON: {e}\n{}{}", run.stdout, run.stderr));
    (run, json)
}

fn codes(json: &Value) -> Vec<&str> {
    json["problems"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect()
}

/// A leaf for `names`, signed by `issuer`, valid from `from` to `to` days from now.
fn leaf(
    names: &[&str],
    issuer: &Issuer<'_, KeyPair>,
    from: i64,
    to: i64,
) -> (CertificateDer<'static>, KeyPair) {
    let mut params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(from);
    params.not_after = now + time::Duration::days(to);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    (params.signed_by(&key, issuer).unwrap().der().clone(), key)
}

fn der_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::try_from(key.serialize_der()).unwrap()
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
}

/// The localca root of `env` as an rcgen issuer (its key is a file in these tests).
fn localca_issuer(env: &Env) -> Issuer<'static, KeyPair> {
    let key = KeyPair::from_pem(&std::fs::read_to_string(env.root_key_path()).unwrap()).unwrap();
    Issuer::from_ca_cert_pem(&std::fs::read_to_string(env.root_pem_path()).unwrap(), key).unwrap()
}

#[test]
fn a_localca_leaf_is_accepted_and_described() {
    let env = Env::new();
    env.create_ca();
    env.ok(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "myapp.test", "127.0.0.1"]);
    let port = serve_files(&env.file("c.pem"), &env.file("k.pem"));
    let target = format!("https://myapp.test:{port}/path");
    let (run, json) = check(&env, &[&target, "--connect", "127.0.0.1"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(json["ok"], true);
    assert_eq!(json["chains_to"], "localca");
    assert_eq!(json["name_matches"], true);
    assert_eq!(json["alpn"], "http/1.1");
    assert!(json["protocol"].as_str().unwrap().starts_with("TLS 1."));
    assert_eq!(json["chain"][0]["sans"], serde_json::json!(["DNS:myapp.test", "IP:127.0.0.1"]));
    assert_eq!(json["chain"][0]["sha256"], sha256_hex(&cert_der_from_file(&env.file("c.pem"))));
    assert_eq!(codes(&json), Vec::<&str>::new());
    // The documented shape (README, "Output for scripts"): fields may be added, never renamed.
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "target",
        "host",
        "port",
        "address",
        "protocol",
        "cipher_suite",
        "alpn",
        "chain",
        "name_matches",
        "chains_to",
        "stores",
        "problems",
        "warnings",
        "notes",
        "ok",
    ] {
        assert!(keys.contains(&key), "no {key} in {keys:?}");
    }
    let chain_keys: Vec<&str> = json["chain"][0].as_object().unwrap().keys().map(String::as_str).collect();
    for key in ["subject", "issuer", "sans", "not_before", "not_after", "sha256", "ca"] {
        assert!(chain_keys.contains(&key), "no {key} in {chain_keys:?}");
    }
    // An IP address needs no --connect; the human form says the same, without colour off a terminal.
    let (run, _) = check(&env, &[&format!("127.0.0.1:{port}")], &[]);
    assert_eq!(run.code, 0);
    let text = env.run(&["check", &format!("127.0.0.1:{port}")]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains("chains to the localca root") && text.stdout.contains("OK:"),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains('\x1b'), "no colour when stdout is not a terminal");
}

#[test]
fn a_self_signed_certificate_is_named_as_such() {
    let env = Env::new();
    env.create_ca();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["myapp.test".to_string()]).unwrap().self_signed(&key).unwrap();
    let port = serve(vec![cert.der().clone()], der_key(&key));
    let (run, json) = check(&env, &[&format!("myapp.test:{port}"), "--connect", "127.0.0.1"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(codes(&json), ["self-signed"]);
    assert_eq!(json["chains_to"], Value::Null);
    assert!(json["problems"][0]["fix"].as_str().unwrap().contains("localca cert myapp.test"));
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);

    // A damaged CA does not stop the check; it is named.
    write(&env.root_pem_path(), "not a certificate");
    let (run, json) = check(&env, &[&format!("myapp.test:{port}"), "--connect", "127.0.0.1"], &[]);
    assert_eq!(run.code, 1);
    assert!(json["notes"][0].as_str().unwrap().contains("could not be read"), "{json}");
}

#[test]
fn a_wrong_name_lists_the_names_the_certificate_holds() {
    let env = Env::new();
    env.create_ca();
    env.ok(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "other.test", "localhost"]);
    let port = serve_files(&env.file("c.pem"), &env.file("k.pem"));
    let (run, json) = check(&env, &[&format!("myapp.test:{port}"), "--connect", "127.0.0.1"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(codes(&json), ["name-mismatch"]);
    assert_eq!(json["chains_to"], "localca", "the chain itself is fine");
    let message = json["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains("DNS:other.test, DNS:localhost"), "{message}");
}

#[test]
fn an_expired_certificate_says_when() {
    let env = Env::new();
    env.create_ca();
    let (cert, key) = leaf(&["myapp.test"], &localca_issuer(&env), -30, -2);
    let port = serve(vec![cert], der_key(&key));
    let (run, json) = check(&env, &[&format!("myapp.test:{port}"), "--connect", "127.0.0.1"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(codes(&json), ["expired"]);
    assert!(json["problems"][0]["message"].as_str().unwrap().starts_with("the certificate expired on 20"));
    // Only the date is wrong: the chain and the name are still judged.
    assert_eq!(json["chains_to"], "localca");
    assert_eq!(json["name_matches"], true);

    let (cert, key) = leaf(&["myapp.test"], &localca_issuer(&env), 2, 30);
    let port = serve(vec![cert], der_key(&key));
    let (run, json) = check(&env, &[&format!("myapp.test:{port}"), "--connect", "127.0.0.1"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(codes(&json), ["not-yet-valid"]);
}

#[test]
fn an_intermediate_the_server_does_not_send_is_reported() {
    let env = Env::new();
    env.create_ca();
    // A root the "OS store" trusts (SSL_CERT_FILE, which rustls-native-certs honours), an
    // intermediate, and a leaf from the intermediate.
    let root_key = KeyPair::generate().unwrap();
    let root = ca_params("Test Root").self_signed(&root_key).unwrap();
    write(&env.file("os-root.pem"), root.pem());
    let root_issuer = Issuer::new(ca_params("Test Root"), root_key);
    let mid_key = KeyPair::generate().unwrap();
    let mid = ca_params("Test Intermediate").signed_by(&mid_key, &root_issuer).unwrap();
    let mid_issuer = Issuer::new(ca_params("Test Intermediate"), mid_key);
    let (cert, key) = leaf(&["myapp.test"], &mid_issuer, -1, 30);
    let os = env.file("os-root.pem");
    let vars = [("SSL_CERT_FILE", os.to_str().unwrap()), ("SSL_CERT_DIR", "/nonexistent")];

    let port = serve(vec![cert.clone()], der_key(&key));
    let (run, json) = check(&env, &[&format!("myapp.test:{port}"), "--connect", "127.0.0.1"], &vars);
    assert_eq!(run.code, 1);
    assert_eq!(codes(&json), ["missing-intermediate"]);
    let problem = &json["problems"][0];
    assert!(problem["message"].as_str().unwrap().contains("CN=Test Intermediate"), "{problem}");
    assert!(problem["fix"].as_str().unwrap().contains("full chain"), "{problem}");

    // The same leaf with the intermediate sent: accepted, through the OS store.
    let port = serve(vec![cert, mid.der().clone()], der_key(&key));
    let (run, json) = check(&env, &[&format!("myapp.test:{port}"), "--connect", "127.0.0.1"], &vars);
    assert_eq!(run.code, 0, "{json}");
    assert_eq!(json["chains_to"], "os");
    assert_eq!(json["chain"].as_array().unwrap().len(), 2);
}

#[test]
fn a_leaf_from_an_earlier_root_says_so() {
    let env = Env::new();
    env.create_ca();
    env.ok(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "myapp.test"]);
    // A new root replaces the first one.
    std::fs::remove_dir_all(&env.home).unwrap();
    env.create_ca();
    let port = serve_files(&env.file("c.pem"), &env.file("k.pem"));
    let (run, json) = check(&env, &[&format!("myapp.test:{port}"), "--connect", "127.0.0.1"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(codes(&json), ["earlier-root"]);
    assert!(json["problems"][0]["fix"].as_str().unwrap().contains("localca cert myapp.test"));
}

#[test]
fn no_server_or_a_bad_target_is_one_clear_line() {
    let env = Env::new();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed again
    let run = env.fail(&["check", &format!("127.0.0.1:{port}")]);
    assert!(run.stderr.contains("cannot connect to 127.0.0.1"), "{}", run.stderr);
    let run = env.fail(&["check", "http://myapp.test"]);
    assert!(run.stderr.contains("use https://"), "{}", run.stderr);
    let run = env.fail(&["check", "nonexistent.invalid:443"]);
    assert!(run.stderr.contains("--connect"), "{}", run.stderr);
}

/// In the sandbox: an earlier root still in the system store is a warning (exit 0), and a problem
/// once removed. See tests/check-sandbox/earlier-root.
#[cfg(target_os = "linux")]
#[test]
fn an_earlier_root_still_installed_is_a_warning_then_a_problem() {
    common::sandbox::run_with_tools(
        "check::an_earlier_root_still_installed_is_a_warning_then_a_problem",
        "tests/check-sandbox/earlier-root",
    );
}
