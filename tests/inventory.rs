//! The inventory with the real binary: `cert` records, `list` shows states, `renew` re-issues in
//! place, a damaged inventory is reported and kept, and a real nginx serves renewed files after a
//! reload.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{cert_der_from_file, openssl_ok, Env};
use serde_json::Value;

fn list_json(env: &Env) -> Vec<Value> {
    let run = env.ok(&["list", "--json"]);
    let doc: Value = serde_json::from_str(&run.stdout).expect("list --json is JSON");
    doc["leaves"].as_array().expect("leaves").clone()
}

fn leaf<'a>(leaves: &'a [Value], name: &str) -> &'a Value {
    leaves
        .iter()
        .find(|l| l["names"].as_array().unwrap().iter().any(|n| n == name))
        .unwrap_or_else(|| panic!("no leaf for {name} in {leaves:#?}"))
}

fn serial(path: &Path) -> String {
    localca::serial_hex(&cert_der_from_file(path)).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A self-signed certificate and key from OpenSSL: someone else's files.
fn foreign_cert(env: &Env, stem: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (env.file(&format!("{stem}.pem")), env.file(&format!("{stem}-key.pem")));
    openssl_ok(
        &env.cwd,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=foreign",
            "-keyout",
            p(&key),
            "-out",
            p(&cert),
        ],
    );
    (cert, key)
}

#[test]
fn cert_records_and_list_marks_missing_replaced_and_mismatched_files() {
    let env = Env::new();
    env.ok(&["cert", "myapp.test", "localhost"]);
    env.ok(&["cert", "--client", "--days", "10", "--key-type", "ecdsa-p384", "short.test"]);
    env.ok(&["cert", "--p12-file", "bundle.p12", "p12.test"]);
    env.ok(&["cert", "--cert-file", "c.pem", "--key-file", "k.pem", "other.test"]);
    let leaves = list_json(&env);
    assert_eq!(leaves.len(), 4);
    let short = leaf(&leaves, "short.test");
    assert_eq!(short["key_type"], "ecdsa-p384");
    assert_eq!(short["client"], true);
    assert_eq!(short["days"], 10);
    assert_eq!(short["state"], "ok");
    assert_eq!(short["cert"], p(&env.file("short.test-client.pem")), "absolute path");
    assert_eq!(short["serial"], serial(&env.file("short.test-client.pem")));
    assert_eq!(short["root_sha256"], common::sha256_hex(&env.root_der()));
    assert!(leaf(&leaves, "p12.test")["p12"].as_str().unwrap().ends_with("/bundle.p12"));
    let inventory = env.home.join("inventory.json");
    assert_eq!(common::mode(&inventory), 0o600);

    // Break each in its own way.
    let (foreign, _) = foreign_cert(&env, "foreign");
    fs::copy(&foreign, env.file("c.pem")).unwrap();
    let (_, other_key) = foreign_cert(&env, "other");
    fs::copy(&other_key, env.file("myapp.test+1-key.pem")).unwrap();
    fs::remove_file(env.file("bundle.p12")).unwrap();

    let leaves = list_json(&env);
    assert_eq!(leaf(&leaves, "other.test")["state"], "replaced");
    assert_eq!(leaf(&leaves, "p12.test")["state"], "missing");
    let mismatch = leaf(&leaves, "myapp.test");
    assert_eq!(mismatch["state"], "key-mismatch");
    let fix = format!("localca renew {}", p(&env.file("myapp.test+1.pem")));
    assert!(mismatch["problem"].as_str().unwrap().contains(&fix), "{mismatch:#}");
    assert_eq!(leaf(&leaves, "short.test")["state"], "ok");

    let table = env.ok(&["list"]).stdout;
    for word in ["replaced", "missing", "key-mismatch", &fix] {
        assert!(table.contains(word), "{word} in:\n{table}");
    }
    // --expiring keeps the short one only.
    let soon = env.ok(&["list", "--json", "--expiring", "30"]).stdout;
    let soon: Value = serde_json::from_str(&soon).unwrap();
    assert_eq!(soon["leaves"].as_array().unwrap().len(), 1);

    // The mismatch is fixed the way list says.
    env.ok(&["renew", p(&env.file("myapp.test+1.pem"))]);
    assert_eq!(leaf(&list_json(&env), "myapp.test")["state"], "ok");
    // A replaced certificate is never overwritten, and naming it fails.
    let before = fs::read(env.file("c.pem")).unwrap();
    let run = env.fail(&["renew", "c.pem"]);
    assert!(run.stdout.contains("now holds another certificate"), "{}", run.stdout);
    assert_eq!(fs::read(env.file("c.pem")).unwrap(), before);
}

#[test]
fn renew_keeps_paths_names_and_options_with_a_new_key() {
    let env = Env::new();
    env.ok(&["cert", "--client", "--days", "10", "--key-type", "ecdsa-p384", "short.test", "127.0.0.1"]);
    env.ok(&["cert", "long.test"]);
    let (cert, key) = (env.file("short.test+1-client.pem"), env.file("short.test+1-client-key.pem"));
    let long = env.file("long.test.pem");
    let (old_serial, old_key, long_bytes) =
        (serial(&cert), fs::read(&key).unwrap(), fs::read(&long).unwrap());
    let files_before = env.cwd_files();

    let run = env.ok(&["renew"]);
    assert!(run.stdout.contains(&format!("renewed  {}", p(&cert))), "{}", run.stdout);
    assert!(run.stdout.contains("1 renewed"), "{}", run.stdout);
    assert_eq!(env.cwd_files(), files_before, "same files, no others");
    assert_ne!(serial(&cert), old_serial);
    assert_ne!(fs::read(&key).unwrap(), old_key, "a new key");
    assert_eq!(common::mode(&key), 0o600);
    assert_eq!(fs::read(&long).unwrap(), long_bytes, "not due: untouched");
    // Same names and options.
    let der = cert_der_from_file(&cert);
    assert_eq!(common::sans(&der), ["DNS:short.test", "IP:127.0.0.1"]);
    assert_eq!(common::validity_seconds(&der), 10 * 86400);
    let text = openssl_ok(&env.cwd, &["x509", "-noout", "-text", "-in", p(&cert)]);
    assert!(text.contains("TLS Web Client Authentication") && text.contains("NIST CURVE: P-384"), "{text}");
    common::assert_verifies(&env.root_pem_path(), &cert, &["short.test", "127.0.0.1"]);
    openssl_ok(&env.cwd, &["pkey", "-in", p(&key), "-pubout", "-out", "pub1.pem"]);
    openssl_ok(&env.cwd, &["x509", "-in", p(&cert), "-pubkey", "-noout", "-out", "pub2.pem"]);
    assert_eq!(fs::read(env.file("pub1.pem")).unwrap(), fs::read(env.file("pub2.pem")).unwrap());
    fs::remove_file(env.file("pub1.pem")).unwrap();
    fs::remove_file(env.file("pub2.pem")).unwrap();

    // By name, whatever the expiry; --within that matches nothing; --all.
    env.ok(&["renew", "long.test"]);
    assert_ne!(fs::read(&long).unwrap(), long_bytes);
    let run = env.ok(&["renew", "--within", "5"]);
    assert!(run.stdout.contains("Nothing expires within 5 days"), "{}", run.stdout);
    let run = env.ok(&["renew", "--all"]);
    assert!(run.stdout.contains("2 renewed, 0 skipped"), "{}", run.stdout);
    let run = env.fail(&["renew", "nothing.test"]);
    assert!(run.stderr.contains("no recorded certificate"), "{}", run.stderr);
    assert_eq!(list_json(&env).len(), 2, "renewal replaces records, never adds");
}

#[test]
fn cert_warns_about_leaves_expiring_soon() {
    let env = Env::new();
    let run = env.ok(&["cert", "--days", "10", "soon.test"]);
    assert!(!run.stderr.contains("expire within"), "not about the one just issued: {}", run.stderr);
    let run = env.ok(&["cert", "later.test"]);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains("expire within 30 days")).collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(lines[0].contains("soon.test.pem") && lines[0].contains("localca renew"), "{}", lines[0]);
}

#[test]
fn a_damaged_inventory_is_reported_and_kept() {
    let env = Env::new();
    env.ok(&["cert", "first.test"]);
    let inventory = env.home.join("inventory.json");
    fs::write(&inventory, b"{ not json").unwrap();
    let run = env.ok(&["cert", "second.test"]);
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(warnings[0].contains(p(&inventory)), "{}", warnings[0]);
    assert!(env.file("second.test.pem").exists(), "the certificate is still issued");
    assert_eq!(fs::read(&inventory).unwrap(), b"{ not json", "never overwritten");
    for args in [&["list"][..], &["renew", "--all"]] {
        let run = env.fail(args);
        assert!(
            run.stderr.contains("damaged inventory") && run.stderr.contains(p(&inventory)),
            "{}",
            run.stderr
        );
    }
    assert_eq!(fs::read(&inventory).unwrap(), b"{ not json");
}

#[test]
fn paths_that_are_not_utf8_are_recorded_and_renewed() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let dir = env.cwd.join(std::ffi::OsStr::from_bytes(b"dir-\xff"));
    fs::create_dir(&dir).unwrap();
    let run = common::run_command(env.command_in(&dir, &["cert", "odd.test"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cert = dir.join("odd.test.pem");
    let before = serial(&cert);
    assert_eq!(list_json(&env).len(), 1);
    env.ok(&["list"]);
    let mut cmd = env.command(&["renew"]);
    cmd.arg(&cert);
    let run = common::run_command(cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_ne!(serial(&cert), before);
}

// ------------------------------------------------------------------------------ nginx

struct Nginx {
    prefix: PathBuf,
    child: std::process::Child,
}

impl Nginx {
    fn start(prefix: &Path, cert: &Path, key: &Path, port: u16) -> Nginx {
        let conf = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {pfx}/nginx.pid;\nerror_log {pfx}/error.log;\n\
             events {{ worker_connections 16; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {pfx}/tmp;\n\
             proxy_temp_path {pfx}/tmp;\n  fastcgi_temp_path {pfx}/tmp;\n  uwsgi_temp_path {pfx}/tmp;\n  scgi_temp_path {pfx}/tmp;\n\
             server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name myapp.test;\n    ssl_certificate {cert};\n\
             ssl_certificate_key {key};\n    location / {{ return 200 \"served by nginx\\n\"; }}\n  }}\n}}\n",
            pfx = prefix.display(),
            cert = cert.display(),
            key = key.display()
        );
        fs::create_dir_all(prefix.join("tmp")).unwrap();
        fs::write(prefix.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        Nginx { prefix: prefix.to_path_buf(), child }
    }

    /// `nginx -s SIGNAL` to this server's master process.
    fn signal(&self, signal: &str) -> bool {
        Command::new("nginx")
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(self.prefix.join("nginx.conf"))
            .args(["-s", signal])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn reload(&self) {
        assert!(self.signal("reload"), "nginx -s reload failed");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // A fast shutdown, so the master takes its workers with it (a SIGKILL would orphan them).
        if !self.signal("stop") {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// curl with only `ca` trusted: (accepted, output).
fn curl(ca: &Path, port: u16) -> (bool, String) {
    let mut cmd = Command::new("curl");
    for var in ["SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "https_proxy", "HTTPS_PROXY", "all_proxy"]
    {
        cmd.env_remove(var);
    }
    let out = cmd
        .args(["-sS", "--noproxy", "*", "--max-time", "10", "--cacert", p(ca), "--resolve"])
        .arg(format!("myapp.test:{port}:127.0.0.1"))
        .arg(format!("https://myapp.test:{port}/"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success() && text.contains("served by nginx"), text)
}

/// The serial of the certificate the server on `port` sends.
fn served_serial(port: u16) -> Option<String> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "myapp.test"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let pem = String::from_utf8_lossy(&out.stdout);
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    localca::serial_hex(&common::cert_der_from_pem(pem[start..].as_bytes()))
}

fn wait_for(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[test]
fn nginx_serves_the_renewed_files_after_a_reload() {
    let test = "nginx_serves_the_renewed_files_after_a_reload";
    if !common::sandbox::in_path("nginx") {
        return common::skip(test, "nginx is not installed (apt-get install nginx)", true);
    }
    let env = Env::new();
    env.ok(&["cert", "--days", "5", "myapp.test", "localhost"]);
    let (cert, key) = (env.file("myapp.test+1.pem"), env.file("myapp.test+1-key.pem"));
    let (other_root, _) = foreign_cert(&env, "unrelated-root");
    let port = free_port();
    let _nginx = Nginx::start(&env.tmp.path().join("nginx"), &cert, &key, port);
    let old = serial(&cert);
    assert!(wait_for(|| served_serial(port).as_deref() == Some(old.as_str())), "nginx did not come up");

    let (accepted, text) = curl(&other_root, port);
    assert!(!accepted, "curl trusting another root must refuse: {text}");
    let (accepted, text) = curl(&env.root_pem_path(), port);
    assert!(accepted, "curl trusting the root must accept: {text}");

    let run = env.ok(&["renew"]);
    assert!(run.stdout.contains("renewed"), "{}", run.stdout);
    let new = serial(&cert);
    assert_ne!(new, old);
    _nginx.reload();
    assert!(
        wait_for(|| served_serial(port).as_deref() == Some(new.as_str())),
        "nginx still serves the old certificate"
    );
    let (accepted, text) = curl(&env.root_pem_path(), port);
    assert!(accepted, "curl must accept the renewed certificate: {text}");
    let (accepted, _) = curl(&other_root, port);
    assert!(!accepted);
}
