//! Helpers for the ACME tests: the real `localca acme serve` in a test's CA home, a raw ACME
//! client speaking through curl (so each problem document comes through real HTTP), and a
//! small http-01 responder.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::common::Env;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `localca acme serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub directory: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts the server on an ephemeral port with `args` added; the CA must exist.
    pub fn start(env: &Env, args: &[&str]) -> Server {
        Server::start_on(env, "127.0.0.1:0", args)
    }

    pub fn start_on(env: &Env, listen: &str, args: &[&str]) -> Server {
        let log = env.tmp.path().join(format!("server-{}.log", free_port()));
        let mut all = vec!["acme", "serve", "--listen", listen];
        all.extend_from_slice(args);
        let mut cmd = env.command(&all);
        cmd.stdout(Stdio::piped()).stderr(std::fs::File::create(&log).unwrap());
        let mut child = cmd.spawn().expect("start localca acme serve");
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        // Keep reading, as a terminal would: the server must not see a closed stdout.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let directory = first
            .split_whitespace()
            .find(|w| w.starts_with("https://"))
            .unwrap_or_else(|| {
                panic!(
                    "no directory URL in {first:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        let port = directory.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap();
        let server = Server { child, port, directory, log };
        server.wait_ready(env);
        server
    }

    fn wait_ready(&self, env: &Env) {
        for _ in 0..100 {
            if try_curl(env, "GET", &self.directory, None).is_ok_and(|r| r.status == 200) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the ACME server never answered; log: {}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP exchange.
#[derive(Debug, Clone)]
pub struct Http {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Http {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    /// The problem type without its URN prefix.
    pub fn problem(&self) -> String {
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{self:?}");
        self.json()["type"].as_str().unwrap().trim_start_matches("urn:ietf:params:acme:error:").to_string()
    }
}

/// A request through curl, trusting the test's root. `body`: content type and bytes.
pub fn curl(env: &Env, method: &str, url: &str, body: Option<(&str, &[u8])>) -> Http {
    try_curl(env, method, url, body).unwrap_or_else(|e| panic!("curl {url}: {e}"))
}

/// Like [`curl`]; a failed connection is an error instead of a panic.
pub fn try_curl(env: &Env, method: &str, url: &str, body: Option<(&str, &[u8])>) -> Result<Http, String> {
    // One name per request: threads of one test send at once (a free port number can repeat).
    static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let headers_file = env.tmp.path().join(format!("headers-{n}"));
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--cacert"])
        .arg(env.root_pem_path())
        .args(["-X", method, "-D"])
        .arg(&headers_file)
        .arg(url)
        .env_remove("CURL_CA_BUNDLE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if method == "HEAD" {
        cmd.arg("-I");
    }
    if let Some((content_type, _)) = body {
        cmd.args(["-H", &format!("Content-Type: {content_type}"), "--data-binary", "@-"])
            .stdin(Stdio::piped());
    } else {
        cmd.stdin(Stdio::null());
    }
    let mut child = cmd.spawn().expect("curl");
    if let Some((_, bytes)) = body {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let raw = std::fs::read_to_string(&headers_file).unwrap_or_default();
    let _ = std::fs::remove_file(&headers_file);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let mut lines = raw.lines();
    let Some(status) = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok())
    else {
        return Err(format!("no response status from {url}"));
    };
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Http { status, headers, body: out.stdout })
}

/// A raw ACME client with a P-256 account key.
pub struct Client<'a> {
    pub env: &'a Env,
    pub key: EcdsaKeyPair,
    pub kid: Option<String>,
    pub dir: Value,
    pub nonce: Option<String>,
}

impl<'a> Client<'a> {
    pub fn new(env: &'a Env, directory: &str) -> Client<'a> {
        let dir = curl(env, "GET", directory, None).json();
        Client { env, key: new_key(), kid: None, dir, nonce: None }
    }

    pub fn url(&self, name: &str) -> String {
        self.dir[name].as_str().unwrap().to_string()
    }

    pub fn jwk(&self) -> Value {
        jwk_of(&self.key)
    }

    pub fn nonce(&mut self) -> String {
        if let Some(n) = self.nonce.take() {
            return n;
        }
        let r = curl(self.env, "HEAD", &self.url("newNonce"), None);
        r.header("replay-nonce").expect("a nonce").to_string()
    }

    /// A signed JWS body: by `kid` once the account exists, else by `jwk`.
    pub fn sign(&mut self, url: &str, payload: Option<&Value>) -> Vec<u8> {
        let nonce = self.nonce();
        let mut protected = json!({ "alg": "ES256", "nonce": nonce, "url": url });
        match &self.kid {
            Some(kid) => protected["kid"] = kid.clone().into(),
            None => protected["jwk"] = self.jwk(),
        }
        sign_with(&self.key, &protected, payload)
    }

    /// POSTs a signed request (None: POST-as-GET) and keeps the nonce that comes back.
    pub fn post(&mut self, url: &str, payload: Option<&Value>) -> Http {
        let body = self.sign(url, payload);
        self.send(url, &body)
    }

    pub fn send(&mut self, url: &str, body: &[u8]) -> Http {
        self.try_send(url, body).unwrap_or_else(|e| panic!("curl {url}: {e}"))
    }

    pub fn try_send(&mut self, url: &str, body: &[u8]) -> Result<Http, String> {
        let r = try_curl(self.env, "POST", url, Some(("application/jose+json", body)));
        self.nonce = r.as_ref().ok().and_then(|r| r.header("replay-nonce")).map(String::from);
        r
    }

    /// A POST that retries once on badNonce (as RFC 8555 clients do) and reports failures.
    pub fn try_post(&mut self, url: &str, payload: Option<&Value>) -> Result<Http, String> {
        for _ in 0..2 {
            let nonce = match self.nonce.take() {
                Some(n) => n,
                None => try_curl(self.env, "HEAD", &self.url("newNonce"), None)?
                    .header("replay-nonce")
                    .ok_or("no nonce")?
                    .to_string(),
            };
            self.nonce = Some(nonce);
            let body = self.sign(url, payload);
            let r = self.try_send(url, &body)?;
            if r.status == 400 && String::from_utf8_lossy(&r.body).contains("badNonce") {
                continue;
            }
            return Ok(r);
        }
        Err("badNonce twice".into())
    }

    pub fn register(&mut self) -> Http {
        let r = self.post(
            &self.url("newAccount"),
            Some(&json!({"termsOfServiceAgreed": true, "contact": ["mailto:dev@example.test"]})),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        self.kid = Some(r.header("location").unwrap().to_string());
        r
    }

    pub fn new_order(&mut self, names: &[&str]) -> Http {
        let ids: Vec<Value> = names.iter().map(|n| json!({"type": "dns", "value": n})).collect();
        self.post(&self.url("newOrder"), Some(&json!({ "identifiers": ids })))
    }

    /// The key authorization for a token.
    pub fn key_authorization(&self, token: &str) -> String {
        format!("{token}.{}", thumbprint(&self.jwk()))
    }
}

pub fn new_key() -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
}

pub fn jwk_of(key: &EcdsaKeyPair) -> Value {
    let point = key.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])})
}

pub fn thumbprint(jwk: &Value) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str().unwrap(),
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    b64(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
}

pub fn sign_with(key: &EcdsaKeyPair, protected: &Value, payload: Option<&Value>) -> Vec<u8> {
    let protected = b64(protected.to_string().as_bytes());
    let payload = payload.map(|p| b64(p.to_string().as_bytes())).unwrap_or_default();
    let sig = key.sign(&SystemRandom::new(), format!("{protected}.{payload}").as_bytes()).unwrap();
    json!({"protected": protected, "payload": payload, "signature": b64(sig.as_ref())})
        .to_string()
        .into_bytes()
}

/// A tiny http-01 responder: answers /.well-known/acme-challenge/TOKEN with the key
/// authorization registered for TOKEN; stops when dropped.
pub struct Http01 {
    pub port: u16,
    tokens: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Http01 {
    pub fn start() -> Http01 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let tokens: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (t, s) = (tokens.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                let mut buf = [0u8; 2048];
                let n = stream.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let token = path.trim_start_matches("/.well-known/acme-challenge/");
                let found = t.lock().unwrap().iter().find(|(k, _)| k == token).map(|(_, v)| v.clone());
                let reply = match found {
                    Some(ka) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ka}",
                        ka.len()
                    ),
                    None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
                };
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Http01 { port, tokens, stop }
    }

    pub fn add(&self, token: &str, key_authorization: &str) {
        self.tokens.lock().unwrap().push((token.to_string(), key_authorization.to_string()));
    }
}

impl Drop for Http01 {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A CSR (DER) for `names` with a new key.
pub fn csr_der(names: &[&str]) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.serialize_request(&key).unwrap().der().to_vec()
}

/// Orders `names`, validates over http-01 through `http01` and finalizes. Returns the final order;
/// any failure (connection, problem document) is an error, for tests that kill the server.
pub fn try_issue(client: &mut Client<'_>, http01: &Http01, names: &[&str]) -> Result<Value, String> {
    let ids: Vec<Value> = names.iter().map(|n| json!({"type": "dns", "value": n})).collect();
    let order = client.try_post(&client.url("newOrder"), Some(&json!({ "identifiers": ids })))?;
    let text = |r: &Http| String::from_utf8_lossy(&r.body).to_string();
    if order.status != 201 {
        return Err(text(&order));
    }
    let order_url = order.header("location").ok_or("no Location")?.to_string();
    let order = order.json();
    for authz_url in order["authorizations"].as_array().ok_or("no authorizations")? {
        let authz = client.try_post(authz_url.as_str().unwrap(), None)?.json();
        let chall = authz["challenges"]
            .as_array()
            .ok_or("no challenges")?
            .iter()
            .find(|c| c["type"] == "http-01")
            .ok_or("no http-01")?
            .clone();
        let token = chall["token"].as_str().unwrap();
        http01.add(token, &client.key_authorization(token));
        let answered = client.try_post(chall["url"].as_str().unwrap(), Some(&json!({})))?;
        if answered.json()["status"] != "valid" {
            return Err(text(&answered));
        }
    }
    let ready = client.try_post(&order_url, None)?.json();
    if ready["status"] != "ready" {
        return Err(ready.to_string());
    }
    let done =
        client.try_post(ready["finalize"].as_str().unwrap(), Some(&json!({"csr": b64(&csr_der(names))})))?;
    if done.status != 200 || done.json()["status"] != "valid" {
        return Err(text(&done));
    }
    Ok(done.json())
}

/// `localca list --json`, parsed.
pub fn list_json(env: &Env) -> Value {
    serde_json::from_str(&env.ok(&["list", "--json"]).stdout).expect("list --json prints JSON")
}

/// The ACME leaves of `localca list --json`.
pub fn acme_leaves(env: &Env) -> Vec<Value> {
    let list = list_json(env);
    list["leaves"].as_array().unwrap().iter().filter(|l| l["issued_via"] == "acme").cloned().collect()
}

/// Polls `localca list --json` (the server records in the background, within a fraction of a
/// second) until `done` holds for its ACME leaves; panics with the last list after 10 s.
pub fn wait_for_acme_leaves(env: &Env, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let leaves = acme_leaves(env);
        if done(&leaves) {
            return leaves;
        }
        assert!(std::time::Instant::now() < deadline, "the inventory never got there: {leaves:#?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
