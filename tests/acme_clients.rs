//! Real ACME clients (Debian's lego, certbot and Caddy; Traefik's release binary) against
//! `localca acme serve`: each first refuses the server while it does not trust the root, then
//! gets, renews and (certbot) revokes certificates that verify against the root.

mod acme_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acme_support::{free_port, Server};
use common::{have, Env};

fn env_with_ca() -> Env {
    let env = Env::new();
    env.ok(&["ca", "create"]);
    env
}

/// Runs a client command; returns (success, stdout + stderr).
fn run(mut cmd: Command) -> (bool, String) {
    let out = cmd.stdin(Stdio::null()).output().expect("client runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The client environment: no inherited CA variables, HOME inside the test folder.
fn client_command(env: &Env, program: &str) -> Command {
    let mut cmd = Command::new(program);
    for var in
        ["SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "LEGO_CA_CERTIFICATES"]
    {
        cmd.env_remove(var);
    }
    cmd.env("HOME", env.tmp.path()).current_dir(&env.cwd);
    cmd
}

fn lego(env: &Env, server: &Server, trusted: bool, args: &[&str]) -> (bool, String) {
    let mut cmd = client_command(env, "lego");
    if trusted {
        cmd.env("LEGO_CA_CERTIFICATES", env.root_pem_path());
    }
    let path = env.tmp.path().join("lego");
    cmd.args(["--server", &server.directory, "--email", "dev@example.test", "--accept-tos", "--path"])
        .arg(&path)
        .args(args);
    run(cmd)
}

fn serial_of(pem_path: &Path) -> Vec<u8> {
    let der = common::cert_der_from_file(pem_path);
    common::parse(&der).raw_serial().to_vec()
}

#[test]
fn lego_http01_run_renew_and_renew_after_restart() {
    if !have("lego") {
        return common::skip("lego_http01_run_renew_and_renew_after_restart", "lego is not installed", false);
    }
    let env = env_with_ca();
    let http_port = free_port().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut server = Server::start_on(&env, &listen, &["--http-01-port", &http_port]);
    let challenge =
        ["--domains", "app.localhost", "--http", "--http.port", &format!("127.0.0.1:{http_port}")];

    let (ok, text) = lego(&env, &server, false, &[&challenge[..], &["run"]].concat());
    assert!(!ok, "lego must refuse a server it does not trust:\n{text}");
    assert!(text.contains("certificate"), "{text}");

    let (ok, text) = lego(&env, &server, true, &[&challenge[..], &["run"]].concat());
    assert!(ok, "lego run failed:\n{text}\nserver log:\n{}", server.log_text());
    let cert = env.tmp.path().join("lego/certificates/app.localhost.crt");
    common::assert_verifies(&env.root_pem_path(), &cert, &["app.localhost"]);
    let first = serial_of(&cert);

    let renew = [&challenge[..], &["renew", "--days", "30", "--no-random-sleep"]].concat();
    let (ok, text) = lego(&env, &server, true, &renew);
    assert!(ok, "lego renew failed:\n{text}");
    let second = serial_of(&cert);
    assert_ne!(first, second, "renew must replace the certificate");

    // The account and everything else survive a restart of the server.
    server.kill();
    let server = Server::start_on(&env, &listen, &["--http-01-port", &http_port]);
    let (ok, text) = lego(&env, &server, true, &renew);
    assert!(ok, "lego renew after restart failed:\n{text}\nserver log:\n{}", server.log_text());
    assert_ne!(second, serial_of(&cert));
    common::assert_verifies(&env.root_pem_path(), &cert, &["app.localhost"]);
}

#[test]
fn lego_tls_alpn01() {
    if !have("lego") {
        return common::skip("lego_tls_alpn01", "lego is not installed", false);
    }
    let env = env_with_ca();
    let tls_port = free_port().to_string();
    let server = Server::start(&env, &["--tls-alpn-01-port", &tls_port, "--http-01-port", "1"]);
    let args =
        ["--domains", "alpn.localhost", "--tls", "--tls.port", &format!("127.0.0.1:{tls_port}"), "run"];
    let (ok, text) = lego(&env, &server, true, &args);
    assert!(ok, "lego tls-alpn-01 failed:\n{text}\nserver log:\n{}", server.log_text());
    let cert = env.tmp.path().join("lego/certificates/alpn.localhost.crt");
    common::assert_verifies(&env.root_pem_path(), &cert, &["alpn.localhost"]);
}

fn certbot(env: &Env, server: &Server, trusted: bool, args: &[&str]) -> (bool, String) {
    let mut cmd = client_command(env, "certbot");
    if trusted {
        cmd.env("REQUESTS_CA_BUNDLE", env.root_pem_path());
    }
    let dir = env.tmp.path().join("certbot");
    cmd.args(args)
        .args(["--non-interactive", "--server", &server.directory])
        .arg("--config-dir")
        .arg(dir.join("config"))
        .arg("--work-dir")
        .arg(dir.join("work"))
        .arg("--logs-dir")
        .arg(dir.join("logs"));
    run(cmd)
}

#[test]
fn certbot_certonly_renew_and_revoke() {
    if !have("certbot") {
        return common::skip("certbot_certonly_renew_and_revoke", "certbot is not installed", false);
    }
    let env = env_with_ca();
    let port = free_port().to_string();
    let server = Server::start(&env, &["--http-01-port", &port]);
    let certonly = [
        "certonly",
        "--standalone",
        "--agree-tos",
        "-m",
        "dev@example.test",
        "--http-01-port",
        &port,
        "--http-01-address",
        "127.0.0.1",
        "-d",
        "web.localhost",
    ];
    let (ok, text) = certbot(&env, &server, false, &certonly);
    assert!(!ok, "certbot must refuse a server it does not trust:\n{text}");

    let (ok, text) = certbot(&env, &server, true, &certonly);
    assert!(ok, "certbot certonly failed:\n{text}\nserver log:\n{}", server.log_text());
    let live = env.tmp.path().join("certbot/config/live/web.localhost");
    common::assert_verifies(&env.root_pem_path(), &live.join("cert.pem"), &["web.localhost"]);
    let first = serial_of(&live.join("cert.pem"));

    let (ok, text) =
        certbot(&env, &server, true, &["renew", "--force-renewal", "--no-random-sleep-on-renew"]);
    assert!(ok, "certbot renew failed:\n{text}");
    let renewed = serial_of(&live.join("cert.pem"));
    assert_ne!(first, renewed);

    let cert_path = live.join("cert.pem");
    let (ok, text) = certbot(
        &env,
        &server,
        true,
        &[
            "revoke",
            "--cert-path",
            cert_path.to_str().unwrap(),
            "--no-delete-after-revoke",
            "--reason",
            "superseded",
        ],
    );
    assert!(ok, "certbot revoke failed:\n{text}\nserver log:\n{}", server.log_text());
    // Revoking again: the server answers alreadyRevoked. certbot 2.1 then crashes printing the
    // problem (AttributeError), so the answer is read from its debug log.
    let (ok, text) = certbot(
        &env,
        &server,
        true,
        &["revoke", "--cert-path", cert_path.to_str().unwrap(), "--no-delete-after-revoke"],
    );
    let debug_log = std::fs::read_to_string(env.tmp.path().join("certbot/logs/letsencrypt.log")).unwrap();
    assert!(!ok && debug_log.contains("urn:ietf:params:acme:error:alreadyRevoked"), "{text}");
}

#[test]
fn caddy_gets_its_certificate_from_localca() {
    if !have("caddy") {
        return common::skip("caddy_gets_its_certificate_from_localca", "caddy is not installed", false);
    }
    let env = env_with_ca();
    let (http_port, https_port) = (free_port(), free_port());
    let server = Server::start(
        &env,
        &["--http-01-port", &http_port.to_string(), "--tls-alpn-01-port", &https_port.to_string()],
    );
    let root = env.root_pem_path();
    let caddyfile = env.tmp.path().join("Caddyfile");
    std::fs::write(
        &caddyfile,
        format!(
            "{{\n  admin off\n  http_port {http_port}\n  https_port {https_port}\n  skip_install_trust\n  \
             storage file_system {}\n}}\n\ncaddy.localhost:{https_port} {{\n  respond \"hello from caddy\"\n  \
             tls {{\n    ca {}\n    ca_root {}\n  }}\n}}\n",
            env.tmp.path().join("caddy-data").display(),
            server.directory,
            root.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(env.tmp.path().join("caddy.log")).unwrap();
    let mut caddy = client_command(&env, "caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&caddyfile)
        .env("XDG_DATA_HOME", env.tmp.path().join("xdg-data"))
        .env("XDG_CONFIG_HOME", env.tmp.path().join("xdg-config"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let (ok, text) = wait_for_site(&env, "caddy.localhost", https_port, "hello from caddy");
    let caddy_log = std::fs::read_to_string(env.tmp.path().join("caddy.log")).unwrap_or_default();
    let _ = caddy.kill();
    let _ = caddy.wait();
    assert!(
        ok,
        "curl never reached caddy: {text}\ncaddy log:\n{caddy_log}\nserver log:\n{}",
        server.log_text()
    );
    let (ok, _) = curl_site(&env, "caddy.localhost", https_port, false);
    assert!(!ok, "without the root, curl must refuse Caddy's certificate");
}

/// curl to `https://HOST:PORT/` on 127.0.0.1, trusting only the test's root, or nothing.
fn curl_site(env: &Env, host: &str, port: u16, trusted: bool) -> (bool, String) {
    let mut cmd = client_command(env, "curl");
    cmd.args(["-sS", "--max-time", "5", "--resolve", &format!("{host}:{port}:127.0.0.1")]);
    if trusted {
        cmd.arg("--cacert").arg(env.root_pem_path());
    } else {
        cmd.args(["--cacert", "/dev/null", "--capath", "/nonexistent"]);
    }
    cmd.arg(format!("https://{host}:{port}/"));
    run(cmd)
}

/// Polls the site with curl trusting the root until it answers `text` (the server got its
/// certificate from localca) or 60 s pass; returns the last (success, output).
fn wait_for_site(env: &Env, host: &str, port: u16, text: &str) -> (bool, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, out) = curl_site(env, host, port, true);
        if ok && out.contains(text) {
            return (true, out);
        }
        if Instant::now() > deadline {
            return (false, out);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The account URL lego registered (from its account.json).
fn lego_account_url(env: &Env) -> String {
    let accounts = env.tmp.path().join("lego/accounts");
    let server_dir = std::fs::read_dir(&accounts).unwrap().next().unwrap().unwrap().path();
    let file = server_dir.join("dev@example.test/account.json");
    let account: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    account["registration"]["uri"].as_str().unwrap_or_else(|| panic!("no uri in {account}")).to_string()
}

#[test]
fn lego_certificates_are_listed_with_their_account_and_left_to_lego() {
    let test = "lego_certificates_are_listed_with_their_account_and_left_to_lego";
    if !have("lego") {
        return common::skip(test, "lego is not installed", false);
    }
    use acme_support::{acme_leaves, list_json, wait_for_acme_leaves};
    let env = env_with_ca();
    env.ok(&["cert", "files.test"]);
    let http_port = free_port().to_string();
    let server = Server::start(&env, &["--http-01-port", &http_port]);
    let challenge = [
        "--domains",
        "app.localhost",
        "--domains",
        "www.app.localhost",
        "--http",
        "--http.port",
        &format!("127.0.0.1:{http_port}"),
    ];

    // Before: only the leaf `cert` wrote.
    assert!(acme_leaves(&env).is_empty(), "{:#}", list_json(&env));
    assert_eq!(list_json(&env)["leaves"].as_array().unwrap().len(), 1);

    let (ok, text) = lego(&env, &server, true, &[&challenge[..], &["run"]].concat());
    assert!(ok, "lego run failed:\n{text}\nserver log:\n{}", server.log_text());
    let cert = env.tmp.path().join("lego/certificates/app.localhost.crt");
    let der = common::cert_der_from_file(&cert);
    let serial: String = serial_of(&cert).iter().map(|b| format!("{b:02x}")).collect();
    let leaves = wait_for_acme_leaves(&env, |l| l.len() == 1);
    let leaf = &leaves[0];
    assert_eq!(leaf["serial"], serial.as_str(), "{leaf:#}");
    assert_eq!(leaf["sha256"], common::sha256_hex(&der).as_str());
    assert_eq!(leaf["names"], serde_json::json!(["app.localhost", "www.app.localhost"]));
    assert_eq!(leaf["acme"]["account"], lego_account_url(&env).as_str());
    assert!(lego_account_url(&env).ends_with(leaf["acme"]["account_id"].as_str().unwrap()));
    assert_eq!(leaf["state"], "ok");
    assert_eq!(leaf["days"], 7);
    for file in ["cert", "key", "p12"] {
        assert!(leaf[file].is_null(), "an ACME leaf has no files: {leaf:#}");
    }
    let not_after = common::parse(&der).validity().not_after.timestamp();
    let listed = time::OffsetDateTime::parse(
        leaf["not_after"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(listed.unix_timestamp(), not_after);
    let table = env.ok(&["list"]).stdout;
    assert!(table.contains(&format!("issued via ACME, account {}", lego_account_url(&env))), "{table}");

    // `renew` (due ones, then all) leaves it to lego, in one line, and still renews the rest.
    for args in [&["renew"][..], &["renew", "--all"]] {
        let run = env.ok(args);
        assert!(
            run.stdout
                .contains("skipped  1 certificate(s) issued via ACME (app.localhost, www.app.localhost)")
                && run.stdout.contains("ACME clients renew them"),
            "{args:?}: {}",
            run.stdout
        );
        assert_eq!(common::cert_der_from_file(&cert), der, "renew must not touch lego's files");
    }
    assert!(env.ok(&["renew", "--all"]).stdout.contains("1 renewed"));

    // lego's renewal replaces the record; revocation marks the new one revoked.
    let renew = [&challenge[..], &["renew", "--days", "30", "--no-random-sleep"]].concat();
    let (ok, text) = lego(&env, &server, true, &renew);
    assert!(ok, "lego renew failed:\n{text}");
    let renewed: String = serial_of(&cert).iter().map(|b| format!("{b:02x}")).collect();
    wait_for_acme_leaves(&env, |l| l.len() == 1 && l[0]["serial"] == renewed.as_str());
    let (ok, text) =
        lego(&env, &server, true, &[&challenge[..], &["revoke", "--keep", "--reason", "4"]].concat());
    assert!(ok, "lego revoke failed:\n{text}\nserver log:\n{}", server.log_text());
    let leaves = wait_for_acme_leaves(&env, |l| l.len() == 1 && l[0]["state"] == "revoked");
    assert_eq!(leaves[0]["serial"], renewed.as_str());
    assert_eq!(leaves[0]["acme"]["revocation_reason"], 4);
    assert!(leaves[0]["acme"]["revoked_at"].is_string(), "{:#}", leaves[0]);
    let table = env.ok(&["list"]).stdout;
    assert!(table.lines().any(|l| l.starts_with("revoked") && l.contains("app.localhost")), "{table}");
}

/// Traefik's binary: `$LOCALCA_TRAEFIK`, else the one tests/clients/install-clients put under
/// target/ (Traefik is not in Debian).
fn traefik_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LOCALCA_TRAEFIK") {
        return Some(path.into());
    }
    let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/clients/traefik/traefik");
    installed.is_file().then_some(installed)
}

#[test]
fn traefik_gets_its_certificate_from_localca() {
    let test = "traefik_gets_its_certificate_from_localca";
    let Some(traefik) = traefik_binary() else {
        return common::skip(test, "traefik is not installed: run tests/clients/install-clients", true);
    };
    let env = env_with_ca();
    let (web, websecure, backend_port) = (free_port(), free_port(), free_port());
    let server = Server::start(&env, &["--http-01-port", &web.to_string()]);
    let dir = env.tmp.path();
    std::fs::create_dir(dir.join("site")).unwrap();
    std::fs::write(dir.join("site/index.html"), "hello from traefik\n").unwrap();
    let mut backend = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &backend_port.to_string(), "--directory"])
        .arg(dir.join("site"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The README's configuration, on test ports; certificatesDuration tells Traefik the leaves
    // live 7 days, so it renews them 2 days before expiry (checking every 2 h), not daily.
    std::fs::write(
        dir.join("traefik.yml"),
        format!(
            "global: {{ checkNewVersion: false, sendAnonymousUsage: false }}\n\
             log: {{ level: INFO, noColor: true }}\n\
             entryPoints:\n  web: {{ address: \"127.0.0.1:{web}\" }}\n  websecure: {{ address: \"127.0.0.1:{websecure}\" }}\n\
             providers:\n  file: {{ filename: \"{dynamic}\" }}\n\
             certificatesResolvers:\n  localca:\n    acme:\n      caServer: {directory}\n      \
             email: dev@example.test\n      storage: \"{storage}\"\n      certificatesDuration: 168\n      \
             httpChallenge: {{ entryPoint: web }}\n",
            dynamic = dir.join("dynamic.yml").display(),
            directory = server.directory,
            storage = dir.join("acme.json").display(),
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("dynamic.yml"),
        format!(
            "http:\n  routers:\n    app:\n      rule: \"Host(`traefik.localhost`)\"\n      entryPoints: [websecure]\n      \
             service: app\n      tls: {{ certResolver: localca }}\n  services:\n    app:\n      loadBalancer:\n        \
             servers: [{{ url: \"http://127.0.0.1:{backend_port}\" }}]\n"
        ),
    )
    .unwrap();
    let start_traefik = |trusted: bool, log: &str| {
        let mut cmd = client_command(&env, traefik.to_str().unwrap());
        if trusted {
            cmd.env("LEGO_CA_CERTIFICATES", env.root_pem_path());
        }
        let log = std::fs::File::create(dir.join(log)).unwrap();
        cmd.arg(format!("--configFile={}", dir.join("traefik.yml").display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    };
    let stop = |mut child: std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };

    // Without the root, Traefik refuses the ACME server and keeps serving its own default
    // certificate, which curl refuses.
    let untrusting = start_traefik(false, "traefik-untrusted.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = "x509: certificate signed by unknown authority";
    let log = || std::fs::read_to_string(dir.join("traefik-untrusted.log")).unwrap_or_default();
    while !log().contains(refused) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (served, text) = curl_site(&env, "traefik.localhost", websecure, true);
    stop(untrusting);
    assert!(log().contains(refused), "Traefik did not refuse the untrusted server:\n{}", log());
    assert!(!served, "before it has a certificate from localca, Traefik's must be refused: {text}");

    // With LEGO_CA_CERTIFICATES, it gets one, and curl trusting only the root reaches the site.
    let traefik = start_traefik(true, "traefik.log");
    let (ok, text) = wait_for_site(&env, "traefik.localhost", websecure, "hello from traefik");
    let traefik_log = std::fs::read_to_string(dir.join("traefik.log")).unwrap_or_default();
    stop(traefik);
    let _ = backend.kill();
    let _ = backend.wait();
    assert!(
        ok,
        "curl never reached traefik: {text}\ntraefik log:\n{traefik_log}\nserver log:\n{}",
        server.log_text()
    );
    let (ok, _) = curl_site(&env, "traefik.localhost", websecure, false);
    assert!(!ok, "without the root, curl must refuse Traefik's certificate");
    let leaves = acme_support::wait_for_acme_leaves(&env, |l| l.len() == 1);
    assert_eq!(leaves[0]["names"], serde_json::json!(["traefik.localhost"]), "{leaves:?}");
}
