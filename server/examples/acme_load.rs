//! Load client for `benches/acme-compare`: one ACME account, N orders at concurrency C, each
//! validated over http-01 by an in-process responder, so the client is not the bottleneck.
//! Prints one JSON line: orders, failures, orders/s, p50/p95 latency, signed requests per order.
//!
//! acme_load DIRECTORY_URL ROOT_PEM HTTP01_PORT CONCURRENCY ORDERS NAME_PREFIX
//!
//! The account key is P-256 (ES256, what lego, Caddy and instant-acme use; certbot's RS256 was
//! measured too: the server's CPU per order drops ~10%, but the client's RSA signatures, ~270 µs
//! each, make the client the bottleneck). Every leaf key is a new P-256 key, as with those clients.
//!
//! The protocol flow is RFC 8555's with no request a server does not ask for: an order, each
//! authorization, its challenge; the authorization is polled only while the challenge response
//! says the validation is still running; finalize; the order is polled only while finalize says
//! it is processing; the certificate. A server that validates and issues during the request
//! (localca) answers in five signed requests; one that works in the background (pebble) gets
//! polled every 2 ms until it is done. The same code runs against both.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, CONTENT_TYPE, LOCATION};
use hyper::{Method, Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair};
use serde_json::{json, Value};

type Tokens = Arc<Mutex<HashMap<String, String>>>;
type Http = hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Longest one order may take before it counts as failed.
const ORDER_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between polls of a server that works in the background.
const POLL_INTERVAL: Duration = Duration::from_millis(2);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, directory, root, port, concurrency, orders, prefix] = args.as_slice() else {
        eprintln!("usage: acme_load DIRECTORY_URL ROOT_PEM HTTP01_PORT CONCURRENCY ORDERS NAME_PREFIX");
        std::process::exit(2);
    };
    let (port, concurrency, orders): (u16, usize, usize) =
        (port.parse().unwrap(), concurrency.parse().unwrap(), orders.parse().unwrap());
    let tokens: Tokens = Arc::default();
    responder(port, tokens.clone()).await;
    let client =
        Arc::new(Client::new(http_client(root), directory, AccountKey::generate()).await.expect("account"));

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(orders)));
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let requests_before = client.signed.load(std::sync::atomic::Ordering::Relaxed);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, tokens, next, latencies, failures, prefix) = (
            client.clone(),
            tokens.clone(),
            next.clone(),
            latencies.clone(),
            failures.clone(),
            prefix.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= orders {
                    return;
                }
                let t0 = Instant::now();
                // A bound per order: a server that stops answering one order (pebble does, at
                // concurrency 16) counts a failure instead of stalling the whole bench.
                let name = format!("{prefix}{i}.localhost");
                let outcome = tokio::time::timeout(ORDER_TIMEOUT, client.order(&tokens, &name))
                    .await
                    .unwrap_or_else(|_| Err(format!("no result after {ORDER_TIMEOUT:?}")));
                match outcome {
                    Ok(()) => latencies.lock().unwrap().push(t0.elapsed()),
                    Err(e) => {
                        eprintln!("order {i}: {e}");
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let signed = client.signed.load(std::sync::atomic::Ordering::Relaxed) - requests_before;
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        json!({
            "orders": lat.len(),
            "failures": failures.load(std::sync::atomic::Ordering::Relaxed),
            "seconds": (elapsed * 1000.0).round() / 1000.0,
            "orders_per_sec": (lat.len() as f64 / elapsed * 10.0).round() / 10.0,
            "p50_ms": (pct(0.50) * 10.0).round() / 10.0,
            "p95_ms": (pct(0.95) * 10.0).round() / 10.0,
            "signed_requests_per_order": ((signed as f64 / orders.max(1) as f64) * 10.0).round() / 10.0,
        })
    );
}

/// The account key: P-256, signing ES256 (RFC 7518 §3.4).
struct AccountKey(EcdsaKeyPair);

impl AccountKey {
    fn generate() -> AccountKey {
        let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("a P-256 key");
        AccountKey(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &SystemRandom::new()).expect("P-256 key"))
    }

    /// The public JWK; serde_json's map keeps keys sorted, which is RFC 7638's thumbprint order.
    fn jwk(&self) -> Value {
        let point = self.0.public_key().as_ref(); // 0x04 || x || y
        json!({"crv": "P-256", "kty": "EC", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(&SystemRandom::new(), message).expect("sign").as_ref().to_vec()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One account on one server, with a pool of unused nonces shared by the workers.
struct Client {
    http: Http,
    key: AccountKey,
    new_nonce: String,
    new_order: String,
    kid: String,
    thumbprint: String,
    nonces: Mutex<Vec<String>>,
    /// Signed requests sent, for the report.
    signed: std::sync::atomic::AtomicUsize,
}

/// A response: status, headers, body.
struct Answer {
    status: hyper::StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Client {
    async fn new(http: Http, directory: &str, key: AccountKey) -> Result<Client, String> {
        let request = Request::get(directory).body(Full::default()).unwrap();
        let response = http.request(request).await.map_err(|e| format!("directory: {e}"))?;
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        let dir: Value = serde_json::from_slice(&body).map_err(|e| format!("directory: {e}"))?;
        let url = |name: &str| dir[name].as_str().map(String::from).ok_or(format!("directory has no {name}"));
        let thumbprint =
            b64(ring::digest::digest(&ring::digest::SHA256, key.jwk().to_string().as_bytes()).as_ref());
        let mut client = Client {
            http,
            key,
            new_nonce: url("newNonce")?,
            new_order: url("newOrder")?,
            kid: String::new(),
            thumbprint,
            nonces: Mutex::default(),
            signed: Default::default(),
        };
        let account = client.post(&url("newAccount")?, Some(json!({"termsOfServiceAgreed": true}))).await?;
        client.kid = location(&account)?;
        Ok(client)
    }

    /// One order for `name`, from newOrder to the certificate.
    async fn order(&self, tokens: &Tokens, name: &str) -> Result<(), String> {
        let ids = json!({"identifiers": [{"type": "dns", "value": name}]});
        let created = self.post(&self.new_order, Some(ids)).await?;
        let order_url = location(&created)?;
        for authz_url in created.body["authorizations"].as_array().ok_or("order without authorizations")? {
            let authz_url = authz_url.as_str().ok_or("authorization URL")?;
            let authz = self.post(authz_url, None).await?;
            if authz.body["status"] == "valid" {
                continue;
            }
            let challenge = authz.body["challenges"]
                .as_array()
                .and_then(|all| all.iter().find(|c| c["type"] == "http-01"))
                .ok_or("no http-01 challenge")?;
            let token = challenge["token"].as_str().ok_or("challenge without token")?;
            tokens.lock().unwrap().insert(token.to_string(), format!("{token}.{}", self.thumbprint));
            let answer =
                self.post(challenge["url"].as_str().ok_or("challenge URL")?, Some(json!({}))).await?;
            let mut status = answer.body["status"].clone();
            while status == "pending" || status == "processing" {
                tokio::time::sleep(POLL_INTERVAL).await;
                status = self.post(authz_url, None).await?.body["status"].clone();
            }
            if status != "valid" {
                return Err(format!("{name}: authorization {status}: {}", answer.body));
            }
        }
        let csr = csr(name);
        let finalize = created.body["finalize"].as_str().ok_or("order without finalize URL")?;
        let mut order = self.post(finalize, Some(json!({"csr": b64(&csr)}))).await?.body;
        while order["status"] == "processing" || order["status"] == "ready" {
            tokio::time::sleep(POLL_INTERVAL).await;
            order = self.post(&order_url, None).await?.body;
        }
        let certificate = order["certificate"].as_str().ok_or_else(|| format!("{name}: order {order}"))?;
        self.post(certificate, None).await?;
        Ok(())
    }

    /// A signed POST (`payload` None: POST-as-GET), retried on `badNonce` as RFC 8555 §6.5 says.
    async fn post(&self, url: &str, payload: Option<Value>) -> Result<Answer, String> {
        let payload = payload.map(|p| b64(p.to_string().as_bytes())).unwrap_or_default();
        for _ in 0..5 {
            let pooled = self.nonces.lock().unwrap().pop();
            let nonce = match pooled {
                Some(nonce) => nonce,
                None => self.fresh_nonce().await?,
            };
            let mut protected = json!({"alg": "ES256", "nonce": nonce, "url": url});
            if self.kid.is_empty() {
                protected["jwk"] = self.key.jwk();
            } else {
                protected["kid"] = json!(self.kid);
            }
            let protected = b64(protected.to_string().as_bytes());
            let signature = b64(&self.key.sign(format!("{protected}.{payload}").as_bytes()));
            let body =
                json!({"protected": protected, "payload": payload, "signature": signature}).to_string();
            let request = Request::post(url)
                .header(CONTENT_TYPE, "application/jose+json")
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            self.signed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let answer = self.send(request).await?;
            if answer.status.is_success() {
                return Ok(answer);
            }
            if answer.body["type"] != "urn:ietf:params:acme:error:badNonce" {
                return Err(format!("{url}: {} {}", answer.status, answer.body));
            }
        }
        Err(format!("{url}: badNonce five times"))
    }

    async fn fresh_nonce(&self) -> Result<String, String> {
        let request =
            Request::builder().method(Method::HEAD).uri(&self.new_nonce).body(Full::default()).unwrap();
        let answer = self.send(request).await?;
        let nonce = self.nonces.lock().unwrap().pop();
        nonce.ok_or(format!("no nonce from newNonce ({})", answer.status))
    }

    /// Sends a request; keeps the nonce it brings back; reads a JSON body if there is one.
    async fn send(&self, request: Request<Full<Bytes>>) -> Result<Answer, String> {
        let response = self.http.request(request).await.map_err(|e| format!("request: {e}"))?;
        let (parts, body) = response.into_parts();
        if let Some(nonce) = parts.headers.get("replay-nonce").and_then(|v| v.to_str().ok()) {
            self.nonces.lock().unwrap().push(nonce.to_string());
        }
        let body = body.collect().await.map_err(|e| format!("response body: {e}"))?.to_bytes();
        let is_json =
            parts.headers.get(CONTENT_TYPE).is_some_and(|v| v.to_str().is_ok_and(|v| v.contains("json")));
        let body =
            if is_json { serde_json::from_slice(&body).map_err(|e| e.to_string())? } else { Value::Null };
        Ok(Answer { status: parts.status, headers: parts.headers, body })
    }
}

fn location(answer: &Answer) -> Result<String, String> {
    let location = answer.headers.get(LOCATION).and_then(|v| v.to_str().ok());
    location.map(String::from).ok_or_else(|| "no Location header".to_string())
}

/// A CSR for `name` with a new P-256 key.
fn csr(name: &str) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("a DNS name");
    params.distinguished_name = rcgen::DistinguishedName::new();
    let key = rcgen::KeyPair::generate().expect("a P-256 key");
    params.serialize_request(&key).expect("a CSR").der().to_vec()
}

/// An HTTPS client trusting `root`, with TCP_NODELAY: without it each POST waits ~40 ms for a
/// delayed ACK (Nagle), which made both servers look like 3 orders/s at concurrency 1.
fn http_client(root: &str) -> Http {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from_pem_file(root).expect("root PEM")).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)
}

/// Serves /.well-known/acme-challenge/TOKEN from `tokens` on 127.0.0.1:`port`.
async fn responder(port: u16, tokens: Tokens) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind the http-01 port");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let tokens = tokens.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let token = req.uri().path().rsplit('/').next().unwrap_or("").to_string();
                    let answer = tokens.lock().unwrap().get(&token).cloned();
                    async move {
                        let mut response =
                            Response::new(Full::new(Bytes::from(answer.clone().unwrap_or_default())));
                        if answer.is_none() {
                            *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
