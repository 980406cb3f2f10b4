//! The ACME server through real HTTP: the whole order flow with a raw client, and one test per
//! kind of bad request, each answered with the right problem document.

mod acme_support;
mod common;

use acme_support::{
    b64, csr_der, curl, free_port, jwk_of, new_key, sign_with, try_issue, Client, Http01, Server,
};
use common::Env;
use serde_json::{json, Value};

fn env_with_ca() -> Env {
    let env = Env::new();
    env.ok(&["ca", "create"]);
    env
}

/// Places an order for `names`, validates it over http-01 and finalizes; returns the order.
fn issue(client: &mut Client<'_>, http01: &Http01, names: &[&str]) -> Value {
    try_issue(client, http01, names).unwrap_or_else(|e| panic!("issuing {names:?}: {e}"))
}

#[test]
fn full_order_flow_download_ari_and_revoke() {
    let env = env_with_ca();
    let http01 = Http01::start();
    let server = Server::start(&env, &["--http-01-port", &http01.port.to_string()]);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let done = issue(&mut client, &http01, &["app.localhost", "127.0.0.1"]);
    let chain = client.post(done["certificate"].as_str().unwrap(), None);
    assert_eq!(chain.header("content-type"), Some("application/pem-certificate-chain"));
    let leaf_pem = env.tmp.path().join("leaf.pem");
    std::fs::write(&leaf_pem, &chain.body).unwrap();
    common::assert_verifies(&env.root_pem_path(), &leaf_pem, &["app.localhost", "127.0.0.1"]);
    let der = common::cert_der_from_pem(&chain.body);
    let days = common::validity_seconds(&der) / 86400;
    assert!((7..=8).contains(&days), "default lifetime is 7 days, got {days}");

    // ARI: the renewal window of the certificate, in its last third.
    let parsed = common::parse(&der);
    let cert_id = format!("{}.{}", b64(&common::aki(&der).unwrap()), b64(parsed.raw_serial()));
    let info = curl(&env, "GET", &format!("{}/{cert_id}", client.url("renewalInfo")), None);
    assert_eq!(info.status, 200);
    assert!(info.header("retry-after").is_some());
    assert!(info.json()["suggestedWindow"]["start"].as_str().unwrap().ends_with('Z'));

    let revoke =
        client.post(&client.url("revokeCert"), Some(&json!({"certificate": b64(&der), "reason": 4})));
    assert_eq!(revoke.status, 200, "{}", String::from_utf8_lossy(&revoke.body));
    let again = client.post(&client.url("revokeCert"), Some(&json!({"certificate": b64(&der)})));
    assert_eq!(again.problem(), "alreadyRevoked");
}

#[test]
fn names_outside_the_constraints_are_rejected_with_the_permitted_names() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let r = client.new_order(&["evil.com"]);
    assert_eq!(r.status, 400);
    assert_eq!(r.problem(), "rejectedIdentifier");
    let detail = r.json()["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("evil.com") && detail.contains("localhost") && detail.contains("test"),
        "{detail}"
    );
    assert_eq!(r.json()["subproblems"][0]["identifier"]["value"], "evil.com");

    let wildcard = client.new_order(&["*.app.test"]);
    assert_eq!(wildcard.problem(), "rejectedIdentifier");
    assert!(wildcard.json()["detail"].as_str().unwrap().contains("dns-01"));
    // A name inside the constraints is accepted.
    assert_eq!(client.new_order(&["app.test"]).status, 201);
}

#[test]
fn a_body_that_is_not_a_jws_is_malformed() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    let r = client.send(&client.url("newAccount"), b"{\"hello\": 1}");
    assert_eq!(r.status, 400);
    assert_eq!(r.problem(), "malformed");
    assert!(r.header("replay-nonce").is_some(), "errors carry a fresh nonce");
}

#[test]
fn a_bad_signature_is_refused() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    let url = client.url("newAccount");
    let mut body: Value = serde_json::from_slice(&client.sign(&url, Some(&json!({})))).unwrap();
    body["signature"] = b64(&[7u8; 64]).into();
    let r = client.send(&url, body.to_string().as_bytes());
    assert_eq!(r.problem(), "malformed");
    assert!(r.json()["detail"].as_str().unwrap().contains("signature"));
}

#[test]
fn an_unsupported_algorithm_is_bad_signature_algorithm() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    let url = client.url("newAccount");
    let protected = json!({"alg": "HS256", "nonce": client.nonce(), "url": url, "jwk": client.jwk()});
    let r = client.send(&url, &sign_with(&client.key, &protected, Some(&json!({}))));
    assert_eq!(r.problem(), "badSignatureAlgorithm");
    assert!(r.json()["algorithms"].as_array().unwrap().iter().any(|a| a == "ES256"));
}

#[test]
fn a_reused_nonce_is_bad_nonce() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    let url = client.url("newAccount");
    let body = client.sign(&url, Some(&json!({"termsOfServiceAgreed": true})));
    assert_eq!(client.send(&url, &body).status, 201);
    let replay = client.send(&url, &body);
    assert_eq!(replay.status, 400);
    assert_eq!(replay.problem(), "badNonce");
}

#[test]
fn the_wrong_content_type_is_refused() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    let url = client.url("newAccount");
    let body = client.sign(&url, Some(&json!({})));
    let r = curl(&env, "POST", &url, Some(("application/json", &body)));
    assert_eq!(r.status, 415);
    assert_eq!(r.problem(), "malformed");
    assert!(r.json()["detail"].as_str().unwrap().contains("application/jose+json"));
}

#[test]
fn an_oversized_body_is_refused() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let client = Client::new(&env, &server.directory);
    let big = vec![b'a'; 300 * 1024];
    let r = curl(&env, "POST", &client.url("newOrder"), Some(("application/jose+json", &big)));
    assert_eq!(r.status, 413);
    assert_eq!(r.problem(), "malformed");
}

#[test]
fn an_unknown_account_does_not_exist() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    client.kid = Some(format!("https://localhost:{}/acme/acct/nosuchaccount", server.port));
    let r = client.new_order(&["app.localhost"]);
    assert_eq!(r.problem(), "accountDoesNotExist");
    // onlyReturnExisting for a key with no account says the same.
    client.kid = None;
    let r = client.post(&client.url("newAccount"), Some(&json!({"onlyReturnExisting": true})));
    assert_eq!(r.problem(), "accountDoesNotExist");
}

#[test]
fn a_url_mismatch_is_unauthorized_and_get_is_not_allowed() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    let body = client.sign(&client.url("newOrder"), Some(&json!({})));
    let r = client.send(&client.url("newAccount"), &body);
    assert_eq!(r.problem(), "unauthorized");
    let get = curl(&env, "GET", &format!("https://localhost:{}/acme/order/x", server.port), None);
    assert_eq!(get.status, 405);
}

#[test]
fn finalize_before_validation_is_order_not_ready_and_a_wrong_csr_is_bad_csr() {
    let env = env_with_ca();
    let http01 = Http01::start();
    let server = Server::start(&env, &["--http-01-port", &http01.port.to_string()]);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let order = client.new_order(&["early.localhost"]).json();
    let finalize = order["finalize"].as_str().unwrap().to_string();
    let r = client.post(&finalize, Some(&json!({"csr": b64(&csr_der(&["early.localhost"]))})));
    assert_eq!(r.status, 403);
    assert_eq!(r.problem(), "orderNotReady");
    let done = issue(&mut client, &http01, &["other.localhost"]);
    assert_eq!(done["status"], "valid");
    let order = client.new_order(&["mine.localhost"]);
    let order_url = order.header("location").unwrap().to_string();
    let authz_url = order.json()["authorizations"][0].as_str().unwrap().to_string();
    let chall = client.post(&authz_url, None).json()["challenges"][0].clone();
    http01.add(chall["token"].as_str().unwrap(), &client.key_authorization(chall["token"].as_str().unwrap()));
    client.post(chall["url"].as_str().unwrap(), Some(&json!({})));
    let finalize = client.post(&order_url, None).json()["finalize"].as_str().unwrap().to_string();
    let r =
        client.post(&finalize, Some(&json!({"csr": b64(&csr_der(&["mine.localhost", "extra.localhost"]))})));
    assert_eq!(r.problem(), "badCSR");
}

#[test]
fn a_failed_validation_says_why_and_invalidates_the_order() {
    let env = env_with_ca();
    let closed = free_port();
    let server = Server::start(&env, &["--http-01-port", &closed.to_string()]);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let order = client.new_order(&["down.localhost"]);
    let order_url = order.header("location").unwrap().to_string();
    let authz_url = order.json()["authorizations"][0].as_str().unwrap().to_string();
    let chall = client.post(&authz_url, None).json()["challenges"][0].clone();
    let r = client.post(chall["url"].as_str().unwrap(), Some(&json!({}))).json();
    assert_eq!(r["status"], "invalid");
    assert_eq!(r["error"]["type"], "urn:ietf:params:acme:error:connection");
    assert!(r["error"]["detail"].as_str().unwrap().contains(&closed.to_string()));
    assert_eq!(client.post(&order_url, None).json()["status"], "invalid");
    assert_eq!(client.post(&authz_url, None).json()["status"], "invalid");
}

#[test]
fn key_rollover_then_the_old_key_is_unknown() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let kid = client.kid.clone().unwrap();
    let new_key = new_key();
    let url = client.url("keyChange");
    let inner = sign_with(
        &new_key,
        &json!({"alg": "ES256", "url": url, "jwk": jwk_of(&new_key)}),
        Some(&json!({"account": kid, "oldKey": client.jwk()})),
    );
    let inner: Value = serde_json::from_slice(&inner).unwrap();
    let r = client.post(&url, Some(&inner));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // The old key no longer signs for the account; the new one does.
    assert_eq!(client.new_order(&["x.localhost"]).problem(), "malformed");
    client.key = new_key;
    assert_eq!(client.new_order(&["x.localhost"]).status, 201);
}

#[test]
fn deactivated_accounts_and_authorizations() {
    let env = env_with_ca();
    let server = Server::start(&env, &[]);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let order = client.new_order(&["d.localhost"]);
    let order_url = order.header("location").unwrap().to_string();
    let authz_url = order.json()["authorizations"][0].as_str().unwrap().to_string();
    let r = client.post(&authz_url, Some(&json!({"status": "deactivated"})));
    assert_eq!(r.json()["status"], "deactivated");
    assert_eq!(client.post(&order_url, None).json()["status"], "invalid");

    let kid = client.kid.clone().unwrap();
    assert_eq!(client.post(&kid, Some(&json!({"status": "deactivated"}))).json()["status"], "deactivated");
    let r = client.new_order(&["d.localhost"]);
    assert_eq!(r.status, 403);
    assert_eq!(r.problem(), "unauthorized");
}

#[test]
fn pending_orders_expire() {
    let env = env_with_ca();
    let server = Server::start(&env, &["--order-lifetime-secs", "1"]);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let order = client.new_order(&["late.localhost"]);
    let order_url = order.header("location").unwrap().to_string();
    let authz_url = order.json()["authorizations"][0].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(client.post(&order_url, None).json()["status"], "invalid");
    assert_eq!(client.post(&authz_url, None).json()["status"], "expired");
}

#[test]
fn the_store_is_private_and_survives_a_restart() {
    let env = env_with_ca();
    let http01 = Http01::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let args = ["--http-01-port", &http01.port.to_string()];
    let mut server = Server::start_on(&env, &listen, &args);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let done = issue(&mut client, &http01, &["keep.localhost"]);
    assert_eq!(common::mode(&env.home.join("acme.sqlite")) & 0o777, 0o600);
    server.kill();
    let _server = Server::start_on(&env, &listen, &args);
    // The nonce the client holds died with the old process: badNonce, then the retry works.
    let chain = client.try_post(done["certificate"].as_str().unwrap(), None).unwrap();
    assert_eq!(chain.status, 200, "{}", String::from_utf8_lossy(&chain.body));
    assert!(String::from_utf8_lossy(&chain.body).contains("BEGIN CERTIFICATE"));
}
