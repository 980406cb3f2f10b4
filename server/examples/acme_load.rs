//! Load client for `benches/acme-compare`: one ACME account (instant-acme), N orders at
//! concurrency C, each validated over http-01 by an in-process responder, so the client is not
//! the bottleneck. Prints one JSON line: orders/s, p50/p95 latency, failures.
//!
//! acme_load DIRECTORY_URL ROOT_PEM HTTP01_PORT CONCURRENCY ORDERS NAME_PREFIX

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
};

type Tokens = Arc<Mutex<HashMap<String, String>>>;

/// Longest one order may take before it counts as failed.
const ORDER_TIMEOUT: Duration = Duration::from_secs(30);

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

    let (account, _) = Account::builder_with_http(Box::new(http_client(root)))
        .create(
            &NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false },
            directory.clone(),
            None,
        )
        .await
        .expect("account");
    let account = Arc::new(account);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(orders)));
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (account, tokens, next, latencies, failures, prefix) = (
            account.clone(),
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
                // A bound per order: a server that stops answering one order (seen with pebble at
                // concurrency 16) counts a failure instead of stalling the whole bench.
                let name = format!("{prefix}{i}.localhost");
                let order = one_order(&account, &tokens, &name);
                let outcome = tokio::time::timeout(ORDER_TIMEOUT, order)
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
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{{\"orders\":{},\"failures\":{},\"seconds\":{:.3},\"orders_per_sec\":{:.1},\"p50_ms\":{:.1},\"p95_ms\":{:.1}}}",
        lat.len(),
        failures.load(std::sync::atomic::Ordering::Relaxed),
        elapsed,
        lat.len() as f64 / elapsed,
        pct(0.50),
        pct(0.95)
    );
}

/// instant-acme's own client, with TCP_NODELAY (see Cargo.toml) and our root.
fn http_client(
    root: &str,
) -> hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    instant_acme::BodyWrapper<Bytes>,
> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from_pem_file(root).expect("root PEM")).expect("root");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
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

async fn one_order(account: &Account, tokens: &Tokens, name: &str) -> Result<(), String> {
    let ids = [Identifier::Dns(name.to_string())];
    let mut order = account.new_order(&NewOrder::new(&ids)).await.map_err(|e| e.to_string())?;
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz.map_err(|e| e.to_string())?;
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        let mut challenge = authz.challenge(ChallengeType::Http01).ok_or("no http-01 challenge")?;
        tokens
            .lock()
            .unwrap()
            .insert(challenge.token.clone(), challenge.key_authorization().as_str().to_string());
        challenge.set_ready().await.map_err(|e| e.to_string())?;
    }
    // Poll briefly: a server that validates in the background needs a few milliseconds.
    loop {
        match order.refresh().await.map_err(|e| e.to_string())?.status {
            OrderStatus::Ready => break,
            OrderStatus::Invalid => return Err(format!("{name}: order invalid")),
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
    order.finalize().await.map_err(|e| e.to_string())?;
    loop {
        if order.certificate().await.map_err(|e| e.to_string())?.is_some() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
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
